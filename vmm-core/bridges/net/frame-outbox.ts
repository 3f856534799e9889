// Frames on their way to the guest. They are delivered from the host event loop (a
// setImmediate after they were queued), never inside NetBackend.send(), so they enter the
// machine between execution slices. A frame the guest had no buffer for stays at the head of
// the queue and is offered again with a growing delay (1 ms to 64 ms): a guest that is briefly
// out of receive buffers loses nothing, a guest that never posts any (stopped, no driver)
// only fills the bounded queue.

import type { NetCounters } from './counters';

const FIRST_RETRY_MS = 1;
const LAST_RETRY_MS = 64;

export class FrameOutbox {
  private queue: Uint8Array[] = [];
  private head = 0;
  private receiver: ((frame: Uint8Array) => boolean) | null = null;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryDelay = FIRST_RETRY_MS;
  private closed = false;
  private delivering = false;
  private askedWhileDelivering = false;

  /**
   * @param beforeDelivery runs at the start of each delivery round (the NAT sends the TCP
   *   acknowledgments it collected while the guest's frames came in).
   */
  constructor(
    private readonly counters: NetCounters,
    private readonly limit: number,
    private readonly beforeDelivery: () => void = () => {},
  ) {}

  get length(): number {
    return this.queue.length - this.head;
  }

  setReceiver(receiver: ((frame: Uint8Array) => boolean) | null): void {
    this.receiver = receiver;
    if (receiver && this.length > 0) this.schedule();
  }

  push(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.length >= this.limit) {
      this.counters.drop('queue-full', 'to-guest-queue-full');
      return;
    }
    this.queue.push(frame);
    this.schedule();
  }

  /** Asks for a delivery round even if nothing is queued yet (pending acknowledgments). */
  schedule(): void {
    if (this.delivering) {
      this.askedWhileDelivering = true;
      return;
    }
    if (this.closed || this.immediate !== undefined || this.retryTimer !== undefined) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.deliver();
    });
  }

  private deliver(): void {
    if (this.closed) return;
    this.delivering = true;
    this.askedWhileDelivering = false;
    try {
      this.beforeDelivery();
      // What beforeDelivery queued goes out in this round.
      this.askedWhileDelivering = false;
      this.deliverQueued();
    } finally {
      this.delivering = false;
    }
    // The receiver may have sent frames back synchronously, which owe acknowledgments.
    if (this.askedWhileDelivering) this.schedule();
  }

  private deliverQueued(): void {
    const receiver = this.receiver;
    if (!receiver) {
      // No device attached: the link is down and frames go nowhere.
      for (let i = this.head; i < this.queue.length; i++) this.counters.drop('link-down', 'no-receiver');
      this.queue = [];
      this.head = 0;
      return;
    }
    while (this.head < this.queue.length) {
      const frame = this.queue[this.head];
      if (!receiver(frame)) {
        this.counters.drop('no-buffer', 'guest-no-rx-buffer');
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.deliver();
        }, this.retryDelay);
        this.retryDelay = Math.min(LAST_RETRY_MS, this.retryDelay * 2);
        this.compact();
        return;
      }
      this.queue[this.head++] = EMPTY;
      this.counters.toGuest(frame);
      if (this.closed) return;
    }
    this.retryDelay = FIRST_RETRY_MS;
    this.queue = [];
    this.head = 0;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  close(): void {
    this.closed = true;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.immediate = undefined;
    this.retryTimer = undefined;
    this.queue = [];
    this.head = 0;
    this.receiver = null;
  }
}

const EMPTY = new Uint8Array(0);
