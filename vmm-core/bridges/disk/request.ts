// Checks every backend applies to a request before touching anything.

import { BridgeError, SECTOR_SIZE } from '../types';

/** Throws unless `byteLength` bytes from `sector` are whole sectors inside the disk. */
export function checkRequest(name: string, sectorCount: number, sector: number, byteLength: number, what: string): void {
  if (!Number.isSafeInteger(sector) || sector < 0) throw new BridgeError(`${name}: ${what} at sector ${sector}: not a sector number`);
  if (byteLength % SECTOR_SIZE !== 0) throw new BridgeError(`${name}: ${what} of ${byteLength} bytes: not a multiple of ${SECTOR_SIZE}`);
  const count = byteLength / SECTOR_SIZE;
  if (sector > sectorCount || count > sectorCount - sector) {
    throw new BridgeError(`${name}: ${what} of ${count} sectors at sector ${sector} goes past the end of the disk (${sectorCount} sectors)`);
  }
}

/** The same check for requests given as a sector count (discard, write-zeroes). */
export function checkSectorRange(name: string, sectorCount: number, sector: number, count: number, what: string): void {
  if (!Number.isSafeInteger(count) || count < 0) throw new BridgeError(`${name}: ${what}: ${count} is not a sector count`);
  checkRequest(name, sectorCount, sector, count * SECTOR_SIZE, what);
}

/** A zero-filled buffer shared by the backends, never written to. */
export const ZERO_CHUNK = new Uint8Array(1 << 20);

export function isAllZero(bytes: Uint8Array): boolean {
  // Compare four bytes at a time when aligned: write-zeroes over a large raw image reads a lot.
  if (bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
