// Sstc and the environment-configuration CSRs, on the real run loop: stimecmp drives STIP as a
// level (mtime >= stimecmp) while menvcfg.STCE is set, and STIP is then read-only in mip; S-mode
// reaches stimecmp only with mcounteren.TM and STCE; an idle hart waiting for the Sstc timer
// has virtual time skipped to it; direct boot enables STCE like OpenSBI; menvcfg and senvcfg
// take the bits QEMU 7.2 lets through.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Csr, ExceptionCause, Privilege } from '../../vmm-core/cpu/csr-numbers';
import type { Machine } from '../../vmm-core/machine/machine';
import { createMachine, encode, NO_TRAP, ProgramBuilder, readCsrValue, runInstructions, X } from '../support/assemble';

const STIP = 1n << 5n;
const STCE = 1n << 63n;
const FINISHER = 0x10_0000n;

/** Appends "write 0x5555 to the test finisher" (exit 0) and a spin. */
function pass(program: ProgramBuilder): ProgramBuilder {
  return program.li(X.t0, FINISHER).li(X.t1, 0x5555n).emit('sw', { rs2: X.t1, rs1: X.t0, imm: 0 })
    .label('spin').emit('jal', { rd: 0 }, 'spin');
}

function runToExit(machine: Machine): void {
  const result = machine.run(50_000_000);
  assert.equal(result.kind, 'exit', JSON.stringify(result));
  assert.ok(result.kind === 'exit' && result.exit.kind === 'pass', JSON.stringify(result));
}

const register = (machine: Machine, index: number): bigint => BigInt.asUintN(64, machine.harts[0].readRegister(index));

