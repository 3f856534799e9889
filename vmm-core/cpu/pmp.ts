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
  /** pmpaddr values (address bits 55:2) as doubles. */
  readonly address = new Float64Array(PMP_ENTRIES);
  private readonly regionStart = new Float64Array(PMP_ENTRIES);
  private readonly regionEnd = new Float64Array(PMP_ENTRIES);
  private readonly regionPermissions = new Uint8Array(PMP_ENTRIES);
  private readonly regionLocked = new Uint8Array(PMP_ENTRIES);
  private regionCount = 0;

  reset(): void {
    this.config.fill(0);
    this.address.fill(0);
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
  writeAddress(entry: number, value: number): void {
    if (this.isLocked(entry)) return;
    if (entry + 1 < PMP_ENTRIES && this.isLocked(entry + 1) && ((this.config[entry + 1] >> MODE_SHIFT) & 3) === 1) return;
    this.address[entry] = value % 2 ** 54;
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
        start = i === 0 ? 0 : this.address[i - 1] * 4;
        end = this.address[i] * 4;
      } else if (mode === 2) {
        start = this.address[i] * 4;
        end = start + 4;
      } else {
        let value = this.address[i];
        let trailingOnes = 0;
        while (value % 2 === 1 && trailingOnes < 54) {
          value = (value - 1) / 2;
          trailingOnes++;
        }
        start = value * 2 ** trailingOnes * 4;
        end = start + 2 ** (trailingOnes + 3);
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
