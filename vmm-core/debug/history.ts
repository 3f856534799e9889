// Execution history for reverse debugging: checkpoints of the machine taken as it runs, and
// deterministic re-execution from them to land exactly on an earlier point.
//
// A checkpoint holds the machine's state (Machine.saveState) and an undo log: the content, as it
// was at the checkpoint, of every RAM page written after it (copied the first time a page is
// written: the MMU reports each store translation and every other writer reports before it
// writes; the TLBs are flushed at each checkpoint so that a page's first store translates
// again). Going back to checkpoint i applies the undo logs from the newest down to i, so memory
// for history is what the guest changed, and the oldest checkpoint can be dropped whenever the
// budget is exceeded.
//
// Between two checkpoints the machine only runs: anything from outside (console input, network
// frames, a wait cut short, a tool's write, a resume after the user looked at a stop, a change
// between running all harts and one) starts a new checkpoint at the next run. Re-executing an
// interval in the mode it ran in therefore reproduces it exactly (the machine is deterministic
// and stopping does not change a run). Going back discards the future: running forward again
// re-executes live from there.

import { hartSteps, type Machine, type MachineHistoryHooks } from '../machine/machine';
import type { StateRecord } from '../machine/state';
import { DISK_BLOCK_BYTES } from '../bridges/disk/observed';

const PAGE_BYTES = 4096;
/** Bytes a checkpoint's own state is counted as, on top of its undo log (registers, devices, bookkeeping). */
const CHECKPOINT_OVERHEAD_BYTES = 16 * 1024;

/** Which harts an interval ran: -1 all of them, else the one hart that ran alone. */
export type RunMode = number;

/** A point in the run: each hart's steps (instructions retired plus traps taken). */
export interface HistoryPosition {
  readonly steps: readonly number[];
}

/** Where re-execution stops: a hart's step count, or all harts' together. */
export type StepTarget = { readonly hartId: number; readonly steps: number } | { readonly totalSteps: number };

/** Total steps: strictly increasing as the machine runs, so it orders points in time. */
export function totalSteps(position: HistoryPosition): number {
  let total = 0;
  for (const steps of position.steps) total += steps;
  return total;
}

interface Checkpoint {
  readonly position: HistoryPosition;
  readonly state: StateRecord;
  /** How the interval after this checkpoint ran (set by its first run). */
  mode: RunMode | undefined;
  readonly side: readonly number[] | undefined;
  /** RAM page index → the page's content at this checkpoint (null: it was all zero). */
  readonly undo: Map<number, Uint8Array | null>;
  /** Disk blocks ("slot:block") → their content at this checkpoint. */
  readonly diskUndo: Map<string, Uint8Array>;
  undoBytes: number;
}

export interface HistoryOptions {
  /** Memory for checkpoints in bytes; the oldest are dropped beyond it (at least the newest stays). */
  budgetBytes: number;
  /** Steps (all harts together) between periodic checkpoints: bounds how far one landing re-executes. */
  checkpointInterval?: number;
}

export interface HistoryStatistics {
  readonly checkpoints: number;
  readonly bytes: number;
  readonly budgetBytes: number;
  /** The oldest point history can go back to. */
  readonly oldest: HistoryPosition;
  readonly droppedCheckpoints: number;
  readonly reexecutedSteps: number;
}

/** Why re-execution did not reach its target. */
export class HistoryError extends Error {
  override name = 'HistoryError';
}

export const DEFAULT_CHECKPOINT_INTERVAL = 4_000_000;

export class ExecutionHistory implements MachineHistoryHooks {
  private readonly checkpoints: Checkpoint[] = [];
  /** Per RAM page: the interval (checkpoint serial) whose undo log already holds it. */
  private readonly savedIn: Uint32Array;
  private serial = 0;
  private pending = true;
  private bytes = 0;
  private dropped = 0;
  private reexecuted = 0;
  private readonly interval: number;
  budgetBytes: number;
  /** Called after each restore (a debugger forgets where its last run was resumed). */
  onRestore: (() => void) | null = null;
  /** State outside the machine that goes back with it (a replayed recording's place in its inputs). */
  sideState: { save(): number[]; restore(saved: readonly number[]): void } | null = null;

