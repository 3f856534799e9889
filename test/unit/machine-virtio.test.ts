// The machine's virtio wiring: QEMU's slot placement (from the top, in order; explicit slots),
// one clear error for impossible placements, transports answering at their slots with the
// interface version asked for, a virtio console sharing typed input with the UART, frames from
// the host announced to the idle pacer, DMA writes breaking LR reservations, and close()
// releasing the host side.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryDisk } from '../../vmm-core/bridges/disk/index';
import { SeededEntropySource } from '../../vmm-core/bridges/entropy';
import type { VirtioDeviceConfig } from '../../vmm-core/machine/config';
import { VIRTIO_MMIO_BASE, VIRTIO_MMIO_STRIDE } from '../../vmm-core/machine/layout';
import type { Machine } from '../../vmm-core/machine/machine';
import { createMachine, ProgramBuilder } from '../support/assemble';
import { MemoryBlockBackend, RecordingNetBackend } from '../support/virtio-backends';

const MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008;
const slotBase = (slot: number) => VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE;
const spin = () => new ProgramBuilder().label('loop').emit('jal', { rd: 0 }, 'loop');

function machineWith(virtioDevices: VirtioDeviceConfig[], virtioLegacy = false): Machine {
  return createMachine({ program: spin(), virtioDevices, virtioLegacy });
}

const deviceIdAt = (machine: Machine, slot: number) => machine.bus.read(slotBase(slot) + DEVICE_ID, 4);

