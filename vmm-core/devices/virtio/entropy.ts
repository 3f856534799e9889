// virtio-rng (device id 4, virtio 1.2 §5.4) over an EntropySource: one request queue; every
// device-writable buffer the driver posts is filled with bytes from the source. With the
// default seeded source the guest sees the same "random" bytes on every run.

import type { EntropySource } from '../../bridges/types';
import { VirtioDeviceId } from './constants';
import { FeatureBits } from './features';
import { restoreCounters, type JsonObject, type VirtioDevice, type VirtioDeviceContext } from './virtio-device';

export const ENTROPY_QUEUE_SIZE = 64;
/** At most this many bytes per request (Linux asks for 64 at a time); bounds work per chain. */
export const ENTROPY_MAX_REQUEST_BYTES = 64 * 1024;

export interface VirtioEntropyOptions {
  source: EntropySource;
  queueSize?: number;
}

export type VirtioEntropyCounters = {
  requests: number;
  bytes: number;
  /** The source threw; the request was answered with no bytes. */
  sourceErrors: number;
};

export class VirtioEntropyDevice implements VirtioDevice {
  readonly deviceId = VirtioDeviceId.Entropy;
  readonly typeName = 'virtio-rng';
  readonly queueMaxSizes: readonly number[];
  readonly deviceFeatures = FeatureBits.none;
  /** Replaced by a recording or a replay (the host source's bytes are input from outside). */
  source: EntropySource;
  readonly counters: VirtioEntropyCounters = { requests: 0, bytes: 0, sourceErrors: 0 };
  private context: VirtioDeviceContext | null = null;

  constructor(options: VirtioEntropyOptions) {
    this.source = options.source;
    this.queueMaxSizes = [options.queueSize ?? ENTROPY_QUEUE_SIZE];
  }

  configSpace(): Uint8Array {
    return EMPTY_CONFIG;
  }

  writeConfig(): void {
    // No config space.
  }

  activate(context: VirtioDeviceContext): void {
    this.context = context;
  }

  reset(): void {
    this.context = null;
  }

  processQueue(queueIndex: number): void {
    const context = this.context;
    if (!context || queueIndex !== 0) return;
    context.queue(0).serveAvailable((chain) => {
      this.counters.requests++;
      const bytes = new Uint8Array(Math.min(chain.writableLength, ENTROPY_MAX_REQUEST_BYTES));
      if (!this.fill(context, bytes)) return 0;
      const written = chain.write(context.memory, 0, bytes);
      this.counters.bytes += written;
      return written;
    });
    context.notifyUsed(0);
  }

  /** Asks the source for bytes; a failing source answers the request empty instead of breaking the device. */
  private fill(context: VirtioDeviceContext, target: Uint8Array): boolean {
    try {
      this.source.fill(target);
      return true;
    } catch (error) {
      this.counters.sourceErrors++;
      context.log(`virtio-rng: ${this.source.description}: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  }

  saveState(): JsonObject {
    return { counters: { ...this.counters } };
  }

  restoreState(state: JsonObject): void {
    restoreCounters(this.counters, state.counters);
  }
}

const EMPTY_CONFIG = new Uint8Array(0);
