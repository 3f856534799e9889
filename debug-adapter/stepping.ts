// Stepping by instruction, statement and line (in, over, out). A step runs instruction by
// instruction on the stepped hart and runs to a target (with the run loop, so breakpoints
// and pause still work) for what it steps over: calls, `ecall` (the caller's next
// instruction at the caller's privilege and address space) and, unless the user asked for
// it, interrupt handlers (back to the interrupted instruction).

import { privilegeName } from '../vmm-core/cpu/csr-numbers';
import type { StopReason } from '../vmm-core/debug/debugger';
import type { RunLoop, RunOutcome, RunTarget, StopPolicy } from './run-loop';
import { unwindStack } from './stack';
import type { AddressContext, SymbolSet } from './symbol-set';
import type { Target } from './target';

/** `trapped`: the stepped instruction raised an exception and the hart is at its handler. */
export type StepOutcome = RunOutcome | { kind: 'stepped'; trapped?: boolean };

export interface StepOptions {
  readonly hartId: number;
  /** Other harts stay frozen while this one steps (DAP singleThread). */
  readonly singleThread: boolean;
}

export class StepError extends Error {
  override name = 'StepError';
}

/** Instructions stepped between turns of the event loop. */
const STEPS_PER_TURN = 2000;
/** Interrupts a single step may run through before giving up on the instruction. */
const MAX_INTERRUPT_RETRIES = 100;
/** Instructions a step into a function may run to get past its prologue. */
const MAX_PROLOGUE_STEPS = 256;

const done = (outcome: StepOutcome): boolean => outcome.kind !== 'stepped' && outcome.kind !== 'reached';

export class Stepper {
  constructor(
    private readonly target: Target,
    private readonly loop: RunLoop,
    private readonly policy: StopPolicy,
    private readonly symbols: () => SymbolSet | undefined,
    private readonly interruptsDuringStep: () => boolean,
  ) {}

  private context(hartId: number): AddressContext {
    return { privilege: this.target.privilegeOf(hartId), satp: this.target.satpOf(hartId) };
  }

  /** Runs to `address` on `hartId` in the same privilege level and address space, with sp at least `minimumSp`. */
  private runTo(options: StepOptions, address: bigint, minimumSp: bigint | undefined): Promise<RunOutcome> {
    const { hartId } = options;
    const hart = this.target.hart(hartId);
    const privilege = hart.privilege;
    const satp = this.target.satpOf(hartId);
    const target: RunTarget = {
      address,
      accept: (stop: StopReason) => stop.reason === 'breakpoint' && stop.hartId === hartId && hart.pc === address &&
        hart.privilege === privilege && this.target.satpOf(hartId) === satp &&
        (minimumSp === undefined || BigInt.asUintN(64, hart.readRegister(2)) >= minimumSp),
    };
    return this.loop.run({ singleHart: options.singleThread ? hartId : undefined, target, pauseHart: hartId });
  }

