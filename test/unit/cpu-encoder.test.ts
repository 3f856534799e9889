// The test encoder (test/support/assemble.ts) against GNU as and against the decoder: the words
// it builds from the instruction table are the ones the toolchain produces, and every row of
// the table decodes back to itself with the operands that were placed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DecodedInstruction, decodeInstruction } from '../../vmm-core/isa/decoder';
import { INSTRUCTIONS, type InstructionSpec } from '../../vmm-core/isa/table';
import { parseElf, PT_LOAD } from '../../vmm-core/machine/elf';
import {
  buildElf, createMachine, encode, EncodingError, executeAt, instructionBytes, loadImmediate, type Operands, ProgramBuilder,
  SeededRandom, X,
} from '../support/assemble';

// Encodings from riscv64-unknown-elf-as 2.40 (objdump -M no-aliases), one or more per format.
const GNU_ENCODINGS: ReadonlyArray<[string, Operands, number]> = [
  ['lui', { rd: X.a5, imm: 0xfffff }, 0xfffff7b7],
  ['auipc', { rd: X.t0, imm: 0x12345 }, 0x12345297],
  ['jal', { rd: X.ra, imm: 0x7fe }, 0x7fe000ef],
  ['jal', { rd: X.zero, imm: -0x100000 }, 0x8000006f],
  ['jalr', { rd: X.a0, rs1: X.sp, imm: -2048 }, 0x80010567],
  ['beq', { rs1: X.s0, rs2: X.s1, imm: -4096 }, 0x80940063],
  ['bltu', { rs1: X.t6, rs2: X.a0, imm: 4094 }, 0x7eafefe3],
  ['ld', { rd: X.a3, rs1: X.s1, imm: -8 }, 0xff84b683],
  ['sd', { rs2: X.t2, rs1: X.tp, imm: 2047 }, 0x7e723fa3],
  ['addi', { rd: X.a0, rs1: X.a1, imm: -1 }, 0xfff58513],
  ['slli', { rd: X.s11, rs1: X.t4, imm: 63 }, 0x03fe9d93],
  ['sraiw', { rd: X.a2, rs1: X.a3, imm: 31 }, 0x41f6d61b],
  ['sub', { rd: X.a0, rs1: X.a1, rs2: X.a2 }, 0x40c58533],
  ['mulhsu', { rd: X.t0, rs1: X.t1, rs2: X.t2 }, 0x027322b3],
  ['remuw', { rd: X.a7, rs1: X.s5, rs2: X.s6 }, 0x036af8bb],
  ['fence', { pred: 0b0011, succ: 0b0001 }, 0x0310000f],
  ['fence.i', {}, 0x0000100f],
  ['ecall', {}, 0x00000073],
  ['ebreak', {}, 0x00100073],
  ['mret', {}, 0x30200073],
  ['sret', {}, 0x10200073],
  ['wfi', {}, 0x10500073],
  ['sfence.vma', { rs1: X.a0, rs2: X.a1 }, 0x12b50073],
  ['csrrw', { rd: X.a0, rs1: X.a1, csr: 0x300 }, 0x30059573],
  ['csrrci', { rd: X.zero, imm: 31, csr: 0x304 }, 0x304ff073],
  ['lr.d', { rd: X.a0, rs1: X.a1, aq: true }, 0x1405b52f],
  ['sc.w', { rd: X.a2, rs2: X.a3, rs1: X.a4, rl: true }, 0x1ad7262f],
  ['amomaxu.d', { rd: X.s0, rs2: X.s1, rs1: X.s2, aq: true, rl: true }, 0xe699342f],
  ['flw', { rd: 10, rs1: X.sp, imm: -4 }, 0xffc12507],
  ['fsd', { rs2: 27, rs1: X.t0, imm: 2040 }, 0x7fb2bc27],
  ['fmadd.d', { rd: 10, rs1: 11, rs2: 12, rs3: 13, rm: 0 }, 0x6ac58543],
  ['fnmsub.s', { rd: 0, rs1: 1, rs2: 2, rs3: 3 }, 0x1820f04b],
  ['fadd.s', { rd: 8, rs1: 9, rs2: 18, rm: 1 }, 0x01249453],
  ['fsqrt.d', { rd: 31, rs1: 17, rm: 4 }, 0x5a08cfd3],
  ['fsgnjx.d', { rd: 1, rs1: 2, rs2: 3 }, 0x223120d3],
  ['feq.s', { rd: X.a0, rs1: 10, rs2: 11 }, 0xa0b52553],
  ['fcvt.l.d', { rd: X.t0, rs1: 0, rm: 3 }, 0xc22032d3],
  ['fcvt.s.wu', { rd: 10, rs1: X.s3, rm: 2 }, 0xd019a553],
  ['fmv.x.d', { rd: X.a0, rs1: 19 }, 0xe2098553],
  ['fmv.w.x', { rd: 0, rs1: X.zero }, 0xf0000053],
  ['fclass.s', { rd: X.a5, rs1: 7 }, 0xe00397d3],
  ['fcvt.d.s', { rd: 10, rs1: 11, rm: 0 }, 0x42058553],
  ['fcvt.s.d', { rd: 10, rs1: 11, rm: 0 }, 0x40158553],
  ['c.addi4spn', { rd: X.s0, imm: 1020 }, 0x1fe0],
  ['c.fld', { rd: 15, rs1: X.s1, imm: 248 }, 0x3cfc],
  ['c.lw', { rd: X.a0, rs1: X.a5, imm: 124 }, 0x5fe8],
  ['c.ld', { rd: X.s1, rs1: X.a0, imm: 8 }, 0x6504],
  ['c.fsd', { rs2: 8, rs1: X.s0, imm: 0 }, 0xa000],
  ['c.sw', { rs2: X.a5, rs1: X.s1, imm: 64 }, 0xc0bc],
  ['c.sd', { rs2: X.a4, rs1: X.a3, imm: 136 }, 0xe6d8],
  ['c.addi', { rd: X.t0, imm: -32 }, 0x1281],
  ['c.addiw', { rd: X.a0, imm: 31 }, 0x257d],
  ['c.li', { rd: X.s11, imm: -1 }, 0x5dfd],
  ['c.addi16sp', { imm: -512 }, 0x7101],
  ['c.addi16sp', { imm: 496 }, 0x617d],
  ['c.lui', { rd: X.t1, imm: -32 }, 0x7301],
  ['c.lui', { rd: X.t1, imm: 31 }, 0x637d],
  ['c.srli', { rd: X.a0, imm: 63 }, 0x917d],
  ['c.srai', { rd: X.s1, imm: 1 }, 0x8485],
  ['c.andi', { rd: X.a5, imm: -32 }, 0x9b81],
  ['c.sub', { rd: X.s0, rs2: X.s1 }, 0x8c05],
  ['c.xor', { rd: X.a0, rs2: X.a1 }, 0x8d2d],
  ['c.or', { rd: X.a2, rs2: X.a3 }, 0x8e55],
  ['c.and', { rd: X.a4, rs2: X.a5 }, 0x8f7d],
  ['c.subw', { rd: X.s0, rs2: X.a5 }, 0x9c1d],
  ['c.addw', { rd: X.a5, rs2: X.s0 }, 0x9fa1],
  ['c.j', { imm: -2048 }, 0xb001],
  ['c.j', { imm: 2046 }, 0xaffd],
  ['c.beqz', { rs1: X.a0, imm: -256 }, 0xd101],
  ['c.bnez', { rs1: X.s1, imm: 254 }, 0xecfd],
  ['c.slli', { rd: X.ra, imm: 33 }, 0x1086],
  ['c.fldsp', { rd: 0, imm: 504 }, 0x307e],
  ['c.lwsp', { rd: X.a0, imm: 252 }, 0x557e],
  ['c.ldsp', { rd: X.t6, imm: 0 }, 0x6f82],
  ['c.ebreak', {}, 0x9002],
  ['c.jr', { rs1: X.ra }, 0x8082],
  ['c.jalr', { rs1: X.t0 }, 0x9282],
  ['c.mv', { rd: X.a0, rs2: X.a1 }, 0x852e],
  ['c.add', { rd: X.s0, rs2: X.t6 }, 0x947e],
  ['c.fsdsp', { rs2: 9, imm: 8 }, 0xa426],
  ['c.swsp', { rs2: X.a5, imm: 252 }, 0xdfbe],
  ['c.sdsp', { rs2: X.ra, imm: 504 }, 0xff86],
  // Zihintpause, Zba, Zbb, Zbc, Zbs (as -march=rv64gc_zba_zbb_zbc_zbs_zihintpause)
  ['pause', {}, 0x0100000f],
  ['sh1add', { rd: X.a0, rs1: X.a1, rs2: X.a2 }, 0x20c5a533],
  ['sh3add.uw', { rd: X.s2, rs1: X.s3, rs2: X.s4 }, 0x2149e93b],
  ['add.uw', { rd: X.t0, rs1: X.t1, rs2: X.t2 }, 0x087302bb],
  ['slli.uw', { rd: X.a0, rs1: X.a1, imm: 5 }, 0x0855951b],
  ['andn', { rd: X.t3, rs1: X.t4, rs2: X.t5 }, 0x41eefe33],
  ['clz', { rd: X.a0, rs1: X.a1 }, 0x60059513],
  ['cpopw', { rd: X.a4, rs1: X.a5 }, 0x6027971b],
  ['maxu', { rd: X.s0, rs1: X.s1, rs2: X.a0 }, 0x0aa4f433],
  ['zext.h', { rd: X.a0, rs1: X.a1 }, 0x0805c53b],
  ['rol', { rd: X.a0, rs1: X.a1, rs2: X.a2 }, 0x60c59533],
  ['rori', { rd: X.s11, rs1: X.t4, imm: 63 }, 0x63fedd93],
  ['roriw', { rd: X.a2, rs1: X.a3, imm: 31 }, 0x61f6d61b],
  ['orc.b', { rd: X.a0, rs1: X.a1 }, 0x2875d513],
  ['rev8', { rd: X.t0, rs1: X.t1 }, 0x6b835293],
  ['clmulr', { rd: X.a0, rs1: X.a1, rs2: X.a2 }, 0x0ac5a533],
  ['bexti', { rd: X.a0, rs1: X.a1, imm: 37 }, 0x4a55d513],
  ['bseti', { rd: X.a0, rs1: X.a1, imm: 0 }, 0x28059513],
];

