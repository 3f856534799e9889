// Translation-tier microbenchmark (issue 8): JavaScript (`new Function`) or WebAssembly for
// translated guest blocks. It profiles guests/bin/bench.elf to find its hottest loops (each a
// block ending in a branch back to its own start), captures the machine state at each loop's
// entry, then runs every loop from that state
//   (a) on Ringside's interpreter (Machine.run, the reference),
//   (b) as a JavaScript function generated from the decoded fields,
//   (c) as a WebAssembly module generated at run time, registers and RAM in its memory,
//   (c') the same module with the registers copied in and out of the interpreter's Int32Array
//        around each call (what crossing costs when the register file stays in JS),
// plus (b) and (c) unchained (one block per call, back to a dispatcher that looks the next
// block up by pc). Every variant must leave exactly the interpreter's pc, registers and RAM,
// after the first run and after all timed runs; a mismatch aborts the bench.
// Usage: node --import tsx bench/translation-tiers.mjs [--instructions N] [--rounds N]
// (tsx only to read the Operation names from vmm-core/isa; the machine is the built dist/.)

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ACCESS_WIDTH, decodeBlock, translatable } from './tiers/blocks.mjs';
import { compileJavaScriptBlock, javascriptSource } from './tiers/javascript-tier.mjs';
import { WASM_LAYOUT, compileWasmBlock, emptyWasmFunction, wasmBlockModule } from './tiers/wasm-tier.mjs';

const require = createRequire(import.meta.url);
const { Machine, Debugger, decodeInstruction, DecodedInstruction, disassemble } = require('../dist/vmm-core.js');
const { Operation } = await import('../vmm-core/isa/operations.ts');
if (typeof Operation?.Addi !== 'number') throw new Error('run with: node --import tsx bench/translation-tiers.mjs');
const operationName = (number) => Operation[number];

const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const instructionsPerRound = argument('--instructions', 20_000_000);
const rounds = argument('--rounds', 3);
const blockCount = argument('--blocks', 6);

const guestPath = 'guests/bin/bench.elf';
const kernelBytes = new Uint8Array(readFileSync(guestPath));
const RAM_BASE = 0x80000000;
const RAM_SIZE = 16 * 1024 * 1024; // bench.elf fits; keeps the per-variant RAM copies small
const UNLIMITED = 0x7fffffff;
const newMachine = () => new Machine({ kernel: { fileName: guestPath, bytes: kernelBytes }, memoryBytes: RAM_SIZE, consoleOutput: () => {} });
const hex = (value) => value.toString(16);

// ---- 1. profile: which loops are hot ---------------------------------------------------------
function hotLoops() {
  const machine = newMachine();
  const samples = new Map();
  let result;
  do {
    result = machine.run(10_007);
    const pc = machine.harts[0].pcLo >>> 0;
    samples.set(pc, (samples.get(pc) ?? 0) + 1);
  } while (result.kind === 'budget');
  const bytes = machine.ram.bytes;
  const read16 = (address) => bytes[address - RAM_BASE] | (bytes[address - RAM_BASE + 1] << 8);
  const loops = new Map();
  for (const [pc, count] of samples) {
    const tail = decodeBlock(pc, read16, decodeInstruction, DecodedInstruction, operationName);
    if (tail === undefined || tail.branchTarget > pc) continue;
    const loop = decodeBlock(tail.branchTarget, read16, decodeInstruction, DecodedInstruction, operationName);
    if (loop === undefined || loop.fallthrough !== tail.fallthrough || !translatable(loop)) continue;
    const entry = loops.get(loop.start) ?? { block: loop, samples: 0 };
    entry.samples += count;
    loops.set(loop.start, entry);
  }
  const total = [...samples.values()].reduce((a, b) => a + b, 0);
  return [...loops.values()].sort((a, b) => b.samples - a.samples).slice(0, blockCount).map((entry) => ({ ...entry, share: entry.samples / total }));
}

// ---- 2. the machine state at each loop's first entry ----------------------------------------
function captureEntries(loops) {
  const machine = newMachine();
  const debug = new Debugger(machine);
  const pending = new Map(loops.map((loop) => [loop.block.start, debug.addCodeBreakpoint({ address: BigInt(loop.block.start) })]));
  const entries = new Map();
  while (pending.size > 0) {
    const stop = debug.continue(50_000_000);
    if (stop === undefined) continue;
    if (stop.reason !== 'breakpoint') throw new Error(`capturing loop entries: unexpected stop ${stop.reason}`);
    const pc = Number(stop.pc);
    const hart = machine.harts[0];
    entries.set(pc, { registers: hart.registers.slice(), ram: machine.ram.bytes.slice() });
    debug.removeBreakpoint(pending.get(pc));
    pending.delete(pc);
  }
  return entries;
}

