// A random workload run against a backend and a MemoryDisk model side by side: every read must
// match the model. Shared by the qcow2, overlay and fuzz tests.
import assert from 'node:assert/strict';
import { MemoryDisk } from '../../vmm-core/bridges/disk';
import type { BlockBackend } from '../../vmm-core/bridges/types';
import { pattern, randomInt } from './support';

export interface WorkloadOptions {
  operations: number;
  /** Largest request in sectors. */
  maxSectors: number;
  /** Called now and then between operations, e.g. to close and reopen the disk; returns the disk to use. */
  reopen?: (disk: BlockBackend) => BlockBackend;
}

/** Runs writes, write-zeroes, discards, flushes and reads; returns the (possibly reopened) disk. */
export function runWorkload(disk: BlockBackend, model: MemoryDisk, random: () => number, options: WorkloadOptions): BlockBackend {
  assert.equal(disk.sectorCount, model.sectorCount);
  for (let step = 0; step < options.operations; step++) {
    const count = 1 + randomInt(random, options.maxSectors);
    const sector = randomInt(random, disk.sectorCount - count + 1);
    const choice = randomInt(random, 100);
    if (choice < 55) {
      const data = pattern(count * 512, 0x5000_0000 + step, sector);
      disk.write(sector, data);
      model.write(sector, data);
    } else if (choice < 65) {
      disk.writeZeroes(sector, count, choice < 60);
      model.writeZeroes(sector, count, true);
    } else if (choice < 72) {
      disk.discard(sector, count);
      model.discard(sector, count);
    } else if (choice < 78) {
      disk.flush();
    } else if (choice < 80 && options.reopen) {
      disk = options.reopen(disk);
    }
    const readCount = 1 + randomInt(random, options.maxSectors);
    const readSector = randomInt(random, disk.sectorCount - readCount + 1);
    const actual = new Uint8Array(readCount * 512);
    const expected = new Uint8Array(readCount * 512);
    disk.read(readSector, actual);
    model.read(readSector, expected);
    if (Buffer.compare(actual, expected) !== 0) {
      assert.fail(`step ${step}: read of ${readCount} sectors at ${readSector} differs from the model`);
    }
  }
  return disk;
}

/** Reads the whole disk in requests of varying size. */
export function readWhole(disk: BlockBackend, random?: () => number): Uint8Array {
  const bytes = new Uint8Array(disk.sectorCount * 512);
  let sector = 0;
  while (sector < disk.sectorCount) {
    const count = Math.min(disk.sectorCount - sector, random ? 1 + randomInt(random, 300) : 2048);
    disk.read(sector, bytes.subarray(sector * 512, (sector + count) * 512));
    sector += count;
  }
  return bytes;
}

/** Disk contents with data runs, zero runs and runs that straddle cluster boundaries. */
export function referenceContents(size: number, random: () => number): Uint8Array {
  const bytes = new Uint8Array(size);
  let position = 0;
  let run = 0;
  while (position < size) {
    const length = Math.min(size - position, 512 * (1 + randomInt(random, 400)));
    if (randomInt(random, 3) !== 0) bytes.set(pattern(length, 0x1000 + run, position / 512), position);
    position += length;
    run++;
  }
  return bytes;
}
