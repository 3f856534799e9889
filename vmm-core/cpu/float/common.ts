// Shared pieces of the F/D library: the public enums, the result buffer, bit casts and the
// "finish" step that turns an RNE double result plus its exact error into the result of any
// rounding mode with exact flags (the hot path; no BigInt, no allocation).

export const enum RoundingMode {
  NearestEven = 0,
  TowardZero = 1,
  Down = 2,
  Up = 3,
  NearestMaxMagnitude = 4,
}

export const enum FloatFlag {
  Inexact = 1,
  Underflow = 2,
  Overflow = 4,
  DivideByZero = 8,
  Invalid = 16,
}

/**
 * Results: out[0] = low 32 bits, out[1] = high 32 bits (f64 and 64-bit integers).
 * f32 results go to out[0] and out[1] is set to -1 (the NaN-boxing upper half);
 * integer results of compares/classify are zero-extended, of fcvt.w[u] sign-extended.
 */
export const floatOut = new Int32Array(2);

/** Returned by the finish helpers when the fast path cannot decide; the caller takes the exact path. */
export const NEEDS_EXACT = -1;

// One buffer, three views: bit casts without allocation.
const castBuffer = new ArrayBuffer(8);
const castF64 = new Float64Array(castBuffer);
const castF32 = new Float32Array(castBuffer);
const castI32 = new Int32Array(castBuffer);

castF64[0] = 1;
if (castI32[1] !== 0x3ff00000) throw new Error('float library assumes a little-endian host');

export const CANONICAL_NAN_F32 = 0x7fc00000;
export const CANONICAL_NAN_F64_HIGH = 0x7ff80000;
export const SIGN_BIT = -0x80000000; // 0x80000000 as an int32

export const MAX_F32 = 3.4028234663852886e38;
export const MIN_NORMAL_F32 = 2 ** -126;

// 2^e for e in [-1100, 1100] without Math.pow on the hot path (0 below the subnormal range).
const POW2_BIAS = 1100;
const pow2Table = new Float64Array(2 * POW2_BIAS + 1);
for (let exponent = -POW2_BIAS; exponent <= POW2_BIAS; exponent++) pow2Table[exponent + POW2_BIAS] = 2 ** exponent;
export function pow2(exponent: number): number {
  return pow2Table[exponent + POW2_BIAS];
}

export function f64FromBits(low: number, high: number): number {
  castI32[0] = low;
  castI32[1] = high;
  return castF64[0];
}

export function f32FromBits(bits: number): number {
  castI32[0] = bits;
  return castF32[0];
}

/** Bits of an f32 value (value must be exactly representable, or RNE is intended). */
export function bitsOfF32(value: number): number {
  castF32[0] = value;
  return castI32[0];
}

/** Writes a non-NaN double. */
export function writeF64(value: number): void {
  castF64[0] = value;
  floatOut[0] = castI32[0];
  floatOut[1] = castI32[1];
}

/** Writes a non-NaN value that is exactly representable as f32. */
export function writeF32(value: number): void {
  castF32[0] = value;
  floatOut[0] = castI32[0];
  floatOut[1] = -1;
}

export function writeBitsF32(bits: number): void {
  floatOut[0] = bits;
  floatOut[1] = -1;
}

export function writeBitsF64(low: number, high: number): void {
  floatOut[0] = low;
  floatOut[1] = high;
}

export function writeCanonicalNaNF32(): void {
  floatOut[0] = CANONICAL_NAN_F32;
  floatOut[1] = -1;
}

export function writeCanonicalNaNF64(): void {
  floatOut[0] = 0;
  floatOut[1] = CANONICAL_NAN_F64_HIGH;
}

export function isNaNF32(bits: number): boolean {
  return (bits & 0x7fffffff) > 0x7f800000;
}

export function isSignalingNaNF32(bits: number): boolean {
  return (bits & 0x7fffffff) > 0x7f800000 && (bits & 0x00400000) === 0;
}

export function isNaNF64(low: number, high: number): boolean {
  const magnitude = high & 0x7fffffff;
  return magnitude > 0x7ff00000 || (magnitude === 0x7ff00000 && low !== 0);
}

export function isSignalingNaNF64(low: number, high: number): boolean {
  return isNaNF64(low, high) && (high & 0x00080000) === 0;
}

/**
 * Sign of an exact zero sum x + y (also fma's product + addend): IEEE gives +0 except that two
 * zeros of the same sign keep it, and rounding Down gives -0 for any other combination.
 */
export function zeroSumIsNegative(xNegative: boolean, yNegative: boolean, roundingMode: RoundingMode): boolean {
  return (xNegative && yNegative) || (roundingMode === RoundingMode.Down && (xNegative || yNegative));
}

export function isNegativeZero(value: number): boolean {
  return value === 0 && 1 / value < 0;
}

// Where the exact result lies between the candidate and its neighbour, relative to their midpoint.
const enum Position {
  Below = 1,
  Middle = 2,
  Above = 3,
}

/** Whether rounding moves from the candidate to its neighbour in the error's direction. */
function movesToNeighbour(
  roundingMode: RoundingMode,
  position: Position,
  upward: boolean,
  awayFromZero: boolean,
  candidateOdd: boolean,
): boolean {
  switch (roundingMode) {
    case RoundingMode.NearestEven:
      return position === Position.Above || (position === Position.Middle && candidateOdd);
    case RoundingMode.NearestMaxMagnitude:
      return position === Position.Above || (position === Position.Middle && awayFromZero);
    case RoundingMode.TowardZero:
      return !awayFromZero;
    case RoundingMode.Down:
      return !upward;
    default:
      return upward;
  }
}

