// Crash consistency, exhaustively: every write and fdatasync Ringside makes to a qcow2 image is
// recorded, then the image is rebuilt as a crash would leave it and checked with qemu-img check
// (leaks allowed, errors never):
//  - a killed process: every prefix of the writes, cut before each metadata write (and with a
//    large metadata write torn at a page boundary);
//  - a power cut: everything before the last completed fdatasync, plus any subset of the writes
//    issued since (the page cache may have written back some of them, in any order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openDiskImage } from '../../vmm-core/bridges/disk';
import { ImageFile } from '../../vmm-core/bridges/disk/image-file';
import { NEEDS_QEMU_IMG, pattern, qemuCheck, qemuImg, randomInt, seededRandom, temporaryDirectory } from '../disk/support';
import { requireTool } from '../support/tools';

type Event = { kind: 'write'; position: number; data: Uint8Array; metadata: boolean } | { kind: 'sync' };

/** Runs `action` and returns every write and sync it made to the file at `path`. */
function record(path: string, action: () => void): Event[] {
  const events: Event[] = [];
  const writeAt = ImageFile.prototype.writeAt;
  const sync = ImageFile.prototype.sync;
  ImageFile.prototype.writeAt = function (this: ImageFile, position: number, data: Uint8Array) {
    if (this.path === path) {
      // Metadata is written by the write-out (and the header by the first write); data elsewhere.
      const stack = new Error().stack ?? '';
      const metadata = /writeOutMetadata|prepareForWrites/.test(stack);
      events.push({ kind: 'write', position, data: new Uint8Array(data), metadata });
    }
    return writeAt.call(this, position, data);
  };
  ImageFile.prototype.sync = function (this: ImageFile) {
    if (this.path === path) events.push({ kind: 'sync' });
    return sync.call(this);
  };
  try {
    action();
  } finally {
    ImageFile.prototype.writeAt = writeAt;
    ImageFile.prototype.sync = sync;
  }
  return events;
}

/** A crash state kept in a real file, changed in place (so checking it costs no full copy). */
class ScratchImage {
  private readonly fd: number;
  private length: number;
  constructor(readonly path: string, initial: Uint8Array) {
    writeFileSync(path, initial);
    this.fd = openSync(path, 'r+');
    this.length = initial.length;
  }
  apply(position: number, data: Uint8Array): void {
    writeSync(this.fd, data, 0, data.length, position);
    this.length = Math.max(this.length, position + data.length);
  }
  /** Applies writes, runs `check`, then puts every byte (and the length) back. */
  tryWrites(writes: { position: number; data: Uint8Array }[], check: () => void): void {
    const undo: { position: number; data: Uint8Array }[] = [];
    const length = this.length;
    for (const write of writes) {
      const old = new Uint8Array(write.data.length);
      readSync(this.fd, old, 0, old.length, write.position);
      undo.push({ position: write.position, data: old });
      this.apply(write.position, write.data);
    }
    try {
      check();
    } finally {
      for (const write of undo.reverse()) writeSync(this.fd, write.data, 0, write.data.length, write.position);
      ftruncateSync(this.fd, length);
      this.length = length;
    }
  }
  close(): void {
    closeSync(this.fd);
  }
}

interface CrashReport {
  checks: number;
  leaks: number;
}

function checkImage(path: string, what: string, report: CrashReport): void {
  const check = qemuCheck(path);
  report.checks++;
  report.leaks = Math.max(report.leaks, check.leaks);
  assert.equal(check.checkErrors, 0, `${what}: ${check.output}`);
  assert.equal(check.corruptions, 0, `${what}: ${check.output}`);
  assert.ok(check.status === 0 || check.status === 3, `${what}: ${check.output}`);
}

