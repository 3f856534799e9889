import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { buildSync } from 'esbuild';
import { join } from 'node:path';
import { buildQcow2Image, openDiskImage } from '../../vmm-core/bridges/disk';
import { BridgeError } from '../../vmm-core/bridges/types';
import { pattern, temporaryDirectory } from '../disk/support';

const isRoot = process.getuid?.() === 0;

/**
 * Opens an image in a child process as an unprivileged user (root ignores permissions), or as
 * ourselves when we are not root. The child runs a bundle placed in `dir`, so it needs no access
 * to the checkout (which an unprivileged user may not be able to read).
 */
function tryOpenUnprivileged(dir: string, options: object): { ok: boolean; bridgeError?: boolean; message?: string; readOnly?: boolean; writeError?: string | null } {
  const bundle = join(dir, 'try-open.cjs');
  if (!existsSync(bundle)) {
    buildSync({ entryPoints: [join(__dirname, '../disk/try-open.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'error' });
    chmodSync(dir, 0o755);
    chmodSync(bundle, 0o644);
  }
  const result = spawnSync(process.execPath, [bundle, JSON.stringify(options)], {
    encoding: 'utf8',
    cwd: dir,
    ...(isRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

function expectBridgeError(action: () => unknown, pattern_: RegExp): void {
  assert.throws(action, (error: Error) => {
    assert.ok(error instanceof BridgeError, `expected a BridgeError, got ${error.constructor.name}: ${error.message}`);
    assert.match(error.message, pattern_);
    return true;
  });
}

test('raw image: writes reach the file at sector × 512, reads return them, flush and close', () => {
  const dir = temporaryDirectory('raw');
  try {
    const path = join(dir.path, 'disk.img');
    writeFileSync(path, new Uint8Array(1024 * 1024));
    const disk = openDiskImage({ path, format: 'raw' });
    assert.equal(disk.description, 'raw disk.img');
    assert.equal(disk.sectorCount, 2048);
    assert.equal(disk.readOnly, false);
    assert.equal(disk.supportsDiscard, false, 'Node cannot punch holes: discard is not advertised');
    assert.equal(disk.supportsWriteZeroes, true);
    const data = pattern(8 * 512, 0x1234, 100);
    disk.write(100, data);
    disk.flush();
    const back = new Uint8Array(8 * 512);
    disk.read(100, back);
    assert.deepEqual(back, data);
    assert.deepEqual(new Uint8Array(readFileSync(path).subarray(100 * 512, 108 * 512)), data);
    disk.close();
    disk.close(); // idempotent
    expectBridgeError(() => disk.read(0, new Uint8Array(512)), /closed/);
  } finally {
    dir.remove();
  }
});

test('raw image: requests outside the disk or not in whole sectors are refused', () => {
  const dir = temporaryDirectory('raw');
  try {
    const path = join(dir.path, 'disk.img');
    writeFileSync(path, new Uint8Array(8192));
    const disk = openDiskImage({ path });
    expectBridgeError(() => disk.read(16, new Uint8Array(512)), /disk\.img: read of 1 sectors at sector 16 goes past the end of the disk \(16 sectors\)/);
    expectBridgeError(() => disk.write(15, new Uint8Array(1024)), /past the end/);
    expectBridgeError(() => disk.write(0, new Uint8Array(100)), /not a multiple of 512/);
    expectBridgeError(() => disk.writeZeroes(10, 7, true), /past the end/);
    expectBridgeError(() => disk.read(Number.NaN, new Uint8Array(512)), /not a sector number/);
    assert.equal(statSync(path).size, 8192, 'nothing was written past the end');
    disk.close();
  } finally {
    dir.remove();
  }
});

test('raw image read-only: opened without write access, writes refused, file unchanged', () => {
  const dir = temporaryDirectory('raw');
  try {
    const path = join(dir.path, 'ro.img');
    const original = pattern(4096, 99);
    writeFileSync(path, original);
    const disk = openDiskImage({ path, readOnly: true });
    assert.equal(disk.description, 'raw ro.img (read-only)');
    assert.equal(disk.readOnly, true);
    assert.equal(disk.supportsWriteZeroes, false);
    expectBridgeError(() => disk.write(0, new Uint8Array(512)), /ro\.img: the disk is read-only/);
    expectBridgeError(() => disk.writeZeroes(0, 1, false), /read-only/);
    expectBridgeError(() => disk.discard(0, 1), /read-only/);
    disk.flush();
    disk.close();
    assert.deepEqual(new Uint8Array(readFileSync(path)), original);

    // Opened O_RDONLY: a user without write permission can open it read-only, not read-write.
    chmodSync(dir.path, 0o755);
    chmodSync(path, 0o444);
    const readOnly = tryOpenUnprivileged(dir.path, { path, readOnly: true });
    assert.equal(readOnly.ok, true, readOnly.message);
    assert.equal(readOnly.readOnly, true);
    assert.match(readOnly.writeError ?? '', /read-only/);
    const readWrite = tryOpenUnprivileged(dir.path, { path });
    assert.equal(readWrite.ok, false);
    assert.equal(readWrite.bridgeError, true);
    assert.match(readWrite.message ?? '', /ro\.img: cannot be opened for writing \(permission denied\); open it read-only/);
  } finally {
    dir.remove();
  }
});

test('raw image: a size that is not a multiple of 512 hides the partial last sector; < 512 bytes is refused', () => {
  const dir = temporaryDirectory('raw');
  try {
    const path = join(dir.path, 'odd.img');
    writeFileSync(path, new Uint8Array(1000).fill(0x77));
    const disk = openDiskImage({ path });
    assert.equal(disk.sectorCount, 1);
    assert.match(disk.description, /raw odd\.img \(last 488 bytes, a partial sector, not exposed\)/);
    expectBridgeError(() => disk.read(1, new Uint8Array(512)), /past the end/);
    disk.write(0, new Uint8Array(512).fill(1));
    disk.close();
    const bytes = readFileSync(path);
    assert.equal(bytes.length, 1000);
    assert.equal(bytes[511], 1);
    assert.equal(bytes[512], 0x77, 'the tail is left alone');

    for (const size of [0, 1, 511]) {
      const small = join(dir.path, `small-${size}.img`);
      writeFileSync(small, new Uint8Array(size));
      expectBridgeError(() => openDiskImage({ path: small, format: 'raw' }), new RegExp(`small-${size}\\.img: is ${size} bytes, smaller than one 512-byte sector`));
      expectBridgeError(() => openDiskImage({ path: small }), /smaller than one 512-byte sector/);
    }
  } finally {
    dir.remove();
  }
});

test('opening: missing file, directory, unreadable file and bad options are one clear BridgeError', () => {
  const dir = temporaryDirectory('raw');
  try {
    expectBridgeError(() => openDiskImage({ path: join(dir.path, 'nope.img') }), /nope\.img: no such file/);
    expectBridgeError(() => openDiskImage({ path: dir.path, readOnly: true }), /is a directory/);
    expectBridgeError(() => openDiskImage({ path: dir.path }), /is a directory/);
    expectBridgeError(() => openDiskImage({ path: '' }), /no path given/);
    const path = join(dir.path, 'secret.img');
    writeFileSync(path, new Uint8Array(4096));
    expectBridgeError(() => openDiskImage({ path, format: 'vmdk' as 'raw' }), /format 'vmdk' is not supported/);
    chmodSync(dir.path, 0o755);
    chmodSync(path, 0o000);
    const result = tryOpenUnprivileged(dir.path, { path, readOnly: true });
    assert.equal(result.ok, false);
    assert.equal(result.bridgeError, true);
    assert.match(result.message ?? '', /secret\.img: permission denied/);
    const fifoDir = join(dir.path, 'sub');
    mkdirSync(fifoDir);
    const fifo = join(fifoDir, 'pipe');
    if (spawnSync('mkfifo', [fifo]).status === 0) {
      // Opening a FIFO read-only would block until a writer came; O_RDWR does not.
      expectBridgeError(() => openDiskImage({ path: fifo }), /pipe: is not a regular file/);
    }
  } finally {
    dir.remove();
  }
});

test('probing: a qcow2-looking file is never used as raw unless format=raw is given; other formats are named', () => {
  const dir = temporaryDirectory('raw');
  try {
    const path = join(dir.path, 'looks.qcow2');
    const qcow2 = buildQcow2Image({ size: 1024 * 1024 });
    writeFileSync(path, qcow2);
    const probed = openDiskImage({ path });
    assert.equal(probed.description, 'qcow2 looks.qcow2');
    assert.equal(probed.sectorCount, 2048);
    probed.close();
    const raw = openDiskImage({ path, format: 'raw', readOnly: true });
    assert.equal(raw.sectorCount, qcow2.length / 512);
    const head = new Uint8Array(512);
    raw.read(0, head);
    assert.deepEqual(head, qcow2.subarray(0, 512));
    raw.close();

    // A broken qcow2 header is an error, not a fallback to raw.
    const broken = new Uint8Array(qcow2);
    broken[23] = 30; // cluster_bits
    writeFileSync(path, broken);
    expectBridgeError(() => openDiskImage({ path }), /looks\.qcow2: has cluster_bits 30/);

    const signatures: [string, Uint8Array, RegExp][] = [
      ['disk.vmdk', new TextEncoder().encode('KDMV'), /is a VMDK image, which is not supported; convert it with qemu-img convert -O qcow2/],
      ['disk.vhdx', new TextEncoder().encode('vhdxfile'), /is a VHDX image/],
      ['disk.qcow', Uint8Array.of(0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 1), /is a qcow \(version 1\) image/],
    ];
    for (const [name, magic, message] of signatures) {
      const file = join(dir.path, name);
      const bytes = new Uint8Array(4096);
      bytes.set(magic);
      writeFileSync(file, bytes);
      expectBridgeError(() => openDiskImage({ path: file }), message);
      const asRaw = openDiskImage({ path: file, format: 'raw' });
      assert.equal(asRaw.sectorCount, 8);
      asRaw.close();
    }
    const notQcow2 = join(dir.path, 'plain.img');
    writeFileSync(notQcow2, new Uint8Array(4096));
    expectBridgeError(() => openDiskImage({ path: notQcow2, format: 'qcow2' }), /plain\.img: is not a qcow2 image \(bad magic\)/);
  } finally {
    dir.remove();
  }
});

test('probed raw: writing an image signature into sector 0 is refused (as QEMU does); explicit format=raw allows it', () => {
  const dir = temporaryDirectory('raw');
  try {
    const path = join(dir.path, 'guest.img');
    writeFileSync(path, new Uint8Array(64 * 1024));
    const header = new Uint8Array(512);
    header.set(buildQcow2Image({ size: 1024 * 1024 }).subarray(0, 512));
    const probed = openDiskImage({ path });
    expectBridgeError(() => probed.write(0, header), /refusing to write a qcow2 header into sector 0 of an image whose format was probed as raw; give format=raw/);
    probed.write(1, header); // elsewhere is fine
    probed.write(0, new Uint8Array(512).fill(3));
    probed.close();
    assert.equal(readFileSync(path)[0], 3);
    const explicit = openDiskImage({ path, format: 'raw' });
    explicit.write(0, header);
    explicit.close();
    assert.equal(readFileSync(path).readUInt32BE(0), 0x514649fb);
  } finally {
    dir.remove();
  }
});

test('raw write-zeroes zeroes the range without filling holes of a sparse file; discard zeroes too', () => {
  const dir = temporaryDirectory('raw');
  try {
    const path = join(dir.path, 'sparse.img');
    writeFileSync(path, new Uint8Array(0));
    truncateSync(path, 64 * 1024 * 1024);
    const disk = openDiskImage({ path });
    const data = pattern(64 * 1024, 5, 0);
    disk.write(0, data);
    disk.flush();
    const blocksBefore = statSync(path).blocks;
    disk.writeZeroes(0, disk.sectorCount, false); // 64 MiB, almost all of it a hole
    disk.flush();
    const blocksAfter = statSync(path).blocks;
    assert.ok(blocksAfter <= blocksBefore, `write-zeroes allocated space: ${blocksBefore} → ${blocksAfter} blocks`);
    const back = new Uint8Array(64 * 1024);
    disk.read(0, back);
    assert.ok(back.every((b) => b === 0));
    disk.write(10, data.subarray(0, 4096));
    disk.discard(11, 2);
    disk.read(10, back.subarray(0, 4096));
    assert.deepEqual(back.subarray(0, 512), data.subarray(0, 512));
    assert.ok(back.subarray(512, 1536).every((b) => b === 0));
    assert.deepEqual(back.subarray(1536, 4096), data.subarray(1536, 4096));
    disk.close();
  } finally {
    dir.remove();
  }
});
