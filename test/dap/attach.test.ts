// attach: a machine runs under `ringside run --debug-port 0 --debug-wait` (dist/cli.js); a
// client attaches through the stdio adapter (which forwards to the machine's own server) or
// straight to the port, debugs, and detaches (the run goes on) or terminates the run.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { guestPath, lineOf, openSession, ROOT, Session, sourcePath, stopAdapter } from './support';

interface RunningCli {
  readonly process: ChildProcess;
  readonly port: number;
  stdout(): string;
  exitCode(): Promise<number | null>;
}

function startCli(): Promise<RunningCli> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/cli.js'), 'run', '--kernel', guestPath('demo'), '--debug-port', '0', '--debug-wait', '--timeout', '20'], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' },
    });
    let stdout = '';
    let stderr = '';
    // 'close' (stdio drained), not 'exit': the run's last output may still be in the pipe.
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    child.stdout!.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr!.on('data', (data: Buffer) => {
      stderr += data.toString();
      const match = /listening on 127\.0\.0\.1:([0-9]+)/.exec(stderr);
      if (match !== null) resolve({ process: child, port: Number(match[1]), stdout: () => stdout, exitCode: () => exited });
    });
    child.on('exit', (code) => reject(new Error(`ringside run exited with ${code} before listening: ${stderr}`)));
  });
}

async function attachAndBreak(session: Session, attach: Record<string, unknown>): Promise<void> {
  const line = lineOf('guests/demo/kernel.c', 'f->sepc += 4;');
  await session.client.initializeRequest({ adapterID: 'ringside', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
  await session.client.attachRequest({ cwd: ROOT, ...attach } as DebugProtocol.AttachRequestArguments);
  await session.next('initialized');
  const set = await session.client.setBreakpointsRequest({ source: { path: sourcePath('guests/demo/kernel.c') }, breakpoints: [{ line }] });
  assert.equal(set.body.breakpoints[0].verified, true);
  await session.client.configurationDoneRequest();
  const stop = await session.stopped();
  assert.equal(stop.reason, 'breakpoint');
  const trace = (await session.client.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  assert.deepEqual(trace.map((frame) => frame.name), ['syscall', 's_trap', 's_trap_entry', '[trap: ecall from U-mode]', 'syscall']);
  assert.equal(trace[0].line, line);
}

test('attach through the stdio adapter to ringside run --debug-port; detach lets the run finish', { timeout: 30_000 }, async () => {
  const cli = await startCli();
  const session = await openSession('stdio');
  try {
    await attachAndBreak(session, { port: cli.port });
    const registers = await session.scope((await session.topFrame()).id, 'Registers');
    assert.equal(registers[1].value, 'S (supervisor)');
    await session.client.disconnectRequest({ terminateDebuggee: false });
    assert.equal(await cli.exitCode(), 0);
    assert.match(cli.stdout(), /demo: all tasks finished after/);
  } finally {
    await session.close();
    cli.process.kill();
  }
});

test('attach straight to the port; terminate ends the run', { timeout: 30_000 }, async () => {
  const cli = await startCli();
  const client = new DebugClient('node', '', 'ringside');
  client.defaultTimeout = 15_000;
  await client.start(cli.port);
  const session = new Session(client, 'external');
  try {
    await attachAndBreak(session, {});
    // One machine, one debugger.
    const second = new DebugClient('node', '', 'ringside');
    await second.start(cli.port);
    await second.initializeRequest({ adapterID: 'ringside', pathFormat: 'path' });
    await assert.rejects(second.attachRequest({} as DebugProtocol.AttachRequestArguments), /a debugger is attached to this machine already/);
    stopAdapter(second);
    await client.disconnectRequest({ terminateDebuggee: true });
    assert.equal(await cli.exitCode(), 3);
  } finally {
    await session.close();
    cli.process.kill();
  }
});

test('--debug-wait needs --debug-port; a bad port is a usage error', { timeout: 20_000 }, () => {
  for (const [args, message] of [
    [['--debug-wait'], /--debug-wait needs --debug-port/],
    [['--debug-port', 'x'], /--debug-port needs a port number from 0 to 65535, got 'x'/],
  ] as const) {
    const result = spawnSync(process.execPath, [join(ROOT, 'dist/cli.js'), 'run', '--kernel', guestPath('demo'), ...args], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, message);
  }
});
