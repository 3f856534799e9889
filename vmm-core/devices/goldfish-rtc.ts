// Goldfish RTC ("google,goldfish-rtc") at 0x10_1000: wall-clock time in nanoseconds derived
// from virtual time (deterministic: a fixed epoch plus mtime), with a one-shot alarm.

import { SnapshotError, type StateReader, type StateRecord } from '../machine/state';
import type { InterruptLine, MachineClock, MmioDevice } from './device';
import { TIMEBASE_FREQUENCY } from '../machine/layout';

const TIME_LOW = 0x00;
const TIME_HIGH = 0x04;
const ALARM_LOW = 0x08;
const ALARM_HIGH = 0x0c;
const IRQ_ENABLED = 0x10;
const CLEAR_ALARM = 0x14;
const ALARM_STATUS = 0x18;
const CLEAR_INTERRUPT = 0x1c;

const NANOSECONDS_PER_TICK = BigInt(1_000_000_000 / TIMEBASE_FREQUENCY);
const LOW_MASK = 0xffff_ffffn;

/**
 * time = epoch + mtime × 100 ns + an offset the guest sets by writing TIME_LOW/TIME_HIGH.
 * Reading TIME_LOW latches the high word for the next TIME_HIGH read. Writing ALARM_LOW arms
 * the alarm at ALARM_HIGH:ALARM_LOW (an alarm already due fires at once); when it fires,
 * the interrupt is pending until CLEAR_INTERRUPT, and the line is high while pending and
 * IRQ_ENABLED. The machine calls `update()` as time advances (and may use
 * `nextAlarmDeadline()` to skip idle time). Only aligned 32-bit accesses have effect.
 * 64-bit time values are bigints: nanoseconds since 1970 exceed 2^53 (this is a cold path).
 */
export class GoldfishRtc implements MmioDevice {
  readonly name = 'goldfish-rtc';
  private readonly epoch: bigint;
  private offset = 0n;
  private latchedHigh = 0;
  private alarmNext = 0n;
  private alarmRunning = false;
  private interruptPending = false;
  private interruptEnabled = false;
  private lineLevel = false;

  constructor(
    private readonly clock: MachineClock,
    epochNanoseconds: number | bigint,
    private readonly irq: InterruptLine,
  ) {
    if (typeof epochNanoseconds === 'number' && !Number.isInteger(epochNanoseconds)) {
      throw new Error(`GoldfishRtc: epoch must be an integer number of nanoseconds, got ${epochNanoseconds}`);
    }
    this.epoch = BigInt(epochNanoseconds);
  }

  /** Current RTC time in nanoseconds since the Unix epoch. */
  now(): bigint {
    return this.epoch + BigInt(Math.floor(this.clock.mtime())) * NANOSECONDS_PER_TICK + this.offset;
  }

  /** Alarm and interrupt state for debuggers (no side effects). */
  alarmState(): { alarm: bigint; armed: boolean; interruptPending: boolean; interruptEnabled: boolean } {
    return { alarm: this.alarmNext, armed: this.alarmRunning, interruptPending: this.interruptPending, interruptEnabled: this.interruptEnabled };
  }

  /** Fires a due alarm; call as virtual time advances. */
  update(): void {
    if (this.alarmRunning && this.now() >= this.alarmNext) {
      this.alarmRunning = false;
      this.interruptPending = true;
      this.updateLine();
    }
  }

  /** Clock ticks (MachineClock.mtime() units) at which the armed alarm fires, or Infinity. */
  nextAlarmDeadline(): number {
    if (!this.alarmRunning) return Infinity;
    const nanoseconds = this.alarmNext - this.epoch - this.offset;
    if (nanoseconds <= 0n) return 0;
    const ticks = (nanoseconds + NANOSECONDS_PER_TICK - 1n) / NANOSECONDS_PER_TICK;
    return ticks > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(ticks);
  }

  /** The time offset the guest set, the latched high word and the alarm, for snapshots. */
  saveState(): StateRecord {
    return {
      offset: this.offset.toString(), latchedHigh: this.latchedHigh, alarmNext: this.alarmNext.toString(), alarmRunning: this.alarmRunning,
      interruptPending: this.interruptPending, interruptEnabled: this.interruptEnabled, lineLevel: this.lineLevel,
    };
  }

  /** Puts back what saveState returned (checked first). */
  restoreState(state: StateReader): void {
    const bigInteger = (key: string, minimum: bigint, maximum: bigint): bigint => {
      const text = state.string(key);
      if (!/^-?[0-9]{1,25}$/.test(text) || BigInt(text) < minimum || BigInt(text) > maximum) {
        throw new SnapshotError(`${state.path}.${key}: expected an integer from ${minimum} to ${maximum}, got '${text}'`);
      }
      return BigInt(text);
    };
    const offset = bigInteger('offset', -(1n << 64n), 1n << 64n);
    const alarmNext = bigInteger('alarmNext', 0n, (1n << 64n) - 1n);
    const latchedHigh = state.uint32('latchedHigh');
    const flags = (['alarmRunning', 'interruptPending', 'interruptEnabled', 'lineLevel'] as const).map((key) => state.boolean(key));
    this.offset = offset;
    this.alarmNext = alarmNext;
    this.latchedHigh = latchedHigh;
    [this.alarmRunning, this.interruptPending, this.interruptEnabled, this.lineLevel] = flags;
    this.irq.setLevel(this.lineLevel);
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (size !== 4) return 0;
    switch (offset) {
      case TIME_LOW: {
        const now = this.now();
        this.latchedHigh = Number((now >> 32n) & LOW_MASK);
        return Number(now & LOW_MASK);
      }
      case TIME_HIGH:
        return this.latchedHigh;
      case ALARM_LOW:
        return Number(this.alarmNext & LOW_MASK);
      case ALARM_HIGH:
        return Number((this.alarmNext >> 32n) & LOW_MASK);
      case IRQ_ENABLED:
        return this.interruptEnabled ? 1 : 0;
      case ALARM_STATUS:
        return this.alarmRunning ? 1 : 0;
      default:
        return 0;
    }
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (size !== 4) return;
    const word = BigInt(value >>> 0);
    switch (offset) {
      case TIME_LOW:
      case TIME_HIGH: {
        const current = this.now();
        const wanted = offset === TIME_LOW ? (current & ~LOW_MASK) | word : (word << 32n) | (current & LOW_MASK);
        this.offset += wanted - current;
        this.update(); // moving time forward may make the alarm due
        break;
      }
      case ALARM_LOW:
        this.alarmNext = (this.alarmNext & ~LOW_MASK) | word;
        this.alarmRunning = true;
        this.update();
        break;
      case ALARM_HIGH:
        this.alarmNext = (word << 32n) | (this.alarmNext & LOW_MASK);
        break;
      case IRQ_ENABLED:
        this.interruptEnabled = (value & 1) === 1;
        break;
      case CLEAR_ALARM:
        this.alarmRunning = false;
        break;
      case CLEAR_INTERRUPT:
        this.interruptPending = false;
        break;
      default:
        return;
    }
    this.updateLine();
  }

  private updateLine(): void {
    const level = this.interruptPending && this.interruptEnabled;
    if (level !== this.lineLevel) {
      this.lineLevel = level;
      this.irq.setLevel(level);
    }
  }
}
