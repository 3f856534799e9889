// A disk held in memory: tests, scratch disks, images built on the fly. Nothing reaches a file,
// so flush has nothing to make durable and the contents vanish with the object.

import { BlockBackend, BridgeError, SECTOR_SIZE } from '../types';
import { checkRequest, checkSectorRange } from './request';

export interface MemoryDiskOptions {
  readOnly?: boolean;
  /** Shown in the description, e.g. "scratch". */
  name?: string;
  /** Whether discard and write-zeroes are offered (default: when writable), to stand in for another disk exactly. */
  supportsDiscard?: boolean;
  supportsWriteZeroes?: boolean;
}

function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1 && value % 1024 === 0) {
    value /= 1024;
    unit++;
  }
  return `${value} ${units[unit]}`;
}

export class MemoryDisk implements BlockBackend {
  readonly description: string;
  readonly sectorCount: number;
  readonly readOnly: boolean;
  readonly supportsDiscard: boolean;
  readonly supportsWriteZeroes: boolean;
  /**
   * The disk's bytes. Given a Uint8Array, the disk uses that array itself (writes land in it);
   * a trailing partial sector is not exposed.
   */
  readonly bytes: Uint8Array;
  private closed = false;

  constructor(sizeOrBytes: number | Uint8Array, options: MemoryDiskOptions = {}) {
    if (typeof sizeOrBytes === 'number') {
      if (!Number.isSafeInteger(sizeOrBytes) || sizeOrBytes <= 0 || sizeOrBytes % SECTOR_SIZE !== 0) {
        throw new BridgeError(`memory disk: size ${sizeOrBytes} is not a positive multiple of ${SECTOR_SIZE} bytes`);
      }
      this.bytes = new Uint8Array(sizeOrBytes);
    } else {
      if (sizeOrBytes.length < SECTOR_SIZE) throw new BridgeError(`memory disk: ${sizeOrBytes.length} bytes is smaller than one ${SECTOR_SIZE}-byte sector`);
      this.bytes = sizeOrBytes;
    }
    this.sectorCount = Math.floor(this.bytes.length / SECTOR_SIZE);
    this.readOnly = options.readOnly ?? false;
    this.supportsDiscard = options.supportsDiscard ?? !this.readOnly;
    this.supportsWriteZeroes = options.supportsWriteZeroes ?? !this.readOnly;
    this.description = `memory ${options.name ? `${options.name} ` : ''}${formatSize(this.sectorCount * SECTOR_SIZE)}${this.readOnly ? ' (read-only)' : ''}`;
  }

  read(sector: number, target: Uint8Array): void {
    this.checkOpen();
    checkRequest('memory disk', this.sectorCount, sector, target.length, 'read');
    target.set(this.bytes.subarray(sector * SECTOR_SIZE, sector * SECTOR_SIZE + target.length));
  }

  write(sector: number, data: Uint8Array): void {
    this.checkWritable();
    checkRequest('memory disk', this.sectorCount, sector, data.length, 'write');
    this.bytes.set(data, sector * SECTOR_SIZE);
  }

  flush(): void {
    this.checkOpen();
  }

  discard(sector: number, count: number): void {
    this.writeZeroes(sector, count, true);
  }

  writeZeroes(sector: number, count: number, _mayUnmap: boolean): void {
    this.checkWritable();
    checkSectorRange('memory disk', this.sectorCount, sector, count, 'write-zeroes');
    this.bytes.fill(0, sector * SECTOR_SIZE, (sector + count) * SECTOR_SIZE);
  }

  close(): void {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new BridgeError('memory disk: the disk is closed');
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new BridgeError('memory disk: the disk is read-only');
  }
}
