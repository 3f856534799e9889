// Snapshot files: a whole machine saved between runs and restored into a new machine (in this
// process or another) that then runs exactly as the original would have. The file is a header,
// a section table and sections, each with a CRC-32; everything is read and checked before a
// machine is touched, so a damaged, truncated or foreign file gives one SnapshotError.
//
// Layout (little-endian):
//   header, 64 bytes: "RINGSNAP", u16 format version, u16 header size, u32 section count,
//     u64 file size, u32 section-table CRC-32, 32 reserved zero bytes, u32 header CRC-32 (of
//     bytes 0..59);
//   section table, 40 bytes per section: 4-byte tag, u32 encoding (0 stored, 1 deflate),
//     u64 offset, u64 stored size, u64 decoded size, u32 CRC-32 of the stored bytes, u32 zero;
//   sections: META (what `ringside snapshot info` shows), CONF (the machine's configuration with
//     its images), MACH (Machine.saveState), RAM (below), each state tree in state.ts's encoding.
//   RAM: u32 page size, u32 page count, u32 pages per chunk, a bitmap of the pages that are not
//     all zero, then per chunk of those pages: u32 stored size, u32 CRC-32 of the pages, the
//     pages deflated. Zero pages take one bit.

import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { DEFAULT_ENTROPY_SEED, HostEntropySource, SeededEntropySource, type EntropySeed } from '../bridges/entropy';
import { VirtioEntropyDevice, type VirtioNetDevice } from '../devices/virtio/index';
import type { Machine } from './machine';
import type { GuestRam } from '../memory/ram';
import type { ObservedDisk } from '../bridges/disk/observed';
import { MemoryDisk } from '../bridges/disk/memory';
import { type ImageFile, type MachineConfig, type VirtioDeviceConfig } from './config';
import type { BlockBackend, NetBackend } from '../bridges/types';
import { concatenate, decodeState, encodeState, SnapshotError, StateReader, type StateRecord, type StateValue } from './state';
import { MAX_HARTS, MAX_RAM_SIZE, VIRTIO_MMIO_SLOTS } from './layout';

export { SnapshotError };

export const SNAPSHOT_MAGIC = 'RINGSNAP';
export const SNAPSHOT_FORMAT_VERSION = 1;
const HEADER_BYTES = 64;
const SECTION_ENTRY_BYTES = 40;
const MAXIMUM_SECTIONS = 64;
const PAGE_BYTES = 4096;
/** Disks up to 1 TiB (their block map alone is 32 MiB then). */
const MAX_DISK_BLOCKS = 2 ** 28;
const CHUNK_PAGES = 256;
/** Deflate level: 1 compresses a booted kernel's memory and images nearly as well as 6 in a third of the time. */
const DEFLATE_LEVEL = 1;

export const enum Encoding { Stored = 0, Deflate = 1 }

/** Something the host says about a snapshot it takes (shown by `snapshot info`). */
export interface SnapshotOptions {
  /** A name for the snapshot (the Snapshots view's label). */
  name?: string;
}

/** A snapshot file read and checked whole: nothing in it is applied yet. */
export interface ParsedSnapshot {
  readonly formatVersion: number;
  readonly meta: StateReader;
  readonly config: StateReader;
  readonly machine: StateReader;
  readonly ram: RamImage;
  /** Each disk's contents at the snapshot, by slot (4 KiB blocks, zero blocks elided). */
  readonly disks: ReadonlyMap<number, RamImage>;
  readonly sections: readonly SectionInfo[];
  readonly fileBytes: number;
}

export interface SectionInfo {
  readonly tag: string;
  readonly storedBytes: number;
  readonly decodedBytes: number;
}

/** Guest RAM (or a disk) as saved: which 4 KiB pages are not zero, and those pages. */
export interface RamImage {
  readonly pageCount: number;
  /** Bit i set: page i is in `pages`, in page order. */
  readonly bitmap: Uint8Array;
  readonly pages: Uint8Array;
}

