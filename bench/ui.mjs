// Timings in the real VS Code UI (code-server 4.100.3 + headless chromium): runs the UI
// end-to-end tests (test/ui, which record their timings into test-artifacts/ui/*.json; they never
// assert them) `--runs N` times (default 1) and prints the median of each figure.
//   node bench/ui.mjs [--runs N]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const runsArgument = process.argv.indexOf('--runs');
const runs = runsArgument >= 0 ? Number(process.argv[runsArgument + 1]) : 1;
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer, got '${process.argv[runsArgument + 1]}'`);

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const samples = new Map();
const add = (name, value) => samples.set(name, [...(samples.get(name) ?? []), ...(Array.isArray(value) ? value : [value])]);
for (let run = 1; run <= runs; run++) {
  const result = spawnSync(process.execPath, ['test/ui/run.mjs'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 15 * 60_000 });
  if (result.status !== 0) throw new Error(`run ${run}: the UI tests failed (node test/ui/run.mjs exit ${result.status}); no timings taken`);
  for (const file of ['timings.json', 'installed-timings.json', 'language-timings.json']) {
    const timings = JSON.parse(readFileSync(`test-artifacts/ui/${file}`, 'utf8'));
    for (const [name, value] of Object.entries(timings)) if (!name.endsWith('MedianMs')) add(name, value);
  }
}

const labels = {
  workbenchMs: 'workbench open (page load to explorer listing)',
  activationMs: 'extension activation (Running Extensions editor)',
  paletteToStoppedMs: '"Run the Demo Kernel" from the palette to stopped on entry',
  f5ToStoppedMs: 'F5 (launch.json) to stopped on entry, call stack shown',
  filterContinueToStoppedMs: 'continue (F5) to the U->S filter stop',
  breakpointContinueToStoppedMs: 'continue (F5) to the C breakpoint',
  stepOverMs: 'step over (F10) round trip, per step',
  consoleEchoMs: 'console echo: key typed to shown in the terminal',
  ringsideCommandsListedMs: 'window open to Ringside commands in the palette',
  debuggersAvailableMs: 'window open to "Debug: Start Debugging" (F5 enabled)',
};
console.log(`node ${process.version}, ${runs} run(s); median (min-max) in ms`);
for (const [name, values] of samples) {
  const label = labels[name] ?? name;
  console.log(`${label.padEnd(64)} ${median(values).toFixed(0).padStart(6)}  (${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}, n=${values.length})`);
}
