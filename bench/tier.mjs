// Translation-tier benchmark (issue 8): the project's two CPU-bound guests
// (guests/bin/bench.elf: sorting, CRC32, matrix multiply, strings; guests/bin/workload.elf: the
// CoreMark-like list/matrix/scanner/CRC-16 load) on Ringside's interpreter, on Ringside with the
// translation tier (`tier: 'auto'`), and on QEMU TCG when installed, all in one run.
// For each guest: instructions, seconds and guest MIPS per engine (median of the rounds), the
// ratio auto / interpreter and each tier's ratio to QEMU.
// Every Ringside run must exit with code 0, print PASS and leave exactly the same console output
// and retired-instruction count on both tiers; QEMU must print PASS and the same checksums.
// Anything else aborts the benchmark.
// Usage: npm run build && node bench/tier.mjs [--rounds N] [--json] [--guests bench,workload]

import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Machine } = require('../dist/vmm-core.js');

const argument = (name) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : undefined;
};
const rounds = Number(argument('--rounds') ?? 3);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds wants a positive integer, got '${argument('--rounds')}'`);
const json = process.argv.includes('--json');
const GUESTS = {
  bench: 'guests/bin/bench.elf',
  workload: 'guests/bin/workload.elf',
};
const guestNames = (argument('--guests') ?? Object.keys(GUESTS).join(',')).split(',');
for (const name of guestNames) if (!(name in GUESTS)) throw new Error(`unknown guest '${name}' (known: ${Object.keys(GUESTS).join(', ')})`);
const TIERS = ['interpreter', 'auto'];
const SLICE = 50_000_000;
const QEMU_STARTUP_GUEST = 'guests/bin/counters.elf'; // powers off at once: QEMU's start-up cost

// With --json only the JSON goes to stdout.
const say = (line) => (json ? process.stderr : process.stdout).write(`${line}\n`);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

// The guest's results without its own instruction counts: bench.elf prints
// "sort    0x... (N instructions)", workload.elf "checksum 0x....". minstret differs on QEMU
// without -icount, so only the hexadecimal checksums are compared with QEMU.
function checksumsOf(output) {
  return output.split('\n')
    .filter((line) => /^\w+\s+0x[0-9a-f]+\b/.test(line))
    .map((line) => line.replace(/\s*\(\d+ instructions\)\s*$/, '').trim())
    .join('; ');
}

function runRingside(guestPath, bytes, tier) {
  // The tier's default comes from the environment (tests use it); the field picks it explicitly.
  process.env.RINGSIDE_TIER = tier;
  let output = '';
  const machine = new Machine({ kernel: { fileName: guestPath, bytes }, consoleOutput: (byte) => (output += String.fromCharCode(byte)), tier });
  const start = performance.now();
  let result;
  do result = machine.run(SLICE); while (result.kind === 'budget');
  const seconds = (performance.now() - start) / 1000;
  const exitCode = result.kind === 'exit' && result.exit.kind !== 'error' ? result.exit.code : undefined;
  if (exitCode !== 0 || !output.includes('PASS')) {
    const how = result.kind === 'exit' ? JSON.stringify(result.exit) : result.kind;
    throw new Error(`${guestPath} on Ringside (tier ${tier}) did not pass (${how}):\n${output}`);
  }
  const instructions = machine.harts[0].instructionsRetired;
  return { instructions, seconds, output, configuredTier: machine.config.tier };
}

function findQemu() {
  const found = spawnSync('which', ['qemu-system-riscv64'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

function timeQemu(qemu, guestPath) {
  const start = performance.now();
  const result = spawnSync(qemu, ['-M', 'virt', '-bios', 'none', '-nographic', '-m', '128M', '-kernel', guestPath], { encoding: 'latin1', timeout: 120_000 });
  const seconds = (performance.now() - start) / 1000;
  return { seconds, status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function benchGuest(name, qemu, qemuStartup) {
  const guestPath = GUESTS[name];
  const bytes = new Uint8Array(readFileSync(guestPath));
  const runs = Object.fromEntries(TIERS.map((tier) => [tier, []]));
  // The tiers alternate round by round so both see the same machine load and V8 warm-up.
  for (let round = 0; round < rounds; round++) {
    for (const tier of TIERS) runs[tier].push(runRingside(guestPath, bytes, tier));
  }
  const reference = runs.interpreter[0];
  for (const tier of TIERS) {
    for (const run of runs[tier]) {
      if (run.instructions !== reference.instructions) {
        throw new Error(`${name}: tier ${tier} retired ${run.instructions} instructions, the interpreter ${reference.instructions}`);
      }
      if (run.output !== reference.output) {
        throw new Error(`${name}: tier ${tier} printed other output than the interpreter:\n${run.output}\n--- interpreter:\n${reference.output}`);
      }
    }
  }
  const instructions = reference.instructions;
  const checksums = checksumsOf(reference.output);
  if (checksums === '') throw new Error(`${name}: no checksum line in the output:\n${reference.output}`);
  const summary = (tier) => {
    const seconds = median(runs[tier].map((run) => run.seconds));
    return { seconds, mips: instructions / seconds / 1e6, roundSeconds: runs[tier].map((run) => run.seconds), configuredTier: runs[tier][0].configuredTier ?? null };
  };
  const engines = { interpreter: summary('interpreter'), auto: summary('auto') };

  let qemuResult = null;
  if (qemu) {
    const times = [];
    for (let round = 0; round < rounds; round++) {
      const run = timeQemu(qemu, guestPath);
      if (run.status !== 0 || !run.output.includes('PASS')) throw new Error(`${name} on QEMU did not pass (exit ${run.status}):\n${run.output}`);
      const qemuChecksums = checksumsOf(run.output.replace(/\r/g, ''));
      if (qemuChecksums !== checksums) throw new Error(`${name}: QEMU's checksums '${qemuChecksums}' differ from Ringside's '${checksums}'`);
      times.push(run.seconds);
    }
    // Ringside's count stands for QEMU's: the guest is deterministic and the ELF the same.
    const seconds = Math.max(median(times) - qemuStartup, 1e-3);
    qemuResult = { seconds, mips: instructions / seconds / 1e6, roundSeconds: times, startupSeconds: qemuStartup };
  }
  return {
    guest: name,
    elf: guestPath,
    instructions,
    checksums,
    ...engines,
    qemu: qemuResult,
    ratios: {
      autoOverInterpreter: engines.interpreter.seconds / engines.auto.seconds,
      interpreterOverQemu: qemuResult ? engines.interpreter.mips / qemuResult.mips : null,
      autoOverQemu: qemuResult ? engines.auto.mips / qemuResult.mips : null,
    },
  };
}

const qemu = findQemu();
let qemuStartup = 0;
if (qemu) {
  const startups = [];
  for (let round = 0; round < rounds; round++) startups.push(timeQemu(qemu, QEMU_STARTUP_GUEST).seconds);
  qemuStartup = median(startups);
}

say(`node ${process.version}, ${rounds} round(s) per engine, median; QEMU ${qemu ? `start-up ${qemuStartup.toFixed(3)} s subtracted` : 'not installed: no reference run (scripts/install-deps.sh)'}`);
const results = [];
for (const name of guestNames) {
  const result = benchGuest(name, qemu, qemuStartup);
  results.push(result);
  const row = (engine, figures, ratios) =>
    say(`${name.padEnd(9)} ${engine.padEnd(12)} ${String(result.instructions).padStart(10)} instr  ${figures.seconds.toFixed(3).padStart(7)} s  ${figures.mips.toFixed(1).padStart(7)} MIPS  ${ratios}`);
  const versusQemu = (ratio) => (ratio === null ? '' : `ringside/qemu ${ratio.toFixed(3)}`);
  say(`${name}: checksums ${result.checksums}`);
  row('interpreter', result.interpreter, versusQemu(result.ratios.interpreterOverQemu));
  row('auto', result.auto, `auto/interpreter ${result.ratios.autoOverInterpreter.toFixed(2)}  ${versusQemu(result.ratios.autoOverQemu)}`);
  if (result.qemu) row('qemu TCG', result.qemu, '');
  if (result.auto.configuredTier === null) {
    say(`${name}: note: this build's machine configuration has no 'tier' (the translation tier has not landed): 'auto' ran the interpreter`);
  }
}
if (json) {
  process.stdout.write(`${JSON.stringify({ node: process.version, rounds, statistic: 'median', qemuInstalled: qemu !== undefined, results }, null, 2)}\n`);
}