describe('virtio slots', () => {
  it('devices fill the slots from the top in order, as QEMU places its -devices', () => {
    const machine = machineWith([
      { kind: 'block', backend: new MemoryDisk(1 << 20) },
      { kind: 'net', backend: new RecordingNetBackend() },
      { kind: 'entropy', source: new SeededEntropySource('x') },
    ]);
    assert.deepEqual(machine.virtioSlots.map((slot) => [slot.slot, slot.kind, slot.irq]), [[5, 'entropy', 6], [6, 'net', 7], [7, 'block', 8]]);
    assert.equal(deviceIdAt(machine, 7), 2, 'virtio-blk at 0x10008000');
    assert.equal(deviceIdAt(machine, 6), 1, 'virtio-net at 0x10007000');
    assert.equal(deviceIdAt(machine, 5), 4, 'virtio-rng at 0x10006000');
    for (const slot of [0, 1, 2, 3, 4]) assert.equal(deviceIdAt(machine, slot), 0, `slot ${slot} is empty`);
    for (let slot = 0; slot < 8; slot++) {
      assert.equal(machine.bus.read(slotBase(slot) + MAGIC, 4), 0x7472_6976);
      assert.equal(machine.bus.read(slotBase(slot) + VERSION, 4), 2, 'modern interface everywhere by default');
    }
  });

  it('explicit slots are kept and the others go around them; legacy on request', () => {
    const machine = machineWith([
      { kind: 'entropy', source: new SeededEntropySource('a') },
      { kind: 'block', backend: new MemoryDisk(1 << 20), slot: 7 },
      { kind: 'console', slot: 0 },
    ], true);
    assert.deepEqual(machine.virtioSlots.map((slot) => [slot.slot, slot.kind]), [[0, 'console'], [6, 'entropy'], [7, 'block']]);
    assert.equal(deviceIdAt(machine, 0), 3);
    assert.equal(machine.bus.read(slotBase(3) + VERSION, 4), 1);
    assert.equal(machine.bus.read(slotBase(7) + VERSION, 4), 1);
  });

  it('impossible placements are one clear error', () => {
    const disk = () => ({ kind: 'block' as const, backend: new MemoryDisk(4096) });
    assert.throws(() => machineWith(Array.from({ length: 9 }, disk)), /at most 8 virtio devices/);
    assert.throws(() => machineWith([{ ...disk(), slot: 3 }, { ...disk(), slot: 3 }]), /virtio slot 3 is given to two devices/);
    assert.throws(() => machineWith([{ ...disk(), slot: 8 }]), /virtio slot must be 0\.\.7, got 8/);
    assert.throws(() => machineWith([{ kind: 'console' }, { kind: 'console' }]), /one virtio console at most/);
  });

  it('network cards get QEMU\'s default MACs in order unless given one', () => {
    const machine = machineWith([
      { kind: 'net', backend: new RecordingNetBackend() },
      { kind: 'net', backend: new RecordingNetBackend(), mac: Uint8Array.of(2, 0, 0, 0, 0, 9) },
      { kind: 'net', backend: new RecordingNetBackend() },
    ]);
    const macAt = (slot: number) => Array.from({ length: 6 }, (_, i) => machine.bus.read(slotBase(slot) + 0x100 + i, 1));
    assert.deepEqual(macAt(7), [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    assert.deepEqual(macAt(6), [2, 0, 0, 0, 0, 9]);
    assert.deepEqual(macAt(5), [0x52, 0x54, 0x00, 0x12, 0x34, 0x58]);
  });
});

describe('host side', () => {
  it('frames from the host are announced before they enter the machine', () => {
    const network = new RecordingNetBackend();
    const machine = machineWith([{ kind: 'net', backend: network }]);
    let announced = 0;
    machine.beforeExternalInput = () => announced++;
    assert.ok(network.receiver !== null, 'the device listens');
    network.receiver(new Uint8Array(60));
    assert.equal(announced, 1);
  });

  it('close() flushes and releases every disk and closes every network', () => {
    const disk = new MemoryBlockBackend(64);
    let networksClosed = 0;
    const network = new RecordingNetBackend();
    network.close = () => {
      networksClosed++;
    };
    let disksClosed = 0;
    disk.close = () => {
      disksClosed++;
    };
    const machine = machineWith([{ kind: 'block', backend: disk }, { kind: 'net', backend: network }]);
    assert.equal(machine.syncDisks(), 1);
    assert.equal(disk.flushes, 1);
    machine.close();
    assert.deepEqual([disksClosed, networksClosed], [1, 1]);
  });

  it('a DMA write over an LR reservation breaks it, as another hart\'s store would', () => {
    const machine = machineWith([]);
    const hart = machine.harts[0];
    hart.reservationAddress = 0x8010_0000;
    machine.guestMemory.writeU32(0x8010_1000, 1);
    assert.equal(hart.reservationAddress, 0x8010_0000, 'elsewhere: kept');
    machine.guestMemory.write(0x800f_fffc, new Uint8Array(8));
    assert.equal(hart.reservationAddress, -1);
  });
});

describe('a virtio console beside the UART', () => {
  it('typed input follows the console the guest wrote to last; switchConsoleInput pins it', () => {
    const machine = machineWith([{ kind: 'console' }]);
    assert.equal(machine.consoleInputFocus, 'serial', 'nothing written yet: the serial port');
    machine.uart.write(0, 1, 'x'.charCodeAt(0));
    assert.equal(machine.consoleInputFocus, 'serial');
    assert.equal(machine.sendConsoleInput([0x61]), 1);
    assert.equal(machine.uart.pendingInputLength, 1, 'the UART got it');
    assert.match(machine.switchConsoleInput(), /virtio console \(hvc0\)/);
    assert.equal(machine.consoleInputFocus, 'virtio');
    machine.uart.write(0, 1, 'y'.charCodeAt(0));
    assert.equal(machine.consoleInputFocus, 'virtio', 'pinned: output elsewhere does not move it');
    machine.sendConsoleInput([0x62, 0x63]);
    assert.equal(machine.uart.pendingInputLength, 1, 'the UART got nothing more');
    assert.match(machine.switchConsoleInput(), /serial port \(ttyS0\)/);
  });

  it('without a virtio console there is one console to type into', () => {
    const machine = machineWith([]);
    assert.match(machine.switchConsoleInput(), /one console/);
    assert.equal(machine.consoleInputFocus, 'serial');
  });
});