describe('Sstc: STIP from stimecmp', () => {
  it('rises when mtime reaches stimecmp, falls when stimecmp moves ahead, and is read-only in mip meanwhile', () => {
    const program = new ProgramBuilder()
      .li(X.t0, STCE).emit('csrrs', { rd: 0, rs1: X.t0, csr: Csr.Menvcfg })
      .emit('addi', { rd: X.a5, rs1: 0, imm: 0 }).emit('addi', { rd: X.a5, rs1: 0, imm: 0 })
      .csrr(X.s8, Csr.Mip)
      .csrr(X.s0, Csr.Time)
      .emit('addi', { rd: X.s1, rs1: X.s0, imm: 50 })
      .csrw(Csr.Stimecmp, X.s1)
      .csrr(X.s2, Csr.Mip)
      .label('wait')
      .csrr(X.t1, Csr.Mip).emit('andi', { rd: X.t1, rs1: X.t1, imm: 32 }).emit('beq', { rs1: X.t1, rs2: 0 }, 'wait')
      .csrr(X.s3, Csr.Time)
      .li(X.t0, -1n).csrw(Csr.Stimecmp, X.t0)
      .csrr(X.s4, Csr.Mip)
      .li(X.t0, 32n).emit('csrrs', { rd: 0, rs1: X.t0, csr: Csr.Mip })
      .csrr(X.s5, Csr.Mip)
      // STCE off: STIP is M-mode software's again.
      .li(X.t0, STCE).emit('csrrc', { rd: 0, rs1: X.t0, csr: Csr.Menvcfg })
      .li(X.t0, 32n).emit('csrrs', { rd: 0, rs1: X.t0, csr: Csr.Mip })
      .csrr(X.s6, Csr.Mip)
      .li(X.t0, 0n).csrw(Csr.Stimecmp, X.t0)
      .csrr(X.s7, Csr.Mip);
    const machine = createMachine({ program: pass(program) });
    runToExit(machine);
    const deadline = register(machine, X.s1);
    assert.equal(register(machine, X.s8) & STIP, 0n, 'as in QEMU, stimecmp\'s reset value 0 does not make STIP pending');
    assert.equal(register(machine, X.s2) & STIP, 0n, 'not pending before the deadline');
    const seen = register(machine, X.s3);
    assert.ok(seen >= deadline && seen <= deadline + 1n, `STIP seen at mtime ${seen}, deadline ${deadline}`);
    assert.equal(register(machine, X.s4) & STIP, 0n, 'a later stimecmp clears it');
    assert.equal(register(machine, X.s5) & STIP, 0n, 'mip cannot set it while STCE = 1');
    assert.equal(register(machine, X.s6) & STIP, STIP, 'with STCE = 0, mip sets it');
    assert.equal(register(machine, X.s7) & STIP, STIP, 'and stimecmp no longer drives it');
    assert.equal(readCsrValue(machine, Csr.Stimecmp), 0n, 'stimecmp reads back what was written');
  });

  it('wakes an S-mode wfi with a delegated timer interrupt, skipping the idle time to the deadline', () => {
    const program = new ProgramBuilder()
      .la(X.t0, 'supervisorHandler').csrw(Csr.Stvec, X.t0)
      .li(X.t0, 32n).csrw(Csr.Mideleg, X.t0).csrw(Csr.Mie, X.t0)
      .li(X.t0, 2n).csrw(Csr.Mcounteren, X.t0)
      .li(X.t0, STCE).emit('csrrs', { rd: 0, rs1: X.t0, csr: Csr.Menvcfg })
      .la(X.t0, 'supervisor').csrw(Csr.Mepc, X.t0)
      .li(X.t0, 1n << 11n).csrw(Csr.Mstatus, X.t0)
      .emit('mret')
      .label('supervisor')
      .csrr(X.s0, Csr.Time)
      .li(X.t0, 100_000n).emit('add', { rd: X.s1, rs1: X.s0, rs2: X.t0 })
      .csrw(Csr.Stimecmp, X.s1)
      .li(X.t0, 2n).emit('csrrs', { rd: 0, rs1: X.t0, csr: Csr.Sstatus })
      .label('sleep').emit('wfi').emit('jal', { rd: 0 }, 'sleep')
      .label('supervisorHandler')
      .csrr(X.s2, Csr.Time)
      .csrr(X.s3, Csr.Scause);
    const machine = createMachine({ program: pass(program), openPmp: true });
    runToExit(machine);
    const hart = machine.harts[0];
    assert.equal(register(machine, X.s3), (1n << 63n) | 5n, 'supervisor timer interrupt');
    const deadline = register(machine, X.s1);
    const woke = register(machine, X.s2);
    assert.ok(woke >= deadline && woke <= deadline + 1n, `woke at ${woke}, deadline ${deadline}`);
    assert.ok(hart.idleNanoseconds >= 90_000 * 100, `idle time was skipped (${hart.idleNanoseconds} ns)`);
    assert.equal(hart.supervisorTimerCompare(), Number(deadline));
  });

  it('direct boot enables STCE (and PBMTE with Svpbmt) as OpenSBI does, so a kernel programs stimecmp itself', () => {
    // Kernel: stimecmp = time + 1000, STIE, SIE, wfi; the handler shuts down through SBI SRST.
    const kernel = new ProgramBuilder(0x8020_0000n)
      .la(X.t0, 'handler').csrw(Csr.Stvec, X.t0)
      .csrr(X.s0, Csr.Time).emit('addi', { rd: X.s1, rs1: X.s0, imm: 1000 }).csrw(Csr.Stimecmp, X.s1)
      .li(X.t0, 32n).emit('csrrs', { rd: 0, rs1: X.t0, csr: Csr.Sie })
      .li(X.t0, 2n).emit('csrrs', { rd: 0, rs1: X.t0, csr: Csr.Sstatus })
      .label('sleep').emit('wfi').emit('jal', { rd: 0 }, 'sleep')
      .label('handler')
      .csrr(X.s2, Csr.Time)
      .li(X.a7, 0x5352_5354n).li(X.a6, 0n).li(X.a0, 0n).li(X.a1, 0n).emit('ecall');
    const machine = createMachine({ bios: 'builtin', program: kernel });
    assert.equal(BigInt(machine.harts[0].menvcfgHi >>> 0) << 32n, STCE);
    const result = machine.run(10_000_000);
    assert.ok(result.kind === 'exit' && result.exit.kind === 'pass' && result.exit.source === 'sbi', JSON.stringify(result));
    assert.ok(register(machine, X.s2) >= register(machine, X.s1));

    assert.equal(createMachine({ bios: 'builtin', program: kernel, cpu: 'rv64,sstc=off' }).harts[0].menvcfgHi, 0);
    assert.equal(createMachine({ bios: 'builtin', program: kernel, cpu: 'rv64,svpbmt=on' }).harts[0].menvcfgHi >>> 0, 0xc000_0000);
  });
});

