// Host-side pacing of an idle guest: while every hart waits for an interrupt, the host sleeps
// in wall time until the next timer event is due or input arrives, then moves virtual time on
// by as much as it slept (QEMU's icount "sleep" behaviour). An idle guest costs no CPU and a
// guest `sleep 3` takes three wall seconds; busy guests still run on instruction-counted time.

import type { Machine } from './machine';

/** Longest single timer the host arms (setTimeout's limit is 2^31-1 ms). */
const LONGEST_WAIT_MS = 1_000_000_000;

interface Wait {
  readonly wallStart: number;
  readonly virtualStart: number;
  readonly pace: boolean;
  readonly finish: () => void;
}

export class IdlePacer {
  private wait: Wait | null = null;
  /** Waits that ended because their timer event came due, and because of input or wake(). */
  timedWakeups = 0;
  externalWakeups = 0;
  /** Wall milliseconds spent waiting. */
  idleMilliseconds = 0;

  constructor(private readonly machine: Machine, private readonly wallClock: () => number = () => performance.now()) {}

  /** True while a wait is in progress. */
  get waiting(): boolean {
    return this.wait !== null;
  }

  /**
   * Call when a run returned because the machine is idle. Resolves when the next timer event
   * is due in wall time (pace mode; virtual time then stands at that event), when input
   * arrives through `beforeExternalInput`, or on `wake()`. Returns at once if the machine is
   * not idle. In skip mode the machine only returns idle when no timer event is pending: the
   * wait lasts until input or wake(), and virtual time does not move.
   */
  async waitWhileIdle(): Promise<void> {
    const machine = this.machine;
    if (this.wait !== null || !machine.isIdle()) return;
    const pace = machine.config.idle === 'pace';
    const next = machine.nextTimerEventNanoseconds();
    const virtualStart = machine.virtualNanoseconds;
    const delayMs = pace ? (next - virtualStart) / 1e6 : Infinity;
    const wallStart = this.wallClock();
    let timedOut = false;
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      if (Number.isFinite(delayMs)) {
        timer = setTimeout(() => {
          timedOut = true;
          finish();
        }, Math.min(LONGEST_WAIT_MS, Math.max(0, delayMs)));
      }
      this.wait = { wallStart, virtualStart, pace, finish };
    });
    this.idleMilliseconds += this.wallClock() - wallStart;
    if (timedOut) {
      this.timedWakeups++;
      // The whole interval was slept: stand exactly at the event, however the timer rounded.
      if (pace) machine.advanceIdleTime(next);
    } else {
      this.externalWakeups++;
      this.catchUp();
    }
    this.wait = null;
  }

  /**
   * Input from outside (console bytes, a network frame) is about to be delivered: during a
   * paced wait, first move virtual time to the moment it arrived, so the guest sees it then;
   * then end the wait. Outside a wait nothing changes (the input lands at the current point).
   */
  beforeExternalInput(): void {
    if (this.wait === null) return;
    this.catchUp();
    this.wait.finish();
  }

  /** Ends a wait without input (pause, quit, timeout); virtual time moves by the time slept. */
  wake(): void {
    this.wait?.finish();
  }

  private catchUp(): void {
    const wait = this.wait;
    if (wait === null || !wait.pace) return;
    const sleptNanoseconds = (this.wallClock() - wait.wallStart) * 1e6;
    this.machine.advanceIdleTime(wait.virtualStart + Math.floor(sleptNanoseconds));
  }
}
