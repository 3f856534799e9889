// vkernel (guests/vkernel/): the project's own teaching kernel, with U-mode processes, the
// machine timer forwarded to S-mode as SSIP, and an interrupt-driven driver for the modern
// virtio-mmio block device. It runs on QEMU 7.2 (the reference, when installed) and on Ringside
// through the CLI. Every run gets a fresh disk image from guests/vkernel/make-disk.mjs (with the
// host's pattern), and afterwards the image is checked for what the guest left there.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { requireTool } from '../support/tools';

const KERNEL = 'guests/bin/vkernel.elf';
const MAKE_DISK = 'guests/vkernel/make-disk.mjs';
const CLI = 'dist/cli.js';
const VERDICT = 'vkernel: all 6 processes passed';
const EXIT_NO_DISK = 102;
const QEMU = 'qemu-system-riscv64';
const hasQemu = spawnSync(QEMU, ['--version'], { encoding: 'utf8' }).status === 0;
const noQemu = !hasQemu && `${QEMU} is not installed (scripts/install-deps.sh)`;

let scratch = '';

before(() => {
  // --if-needed rebuilds only when a source is newer than dist/cli.js.
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { encoding: 'utf8' });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);
  scratch = mkdtempSync(join(tmpdir(), 'ringside-vkernel-'));
});

