// Loads a raw binary image (Linux `Image`, firmware `.bin`, initrd) into guest RAM.

import type { GuestRam } from '../memory/ram';
import { formatAddress, formatSize, type LoadResult } from './elf';

/**
 * Copies `bytes` to RAM at physical `address`; the entry point is the load address. Throws a
 * plain Error (with `what`, e.g. "initrd", in the message) when the image does not fit.
 */
export function loadRawIntoRam(bytes: Uint8Array, ram: GuestRam, address: number, what = 'image'): LoadResult {
  if (!Number.isSafeInteger(address) || !ram.contains(address, bytes.length)) {
    throw new Error(
      `${what} of ${formatSize(bytes.length)} at ${formatAddress(address)}..${formatAddress(address + bytes.length)} does not fit in ` +
        `${formatSize(ram.size)} of RAM at ${formatAddress(ram.base)}; use --mem`,
    );
  }
  ram.noteWriteAhead(address - ram.base, bytes.length);
  ram.bytes.set(bytes, address - ram.base);
  return { entry: address, lowestAddress: address, highestAddress: address + bytes.length };
}
