// virtio-net (device id 1, virtio 1.2 §5.1) over a NetBackend: one receive and one transmit
// queue, a MAC address and link status in config space, mergeable receive buffers. No checksum
// or segmentation offload, no control queue, no multiqueue: frames cross as plain Ethernet.
//
// TX: the header the driver prepends is skipped and the frame goes to backend.send. RX: frames
// the backend hands to the receiver go straight into receive buffers when the driver has
// posted some, otherwise into a bounded pending queue that is drained when the driver notifies
// the receive queue. While the link is down nothing moves in either direction.

import type { NetBackend } from '../../bridges/types';
import { VirtioDeviceId, VirtioFeature } from './constants';
import { FeatureBits } from './features';
import { putU16, restoreCounters, type JsonObject, type VirtioDevice, type VirtioDeviceContext } from './virtio-device';
import type { DescriptorChain, VirtQueue } from './virtqueue';

export const VirtioNetFeature = {
  Csum: 0,
  GuestCsum: 1,
  Mtu: 3,
  Mac: 5,
  MergeableRxBuffers: 15,
  Status: 16,
  ControlQueue: 17,
  MultiQueue: 22,
} as const;

export const VIRTIO_NET_S_LINK_UP = 1;

export const NET_RECEIVE_QUEUE = 0;
export const NET_TRANSMIT_QUEUE = 1;
export const NET_QUEUE_SIZE = 256;
/** Header without num_buffers: legacy drivers that did not negotiate MRG_RXBUF. */
export const NET_HEADER_SIZE_LEGACY = 10;
/** With num_buffers: VERSION_1 or MRG_RXBUF. */
export const NET_HEADER_SIZE = 12;
/** Destination, source, EtherType. */
export const ETHERNET_MIN_FRAME = 14;
/** 1500-byte payload, Ethernet header and one 802.1Q tag; no FCS. */
export const ETHERNET_MAX_FRAME = 1518;
/** Received frames held while the driver has no buffers; more are dropped and counted. */
export const NET_PENDING_LIMIT = 256;

const CONFIG_SIZE = 8;

export interface VirtioNetOptions {
  backend: NetBackend;
  /** Six bytes; a locally administered unicast address such as 52:54:00:12:34:56 is usual. */
  mac: Uint8Array;
  /** Initial link state. Default up. */
  linkUp?: boolean;
  /** QueueNumMax of both queues (power of two). Default 256. */
  queueSize?: number;
  /** Frames held for the driver before dropping. Default 256. */
  pendingLimit?: number;
}

export type VirtioNetCounters = {
  txFrames: number;
  txBytes: number;
  /** Transmit chains shorter than a header and an Ethernet header, or longer than a frame. */
  txDroppedMalformed: number;
  txDroppedLinkDown: number;
  /** backend.send threw. */
  txErrors: number;
  rxFrames: number;
  rxBytes: number;
  rxDroppedMalformed: number;
  rxDroppedLinkDown: number;
  /** Pending queue full. */
  rxDroppedQueueFull: number;
  /** The driver had not started the device (or it needs a reset). */
  rxDroppedInactive: number;
  /** A receive buffer too small for the frame (without MRG_RXBUF, or smaller than the header). */
  rxDroppedSmallBuffer: number;
  linkChanges: number;
};

export class VirtioNetDevice implements VirtioDevice {
  readonly deviceId = VirtioDeviceId.Network;
  readonly typeName = 'virtio-net';
  readonly queueMaxSizes: readonly number[];
  readonly deviceFeatures = FeatureBits.of(VirtioNetFeature.Mac, VirtioNetFeature.Status, VirtioNetFeature.MergeableRxBuffers);
  readonly backend: NetBackend;
  readonly mac: Uint8Array;
  readonly counters: VirtioNetCounters = freshCounters();

  private readonly pendingLimit: number;
  private readonly pending: Uint8Array[] = [];
  private readonly config = new Uint8Array(CONFIG_SIZE);
  private link: boolean;
  private context: VirtioDeviceContext | null = null;
  private configChanged: () => void = () => {};

