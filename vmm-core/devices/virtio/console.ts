// virtio-console (device id 3, virtio 1.2 §5.3) with a single port (no MULTIPORT): receiveq 0
// carries host input to the guest, transmitq 1 guest output to the host. Linux binds it as
// hvc0. Host input waits in a bounded queue until the driver posts receive buffers (also across
// device resets, since drivers reset the device when they probe it).

import { VirtioDeviceId } from './constants';
import { FeatureBits } from './features';
import { putU16, putU32, restoreCounters, type JsonObject, type VirtioDevice, type VirtioDeviceContext } from './virtio-device';

export const VirtioConsoleFeature = {
  Size: 0,
  Multiport: 1,
  EmergencyWrite: 2,
} as const;

export const CONSOLE_RECEIVE_QUEUE = 0;
export const CONSOLE_TRANSMIT_QUEUE = 1;
export const CONSOLE_QUEUE_SIZE = 128;
/** Host input held for the guest; `receive` accepts no more than fits. */
export const CONSOLE_INPUT_LIMIT = 64 * 1024;
/** Guest output is handed to `output` in pieces of at most this size. */
const OUTPUT_CHUNK = 4096;
/** cols, rows, max_nr_ports, emerg_wr. */
const CONFIG_SIZE = 12;

export interface VirtioConsoleOptions {
  /** Bytes the guest wrote to the port. */
  output: (bytes: Uint8Array) => void;
  /** Offer VIRTIO_CONSOLE_F_SIZE with this terminal size. */
  size?: { columns: number; rows: number };
  /** Host input bytes held before `receive` refuses more. Default 64 KiB. */
  inputLimit?: number;
  queueSize?: number;
}

export type VirtioConsoleCounters = {
  bytesIn: number;
  bytesOut: number;
  /** Host bytes `receive` refused because the input queue was full. */
  inputRefused: number;
  /** The output callback threw (the bytes were lost). */
  outputErrors: number;
};

export class VirtioConsoleDevice implements VirtioDevice {
  readonly deviceId = VirtioDeviceId.Console;
  readonly typeName = 'virtio-console';
  readonly queueMaxSizes: readonly number[];
  readonly deviceFeatures: FeatureBits;
  readonly counters: VirtioConsoleCounters = { bytesIn: 0, bytesOut: 0, inputRefused: 0, outputErrors: 0 };

  private readonly output: (bytes: Uint8Array) => void;
  private readonly inputLimit: number;
  private readonly config = new Uint8Array(CONFIG_SIZE);
  /** Host input not yet delivered: chunks, the first one consumed from `inputOffset`. */
  private readonly input: Uint8Array[] = [];
  private inputOffset = 0;
  private inputCount = 0;
  private context: VirtioDeviceContext | null = null;
  private configChanged: () => void = () => {};

  constructor(options: VirtioConsoleOptions) {
    this.output = options.output;
    this.inputLimit = options.inputLimit ?? CONSOLE_INPUT_LIMIT;
    const queueSize = options.queueSize ?? CONSOLE_QUEUE_SIZE;
    this.queueMaxSizes = [queueSize, queueSize];
    this.deviceFeatures = options.size ? FeatureBits.of(VirtioConsoleFeature.Size) : FeatureBits.none;
    if (options.size) this.writeSize(options.size.columns, options.size.rows);
    putU32(this.config, 4, 1);
  }

  /** Host bytes waiting for receive buffers. */
  get pendingInput(): number {
    return this.inputCount;
  }

  /**
   * Host input (typed keys, a socket's bytes). Takes as many bytes as the input queue has room
   * for and returns that count; they reach the guest as soon as it has receive buffers.
   */
  receive(bytes: Uint8Array): number {
    const accepted = Math.max(0, Math.min(bytes.length, this.inputLimit - this.inputCount));
    this.counters.inputRefused += bytes.length - accepted;
    if (accepted > 0) {
      this.input.push(bytes.slice(0, accepted));
      this.inputCount += accepted;
    }
    const context = this.context;
    if (context) context.guard(() => this.deliverInput(context));
    return accepted;
  }

