// openDiskImage: QEMU's -drive vocabulary (file, format, readonly, snapshot) turned into a
// BlockBackend — format probing, backing chains, locking, and the temporary overlay of
// snapshot=on.

import { openSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { BlockBackend, BridgeError, SECTOR_SIZE } from '../types';
import { ImageFile } from './image-file';
import { ImageLock, lockImage } from './lock';
import { formatName, probeFormat } from './probe';
import { Qcow2Image } from './qcow2';
import { buildQcow2Image, readQcow2Header } from './qcow2-format';
import { RawImage } from './raw';

export type DiskFormat = 'raw' | 'qcow2';

export interface DiskImageOptions {
  path: string;
  /** Probed from the first sector when absent (an image that looks like qcow2 is never used as raw). */
  format?: DiskFormat;
  readOnly?: boolean;
  /**
   * Copy-on-write over a read-only image: writes go to a temporary qcow2 overlay (an unlinked
   * file in the temporary directory) and vanish on close. Ignored with readOnly.
   */
  snapshot?: boolean;
}

/** Longest backing chain followed (a guard against absurd chains; loops are caught by identity). */
export const MAX_BACKING_DEPTH = 64;

/** Backing names QEMU would read as a protocol rather than a file. */
const PROTOCOL_NAME = /^(json|nbd|nbd\+[a-z]+|https?|ftps?|ssh|iscsi|rbd|gluster|nfs|null-co|null-aio|blkdebug|vvfat):/i;

export function openDiskImage(options: DiskImageOptions): BlockBackend {
  const { path } = options;
  if (typeof path !== 'string' || path === '') throw new BridgeError('disk image: no path given');
  if (options.format !== undefined && options.format !== 'raw' && options.format !== 'qcow2') {
    throw new BridgeError(`${path}: format '${String(options.format)}' is not supported (raw or qcow2)`);
  }
  const readOnly = options.readOnly ?? false;
  if (options.snapshot && !readOnly) {
    const base = openChainLink(path, options.format, true, [], 0);
    try {
      return createOverlay(base.backend, `${base.format} ${base.label}`);
    } catch (error) {
      base.backend.close();
      throw error;
    }
  }
  return openChainLink(path, options.format, readOnly, [], 0).backend;
}

interface Opened {
  backend: BlockBackend;
  format: DiskFormat;
  /** Short name for chain descriptions: "a.qcow2 → backing b.img". */
  label: string;
}

function openChainLink(path: string, format: DiskFormat | undefined, readOnly: boolean, chain: string[], depth: number): Opened {
  const file = ImageFile.open(path, readOnly);
  let lock: ImageLock | null = null;
  let backing: Opened | null = null;
  try {
    const identity = `${file.device}:${file.inode}`;
    if (chain.includes(identity)) throw new BridgeError(`${path}: the backing chain loops back to this file`);
    lock = lockImage(file, readOnly ? 'shared' : 'exclusive');
    const head = new Uint8Array(Math.min(SECTOR_SIZE, file.size));
    file.readAt(0, head);
    const probed = probeFormat(head);
    if (format === undefined && probed !== 'raw' && probed !== 'qcow2') {
      throw new BridgeError(`${path}: is a ${formatName(probed)} image, which is not supported; convert it with qemu-img convert -O qcow2 (or give format=raw to use its bytes as they are)`);
    }
    // Given format=qcow2, the header parser says what is wrong (size, magic, version).
    const chosen = format ?? probed;
    if (chosen === 'raw') {
      const raw = new RawImage(file, lock, { probed: format === undefined });
      return { backend: raw, format: 'raw', label: file.name };
    }
    const header = readQcow2Header(file);
    if (header.backingFile !== null) {
      if (depth + 1 > MAX_BACKING_DEPTH) throw new BridgeError(`${path}: the backing chain is deeper than ${MAX_BACKING_DEPTH} images`);
      backing = openBacking(file, header.backingFile, header.backingFormat, [...chain, identity], depth + 1);
    }
    const readOnlyNote = readOnly && depth === 0 ? ' (read-only)' : '';
    const description = `qcow2 ${file.name}${readOnlyNote}${backing ? ` → backing ${backing.label}` : ''}`;
    const image = new Qcow2Image({ file, header, lock, backing: backing?.backend ?? null, description });
    return { backend: image, format: 'qcow2', label: `${file.name}${backing ? ` → backing ${backing.label}` : ''}` };
  } catch (error) {
    backing?.backend.close();
    lock?.release();
    file.close();
    throw error;
  }
}

function openBacking(image: ImageFile, name: string, declaredFormat: string | null, chain: string[], depth: number): Opened {
  if (PROTOCOL_NAME.test(name)) throw new BridgeError(`${image.path}: its backing file '${name}' names a protocol, which is not supported (only plain files)`);
  const plain = name.startsWith('file:') ? name.slice(5) : name;
  // As QEMU does: a relative backing name is relative to the directory of the image naming it.
  const path = isAbsolute(plain) ? plain : join(dirname(image.path), plain);
  let format: DiskFormat | undefined;
  if (declaredFormat !== null) {
    if (declaredFormat !== 'raw' && declaredFormat !== 'qcow2') throw new BridgeError(`${image.path}: its backing file '${name}' has format '${declaredFormat}', which is not supported (raw or qcow2)`);
    format = declaredFormat;
  }
  try {
    return openChainLink(path, format, true, chain, depth);
  } catch (error) {
    if (!(error instanceof BridgeError)) throw error;
    const resolved = path === name ? '' : ` (${path})`;
    throw new BridgeError(`${image.path}: backing file '${name}'${resolved}: ${error.message.startsWith(`${path}: `) ? error.message.slice(path.length + 2) : error.message}`);
  }
}

/** snapshot=on: a private qcow2 image over the read-only base, unlinked as soon as it is open. */
function createOverlay(base: BlockBackend, label: string): BlockBackend {
  const path = join(tmpdir(), `ringside-snapshot-${process.pid}-${randomBytes(6).toString('hex')}.qcow2`);
  let fd: number;
  try {
    fd = openSync(path, 'wx+', 0o600);
  } catch (error) {
    throw new BridgeError(`snapshot overlay: cannot create ${path}: ${(error as Error).message}`);
  }
  let file: ImageFile | null = null;
  try {
    unlinkSync(path); // nothing to clean up later, even after SIGKILL
    const bytes = buildQcow2Image({ size: base.sectorCount * SECTOR_SIZE });
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, done);
    file = ImageFile.fromDescriptor(path, fd);
    const header = readQcow2Header(file);
    return new Qcow2Image({
      file,
      header,
      lock: null,
      backing: base,
      description: `${label} (snapshot=on: writes go to a temporary overlay, discarded on close)`,
      temporary: true,
    });
  } catch (error) {
    if (file) file.close();
    else closeSync(fd);
    throw error;
  }
}
