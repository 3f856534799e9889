// The debugger API the adapter and the CLI use: code breakpoints (virtual or physical),
// watchpoints, event breakpoints on privilege transitions and traps, console-string stops,
// stepping, pause and run-until, and stop reasons. No DAP types here.
//
// Armed nothing, it costs nothing: code breakpoints and watchpoints keep their pages out of
// the TLBs, so only instructions and accesses on those pages take the slow path where they
// are checked; event breakpoints are checked in the monitor's single trap and xRET paths.

import { Privilege, privilegeName } from '../cpu/csr-numbers';
import type { Hart } from '../cpu/hart';
import type { CodeBreakpointHook, MemoryWatcher } from '../cpu/mmu';
import { AccessKind } from '../cpu/pmp';
import type { Machine, MachineExit } from '../machine/machine';
import type { MonitorObserver, PrivilegeChangeEvent, TrapEvent } from '../monitor/monitor';
import { TrapHistory, TrapRecordKind } from './trap-history';

export type PrivilegeName = 'U' | 'S' | 'M';
export type PrivilegePattern = PrivilegeName | '*';

export interface CodeBreakpointSpec {
  address: bigint;
  /** Match the physical address of the instruction instead of its virtual address. */
  physical?: boolean;
}

export type WatchAccess = 'read' | 'write' | 'readWrite';

export interface WatchpointSpec {
  address: bigint;
  size: number;
  access: WatchAccess;
  physical?: boolean;
}

export type EventBreakpointSpec =
  | { kind: 'privilege'; from: PrivilegePattern; to: PrivilegePattern }
  | { kind: 'trap'; interrupt: boolean; code: number | '*'; hartId?: number };

export type StopReason =
  | { reason: 'breakpoint'; hartId: number; pc: bigint; breakpointId: number }
  | { reason: 'watchpoint'; hartId: number; pc: bigint; breakpointId: number; address: bigint; access: 'read' | 'write'; size: number }
  | {
    reason: 'trap'; hartId: number; pc: bigint; breakpointId: number; interrupt: boolean; cause: number;
    tval: bigint; epc: bigint; from: PrivilegeName; to: PrivilegeName;
  }
  | {
    reason: 'privilege'; hartId: number; pc: bigint; breakpointId: number; from: PrivilegeName; to: PrivilegeName;
    via: 'trap' | 'mret' | 'sret'; cause?: number; interrupt?: boolean; tval?: bigint; epc?: bigint;
  }
  | { reason: 'console'; hartId: number; pc: bigint; breakpointId: number; text: string }
  | { reason: 'step'; hartId: number; pc: bigint }
  | { reason: 'pause'; hartId: number; pc: bigint }
  | { reason: 'exit'; exit: MachineExit };

interface CodeBreakpoint extends CodeBreakpointSpec { id: number }
interface Watchpoint extends WatchpointSpec { id: number }
type EventBreakpoint = EventBreakpointSpec & { id: number };
interface ConsoleBreakpoint { id: number; text: string }

export class Debugger implements CodeBreakpointHook, MemoryWatcher, MonitorObserver {
  /** Pages holding code breakpoints (virtual page numbers; physical page addresses), checked on TLB fills only. */
  private readonly virtualBreakpointPages = new Set<number>();
  private readonly physicalBreakpointPages = new Set<number>();
  private readonly codeBreakpoints = new Map<number, CodeBreakpoint>();
  private readonly watchpoints = new Map<number, Watchpoint>();
  private readonly eventBreakpoints = new Map<number, EventBreakpoint>();
  private readonly consoleBreakpoints = new Map<number, ConsoleBreakpoint>();
  private nextId = 1;
  /** The reason recorded by a hook during the current run. */
  private pendingStop: StopReason | null = null;
  /**
   * Where each hart stood when the run resumed from its last stop. A code breakpoint there
   * lets that one instruction execute (resuming from it); matching on pc and retired count
   * rather than "the next check" keeps it from swallowing a later hit, since checks only
   * happen on fetches that miss the TLB, and from skipping other harts' breakpoints.
   */
  private resumePoints: Array<{ pc: bigint; retired: number }> = [];
  /** The last continue ran out of budget: the next one carries on the same resume. */
  private resumingSlicedRun = false;
  /** The hart a step runs, whose traps end the step (a trap counts as one step), or -1. */
  private steppingHart = -1;
  private stepTrapped = false;
  private consoleTail = '';
  private removeConsoleListener: (() => void) | null = null;
  /** The last traps and privilege-changing returns (the trap timeline); a few stores per trap. */
  readonly trapHistory = new TrapHistory();

