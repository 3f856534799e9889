// fmin/fmax (RISC-V 2.2+: minimumNumber/maximumNumber), feq/flt/fle and fclass for f32 and f64.
import {
  FloatFlag,
  f32FromBits,
  f64FromBits,
  floatOut,
  isNaNF32,
  isNaNF64,
  isSignalingNaNF32,
  isSignalingNaNF64,
  writeBitsF32,
  writeBitsF64,
  writeCanonicalNaNF32,
  writeCanonicalNaNF64,
} from './common';

function writeBoolean(value: boolean): void {
  floatOut[0] = value ? 1 : 0;
  floatOut[1] = 0;
}

/** Picks an operand for fmin (wantMax false) or fmax: a NaN loses to a number, -0 < +0. */
function pickF32(aBits: number, bBits: number, wantMax: boolean): number {
  const flags = isSignalingNaNF32(aBits) || isSignalingNaNF32(bBits) ? FloatFlag.Invalid : 0;
  const aNaN = isNaNF32(aBits);
  const bNaN = isNaNF32(bBits);
  if (aNaN && bNaN) writeCanonicalNaNF32();
  else if (aNaN) writeBitsF32(bBits);
  else if (bNaN) writeBitsF32(aBits);
  else {
    const a = f32FromBits(aBits);
    const b = f32FromBits(bBits);
    // Equal values differ only for ±0, where the sign bit decides.
    const aWins = a === b ? aBits < 0 !== wantMax : a < b !== wantMax;
    writeBitsF32(aWins ? aBits : bBits);
  }
  return flags;
}

function pickF64(aLow: number, aHigh: number, bLow: number, bHigh: number, wantMax: boolean): number {
  const flags = isSignalingNaNF64(aLow, aHigh) || isSignalingNaNF64(bLow, bHigh) ? FloatFlag.Invalid : 0;
  const aNaN = isNaNF64(aLow, aHigh);
  const bNaN = isNaNF64(bLow, bHigh);
  if (aNaN && bNaN) writeCanonicalNaNF64();
  else if (aNaN) writeBitsF64(bLow, bHigh);
  else if (bNaN) writeBitsF64(aLow, aHigh);
  else {
    const a = f64FromBits(aLow, aHigh);
    const b = f64FromBits(bLow, bHigh);
    const aWins = a === b ? aHigh < 0 !== wantMax : a < b !== wantMax;
    if (aWins) writeBitsF64(aLow, aHigh);
    else writeBitsF64(bLow, bHigh);
  }
  return flags;
}

export function f32Min(aBits: number, bBits: number): number {
  return pickF32(aBits, bBits, false);
}

export function f32Max(aBits: number, bBits: number): number {
  return pickF32(aBits, bBits, true);
}

export function f64Min(aLow: number, aHigh: number, bLow: number, bHigh: number): number {
  return pickF64(aLow, aHigh, bLow, bHigh, false);
}

export function f64Max(aLow: number, aHigh: number, bLow: number, bHigh: number): number {
  return pickF64(aLow, aHigh, bLow, bHigh, true);
}

/** feq: quiet comparison, Invalid only for signalling NaNs. */
export function f32Equal(aBits: number, bBits: number): number {
  const a = f32FromBits(aBits);
  const b = f32FromBits(bBits);
  writeBoolean(a === b);
  return isSignalingNaNF32(aBits) || isSignalingNaNF32(bBits) ? FloatFlag.Invalid : 0;
}

/** flt: signalling comparison, Invalid for any NaN. */
export function f32Less(aBits: number, bBits: number): number {
  const a = f32FromBits(aBits);
  const b = f32FromBits(bBits);
  writeBoolean(a < b);
  return a !== a || b !== b ? FloatFlag.Invalid : 0;
}

/** fle: signalling comparison, Invalid for any NaN. */
export function f32LessOrEqual(aBits: number, bBits: number): number {
  const a = f32FromBits(aBits);
  const b = f32FromBits(bBits);
  writeBoolean(a <= b);
  return a !== a || b !== b ? FloatFlag.Invalid : 0;
}

export function f64Equal(aLow: number, aHigh: number, bLow: number, bHigh: number): number {
  const a = f64FromBits(aLow, aHigh);
  const b = f64FromBits(bLow, bHigh);
  writeBoolean(a === b);
  return isSignalingNaNF64(aLow, aHigh) || isSignalingNaNF64(bLow, bHigh) ? FloatFlag.Invalid : 0;
}

export function f64Less(aLow: number, aHigh: number, bLow: number, bHigh: number): number {
  const a = f64FromBits(aLow, aHigh);
  const b = f64FromBits(bLow, bHigh);
  writeBoolean(a < b);
  return a !== a || b !== b ? FloatFlag.Invalid : 0;
}

export function f64LessOrEqual(aLow: number, aHigh: number, bLow: number, bHigh: number): number {
  const a = f64FromBits(aLow, aHigh);
  const b = f64FromBits(bLow, bHigh);
  writeBoolean(a <= b);
  return a !== a || b !== b ? FloatFlag.Invalid : 0;
}

/**
 * fclass mask bits: 0 −∞, 1 negative normal, 2 negative subnormal, 3 −0, 4 +0, 5 positive subnormal,
 * 6 positive normal, 7 +∞, 8 signalling NaN, 9 quiet NaN.
 */
function classMask(negative: boolean, exponentAllOnes: boolean, exponentZero: boolean, fractionZero: boolean, quiet: boolean): number {
  if (exponentAllOnes) {
    if (!fractionZero) return quiet ? 1 << 9 : 1 << 8;
    return negative ? 1 << 0 : 1 << 7;
  }
  if (exponentZero) {
    if (fractionZero) return negative ? 1 << 3 : 1 << 4;
    return negative ? 1 << 2 : 1 << 5;
  }
  return negative ? 1 << 1 : 1 << 6;
}

export function f32Classify(bits: number): number {
  const exponent = (bits >>> 23) & 0xff;
  floatOut[0] = classMask(bits < 0, exponent === 0xff, exponent === 0, (bits & 0x7fffff) === 0, (bits & 0x400000) !== 0);
  floatOut[1] = 0;
  return 0;
}

export function f64Classify(low: number, high: number): number {
  const exponent = (high >>> 20) & 0x7ff;
  floatOut[0] = classMask(
    high < 0,
    exponent === 0x7ff,
    exponent === 0,
    low === 0 && (high & 0xfffff) === 0,
    (high & 0x80000) !== 0,
  );
  floatOut[1] = 0;
  return 0;
}
