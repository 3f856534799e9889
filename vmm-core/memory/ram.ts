// Guest RAM: one SharedArrayBuffer so that a debugger on another thread can read it while the
// machine is stopped. Offsets here are relative to the RAM base; callers bounds-check first.

export class GuestRam {
  readonly buffer: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly halfwords: Uint16Array;
  readonly words: Int32Array;
  readonly doublewordsView: BigInt64Array;

  /**
   * Writes that bypass the MMU (devices, HTIF, loaders, the debugger) call this with the RAM
   * offset and length, so that the translation tier drops code they overwrite.
   */
  writeListener: ((offset: number, length: number) => void) | null = null;
  /**
   * Called before any write changes RAM (by the CPU through the MMU's store translations, by
   * devices, loaders and tools) with the RAM offset and length: execution history copies a
   * page the first time it changes after a checkpoint.
   */
  beforeWrite: ((offset: number, length: number) => void) | null = null;
  /**
   * One byte per page, set before anything first writes the page: pages never marked are still
   * all zero, so snapshots need not read them (reading untouched memory costs the host a fault
   * per page).
   */
  readonly touched: Uint8Array;

  /** `buffer`: where RAM lives, from its byte 0 (the translation tier's Wasm memory); a new one by default. */
  constructor(readonly base: number, readonly size: number, buffer?: SharedArrayBuffer) {
    if (size <= 0 || size % 4096 !== 0) throw new Error(`RAM size must be a positive multiple of 4 KiB, got ${size}`);
    if (buffer !== undefined && buffer.byteLength < size) throw new Error(`RAM buffer of ${buffer.byteLength} bytes cannot hold ${size}`);
    this.buffer = buffer ?? new SharedArrayBuffer(size);
    this.bytes = new Uint8Array(this.buffer, 0, size);
    this.halfwords = new Uint16Array(this.buffer, 0, size / 2);
    this.words = new Int32Array(this.buffer, 0, size / 4);
    this.doublewordsView = new BigInt64Array(this.buffer, 0, size / 8);
    this.touched = new Uint8Array(size / 4096);
  }

  /** Every writer calls this (RAM offset and length) before it writes. */
  noteWriteAhead(offset: number, length: number): void {
    if (length <= 0) return;
    const last = Math.min((offset + length - 1) >>> 12, this.touched.length - 1);
    for (let page = Math.max(0, offset >>> 12); page <= last; page++) this.touched[page] = 1;
    this.beforeWrite?.(offset, length);
  }

  /** True when the physical range [address, address+length) lies inside RAM. */
  contains(address: number, length: number): boolean {
    return address >= this.base && address + length <= this.base + this.size && length >= 0;
  }

  /** Copies bytes in at a physical address; throws if the range leaves RAM. */
  load(address: number, data: Uint8Array): void {
    if (!this.contains(address, data.length)) {
      throw new Error(
        `cannot place ${data.length} bytes at 0x${address.toString(16)}: RAM is 0x${this.base.toString(16)}..0x${(this.base + this.size).toString(16)}`,
      );
    }
    this.noteWriteAhead(address - this.base, data.length);
    this.bytes.set(data, address - this.base);
    this.writeListener?.(address - this.base, data.length);
  }

  /** Reads a little-endian value of 1, 2 or 4 bytes at any alignment (offset relative to base). */
  readUnaligned(offset: number, size: number): number {
    const b = this.bytes;
    if (size === 1) return b[offset];
    if (size === 2) return b[offset] | (b[offset + 1] << 8);
    return (b[offset] | (b[offset + 1] << 8) | (b[offset + 2] << 16) | (b[offset + 3] << 24)) >>> 0;
  }

  writeUnaligned(offset: number, size: number, value: number): void {
    this.noteWriteAhead(offset, size);
    this.writeListener?.(offset, size);
    const b = this.bytes;
    b[offset] = value;
    if (size >= 2) b[offset + 1] = value >>> 8;
    if (size === 4) {
      b[offset + 2] = value >>> 16;
      b[offset + 3] = value >>> 24;
    }
  }
}
