// Host input waiting for a guest console that is full: bounded, retried until the guest has
// taken it, with the source paused meanwhile (back-pressure instead of unbounded buffering).

/** Input held back while the guest's receive queue is full; beyond this the source stays paused. */
export const CONSOLE_INPUT_LIMIT = 64 * 1024;
const RETRY_MS = 5;

export class ConsoleInputQueue {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private receiver: ((bytes: Uint8Array) => number) | null = null;
  private retryTimer: NodeJS.Timeout | undefined;

  /**
   * `pause`/`resume` stop and restart the source (a stream) while bytes wait; both are
   * optional for sources that cannot be paused.
   */
  constructor(private readonly pause: () => void = () => {}, private readonly resume: () => void = () => {}) {}

  setReceiver(receiver: ((bytes: Uint8Array) => number) | null): void {
    this.receiver = receiver;
    if (receiver !== null) this.drain();
  }

  get waitingBytes(): number {
    return this.pendingBytes;
  }

  /** Offers bytes to the guest; what it cannot take now waits (and pauses the source). */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    this.drain();
  }

  private drain(): void {
    while (this.pending.length > 0 && this.receiver !== null) {
      const head = this.pending[0];
      const accepted = Math.max(0, Math.min(head.length, this.receiver(head)));
      this.pendingBytes -= accepted;
      if (accepted === head.length) {
        this.pending.shift();
        continue;
      }
      this.pending[0] = head.subarray(accepted);
      break;
    }
    if (this.pendingBytes > 0) {
      if (this.pendingBytes >= CONSOLE_INPUT_LIMIT || this.receiver === null) this.pause();
      if (this.retryTimer === undefined && this.receiver !== null) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.drain();
        }, RETRY_MS);
      }
    } else {
      this.resume();
    }
  }

  close(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.pending = [];
    this.pendingBytes = 0;
    this.receiver = null;
  }
}
