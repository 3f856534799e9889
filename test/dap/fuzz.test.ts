// Malformed DAP traffic never takes the adapter down: every request with arguments of the
// wrong shape gets a response (an error or a result), garbage on the wire does not kill the
// process, and the session stays usable afterwards.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { ADAPTER, guestPath, openSession, ROOT } from './support';

/** A small deterministic generator, so a failure reproduces. */
function* junkValues(seed: number): Generator<unknown> {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  const atoms: unknown[] = [null, true, -1, 0, 1, 2 ** 53, -(2 ** 63), 1.5, NaN, '', 'x', '0x80000000', 'phys:0x0', '*', [], {}, [1, 'a'], { a: { b: null } }];
  for (;;) {
    const pick = next() % (atoms.length + 2);
    if (pick < atoms.length) yield atoms[pick];
    else yield 'z'.repeat(next() % 300);
  }
}

const COMMANDS = [
  'setBreakpoints', 'setFunctionBreakpoints', 'setInstructionBreakpoints', 'setExceptionBreakpoints', 'dataBreakpointInfo',
  'setDataBreakpoints', 'continue', 'next', 'stepIn', 'stepOut', 'pause', 'stackTrace', 'scopes', 'variables', 'setVariable',
  'setExpression', 'evaluate', 'readMemory', 'writeMemory', 'disassemble', 'exceptionInfo', 'threads', 'source',
  'ringside/translateAddress', 'ringside/deviceState', 'ringside/vm', 'ringside/exitStatistics', 'ringside/serialInput',
  'ringside/setAddressSpace', 'ringside/machineState', 'ringside/pageTables', 'ringside/addressSpaceMap', 'ringside/trapHistory', 'loadedSources', 'completions', 'goto', 'restart',
];
const FIELDS = [
  'threadId', 'frameId', 'variablesReference', 'expression', 'memoryReference', 'offset', 'count', 'data', 'source',
  'breakpoints', 'filters', 'filterOptions', 'name', 'value', 'instructionCount', 'instructionOffset', 'granularity',
  'address', 'action', 'text', 'addressSpace', 'lines', 'singleThread', 'context', 'format', 'resolveSymbols',
  'satp', 'from', 'maxRanges', 'since', 'limit',
];

test('requests with arguments of every wrong shape get responses and leave the session usable', { timeout: 60_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo'), stopOnEntry: true });
    await session.stopped();
    const values = junkValues(2026);
    let responses = 0;
    for (let round = 0; round < 6; round++) {
      for (const command of COMMANDS) {
        if (command === 'restart' || command === 'continue') continue; // they would run the guest away from the stop
        const args: Record<string, unknown> = {};
        for (const field of FIELDS) if ((values.next().value as unknown) !== null || round % 2 === 0) args[field] = values.next().value;
        const answered = session.request(command, args).then(() => 'response', (error: Error) => {
          assert.ok(error instanceof Error && error.message.length > 0, `${command}: an error response carries a message`);
          return 'error';
        });
        const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('none'), 5_000).unref());
        const outcome = await Promise.race([answered, timeout]);
        assert.notEqual(outcome, 'none', `no response to ${command} ${JSON.stringify(args).slice(0, 300)}`);
        responses++;
      }
    }
    assert.ok(responses > 150);
    // Still usable: threads, a stack trace and a step.
    const threads = await session.client.threadsRequest();
    assert.equal(threads.body.threads.length, 1);
    await session.client.stepInRequest({ threadId: 1, granularity: 'instruction' });
    assert.equal((await session.stopped()).reason, 'step');
  } finally {
    await session.close();
  }
});

test('garbage on the wire does not kill the adapter process', { timeout: 20_000 }, async () => {
  const adapter = spawn(process.execPath, [ADAPTER], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  adapter.stdout!.on('data', (data: Buffer) => (stdout += data.toString()));
  const send = (text: string) => adapter.stdin!.write(text);
  const message = (body: unknown) => {
    const json = JSON.stringify(body);
    return `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
  };
  try {
    send('Content-Length: 12\r\n\r\n{not json!!}');
    send(message({ seq: 1, type: 'request' }));
    send(message({ seq: 2, type: 'request', command: 42 }));
    send(message([1, 2, 3]));
    send(message({ seq: 3, type: 'request', command: 'initialize', arguments: { adapterID: 'ringside', pathFormat: 'path' } }));
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (/"command":"initialize","success":true/.test(stdout)) {
          clearInterval(check);
          clearTimeout(timer);
          resolve();
        }
      }, 20);
      const timer = setTimeout(() => {
        clearInterval(check);
        reject(new Error(`no successful initialize response; got: ${stdout}`));
      }, 10_000);
    });
    // The three malformed messages were answered with errors, not silence.
    assert.equal((stdout.match(/"success":false/g) ?? []).length, 2, stdout);
    assert.equal(adapter.exitCode, null, 'the adapter is still running');
  } finally {
    adapter.kill();
  }
});
