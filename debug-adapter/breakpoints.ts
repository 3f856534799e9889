// Every kind of breakpoint the client sets, mapped onto the debugger's code breakpoints,
// watchpoints and event breakpoints: source lines, functions, instruction addresses, data
// (watchpoints), and the ring/trap filters. Conditions, hit counts and logpoints are
// decided here when the machine stops; a breakpoint whose address is not mapped yet stays
// armed (the debugger matches the pc) and is reported unverified until it becomes reachable.

import type { DebugProtocol } from '@vscode/debugprotocol';
import type { PrivilegeName, StopReason, WatchAccess } from '../vmm-core/debug/debugger';
import { filterEvent, filterHitDescription, filterHitSummary, filterLabel } from './filters';
import type { ExceptionStop, ReportedStop } from './run-loop';
import { formatMemoryReference, hex, type SpacedAddress, type Target } from './target';

/** Conditions, hit-count checks and logpoint messages are expressions evaluated on a hart. */
export interface ExpressionService {
  /** Throws an Error with a readable message when `expression` does not parse. */
  check(expression: string): void;
  /** The value of `expression` on `hartId`; `names` adds variables (cause, tval, ...). */
  evaluate(expression: string, hartId: number, names?: ReadonlyMap<string, bigint>): bigint;
  /** A logpoint message with every {expression} replaced by its value. */
  interpolate(template: string, hartId: number): string;
}

export interface BreakpointEvents {
  /** A breakpoint's verified state or message changed (pending ones becoming reachable). */
  changed(breakpoint: DebugProtocol.Breakpoint): void;
  /** A logpoint fired, or a condition could not be evaluated. */
  log(text: string, category: 'console' | 'stderr'): void;
}

type CodeKind = 'source' | 'function' | 'instruction';

/** Common to every breakpoint with conditions. */
interface Conditions {
  readonly condition?: string;
  readonly hitCondition?: string;
  readonly logMessage?: string;
  hits: number;
}

interface CodeBreakpoint extends Conditions {
  readonly id: number;
  readonly kind: CodeKind;
  /** Where it is armed (several for a line with split or inlined code); empty when unresolved. */
  readonly addresses: readonly SpacedAddress[];
  /** Whether each address is reachable now; all reachable = verified. */
  reachable: boolean;
  readonly message?: string;
  readonly source?: DebugProtocol.Source;
  readonly line?: number;
  readonly instructionReference?: string;
}

interface DataBreakpoint extends Conditions {
  readonly id: number;
  readonly address: SpacedAddress;
  readonly size: number;
  readonly access: WatchAccess;
  readonly debuggerId: number;
}

interface ArmedFilter {
  readonly id: string;
  readonly condition?: string;
  readonly debuggerId: number;
}

/** A source line resolved to runtime addresses by the symbol files. */
export interface ResolvedLine {
  readonly addresses: readonly bigint[];
  /** The line the breakpoint moved to (the nearest line with code). */
  readonly line: number;
}

export class BreakpointError extends Error {
  override name = 'BreakpointError';
}

const HIT_CONDITION = /^\s*(==|>=|>|%|<=|<)?\s*([0-9]+)\s*$/;

/** Parses "5", ">= 5", "% 3" (VS Code's hit count field); throws for anything else. */
export function parseHitCondition(text: string): (hits: number) => boolean {
  const match = HIT_CONDITION.exec(text);
  if (match === null) throw new BreakpointError(`hit count '${text}' must be a number, optionally after ==, >, >=, <, <= or %`);
  const count = Number(match[2]);
  switch (match[1]) {
    case '>': return (hits) => hits > count;
    case '>=': return (hits) => hits >= count;
    case '<': return (hits) => hits < count;
    case '<=': return (hits) => hits <= count;
    case '%': return (hits) => count > 0 && hits % count === 0;
    default: return (hits) => hits === count;
  }
}

const DATA_ID = /^(phys:|virt:)?(0x[0-9a-f]+)\/([0-9]+)$/i;

/** The dataId of a watchable range: "0x80001000/8" or "phys:0x80001000/8". */
export function dataBreakpointId(address: SpacedAddress, size: number): string {
  return `${formatMemoryReference(address)}/${size}`;
}

