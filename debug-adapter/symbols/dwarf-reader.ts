// A bounds-checked little-endian byte cursor over one DWARF section: fixed sizes, LEB128,
// C strings, initial lengths (32/64-bit DWARF) and target addresses. Every read past the
// end throws SymbolError naming the file and section, never a RangeError.

/** Malformed, truncated or unsupported debug information (names the file and section). */
export class SymbolError extends Error {
  override readonly name = 'SymbolError';
}

const TWO_POW_32 = 0x1_0000_0000;
const decoder = new TextDecoder('utf-8', { fatal: false });

/** One named section's bytes, plus its load address (for .eh_frame pc-relative pointers). */
export interface SectionBytes {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly address: bigint;
}

export const EMPTY_SECTION = (name: string): SectionBytes => ({ name, bytes: new Uint8Array(0), address: 0n });

export class DwarfReader {
  private readonly view: DataView;
  offset: number;
  /** Exclusive end of the readable window (a unit's end, or the section's). */
  end: number;

  constructor(
    readonly section: SectionBytes,
    readonly fileName: string,
    offset = 0,
    end = section.bytes.length,
  ) {
    const bytes = section.bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
    this.end = Math.min(Math.max(end, 0), bytes.length);
  }

  get bytes(): Uint8Array {
    return this.section.bytes;
  }

  /** A reader over [offset, end) of the same section. */
  window(offset: number, end: number): DwarfReader {
    if (offset < 0 || offset > end || end > this.section.bytes.length) {
      this.fail(`range 0x${offset.toString(16)}..0x${end.toString(16)} is outside the ${this.section.bytes.length}-byte section`);
    }
    return new DwarfReader(this.section, this.fileName, offset, end);
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  get atEnd(): boolean {
    return this.offset >= this.end;
  }

  fail(message: string, at = this.offset): never {
    throw new SymbolError(`${this.fileName}: ${this.section.name} at 0x${at.toString(16)}: ${message}`);
  }

  private need(size: number): number {
    const at = this.offset;
    if (at < 0 || size > this.end - at) this.fail(`truncated: need ${size} bytes, ${Math.max(0, this.end - at)} left`);
    this.offset = at + size;
    return at;
  }

  skip(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0) this.fail(`invalid size ${size}`);
    this.need(size);
  }

