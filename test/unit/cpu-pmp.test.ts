// Physical memory protection: region bounds of TOR, NA4 and NAPOT (first and last byte inside,
// one byte outside), the all-ones NAPOT, partial matches, locking (applies to M, ignores
// writes), entry priority, the no-match rule for S/U, the reserved R=0/W=1 combination, and
// PMP on page-table walks. Entries are written through the pmpcfg/pmpaddr CSR instructions.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExceptionCause, Privilege, privilegeName } from '../../vmm-core/cpu/csr-numbers';
import { AccessKind, PhysicalMemoryProtection } from '../../vmm-core/cpu/pmp';
import type { Machine } from '../../vmm-core/machine/machine';
import {
  CODE_ADDRESS, createMachine, encode, NO_TRAP, type Outcome, readCsrValue, runInstructions, setPrivilege, step,
  writeDoubleword, writeInstructions, X,
} from '../support/assemble';

const OFF = 0, TOR = 1 << 3, NA4 = 2 << 3, NAPOT = 3 << 3;
const R = 1, W = 2, XP = 4, L = 0x80;
const PMPCFG0 = 0x3a0, PMPCFG2 = 0x3a2, PMPADDR0 = 0x3b0;

/** pmpaddr value of a naturally aligned power-of-two region of at least 8 bytes. */
const napot = (base: bigint, size: bigint): bigint => (base >> 2n) | ((size >> 3n) - 1n);

interface Entry {
  index: number;
  address: bigint;
  config: number;
}

/** Entry 15 lets S execute the code page, so data tests see only their own entries. */
const CODE_ENTRY: Entry = { index: 15, address: napot(CODE_ADDRESS, 0x1000n), config: NAPOT | R | XP };

/** Writes the entries with csrrw in M-mode, as a kernel would: every pmpaddr, then pmpcfg0 and pmpcfg2. */
function program(machine: Machine, entries: readonly Entry[]): void {
  const words: number[] = [];
  const registers: Array<[number, bigint]> = [];
  const configs = [0n, 0n];
  entries.forEach((entry, position) => {
    const register = X.t0 + position; // x5..x20
    words.push(encode('csrrw', { rd: 0, rs1: register, csr: PMPADDR0 + entry.index }));
    registers.push([register, entry.address]);
    configs[entry.index >> 3] |= BigInt(entry.config) << BigInt(8 * (entry.index & 7));
  });
  words.push(encode('csrrw', { rd: 0, rs1: X.t5, csr: PMPCFG0 }), encode('csrrw', { rd: 0, rs1: X.t6, csr: PMPCFG2 }));
  registers.push([X.t5, configs[0]], [X.t6, configs[1]]);
  assert.equal(runInstructions(machine, Privilege.Machine, words, registers).cause, NO_TRAP);
}

const access = (machine: Machine, privilege: Privilege, mnemonic: string, address: bigint): Outcome => {
  const isStore = mnemonic.startsWith('s');
  const word = isStore ? encode(mnemonic, { rs1: X.t0, rs2: X.t1, imm: 0 }) : encode(mnemonic, { rd: X.a0, rs1: X.t0, imm: 0 });
  return runInstructions(machine, privilege, [word], [[X.t0, address], [X.t1, 0x1122_3344_5566_7788n]]);
};

/** Asserts an access succeeds (true) or takes the access fault of its kind with tval = address. */
function expectAccess(machine: Machine, privilege: Privilege, mnemonic: string, address: bigint, allowed: boolean): void {
  const outcome = access(machine, privilege, mnemonic, address);
  const label = `${mnemonic} 0x${address.toString(16)} in ${privilegeName(privilege)}`;
  if (allowed) {
    assert.equal(outcome.cause, NO_TRAP, `${label} is allowed`);
  } else {
    const cause = mnemonic.startsWith('s') ? ExceptionCause.StoreAccessFault : ExceptionCause.LoadAccessFault;
    assert.equal(outcome.cause, cause, `${label} faults`);
    assert.equal(outcome.tval, address, `${label}: tval`);
  }
}

const S = Privilege.Supervisor, M = Privilege.Machine;

