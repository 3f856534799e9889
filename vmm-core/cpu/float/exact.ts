// The exact slow path: BigInt significands for the rare cases the double-based fast paths leave
// (results that overflow or are tiny, subnormal operands, extreme exponents, hard fma cases).
// Every value is negative? × significand × 2^exponent; rounding follows RISC-V (tininess after
// rounding, underflow only when tiny and inexact).
import { FloatFlag, RoundingMode, SIGN_BIT, floatOut } from './common';

export interface ExactValue {
  negative: boolean;
  significand: bigint;
  exponent: number;
}

/** Finite f64 (zero included) as an exact value. */
export function exactFromF64(low: number, high: number): ExactValue {
  const field = (high >>> 20) & 0x7ff;
  let significand = (BigInt(high & 0xfffff) << 32n) | BigInt(low >>> 0);
  if (field !== 0) significand |= 1n << 52n;
  return { negative: high < 0, significand, exponent: (field === 0 ? 1 : field) - 1075 };
}

/** Finite f32 (zero included) as an exact value. */
export function exactFromF32(bits: number): ExactValue {
  const field = (bits >>> 23) & 0xff;
  let significand = BigInt(bits & 0x7fffff);
  if (field !== 0) significand |= 1n << 23n;
  return { negative: bits < 0, significand, exponent: (field === 0 ? 1 : field) - 150 };
}

let exactPathCalls = 0;

/** How many times the exact path has run (tests check that normal-range operations avoid it). */
export function exactPathCount(): number {
  return exactPathCalls;
}

function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

let shiftWasInexact = false;

/** significand / 2^shift rounded to an integer in the given mode (shift may be negative). */
function shiftRound(significand: bigint, shift: number, negative: boolean, roundingMode: RoundingMode): bigint {
  if (shift <= 0) {
    shiftWasInexact = false;
    return significand << BigInt(-shift);
  }
  const bigShift = BigInt(shift);
  const kept = significand >> bigShift;
  const remainder = significand - (kept << bigShift);
  shiftWasInexact = remainder !== 0n;
  if (!shiftWasInexact) return kept;
  const half = 1n << (bigShift - 1n);
  let roundUp: boolean;
  switch (roundingMode) {
    case RoundingMode.NearestEven:
      roundUp = remainder > half || (remainder === half && (kept & 1n) === 1n);
      break;
    case RoundingMode.NearestMaxMagnitude:
      roundUp = remainder >= half;
      break;
    case RoundingMode.TowardZero:
      roundUp = false;
      break;
    case RoundingMode.Down:
      roundUp = negative;
      break;
    default:
      roundUp = !negative;
  }
  return roundUp ? kept + 1n : kept;
}

export function writeZero(negative: boolean, isDouble: boolean): void {
  if (isDouble) {
    floatOut[0] = 0;
    floatOut[1] = negative ? SIGN_BIT : 0;
  } else {
    floatOut[0] = negative ? SIGN_BIT : 0;
    floatOut[1] = -1;
  }
}

/** Result of an overflow: infinity or the largest finite value, by rounding direction. */
export function writeOverflow(negative: boolean, isDouble: boolean, roundingMode: RoundingMode): number {
  const toInfinity =
    roundingMode === RoundingMode.NearestEven ||
    roundingMode === RoundingMode.NearestMaxMagnitude ||
    (roundingMode === RoundingMode.Up && !negative) ||
    (roundingMode === RoundingMode.Down && negative);
  const sign = negative ? SIGN_BIT : 0;
  if (isDouble) {
    floatOut[0] = toInfinity ? 0 : -1;
    floatOut[1] = sign | (toInfinity ? 0x7ff00000 : 0x7fefffff);
  } else {
    floatOut[0] = sign | (toInfinity ? 0x7f800000 : 0x7f7fffff);
    floatOut[1] = -1;
  }
  return FloatFlag.Overflow | FloatFlag.Inexact;
}

