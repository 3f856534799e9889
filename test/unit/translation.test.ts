// The translation tier against the interpreter: seeded random programs built from every
// operation the tier translates, run in hot loops on both tiers and compared register for
// register and byte for byte; slices of every length ending on the same instruction;
// self-modifying code, debugger and device writes into translated code; a fault in the middle
// of a translated block; a code breakpoint set inside a loop that already runs translated.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Csr } from '../../vmm-core/cpu/csr-numbers';
import { Debugger } from '../../vmm-core/debug/debugger';
import type { Machine } from '../../vmm-core/machine/machine';
import { TEST_FINISHER } from '../../vmm-core/machine/layout';
import { DEFAULT_CPU_MODEL } from '../../vmm-core/cpu/cpu-model';
import { startCompileWorker } from '../../vmm-core/translation/compile-protocol';
import { CORE_OPERATIONS, generateInterpreterCoreModule } from '../../vmm-core/translation/interpreter-core';
import { generateRegionsModule, planRegion } from '../../vmm-core/translation/translator';
import { Operation } from '../../vmm-core/isa/operations';
import { HOT_THRESHOLD, HOTNESS_MASK, LOOP_WEIGHT } from '../../vmm-core/cpu/interpreter';
import { ProgramBuilder, SeededRandom, X, createMachine, encode } from '../support/assemble';
import { seededRandom } from '../support/random';

const DATA = 0x8010_0000n;
const DATA_BYTES = 4096;

type Tier = 'interpreter' | 'auto';

/** Jumps after which these tests' short loops are translated (the default waits longer). */
const TEST_HOT_THRESHOLD = 30;

function machinesFor(program: ProgramBuilder): Record<Tier, Machine> {
  const auto = createMachine({ program, tier: 'auto' });
  auto.translation!.hotThreshold = TEST_HOT_THRESHOLD;
  return { interpreter: createMachine({ program, tier: 'interpreter' }), auto };
}

/** Everything a translated instruction can change: pc, x registers, instret, and the data page. */
function state(machine: Machine): { pc: bigint; registers: bigint[]; instret: number; data: string } {
  const hart = machine.harts[0];
  const data = machine.readPhysical(DATA, DATA_BYTES)!;
  return {
    pc: hart.pc,
    registers: Array.from({ length: 32 }, (_, index) => hart.readRegister(index)),
    instret: hart.instructionsRetired,
    data: Buffer.from(data).toString('hex'),
  };
}

/** Runs `program` on both tiers to its exit; they must end in the same state. Returns the auto tier's machine. */
function runBothAlike(program: ProgramBuilder): Machine {
  const machines = machinesFor(program);
  runToExit(machines.interpreter);
  runToExit(machines.auto);
  assert.deepEqual(state(machines.auto), state(machines.interpreter));
  return machines.auto;
}

/** More than `fraction` of the instructions the machine retired ran as translated code. */
function assertMostlyTranslated(machine: Machine, fraction: number): void {
  const translated = machine.translation!.statistics.instructionsTranslated;
  const retired = machine.harts[0].instructionsRetired;
  assert.ok(translated > fraction * retired, `only ${translated} of ${retired} instructions ran translated`);
}

function runToExit(machine: Machine): void {
  const result = machine.run(50_000_000);
  assert.equal(result.kind, 'exit', 'program did not finish');
  if (result.kind === 'exit') assert.equal(result.exit.kind === 'error' ? result.exit.message : result.exit.code, 0);
}

/** Ends the program through the test finisher with code 0. */
function exitPass(program: ProgramBuilder): void {
  program.li(X.t0, TEST_FINISHER.base).li(X.t1, 0x5555).emit('sw', { rs1: X.t0, rs2: X.t1, imm: 0 });
  program.label('hang').emit('jal', { rd: 0 }, 'hang');
}

/** Runs both machines in slices of many lengths, comparing their state after each, to the exit. */
function runSlicesAlike(machines: Record<Tier, Machine>): void {
  const budgets = [1, 2, 3, 5, 7, 11, 13, 47, 48, 49, 50, 51, 97, 200, 1000];
  for (let round = 0; ; round++) {
    const budget = budgets[round % budgets.length];
    const interpreter = machines.interpreter.run(budget);
    const auto = machines.auto.run(budget);
    assert.equal(auto.kind, interpreter.kind);
    assert.deepEqual(state(machines.auto), state(machines.interpreter), `round ${round}, budget ${budget}`);
    if (interpreter.kind === 'exit') break;
  }
}

/**
 * A loop of 100 iterations that then patches its first instruction to add 1000 instead of 1
 * (a store, then fence.i), and runs again: on both machines `machinesOf` builds, which must end
 * alike with the patched sum. Returns the auto tier's machine.
 */