export function parseDataBreakpointId(dataId: string): { address: SpacedAddress; size: number } | undefined {
  const match = DATA_ID.exec(dataId);
  if (match === null) return undefined;
  const size = Number(match[3]);
  if (size <= 0) return undefined;
  return { address: { address: BigInt(match[2]), space: match[1]?.toLowerCase() === 'phys:' ? 'physical' : 'virtual' }, size };
}

export class Breakpoints {
  private nextId = 1;
  /** Source breakpoints per source path, function and instruction breakpoints as sets. */
  private readonly bySource = new Map<string, CodeBreakpoint[]>();
  private functionBreakpoints: CodeBreakpoint[] = [];
  private instructionBreakpoints: CodeBreakpoint[] = [];
  private dataBreakpoints: DataBreakpoint[] = [];
  private filters: ArmedFilter[] = [];
  /** One debugger code breakpoint per armed address ("virtual:0x..."), shared by the breakpoints there. */
  private readonly armed = new Map<string, { debuggerId: number; address: SpacedAddress; users: Set<number> }>();

  constructor(
    private readonly target: Target,
    private readonly expressions: ExpressionService,
    private readonly events: BreakpointEvents,
    /** The hart whose page tables decide whether a virtual address is reachable. */
    private readonly focusHart: () => number,
  ) {}

  // ---- setting ----------------------------------------------------------------------------

  setSourceBreakpoints(
    path: string, requested: readonly DebugProtocol.SourceBreakpoint[], source: DebugProtocol.Source,
    resolve: (line: number) => ResolvedLine | undefined,
  ): DebugProtocol.Breakpoint[] {
    for (const old of this.bySource.get(path) ?? []) this.release(old);
    const created = requested.map((wanted) => {
      const conditions = this.checkConditions(wanted);
      const resolved = conditions.problem === undefined ? resolve(wanted.line) : undefined;
      const message = conditions.problem
        ?? (resolved === undefined ? `no code for line ${wanted.line} in ${source.name ?? path} (not in the debug information of any symbol file)` : undefined);
      return this.create('source', resolved?.addresses.map((address) => ({ address, space: 'virtual' as const })) ?? [], wanted, {
        message, source, line: resolved?.line ?? wanted.line,
      });
    });
    this.bySource.set(path, created);
    return created.map((breakpoint) => this.describe(breakpoint));
  }

  setFunctionBreakpoints(
    requested: readonly DebugProtocol.FunctionBreakpoint[],
    resolve: (name: string) => { address: bigint; source?: DebugProtocol.Source; line?: number } | undefined,
  ): DebugProtocol.Breakpoint[] {
    for (const old of this.functionBreakpoints) this.release(old);
    this.functionBreakpoints = requested.map((wanted) => {
      const conditions = this.checkConditions(wanted);
      const name = wanted.name.trim();
      // "*0x80001000" is an address, as in gdb.
      const address = /^\*\s*(0x[0-9a-f]+|[0-9]+)$/i.exec(name);
      const resolved = conditions.problem !== undefined ? undefined
        : address !== null ? { address: BigInt(address[1]) } : resolve(name);
      const message = conditions.problem ?? (resolved === undefined ? `no function or symbol '${name}' in the symbol files` : undefined);
      return this.create('function', resolved === undefined ? [] : [{ address: resolved.address, space: 'virtual' }], wanted, {
        message, source: resolved?.source, line: resolved?.line,
      });
    });
    return this.functionBreakpoints.map((breakpoint) => this.describe(breakpoint));
  }

  setInstructionBreakpoints(
    requested: readonly DebugProtocol.InstructionBreakpoint[], parse: (reference: string) => SpacedAddress | undefined,
  ): DebugProtocol.Breakpoint[] {
    for (const old of this.instructionBreakpoints) this.release(old);
    this.instructionBreakpoints = requested.map((wanted) => {
      const conditions = this.checkConditions(wanted);
      const base = parse(wanted.instructionReference);
      const address = base === undefined ? undefined : { ...base, address: BigInt.asUintN(64, base.address + BigInt(wanted.offset ?? 0)) };
      const message = conditions.problem ?? (address === undefined ? `'${wanted.instructionReference}' is not an address (0x..., or phys:0x... for a physical one)` : undefined);
      return this.create('instruction', address === undefined || conditions.problem !== undefined ? [] : [address], wanted, {
        message, instructionReference: address === undefined ? wanted.instructionReference : formatMemoryReference(address),
      });
    });
    return this.instructionBreakpoints.map((breakpoint) => this.describe(breakpoint));
  }

