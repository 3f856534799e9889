// The page-table walk behind the "translate address" request: every level the hardware would
// visit for a virtual address (table, index, PTE and its flags), the physical address and page
// size, or why the walk stops. It reads RAM only (no A/D updates, no TLB fills) and applies the
// same validity rules as cpu/mmu.ts, plus, when asked, the permission checks of one access.

import { MENVCFG_HIGH_PBMTE, Mstatus, Privilege } from '../../vmm-core/cpu/csr-numbers';
import type { Machine } from '../../vmm-core/machine/machine';

export interface PteFlags {
  readonly V: boolean;
  readonly R: boolean;
  readonly W: boolean;
  readonly X: boolean;
  readonly U: boolean;
  readonly G: boolean;
  readonly A: boolean;
  readonly D: boolean;
}

export interface TranslationLevel {
  /** Level in the specification's numbering: 2..0 for Sv39, 3..0 for Sv48, 4..0 for Sv57 (0 maps 4 KiB pages). */
  readonly level: number;
  readonly tableAddress: bigint;
  /** VPN[level] of the virtual address: the entry's index in the table. */
  readonly index: number;
  readonly pteAddress: bigint;
  /** The entry as read (undefined when its address is not RAM). */
  readonly pte: bigint;
  readonly flags: PteFlags;
  readonly ppn: bigint;
  /** R or X set: the entry maps a page (at level > 0, a superpage). */
  readonly leaf: boolean;
}

export type TranslationMode = 'bare' | 'sv39' | 'sv48' | 'sv57';
export type AccessType = 'read' | 'write' | 'execute';

export interface TranslationOptions {
  /** Walk this satp instead of the hart's (another address space, e.g. a user process). */
  satp?: bigint;
  /** Also check the permissions of this access (default: only whether a mapping exists). */
  access?: AccessType;
  /** Privilege the access is made at (default: the hart's, with MPRV applied to loads and stores). */
  privilege?: 'U' | 'S' | 'M';
}

export interface Translation {
  readonly mode: TranslationMode;
  readonly virtualAddress: bigint;
  readonly satp: bigint;
  /** Root table address (satp.PPN × 4096); 0 in bare mode. */
  readonly rootTable: bigint;
  readonly asid: number;
  readonly levels: readonly TranslationLevel[];
  /** Where the leaf maps the address (present once a well-formed leaf is found). */
  readonly physicalAddress?: bigint;
  /** 4096, 64 KiB (Svnapot), 2 MiB, 1 GiB, 512 GiB or 256 TiB. */
  readonly pageSize?: number;
  /** Why the access would fault ("page fault: ..." or "access fault: ..."); absent when it translates. */
  readonly fault?: string;
  /**
   * True when the hart translates this way right now: false in M-mode (no translation unless
   * MPRV for loads and stores), where `satp` only describes what S and U would see.
   */
  readonly hartTranslates: boolean;
}

const PTE_V = 1n, PTE_R = 2n, PTE_W = 4n, PTE_X = 8n, PTE_U = 16n, PTE_G = 32n, PTE_A = 64n, PTE_D = 128n;
const PPN_MASK = (1n << 44n) - 1n;
/** Physical addresses are 32-bit on this machine (RAM ends below 4 GiB); beyond, the MMU access-faults. */
const PHYSICAL_LIMIT = 1n << 32n;

const hex = (value: bigint): string => `0x${value.toString(16)}`;

function flagsOf(pte: bigint): PteFlags {
  return {
    V: (pte & PTE_V) !== 0n, R: (pte & PTE_R) !== 0n, W: (pte & PTE_W) !== 0n, X: (pte & PTE_X) !== 0n,
    U: (pte & PTE_U) !== 0n, G: (pte & PTE_G) !== 0n, A: (pte & PTE_A) !== 0n, D: (pte & PTE_D) !== 0n,
  };
}

const PRIVILEGE_BY_NAME = { U: Privilege.User, S: Privilege.Supervisor, M: Privilege.Machine } as const;

