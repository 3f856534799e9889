// The split virtqueue (virtio 1.2 §2.7): descriptor table, avail ring and used ring in guest
// RAM, reached only through GuestMemory. Every index and address the driver supplies is checked
// before use; anything malformed raises VirtioError, which the transport turns into
// DEVICE_NEEDS_RESET. A chain is read and validated completely before a device touches any of
// its buffers, so a bad descriptor late in a chain cannot leave a request half done.

import { GuestMemory } from '../../memory/guest-memory';
import { DESCRIPTOR_SIZE, VIRTQ_AVAIL_F_NO_INTERRUPT, VirtqDescriptorFlag } from './constants';

/** The driver broke the virtio protocol; the device stops until it is reset. */
export class VirtioError extends Error {
  override name = 'VirtioError';
}

/** Indirect tables longer than this are refused (QEMU's VIRTQUEUE_MAX_SIZE): bounded work per chain. */
export const MAX_INDIRECT_DESCRIPTORS = 1024;
/** Largest total length of one chain: the used ring's 32-bit length field. */
const MAX_CHAIN_BYTES = 0xffff_ffff;

/** One guest buffer of a chain, inside RAM (checked). */
export interface BufferSegment {
  readonly address: number;
  readonly length: number;
}

/**
 * A validated descriptor chain: its device-readable buffers, then its device-writable ones
 * (the order the spec requires). `head` is what goes back in the used ring.
 */
export class DescriptorChain {
  readonly readable: BufferSegment[] = [];
  readonly writable: BufferSegment[] = [];
  readableLength = 0;
  writableLength = 0;

  constructor(readonly head: number) {}

  /** Copies the device-readable bytes from `offset` on into `target` (as many as fit). Returns the count. */
  read(memory: GuestMemory, offset: number, target: Uint8Array): number {
    return copySegments(this.readable, offset, target.length, (address, start, length) =>
      memory.readInto(address, target.subarray(start, start + length)));
  }

  /** All device-readable bytes from `offset` on, up to `limit`. */
  readAll(memory: GuestMemory, offset = 0, limit = this.readableLength): Uint8Array {
    const length = Math.max(0, Math.min(limit, this.readableLength - offset));
    const bytes = new Uint8Array(length);
    this.read(memory, offset, bytes);
    return bytes;
  }

  /** Copies `data` into the device-writable buffers at `offset` (as much as fits). Returns the count. */
  write(memory: GuestMemory, offset: number, data: Uint8Array): number {
    return copySegments(this.writable, offset, data.length, (address, start, length) =>
      memory.write(address, data.subarray(start, start + length)));
  }

  /** Fills `length` device-writable bytes at `offset` with `value`. */
  fill(memory: GuestMemory, offset: number, length: number, value: number): number {
    return copySegments(this.writable, offset, length, (address, _start, count) => memory.fill(address, count, value));
  }
}

/** Walks `segments` from byte `offset` for `length` bytes, calling `copy` once per piece. */
function copySegments(
  segments: readonly BufferSegment[],
  offset: number,
  length: number,
  copy: (address: number, start: number, length: number) => void,
): number {
  let skip = offset;
  let done = 0;
  for (const segment of segments) {
    if (done >= length) break;
    if (skip >= segment.length) {
      skip -= segment.length;
      continue;
    }
    const count = Math.min(segment.length - skip, length - done);
    if (count > 0) copy(segment.address + skip, done, count);
    done += count;
    skip = 0;
  }
  return done;
}

/** Plain, JSON-able queue state for snapshots. */
export interface VirtQueueState {
  size: number;
  ready: boolean;
  descriptorTable: number;
  availRing: number;
  usedRing: number;
  lastAvailIndex: number;
  usedIndex: number;
  signalledUsed: number;
  signalledUsedValid: boolean;
}

export interface VirtQueueFeatures {
  readonly eventIndex: boolean;
  readonly indirectDescriptors: boolean;
}

