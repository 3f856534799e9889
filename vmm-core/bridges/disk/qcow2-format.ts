// The qcow2 header (versions 2 and 3, as QEMU's docs/interop/qcow2.txt describes it): parsing
// with validation of everything the header says, and building a fresh, empty image.

import { closeSync, openSync, writeSync } from 'node:fs';
import { BridgeError, SECTOR_SIZE } from '../types';
import type { ImageFile } from './image-file';
import { QCOW_MAGIC } from './probe';

export const QCOW2_V2_HEADER_LENGTH = 72;
export const QCOW2_V3_HEADER_LENGTH = 104;
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
/** QEMU's limits (block/qcow2.h): larger tables are refused rather than allocated. */
export const MAX_L1_BYTES = 32 * 1024 * 1024;
export const MAX_REFCOUNT_TABLE_BYTES = 8 * 1024 * 1024;
export const MAX_SNAPSHOTS = 65536;
export const MAX_BACKING_NAME = 1023;

export const INCOMPATIBLE_DIRTY = 1n << 0n;
export const INCOMPATIBLE_CORRUPT = 1n << 1n;
export const INCOMPATIBLE_EXTERNAL_DATA = 1n << 2n;
export const INCOMPATIBLE_COMPRESSION_TYPE = 1n << 3n;
export const INCOMPATIBLE_EXTENDED_L2 = 1n << 4n;

export const EXTENSION_END = 0x00000000;
export const EXTENSION_BACKING_FORMAT = 0xe2792aca;
export const EXTENSION_FEATURE_NAMES = 0x6803f857;

/** Header field offsets that Ringside rewrites. */
export const HEADER_REFCOUNT_TABLE_OFFSET = 48; // u64 offset, then u32 clusters at 56
export const HEADER_AUTOCLEAR_FEATURES = 88;

export interface Qcow2Header {
  version: 2 | 3;
  clusterBits: number;
  /** Virtual disk size in bytes. */
  size: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  snapshotCount: number;
  snapshotsOffset: number;
  incompatibleFeatures: bigint;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  refcountOrder: number;
  headerLength: number;
  backingFile: string | null;
  backingFormat: string | null;
  /** Feature name table: "type:bit" (type 0 incompatible, 1 compatible, 2 autoclear) → name. */
  featureNames: Map<string, string>;
}

const hex = (value: number | bigint): string => `0x${value.toString(16)}`;

