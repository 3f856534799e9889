// Guest code to WebAssembly: plans a region (the blocks of one 4 KiB physical page reachable
// from a hot entry) and generates one module for it. The generated code is built only from
// decoded numeric fields. It never traps: any memory access that misses the data TLB in Wasm
// memory, crosses a page or would need a device, and any instruction outside the translated
// subset, leaves the region with the pc of that instruction and the number of instructions
// retired before it, so that the interpreter executes it exactly as it would have anyway.

import { RESERVATION_OFFSET } from '../cpu/hart';
import { DecodedInstruction, decodeInstruction } from '../isa/decoder';
import { Operation } from '../isa/operations';
import { ByteWriter, FunctionBuilder, ValueType, encodeModule, type FunctionDefinition, type FunctionType, type MemoryOpcode, type Opcode } from './wasm-encoder';

/** Layout of one hart's control area in the machine's Wasm memory (byte offsets). */
export const HartControl = {
  /** x0..x31 and the sink pair as little-endian 64-bit words (Hart.registers' layout). */
  registers: 0,
  /** The LR reservation (Hart's, after the registers): a physical address as an i64, or -1. */
  reservation: RESERVATION_OFFSET,
  /** Where a region leaves the pc it exits at (64 bits). */
  exitPc: 512,
  /** Why the interpreter core returned (CoreExit, 32 bits). */
  coreExit: 520,
  /** Byte offsets of the decode cache's slots and memo and of the hotness counters (32 bits each; the core reads them). */
  coreSlots: 524,
  coreMemo: 528,
  coreHotness: 532,
  /** Physical address of RAM offset 0 (32 bits; LR/SC reservations hold physical addresses). */
  coreRamBase: 536,
  /** The MMU's TLBs: 16-byte entries {tagLo, tagHi, ramOffset, unused}; fetch, then load, then store. */
  tlb: 4096,
  stride: 16384,
} as const;

export const TLB_ENTRIES_PER_KIND = 256;
const TLB_ENTRY_BYTES = 16;
export const LOAD_TLB = HartControl.tlb + TLB_ENTRIES_PER_KIND * TLB_ENTRY_BYTES;
export const STORE_TLB = HartControl.tlb + 2 * TLB_ENTRIES_PER_KIND * TLB_ENTRY_BYTES;

const PAGE_SIZE = 4096;
/** Limits that keep one module small enough to compile in about a millisecond. */
const MAX_BLOCK_INSTRUCTIONS = 128;
const MAX_REGION_BLOCKS = 96;
const MAX_REGION_INSTRUCTIONS = 1536;

export interface TranslatedInstruction {
  readonly offset: number;
  readonly length: number;
  readonly operation: Operation;
  readonly rd: number;
  readonly rs1: number;
  readonly rs2: number;
  readonly imm: number;
}

const enum BlockEnd {
  /** A conditional branch: `target` when taken, `next` otherwise. */
  Branch,
  /** jal: always `target`. */
  Jump,
  /** jalr: a computed target. */
  Indirect,
  /** Straight on to `next` (an instruction left to the interpreter, the page end, the size cap). */
  Continue,
}

interface PlannedBlock {
  readonly start: number;
  readonly instructions: TranslatedInstruction[];
  readonly end: BlockEnd;
  /** Page offset of the taken branch / jal target (may lie outside the page). */
  readonly target: number;
  /** Page offset after the block. */
  readonly next: number;
}

export interface RegionPlan {
  /** RAM offset of the region's page. */
  readonly pageRamOffset: number;
  readonly blocks: readonly PlannedBlock[];
  readonly instructionCount: number;
}

