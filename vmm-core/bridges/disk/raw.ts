// A raw image file: sector n is bytes 512n..512n+511 of the file.
// A trailing partial sector (a file whose size is not a multiple of 512) is not exposed; QEMU
// would round the size up and read the missing bytes as zeros. Node cannot punch holes, so
// discard is not advertised (supportsDiscard = false); if called it writes zeros. Write-zeroes
// is advertised and skips ranges that already read as zeros, so it never fills a sparse file.

import { BlockBackend, BridgeError, SECTOR_SIZE } from '../types';
import type { ImageFile } from './image-file';
import type { ImageLock } from './lock';
import { formatName, probeFormat } from './probe';
import { ZERO_CHUNK, checkRequest, checkSectorRange, isAllZero } from './request';

const RAW_ZERO_GRANULE = 4096;

export class RawImage implements BlockBackend {
  readonly description: string;
  readonly sectorCount: number;
  readonly readOnly: boolean;
  readonly supportsDiscard = false;
  readonly supportsWriteZeroes: boolean;
  private readonly file: ImageFile;
  private readonly lock: ImageLock | null;
  /** The format was probed, not given: sector 0 must not be turned into another format's header. */
  private readonly probed: boolean;
  private closed = false;

  constructor(file: ImageFile, lock: ImageLock | null, options: { probed: boolean }) {
    this.file = file;
    this.lock = lock;
    this.readOnly = file.readOnly;
    this.supportsWriteZeroes = !file.readOnly;
    this.probed = options.probed;
    this.sectorCount = Math.floor(file.size / SECTOR_SIZE);
    if (this.sectorCount === 0) throw new BridgeError(`${file.path}: is ${file.size} bytes, smaller than one 512-byte sector`);
    const tail = file.size % SECTOR_SIZE;
    this.description = `raw ${file.name}${file.readOnly ? ' (read-only)' : ''}${tail ? ` (last ${tail} bytes, a partial sector, not exposed)` : ''}`;
  }

  read(sector: number, target: Uint8Array): void {
    this.checkOpen();
    checkRequest(this.file.path, this.sectorCount, sector, target.length, 'read');
    this.file.readAt(sector * SECTOR_SIZE, target);
  }

  write(sector: number, data: Uint8Array): void {
    this.checkWritable();
    checkRequest(this.file.path, this.sectorCount, sector, data.length, 'write');
    if (this.probed && sector === 0 && data.length > 0) {
      const format = probeFormat(data.subarray(0, SECTOR_SIZE));
      if (format !== 'raw') {
        throw new BridgeError(`${this.file.path}: refusing to write a ${formatName(format)} header into sector 0 of an image whose format was probed as raw; give format=raw explicitly to allow it`);
      }
    }
    this.file.writeAt(sector * SECTOR_SIZE, data);
  }

  flush(): void {
    this.checkOpen();
    if (!this.readOnly) this.file.sync();
  }

  discard(sector: number, count: number): void {
    this.writeZeroes(sector, count, true);
  }

  writeZeroes(sector: number, count: number, _mayUnmap: boolean): void {
    this.checkWritable();
    checkSectorRange(this.file.path, this.sectorCount, sector, count, 'write-zeroes');
    const scratch = new Uint8Array(Math.min(ZERO_CHUNK.length, count * SECTOR_SIZE));
    let position = sector * SECTOR_SIZE;
    const end = position + count * SECTOR_SIZE;
    while (position < end) {
      const length = Math.min(scratch.length, end - position);
      const chunk = scratch.subarray(0, length);
      this.file.readAt(position, chunk);
      if (!isAllZero(chunk)) {
        // Zero only the 4 KiB pieces that hold data: holes and zero pages stay as they are.
        for (let piece = 0; piece < length; piece += RAW_ZERO_GRANULE) {
          const pieceLength = Math.min(RAW_ZERO_GRANULE, length - piece);
          if (!isAllZero(chunk.subarray(piece, piece + pieceLength))) this.file.writeAt(position + piece, ZERO_CHUNK.subarray(0, pieceLength));
        }
      }
      position += length;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.readOnly) this.file.sync();
    } finally {
      this.file.close();
      this.lock?.release();
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