function runPatchedLoopAlike(machinesOf: (program: ProgramBuilder) => Record<Tier, Machine>): Machine {
  const program = new ProgramBuilder();
  program.li(X.a0, 0).li(X.s1, 2);
  program.label('outer').li(X.t2, 100);
  program.label('loop').label('patched').emit('addi', { rd: X.a0, rs1: X.a0, imm: 1 });
  program.emit('addi', { rd: X.t2, rs1: X.t2, imm: -1 }).emit('bne', { rs1: X.t2, rs2: X.zero }, 'loop');
  program.la(X.t0, 'patched').li(X.t1, encode('addi', { rd: X.a0, rs1: X.a0, imm: 1000 }));
  program.emit('sw', { rs1: X.t0, rs2: X.t1, imm: 0 }).emit('fence.i');
  program.emit('addi', { rd: X.s1, rs1: X.s1, imm: -1 }).emit('bne', { rs1: X.s1, rs2: X.zero }, 'outer');
  exitPass(program);
  const machines = machinesOf(program);
  runToExit(machines.interpreter);
  runToExit(machines.auto);
  assert.equal(machines.auto.harts[0].readRegister(X.a0), 100n + 100n * 1000n);
  assert.deepEqual(state(machines.auto), state(machines.interpreter));
  return machines.auto;
}

/**
 * Walks a pointer up by 4 KiB per iteration until it leaves RAM: a load access fault on the
 * instruction in the middle of the loop body; the handler records mepc, mtval, mcause,
 * minstret. Both machines must take it alike. Returns the auto tier's machine.
 */
function runFaultingLoadAlike(machinesOf: (program: ProgramBuilder) => Record<Tier, Machine>): Machine {
  const program = new ProgramBuilder();
  program.la(X.t0, 'handler').csrw(Csr.Mtvec, X.t0);
  program.li(X.a1, 0x8000_0000n).li(X.a2, 0);
  program.label('loop');
  program.emit('addi', { rd: X.a2, rs1: X.a2, imm: 1 });
  program.emit('ld', { rd: X.a3, rs1: X.a1, imm: 8 });
  program.emit('add', { rd: X.a4, rs1: X.a4, rs2: X.a3 });
  program.li(X.t1, 0x1000).emit('add', { rd: X.a1, rs1: X.a1, rs2: X.t1 });
  program.emit('jal', { rd: 0 }, 'loop');
  program.label('handler');
  program.csrr(X.s2, Csr.Mepc).csrr(X.s3, Csr.Mtval).csrr(X.s4, Csr.Mcause).csrr(X.s5, Csr.Minstret);
  exitPass(program);
  const machines = machinesOf(program);
  runToExit(machines.interpreter);
  runToExit(machines.auto);
  const hart = machines.auto.harts[0];
  assert.equal(hart.readRegister(X.s4), 5n, 'load access fault');
  assert.equal(hart.readRegister(X.s3), 0x8000_0000n + 8n * 1024n * 1024n + 8n);
  assert.deepEqual(state(machines.auto), state(machines.interpreter));
  return machines.auto;
}

const EDGE_VALUES = [
  0n, 1n, -1n, 2n, 0x7fffffffn, 0x80000000n, -0x80000000n, 0xffffffffn, 0x100000000n,
  (1n << 63n) - 1n, -(1n << 63n), 0x123456789abcdef0n, -0x5555555555555556n, 63n, 64n, 31n, 32n,
];

const REGISTER_FORMS = [
  'add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and',
  'addw', 'subw', 'sllw', 'srlw', 'sraw',
  'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu', 'mulw', 'divw', 'divuw', 'remw', 'remuw',
  'sh1add', 'sh2add', 'sh3add', 'add.uw', 'sh1add.uw', 'sh2add.uw', 'sh3add.uw',
  'andn', 'orn', 'xnor', 'max', 'maxu', 'min', 'minu', 'rol', 'ror', 'rolw', 'rorw',
  'bclr', 'bext', 'binv', 'bset',
];
const IMMEDIATE_FORMS = ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'addiw'];
const SHIFT_FORMS: Array<[string, number]> = [
  ['slli', 64], ['srli', 64], ['srai', 64], ['slliw', 32], ['srliw', 32], ['sraiw', 32], ['rori', 64], ['roriw', 32],
  ['slli.uw', 64], ['bclri', 64], ['bexti', 64], ['binvi', 64], ['bseti', 64],
];
const UNARY_FORMS = ['clz', 'ctz', 'cpop', 'clzw', 'ctzw', 'cpopw', 'sext.b', 'sext.h', 'zext.h'];
const LOAD_FORMS: Array<[string, number]> = [['lb', 1], ['lbu', 1], ['lh', 2], ['lhu', 2], ['lw', 4], ['lwu', 4], ['ld', 8]];
const STORE_FORMS: Array<[string, number]> = [['sb', 1], ['sh', 2], ['sw', 4], ['sd', 8]];
const BRANCH_FORMS = ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'];
const ATOMIC_FORMS: Array<[string, number]> = [
  ...['amoswap', 'amoadd', 'amoxor', 'amoand', 'amoor', 'amomin', 'amomax', 'amominu', 'amomaxu'].flatMap(
    (name): Array<[string, number]> => [[`${name}.w`, 4], [`${name}.d`, 8]]),
];

/** Registers the random bodies use: a0..a7, s2..s11, t3..t6 (s0 holds the data page, s1 counts iterations). */
const WORK_REGISTERS = [X.a0, X.a1, X.a2, X.a3, X.a4, X.a5, X.a6, X.a7, X.s2, X.s3, X.s4, X.s5, X.s6, X.s7, X.s8, X.s9, X.s10, X.s11, X.t3, X.t4, X.t5, X.t6];