export class VirtQueue {
  /** QueueNum: the ring size the driver chose. */
  size: number;
  /** The driver enabled the queue (QueueReady, or a non-zero QueuePFN on legacy). */
  ready = false;
  /** Guest-physical addresses of the three parts. */
  descriptorTable = 0;
  availRing = 0;
  usedRing = 0;

  /** Next avail ring entry the device will take (free-running 16-bit). */
  lastAvailIndex = 0;
  /** The used index the device has published (free-running 16-bit). */
  usedIndex = 0;
  /** Used index at the last interrupt decision (event-idx suppression, as QEMU keeps it). */
  private signalledUsed = 0;
  private signalledUsedValid = false;
  /** Something was pushed to the used ring since the last interrupt decision. */
  private pushedSinceDecision = false;

  private eventIndex = false;
  private indirectDescriptors = false;

  constructor(
    readonly index: number,
    readonly maxSize: number,
    private readonly memory: GuestMemory,
    readonly name = `queue ${index}`,
  ) {
    this.size = maxSize;
  }

  /** Back to the reset state: disabled, size QueueNumMax, indices 0. */
  reset(): void {
    this.size = this.maxSize;
    this.ready = false;
    this.descriptorTable = 0;
    this.availRing = 0;
    this.usedRing = 0;
    this.lastAvailIndex = 0;
    this.usedIndex = 0;
    this.signalledUsed = 0;
    this.signalledUsedValid = false;
    this.pushedSinceDecision = false;
    this.eventIndex = false;
    this.indirectDescriptors = false;
  }

  /** Used buffers were pushed since the last interrupt decision. */
  get hasUnsignalledUsed(): boolean {
    return this.pushedSinceDecision;
  }

  /** Ring features negotiated for this device; set when the driver sets DRIVER_OK. */
  setFeatures(features: VirtQueueFeatures): void {
    this.eventIndex = features.eventIndex;
    this.indirectDescriptors = features.indirectDescriptors;
  }

  /** Bytes of each part for a ring of `size` entries (the event fields included). */
  static layoutSizes(size: number): { descriptorTable: number; availRing: number; usedRing: number } {
    return { descriptorTable: DESCRIPTOR_SIZE * size, availRing: 6 + 2 * size, usedRing: 6 + 8 * size };
  }

  /**
   * Checks the size and the three parts before the queue is used: a power-of-two size within
   * QueueNumMax, the alignments of §2.7, and every part inside RAM. Throws VirtioError.
   */
  validateLayout(): void {
    const size = this.size;
    if (!Number.isInteger(size) || size < 1 || size > this.maxSize || (size & (size - 1)) !== 0) {
      throw new VirtioError(`${this.name}: size ${size} is not a power of two in 1..${this.maxSize}`);
    }
    const sizes = VirtQueue.layoutSizes(size);
    const parts: [string, number, number, number][] = [
      ['descriptor table', this.descriptorTable, sizes.descriptorTable, 16],
      ['avail ring', this.availRing, sizes.availRing, 2],
      ['used ring', this.usedRing, sizes.usedRing, 4],
    ];
    for (const [what, address, length, alignment] of parts) {
      if (address % alignment !== 0) {
        throw new VirtioError(`${this.name}: ${what} at ${hex(address)} is not ${alignment}-byte aligned`);
      }
      if (!this.memory.contains(address, length)) {
        throw new VirtioError(`${this.name}: ${what} at ${hex(address)} (${length} bytes) is outside guest RAM`);
      }
    }
  }

  /** How many chains the driver has made available and the device has not taken. Throws on a corrupt index. */
  availableCount(): number {
    if (!this.ready) return 0;
    const availIndex = this.memory.readU16(this.availRing + 2);
    const count = (availIndex - this.lastAvailIndex) & 0xffff;
    if (count > this.size) {
      throw new VirtioError(
        `${this.name}: avail index ${availIndex} is ${count} ahead of the device's ${this.lastAvailIndex}, ` +
        `more than the queue size ${this.size}`);
    }
    return count;
  }

