// Register views for the debug adapter (debug-adapter/state/registers.ts): x and f registers
// as display data, every implemented CSR with decoded fields, edits with their parsing and
// errors (WARL, read-only, x0), the TLB flush after a CSR write, and the machine facts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Privilege } from '../../vmm-core/cpu/csr-numbers';
import { csrExists } from '../../vmm-core/monitor/csr';
import {
  controlRegisters, floatRegisters, generalRegisters, machineFacts, programCounter, readControlRegister, RegisterError,
  resolveCsrName, setControlRegister, setRegister,
} from '../../debug-adapter/state/registers';
import { formatHex, formatSingle, parseInteger64, ValueParseError } from '../../debug-adapter/state/format';
import { createMachine, encode, step, writeInstructions, X } from '../support/assemble';

describe('number parsing and formatting', () => {
  it('parses decimal, hex, binary, octal, negative and separated numbers', () => {
    assert.equal(parseInteger64('42'), 42n);
    assert.equal(parseInteger64(' 0x8000_0000 '), 0x8000_0000n);
    assert.equal(parseInteger64('0X1F'), 31n);
    assert.equal(parseInteger64('0b101'), 5n);
    assert.equal(parseInteger64('0o17'), 15n);
    assert.equal(parseInteger64('-1'), 0xffff_ffff_ffff_ffffn);
    assert.equal(parseInteger64('-0x8000000000000000'), 1n << 63n);
    assert.equal(parseInteger64('+7'), 7n);
    assert.equal(parseInteger64('18446744073709551615'), (1n << 64n) - 1n);
  });

  it('rejects what is not a 64-bit integer', () => {
    for (const text of ['', 'abc', '0x', '1.5', '12a', '0b102', '0x_1', '1__0', '1_', '--1', '0x1 2']) {
      assert.throws(() => parseInteger64(text), ValueParseError, text);
    }
    assert.throws(() => parseInteger64('18446744073709551616'), /does not fit in 64 bits/);
    assert.throws(() => parseInteger64('-9223372036854775809'), /does not fit in 64 bits/);
  });

  it('formats hex and the shortest single', () => {
    assert.equal(formatHex(-1n), '0xffffffffffffffff');
    assert.equal(formatHex(0x1234n, 64, true), '0x0000000000001234');
    assert.equal(formatHex(-1n, 32), '0xffffffff');
    assert.equal(formatSingle(Math.fround(0.1)), '0.1');
    assert.equal(formatSingle(Math.fround(1 / 3)), '0.33333334');
    assert.equal(formatSingle(-0), '-0');
  });
});

describe('generalRegisters and floatRegisters', () => {
  it('lists x0..x31 with ABI names and hex values', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    hart.writeRegister(X.sp, 0x8020_0000n);
    hart.writeRegister(X.a5, -2n);
    const registers = generalRegisters(hart);
    assert.equal(registers.length, 32);
    assert.deepEqual(registers[0], { index: 0, name: 'x0', abiName: 'zero', value: 0n, signed: 0n, text: '0x0' });
    assert.deepEqual(registers[X.sp], { index: 2, name: 'x2', abiName: 'sp', value: 0x8020_0000n, signed: 0x8020_0000n, text: '0x80200000' });
    assert.equal(registers[X.a5].value, 0xffff_ffff_ffff_fffen);
    assert.equal(registers[X.a5].signed, -2n);
    assert.equal(registers[X.a5].abiName, 'a5');
    assert.equal(registers[31].abiName, 't6');
    assert.equal(programCounter(hart).text, '0x80000000');
  });

  it('shows f registers as raw bits, double and NaN-boxed single', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    hart.floatDoubles[1] = 1.5; // f1 = 1.5 as a double
    hart.floatBits[4] = 0x3fc0_0000; // f2 = 1.5f, NaN-boxed
    hart.floatBits[5] = -1;
    const registers = floatRegisters(hart);
    assert.equal(registers.length, 32);
    assert.equal(registers[1].name, 'f1');
    assert.equal(registers[1].abiName, 'ft1');
    assert.equal(registers[1].text, '0x3ff8000000000000');
    assert.equal(registers[1].double, 1.5);
    assert.equal(registers[1].doubleText, '1.5');
    assert.equal(registers[1].nanBoxed, false);
    assert.ok(Number.isNaN(registers[1].single));
    assert.match(registers[1].singleText, /not NaN-boxed/);
    assert.equal(registers[2].text, '0xffffffff3fc00000');
    assert.equal(registers[2].nanBoxed, true);
    assert.equal(registers[2].single, 1.5);
    assert.equal(registers[2].singleText, '1.5');
    assert.ok(Number.isNaN(registers[2].double));
    assert.equal(registers[10].abiName, 'fa0');
  });
});

