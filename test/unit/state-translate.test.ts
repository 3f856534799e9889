// The debugger's page-table walk (debug-adapter/state/translate.ts) against page tables built
// in guest RAM: 4K, 2M and 1G pages in Sv39, Sv48 and Sv57 (and their 512G and 256T pages),
// Svpbmt's memory types and Svnapot's 64 KiB pages per CPU model, invalid and malformed
// entries, permissions, another satp, bare and M-mode, no side effects, and agreement with
// the real MMU (machine.mmus[0].translate) on every case.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Mstatus, Privilege } from '../../vmm-core/cpu/csr-numbers';
import { AccessKind } from '../../vmm-core/cpu/pmp';
import type { Machine } from '../../vmm-core/machine/machine';
import { translateAddress, type AccessType, type Translation } from '../../debug-adapter/state/translate';
import { createMachine, readDoubleword, SeededRandom } from '../support/assemble';
import { PageTables, PTE_A, PTE_D, PTE_G, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X } from '../support/page-tables';

const RWX = PTE_R | PTE_W | PTE_X;


function setup(mode: 8 | 9 | 10, cpu?: string): { machine: Machine; tables: PageTables } {
  const machine = createMachine({ openPmp: true, cpu });
  const tables = new PageTables(machine, mode);
  useSatp(machine, tables.satp);
  machine.harts[0].privilege = Privilege.Supervisor;
  machine.mmus[0].flush();
  return { machine, tables };
}

function useSatp(machine: Machine, satp: bigint): void {
  const hart = machine.harts[0];
  hart.satpLo = Number(satp & 0xffff_ffffn) | 0;
  hart.satpHi = Number(satp >> 32n) | 0;
  machine.mmus[0].flush();
}

const KIND: Record<AccessType, AccessKind> = { read: AccessKind.Read, write: AccessKind.Write, execute: AccessKind.Execute };

/** What the real MMU does with the access: the physical address, or the exception cause it raises. */
function realMmu(machine: Machine, virtual: bigint, access: AccessType): { physical?: bigint; cause?: number } {
  const hart = machine.harts[0];
  hart.mcauseLo = -1;
  hart.mtvecLo = 0x8000_0800 | 0;
  const privilege = hart.privilege;
  const mmu = machine.mmus[0];
  mmu.faulted = false;
  const physical = mmu.translate(Number(virtual & 0xffff_ffffn) | 0, Number((virtual >> 32n) & 0xffff_ffffn) | 0, KIND[access], 1);
  mmu.faulted = false;
  // A fault traps to M: put the privilege back for the next check.
  const outcome = physical < 0 ? { cause: hart.mcauseLo } : { physical: BigInt(physical) };
  hart.privilege = privilege;
  mmu.flush();
  return outcome;
}

/** Asserts the walk and the real MMU agree on `virtual` for `access`; returns the walk. */
function agree(machine: Machine, virtual: bigint, access: AccessType): Translation {
  const walk = translateAddress(machine, 0, virtual, { access });
  const real = realMmu(machine, virtual, access);
  if (real.physical !== undefined) {
    assert.equal(walk.fault, undefined, `0x${virtual.toString(16)} ${access}: the MMU translates it, the walk says ${walk.fault}`);
    assert.equal(walk.physicalAddress, real.physical, `0x${virtual.toString(16)} ${access}: physical address`);
  } else {
    assert.ok(walk.fault !== undefined, `0x${virtual.toString(16)} ${access}: the MMU faults (cause ${real.cause}), the walk does not`);
    const pageFault = real.cause === 12 || real.cause === 13 || real.cause === 15;
    assert.equal(walk.fault.startsWith('page fault'), pageFault, `0x${virtual.toString(16)} ${access}: ${walk.fault} vs cause ${real.cause}`);
  }
  return walk;
}

