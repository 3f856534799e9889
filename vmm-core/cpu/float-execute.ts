// F and D arithmetic for the interpreter: operand NaN-unboxing, the dynamic rounding mode,
// fflags accumulation and mstatus.FS tracking around the soft-float library in float/.

import { Operation } from '../isa/operations';
import { Mstatus } from './csr-numbers';
import * as fp from './float';
import type { Hart } from './hart';

const CANONICAL_NAN_SINGLE = 0x7fc00000;
const out = fp.floatOut;

/** A single operand: the low word if properly NaN-boxed, otherwise the canonical NaN. */
function single(f: Int32Array, index: number): number {
  return f[2 * index + 1] === -1 ? f[2 * index] : CANONICAL_NAN_SINGLE;
}

/**
 * Executes one F/D instruction other than loads and stores. Register numbers are plain
 * indices (rd for integer results may be the sink register 32). Returns false for an illegal
 * rounding mode, which the caller turns into an illegal-instruction trap.
 */
export function executeFloatingPoint(
  hart: Hart, operation: Operation, rd: number, rs1: number, rs2: number, rs3: number, instructionRoundingMode: number,
): boolean {
  const f = hart.floatBits;
  const x = hart.registers;
  const roundingMode = instructionRoundingMode === 7 ? hart.floatRoundingMode : instructionRoundingMode;
  if (roundingMode > 4) return false;
  const rm = roundingMode as fp.RoundingMode;
  let flags = 0;
  /** 1: f32 result in out[0]; 2: f64 result in out; 3: integer result in out; 0: nothing left to write. */
  let destination: 0 | 1 | 2 | 3 = 1;
  const a32 = () => single(f, rs1);
  const b32 = () => single(f, rs2);
  const c32 = () => single(f, rs3);
  const aLo = f[2 * rs1], aHi = f[2 * rs1 + 1], bLo = f[2 * rs2], bHi = f[2 * rs2 + 1], cLo = f[2 * rs3], cHi = f[2 * rs3 + 1];
  switch (operation) {
    // ---- single ----
    case Operation.FaddS: flags = fp.f32Add(a32(), b32(), rm); break;
    case Operation.FsubS: flags = fp.f32Sub(a32(), b32(), rm); break;
    case Operation.FmulS: flags = fp.f32Mul(a32(), b32(), rm); break;
    case Operation.FdivS: flags = fp.f32Div(a32(), b32(), rm); break;
    case Operation.FsqrtS: flags = fp.f32Sqrt(a32(), rm); break;
    case Operation.FmaddS: flags = fp.f32MulAdd(a32(), b32(), c32(), rm); break;
    case Operation.FmsubS: flags = fp.f32MulSub(a32(), b32(), c32(), rm); break;
    case Operation.FnmsubS: flags = fp.f32NegMulSub(a32(), b32(), c32(), rm); break;
    case Operation.FnmaddS: flags = fp.f32NegMulAdd(a32(), b32(), c32(), rm); break;
    case Operation.FsgnjS: out[0] = (a32() & 0x7fffffff) | (b32() & 0x80000000); break;
    case Operation.FsgnjnS: out[0] = (a32() & 0x7fffffff) | (~b32() & 0x80000000); break;
    case Operation.FsgnjxS: out[0] = a32() ^ (b32() & 0x80000000); break;
    case Operation.FminS: flags = fp.f32Min(a32(), b32()); break;
    case Operation.FmaxS: flags = fp.f32Max(a32(), b32()); break;
    case Operation.FeqS: flags = fp.f32Equal(a32(), b32()); destination = 3; break;
    case Operation.FltS: flags = fp.f32Less(a32(), b32()); destination = 3; break;
    case Operation.FleS: flags = fp.f32LessOrEqual(a32(), b32()); destination = 3; break;
    case Operation.FclassS: flags = fp.f32Classify(a32()); destination = 3; break;
    case Operation.FcvtWS: flags = fp.f32ToInt32(a32(), rm); destination = 3; break;
    case Operation.FcvtWuS: flags = fp.f32ToUint32(a32(), rm); destination = 3; break;
    case Operation.FcvtLS: flags = fp.f32ToInt64(a32(), rm); destination = 3; break;
    case Operation.FcvtLuS: flags = fp.f32ToUint64(a32(), rm); destination = 3; break;
    case Operation.FcvtSW: flags = fp.int32ToF32(x[2 * rs1], rm); break;
    case Operation.FcvtSWu: flags = fp.uint32ToF32(x[2 * rs1], rm); break;
    case Operation.FcvtSL: flags = fp.int64ToF32(x[2 * rs1], x[2 * rs1 + 1], rm); break;
    case Operation.FcvtSLu: flags = fp.uint64ToF32(x[2 * rs1], x[2 * rs1 + 1], rm); break;
    case Operation.FmvXW: out[0] = aLo; out[1] = aLo >> 31; destination = 3; break;
    case Operation.FmvWX: out[0] = x[2 * rs1]; break;
    // ---- double ----
    case Operation.FaddD: flags = fp.f64Add(aLo, aHi, bLo, bHi, rm); destination = 2; break;
    case Operation.FsubD: flags = fp.f64Sub(aLo, aHi, bLo, bHi, rm); destination = 2; break;
    case Operation.FmulD: flags = fp.f64Mul(aLo, aHi, bLo, bHi, rm); destination = 2; break;
    case Operation.FdivD: flags = fp.f64Div(aLo, aHi, bLo, bHi, rm); destination = 2; break;
    case Operation.FsqrtD: flags = fp.f64Sqrt(aLo, aHi, rm); destination = 2; break;
    case Operation.FmaddD: flags = fp.f64MulAdd(aLo, aHi, bLo, bHi, cLo, cHi, rm); destination = 2; break;
    case Operation.FmsubD: flags = fp.f64MulSub(aLo, aHi, bLo, bHi, cLo, cHi, rm); destination = 2; break;
    case Operation.FnmsubD: flags = fp.f64NegMulSub(aLo, aHi, bLo, bHi, cLo, cHi, rm); destination = 2; break;
    case Operation.FnmaddD: flags = fp.f64NegMulAdd(aLo, aHi, bLo, bHi, cLo, cHi, rm); destination = 2; break;
    case Operation.FsgnjD: out[0] = aLo; out[1] = (aHi & 0x7fffffff) | (bHi & 0x80000000); destination = 2; break;
    case Operation.FsgnjnD: out[0] = aLo; out[1] = (aHi & 0x7fffffff) | (~bHi & 0x80000000); destination = 2; break;
    case Operation.FsgnjxD: out[0] = aLo; out[1] = aHi ^ (bHi & 0x80000000); destination = 2; break;
    case Operation.FminD: flags = fp.f64Min(aLo, aHi, bLo, bHi); destination = 2; break;
    case Operation.FmaxD: flags = fp.f64Max(aLo, aHi, bLo, bHi); destination = 2; break;
    case Operation.FeqD: flags = fp.f64Equal(aLo, aHi, bLo, bHi); destination = 3; break;
    case Operation.FltD: flags = fp.f64Less(aLo, aHi, bLo, bHi); destination = 3; break;
    case Operation.FleD: flags = fp.f64LessOrEqual(aLo, aHi, bLo, bHi); destination = 3; break;
    case Operation.FclassD: flags = fp.f64Classify(aLo, aHi); destination = 3; break;
    case Operation.FcvtWD: flags = fp.f64ToInt32(aLo, aHi, rm); destination = 3; break;
    case Operation.FcvtWuD: flags = fp.f64ToUint32(aLo, aHi, rm); destination = 3; break;
    case Operation.FcvtLD: flags = fp.f64ToInt64(aLo, aHi, rm); destination = 3; break;
    case Operation.FcvtLuD: flags = fp.f64ToUint64(aLo, aHi, rm); destination = 3; break;
    case Operation.FcvtDW: flags = fp.int32ToF64(x[2 * rs1]); destination = 2; break;
    case Operation.FcvtDWu: flags = fp.uint32ToF64(x[2 * rs1]); destination = 2; break;
    case Operation.FcvtDL: flags = fp.int64ToF64(x[2 * rs1], x[2 * rs1 + 1], rm); destination = 2; break;
    case Operation.FcvtDLu: flags = fp.uint64ToF64(x[2 * rs1], x[2 * rs1 + 1], rm); destination = 2; break;
    case Operation.FcvtSD: flags = fp.f64ToF32(aLo, aHi, rm); break;
    case Operation.FcvtDS: flags = fp.f32ToF64(a32()); destination = 2; break;
    case Operation.FmvXD: out[0] = aLo; out[1] = aHi; destination = 3; break;
    case Operation.FmvDX: out[0] = x[2 * rs1]; out[1] = x[2 * rs1 + 1]; destination = 2; break;
    default:
      return false;
  }
  if (destination === 1) {
    f[2 * rd] = out[0];
    f[2 * rd + 1] = -1;
  } else if (destination === 2) {
    f[2 * rd] = out[0];
    f[2 * rd + 1] = out[1];
  } else if (destination === 3) {
    x[2 * rd] = out[0];
    x[2 * rd + 1] = out[1];
  }
  if (flags !== 0) hart.floatFlags |= flags;
  if (destination !== 3 || flags !== 0) hart.mstatus |= Mstatus.FS;
  return true;
}
