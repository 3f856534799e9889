// The interpreter core: the interpreter's common instructions (RV64I's arithmetic, jumps,
// branches, loads and stores that hit the TLBs; M's mul, mulw and divisions; A's LR/SC and AMOs;
// their compressed forms) as one WebAssembly function over the machine's Wasm memory. It reads
// the same decode-cache slots as the JavaScript interpreter (refilling them from the memo as it
// does, or through an imported call to its decoder), counts jump targets in the same hotness
// counters, and probes the same TLBs as translated regions. It leaves before any instruction
// it does not run itself (CSRs and the other sensitive instructions, mulh*, F/D, Zb*, illegal
// encodings) and any fetch or access that misses the TLB, is misaligned or reaches the end of
// a page, with the count retired: the tier then runs that instruction in the JavaScript
// interpreter. Lukewarm code, run too few times to be translated, then runs at Wasm's speed
// from its first instruction, without waiting for V8 to optimize the JavaScript interpreter.
//
// The module does not depend on the machine (offsets come from the hart's control area), so
// it is compiled once per process and every machine instantiates it.

import { SINK_REGISTER } from '../cpu/hart';
import { DECODE_MEMO_BITS, DECODE_MEMO_HASH, DECODE_SLOT_WORDS, DECODE_CACHE_SLOTS, HOTNESS_MASK, LOOP_WEIGHT } from '../cpu/interpreter';
import { Operation } from '../isa/operations';
import { HartControl, LOAD_TLB, STORE_TLB, TLB_ENTRIES_PER_KIND } from './translator';
import { FunctionBuilder, ValueType, encodeModule, type MemoryOpcode, type Opcode } from './wasm-encoder';

/** Why the core returned (HartControl.coreExit). */
export const enum CoreExit {
  /** It ran its whole budget. */
  Budget = 0,
  /** A taken jump or branch reached a target counted up to the threshold (the pc is the target). */
  HotTarget = 1,
  /** The instruction at the pc is the JavaScript interpreter's (not executed, not counted). */
  Leave = 2,
}

/** core(control, pcLo, pcHi, budget, threshold) → instructions retired; pc and reason in the control area. */
export type InterpreterCoreFunction = (control: number, pcLo: number, pcHi: number, budget: number, threshold: number) => number;

/** The imported decode(slotAddress, raw): DecodeCache.fill for the slot at that byte address. */
const DECODE_FUNCTION = 0;
const PAGE_SIZE = 4096;
const SLOT_BYTES = DECODE_SLOT_WORDS * 4;

// Parameters, then locals.
const CONTROL = 0, PC_LOW = 1, PC_HIGH = 2, BUDGET = 3, THRESHOLD = 4;
const EXECUTED = 5, FETCH_BASE = 6, RAW = 7, SLOT = 8, PACKED = 9, RD = 10, RS1 = 11, RS2 = 12, ENTRY = 13, LENGTH = 14;
const COUNT = 15, REASON = 16, SLOTS = 17, MEMO = 18, HOTNESS = 19, WORD_A = 20, WORD_B = 21, WEIGHT = 22;
const PC = 23, FETCH_PAGE = 24, IMM = 25, ADDRESS = 26, TARGET = 27, A = 28, B = 29;
const LOCALS = [
  ...Array<ValueType>(WEIGHT - EXECUTED + 1).fill(ValueType.I32),
  ...Array<ValueType>(B - PC + 1).fill(ValueType.I64),
];

