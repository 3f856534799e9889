// D-extension arithmetic: add, sub, mul, div, sqrt and the four fused multiply-adds on f64 bit
// patterns (low, high int32 words). Fast path: one JS double operation plus its exact error
// (TwoSum / Dekker / exact remainder), finished by finishF64; the rest goes to exact.ts.
import {
  FloatFlag,
  NEEDS_EXACT,
  RoundingMode,
  SIGN_BIT,
  f64FromBits,
  finishF64,
  isNaNF64,
  isSignalingNaNF64,
  twoProductError,
  twoSumError,
  writeBitsF64,
  writeCanonicalNaNF64,
  writeF64,
  zeroSumIsNegative,
} from './common';
import {
  exactAdd,
  exactDivide,
  exactFromF64,
  exactMultiply,
  exactMultiplyAdd,
  exactSquareRoot,
  writeZero,
} from './exact';

// Fast-path limits: inside them every error term is an exact double and no result is tiny.
const SAFE_LOW = 2 ** -960;
const SPLIT_LIMIT = 2 ** 995; // Veltkamp splitting overflows above
const SUM_LIMIT = 2 ** 1022; // TwoSum's intermediates stay finite below
const PRODUCT_LIMIT = 2 ** 1000;
const RESULT_LOW = 2 ** -1000;
/** A stand-in error smaller than any half-ulp in the fast range: only its sign matters. */
const TINY = Number.MIN_VALUE;

function isInfinite(value: number): boolean {
  return value === Infinity || value === -Infinity;
}

function writeInfinity(negative: boolean): void {
  writeBitsF64(0, negative ? SIGN_BIT | 0x7ff00000 : 0x7ff00000);
}

/** Canonical NaN, plus Invalid when either input signals. */
function nanResult(aLow: number, aHigh: number, bLow: number, bHigh: number): number {
  writeCanonicalNaNF64();
  return isSignalingNaNF64(aLow, aHigh) || isSignalingNaNF64(bLow, bHigh) ? FloatFlag.Invalid : 0;
}

function invalidResult(): number {
  writeCanonicalNaNF64();
  return FloatFlag.Invalid;
}

/**
 * The end of every fast path: `result` is the round-to-nearest-even double and `error` the
 * exact error's value (or a stand-in of its sign). Exact results and RNE are done; the other
 * rounding modes adjust by one ulp in finishF64.
 */
function deliverFastResult(result: number, error: number, roundingMode: RoundingMode): number {
  writeF64(result);
  if (error === 0) return 0;
  if (roundingMode === RoundingMode.NearestEven) return FloatFlag.Inexact;
  return finishF64(result, error, 0, roundingMode);
}

export function f64Add(aLow: number, aHigh: number, bLow: number, bHigh: number, roundingMode: RoundingMode): number {
  const a = f64FromBits(aLow, aHigh);
  const b = f64FromBits(bLow, bHigh);
  const sum = a + b;
  if ((a < 0 ? -a : a) < SUM_LIMIT && (b < 0 ? -b : b) < SUM_LIMIT) {
    const error = twoSumError(a, b, sum);
    // An exact zero sum rounding down is -0 (x + -x), which the double add does not give.
    if (error === 0 && sum === 0 && roundingMode === RoundingMode.Down) {
      writeZero(zeroSumIsNegative(aHigh < 0, bHigh < 0, roundingMode), true);
      return 0;
    }
    // An inexact sum is at least 2^-1021 in magnitude, so finishF64's precondition holds.
    return deliverFastResult(sum, error, roundingMode);
  }
  if (isNaNF64(aLow, aHigh) || isNaNF64(bLow, bHigh)) return nanResult(aLow, aHigh, bLow, bHigh);
  if (isInfinite(a) || isInfinite(b)) {
    if (isInfinite(a) && isInfinite(b) && a !== b) return invalidResult();
    writeInfinity(isInfinite(a) ? a < 0 : b < 0);
    return 0;
  }
  return exactAdd(exactFromF64(aLow, aHigh), exactFromF64(bLow, bHigh), true, roundingMode);
}

export function f64Sub(aLow: number, aHigh: number, bLow: number, bHigh: number, roundingMode: RoundingMode): number {
  return f64Add(aLow, aHigh, bLow, bHigh ^ SIGN_BIT, roundingMode);
}