/** A seeded program: registers from edge and random values, then a loop of random translated operations. */
function randomProgram(seed: number, iterations: number): ProgramBuilder {
  const random = new SeededRandom(BigInt(seed) * 0x9e3779b97f4a7c15n);
  const program = new ProgramBuilder();
  const register = (): number => random.pick(WORK_REGISTERS);
  const destination = (): number => (random.below(16) === 0 ? X.zero : register());
  for (const work of WORK_REGISTERS) {
    program.li(work, random.below(2) === 0 ? random.pick(EDGE_VALUES) : BigInt.asIntN(64, random.next64()));
  }
  program.li(X.s0, DATA + 2048n).li(X.s1, iterations);
  program.label('loop');
  let skips = 0;
  for (let index = 0; index < 48; index++) {
    const kind = random.below(12);
    if (kind <= 3) {
      program.emit(random.pick(REGISTER_FORMS), { rd: destination(), rs1: register(), rs2: register() });
    } else if (kind === 4) {
      program.emit(random.pick(IMMEDIATE_FORMS), { rd: destination(), rs1: register(), imm: random.below(4096) - 2048 });
    } else if (kind === 5) {
      const [mnemonic, limit] = random.pick(SHIFT_FORMS);
      program.emit(mnemonic, { rd: destination(), rs1: register(), imm: random.below(limit) });
    } else if (kind === 6) {
      program.emit(random.pick(UNARY_FORMS), { rd: destination(), rs1: register() });
    } else if (kind === 7) {
      // Any alignment within the data page, misaligned ones included.
      const [mnemonic, width] = random.pick(LOAD_FORMS);
      program.emit(mnemonic, { rd: destination(), rs1: X.s0, imm: random.below(DATA_BYTES - width + 1) - 2048 });
    } else if (kind === 8) {
      const [mnemonic, width] = random.pick(STORE_FORMS);
      program.emit(mnemonic, { rs1: X.s0, rs2: register(), imm: random.below(DATA_BYTES - width + 1) - 2048 });
    } else if (kind === 9) {
      program.emit(random.below(2) === 0 ? 'lui' : 'auipc', { rd: destination(), imm: random.below(1 << 20) });
    } else if (kind === 10 && random.below(3) === 0) {
      // An atomic at an aligned address in the data page.
      const [mnemonic, width] = random.pick(ATOMIC_FORMS);
      program.emit('addi', { rd: X.t1, rs1: X.s0, imm: (random.below(DATA_BYTES / width) * width) - 2048 });
      if (random.below(3) === 0) {
        // An LR/SC pair (the SC fails when another SC or a trap came between).
        const double = width === 8 ? 'd' : 'w';
        program.emit(`lr.${double}`, { rd: destination(), rs1: X.t1 });
        if (random.below(2) === 0) program.emit(`sc.${double}`, { rd: destination(), rs1: X.t1, rs2: register() });
        program.emit(`sc.${double}`, { rd: destination(), rs1: X.t1, rs2: register() });
      } else {
        program.emit(mnemonic, { rd: destination(), rs1: X.t1, rs2: register() });
      }
    } else if (kind === 10) {
      // A forward branch over one to three instructions: two blocks chained in the region.
      const label = `skip${skips++}`;
      program.emit(random.pick(BRANCH_FORMS), { rs1: register(), rs2: register() }, label);
      for (let skipped = 1 + random.below(3); skipped > 0; skipped--) {
        program.emit('addi', { rd: register(), rs1: register(), imm: random.below(4096) - 2048 });
      }
      program.label(label);
    } else {
      const compressed = random.pick(['c.add', 'c.mv', 'c.addi', 'c.slli']);
      const rd = random.pick(WORK_REGISTERS);
      if (compressed === 'c.add' || compressed === 'c.mv') program.emit(compressed, { rd, rs1: rd, rs2: random.pick(WORK_REGISTERS) });
      else program.emit(compressed, { rd, rs1: rd, imm: compressed === 'c.slli' ? 1 + random.below(63) : random.below(63) - 31 || 1 });
    }
  }
  program.emit('addi', { rd: X.s1, rs1: X.s1, imm: -1 });
  program.emit('bne', { rs1: X.s1, rs2: X.zero }, 'loop');
  // A jal/jalr pair: a call into the same page and the return.
  program.emit('jal', { rd: X.ra }, 'function');
  exitPass(program);
  program.label('function').emit('xori', { rd: X.a0, rs1: X.a0, imm: 0x5a5 }).emit('jalr', { rd: X.zero, rs1: X.ra, imm: 0 });
  return program;
}