const LOADS: ReadonlyArray<[Operation, MemoryOpcode, number]> = [
  [Operation.Lb, 'i64.load8_s', 1], [Operation.Lbu, 'i64.load8_u', 1], [Operation.Lh, 'i64.load16_s', 2],
  [Operation.Lhu, 'i64.load16_u', 2], [Operation.Lw, 'i64.load32_s', 4], [Operation.Lwu, 'i64.load32_u', 4], [Operation.Ld, 'i64.load', 8],
];
const STORES: ReadonlyArray<[Operation, MemoryOpcode, number]> = [
  [Operation.Sb, 'i64.store8', 1], [Operation.Sh, 'i64.store16', 2], [Operation.Sw, 'i64.store32', 4], [Operation.Sd, 'i64.store', 8],
];
const BRANCHES: ReadonlyArray<[Operation, Opcode]> = [
  [Operation.Beq, 'i64.eq'], [Operation.Bne, 'i64.ne'], [Operation.Blt, 'i64.lt_s'],
  [Operation.Bge, 'i64.ge_s'], [Operation.Bltu, 'i64.lt_u'], [Operation.Bgeu, 'i64.ge_u'],
];
/** rd = rs1 OP sext(imm). */
const IMMEDIATE: ReadonlyArray<[Operation, Opcode]> = [
  [Operation.Addi, 'i64.add'], [Operation.Xori, 'i64.xor'], [Operation.Ori, 'i64.or'], [Operation.Andi, 'i64.and'],
  [Operation.Slli, 'i64.shl'], [Operation.Srli, 'i64.shr_u'], [Operation.Srai, 'i64.shr_s'],
];
/** rd = rs1 OP rs2 (shift counts are taken modulo 64 by both). */
const REGISTER: ReadonlyArray<[Operation, Opcode]> = [
  [Operation.Add, 'i64.add'], [Operation.Sub, 'i64.sub'], [Operation.Sll, 'i64.shl'], [Operation.Xor, 'i64.xor'],
  [Operation.Srl, 'i64.shr_u'], [Operation.Sra, 'i64.shr_s'], [Operation.Or, 'i64.or'], [Operation.And, 'i64.and'],
  [Operation.Mul, 'i64.mul'],
];
/** rd = sext32(rs1 OP imm) on the low words. */
const WORD_IMMEDIATE: ReadonlyArray<[Operation, Opcode]> = [
  [Operation.Addiw, 'i32.add'], [Operation.Slliw, 'i32.shl'], [Operation.Srliw, 'i32.shr_u'], [Operation.Sraiw, 'i32.shr_s'],
];
/** rd = sext32(rs1 OP rs2) on the low words (shift counts modulo 32 by both). */
const WORD_REGISTER: ReadonlyArray<[Operation, Opcode]> = [
  [Operation.Addw, 'i32.add'], [Operation.Subw, 'i32.sub'], [Operation.Sllw, 'i32.shl'], [Operation.Srlw, 'i32.shr_u'],
  [Operation.Sraw, 'i32.shr_s'], [Operation.Mulw, 'i32.mul'],
];
/** rd = (rs1 < x) for x = rs2 or sext(imm). */
const SET_LESS_THAN: ReadonlyArray<[Operation, Opcode, boolean]> = [
  [Operation.Slt, 'i64.lt_s', false], [Operation.Sltu, 'i64.lt_u', false], [Operation.Slti, 'i64.lt_s', true], [Operation.Sltiu, 'i64.lt_u', true],
];

/** A: LR/SC and the AMOs, the .d forms after the .w ones (as executeAtomic takes them). */
const ATOMICS: readonly Operation[] = [
  Operation.LrW, Operation.ScW, Operation.AmoswapW, Operation.AmoaddW, Operation.AmoxorW, Operation.AmoandW, Operation.AmoorW,
  Operation.AmominW, Operation.AmomaxW, Operation.AmominuW, Operation.AmomaxuW,
  Operation.LrD, Operation.ScD, Operation.AmoswapD, Operation.AmoaddD, Operation.AmoxorD, Operation.AmoandD, Operation.AmoorD,
  Operation.AmominD, Operation.AmomaxD, Operation.AmominuD, Operation.AmomaxuD,
];
/** The AMOs' new value from the old one and rs2 (both sign-extended to 64 bits for .w). */
const AMO_ARITHMETIC: ReadonlyArray<[Operation, Opcode]> = [
  [Operation.AmoaddW, 'i64.add'], [Operation.AmoxorW, 'i64.xor'], [Operation.AmoandW, 'i64.and'], [Operation.AmoorW, 'i64.or'],
  [Operation.AmoaddD, 'i64.add'], [Operation.AmoxorD, 'i64.xor'], [Operation.AmoandD, 'i64.and'], [Operation.AmoorD, 'i64.or'],
];
/** min/max: the old value stays when `old <op> rs2` holds. */
const AMO_KEEP_OLD: ReadonlyArray<[Operation, Opcode]> = [
  [Operation.AmominW, 'i64.lt_s'], [Operation.AmomaxW, 'i64.ge_s'], [Operation.AmominuW, 'i64.lt_u'], [Operation.AmomaxuW, 'i64.ge_u'],
  [Operation.AmominD, 'i64.lt_s'], [Operation.AmomaxD, 'i64.ge_s'], [Operation.AmominuD, 'i64.lt_u'], [Operation.AmomaxuD, 'i64.ge_u'],
];

