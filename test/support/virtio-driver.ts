// A small virtio driver for tests: it lays out split virtqueues in a real GuestRam (through
// GuestMemory) and talks to a virtio-mmio transport only through 32-bit MMIO reads and writes,
// as a guest kernel does. It also lets a test write raw, deliberately broken descriptors.

import { GuestRam } from '../../vmm-core/memory/ram';
import { GuestMemory } from '../../vmm-core/memory/guest-memory';
import type { InterruptLine, MmioDevice } from '../../vmm-core/devices/device';
import {
  FeatureBits,
  VirtioFeature,
  VirtioMmioRegister as Register,
  VirtioStatus,
  VirtqDescriptorFlag,
  VirtioMmioTransport,
  type VirtioDevice,
} from '../../vmm-core/devices/virtio';

export const RAM_BASE = 0x8000_0000;

/** An interrupt line that remembers its level and counts rising edges. */
export class RecordingLine implements InterruptLine {
  level = false;
  rises = 0;
  setLevel(asserted: boolean): void {
    if (asserted && !this.level) this.rises++;
    this.level = asserted;
  }
}

/** Hands out guest-physical ranges from a region of RAM (never freed). */
export class GuestAllocator {
  private next: number;
  constructor(readonly start: number, readonly end: number) {
    this.next = start;
  }
  allocate(length: number, alignment = 16): number {
    const address = Math.ceil(this.next / alignment) * alignment;
    if (address + length > this.end) throw new Error(`test allocator out of space for ${length} bytes`);
    this.next = address + length;
    return address;
  }
}

/** A buffer to put in a chain: bytes the device reads, or room the device writes. */
export type ChainBuffer = { readable: Uint8Array } | { writable: number };

export interface UsedElement {
  id: number;
  length: number;
}

export interface MachineParts {
  ram: GuestRam;
  memory: GuestMemory;
  line: RecordingLine;
  transport: VirtioMmioTransport;
  driver: MockVirtioDriver;
  log: string[];
}

/** A transport around `device` in a fresh RAM (1 MiB by default), with a driver for it. The device and driver share `memory`. */
export function createVirtioTestbed(
  device: VirtioDevice,
  options: { version?: 1 | 2; ramSize?: number; memory?: (ram: GuestRam) => GuestMemory } = {},
): MachineParts {
  const ram = new GuestRam(RAM_BASE, options.ramSize ?? 1024 * 1024);
  const memory = options.memory ? options.memory(ram) : new GuestMemory(ram);
  const line = new RecordingLine();
  const log: string[] = [];
  const transport = new VirtioMmioTransport({ device, memory, irq: line, version: options.version ?? 2, log: (message) => log.push(message) });
  const driver = new MockVirtioDriver(transport, memory, new GuestAllocator(RAM_BASE + 0x1000, RAM_BASE + ram.size));
  return { ram, memory, line, transport, driver, log };
}

export interface InitializeOptions {
  /** Which offered features to accept. Default: all offered. */
  accept?: (offered: FeatureBits) => FeatureBits;
  /** Write only the low half of the driver features, as xv6 does. */
  lowHalfOnly?: boolean;
  /** Stop before DRIVER_OK (queues are set up afterwards by the test). */
  withoutDriverOk?: boolean;
}

export class MockVirtioDriver {
  readonly queues = new Map<number, DriverQueue>();
  negotiated = FeatureBits.none;

  constructor(
    readonly device: MmioDevice,
    readonly memory: GuestMemory,
    readonly allocator: GuestAllocator,
  ) {}

  read(register: number): number {
    return this.device.read(register, 4);
  }

  write(register: number, value: number): void {
    this.device.write(register, 4, value >>> 0);
  }

  get version(): number {
    return this.read(Register.Version);
  }

  get status(): number {
    return this.read(Register.Status);
  }

  /** Both halves of DeviceFeatures. */
  offeredFeatures(): FeatureBits {
    this.write(Register.DeviceFeaturesSel, 0);
    const low = this.read(Register.DeviceFeatures);
    this.write(Register.DeviceFeaturesSel, 1);
    const high = this.read(Register.DeviceFeatures);
    return new FeatureBits(low, high);
  }

