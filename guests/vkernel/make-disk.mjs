#!/usr/bin/env node
// The vkernel disk image: creates it with the host's pattern before a run, and checks after
// the run what the guest left there.  The layout and seeds are read from disk-layout.h (the
// C side's one definition); pattern_word() is the same hash as there.
//
//   node guests/vkernel/make-disk.mjs create FILE   write a fresh raw image (1 MiB)
//   node guests/vkernel/make-disk.mjs check FILE    exit 0 if the guest's results are all
//                                                   there, else list what is wrong, exit 1
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const LAYOUT_HEADER = join(dirname(fileURLToPath(import.meta.url)), 'disk-layout.h');

/** The #define NAME VALUE lines of disk-layout.h: numbers (hex or decimal, u suffix) and strings. */
export function readLayout(path = LAYOUT_HEADER) {
  const layout = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^#define\s+([A-Z0-9_]+)\s+("[^"]*"|0x[0-9a-fA-F]+u?|\d+u?)\s*(\/\*.*)?$/.exec(line);
    if (!match) continue;
    const [, name, value] = match;
    layout[name] = value.startsWith('"') ? value.slice(1, -1) : Number.parseInt(value.replace(/u$/, ''));
  }
  const needed = ['DISK_SECTOR_SIZE', 'DISK_IMAGE_SECTORS', 'DISK_HEADER_SECTOR', 'DISK_RESULT_SECTOR',
    'DISK_HOST_BASE', 'DISK_HOST_COUNT', 'DISK_GUEST_BASE', 'DISK_GUEST_COUNT', 'DISK_WORKER_BASE',
    'DISK_WORKER_SECTORS', 'DISK_WORKERS', 'DISK_REWRITTEN_SECTOR', 'DISK_CHILDREN', 'SEED_HOST',
    'SEED_STALE', 'SEED_WORKER', 'SEED_REWRITE', 'DISK_MAGIC', 'VKERNEL_RESULT_MAGIC', 'HEADER_FIELD_OFFSET'];
  for (const name of needed) {
    if (layout[name] === undefined) throw new Error(`${path}: no #define ${name}`);
  }
  return layout;
}

