// Linux-sized symbols: Linux 6.1 (guest built by guests/linux/build.sh) launched over stdio
// against dist/debugAdapter.js (as VS Code runs it) with its vmlinux (81 MB, DWARF 4) as the
// symbol file and a function breakpoint on kernel_clone. Per round it measures
//   launch -> first stop:   from the launch request to the stopped event;
//   first stop -> Locals:   stackTrace, scopes, then variables of Locals, as VS Code asks
//                           them when the stop arrives;
//   index ready:            when the ringside/symbolIndex event arrived, from launch.
// "cold" deletes the cached index first; "cached" keeps the one the cold rounds wrote.
// vmlinux is hard-linked into a temporary folder, so the index is cached there.
// Usage: node scripts/build.mjs && node bench/symbols-linux.mjs [--rounds N] [--adapter PATH [--no-index]]
//   --adapter: another build of the adapter (e.g. of an earlier commit) for comparison;
//   --no-index: that adapter has no background indexing (no ringside/symbolIndex event).

import { existsSync, linkSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const { DebugClient } = require('@vscode/debugadapter-testsupport');

const option = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : fallback;
};
const rounds = Number(option('--rounds', '3'));
const expectIndex = !process.argv.includes('--no-index');
const root = resolve(import.meta.dirname, '..');
const adapter = resolve(option('--adapter', join(root, 'dist/debugAdapter.js')));
const linux = process.env.RINGSIDE_LINUX_DIR ?? join(homedir(), '.cache/ringside/linux-6.1');
for (const file of ['Image', 'vmlinux', 'initramfs.cpio']) {
  if (!existsSync(join(linux, file))) throw new Error(`${join(linux, file)} is missing: run bash guests/linux/build.sh`);
}

const scratch = mkdtempSync(join(tmpdir(), 'ringside-bench-symbols-'));
const vmlinux = join(scratch, 'vmlinux');
try {
  linkSync(join(linux, 'vmlinux'), vmlinux);
} catch {
  copyFileSync(join(linux, 'vmlinux'), vmlinux);
}

async function round() {
  const client = new DebugClient('node', adapter, 'ringside', { cwd: root });
  client.defaultTimeout = 600_000;
  const started = performance.now();
  let indexReady;
  const indexed = new Promise((resolveIndex) => client.on('ringside/symbolIndex', (event) => {
    indexReady = performance.now();
    resolveIndex(event.body);
  }));
  await client.start();
  try {
    await client.initializeRequest({ adapterID: 'ringside', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
    const initialized = client.waitForEvent('initialized');
    const launchSent = performance.now();
    await client.launchRequest({
      cwd: root, program: join(linux, 'Image'), symbolFiles: [vmlinux], bios: 'builtin', initrd: join(linux, 'initramfs.cpio'),
      memory: '128M', append: 'console=ttyS0 quiet', serial: 'none',
    });
    await initialized;
    await client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'kernel_clone' }] });
    const stopped = client.waitForEvent('stopped', 600_000);
    await client.configurationDoneRequest();
    const stop = await stopped;
    const stopAt = performance.now();
    const trace = await client.stackTraceRequest({ threadId: stop.body.threadId ?? 1, startFrame: 0, levels: 20 });
    const scopes = await client.scopesRequest({ frameId: trace.body.stackFrames[0].id });
    const locals = scopes.body.scopes.find((scope) => scope.name === 'Locals');
    const variables = await client.variablesRequest({ variablesReference: locals.variablesReference });
    const localsAt = performance.now();
    if (trace.body.stackFrames[0].name !== 'kernel_clone' || variables.body.variables.length === 0) {
      throw new Error(`unexpected first stop: ${trace.body.stackFrames[0].name}, ${variables.body.variables.length} locals`);
    }
    // An adapter without background indexing (--no-index) sends no event: do not wait for one.
    const report = expectIndex ? await indexed : undefined;
    return {
      launchToStop: (stopAt - launchSent) / 1000,
      stopToLocals: (localsAt - stopAt) / 1000,
      indexReady: indexReady === undefined ? undefined : (indexReady - launchSent) / 1000,
      source: report?.source ?? '-',
      startup: (launchSent - started) / 1000,
    };
  } finally {
    await client.stop();
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (value) => (value === undefined ? '   -  ' : `${value.toFixed(2).padStart(6)}`);
console.log(`node ${process.version}, adapter ${adapter}, ${rounds} rounds per mode; seconds`);
console.log('mode    round  launch->stop  stop->Locals  index ready  index from');
const results = { cold: [], cached: [] };
// Without an index there is nothing to cache: one mode.
const modes = expectIndex ? ['cold', 'cached'] : ['cold'];
try {
  for (const mode of modes) {
    for (let index = 0; index < rounds; index++) {
      if (mode === 'cold') rmSync(`${vmlinux}.ringside-index`, { force: true });
      const result = await round();
      results[mode].push(result);
      console.log(`${mode.padEnd(7)} ${String(index + 1).padStart(5)}  ${seconds(result.launchToStop)}        ${seconds(result.stopToLocals)}        ${seconds(result.indexReady)}       ${result.source}`);
    }
  }
  for (const mode of modes) {
    const list = results[mode];
    console.log(`median ${mode}: launch->stop ${seconds(median(list.map((r) => r.launchToStop)))}, stop->Locals ${seconds(median(list.map((r) => r.stopToLocals)))}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
