// Disk backend throughput: sequential writes and reads through the raw, qcow2 and snapshot=on
// backends, against plain node:fs reads and writes of a file of the same size in the same run.
//   node bench/disk-backends.mjs [--size MiB] [--request KiB] [--rounds N]
// The module is bundled with esbuild first, as the extension ships it. Writes end with a flush
// (fdatasync); reads mostly come from the page cache, so they measure the backend's own cost.
// Opening and closing an image are not timed.
// Numbers are for comparison within one run on one machine.
import { build } from 'esbuild';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const sizeMiB = argument('--size', 128);
const requestKiB = argument('--request', 64);
const rounds = argument('--rounds', 3);
const size = sizeMiB * 1024 * 1024;
const request = requestKiB * 1024;

const work = mkdtempSync(join(tmpdir(), 'disk-bench-'));
const bundle = join(work, 'disk.mjs');
await build({
  entryPoints: [new URL('../vmm-core/bridges/disk/index.ts', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  platform: 'node',
  outfile: bundle,
  logLevel: 'error',
});
const { openDiskImage, createQcow2Image } = await import(pathToFileURL(bundle).href);

const data = new Uint8Array(request);
for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
const target = new Uint8Array(request);

/** Best of `rounds` runs; `prepare` (untimed) runs before each. */
function timed(label, action, prepare = () => {}) {
  let seconds = Infinity;
  for (let round = 0; round < rounds; round++) {
    prepare();
    const start = performance.now();
    action();
    seconds = Math.min(seconds, (performance.now() - start) / 1000);
  }
  return { label, seconds, megabytesPerSecond: size / 1024 / 1024 / seconds };
}

function plainWrite(path) {
  return timed('fs writeSync + fdatasync', () => {
    const fd = openSync(path, 'r+');
    for (let position = 0; position < size; position += request) writeSync(fd, data, 0, request, position);
    fdatasyncSync(fd);
    closeSync(fd);
  });
}

function plainRead(path) {
  return timed('fs readSync', () => {
    const fd = openSync(path, 'r');
    for (let position = 0; position < size; position += request) readSync(fd, target, 0, request, position);
    closeSync(fd);
  });
}

/** Opening (locks, headers) and closing stay outside the timed part; the final flush is inside. */
function backendWrite(label, open, prepare = () => {}) {
  let disk;
  const result = timed(label, () => {
    const sectors = request / 512;
    for (let sector = 0; sector < size / 512; sector += sectors) disk.write(sector, data);
    disk.flush();
  }, () => {
    disk?.close();
    prepare();
    disk = open();
  });
  disk.close();
  return result;
}

function backendRead(label, open) {
  let disk;
  const result = timed(label, () => {
    const sectors = request / 512;
    for (let sector = 0; sector < size / 512; sector += sectors) disk.read(sector, target);
  }, () => {
    disk?.close();
    disk = open();
  });
  disk.close();
  return result;
}

const results = [];
const plainPath = join(work, 'plain.img');
const rawPath = join(work, 'raw.img');
const qcow2Path = join(work, 'disk.qcow2');
try {
  // Plain fs and the raw backend write over the same kind of file: one of the full size.
  for (const path of [plainPath, rawPath]) {
    const fd = openSync(path, 'w');
    writeSync(fd, new Uint8Array(1), 0, 1, size - 1);
    closeSync(fd);
  }
  const baseWrite = plainWrite(plainPath);
  const baseRead = plainRead(plainPath);
  results.push([baseWrite, baseWrite], [baseRead, baseRead]);

  results.push([backendWrite('raw backend: write + flush', () => openDiskImage({ path: rawPath, format: 'raw' })), baseWrite]);
  results.push([backendRead('raw backend: read', () => openDiskImage({ path: rawPath, format: 'raw', readOnly: true })), baseRead]);
  results.push([{ ...plainRead(rawPath), label: 'fs readSync of raw.img (shows run-to-run noise)' }, baseRead]);

  const freshQcow2 = () => {
    rmSync(qcow2Path, { force: true });
    createQcow2Image(qcow2Path, { size });
  };
  results.push([backendWrite('qcow2: first write (allocating) + flush', () => openDiskImage({ path: qcow2Path }), freshQcow2), baseWrite]);
  results.push([backendWrite('qcow2: rewrite (in place) + flush', () => openDiskImage({ path: qcow2Path })), baseWrite]);
  results.push([backendRead('qcow2: read', () => openDiskImage({ path: qcow2Path, readOnly: true })), baseRead]);

  results.push([backendWrite('snapshot=on over raw: write (temporary, no fdatasync)', () => openDiskImage({ path: rawPath, format: 'raw', snapshot: true })), baseWrite]);
  results.push([backendRead('snapshot=on over raw: read (all from the base)', () => openDiskImage({ path: rawPath, format: 'raw', snapshot: true })), baseRead]);
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(`node ${process.version}, ${sizeMiB} MiB sequential in ${requestKiB} KiB requests, best of ${rounds} rounds`);
for (const [result, base] of results) {
  const ratio = result === base ? '' : `  ratio to plain fs ${(result.megabytesPerSecond / base.megabytesPerSecond).toFixed(2)}`;
  console.log(`${result.label.padEnd(56)} ${result.megabytesPerSecond.toFixed(0).padStart(6)} MB/s  ${result.seconds.toFixed(3)} s${ratio}`);
}
