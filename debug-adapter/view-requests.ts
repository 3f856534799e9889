// The custom requests behind the extension's views: machine state (run state and each hart's
// privilege, pc, satp and virtual time), the page tables of a whole address space merged into
// ranges (or one address level by level), the address-space map's ranges, and the trap history.
// Pure functions of the machine: they read RAM without side effects and return JSON-ready
// bodies (64-bit values as hex strings).

import { type Privilege, privilegeName } from '../vmm-core/cpu/csr-numbers';
import type { TrapHistory } from '../vmm-core/debug/trap-history';
import { trapName } from '../vmm-core/isa/csr-fields';
import { EXIT_KINDS } from '../vmm-core/monitor/exits';
import type { Machine } from '../vmm-core/machine/machine';
import { hartStateName } from './state/registers';
import { translateAddress, type Translation } from './state/translate';

/** A problem with the request's arguments (answered as one error response). */
export class ViewRequestError extends Error {
  override name = 'ViewRequestError';
}

export type RunState = 'running' | 'stopped' | 'exited';

/** What the session knows beyond the machine. */
export interface ViewRequestContext {
  readonly machine: Machine;
  readonly trapHistory: TrapHistory;
  readonly runState: RunState;
  /** Why the machine last stopped (stop reason and description), when stopped. */
  readonly lastStop?: { readonly reason: string; readonly description?: string; readonly hartId: number };
  /** The hart the session focuses (the selected thread's). */
  readonly focusHart: number;
  /** A DAP thread id to a hart id (throws a request error for a bad one). */
  hartOfThread(threadId: unknown): number;
  /** An address expression (number, hex, symbol, register) on a hart. */
  evaluateAddress(text: string, hartId: number): bigint;
}

const hex = (value: bigint | number): string => `0x${BigInt(value).toString(16)}`;

function satpOf(machine: Machine, hartId: number): bigint {
  const hart = machine.harts[hartId];
  return (BigInt(hart.satpHi >>> 0) << 32n) | BigInt(hart.satpLo >>> 0);
}

const MODE_NAMES: Record<number, 'sv39' | 'sv48' | 'sv57'> = { 8: 'sv39', 9: 'sv48', 10: 'sv57' };

function translationModeName(satp: bigint): 'bare' | 'sv39' | 'sv48' | 'sv57' | 'unknown' {
  const mode = Number(satp >> 60n);
  if (mode === 0) return 'bare';
  return MODE_NAMES[mode] ?? 'unknown';
}

function hartOf(context: ViewRequestContext, args: Record<string, unknown>): number {
  return args.threadId !== undefined ? context.hartOfThread(args.threadId) : context.focusHart;
}

// ---- ringside/machineState --------------------------------------------------------------

export interface HartStateBody {
  readonly hartId: number;
  readonly threadId: number;
  readonly state: string;
  readonly privilege: 'U' | 'S' | 'M';
  readonly pc: string;
  readonly satp: string;
  readonly translation: string;
  readonly asid: number;
  readonly waitingForInterrupt: boolean;
  readonly instructionsRetired: number;
  readonly trapsTaken: number;
  readonly virtualNanoseconds: number;
}

export interface MachineStateBody {
  readonly runState: RunState;
  readonly stopReason?: string;
  readonly stopDescription?: string;
  readonly focusThreadId: number;
  readonly bootMode: string;
  readonly mtime: number;
  readonly exits: Record<string, number>;
  readonly totalExits: number;
  readonly exit: { readonly kind: string; readonly code?: number; readonly message?: string } | null;
  readonly harts: readonly HartStateBody[];
  /** How far back reverse debugging reaches (added by the session). */
  readonly history?: HistorySummary;
}

/** Reverse debugging's reach, as `ringside/history` answers and the Machine view shows it. */
export type HistorySummary =
  | { readonly enabled: false; readonly reason?: string }
  | {
    readonly enabled: true; readonly checkpoints: number; readonly bytes: number; readonly budgetBytes: number;
    readonly oldestSteps: readonly number[]; readonly currentSteps: readonly number[]; readonly stepsBack: number; readonly secondsBack: number;
  };

