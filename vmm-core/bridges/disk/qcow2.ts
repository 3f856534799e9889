// A qcow2 image (versions 2 and 3): guest clusters map through the L1 table and L2 tables to
// host clusters; unallocated clusters read from the backing image (or as zeros); zero clusters,
// compressed clusters (zlib) and internal snapshots are understood.
//
// Writing. Guest data goes to its host cluster at once: in place when the L2 entry says the
// cluster is ours alone (COPIED flag, refcount 1), otherwise into a newly allocated cluster
// (copy-on-write from the old contents, the backing image, a compressed cluster or zeros).
// Metadata changes (refcounts, L2 tables, L1 entries) collect in memory and are written out by
// flush() (or when the cache is full) in an order that keeps the image consistent at every
// point, for a killed process and for a power cut alike — leaks are possible, corruption not:
//   1. refcount increments (and new L2 tables, which nothing references yet), a moved refcount
//      table and then the header that points at it;  fdatasync
//   2. changed L2 tables;                                                          fdatasync
//   3. changed L1 entries;                                                         fdatasync
//   4. refcount decrements of clusters no longer referenced.
// A freed cluster is therefore not reused before its last reference is gone from the disk.
// Internal snapshots keep their clusters: a cluster or L2 table shared with a snapshot
// (refcount > 1, no COPIED flag) is copied before it is written, and the shared one loses one
// reference. Snapshots are never created, deleted or applied here.

import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { BlockBackend, BridgeError, SECTOR_SIZE } from '../types';
import type { ImageFile } from './image-file';
import type { ImageLock } from './lock';
import {
  HEADER_AUTOCLEAR_FEATURES,
  HEADER_REFCOUNT_TABLE_OFFSET,
  INCOMPATIBLE_CORRUPT,
  INCOMPATIBLE_DIRTY,
  MAX_REFCOUNT_TABLE_BYTES,
  Qcow2Header,
  getRefcountEntry,
  setRefcountEntry,
} from './qcow2-format';
import { checkRequest, checkSectorRange } from './request';

// Entry bits, split into the high and low 32-bit halves of the big-endian 64-bit entries.
const COPIED_HIGH = 0x80000000; // bit 63: refcount is exactly one
const COMPRESSED_HIGH = 0x40000000; // bit 62 (L2)
const ZERO_LOW = 0x1; // bit 0 (L2, version 3): reads as zeros
const OFFSET_HIGH = 0x00ffffff; // offset bits 32..55
const OFFSET_LOW = 0xfffffe00; // offset bits 9..31
const L1_RESERVED_HIGH = 0x7f000000; // bits 56..62
const L1_RESERVED_LOW = 0x1ff; // bits 0..8
const L2_RESERVED_HIGH = 0x3f000000; // bits 56..61
const L2_RESERVED_LOW = 0x1fe; // bits 1..8
const TWO_32 = 0x1_0000_0000;

const enum ClusterKind {
  Unallocated,
  Zero,
  ZeroAllocated,
  Normal,
  Compressed,
}