const LOADS = new Map<Operation, { opcode: MemoryOpcode; width: number }>([
  [Operation.Lb, { opcode: 'i64.load8_s', width: 1 }], [Operation.Lbu, { opcode: 'i64.load8_u', width: 1 }],
  [Operation.Lh, { opcode: 'i64.load16_s', width: 2 }], [Operation.Lhu, { opcode: 'i64.load16_u', width: 2 }],
  [Operation.Lw, { opcode: 'i64.load32_s', width: 4 }], [Operation.Lwu, { opcode: 'i64.load32_u', width: 4 }],
  [Operation.Ld, { opcode: 'i64.load', width: 8 }],
]);
const STORES = new Map<Operation, { opcode: MemoryOpcode; width: number }>([
  [Operation.Sb, { opcode: 'i64.store8', width: 1 }], [Operation.Sh, { opcode: 'i64.store16', width: 2 }],
  [Operation.Sw, { opcode: 'i64.store32', width: 4 }], [Operation.Sd, { opcode: 'i64.store', width: 8 }],
]);
const BRANCHES = new Map<Operation, Opcode>([
  [Operation.Beq, 'i64.eq'], [Operation.Bne, 'i64.ne'], [Operation.Blt, 'i64.lt_s'],
  [Operation.Bge, 'i64.ge_s'], [Operation.Bltu, 'i64.lt_u'], [Operation.Bgeu, 'i64.ge_u'],
]);
/** rd = rs1 OP sext(imm). */
const IMMEDIATE_OPERATIONS = new Map<Operation, Opcode>([
  [Operation.Addi, 'i64.add'], [Operation.Xori, 'i64.xor'], [Operation.Ori, 'i64.or'], [Operation.Andi, 'i64.and'],
  [Operation.Slli, 'i64.shl'], [Operation.Srli, 'i64.shr_u'], [Operation.Srai, 'i64.shr_s'], [Operation.Rori, 'i64.rotr'],
]);
/** rd = rs1 OP rs2. */
const REGISTER_OPERATIONS = new Map<Operation, Opcode>([
  [Operation.Add, 'i64.add'], [Operation.Sub, 'i64.sub'], [Operation.Sll, 'i64.shl'], [Operation.Xor, 'i64.xor'],
  [Operation.Srl, 'i64.shr_u'], [Operation.Sra, 'i64.shr_s'], [Operation.Or, 'i64.or'], [Operation.And, 'i64.and'],
  [Operation.Mul, 'i64.mul'], [Operation.Rol, 'i64.rotl'], [Operation.Ror, 'i64.rotr'],
]);
/** rd = sext32(rs1 OP imm) on the low words. */
const WORD_IMMEDIATE_OPERATIONS = new Map<Operation, Opcode>([
  [Operation.Addiw, 'i32.add'], [Operation.Slliw, 'i32.shl'], [Operation.Srliw, 'i32.shr_u'], [Operation.Sraiw, 'i32.shr_s'],
  [Operation.Roriw, 'i32.rotr'],
]);
/** rd = sext32(rs1 OP rs2) on the low words. */
const WORD_REGISTER_OPERATIONS = new Map<Operation, Opcode>([
  [Operation.Addw, 'i32.add'], [Operation.Subw, 'i32.sub'], [Operation.Sllw, 'i32.shl'], [Operation.Srlw, 'i32.shr_u'],
  [Operation.Sraw, 'i32.shr_s'], [Operation.Mulw, 'i32.mul'], [Operation.Rolw, 'i32.rotl'], [Operation.Rorw, 'i32.rotr'],
]);
/** LR/SC and the AMOs: memory operations on aligned words or doublewords (A extension). */
const ATOMICS = new Set<Operation>([
  Operation.LrW, Operation.ScW, Operation.AmoswapW, Operation.AmoaddW, Operation.AmoxorW, Operation.AmoandW, Operation.AmoorW,
  Operation.AmominW, Operation.AmomaxW, Operation.AmominuW, Operation.AmomaxuW,
  Operation.LrD, Operation.ScD, Operation.AmoswapD, Operation.AmoaddD, Operation.AmoxorD, Operation.AmoandD, Operation.AmoorD,
  Operation.AmominD, Operation.AmomaxD, Operation.AmominuD, Operation.AmomaxuD,
]);
/** The AMOs' new value from the old one (first operand) and rs2 (second). */
const AMO_ARITHMETIC = new Map<Operation, Opcode>([
  [Operation.AmoaddW, 'i64.add'], [Operation.AmoxorW, 'i64.xor'], [Operation.AmoandW, 'i64.and'], [Operation.AmoorW, 'i64.or'],
  [Operation.AmoaddD, 'i64.add'], [Operation.AmoxorD, 'i64.xor'], [Operation.AmoandD, 'i64.and'], [Operation.AmoorD, 'i64.or'],
]);
/** min/max: keep the old value when `old <op> rs2` holds (both sign-extended to 64 bits for .w). */
const AMO_KEEP_OLD = new Map<Operation, Opcode>([
  [Operation.AmominW, 'i64.lt_s'], [Operation.AmomaxW, 'i64.ge_s'], [Operation.AmominuW, 'i64.lt_u'], [Operation.AmomaxuW, 'i64.ge_u'],
  [Operation.AmominD, 'i64.lt_s'], [Operation.AmomaxD, 'i64.ge_s'], [Operation.AmominuD, 'i64.lt_u'], [Operation.AmomaxuD, 'i64.ge_u'],
]);

/** rd = zero-extended i32 result of a comparison. */
const SET_LESS_THAN = new Map<Operation, Opcode>([
  [Operation.Slt, 'i64.lt_s'], [Operation.Sltu, 'i64.lt_u'], [Operation.Slti, 'i64.lt_s'], [Operation.Sltiu, 'i64.lt_u'],
]);
const OTHER_TRANSLATED = new Set<Operation>([
  Operation.Lui, Operation.Auipc, Operation.Jal, Operation.Jalr, Operation.Fence,
  Operation.Mulh, Operation.Mulhsu, Operation.Mulhu, Operation.Div, Operation.Divu, Operation.Rem, Operation.Remu,
  Operation.Divw, Operation.Divuw, Operation.Remw, Operation.Remuw,
  Operation.Sh1add, Operation.Sh2add, Operation.Sh3add, Operation.AddUw, Operation.Sh1addUw, Operation.Sh2addUw,
  Operation.Sh3addUw, Operation.SlliUw,
  Operation.Andn, Operation.Orn, Operation.Xnor, Operation.Clz, Operation.Ctz, Operation.Cpop, Operation.Clzw,
  Operation.Ctzw, Operation.Cpopw, Operation.Max, Operation.Maxu, Operation.Min, Operation.Minu,
  Operation.SextB, Operation.SextH, Operation.ZextH,
  Operation.Bclr, Operation.Bclri, Operation.Bext, Operation.Bexti, Operation.Binv, Operation.Binvi, Operation.Bset, Operation.Bseti,
]);

/** Instructions after which the next one is not what runs next (returns from traps; illegal ones). */
const NEVER_FALLS_THROUGH = new Set<Operation>([Operation.Mret, Operation.Sret, Operation.Illegal]);

/** How emitInstruction handles an operation: one table lookup instead of a lookup per map. */
const enum OperationKind { Other, Load, Store, Atomic, BlockEnd, Immediate, Register, WordImmediate, WordRegister, SetLessThan }
const OPERATION_KIND = new Uint8Array(Operation.Count);
/** The Wasm opcode of the map-driven kinds. */
const OPERATION_OPCODE: Array<Opcode | undefined> = [];
{
  const classify = (operations: Iterable<Operation>, kind: OperationKind, opcodes?: ReadonlyMap<Operation, Opcode>): void => {
    for (const operation of operations) {
      OPERATION_KIND[operation] = kind;
      OPERATION_OPCODE[operation] = opcodes?.get(operation);
    }
  };
  classify(LOADS.keys(), OperationKind.Load);
  classify(STORES.keys(), OperationKind.Store);
  classify(ATOMICS, OperationKind.Atomic);
  classify([...BRANCHES.keys(), Operation.Jal, Operation.Jalr], OperationKind.BlockEnd);
  classify(IMMEDIATE_OPERATIONS.keys(), OperationKind.Immediate, IMMEDIATE_OPERATIONS);
  classify(REGISTER_OPERATIONS.keys(), OperationKind.Register, REGISTER_OPERATIONS);
  classify(WORD_IMMEDIATE_OPERATIONS.keys(), OperationKind.WordImmediate, WORD_IMMEDIATE_OPERATIONS);
  classify(WORD_REGISTER_OPERATIONS.keys(), OperationKind.WordRegister, WORD_REGISTER_OPERATIONS);
  classify(SET_LESS_THAN.keys(), OperationKind.SetLessThan, SET_LESS_THAN);
}

