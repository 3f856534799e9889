// Zba, Zbb, Zbc and Zbs on the interpreter's lo/hi Int32 pairs, one instruction at a time,
// against BigInt reference semantics written from the bit-manipulation specification: known
// values from the specification's examples, a seeded property test over every instruction
// (operands biased to word boundaries and single bits), rd = rs1 = rs2 aliasing, and the
// CPU-model switches: without Zb* the same encodings are illegal, and pause is a fence.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExceptionCause } from '../../vmm-core/cpu/csr-numbers';
import type { Hart } from '../../vmm-core/cpu/hart';
import type { Machine } from '../../vmm-core/machine/machine';
import { createMachine, encode, SeededRandom, step, writeInstructions, X } from '../support/assemble';
import { s32, s64, u32, u64 } from '../support/integers';

const CODE = 0x8000_1000n;

class Bench {
  readonly machine: Machine;
  readonly hart: Hart;

  constructor(cpu?: string) {
    this.machine = createMachine({ cpu });
    this.hart = this.machine.harts[0];
    this.hart.mtvecLo = 0x8000_0800;
  }

  run(word: number, registers: ReadonlyArray<readonly [number, bigint]>): Hart {
    writeInstructions(this.machine, CODE, [word]);
    for (const [register, value] of registers) this.hart.writeRegister(register, value);
    this.hart.pc = CODE;
    this.hart.mcauseLo = -1;
    step(this.machine);
    return this.hart;
  }

  /** rd = t2, rs1 = t0, rs2 = t1; returns rd as unsigned. */
  register(mnemonic: string, a: bigint, b: bigint): bigint {
    return u64(this.run(encode(mnemonic, { rd: X.t2, rs1: X.t0, rs2: X.t1 }), [[X.t0, a], [X.t1, b]]).readRegister(X.t2));
  }

  unary(mnemonic: string, a: bigint): bigint {
    return u64(this.run(encode(mnemonic, { rd: X.t2, rs1: X.t0 }), [[X.t0, a]]).readRegister(X.t2));
  }

  immediate(mnemonic: string, a: bigint, imm: number): bigint {
    return u64(this.run(encode(mnemonic, { rd: X.t2, rs1: X.t0, imm }), [[X.t0, a]]).readRegister(X.t2));
  }
}

// ---- reference semantics (BigInt, from the specification's pseudo-code) ---------------------

const rotateLeft = (value: bigint, amount: bigint, width: bigint): bigint => {
  const mask = (1n << width) - 1n;
  const v = value & mask;
  const n = amount % width;
  return ((v << n) | (v >> ((width - n) % width))) & mask;
};

function clmulFull(a: bigint, b: bigint): bigint {
  let product = 0n;
  for (let i = 0n; i < 64n; i++) if (((b >> i) & 1n) !== 0n) product ^= a << i;
  return product;
}

const countLeadingZeros = (value: bigint, width: bigint): bigint => {
  for (let i = width - 1n; i >= 0n; i--) if (((value >> i) & 1n) !== 0n) return width - 1n - i;
  return width;
};
const countTrailingZeros = (value: bigint, width: bigint): bigint => {
  for (let i = 0n; i < width; i++) if (((value >> i) & 1n) !== 0n) return i;
  return width;
};
const populationCount = (value: bigint): bigint => {
  let count = 0n;
  for (let v = value; v !== 0n; v >>= 1n) count += v & 1n;
  return count;
};

type Binary = (a: bigint, b: bigint) => bigint;
/** Operands arrive unsigned (64-bit); results are compared unsigned. */
const REGISTER_OPERATIONS: Readonly<Record<string, Binary>> = {
  'sh1add': (a, b) => u64((a << 1n) + b),
  'sh2add': (a, b) => u64((a << 2n) + b),
  'sh3add': (a, b) => u64((a << 3n) + b),
  'add.uw': (a, b) => u64(u32(a) + b),
  'sh1add.uw': (a, b) => u64((u32(a) << 1n) + b),
  'sh2add.uw': (a, b) => u64((u32(a) << 2n) + b),
  'sh3add.uw': (a, b) => u64((u32(a) << 3n) + b),
  'andn': (a, b) => u64(a & ~b),
  'orn': (a, b) => u64(a | ~b),
  'xnor': (a, b) => u64(~(a ^ b)),
  'max': (a, b) => (s64(a) > s64(b) ? a : b),
  'maxu': (a, b) => (a > b ? a : b),
  'min': (a, b) => (s64(a) < s64(b) ? a : b),
  'minu': (a, b) => (a < b ? a : b),
  'rol': (a, b) => rotateLeft(a, b & 63n, 64n),
  'ror': (a, b) => rotateLeft(a, (64n - (b & 63n)) % 64n, 64n),
  'rolw': (a, b) => u64(s32(rotateLeft(a, b & 31n, 32n))),
  'rorw': (a, b) => u64(s32(rotateLeft(a, (32n - (b & 31n)) % 32n, 32n))),
  'clmul': (a, b) => u64(clmulFull(a, b)),
  'clmulh': (a, b) => u64(clmulFull(a, b) >> 64n),
  'clmulr': (a, b) => u64(clmulFull(a, b) >> 63n),
  'bclr': (a, b) => u64(a & ~(1n << (b & 63n))),
  'bext': (a, b) => (a >> (b & 63n)) & 1n,
  'binv': (a, b) => u64(a ^ (1n << (b & 63n))),
  'bset': (a, b) => u64(a | (1n << (b & 63n))),
};

