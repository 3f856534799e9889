// The built-in SBI of direct boot (`bios: 'builtin'`): the state the kernel is entered with,
// and every extension: base, TIME, IPI, RFENCE, HSM, SRST, DBCN and the legacy calls. Each call
// is a real ecall executed by the hart in S-mode.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExceptionCause, Mstatus, Privilege } from '../../vmm-core/cpu/csr-numbers';
import { parseDeviceTree } from '../../vmm-core/machine/fdt';
import { FIRMWARE_KERNEL_ADDRESS, RAM_BASE } from '../../vmm-core/machine/layout';
import type { Machine } from '../../vmm-core/machine/machine';
import { HartState, SBI_EXTENSION, SBI_IMPLEMENTATION_ID, SbiError } from '../../vmm-core/monitor/sbi';
import { createMachine, encode, ProgramBuilder, readCsrValue, setPrivilege, step, writeInstructions, X } from '../support/assemble';

const ENTRY = BigInt(FIRMWARE_KERNEL_ADDRESS);
/** Each hart makes its calls from its own slot above the kernel entry. */
const callSite = (hartId: number) => ENTRY + 0x1000n + BigInt(hartId) * 0x100n;

interface SbiReturn {
  error: number;
  value: bigint;
}

function directBoot(options: { hartCount?: number; program?: ProgramBuilder; consoleBytes?: number[] } = {}): Machine {
  return createMachine({
    bios: 'builtin',
    hartCount: options.hartCount,
    program: options.program,
    consoleOutput: options.consoleBytes === undefined ? undefined : (byte) => options.consoleBytes!.push(byte),
  });
}

/** Executes one ecall on `hartId` with a7 = extension, a6 = function, a0.. = arguments. */
function sbiCall(machine: Machine, extension: number, functionId: number, args: readonly bigint[] = [], hartId = 0): SbiReturn {
  const hart = machine.harts[hartId];
  hart.writeRegister(X.a7, BigInt(extension));
  hart.writeRegister(X.a6, BigInt(functionId));
  for (let i = 0; i < 6; i++) hart.writeRegister(X.a0 + i, args[i] ?? 0n);
  const site = callSite(hartId);
  writeInstructions(machine, site, [encode('ecall')]);
  hart.pc = site;
  const retired = hart.instructionsRetired;
  step(machine, 1, hartId);
  assert.equal(hart.pc, site + 4n, 'the SBI call returns to the next instruction');
  assert.equal(hart.privilege, Privilege.Supervisor);
  assert.equal(hart.instructionsRetired, retired + 1, 'an SBI call retires like one instruction');
  return { error: Number(hart.readRegister(X.a0)), value: hart.readRegister(X.a1) };
}

const text = (bytes: readonly number[]) => String.fromCharCode(...bytes);

