import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryDisk } from '../../vmm-core/bridges/disk';
import { BridgeError } from '../../vmm-core/bridges/types';
import { pattern } from '../disk/support';

test('memory disk: sized disk starts zeroed, reads back writes, write-zeroes and discard clear', () => {
  const disk = new MemoryDisk(64 * 1024);
  assert.equal(disk.sectorCount, 128);
  assert.equal(disk.description, 'memory 64 KiB');
  assert.equal(disk.readOnly, false);
  assert.ok(disk.supportsDiscard && disk.supportsWriteZeroes);
  const data = pattern(4 * 512, 7, 10);
  disk.write(10, data);
  const back = new Uint8Array(6 * 512);
  disk.read(9, back);
  assert.deepEqual(back.subarray(512, 5 * 512), data);
  assert.ok(back.subarray(0, 512).every((b) => b === 0) && back.subarray(5 * 512).every((b) => b === 0));
  disk.writeZeroes(11, 1, false);
  disk.discard(13, 1);
  disk.read(10, back.subarray(0, 4 * 512));
  assert.deepEqual(back.subarray(0, 512), data.subarray(0, 512));
  assert.ok(back.subarray(512, 1024).every((b) => b === 0));
  assert.deepEqual(back.subarray(1024, 1536), data.subarray(1024, 1536));
  assert.ok(back.subarray(1536, 2048).every((b) => b === 0));
  disk.flush();
  disk.close();
  assert.throws(() => disk.read(0, new Uint8Array(512)), /closed/);
});

test('memory disk over given bytes: writes land in the array, a partial tail sector is not exposed', () => {
  const bytes = new Uint8Array(1024 + 100).fill(0xaa);
  const disk = new MemoryDisk(bytes, { name: 'scratch' });
  assert.equal(disk.sectorCount, 2);
  assert.equal(disk.description, 'memory scratch 1 KiB');
  disk.write(1, new Uint8Array(512).fill(0x55));
  assert.equal(bytes[512], 0x55);
  assert.equal(bytes[1023], 0x55);
  assert.equal(bytes[1024], 0xaa);
  assert.throws(() => disk.read(2, new Uint8Array(512)), (error: Error) => error instanceof BridgeError && /past the end/.test(error.message));
});

test('memory disk: read-only refuses writes; bad sizes and requests are BridgeErrors', () => {
  const disk = new MemoryDisk(4096, { readOnly: true });
  assert.equal(disk.description, 'memory 4 KiB (read-only)');
  assert.ok(!disk.supportsDiscard && !disk.supportsWriteZeroes);
  assert.throws(() => disk.write(0, new Uint8Array(512)), /read-only/);
  assert.throws(() => disk.writeZeroes(0, 1, true), /read-only/);
  for (const size of [0, 100, 513, -512, 1.5 * 512]) assert.throws(() => new MemoryDisk(size), BridgeError);
  assert.throws(() => new MemoryDisk(new Uint8Array(511)), BridgeError);
  const writable = new MemoryDisk(4096);
  assert.throws(() => writable.read(0, new Uint8Array(100)), /not a multiple of 512/);
  assert.throws(() => writable.read(-1, new Uint8Array(512)), /not a sector number/);
  assert.throws(() => writable.write(7, new Uint8Array(1024)), /past the end/);
  assert.throws(() => writable.writeZeroes(0, 9, false), /past the end/);
  writable.read(7, new Uint8Array(512));
  writable.read(8, new Uint8Array(0));
});