/**
 * Finishes an f64 result. The exact result is value + errorHigh + errorLow, where value is a normal
 * double with |value| >= 2^-1000 (no tininess possible) and errorHigh = fl(errorHigh + errorLow).
 * value need not be the RNE result, but the exact result must lie within one unit in the last place
 * of it; otherwise returns NEEDS_EXACT. Writes the result and returns the flags.
 */
export function finishF64(value: number, errorHigh: number, errorLow: number, roundingMode: RoundingMode): number {
  if (errorHigh === 0) {
    writeF64(value);
    return 0;
  }
  castF64[0] = value;
  const lowWord = castI32[0];
  const highWord = castI32[1];
  const upward = errorHigh > 0;
  const direction = upward ? 1 : -1;
  const awayFromZero = value > 0 === upward;
  const exponentField = (highWord >>> 20) & 0x7ff;
  let gapExponent = exponentField - 1075;
  // Below a power of two the spacing halves.
  if (!awayFromZero && exponentField > 1 && lowWord === 0 && (highWord & 0xfffff) === 0) gapExponent--;
  const gap = pow2(gapExponent);
  const half = gap * 0.5;
  const magnitude = errorHigh * direction;
  let position: Position;
  if (magnitude < half) {
    position = Position.Below;
  } else if (magnitude > half) {
    if (magnitude > gap || (magnitude === gap && errorLow * direction >= 0)) return NEEDS_EXACT;
    position = Position.Above;
  } else {
    const lowToward = errorLow * direction;
    position = lowToward > 0 ? Position.Above : lowToward < 0 ? Position.Below : Position.Middle;
  }
  const result = movesToNeighbour(roundingMode, position, upward, awayFromZero, (lowWord & 1) !== 0)
    ? value + direction * gap // exact; becomes ±Infinity past the largest finite value
    : value;
  writeF64(result);
  return result === Infinity || result === -Infinity ? FloatFlag.Inexact | FloatFlag.Overflow : FloatFlag.Inexact;
}

/**
 * Finishes an f32 result from a double `high` = RN64(exact) and `low`, which only has to carry the
 * sign of exact - high (0 when exact). Double arithmetic on f32 operands keeps enough bits that the
 * only trouble is `high` sitting exactly on an f32 midpoint, which `low` resolves.
 * Returns NEEDS_EXACT (nothing written) unless 2^-126 < |high| <= MAX_F32, where underflow and
 * overflow-before-rounding cannot happen.
 */
export function finishF32(high: number, low: number, roundingMode: RoundingMode): number {
  const magnitudeHigh = high < 0 ? -high : high;
  if (!(magnitudeHigh > MIN_NORMAL_F32 && magnitudeHigh <= MAX_F32)) return NEEDS_EXACT;
  const value = Math.fround(high);
  const difference = high - value; // exact: both are close multiples of ulp64(high)
  if (difference === 0 || low === 0) {
    if (difference === 0 && low === 0) {
      writeF32(value);
      return 0;
    }
    // fround of the exact value (or of a value on the same side of every f32 midpoint) is RNE.
    if (roundingMode === RoundingMode.NearestEven) {
      writeF32(value);
      return FloatFlag.Inexact;
    }
  }
  castF32[0] = value;
  const bits = castI32[0];
  const upward = difference === 0 ? low > 0 : difference > 0;
  const direction = upward ? 1 : -1;
  const awayFromZero = value > 0 === upward;
  let gapExponent = ((bits >>> 23) & 0xff) - 150;
  if (!awayFromZero && (bits & 0x7fffff) === 0) gapExponent--;
  const gap = pow2(gapExponent);
  let position = Position.Below;
  if (difference !== 0 && difference * direction >= gap * 0.5) {
    // high is exactly on the midpoint; the sign of low decides.
    const lowToward = low * direction;
    position = lowToward > 0 ? Position.Above : lowToward < 0 ? Position.Below : Position.Middle;
  }
  const result = movesToNeighbour(roundingMode, position, upward, awayFromZero, (bits & 1) !== 0)
    ? value + direction * gap
    : value;
  writeF32(result); // 2^128 becomes Infinity here
  return result > MAX_F32 || result < -MAX_F32 ? FloatFlag.Inexact | FloatFlag.Overflow : FloatFlag.Inexact;
}

// ---- error-free transformations (return the error term; the rounded result is passed in)

const SPLITTER = 134217729; // 2^27 + 1, Veltkamp

/** a + b - sum exactly, for sum = fl(a + b) (Knuth's TwoSum; no overflow for |a|,|b| < 2^1022). */
export function twoSumError(a: number, b: number, sum: number): number {
  const bVirtual = sum - a;
  const aVirtual = sum - bVirtual;
  return a - aVirtual + (b - bVirtual);
}

/**
 * a * b - product exactly, for product = fl(a * b) (Dekker). Requires |a|, |b| < 2^995 (splitting
 * overflows above) and |product| >= 2^-960 (the error must not fall below the subnormal grid).
 */
export function twoProductError(a: number, b: number, product: number): number {
  const aScaled = SPLITTER * a;
  const aHigh = aScaled - (aScaled - a);
  const aLow = a - aHigh;
  const bScaled = SPLITTER * b;
  const bHigh = bScaled - (bScaled - b);
  const bLow = b - bHigh;
  return aHigh * bHigh - product + aHigh * bLow + aLow * bHigh + aLow * bLow;
}
