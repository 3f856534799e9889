// Call stacks across trap boundaries on the demo kernel: below the S-mode trap entry a label
// frame names the trap and the interrupted U-mode code follows (pc = sepc, the user source
// line), unwound further when the stop is at the vector's first instruction (every register
// is still the user's); nested M-mode traps taken inside the S handler show both boundaries.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guestPath, hex, lineOf, openSession, sourcePath } from './support';

const KERNEL_C = 'guests/demo/kernel.c';
const USER_C = 'guests/demo/user.c';

test('an ecall from U-mode: handler, trap label, user frames at sepc', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setExceptionBreakpointsRequest({ filters: ['privilege:U->S'], filterOptions: [{ filterId: 'privilege:U->S', condition: 'cause == 8' }] });
    });
    await session.stopped();
    const sepc = BigInt((await session.evaluate('$sepc')).result);
    const frames = (await session.client.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    const names = frames.map((frame) => frame.name);
    assert.equal(names[0], 's_trap_entry');
    const label = frames.findIndex((frame) => frame.name.startsWith('[trap:'));
    assert.ok(label > 0, names.join(', '));
    assert.equal(frames[label].name, '[trap: ecall from U-mode]');
    assert.equal(frames[label].presentationHint, 'label');
    const user = frames[label + 1];
    assert.equal(user.instructionPointerReference, hex(sepc));
    assert.equal(user.source?.path, sourcePath(USER_C));
    assert.equal(user.line, lineOf(USER_C, 'asm volatile("ecall"'));
    // At the vector's first instruction the user registers are intact: unwinding goes on to user_entry.
    assert.ok(frames.slice(label + 1).some((frame) => frame.name === 'user_entry'), names.join(', '));
    // The user frame's scopes come from the U-mode code's symbol file.
    const locals = (await session.client.scopesRequest({ frameId: user.id })).body.scopes.map((scope) => scope.name);
    assert.ok(locals.includes('Locals'));
  } finally {
    await session.close();
  }
});

test('deeper in the handler: the interrupted pc only; stepOut ignores frames below the boundary', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const line = lineOf(KERNEL_C, 'f->sepc += 4;');
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath(KERNEL_C) }, breakpoints: [{ line }] });
    });
    await session.stopped();
    const sepc = BigInt((await session.evaluate('$sepc')).result);
    const frames = (await session.client.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.deepEqual(frames.map((frame) => frame.name).slice(0, 4), ['syscall', 's_trap', 's_trap_entry', '[trap: ecall from U-mode]']);
    assert.equal(frames.length, 5);
    assert.equal(frames[4].instructionPointerReference, hex(sepc));
    assert.equal(frames[4].source?.path, sourcePath(USER_C));
    assert.equal(frames[4].line, lineOf(USER_C, 'asm volatile("ecall"'));
  } finally {
    await session.close();
  }
});

test('an M-mode trap inside the S handler shows both boundaries', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo') }, async () => {
      // The demo's S-mode timer handler re-arms the timer with an ecall to M-mode.
      await session.client.setExceptionBreakpointsRequest({ filters: ['exception:9'] });
    });
    let names: string[] = [];
    for (let stops = 0; stops < 20; stops++) {
      await session.stopped();
      names = (await session.client.stackTraceRequest({ threadId: 1 })).body.stackFrames.map((frame) => frame.name);
      if (names.filter((name) => name.startsWith('[trap:')).length === 2) break;
      await session.client.continueRequest({ threadId: 1 });
    }
    const labels = names.filter((name) => name.startsWith('[trap:'));
    assert.equal(labels[0], '[trap: ecall from S-mode]', names.join(', '));
    assert.equal(labels[1], '[trap: supervisor timer interrupt from U-mode]', names.join(', '));
    assert.equal(names[0], 'm_trap_entry');
    assert.ok(names.includes('s_trap'), names.join(', '));
  } finally {
    await session.close();
  }
});