describe('translateAddress: pages', () => {
  for (const mode of [8, 9] as const) {
    const name = mode === 8 ? 'Sv39' : 'Sv48';
    it(`${name}: 4K, 2M and 1G pages give the MMU's physical address and the levels walked`, () => {
      const { machine, tables } = setup(mode);
      tables.map(0x4000_1000n, 0x8020_3000n, 0, RWX | PTE_A | PTE_D);
      tables.map(0x4020_0000n, 0x8040_0000n, 1, PTE_R | PTE_W | PTE_A | PTE_D);
      tables.map(0xc000_0000n, 0x8000_0000n, 2, PTE_R | PTE_X | PTE_G | PTE_A);

      const small = agree(machine, 0x4000_1234n, 'read');
      assert.equal(small.mode, mode === 8 ? 'sv39' : 'sv48');
      assert.equal(small.physicalAddress, 0x8020_3234n);
      assert.equal(small.pageSize, 4096);
      assert.equal(small.levels.length, tables.levels);
      assert.deepEqual(small.levels.map((level) => level.level), mode === 8 ? [2, 1, 0] : [3, 2, 1, 0]);
      assert.equal(small.levels[0].tableAddress, tables.root);
      assert.equal(small.rootTable, tables.root);
      assert.equal(small.hartTranslates, true);
      const last = small.levels[small.levels.length - 1];
      assert.equal(last.leaf, true);
      assert.equal(last.index, 1);
      assert.equal(last.ppn, 0x80203n);
      assert.deepEqual(last.flags, { V: true, R: true, W: true, X: true, U: false, G: false, A: true, D: true });
      assert.equal(last.pteAddress, last.tableAddress + 8n);
      assert.equal(readDoubleword(machine, last.pteAddress), last.pte);
      assert.ok(small.levels.slice(0, -1).every((level) => !level.leaf && level.flags.V));

      const middle = agree(machine, 0x4030_0abcn, 'write');
      assert.equal(middle.physicalAddress, 0x8050_0abcn);
      assert.equal(middle.pageSize, 2 * 1024 * 1024);
      assert.equal(middle.levels.length, tables.levels - 1);

      const large = agree(machine, 0xc012_3456n, 'execute');
      assert.equal(large.physicalAddress, 0x8012_3456n);
      assert.equal(large.pageSize, 1024 * 1024 * 1024);
      assert.equal(large.levels[large.levels.length - 1].flags.G, true);
    });
  }

  it('Sv48: a 512G page', () => {
    const { machine, tables } = setup(9);
    tables.map(0x80_0000_0000n, 0n, 3, RWX | PTE_A | PTE_D);
    const walk = agree(machine, 0x80_0000_1234n, 'read');
    assert.equal(walk.physicalAddress, 0x1234n);
    assert.equal(walk.pageSize, 2 ** 39);
    assert.equal(walk.levels.length, 1);
  });

  it('Sv39: upper-half kernel addresses', () => {
    const { machine, tables } = setup(8);
    tables.map(0xffff_ffff_c000_0000n, 0x8000_0000n, 2, RWX | PTE_A | PTE_D);
    tables.map(0xffff_ffc0_0020_0000n, 0x8060_0000n, 1, RWX | PTE_A | PTE_D);
    assert.equal(agree(machine, 0xffff_ffff_c000_1000n, 'read').physicalAddress, 0x8000_1000n);
    assert.equal(agree(machine, 0xffff_ffc0_0021_0008n, 'write').physicalAddress, 0x8061_0008n);
    assert.equal(translateAddress(machine, 0, -0x4000_0000n + 0x10n).physicalAddress, 0x8000_0010n, 'negative bigints wrap to 64 bits');
  });
});

