// Every RVC instruction executes like its 32-bit expansion: from identical random state (integer
// and FP registers, a scratch memory area), run the compressed form and the expansion and
// compare every register, the scratch memory and the trap CSRs. The pc advances by 2 instead of
// 4 when no jump is taken, and c.jalr links pc + 2.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Mstatus } from '../../vmm-core/cpu/csr-numbers';
import { INSTRUCTIONS } from '../../vmm-core/isa/table';
import { createMachine, encode, type Operands, SeededRandom, step, writeInstructions, X } from '../support/assemble';

const CODE = 0x8000_1000n;
const TRAP_VECTOR = 0x8000_3000n;
const SCRATCH = 0x8000_4000n;
const SCRATCH_BYTES = 0x1000;

interface Case {
  compressed: [string, Operands];
  expanded: [string, Operands];
}

const random = new SeededRandom(0xc0_ffeen);
const anyRegister = () => random.below(32);
const nonZeroRegister = () => 1 + random.below(31);
const primeRegister = () => 8 + random.below(8);
const signedImmediate = (bits: number, multiple = 1) => (random.below(1 << bits) - (1 << (bits - 1))) * multiple;
const unsignedImmediate = (bits: number, multiple = 1) => random.below(1 << bits) * multiple;
/** Jump offsets other than +4, where "taken" and "not taken" of the expansion would look alike. */
const jumpOffset = (bits: number) => {
  const offset = signedImmediate(bits, 2);
  return offset === 4 ? 6 : offset;
};

const same = (mnemonic: string) => mnemonic.slice(2);

/** A random instance of each compressed row and its expansion (from the RVC chapter of the spec). */
const GENERATORS: Record<string, () => Case> = {
  'c.addi4spn': () => {
    const rd = primeRegister(), imm = 4 + unsignedImmediate(8, 4);
    return { compressed: ['c.addi4spn', { rd, imm }], expanded: ['addi', { rd, rs1: X.sp, imm }] };
  },
  'c.fld': () => memoryLoad('c.fld', unsignedImmediate(5, 8)),
  'c.lw': () => memoryLoad('c.lw', unsignedImmediate(5, 4)),
  'c.ld': () => memoryLoad('c.ld', unsignedImmediate(5, 8)),
  'c.fsd': () => memoryStore('c.fsd', unsignedImmediate(5, 8)),
  'c.sw': () => memoryStore('c.sw', unsignedImmediate(5, 4)),
  'c.sd': () => memoryStore('c.sd', unsignedImmediate(5, 8)),
  'c.addi': () => {
    const rd = anyRegister(), imm = signedImmediate(6);
    return { compressed: ['c.addi', { rd, imm }], expanded: ['addi', { rd, rs1: rd, imm }] };
  },
  'c.addiw': () => {
    const rd = nonZeroRegister(), imm = signedImmediate(6);
    return { compressed: ['c.addiw', { rd, imm }], expanded: ['addiw', { rd, rs1: rd, imm }] };
  },
  'c.li': () => {
    const rd = anyRegister(), imm = signedImmediate(6);
    return { compressed: ['c.li', { rd, imm }], expanded: ['addi', { rd, rs1: 0, imm }] };
  },
  'c.addi16sp': () => {
    const imm = signedImmediate(6, 16) || 16;
    return { compressed: ['c.addi16sp', { imm }], expanded: ['addi', { rd: X.sp, rs1: X.sp, imm }] };
  },
  'c.lui': () => {
    let rd = anyRegister();
    if (rd === X.sp) rd = X.gp;
    const imm = signedImmediate(6) || 1;
    return { compressed: ['c.lui', { rd, imm }], expanded: ['lui', { rd, imm: imm & 0xfffff }] };
  },
  'c.srli': () => shiftOrAndi('c.srli', unsignedImmediate(6)),
  'c.srai': () => shiftOrAndi('c.srai', unsignedImmediate(6)),
  'c.andi': () => shiftOrAndi('c.andi', signedImmediate(6)),
  'c.sub': () => registerRegister('c.sub'),
  'c.xor': () => registerRegister('c.xor'),
  'c.or': () => registerRegister('c.or'),
  'c.and': () => registerRegister('c.and'),
  'c.subw': () => registerRegister('c.subw'),
  'c.addw': () => registerRegister('c.addw'),
  'c.j': () => {
    const imm = jumpOffset(11);
    return { compressed: ['c.j', { imm }], expanded: ['jal', { rd: 0, imm }] };
  },
  'c.beqz': () => {
    const rs1 = primeRegister(), imm = jumpOffset(8);
    return { compressed: ['c.beqz', { rs1, imm }], expanded: ['beq', { rs1, rs2: 0, imm }] };
  },
  'c.bnez': () => {
    const rs1 = primeRegister(), imm = jumpOffset(8);
    return { compressed: ['c.bnez', { rs1, imm }], expanded: ['bne', { rs1, rs2: 0, imm }] };
  },
  'c.slli': () => {
    const rd = anyRegister(), imm = 1 + random.below(63);
    return { compressed: ['c.slli', { rd, imm }], expanded: ['slli', { rd, rs1: rd, imm }] };
  },
  'c.fldsp': () => stackLoad('c.fldsp', anyRegister(), unsignedImmediate(6, 8)),
  'c.lwsp': () => stackLoad('c.lwsp', nonZeroRegister(), unsignedImmediate(6, 4)),
  'c.ldsp': () => stackLoad('c.ldsp', nonZeroRegister(), unsignedImmediate(6, 8)),
  'c.ebreak': () => ({ compressed: ['c.ebreak', {}], expanded: ['ebreak', {}] }),
  'c.jr': () => {
    const rs1 = nonZeroRegister();
    return { compressed: ['c.jr', { rs1 }], expanded: ['jalr', { rd: 0, rs1, imm: 0 }] };
  },
  'c.jalr': () => {
    const rs1 = nonZeroRegister();
    return { compressed: ['c.jalr', { rs1 }], expanded: ['jalr', { rd: X.ra, rs1, imm: 0 }] };
  },
  'c.mv': () => {
    const rd = anyRegister(), rs2 = nonZeroRegister();
    return { compressed: ['c.mv', { rd, rs2 }], expanded: ['add', { rd, rs1: 0, rs2 }] };
  },
  'c.add': () => {
    const rd = anyRegister(), rs2 = nonZeroRegister();
    return { compressed: ['c.add', { rd, rs2 }], expanded: ['add', { rd, rs1: rd, rs2 }] };
  },
  'c.fsdsp': () => stackStore('c.fsdsp', unsignedImmediate(6, 8)),
  'c.swsp': () => stackStore('c.swsp', unsignedImmediate(6, 4)),
  'c.sdsp': () => stackStore('c.sdsp', unsignedImmediate(6, 8)),
};

