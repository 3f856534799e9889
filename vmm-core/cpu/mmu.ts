// Address translation (bare, Sv39, Sv48, Sv57; Svpbmt and Svnapot when the CPU model has them)
// with hardware A/D update, PMP checks and three small direct-mapped TLBs (fetch, load,
// store). A TLB hit is the fast path: a virtual page maps straight to an offset in guest RAM.
// Everything else (misses, device pages, accesses that cross a page, watched pages, pages an
// armed debug trigger covers) goes through the slow path here.

import type { PhysicalBus } from '../memory/bus';
import type { GuestRam } from '../memory/ram';
import { ExceptionCause, MENVCFG_HIGH_PBMTE, Mstatus, Privilege } from './csr-numbers';
import type { Hart } from './hart';
import { AccessKind } from './pmp';

const TLB_SIZE = 256;
const TLB_MASK = TLB_SIZE - 1;
/** Data-TLB entries allowed only by mstatus.SUM or MXR that are remembered one by one. */
const RELAXED_ENTRY_LIMIT = 32;
const PAGE_SIZE = 4096;

/** What the MMU needs from the monitor: deliver a synchronous exception. */
export interface ExceptionRaiser {
  raiseException(hart: Hart, cause: ExceptionCause, tvalLo: number, tvalHi: number): void;
}

/** Debugger hooks on memory: watched pages never enter a TLB, so every access to them lands here. */
export interface MemoryWatcher {
  /** True when the page holding `physicalAddress` or the virtual page has a watchpoint. */
  isWatched(physicalPage: number, virtualPageLo: number, virtualPageHi: number): boolean;
  /** Called for each access to a watched page, after translation succeeded. */
  onAccess(hart: Hart, virtualLo: number, virtualHi: number, physicalAddress: number, size: number, kind: AccessKind): void;
}

/** Debugger hook for code breakpoints: their pages never enter the fetch TLB. */
export interface CodeBreakpointHook {
  /** True when the page may hold a breakpoint (virtual page number lo/hi, physical page address). */
  mayHaveBreakpoint(virtualPageLo: number, virtualPageHi: number, physicalPage: number): boolean;
  /** True when execution must stop before the instruction at the hart's pc. */
  shouldStop(hart: Hart): boolean;
}

const PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_U = 16, PTE_A = 64, PTE_D = 128;
// High word of a PTE: N (bit 63), PBMT (62:61), reserved 60:54, PPN[3] high bits below.
const PTE_HIGH_N = 1 << 31;
const PTE_HIGH_PBMT_SHIFT = 29;
const PTE_HIGH_RESERVED = 0x7f << 22;

/** Int32 words per TLB entry: tag (virtual page number lo 20 bits, then the address's high word), RAM offset of the page, unused. */
const TLB_ENTRY_WORDS = 4;

/** Where an MMU keeps its TLBs: in the translation tier's Wasm memory, so that translated code probes them too. */
export interface TlbStorage {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

export class Mmu {
  /** Fetch, load and store TLBs, TLB_SIZE entries each, TLB_ENTRY_WORDS words per entry. */
  private readonly tlb: Int32Array;
  private readonly ram: GuestRam;
  private readonly words: Int32Array;
  private readonly halfwords: Uint16Array;
  private readonly bytes: Uint8Array;
  /** Set when the last access raised an exception (the trap is already delivered). */
  faulted = false;
  /** High word of the last 8-byte load. */
  high = 0;
  /** Set when the last access went to a device, so the run loop can sample interrupts. */
  deviceAccessed = false;
  watcher: MemoryWatcher | null = null;
  codeBreakpoints: CodeBreakpointHook | null = null;
  /**
   * RAM offset of the page the last fetch hit in the TLB, or -1 after a slow fetch. The
   * interpreter keeps it for the rest of a slice: every TLB flush ends the slice.
   */
  lastFetchPageBase = -1;
  /**
   * A physical page whose stores end the execution slice (HTIF's tohost), or -1. Stores to it
   * never enter the TLB, so the machine sees them right after the instruction.
   */
  exitOnStorePage = -1;
  /**
   * The translation tier's marks, one byte per RAM page holding translated code: such pages
   * never enter the store TLB, and a store into one calls `codeWriteListener` first.
   */
  codePages: Uint8Array | null = null;
  codeWriteListener: ((ramPage: number) => void) | null = null;
  /** Virtual page numbers (hi * 2^20 + lo >>> 12) spanned by superpages the TLBs hold pieces of. */
  private superpageFirst = Infinity;
  private superpageLast = -Infinity;
  /** Pages the leaf of the last successful walk maps (1 for a 4 KiB page). */
  private lastWalkPages = 1;
  /** The last walk allowed its data access only through mstatus.SUM (a U page from S) or MXR. */
  private lastWalkRelaxed = false;
  /**
   * Word indexes of the data-TLB entries filled for such accesses since SUM or MXR was last
   * cleared (RELAXED_ENTRY_LIMIT at most; beyond that, clearing them flushes the data TLBs).
   */
  private readonly relaxedEntries = new Int32Array(RELAXED_ENTRY_LIMIT);
  private relaxedEntryCount = 0;

