// Sdtrig debug triggers as QEMU 7.2 implements them (target/riscv/debug.c): two address-match
// triggers, each of type 2 (mcontrol) or 6 (mcontrol6), matching an instruction address
// (execute) or the address of a load or store, in the privilege modes their U/S/M bits name.
// Only match = 0 (equal), chain = 0, timing = 0 (before the instruction or access) and
// action = 0 (a breakpoint exception) exist; those fields, hit and dmode read as zero.
//
// Armed nothing, they cost nothing: the MMU keeps pages an armed trigger can match out of its
// TLBs, so only fetches and accesses on those pages reach the checks (cpu/mmu.ts).

import { Privilege } from './csr-numbers';
import { AccessKind } from './pmp';

export const TRIGGER_COUNT = 2;
/** tinfo: every trigger supports types 2 and 6. */
export const TRIGGER_INFO = (1 << 2) | (1 << 6);

const TYPE_MCONTROL = 2;
const TYPE_MCONTROL6 = 6;

// tdata1 bits (low word) common to types 2 and 6.
const LOAD = 1 << 0;
const STORE = 1 << 1;
const EXECUTE = 1 << 2;
const MODE_U = 1 << 3;
const MODE_S = 1 << 4;
const MODE_M = 1 << 6;
const KEPT_BITS = LOAD | STORE | EXECUTE | MODE_U | MODE_S | MODE_M;
// mcontrol: sizelo 17:16, sizehi 22:21. mcontrol6: size 19:16, vu 23, vs 24.
const MCONTROL_SIZE_LOW = 3 << 16;
const MCONTROL_SIZE_HIGH = 3 << 21;
const MCONTROL6_SIZE = 0xf << 16;
const MCONTROL6_VU = 1 << 23;
const MCONTROL6_VS = 1 << 24;

/** Bytes matched for each size encoding; -1 for the encodings QEMU 7.2 refuses (it keeps SIZE_ANY). */
const SIZE_BYTES: readonly number[] = [8, 1, 2, 4, -1, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1];

export class DebugTriggers {
  /** tselect. */
  selected = 0;
  /** tdata1 of each trigger, lo/hi words. */
  readonly controlLo = new Int32Array(TRIGGER_COUNT);
  readonly controlHi = new Int32Array(TRIGGER_COUNT);
  /** tdata2 (the address) of each trigger. */
  readonly addressLo = new Int32Array(TRIGGER_COUNT);
  readonly addressHi = new Int32Array(TRIGGER_COUNT);
  /** Some trigger can fire on an instruction address / on a load or store. */
  executeArmed = false;
  dataArmed = false;

  constructor() {
    this.reset();
  }

