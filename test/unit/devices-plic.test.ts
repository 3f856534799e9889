import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Plic } from '../../vmm-core/devices/plic';
import { InterruptBit, type HartInterruptPins } from '../../vmm-core/devices/device';
import { PLIC_SOURCE_COUNT, UART0_IRQ } from '../../vmm-core/machine/layout';

class RecordingPins implements HartInterruptPins {
  readonly levels = new Map<string, boolean>();
  setInterruptPending(hartId: number, bit: InterruptBit, asserted: boolean): void {
    this.levels.set(`${hartId}:${bit}`, asserted);
  }
  level(hartId: number, bit: InterruptBit): boolean {
    return this.levels.get(`${hartId}:${bit}`) ?? false;
  }
}

const priority = (irq: number) => 4 * irq;
const enable = (context: number, word = 0) => 0x2000 + 0x80 * context + 4 * word;
const threshold = (context: number) => 0x20_0000 + 0x1000 * context;
const claim = (context: number) => 0x20_0004 + 0x1000 * context;

function setup(hartCount = 2) {
  const pins = new RecordingPins();
  const plic = new Plic(hartCount, pins);
  return { pins, plic };
}

test('an enabled source above threshold drives MEIP (context 2h) or SEIP (context 2h+1)', () => {
  const { plic, pins } = setup();
  plic.write(priority(UART0_IRQ), 4, 1);
  plic.write(enable(3), 4, 1 << UART0_IRQ); // hart 1, S-mode
  plic.source(UART0_IRQ).setLevel(true);
  assert.equal(pins.level(1, InterruptBit.SupervisorExternal), true);
  assert.equal(pins.level(1, InterruptBit.MachineExternal), false);
  assert.equal(pins.level(0, InterruptBit.SupervisorExternal), false);
  plic.write(enable(0), 4, 1 << UART0_IRQ); // hart 0, M-mode
  assert.equal(pins.level(0, InterruptBit.MachineExternal), true);
});

test('priority 0 never interrupts; threshold masks priorities at or below it', () => {
  const { plic, pins } = setup(1);
  plic.write(enable(0), 4, 1 << 5);
  plic.source(5).setLevel(true);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), false, 'priority 0');
  plic.write(priority(5), 4, 3);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), true);
  plic.write(threshold(0), 4, 3);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), false, 'priority == threshold');
  assert.equal(plic.read(claim(0), 4), 0, 'nothing to claim above threshold');
  plic.write(threshold(0), 4, 2);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), true);
});

test('priorities and thresholds are 3 bits wide', () => {
  const { plic } = setup(1);
  plic.write(priority(7), 4, 0xffff_ffff);
  assert.equal(plic.read(priority(7), 4), 7);
  plic.write(threshold(0), 4, 0x1f);
  assert.equal(plic.read(threshold(0), 4), 7);
  plic.write(priority(0), 4, 5);
  assert.equal(plic.read(priority(0), 4), 0, 'source 0 is reserved');
});

test('claim picks the highest priority, ties go to the lowest id', () => {
  const { plic } = setup(1);
  for (const irq of [3, 7, 9, 40]) {
    plic.write(priority(irq), 4, irq === 3 ? 2 : 5);
    plic.source(irq).setLevel(true);
  }
  plic.write(enable(0, 0), 4, (1 << 3) | (1 << 7) | (1 << 9));
  plic.write(enable(0, 1), 4, 1 << (40 - 32));
  assert.equal(plic.read(0x1000, 4), (1 << 3) | (1 << 7) | (1 << 9));
  assert.equal(plic.read(0x1004, 4), 1 << 8);
  assert.equal(plic.read(claim(0), 4), 7);
  assert.equal(plic.read(claim(0), 4), 9);
  assert.equal(plic.read(claim(0), 4), 40);
  assert.equal(plic.read(claim(0), 4), 3);
  assert.equal(plic.read(claim(0), 4), 0);
  assert.equal(plic.read(0x1000, 4), 0, 'claimed sources are no longer pending');
});

test('gateway: a claimed source does not re-pend until completed; a high level pends again', () => {
  const { plic, pins } = setup(1);
  plic.write(priority(UART0_IRQ), 4, 1);
  plic.write(enable(0), 4, 1 << UART0_IRQ);
  const line = plic.source(UART0_IRQ);
  line.setLevel(true);
  assert.equal(plic.read(claim(0), 4), UART0_IRQ);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), false);
  line.setLevel(false);
  line.setLevel(true); // toggling while claimed is not a new request
  assert.equal(plic.isPending(UART0_IRQ), false);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), false);
  plic.write(claim(0), 4, UART0_IRQ); // complete while the level is still high
  assert.equal(plic.isPending(UART0_IRQ), true);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), true);
  assert.equal(plic.read(claim(0), 4), UART0_IRQ);
  line.setLevel(false);
  plic.write(claim(0), 4, UART0_IRQ); // complete with the level low: stays quiet
  assert.equal(plic.isPending(UART0_IRQ), false);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), false);
});

