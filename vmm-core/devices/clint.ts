// CLINT (SiFive core-local interruptor) as on QEMU's `virt` board: per-hart software
// interrupt (msip), per-hart timer compare (mtimecmp) and the shared mtime counter.

import { bytesOf, type StateReader, type StateRecord } from '../machine/state';
import type { HartInterruptPins, MachineClock, MmioDevice } from './device';
import { InterruptBit } from './device';

const MSIP_BASE = 0x0000;
const MTIMECMP_BASE = 0x4000;
const MTIME_OFFSET = 0xbff8;
const TWO_POW_32 = 0x1_0000_0000;
/** mtimecmp high words at or above this make the value >= 2^53: it can never be reached. */
const UNREACHABLE_HIGH_WORD = 0x20_0000;

/**
 * Reads and writes of 1, 2 or 4 bytes are accepted at any naturally aligned offset inside a
 * 32-bit register (sub-word writes merge into the register); misaligned accesses and
 * unmapped offsets read 0 and ignore writes.
 *
 * mtime writes are supported as in QEMU 7.2 (it keeps a delta against its clock): the Clint
 * keeps `mtimeOffset`, so `mtime()` here is the guest-visible time, which the CPU's `time`
 * CSR should also read.
 *
 * Reset value of mtimecmp: all ones ("never"). QEMU resets it to 0 but raises MTIP only once
 * mtimecmp is written, so "never" reproduces what a guest observes without that special case.
 */
export class Clint implements MmioDevice {
  readonly name = 'clint';
  private readonly softwarePending: Uint8Array;
  private readonly compareLow: Uint32Array;
  private readonly compareHigh: Uint32Array;
  /** mtimecmp as an exact double, or Infinity when it is >= 2^53. */
  private readonly compareValue: Float64Array;
  /** Last MTIP level driven per hart, so pins are only touched on a change. */
  private readonly timerLevel: Uint8Array;
  /** Guest-visible mtime minus the clock's mtime (set by guest writes to mtime). */
  private mtimeOffset = 0;

  constructor(
    readonly hartCount: number,
    private readonly clock: MachineClock,
    private readonly pins: HartInterruptPins,
  ) {
    if (!Number.isInteger(hartCount) || hartCount < 1) throw new Error(`Clint: hart count must be a positive integer, got ${hartCount}`);
    this.softwarePending = new Uint8Array(hartCount);
    this.compareLow = new Uint32Array(hartCount);
    this.compareHigh = new Uint32Array(hartCount);
    this.compareValue = new Float64Array(hartCount);
    this.timerLevel = new Uint8Array(hartCount);
    this.reset();
  }

  /** Back to power-on state; drives every pin explicitly so the harts agree with it. */
  reset(): void {
    this.mtimeOffset = 0;
    for (let hart = 0; hart < this.hartCount; hart++) {
      this.softwarePending[hart] = 0;
      this.compareLow[hart] = 0xffff_ffff;
      this.compareHigh[hart] = 0xffff_ffff;
      this.compareValue[hart] = Infinity;
      this.timerLevel[hart] = 0;
      this.pins.setInterruptPending(hart, InterruptBit.MachineSoftware, false);
      this.pins.setInterruptPending(hart, InterruptBit.MachineTimer, false);
    }
  }

  /** Per-hart MSIP and mtimecmp, the pin levels driven and the mtime offset, for snapshots. */
  saveState(): StateRecord {
    return {
      softwarePending: bytesOf(this.softwarePending), compareLow: bytesOf(this.compareLow), compareHigh: bytesOf(this.compareHigh),
      compareValue: bytesOf(this.compareValue), timerLevel: bytesOf(this.timerLevel), mtimeOffset: this.mtimeOffset,
    };
  }

  /** Puts back what saveState returned; the harts' pins are restored with the harts. */
  restoreState(state: StateReader): void {
    const mtimeOffset = state.integer('mtimeOffset');
    for (const key of ['softwarePending', 'compareLow', 'compareHigh', 'compareValue', 'timerLevel'] as const) state.check(key, this[key]);
    for (const key of ['softwarePending', 'compareLow', 'compareHigh', 'compareValue', 'timerLevel'] as const) state.into(key, this[key]);
    this.mtimeOffset = mtimeOffset;
  }

  /** The guest-visible mtime (what the `time` CSR reads). */
  mtime(): number {
    return this.clock.mtime() + this.mtimeOffset;
  }

  /** mtimecmp of a hart as a bigint (for debuggers and snapshots; not a hot path). */
  mtimecmp(hartId: number): bigint {
    return (BigInt(this.compareHigh[hartId]) << 32n) | BigInt(this.compareLow[hartId]);
  }