export function machineState(context: ViewRequestContext): MachineStateBody {
  const { machine } = context;
  const exits = machine.monitor.exits.snapshot();
  const exit = machine.exit;
  return {
    runState: context.runState,
    ...(context.runState === 'stopped' && context.lastStop !== undefined
      ? { stopReason: context.lastStop.reason, ...(context.lastStop.description !== undefined ? { stopDescription: context.lastStop.description } : {}) }
      : {}),
    focusThreadId: context.focusHart + 1,
    bootMode: machine.bootMode,
    mtime: machine.clint.mtime(),
    exits,
    totalExits: EXIT_KINDS.reduce((sum, kind) => sum + exits[kind], 0),
    exit: exit === null ? null : exit.kind === 'error' ? { kind: 'error', message: exit.message } : { kind: exit.kind, code: exit.code },
    harts: machine.harts.map((hart) => {
      const satp = satpOf(machine, hart.hartId);
      return {
        hartId: hart.hartId,
        threadId: hart.hartId + 1,
        state: hartStateName(machine, hart.hartId),
        privilege: privilegeName(hart.privilege),
        pc: hex(hart.pc),
        satp: hex(satp),
        translation: translationModeName(satp),
        asid: Number((satp >> 44n) & 0xffffn),
        waitingForInterrupt: hart.waitingForInterrupt,
        instructionsRetired: hart.instructionsRetired,
        trapsTaken: hart.trapsTaken,
        virtualNanoseconds: hart.virtualNanoseconds,
      };
    }),
  };
}

// ---- the whole-space walk -----------------------------------------------------------------

/** A run of mapped virtual pages with the same permissions. */
export interface MappedRange {
  /** Canonical virtual address of the first byte (hex). */
  readonly virtualStart: string;
  /** One past the last byte (hex; canonical, may wrap to 0x0 at the very top). */
  readonly virtualEnd: string;
  /** Physical address of the first byte (hex). */
  readonly physicalStart: string;
  readonly size: number;
  /** Leaf entries merged into this range. */
  readonly pages: number;
  /** Page sizes of those leaves in bytes (4096, 2 MiB, 1 GiB, ...). */
  readonly pageSizes: readonly number[];
  /** "rwxugad" style: a letter when set, '-' when not (A and D: set in every merged leaf). */
  readonly flags: string;
  readonly R: boolean;
  readonly W: boolean;
  readonly X: boolean;
  readonly U: boolean;
  readonly G: boolean;
}

export interface AddressSpaceWalk {
  readonly mode: 'bare' | 'sv39' | 'sv48' | 'sv57' | 'unknown';
  readonly satp: string;
  readonly asid: number;
  readonly rootTable: string;
  readonly ranges: readonly MappedRange[];
  /** Bytes mapped by the ranges listed. */
  readonly mappedBytes: number;
  readonly leafEntries: number;
  readonly tablesVisited: number;
  /** Entries that are valid but malformed (W without R, misaligned superpage, table entry at level 0, table outside RAM). */
  readonly malformedEntries: number;
  /** The walk stopped early (range or table budget): `resumeAddress` continues it. */
  readonly truncated: boolean;
  readonly resumeAddress?: string;
  /** Why nothing is listed (bare mode, unknown mode). */
  readonly note?: string;
}

export interface WalkOptions {
  /** Another address space than the hart's. */
  readonly satp?: bigint;
  /** Start at this virtual address (canonical). */
  readonly from?: bigint;
  /** At most this many ranges (default 512). */
  readonly maxRanges?: number;
  /** At most this many page tables read (default 4096). */
  readonly maxTables?: number;
  /** Merge only physically contiguous pages (page tables view); false: only permissions (the map). */
  readonly physicallyContiguous?: boolean;
}

export const DEFAULT_MAX_RANGES = 512;
export const LIMIT_MAX_RANGES = 20_000;
const DEFAULT_MAX_TABLES = 4096;
const ENTRIES_PER_TABLE = 512;

interface OpenRange {
  virtualStart: number;
  virtualEnd: number;
  physicalStart: number;
  physicalEnd: number;
  permissions: number;
  accessedDirty: number;
  pages: number;
  pageSizes: Set<number>;
}

const PERMISSION_BITS = 0x3e; // R W X U G
const R = 2, W = 4, X = 8, U = 16, G = 32, A = 64, D = 128;