describe('direct boot entry state', () => {
  it('enters the kernel in S-mode with a0 = hart id and a1 = a valid device tree', () => {
    const machine = directBoot({ hartCount: 2 });
    const hart = machine.harts[0];
    assert.equal(hart.privilege, Privilege.Supervisor);
    assert.equal(hart.pc, ENTRY);
    assert.equal(hart.readRegister(X.a0), 0n);
    const dtb = hart.readRegister(X.a1);
    assert.equal(dtb, BigInt(machine.dtbAddress));
    assert.equal(dtb % 8n, 0n);
    const header = machine.readPhysical(dtb, 8)!;
    const view = new DataView(header.buffer, header.byteOffset, 8);
    assert.equal(view.getUint32(0), 0xd00d_feed);
    const tree = parseDeviceTree(machine.readPhysical(dtb, view.getUint32(4))!);
    const memory = tree.children.find((node) => node.name.startsWith('memory@'))!;
    assert.deepEqual(memory.getCells('reg'), [0, RAM_BASE, 0, machine.config.memoryBytes]);
    assert.equal(tree.find('cpus')!.children.filter((node) => node.name.startsWith('cpu@')).length, 2);
    assert.ok(tree.find('chosen')!.getString('stdout-path') !== undefined);
  });

  it('prepares M-mode as firmware would: delegation, counters, PMP, no translation', () => {
    const machine = directBoot();
    const hart = machine.harts[0];
    assert.equal(hart.medeleg, 0xb1ff);
    assert.equal(hart.medeleg & (1 << ExceptionCause.EnvironmentCallFromSupervisor), 0, 'S ecalls are the SBI');
    for (const cause of [ExceptionCause.IllegalInstruction, ExceptionCause.Breakpoint, ExceptionCause.EnvironmentCallFromUser,
      ExceptionCause.InstructionPageFault, ExceptionCause.LoadPageFault, ExceptionCause.StorePageFault]) {
      assert.notEqual(hart.medeleg & (1 << cause), 0, `cause ${cause} delegated`);
    }
    assert.equal(hart.mideleg, 0x222);
    assert.equal(hart.mcounteren, 7);
    assert.equal(readCsrValue(machine, 0x180), 0n, 'satp bare');
    assert.equal(hart.mstatus & (Mstatus.SIE | Mstatus.MPRV), 0);
    assert.equal(hart.pmp.allows(RAM_BASE, 8, 2, false), true, 'S may write RAM');
    assert.equal(hart.pmp.allows(0x1000_0000, 1, 1, false), true, 'S may reach the devices');
  });

  it('lets U-mode read time, cycle and instret, as OpenSBI does with scounteren = 7 (glibc vDSO)', () => {
    const machine = directBoot();
    const hart = machine.harts[0];
    assert.equal(hart.scounteren, 7, 'Linux never writes scounteren itself');
    hart.stvecLo = Number(ENTRY + 0x2000n);
    setPrivilege(machine, Privilege.User);
    const site = ENTRY + 0x1000n;
    writeInstructions(machine, site, [encode('csrrs', { rd: X.a0, rs1: 0, csr: 0xc01 })]); // rdtime a0
    hart.pc = site;
    step(machine);
    assert.equal(hart.privilege, Privilege.User, 'no illegal-instruction trap');
    assert.equal(hart.pc, site + 4n);
  });

  it('the other harts wait, stopped, for hart_start', () => {
    const machine = directBoot({ hartCount: 3 });
    assert.deepEqual(machine.hartStates, [HartState.Started, HartState.Stopped, HartState.Stopped]);
    assert.equal(machine.harts[2].readRegister(X.a0), 2n);
  });
});

describe('base extension', () => {
  const machine = directBoot();
  it('reports spec version 2.0, the implementation id and version, and zero machine ids', () => {
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.base, 0), { error: 0, value: 0x0200_0000n });
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.base, 1), { error: 0, value: BigInt(SBI_IMPLEMENTATION_ID) });
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.base, 2), { error: 0, value: 1n });
    for (const functionId of [4, 5, 6]) assert.deepEqual(sbiCall(machine, SBI_EXTENSION.base, functionId), { error: 0, value: 0n });
    assert.equal(sbiCall(machine, SBI_EXTENSION.base, 99).error, SbiError.NotSupported);
  });

  it('probe_extension: 1 for every implemented extension and the legacy ones, 0 otherwise', () => {
    for (const extension of Object.values(SBI_EXTENSION)) {
      assert.deepEqual(sbiCall(machine, SBI_EXTENSION.base, 3, [BigInt(extension)]), { error: 0, value: 1n }, `0x${extension.toString(16)}`);
    }
    assert.equal(sbiCall(machine, SBI_EXTENSION.base, 3, [1n]).value, 1n, 'legacy console putchar');
    for (const absent of [0x50_4d55n /* PMU */, 0x5355_5350n /* SUSP */, 0x4353_5043n /* CPPC */, 0x1234_5678n]) {
      assert.deepEqual(sbiCall(machine, SBI_EXTENSION.base, 3, [absent]), { error: 0, value: 0n }, `0x${absent.toString(16)}`);
    }
  });

  it('an unknown extension answers SBI_ERR_NOT_SUPPORTED (-2)', () => {
    const result = sbiCall(machine, 0x0bad_0e1d, 0, [5n, 6n]);
    assert.equal(result.error, -2);
    assert.equal(result.value, 0n);
  });
});