describe('PMP regions (PhysicalMemoryProtection)', () => {
  const pmp = new PhysicalMemoryProtection();
  const set = (entries: ReadonlyArray<readonly [number, bigint, number]>) => {
    pmp.reset();
    for (const [index, address, config] of entries) {
      pmp.writeAddress(index, Number(address & 0xffff_ffffn) | 0, Number(address >> 32n) | 0);
      pmp.writeConfig(index, config);
    }
    pmp.rebuild();
  };

  it('TOR covers [pmpaddr(i-1) * 4, pmpaddr(i) * 4), entry 0 from address 0', () => {
    set([[2, 0x8000_1000n >> 2n, OFF], [3, 0x8000_2000n >> 2n, TOR | R]]);
    assert.equal(pmp.allows(0x8000_1000, 1, AccessKind.Read, false), true);
    assert.equal(pmp.allows(0x8000_1fff, 1, AccessKind.Read, false), true);
    assert.equal(pmp.allows(0x8000_0fff, 1, AccessKind.Read, false), false);
    assert.equal(pmp.allows(0x8000_2000, 1, AccessKind.Read, false), false);
    assert.equal(pmp.allows(0x8000_1ffc, 8, AccessKind.Read, false), false, 'partial match');
    set([[0, 0x100n >> 2n, TOR | R]]);
    assert.equal(pmp.allows(0, 1, AccessKind.Read, false), true);
    assert.equal(pmp.allows(0xff, 1, AccessKind.Read, false), true);
    assert.equal(pmp.allows(0x100, 1, AccessKind.Read, false), false);
  });

  it('TOR with pmpaddr(i-1) >= pmpaddr(i) matches nothing', () => {
    set([[0, 0x8000_2000n >> 2n, OFF], [1, 0x8000_1000n >> 2n, TOR | R]]);
    assert.equal(pmp.allows(0x8000_1800, 1, AccessKind.Read, false), false);
    assert.equal(pmp.allows(0x8000_1800, 1, AccessKind.Read, true), true, 'M: no match means allowed');
  });

  it('NA4 covers four bytes', () => {
    set([[4, 0x8000_3000n >> 2n, NA4 | R]]);
    assert.equal(pmp.allows(0x8000_3000, 4, AccessKind.Read, false), true);
    assert.equal(pmp.allows(0x8000_3003, 1, AccessKind.Read, false), true);
    assert.equal(pmp.allows(0x8000_3004, 1, AccessKind.Read, false), false);
    assert.equal(pmp.allows(0x8000_2fff, 1, AccessKind.Read, false), false);
    assert.equal(pmp.allows(0x8000_3000, 8, AccessKind.Read, false), false);
  });

  it('NAPOT sizes from 8 bytes to 2^55 bytes; all ones covers everything', () => {
    for (const [base, size] of [[0x8000_4000n, 8n], [0x8000_4000n, 0x1000n], [0x8000_0000n, 0x8000_0000n], [0n, 1n << 34n]] as const) {
      set([[0, napot(base, size), NAPOT | R]]);
      const first = Number(base), last = Number(base + size - 1n);
      assert.equal(pmp.allows(first, 1, AccessKind.Read, false), true, `${base}+${size} first`);
      assert.equal(pmp.allows(last, 1, AccessKind.Read, false), true, `${base}+${size} last`);
      if (first > 0) assert.equal(pmp.allows(first - 1, 1, AccessKind.Read, false), false, `${base}+${size} below`);
      assert.equal(pmp.allows(last + 1, 1, AccessKind.Read, false), false, `${base}+${size} above`);
    }
    set([[0, (1n << 54n) - 1n, NAPOT | R]]);
    assert.equal(pmp.allows(0, 8, AccessKind.Read, false), true);
    assert.equal(pmp.allows(0xffff_fff8, 8, AccessKind.Read, false), true);
    assert.equal(pmp.allows(2 ** 40, 8, AccessKind.Read, false), true);
    assert.equal(pmp.allows(0, 8, AccessKind.Write, false), false, 'permissions still apply');
  });
});

