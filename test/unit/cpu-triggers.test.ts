// Sdtrig debug triggers as QEMU 7.2 has them: the CSRs (tselect, tdata1..3, tinfo) with QEMU's
// WARL rules, execute/load/store address matches with their privilege bits and sizes, the
// breakpoint exception they raise (cause 3, mepc = the instruction, mtval 0 as QEMU writes it)
// before the instruction or access happens, pages outside armed triggers staying on the TLB
// fast path, the debugger's own breakpoint at the same address winning first, and the model
// switch (rv64,sdtrig=off).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExceptionCause, Privilege } from '../../vmm-core/cpu/csr-numbers';
import { Debugger } from '../../vmm-core/debug/debugger';
import type { Machine } from '../../vmm-core/machine/machine';
import {
  CODE_ADDRESS, createMachine, encode, NO_TRAP, ProgramBuilder, readCsrValue, readDoubleword, runInstructions,
  setPrivilege, step, writeDoubleword, X,
} from '../support/assemble';

const TSELECT = 0x7a0, TDATA1 = 0x7a1, TDATA2 = 0x7a2, TDATA3 = 0x7a3, TINFO = 0x7a4, TCONTROL = 0x7a5;
const TYPE2 = 2n << 60n, TYPE6 = 6n << 60n;
const LOAD = 1n, STORE = 2n, EXECUTE = 4n, U = 8n, S = 16n, M = 64n;
const M_MODE = Privilege.Machine;
const DATA = 0x8000_3000n;
const TRAP_VECTOR = 0x8000_0800;

function machineWithTriggers(cpu?: string): Machine {
  const machine = createMachine({ openPmp: true, cpu });
  machine.harts[0].mtvecLo = TRAP_VECTOR;
  return machine;
}

/** csrw csr, value in M-mode (through the monitor's CSR rules); the outcome of the write. */
function csrWrite(machine: Machine, csr: number, value: bigint, privilege = M_MODE) {
  return runInstructions(machine, privilege, [encode('csrrw', { rd: 0, rs1: X.t0, csr })], [[X.t0, value]]);
}

function csrRead(machine: Machine, csr: number): bigint {
  const outcome = runInstructions(machine, M_MODE, [encode('csrrs', { rd: X.a0, rs1: 0, csr })]);
  assert.equal(outcome.cause, NO_TRAP, `csrr 0x${csr.toString(16)}`);
  return BigInt.asUintN(64, machine.harts[0].readRegister(X.a0));
}

/** Arms trigger `index` with tdata1 = control, tdata2 = address. */
function arm(machine: Machine, index: number, control: bigint, address: bigint): void {
  csrWrite(machine, TSELECT, BigInt(index));
  csrWrite(machine, TDATA1, control);
  csrWrite(machine, TDATA2, address);
}