/** Rounds negative? × significand × 2^exponent (significand > 0) to f32 or f64; returns flags. */
export function roundExact(
  negative: boolean,
  significand: bigint,
  exponent: number,
  isDouble: boolean,
  roundingMode: RoundingMode,
): number {
  exactPathCalls++;
  const precision = isDouble ? 53 : 24;
  const minExponent = isDouble ? -1022 : -126;
  const maxExponent = isDouble ? 1023 : 127;
  const length = bitLength(significand);
  const topExponent = exponent + length - 1;
  // Tininess after rounding: would the result, rounded with an unbounded exponent range, be below 2^emin?
  let tiny = topExponent < minExponent;
  if (topExponent === minExponent - 1) {
    const unbounded = shiftRound(significand, length - precision, negative, roundingMode);
    if (bitLength(unbounded) > precision) tiny = false;
  }
  let quantumExponent = Math.max(topExponent, minExponent) - precision + 1;
  let kept = shiftRound(significand, quantumExponent - exponent, negative, roundingMode);
  const inexact = shiftWasInexact;
  if (bitLength(kept) > precision) {
    kept >>= 1n; // rounding carried into a new binade; the dropped bit is 0
    quantumExponent++;
  }
  const flags = inexact ? FloatFlag.Inexact | (tiny ? FloatFlag.Underflow : 0) : 0;
  if (kept === 0n) {
    writeZero(negative, isDouble);
    return flags;
  }
  const keptLength = bitLength(kept);
  const resultTop = quantumExponent + keptLength - 1;
  if (resultTop > maxExponent) return writeOverflow(negative, isDouble, roundingMode);
  // Normal: biased exponent and the fraction without its leading one; subnormal: field 0.
  const normal = keptLength === precision;
  const field = normal ? resultTop + (isDouble ? 1023 : 127) : 0;
  const fraction = normal ? kept - (1n << BigInt(precision - 1)) : kept;
  const sign = negative ? SIGN_BIT : 0;
  if (isDouble) {
    floatOut[0] = Number(fraction & 0xffffffffn) | 0;
    floatOut[1] = sign | (field << 20) | Number(fraction >> 32n);
  } else {
    floatOut[0] = sign | (field << 23) | Number(fraction);
    floatOut[1] = -1;
  }
  return flags;
}

function roundValue(value: ExactValue, isDouble: boolean, roundingMode: RoundingMode): number {
  return roundExact(value.negative, value.significand, value.exponent, isDouble, roundingMode);
}

/** a + b rounded; an exact zero sum gets the IEEE sign for the rounding mode. */
export function exactAdd(a: ExactValue, b: ExactValue, isDouble: boolean, roundingMode: RoundingMode): number {
  const exponent = Math.min(a.exponent, b.exponent);
  const aAligned = a.significand << BigInt(a.exponent - exponent);
  const bAligned = b.significand << BigInt(b.exponent - exponent);
  const total = (a.negative ? -aAligned : aAligned) + (b.negative ? -bAligned : bAligned);
  if (total === 0n) {
    exactPathCalls++;
    const negative = (a.negative && b.negative) || (roundingMode === RoundingMode.Down && (a.negative || b.negative));
    writeZero(negative, isDouble);
    return 0;
  }
  return roundExact(total < 0n, total < 0n ? -total : total, exponent, isDouble, roundingMode);
}

export function exactProduct(a: ExactValue, b: ExactValue): ExactValue {
  return { negative: a.negative !== b.negative, significand: a.significand * b.significand, exponent: a.exponent + b.exponent };
}

export function exactMultiply(a: ExactValue, b: ExactValue, isDouble: boolean, roundingMode: RoundingMode): number {
  return roundValue(exactProduct(a, b), isDouble, roundingMode);
}

/** a × b + c with a single rounding. */
export function exactMultiplyAdd(
  a: ExactValue,
  b: ExactValue,
  c: ExactValue,
  isDouble: boolean,
  roundingMode: RoundingMode,
): number {
  return exactAdd(exactProduct(a, b), c, isDouble, roundingMode);
}

/** a / b for finite non-zero a and b: a truncated quotient with a sticky bit rounds like the exact one. */
export function exactDivide(a: ExactValue, b: ExactValue, isDouble: boolean, roundingMode: RoundingMode): number {
  const shift = isDouble ? 120 : 60; // keeps at least precision + 2 quotient bits for any operands
  const numerator = a.significand << BigInt(shift);
  const quotient = numerator / b.significand;
  const sticky = numerator - quotient * b.significand !== 0n ? 1n : 0n;
  return roundExact(
    a.negative !== b.negative,
    (quotient << 1n) | sticky,
    a.exponent - b.exponent - shift - 1,
    isDouble,
    roundingMode,
  );
}

function integerSquareRoot(value: bigint): bigint {
  let root = 1n << BigInt((bitLength(value) >> 1) + 1); // >= sqrt(value)
  for (;;) {
    const next = (root + value / root) >> 1n;
    if (next >= root) return root;
    root = next;
  }
}

/** sqrt(a) for finite positive a, with a sticky bit like exactDivide. */
export function exactSquareRoot(a: ExactValue, isDouble: boolean, roundingMode: RoundingMode): number {
  let significand = a.significand;
  let exponent = a.exponent;
  if ((exponent & 1) !== 0) {
    significand <<= 1n;
    exponent -= 1;
  }
  const halfShift = isDouble ? 64 : 32;
  const radicand = significand << BigInt(2 * halfShift);
  const root = integerSquareRoot(radicand);
  const sticky = radicand - root * root !== 0n ? 1n : 0n;
  return roundExact(false, (root << 1n) | sticky, (exponent - 2 * halfShift) / 2 - 1, isDouble, roundingMode);
}