  constructor(readonly machine: Machine) {
    machine.setMonitorObserver(this);
  }

  // ---- breakpoints ------------------------------------------------------------------------

  addCodeBreakpoint(spec: CodeBreakpointSpec): number {
    const id = this.nextId++;
    this.codeBreakpoints.set(id, { ...spec, address: BigInt.asUintN(64, spec.address), id });
    this.rebuildCodeFilter();
    return id;
  }

  addWatchpoint(spec: WatchpointSpec): number {
    if (!Number.isInteger(spec.size) || spec.size <= 0) throw new Error(`watchpoint size must be a positive integer, got ${spec.size}`);
    const id = this.nextId++;
    this.watchpoints.set(id, { ...spec, address: BigInt.asUintN(64, spec.address), id });
    this.machine.setMemoryWatcher(this);
    return id;
  }

  addEventBreakpoint(spec: EventBreakpointSpec): number {
    const id = this.nextId++;
    this.eventBreakpoints.set(id, { ...spec, id } as EventBreakpoint);
    return id;
  }

  /** Stops when the guest's console output contains `text`. */
  addConsoleBreakpoint(text: string): number {
    if (text.length === 0) throw new Error('console breakpoint text must not be empty');
    const id = this.nextId++;
    this.consoleBreakpoints.set(id, { id, text });
    if (this.removeConsoleListener === null) {
      this.removeConsoleListener = this.machine.onConsoleOutput((byte) => this.onConsoleByte(byte));
    }
    return id;
  }

  removeBreakpoint(id: number): boolean {
    const removed = this.codeBreakpoints.delete(id) || this.watchpoints.delete(id) ||
      this.eventBreakpoints.delete(id) || this.consoleBreakpoints.delete(id);
    this.rebuildCodeFilter();
    this.machine.setMemoryWatcher(this.watchpoints.size > 0 ? this : null);
    if (this.consoleBreakpoints.size === 0 && this.removeConsoleListener !== null) {
      this.removeConsoleListener();
      this.removeConsoleListener = null;
    }
    return removed;
  }

  clearAll(): void {
    for (const id of [...this.codeBreakpoints.keys(), ...this.watchpoints.keys(), ...this.eventBreakpoints.keys(), ...this.consoleBreakpoints.keys()]) {
      this.removeBreakpoint(id);
    }
  }

  private rebuildCodeFilter(): void {
    this.virtualBreakpointPages.clear();
    this.physicalBreakpointPages.clear();
    for (const breakpoint of this.codeBreakpoints.values()) {
      const page = Number(breakpoint.address >> 12n);
      if (breakpoint.physical) this.physicalBreakpointPages.add(page * 4096);
      else this.virtualBreakpointPages.add(page);
    }
    this.machine.setCodeBreakpoints(this.codeBreakpoints.size > 0 ? this : null);
  }

  /** Exact per-page check, made when a translation enters the fetch TLB (not per instruction). */
  mayHaveBreakpoint(virtualPageLo: number, virtualPageHi: number, physicalPage: number): boolean {
    const virtualPage = (virtualPageHi >>> 0) * 2 ** 20 + (virtualPageLo >>> 0);
    return this.virtualBreakpointPages.has(virtualPage) || this.physicalBreakpointPages.has(physicalPage);
  }

