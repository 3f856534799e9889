// Decodes raw instruction bits into operation + operand fields, from the instruction table.
// Used when the interpreter's decode cache misses, by the disassembler and by tools.

import { Operation } from './operations';
import { ALL_EXTENSIONS, INSTRUCTIONS, type InstructionFormat, type InstructionSpec } from './table';

/** Operand fields of one decoded instruction; compressed instructions come out expanded. */
export class DecodedInstruction {
  /** The instruction's bits, unsigned. */
  raw = 0;
  /** Index into INSTRUCTIONS, or -1 for an illegal encoding. */
  row = -1;
  operation: Operation = Operation.Illegal;
  length: 2 | 4 = 4;
  rd = 0;
  rs1 = 0;
  rs2 = 0;
  rs3 = 0;
  /** Sign-extended immediate (shift amount, CSR-immediate value, branch offset, ...). */
  imm = 0;
  /** Rounding-mode field of F/D instructions (bits 14:12). */
  roundingMode = 0;
  /** CSR number for Zicsr; fence predecessor/successor bits for fence (pred << 4 | succ). */
  csr = 0;

  constructor() {
    // Words with bit 31 set do not fit a small integer: give the field its double
    // representation now, not at the first such word mid-run, which would change the hidden
    // class and deoptimize the compiled code that reads one (the interpreter's decode cache).
    this.raw = 2 ** 32 - 1;
    this.raw = 0;
  }

  get spec(): InstructionSpec | undefined {
    return this.row >= 0 ? INSTRUCTIONS[this.row] : undefined;
  }
}

/** Length in bytes of the instruction whose low 16 bits are given. */
export function instructionLength(lowHalfword: number): 2 | 4 {
  return (lowHalfword & 3) === 3 ? 4 : 2;
}

// Candidate rows per 32-bit major opcode and funct3 (bits 14:12; a row whose mask leaves them
// free is a candidate under all eight), and per compressed quadrant+funct3, most specific mask
// first. (Per opcode alone, `addi` came after the fifteen Zbb/Zbs rows of its opcode, and the
// interpreter's decode cache refills about a million times in Linux's boot.)
const wideCandidates: number[][] = Array.from({ length: 128 * 8 }, () => []);
const compressedCandidates: number[][] = Array.from({ length: 32 }, () => []);
{
  const popcount = (v: number) => {
    let c = 0;
    for (let x = v >>> 0; x !== 0; x >>>= 1) c += x & 1;
    return c;
  };
  INSTRUCTIONS.forEach((spec, index) => {
    if (spec.length === 4) {
      for (let funct3 = 0; funct3 < 8; funct3++) {
        if ((spec.mask & 0x7000) === 0x7000 && ((spec.match >>> 12) & 7) !== funct3) continue;
        wideCandidates[(spec.match & 0x7f) * 8 + funct3].push(index);
      }
    } else {
      compressedCandidates[((spec.match >>> 13) << 2) | (spec.match & 3)].push(index);
    }
  });
  const byMask = (a: number, b: number) => popcount(INSTRUCTIONS[b].mask) - popcount(INSTRUCTIONS[a].mask);
  for (const list of wideCandidates) list.sort(byMask);
  for (const list of compressedCandidates) list.sort(byMask);
}

const signExtend = (value: number, bits: number) => (value << (32 - bits)) >> (32 - bits);
const bit = (raw: number, n: number) => (raw >>> n) & 1;
const bits = (raw: number, high: number, low: number) => (raw >>> low) & ((1 << (high - low + 1)) - 1);

/**
 * Decodes `raw` (a 32-bit word; for compressed instructions only the low 16 bits are used)
 * into `out`. Returns false (and sets out.row = -1, operation Illegal) for illegal or
 * reserved encodings. `enabledExtensions` (table.ts's mask) leaves out the rows of optional
 * extensions a CPU model lacks: their encodings are illegal, or, for a hint such as pause,
 * decode as the instruction they are an encoding of.
 */