const UNARY_OPERATIONS: Readonly<Record<string, (a: bigint) => bigint>> = {
  'clz': (a) => countLeadingZeros(a, 64n),
  'ctz': (a) => countTrailingZeros(a, 64n),
  'cpop': (a) => populationCount(a),
  'clzw': (a) => countLeadingZeros(u32(a), 32n),
  'ctzw': (a) => countTrailingZeros(u32(a), 32n),
  'cpopw': (a) => populationCount(u32(a)),
  'sext.b': (a) => u64(BigInt.asIntN(8, a)),
  'sext.h': (a) => u64(BigInt.asIntN(16, a)),
  'zext.h': (a) => a & 0xffffn,
  'orc.b': (a) => {
    let result = 0n;
    for (let byte = 0n; byte < 8n; byte++) if (((a >> (8n * byte)) & 0xffn) !== 0n) result |= 0xffn << (8n * byte);
    return result;
  },
  'rev8': (a) => {
    let result = 0n;
    for (let byte = 0n; byte < 8n; byte++) result |= ((a >> (8n * byte)) & 0xffn) << (8n * (7n - byte));
    return result;
  },
};

const IMMEDIATE_OPERATIONS: Readonly<Record<string, { bits: number; apply: (a: bigint, imm: bigint) => bigint }>> = {
  'slli.uw': { bits: 6, apply: (a, imm) => u64(u32(a) << imm) },
  'rori': { bits: 6, apply: (a, imm) => REGISTER_OPERATIONS.ror(a, imm) },
  'roriw': { bits: 5, apply: (a, imm) => REGISTER_OPERATIONS.rorw(a, imm) },
  'bclri': { bits: 6, apply: (a, imm) => REGISTER_OPERATIONS.bclr(a, imm) },
  'bexti': { bits: 6, apply: (a, imm) => REGISTER_OPERATIONS.bext(a, imm) },
  'binvi': { bits: 6, apply: (a, imm) => REGISTER_OPERATIONS.binv(a, imm) },
  'bseti': { bits: 6, apply: (a, imm) => REGISTER_OPERATIONS.bset(a, imm) },
};

const bench = new Bench();

