// Reverse debugging: stepBack (by instruction or line) and reverseContinue over the machine's
// execution history (vmm-core/debug/history.ts). Both find the earlier point by re-executing
// from checkpoints, then land on it exactly.
//
// - Step back one instruction: hart h's previous step (its last instruction or trap undone).
// - Step back by line: the latest earlier point where h was at the start of a source line
//   other than the current one (or at the start of the current line, when it is in the middle
//   of it), in the same frame or its caller, privilege level and address space: found on a
//   trail of the last steps, widened until history runs out.
// - Reverse continue: the latest earlier stop a forward run would have reported (code and data
//   breakpoints with their conditions and hit counts, ring and trap filters). History is
//   searched interval by interval from the newest; breakpoints are reviewed quietly on the way
//   (no logpoint output, no hits counted) and hit conditions are decided once it is known how
//   many hits came after each one. With no such stop, the machine goes to where history begins.

import type { Debugger, StopReason } from '../vmm-core/debug/debugger';
import { type ExecutionHistory, type RunMode, type StepTarget, totalSteps } from '../vmm-core/debug/history';
import { hartSteps, type InstructionObserver, type Machine } from '../vmm-core/machine/machine';
import type { Hart } from '../vmm-core/cpu/hart';
import type { Breakpoints } from './breakpoints';
import type { ReportedStop } from './run-loop';
import type { SymbolSet } from './symbol-set';
import type { Target } from './target';

/** Instructions one re-execution call runs before the next (stops in between are collected). */
const REEXECUTION_SLICE = 1_000_000;
/** The first trail a line step back looks at, in steps; doubled while no line start is found. */
const FIRST_TRAIL_STEPS = 2048;
const MAXIMUM_TRAIL_STEPS = 1 << 22;

export class ReverseError extends Error {
  override name = 'ReverseError';
}

export type ReverseOutcome =
  | { kind: 'stepped'; description?: string }
  | { kind: 'stopped'; stop: ReportedStop }
  /** History does not go back further: the machine is where it begins. */
  | { kind: 'start'; hartId: number };

interface TrailEntry {
  readonly steps: number;
  readonly pc: bigint;
  readonly sp: bigint;
  readonly privilege: number;
  readonly satp: bigint;
}

export class ReverseExecution {
  constructor(
    private readonly machine: Machine,
    private readonly debug: Debugger,
    readonly history: ExecutionHistory,
    private readonly target: Target,
    private readonly breakpoints: Breakpoints,
    private readonly symbols: () => SymbolSet | undefined,
  ) {
    history.onRestore = () => debug.moved();
  }

  /** Runs the machine once for re-execution, through the debugger (stops then go by on the next call). */
  private runner(onStop?: (stop: StopReason) => void): (mode: RunMode) => 'idle' | 'budget' | 'exit' | 'stop' {
    return (mode) => {
      const stop = this.debug.continue(REEXECUTION_SLICE, mode < 0 ? undefined : mode);
      if (stop === undefined) return this.machine.isIdle() ? 'idle' : 'budget';
      if (stop.reason === 'exit') return 'exit';
      onStop?.(stop);
      return 'stop';
    };
  }

  private land(target: StepTarget): void {
    if (!this.history.goTo(target, this.runner())) throw new ReverseError('history does not reach that point any more');
    this.debug.moved();
  }

  /** One instruction (or trap) of `hartId` back. */
  stepBackInstruction(hartId: number): ReverseOutcome {
    const steps = hartSteps(this.machine.harts[hartId]);
    const oldest = this.history.statistics.oldest.steps[hartId];
    if (steps <= oldest) return { kind: 'start', hartId };
    this.land({ hartId, steps: steps - 1 });
    return { kind: 'stepped' };
  }

  /** Back to the start of the previous line (see the top of this file). */
  stepBackLine(hartId: number): ReverseOutcome {
    const symbols = this.symbols();
    const hart = this.machine.harts[hartId];
    const now = hartSteps(hart);
    const context = { privilege: this.target.privilegeOf(hartId), satp: this.target.satpOf(hartId) };
    const here = symbols?.locationAt(hart.pc, context);
    if (symbols === undefined || here === undefined) return this.stepBackInstruction(hartId);
    const start = { pc: hart.pc, sp: BigInt.asUintN(64, hart.readRegister(2)), privilege: hart.privilege, satp: this.target.satpOf(hartId) };
    const atLineStart = here.runtimeAddress === hart.pc;
    // Lines of a function inlined here are a call's lines: not stops (as `next` skips them).
    const inlineDepth = symbols.functionsAt(hart.pc, context).length;
    // Another function at the same stack depth is a callee (before its prologue or after its epilogue, or a tail call).
    const startFunction = symbols.functionAt(hart.pc, context)?.lowPc;
    const oldest = this.history.statistics.oldest.steps[hartId];
    for (let length = FIRST_TRAIL_STEPS; ; length *= 2) {
      const from = Math.max(oldest, now - length);
      if (from >= now) return { kind: 'start', hartId };
      const trail = this.trail(hartId, from, now);
      for (let index = trail.length - 1; index >= 0; index--) {
        const entry = trail[index];
        if (entry.privilege !== start.privilege || entry.satp !== start.satp || entry.sp < start.sp) continue;
        const location = symbols.locationAt(entry.pc, { privilege: this.target.privilegeOf(hartId), satp: entry.satp });
        // A line starts at the first address of its row.
        if (location === undefined || location.runtimeAddress !== entry.pc) continue;
        const entryContext = { privilege: this.target.privilegeOf(hartId), satp: entry.satp };
        if (symbols.functionsAt(entry.pc, entryContext).length > inlineDepth) continue;
        if (symbols.functionAt(entry.pc, entryContext)?.lowPc !== startFunction && entry.sp <= start.sp) continue;
        const sameLine = location.line === here.line && location.path === here.path;
        if (sameLine && (atLineStart || entry.pc !== here.runtimeAddress)) continue;
        this.land({ hartId, steps: entry.steps });
        return { kind: 'stepped' };
      }
      if (from === oldest || length >= MAXIMUM_TRAIL_STEPS) {
        // No earlier line start in reach: go as far back as was looked.
        this.land({ hartId, steps: from });
        return from === oldest ? { kind: 'start', hartId } : { kind: 'stepped' };
      }
    }
  }

