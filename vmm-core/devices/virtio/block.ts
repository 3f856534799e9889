// virtio-blk (device id 2, virtio 1.2 §5.2) over a BlockBackend: read, write, flush, get-id,
// discard and write-zeroes on one request queue. Requests complete synchronously; the status
// byte is written after the data, then the chain goes to the used ring. A request the disk
// cannot serve (beyond capacity, misaligned, read-only, a BridgeError) answers IOERR and is
// counted; only a malformed request framing (no header, no status byte) breaks the device.

import { BridgeError, SECTOR_SIZE, type BlockBackend } from '../../bridges/types';
import { VirtioDeviceId } from './constants';
import { FeatureBits } from './features';
import {
  getU32,
  getU64,
  putU32,
  putU64,
  restoreCounters,
  type JsonObject,
  type VirtioDevice,
  type VirtioDeviceContext,
} from './virtio-device';
import { VirtioError, type DescriptorChain } from './virtqueue';

/** Feature bits (§5.2.3). */
export const VirtioBlockFeature = {
  SizeMax: 1,
  SegMax: 2,
  Geometry: 4,
  ReadOnly: 5,
  BlockSize: 6,
  Flush: 9,
  Topology: 10,
  ConfigWce: 11,
  MultiQueue: 12,
  Discard: 13,
  WriteZeroes: 14,
} as const;

/** Request types (§5.2.6). */
export const VirtioBlockRequest = {
  In: 0,
  Out: 1,
  Flush: 4,
  /** Legacy synonym of Flush. */
  FlushOut: 5,
  GetId: 8,
  GetLifetime: 10,
  Discard: 11,
  WriteZeroes: 13,
  SecureErase: 14,
} as const;

/** Legacy barrier flag in the type field; the request is served without it. */
const LEGACY_BARRIER = 0x8000_0000;

export const VirtioBlockStatus = {
  Ok: 0,
  IoError: 1,
  Unsupported: 2,
} as const;

/** Request header: le32 type, le32 reserved, le64 sector. */
export const BLOCK_REQUEST_HEADER_SIZE = 16;
/** One discard / write-zeroes segment: le64 sector, le32 num_sectors, le32 flags. */
export const DISCARD_SEGMENT_SIZE = 16;
const DISCARD_FLAG_UNMAP = 1;
/** Bytes of the GET_ID answer. */
export const BLOCK_ID_BYTES = 20;

export const BLOCK_QUEUE_SIZE = 256;
/** size_max: the largest single data buffer the driver should use. */
export const BLOCK_SIZE_MAX = 1024 * 1024;
/** Discard / write-zeroes limits advertised in config space. */
export const BLOCK_MAX_DISCARD_SECTORS = 0x20_0000;
export const BLOCK_MAX_DISCARD_SEGMENTS = 16;
/** Data moves through this many bytes at a time, so a request's size never sets an allocation's. */
const TRANSFER_CHUNK = 64 * 1024;

/** Config space up to and including write_zeroes_may_unmap and its padding (§5.2.4). */
const CONFIG_SIZE = 60;

export interface VirtioBlockOptions {
  backend: BlockBackend;
  /** GET_ID answer: ASCII, at most 20 bytes (NUL-padded). Default "" (all zeros). */
  serial?: string;
  /** QueueNumMax of the request queue (power of two). Default 256. */
  queueSize?: number;
}

export type VirtioBlockCounters = {
  requests: number;
  reads: number;
  writes: number;
  flushes: number;
  getIds: number;
  discards: number;
  writeZeroes: number;
  bytesRead: number;
  bytesWritten: number;
  /** Requests answered IOERR (bad range, read-only, backend failure). */
  ioErrors: number;
  /** Of those, failures the backend reported. */
  backendErrors: number;
  /** Requests answered UNSUPP. */
  unsupported: number;
};