describe('bit manipulation: known values', () => {
  it('Zba adds shift the first operand (and zero-extend it in the .uw forms)', () => {
    assert.equal(bench.register('sh3add', 0x1000n, 0x8000_0000_0000_0000n), 0x8000_0000_0000_8000n);
    assert.equal(bench.register('sh1add', 0x8000_0000_0000_0001n, 1n), 3n, 'the shifted-out bit is lost');
    assert.equal(bench.register('sh2add.uw', u64(-1n), 0n), 0x3_ffff_fffcn);
    assert.equal(bench.register('add.uw', 0xffff_ffff_8000_0000n, 0x8000_0000n), 0x1_0000_0000n);
    assert.equal(bench.immediate('slli.uw', 0xdead_beef_8000_0001n, 63), 0x8000_0000_0000_0000n);
    assert.equal(bench.immediate('slli.uw', 0xdead_beef_8000_0001n, 4), 0x8_0000_0010n);
  });

  it('Zbb counts, extensions, min/max and byte operations', () => {
    assert.equal(bench.unary('clz', 0n), 64n);
    assert.equal(bench.unary('clz', 1n), 63n);
    assert.equal(bench.unary('clz', 0x0000_0001_0000_0000n), 31n);
    assert.equal(bench.unary('ctz', 0n), 64n);
    assert.equal(bench.unary('ctz', 0x8000_0000_0000_0000n), 63n);
    assert.equal(bench.unary('ctz', 0x0000_0001_0000_0000n), 32n);
    assert.equal(bench.unary('cpop', u64(-1n)), 64n);
    assert.equal(bench.unary('clzw', 0xffff_ffff_0000_0000n), 32n, 'clzw sees only the low word');
    assert.equal(bench.unary('ctzw', 0x1_0000_0000n), 32n);
    assert.equal(bench.unary('cpopw', 0xffff_ffff_0000_00ffn), 8n);
    assert.equal(bench.unary('sext.b', 0x80n), 0xffff_ffff_ffff_ff80n);
    assert.equal(bench.unary('sext.h', 0x1234_7fffn), 0x7fffn);
    assert.equal(bench.unary('zext.h', u64(-1n)), 0xffffn);
    assert.equal(bench.register('min', u64(-1n), 1n), u64(-1n));
    assert.equal(bench.register('minu', u64(-1n), 1n), 1n);
    assert.equal(bench.register('max', 0xffff_ffff_0000_0000n, 0x0000_0000_ffff_ffffn), 0xffff_ffffn);
    assert.equal(bench.register('maxu', 0x0000_0001_0000_0000n, 0x0000_0000_ffff_ffffn), 0x1_0000_0000n);
    assert.equal(bench.unary('orc.b', 0x0001_0000_8000_0200n), 0x00ff_0000_ff00_ff00n);
    assert.equal(bench.unary('rev8', 0x0102_0304_0506_0708n), 0x0807_0605_0403_0201n);
    assert.equal(bench.register('andn', 0xff00n, 0x0ff0n), 0xf000n);
    assert.equal(bench.register('orn', 0n, u64(-2n)), 1n);
    assert.equal(bench.register('xnor', 0x5555n, 0x5555n), u64(-1n));
  });

  it('rotations by 0, 32 and 63, and the W forms sign-extend', () => {
    const value = 0x8000_0000_0000_0001n;
    assert.equal(bench.register('rol', value, 1n), 3n);
    assert.equal(bench.register('ror', value, 1n), 0xc000_0000_0000_0000n);
    assert.equal(bench.register('ror', 0x1234_5678_9abc_def0n, 32n), 0x9abc_def0_1234_5678n);
    assert.equal(bench.register('rol', value, 64n), value, 'the amount is taken modulo 64');
    assert.equal(bench.immediate('rori', 0x1234_5678_9abc_def0n, 0), 0x1234_5678_9abc_def0n);
    assert.equal(bench.immediate('rori', 1n, 63), 2n);
    assert.equal(bench.register('rolw', 0x8000_0000n, 0n), 0xffff_ffff_8000_0000n);
    assert.equal(bench.register('rorw', 1n, 1n), 0xffff_ffff_8000_0000n);
    assert.equal(bench.immediate('roriw', 0xffff_ffff_0000_0002n, 1), 1n);
  });

  it('Zbc: clmul, clmulh and clmulr of full-width operands', () => {
    assert.equal(bench.register('clmul', 3n, 3n), 5n);
    assert.equal(bench.register('clmulh', u64(-1n), u64(-1n)), 0x5555_5555_5555_5555n);
    assert.equal(bench.register('clmul', u64(-1n), u64(-1n)), 0x5555_5555_5555_5555n);
    assert.equal(bench.register('clmulr', 0x8000_0000_0000_0000n, 2n), 2n);
    assert.equal(bench.register('clmulh', 0x8000_0000_0000_0000n, 0x8000_0000_0000_0000n), 0x4000_0000_0000_0000n);
  });

  it('Zbs on bits 0, 31, 32 and 63', () => {
    for (const index of [0n, 31n, 32n, 63n]) {
      assert.equal(bench.register('bset', 0n, index), 1n << index);
      assert.equal(bench.register('bclr', u64(-1n), index), u64(-1n) ^ (1n << index));
      assert.equal(bench.register('binv', 1n << index, index), 0n);
      assert.equal(bench.register('bext', 1n << index, index), 1n);
      assert.equal(bench.immediate('bexti', u64(-1n) ^ (1n << index), Number(index)), 0n);
    }
    assert.equal(bench.register('bset', 0n, 64n + 5n), 1n << 5n, 'the index is taken modulo 64');
  });
});