  /** msip of a hart: its machine software interrupt is pending (for debuggers; no side effects). */
  softwareInterruptPending(hartId: number): boolean {
    return this.softwarePending[hartId] === 1;
  }

  /** The MTIP level the CLINT drives for a hart: mtime >= mtimecmp (as of the last update). */
  timerInterruptPending(hartId: number): boolean {
    return this.timerLevel[hartId] === 1;
  }

  /** Re-evaluates MTIP of every hart against the current time. */
  update(): void {
    const now = this.mtime();
    for (let hart = 0; hart < this.hartCount; hart++) this.driveTimer(hart, now);
  }

  /**
   * The earliest mtimecmp still in the future, in the clock's ticks (MachineClock.mtime()
   * units, i.e. with the guest's mtime offset removed), or Infinity when no timer is armed.
   */
  nextTimerDeadline(): number {
    const now = this.mtime();
    let earliest = Infinity;
    for (let hart = 0; hart < this.hartCount; hart++) {
      const compare = this.compareValue[hart];
      if (compare > now && compare < earliest) earliest = compare;
    }
    return earliest === Infinity ? Infinity : earliest - this.mtimeOffset;
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (offset >>> 0 !== offset || (offset & (size - 1)) !== 0) return 0;
    const word = this.readWord(offset & ~3);
    if (size === 4) return word;
    const shift = (offset & 3) * 8;
    return (word >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset >>> 0 !== offset || (offset & (size - 1)) !== 0) return;
    const wordOffset = offset & ~3;
    let word = value >>> 0;
    if (size !== 4) {
      const shift = (offset & 3) * 8;
      const mask = (size === 1 ? 0xff : 0xffff) << shift;
      word = ((this.readWord(wordOffset) & ~mask) | ((value << shift) & mask)) >>> 0;
    }
    this.writeWord(wordOffset, word);
  }

  private readWord(offset: number): number {
    if (offset < MSIP_BASE + 4 * this.hartCount) return this.softwarePending[offset >>> 2];
    if (offset >= MTIMECMP_BASE && offset < MTIMECMP_BASE + 8 * this.hartCount) {
      const hart = (offset - MTIMECMP_BASE) >>> 3;
      return (offset & 4) === 0 ? this.compareLow[hart] : this.compareHigh[hart];
    }
    if (offset === MTIME_OFFSET) return this.mtime() >>> 0;
    if (offset === MTIME_OFFSET + 4) return Math.floor(this.mtime() / TWO_POW_32) >>> 0;
    return 0;
  }

  private writeWord(offset: number, value: number): void {
    if (offset < MSIP_BASE + 4 * this.hartCount) {
      const hart = offset >>> 2;
      const pending = value & 1;
      if (pending !== this.softwarePending[hart]) {
        this.softwarePending[hart] = pending;
        this.pins.setInterruptPending(hart, InterruptBit.MachineSoftware, pending === 1);
      }
      return;
    }
    if (offset >= MTIMECMP_BASE && offset < MTIMECMP_BASE + 8 * this.hartCount) {
      const hart = (offset - MTIMECMP_BASE) >>> 3;
      if ((offset & 4) === 0) this.compareLow[hart] = value;
      else this.compareHigh[hart] = value;
      const high = this.compareHigh[hart];
      this.compareValue[hart] = high >= UNREACHABLE_HIGH_WORD ? Infinity : high * TWO_POW_32 + this.compareLow[hart];
      this.driveTimer(hart, this.mtime());
      return;
    }
    if (offset === MTIME_OFFSET || offset === MTIME_OFFSET + 4) {
      // Replace one half of the guest-visible mtime, keep the other (QEMU keeps a delta too).
      const clockNow = this.clock.mtime();
      const current = clockNow + this.mtimeOffset;
      const currentHigh = Math.floor(current / TWO_POW_32);
      const currentLow = current - currentHigh * TWO_POW_32;
      const wanted = offset === MTIME_OFFSET ? currentHigh * TWO_POW_32 + value : value * TWO_POW_32 + currentLow;
      this.mtimeOffset = wanted - clockNow;
      this.update();
    }
  }

  private driveTimer(hart: number, now: number): void {
    const level = now >= this.compareValue[hart] ? 1 : 0;
    if (level !== this.timerLevel[hart]) {
      this.timerLevel[hart] = level;
      this.pins.setInterruptPending(hart, InterruptBit.MachineTimer, level === 1);
    }
  }
}