  // ---- hooks (called by the machine) ------------------------------------------------------

  shouldStop(hart: Hart): boolean {
    const pc = hart.pc;
    const resume = this.resumePoints[hart.hartId];
    if (resume !== undefined && resume.pc === pc && resume.retired === hart.instructionsRetired) return false;
    let physical: bigint | undefined;
    for (const breakpoint of this.codeBreakpoints.values()) {
      let hit: boolean;
      if (breakpoint.physical) {
        physical ??= this.translateWithoutSideEffects(hart, pc);
        hit = physical === breakpoint.address;
      } else {
        hit = pc === breakpoint.address;
      }
      if (hit) {
        this.pendingStop = { reason: 'breakpoint', hartId: hart.hartId, pc, breakpointId: breakpoint.id };
        this.machine.requestStop(hart.hartId);
        return true;
      }
    }
    return false;
  }

  isWatched(physicalPage: number, virtualPageLo: number, virtualPageHi: number): boolean {
    const virtualPage = (BigInt(virtualPageHi >>> 0) << 20n) | BigInt(virtualPageLo >>> 0);
    for (const watchpoint of this.watchpoints.values()) {
      const first = watchpoint.address >> 12n;
      const last = (watchpoint.address + BigInt(watchpoint.size) - 1n) >> 12n;
      const page = watchpoint.physical ? BigInt(Math.floor(physicalPage / 4096)) : virtualPage;
      if (page >= first && page <= last) return true;
    }
    return false;
  }

  onAccess(hart: Hart, virtualLo: number, virtualHi: number, physicalAddress: number, size: number, kind: AccessKind): void {
    const virtualAddress = (BigInt(virtualHi >>> 0) << 32n) | BigInt(virtualLo >>> 0);
    const access = kind === AccessKind.Write ? 'write' : 'read';
    for (const watchpoint of this.watchpoints.values()) {
      if (watchpoint.access !== 'readWrite' && watchpoint.access !== access) continue;
      const address = watchpoint.physical ? BigInt(physicalAddress) : virtualAddress;
      if (address < watchpoint.address + BigInt(watchpoint.size) && watchpoint.address < address + BigInt(size)) {
        if (this.pendingStop === null) {
          this.pendingStop = {
            reason: 'watchpoint', hartId: hart.hartId, pc: hart.pc, breakpointId: watchpoint.id, address, access, size,
          };
        }
        this.machine.requestStop(hart.hartId);
        return;
      }
    }
  }

  onTrap(hart: Hart, event: TrapEvent): boolean {
    this.trapHistory.record(
      hart.hartId, event.interrupt ? TrapRecordKind.Interrupt : TrapRecordKind.Exception, event.code, event.from, event.to,
      event.epc, event.tval, hart.virtualNanoseconds, hart.instructionsRetired,
    );
    for (const breakpoint of this.eventBreakpoints.values()) {
      if (breakpoint.kind !== 'trap') continue;
      if (breakpoint.interrupt !== event.interrupt) continue;
      if (breakpoint.code !== '*' && breakpoint.code !== event.code) continue;
      if (breakpoint.hartId !== undefined && breakpoint.hartId !== hart.hartId) continue;
      this.pendingStop ??= {
        reason: 'trap', hartId: hart.hartId, pc: hart.pc, breakpointId: breakpoint.id, interrupt: event.interrupt,
        cause: event.code, tval: event.tval, epc: event.epc, from: privilegeName(event.from), to: privilegeName(event.to),
      };
      return true;
    }
    // A step that traps ends on the first instruction of the handler.
    if (hart.hartId === this.steppingHart) {
      this.stepTrapped = true;
      return true;
    }
    return false;
  }

