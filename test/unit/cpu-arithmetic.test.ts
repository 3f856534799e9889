// RV64I/M integer arithmetic on the interpreter's lo/hi Int32 pairs, one instruction at a time,
// against BigInt reference semantics: carries and borrows across bit 32, compares, every
// interesting shift amount, division corner cases, a seeded property test over the M extension
// and the W forms, and x0 staying zero whatever writes to it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Mstatus } from '../../vmm-core/cpu/csr-numbers';
import type { Hart } from '../../vmm-core/cpu/hart';
import type { Machine } from '../../vmm-core/machine/machine';
import {
  createMachine, encode, executeAt, readDoubleword, SeededRandom, step, writeDoubleword, writeInstructions, X,
} from '../support/assemble';
import { MAX64, MIN64, s32, s64, u32, u64 } from '../support/integers';

const CODE = 0x8000_1000n;
const DATA = 0x8000_2000n;

/** One reusable machine: each case writes registers, points pc at the instruction and steps it. */
class Bench {
  readonly machine: Machine = createMachine();
  readonly hart: Hart = this.machine.harts[0];
  private placed = -1;

  run(word: number, registers: ReadonlyArray<readonly [number, bigint]>): Hart {
    if (word !== this.placed) {
      writeInstructions(this.machine, CODE, [word]);
      this.placed = word;
    }
    for (const [register, value] of registers) this.hart.writeRegister(register, value);
    this.hart.pc = CODE;
    step(this.machine);
    return this.hart;
  }

  /** rd = rs1 op rs2 with rd = t2, rs1 = t0, rs2 = t1. */
  register(mnemonic: string, a: bigint, b: bigint): bigint {
    return this.run(encode(mnemonic, { rd: X.t2, rs1: X.t0, rs2: X.t1 }), [[X.t0, a], [X.t1, b]]).readRegister(X.t2);
  }

  immediate(mnemonic: string, a: bigint, imm: number): bigint {
    return this.run(encode(mnemonic, { rd: X.t2, rs1: X.t0, imm }), [[X.t0, a]]).readRegister(X.t2);
  }
}

const bench = new Bench();

describe('add, sub, addi across the 32-bit boundary', () => {
  it('carries out of the low word', () => {
    assert.equal(bench.register('add', 0xffff_ffffn, 1n), 0x1_0000_0000n);
    assert.equal(bench.register('add', 0x1_ffff_ffffn, 0x1_0000_0001n), 0x3_0000_0000n);
    assert.equal(bench.register('add', 0x8000_0000n, 0x8000_0000n), 0x1_0000_0000n);
    assert.equal(bench.register('add', -1n, 1n), 0n);
    assert.equal(bench.register('add', MAX64, 1n), MIN64);
    assert.equal(bench.register('add', 0xffff_fffen, 0xffff_fffen), 0x1_ffff_fffcn);
  });

  it('borrows into the high word', () => {
    assert.equal(bench.register('sub', 0x1_0000_0000n, 1n), 0xffff_ffffn);
    assert.equal(bench.register('sub', 0n, 1n), -1n);
    assert.equal(bench.register('sub', 0x5_0000_0000n, 0xffff_ffffn), 0x4_0000_0001n);
    assert.equal(bench.register('sub', MIN64, 1n), MAX64);
    assert.equal(bench.register('sub', 0x7fff_ffffn, 0x8000_0000n), -1n);
  });

  it('addi sign-extends its immediate and carries or borrows', () => {
    assert.equal(bench.immediate('addi', 0xffff_ffffn, 1), 0x1_0000_0000n);
    assert.equal(bench.immediate('addi', 0x1_0000_0000n, -1), 0xffff_ffffn);
    assert.equal(bench.immediate('addi', 0n, -2048), -2048n);
    assert.equal(bench.immediate('addi', 0x7fff_ffffn, 2047), 0x8000_07fen);
    assert.equal(bench.immediate('addi', -1n, 1), 0n);
    assert.equal(bench.immediate('addi', MIN64, -1), MAX64);
  });

  it('W forms wrap at 32 bits and sign-extend', () => {
    assert.equal(bench.register('addw', 0x7fff_ffffn, 1n), -0x8000_0000n);
    assert.equal(bench.register('addw', 0x1_0000_0000n, 0x2_0000_0005n), 5n);
    assert.equal(bench.register('subw', 0n, 1n), -1n);
    assert.equal(bench.register('subw', -0x8000_0000n, 1n), 0x7fff_ffffn);
    assert.equal(bench.immediate('addiw', 0xffff_ffffn, 1), 0n);
    assert.equal(bench.immediate('addiw', 0x1234_5678_7fff_ffffn, 0), 0x7fff_ffffn);
    assert.equal(bench.immediate('addiw', 0x7fff_ffffn, 1), -0x8000_0000n);
  });
});

