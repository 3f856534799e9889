// fcvt: float ↔ integer (saturating, RISC-V invalid rules) and f32 ↔ f64.
import {
  FloatFlag,
  NEEDS_EXACT,
  RoundingMode,
  SIGN_BIT,
  f32FromBits,
  f64FromBits,
  finishF32,
  finishF64,
  floatOut,
  isNaNF64,
  isSignalingNaNF32,
  isSignalingNaNF64,
  twoSumError,
  writeBitsF32,
  writeCanonicalNaNF32,
  writeCanonicalNaNF64,
  writeF32,
  writeF64,
} from './common';
import { exactFromF64, roundExact, writeZero } from './exact';

const TWO_POW_32 = 4294967296;
const TWO_POW_31 = 2147483648;
const TWO_POW_63 = 9223372036854775808;
const TWO_POW_64 = 18446744073709551616;

const enum IntegerKind {
  Int32,
  Uint32,
  Int64,
  Uint64,
}

/** x (finite) rounded to an integral double in the given mode. */
function roundToIntegral(x: number, roundingMode: RoundingMode): number {
  switch (roundingMode) {
    case RoundingMode.TowardZero:
      return Math.trunc(x);
    case RoundingMode.Down:
      return Math.floor(x);
    case RoundingMode.Up:
      return Math.ceil(x);
    case RoundingMode.NearestEven: {
      const floor = Math.floor(x);
      const fraction = x - floor; // exact: |x| >= 2^52 are integers already
      if (fraction > 0.5) return floor + 1;
      if (fraction < 0.5) return floor;
      return floor % 2 === 0 ? floor : floor + 1;
    }
    default: {
      const magnitude = Math.abs(x);
      const floor = Math.floor(magnitude);
      const rounded = magnitude - floor >= 0.5 ? floor + 1 : floor;
      return x < 0 ? -rounded : rounded;
    }
  }
}

/** Saturated result for NaN (treated as +∞) and out-of-range inputs; always Invalid. */
function writeSaturated(kind: IntegerKind, negative: boolean): number {
  switch (kind) {
    case IntegerKind.Int32:
      floatOut[0] = negative ? SIGN_BIT : 0x7fffffff;
      floatOut[1] = negative ? -1 : 0;
      break;
    case IntegerKind.Uint32:
      // 0 or 0xffffffff, sign-extended to 64 bits
      floatOut[0] = negative ? 0 : -1;
      floatOut[1] = negative ? 0 : -1;
      break;
    case IntegerKind.Int64:
      floatOut[0] = negative ? 0 : -1;
      floatOut[1] = negative ? SIGN_BIT : 0x7fffffff;
      break;
    default:
      floatOut[0] = negative ? 0 : -1;
      floatOut[1] = negative ? 0 : -1;
  }
  return FloatFlag.Invalid;
}

/** x is a double (NaN allowed); writes the integer sign-extended to 64 bits. */
function toInteger(x: number, kind: IntegerKind, roundingMode: RoundingMode): number {
  if (x !== x) return writeSaturated(kind, false);
  const rounded = roundToIntegral(x, roundingMode); // ±Infinity stays, and fails the range checks
  let inRange: boolean;
  switch (kind) {
    case IntegerKind.Int32:
      inRange = rounded >= -TWO_POW_31 && rounded < TWO_POW_31;
      break;
    case IntegerKind.Uint32:
      inRange = rounded >= 0 && rounded < TWO_POW_32; // -0 (from e.g. -0.3) is in range
      break;
    case IntegerKind.Int64:
      inRange = rounded >= -TWO_POW_63 && rounded < TWO_POW_63;
      break;
    default:
      inRange = rounded >= 0 && rounded < TWO_POW_64;
  }
  if (!inRange) return writeSaturated(kind, x < 0);
  if (kind === IntegerKind.Int32 || kind === IntegerKind.Uint32) {
    floatOut[0] = rounded | 0;
    floatOut[1] = floatOut[0] >> 31;
  } else {
    const high = Math.floor(rounded / TWO_POW_32);
    floatOut[0] = (rounded - high * TWO_POW_32) | 0;
    floatOut[1] = high | 0;
  }
  return rounded === x ? 0 : FloatFlag.Inexact;
}

// ---- float -> integer (fcvt.w/wu/l/lu.s and .d); results sign-extended into out[1]

