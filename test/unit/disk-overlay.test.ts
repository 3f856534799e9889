// snapshot=on: a temporary copy-on-write overlay over a base that is opened read-only and never
// modified; writes vanish on close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryDisk, createQcow2Image, openDiskImage } from '../../vmm-core/bridges/disk';
import { pattern, seededRandom, temporaryDirectory } from '../disk/support';
import { readWhole, referenceContents, runWorkload } from '../disk/workload';

const MiB = 1024 * 1024;
const hashOf = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Paths this process holds open, from /proc/self/fd (Linux). */
function openPaths(): string[] {
  try {
    return readdirSync('/proc/self/fd').map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    });
  } catch {
    return [];
  }
}

test('snapshot=on over raw: writes are seen, the base is never modified, nothing survives close', () => {
  const dir = temporaryDirectory('overlay');
  try {
    const base = join(dir.path, 'base.img');
    const contents = referenceContents(3 * MiB, seededRandom(61));
    writeFileSync(base, contents);
    const before = hashOf(base);
    const disk = openDiskImage({ path: base, snapshot: true });
    assert.equal(disk.description, 'raw base.img (snapshot=on: writes go to a temporary overlay, discarded on close)');
    assert.equal(disk.readOnly, false);
    assert.equal(disk.sectorCount, contents.length / 512);
    assert.ok(disk.supportsDiscard && disk.supportsWriteZeroes);

    // The overlay is an unlinked temporary file: open, but no longer in the directory.
    const overlay = openPaths().find((path) => path.includes('ringside-snapshot-'));
    assert.ok(overlay, 'the overlay file is open');
    assert.match(overlay!, /\(deleted\)$/);
    assert.ok(!readdirSync(tmpdir()).some((name) => name.startsWith(`ringside-snapshot-${process.pid}-`)));

    const model = new MemoryDisk(new Uint8Array(contents));
    runWorkload(disk, model, seededRandom(62), { operations: 300, maxSectors: 300 });
    disk.flush();
    assert.equal(hashOf(base), before, 'the base is untouched while the overlay is in use');
    disk.close();
    assert.equal(hashOf(base), before, 'and after close');
    assert.ok(!openPaths().some((path) => path.includes('ringside-snapshot-')), 'the overlay is closed');

    const again = openDiskImage({ path: base, snapshot: true });
    assert.ok(Buffer.compare(readWhole(again), contents) === 0, 'a new overlay starts from the base again');
    again.close();
  } finally {
    dir.remove();
  }
});

test('snapshot=on over a qcow2 chain: the whole chain stays untouched', () => {
  const dir = temporaryDirectory('overlay');
  try {
    const base = join(dir.path, 'base.img');
    writeFileSync(base, referenceContents(MiB, seededRandom(63)));
    const top = join(dir.path, 'top.qcow2');
    createQcow2Image(top, { size: 2 * MiB, clusterSize: 4096, backingFile: 'base.img', backingFormat: 'raw' });
    const writer = openDiskImage({ path: top });
    writer.write(100, pattern(8192, 7, 100));
    writer.close();
    const hashes = [hashOf(base), hashOf(top)];
    const reader = openDiskImage({ path: top, readOnly: true });
    const expected = readWhole(reader);
    reader.close();

    const disk = openDiskImage({ path: top, snapshot: true });
    assert.equal(disk.description, 'qcow2 top.qcow2 → backing base.img (snapshot=on: writes go to a temporary overlay, discarded on close)');
    assert.ok(Buffer.compare(readWhole(disk), expected) === 0);
    const model = new MemoryDisk(new Uint8Array(expected));
    runWorkload(disk, model, seededRandom(64), { operations: 200, maxSectors: 100 });
    disk.close();
    assert.deepEqual([hashOf(base), hashOf(top)], hashes);
  } finally {
    dir.remove();
  }
});

test('snapshot=on takes only a shared hold on the base: other readers may open it, writers may not', () => {
  const dir = temporaryDirectory('overlay');
  try {
    const base = join(dir.path, 'shared.img');
    writeFileSync(base, new Uint8Array(MiB));
    const disk = openDiskImage({ path: base, snapshot: true });
    const reader = openDiskImage({ path: base, readOnly: true });
    reader.close();
    assert.throws(() => openDiskImage({ path: base }), /shared\.img is in use by another process \(locked\): this Ringside process already has it open read-only/);
    disk.close();
    openDiskImage({ path: base }).close();
  } finally {
    dir.remove();
  }
});

test('snapshot=on works with a base the user may not write (opened read-only)', () => {
  const dir = temporaryDirectory('overlay');
  try {
    const base = join(dir.path, 'ro.img');
    writeFileSync(base, pattern(64 * 1024, 3));
    chmodSync(base, 0o444);
    const disk = openDiskImage({ path: base, snapshot: true });
    disk.write(0, new Uint8Array(512));
    disk.close();
    assert.deepEqual(new Uint8Array(readFileSync(base)), pattern(64 * 1024, 3));
    // readOnly wins over snapshot: no overlay, no writes.
    const readOnly = openDiskImage({ path: base, snapshot: true, readOnly: true });
    assert.equal(readOnly.readOnly, true);
    assert.equal(readOnly.description, 'raw ro.img (read-only)');
    readOnly.close();
  } finally {
    dir.remove();
  }
});