/** An L2 table or refcount block, one cluster, cached. */
class MetadataCluster {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Changed in memory, not yet written. */
  dirty = false;
  /** Never written: nothing on disk refers to it yet. */
  isNew = false;
  /** Its refcount was checked to be 1 (an L2 table we may change in place). */
  exclusive = false;
  constructor(readonly offset: number, bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

export interface Qcow2ImageOptions {
  file: ImageFile;
  header: Qcow2Header;
  lock: ImageLock | null;
  /** What unallocated clusters read from; owned (closed) by this image. */
  backing: BlockBackend | null;
  description: string;
  /** A temporary image whose contents are thrown away: flush skips fdatasync. */
  temporary?: boolean;
  /** Bytes of L2 tables and refcount blocks kept in memory (default 32 MiB). */
  cacheBytes?: number;
}

export class Qcow2Image implements BlockBackend {
  readonly description: string;
  readonly sectorCount: number;
  readonly readOnly: boolean;
  readonly supportsDiscard: boolean;
  readonly supportsWriteZeroes: boolean;

  private readonly file: ImageFile;
  private readonly header: Qcow2Header;
  private readonly lock: ImageLock | null;
  private readonly backing: BlockBackend | null;
  private readonly temporary: boolean;
  private readonly clusterBits: number;
  private readonly clusterSize: number;
  private readonly l2Entries: number;
  private readonly refcountOrder: number;
  private readonly refcountsPerBlock: number;
  private readonly maxRefcount: number;
  private readonly maxCachedClusters: number;
  private closed = false;

  private readonly l1: DataView;
  private readonly dirtyL1 = new Set<number>();
  private readonly l2Cache = new Map<number, MetadataCluster>();
  private readonly refcountCache = new Map<number, MetadataCluster>();

  // Refcount table (read-write opens only).
  private refcountTable: number[] = [];
  private refcountTableOffset: number;
  private refcountTableClusters: number;
  private refcountTableMoved = false;
  private readonly dirtyRefcountTable = new Set<number>();

  /** Clusters whose refcount drops once the references to them are gone from the disk. */
  private readonly pendingDecrements = new Map<number, number>();
  /** Clusters being allocated right now: refcount still 0 but taken. */
  private readonly reservedClusters = new Set<number>();
  /** No cluster below this one is free. */
  private freeCursor = 1;
  /** One past the highest cluster allocated in this session (may be past the file's end). */
  private allocatedEnd = 0;
  /** Host clusters holding metadata: guest data must never land there (built at the first write). */
  private metadataClusters: Set<number> | null = null;

  // The last lookup (kept in fields: the read loop allocates nothing per cluster).
  private lookupKind = ClusterKind.Unallocated;
  private lookupOffset = 0;
  private lookupCopied = false;
  private lookupHigh = 0;
  private lookupLow = 0;

  private decompressedOffset = -1;
  private readonly decompressed: Uint8Array;
  private readonly scratch: Uint8Array;
  private zeroCluster: Uint8Array | null = null;

  constructor(options: Qcow2ImageOptions) {
    const { file, header } = options;
    this.file = file;
    this.header = header;
    this.lock = options.lock;
    this.backing = options.backing;
    this.temporary = options.temporary ?? false;
    this.readOnly = file.readOnly;
    this.description = options.description;
    this.clusterBits = header.clusterBits;
    this.clusterSize = 2 ** header.clusterBits;
    this.l2Entries = this.clusterSize / 8;
    this.refcountOrder = header.refcountOrder;
    this.refcountsPerBlock = (this.clusterSize * 8) >> header.refcountOrder;
    this.maxRefcount = header.refcountOrder === 6 ? Number.MAX_SAFE_INTEGER : 2 ** (2 ** header.refcountOrder) - 1;
    this.maxCachedClusters = Math.max(16, Math.floor((options.cacheBytes ?? 32 * 1024 * 1024) / this.clusterSize));
    this.sectorCount = header.size / SECTOR_SIZE;
    this.supportsDiscard = !this.readOnly;
    this.supportsWriteZeroes = !this.readOnly;
    this.refcountTableOffset = header.refcountTableOffset;
    this.refcountTableClusters = header.refcountTableClusters;
    this.decompressed = new Uint8Array(this.clusterSize);
    this.scratch = new Uint8Array(this.clusterSize);

    if (!this.readOnly && header.incompatibleFeatures & INCOMPATIBLE_DIRTY) {
      throw new BridgeError(`${file.path}: was not closed cleanly (the dirty bit is set: its refcounts may be stale); repair it with qemu-img check -r all, or open it read-only`);
    }
    if (!this.readOnly && header.incompatibleFeatures & INCOMPATIBLE_CORRUPT) {
      throw new BridgeError(`${file.path}: is marked corrupt; repair it with qemu-img check -r all, or open it read-only`);
    }
    const l1Bytes = new Uint8Array(header.l1Size * 8);
    if (header.l1Size > 0) file.readExisting(header.l1TableOffset, l1Bytes, 'the L1 table');
    this.l1 = new DataView(l1Bytes.buffer);
    if (!this.readOnly) this.loadRefcountTable();
  }

  // ---------------------------------------------------------------- requests

  read(sector: number, target: Uint8Array): void {
    this.checkOpen();
    checkRequest(this.file.path, this.sectorCount, sector, target.length, 'read');
    const clusterSize = this.clusterSize;
    let position = sector * SECTOR_SIZE;
    let done = 0;
    while (done < target.length) {
      const guestCluster = Math.floor(position / clusterSize);
      const within = position - guestCluster * clusterSize;
      let length = Math.min(clusterSize - within, target.length - done);
      this.lookup(guestCluster);
      switch (this.lookupKind) {
        case ClusterKind.Unallocated:
          this.readBacking(position, target.subarray(done, done + length));
          break;
        case ClusterKind.Zero:
        case ClusterKind.ZeroAllocated:
          target.fill(0, done, done + length);
          break;
        case ClusterKind.Normal: {
          // Read host-contiguous clusters in one go.
          const host = this.lookupOffset + within;
          let next = guestCluster + 1;
          while (done + length < target.length) {
            this.lookup(next);
            if (this.lookupKind !== ClusterKind.Normal || this.lookupOffset !== host + length) break;
            length += Math.min(clusterSize, target.length - done - length);
            next++;
          }
          this.file.readAt(host, target.subarray(done, done + length));
          break;
        }
        case ClusterKind.Compressed:
          target.set(this.decompress(guestCluster, this.lookupHigh, this.lookupLow).subarray(within, within + length), done);
          break;
      }
      done += length;
      position += length;
    }
    this.trimCaches();
  }

  write(sector: number, data: Uint8Array): void {
    this.checkWritable();
    checkRequest(this.file.path, this.sectorCount, sector, data.length, 'write');
    this.prepareForWrites();
    const start = sector * SECTOR_SIZE;
    this.validateRange(start, data.length, true);
    const clusterSize = this.clusterSize;
    let position = start;
    let done = 0;
    while (done < data.length) {
      const guestCluster = Math.floor(position / clusterSize);
      const within = position - guestCluster * clusterSize;
      const length = Math.min(clusterSize - within, data.length - done);
      this.writeCluster(guestCluster, within, data.subarray(done, done + length));
      done += length;
      position += length;
    }
    this.trimCaches();
  }

  flush(): void {
    this.checkOpen();
    if (this.readOnly) return;
    this.writeOutMetadata();
    this.sync();
  }

  discard(sector: number, count: number): void {
    this.writeZeroes(sector, count, true);
  }

  writeZeroes(sector: number, count: number, mayUnmap: boolean): void {
    this.checkWritable();
    checkSectorRange(this.file.path, this.sectorCount, sector, count, 'write-zeroes');
    this.prepareForWrites();
    const start = sector * SECTOR_SIZE;
    const byteCount = count * SECTOR_SIZE;
    this.validateRange(start, byteCount, true);
    const clusterSize = this.clusterSize;
    let position = start;
    const end = start + byteCount;
    const tableSpan = clusterSize * this.l2Entries;
    while (position < end) {
      const guestCluster = Math.floor(position / clusterSize);
      if (!this.backing && this.l2TableOffset(Math.floor(guestCluster / this.l2Entries)) === 0) {
        position = Math.min(end, (Math.floor(position / tableSpan) + 1) * tableSpan); // no table, no backing: zeros already
        continue;
      }
      const within = position - guestCluster * clusterSize;
      const length = Math.min(clusterSize - within, end - position);
      if (length === clusterSize) this.zeroWholeCluster(guestCluster, mayUnmap);
      else this.writeCluster(guestCluster, within, this.zeros().subarray(0, length));
      position += length;
      if (this.l2Cache.size + this.refcountCache.size > 2 * this.maxCachedClusters) this.trimCaches();
    }
    this.trimCaches();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.readOnly) {
        this.writeOutMetadata();
        this.sync();
      }
    } finally {
      try {
        this.file.close();
      } finally {
        this.lock?.release();
        this.backing?.close();
      }
    }
  }