// ---- CRC-32 -----------------------------------------------------------------------------------

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE), Node's own where it has one (Node 20.15 and later). */
export function crc32(bytes: Uint8Array): number {
  const native = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
  if (typeof native === 'function') return native(bytes) >>> 0;
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---- saving -----------------------------------------------------------------------------------

/** The bytes of a snapshot of `machine`, which must be between runs. */
export function saveSnapshot(machine: Machine, options: SnapshotOptions = {}): Uint8Array {
  const machineState = machine.saveState();
  const machineBytes = encodeState(machineState);
  const ram = captureRam(machine.ram);
  const ramBytes = encodeRam(ram);
  const disks = machine.disks.map((entry) => ({ slot: entry.slot, image: captureDisk(entry.disk) }));
  const meta: StateRecord = {
    name: options.name ?? null,
    createdBy: 'ringside',
    harts: machine.harts.map((hart) => ({
      pc: hart.pc.toString(16), privilege: hart.privilege, instructionsRetired: hart.instructionsRetired, waiting: hart.waitingForInterrupt,
    })),
    virtualNanoseconds: machine.virtualNanoseconds,
    stateHash: stateHash(machineBytes, ram, disks.map((disk) => disk.image)),
    nonZeroPages: ram.pages.length / PAGE_BYTES,
  };
  return writeSnapshotFile([
    { tag: 'META', encoding: Encoding.Deflate, bytes: encodeState(meta) },
    { tag: 'CONF', encoding: Encoding.Deflate, bytes: encodeState(saveConfig(machine)) },
    { tag: 'MACH', encoding: Encoding.Deflate, bytes: machineBytes },
    { tag: 'RAM ', encoding: Encoding.Stored, bytes: ramBytes },
    ...disks.map((disk) => ({ tag: diskTag(disk.slot), encoding: Encoding.Stored, bytes: encodeRam(disk.image) })),
  ]);
}

/** A disk's section: DSK and its virtio-mmio slot. */
function diskTag(slot: number): string {
  return `DSK${slot}`;
}

/** SHA-256 of the machine's state, RAM and disks: equal hashes, equal machines (what tests compare). */
export function machineStateHash(machine: Machine): string {
  return stateHash(encodeState(machine.saveState()), captureRam(machine.ram, true), machine.disks.map((entry) => captureDisk(entry.disk)));
}

/** Over the page maps and the pages that are not zero: the same as hashing all of RAM and the disks, for less. */
function stateHash(machineBytes: Uint8Array, ram: RamImage, disks: readonly RamImage[] = []): string {
  const hash = createHash('sha256').update(machineBytes).update(ram.bitmap).update(ram.pages);
  for (const disk of disks) hash.update(disk.bitmap).update(disk.pages);
  return hash.digest('hex');
}

/** A disk's contents as snapshots keep them: its 4 KiB blocks that are not zero. */
export function captureDisk(disk: ObservedDisk): RamImage {
  const pageCount = disk.blockCount;
  const bitmap = new Uint8Array(Math.ceil(pageCount / 8));
  const block = new Uint8Array(PAGE_BYTES);
  const words = new Int32Array(block.buffer);
  const kept: Uint8Array[] = [];
  for (let page = 0; page < pageCount; page++) {
    disk.readBlock(page, block);
    if (isZeroPage(words, 0)) continue;
    bitmap[page >> 3] |= 1 << (page & 7);
    kept.push(block.slice());
  }
  return { pageCount, bitmap, pages: concatenate(kept) };
}

/**
 * What rebuilds the machine: its configuration and the images it loaded (a reset reloads them).
 */
export function saveConfig(machine: Machine): StateRecord {
  const config = machine.config;
  const image = (file: ImageFile | undefined): StateValue => (file === undefined ? null : { fileName: file.fileName, bytes: file.bytes });
  const devices = machine.virtioSlots.map((entry): StateRecord => {
    switch (entry.kind) {
      case 'console': return { kind: 'console', slot: entry.slot };
      case 'entropy': {
        const source = (entry.device as VirtioEntropyDevice).source;
        if (source instanceof SeededEntropySource) return { kind: 'entropy', slot: entry.slot, seed: saveSeed(source.seed) };
        return { kind: 'entropy', slot: entry.slot, seed: null };
      }
      case 'net': {
        const card = entry.device as VirtioNetDevice;
        return { kind: 'net', slot: entry.slot, mac: Uint8Array.from(card.mac), linkUp: card.linkUp };
      }
      case 'block': {
        const disk = machine.disks.find((candidate) => candidate.slot === entry.slot)!;
        return {
          kind: 'block', slot: entry.slot, sectorCount: disk.disk.sectorCount, readOnly: disk.disk.readOnly, serial: disk.serial ?? null,
          description: disk.disk.description, supportsDiscard: disk.disk.supportsDiscard, supportsWriteZeroes: disk.disk.supportsWriteZeroes,
        };
      }
    }
  });
  return {
    memoryBytes: config.memoryBytes,
    hartCount: config.hartCount,
    cpu: config.cpu.name,
    bios: config.bios,
    firmware: image(config.firmware),
    kernel: image(config.kernel),
    initrd: image(config.initrd),
    dtb: image(config.dtb),
    append: config.append ?? null,
    rtcEpochNanoseconds: config.rtcEpochNanoseconds,
    icountShift: config.icountShift,
    idle: config.idle,
    virtioLegacy: config.virtioLegacy,
    devices,
  };
}

function saveSeed(seed: EntropySeed): StateValue {
  if (typeof seed === 'number') return { number: seed };
  if (typeof seed === 'string') return { text: seed };
  return { bytes: Uint8Array.from(seed) };
}

function isZeroPage(words: Int32Array, firstWord: number): boolean {
  for (let word = firstWord, end = firstWord + (PAGE_BYTES >> 2); word < end; word++) if (words[word] !== 0) return false;
  return true;
}

/** `everyPage`: read pages nothing marked written too (what the state hash does, so that a writer that failed to mark a page shows). */
function captureRam(ram: GuestRam, everyPage = false): RamImage {
  const bytes = ram.bytes;
  const pageCount = bytes.length / PAGE_BYTES;
  const bitmap = new Uint8Array(Math.ceil(pageCount / 8));
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  let nonZero = 0;
  for (let page = 0; page < pageCount; page++) {
    // A page nothing ever wrote is zero: not even read.
    if ((!everyPage && ram.touched[page] === 0) || isZeroPage(words, page * (PAGE_BYTES >> 2))) continue;
    bitmap[page >> 3] |= 1 << (page & 7);
    nonZero++;
  }
  const pages = new Uint8Array(nonZero * PAGE_BYTES);
  let at = 0;
  for (let page = 0; page < pageCount; page++) {
    if ((bitmap[page >> 3] & (1 << (page & 7))) === 0) continue;
    pages.set(bytes.subarray(page * PAGE_BYTES, (page + 1) * PAGE_BYTES), at);
    at += PAGE_BYTES;
  }
  return { pageCount, bitmap, pages };
}

export function encodeRam(ram: RamImage): Uint8Array {
  const parts: Uint8Array[] = [];
  const head = new DataView(new ArrayBuffer(12));
  head.setUint32(0, PAGE_BYTES, true);
  head.setUint32(4, ram.pageCount, true);
  head.setUint32(8, CHUNK_PAGES, true);
  parts.push(new Uint8Array(head.buffer), ram.bitmap);
  for (let start = 0; start < ram.pages.length; start += CHUNK_PAGES * PAGE_BYTES) {
    const chunk = ram.pages.subarray(start, Math.min(ram.pages.length, start + CHUNK_PAGES * PAGE_BYTES));
    const stored = zlib.deflateRawSync(chunk, { level: DEFLATE_LEVEL });
    const chunkHead = new DataView(new ArrayBuffer(8));
    chunkHead.setUint32(0, stored.length, true);
    chunkHead.setUint32(4, crc32(chunk), true);
    parts.push(new Uint8Array(chunkHead.buffer), stored);
  }
  return concatenate(parts);
}

export function writeSnapshotFile(sections: ReadonlyArray<{ tag: string; encoding: Encoding; bytes: Uint8Array }>, magic = SNAPSHOT_MAGIC): Uint8Array {
  const stored = sections.map((section) => (section.encoding === Encoding.Deflate ? zlib.deflateSync(section.bytes, { level: DEFLATE_LEVEL }) : section.bytes));
  const table = new DataView(new ArrayBuffer(SECTION_ENTRY_BYTES * sections.length));
  let offset = HEADER_BYTES + table.byteLength;
  sections.forEach((section, index) => {
    const entry = index * SECTION_ENTRY_BYTES;
    for (let i = 0; i < 4; i++) table.setUint8(entry + i, section.tag.charCodeAt(i));
    table.setUint32(entry + 4, section.encoding, true);
    table.setBigUint64(entry + 8, BigInt(offset), true);
    table.setBigUint64(entry + 16, BigInt(stored[index].length), true);
    table.setBigUint64(entry + 24, BigInt(section.bytes.length), true);
    table.setUint32(entry + 32, crc32(stored[index]), true);
    offset += stored[index].length;
  });
  const tableBytes = new Uint8Array(table.buffer);
  const header = new DataView(new ArrayBuffer(HEADER_BYTES));
  for (let i = 0; i < 8; i++) header.setUint8(i, magic.charCodeAt(i));
  header.setUint16(8, SNAPSHOT_FORMAT_VERSION, true);
  header.setUint16(10, HEADER_BYTES, true);
  header.setUint32(12, sections.length, true);
  header.setBigUint64(16, BigInt(offset), true);
  header.setUint32(24, crc32(tableBytes), true);
  const headerBytes = new Uint8Array(header.buffer);
  header.setUint32(60, crc32(headerBytes.subarray(0, 60)), true);
  return concatenate([headerBytes, tableBytes, ...stored]);
}

/**
 * A snapshot file with section `tag`'s decoded bytes replaced and every checksum made right
 * again: for tests and tools that need a well-formed file with contents of their choosing.
 */
export function rewriteSnapshotSection(file: Uint8Array, tag: string, bytes: Uint8Array, magic = SNAPSHOT_MAGIC): Uint8Array {
  const sections = readSections(file, magic).sections.map((section) => (section.tag === tag ? { ...section, bytes } : section));
  return writeSnapshotFile(sections, magic);
}

/** The decoded bytes of one section of a (checked) snapshot file (or a recording, with its signature). */
export function snapshotSectionBytes(file: Uint8Array, tag: string, magic = SNAPSHOT_MAGIC): Uint8Array {
  const section = readSections(file, magic).sections.find((candidate) => candidate.tag === tag);
  if (section === undefined) throw new SnapshotError(`snapshot has no '${tag.trim()}' section`);
  return section.bytes;
}


// ---- reading ----------------------------------------------------------------------------------

/** Reads and checks a whole snapshot file: header, checksums, every section decoded. */
export function readSnapshot(file: Uint8Array): ParsedSnapshot {
  const { version, fileBytes, sections } = readSections(file);
  const section = (tag: string): Uint8Array => {
    const found = sections.find((candidate) => candidate.tag === tag);
    if (found === undefined) throw new SnapshotError(`snapshot has no '${tag.trim()}' section`);
    return found.bytes;
  };
  const meta = new StateReader(decodeState(section('META'), 'snapshot META section'), 'meta');
  const config = new StateReader(decodeState(section('CONF'), 'snapshot CONF section'), 'config');
  const machine = new StateReader(decodeState(section('MACH'), 'snapshot MACH section'), 'machine');
  const ram = decodeRam(section('RAM '));
  const memoryBytes = config.integer('memoryBytes', PAGE_BYTES, MAX_RAM_SIZE);
  if (ram.pageCount * PAGE_BYTES !== memoryBytes) {
    throw new SnapshotError(`snapshot RAM section holds ${ram.pageCount} pages, the machine has ${memoryBytes / PAGE_BYTES}`);
  }
  const disks = new Map<number, RamImage>();
  for (const device of config.records('devices', undefined, VIRTIO_MMIO_SLOTS)) {
    if (device.string('kind') !== 'block') continue;
    const slot = device.integer('slot', 0, VIRTIO_MMIO_SLOTS - 1);
    const image = decodeRam(section(diskTag(slot)), `disk in slot ${slot}`);
    const sectorCount = device.integer('sectorCount', 1);
    if (image.pageCount !== Math.ceil(sectorCount / (PAGE_BYTES / 512))) throw new SnapshotError(`snapshot disk section of slot ${slot} holds ${image.pageCount} blocks for ${sectorCount} sectors`);
    disks.set(slot, image);
  }
  const infos = sections.map((entry) => ({ tag: entry.tag.trim(), storedBytes: entry.storedBytes, decodedBytes: entry.bytes.length }));
  return { formatVersion: version, meta, config, machine, ram, disks, sections: infos, fileBytes };
}

export interface RawSection {
  readonly tag: string;
  readonly encoding: Encoding;
  readonly storedBytes: number;
  readonly bytes: Uint8Array;
}

/** The header, the table and every section checked and decoded. */
export function readSections(file: Uint8Array, magic = SNAPSHOT_MAGIC, what = 'snapshot'): { version: number; fileBytes: number; sections: RawSection[] } {
  if (file.length < HEADER_BYTES) throw new SnapshotError(`not a Ringside ${what}: ${file.length} bytes, shorter than the ${HEADER_BYTES}-byte header`);
  const signature = String.fromCharCode(...file.subarray(0, 8));
  if (signature !== magic) throw new SnapshotError(`not a Ringside ${what} (no ${magic} signature)`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = view.getUint16(8, true);
  if (crc32(file.subarray(0, 60)) !== view.getUint32(60, true)) throw new SnapshotError(`${what} header is damaged (checksum mismatch)`);
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotError(`${what} format version ${version} is not supported (this Ringside reads version ${SNAPSHOT_FORMAT_VERSION})`);
  }
  if (view.getUint16(10, true) !== HEADER_BYTES) throw new SnapshotError(`${what} header size ${view.getUint16(10, true)} is not ${HEADER_BYTES}`);
  const sectionCount = view.getUint32(12, true);
  if (sectionCount > MAXIMUM_SECTIONS) throw new SnapshotError(`${what} claims ${sectionCount} sections (at most ${MAXIMUM_SECTIONS})`);
  const fileBytes = Number(view.getBigUint64(16, true));
  if (fileBytes !== file.length) {
    throw new SnapshotError(fileBytes > file.length
      ? `${what} is truncated: ${file.length} of ${fileBytes} bytes`
      : `${what} has ${file.length - fileBytes} bytes after its end`);
  }
  const tableEnd = HEADER_BYTES + sectionCount * SECTION_ENTRY_BYTES;
  if (tableEnd > file.length) throw new SnapshotError(`${what} is truncated inside its section table`);
  if (crc32(file.subarray(HEADER_BYTES, tableEnd)) !== view.getUint32(24, true)) throw new SnapshotError(`${what} section table is damaged (checksum mismatch)`);
  const sections: RawSection[] = [];
  for (let index = 0; index < sectionCount; index++) {
    const entry = HEADER_BYTES + index * SECTION_ENTRY_BYTES;
    const tag = String.fromCharCode(...file.subarray(entry, entry + 4));
    const encoding = view.getUint32(entry + 4, true);
    const offset = Number(view.getBigUint64(entry + 8, true));
    const storedBytes = Number(view.getBigUint64(entry + 16, true));
    const decodedBytes = Number(view.getBigUint64(entry + 24, true));
    if (offset < tableEnd || offset + storedBytes > file.length) throw new SnapshotError(`${what} section '${tag}' lies outside the file`);
    const stored = file.subarray(offset, offset + storedBytes);
    if (crc32(stored) !== view.getUint32(entry + 32, true)) throw new SnapshotError(`${what} section '${tag}' is damaged (checksum mismatch)`);
    if (sections.some((section) => section.tag === tag)) throw new SnapshotError(`${what} has two '${tag}' sections`);
    let bytes: Uint8Array;
    if (encoding === Encoding.Stored) bytes = stored;
    else if (encoding === Encoding.Deflate) bytes = inflate(stored, decodedBytes, `section '${tag}'`);
    else throw new SnapshotError(`${what} section '${tag}' has unknown encoding ${encoding}`);
    if (bytes.length !== decodedBytes) throw new SnapshotError(`${what} section '${tag}' decodes to ${bytes.length} bytes, not ${decodedBytes}`);
    sections.push({ tag, encoding: encoding as Encoding, storedBytes, bytes });
  }
  return { version, fileBytes, sections };
}

function inflate(stored: Uint8Array, expected: number, what: string, raw = false): Uint8Array {
  try {
    // maxOutputLength stops a small hostile stream from inflating without bound.
    const options = { maxOutputLength: Math.max(1, expected) };
    const result = raw ? zlib.inflateRawSync(stored, options) : zlib.inflateSync(stored, options);
    return new Uint8Array(result.buffer, result.byteOffset, result.byteLength);
  } catch (error) {
    throw new SnapshotError(`snapshot ${what} does not decompress: ${(error as Error).message}`);
  }
}

export function decodeRam(bytes: Uint8Array, what = 'RAM'): RamImage {
  if (bytes.length < 12) throw new SnapshotError(`snapshot ${what} section is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pageBytes = view.getUint32(0, true);
  const pageCount = view.getUint32(4, true);
  const chunkPages = view.getUint32(8, true);
  if (pageBytes !== PAGE_BYTES) throw new SnapshotError(`snapshot ${what} pages are ${pageBytes} bytes, not ${PAGE_BYTES}`);
  if (pageCount > (what === 'RAM' ? MAX_RAM_SIZE / PAGE_BYTES : MAX_DISK_BLOCKS)) throw new SnapshotError(`snapshot ${what} of ${pageCount} pages is larger than a machine can have`);
  if (chunkPages < 1 || chunkPages > 65536) throw new SnapshotError(`snapshot ${what} chunks of ${chunkPages} pages are not valid`);
  const bitmapBytes = Math.ceil(pageCount / 8);
  if (12 + bitmapBytes > bytes.length) throw new SnapshotError(`snapshot ${what} section is truncated in its page map`);
  const bitmap = bytes.subarray(12, 12 + bitmapBytes);
  let nonZero = 0;
  for (let page = 0; page < pageCount; page++) if (bitmap[page >> 3] & (1 << (page & 7))) nonZero++;
  for (let page = pageCount; page < bitmapBytes * 8; page++) {
    if (bitmap[page >> 3] & (1 << (page & 7))) throw new SnapshotError(`snapshot ${what} page map marks pages beyond its end`);
  }
  const pages = new Uint8Array(nonZero * PAGE_BYTES);
  let at = 12 + bitmapBytes;
  for (let start = 0; start < pages.length; start += chunkPages * PAGE_BYTES) {
    const expected = Math.min(pages.length - start, chunkPages * PAGE_BYTES);
    if (at + 8 > bytes.length) throw new SnapshotError(`snapshot ${what} section is truncated at page ${start / PAGE_BYTES} of ${nonZero} stored`);
    const storedBytes = view.getUint32(at, true);
    const checksum = view.getUint32(at + 4, true);
    at += 8;
    if (at + storedBytes > bytes.length) throw new SnapshotError(`snapshot ${what} section is truncated at page ${start / PAGE_BYTES} of ${nonZero} stored`);
    const chunk = inflate(bytes.subarray(at, at + storedBytes), expected, `${what} chunk at page ${start / PAGE_BYTES}`, true);
    if (chunk.length !== expected || crc32(chunk) !== checksum) throw new SnapshotError(`snapshot ${what} chunk at page ${start / PAGE_BYTES} is damaged`);
    pages.set(chunk, start);
    at += storedBytes;
  }
  if (at !== bytes.length) throw new SnapshotError(`snapshot ${what} section has ${bytes.length - at} stray bytes`);
  return { pageCount, bitmap, pages };
}

// ---- restoring --------------------------------------------------------------------------------

/** What the host supplies to a restored machine (its own side: console, log, tier). */
export interface RestoreHost {
  consoleOutput?: (byte: number) => void;
  log?: (message: string) => void;
  tier?: MachineConfig['tier'];
  /** Overrides the saved idle mode (pace or skip). */
  idle?: MachineConfig['idle'];
  /** The host side of network card `index` (in slot order); without one a card's frames go nowhere. */
  networkBackend?: (index: number) => NetBackend;
  /** The disk for `slot` (its contents are then written from the snapshot); default: a copy in memory. */
  blockBackend?: (slot: number, sectorCount: number, readOnly: boolean) => BlockBackend;
}

/** The configuration a snapshot's machine was built from, with the host's side filled in. */
export function snapshotMachineConfig(snapshot: Pick<ParsedSnapshot, 'config'> & { readonly disks?: ReadonlyMap<number, RamImage> }, host: RestoreHost = {}): MachineConfig {
  const config = snapshot.config;
  const image = (key: string): ImageFile | undefined => {
    if (config.isNull(key)) return undefined;
    const file = config.child(key);
    return { fileName: file.string('fileName'), bytes: file.bytes('bytes') };
  };
  const bios = config.choice('bios', ['none', 'builtin', 'firmware'] as const);
  const firmware = image('firmware');
  if ((bios === 'firmware') !== (firmware !== undefined)) throw new SnapshotError('config.firmware: does not match config.bios');
  let cards = 0;
  const devices = config.records('devices', undefined, VIRTIO_MMIO_SLOTS).map((device): VirtioDeviceConfig => {
    const kind = device.choice('kind', ['console', 'entropy', 'net', 'block'] as const);
    const slot = device.integer('slot', 0, VIRTIO_MMIO_SLOTS - 1);
    if (kind === 'console') return { kind, slot };
    if (kind === 'block') {
      const sectorCount = device.integer('sectorCount', 1, MAX_DISK_BLOCKS * (PAGE_BYTES / 512));
      const readOnly = device.boolean('readOnly');
      const serial = device.nullableString('serial') ?? undefined;
      // By default a restored disk is a copy in memory, offering what the disk did: restoring never changes an image file.
      const image = 'disks' in snapshot ? (snapshot.disks as ReadonlyMap<number, RamImage>).get(slot) : undefined;
      const backend = host.blockBackend?.(slot, sectorCount, readOnly) ?? new MemoryDisk(
        image !== undefined ? expandImage(image, sectorCount * 512) : sectorCount * 512,
        { name: `copy of ${device.string('description')}`, readOnly, supportsDiscard: device.boolean('supportsDiscard'), supportsWriteZeroes: device.boolean('supportsWriteZeroes') });
      return { kind, slot, backend, serial };
    }
    if (kind === 'net') {
      const backend = host.networkBackend?.(cards++) ?? new UnpluggedNetwork();
      return { kind, slot, mac: device.bytes('mac', 6), linkUp: device.boolean('linkUp'), backend };
    }
    if (device.isNull('seed')) return { kind, slot, source: new HostEntropySource() };
    return { kind, slot, source: new SeededEntropySource(readSeed(device.child('seed'))) };
  });
  return {
    memoryBytes: config.integer('memoryBytes', PAGE_BYTES, MAX_RAM_SIZE),
    hartCount: config.integer('hartCount', 1, MAX_HARTS),
    cpu: config.string('cpu'),
    bios: bios === 'firmware' ? firmware! : bios,
    kernel: image('kernel'),
    initrd: image('initrd'),
    dtb: image('dtb'),
    append: config.isNull('append') ? undefined : config.string('append'),
    rtcEpochNanoseconds: config.integer('rtcEpochNanoseconds'),
    icountShift: config.integer('icountShift', 0, 64),
    idle: host.idle ?? config.choice('idle', ['pace', 'skip'] as const),
    virtioLegacy: config.boolean('virtioLegacy'),
    virtioDevices: devices,
    tier: host.tier,
    consoleOutput: host.consoleOutput,
    log: host.log,
  };
}

function readSeed(seed: StateReader): EntropySeed {
  if (seed.has('number')) return seed.integer('number', 0);
  if (seed.has('text')) return seed.string('text');
  if (seed.has('bytes')) return seed.bytes('bytes');
  return DEFAULT_ENTROPY_SEED;
}

/**
 * Puts a snapshot's state into `machine`, which must have been built from the snapshot's
 * configuration (snapshotMachineConfig). On any error the machine is as it was.
 */
export function restoreSnapshot(machine: Machine, snapshot: ParsedSnapshot): void {
  if (machine.ram.bytes.length !== snapshot.ram.pageCount * PAGE_BYTES) {
    throw new SnapshotError(`the snapshot's RAM is ${snapshot.ram.pageCount * PAGE_BYTES} bytes, this machine's ${machine.ram.bytes.length}`);
  }
  checkSameMachine(machine, snapshot.config);
  const { bitmap, pages, pageCount } = snapshot.ram;
  const disks = machine.disks;
  for (const { slot, disk } of disks) {
    const image = snapshot.disks.get(slot);
    if (image === undefined || image.pageCount !== disk.blockCount) throw new SnapshotError(`the snapshot's disk in slot ${slot} does not fit this machine's`);
    if (disk.readOnly && !sameImage(captureDisk(disk), image)) {
      throw new SnapshotError(`the disk in slot ${slot} (${disk.description}) is read-only and holds other contents than at the snapshot`);
    }
  }
  const touched = machine.ram.touched;
  machine.restoreState(snapshot.machine, (ram) => {
    // Disks with RAM: both as they were at the snapshot, or neither.
    for (const { slot, disk } of disks) if (!disk.readOnly) writeDiskImage(disk, snapshot.disks.get(slot)!);
    let at = 0;
    for (let page = 0; page < pageCount; page++) {
      if ((bitmap[page >> 3] & (1 << (page & 7))) === 0) {
        // Only pages something wrote are cleared: writing one the host never touched would commit it.
        if (touched[page] !== 0) ram.fill(0, page * PAGE_BYTES, (page + 1) * PAGE_BYTES);
        continue;
      }
      touched[page] = 1;
      ram.set(pages.subarray(at, at + PAGE_BYTES), page * PAGE_BYTES);
      at += PAGE_BYTES;
    }
  });
}

/** A block image's contents as one array of `byteLength` bytes (a disk in memory). */
export function expandImage(image: RamImage, byteLength: number): Uint8Array {
  const bytes = new Uint8Array(byteLength);
  let at = 0;
  for (let page = 0; page < image.pageCount; page++) {
    if ((image.bitmap[page >> 3] & (1 << (page & 7))) === 0) continue;
    const start = page * PAGE_BYTES;
    bytes.set(image.pages.subarray(at, at + Math.min(PAGE_BYTES, byteLength - start)), start);
    at += PAGE_BYTES;
  }
  return bytes;
}

function sameImage(a: RamImage, b: RamImage): boolean {
  return a.pageCount === b.pageCount && sameBytes(a.bitmap, b.bitmap) && sameBytes(a.pages, b.pages);
}

/** Puts a disk's snapshot contents back: changed blocks written, blocks now zero cleared. */
function writeDiskImage(disk: ObservedDisk, image: RamImage): void {
  const current = new Uint8Array(PAGE_BYTES);
  const zero = new Uint8Array(PAGE_BYTES);
  let at = 0;
  for (let block = 0; block < image.pageCount; block++) {
    disk.readBlock(block, current);
    if ((image.bitmap[block >> 3] & (1 << (block & 7))) === 0) {
      if (!isZeroPage(new Int32Array(current.buffer), 0)) disk.writeBlock(block, zero);
      continue;
    }
    const wanted = image.pages.subarray(at, at + PAGE_BYTES);
    at += PAGE_BYTES;
    if (!sameBytes(current, wanted)) disk.writeBlock(block, wanted);
  }
}

/**
 * A snapshot only fits the machine it was taken of: the same RAM, harts, CPU, boot, images (a
 * reset reloads them; symbols describe them) and devices. Names the first difference.
 */
function checkSameMachine(machine: Machine, saved: StateReader): void {
  const current = new StateReader(saveConfig(machine), 'this machine');
  const differ = (what: string): never => {
    throw new SnapshotError(`the snapshot is of another machine: its ${what} differs from this machine's`);
  };
  for (const key of ['memoryBytes', 'hartCount', 'icountShift'] as const) if (saved.number(key) !== current.number(key)) differ(key);
  for (const key of ['cpu', 'bios'] as const) if (saved.string(key) !== current.string(key)) differ(key);
  if (saved.boolean('virtioLegacy') !== current.boolean('virtioLegacy')) differ('virtio-mmio version');
  for (const key of ['firmware', 'kernel', 'initrd', 'dtb'] as const) {
    if (saved.isNull(key) !== current.isNull(key)) differ(key);
    if (!saved.isNull(key) && !sameBytes(saved.child(key).bytes('bytes'), current.child(key).bytes('bytes'))) differ(`${key} image`);
  }
  const devices = (reader: StateReader): string => reader.records('devices')
    .map((device) => `${device.string('kind')}@${device.integer('slot')}${device.string('kind') === 'block' ? `:${device.integer('sectorCount')}` : ''}`).join(',');
  if (devices(saved) !== devices(current)) differ('set of virtio devices');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** A restored card's host side when none is given: its frames go nowhere, none arrive. */
class UnpluggedNetwork implements NetBackend {
  readonly description = 'none (restored from a snapshot without a network)';
  send(): void {}
  setReceiver(): void {}
  close(): void {}
}

/** What `ringside snapshot info` shows. */
export interface SnapshotSummary {
  readonly formatVersion: number;
  readonly fileBytes: number;
  readonly name: string | null;
  readonly stateHash: string;
  readonly memoryBytes: number;
  readonly nonZeroPages: number;
  readonly virtualNanoseconds: number;
  readonly bios: string;
  readonly images: ReadonlyArray<{ role: string; fileName: string; bytes: number; sha256: string }>;
  readonly devices: ReadonlyArray<{ kind: string; slot: number }>;
  readonly harts: ReadonlyArray<{ pc: string; privilege: number; instructionsRetired: number; waiting: boolean }>;
  readonly sections: readonly SectionInfo[];
}

export function summarizeSnapshot(snapshot: ParsedSnapshot): SnapshotSummary {
  const { meta, config } = snapshot;
  const images: Array<{ role: string; fileName: string; bytes: number; sha256: string }> = [];
  for (const role of ['firmware', 'kernel', 'initrd', 'dtb']) {
    if (config.isNull(role)) continue;
    const file = config.child(role);
    const bytes = file.bytes('bytes');
    images.push({ role, fileName: file.string('fileName'), bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return {
    formatVersion: snapshot.formatVersion,
    fileBytes: snapshot.fileBytes,
    name: meta.nullableString('name'),
    stateHash: meta.string('stateHash'),
    memoryBytes: config.integer('memoryBytes'),
    nonZeroPages: meta.integer('nonZeroPages', 0),
    virtualNanoseconds: meta.nonNegative('virtualNanoseconds'),
    bios: config.string('bios'),
    images,
    devices: config.records('devices').map((device) => ({ kind: device.string('kind'), slot: device.integer('slot') })),
    harts: meta.records('harts', undefined, MAX_HARTS).map((hart) => ({
      pc: hart.string('pc'), privilege: hart.integer('privilege', 0, 3), instructionsRetired: hart.integer('instructionsRetired', 0), waiting: hart.boolean('waiting'),
    })),
    sections: snapshot.sections,
  };
}