/** True for the operations this tier translates; everything else stays in the interpreter. */
export function isTranslated(operation: Operation): boolean {
  return LOADS.has(operation) || STORES.has(operation) || BRANCHES.has(operation) || IMMEDIATE_OPERATIONS.has(operation) ||
    REGISTER_OPERATIONS.has(operation) || WORD_IMMEDIATE_OPERATIONS.has(operation) ||
    WORD_REGISTER_OPERATIONS.has(operation) || SET_LESS_THAN.has(operation) || OTHER_TRANSLATED.has(operation) ||
    ATOMICS.has(operation);
}

const scratch = new DecodedInstruction();

/**
 * Plans the region of the page at `pageRamOffset` reachable from `entryOffset`: blocks in
 * increasing address order. Returns undefined when the entry instruction is not translated.
 */
export function planRegion(
  halfwords: Uint16Array, pageRamOffset: number, entryOffset: number, extensions: number, blockInstructions = MAX_BLOCK_INSTRUCTIONS,
): RegionPlan | undefined {
  const blocks: PlannedBlock[] = [];
  const seen = new Set<number>();
  const worklist = [entryOffset];
  let instructionCount = 0;
  while (worklist.length > 0 && blocks.length < MAX_REGION_BLOCKS && instructionCount < MAX_REGION_INSTRUCTIONS) {
    const start = worklist.pop()!;
    if (seen.has(start)) continue;
    seen.add(start);
    const inPage = (offset: number): boolean => offset >= 0 && offset < PAGE_SIZE;
    const block = decodeBlock(halfwords, pageRamOffset, start, extensions, blockInstructions);
    if (block === undefined) {
      // An instruction left to the interpreter (a CSR access, an atomic): the code after it is
      // a block of its own, where the tier resumes once the interpreter has executed it.
      const after = start + untranslatedLength(halfwords, pageRamOffset, start, extensions);
      if (after > start && inPage(after) && start !== entryOffset) worklist.push(after);
      continue;
    }
    blocks.push(block);
    instructionCount += block.instructions.length;
    if ((block.end === BlockEnd.Branch || block.end === BlockEnd.Jump) && inPage(block.target)) worklist.push(block.target);
    if ((block.end === BlockEnd.Branch || block.end === BlockEnd.Continue) && inPage(block.next)) worklist.push(block.next);
  }
  if (blocks.length === 0) return undefined;
  blocks.sort((a, b) => a.start - b.start);
  return { pageRamOffset, blocks, instructionCount };
}

/**
 * The length of the instruction at `offset` when it is a valid one the tier leaves to the
 * interpreter and execution can go on after it; 0 otherwise (not decodable, a 32-bit
 * instruction across the page end, or one that never falls through).
 */
function untranslatedLength(halfwords: Uint16Array, pageRamOffset: number, offset: number, extensions: number): number {
  let raw = halfwords[(pageRamOffset + offset) >>> 1];
  if ((raw & 3) === 3) {
    if (offset === PAGE_SIZE - 2) return 0;
    raw = (raw | (halfwords[((pageRamOffset + offset) >>> 1) + 1] << 16)) >>> 0;
  }
  decodeInstruction(raw, scratch, extensions);
  if (scratch.row < 0 || NEVER_FALLS_THROUGH.has(scratch.operation)) return 0;
  return scratch.length;
}

function decodeBlock(
  halfwords: Uint16Array, pageRamOffset: number, start: number, extensions: number, blockInstructions: number,
): PlannedBlock | undefined {
  const instructions: TranslatedInstruction[] = [];
  let offset = start;
  while (offset < PAGE_SIZE && instructions.length < blockInstructions) {
    let raw = halfwords[(pageRamOffset + offset) >>> 1];
    if ((raw & 3) === 3) {
      // A 32-bit instruction across the page end is the interpreter's (two translations, two checks).
      if (offset === PAGE_SIZE - 2) break;
      raw = (raw | (halfwords[((pageRamOffset + offset) >>> 1) + 1] << 16)) >>> 0;
    }
    decodeInstruction(raw, scratch, extensions);
    if (scratch.row < 0 || !isTranslated(scratch.operation)) break;
    const instruction: TranslatedInstruction = {
      offset, length: scratch.length, operation: scratch.operation, rd: scratch.rd, rs1: scratch.rs1, rs2: scratch.rs2, imm: scratch.imm,
    };
    instructions.push(instruction);
    offset += scratch.length;
    if (BRANCHES.has(instruction.operation)) {
      return { start, instructions, end: BlockEnd.Branch, target: instruction.offset + instruction.imm, next: offset };
    }
    if (instruction.operation === Operation.Jal) {
      return { start, instructions, end: BlockEnd.Jump, target: instruction.offset + instruction.imm, next: offset };
    }
    if (instruction.operation === Operation.Jalr) return { start, instructions, end: BlockEnd.Indirect, target: 0, next: offset };
  }
  if (instructions.length === 0) return undefined;
  return { start, instructions, end: BlockEnd.Continue, target: 0, next: offset };
}

