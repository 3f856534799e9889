// A 64-bit virtio feature set held as two 32-bit halves, the way the MMIO transport exposes it
// (DeviceFeaturesSel / DriverFeaturesSel select a half), so no BigInt is needed anywhere.

export class FeatureBits {
  /** Bits 0..31 and 32..63, each an unsigned 32-bit number. */
  readonly low: number;
  readonly high: number;

  constructor(low = 0, high = 0) {
    this.low = low >>> 0;
    this.high = high >>> 0;
  }

  static readonly none = new FeatureBits();

  /** A set from bit numbers (0..63). */
  static of(...bits: readonly number[]): FeatureBits {
    let low = 0;
    let high = 0;
    for (const bit of bits) {
      if (!Number.isInteger(bit) || bit < 0 || bit > 63) throw new RangeError(`feature bit ${bit} is not in 0..63`);
      if (bit < 32) low |= 1 << bit;
      else high |= 1 << (bit - 32);
    }
    return new FeatureBits(low, high);
  }

  has(bit: number): boolean {
    if (bit < 0 || bit > 63) return false;
    return bit < 32 ? ((this.low >>> bit) & 1) === 1 : ((this.high >>> (bit - 32)) & 1) === 1;
  }

  /** Half 0 (bits 0..31) or half 1 (bits 32..63); any other selector reads 0. */
  word(select: number): number {
    return select === 0 ? this.low : select === 1 ? this.high : 0;
  }

  withWord(select: 0 | 1, value: number): FeatureBits {
    return select === 0 ? new FeatureBits(value, this.high) : new FeatureBits(this.low, value);
  }

  union(other: FeatureBits): FeatureBits {
    return new FeatureBits(this.low | other.low, this.high | other.high);
  }

  intersect(other: FeatureBits): FeatureBits {
    return new FeatureBits(this.low & other.low, this.high & other.high);
  }

  without(other: FeatureBits): FeatureBits {
    return new FeatureBits(this.low & ~other.low, this.high & ~other.high);
  }

  isEmpty(): boolean {
    return this.low === 0 && this.high === 0;
  }

  equals(other: FeatureBits): boolean {
    return this.low === other.low && this.high === other.high;
  }

  /** The bit numbers that are set, ascending. */
  bits(): number[] {
    const result: number[] = [];
    for (let bit = 0; bit < 64; bit++) if (this.has(bit)) result.push(bit);
    return result;
  }

  /** "0x00000001_30000000": high half, underscore, low half. */
  toString(): string {
    const hex = (value: number) => value.toString(16).padStart(8, '0');
    return `0x${hex(this.high)}_${hex(this.low)}`;
  }

  toJSON(): [number, number] {
    return [this.low, this.high];
  }

  static fromJSON(value: readonly [number, number]): FeatureBits {
    return new FeatureBits(value[0], value[1]);
  }
}