describe('Sdtrig CSRs (QEMU 7.2 rules)', () => {
  it('two triggers of type 2 after reset; tselect keeps its value for an index past them; tinfo says types 2 and 6', () => {
    const machine = machineWithTriggers();
    assert.equal(csrRead(machine, TINFO), 0x44n);
    for (const index of [0n, 1n]) {
      csrWrite(machine, TSELECT, index);
      assert.equal(csrRead(machine, TSELECT), index);
      assert.equal(csrRead(machine, TDATA1), TYPE2);
      assert.equal(csrRead(machine, TDATA2), 0n);
      assert.equal(csrRead(machine, TDATA3), 0n);
    }
    csrWrite(machine, TSELECT, 2n);
    assert.equal(csrRead(machine, TSELECT), 1n);
    csrWrite(machine, TSELECT, 1n << 40n);
    assert.equal(csrRead(machine, TSELECT), 1n);
    // tinfo and tdata3 ignore writes (no trap).
    assert.equal(csrWrite(machine, TINFO, 0n).cause, NO_TRAP);
    assert.equal(csrRead(machine, TINFO), 0x44n);
    assert.equal(csrWrite(machine, TDATA3, 0x1234n).cause, NO_TRAP);
    assert.equal(csrRead(machine, TDATA3), 0n);
  });

  it('tdata1 keeps type, the U/S/M and load/store/execute bits and a supported size; the rest reads zero', () => {
    const machine = machineWithTriggers();
    csrWrite(machine, TSELECT, 0n);
    // dmode (59), hit (20), select (19), timing (18), action (15:12), chain (11), match (10:7) all set.
    const unimplemented = (1n << 59n) | (1n << 20n) | (1n << 19n) | (1n << 18n) | (0xfn << 12n) | (1n << 11n) | (0xfn << 7n);
    csrWrite(machine, TDATA1, TYPE2 | unimplemented | M | S | U | LOAD | STORE | EXECUTE | (1n << 16n));
    assert.equal(csrRead(machine, TDATA1), TYPE2 | M | S | U | LOAD | STORE | EXECUTE | (1n << 16n));
    // mcontrol size 5 (sizehi 1, sizelo 1) = 8 bytes is kept; size 4 (6 bytes) becomes 0 (any).
    csrWrite(machine, TDATA1, TYPE2 | M | LOAD | (1n << 21n) | (1n << 16n));
    assert.equal(csrRead(machine, TDATA1), TYPE2 | M | LOAD | (1n << 21n) | (1n << 16n));
    csrWrite(machine, TDATA1, TYPE2 | M | LOAD | (1n << 21n));
    assert.equal(csrRead(machine, TDATA1), TYPE2 | M | LOAD);
    // mcontrol6: size 19:16 and the VU/VS bits are kept; its hit, select and timing are 22, 21, 20.
    const unimplemented6 = (1n << 59n) | (1n << 22n) | (1n << 21n) | (1n << 20n) | (0xfn << 12n) | (1n << 11n) | (0xfn << 7n);
    csrWrite(machine, TDATA1, TYPE6 | (1n << 24n) | (1n << 23n) | M | STORE | (3n << 16n) | unimplemented6);
    assert.equal(csrRead(machine, TDATA1), TYPE6 | (1n << 24n) | (1n << 23n) | M | STORE | (3n << 16n));
    // Any other type leaves the trigger as it was.
    for (const type of [0n, 3n, 4n, 5n, 7n, 15n]) {
      csrWrite(machine, TDATA1, (type << 60n) | M | EXECUTE);
      assert.equal(csrRead(machine, TDATA1), TYPE6 | (1n << 24n) | (1n << 23n) | M | STORE | (3n << 16n), `type ${type}`);
    }
    csrWrite(machine, TDATA2, 0xffff_ffff_ffff_fff0n);
    assert.equal(csrRead(machine, TDATA2), 0xffff_ffff_ffff_fff0n);
    // The other trigger is untouched.
    csrWrite(machine, TSELECT, 1n);
    assert.equal(csrRead(machine, TDATA1), TYPE2);
  });

  it('are M-mode only, tcontrol does not exist, and a model without Sdtrig has none of them', () => {
    const machine = machineWithTriggers();
    assert.equal(runInstructions(machine, M_MODE, [encode('csrrs', { rd: X.a0, rs1: 0, csr: TCONTROL })]).cause, ExceptionCause.IllegalInstruction);
    for (const csr of [TSELECT, TDATA1, TDATA2, TDATA3, TINFO]) {
      assert.equal(runInstructions(machine, Privilege.Supervisor, [encode('csrrs', { rd: X.a0, rs1: 0, csr })]).cause,
        ExceptionCause.IllegalInstruction, `S-mode csrr 0x${csr.toString(16)}`);
    }
    for (const cpu of ['rv64,sdtrig=off', 'rv64,debug=off', 'rv64gc']) {
      const without = machineWithTriggers(cpu);
      for (const csr of [TSELECT, TDATA1, TDATA2, TDATA3, TINFO]) {
        const outcome = runInstructions(without, M_MODE, [encode('csrrs', { rd: X.a0, rs1: 0, csr })]);
        assert.equal(outcome.cause, ExceptionCause.IllegalInstruction, `${cpu}: csrr 0x${csr.toString(16)}`);
      }
    }
  });
});

