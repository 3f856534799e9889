// Virtual time of instructions that trap, as QEMU 7.2's -icount charges them (measured with
// bare-metal loops of 1,000 traps each on qemu-system-riscv64 -M virt -icount shift=0, reading
// mcycle around them): an ecall, an ebreak and an undecodable instruction take 1 ns each —
// QEMU's translator raises them and counts the instruction — while an illegal CSR access and a
// load or store access fault take none (QEMU raises those from helpers that restore the
// count), nor does a fetch fault. Ringside's clock does the same, so mtime stays in step with
// QEMU's across ecalls to firmware: the lockstep comparison of Linux's boot
// (scripts/lockstep-linux.mjs) found QEMU's clock ~1.5 µs ahead after the early console's SBI
// calls, which changed the scheduler's load-tracking paths. minstret still counts retired
// instructions only (the spec: an ecall does not retire).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Csr } from '../../vmm-core/cpu/csr-numbers';
import type { Machine } from '../../vmm-core/machine/machine';
import { createMachine, ProgramBuilder, X } from '../support/assemble';

const FINISHER = 0x10_0000n;
const TRAPS = 10;

/**
 * Reads mcycle (virtual ns with shift 0) and minstret around `body`, with an M-mode handler
 * that skips the trapping instruction (or, for a fetch fault, returns to `resume`).
 */
function measure(body: (program: ProgramBuilder) => ProgramBuilder): { cycles: bigint; retired: bigint } {
  let program = new ProgramBuilder()
    .la(X.t0, 'handler').csrw(Csr.Mtvec, X.t0)
    .csrr(X.s0, Csr.Mcycle).csrr(X.s1, Csr.Minstret);
  program = body(program)
    .label('resume')
    .csrr(X.s2, Csr.Mcycle).csrr(X.s3, Csr.Minstret)
    .li(X.t0, FINISHER).li(X.t1, 0x5555n).emit('sw', { rs2: X.t1, rs1: X.t0, imm: 0 })
    .label('spin').emit('jal', { rd: 0 }, 'spin')
    .label('handler')
    // A fetch fault (mcause 1) resumes at 'resume'; anything else skips the 4-byte instruction.
    .csrr(X.t2, Csr.Mcause).emit('addi', { rd: X.t3, rs1: 0, imm: 1 }).emit('beq', { rs1: X.t2, rs2: X.t3 }, 'fetchFault')
    .csrr(X.t2, Csr.Mepc).emit('addi', { rd: X.t2, rs1: X.t2, imm: 4 }).csrw(Csr.Mepc, X.t2).emit('mret')
    .label('fetchFault')
    .la(X.t2, 'resume').csrw(Csr.Mepc, X.t2).emit('mret');
  const machine: Machine = createMachine({ program });
  const result = machine.run(1_000_000);
  assert.ok(result.kind === 'exit' && result.exit.kind === 'pass', JSON.stringify(result));
  const value = (index: number) => BigInt.asUintN(64, machine.harts[0].readRegister(index));
  return { cycles: value(X.s2) - value(X.s0), retired: value(X.s3) - value(X.s1) };
}

const repeat = (program: ProgramBuilder, times: number, add: (program: ProgramBuilder) => ProgramBuilder): ProgramBuilder => {
  for (let i = 0; i < times; i++) program = add(program);
  return program;
};

describe('virtual time of trapping instructions (QEMU icount)', () => {
  it('without traps, mcycle and minstret advance together', () => {
    const { cycles, retired } = measure((program) => repeat(program, TRAPS, (p) => p.emit('addi', { rd: X.a0, rs1: X.a0, imm: 1 })));
    assert.equal(cycles, retired);
  });

  // What QEMU's translator raises costs the instruction's nanosecond.
  it('each ecall, ebreak and instruction illegal at decode takes 1 ns but does not retire', () => {
    const ecalls = measure((program) => repeat(program, TRAPS, (p) => p.emit('ecall')));
    assert.equal(ecalls.cycles - ecalls.retired, BigInt(TRAPS));
    const ebreaks = measure((program) => repeat(program, TRAPS, (p) => p.emit('ebreak')));
    assert.equal(ebreaks.cycles - ebreaks.retired, BigInt(TRAPS));
    // mstatus.FS is Off after reset: floating point does not decode (QEMU checks FS when translating).
    const floatOff = measure((program) => repeat(program, TRAPS, (p) => p.emit('fadd.d', { rd: 1, rs1: 2, rs2: 3, rm: 7 })));
    assert.equal(floatOff.cycles - floatOff.retired, BigInt(TRAPS));
  });

  // What QEMU finds while the instruction runs (its helpers restore the count) costs nothing.
  it('an illegal CSR access and a load or store fault take no time', () => {
    const csr = measure((program) => repeat(program, TRAPS, (p) => p.csrr(X.a0, 0x7ff)));
    assert.equal(csr.cycles, csr.retired);
    const loads = measure((program) => repeat(program.li(X.a1, 0x10n), TRAPS, (p) => p.emit('ld', { rd: X.a0, rs1: X.a1, imm: 0 })));
    assert.equal(loads.cycles, loads.retired);
    const stores = measure((program) => repeat(program.li(X.a1, 0x10n), TRAPS, (p) => p.emit('sd', { rs2: X.a0, rs1: X.a1, imm: 0 })));
    assert.equal(stores.cycles, stores.retired);
  });

  it('neither does a fetch fault: no instruction started', () => {
    const { cycles, retired } = measure((program) => program.li(X.a1, 0x10n).emit('jalr', { rd: 0, rs1: X.a1, imm: 0 }));
    assert.equal(cycles, retired);
  });
});