describe('TIME, IPI and RFENCE', () => {
  it('set_timer raises STIP at the deadline and the S-mode timer interrupt is taken when enabled', () => {
    const program = new ProgramBuilder(ENTRY)
      .la(X.t0, 'handler')
      .csrw(0x105, X.t0) // stvec
      .emit('addi', { rd: X.t0, rs1: 0, imm: 0x20 })
      .emit('csrrs', { rd: 0, rs1: X.t0, csr: 0x104 }) // sie.STIE
      .emit('csrrsi', { rd: 0, imm: 2, csr: 0x100 }) // sstatus.SIE
      .li(X.a7, SBI_EXTENSION.time)
      .emit('addi', { rd: X.a6, rs1: 0, imm: 0 })
      .emit('addi', { rd: X.a0, rs1: 0, imm: 7 }) // deadline: mtime 7
      .emit('ecall')
      .label('loop')
      .emit('addi', { rd: X.s1, rs1: X.s1, imm: 1 })
      .emit('jal', { rd: 0 }, 'loop')
      .label('handler')
      .csrr(X.s2, 0x142) // scause
      .csrr(X.s3, 0xc01) // time
      .csrr(X.s4, 0x144) // sip
      .label('done')
      .emit('jal', { rd: 0 }, 'done');
    const machine = directBoot({ program });
    const hart = machine.harts[0];
    machine.run(2000);
    assert.equal(hart.pc, program.address('done'));
    assert.equal(BigInt.asUintN(64, hart.readRegister(X.s2)), (1n << 63n) | 5n);
    assert.equal(hart.readRegister(X.s3), 7n, 'taken when mtime reached the deadline');
    assert.equal(hart.readRegister(X.s4) & 0x20n, 0x20n, 'STIP pending in sip');
    assert.equal(hart.privilege, Privilege.Supervisor);
    assert.ok(hart.readRegister(X.s1) > 300n, 'the loop ran until the deadline');

    // A new deadline in the future clears STIP.
    sbiCall(machine, SBI_EXTENSION.time, 0, [1n << 60n]);
    assert.equal(hart.mip & 0x20, 0);
  });

  it('send_ipi to self sets SSIP; a mask naming no hart is an invalid parameter', () => {
    const machine = directBoot({ hartCount: 2 });
    const hart = machine.harts[0];
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.ipi, 0, [1n, 0n]), { error: 0, value: 0n });
    assert.equal(hart.mip & 2, 2);
    assert.equal(machine.harts[1].mip & 2, 0);
    assert.equal(readCsrValue(machine, 0x144) & 2n, 2n, 'visible in sip');
    assert.equal(sbiCall(machine, SBI_EXTENSION.ipi, 0, [1n, 5n]).error, SbiError.InvalidParameter);
    // hart_mask_base = -1: every hart.
    assert.equal(sbiCall(machine, SBI_EXTENSION.ipi, 0, [0n, -1n]).error, 0);
    assert.equal(machine.harts[1].mip & 2, 2);
  });

  it('RFENCE: fence.i, sfence.vma and sfence.vma.asid succeed; the hypervisor fences are not supported', () => {
    const machine = directBoot({ hartCount: 2 });
    for (const functionId of [0, 1, 2]) {
      assert.deepEqual(sbiCall(machine, SBI_EXTENSION.rfence, functionId, [3n, 0n, 0n, 0x1000n, 1n]), { error: 0, value: 0n });
    }
    for (const functionId of [3, 4, 5, 6, 7]) {
      assert.equal(sbiCall(machine, SBI_EXTENSION.rfence, functionId, [1n, 0n]).error, SbiError.NotSupported);
    }
  });
});