describe('Sdtrig matches', () => {
  it('an execute trigger raises a breakpoint before the instruction: mepc = its pc, mtval 0, nothing retired', () => {
    const machine = machineWithTriggers();
    const hart = machine.harts[0];
    const target = CODE_ADDRESS + 4n;
    arm(machine, 1, TYPE2 | M | EXECUTE, target);
    hart.mtvalLo = 0x1234;
    const words = [encode('addi', { rd: X.a1, rs1: X.a1, imm: 1 }), encode('addi', { rd: X.a0, rs1: X.a0, imm: 1 })];
    const retired = hart.instructionsRetired;
    const outcome = runInstructions(machine, M_MODE, words, [[X.a0, 10n], [X.a1, 20n]]);
    assert.equal(outcome.cause, ExceptionCause.Breakpoint);
    assert.equal(outcome.epc, target);
    assert.equal(outcome.tval, 0n);
    assert.equal(hart.readRegister(X.a1), 21n, 'the instruction before ran');
    assert.equal(hart.readRegister(X.a0), 10n, 'the instruction at the trigger did not');
    assert.equal(hart.instructionsRetired - retired, 1);
  });

  it('fires only in the privilege modes its U/S/M bits name (mcontrol and mcontrol6)', () => {
    for (const type of [TYPE2, TYPE6]) {
      const machine = machineWithTriggers();
      arm(machine, 0, type | S | EXECUTE, CODE_ADDRESS);
      const word = [encode('addi', { rd: X.a0, rs1: X.a0, imm: 1 })];
      assert.equal(runInstructions(machine, M_MODE, word).cause, NO_TRAP, 'not in M');
      assert.equal(runInstructions(machine, Privilege.User, word).cause, NO_TRAP, 'not in U');
      const inS = runInstructions(machine, Privilege.Supervisor, word);
      assert.equal(inS.cause, ExceptionCause.Breakpoint, 'in S');
      assert.equal(inS.epc, CODE_ADDRESS);
      // Without any mode bit the trigger is off.
      arm(machine, 0, type | EXECUTE, CODE_ADDRESS);
      assert.equal(runInstructions(machine, Privilege.Supervisor, word).cause, NO_TRAP);
    }
  });

  it('load and store triggers fire before the access, on overlap with their size (8 bytes for any)', () => {
    const machine = machineWithTriggers();
    const hart = machine.harts[0];
    writeDoubleword(machine, DATA, 0x1111_2222_3333_4444n);
    const load = (offset: bigint, mnemonic = 'lw') =>
      runInstructions(machine, M_MODE, [encode(mnemonic, { rd: X.a0, rs1: X.t0, imm: 0 })], [[X.t0, DATA + offset], [X.a0, 0x77n]]);
    const store = (offset: bigint, mnemonic = 'sw') =>
      runInstructions(machine, M_MODE, [encode(mnemonic, { rs2: X.t1, rs1: X.t0, imm: 0 })], [[X.t0, DATA + offset], [X.t1, -1n]]);

    arm(machine, 0, TYPE2 | M | LOAD, DATA);
    assert.equal(load(0n).cause, ExceptionCause.Breakpoint);
    assert.equal(hart.readRegister(X.a0), 0x77n, 'the load did not happen');
    assert.equal(load(4n).cause, ExceptionCause.Breakpoint, 'size any covers 8 bytes');
    assert.equal(load(8n).cause, NO_TRAP);
    assert.equal(load(-4n, 'ld').cause, ExceptionCause.Breakpoint, 'an access that overlaps the start');
    assert.equal(load(-8n, 'ld').cause, NO_TRAP);
    assert.equal(store(0n).cause, NO_TRAP, 'a load trigger ignores stores');

    // mcontrol size 2 (2 bytes): bytes 0 and 1 only.
    arm(machine, 0, TYPE2 | M | STORE | (2n << 16n), DATA);
    assert.equal(store(2n, 'sh').cause, NO_TRAP);
    assert.equal(store(1n, 'sb').cause, ExceptionCause.Breakpoint);
    assert.equal(store(0n, 'sd').cause, ExceptionCause.Breakpoint);
    assert.equal(readDoubleword(machine, DATA), 0x1111_2222_ffff_ffffn, 'only the first store (at +2) happened');
    assert.equal(load(0n).cause, NO_TRAP, 'a store trigger ignores loads');
  });

  it('AMOs match load or store triggers, LR loads, SC stores (and a failing SC nothing)', () => {
    const machine = machineWithTriggers();
    const amo = (mnemonic: string) => runInstructions(machine, M_MODE,
      [encode(mnemonic, { rd: X.a0, rs1: X.t0, rs2: X.t1 })], [[X.t0, DATA], [X.t1, 1n]]);
    arm(machine, 0, TYPE2 | M | LOAD, DATA);
    assert.equal(amo('amoadd.d').cause, ExceptionCause.Breakpoint);
    assert.equal(amo('lr.d').cause, ExceptionCause.Breakpoint);
    machine.harts[0].reservationAddress = -1;
    assert.equal(amo('sc.d').cause, NO_TRAP);
    arm(machine, 0, TYPE6 | M | STORE, DATA);
    assert.equal(amo('amoswap.w').cause, ExceptionCause.Breakpoint);
    assert.equal(amo('lr.w').cause, NO_TRAP);
    assert.equal(amo('sc.w').cause, ExceptionCause.Breakpoint, 'an SC with its reservation would store');
    machine.harts[0].reservationAddress = -1;
    assert.equal(amo('sc.w').cause, NO_TRAP, 'an SC without a reservation makes no access');
  });

  it('only pages an armed trigger covers leave the TLB fast path', () => {
    const machine = machineWithTriggers();
    const mmu = machine.mmus[0];
    const fetchTwice = (pc: bigint) => {
      mmu.flush();
      mmu.fetch(Number(pc & 0xffff_ffffn) | 0, 0);
      mmu.fetch(Number(pc & 0xffff_ffffn) | 0, 0);
      return mmu.lastFetchPageBase;
    };
    assert.ok(fetchTwice(CODE_ADDRESS) >= 0, 'nothing armed: the page enters the TLB');
    arm(machine, 0, TYPE2 | M | EXECUTE, CODE_ADDRESS + 0x40n);
    setPrivilege(machine, M_MODE);
    assert.equal(fetchTwice(CODE_ADDRESS), -1, 'the trigger\'s page stays out');
    assert.ok(fetchTwice(CODE_ADDRESS + 0x1000n) >= 0, 'other pages do not pay');
    arm(machine, 0, TYPE2 | EXECUTE, CODE_ADDRESS + 0x40n);
    assert.ok(fetchTwice(CODE_ADDRESS) >= 0, 'disarmed (no mode bit): back on the fast path');
  });
});