test('a request stays latched when the level drops before the claim (QEMU 7.2 behaviour)', () => {
  const { plic, pins } = setup(1);
  plic.write(priority(4), 4, 1);
  plic.write(enable(0), 4, 1 << 4);
  plic.source(4).setLevel(true);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), true);
  plic.source(4).setLevel(false);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), true);
  assert.equal(plic.read(claim(0), 4), 4);
  plic.write(claim(0), 4, 4);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), false);
  assert.equal(plic.read(claim(0), 4), 0);
});

test('a claim by one context hides the source from the other contexts', () => {
  const { plic, pins } = setup(2);
  plic.write(priority(2), 4, 1);
  plic.write(enable(1), 4, 1 << 2);
  plic.write(enable(3), 4, 1 << 2);
  plic.source(2).setLevel(true);
  assert.equal(pins.level(0, InterruptBit.SupervisorExternal), true);
  assert.equal(pins.level(1, InterruptBit.SupervisorExternal), true);
  assert.equal(plic.read(claim(3), 4), 2);
  assert.equal(pins.level(0, InterruptBit.SupervisorExternal), false);
  assert.equal(plic.read(claim(1), 4), 0);
});

test('completing a source that is not claimed, or an invalid id, changes nothing', () => {
  const { plic, pins } = setup(1);
  plic.write(priority(6), 4, 1);
  plic.write(enable(0), 4, 1 << 6);
  for (const id of [0, 6, 95, 96, 1000, 0xffff_ffff]) plic.write(claim(0), 4, id);
  plic.source(6).setLevel(true);
  assert.equal(pins.level(0, InterruptBit.MachineExternal), true);
});

test('enable bits: source 0 and bits past source 95 are hardwired to 0', () => {
  const { plic } = setup(1);
  plic.write(enable(0, 0), 4, 0xffff_ffff);
  plic.write(enable(0, 2), 4, 0xffff_ffff);
  plic.write(enable(0, 3), 4, 0xffff_ffff);
  assert.equal(plic.read(enable(0, 0), 4), 0xffff_fffe);
  assert.equal(plic.read(enable(0, 2), 4), 0xffff_ffff >>> (96 - PLIC_SOURCE_COUNT));
  assert.equal(plic.read(enable(0, 3), 4), 0);
});

test('pending bits are read-only', () => {
  const { plic } = setup(1);
  plic.write(0x1000, 4, 0xffff_ffff);
  assert.equal(plic.read(0x1000, 4), 0);
});

test('source() rejects 0 and ids past the last source', () => {
  const { plic } = setup(1);
  assert.throws(() => plic.source(0), /does not exist/);
  assert.throws(() => plic.source(PLIC_SOURCE_COUNT), /does not exist/);
  assert.doesNotThrow(() => plic.source(PLIC_SOURCE_COUNT - 1));
});

test('odd accesses (sub-word, misaligned, other contexts, out of range) never throw', () => {
  const { plic, pins } = setup(1);
  plic.write(priority(1), 4, 1);
  plic.write(enable(0), 4, 1 << 1);
  plic.source(1).setLevel(true);
  // A byte read of the claim register must not claim.
  assert.equal(plic.read(claim(0), 1), 0);
  assert.equal(plic.read(claim(0), 2), 0);
  assert.equal(plic.isPending(1), true);
  const offsets = [-4, 1, 2, 3, 0x180, 0x1010, 0x1ffc, 0x2000 + 0x80 * 2, 0x1f_fffc, threshold(2), claim(2), 0x20_0008, 0x5f_fffc, 0x60_0000, 2 ** 31, 0.5];
  for (const offset of offsets) {
    for (const size of [1, 2, 4] as const) {
      assert.doesNotThrow(() => plic.write(offset, size, 0xffff_ffff));
      assert.equal(plic.read(offset, size), 0, `offset ${offset} size ${size}`);
    }
  }
  assert.equal(pins.level(0, InterruptBit.MachineExternal), true);
  assert.equal(plic.read(claim(0), 4), 1);
});
