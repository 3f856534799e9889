// The instruction decoder's speed (issue 8: the interpreter's decode cache refills about a
// million times during Linux's boot): decodes every halfword-aligned position of real code
// (Linux's Image when guests/linux/build.sh has built it, else the committed guests), as the
// decoder is bundled in dist/, and reports ns per decode, best of the rounds. `--baseline DIR`
// loads another checkout's decoder into the same process, alternating rounds, and checks that
// both decode every word to the same row and fields.
//
//   node bench/decode.mjs [--rounds N] [--baseline DIR]

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import esbuild from 'esbuild';

const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : fallback;
};
const rounds = Number(argument('--rounds', '9'));
const baseline = argument('--baseline', undefined);
const root = resolve(new URL('..', import.meta.url).pathname);

async function load(tree) {
  const bundle = await esbuild.build({
    stdin: { contents: `export { decodeInstruction, DecodedInstruction } from './vmm-core/isa/decoder';\n`, resolveDir: tree, loader: 'ts' },
    bundle: true, format: 'esm', platform: 'node', target: 'node20', write: false,
  });
  const module = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString('base64')}`);
  return { name: tree, ...module };
}

const image = join(process.env.RINGSIDE_LINUX_DIR ?? join(process.env.HOME ?? '/root', '.cache/ringside/linux-6.1'), 'Image');
const source = existsSync(image) ? image : join(root, 'guests/bin/vkernel.elf');
const bytes = new Uint8Array(readFileSync(source)).subarray(0, 2 * 1024 * 1024);
const words = new Uint32Array(bytes.length / 2 - 1);
for (let index = 0; index < words.length; index++) {
  words[index] = (bytes[2 * index] | (bytes[2 * index + 1] << 8) | (bytes[2 * index + 2] << 16) | (bytes[2 * index + 3] << 24)) >>> 0;
}
const trees = [await load(root)];
if (baseline !== undefined) trees.push(await load(resolve(baseline)));

function pass(tree) {
  const out = new tree.DecodedInstruction();
  let checksum = 0;
  const started = process.hrtime.bigint();
  for (let index = 0; index < words.length; index++) {
    tree.decodeInstruction(words[index], out);
    checksum = (checksum + out.row * 31 + out.imm + out.rd) | 0;
  }
  return { nanoseconds: Number(process.hrtime.bigint() - started) / words.length, checksum };
}

if (trees.length === 2) {
  const [ours, theirs] = trees.map((tree) => new tree.DecodedInstruction());
  let differences = 0;
  for (const word of words) {
    trees[0].decodeInstruction(word, ours);
    trees[1].decodeInstruction(word, theirs);
    if (ours.row !== theirs.row || ours.imm !== theirs.imm || ours.rd !== theirs.rd || ours.rs1 !== theirs.rs1 || ours.rs2 !== theirs.rs2 ||
      ours.csr !== theirs.csr || ours.roundingMode !== theirs.roundingMode) differences++;
  }
  console.log(differences === 0 ? `decoded alike: all ${words.length} words` : `DIFFERENT decodes: ${differences} of ${words.length} words`);
}
const best = new Map(trees.map((tree) => [tree.name, Infinity]));
for (let round = 0; round < rounds; round++) {
  for (const tree of round % 2 === 0 ? trees : [...trees].reverse()) best.set(tree.name, Math.min(best.get(tree.name), pass(tree).nanoseconds));
}
console.log(`node ${process.version}; ${words.length} words from ${source}; best of ${rounds} rounds`);
for (const [name, nanoseconds] of best) console.log(`${name.padEnd(40)} ${nanoseconds.toFixed(1)} ns per decode`);
