// The adapter in a worker thread (WorkerDebugAdapter + dist/adapterWorker.js), driven the way
// VS Code drives a DebugAdapterInlineImplementation: handleMessage in, onDidSendMessage out.
// Launch, stop on entry, breakpoints, continue, pause in the middle of a long guest, malformed
// messages answered with errors, and disconnect ending the worker thread.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { WorkerDebugAdapter } from '../../debug-adapter/worker/worker-debug-adapter';
import { guestPath, lineOf, ROOT, sourcePath } from './support';

const WORKER_BUNDLE = join(ROOT, 'dist/adapterWorker.js');

/** A minimal DAP client over a WorkerDebugAdapter: requests by seq, events queued by name. */
class InlineClient {
  readonly adapter: WorkerDebugAdapter;
  private seq = 1;
  private readonly answers = new Map<number, (response: DebugProtocol.Response) => void>();
  private readonly events = new Map<string, DebugProtocol.Event[]>();
  private readonly waiters = new Map<string, Array<(event: DebugProtocol.Event) => void>>();
  /** Every response, also those to messages sent raw. */
  readonly responses: DebugProtocol.Response[] = [];
  stdout = '';

  constructor() {
    assert.ok(existsSync(WORKER_BUNDLE), 'dist/adapterWorker.js is missing: run node scripts/build.mjs');
    this.adapter = new WorkerDebugAdapter({ workerScript: WORKER_BUNDLE });
    this.adapter.onDidSendMessage((message) => {
      if (message.type === 'response') {
        const response = message as DebugProtocol.Response;
        this.responses.push(response);
        this.answers.get(response.request_seq)?.(response);
        this.answers.delete(response.request_seq);
        return;
      }
      if (message.type !== 'event') return;
      const event = message as DebugProtocol.Event;
      if (event.event === 'output' && (event as DebugProtocol.OutputEvent).body.category === 'stdout') {
        this.stdout += (event as DebugProtocol.OutputEvent).body.output;
      }
      const waiting = this.waiters.get(event.event);
      if (waiting !== undefined && waiting.length > 0) {
        waiting.shift()!(event);
        return;
      }
      this.events.set(event.event, [...(this.events.get(event.event) ?? []), event]);
    });
  }