  /** Guest RAM, for the interpreter's fetch-page cache and for LR/SC/AMOs (translate, then access RAM). */
  get guestRam(): GuestRam {
    return this.ram;
  }

  constructor(
    private readonly hart: Hart,
    private readonly bus: PhysicalBus,
    private readonly exceptions: ExceptionRaiser,
    tlbStorage?: TlbStorage,
  ) {
    this.tlb = tlbStorage !== undefined
      ? new Int32Array(tlbStorage.buffer, tlbStorage.byteOffset, TLB_SIZE * 3 * TLB_ENTRY_WORDS)
      : new Int32Array(TLB_SIZE * 3 * TLB_ENTRY_WORDS);
    this.ram = bus.ram;
    this.words = bus.ram.words;
    this.halfwords = bus.ram.halfwords;
    this.bytes = bus.ram.bytes;
    // Superpages map up to 2^36 pages, beyond a small integer: the field is a double from the
    // start, not from the first superpage walk mid-run (which would change the hidden class
    // and deoptimize the interpreter, whose loads and stores are inlined from here).
    this.lastWalkPages = 2 ** 36;
    this.lastWalkPages = 1;
    this.flush();
  }

  /** Forgets every cached translation (satp, privilege, mstatus, PMP or watchpoint changes). */
  flush(): void {
    this.tlb.fill(-1);
    this.relaxedEntryCount = 0;
    this.superpageFirst = Infinity;
    this.superpageLast = -Infinity;
    this.lastFetchPageBase = -1;
    // The interpreter keeps the current fetch page for the rest of a slice: end the slice.
    this.hart.exitRequested = true;
  }

  /**
   * mstatus.SUM or MXR was cleared: forgets the data-TLB entries only they allowed (the fetch
   * TLB never holds one: S-mode cannot execute U pages, and MXR concerns loads).
   */
  forgetRelaxedEntries(): void {
    if (this.relaxedEntryCount > RELAXED_ENTRY_LIMIT) {
      this.tlb.fill(-1, TLB_SIZE * TLB_ENTRY_WORDS);
    } else {
      for (let index = 0; index < this.relaxedEntryCount; index++) this.tlb[this.relaxedEntries[index]] = -1;
    }
    this.relaxedEntryCount = 0;
  }

  /**
   * sfence.vma with an address: forgets the translations of that virtual page. When the page
   * lies in the span of the superpages whose 4 KiB pieces the TLBs hold, those pieces may come
   * from the leaf entry being fenced: then everything goes, as QEMU does for large pages.
   */
  flushPage(lo: number, hi: number): void {
    const virtualPage = hi * 1048576 + (lo >>> 12);
    if (virtualPage >= this.superpageFirst && virtualPage <= this.superpageLast) {
      this.flush();
      return;
    }
    const page = lo >>> 12;
    const tlb = this.tlb;
    for (let kind = 0; kind < 3; kind++) {
      const entry = ((page & TLB_MASK) + kind * TLB_SIZE) * TLB_ENTRY_WORDS;
      if (tlb[entry] === page && tlb[entry + 1] === hi) tlb[entry] = -1;
    }
    this.lastFetchPageBase = -1;
    this.hart.exitRequested = true;
  }

  // ---- fast paths -------------------------------------------------------------------------

  /** Fetches the instruction at pc: a 32-bit word whose low half is the first parcel. */
  fetch(pcLo: number, pcHi: number): number {
    const page = pcLo >>> 12;
    const entry = (page & TLB_MASK) * TLB_ENTRY_WORDS;
    const tlb = this.tlb;
    if (tlb[entry] === page && tlb[entry + 1] === pcHi) {
      const base = tlb[entry + 2];
      this.lastFetchPageBase = base;
      const offset = base + (pcLo & 0xfff);
      if ((offset & 3) === 0) return this.words[offset >> 2];
      const low = this.halfwords[offset >> 1];
      if ((low & 3) !== 3) return low;
      if ((pcLo & 0xfff) !== 0xffe) return low | (this.halfwords[(offset >> 1) + 1] << 16);
    }
    return this.fetchSlow(pcLo, pcHi);
  }