describe('HSM', () => {
  it('hart_start starts a stopped hart in S-mode at the address with a0 = hart id and a1 = opaque', () => {
    const machine = directBoot({ hartCount: 2 });
    const second = machine.harts[1];
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.hsm, 2, [1n]), { error: 0, value: BigInt(HartState.Stopped) });
    const start = ENTRY + 0x2000n;
    writeInstructions(machine, start, [encode('addi', { rd: X.a2, rs1: X.a0, imm: 5 })]);
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.hsm, 0, [1n, start, 0xabcdn]), { error: 0, value: 0n });
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.hsm, 2, [1n]), { error: 0, value: BigInt(HartState.Started) });
    assert.equal(second.privilege, Privilege.Supervisor);
    assert.equal(second.pc, start);
    assert.equal(second.readRegister(X.a0), 1n);
    assert.equal(second.readRegister(X.a1), 0xabcdn);
    assert.equal(readCsrValue(machine, 0x180, 1), 0n, 'satp off');
    assert.equal(second.mstatus & Mstatus.SIE, 0, 'interrupts off');
    step(machine, 1, 1);
    assert.equal(second.readRegister(X.a2), 6n, 'it executes from there');

    assert.equal(sbiCall(machine, SBI_EXTENSION.hsm, 0, [1n, start, 0n]).error, SbiError.AlreadyAvailable);
    assert.equal(sbiCall(machine, SBI_EXTENSION.hsm, 0, [7n, start, 0n]).error, SbiError.InvalidParameter);
    assert.equal(sbiCall(machine, SBI_EXTENSION.hsm, 2, [7n]).error, SbiError.InvalidParameter);
  });

  it('hart_stop stops the calling hart; running it alone then returns instead of spinning', () => {
    const machine = directBoot({ hartCount: 2 });
    const start = ENTRY + 0x2000n;
    sbiCall(machine, SBI_EXTENSION.hsm, 0, [1n, start, 0n]);
    sbiCall(machine, SBI_EXTENSION.hsm, 1, [], 1);
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.hsm, 2, [1n]), { error: 0, value: BigInt(HartState.Stopped) });
    const retired = machine.harts[1].instructionsRetired;
    assert.deepEqual(machine.run(100, 1), { kind: 'budget' });
    assert.equal(machine.harts[1].instructionsRetired, retired);
    // And it can be started again.
    assert.equal(sbiCall(machine, SBI_EXTENSION.hsm, 0, [1n, start, 9n]).error, 0);
    assert.equal(machine.harts[1].readRegister(X.a1), 9n);
  });

  it('hart_suspend: the default retentive suspend waits like wfi; other types are not supported', () => {
    const machine = directBoot();
    const hart = machine.harts[0];
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.hsm, 3, [0n, 0n, 0n]), { error: 0, value: 0n });
    assert.equal(hart.waitingForInterrupt, true);
    hart.waitingForInterrupt = false;
    assert.equal(sbiCall(machine, SBI_EXTENSION.hsm, 3, [0x8000_0000n, ENTRY, 0n]).error, SbiError.NotSupported);
    // With an enabled interrupt already pending it returns at once.
    hart.mie = 0x20;
    hart.mipHardware = 0x20;
    sbiCall(machine, SBI_EXTENSION.hsm, 3, [0n]);
    assert.equal(hart.waitingForInterrupt, false);
  });

  it('a hart that stops itself inside a single-hart run ends that run', () => {
    const program = new ProgramBuilder(ENTRY + 0x3000n)
      .li(X.a7, SBI_EXTENSION.hsm)
      .emit('addi', { rd: X.a6, rs1: 0, imm: 1 }) // hart_stop
      .emit('ecall')
      .label('after')
      .emit('jal', { rd: 0 }, 'after');
    const machine = directBoot({ hartCount: 2 });
    writeInstructions(machine, program.base, program.words());
    sbiCall(machine, SBI_EXTENSION.hsm, 0, [1n, program.base, 0n]);
    assert.deepEqual(machine.run(1000, 1), { kind: 'budget' });
    assert.equal(machine.hartStates[1], HartState.Stopped);
    assert.equal(machine.harts[1].pc, program.address('after'));
  });
});

describe('SRST', () => {
  const shutdownProgram = (reason: number) => new ProgramBuilder(ENTRY)
    .li(X.a7, SBI_EXTENSION.srst)
    .emit('addi', { rd: X.a6, rs1: 0, imm: 0 })
    .emit('addi', { rd: X.a0, rs1: 0, imm: 0 }) // shutdown
    .emit('addi', { rd: X.a1, rs1: 0, imm: reason })
    .emit('ecall')
    .label('spin')
    .emit('jal', { rd: 0 }, 'spin');

  it('shutdown with reason 0 (none) exits the machine with code 0', () => {
    const machine = directBoot({ program: shutdownProgram(0) });
    assert.deepEqual(machine.run(100), { kind: 'exit', exit: { kind: 'pass', code: 0, source: 'sbi' } });
  });

  it('shutdown with reason 1 (system failure) exits with code 1', () => {
    const machine = directBoot({ program: shutdownProgram(1) });
    assert.deepEqual(machine.run(100), { kind: 'exit', exit: { kind: 'fail', code: 1, source: 'sbi' } });
  });

  it('an unknown reset type is an invalid parameter', () => {
    const machine = directBoot();
    assert.equal(sbiCall(machine, SBI_EXTENSION.srst, 0, [5n, 0n]).error, SbiError.InvalidParameter);
    assert.equal(machine.exit, null);
  });

  it('a cold or warm reboot restarts the kernel at its entry with a0 = hart id, a1 = DTB', () => {
    for (const type of [1, 2]) {
      const program = new ProgramBuilder(ENTRY)
        .emit('addi', { rd: X.s0, rs1: X.s0, imm: 1 })
        .li(X.a7, SBI_EXTENSION.srst)
        .emit('addi', { rd: X.a6, rs1: 0, imm: 0 })
        .emit('addi', { rd: X.a0, rs1: 0, imm: type })
        .emit('addi', { rd: X.a1, rs1: 0, imm: 0 })
        .emit('ecall')
        .emit('addi', { rd: X.s1, rs1: 0, imm: 1 }) // never runs
        .label('spin')
        .emit('jal', { rd: 0 }, 'spin');
      const machine = directBoot({ program });
      const hart = machine.harts[0];
      assert.deepEqual(machine.run(1000), { kind: 'budget' }, 'the run ends at the reset');
      assert.equal(machine.exit, null);
      assert.equal(hart.pc, ENTRY);
      assert.equal(hart.privilege, Privilege.Supervisor);
      assert.equal(hart.readRegister(X.a0), 0n);
      assert.equal(hart.readRegister(X.a1), BigInt(machine.dtbAddress));
      assert.equal(hart.readRegister(X.s0), 0n);
      assert.equal(hart.readRegister(X.s1), 0n);
      assert.equal(hart.instructionsRetired, 0);
      // And it runs again from the top.
      machine.run(1);
      assert.equal(hart.readRegister(X.s0), 1n);
    }
  });
});

