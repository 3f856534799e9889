// Launch, capabilities and bad input: the adapter over stdio (dist/debugAdapter.js) and
// in-process; one clear error for bad attributes, unreadable files, malformed requests and
// unknown filters, after which the session still works.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ADAPTER, guestPath, openSession, ROOT, Session } from './support';

async function expectError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.match(error.message, pattern);
    return true;
  });
}

test('stdio: stop on entry, run to the guest\'s exit with its output and exit code', { timeout: 30_000 }, async () => {
  const session = await openSession('stdio');
  try {
    await session.launch({ program: guestPath('demo'), stopOnEntry: true });
    const stop = await session.stopped();
    assert.equal(stop.reason, 'entry');
    assert.equal(stop.threadId, 1);
    const frame = await session.topFrame();
    assert.equal(frame.name, '_start');
    assert.equal(frame.source?.path, join(ROOT, 'guests/demo/start.S'));
    await session.client.continueRequest({ threadId: 1 });
    const exited = await session.next<DebugProtocol.ExitedEvent>('exited');
    assert.equal(exited.body.exitCode, 0);
    await session.next('terminated');
    assert.match(session.output(), /demo: kernel running in S-mode\n/);
    assert.match(session.output(), /demo: 9 context switches; powering off\n/);
  } finally {
    await session.close();
  }
});

test('capabilities and the ring and trap filters', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const response = await session.client.initializeRequest({ adapterID: 'ringside', pathFormat: 'path' });
    const capabilities = response.body!;
    for (const flag of [
      'supportsConfigurationDoneRequest', 'supportsFunctionBreakpoints', 'supportsConditionalBreakpoints', 'supportsHitConditionalBreakpoints',
      'supportsLogPoints', 'supportsInstructionBreakpoints', 'supportsDataBreakpoints', 'supportsDataBreakpointBytes', 'supportsReadMemoryRequest',
      'supportsWriteMemoryRequest', 'supportsDisassembleRequest', 'supportsSteppingGranularity', 'supportsExceptionInfoRequest',
      'supportsExceptionFilterOptions', 'supportsSetVariable', 'supportsSingleThreadExecutionRequests',
    ] as const) {
      assert.equal(capabilities[flag], true, flag);
    }
    const filters = capabilities.exceptionBreakpointFilters!;
    const ids = new Set(filters.map((filter) => filter.filter));
    for (const from of ['U', 'S', 'M']) {
      for (const to of ['U', 'S', 'M']) if (from !== to) assert.ok(ids.has(`privilege:${from}->${to}`), `privilege:${from}->${to}`);
      assert.ok(ids.has(`privilege:*->${from}`) && ids.has(`privilege:${from}->*`));
    }
    for (const code of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15]) assert.ok(ids.has(`exception:${code}`), `exception:${code}`);
    for (const code of [1, 3, 5, 7, 9, 11]) assert.ok(ids.has(`interrupt:${code}`), `interrupt:${code}`);
    const label = (id: string) => filters.find((filter) => filter.filter === id)?.label;
    assert.equal(label('exception:15'), 'Trap: page fault on store (15)');
    assert.equal(label('privilege:U->S'), 'Ring: U → S');
    assert.equal(label('privilege:*->M'), 'Ring: any → M');
    assert.equal(label('interrupt:5'), 'Trap: supervisor timer interrupt (5)');
    assert.ok(filters.every((filter) => filter.supportsCondition === true));
  } finally {
    await session.close();
  }
});

test('bad launch attributes get one clear error and the session stays usable', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    await session.client.initializeRequest({ adapterID: 'ringside', pathFormat: 'path' });
    await expectError(session.client.launchRequest({ cwd: ROOT, harts: 9, memory: 'lots', progam: 'x' } as DebugProtocol.LaunchRequestArguments),
      /^invalid launch configuration: 'program' is required; 'harts' must be at most 8, got 9; 'memory' has the wrong form: "lots" \(RAM size, e.g. 128M or 1G \(at most 2G\)\); 'progam' is not a known attribute$/);
    await expectError(session.client.launchRequest({ cwd: ROOT, program: 'guests/bin/nothing.elf' } as DebugProtocol.LaunchRequestArguments),
      /cannot read program 'guests\/bin\/nothing.elf': no such file or directory/);
    await expectError(session.client.launchRequest({ cwd: ROOT, program: 'guests/README.md' } as DebugProtocol.LaunchRequestArguments),
      /cannot boot 'guests\/README.md': .*not an ELF/);
    await expectError(session.client.launchRequest({ cwd: ROOT, program: guestPath('demo'), symbolFiles: [{ path: 'x.elf', privilege: 'H' }] } as DebugProtocol.LaunchRequestArguments),
      /'symbolFiles\[0\].privilege' must be one of "M", "S", "U", got "H"/);
    // Damaged DWARF: the symbols of a symbol file cannot be read.
    const directory = mkdtempSync(join(tmpdir(), 'ringside-dap-'));
    const broken = join(directory, 'broken.elf');
    const bytes = readFileSync(guestPath('demo'));
    bytes.fill(0xff, 64, 96);
    writeFileSync(broken, bytes);
    await expectError(session.client.launchRequest({ cwd: ROOT, program: guestPath('demo'), symbolFiles: [broken] } as DebugProtocol.LaunchRequestArguments),
      /cannot read the symbols of symbol file '.*broken.elf'/);
    // Requests before a machine exists.
    await expectError(session.client.stackTraceRequest({ threadId: 1 }), /no machine: launch or attach first/);
    // Now a good launch in the same session.
    await session.client.launchRequest({ cwd: ROOT, program: guestPath('demo'), stopOnEntry: true } as DebugProtocol.LaunchRequestArguments);
    await session.next('initialized');
    await session.client.configurationDoneRequest();
    assert.equal((await session.stopped()).reason, 'entry');
  } finally {
    await session.close();
  }
});

