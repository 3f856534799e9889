// Exit accounting and run-loop behaviour: how many times execution left the fast path, by kind,
// after programs that do a known number of ecalls, CSR accesses, traps and device accesses;
// and the run loop's handling of guest resets and of a single stopped hart.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FIRMWARE_KERNEL_ADDRESS } from '../../vmm-core/machine/layout';
import { EXIT_KINDS, type ExitKind } from '../../vmm-core/monitor/exits';
import { SBI_EXTENSION } from '../../vmm-core/monitor/sbi';
import { createMachine, ProgramBuilder, X } from '../support/assemble';

const MTVEC = 0x305, MEPC = 0x341, MSCRATCH = 0x340, MIE = 0x304, TIME = 0xc01;
const UART_LSR = 0x1000_0005, CLINT_MSIP = 0x0200_0000, FINISHER = 0x10_0000;

const zeroCounts = (): Record<ExitKind, number> => Object.fromEntries(EXIT_KINDS.map((kind) => [kind, 0])) as Record<ExitKind, number>;

describe('exit counters', () => {
  it('count each kind of exit of a bare-metal program', () => {
    const ECALLS = 5, CSR_READS = 3;
    const program = new ProgramBuilder()
      .la(X.t0, 'handler')
      .csrw(MTVEC, X.t0); // 1 CSR
    for (let i = 0; i < ECALLS; i++) program.emit('ecall'); // 5 ecalls, each handled: 2 CSRs + mret
    for (let i = 0; i < CSR_READS; i++) program.csrr(X.a0, MSCRATCH);
    program
      .emit('fence.i').emit('fence.i')
      .emit('sfence.vma', { rs1: 0, rs2: 0 })
      .emit('fence') // not an exit
      .emit('ebreak') // handled: 2 CSRs + mret
      .emit('c.ebreak') // handled: the handler skips 4 bytes, so pad with a c.nop
      .emit('c.addi', { rd: 0, imm: 0 });
    program
      .li(X.t1, UART_LSR)
      .emit('lb', { rd: X.a1, rs1: X.t1, imm: 0 }) // device access
      .emit('lb', { rd: X.a1, rs1: X.t1, imm: 0 }) // device access
      .emit('ld', { rd: X.a1, rs1: 0, imm: 8 }) // nothing there: a bus access that ends in an access fault (handled)
      .emit('addi', { rd: X.t0, rs1: 0, imm: 8 })
      .csrw(MIE, X.t0) // MSIE
      .li(X.t1, CLINT_MSIP)
      .emit('addi', { rd: X.t0, rs1: 0, imm: 1 })
      .emit('sw', { rs1: X.t1, rs2: X.t0, imm: 0 }) // device access: MSIP pending (MIE = 0, not taken)
      .emit('wfi') // returns at once: an enabled interrupt is pending
      .label('illegal')
      .emit('addi', { rd: 0, rs1: 0, imm: 0 }); // replaced by an illegal word below
    program
      .li(X.t1, FINISHER)
      .li(X.t0, 0x5555)
      .emit('sw', { rs1: X.t1, rs2: X.t0, imm: 0 }) // device access: pass
      .label('handler')
      .csrr(X.t5, MEPC)
      .emit('addi', { rd: X.t5, rs1: X.t5, imm: 4 })
      .csrw(MEPC, X.t5)
      .emit('mret');
    const words = program.words();
    const machine = createMachine({ program: words });
    machine.writePhysical(program.address('illegal'), Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    const result = machine.run(10_000);
    assert.deepEqual(result, { kind: 'exit', exit: { kind: 'pass', code: 0, source: 'finisher' } });

    const handled = ECALLS + 2 /* ebreaks */ + 1 /* access fault */ + 1 /* illegal */;
    assert.deepEqual(machine.monitor.exits.snapshot(), {
      ...zeroCounts(),
      exception: 1,
      ecall: ECALLS,
      ebreak: 2,
      csr: 1 + CSR_READS + 1 + 2 * handled,
      mret: handled,
      wfi: 1,
      'sfence.vma': 1,
      'fence.i': 2,
      'illegal-instruction': 1,
      'device-access': 5, // two UART reads, the unmapped load, msip, the finisher
    });
  });

  it('count SBI calls and interrupts in direct boot', () => {
    const CALLS = 4;
    const program = new ProgramBuilder(BigInt(FIRMWARE_KERNEL_ADDRESS))
      .la(X.t0, 'handler')
      .csrw(0x105, X.t0)
      .emit('addi', { rd: X.t0, rs1: 0, imm: 0x20 })
      .emit('csrrs', { rd: 0, rs1: X.t0, csr: 0x104 }) // sie.STIE
      .emit('csrrsi', { rd: 0, imm: 2, csr: 0x100 }); // sstatus.SIE
    for (let i = 0; i < CALLS; i++) {
      program.li(X.a7, SBI_EXTENSION.base).emit('addi', { rd: X.a6, rs1: 0, imm: 0 }).emit('ecall');
    }
    program
      .li(X.a7, SBI_EXTENSION.time).emit('addi', { rd: X.a6, rs1: 0, imm: 0 }).emit('addi', { rd: X.a0, rs1: 0, imm: 5 })
      .emit('ecall') // set_timer(5)
      .label('wait')
      .emit('jal', { rd: 0 }, 'wait')
      .label('handler')
      .csrr(X.s1, TIME)
      .li(X.a7, SBI_EXTENSION.srst).emit('addi', { rd: X.a6, rs1: 0, imm: 0 })
      .emit('addi', { rd: X.a0, rs1: 0, imm: 0 }).emit('addi', { rd: X.a1, rs1: 0, imm: 0 })
      .emit('ecall'); // shutdown
    const machine = createMachine({ program, bios: 'builtin' });
    assert.equal(machine.run(100_000).kind, 'exit');
    const counts = machine.monitor.exits.snapshot();
    assert.equal(counts.sbi, CALLS + 2);
    assert.equal(counts.ecall, CALLS + 2);
    assert.equal(counts.interrupt, 1);
    assert.equal(counts.csr, 4);
    assert.equal(counts.exception, 0);
    assert.equal(machine.monitor.sbi!.callCounts.get(SBI_EXTENSION.base), CALLS);
  });
});

describe('run loop', () => {
  it('a test-finisher reset restarts the program from its entry with fresh state', () => {
    let output = '';
    const program = new ProgramBuilder()
      .emit('addi', { rd: X.s0, rs1: X.s0, imm: 1 })
      .li(X.t0, 0x1000_0000)
      .emit('addi', { rd: X.t1, rs1: 0, imm: 0x41 })
      .emit('sb', { rs1: X.t0, rs2: X.t1, imm: 0 }) // 'A'
      .li(X.t2, FINISHER)
      .li(X.t1, 0x7777)
      .emit('sw', { rs1: X.t2, rs2: X.t1, imm: 0 }) // reset
      .emit('addi', { rd: X.t1, rs1: 0, imm: 0x42 })
      .emit('sb', { rs1: X.t0, rs2: X.t1, imm: 0 }) // 'B': never
      .label('spin')
      .emit('jal', { rd: 0 }, 'spin');
    const machine = createMachine({ program, consoleOutput: (byte) => { output += String.fromCharCode(byte); } });
    const hart = machine.harts[0];
    assert.deepEqual(machine.run(1000), { kind: 'budget' }, 'the run returns at the reset');
    assert.equal(output, 'A');
    assert.equal(hart.pc, program.base);
    assert.equal(hart.readRegister(X.s0), 0n, 'registers are reset');
    assert.equal(hart.readRegister(X.a1), BigInt(machine.dtbAddress));
    assert.equal(hart.instructionsRetired, 0);
    machine.run(1000);
    machine.run(1000);
    assert.equal(output, 'AAA');
  });

  it('running a single stopped hart returns at once', () => {
    const machine = createMachine({ bios: 'builtin', hartCount: 2 });
    assert.deepEqual(machine.run(100, 1), { kind: 'budget' });
    assert.equal(machine.harts[1].instructionsRetired, 0);
  });
});
