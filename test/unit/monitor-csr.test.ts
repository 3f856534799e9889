// CSR rules as the monitor applies them to Zicsr instructions: read-only and privilege checks
// (illegal instruction with the instruction bits in mtval), WARL fields, sstatus/sie/sip as
// views of the M registers, counters (writes, enables, time = mtime), and the F/D state bits.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExceptionCause, Mstatus, Privilege } from '../../vmm-core/cpu/csr-numbers';
import type { Machine } from '../../vmm-core/machine/machine';
import {
  CODE_ADDRESS, createMachine, encode, NO_TRAP, type Outcome, ProgramBuilder, readCsrValue, runInstructions, X,
} from '../support/assemble';

const CSR = {
  fflags: 0x001, frm: 0x002, fcsr: 0x003, cycle: 0xc00, time: 0xc01, instret: 0xc02, hpmcounter3: 0xc03,
  sstatus: 0x100, sie: 0x104, stvec: 0x105, sepc: 0x141, sip: 0x144, satp: 0x180,
  mhartid: 0xf14, mstatus: 0x300, misa: 0x301, medeleg: 0x302, mideleg: 0x303, mie: 0x304, mtvec: 0x305,
  mcounteren: 0x306, mscratch: 0x340, mepc: 0x341, mip: 0x344, mcycle: 0xb00, minstret: 0xb02,
} as const;

const S = Privilege.Supervisor, U = Privilege.User, M = Privilege.Machine;

/** csrrw rd=a0, csr, t0 with t0 = value, at `privilege`. */
const csrWrite = (machine: Machine, privilege: Privilege, csr: number, value: bigint): Outcome =>
  runInstructions(machine, privilege, [encode('csrrw', { rd: X.a0, rs1: X.t0, csr })], [[X.t0, value]]);

/** csrrs a0, csr, x0 at `privilege`; returns the value read (or the outcome when it trapped). */
function csrRead(machine: Machine, privilege: Privilege, csr: number): bigint {
  const outcome = runInstructions(machine, privilege, [encode('csrrs', { rd: X.a0, rs1: 0, csr })]);
  assert.equal(outcome.cause, NO_TRAP, `csrr 0x${csr.toString(16)} at ${privilege}`);
  return BigInt.asUintN(64, machine.harts[0].readRegister(X.a0));
}

/** Asserts that the one instruction traps as illegal, with its bits in mtval and rd untouched. */
function expectIllegal(machine: Machine, privilege: Privilege, word: number, registers: ReadonlyArray<readonly [number, bigint]> = []): void {
  machine.harts[0].writeRegister(X.a0, 0x0bad_cafen);
  const outcome = runInstructions(machine, privilege, [word], registers);
  assert.equal(outcome.cause, ExceptionCause.IllegalInstruction, `0x${word.toString(16)} at privilege ${privilege} is illegal`);
  assert.equal(outcome.tval, BigInt(word), 'mtval holds the instruction bits');
  assert.equal(outcome.epc, CODE_ADDRESS);
  assert.equal(outcome.privilege, M);
  assert.equal(machine.harts[0].readRegister(X.a0), 0x0bad_cafen, 'rd is not written');
}

describe('CSR access rules', () => {
  it('writing a read-only CSR is illegal; reading it (rs1 = x0 or uimm = 0) is not', () => {
    const machine = createMachine({ openPmp: true });
    for (const csr of [CSR.cycle, CSR.time, CSR.instret, CSR.mhartid, 0xf11]) {
      expectIllegal(machine, M, encode('csrrw', { rd: X.a0, rs1: X.t0, csr }));
      expectIllegal(machine, M, encode('csrrw', { rd: 0, rs1: 0, csr })); // csrrw always writes, even x0
      expectIllegal(machine, M, encode('csrrs', { rd: X.a0, rs1: X.t0, csr }), [[X.t0, 0n]]); // rs1 != x0 writes, even 0
      expectIllegal(machine, M, encode('csrrci', { rd: X.a0, imm: 1, csr }));
      assert.equal(runInstructions(machine, M, [encode('csrrs', { rd: X.a0, rs1: 0, csr })]).cause, NO_TRAP);
      assert.equal(runInstructions(machine, M, [encode('csrrsi', { rd: X.a0, imm: 0, csr })]).cause, NO_TRAP);
    }
  });

  it('a CSR above the current privilege, or one that does not exist, is illegal', () => {
    const machine = createMachine({ openPmp: true });
    expectIllegal(machine, S, encode('csrrs', { rd: X.a0, rs1: 0, csr: CSR.mstatus }));
    expectIllegal(machine, S, encode('csrrw', { rd: X.a0, rs1: X.t0, csr: CSR.mscratch }));
    expectIllegal(machine, U, encode('csrrs', { rd: X.a0, rs1: 0, csr: CSR.sstatus }));
    expectIllegal(machine, U, encode('csrrs', { rd: X.a0, rs1: 0, csr: CSR.satp }));
    expectIllegal(machine, M, encode('csrrs', { rd: X.a0, rs1: 0, csr: 0x7c0 }));
    expectIllegal(machine, M, encode('csrrs', { rd: X.a0, rs1: 0, csr: 0x5a8 }));
    assert.equal(csrRead(machine, S, CSR.sstatus) & 0xffff_ffffn, 0n);
    assert.equal(csrRead(machine, M, CSR.mhartid), 0n);
    assert.equal(csrRead(machine, M, CSR.hpmcounter3), 0n);
  });

  it('misa says RV64 with A C D F I M S U', () => {
    const machine = createMachine({ openPmp: true });
    const misa = csrRead(machine, M, CSR.misa);
    assert.equal(misa >> 62n, 2n);
    const letters = [...'ACDFIMSU'].map((letter) => 1n << BigInt(letter.charCodeAt(0) - 65)).reduce((a, b) => a | b);
    assert.equal(misa & 0x3ff_ffffn, letters);
  });
});