  /** RAM offset of pc's page when the fetch TLB maps it, else -1 (no side effects: the translation tier's lookup). */
  fetchPageBase(pcLo: number, pcHi: number): number {
    const page = pcLo >>> 12;
    const entry = (page & TLB_MASK) * TLB_ENTRY_WORDS;
    const tlb = this.tlb;
    return tlb[entry] === page && tlb[entry + 1] === pcHi ? tlb[entry + 2] : -1;
  }

  /** Drops store-TLB entries mapping the RAM page at `ramOffset` (it now holds translated code). */
  forgetStorePage(ramOffset: number): void {
    const tlb = this.tlb;
    for (let slot = 2 * TLB_SIZE; slot < 3 * TLB_SIZE; slot++) {
      if (tlb[slot * TLB_ENTRY_WORDS + 2] === ramOffset) tlb[slot * TLB_ENTRY_WORDS] = -1;
    }
  }

  load8(lo: number, hi: number): number {
    const page = lo >>> 12;
    const entry = ((page & TLB_MASK) + TLB_SIZE) * TLB_ENTRY_WORDS;
    const tlb = this.tlb;
    if (tlb[entry] === page && tlb[entry + 1] === hi) return this.bytes[tlb[entry + 2] + (lo & 0xfff)];
    return this.loadSlow(lo, hi, 1);
  }

  load16(lo: number, hi: number): number {
    const page = lo >>> 12;
    const entry = ((page & TLB_MASK) + TLB_SIZE) * TLB_ENTRY_WORDS;
    const tlb = this.tlb;
    if (tlb[entry] === page && tlb[entry + 1] === hi && (lo & 1) === 0) {
      return this.halfwords[(tlb[entry + 2] + (lo & 0xfff)) >> 1];
    }
    return this.loadSlow(lo, hi, 2);
  }

  /** Returns the word as a signed int32. */
  load32(lo: number, hi: number): number {
    const page = lo >>> 12;
    const entry = ((page & TLB_MASK) + TLB_SIZE) * TLB_ENTRY_WORDS;
    const tlb = this.tlb;
    if (tlb[entry] === page && tlb[entry + 1] === hi && (lo & 3) === 0) {
      return this.words[(tlb[entry + 2] + (lo & 0xfff)) >> 2];
    }
    return this.loadSlow(lo, hi, 4) | 0;
  }

  /** Returns the low word; the high word is left in `high`. */
  load64(lo: number, hi: number): number {
    const page = lo >>> 12;
    const entry = ((page & TLB_MASK) + TLB_SIZE) * TLB_ENTRY_WORDS;
    const tlb = this.tlb;
    if (tlb[entry] === page && tlb[entry + 1] === hi && (lo & 7) === 0) {
      const index = (tlb[entry + 2] + (lo & 0xfff)) >> 2;
      this.high = this.words[index + 1];
      return this.words[index];
    }
    return this.loadSlow(lo, hi, 8);
  }

  store8(lo: number, hi: number, value: number): void {
    const page = lo >>> 12;
    const entry = ((page & TLB_MASK) + 2 * TLB_SIZE) * TLB_ENTRY_WORDS;
    const tlb = this.tlb;
    if (tlb[entry] === page && tlb[entry + 1] === hi) {
      this.bytes[tlb[entry + 2] + (lo & 0xfff)] = value;
      return;
    }
    this.storeSlow(lo, hi, 1, value, 0);
  }

  store16(lo: number, hi: number, value: number): void {
    const page = lo >>> 12;
    const entry = ((page & TLB_MASK) + 2 * TLB_SIZE) * TLB_ENTRY_WORDS;
    const tlb = this.tlb;
    if (tlb[entry] === page && tlb[entry + 1] === hi && (lo & 1) === 0) {
      this.halfwords[(tlb[entry + 2] + (lo & 0xfff)) >> 1] = value;
      return;
    }
    this.storeSlow(lo, hi, 2, value, 0);
  }

  store32(lo: number, hi: number, value: number): void {
    const page = lo >>> 12;
    const entry = ((page & TLB_MASK) + 2 * TLB_SIZE) * TLB_ENTRY_WORDS;
    const tlb = this.tlb;
    if (tlb[entry] === page && tlb[entry + 1] === hi && (lo & 3) === 0) {
      this.words[(tlb[entry + 2] + (lo & 0xfff)) >> 2] = value;
      return;
    }
    this.storeSlow(lo, hi, 4, value, 0);
  }