function safeNumber(value: bigint, what: string, fail: (message: string) => never): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${hex(value)} is beyond 2^53`);
  return Number(value);
}

/** Reads and checks the header and its extensions; every problem is one BridgeError naming the file. */
export function readQcow2Header(file: ImageFile): Qcow2Header {
  const fail = (message: string): never => {
    throw new BridgeError(`${file.path}: ${message}`);
  };
  if (file.size < QCOW2_V2_HEADER_LENGTH) fail(`is ${file.size} bytes, too small to be a qcow2 image (the header alone is ${QCOW2_V2_HEADER_LENGTH})`);
  const fixed = new Uint8Array(Math.min(file.size, QCOW2_V3_HEADER_LENGTH));
  file.readAt(0, fixed);
  let view = new DataView(fixed.buffer);
  if (view.getUint32(0) !== QCOW_MAGIC) fail('is not a qcow2 image (bad magic)');
  const version = view.getUint32(4);
  if (version === 1) fail('is a qcow (version 1) image, which is not supported; convert it with qemu-img convert -O qcow2');
  if (version !== 2 && version !== 3) fail(`has qcow2 version ${version}; only versions 2 and 3 are supported`);
  const clusterBits = view.getUint32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    fail(`has cluster_bits ${clusterBits}; the cluster size must be 512 B to 2 MiB (cluster_bits ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS})`);
  }
  const clusterSize = 2 ** clusterBits;

  let headerLength = QCOW2_V2_HEADER_LENGTH;
  if (version === 3) {
    if (file.size < QCOW2_V3_HEADER_LENGTH) fail(`is ${file.size} bytes, too small for a version 3 qcow2 header`);
    headerLength = view.getUint32(100);
    if (headerLength < QCOW2_V3_HEADER_LENGTH || headerLength % 8 !== 0 || headerLength > clusterSize) {
      fail(`has header_length ${headerLength}; it must be at least ${QCOW2_V3_HEADER_LENGTH}, a multiple of 8 and within the first cluster`);
    }
  }
  // The header cluster: extensions and the backing file name live here.
  const first = new Uint8Array(Math.min(clusterSize, file.size));
  file.readAt(0, first);
  view = new DataView(first.buffer);
  if (first.length < headerLength) fail(`is truncated: the header is ${headerLength} bytes but the file has ${first.length}`);

  const backingFileOffset = safeNumber(view.getBigUint64(8), 'backing_file_offset', fail);
  const backingFileSize = view.getUint32(16);
  const size = safeNumber(view.getBigUint64(24), 'virtual size', fail);
  const cryptMethod = view.getUint32(32);
  const l1Size = view.getUint32(36);
  const l1TableOffset = safeNumber(view.getBigUint64(40), 'L1 table offset', fail);
  const refcountTableOffset = safeNumber(view.getBigUint64(48), 'refcount table offset', fail);
  const refcountTableClusters = view.getUint32(56);
  const snapshotCount = view.getUint32(60);
  const snapshotsOffset = safeNumber(view.getBigUint64(64), 'snapshot table offset', fail);
  let incompatibleFeatures = 0n;
  let compatibleFeatures = 0n;
  let autoclearFeatures = 0n;
  let refcountOrder = 4;
  let compressionType = 0;
  if (version === 3) {
    incompatibleFeatures = view.getBigUint64(72);
    compatibleFeatures = view.getBigUint64(80);
    autoclearFeatures = view.getBigUint64(88);
    refcountOrder = view.getUint32(96);
    if (headerLength > 104) compressionType = first[104];
  }

  // Header extensions: from the end of the header to the backing file name or the cluster's end.
  const featureNames = new Map<string, string>();
  let backingFormat: string | null = null;
  const extensionsEnd = backingFileOffset > 0 && backingFileOffset < first.length ? backingFileOffset : first.length;
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const seen = new Set<number>();
  for (let offset = headerLength; offset + 8 <= extensionsEnd;) {
    const type = view.getUint32(offset);
    const length = view.getUint32(offset + 4);
    if (type === EXTENSION_END) break;
    if (length > extensionsEnd - offset - 8) fail(`header extension ${hex(type)} at offset ${offset} claims ${length} bytes, past the end of the header area`);
    const data = first.subarray(offset + 8, offset + 8 + length);
    if (seen.has(type) && (type === EXTENSION_BACKING_FORMAT || type === EXTENSION_FEATURE_NAMES)) fail(`header extension ${hex(type)} appears twice`);
    seen.add(type);
    if (type === EXTENSION_BACKING_FORMAT) {
      backingFormat = decoder.decode(data);
    } else if (type === EXTENSION_FEATURE_NAMES) {
      for (let entry = 0; entry + 48 <= data.length; entry += 48) {
        const nameBytes = data.subarray(entry + 2, entry + 48);
        const end = nameBytes.indexOf(0);
        featureNames.set(`${data[entry]}:${data[entry + 1]}`, decoder.decode(end < 0 ? nameBytes : nameBytes.subarray(0, end)));
      }
    }
    offset += 8 + Math.ceil(length / 8) * 8;
  }

  const featureList = (type: number, bits: bigint): string => {
    const names: string[] = [];
    for (let bit = 0; bit < 64; bit++) {
      if (bits & (1n << BigInt(bit))) {
        const name = featureNames.get(`${type}:${bit}`);
        names.push(name ? `bit ${bit} (${name})` : `bit ${bit}`);
      }
    }
    return names.join(', ');
  };

  if (cryptMethod !== 0) fail(`is encrypted (crypt_method ${cryptMethod}), which is not supported`);
  if (incompatibleFeatures & INCOMPATIBLE_EXTERNAL_DATA) fail('stores its data in an external data file, which is not supported');
  if (incompatibleFeatures & INCOMPATIBLE_EXTENDED_L2) fail('uses extended L2 entries (subclusters), which are not supported; convert it with qemu-img convert -O qcow2');
  if (incompatibleFeatures & INCOMPATIBLE_COMPRESSION_TYPE) {
    fail(`uses compression type ${compressionType}${compressionType === 1 ? ' (zstd)' : ''}; only zlib is supported`);
  }
  const unknown = incompatibleFeatures & ~(INCOMPATIBLE_DIRTY | INCOMPATIBLE_CORRUPT | INCOMPATIBLE_EXTERNAL_DATA | INCOMPATIBLE_COMPRESSION_TYPE | INCOMPATIBLE_EXTENDED_L2);
  if (unknown) fail(`uses incompatible features Ringside does not know: ${featureList(0, unknown)}`);
  if (refcountOrder > 6) fail(`has refcount_order ${refcountOrder}; at most 6 (64-bit refcounts) is valid`);
  if (size % SECTOR_SIZE !== 0) fail(`has a virtual size of ${size} bytes, not a multiple of ${SECTOR_SIZE}`);

  const within = (offset: number, length: number) => offset + length <= file.size;
  // L1 table.
  if (l1Size * 8 > MAX_L1_BYTES) fail(`has an L1 table of ${l1Size} entries, more than QEMU's limit of ${MAX_L1_BYTES / 8}`);
  const l2Entries = clusterSize / 8;
  const neededL1 = Math.ceil(size / (clusterSize * l2Entries));
  if (l1Size < neededL1) fail(`has an L1 table of ${l1Size} entries, too few for the virtual size of ${size} bytes (${neededL1} needed)`);
  if (l1Size > 0) {
    if (l1TableOffset % clusterSize !== 0) fail(`has its L1 table at ${hex(l1TableOffset)}, not aligned to the cluster size (${clusterSize})`);
    if (l1TableOffset === 0) fail('has its L1 table at offset 0, on top of the header');
    if (!within(l1TableOffset, l1Size * 8)) fail(`has its L1 table (${hex(l1TableOffset)}, ${l1Size} entries) beyond the end of the file (${file.size} bytes)`);
  }
  // Refcount table.
  if (refcountTableClusters === 0) fail('has no refcount table (refcount_table_clusters is 0)');
  if (refcountTableClusters * clusterSize > MAX_REFCOUNT_TABLE_BYTES) fail(`has a refcount table of ${refcountTableClusters} clusters, more than QEMU's limit of ${MAX_REFCOUNT_TABLE_BYTES} bytes`);
  if (refcountTableOffset % clusterSize !== 0) fail(`has its refcount table at ${hex(refcountTableOffset)}, not aligned to the cluster size (${clusterSize})`);
  if (refcountTableOffset === 0) fail('has its refcount table at offset 0, overlapping the header');
  if (!within(refcountTableOffset, refcountTableClusters * clusterSize)) fail(`has its refcount table (${hex(refcountTableOffset)}, ${refcountTableClusters} clusters) beyond the end of the file (${file.size} bytes)`);
  if (l1Size > 0) {
    const l1End = l1TableOffset + l1Size * 8;
    const refcountEnd = refcountTableOffset + refcountTableClusters * clusterSize;
    if (l1TableOffset < refcountEnd && refcountTableOffset < l1End) fail('has its L1 table and refcount table overlapping');
  }
  // Snapshot table.
  if (snapshotCount > MAX_SNAPSHOTS) fail(`claims ${snapshotCount} snapshots, more than QEMU's limit of ${MAX_SNAPSHOTS}`);
  if (snapshotCount > 0) {
    if (snapshotsOffset % clusterSize !== 0 || snapshotsOffset === 0) fail(`has its snapshot table at ${hex(snapshotsOffset)}, not a cluster boundary after the header`);
    if (snapshotsOffset >= file.size) fail(`has its snapshot table at ${hex(snapshotsOffset)}, beyond the end of the file`);
  }
  // Backing file name.
  let backingFile: string | null = null;
  if (backingFileOffset !== 0) {
    if (backingFileSize === 0) fail('names a backing file of length 0');
    if (backingFileSize > MAX_BACKING_NAME) fail(`has a backing file name of ${backingFileSize} bytes; at most ${MAX_BACKING_NAME} are allowed`);
    if (backingFileOffset < headerLength || backingFileOffset + backingFileSize > first.length) {
      fail(`has its backing file name at ${hex(backingFileOffset)} (${backingFileSize} bytes), outside the header cluster`);
    }
    backingFile = decoder.decode(first.subarray(backingFileOffset, backingFileOffset + backingFileSize));
    if (backingFile.includes('\0')) fail('has a backing file name containing a NUL byte');
  } else if (backingFormat !== null) {
    backingFormat = null; // a format without a file means nothing
  }

  return {
    version: version as 2 | 3,
    clusterBits,
    size,
    l1Size,
    l1TableOffset,
    refcountTableOffset,
    refcountTableClusters,
    snapshotCount,
    snapshotsOffset,
    incompatibleFeatures,
    compatibleFeatures,
    autoclearFeatures,
    refcountOrder,
    headerLength,
    backingFile,
    backingFormat,
    featureNames,
  };
}