describe('bit manipulation: property test against BigInt (seeded)', () => {
  const random = new SeededRandom(0x2b17_0001n);
  const SPECIAL = [0n, 1n, u64(-1n), 0x8000_0000_0000_0000n, 0x7fff_ffff_ffff_ffffn, 0xffff_ffffn, 0x8000_0000n,
    0x1_0000_0000n, 0xffff_ffff_0000_0000n, 0x0000_0000_7fff_ffffn];
  const operand = (): bigint => {
    switch (random.below(5)) {
      case 0: return random.pick(SPECIAL);
      case 1: return 1n << BigInt(random.below(64));
      case 2: return u32(random.next64());
      case 3: return random.next64() >> BigInt(random.below(64));
      default: return random.next64();
    }
  };

  it('every register-register instruction', () => {
    for (const [mnemonic, reference] of Object.entries(REGISTER_OPERATIONS)) {
      for (let trial = 0; trial < 300; trial++) {
        const a = operand(), b = random.below(3) === 0 ? BigInt(random.below(128)) : operand();
        assert.equal(bench.register(mnemonic, a, b), reference(a, b), `${mnemonic} 0x${a.toString(16)}, 0x${b.toString(16)}`);
      }
    }
  });

  it('every unary and immediate instruction', () => {
    for (const [mnemonic, reference] of Object.entries(UNARY_OPERATIONS)) {
      for (let trial = 0; trial < 300; trial++) {
        const a = operand();
        assert.equal(bench.unary(mnemonic, a), reference(a), `${mnemonic} 0x${a.toString(16)}`);
      }
    }
    for (const [mnemonic, { bits, apply }] of Object.entries(IMMEDIATE_OPERATIONS)) {
      for (let trial = 0; trial < 300; trial++) {
        const a = operand(), imm = random.below(1 << bits);
        assert.equal(bench.immediate(mnemonic, a, imm), apply(a, BigInt(imm)), `${mnemonic} 0x${a.toString(16)}, ${imm}`);
      }
    }
  });

  it('rd = rs1 = rs2 reads both operands before writing, and rd = x0 stays zero', () => {
    for (const mnemonic of Object.keys(REGISTER_OPERATIONS)) {
      const a = operand();
      const result = u64(bench.run(encode(mnemonic, { rd: X.a0, rs1: X.a0, rs2: X.a0 }), [[X.a0, a]]).readRegister(X.a0));
      assert.equal(result, REGISTER_OPERATIONS[mnemonic](a, a), mnemonic);
      bench.run(encode(mnemonic, { rd: 0, rs1: X.a0, rs2: X.a0 }), [[X.a0, a]]);
      assert.equal(bench.hart.readRegister(0), 0n, mnemonic);
    }
  });
});

describe('CPU models without the bit-manipulation extensions', () => {
  const cases: ReadonlyArray<[string, string]> = [
    ['rv64,zba=off', 'sh1add'], ['rv64,zbb=off', 'andn'], ['rv64,zbc=off', 'clmul'], ['rv64,zbs=off', 'bset'],
  ];

  it('make each extension\'s instructions illegal (mtval = the instruction) while the others still run', () => {
    for (const [cpu, mnemonic] of cases) {
      const off = new Bench(cpu);
      const word = encode(mnemonic, { rd: X.t2, rs1: X.t0, rs2: X.t1 });
      off.run(word, [[X.t0, 3n], [X.t1, 5n]]);
      assert.equal(off.hart.mcauseLo, ExceptionCause.IllegalInstruction, `${mnemonic} on ${cpu}`);
      assert.equal(off.hart.mtvalLo >>> 0, word);
      for (const [, other] of cases.filter(([otherCpu]) => otherCpu !== cpu)) {
        off.run(encode(other, { rd: X.t2, rs1: X.t0, rs2: X.t1 }), [[X.t0, 3n], [X.t1, 5n]]);
        assert.equal(off.hart.mcauseLo, -1, `${other} still runs on ${cpu}`);
      }
    }
    const plain = new Bench('rv64gc');
    for (const mnemonic of ['clz', 'rev8', 'zext.h']) {
      plain.run(encode(mnemonic, { rd: X.t2, rs1: X.t0 }), [[X.t0, 1n]]);
      assert.equal(plain.hart.mcauseLo, ExceptionCause.IllegalInstruction, `${mnemonic} on rv64gc`);
    }
  });

  it('two machines with different models in one process decode the same bits differently', () => {
    const on = new Bench();
    const off = new Bench('rv64gc');
    const word = encode('cpop', { rd: X.t2, rs1: X.t0 });
    for (let round = 0; round < 2; round++) {
      assert.equal(u64(on.run(word, [[X.t0, 0xffn]]).readRegister(X.t2)), 8n);
      off.run(word, [[X.t0, 0xffn]]);
      assert.equal(off.hart.mcauseLo, ExceptionCause.IllegalInstruction);
    }
  });

  it('pause executes as a fence on every model, Zihintpause or not', () => {
    for (const cpu of [undefined, 'rv64,zihintpause=off', 'rv64gc']) {
      const machine = new Bench(cpu);
      const hart = machine.run(encode('pause'), []);
      assert.equal(hart.mcauseLo, -1, String(cpu));
      assert.equal(hart.pc, CODE + 4n);
    }
  });
});