  store64(lo: number, hi: number, valueLo: number, valueHi: number): void {
    const page = lo >>> 12;
    const entry = ((page & TLB_MASK) + 2 * TLB_SIZE) * TLB_ENTRY_WORDS;
    const tlb = this.tlb;
    if (tlb[entry] === page && tlb[entry + 1] === hi && (lo & 7) === 0) {
      const index = (tlb[entry + 2] + (lo & 0xfff)) >> 2;
      this.words[index] = valueLo;
      this.words[index + 1] = valueHi;
      return;
    }
    this.storeSlow(lo, hi, 8, valueLo, valueHi);
  }

  // ---- slow paths -------------------------------------------------------------------------

  private fetchSlow(pcLo: number, pcHi: number): number {
    this.lastFetchPageBase = -1;
    const breakpoints = this.codeBreakpoints;
    const triggers = this.hart.triggers;
    // An execute trigger comes before translation (the highest-priority exception); the
    // debugger's own breakpoint at the same pc stops first, and resuming takes the trigger.
    if (triggers.executeArmed && triggers.matchesExecute(pcLo, pcHi, this.hart.privilege)) {
      if (breakpoints === null || !breakpoints.shouldStop(this.hart)) this.raiseTriggerBreakpoint();
      else this.hart.exitRequested = true;
      this.faulted = true;
      return 0;
    }
    const first = this.translate(pcLo, pcHi, AccessKind.Execute, 2);
    if (first < 0) return 0;
    if (breakpoints !== null && breakpoints.shouldStop(this.hart)) {
      // Stop before this instruction: no trap, the run loop sees exitRequested.
      this.hart.exitRequested = true;
      this.faulted = true;
      return 0;
    }
    const low = this.readPhysical(first, 2, AccessKind.Execute, pcLo, pcHi);
    if (this.faulted) return 0;
    if ((low & 3) !== 3) return low;
    const nextLo = (pcLo + 2) | 0;
    const nextHi = (pcHi + (nextLo === 0 ? 1 : 0)) | 0;
    let second = first + 2;
    if ((pcLo & 0xfff) === 0xffe) {
      second = this.translate(nextLo, nextHi, AccessKind.Execute, 2);
      if (second < 0) return 0;
    } else if (!this.hart.pmp.allows(second, 2, AccessKind.Execute, this.hart.privilege === Privilege.Machine)) {
      // Same page, but a PMP boundary can split the instruction: the upper parcel needs X too.
      this.fail(AccessKind.Execute, false, nextLo, nextHi);
      return 0;
    }
    const high = this.readPhysical(second, 2, AccessKind.Execute, nextLo, nextHi);
    if (this.faulted) return 0;
    return low | (high << 16);
  }

  private loadSlow(lo: number, hi: number, size: 1 | 2 | 4 | 8): number {
    if (this.hart.triggers.dataArmed && this.dataTriggerFires(lo, hi, size, AccessKind.Read)) return 0;
    if ((lo & 0xfff) + size <= PAGE_SIZE) {
      const physical = this.translate(lo, hi, AccessKind.Read, size);
      if (physical < 0) return 0;
      if (this.watcher !== null) this.watcher.onAccess(this.hart, lo, hi, physical, size, AccessKind.Read);
      if (size === 8) {
        const low = this.readPhysical(physical, 4, AccessKind.Read, lo, hi);
        if (this.faulted) return 0;
        this.high = this.readPhysical(physical + 4, 4, AccessKind.Read, lo, hi) | 0;
        return low | 0;
      }
      return this.readPhysical(physical, size, AccessKind.Read, lo, hi);
    }
    // The access crosses a page: translate both pages, PMP-checking every byte of each part,
    // before reading a byte.
    const endLo = (lo + size - 1) | 0;
    const endHi = (hi + ((endLo >>> 0) < (lo >>> 0) ? 1 : 0)) | 0;
    const firstCount = PAGE_SIZE - (lo & 0xfff);
    const firstPage = this.translate(lo, hi, AccessKind.Read, firstCount);
    if (firstPage < 0) return 0;
    const lastPage = this.translate(endLo & ~0xfff, endHi, AccessKind.Read, size - firstCount);
    if (lastPage < 0) return 0;
    if (this.watcher !== null) this.watcher.onAccess(this.hart, lo, hi, firstPage, size, AccessKind.Read);
    let low = 0;
    let high = 0;
    for (let i = 0; i < size; i++) {
      const physical = i < firstCount ? firstPage + i : lastPage + (i - firstCount);
      const byte = this.readPhysical(physical, 1, AccessKind.Read, lo, hi);
      if (this.faulted) return 0;
      if (i < 4) low |= byte << (8 * i);
      else high |= byte << (8 * (i - 4));
    }
    this.high = high;
    return size === 4 || size === 8 ? low | 0 : low;
  }