  /** Both triggers become type 2 with nothing enabled, as at QEMU's reset. */
  reset(): void {
    this.selected = 0;
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      this.controlLo[i] = 0;
      this.controlHi[i] = TYPE_MCONTROL << 28;
      this.addressLo[i] = 0;
      this.addressHi[i] = 0;
    }
    this.rearm();
  }

  /** After a snapshot wrote the trigger registers directly: recompute what is armed. */
  restored(): void {
    this.rearm();
  }

  /** tselect write: an index past the last trigger leaves it unchanged (WARL). */
  select(lo: number, hi: number): void {
    if (hi === 0 && lo >>> 0 < TRIGGER_COUNT) this.selected = lo;
  }

  /**
   * tdata1 write for the selected trigger, WARL as QEMU 7.2: the written type selects mcontrol
   * (2) or mcontrol6 (6); any other type leaves the trigger unchanged. Unimplemented fields
   * read back as zero and a size QEMU does not support becomes 0 (any size).
   */
  writeControl(lo: number, hi: number): void {
    const type = hi >>> 28;
    let kept: number;
    if (type === TYPE_MCONTROL) {
      kept = lo & KEPT_BITS;
      const size = (((lo & MCONTROL_SIZE_HIGH) >>> 21) << 2) | ((lo & MCONTROL_SIZE_LOW) >>> 16);
      if (SIZE_BYTES[size] > 0) kept |= lo & (MCONTROL_SIZE_LOW | MCONTROL_SIZE_HIGH);
    } else if (type === TYPE_MCONTROL6) {
      kept = lo & (KEPT_BITS | MCONTROL6_VU | MCONTROL6_VS);
      if (SIZE_BYTES[(lo & MCONTROL6_SIZE) >>> 16] > 0) kept |= lo & MCONTROL6_SIZE;
    } else {
      return;
    }
    this.controlLo[this.selected] = kept;
    this.controlHi[this.selected] = type << 28;
    this.rearm();
  }

  /** tdata2 write for the selected trigger. */
  writeAddress(lo: number, hi: number): void {
    this.addressLo[this.selected] = lo;
    this.addressHi[this.selected] = hi;
    this.rearm();
  }

  private type(index: number): number {
    return this.controlHi[index] >>> 28;
  }

  /** True when trigger `index` fires in `privilege` (QEMU: the U/S/M bit of the current mode). */
  private firesIn(index: number, privilege: Privilege): boolean {
    const type = this.type(index);
    if (type !== TYPE_MCONTROL && type !== TYPE_MCONTROL6) return false;
    return ((this.controlLo[index] >>> 3) & (1 << privilege)) !== 0;
  }

  /** Bytes a data trigger covers from its address. */
  private matchBytes(index: number): number {
    const lo = this.controlLo[index];
    const size = this.type(index) === TYPE_MCONTROL
      ? (((lo & MCONTROL_SIZE_HIGH) >>> 21) << 2) | ((lo & MCONTROL_SIZE_LOW) >>> 16)
      : (lo & MCONTROL6_SIZE) >>> 16;
    return SIZE_BYTES[size] > 0 ? SIZE_BYTES[size] : 8;
  }

  private rearm(): void {
    this.executeArmed = false;
    this.dataArmed = false;
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      const lo = this.controlLo[i];
      if ((lo & (MODE_U | MODE_S | MODE_M)) === 0) continue;
      if ((lo & EXECUTE) !== 0) this.executeArmed = true;
      if ((lo & (LOAD | STORE)) !== 0) this.dataArmed = true;
    }
  }

  /** An execute trigger fires for an instruction at pc in `privilege`. */
  matchesExecute(pcLo: number, pcHi: number, privilege: Privilege): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if ((this.controlLo[i] & EXECUTE) === 0 || !this.firesIn(i, privilege)) continue;
      if (this.addressLo[i] === pcLo && this.addressHi[i] === pcHi) return true;
    }
    return false;
  }

  /**
   * A load or store trigger fires for an access of `size` bytes at the virtual address:
   * the access overlaps the bytes from tdata2 that the trigger's size covers (8 for "any").
   * An AMO is both a load and a store (`kind` Write with `alsoRead`).
   */
  matchesData(lo: number, hi: number, size: number, kind: AccessKind, privilege: Privilege, alsoRead = false): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      const control = this.controlLo[i];
      const wanted = (kind === AccessKind.Write && (control & STORE) !== 0) ||
        ((kind === AccessKind.Read || alsoRead) && (control & LOAD) !== 0);
      if (!wanted || !this.firesIn(i, privilege)) continue;
      if (overlaps(lo, hi, size, this.addressLo[i], this.addressHi[i], this.matchBytes(i))) return true;
    }
    return false;
  }

  /** The virtual page may hold an instruction an execute trigger matches (checked on TLB fills only). */
  mayMatchExecutePage(pageLo: number, pageHi: number): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if ((this.controlLo[i] & EXECUTE) === 0) continue;
      if (this.addressLo[i] >>> 12 === pageLo && this.addressHi[i] === pageHi) return true;
    }
    return false;
  }

  /** The virtual page holds bytes a load or store trigger covers (checked on TLB fills only). */
  mayMatchDataPage(pageLo: number, pageHi: number): boolean {
    for (let i = 0; i < TRIGGER_COUNT; i++) {
      if ((this.controlLo[i] & (LOAD | STORE)) === 0) continue;
      const firstLo = this.addressLo[i], firstHi = this.addressHi[i];
      if (firstLo >>> 12 === pageLo && firstHi === pageHi) return true;
      const lastLo = (firstLo + this.matchBytes(i) - 1) | 0;
      const lastHi = (lastLo >>> 0) < (firstLo >>> 0) ? (firstHi + 1) | 0 : firstHi;
      if (lastLo >>> 12 === pageLo && lastHi === pageHi) return true;
    }
    return false;
  }
}

/** [a, a + aSize) and [b, b + bSize) intersect, in 64-bit wrapping arithmetic (sizes at most 8). */
function overlaps(aLo: number, aHi: number, aSize: number, bLo: number, bHi: number, bSize: number): boolean {
  return distanceBelow(aLo, aHi, bLo, bHi, bSize) || distanceBelow(bLo, bHi, aLo, aHi, aSize);
}

/** a - b, as an unsigned 64-bit number, is below `limit` (a small number). */
function distanceBelow(aLo: number, aHi: number, bLo: number, bHi: number, limit: number): boolean {
  const differenceLo = (aLo - bLo) | 0;
  const differenceHi = (aHi - bHi - ((aLo >>> 0) < (bLo >>> 0) ? 1 : 0)) | 0;
  return differenceHi === 0 && (differenceLo >>> 0) < limit;
}
