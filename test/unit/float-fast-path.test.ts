// The BigInt path is for rare cases only: normal-range operands with normal-range results, in every
// rounding mode, must be finished by double arithmetic (results are checked by float-vectors.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as float from '../../vmm-core/cpu/float';
import { exactPathCount } from '../../vmm-core/cpu/float/exact';
import { RoundingMode } from '../../vmm-core/cpu/float';

const buffer = new ArrayBuffer(8);
const f64View = new Float64Array(buffer);
const f32View = new Float32Array(buffer);
const i32View = new Int32Array(buffer);

let seed = 0x1234567;
function random(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) | 0;
  return (seed >>> 0) / 2 ** 32;
}
/** Random sign, full random significand, exponent in [-range, range]. */
function randomValue(range: number): number {
  const significand = 1 + random() + random() * 2 ** -26;
  return (random() < 0.5 ? -1 : 1) * significand * 2 ** Math.floor((random() * 2 - 1) * range);
}
function words(value: number): [number, number] {
  f64View[0] = value;
  return [i32View[0], i32View[1]];
}
function bits32(value: number): number {
  f32View[0] = value;
  return i32View[0];
}

test('normal-range f64 operations never take the exact path', () => {
  const before = exactPathCount();
  for (let i = 0; i < 3000; i++) {
    const mode = (i % 5) as RoundingMode;
    const a = randomValue(300);
    const b = i % 7 === 0 ? -a : randomValue(300); // some exact cancellations
    const c = i % 3 === 0 ? -(a * b) : randomValue(300); // and fma cancellations
    float.f64Add(...words(a), ...words(b), mode);
    float.f64Sub(...words(a), ...words(b), mode);
    float.f64Mul(...words(a), ...words(b), mode);
    float.f64Div(...words(a), ...words(b), mode);
    float.f64Sqrt(...words(Math.abs(a)), mode);
    float.f64MulAdd(...words(a), ...words(b), ...words(c), mode);
    float.f64NegMulAdd(...words(a), ...words(b), ...words(c), mode);
    float.f64ToInt64(...words(a / 2 ** 300), mode);
    float.int64ToF64(i32View[0], i32View[1], mode);
    float.f32ToF64(bits32(a / 2 ** 250));
  }
  assert.equal(exactPathCount() - before, 0);
});

test('normal-range f32 operations never take the exact path', () => {
  const before = exactPathCount();
  for (let i = 0; i < 3000; i++) {
    const mode = (i % 5) as RoundingMode;
    const a = bits32(randomValue(40));
    const b = i % 7 === 0 ? a ^ -0x80000000 : bits32(randomValue(40));
    const c = bits32(randomValue(60));
    float.f32Add(a, b, mode);
    float.f32Mul(a, b, mode);
    float.f32Div(a, b, mode);
    float.f32Sqrt(a & 0x7fffffff, mode);
    float.f32MulAdd(a, b, c, mode);
    float.f32MulSub(a, b, c, mode);
    float.f64ToF32(...words(randomValue(100)), mode);
    float.int64ToF32(a, b, mode);
  }
  assert.equal(exactPathCount() - before, 0);
});