export function f64Mul(aLow: number, aHigh: number, bLow: number, bHigh: number, roundingMode: RoundingMode): number {
  const a = f64FromBits(aLow, aHigh);
  const b = f64FromBits(bLow, bHigh);
  const product = a * b;
  const magnitude = product < 0 ? -product : product;
  if (
    magnitude >= SAFE_LOW &&
    magnitude < PRODUCT_LIMIT &&
    (a < 0 ? -a : a) < SPLIT_LIMIT &&
    (b < 0 ? -b : b) < SPLIT_LIMIT
  ) {
    return deliverFastResult(product, twoProductError(a, b, product), roundingMode);
  }
  if (isNaNF64(aLow, aHigh) || isNaNF64(bLow, bHigh)) return nanResult(aLow, aHigh, bLow, bHigh);
  const negative = (aHigh ^ bHigh) < 0;
  if (isInfinite(a) || isInfinite(b)) {
    if (a === 0 || b === 0) return invalidResult();
    writeInfinity(negative);
    return 0;
  }
  if (a === 0 || b === 0) {
    writeZero(negative, true);
    return 0;
  }
  return exactMultiply(exactFromF64(aLow, aHigh), exactFromF64(bLow, bHigh), true, roundingMode);
}

export function f64Div(aLow: number, aHigh: number, bLow: number, bHigh: number, roundingMode: RoundingMode): number {
  const a = f64FromBits(aLow, aHigh);
  const b = f64FromBits(bLow, bHigh);
  const quotient = a / b;
  const magnitude = quotient < 0 ? -quotient : quotient;
  const magnitudeA = a < 0 ? -a : a;
  const magnitudeB = b < 0 ? -b : b;
  if (
    magnitude >= SAFE_LOW &&
    magnitude < SPLIT_LIMIT &&
    magnitudeB >= SAFE_LOW &&
    magnitudeB < SPLIT_LIMIT &&
    magnitudeA >= SAFE_LOW &&
    magnitudeA < PRODUCT_LIMIT
  ) {
    // The remainder a - quotient*b is exact; quotients are never midpoints, so only its sign matters.
    const product = quotient * b;
    const remainder = a - product - twoProductError(quotient, b, product);
    // Only the sign of the error matters: a tiny stand-in of the right sign.
    return deliverFastResult(quotient, remainder === 0 ? 0 : remainder > 0 === b > 0 ? TINY : -TINY, roundingMode);
  }
  if (isNaNF64(aLow, aHigh) || isNaNF64(bLow, bHigh)) return nanResult(aLow, aHigh, bLow, bHigh);
  const negative = (aHigh ^ bHigh) < 0;
  if (isInfinite(a)) {
    if (isInfinite(b)) return invalidResult();
    writeInfinity(negative);
    return 0;
  }
  if (b === 0) {
    if (a === 0) return invalidResult();
    writeInfinity(negative);
    return FloatFlag.DivideByZero;
  }
  if (a === 0 || isInfinite(b)) {
    writeZero(negative, true);
    return 0;
  }
  return exactDivide(exactFromF64(aLow, aHigh), exactFromF64(bLow, bHigh), true, roundingMode);
}

export function f64Sqrt(aLow: number, aHigh: number, roundingMode: RoundingMode): number {
  const a = f64FromBits(aLow, aHigh);
  if (a >= SAFE_LOW && a < PRODUCT_LIMIT) {
    const root = Math.sqrt(a);
    const square = root * root;
    const remainder = a - square - twoProductError(root, root, square);
    return deliverFastResult(root, remainder === 0 ? 0 : remainder > 0 ? TINY : -TINY, roundingMode);
  }
  if (isNaNF64(aLow, aHigh)) return nanResult(aLow, aHigh, 0, 0);
  if (a === 0) {
    writeBitsF64(aLow, aHigh); // sqrt(-0) = -0
    return 0;
  }
  if (a < 0) return invalidResult();
  if (a === Infinity) {
    writeInfinity(false);
    return 0;
  }
  return exactSquareRoot(exactFromF64(aLow, aHigh), true, roundingMode);
}