  /** Sends a request; resolves with its response, failed or not. */
  send(command: string, args?: unknown): Promise<DebugProtocol.Response> {
    const seq = this.seq++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response to '${command}' within 20 s`)), 20_000);
      this.answers.set(seq, (response) => {
        clearTimeout(timer);
        resolve(response);
      });
      this.adapter.handleMessage({ seq, type: 'request', command, arguments: args });
    });
  }

  /** Sends a request that must succeed. */
  async request<T extends DebugProtocol.Response>(command: string, args?: unknown): Promise<T> {
    const response = await this.send(command, args);
    assert.equal(response.success, true, `'${command}' failed: ${response.message}`);
    return response as T;
  }

  next<T extends DebugProtocol.Event>(name: string, timeout = 20_000): Promise<T> {
    const queued = this.events.get(name);
    if (queued !== undefined && queued.length > 0) return Promise.resolve(queued.shift() as T);
    return new Promise((resolve, reject) => {
      const deliver = (event: DebugProtocol.Event) => {
        clearTimeout(timer);
        resolve(event as T);
      };
      const timer = setTimeout(() => {
        this.waiters.set(name, (this.waiters.get(name) ?? []).filter((waiter) => waiter !== deliver));
        reject(new Error(`no '${name}' event within ${timeout} ms`));
      }, timeout);
      this.waiters.set(name, [...(this.waiters.get(name) ?? []), deliver]);
    });
  }

  has(name: string): boolean {
    return (this.events.get(name)?.length ?? 0) > 0;
  }

  async launch(args: Record<string, unknown>, configure?: () => Promise<void>): Promise<void> {
    await this.request('initialize', { adapterID: 'ringside', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    await this.request('launch', { cwd: ROOT, ...args });
    await this.next('initialized');
    if (configure !== undefined) await configure();
    await this.request('configurationDone');
  }

  async close(): Promise<number> {
    await this.send('disconnect', { terminateDebuggee: true });
    return this.adapter.exited;
  }
}

test('worker: stop on entry, a breakpoint in C, continue to the guest\'s exit; disconnect ends the thread', { timeout: 40_000 }, async () => {
  const client = new InlineClient();
  try {
    const kmainLine = lineOf('guests/demo/kernel.c', 'void kmain(void)');
    let bound: DebugProtocol.Breakpoint[] = [];
    await client.launch({ program: guestPath('demo'), stopOnEntry: true }, async () => {
      const response = await client.request<DebugProtocol.SetBreakpointsResponse>('setBreakpoints', {
        source: { path: sourcePath('guests/demo/kernel.c') }, breakpoints: [{ line: kmainLine }],
      });
      bound = response.body.breakpoints;
    });
    assert.equal(bound.length, 1);
    assert.equal(bound[0].verified, true);
    const entry = (await client.next<DebugProtocol.StoppedEvent>('stopped')).body;
    assert.equal(entry.reason, 'entry');
    assert.equal(entry.threadId, 1);
    const trace = await client.request<DebugProtocol.StackTraceResponse>('stackTrace', { threadId: 1 });
    assert.equal(trace.body.stackFrames[0].name, '_start');

    await client.request('continue', { threadId: 1 });
    const atBreakpoint = (await client.next<DebugProtocol.StoppedEvent>('stopped')).body;
    assert.equal(atBreakpoint.reason, 'breakpoint');
    assert.deepEqual(atBreakpoint.hitBreakpointIds, [bound[0].id]);
    const top = (await client.request<DebugProtocol.StackTraceResponse>('stackTrace', { threadId: 1 })).body.stackFrames[0];
    assert.equal(top.name, 'kmain');
    assert.equal(top.source?.path, sourcePath('guests/demo/kernel.c'));

    await client.request('setBreakpoints', { source: { path: sourcePath('guests/demo/kernel.c') }, breakpoints: [] });
    await client.request('continue', { threadId: 1 });
    const exited = await client.next<DebugProtocol.ExitedEvent>('exited');
    assert.equal(exited.body.exitCode, 0);
    await client.next('terminated');
    assert.match(client.stdout, /context switches; powering off\n/);
  } finally {
    const code = await client.close();
    assert.equal(code, 0, 'the worker thread ends by itself after disconnect');
  }
});

test('worker: pause in the middle of a long guest stops it, and it runs on after', { timeout: 60_000 }, async () => {
  const client = new InlineClient();
  const retired = async (): Promise<number> => {
    const response = await client.request<DebugProtocol.EvaluateResponse>('evaluate', { expression: '$minstret', context: 'watch' });
    return Number(BigInt(response.body.result));
  };
  try {
    // On the interpreter: translated, the whole guest takes about a second, too close to the pause.
    await client.launch({ program: guestPath('bench'), tier: 'interpreter' });
    // The guest (about 290 million instructions) is running once it has printed its banner.
    await client.next('output');
    while (!client.stdout.includes('bench: ')) await client.next('output');
    await client.request('pause', { threadId: 1 });
    const paused = (await client.next<DebugProtocol.StoppedEvent>('stopped')).body;
    assert.equal(paused.reason, 'pause');
    assert.equal(paused.threadId, 1);
    assert.equal(client.has('exited'), false);
    // Stopped mid-run: the machine has retired some, not all, of the guest's instructions.
    const first = await retired();
    assert.ok(first > 1000 && first < 280_000_000, `minstret ${first} at the pause`);
    const trace = await client.request<DebugProtocol.StackTraceResponse>('stackTrace', { threadId: 1 });
    assert.ok(trace.body.stackFrames.length > 0);
    // A pause of a stopped machine changes nothing; continue runs on, and a second pause stops it further on.
    await client.request('pause', { threadId: 1 });
    await client.request('continue', { threadId: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await client.request('pause', { threadId: 1 });
    assert.equal((await client.next<DebugProtocol.StoppedEvent>('stopped')).body.reason, 'pause');
    assert.equal(client.has('stopped'), false, 'one stop for two pauses: the first found the machine stopped');
    const second = await retired();
    assert.ok(second > first, `minstret ${second} after running on from ${first}`);
    assert.equal(client.has('exited'), false);
  } finally {
    await client.close();
  }
});

test('worker: malformed messages get error responses and the session goes on', { timeout: 30_000 }, async () => {
  const client = new InlineClient();
  try {
    const before = client.responses.length;
    client.adapter.handleMessage(null);
    client.adapter.handleMessage('initialize');
    client.adapter.handleMessage({ seq: 900, type: 'request' });
    client.adapter.handleMessage({ seq: 901, type: 'request', command: 'launch', arguments: 7 });
    client.adapter.handleMessage({ seq: 902, type: 'request', command: 'evaluate', arguments: { expression: () => 1 } });
    client.adapter.handleMessage({ type: 'request', command: 'threads' });
    const early = client.responses.slice(before);
    assert.equal(early.length, 6, 'each malformed message is answered at once');
    for (const response of early) {
      assert.equal(response.success, false);
      assert.match(response.message ?? '', /^malformed DAP message: /);
    }
    assert.deepEqual(early.map((response) => response.request_seq), [0, 0, 900, 901, 902, 0]);
    assert.match(early[3].message ?? '', /'launch' arguments must be an object/);

    // Well-formed but wrong: answered by the session in the worker.
    const unknown = await client.send('noSuchRequest', {});
    assert.equal(unknown.success, false);
    const noMachine = await client.send('stackTrace', { threadId: 1 });
    assert.equal(noMachine.success, false);
    assert.match(noMachine.message ?? '', /no machine: launch or attach first/);
    const badLaunch = await client.send('launch', { program: join(ROOT, 'no/such/kernel.elf') });
    assert.equal(badLaunch.success, false);
    assert.match(badLaunch.message ?? '', /no such file/);

    // The worker is still serving: a real session starts.
    await client.launch({ program: guestPath('demo'), stopOnEntry: true });
    assert.equal((await client.next<DebugProtocol.StoppedEvent>('stopped')).body.reason, 'entry');
    const threads = await client.request<DebugProtocol.ThreadsResponse>('threads');
    assert.deepEqual(threads.body.threads.map((thread) => thread.name), ['hart 0']);
  } finally {
    await client.close();
  }
});

test('worker: dispose disconnects a running machine and ends the thread; later requests are answered here', { timeout: 30_000 }, async () => {
  const client = new InlineClient();
  await client.launch({ program: guestPath('bench') });
  client.adapter.dispose();
  const code = await client.adapter.exited;
  // 0: the worker served the disconnect and ended itself (a forced terminate would give 1).
  assert.equal(code, 0);
  const late: DebugProtocol.Response[] = [];
  client.adapter.onDidSendMessage((message) => late.push(message as DebugProtocol.Response));
  client.adapter.handleMessage({ seq: 77, type: 'request', command: 'stackTrace', arguments: { threadId: 1 } });
  assert.equal(late.length, 1);
  assert.equal(late[0].success, false);
  assert.equal(late[0].request_seq, 77);
  assert.match(late[0].message ?? '', /the debug session has ended/);
  // What the workbench still asks of a session it is closing is answered quietly.
  client.adapter.handleMessage({ seq: 78, type: 'request', command: 'disconnect', arguments: {} });
  assert.deepEqual([late[1].request_seq, late[1].command, late[1].success], [78, 'disconnect', true]);
  client.adapter.handleMessage({ seq: 79, type: 'request', command: 'threads' });
  assert.deepEqual([late[2].request_seq, late[2].success, (late[2] as DebugProtocol.ThreadsResponse).body.threads], [79, true, []]);
});

test('worker: a missing worker bundle is one clear error', () => {
  assert.throws(() => new WorkerDebugAdapter({ workerScript: join(ROOT, 'dist/no-such-worker.js') }),
    /the Ringside debug adapter worker .*no-such-worker\.js is missing; build it with 'npm run build'/);
});

test('worker: a worker that dies answers its open requests and ends the session with the reason', { timeout: 20_000 }, async () => {
  // A worker bundle that takes one message and then fails, as a crash in the adapter would.
  const folder = mkdtempSync(join(tmpdir(), 'ringside-worker-'));
  const script = join(folder, 'adapterWorker.js');
  writeFileSync(script, "require('node:worker_threads').parentPort.once('message', () => { throw new Error('guest exploded'); });\n");
  const adapter = new WorkerDebugAdapter({ workerScript: script });
  const messages: DebugProtocol.ProtocolMessage[] = [];
  adapter.onDidSendMessage((message) => messages.push(message));
  adapter.handleMessage({ seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'ringside' } });
  const code = await adapter.exited;
  rmSync(folder, { recursive: true, force: true });
  assert.equal(code, 1);
  const response = messages.find((message) => message.type === 'response') as DebugProtocol.Response | undefined;
  assert.ok(response !== undefined, 'the open request is answered');
  assert.equal(response.request_seq, 1);
  assert.equal(response.success, false);
  assert.match(response.message ?? '', /the debug adapter worker failed: guest exploded/);
  const events = messages.filter((message) => message.type === 'event') as DebugProtocol.Event[];
  assert.deepEqual(events.map((event) => event.event), ['output', 'terminated']);
  assert.match((events[0] as DebugProtocol.OutputEvent).body.output, /Ringside: the debug adapter worker failed: guest exploded/);
  // Later requests are answered at once, on this thread.
  adapter.handleMessage({ seq: 2, type: 'request', command: 'evaluate', arguments: { expression: '$pc' } });
  assert.equal((messages.at(-1) as DebugProtocol.Response).request_seq, 2);
  assert.match((messages.at(-1) as DebugProtocol.Response).message ?? '', /the debug session has ended/);
});
