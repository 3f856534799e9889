// qcow2 against the reference implementation: images made by qemu-img read back exactly, and
// images Ringside wrote pass `qemu-img check` and equal (`qemu-img compare`) a raw image given
// the same writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryDisk, createQcow2Image, openDiskImage } from '../../vmm-core/bridges/disk';
import type { BlockBackend } from '../../vmm-core/bridges/types';
import { NEEDS_QEMU_IMG, pattern, qemuCheck, qemuCompare, qemuImg, seededRandom, temporaryDirectory } from '../disk/support';
import { readWhole, referenceContents, runWorkload } from '../disk/workload';
import { requireTool } from '../support/tools';

const MiB = 1024 * 1024;
const hashOf = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const header = (path: string) => {
  const bytes = readFileSync(path);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
};

function assertCleanCheck(path: string): void {
  const check = qemuCheck(path);
  assert.equal(check.status, 0, `qemu-img check ${path}:\n${check.output}`);
}

function assertSameAsRaw(qcow2: string, model: MemoryDisk, rawPath: string): void {
  writeFileSync(rawPath, model.bytes);
  const compare = qemuCompare(qcow2, 'qcow2', rawPath, 'raw');
  assert.equal(compare.status, 0, `qemu-img compare: ${compare.output}`);
}

/** QEMU's own view of an image, as raw bytes. */
function qemuView(dir: string, image: string): Uint8Array {
  const out = join(dir, `view-${Math.random().toString(16).slice(2)}.raw`);
  qemuImg('convert', '-O', 'raw', image, out);
  return new Uint8Array(readFileSync(out));
}

const layouts: { name: string; options: string }[] = [
  { name: 'compat=0.10 (v2), 512 B clusters', options: 'compat=0.10,cluster_size=512' },
  { name: 'compat=1.1 (v3), 4 KiB clusters', options: 'compat=1.1,cluster_size=4096' },
  { name: 'v3, 64 KiB clusters (default)', options: 'compat=1.1' },
  { name: 'v3, 2 MiB clusters', options: 'compat=1.1,cluster_size=2M' },
  { name: 'v3, 1-bit refcounts, 1 KiB clusters', options: 'compat=1.1,cluster_size=1024,refcount_bits=1' },
  { name: 'v3, 64-bit refcounts', options: 'compat=1.1,refcount_bits=64' },
];

test('qemu-img images read back exactly (v2 and v3, 512 B to 2 MiB clusters, refcount widths)', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    const reference = referenceContents(3 * MiB + 4608, seededRandom(11));
    const rawPath = join(dir.path, 'reference.raw');
    writeFileSync(rawPath, reference);
    for (const layout of layouts) {
      const path = join(dir.path, `image-${layout.options.replace(/[^a-z0-9]/gi, '_')}.qcow2`);
      qemuImg('convert', '-f', 'raw', '-O', 'qcow2', '-o', layout.options, rawPath, path);
      const before = hashOf(path);
      const disk = openDiskImage({ path });
      assert.equal(disk.sectorCount, reference.length / 512, layout.name);
      assert.equal(disk.description, `qcow2 ${path.split('/').pop()}`);
      assert.ok(Buffer.compare(readWhole(disk, seededRandom(3)), reference) === 0, `${layout.name}: contents differ`);
      disk.close();
      assert.equal(hashOf(path), before, `${layout.name}: reading changed the image`);
    }
  } finally {
    dir.remove();
  }
});

test('writes, write-zeroes, discards and flushes: qemu-img check is clean and compare equals a raw model', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    for (const [index, layout] of layouts.entries()) {
      const path = join(dir.path, `w${index}.qcow2`);
      const size = 4 * MiB;
      qemuImg('create', '-q', '-f', 'qcow2', '-o', layout.options, path, String(size));
      const model = new MemoryDisk(size);
      const random = seededRandom(100 + index);
      let disk: BlockBackend = openDiskImage({ path });
      disk = runWorkload(disk, model, random, {
        operations: 250,
        maxSectors: 160,
        reopen: (old) => {
          old.close();
          assertCleanCheck(path);
          return openDiskImage({ path });
        },
      });
      disk.close();
      assertCleanCheck(path);
      assertSameAsRaw(path, model, join(dir.path, `w${index}.raw`));
      // And Ringside reads back what QEMU sees.
      const reopened = openDiskImage({ path, readOnly: true });
      assert.ok(Buffer.compare(readWhole(reopened), qemuView(dir.path, path)) === 0, layout.name);
      reopened.close();
    }
  } finally {
    dir.remove();
  }
});