after(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

interface RunResult {
  code: number | null;
  output: string;
  stderr: string;
}

function run(command: string, args: readonly string[], timeoutMs: number): RunResult {
  const result = spawnSync(command, args, { encoding: 'latin1', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: result.status, output: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** A fresh image with the host's pattern. */
function createDisk(name: string): string {
  const path = join(scratch, name);
  const result = run(process.execPath, [MAKE_DISK, 'create', path], 30_000);
  assert.equal(result.code, 0, result.stderr);
  return path;
}

/** make-disk.mjs check: exit code and its report. */
function checkDisk(path: string): RunResult {
  return run(process.execPath, [MAKE_DISK, 'check', path], 30_000);
}

function assertDiskResults(path: string): void {
  const check = checkDisk(path);
  assert.equal(check.code, 0, `the host-side check of ${path} failed:\n${check.output}${check.stderr}`);
}

function qemu(args: readonly string[]): RunResult {
  return run(QEMU, ['-M', 'virt', '-bios', 'none', '-nographic', '-kernel', KERNEL, ...args], 60_000);
}

const modern = ['-global', 'virtio-mmio.force-legacy=false'];
const disk = (path: string): string[] => ['-drive', `file=${path},format=raw,if=none,id=d0`, '-device', 'virtio-blk-device,drive=d0'];

function ringside(args: readonly string[]): RunResult {
  return run(process.execPath, [CLI, 'run', '--kernel', KERNEL, '--timeout', '120', ...args], 150_000);
}

const withOutput = (result: RunResult): string => `exit ${result.code}\n${result.output}${result.stderr}`;

// ---- the disk image tool ----------------------------------------------------------------------

describe('vkernel disk image (make-disk.mjs)', () => {
  test('a fresh image fails the check: no result record, no guest->host pattern, no worker data', () => {
    const check = checkDisk(createDisk('fresh.img'));
    assert.equal(check.code, 1, check.output);
    assert.match(check.output, /sector 1: no result record/);
    assert.match(check.output, /sector 128 word 0: /);
  });

  test('create is reproducible and writes the header the guest checks', () => {
    const first = readFileSync(createDisk('a.img'));
    const second = readFileSync(createDisk('b.img'));
    assert.equal(first.length, 2048 * 512);
    assert.ok(first.equals(second));
    assert.equal(first.subarray(0, 23).toString('latin1'), 'RINGSIDE VKERNEL DISK 1');
    assert.equal(first.readUInt32LE(32), 2048);
  });
});

// ---- the reference: QEMU 7.2 ------------------------------------------------------------------

describe('vkernel on QEMU 7.2', () => {
  test('VERSION_1 negotiated: every process passes and the host finds the guest\'s data', () => {
    requireTool(noQemu);
    const image = createDisk('qemu-version1.img');
    const result = qemu([...modern, ...disk(image)]);
    assert.equal(result.code, 0, withOutput(result));
    assert.ok(result.output.includes(VERDICT), withOutput(result));
    // QEMU fills the slots from the top: the first -device is in slot 7.
    assert.ok(result.output.includes('virtio-mmio slot 7 at 0x10008000 (irq 8): version 2, device 2 (block)'), result.output);
    assert.match(result.output, /accepted 0x00000001[0-9a-f]{8} \(VERSION_1, FLUSH\)/);
    assert.match(result.output, /hostcheck \(pid \d\): read the host's pattern in sectors 64\.\.127: all match/);
    assert.match(result.output, /compute \(pid \d\): 5133 primes below 50000/);
    assertDiskResults(image);

    // the check is real: one changed word in a worker's region is found
    const bytes = readFileSync(image);
    bytes[300 * 512 + 40] ^= 0x01;
    writeFileSync(image, bytes);
    const check = checkDisk(image);
    assert.equal(check.code, 1);
    assert.match(check.output, /sector 300 word 10: /);
  });

  test('xv6-style negotiation (no VERSION_1), -icount shift=0, the disk behind a virtio-rng device', () => {
    requireTool(noQemu);
    const image = createDisk('qemu-xv6.img');
    const result = qemu(['-icount', 'shift=0', ...modern, '-device', 'virtio-rng-device', ...disk(image),
      '-append', 'vkernel.features=xv6']);
    assert.equal(result.code, 0, withOutput(result));
    assert.ok(result.output.includes(VERDICT), withOutput(result));
    assert.ok(result.output.includes("vkernel: command line 'vkernel.features=xv6'"), result.output);
    assert.ok(result.output.includes('virtio-mmio slot 6 at 0x10007000 (irq 7): version 2, device 2 (block)'), result.output);
    assert.ok(result.output.includes('virtio-mmio slot 7 at 0x10008000 (irq 8): version 2, device 4 (entropy)'), result.output);
    assert.match(result.output, /features \(xv6 style, page 0 only\): offered 0x[0-9a-f]{8}, accepted 0x[0-9a-f]{8}, VERSION_1 not accepted/);
    assert.match(result.output, /slot 6, irq 7, 2048 sectors .* flush negotiated/);
    assertDiskResults(image);
  });

  test('the legacy interface (version 1) is refused with a clear message and the disk is untouched', () => {
    requireTool(noQemu);
    const image = createDisk('qemu-legacy.img');
    const before = readFileSync(image);
    const result = qemu(disk(image));
    assert.equal(result.code, EXIT_NO_DISK, withOutput(result));
    assert.ok(result.output.includes('only the legacy interface (version 1) is offered'), result.output);
    assert.ok(result.output.includes('-global virtio-mmio.force-legacy=false'), result.output);
    assert.ok(readFileSync(image).equals(before));
  });

  test('without a disk the kernel says so and exits with code 102', () => {
    requireTool(noQemu);
    const result = qemu(modern);
    assert.equal(result.code, EXIT_NO_DISK, withOutput(result));
    assert.ok(result.output.includes('vkernel: no virtio-mmio block device (version 2) in slots 0..7'), result.output);
  });
});

// ---- Ringside ---------------------------------------------------------------------------------

describe('vkernel on Ringside', () => {
  test('without a disk: M-mode boot, PMP, Sv39 paging, the probe of eight empty slots (exit 102, as on QEMU)', () => {
    const result = ringside([]);
    assert.equal(result.code, EXIT_NO_DISK, withOutput(result));
    assert.ok(result.output.includes('vkernel: Sv39 paging on;'), result.output);
    assert.ok(result.output.includes('vkernel: no virtio-mmio block device (version 2) in slots 0..7'), result.output);
    if (hasQemu) assert.equal(result.output, qemu(modern).output.replace(/\r\n/g, '\n'));
  });

  // Needs the CLI's --drive option (and the virtio-blk device behind it).
  test('--drive: VERSION_1 negotiated, every process passes, the host finds the guest\'s data, and two runs are identical', () => {
    const first = createDisk('ringside-version1-a.img');
    const second = createDisk('ringside-version1-b.img');
    const result = ringside(['--drive', `file=${first},format=raw`]);
    assert.equal(result.code, 0, withOutput(result));
    assert.ok(result.output.includes(VERDICT), withOutput(result));
    assert.match(result.output, /accepted 0x00000001[0-9a-f]{8} \(VERSION_1, FLUSH\)/);
    assertDiskResults(first);
    const again = ringside(['--drive', `file=${second},format=raw`]);
    assert.equal(again.output, result.output, 'the same inputs give the same run (virtual clock)');
    assert.ok(readFileSync(first).equals(readFileSync(second)));
  });

  test('--drive with --append vkernel.features=xv6: the lenient negotiation works too', () => {
    const image = createDisk('ringside-xv6.img');
    const result = ringside(['--drive', `file=${image},format=raw`, '--append', 'vkernel.features=xv6']);
    assert.equal(result.code, 0, withOutput(result));
    assert.ok(result.output.includes(VERDICT), withOutput(result));
    assert.ok(result.output.includes('VERSION_1 not accepted'), result.output);
    assertDiskResults(image);
  });
});
