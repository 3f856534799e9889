// Physical memory protection: 16 entries (TOR, NA4, NAPOT), granularity 4 bytes, checked
// on every S/U access and on M accesses to locked entries. Regions are recomputed when a
// pmpcfg/pmpaddr CSR is written, so a check is a scan over the active ones.

export const enum AccessKind {
  Read = 1,
  Write = 2,
  Execute = 4,
}

export const PMP_ENTRIES = 16;
const LOCKED = 0x80;
const MODE_SHIFT = 3;

export class PhysicalMemoryProtection {
  /** pmpcfg bytes. */
  readonly config = new Uint8Array(PMP_ENTRIES);
  /** pmpaddr values (address bits 55:2) as lo/hi words: 54 bits do not fit a double exactly. */
  readonly addressLow = new Int32Array(PMP_ENTRIES);
  readonly addressHigh = new Int32Array(PMP_ENTRIES);
  private readonly regionStart = new Float64Array(PMP_ENTRIES);
  private readonly regionEnd = new Float64Array(PMP_ENTRIES);
  private readonly regionPermissions = new Uint8Array(PMP_ENTRIES);
  private readonly regionLocked = new Uint8Array(PMP_ENTRIES);
  private regionCount = 0;

  reset(): void {
    this.config.fill(0);
    this.addressLow.fill(0);
    this.addressHigh.fill(0);
    this.rebuild();
  }

  isLocked(entry: number): boolean {
    return (this.config[entry] & LOCKED) !== 0;
  }

  /** Writes one configuration byte unless the entry is locked. R=0,W=1 is reserved: W is dropped. */
  writeConfig(entry: number, value: number): void {
    if (this.isLocked(entry)) return;
    let byte = value & 0x9f;
    if ((byte & 3) === 2) byte &= ~2;
    this.config[entry] = byte;
  }

  /** Writes pmpaddr unless locked, or unless the next entry is a locked TOR entry using it. */
  writeAddress(entry: number, low: number, high: number): void {
    if (this.isLocked(entry)) return;
    if (entry + 1 < PMP_ENTRIES && this.isLocked(entry + 1) && ((this.config[entry + 1] >> MODE_SHIFT) & 3) === 1) return;
    this.addressLow[entry] = low;
    this.addressHigh[entry] = high & 0x3fffff;
  }

  /** pmpaddr as a double (exact unless all 54 bits are set, where the top rounds up harmlessly). */
  private addressValue(entry: number): number {
    return (this.addressHigh[entry] >>> 0) * 2 ** 32 + (this.addressLow[entry] >>> 0);
  }

  rebuild(): void {
    let count = 0;
    for (let i = 0; i < PMP_ENTRIES; i++) {
      const cfg = this.config[i];
      const mode = (cfg >> MODE_SHIFT) & 3;
      if (mode === 0) continue;
      let start: number;
      let end: number;
      if (mode === 1) {
        start = i === 0 ? 0 : this.addressValue(i - 1) * 4;
        end = this.addressValue(i) * 4;
      } else if (mode === 2) {
        start = this.addressValue(i) * 4;
        end = start + 4;
      } else {
        const low = this.addressLow[i], high = this.addressHigh[i];
        // NAPOT: the number of trailing ones gives the size, 2^(ones + 3) bytes.
        const trailingOnes = ~low !== 0 ? 31 - Math.clz32(~low & (low + 1)) : 32 + (~high !== 0 ? 31 - Math.clz32(~high & (high + 1)) : 32);
        if (trailingOnes >= 54) {
          start = 0;
          end = 2 ** 56;
        } else {
          const clearBits = trailingOnes + 1;
          const baseLow = clearBits >= 32 ? 0 : (low >>> clearBits) << clearBits;
          const baseHigh = clearBits <= 32 ? high : (high >>> (clearBits - 32)) << (clearBits - 32);
          start = ((baseHigh >>> 0) * 2 ** 32 + (baseLow >>> 0)) * 4;
          end = start + 2 ** (trailingOnes + 3);
        }
      }
      this.regionStart[count] = start;
      this.regionEnd[count] = end;
      this.regionPermissions[count] = cfg & 7;
      this.regionLocked[count] = cfg & LOCKED ? 1 : 0;
      count++;
    }
    this.regionCount = count;
  }

  /** True when any entry is active (used to skip checks entirely for M-mode when none is locked). */
  get active(): boolean {
    return this.regionCount > 0;
  }

  /**
   * Whether an access of `size` bytes at physical `address` with `kind` is allowed for
   * `machineMode` (true for M). The first entry that matches any byte decides; a partial
   * match fails.
   */
  allows(address: number, size: number, kind: AccessKind, machineMode: boolean): boolean {
    const last = address + size;
    for (let i = 0; i < this.regionCount; i++) {
      const start = this.regionStart[i];
      const end = this.regionEnd[i];
      if (last <= start || address >= end) continue;
      if (address < start || last > end) return false;
      if (machineMode && this.regionLocked[i] === 0) return true;
      return (this.regionPermissions[i] & kind) !== 0;
    }
    return machineMode;
  }
}
