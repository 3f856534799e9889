// The interpreter: the reference execution tier. It runs the unprivileged instructions
// itself and hands every sensitive one (CSR access, xRET, WFI, SFENCE.VMA, ECALL, EBREAK,
// FENCE.I, illegal encodings) to the monitor. Decoded instructions are cached by their raw
// bits (one cache per set of enabled extensions), so self-modifying code needs no
// invalidation. Nothing here allocates per instruction.

import { decodeInstruction, DecodedInstruction } from '../isa/decoder';
import { Operation } from '../isa/operations';
import { INSTRUCTIONS, type InstructionFormat } from '../isa/table';
import { ExceptionCause, Mstatus } from './csr-numbers';
import { executeFloatingPoint } from './float-execute';
import { SINK_REGISTER, type Hart } from './hart';
import type { ExceptionRaiser, Mmu } from './mmu';
import { AccessKind } from './pmp';

/** What the interpreter hands to the monitor. Each handler updates pc itself. */
export interface SensitiveInstructionHandler extends ExceptionRaiser {
  csrInstruction(hart: Hart, operation: Operation, rd: number, rs1: number, csr: number, length: number): void;
  mret(hart: Hart): void;
  sret(hart: Hart): void;
  wfi(hart: Hart, length: number): void;
  sfenceVma(hart: Hart, rs1: number, rs2: number, length: number): void;
  ecall(hart: Hart): void;
  ebreak(hart: Hart): void;
  fenceI(hart: Hart, length: number): void;
  illegalInstruction(hart: Hart, raw: number): void;
}

// ---- decode cache ------------------------------------------------------------------------

const CACHE_BITS = 16;
export const DECODE_CACHE_SLOTS = 1 << CACHE_BITS;
const CACHE_SIZE = DECODE_CACHE_SLOTS;
export const DECODE_SLOT_WORDS = 4;
const SLOT_WORDS = DECODE_SLOT_WORDS;
/**
 * Decoded instructions by their bits, for refills: a kernel has a few tens of thousands of
 * distinct instruction words at ten times as many addresses (Linux's boot: 52 k words, 1.05 M
 * refills of the pc-indexed slots, 79 % of them found in this table of 256 KiB, which stays in
 * the host's L2), so most refills copy a slot instead of running the decoder.
 */
export const DECODE_MEMO_BITS = 14;
const MEMO_BITS = DECODE_MEMO_BITS;
/** The multiplier of the memo's hash of the raw bits (the interpreter core hashes the same way). */
export const DECODE_MEMO_HASH = 0x9e3779b1;
/** Bytes of a decode cache's storage: the slots, then the memo. */
export const DECODE_CACHE_BYTES = (CACHE_SIZE + (1 << MEMO_BITS)) * SLOT_WORDS * 4;

const FLOAT_DESTINATION_FORMATS: ReadonlySet<InstructionFormat> = new Set([
  'FLoad', 'R4', 'FR', 'FRNoRm', 'FUnary', 'IntToF', 'FMoveFromInt',
]);
/** Operations whose rd=0 must be kept (CSR instructions skip the read when rd is x0). */
const CSR_OPERATIONS: ReadonlySet<Operation> = new Set([
  Operation.Csrrw, Operation.Csrrs, Operation.Csrrc, Operation.Csrrwi, Operation.Csrrsi, Operation.Csrrci,
]);
const scratch = new DecodedInstruction();

/** What a refill needs of each table row, looked up once instead of by sets of names per refill. */
const enum RowTrait {
  /** rd = x0 stays x0 (CSR instructions skip the read; F destinations are f0), not the sink. */
  KeepsX0 = 1,
  /** The auxiliary word is the CSR number or fence bits (else the rounding mode). */
  CsrField = 2,
}
const ROW_TRAITS = Uint8Array.from(INSTRUCTIONS, (spec) => {
  const floatDestination = spec.length === 4 ? FLOAT_DESTINATION_FORMATS.has(spec.format) : isFloatDestination(spec.operation);
  return (CSR_OPERATIONS.has(spec.operation) || floatDestination ? RowTrait.KeepsX0 : 0) |
    (spec.format === 'Csr' || spec.format === 'CsrImm' || spec.format === 'Fence' ? RowTrait.CsrField : 0);
});

/**
 * Decoded instructions for one set of enabled extensions (harts of different CPU models decode
 * the same bits differently, so each set has its cache). The translation tier keeps its
 * machine's in its Wasm memory, where the interpreter core reads and refills the same slots.
 */
export class DecodeCache {
  /**
   * SLOT_WORDS words per slot, together so that a lookup touches one host cache line (Linux's
   * working set misses the host caches; four separate arrays cost four misses):
   * - raw bits of the cached instruction (compressed ones zero-extended from 16 bits; raw 0 is
   *   illegal, which slot contents already say),
   * - operation | rd << 8 | rs1 << 14 | rs2 << 19 | rs3 << 24 | compressed << 29,
   * - the immediate,
   * - the CSR number, rounding mode or fence bits.
   */
  readonly slots: Int32Array;
  /** Slots in the same layout, indexed by a hash of the raw bits (all zero: raw 0, illegal). */
  private readonly memo: Int32Array;

  /** `storage`: where the slots and then the memo live (DECODE_CACHE_BYTES, zeroed), else their own buffers. */
  constructor(private readonly extensions: number, storage?: { buffer: ArrayBufferLike; byteOffset: number }) {
    this.slots = storage === undefined
      ? new Int32Array(CACHE_SIZE * SLOT_WORDS) : new Int32Array(storage.buffer, storage.byteOffset, CACHE_SIZE * SLOT_WORDS);
    this.memo = storage === undefined
      ? new Int32Array((1 << MEMO_BITS) * SLOT_WORDS)
      : new Int32Array(storage.buffer, storage.byteOffset + CACHE_SIZE * SLOT_WORDS * 4, (1 << MEMO_BITS) * SLOT_WORDS);
  }

  /** Decodes `raw` into the slot at word index `base`. */
  fill(base: number, raw: number): void {
    const memo = this.memo;
    const entry = (Math.imul(raw, DECODE_MEMO_HASH) >>> (32 - MEMO_BITS)) * SLOT_WORDS;
    if (memo[entry] !== raw) this.decode(memo, entry, raw);
    const slots = this.slots;
    slots[base] = raw;
    slots[base + 1] = memo[entry + 1];
    slots[base + 2] = memo[entry + 2];
    slots[base + 3] = memo[entry + 3];
  }

  /** Decodes `raw` into `slots` at word index `base`. */
  private decode(slots: Int32Array, base: number, raw: number): void {
    decodeInstruction(raw, scratch, this.extensions);
    const row = scratch.row;
    const traits = row >= 0 ? ROW_TRAITS[row] : 0;
    const rd = scratch.rd === 0 && row >= 0 && (traits & RowTrait.KeepsX0) === 0 ? SINK_REGISTER : scratch.rd;
    slots[base] = raw;
    slots[base + 1] =
      scratch.operation | (rd << 8) | (scratch.rs1 << 14) | (scratch.rs2 << 19) | (scratch.rs3 << 24) | (scratch.length === 2 ? 1 << 29 : 0);
    slots[base + 2] = scratch.imm;
    slots[base + 3] = (traits & RowTrait.CsrField) !== 0 ? scratch.csr : scratch.roundingMode;
  }
}

const decodeCaches = new Map<number, DecodeCache>();