export interface Qcow2CreateOptions {
  /** Virtual size in bytes (a multiple of 512). */
  size: number;
  /** 512 B .. 2 MiB, a power of two. Default 64 KiB. */
  clusterSize?: number;
  /** 2 (compat=0.10) or 3 (compat=1.1, the default). */
  version?: 2 | 3;
  /** 1, 2, 4, 8, 16 (default), 32 or 64; version 2 images always use 16. */
  refcountBits?: number;
  /** Stored as given: a relative name is resolved against the new image's directory when opened. */
  backingFile?: string;
  backingFormat?: 'raw' | 'qcow2';
}

/** The bytes of a new, empty qcow2 image: header, refcount table and blocks, L1 table. */
export function buildQcow2Image(options: Qcow2CreateOptions): Uint8Array {
  const clusterSize = options.clusterSize ?? 65536;
  const clusterBits = Math.log2(clusterSize);
  const version = options.version ?? 3;
  const refcountBits = options.refcountBits ?? 16;
  const refcountOrder = Math.log2(refcountBits);
  const { size } = options;
  const invalid = (message: string): never => {
    throw new BridgeError(`qcow2 create: ${message}`);
  };
  if (!Number.isInteger(clusterBits) || clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) invalid(`cluster size ${clusterSize} is not a power of two from 512 B to 2 MiB`);
  if (!Number.isInteger(refcountOrder) || refcountOrder < 0 || refcountOrder > 6) invalid(`refcount width ${refcountBits} is not 1, 2, 4, ..., 64 bits`);
  if (version === 2 && refcountBits !== 16) invalid('version 2 images have 16-bit refcounts');
  if (!Number.isSafeInteger(size) || size <= 0 || size % SECTOR_SIZE !== 0) invalid(`size ${size} is not a positive multiple of ${SECTOR_SIZE}`);
  const encoder = new TextEncoder();
  const backingName = options.backingFile === undefined ? null : encoder.encode(options.backingFile);
  if (backingName && (backingName.length === 0 || backingName.length > MAX_BACKING_NAME)) invalid('the backing file name must be 1 to 1023 bytes');

  const l2Entries = clusterSize / 8;
  const l1Size = Math.max(1, Math.ceil(size / (clusterSize * l2Entries)));
  if (l1Size * 8 > MAX_L1_BYTES) invalid(`size ${size} needs an L1 table larger than ${MAX_L1_BYTES} bytes; use larger clusters`);
  const l1Clusters = Math.ceil((l1Size * 8) / clusterSize);
  const refcountsPerBlock = (clusterSize * 8) / refcountBits;
  // The metadata must count itself: iterate until the number of blocks and table clusters settles.
  let tableClusters = 1;
  let blockCount = 1;
  for (;;) {
    const total = 1 + tableClusters + blockCount + l1Clusters;
    const blocksNeeded = Math.ceil(total / refcountsPerBlock);
    const tableNeeded = Math.ceil((blocksNeeded * 8) / clusterSize);
    if (blocksNeeded === blockCount && tableNeeded === tableClusters) break;
    blockCount = Math.max(blockCount, blocksNeeded);
    tableClusters = Math.max(tableClusters, tableNeeded);
  }
  const tableOffset = clusterSize;
  const blocksOffset = tableOffset + tableClusters * clusterSize;
  const l1Offset = blocksOffset + blockCount * clusterSize;
  const totalClusters = 1 + tableClusters + blockCount + l1Clusters;
  const image = new Uint8Array(totalClusters * clusterSize);
  const view = new DataView(image.buffer);

  view.setUint32(0, QCOW_MAGIC);
  view.setUint32(4, version);
  view.setUint32(20, clusterBits);
  view.setBigUint64(24, BigInt(size));
  view.setUint32(36, l1Size);
  view.setBigUint64(40, BigInt(l1Offset));
  view.setBigUint64(48, BigInt(tableOffset));
  view.setUint32(56, tableClusters);
  let offset = QCOW2_V2_HEADER_LENGTH;
  if (version === 3) {
    view.setUint32(96, refcountOrder);
    view.setUint32(100, QCOW2_V3_HEADER_LENGTH);
    offset = QCOW2_V3_HEADER_LENGTH;
  }
  if (backingName && options.backingFormat) {
    const format = encoder.encode(options.backingFormat);
    view.setUint32(offset, EXTENSION_BACKING_FORMAT);
    view.setUint32(offset + 4, format.length);
    image.set(format, offset + 8);
    offset += 8 + Math.ceil(format.length / 8) * 8;
  }
  offset += 8; // end-of-extensions marker (zeros)
  if (backingName) {
    if (offset + backingName.length > clusterSize) invalid('the backing file name does not fit in the header cluster');
    view.setBigUint64(8, BigInt(offset));
    view.setUint32(16, backingName.length);
    image.set(backingName, offset);
  }
  for (let block = 0; block < blockCount; block++) view.setBigUint64(tableOffset + block * 8, BigInt(blocksOffset + block * clusterSize));
  for (let cluster = 0; cluster < totalClusters; cluster++) {
    const block = blocksOffset + Math.floor(cluster / refcountsPerBlock) * clusterSize;
    setRefcountEntry(view, block, cluster % refcountsPerBlock, refcountOrder, 1);
  }
  return image;
}

