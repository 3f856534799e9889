import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Clint } from '../../vmm-core/devices/clint';
import { InterruptBit, type HartInterruptPins, type MachineClock } from '../../vmm-core/devices/device';

/** Records the current level of every (hart, bit) pin and how many times each was driven. */
class RecordingPins implements HartInterruptPins {
  readonly levels = new Map<string, boolean>();
  calls = 0;
  setInterruptPending(hartId: number, bit: InterruptBit, asserted: boolean): void {
    this.levels.set(`${hartId}:${bit}`, asserted);
    this.calls++;
  }
  level(hartId: number, bit: InterruptBit): boolean {
    return this.levels.get(`${hartId}:${bit}`) ?? false;
  }
}

class ManualClock implements MachineClock {
  now = 0;
  mtime(): number {
    return this.now;
  }
}

function setup(hartCount = 2) {
  const clock = new ManualClock();
  const pins = new RecordingPins();
  const clint = new Clint(hartCount, clock, pins);
  const writeCompare = (hart: number, value: bigint) => {
    clint.write(0x4000 + 8 * hart, 4, Number(value & 0xffff_ffffn));
    clint.write(0x4000 + 8 * hart + 4, 4, Number(value >> 32n));
  };
  return { clock, pins, clint, writeCompare };
}

test('msip sets and clears MSIP per hart, bit 0 only', () => {
  const { clint, pins } = setup();
  clint.write(4, 4, 0xffff_fffe); // bit 0 clear: nothing
  assert.equal(pins.level(1, InterruptBit.MachineSoftware), false);
  assert.equal(clint.read(4, 4), 0);
  clint.write(4, 4, 3);
  assert.equal(pins.level(1, InterruptBit.MachineSoftware), true);
  assert.equal(pins.level(0, InterruptBit.MachineSoftware), false);
  assert.equal(clint.read(4, 4), 1);
  clint.write(4, 4, 0);
  assert.equal(pins.level(1, InterruptBit.MachineSoftware), false);
});

test('msip beyond the hart count reads 0 and ignores writes', () => {
  const { clint, pins } = setup(2);
  const callsBefore = pins.calls;
  clint.write(8, 4, 1);
  assert.equal(clint.read(8, 4), 0);
  assert.equal(pins.calls, callsBefore);
});

test('mtime reads the clock as two 32-bit halves', () => {
  const { clint, clock } = setup();
  clock.now = 0x1_2345_6789;
  assert.equal(clint.read(0xbff8, 4), 0x2345_6789);
  assert.equal(clint.read(0xbffc, 4), 1);
  assert.equal(clint.mtime(), 0x1_2345_6789);
});

test('mtimecmp resets to never: no MTIP and no deadline', () => {
  const { clint, pins, clock } = setup();
  clock.now = 1e12;
  clint.update();
  assert.equal(pins.level(0, InterruptBit.MachineTimer), false);
  assert.equal(clint.read(0x4000, 4), 0xffff_ffff);
  assert.equal(clint.read(0x4004, 4), 0xffff_ffff);
  assert.equal(clint.nextTimerDeadline(), Infinity);
});

test('MTIP is the level mtime >= mtimecmp, re-evaluated by update()', () => {
  const { clint, pins, clock, writeCompare } = setup();
  writeCompare(0, 1000n);
  assert.equal(pins.level(0, InterruptBit.MachineTimer), false);
  assert.equal(clint.nextTimerDeadline(), 1000);
  clock.now = 999;
  clint.update();
  assert.equal(pins.level(0, InterruptBit.MachineTimer), false);
  clock.now = 1000;
  clint.update();
  assert.equal(pins.level(0, InterruptBit.MachineTimer), true);
  assert.equal(pins.level(1, InterruptBit.MachineTimer), false);
  assert.equal(clint.nextTimerDeadline(), Infinity, 'a deadline already reached is not in the future');
  // Re-arming in the future drops MTIP at once.
  writeCompare(0, 5000n);
  assert.equal(pins.level(0, InterruptBit.MachineTimer), false);
  assert.equal(clint.read(0x4000, 4), 5000);
  assert.equal(clint.mtimecmp(0), 5000n);
});

test('writing mtimecmp in the past raises MTIP immediately', () => {
  const { clint, pins, clock } = setup();
  clock.now = 50;
  clint.write(0x4008, 4, 10); // low half; high is still all ones → never
  assert.equal(pins.level(1, InterruptBit.MachineTimer), false);
  clint.write(0x400c, 4, 0);
  assert.equal(pins.level(1, InterruptBit.MachineTimer), true);
});

