// Malformed qcow2 images: every defect is one BridgeError naming the file and the problem,
// at open or on the request that meets it, and the image is never written. No qemu-img here:
// the images are built by buildQcow2Image and Ringside's own writes, then damaged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildQcow2Image, openDiskImage } from '../../vmm-core/bridges/disk';
import { BridgeError, type BlockBackend } from '../../vmm-core/bridges/types';
import { pattern, randomInt, seededRandom, temporaryDirectory } from '../disk/support';

const CLUSTER = 4096;
const hashOf = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Layout {
  bytes: Uint8Array;
  view: DataView;
  l1Offset: number;
  refcountTableOffset: number;
  /** L2 table of L1 entry 0. */
  l2Offset: number;
}

function layoutOf(bytes: Uint8Array): Layout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const l1Offset = Number(view.getBigUint64(40));
  return {
    bytes,
    view,
    l1Offset,
    refcountTableOffset: Number(view.getBigUint64(48)),
    l2Offset: Number(view.getBigUint64(l1Offset) & 0x00ff_ffff_ffff_fe00n),
  };
}

/** A 1 MiB image with 4 KiB clusters and data in guest clusters 0..3 and 100. */
function populatedImage(dir: string, options: { version?: 2 | 3; name?: string } = {}): Uint8Array {
  const path = join(dir, options.name ?? 'populated.qcow2');
  writeFileSync(path, buildQcow2Image({ size: 1024 * 1024, clusterSize: CLUSTER, version: options.version ?? 3 }));
  const disk = openDiskImage({ path });
  disk.write(0, pattern(4 * CLUSTER, 1));
  disk.write(800, pattern(CLUSTER, 2, 800));
  disk.close();
  return new Uint8Array(readFileSync(path));
}

function expectBridgeError(action: () => unknown, message: RegExp): void {
  assert.throws(action, (error: Error) => {
    assert.ok(error instanceof BridgeError, `expected a BridgeError, got ${error.constructor.name}: ${error.stack}`);
    assert.match(error.message, message);
    return true;
  });
}

