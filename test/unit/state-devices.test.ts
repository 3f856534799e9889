// Device and hart state for the debugger: the read-only accessors added to the CLINT, PLIC,
// UART, RTC and HTIF (no side effects on guest-visible state), deviceState() of a machine
// whose devices were programmed through the bus, and hartSummary().

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Clint } from '../../vmm-core/devices/clint';
import { InterruptBit, type HartInterruptPins } from '../../vmm-core/devices/device';
import { GoldfishRtc } from '../../vmm-core/devices/goldfish-rtc';
import { Plic } from '../../vmm-core/devices/plic';
import { Uart16550 } from '../../vmm-core/devices/uart16550';
import { MemoryDisk } from '../../vmm-core/bridges/disk/index';
import { RecordingNetBackend } from '../support/virtio-backends';
import { Privilege } from '../../vmm-core/cpu/csr-numbers';
import { CLINT, PLIC, RTC, UART0, UART0_IRQ } from '../../vmm-core/machine/layout';
import { deviceState, hartSummary } from '../../debug-adapter/state/devices';
import { readFileSync } from 'node:fs';
import { Machine } from '../../vmm-core/machine/machine';
import { createMachine, ProgramBuilder } from '../support/assemble';

const noPins: HartInterruptPins = { setInterruptPending: () => {} };

describe('device accessors', () => {
  it('CLINT: msip and MTIP per hart', () => {
    let now = 0;
    const clint = new Clint(2, { mtime: () => now }, noPins);
    clint.write(4, 4, 1); // msip of hart 1
    clint.write(0x4000, 4, 50);
    clint.write(0x4004, 4, 0);
    assert.equal(clint.softwareInterruptPending(0), false);
    assert.equal(clint.softwareInterruptPending(1), true);
    assert.equal(clint.timerInterruptPending(0), false);
    now = 60;
    clint.update();
    assert.equal(clint.timerInterruptPending(0), true);
    assert.equal(clint.timerInterruptPending(1), false);
  });

  it('PLIC: priorities, enables, thresholds, claims and lines, without claiming', () => {
    const pins = new Map<string, boolean>();
    const plic = new Plic(1, { setInterruptPending: (hart, bit, level) => pins.set(`${hart}:${bit}`, level) });
    plic.write(4 * UART0_IRQ, 4, 3);
    plic.write(0x2080, 4, 1 << UART0_IRQ); // context 1 (S-mode of hart 0)
    plic.write(0x20_1000, 4, 1); // context 1 threshold
    assert.equal(plic.sourcePriority(UART0_IRQ), 3);
    assert.equal(plic.isEnabled(1, UART0_IRQ), true);
    assert.equal(plic.isEnabled(0, UART0_IRQ), false);
    assert.equal(plic.isEnabled(5, UART0_IRQ), false, 'no such context');
    assert.equal(plic.contextThreshold(1), 1);
    assert.equal(plic.peekClaim(1), 0);
    plic.source(UART0_IRQ).setLevel(true);
    assert.equal(plic.isLineAsserted(UART0_IRQ), true);
    assert.equal(plic.peekClaim(1), UART0_IRQ);
    assert.equal(plic.peekClaim(1), UART0_IRQ, 'peeking twice still finds it');
    assert.equal(plic.isPending(UART0_IRQ), true);
    assert.equal(plic.isContextAsserted(1), true);
    assert.equal(pins.get(`0:${InterruptBit.SupervisorExternal}`), true);
    assert.equal(plic.read(0x20_1004, 4), UART0_IRQ, 'the guest claim gets it');
    assert.equal(plic.isClaimed(UART0_IRQ), true);
    assert.equal(plic.peekClaim(1), 0);
    assert.equal(plic.isContextAsserted(1), false);
  });

  it('UART: a register snapshot that pops nothing and acknowledges nothing', () => {
    const uart = new Uart16550({ setLevel: () => {} }, () => {});
    uart.write(1, 1, 0x03); // IER: RX data and THR empty
    uart.write(3, 1, 0x03); // LCR 8N1
    uart.write(7, 1, 0x5a);
    uart.receive([0x41, 0x42]);
    const first = uart.registerSnapshot();
    assert.equal(first.receiveBuffer, 0x41);
    assert.equal(first.interruptEnable, 0x03);
    assert.equal(first.interruptIdentification & 0x0f, 0x04, 'RX data reported');
    assert.equal(first.lineStatus & 1, 1);
    assert.equal(first.lineControl, 0x03);
    assert.equal(first.scratch, 0x5a);
    assert.equal(first.divisor, 0x0c);
    assert.equal(first.fifoCount, 1, 'FIFO disabled: one byte in the holding register');
    assert.equal(first.hostQueueCount, 1);
    assert.deepEqual(uart.registerSnapshot(), first, 'no side effects');
    assert.equal(uart.read(0, 1), 0x41);
    assert.equal(uart.registerSnapshot().receiveBuffer, 0x42);
    assert.equal(uart.read(0, 1), 0x42);
    const empty = uart.registerSnapshot();
    assert.equal(empty.receiveBuffer, undefined);
    assert.equal(empty.interruptIdentification & 0x0f, 0x02, 'THR empty still pending');
    assert.equal(uart.registerSnapshot().interruptIdentification & 0x0f, 0x02, 'and not acknowledged by the snapshot');
  });

  it('RTC: alarm state', () => {
    const rtc = new GoldfishRtc({ mtime: () => 0 }, 1_000n, { setLevel: () => {} });
    assert.deepEqual(rtc.alarmState(), { alarm: 0n, armed: false, interruptPending: false, interruptEnabled: false });
    rtc.write(0x10, 4, 1);
    rtc.write(0x0c, 4, 0);
    rtc.write(0x08, 4, 5_000);
    assert.deepEqual(rtc.alarmState(), { alarm: 5_000n, armed: true, interruptPending: false, interruptEnabled: true });
  });
});