  constructor(readonly machine: Machine, options: HistoryOptions) {
    if (!(options.budgetBytes > 0)) throw new RangeError(`history budget must be positive, got ${options.budgetBytes}`);
    this.budgetBytes = options.budgetBytes;
    this.interval = options.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
    this.savedIn = new Uint32Array(machine.ram.size / PAGE_BYTES);
    if (machine.history !== null) throw new Error('the machine records a history already');
    machine.history = this;
    machine.ram.beforeWrite = (offset, length) => this.beforeRamWrite(offset, length);
    this.watchDisks();
  }

  /** Disk blocks already in the open interval's undo log. */
  private readonly diskSaved = new Set<string>();

  /** Disks are memory too: a write copies the blocks it changes first (a disk plugged in later joins at the next checkpoint). */
  private watchDisks(): void {
    for (const { slot, disk } of this.machine.disks) {
      disk.beforeWrite = (sector, count) => {
        const current = this.checkpoints[this.checkpoints.length - 1];
        if (current === undefined || count <= 0) return;
        for (let block = Math.floor(sector / 8), last = Math.floor((sector + count - 1) / 8); block <= last; block++) {
          const key = `${slot}:${block}`;
          if (this.diskSaved.has(key)) continue;
          this.diskSaved.add(key);
          const content = new Uint8Array(DISK_BLOCK_BYTES);
          disk.readBlock(block, content);
          current.diskUndo.set(key, content);
          current.undoBytes += DISK_BLOCK_BYTES + 32;
          this.bytes += DISK_BLOCK_BYTES + 32;
        }
        if (this.bytes > this.budgetBytes) this.enforceBudget();
      };
    }
  }

  machineChanged(): void {
    this.clear();
  }

  /** Forgets everything recorded: history starts again at the next run (a snapshot restored, a disk plugged or pulled). */
  clear(): void {
    this.checkpoints.length = 0;
    this.diskSaved.clear();
    this.bytes = 0;
    this.serial++;
    this.pending = true;
  }

  /** Stops recording and frees the history. */
  close(): void {
    if (this.machine.history === this) this.machine.history = null;
    this.machine.ram.beforeWrite = null;
    for (const { disk } of this.machine.disks) disk.beforeWrite = null;
    this.checkpoints.length = 0;
    this.bytes = 0;
  }

  get statistics(): HistoryStatistics {
    return {
      checkpoints: this.checkpoints.length,
      bytes: this.bytes,
      budgetBytes: this.budgetBytes,
      oldest: this.checkpoints[0]?.position ?? this.position(),
      droppedCheckpoints: this.dropped,
      reexecutedSteps: this.reexecuted,
    };
  }

  /** Where the machine is now. */
  position(): HistoryPosition {
    return { steps: this.machine.harts.map(hartSteps) };
  }

  // ---- recording ------------------------------------------------------------------------------

  externalChange(): void {
    this.pending = true;
  }

  beforeRun(singleHart: number | undefined): void {
    const mode = singleHart ?? -1;
    const current = this.checkpoints[this.checkpoints.length - 1];
    if (current !== undefined && !this.pending) {
      if (current.mode === undefined) {
        current.mode = mode;
        return;
      }
      if (current.mode === mode && totalSteps(this.position()) - totalSteps(current.position) < this.interval) return;
    }
    this.checkpoint(mode);
  }