test('header defects are refused at open with a message naming the file and the field', () => {
  const dir = temporaryDirectory('malformed');
  try {
    const good = populatedImage(dir.path);
    const cases: { name: string; damage: (layout: Layout) => Uint8Array | void; message: RegExp; format?: 'qcow2' }[] = [
      { name: 'empty', damage: () => new Uint8Array(0), message: /is 0 bytes, too small to be a qcow2 image/, format: 'qcow2' },
      { name: 'tiny', damage: (l) => l.bytes.slice(0, 50), message: /is 50 bytes, too small to be a qcow2 image/, format: 'qcow2' },
      { name: 'v3-short', damage: (l) => l.bytes.slice(0, 80), message: /is 80 bytes, too small for a version 3 qcow2 header/ },
      { name: 'version', damage: (l) => l.view.setUint32(4, 4), message: /has qcow2 version 4; only versions 2 and 3 are supported/ },
      { name: 'cluster-bits-small', damage: (l) => l.view.setUint32(20, 8), message: /has cluster_bits 8; the cluster size must be 512 B to 2 MiB/ },
      { name: 'cluster-bits-large', damage: (l) => l.view.setUint32(20, 22), message: /has cluster_bits 22/ },
      { name: 'header-length', damage: (l) => l.view.setUint32(100, 100), message: /has header_length 100/ },
      { name: 'l1-beyond-eof', damage: (l) => l.view.setBigUint64(40, BigInt(l.bytes.length + CLUSTER)), message: /has its L1 table \(0x[0-9a-f]+, 1 entries\) beyond the end of the file/ },
      { name: 'l1-misaligned', damage: (l) => l.view.setBigUint64(40, BigInt(l.l1Offset + 8)), message: /has its L1 table at 0x[0-9a-f]+, not aligned to the cluster size \(4096\)/ },
      { name: 'l1-on-header', damage: (l) => l.view.setBigUint64(40, 0n), message: /has its L1 table at offset 0, on top of the header/ },
      { name: 'l1-too-small', damage: (l) => l.view.setBigUint64(24, 1n << 40n), message: /has an L1 table of 1 entries, too few for the virtual size/ },
      { name: 'l1-huge', damage: (l) => l.view.setUint32(36, 0x1000_0000), message: /has an L1 table of 268435456 entries, more than QEMU's limit/ },
      { name: 'refcount-on-header', damage: (l) => l.view.setBigUint64(48, 0n), message: /has its refcount table at offset 0, overlapping the header/ },
      { name: 'refcount-misaligned', damage: (l) => l.view.setBigUint64(48, BigInt(l.refcountTableOffset + 512)), message: /has its refcount table at 0x[0-9a-f]+, not aligned/ },
      { name: 'refcount-beyond-eof', damage: (l) => l.view.setUint32(56, 1000), message: /has its refcount table \(0x[0-9a-f]+, 1000 clusters\) beyond the end of the file/ },
      { name: 'refcount-none', damage: (l) => l.view.setUint32(56, 0), message: /has no refcount table/ },
      { name: 'refcount-overlaps-l1', damage: (l) => l.view.setBigUint64(48, BigInt(l.l1Offset)), message: /has its L1 table and refcount table overlapping/ },
      { name: 'refcount-order', damage: (l) => l.view.setUint32(96, 7), message: /has refcount_order 7; at most 6/ },
      { name: 'size', damage: (l) => l.view.setBigUint64(24, 1000n), message: /has a virtual size of 1000 bytes, not a multiple of 512/ },
      { name: 'size-huge', damage: (l) => l.view.setBigUint64(24, 1n << 60n), message: /virtual size 0x1000000000000000 is beyond 2\^53/ },
      { name: 'encrypted', damage: (l) => l.view.setUint32(32, 2), message: /is encrypted \(crypt_method 2\), which is not supported/ },
      { name: 'external-data', damage: (l) => l.view.setBigUint64(72, 4n), message: /stores its data in an external data file, which is not supported/ },
      { name: 'extended-l2', damage: (l) => l.view.setBigUint64(72, 16n), message: /uses extended L2 entries \(subclusters\), which are not supported/ },
      {
        name: 'zstd',
        damage: (l) => {
          l.view.setBigUint64(72, 8n);
          l.view.setUint32(100, 112);
          l.bytes[104] = 1;
        },
        message: /uses compression type 1 \(zstd\); only zlib is supported/,
      },
      {
        name: 'unknown-feature',
        damage: (l) => {
          l.view.setBigUint64(72, 1n << 5n);
          // A feature name table extension naming the bit.
          l.view.setUint32(104, 0x6803f857);
          l.view.setUint32(108, 48);
          l.bytes[112] = 0;
          l.bytes[113] = 5;
          l.bytes.set(new TextEncoder().encode('time travel'), 114);
        },
        message: /uses incompatible features Ringside does not know: bit 5 \(time travel\)/,
      },
      {
        name: 'extension-too-long',
        damage: (l) => {
          l.view.setUint32(104, 0x12345678);
          l.view.setUint32(108, 100000);
        },
        message: /header extension 0x12345678 at offset 104 claims 100000 bytes/,
      },
      {
        name: 'backing-name-long',
        damage: (l) => {
          l.view.setBigUint64(8, 512n);
          l.view.setUint32(16, 2000);
        },
        message: /has a backing file name of 2000 bytes; at most 1023/,
      },
      {
        name: 'backing-name-outside',
        damage: (l) => {
          l.view.setBigUint64(8, BigInt(CLUSTER - 10));
          l.view.setUint32(16, 100);
        },
        message: /has its backing file name at 0x[0-9a-f]+ \(100 bytes\), outside the header cluster/,
      },
      { name: 'snapshots-misaligned', damage: (l) => { l.view.setUint32(60, 1); l.view.setBigUint64(64, 12345n); }, message: /has its snapshot table at 0x3039, not a cluster boundary/ },
      { name: 'bad-magic', damage: (l) => l.view.setUint32(0, 0x514649fa), message: /is not a qcow2 image \(bad magic\)/, format: 'qcow2' },
      { name: 'truncated', damage: (l) => l.bytes.slice(0, l.l1Offset), message: /has its L1 table .* beyond the end of the file/ },
    ];
    for (const entry of cases) {
      const bytes = new Uint8Array(good);
      const replaced = entry.damage(layoutOf(bytes));
      const path = join(dir.path, `${entry.name}.qcow2`);
      const written = replaced ?? bytes;
      writeFileSync(path, written);
      for (const readOnly of [false, true]) {
        expectBridgeError(() => openDiskImage({ path, format: entry.format, readOnly }), new RegExp(`${entry.name}\\.qcow2: ${entry.message.source}`));
      }
      assert.equal(hashOf(readFileSync(path)), hashOf(written), `${entry.name}: the file was modified`);
    }
  } finally {
    dir.remove();
  }
});

test('backing file problems: missing, loop, unsupported format, protocol names', () => {
  const dir = temporaryDirectory('malformed');
  try {
    const write = (name: string, backingFile?: string, backingFormat?: 'raw' | 'qcow2') => {
      writeFileSync(join(dir.path, name), buildQcow2Image({ size: 65536, clusterSize: CLUSTER, backingFile, backingFormat }));
      return join(dir.path, name);
    };
    const missing = write('missing.qcow2', 'gone.img', 'raw');
    expectBridgeError(() => openDiskImage({ path: missing }), /missing\.qcow2: backing file 'gone\.img' \(.*gone\.img\): no such file/);
    const a = write('a.qcow2', 'b.qcow2', 'qcow2');
    write('b.qcow2', 'a.qcow2', 'qcow2');
    expectBridgeError(() => openDiskImage({ path: a }), /a\.qcow2: backing file 'b\.qcow2'.*backing file 'a\.qcow2'.*the backing chain loops back to this file/);
    const self = write('self.qcow2', 'self.qcow2');
    expectBridgeError(() => openDiskImage({ path: self, readOnly: true }), /loops back/);
    const protocol = write('nbd.qcow2', 'nbd://127.0.0.1:10809/export');
    expectBridgeError(() => openDiskImage({ path: protocol }), /nbd\.qcow2: its backing file 'nbd:\/\/127\.0\.0\.1:10809\/export' names a protocol, which is not supported/);
    // A backing format extension naming a format Ringside does not read.
    const bytes = buildQcow2Image({ size: 65536, clusterSize: CLUSTER, backingFile: 'x.vmdk', backingFormat: 'raw' });
    const view = new DataView(bytes.buffer);
    bytes.set(new TextEncoder().encode('vmd'), 112); // "raw" → "vmd"
    writeFileSync(join(dir.path, 'x.vmdk'), new Uint8Array(4096));
    writeFileSync(join(dir.path, 'vmdk.qcow2'), bytes);
    assert.equal(view.getUint32(104), 0xe2792aca);
    expectBridgeError(() => openDiskImage({ path: join(dir.path, 'vmdk.qcow2') }), /vmdk\.qcow2: its backing file 'x\.vmdk' has format 'vmd', which is not supported/);
    // The backing file's own defects carry both names.
    writeFileSync(join(dir.path, 'broken.qcow2'), new Uint8Array(100).fill(1).map((_, i) => (i < 4 ? [0x51, 0x46, 0x49, 0xfb][i] : 0)));
    const onBroken = write('on-broken.qcow2', 'broken.qcow2', 'qcow2');
    expectBridgeError(() => openDiskImage({ path: onBroken }), /on-broken\.qcow2: backing file 'broken\.qcow2' \(.*\): has qcow2 version 0/);
  } finally {
    dir.remove();
  }
});

test('bad table entries fail the request that meets them, other clusters still work, and the image is not modified', () => {
  const dir = temporaryDirectory('malformed');
  try {
    const good = populatedImage(dir.path);
    const l2EntryOf = (layout: Layout, guestCluster: number) => layout.l2Offset + guestCluster * 8;
    const cases: { name: string; damage: (layout: Layout) => void; sector: number; read: RegExp | null; write: RegExp; wholeTable?: boolean }[] = [
      {
        name: 'l2-beyond-eof',
        damage: (l) => l.view.setBigUint64(l2EntryOf(l, 1), (1n << 63n) | BigInt(l.bytes.length + 10 * CLUSTER)),
        sector: 8,
        read: /the L2 entry of guest cluster 1 points to 0x[0-9a-f]+, beyond the end of the file .* the image is corrupt/,
        write: /beyond the end of the file/,
      },
      {
        name: 'l2-misaligned',
        damage: (l) => l.view.setBigUint64(l2EntryOf(l, 2), (1n << 63n) | BigInt(CLUSTER + 512)),
        sector: 16,
        read: /the L2 entry of guest cluster 2 points to 0x1200, not aligned to a cluster/,
        write: /not aligned to a cluster/,
      },
      {
        name: 'l2-reserved',
        damage: (l) => l.view.setBigUint64(l2EntryOf(l, 3), l.view.getBigUint64(l2EntryOf(l, 3)) | (1n << 57n)),
        sector: 24,
        read: /the L2 entry of guest cluster 3 has reserved bits set/,
        write: /reserved bits set/,
      },
      {
        name: 'l1-reserved',
        damage: (l) => l.view.setBigUint64(l.l1Offset, l.view.getBigUint64(l.l1Offset) | (1n << 60n)),
        sector: 0,
        read: /L1 entry 0 has reserved bits set/,
        write: /L1 entry 0 has reserved bits set/,
        wholeTable: true, // the whole 1 MiB disk hangs off L1 entry 0
      },
      {
        name: 'l2-on-metadata',
        // Guest cluster 1 mapped onto the L1 table: reads are harmless, a write would destroy metadata.
        damage: (l) => l.view.setBigUint64(l2EntryOf(l, 1), (1n << 63n) | BigInt(l.l1Offset)),
        sector: 8,
        read: null,
        write: /guest cluster 1 maps to host cluster 0x[0-9a-f]+, which holds image metadata/,
      },
      {
        name: 'copied-but-shared',
        // COPIED says "refcount 1" but the refcount says 2: writing in place would corrupt a snapshot.
        damage: (l) => {
          const entry = Number(l.view.getBigUint64(l2EntryOf(l, 2)) & 0x00ff_ffff_ffff_fe00n);
          const block = Number(l.view.getBigUint64(l.refcountTableOffset));
          l.view.setUint16(block + (entry / CLUSTER) * 2, 2);
        },
        sector: 16,
        read: null,
        write: /is marked as used once \(COPIED\) but its refcount is 2/,
      },
      {
        name: 'compressed-garbage',
        damage: (l) => l.view.setBigUint64(l2EntryOf(l, 2), (1n << 62n) | BigInt(3 * CLUSTER + 100)),
        sector: 16,
        read: /the compressed data of guest cluster 2 (cannot be decompressed|decompresses to)/,
        write: /the compressed data of guest cluster 2/,
      },
      {
        name: 'compressed-outside',
        damage: (l) => l.view.setBigUint64(l2EntryOf(l, 2), (1n << 62n) | BigInt(l.bytes.length + 5000)),
        sector: 16,
        read: /the compressed data of guest cluster 2 is at 0x[0-9a-f]+, outside the file's data area/,
        write: /outside the file's data area/,
      },
    ];
    for (const entry of cases) {
      const bytes = new Uint8Array(good);
      entry.damage(layoutOf(bytes));
      const path = join(dir.path, `${entry.name}.qcow2`);
      writeFileSync(path, bytes);
      const before = hashOf(bytes);
      const disk = openDiskImage({ path });
      const buffer = new Uint8Array(CLUSTER);
      if (entry.read) expectBridgeError(() => disk.read(entry.sector, buffer), entry.read);
      else disk.read(entry.sector, buffer);
      expectBridgeError(() => disk.write(entry.sector, pattern(512, 9)), entry.write);
      // A request spanning a good and a bad cluster fails as a whole, before changing anything.
      const spanning = entry.sector >= 8 ? entry.sector - 8 : entry.sector;
      assert.throws(() => disk.write(spanning, pattern(2 * CLUSTER, 9)), entry.write, `${entry.name}: a write spanning the bad cluster`);
      if (!entry.wholeTable) {
        disk.read(800, buffer); // a good cluster elsewhere
        assert.deepEqual(buffer, pattern(CLUSTER, 2, 800));
      }
      disk.close();
      assert.equal(hashOf(readFileSync(path)), before, `${entry.name}: the image was modified`);
    }
  } finally {
    dir.remove();
  }
});

test('a damaged refcount table refuses read-write opens (read-only still works)', () => {
  const dir = temporaryDirectory('malformed');
  try {
    const bytes = new Uint8Array(populatedImage(dir.path));
    const layout = layoutOf(bytes);
    layout.view.setBigUint64(layout.refcountTableOffset + 8, 12345n);
    const path = join(dir.path, 'reftable.qcow2');
    writeFileSync(path, bytes);
    expectBridgeError(() => openDiskImage({ path }), /reftable\.qcow2: refcount table entry 1 is not a cluster offset .* the image is corrupt/);
    const disk = openDiskImage({ path, readOnly: true });
    const buffer = new Uint8Array(CLUSTER);
    disk.read(0, buffer);
    assert.deepEqual(buffer, pattern(4 * CLUSTER, 1).subarray(0, CLUSTER));
    disk.close();
  } finally {
    dir.remove();
  }
});

/** Damages 1..6 spots of an image: bytes, or whole 64-bit fields set to awkward values. */
function mutate(bytes: Uint8Array, random: () => number): void {
  const layout = layoutOf(bytes);
  const view = layout.view;
  const regions = [
    [0, 112],
    [layout.l1Offset, 8],
    [layout.l2Offset, CLUSTER],
    [layout.refcountTableOffset, 64],
    [Number(view.getBigUint64(layout.refcountTableOffset)), CLUSTER],
  ].filter(([start, length]) => start >= 0 && start + length <= bytes.length);
  const awkward = () => {
    const choices = [0n, 1n, BigInt(CLUSTER), BigInt(bytes.length), BigInt(bytes.length - CLUSTER), 1n << 63n, (1n << 63n) | BigInt(layout.l1Offset), 1n << 62n, (1n << 62n) | BigInt(2 * CLUSTER + 17), 0xffff_ffff_ffff_ffffn, BigInt(randomInt(random, bytes.length)) & ~511n, BigInt(Math.floor(random() * 2 ** 52))];
    return choices[randomInt(random, choices.length)];
  };
  const spots = 1 + randomInt(random, 6);
  for (let spot = 0; spot < spots; spot++) {
    const [start, length] = regions[randomInt(random, regions.length)];
    const at = start + randomInt(random, length);
    if (random() < 0.5) bytes[at] ^= 1 << randomInt(random, 8);
    else if (random() < 0.5) bytes[at] = randomInt(random, 256);
    else {
      const aligned = start + Math.floor((at - start) / 8) * 8;
      if (aligned + 8 <= bytes.length) view.setBigUint64(aligned, awkward());
    }
  }
}

function onlyBridgeErrors(what: string, action: () => void): void {
  try {
    action();
  } catch (error) {
    if (!(error instanceof BridgeError)) throw new Error(`${what}: ${(error as Error)?.constructor?.name}: ${(error as Error)?.stack}`);
  }
}

test('fuzz: randomly damaged images open and read or fail with BridgeError, never another exception, never a write', () => {
  const dir = temporaryDirectory('fuzz');
  try {
    const images = [populatedImage(dir.path, { name: 'v3.qcow2' }), populatedImage(dir.path, { version: 2, name: 'v2.qcow2' })];
    const random = seededRandom(0x5eed);
    const path = join(dir.path, 'fuzz.qcow2');
    const iterations = 400;
    let opened = 0;
    for (let iteration = 0; iteration < iterations; iteration++) {
      const bytes = new Uint8Array(images[iteration % images.length]);
      mutate(bytes, random);
      writeFileSync(path, bytes);
      const before = hashOf(bytes);
      for (const readOnly of [true, false]) {
        onlyBridgeErrors(`iteration ${iteration} (readOnly ${readOnly})`, () => {
          const disk = openDiskImage({ path, format: 'qcow2', readOnly });
          opened++;
          try {
            const buffer = new Uint8Array(64 * 512);
            const sectors = Math.min(disk.sectorCount, 4096);
            for (let sector = 0; sector + 64 <= sectors; sector += 64) onlyBridgeErrors(`iteration ${iteration} read ${sector}`, () => disk.read(sector, buffer));
            for (let probe = 0; probe < 8 && disk.sectorCount > 0; probe++) {
              onlyBridgeErrors(`iteration ${iteration} probe`, () => disk.read(randomInt(random, disk.sectorCount), buffer.subarray(0, 512)));
            }
          } finally {
            disk.close();
          }
        });
        assert.equal(hashOf(readFileSync(path)), before, `iteration ${iteration}: opening or reading modified the image`);
      }
      // Writes to a damaged image: BridgeError or success, and the image stays readable.
      onlyBridgeErrors(`iteration ${iteration} writes`, () => {
        const disk: BlockBackend = openDiskImage({ path, format: 'qcow2' });
        try {
          for (let write = 0; write < 6; write++) {
            const count = 1 + randomInt(random, 16);
            const sector = randomInt(random, Math.max(1, Math.min(disk.sectorCount, 4096) - count));
            onlyBridgeErrors(`iteration ${iteration} write`, () => disk.write(sector, pattern(count * 512, write)));
            onlyBridgeErrors(`iteration ${iteration} zeroes`, () => disk.writeZeroes(sector, count, write % 2 === 0));
            onlyBridgeErrors(`iteration ${iteration} flush`, () => disk.flush());
          }
        } finally {
          onlyBridgeErrors(`iteration ${iteration} close`, () => disk.close());
        }
      });
    }
    assert.ok(opened > iterations / 4, `most mutations should still open (${opened} opens)`);
  } finally {
    dir.remove();
  }
});