// ---- 3. the variants ---------------------------------------------------------------------------
/** Each variant: load(entry) puts the entry state in, runToExit() runs the loop once, state() reads it back. */
function interpreterVariant(block) {
  const machine = newMachine();
  machine.run(1); // loads the image; its state is then overwritten with the loop entry's
  const hart = machine.harts[0];
  let entryRegisters;
  let budget = 0;
  return {
    name: 'interpreter',
    load(entry, instructions) {
      machine.ram.bytes.set(entry.ram);
      machine.mmus[0].flush();
      entryRegisters = entry.registers;
      budget = instructions;
    },
    runToExit() {
      hart.registers.set(entryRegisters);
      hart.pcLo = block.start | 0;
      hart.pcHi = 0;
      const before = hart.instructionsRetired;
      const result = machine.run(budget);
      if (result.kind !== 'budget' || hart.instructionsRetired - before !== budget) {
        throw new Error(`interpreter ran ${hart.instructionsRetired - before} of ${budget} instructions (${result.kind})`);
      }
      return budget;
    },
    state: () => ({ pc: hart.pcLo >>> 0, registers: hart.registers, ram: machine.ram.bytes }),
  };
}

function javascriptVariant(block, chained, ramLimit = RAM_SIZE) {
  const registers = new Int32Array(new SharedArrayBuffer(33 * 8));
  const ram = new Uint8Array(new SharedArrayBuffer(RAM_SIZE));
  const codePages = new Uint8Array(RAM_SIZE / 4096);
  codePages[(block.start - RAM_BASE) >>> 12] = 1;
  const exitState = new Int32Array(2);
  const run = compileJavaScriptBlock(block, { x: registers, view: new DataView(ram.buffer), codePages, exitState, ramBase: RAM_BASE, ramSize: ramLimit });
  const blockCache = new Map([[block.start, run]]);
  let entryRegisters;
  return {
    name: chained ? 'JavaScript' : 'JavaScript, unchained',
    load(entry) { ram.set(entry.ram); entryRegisters = entry.registers; },
    runToExit() {
      registers.set(entryRegisters);
      if (chained) return run(UNLIMITED);
      let executed = 0;
      let pc = block.start;
      for (let next = blockCache.get(pc); next !== undefined; next = blockCache.get(pc)) {
        executed += next(1);
        pc = exitState[0] >>> 0;
      }
      return executed;
    },
    state: () => ({ pc: exitState[0] >>> 0, registers, ram }),
  };
}

