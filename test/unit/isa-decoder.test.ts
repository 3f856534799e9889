// The decoder against the instruction table: every row is reachable, rows never overlap at
// equal specificity, reserved encodings are illegal, and operand fields come out where the
// formats say.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodeInstruction, DecodedInstruction, instructionLength } from '../../vmm-core/isa/decoder';
import { Operation } from '../../vmm-core/isa/operations';
import { INSTRUCTIONS, BASE_ROW_BY_OPERATION, type InstructionSpec } from '../../vmm-core/isa/table';

/** Small deterministic generator (xorshift32) so failures reproduce. */
function makeRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
}

const popcount = (value: number): number => {
  let count = 0;
  for (let rest = value >>> 0; rest !== 0; rest >>>= 1) count += rest & 1;
  return count;
};

/** True when some encoding matches both rows. */
const overlaps = (a: InstructionSpec, b: InstructionSpec): boolean =>
  a.length === b.length && (((a.match ^ b.match) & a.mask & b.mask) >>> 0) === 0;

/** True when every encoding matching `specific` also matches `general`, and `specific` fixes more bits. */
const refines = (specific: InstructionSpec, general: InstructionSpec): boolean =>
  ((specific.mask & general.mask) >>> 0) === general.mask && specific.mask !== general.mask && overlaps(specific, general);

const ROUNDING_FORMATS = new Set(['FR', 'R4', 'FUnary', 'FToInt', 'IntToF']);

describe('instruction table', () => {
  it('has a consistent length, match inside mask, and an operation for every row', () => {
    for (const spec of INSTRUCTIONS) {
      assert.equal(((spec.match & ~spec.mask) >>> 0), 0, `${spec.mnemonic}: match has bits outside mask`);
      assert.equal(spec.length, (spec.match & 3) === 3 ? 4 : 2, spec.mnemonic);
      if (spec.length === 2) assert.equal(spec.mask >>> 16, 0, `${spec.mnemonic}: compressed mask above bit 15`);
      assert.notEqual(spec.operation, Operation.Illegal, spec.mnemonic);
      if (spec.length === 2) {
        const base = BASE_ROW_BY_OPERATION[spec.operation];
        assert.ok(base !== undefined && base.length === 4, `${spec.mnemonic} expands to a base row`);
      }
    }
  });

  it('has unique mnemonics', () => {
    const names = INSTRUCTIONS.map((spec) => spec.mnemonic);
    assert.equal(new Set(names).size, names.length);
  });

  it('has no two rows of equal specificity that match the same encoding', () => {
    const problems: string[] = [];
    for (let i = 0; i < INSTRUCTIONS.length; i++) {
      for (let j = i + 1; j < INSTRUCTIONS.length; j++) {
        const a = INSTRUCTIONS[i];
        const b = INSTRUCTIONS[j];
        if (!overlaps(a, b)) continue;
        // Overlap is only sound when one row strictly refines the other: the decoder tries the
        // more specific mask first, and the general row covers the rest.
        if (!refines(a, b) && !refines(b, a)) problems.push(`${a.mnemonic} / ${b.mnemonic}`);
        else assert.notEqual(popcount(a.mask), popcount(b.mask));
      }
    }
    assert.deepEqual(problems, []);
  });
});

