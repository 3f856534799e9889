// Drives the machine without ever blocking the adapter: the machine runs in slices of about
// a million instructions with a turn of the event loop in between, so pause, disconnect and
// every other request are served while a guest runs. A run ends at a stop the session wants
// to report (breakpoint conditions, hit counts and logpoints are decided by a StopPolicy),
// at a temporary target the stepper set, on pause, on exit, or when cancelled.

import type { Debugger, StopReason } from '../vmm-core/debug/debugger';
import type { MachineExit } from '../vmm-core/machine/machine';
import { IdlePacer } from '../vmm-core/machine/pacing';

/** Instructions per slice: about 10 ms of guest time at the interpreter's speed. */
export const SLICE_INSTRUCTIONS = 1_000_000;

/** A stop the session reports to the client. */
export interface ReportedStop {
  readonly reason: 'breakpoint' | 'function breakpoint' | 'instruction breakpoint' | 'data breakpoint' | 'exception' | 'step' | 'pause' | 'entry' | 'goto';
  readonly hartId: number;
  readonly description?: string;
  readonly text?: string;
  readonly hitBreakpointIds?: number[];
  /** For ring and trap filter hits: what exceptionInfo answers. */
  readonly exception?: ExceptionStop;
}

export interface ExceptionStop {
  readonly filterId: string;
  /** The filter's label ("Ring: U → S"). */
  readonly label: string;
  /** The hit in full: transition, trap, cause number, epc, tval. */
  readonly description: string;
  readonly interrupt: boolean | undefined;
  readonly cause: number | undefined;
  readonly tval: bigint | undefined;
  readonly epc: bigint | undefined;
  readonly from: 'U' | 'S' | 'M';
  readonly to: 'U' | 'S' | 'M';
  readonly via: 'trap' | 'mret' | 'sret';
}

export interface StopPolicy {
  /** Decides whether a debugger stop is reported (undefined: keep running). Logs logpoints, counts hits. */
  review(stop: StopReason): ReportedStop | undefined;
  /** Called after every slice (console output flush, pending breakpoints). */
  afterSlice(): void;
}

/** A place a step is running to: the run ends when `accept` says the stop is it. */
export interface RunTarget {
  /** A code address to arm a temporary breakpoint at. */
  readonly address?: bigint;
  /** Arm a temporary privilege-change event (leaving a trap handler). */
  readonly privilegeChange?: { from: 'U' | 'S' | 'M' | '*'; to: 'U' | 'S' | 'M' | '*' };
  accept(stop: StopReason): boolean;
}