describe('deviceState', () => {
  it('lists the bus and RAM', () => {
    const machine = createMachine();
    const state = deviceState(machine);
    assert.deepEqual(state.ram, { base: 0x8000_0000, size: 8 * 1024 * 1024 });
    const names = state.devices.map((device) => device.name);
    for (const name of ['clint', 'plic', 'uart16550', 'goldfish-rtc', 'test-finisher', 'virtio-mmio-empty-0', 'virtio-mmio-empty-7']) {
      assert.ok(names.includes(name), name);
    }
    assert.deepEqual(state.devices.find((device) => device.name === 'clint'), { name: 'clint', base: CLINT.base, size: CLINT.size });
    assert.deepEqual(state.devices.find((device) => device.name === 'uart16550'), { name: 'uart16550', base: UART0.base, size: UART0.size });
    assert.deepEqual([...state.devices].sort((a, b) => a.base - b.base), state.devices, 'in address order');
    assert.equal(state.htif, undefined);
    assert.doesNotThrow(() => JSON.stringify(state), 'JSON-friendly: no bigints');
  });

  it('shows what the guest programmed, without disturbing it', () => {
    const machine = createMachine({ hartCount: 2 });
    const { bus } = machine;
    bus.write(CLINT.base + 4, 4, 1); // msip hart 1
    bus.write(CLINT.base + 0x4000, 4, 1000); // mtimecmp hart 0
    bus.write(CLINT.base + 0x4004, 4, 0);
    bus.write(PLIC.base + 4 * UART0_IRQ, 4, 2);
    bus.write(PLIC.base + 0x2000 + 0x80 * 3, 4, 1 << UART0_IRQ); // context 3 = S-mode of hart 1
    bus.write(PLIC.base + 0x20_0000 + 0x1000 * 3, 4, 1);
    bus.write(UART0.base + 1, 1, 0x01); // IER: RX data
    machine.sendConsoleInput([0x68, 0x69]);
    bus.write(RTC.base + 0x10, 4, 1);
    bus.write(RTC.base + 0x0c, 4, 0);
    bus.write(RTC.base + 0x08, 4, 123_456);

    const state = deviceState(machine);
    assert.equal(state.clint.mtime, 0);
    assert.deepEqual(state.clint.harts[0], { hartId: 0, msip: false, mtimecmp: '0x3e8', timerPending: false, ticksUntilTimer: 1000 });
    assert.deepEqual(state.clint.harts[1], { hartId: 1, msip: true, mtimecmp: '0xffffffffffffffff', timerPending: false });

    const uartSource = state.plic.sources.find((source) => source.irq === UART0_IRQ);
    assert.deepEqual(uartSource, { irq: UART0_IRQ, device: 'uart0', priority: 2, pending: true, claimed: false, lineAsserted: true, enabledIn: [3], claims: 0 });
    assert.ok(state.plic.sources.some((source) => source.device === 'rtc'));
    assert.ok(state.plic.sources.some((source) => source.device === 'virtio-mmio-0' && source.irq === 1));
    assert.equal(state.plic.sources.some((source) => source.irq === 50), false, 'idle unwired sources are left out');
    assert.equal(state.plic.contexts.length, 4);
    assert.deepEqual(state.plic.contexts[3], { context: 3, hartId: 1, mode: 'S', threshold: 1, enabled: [UART0_IRQ], claimable: UART0_IRQ, asserted: true });
    assert.equal(state.plic.contexts[0].mode, 'M');

    assert.equal(state.uart.registers.RBR, 0x68);
    assert.equal(state.uart.registers.IER, 1);
    assert.equal(state.uart.registers.LSR & 1, 1);
    assert.equal(state.uart.pendingInput, 2);
    assert.equal(state.uart.interruptAsserted, true);

    assert.equal(state.rtc.time, '0');
    assert.equal(state.rtc.timeIso, '1970-01-01T00:00:00.000Z');
    assert.equal(state.rtc.alarm, '123456');
    assert.equal(state.rtc.alarmArmed, true);
    assert.equal(state.rtc.interruptEnabled, true);
    assert.deepEqual(state.finisher, { exit: null });

    // Nothing moved: the byte is still there, and the guest's claim still gets the UART.
    assert.deepEqual(deviceState(machine), state);
    assert.equal(machine.uart.pendingInputLength, 2);
    assert.equal(bus.read(PLIC.base + 0x20_0004 + 0x1000 * 3, 4), UART0_IRQ);
    assert.doesNotThrow(() => JSON.stringify(state));
  });
});