  private checkpoint(mode: RunMode): void {
    this.pending = false;
    // A disk hot-plugged since the last checkpoint is watched from here on.
    if (this.machine.disks.some((entry) => entry.disk.beforeWrite === null)) this.watchDisks();
    this.serial++;
    // A serial that wrapped would match stale marks: start them over.
    if (this.serial === 0xffff_ffff) {
      this.savedIn.fill(0);
      this.serial = 1;
    }
    this.checkpoints.push({
      position: this.position(), state: this.machine.saveState(), mode, side: this.sideState?.save(), undo: new Map(), diskUndo: new Map(), undoBytes: 0,
    });
    this.diskSaved.clear();
    this.bytes += CHECKPOINT_OVERHEAD_BYTES;
    // The next store to any page must translate again, so that its page is copied first.
    for (const mmu of this.machine.mmus) mmu.flush();
    this.enforceBudget();
  }

  private beforeRamWrite(offset: number, length: number): void {
    const current = this.checkpoints[this.checkpoints.length - 1];
    if (current === undefined || length <= 0) return;
    const ram = this.machine.ram;
    const last = Math.min(Math.floor((offset + length - 1) / PAGE_BYTES), this.savedIn.length - 1);
    for (let page = Math.max(0, Math.floor(offset / PAGE_BYTES)); page <= last; page++) {
      if (this.savedIn[page] === this.serial) continue;
      this.savedIn[page] = this.serial;
      const start = page * PAGE_BYTES;
      const content = isZeroPage(ram.words, start >> 2) ? null : ram.bytes.slice(start, start + PAGE_BYTES);
      current.undo.set(page, content);
      const size = content === null ? 16 : PAGE_BYTES + 16;
      current.undoBytes += size;
      this.bytes += size;
    }
    if (this.bytes > this.budgetBytes) this.enforceBudget();
  }

  private enforceBudget(): void {
    while (this.bytes > this.budgetBytes && this.checkpoints.length > 1) {
      const oldest = this.checkpoints.shift()!;
      this.bytes -= oldest.undoBytes + CHECKPOINT_OVERHEAD_BYTES;
      this.dropped++;
    }
    // The open interval alone outgrew the budget: a checkpoint at the next run lets it be dropped.
    if (this.bytes > this.budgetBytes) this.pending = true;
  }

  // ---- going back -----------------------------------------------------------------------------

  /**
   * The newest checkpoint from which re-executing lands on `target`: one before it (for a hart,
   * one where the hart had not taken that step yet: the point is right after it, however long
   * the hart then waited while others ran), or the oldest checkpoint when it sits exactly there.
   */
  private checkpointBefore(target: StepTarget): number {
    const before = (position: HistoryPosition): number =>
      'hartId' in target ? position.steps[target.hartId] - target.steps : totalSteps(position) - target.totalSteps;
    for (let index = this.checkpoints.length - 1; index >= 0; index--) if (before(this.checkpoints[index].position) < 0) return index;
    return this.checkpoints.length > 0 && before(this.checkpoints[0].position) === 0 ? 0 : -1;
  }

  /** The checkpoints' positions, oldest first. */
  get checkpointPositions(): readonly HistoryPosition[] {
    return this.checkpoints.map((checkpoint) => checkpoint.position);
  }

  /**
   * Puts the machine back to checkpoint `index`: RAM through the undo logs (newest first), then
   * the saved state. Later checkpoints are discarded: the future is re-executed from here.
   */
  restoreCheckpoint(index: number): void {
    const target = this.checkpoints[index];
    if (target === undefined) throw new HistoryError(`no checkpoint ${index} (history holds ${this.checkpoints.length})`);
    const ram = this.machine.ram;
    const translation = this.machine.translation;
    const disks = new Map(this.machine.disks.map((entry) => [entry.slot, entry.disk]));
    for (let newer = this.checkpoints.length - 1; newer >= index; newer--) {
      for (const [key, content] of this.checkpoints[newer].diskUndo) {
        const [slot, block] = key.split(':').map(Number);
        disks.get(slot)?.writeBlock(block, content);
      }
      for (const [page, content] of this.checkpoints[newer].undo) {
        const start = page * PAGE_BYTES;
        if (content === null) ram.bytes.fill(0, start, start + PAGE_BYTES);
        else ram.bytes.set(content, start);
        translation?.noteWrite(start, PAGE_BYTES);
      }
    }
    for (const discarded of this.checkpoints.splice(index + 1)) this.bytes -= discarded.undoBytes + CHECKPOINT_OVERHEAD_BYTES;
    this.bytes -= target.undoBytes;
    target.undo.clear();
    target.diskUndo.clear();
    this.diskSaved.clear();
    target.undoBytes = 0;
    this.machine.restoreOwnState(target.state);
    if (target.side !== undefined) this.sideState?.restore(target.side);
    // A new interval from here, in the mode this one ran in; pages are copied again as written.
    this.serial++;
    this.pending = false;
    for (const mmu of this.machine.mmus) mmu.flush();
    this.onRestore?.();
  }

