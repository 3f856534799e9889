// CSR field decoding (isa/csr-fields.ts): every described CSR, named values, addresses,
// reserved values, the trap cause names, and agreement with the machine's own CSR numbers,
// cause codes and mstatus bit positions.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DEFAULT_CPU_MODEL } from '../../vmm-core/cpu/cpu-model';
import { ExceptionCause, InterruptCause, Mstatus, MISA_HIGH } from '../../vmm-core/cpu/csr-numbers';
import {
  CSR_LAYOUTS, EXCEPTION_CAUSES, INTERRUPT_CAUSES, csrLayout, decodeCsr, exceptionName, interruptName, splitCause, trapName,
  type DecodedCsrField,
} from '../../vmm-core/isa/csr-fields';
import { csrName, csrNumber } from '../../vmm-core/isa/csr-names';

/** The decoded field called `name` of `csr` holding `value`. */
function fieldOf(csr: string, value: bigint, name: string): DecodedCsrField {
  const number = csrNumber(csr);
  assert.ok(number !== undefined, `${csr} has a number`);
  const found = decodeCsr(number, value).find((field) => field.name === name);
  assert.ok(found !== undefined, `${csr} has a field ${name}`);
  return found;
}

const text = (csr: string, value: bigint, name: string): string => fieldOf(csr, value, name).text;

describe('CSR layouts', () => {
  it('describes every CSR the debugger decodes, under its objdump name', () => {
    const expected = [
      'mstatus', 'sstatus', 'misa', 'mie', 'mip', 'sie', 'sip', 'medeleg', 'mideleg', 'mtvec', 'stvec', 'mcause', 'scause',
      'satp', 'mcounteren', 'scounteren', 'fcsr', 'frm', 'fflags', 'pmpcfg0', 'pmpcfg2', 'mcountinhibit',
      'menvcfg', 'senvcfg', 'tdata1',
    ];
    assert.deepEqual([...CSR_LAYOUTS.values()].map((layout) => layout.name).sort(), [...expected].sort());
    for (const layout of CSR_LAYOUTS.values()) {
      assert.equal(csrName(layout.number), layout.name, `number of ${layout.name}`);
      assert.ok(layout.description.length > 0);
    }
  });

  it('has well-formed fields: inside 64 bits, not overlapping, sorted, described', () => {
    for (const layout of CSR_LAYOUTS.values()) {
      let used = 0n;
      let previousLow = -1;
      for (const field of layout.fields) {
        assert.ok(field.low >= 0 && field.high <= 63 && field.low <= field.high, `${layout.name}.${field.name} range`);
        assert.ok(field.low > previousLow, `${layout.name} fields sorted by bit`);
        previousLow = field.low;
        const mask = ((1n << BigInt(field.high - field.low + 1)) - 1n) << BigInt(field.low);
        assert.equal(used & mask, 0n, `${layout.name}.${field.name} overlaps another field`);
        used |= mask;
        assert.ok(field.description.length > 0, `${layout.name}.${field.name} described`);
      }
    }
  });

  it('returns no fields for a CSR without a layout', () => {
    assert.deepEqual(decodeCsr(0x341 /* mepc */, 0x8000_0000n), []);
    assert.equal(csrLayout(0x341), undefined);
  });
});

