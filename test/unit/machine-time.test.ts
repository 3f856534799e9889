// Virtual time: one retired instruction is one nanosecond and mtime ticks every 100; harts that
// all wait in wfi jump to the next timer event instead of spinning; and runs are deterministic
// (identical runs retire identical counts, however the budget is split).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Machine } from '../../vmm-core/machine/machine';
import { createMachine, ProgramBuilder, X } from '../support/assemble';

const CLINT_MTIMECMP = 0x0200_4000;
const FINISHER = 0x10_0000;
const TIME = 0xc01, MIE = 0x304, MHARTID = 0xf14, MTVEC = 0x305, MEPC = 0x341;

const nops = (program: ProgramBuilder, count: number) => {
  for (let i = 0; i < count; i++) program.emit('addi', { rd: 0, rs1: 0, imm: 0 });
  return program;
};

describe('mtime', () => {
  it('advances one tick per 100 retired instructions, seen by the guest and by tools', () => {
    const program = nops(new ProgramBuilder(), 50).csrr(X.a0, TIME);
    nops(program, 999).csrr(X.a1, TIME).label('loop').emit('jal', { rd: 0 }, 'loop');
    const machine = createMachine({ program });
    const hart = machine.harts[0];
    machine.run(1051);
    assert.equal(hart.readRegister(X.a1) - hart.readRegister(X.a0), 10n, '1000 instructions apart: 10 ticks');
    for (const [total, ticks] of [[1051, 10], [1099, 10], [1100, 11], [12_345, 123]] as const) {
      machine.run(total - hart.instructionsRetired);
      assert.equal(hart.instructionsRetired, total);
      assert.equal(machine.clint.mtime(), ticks, `after ${total} instructions`);
      assert.equal(hart.virtualNanoseconds, total);
    }
  });

  it('between runs, tools see the slowest running hart (not a stale window start)', () => {
    const program = new ProgramBuilder().label('loop').emit('jal', { rd: 0 }, 'loop');
    const machine = createMachine({ program, hartCount: 2 });
    machine.run(3000, 0);
    assert.equal(machine.clint.mtime(), 0, 'hart 1 has not run yet');
    machine.run(1500, 1);
    assert.equal(machine.clint.mtime(), 15);
    const single = createMachine({ program });
    single.run(3000);
    assert.equal(single.clint.mtime(), 30);
  });
});

/** Each hart sets its own mtimecmp (300 - 100 * hartid ticks), sleeps in wfi with MIE=0, reads time on waking. */
function sleepers(hartCount: number): { machine: Machine; program: ProgramBuilder } {
  const program = new ProgramBuilder()
    .csrr(X.s0, MHARTID)
    .emit('slli', { rd: X.t1, rs1: X.s0, imm: 3 })
    .li(X.t2, CLINT_MTIMECMP)
    .emit('add', { rd: X.t2, rs1: X.t2, rs2: X.t1 })
    .emit('addi', { rd: X.t3, rs1: 0, imm: 100 })
    .emit('mul', { rd: X.t3, rs1: X.t3, rs2: X.s0 })
    .emit('addi', { rd: X.t4, rs1: 0, imm: 300 })
    .emit('sub', { rd: X.t3, rs1: X.t4, rs2: X.t3 })
    .emit('sd', { rs1: X.t2, rs2: X.t3, imm: 0 })
    .emit('addi', { rd: X.t4, rs1: 0, imm: 0x80 })
    .csrw(MIE, X.t4)
    .emit('wfi')
    .csrr(X.a0, TIME)
    .emit('bne', { rs1: X.s0, rs2: 0 }, 'spin')
    // Hart 0 ends the machine through the test finisher.
    .li(X.t0, FINISHER)
    .li(X.t1, 0x5555)
    .emit('sw', { rs1: X.t0, rs2: X.t1, imm: 0 })
    .label('spin')
    .emit('jal', { rd: 0 }, 'spin');
  return { machine: createMachine({ program, hartCount }), program };
}