function crashCheck(initial: Uint8Array, events: Event[], dir: string, random: () => number): CrashReport {
  const report: CrashReport = { checks: 0, leaks: 0 };
  // Killed process: cut before each metadata write.
  const killed = new ScratchImage(join(dir, 'killed.qcow2'), initial);
  for (const [index, event] of events.entries()) {
    if (event.kind !== 'write') continue;
    if (event.metadata) {
      checkImage(killed.path, `killed before write ${index}`, report);
      if (event.data.length > 4096) {
        const pageCut = 4096 * (1 + randomInt(random, Math.floor((event.data.length - 1) / 4096)));
        killed.tryWrites([{ position: event.position, data: event.data.subarray(0, pageCut) }], () =>
          checkImage(killed.path, `killed during write ${index} (first ${pageCut} bytes landed)`, report));
      }
    }
    killed.apply(event.position, event.data);
  }
  checkImage(killed.path, 'after the last write', report);
  killed.close();

  // Power cut: durable up to the last sync, then some of the writes issued after it.
  const cut = new ScratchImage(join(dir, 'power-cut.qcow2'), initial);
  let epoch: { position: number; data: Uint8Array }[] = [];
  const endEpoch = () => {
    if (epoch.length > 1) {
      const kept = epoch.filter(() => random() < 0.5);
      cut.tryWrites(kept, () => checkImage(cut.path, `power cut keeping ${kept.length} of ${epoch.length} unsynced writes`, report));
    }
    for (const write of epoch) cut.apply(write.position, write.data);
    epoch = [];
  };
  for (const event of events) {
    if (event.kind === 'sync') endEpoch();
    else epoch.push(event);
  }
  endEpoch();
  cut.close();
  return report;
}

test('crash consistency: 512 B clusters, refcount blocks created and the refcount table moved, discards freeing clusters', (t) => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('crash');
  try {
    const path = join(dir.path, 'small-clusters.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512,refcount_bits=64', path, String(8 * 1024 * 1024));
    const initial = new Uint8Array(readFileSync(path));
    const random = seededRandom(0xc0ffee);
    const events = record(path, () => {
      const disk = openDiskImage({ path });
      // Mostly ascending writes (2.5 MiB of new data moves the one-cluster refcount table),
      // some rewrites and discards, a flush every few requests.
      let next = 0;
      for (let step = 0; step < 48; step++) {
        const count = 64 + randomInt(random, 128);
        if (step % 8 === 7) disk.discard(randomInt(random, next), 1 + randomInt(random, 64));
        else if (step % 8 === 5) disk.write(randomInt(random, next), pattern(512 * 16, step));
        else {
          disk.write(next, pattern(512 * count, step, next));
          next += count;
        }
        if (step % 6 === 5) disk.flush();
      }
      disk.close();
    });
    const metadataWrites = events.filter((event) => event.kind === 'write' && event.metadata).length;
    assert.ok(metadataWrites > 50, `the workload produced ${metadataWrites} metadata writes`);
    const report = crashCheck(initial, events, dir.path, random);
    t.diagnostic(`${events.length} writes and syncs recorded, ${metadataWrites} metadata writes, ${report.checks} crash states checked, at most ${report.leaks} leaked clusters`);
    const tableOffset = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(48);
    assert.notEqual(tableOffset(readFileSync(path)), tableOffset(initial), 'the refcount table moved during the workload');
  } finally {
    dir.remove();
  }
});

test('crash consistency: 64 KiB clusters with an internal snapshot (L2 tables copied, torn large writes)', (t) => {
  requireTool(NEEDS_QEMU_IMG);
  const dir = temporaryDirectory('crash');
  try {
    const path = join(dir.path, 'snapshot.qcow2');
    const raw = join(dir.path, 'content.raw');
    writeFileSync(raw, pattern(12 * 1024 * 1024, 0x5a));
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, path);
    qemuImg('snapshot', '-c', 'kept', path);
    const initial = new Uint8Array(readFileSync(path));
    const random = seededRandom(0xbeef);
    const events = record(path, () => {
      const disk = openDiskImage({ path });
      for (let step = 0; step < 30; step++) {
        const sector = randomInt(random, 24576 - 300);
        if (step % 6 === 5) disk.writeZeroes(sector, 1 + randomInt(random, 300), step % 2 === 0);
        else disk.write(sector, pattern(512 * (1 + randomInt(random, 300)), step, sector));
        if (step % 4 === 3) disk.flush();
      }
      disk.close();
    });
    const report = crashCheck(initial, events, dir.path, random);
    t.diagnostic(`${events.length} writes and syncs recorded, ${report.checks} crash states checked, at most ${report.leaks} leaked clusters`);
    const check = qemuCheck(path);
    assert.equal(check.status, 0, check.output);
  } finally {
    dir.remove();
  }
});