export function decodeCacheFor(extensions: number): DecodeCache {
  let cache = decodeCaches.get(extensions);
  if (cache === undefined) {
    cache = new DecodeCache(extensions);
    decodeCaches.set(extensions, cache);
  }
  return cache;
}

function isFloatDestination(operation: Operation): boolean {
  return operation === Operation.Fld || operation === Operation.Flw;
}

// The packed slot keeps the operation in 8 bits.
if (Operation.Count > 0xff) throw new Error('instruction table outgrew the decode cache (more than 255 operations)');

// ---- 64-bit helpers on lo/hi pairs ---------------------------------------------------------

/** High word of the last mul64Low. */
let productHigh = 0;

/**
 * Low 64 bits of a 64×64 product, from 16-bit limbs (no BigInt). The partial sums stay below
 * 2^35, where floor and multiply are exact (`%` on doubles would call libc's fmod).
 */
function mul64Low(aLo: number, aHi: number, bLo: number, bHi: number): number {
  const a0 = aLo & 0xffff, a1 = aLo >>> 16, b0 = bLo & 0xffff, b1 = bLo >>> 16;
  const middle = a0 * b1 + a1 * b0;
  const middleHigh = Math.floor(middle / 65536);
  const low = a0 * b0 + (middle - middleHigh * 65536) * 65536;
  const carry = Math.floor(low / 4294967296);
  const lowWord = low - carry * 4294967296;
  const high = a1 * b1 + middleHigh + carry;
  productHigh = (high + Math.imul(aLo, bHi) + Math.imul(aHi, bLo)) | 0;
  return lowWord | 0;
}

// ---- jump-target hotness (for the translation tier) --------------------------------------

/** Jump targets are counted in a table indexed by pc bits 16:1. */
export const HOTNESS_MASK = 0xffff;
/**
 * Jumps to a target after which the translation tier compiles the code there (the tier doubles
 * it as its cache fills). The interpreter core (translation/interpreter-core.ts) runs untranslated
 * code at a fraction of translated speed, so translating pays only for code run thousands of
 * times: Linux's boot, whose code mostly runs a few hundred to a few thousand times, is fastest
 * with a threshold in the thousands (bench/RESULTS.md, "sixth round").
 */
export const HOT_THRESHOLD = 8000;
/**
 * A backward branch or jal (a loop) counts this many jumps: a CPU-bound guest's loops are
 * translated after HOT_THRESHOLD / LOOP_WEIGHT iterations, within milliseconds, while straight
 * code reached by calls waits for the whole threshold.
 */
export const LOOP_WEIGHT = 4;

/**
 * Counts `weight` jumps to `targetLo` and returns the count. Saturating: a target with a
 * translation is jumped to far more than 65,535 times, and a count wrapped to 0 would keep the
 * interpreter from returning there (to enter it) for the next threshold's worth of jumps.
 */
export function countJumpTarget(hotness: Uint16Array, targetLo: number, weight = 1): number {
  const index = (targetLo >>> 1) & HOTNESS_MASK;
  const count = hotness[index] + weight;
  if (count <= 0xffff) hotness[index] = count;
  return count;
}

/** Counts a jump to `targetLo` (a loop's with LOOP_WEIGHT when `offset` is negative); true once the target is hot. */
function reachedHotTarget(hotness: Uint16Array, targetLo: number, threshold: number, offset: number): boolean {
  return countJumpTarget(hotness, targetLo, offset < 0 ? LOOP_WEIGHT : 1) >= threshold;
}

/**
 * Runs up to `budget` instructions on `hart`. Returns early when hart.exitRequested is set
 * (a trap, a device access, a CSR write, wfi, a breakpoint). Interrupts are not sampled
 * here: the caller samples them between slices. With `hotness` (the translation tier's jump
 * counters) it also returns after a control transfer to a hot target, so the tier can enter
 * translated code there. Returns the number of instruction attempts made.
 */