  /** The run mode of checkpoint `index`'s interval (all harts when it never ran). */
  modeOf(index: number): RunMode {
    return this.checkpoints[index]?.mode ?? -1;
  }

  /**
   * Re-executes from the current point until `limit` (hart `hartId` at its step `steps`, or all
   * harts at `totalSteps` together), in `mode`, with the guest's output muted. `run` runs the
   * machine once (through the debugger when stops matter, which then go by: reverse continue
   * collects them). Returns false when the machine ended first or `interrupted` said to stop.
   */
  reexecute(limit: StepTarget, mode: RunMode, run: (mode: RunMode) => 'idle' | 'budget' | 'exit' | 'stop',
    interrupted: () => boolean = () => false): boolean {
    const machine = this.machine;
    const start = machine.totalSteps();
    const reached = (): boolean => ('hartId' in limit ? hartSteps(machine.harts[limit.hartId]) >= limit.steps : machine.totalSteps() >= limit.totalSteps);
    machine.replaying = true;
    machine.stepLimit = 'hartId' in limit
      ? { hartId: limit.hartId, steps: limit.steps, totalSteps: Infinity } : { hartId: 0, steps: Infinity, totalSteps: limit.totalSteps };
    try {
      while (!reached()) {
        if (interrupted()) return false;
        const result = run(mode);
        if (result === 'exit') return false;
        // A wait the first run slept through in wall time ended at the next timer event.
        if (result === 'idle') machine.advanceIdleTime(machine.nextTimerEventNanoseconds());
      }
      return 'hartId' in limit ? hartSteps(machine.harts[limit.hartId]) === limit.steps : machine.totalSteps() === limit.totalSteps;
    } finally {
      machine.stepLimit = { hartId: 0, steps: Infinity, totalSteps: Infinity };
      machine.replaying = false;
      this.reexecuted += machine.totalSteps() - start;
    }
  }

  /**
   * Lands on an earlier point: hart `hartId` right after its step `steps`, or the point where
   * all harts together had taken `totalSteps`. Restores the newest checkpoint before it and
   * re-executes. Returns false when history does not reach back that far.
   */
  goTo(target: StepTarget, run: (mode: RunMode) => 'idle' | 'budget' | 'exit' | 'stop', interrupted?: () => boolean): boolean {
    const index = this.checkpointBefore(target);
    if (index < 0) return false;
    this.restoreCheckpoint(index);
    return this.reexecute(target, this.modeOf(index), run, interrupted);
  }

  /** The index of the newest checkpoint strictly before the current point, or -1. */
  lastCheckpointBeforeNow(): number {
    const now = totalSteps(this.position());
    for (let index = this.checkpoints.length - 1; index >= 0; index--) if (totalSteps(this.checkpoints[index].position) < now) return index;
    return -1;
  }
}

function isZeroPage(words: Int32Array, firstWord: number): boolean {
  for (let word = firstWord, end = firstWord + PAGE_BYTES / 4; word < end; word++) if (words[word] !== 0) return false;
  return true;
}