describe('WARL fields and views', () => {
  it('mstatus: only the implemented bits are writable; MPP=2 keeps the previous MPP', () => {
    const machine = createMachine({ openPmp: true });
    csrWrite(machine, M, CSR.mstatus, -1n);
    const all = readCsrValue(machine, CSR.mstatus);
    assert.equal(all & 0xffff_ffffn, 0x007e_79aan, 'SIE MIE SPIE MPIE SPP MPP FS MPRV SUM MXR TVM TW TSR');
    assert.equal(all >> 32n, 0x8000_000an, 'SD (FS dirty) and UXL = SXL = 64-bit');
    csrWrite(machine, M, CSR.mstatus, 1n << 11n); // MPP = S
    assert.equal((readCsrValue(machine, CSR.mstatus) >> 11n) & 3n, 1n);
    csrWrite(machine, M, CSR.mstatus, 2n << 11n); // reserved
    assert.equal((readCsrValue(machine, CSR.mstatus) >> 11n) & 3n, 1n, 'MPP=2 is not stored');
    csrWrite(machine, M, CSR.mstatus, 0n);
    assert.equal(readCsrValue(machine, CSR.mstatus), 0x0000_000a_0000_0000n, 'UXL/SXL are read-only');
  });

  it('sstatus is a window on mstatus', () => {
    const machine = createMachine({ openPmp: true });
    const hart = machine.harts[0];
    hart.mstatus = Mstatus.MIE | Mstatus.MPIE | (3 << Mstatus.MPP_SHIFT) | Mstatus.TVM | Mstatus.MPRV;
    csrWrite(machine, S, CSR.sstatus, -1n);
    assert.equal(hart.mstatus,
      Mstatus.MIE | Mstatus.MPIE | (3 << Mstatus.MPP_SHIFT) | Mstatus.TVM | Mstatus.MPRV |
      Mstatus.SIE | Mstatus.SPIE | Mstatus.SPP | Mstatus.FS | Mstatus.SUM | Mstatus.MXR);
    const sstatus = csrRead(machine, S, CSR.sstatus);
    assert.equal(sstatus & 0xffff_ffffn, BigInt(Mstatus.SIE | Mstatus.SPIE | Mstatus.SPP | Mstatus.FS | Mstatus.SUM | Mstatus.MXR));
    assert.equal(sstatus >> 32n, 0x8000_0002n, 'SD and UXL, not SXL');
    csrWrite(machine, S, CSR.sstatus, 0n);
    assert.equal(hart.mstatus, Mstatus.MIE | Mstatus.MPIE | (3 << Mstatus.MPP_SHIFT) | Mstatus.TVM | Mstatus.MPRV);
    // And the other direction: an M write shows through sstatus.
    csrWrite(machine, M, CSR.mstatus, BigInt(Mstatus.SUM | Mstatus.MIE));
    assert.equal(csrRead(machine, S, CSR.sstatus) & 0xffff_ffffn, BigInt(Mstatus.SUM));
  });

  it('sie and sip see and change only the interrupts delegated in mideleg', () => {
    const machine = createMachine({ openPmp: true });
    const hart = machine.harts[0];
    csrWrite(machine, M, CSR.mie, -1n);
    assert.equal(hart.mie, 0xaaa);
    csrWrite(machine, M, CSR.mip, -1n);
    assert.equal(hart.mip, 0x222, 'M software can set SSIP, STIP and SEIP only');
    assert.equal(csrRead(machine, S, CSR.sie), 0n);
    assert.equal(csrRead(machine, S, CSR.sip), 0n);
    csrWrite(machine, S, CSR.sie, 0n);
    assert.equal(hart.mie, 0xaaa, 'nothing delegated: sie writes do nothing');

    csrWrite(machine, M, CSR.mideleg, -1n);
    assert.equal(hart.mideleg, 0x222);
    assert.equal(csrRead(machine, S, CSR.sie), 0x222n);
    assert.equal(csrRead(machine, S, CSR.sip), 0x222n);
    csrWrite(machine, S, CSR.sie, 0x20n);
    assert.equal(hart.mie, 0x8a8, 'M bits kept, SSIE and SEIE cleared, STIE kept');
    csrWrite(machine, S, CSR.sip, 0n);
    assert.equal(hart.mip, 0x220, 'S clears SSIP; STIP and SEIP are not writable from S');

    csrWrite(machine, M, CSR.mideleg, 0x20n);
    csrWrite(machine, S, CSR.sip, 2n);
    assert.equal(hart.mip & 2, 0, 'SSIP not delegated: S cannot set it');
  });

  it('medeleg cannot delegate ecall from M', () => {
    const machine = createMachine({ openPmp: true });
    csrWrite(machine, M, CSR.medeleg, -1n);
    assert.equal(readCsrValue(machine, CSR.medeleg), 0xb3ffn);
  });

  it('mepc and sepc clear bit 0', () => {
    const machine = createMachine({ openPmp: true });
    csrWrite(machine, M, CSR.mepc, 0x8000_0003n);
    assert.equal(readCsrValue(machine, CSR.mepc), 0x8000_0002n);
    csrWrite(machine, M, CSR.mepc, -1n);
    assert.equal(readCsrValue(machine, CSR.mepc), 0xffff_ffff_ffff_fffen);
    csrWrite(machine, S, CSR.sepc, 0x1235n);
    assert.equal(readCsrValue(machine, CSR.sepc), 0x1234n);
  });

  it('mtvec and stvec ignore writes with the reserved modes 2 and 3', () => {
    const machine = createMachine({ openPmp: true });
    for (const [csr, privilege] of [[CSR.mtvec, M], [CSR.stvec, S]] as const) {
      csrWrite(machine, privilege, csr, 0x8000_3001n);
      assert.equal(readCsrValue(machine, csr), 0x8000_3001n, 'vectored is accepted');
      csrWrite(machine, privilege, csr, 0x8000_4002n);
      assert.equal(readCsrValue(machine, csr), 0x8000_3001n);
      csrWrite(machine, privilege, csr, 0x8000_4003n);
      assert.equal(readCsrValue(machine, csr), 0x8000_3001n);
      csrWrite(machine, privilege, csr, 0x8000_4000n);
      assert.equal(readCsrValue(machine, csr), 0x8000_4000n);
    }
  });
});