/**
 * Walks every valid entry of the page tables of `satp` (the hart's by default) and merges the
 * leaves into ranges. Virtual addresses are handled as unsigned offsets below 2^(12+9·levels)
 * (exact in doubles), sign-extended to canonical addresses only in the answer.
 */
export function walkAddressSpace(machine: Machine, hartId: number, options: WalkOptions = {}): AddressSpaceWalk {
  const satp = BigInt.asUintN(64, options.satp ?? satpOf(machine, hartId));
  const mode = translationModeName(satp);
  const asid = Number((satp >> 44n) & 0xffffn);
  const rootTable = (satp & ((1n << 44n) - 1n)) << 12n;
  const empty = (note: string): AddressSpaceWalk => ({
    mode, satp: hex(satp), asid, rootTable: hex(rootTable), ranges: [], mappedBytes: 0, leafEntries: 0, tablesVisited: 0,
    malformedEntries: 0, truncated: false, note,
  });
  if (mode === 'bare') return empty('satp.MODE is Bare: no translation, virtual addresses are physical');
  if (mode === 'unknown') return empty(`satp.MODE ${Number(satp >> 60n)} is not a translation mode this machine implements`);
  const levelCount = mode === 'sv39' ? 3 : mode === 'sv48' ? 4 : 5;
  const addressBits = 12 + 9 * levelCount;
  const space = 2 ** addressBits;
  const maxRanges = options.maxRanges ?? DEFAULT_MAX_RANGES;
  const maxTables = options.maxTables ?? DEFAULT_MAX_TABLES;
  const contiguous = options.physicallyContiguous ?? true;
  // The starting point as an unsigned offset: canonical upper-half addresses fold down.
  const from = options.from === undefined ? 0 : Number(BigInt.asUintN(64, options.from) & ((1n << BigInt(addressBits)) - 1n));

  const ranges: MappedRange[] = [];
  let open: OpenRange | undefined;
  let mappedBytes = 0, leafEntries = 0, tablesVisited = 0, malformedEntries = 0;
  let truncatedAt: number | undefined;

  const canonical = (offset: number): bigint => {
    const value = BigInt(offset);
    return value >= BigInt(space / 2) ? BigInt.asUintN(64, value - BigInt(space)) : value;
  };
  const close = (): void => {
    if (open === undefined) return;
    const permissions = open.permissions;
    const letters = [[R, 'r'], [W, 'w'], [X, 'x'], [U, 'u'], [G, 'g'], [A, 'a'], [D, 'd']] as const;
    const bits = permissions | open.accessedDirty;
    ranges.push({
      virtualStart: hex(canonical(open.virtualStart)),
      virtualEnd: hex(open.virtualEnd >= space ? 0n : canonical(open.virtualEnd)),
      physicalStart: hex(open.physicalStart),
      size: open.virtualEnd - open.virtualStart,
      pages: open.pages,
      pageSizes: [...open.pageSizes].sort((a, b) => a - b),
      flags: letters.map(([bit, letter]) => ((bits & bit) !== 0 ? letter : '-')).join(''),
      R: (permissions & R) !== 0, W: (permissions & W) !== 0, X: (permissions & X) !== 0, U: (permissions & U) !== 0, G: (permissions & G) !== 0,
    });
    mappedBytes += open.virtualEnd - open.virtualStart;
    open = undefined;
  };
  const addLeaf = (virtualStart: number, physicalStart: number, size: number, low: number): void => {
    leafEntries++;
    const permissions = low & PERMISSION_BITS;
    // The two canonical halves are adjacent as offsets but far apart as addresses: never merged.
    if (open !== undefined && open.virtualEnd === virtualStart && virtualStart !== space / 2 && open.permissions === permissions &&
        (!contiguous || open.physicalEnd === physicalStart)) {
      open.virtualEnd += size;
      open.physicalEnd = physicalStart + size;
      open.accessedDirty &= low & (A | D);
      open.pages++;
      open.pageSizes.add(size);
      return;
    }
    close();
    if (ranges.length >= maxRanges) {
      truncatedAt = virtualStart;
      return;
    }
    open = {
      virtualStart, virtualEnd: virtualStart + size, physicalStart, physicalEnd: physicalStart + size, permissions,
      accessedDirty: low & (A | D), pages: 1, pageSizes: new Set([size]),
    };
  };

  const walk = (tableAddress: number, level: number, base: number): void => {
    if (truncatedAt !== undefined) return;
    if (tablesVisited >= maxTables) {
      truncatedAt = Math.max(base, from);
      return;
    }
    tablesVisited++;
    const table = machine.readPhysical(BigInt(tableAddress), ENTRIES_PER_TABLE * 8);
    if (table === undefined) {
      malformedEntries++;
      return;
    }
    const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
    const span = 2 ** (12 + 9 * level);
    for (let index = 0; index < ENTRIES_PER_TABLE; index++) {
      const start = base + index * span;
      if (start + span <= from) continue;
      const low = view.getUint32(index * 8, true);
      if ((low & 1) === 0) continue;
      const high = view.getUint32(index * 8 + 4, true);
      // PPN is bits 53..10: 22 bits of the high word above 22 bits of the low word.
      const ppn = (high & 0x3fffff) * 2 ** 22 + (low >>> 10);
      const leaf = (low & (R | X)) !== 0;
      if (!leaf) {
        if (level === 0 || (low & W) !== 0) {
          malformedEntries++;
          continue;
        }
        walk(ppn * 4096, level - 1, start);
      } else {
        if ((low & W) !== 0 && (low & R) === 0) {
          malformedEntries++;
          continue;
        }
        if (level > 0 && ppn % 2 ** (9 * level) !== 0) {
          malformedEntries++;
          continue;
        }
        if (start < from) {
          // A superpage straddling the start: only its part from `from` on.
          addLeaf(from, ppn * 4096 + (from - start), span - (from - start), low);
        } else {
          addLeaf(start, ppn * 4096, span, low);
        }
      }
      if (truncatedAt !== undefined) return;
    }
  };
  walk(Number(rootTable), levelCount - 1, 0);
  close();
  return {
    mode, satp: hex(satp), asid, rootTable: hex(rootTable), ranges, mappedBytes, leafEntries, tablesVisited, malformedEntries,
    truncated: truncatedAt !== undefined,
    ...(truncatedAt !== undefined ? { resumeAddress: hex(canonical(truncatedAt)) } : {}),
  };
}