describe('waiting harts', () => {
  it('one hart in wfi: time jumps to its mtimecmp and the wait retires nothing', () => {
    const { machine } = sleepers(1);
    const hart = machine.harts[0];
    const result = machine.run(1_000_000);
    assert.deepEqual(result, { kind: 'exit', exit: { kind: 'pass', code: 0, source: 'finisher' } });
    assert.equal(hart.readRegister(X.a0), 300n);
    assert.ok(hart.instructionsRetired < 40, `${hart.instructionsRetired} instructions`);
    assert.equal(hart.virtualNanoseconds >= 30_000, true);
  });

  it('two harts in wfi wake in deadline order, each at its own mtimecmp', () => {
    const { machine } = sleepers(2);
    const result = machine.run(1_000_000);
    assert.equal(result.kind, 'exit');
    assert.equal(machine.harts[1].readRegister(X.a0), 200n);
    assert.equal(machine.harts[0].readRegister(X.a0), 300n);
    assert.ok(machine.harts[0].instructionsRetired < 40, 'hart 0 slept through');
    assert.ok(machine.harts[1].instructionsRetired > 9000, 'hart 1 spun from tick 200 to 300');
  });

  it('when every hart waits and no event is pending, the run ends with an error instead of spinning', () => {
    const program = new ProgramBuilder()
      .emit('addi', { rd: X.t0, rs1: 0, imm: 0x80 })
      .csrw(MIE, X.t0)
      .label('sleep')
      .emit('wfi')
      .emit('jal', { rd: 0 }, 'sleep');
    const machine = createMachine({ program });
    const result = machine.run(1_000_000);
    assert.equal(result.kind, 'exit');
    assert.equal(result.kind === 'exit' && result.exit.kind, 'error');
  });
});

/** A compute loop interrupted by a re-armed timer (every 37 ticks); the handler counts interrupts in s1. */
function interruptedWorkload(hartCount = 1): Machine {
  const program = new ProgramBuilder()
    .la(X.t0, 'handler')
    .csrw(MTVEC, X.t0)
    .csrr(X.s0, MHARTID)
    .emit('slli', { rd: X.s2, rs1: X.s0, imm: 3 })
    .li(X.t1, CLINT_MTIMECMP)
    .emit('add', { rd: X.s2, rs1: X.s2, rs2: X.t1 }) // s2 = &mtimecmp[hartid]
    .emit('addi', { rd: X.t1, rs1: 0, imm: 37 })
    .emit('sd', { rs1: X.s2, rs2: X.t1, imm: 0 })
    .emit('addi', { rd: X.t1, rs1: 0, imm: 0x80 })
    .csrw(MIE, X.t1)
    .emit('csrrsi', { rd: 0, imm: 8, csr: 0x300 })
    .li(X.s3, 0x8010_0000) // shared counter
    .emit('addi', { rd: X.t2, rs1: 0, imm: 1 })
    .label('work')
    .emit('mul', { rd: X.a0, rs1: X.a0, rs2: X.a0 })
    .emit('addi', { rd: X.a0, rs1: X.a0, imm: 7 })
    .emit('amoadd.d', { rd: X.a1, rs1: X.s3, rs2: X.t2 })
    .emit('xor', { rd: X.a2, rs1: X.a2, rs2: X.a1 })
    .emit('jal', { rd: 0 }, 'work')
    .label('handler')
    .emit('addi', { rd: X.s1, rs1: X.s1, imm: 1 })
    .emit('ld', { rd: X.t3, rs1: X.s2, imm: 0 })
    .emit('addi', { rd: X.t3, rs1: X.t3, imm: 37 })
    .emit('sd', { rs1: X.s2, rs2: X.t3, imm: 0 })
    .csrr(X.t4, MEPC)
    .emit('mret');
  return createMachine({ program, hartCount });
}

function fingerprint(machine: Machine): string {
  return JSON.stringify({
    harts: machine.harts.map((hart) => ({
      retired: hart.instructionsRetired,
      idle: hart.idleNanoseconds,
      pc: hart.pc.toString(16),
      registers: Array.from({ length: 32 }, (_, index) => hart.readRegister(index).toString(16)),
    })),
    mtime: machine.clint.mtime(),
    counter: machine.readPhysical(0x8010_0000n, 8),
  });
}

describe('determinism', () => {
  it('identical runs retire identical counts and end in identical state', () => {
    const first = interruptedWorkload();
    const second = interruptedWorkload();
    first.run(60_000);
    second.run(60_000);
    assert.equal(fingerprint(first), fingerprint(second));
    assert.ok(first.harts[0].readRegister(X.s1) > 10n, 'the timer interrupted the loop');
  });

  it('splitting the budget does not change where interrupts land', () => {
    const whole = interruptedWorkload();
    const pieces = interruptedWorkload();
    whole.run(60_000);
    for (let i = 0; i < 60; i++) pieces.run(1_000);
    assert.equal(fingerprint(pieces), fingerprint(whole));
  });

  it('two harts sharing memory through AMOs replay identically', () => {
    const first = interruptedWorkload(2);
    const second = interruptedWorkload(2);
    first.run(80_000);
    second.run(80_000);
    assert.equal(fingerprint(first), fingerprint(second));
    assert.ok(first.harts[1].instructionsRetired > 10_000, 'hart 1 ran too');
  });
});

