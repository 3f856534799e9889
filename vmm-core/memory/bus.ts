// The physical bus: RAM plus an overlap-checked map of device ranges. The CPU reaches RAM
// through its TLB directly; everything else (devices, the slow path) comes through here.

import type { MmioDevice } from '../devices/device';
import { GuestRam } from './ram';

export interface BusMapping {
  readonly base: number;
  readonly size: number;
  readonly device: MmioDevice;
}

export class PhysicalBus {
  private readonly mappings: BusMapping[] = [];
  /** Set by read/write when the address hits nothing; the caller turns it into an access fault. */
  fault = false;

  constructor(readonly ram: GuestRam) {}

  /** Adds a device; throws if its range overlaps RAM or another device. */
  attach(base: number, size: number, device: MmioDevice): void {
    const end = base + size;
    const overlaps = (b: number, e: number) => base < e && b < end;
    if (overlaps(this.ram.base, this.ram.base + this.ram.size)) {
      throw new Error(`device ${device.name} at 0x${base.toString(16)} overlaps RAM`);
    }
    for (const m of this.mappings) {
      if (overlaps(m.base, m.base + m.size)) {
        throw new Error(`device ${device.name} at 0x${base.toString(16)} overlaps ${m.device.name} at 0x${m.base.toString(16)}`);
      }
    }
    this.mappings.push({ base, size, device });
    this.mappings.sort((a, b) => a.base - b.base);
  }

  /** Puts another device in the range that starts at `base` (hot-plug into a virtio-mmio slot). */
  replace(base: number, device: MmioDevice): void {
    const index = this.mappings.findIndex((m) => m.base === base);
    if (index < 0) throw new Error(`no device at 0x${base.toString(16)} to replace`);
    this.mappings[index] = { base, size: this.mappings[index].size, device };
  }

  get devices(): readonly BusMapping[] {
    return this.mappings;
  }

  findMapping(address: number): BusMapping | undefined {
    for (const m of this.mappings) {
      if (address >= m.base && address < m.base + m.size) return m;
    }
    return undefined;
  }

  /** True when [address, address+size) is RAM. */
  isRam(address: number, size: number): boolean {
    return this.ram.contains(address, size);
  }

  /**
   * Reads 1, 2 or 4 bytes at a physical address (unsigned result). Sets `fault` and returns 0
   * when nothing is mapped there or the access would straddle a device's end.
   */
  read(address: number, size: 1 | 2 | 4): number {
    if (this.ram.contains(address, size)) return this.ram.readUnaligned(address - this.ram.base, size);
    const m = this.findMapping(address);
    if (m === undefined || address + size > m.base + m.size) {
      this.fault = true;
      return 0;
    }
    return m.device.read(address - m.base, size) >>> 0;
  }

  write(address: number, size: 1 | 2 | 4, value: number): void {
    if (this.ram.contains(address, size)) {
      this.ram.writeUnaligned(address - this.ram.base, size, value);
      return;
    }
    const m = this.findMapping(address);
    if (m === undefined || address + size > m.base + m.size) {
      this.fault = true;
      return;
    }
    m.device.write(address - m.base, size, value);
  }
}