describe('decodeCsr', () => {
  it('mstatus: privilege fields, FS states, enables, XLEN and SD', () => {
    const value = (1n << 63n) | (2n << 34n) | (2n << 32n) | (3n << 13n) | (1n << 11n) | (1n << 8n) | (1n << 3n) | (1n << 18n);
    assert.equal(text('mstatus', value, 'MPP'), 'S (1)');
    assert.equal(text('mstatus', 3n << 11n, 'MPP'), 'M (3)');
    assert.equal(text('mstatus', 0n, 'MPP'), 'U (0)');
    assert.equal(text('mstatus', value, 'SPP'), 'S (1)');
    assert.equal(text('mstatus', value, 'FS'), 'Dirty (3)');
    assert.equal(text('mstatus', 1n << 13n, 'FS'), 'Initial (1)');
    assert.equal(text('mstatus', 2n << 13n, 'FS'), 'Clean (2)');
    assert.equal(text('mstatus', 0n, 'FS'), 'Off (0)');
    assert.equal(text('mstatus', value, 'MIE'), '1');
    assert.equal(text('mstatus', value, 'SIE'), '0');
    assert.equal(text('mstatus', value, 'SUM'), '1');
    assert.equal(text('mstatus', value, 'UXL'), '64 (2)');
    assert.equal(text('mstatus', value, 'SXL'), '64 (2)');
    assert.equal(text('mstatus', value, 'SD'), '1');
    assert.equal(fieldOf('mstatus', value, 'MPP').value, 1n);
    assert.match(fieldOf('mstatus', value, 'MPP').description, /mret/);
  });

  it('mstatus field positions agree with the CPU constants', () => {
    const bits: Array<[string, number]> = [
      ['SIE', Mstatus.SIE], ['MIE', Mstatus.MIE], ['SPIE', Mstatus.SPIE], ['MPIE', Mstatus.MPIE], ['SPP', Mstatus.SPP],
      ['MPP', Mstatus.MPP], ['FS', Mstatus.FS], ['MPRV', Mstatus.MPRV], ['SUM', Mstatus.SUM], ['MXR', Mstatus.MXR],
      ['TVM', Mstatus.TVM], ['TW', Mstatus.TW], ['TSR', Mstatus.TSR],
    ];
    for (const [name, mask] of bits) {
      const all = fieldOf('mstatus', BigInt(mask), name);
      assert.notEqual(all.value, 0n, `${name} is at 0x${mask.toString(16)}`);
      assert.equal(fieldOf('mstatus', BigInt(~mask >>> 0), name).value, 0n, `${name} is only at 0x${mask.toString(16)}`);
    }
  });

  it('sstatus shows only the supervisor view', () => {
    const names = decodeCsr(0x100, 0n).map((field) => field.name);
    assert.ok(names.includes('SPP') && names.includes('SUM') && names.includes('FS') && names.includes('SD'));
    assert.ok(!names.includes('MPP') && !names.includes('MIE') && !names.includes('TVM'));
    assert.equal(text('sstatus', 1n << 8n, 'SPP'), 'S (1)');
  });

  it('misa: MXL and the extension letters of this machine', () => {
    const value = (BigInt(MISA_HIGH >>> 0) << 32n) | BigInt(DEFAULT_CPU_MODEL.misaLow >>> 0);
    assert.equal(text('misa', value, 'MXL'), '64 (2)');
    assert.equal(text('misa', value, 'Extensions'), 'ACDFIMSU');
    assert.equal(text('misa', 0n, 'Extensions'), '(none)');
  });

  it('mie, mip, sie, sip and mideleg: one bit per interrupt cause', () => {
    assert.deepEqual(decodeCsr(0x304, 0n).map((field) => field.name), ['SSIE', 'MSIE', 'STIE', 'MTIE', 'SEIE', 'MEIE']);
    assert.deepEqual(decodeCsr(0x344, 0n).map((field) => field.name), ['SSIP', 'MSIP', 'STIP', 'MTIP', 'SEIP', 'MEIP']);
    assert.deepEqual(decodeCsr(0x104, 0n).map((field) => field.name), ['SSIE', 'STIE', 'SEIE']);
    assert.deepEqual(decodeCsr(0x144, 0n).map((field) => field.name), ['SSIP', 'STIP', 'SEIP']);
    assert.deepEqual(decodeCsr(0x303, 0n).map((field) => field.name), ['SSI', 'MSI', 'STI', 'MTI', 'SEI', 'MEI']);
    assert.equal(text('mip', 1n << BigInt(InterruptCause.MachineTimer), 'MTIP'), '1');
    assert.equal(text('mip', 1n << BigInt(InterruptCause.MachineTimer), 'STIP'), '0');
    assert.equal(text('sie', 1n << BigInt(InterruptCause.SupervisorExternal), 'SEIE'), '1');
    assert.equal(text('sip', 1n << BigInt(InterruptCause.SupervisorSoftware), 'SSIP'), '1');
    assert.equal(text('mideleg', 0x222n, 'STI'), '1');
    assert.equal(text('mie', 1n << BigInt(InterruptCause.MachineExternal), 'MEIE'), '1');
    assert.match(fieldOf('mie', 0n, 'MTIE').description, /Machine timer interrupt/);
  });

  it('medeleg: one bit per standard exception, named by cause', () => {
    const fields = decodeCsr(0x302, 0xb1ffn);
    assert.equal(fields.length, EXCEPTION_CAUSES.length);
    assert.equal(fields.find((field) => field.name === 'Environment call from S-mode')?.text, '0');
    assert.equal(fields.find((field) => field.name === 'Breakpoint')?.text, '1');
    assert.equal(fields.find((field) => field.name === 'Store/AMO page fault')?.text, '1');
    assert.equal(text('medeleg', 1n << 13n, 'Load page fault'), '1');
    assert.match(fieldOf('medeleg', 0n, 'Environment call from M-mode').description, /read-only/);
  });

  it('mtvec and stvec: BASE as an address and MODE by name', () => {
    assert.deepEqual(fieldOf('mtvec', 0x8020_0001n, 'BASE'), {
      name: 'BASE', value: 0x8020_0000n, text: '0x80200000', description: fieldOf('mtvec', 0n, 'BASE').description,
    });
    assert.equal(text('mtvec', 0x8020_0001n, 'MODE'), 'Vectored (1)');
    assert.equal(text('stvec', 0xffff_ffff_8000_0100n, 'BASE'), '0xffffffff80000100');
    assert.equal(text('stvec', 0xffff_ffff_8000_0100n, 'MODE'), 'Direct (0)');
    assert.equal(text('stvec', 2n, 'MODE'), 'reserved (2)');
  });

  it('mcause and scause: exception and interrupt codes with standard names', () => {
    assert.equal(text('mcause', 15n, 'Code'), 'page fault on store (15)');
    assert.equal(text('mcause', 15n, 'Interrupt'), '0');
    assert.match(fieldOf('mcause', 15n, 'Code').description, /Store\/AMO page fault/);
    const timer = (1n << 63n) | 7n;
    assert.equal(text('mcause', timer, 'Interrupt'), '1');
    assert.equal(text('mcause', timer, 'Code'), 'machine timer interrupt (7)');
    assert.equal(fieldOf('mcause', timer, 'Code').value, 7n);
    assert.equal(text('scause', (1n << 63n) | 9n, 'Code'), 'supervisor external interrupt (9)');
    assert.equal(text('scause', 8n, 'Code'), 'ecall from U-mode (8)');
    assert.equal(text('scause', 14n, 'Code'), 'reserved exception (14)');
    assert.equal(text('scause', 25n, 'Code'), 'custom exception (25)');
  });

  it('satp: MODE by name, ASID and the root table page', () => {
    const value = (8n << 60n) | (0x1234n << 44n) | 0x80123n;
    assert.equal(text('satp', value, 'MODE'), 'Sv39 (8)');
    assert.equal(text('satp', 9n << 60n, 'MODE'), 'Sv48 (9)');
    assert.equal(text('satp', 0n, 'MODE'), 'Bare (0)');
    assert.equal(text('satp', 5n << 60n, 'MODE'), 'reserved (5)');
    assert.equal(text('satp', value, 'ASID'), '0x1234');
    assert.equal(text('satp', value, 'PPN'), '0x80123 (address 0x80123000)');
    assert.equal(fieldOf('satp', value, 'PPN').value, 0x80123n);
  });

  it('mcounteren, scounteren and mcountinhibit', () => {
    assert.equal(text('mcounteren', 7n, 'CY'), '1');
    assert.equal(text('mcounteren', 7n, 'TM'), '1');
    assert.equal(text('mcounteren', 7n, 'IR'), '1');
    assert.equal(text('mcounteren', 7n, 'HPM'), '0x0');
    assert.equal(text('scounteren', 2n, 'TM'), '1');
    assert.equal(text('scounteren', 2n, 'CY'), '0');
    assert.equal(text('mcountinhibit', 0x9n, 'HPM'), '0x1');
    assert.ok(!decodeCsr(0x320, 0n).some((field) => field.name === 'TM'), 'mcountinhibit has no TM bit');
  });

  it('fcsr, frm and fflags', () => {
    const fcsr = (1n << 5n) | 0x11n; // RTZ, NV and NX
    assert.equal(text('fcsr', fcsr, 'FRM'), 'RTZ (towards zero) (1)');
    assert.equal(text('fcsr', fcsr, 'NV'), '1');
    assert.equal(text('fcsr', fcsr, 'NX'), '1');
    assert.equal(text('fcsr', fcsr, 'DZ'), '0');
    assert.equal(text('frm', 0n, 'FRM'), 'RNE (to nearest, ties to even) (0)');
    assert.equal(text('frm', 5n, 'FRM'), 'reserved (5)');
    assert.deepEqual(decodeCsr(0x001, 0x1fn).map((field) => `${field.name}=${field.text}`), ['NX=1', 'UF=1', 'OF=1', 'DZ=1', 'NV=1']);
  });

  it('menvcfg, senvcfg and tdata1 (an mcontrol trigger)', () => {
    const menvcfg = (1n << 63n) | (1n << 62n) | (1n << 4n) | 1n;
    assert.equal(text('menvcfg', menvcfg, 'STCE'), '1');
    assert.equal(text('menvcfg', menvcfg, 'PBMTE'), '1');
    assert.equal(text('menvcfg', menvcfg, 'CBIE'), 'flush (1)');
    assert.equal(text('menvcfg', menvcfg, 'FIOM'), '1');
    assert.ok(!decodeCsr(0x10a, 0n).some((field) => field.name === 'STCE'), 'senvcfg has no STCE');
    const tdata1 = (2n << 60n) | (1n << 21n) | (1n << 16n) | 0x44n;
    assert.equal(text('tdata1', tdata1, 'TYPE'), 'mcontrol (2)');
    assert.equal(text('tdata1', tdata1, 'EXECUTE'), '1');
    assert.equal(text('tdata1', tdata1, 'M'), '1');
    assert.equal(text('tdata1', tdata1, 'S'), '0');
    assert.equal(text('tdata1', tdata1, 'SIZELO'), '1');
    assert.equal(text('tdata1', tdata1, 'SIZEHI'), '1');
    assert.equal(text('tdata1', tdata1, 'ACTION'), 'breakpoint exception (0)');
  });

  it('pmpcfg0 and pmpcfg2: L, A, X, W, R per entry byte', () => {
    // Entry 0: NAPOT RWX; entry 1: TOR R, locked; entry 7: NA4 X.
    const value = 0x1fn | (0x89n << 8n) | (0x14n << 56n);
    assert.equal(text('pmpcfg0', value, 'pmp0cfg.A'), 'NAPOT (3)');
    assert.equal(text('pmpcfg0', value, 'pmp0cfg.R'), '1');
    assert.equal(text('pmpcfg0', value, 'pmp0cfg.W'), '1');
    assert.equal(text('pmpcfg0', value, 'pmp0cfg.X'), '1');
    assert.equal(text('pmpcfg0', value, 'pmp0cfg.L'), '0');
    assert.equal(text('pmpcfg0', value, 'pmp1cfg.A'), 'TOR (1)');
    assert.equal(text('pmpcfg0', value, 'pmp1cfg.L'), '1');
    assert.equal(text('pmpcfg0', value, 'pmp1cfg.W'), '0');
    assert.equal(text('pmpcfg0', value, 'pmp7cfg.A'), 'NA4 (2)');
    assert.equal(text('pmpcfg0', value, 'pmp7cfg.X'), '1');
    assert.equal(text('pmpcfg0', 0n, 'pmp3cfg.A'), 'OFF (0)');
    assert.equal(decodeCsr(0x3a0, 0n).length, 40);
    assert.equal(text('pmpcfg2', 0x18n << 8n, 'pmp9cfg.A'), 'NAPOT (3)');
    assert.ok(decodeCsr(0x3a2, 0n).some((field) => field.name === 'pmp15cfg.L'));
  });

  it('takes values as unsigned 64-bit (a negative bigint is its two\'s complement)', () => {
    assert.equal(text('mcause', -(1n << 63n) | 5n, 'Code'), 'supervisor timer interrupt (5)');
  });
});