  private storeSlow(lo: number, hi: number, size: 1 | 2 | 4 | 8, valueLo: number, valueHi: number): void {
    if (this.hart.triggers.dataArmed && this.dataTriggerFires(lo, hi, size, AccessKind.Write)) return;
    if ((lo & 0xfff) + size <= PAGE_SIZE) {
      const physical = this.translate(lo, hi, AccessKind.Write, size);
      if (physical < 0) return;
      if (size === 8) {
        if (!this.bus.isRam(physical, 8) && (physical & 7) !== 0) {
          this.exceptions.raiseException(this.hart, ExceptionCause.StoreAccessFault, lo, hi);
          this.faulted = true;
          return;
        }
        this.writePhysical(physical, 4, valueLo, lo, hi);
        if (!this.faulted) this.writePhysical(physical + 4, 4, valueHi, lo, hi);
      } else {
        this.writePhysical(physical, size, valueLo, lo, hi);
      }
      if (this.watcher !== null && !this.faulted) this.watcher.onAccess(this.hart, lo, hi, physical, size, AccessKind.Write);
      return;
    }
    const endLo = (lo + size - 1) | 0;
    const endHi = (hi + ((endLo >>> 0) < (lo >>> 0) ? 1 : 0)) | 0;
    const firstCount = PAGE_SIZE - (lo & 0xfff);
    const firstPage = this.translate(lo, hi, AccessKind.Write, firstCount);
    if (firstPage < 0) return;
    const lastPage = this.translate(endLo & ~0xfff, endHi, AccessKind.Write, size - firstCount);
    if (lastPage < 0) return;
    for (let i = 0; i < size; i++) {
      const physical = i < firstCount ? firstPage + i : lastPage + (i - firstCount);
      const byte = i < 4 ? valueLo >>> (8 * i) : valueHi >>> (8 * (i - 4));
      this.writePhysical(physical, 1, byte & 0xff, lo, hi);
      if (this.faulted) return;
    }
    if (this.watcher !== null) this.watcher.onAccess(this.hart, lo, hi, firstPage, size, AccessKind.Write);
  }

  /**
   * Sdtrig: when a load or store trigger matches the access (before it happens), raises the
   * breakpoint exception and returns true. `alsoRead` makes a store-kind access (an AMO) match
   * load triggers too. Only reached while some data trigger is armed.
   */
  dataTriggerFires(lo: number, hi: number, size: number, kind: AccessKind, alsoRead = false): boolean {
    if (!this.hart.triggers.matchesData(lo, hi, size, kind, this.hart.privilege, alsoRead)) return false;
    this.raiseTriggerBreakpoint();
    this.faulted = true;
    return true;
  }

  /** A trigger with action 0 fired: breakpoint exception, tval 0 as QEMU 7.2 writes it. */
  private raiseTriggerBreakpoint(): void {
    this.exceptions.raiseException(this.hart, ExceptionCause.Breakpoint, 0, 0);
  }

  private readPhysical(physical: number, size: 1 | 2 | 4, kind: AccessKind, lo: number, hi: number): number {
    if (this.bus.isRam(physical, size)) return this.ram.readUnaligned(physical - this.ram.base, size);
    this.deviceAccessed = true;
    this.hart.exitRequested = true;
    const value = (physical & (size - 1)) === 0 ? this.bus.read(physical, size) : this.misalignedDevice();
    if (this.bus.fault) {
      this.bus.fault = false;
      const cause = kind === AccessKind.Execute ? ExceptionCause.InstructionAccessFault : ExceptionCause.LoadAccessFault;
      this.exceptions.raiseException(this.hart, cause, lo, hi);
      this.faulted = true;
      return 0;
    }
    return value;
  }