export type RunOutcome =
  | { kind: 'stopped'; stop: ReportedStop }
  | { kind: 'reached'; stop: StopReason }
  | { kind: 'paused'; hartId: number }
  | { kind: 'exited'; exit: MachineExit }
  | { kind: 'cancelled' };

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class RunLoop {
  private pauseRequested = false;
  private cancelled = false;
  /** Nesting of runs in progress (a step may run to a target inside a larger operation). */
  private active = 0;
  /** Slices run and instructions budgeted, for statistics. */
  slices = 0;
  /** Sleeps in wall time while every hart waits (the machine's idle mode says how). */
  readonly pacer: IdlePacer;

  /**
   * `attention`: a word another thread sets with `Atomics` when a request is waiting for this
   * thread (a worker host); the machine then ends its slice at once and the loop gives the
   * event loop a turn, so the request is served within a quantum rather than a slice.
   */
  constructor(private readonly debug: Debugger, private readonly policy: StopPolicy, private readonly attention: Int32Array | null = null) {
    this.pacer = new IdlePacer(debug.machine);
    if (attention !== null) debug.machine.attention = attention;
  }

  /** Clears the attention word: requests posted before now are served by the coming turn. */
  private clearAttention(): void {
    if (this.attention !== null) Atomics.store(this.attention, 0, 0);
  }

  get running(): boolean {
    return this.active > 0;
  }

  /** Asks the current run (or step) to stop at the next slice boundary. */
  requestPause(): void {
    if (this.active > 0) this.pauseRequested = true;
    this.pacer.wake();
  }

  /** Ends any run for good (disconnect, power off). */
  cancel(): void {
    this.cancelled = true;
    this.pacer.wake();
  }

  /** Checked by long steps between instructions. */
  takeInterruption(hartId: number): RunOutcome | undefined {
    if (this.cancelled) return { kind: 'cancelled' };
    if (this.pauseRequested) {
      this.pauseRequested = false;
      return { kind: 'paused', hartId };
    }
    return undefined;
  }

  /** Marks the start and end of an operation that checks takeInterruption itself. */
  async guard<T>(operation: () => Promise<T>): Promise<T> {
    this.active++;
    try {
      return await operation();
    } finally {
      this.active--;
      if (this.active === 0) this.pauseRequested = false;
    }
  }

  /** Lets the event loop serve requests; long steps call it every few thousand instructions. */
  yieldTurn(): Promise<void> {
    this.clearAttention();
    return nextTurn();
  }

  /**
   * Runs all harts (or only `singleHart`) until a reported stop, the target, a pause, the
   * guest's exit or cancellation.
   */
  run(options: { singleHart?: number; target?: RunTarget; pauseHart?: number } = {}): Promise<RunOutcome> {
    return this.guard(async () => {
      const target = options.target;
      const temporary: number[] = [];
      if (target?.address !== undefined) temporary.push(this.debug.addCodeBreakpoint({ address: target.address }));
      if (target?.privilegeChange !== undefined) {
        temporary.push(this.debug.addEventBreakpoint({ kind: 'privilege', ...target.privilegeChange }));
      }
      try {
        let lastTurn = performance.now();
        for (;;) {
          const interruption = this.takeInterruption(options.pauseHart ?? options.singleHart ?? 0);
          if (interruption !== undefined) return interruption;
          const stop = this.debug.continue(SLICE_INSTRUCTIONS, options.singleHart);
          this.slices++;
          this.policy.afterSlice();
          if (stop === undefined) {
            this.clearAttention();
            // Every hart waits: sleep until the next timer event, input, pause or disconnect.
            if (this.debug.machine.isIdle()) await this.pacer.waitWhileIdle();
            else await nextTurn();
            lastTurn = performance.now();
            continue;
          }
          if (stop.reason === 'exit') return { kind: 'exited', exit: stop.exit };
          if (stop.reason === 'pause' || stop.reason === 'step') {
            // Not asked for by anyone here (a guest reset, a stray stop request): keep going.
            await nextTurn();
            continue;
          }
          // A user breakpoint or filter at the same place wins over the step's own target.
          const reported = this.policy.review(stop);
          if (reported !== undefined) return { kind: 'stopped', stop: reported };
          if (target !== undefined && target.accept(stop)) return { kind: 'reached', stop };
          if (stop.reason !== 'breakpoint') {
            // Resuming lets the instruction at the pc run unchecked: a breakpoint right there
            // (a handler's first instruction after a filter whose condition was false) is checked now.
            const pc = this.debug.machine.harts[stop.hartId].pc;
            const here: StopReason = { reason: 'breakpoint', hartId: stop.hartId, pc, breakpointId: 0 };
            const atPc = this.policy.review(here);
            if (atPc !== undefined) return { kind: 'stopped', stop: atPc };
            if (target !== undefined && target.accept(here)) return { kind: 'reached', stop: here };
          }
          // Nothing wants this stop (false condition, logpoint, another hart at the target): go on,
          // still giving requests a turn when such stops come thick and fast.
          if (performance.now() - lastTurn > 10 || this.debug.machine.attentionRequested()) {
            this.clearAttention();
            await nextTurn();
            lastTurn = performance.now();
          }
        }
      } finally {
        for (const id of temporary) this.debug.removeBreakpoint(id);
      }
    });
  }
}
