// What compiling a region costs the translation tier (issue 8): plans regions from real code
// (Linux's Image from guests/linux/build.sh when built, else the committed guests' text), then
// generates their Wasm in batches of 12 as the tier does, and reports per region: planning,
// generating, and V8's share (WebAssembly.Module on the same bytes: validation, lazy
// compilation set-up), the first pass (cold JavaScript, as at a guest's start) and the best
// later pass (warm), and the Wasm bytes.
// `--baseline DIR` loads the translator of another checkout (e.g. a worktree of main) into the
// same process and alternates the passes, so the machine's load falls on both alike.
//
//   node bench/translation-compile.mjs [--passes N] [--regions N] [--baseline DIR]

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import esbuild from 'esbuild';

const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : fallback;
};
const passes = Number(argument('--passes', '8'));
const regionLimit = Number(argument('--regions', '3000'));
const baseline = argument('--baseline', undefined);
const root = resolve(new URL('..', import.meta.url).pathname);
const BATCH = 12;

/** The translator as the product runs it: bundled by esbuild like dist/ (scripts/build.mjs). */
async function load(tree) {
  const entry = `export { planRegion, generateRegionsModule } from './vmm-core/translation/translator';\n` +
    `export { DEFAULT_CPU_MODEL } from './vmm-core/cpu/cpu-model';\n`;
  const bundle = await esbuild.build({
    stdin: { contents: entry, resolveDir: tree, loader: 'ts' }, bundle: true, format: 'esm', platform: 'node', target: 'node20', write: false,
  });
  const translator = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString('base64')}`);
  return { name: tree, translator, extensions: translator.DEFAULT_CPU_MODEL.extensionMask };
}

/** Code to translate: Linux's Image (its text comes first) or the committed guests' loadable bytes. */
function codeBytes() {
  const image = join(process.env.RINGSIDE_LINUX_DIR ?? join(process.env.HOME ?? '/root', '.cache/ringside/linux-6.1'), 'Image');
  if (existsSync(image)) return { source: image, bytes: new Uint8Array(readFileSync(image)).subarray(0, 2 * 1024 * 1024) };
  const parts = ['bench', 'workload', 'demo', 'vkernel'].map((name) => readFileSync(join(root, `guests/bin/${name}.elf`)));
  const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length + 4095 & ~4095, 0));
  let offset = 0;
  for (const part of parts) { bytes.set(part, offset); offset += part.length + 4095 & ~4095; }
  return { source: 'guests/bin/{bench,workload,demo,vkernel}.elf', bytes };
}

const { source, bytes } = codeBytes();
const halfwords = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
const trees = [await load(root)];
if (baseline !== undefined) trees.push(await load(resolve(baseline)));

/** Entries every 192 bytes of every page: the same list for every tree. */
function entries(tree) {
  const list = [];
  for (let page = 0; page + 4096 <= bytes.length && list.length < regionLimit; page += 4096) {
    for (let offset = 0; offset < 4096 && list.length < regionLimit; offset += 192) {
      if (tree.translator.planRegion(halfwords, page, offset, tree.extensions) !== undefined) list.push([page, offset]);
    }
  }
  return list;
}
const list = entries(trees[0]);
const WasmModule = globalThis.WebAssembly.Module;

function pass(tree) {
  const started = performance.now();
  const plans = list.map(([page, offset]) => tree.translator.planRegion(halfwords, page, offset, tree.extensions));
  const planned = performance.now();
  const modules = [];
  for (let index = 0; index < plans.length; index += BATCH) {
    modules.push(tree.translator.generateRegionsModule(plans.slice(index, index + BATCH), 4200, 0x1000_0000, 0x8000_0000));
  }
  const generated = performance.now();
  for (const module of modules) new WasmModule(module);
  const compiled = performance.now();
  const moduleBytes = modules.reduce((total, module) => total + module.length, 0);
  return { plan: planned - started, generate: generated - planned, v8: compiled - generated, bytes: moduleBytes, modules };
}

const results = new Map(trees.map((tree) => [tree.name, []]));
for (let round = 0; round < passes; round++) {
  for (const tree of round % 2 === 0 ? trees : [...trees].reverse()) results.get(tree.name).push(pass(tree));
}
if (trees.length === 2) {
  const [ours, theirs] = trees.map((tree) => results.get(tree.name)[0].modules);
  const same = ours.length === theirs.length && ours.every((module, index) => Buffer.compare(module, theirs[index]) === 0);
  console.log(same ? 'generated Wasm: byte for byte the same in both trees' : 'generated Wasm: DIFFERS between the trees');
}
for (const runs of results.values()) for (const run of runs) delete run.modules;
const perRegion = (ms) => `${(ms * 1000 / list.length).toFixed(1).padStart(6)} us`;
console.log(`node ${process.version}; ${list.length} regions planned from ${source}; ${passes} passes, batches of ${BATCH}`);
for (const tree of trees) {
  const runs = results.get(tree.name);
  const best = (key) => Math.min(...runs.slice(1).map((run) => run[key]));
  console.log(`${tree.name}`);
  console.log(`  first pass: plan ${perRegion(runs[0].plan)}, generate ${perRegion(runs[0].generate)}, V8 Module ${perRegion(runs[0].v8)} per region`);
  // (V8 caches modules by their bytes: only the first pass says what compiling them costs.)
  console.log(`  best later: plan ${perRegion(best('plan'))}, generate ${perRegion(best('generate'))} per region; ` +
    `${(runs[0].bytes / list.length).toFixed(0)} bytes of Wasm per region`);
}