describe('set-less-than with negative and large values', () => {
  const pairs: ReadonlyArray<readonly [bigint, bigint]> = [
    [-1n, 0n], [0n, -1n], [-1n, 1n], [1n, -1n], [MIN64, MAX64], [MAX64, MIN64], [0x8000_0000n, 0x7fff_ffffn],
    [0x7fff_ffffn, 0x8000_0000n], [0xffff_ffffn, 0x1_0000_0000n], [0x1_0000_0000n, 0xffff_ffffn], [-0x1_0000_0000n, -1n],
    [-2n, -1n], [5n, 5n], [-5n, -5n], [0x1_0000_0000n, 0x1_0000_0001n], [0x1_8000_0000n, 0x1_7fff_ffffn],
  ];

  it('slt and sltu', () => {
    for (const [a, b] of pairs) {
      assert.equal(bench.register('slt', a, b), a < b ? 1n : 0n, `slt ${a} ${b}`);
      assert.equal(bench.register('sltu', a, b), u64(a) < u64(b) ? 1n : 0n, `sltu ${a} ${b}`);
    }
  });

  it('slti and sltiu compare against the sign-extended immediate', () => {
    const immediates = [-2048, -1, 0, 1, 2047];
    for (const [a] of pairs) {
      for (const imm of immediates) {
        assert.equal(bench.immediate('slti', a, imm), a < BigInt(imm) ? 1n : 0n, `slti ${a} ${imm}`);
        // sltiu: the immediate is sign-extended, then compared unsigned (-1 is the largest value).
        assert.equal(bench.immediate('sltiu', a, imm), u64(a) < u64(BigInt(imm)) ? 1n : 0n, `sltiu ${a} ${imm}`);
      }
    }
    assert.equal(bench.immediate('sltiu', 0n, 1), 1n); // seqz
    assert.equal(bench.immediate('sltiu', -2n, -1), 1n);
    assert.equal(bench.immediate('sltiu', -1n, -1), 0n);
  });
});

describe('shifts', () => {
  const values = [0x8000_0001_8000_0001n, 0x0123_4567_89ab_cdefn, -1n, 1n, MIN64, 0xffff_ffffn, 0x8000_0000n];
  const amounts = [0, 1, 31, 32, 33, 63];

  const sll = (a: bigint, n: bigint) => s64(a << n);
  const srl = (a: bigint, n: bigint) => s64(u64(a) >> n);
  const sra = (a: bigint, n: bigint) => s64(a) >> n;

  it('sll, srl, sra and their immediate forms by 0, 1, 31, 32, 33, 63', () => {
    for (const a of values) {
      for (const amount of amounts) {
        const n = BigInt(amount);
        assert.equal(bench.register('sll', a, n), sll(a, n), `sll ${a} ${amount}`);
        assert.equal(bench.register('srl', a, n), srl(a, n), `srl ${a} ${amount}`);
        assert.equal(bench.register('sra', a, n), sra(a, n), `sra ${a} ${amount}`);
        assert.equal(bench.immediate('slli', a, amount), sll(a, n), `slli ${a} ${amount}`);
        assert.equal(bench.immediate('srli', a, amount), srl(a, n), `srli ${a} ${amount}`);
        assert.equal(bench.immediate('srai', a, amount), sra(a, n), `srai ${a} ${amount}`);
      }
    }
  });

  it('register shifts use only the low 6 bits of rs2 (5 for the W forms)', () => {
    assert.equal(bench.register('sll', 1n, 64n + 3n), 8n);
    assert.equal(bench.register('srl', -1n, -1n), 1n);
    assert.equal(bench.register('sra', MIN64, 0x100n + 63n), -1n);
    assert.equal(bench.register('sllw', 1n, 32n + 4n), 16n);
    assert.equal(bench.register('srlw', 0x8000_0000n, 63n), 1n);
  });

  it('W forms by 0 and 31 (and 1, 16) sign-extend bit 31 of the result', () => {
    const wordValues = [0x1234_5678_8765_4321n, 0xffff_ffff_0000_0001n, 0x7fff_ffffn, -1n, 0x8000_0000n];
    for (const a of wordValues) {
      for (const amount of [0, 1, 16, 31]) {
        const n = BigInt(amount);
        const sllw = s32(a << n), srlw = s32(u32(a) >> n), sraw = s32(a) >> n;
        assert.equal(bench.register('sllw', a, n), sllw, `sllw ${a} ${amount}`);
        assert.equal(bench.register('srlw', a, n), srlw, `srlw ${a} ${amount}`);
        assert.equal(bench.register('sraw', a, n), sraw, `sraw ${a} ${amount}`);
        assert.equal(bench.immediate('slliw', a, amount), sllw, `slliw ${a} ${amount}`);
        assert.equal(bench.immediate('srliw', a, amount), srlw, `srliw ${a} ${amount}`);
        assert.equal(bench.immediate('sraiw', a, amount), sraw, `sraiw ${a} ${amount}`);
      }
    }
  });
});