test('images made by createQcow2Image pass qemu-img check, before and after writes', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    const variants = [
      { size: 8 * MiB },
      { size: 8 * MiB, version: 2 as const, clusterSize: 512 },
      { size: 64 * MiB, clusterSize: 512, refcountBits: 2 }, // metadata needs several refcount blocks
      { size: 3 * MiB, clusterSize: 2 * MiB, refcountBits: 64 },
    ];
    for (const [index, options] of variants.entries()) {
      const path = join(dir.path, `c${index}.qcow2`);
      createQcow2Image(path, options);
      assertCleanCheck(path);
      const info = JSON.parse(qemuImg('info', '--output=json', path));
      assert.equal(info['virtual-size'], options.size);
      assert.equal(info['cluster-size'], options.clusterSize ?? 65536);
      const model = new MemoryDisk(options.size);
      const disk = runWorkload(openDiskImage({ path }), model, seededRandom(7 + index), { operations: 80, maxSectors: 64 });
      disk.close();
      assertCleanCheck(path);
      assertSameAsRaw(path, model, join(dir.path, `c${index}.raw`));
    }
  } finally {
    dir.remove();
  }
});

test('growth past the refcount table: the table moves, the header follows, qemu-img check stays clean', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    // 512-byte clusters with 64-bit refcounts: a block covers 64 clusters (32 KiB) and the
    // one-cluster table 64 blocks (2 MiB), so 6 MiB of data needs new blocks and a bigger table.
    const path = join(dir.path, 'grow.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512,refcount_bits=64', path, String(8 * MiB));
    const tableBefore = Number(header(path).getBigUint64(48));
    const clustersBefore = header(path).getUint32(56);
    const model = new MemoryDisk(8 * MiB);
    const disk = openDiskImage({ path });
    for (let sector = 0; sector < 12288; sector += 256) {
      const data = pattern(256 * 512, sector + 1, sector);
      disk.write(sector, data);
      model.write(sector, data);
      if (sector % 2048 === 0) disk.flush();
    }
    disk.close();
    const tableAfter = Number(header(path).getBigUint64(48));
    const clustersAfter = header(path).getUint32(56);
    assert.notEqual(tableAfter, tableBefore, 'the refcount table moved');
    assert.ok(clustersAfter > clustersBefore, `the table grew: ${clustersBefore} → ${clustersAfter} clusters`);
    assertCleanCheck(path);
    assertSameAsRaw(path, model, join(dir.path, 'grow.raw'));
  } finally {
    dir.remove();
  }
});

test('compressed clusters (qemu-img convert -c) read back; writing into one reallocates it', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    const reference = referenceContents(2 * MiB, seededRandom(21));
    const rawPath = join(dir.path, 'reference.raw');
    writeFileSync(rawPath, reference);
    for (const clusterSize of ['512', '65536', '2M']) {
      const path = join(dir.path, `compressed-${clusterSize}.qcow2`);
      qemuImg('convert', '-c', '-f', 'raw', '-O', 'qcow2', '-o', `cluster_size=${clusterSize}`, rawPath, path);
      const map = JSON.parse(qemuImg('map', '--output=json', path)) as { data: boolean; offset?: number }[];
      assert.ok(map.some((extent) => extent.data && extent.offset === undefined), 'the image has compressed clusters');
      const readOnly = openDiskImage({ path, readOnly: true });
      assert.ok(Buffer.compare(readWhole(readOnly, seededRandom(5)), reference) === 0, `cluster size ${clusterSize}`);
      readOnly.close();

      const model = new MemoryDisk(new Uint8Array(reference));
      const disk = openDiskImage({ path });
      // Partial writes into compressed clusters, a whole-cluster write, zeroes over compressed data.
      for (const [sector, count] of [[1, 2], [200, 1], [1500, 40], [3000, 7]]) {
        const data = pattern(count * 512, 0xc0 + sector, sector);
        disk.write(sector, data);
        model.write(sector, data);
      }
      disk.writeZeroes(2048, 1024, true);
      model.writeZeroes(2048, 1024, true);
      disk.close();
      assertCleanCheck(path);
      assertSameAsRaw(path, model, join(dir.path, `compressed-${clusterSize}.raw`));
    }
  } finally {
    dir.remove();
  }
});