  /**
   * One instruction. With `over`, a call or an ecall runs until it returns. Unless
   * interruptsDuringStep is set, an interrupt taken on the way runs to its return first.
   */
  async instruction(options: StepOptions, over: boolean): Promise<StepOutcome> {
    const { hartId } = options;
    const hart = this.target.hart(hartId);
    const start = hart.pc;
    const control = this.target.controlKind(hartId, start);
    if (over && control !== undefined && (control.kind === 'call' || control.kind === 'ecall')) {
      const sp = BigInt.asUintN(64, hart.readRegister(2));
      return this.runTo(options, start + BigInt(control.length), control.kind === 'call' ? sp : undefined);
    }
    const privilege = hart.privilege;
    const satp = this.target.satpOf(hartId);
    for (let attempt = 0; attempt < MAX_INTERRUPT_RETRIES; attempt++) {
      const traps = hart.trapsTaken;
      const stop = this.target.debug.step(hartId, 1);
      this.policy.afterSlice();
      if (stop.reason === 'exit') return { kind: 'exited', exit: stop.exit };
      if (stop.reason !== 'step' && stop.reason !== 'pause') {
        const reported = this.policy.review(stop);
        if (reported !== undefined) return { kind: 'stopped', stop: reported };
      }
      const trapped = hart.trapsTaken > traps;
      const interrupted = trapped && this.target.lastTrapWasInterrupt(hartId);
      if (!interrupted) return { kind: 'stepped', trapped };
      if (this.interruptsDuringStep()) return { kind: 'stepped' };
      // Back to the interrupted instruction, in the stepped code's own context.
      const epc = this.target.lastTrapEpc(hartId);
      const outcome = await this.loop.run({
        singleHart: options.singleThread ? hartId : undefined, pauseHart: hartId,
        target: {
          address: epc,
          accept: (candidate) => candidate.reason === 'breakpoint' && candidate.hartId === hartId && hart.pc === epc &&
            hart.privilege === privilege && this.target.satpOf(hartId) === satp,
        },
      });
      if (done(outcome)) return outcome;
      // The interrupt came before the instruction ran (epc is the instruction): run it now.
      if (epc !== start || hart.pc !== start) return { kind: 'stepped' };
    }
    return { kind: 'stepped' };
  }

  /** Step in or over by line or statement; falls back to an instruction where there is no line information. */
  line(options: StepOptions, mode: 'in' | 'over', granularity: 'line' | 'statement'): Promise<StepOutcome> {
    return this.loop.guard(async () => {
      const { hartId } = options;
      const hart = this.target.hart(hartId);
      const symbols = this.symbols();
      const privilege = hart.privilege;
      const satp = this.target.satpOf(hartId);
      let context = this.context(hartId);
      let start = symbols?.locationAt(hart.pc, context);
      if (symbols === undefined || start === undefined) return this.instruction(options, mode === 'over');
      let startFunction = symbols.functionAt(hart.pc, context)?.lowPc;
      let inlineDepth = symbols.functionsAt(hart.pc, context).length;
      let statementStart = start.runtimeAddress;
      for (let steps = 1; ; steps++) {
        const interruption = this.loop.takeInterruption(hartId);
        if (interruption !== undefined) return interruption;
        if (steps % STEPS_PER_TURN === 0) await this.loop.yieldTurn();
        const before = hart.pc;
        const control = this.target.controlKind(hartId, before);
        const sp = BigInt.asUintN(64, hart.readRegister(2));
        const over = mode === 'over' && control !== undefined && (control.kind === 'ecall' || control.kind === 'call');
        const outcome = await this.instruction(options, over);
        if (done(outcome)) return outcome;
        // Left the stepped code's privilege level or address space (sret, a trap): stop there.
        if (hart.privilege !== privilege || this.target.satpOf(hartId) !== satp) return { kind: 'stepped' };
        // An exception the instruction raised lands in its handler (step into ecall is the same).
        if (outcome.kind === 'stepped' && outcome.trapped === true) return { kind: 'stepped' };
        context = this.context(hartId);
        const pc = hart.pc;
        const location = symbols.locationAt(pc, context);
        if (control?.kind === 'call' && mode === 'in') {
          // Into a function with line information: stop after its prologue, on its first body
          // line (as a function breakpoint would); without: step over it.
          if (location !== undefined) return this.skipPrologue(options, symbols);
          const back = await this.runTo(options, before + BigInt(control.length), sp);
          if (done(back)) return back;
          continue;
        }
        const currentFunction = symbols.functionAt(pc, context)?.lowPc;
        if (control?.kind === 'return' && currentFunction !== startFunction) {
          // Back in the caller, in the middle of its line: go on to the start of a statement.
          if (location === undefined) return { kind: 'stepped' };
          if (location.runtimeAddress === pc) return { kind: 'stepped' };
          start = location;
          startFunction = currentFunction;
          inlineDepth = symbols.functionsAt(pc, context).length;
          statementStart = location.runtimeAddress;
          continue;
        }
        if (location === undefined) {
          // No line information: inside the same function keep going; elsewhere stop.
          if (currentFunction !== undefined && currentFunction === startFunction) continue;
          return { kind: 'stepped' };
        }
        // A statement boundary: an is_stmt row, or the first address of a row (GCC follows an
        // is_stmt row with a view row at the same address that is not marked).
        if (!location.isStatement && location.runtimeAddress !== pc) continue;
        const newLine = location.line !== start.line || location.path !== start.path;
        if (newLine) {
          // Stepping over an inlined call: its body's lines are not stops.
          if (mode === 'over' && currentFunction === startFunction && symbols.functionsAt(pc, context).length > inlineDepth) continue;
          return { kind: 'stepped' };
        }
        if (granularity === 'statement' && location.runtimeAddress === pc && pc !== statementStart) return { kind: 'stepped' };
      }
    });
  }