describe('multiplication and division', () => {
  it('mul keeps the low 64 bits of large products', () => {
    assert.equal(bench.register('mul', 0xffff_ffffn, 0xffff_ffffn), s64(0xffff_fffe_0000_0001n));
    assert.equal(bench.register('mul', 0x1_0000_0000n, 0x1_0000_0000n), 0n);
    assert.equal(bench.register('mul', -1n, -1n), 1n);
    assert.equal(bench.register('mul', MIN64, -1n), MIN64);
    assert.equal(bench.register('mul', 0x0123_4567_89ab_cdefn, 0xfedc_ba98_7654_3210n), s64(0x0123_4567_89ab_cdefn * 0xfedc_ba98_7654_3210n));
  });

  it('division by zero gives all ones (quotient) and the dividend (remainder)', () => {
    for (const a of [0n, 7n, -7n, MIN64, 0x1_2345_6789n]) {
      assert.equal(bench.register('div', a, 0n), -1n);
      assert.equal(bench.register('divu', a, 0n), -1n);
      assert.equal(bench.register('rem', a, 0n), a);
      assert.equal(bench.register('remu', a, 0n), a);
      assert.equal(bench.register('divw', a, 0n), -1n);
      assert.equal(bench.register('divuw', a, 0n), -1n);
      assert.equal(bench.register('remw', a, 0n), s32(a));
      assert.equal(bench.register('remuw', a, 0n), s32(a));
    }
    // Only the low word of the divisor counts for the W forms.
    assert.equal(bench.register('divw', 10n, 0x1_0000_0000n), -1n);
  });

  it('signed overflow gives the dividend (quotient) and zero (remainder)', () => {
    assert.equal(bench.register('div', MIN64, -1n), MIN64);
    assert.equal(bench.register('rem', MIN64, -1n), 0n);
    assert.equal(bench.register('divw', -0x8000_0000n, -1n), -0x8000_0000n);
    assert.equal(bench.register('remw', -0x8000_0000n, -1n), 0n);
    // In 64 bits, -2^31 / -1 is no overflow.
    assert.equal(bench.register('div', -0x8000_0000n, -1n), 0x8000_0000n);
  });

  it('signed division truncates toward zero; the remainder takes the dividend sign', () => {
    assert.equal(bench.register('div', -7n, 2n), -3n);
    assert.equal(bench.register('rem', -7n, 2n), -1n);
    assert.equal(bench.register('div', 7n, -2n), -3n);
    assert.equal(bench.register('rem', 7n, -2n), 1n);
    assert.equal(bench.register('divu', -1n, 2n), MAX64);
    assert.equal(bench.register('remuw', 0xffff_ffffn, 0x10n), 0xfn);
    assert.equal(bench.register('divuw', 0xffff_ffffn, 1n), -1n);
  });
});