/** The operations the core runs itself (tests check the JavaScript interpreter agrees on each). */
export const CORE_OPERATIONS: ReadonlySet<Operation> = new Set<Operation>([
  ...ATOMICS, Operation.Lui, Operation.Auipc, Operation.Jal, Operation.Jalr, Operation.Fence,
  Operation.Div, Operation.Divu, Operation.Rem, Operation.Remu, Operation.Divw, Operation.Divuw, Operation.Remw, Operation.Remuw,
  ...[LOADS, STORES, BRANCHES, IMMEDIATE, REGISTER, WORD_IMMEDIATE, WORD_REGISTER, SET_LESS_THAN].flatMap((list) => list.map((row) => row[0])),
]);

/**
 * The bytes of the core's module: exports `run`; imports a shared memory of up to 65,536 pages
 * and `decode(slotAddress, raw)`, which decodes `raw` into the slot at that byte address.
 */
export function generateInterpreterCoreModule(): Uint8Array {
  const f = new FunctionBuilder();
  // pc as an i64; no fetch page yet.
  f.get(PC_HIGH).op('i64.extend_i32_u').i64(32, 0).op('i64.shl').get(PC_LOW).op('i64.extend_i32_u').op('i64.or').set(PC);
  f.i64(-1, -1).set(FETCH_PAGE);
  f.get(CONTROL).memory('i32.load', HartControl.coreSlots).set(SLOTS);
  f.get(CONTROL).memory('i32.load', HartControl.coreMemo).set(MEMO);
  f.get(CONTROL).memory('i32.load', HartControl.coreHotness).set(HOTNESS);
  f.i32(CoreExit.Budget).set(REASON);

  f.block('exit').loop('next');
  f.get(EXECUTED).get(BUDGET).op('i32.ge_u').branchIf('exit');

  f.block('jumped').block('sequential').block('leave');

  // ---- fetch: the page's RAM offset from the fetch TLB, once per page per call ----
  f.block('fetched');
  f.get(PC).i64(12, 0).op('i64.shr_u').get(FETCH_PAGE).op('i64.eq').branchIf('fetched');
  tlbEntry(f, PC, HartControl.tlb, FETCH_BASE);
  f.get(FETCH_BASE).memory('i32.load', 8).set(FETCH_BASE);
  f.get(PC).i64(12, 0).op('i64.shr_u').set(FETCH_PAGE);
  f.end();
  // An instruction in the page's last halfword may continue on the next page: the interpreter's.
  f.get(PC).op('i32.wrap_i64').i32(PAGE_SIZE - 1).op('i32.and').tee(RAW).i32(PAGE_SIZE - 2).op('i32.eq').branchIf('leave');
  f.get(FETCH_BASE).get(RAW).op('i32.add').memory('i32.load', 0).tee(RAW);
  f.i32(3).op('i32.and').i32(3).op('i32.ne').if('compressed').get(RAW).i32(0xffff).op('i32.and').set(RAW).end();

  // ---- decode: the pc's slot, refilled from the memo when its tag differs ----
  f.get(PC).op('i32.wrap_i64').i32(1).op('i32.shr_u').i32(DECODE_CACHE_SLOTS - 1).op('i32.and').i32(Math.log2(SLOT_BYTES)).op('i32.shl');
  f.get(SLOTS).op('i32.add').tee(SLOT).memory('i32.load', 0).get(RAW).op('i32.ne').if('refill');
  f.get(RAW).i32(DECODE_MEMO_HASH | 0).op('i32.mul').i32(32 - DECODE_MEMO_BITS).op('i32.shr_u').i32(Math.log2(SLOT_BYTES)).op('i32.shl');
  f.get(MEMO).op('i32.add').tee(ENTRY).memory('i32.load', 0).get(RAW).op('i32.eq').if('memoized');
  f.get(SLOT).get(ENTRY).memory('i64.load', 0).memory('i64.store', 0);
  f.get(SLOT).get(ENTRY).memory('i64.load', 8).memory('i64.store', 8);
  // Bits the memo does not hold: the interpreter's decoder fills the slot (and the memo).
  f.else().get(SLOT).get(RAW).call(DECODE_FUNCTION);
  f.end().end();
  f.get(SLOT).memory('i32.load', 4).set(PACKED);
  f.get(SLOT).memory('i32.load', 8).op('i64.extend_i32_s').set(IMM);
  // Register addresses (rd = x0 is the sink pair in slots) and the length.
  registerAddress(f, 8, 63, RD);
  registerAddress(f, 14, 31, RS1);
  registerAddress(f, 19, 31, RS2);
  f.i32(4).get(PACKED).i32(28).op('i32.shr_u').i32(2).op('i32.and').op('i32.sub').set(LENGTH);

  // ---- dispatch ----
  const cases = [...CORE_OPERATIONS].sort((a, b) => a - b);
  const labelOf = (operation: Operation): string => `op${operation}`;
  for (let index = cases.length - 1; index >= 0; index--) f.block(labelOf(cases[index]));
  const targets: string[] = [];
  for (let operation = 0; operation < Operation.Count; operation++) targets.push(CORE_OPERATIONS.has(operation) ? labelOf(operation) : 'leave');
  f.get(PACKED).i32(0xff).op('i32.and').branchTable(targets, 'leave');
  for (const operation of cases) {
    f.end();
    emitOperation(f, operation);
  }
  f.end(); // leave
  f.i32(CoreExit.Leave).set(REASON).branch('exit');
  f.end(); // sequential
  f.get(PC).get(LENGTH).op('i64.extend_i32_u').op('i64.add').set(PC);
  f.get(EXECUTED).i32(1).op('i32.add').set(EXECUTED);
  f.branch('next');
  f.end(); // jumped: count the target (saturating, a loop's with its weight), as the interpreter does
  f.get(TARGET).set(PC);
  f.get(EXECUTED).i32(1).op('i32.add').set(EXECUTED);
  f.get(PC).op('i32.wrap_i64').i32(1).op('i32.shr_u').i32(HOTNESS_MASK).op('i32.and').i32(1).op('i32.shl').get(HOTNESS).op('i32.add').tee(ENTRY);
  f.memory('i32.load16_u', 0).get(WEIGHT).op('i32.add').tee(COUNT).i32(0xffff).op('i32.gt_u').op('i32.eqz').if('store');
  f.get(ENTRY).get(COUNT).memory('i32.store16', 0);
  f.end();
  f.get(COUNT).get(THRESHOLD).op('i32.lt_u').branchIf('next');
  f.i32(CoreExit.HotTarget).set(REASON);
  f.end().end(); // next, exit

  f.get(CONTROL).get(PC).memory('i64.store', HartControl.exitPc);
  f.get(CONTROL).get(REASON).memory('i32.store', HartControl.coreExit);
  f.get(EXECUTED);
  return encodeModule(1, [{
    exportName: 'run',
    parameters: [ValueType.I32, ValueType.I32, ValueType.I32, ValueType.I32, ValueType.I32],
    results: [ValueType.I32],
    locals: LOCALS,
    body: [f],
  }], {
    memoryLimits: { minimumPages: 1, maximumPages: 65536 },
    functionImports: [{ name: 'decode', type: { parameters: [ValueType.I32, ValueType.I32], results: [] } }],
  });
}