export function decodeInstruction(raw: number, out: DecodedInstruction, enabledExtensions = ALL_EXTENSIONS): boolean {
  const length = instructionLength(raw & 0xffff);
  out.raw = length === 2 ? raw & 0xffff : raw >>> 0;
  out.length = length;
  out.rd = out.rs1 = out.rs2 = out.rs3 = out.imm = out.roundingMode = out.csr = 0;
  const candidates = length === 4 ? wideCandidates[(raw & 0x7f) * 8 + ((raw >>> 12) & 7)] : compressedCandidates[((raw >>> 13 & 7) << 2) | (raw & 3)];
  const word = out.raw;
  for (const index of candidates) {
    const spec = INSTRUCTIONS[index];
    if (((word & spec.mask) >>> 0) !== spec.match) continue;
    if ((spec.extensionBit & ~enabledExtensions) !== 0) continue;
    const legal = length === 4 ? extractWide(word, spec.format, out) : extractCompressed(word, spec.format, out);
    if (!legal) continue;
    out.row = index;
    out.operation = spec.operation;
    return true;
  }
  out.row = -1;
  out.operation = Operation.Illegal;
  return false;
}

function extractWide(raw: number, format: InstructionFormat, out: DecodedInstruction): boolean {
  out.rd = bits(raw, 11, 7);
  out.rs1 = bits(raw, 19, 15);
  out.rs2 = bits(raw, 24, 20);
  out.rs3 = bits(raw, 31, 27);
  out.roundingMode = bits(raw, 14, 12);
  switch (format) {
    case 'I': case 'Load': case 'Jalr': case 'FLoad':
      out.imm = raw >> 20;
      break;
    case 'S': case 'FStore':
      out.imm = ((raw >> 25) << 5) | bits(raw, 11, 7);
      break;
    case 'B':
      out.imm = (bit(raw, 31) ? -4096 : 0) | (bit(raw, 7) << 11) | (bits(raw, 30, 25) << 5) | (bits(raw, 11, 8) << 1);
      break;
    case 'U':
      out.imm = raw & 0xfffff000;
      break;
    case 'J':
      out.imm = (bit(raw, 31) ? -(1 << 20) : 0) | (bits(raw, 19, 12) << 12) | (bit(raw, 20) << 11) | (bits(raw, 30, 21) << 1);
      break;
    case 'Shift':
      out.imm = bits(raw, 25, 20);
      break;
    case 'ShiftW':
      out.imm = bits(raw, 24, 20);
      break;
    case 'Fence':
      out.csr = bits(raw, 27, 20);
      break;
    case 'Csr':
      out.csr = bits(raw, 31, 20);
      break;
    case 'CsrImm':
      out.csr = bits(raw, 31, 20);
      out.imm = out.rs1;
      break;
    case 'FR': case 'R4': case 'FUnary': case 'FToInt': case 'IntToF':
      // Rounding modes 5 and 6 are reserved; 7 (dynamic) is resolved at execution.
      if (out.roundingMode === 5 || out.roundingMode === 6) return false;
      break;
    default:
      break;
  }
  return true;
}

/** Compressed register fields name x8..x15. */
const compressedRegister = (field: number) => 8 + field;