  // ---------------------------------------------------------------- mapping

  private corrupt(message: string): BridgeError {
    return new BridgeError(`${this.file.path}: ${message} — the image is corrupt (qemu-img check may repair it)`);
  }

  /** End of the valid host offsets: the file, plus clusters allocated but not yet written. */
  private hostLimit(): number {
    return Math.max(this.file.size, this.allocatedEnd * this.clusterSize);
  }

  private checkHostCluster(offset: number, what: string): void {
    if (offset % this.clusterSize !== 0) throw this.corrupt(`${what} points to 0x${offset.toString(16)}, not aligned to a cluster`);
    if (offset >= this.hostLimit()) throw this.corrupt(`${what} points to 0x${offset.toString(16)}, beyond the end of the file (${this.file.size} bytes)`);
  }

  /** The L2 table offset in L1 entry `index` (0: none), checked. */
  private l2TableOffset(index: number): number {
    const high = this.l1.getUint32(index * 8);
    const low = this.l1.getUint32(index * 8 + 4);
    if (high === 0 && low === 0) return 0;
    if (high & L1_RESERVED_HIGH || low & L1_RESERVED_LOW) throw this.corrupt(`L1 entry ${index} has reserved bits set`);
    const offset = (high & OFFSET_HIGH) * TWO_32 + ((low & OFFSET_LOW) >>> 0);
    if (offset === 0) return 0;
    this.checkHostCluster(offset, `L1 entry ${index}`);
    return offset;
  }

  private loadL2(offset: number): MetadataCluster {
    let table = this.l2Cache.get(offset);
    if (table) {
      this.l2Cache.delete(offset); // most recently used last
      this.l2Cache.set(offset, table);
      return table;
    }
    const bytes = new Uint8Array(this.clusterSize);
    this.file.readAt(offset, bytes);
    table = new MetadataCluster(offset, bytes);
    this.l2Cache.set(offset, table);
    return table;
  }

  /** Classifies an L2 entry into the lookup fields, checking it. */
  private classify(high: number, low: number, guestCluster: number): void {
    this.lookupHigh = high;
    this.lookupLow = low;
    this.lookupCopied = (high & COPIED_HIGH) !== 0;
    if (high & COMPRESSED_HIGH) {
      this.lookupKind = ClusterKind.Compressed;
      this.lookupOffset = 0;
      return;
    }
    if (high & L2_RESERVED_HIGH || low & L2_RESERVED_LOW) throw this.corrupt(`the L2 entry of guest cluster ${guestCluster} has reserved bits set`);
    const offset = (high & OFFSET_HIGH) * TWO_32 + ((low & OFFSET_LOW) >>> 0);
    this.lookupOffset = offset;
    if (low & ZERO_LOW) {
      this.lookupKind = offset === 0 ? ClusterKind.Zero : ClusterKind.ZeroAllocated;
    } else if (offset === 0) {
      if (this.lookupCopied) throw this.corrupt(`the L2 entry of guest cluster ${guestCluster} maps it to host offset 0 (the header)`);
      this.lookupKind = ClusterKind.Unallocated;
    } else {
      this.lookupKind = ClusterKind.Normal;
    }
    if (offset !== 0) this.checkHostCluster(offset, `the L2 entry of guest cluster ${guestCluster}`);
  }

  /** Looks up guest cluster `guestCluster` into the lookup fields. */
  private lookup(guestCluster: number): void {
    const l1Index = Math.floor(guestCluster / this.l2Entries);
    const tableOffset = this.l2TableOffset(l1Index);
    if (tableOffset === 0) {
      this.lookupKind = ClusterKind.Unallocated;
      this.lookupOffset = 0;
      this.lookupCopied = false;
      return;
    }
    const table = this.loadL2(tableOffset);
    const index = (guestCluster % this.l2Entries) * 8;
    this.classify(table.view.getUint32(index), table.view.getUint32(index + 4), guestCluster);
  }

