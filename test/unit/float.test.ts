// Readable examples of the float library's behaviour, one group per operation kind. The exhaustive
// check against QEMU is float-vectors.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as float from '../../vmm-core/cpu/float';
import { FloatFlag, RoundingMode, floatOut } from '../../vmm-core/cpu/float';

const buffer = new ArrayBuffer(8);
const f64View = new Float64Array(buffer);
const f32View = new Float32Array(buffer);
const i32View = new Int32Array(buffer);

/** [low, high] words of a double. */
function words(value: number): [number, number] {
  f64View[0] = value;
  return [i32View[0], i32View[1]];
}
function bits32(value: number): number {
  f32View[0] = value;
  return i32View[0];
}
function resultF64(): number {
  i32View[0] = floatOut[0];
  i32View[1] = floatOut[1];
  return f64View[0];
}
function resultF32(): number {
  i32View[0] = floatOut[0];
  return f32View[0];
}
function f64FromHex(high: number, low: number): number {
  i32View[0] = low;
  i32View[1] = high;
  return f64View[0];
}

const NearestEven = RoundingMode.NearestEven;
const TowardZero = RoundingMode.TowardZero;
const Down = RoundingMode.Down;
const Up = RoundingMode.Up;
const NearestMaxMagnitude = RoundingMode.NearestMaxMagnitude;
const Inexact = FloatFlag.Inexact;
const Underflow = FloatFlag.Underflow;
const Overflow = FloatFlag.Overflow;
const DivideByZero = FloatFlag.DivideByZero;
const Invalid = FloatFlag.Invalid;
const MAX_F64 = Number.MAX_VALUE;
const MIN_NORMAL_F64 = 2 ** -1022;
const QUIET_NAN_F32 = 0x7fc00000;
const SIGNALING_NAN_F32 = 0x7f800001;
const QUIET_NAN_F64: [number, number] = [0, 0x7ff80000];
const SIGNALING_NAN_F64: [number, number] = [1, 0x7ff00000];

function add64(a: number, b: number, mode: RoundingMode): number {
  return float.f64Add(...words(a), ...words(b), mode);
}
function mul64(a: number, b: number, mode: RoundingMode): number {
  return float.f64Mul(...words(a), ...words(b), mode);
}

describe('add and subtract', () => {
  test('1 + 2^-24 in f32 is a tie: even result for RNE, away from zero for RMM', () => {
    assert.equal(float.f32Add(bits32(1), bits32(2 ** -24), NearestEven), Inexact);
    assert.equal(resultF32(), 1);
    assert.equal(float.f32Add(bits32(1), bits32(2 ** -24), NearestMaxMagnitude), Inexact);
    assert.equal(resultF32(), 1 + 2 ** -23);
    assert.equal(floatOut[1], -1, 'f32 results come NaN-boxed');
  });
  test('0.1 + 0.2 rounds up in RNE and down in RDN', () => {
    assert.equal(add64(0.1, 0.2, NearestEven), Inexact);
    assert.equal(resultF64(), 0.30000000000000004);
    assert.equal(add64(0.1, 0.2, Down), Inexact);
    assert.equal(resultF64(), 0.3);
  });
  test('x - x is +0, except -0 when rounding down', () => {
    assert.equal(float.f64Sub(...words(5), ...words(5), NearestEven), 0);
    assert.ok(Object.is(resultF64(), 0));
    assert.equal(float.f64Sub(...words(5), ...words(5), Down), 0);
    assert.ok(Object.is(resultF64(), -0));
  });
  test('∞ - ∞ is the canonical NaN and Invalid', () => {
    assert.equal(add64(Infinity, -Infinity, NearestEven), Invalid);
    assert.deepEqual([...floatOut], QUIET_NAN_F64);
  });
  test('a signalling NaN operand raises Invalid; a quiet one does not', () => {
    assert.equal(float.f32Add(SIGNALING_NAN_F32, bits32(1), NearestEven), Invalid);
    assert.equal(floatOut[0], QUIET_NAN_F32);
    assert.equal(float.f32Add(0xffc00123 | 0, bits32(1), NearestEven), 0);
    assert.equal(floatOut[0], QUIET_NAN_F32, 'NaN payloads are not propagated');
  });
});