  constructor(options: VirtioNetOptions) {
    if (options.mac.length !== 6) throw new RangeError(`virtio-net MAC address must be 6 bytes, got ${options.mac.length}`);
    this.backend = options.backend;
    this.mac = Uint8Array.from(options.mac);
    this.link = options.linkUp ?? true;
    const queueSize = options.queueSize ?? NET_QUEUE_SIZE;
    this.queueMaxSizes = [queueSize, queueSize];
    this.pendingLimit = options.pendingLimit ?? NET_PENDING_LIMIT;
    this.config.set(this.mac, 0);
    this.updateConfigStatus();
    this.backend.setReceiver((frame) => this.receive(frame));
  }

  get linkUp(): boolean {
    return this.link;
  }

  /** Frames waiting for receive buffers. */
  get pendingFrames(): number {
    return this.pending.length;
  }

  /** Plugs or unplugs the cable: config status changes and the driver gets a config interrupt. */
  setLinkUp(up: boolean): void {
    if (up === this.link) return;
    this.link = up;
    this.counters.linkChanges++;
    if (!up) {
      this.counters.rxDroppedLinkDown += this.pending.length;
      this.pending.length = 0;
    }
    this.updateConfigStatus();
    this.configChanged();
  }

  private updateConfigStatus(): void {
    putU16(this.config, 6, this.link ? VIRTIO_NET_S_LINK_UP : 0);
  }

  bindConfigChange(listener: () => void): void {
    this.configChanged = listener;
  }

  configSpace(): Uint8Array {
    return this.config;
  }

  writeConfig(): void {
    // MAC and status are read-only (MAC is offered, so legacy drivers do not write it).
  }

  activate(context: VirtioDeviceContext): void {
    this.context = context;
  }

  reset(): void {
    this.context = null;
    this.pending.length = 0;
  }

  /** Header length for the negotiated features: 12 with VERSION_1 or MRG_RXBUF, else 10. */
  private headerSize(context: VirtioDeviceContext): number {
    return context.features.has(VirtioFeature.Version1) || context.features.has(VirtioNetFeature.MergeableRxBuffers)
      ? NET_HEADER_SIZE
      : NET_HEADER_SIZE_LEGACY;
  }

  processQueue(queueIndex: number): void {
    const context = this.context;
    if (!context) return;
    if (queueIndex === NET_TRANSMIT_QUEUE) this.transmit(context);
    else if (queueIndex === NET_RECEIVE_QUEUE) this.deliverPending(context);
  }

  private transmit(context: VirtioDeviceContext): void {
    const headerSize = this.headerSize(context);
    context.queue(NET_TRANSMIT_QUEUE).serveAvailable((chain) => {
      this.transmitChain(context, chain, headerSize);
      return 0;
    });
    context.notifyUsed(NET_TRANSMIT_QUEUE);
  }