describe('deviceState with HTIF', () => {
  it('shows the tohost and fromhost addresses and the exit code', () => {
    const bytes = readFileSync('test/fixtures/elf/htif-hello.elf');
    const machine = new Machine({ memoryBytes: 8 * 1024 * 1024, kernel: { fileName: 'htif-hello.elf', bytes } });
    const tohost = machine.kernelElf!.findSymbol('tohost')!.value;
    const before = deviceState(machine).htif;
    assert.equal(before?.tohost, tohost);
    assert.equal(before?.exitCode, undefined);
    const result = machine.run(1_000_000);
    assert.equal(result.kind, 'exit');
    assert.equal(deviceState(machine).htif?.exitCode, 0);
  });
});

describe('hartSummary', () => {
  it('summarizes each hart', () => {
    const machine = createMachine({ hartCount: 2 });
    const hart = machine.harts[1];
    hart.privilege = Privilege.Supervisor;
    hart.satpHi = 8 << 28;
    hart.scauseLo = 15;
    hart.mcauseLo = 7;
    hart.mcauseHi = 0x8000_0000 | 0;
    hart.mie = 1 << 9;
    machine.bus.write(CLINT.base + 4, 4, 1); // MSIP for hart 1
    hart.mipSoftware = 1 << 9; // SEIP
    const [first, second] = hartSummary(machine);
    assert.equal(first.privilege, 'M');
    assert.equal(first.translation, 'bare');
    assert.equal(first.pc, '0x80000000');
    assert.equal(first.state, 'started');
    assert.deepEqual(first.pendingInterrupts, []);
    assert.equal(second.hartId, 1);
    assert.equal(second.privilege, 'S');
    assert.equal(second.translation, 'sv39');
    assert.equal(second.supervisorCause, 'page fault on store (15)');
    assert.equal(second.machineCause, 'machine timer interrupt (7)');
    assert.deepEqual(second.pendingInterrupts, ['MSIP', 'SEIP']);
    assert.deepEqual(second.enabledPendingInterrupts, ['SEIP']);
    assert.doesNotThrow(() => JSON.stringify(hartSummary(machine)));
  });
});

describe('virtio devices in the device state', () => {
  it('type, host side, negotiated state and counters per slot', () => {
    const machine = createMachine({
      program: new ProgramBuilder().label('loop').emit('jal', { rd: 0 }, 'loop'),
      virtioDevices: [{ kind: 'block', backend: new MemoryDisk(1 << 20, { readOnly: true }) }, { kind: 'net', backend: new RecordingNetBackend(), linkUp: false }],
    });
    const virtio = deviceState(machine).virtio;
    assert.deepEqual(virtio.map((slot) => [slot.slot, slot.irq, slot.type]), [[6, 7, 'virtio-net'], [7, 8, 'virtio-blk']]);
    const [net, block] = virtio;
    assert.equal(block.readOnly, true);
    assert.match(block.backend ?? '', /memory/);
    assert.equal(net.mac, '52:54:00:12:34:56');
    assert.equal(net.linkUp, false);
    assert.deepEqual(block.status, [], 'no driver yet');
    assert.equal(block.transportVersion, 2);
    assert.equal(block.counters.notifies, 0);
    assert.equal(block.counters.requests, 0);
    // A driver's first steps show up: ACKNOWLEDGE | DRIVER.
    machine.bus.write(block.base + 0x70, 4, 3);
    assert.deepEqual(deviceState(machine).virtio[1].status, ['ACKNOWLEDGE', 'DRIVER']);
  });
});