/** a × b + c with a single rounding (fmadd.d). */
export function f64MulAdd(
  aLow: number,
  aHigh: number,
  bLow: number,
  bHigh: number,
  cLow: number,
  cHigh: number,
  roundingMode: RoundingMode,
): number {
  const a = f64FromBits(aLow, aHigh);
  const b = f64FromBits(bLow, bHigh);
  const c = f64FromBits(cLow, cHigh);
  const product = a * b;
  const magnitude = product < 0 ? -product : product;
  if (
    magnitude >= SAFE_LOW &&
    magnitude < PRODUCT_LIMIT &&
    (a < 0 ? -a : a) < SPLIT_LIMIT &&
    (b < 0 ? -b : b) < SPLIT_LIMIT &&
    (c < 0 ? -c : c) < PRODUCT_LIMIT
  ) {
    // exact = product + productError + c, regrouped by TwoSums into
    // result + errorHigh + errorLow with result = fl(product + c + the errors' sum).
    const productError = twoProductError(a, b, product);
    const high = c + product;
    const highError = twoSumError(c, product, high);
    const middle = highError + productError;
    const middleError = twoSumError(highError, productError, middle);
    const result = high + middle;
    const resultError = twoSumError(high, middle, result);
    const errorHigh = resultError + middleError;
    const errorLow = twoSumError(resultError, middleError, errorHigh);
    if ((result < 0 ? -result : result) >= RESULT_LOW) {
      const flags = finishF64(result, errorHigh, errorLow, roundingMode);
      if (flags !== NEEDS_EXACT) return flags;
    } else if (result === 0 && errorHigh === 0) {
      // Exact cancellation of a non-zero product.
      writeZero(roundingMode === RoundingMode.Down, true);
      return 0;
    }
  }
  return f64MulAddSlow(aLow, aHigh, bLow, bHigh, cLow, cHigh, roundingMode);
}

function f64MulAddSlow(
  aLow: number,
  aHigh: number,
  bLow: number,
  bHigh: number,
  cLow: number,
  cHigh: number,
  roundingMode: RoundingMode,
): number {
  const a = f64FromBits(aLow, aHigh);
  const b = f64FromBits(bLow, bHigh);
  const c = f64FromBits(cLow, cHigh);
  // 0 × ∞ is invalid even when the addend is a quiet NaN (as QEMU does).
  const infinityTimesZero = (isInfinite(a) && b === 0) || (a === 0 && isInfinite(b));
  if (isNaNF64(aLow, aHigh) || isNaNF64(bLow, bHigh) || isNaNF64(cLow, cHigh)) {
    writeCanonicalNaNF64();
    const signaling =
      isSignalingNaNF64(aLow, aHigh) || isSignalingNaNF64(bLow, bHigh) || isSignalingNaNF64(cLow, cHigh);
    return signaling || infinityTimesZero ? FloatFlag.Invalid : 0;
  }
  if (infinityTimesZero) return invalidResult();
  const productNegative = (aHigh ^ bHigh) < 0;
  if (isInfinite(a) || isInfinite(b)) {
    if (isInfinite(c) && c < 0 !== productNegative) return invalidResult();
    writeInfinity(productNegative);
    return 0;
  }
  if (isInfinite(c)) {
    writeInfinity(c < 0);
    return 0;
  }
  if (a === 0 || b === 0) {
    if (c === 0) writeZero(zeroSumIsNegative(productNegative, cHigh < 0, roundingMode), true);
    else writeBitsF64(cLow, cHigh);
    return 0;
  }
  return exactMultiplyAdd(exactFromF64(aLow, aHigh), exactFromF64(bLow, bHigh), exactFromF64(cLow, cHigh), true, roundingMode);
}

/** a × b − c (fmsub.d). */
export function f64MulSub(
  aLow: number,
  aHigh: number,
  bLow: number,
  bHigh: number,
  cLow: number,
  cHigh: number,
  roundingMode: RoundingMode,
): number {
  return f64MulAdd(aLow, aHigh, bLow, bHigh, cLow, cHigh ^ SIGN_BIT, roundingMode);
}

/** −(a × b) + c (fnmsub.d). */
export function f64NegMulSub(
  aLow: number,
  aHigh: number,
  bLow: number,
  bHigh: number,
  cLow: number,
  cHigh: number,
  roundingMode: RoundingMode,
): number {
  return f64MulAdd(aLow, aHigh ^ SIGN_BIT, bLow, bHigh, cLow, cHigh, roundingMode);
}

/** −(a × b) − c (fnmadd.d). */
export function f64NegMulAdd(
  aLow: number,
  aHigh: number,
  bLow: number,
  bHigh: number,
  cLow: number,
  cHigh: number,
  roundingMode: RoundingMode,
): number {
  return f64MulAdd(aLow, aHigh ^ SIGN_BIT, bLow, bHigh, cLow, cHigh ^ SIGN_BIT, roundingMode);
}
