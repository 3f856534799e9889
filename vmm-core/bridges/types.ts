// The host side of the machine's I/O: the small interfaces devices call and the CLI, the
// debug adapter or tests supply. Devices never touch files, sockets or the host clock
// directly, so one device model runs in the CLI, a worker and tests, and replay can stand
// in for the host. Implementations live in disk/, net/ and console/.

/** A bridge refused or failed a request; the message names the image, socket or file. */
export class BridgeError extends Error {
  override name = 'BridgeError';
}

/** Sector size of every block backend (virtio-blk's unit). */
export const SECTOR_SIZE = 512;

/**
 * A disk as the virtio-blk device sees it. Requests are synchronous: a request completes
 * (or throws BridgeError) before the call returns, so a completion lands at a deterministic
 * instruction. A returned `flush()` means every completed write is on stable storage.
 */
export interface BlockBackend {
  /** What it is, for messages and the Devices view: "raw disk.img", "qcow2 a.qcow2 (backing b.img)". */
  readonly description: string;
  /** Capacity in 512-byte sectors. */
  readonly sectorCount: number;
  readonly readOnly: boolean;
  /** Discard (TRIM) and write-zeroes are meaningful (the device advertises them only then). */
  readonly supportsDiscard: boolean;
  readonly supportsWriteZeroes: boolean;
  /** Reads `target.length` bytes (a multiple of 512) from `sector`. */
  read(sector: number, target: Uint8Array): void;
  /** Writes `data.length` bytes (a multiple of 512) at `sector`; throws on a read-only backend. */
  write(sector: number, data: Uint8Array): void;
  flush(): void;
  /** The range's contents become unspecified (zeros here); space may be released. */
  discard(sector: number, count: number): void;
  /** The range reads as zeros afterwards; with `mayUnmap` the space may be released. */
  writeZeroes(sector: number, count: number, mayUnmap: boolean): void;
  /** Flushes and releases the image (locks, descriptors). Idempotent. */
  close(): void;
}

/** Why a frame went nowhere, for counters. */
export type FrameDropReason = 'malformed' | 'link-down' | 'queue-full' | 'no-buffer' | 'policy';

/**
 * An Ethernet segment as the virtio-net device sees it. Frames are plain Ethernet frames
 * (destination MAC first, no virtio-net header, no FCS).
 */
export interface NetBackend {
  readonly description: string;
  /** A frame from the guest. Never throws for a bad frame: it is counted and dropped. */
  send(frame: Uint8Array): void;
  /**
   * Where frames for the guest go. Called from the host's event loop, between execution
   * slices, never in the middle of an instruction. Returns false when the guest had no room
   * (the frame was dropped).
   */
  setReceiver(receiver: ((frame: Uint8Array) => boolean) | null): void;
  /** Releases sockets and timers. Idempotent. */
  close(): void;
}

/** A host byte stream for a guest console (UART, virtio-console). */
export interface ConsoleBackend {
  readonly description: string;
  /** Bytes the guest wrote. Bounded: output beyond the backend's buffer is dropped, never blocks the guest. */
  write(bytes: Uint8Array): void;
  /** Where typed or received bytes go; the receiver returns how many it accepted. */
  setReceiver(receiver: ((bytes: Uint8Array) => number) | null): void;
  /** True while input may still arrive (an open terminal, a listening socket). */
  readonly inputOpen: boolean;
  /** Called once when `inputOpen` becomes false (EOF on stdin), so a host waiting for input can stop. */
  setInputClosedListener(listener: (() => void) | null): void;
  close(): void;
}

/** Bytes for virtio-rng. The default source is a deterministic seeded stream. */
export interface EntropySource {
  readonly description: string;
  fill(target: Uint8Array): void;
}