// ---- code generation ------------------------------------------------------------------------

// run(entry, budget, control, pageLo, pageHi) -> instructions retired
const ENTRY = 0, BUDGET = 1, CONTROL = 2, PAGE_LO = 3, PAGE_HI = 4, OWN_SLOT = 5;
const COUNT = 6, SLOT = 7, CACHE_ADDRESS = 8, PAGE = 9, EXIT_PC = 10, ADDRESS = 11, FIRST = 12, SECOND = 13, VALUE = 14, FIRST_REGISTER = 15;
const FIXED_LOCALS = [ValueType.I32, ValueType.I32, ValueType.I32, ValueType.I64, ValueType.I64, ValueType.I64, ValueType.I64, ValueType.I64, ValueType.I64];
/** The type of every region function: (entry, budget, control, pageLo, pageHi, its own table slot) -> instructions retired. */
export const REGION_FUNCTION_TYPE: FunctionType = {
  parameters: [ValueType.I32, ValueType.I32, ValueType.I32, ValueType.I32, ValueType.I32, ValueType.I32],
  results: [ValueType.I32],
};

/**
 * One module for several regions (one module per region would cost a code-space allocation
 * and an instance each): exports `region0`, `region1`, … in the order of `plans`.
 */
export function generateRegionsModule(
  plans: readonly RegionPlan[], memoryPages: number, entryCacheOffset: number, ramBase: number,
): Uint8Array {
  const helpers: Helpers = { multiplyHigh: plans.length, entryCacheOffset, ramBase, code: new ByteWriter(16384) };
  const functions: FunctionDefinition[] = plans.map((plan, index) => ({
    ...generateRegionFunction(plan, helpers),
    exportName: `region${index}`,
  }));
  functions.push(multiplyHighUnsigned());
  return encodeModule(memoryPages, functions);
}

/** Entries of the direct-mapped entry cache the trampoline looks regions up in: {key + 1, slot << 7 | block}. */
export const ENTRY_CACHE_ENTRIES = 1 << 16;
export const ENTRY_CACHE_BYTES = ENTRY_CACHE_ENTRIES * 8;

/**
 * The trampoline every call from JavaScript goes through:
 * enter(slot, entry, budget, control, pageLo, pageHi, chain) -> instructions retired. It calls
 * table[slot]; with `chain`, while budget remains it follows the exit pc to the next region
 * itself (fetch TLB, then the entry cache at `entryCacheOffset`) instead of returning.
 */
export function generateTrampolineModule(memoryPages: number, tableSize: number, entryCacheOffset: number): Uint8Array {
  const SLOT = 0, ENTRY = 1, BUDGET = 2, CONTROL_PARAMETER = 3, PAGE_LOW = 4, PAGE_HIGH = 5, CHAIN = 6;
  const TOTAL = 7, RETIRED = 8, SLOT_ADDRESS = 9, KEY = 10, CACHE_ADDRESS = 11, VALUE = 12, PC = 13;
  const f = new FunctionBuilder();
  f.block('done').loop('next');
  f.get(ENTRY).get(BUDGET).get(TOTAL).op('i32.sub').get(CONTROL_PARAMETER).get(PAGE_LOW).get(PAGE_HIGH).get(SLOT).get(SLOT).callIndirect(1);
  f.tee(RETIRED).get(TOTAL).op('i32.add').set(TOTAL);
  f.get(RETIRED).op('i32.eqz').branchIf('done');
  f.get(CHAIN).op('i32.eqz').branchIf('done');
  f.get(TOTAL).get(BUDGET).op('i32.ge_u').branchIf('done');
  f.get(CONTROL_PARAMETER).memory('i64.load', HartControl.exitPc).set(PC);
  // The fetch TLB must map the exit pc's page (execute permission, no breakpoint there).
  f.get(PC).i64(12, 0).op('i64.shr_u').op('i32.wrap_i64').i32(TLB_ENTRIES_PER_KIND - 1).op('i32.and').i32(4).op('i32.shl');
  f.get(CONTROL_PARAMETER).op('i32.add').tee(SLOT_ADDRESS).memory('i64.load', HartControl.tlb);
  f.get(PC).i64(12, 0).op('i64.shr_u').i64(0xfffff, 0).op('i64.and').get(PC).i64(0, -1).op('i64.and').op('i64.or');
  f.op('i64.ne').branchIf('done');
  f.get(SLOT_ADDRESS).memory('i32.load', HartControl.tlb + 8).get(PC).op('i32.wrap_i64').i32(PAGE_SIZE - 1).op('i32.and').op('i32.add');
  f.i32(1).op('i32.shr_u').tee(KEY);
  f.i32(ENTRY_CACHE_ENTRIES - 1).op('i32.and').i32(3).op('i32.shl').tee(CACHE_ADDRESS);
  f.memory('i32.load', entryCacheOffset).get(KEY).i32(1).op('i32.add').op('i32.ne').branchIf('done');
  f.get(CACHE_ADDRESS).memory('i32.load', entryCacheOffset + 4).tee(VALUE).i32(7).op('i32.shr_u').set(SLOT);
  f.get(VALUE).i32(127).op('i32.and').set(ENTRY);
  f.get(PC).op('i32.wrap_i64').i32(-PAGE_SIZE).op('i32.and').set(PAGE_LOW);
  f.get(PC).i64(32, 0).op('i64.shr_u').op('i32.wrap_i64').set(PAGE_HIGH);
  f.branch('next');
  f.end().end();
  f.get(TOTAL);
  return encodeModule(memoryPages, [{
    exportName: 'enter',
    parameters: [ValueType.I32, ...REGION_FUNCTION_TYPE.parameters.slice(0, 5), ValueType.I32],
    results: [ValueType.I32],
    locals: [ValueType.I32, ValueType.I32, ValueType.I32, ValueType.I32, ValueType.I32, ValueType.I32, ValueType.I64],
    body: [f],
  }], { tableSize, extraTypes: [REGION_FUNCTION_TYPE] });
}