  private writePhysical(physical: number, size: 1 | 2 | 4, value: number, lo: number, hi: number): void {
    if (this.bus.isRam(physical, size)) {
      this.ram.writeUnaligned(physical - this.ram.base, size, value);
      if (Math.floor(physical / PAGE_SIZE) * PAGE_SIZE === this.exitOnStorePage) this.hart.exitRequested = true;
      return;
    }
    this.deviceAccessed = true;
    this.hart.exitRequested = true;
    if ((physical & (size - 1)) === 0) this.bus.write(physical, size, value);
    else this.misalignedDevice();
    if (this.bus.fault) {
      this.bus.fault = false;
      this.exceptions.raiseException(this.hart, ExceptionCause.StoreAccessFault, lo, hi);
      this.faulted = true;
    }
  }

  /** Devices take only naturally aligned accesses; anything else is an access fault. */
  private misalignedDevice(): number {
    this.bus.fault = true;
    return 0;
  }

  /** Privilege used for data accesses: MPRV makes M-mode loads and stores use MPP. */
  private dataPrivilege(): Privilege {
    const hart = this.hart;
    if (hart.privilege === Privilege.Machine && (hart.mstatus & Mstatus.MPRV) !== 0) {
      return ((hart.mstatus >>> Mstatus.MPP_SHIFT) & 3) as Privilege;
    }
    return hart.privilege;
  }

  /**
   * Translates a virtual address for an access of `size` bytes (not crossing a page) and checks
   * PMP. Returns the physical address, or -1 after raising the page or access fault. Fills the
   * TLB when the whole page is RAM, PMP-uniform and not watched.
   */
  translate(lo: number, hi: number, kind: AccessKind, size: number): number {
    const hart = this.hart;
    const privilege = kind === AccessKind.Execute ? hart.privilege : this.dataPrivilege();
    const mode = hart.satpHi >>> 28;
    let physical: number;
    let pageUser = false;
    if (privilege === Privilege.Machine || mode === 0) {
      if (hi !== 0) return this.fail(kind, false, lo, hi);
      physical = lo >>> 0;
    } else {
      this.lastWalkPages = 1;
      this.lastWalkRelaxed = false;
      const walked = this.walk(lo, hi, kind, privilege, mode);
      if (walked < 0) return -1;
      physical = walked;
      pageUser = true;
    }
    const machine = privilege === Privilege.Machine;
    if (!hart.pmp.allows(physical, size, kind, machine)) return this.fail(kind, false, lo, hi);
    // Physical addresses reach 56 bits: floor and multiply, exact on doubles, where `%` would
    // call libc's fmod on every TLB miss.
    const pageStart = Math.floor(physical / PAGE_SIZE) * PAGE_SIZE;
    const codePages = this.codePages;
    const ramPage = (pageStart - this.ram.base) / PAGE_SIZE;
    // A store into translated code: its translations go first (AMOs write RAM right after this).
    if (kind === AccessKind.Write && codePages !== null && ramPage >= 0 && ramPage < codePages.length && codePages[ramPage] !== 0) {
      this.codeWriteListener!(ramPage);
    }
    // Every store reaches RAM through here or through a store-TLB entry filled here.
    if (kind === AccessKind.Write && ramPage >= 0 && ramPage * PAGE_SIZE < this.ram.size) this.ram.noteWriteAhead(ramPage * PAGE_SIZE, PAGE_SIZE);
    if (
      this.bus.isRam(pageStart, PAGE_SIZE) &&
      (!hart.pmp.active || hart.pmp.allows(pageStart, PAGE_SIZE, kind, machine)) &&
      (this.watcher === null || kind === AccessKind.Execute || !this.watcher.isWatched(pageStart, lo >>> 12, hi)) &&
      (kind !== AccessKind.Write || pageStart !== this.exitOnStorePage) &&
      (kind !== AccessKind.Execute || this.codeBreakpoints === null || !this.codeBreakpoints.mayHaveBreakpoint(lo >>> 12, hi, pageStart)) &&
      !this.triggerMayMatchPage(lo >>> 12, hi, kind)
    ) {
      const entry = (((lo >>> 12) & TLB_MASK) + (kind === AccessKind.Execute ? 0 : kind === AccessKind.Read ? TLB_SIZE : 2 * TLB_SIZE)) * TLB_ENTRY_WORDS;
      this.tlb[entry] = lo >>> 12;
      this.tlb[entry + 1] = hi;
      this.tlb[entry + 2] = pageStart - this.ram.base;
      if (pageUser && this.lastWalkRelaxed) {
        if (this.relaxedEntryCount < RELAXED_ENTRY_LIMIT) this.relaxedEntries[this.relaxedEntryCount] = entry;
        this.relaxedEntryCount++;
      }
      if (pageUser && this.lastWalkPages > 1) {
        const virtualPage = hi * 1048576 + (lo >>> 12);
        const first = Math.floor(virtualPage / this.lastWalkPages) * this.lastWalkPages;
        if (first < this.superpageFirst) this.superpageFirst = first;
        if (first + this.lastWalkPages - 1 > this.superpageLast) this.superpageLast = first + this.lastWalkPages - 1;
      }
    }
    return physical;
  }