describe('icount shift', () => {
  it('each retired instruction takes 2^shift ns: shift 3 gives a tick per 12.5 instructions', () => {
    const program = new ProgramBuilder().label('loop').emit('jal', { rd: 0 }, 'loop');
    const machine = createMachine({ program, icountShift: 3 });
    const hart = machine.harts[0];
    for (const [total, ticks] of [[1000, 80], [1051, 84], [1063, 85], [12_345, 987]] as const) {
      machine.run(total - hart.instructionsRetired);
      assert.equal(hart.virtualNanoseconds, total * 8);
      assert.equal(machine.clint.mtime(), ticks, `after ${total} instructions`);
    }
  });

  it('a timer interrupt lands at the first instruction boundary at or after its deadline, whatever the shift', () => {
    for (const shift of [0, 2, 5]) {
      const { machine } = sleepersWithShift(1, shift);
      const result = machine.run(1_000_000);
      assert.equal(result.kind, 'exit', `shift ${shift}`);
      assert.equal(machine.harts[0].readRegister(X.a0), 300n, `shift ${shift}: woke at tick 300`);
    }
  });

  it('shifts outside 0..10 are refused with one clear error', () => {
    assert.throws(() => createMachine({ icountShift: 11 }), /icount shift must be an integer from 0 to 10, got 11/);
    assert.throws(() => createMachine({ icountShift: 1.5 }), /icount shift/);
  });
});

function sleepersWithShift(hartCount: number, icountShift: number): { machine: Machine } {
  const { program } = sleepers(1);
  return { machine: createMachine({ program, hartCount, icountShift }) };
}

describe('idle pacing', () => {
  it("in 'pace' mode a run returns 'idle' when every hart waits; the host moves time on, never past the next event", () => {
    const { program } = sleepers(1);
    const machine = createMachine({ program, idle: 'pace' });
    const hart = machine.harts[0];
    assert.deepEqual(machine.run(1_000_000), { kind: 'idle' });
    assert.equal(machine.isIdle(), true);
    assert.equal(machine.nextTimerEventNanoseconds(), 30_000, 'mtimecmp 300 ticks = 30 µs');
    const retired = hart.instructionsRetired;
    machine.advanceIdleTime(10_000);
    assert.equal(machine.virtualNanoseconds, 10_000);
    assert.deepEqual(machine.run(1_000_000), { kind: 'idle' }, 'still before the deadline');
    machine.advanceIdleTime(1e12);
    assert.equal(machine.virtualNanoseconds, 30_000, 'clamped to the timer event');
    const result = machine.run(1_000_000);
    assert.equal(result.kind, 'exit');
    assert.equal(hart.readRegister(X.a0), 300n);
    assert.ok(hart.instructionsRetired - retired < 20, 'the wait retired nothing');
  });

  it("'pace' and 'skip' reach the same state from the same program", () => {
    const { program } = sleepers(1);
    const paced = createMachine({ program, idle: 'pace' });
    const skipped = createMachine({ program, idle: 'skip' });
    skipped.run(1_000_000);
    while (paced.run(1_000_000).kind === 'idle') paced.advanceIdleTime(paced.nextTimerEventNanoseconds());
    assert.equal(fingerprint(paced), fingerprint(skipped));
  });

  it('with no timer pending, a host that may still deliver input gets idle instead of a deadlock error', () => {
    const program = new ProgramBuilder()
      .emit('addi', { rd: X.t0, rs1: 0, imm: 0x80 })
      .csrw(MIE, X.t0)
      .label('sleep')
      .emit('wfi')
      .emit('jal', { rd: 0 }, 'sleep');
    for (const idle of ['pace', 'skip'] as const) {
      const machine = createMachine({ program, idle });
      machine.externalInputPossible = () => true;
      assert.deepEqual(machine.run(1_000_000), { kind: 'idle' }, idle);
      machine.externalInputPossible = () => false;
      const result = machine.run(1_000_000);
      assert.equal(result.kind === 'exit' && result.exit.kind, 'error', idle);
    }
  });
});