interface Expected {
  rd?: number;
  rs1?: number;
  rs2?: number;
  rs3?: number;
  imm?: number;
  csr?: number;
}

/** Random operands valid for a row, and the fields the decoder must report for them. */
function randomOperands(spec: InstructionSpec, random: SeededRandom): { operands: Operands; expected: Expected } {
  const register = () => random.below(32);
  const nonZero = () => 1 + random.below(31);
  const prime = () => 8 + random.below(8);
  const signed = (bits: number, multiple = 1) => (random.below(1 << bits) - (1 << (bits - 1))) * multiple;
  const unsigned = (bits: number, multiple = 1) => random.below(1 << bits) * multiple;
  const rd = register(), rs1 = register(), rs2 = register(), rs3 = register();
  switch (spec.format) {
    case 'R': case 'FRNoRm': case 'FCompare': case 'FR':
      return { operands: { rd, rs1, rs2, rm: 0 }, expected: { rd, rs1, rs2 } };
    case 'R4':
      return { operands: { rd, rs1, rs2, rs3, rm: 1 }, expected: { rd, rs1, rs2, rs3 } };
    case 'I': case 'Load': case 'Jalr': case 'FLoad': {
      const imm = signed(12);
      return { operands: { rd, rs1, imm }, expected: { rd, rs1, imm } };
    }
    case 'S': case 'FStore': {
      const imm = signed(12);
      return { operands: { rs1, rs2, imm }, expected: { rs1, rs2, imm } };
    }
    case 'B': {
      const imm = signed(12, 2);
      return { operands: { rs1, rs2, imm }, expected: { rs1, rs2, imm } };
    }
    case 'U': {
      const imm = unsigned(20);
      return { operands: { rd, imm }, expected: { rd, imm: imm << 12 } };
    }
    case 'J': {
      const imm = signed(20, 2);
      return { operands: { rd, imm }, expected: { rd, imm } };
    }
    case 'Shift': {
      const imm = unsigned(6);
      return { operands: { rd, rs1, imm }, expected: { rd, rs1, imm } };
    }
    case 'ShiftW': {
      const imm = unsigned(5);
      return { operands: { rd, rs1, imm }, expected: { rd, rs1, imm } };
    }
    case 'Fence': case 'None':
      return { operands: {}, expected: {} };
    case 'SfenceVma':
      return { operands: { rs1, rs2 }, expected: { rs1, rs2 } };
    case 'Csr': {
      const csr = unsigned(12);
      return { operands: { rd, rs1, csr }, expected: { rd, rs1, csr } };
    }
    case 'CsrImm': {
      const csr = unsigned(12), imm = unsigned(5);
      return { operands: { rd, imm, csr }, expected: { rd, imm, csr } };
    }
    case 'Amo':
      return { operands: { rd, rs1, rs2, aq: random.below(2) === 1 }, expected: { rd, rs1, rs2 } };
    case 'Lr':
      return { operands: { rd, rs1, rl: random.below(2) === 1 }, expected: { rd, rs1 } };
    case 'FUnary': case 'FToInt': case 'IntToF':
      return { operands: { rd, rs1, rm: 2 }, expected: { rd, rs1 } };
    case 'FMoveToInt': case 'FMoveFromInt': case 'Unary':
      return { operands: { rd, rs1 }, expected: { rd, rs1 } };
    // Compressed: the decoder reports the expansion's fields.
    case 'CIW': {
      const r = prime(), imm = 4 + unsigned(8, 4);
      return { operands: { rd: r, imm }, expected: { rd: r, rs1: 2, imm } };
    }
    case 'CLW': case 'CLD': {
      const r = prime(), base = prime(), imm = spec.format === 'CLW' ? unsigned(5, 4) : unsigned(5, 8);
      return { operands: { rd: r, rs1: base, imm }, expected: { rd: r, rs1: base, imm } };
    }
    case 'CSW': case 'CSD': {
      const r = prime(), base = prime(), imm = spec.format === 'CSW' ? unsigned(5, 4) : unsigned(5, 8);
      return { operands: { rs2: r, rs1: base, imm }, expected: { rs2: r, rs1: base, imm } };
    }
    case 'CIAddi': {
      const r = nonZero(), imm = signed(6);
      return { operands: { rd: r, imm }, expected: { rd: r, rs1: r, imm } };
    }
    case 'CILi': {
      const imm = signed(6);
      return { operands: { rd, imm }, expected: { rd, rs1: 0, imm } };
    }
    case 'CIAddi16sp': {
      let imm = signed(6, 16);
      if (imm === 0) imm = 16;
      return { operands: { imm }, expected: { rd: 2, rs1: 2, imm } };
    }
    case 'CILui': {
      let r = nonZero();
      if (r === 2) r = 3;
      let imm = signed(6);
      if (imm === 0) imm = 1;
      return { operands: { rd: r, imm }, expected: { rd: r, imm: imm << 12 } };
    }
    case 'CBShift': {
      const r = prime(), imm = unsigned(6);
      return { operands: { rd: r, imm }, expected: { rd: r, rs1: r, imm } };
    }
    case 'CBAndi': {
      const r = prime(), imm = signed(6);
      return { operands: { rd: r, imm }, expected: { rd: r, rs1: r, imm } };
    }
    case 'CA': {
      const r = prime(), other = prime();
      return { operands: { rd: r, rs2: other }, expected: { rd: r, rs1: r, rs2: other } };
    }
    case 'CJ': {
      const imm = signed(11, 2);
      return { operands: { imm }, expected: { rd: 0, imm } };
    }
    case 'CBBranch': {
      const r = prime(), imm = signed(8, 2);
      return { operands: { rs1: r, imm }, expected: { rs1: r, rs2: 0, imm } };
    }
    case 'CIShift': {
      const r = nonZero(), imm = 1 + random.below(63);
      return { operands: { rd: r, imm }, expected: { rd: r, rs1: r, imm } };
    }
    case 'CILwsp': case 'CILdsp': {
      const r = nonZero(), imm = spec.format === 'CILwsp' ? unsigned(6, 4) : unsigned(6, 8);
      return { operands: { rd: r, imm }, expected: { rd: r, rs1: 2, imm } };
    }
    case 'CSSwsp': case 'CSSdsp': {
      const imm = spec.format === 'CSSwsp' ? unsigned(6, 4) : unsigned(6, 8);
      return { operands: { rs2, imm }, expected: { rs1: 2, rs2, imm } };
    }
    case 'CRJr': {
      const r = nonZero();
      return { operands: { rs1: r }, expected: { rd: 0, rs1: r, imm: 0 } };
    }
    case 'CRJalr': {
      const r = nonZero();
      return { operands: { rs1: r }, expected: { rd: 1, rs1: r, imm: 0 } };
    }
    case 'CRMv': {
      const r = nonZero();
      return { operands: { rd, rs2: r }, expected: { rd, rs1: 0, rs2: r } };
    }
    case 'CRAdd': {
      const r = nonZero();
      return { operands: { rd, rs2: r }, expected: { rd, rs1: rd, rs2: r } };
    }
    case 'CNone':
      return { operands: {}, expected: {} };
  }
}