test('zero clusters: plain and preallocated (qemu-io write -z) read as zeros and can be written', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    const path = join(dir.path, 'zero.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', path, String(MiB));
    const run = (...commands: string[]) => {
      const args = ['-f', 'qcow2', ...commands.flatMap((command) => ['-c', command]), path];
      const result = spawnSync('qemu-io', args, { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
    };
    run('write -P 0x11 0 256k', 'write -z 64k 64k', 'write -z -u 128k 64k');
    const map = JSON.parse(qemuImg('map', '--output=json', path)) as { start: number; zero: boolean; offset?: number }[];
    assert.ok(map.some((extent) => extent.start === 65536 && extent.zero && extent.offset !== undefined), 'a preallocated zero cluster exists');
    const disk = openDiskImage({ path });
    const bytes = readWhole(disk);
    assert.ok(bytes.subarray(0, 65536).every((b) => b === 0x11));
    assert.ok(bytes.subarray(65536, 196608).every((b) => b === 0));
    assert.ok(bytes.subarray(196608, 262144).every((b) => b === 0x11));
    const model = new MemoryDisk(new Uint8Array(bytes));
    for (const sector of [130, 260]) {
      const data = pattern(1024, sector, sector);
      disk.write(sector, data);
      model.write(sector, data);
    }
    disk.close();
    assertCleanCheck(path);
    assertSameAsRaw(path, model, join(dir.path, 'zero.raw'));
  } finally {
    dir.remove();
  }
});

test('backing chain qcow2 → qcow2 → raw: relative names, reads as QEMU does, writes leave the backing files alone', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    const base = join(dir.path, 'base.img');
    writeFileSync(base, referenceContents(MiB, seededRandom(31))); // smaller than the top image
    const middle = join(dir.path, 'middle.qcow2');
    const top = join(dir.path, 'top.qcow2');
    // Relative backing names: resolved against the directory of the image that names them.
    const create = (args: string[]) => {
      const result = spawnSync('qemu-img', args, { cwd: dir.path, encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
    };
    create(['create', '-q', '-f', 'qcow2', '-o', 'compat=0.10,cluster_size=4096', '-b', 'base.img', '-F', 'raw', 'middle.qcow2', String(2 * MiB)]);
    create(['create', '-q', '-f', 'qcow2', '-b', 'middle.qcow2', '-F', 'qcow2', 'top.qcow2', String(3 * MiB)]);
    const io = (image: string, ...commands: string[]) => {
      const result = spawnSync('qemu-io', ['-f', 'qcow2', ...commands.flatMap((c) => ['-c', c]), image], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
    };
    io(middle, 'write -P 0x22 100k 50k', 'write -P 0x23 1500k 20k');
    io(top, 'write -P 0x33 120k 10k', 'write -z 500k 64k', 'write -P 0x34 2500k 4k');
    const baseHash = hashOf(base);
    const middleHash = hashOf(middle);

    const disk = openDiskImage({ path: top });
    assert.equal(disk.description, 'qcow2 top.qcow2 → backing middle.qcow2 → backing base.img');
    assert.equal(disk.sectorCount, (3 * MiB) / 512);
    const expected = qemuView(dir.path, top);
    assert.ok(Buffer.compare(readWhole(disk, seededRandom(9)), expected) === 0, 'the chain reads as QEMU reads it');

    const model = new MemoryDisk(new Uint8Array(expected));
    runWorkload(disk, model, seededRandom(41), { operations: 150, maxSectors: 300 }).close();
    assert.equal(hashOf(base), baseHash, 'the raw base is untouched');
    assert.equal(hashOf(middle), middleHash, 'the middle image is untouched');
    assertCleanCheck(top);
    assertSameAsRaw(top, model, join(dir.path, 'top.raw'));

    // The middle image written directly (version 2 with a backing file: zeroes are real zeros).
    const middleModel = new MemoryDisk(qemuView(dir.path, middle));
    runWorkload(openDiskImage({ path: middle }), middleModel, seededRandom(43), { operations: 120, maxSectors: 64 }).close();
    assertCleanCheck(middle);
    assertSameAsRaw(middle, middleModel, join(dir.path, 'middle.raw'));
  } finally {
    dir.remove();
  }
});

test('backing format missing from the header is probed; an absolute backing name works', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    const base = join(dir.path, 'base.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', base, String(MiB));
    const io = spawnSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x44 0 64k', base], { encoding: 'utf8' });
    assert.equal(io.status, 0, io.stderr);
    const top = join(dir.path, 'top.qcow2');
    createQcow2Image(top, { size: MiB, backingFile: base }); // absolute, no format extension
    const disk = openDiskImage({ path: top });
    assert.equal(disk.description, 'qcow2 top.qcow2 → backing base.qcow2');
    const sector = new Uint8Array(512);
    disk.read(5, sector);
    assert.ok(sector.every((b) => b === 0x44), 'read through the probed qcow2 backing file');
    disk.close();
    assert.equal(JSON.parse(qemuImg('info', '--output=json', top))['backing-filename'], base);
  } finally {
    dir.remove();
  }
});

