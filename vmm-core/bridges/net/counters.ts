// Frame counters every network backend keeps, for the Devices view and tests: frames and
// bytes each way, and drops by reason, with a finer detail ("ipv4-bad-checksum") under each.

import type { FrameDropReason } from '../types';

export interface NetCountersSnapshot {
  framesFromGuest: number;
  bytesFromGuest: number;
  framesToGuest: number;
  bytesToGuest: number;
  drops: Record<FrameDropReason, number>;
  /** Drops by detail: "ipv4-bad-checksum", "tcp-truncated", "stream-bad-length", ... */
  dropDetails: Record<string, number>;
}

export class NetCounters {
  framesFromGuest = 0;
  bytesFromGuest = 0;
  framesToGuest = 0;
  bytesToGuest = 0;
  readonly drops: Record<FrameDropReason, number> = { malformed: 0, 'link-down': 0, 'queue-full': 0, 'no-buffer': 0, policy: 0 };
  private readonly details = new Map<string, number>();

  fromGuest(frame: Uint8Array): void {
    this.framesFromGuest++;
    this.bytesFromGuest += frame.length;
  }

  toGuest(frame: Uint8Array): void {
    this.framesToGuest++;
    this.bytesToGuest += frame.length;
  }

  drop(reason: FrameDropReason, detail: string): void {
    this.drops[reason]++;
    this.details.set(detail, (this.details.get(detail) ?? 0) + 1);
  }

  detail(name: string): number {
    return this.details.get(name) ?? 0;
  }

  totalDrops(): number {
    let total = 0;
    for (const count of Object.values(this.drops)) total += count;
    return total;
  }

  snapshot(): NetCountersSnapshot {
    return {
      framesFromGuest: this.framesFromGuest,
      bytesFromGuest: this.bytesFromGuest,
      framesToGuest: this.framesToGuest,
      bytesToGuest: this.bytesToGuest,
      drops: { ...this.drops },
      dropDetails: Object.fromEntries([...this.details].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    };
  }
}
