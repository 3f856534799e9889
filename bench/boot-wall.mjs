// Linux's boot as a user runs it (issue 8's target): wall time of `ringside run` from process
// start to the guest's power-off (guests/linux's kernel and initramfs, 256 MiB, the exitcode
// scenario, --idle skip), with the built-in SBI and with OpenSBI's fw_jump, against QEMU 7.2
// TCG booting the same kernel and initramfs with OpenSBI. Rounds alternate the configurations
// so the machine's load falls on all alike; prints every time, the medians and the ratios to
// QEMU's median, and the median of each run's ratio to QEMU's run in the same round (paired:
// the host's load moves both). Every run must exit with the guest's code 7.
//
//   node bench/boot-wall.mjs [--rounds N] [--baseline DIST]... [--tiers] [--bios builtin|opensbi]
//
// --baseline DIST: also run another build's CLI (e.g. a copy of an earlier commit's dist/);
// repeatable. --tiers: also run each build on the interpreter alone. --bios: only that firmware.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : fallback;
};
const rounds = Number(argument('--rounds', '4'));
const baselines = process.argv.flatMap((value, index) => (process.argv[index - 1] === '--baseline' ? [value] : []));
const onlyBios = argument('--bios', undefined);
const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(process.env.HOME ?? '/root', '.cache/ringside/linux-6.1');
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const APPEND = 'console=ttyS0 ringside.scenario=exitcode ringside.code=7 quiet';
for (const file of ['Image', 'initramfs.cpio']) {
  if (!existsSync(join(CACHE, file))) {
    console.error(`bench/boot-wall: ${join(CACHE, file)} is missing: run bash guests/linux/build.sh`);
    process.exit(2);
  }
}
const work = mkdtempSync(join(tmpdir(), 'ringside-boot-wall-'));
const serial = join(work, 'serial.txt');

const builds = [{ name: 'this build', dist: resolve('dist') }];
for (const baseline of baselines) builds.push({ name: baselines.length === 1 ? 'baseline' : `baseline ${baseline}`, dist: resolve(baseline) });
const tiers = process.argv.includes('--tiers') ? ['auto', 'interpreter'] : ['auto'];
const configurations = [];
for (const build of builds) {
  for (const tier of tiers) {
    for (const bios of ['builtin', 'opensbi']) {
      if ((bios === 'opensbi' && !existsSync(FW_JUMP)) || (onlyBios !== undefined && bios !== onlyBios)) continue;
      configurations.push({
        name: `${build.name}, ${tier}, ${bios === 'builtin' ? 'built-in SBI' : 'OpenSBI'}`,
        command: process.execPath,
        args: [join(build.dist, 'cli.js'), 'run', '--bios', bios === 'builtin' ? 'builtin' : FW_JUMP, '--kernel', join(CACHE, 'Image'),
          '--initrd', join(CACHE, 'initramfs.cpio'), '--mem', '256M', '--append', APPEND, '--idle', 'skip', '--serial', `file:${serial}`,
          '--tier', tier],
      });
    }
  }
}
const qemu = spawnSync('qemu-system-riscv64', ['--version']).status === 0 && existsSync(FW_JUMP);
if (qemu) {
  configurations.push({
    name: 'QEMU 7.2 TCG, OpenSBI',
    command: 'qemu-system-riscv64',
    args: ['-M', 'virt', '-m', '256M', '-smp', '1', '-display', 'none', '-monitor', 'none', '-no-reboot', '-serial', `file:${serial}`,
      '-bios', FW_JUMP, '-kernel', join(CACHE, 'Image'), '-initrd', join(CACHE, 'initramfs.cpio'), '-append', APPEND],
  });
}

const times = new Map(configurations.map((configuration) => [configuration.name, []]));
try {
  for (let round = 0; round < rounds; round++) {
    for (const configuration of configurations) {
      const started = performance.now();
      const run = spawnSync(configuration.command, configuration.args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const seconds = (performance.now() - started) / 1000;
      if (run.status !== 7) throw new Error(`${configuration.name}: exit status ${run.status}, want 7\n${run.stderr}`);
      times.get(configuration.name).push(seconds);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const qemuTimes = qemu ? times.get('QEMU 7.2 TCG, OpenSBI') : undefined;
const qemuMedian = qemuTimes !== undefined ? median(qemuTimes) : undefined;
console.log(`node ${process.version}; Linux boot to power-off, wall seconds, ${rounds} alternating rounds`);
for (const [name, values] of times) {
  const sorted = [...values].sort((a, b) => a - b).map((value) => value.toFixed(2)).join(' ');
  const ratio = qemuMedian !== undefined && !name.startsWith('QEMU') ? `  ${(median(values) / qemuMedian).toFixed(2)}x QEMU` : '';
  console.log(`${name.padEnd(42)} median ${median(values).toFixed(2)} s  (${sorted})${ratio}`);
}
// The host's load moves both emulators within a round (and QEMU more than Ringside): the ratio
// of each run to QEMU's run of the same round varies less than the ratio of the medians.
if (qemuTimes !== undefined) {
  console.log('paired: each run over QEMU\'s run of the same round, median (lowest … highest quarter)');
  for (const [name, values] of times) {
    if (name.startsWith('QEMU')) continue;
    const ratios = values.map((value, round) => value / qemuTimes[round]).sort((a, b) => a - b);
    const quarter = (fraction) => ratios[Math.min(ratios.length - 1, Math.floor(fraction * ratios.length))].toFixed(2);
    console.log(`${name.padEnd(42)} ${median(ratios).toFixed(2)}x QEMU  (${quarter(0.25)} … ${quarter(0.75)})`);
  }
}