  u8(): number {
    return this.view.getUint8(this.need(1));
  }

  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }

  u24(): number {
    const at = this.need(3);
    return this.view.getUint16(at, true) | (this.view.getUint8(at + 2) << 16);
  }

  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  i8(): number {
    return this.view.getInt8(this.need(1));
  }

  i16(): number {
    return this.view.getInt16(this.need(2), true);
  }

  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }

  u64(): bigint {
    const at = this.need(8);
    return (BigInt(this.view.getUint32(at + 4, true)) << 32n) | BigInt(this.view.getUint32(at, true));
  }

  /** A 64-bit value that must fit a JS number (offsets, lengths). */
  u64Number(what = 'value'): number {
    const at = this.need(8);
    const high = this.view.getUint32(at + 4, true);
    if (high >= 0x20_0000) this.fail(`${what} does not fit in 53 bits`, at);
    return high * TWO_POW_32 + this.view.getUint32(at, true);
  }

  /** An unsigned value of `size` bytes (1, 2, 4 or 8) as a bigint. */
  unsigned(size: number): bigint {
    switch (size) {
      case 1: return BigInt(this.u8());
      case 2: return BigInt(this.u16());
      case 4: return BigInt(this.u32());
      case 8: return this.u64();
      default: return this.fail(`unsupported value size ${size}`);
    }
  }

  /** A target address of `size` bytes. */
  address(size: number): bigint {
    return this.unsigned(size);
  }

  /** ULEB128 as a number; values beyond 2^53 are an error (counts, offsets, indexes). */
  uleb(): number {
    const start = this.offset;
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.offset >= this.end) this.fail('truncated LEB128', start);
      const byte = this.view.getUint8(this.offset++);
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) break;
      scale *= 128;
      if (scale > 2 ** 56) {
        // Tolerate redundant zero-padding (some producers pad to fixed widths), refuse real overflow.
        this.skipLebTail(start);
        if (result > Number.MAX_SAFE_INTEGER) this.fail('LEB128 value does not fit in 53 bits', start);
        return result;
      }
    }
    if (result > Number.MAX_SAFE_INTEGER) this.fail('LEB128 value does not fit in 53 bits', start);
    return result;
  }

  private skipLebTail(start: number): void {
    for (;;) {
      if (this.offset >= this.end) this.fail('truncated LEB128', start);
      const byte = this.view.getUint8(this.offset++);
      if ((byte & 0x7f) !== 0) this.fail('LEB128 value does not fit in 53 bits', start);
      if ((byte & 0x80) === 0) return;
    }
  }

  /** SLEB128 as a number (values beyond ±2^53 are an error). */
  sleb(): number {
    const start = this.offset;
    let result = 0;
    let scale = 1;
    let byte: number;
    let count = 0;
    do {
      if (this.offset >= this.end) this.fail('truncated LEB128', start);
      byte = this.view.getUint8(this.offset++);
      result += (byte & 0x7f) * scale;
      scale *= 128;
      if (++count > 10) this.fail('LEB128 longer than 10 bytes', start);
    } while (byte & 0x80);
    if (byte & 0x40) result -= scale;
    if (!Number.isSafeInteger(result)) {
      // 64-bit values with all high bits set (e.g. -1 written as 10 bytes) are fine; others are not.
      this.offset = start;
      const big = this.slebBig();
      if (big < BigInt(Number.MIN_SAFE_INTEGER) || big > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('LEB128 value does not fit in 53 bits', start);
      return Number(big);
    }
    return result;
  }

  /** ULEB128 of any size (constants, addresses in expressions); at most 10 bytes. */
  ulebBig(): bigint {
    const start = this.offset;
    let result = 0n;
    let shift = 0n;
    for (let count = 0; ; count++) {
      if (this.offset >= this.end) this.fail('truncated LEB128', start);
      if (count >= 10) this.fail('LEB128 longer than 10 bytes', start);
      const byte = this.view.getUint8(this.offset++);
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
  }

  slebBig(): bigint {
    const start = this.offset;
    let result = 0n;
    let shift = 0n;
    for (let count = 0; ; count++) {
      if (this.offset >= this.end) this.fail('truncated LEB128', start);
      if (count >= 10) this.fail('LEB128 longer than 10 bytes', start);
      const byte = this.view.getUint8(this.offset++);
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) {
        if (byte & 0x40) result -= 1n << shift;
        return BigInt.asIntN(64, result);
      }
    }
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(): string {
    const start = this.offset;
    const bytes = this.section.bytes;
    let end = bytes.indexOf(0, start);
    if (end < 0 || end >= this.end) this.fail('string is not NUL-terminated', start);
    this.offset = end + 1;
    return decoder.decode(bytes.subarray(start, end));
  }

  /** `size` raw bytes (a view, not a copy). */
  block(size: number): Uint8Array {
    if (!Number.isSafeInteger(size) || size < 0) this.fail(`invalid block size ${size}`);
    const at = this.need(size);
    return this.section.bytes.subarray(at, at + size);
  }

  /**
   * An initial length: returns the unit length and whether the unit uses 64-bit DWARF
   * offsets. A 32-bit length of 0xfffffff0..0xfffffffe is reserved and an error.
   */
  initialLength(): { length: number; offsetSize: 4 | 8 } {
    const at = this.offset;
    const first = this.u32();
    if (first === 0xffffffff) return { length: this.u64Number('unit length'), offsetSize: 8 };
    if (first >= 0xfffffff0) this.fail(`reserved unit length 0x${first.toString(16)}`, at);
    return { length: first, offsetSize: 4 };
  }

  /** A section offset of the unit's offset size (4 or 8). */
  sectionOffset(offsetSize: 4 | 8): number {
    return offsetSize === 4 ? this.u32() : this.u64Number('section offset');
  }
}

/** Reads a NUL-terminated string at `offset` in a string section (.debug_str, .debug_line_str). */
export function stringAt(section: SectionBytes, fileName: string, offset: number): string {
  if (offset < 0 || offset >= section.bytes.length) {
    throw new SymbolError(`${fileName}: ${section.name}: string offset 0x${offset.toString(16)} is outside the ${section.bytes.length}-byte section`);
  }
  return new DwarfReader(section, fileName, offset).cstring();
}

/** Unsigned 64-bit address arithmetic (wraps like the hardware). */
export const addAddress = (base: bigint, offset: bigint | number): bigint =>
  BigInt.asUintN(64, base + (typeof offset === 'number' ? BigInt(offset) : offset));