describe('test encoder', () => {
  it('produces the words GNU as produces', () => {
    for (const [mnemonic, operands, word] of GNU_ENCODINGS) {
      assert.equal(encode(mnemonic, operands).toString(16), (word >>> 0).toString(16), `${mnemonic} ${JSON.stringify(operands)}`);
    }
  });

  it('the GNU reference covers every format of the table', () => {
    const covered = new Set(GNU_ENCODINGS.map(([mnemonic]) => INSTRUCTIONS.find((spec) => spec.mnemonic === mnemonic)!.format));
    const formats = new Set(INSTRUCTIONS.map((spec) => spec.format));
    assert.deepEqual([...formats].filter((format) => !covered.has(format)), []);
  });

  it('round-trips every row of the table through the decoder', () => {
    const random = new SeededRandom(0x5eed_0001n);
    const decoded = new DecodedInstruction();
    INSTRUCTIONS.forEach((spec, index) => {
      for (let trial = 0; trial < 40; trial++) {
        const { operands, expected } = randomOperands(spec, random);
        const word = encode(spec.mnemonic, operands);
        assert.ok(decodeInstruction(word, decoded), `${spec.mnemonic} ${JSON.stringify(operands)} decodes`);
        assert.equal(INSTRUCTIONS[decoded.row].mnemonic, spec.mnemonic, `0x${word.toString(16)}`);
        assert.equal(decoded.row, index);
        assert.equal(decoded.length, spec.length);
        const actual: Expected = {};
        for (const key of Object.keys(expected) as Array<keyof Expected>) actual[key] = decoded[key];
        assert.deepEqual(actual, expected, `${spec.mnemonic} 0x${word.toString(16)}`);
      }
    });
  });

  it('rejects operands that do not fit', () => {
    assert.throws(() => encode('addi', { rd: 1, rs1: 1, imm: 2048 }), EncodingError);
    assert.throws(() => encode('beq', { imm: 3 }), EncodingError);
    assert.throws(() => encode('slliw', { imm: 32 }), EncodingError);
    assert.throws(() => encode('c.lw', { rd: 7, rs1: 8 }), EncodingError);
    assert.throws(() => encode('c.addi16sp', { imm: 8 }), EncodingError);
    assert.throws(() => encode('nop'), EncodingError);
  });
});