  onPrivilegeChange(hart: Hart, event: PrivilegeChangeEvent): boolean {
    if (event.via !== 'trap') {
      this.trapHistory.record(
        hart.hartId, event.via === 'mret' ? TrapRecordKind.Mret : TrapRecordKind.Sret, -1, event.from, event.to,
        hart.pc, 0n, hart.virtualNanoseconds, hart.instructionsRetired,
      );
    }
    const from = privilegeName(event.from), to = privilegeName(event.to);
    for (const breakpoint of this.eventBreakpoints.values()) {
      if (breakpoint.kind !== 'privilege') continue;
      if (breakpoint.from !== '*' && breakpoint.from !== from) continue;
      if (breakpoint.to !== '*' && breakpoint.to !== to) continue;
      this.pendingStop ??= {
        reason: 'privilege', hartId: hart.hartId, pc: hart.pc, breakpointId: breakpoint.id, from, to, via: event.via,
        cause: event.trap?.code, interrupt: event.trap?.interrupt, tval: event.trap?.tval, epc: event.trap?.epc,
      };
      return true;
    }
    return false;
  }

  private onConsoleByte(byte: number): void {
    this.consoleTail = (this.consoleTail + String.fromCharCode(byte)).slice(-4096);
    for (const breakpoint of this.consoleBreakpoints.values()) {
      if (this.consoleTail.endsWith(breakpoint.text)) {
        const hart = this.machine.harts[0];
        this.pendingStop ??= { reason: 'console', hartId: hart.hartId, pc: hart.pc, breakpointId: breakpoint.id, text: breakpoint.text };
        this.machine.requestStop(hart.hartId);
      }
    }
  }

  /** Physical address of a virtual pc using the current translation, without A/D updates or faults. */
  private translateWithoutSideEffects(hart: Hart, virtualAddress: bigint): bigint | undefined {
    return walkForDebugger(this.machine, hart, virtualAddress);
  }

  // ---- execution --------------------------------------------------------------------------

  /**
   * Runs until a breakpoint or event stops the machine, the guest exits, or `budget`
   * instructions retire on the first hart (then returns undefined so the caller can yield).
   */
  continue(budget = Number.MAX_SAFE_INTEGER, singleHart?: number): StopReason | undefined {
    this.pendingStop = null;
    // Resuming from a breakpoint: let the instruction under it execute.
    if (!this.resumingSlicedRun) this.recordResumePoints();
    const result = this.machine.run(budget, singleHart);
    const stop = this.toStopReason(result.kind === 'exit' ? result : result.kind === 'stop' ? result : undefined);
    this.resumingSlicedRun = stop === undefined;
    return stop;
  }

  /**
   * Executes `count` instructions on one hart (the others frozen); events may stop it earlier.
   * A trap counts as one step and lands on the first instruction of its handler (the
   * trapping instruction does not retire).
   */
  step(hartId = 0, count = 1): StopReason {
    this.pendingStop = null;
    const hart = this.machine.harts[hartId];
    if (hart === undefined) throw new Error(`no hart ${hartId}`);
    this.resumingSlicedRun = false;
    this.recordResumePoints();
    this.steppingHart = hartId;
    try {
      let remaining = count;
      // A hart asleep in wfi makes no progress: bound the loop by attempts too.
      for (let attempts = 0; remaining > 0 && attempts < count * 4 + 8; attempts++) {
        const before = hart.instructionsRetired;
        this.stepTrapped = false;
        const result = this.machine.run(remaining, hartId);
        remaining -= hart.instructionsRetired - before;
        if (result.kind === 'exit') return { reason: 'exit', exit: result.exit };
        if (this.pendingStop !== null) return this.toStopReason(result.kind === 'stop' ? result : undefined)!;
        if (this.stepTrapped) remaining--;
        else if (result.kind === 'stop') return { reason: 'pause', hartId, pc: hart.pc };
      }
    } finally {
      this.steppingHart = -1;
    }
    return { reason: 'step', hartId, pc: hart.pc };
  }

