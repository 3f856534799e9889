// Snapshots and execution history on Linux's boot (guests/linux/build.sh, built-in SBI, to its
// power-off), in one process per guest size:
// - snapshot size and time: the machine saved at the end of the boot (RAM of 128 MiB and of
//   1 GiB), then read back and restored into a new machine; against the boot itself (what a
//   restore saves you);
// - recording cost: boots with history (the adapter's default budget, 256 MiB) and without,
//   alternating, paired per round;
// - going back: from the end of the boot to 1, 1 k, 1 M, 10 M and 30 M steps earlier.
//
//   node scripts/build.mjs && node bench/history.mjs [--rounds N]

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(process.env.HOME ?? '/root', '.cache/ringside/linux-6.1');
const core = createRequire(import.meta.url)('../dist/vmm-core.js');
const { Machine, ExecutionHistory, saveSnapshot, readSnapshot, restoreSnapshot, snapshotMachineConfig, machineStateHash, warmUpEngine } = core;
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 4;

for (const file of ['Image', 'initramfs.cpio']) {
  if (!existsSync(join(CACHE, file))) {
    console.error(`bench/history: ${join(CACHE, file)} is missing: run bash guests/linux/build.sh`);
    process.exit(2);
  }
}
const image = (name) => ({ fileName: join(CACHE, name), bytes: new Uint8Array(readFileSync(join(CACHE, name))) });
const images = { kernel: image('Image'), initrd: image('initramfs.cpio') };
const boot = (memoryBytes) => new Machine({
  ...images, bios: 'builtin', idle: 'skip', memoryBytes, append: 'console=ttyS0 ringside.scenario=exitcode ringside.code=7 quiet',
});
const run = (machine) => {
  let result;
  do {
    result = machine.run(1_000_000);
    if (result.kind === 'idle') machine.advanceIdleTime(machine.nextTimerEventNanoseconds());
  } while (result.kind === 'budget' || result.kind === 'idle');
  if (result.kind !== 'exit' || result.exit.code !== 7) throw new Error(`boot did not exit with 7: ${JSON.stringify(result)}`);
};
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

warmUpEngine(undefined);
console.log(`node ${process.version}; Linux 6.1 boot to power-off on the built-in SBI`);

console.log('\n## Snapshot of the booted machine');
for (const memoryBytes of [128 * 1024 * 1024, 1024 * 1024 * 1024]) {
  const machine = boot(memoryBytes);
  const bootStart = performance.now();
  run(machine);
  const bootMs = performance.now() - bootStart;
  const saves = [], restores = [];
  let bytes;
  for (let round = 0; round < 3; round++) {
    let started = performance.now();
    bytes = saveSnapshot(machine);
    saves.push(performance.now() - started);
    started = performance.now();
    const parsed = readSnapshot(bytes);
    const restored = new Machine(snapshotMachineConfig(parsed));
    restoreSnapshot(restored, parsed);
    restores.push(performance.now() - started);
    if (round === 0 && machineStateHash(restored) !== machineStateHash(machine)) throw new Error('the restored machine differs');
    restored.close();
  }
  const summary = core.summarizeSnapshot(readSnapshot(bytes));
  console.log(`${mib(memoryBytes)} guest: file ${mib(bytes.length)} (${summary.nonZeroPages} pages not zero, ${mib(summary.nonZeroPages * 4096)}); ` +
    `save ${median(saves).toFixed(0)} ms, read + restore into a new machine ${median(restores).toFixed(0)} ms; ` +
    `the boot it replaces ${bootMs.toFixed(0)} ms (restore = ${(median(restores) / bootMs).toFixed(2)} of the boot)`);
  machine.close();
}

console.log('\n## Recording cost (history on, 256 MiB budget, against off; alternating, paired)');
const ratios = [];
let lastHistory;
for (let round = 0; round < rounds; round++) {
  const times = {};
  for (const withHistory of round % 2 === 0 ? [false, true] : [true, false]) {
    const machine = boot(256 * 1024 * 1024);
    const history = withHistory ? new ExecutionHistory(machine, { budgetBytes: 256 * 1024 * 1024 }) : undefined;
    const started = performance.now();
    run(machine);
    times[withHistory] = performance.now() - started;
    if (history !== undefined) {
      if (lastHistory !== undefined) lastHistory.machine.close();
      lastHistory = { machine, history };
    } else machine.close();
  }
  ratios.push(times[true] / times[false]);
  const statistics = lastHistory.history.statistics;
  console.log(`round ${round + 1}: off ${times[false].toFixed(0)} ms, on ${times[true].toFixed(0)} ms (${(times[true] / times[false]).toFixed(3)}×); ` +
    `${statistics.checkpoints} checkpoints, ${mib(statistics.bytes)}`);
}
console.log(`median ratio ${median(ratios).toFixed(3)}× (quarters ${[...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 4)].toFixed(3)}–${[...ratios].sort((a, b) => a - b)[Math.floor(3 * ratios.length / 4)].toFixed(3)})`);

console.log('\n## Going back from the end of the boot');
const { machine, history } = lastHistory;
const runner = (mode) => {
  const result = machine.run(1_000_000, mode < 0 ? undefined : mode);
  return result.kind === 'exit' ? 'exit' : result.kind === 'idle' ? 'idle' : result.kind === 'stop' ? 'stop' : 'budget';
};
const end = machine.totalSteps();
for (const back of [1, 1000, 1_000_000, 10_000_000, 30_000_000]) {
  // Each from the end again: a run forward to the end, then the step back timed.
  if (machine.totalSteps() !== end) history.goTo({ totalSteps: end }, runner);
  const started = performance.now();
  const reached = history.goTo({ totalSteps: end - back }, runner);
  const ms = performance.now() - started;
  console.log(`${back.toLocaleString('en-US')} steps back: ${reached ? `${ms.toFixed(0)} ms` : 'beyond history'}`);
}