function memoryLoad(mnemonic: string, imm: number): Case {
  const rd = primeRegister(), rs1 = primeRegister();
  return { compressed: [mnemonic, { rd, rs1, imm }], expanded: [same(mnemonic), { rd, rs1, imm }] };
}

function memoryStore(mnemonic: string, imm: number): Case {
  const rs2 = primeRegister(), rs1 = primeRegister();
  return { compressed: [mnemonic, { rs2, rs1, imm }], expanded: [same(mnemonic), { rs2, rs1, imm }] };
}

function stackLoad(mnemonic: string, rd: number, imm: number): Case {
  return { compressed: [mnemonic, { rd, imm }], expanded: [same(mnemonic).replace('sp', ''), { rd, rs1: X.sp, imm }] };
}

function stackStore(mnemonic: string, imm: number): Case {
  const rs2 = anyRegister();
  return { compressed: [mnemonic, { rs2, imm }], expanded: [same(mnemonic).replace('sp', ''), { rs2, rs1: X.sp, imm }] };
}

function shiftOrAndi(mnemonic: string, imm: number): Case {
  const rd = primeRegister();
  return { compressed: [mnemonic, { rd, imm }], expanded: [same(mnemonic), { rd, rs1: rd, imm }] };
}

function registerRegister(mnemonic: string): Case {
  const rd = primeRegister(), rs2 = primeRegister();
  return { compressed: [mnemonic, { rd, rs2 }], expanded: [same(mnemonic), { rd, rs1: rd, rs2 }] };
}

interface Snapshot {
  integer: bigint[];
  float: Int32Array;
  memory: Uint8Array;
  pc: bigint;
  mstatus: number;
  mcause: number;
  mepc: bigint;
  mtval: number;
  retired: number;
}