describe('translateAddress: Sv57, Svpbmt and Svnapot', () => {
  it('Sv57: five levels, a 256T page, canonical bit 56', () => {
    const { machine, tables } = setup(10);
    tables.map(0x00c0_0000_4000_1000n, 0x8020_3000n, 0, RWX | PTE_A | PTE_D);
    tables.map(0x0001_0000_0000_0000n, 0n, 4, PTE_R | PTE_A);
    const small = agree(machine, 0x00c0_0000_4000_1234n, 'read');
    assert.equal(small.mode, 'sv57');
    assert.deepEqual(small.levels.map((level) => level.level), [4, 3, 2, 1, 0]);
    assert.equal(small.physicalAddress, 0x8020_3234n);
    const huge = agree(machine, 0x0001_0000_8000_0010n, 'read');
    assert.equal(huge.pageSize, 2 ** 48);
    assert.equal(huge.physicalAddress, 0x8000_0010n);
    assert.match(agree(machine, 0x0100_0000_0000_0000n, 'read').fault!, /not a canonical Sv57 address \(bits 63..56 must all equal bit 56\)/);
  });

  it('PBMT and N: faults that name the missing extension or enable bit, and 64 KiB pages', () => {
    const napotEntry = ((0x8060_8000n >> 12n) << 10n) | PTE_V | PTE_R | PTE_A | (1n << 63n);
    const memoryTypeEntry = ((0x8020_0000n >> 12n) << 10n) | PTE_V | PTE_R | PTE_A | (1n << 61n);
    const plain = setup(8);
    plain.tables.setEntry(0x4000_5000n, 0, napotEntry);
    plain.tables.setEntry(0x4000_6000n, 0, memoryTypeEntry);
    assert.match(agree(plain.machine, 0x4000_5010n, 'read').fault!, /sets N \(bit 63\) without Svnapot/);
    assert.match(agree(plain.machine, 0x4000_6010n, 'read').fault!, /PBMT \(bits 62..61\) without Svpbmt/);

    const extended = setup(8, 'rv64,svpbmt=on,svnapot=on');
    extended.tables.setEntry(0x4000_5000n, 0, napotEntry);
    extended.tables.setEntry(0x4000_6000n, 0, memoryTypeEntry);
    const napot = agree(extended.machine, 0x4000_5010n, 'read');
    assert.equal(napot.fault, undefined);
    assert.equal(napot.pageSize, 0x1_0000);
    assert.equal(napot.physicalAddress, 0x8060_5010n);
    assert.match(agree(extended.machine, 0x4000_6010n, 'read').fault!, /while menvcfg.PBMTE = 0/);
    extended.machine.harts[0].menvcfgHi |= 1 << 30;
    assert.equal(agree(extended.machine, 0x4000_6010n, 'read').physicalAddress, 0x8020_0010n);
  });
});