describe('translation tier: the same machine as the interpreter', () => {
  it('random programs of every translated operation leave identical registers, memory and counts', () => {
    for (let seed = 1; seed <= 24; seed++) {
      const machines = machinesFor(randomProgram(seed, 200));
      runToExit(machines.interpreter);
      runToExit(machines.auto);
      assert.deepEqual(state(machines.auto), state(machines.interpreter), `seed ${seed}`);
      const statistics = machines.auto.translation!.statistics;
      assert.ok(statistics.instructionsTranslated > machines.auto.harts[0].instructionsRetired / 2,
        `seed ${seed}: only ${statistics.instructionsTranslated} of ${machines.auto.harts[0].instructionsRetired} instructions ran translated`);
    }
  });

  it('slices of any length end on the same instruction as on the interpreter', () => {
    const machines = machinesFor(randomProgram(77, 500));
    runSlicesAlike(machines);
    const statistics = machines.auto.translation!.statistics;
    assert.ok(statistics.instructionsTranslated > machines.auto.harts[0].instructionsRetired / 2 && statistics.regionRuns > 20);
  });

  it('a store into a translated loop (then fence.i) runs the new instruction', () => {
    const machine = runPatchedLoopAlike(machinesFor);
    assert.ok(machine.translation!.statistics.invalidatedPages >= 1);
  });

  it('debugger and device writes into translated code take effect at once', () => {
    const program = new ProgramBuilder();
    program.li(X.a0, 0).li(X.t2, 1_000_000);
    program.label('loop').label('patched').emit('addi', { rd: X.a0, rs1: X.a0, imm: 1 });
    program.emit('addi', { rd: X.t2, rs1: X.t2, imm: -1 }).emit('bne', { rs1: X.t2, rs2: X.zero }, 'loop');
    exitPass(program);
    const patchAddress = program.address('patched');
    const plusSeven = encode('addi', { rd: X.a0, rs1: X.a0, imm: 7 });
    const plusThree = encode('addi', { rd: X.a0, rs1: X.a0, imm: 3 });
    const machines = machinesFor(program);
    for (const machine of Object.values(machines)) {
      assert.equal(machine.run(30_000).kind, 'budget');
      // The debugger's write (Machine.writePhysical), then a device's (DMA through GuestMemory).
      assert.ok(machine.writePhysical(patchAddress, Uint8Array.of(plusSeven, plusSeven >>> 8, plusSeven >>> 16, plusSeven >>> 24)));
      assert.equal(machine.run(30_000).kind, 'budget');
      machine.guestMemory.write(Number(patchAddress), Uint8Array.of(plusThree, plusThree >>> 8, plusThree >>> 16, plusThree >>> 24));
      runToExit(machine);
    }
    assert.deepEqual(state(machines.auto), state(machines.interpreter));
    // 10,000 iterations (3 instructions each, after 5 of setup) at +1, 10,000 at +7, the rest at +3.
    assert.ok(machines.auto.translation!.statistics.invalidatedPages >= 2);
    assert.equal(machines.auto.harts[0].readRegister(X.a0), machines.interpreter.harts[0].readRegister(X.a0));
  });

  it('a load that faults in the middle of a translated block traps with the interpreter\'s pc, tval and count', () => {
    const machine = runFaultingLoadAlike(machinesFor);
    // Each iteration's load misses the TLB (a new page), so only the instruction before it runs translated.
    assert.ok(machine.translation!.statistics.instructionsTranslated > 50);
  });

  it('atomics run translated: LR/SC retry loops and AMOs count as on the interpreter; a misaligned AMO traps the same', () => {
    const program = new ProgramBuilder();
    program.la(X.t0, 'handler').csrw(Csr.Mtvec, X.t0);
    program.li(X.a1, DATA).li(X.t2, 1).li(X.s1, 1000).li(X.a0, -5);
    program.label('loop');
    program.emit('amoadd.d', { rd: X.a2, rs1: X.a1, rs2: X.t2 });
    program.emit('addi', { rd: X.a5, rs1: X.a1, imm: 8 });
    program.label('retry');
    program.emit('lr.d', { rd: X.a3, rs1: X.a5 });
    program.emit('addi', { rd: X.a3, rs1: X.a3, imm: 3 });
    program.emit('sc.d', { rd: X.a4, rs1: X.a5, rs2: X.a3 });
    program.emit('bne', { rs1: X.a4, rs2: X.zero }, 'retry');
    program.emit('addi', { rd: X.a5, rs1: X.a1, imm: 16 });
    program.emit('sc.w', { rd: X.a6, rs1: X.a5, rs2: X.a0 }); // no reservation: fails, stores nothing
    program.emit('amominu.w', { rd: X.a7, rs1: X.a5, rs2: X.a0 });
    program.emit('amomax.w', { rd: X.s2, rs1: X.a5, rs2: X.s1 });
    program.emit('amoswap.w', { rd: X.s3, rs1: X.a5, rs2: X.s1 });
    program.emit('addi', { rd: X.a0, rs1: X.a0, imm: 7 });
    program.emit('addi', { rd: X.s1, rs1: X.s1, imm: -1 }).emit('bne', { rs1: X.s1, rs2: X.zero }, 'loop');
    program.emit('addi', { rd: X.t1, rs1: X.a1, imm: 3 });
    program.emit('amoadd.w', { rd: X.a2, rs1: X.t1, rs2: X.t2 });
    program.label('handler');
    program.csrr(X.s4, Csr.Mcause).csrr(X.s5, Csr.Mtval).csrr(X.s6, Csr.Minstret);
    exitPass(program);
    const machine = runBothAlike(program);
    const hart = machine.harts[0];
    assert.equal(hart.readRegister(X.s4), 6n, 'store/AMO address misaligned');
    assert.equal(hart.readRegister(X.s5), DATA + 3n);
    assert.equal(hart.readRegister(X.a6), 1n, 'sc.w without a reservation fails');
    const data = machine.readPhysical(DATA, 24)!;
    const view = new DataView(data.buffer, data.byteOffset);
    assert.equal(view.getBigUint64(0, true), 1000n, 'amoadd.d counted every iteration');
    assert.equal(view.getBigUint64(8, true), 3000n, 'every LR/SC increment landed');
    // (The first hundred iterations run before the loop is hot and compiled.)
    assertMostlyTranslated(machine, 0.85);
  });

  it('translated code resumes right after an instruction it leaves to the interpreter', () => {
    // A CSR read in the middle of the loop: the region holds the blocks before and after it, and
    // the run loop steps the CSR read alone on the interpreter before entering the next block.
    const program = new ProgramBuilder();
    program.li(X.s1, 2000).li(X.a0, 0);
    program.label('loop');
    program.emit('addi', { rd: X.a0, rs1: X.a0, imm: 1 }).emit('xori', { rd: X.a1, rs1: X.a0, imm: 5 });
    program.label('read').csrr(X.a2, Csr.Mscratch);
    program.label('after');
    for (let index = 0; index < 20; index++) program.emit('addi', { rd: X.a3, rs1: X.a3, imm: index });
    program.emit('addi', { rd: X.s1, rs1: X.s1, imm: -1 }).emit('bne', { rs1: X.s1, rs2: X.zero }, 'loop');
    exitPass(program);
    const machine = runBothAlike(program);
    assertMostlyTranslated(machine, 0.85);
    const page = machine.readPhysical(program.address('loop') & ~0xfffn, 4096)!;
    const halfwords = new Uint16Array(page.buffer, page.byteOffset, 2048);
    const plan = planRegion(halfwords, 0, Number(program.address('loop')) & 0xfff, DEFAULT_CPU_MODEL.extensionMask)!;
    assert.ok(plan.blocks.some((block) => block.start === (Number(program.address('after')) & 0xfff)), 'a block starts after the CSR read');
  });

  it('a loop running off the end of a page into the next runs translated on both pages', () => {
    // Only the loop's head is a jump target; the code on the second page is reached by running
    // off the first page's region, which the run loop counts as a jump there.
    const build = (padding: number): ProgramBuilder => {
      const program = new ProgramBuilder();
      program.li(X.s1, 2000).li(X.a0, 0);
      for (let index = 0; index < padding; index++) program.emit('addi', { rd: X.zero, rs1: X.zero, imm: 0 });
      program.label('loop');
      for (let index = 0; index < 30; index++) program.emit('addi', { rd: X.a0, rs1: X.a0, imm: index + 1 });
      program.emit('addi', { rd: X.s1, rs1: X.s1, imm: -1 }).emit('bne', { rs1: X.s1, rs2: X.zero }, 'loop');
      exitPass(program);
      return program;
    };
    // Padding that puts the page boundary after the loop's 15th instruction.
    const start = Number(build(0).address('loop'));
    const padding = ((0x1000 - ((start + 15 * 4) & 0xfff)) & 0xfff) / 4;
    const program = build(padding);
    const loop = Number(program.address('loop'));
    assert.equal((loop + 15 * 4) & 0xfff, 0, 'the loop straddles a page boundary');
    const machine = runBothAlike(program);
    assertMostlyTranslated(machine, 0.85);
  });

  it('a code breakpoint set in a loop that runs translated stops there, as on the interpreter', () => {
    const program = new ProgramBuilder();
    program.li(X.a0, 0).li(X.t2, 100_000);
    program.label('loop').emit('addi', { rd: X.a0, rs1: X.a0, imm: 1 });
    program.label('target').emit('xori', { rd: X.a1, rs1: X.a0, imm: 3 });
    program.emit('addi', { rd: X.t2, rs1: X.t2, imm: -1 }).emit('bne', { rs1: X.t2, rs2: X.zero }, 'loop');
    exitPass(program);
    const stops: Array<{ pc: bigint; instret: number; a0: bigint }> = [];
    for (const machine of Object.values(machinesFor(program))) {
      const debug = new Debugger(machine);
      assert.equal(debug.continue(20_003), undefined);
      debug.addCodeBreakpoint({ address: program.address('target') });
      const stop = debug.continue();
      assert.equal(stop?.reason, 'breakpoint');
      stops.push({ pc: machine.harts[0].pc, instret: machine.harts[0].instructionsRetired, a0: machine.harts[0].readRegister(X.a0) });
      if (machine.translation !== null) assert.ok(machine.translation.statistics.instructionsTranslated > 10_000);
    }
    assert.deepEqual(stops[1], stops[0]);
    assert.equal(stops[0].pc, program.address('target'));
  });

  it('a hot loop is compiled once and its region reused on every later entry', () => {
    const machines = machinesFor(randomProgram(5, 400));
    runToExit(machines.auto);
    const statistics = machines.auto.translation!.statistics;
    assert.ok(statistics.regionsCompiled >= 1 && statistics.regionsCompiled < 10, `${statistics.regionsCompiled} regions for one loop`);
  });

  it('any page of guest bytes plans and compiles to valid WebAssembly (fuzz)', () => {
    // The generator reads guest memory: random words, random halfwords (compressed forms) and
    // real code with bytes flipped must give a region or none, never an error or invalid Wasm.
    const next = seededRandom(0x7a1e);
    const page = new Uint16Array(4096);
    const real = Uint16Array.from(randomProgram(3, 10).words().flatMap((word) => ((word & 3) === 3 ? [word & 0xffff, word >>> 16] : [word])));
    let compiled = 0;
    const WebAssemblyModule = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object } }).WebAssembly.Module;
    for (let round = 0; round < 300; round++) {
      for (let index = 0; index < page.length; index++) {
        const kind = round % 3;
        page[index] = kind === 0 ? next() & 0xffff : kind === 1 ? (next() & 0xfffc) | (next() & 1) : real[index % real.length];
      }
      if (round % 3 === 2) for (let flips = 0; flips < 40; flips++) page[next() % 2048] ^= 1 << (next() % 16);
      const pageRamOffset = (round % 2) * 4096;
      const entry = (next() % 2048) * 2;
      const plan = planRegion(page, pageRamOffset, entry, DEFAULT_CPU_MODEL.extensionMask);
      if (plan === undefined) continue;
      const bytes = generateRegionsModule([plan], 160, 0x200000, 0x8000_0000);
      assert.doesNotThrow(() => new WebAssemblyModule(bytes), `round ${round}`);
      compiled++;
    }
    assert.ok(compiled > 100, `only ${compiled} of 300 pages had a translatable entry`);
  });
});