  /**
   * At a function's entry: steps (over calls) to the end of its prologue
   * (SymbolSet.afterPrologue) while the pc stays in the function and in the same privilege
   * level and address space. Assembly and functions without such a row stop at the entry.
   */
  private async skipPrologue(options: StepOptions, symbols: SymbolSet): Promise<StepOutcome> {
    const { hartId } = options;
    const hart = this.target.hart(hartId);
    const context = this.context(hartId);
    const target = symbols.afterPrologue(hart.pc, context);
    const bounds = symbols.functionAt(hart.pc, context);
    if (target === undefined || bounds === undefined || target <= hart.pc || target >= bounds.highPc) return { kind: 'stepped' };
    const { privilege } = hart;
    const satp = this.target.satpOf(hartId);
    for (let steps = 0; steps < MAX_PROLOGUE_STEPS && hart.pc !== target; steps++) {
      const outcome = await this.instruction(options, true);
      if (done(outcome)) return outcome;
      if (outcome.kind === 'stepped' && outcome.trapped === true) break;
      if (hart.privilege !== privilege || this.target.satpOf(hartId) !== satp || hart.pc < bounds.lowPc || hart.pc >= bounds.highPc) break;
    }
    return { kind: 'stepped' };
  }

  /** Runs until the current function returns to its caller (or a trap handler returns). */
  out(options: StepOptions): Promise<StepOutcome> {
    return this.loop.guard(async () => {
      const { hartId } = options;
      const hart = this.target.hart(hartId);
      const symbols = this.symbols();
      const context = this.context(hartId);
      const frames = unwindStack(this.target, symbols, hartId, context);
      if (frames[0]?.inlined === true && symbols !== undefined) {
        // Out of an inlined body: step until the inline chain gets shorter.
        const depth = symbols.functionsAt(hart.pc, context).length;
        for (let steps = 1; ; steps++) {
          const interruption = this.loop.takeInterruption(hartId);
          if (interruption !== undefined) return interruption;
          if (steps % STEPS_PER_TURN === 0) await this.loop.yieldTurn();
          const outcome = await this.instruction(options, true);
          if (done(outcome)) return outcome;
          if (symbols.functionsAt(hart.pc, this.context(hartId)).length < depth) return { kind: 'stepped' };
        }
      }
      // Frames below a trap boundary are not callers: leaving a handler is an xret (below).
      const caller = frames.find((frame) => frame.depth === 1 && (frame.trapLevel ?? 0) === 0);
      if (caller !== undefined) {
        const outcome = await this.runTo(options, caller.registers.pc, caller.registers.registers.get(2));
        return outcome.kind === 'reached' ? { kind: 'stepped' } : outcome;
      }
      const level = privilegeName(hart.privilege);
      if (level === 'U') throw new StepError('cannot step out: no caller frame could be found (no unwind information for this code)');
      // A trap handler without a caller frame: run until it returns to a lower level.
      const outcome = await this.loop.run({
        singleHart: options.singleThread ? hartId : undefined, pauseHart: hartId,
        target: {
          privilegeChange: { from: level, to: '*' },
          accept: (stop) => stop.reason === 'privilege' && stop.hartId === hartId && stop.via !== 'trap',
        },
      });
      return outcome.kind === 'reached' ? { kind: 'stepped' } : outcome;
    });
  }
}