  setDataBreakpoints(requested: readonly DebugProtocol.DataBreakpoint[]): DebugProtocol.Breakpoint[] {
    for (const old of this.dataBreakpoints) this.target.debug.removeBreakpoint(old.debuggerId);
    this.dataBreakpoints = [];
    return requested.map((wanted): DebugProtocol.Breakpoint => {
      const id = this.nextId++;
      const parsed = parseDataBreakpointId(wanted.dataId);
      if (parsed === undefined) return { id, verified: false, message: `'${wanted.dataId}' is not a data breakpoint id from dataBreakpointInfo` };
      const conditions = this.checkConditions(wanted);
      if (conditions.problem !== undefined) return { id, verified: false, message: conditions.problem };
      const access: WatchAccess = wanted.accessType ?? 'write';
      const debuggerId = this.target.debug.addWatchpoint({
        address: parsed.address.address, size: parsed.size, access, physical: parsed.address.space === 'physical',
      });
      this.dataBreakpoints.push({
        id, address: parsed.address, size: parsed.size, access, debuggerId, hits: 0,
        condition: wanted.condition, hitCondition: wanted.hitCondition,
      });
      return { id, verified: true, message: `${access} of ${formatMemoryReference(parsed.address)}, ${parsed.size} bytes` };
    });
  }

  /** Arms ring/trap filters; throws BreakpointError for an id the adapter does not offer. */
  setFilters(filterIds: readonly string[], options: readonly DebugProtocol.ExceptionFilterOptions[]): DebugProtocol.Breakpoint[] {
    const wanted: Array<{ id: string; condition?: string }> = [
      ...filterIds.map((id) => ({ id })),
      ...options.map((option) => ({ id: option.filterId, condition: option.condition })),
    ];
    const unknown = wanted.filter((filter) => typeof filter.id !== 'string' || filterEvent(filter.id) === undefined);
    if (unknown.length > 0) {
      throw new BreakpointError(`unknown exception filter${unknown.length > 1 ? 's' : ''} ${unknown.map((filter) => `'${String(filter.id)}'`).join(', ')} (see the adapter's exceptionBreakpointFilters: privilege:U->S, exception:13, interrupt:5, ...)`);
    }
    for (const old of this.filters) this.target.debug.removeBreakpoint(old.debuggerId);
    this.filters = [];
    return wanted.map((filter): DebugProtocol.Breakpoint => {
      const id = this.nextId++;
      const condition = filter.condition?.trim() === '' ? undefined : filter.condition;
      if (condition !== undefined) {
        try {
          this.expressions.check(condition);
        } catch (error) {
          return { id, verified: false, message: `condition of ${filterLabel(filter.id)}: ${(error as Error).message}` };
        }
      }
      const debuggerId = this.target.debug.addEventBreakpoint(filterEvent(filter.id)!);
      this.filters.push({ id: filter.id, condition, debuggerId });
      return { id, verified: true };
    });
  }

  /** Disarms everything (an attached session leaving the machine to the CLI). */
  clearAll(): void {
    for (const breakpoint of this.allCode()) this.release(breakpoint);
    this.bySource.clear();
    this.functionBreakpoints = [];
    this.instructionBreakpoints = [];
    for (const breakpoint of this.dataBreakpoints) this.target.debug.removeBreakpoint(breakpoint.debuggerId);
    this.dataBreakpoints = [];
    for (const filter of this.filters) this.target.debug.removeBreakpoint(filter.debuggerId);
    this.filters = [];
  }

  // ---- stops ------------------------------------------------------------------------------