/** WEIGHT = LOOP_WEIGHT for a backward branch or jal (a negative offset), else 1. */
function loopWeight(f: FunctionBuilder): void {
  f.get(IMM).i64(0, 0).op('i64.lt_s').i32(LOOP_WEIGHT - 1).op('i32.mul').i32(1).op('i32.add').set(WEIGHT);
}

/** local = CONTROL + ((PACKED >>> shift) & mask) * 8. */
function registerAddress(f: FunctionBuilder, shift: number, mask: number, local: number): void {
  f.get(PACKED).i32(shift).op('i32.shr_u').i32(mask).op('i32.and').i32(3).op('i32.shl').get(CONTROL).op('i32.add').set(local);
}

/**
 * Probes the TLB at `tlbOffset` of the hart's control area for the page of the i64 in
 * `addressLocal`; leaves on a miss, else `entryLocal` holds the entry's address (RAM offset at +8).
 * Tags are the page number's low 20 bits, then the address's high word, as the MMU writes them.
 */
function tlbEntry(f: FunctionBuilder, addressLocal: number, tlbOffset: number, entryLocal: number): void {
  f.get(addressLocal).i64(12, 0).op('i64.shr_u').op('i32.wrap_i64').i32(TLB_ENTRIES_PER_KIND - 1).op('i32.and').i32(4).op('i32.shl');
  f.get(CONTROL).op('i32.add').i32(tlbOffset).op('i32.add').tee(entryLocal).memory('i64.load', 0);
  f.get(addressLocal).i64(12, 0).op('i64.shr_u').i64(0xfffff, 0).op('i64.and').get(addressLocal).i64(0, -1).op('i64.and').op('i64.or');
  f.op('i64.ne').branchIf('leave');
}