export function f32ToInt32(bits: number, roundingMode: RoundingMode): number {
  return toInteger(f32FromBits(bits), IntegerKind.Int32, roundingMode);
}
export function f32ToUint32(bits: number, roundingMode: RoundingMode): number {
  return toInteger(f32FromBits(bits), IntegerKind.Uint32, roundingMode);
}
export function f32ToInt64(bits: number, roundingMode: RoundingMode): number {
  return toInteger(f32FromBits(bits), IntegerKind.Int64, roundingMode);
}
export function f32ToUint64(bits: number, roundingMode: RoundingMode): number {
  return toInteger(f32FromBits(bits), IntegerKind.Uint64, roundingMode);
}
export function f64ToInt32(low: number, high: number, roundingMode: RoundingMode): number {
  return toInteger(f64FromBits(low, high), IntegerKind.Int32, roundingMode);
}
export function f64ToUint32(low: number, high: number, roundingMode: RoundingMode): number {
  return toInteger(f64FromBits(low, high), IntegerKind.Uint32, roundingMode);
}
export function f64ToInt64(low: number, high: number, roundingMode: RoundingMode): number {
  return toInteger(f64FromBits(low, high), IntegerKind.Int64, roundingMode);
}
export function f64ToUint64(low: number, high: number, roundingMode: RoundingMode): number {
  return toInteger(f64FromBits(low, high), IntegerKind.Uint64, roundingMode);
}

// ---- integer -> float (fcvt.s/d.w/wu/l/lu); 32-bit sources take the low register word

/** An integer exactly representable as a double, to f32. */
function smallIntegerToF32(value: number, roundingMode: RoundingMode): number {
  if (value === 0) {
    writeF32(0);
    return 0;
  }
  return finishF32(value, 0, roundingMode);
}

export function int32ToF32(value: number, roundingMode: RoundingMode): number {
  return smallIntegerToF32(value | 0, roundingMode);
}
export function uint32ToF32(value: number, roundingMode: RoundingMode): number {
  return smallIntegerToF32(value >>> 0, roundingMode);
}

/** Exact in double: rounding mode not needed. */
export function int32ToF64(value: number): number {
  writeF64(value | 0);
  return 0;
}
export function uint32ToF64(value: number): number {
  writeF64(value >>> 0);
  return 0;
}

/** high × 2^32 + low as a double plus its exact error (TwoSum), then finished in the target format. */
function integer64ToFloat(highPart: number, low: number, isDouble: boolean, roundingMode: RoundingMode): number {
  const lowPart = low >>> 0;
  const sum = highPart + lowPart;
  if (sum === 0) {
    if (isDouble) writeF64(0);
    else writeF32(0);
    return 0;
  }
  const error = twoSumError(highPart, lowPart, sum);
  if (!isDouble) return finishF32(sum, error, roundingMode);
  if (error === 0) {
    writeF64(sum);
    return 0;
  }
  if (roundingMode === RoundingMode.NearestEven) {
    writeF64(sum);
    return FloatFlag.Inexact;
  }
  return finishF64(sum, error, 0, roundingMode);
}

export function int64ToF32(low: number, high: number, roundingMode: RoundingMode): number {
  return integer64ToFloat((high | 0) * TWO_POW_32, low, false, roundingMode);
}
export function uint64ToF32(low: number, high: number, roundingMode: RoundingMode): number {
  return integer64ToFloat((high >>> 0) * TWO_POW_32, low, false, roundingMode);
}
export function int64ToF64(low: number, high: number, roundingMode: RoundingMode): number {
  return integer64ToFloat((high | 0) * TWO_POW_32, low, true, roundingMode);
}
export function uint64ToF64(low: number, high: number, roundingMode: RoundingMode): number {
  return integer64ToFloat((high >>> 0) * TWO_POW_32, low, true, roundingMode);
}

// ---- f32 <-> f64

/** fcvt.d.s: exact; NaN becomes canonical (Invalid if signalling). */
export function f32ToF64(bits: number): number {
  const value = f32FromBits(bits);
  if (value !== value) {
    writeCanonicalNaNF64();
    return isSignalingNaNF32(bits) ? FloatFlag.Invalid : 0;
  }
  writeF64(value);
  return 0;
}

/** fcvt.s.d with rounding. */
export function f64ToF32(low: number, high: number, roundingMode: RoundingMode): number {
  const value = f64FromBits(low, high);
  const flags = finishF32(value, 0, roundingMode);
  if (flags !== NEEDS_EXACT) return flags;
  if (isNaNF64(low, high)) {
    writeCanonicalNaNF32();
    return isSignalingNaNF64(low, high) ? FloatFlag.Invalid : 0;
  }
  if (value === 0) {
    writeZero(high < 0, false);
    return 0;
  }
  if (value === Infinity || value === -Infinity) {
    writeBitsF32(high < 0 ? SIGN_BIT | 0x7f800000 : 0x7f800000);
    return 0;
  }
  const exact = exactFromF64(low, high); // subnormal, tiny or overflowing in f32
  return roundExact(exact.negative, exact.significand, exact.exponent, false, roundingMode);
}