  /**
   * The state of `hartId` before each of its steps from `from` to `to` (re-executed one
   * instruction at a time), leaving the machine at `to` again.
   */
  private trail(hartId: number, from: number, to: number): TrailEntry[] {
    this.land({ hartId, steps: from });
    const entries: TrailEntry[] = [];
    const target = this.target;
    const record = (hart: Hart): void => {
      if (hart.hartId !== hartId) return;
      entries.push({
        steps: hartSteps(hart), pc: hart.pc, sp: BigInt.asUintN(64, hart.readRegister(2)), privilege: hart.privilege, satp: target.satpOf(hartId),
      });
    };
    const observer: InstructionObserver = { beforeInstruction: record, afterInstruction: () => {}, interruptTaken: () => {} };
    const index = this.history.checkpointPositions.length - 1;
    this.machine.instructionObserver = observer;
    try {
      if (!this.history.reexecute({ hartId, steps: to }, this.history.modeOf(index), this.runner())) {
        throw new ReverseError('re-execution did not get back to where the step started');
      }
    } finally {
      this.machine.instructionObserver = null;
    }
    return entries.filter((entry) => entry.steps < to);
  }

  /**
   * The latest earlier stop a forward run would have reported, or the start of history.
   * `hitHere`: the breakpoints whose hit the current stop counted (it is not searched again).
   */
  reverseContinue(hartId: number, hitHere: readonly number[] = []): ReverseOutcome {
    const history = this.history;
    const now = this.machine.totalSteps();
    let scanEnd = now;
    // Hits of each breakpoint after the point being looked at: its number there is the count now minus these.
    const after = new Map<number, number>(hitHere.map((id) => [id, 1]));
    for (;;) {
      const positions = history.checkpointPositions;
      let index = -1;
      for (let candidate = positions.length - 1; candidate >= 0; candidate--) {
        if (totalSteps(positions[candidate]) < scanEnd) {
          index = candidate;
          break;
        }
      }
      if (index < 0) {
        const oldest = positions.length > 0 ? totalSteps(positions[0]) : now;
        if (this.machine.totalSteps() !== oldest) this.land({ totalSteps: oldest });
        this.rewindHits(after);
        return { kind: 'start', hartId };
      }
      const intervalStart = totalSteps(positions[index]);
      const mode = history.modeOf(index);
      history.restoreCheckpoint(index);
      const hits: Array<{ total: number; stop: ReportedStop; breakpointIds: number[] }> = [];
      // The instruction at a hart's pc is not checked when a run resumes there: a breakpoint on it is a hit here.
      for (const hart of this.machine.harts) {
        if (mode >= 0 && hart.hartId !== mode) continue;
        const atPc = this.breakpoints.reviewQuietly({ reason: 'breakpoint', hartId: hart.hartId, pc: hart.pc, breakpointId: 0 });
        if (atPc !== undefined) hits.push({ total: intervalStart, ...atPc });
      }
      const completed = history.reexecute({ totalSteps: scanEnd }, mode, this.runner((stop) => {
        const reviewed = this.breakpoints.reviewQuietly(stop);
        if (reviewed !== undefined) hits.push({ total: this.machine.totalSteps(), ...reviewed });
      }));
      if (!completed) throw new ReverseError('re-execution did not get back to where reverse continue started');
      // Newest first: whether each hit stops, given its number for each of its breakpoints.
      for (let position = hits.length - 1; position >= 0; position--) {
        const hit = hits[position];
        if (hit.total >= now) continue;
        let stops = hit.breakpointIds.length === 0;
        for (const id of hit.breakpointIds) {
          const state = this.breakpoints.hitState(id);
          if (state === undefined) continue;
          if (state.hitCondition === undefined || state.hitCondition(state.hits - (after.get(id) ?? 0))) stops = true;
        }
        if (stops) {
          this.land({ totalSteps: hit.total });
          this.rewindHits(after);
          return { kind: 'stopped', stop: hit.stop };
        }
        for (const id of hit.breakpointIds) after.set(id, (after.get(id) ?? 0) + 1);
      }
      scanEnd = intervalStart;
    }
  }

  /** Takes the hits history went back over away from the breakpoints' counts. */
  private rewindHits(laterHits: ReadonlyMap<number, number>): void {
    for (const [id, count] of laterHits) this.breakpoints.setHits(id, (this.breakpoints.hitState(id)?.hits ?? 0) - count);
  }
}