/** Leaves unless the i64 in ADDRESS is a multiple of `width` (the MMU's fast paths take aligned accesses only). */
function requireAligned(f: FunctionBuilder, width: number): void {
  if (width === 1) return;
  f.get(ADDRESS).op('i32.wrap_i64').i32(width - 1).op('i32.and').branchIf('leave');
}

/** ADDRESS = x[rs1] + imm, then the TLB probe; leaves the host address (i32) on the stack. */
function dataAddress(f: FunctionBuilder, tlbOffset: number, width: number): void {
  f.get(RS1).memory('i64.load', 0).get(IMM).op('i64.add').set(ADDRESS);
  tlbEntry(f, ADDRESS, tlbOffset, ENTRY);
  requireAligned(f, width);
  f.get(ENTRY).memory('i32.load', 8).get(ADDRESS).op('i32.wrap_i64').i32(PAGE_SIZE - 1).op('i32.and').op('i32.add');
}

function emitOperation(f: FunctionBuilder, operation: Operation): void {
  const load = LOADS.find((row) => row[0] === operation);
  if (load !== undefined) {
    // The address first (it may leave), then rd.
    dataAddress(f, LOAD_TLB, load[2]);
    f.memory(load[1], 0).set(A);
    f.get(RD).get(A).memory('i64.store', 0).branch('sequential');
    return;
  }
  const store = STORES.find((row) => row[0] === operation);
  if (store !== undefined) {
    dataAddress(f, STORE_TLB, store[2]);
    f.get(RS2).memory('i64.load', 0).memory(store[1], 0).branch('sequential');
    return;
  }
  if (ATOMICS.includes(operation)) {
    emitAtomic(f, operation);
    return;
  }
  const branch = BRANCHES.find((row) => row[0] === operation);
  if (branch !== undefined) {
    f.get(PC).get(IMM).op('i64.add').set(TARGET);
    loopWeight(f);
    f.get(RS1).memory('i64.load', 0).get(RS2).memory('i64.load', 0).op(branch[1]).branchIf('jumped');
    f.branch('sequential');
    return;
  }
  const immediate = IMMEDIATE.find((row) => row[0] === operation);
  if (immediate !== undefined) {
    f.get(RD).get(RS1).memory('i64.load', 0).get(IMM).op(immediate[1]).memory('i64.store', 0).branch('sequential');
    return;
  }
  const register = REGISTER.find((row) => row[0] === operation);
  if (register !== undefined) {
    f.get(RD).get(RS1).memory('i64.load', 0).get(RS2).memory('i64.load', 0).op(register[1]).memory('i64.store', 0).branch('sequential');
    return;
  }
  const wordImmediate = WORD_IMMEDIATE.find((row) => row[0] === operation);
  if (wordImmediate !== undefined) {
    f.get(RD).get(RS1).memory('i32.load', 0).get(IMM).op('i32.wrap_i64').op(wordImmediate[1]).op('i64.extend_i32_s');
    f.memory('i64.store', 0).branch('sequential');
    return;
  }
  const wordRegister = WORD_REGISTER.find((row) => row[0] === operation);
  if (wordRegister !== undefined) {
    f.get(RD).get(RS1).memory('i32.load', 0).get(RS2).memory('i32.load', 0).op(wordRegister[1]).op('i64.extend_i32_s');
    f.memory('i64.store', 0).branch('sequential');
    return;
  }
  const setLessThan = SET_LESS_THAN.find((row) => row[0] === operation);
  if (setLessThan !== undefined) {
    f.get(RD).get(RS1).memory('i64.load', 0);
    if (setLessThan[2]) f.get(IMM);
    else f.get(RS2).memory('i64.load', 0);
    f.op(setLessThan[1]).op('i64.extend_i32_u').memory('i64.store', 0).branch('sequential');
    return;
  }
  switch (operation) {
    case Operation.Lui:
      f.get(RD).get(IMM).memory('i64.store', 0).branch('sequential');
      return;
    case Operation.Auipc:
      f.get(RD).get(PC).get(IMM).op('i64.add').memory('i64.store', 0).branch('sequential');
      return;
    case Operation.Jal:
      f.get(PC).get(IMM).op('i64.add').set(TARGET);
      loopWeight(f);
      f.get(RD).get(PC).get(LENGTH).op('i64.extend_i32_u').op('i64.add').memory('i64.store', 0).branch('jumped');
      return;
    case Operation.Jalr:
      // The target before rd is written (rd may be rs1).
      f.get(RS1).memory('i64.load', 0).get(IMM).op('i64.add').i64(-2, -1).op('i64.and').set(TARGET);
      f.i32(1).set(WEIGHT);
      f.get(RD).get(PC).get(LENGTH).op('i64.extend_i32_u').op('i64.add').memory('i64.store', 0).branch('jumped');
      return;
    case Operation.Fence:
      f.branch('sequential');
      return;
    case Operation.Div: case Operation.Divu: case Operation.Rem: case Operation.Remu:
    case Operation.Divw: case Operation.Divuw: case Operation.Remw: case Operation.Remuw:
      emitDivide(f, operation);
      return;
    default:
      throw new Error(`interpreter core: no code for operation ${operation}`);
  }
}

