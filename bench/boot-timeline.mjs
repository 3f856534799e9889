// Linux's boot as the CLI runs it, in one process, with a timeline: the compile worker started
// first, the warm-up, then slices of 1 M instructions with a turn of the event loop between
// them (so the worker's batches are installed), and every --step instructions a line with the
// wall time, guest MIPS over the window, the share run translated, region runs and what the
// tier has compiled. At the end: CPU time of each thread of the process (/proc/self/task: the
// emulator's, V8's helpers, the worker's) and the latency of every batch the worker compiled.
// For finding where a boot waits; bench/boot-wall.mjs measures it (whole processes).
//
//   node bench/boot-timeline.mjs [--dist DIR] [--bios builtin|opensbi] [--step N] [--limit N]
//        [--threshold N] [--no-worker] [--no-core] [--v8 'FLAGS'] [--boots N]
//   node --trace-opt --trace-deopt bench/boot-timeline.mjs ...   (when V8 optimizes what)
//
// --limit stops after that many instructions; --threshold sets the tier's hot threshold;
// --no-core leaves all interpretation to the JavaScript interpreter (interpreter-core.ts);
// --v8 sets V8 flags before anything is loaded; --boots boots again in the same process (each
// with a new compile worker, which runs at the emulator's priority: the helpers are reniced
// once per process): what the boot costs once V8 has optimized the emulator for it.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';

const started = performance.now();
const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
};
if (argument('--v8') !== undefined) v8.setFlagsFromString(argument('--v8'));
const dist = resolve(argument('--dist', 'dist'));
const bios = argument('--bios', 'builtin');
const step = Number(argument('--step', '2000000'));
const limit = Number(argument('--limit', 'Infinity'));
const boots = Number(argument('--boots', '1'));
const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(process.env.HOME ?? '/root', '.cache/ringside/linux-6.1');
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
for (const file of [join(CACHE, 'Image'), join(CACHE, 'initramfs.cpio'), ...(bios === 'opensbi' ? [FW_JUMP] : [])]) {
  if (!existsSync(file)) {
    console.error(`bench/boot-timeline: ${file} is missing (bash guests/linux/build.sh; opensbi from Debian)`);
    process.exit(2);
  }
}

const { Machine, warmUpEngine, lowerHelperThreadPriority } = createRequire(import.meta.url)(join(dist, 'vmm-core.js'));
const loaded = performance.now();
const image = (path) => ({ fileName: path, bytes: new Uint8Array(readFileSync(path)) });
// As the CLI: the worker first, then every thread but the main one at nice 10, then the warm-up.
const startWorker = () => {
  if (process.argv.includes('--no-worker')) return undefined;
  const worker = new Worker(join(dist, 'translationWorker.js'));
  worker.unref();
  return worker;
};
let worker = startWorker();
// (Builds before it was exported leave the helpers at normal priority.)
lowerHelperThreadPriority?.();
warmUpEngine('auto');
const warmedUp = performance.now();
console.log(`load ${(loaded - started).toFixed(0)} ms, warm-up ${(warmedUp - loaded).toFixed(0)} ms`);

async function boot(number) {
  const bootStarted = performance.now();
  const machine = new Machine({
    kernel: image(join(CACHE, 'Image')), initrd: image(join(CACHE, 'initramfs.cpio')),
    bios: bios === 'builtin' ? 'builtin' : image(FW_JUMP), idle: 'skip', memoryBytes: 256 * 1024 * 1024,
    append: 'console=ttyS0 ringside.scenario=exitcode ringside.code=7 quiet', consoleOutput: () => {},
  });
  const tier = machine.translation;
  tier.backgroundCompilation = true;
  if (argument('--threshold') !== undefined) tier.hotThreshold = Number(argument('--threshold'));
  if (process.argv.includes('--no-core')) tier.coreEnabled = false;
  // Batch latencies, seen from this side of the worker's port.
  const sentAt = new Map();
  const latencies = [];
  if (worker !== undefined) {
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (message) => {
      if (typeof message === 'object' && message !== null && 'id' in message) sentAt.set(message.id, performance.now());
      post(message);
    };
    worker.on('message', (answer) => {
      const at = sentAt.get(answer.id);
      if (at !== undefined) latencies.push(`${(at - bootStarted).toFixed(0)}+${(performance.now() - at).toFixed(0)}`);
    });
    tier.useCompileWorker(worker);
  }
  const built = performance.now();
  console.log(`boot ${number}: machine ${(built - bootStarted).toFixed(0)} ms`);
  const retired = () => machine.harts.reduce((sum, hart) => sum + hart.instructionsRetired, 0);
  const statistics = tier.statistics;
  let next = step;
  let last = { time: performance.now(), instructions: 0, translated: 0, runs: 0 };
  let result;
  for (;;) {
    result = machine.run(Math.min(1_000_000, Math.max(1, limit - retired())));
    const instructions = retired();
    const done = result.kind === 'exit' || result.kind === 'stop' || instructions >= limit;
    if (instructions >= next || done) {
      const now = performance.now();
      const window = instructions - last.instructions;
      const translated = statistics.instructionsTranslated - last.translated;
      console.log(`${(instructions / 1e6).toFixed(1).padStart(5)} M  ${(now - bootStarted).toFixed(0).padStart(5)} ms  ` +
        `+${(now - last.time).toFixed(0).padStart(4)} ms  ${(window / (now - last.time) / 1e3).toFixed(0).padStart(4)} MIPS  ` +
        `translated ${(100 * translated / Math.max(1, window)).toFixed(0).padStart(3)} %  region runs ${statistics.regionRuns - last.runs}  ` +
        `regions ${statistics.regionsCompiled} in ${statistics.modulesCompiled} modules (${statistics.modulesFromWorker} from the worker), ` +
        `${statistics.cacheFlushes} flushes`);
      last = { time: now, instructions, translated: statistics.instructionsTranslated, runs: statistics.regionRuns };
      next = instructions + step;
    }
    if (done) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  console.log(`boot ${number}: ${result.kind === 'exit' ? `exit ${result.exit.code}` : result.kind} after ${retired()} instructions, ` +
    `${(performance.now() - built).toFixed(0)} ms running the guest`);
  if (latencies.length > 0) console.log(`batches (sent at ms + latency ms): ${latencies.join(' ')}`);
  machine.close();
}

for (let number = 1; number <= boots; number++) {
  if (number > 1) worker = startWorker();
  await boot(number);
}
const threads = [];
for (const thread of readdirSync('/proc/self/task')) {
  try {
    const stat = readFileSync(`/proc/self/task/${thread}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const milliseconds = (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, 100 Hz ticks
    if (milliseconds > 0) threads.push(`${thread === String(process.pid) ? 'main' : thread} ${milliseconds}`);
  } catch {
    // a thread that ended meanwhile
  }
}
console.log(`thread CPU ms: ${threads.join(', ')}; ${(performance.now() - started).toFixed(0)} ms from start`);