describe('debug console and legacy console', () => {
  it('DBCN write sends the bytes at the address and returns their count; write_byte sends one', () => {
    const consoleBytes: number[] = [];
    const machine = directBoot({ consoleBytes });
    const buffer = ENTRY + 0x4000n;
    machine.writePhysical(buffer, new TextEncoder().encode('Hello, SBI'));
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.debugConsole, 0, [10n, buffer, 0n]), { error: 0, value: 10n });
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.debugConsole, 2, [BigInt('!'.charCodeAt(0))]), { error: 0, value: 0n });
    assert.equal(text(consoleBytes), 'Hello, SBI!');
    assert.equal(sbiCall(machine, SBI_EXTENSION.debugConsole, 0, [4n, 0x1000n, 0n]).error, SbiError.InvalidParameter, 'not RAM');
    assert.equal(sbiCall(machine, SBI_EXTENSION.debugConsole, 0, [4n, buffer, 1n]).error, SbiError.InvalidParameter, 'above 4 GiB');
    assert.equal(text(consoleBytes), 'Hello, SBI!');
  });

  it('DBCN read returns what has been typed, into guest memory', () => {
    const machine = directBoot();
    const buffer = ENTRY + 0x4000n;
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.debugConsole, 1, [8n, buffer, 0n]), { error: 0, value: 0n });
    machine.sendConsoleInput(new TextEncoder().encode('ok'));
    assert.deepEqual(sbiCall(machine, SBI_EXTENSION.debugConsole, 1, [8n, buffer, 0n]), { error: 0, value: 2n });
    assert.equal(text([...machine.readPhysical(buffer, 2)!]), 'ok');
  });

  it('legacy putchar and getchar (extensions 1 and 2)', () => {
    const consoleBytes: number[] = [];
    const machine = directBoot({ consoleBytes });
    for (const character of 'hi') assert.equal(sbiCall(machine, 1, 0, [BigInt(character.charCodeAt(0))]).error, 0);
    assert.equal(text(consoleBytes), 'hi');
    assert.equal(sbiCall(machine, 2, 0).error, -1, 'nothing typed');
    machine.sendConsoleInput([0x71]);
    assert.equal(sbiCall(machine, 2, 0).error, 0x71);
  });

  it('legacy set_timer, clear_ipi, send_ipi with a hart-mask pointer, and shutdown', () => {
    const machine = directBoot({ hartCount: 2 });
    const mask = ENTRY + 0x5000n;
    machine.writePhysical(mask, Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0));
    assert.equal(sbiCall(machine, 4, 0, [mask]).error, 0);
    assert.equal(machine.harts[1].mip & 2, 2);
    assert.equal(machine.harts[0].mip & 2, 0);
    sbiCall(machine, 4, 0, [0n]); // null pointer: all harts
    assert.equal(machine.harts[0].mip & 2, 2);
    sbiCall(machine, 3, 0);
    assert.equal(machine.harts[0].mip & 2, 0, 'clear_ipi');
    assert.equal(sbiCall(machine, 0, 0, [0n]).error, 0);
    assert.equal(machine.harts[0].mip & 0x20, 0x20, 'legacy set_timer(0): due at once');
    sbiCall(machine, 8, 0);
    assert.deepEqual(machine.exit, { kind: 'pass', code: 0, source: 'sbi' });
  });
});
