// M-extension microbenchmark (issue 8): tight guest loops of 64-bit mulh/mulhsu/mulhu and
// div/divu/rem/remu on the interpreter, reported as guest MIPS per loop. Each loop varies its
// operands every iteration (an add of an odd constant), so the divisions see full 64-bit
// dividends and, per loop, divisors above 2^32 or below 2^24 (the "division by a constant"
// shape compiled code and Linux produce). A loop of plain adds of the same length is the
// reference for what the loop overhead alone costs.
// Usage: node --import tsx bench/multiply-divide.mjs [--instructions N] [--rounds N]
// (tsx because the loops are assembled with test/support/assemble.ts; the machine is vmm-core's source.)

import { createMachine, ProgramBuilder, X } from '../test/support/assemble.ts';

const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const instructions = argument('--instructions', 10_000_000);
const rounds = argument('--rounds', 5);

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
  return program;
}

const LOOPS = {
  'add (loop overhead reference)': loop([['add', X.a0], ['add', X.a1], ['add', X.a2], ['add', X.a3]], 'wide'),
  'mulhu, mulh, mulhsu, mulhu': loop([['mulhu', X.a0], ['mulh', X.a1], ['mulhsu', X.a2], ['mulhu', X.a3]], 'wide'),
  'divu, remu, div, rem; divisor 2^40..2^44': loop([['divu', X.a0], ['remu', X.a1], ['div', X.a2], ['rem', X.a3]], 'wide'),
  'divu, remu, div, rem; divisor < 2^24': loop([['divu', X.a0], ['remu', X.a1], ['div', X.a2], ['rem', X.a3]], 'narrow'),
};

console.log(`node ${process.version}, ${instructions} guest instructions per round, best of ${rounds} rounds`);
for (const [label, program] of Object.entries(LOOPS)) {
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const machine = createMachine({ program });
    const start = performance.now();
    const result = machine.run(instructions);
    const seconds = (performance.now() - start) / 1000;
    if (result.kind !== 'budget') throw new Error(`${label}: the loop stopped early (${result.kind})`);
    // A trap would leave the loop for mtvec: the pc must still be inside the program.
    const pc = machine.harts[0].pc, base = program.base;
    if (pc < base || pc >= base + BigInt(program.words().length * 4)) throw new Error(`${label}: left the loop (pc ${pc.toString(16)})`);
    best = Math.min(best, seconds);
  }
  console.log(`${label.padEnd(44)} ${(instructions / best / 1e6).toFixed(1).padStart(7)} MIPS  ${best.toFixed(3)} s`);
}
