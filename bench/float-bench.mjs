// Micro-benchmark of the F/D library: ns per call on random normal operands, per rounding mode.
//   node bench/float-bench.mjs
// The module is bundled with esbuild first, as the extension ships it (tsx's per-file transform
// turns every cross-module call into an accessor call and would dominate the timings).
// Numbers are for comparison between changes on the same machine only.
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const outDir = mkdtempSync(join(tmpdir(), 'float-bench-'));
const outfile = join(outDir, 'float.mjs');
await build({
  entryPoints: [new URL('../vmm-core/cpu/float/index.ts', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  platform: 'node',
  outfile,
  logLevel: 'error',
});
const float = await import(pathToFileURL(outfile).href);
rmSync(outDir, { recursive: true, force: true });

const COUNT = 4096; // operand sets, cycled
const CALLS = 2_000_000;

let seed = 12345;
function random() {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return ((seed >>> 8) & 0xffffff) / 0x1000000;
}
const view = new DataView(new ArrayBuffer(8));
const lows = new Int32Array(COUNT * 3);
const highs = new Int32Array(COUNT * 3);
const singles = new Int32Array(COUNT * 3);
for (let i = 0; i < COUNT * 3; i++) {
  const value = (random() - 0.5) * 2 ** Math.floor(random() * 40 - 20);
  view.setFloat64(0, value, true);
  lows[i] = view.getInt32(0, true);
  highs[i] = view.getInt32(4, true);
  view.setFloat32(0, value, true);
  singles[i] = view.getInt32(0, true);
}

// Baseline: the bit casts and one JS add, i.e. what any implementation has to pay.
const castF64 = new Float64Array(1);
const castI32 = new Int32Array(castF64.buffer);
const out = new Int32Array(2);
function plainAdd(aLow, aHigh, bLow, bHigh) {
  castI32[0] = aLow;
  castI32[1] = aHigh;
  const a = castF64[0];
  castI32[0] = bLow;
  castI32[1] = bHigh;
  castF64[0] = a + castF64[0];
  out[0] = castI32[0];
  out[1] = castI32[1];
  return 0;
}

const cases = {
  'baseline add': (i) => plainAdd(lows[i], highs[i], lows[i + 1], highs[i + 1]),
  'f64Add': (i, mode) => float.f64Add(lows[i], highs[i], lows[i + 1], highs[i + 1], mode),
  'f64Mul': (i, mode) => float.f64Mul(lows[i], highs[i], lows[i + 1], highs[i + 1], mode),
  'f64Div': (i, mode) => float.f64Div(lows[i], highs[i], lows[i + 1], highs[i + 1], mode),
  'f64Sqrt': (i, mode) => float.f64Sqrt(lows[i], highs[i] & 0x7fffffff, mode),
  'f64MulAdd': (i, mode) =>
    float.f64MulAdd(lows[i], highs[i], lows[i + 1], highs[i + 1], lows[i + 2], highs[i + 2], mode),
  'f32Add': (i, mode) => float.f32Add(singles[i], singles[i + 1], mode),
  'f32Mul': (i, mode) => float.f32Mul(singles[i], singles[i + 1], mode),
  'f32Div': (i, mode) => float.f32Div(singles[i], singles[i + 1], mode),
  'f32MulAdd': (i, mode) => float.f32MulAdd(singles[i], singles[i + 1], singles[i + 2], mode),
  'f64ToInt64': (i, mode) => float.f64ToInt64(lows[i], highs[i], mode),
  'int64ToF64': (i, mode) => float.int64ToF64(lows[i], highs[i], mode),
};

function measure(run, mode) {
  let flags = 0;
  for (let i = 0; i < 200_000; i++) flags |= run((i & (COUNT - 1)) * 3, mode); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) flags |= run((i & (COUNT - 1)) * 3, mode);
  const elapsed = Number(process.hrtime.bigint() - start);
  return { nanoseconds: elapsed / CALLS, flags };
}

console.log('operation        RNE ns   RTZ ns   RMM ns');
for (const [name, run] of Object.entries(cases)) {
  const columns = [0, 1, 4].map((mode) => measure(run, mode).nanoseconds.toFixed(1).padStart(8));
  console.log(`${name.padEnd(14)} ${columns.join(' ')}`);
}