/**
 * LR, SC and the AMOs on RAM the data TLBs map, as executeAtomic does them (the translator's
 * emitAtomic the same way); a misaligned address or a TLB miss leaves before the instruction.
 * The reservation (a physical address, or -1) is after the registers in the control area.
 */
function emitAtomic(f: FunctionBuilder, operation: Operation): void {
  const doubleword = operation >= Operation.LrD;
  const size = doubleword ? 8 : 4;
  const load: MemoryOpcode = doubleword ? 'i64.load' : 'i64.load32_s';
  const store: MemoryOpcode = doubleword ? 'i64.store' : 'i64.store32';
  f.get(RS1).memory('i64.load', 0).set(ADDRESS);
  requireAligned(f, size);
  /** Pushes the physical address of the host address in COUNT. */
  const physical = (): void => {
    f.get(COUNT).op('i64.extend_i32_u').get(CONTROL).memory('i32.load', HartControl.coreRamBase).op('i64.extend_i32_u').op('i64.add');
  };
  const hostAddress = (tlbOffset: number): void => {
    tlbEntry(f, ADDRESS, tlbOffset, ENTRY);
    f.get(ENTRY).memory('i32.load', 8).get(ADDRESS).op('i32.wrap_i64').i32(PAGE_SIZE - 1).op('i32.and').op('i32.add').set(COUNT);
  };
  if (operation === Operation.LrW || operation === Operation.LrD) {
    hostAddress(LOAD_TLB);
    f.get(CONTROL);
    physical();
    f.memory('i64.store', HartControl.reservation);
    f.get(RD).get(COUNT).memory(load, 0).memory('i64.store', 0).branch('sequential');
    return;
  }
  if (operation === Operation.ScW || operation === Operation.ScD) {
    // Without a reservation it fails with no access (no fault either).
    f.get(CONTROL).memory('i64.load', HartControl.reservation).i64(-1, -1).op('i64.eq').if('unreserved');
    f.get(RD).i64(1, 0).memory('i64.store', 0).branch('sequential');
    f.end();
    hostAddress(STORE_TLB);
    f.get(CONTROL).memory('i64.load', HartControl.reservation);
    physical();
    f.op('i64.eq').set(WORD_A);
    f.get(CONTROL).i64(-1, -1).memory('i64.store', HartControl.reservation);
    f.get(WORD_A).if('stored').get(COUNT).get(RS2).memory('i64.load', 0).memory(store, 0).end();
    f.get(RD).get(WORD_A).op('i32.eqz').op('i64.extend_i32_u').memory('i64.store', 0).branch('sequential');
    return;
  }
  hostAddress(STORE_TLB);
  f.get(COUNT).memory(load, 0).set(A);
  f.get(RS2).memory('i64.load', 0);
  if (!doubleword) f.op('i64.extend32_s');
  f.set(B);
  f.get(COUNT);
  const arithmetic = AMO_ARITHMETIC.find((row) => row[0] === operation);
  const keepOld = AMO_KEEP_OLD.find((row) => row[0] === operation);
  if (arithmetic !== undefined) f.get(A).get(B).op(arithmetic[1]);
  else if (keepOld !== undefined) f.get(A).get(B).get(A).get(B).op(keepOld[1]).op('select');
  else f.get(B); // amoswap
  f.memory(store, 0);
  f.get(RD).get(A).memory('i64.store', 0).branch('sequential');
}