function extractCompressed(raw: number, format: InstructionFormat, out: DecodedInstruction): boolean {
  const rdFull = bits(raw, 11, 7);
  const rs2Full = bits(raw, 6, 2);
  const rdPrime = compressedRegister(bits(raw, 4, 2));
  const rs1Prime = compressedRegister(bits(raw, 9, 7));
  const ciImmediate = signExtend((bit(raw, 12) << 5) | bits(raw, 6, 2), 6);
  switch (format) {
    case 'CIW': {
      const imm = (bits(raw, 10, 7) << 6) | (bits(raw, 12, 11) << 4) | (bit(raw, 5) << 3) | (bit(raw, 6) << 2);
      if (imm === 0) return false; // includes the all-zero illegal instruction
      out.rd = rdPrime; out.rs1 = 2; out.imm = imm;
      return true;
    }
    case 'CLW': case 'CSW': {
      const imm = (bits(raw, 12, 10) << 3) | (bit(raw, 6) << 2) | (bit(raw, 5) << 6);
      out.rs1 = rs1Prime; out.imm = imm;
      if (format === 'CLW') out.rd = rdPrime; else out.rs2 = rdPrime;
      return true;
    }
    case 'CLD': case 'CSD': {
      const imm = (bits(raw, 12, 10) << 3) | (bits(raw, 6, 5) << 6);
      out.rs1 = rs1Prime; out.imm = imm;
      if (format === 'CLD') out.rd = rdPrime; else out.rs2 = rdPrime;
      return true;
    }
    case 'CIAddi':
      // c.addiw with rd = 0 is reserved; c.addi with rd = 0 is c.nop (or a hint).
      if (rdFull === 0 && (raw & 0xe000) === 0x2000) return false;
      out.rd = rdFull; out.rs1 = rdFull; out.imm = ciImmediate;
      return true;
    case 'CILi':
      out.rd = rdFull; out.rs1 = 0; out.imm = ciImmediate;
      return true;
    case 'CIAddi16sp': {
      const imm = signExtend((bit(raw, 12) << 9) | (bits(raw, 4, 3) << 7) | (bit(raw, 5) << 6) | (bit(raw, 2) << 5) | (bit(raw, 6) << 4), 10);
      if (imm === 0) return false;
      out.rd = 2; out.rs1 = 2; out.imm = imm;
      return true;
    }
    case 'CILui':
      if (ciImmediate === 0) return false;
      out.rd = rdFull; out.imm = ciImmediate << 12;
      return true;
    case 'CBShift':
      out.rd = rs1Prime; out.rs1 = rs1Prime; out.imm = (bit(raw, 12) << 5) | bits(raw, 6, 2);
      return true;
    case 'CBAndi':
      out.rd = rs1Prime; out.rs1 = rs1Prime; out.imm = ciImmediate;
      return true;
    case 'CA':
      out.rd = rs1Prime; out.rs1 = rs1Prime; out.rs2 = rdPrime;
      return true;
    case 'CJ':
      out.rd = 0;
      out.imm = signExtend(
        (bit(raw, 12) << 11) | (bit(raw, 8) << 10) | (bits(raw, 10, 9) << 8) | (bit(raw, 6) << 7) |
        (bit(raw, 7) << 6) | (bit(raw, 2) << 5) | (bit(raw, 11) << 4) | (bits(raw, 5, 3) << 1), 12);
      return true;
    case 'CBBranch':
      out.rs1 = rs1Prime; out.rs2 = 0;
      out.imm = signExtend(
        (bit(raw, 12) << 8) | (bits(raw, 6, 5) << 6) | (bit(raw, 2) << 5) | (bits(raw, 11, 10) << 3) | (bits(raw, 4, 3) << 1), 9);
      return true;
    case 'CIShift':
      out.rd = rdFull; out.rs1 = rdFull; out.imm = (bit(raw, 12) << 5) | bits(raw, 6, 2);
      return true;
    case 'CILwsp':
      if (rdFull === 0) return false;
      out.rd = rdFull; out.rs1 = 2; out.imm = (bit(raw, 12) << 5) | (bits(raw, 6, 4) << 2) | (bits(raw, 3, 2) << 6);
      return true;
    case 'CILdsp':
      // c.ldsp with rd = 0 is reserved; c.fldsp may name f0.
      if (rdFull === 0 && (raw & 0xe000) === 0x6000) return false;
      out.rd = rdFull; out.rs1 = 2; out.imm = (bit(raw, 12) << 5) | (bits(raw, 6, 5) << 3) | (bits(raw, 4, 2) << 6);
      return true;
    case 'CRJr':
      if (rdFull === 0) return false;
      out.rd = 0; out.rs1 = rdFull; out.imm = 0;
      return true;
    case 'CRJalr':
      if (rdFull === 0) return false;
      out.rd = 1; out.rs1 = rdFull; out.imm = 0;
      return true;
    case 'CRMv':
      if (rs2Full === 0) return false;
      out.rd = rdFull; out.rs1 = 0; out.rs2 = rs2Full;
      return true;
    case 'CRAdd':
      if (rs2Full === 0) return false;
      out.rd = rdFull; out.rs1 = rdFull; out.rs2 = rs2Full;
      return true;
    case 'CSSwsp':
      out.rs1 = 2; out.rs2 = rs2Full; out.imm = (bits(raw, 12, 9) << 2) | (bits(raw, 8, 7) << 6);
      return true;
    case 'CSSdsp':
      out.rs1 = 2; out.rs2 = rs2Full; out.imm = (bits(raw, 12, 10) << 3) | (bits(raw, 9, 7) << 6);
      return true;
    case 'CNone':
      return true;
    default:
      return false;
  }
}