export function runInterpreter(
  hart: Hart,
  mmu: Mmu,
  monitor: SensitiveInstructionHandler,
  budget: number,
  hotness: Uint16Array | null = null,
  hotThreshold = HOT_THRESHOLD,
  cache: DecodeCache = decodeCacheFor(hart.cpu.extensionMask),
): number {
  const x = hart.registers;
  let executed = 0;
  hart.exitRequested = false;
  // The page being executed: its RAM offset, valid for the rest of the slice (flushes end it).
  let fetchPage = -1;
  let fetchPageHigh = 0;
  let fetchPageBase = 0;
  const words = mmu.guestRam.words;
  const halfwords = mmu.guestRam.halfwords;
  const slots = cache.slots;

  execute: while (executed < budget && !hart.exitRequested) {
    const pcLo = hart.pcLo;
    const pcHi = hart.pcHi;
    let raw: number;
    if ((pcLo >>> 12) === fetchPage && pcHi === fetchPageHigh && (pcLo & 0xfff) !== 0xffe) {
      const offset = fetchPageBase + (pcLo & 0xfff);
      raw = (offset & 3) === 0 ? words[offset >> 2] : halfwords[offset >> 1] | (halfwords[(offset >> 1) + 1] << 16);
    } else {
      raw = mmu.fetch(pcLo, pcHi);
      // A fault, or a code breakpoint (its pages stay out of the fetch TLB, so only they pay).
      if (mmu.faulted) {
        mmu.faulted = false;
        continue;
      }
      if (mmu.lastFetchPageBase >= 0) {
        fetchPage = pcLo >>> 12;
        fetchPageHigh = pcHi;
        fetchPageBase = mmu.lastFetchPageBase;
      }
    }
    if ((raw & 3) !== 3) raw &= 0xffff;
    // Indexed by pc (neighbouring instructions share cache lines), tagged by the raw bits.
    const slot = ((pcLo >>> 1) & (CACHE_SIZE - 1)) * SLOT_WORDS;
    if (slots[slot] !== raw) cache.fill(slot, raw);
    const packed = slots[slot + 1];
    const imm = slots[slot + 2];
    const length = (packed & (1 << 29)) !== 0 ? 2 : 4;
    const rd = ((packed >>> 8) & 63) << 1;
    const rs1 = ((packed >>> 14) & 31) << 1;
    const rs2 = ((packed >>> 19) & 31) << 1;
    executed++;
    hart.instructionsRetired++;

    switch ((packed & 0xff) as Operation) {
      case Operation.Lui:
        x[rd] = imm;
        x[rd + 1] = imm >> 31;
        break;
      case Operation.Auipc: {
        const lo = (pcLo + imm) | 0;
        x[rd + 1] = (pcHi + (imm >> 31) + ((lo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
        x[rd] = lo;
        break;
      }
      case Operation.Jal: {
        const returnLo = (pcLo + length) | 0;
        const returnHi = (pcHi + ((returnLo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
        const targetLo = (pcLo + imm) | 0;
        hart.pcHi = (pcHi + (imm >> 31) + ((targetLo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
        hart.pcLo = targetLo;
        x[rd] = returnLo;
        x[rd + 1] = returnHi;
        if (hotness !== null && reachedHotTarget(hotness, targetLo, hotThreshold, imm)) return executed;
        continue execute;
      }
      case Operation.Jalr: {
        const baseLo = x[rs1], baseHi = x[rs1 + 1];
        const targetLo = (baseLo + imm) | 0;
        hart.pcHi = (baseHi + (imm >> 31) + ((targetLo >>> 0) < (baseLo >>> 0) ? 1 : 0)) | 0;
        hart.pcLo = targetLo & ~1;
        const returnLo = (pcLo + length) | 0;
        x[rd] = returnLo;
        x[rd + 1] = (pcHi + ((returnLo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
        if (hotness !== null && reachedHotTarget(hotness, targetLo, hotThreshold, 0)) return executed;
        continue execute;
      }
      case Operation.Beq:
        if (x[rs1] === x[rs2] && x[rs1 + 1] === x[rs2 + 1]) {
          takeBranch(hart, pcLo, pcHi, imm);
          if (hotness !== null && reachedHotTarget(hotness, hart.pcLo, hotThreshold, imm)) return executed;
          continue execute;
        }
        break;
      case Operation.Bne:
        if (x[rs1] !== x[rs2] || x[rs1 + 1] !== x[rs2 + 1]) {
          takeBranch(hart, pcLo, pcHi, imm);
          if (hotness !== null && reachedHotTarget(hotness, hart.pcLo, hotThreshold, imm)) return executed;
          continue execute;
        }
        break;
      case Operation.Blt: {
        const aHi = x[rs1 + 1], bHi = x[rs2 + 1];
        if (aHi < bHi || (aHi === bHi && (x[rs1] >>> 0) < (x[rs2] >>> 0))) {
          takeBranch(hart, pcLo, pcHi, imm);
          if (hotness !== null && reachedHotTarget(hotness, hart.pcLo, hotThreshold, imm)) return executed;
          continue execute;
        }
        break;
      }
      case Operation.Bge: {
        const aHi = x[rs1 + 1], bHi = x[rs2 + 1];
        if (aHi > bHi || (aHi === bHi && (x[rs1] >>> 0) >= (x[rs2] >>> 0))) {
          takeBranch(hart, pcLo, pcHi, imm);
          if (hotness !== null && reachedHotTarget(hotness, hart.pcLo, hotThreshold, imm)) return executed;
          continue execute;
        }
        break;
      }
      case Operation.Bltu: {
        const aHi = x[rs1 + 1] >>> 0, bHi = x[rs2 + 1] >>> 0;
        if (aHi < bHi || (aHi === bHi && (x[rs1] >>> 0) < (x[rs2] >>> 0))) {
          takeBranch(hart, pcLo, pcHi, imm);
          if (hotness !== null && reachedHotTarget(hotness, hart.pcLo, hotThreshold, imm)) return executed;
          continue execute;
        }
        break;
      }
      case Operation.Bgeu: {
        const aHi = x[rs1 + 1] >>> 0, bHi = x[rs2 + 1] >>> 0;
        if (aHi > bHi || (aHi === bHi && (x[rs1] >>> 0) >= (x[rs2] >>> 0))) {
          takeBranch(hart, pcLo, pcHi, imm);
          if (hotness !== null && reachedHotTarget(hotness, hart.pcLo, hotThreshold, imm)) return executed;
          continue execute;
        }
        break;
      }

      // ---- loads and stores ----
      case Operation.Lb: case Operation.Lh: case Operation.Lw: case Operation.Ld:
      case Operation.Lbu: case Operation.Lhu: case Operation.Lwu: {
        const baseLo = x[rs1];
        const addressLo = (baseLo + imm) | 0;
        const addressHi = (x[rs1 + 1] + (imm >> 31) + ((addressLo >>> 0) < (baseLo >>> 0) ? 1 : 0)) | 0;
        let lo: number, hi: number;
        switch ((packed & 0xff) as Operation) {
          case Operation.Lb: lo = (mmu.load8(addressLo, addressHi) << 24) >> 24; hi = lo >> 31; break;
          case Operation.Lbu: lo = mmu.load8(addressLo, addressHi); hi = 0; break;
          case Operation.Lh: lo = (mmu.load16(addressLo, addressHi) << 16) >> 16; hi = lo >> 31; break;
          case Operation.Lhu: lo = mmu.load16(addressLo, addressHi); hi = 0; break;
          case Operation.Lw: lo = mmu.load32(addressLo, addressHi); hi = lo >> 31; break;
          case Operation.Lwu: lo = mmu.load32(addressLo, addressHi); hi = 0; break;
          default: lo = mmu.load64(addressLo, addressHi); hi = mmu.high; break;
        }
        if (mmu.faulted) { mmu.faulted = false; hart.instructionsRetired--; continue execute; }
        x[rd] = lo;
        x[rd + 1] = hi;
        break;
      }
      case Operation.Sb: case Operation.Sh: case Operation.Sw: case Operation.Sd: {
        const baseLo = x[rs1];
        const addressLo = (baseLo + imm) | 0;
        const addressHi = (x[rs1 + 1] + (imm >> 31) + ((addressLo >>> 0) < (baseLo >>> 0) ? 1 : 0)) | 0;
        switch ((packed & 0xff) as Operation) {
          case Operation.Sb: mmu.store8(addressLo, addressHi, x[rs2]); break;
          case Operation.Sh: mmu.store16(addressLo, addressHi, x[rs2]); break;
          case Operation.Sw: mmu.store32(addressLo, addressHi, x[rs2]); break;
          default: mmu.store64(addressLo, addressHi, x[rs2], x[rs2 + 1]); break;
        }
        if (mmu.faulted) { mmu.faulted = false; hart.instructionsRetired--; continue execute; }
        break;
      }

      // ---- integer register-immediate ----
      case Operation.Addi: {
        const aLo = x[rs1];
        const lo = (aLo + imm) | 0;
        x[rd + 1] = (x[rs1 + 1] + (imm >> 31) + ((lo >>> 0) < (aLo >>> 0) ? 1 : 0)) | 0;
        x[rd] = lo;
        break;
      }
      case Operation.Sltiu: {
        const aHi = x[rs1 + 1] >>> 0, bHi = (imm >> 31) >>> 0;
        const less = aHi < bHi || (aHi === bHi && (x[rs1] >>> 0) < (imm >>> 0));
        x[rd] = less ? 1 : 0;
        x[rd + 1] = 0;
        break;
      }
      case Operation.Xori: x[rd + 1] = x[rs1 + 1] ^ (imm >> 31); x[rd] = x[rs1] ^ imm; break;
      case Operation.Ori: x[rd + 1] = x[rs1 + 1] | (imm >> 31); x[rd] = x[rs1] | imm; break;
      case Operation.Andi: x[rd + 1] = x[rs1 + 1] & (imm >> 31); x[rd] = x[rs1] & imm; break;
      case Operation.Slli: shiftLeft(x, rd, x[rs1], x[rs1 + 1], imm); break;
      case Operation.Srli: shiftRightLogical(x, rd, x[rs1], x[rs1 + 1], imm); break;
      case Operation.Srai: shiftRightArithmetic(x, rd, x[rs1], x[rs1 + 1], imm); break;

      // ---- integer register-register ----
      case Operation.Add: {
        const aLo = x[rs1];
        const lo = (aLo + x[rs2]) | 0;
        x[rd + 1] = (x[rs1 + 1] + x[rs2 + 1] + ((lo >>> 0) < (aLo >>> 0) ? 1 : 0)) | 0;
        x[rd] = lo;
        break;
      }
      case Operation.Sub: {
        const aLo = x[rs1], bLo = x[rs2];
        x[rd + 1] = (x[rs1 + 1] - x[rs2 + 1] - ((aLo >>> 0) < (bLo >>> 0) ? 1 : 0)) | 0;
        x[rd] = (aLo - bLo) | 0;
        break;
      }
      case Operation.Sll: shiftLeft(x, rd, x[rs1], x[rs1 + 1], x[rs2] & 63); break;
      case Operation.Srl: shiftRightLogical(x, rd, x[rs1], x[rs1 + 1], x[rs2] & 63); break;
      case Operation.Sltu: {
        const aHi = x[rs1 + 1] >>> 0, bHi = x[rs2 + 1] >>> 0;
        x[rd] = aHi < bHi || (aHi === bHi && (x[rs1] >>> 0) < (x[rs2] >>> 0)) ? 1 : 0;
        x[rd + 1] = 0;
        break;
      }
      case Operation.Xor: x[rd + 1] = x[rs1 + 1] ^ x[rs2 + 1]; x[rd] = x[rs1] ^ x[rs2]; break;
      case Operation.Or: x[rd + 1] = x[rs1 + 1] | x[rs2 + 1]; x[rd] = x[rs1] | x[rs2]; break;
      case Operation.And: x[rd + 1] = x[rs1 + 1] & x[rs2 + 1]; x[rd] = x[rs1] & x[rs2]; break;

      // ---- 32-bit (W) forms ----
      case Operation.Addiw: { const v = (x[rs1] + imm) | 0; x[rd] = v; x[rd + 1] = v >> 31; break; }
      case Operation.Slliw: { const v = x[rs1] << imm; x[rd] = v; x[rd + 1] = v >> 31; break; }
      case Operation.Srliw: { const v = (x[rs1] >>> imm) | 0; x[rd] = v; x[rd + 1] = v >> 31; break; }
      case Operation.Sraiw: { const v = x[rs1] >> imm; x[rd] = v; x[rd + 1] = v >> 31; break; }
      case Operation.Addw: { const v = (x[rs1] + x[rs2]) | 0; x[rd] = v; x[rd + 1] = v >> 31; break; }
      case Operation.Subw: { const v = (x[rs1] - x[rs2]) | 0; x[rd] = v; x[rd + 1] = v >> 31; break; }
      case Operation.Sllw: { const v = x[rs1] << (x[rs2] & 31); x[rd] = v; x[rd + 1] = v >> 31; break; }
      case Operation.Srlw: { const v = (x[rs1] >>> (x[rs2] & 31)) | 0; x[rd] = v; x[rd + 1] = v >> 31; break; }

      // ---- M: the multiplication compiled code uses most ----
      case Operation.Mul: {
        const lo = mul64Low(x[rs1], x[rs1 + 1], x[rs2], x[rs2 + 1]);
        x[rd] = lo;
        x[rd + 1] = productHigh;
        break;
      }

      // ---- sensitive: exit to the monitor ----
      case Operation.Fence:
        break;
      case Operation.Ecall:
        hart.instructionsRetired--;
        monitor.ecall(hart);
        continue execute;
      case Operation.Sret:
        monitor.sret(hart);
        continue execute;
      case Operation.Wfi:
        monitor.wfi(hart, length);
        continue execute;
      case Operation.SfenceVma:
        monitor.sfenceVma(hart, (packed >>> 14) & 31, (packed >>> 19) & 31, length);
        continue execute;
      case Operation.Csrrw: case Operation.Csrrs: case Operation.Csrrc:
      case Operation.Csrrwi: case Operation.Csrrsi: case Operation.Csrrci:
        monitor.csrInstruction(hart, (packed & 0xff) as Operation, (packed >>> 8) & 63, (packed >>> 14) & 31, slots[slot + 3], length);
        continue execute;
      case Operation.Illegal:
        hart.instructionsRetired--;
        monitor.illegalInstruction(hart, raw);
        continue execute;

      default:
        // Everything else (rarer extensions) runs out of line, see executeUncommon.
        if (!executeUncommon(hart, mmu, monitor, packed, imm, slots[slot + 3], raw, length)) continue execute;
        break;
    }
    const nextLo = (pcLo + length) | 0;
    if ((nextLo >>> 0) < (pcLo >>> 0)) hart.pcHi = (pcHi + 1) | 0;
    hart.pcLo = nextLo;
  }
  return executed;
}

/**
 * The operations outside the base ISA's hot core (a few rare I and system ones, M but mul,
 * A, F/D, Zba/Zbb/Zbc/Zbs). They live out of runInterpreter so that the first use of one, which can
 * come late in a guest's run (Linux's boot meets new ones for seconds), deoptimizes this
 * function only, not the whole interpreter loop, whose reoptimization costs far more.
 * Returns false when the instruction did not complete normally (a trap, or it set pc).
 */
function executeUncommon(
  hart: Hart, mmu: Mmu, monitor: SensitiveInstructionHandler,
  packed: number, imm: number, auxiliary: number, raw: number, length: number,
): boolean {
  const x = hart.registers;
  const rd = ((packed >>> 8) & 63) << 1;
  const rs1 = ((packed >>> 14) & 31) << 1;
  const rs2 = ((packed >>> 19) & 31) << 1;
  switch ((packed & 0xff) as Operation) {
    // ---- I and system operations that are rare in compiled code ----
    case Operation.Slti: {
      const aHi = x[rs1 + 1], bHi = imm >> 31;
      const less = aHi < bHi || (aHi === bHi && (x[rs1] >>> 0) < (imm >>> 0));
      x[rd] = less ? 1 : 0;
      x[rd + 1] = 0;
      return true;
    }
    case Operation.Sra: shiftRightArithmetic(x, rd, x[rs1], x[rs1 + 1], x[rs2] & 63); return true;
    case Operation.Slt: {
      const aHi = x[rs1 + 1], bHi = x[rs2 + 1];
      x[rd] = aHi < bHi || (aHi === bHi && (x[rs1] >>> 0) < (x[rs2] >>> 0)) ? 1 : 0;
      x[rd + 1] = 0;
      return true;
    }
    case Operation.Sraw: { const v = x[rs1] >> (x[rs2] & 31); x[rd] = v; x[rd + 1] = v >> 31; return true; }
    case Operation.Mulw: { const v = Math.imul(x[rs1], x[rs2]); x[rd] = v; x[rd + 1] = v >> 31; return true; }
    case Operation.FenceI:
      monitor.fenceI(hart, length);
      return false;
    case Operation.Ebreak:
      hart.instructionsRetired--;
      monitor.ebreak(hart);
      return false;
    case Operation.Mret:
      monitor.mret(hart);
      return false;

    // ---- M ----
    case Operation.Mulh: case Operation.Mulhsu: case Operation.Mulhu:
      multiplyHigh64(x, (packed & 0xff) as Operation, rd, rs1, rs2);
      return true;
    case Operation.Div: case Operation.Divu: case Operation.Rem: case Operation.Remu:
      divide64(x, (packed & 0xff) as Operation, rd, rs1, rs2);
      return true;
    case Operation.Divw: {
      const a = x[rs1], b = x[rs2];
      const v = b === 0 ? -1 : a === -2147483648 && b === -1 ? a : (a / b) | 0;
      x[rd] = v; x[rd + 1] = v >> 31; return true;
    }
    case Operation.Divuw: {
      const a = x[rs1] >>> 0, b = x[rs2] >>> 0;
      const v = b === 0 ? -1 : (a / b) | 0;
      x[rd] = v; x[rd + 1] = v >> 31; return true;
    }
    case Operation.Remw: {
      const a = x[rs1], b = x[rs2];
      const v = b === 0 ? a : a === -2147483648 && b === -1 ? 0 : (a % b) | 0;
      x[rd] = v; x[rd + 1] = v >> 31; return true;
    }
    case Operation.Remuw: {
      const a = x[rs1] >>> 0, b = x[rs2] >>> 0;
      const v = b === 0 ? a | 0 : (a % b) | 0;
      x[rd] = v; x[rd + 1] = v >> 31; return true;
    }

    // ---- A ----
    case Operation.LrW: case Operation.LrD: case Operation.ScW: case Operation.ScD:
    case Operation.AmoswapW: case Operation.AmoaddW: case Operation.AmoxorW: case Operation.AmoandW:
    case Operation.AmoorW: case Operation.AmominW: case Operation.AmomaxW: case Operation.AmominuW: case Operation.AmomaxuW:
    case Operation.AmoswapD: case Operation.AmoaddD: case Operation.AmoxorD: case Operation.AmoandD:
    case Operation.AmoorD: case Operation.AmominD: case Operation.AmomaxD: case Operation.AmominuD: case Operation.AmomaxuD:
      if (!executeAtomic(hart, mmu, monitor, (packed & 0xff) as Operation, rd, rs1, rs2)) {
        hart.instructionsRetired--;
        return false;
      }
      return true;

    // ---- F and D loads/stores (the rest goes through float-execute) ----
    case Operation.Flw: case Operation.Fld: case Operation.Fsw: case Operation.Fsd: {
      if (hart.floatDisabled) {
        hart.instructionsRetired--;
        monitor.illegalInstruction(hart, raw);
        return false;
      }
      const baseLo = x[rs1];
      const addressLo = (baseLo + imm) | 0;
      const addressHi = (x[rs1 + 1] + (imm >> 31) + ((addressLo >>> 0) < (baseLo >>> 0) ? 1 : 0)) | 0;
      const f = hart.floatBits;
      const operation = (packed & 0xff) as Operation;
      if (operation === Operation.Flw || operation === Operation.Fld) {
        const lo = operation === Operation.Flw ? mmu.load32(addressLo, addressHi) : mmu.load64(addressLo, addressHi);
        if (mmu.faulted) { mmu.faulted = false; hart.instructionsRetired--; return false; }
        const destination = rd === SINK_REGISTER << 1 ? 0 : rd;
        f[destination] = lo;
        f[destination + 1] = operation === Operation.Flw ? -1 : mmu.high;
        hart.mstatus |= Mstatus.FS;
      } else if (operation === Operation.Fsw) {
        mmu.store32(addressLo, addressHi, f[rs2]);
      } else {
        mmu.store64(addressLo, addressHi, f[rs2], f[rs2 + 1]);
      }
      if (mmu.faulted) { mmu.faulted = false; hart.instructionsRetired--; return false; }
      return true;
    }

    // ---- Zba ----
    case Operation.Sh1add: addShifted(x, rd, x[rs1], x[rs1 + 1], 1, x[rs2], x[rs2 + 1]); return true;
    case Operation.Sh2add: addShifted(x, rd, x[rs1], x[rs1 + 1], 2, x[rs2], x[rs2 + 1]); return true;
    case Operation.Sh3add: addShifted(x, rd, x[rs1], x[rs1 + 1], 3, x[rs2], x[rs2 + 1]); return true;
    case Operation.AddUw: addShifted(x, rd, x[rs1], 0, 0, x[rs2], x[rs2 + 1]); return true;
    case Operation.Sh1addUw: addShifted(x, rd, x[rs1], 0, 1, x[rs2], x[rs2 + 1]); return true;
    case Operation.Sh2addUw: addShifted(x, rd, x[rs1], 0, 2, x[rs2], x[rs2 + 1]); return true;
    case Operation.Sh3addUw: addShifted(x, rd, x[rs1], 0, 3, x[rs2], x[rs2 + 1]); return true;
    case Operation.SlliUw: shiftLeft(x, rd, x[rs1], 0, imm); return true;

    // ---- Zbb ----
    case Operation.Andn: x[rd + 1] = x[rs1 + 1] & ~x[rs2 + 1]; x[rd] = x[rs1] & ~x[rs2]; return true;
    case Operation.Orn: x[rd + 1] = x[rs1 + 1] | ~x[rs2 + 1]; x[rd] = x[rs1] | ~x[rs2]; return true;
    case Operation.Xnor: x[rd + 1] = ~(x[rs1 + 1] ^ x[rs2 + 1]); x[rd] = ~(x[rs1] ^ x[rs2]); return true;
    case Operation.Clz: {
      const hi = x[rs1 + 1];
      x[rd] = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(x[rs1]);
      x[rd + 1] = 0;
      return true;
    }
    case Operation.Ctz: {
      const lo = x[rs1];
      x[rd] = lo !== 0 ? countTrailingZeros(lo) : 32 + countTrailingZeros(x[rs1 + 1]);
      x[rd + 1] = 0;
      return true;
    }
    case Operation.Cpop: x[rd] = populationCount(x[rs1]) + populationCount(x[rs1 + 1]); x[rd + 1] = 0; return true;
    case Operation.Clzw: x[rd] = Math.clz32(x[rs1]); x[rd + 1] = 0; return true;
    case Operation.Ctzw: x[rd] = countTrailingZeros(x[rs1]); x[rd + 1] = 0; return true;
    case Operation.Cpopw: x[rd] = populationCount(x[rs1]); x[rd + 1] = 0; return true;
    case Operation.Max: case Operation.Maxu: case Operation.Min: case Operation.Minu: {
      const operation = (packed & 0xff) as Operation;
      const unsigned = operation === Operation.Maxu || operation === Operation.Minu;
      const aLo = x[rs1], aHi = x[rs1 + 1], bLo = x[rs2], bHi = x[rs2 + 1];
      const aHiCompare = unsigned ? aHi >>> 0 : aHi, bHiCompare = unsigned ? bHi >>> 0 : bHi;
      const aLess = aHiCompare < bHiCompare || (aHiCompare === bHiCompare && (aLo >>> 0) < (bLo >>> 0));
      const takeA = (operation === Operation.Min || operation === Operation.Minu) === aLess;
      x[rd] = takeA ? aLo : bLo;
      x[rd + 1] = takeA ? aHi : bHi;
      return true;
    }
    case Operation.SextB: { const v = (x[rs1] << 24) >> 24; x[rd] = v; x[rd + 1] = v >> 31; return true; }
    case Operation.SextH: { const v = (x[rs1] << 16) >> 16; x[rd] = v; x[rd + 1] = v >> 31; return true; }
    case Operation.ZextH: x[rd] = x[rs1] & 0xffff; x[rd + 1] = 0; return true;
    case Operation.Rol: rotateRight(x, rd, x[rs1], x[rs1 + 1], (64 - (x[rs2] & 63)) & 63); return true;
    case Operation.Ror: rotateRight(x, rd, x[rs1], x[rs1 + 1], x[rs2] & 63); return true;
    case Operation.Rori: rotateRight(x, rd, x[rs1], x[rs1 + 1], imm); return true;
    case Operation.Rolw: { const v = rotateRight32(x[rs1], (32 - (x[rs2] & 31)) & 31); x[rd] = v; x[rd + 1] = v >> 31; return true; }
    case Operation.Rorw: { const v = rotateRight32(x[rs1], x[rs2] & 31); x[rd] = v; x[rd + 1] = v >> 31; return true; }
    case Operation.Roriw: { const v = rotateRight32(x[rs1], imm); x[rd] = v; x[rd + 1] = v >> 31; return true; }
    case Operation.OrcB: x[rd + 1] = orCombineBytes(x[rs1 + 1]); x[rd] = orCombineBytes(x[rs1]); return true;
    case Operation.Rev8: { const lo = x[rs1]; x[rd] = byteSwap(x[rs1 + 1]); x[rd + 1] = byteSwap(lo); return true; }

    // ---- Zbc ----
    case Operation.Clmul:
      carrylessMultiply(x[rs1], x[rs1 + 1], x[rs2], x[rs2 + 1]);
      x[rd] = productWord0; x[rd + 1] = productWord1;
      return true;
    case Operation.Clmulh:
      carrylessMultiply(x[rs1], x[rs1 + 1], x[rs2], x[rs2 + 1]);
      x[rd] = productWord2; x[rd + 1] = productWord3;
      return true;
    case Operation.Clmulr:
      // Product bits 126:63.
      carrylessMultiply(x[rs1], x[rs1 + 1], x[rs2], x[rs2 + 1]);
      x[rd] = (productWord1 >>> 31) | (productWord2 << 1);
      x[rd + 1] = (productWord2 >>> 31) | (productWord3 << 1);
      return true;

    // ---- Zbs ----
    case Operation.Bclr: case Operation.Bclri: case Operation.Binv: case Operation.Binvi:
    case Operation.Bset: case Operation.Bseti: {
      const operation = (packed & 0xff) as Operation;
      const index = operation === Operation.Bclri || operation === Operation.Binvi || operation === Operation.Bseti ? imm : x[rs2] & 63;
      const bitLo = index < 32 ? 1 << index : 0, bitHi = index < 32 ? 0 : 1 << (index - 32);
      const lo = x[rs1], hi = x[rs1 + 1];
      if (operation === Operation.Bclr || operation === Operation.Bclri) { x[rd] = lo & ~bitLo; x[rd + 1] = hi & ~bitHi; }
      else if (operation === Operation.Binv || operation === Operation.Binvi) { x[rd] = lo ^ bitLo; x[rd + 1] = hi ^ bitHi; }
      else { x[rd] = lo | bitLo; x[rd + 1] = hi | bitHi; }
      return true;
    }
    case Operation.Bext: case Operation.Bexti: {
      const index = (packed & 0xff) === Operation.Bexti ? imm : x[rs2] & 63;
      x[rd] = (index < 32 ? x[rs1] >>> index : x[rs1 + 1] >>> (index - 32)) & 1;
      x[rd + 1] = 0;
      return true;
    }

    default:
      // Every remaining operation is F or D arithmetic.
      if (hart.floatDisabled) {
        hart.instructionsRetired--;
        monitor.illegalInstruction(hart, raw);
        return false;
      }
      if (!executeFloatingPoint(hart, (packed & 0xff) as Operation, rd >> 1, rs1 >> 1, rs2 >> 1, (packed >>> 24) & 31, auxiliary)) {
        hart.instructionsRetired--;
        monitor.illegalInstruction(hart, raw);
        return false;
      }
      return true;
  }
}

function takeBranch(hart: Hart, pcLo: number, pcHi: number, offset: number): void {
  const targetLo = (pcLo + offset) | 0;
  hart.pcHi = (pcHi + (offset >> 31) + ((targetLo >>> 0) < (pcLo >>> 0) ? 1 : 0)) | 0;
  hart.pcLo = targetLo;
}

function shiftLeft(x: Int32Array, rd: number, lo: number, hi: number, amount: number): void {
  if (amount === 0) { x[rd] = lo; x[rd + 1] = hi; }
  else if (amount < 32) { x[rd + 1] = (hi << amount) | (lo >>> (32 - amount)); x[rd] = lo << amount; }
  else { x[rd + 1] = lo << (amount - 32); x[rd] = 0; }
}

function shiftRightLogical(x: Int32Array, rd: number, lo: number, hi: number, amount: number): void {
  if (amount === 0) { x[rd] = lo; x[rd + 1] = hi; }
  else if (amount < 32) { x[rd] = (lo >>> amount) | (hi << (32 - amount)); x[rd + 1] = (hi >>> amount) | 0; }
  else { x[rd] = (hi >>> (amount - 32)) | 0; x[rd + 1] = 0; }
}

function shiftRightArithmetic(x: Int32Array, rd: number, lo: number, hi: number, amount: number): void {
  if (amount === 0) { x[rd] = lo; x[rd + 1] = hi; }
  else if (amount < 32) { x[rd] = (lo >>> amount) | (hi << (32 - amount)); x[rd + 1] = hi >> amount; }
  else { x[rd] = hi >> (amount - 32); x[rd + 1] = hi >> 31; }
}

function rotateRight(x: Int32Array, rd: number, lo: number, hi: number, amount: number): void {
  if (amount === 0) { x[rd] = lo; x[rd + 1] = hi; return; }
  if (amount >= 32) {
    // Rotating by 32 swaps the words; the rest is a rotation by amount - 32.
    const swappedLo = hi;
    hi = lo;
    lo = swappedLo;
    amount -= 32;
    if (amount === 0) { x[rd] = lo; x[rd + 1] = hi; return; }
  }
  x[rd] = (lo >>> amount) | (hi << (32 - amount));
  x[rd + 1] = (hi >>> amount) | (lo << (32 - amount));
}

function rotateRight32(value: number, amount: number): number {
  return amount === 0 ? value : (value >>> amount) | (value << (32 - amount));
}

function countTrailingZeros(value: number): number {
  return value === 0 ? 32 : 31 - Math.clz32(value & -value);
}

function populationCount(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** orc.b on one word: every non-zero byte becomes 0xff. */
function orCombineBytes(value: number): number {
  return ((value & 0xff) !== 0 ? 0xff : 0) | ((value & 0xff00) !== 0 ? 0xff00 : 0) |
    ((value & 0xff0000) !== 0 ? 0xff0000 : 0) | ((value & 0xff000000) !== 0 ? 0xff000000 : 0);
}

function byteSwap(value: number): number {
  return ((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | (value >>> 24);
}

/** rd = (a << shift) + b on lo/hi pairs (shift 0..3), for the Zba adds. */
function addShifted(x: Int32Array, rd: number, aLo: number, aHi: number, shift: number, bLo: number, bHi: number): void {
  const shiftedLo = aLo << shift;
  const shiftedHi = shift === 0 ? aHi : (aHi << shift) | (aLo >>> (32 - shift));
  const lo = (shiftedLo + bLo) | 0;
  x[rd + 1] = (shiftedHi + bHi + ((lo >>> 0) < (shiftedLo >>> 0) ? 1 : 0)) | 0;
  x[rd] = lo;
}

// The 128-bit carry-less product of the last carrylessMultiply, as four words (0 lowest).
let productWord0 = 0, productWord1 = 0, productWord2 = 0, productWord3 = 0;
/** High word of the last carrylessMultiply32. */
let carrylessHigh = 0;

/** 32×32 carry-less product: returns the low word, leaves the high word in carrylessHigh. */
function carrylessMultiply32(a: number, b: number): number {
  let lo = 0, hi = 0;
  for (let i = 0; i < 32; i++) {
    if (((b >>> i) & 1) !== 0) {
      lo ^= a << i;
      if (i !== 0) hi ^= a >>> (32 - i);
    }
  }
  carrylessHigh = hi;
  return lo;
}

/** 64×64 carry-less product from 32-bit halves: aL·bL ^ (aL·bH ^ aH·bL) << 32 ^ aH·bH << 64. */
function carrylessMultiply(aLo: number, aHi: number, bLo: number, bHi: number): void {
  const lowLo = carrylessMultiply32(aLo, bLo), lowHi = carrylessHigh;
  const crossALo = carrylessMultiply32(aLo, bHi), crossAHi = carrylessHigh;
  const crossBLo = carrylessMultiply32(aHi, bLo), crossBHi = carrylessHigh;
  const highLo = carrylessMultiply32(aHi, bHi), highHi = carrylessHigh;
  const crossLo = crossALo ^ crossBLo, crossHi = crossAHi ^ crossBHi;
  productWord0 = lowLo;
  productWord1 = lowHi ^ crossLo;
  productWord2 = crossHi ^ highLo;
  productWord3 = highHi;
}

// ---- M: the high half of 64×64 products and 64/64 division, on lo/hi words (no BigInt) ----

const TWO_TO_32 = 4294967296;
/** 1 - 2^-50: makes a double quotient estimate never exceed the true quotient (see divideUnsigned). */
const ESTIMATE_SHRINK = 1 - 2 ** -50;

// These helpers take and return words as int32 bit patterns and convert to unsigned inside:
// a uint32 above 2^31 crossing a call that V8 does not inline, or stored in a module variable,
// would be boxed as a heap number (an allocation per instruction).

/** High word (int32 bits) of the last multiplyWords; its return value is the low word. */
let wordProductHigh = 0;

/**
 * Unsigned 32×32 → 64 product of two words. Math.imul gives the low word exactly; the double
 * product is off by at most 2^10 (half an ulp below 2^64), and subtracting the exact low word
 * leaves a multiple of 2^32 off by at most 2^11, so rounding it by 2^32 is the exact high word.
 */
function multiplyWords(a: number, b: number): number {
  const low = Math.imul(a, b);
  wordProductHigh = Math.round(((a >>> 0) * (b >>> 0) - (low >>> 0)) / TWO_TO_32) | 0;
  return low;
}

/** Bits 64..127 of the last multiplyHighUnsigned: the low word is returned, the high word here. */
let highProductHigh = 0;

/** Bits 64..127 of the unsigned 128-bit product of two 64-bit values (words as int32 bits). */
function multiplyHighUnsigned(aLo: number, aHi: number, bLo: number, bHi: number): number {
  multiplyWords(aLo, bLo);
  const lowLowHigh = wordProductHigh >>> 0;
  const crossALow = multiplyWords(aLo, bHi) >>> 0, crossAHigh = wordProductHigh >>> 0;
  const crossBLow = multiplyWords(aHi, bLo) >>> 0, crossBHigh = wordProductHigh >>> 0;
  const highLow = multiplyWords(aHi, bHi) >>> 0, highHigh = wordProductHigh >>> 0;
  // Column sums stay below 2^34: exact in doubles.
  const column1 = lowLowHigh + crossALow + crossBLow;
  const column2 = highLow + crossAHigh + crossBHigh + Math.floor(column1 / TWO_TO_32);
  const column2Word = column2 >>> 0;
  highProductHigh = (highHigh + (column2 - column2Word) / TWO_TO_32) | 0;
  return column2Word | 0;
}

/**
 * mulh, mulhsu, mulhu. The signed forms come from the unsigned product: reading a negative
 * operand as unsigned adds 2^64 to it, which adds the other operand to the high half.
 */
function multiplyHigh64(x: Int32Array, operation: Operation, rd: number, rs1: number, rs2: number): void {
  const aLo = x[rs1], aHi = x[rs1 + 1], bLo = x[rs2], bHi = x[rs2 + 1];
  let lo = multiplyHighUnsigned(aLo, aHi, bLo, bHi);
  let hi = highProductHigh;
  if (operation !== Operation.Mulhu && aHi < 0) {
    const difference = (lo - bLo) | 0;
    hi = (hi - bHi - ((lo >>> 0) < (bLo >>> 0) ? 1 : 0)) | 0;
    lo = difference;
  }
  if (operation === Operation.Mulh && bHi < 0) {
    const difference = (lo - aLo) | 0;
    hi = (hi - aHi - ((lo >>> 0) < (aLo >>> 0) ? 1 : 0)) | 0;
    lo = difference;
  }
  x[rd] = lo;
  x[rd + 1] = hi;
}

// Quotient and remainder of the last divideUnsigned, as int32 bit patterns.
let quotientLow = 0, quotientHigh = 0, remainderLow = 0, remainderHigh = 0;

/**
 * Unsigned 64/64 division of words (int32 bits); the divisor is not zero. A divisor below
 * 2^32 divides in 32-then-16-then-16-bit digits, each step exact in doubles (below 2^48). A larger
 * divisor has a quotient below 2^32: a double estimate made never to exceed it and at most one
 * below leaves a remainder in [0, dividend] (so exact in 64-bit wrapping arithmetic) that one
 * subtraction of the divisor corrects.
 */
function divideUnsigned(aLoBits: number, aHiBits: number, bLoBits: number, bHiBits: number): void {
  const aLo = aLoBits >>> 0, aHi = aHiBits >>> 0, bLo = bLoBits >>> 0, bHi = bHiBits >>> 0;
  if (bHi === 0) {
    // Three digit steps (32, 16, 16 bits), each dividend below 2^48. Multiplying by the
    // reciprocal is faster than dividing; with dividends below 2^52 its rounding (relative
    // error under 2^-52) can make a digit one too small, never too large: a remainder (exact in
    // doubles) reaching the divisor tells and fixes it.
    const inverse = 1 / bLo;
    let upper = Math.floor(aHi * inverse);
    let upperRemainder = aHi - upper * bLo;
    if (upperRemainder >= bLo) { upper++; upperRemainder -= bLo; }
    const middleDividend = upperRemainder * 65536 + (aLo >>> 16);
    let middle = Math.floor(middleDividend * inverse);
    let middleRemainder = middleDividend - middle * bLo;
    if (middleRemainder >= bLo) { middle++; middleRemainder -= bLo; }
    const lowerDividend = middleRemainder * 65536 + (aLo & 0xffff);
    let lower = Math.floor(lowerDividend * inverse);
    let lowerRemainder = lowerDividend - lower * bLo;
    if (lowerRemainder >= bLo) { lower++; lowerRemainder -= bLo; }
    quotientHigh = upper | 0;
    quotientLow = (middle * 65536 + lower) | 0;
    remainderLow = lowerRemainder | 0;
    remainderHigh = 0;
    return;
  }
  // The double quotient (relative error under 2^-51) shrunk by 2^-50 is below the true one by
  // less than 2^-17 (the quotient is below 2^32): its floor is the quotient or one less.
  let quotient = Math.floor(((aHi * TWO_TO_32 + aLo) / (bHi * TWO_TO_32 + bLo)) * ESTIMATE_SHRINK);
  // remainder = dividend - quotient × divisor, modulo 2^64.
  const productLow = multiplyWords(quotient | 0, bLoBits) >>> 0;
  const productHigh = (wordProductHigh + Math.imul(quotient, bHi)) | 0;
  let lo = (aLo - productLow) | 0;
  let hi = (aHi - productHigh - (aLo < productLow ? 1 : 0)) | 0;
  // Remainder ≥ divisor (unsigned compare on words): the estimate was one short.
  if ((hi >>> 0) > bHi || ((hi >>> 0) === bHi && (lo >>> 0) >= bLo)) {
    const difference = (lo - bLo) | 0;
    hi = (hi - bHi - ((lo >>> 0) < bLo ? 1 : 0)) | 0;
    lo = difference;
    quotient++;
  }
  quotientLow = quotient | 0;
  quotientHigh = 0;
  remainderLow = lo;
  remainderHigh = hi;
}

/**
 * div, divu, rem, remu. Operands that fit in 32 bits use exact double arithmetic; the rest go
 * through divideUnsigned on magnitudes. Signed overflow (MIN / -1) needs no special case there:
 * |MIN| = 2^63 as unsigned, and negating the quotient 2^63 gives MIN back, remainder 0.
 */
function divide64(x: Int32Array, operation: Operation, rd: number, rs1: number, rs2: number): void {
  const aLo = x[rs1], aHi = x[rs1 + 1], bLo = x[rs2], bHi = x[rs2 + 1];
  const signed = operation === Operation.Div || operation === Operation.Rem;
  const remainder = operation === Operation.Rem || operation === Operation.Remu;
  if (bLo === 0 && bHi === 0) {
    if (remainder) { x[rd] = aLo; x[rd + 1] = aHi; }
    else { x[rd] = -1; x[rd + 1] = -1; }
    return;
  }
  let result: number;
  if (signed && aHi === aLo >> 31 && bHi === bLo >> 31) {
    result = remainder ? aLo % bLo : Math.trunc(aLo / bLo);
  } else if (!signed && aHi === 0 && bHi === 0) {
    result = remainder ? (aLo >>> 0) % (bLo >>> 0) : Math.floor((aLo >>> 0) / (bLo >>> 0));
  } else {
    const negativeDividend = signed && aHi < 0, negativeDivisor = signed && bHi < 0;
    // Magnitudes: two's-complement negation on words (the low word carries into the high one when it is 0).
    const magnitudeALo = negativeDividend ? -aLo | 0 : aLo;
    const magnitudeAHi = negativeDividend ? (aLo === 0 ? -aHi : ~aHi) | 0 : aHi;
    const magnitudeBLo = negativeDivisor ? -bLo | 0 : bLo;
    const magnitudeBHi = negativeDivisor ? (bLo === 0 ? -bHi : ~bHi) | 0 : bHi;
    divideUnsigned(magnitudeALo, magnitudeAHi, magnitudeBLo, magnitudeBHi);
    let lo: number, hi: number, negative: boolean;
    if (remainder) { lo = remainderLow; hi = remainderHigh; negative = negativeDividend; }
    else { lo = quotientLow; hi = quotientHigh; negative = negativeDividend !== negativeDivisor; }
    if (negative) { hi = (lo === 0 ? -hi : ~hi) | 0; lo = -lo | 0; }
    x[rd] = lo;
    x[rd + 1] = hi;
    return;
  }
  // result is an integer in (-2^32, 2^32]: split into words.
  x[rd] = result | 0;
  x[rd + 1] = result < 0 ? -1 : 0;
}

/** LR/SC and AMOs. Returns false when a trap was raised. */
function executeAtomic(
  hart: Hart, mmu: Mmu, monitor: SensitiveInstructionHandler, operation: Operation, rd: number, rs1: number, rs2: number,
): boolean {
  const x = hart.registers;
  const addressLo = x[rs1], addressHi = x[rs1 + 1];
  const doubleword = operation >= Operation.LrD;
  const size = doubleword ? 8 : 4;
  const isLoadReserved = operation === Operation.LrW || operation === Operation.LrD;
  const isStoreConditional = operation === Operation.ScW || operation === Operation.ScD;
  // Debug triggers fire before the access (an AMO is a load and a store; an SC that will fail
  // makes no access).
  if (hart.triggers.dataArmed && !(isStoreConditional && hart.reservationAddress < 0) &&
    mmu.dataTriggerFires(addressLo, addressHi, size, isLoadReserved ? AccessKind.Read : AccessKind.Write,
      !isLoadReserved && !isStoreConditional)) {
    mmu.faulted = false;
    return false;
  }
  if ((addressLo & (size - 1)) !== 0) {
    monitor.raiseException(
      hart, isLoadReserved ? ExceptionCause.LoadAddressMisaligned : ExceptionCause.StoreAddressMisaligned, addressLo, addressHi);
    return false;
  }
  if (isStoreConditional && hart.reservationAddress < 0) {
    x[rd] = 1; x[rd + 1] = 0;
    return true;
  }
  const physical = mmu.translate(addressLo, addressHi, isLoadReserved ? AccessKind.Read : AccessKind.Write, size);
  if (physical < 0) { mmu.faulted = false; return false; }
  const ram = mmu.guestRam;
  if (!ram.contains(physical, size)) {
    monitor.raiseException(hart, isLoadReserved ? ExceptionCause.LoadAccessFault : ExceptionCause.StoreAccessFault, addressLo, addressHi);
    return false;
  }
  const index = (physical - ram.base) >> 2;
  const words = ram.words;
  if (mmu.watcher !== null) {
    // LR reads, SC writes, an AMO does both (the write first, so read-write watchpoints say 'write').
    if (!isLoadReserved) mmu.watcher.onAccess(hart, addressLo, addressHi, physical, size, AccessKind.Write);
    if (!isStoreConditional) mmu.watcher.onAccess(hart, addressLo, addressHi, physical, size, AccessKind.Read);
  }
  if (isLoadReserved) {
    x[rd] = words[index];
    x[rd + 1] = doubleword ? words[index + 1] : words[index] >> 31;
    hart.reservationAddress = physical;
    return true;
  }
  if (isStoreConditional) {
    const success = hart.reservationAddress === physical;
    hart.reservationAddress = -1;
    if (success) {
      words[index] = x[rs2];
      if (doubleword) words[index + 1] = x[rs2 + 1];
    }
    x[rd] = success ? 0 : 1;
    x[rd + 1] = 0;
    return true;
  }
  const oldLo = words[index];
  const oldHi = doubleword ? words[index + 1] : oldLo >> 31;
  const bLo = x[rs2], bHi = doubleword ? x[rs2 + 1] : x[rs2] >> 31;
  let newLo: number, newHi: number;
  switch (operation) {
    case Operation.AmoswapW: case Operation.AmoswapD: newLo = bLo; newHi = bHi; break;
    case Operation.AmoaddW: case Operation.AmoaddD: {
      newLo = (oldLo + bLo) | 0;
      newHi = (oldHi + bHi + ((newLo >>> 0) < (oldLo >>> 0) ? 1 : 0)) | 0;
      break;
    }
    case Operation.AmoxorW: case Operation.AmoxorD: newLo = oldLo ^ bLo; newHi = oldHi ^ bHi; break;
    case Operation.AmoandW: case Operation.AmoandD: newLo = oldLo & bLo; newHi = oldHi & bHi; break;
    case Operation.AmoorW: case Operation.AmoorD: newLo = oldLo | bLo; newHi = oldHi | bHi; break;
    default: {
      const unsigned = operation === Operation.AmominuW || operation === Operation.AmomaxuW ||
        operation === Operation.AmominuD || operation === Operation.AmomaxuD;
      const wantMin = operation === Operation.AmominW || operation === Operation.AmominuW ||
        operation === Operation.AmominD || operation === Operation.AmominuD;
      const oldHiCompare = unsigned ? oldHi >>> 0 : oldHi, bHiCompare = unsigned ? bHi >>> 0 : bHi;
      const oldLess = oldHiCompare < bHiCompare || (oldHiCompare === bHiCompare && (oldLo >>> 0) < (bLo >>> 0));
      const takeOld = wantMin ? oldLess : !oldLess;
      newLo = takeOld ? oldLo : bLo;
      newHi = takeOld ? oldHi : bHi;
      break;
    }
  }
  words[index] = newLo;
  if (doubleword) words[index + 1] = newHi;
  x[rd] = oldLo;
  x[rd + 1] = oldHi;
  return true;
}