describe('controlRegisters', () => {
  it('lists every implemented CSR in number order, with name, group and fields', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    hart.mstatus = (1 << 11) | (3 << 13);
    hart.mcauseLo = 13;
    const csrs = controlRegisters(machine, 0);
    const expectedCount = Array.from({ length: 4096 }, (_, n) => n).filter((number) => csrExists(number)).length;
    assert.equal(csrs.length, expectedCount);
    assert.deepEqual(csrs.map((csr) => csr.number), [...csrs.map((csr) => csr.number)].sort((a, b) => a - b));
    const byName = new Map(csrs.map((csr) => [csr.name, csr]));
    for (const name of ['fflags', 'sstatus', 'satp', 'mstatus', 'misa', 'mtvec', 'pmpcfg0', 'pmpaddr15', 'mcycle', 'cycle', 'time', 'mhartid', 'mhpmevent31']) {
      assert.ok(byName.has(name), `${name} listed`);
    }
    const mstatus = byName.get('mstatus')!;
    assert.equal(mstatus.group, 'machine');
    assert.equal(mstatus.value, 0x0000_000a_0000_0000n | 0x8000_0000_0000_0000n | BigInt((1 << 11) | (3 << 13)));
    assert.equal(mstatus.fields.find((field) => field.name === 'MPP')?.text, 'S (1)');
    assert.equal(mstatus.fields.find((field) => field.name === 'SD')?.text, '1');
    assert.equal(byName.get('mcause')!.fields.find((field) => field.name === 'Code')?.text, 'page fault on load (13)');
    assert.equal(byName.get('mepc')!.fields.length, 0);
    assert.equal(byName.get('misa')!.fields.find((field) => field.name === 'Extensions')?.text, 'ACDFIMSU');
    assert.equal(byName.get('sstatus')!.group, 'supervisor');
    assert.equal(byName.get('fcsr')!.group, 'floating point');
    assert.equal(byName.get('pmpaddr3')!.group, 'protection');
    assert.equal(byName.get('cycle')!.group, 'counters');
    assert.equal(byName.get('mcountinhibit')!.group, 'machine');
    assert.equal(byName.get('mvendorid')!.group, 'machine information');
    assert.equal(byName.get('mhartid')!.readOnly, true);
    assert.equal(byName.get('mstatus')!.readOnly, false);
  });

  it('reads per hart and without side effects', () => {
    const machine = createMachine({ hartCount: 2 });
    assert.equal(readControlRegister(machine, 1, 0xf14), 1n);
    const before = machine.harts[0].mstatus;
    controlRegisters(machine, 0);
    assert.equal(machine.harts[0].mstatus, before);
    assert.throws(() => controlRegisters(machine, 2), /no hart 2/);
  });
});