  /**
   * Takes the next available chain, or null when there is none. With EVENT_IDX, also asks the
   * driver (avail_event) to notify as soon as it adds the next one.
   */
  pop(): DescriptorChain | null {
    if (!this.ready) return null;
    const count = this.availableCount();
    if (count === 0) {
      this.publishAvailEvent();
      return null;
    }
    const slot = this.lastAvailIndex % this.size;
    const head = this.memory.readU16(this.availRing + 4 + 2 * slot);
    if (head >= this.size) {
      throw new VirtioError(`${this.name}: avail ring entry ${slot} names descriptor ${head}, beyond the queue size ${this.size}`);
    }
    const chain = this.walk(head);
    this.lastAvailIndex = (this.lastAvailIndex + 1) & 0xffff;
    this.publishAvailEvent();
    return chain;
  }

  /** Gives back the last `count` popped chains (not yet in the used ring) to be taken again later. */
  unpop(count: number): void {
    this.lastAvailIndex = (this.lastAvailIndex - count) & 0xffff;
    this.publishAvailEvent();
  }

  private publishAvailEvent(): void {
    if (this.eventIndex) this.memory.writeU16(this.usedRing + 4 + 8 * this.size, this.lastAvailIndex);
  }

  /** Reads and validates the chain starting at descriptor `head`. */
  private walk(head: number): DescriptorChain {
    const chain = new DescriptorChain(head);
    let table = this.descriptorTable;
    let tableSize = this.size;
    let index = head;
    let budget = this.size;
    let indirect = false;
    let total = 0;
    const where = () => (indirect ? `indirect descriptor ${index} (chain ${head})` : `descriptor ${index}`);
    for (;;) {
      if (budget-- === 0) {
        throw new VirtioError(`${this.name}: chain from descriptor ${head} is longer than ${indirect ? 'its indirect table' : `the queue size ${this.size}`} (a loop?)`);
      }
      const entry = table + DESCRIPTOR_SIZE * index;
      const address = this.memory.readU64(entry);
      const length = this.memory.readU32(entry + 8);
      const flags = this.memory.readU16(entry + 12);
      const next = this.memory.readU16(entry + 14);
      if (flags & VirtqDescriptorFlag.Indirect) {
        if (indirect) throw new VirtioError(`${this.name}: ${where()} points to another indirect table (nesting is not allowed)`);
        if (!this.indirectDescriptors) throw new VirtioError(`${this.name}: ${where()} is indirect but VIRTIO_F_INDIRECT_DESC was not negotiated`);
        if (flags & VirtqDescriptorFlag.Next) throw new VirtioError(`${this.name}: ${where()} is indirect and also has NEXT set`);
        if (length === 0 || length % DESCRIPTOR_SIZE !== 0) {
          throw new VirtioError(`${this.name}: ${where()}: indirect table length ${length} is not a non-zero multiple of ${DESCRIPTOR_SIZE}`);
        }
        if (length / DESCRIPTOR_SIZE > MAX_INDIRECT_DESCRIPTORS) {
          throw new VirtioError(`${this.name}: ${where()}: indirect table of ${length / DESCRIPTOR_SIZE} descriptors exceeds ${MAX_INDIRECT_DESCRIPTORS}`);
        }
        if (address % DESCRIPTOR_SIZE !== 0 || !this.memory.contains(address, length)) {
          throw new VirtioError(`${this.name}: ${where()}: indirect table at ${hex(address)} (${length} bytes) is misaligned or outside guest RAM`);
        }
        table = address;
        tableSize = length / DESCRIPTOR_SIZE;
        budget = tableSize;
        index = 0;
        indirect = true;
        continue;
      }
      if (!this.memory.contains(address, length)) {
        throw new VirtioError(`${this.name}: ${where()}: buffer at ${hex(address)} (${length} bytes) is outside guest RAM`);
      }
      total += length;
      if (total > MAX_CHAIN_BYTES) throw new VirtioError(`${this.name}: chain from descriptor ${head} is longer than 4 GiB in total`);
      if (flags & VirtqDescriptorFlag.Write) {
        chain.writable.push({ address, length });
        chain.writableLength += length;
      } else {
        if (chain.writable.length > 0) {
          throw new VirtioError(`${this.name}: ${where()} is device-readable but follows a device-writable descriptor`);
        }
        chain.readable.push({ address, length });
        chain.readableLength += length;
      }
      if (!(flags & VirtqDescriptorFlag.Next)) return chain;
      if (next >= tableSize) {
        throw new VirtioError(`${this.name}: ${where()} links to descriptor ${next}, beyond the ${indirect ? 'indirect table' : 'queue'} size ${tableSize}`);
      }
      index = next;
    }
  }