/** Function indices of the helpers every regions module has. */
interface Helpers {
  readonly multiplyHigh: number;
  /** Physical address of RAM offset 0 (LR/SC reservations hold physical addresses). */
  readonly ramBase: number;
  /** Where the trampoline's entry cache lives: an indirect jump within the page looks its target up there. */
  readonly entryCacheOffset: number;
  /** The buffer every function of the module is written into, one after another. */
  readonly code: ByteWriter;
}

function generateRegionFunction(plan: RegionPlan, helpers: Helpers): FunctionDefinition {
  const multiplyHighIndex = helpers.multiplyHigh;
  const body = new FunctionBuilder(helpers.code);
  const registerLocal = new Map<number, number>();
  const written = new Set<number>();
  const blockIndex = new Map<number, number>();
  plan.blocks.forEach((block, index) => blockIndex.set(block.start, index));

  const local = (register: number): number => {
    let index = registerLocal.get(register);
    if (index === undefined) {
      index = FIRST_REGISTER + registerLocal.size;
      registerLocal.set(register, index);
    }
    return index;
  };
  // A region that loops keeps the registers it uses in locals (loaded on entry, stored on
  // exit), which V8 keeps in host registers; one that does not (straight code between calls
  // and returns) reads and writes them in memory, so that entering and leaving costs nothing.
  const cached = plan.blocks.some((block, index) =>
    (block.end === BlockEnd.Branch || block.end === BlockEnd.Jump) && (blockIndex.get(block.target) ?? Infinity) <= index);
  const read = (register: number): void => {
    if (register === 0) body.i64(0, 0);
    else if (cached) body.get(local(register));
    else body.get(CONTROL).memory('i64.load', HartControl.registers + 8 * register);
  };
  /** Pops the value on the stack into rd (dropped for x0). */
  const write = (register: number): void => {
    if (register === 0) {
      body.op('drop');
      return;
    }
    if (!cached) {
      body.set(VALUE).get(CONTROL).get(VALUE).memory('i64.store', HartControl.registers + 8 * register);
      return;
    }
    written.add(register);
    body.set(local(register));
  };
  const immediate = (value: number): void => {
    body.i64(value, value >> 31);
  };
  /** Leaves the region at page + offset after `before` more instructions. */
  const exitAt = (offset: number, before: number): void => {
    body.get(PAGE).i64Number(offset).op('i64.add').set(EXIT_PC);
    if (before !== 0) body.get(COUNT).i32(before).op('i32.add').set(COUNT);
    body.branch('exit');
  };
  /** Control goes to page offset `target`: chained when it is a block of this region. */
  const goTo = (target: number, fromIndex: number, atTopLevel: boolean): void => {
    const index = blockIndex.get(target);
    if (index === undefined) {
      exitAt(target, 0);
      return;
    }
    if (atTopLevel && index === fromIndex + 1) return; // the next block's code follows
    body.i32(index).set(ENTRY).branch('dispatch');
  };

  body.block('exit');
  body.loop('dispatch');
  for (let index = plan.blocks.length - 1; index >= 0; index--) body.block(`block${index}`);
  body.get(ENTRY).branchTable(plan.blocks.map((_, index) => `block${index}`), 'block0');
  plan.blocks.forEach((block, index) => {
    body.end();
    const count = block.instructions.length;
    // Enter only when the whole block fits the budget: slices end on exactly the interpreter's instruction.
    body.get(COUNT).i32(count).op('i32.add').get(BUDGET).op('i32.gt_u').if('budget');
    exitAt(block.start, 0);
    body.end();
    block.instructions.forEach((instruction, position) => {
      emitInstruction(instruction, position);
    });
    body.get(COUNT).i32(count).op('i32.add').set(COUNT);
    const last = block.instructions[count - 1];
    switch (block.end) {
      case BlockEnd.Branch:
        read(last.rs1);
        read(last.rs2);
        body.op(BRANCHES.get(last.operation)!).if('taken');
        goTo(block.target, index, false);
        body.end();
        goTo(block.next, index, true);
        break;
      case BlockEnd.Jump:
        body.get(PAGE).i64Number(last.offset + last.length).op('i64.add');
        write(last.rd);
        goTo(block.target, index, true);
        break;
      case BlockEnd.Indirect:
        // Target first: rd may be rs1.
        read(last.rs1);
        immediate(last.imm);
        body.op('i64.add').i64(-2, -1).op('i64.and').set(EXIT_PC);
        body.get(PAGE).i64Number(last.offset + last.length).op('i64.add');
        write(last.rd);
        emitIndirectChain();
        body.branch('exit');
        break;
      default:
        goTo(block.next, index, true);
        break;
    }
  });
  body.end(); // dispatch
  body.end(); // exit

  function emitInstruction(instruction: TranslatedInstruction, position: number): void {
    const { operation, rd, rs1, rs2, imm } = instruction;
    const opcode = OPERATION_OPCODE[operation]!;
    switch (OPERATION_KIND[operation] as OperationKind) {
      case OperationKind.Load: case OperationKind.Store: {
        const load = LOADS.get(operation);
        const access = (load ?? STORES.get(operation))!;
        read(rs1);
        immediate(imm);
        body.op('i64.add').set(ADDRESS);
        emitTlbProbe(load === undefined ? STORE_TLB : LOAD_TLB, access.width, instruction.offset, position);
        if (load !== undefined) {
          body.memory(load.opcode, 0);
          write(rd);
        } else {
          read(rs2);
          body.memory(access.opcode, 0);
        }
        return;
      }
      case OperationKind.Atomic:
        emitAtomic(instruction, position);
        return;
      case OperationKind.BlockEnd:
        return; // the block's end emits it
      case OperationKind.Immediate:
        read(rs1);
        immediate(imm);
        body.op(opcode);
        write(rd);
        return;
      case OperationKind.Register:
        read(rs1);
        read(rs2);
        body.op(opcode);
        write(rd);
        return;
      case OperationKind.WordImmediate:
        read(rs1);
        body.op('i32.wrap_i64').i32(imm).op(opcode).op('i64.extend_i32_s');
        write(rd);
        return;
      case OperationKind.WordRegister:
        read(rs1);
        body.op('i32.wrap_i64');
        read(rs2);
        body.op('i32.wrap_i64').op(opcode).op('i64.extend_i32_s');
        write(rd);
        return;
      case OperationKind.SetLessThan:
        read(rs1);
        if (operation === Operation.Slti || operation === Operation.Sltiu) immediate(imm);
        else read(rs2);
        body.op(opcode).op('i64.extend_i32_u');
        write(rd);
        return;
      default:
        break;
    }
    switch (operation) {
      case Operation.Fence:
        return;
      case Operation.Lui:
        immediate(imm);
        write(rd);
        return;
      case Operation.Auipc:
        body.get(PAGE).i64Number(instruction.offset + imm).op('i64.add');
        write(rd);
        return;
      case Operation.Mulhu:
        read(rs1);
        read(rs2);
        body.call(multiplyHighIndex);
        write(rd);
        return;
      case Operation.Mulh:
      case Operation.Mulhsu:
        // Signed high product from the unsigned one: subtract b when a < 0 (and a when b < 0 for mulh).
        read(rs1);
        read(rs2);
        body.call(multiplyHighIndex);
        read(rs1);
        body.i64(63, 0).op('i64.shr_s');
        read(rs2);
        body.op('i64.and').op('i64.sub');
        if (operation === Operation.Mulh) {
          read(rs2);
          body.i64(63, 0).op('i64.shr_s');
          read(rs1);
          body.op('i64.and').op('i64.sub');
        }
        write(rd);
        return;
      case Operation.Div: case Operation.Divu: case Operation.Rem: case Operation.Remu:
        emitDivide64(operation, rd, rs1, rs2);
        return;
      case Operation.Divw: case Operation.Divuw: case Operation.Remw: case Operation.Remuw:
        emitDivide32(operation, rd, rs1, rs2);
        return;
      case Operation.Sh1add: case Operation.Sh2add: case Operation.Sh3add:
        read(rs1);
        body.i64(operation === Operation.Sh1add ? 1 : operation === Operation.Sh2add ? 2 : 3, 0).op('i64.shl');
        read(rs2);
        body.op('i64.add');
        write(rd);
        return;
      case Operation.AddUw: case Operation.Sh1addUw: case Operation.Sh2addUw: case Operation.Sh3addUw: {
        const shift = operation === Operation.AddUw ? 0 : operation === Operation.Sh1addUw ? 1 : operation === Operation.Sh2addUw ? 2 : 3;
        read(rs1);
        body.i64(-1, 0).op('i64.and');
        if (shift !== 0) body.i64(shift, 0).op('i64.shl');
        read(rs2);
        body.op('i64.add');
        write(rd);
        return;
      }
      case Operation.SlliUw:
        read(rs1);
        body.i64(-1, 0).op('i64.and');
        immediate(imm);
        body.op('i64.shl');
        write(rd);
        return;
      case Operation.Andn: case Operation.Orn:
        read(rs1);
        read(rs2);
        body.i64(-1, -1).op('i64.xor').op(operation === Operation.Andn ? 'i64.and' : 'i64.or');
        write(rd);
        return;
      case Operation.Xnor:
        read(rs1);
        read(rs2);
        body.op('i64.xor').i64(-1, -1).op('i64.xor');
        write(rd);
        return;
      case Operation.Clz: case Operation.Ctz: case Operation.Cpop:
        read(rs1);
        body.op(operation === Operation.Clz ? 'i64.clz' : operation === Operation.Ctz ? 'i64.ctz' : 'i64.popcnt');
        write(rd);
        return;
      case Operation.Clzw: case Operation.Ctzw: case Operation.Cpopw:
        read(rs1);
        body.op('i32.wrap_i64').op(operation === Operation.Clzw ? 'i32.clz' : operation === Operation.Ctzw ? 'i32.ctz' : 'i32.popcnt');
        body.op('i64.extend_i32_u');
        write(rd);
        return;
      case Operation.Max: case Operation.Maxu: case Operation.Min: case Operation.Minu: {
        // select(rs1, rs2, rs1 > rs2) for max; < for min.
        read(rs1);
        read(rs2);
        read(rs1);
        read(rs2);
        const compare: Opcode = operation === Operation.Max ? 'i64.gt_s' : operation === Operation.Maxu ? 'i64.gt_u'
          : operation === Operation.Min ? 'i64.lt_s' : 'i64.lt_u';
        body.op(compare).op('select');
        write(rd);
        return;
      }
      case Operation.SextB: case Operation.SextH:
        read(rs1);
        body.op(operation === Operation.SextB ? 'i64.extend8_s' : 'i64.extend16_s');
        write(rd);
        return;
      case Operation.ZextH:
        read(rs1);
        body.i64(0xffff, 0).op('i64.and');
        write(rd);
        return;
      case Operation.Bclr: case Operation.Bclri: case Operation.Binv: case Operation.Binvi: case Operation.Bset: case Operation.Bseti: {
        read(rs1);
        body.i64(1, 0);
        if (operation === Operation.Bclri || operation === Operation.Binvi || operation === Operation.Bseti) immediate(imm);
        else read(rs2);
        body.op('i64.shl');
        if (operation === Operation.Bclr || operation === Operation.Bclri) body.i64(-1, -1).op('i64.xor').op('i64.and');
        else if (operation === Operation.Binv || operation === Operation.Binvi) body.op('i64.xor');
        else body.op('i64.or');
        write(rd);
        return;
      }
      case Operation.Bext: case Operation.Bexti:
        read(rs1);
        if (operation === Operation.Bexti) immediate(imm);
        else read(rs2);
        body.op('i64.shr_u').i64(1, 0).op('i64.and');
        write(rd);
        return;
      default:
        throw new Error(`translation tier: operation ${operation} has no generator`);
    }
  }

  /**
   * Leaves the host address of the access on the stack when the data TLB maps the page and the
   * access stays in it; otherwise exits before the instruction.
   */
  function emitTlbProbe(tlb: number, width: number, offset: number, position: number): void {
    body.get(ADDRESS).i64(12, 0).op('i64.shr_u').op('i32.wrap_i64').i32(TLB_ENTRIES_PER_KIND - 1).op('i32.and');
    body.i32(4).op('i32.shl').get(CONTROL).op('i32.add').tee(SLOT);
    body.memory('i64.load', tlb);
    // The tag as the MMU stores it: {lo >>> 12, hi}.
    body.get(ADDRESS).i64(12, 0).op('i64.shr_u').i64(0xfffff, 0).op('i64.and');
    body.get(ADDRESS).i64(0, -1).op('i64.and').op('i64.or');
    body.op('i64.ne');
    if (width > 1) {
      body.get(ADDRESS).op('i32.wrap_i64').i32(PAGE_SIZE - 1).op('i32.and').i32(PAGE_SIZE - width).op('i32.gt_u').op('i32.or');
    }
    body.if('miss');
    exitAt(offset, position);
    body.end();
    body.get(SLOT).memory('i32.load', tlb + 8);
    body.get(ADDRESS).op('i32.wrap_i64').i32(PAGE_SIZE - 1).op('i32.and').op('i32.add');
  }

  /**
   * LR, SC and the AMOs on RAM the data TLBs map, as executeAtomic does them; a misaligned
   * address or a TLB miss leaves to the interpreter before the instruction (which raises the
   * fault, or walks). The reservation lives after the registers in the control area.
   */
  function emitAtomic(instruction: TranslatedInstruction, position: number): void {
    const { operation, rd, rs1, rs2, offset } = instruction;
    const doubleword = operation >= Operation.LrD; // the .d forms follow the .w ones, as in executeAtomic
    const size = doubleword ? 8 : 4;
    const loadOpcode: MemoryOpcode = doubleword ? 'i64.load' : 'i64.load32_s';
    const storeOpcode: MemoryOpcode = doubleword ? 'i64.store' : 'i64.store32';
    read(rs1);
    body.set(ADDRESS);
    body.get(ADDRESS).op('i32.wrap_i64').i32(size - 1).op('i32.and').if('misaligned');
    exitAt(offset, position);
    body.end();
    /** The physical address of the host address in CACHE_ADDRESS. */
    const physical = (): void => {
      body.get(CACHE_ADDRESS).op('i64.extend_i32_u').i64Number(helpers.ramBase).op('i64.add');
    };
    if (operation === Operation.LrW || operation === Operation.LrD) {
      emitTlbProbe(LOAD_TLB, size, offset, position);
      body.set(CACHE_ADDRESS);
      body.get(CONTROL);
      physical();
      body.memory('i64.store', HartControl.reservation);
      body.get(CACHE_ADDRESS).memory(loadOpcode, 0);
      write(rd);
      return;
    }
    if (operation === Operation.ScW || operation === Operation.ScD) {
      // Without a reservation it fails with no access (no fault either).
      body.get(CONTROL).memory('i64.load', HartControl.reservation).i64(-1, -1).op('i64.eq').if('unreserved');
      body.i64(1, 0);
      write(rd);
      body.else();
      emitTlbProbe(STORE_TLB, size, offset, position);
      body.set(CACHE_ADDRESS);
      body.get(CONTROL).memory('i64.load', HartControl.reservation);
      physical();
      body.op('i64.eq').set(SLOT);
      body.get(CONTROL).i64(-1, -1).memory('i64.store', HartControl.reservation);
      body.get(SLOT).if('stored');
      body.get(CACHE_ADDRESS);
      read(rs2);
      body.memory(storeOpcode, 0);
      body.end();
      body.get(SLOT).op('i32.eqz').op('i64.extend_i32_u');
      write(rd);
      body.end();
      return;
    }
    emitTlbProbe(STORE_TLB, size, offset, position);
    body.set(CACHE_ADDRESS);
    body.get(CACHE_ADDRESS).memory(loadOpcode, 0).set(FIRST);
    body.get(CACHE_ADDRESS);
    const operand = (): void => {
      read(rs2);
      if (!doubleword) body.op('i64.extend32_s');
    };
    const arithmetic = AMO_ARITHMETIC.get(operation);
    const keepOld = AMO_KEEP_OLD.get(operation);
    if (arithmetic !== undefined) {
      body.get(FIRST);
      operand();
      body.op(arithmetic);
    } else if (keepOld !== undefined) {
      body.get(FIRST);
      operand();
      body.get(FIRST);
      operand();
      body.op(keepOld).op('select');
    } else {
      operand(); // amoswap
    }
    body.memory(storeOpcode, 0);
    body.get(FIRST);
    write(rd);
  }

  /**
   * An indirect jump (a return, a jump table) to a block of this region in this page goes there
   * directly: the entry cache, keyed by RAM offset, says which region and block registered it.
   */
  function emitIndirectChain(): void {
    body.get(EXIT_PC).get(PAGE).op('i64.sub').tee(ADDRESS).i64(PAGE_SIZE, 0).op('i64.lt_u').if('inPage');
    body.get(ADDRESS).op('i32.wrap_i64').i32(plan.pageRamOffset).op('i32.add').i32(1).op('i32.shr_u').tee(SLOT);
    body.i32(ENTRY_CACHE_ENTRIES - 1).op('i32.and').i32(3).op('i32.shl').tee(CACHE_ADDRESS);
    body.memory('i32.load', helpers.entryCacheOffset).get(SLOT).i32(1).op('i32.add').op('i32.eq').if('cached');
    body.get(CACHE_ADDRESS).memory('i32.load', helpers.entryCacheOffset + 4).tee(SLOT).i32(7).op('i32.shr_u');
    body.get(OWN_SLOT).op('i32.eq').if('mine');
    body.get(SLOT).i32(127).op('i32.and').set(ENTRY).branch('dispatch');
    body.end().end().end();
  }

  function emitDivide64(operation: Operation, rd: number, rs1: number, rs2: number): void {
    const signed = operation === Operation.Div || operation === Operation.Rem;
    const remainder = operation === Operation.Rem || operation === Operation.Remu;
    read(rs1);
    body.set(FIRST);
    read(rs2);
    body.tee(SECOND).op('i64.eqz').if('zero', ValueType.I64);
    // Division by zero: quotient all ones, remainder the dividend.
    if (remainder) body.get(FIRST);
    else body.i64(-1, -1);
    body.else();
    if (signed && !remainder) {
      // MIN / -1 overflows: the quotient is MIN (Wasm would trap).
      body.get(FIRST).i64(0, 0x80000000 | 0).op('i64.eq').get(SECOND).i64(-1, -1).op('i64.eq').op('i32.and');
      body.if('overflow', ValueType.I64).get(FIRST).else();
      body.get(FIRST).get(SECOND).op('i64.div_s').end();
    } else {
      body.get(FIRST).get(SECOND).op(signed ? 'i64.rem_s' : remainder ? 'i64.rem_u' : 'i64.div_u');
    }
    body.end();
    write(rd);
  }

  function emitDivide32(operation: Operation, rd: number, rs1: number, rs2: number): void {
    const signed = operation === Operation.Divw || operation === Operation.Remw;
    const remainder = operation === Operation.Remw || operation === Operation.Remuw;
    read(rs1);
    body.set(FIRST);
    read(rs2);
    body.set(SECOND);
    body.get(SECOND).op('i32.wrap_i64').op('i32.eqz').if('zero', ValueType.I64);
    if (remainder) body.get(FIRST).op('i32.wrap_i64').op('i64.extend_i32_s');
    else body.i64(-1, -1);
    body.else();
    if (signed && !remainder) {
      body.get(FIRST).op('i32.wrap_i64').i32(0x80000000 | 0).op('i32.eq');
      body.get(SECOND).op('i32.wrap_i64').i32(-1).op('i32.eq').op('i32.and');
      body.if('overflow', ValueType.I64).i64(0, -1).i64(0x80000000 | 0, 0).op('i64.or').else();
      body.get(FIRST).op('i32.wrap_i64').get(SECOND).op('i32.wrap_i64').op('i32.div_s').op('i64.extend_i32_s').end();
    } else {
      body.get(FIRST).op('i32.wrap_i64').get(SECOND).op('i32.wrap_i64');
      body.op(signed ? 'i32.rem_s' : remainder ? 'i32.rem_u' : 'i32.div_u').op('i64.extend_i32_s');
    }
    body.end();
    write(rd);
  }

  body.finish();
  // Prologue: the page base and the registers the region uses; epilogue: the written ones back.
  const prologue = new FunctionBuilder(helpers.code);
  prologue.get(PAGE_LO).op('i64.extend_i32_u').get(PAGE_HI).op('i64.extend_i32_u').i64(32, 0).op('i64.shl').op('i64.or').set(PAGE);
  for (const [register, index] of registerLocal) {
    prologue.get(CONTROL).memory('i64.load', HartControl.registers + 8 * register).set(index);
  }
  prologue.finish();
  const epilogue = new FunctionBuilder(helpers.code);
  for (const register of written) {
    epilogue.get(CONTROL).get(registerLocal.get(register)!).memory('i64.store', HartControl.registers + 8 * register);
  }
  epilogue.get(CONTROL).get(EXIT_PC).memory('i64.store', HartControl.exitPc);
  epilogue.get(COUNT);
  epilogue.finish();
  return {
    ...REGION_FUNCTION_TYPE,
    locals: [...FIXED_LOCALS, ...[...registerLocal.keys()].map(() => ValueType.I64)],
    body: [prologue, body, epilogue],
  };
}

