// Sv39, Sv48 and Sv57 translation with page tables the test builds in guest RAM: 4K, 2M, 1G
// (and Sv48 512G, Sv57 256T) pages, hardware A/D updates read back from the PTEs, page faults
// with their cause and tval for fetch, load and store, the U/SUM/MXR/MPRV rules, reserved
// encodings, Svpbmt's memory types and Svnapot's 64 KiB pages (and their faults on CPU models
// without them), satp WARL per CPU model, TLB invalidation by sfence.vma and page-crossing
// accesses that fault on the second page.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExceptionCause, Mstatus, Privilege } from '../../vmm-core/cpu/csr-numbers';
import type { Hart } from '../../vmm-core/cpu/hart';
import { walkForDebugger } from '../../vmm-core/debug/debugger';
import type { Machine } from '../../vmm-core/machine/machine';
import {
  createMachine, encode, executeAt, readDoubleword, setPrivilege, step, writeDoubleword, writeInstructions, X,
} from '../support/assemble';
import { PageTables, PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from '../support/page-tables';

const CODE = 0x8000_1000n;
const TRAP_VECTOR = 0x8000_0800n;
const NO_TRAP = -1;
const SATP_CSR = 0x180;


interface Setup {
  machine: Machine;
  hart: Hart;
  tables: PageTables;
}

/** A machine with translation on for S/U, RAM identity-mapped by a 1G page so S code runs at CODE. */
function setup(mode: 8 | 9 | 10, cpu?: string): Setup {
  const machine = createMachine({ cpu });
  const hart = machine.harts[0];
  const tables = new PageTables(machine, mode);
  tables.map(0x8000_0000n, 0x8000_0000n, 2, PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
  const satp = tables.satp;
  hart.satpLo = Number(satp & 0xffff_ffffn) | 0;
  hart.satpHi = Number(satp >> 32n) | 0;
  hart.mtvecLo = Number(TRAP_VECTOR);
  // PMP: all of memory for S and U, as firmware would set it.
  hart.pmp.writeAddress(0, -1, -1);
  hart.pmp.writeConfig(0, 0x1f);
  hart.pmp.rebuild();
  machine.mmus[0].flush();
  return { machine, hart, tables };
}

interface Outcome {
  /** Exception cause, or NO_TRAP. */
  cause: number;
  tval: bigint;
  epc: bigint;
  value: bigint;
}

const wide = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/** Runs one instruction at `privilege` with the given registers; reports the trap, if any. */
function run(
  { machine, hart }: Setup, privilege: Privilege, word: number, registers: ReadonlyArray<readonly [number, bigint]>, resultRegister = X.a0,
): Outcome {
  setPrivilege(machine, privilege);
  hart.mcauseLo = NO_TRAP;
  hart.writeRegister(resultRegister, 0x5a5an);
  for (const [register, value] of registers) hart.writeRegister(register, value);
  executeAt(machine, CODE, [word]);
  return {
    cause: hart.mcauseLo,
    tval: wide(hart.mtvalLo, hart.mtvalHi),
    epc: wide(hart.mepcLo, hart.mepcHi),
    value: hart.readRegister(resultRegister),
  };
}

const load = (context: Setup, privilege: Privilege, virtual: bigint, mnemonic = 'ld') =>
  run(context, privilege, encode(mnemonic, { rd: X.a0, rs1: X.t0, imm: 0 }), [[X.t0, virtual]]);

const store = (context: Setup, privilege: Privilege, virtual: bigint, value: bigint, mnemonic = 'sd') =>
  run(context, privilege, encode(mnemonic, { rs2: X.t1, rs1: X.t0, imm: 0 }), [[X.t0, virtual], [X.t1, value]]);

/** Points pc at `virtual` in `privilege` and executes one instruction (written at `physical`). */
function fetch(context: Setup, privilege: Privilege, virtual: bigint, physical: bigint, word: number): Outcome {
  const { machine, hart } = context;
  writeInstructions(machine, physical, [word]);
  setPrivilege(machine, privilege);
  hart.mcauseLo = NO_TRAP;
  hart.pc = virtual;
  step(machine);
  return { cause: hart.mcauseLo, tval: wide(hart.mtvalLo, hart.mtvalHi), epc: wide(hart.mepcLo, hart.mepcHi), value: hart.readRegister(X.a0) };
}

const RWAD = PTE_R | PTE_W | PTE_A | PTE_D;

describe('Sv39 translation', () => {
  it('4K, 2M and 1G pages translate, offsets pass through, high-half addresses sign-extend', () => {
    const context = setup(8);
    const { machine, tables } = context;
    tables.map(0x1000_0000n, 0x8020_1000n, 0, RWAD);
    tables.map(0x2000_0000n, 0x8040_0000n, 1, RWAD);
    tables.map(0x4000_0000n, 0x8000_0000n, 2, RWAD);
    tables.map(0xffff_ffc0_0000_0000n, 0x8000_0000n, 2, RWAD);
    writeDoubleword(machine, 0x8020_1ff8n, 0x1111n);
    writeDoubleword(machine, 0x8041_2348n, 0x2222n);
    writeDoubleword(machine, 0x8023_4560n, 0x3333n);
    writeDoubleword(machine, 0x8030_0008n, 0x4444n);
    assert.equal(load(context, Privilege.Supervisor, 0x1000_0ff8n).value, 0x1111n);
    assert.equal(load(context, Privilege.Supervisor, 0x2001_2348n).value, 0x2222n);
    assert.equal(load(context, Privilege.Supervisor, 0x4023_4560n).value, 0x3333n);
    assert.equal(load(context, Privilege.Supervisor, 0xffff_ffc0_0030_0008n).value, 0x4444n);
    // Stores go to the same physical bytes.
    assert.equal(store(context, Privilege.Supervisor, 0x2001_2350n, 0x5555n).cause, NO_TRAP);
    assert.equal(readDoubleword(machine, 0x8041_2350n), 0x5555n);
  });

  it('hardware sets A on access and D on store, in the leaf PTE of every page size', () => {
    const context = setup(8);
    const { machine, tables } = context;
    const leaves = [
      { virtual: 0x1000_0000n, pte: tables.map(0x1000_0000n, 0x8020_1000n, 0, PTE_R | PTE_W) },
      { virtual: 0x2000_0000n, pte: tables.map(0x2000_0000n, 0x8040_0000n, 1, PTE_R | PTE_W) },
      { virtual: 0x4000_0000n, pte: tables.map(0x4000_0000n, 0x8000_0000n, 2, PTE_R | PTE_W) },
    ];
    for (const { virtual, pte } of leaves) {
      assert.equal(readDoubleword(machine, pte) & (PTE_A | PTE_D), 0n);
      assert.equal(load(context, Privilege.Supervisor, virtual + 0x100n).cause, NO_TRAP);
      assert.equal(readDoubleword(machine, pte) & (PTE_A | PTE_D), PTE_A, 'a load sets A only');
      assert.equal(store(context, Privilege.Supervisor, virtual + 0x100n, 1n).cause, NO_TRAP);
      assert.equal(readDoubleword(machine, pte) & (PTE_A | PTE_D), PTE_A | PTE_D, 'a store sets D');
    }
    // A fetch sets A too.
    const codePte = tables.map(0x3000_0000n, 0x8020_5000n, 0, PTE_X);
    assert.equal(fetch(context, Privilege.Supervisor, 0x3000_0000n, 0x8020_5000n, encode('addi', { rd: X.a0, rs1: 0, imm: 9 })).cause, NO_TRAP);
    assert.equal(readDoubleword(machine, codePte) & (PTE_A | PTE_D), PTE_A);
    // A store that faults sets nothing.
    const readOnly = tables.map(0x1000_1000n, 0x8020_2000n, 0, PTE_R);
    assert.equal(store(context, Privilege.Supervisor, 0x1000_1000n, 1n).cause, ExceptionCause.StorePageFault);
    assert.equal(readDoubleword(machine, readOnly) & (PTE_A | PTE_D), 0n);
  });

  it('page faults carry the cause, the faulting address in tval and the instruction in epc', () => {
    const context = setup(8);
    const { tables } = context;
    tables.map(0x1000_0000n, 0x8020_1000n, 0, RWAD); // no X
    tables.map(0x1000_1000n, 0x8020_2000n, 0, PTE_R | PTE_A);
    tables.setEntry(0x1000_5000n, 0, 0n); // invalid

    const unmapped = load(context, Privilege.Supervisor, 0x1000_5010n);
    assert.equal(unmapped.cause, ExceptionCause.LoadPageFault);
    assert.equal(unmapped.tval, 0x1000_5010n);
    assert.equal(unmapped.epc, CODE);
    assert.equal(unmapped.value, 0x5a5an, 'rd is not written by a faulting load');

    const readOnly = store(context, Privilege.Supervisor, 0x1000_1008n, 7n);
    assert.equal(readOnly.cause, ExceptionCause.StorePageFault);
    assert.equal(readOnly.tval, 0x1000_1008n);

    const notExecutable = fetch(context, Privilege.Supervisor, 0x1000_0040n, 0x8020_1040n, encode('addi', { rd: X.a0, rs1: 0, imm: 1 }));
    assert.equal(notExecutable.cause, ExceptionCause.InstructionPageFault);
    assert.equal(notExecutable.tval, 0x1000_0040n);
    assert.equal(notExecutable.epc, 0x1000_0040n);

    // An AMO that faults reports a store/AMO page fault; LR reports a load page fault.
    const amo = run(context, Privilege.Supervisor, encode('amoadd.d', { rd: X.a0, rs1: X.t0, rs2: X.t0 }), [[X.t0, 0x1000_1000n]]);
    assert.equal(amo.cause, ExceptionCause.StorePageFault);
    const loadReserved = run(context, Privilege.Supervisor, encode('lr.d', { rd: X.a0, rs1: X.t0 }), [[X.t0, 0x1000_5000n]]);
    assert.equal(loadReserved.cause, ExceptionCause.LoadPageFault);
    assert.equal(loadReserved.tval, 0x1000_5000n);
  });

  it('a 4-byte instruction straddling into an unmapped page faults with tval at the second page', () => {
    const context = setup(8);
    context.tables.map(0x1000_8000n, 0x8020_8000n, 0, PTE_X | PTE_R | PTE_A);
    context.tables.setEntry(0x1000_9000n, 0, 0n);
    const outcome = fetch(context, Privilege.Supervisor, 0x1000_8ffen, 0x8020_8ffen, encode('addi', { rd: X.a0, rs1: 0, imm: 1 }));
    assert.equal(outcome.cause, ExceptionCause.InstructionPageFault);
    assert.equal(outcome.epc, 0x1000_8ffen);
    assert.equal(outcome.tval, 0x1000_9000n);
  });

  it('U pages: S needs SUM to load or store, S never executes them; U needs U pages', () => {
    const context = setup(8);
    const { hart, tables } = context;
    tables.map(0x1000_0000n, 0x8020_1000n, 0, RWAD | PTE_X);
    tables.map(0x1000_3000n, 0x8020_3000n, 0, RWAD | PTE_U);
    tables.map(0x1000_4000n, 0x8020_4000n, 0, PTE_R | PTE_X | PTE_A | PTE_U);
    const addi = encode('addi', { rd: X.a0, rs1: 0, imm: 3 });

    assert.equal(load(context, Privilege.Supervisor, 0x1000_3000n).cause, ExceptionCause.LoadPageFault);
    assert.equal(store(context, Privilege.Supervisor, 0x1000_3000n, 1n).cause, ExceptionCause.StorePageFault);
    hart.mstatus |= Mstatus.SUM;
    assert.equal(load(context, Privilege.Supervisor, 0x1000_3000n).cause, NO_TRAP);
    assert.equal(store(context, Privilege.Supervisor, 0x1000_3000n, 1n).cause, NO_TRAP);
    assert.equal(fetch(context, Privilege.Supervisor, 0x1000_4000n, 0x8020_4000n, addi).cause, ExceptionCause.InstructionPageFault);

    // U-mode: its own pages only. (Loads and stores run from the U code page.)
    assert.equal(fetch(context, Privilege.User, 0x1000_4000n, 0x8020_4000n, addi).cause, NO_TRAP);
    assert.equal(hart.readRegister(X.a0), 3n);
    assert.equal(fetch(context, Privilege.User, 0x1000_0000n, 0x8020_1000n, addi).cause, ExceptionCause.InstructionPageFault);
    hart.writeRegister(X.t0, 0x1000_0000n);
    const userLoad = fetch(context, Privilege.User, 0x1000_4000n, 0x8020_4000n, encode('ld', { rd: X.a0, rs1: X.t0, imm: 0 }));
    assert.equal(userLoad.cause, ExceptionCause.LoadPageFault);
    assert.equal(userLoad.tval, 0x1000_0000n);
    hart.writeRegister(X.t0, 0x1000_3000n);
    assert.equal(fetch(context, Privilege.User, 0x1000_4000n, 0x8020_4000n, encode('ld', { rd: X.a0, rs1: X.t0, imm: 0 })).cause, NO_TRAP);
  });

  it('MXR makes execute-only pages readable, not writable', () => {
    const context = setup(8);
    context.tables.map(0x1000_2000n, 0x8020_2000n, 0, PTE_X | PTE_A);
    writeDoubleword(context.machine, 0x8020_2010n, 0xabcdn);
    assert.equal(load(context, Privilege.Supervisor, 0x1000_2010n).cause, ExceptionCause.LoadPageFault);
    context.hart.mstatus |= Mstatus.MXR;
    const outcome = load(context, Privilege.Supervisor, 0x1000_2010n);
    assert.equal(outcome.cause, NO_TRAP);
    assert.equal(outcome.value, 0xabcdn);
    assert.equal(store(context, Privilege.Supervisor, 0x1000_2010n, 1n).cause, ExceptionCause.StorePageFault);
  });

  it('clearing SUM or MXR (csrc sstatus) takes back the accesses only they allowed, however many pages used them', () => {
    // One S-mode run (nothing flushes the TLBs between its instructions): set the bit, load and
    // store through `pages` U pages (or an execute-only one), clear the bit, then touch one of
    // them again: a page fault, not the stale translation. S pages stay usable throughout.
    const SSTATUS = 0x100;
    const scenario = (bit: number, pages: number, again: number, kind: 'load' | 'store'): Outcome => {
      const context = setup(8);
      const { machine, hart, tables } = context;
      for (let page = 0; page < pages; page++) {
        tables.map(0x2000_0000n + BigInt(page) * 0x1000n, 0x8030_0000n + BigInt(page) * 0x1000n, 0, bit === Mstatus.SUM ? RWAD | PTE_U : PTE_X | PTE_A);
      }
      tables.map(0x1000_8000n, 0x8020_8000n, 0, RWAD);
      const words = [encode('csrrs', { rd: 0, rs1: X.t2, csr: SSTATUS })];
      for (let page = 0; page < pages; page++) {
        words.push(encode('ld', { rd: X.a1, rs1: X.t0, imm: 0 }));
        if (bit === Mstatus.SUM) words.push(encode('sd', { rs1: X.t0, rs2: X.a1, imm: 8 }));
        words.push(encode('add', { rd: X.t0, rs1: X.t0, rs2: X.t3 }));
      }
      words.push(encode('csrrc', { rd: 0, rs1: X.t2, csr: SSTATUS }));
      words.push(encode('ld', { rd: X.a2, rs1: X.t4, imm: 0 }));
      words.push(kind === 'load' ? encode('ld', { rd: X.a0, rs1: X.t5, imm: 16 }) : encode('sd', { rs1: X.t5, rs2: X.a1, imm: 16 }));
      setPrivilege(machine, Privilege.Supervisor);
      hart.mcauseLo = NO_TRAP;
      hart.writeRegister(X.t0, 0x2000_0000n);
      hart.writeRegister(X.t2, BigInt(bit));
      hart.writeRegister(X.t3, 0x1000n);
      hart.writeRegister(X.t4, 0x1000_8000n);
      hart.writeRegister(X.t5, 0x2000_0000n + BigInt(again) * 0x1000n);
      executeAt(machine, CODE, words);
      assert.equal(hart.mstatus & bit, 0, 'the bit is clear');
      return { cause: hart.mcauseLo, tval: wide(hart.mtvalLo, hart.mtvalHi), epc: wide(hart.mepcLo, hart.mepcHi), value: hart.readRegister(X.a0) };
    };
    for (const [pages, again] of [[3, 1], [40, 35], [40, 2]]) {
      const loaded = scenario(Mstatus.SUM, pages, again, 'load');
      assert.equal(loaded.cause, ExceptionCause.LoadPageFault, `SUM, ${pages} pages, load from page ${again}`);
      assert.equal(loaded.tval, 0x2000_0000n + BigInt(again) * 0x1000n + 16n);
      assert.equal(scenario(Mstatus.SUM, pages, again, 'store').cause, ExceptionCause.StorePageFault, `SUM, ${pages} pages, store`);
    }
    assert.equal(scenario(Mstatus.MXR, 1, 0, 'load').cause, ExceptionCause.LoadPageFault, 'MXR: execute-only again');
    assert.equal(scenario(Mstatus.MXR, 40, 37, 'load').cause, ExceptionCause.LoadPageFault, 'MXR, 40 pages');
  });

  it('MPRV with MPP=S translates M-mode loads and stores, not fetches', () => {
    const context = setup(8);
    const { hart, machine, tables } = context;
    tables.map(0x2000_0000n, 0x8040_0000n, 1, RWAD);
    writeDoubleword(machine, 0x8040_0040n, 0x600dn);
    // Without MPRV, M-mode uses the address as physical: nothing is there.
    assert.equal(load(context, Privilege.Machine, 0x2000_0040n).cause, ExceptionCause.LoadAccessFault);
    hart.mstatus = (hart.mstatus & ~Mstatus.MPP) | Mstatus.MPRV | (Privilege.Supervisor << Mstatus.MPP_SHIFT);
    const outcome = load(context, Privilege.Machine, 0x2000_0040n);
    assert.equal(outcome.cause, NO_TRAP);
    assert.equal(outcome.value, 0x600dn);
    assert.equal(store(context, Privilege.Machine, 0x2000_0048n, 0x77n).cause, NO_TRAP);
    assert.equal(readDoubleword(machine, 0x8040_0048n), 0x77n);
    // MPP=U: the same S page now faults, while fetches (from a non-U page) still work untranslated.
    hart.mstatus = (hart.mstatus & ~Mstatus.MPP) | Mstatus.MPRV | (Privilege.User << Mstatus.MPP_SHIFT);
    const asUser = load(context, Privilege.Machine, 0x2000_0040n);
    assert.equal(asUser.cause, ExceptionCause.LoadPageFault);
    assert.equal(asUser.epc, CODE);
  });

  it('a superpage whose PPN is not aligned to its size is a page fault', () => {
    const context = setup(8);
    context.tables.map(0x2020_0000n, 0x8040_1000n, 1, RWAD);
    context.tables.map(0x4000_0000n, 0x8020_0000n, 2, RWAD);
    const megapage = load(context, Privilege.Supervisor, 0x2020_0000n);
    assert.equal(megapage.cause, ExceptionCause.LoadPageFault);
    assert.equal(megapage.tval, 0x2020_0000n);
    assert.equal(load(context, Privilege.Supervisor, 0x4000_0000n).cause, ExceptionCause.LoadPageFault);
  });

  it('reserved PTE encodings fault: W without R, non-leaf with A/D/U, reserved high bits, leaf-less walk', () => {
    const context = setup(8);
    const { tables } = context;
    tables.setEntry(0x1000_0000n, 0, ((0x8020_1000n >> 12n) << 10n) | PTE_V | PTE_W | PTE_A | PTE_D);
    assert.equal(load(context, Privilege.Supervisor, 0x1000_0000n).cause, ExceptionCause.LoadPageFault);
    tables.setEntry(0x1000_1000n, 0, ((0x8020_1000n >> 12n) << 10n) | PTE_V | RWAD | (1n << 54n));
    assert.equal(load(context, Privilege.Supervisor, 0x1000_1000n).cause, ExceptionCause.LoadPageFault);
    // A pointer at level 0 (no leaf anywhere).
    tables.setEntry(0x1000_2000n, 0, ((0x8020_1000n >> 12n) << 10n) | PTE_V);
    assert.equal(load(context, Privilege.Supervisor, 0x1000_2000n).cause, ExceptionCause.LoadPageFault);
    // A non-leaf with A set (Sv39 level 1 pointer for 0x3000_0000).
    tables.setEntry(0x3000_0000n, 1, ((0x8015_0000n >> 12n) << 10n) | PTE_V | PTE_A);
    assert.equal(load(context, Privilege.Supervisor, 0x3000_0000n).cause, ExceptionCause.LoadPageFault);
  });

  it('non-canonical addresses fault with the full address in tval', () => {
    const context = setup(8);
    for (const address of [0x0000_0040_0000_0000n, 0x0000_0080_0000_0000n, 0xffff_ff80_0000_0000n - 8n, 0x8000_0000_8000_0000n]) {
      const outcome = load(context, Privilege.Supervisor, address);
      assert.equal(outcome.cause, ExceptionCause.LoadPageFault, `0x${address.toString(16)}`);
      assert.equal(outcome.tval, address);
    }
    const storeOutcome = store(context, Privilege.Supervisor, 0x0000_0040_0000_0000n, 1n);
    assert.equal(storeOutcome.cause, ExceptionCause.StorePageFault);
  });
});

describe('Sv48 translation', () => {
  it('maps 4K, 2M, 1G and 512G pages through four levels, including high-half addresses', () => {
    const context = setup(9);
    const { machine, tables } = context;
    tables.map(0x0000_0080_0000_1000n, 0x8020_1000n, 0, RWAD);
    tables.map(0x0000_0080_0020_0000n, 0x8040_0000n, 1, RWAD);
    tables.map(0x0000_0080_4000_0000n, 0x8000_0000n, 2, RWAD);
    tables.map(0x0000_0100_0000_0000n, 0n, 3, RWAD);
    tables.map(0xffff_8000_0000_3000n, 0x8020_3000n, 0, RWAD);
    writeDoubleword(machine, 0x8020_1010n, 0xa1n);
    writeDoubleword(machine, 0x8041_0010n, 0xa2n);
    writeDoubleword(machine, 0x8030_0010n, 0xa3n);
    writeDoubleword(machine, 0x8000_0010n, 0xa4n);
    writeDoubleword(machine, 0x8020_3ff0n, 0xa5n);
    assert.equal(load(context, Privilege.Supervisor, 0x0000_0080_0000_1010n).value, 0xa1n);
    assert.equal(load(context, Privilege.Supervisor, 0x0000_0080_0021_0010n).value, 0xa2n);
    assert.equal(load(context, Privilege.Supervisor, 0x0000_0080_4030_0010n).value, 0xa3n);
    assert.equal(load(context, Privilege.Supervisor, 0x0000_0100_8000_0010n).value, 0xa4n);
    assert.equal(load(context, Privilege.Supervisor, 0xffff_8000_0000_3ff0n).value, 0xa5n);
    // Bit 47 must be copied into 63:48.
    const outcome = load(context, Privilege.Supervisor, 0x0000_8000_0000_3ff0n);
    assert.equal(outcome.cause, ExceptionCause.LoadPageFault);
    assert.equal(outcome.tval, 0x0000_8000_0000_3ff0n);
  });

  it('a misaligned 512G page faults, and A/D land in the level-3 leaf', () => {
    const context = setup(9);
    const pte = context.tables.map(0x0000_0100_0000_0000n, 0x8000_0000n, 3, PTE_R | PTE_W);
    assert.equal(load(context, Privilege.Supervisor, 0x0000_0100_0000_0000n).cause, ExceptionCause.LoadPageFault);
    const good = context.tables.map(0x0000_0180_0000_0000n, 0n, 3, PTE_R | PTE_W);
    assert.equal(store(context, Privilege.Supervisor, 0x0000_0180_8000_0100n, 3n).cause, NO_TRAP);
    assert.equal(readDoubleword(context.machine, good) & (PTE_A | PTE_D), PTE_A | PTE_D);
    assert.equal(readDoubleword(context.machine, pte) & (PTE_A | PTE_D), 0n);
  });
});

describe('Sv57 translation', () => {
  it('walks five levels: 4K, 2M, 1G, 512G and 256T pages, and upper-half addresses', () => {
    const context = setup(10);
    const { machine, tables } = context;
    tables.map(0x0023_4567_8000_0000n, 0x8020_0000n, 0, RWAD);
    tables.map(0x00c0_0000_0020_0000n, 0x8040_0000n, 1, RWAD);
    tables.map(0x00ff_0000_4000_0000n, 0x8000_0000n, 2, RWAD);
    tables.map(0x0002_0080_0000_0000n, 0n, 3, RWAD);
    tables.map(0x0001_0000_0000_0000n, 0n, 4, RWAD);
    tables.map(0xff00_0000_0000_0000n, 0x8070_0000n, 0, RWAD);
    const values: Array<[bigint, bigint, bigint]> = [
      [0x0023_4567_8000_0010n, 0x8020_0010n, 0xb1n],
      [0x00c0_0000_0021_0010n, 0x8041_0010n, 0xb2n],
      [0x00ff_0000_4030_0020n, 0x8030_0020n, 0xb3n],
      [0x0002_0080_8050_0030n, 0x8050_0030n, 0xb4n],
      [0x0001_0000_8060_0040n, 0x8060_0040n, 0xb5n],
      [0xff00_0000_0000_0050n, 0x8070_0050n, 0xb6n],
    ];
    for (const [, physical, value] of values) writeDoubleword(machine, physical, value);
    for (const [virtual, , value] of values) {
      const outcome = load(context, Privilege.Supervisor, virtual);
      assert.equal(outcome.cause, NO_TRAP, `0x${virtual.toString(16)}`);
      assert.equal(outcome.value, value, `0x${virtual.toString(16)}`);
    }
  });

  it('bit 56 must be copied into 63:57; a misaligned 256T page faults; A/D land in the level-4 leaf', () => {
    const context = setup(10);
    const { machine, tables } = context;
    for (const address of [0x0100_0000_0000_0000n, 0xfe00_0000_0000_0000n, 0x8000_0000_0000_1000n]) {
      const outcome = load(context, Privilege.Supervisor, address);
      assert.equal(outcome.cause, ExceptionCause.LoadPageFault, `0x${address.toString(16)}`);
      assert.equal(outcome.tval, address);
    }
    // Canonical in Sv57 although not in Sv48: reaches the (empty) tables and faults there.
    tables.map(0x0080_0000_0000_0000n, 0x8020_0000n, 0, RWAD);
    writeDoubleword(machine, 0x8020_0008n, 0x57n);
    assert.equal(load(context, Privilege.Supervisor, 0x0080_0000_0000_0008n).value, 0x57n);
    const misaligned = tables.map(0x0003_0000_0000_0000n, 0x8000_0000n, 4, PTE_R | PTE_W);
    assert.equal(load(context, Privilege.Supervisor, 0x0003_0000_0000_0000n).cause, ExceptionCause.LoadPageFault);
    assert.equal(readDoubleword(machine, misaligned) & (PTE_A | PTE_D), 0n);
    const leaf = tables.map(0x0004_0000_0000_0000n, 0n, 4, PTE_R | PTE_W);
    assert.equal(store(context, Privilege.Supervisor, 0x0004_0000_8020_0100n, 3n).cause, NO_TRAP);
    assert.equal(readDoubleword(machine, 0x8020_0100n), 3n);
    assert.equal(readDoubleword(machine, leaf) & (PTE_A | PTE_D), PTE_A | PTE_D);
  });

  it('the debugger\'s side-effect-free walk follows Sv57 too', () => {
    const context = setup(10);
    context.tables.map(0x00a0_2000_0000_0000n, 0x8020_0000n, 0, PTE_R);
    setPrivilege(context.machine, Privilege.Supervisor);
    assert.equal(walkForDebugger(context.machine, context.hart, 0x00a0_2000_0000_0123n), 0x8020_0123n);
    assert.equal(walkForDebugger(context.machine, context.hart, 0x00a0_3000_0000_0123n), undefined);
  });
});

describe('Svpbmt and Svnapot', () => {
  const pte = (physical: bigint, flags: bigint, high = 0n): bigint => ((physical >> 12n) << 10n) | flags | PTE_V | (high << 54n);
  const PBMT_NC = 1n << 7n, PBMT_IO = 2n << 7n, PBMT_RESERVED = 3n << 7n, N = 1n << 9n;

  it('PBMT is a page fault without Svpbmt, and with it while menvcfg.PBMTE = 0', () => {
    for (const cpu of [undefined, 'rv64,svpbmt=on']) {
      const context = setup(8, cpu);
      context.tables.setEntry(0x1000_0000n, 0, pte(0x8020_0000n, RWAD, PBMT_NC));
      assert.equal(load(context, Privilege.Supervisor, 0x1000_0000n).cause, ExceptionCause.LoadPageFault, String(cpu));
      // PBMTE set through menvcfg: only the model with Svpbmt starts translating.
      run(context, Privilege.Machine, encode('csrrs', { rd: 0, rs1: X.t0, csr: 0x30a }), [[X.t0, 1n << 62n]]);
      const after = load(context, Privilege.Supervisor, 0x1000_0000n);
      assert.equal(after.cause, cpu === undefined ? ExceptionCause.LoadPageFault : NO_TRAP, String(cpu));
    }
  });

  it('with Svpbmt and PBMTE, NC and IO pages translate; PBMT 3, PBMT on a pointer and reserved bits 60:54 fault', () => {
    const context = setup(8, 'rv64,svpbmt=on');
    const { machine, hart, tables } = context;
    hart.menvcfgHi |= 1 << 30;
    machine.mmus[0].flush();
    writeDoubleword(machine, 0x8020_0010n, 0x11n);
    tables.setEntry(0x1000_0000n, 0, pte(0x8020_0000n, RWAD, PBMT_NC));
    tables.setEntry(0x1000_1000n, 0, pte(0x8020_0000n, RWAD, PBMT_IO));
    tables.setEntry(0x1000_2000n, 0, pte(0x8020_0000n, RWAD, PBMT_RESERVED));
    tables.setEntry(0x1000_3000n, 0, pte(0x8020_0000n, RWAD, 1n));
    assert.equal(load(context, Privilege.Supervisor, 0x1000_0010n).value, 0x11n);
    assert.equal(load(context, Privilege.Supervisor, 0x1000_1010n).value, 0x11n);
    assert.equal(load(context, Privilege.Supervisor, 0x1000_2010n).cause, ExceptionCause.LoadPageFault);
    assert.equal(load(context, Privilege.Supervisor, 0x1000_3010n).cause, ExceptionCause.LoadPageFault);
    tables.setEntry(0x5000_0000n, 1, ((0x8015_0000n >> 12n) << 10n) | PTE_V | (PBMT_NC << 54n));
    tables.map(0x5000_0000n, 0x8020_0000n, 0, RWAD);
    assert.equal(load(context, Privilege.Supervisor, 0x5000_0010n).cause, ExceptionCause.LoadPageFault);
  });

  it('Svnapot maps a 64 KiB page from one level-0 leaf whose PPN ends in 1000', () => {
    const context = setup(8, 'rv64,svnapot=on');
    const { machine, hart, tables } = context;
    // PPN 0x80608: the 64 KiB page at 0x8060_0000.
    const napotPte = pte(0x8060_8000n, RWAD, N);
    tables.setEntry(0x4000_5000n, 0, napotPte);
    tables.setEntry(0x4000_f000n, 0, napotPte);
    writeDoubleword(machine, 0x8060_5010n, 0x64n);
    writeDoubleword(machine, 0x8060_f018n, 0x65n);
    assert.equal(load(context, Privilege.Supervisor, 0x4000_5010n).value, 0x64n);
    assert.equal(load(context, Privilege.Supervisor, 0x4000_f018n).value, 0x65n);
    assert.equal(walkForDebugger(machine, hart, 0x4000_5010n), 0x8060_5010n);
    // Only 64 KiB exists: a PPN ending in 0100 (32 KiB), or N on a megapage, faults.
    tables.setEntry(0x4001_0000n, 0, pte(0x8060_4000n, RWAD, N));
    assert.equal(load(context, Privilege.Supervisor, 0x4001_0000n).cause, ExceptionCause.LoadPageFault);
    tables.setEntry(0x6000_0000n, 1, pte(0x8060_0000n, RWAD, N));
    assert.equal(load(context, Privilege.Supervisor, 0x6000_0000n).cause, ExceptionCause.LoadPageFault);
  });

  it('N is reserved without Svnapot: the same leaf is a page fault', () => {
    const context = setup(8);
    context.tables.setEntry(0x4000_5000n, 0, pte(0x8060_8000n, RWAD, N));
    const outcome = load(context, Privilege.Supervisor, 0x4000_5010n);
    assert.equal(outcome.cause, ExceptionCause.LoadPageFault);
    assert.equal(outcome.tval, 0x4000_5010n);
  });
});

describe('satp and sfence.vma', () => {
  it('satp ignores writes of unsupported modes (Sv64 = 11, 5, 1, 15) and takes bare, Sv39, Sv48, Sv57', () => {
    const context = setup(8);
    const { hart, tables } = context;
    const write = (value: bigint) =>
      run(context, Privilege.Machine, encode('csrrw', { rd: X.a0, rs1: X.t0, csr: SATP_CSR }), [[X.t0, value]]);
    const satp = () => wide(hart.satpLo, hart.satpHi);
    const original = tables.satp;
    for (const mode of [11n, 5n, 1n, 15n]) {
      const outcome = write((mode << 60n) | 0x1234n);
      assert.equal(outcome.cause, NO_TRAP);
      assert.equal(outcome.value, BigInt.asIntN(64, original), 'csrrw returns the old value');
      assert.equal(satp(), original, `mode ${mode} leaves satp unchanged`);
    }
    write((9n << 60n) | 0x80100n);
    assert.equal(satp(), (9n << 60n) | 0x80100n);
    // QEMU 7.2's default CPU (Ringside's default model) takes Sv57, as Linux's probe expects.
    write((10n << 60n) | 0x80100n);
    assert.equal(satp(), (10n << 60n) | 0x80100n);
    write(0n);
    assert.equal(satp(), 0n);
  });

  it('a CPU model without Sv57 keeps satp when the guest writes mode 10', () => {
    for (const cpu of ['rv64,sv57=off', 'rv64gc']) {
      const context = setup(8, cpu);
      const write = (value: bigint) =>
        run(context, Privilege.Machine, encode('csrrw', { rd: X.a0, rs1: X.t0, csr: SATP_CSR }), [[X.t0, value]]);
      write((10n << 60n) | 0x1234n);
      assert.equal(wide(context.hart.satpLo, context.hart.satpHi), context.tables.satp, cpu);
      write((9n << 60n) | 0x80100n);
      assert.equal(wide(context.hart.satpLo, context.hart.satpHi), (9n << 60n) | 0x80100n, cpu);
    }
  });

  it('a changed PTE takes effect after sfence.vma (the stale translation is used until then)', () => {
    const context = setup(8);
    const { machine, hart, tables } = context;
    const pte = tables.map(0x1000_0000n, 0x8020_1000n, 0, RWAD);
    writeDoubleword(machine, 0x8020_1000n, 0x01dn);
    writeDoubleword(machine, 0x8020_7000n, 0x0e3n);
    setPrivilege(machine, Privilege.Supervisor);
    hart.writeRegister(X.t0, 0x1000_0000n);
    writeInstructions(machine, CODE, [
      encode('ld', { rd: X.a0, rs1: X.t0, imm: 0 }),
      encode('ld', { rd: X.a1, rs1: X.t0, imm: 0 }),
      encode('sfence.vma', { rs1: 0, rs2: 0 }),
      encode('ld', { rd: X.a2, rs1: X.t0, imm: 0 }),
    ]);
    hart.pc = CODE;
    step(machine);
    writeDoubleword(machine, pte, ((0x8020_7000n >> 12n) << 10n) | RWAD | PTE_V);
    step(machine, 3);
    assert.equal(hart.privilege, Privilege.Supervisor, 'no trap');
    assert.equal(hart.readRegister(X.a0), 0x01dn);
    assert.equal(hart.readRegister(X.a1), 0x01dn, 'the TLB still holds the old translation');
    assert.equal(hart.readRegister(X.a2), 0x0e3n, 'after sfence.vma the new PTE is used');
  });
});

describe('page-crossing accesses', () => {
  const context = setup(8);
  const { machine, tables } = context;
  tables.map(0x1000_0000n, 0x8020_1000n, 0, RWAD);
  tables.map(0x1000_1000n, 0x8020_5000n, 0, RWAD); // not physically contiguous with the page before
  tables.map(0x1000_6000n, 0x8020_6000n, 0, RWAD);
  tables.setEntry(0x1000_7000n, 0, 0n);
  tables.map(0x1000_8000n, 0x8020_8000n, 0, RWAD);
  tables.map(0x1000_9000n, 0x8020_9000n, 0, PTE_R | PTE_A);

  it('a misaligned load takes each part from its own page', () => {
    machine.writePhysical(0x8020_1ffcn, Uint8Array.of(0x11, 0x22, 0x33, 0x44));
    machine.writePhysical(0x8020_5000n, Uint8Array.of(0x55, 0x66, 0x77, 0x88));
    assert.equal(load(context, Privilege.Supervisor, 0x1000_0ffcn).value, BigInt.asIntN(64, 0x8877_6655_4433_2211n));
    assert.equal(load(context, Privilege.Supervisor, 0x1000_0ffen, 'lw').value, 0x6655_4433n);
    assert.equal(store(context, Privilege.Supervisor, 0x1000_0ffdn, 0x0102_0304n, 'sw').cause, NO_TRAP);
    assert.deepEqual(machine.readPhysical(0x8020_1ffdn, 3), Uint8Array.of(0x04, 0x03, 0x02));
    assert.deepEqual(machine.readPhysical(0x8020_5000n, 1), Uint8Array.of(0x01));
  });

  it('a load whose second page is unmapped faults with tval at that page and leaves rd alone', () => {
    const outcome = load(context, Privilege.Supervisor, 0x1000_6ffcn);
    assert.equal(outcome.cause, ExceptionCause.LoadPageFault);
    assert.equal(outcome.tval, 0x1000_7000n);
    assert.equal(outcome.value, 0x5a5an);
  });

  it('a store whose second page faults writes nothing, not even to the first page', () => {
    machine.writePhysical(0x8020_6ff8n, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    const unmapped = store(context, Privilege.Supervisor, 0x1000_6ffcn, -1n);
    assert.equal(unmapped.cause, ExceptionCause.StorePageFault);
    assert.equal(unmapped.tval, 0x1000_7000n);
    assert.deepEqual(machine.readPhysical(0x8020_6ff8n, 8), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));

    machine.writePhysical(0x8020_8ffcn, Uint8Array.of(9, 9, 9, 9));
    const readOnly = store(context, Privilege.Supervisor, 0x1000_8ffen, -1n, 'sw');
    assert.equal(readOnly.cause, ExceptionCause.StorePageFault);
    assert.equal(readOnly.tval, 0x1000_9000n);
    assert.deepEqual(machine.readPhysical(0x8020_8ffcn, 4), Uint8Array.of(9, 9, 9, 9));
  });
});
