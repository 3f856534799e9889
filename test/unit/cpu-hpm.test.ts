// Programmable performance counters as QEMU 7.2's default CPU has them (pmu-num 16, checked
// with a bare-metal probe on qemu-system-riscv64 -M virt): mhpmcounter3..18 and mhpmevent3..31
// hold what is written, mhpmcounter19..31 and hpmcounter19..31 are illegal, mcounteren and
// scounteren keep all 32 bits, and hpmcounterN reads mhpmcounterN below M when enabled.
// OpenSBI counts the counters that keep a written 1 ("MHPM Count: 16" on QEMU): the lockstep
// comparison of Linux's boot (scripts/lockstep-linux.mjs) diverged there while Ringside's
// counters read zero. Plain rv64gc keeps read-as-zero counters.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Csr, ExceptionCause, Privilege } from '../../vmm-core/cpu/csr-numbers';
import { csrExists } from '../../vmm-core/monitor/csr';
import { parseCpuModel } from '../../vmm-core/cpu/cpu-model';
import { createMachine, encode, NO_TRAP, readCsrValue, runInstructions, X } from '../support/assemble';

const csrw = (csr: number, rs1: number) => encode('csrrw', { rd: 0, rs1, csr });
const csrr = (rd: number, csr: number) => encode('csrrs', { rd, rs1: 0, csr });

describe('hpm counters of the rv64 model (QEMU 7.2 pmu-num 16)', () => {
  it('mhpmcounter3..18 keep a written value and do not count', () => {
    const machine = createMachine();
    for (const counter of [3, 10, 18]) {
      const csr = Csr.MhpmCounter3 + counter - 3;
      const value = 0x1234_5678_9abc_def0n + BigInt(counter);
      const outcome = runInstructions(machine, Privilege.Machine, [csrw(csr, X.a0), encode('addi', { rd: X.a1, rs1: X.a1, imm: 1 }), csrr(X.a2, csr)],
        [[X.a0, value]]);
      assert.equal(outcome.cause, NO_TRAP, `mhpmcounter${counter}`);
      assert.equal(BigInt.asUintN(64, machine.harts[0].readRegister(X.a2)), value, `mhpmcounter${counter} holds the value, not counting`);
    }
  });

  it('OpenSBI\'s probe (write 1, swap the old value back) finds 16 counters, then an illegal instruction', () => {
    const machine = createMachine();
    let found = 0;
    for (let counter = 3; counter <= 31; counter++) {
      const csr = Csr.MhpmCounter3 + counter - 3;
      // The read alone first: after a trap the next step would fetch from mtvec.
      const outcome = runInstructions(machine, Privilege.Machine, [csrr(X.t0, csr)]);
      if (outcome.cause !== NO_TRAP) {
        assert.equal(outcome.cause, ExceptionCause.IllegalInstruction);
        assert.equal(counter, 19);
        break;
      }
      runInstructions(machine, Privilege.Machine, [csrw(csr, X.t1), encode('csrrw', { rd: X.t2, rs1: X.t0, csr })], [[X.t1, 1n], [X.t2, 0n]]);
      if (machine.harts[0].readRegister(X.t2) !== 1n) break;
      found++;
    }
    assert.equal(found, 16);
  });

  it('counters 19..31 do not exist, in M or as user counters', () => {
    const model = parseCpuModel('rv64');
    assert.equal(model.hpmCounters, 16);
    for (const csr of [Csr.MhpmCounter3 + 16, Csr.MhpmCounter31, Csr.HpmCounter3 + 16, Csr.HpmCounter31]) {
      assert.equal(csrExists(csr, model), false, `0x${csr.toString(16)}`);
      const machine = createMachine();
      const outcome = runInstructions(machine, Privilege.Machine, [csrr(X.a0, csr)]);
      assert.equal(outcome.cause, ExceptionCause.IllegalInstruction, `0x${csr.toString(16)}`);
    }
    assert.ok(csrExists(Csr.MhpmCounter3 + 15, model) && csrExists(Csr.HpmCounter3 + 15, model));
  });

  it('mhpmevent3..31 keep all 64 bits', () => {
    const machine = createMachine();
    for (const csr of [Csr.MhpmEvent3, Csr.MhpmEvent31]) {
      const outcome = runInstructions(machine, Privilege.Machine, [csrw(csr, X.a0)], [[X.a0, -1n]]);
      assert.equal(outcome.cause, NO_TRAP);
      assert.equal(readCsrValue(machine, csr), 0xffff_ffff_ffff_ffffn);
    }
  });

  it('mcounteren and scounteren keep all 32 bits; S reads hpmcounterN only when mcounteren enables it', () => {
    const machine = createMachine({ openPmp: true });
    runInstructions(machine, Privilege.Machine, [csrw(Csr.Mcounteren, X.a0), csrw(Csr.Scounteren, X.a0), csrw(Csr.MhpmCounter3 + 2, X.a1)],
      [[X.a0, 0xffff_ffffn], [X.a1, 77n]]);
    assert.equal(readCsrValue(machine, Csr.Mcounteren), 0xffff_ffffn);
    assert.equal(readCsrValue(machine, Csr.Scounteren), 0xffff_ffffn);
    let outcome = runInstructions(machine, Privilege.Supervisor, [csrr(X.a2, Csr.HpmCounter3 + 2)]);
    assert.equal(outcome.cause, NO_TRAP);
    assert.equal(machine.harts[0].readRegister(X.a2), 77n);
    runInstructions(machine, Privilege.Machine, [csrw(Csr.Mcounteren, X.a0)], [[X.a0, 7n]]);
    outcome = runInstructions(machine, Privilege.Supervisor, [csrr(X.a2, Csr.HpmCounter3 + 2)]);
    assert.equal(outcome.cause, ExceptionCause.IllegalInstruction);
  });
});

describe('hpm counters of plain rv64gc', () => {
  it('read as zero, ignore writes, and counter-enable bits stop at IR', () => {
    const machine = createMachine({ cpu: 'rv64gc' });
    assert.equal(machine.harts[0].cpu.hpmCounters, 0);
    const outcome = runInstructions(machine, Privilege.Machine, [
      csrw(Csr.MhpmCounter3, X.a0), csrw(Csr.MhpmCounter31, X.a0), csrw(Csr.MhpmEvent3, X.a0), csrw(Csr.Mcounteren, X.a0),
    ], [[X.a0, -1n]]);
    assert.equal(outcome.cause, NO_TRAP);
    assert.equal(readCsrValue(machine, Csr.MhpmCounter3), 0n);
    assert.equal(readCsrValue(machine, Csr.MhpmCounter31), 0n);
    assert.equal(readCsrValue(machine, Csr.MhpmEvent3), 0n);
    assert.equal(readCsrValue(machine, Csr.Mcounteren), 7n);
  });
});