describe('setRegister and setControlRegister', () => {
  it('writes integer registers by x name, ABI name and fp, and pc', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    assert.deepEqual(setRegister(machine, 0, 'a0', '0x1234'), { name: 'a0', value: 0x1234n, text: '0x1234' });
    assert.equal(hart.readRegister(X.a0), 0x1234n);
    setRegister(machine, 0, 'x5', '-1');
    assert.equal(hart.readRegister(X.t0), -1n);
    setRegister(machine, 0, 'fp', 100n);
    assert.equal(hart.readRegister(X.s0), 100n);
    setRegister(machine, 0, '$sp', '0b1000');
    assert.equal(hart.readRegister(X.sp), 8n);
    setRegister(machine, 0, 'pc', '0x80001000');
    assert.equal(hart.pc, 0x8000_1000n);
  });

  it('writes f registers as doubles, singles or raw bits', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    setRegister(machine, 0, 'fa0', '2.5');
    assert.equal(hart.floatDoubles[10], 2.5);
    setRegister(machine, 0, 'f1', '1.5f');
    assert.equal(floatRegisters(hart)[1].text, '0xffffffff3fc00000');
    setRegister(machine, 0, 'f2', '0x7ff8000000000000');
    assert.ok(Number.isNaN(hart.floatDoubles[2]));
    setRegister(machine, 0, 'f3', '-inf');
    assert.equal(hart.floatDoubles[3], -Infinity);
    setRegister(machine, 0, 'f4', '1e3');
    assert.equal(hart.floatDoubles[4], 1000);
    assert.throws(() => setRegister(machine, 0, 'f5', 'one'), RegisterError);
  });

  it('reports bad input clearly', () => {
    const machine = createMachine();
    assert.throws(() => setRegister(machine, 0, 'a0', '12z'), (error: Error) => error instanceof RegisterError && /'12z' is not a number/.test(error.message));
    assert.throws(() => setRegister(machine, 0, 'zero', '1'), /hard-wired/);
    assert.throws(() => setRegister(machine, 0, 'x32', '1'), /'x32' is not a register/);
    assert.throws(() => setRegister(machine, 0, 'pc', '0x80000001'), /aligned/);
    assert.throws(() => setRegister(machine, 0, 'a0', '0x1_0000_0000_0000_0000'), /64 bits/);
    assert.throws(() => setRegister(machine, 3, 'a0', '1'), /no hart 3/);
  });

  it('writes CSRs through the WARL rules and returns what reads back', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    const mstatus = setControlRegister(machine, 0, 'mstatus', '0x1800');
    assert.equal(mstatus.fields.find((field) => field.name === 'MPP')?.text, 'M (3)');
    // MPP = 2 is reserved: the field keeps its value.
    const kept = setControlRegister(machine, 0, '$mstatus', (2n << 11n).toString());
    assert.equal(kept.fields.find((field) => field.name === 'MPP')?.text, 'M (3)');
    // satp with an unimplemented mode (Sv64 = 11; Sv57 = 10 only without Sv57) is left unchanged.
    setControlRegister(machine, 0, 'satp', (8n << 60n) | 0x80100n);
    assert.equal(setControlRegister(machine, 0, 'satp', (11n << 60n)).value, (8n << 60n) | 0x80100n);
    assert.equal(setControlRegister(machine, 0, 'satp', (10n << 60n)).value, 10n << 60n);
    const withoutSv57 = createMachine({ cpu: 'rv64,sv57=off' });
    setControlRegister(withoutSv57, 0, 'satp', (8n << 60n) | 0x80100n);
    assert.equal(setControlRegister(withoutSv57, 0, 'satp', (10n << 60n)).value, (8n << 60n) | 0x80100n);
    setControlRegister(machine, 0, '0x340', '-1');
    assert.equal(readControlRegister(machine, 0, 0x340), (1n << 64n) - 1n);
    // setRegister falls through to CSRs.
    assert.equal(setRegister(machine, 0, 'mscratch', '5').value, 5n);
    assert.equal(hart.mscratchLo, 5);
  });

  it('refuses read-only and unknown CSRs', () => {
    const machine = createMachine();
    assert.throws(() => setControlRegister(machine, 0, 'mhartid', '1'), /mhartid is read-only/);
    assert.throws(() => setControlRegister(machine, 0, 'cycle', '1'), /cycle is read-only/);
    assert.throws(() => setControlRegister(machine, 0, 'hgatp', '1'), /'hgatp' is not a CSR of this machine/);
    assert.throws(() => setControlRegister(machine, 0, 'bogus', '1'), /not a CSR/);
    assert.throws(() => setControlRegister(machine, 0, 'mscratch', 'x'), RegisterError);
    assert.equal(resolveCsrName('$satp'), 0x180);
    assert.equal(resolveCsrName('0x300'), 0x300);
    assert.equal(resolveCsrName('0x1000'), undefined);
  });

  it('flushes the TLB so a new satp takes effect at once', () => {
    const machine = createMachine({ openPmp: true });
    const hart = machine.harts[0];
    const code = 0x8000_1000n;
    writeInstructions(machine, code, [encode('ld', { rd: X.a0, rs1: X.a1, imm: 0 })]);
    const write = (address: bigint, value: bigint) => {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, value, true);
      assert.ok(machine.writePhysical(address, bytes));
    };
    const leaf = (physical: bigint) => ((physical >> 12n) << 10n) | 0xcfn; // V R W X A D
    // Two Sv39 roots: both map RAM 1:1 with a 1G page; only the first maps VA 0x4000_0000 too.
    const first = 0x8010_0000n;
    const second = 0x8010_1000n;
    write(first + 2n * 8n, leaf(0x8000_0000n));
    write(first + 1n * 8n, leaf(0x8000_0000n));
    write(second + 2n * 8n, leaf(0x8000_0000n));
    write(0x8000_3000n, 0x1122_3344_5566_7788n);
    hart.privilege = Privilege.Supervisor;
    hart.mtvecLo = 0x8000_0800 | 0;
    const load = () => {
      hart.pc = code;
      hart.writeRegister(X.a1, 0x4000_3000n);
      hart.writeRegister(X.a0, 0n);
      hart.mcauseLo = -1;
      hart.privilege = Privilege.Supervisor;
      step(machine);
    };
    setControlRegister(machine, 0, 'satp', (8n << 60n) | (first >> 12n));
    load();
    assert.equal(hart.mcauseLo, -1, 'no trap through the first root');
    assert.equal(hart.readRegister(X.a0), 0x1122_3344_5566_7788n);
    // Without the flush, the cached translation of VA 0x40003000 would still hit.
    setControlRegister(machine, 0, 'satp', (8n << 60n) | (second >> 12n));
    load();
    assert.equal(hart.mcauseLo, 13, 'load page fault through the second root');
  });
});

describe('machineFacts', () => {
  it('reports boot mode, RAM, per-hart time and exit counts', () => {
    const machine = createMachine({ hartCount: 2, program: [encode('ecall')] });
    machine.harts[0].mtvecLo = 0x8000_0000 | 0;
    step(machine);
    const facts = machineFacts(machine);
    assert.equal(facts.bootMode, 'bare');
    assert.equal(facts.ramBase, 0x8000_0000);
    assert.equal(facts.ramBytes, 8 * 1024 * 1024);
    assert.equal(facts.hartCount, 2);
    assert.equal(facts.exits.ecall, 1);
    assert.equal(facts.totalExits, Object.values(facts.exits).reduce((a, b) => a + b, 0));
    assert.equal(facts.harts[0].privilege, 'M');
    assert.equal(facts.harts[0].state, 'started');
    assert.equal(facts.harts[0].trapsTaken, 1);
    assert.equal(facts.harts[1].instructionsRetired, 0);
    assert.equal(facts.exit, null);
    assert.ok(facts.images.some((image) => image.role === 'kernel'));
    assert.doesNotThrow(() => JSON.stringify(facts));
  });
});
