// Linux boot on the interpreter alone (no child process, no console thread): boots
// guests/linux's kernel with the built-in SBI and the exitcode scenario, headless with the
// virtual clock skipping idle time, and reports the instructions retired up to /init
// (RINGSIDE-INIT on the console) and to the guest's exit, the CPU seconds and guest MIPS.
// The instruction counts are the determinism check: a change that keeps the machine the same
// keeps them identical.
//
//   node bench/linux-boot.mjs [--dist DIR] [--rounds N]
//   node --cpu-prof --cpu-prof-interval 100 bench/linux-boot.mjs   (then bench/profile-summary.mjs)
//
// --dist picks another build (e.g. a copy of main's dist/) to compare in the same run.

import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';

const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(process.env.HOME ?? '/root', '.cache/ringside/linux-6.1');
const option = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
};
const dist = resolve(option('--dist', 'dist'));
const rounds = Number(option('--rounds', '1'));
for (const file of ['Image', 'initramfs.cpio']) {
  if (!existsSync(join(CACHE, file))) {
    console.error(`bench/linux-boot: ${join(CACHE, file)} is missing: run bash guests/linux/build.sh`);
    process.exit(2);
  }
}
const { Machine } = createRequire(import.meta.url)(join(dist, 'vmm-core.js'));
const image = (name) => ({ fileName: join(CACHE, name), bytes: new Uint8Array(readFileSync(join(CACHE, name))) });
const kernel = image('Image');
const initrd = image('initramfs.cpio');
const MARKER = 'RINGSIDE-INIT';

function boot() {
  let console = '';
  let initInstructions = 0;
  let initSeconds = 0;
  const machine = new Machine({
    kernel, initrd, bios: 'builtin', idle: 'skip', memoryBytes: 256 * 1024 * 1024,
    append: 'console=ttyS0 ringside.scenario=exitcode ringside.code=7 quiet',
    consoleOutput: (byte) => { console += String.fromCharCode(byte); },
  });
  const retired = () => machine.harts.reduce((sum, hart) => sum + hart.instructionsRetired, 0);
  const cpuStart = process.cpuUsage();
  const cpuSeconds = () => { const used = process.cpuUsage(cpuStart); return (used.user + used.system) / 1e6; };
  let result;
  for (;;) {
    result = machine.run(100_000);
    if (initInstructions === 0 && console.includes(MARKER)) { initInstructions = retired(); initSeconds = cpuSeconds(); }
    if (result.kind === 'exit' || result.kind === 'stop') break;
  }
  const seconds = cpuSeconds();
  if (result.kind !== 'exit' || result.exit.code !== 7) throw new Error(`boot did not exit with 7: ${JSON.stringify(result)}\n${console.slice(-2000)}`);
  return { initInstructions, initSeconds, instructions: retired(), seconds };
}

for (let round = 0; round < rounds; round++) {
  const r = boot();
  console.log(`${dist}: to init ${r.initInstructions} instructions in ${r.initSeconds.toFixed(2)} CPU s ` +
    `(${(r.initInstructions / r.initSeconds / 1e6).toFixed(1)} MIPS); to exit ${r.instructions} in ${r.seconds.toFixed(2)} s`);
}
