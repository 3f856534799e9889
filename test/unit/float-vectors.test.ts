// Checks the float library bit for bit (result and fflags) against the reference vectors that
// scripts/float-vectors/generate.mjs recorded from QEMU's RISC-V floating point.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as float from '../../vmm-core/cpu/float';
import { RoundingMode, floatOut } from '../../vmm-core/cpu/float';

// RINGSIDE_FLOAT_VECTORS points at a larger throw-away set (generate.mjs --out DIR --scale K).
const fixtureDir = process.env.RINGSIDE_FLOAT_VECTORS ?? join(__dirname, '..', 'fixtures', 'float');

/** Operand words: a 32-bit operand is [bits], a 64-bit one [low, high]. */
type Words = number[];
type Call = (operands: Words[], roundingMode: RoundingMode) => number;

interface Operation {
  operandWidths: number[];
  resultWidth: 32 | 64;
  call: Call;
}

const unary32 = (fn: (a: number, mode: RoundingMode) => number): Call => ([a], mode) => fn(a[0], mode);
const binary32 = (fn: (a: number, b: number, mode: RoundingMode) => number): Call => ([a, b], mode) => fn(a[0], b[0], mode);
const ternary32 =
  (fn: (a: number, b: number, c: number, mode: RoundingMode) => number): Call =>
  ([a, b, c], mode) =>
    fn(a[0], b[0], c[0], mode);
const unary64 = (fn: (low: number, high: number, mode: RoundingMode) => number): Call => ([a], mode) => fn(a[0], a[1], mode);
const binary64 =
  (fn: (aLow: number, aHigh: number, bLow: number, bHigh: number, mode: RoundingMode) => number): Call =>
  ([a, b], mode) =>
    fn(a[0], a[1], b[0], b[1], mode);
const ternary64 =
  (
    fn: (aLow: number, aHigh: number, bLow: number, bHigh: number, cLow: number, cHigh: number, mode: RoundingMode) => number,
  ): Call =>
  ([a, b, c], mode) =>
    fn(a[0], a[1], b[0], b[1], c[0], c[1], mode);

const operations: Record<string, Operation> = {
  'fadd.s': { operandWidths: [32, 32], resultWidth: 32, call: binary32(float.f32Add) },
  'fsub.s': { operandWidths: [32, 32], resultWidth: 32, call: binary32(float.f32Sub) },
  'fmul.s': { operandWidths: [32, 32], resultWidth: 32, call: binary32(float.f32Mul) },
  'fdiv.s': { operandWidths: [32, 32], resultWidth: 32, call: binary32(float.f32Div) },
  'fsqrt.s': { operandWidths: [32], resultWidth: 32, call: unary32(float.f32Sqrt) },
  'fmadd.s': { operandWidths: [32, 32, 32], resultWidth: 32, call: ternary32(float.f32MulAdd) },
  'fmsub.s': { operandWidths: [32, 32, 32], resultWidth: 32, call: ternary32(float.f32MulSub) },
  'fnmsub.s': { operandWidths: [32, 32, 32], resultWidth: 32, call: ternary32(float.f32NegMulSub) },
  'fnmadd.s': { operandWidths: [32, 32, 32], resultWidth: 32, call: ternary32(float.f32NegMulAdd) },
  'fmin.s': { operandWidths: [32, 32], resultWidth: 32, call: binary32(float.f32Min) },
  'fmax.s': { operandWidths: [32, 32], resultWidth: 32, call: binary32(float.f32Max) },
  'feq.s': { operandWidths: [32, 32], resultWidth: 64, call: binary32(float.f32Equal) },
  'flt.s': { operandWidths: [32, 32], resultWidth: 64, call: binary32(float.f32Less) },
  'fle.s': { operandWidths: [32, 32], resultWidth: 64, call: binary32(float.f32LessOrEqual) },
  'fclass.s': { operandWidths: [32], resultWidth: 64, call: unary32(float.f32Classify) },
  'fadd.d': { operandWidths: [64, 64], resultWidth: 64, call: binary64(float.f64Add) },
  'fsub.d': { operandWidths: [64, 64], resultWidth: 64, call: binary64(float.f64Sub) },
  'fmul.d': { operandWidths: [64, 64], resultWidth: 64, call: binary64(float.f64Mul) },
  'fdiv.d': { operandWidths: [64, 64], resultWidth: 64, call: binary64(float.f64Div) },
  'fsqrt.d': { operandWidths: [64], resultWidth: 64, call: unary64(float.f64Sqrt) },
  'fmadd.d': { operandWidths: [64, 64, 64], resultWidth: 64, call: ternary64(float.f64MulAdd) },
  'fmsub.d': { operandWidths: [64, 64, 64], resultWidth: 64, call: ternary64(float.f64MulSub) },
  'fnmsub.d': { operandWidths: [64, 64, 64], resultWidth: 64, call: ternary64(float.f64NegMulSub) },
  'fnmadd.d': { operandWidths: [64, 64, 64], resultWidth: 64, call: ternary64(float.f64NegMulAdd) },
  'fmin.d': { operandWidths: [64, 64], resultWidth: 64, call: binary64(float.f64Min) },
  'fmax.d': { operandWidths: [64, 64], resultWidth: 64, call: binary64(float.f64Max) },
  'feq.d': { operandWidths: [64, 64], resultWidth: 64, call: binary64(float.f64Equal) },
  'flt.d': { operandWidths: [64, 64], resultWidth: 64, call: binary64(float.f64Less) },
  'fle.d': { operandWidths: [64, 64], resultWidth: 64, call: binary64(float.f64LessOrEqual) },
  'fclass.d': { operandWidths: [64], resultWidth: 64, call: unary64(float.f64Classify) },
  'fcvt.w.s': { operandWidths: [32], resultWidth: 64, call: unary32(float.f32ToInt32) },
  'fcvt.wu.s': { operandWidths: [32], resultWidth: 64, call: unary32(float.f32ToUint32) },
  'fcvt.l.s': { operandWidths: [32], resultWidth: 64, call: unary32(float.f32ToInt64) },
  'fcvt.lu.s': { operandWidths: [32], resultWidth: 64, call: unary32(float.f32ToUint64) },
  'fcvt.w.d': { operandWidths: [64], resultWidth: 64, call: unary64(float.f64ToInt32) },
  'fcvt.wu.d': { operandWidths: [64], resultWidth: 64, call: unary64(float.f64ToUint32) },
  'fcvt.l.d': { operandWidths: [64], resultWidth: 64, call: unary64(float.f64ToInt64) },
  'fcvt.lu.d': { operandWidths: [64], resultWidth: 64, call: unary64(float.f64ToUint64) },
  // 32-bit integer sources read the low word of the 64-bit register value
  'fcvt.s.w': { operandWidths: [64], resultWidth: 32, call: ([a], mode) => float.int32ToF32(a[0], mode) },
  'fcvt.s.wu': { operandWidths: [64], resultWidth: 32, call: ([a], mode) => float.uint32ToF32(a[0], mode) },
  'fcvt.s.l': { operandWidths: [64], resultWidth: 32, call: unary64(float.int64ToF32) },
  'fcvt.s.lu': { operandWidths: [64], resultWidth: 32, call: unary64(float.uint64ToF32) },
  'fcvt.d.w': { operandWidths: [64], resultWidth: 64, call: ([a]) => float.int32ToF64(a[0]) },
  'fcvt.d.wu': { operandWidths: [64], resultWidth: 64, call: ([a]) => float.uint32ToF64(a[0]) },
  'fcvt.d.l': { operandWidths: [64], resultWidth: 64, call: unary64(float.int64ToF64) },
  'fcvt.d.lu': { operandWidths: [64], resultWidth: 64, call: unary64(float.uint64ToF64) },
  'fcvt.s.d': { operandWidths: [64], resultWidth: 32, call: unary64(float.f64ToF32) },
  'fcvt.d.s': { operandWidths: [32], resultWidth: 64, call: ([a]) => float.f32ToF64(a[0]) },
};

