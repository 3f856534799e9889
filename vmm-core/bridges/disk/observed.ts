// A disk as the machine holds it: the backend it was given, with a hook run before every write
// (execution history copies the blocks a write is about to change), and whole-disk reads and
// writes in 4 KiB blocks for snapshots and recordings.

import { type BlockBackend, SECTOR_SIZE } from '../types';

/** Snapshots, recordings and history handle disks in blocks of this many bytes. */
export const DISK_BLOCK_BYTES = 4096;
const SECTORS_PER_BLOCK = DISK_BLOCK_BYTES / SECTOR_SIZE;

export class ObservedDisk implements BlockBackend {
  /** Called with the sector range before a write, discard or write-zeroes changes it. */
  beforeWrite: ((sector: number, count: number) => void) | null = null;

  constructor(readonly inner: BlockBackend) {}

  get description(): string {
    return this.inner.description;
  }

  get sectorCount(): number {
    return this.inner.sectorCount;
  }

  get readOnly(): boolean {
    return this.inner.readOnly;
  }

  get supportsDiscard(): boolean {
    return this.inner.supportsDiscard;
  }

  get supportsWriteZeroes(): boolean {
    return this.inner.supportsWriteZeroes;
  }

  /** Blocks of DISK_BLOCK_BYTES the disk spans (the last may be partly past its end). */
  get blockCount(): number {
    return Math.ceil(this.inner.sectorCount / SECTORS_PER_BLOCK);
  }

  read(sector: number, target: Uint8Array): void {
    this.inner.read(sector, target);
  }

  write(sector: number, data: Uint8Array): void {
    this.beforeWrite?.(sector, data.length / SECTOR_SIZE);
    this.inner.write(sector, data);
  }

  flush(): void {
    this.inner.flush();
  }

  discard(sector: number, count: number): void {
    this.beforeWrite?.(sector, count);
    this.inner.discard(sector, count);
  }

  writeZeroes(sector: number, count: number, mayUnmap: boolean): void {
    this.beforeWrite?.(sector, count);
    this.inner.writeZeroes(sector, count, mayUnmap);
  }

  close(): void {
    this.inner.close();
  }

  /** Reads block `block` into `target` (DISK_BLOCK_BYTES; past the disk's end reads as zeros). */
  readBlock(block: number, target: Uint8Array): void {
    const first = block * SECTORS_PER_BLOCK;
    const sectors = Math.min(SECTORS_PER_BLOCK, this.inner.sectorCount - first);
    target.fill(0, sectors * SECTOR_SIZE);
    if (sectors > 0) this.inner.read(first, target.subarray(0, sectors * SECTOR_SIZE));
  }

  /** Writes block `block` from `source` (the part past the disk's end is ignored), with no hook: history and restores put content back. */
  writeBlock(block: number, source: Uint8Array): void {
    const first = block * SECTORS_PER_BLOCK;
    const sectors = Math.min(SECTORS_PER_BLOCK, this.inner.sectorCount - first);
    if (sectors > 0) this.inner.write(first, source.subarray(0, sectors * SECTOR_SIZE));
  }
}
