// Test stand-ins for the host side of virtio devices: a file-free in-memory BlockBackend that
// records every request and flags any it should never have received, and a NetBackend that
// records sent frames and lets a test inject received ones.

import { BridgeError, SECTOR_SIZE, type BlockBackend, type NetBackend } from '../../vmm-core/bridges/types';

export interface BlockCall {
  operation: 'read' | 'write' | 'flush' | 'discard' | 'writeZeroes';
  sector: number;
  count: number;
  mayUnmap?: boolean;
}

export class MemoryBlockBackend implements BlockBackend {
  readonly description = 'in-memory test disk';
  readonly bytes: Uint8Array;
  readonly calls: BlockCall[] = [];
  /** Requests a correct device never sends: out of range, not whole sectors, writes while read-only. */
  readonly violations: string[] = [];
  /** Sectors whose access throws BridgeError (simulated media errors). */
  readonly failingSectors = new Set<number>();
  failFlush = false;
  flushes = 0;

  constructor(
    readonly sectorCount: number,
    readonly readOnly = false,
    readonly supportsDiscard = true,
    readonly supportsWriteZeroes = true,
  ) {
    this.bytes = new Uint8Array(sectorCount * SECTOR_SIZE);
  }

  private check(operation: string, sector: number, count: number, lengthBytes?: number): void {
    if (lengthBytes !== undefined && lengthBytes % SECTOR_SIZE !== 0) this.violations.push(`${operation}: ${lengthBytes} bytes is not whole sectors`);
    if (!Number.isSafeInteger(sector) || sector < 0 || !Number.isSafeInteger(count) || count < 0 || sector + count > this.sectorCount) {
      this.violations.push(`${operation}: sectors ${sector}+${count} outside 0..${this.sectorCount}`);
    }
    for (let s = sector; s < sector + count && s < this.sectorCount; s++) {
      if (this.failingSectors.has(s)) throw new BridgeError(`${this.description}: media error at sector ${s}`);
    }
  }

  read(sector: number, target: Uint8Array): void {
    const count = target.length / SECTOR_SIZE;
    this.calls.push({ operation: 'read', sector, count });
    this.check('read', sector, count, target.length);
    target.set(this.bytes.subarray(sector * SECTOR_SIZE, sector * SECTOR_SIZE + target.length));
  }

  write(sector: number, data: Uint8Array): void {
    const count = data.length / SECTOR_SIZE;
    this.calls.push({ operation: 'write', sector, count });
    if (this.readOnly) {
      this.violations.push('write on a read-only disk');
      throw new BridgeError(`${this.description} is read-only`);
    }
    this.check('write', sector, count, data.length);
    this.bytes.set(data, sector * SECTOR_SIZE);
  }

  flush(): void {
    this.calls.push({ operation: 'flush', sector: 0, count: 0 });
    this.flushes++;
    if (this.failFlush) throw new BridgeError(`${this.description}: flush failed`);
  }

  discard(sector: number, count: number): void {
    this.calls.push({ operation: 'discard', sector, count });
    if (this.readOnly || !this.supportsDiscard) this.violations.push('discard not supported');
    this.check('discard', sector, count);
    this.bytes.fill(0, sector * SECTOR_SIZE, (sector + count) * SECTOR_SIZE);
  }

  writeZeroes(sector: number, count: number, mayUnmap: boolean): void {
    this.calls.push({ operation: 'writeZeroes', sector, count, mayUnmap });
    if (this.readOnly || !this.supportsWriteZeroes) this.violations.push('write-zeroes not supported');
    this.check('writeZeroes', sector, count);
    this.bytes.fill(0, sector * SECTOR_SIZE, (sector + count) * SECTOR_SIZE);
  }

  close(): void {}
}

export class RecordingNetBackend implements NetBackend {
  readonly description = 'recording test network';
  readonly sent: Uint8Array[] = [];
  receiver: ((frame: Uint8Array) => boolean) | null = null;
  failSend = false;

  send(frame: Uint8Array): void {
    if (this.failSend) throw new Error('test network refused the frame');
    this.sent.push(Uint8Array.from(frame));
  }

  setReceiver(receiver: ((frame: Uint8Array) => boolean) | null): void {
    this.receiver = receiver;
  }

  /** Hands a frame to the device as the host network would; returns what the receiver said. */
  inject(frame: Uint8Array): boolean {
    if (!this.receiver) throw new Error('no receiver set');
    return this.receiver(frame);
  }

  close(): void {}
}

/** A deterministic frame of `length` bytes: broadcast destination, then a counting pattern. */
export function testFrame(length: number, seed = 0): Uint8Array {
  const frame = new Uint8Array(length);
  frame.fill(0xff, 0, 6);
  for (let i = 6; i < length; i++) frame[i] = (i * 7 + seed * 13) & 0xff;
  return frame;
}