  /**
   * Looks up every cluster a request touches and, for a write, checks everything the write
   * will rely on, so that a bad entry fails the request before anything changes.
   */
  private validateRange(start: number, length: number, forWrite: boolean): void {
    const first = Math.floor(start / this.clusterSize);
    const last = Math.floor((start + length - 1) / this.clusterSize);
    for (let cluster = first; cluster <= last; cluster++) {
      if (this.l2TableOffset(Math.floor(cluster / this.l2Entries)) === 0) {
        cluster = (Math.floor(cluster / this.l2Entries) + 1) * this.l2Entries - 1; // nothing under this L1 entry
        continue;
      }
      let tableExclusive = false;
      if (forWrite) {
        const l1Index = Math.floor(cluster / this.l2Entries);
        const tableOffset = this.l2TableOffset(l1Index);
        if (tableOffset !== 0) {
          tableExclusive = (this.l1.getUint32(l1Index * 8) & COPIED_HIGH) !== 0;
          if (tableExclusive) this.exclusiveL2(tableOffset, l1Index);
          else this.checkReleasable(tableOffset / this.clusterSize, 1, `the L2 table of L1 entry ${l1Index}`);
        }
      }
      this.lookup(cluster);
      const kind = this.lookupKind;
      if (kind === ClusterKind.Compressed) {
        const [firstHost, lastHost] = this.compressedHostClusters(cluster, this.lookupHigh, this.lookupLow);
        if (forWrite) {
          // Its host clusters lose a reference: make sure they really hold compressed data.
          for (let host = firstHost; host <= lastHost; host++) {
            if (this.metadataClusters!.has(host)) throw this.corrupt(`the compressed data of guest cluster ${cluster} overlaps image metadata`);
          }
          this.decompress(cluster, this.lookupHigh, this.lookupLow);
        }
      }
      if (!forWrite) continue;
      if ((kind === ClusterKind.Normal || kind === ClusterKind.ZeroAllocated) && this.lookupCopied && tableExclusive) {
        this.checkNotMetadata(this.lookupOffset, cluster);
        this.checkExclusive(this.lookupOffset, `the data cluster of guest cluster ${cluster}`);
      } else {
        const held = this.heldClusters(cluster);
        if (held) this.checkReleasable(held[0], held[1] - held[0] + 1, `the data of guest cluster ${cluster}`);
      }
    }
  }

  private readBacking(position: number, target: Uint8Array): void {
    const backing = this.backing;
    const available = backing ? Math.min(target.length, Math.max(0, backing.sectorCount * SECTOR_SIZE - position)) : 0;
    if (available > 0) backing!.read(position / SECTOR_SIZE, target.subarray(0, available));
    if (available < target.length) target.fill(0, available);
  }

  /** Host offset and byte length of a compressed cluster's data. */
  private compressedLocation(guestCluster: number, high: number, low: number): [number, number] {
    const value = (BigInt(high & 0x3fffffff) << 32n) | BigInt(low >>> 0);
    const offsetBits = BigInt(70 - this.clusterBits); // 62 - (cluster_bits - 8)
    const offset = Number(value & ((1n << offsetBits) - 1n));
    const sectors = Number(value >> offsetBits) + 1;
    const length = sectors * SECTOR_SIZE - (offset % SECTOR_SIZE);
    if (offset < this.clusterSize || offset >= this.file.size) {
      throw this.corrupt(`the compressed data of guest cluster ${guestCluster} is at 0x${offset.toString(16)}, outside the file's data area`);
    }
    return [offset, length];
  }

  /** The host clusters a compressed cluster's sectors touch (each holds one reference for it). */
  private compressedHostClusters(guestCluster: number, high: number, low: number): [number, number] {
    const [offset, length] = this.compressedLocation(guestCluster, high, low);
    const firstSector = offset - (offset % SECTOR_SIZE);
    return [Math.floor(firstSector / this.clusterSize), Math.floor((firstSector + length + (offset % SECTOR_SIZE) - 1) / this.clusterSize)];
  }