function parseWords(hex: string, width: number): Words {
  if (width === 32) return [Number.parseInt(hex, 16) | 0];
  return [Number.parseInt(hex.slice(8), 16) | 0, Number.parseInt(hex.slice(0, 8), 16) | 0];
}

const hex32 = (word: number): string => (word >>> 0).toString(16).padStart(8, '0');
const modeNames = ['rne', 'rtz', 'rdn', 'rup', 'rmm'];

const files = readdirSync(fixtureDir)
  .filter((name) => name.endsWith('.txt'))
  .sort();

test('every fixture file has an operation under test', () => {
  assert.ok(files.length >= 48, `expected the 48 instruction files, found ${files.length}`);
  for (const file of files) assert.ok(operations[file.slice(0, -4)], `no operation for ${file}`);
});

for (const file of files) {
  const name = file.slice(0, -4);
  const operation = operations[name];
  if (!operation) continue;
  test(`${name} matches QEMU bit for bit`, () => {
    const lines = readFileSync(join(fixtureDir, file), 'utf8').split('\n');
    const failures: string[] = [];
    let checked = 0;
    for (const line of lines) {
      if (line === '' || line.startsWith('#')) continue;
      const fields = line.split(' ');
      const operandCount = operation.operandWidths.length;
      const operands = operation.operandWidths.map((width, index) => parseWords(fields[index], width));
      const modeCount = (fields.length - operandCount) / 2;
      for (let mode = 0; mode < modeCount; mode++) {
        const expectedHex = fields[operandCount + 2 * mode];
        const expectedFlags = Number.parseInt(fields[operandCount + 2 * mode + 1], 16);
        const expected = parseWords(expectedHex, operation.resultWidth);
        floatOut[0] = 0x5a5a5a5a;
        floatOut[1] = 0x5a5a5a5a;
        const flags = operation.call(operands, mode as RoundingMode);
        const resultOk =
          floatOut[0] === expected[0] &&
          (operation.resultWidth === 32 ? floatOut[1] === -1 : floatOut[1] === expected[1]);
        checked++;
        if (!resultOk || flags !== expectedFlags) {
          const actualHex =
            operation.resultWidth === 32 ? hex32(floatOut[0]) : hex32(floatOut[1]) + hex32(floatOut[0]);
          failures.push(
            `${fields.slice(0, operandCount).join(' ')} ${modeNames[mode]}: expected ${expectedHex}/${expectedFlags.toString(16)}, got ${actualHex}/${flags.toString(16)}`,
          );
        }
      }
    }
    assert.ok(checked > 0, 'no vectors');
    assert.equal(failures.length, 0, `${failures.length} of ${checked} vectors differ:\n${failures.slice(0, 15).join('\n')}`);
  });
}