describe('trap cause names', () => {
  it('agree with the cause codes the machine raises', () => {
    const exceptions: Array<[number, string]> = [
      [ExceptionCause.InstructionAddressMisaligned, 'misaligned instruction address'],
      [ExceptionCause.InstructionAccessFault, 'access fault on instruction fetch'],
      [ExceptionCause.IllegalInstruction, 'illegal instruction'],
      [ExceptionCause.Breakpoint, 'breakpoint'],
      [ExceptionCause.LoadAddressMisaligned, 'misaligned load'],
      [ExceptionCause.LoadAccessFault, 'access fault on load'],
      [ExceptionCause.StoreAddressMisaligned, 'misaligned store'],
      [ExceptionCause.StoreAccessFault, 'access fault on store'],
      [ExceptionCause.EnvironmentCallFromUser, 'ecall from U-mode'],
      [ExceptionCause.EnvironmentCallFromSupervisor, 'ecall from S-mode'],
      [ExceptionCause.EnvironmentCallFromMachine, 'ecall from M-mode'],
      [ExceptionCause.InstructionPageFault, 'page fault on instruction fetch'],
      [ExceptionCause.LoadPageFault, 'page fault on load'],
      [ExceptionCause.StorePageFault, 'page fault on store'],
    ];
    for (const [code, name] of exceptions) assert.equal(exceptionName(code), name);
    assert.equal(EXCEPTION_CAUSES.length, exceptions.length);
    const interrupts: Array<[number, string]> = [
      [InterruptCause.SupervisorSoftware, 'supervisor software interrupt'],
      [InterruptCause.MachineSoftware, 'machine software interrupt'],
      [InterruptCause.SupervisorTimer, 'supervisor timer interrupt'],
      [InterruptCause.MachineTimer, 'machine timer interrupt'],
      [InterruptCause.SupervisorExternal, 'supervisor external interrupt'],
      [InterruptCause.MachineExternal, 'machine external interrupt'],
    ];
    for (const [code, name] of interrupts) assert.equal(interruptName(code), name);
    assert.equal(INTERRUPT_CAUSES.filter((cause) => !cause.notImplemented).length, interrupts.length);
    // Filters also offer the standard counter-overflow interrupt, which this machine never raises.
    assert.equal(interruptName(13), 'counter-overflow interrupt');
  });

  it('names reserved, custom and platform codes', () => {
    assert.equal(exceptionName(10), 'reserved exception');
    assert.equal(exceptionName(14), 'reserved exception');
    assert.equal(exceptionName(24), 'custom exception');
    assert.equal(exceptionName(63n), 'custom exception');
    assert.equal(exceptionName(64), 'reserved exception');
    assert.equal(interruptName(0), 'reserved interrupt');
    assert.equal(interruptName(16), 'platform interrupt');
    assert.equal(interruptName(1n << 40n), 'platform interrupt');
    assert.equal(trapName(true, 5), 'supervisor timer interrupt');
    assert.equal(trapName(false, 5), 'access fault on load');
  });

  it('makes a UI label', () => {
    assert.equal(`Trap: ${exceptionName(15)} (15)`, 'Trap: page fault on store (15)');
  });

  it('splits an mcause value', () => {
    assert.deepEqual(splitCause((1n << 63n) | 11n), { interrupt: true, code: 11n });
    assert.deepEqual(splitCause(13n), { interrupt: false, code: 13n });
  });
});