/** pattern_word() of disk-layout.h. */
export function patternWord(seed, sector, index) {
  let x = (seed ^ Math.imul(sector, 0x9e3779b1) ^ Math.imul(index, 0x85ebca77)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** What each sector should hold after a successful run: a seed and whether it is inverted. */
function expectedAfterRun(layout, sector) {
  const L = layout;
  if (sector >= L.DISK_HOST_BASE && sector < L.DISK_HOST_BASE + L.DISK_HOST_COUNT) return { seed: L.SEED_HOST, at: sector };
  if (sector >= L.DISK_GUEST_BASE && sector < L.DISK_GUEST_BASE + L.DISK_GUEST_COUNT) {
    return { seed: L.SEED_HOST, at: sector - L.DISK_GUEST_BASE + L.DISK_HOST_BASE, inverted: true };
  }
  const workerEnd = L.DISK_WORKER_BASE + L.DISK_WORKERS * L.DISK_WORKER_SECTORS;
  if (sector >= L.DISK_WORKER_BASE && sector < workerEnd) {
    const worker = Math.floor((sector - L.DISK_WORKER_BASE) / L.DISK_WORKER_SECTORS);
    const relative = (sector - L.DISK_WORKER_BASE) % L.DISK_WORKER_SECTORS;
    const seed = relative === L.DISK_REWRITTEN_SECTOR ? L.SEED_REWRITE + worker : L.SEED_WORKER + worker;
    return { seed: seed >>> 0, at: sector };
  }
  return { seed: L.SEED_STALE, at: sector };
}

function headerSector(layout) {
  const L = layout;
  const bytes = new Uint8Array(L.DISK_SECTOR_SIZE);
  bytes.set(new TextEncoder().encode(L.DISK_MAGIC));
  const view = new DataView(bytes.buffer);
  const fields = [L.DISK_IMAGE_SECTORS, L.DISK_HOST_BASE, L.DISK_HOST_COUNT, L.DISK_GUEST_BASE,
    L.DISK_GUEST_COUNT, L.DISK_WORKER_BASE, L.DISK_WORKER_SECTORS, L.DISK_WORKERS, L.SEED_HOST];
  fields.forEach((value, i) => view.setUint32(L.HEADER_FIELD_OFFSET + 4 * i, value >>> 0, true));
  return bytes;
}

function fillSector(view, offset, layout, seed, sector) {
  for (let i = 0; i < layout.DISK_SECTOR_SIZE / 4; i++) view.setUint32(offset + 4 * i, patternWord(seed, sector, i), true);
}

/** A fresh image: header, the host pattern, stale filler everywhere else. */
export function createImage(layout = readLayout()) {
  const L = layout;
  const image = new Uint8Array(L.DISK_IMAGE_SECTORS * L.DISK_SECTOR_SIZE);
  const view = new DataView(image.buffer);
  for (let sector = 0; sector < L.DISK_IMAGE_SECTORS; sector++) {
    const inHost = sector >= L.DISK_HOST_BASE && sector < L.DISK_HOST_BASE + L.DISK_HOST_COUNT;
    fillSector(view, sector * L.DISK_SECTOR_SIZE, L, inHost ? L.SEED_HOST : L.SEED_STALE, sector);
  }
  image.set(headerSector(L), L.DISK_HEADER_SECTOR * L.DISK_SECTOR_SIZE);
  return image;
}

/** Problems with an image after a run (empty: the guest left everything the host expects). */
export function checkImage(image, layout = readLayout()) {
  const L = layout;
  const problems = [];
  if (image.length !== L.DISK_IMAGE_SECTORS * L.DISK_SECTOR_SIZE) {
    return [`image is ${image.length} bytes, want ${L.DISK_IMAGE_SECTORS * L.DISK_SECTOR_SIZE}`];
  }
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const header = headerSector(L);
  const headerOffset = L.DISK_HEADER_SECTOR * L.DISK_SECTOR_SIZE;
  if (!header.every((byte, i) => image[headerOffset + i] === byte)) problems.push('sector 0 (header) changed');

  // the result record init wrote
  const result = L.DISK_RESULT_SECTOR * L.DISK_SECTOR_SIZE;
  const magic = new TextDecoder().decode(image.subarray(result, result + 16));
  if (magic !== L.VKERNEL_RESULT_MAGIC) {
    problems.push(`sector ${L.DISK_RESULT_SECTOR}: no result record (starts '${magic.replace(/[^\x20-\x7e]/g, '.')}')`);
  } else {
    const children = view.getUint32(result + 16, true), failed = view.getUint32(result + 20, true);
    if (children !== L.DISK_CHILDREN) problems.push(`result record: ${children} children, want ${L.DISK_CHILDREN}`);
    if (failed !== 0) problems.push(`result record: ${failed} children failed`);
    const pids = new Set();
    for (let i = 0; i < Math.min(children, L.DISK_CHILDREN); i++) {
      const pid = view.getUint32(result + 32 + 8 * i, true), status = view.getInt32(result + 36 + 8 * i, true);
      if (status !== 0) problems.push(`result record: pid ${pid} exited with status ${status}`);
      if (pid < 2 || pids.has(pid)) problems.push(`result record: bad or repeated pid ${pid}`);
      pids.add(pid);
    }
  }

  // every other sector, word by word
  for (let sector = 0; sector < L.DISK_IMAGE_SECTORS; sector++) {
    if (sector === L.DISK_HEADER_SECTOR || sector === L.DISK_RESULT_SECTOR) continue;
    const { seed, at, inverted } = expectedAfterRun(L, sector);
    for (let i = 0; i < L.DISK_SECTOR_SIZE / 4; i++) {
      const want = (inverted ? ~patternWord(seed, at, i) : patternWord(seed, at, i)) >>> 0;
      const got = view.getUint32(sector * L.DISK_SECTOR_SIZE + 4 * i, true);
      if (got !== want) {
        problems.push(`sector ${sector} word ${i}: 0x${got.toString(16).padStart(8, '0')}, want 0x${want.toString(16).padStart(8, '0')}`);
        break;
      }
    }
    if (problems.length > 20) {
      problems.push('(more)');
      break;
    }
  }
  return problems;
}

function main(argv) {
  const [command, file] = argv;
  if ((command !== 'create' && command !== 'check') || !file || argv.length !== 2) {
    process.stderr.write('usage: node guests/vkernel/make-disk.mjs create|check FILE\n');
    return 2;
  }
  if (command === 'create') {
    writeFileSync(file, createImage());
    process.stdout.write(`${file}: vkernel disk image created\n`);
    return 0;
  }
  let image;
  try {
    image = new Uint8Array(readFileSync(file));
  } catch (error) {
    process.stderr.write(`make-disk: cannot read ${file}: ${error.message}\n`);
    return 2;
  }
  const problems = checkImage(image);
  if (problems.length === 0) {
    process.stdout.write(`${file}: the guest's results are all there (result record, guest->host pattern, worker regions)\n`);
    return 0;
  }
  process.stdout.write(`${file}: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}\n`).join('')}`);
  return 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) process.exitCode = main(process.argv.slice(2));
