// Linux's boot on Ringside in lockstep with QEMU 7.2 (scripts/lockstep-linux.mjs): both boot
// the Linux 6.1 guest of guests/linux/build.sh through Debian's OpenSBI fw_jump.elf with one
// instruction = 1 ns, and the script compares the two instruction traces pc by pc as they are
// written. The first ~18 M instructions cover OpenSBI (its CSR, PMP and counter probing, the
// device tree) and the kernel's early boot: the satp probe that picks Sv57, the ISA string
// (Zba/Zbb/Zbc/Zbs, Sstc), the timer set-up and the first Sstc stimecmp write.
//
// QEMU runs its default CPU minus H (`-cpu rv64,h=false`), which is exactly what Ringside's
// default rv64 model is: with H, OpenSBI takes other paths from its first misa check on
// (sbi_hart_init, at instruction 2,797,849), and the second test pins that down — it must be
// the first difference, and an H one.
//
// Without QEMU, OpenSBI or the built guest these tests fail, naming what to run.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(homedir(), '.cache/ringside/linux-6.1');
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const SCRIPT = 'scripts/lockstep-linux.mjs';
// Through the first stimecmp write (riscv_clock_next_event, at ~17.9 M): about 2 minutes on an
// idle 2-core machine, several on a loaded one.
const EARLY_BOOT_INSTRUCTIONS = 18_000_000;
const MARKS = ['set_satp_mode', 'riscv_fill_hwcap', 'riscv_timer_init_dt', 'riscv_clock_next_event'];
const TIMEOUT_MS = 20 * 60 * 1000;

function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (spawnSync('qemu-system-riscv64', ['--version'], { stdio: 'ignore' }).status !== 0) {
    missing.push('qemu-system-riscv64 is not installed: run bash scripts/install-deps.sh');
  }
  if (!existsSync(FW_JUMP)) missing.push(`${FW_JUMP} is missing: run bash scripts/install-deps.sh`);
  for (const file of ['Image', 'vmlinux', 'initramfs.cpio']) {
    if (!existsSync(join(CACHE, file))) missing.push(`${join(CACHE, file)} is missing: run bash guests/linux/build.sh`);
  }
  return missing;
}

function runLockstep(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => { stdout += text; });
    child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(() => {
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { encoding: 'utf8' });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);
});

describe('Linux boot in lockstep with QEMU 7.2 (scripts/lockstep-linux.mjs)', () => {
  test(`the first ${EARLY_BOOT_INSTRUCTIONS / 1e6} M instructions take the same path as QEMU's default CPU without H`, { timeout: TIMEOUT_MS }, async () => {
    const missing = missingPrerequisites();
    assert.deepEqual(missing, [], missing.join('\n'));
    const { code, stdout, stderr } = await runLockstep([
      '--limit', String(EARLY_BOOT_INSTRUCTIONS), '--qemu-cpu', 'rv64,h=false', ...MARKS.flatMap((mark) => ['--mark', mark]),
    ]);
    const output = `${stdout}\n${stderr}`;
    assert.equal(code, 0, output);
    assert.match(stdout, new RegExp(`^lockstep: compared ${EARLY_BOOT_INSTRUCTIONS} instructions, .*first divergence none, stopped: limit of ${EARLY_BOOT_INSTRUCTIONS} instructions reached`, 'm'), output);
    for (const mark of MARKS) {
      assert.match(stderr, new RegExp(`^lockstep: mark ${mark}: reached at instruction \\d+$`, 'm'), output);
    }
    // QEMU's reset ROM (6 instructions) is the only thing skipped at the start.
    assert.match(stderr, /QEMU reset ROM 6 instructions/, output);
  });

  test('with QEMU\'s default CPU (H on) the first difference is OpenSBI\'s misa check for H', { timeout: TIMEOUT_MS }, async () => {
    const missing = missingPrerequisites();
    assert.deepEqual(missing, [], missing.join('\n'));
    const { code, stdout, stderr } = await runLockstep(['--limit', '4000000', '--context', '16']);
    const output = `${stdout}\n${stderr}`;
    assert.equal(code, 1, output);
    assert.match(stdout, /first divergence at instruction \d+: ringside .*<OpenSBI fw_jump\.elf \+0x[0-9a-f]+ .*> vs qemu 0x[0-9a-f]+ <OpenSBI fw_jump\.elf/, output);
    // misa_extension('H'): li a0,72 ('H'), then misa is read; Ringside's misa has no H.
    const context = stderr.slice(stderr.indexOf('last 16 common instructions'), stderr.indexOf('  ringside: '));
    assert.match(context, /li\ta0,72 a0=0x0000000000000048/, output);
    assert.match(context, /csrr\ta5,misa a5=0x800000000014112d/, output);
  });
});
