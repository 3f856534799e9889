// Shared helpers for the DAP tests: a DebugClient on the real adapter (in-process over TCP on
// 127.0.0.1, or dist/debugAdapter.js over stdio), an event recorder that never misses an
// event sent before the test waits for it, guest symbols from the ELF and source lines found
// by their text (so a rebuilt guest keeps the tests meaningful), and golden transcripts.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { parseElf, type ElfImage } from '../../vmm-core/machine/elf';
import { serveSessions } from '../../debug-adapter/main';

export const ROOT = resolve(__dirname, '../..');
export const ADAPTER = join(ROOT, 'dist/debugAdapter.js');

const RECORDED_EVENTS = ['initialized', 'stopped', 'continued', 'exited', 'terminated', 'output', 'breakpoint', 'memory', 'ringside/serial', 'ringside/machineReset', 'ringside/stateChanged'];

export type Transport = 'tcp' | 'stdio';

/** Ends a client's connection without a disconnect round trip (DebugClient.stop waits for one). */
export function stopAdapter(client: DebugClient): void {
  (client as unknown as { stopAdapter(): void }).stopAdapter();
}

let server: { port: number; close(): void } | undefined;
let sessionsOpen = 0;

export class Session {
  private readonly queues = new Map<string, DebugProtocol.Event[]>();
  private readonly waiters = new Map<string, Array<(event: DebugProtocol.Event) => void>>();
  /** Every event in arrival order (for transcripts). */
  readonly all: DebugProtocol.Event[] = [];
  private stdout = '';

  /** `external`: a connection the test made itself (to a port of its own). */
  constructor(readonly client: DebugClient, private readonly transport: Transport | 'external') {
    for (const name of RECORDED_EVENTS) {
      client.on(name, (event: DebugProtocol.Event) => {
        this.all.push(event);
        if (name === 'output' && (event as DebugProtocol.OutputEvent).body.category === 'stdout') {
          this.stdout += (event as DebugProtocol.OutputEvent).body.output;
        }
        const waiting = this.waiters.get(name);
        if (waiting !== undefined && waiting.length > 0) {
          waiting.shift()!(event);
          return;
        }
        const queue = this.queues.get(name) ?? [];
        queue.push(event);
        this.queues.set(name, queue);
      });
    }
  }