  /**
   * The initialization sequence of virtio 1.2 §3.1.1 (modern) or the legacy one: reset,
   * ACKNOWLEDGE, DRIVER, features, FEATURES_OK (modern), then `queues` set up, DRIVER_OK.
   */
  initialize(queueSizes: readonly number[], options: InitializeOptions = {}): void {
    this.write(Register.Status, 0);
    this.write(Register.Status, VirtioStatus.Acknowledge);
    this.write(Register.Status, VirtioStatus.Acknowledge | VirtioStatus.Driver);
    const offered = this.offeredFeatures();
    const accepted = options.accept ? options.accept(offered) : offered;
    this.write(Register.DriverFeaturesSel, 0);
    this.write(Register.DriverFeatures, accepted.low);
    if (!options.lowHalfOnly) {
      this.write(Register.DriverFeaturesSel, 1);
      this.write(Register.DriverFeatures, accepted.high);
    }
    this.negotiated = options.lowHalfOnly ? new FeatureBits(accepted.low, 0) : accepted;
    let status = VirtioStatus.Acknowledge | VirtioStatus.Driver;
    if (this.version === 2) {
      status |= VirtioStatus.FeaturesOk;
      this.write(Register.Status, status);
      if (!(this.status & VirtioStatus.FeaturesOk)) throw new Error('device refused FEATURES_OK');
    }
    queueSizes.forEach((size, index) => this.setupQueue(index, size));
    if (!options.withoutDriverOk) this.write(Register.Status, status | VirtioStatus.DriverOk);
  }

  driverOk(): void {
    this.write(Register.Status, this.status | VirtioStatus.DriverOk);
  }

  /** Allocates and announces queue `index` of `size` entries (0: QueueNumMax). */
  setupQueue(index: number, size = 0): DriverQueue {
    this.write(Register.QueueSel, index);
    const max = this.read(Register.QueueNumMax);
    if (max === 0) throw new Error(`queue ${index} does not exist`);
    const entries = size || max;
    const eventIndex = this.negotiated.has(VirtioFeature.EventIndex);
    if (this.version === 1) {
      const pageSize = 4096;
      this.write(Register.GuestPageSize, pageSize);
      const availEnd = 16 * entries + 6 + 2 * entries;
      const usedOffset = Math.ceil(availEnd / pageSize) * pageSize;
      const total = usedOffset + Math.ceil((6 + 8 * entries) / pageSize) * pageSize;
      const base = this.allocator.allocate(total, pageSize);
      this.memory.fill(base, total, 0);
      this.write(Register.QueueNum, entries);
      this.write(Register.QueueAlign, pageSize);
      this.write(Register.QueuePfn, base / pageSize);
      const queue = new DriverQueue(this, index, entries, base, base + 16 * entries, base + usedOffset, eventIndex);
      this.queues.set(index, queue);
      return queue;
    }
    const desc = this.allocator.allocate(16 * entries, 16);
    const avail = this.allocator.allocate(6 + 2 * entries, 2);
    const used = this.allocator.allocate(6 + 8 * entries, 4);
    this.memory.fill(desc, 16 * entries, 0);
    this.memory.fill(avail, 6 + 2 * entries, 0);
    this.memory.fill(used, 6 + 8 * entries, 0);
    this.write(Register.QueueNum, entries);
    this.writeAddress(Register.QueueDescLow, desc);
    this.writeAddress(Register.QueueDriverLow, avail);
    this.writeAddress(Register.QueueDeviceLow, used);
    this.write(Register.QueueReady, 1);
    const queue = new DriverQueue(this, index, entries, desc, avail, used, eventIndex);
    this.queues.set(index, queue);
    return queue;
  }

  writeAddress(lowRegister: number, address: number): void {
    this.write(lowRegister, address >>> 0);
    this.write(lowRegister + 4, Math.floor(address / 0x1_0000_0000));
  }

  queue(index: number): DriverQueue {
    const queue = this.queues.get(index);
    if (!queue) throw new Error(`queue ${index} is not set up`);
    return queue;
  }

  /** Reads InterruptStatus and acknowledges what it says, as an interrupt handler does. */
  acknowledgeInterrupt(): number {
    const status = this.read(Register.InterruptStatus);
    if (status) this.write(Register.InterruptAck, status);
    return status;
  }

  /** Allocates `bytes` in guest RAM filled with `data` (or zeros). */
  place(data: Uint8Array | number): number {
    const length = typeof data === 'number' ? data : data.length;
    const address = this.allocator.allocate(Math.max(1, length), 8);
    if (typeof data === 'number') this.memory.fill(address, length, 0);
    else this.memory.write(address, data);
    return address;
  }
}

export class DriverQueue {
  private readonly free: number[] = [];
  private lastSeenUsed = 0;
  /** Buffers of each head, to read writable ones back. */
  private readonly chains = new Map<number, { descriptors: number[]; writable: { address: number; length: number }[] }>();

  constructor(
    readonly driver: MockVirtioDriver,
    readonly index: number,
    readonly size: number,
    readonly descriptorTable: number,
    readonly availRing: number,
    readonly usedRing: number,
    readonly eventIndex: boolean,
  ) {
    for (let i = size - 1; i >= 0; i--) this.free.push(i);
  }

  private get memory(): GuestMemory {
    return this.driver.memory;
  }

  get freeCount(): number {
    return this.free.length;
  }

