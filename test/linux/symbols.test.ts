// Linux 6.1 with its vmlinux (81 MB, DWARF 4) as the symbol file, through the bundled adapter
// (dist/debugAdapter.js, which indexes vmlinux on dist/symbolIndexWorker.js): a function
// breakpoint on kernel_clone stops in the first kernel_clone (rest_init starting PID 1), and
// the first stop's views (stack, scopes, Locals) show the right frames and values. Run twice:
// cold (no index cached: the views are served before the index is ready) and with the index
// cached beside vmlinux by the first run.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { openSession, type Session } from '../dap/support';

const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(homedir(), '.cache/ringside/linux-6.1');
const STOP_TIMEOUT = 300_000;
let scratch = '';
let vmlinux = '';

before(() => {
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { encoding: 'utf8' });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);
  for (const file of ['Image', 'vmlinux', 'initramfs.cpio']) {
    assert.ok(existsSync(join(CACHE, file)), `${join(CACHE, file)} is missing: run bash guests/linux/build.sh (Debian packages: bash scripts/install-deps.sh)`);
  }
  // A private name for vmlinux, so that its index is cached in this test's folder.
  scratch = mkdtempSync(join(tmpdir(), 'ringside-linux-symbols-'));
  vmlinux = join(scratch, 'vmlinux');
  try {
    linkSync(join(CACHE, 'vmlinux'), vmlinux);
  } catch {
    copyFileSync(join(CACHE, 'vmlinux'), vmlinux);
  }
});

after(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

type IndexEvent = { path: string; adopted: boolean; source?: string; cachePath?: string; problems: string[] };

/** Launches Linux to its first kernel_clone and checks the first stop's views; returns how the index went. */
async function firstStop(): Promise<IndexEvent> {
  const session: Session = await openSession('stdio');
  const indexed = new Promise<IndexEvent>((resolve) => {
    session.client.on('ringside/symbolIndex', (event: DebugProtocol.Event) => resolve(event.body as IndexEvent));
  });
  try {
    session.client.defaultTimeout = 60_000;
    await session.launch({
      program: join(CACHE, 'Image'), symbolFiles: [vmlinux], bios: 'builtin', initrd: join(CACHE, 'initramfs.cpio'),
      memory: '128M', append: 'console=ttyS0 quiet', icountShift: 0,
    }, async () => {
      const set = await session.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'kernel_clone' }] });
      assert.equal(set.body.breakpoints.length, 1);
      assert.match(set.body.breakpoints[0].source?.path ?? '', /kernel\/fork\.c$/);
    });
    const stop = await session.next<DebugProtocol.StoppedEvent>('stopped', STOP_TIMEOUT);
    assert.equal(stop.body.reason, 'function breakpoint');

    const trace = await session.client.stackTraceRequest({ threadId: stop.body.threadId ?? 1 });
    const names = trace.body.stackFrames.map((frame) => frame.name);
    assert.deepEqual(names.slice(0, 3), ['kernel_clone', 'user_mode_thread', 'rest_init'], names.join(' < '));
    const top = trace.body.stackFrames[0];
    assert.match(top.source?.path ?? '', /kernel\/fork\.c$/);
    assert.equal(top.line > 2600 && top.line < 2800, true, `kernel_clone's line ${top.line} in fork.c`);
    assert.match(trace.body.stackFrames[2].source?.path ?? '', /init\/main\.c$/);

    const scopes = (await session.client.scopesRequest({ frameId: top.id })).body.scopes;
    assert.deepEqual(scopes.map((scope) => scope.name), ['Locals', 'Registers', 'Floating point', 'CSRs', 'Globals', 'Machine']);
    const locals = (await session.client.variablesRequest({ variablesReference: scopes[0].variablesReference })).body.variables;
    assert.deepEqual(locals.map((local) => local.name), ['args', 'clone_flags', 'vfork', 'pid', 'p', 'trace', 'nr']);
    const args = locals[0];
    assert.match(args.value, /^0xffffffff8[0-9a-f]{7}$/, 'args points into the kernel stack');
    // user_mode_thread(kernel_init, NULL, CLONE_FS): flags = CLONE_FS | CLONE_VM | CLONE_UNTRACED.
    const pointee = (await session.client.variablesRequest({ variablesReference: args.variablesReference })).body.variables;
    const fields = (await session.client.variablesRequest({ variablesReference: pointee[0].variablesReference })).body.variables;
    const field = (name: string) => fields.find((candidate) => candidate.name === name)?.value;
    assert.equal(field('flags'), `0x${(0x200 | 0x100 | 0x800000).toString(16)}`, 'u64 flags read in hex');
    assert.equal(field('exit_signal'), '0');
    assert.equal(field('fn_arg'), '0x0');
    const kernelInit = (await session.evaluate('&kernel_init', top.id)).result;
    assert.equal(field('fn'), kernelInit);
    // Globals: thousands, grouped by source file; a group is read when expanded.
    const groups = (await session.client.variablesRequest({ variablesReference: scopes[4].variablesReference })).body.variables;
    assert.ok(groups.length > 100, `${groups.length} groups`);
    const initTask = groups.find((group) => group.name.endsWith('init/init_task.c'));
    assert.ok(initTask !== undefined, groups.map((group) => group.name).slice(0, 20).join(', '));
    const initGlobals = (await session.client.variablesRequest({ variablesReference: initTask.variablesReference })).body.variables;
    assert.ok(initGlobals.some((global) => global.name === 'init_task' && global.variablesReference > 0), initGlobals.map((global) => global.name).join(', '));
        // A global by name (the index, or its unit alone when the index is not ready yet).
    assert.equal((await session.evaluate('init_task.comm', top.id)).result, '"swapper/0"');
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        indexed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no ringside/symbolIndex event within 10 minutes')), 600_000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await session.close();
  }
}

test('kernel_clone on Linux with vmlinux: the first stop\'s stack, scopes and Locals, cold then with the index cached', { timeout: 1_500_000 }, async () => {
  const cold = await firstStop();
  assert.deepEqual({ adopted: cold.adopted, source: cold.source, cachePath: cold.cachePath, problems: cold.problems },
    { adopted: true, source: 'built', cachePath: `${vmlinux}.ringside-index`, problems: [] });
  assert.ok(existsSync(`${vmlinux}.ringside-index`));

  const cached = await firstStop();
  assert.deepEqual({ adopted: cached.adopted, source: cached.source, cachePath: cached.cachePath, problems: cached.problems },
    { adopted: true, source: 'cache', cachePath: `${vmlinux}.ringside-index`, problems: [] });
});