describe('property test against BigInt (seeded)', () => {
  const random = new SeededRandom(0x2024_0611n);
  const SPECIAL = [0n, 1n, 2n, -1n, -2n, MIN64, MAX64, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0x1_0000_0000n,
    -0x8000_0000n, -0x8000_0001n, 0x1_ffff_ffffn, 0xffff_ffff_0000_0000n].map(s64);
  /** Special values, 32-bit-sized values (the fast paths), and full random 64-bit values. */
  const operand = (): bigint => {
    switch (random.below(5)) {
      case 0: return random.pick(SPECIAL);
      case 1: return s64(BigInt.asIntN(32, random.next64()));
      case 2: return u32(random.next64());
      case 3: return s64(random.next64() >> BigInt(random.below(64)));
      default: return s64(random.next64());
    }
  };

  const divide = (a: bigint, b: bigint) => (b === 0n ? -1n : a === MIN64 && b === -1n ? MIN64 : a / b);
  const remainder = (a: bigint, b: bigint) => (b === 0n ? a : a === MIN64 && b === -1n ? 0n : a % b);
  const divideWord = (a: bigint, b: bigint) => {
    const x = s32(a), y = s32(b);
    return y === 0n ? -1n : x === -0x8000_0000n && y === -1n ? x : s32(x / y);
  };
  const remainderWord = (a: bigint, b: bigint) => {
    const x = s32(a), y = s32(b);
    return y === 0n ? x : x === -0x8000_0000n && y === -1n ? 0n : s32(x % y);
  };

  const REFERENCE: Record<string, (a: bigint, b: bigint) => bigint> = {
    add: (a, b) => s64(a + b),
    sub: (a, b) => s64(a - b),
    mul: (a, b) => s64(a * b),
    mulh: (a, b) => s64((a * b) >> 64n),
    mulhsu: (a, b) => s64((a * u64(b)) >> 64n),
    mulhu: (a, b) => s64((u64(a) * u64(b)) >> 64n),
    div: divide,
    divu: (a, b) => (b === 0n ? -1n : s64(u64(a) / u64(b))),
    rem: remainder,
    remu: (a, b) => (b === 0n ? a : s64(u64(a) % u64(b))),
    addw: (a, b) => s32(a + b),
    subw: (a, b) => s32(a - b),
    mulw: (a, b) => s32(a * b),
    divw: divideWord,
    divuw: (a, b) => (u32(b) === 0n ? -1n : s32(u32(a) / u32(b))),
    remw: remainderWord,
    remuw: (a, b) => (u32(b) === 0n ? s32(a) : s32(u32(a) % u32(b))),
    sll: (a, b) => s64(a << (b & 63n)),
    srl: (a, b) => s64(u64(a) >> (b & 63n)),
    sra: (a, b) => a >> (b & 63n),
    slt: (a, b) => (a < b ? 1n : 0n),
    sltu: (a, b) => (u64(a) < u64(b) ? 1n : 0n),
    and: (a, b) => a & b,
    or: (a, b) => a | b,
    xor: (a, b) => a ^ b,
  };

  for (const [mnemonic, reference] of Object.entries(REFERENCE)) {
    it(`${mnemonic}: 3000 random cases, with register aliasing`, () => {
      // Registers vary too, including rd = rs1, rd = rs2 and rs1 = rs2.
      const registers = [X.t0, X.t1, X.a0, X.s2, X.t6];
      for (let trial = 0; trial < 3000; trial++) {
        const rd = random.pick(registers), rs1 = random.pick(registers), rs2 = random.pick(registers);
        const a = operand();
        const b = rs2 === rs1 ? a : operand();
        const hart = bench.run(encode(mnemonic, { rd, rs1, rs2 }), [[rs1, a], [rs2, b]]);
        assert.equal(hart.readRegister(rd), reference(a, b), `${mnemonic} x${rd}, x${rs1}=${a}, x${rs2}=${b}`);
      }
    });
  }

  const IMMEDIATE_REFERENCE: Record<string, [(a: bigint, imm: bigint) => bigint, 'signed12' | 'shift64' | 'shift32']> = {
    addi: [(a, imm) => s64(a + imm), 'signed12'],
    slti: [(a, imm) => (a < imm ? 1n : 0n), 'signed12'],
    sltiu: [(a, imm) => (u64(a) < u64(imm) ? 1n : 0n), 'signed12'],
    xori: [(a, imm) => a ^ imm, 'signed12'],
    ori: [(a, imm) => a | imm, 'signed12'],
    andi: [(a, imm) => a & imm, 'signed12'],
    addiw: [(a, imm) => s32(a + imm), 'signed12'],
    slli: [(a, imm) => s64(a << imm), 'shift64'],
    srli: [(a, imm) => s64(u64(a) >> imm), 'shift64'],
    srai: [(a, imm) => a >> imm, 'shift64'],
    slliw: [(a, imm) => s32(a << imm), 'shift32'],
    srliw: [(a, imm) => s32(u32(a) >> imm), 'shift32'],
    sraiw: [(a, imm) => s32(a) >> imm, 'shift32'],
  };

  for (const [mnemonic, [reference, kind]] of Object.entries(IMMEDIATE_REFERENCE)) {
    it(`${mnemonic}: 1000 random cases`, () => {
      for (let trial = 0; trial < 1000; trial++) {
        const a = operand();
        const imm = kind === 'signed12' ? random.below(4096) - 2048 : random.below(kind === 'shift64' ? 64 : 32);
        assert.equal(bench.immediate(mnemonic, a, imm), reference(a, BigInt(imm)), `${mnemonic} ${a}, ${imm}`);
      }
    });
  }
});