/**
 * RISC-V's division never traps: by zero it gives all ones (quotient) or the dividend
 * (remainder); the signed overflow (-2^63 / -1) gives the dividend and remainder 0. A divisor
 * of -1 is a negation, which also covers the overflow, so Wasm's div_s never sees it. The W
 * forms follow the same rules on the low words, the result sign-extended from 32 bits.
 */
function emitDivide(f: FunctionBuilder, operation: Operation): void {
  const word = operation === Operation.Divw || operation === Operation.Divuw || operation === Operation.Remw || operation === Operation.Remuw;
  const signed = operation === Operation.Div || operation === Operation.Rem || operation === Operation.Divw || operation === Operation.Remw;
  const quotient = operation === Operation.Div || operation === Operation.Divu || operation === Operation.Divw || operation === Operation.Divuw;
  const type = word ? 'i32' : 'i64';
  const [a, b] = word ? [WORD_A, WORD_B] : [A, B];
  const constant = (value: number): void => void (word ? f.i32(value) : f.i64(value, value >> 31));
  f.get(RS1).memory(`${type}.load`, 0).set(a);
  f.get(RS2).memory(`${type}.load`, 0).set(b);
  f.get(RD);
  f.get(b).op(`${type}.eqz`).if('byZero', word ? ValueType.I32 : ValueType.I64);
  if (quotient) constant(-1); else f.get(a);
  f.else();
  if (signed) {
    f.get(b);
    constant(-1);
    f.op(`${type}.eq`).if('minusOne', word ? ValueType.I32 : ValueType.I64);
    constant(0);
    if (quotient) f.get(a).op(`${type}.sub`);
    f.else().get(a).get(b).op(quotient ? `${type}.div_s` : `${type}.rem_s`).end();
  } else {
    f.get(a).get(b).op(quotient ? `${type}.div_u` : `${type}.rem_u`);
  }
  f.end();
  if (word) f.op('i64.extend_i32_s');
  f.memory('i64.store', 0).branch('sequential');
}

let compiledCore: object | undefined;

/** The core's compiled module, compiled once per process (and by the warm-up, before a guest runs). */
export function interpreterCoreModule(compile: (bytes: Uint8Array) => object): object {
  compiledCore ??= compile(generateInterpreterCoreModule());
  return compiledCore;
}

// The sink pair is where rd = x0 writes go: the core addresses registers by their slot fields.
if (SINK_REGISTER !== 32) throw new Error('interpreter core: the sink register moved');