test('internal snapshots are kept: shared clusters are copied before writing, the snapshot still reads its data', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    const reference = referenceContents(2 * MiB, seededRandom(51));
    const rawPath = join(dir.path, 'reference.raw');
    writeFileSync(rawPath, reference);
    for (const options of ['compat=1.1,cluster_size=4096', 'compat=0.10']) {
      const path = join(dir.path, 'snap.qcow2');
      rmSync(path, { force: true });
      qemuImg('convert', '-f', 'raw', '-O', 'qcow2', '-o', options, rawPath, path);
      qemuImg('snapshot', '-c', 'before', path);
      const model = new MemoryDisk(new Uint8Array(reference));
      runWorkload(openDiskImage({ path }), model, seededRandom(53), { operations: 150, maxSectors: 200 }).close();
      assertCleanCheck(path);
      assertSameAsRaw(path, model, join(dir.path, 'snap-active.raw'));
      const snapshotView = join(dir.path, 'snap-before.raw');
      rmSync(snapshotView, { force: true });
      qemuImg('convert', '-l', 'snapshot.name=before', '-O', 'raw', path, snapshotView);
      assert.ok(Buffer.compare(readFileSync(snapshotView), reference) === 0, `${options}: the snapshot kept its contents`);
      assert.match(qemuImg('snapshot', '-l', path), /before/);
    }
  } finally {
    dir.remove();
  }
});

test('discard releases clusters for reuse: the file does not grow when the space is written again', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    const path = join(dir.path, 'trim.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', path, String(16 * MiB));
    const disk = openDiskImage({ path });
    assert.ok(disk.supportsDiscard && disk.supportsWriteZeroes);
    const data = pattern(4 * MiB, 1);
    disk.write(0, data);
    disk.flush();
    const grown = statSync(path).size;
    disk.discard(0, (4 * MiB) / 512);
    disk.flush();
    const back = new Uint8Array(4096);
    disk.read(100, back);
    assert.ok(back.every((b) => b === 0), 'discarded sectors read as zeros');
    disk.write(16384, data); // another 4 MiB elsewhere on the disk
    disk.close();
    assert.equal(statSync(path).size, grown, 'the freed clusters were reused');
    const check = qemuCheck(path);
    assert.equal(check.status, 0, check.output);
    assert.equal(check.leaks, 0);
  } finally {
    dir.remove();
  }
});

test('autoclear features (persistent bitmaps) are cleared before the first write, not by reading', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    const path = join(dir.path, 'bitmap.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', path, String(MiB));
    qemuImg('bitmap', '--add', path, 'b0');
    assert.equal(header(path).getBigUint64(88), 1n);
    const before = hashOf(path);
    const disk = openDiskImage({ path });
    disk.read(0, new Uint8Array(4096));
    disk.flush();
    assert.equal(hashOf(path), before, 'opening, reading and flushing changed nothing');
    disk.write(0, pattern(512, 1));
    assert.equal(header(path).getBigUint64(88), 0n, 'the bitmaps bit is cleared before data changes');
    disk.close();
    // QEMU now treats the bitmaps as inconsistent; their clusters show up as leaks, not errors.
    const check = qemuCheck(path);
    assert.equal(check.corruptions, 0, check.output);
    assert.equal(check.checkErrors, 0, check.output);
  } finally {
    dir.remove();
  }
});

test('read-only qcow2: writes refused, nothing written; dirty and corrupt images open read-only only', () => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('qcow2');
  try {
    const path = join(dir.path, 'ro.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', path, String(MiB));
    const before = hashOf(path);
    const disk = openDiskImage({ path, readOnly: true });
    assert.equal(disk.description, 'qcow2 ro.qcow2 (read-only)');
    assert.equal(disk.readOnly, true);
    assert.throws(() => disk.write(0, new Uint8Array(512)), /the disk is read-only/);
    assert.throws(() => disk.discard(0, 8), /the disk is read-only/);
    disk.close();
    assert.equal(hashOf(path), before);

    for (const [bit, message] of [[1n, /was not closed cleanly \(the dirty bit is set/], [2n, /is marked corrupt; repair it with qemu-img check -r all, or open it read-only/]] as const) {
      const bytes = readFileSync(path);
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      view.setBigUint64(72, bit);
      const flagged = join(dir.path, `flag-${bit}.qcow2`);
      writeFileSync(flagged, bytes);
      assert.throws(() => openDiskImage({ path: flagged }), message);
      const readable = openDiskImage({ path: flagged, readOnly: true });
      readable.read(0, new Uint8Array(512));
      readable.close();
    }
  } finally {
    dir.remove();
  }
});