describe('x0 stays zero', () => {
  it('whatever instruction names it as destination', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    hart.mstatus |= 1 << Mstatus.FS_SHIFT; // FS = Initial: F/D instructions allowed
    hart.floatBits[2] = 0x3fc0_0000; hart.floatBits[3] = -1; // f1 = 1.5f, NaN-boxed
    hart.floatBits[4] = 0; hart.floatBits[5] = 0x4008_0000; // f2 = 3.0
    const cases: ReadonlyArray<readonly [string, number]> = [
      ['lui', encode('lui', { rd: 0, imm: 0x12345 })],
      ['auipc', encode('auipc', { rd: 0, imm: 1 })],
      ['addi', encode('addi', { rd: 0, rs1: X.t0, imm: 1 })],
      ['addiw', encode('addiw', { rd: 0, rs1: X.t0, imm: -1 })],
      ['slli', encode('slli', { rd: 0, rs1: X.t0, imm: 33 })],
      ['add', encode('add', { rd: 0, rs1: X.t0, rs2: X.t0 })],
      ['sltu', encode('sltu', { rd: 0, rs1: 0, rs2: X.t0 })],
      ['mul', encode('mul', { rd: 0, rs1: X.t0, rs2: X.t0 })],
      ['mulh', encode('mulh', { rd: 0, rs1: X.t0, rs2: X.t0 })],
      ['mulhu', encode('mulhu', { rd: 0, rs1: X.t0, rs2: X.t0 })],
      ['div', encode('div', { rd: 0, rs1: X.t0, rs2: 0 })],
      ['remw', encode('remw', { rd: 0, rs1: X.t0, rs2: X.t0 })],
      ['lb', encode('lb', { rd: 0, rs1: X.s1, imm: 0 })],
      ['lh', encode('lh', { rd: 0, rs1: X.s1, imm: 0 })],
      ['lw', encode('lw', { rd: 0, rs1: X.s1, imm: 0 })],
      ['ld', encode('ld', { rd: 0, rs1: X.s1, imm: 0 })],
      ['lbu', encode('lbu', { rd: 0, rs1: X.s1, imm: 0 })],
      ['lhu', encode('lhu', { rd: 0, rs1: X.s1, imm: 0 })],
      ['lwu', encode('lwu', { rd: 0, rs1: X.s1, imm: 0 })],
      ['lr.d', encode('lr.d', { rd: 0, rs1: X.s1 })],
      ['sc.d', encode('sc.d', { rd: 0, rs1: X.s1, rs2: X.t0 })],
      ['amoswap.w', encode('amoswap.w', { rd: 0, rs1: X.s1, rs2: X.t0 })],
      ['amoadd.d', encode('amoadd.d', { rd: 0, rs1: X.s1, rs2: X.t0 })],
      ['amomaxu.d', encode('amomaxu.d', { rd: 0, rs1: X.s1, rs2: X.t0 })],
      ['csrrs (csrr)', encode('csrrs', { rd: 0, rs1: 0, csr: 0x340 })],
      ['csrrw', encode('csrrw', { rd: 0, rs1: X.t0, csr: 0x340 })],
      ['csrrsi', encode('csrrsi', { rd: 0, imm: 0, csr: 0xf14 })],
      ['fcvt.w.s', encode('fcvt.w.s', { rd: 0, rs1: 1, rm: 0 })],
      ['fcvt.l.d', encode('fcvt.l.d', { rd: 0, rs1: 2, rm: 0 })],
      ['fmv.x.w', encode('fmv.x.w', { rd: 0, rs1: 1 })],
      ['fmv.x.d', encode('fmv.x.d', { rd: 0, rs1: 2 })],
      ['feq.d', encode('feq.d', { rd: 0, rs1: 2, rs2: 2 })],
      ['fclass.s', encode('fclass.s', { rd: 0, rs1: 1 })],
      ['c.li (hint)', encode('c.li', { rd: 0, imm: -1 })],
      ['c.lui (hint)', encode('c.lui', { rd: 0, imm: 5 })],
      ['c.mv (hint)', encode('c.mv', { rd: 0, rs2: X.t0 })],
      ['c.add (hint)', encode('c.add', { rd: 0, rs2: X.t0 })],
      ['c.slli (hint)', encode('c.slli', { rd: 0, imm: 3 })],
      ['c.addi (nop)', encode('c.addi', { rd: 0, imm: 0 })],
    ];
    for (const [name, word] of cases) {
      hart.writeRegister(X.t0, 0x0123_4567_89ab_cdefn);
      hart.writeRegister(X.s1, DATA);
      writeDoubleword(machine, DATA, -0x1234_5678_9abc_def0n);
      executeAt(machine, CODE, [word]);
      assert.equal(hart.mcauseLo, 0, `${name} did not trap`);
      assert.equal(hart.registers[0], 0, `${name}: x0 low word`);
      assert.equal(hart.registers[1], 0, `${name}: x0 high word`);
      assert.equal(hart.readRegister(0), 0n);
      // x0 as a source reads zero right after.
      executeAt(machine, CODE, [encode('add', { rd: X.t1, rs1: 0, rs2: 0 }), encode('ori', { rd: X.t2, rs1: 0, imm: 5 })]);
      assert.equal(hart.readRegister(X.t1), 0n, `${name}: add t1, x0, x0`);
      assert.equal(hart.readRegister(X.t2), 5n, `${name}: ori t2, x0, 5`);
    }
  });

  it('the rest of the instruction still happens: jal jumps, AMOs store, csrrw writes the CSR', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    executeAt(machine, CODE, [encode('jal', { rd: 0, imm: 16 })]);
    assert.equal(hart.pc, CODE + 16n);
    assert.equal(hart.registers[0], 0);

    hart.writeRegister(X.t0, CODE + 0x40n);
    executeAt(machine, CODE, [encode('jalr', { rd: 0, rs1: X.t0, imm: 4 })]);
    assert.equal(hart.pc, CODE + 0x44n);

    writeDoubleword(machine, DATA, 40n);
    hart.writeRegister(X.s1, DATA);
    hart.writeRegister(X.t0, 2n);
    executeAt(machine, CODE, [encode('amoadd.d', { rd: 0, rs1: X.s1, rs2: X.t0 })]);
    assert.equal(readDoubleword(machine, DATA), 42n);
    assert.equal(hart.registers[0], 0);

    hart.writeRegister(X.t0, 0x77n);
    executeAt(machine, CODE, [encode('csrrw', { rd: 0, rs1: X.t0, csr: 0x340 })]);
    assert.equal(hart.mscratchLo, 0x77);
    assert.equal(hart.registers[0], 0);
  });
});
