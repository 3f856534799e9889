// The adapter process as VS Code starts it. A `runtime: node` debugger contribution is forked
// by VS Code 1.100 (src/vs/workbench/contrib/debug/node/debugAdapter.ts) as
//   fork(program, [], { execArgv: ['-e', 'delete process.env.ELECTRON_RUN_AS_NODE;require(process.argv[1])'], silent: true })
// so the adapter is loaded by require from `-e` code and require.main is not its module. A
// program that requires the bundle (the CLI's --debug-port) must not get a stdio session.

import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { threadNiceValues } from '../support/threads';
import { ADAPTER, guestPath, Session } from './support';

/** What VS Code passes to fork for a `runtime: node` adapter (the same under Electron and node). */
const VSCODE_EXEC_ARGV = ['-e', 'delete process.env.ELECTRON_RUN_AS_NODE;require(process.argv[1])'];

function exitOf(child: ChildProcess, timeout: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the process did not exit within ${timeout} ms`)), timeout);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

test('forked as VS Code forks a runtime: node adapter, it speaks DAP on stdio: entry stop, disconnect, exit 0', { timeout: 30_000 }, async () => {
  // A working directory other than the repository's, as VS Code's (the editor's own) would be.
  const child = fork(ADAPTER, [], { execArgv: VSCODE_EXEC_ARGV, silent: true, cwd: mkdtempSync(join(tmpdir(), 'ringside-vscode-')) });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const client = new DebugClient('node', ADAPTER, 'ringside');
  client.defaultTimeout = 15_000;
  const exited = exitOf(child, 25_000);
  let disconnected = false;
  // An adapter that exits before the session is over fails the test at once, saying so.
  const early = exited.then((code) => {
    if (!disconnected) throw new Error(`the adapter exited with code ${code} before the session ended; stderr: ${stderr}`);
  });
  early.catch(() => undefined);
  const answered = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, early.then(() => promise)]);
  try {
    // The DebugClient's own spawn cannot pass execArgv: it talks over the forked child's pipes instead.
    (client as unknown as { connect(readable: NodeJS.ReadableStream, writable: NodeJS.WritableStream): void }).connect(child.stdout!, child.stdin!);
    const session = new Session(client, 'external');
    const initialized = await answered(client.initializeRequest({ adapterID: 'ringside', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' }));
    assert.equal(initialized.body?.supportsConfigurationDoneRequest, true);
    await answered(client.launchRequest({ program: guestPath('demo'), stopOnEntry: true } as DebugProtocol.LaunchRequestArguments));
    await answered(session.next('initialized'));
    await answered(client.configurationDoneRequest());
    const stop = await answered(session.stopped());
    assert.equal(stop.reason, 'entry');
    assert.equal((await answered(session.topFrame())).name, '_start');
    // As its own process the adapter gives V8's helper threads nice 10, and keeps its main thread's.
    const nice = threadNiceValues(child.pid!);
    assert.equal(nice.get(child.pid!), 0);
    const helpers = [...nice].filter(([threadId]) => threadId !== child.pid);
    assert.ok(helpers.length >= 2 && helpers.every(([, value]) => value === 10), `helper threads' nice values: ${JSON.stringify(helpers)}`);
    disconnected = true;
    await client.disconnectRequest({ terminateDebuggee: true });
    assert.equal(await exited, 0, `adapter stderr: ${stderr}`);
  } finally {
    if (child.exitCode === null) child.kill();
  }
});

test('a program that requires the bundle gets startDebugServer and no stdio session', { timeout: 20_000 }, async () => {
  const folder = mkdtempSync(join(tmpdir(), 'ringside-require-'));
  const program = join(folder, 'uses-adapter.js');
  writeFileSync(program, `const adapter = require(${JSON.stringify(ADAPTER)});\nprocess.stdout.write(typeof adapter.startDebugServer);\n`);
  // stdin stays open: a stdio session listening on it would keep the process alive.
  const child = spawn(process.execPath, [program], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  try {
    assert.equal(await exitOf(child, 10_000), 0);
    assert.equal(stdout, 'function', 'nothing but the program\'s own output on stdout (no DAP messages)');
  } finally {
    if (child.exitCode === null) child.kill();
  }
});
