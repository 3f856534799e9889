// Bounds-checked access to guest RAM for devices (DMA): every access is checked against RAM
// and refused with a GuestMemoryError when any byte of it lies outside, so a guest-controlled
// address can never reach host memory beyond the guest's RAM. Devices get this, never the buffer.

import { GuestRam } from './ram';

export class GuestMemoryError extends Error {
  override name = 'GuestMemoryError';
}

/** Told about every device write into RAM (dirty pages, code invalidation, reservations). */
export type GuestMemoryWriteObserver = (address: number, length: number) => void;

/**
 * Physical addresses are plain numbers. 64-bit values the guest supplies (descriptor
 * addresses) are read with `readU64` as doubles: anything at or above 2^32 is outside RAM
 * (RAM ends below 4 GiB), so rounding above 2^53 can never turn a bad address into a good one.
 */
export class GuestMemory {
  /** Set by the machine; devices never set it. */
  writeObserver: GuestMemoryWriteObserver | null = null;

  constructor(private readonly ram: GuestRam) {}

  /** First byte of RAM. */
  get base(): number {
    return this.ram.base;
  }

  /** RAM size in bytes. */
  get size(): number {
    return this.ram.size;
  }

  /** True when the whole range [address, address + length) is RAM. */
  contains(address: number, length: number): boolean {
    return Number.isFinite(address) && Number.isInteger(length) && length >= 0 && Number.isInteger(address) &&
      this.ram.contains(address, length);
  }

  private check(address: number, length: number, what: string): number {
    if (!this.contains(address, length)) {
      throw new GuestMemoryError(
        `${what} of ${length} bytes at 0x${address.toString(16)} is outside guest RAM ` +
        `(0x${this.ram.base.toString(16)}..0x${(this.ram.base + this.ram.size).toString(16)})`);
    }
    const offset = address - this.ram.base;
    if (what === 'write') this.ram.noteWriteAhead(offset, length);
    return offset;
  }

  /** A copy of guest bytes. */
  read(address: number, length: number): Uint8Array {
    const offset = this.check(address, length, 'read');
    return this.ram.bytes.slice(offset, offset + length);
  }

  /** Copies guest bytes into `target` (no allocation). */
  readInto(address: number, target: Uint8Array): void {
    const offset = this.check(address, target.length, 'read');
    target.set(this.ram.bytes.subarray(offset, offset + target.length));
  }

  write(address: number, data: Uint8Array): void {
    const offset = this.check(address, data.length, 'write');
    this.ram.bytes.set(data, offset);
    this.writeObserver?.(address, data.length);
  }

  /** Fills a range with one byte value. */
  fill(address: number, length: number, value: number): void {
    const offset = this.check(address, length, 'write');
    this.ram.bytes.fill(value, offset, offset + length);
    this.writeObserver?.(address, length);
  }

  readU8(address: number): number {
    return this.ram.bytes[this.check(address, 1, 'read')];
  }

  readU16(address: number): number {
    return this.ram.readUnaligned(this.check(address, 2, 'read'), 2);
  }

  readU32(address: number): number {
    return this.ram.readUnaligned(this.check(address, 4, 'read'), 4);
  }

  /** A little-endian 64-bit value as a double (exact below 2^53). */
  readU64(address: number): number {
    const offset = this.check(address, 8, 'read');
    return this.ram.readUnaligned(offset, 4) + this.ram.readUnaligned(offset + 4, 4) * 0x1_0000_0000;
  }

  writeU8(address: number, value: number): void {
    this.ram.bytes[this.check(address, 1, 'write')] = value;
    this.writeObserver?.(address, 1);
  }

  writeU16(address: number, value: number): void {
    this.ram.writeUnaligned(this.check(address, 2, 'write'), 2, value);
    this.writeObserver?.(address, 2);
  }

  writeU32(address: number, value: number): void {
    this.ram.writeUnaligned(this.check(address, 4, 'write'), 4, value);
    this.writeObserver?.(address, 4);
  }

  /** Writes a non-negative integer below 2^53 as a little-endian 64-bit value. */
  writeU64(address: number, value: number): void {
    const offset = this.check(address, 8, 'write');
    this.ram.writeUnaligned(offset, 4, value >>> 0);
    this.ram.writeUnaligned(offset + 4, 4, Math.floor(value / 0x1_0000_0000) >>> 0);
    this.writeObserver?.(address, 8);
  }
}