  /** Decides whether a debugger stop is reported: conditions, hit counts, logpoints. */
  review(stop: StopReason): ReportedStop | undefined {
    switch (stop.reason) {
      case 'breakpoint': return this.reviewCode(stop.hartId, stop.pc);
      case 'watchpoint': return this.reviewData(stop);
      case 'trap': case 'privilege': return this.reviewEvent(stop);
      default: return undefined;
    }
  }

  /** Code breakpoints at `pc` on `hartId` (virtual pc, or the physical address it maps to). */
  private reviewCode(hartId: number, pc: bigint): ReportedStop | undefined {
    const here = this.breakpointsAt(hartId, pc);
    const hit: CodeBreakpoint[] = [];
    for (const breakpoint of here) {
      if (this.conditionsHold(breakpoint, hartId)) hit.push(breakpoint);
    }
    if (hit.length === 0) return undefined;
    const kind = hit[0].kind;
    return {
      reason: kind === 'source' ? 'breakpoint' : kind === 'function' ? 'function breakpoint' : 'instruction breakpoint',
      hartId,
      description: `${kind === 'source' ? 'Breakpoint' : kind === 'function' ? 'Function breakpoint' : 'Instruction breakpoint'} at ${hex(pc)}`,
      hitBreakpointIds: hit.map((breakpoint) => breakpoint.id),
    };
  }

  /** The user breakpoints armed at `pc` (used at launch for a breakpoint on the first instruction too). */
  breakpointsAt(hartId: number, pc: bigint): CodeBreakpoint[] {
    const virtualEntry = this.armed.get(`virtual:${pc}`);
    const physical = this.target.translate(hartId, pc);
    const physicalEntry = physical === undefined ? undefined : this.armed.get(`physical:${physical}`);
    const ids = new Set([...(virtualEntry?.users ?? []), ...(physicalEntry?.users ?? [])]);
    return this.allCode().filter((breakpoint) => ids.has(breakpoint.id));
  }

  private reviewData(stop: Extract<StopReason, { reason: 'watchpoint' }>): ReportedStop | undefined {
    const breakpoint = this.dataBreakpoints.find((candidate) => candidate.debuggerId === stop.breakpointId);
    if (breakpoint === undefined || !this.conditionsHold(breakpoint, stop.hartId)) return undefined;
    return {
      reason: 'data breakpoint',
      hartId: stop.hartId,
      description: `Data breakpoint: ${stop.access} of ${stop.size} byte${stop.size === 1 ? '' : 's'} at ${hex(stop.address)}${breakpoint.address.space === 'physical' ? ' (physical)' : ''}`,
      hitBreakpointIds: [breakpoint.id],
    };
  }

  private reviewEvent(stop: Extract<StopReason, { reason: 'trap' | 'privilege' }>): ReportedStop | undefined {
    const trap = stop.reason === 'trap' || stop.cause !== undefined
      ? { interrupt: stop.interrupt ?? false, cause: stop.cause!, tval: stop.tval ?? 0n, epc: stop.epc ?? 0n }
      : undefined;
    const via = stop.reason === 'trap' ? 'trap' : stop.via;
    for (const filter of this.filters) {
      const event = filterEvent(filter.id)!;
      let matches: boolean;
      if (event.kind === 'trap') {
        matches = trap !== undefined && trap.interrupt === event.interrupt && (event.code === '*' || event.code === trap.cause);
      } else {
        matches = stop.from !== stop.to && (event.from === '*' || event.from === stop.from) && (event.to === '*' || event.to === stop.to);
      }
      if (!matches) continue;
      if (filter.condition !== undefined) {
        const names = new Map<string, bigint>([
          ['hart', BigInt(stop.hartId)], ['from', privilegeNumber(stop.from)], ['to', privilegeNumber(stop.to)],
          ['cause', BigInt(trap?.cause ?? -1)], ['tval', trap?.tval ?? 0n], ['epc', trap?.epc ?? 0n],
          ['interrupt', trap?.interrupt === true ? 1n : 0n],
        ]);
        if (!this.conditionTrue(filter.condition, stop.hartId, names, filterLabel(filter.id))) continue;
      }
      const exception: ExceptionStop = {
        filterId: filter.id,
        label: filterLabel(filter.id),
        description: filterHitDescription(stop.from, stop.to, via, trap),
        interrupt: trap?.interrupt, cause: trap?.cause, tval: trap?.tval, epc: trap?.epc,
        from: stop.from, to: stop.to, via,
      };
      return { reason: 'exception', hartId: stop.hartId, description: filterHitSummary(stop.from, stop.to, via, trap), text: exception.label, exception };
    }
    return undefined;
  }