describe('multiply', () => {
  test('overflow gives ∞ or the largest finite value depending on the direction', () => {
    assert.equal(mul64(MAX_F64, 2, NearestEven), Overflow | Inexact);
    assert.equal(resultF64(), Infinity);
    assert.equal(mul64(MAX_F64, 2, TowardZero), Overflow | Inexact);
    assert.equal(resultF64(), MAX_F64);
    assert.equal(mul64(-MAX_F64, 2, Up), Overflow | Inexact);
    assert.equal(resultF64(), -MAX_F64);
  });
  test('an exact subnormal result does not underflow', () => {
    assert.equal(mul64(MIN_NORMAL_F64, 0.5, NearestEven), 0);
    assert.equal(resultF64(), 2 ** -1023);
  });
  test('tininess is detected after rounding', () => {
    // (2^-126 + 2^-149) × (1 - 2^-23) = 2^-126 (1 - 2^-46): RNE with an unbounded exponent gives
    // 2^-126, so the result is not tiny and there is no Underflow.
    const minNormalPlusUlp = 0x00800001;
    const oneMinusUlp = bits32(1 - 2 ** -23);
    assert.equal(float.f32Mul(minNormalPlusUlp, oneMinusUlp, NearestEven), Inexact);
    assert.equal(resultF32(), 2 ** -126);
    // Truncation keeps it below 2^-126: tiny and inexact.
    assert.equal(float.f32Mul(minNormalPlusUlp, oneMinusUlp, TowardZero), Underflow | Inexact);
    assert.equal(resultF32(), 2 ** -126 - 2 ** -149);
  });
  test('a tie on the subnormal grid (2^-1022 - 2^-1075) is tiny even though RNE rounds it up', () => {
    assert.equal(mul64(MIN_NORMAL_F64, f64FromHex(0x3fefffff, -1), NearestEven), Underflow | Inexact);
    assert.equal(resultF64(), MIN_NORMAL_F64);
  });
  test('0 × ∞ is invalid', () => {
    assert.equal(mul64(0, Infinity, NearestEven), Invalid);
    assert.deepEqual([...floatOut], QUIET_NAN_F64);
  });
});

describe('divide and square root', () => {
  test('1 / 0 is +∞ with DivideByZero; 0 / 0 is invalid', () => {
    assert.equal(float.f64Div(...words(1), ...words(0), NearestEven), DivideByZero);
    assert.equal(resultF64(), Infinity);
    assert.equal(float.f32Div(bits32(0), bits32(0), NearestEven), Invalid);
    assert.equal(floatOut[0], QUIET_NAN_F32);
  });
  test('1 / 3 brackets the exact value in RDN and RUP', () => {
    float.f64Div(...words(1), ...words(3), Down);
    const below = resultF64();
    float.f64Div(...words(1), ...words(3), Up);
    const above = resultF64();
    assert.equal(above - below, 2 ** -54); // neighbours
    assert.equal(float.f64Div(...words(1), ...words(3), NearestEven), Inexact);
    assert.equal(resultF64(), below); // 1/3 = 0.0101..., the RNE result is the lower one
  });
  test('sqrt: -0 stays -0, negative numbers are invalid, 4 is exact', () => {
    assert.equal(float.f64Sqrt(...words(-0), NearestEven), 0);
    assert.ok(Object.is(resultF64(), -0));
    assert.equal(float.f32Sqrt(bits32(-1), NearestEven), Invalid);
    assert.equal(floatOut[0], QUIET_NAN_F32);
    assert.equal(float.f64Sqrt(...words(4), Up), 0);
    assert.equal(resultF64(), 2);
    // Math.SQRT2 (the RNE result) lies above √2, so rounding down gives its lower neighbour.
    assert.equal(float.f64Sqrt(...words(2), Up), Inexact);
    assert.equal(resultF64(), Math.SQRT2);
    assert.equal(float.f64Sqrt(...words(2), Down), Inexact);
    assert.equal(resultF64(), Math.SQRT2 - 2 ** -52);
  });
});

describe('fused multiply-add', () => {
  test('(1 + 2^-52)(1 - 2^-52) - 1 keeps the -2^-104 an unfused multiply would lose', () => {
    const flags = float.f64MulSub(...words(1 + 2 ** -52), ...words(1 - 2 ** -52), ...words(1), NearestEven);
    assert.equal(flags, 0);
    assert.equal(resultF64(), -(2 ** -104));
  });
  test('RISC-V sign conventions: fnmadd = -(a·b) - c, fnmsub = -(a·b) + c', () => {
    float.f32NegMulAdd(bits32(2), bits32(3), bits32(1), NearestEven);
    assert.equal(resultF32(), -7);
    float.f32NegMulSub(bits32(2), bits32(3), bits32(1), NearestEven);
    assert.equal(resultF32(), -5);
  });
  test('0 × ∞ + quiet NaN raises Invalid (as QEMU does)', () => {
    assert.equal(float.f64MulAdd(...words(0), ...words(Infinity), ...QUIET_NAN_F64, NearestEven), Invalid);
    assert.deepEqual([...floatOut], QUIET_NAN_F64);
  });
});