describe('Sdtrig and the debugger', () => {
  it('the debugger\'s breakpoint at the same pc stops first; resuming takes the guest\'s breakpoint exception', () => {
    const program = new ProgramBuilder()
      .la(X.t0, 'handler').csrw(0x305, X.t0)
      .la(X.t0, 'target').csrw(TDATA2, X.t0)
      .li(X.t0, TYPE2 | M | EXECUTE).csrw(TDATA1, X.t0)
      .label('target')
      .emit('addi', { rd: X.a3, rs1: X.a3, imm: 1 })
      .emit('addi', { rd: X.a4, rs1: X.a4, imm: 1 })
      .li(X.t0, 0x10_0000n).li(X.t1, 0x5555n)
      .emit('sw', { rs2: X.t1, rs1: X.t0, imm: 0 })
      .label('spin').emit('jal', { rd: 0 }, 'spin')
      .label('handler')
      .emit('addi', { rd: X.a2, rs1: X.a2, imm: 1 })
      .csrr(X.t2, 0x341).emit('addi', { rd: X.t2, rs1: X.t2, imm: 4 }).csrw(0x341, X.t2)
      .emit('mret');
    const machine = createMachine({ program });
    const hart = machine.harts[0];
    const debug = new Debugger(machine);
    const target = program.address('target');
    debug.addCodeBreakpoint({ address: target });
    debug.addEventBreakpoint({ kind: 'trap', interrupt: false, code: ExceptionCause.Breakpoint });

    const first = debug.continue(10_000);
    assert.equal(first?.reason, 'breakpoint');
    assert.equal(first?.pc, target);
    assert.equal(hart.trapsTaken, 0, 'no trap yet: the external stop came first');

    const second = debug.continue(10_000);
    assert.equal(second?.reason, 'trap');
    assert.ok(second?.reason === 'trap');
    assert.equal(second.cause, ExceptionCause.Breakpoint);
    assert.equal(second.epc, target);
    assert.equal(second.tval, 0n);
    assert.equal(second.pc, program.address('handler'));

    const end = debug.continue(10_000);
    assert.equal(end?.reason, 'exit');
    assert.equal(hart.readRegister(X.a3), 0n, 'the handler skipped the triggering instruction');
    assert.equal(hart.readRegister(X.a4), 1n);
    assert.equal(hart.readRegister(X.a2), 1n);
  });

  it('a single step onto an armed trigger ends in the handler, as a trap counts as one step', () => {
    const machine = machineWithTriggers();
    arm(machine, 0, TYPE2 | M | EXECUTE, CODE_ADDRESS);
    const hart = machine.harts[0];
    setPrivilege(machine, M_MODE);
    hart.pc = CODE_ADDRESS;
    step(machine);
    assert.equal(hart.mcauseLo, ExceptionCause.Breakpoint);
    assert.equal(hart.pc, BigInt(TRAP_VECTOR));
    assert.equal(readCsrValue(machine, 0x341), CODE_ADDRESS);
  });
});