/** Writes a new image at `path`, refusing to replace an existing file. */
export function createQcow2Image(path: string, options: Qcow2CreateOptions): void {
  const bytes = buildQcow2Image(options);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (error) {
    throw new BridgeError(`${path}: cannot create the image: ${(error as Error).message}`);
  }
  try {
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, done);
  } finally {
    closeSync(fd);
  }
}

/** Refcount block entry `index` (in a block at `base` of `view`), `2^order` bits wide, big-endian. */
export function getRefcountEntry(view: DataView, base: number, index: number, order: number): number {
  switch (order) {
    case 4: return view.getUint16(base + index * 2);
    case 5: return view.getUint32(base + index * 4);
    case 3: return view.getUint8(base + index);
    case 6: {
      const value = view.getBigUint64(base + index * 8);
      return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
    }
    default: {
      // Sub-byte widths: entry 0 sits in the least significant bits of byte 0.
      const bits = 1 << order;
      const bitIndex = index * bits;
      return (view.getUint8(base + (bitIndex >> 3)) >> (bitIndex & 7)) & ((1 << bits) - 1);
    }
  }
}

export function setRefcountEntry(view: DataView, base: number, index: number, order: number, value: number): void {
  switch (order) {
    case 4: view.setUint16(base + index * 2, value); return;
    case 5: view.setUint32(base + index * 4, value); return;
    case 3: view.setUint8(base + index, value); return;
    case 6: view.setBigUint64(base + index * 8, BigInt(value)); return;
    default: {
      const bits = 1 << order;
      const bitIndex = index * bits;
      const mask = ((1 << bits) - 1) << (bitIndex & 7);
      const byte = base + (bitIndex >> 3);
      view.setUint8(byte, (view.getUint8(byte) & ~mask) | ((value << (bitIndex & 7)) & mask));
    }
  }
}