  private conditionsHold(breakpoint: Conditions & { id: number }, hartId: number): boolean {
    if (breakpoint.condition !== undefined && breakpoint.condition.trim() !== '') {
      if (!this.conditionTrue(breakpoint.condition, hartId, undefined, `breakpoint ${breakpoint.id}`)) return false;
    }
    if (this.quietCandidates !== null) {
      // Searching history: logpoints never stop; hit counts are decided afterwards (reverse.ts).
      if (breakpoint.logMessage !== undefined) return false;
      this.quietCandidates.push(breakpoint.id);
      return true;
    }
    breakpoint.hits++;
    if (breakpoint.hitCondition !== undefined && breakpoint.hitCondition.trim() !== '') {
      if (!parseHitCondition(breakpoint.hitCondition)(breakpoint.hits)) return false;
    }
    if (breakpoint.logMessage !== undefined) {
      let text: string;
      try {
        text = this.expressions.interpolate(breakpoint.logMessage, hartId);
      } catch (error) {
        text = `${breakpoint.logMessage} (${(error as Error).message})`;
      }
      this.events.log(text.endsWith('\n') ? text : `${text}\n`, 'console');
      return false;
    }
    return true;
  }

  /** Ids of the breakpoints whose conditions held at the stop under quiet review; null outside it. */
  private quietCandidates: number[] | null = null;

  /**
   * Reviews a stop met while re-executing history: conditions are evaluated as a forward run
   * would, but nothing is logged, no hit is counted and hit conditions are left to the caller,
   * which knows each hit's number only once it has seen the later ones. Returns the stop the
   * session would report and the breakpoints that hit.
   */
  reviewQuietly(stop: StopReason): { stop: ReportedStop; breakpointIds: number[] } | undefined {
    this.quietCandidates = [];
    try {
      const reported = this.review(stop);
      return reported === undefined ? undefined : { stop: reported, breakpointIds: this.quietCandidates };
    } finally {
      this.quietCandidates = null;
    }
  }

  /** A breakpoint's hit condition and hit count (undefined: no such breakpoint). */
  hitState(id: number): { hitCondition: ((hits: number) => boolean) | undefined; hits: number } | undefined {
    const breakpoint = [...this.allCode(), ...this.dataBreakpoints].find((candidate) => candidate.id === id);
    if (breakpoint === undefined) return undefined;
    const text = breakpoint.hitCondition;
    return { hitCondition: text !== undefined && text.trim() !== '' ? parseHitCondition(text) : undefined, hits: breakpoint.hits };
  }

  /** Sets a breakpoint's hit count (going back in time takes the hits after that point away). */
  setHits(id: number, hits: number): void {
    const breakpoint = [...this.allCode(), ...this.dataBreakpoints].find((candidate) => candidate.id === id);
    if (breakpoint !== undefined) breakpoint.hits = Math.max(0, hits);
  }

  /** A condition that cannot be evaluated stops (and says why), as gdb does. */
  private conditionTrue(condition: string, hartId: number, names: ReadonlyMap<string, bigint> | undefined, what: string): boolean {
    try {
      return this.expressions.evaluate(condition, hartId, names) !== 0n;
    } catch (error) {
      if (this.quietCandidates !== null) return true;
      this.events.log(`Ringside: stopping: the condition of ${what} ('${condition}') failed: ${(error as Error).message}\n`, 'stderr');
      return true;
    }
  }

  // ---- pending breakpoints ----------------------------------------------------------------