test('nextTimerDeadline is the earliest future mtimecmp across harts', () => {
  const { clint, clock, writeCompare } = setup(3);
  writeCompare(0, 700n);
  writeCompare(1, 300n);
  writeCompare(2, 0xffff_ffff_ffff_ffffn);
  assert.equal(clint.nextTimerDeadline(), 300);
  clock.now = 300;
  clint.update();
  assert.equal(clint.nextTimerDeadline(), 700);
});

test('64-bit compare values: exact below 2^53, never at or above', () => {
  const { clint, pins, clock, writeCompare } = setup(1);
  const big = 2n ** 53n - 1n;
  writeCompare(0, big);
  assert.equal(clint.nextTimerDeadline(), Number(big));
  clock.now = Number(big) - 1;
  clint.update();
  assert.equal(pins.level(0, InterruptBit.MachineTimer), false);
  clock.now = Number(big);
  clint.update();
  assert.equal(pins.level(0, InterruptBit.MachineTimer), true);
  writeCompare(0, 2n ** 53n);
  assert.equal(pins.level(0, InterruptBit.MachineTimer), false);
  assert.equal(clint.nextTimerDeadline(), Infinity);
  assert.equal(clint.mtimecmp(0), 2n ** 53n);
});

test('pins are driven only when a level changes', () => {
  const { clint, pins, clock, writeCompare } = setup(1);
  writeCompare(0, 10n);
  clock.now = 20;
  clint.update();
  const calls = pins.calls;
  clint.update();
  clint.update();
  assert.equal(pins.calls, calls);
});

test('writing mtime sets the guest-visible time (QEMU keeps a delta) and re-evaluates MTIP', () => {
  const { clint, pins, clock, writeCompare } = setup(1);
  clock.now = 100;
  writeCompare(0, 1000n);
  clint.write(0xbff8, 4, 2000);
  assert.equal(clint.mtime(), 2000);
  assert.equal(clint.read(0xbff8, 4), 2000);
  assert.equal(pins.level(0, InterruptBit.MachineTimer), true);
  clock.now = 150;
  assert.equal(clint.mtime(), 2050);
  clint.write(0xbffc, 4, 1);
  assert.equal(clint.mtime(), 0x1_0000_0000 + 2050);
  // Deadlines are reported on the clock's timeline.
  writeCompare(0, 0x1_0000_0000n + 3050n);
  assert.equal(clint.nextTimerDeadline(), 150 + 1000);
});

test('sub-word accesses read slices and merge writes; misaligned accesses are ignored', () => {
  const { clint, clock, writeCompare } = setup(1);
  writeCompare(0, 0x1122_3344_5566_7788n);
  assert.equal(clint.read(0x4000, 1), 0x88);
  assert.equal(clint.read(0x4001, 1), 0x77);
  assert.equal(clint.read(0x4002, 2), 0x5566);
  assert.equal(clint.read(0x4006, 2), 0x1122);
  clint.write(0x4001, 1, 0xaa);
  assert.equal(clint.read(0x4000, 4), 0x5566_aa88);
  assert.equal(clint.read(0x4001, 2), 0, 'misaligned halfword');
  assert.equal(clint.read(0x4002, 4), 0, 'misaligned word');
  clint.write(0x4002, 4, 0);
  assert.equal(clint.read(0x4000, 4), 0x5566_aa88);
  clock.now = 0xabcd;
  assert.equal(clint.read(0xbff8, 2), 0xabcd);
});

test('odd offsets never throw and read 0', () => {
  const { clint } = setup(2);
  for (const offset of [0x3ffc, 0x4010, 0x8000, 0xbff0, 0xc000, 0xffff, 0x10000, -4, 1e9]) {
    for (const size of [1, 2, 4] as const) {
      assert.doesNotThrow(() => clint.write(offset, size, 0xffff_ffff));
      if (offset !== 0x4010) assert.equal(clint.read(offset, size), 0, `offset 0x${offset.toString(16)} size ${size}`);
    }
  }
});

test('reset drives every pin low and restores never', () => {
  const { clint, pins, clock, writeCompare } = setup(2);
  clint.write(0, 4, 1);
  writeCompare(1, 0n);
  clock.now = 5;
  clint.update();
  assert.equal(pins.level(1, InterruptBit.MachineTimer), true);
  clint.reset();
  assert.equal(pins.level(0, InterruptBit.MachineSoftware), false);
  assert.equal(pins.level(1, InterruptBit.MachineTimer), false);
  assert.equal(clint.nextTimerDeadline(), Infinity);
});

test('constructor rejects a non-positive hart count', () => {
  assert.throws(() => new Clint(0, new ManualClock(), new RecordingPins()), /hart count/);
});