  /** Returns a chain to the driver: the used element first, then the used index. */
  /**
   * Serves the buffers the driver has made available: each chain goes to `serve`, which returns
   * how many bytes it wrote into the chain, and is then returned as used. Bounded to one pass
   * over the ring per call (a request whose data overwrites the avail ring cannot loop), and
   * stops early when `more` says there is nothing left to give (receive queues).
   */
  serveAvailable(serve: (chain: DescriptorChain) => number, more: () => boolean = () => true): void {
    for (let budget = this.size; budget > 0 && more(); budget--) {
      const chain = this.pop();
      if (!chain) break;
      this.pushUsed(chain.head, serve(chain));
    }
  }

  pushUsed(head: number, writtenLength: number): void {
    const slot = this.usedIndex % this.size;
    const element = this.usedRing + 4 + 8 * slot;
    this.memory.writeU32(element, head);
    this.memory.writeU32(element + 4, writtenLength >>> 0);
    this.usedIndex = (this.usedIndex + 1) & 0xffff;
    this.memory.writeU16(this.usedRing + 2, this.usedIndex);
    this.pushedSinceDecision = true;
  }

  /**
   * Whether the driver wants a used-buffer interrupt for what was pushed since the last
   * decision: with EVENT_IDX, when the used index passed used_event; otherwise unless the
   * driver set NO_INTERRUPT in the avail ring. False when nothing was pushed.
   */
  needsInterrupt(): boolean {
    if (!this.pushedSinceDecision) return false;
    this.pushedSinceDecision = false;
    if (!this.eventIndex) {
      return (this.memory.readU16(this.availRing) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    }
    const wasValid = this.signalledUsedValid;
    const old = this.signalledUsed;
    this.signalledUsedValid = true;
    this.signalledUsed = this.usedIndex;
    if (!wasValid) return true;
    const usedEvent = this.memory.readU16(this.availRing + 4 + 2 * this.size);
    // vring_need_event: the used index stepped over used_event since the last decision.
    return ((this.usedIndex - usedEvent - 1) & 0xffff) < ((this.usedIndex - old) & 0xffff);
  }

  saveState(): VirtQueueState {
    return {
      size: this.size,
      ready: this.ready,
      descriptorTable: this.descriptorTable,
      availRing: this.availRing,
      usedRing: this.usedRing,
      lastAvailIndex: this.lastAvailIndex,
      usedIndex: this.usedIndex,
      signalledUsed: this.signalledUsed,
      signalledUsedValid: this.signalledUsedValid,
    };
  }

  restoreState(state: VirtQueueState): void {
    this.size = state.size;
    this.ready = state.ready;
    this.descriptorTable = state.descriptorTable;
    this.availRing = state.availRing;
    this.usedRing = state.usedRing;
    this.lastAvailIndex = state.lastAvailIndex & 0xffff;
    this.usedIndex = state.usedIndex & 0xffff;
    this.signalledUsed = state.signalledUsed & 0xffff;
    this.signalledUsedValid = state.signalledUsedValid;
  }
}

export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}