  /** A new terminal size (only meaningful with the SIZE feature): config change interrupt. */
  resize(columns: number, rows: number): void {
    if (!this.deviceFeatures.has(VirtioConsoleFeature.Size)) return;
    this.writeSize(columns, rows);
    this.configChanged();
  }

  private writeSize(columns: number, rows: number): void {
    putU16(this.config, 0, columns & 0xffff);
    putU16(this.config, 2, rows & 0xffff);
  }

  bindConfigChange(listener: () => void): void {
    this.configChanged = listener;
  }

  configSpace(): Uint8Array {
    return this.config;
  }

  writeConfig(): void {
    // emerg_wr needs EMERGENCY_WRITE, which is not offered; the rest is read-only.
  }

  activate(context: VirtioDeviceContext): void {
    this.context = context;
  }

  /** Host input stays queued across a reset: it belongs to the host side, and a driver resets the device as it probes. */
  reset(): void {
    this.context = null;
  }

  processQueue(queueIndex: number): void {
    const context = this.context;
    if (!context) return;
    if (queueIndex === CONSOLE_TRANSMIT_QUEUE) this.transmit(context);
    else if (queueIndex === CONSOLE_RECEIVE_QUEUE) this.deliverInput(context);
  }

  private transmit(context: VirtioDeviceContext): void {
    context.queue(CONSOLE_TRANSMIT_QUEUE).serveAvailable((chain) => {
      for (let offset = 0; offset < chain.readableLength; offset += OUTPUT_CHUNK) {
        const bytes = chain.readAll(context.memory, offset, OUTPUT_CHUNK);
        this.counters.bytesOut += bytes.length;
        try {
          this.output(bytes);
        } catch (error) {
          this.counters.outputErrors++;
          context.log(`virtio-console: output failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return 0;
    });
    context.notifyUsed(CONSOLE_TRANSMIT_QUEUE);
  }

  private deliverInput(context: VirtioDeviceContext): void {
    const queue = context.queue(CONSOLE_RECEIVE_QUEUE);
    if (!queue.ready) return;
    queue.serveAvailable((chain) => {
      const written = chain.write(context.memory, 0, this.takeInput(chain.writableLength));
      this.counters.bytesIn += written;
      return written;
    }, () => this.inputCount > 0);
    context.notifyUsed(CONSOLE_RECEIVE_QUEUE);
  }

  /** Removes up to `limit` bytes from the front of the input queue. */
  private takeInput(limit: number): Uint8Array {
    const bytes = new Uint8Array(Math.min(limit, this.inputCount));
    let filled = 0;
    while (filled < bytes.length) {
      const chunk = this.input[0];
      const count = Math.min(chunk.length - this.inputOffset, bytes.length - filled);
      bytes.set(chunk.subarray(this.inputOffset, this.inputOffset + count), filled);
      filled += count;
      this.inputOffset += count;
      if (this.inputOffset === chunk.length) {
        this.input.shift();
        this.inputOffset = 0;
      }
    }
    this.inputCount -= filled;
    return bytes;
  }

  saveState(): JsonObject {
    const pending = this.takeInputCopy();
    return {
      columns: this.config[0] | (this.config[1] << 8),
      rows: this.config[2] | (this.config[3] << 8),
      pendingInput: Buffer.from(pending).toString('base64'),
      counters: { ...this.counters },
    };
  }

  private takeInputCopy(): Uint8Array {
    const copy = new Uint8Array(this.inputCount);
    let filled = 0;
    this.input.forEach((chunk, index) => {
      const part = index === 0 ? chunk.subarray(this.inputOffset) : chunk;
      copy.set(part, filled);
      filled += part.length;
    });
    return copy;
  }

  restoreState(state: JsonObject): void {
    if (typeof state.columns === 'number' && typeof state.rows === 'number') this.writeSize(state.columns, state.rows);
    this.input.length = 0;
    this.inputOffset = 0;
    this.inputCount = 0;
    if (typeof state.pendingInput === 'string') {
      const bytes = new Uint8Array(Buffer.from(state.pendingInput, 'base64')).subarray(0, this.inputLimit);
      if (bytes.length > 0) {
        this.input.push(bytes);
        this.inputCount = bytes.length;
      }
    }
    restoreCounters(this.counters, state.counters);
  }
}
