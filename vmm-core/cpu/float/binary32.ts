// F-extension arithmetic on f32 bit patterns (one int32 each). Operands are exact doubles, so each
// operation runs once in double arithmetic; its exact error (often zero) and finishF32 give every
// rounding mode and the flags. Specials, tiny and overflowing results go to exact.ts.
import {
  FloatFlag,
  NEEDS_EXACT,
  RoundingMode,
  SIGN_BIT,
  f32FromBits,
  finishF32,
  isNaNF32,
  isNegativeZero,
  isSignalingNaNF32,
  twoProductError,
  twoSumError,
  writeBitsF32,
  writeCanonicalNaNF32,
  writeF32,
  zeroSumIsNegative,
} from './common';
import {
  exactAdd,
  exactDivide,
  exactFromF32,
  exactMultiply,
  exactMultiplyAdd,
  exactSquareRoot,
  writeZero,
} from './exact';

const INFINITY_BITS = 0x7f800000;

function isInfinite(value: number): boolean {
  return value === Infinity || value === -Infinity;
}

function writeInfinity(negative: boolean): void {
  writeBitsF32(negative ? SIGN_BIT | INFINITY_BITS : INFINITY_BITS);
}

function nanResult(aBits: number, bBits: number): number {
  writeCanonicalNaNF32();
  return isSignalingNaNF32(aBits) || isSignalingNaNF32(bBits) ? FloatFlag.Invalid : 0;
}

function invalidResult(): number {
  writeCanonicalNaNF32();
  return FloatFlag.Invalid;
}

export function f32Add(aBits: number, bBits: number, roundingMode: RoundingMode): number {
  const a = f32FromBits(aBits);
  const b = f32FromBits(bBits);
  const sum = a + b;
  const error = twoSumError(a, b, sum); // NaN for special operands; finishF32 then declines
  if (sum === 0 && error === 0) {
    if (roundingMode === RoundingMode.Down) writeZero(zeroSumIsNegative(aBits < 0, bBits < 0, roundingMode), false);
    else writeF32(sum);
    return 0;
  }
  const flags = finishF32(sum, error, roundingMode);
  if (flags !== NEEDS_EXACT) return flags;
  if (isNaNF32(aBits) || isNaNF32(bBits)) return nanResult(aBits, bBits);
  if (isInfinite(a) || isInfinite(b)) {
    if (isInfinite(a) && isInfinite(b) && a !== b) return invalidResult();
    writeInfinity(isInfinite(a) ? a < 0 : b < 0);
    return 0;
  }
  return exactAdd(exactFromF32(aBits), exactFromF32(bBits), false, roundingMode);
}

export function f32Sub(aBits: number, bBits: number, roundingMode: RoundingMode): number {
  return f32Add(aBits, bBits ^ SIGN_BIT, roundingMode);
}

export function f32Mul(aBits: number, bBits: number, roundingMode: RoundingMode): number {
  const a = f32FromBits(aBits);
  const b = f32FromBits(bBits);
  const flags = finishF32(a * b, 0, roundingMode); // 24 x 24 bits: the double product is exact
  if (flags !== NEEDS_EXACT) return flags;
  if (isNaNF32(aBits) || isNaNF32(bBits)) return nanResult(aBits, bBits);
  const negative = (aBits ^ bBits) < 0;
  if (isInfinite(a) || isInfinite(b)) {
    if (a === 0 || b === 0) return invalidResult();
    writeInfinity(negative);
    return 0;
  }
  if (a === 0 || b === 0) {
    writeZero(negative, false);
    return 0;
  }
  return exactMultiply(exactFromF32(aBits), exactFromF32(bBits), false, roundingMode);
}

export function f32Div(aBits: number, bBits: number, roundingMode: RoundingMode): number {
  const a = f32FromBits(aBits);
  const b = f32FromBits(bBits);
  const quotient = a / b;
  // Exact remainder (f32 operands keep every term far from the double range limits).
  const product = quotient * b;
  const remainder = a - product - twoProductError(quotient, b, product);
  const flags = finishF32(quotient, remainder / b, roundingMode);
  if (flags !== NEEDS_EXACT) return flags;
  if (isNaNF32(aBits) || isNaNF32(bBits)) return nanResult(aBits, bBits);
  const negative = (aBits ^ bBits) < 0;
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
    writeZero(negative, false);
    return 0;
  }
  return exactDivide(exactFromF32(aBits), exactFromF32(bBits), false, roundingMode);
}

