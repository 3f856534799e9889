// The M extension's 64-bit mulh, mulhsu, mulhu, div, divu, rem and remu, which the interpreter
// computes on 32-bit lo/hi words without BigInt, against a BigInt reference computed here:
// every pair of edge values (0, ±1, MIN, MAX, 2^32±1, powers of two and their neighbours),
// thousands of seeded random pairs of every size, and divisions built to land exactly on and
// next to a quotient boundary (where a floating-point quotient estimate is most likely off).
// The W forms run over the same edge pairs to show they did not change.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Hart } from '../../vmm-core/cpu/hart';
import type { Machine } from '../../vmm-core/machine/machine';
import { createMachine, encode, step, writeInstructions, X } from '../support/assemble';
import { seededRandom } from '../support/random';
import { MAX64, MIN64, s32, s64, u32, u64 } from '../support/integers';

const CODE = 0x8000_1000n;

const REFERENCE: Record<string, (a: bigint, b: bigint) => bigint> = {
  mulh: (a, b) => s64((a * b) >> 64n),
  mulhsu: (a, b) => s64((a * u64(b)) >> 64n),
  mulhu: (a, b) => s64((u64(a) * u64(b)) >> 64n),
  div: (a, b) => (b === 0n ? -1n : a === MIN64 && b === -1n ? MIN64 : a / b),
  divu: (a, b) => (b === 0n ? -1n : s64(u64(a) / u64(b))),
  rem: (a, b) => (b === 0n ? a : a === MIN64 && b === -1n ? 0n : a % b),
  remu: (a, b) => (b === 0n ? a : s64(u64(a) % u64(b))),
};

const WORD_REFERENCE: Record<string, (a: bigint, b: bigint) => bigint> = {
  mulw: (a, b) => s32(a * b),
  divw: (a, b) => (s32(b) === 0n ? -1n : s32(a) === -(1n << 31n) && s32(b) === -1n ? s32(a) : s32(s32(a) / s32(b))),
  divuw: (a, b) => (u32(b) === 0n ? -1n : s32(u32(a) / u32(b))),
  remw: (a, b) => (s32(b) === 0n ? s32(a) : s32(a) === -(1n << 31n) && s32(b) === -1n ? 0n : s32(s32(a) % s32(b))),
  remuw: (a, b) => (u32(b) === 0n ? s32(a) : s32(u32(a) % u32(b))),
};

/** 0, ±1, MIN, MAX, every power of two with its neighbours and their negations, 2^32±1 among them. */
const EDGES: readonly bigint[] = (() => {
  const values = new Set<bigint>([0n, 1n, -1n, MIN64, MAX64, MIN64 + 1n, MAX64 - 1n, 0xffff_ffffn, s64(0xffff_ffff_0000_0000n)]);
  for (let shift = 0n; shift < 64n; shift++) {
    const power = 1n << shift;
    for (const value of [power, power - 1n, power + 1n]) {
      values.add(s64(value));
      values.add(s64(-value));
    }
  }
  return [...values];
})();

/** One machine, one instruction at CODE, rd = t2, rs1 = t0, rs2 = t1 (or the registers asked for). */
class Runner {
  readonly machine: Machine = createMachine();
  readonly hart: Hart = this.machine.harts[0];
  private placed = -1;

  run(mnemonic: string, a: bigint, b: bigint, rd: number = X.t2, rs1: number = X.t0, rs2: number = X.t1): bigint {
    const word = encode(mnemonic, { rd, rs1, rs2 });
    if (word !== this.placed) {
      writeInstructions(this.machine, CODE, [word]);
      this.placed = word;
    }
    this.hart.writeRegister(rs1, a);
    this.hart.writeRegister(rs2, b);
    this.hart.pc = CODE;
    step(this.machine);
    assert.equal(this.hart.pc, CODE + 4n, `${mnemonic} did not complete (trap?)`);
    return this.hart.readRegister(rd);
  }
}

const runner = new Runner();

/** A 64-bit value from two draws of the seeded stream, as a signed bigint. */
function randomValue(next: () => number): bigint {
  return s64((BigInt(next()) << 32n) | BigInt(next()));
}

/** Random values of every magnitude: full width, shifted down to a random bit length, negated or not. */
function randomOperand(next: () => number): bigint {
  const full = randomValue(next);
  switch (next() % 4) {
    case 0: return full;
    case 1: return s64(u64(full) >> BigInt(next() % 64));
    case 2: return s64(-(u64(full) >> BigInt(next() % 64)));
    default: return next() % 2 === 0 ? BigInt(next() % 65536) : s64(BigInt(next() | 0));
  }
}

