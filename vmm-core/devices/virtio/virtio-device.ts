// What a virtio device model implements to plug into the MMIO transport, and what the transport
// gives it once the driver has set DRIVER_OK. The transport owns registers, status, feature
// negotiation, queues and interrupts; a device owns its feature bits, config space and requests.

import type { GuestMemory } from '../../memory/guest-memory';
import type { FeatureBits } from './features';
import type { VirtQueue } from './virtqueue';

/** A JSON value: what saveState returns, so a snapshot is `JSON.stringify`-able as it is. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** What an active device may use. Valid from `activate` until the next `reset`. */
export interface VirtioDeviceContext {
  readonly memory: GuestMemory;
  /** The features both sides agreed on (device-specific and ring bits). */
  readonly features: FeatureBits;
  /** The transport is the legacy (version 1) interface. */
  readonly legacy: boolean;
  queue(index: number): VirtQueue;
  /** After pushing used buffers on `queueIndex`: interrupts the driver if it asked to be. */
  notifyUsed(queueIndex: number): void;
  /** The device changed its config space: new ConfigGeneration and a config-change interrupt. */
  notifyConfigChange(): void;
  /**
   * Runs host-initiated work (a received frame, console input) under the transport's error
   * handling: a VirtioError or GuestMemoryError inside marks the device NEEDS_RESET instead of
   * escaping. Returns false when the device is broken (before, or because of, this work).
   */
  guard(work: () => void): boolean;
  log(message: string): void;
}

export interface VirtioDevice {
  /** Virtio device id (1 net, 2 block, 3 console, 4 entropy). */
  readonly deviceId: number;
  /** Short type name for messages and the Devices view: "virtio-blk". */
  readonly typeName: string;
  /** QueueNumMax of each virtqueue; the length is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Device-type feature bits offered; the transport adds the ring and version bits. */
  readonly deviceFeatures: FeatureBits;

  /** The current device configuration space (little-endian fields), read at any offset and size. */
  configSpace(): Uint8Array;
  /** A driver write into config space (most fields are read-only and ignore it). */
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void;
  /**
   * Called once by the transport with the function to call when the device changes its config
   * space on its own (link status, console size), active or not: it bumps ConfigGeneration and,
   * after DRIVER_OK, raises the config-change interrupt.
   */
  bindConfigChange?(listener: () => void): void;

  /** DRIVER_OK: features are final and the queues the driver set up are validated. */
  activate(context: VirtioDeviceContext): void;
  /** Device reset: forget the context and anything meant for the old driver instance (queued frames). */
  reset(): void;
  /** The driver notified `queueIndex` (only while active and not broken). */
  processQueue(queueIndex: number): void;

  /** Running totals for the Devices view. */
  readonly counters: Readonly<Record<string, number>>;
  /** Plain JSON-able state (pending input, link state, counters). */
  saveState(): JsonObject;
  /** Puts back what saveState returned; called after the transport restored its queues. */
  restoreState(state: JsonObject): void;
}

/** Reads a little-endian value of `size` bytes at `offset`; bytes beyond `bytes` read as 0. */
export function readLittleEndian(bytes: Uint8Array, offset: number, size: number): number {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) {
    const at = offset + i;
    value = value * 256 + (at >= 0 && at < bytes.length ? bytes[at] : 0);
  }
  return value;
}

/** Little-endian field writers for building config spaces and headers. */
export function putU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
}

export function putU32(bytes: Uint8Array, offset: number, value: number): void {
  putU16(bytes, offset, value & 0xffff);
  putU16(bytes, offset + 2, (value >>> 16) & 0xffff);
}

/** A non-negative integer below 2^53 as a little-endian 64-bit field. */
export function putU64(bytes: Uint8Array, offset: number, value: number): void {
  putU32(bytes, offset, value >>> 0);
  putU32(bytes, offset + 4, Math.floor(value / 0x1_0000_0000) >>> 0);
}

export function getU16(bytes: Uint8Array, offset: number): number {
  return bytes[offset] | (bytes[offset + 1] << 8);
}

export function getU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}

/** A little-endian 64-bit field as a double (exact below 2^53; larger values stay larger). */
export function getU64(bytes: Uint8Array, offset: number): number {
  return getU32(bytes, offset) + getU32(bytes, offset + 4) * 0x1_0000_0000;
}

/** Copies numeric counters from saved state into `target` (unknown or non-numeric fields are skipped). */
export function restoreCounters<T extends object>(target: T, saved: unknown): void {
  if (typeof saved !== 'object' || saved === null) return;
  const record = target as Record<string, number>;
  for (const [key, value] of Object.entries(saved)) {
    if (key in record && typeof value === 'number') record[key] = value;
  }
}
