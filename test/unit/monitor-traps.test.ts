// Trap entry and return: delegation to S and to M with the status-stack bits, vectored mtvec
// for interrupts only, interrupt priority and enabling by privilege, xRET, ecall/ebreak causes,
// wfi (sleep, wake without trapping, illegal from U and with TW), TSR and TVM.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExceptionCause, Mstatus, Privilege } from '../../vmm-core/cpu/csr-numbers';
import type { Hart } from '../../vmm-core/cpu/hart';
import type { Machine } from '../../vmm-core/machine/machine';
import {
  CODE_ADDRESS, createMachine, encode, NO_TRAP, ProgramBuilder, readCsrValue, runInstructions, setPrivilege, X,
} from '../support/assemble';

const S = Privilege.Supervisor, U = Privilege.User, M = Privilege.Machine;
const MTVEC = 0x8000_4000n;
const STVEC = 0x8000_5000n;
const INTERRUPT = 1n << 63n;

function trapMachine(): { machine: Machine; hart: Hart } {
  const machine = createMachine({ openPmp: true });
  const hart = machine.harts[0];
  hart.mtvecLo = Number(MTVEC);
  hart.stvecLo = Number(STVEC);
  return { machine, hart };
}

const pcOf = (hart: Hart) => hart.pc;
const field = (value: number, mask: number, shift = 0) => (value & mask) >>> shift;
const unsigned = (lo: number, hi: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const scause = (hart: Hart) => unsigned(hart.scauseLo, hart.scauseHi);
const mcause = (hart: Hart) => unsigned(hart.mcauseLo, hart.mcauseHi);

const READ_MSTATUS = encode('csrrs', { rd: X.a0, rs1: 0, csr: 0x300 }); // illegal below M

describe('exception delegation', () => {
  it('a delegated exception from U goes to S: scause, sepc, stval, SPP=U, SPIE=SIE, SIE=0', () => {
    const { machine, hart } = trapMachine();
    hart.medeleg = 1 << ExceptionCause.IllegalInstruction;
    hart.mstatus = Mstatus.SIE | Mstatus.MIE;
    const outcome = runInstructions(machine, U, [READ_MSTATUS]);
    assert.equal(outcome.cause, NO_TRAP, 'M trap registers untouched');
    assert.equal(hart.privilege, S);
    assert.equal(pcOf(hart), STVEC);
    assert.equal(scause(hart), BigInt(ExceptionCause.IllegalInstruction));
    assert.equal(unsigned(hart.sepcLo, hart.sepcHi), CODE_ADDRESS);
    assert.equal(unsigned(hart.stvalLo, hart.stvalHi), BigInt(READ_MSTATUS));
    assert.equal(hart.mstatus & Mstatus.SPP, 0, 'came from U');
    assert.equal(hart.mstatus & Mstatus.SPIE, Mstatus.SPIE, 'SIE was 1');
    assert.equal(hart.mstatus & Mstatus.SIE, 0);
    assert.equal(hart.mstatus & Mstatus.MIE, Mstatus.MIE, 'M bits untouched');
  });

  it('from S with SIE=0: SPP=S, SPIE=0', () => {
    const { machine, hart } = trapMachine();
    hart.medeleg = 1 << ExceptionCause.Breakpoint;
    hart.mstatus = Mstatus.SPIE;
    runInstructions(machine, S, [encode('ebreak')]);
    assert.equal(hart.privilege, S);
    assert.equal(scause(hart), BigInt(ExceptionCause.Breakpoint));
    assert.equal(hart.mstatus & (Mstatus.SPP | Mstatus.SPIE | Mstatus.SIE), Mstatus.SPP);
  });

  it('an exception that is not delegated goes to M: mcause, mepc, mtval, MPP=from, MPIE=MIE, MIE=0', () => {
    const { machine, hart } = trapMachine();
    hart.medeleg = 0xb3ff & ~(1 << ExceptionCause.IllegalInstruction);
    hart.mstatus = Mstatus.MIE | Mstatus.SIE;
    const outcome = runInstructions(machine, S, [READ_MSTATUS]);
    assert.equal(outcome.cause, ExceptionCause.IllegalInstruction);
    assert.equal(outcome.epc, CODE_ADDRESS);
    assert.equal(outcome.tval, BigInt(READ_MSTATUS));
    assert.equal(hart.privilege, M);
    assert.equal(pcOf(hart), MTVEC);
    assert.equal(field(hart.mstatus, Mstatus.MPP, Mstatus.MPP_SHIFT), S);
    assert.equal(hart.mstatus & (Mstatus.MPIE | Mstatus.MIE), Mstatus.MPIE);
    assert.equal(hart.mstatus & Mstatus.SIE, Mstatus.SIE, 'S bits untouched');
  });

  it('exceptions raised in M are never delegated', () => {
    const { machine, hart } = trapMachine();
    hart.medeleg = 0xb3ff;
    const outcome = runInstructions(machine, M, [encode('ebreak')]);
    assert.equal(outcome.cause, ExceptionCause.Breakpoint);
    assert.equal(hart.privilege, M);
    assert.equal(field(hart.mstatus, Mstatus.MPP, Mstatus.MPP_SHIFT), M);
    assert.equal(hart.scauseLo, 0);
  });

  it('ecall reports the privilege it came from; ebreak and c.ebreak leave tval 0', () => {
    const { machine, hart } = trapMachine();
    for (const [privilege, cause] of [[U, 8], [S, 9], [M, 11]] as const) {
      hart.mtvalLo = 0x1234;
      const outcome = runInstructions(machine, privilege, [encode('ecall')]);
      assert.equal(outcome.cause, cause);
      assert.equal(outcome.epc, CODE_ADDRESS);
      assert.equal(outcome.tval, 0n);
      assert.equal(hart.instructionsRetired, 0, 'a trapping instruction does not retire');
    }
    for (const word of [encode('ebreak'), encode('c.ebreak')]) {
      hart.mtvalLo = 0x1234;
      const outcome = runInstructions(machine, S, [word]);
      assert.equal(outcome.cause, ExceptionCause.Breakpoint);
      assert.equal(outcome.tval, 0n, 'QEMU 7.2 writes 0 for ebreak');
    }
  });
});

describe('vectored trap vectors', () => {
  it('vectored mtvec: exceptions go to the base, interrupts to base + 4 * cause', () => {
    const { machine, hart } = trapMachine();
    hart.mtvecLo = Number(MTVEC) | 1;
    runInstructions(machine, M, [encode('ecall')]);
    assert.equal(pcOf(hart), MTVEC, 'ecall from M (cause 11) is an exception: base');

    setPrivilege(machine, S);
    hart.mie = 1 << 3;
    hart.mipHardware = 1 << 3;
    assert.equal(machine.monitor.takePendingInterrupt(hart), true);
    assert.equal(pcOf(hart), MTVEC + 12n);
    assert.equal(mcause(hart), INTERRUPT | 3n);
  });

  it('vectored stvec works the same for delegated interrupts', () => {
    const { machine, hart } = trapMachine();
    hart.stvecLo = Number(STVEC) | 1;
    hart.mideleg = 0x222;
    hart.mie = 1 << 5;
    hart.mipSoftware = 1 << 5;
    hart.mstatus = Mstatus.SIE;
    setPrivilege(machine, S);
    assert.equal(machine.monitor.takePendingInterrupt(hart), true);
    assert.equal(pcOf(hart), STVEC + 20n);
    assert.equal(scause(hart), INTERRUPT | 5n);
    assert.equal(hart.mstatus & (Mstatus.SIE | Mstatus.SPIE | Mstatus.SPP), Mstatus.SPIE | Mstatus.SPP);
  });
});

describe('interrupts', () => {
  /** Sets up one interrupt situation and reports which interrupt (cause) is taken, or undefined. */
  function taken(
    { privilege, mstatus = 0, mideleg = 0, pending, enabled = 0xaaa }: { privilege: Privilege; mstatus?: number; mideleg?: number; pending: number; enabled?: number },
  ): { code: number; to: Privilege } | undefined {
    const { machine, hart } = trapMachine();
    setPrivilege(machine, privilege);
    hart.mstatus = mstatus;
    hart.mideleg = mideleg;
    hart.mie = enabled;
    hart.mipHardware = pending;
    const before = hart.pc;
    if (!machine.monitor.takePendingInterrupt(hart)) {
      assert.equal(hart.pc, before);
      return undefined;
    }
    const to = hart.privilege;
    const cause = to === M ? mcause(hart) : scause(hart);
    assert.equal(cause & INTERRUPT, INTERRUPT);
    return { code: Number(cause & 0xffn), to };
  }

  it('with all six pending, they are taken in the order MEI, MSI, MTI, SEI, SSI, STI', () => {
    const { machine, hart } = trapMachine();
    hart.mie = 0xaaa;
    hart.mipHardware = 0xaaa;
    const order: number[] = [];
    for (let i = 0; i < 6; i++) {
      setPrivilege(machine, M);
      hart.mstatus = Mstatus.MIE;
      assert.equal(machine.monitor.takePendingInterrupt(hart), true);
      const code = Number(mcause(hart) & 0xffn);
      order.push(code);
      hart.mipHardware &= ~(1 << code);
    }
    assert.deepEqual(order, [11, 3, 7, 9, 1, 5]);
  });

  it('interrupts for M come before delegated ones, which then follow their own order', () => {
    const { machine, hart } = trapMachine();
    hart.mie = 0xaaa;
    hart.mipHardware = 0xaaa;
    hart.mideleg = 0x222;
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      setPrivilege(machine, S);
      hart.mstatus = Mstatus.SIE;
      assert.equal(machine.monitor.takePendingInterrupt(hart), true);
      const toMachine = hart.privilege === M;
      const code = Number((toMachine ? mcause(hart) : scause(hart)) & 0xffn);
      order.push(`${toMachine ? 'M' : 'S'}${code}`);
      hart.mipHardware &= ~(1 << code);
    }
    assert.deepEqual(order, ['M11', 'M3', 'M7', 'S9', 'S1', 'S5']);
  });

  it('M-level interrupts: taken in M only with MIE, always from S and U', () => {
    const MTI = 1 << 7;
    assert.equal(taken({ privilege: M, pending: MTI }), undefined);
    assert.deepEqual(taken({ privilege: M, mstatus: Mstatus.MIE, pending: MTI }), { code: 7, to: M });
    assert.deepEqual(taken({ privilege: S, pending: MTI }), { code: 7, to: M });
    assert.deepEqual(taken({ privilege: U, pending: MTI }), { code: 7, to: M });
    assert.equal(taken({ privilege: S, pending: MTI, enabled: 0xaaa & ~MTI }), undefined, 'mie masks');
    // An S-level interrupt that is not delegated is handled by M, with M's enable rules.
    assert.deepEqual(taken({ privilege: S, pending: 1 << 5 }), { code: 5, to: M });
    assert.equal(taken({ privilege: M, mstatus: Mstatus.SIE, pending: 1 << 5 }), undefined);
  });

  it('delegated interrupts: never taken in M, in S only with SIE, always from U', () => {
    const STI = 1 << 5;
    const delegated = { mideleg: 0x222, pending: STI };
    assert.equal(taken({ privilege: M, mstatus: Mstatus.MIE | Mstatus.SIE, ...delegated }), undefined);
    assert.equal(taken({ privilege: S, ...delegated }), undefined);
    assert.equal(taken({ privilege: S, mstatus: Mstatus.MIE, ...delegated }), undefined, 'MIE does not enable S interrupts');
    assert.deepEqual(taken({ privilege: S, mstatus: Mstatus.SIE, ...delegated }), { code: 5, to: S });
    assert.deepEqual(taken({ privilege: U, ...delegated }), { code: 5, to: S });
  });

  it('a CLINT timer interrupt arrives through the run loop at the vectored entry', () => {
    const program = new ProgramBuilder()
      .la(X.t0, 'vectors')
      .emit('ori', { rd: X.t0, rs1: X.t0, imm: 1 })
      .csrw(0x305, X.t0)
      .li(X.t1, 0x0200_4000)
      .emit('addi', { rd: X.t2, rs1: 0, imm: 3 })
      .emit('sd', { rs1: X.t1, rs2: X.t2, imm: 0 }) // mtimecmp = 3 ticks = 300 instructions
      .emit('addi', { rd: X.t0, rs1: 0, imm: 0x80 })
      .csrw(0x304, X.t0) // mie.MTIE
      .emit('csrrsi', { rd: 0, imm: 8, csr: 0x300 }) // mstatus.MIE
      .label('loop')
      .emit('addi', { rd: X.a0, rs1: X.a0, imm: 1 })
      .emit('jal', { rd: 0 }, 'loop');
    // Vector table (256-byte aligned): 0 exceptions, 7 * 4 machine timer.
    const base = program.address('loop') + 8n;
    const padding = (256n - (base % 256n)) % 256n;
    for (let i = 0n; i < padding; i += 4n) program.emit('addi', { rd: 0, rs1: 0, imm: 0 });
    program.label('vectors');
    program.emit('jal', { rd: 0 }, 'exception');
    for (let code = 1; code < 7; code++) program.emit('jal', { rd: 0 }, 'exception');
    program.emit('jal', { rd: 0 }, 'timer');
    program.label('exception').emit('addi', { rd: X.a3, rs1: 0, imm: -1 }).label('exception-loop').emit('jal', { rd: 0 }, 'exception-loop');
    program.label('timer').csrr(X.a1, 0x342).csrr(X.a2, 0xc01).label('done').emit('jal', { rd: 0 }, 'done');

    const machine = createMachine({ program });
    const hart = machine.harts[0];
    machine.run(2000);
    assert.equal(hart.pc, program.address('done'));
    assert.equal(hart.readRegister(X.a3), 0n, 'no exception');
    assert.equal(BigInt.asUintN(64, hart.readRegister(X.a1)), INTERRUPT | 7n);
    assert.equal(hart.readRegister(X.a2), 3n, 'taken as soon as mtime reached mtimecmp');
    assert.equal(hart.privilege, M);
    assert.equal(hart.mstatus & (Mstatus.MIE | Mstatus.MPIE), Mstatus.MPIE);
  });
});