describe('decodeInstruction', () => {
  it('decodes a constructed encoding of every row to that row (or to a row refining it)', () => {
    const random = makeRandom(0x1234567);
    const decoded = new DecodedInstruction();
    const unreachable: string[] = [];
    INSTRUCTIONS.forEach((spec, index) => {
      let hits = 0;
      for (let attempt = 0; attempt < 200; attempt++) {
        const free = random() & ~spec.mask;
        let raw = (spec.match | free) >>> 0;
        if (spec.length === 2) raw &= 0xffff;
        // Keep F/D rounding modes legal here; reserved modes have their own test.
        if (spec.length === 4 && ROUNDING_FORMATS.has(spec.format) && (spec.mask & 0x7000) === 0) {
          raw = ((raw & ~0x7000) | ((random() % 5) << 12)) >>> 0;
        }
        if (!decodeInstruction(raw, decoded)) continue;
        const actual = INSTRUCTIONS[decoded.row];
        if (decoded.row === index) {
          hits++;
          assert.equal(decoded.operation, spec.operation);
          assert.equal(decoded.length, spec.length);
          assert.equal(decoded.raw, raw);
        } else {
          assert.ok(refines(actual, spec), `${raw.toString(16)}: ${spec.mnemonic} decoded as ${actual.mnemonic}`);
        }
      }
      if (hits === 0) unreachable.push(spec.mnemonic);
    });
    assert.deepEqual(unreachable, []);
  });

  it('extracts 32-bit operand fields', () => {
    const d = new DecodedInstruction();
    // add s2,s3,s4
    assert.ok(decodeInstruction(0x01498933, d));
    assert.deepEqual([d.operation, d.rd, d.rs1, d.rs2, d.length], [Operation.Add, 18, 19, 20, 4]);
    // addi a0,a1,-2048
    assert.ok(decodeInstruction(0x80058513, d));
    assert.deepEqual([d.operation, d.rd, d.rs1, d.imm], [Operation.Addi, 10, 11, -2048]);
    // sd s4,-100(a5)
    assert.ok(decodeInstruction(0xf947be23, d));
    assert.deepEqual([d.operation, d.rs1, d.rs2, d.imm], [Operation.Sd, 15, 20, -100]);
    // beq a0,a1,-4096 and bne with +4094
    assert.ok(decodeInstruction(0x80b50063, d));
    assert.deepEqual([d.operation, d.rs1, d.rs2, d.imm], [Operation.Beq, 10, 11, -4096]);
    assert.ok(decodeInstruction(0x7eb51fe3, d));
    assert.deepEqual([d.operation, d.imm], [Operation.Bne, 4094]);
    // jal ra,-1048576 and jal zero,+1048574
    assert.ok(decodeInstruction(0x800000ef, d));
    assert.deepEqual([d.operation, d.rd, d.imm], [Operation.Jal, 1, -1048576]);
    assert.ok(decodeInstruction(0x7ffff06f, d));
    assert.deepEqual([d.operation, d.rd, d.imm], [Operation.Jal, 0, 1048574]);
    // lui a0,0xfffff keeps the immediate as the shifted, sign-extended value
    assert.ok(decodeInstruction(0xfffff537, d));
    assert.deepEqual([d.operation, d.rd, d.imm], [Operation.Lui, 10, -4096]);
    // slli a0,a1,63 and sraiw a0,a1,31
    assert.ok(decodeInstruction(0x03f59513, d));
    assert.deepEqual([d.operation, d.imm], [Operation.Slli, 63]);
    assert.ok(decodeInstruction(0x41f5d51b, d));
    assert.deepEqual([d.operation, d.imm], [Operation.Sraiw, 31]);
    // csrrw a0,mstatus,a1; csrrsi a0,sip,17
    assert.ok(decodeInstruction(0x30059573, d));
    assert.deepEqual([d.operation, d.rd, d.rs1, d.csr], [Operation.Csrrw, 10, 11, 0x300]);
    assert.ok(decodeInstruction(0x1448e573, d));
    assert.deepEqual([d.operation, d.rd, d.imm, d.csr], [Operation.Csrrsi, 10, 17, 0x144]);
    // fence r,w keeps pred/succ in csr
    assert.ok(decodeInstruction(0x0210000f, d));
    assert.deepEqual([d.operation, d.csr], [Operation.Fence, 0x21]);
    // fmadd.d fa0,fa1,fa2,fa3,rtz
    assert.ok(decodeInstruction(0x6ac59543, d));
    assert.deepEqual([d.operation, d.rd, d.rs1, d.rs2, d.rs3, d.roundingMode], [Operation.FmaddD, 10, 11, 12, 13, 1]);
    // amoadd.d.aqrl a0,a2,(a1)
    assert.ok(decodeInstruction(0x06c5b52f, d));
    assert.deepEqual([d.operation, d.rd, d.rs1, d.rs2], [Operation.AmoaddD, 10, 11, 12]);
  });

  it('expands compressed instructions', () => {
    const d = new DecodedInstruction();
    const expect = (raw: number, mnemonic: string, fields: Partial<Record<'operation' | 'rd' | 'rs1' | 'rs2' | 'imm', number>>) => {
      assert.ok(decodeInstruction(raw, d), `${raw.toString(16)} legal`);
      assert.equal(INSTRUCTIONS[d.row].mnemonic, mnemonic);
      assert.equal(d.length, 2);
      for (const [key, value] of Object.entries(fields)) assert.equal(d[key as keyof typeof fields], value, `${mnemonic}.${key}`);
    };
    // Only the low halfword matters for a compressed instruction.
    expect(0xdead0800, 'c.addi4spn', { operation: Operation.Addi, rd: 8, rs1: 2, imm: 16 });
    expect(0x713d, 'c.addi16sp', { operation: Operation.Addi, rd: 2, rs1: 2, imm: -32 });
    expect(0x4515, 'c.li', { operation: Operation.Addi, rd: 10, rs1: 0, imm: 5 });
    expect(0x757d, 'c.lui', { operation: Operation.Lui, rd: 10, imm: -4096 });
    expect(0x8082, 'c.jr', { operation: Operation.Jalr, rd: 0, rs1: 1, imm: 0 });
    expect(0x9502, 'c.jalr', { operation: Operation.Jalr, rd: 1, rs1: 10 });
    expect(0x852e, 'c.mv', { operation: Operation.Add, rd: 10, rs1: 0, rs2: 11 });
    expect(0x952e, 'c.add', { operation: Operation.Add, rd: 10, rs1: 10, rs2: 11 });
    expect(0x9002, 'c.ebreak', { operation: Operation.Ebreak });
    expect(0xb555, 'c.j', { operation: Operation.Jal, rd: 0, imm: -348 });
    expect(0xd965, 'c.beqz', { operation: Operation.Beq, rs1: 10, rs2: 0, imm: -16 });
    expect(0x1502, 'c.slli', { operation: Operation.Slli, rd: 10, rs1: 10, imm: 32 });
    expect(0x6522, 'c.ldsp', { operation: Operation.Ld, rd: 10, rs1: 2, imm: 8 });
    expect(0xe42a, 'c.sdsp', { operation: Operation.Sd, rs1: 2, rs2: 10, imm: 8 });
    expect(0x2501, 'c.addiw', { operation: Operation.Addiw, rd: 10, rs1: 10, imm: 0 });
    expect(0x9d2d, 'c.addw', { operation: Operation.Addw, rd: 10, rs1: 10, rs2: 11 });
  });

  it('rejects reserved compressed encodings', () => {
    const d = new DecodedInstruction();
    const reserved: [number, string][] = [
      [0x0000, 'all-zero halfword'],
      [0x0004, 'c.addi4spn with zero immediate'],
      [0x2001, 'c.addiw with rd=0'],
      [0x307d, 'c.addiw with rd=0, nonzero immediate'],
      [0x4002, 'c.lwsp with rd=0'],
      [0x6002, 'c.ldsp with rd=0'],
      [0x8002, 'c.jr with rs1=0'],
      [0x6081, 'c.lui with zero immediate'],
      [0x6101, 'c.addi16sp with zero immediate'],
      [0x8000, 'quadrant 0, funct3 100'],
      [0x9c41, 'reserved CA encoding (funct2 10, bit 12 set)'],
      [0x9c61, 'reserved CA encoding (funct2 11, bit 12 set)'],
    ];
    for (const [raw, why] of reserved) {
      assert.equal(decodeInstruction(raw, d), false, why);
      assert.equal(d.row, -1, why);
      assert.equal(d.operation, Operation.Illegal, why);
      assert.equal(d.length, 2, why);
    }
  });

  it('rejects the reserved rounding modes 5 and 6 and accepts the dynamic mode 7', () => {
    const d = new DecodedInstruction();
    for (const spec of INSTRUCTIONS) {
      if (!ROUNDING_FORMATS.has(spec.format) || (spec.mask & 0x7000) !== 0) continue;
      for (const mode of [5, 6]) {
        assert.equal(decodeInstruction((spec.match | (mode << 12)) >>> 0, d), false, `${spec.mnemonic} rm=${mode}`);
      }
      assert.ok(decodeInstruction((spec.match | (7 << 12)) >>> 0, d), `${spec.mnemonic} rm=7`);
      assert.equal(INSTRUCTIONS[d.row], spec);
      assert.equal(d.roundingMode, 7);
    }
  });

  it('rejects unknown major opcodes and reports lengths', () => {
    const d = new DecodedInstruction();
    assert.equal(decodeInstruction(0x0000000b, d), false); // custom-0
    assert.equal(d.length, 4);
    assert.equal(decodeInstruction(0xffffffff, d), false);
    assert.equal(instructionLength(0x0013), 4);
    assert.equal(instructionLength(0x4501), 2);
  });
});