/**
 * Runs `machine` to its exit as the CLI does with background compilation: slices, with a turn
 * of the event loop between them (where compiled batches come in). Until `ready` holds it runs
 * short slices and waits a little between them (a worker started from TypeScript sources takes
 * a while to come up), failing after 60 s.
 */
async function runYieldingToExit(machine: Machine, ready: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const waiting = !ready();
    const result = machine.run(waiting ? 2_000 : 200_000);
    if (result.kind === 'exit') {
      assert.equal(result.exit.kind === 'error' ? result.exit.message : result.exit.code, 0);
      return;
    }
    await new Promise((resolve) => (waiting ? setTimeout(resolve, 5) : setImmediate(resolve)));
  }
  assert.fail('program did not finish within 60 s');
}

describe('translation tier: background compilation', () => {
  it('batches compiled on V8\'s threads are installed between slices: the same machine, mostly translated', async () => {
    const machines = machinesFor(randomProgram(11, 40_000));
    runToExit(machines.interpreter);
    machines.auto.translation!.backgroundCompilation = true;
    await runYieldingToExit(machines.auto);
    assert.deepEqual(state(machines.auto), state(machines.interpreter));
    assert.equal(machines.auto.translation!.statistics.modulesFromWorker, 0);
    assertMostlyTranslated(machines.auto, 0.5);
  });

  it('the compile worker generates and compiles batches on its own thread: the same machine, mostly translated', async () => {
    const machines = machinesFor(randomProgram(12, 40_000));
    runToExit(machines.interpreter);
    const tier = machines.auto.translation!;
    tier.backgroundCompilation = true;
    tier.useCompileWorker(startCompileWorker());
    try {
      await runYieldingToExit(machines.auto, () => tier.statistics.modulesFromWorker > 0);
    } finally {
      tier.stopCompileWorker();
    }
    assert.deepEqual(state(machines.auto), state(machines.interpreter));
    assert.ok(tier.statistics.modulesFromWorker > 0, 'no module came from the worker');
    assertMostlyTranslated(machines.auto, 0.5);
  });

  it('when the compile worker goes away, its batches and later ones are compiled on this thread', async () => {
    const machines = machinesFor(randomProgram(13, 40_000));
    runToExit(machines.interpreter);
    const tier = machines.auto.translation!;
    tier.backgroundCompilation = true;
    const worker = startCompileWorker();
    tier.useCompileWorker(worker);
    // Hot regions are sent to the worker at once; then it ends before answering.
    assert.equal(machines.auto.run(50_000).kind, 'budget');
    assert.ok(tier.compilationsInFlight > 0, 'nothing was sent to the worker');
    await worker.terminate();
    await runYieldingToExit(machines.auto);
    assert.deepEqual(state(machines.auto), state(machines.interpreter));
    assert.equal(tier.statistics.modulesFromWorker, 0);
    assertMostlyTranslated(machines.auto, 0.5);
  });

  it('a compile worker stopped with batches in flight drops them: their regions are planned and compiled again', async () => {
    const machines = machinesFor(randomProgram(14, 40_000));
    runToExit(machines.interpreter);
    const tier = machines.auto.translation!;
    tier.backgroundCompilation = true;
    tier.useCompileWorker(startCompileWorker());
    assert.equal(machines.auto.run(50_000).kind, 'budget');
    assert.ok(tier.compilationsInFlight > 0, 'nothing was sent to the worker');
    tier.stopCompileWorker();
    assert.equal(tier.compilationsInFlight, 0);
    await runYieldingToExit(machines.auto);
    assert.deepEqual(state(machines.auto), state(machines.interpreter));
    assert.equal(tier.statistics.modulesFromWorker, 0);
    assertMostlyTranslated(machines.auto, 0.5);
  });
});