/** Walks the page tables of hart `hartId` (or of `options.satp`) for `virtualAddress`, without side effects. */
export function translateAddress(machine: Machine, hartId: number, virtualAddress: bigint, options: TranslationOptions = {}): Translation {
  const hart = machine.harts[hartId];
  if (hart === undefined) throw new Error(`no hart ${hartId} (the machine has ${machine.harts.length})`);
  const address = BigInt.asUintN(64, virtualAddress);
  const satp = BigInt.asUintN(64, options.satp ?? ((BigInt(hart.satpHi >>> 0) << 32n) | BigInt(hart.satpLo >>> 0)));
  const modeNumber = Number(satp >> 60n);
  const asid = Number((satp >> 44n) & 0xffffn);
  const rootTable = (satp & PPN_MASK) << 12n;
  const access = options.access;
  // The privilege that decides translation and permissions: MPRV makes M-mode loads and stores act as MPP.
  let privilege = hart.privilege;
  if (options.privilege !== undefined) privilege = PRIVILEGE_BY_NAME[options.privilege];
  else if (access !== 'execute' && privilege === Privilege.Machine && (hart.mstatus & Mstatus.MPRV) !== 0) {
    privilege = ((hart.mstatus >>> Mstatus.MPP_SHIFT) & 3) as Privilege;
  }
  const hartTranslates = modeNumber !== 0 && privilege !== Privilege.Machine && options.satp === undefined;

  if (modeNumber === 0) {
    const fault = address >= PHYSICAL_LIMIT ? `access fault: ${hex(address)} is beyond the 32-bit physical address space` : undefined;
    return { mode: 'bare', virtualAddress: address, satp, rootTable: 0n, asid, levels: [], physicalAddress: address, pageSize: 4096, hartTranslates, ...(fault ? { fault } : {}) };
  }
  const cpu = hart.cpu;
  if (modeNumber !== 8 && modeNumber !== 9 && !(modeNumber === 10 && cpu.sv57)) {
    const implemented = cpu.sv57 ? 'Sv39 = 8, Sv48 = 9, Sv57 = 10' : 'Sv39 = 8, Sv48 = 9';
    return { mode: 'bare', virtualAddress: address, satp, rootTable, asid, levels: [], fault: `satp.MODE ${modeNumber} is not implemented (${implemented})`, hartTranslates: false };
  }
  const mode: TranslationMode = modeNumber === 10 ? 'sv57' : modeNumber === 9 ? 'sv48' : 'sv39';
  const modeName = modeNumber === 10 ? 'Sv57' : modeNumber === 9 ? 'Sv48' : 'Sv39';
  const levelCount = modeNumber - 5;
  const memoryTypesAllowed = cpu.svpbmt && (hart.menvcfgHi & MENVCFG_HIGH_PBMTE) !== 0;
  const levels: TranslationLevel[] = [];
  const base = { mode, virtualAddress: address, satp, rootTable, asid, hartTranslates };
  const done = (fault?: string, physicalAddress?: bigint, pageSize?: number): Translation => ({
    ...base, levels,
    ...(physicalAddress === undefined ? {} : { physicalAddress, pageSize }),
    ...(fault === undefined ? {} : { fault }),
  });

  // Bits above the top virtual-address bit must copy it (canonical addresses).
  const topBit = BigInt(12 + 9 * levelCount - 1);
  const upper = address >> topBit;
  if (upper !== 0n && upper !== (1n << (64n - topBit)) - 1n) {
    return done(`page fault: ${hex(address)} is not a canonical ${modeName} address (bits 63..${topBit} must all equal bit ${topBit})`);
  }

  let table = rootTable;
  for (let level = levelCount - 1; level >= 0; level--) {
    const index = Number((address >> BigInt(12 + 9 * level)) & 0x1ffn);
    const pteAddress = table + BigInt(index) * 8n;
    const bytes = machine.readPhysical(pteAddress, 8);
    if (bytes === undefined) return done(`access fault: the level-${level} entry at ${hex(pteAddress)} is not in RAM`);
    const pte = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    const flags = flagsOf(pte);
    const ppn = (pte >> 10n) & PPN_MASK;
    const leaf = flags.R || flags.X;
    levels.push({ level, tableAddress: table, index, pteAddress, pte, flags, ppn, leaf });
    if (!flags.V) return done(`page fault: the level-${level} entry is not valid (V = 0)`);
    if (!flags.R && flags.W) return done(`page fault: the level-${level} entry is writable but not readable (reserved)`);
    if (((pte >> 54n) & 0x7fn) !== 0n) return done(`page fault: the level-${level} entry sets reserved bits 60..54`);
    const memoryType = Number((pte >> 61n) & 3n);
    if (memoryType !== 0 && !memoryTypesAllowed) {
      return done(`page fault: the level-${level} entry sets PBMT (bits 62..61) ${cpu.svpbmt ? 'while menvcfg.PBMTE = 0' : 'without Svpbmt'}`);
    }
    if (memoryType === 3) return done(`page fault: the level-${level} entry uses the reserved PBMT value 3`);
    const napot = (pte >> 63n) === 1n;
    if (napot && !cpu.svnapot) return done(`page fault: the level-${level} entry sets N (bit 63) without Svnapot`);
    if (!leaf) {
      if (flags.A || flags.D || flags.U) return done(`page fault: the level-${level} entry points to a table but sets A, D or U`);
      if (memoryType !== 0 || napot) return done(`page fault: the level-${level} entry points to a table but sets PBMT or N`);
      if (level === 0) return done('page fault: the level-0 entry points to another table');
      table = ppn << 12n;
      continue;
    }
    if ((ppn & ((1n << BigInt(9 * level)) - 1n)) !== 0n) {
      return done(`page fault: the level-${level} superpage is misaligned (PPN ${hex(ppn)} has low bits set)`);
    }
    if (napot && (level !== 0 || (ppn & 0xfn) !== 8n)) {
      return done(`page fault: the level-${level} entry sets N but is not a 64 KiB page (a level-0 leaf whose PPN ends in binary 1000)`);
    }
    const pageBits = napot ? 16n : BigInt(12 + 9 * level);
    const pageSize = 2 ** Number(pageBits);
    const physicalAddress = ((ppn << 12n) & ~((1n << pageBits) - 1n)) | (address & ((1n << pageBits) - 1n));
    const permission = access === undefined ? undefined : permissionFault(flags, access, privilege, hart.mstatus);
    if (permission !== undefined) return done(`page fault: ${permission}`, physicalAddress, pageSize);
    if (physicalAddress >= PHYSICAL_LIMIT) {
      return done(`access fault: ${hex(physicalAddress)} is beyond the 32-bit physical address space`, physicalAddress, pageSize);
    }
    return done(undefined, physicalAddress, pageSize);
  }
  return done('page fault: no leaf entry');
}

/** Why a leaf's permissions refuse the access, or undefined; the rules of cpu/mmu.ts's walk. */
function permissionFault(flags: PteFlags, access: AccessType, privilege: Privilege, mstatus: number): string | undefined {
  if (privilege === Privilege.User && !flags.U) return 'U-mode cannot access a supervisor page (U = 0)';
  if (privilege === Privilege.Supervisor && flags.U) {
    if (access === 'execute') return 'S-mode cannot execute a user page (U = 1)';
    if ((mstatus & Mstatus.SUM) === 0) return 'S-mode cannot access a user page with mstatus.SUM = 0';
  }
  if (access === 'execute' && !flags.X) return 'the page is not executable (X = 0)';
  if (access === 'read' && !flags.R && !((mstatus & Mstatus.MXR) !== 0 && flags.X)) return 'the page is not readable (R = 0)';
  if (access === 'write' && !flags.W) return 'the page is not writable (W = 0)';
  return undefined;
}