describe('compressed instructions execute like their expansions', () => {
  const machine = createMachine();
  const hart = machine.harts[0];
  hart.mtvecLo = Number(TRAP_VECTOR);

  const snapshot = (): Snapshot => ({
    integer: Array.from({ length: 32 }, (_, index) => hart.readRegister(index)),
    float: hart.floatBits.slice(),
    memory: machine.readPhysical(SCRATCH, SCRATCH_BYTES)!,
    pc: hart.pc,
    mstatus: hart.mstatus,
    mcause: hart.mcauseLo,
    mepc: (BigInt(hart.mepcHi >>> 0) << 32n) | BigInt(hart.mepcLo >>> 0),
    mtval: hart.mtvalLo,
    retired: hart.instructionsRetired,
  });

  const restore = (state: Snapshot) => {
    state.integer.forEach((value, index) => hart.writeRegister(index, value));
    hart.floatBits.set(state.float);
    machine.writePhysical(SCRATCH, state.memory);
    hart.mstatus = state.mstatus;
    hart.mcauseLo = hart.mepcLo = hart.mepcHi = hart.mtvalLo = 0;
    hart.instructionsRetired = state.retired;
  };

  const randomState = (): Snapshot => {
    for (let index = 1; index < 32; index++) hart.writeRegister(index, random.next64());
    // Bases of loads and stores point into the scratch area (8-byte aligned, room for offsets).
    hart.writeRegister(X.sp, SCRATCH + 0x100n + BigInt(random.below(16) * 16));
    for (let index = 8; index < 16; index++) hart.writeRegister(index, SCRATCH + 0x800n + BigInt(random.below(32) * 8));
    // Some branch operands are zero.
    if (random.below(2) === 0) hart.writeRegister(8 + random.below(8), 0n);
    for (let index = 0; index < 64; index++) hart.floatBits[index] = Number(BigInt.asIntN(32, random.next64()));
    const memory = new Uint8Array(SCRATCH_BYTES);
    for (let index = 0; index < SCRATCH_BYTES; index++) memory[index] = random.below(256);
    machine.writePhysical(SCRATCH, memory);
    hart.mstatus = 1 << Mstatus.FS_SHIFT; // FS = Initial: compressed FP loads and stores are legal
    return snapshot();
  };

  const execute = (start: Snapshot, word: number): Snapshot => {
    restore(start);
    writeInstructions(machine, CODE, [word]);
    hart.pc = CODE;
    step(machine);
    return snapshot();
  };

  it('has a generator for every compressed row of the table', () => {
    const compressedRows = INSTRUCTIONS.filter((spec) => spec.length === 2).map((spec) => spec.mnemonic);
    assert.deepEqual(compressedRows.filter((mnemonic) => GENERATORS[mnemonic] === undefined), []);
  });

  for (const [mnemonic, generate] of Object.entries(GENERATORS)) {
    it(`${mnemonic} matches its expansion on 60 random states`, () => {
      for (let trial = 0; trial < 60; trial++) {
        const instance = generate();
        const compressedWord = encode(...instance.compressed);
        const expandedWord = encode(...instance.expanded);
        assert.equal(compressedWord < 0x10000 && (compressedWord & 3) !== 3, true);
        const start = randomState();
        const compressed = execute(start, compressedWord);
        const expanded = execute(start, expandedWord);
        const label = `${mnemonic} ${JSON.stringify(instance.compressed[1])} (0x${compressedWord.toString(16)}) vs ${instance.expanded[0]}`;

        // c.jalr links the address of the next (2-byte-later) instruction.
        const expectedIntegers = expanded.integer.slice();
        if (mnemonic === 'c.jalr') expectedIntegers[X.ra] -= 2n;
        assert.deepEqual(compressed.integer, expectedIntegers, `${label}: integer registers`);
        assert.deepEqual(compressed.float, expanded.float, `${label}: FP registers`);
        assert.deepEqual(compressed.memory, expanded.memory, `${label}: memory`);
        assert.equal(compressed.mstatus, expanded.mstatus, `${label}: mstatus`);
        assert.equal(compressed.retired, expanded.retired, `${label}: retired count`);
        assert.equal(compressed.mcause, expanded.mcause, `${label}: mcause`);
        assert.equal(compressed.mepc, expanded.mepc, `${label}: mepc`);
        assert.equal(compressed.mtval, expanded.mtval, `${label}: mtval`);
        // Falling through: 2 bytes vs 4. Jumps and taken branches land on the same target.
        const expectedPc = expanded.pc === CODE + 4n ? CODE + 2n : expanded.pc;
        assert.equal(compressed.pc, expectedPc, `${label}: pc`);
      }
    });
  }

  it('a taken c.beqz and a not-taken c.bnez on the same zero register', () => {
    restore(randomState());
    hart.writeRegister(X.a0, 0n);
    writeInstructions(machine, CODE, [encode('c.beqz', { rs1: X.a0, imm: 0x20 })]);
    hart.pc = CODE;
    step(machine);
    assert.equal(hart.pc, CODE + 0x20n);
    writeInstructions(machine, CODE, [encode('c.bnez', { rs1: X.a0, imm: 0x20 })]);
    hart.pc = CODE;
    step(machine);
    assert.equal(hart.pc, CODE + 2n);
  });
});