/** Both tiers, the auto one with a threshold these programs never reach: what it runs, the interpreter core runs. */
function coreMachinesFor(program: ProgramBuilder): Record<Tier, Machine> {
  const auto = createMachine({ program, tier: 'auto' });
  auto.translation!.hotThreshold = 60_000;
  return { interpreter: createMachine({ program, tier: 'interpreter' }), auto };
}

function assertMostlyInCore(machine: Machine, fraction: number): void {
  const statistics = machine.translation!.statistics;
  const retired = machine.harts[0].instructionsRetired;
  assert.equal(statistics.instructionsTranslated, 0, 'no region should have run');
  assert.ok(statistics.instructionsInCore > fraction * retired, `only ${statistics.instructionsInCore} of ${retired} instructions ran in the core`);
}

describe('translation tier: the interpreter core (interpreter-core.ts)', () => {
  it('is a valid WebAssembly module that runs only operations it has code for', () => {
    const validate = (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly.validate;
    assert.ok(validate(generateInterpreterCoreModule()));
    for (const operation of CORE_OPERATIONS) assert.ok(operation > Operation.Illegal && operation < Operation.Count);
    // Sensitive instructions always leave to the interpreter (and from there to the monitor).
    for (const sensitive of [Operation.Csrrw, Operation.Ecall, Operation.Mret, Operation.SfenceVma, Operation.FenceI, Operation.Wfi]) {
      assert.ok(!CORE_OPERATIONS.has(sensitive));
    }
  });

  it('random programs of every operation leave the interpreter\'s registers, memory and counts', () => {
    for (let seed = 1; seed <= 24; seed++) {
      const machines = coreMachinesFor(randomProgram(seed, 200));
      runToExit(machines.interpreter);
      runToExit(machines.auto);
      assert.deepEqual(state(machines.auto), state(machines.interpreter), `seed ${seed}`);
      assertMostlyInCore(machines.auto, 0.5);
    }
  });

  it('slices of any length end on the same instruction as on the interpreter', () => {
    const machines = coreMachinesFor(randomProgram(78, 300));
    runSlicesAlike(machines);
    assertMostlyInCore(machines.auto, 0.5);
  });

  it('every operation it runs gives the interpreter\'s result on every pair of edge values', () => {
    // The edge values in the data page; for each pair (a0, a1), every register form, the
    // immediate forms on a0, and each result folded into s2 (s2 = s2 * 31 + result).
    const program = new ProgramBuilder();
    program.li(X.s0, DATA);
    EDGE_VALUES.forEach((value, index) => program.li(X.t0, value).emit('sd', { rs1: X.s0, rs2: X.t0, imm: index * 8 }));
    const fold = (): void => {
      program.emit('mul', { rd: X.s2, rs1: X.s2, rs2: X.s5 }).emit('add', { rd: X.s2, rs1: X.s2, rs2: X.a2 });
    };
    program.li(X.s5, 31).li(X.s2, 0).li(X.s3, 0);
    program.label('outer').li(X.s4, 0);
    program.label('inner');
    program.emit('add', { rd: X.t0, rs1: X.s0, rs2: X.s3 }).emit('ld', { rd: X.a0, rs1: X.t0, imm: 0 });
    program.emit('add', { rd: X.t0, rs1: X.s0, rs2: X.s4 }).emit('ld', { rd: X.a1, rs1: X.t0, imm: 0 });
    const registerForms = ['add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and', 'addw', 'subw', 'sllw', 'srlw', 'sraw',
      'mul', 'mulw', 'div', 'divu', 'rem', 'remu', 'divw', 'divuw', 'remw', 'remuw'];
    for (const form of registerForms) {
      program.emit(form, { rd: X.a2, rs1: X.a0, rs2: X.a1 });
      fold();
    }
    for (const [form, immediate] of [['addi', -1], ['slti', -5], ['sltiu', -5], ['xori', -1], ['ori', 0x555], ['andi', -16], ['addiw', 0x7ff],
      ['slli', 63], ['srli', 1], ['srai', 33], ['slliw', 31], ['srliw', 0], ['sraiw', 31]] as Array<[string, number]>) {
      program.emit(form, { rd: X.a2, rs1: X.a0, imm: immediate });
      fold();
    }
    program.emit('addi', { rd: X.s4, rs1: X.s4, imm: 8 }).li(X.t1, EDGE_VALUES.length * 8).emit('bne', { rs1: X.s4, rs2: X.t1 }, 'inner');
    program.emit('addi', { rd: X.s3, rs1: X.s3, imm: 8 }).emit('bne', { rs1: X.s3, rs2: X.t1 }, 'outer');
    // jalr clears bit 0 of its target.
    program.la(X.t0, 'odd').emit('jalr', { rd: X.ra, rs1: X.t0, imm: 1 });
    program.emit('addi', { rd: X.s2, rs1: X.s2, imm: 1 });
    program.label('odd').emit('addi', { rd: X.s2, rs1: X.s2, imm: 2 });
    exitPass(program);
    const machines = coreMachinesFor(program);
    runToExit(machines.interpreter);
    runToExit(machines.auto);
    assert.deepEqual(state(machines.auto), state(machines.interpreter));
    assertMostlyInCore(machines.auto, 0.9);
  });

  it('counts a loop\'s back edge LOOP_WEIGHT times and a call once, as the interpreter does', () => {
    const program = new ProgramBuilder();
    program.li(X.a0, 0).li(X.s1, 1000);
    program.label('loop').emit('addi', { rd: X.a0, rs1: X.a0, imm: 3 });
    program.emit('addi', { rd: X.s1, rs1: X.s1, imm: -1 }).emit('bne', { rs1: X.s1, rs2: X.zero }, 'loop');
    for (let call = 0; call < 500; call++) program.emit('jal', { rd: X.ra }, 'function');
    exitPass(program);
    program.label('function').emit('addi', { rd: X.a1, rs1: X.a1, imm: 1 }).emit('jalr', { rd: X.zero, rs1: X.ra, imm: 0 });
    const count = (machine: Machine, label: string): number => machine.translation!.hotness[(Number(program.address(label)) >>> 1) & HOTNESS_MASK];
    for (const coreEnabled of [true, false]) {
      const machine = createMachine({ program, tier: 'auto' });
      machine.translation!.coreEnabled = coreEnabled;
      runToExit(machine);
      assert.equal(machine.translation!.statistics.regionsCompiled, 0, 'nothing reaches the default threshold');
      assert.equal(count(machine, 'loop'), 999 * LOOP_WEIGHT, `core ${coreEnabled}`);
      assert.equal(count(machine, 'function'), 500, `core ${coreEnabled}`);
      assert.equal(machine.translation!.statistics.instructionsInCore > 0, coreEnabled);
    }
  });

  it('a loop alone is translated within a few times HOT_THRESHOLD / LOOP_WEIGHT iterations', () => {
    const program = new ProgramBuilder();
    program.li(X.a0, 0).li(X.s1, 4 * HOT_THRESHOLD / LOOP_WEIGHT);
    program.label('loop').emit('addi', { rd: X.a0, rs1: X.a0, imm: 3 });
    program.emit('addi', { rd: X.s1, rs1: X.s1, imm: -1 }).emit('bne', { rs1: X.s1, rs2: X.zero }, 'loop');
    exitPass(program);
    const machine = createMachine({ program, tier: 'auto' });
    runToExit(machine);
    // A lone region waits for company in its batch until its third hot entry.
    assert.ok(machine.translation!.statistics.instructionsTranslated > HOT_THRESHOLD / LOOP_WEIGHT);
  });

  it('random guest bytes run in the core exactly as in the interpreter (fuzz)', () => {
    // A page of random halfwords (compressed and 32-bit forms, illegal ones, loads and stores to
    // wherever the registers point) run from its start; every trap goes to a handler that jumps
    // back into the page at a random place, so the run goes on through many decodings.
    const next = seededRandom(0xc0de);
    let inCore = 0, traps = 0;
    for (let round = 0; round < 40; round++) {
      const program = new ProgramBuilder();
      program.la(X.t0, 'handler').csrw(Csr.Mtvec, X.t0);
      program.li(X.s0, DATA).la(X.s1, 'garbage');
      for (const work of WORK_REGISTERS) program.li(work, round % 2 === 0 ? DATA + BigInt(next() % 4096) : BigInt(next() | 0));
      program.emit('jalr', { rd: X.zero, rs1: X.s1, imm: 0 });
      // The handler: resume at a random even offset of the page (s1 + mcause * 64 + mepc bits).
      program.label('handler').csrr(X.t1, Csr.Mcause).csrr(X.t2, Csr.Mepc);
      program.emit('slli', { rd: X.t1, rs1: X.t1, imm: 6 }).emit('add', { rd: X.t1, rs1: X.t1, rs2: X.t2 });
      program.emit('andi', { rd: X.t1, rs1: X.t1, imm: 0x7fe }).emit('add', { rd: X.t1, rs1: X.t1, rs2: X.s1 });
      program.csrw(Csr.Mepc, X.t1).emit('mret');
      program.label('garbage');
      for (let index = 0; index < 1024; index++) program.emit('addi', { rd: X.zero, rs1: X.zero, imm: 0 });
      const machines = coreMachinesFor(program);
      const garbage = new Uint8Array(4096);
      for (let index = 0; index < garbage.length; index++) garbage[index] = next() & 0xff;
      for (const machine of Object.values(machines)) assert.ok(machine.writePhysical(program.address('garbage'), garbage));
      const interpreter = machines.interpreter.run(20_000);
      const auto = machines.auto.run(20_000);
      assert.equal(auto.kind, interpreter.kind, `round ${round}`);
      assert.deepEqual(state(machines.auto), state(machines.interpreter), `round ${round}`);
      assert.equal(machines.auto.harts[0].mcauseLo, machines.interpreter.harts[0].mcauseLo, `round ${round}`);
      inCore += machines.auto.translation!.statistics.instructionsInCore;
      traps += machines.auto.harts[0].trapsTaken;
    }
    assert.ok(inCore > 40 * 5_000 && traps > 40 * 1_000, `${inCore} instructions in the core, ${traps} traps`);
  });

  it('the same machine with the core switched off: the interpreter runs everything then', () => {
    const machines = coreMachinesFor(randomProgram(5, 200));
    machines.auto.translation!.coreEnabled = false;
    runToExit(machines.interpreter);
    runToExit(machines.auto);
    assert.deepEqual(state(machines.auto), state(machines.interpreter));
    assert.equal(machines.auto.translation!.statistics.instructionsInCore, 0);
  });

  it('a store into code the core runs (then fence.i) runs the new instruction', () => {
    assertMostlyInCore(runPatchedLoopAlike(coreMachinesFor), 0.5);
  });

  it('a load that faults leaves the core: the trap has the interpreter\'s pc, tval and count', () => {
    // Every iteration's load misses the TLB (a new page): the interpreter runs it, the core the rest.
    assertMostlyInCore(runFaultingLoadAlike(coreMachinesFor), 0.5);
  });
});