describe('loadImmediate, ProgramBuilder and buildElf', () => {
  it('buildElf makes an ELF the loader accepts: one PT_LOAD at the address, the entry, the bytes', () => {
    const code = instructionBytes([encode('addi', { rd: X.a0, rs1: 0, imm: 1 }), encode('c.addi', { rd: X.a0, imm: 2 })]);
    const image = parseElf(buildElf(code, 0x8020_0000), 'test.elf');
    assert.equal(image.entry, 0x8020_0000);
    const loads = image.loadSegments.filter((segment) => segment.type === PT_LOAD);
    assert.equal(loads.length, 1);
    assert.equal(loads[0].physicalAddress, 0x8020_0000);
    assert.deepEqual(image.bytes.subarray(loads[0].offset, loads[0].offset + code.length), code);
  });

  it('li sequences produce their value', () => {
    const machine = createMachine();
    const random = new SeededRandom(0x11n);
    const values = [0n, 1n, -1n, 2047n, -2048n, 2048n, 0x7fffffffn, -0x80000000n, 0x80000000n, 0x7ffff800n, 0xffffffffn,
      0x1_0000_0000n, -0x8000_0000_0000_0000n, 0x7fff_ffff_ffff_ffffn, 0x8000_0000_0000_0800n];
    for (let i = 0; i < 200; i++) values.push(BigInt.asIntN(64, random.next64() >> BigInt(random.below(64))));
    for (const value of values) {
      const words = loadImmediate(X.t3, value);
      const hart = executeAt(machine, 0x8000_1000, words);
      assert.equal(hart.readRegister(X.t3), BigInt.asIntN(64, value), `li ${value}`);
    }
  });

  it('resolves labels forwards and backwards, and la gives the address', () => {
    const program = new ProgramBuilder(0x8000_0000n)
      .la(X.a0, 'data')
      .label('top')
      .emit('beq', { rs1: X.zero, rs2: X.zero }, 'end')
      .emit('jal', { rd: X.zero }, 'top')
      .label('end')
      .emit('c.j', {}, 'top')
      .label('data');
    const words = program.words();
    assert.equal(program.address('data'), 0x8000_0012n);
    const decoded = new DecodedInstruction();
    decodeInstruction(words[2], decoded);
    assert.equal(decoded.imm, 8);
    decodeInstruction(words[3], decoded);
    assert.equal(decoded.imm, -4);
    decodeInstruction(words[4], decoded);
    assert.equal(decoded.imm, -8);
    const hart = executeAt(createMachine(), 0x8000_0000, words, 2);
    assert.equal(hart.readRegister(X.a0), 0x8000_0012n);
  });
});
