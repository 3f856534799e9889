// Run-time hardware changes the extension's VM controls make: a disk hot-plugged into a free
// virtio-mmio slot (the slot's registers then name a block device; unplugged, the slot is empty
// again and the image is released), a packet capture started and stopped while frames flow, and
// the listener that hears of a reset the guest asks for.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryDisk } from '../../vmm-core/bridges/disk/memory';
import { SeededEntropySource } from '../../vmm-core/bridges/entropy';
import { SwitchableCapture } from '../../vmm-core/bridges/net/capture-tap';
import { VIRTIO_MMIO_BASE, VIRTIO_MMIO_STRIDE } from '../../vmm-core/machine/layout';
import { createMachine, ProgramBuilder, X } from '../support/assemble';
import { RecordingNetBackend, testFrame } from '../support/virtio-backends';

const DEVICE_ID = 0x008;
const CAPACITY = 0x100;
const FINISHER = 0x10_0000;
const scratch = mkdtempSync(join(tmpdir(), 'ringside-hot-plug-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

class TrackedDisk extends MemoryDisk {
  released = false;
  override close(): void {
    this.released = true;
    super.close();
  }
}

const slotBase = (slot: number) => VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE;

describe('disk hot-plug', () => {
  it('a disk goes into the highest free slot, reads as virtio-blk there, and unplugs back to an empty slot', () => {
    const machine = createMachine({ virtioDevices: [{ kind: 'entropy', source: new SeededEntropySource('hot-plug') }] });
    assert.equal(machine.bus.read(slotBase(6) + DEVICE_ID, 4), 0, 'slot 6 starts empty');
    const disk = new TrackedDisk(64 * 512);
    const slot = machine.attachDisk(disk, { serial: 'hot' });
    assert.equal(slot, 6, 'slot 7 holds the entropy device, so the disk takes 6');
    assert.equal(machine.bus.read(slotBase(6) + DEVICE_ID, 4), 2, 'device id 2: a block device');
    assert.equal(machine.bus.read(slotBase(6) + CAPACITY, 4), 64, 'its capacity in sectors');
    assert.deepEqual(machine.virtioSlots.map((entry) => [entry.slot, entry.kind]), [[6, 'block'], [7, 'entropy']]);
    assert.throws(() => machine.attachDisk(new MemoryDisk(512), { slot: 7 }), /slot 7 is taken/);
    assert.throws(() => machine.detachDisk(7), /no disk in virtio-mmio slot 7 \(disks: slots 6\)/);
    machine.detachDisk(6);
    assert.equal(disk.released, true, 'the image is released');
    assert.equal(machine.bus.read(slotBase(6) + DEVICE_ID, 4), 0, 'the slot is empty again');
    assert.deepEqual(machine.virtioSlots.map((entry) => entry.slot), [7]);
  });

  it('a hot-plugged disk stays plugged across a reset (the guest finds it on its next boot)', () => {
    const machine = createMachine();
    const slot = machine.attachDisk(new MemoryDisk(8 * 512));
    assert.equal(slot, 7);
    machine.reset();
    assert.equal(machine.bus.read(slotBase(7) + DEVICE_ID, 4), 2);
    for (let candidate = 0; candidate < 7; candidate++) machine.attachDisk(new MemoryDisk(512));
    assert.throws(() => machine.attachDisk(new MemoryDisk(512)), /every one of the 8 virtio-mmio slots is taken/);
  });
});

describe('packet capture at run time', () => {
  it('starts and stops on a running backend; frames in both directions are in the file, none after the stop', () => {
    const network = new RecordingNetBackend();
    const tap = new SwitchableCapture(network);
    const received: number[] = [];
    tap.setReceiver((frame) => {
      received.push(frame.length);
      return true;
    });
    tap.send(testFrame(60, 1)); // before: not captured
    const path = join(scratch, 'run.pcap');
    tap.startCapture(path, { clock: () => 1_000_000 });
    assert.equal(tap.capturePath, path);
    assert.throws(() => tap.startCapture(join(scratch, 'other.pcap')), /already running/);
    tap.send(testFrame(64, 2));
    assert.equal(network.inject(testFrame(70, 3)), true, 'the guest still receives while capturing');
    const summary = tap.stopCapture();
    assert.deepEqual(summary, { path, framesCaptured: 2 });
    tap.send(testFrame(80, 4));
    assert.equal(network.inject(testFrame(90, 5)), true, 'and after the capture');
    assert.deepEqual(received, [70, 90]);
    assert.equal(network.sent.length, 3);
    const file = readFileSync(path);
    assert.equal(file.readUInt32LE(0), 0xa1b2c3d4);
    const lengths: number[] = [];
    for (let offset = 24; offset < file.length; offset += 16 + file.readUInt32LE(offset + 8)) lengths.push(file.readUInt32LE(offset + 12));
    assert.deepEqual(lengths, [64, 70]);
    assert.throws(() => tap.stopCapture(), /no packet capture is running/);
  });

  it('a machine without a network card says so', () => {
    const machine = createMachine();
    assert.throws(() => machine.startPacketCapture(join(scratch, 'x.pcap')), /this machine has no network card/);
  });
});

describe('guest reset listener', () => {
  it('hears each reset the guest asks for through the test finisher', () => {
    const program = new ProgramBuilder()
      .li(X.t2, FINISHER)
      .li(X.t1, 0x7777)
      .emit('sw', { rs1: X.t2, rs2: X.t1, imm: 0 })
      .label('spin')
      .emit('jal', { rd: 0 }, 'spin');
    const machine = createMachine({ program });
    let resets = 0;
    const remove = machine.onGuestReset(() => resets++);
    machine.run(1000);
    assert.equal(resets, 1);
    machine.reset(); // the host's own reset is not the guest's
    assert.equal(resets, 1);
    machine.run(1000);
    assert.equal(resets, 2);
    remove();
    machine.run(1000);
    assert.equal(resets, 2);
  });
});