function wasmMemory() {
  const pages = (WASM_LAYOUT.ram + RAM_SIZE) / 65536;
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

function wasmVariant(block, { chained, copyRegisters, ramLimit = RAM_SIZE }) {
  const memory = wasmMemory();
  const wasmRegisters = new Int32Array(memory.buffer, WASM_LAYOUT.registers, 33 * 2);
  const exitPc = new Int32Array(memory.buffer, WASM_LAYOUT.exitPc, 2);
  const ram = new Uint8Array(memory.buffer, WASM_LAYOUT.ram, RAM_SIZE);
  new Uint8Array(memory.buffer, WASM_LAYOUT.codePages, RAM_SIZE / 4096)[(block.start - RAM_BASE) >>> 12] = 1;
  // With copyRegisters the register file stays the interpreter's own Int32Array.
  const registers = copyRegisters ? new Int32Array(new SharedArrayBuffer(33 * 8)) : wasmRegisters;
  const run = compileWasmBlock(block, { memory, ramBase: RAM_BASE, ramSize: ramLimit });
  const blockCache = new Map([[block.start, run]]);
  let entryRegisters;
  const name = `WebAssembly${copyRegisters ? ', registers copied per call' : ''}${chained ? '' : ', unchained'}`;
  return {
    name,
    load(entry) { ram.set(entry.ram); entryRegisters = entry.registers; },
    runToExit() {
      registers.set(entryRegisters);
      if (chained) {
        if (!copyRegisters) return run(UNLIMITED);
        wasmRegisters.set(registers);
        const executed = run(UNLIMITED);
        registers.set(wasmRegisters);
        return executed;
      }
      let executed = 0;
      let pc = block.start;
      for (let next = blockCache.get(pc); next !== undefined; next = blockCache.get(pc)) {
        if (copyRegisters) wasmRegisters.set(registers);
        executed += next(1);
        if (copyRegisters) registers.set(wasmRegisters);
        pc = exitPc[0] >>> 0;
      }
      return executed;
    },
    state: () => ({ pc: exitPc[0] >>> 0, registers, ram }),
  };
}

// ---- 4. checks and timing ------------------------------------------------------------------
function assertSameState(reference, variant, when) {
  const expected = reference.state();
  const actual = variant.state();
  const problems = [];
  if (expected.pc !== actual.pc) problems.push(`pc ${hex(actual.pc)}, interpreter ${hex(expected.pc)}`);
  // Pairs 0..31 only: pair 32 is the interpreter's sink for writes to x0.
  for (let i = 0; i < 64; i++) {
    if (expected.registers[i] !== actual.registers[i]) problems.push(`x${i >> 1} ${i & 1 ? 'hi' : 'lo'} ${hex(actual.registers[i] >>> 0)}, interpreter ${hex(expected.registers[i] >>> 0)}`);
  }
  if (Buffer.compare(Buffer.from(expected.ram.buffer, expected.ram.byteOffset, RAM_SIZE), Buffer.from(actual.ram.buffer, actual.ram.byteOffset, RAM_SIZE)) !== 0) {
    problems.push('guest RAM differs');
  }
  if (problems.length > 0) throw new Error(`${variant.name} differs from the interpreter ${when}: ${problems.slice(0, 6).join('; ')}`);
}

function timeRuns(variant, repetitions, expected) {
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    for (let i = 0; i < repetitions; i++) {
      if (variant.runToExit() !== expected) throw new Error(`${variant.name}: instruction count changed between runs`);
    }
    best = Math.min(best, performance.now() - start);
  }
  return (expected * repetitions) / (best / 1000) / 1e6;
}

function microseconds(action, times) {
  const start = performance.now();
  for (let i = 0; i < times; i++) action(i);
  return ((performance.now() - start) * 1000) / times;
}

// ---- main ----------------------------------------------------------------------------------------
console.log(`node ${process.version}, ${rounds} rounds of ~${instructionsPerRound / 1e6}M guest instructions per variant and loop, best round`);
const loops = hotLoops();
const entries = captureEntries(loops);
const rows = [];
for (const { block, share } of loops) {
  const entry = entries.get(block.start);
  const text = block.instructions.map((i) => disassemble(readRaw(entry.ram, i.pc), i.pc).text.replace(/\s+/, ' ').split(' ')[0]).join(' ');
  const javascript = javascriptVariant(block, true);
  javascript.load(entry);
  const perEntry = javascript.runToExit();
  const interpreter = interpreterVariant(block);
  interpreter.load(entry, perEntry);
  interpreter.runToExit();
  const variants = [
    javascript,
    javascriptVariant(block, false),
    wasmVariant(block, { chained: true, copyRegisters: false }),
    wasmVariant(block, { chained: true, copyRegisters: true }),
    wasmVariant(block, { chained: false, copyRegisters: false }),
  ];
  for (const variant of variants.slice(1)) {
    variant.load(entry);
    const executed = variant.runToExit();
    if (executed !== perEntry) throw new Error(`${variant.name} executed ${executed} instructions, JavaScript ${perEntry}`);
  }
  for (const variant of variants) assertSameState(interpreter, variant, 'after the first run');
  const repetitions = Math.max(1, Math.round(instructionsPerRound / perEntry));
  const mips = { interpreter: timeRuns(interpreter, repetitions, perEntry) };
  for (const variant of variants) mips[variant.name] = timeRuns(variant, repetitions, perEntry);
  for (const variant of variants) assertSameState(interpreter, variant, `after ${rounds * repetitions} timed runs`);
  const preciseExit = checkPreciseExit(block, entry, perEntry);
  const javascriptCompile = microseconds(
    (i) => compileJavaScriptBlock(block, { x: new Int32Array(66), view: new DataView(new ArrayBuffer(8)), codePages: new Uint8Array(1), exitState: new Int32Array(2), ramBase: RAM_BASE, ramSize: RAM_SIZE + i * 4096 }),
    200,
  );
  const memory = wasmMemory();
  const wasmCompile = microseconds(() => compileWasmBlock(block, { memory, ramBase: RAM_BASE, ramSize: RAM_SIZE }), 200);
  rows.push({
    block: `${hex(block.start)} (${block.instructions.length} instr.: ${text})`, share, perEntry, mips,
    javascriptCompile, wasmCompile, preciseExit,
    javascriptBytes: javascriptSource(block, RAM_BASE, RAM_SIZE).length,
    wasmBytes: wasmBlockModule(block, RAM_BASE, RAM_SIZE, 1).length,
  });
}