export function f32Sqrt(aBits: number, roundingMode: RoundingMode): number {
  const a = f32FromBits(aBits);
  const root = Math.sqrt(a);
  const square = root * root;
  const remainder = a - square - twoProductError(root, root, square);
  const flags = finishF32(root, remainder, roundingMode);
  if (flags !== NEEDS_EXACT) return flags;
  if (isNaNF32(aBits)) return nanResult(aBits, 0);
  if (a === 0) {
    writeBitsF32(aBits); // sqrt(-0) = -0
    return 0;
  }
  if (a < 0) return invalidResult();
  if (a === Infinity) {
    writeInfinity(false);
    return 0;
  }
  return exactSquareRoot(exactFromF32(aBits), false, roundingMode);
}

/** a × b + c with a single rounding (fmadd.s): the product is exact in double, the sum's error by TwoSum. */
export function f32MulAdd(aBits: number, bBits: number, cBits: number, roundingMode: RoundingMode): number {
  const a = f32FromBits(aBits);
  const b = f32FromBits(bBits);
  const c = f32FromBits(cBits);
  const product = a * b;
  const sum = product + c;
  const error = twoSumError(product, c, sum);
  if (sum === 0 && error === 0) {
    // Exact zero: same-signed zeros keep their sign, otherwise +0 (-0 when rounding down).
    const negative =
      roundingMode === RoundingMode.Down
        ? !(product === 0 && c === 0 && !isNegativeZero(product) && !isNegativeZero(c))
        : isNegativeZero(sum);
    writeZero(negative, false);
    return 0;
  }
  const flags = finishF32(sum, error, roundingMode);
  if (flags !== NEEDS_EXACT) return flags;
  return f32MulAddSlow(aBits, bBits, cBits, roundingMode);
}

function f32MulAddSlow(aBits: number, bBits: number, cBits: number, roundingMode: RoundingMode): number {
  const a = f32FromBits(aBits);
  const b = f32FromBits(bBits);
  const c = f32FromBits(cBits);
  // 0 × ∞ is invalid even when the addend is a quiet NaN (as QEMU does).
  const infinityTimesZero = (isInfinite(a) && b === 0) || (a === 0 && isInfinite(b));
  if (isNaNF32(aBits) || isNaNF32(bBits) || isNaNF32(cBits)) {
    writeCanonicalNaNF32();
    const signaling = isSignalingNaNF32(aBits) || isSignalingNaNF32(bBits) || isSignalingNaNF32(cBits);
    return signaling || infinityTimesZero ? FloatFlag.Invalid : 0;
  }
  if (infinityTimesZero) return invalidResult();
  const productNegative = (aBits ^ bBits) < 0;
  if (isInfinite(a) || isInfinite(b)) {
    if (isInfinite(c) && c < 0 !== productNegative) return invalidResult();
    writeInfinity(productNegative);
    return 0;
  }
  if (isInfinite(c)) {
    writeInfinity(c < 0);
    return 0;
  }
  return exactMultiplyAdd(exactFromF32(aBits), exactFromF32(bBits), exactFromF32(cBits), false, roundingMode);
}

/** a × b − c (fmsub.s). */
export function f32MulSub(aBits: number, bBits: number, cBits: number, roundingMode: RoundingMode): number {
  return f32MulAdd(aBits, bBits, cBits ^ SIGN_BIT, roundingMode);
}

/** −(a × b) + c (fnmsub.s). */
export function f32NegMulSub(aBits: number, bBits: number, cBits: number, roundingMode: RoundingMode): number {
  return f32MulAdd(aBits ^ SIGN_BIT, bBits, cBits, roundingMode);
}

/** −(a × b) − c (fnmadd.s). */
export function f32NegMulAdd(aBits: number, bBits: number, cBits: number, roundingMode: RoundingMode): number {
  return f32MulAdd(aBits ^ SIGN_BIT, bBits, cBits ^ SIGN_BIT, roundingMode);
}