export class VirtioBlockDevice implements VirtioDevice {
  readonly deviceId = VirtioDeviceId.Block;
  readonly typeName = 'virtio-blk';
  readonly queueMaxSizes: readonly number[];
  readonly deviceFeatures: FeatureBits;
  readonly backend: BlockBackend;
  readonly readOnly: boolean;
  readonly counters: VirtioBlockCounters = freshCounters();

  private readonly serial: Uint8Array;
  /** The serial as configured (GET_ID answers it NUL-padded). */
  readonly serialText: string;
  private readonly config: Uint8Array;
  private readonly segMax: number;
  private context: VirtioDeviceContext | null = null;
  private readonly chunk = new Uint8Array(TRANSFER_CHUNK);

  constructor(options: VirtioBlockOptions) {
    this.backend = options.backend;
    this.readOnly = options.backend.readOnly;
    const queueSize = options.queueSize ?? BLOCK_QUEUE_SIZE;
    this.queueMaxSizes = [queueSize];
    this.segMax = Math.max(1, queueSize - 2);
    this.serial = encodeSerial(options.serial ?? '');
    this.serialText = options.serial ?? '';
    const bits: number[] = [VirtioBlockFeature.SizeMax, VirtioBlockFeature.SegMax, VirtioBlockFeature.BlockSize, VirtioBlockFeature.Flush];
    if (this.readOnly) bits.push(VirtioBlockFeature.ReadOnly);
    else {
      if (this.backend.supportsDiscard) bits.push(VirtioBlockFeature.Discard);
      if (this.backend.supportsWriteZeroes) bits.push(VirtioBlockFeature.WriteZeroes);
    }
    this.deviceFeatures = FeatureBits.of(...bits);
    this.config = this.buildConfig();
  }

  get capacity(): number {
    return this.backend.sectorCount;
  }

  private buildConfig(): Uint8Array {
    const config = new Uint8Array(CONFIG_SIZE);
    putU64(config, 0, this.backend.sectorCount);
    putU32(config, 8, BLOCK_SIZE_MAX);
    putU32(config, 12, this.segMax);
    // geometry (16..19) stays zero: GEOMETRY is not offered.
    putU32(config, 20, SECTOR_SIZE);
    // topology (24..31), writeback (32), num_queues (34): not offered.
    if (this.deviceFeatures.has(VirtioBlockFeature.Discard)) {
      putU32(config, 36, BLOCK_MAX_DISCARD_SECTORS);
      putU32(config, 40, BLOCK_MAX_DISCARD_SEGMENTS);
      putU32(config, 44, 1);
    }
    if (this.deviceFeatures.has(VirtioBlockFeature.WriteZeroes)) {
      putU32(config, 48, BLOCK_MAX_DISCARD_SECTORS);
      putU32(config, 52, BLOCK_MAX_DISCARD_SEGMENTS);
      config[56] = this.backend.supportsDiscard ? 1 : 0;
    }
    return config;
  }

  configSpace(): Uint8Array {
    return this.config;
  }

  writeConfig(): void {
    // Every field is read-only without CONFIG_WCE.
  }

  activate(context: VirtioDeviceContext): void {
    this.context = context;
  }

  reset(): void {
    this.context = null;
  }

  processQueue(queueIndex: number): void {
    const context = this.context;
    if (!context || queueIndex !== 0) return;
    context.queue(0).serveAvailable((chain) => this.serve(context, chain));
    context.notifyUsed(0);
  }

