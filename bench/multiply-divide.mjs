// M-extension microbenchmark (issue 8): tight guest loops of 64-bit mulh/mulhsu/mulhu and
// div/divu/rem/remu on the interpreter, reported as guest MIPS per loop. Each loop varies its
// operands every iteration (an add of an odd constant), so the divisions see full 64-bit
// dividends and, per loop, divisors above 2^32 or below 2^24 (the "division by a constant"
// shape compiled code and Linux produce). A loop of plain adds of the same length is the
// reference for what the loop overhead alone costs.
//
// With --baseline FILE (another build of vmm-core, e.g. of the previous commit), both builds
// run in this one process, their rounds interleaved, so that the load of a shared machine
// falls on both alike; each figure is the best round, in this process's CPU time, and the
// garbage collections counted over all rounds.
//
// Usage: npm run build && node --import tsx bench/multiply-divide.mjs [--baseline FILE.js]
//          [--instructions N] [--rounds N] [--only TEXT (loops whose label contains it)]
// (tsx because the loops are assembled with test/support/assemble.ts; the machines are built bundles.)
// A baseline bundle: check the old vmm-core/cpu/interpreter.ts out, then
//   npx esbuild vmm-core/index.ts --bundle --platform=node --target=node20 --format=cjs --outfile=/tmp/base/vmm-core.js

import { createRequire } from 'node:module';
import { GCProfiler } from 'node:v8';
import { resolve } from 'node:path';
import { buildElf, instructionBytes, ProgramBuilder, X } from '../test/support/assemble.ts';

const require = createRequire(import.meta.url);
const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : fallback;
};
const instructions = Number(argument('--instructions', 4_000_000));
const rounds = Number(argument('--rounds', 15));
const baselinePath = argument('--baseline', undefined);
const only = argument('--only', '');

const builds = [['this build', require('../dist/vmm-core.js').Machine]];
if (baselinePath !== undefined) builds.push(['baseline', require(resolve(baselinePath)).Machine]);

/** The loop body: 4 operations on t0 (dividend / multiplicand) and t1, then the operand updates. */
function loop(operations, divisor) {
  const program = new ProgramBuilder()
    .li(X.t0, 0x0123_4567_89ab_cdefn)
    .li(X.s1, 0x9e37_79b9_7f4a_7c15n)
    .li(X.s2, 1n << 40n)
    .label('loop');
  for (const [mnemonic, rd] of operations) program.emit(mnemonic, { rd, rs1: X.t0, rs2: X.t1 });
  program.emit('add', { rd: X.t0, rs1: X.t0, rs2: X.s1 });
  if (divisor === 'wide') {
    // t1 = (t0 >> 20) | 2^40: between 2^40 and 2^44.
    program.emit('srli', { rd: X.t1, rs1: X.t0, imm: 20 }).emit('or', { rd: X.t1, rs1: X.t1, rs2: X.s2 });
  } else {
    // t1 = (t0 >> 40) | 1: odd, below 2^24.
    program.emit('srli', { rd: X.t1, rs1: X.t0, imm: 40 }).emit('ori', { rd: X.t1, rs1: X.t1, imm: 1 });
  }
  program.emit('jal', { rd: 0 }, 'loop');
  const words = program.words();
  return { base: program.base, length: words.length * 4, elf: buildElf(instructionBytes(words), Number(program.base)) };
}

const LOOPS = {
  'add (loop overhead reference)': loop([['add', X.a0], ['add', X.a1], ['add', X.a2], ['add', X.a3]], 'wide'),
  'mulhu, mulh, mulhsu, mulhu': loop([['mulhu', X.a0], ['mulh', X.a1], ['mulhsu', X.a2], ['mulhu', X.a3]], 'wide'),
  'divu, remu, div, rem; divisor 2^40..2^44': loop([['divu', X.a0], ['remu', X.a1], ['div', X.a2], ['rem', X.a3]], 'wide'),
  'divu, remu, div, rem; divisor < 2^24': loop([['divu', X.a0], ['remu', X.a1], ['div', X.a2], ['rem', X.a3]], 'narrow'),
};

/**
 * One round: a fresh machine runs the loop for `instructions`. Returns this process's CPU
 * seconds and the garbage collections during the run (allocation per instruction shows there:
 * BigInt values are heap objects).
 */
function runRound(Machine, label, { base, length, elf }) {
  const machine = new Machine({
    memoryBytes: 8 * 1024 * 1024, icountShift: 0, idle: 'skip', bios: 'none',
    kernel: { fileName: 'multiply-divide-loop.elf', bytes: elf },
  });
  // CPU time of this process rather than wall time: other processes' load on the shared
  // machine shows up in wall time much more than in our own CPU time.
  const profiler = new GCProfiler();
  profiler.start();
  const start = process.cpuUsage();
  const result = machine.run(instructions);
  const used = process.cpuUsage(start);
  const collections = profiler.stop().statistics.length;
  if (result.kind !== 'budget') throw new Error(`${label}: the loop stopped early (${result.kind})`);
  // A trap would leave the loop for mtvec: the pc must still be inside the program.
  const pc = machine.harts[0].pc;
  if (pc < base || pc >= base + BigInt(length)) throw new Error(`${label}: left the loop (pc ${pc.toString(16)})`);
  return { seconds: (used.user + used.system) / 1e6, collections };
}

console.log(`node ${process.version}, ${instructions} guest instructions per round, best of ${rounds} rounds, process CPU time`);
for (const [label, program] of Object.entries(LOOPS).filter(([name]) => name.includes(only))) {
  const best = builds.map(() => Infinity);
  const collections = builds.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    for (const [index, [, Machine]] of builds.entries()) {
      const { seconds, collections: count } = runRound(Machine, label, program);
      best[index] = Math.min(best[index], seconds);
      collections[index] += count;
    }
  }
  const figures = builds.map(([name], index) =>
    `${name} ${(instructions / best[index] / 1e6).toFixed(1).padStart(6)} MIPS ${String(collections[index]).padStart(4)} GCs`);
  const ratio = builds.length > 1 ? `  (time ratio this / baseline ${(best[0] / best[1]).toFixed(2)})` : '';
  console.log(`${label.padEnd(42)} ${figures.join('  ')}${ratio}`);
}