describe('PMP through the machine', () => {
  it('TOR, NA4 and NAPOT bounds for S-mode loads and stores; partial matches fault', () => {
    const machine = createMachine();
    program(machine, [
      { index: 0, address: 0x8001_0000n >> 2n, config: OFF },
      { index: 1, address: 0x8001_0804n >> 2n, config: TOR | R | W },
      { index: 2, address: 0x8002_0000n >> 2n, config: NA4 | R },
      { index: 3, address: napot(0x8003_0000n, 0x1000n), config: NAPOT | R | W },
      CODE_ENTRY,
    ]);
    for (const [first, end] of [[0x8001_0000n, 0x8001_0804n], [0x8002_0000n, 0x8002_0004n], [0x8003_0000n, 0x8003_1000n]]) {
      expectAccess(machine, S, 'lb', first, true);
      expectAccess(machine, S, 'lb', end - 1n, true);
      expectAccess(machine, S, 'lb', first - 1n, false);
      expectAccess(machine, S, 'lb', end, false);
    }
    expectAccess(machine, S, 'ld', 0x8001_0800n, false); // last 4 bytes of the TOR region + 4 outside
    expectAccess(machine, S, 'ld', 0x8002_0000n, false); // NA4 holds 4 of the 8 bytes
    expectAccess(machine, S, 'lw', 0x8002_0000n, true);
    expectAccess(machine, S, 'sw', 0x8002_0000n, false); // read-only
    expectAccess(machine, S, 'sd', 0x8003_0ff8n, true);
    // Misaligned over the NAPOT end (and a page end): tval names the portion that faulted.
    const over = access(machine, S, 'sd', 0x8003_0ffcn);
    assert.equal(over.cause, ExceptionCause.StoreAccessFault);
    assert.equal(over.tval, 0x8003_1000n);
    // U-mode follows the same rules.
    expectAccess(machine, Privilege.User, 'lb', 0x8003_0000n, true);
    expectAccess(machine, Privilege.User, 'lb', 0x8003_1000n, false);
  });

  it('fetches need X: instruction access fault with tval = pc', () => {
    const machine = createMachine();
    program(machine, [{ index: 0, address: napot(0x8003_0000n, 0x1000n), config: NAPOT | R | W }, CODE_ENTRY]);
    writeInstructions(machine, 0x8003_0000n, [encode('addi', { rd: X.a0, rs1: 0, imm: 1 })]);
    setPrivilege(machine, S);
    const hart = machine.harts[0];
    hart.mcauseLo = NO_TRAP;
    hart.pc = 0x8003_0000n;
    step(machine);
    assert.equal(hart.mcauseLo, ExceptionCause.InstructionAccessFault);
    assert.equal(hart.mtvalLo, 0x8003_0000 | 0);
    assert.equal(hart.mepcLo, 0x8003_0000 | 0);
  });

  it('an all-ones NAPOT entry opens all of memory and the devices', () => {
    const machine = createMachine();
    program(machine, [{ index: 0, address: (1n << 54n) - 1n, config: NAPOT | R | W | XP }]);
    expectAccess(machine, S, 'ld', 0x8000_0000n, true);
    expectAccess(machine, S, 'sd', 0x8000_0000n + BigInt(machine.config.memoryBytes) - 8n, true);
    expectAccess(machine, S, 'lb', 0x1000_0005n, true); // UART line status
    assert.equal(readCsrValue(machine, PMPADDR0), (1n << 54n) - 1n, 'pmpaddr holds 54 bits');
  });

  it('with no matching entry, S and U accesses fault and M accesses succeed', () => {
    const machine = createMachine();
    expectAccess(machine, M, 'ld', 0x8000_2000n, true);
    program(machine, [CODE_ENTRY]);
    expectAccess(machine, S, 'ld', 0x8000_2000n, false);
    expectAccess(machine, Privilege.User, 'sd', 0x8000_2000n, false);
    expectAccess(machine, M, 'ld', 0x8000_2000n, true);
    // With no entry at all, fetching the S-mode instruction itself fails.
    machine.reset();
    const hart = machine.harts[0];
    setPrivilege(machine, S);
    hart.mcauseLo = NO_TRAP;
    hart.pc = CODE_ADDRESS;
    step(machine);
    assert.equal(hart.mcauseLo, ExceptionCause.InstructionAccessFault);
  });

  it('the lowest-numbered matching entry decides', () => {
    const machine = createMachine();
    program(machine, [
      { index: 0, address: napot(0x8005_0000n, 8n), config: NAPOT },
      { index: 1, address: napot(0x8005_0000n, 0x1000n), config: NAPOT | R | W },
      CODE_ENTRY,
    ]);
    expectAccess(machine, S, 'lb', 0x8005_0000n, false);
    expectAccess(machine, S, 'lb', 0x8005_0007n, false);
    expectAccess(machine, S, 'lb', 0x8005_0008n, true);
    // Entry 0 matches part of this access: the access fails even though entry 1 holds all of it.
    expectAccess(machine, S, 'ld', 0x8005_0004n, false);
  });

  it('locked entries bind M-mode; unlocked ones do not', () => {
    const machine = createMachine();
    program(machine, [
      { index: 0, address: napot(0x8006_0000n, 0x1000n), config: NAPOT }, // unlocked, no permissions
      { index: 1, address: napot(0x8007_0000n, 0x1000n), config: NAPOT | R | L }, // locked, read-only
    ]);
    expectAccess(machine, M, 'sd', 0x8006_0000n, true);
    expectAccess(machine, M, 'ld', 0x8007_0000n, true);
    expectAccess(machine, M, 'sd', 0x8007_0008n, false);
    // M fetch from the locked entry without X.
    const hart = machine.harts[0];
    writeInstructions(machine, 0x8007_0100n, [encode('addi', { rd: X.a0, rs1: 0, imm: 1 })]);
    setPrivilege(machine, M);
    hart.mcauseLo = NO_TRAP;
    hart.pc = 0x8007_0100n;
    step(machine);
    assert.equal(hart.mcauseLo, ExceptionCause.InstructionAccessFault);
  });

  it('a locked entry ignores writes to its pmpcfg byte and pmpaddr, and a locked TOR entry locks the address below it', () => {
    const machine = createMachine();
    program(machine, [
      { index: 0, address: 0x8008_0000n >> 2n, config: OFF },
      { index: 1, address: 0x8008_1000n >> 2n, config: TOR | R | L },
      { index: 2, address: napot(0x8009_0000n, 0x1000n), config: NAPOT | R },
    ]);
    const cfgBefore = readCsrValue(machine, PMPCFG0);
    const outcome = runInstructions(machine, M, [
      encode('csrrw', { rd: 0, rs1: X.t0, csr: PMPCFG0 }),
      encode('csrrw', { rd: 0, rs1: X.t1, csr: PMPADDR0 }),
      encode('csrrw', { rd: 0, rs1: X.t1, csr: PMPADDR0 + 1 }),
      encode('csrrw', { rd: 0, rs1: X.t1, csr: PMPADDR0 + 2 }),
    ], [[X.t0, 0n], [X.t1, 0x1234n]]);
    assert.equal(outcome.cause, NO_TRAP, 'writes to locked PMP CSRs are ignored, not illegal');
    assert.equal(readCsrValue(machine, PMPCFG0), cfgBefore & 0xff00n, 'only the locked byte (entry 1) survives');
    assert.equal(readCsrValue(machine, PMPADDR0), 0x8008_0000n >> 2n, 'pmpaddr0 is the locked TOR base');
    assert.equal(readCsrValue(machine, PMPADDR0 + 1), 0x8008_1000n >> 2n);
    assert.equal(readCsrValue(machine, PMPADDR0 + 2), 0x1234n, 'an unlocked entry takes the write');
    // Only a reset unlocks.
    machine.reset();
    assert.equal(readCsrValue(machine, PMPCFG0), 0n);
  });

  it('R=0, W=1 is reserved: W is dropped and stores still fault', () => {
    const machine = createMachine();
    program(machine, [{ index: 0, address: napot(0x800a_0000n, 0x1000n), config: NAPOT | W }, CODE_ENTRY]);
    assert.equal(readCsrValue(machine, PMPCFG0) & 0xffn, BigInt(NAPOT));
    expectAccess(machine, S, 'sd', 0x800a_0000n, false);
    expectAccess(machine, S, 'ld', 0x800a_0000n, false);
    // W|X without R: X kept, W dropped.
    program(machine, [{ index: 0, address: napot(0x800a_0000n, 0x1000n), config: NAPOT | W | XP }, CODE_ENTRY]);
    assert.equal(readCsrValue(machine, PMPCFG0) & 0xffn, BigInt(NAPOT | XP));
  });

  it('a PMP write takes effect on the next access even when the translation was cached', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    writeDoubleword(machine, 0x800b_0000n, 5n);
    const outcome = runInstructions(machine, M, [
      encode('ld', { rd: X.a0, rs1: X.t0, imm: 0 }),
      encode('csrrw', { rd: 0, rs1: X.t1, csr: PMPADDR0 }),
      encode('csrrw', { rd: 0, rs1: X.t2, csr: PMPCFG0 }),
      encode('ld', { rd: X.a1, rs1: X.t0, imm: 0 }),
    ], [[X.t0, 0x800b_0000n], [X.t1, napot(0x800b_0000n, 0x1000n)], [X.t2, BigInt(NAPOT | W | L)], [X.a1, 99n]]);
    assert.equal(hart.readRegister(X.a0), 5n);
    assert.equal(outcome.cause, ExceptionCause.LoadAccessFault);
    assert.equal(outcome.epc, CODE_ADDRESS + 12n);
    assert.equal(hart.readRegister(X.a1), 99n);
  });

  it('a misaligned access crossing a page is checked byte for byte against the entries', () => {
    const machine = createMachine();
    // [..1ffc) RW, [1ffc, 2000) nothing, [2000, 3000) RW: the bytes at 1ffc..1fff must not be read.
    program(machine, [
      { index: 0, address: 0x800c_0000n >> 2n, config: OFF },
      { index: 1, address: 0x800c_1ffcn >> 2n, config: TOR | R | W },
      { index: 2, address: 0x800c_2000n >> 2n, config: TOR },
      { index: 3, address: 0x800c_3000n >> 2n, config: TOR | R | W },
      CODE_ENTRY,
    ]);
    expectAccess(machine, S, 'ld', 0x800c_1ff0n, true);
    expectAccess(machine, S, 'ld', 0x800c_2000n, true);
    expectAccess(machine, S, 'ld', 0x800c_1ffan, false);
    machine.writePhysical(0x800c_1ff8n, new Uint8Array(16));
    expectAccess(machine, S, 'sd', 0x800c_1ffan, false);
    assert.deepEqual(machine.readPhysical(0x800c_1ff8n, 16), new Uint8Array(16), 'nothing written');
  });

  it('a 32-bit instruction whose upper half leaves the executable region is an instruction access fault', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    // X ends at 0x8000_1004: an instruction at 0x8000_1002 has its second parcel outside.
    program(machine, [
      { index: 0, address: 0x8000_1000n >> 2n, config: OFF },
      { index: 1, address: 0x8000_1004n >> 2n, config: TOR | R | XP },
      { index: 2, address: 0x8000_1008n >> 2n, config: TOR | R },
    ]);
    writeInstructions(machine, 0x8000_1000n, [encode('c.addi', { rd: X.a0, imm: 1 }), encode('addi', { rd: X.a0, rs1: X.a0, imm: 2 })]);
    setPrivilege(machine, S);
    hart.writeRegister(X.a0, 0n);
    hart.mcauseLo = NO_TRAP;
    hart.pc = 0x8000_1000n;
    step(machine, 2);
    assert.equal(hart.readRegister(X.a0), 1n, 'the compressed instruction inside the region ran, the split one did not');
    assert.equal(hart.mcauseLo, ExceptionCause.InstructionAccessFault);
    assert.equal(hart.mepcLo, 0x8000_1002 | 0);
    assert.equal(hart.mtvalLo, 0x8000_1004 | 0, 'tval names the parcel that faulted');
  });

  it('page-table walks are checked as S-mode reads: a PTE outside PMP gives an access fault', () => {
    const machine = createMachine();
    const hart = machine.harts[0];
    // Sv39 root at 0x800d_0000: a 1G identity leaf for the code, and a pointer for 0x4000_0000
    // to a level-1 table at 0x800e_0000, which PMP hides from S.
    writeDoubleword(machine, 0x800d_0000n + 2n * 8n, ((0x8000_0000n >> 12n) << 10n) | 0xcfn);
    writeDoubleword(machine, 0x800d_0000n + 1n * 8n, ((0x800e_0000n >> 12n) << 10n) | 1n);
    writeDoubleword(machine, 0x800e_0000n, ((0x8020_0000n >> 12n) << 10n) | 0xc7n);
    program(machine, [
      { index: 0, address: napot(0x800e_0000n, 0x1000n), config: NAPOT },
      { index: 1, address: napot(0x8000_0000n, 0x8000_0000n), config: NAPOT | R | W | XP },
    ]);
    hart.satpHi = 8 << 28;
    hart.satpLo = 0x800d0;
    expectAccess(machine, S, 'ld', 0x4000_0000n, false);
    expectAccess(machine, S, 'sd', 0x4000_0008n, false);
    // Open the table to S: the same load now translates (2M page at 0x8020_0000).
    program(machine, [
      { index: 0, address: napot(0x800e_0000n, 0x1000n), config: NAPOT | R },
      { index: 1, address: napot(0x8000_0000n, 0x8000_0000n), config: NAPOT | R | W | XP },
    ]);
    expectAccess(machine, S, 'ld', 0x4000_0000n, true);
  });
});