  /** Serves one request; returns how many bytes it wrote into the chain (status byte included). */
  private serve(context: VirtioDeviceContext, chain: DescriptorChain): number {
    const memory = context.memory;
    if (chain.readableLength < BLOCK_REQUEST_HEADER_SIZE) {
      throw new VirtioError(`virtio-blk: request (descriptor ${chain.head}) has ${chain.readableLength} device-readable bytes, less than its ${BLOCK_REQUEST_HEADER_SIZE}-byte header`);
    }
    if (chain.writableLength < 1) {
      throw new VirtioError(`virtio-blk: request (descriptor ${chain.head}) has no device-writable status byte`);
    }
    this.counters.requests++;
    const header = chain.readAll(memory, 0, BLOCK_REQUEST_HEADER_SIZE);
    let type = getU32(header, 0);
    if (context.legacy) type = (type & ~LEGACY_BARRIER) >>> 0;
    const sector = getU64(header, 8);
    const statusOffset = chain.writableLength - 1;
    let written = 0;
    let status: number;
    switch (type) {
      case VirtioBlockRequest.In: {
        const result = this.read(context, chain, sector, statusOffset);
        status = result.status;
        written = result.written;
        break;
      }
      case VirtioBlockRequest.Out:
        status = this.write(context, chain, sector);
        break;
      case VirtioBlockRequest.Flush:
      case VirtioBlockRequest.FlushOut:
        this.counters.flushes++;
        status = this.callBackend(context, () => this.backend.flush());
        break;
      case VirtioBlockRequest.GetId:
        this.counters.getIds++;
        written = chain.write(memory, 0, this.serial.subarray(0, Math.min(BLOCK_ID_BYTES, statusOffset)));
        status = VirtioBlockStatus.Ok;
        break;
      case VirtioBlockRequest.Discard:
      case VirtioBlockRequest.WriteZeroes:
        status = this.discardOrWriteZeroes(context, chain, type);
        break;
      default:
        status = VirtioBlockStatus.Unsupported;
    }
    if (status === VirtioBlockStatus.IoError) this.counters.ioErrors++;
    else if (status === VirtioBlockStatus.Unsupported) this.counters.unsupported++;
    chain.write(memory, statusOffset, Uint8Array.of(status));
    return written + 1;
  }

  /** Checks a data transfer of `length` bytes at `sector` against alignment and capacity. */
  private rangeOk(sector: number, length: number): boolean {
    if (length % SECTOR_SIZE !== 0) return false;
    const count = length / SECTOR_SIZE;
    return sector <= this.capacity && count <= this.capacity - sector;
  }

  private read(context: VirtioDeviceContext, chain: DescriptorChain, sector: number, dataLength: number): { status: number; written: number } {
    this.counters.reads++;
    if (!this.rangeOk(sector, dataLength)) return { status: VirtioBlockStatus.IoError, written: 0 };
    let done = 0;
    while (done < dataLength) {
      const length = Math.min(TRANSFER_CHUNK, dataLength - done);
      const piece = this.chunk.subarray(0, length);
      const status = this.callBackend(context, () => this.backend.read(sector + done / SECTOR_SIZE, piece));
      if (status !== VirtioBlockStatus.Ok) return { status, written: done };
      chain.write(context.memory, done, piece);
      done += length;
      this.counters.bytesRead += length;
    }
    return { status: VirtioBlockStatus.Ok, written: done };
  }

  private write(context: VirtioDeviceContext, chain: DescriptorChain, sector: number): number {
    this.counters.writes++;
    const dataLength = chain.readableLength - BLOCK_REQUEST_HEADER_SIZE;
    if (this.readOnly) return VirtioBlockStatus.IoError;
    if (!this.rangeOk(sector, dataLength)) return VirtioBlockStatus.IoError;
    let done = 0;
    while (done < dataLength) {
      const length = Math.min(TRANSFER_CHUNK, dataLength - done);
      const piece = this.chunk.subarray(0, length);
      chain.read(context.memory, BLOCK_REQUEST_HEADER_SIZE + done, piece);
      const status = this.callBackend(context, () => this.backend.write(sector + done / SECTOR_SIZE, piece));
      if (status !== VirtioBlockStatus.Ok) return status;
      done += length;
      this.counters.bytesWritten += length;
    }
    return VirtioBlockStatus.Ok;
  }