describe('Sstc: who may access stimecmp', () => {
  const read = (machine: Machine, privilege: Privilege) =>
    runInstructions(machine, privilege, [encode('csrrs', { rd: X.a0, rs1: 0, csr: Csr.Stimecmp })]).cause;

  it('M always; S only with mcounteren.TM and menvcfg.STCE; U never; no model without Sstc', () => {
    const machine = createMachine({ openPmp: true });
    const hart = machine.harts[0];
    hart.mtvecLo = 0x8000_0800;
    assert.equal(read(machine, Privilege.Machine), NO_TRAP);
    assert.equal(read(machine, Privilege.Supervisor), ExceptionCause.IllegalInstruction);
    hart.mcounteren = 2;
    assert.equal(read(machine, Privilege.Supervisor), ExceptionCause.IllegalInstruction, 'TM without STCE');
    hart.menvcfgHi = 1 << 31;
    assert.equal(read(machine, Privilege.Supervisor), NO_TRAP);
    hart.mcounteren = 5;
    assert.equal(read(machine, Privilege.Supervisor), ExceptionCause.IllegalInstruction, 'STCE without TM');
    hart.mcounteren = 7;
    hart.scounteren = 7;
    assert.equal(read(machine, Privilege.User), ExceptionCause.IllegalInstruction);
    assert.equal(hart.supervisorTimerCompare(), Infinity, 'stimecmp not written since reset: its reset value 0 is not a deadline');

    const without = createMachine({ cpu: 'rv64,sstc=off' });
    without.harts[0].mtvecLo = 0x8000_0800;
    assert.equal(read(without, Privilege.Machine), ExceptionCause.IllegalInstruction);
    without.harts[0].menvcfgHi = 1 << 31;
    assert.equal(without.harts[0].supervisorTimerCompare(), Infinity, 'STCE means nothing without Sstc');
  });

  it('menvcfg and senvcfg keep the bits QEMU 7.2 lets through; plain RV64GC has neither (OpenSBI probes for a trap)', () => {
    const machine = createMachine();
    machine.harts[0].mtvecLo = 0x8000_0800;
    const write = (csr: number) =>
      runInstructions(machine, Privilege.Machine, [encode('csrrw', { rd: 0, rs1: X.t0, csr })], [[X.t0, -1n]]).cause;
    assert.equal(write(Csr.Menvcfg), NO_TRAP);
    assert.equal(readCsrValue(machine, Csr.Menvcfg), 0xc000_0000_0000_00f1n);
    assert.equal(write(Csr.Senvcfg), NO_TRAP);
    assert.equal(readCsrValue(machine, Csr.Senvcfg), 0xf1n);
    const plain = createMachine({ cpu: 'rv64gc' });
    plain.harts[0].mtvecLo = 0x8000_0800;
    for (const csr of [Csr.Menvcfg, Csr.Senvcfg, Csr.Stimecmp]) {
      const outcome = runInstructions(plain, Privilege.Machine, [encode('csrrs', { rd: X.a0, rs1: 0, csr })]);
      assert.equal(outcome.cause, ExceptionCause.IllegalInstruction, `0x${csr.toString(16)}`);
    }
  });
});