  /** An armed debug trigger may match in this virtual page: keep it out of the TLB. */
  private triggerMayMatchPage(pageLo: number, pageHi: number, kind: AccessKind): boolean {
    const triggers = this.hart.triggers;
    if (kind === AccessKind.Execute) return triggers.executeArmed && triggers.mayMatchExecutePage(pageLo, pageHi);
    return triggers.dataArmed && triggers.mayMatchDataPage(pageLo, pageHi);
  }

  private fail(kind: AccessKind, pageFault: boolean, lo: number, hi: number): number {
    let cause: ExceptionCause;
    if (kind === AccessKind.Execute) cause = pageFault ? ExceptionCause.InstructionPageFault : ExceptionCause.InstructionAccessFault;
    else if (kind === AccessKind.Read) cause = pageFault ? ExceptionCause.LoadPageFault : ExceptionCause.LoadAccessFault;
    else cause = pageFault ? ExceptionCause.StorePageFault : ExceptionCause.StoreAccessFault;
    this.exceptions.raiseException(this.hart, cause, lo, hi);
    this.faulted = true;
    return -1;
  }

  /** Sv39 (mode 8), Sv48 (mode 9) or Sv57 (mode 10) page-table walk with A/D update. */
  private walk(lo: number, hi: number, kind: AccessKind, privilege: Privilege, mode: number): number {
    const hart = this.hart;
    const levels = mode === 10 ? 5 : mode === 9 ? 4 : 3;
    // Bits above the top virtual address bit (38, 47 or 56) must equal it.
    const topBitsShift = levels === 5 ? 24 : levels === 4 ? 15 : 6;
    const top = hi >> topBitsShift;
    if (top !== 0 && top !== -1) return this.fail(kind, true, lo, hi);
    const cpu = hart.cpu;
    // Svpbmt's memory types are allowed while menvcfg.PBMTE is set; they change no behaviour here.
    const memoryTypesAllowed = cpu.svpbmt && (hart.menvcfgHi & MENVCFG_HIGH_PBMTE) !== 0;
    // satp.PPN (44 bits) as a double.
    let tableAddress = ((hart.satpLo >>> 0) + (hart.satpHi & 0xfff) * 2 ** 32) * PAGE_SIZE;
    for (let level = levels - 1; level >= 0; level--) {
      const vpn = virtualPageNumber(lo, hi, level);
      const pteAddress = tableAddress + vpn * 8;
      if (!this.bus.isRam(pteAddress, 8) || !hart.pmp.allows(pteAddress, 8, AccessKind.Read, false)) {
        return this.fail(kind, false, lo, hi);
      }
      const index = (pteAddress - this.ram.base) >> 2;
      let pteLo = this.words[index];
      const pteHi = this.words[index + 1];
      if ((pteLo & PTE_V) === 0 || ((pteLo & PTE_R) === 0 && (pteLo & PTE_W) !== 0)) return this.fail(kind, true, lo, hi);
      // Reserved bits 60:54; PBMT (62:61) only with Svpbmt and PBMTE, never 3; N (63) only with Svnapot.
      if ((pteHi & PTE_HIGH_RESERVED) !== 0) return this.fail(kind, true, lo, hi);
      const memoryType = (pteHi >>> PTE_HIGH_PBMT_SHIFT) & 3;
      if (memoryType !== 0 && (!memoryTypesAllowed || memoryType === 3)) return this.fail(kind, true, lo, hi);
      const napot = (pteHi & PTE_HIGH_N) !== 0;
      if (napot && !cpu.svnapot) return this.fail(kind, true, lo, hi);
      const ppn = (pteLo >>> 10) + (pteHi & 0x3fffff) * 2 ** 22;
      if ((pteLo & (PTE_R | PTE_X)) === 0) {
        if ((pteLo & (PTE_A | PTE_D | PTE_U)) !== 0 || level === 0) return this.fail(kind, true, lo, hi);
        // A pointer to the next table carries neither a memory type nor N.
        if (memoryType !== 0 || napot) return this.fail(kind, true, lo, hi);
        tableAddress = ppn * PAGE_SIZE;
        continue;
      }
      // Leaf: permissions.
      const user = (pteLo & PTE_U) !== 0;
      if (privilege === Privilege.User && !user) return this.fail(kind, true, lo, hi);
      this.lastWalkRelaxed = (privilege === Privilege.Supervisor && user) || (kind === AccessKind.Read && (pteLo & PTE_R) === 0);
      if (privilege === Privilege.Supervisor && user && (kind === AccessKind.Execute || (hart.mstatus & Mstatus.SUM) === 0)) {
        return this.fail(kind, true, lo, hi);
      }
      if (kind === AccessKind.Execute && (pteLo & PTE_X) === 0) return this.fail(kind, true, lo, hi);
      if (kind === AccessKind.Read && (pteLo & PTE_R) === 0 && !((hart.mstatus & Mstatus.MXR) !== 0 && (pteLo & PTE_X) !== 0)) {
        return this.fail(kind, true, lo, hi);
      }
      if (kind === AccessKind.Write && (pteLo & PTE_W) === 0) return this.fail(kind, true, lo, hi);
      // A superpage's low PPN fields must be zero.
      if (((pteLo >>> 10) & SUPERPAGE_PPN_LOW_MASK[level]) !== 0 || (pteHi & SUPERPAGE_PPN_HIGH_MASK[level]) !== 0) {
        return this.fail(kind, true, lo, hi);
      }
      // Svnapot: only 64 KiB pages exist (a level-0 leaf whose PPN ends in 1000).
      if (napot && (level !== 0 || ((pteLo >>> 10) & 15) !== 8)) return this.fail(kind, true, lo, hi);
      // Hardware A/D update, as QEMU does.
      const wanted = PTE_A | (kind === AccessKind.Write ? PTE_D : 0);
      if ((pteLo & wanted) !== wanted) {
        if (!hart.pmp.allows(pteAddress, 8, AccessKind.Write, false)) return this.fail(kind, false, lo, hi);
        pteLo |= wanted;
        this.ram.noteWriteAhead(index * 4, 4);
        this.words[index] = pteLo;
        const codePages = this.codePages;
        if (codePages !== null && codePages[index >>> 10] !== 0) this.codeWriteListener!(index >>> 10);
      }
      // Virtual page number bits below this level (or below the NAPOT size) pass through; the
      // PPN's own bits there are zero (checked above), but for NAPOT's 1000.
      let physicalPage = ppn;
      if (napot) {
        physicalPage = ppn - 8 + ((lo >>> 12) & 15);
        this.lastWalkPages = 16;
      } else {
        if (level !== 0) physicalPage = ppn + (((lo >>> 12) & SUPERPAGE_PPN_LOW_MASK[level]) + (hi & SUPERPAGE_VA_HIGH_MASK[level]) * 2 ** 20);
        this.lastWalkPages = LEVEL_PAGES[level];
      }
      const physical = physicalPage * PAGE_SIZE + (lo & 0xfff);
      if (physical >= 2 ** 32) return this.fail(kind, false, lo, hi);
      return physical;
    }
    return this.fail(kind, true, lo, hi);
  }
}

// Per level of a leaf (4 KiB, 2 MiB, 1 GiB, 512 GiB, 256 TiB pages): the pages it maps, and the
// masks of the PPN bits that must be zero (over pte[31:10] and pte[53:32]) and of the virtual
// address bits above bit 31 that pass through. Tables and masks, not `2 ** (9 * level)` and
// `%`: with a variable exponent V8 calls the C library's pow, and `%` on doubles its fmod,
// on every page walk (Linux's boot walks about 250 k times).
const LEVEL_PAGES = [1, 2 ** 9, 2 ** 18, 2 ** 27, 2 ** 36];
const SUPERPAGE_PPN_LOW_MASK = Int32Array.of(0, 0x1ff, 0x3ffff, 0x3fffff, 0x3fffff);
const SUPERPAGE_PPN_HIGH_MASK = Int32Array.of(0, 0, 0, 0x1f, 0x3fff);
const SUPERPAGE_VA_HIGH_MASK = Int32Array.of(0, 0, 0, 0x7f, 0xffff);

/** VPN[level] of a virtual address given as lo/hi words. */
function virtualPageNumber(lo: number, hi: number, level: number): number {
  switch (level) {
    case 0: return (lo >>> 12) & 0x1ff;
    case 1: return (lo >>> 21) & 0x1ff;
    case 2: return ((lo >>> 30) | (hi << 2)) & 0x1ff;
    case 3: return (hi >>> 7) & 0x1ff;
    default: return (hi >>> 16) & 0x1ff;
  }
}