describe('translateAddress: faults', () => {
  it('reports an invalid entry at the level it is found', () => {
    const { machine, tables } = setup(8);
    tables.map(0x4000_1000n, 0x8020_3000n, 0, RWX | PTE_A | PTE_D);
    const leaf = agree(machine, 0x4000_2000n, 'read');
    assert.match(leaf.fault!, /page fault: the level-0 entry is not valid/);
    assert.equal(leaf.levels.length, 3);
    assert.equal(leaf.levels[2].flags.V, false);
    assert.equal(leaf.physicalAddress, undefined);
    const root = agree(machine, 0x1_0000_0000n, 'read');
    assert.match(root.fault!, /level-2 entry is not valid/);
    assert.equal(root.levels.length, 1);
  });

  it('rejects malformed entries as the MMU does', () => {
    const { machine, tables } = setup(8);
    tables.setEntry(0x4000_0000n, 0, PTE_V | PTE_W | PTE_A | PTE_D);
    assert.match(agree(machine, 0x4000_0000n, 'read').fault!, /writable but not readable/);
    tables.setEntry(0x4000_1000n, 0, (1n << 60n) | ((0x8020_0000n >> 12n) << 10n) | PTE_V | PTE_R | PTE_A);
    assert.match(agree(machine, 0x4000_1000n, 'read').fault!, /reserved bits/);
    tables.setEntry(0x4000_2000n, 0, ((0x8020_0000n >> 12n) << 10n) | PTE_V);
    assert.match(agree(machine, 0x4000_2000n, 'read').fault!, /level-0 entry points to another table/);
    tables.setEntry(0x6000_0000n, 1, ((0x8020_1000n >> 12n) << 10n) | PTE_V | PTE_R | PTE_A);
    assert.match(agree(machine, 0x6000_0000n, 'read').fault!, /superpage is misaligned/);
    tables.setEntry(0x8000_0000n, 2, ((0x8030_0000n >> 12n) << 10n) | PTE_V | PTE_A);
    assert.match(agree(machine, 0x8000_0000n, 'read').fault!, /points to a table but sets A, D or U/);
  });

  it('rejects non-canonical addresses', () => {
    const { machine } = setup(8);
    const walk = agree(machine, 0x0000_0040_0000_0000n, 'read');
    assert.match(walk.fault!, /not a canonical Sv39 address/);
    assert.equal(walk.levels.length, 0);
    const { machine: machine48 } = setup(9);
    assert.match(agree(machine48, 0x0000_8000_0000_0000n, 'read').fault!, /not a canonical Sv48 address/);
  });

  it('reports a table outside RAM as an access fault', () => {
    const { machine, tables } = setup(8);
    tables.setEntry(0x4000_0000n, 2, ((0x1000_0000n >> 12n) << 10n) | PTE_V);
    const walk = agree(machine, 0x4000_0000n, 'read');
    assert.match(walk.fault!, /access fault: the level-1 entry at 0x10000000 is not in RAM/);
  });

  it('checks permissions only when an access is given', () => {
    const { machine, tables } = setup(8);
    tables.map(0x4000_0000n, 0x8020_0000n, 0, PTE_R | PTE_A);
    tables.map(0x4000_1000n, 0x8020_1000n, 0, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    tables.map(0x4000_2000n, 0x8020_2000n, 0, PTE_X | PTE_A);
    assert.equal(translateAddress(machine, 0, 0x4000_0000n).fault, undefined);
    const write = agree(machine, 0x4000_0000n, 'write');
    assert.match(write.fault!, /not writable/);
    assert.equal(write.physicalAddress, 0x8020_0000n, 'the leaf is still reported');
    assert.match(agree(machine, 0x4000_0000n, 'execute').fault!, /not executable/);
    assert.match(agree(machine, 0x4000_1000n, 'read').fault!, /SUM = 0/);
    assert.match(agree(machine, 0x4000_1000n, 'execute').fault!, /cannot execute a user page/);
    machine.harts[0].mstatus |= Mstatus.SUM;
    assert.equal(agree(machine, 0x4000_1000n, 'write').fault, undefined);
    assert.match(agree(machine, 0x4000_2000n, 'read').fault!, /not readable/);
    machine.harts[0].mstatus |= Mstatus.MXR;
    assert.equal(agree(machine, 0x4000_2000n, 'read').fault, undefined, 'MXR reads executable pages');
    machine.harts[0].privilege = Privilege.User;
    assert.match(agree(machine, 0x4000_0000n, 'read').fault!, /U-mode cannot access a supervisor page/);
    assert.equal(agree(machine, 0x4000_1000n, 'read').fault, undefined);
    assert.match(translateAddress(machine, 0, 0x4000_1000n, { access: 'execute', privilege: 'S' }).fault!, /S-mode cannot execute a user page/);
  });
});

describe('translateAddress: modes and address spaces', () => {
  it('walks another satp without changing the hart', () => {
    const { machine, tables } = setup(8);
    const other = new PageTables(machine, 9, 0x8030_0000n);
    other.map(0x4000_0000n, 0x8070_0000n, 0, RWX | PTE_U | PTE_A | PTE_D);
    tables.map(0x4000_0000n, 0x8020_0000n, 0, RWX | PTE_A | PTE_D);
    const walk = translateAddress(machine, 0, 0x4000_0010n, { satp: other.satp | (5n << 44n) });
    assert.equal(walk.mode, 'sv48');
    assert.equal(walk.asid, 5);
    assert.equal(walk.physicalAddress, 0x8070_0010n);
    assert.equal(walk.hartTranslates, false);
    assert.equal(translateAddress(machine, 0, 0x4000_0010n).physicalAddress, 0x8020_0010n);
    assert.equal(BigInt(machine.harts[0].satpLo >>> 0), tables.satp & 0xffff_ffffn);
  });

  it('bare mode maps addresses to themselves', () => {
    const machine = createMachine();
    const walk = translateAddress(machine, 0, 0x8000_1234n);
    assert.deepEqual(walk, {
      mode: 'bare', virtualAddress: 0x8000_1234n, satp: 0n, rootTable: 0n, asid: 0, levels: [], physicalAddress: 0x8000_1234n,
      pageSize: 4096, hartTranslates: false,
    });
    assert.match(translateAddress(machine, 0, 0x1_0000_0000n).fault!, /beyond the 32-bit physical address space/);
  });

  it('says when the hart does not translate (M-mode) and honours MPRV', () => {
    const { machine, tables } = setup(8);
    tables.map(0x4000_0000n, 0x8020_0000n, 0, RWX | PTE_A | PTE_D);
    const hart = machine.harts[0];
    hart.privilege = Privilege.Machine;
    const walk = translateAddress(machine, 0, 0x4000_0000n);
    assert.equal(walk.hartTranslates, false);
    assert.equal(walk.physicalAddress, 0x8020_0000n, 'still shows what S-mode would see');
    hart.mstatus |= Mstatus.MPRV | (1 << Mstatus.MPP_SHIFT);
    assert.equal(translateAddress(machine, 0, 0x4000_0000n, { access: 'read' }).hartTranslates, true);
    assert.equal(translateAddress(machine, 0, 0x4000_0000n, { access: 'execute' }).hartTranslates, false);
  });

  it('reports an unimplemented satp mode (Sv57 only on a CPU model without it)', () => {
    const machine = createMachine();
    assert.match(translateAddress(machine, 0, 0x1000n, { satp: 11n << 60n }).fault!, /MODE 11 is not implemented \(Sv39 = 8, Sv48 = 9, Sv57 = 10\)/);
    const withoutSv57 = createMachine({ cpu: 'rv64,sv57=off' });
    assert.match(translateAddress(withoutSv57, 0, 0x1000n, { satp: 10n << 60n }).fault!, /MODE 10 is not implemented \(Sv39 = 8, Sv48 = 9\)/);
  });

  it('throws for a hart that does not exist', () => {
    assert.throws(() => translateAddress(createMachine(), 4, 0n), /no hart 4/);
  });
});

describe('translateAddress: no side effects, and the MMU agrees on random addresses', () => {
  it('leaves A and D bits alone (the MMU would set them)', () => {
    const { machine, tables } = setup(8);
    const pteAddress = tables.map(0x4000_0000n, 0x8020_0000n, 0, RWX);
    const before = readDoubleword(machine, pteAddress);
    const walk = translateAddress(machine, 0, 0x4000_0000n, { access: 'write' });
    assert.equal(walk.fault, undefined);
    assert.equal(walk.levels[2].flags.A, false);
    assert.equal(readDoubleword(machine, pteAddress), before);
    realMmu(machine, 0x4000_0000n, 'write');
    assert.equal(readDoubleword(machine, pteAddress), before | PTE_A | PTE_D, 'the real MMU sets A and D');
  });

  it('agrees with the MMU on random mappings and probes', () => {
    for (const mode of [8, 9, 10] as const) {
      const { machine, tables } = setup(mode);
      const random = new SeededRandom(0x5eed_0000n + BigInt(mode));
      const flagChoices = [RWX | PTE_A | PTE_D, PTE_R | PTE_A, PTE_X | PTE_A, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D, RWX];
      const mapped: bigint[] = [];
      for (let index = 0; index < 40; index++) {
        const level = Number(random.next64() % 3n);
        const pageBits = BigInt(12 + 9 * level);
        const virtual = ((random.next64() % 0x3_ffffn) << 18n) & ~((1n << pageBits) - 1n);
        const physical = 0x8000_0000n + ((random.next64() % 0x4000n) << 12n & ~((1n << pageBits) - 1n) & 0x3fff_ffffn);
        // Skip a slot where a table of another level already lives.
        try {
          tables.map(virtual, physical, level, flagChoices[Number(random.next64() % BigInt(flagChoices.length))]);
          mapped.push(virtual);
        } catch {
          // The table pool ran into RAM reserved elsewhere: fewer mappings is fine.
        }
      }
      for (let probe = 0; probe < 300; probe++) {
        const base = probe % 2 === 0 && mapped.length > 0 ? mapped[probe % mapped.length] : (random.next64() % (1n << 38n));
        const virtual = base + (random.next64() % 0x3000n);
        for (const access of ['read', 'write', 'execute'] as const) agree(machine, virtual, access);
      }
    }
  });
});