describe('xRET', () => {
  it('mret restores MIE from MPIE, sets MPIE, returns to MPP, sets MPP to U and clears MPRV', () => {
    const { machine, hart } = trapMachine();
    hart.mepcLo = 0x8000_6000 | 0;
    hart.mstatus = Mstatus.MPIE | (S << Mstatus.MPP_SHIFT) | Mstatus.MPRV;
    runInstructions(machine, M, [encode('mret')]);
    assert.equal(hart.privilege, S);
    assert.equal(hart.pc, 0x8000_6000n);
    assert.equal(hart.mstatus, Mstatus.MIE | Mstatus.MPIE);
    // Returning to M keeps MPRV.
    hart.mstatus = (M << Mstatus.MPP_SHIFT) | Mstatus.MPRV;
    runInstructions(machine, M, [encode('mret')]);
    assert.equal(hart.privilege, M);
    assert.equal(hart.mstatus, Mstatus.MPIE | Mstatus.MPRV);
  });

  it('sret restores SIE from SPIE, returns to SPP, clears SPP and MPRV', () => {
    const { machine, hart } = trapMachine();
    hart.sepcLo = 0x8000_7000 | 0;
    hart.mstatus = Mstatus.SPIE | Mstatus.SPP | Mstatus.MPRV;
    runInstructions(machine, M, [encode('sret')]);
    assert.equal(hart.privilege, S);
    assert.equal(hart.pc, 0x8000_7000n);
    assert.equal(hart.mstatus, Mstatus.SIE | Mstatus.SPIE);
    hart.mstatus = 0;
    runInstructions(machine, S, [encode('sret')]);
    assert.equal(hart.privilege, U);
    assert.equal(hart.mstatus, Mstatus.SPIE);
  });

  it('mret below M, sret in U and sret in S with TSR are illegal', () => {
    const { machine, hart } = trapMachine();
    for (const [privilege, word, mstatus] of [[S, 'mret', 0], [U, 'mret', 0], [U, 'sret', 0], [S, 'sret', Mstatus.TSR]] as const) {
      hart.mstatus = mstatus;
      const outcome = runInstructions(machine, privilege, [encode(word)]);
      assert.equal(outcome.cause, ExceptionCause.IllegalInstruction, `${word} at ${privilege}`);
      assert.equal(outcome.tval, BigInt(encode(word)));
    }
    hart.mstatus = Mstatus.TSR | Mstatus.SPP;
    assert.equal(runInstructions(machine, M, [encode('sret')]).cause, NO_TRAP, 'TSR does not bind M');
  });
});