  /** Runs until hart `hartId`'s pc equals `address` (virtual), or another stop. */
  runUntil(address: bigint, hartId = 0, budget = Number.MAX_SAFE_INTEGER): StopReason | undefined {
    const id = this.addCodeBreakpoint({ address });
    try {
      const first = this.machine.harts[0];
      const budgetEnd = first.instructionsRetired + budget;
      for (;;) {
        const remaining = budgetEnd - first.instructionsRetired;
        if (remaining <= 0) return undefined;
        const stop = this.continue(remaining);
        if (stop?.reason !== 'breakpoint' || stop.breakpointId !== id) return stop;
        if (stop.hartId === hartId) return { reason: 'step', hartId, pc: stop.pc };
        // Another hart passed the address: carry on.
      }
    } finally {
      this.removeBreakpoint(id);
    }
  }

  /**
   * The machine was moved to another point (history went back): the next run starts afresh
   * there, letting the instruction under a breakpoint at the pc run, as after any stop.
   */
  moved(): void {
    this.pendingStop = null;
    this.resumingSlicedRun = false;
    this.resumePoints = [];
  }

  private recordResumePoints(): void {
    this.resumePoints = this.machine.harts.map((hart) => ({ pc: hart.pc, retired: hart.instructionsRetired }));
  }

  /** Asks a running machine to stop; the run returns with reason 'pause'. */
  pause(): void {
    this.machine.requestStop(0);
  }

  private toStopReason(result: { kind: 'exit'; exit: MachineExit } | { kind: 'stop'; hartId: number } | undefined): StopReason | undefined {
    if (result === undefined) return this.pendingStop ?? undefined;
    if (result.kind === 'exit') return { reason: 'exit', exit: result.exit };
    if (this.pendingStop !== null) {
      const stop = this.pendingStop;
      // The stop lands before the next instruction: report the pc it will execute.
      if (stop.reason !== 'exit') (stop as { pc: bigint }).pc = this.machine.harts[stop.hartId].pc;
      return stop;
    }
    const hart = this.machine.harts[result.hartId];
    return { reason: 'pause', hartId: result.hartId, pc: hart.pc };
  }
}

/** Describes a privilege number as a letter. */
export const privilegeLetter = (privilege: Privilege): PrivilegeName => privilegeName(privilege);

/**
 * Side-effect-free page-table walk for tools: the physical address a virtual address maps to
 * for the hart's current satp, or undefined when it is not mapped.
 */
export function walkForDebugger(machine: Machine, hart: Hart, virtualAddress: bigint): bigint | undefined {
  const mode = hart.satpHi >>> 28;
  if (mode === 0 || hart.privilege === Privilege.Machine) return virtualAddress <= 0xffffffffn ? virtualAddress : undefined;
  const levels = mode === 10 ? 5 : mode === 9 ? 4 : mode === 8 ? 3 : 0;
  let table = (BigInt(hart.satpHi & 0xfff) << 32n | BigInt(hart.satpLo >>> 0)) << 12n;
  for (let level = levels - 1; level >= 0; level--) {
    const index = (virtualAddress >> BigInt(12 + 9 * level)) & 0x1ffn;
    const bytes = machine.readPhysical(table + index * 8n, 8);
    if (bytes === undefined) return undefined;
    const pte = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    if ((pte & 1n) === 0n) return undefined;
    let ppn = (pte >> 10n) & ((1n << 44n) - 1n);
    if ((pte & 0xan) !== 0n) {
      // Svnapot: a 64 KiB page takes the low four VPN bits from the address.
      if (level === 0 && (pte >> 63n) === 1n && hart.cpu.svnapot) ppn = (ppn & ~0xfn) | ((virtualAddress >> 12n) & 0xfn);
      const pageBits = BigInt(12 + 9 * level);
      return ((ppn << 12n) & ~((1n << pageBits) - 1n)) | (virtualAddress & ((1n << pageBits) - 1n));
    }
    table = ppn << 12n;
  }
  return undefined;
}