  private decompress(guestCluster: number, high: number, low: number): Uint8Array {
    const [offset, length] = this.compressedLocation(guestCluster, high, low);
    if (offset === this.decompressedOffset) return this.decompressed;
    const input = new Uint8Array(Math.min(length, this.file.size - offset));
    this.file.readAt(offset, input);
    let output: Buffer;
    try {
      output = inflateRawSync(input, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: this.clusterSize });
    } catch (error) {
      throw this.corrupt(`the compressed data of guest cluster ${guestCluster} cannot be decompressed (${(error as Error).message})`);
    }
    if (output.length !== this.clusterSize) {
      throw this.corrupt(`the compressed data of guest cluster ${guestCluster} decompresses to ${output.length} bytes instead of ${this.clusterSize}`);
    }
    this.decompressed.set(output);
    this.decompressedOffset = offset;
    return this.decompressed;
  }

  // ---------------------------------------------------------------- writing

  private zeros(): Uint8Array {
    return (this.zeroCluster ??= new Uint8Array(this.clusterSize));
  }

  /** Loads the refcount table and checks its entries (read-write opens). */
  private loadRefcountTable(): void {
    const bytes = new Uint8Array(this.refcountTableClusters * this.clusterSize);
    this.file.readExisting(this.refcountTableOffset, bytes, 'the refcount table');
    const view = new DataView(bytes.buffer);
    const table: number[] = new Array(bytes.length / 8);
    for (let index = 0; index < table.length; index++) {
      const high = view.getUint32(index * 8);
      const low = view.getUint32(index * 8 + 4);
      if (high > OFFSET_HIGH || low & 0x1ff) throw this.corrupt(`refcount table entry ${index} is not a cluster offset (0x${high.toString(16)}${low.toString(16).padStart(8, '0')})`);
      const offset = high * TWO_32 + low;
      if (offset !== 0) {
        if (offset % this.clusterSize !== 0) throw this.corrupt(`refcount table entry ${index} points to 0x${offset.toString(16)}, not aligned to a cluster`);
        if (offset + this.clusterSize > this.file.size) throw this.corrupt(`refcount block ${index} at 0x${offset.toString(16)} lies beyond the end of the file`);
      }
      table[index] = offset;
    }
    this.refcountTable = table;
  }

  private prepared = false;

  /** Before the first change: know where the metadata is, and drop feature bits we do not maintain. */
  private prepareForWrites(): void {
    if (this.prepared) return;
    const guard = new Set<number>();
    const cluster = this.clusterSize;
    const addRange = (offset: number, length: number) => {
      for (let c = Math.floor(offset / cluster); c * cluster < offset + length; c++) guard.add(c);
    };
    guard.add(0);
    addRange(this.header.l1TableOffset, this.header.l1Size * 8);
    addRange(this.refcountTableOffset, this.refcountTableClusters * cluster);
    for (const block of this.refcountTable) if (block) guard.add(block / cluster);
    for (let index = 0; index < this.header.l1Size; index++) {
      const table = this.l2TableOffset(index);
      if (table) guard.add(table / cluster);
    }
    this.guardSnapshots(guard, addRange);
    this.metadataClusters = guard;
    if (this.header.version === 3 && this.header.autoclearFeatures !== 0n) {
      // Autoclear features (bitmaps) describe the data as it is; Ringside does not keep them up
      // to date, so it clears them before changing anything, as the format requires.
      this.file.writeAt(HEADER_AUTOCLEAR_FEATURES, new Uint8Array(8));
      this.sync();
    }
    this.prepared = true;
  }

  /** Adds the snapshot table, the snapshots' L1 tables and their L2 tables to the metadata set. */
  private guardSnapshots(guard: Set<number>, addRange: (offset: number, length: number) => void): void {
    let position = this.header.snapshotsOffset;
    const entry = new Uint8Array(40);
    const view = new DataView(entry.buffer);
    for (let index = 0; index < this.header.snapshotCount; index++) {
      this.file.readExisting(position, entry, `snapshot table entry ${index}`);
      const l1Offset = Number(view.getBigUint64(0));
      const l1Size = view.getUint32(8);
      const entryLength = 40 + view.getUint32(36) + view.getUint16(12) + view.getUint16(14);
      if (l1Size * 8 > 32 * 1024 * 1024) throw this.corrupt(`snapshot ${index} has an L1 table of ${l1Size} entries`);
      if (l1Size > 0) {
        if (l1Offset % this.clusterSize !== 0 || l1Offset === 0) throw this.corrupt(`snapshot ${index} has its L1 table at 0x${l1Offset.toString(16)}, not a cluster boundary`);
        const l1 = new Uint8Array(l1Size * 8);
        this.file.readExisting(l1Offset, l1, `the L1 table of snapshot ${index}`);
        addRange(l1Offset, l1.length);
        const l1View = new DataView(l1.buffer);
        for (let i = 0; i < l1Size; i++) {
          const offset = (l1View.getUint32(i * 8) & OFFSET_HIGH) * TWO_32 + ((l1View.getUint32(i * 8 + 4) & OFFSET_LOW) >>> 0);
          if (offset) guard.add(Math.floor(offset / this.clusterSize));
        }
      }
      position += Math.ceil(entryLength / 8) * 8;
    }
    if (this.header.snapshotCount > 0) addRange(this.header.snapshotsOffset, position - this.header.snapshotsOffset);
  }

  private checkNotMetadata(offset: number, guestCluster: number): void {
    if (this.metadataClusters!.has(offset / this.clusterSize)) {
      throw this.corrupt(`guest cluster ${guestCluster} maps to host cluster 0x${offset.toString(16)}, which holds image metadata`);
    }
  }

  private checkExclusive(offset: number, what: string): void {
    const count = this.refcount(offset / this.clusterSize);
    if (count !== 1) throw this.corrupt(`${what} at 0x${offset.toString(16)} is marked as used once (COPIED) but its refcount is ${count}`);
  }

  /** The L2 table for L1 entry `index`, ready to change: allocated, or copied away from a snapshot. */
  private writableL2(index: number): MetadataCluster {
    const offset = this.l2TableOffset(index);
    if (offset === 0) {
      const fresh = this.allocateClusters(1);
      const table = new MetadataCluster(fresh, new Uint8Array(this.clusterSize));
      table.isNew = table.dirty = table.exclusive = true;
      this.l2Cache.set(fresh, table);
      this.metadataClusters!.add(fresh / this.clusterSize);
      this.setL1(index, fresh);
      return table;
    }
    if (this.l1.getUint32(index * 8) & COPIED_HIGH) return this.exclusiveL2(offset, index);
    const table = this.loadL2(offset);
    // Shared with a snapshot: copy it. Its data clusters stay shared (their refcounts already
    // count every table that reaches them), so the copy's entries lose the COPIED flag.
    this.checkReleasable(offset / this.clusterSize, 1, `the L2 table of L1 entry ${index}`);
    const fresh = this.allocateClusters(1);
    const copy = new MetadataCluster(fresh, table.bytes.slice());
    for (let entry = 0; entry < this.l2Entries; entry++) {
      copy.view.setUint32(entry * 8, copy.view.getUint32(entry * 8) & ~COPIED_HIGH);
    }
    copy.isNew = copy.dirty = copy.exclusive = true;
    this.l2Cache.delete(offset);
    this.l2Cache.set(fresh, copy);
    this.metadataClusters!.add(fresh / this.clusterSize);
    this.setL1(index, fresh);
    this.releaseCluster(offset / this.clusterSize);
    return copy;
  }

  /** The L2 table at `offset`, checked to be referenced once (as L1 entry `index`'s COPIED flag says). */
  private exclusiveL2(offset: number, index: number): MetadataCluster {
    const table = this.loadL2(offset);
    if (!table.exclusive) {
      this.checkExclusive(offset, `the L2 table of L1 entry ${index}`);
      table.exclusive = true;
    }
    return table;
  }

  private setL1(index: number, offset: number): void {
    this.l1.setUint32(index * 8, (COPIED_HIGH | Math.floor(offset / TWO_32)) >>> 0);
    this.l1.setUint32(index * 8 + 4, offset % TWO_32);
    this.dirtyL1.add(index);
  }

  private setL2(table: MetadataCluster, guestCluster: number, high: number, low: number): void {
    const index = (guestCluster % this.l2Entries) * 8;
    table.view.setUint32(index, high >>> 0);
    table.view.setUint32(index + 4, low >>> 0);
    table.dirty = true;
  }

  /** Host clusters the current lookup holds a reference on, as [first, last] or null. */
  private heldClusters(guestCluster: number): [number, number] | null {
    switch (this.lookupKind) {
      case ClusterKind.Normal:
      case ClusterKind.ZeroAllocated: {
        const cluster = this.lookupOffset / this.clusterSize;
        return [cluster, cluster];
      }
      case ClusterKind.Compressed:
        return this.compressedHostClusters(guestCluster, this.lookupHigh, this.lookupLow);
      default:
        return null;
    }
  }

  private writeCluster(guestCluster: number, within: number, chunk: Uint8Array): void {
    const table = this.writableL2(Math.floor(guestCluster / this.l2Entries));
    const index = (guestCluster % this.l2Entries) * 8;
    this.classify(table.view.getUint32(index), table.view.getUint32(index + 4), guestCluster);
    const kind = this.lookupKind;
    const offset = this.lookupOffset;
    if ((kind === ClusterKind.Normal || kind === ClusterKind.ZeroAllocated) && this.lookupCopied) {
      this.checkNotMetadata(offset, guestCluster);
      this.checkExclusive(offset, `the data cluster of guest cluster ${guestCluster}`);
      if (kind === ClusterKind.Normal) {
        this.file.writeAt(offset + within, chunk);
      } else {
        // A preallocated zero cluster: fill it, then it is a normal cluster.
        const content = this.scratch;
        content.fill(0);
        content.set(chunk, within);
        this.file.writeAt(offset, content);
        this.setL2(table, guestCluster, COPIED_HIGH | Math.floor(offset / TWO_32), offset % TWO_32);
      }
      return;
    }
    // Copy on write into a new cluster.
    const held = this.heldClusters(guestCluster);
    if (held) this.checkReleasable(held[0], held[1] - held[0] + 1, `the data of guest cluster ${guestCluster}`);
    let content = chunk;
    if (chunk.length !== this.clusterSize) {
      content = this.scratch;
      switch (kind) {
        case ClusterKind.Unallocated:
          this.readBacking(guestCluster * this.clusterSize, content);
          break;
        case ClusterKind.Normal:
          this.file.readAt(offset, content);
          break;
        case ClusterKind.Compressed:
          content.set(this.decompress(guestCluster, this.lookupHigh, this.lookupLow));
          break;
        default:
          content.fill(0);
      }
      content.set(chunk, within);
    }
    const fresh = this.allocateClusters(1);
    this.file.writeAt(fresh, content);
    this.setL2(table, guestCluster, COPIED_HIGH | Math.floor(fresh / TWO_32), fresh % TWO_32);
    if (held) for (let cluster = held[0]; cluster <= held[1]; cluster++) this.releaseCluster(cluster);
  }

  /** Makes a whole guest cluster read as zeros. */
  private zeroWholeCluster(guestCluster: number, mayUnmap: boolean): void {
    const l1Index = Math.floor(guestCluster / this.l2Entries);
    if (!this.backing && this.l2TableOffset(l1Index) === 0) return; // unallocated, no backing: zeros already
    this.lookup(guestCluster);
    let kind = this.lookupKind;
    if (kind === ClusterKind.Zero || (kind === ClusterKind.ZeroAllocated && !mayUnmap)) return;
    if (kind === ClusterKind.Unallocated && !this.backing) return;
    if (this.header.version === 2 && this.backing) {
      // No zero flag in version 2, and unallocated would show the backing image.
      this.writeCluster(guestCluster, 0, this.zeros());
      return;
    }
    const table = this.writableL2(l1Index);
    const index = (guestCluster % this.l2Entries) * 8;
    this.classify(table.view.getUint32(index), table.view.getUint32(index + 4), guestCluster);
    kind = this.lookupKind;
    if (kind === ClusterKind.Normal && this.lookupCopied && !mayUnmap && this.header.version === 3) {
      this.checkNotMetadata(this.lookupOffset, guestCluster);
      this.setL2(table, guestCluster, this.lookupHigh, this.lookupLow | ZERO_LOW); // keep the allocation
      return;
    }
    const held = this.heldClusters(guestCluster);
    if (held) this.checkReleasable(held[0], held[1] - held[0] + 1, `the data of guest cluster ${guestCluster}`);
    // Version 3: the zero flag; version 2 without a backing image: unallocated reads as zeros.
    this.setL2(table, guestCluster, 0, this.header.version === 3 ? ZERO_LOW : 0);
    if (held) for (let cluster = held[0]; cluster <= held[1]; cluster++) this.releaseCluster(cluster);
  }

  // ---------------------------------------------------------------- refcounts and allocation

  private loadRefcountBlock(offset: number): MetadataCluster {
    let block = this.refcountCache.get(offset);
    if (block) {
      this.refcountCache.delete(offset);
      this.refcountCache.set(offset, block);
      return block;
    }
    const bytes = new Uint8Array(this.clusterSize);
    this.file.readAt(offset, bytes);
    block = new MetadataCluster(offset, bytes);
    this.refcountCache.set(offset, block);
    return block;
  }

  /** The refcount of host cluster `cluster` as it stands in memory (pending decrements not applied). */
  private refcount(cluster: number): number {
    const blockIndex = Math.floor(cluster / this.refcountsPerBlock);
    if (blockIndex >= this.refcountTable.length) return 0;
    const offset = this.refcountTable[blockIndex];
    if (offset === 0) return 0;
    return getRefcountEntry(this.loadRefcountBlock(offset).view, 0, cluster % this.refcountsPerBlock, this.refcountOrder);
  }

  private setRefcount(cluster: number, value: number): void {
    if (value > this.maxRefcount) throw this.corrupt(`the refcount of host cluster ${cluster} would overflow`);
    const block = this.refcountBlockFor(Math.floor(cluster / this.refcountsPerBlock));
    setRefcountEntry(block.view, 0, cluster % this.refcountsPerBlock, this.refcountOrder, value);
    block.dirty = true;
  }

  /** The refcount block with index `blockIndex`, created (and counted) when missing. */
  private refcountBlockFor(blockIndex: number): MetadataCluster {
    if (blockIndex >= this.refcountTable.length) this.growRefcountTable(blockIndex + 1);
    const existing = this.refcountTable[blockIndex];
    if (existing !== 0) return this.loadRefcountBlock(existing);
    const location = this.findFree(1);
    const block = new MetadataCluster(location * this.clusterSize, new Uint8Array(this.clusterSize));
    block.isNew = block.dirty = true;
    this.refcountCache.set(block.offset, block);
    this.refcountTable[blockIndex] = block.offset;
    this.dirtyRefcountTable.add(blockIndex);
    this.metadataClusters!.add(location);
    this.noteAllocated(location, 1);
    if (Math.floor(location / this.refcountsPerBlock) === blockIndex) {
      setRefcountEntry(block.view, 0, location % this.refcountsPerBlock, this.refcountOrder, 1); // it counts itself
    } else {
      this.reservedClusters.add(location);
      try {
        this.setRefcount(location, this.refcount(location) + 1);
      } finally {
        this.reservedClusters.delete(location);
      }
    }
    return block;
  }

  /** Moves the refcount table to a larger place (written out, and the header switched, at the next flush). */
  private growRefcountTable(minimumEntries: number): void {
    const perCluster = this.clusterSize / 8;
    const entries = Math.ceil(Math.max(minimumEntries + 2, this.refcountTable.length * 2) / perCluster) * perCluster;
    const clusters = entries / perCluster;
    if (clusters * this.clusterSize > MAX_REFCOUNT_TABLE_BYTES) {
      throw new BridgeError(`${this.file.path}: the image is full: its refcount table would exceed ${MAX_REFCOUNT_TABLE_BYTES} bytes`);
    }
    const oldOffset = this.refcountTableOffset;
    const oldClusters = this.refcountTableClusters;
    while (this.refcountTable.length < entries) this.refcountTable.push(0);
    const start = this.findFree(clusters);
    for (let c = start; c < start + clusters; c++) this.reservedClusters.add(c);
    try {
      for (let c = start; c < start + clusters; c++) {
        this.setRefcount(c, this.refcount(c) + 1);
        this.metadataClusters!.add(c);
      }
    } finally {
      for (let c = start; c < start + clusters; c++) this.reservedClusters.delete(c);
    }
    this.noteAllocated(start, clusters);
    this.refcountTableOffset = start * this.clusterSize;
    this.refcountTableClusters = clusters;
    this.refcountTableMoved = true;
    this.dirtyRefcountTable.clear();
    const first = oldOffset / this.clusterSize;
    for (let c = first; c < first + oldClusters; c++) this.releaseCluster(c);
  }

  /** First run of `count` free clusters from the cursor. */
  private findFree(count: number): number {
    let runStart = this.freeCursor;
    let run = 0;
    for (let cluster = this.freeCursor; ; cluster++) {
      const free = cluster !== 0 && !this.reservedClusters.has(cluster) && this.refcount(cluster) === 0;
      if (free && this.metadataClusters!.has(cluster)) {
        throw this.corrupt(`host cluster ${cluster} holds metadata but its refcount is 0`);
      }
      if (!free) {
        run = 0;
        runStart = cluster + 1;
        continue;
      }
      if (++run === count) {
        if (count === 1 || runStart === this.freeCursor) this.freeCursor = runStart + count;
        return runStart;
      }
    }
  }

  private noteAllocated(first: number, count: number): void {
    if (first + count > this.allocatedEnd) this.allocatedEnd = first + count;
  }

  /** Allocates `count` contiguous clusters with refcount 1; returns the host offset. */
  private allocateClusters(count: number): number {
    const start = this.findFree(count);
    for (let c = start; c < start + count; c++) this.reservedClusters.add(c);
    try {
      for (let c = start; c < start + count; c++) this.setRefcount(c, 1);
    } finally {
      for (let c = start; c < start + count; c++) this.reservedClusters.delete(c);
    }
    this.noteAllocated(start, count);
    return start * this.clusterSize;
  }

  /** Throws unless each of `count` clusters from `first` still has a reference to give up. */
  private checkReleasable(first: number, count: number, what: string): void {
    for (let cluster = first; cluster < first + count; cluster++) {
      const remaining = this.refcount(cluster) - (this.pendingDecrements.get(cluster) ?? 0);
      if (remaining < 1) throw this.corrupt(`${what} uses host cluster ${cluster}, whose refcount is already 0`);
    }
  }

  /** Drops one reference once the mapping that held it is on disk (phase 4 of the write-out). */
  private releaseCluster(cluster: number): void {
    this.pendingDecrements.set(cluster, (this.pendingDecrements.get(cluster) ?? 0) + 1);
    this.decompressedOffset = -1; // the cached cluster may be reused once freed
  }

  // ---------------------------------------------------------------- write-out

  private sync(): void {
    if (!this.temporary) this.file.sync();
  }

  private writeOutMetadata(): void {
    // Phase 1: what nothing on disk references yet, and refcount increments.
    let wrote = false;
    for (const table of this.l2Cache.values()) {
      if (table.isNew && table.dirty) {
        this.file.writeAt(table.offset, table.bytes);
        table.isNew = table.dirty = false;
        wrote = true;
      }
    }
    wrote = this.writeRefcountBlocks() || wrote;
    // A new refcount block must be on disk before the table entry that points to it.
    if (wrote && (this.refcountTableMoved || this.dirtyRefcountTable.size > 0)) this.sync();
    if (this.refcountTableMoved) {
      const bytes = new Uint8Array(this.refcountTableClusters * this.clusterSize);
      const view = new DataView(bytes.buffer);
      this.refcountTable.forEach((offset, index) => this.setEntry(view, index * 8, offset));
      this.file.writeAt(this.refcountTableOffset, bytes);
      this.sync();
      const header = new Uint8Array(12);
      const headerView = new DataView(header.buffer);
      this.setEntry(headerView, 0, this.refcountTableOffset);
      headerView.setUint32(8, this.refcountTableClusters);
      this.file.writeAt(HEADER_REFCOUNT_TABLE_OFFSET, header);
      this.refcountTableMoved = false;
      this.dirtyRefcountTable.clear();
      wrote = true;
    } else if (this.dirtyRefcountTable.size > 0) {
      const entry = new Uint8Array(8);
      const view = new DataView(entry.buffer);
      for (const index of [...this.dirtyRefcountTable].sort((a, b) => a - b)) {
        this.setEntry(view, 0, this.refcountTable[index]);
        this.file.writeAt(this.refcountTableOffset + index * 8, entry);
      }
      this.dirtyRefcountTable.clear();
      wrote = true;
    }
    if (wrote) this.sync();

    // Phase 2: changed L2 tables that the disk already references.
    wrote = false;
    for (const table of this.l2Cache.values()) {
      if (table.dirty) {
        this.file.writeAt(table.offset, table.bytes);
        table.isNew = table.dirty = false;
        wrote = true;
      }
    }
    if (wrote) this.sync();

    // Phase 3: L1 entries.
    if (this.dirtyL1.size > 0) {
      const bytes = new Uint8Array(this.l1.buffer);
      for (const index of [...this.dirtyL1].sort((a, b) => a - b)) {
        this.file.writeAt(this.header.l1TableOffset + index * 8, bytes.subarray(index * 8, index * 8 + 8));
      }
      this.dirtyL1.clear();
      this.sync();
    }

    // Phase 4: references that are gone from the disk now.
    if (this.pendingDecrements.size > 0) {
      for (const [cluster, count] of this.pendingDecrements) {
        const value = this.refcount(cluster) - count;
        if (value < 0) throw this.corrupt(`the refcount of host cluster ${cluster} would drop below 0`);
        this.setRefcount(cluster, value);
        if (value === 0) {
          this.metadataClusters?.delete(cluster);
          this.l2Cache.delete(cluster * this.clusterSize);
          if (cluster < this.freeCursor) this.freeCursor = cluster;
        }
      }
      this.pendingDecrements.clear();
      this.writeRefcountBlocks();
    }
  }

  private writeRefcountBlocks(): boolean {
    let wrote = false;
    for (const block of this.refcountCache.values()) {
      if (block.dirty) {
        this.file.writeAt(block.offset, block.bytes);
        block.isNew = block.dirty = false;
        wrote = true;
      }
    }
    return wrote;
  }

  private setEntry(view: DataView, at: number, offset: number): void {
    view.setUint32(at, Math.floor(offset / TWO_32));
    view.setUint32(at + 4, offset % TWO_32);
  }

  /** Keeps the caches bounded: drops clean tables, writing metadata out first when too much is dirty. */
  private trimCaches(): void {
    const limit = this.maxCachedClusters;
    if (this.l2Cache.size + this.refcountCache.size <= limit) return;
    const evictClean = (cache: Map<number, MetadataCluster>, keep: number) => {
      for (const [offset, table] of cache) {
        if (cache.size <= keep) break;
        if (!table.dirty) cache.delete(offset);
      }
    };
    const l2Share = Math.max(8, Math.floor(limit * 0.75));
    evictClean(this.l2Cache, l2Share);
    evictClean(this.refcountCache, limit - l2Share);
    if (this.l2Cache.size + this.refcountCache.size > limit && !this.readOnly) {
      this.writeOutMetadata();
      evictClean(this.l2Cache, l2Share);
      evictClean(this.refcountCache, limit - l2Share);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new BridgeError(`${this.file.path}: the disk is closed`);
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new BridgeError(`${this.file.path}: the disk is read-only`);
  }
}