describe('TW, TVM and wfi', () => {
  it('TVM makes satp accesses and sfence.vma illegal in S, not in M', () => {
    const { machine, hart } = trapMachine();
    hart.mstatus = Mstatus.TVM;
    const sfence = encode('sfence.vma', { rs1: X.a1, rs2: X.a2 });
    for (const word of [encode('csrrs', { rd: X.a0, rs1: 0, csr: 0x180 }), encode('csrrw', { rd: 0, rs1: X.t0, csr: 0x180 }), sfence]) {
      const outcome = runInstructions(machine, S, [word]);
      assert.equal(outcome.cause, ExceptionCause.IllegalInstruction);
      assert.equal(outcome.tval, BigInt(word));
    }
    assert.equal(runInstructions(machine, M, [sfence]).cause, NO_TRAP);
    hart.mstatus = 0;
    assert.equal(runInstructions(machine, S, [sfence]).cause, NO_TRAP);
    assert.equal(runInstructions(machine, U, [sfence]).cause, ExceptionCause.IllegalInstruction, 'never from U');
  });

  it('wfi is illegal in U, and in S when TW is set; legal in M whatever TW says', () => {
    const { machine, hart } = trapMachine();
    const wfi = encode('wfi');
    assert.equal(runInstructions(machine, U, [wfi]).tval, BigInt(wfi));
    assert.equal(hart.mcauseLo, ExceptionCause.IllegalInstruction);
    hart.mstatus = Mstatus.TW;
    assert.equal(runInstructions(machine, S, [wfi]).cause, ExceptionCause.IllegalInstruction);
    hart.mstatus = Mstatus.TW;
    assert.equal(runInstructions(machine, M, [wfi]).cause, NO_TRAP);
    assert.equal(hart.waitingForInterrupt, true);
    assert.equal(hart.pc, CODE_ADDRESS + 4n, 'wfi retires and advances pc');
    hart.waitingForInterrupt = false;
    hart.mstatus = 0;
    assert.equal(runInstructions(machine, S, [wfi]).cause, NO_TRAP);
  });

  it('wfi with MIE=0 sleeps until an enabled interrupt is pending, then resumes after it without a trap', () => {
    const program = new ProgramBuilder()
      .li(X.t1, 0x0200_4000)
      .emit('addi', { rd: X.t2, rs1: 0, imm: 500 })
      .emit('sd', { rs1: X.t1, rs2: X.t2, imm: 0 }) // mtimecmp = 500 ticks
      .emit('addi', { rd: X.t0, rs1: 0, imm: 0x80 })
      .csrw(0x304, X.t0) // mie.MTIE; mstatus.MIE stays 0
      .label('wfi')
      .emit('wfi')
      .csrr(X.a0, 0xc01)
      .csrr(X.a1, 0x344)
      .label('done')
      .emit('jal', { rd: 0 }, 'done');
    const machine = createMachine({ program });
    const hart = machine.harts[0];
    hart.mtvecLo = Number(MTVEC);
    const result = machine.run(20);
    assert.equal(result.kind, 'budget');
    assert.equal(hart.pc, program.address('done'));
    assert.equal(hart.mcauseLo, 0, 'no trap');
    assert.equal(hart.privilege, M);
    assert.equal(hart.readRegister(X.a0), 500n, 'time jumped to mtimecmp');
    assert.equal(hart.readRegister(X.a1) & 0x80n, 0x80n, 'MTIP pending');
    assert.ok(hart.idleNanoseconds > 40_000, 'the wait is idle time, not instructions');
  });

  it('wfi with the interrupt already pending does not wait at all', () => {
    const { machine, hart } = trapMachine();
    hart.mie = 1 << 1;
    hart.mipSoftware = 1 << 1;
    runInstructions(machine, M, [encode('wfi')]);
    assert.equal(hart.waitingForInterrupt, false);
    assert.equal(readCsrValue(machine, 0x344) & 2n, 2n);
  });
});
