// A tap on a network backend that writes every frame, both directions, to a classic libpcap
// file (LINKTYPE_ETHERNET, microsecond timestamps) that tcpdump, tshark and Wireshark read.
// Timestamps come from an injected clock so a deterministic run can produce the same file;
// the default is the wall clock. Records are buffered and written in blocks, and on close().

import { closeSync, openSync, writeSync } from 'node:fs';
import { BridgeError, type NetBackend } from '../types';

const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;
const GLOBAL_HEADER_LENGTH = 24;
const RECORD_HEADER_LENGTH = 16;
const FLUSH_BYTES = 64 * 1024;
const FLUSH_INTERVAL_MS = 250;

export interface PcapCaptureOptions {
  /** Microseconds since the Unix epoch for each record; default the wall clock. */
  clock?: () => number;
  /** Bytes kept of each frame (the rest is counted in the record's original length). */
  snapLength?: number;
}

/** The wall clock in microseconds since the epoch. */
export function wallClockMicroseconds(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export class PcapCapture implements NetBackend {
  readonly description: string;
  private descriptor: number | undefined;
  private readonly clock: () => number;
  private readonly snapLength: number;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Set while the guest handles a frame: its record may still be taken back. */
  private holdFlush = false;
  /** Frames written, both directions. */
  framesCaptured = 0;

  constructor(private readonly inner: NetBackend, readonly path: string, options: PcapCaptureOptions = {}) {
    this.clock = options.clock ?? wallClockMicroseconds;
    this.snapLength = options.snapLength ?? 65535;
    this.description = `${inner.description}, captured to ${path}`;
    try {
      this.descriptor = openSync(path, 'w');
    } catch (error) {
      throw new BridgeError(`pcap ${path}: cannot create: ${(error as Error).message}`);
    }
    const header = Buffer.alloc(GLOBAL_HEADER_LENGTH);
    header.writeUInt32LE(PCAP_MAGIC_MICROSECONDS, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeInt32LE(0, 8); // thiszone: timestamps are UTC
    header.writeUInt32LE(0, 12); // sigfigs
    header.writeUInt32LE(this.snapLength, 16);
    header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    this.write(header);
  }

  send(frame: Uint8Array): void {
    this.record(frame);
    this.inner.send(frame);
  }

  setReceiver(receiver: ((frame: Uint8Array) => boolean) | null): void {
    if (!receiver) {
      this.inner.setReceiver(null);
      return;
    }
    // Recorded before the guest sees it (anything it sends in answer comes after), and taken
    // back if the guest had no room, so a frame offered twice appears once.
    this.inner.setReceiver((frame) => {
      const position = this.buffered.length;
      this.record(frame);
      this.holdFlush = true;
      let accepted = false;
      try {
        accepted = receiver(frame);
      } finally {
        this.holdFlush = false;
        if (!accepted && this.buffered.length > position && this.buffered[position].length === RECORD_HEADER_LENGTH + Math.min(frame.length, this.snapLength)) {
          this.bufferedBytes -= this.buffered[position].length;
          this.buffered.splice(position, 1);
          this.framesCaptured--;
        }
      }
      return accepted;
    });
  }

  /** Writes buffered records to the file. */
  flush(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.descriptor === undefined || this.buffered.length === 0) return;
    const block = Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [];
    this.bufferedBytes = 0;
    this.write(block);
  }

  /** Ends the capture (the file is complete) but keeps the backend running. */
  stop(): void {
    if (this.descriptor === undefined) return;
    this.flush();
    closeSync(this.descriptor);
    this.descriptor = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    this.inner.close();
  }

  private record(frame: Uint8Array): void {
    if (this.descriptor === undefined) return;
    const time = this.clock();
    const seconds = Math.floor(time / 1_000_000);
    const kept = Math.min(frame.length, this.snapLength);
    const record = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + kept);
    record.writeUInt32LE(seconds >>> 0, 0);
    record.writeUInt32LE(Math.floor(time - seconds * 1_000_000), 4);
    record.writeUInt32LE(kept, 8);
    record.writeUInt32LE(frame.length, 12);
    record.set(frame.subarray(0, kept), RECORD_HEADER_LENGTH);
    this.buffered.push(record);
    this.bufferedBytes += record.length;
    this.framesCaptured++;
    if (this.bufferedBytes >= FLUSH_BYTES && !this.holdFlush) this.flush();
    else if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), FLUSH_INTERVAL_MS);
      this.flushTimer.unref();
    }
  }

  private write(bytes: Buffer): void {
    if (this.descriptor === undefined) return;
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(this.descriptor, bytes, written, bytes.length - written);
    } catch (error) {
      // A full disk ends the capture, never the machine.
      try {
        closeSync(this.descriptor);
      } catch {
        // already unusable
      }
      this.descriptor = undefined;
      this.captureError = new BridgeError(`pcap ${this.path}: write failed, capture stopped: ${(error as Error).message}`);
    }
  }

  /** Set when writing failed and the capture stopped. */
  captureError: BridgeError | undefined;
}