describe('counters', () => {
  it('a value written to minstret or mcycle is what the next instruction reads, then it counts on', () => {
    for (const [counter, userView] of [[CSR.minstret, CSR.instret], [CSR.mcycle, CSR.cycle]] as const) {
      const machine = createMachine({ openPmp: true });
      const hart = machine.harts[0];
      const written = 0x1_0000_0005n;
      runInstructions(machine, M, [
        encode('csrrw', { rd: 0, rs1: X.t0, csr: counter }),
        encode('csrrs', { rd: X.a0, rs1: 0, csr: counter }),
        encode('addi', { rd: 0, rs1: 0, imm: 0 }),
        encode('addi', { rd: 0, rs1: 0, imm: 0 }),
        encode('csrrs', { rd: X.a1, rs1: 0, csr: counter }),
        encode('csrrs', { rd: X.a2, rs1: 0, csr: userView }),
      ], [[X.t0, written]]);
      assert.equal(hart.readRegister(X.a0), written, `0x${counter.toString(16)}: the next instruction reads the written value`);
      assert.equal(hart.readRegister(X.a1), written + 3n);
      assert.equal(hart.readRegister(X.a2), written + 4n, 'the user view reads the same counter');
    }
  });

  it('counters read the count before the reading instruction', () => {
    const machine = createMachine({ openPmp: true });
    const hart = machine.harts[0];
    hart.instructionsRetired = 41;
    runInstructions(machine, M, [encode('csrrs', { rd: X.a0, rs1: 0, csr: CSR.minstret })]);
    assert.equal(hart.readRegister(X.a0), 41n);
    assert.equal(hart.instructionsRetired, 42);
  });

  it('mcounteren and scounteren gate the user counters per bit', () => {
    const machine = createMachine({ openPmp: true });
    const cycle = encode('csrrs', { rd: X.a0, rs1: 0, csr: CSR.cycle });
    const time = encode('csrrs', { rd: X.a0, rs1: 0, csr: CSR.time });
    expectIllegal(machine, S, cycle);
    csrWrite(machine, M, CSR.mcounteren, 1n);
    assert.equal(runInstructions(machine, S, [cycle]).cause, NO_TRAP);
    expectIllegal(machine, S, time);
    expectIllegal(machine, U, cycle);
    csrWrite(machine, S, 0x106, 1n); // scounteren.CY
    assert.equal(runInstructions(machine, U, [cycle]).cause, NO_TRAP);
    expectIllegal(machine, U, time);
    assert.equal(runInstructions(machine, M, [time]).cause, NO_TRAP, 'M reads every counter');
  });

  it('time reads mtime, including the offset a guest writes into the CLINT', () => {
    const program = new ProgramBuilder();
    for (let i = 0; i < 240; i++) program.emit('addi', { rd: 0, rs1: 0, imm: 0 });
    program
      .csrr(X.a0, CSR.time)
      .emit('ld', { rd: X.a1, rs1: X.t0, imm: 0 }) // CLINT mtime
      .emit('sd', { rs1: X.t0, rs2: X.t1, imm: 0 }) // mtime = 1_000_000
      .csrr(X.a2, CSR.time)
      .emit('ld', { rd: X.a3, rs1: X.t0, imm: 0 })
      .label('end')
      .emit('jal', { rd: 0 }, 'end');
    const machine = createMachine({ program, openPmp: true });
    const hart = machine.harts[0];
    hart.writeRegister(X.t0, 0x0200_bff8n);
    hart.writeRegister(X.t1, 1_000_000n);
    machine.run(246);
    assert.equal(hart.pc, program.address('end'));
    assert.equal(hart.readRegister(X.a0), 2n, '~241 instructions at 100 per tick');
    assert.equal(hart.readRegister(X.a1), hart.readRegister(X.a0));
    assert.equal(hart.readRegister(X.a2), 1_000_000n);
    assert.equal(hart.readRegister(X.a3), 1_000_000n);
  });
});