  /** The next event of `name` not yet consumed (also one that arrived before the call). */
  next<T extends DebugProtocol.Event = DebugProtocol.Event>(name: string, timeout = 15_000): Promise<T> {
    const queued = this.queues.get(name);
    if (queued !== undefined && queued.length > 0) return Promise.resolve(queued.shift() as T);
    return new Promise<T>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        const list = this.waiters.get(name) ?? [];
        this.waiters.set(name, list.filter((waiter) => waiter !== deliver));
        reject(new Error(`no '${name}' event within ${timeout} ms`));
      }, timeout);
      const deliver = (event: DebugProtocol.Event) => {
        clearTimeout(timer);
        resolvePromise(event as T);
      };
      const list = this.waiters.get(name) ?? [];
      list.push(deliver);
      this.waiters.set(name, list);
    });
  }

  /** Drops queued events of `name`. */
  discard(name: string): void {
    this.queues.delete(name);
  }

  /** Guest console output so far. */
  output(): string {
    return this.stdout;
  }

  async stopped(): Promise<DebugProtocol.StoppedEvent['body']> {
    return (await this.next<DebugProtocol.StoppedEvent>('stopped')).body;
  }

  /** initialize, launch, then `configure` (breakpoints) before configurationDone. */
  async launch(args: Record<string, unknown>, configure?: () => Promise<void>): Promise<void> {
    await this.client.initializeRequest({ adapterID: 'ringside', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path', supportsMemoryReferences: true });
    // The expectations follow QEMU's -icount shift=0 timeline (where the demo's timer interrupts land).
    await this.client.launchRequest({ cwd: ROOT, icountShift: 0, ...args } as DebugProtocol.LaunchRequestArguments);
    await this.next('initialized');
    if (configure !== undefined) await configure();
    await this.client.configurationDoneRequest();
  }

  async topFrame(threadId = 1): Promise<DebugProtocol.StackFrame> {
    const trace = await this.client.stackTraceRequest({ threadId });
    return trace.body.stackFrames[0];
  }

  async scope(frameId: number, name: string): Promise<DebugProtocol.Variable[]> {
    const scopes = await this.client.scopesRequest({ frameId });
    const scope = scopes.body.scopes.find((candidate) => candidate.name === name);
    assert.ok(scope !== undefined, `no scope '${name}' in ${scopes.body.scopes.map((candidate) => candidate.name).join(', ')}`);
    return (await this.client.variablesRequest({ variablesReference: scope.variablesReference })).body.variables;
  }

  async evaluate(expression: string, frameId?: number): Promise<DebugProtocol.EvaluateResponse['body']> {
    return (await this.client.evaluateRequest({ expression, frameId, context: 'watch' })).body;
  }

  /** The response as it came, also a failed one (the DebugClient turns those into an Error with the message only). */
  raw(command: string, args: unknown): Promise<DebugProtocol.Response> {
    const client = this.client as unknown as { doSend(command: string, args: unknown, callback: (response: DebugProtocol.Response) => void): void };
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response to '${command}' within 15000 ms`)), 15_000);
      client.doSend(command, args, (response) => {
        clearTimeout(timer);
        resolvePromise(response);
      });
    });
  }

  /** A request the DebugClient has no method for. */
  request<T extends DebugProtocol.Response>(command: string, args: unknown): Promise<T> {
    return this.client.customRequest(command, args) as Promise<T>;
  }

  async close(): Promise<void> {
    // A disconnect on a connection the adapter already closed gets no answer: do not wait long.
    await Promise.race([
      this.client.disconnectRequest({ terminateDebuggee: true }).catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 1000)),
    ]);
    stopAdapter(this.client);
    if (this.transport === 'tcp' && --sessionsOpen === 0 && server !== undefined) {
      server.close();
      server = undefined;
    }
  }
}

/** A session on the adapter: in-process over TCP (the TypeScript source) or dist/debugAdapter.js over stdio. */
export async function openSession(transport: Transport = 'tcp'): Promise<Session> {
  if (transport === 'stdio') {
    assert.ok(existsSync(ADAPTER), 'dist/debugAdapter.js is missing: run node scripts/build.mjs');
    const client = new DebugClient('node', ADAPTER, 'ringside', { cwd: ROOT });
    client.defaultTimeout = 15_000;
    await client.start();
    return new Session(client, transport);
  }
  server ??= await serveSessions(0);
  sessionsOpen++;
  const client = new DebugClient('node', ADAPTER, 'ringside');
  client.defaultTimeout = 15_000;
  await client.start(server.port);
  return new Session(client, transport);
}

// ---- guests ----------------------------------------------------------------------------------

const elves = new Map<string, ElfImage>();

export function guestPath(name: string): string {
  return join(ROOT, 'guests/bin', `${name}.elf`);
}

export function symbolAddress(guest: string, name: string): bigint {
  let elf = elves.get(guest);
  if (elf === undefined) {
    elf = parseElf(new Uint8Array(readFileSync(guestPath(guest))), guest);
    elves.set(guest, elf);
  }
  const symbol = elf.findSymbol(name);
  assert.ok(symbol !== undefined, `no symbol ${name} in ${guest}`);
  return BigInt.asUintN(64, BigInt(symbol.value));
}

export const hex = (value: bigint): string => `0x${value.toString(16)}`;

/** 1-based line of the first line of `file` (repository-relative) containing `text`. */
export function lineOf(file: string, text: string, after = 0): number {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const index = lines.findIndex((line, i) => i >= after && line.includes(text));
  assert.ok(index >= 0, `no line containing '${text}' in ${file}`);
  return index + 1;
}

export function sourcePath(file: string): string {
  return join(ROOT, file);
}

// ---- golden transcripts ------------------------------------------------------------------------

/** Ids that change from run to run (references, frame ids) become stable placeholders. */
export function stabilize(value: unknown): unknown {
  const seen = new Map<string, string>();
  const volatile = new Set(['id', 'frameId', 'variablesReference', 'seq', 'request_seq']);
  const walk = (item: unknown, key?: string): unknown => {
    if (Array.isArray(item)) return item.map((element) => walk(element));
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(Object.entries(item).map(([name, child]) => [name, walk(child, name)]));
    }
    if (key !== undefined && volatile.has(key) && typeof item === 'number') {
      if (key === 'variablesReference' && item === 0) return 0;
      const token = `${key}:${item}`;
      if (!seen.has(token)) seen.set(token, `<${key} ${[...seen.keys()].filter((entry) => entry.startsWith(`${key}:`)).length + 1}>`);
      return seen.get(token);
    }
    if (key === 'path' && typeof item === 'string' && item.startsWith(ROOT)) return `<root>${item.slice(ROOT.length)}`;
    return item;
  };
  return walk(value);
}

/** Compares `value` with test/dap/golden/NAME.json; UPDATE_GOLDEN=1 rewrites the file. */
export function assertGolden(name: string, value: unknown): void {
  const file = join(ROOT, 'test/dap/golden', `${name}.json`);
  const text = `${JSON.stringify(stabilize(value), null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    if (process.env.UPDATE_GOLDEN !== '1') assert.fail(`golden file ${name}.json did not exist and was written; check it and run again`);
    return;
  }
  assert.equal(text, readFileSync(file, 'utf8'), `golden transcript ${name} differs (UPDATE_GOLDEN=1 to accept)`);
}

/** A scratch folder for the file's tests, made before them and removed after; the function names it. */
export function useScratch(prefix: string): () => string {
  let scratch = '';
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });
  return () => scratch;
}

/** A fresh disk image for our vkernel guest (guests/vkernel/make-disk.mjs) at `path`. */
export function vkernelDisk(path: string): string {
  const made = spawnSync(process.execPath, ['guests/vkernel/make-disk.mjs', 'create', path], { encoding: 'utf8', cwd: ROOT });
  assert.equal(made.status, 0, made.stderr);
  return path;
}

/** The demo kernel's source, and `struct task`'s size there (name 0, state 8, regs 16, satp 280, syscalls 288, preempted 296, exit_code 304). */
export const DEMO_KERNEL_C = 'guests/demo/kernel.c';
export const DEMO_TASK_SIZE = 312n;

/** Launches the demo and stops in its system-call handler (`f->sepc += 4;`), then clears that breakpoint. */
export async function stopInDemoSyscall(session: Session): Promise<DebugProtocol.StackFrame> {
  const line = lineOf(DEMO_KERNEL_C, 'f->sepc += 4;');
  await session.launch({ program: guestPath('demo') }, async () => {
    await session.client.setBreakpointsRequest({ source: { path: sourcePath(DEMO_KERNEL_C) }, breakpoints: [{ line }] });
  });
  await session.stopped();
  await session.client.setBreakpointsRequest({ source: { path: sourcePath(DEMO_KERNEL_C) }, breakpoints: [] });
  return session.topFrame();
}

/** A little-endian unsigned value of `size` bytes read through DAP `readMemory`. */
export async function readUnsigned(session: Session, address: bigint, size = 8): Promise<bigint> {
  const response = await session.request<DebugProtocol.ReadMemoryResponse>('readMemory', { memoryReference: hex(address), count: size });
  const bytes = new Uint8Array(Buffer.from(response.body!.data ?? '', 'base64'));
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}
