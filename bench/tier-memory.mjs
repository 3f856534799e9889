// Memory of the translation tier: Linux's boot (guests/linux/build.sh, built-in SBI, to its
// power-off) in a fresh process per configuration — the interpreter alone, the default tier,
// and the tier with its hot threshold lowered to 40 (many more regions: the worst case for the
// cache) — reporting the process's peak resident set, V8's heap and external memory, and the
// tier's statistics. The tier's cost is the difference from the interpreter's run (the same
// 256 MiB guest, the same Node).
//
//   node scripts/build.mjs && node bench/tier-memory.mjs

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(process.env.HOME ?? '/root', '.cache/ringside/linux-6.1');

if (process.argv[2] === '--child') {
  const [, , , tier, threshold] = process.argv;
  const { Machine } = createRequire(import.meta.url)('../dist/vmm-core.js');
  const image = (name) => ({ fileName: join(CACHE, name), bytes: new Uint8Array(readFileSync(join(CACHE, name))) });
  const machine = new Machine({
    kernel: image('Image'), initrd: image('initramfs.cpio'), bios: 'builtin', idle: 'skip', memoryBytes: 256 * 1024 * 1024,
    append: 'console=ttyS0 ringside.scenario=exitcode ringside.code=7 quiet', tier,
  });
  if (machine.translation !== null && threshold !== 'default') machine.translation.hotThreshold = Number(threshold);
  const started = performance.now();
  let result;
  do result = machine.run(1_000_000); while (result.kind === 'budget' || result.kind === 'idle');
  const seconds = (performance.now() - started) / 1000;
  if (result.kind !== 'exit' || result.exit.code !== 7) throw new Error(`boot did not exit with 7: ${JSON.stringify(result)}`);
  const memory = process.memoryUsage();
  console.log(JSON.stringify({
    seconds, instructions: machine.harts[0].instructionsRetired, peakRss: process.resourceUsage().maxRSS * 1024,
    heapUsed: memory.heapUsed, external: memory.external, statistics: machine.translation?.statistics ?? null,
  }));
  process.exit(0);
}

for (const file of ['Image', 'initramfs.cpio']) {
  if (!existsSync(join(CACHE, file))) {
    console.error(`bench/tier-memory: ${join(CACHE, file)} is missing: run bash guests/linux/build.sh`);
    process.exit(2);
  }
}
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
const configurations = [['interpreter', 'default'], ['auto', 'default'], ['auto', '40']];
let reference;
console.log(`node ${process.version}; Linux boot to power-off, 256 MiB guest, one fresh process each`);
for (const [tier, threshold] of configurations) {
  const child = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--child', tier, threshold], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`${tier} ${threshold}: ${child.stderr}`);
  const run = JSON.parse(child.stdout.trim().split('\n').pop());
  reference ??= run;
  const s = run.statistics;
  console.log(`${`${tier}${threshold === 'default' ? '' : ` (hot threshold ${threshold})`}`.padEnd(28)} ${run.seconds.toFixed(2)} s  ` +
    `peak RSS ${mib(run.peakRss)} (+${mib(run.peakRss - reference.peakRss)})  heap ${mib(run.heapUsed)}  external ${mib(run.external)}` +
    (s === null ? '' : `  regions ${s.regionsCompiled} in ${s.modulesCompiled} modules, ${mib(s.moduleBytes)} of Wasm, ${s.cacheFlushes - 1} cache flushes`));
}