test('malformed requests, unknown filters and unknown commands get error responses', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo'), stopOnEntry: true });
    await session.stopped();
    await expectError(session.client.setExceptionBreakpointsRequest({ filters: ['privilege:U->X', 'exception:10'] }),
      /unknown exception filters 'privilege:U->X', 'exception:10'/);
    await expectError(session.client.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'trap:99' }] }), /unknown exception filter 'trap:99'/);
    await expectError(session.client.stackTraceRequest({ threadId: 7 }), /no thread 7/);
    await expectError(session.client.stackTraceRequest({} as DebugProtocol.StackTraceArguments), /threadId must be an integer/);
    await expectError(session.client.variablesRequest({ variablesReference: 4242 }), /no variables reference 4242/);
    await expectError(session.client.evaluateRequest({ expression: '1 +' }), /expected|unexpected|end/i);
    await expectError(session.request('readMemory', { memoryReference: 'nowhere', count: 4 }), /'nowhere' is not a memory reference/);
    await expectError(session.request('disassemble', { memoryReference: '0x80000000', instructionCount: -1 }), /instructionCount must be an integer/);
    await expectError(session.client.setBreakpointsRequest({ source: {} } as DebugProtocol.SetBreakpointsArguments), /needs source.path/);
    await expectError(session.request('ringside/nothing', {}), /unknown request 'ringside\/nothing'/);
    await expectError(session.request('ringside/vm', { action: 'explode' }), /action must be 'pause', 'reset', 'powerOff', 'networkLink' or 'syncDisks'/);
    await expectError(session.client.nextRequest({ threadId: 1, granularity: 'paragraph' as DebugProtocol.SteppingGranularity }), /granularity must be/);
    // Still usable: a step and a stack trace work.
    await session.client.stepInRequest({ threadId: 1, granularity: 'instruction' });
    assert.equal((await session.stopped()).reason, 'step');
    assert.equal((await session.topFrame()).instructionPointerReference, '0x80000004');
  } finally {
    await session.close();
  }
});

test('serial: file output and terminal events', { timeout: 20_000 }, async () => {
  const directory = mkdtempSync(join(tmpdir(), 'ringside-dap-'));
  const serialFile = join(directory, 'serial.txt');
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo'), serial: `file:${serialFile}` });
    await session.next('exited');
    assert.equal(session.output(), '');
    assert.match(readFileSync(serialFile, 'utf8'), /task B: done\n/);
  } finally {
    await session.close();
  }
  const terminal = await openSession();
  try {
    await terminal.launch({ program: guestPath('demo'), serial: 'terminal' });
    await terminal.next('exited');
    const serial = terminal.all.filter((event) => event.event === 'ringside/serial').map((event) => (event.body as { text: string }).text).join('');
    assert.match(serial, /demo: all tasks finished/);
    assert.equal(terminal.output(), '');
  } finally {
    await terminal.close();
  }
});

test('--server=PORT serves several sessions at once, one machine each', { timeout: 30_000 }, async () => {
  const server = spawn(process.execPath, [ADAPTER, '--server=0'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    const port = await new Promise<number>((resolvePort, reject) => {
      let stderr = '';
      server.stderr!.on('data', (data: Buffer) => {
        stderr += data.toString();
        const match = /listening on 127\.0\.0\.1:([0-9]+)/.exec(stderr);
        if (match !== null) resolvePort(Number(match[1]));
      });
      server.on('exit', (code) => reject(new Error(`adapter exited with ${code}: ${stderr}`)));
    });
    const sessions = await Promise.all([0, 1].map(async () => {
      const client = new DebugClient('node', '', 'ringside');
      client.defaultTimeout = 15_000;
      await client.start(port);
      return new Session(client, 'external');
    }));
    await Promise.all(sessions.map((session, index) => session.launch({ program: guestPath(index === 0 ? 'demo' : 'rv64i'), stopOnEntry: true })));
    for (const session of sessions) assert.equal((await session.stopped()).reason, 'entry');
    await sessions[1].client.continueRequest({ threadId: 1 });
    assert.equal((await sessions[1].next<DebugProtocol.ExitedEvent>('exited')).body.exitCode, 0);
    // The first machine did not move.
    assert.equal((await sessions[0].topFrame()).name, '_start');
    for (const session of sessions) await session.close();
  } finally {
    server.kill();
  }
});
