// The trap history's cost (vmm-core/debug/trap-history.ts): nanoseconds per recorded trap, and
// what that adds to a trap-heavy guest run under the debugger. The demo kernel (timer
// interrupts, system calls, sret/mret) runs with the debugger attached twice: recording as
// shipped, and with recording replaced by a no-op; each figure is the best of the rounds.
// Usage: node scripts/build.mjs && node bench/trap-history.mjs [--rounds N]

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Machine, Debugger } = require('../dist/vmm-core.js');

const roundsArgument = process.argv.indexOf('--rounds');
const rounds = roundsArgument > 0 ? Number(process.argv[roundsArgument + 1]) : 5;
const guestPath = 'guests/bin/demo.elf';
const bytes = new Uint8Array(readFileSync(guestPath));

function runDemo(recording) {
  const machine = new Machine({ kernel: { fileName: guestPath, bytes }, consoleOutput: () => {}, idle: 'skip' });
  const debug = new Debugger(machine);
  if (!recording) debug.trapHistory.record = () => {};
  const start = performance.now();
  let result;
  do result = debug.continue(10_000_000); while (result === undefined);
  const seconds = (performance.now() - start) / 1000;
  if (result.reason !== 'exit') throw new Error(`the demo stopped for ${result.reason}`);
  return { seconds, traps: machine.harts[0].trapsTaken, instructions: machine.harts[0].instructionsRetired, recorded: debug.trapHistory.total };
}

function recordCost() {
  const machine = new Machine({ kernel: { fileName: guestPath, bytes }, consoleOutput: () => {} });
  const history = new Debugger(machine).trapHistory;
  const calls = 5_000_000;
  const start = performance.now();
  for (let index = 0; index < calls; index++) history.record(0, index & 3, 8, 0, 1, 0x80001000n, 0n, index, index);
  return ((performance.now() - start) * 1e6) / calls;
}

const best = (list, key) => Math.min(...list.map((item) => item[key]));
const withHistory = [], without = [], costs = [];
for (let round = 0; round < rounds; round++) {
  // Alternate which goes first, so warm-up and load do not favour one.
  if (round % 2 === 0) {
    withHistory.push(runDemo(true));
    without.push(runDemo(false));
  } else {
    without.push(runDemo(false));
    withHistory.push(runDemo(true));
  }
  costs.push({ ns: recordCost() });
}
const sample = withHistory[0];
const on = best(withHistory, 'seconds'), off = best(without, 'seconds');
console.log(`node ${process.version}, ${rounds} rounds, best of rounds`);
console.log(`demo.elf under the debugger: ${sample.instructions} instructions, ${sample.traps} traps, ${sample.recorded} transitions recorded (traps + mret/sret)`);
console.log(`  recording on   ${(on * 1000).toFixed(1)} ms`);
console.log(`  recording off  ${(off * 1000).toFixed(1)} ms`);
console.log(`  difference     ${(((on - off) / off) * 100).toFixed(1)}% (within noise when near 0)`);
console.log(`TrapHistory.record: ${best(costs, 'ns').toFixed(1)} ns per transition`);