  private transmitChain(context: VirtioDeviceContext, chain: DescriptorChain, headerSize: number): void {
    const frameLength = chain.readableLength - headerSize;
    if (frameLength < ETHERNET_MIN_FRAME || frameLength > ETHERNET_MAX_FRAME) {
      this.counters.txDroppedMalformed++;
      return;
    }
    if (!this.link) {
      this.counters.txDroppedLinkDown++;
      return;
    }
    const frame = chain.readAll(context.memory, headerSize, frameLength);
    try {
      this.backend.send(frame);
      this.counters.txFrames++;
      this.counters.txBytes += frameLength;
    } catch (error) {
      this.counters.txErrors++;
      context.log(`virtio-net: ${this.backend.description}: send failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * The backend's receiver: true when the device took the frame (delivered, or queued until the
   * driver posts buffers); false when it was dropped (not started, link down, malformed, queue
   * full). A frame taken but then found too big for a non-mergeable buffer is counted in
   * rxDroppedSmallBuffer.
   */
  receive(frame: Uint8Array): boolean {
    const context = this.context;
    if (!context) {
      this.counters.rxDroppedInactive++;
      return false;
    }
    if (!this.link) {
      this.counters.rxDroppedLinkDown++;
      return false;
    }
    if (frame.length < ETHERNET_MIN_FRAME || frame.length > ETHERNET_MAX_FRAME) {
      this.counters.rxDroppedMalformed++;
      return false;
    }
    if (this.pending.length >= this.pendingLimit) {
      this.counters.rxDroppedQueueFull++;
      return false;
    }
    this.pending.push(Uint8Array.from(frame));
    if (!context.guard(() => this.deliverPending(context))) {
      this.counters.rxDroppedInactive += this.pending.length;
      this.pending.length = 0;
      return false;
    }
    return true;
  }

  private deliverPending(context: VirtioDeviceContext): void {
    const queue = context.queue(NET_RECEIVE_QUEUE);
    if (!queue.ready || this.pending.length === 0) return;
    const headerSize = this.headerSize(context);
    const mergeable = context.features.has(VirtioNetFeature.MergeableRxBuffers);
    while (this.pending.length > 0) {
      const frame = this.pending[0];
      const placed = mergeable
        ? this.placeMergeable(context, queue, frame, headerSize)
        : this.placeSingle(context, queue, frame, headerSize);
      if (placed === 'no-buffers') break;
      this.pending.shift();
    }
    context.notifyUsed(NET_RECEIVE_QUEUE);
  }

  /** The frame and its header, num_buffers set to `buffers` when the header has the field. */
  private packet(frame: Uint8Array, headerSize: number, buffers: number): Uint8Array {
    const packet = new Uint8Array(headerSize + frame.length);
    // flags 0, gso_type NONE: no offloads were negotiated.
    if (headerSize === NET_HEADER_SIZE) putU16(packet, 10, buffers);
    packet.set(frame, headerSize);
    return packet;
  }

  /** Without MRG_RXBUF: the whole packet goes in one chain. */
  private placeSingle(context: VirtioDeviceContext, queue: VirtQueue, frame: Uint8Array, headerSize: number): 'placed' | 'dropped' | 'no-buffers' {
    const chain = queue.pop();
    if (!chain) return 'no-buffers';
    const length = headerSize + frame.length;
    if (chain.writableLength < length) {
      this.counters.rxDroppedSmallBuffer++;
      queue.pushUsed(chain.head, 0);
      return 'dropped';
    }
    chain.write(context.memory, 0, this.packet(frame, headerSize, 1));
    queue.pushUsed(chain.head, length);
    this.counters.rxFrames++;
    this.counters.rxBytes += frame.length;
    return 'placed';
  }

  /** With MRG_RXBUF: as many chains as the packet needs, all but the last filled completely. */
  private placeMergeable(context: VirtioDeviceContext, queue: VirtQueue, frame: Uint8Array, headerSize: number): 'placed' | 'dropped' | 'no-buffers' {
    const length = headerSize + frame.length;
    const chains: DescriptorChain[] = [];
    let room = 0;
    while (room < length) {
      const chain = queue.pop();
      if (!chain) {
        // Not enough buffers yet: give them back and wait for the driver to post more.
        queue.unpop(chains.length);
        return 'no-buffers';
      }
      chains.push(chain);
      room += chain.writableLength;
    }
    if (chains[0].writableLength < headerSize) {
      this.counters.rxDroppedSmallBuffer++;
      queue.unpop(chains.length - 1);
      queue.pushUsed(chains[0].head, 0);
      return 'dropped';
    }
    const packet = this.packet(frame, headerSize, chains.length);
    let offset = 0;
    for (const chain of chains) {
      const count = Math.min(chain.writableLength, length - offset);
      chain.write(context.memory, 0, packet.subarray(offset, offset + count));
      queue.pushUsed(chain.head, count);
      offset += count;
    }
    this.counters.rxFrames++;
    this.counters.rxBytes += frame.length;
    return 'placed';
  }

  saveState(): JsonObject {
    return {
      linkUp: this.link,
      pending: this.pending.map((frame) => Buffer.from(frame).toString('base64')),
      counters: { ...this.counters },
    };
  }

  restoreState(state: JsonObject): void {
    if (typeof state.linkUp === 'boolean') {
      this.link = state.linkUp;
      this.updateConfigStatus();
    }
    this.pending.length = 0;
    if (Array.isArray(state.pending)) {
      for (const frame of state.pending) {
        if (typeof frame === 'string' && this.pending.length < this.pendingLimit) {
          this.pending.push(new Uint8Array(Buffer.from(frame, 'base64')));
        }
      }
    }
    restoreCounters(this.counters, state.counters);
  }
}

function freshCounters(): VirtioNetCounters {
  return {
    txFrames: 0, txBytes: 0, txDroppedMalformed: 0, txDroppedLinkDown: 0, txErrors: 0,
    rxFrames: 0, rxBytes: 0, rxDroppedMalformed: 0, rxDroppedLinkDown: 0, rxDroppedQueueFull: 0,
    rxDroppedInactive: 0, rxDroppedSmallBuffer: 0, linkChanges: 0,
  };
}
