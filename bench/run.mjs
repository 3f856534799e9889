// CPU benchmark: runs the project's CPU-bound guest (guests/bin/bench.elf: sorting, CRC32,
// matrix multiply, string work) on Ringside and, when installed, on QEMU TCG in the same run,
// and reports guest MIPS and the ratio. Also measures the debugger's cost when nothing (or
// something unrelated) is armed, and counts garbage collections during the run.
// Usage: npm run bench [-- --rounds N] [--tier auto|interpreter]

import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Machine, Debugger, parseElf } = require('../dist/vmm-core.js');

const roundsArgument = process.argv.indexOf('--rounds');
const rounds = roundsArgument > 0 ? Number(process.argv[roundsArgument + 1]) : 3;
const guestPath = 'guests/bin/bench.elf';
// The execution tier: --tier auto (default: translation) or --tier interpreter.
const tierArgument = process.argv.indexOf('--tier');
const tier = tierArgument > 0 ? process.argv[tierArgument + 1] : 'auto';
if (tier !== 'auto' && tier !== 'interpreter') throw new Error(`--tier must be auto or interpreter, got ${tier}`);
const bytes = new Uint8Array(readFileSync(guestPath));

let garbageCollections = 0;
const gcObserver = new PerformanceObserver((list) => (garbageCollections += list.getEntries().length));
gcObserver.observe({ entryTypes: ['gc'] });

function runRingside(setup) {
  let output = '';
  const machine = new Machine({ kernel: { fileName: guestPath, bytes }, consoleOutput: (b) => (output += String.fromCharCode(b)), tier });
  const debug = setup ? setup(machine) : undefined;
  const gcBefore = garbageCollections;
  const start = performance.now();
  let result;
  if (debug) {
    do result = debug.continue(50_000_000); while (result === undefined);
  } else {
    do result = machine.run(50_000_000); while (result.kind === 'budget');
  }
  const seconds = (performance.now() - start) / 1000;
  if (!output.includes('PASS')) throw new Error(`benchmark guest failed:\n${output}`);
  const instructions = machine.harts[0].instructionsRetired;
  return { instructions, seconds, mips: instructions / seconds / 1e6, gcs: garbageCollections - gcBefore };
}

function best(label, setup) {
  let bestRun;
  for (let i = 0; i < rounds; i++) {
    const run = runRingside(setup);
    if (bestRun === undefined || run.seconds < bestRun.seconds) bestRun = run;
  }
  console.log(`${label.padEnd(44)} ${bestRun.mips.toFixed(1).padStart(6)} MIPS  ${bestRun.seconds.toFixed(2)} s  ${bestRun.instructions} instructions  ${bestRun.gcs} GCs`);
  return bestRun;
}

function runQemu(instructions) {
  const qemu = spawnSync('which', ['qemu-system-riscv64'], { encoding: 'utf8' }).stdout.trim();
  if (!qemu) return undefined;
  let bestSeconds = Infinity;
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    const result = spawnSync(qemu, ['-M', 'virt', '-bios', 'none', '-nographic', '-m', '128M', '-kernel', guestPath], { encoding: 'utf8', timeout: 120_000 });
    const seconds = (performance.now() - start) / 1000;
    if (!result.stdout.includes('PASS')) throw new Error(`QEMU run failed: ${result.stdout}${result.stderr}`);
    bestSeconds = Math.min(bestSeconds, seconds);
  }
  // Startup cost: the same QEMU on a guest that powers off at once is subtracted.
  const idleStart = performance.now();
  spawnSync(qemu, ['-M', 'virt', '-bios', 'none', '-nographic', '-m', '128M', '-kernel', 'guests/bin/counters.elf'], { timeout: 60_000 });
  const startup = (performance.now() - idleStart) / 1000;
  const seconds = Math.max(bestSeconds - startup, 1e-3);
  return { seconds, mips: instructions / seconds / 1e6, startup };
}

console.log(`node ${process.version}, ${rounds} rounds each, best of rounds, tier ${tier}`);
const plain = best(`ringside (tier ${tier})`, undefined);
const attached = best('ringside, debugger attached, nothing armed', (machine) => new Debugger(machine));
const elf = parseElf(bytes, guestPath);
const unrelated = elf.findSymbol('pass') ?? elf.findSymbol('fail');
const armed = best('ringside, unrelated breakpoint + all events', (machine) => {
  const debug = new Debugger(machine);
  // A code breakpoint on a page the hot loops never execute, and every trap/privilege event.
  if (unrelated) debug.addCodeBreakpoint({ address: BigInt(unrelated.value) + 0x100000n });
  for (const from of ['U', 'S', 'M', '*']) for (const to of ['U', 'S', 'M', '*']) debug.addEventBreakpoint({ kind: 'privilege', from, to });
  debug.addEventBreakpoint({ kind: 'trap', interrupt: false, code: '*' });
  debug.addEventBreakpoint({ kind: 'trap', interrupt: true, code: '*' });
  return debug;
});
const cost = (run) => `${((run.seconds / plain.seconds - 1) * 100).toFixed(1)}%`;
console.log(`debugger cost (time relative to the plain run; within noise when near 0): nothing armed ${cost(attached)}, unrelated breakpoint and every event filter armed ${cost(armed)}`);
const qemu = runQemu(plain.instructions);
if (qemu) {
  console.log(`qemu-system-riscv64 TCG (startup ${qemu.startup.toFixed(2)} s subtracted) ${qemu.mips.toFixed(1)} MIPS`);
  console.log(`ratio ringside / qemu: ${(plain.mips / qemu.mips).toFixed(3)}`);
} else {
  console.log('qemu-system-riscv64 not installed: no reference run (scripts/install-deps.sh)');
}
gcObserver.disconnect();