function check(mnemonic: string, a: bigint, b: bigint, reference: (a: bigint, b: bigint) => bigint): void {
  const actual = runner.run(mnemonic, a, b);
  const expected = reference(a, b);
  if (actual !== expected) assert.fail(`${mnemonic} ${a}, ${b}: got ${actual}, expected ${expected}`);
}

describe('M extension, 64-bit high products and division without BigInt', () => {
  it(`the edge values in every pair (${EDGES.length}² pairs per instruction)`, () => {
    for (const [mnemonic, reference] of Object.entries(REFERENCE)) {
      for (const a of EDGES) for (const b of EDGES) check(mnemonic, a, b, reference);
    }
  });

  it('the RISC-V corner cases by name', () => {
    for (const a of [0n, 1n, -1n, MIN64, MAX64, 0x1_2345_6789_abcdn]) {
      assert.equal(runner.run('div', a, 0n), -1n);
      assert.equal(runner.run('divu', a, 0n), -1n);
      assert.equal(runner.run('rem', a, 0n), a);
      assert.equal(runner.run('remu', a, 0n), a);
    }
    assert.equal(runner.run('div', MIN64, -1n), MIN64);
    assert.equal(runner.run('rem', MIN64, -1n), 0n);
    assert.equal(runner.run('divu', MIN64, -1n), 0n);
    assert.equal(runner.run('remu', MIN64, -1n), MIN64);
    // mulhsu: rs1 signed, rs2 unsigned.
    assert.equal(runner.run('mulhsu', -1n, -1n), -1n); // -1 × (2^64 - 1) = -2^64 + 1
    assert.equal(runner.run('mulhsu', 1n, -1n), 0n);
    assert.equal(runner.run('mulh', -1n, -1n), 0n);
    assert.equal(runner.run('mulhu', -1n, -1n), -2n); // (2^64 - 1)² = 2^128 - 2^65 + 1
    assert.equal(runner.run('mulh', MIN64, MIN64), 1n << 62n);
    assert.equal(runner.run('mulhsu', MIN64, MIN64), -(1n << 62n));
  });

  for (const [mnemonic, reference] of Object.entries(REFERENCE)) {
    it(`${mnemonic}: 4000 seeded random pairs of every magnitude`, () => {
      const next = seededRandom(0x4d_2026 + mnemonic.length * 977 + mnemonic.charCodeAt(3));
      for (let trial = 0; trial < 4000; trial++) check(mnemonic, randomOperand(next), randomOperand(next), reference);
    });
  }

  it('divu and remu on dividends on, just below and just above a multiple of the divisor (4000 each)', () => {
    const next = seededRandom(0xd1_01de);
    for (let trial = 0; trial < 4000; trial++) {
      const divisor = u64(randomValue(next)) >> BigInt(next() % 64) || 1n;
      const quotient = u64(randomValue(next)) >> BigInt(next() % 64);
      const base = quotient * divisor;
      for (const dividend of [base, base - 1n, base + 1n, base + divisor - 1n]) {
        if (dividend < 0n || dividend >= 1n << 64n) continue;
        check('divu', s64(dividend), s64(divisor), REFERENCE.divu);
        check('remu', s64(dividend), s64(divisor), REFERENCE.remu);
        check('div', s64(dividend), s64(divisor), REFERENCE.div);
        check('rem', s64(dividend), s64(divisor), REFERENCE.rem);
      }
    }
  });

  it('writes the right register when rd is also rs1 or rs2, and when rs1 = rs2', () => {
    const next = seededRandom(0xa11a5);
    for (const [mnemonic, reference] of Object.entries(REFERENCE)) {
      for (let trial = 0; trial < 200; trial++) {
        const a = randomOperand(next), b = randomOperand(next);
        assert.equal(runner.run(mnemonic, a, b, X.t0, X.t0, X.t1), reference(a, b), `${mnemonic} rd = rs1`);
        assert.equal(runner.run(mnemonic, a, b, X.t1, X.t0, X.t1), reference(a, b), `${mnemonic} rd = rs2`);
        assert.equal(runner.run(mnemonic, a, a, X.t2, X.t0, X.t0), reference(a, a), `${mnemonic} rs1 = rs2`);
      }
    }
  });

  it('the W forms give the same results as before over the edge pairs', () => {
    for (const [mnemonic, reference] of Object.entries(WORD_REFERENCE)) {
      for (const a of EDGES) for (const b of EDGES) check(mnemonic, a, b, reference);
    }
  });
});