describe('floating-point state', () => {
  it('with FS = Off, fflags, frm, fcsr and every F/D instruction are illegal', () => {
    const machine = createMachine({ openPmp: true });
    for (const csr of [CSR.fflags, CSR.frm, CSR.fcsr]) {
      expectIllegal(machine, M, encode('csrrs', { rd: X.a0, rs1: 0, csr }));
      expectIllegal(machine, S, encode('csrrw', { rd: X.a0, rs1: X.t0, csr }));
    }
    expectIllegal(machine, M, encode('fadd.d', { rd: 1, rs1: 2, rs2: 3, rm: 0 }));
    expectIllegal(machine, M, encode('fmv.x.w', { rd: X.a0, rs1: 1 }));
    expectIllegal(machine, M, encode('fld', { rd: 1, rs1: X.sp, imm: 0 }));
    expectIllegal(machine, M, encode('c.fsdsp', { rs2: 1, imm: 0 }));
  });

  it('writing the FP CSRs or registers makes FS dirty, which sets SD in mstatus and sstatus', () => {
    const machine = createMachine({ openPmp: true });
    const hart = machine.harts[0];
    hart.mstatus = 1 << Mstatus.FS_SHIFT; // Initial
    assert.equal(readCsrValue(machine, CSR.mstatus) >> 63n, 0n);
    const outcome = runInstructions(machine, M, [
      encode('csrrwi', { rd: 0, imm: 0x1f, csr: CSR.fcsr }),
      encode('csrrwi', { rd: 0, imm: 3, csr: CSR.frm }),
      encode('csrrs', { rd: X.a0, rs1: 0, csr: CSR.fcsr }),
      encode('csrrs', { rd: X.a1, rs1: 0, csr: CSR.fflags }),
    ]);
    assert.equal(outcome.cause, NO_TRAP);
    assert.equal(hart.readRegister(X.a0), 0x7fn, 'frm = 3 in bits 7:5, fflags = 0x1f');
    assert.equal(hart.readRegister(X.a1), 0x1fn);
    assert.equal((hart.mstatus & Mstatus.FS) >>> Mstatus.FS_SHIFT, 3);
    assert.equal(readCsrValue(machine, CSR.mstatus) >> 63n, 1n);
    assert.equal(csrRead(machine, S, CSR.sstatus) >> 63n, 1n);

    // Clean (2) becomes dirty when an instruction writes an FP register.
    hart.mstatus = 2 << Mstatus.FS_SHIFT;
    assert.equal(readCsrValue(machine, CSR.mstatus) >> 63n, 0n);
    runInstructions(machine, M, [encode('fmv.w.x', { rd: 1, rs1: X.t0 })], [[X.t0, 0x3f80_0000n]]);
    assert.equal((hart.mstatus & Mstatus.FS) >>> Mstatus.FS_SHIFT, 3);
    assert.equal(readCsrValue(machine, CSR.mstatus) >> 63n, 1n);
  });
});
