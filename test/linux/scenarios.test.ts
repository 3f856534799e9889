// Real Linux 6.1 guests on Ringside: each test runs one scenario of guests/linux through its
// harness (guests/linux/run-scenario.mjs --emulator ringside), which boots the kernel, busybox
// initramfs and disks built by guests/linux/build.sh, starts the host-side servers on
// 127.0.0.1, checks the guest's markers and the host's view (disk images, forwarded
// connections) and prints one result line. Every scenario was first proven on QEMU 7.2 with
// the same devices in the same virtio-mmio slots (guests/linux/README.md).

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(homedir(), '.cache/ringside/linux-6.1');
const HARNESS = 'guests/linux/run-scenario.mjs';
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
// Wall-clock limit for one scenario inside the emulator, and a margin for the harness.
const SCENARIO_SECONDS = 900;

interface Variant {
  scenario: string;
  bios: 'opensbi' | 'builtin';
  smp?: number;
  /** virtio-mmio version 1 (QEMU 7.2's default) instead of Ringside's modern default */
  legacy?: boolean;
}

const VARIANTS: Variant[] = [
  { scenario: 'boot', bios: 'opensbi' },
  { scenario: 'boot', bios: 'builtin' },
  { scenario: 'exitcode', bios: 'builtin' },
  { scenario: 'exitcode', bios: 'opensbi' },
  { scenario: 'disk', bios: 'builtin' },
  { scenario: 'disk', bios: 'opensbi', legacy: true },
  { scenario: 'net', bios: 'builtin' },
  { scenario: 'net', bios: 'opensbi', legacy: true },
  { scenario: 'pair', bios: 'builtin' },
  { scenario: 'rng', bios: 'builtin' },
  { scenario: 'console', bios: 'builtin' },
  { scenario: 'shell', bios: 'builtin' },
  { scenario: 'smp', bios: 'opensbi', smp: 2 },
  { scenario: 'smp', bios: 'builtin', smp: 4 },
  { scenario: 'uboot', bios: 'opensbi' },
  { scenario: 'uboot', bios: 'builtin' },
];

function runHarness(variant: Variant, extra: string[] = []): Promise<{ code: number | null; output: string }> {
  const args = [HARNESS, '--emulator', 'ringside', '--scenario', variant.scenario, '--bios', variant.bios,
    '--timeout', String(SCENARIO_SECONDS), ...extra];
  if (variant.smp !== undefined) args.push('--smp', String(variant.smp));
  if (variant.legacy === true) args.push('--transport', 'legacy');
  return new Promise((resolve) => {
    execFile(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, output: stdout + stderr });
    });
  });
}

before(() => {
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { encoding: 'utf8' });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);
});

describe('Linux guests on Ringside (guests/linux)', () => {
  test('the guest kernel, initramfs and disk template are built', () => {
    for (const file of ['Image', 'vmlinux', 'initramfs.cpio', 'disk.ext2']) {
      assert.ok(existsSync(join(CACHE, file)), `${join(CACHE, file)} is missing: run bash guests/linux/build.sh (Debian packages: bash scripts/install-deps.sh)`);
    }
    assert.ok(existsSync(FW_JUMP), `${FW_JUMP} is missing: run bash scripts/install-deps.sh`);
  });

  for (const variant of VARIANTS) {
    const name = `${variant.scenario} (bios ${variant.bios}${variant.smp !== undefined ? `, ${variant.smp} harts` : ''}${variant.legacy === true ? ', legacy virtio-mmio' : ''})`;
    test(name, { timeout: (SCENARIO_SECONDS + 120) * 1000 }, async () => {
      assert.ok(existsSync(join(CACHE, 'Image')), `no Linux guest in ${CACHE}: run bash guests/linux/build.sh`);
      const { code, output } = await runHarness(variant);
      assert.equal(code, 0, output);
      assert.match(output, new RegExp(`^PASS ${variant.scenario} on ringside`, 'm'), output);
    });
  }

  test('two runs of the boot scenario print the same console, kernel timestamps included', { timeout: 2 * (SCENARIO_SECONDS + 120) * 1000 }, async () => {
    assert.ok(existsSync(join(CACHE, 'Image')), `no Linux guest in ${CACHE}: run bash guests/linux/build.sh`);
    const logs: string[] = [];
    for (let run = 0; run < 2; run++) {
      const logDir = mkdtempSync(join(tmpdir(), 'ringside-linux-determinism-'));
      try {
        const { code, output } = await runHarness({ scenario: 'boot', bios: 'builtin' }, ['--log-dir', logDir]);
        assert.equal(code, 0, output);
        // the first line is the command line; the rest is everything the guest printed
        logs.push(readFileSync(join(logDir, 'boot-vm.log'), 'latin1').split('\n').slice(1).join('\n'));
      } finally {
        rmSync(logDir, { recursive: true, force: true });
      }
    }
    assert.match(logs[0], /\[ *\d+\.\d{6}\] Run \/init as init process/);
    assert.match(logs[0], /SCENARIO boot OK/);
    assert.equal(logs[1], logs[0]);
  });
});
