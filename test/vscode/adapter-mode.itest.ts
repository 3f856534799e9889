/// <reference types="mocha" />
// Where the adapter runs, inside a real VS Code's extension host (runs with the extension-host
// tests, npm run test:vscode): by default (`ringside.adapter.mode` = `worker`) the session and
// its machine run in a worker thread of the extension host, with no adapter process; a pause of
// a long-running guest stops it; with `process` a dist/debugAdapter.js process serves the session.
// Self-contained (only the vscode API and Linux's /proc), so it needs no shared helpers.

import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as vscode from 'vscode';

/** The repository root (the bundle runs from out/vscode/). */
const ROOT = resolve(__dirname, '../..');

/** Child processes of this extension host that run dist/debugAdapter.js (Linux /proc). */
function adapterProcesses(): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // /proc/PID/stat: "pid (command) state ppid ..."; the command may hold spaces, so split after ')'.
      const parent = Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (parent === process.pid && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('debugAdapter.js')) found.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

const threadCount = (): number => readdirSync('/proc/self/task').length;

/** Events every ringside adapter sent, in order; `take` waits for and removes the first match. */
const events: DebugProtocol.Event[] = [];
let wake: (() => void) | undefined;
async function take(what: string, matches: (event: DebugProtocol.Event) => boolean, timeoutMs = 30_000): Promise<DebugProtocol.Event> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const index = events.findIndex(matches);
    if (index >= 0) return events.splice(index, 1)[0];
    const left = deadline - Date.now();
    if (left <= 0) {
      const described = events.map((event) => event.event === 'output' ? `output ${JSON.stringify((event as DebugProtocol.OutputEvent).body.output)}` : event.event);
      throw new Error(`no ${what} within ${timeoutMs} ms (events: ${described.join(', ') || 'none'})`);
    }
    await new Promise<void>((done) => {
      const timer = setTimeout(done, left);
      wake = () => {
        clearTimeout(timer);
        done();
      };
    });
  }
}

async function start(guest: string, stopOnEntry: boolean, tier?: 'interpreter'): Promise<vscode.DebugSession> {
  events.length = 0;
  const started = new Promise<vscode.DebugSession>((done) => {
    const listener = vscode.debug.onDidStartDebugSession((session) => {
      if (session.type !== 'ringside') return;
      listener.dispose();
      done(session);
    });
  });
  const ok = await vscode.debug.startDebugging(undefined, {
    type: 'ringside', request: 'launch', name: `adapter mode: ${guest}`, program: join(ROOT, 'guests/bin', `${guest}.elf`), cwd: ROOT, stopOnEntry,
    ...(tier !== undefined ? { tier } : {}),
  });
  assert.equal(ok, true, 'startDebugging returned false');
  return started;
}

async function stop(session: vscode.DebugSession): Promise<void> {
  const ended = new Promise<void>((done) => {
    const listener = vscode.debug.onDidTerminateDebugSession((ending) => {
      if (ending.id !== session.id) return;
      listener.dispose();
      done();
    });
  });
  await vscode.debug.stopDebugging(session);
  await ended;
}

const stoppedWith = (reason: string) => (event: DebugProtocol.Event) => event.event === 'stopped' && (event as DebugProtocol.StoppedEvent).body.reason === reason;

describe('where the adapter runs (ringside.adapter.mode)', function () {
  this.timeout(90_000);
  let tracker: vscode.Disposable | undefined;

  before(() => {
    tracker = vscode.debug.registerDebugAdapterTrackerFactory('ringside', {
      createDebugAdapterTracker: () => ({
        onDidSendMessage: (message: DebugProtocol.ProtocolMessage) => {
          if (message.type !== 'event') return;
          events.push(message as DebugProtocol.Event);
          wake?.();
        },
      }),
    });
  });
  after(async () => {
    tracker?.dispose();
    await vscode.workspace.getConfiguration('ringside').update('adapter.mode', undefined, vscode.ConfigurationTarget.Global);
  });

  it('worker (the default): the machine runs in a thread of the extension host, and pause stops a running guest', async () => {
    assert.equal(vscode.workspace.getConfiguration('ringside').get('adapter.mode'), 'worker');
    const threadsBefore = threadCount();
    let session = await start('demo', true);
    await take('a stop on entry', stoppedWith('entry'));
    assert.ok(threadCount() > threadsBefore, `the extension host has ${threadCount()} threads, as many as before the session`);
    assert.deepEqual(adapterProcesses(), [], 'no adapter process in worker mode');
    const trace = (await session.customRequest('stackTrace', { threadId: 1 })) as DebugProtocol.StackTraceResponse['body'];
    assert.equal(trace.stackFrames[0].name, '_start');
    await stop(session);

    // On the interpreter: translated, the whole guest takes about a second, too close to the pause.
    session = await start('bench', false, 'interpreter');
    // The console goes to the Debug Console (output) or, as the extension configures it, to the terminal (ringside/serial).
    const consoleText = (event: DebugProtocol.Event): string => event.event === 'output' ? (event as DebugProtocol.OutputEvent).body.output
      : event.event === 'ringside/serial' ? String((event.body as { text?: unknown }).text ?? '') : '';
    await take('the bench guest\'s banner', (event) => /bench: /.test(consoleText(event)));
    await session.customRequest('pause', { threadId: 1 });
    await take('a stop for the pause', stoppedWith('pause'));
    await stop(session);
  });

  it('process: a dist/debugAdapter.js process serves the session', async () => {
    await vscode.workspace.getConfiguration('ringside').update('adapter.mode', 'process', vscode.ConfigurationTarget.Global);
    const session = await start('demo', true);
    await take('a stop on entry', stoppedWith('entry'));
    assert.equal(adapterProcesses().length, 1, 'one adapter process');
    await stop(session);
  });
});
