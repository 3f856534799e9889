// Which errors VS Code shows as a notification: only those with showUser, and only errors a
// person must act on may set it. A stale frame's scopes while stepping fast, a hover over a
// name that is not a variable, a Debug Console typo and the Disassembly view asking before
// there is an address answer quietly; a launch that cannot start and a value that cannot be
// set stay visible, with the one clear message.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { guestPath, lineOf, openSession, sourcePath, type Session } from './support';

type ErrorBody = { error?: DebugProtocol.Message };

function assertFailed(response: DebugProtocol.Response, message: RegExp, showUser: boolean): void {
  assert.equal(response.success, false, `${response.command} should fail`);
  assert.match(response.message ?? '', message);
  const error = (response.body as ErrorBody | undefined)?.error;
  assert.ok(error !== undefined, `${response.command}: the error response carries a message object`);
  assert.match(error.format, message);
  assert.equal(error.showUser === true, showUser, `${response.command} '${response.message}': showUser should be ${showUser}`);
}

async function stoppedOnEntry(session: Session): Promise<DebugProtocol.StackFrame> {
  await session.launch({ program: guestPath('demo'), stopOnEntry: true });
  await session.stopped();
  return session.topFrame();
}

test('stale frames and variables references after a step answer without showUser', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const frame = await stoppedOnEntry(session);
    const scopes = await session.client.scopesRequest({ frameId: frame.id });
    const registers = scopes.body.scopes.find((scope) => scope.name === 'Registers')!;
    await session.client.stepInRequest({ threadId: 1, granularity: 'instruction' });
    await session.stopped();
    // What VS Code still asks for the frame it showed before the step.
    assertFailed(await session.raw('scopes', { frameId: frame.id }), /^no frame \d+ /, false);
    assertFailed(await session.raw('variables', { variablesReference: registers.variablesReference }), /^no variables reference \d+ /, false);
    assertFailed(await session.raw('evaluate', { expression: 'sp', frameId: frame.id, context: 'watch' }), /^no frame \d+ /, false);
  } finally {
    await session.close();
  }
});

test('hover and Debug Console evaluation errors are quiet; the message still comes back', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const frame = await stoppedOnEntry(session);
    assertFailed(await session.raw('evaluate', { expression: 'not_a_variable_anywhere', frameId: frame.id, context: 'hover' }), /not_a_variable_anywhere/, false);
    assertFailed(await session.raw('evaluate', { expression: '1 +', frameId: frame.id, context: 'repl' }), /./, false);
    assertFailed(await session.raw('evaluate', { expression: '*(u64*)0', frameId: frame.id, context: 'watch' }), /./, false);
    // A name that is a register still hovers.
    const hover = await session.raw('evaluate', { expression: 'sp', frameId: frame.id, context: 'hover' });
    assert.equal(hover.success, true);
  } finally {
    await session.close();
  }
});

test('a hover over a value the frame does not have (optimized to a computed value) is quiet', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const kernel = sourcePath('guests/demo/kernel.c');
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: kernel }, breakpoints: [{ line: lineOf('guests/demo/kernel.c', 'f->sepc += 4;') }] });
    });
    await session.stopped();
    const frame = await session.topFrame();
    // t = &tasks[current] lives only as DW_OP_stack_value here: no place to read t->satp from.
    assertFailed(await session.raw('evaluate', { expression: 't->satp', frameId: frame.id, context: 'hover' }), /'t' is not available here/, false);
  } finally {
    await session.close();
  }
});

test('disassemble without a memory reference answers no instructions; a bad one is a quiet error', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    await stoppedOnEntry(session);
    for (const args of [{ memoryReference: '', instructionCount: 50 }, { instructionCount: 50 }]) {
      const response = await session.raw('disassemble', args);
      assert.equal(response.success, true, response.message);
      assert.deepEqual((response as DebugProtocol.DisassembleResponse).body?.instructions, []);
    }
    assertFailed(await session.raw('disassemble', { memoryReference: 'nowhere', instructionCount: 5 }), /'nowhere' is not a memory reference/, false);
    // A malformed offset is the client's mistake, said as such (not an internal error).
    assertFailed(await session.raw('disassemble', { memoryReference: '0x80000000', offset: 1.5, instructionCount: 5 }), /^offset must be an integer, got 1.5$/, false);
    assertFailed(await session.raw('readMemory', { memoryReference: '0x80000000', offset: 'x', count: 4 }), /^offset must be an integer, got "x"$/, false);
  } finally {
    await session.close();
  }
});

test('the Ringside views\' requests are quiet: they refresh by themselves and show the message in the view', { timeout: 20_000 }, async () => {
  // Found in code-server: after "Page Tables: Walk an Address" with a name the next stop does
  // not have, every refresh of the view raised the same red notification.
  const session = await openSession();
  try {
    await stoppedOnEntry(session);
    assertFailed(await session.raw('ringside/pageTables', { address: 'no_such_name_here' }), /no_such_name_here/, false);
    assertFailed(await session.raw('ringside/pageTables', { address: '1 +' }), /./, false);
    assertFailed(await session.raw('ringside/addressSpaceMap', { maxRanges: 0 }), /maxRanges/, false);
    assertFailed(await session.raw('ringside/trapHistory', { limit: -1 }), /limit/, false);
    // The same walk that names a real symbol still answers.
    const walk = await session.raw('ringside/pageTables', { address: '_start' });
    assert.equal(walk.success, true, walk.message);
  } finally {
    await session.close();
  }
  // Before a launch (the views refresh as soon as the session starts).
  const early = await openSession();
  try {
    await early.client.initializeRequest({ adapterID: 'ringside', pathFormat: 'path' });
    assertFailed(await early.raw('ringside/machineState', {}), /./, false);
    assertFailed(await early.raw('ringside/deviceState', {}), /./, false);
  } finally {
    await early.close();
  }
});

test('errors a person must act on keep showUser: launch failures, values that cannot be set', { timeout: 20_000 }, async () => {
  const missing = await openSession();
  try {
    await missing.client.initializeRequest({ adapterID: 'ringside', pathFormat: 'path' });
    assertFailed(await missing.raw('launch', { program: '/nonexistent/kernel.elf' }), /^cannot read program '\/nonexistent\/kernel\.elf': no such file or directory$/, true);
    assertFailed(await missing.raw('launch', { program: guestPath('demo'), harts: 'two' }), /harts/, true);
  } finally {
    await missing.close();
  }
  const session = await openSession();
  try {
    const frame = await stoppedOnEntry(session);
    const scopes = await session.client.scopesRequest({ frameId: frame.id });
    const registers = scopes.body.scopes.find((scope) => scope.name === 'Registers')!;
    assertFailed(await session.raw('setVariable', { variablesReference: registers.variablesReference, name: 'a0', value: 'twelve' }), /twelve/, true);
  } finally {
    await session.close();
  }
});