  /** DISCARD or WRITE_ZEROES: every segment is checked before any is carried out. */
  private discardOrWriteZeroes(context: VirtioDeviceContext, chain: DescriptorChain, type: number): number {
    const discard = type === VirtioBlockRequest.Discard;
    if (discard) this.counters.discards++;
    else this.counters.writeZeroes++;
    const feature = discard ? VirtioBlockFeature.Discard : VirtioBlockFeature.WriteZeroes;
    if (!this.deviceFeatures.has(feature) || !context.features.has(feature)) return VirtioBlockStatus.Unsupported;
    const dataLength = chain.readableLength - BLOCK_REQUEST_HEADER_SIZE;
    if (dataLength === 0 || dataLength % DISCARD_SEGMENT_SIZE !== 0) return VirtioBlockStatus.IoError;
    const segmentCount = dataLength / DISCARD_SEGMENT_SIZE;
    if (segmentCount > BLOCK_MAX_DISCARD_SEGMENTS) return VirtioBlockStatus.Unsupported;
    const data = chain.readAll(context.memory, BLOCK_REQUEST_HEADER_SIZE, dataLength);
    const segments: { sector: number; count: number; unmap: boolean }[] = [];
    for (let i = 0; i < segmentCount; i++) {
      const sector = getU64(data, i * DISCARD_SEGMENT_SIZE);
      const count = getU32(data, i * DISCARD_SEGMENT_SIZE + 8);
      const flags = getU32(data, i * DISCARD_SEGMENT_SIZE + 12);
      if ((flags & ~DISCARD_FLAG_UNMAP) !== 0) return VirtioBlockStatus.Unsupported;
      if (discard && (flags & DISCARD_FLAG_UNMAP) !== 0) return VirtioBlockStatus.Unsupported;
      if (count > BLOCK_MAX_DISCARD_SECTORS) return VirtioBlockStatus.IoError;
      if (!this.rangeOk(sector, count * SECTOR_SIZE)) return VirtioBlockStatus.IoError;
      segments.push({ sector, count, unmap: (flags & DISCARD_FLAG_UNMAP) !== 0 });
    }
    for (const segment of segments) {
      if (segment.count === 0) continue;
      const status = this.callBackend(context, () => {
        if (discard) this.backend.discard(segment.sector, segment.count);
        else this.backend.writeZeroes(segment.sector, segment.count, segment.unmap && this.backend.supportsDiscard);
      });
      if (status !== VirtioBlockStatus.Ok) return status;
    }
    return VirtioBlockStatus.Ok;
  }

  /** Runs a backend call: a BridgeError (or any other failure of the backend) answers IOERR. */
  private callBackend(context: VirtioDeviceContext, call: () => void): number {
    try {
      call();
      return VirtioBlockStatus.Ok;
    } catch (error) {
      this.counters.backendErrors++;
      if (!(error instanceof BridgeError)) {
        context.log(`virtio-blk: ${this.backend.description}: unexpected backend failure: ${error instanceof Error ? error.message : String(error)}`);
      }
      return VirtioBlockStatus.IoError;
    }
  }

  saveState(): JsonObject {
    return { counters: { ...this.counters } };
  }

  restoreState(state: JsonObject): void {
    restoreCounters(this.counters, state.counters);
  }
}

function freshCounters(): VirtioBlockCounters {
  return {
    requests: 0, reads: 0, writes: 0, flushes: 0, getIds: 0, discards: 0, writeZeroes: 0,
    bytesRead: 0, bytesWritten: 0, ioErrors: 0, backendErrors: 0, unsupported: 0,
  };
}

/** The GET_ID string: ASCII, NUL-padded to 20 bytes. */
function encodeSerial(serial: string): Uint8Array {
  if (!/^[\x20-\x7e]*$/.test(serial)) throw new RangeError(`virtio-blk serial must be printable ASCII, got ${JSON.stringify(serial)}`);
  if (serial.length > BLOCK_ID_BYTES) throw new RangeError(`virtio-blk serial is at most ${BLOCK_ID_BYTES} characters, got ${serial.length}`);
  const bytes = new Uint8Array(BLOCK_ID_BYTES);
  for (let i = 0; i < serial.length; i++) bytes[i] = serial.charCodeAt(i);
  return bytes;
}