/**
 * Precise exits: the blocks are compiled again with RAM ending 64 bytes past the loop's first
 * access, so that a loop walking up through memory leaves at a load or store that would fault.
 * Its state there must be the interpreter's after exactly the instructions the block reports.
 */
function checkPreciseExit(block, entry, perEntry) {
  const access = block.instructions.find((instruction) => ACCESS_WIDTH[instruction.operation] !== undefined);
  if (access === undefined) return 'no memory access';
  const limit = (entry.registers[2 * access.rs1] >>> 0) + access.imm - RAM_BASE + 64;
  const results = [];
  for (const variant of [javascriptVariant(block, true, limit), wasmVariant(block, { chained: true, copyRegisters: false, ramLimit: limit })]) {
    variant.load(entry);
    const executed = variant.runToExit();
    const reference = interpreterVariant(block);
    reference.load(entry, executed);
    reference.runToExit();
    assertSameState(reference, variant, `leaving the block early at ${hex(variant.state().pc)}`);
    results.push(executed);
  }
  if (results[0] !== results[1]) throw new Error(`precise exit: JavaScript left after ${results[0]} instructions, WebAssembly after ${results[1]}`);
  return results[0] < perEntry ? `left early after ${results[0]} of ${perEntry} instructions, state equal to the interpreter's` : 'loop never reached the shortened RAM end';
}

function readRaw(ram, pc) {
  const offset = pc - RAM_BASE;
  const low = ram[offset] | (ram[offset + 1] << 8);
  return (low & 3) === 3 ? (low | (ram[offset + 2] << 16) | (ram[offset + 3] << 24)) >>> 0 : low;
}

const names = Object.keys(rows[0].mips);
console.log('\nguest MIPS per loop (ratio to the interpreter in brackets); every variant checked equal to the interpreter');
for (const row of rows) {
  console.log(`\n${row.block}\n  ${(row.share * 100).toFixed(1)}% of bench.elf's samples, ${row.perEntry} instructions per loop entry`);
  for (const name of names) {
    const ratio = row.mips[name] / row.mips.interpreter;
    console.log(`  ${name.padEnd(48)} ${row.mips[name].toFixed(0).padStart(6)} MIPS  (${ratio.toFixed(2)}x)`);
  }
  console.log(`  precise exit: ${row.preciseExit}`);
  console.log(`  compile: JavaScript ${row.javascriptCompile.toFixed(0)} µs (${row.javascriptBytes} chars of source), WebAssembly ${row.wasmCompile.toFixed(0)} µs (${row.wasmBytes}-byte module)`);
}
console.log('\ngeometric mean ratio to the interpreter:');
for (const name of names.slice(1)) {
  const mean = Math.exp(rows.reduce((sum, row) => sum + Math.log(row.mips[name] / row.mips.interpreter), 0) / rows.length);
  console.log(`  ${name.padEnd(48)} ${mean.toFixed(2)}x`);
}

// ---- crossing costs (microseconds per 1000 calls = nanoseconds per call) ----------------------------------------------------------------------------
const calls = 10_000_000;
const memory = wasmMemory();
const emptyWasm = emptyWasmFunction(memory);
const emptyJavascript = new Function('budget', 'return budget;');
let sink = 0;
const wasmCall = microseconds(() => { for (let i = 0; i < 1000; i++) sink += emptyWasm(i); }, calls / 1000);
const javascriptCall = microseconds(() => { for (let i = 0; i < 1000; i++) sink += emptyJavascript(i); }, calls / 1000);
const inWasm = new Int32Array(memory.buffer, 0, 66);
const inJavascript = new Int32Array(new SharedArrayBuffer(33 * 8));
const copyPair = microseconds(() => { for (let i = 0; i < 1000; i++) { inWasm.set(inJavascript); inJavascript.set(inWasm); } }, calls / 10_000);
console.log(`\ncall overhead: JS -> empty Wasm function ${wasmCall.toFixed(1)} ns, JS -> empty JS function ${javascriptCall.toFixed(1)} ns; copying the 33 register pairs into Wasm memory and back ${copyPair.toFixed(1)} ns`);
if (sink === -1) console.log('(unreachable: keeps the call loops from being optimised away)');