  /** Re-checks unverified breakpoints; those whose addresses became reachable are reported. */
  refreshPending(): void {
    for (const breakpoint of this.allCode()) {
      if (breakpoint.reachable || breakpoint.addresses.length === 0 || breakpoint.message !== undefined) continue;
      if (this.addressesReachable(breakpoint.addresses)) {
        breakpoint.reachable = true;
        this.events.changed(this.describe(breakpoint));
      }
    }
  }

  get hasPending(): boolean {
    return this.allCode().some((breakpoint) => !breakpoint.reachable && breakpoint.addresses.length > 0 && breakpoint.message === undefined);
  }

  private addressesReachable(addresses: readonly SpacedAddress[]): boolean {
    const hartId = this.focusHart();
    return addresses.every((address) => {
      const physical = this.target.toPhysical(hartId, address);
      return physical !== undefined && this.target.machine.readPhysical(physical, 2) !== undefined;
    });
  }

  // ---- bookkeeping ------------------------------------------------------------------------

  private allCode(): CodeBreakpoint[] {
    return [...[...this.bySource.values()].flat(), ...this.functionBreakpoints, ...this.instructionBreakpoints];
  }

  get codeBreakpointCount(): number {
    return this.allCode().length;
  }

  private checkConditions(wanted: { condition?: string; hitCondition?: string; logMessage?: string }): { problem?: string } {
    try {
      if (wanted.condition !== undefined && wanted.condition.trim() !== '') this.expressions.check(wanted.condition);
      if (wanted.hitCondition !== undefined && wanted.hitCondition.trim() !== '') parseHitCondition(wanted.hitCondition);
      return {};
    } catch (error) {
      return { problem: (error as Error).message };
    }
  }

  private create(
    kind: CodeKind, addresses: readonly SpacedAddress[], wanted: { condition?: string; hitCondition?: string; logMessage?: string },
    details: { message?: string; source?: DebugProtocol.Source; line?: number; instructionReference?: string },
  ): CodeBreakpoint {
    const id = this.nextId++;
    const usable = details.message === undefined ? addresses : [];
    const breakpoint: CodeBreakpoint = {
      id, kind, addresses: usable, reachable: usable.length > 0 && this.addressesReachable(usable), hits: 0,
      condition: wanted.condition, hitCondition: wanted.hitCondition, logMessage: wanted.logMessage, ...details,
    };
    for (const address of usable) {
      const key = `${address.space}:${address.address}`;
      let entry = this.armed.get(key);
      if (entry === undefined) {
        const debuggerId = this.target.debug.addCodeBreakpoint({ address: address.address, physical: address.space === 'physical' });
        entry = { debuggerId, address, users: new Set() };
        this.armed.set(key, entry);
      }
      entry.users.add(id);
    }
    return breakpoint;
  }

  private release(breakpoint: CodeBreakpoint): void {
    for (const address of breakpoint.addresses) {
      const key = `${address.space}:${address.address}`;
      const entry = this.armed.get(key);
      if (entry === undefined) continue;
      entry.users.delete(breakpoint.id);
      if (entry.users.size === 0) {
        this.target.debug.removeBreakpoint(entry.debuggerId);
        this.armed.delete(key);
      }
    }
  }

  private describe(breakpoint: CodeBreakpoint): DebugProtocol.Breakpoint {
    const first = breakpoint.addresses[0];
    const pendingMessage = breakpoint.addresses.length > 0 && !breakpoint.reachable
      ? `pending: ${breakpoint.addresses.map(formatMemoryReference).join(', ')} ${breakpoint.addresses.length > 1 ? 'are' : 'is'} not mapped yet; the breakpoint binds when the address becomes reachable`
      : undefined;
    return {
      id: breakpoint.id,
      verified: breakpoint.message === undefined && breakpoint.reachable,
      message: breakpoint.message ?? pendingMessage,
      source: breakpoint.source,
      line: breakpoint.line,
      instructionReference: first === undefined ? breakpoint.instructionReference : formatMemoryReference(first),
      reason: pendingMessage !== undefined ? 'pending' : breakpoint.message !== undefined ? 'failed' : undefined,
    };
  }
}

function privilegeNumber(privilege: PrivilegeName): bigint {
  return privilege === 'M' ? 3n : privilege === 'S' ? 1n : 0n;
}