/** (a × b) >> 64 for unsigned 64-bit a and b, from 32-bit halves. */
function multiplyHighUnsigned(): FunctionDefinition {
  const A = 0, B = 1, LOW_LOW = 2, LOW_HIGH = 3, HIGH_LOW = 4, MIDDLE = 5;
  const f = new FunctionBuilder();
  const low = (local: number): void => { f.get(local).i64(-1, 0).op('i64.and'); };
  const high = (local: number): void => { f.get(local).i64(32, 0).op('i64.shr_u'); };
  low(A); low(B); f.op('i64.mul').set(LOW_LOW);
  low(A); high(B); f.op('i64.mul').set(LOW_HIGH);
  high(A); low(B); f.op('i64.mul').set(HIGH_LOW);
  // Carries out of the middle 32 bits: at most 3 × (2^32 - 1), no overflow.
  high(LOW_LOW); low(LOW_HIGH); f.op('i64.add'); low(HIGH_LOW); f.op('i64.add').set(MIDDLE);
  high(A); high(B); f.op('i64.mul');
  high(LOW_HIGH); f.op('i64.add');
  high(HIGH_LOW); f.op('i64.add');
  high(MIDDLE); f.op('i64.add');
  return { parameters: [ValueType.I64, ValueType.I64], results: [ValueType.I64], locals: [ValueType.I64, ValueType.I64, ValueType.I64, ValueType.I64], body: [f] };
}