describe('min, max, compare, classify', () => {
  test('fmin/fmax: a NaN loses to a number (Invalid if signalling), -0 < +0', () => {
    assert.equal(float.f32Min(SIGNALING_NAN_F32, bits32(1)), Invalid);
    assert.equal(resultF32(), 1);
    assert.equal(float.f64Max(...QUIET_NAN_F64, ...words(-2)), 0);
    assert.equal(resultF64(), -2);
    assert.equal(float.f64Min(...words(0), ...words(-0)), 0);
    assert.ok(Object.is(resultF64(), -0));
    assert.equal(float.f32Max(QUIET_NAN_F32, SIGNALING_NAN_F32), Invalid);
    assert.equal(floatOut[0], QUIET_NAN_F32);
  });
  test('feq is quiet for quiet NaNs; flt and fle signal on any NaN', () => {
    assert.equal(float.f64Equal(...QUIET_NAN_F64, ...words(1)), 0);
    assert.equal(floatOut[0], 0);
    assert.equal(float.f64Equal(...SIGNALING_NAN_F64, ...words(1)), Invalid);
    assert.equal(float.f64Less(...QUIET_NAN_F64, ...words(1)), Invalid);
    assert.equal(float.f32LessOrEqual(bits32(-0), bits32(0)), 0);
    assert.equal(floatOut[0], 1);
  });
  test('fclass sets one bit per class', () => {
    const classOf = (value: number): number => (float.f64Classify(...words(value)), floatOut[0]);
    assert.equal(classOf(-Infinity), 1 << 0);
    assert.equal(classOf(-1), 1 << 1);
    assert.equal(classOf(-(2 ** -1074)), 1 << 2);
    assert.equal(classOf(-0), 1 << 3);
    assert.equal(classOf(0), 1 << 4);
    assert.equal(classOf(2 ** -1074), 1 << 5);
    assert.equal(classOf(1), 1 << 6);
    assert.equal(classOf(Infinity), 1 << 7);
    float.f32Classify(SIGNALING_NAN_F32);
    assert.equal(floatOut[0], 1 << 8);
    float.f32Classify(QUIET_NAN_F32);
    assert.equal(floatOut[0], 1 << 9);
  });
});

describe('conversions', () => {
  test('fcvt.w.d: rounding decides whether -2^31 - 0.5 fits', () => {
    const value = -2147483648.5;
    assert.equal(float.f64ToInt32(...words(value), TowardZero), Inexact);
    assert.deepEqual([...floatOut], [-2147483648, -1]);
    assert.equal(float.f64ToInt32(...words(value), NearestEven), Inexact); // tie to even
    assert.deepEqual([...floatOut], [-2147483648, -1]);
    assert.equal(float.f64ToInt32(...words(value), Down), Invalid); // saturates, no Inexact
    assert.deepEqual([...floatOut], [-2147483648, -1]);
  });
  test('fcvt.wu: small negatives round to 0; NaN saturates to 0xffffffff sign-extended', () => {
    assert.equal(float.f32ToUint32(bits32(-0.5), TowardZero), Inexact);
    assert.deepEqual([...floatOut], [0, 0]);
    assert.equal(float.f32ToUint32(bits32(-1), TowardZero), Invalid);
    assert.deepEqual([...floatOut], [0, 0]);
    assert.equal(float.f64ToUint32(...QUIET_NAN_F64, NearestEven), Invalid);
    assert.deepEqual([...floatOut], [-1, -1]);
  });
  test('fcvt.l.d of 2^63 saturates to the largest int64', () => {
    assert.equal(float.f64ToInt64(...words(2 ** 63), NearestEven), Invalid);
    assert.deepEqual([...floatOut], [-1, 0x7fffffff]);
  });
  test('fcvt.d.l: 2^53 + 1 needs rounding', () => {
    assert.equal(float.int64ToF64(1, 0x200000, NearestEven), Inexact);
    assert.equal(resultF64(), 2 ** 53);
    assert.equal(float.int64ToF64(1, 0x200000, Up), Inexact);
    assert.equal(resultF64(), 2 ** 53 + 2);
    assert.equal(float.uint64ToF32(-1, -1, TowardZero), Inexact);
    assert.equal(resultF32(), 2 ** 64 - 2 ** 40);
  });
  test('fcvt.d.s quiets a signalling NaN with Invalid; fcvt.s.d overflows by mode', () => {
    assert.equal(float.f32ToF64(SIGNALING_NAN_F32), Invalid);
    assert.deepEqual([...floatOut], QUIET_NAN_F64);
    assert.equal(float.f64ToF32(...words(1e39), NearestEven), Overflow | Inexact);
    assert.equal(resultF32(), Infinity);
    assert.equal(float.f64ToF32(...words(1e39), TowardZero), Overflow | Inexact);
    assert.equal(resultF32(), 3.4028234663852886e38);
  });
});