// ---- ringside/pageTables -------------------------------------------------------------------

export type PageTablesBody =
  | ({ readonly kind: 'addressSpace'; readonly hartId: number; readonly privilege: 'U' | 'S' | 'M' } & AddressSpaceWalk)
  | ({ readonly kind: 'address'; readonly hartId: number; readonly privilege: 'U' | 'S' | 'M' } & Translation);

function optionalSatp(context: ViewRequestContext, args: Record<string, unknown>, hartId: number): bigint | undefined {
  if (args.satp === undefined) return undefined;
  if (typeof args.satp !== 'string' && typeof args.satp !== 'number') throw new ViewRequestError("'satp' must be a number or an expression");
  return context.evaluateAddress(String(args.satp), hartId);
}

function rangeLimit(args: Record<string, unknown>): number {
  const value = args.maxRanges;
  if (value === undefined) return DEFAULT_MAX_RANGES;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > LIMIT_MAX_RANGES) {
    throw new ViewRequestError(`'maxRanges' must be an integer from 1 to ${LIMIT_MAX_RANGES}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalFrom(context: ViewRequestContext, args: Record<string, unknown>, hartId: number): bigint | undefined {
  if (args.from === undefined) return undefined;
  if (typeof args.from !== 'string' && typeof args.from !== 'number') throw new ViewRequestError("'from' must be a number or an expression");
  return context.evaluateAddress(String(args.from), hartId);
}

/** One address level by level (`address`), or the whole address space merged into ranges. */
export function pageTables(context: ViewRequestContext, args: Record<string, unknown>): PageTablesBody {
  const hartId = hartOf(context, args);
  const privilege = privilegeName(context.machine.harts[hartId].privilege);
  const satp = optionalSatp(context, args, hartId);
  if (args.address !== undefined) {
    if (typeof args.address !== 'string' && typeof args.address !== 'number') throw new ViewRequestError("'address' must be a number or an expression");
    const address = context.evaluateAddress(String(args.address), hartId);
    return { kind: 'address', hartId, privilege, ...translateAddress(context.machine, hartId, address, satp === undefined ? {} : { satp }) };
  }
  const walk = walkAddressSpace(context.machine, hartId, {
    satp, from: optionalFrom(context, args, hartId), maxRanges: rangeLimit(args), physicallyContiguous: true,
  });
  return { kind: 'addressSpace', hartId, privilege, ...walk };
}

// ---- ringside/addressSpaceMap ---------------------------------------------------------------

export interface AddressSpaceMapBody extends AddressSpaceWalk {
  readonly hartId: number;
  readonly privilege: 'U' | 'S' | 'M';
  /** The hart's pc, to mark on the map. */
  readonly pc: string;
  /** Whether the hart translates right now (false in M-mode or Bare). */
  readonly hartTranslates: boolean;
}

/** Ranges for the picture: merged by permissions only, so a scattered heap is one band. */
export function addressSpaceMap(context: ViewRequestContext, args: Record<string, unknown>): AddressSpaceMapBody {
  const hartId = hartOf(context, args);
  const hart = context.machine.harts[hartId];
  const satp = optionalSatp(context, args, hartId);
  const walk = walkAddressSpace(context.machine, hartId, {
    satp, from: optionalFrom(context, args, hartId), maxRanges: rangeLimit(args), physicallyContiguous: false,
  });
  return {
    ...walk, hartId, privilege: privilegeName(hart.privilege), pc: hex(hart.pc),
    hartTranslates: walk.mode !== 'bare' && walk.mode !== 'unknown' && hart.privilege !== 3 && satp === undefined,
  };
}

// ---- ringside/trapHistory -------------------------------------------------------------------

export interface TrapHistoryEntry {
  readonly sequence: number;
  readonly hartId: number;
  readonly kind: 'exception' | 'interrupt' | 'mret' | 'sret';
  readonly cause: number;
  /** "ecall from U-mode", "supervisor timer interrupt", "sret". */
  readonly causeName: string;
  readonly from: 'U' | 'S' | 'M';
  readonly to: 'U' | 'S' | 'M';
  readonly pc: string;
  readonly tval: string;
  readonly virtualNanoseconds: number;
  readonly instructionsRetired: number;
}

export interface TrapHistoryBody {
  readonly traps: readonly TrapHistoryEntry[];
  /** Transitions recorded since the machine started; the ring keeps the last `capacity`. */
  readonly total: number;
  readonly capacity: number;
  /** Sequence number to pass as `since` next time for only newer entries. */
  readonly next: number;
}

export const DEFAULT_TRAP_LIMIT = 1000;

export function trapHistory(context: ViewRequestContext, args: Record<string, unknown>): TrapHistoryBody {
  const history = context.trapHistory;
  const integer = (name: string, value: unknown, fallback: number, max: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
      throw new ViewRequestError(`'${name}' must be an integer from 0 to ${max}, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const since = integer('since', args.since, 0, Number.MAX_SAFE_INTEGER);
  const limit = integer('limit', args.limit, DEFAULT_TRAP_LIMIT, history.capacity);
  const hartFilter = args.threadId !== undefined ? context.hartOfThread(args.threadId) : undefined;
  const name = (privilege: Privilege) => privilegeName(privilege);
  const traps = history.records(since, hartFilter === undefined ? limit : history.capacity)
    .filter((record) => hartFilter === undefined || record.hartId === hartFilter)
    .slice(-limit)
    .map((record): TrapHistoryEntry => ({
      sequence: record.sequence,
      hartId: record.hartId,
      kind: record.kind,
      cause: record.cause,
      causeName: record.kind === 'mret' || record.kind === 'sret' ? record.kind : trapName(record.kind === 'interrupt', record.cause),
      from: name(record.from),
      to: name(record.to),
      pc: hex(record.pc),
      tval: hex(record.tval),
      virtualNanoseconds: record.virtualNanoseconds,
      instructionsRetired: record.instructionsRetired,
    }));
  return { traps, total: history.total, capacity: history.capacity, next: history.total };
}