  /** Writes descriptor `index` of the queue's table (or of a table at `table`). */
  writeDescriptor(index: number, address: number, length: number, flags: number, next: number, table = this.descriptorTable): void {
    const entry = table + 16 * index;
    this.memory.writeU64(entry, address);
    this.memory.writeU32(entry + 8, length);
    this.memory.writeU16(entry + 12, flags);
    this.memory.writeU16(entry + 14, next);
  }

  /**
   * Builds a chain from `buffers` (readable ones first, as drivers must), publishes it in the
   * avail ring and returns its head. With `indirect`, one descriptor points to a table.
   */
  add(buffers: readonly ChainBuffer[], options: { indirect?: boolean; publish?: boolean } = {}): number {
    const placed = buffers.map((buffer) =>
      'readable' in buffer
        ? { address: this.driver.place(buffer.readable), length: buffer.readable.length, flags: 0 }
        : { address: this.driver.place(buffer.writable), length: buffer.writable, flags: VirtqDescriptorFlag.Write });
    const writable = placed.filter((buffer) => buffer.flags & VirtqDescriptorFlag.Write).map(({ address, length }) => ({ address, length }));
    let head: number;
    let descriptors: number[];
    if (options.indirect) {
      const table = this.driver.allocator.allocate(16 * placed.length, 16);
      placed.forEach((buffer, i) => {
        const last = i === placed.length - 1;
        this.writeDescriptor(i, buffer.address, buffer.length, buffer.flags | (last ? 0 : VirtqDescriptorFlag.Next), last ? 0 : i + 1, table);
      });
      head = this.take();
      descriptors = [head];
      this.writeDescriptor(head, table, 16 * placed.length, VirtqDescriptorFlag.Indirect, 0);
    } else {
      descriptors = placed.map(() => this.take());
      placed.forEach((buffer, i) => {
        const last = i === placed.length - 1;
        this.writeDescriptor(descriptors[i], buffer.address, buffer.length, buffer.flags | (last ? 0 : VirtqDescriptorFlag.Next), last ? 0 : descriptors[i + 1]);
      });
      head = descriptors[0];
    }
    this.chains.set(head, { descriptors, writable });
    if (options.publish !== false) this.publish(head);
    return head;
  }

  private take(): number {
    const index = this.free.pop();
    if (index === undefined) throw new Error(`queue ${this.index} has no free descriptors`);
    return index;
  }

  /** Puts `head` in the next avail ring slot and advances avail.idx. */
  publish(head: number): void {
    const availIndex = this.memory.readU16(this.availRing + 2);
    this.memory.writeU16(this.availRing + 4 + 2 * (availIndex % this.size), head);
    this.memory.writeU16(this.availRing + 2, (availIndex + 1) & 0xffff);
  }

  /** Sets avail.idx directly (for broken-driver tests). */
  setAvailIndex(value: number): void {
    this.memory.writeU16(this.availRing + 2, value & 0xffff);
  }

  notify(): void {
    this.driver.write(0x050, this.index);
  }

  /** avail.flags bit 0: no interrupts please (without EVENT_IDX). */
  setNoInterrupt(suppress: boolean): void {
    this.memory.writeU16(this.availRing, suppress ? 1 : 0);
  }

  /** used_event (EVENT_IDX): interrupt when the used index passes this. */
  setUsedEvent(value: number): void {
    this.memory.writeU16(this.availRing + 4 + 2 * this.size, value & 0xffff);
  }

  /** avail_event (EVENT_IDX), written by the device. */
  availEvent(): number {
    return this.memory.readU16(this.usedRing + 4 + 8 * this.size);
  }

  usedIndex(): number {
    return this.memory.readU16(this.usedRing + 2);
  }

  usedFlags(): number {
    return this.memory.readU16(this.usedRing);
  }

  /** Used elements since the last call; their descriptors go back to the free list. */
  takeUsed(): UsedElement[] {
    const elements: UsedElement[] = [];
    const usedIndex = this.usedIndex();
    while (this.lastSeenUsed !== usedIndex) {
      const slot = this.lastSeenUsed % this.size;
      const element = this.usedRing + 4 + 8 * slot;
      const id = this.memory.readU32(element);
      const length = this.memory.readU32(element + 4);
      elements.push({ id, length });
      const chain = this.chains.get(id);
      if (chain) {
        this.free.push(...chain.descriptors);
        this.chains.delete(id);
      }
      this.lastSeenUsed = (this.lastSeenUsed + 1) & 0xffff;
    }
    return elements;
  }

  /** The concatenated device-writable buffers of the chain with head `head` (before takeUsed frees it). */
  writableBytes(head: number): Uint8Array {
    const chain = this.chains.get(head);
    if (!chain) throw new Error(`no chain with head ${head}`);
    const total = chain.writable.reduce((sum, buffer) => sum + buffer.length, 0);
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const buffer of chain.writable) {
      bytes.set(this.memory.read(buffer.address, buffer.length), offset);
      offset += buffer.length;
    }
    return bytes;
  }
}
