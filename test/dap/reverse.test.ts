// Reverse debugging on the demo kernel through the adapter: reverseContinue lands exactly where
// a forward run stopped at the same breakpoint or filter (same pc, registers, instruction
// count), honours hit counts and conditions as a forward run would, and stops at the start of
// history when nothing earlier hits; stepBack by instruction undoes each forward step exactly,
// and by line goes back to the start of the line a `next` left.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { guestPath, lineOf, openSession, sourcePath, type Session } from './support';

const KERNEL_C = 'guests/demo/kernel.c';

interface MachinePoint {
  readonly pc: string;
  readonly registers: string;
  readonly steps: readonly number[];
}

/** Where hart 0 is: pc, every register of the Registers scope, and its step count. */
async function here(session: Session): Promise<MachinePoint> {
  const frame = await session.topFrame();
  const registers = (await session.scope(frame.id, 'Registers')).map((register) => `${register.name}=${register.value}`).join(' ');
  const history = await session.request<DebugProtocol.Response & { body: { currentSteps: number[] } }>('ringside/history', {});
  return { pc: frame.instructionPointerReference!, registers, steps: history.body.currentSteps };
}

async function expectStop(session: Session, reason: string): Promise<DebugProtocol.StoppedEvent['body']> {
  const stop = await session.stopped();
  assert.equal(stop.reason, reason, JSON.stringify(stop));
  return stop;
}

test('reverseContinue lands on each earlier breakpoint hit exactly, then at the start of history', { timeout: 60_000 }, async () => {
  const session = await openSession();
  try {
    const initialize = await session.client.initializeRequest({ adapterID: 'ringside', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    assert.equal(initialize.body?.supportsStepBack, true);
    const line = lineOf(KERNEL_C, 'syscall(f);');
    await session.launch({ program: guestPath('demo'), stopOnEntry: true });
    await expectStop(session, 'entry');
    const entry = await here(session);
    await session.client.setBreakpointsRequest({ source: { path: sourcePath(KERNEL_C) }, breakpoints: [{ line }] });
    const hits: MachinePoint[] = [];
    for (let hit = 0; hit < 4; hit++) {
      await session.client.continueRequest({ threadId: 1 });
      await expectStop(session, 'breakpoint');
      hits.push(await here(session));
    }
    assert.ok(hits[3].steps[0] > hits[0].steps[0]);
    const printed = session.output();
    for (let hit = 2; hit >= 0; hit--) {
      await session.client.reverseContinueRequest({ threadId: 1 });
      await expectStop(session, 'breakpoint');
      assert.deepEqual(await here(session), hits[hit], `back at hit ${hit + 1}`);
    }
    await session.client.reverseContinueRequest({ threadId: 1 });
    const start = await expectStop(session, 'step');
    assert.equal(start.description, 'Reached the start of the execution history');
    assert.deepEqual(await here(session), entry);
    assert.equal(session.output(), printed, 're-executing history prints nothing again');
    // Forward again: the same hits, in the same states.
    for (let hit = 0; hit < 2; hit++) {
      await session.client.continueRequest({ threadId: 1 });
      await expectStop(session, 'breakpoint');
      assert.deepEqual(await here(session), hits[hit], `forward again to hit ${hit + 1}`);
    }
  } finally {
    await session.close();
  }
});

test('reverseContinue counts hits and checks conditions as a forward run would', { timeout: 60_000 }, async () => {
  const session = await openSession();
  try {
    const line = lineOf(KERNEL_C, 'syscall(f);');
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath(KERNEL_C) }, breakpoints: [{ line, hitCondition: '% 2' }] });
    });
    const forward: MachinePoint[] = [];
    for (let hit = 0; hit < 3; hit++) {
      await expectStop(session, 'breakpoint');
      forward.push(await here(session));
      await session.client.continueRequest({ threadId: 1 });
    }
    await expectStop(session, 'breakpoint');
    const sixth = await here(session);
    // From hit 8: back to hit 6, then 4 (the odd hits in between do not stop, forward or back).
    await session.client.reverseContinueRequest({ threadId: 1 });
    await expectStop(session, 'breakpoint');
    assert.deepEqual(await here(session), forward[2]);
    await session.client.reverseContinueRequest({ threadId: 1 });
    await expectStop(session, 'breakpoint');
    assert.deepEqual(await here(session), forward[1]);
    // The hit count went back with the machine: forward, hit 6 stops next.
    await session.client.continueRequest({ threadId: 1 });
    await expectStop(session, 'breakpoint');
    assert.deepEqual(await here(session), forward[2]);
    await session.client.continueRequest({ threadId: 1 });
    await expectStop(session, 'breakpoint');
    assert.deepEqual(await here(session), sixth);
  } finally {
    await session.close();
  }
});

test('reverseContinue stops at the previous ring change a filter catches', { timeout: 60_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setExceptionBreakpointsRequest({ filters: ['privilege:U->S'] });
    });
    const forward: MachinePoint[] = [];
    for (let hit = 0; hit < 3; hit++) {
      await expectStop(session, 'exception');
      forward.push(await here(session));
      await session.client.continueRequest({ threadId: 1 });
    }
    await expectStop(session, 'exception');
    for (let hit = 2; hit >= 1; hit--) {
      await session.client.reverseContinueRequest({ threadId: 1 });
      const stop = await expectStop(session, 'exception');
      assert.match(stop.description ?? '', /U → S/);
      assert.deepEqual(await here(session), forward[hit]);
    }
  } finally {
    await session.close();
  }
});

test('stepBack by instruction undoes each step; by line returns to the start of the line next left', { timeout: 60_000 }, async () => {
  const session = await openSession();
  try {
    const line = lineOf(KERNEL_C, 'syscall(f);');
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath(KERNEL_C) }, breakpoints: [{ line }] });
    });
    await expectStop(session, 'breakpoint');
    await session.client.continueRequest({ threadId: 1 });
    await expectStop(session, 'breakpoint');
    await session.client.setBreakpointsRequest({ source: { path: sourcePath(KERNEL_C) }, breakpoints: [] });
    const points: MachinePoint[] = [await here(session)];
    for (let step = 0; step < 12; step++) {
      await session.client.stepInRequest({ threadId: 1, granularity: 'instruction' });
      await expectStop(session, 'step');
      points.push(await here(session));
    }
    for (let step = 11; step >= 0; step--) {
      await session.client.stepBackRequest({ threadId: 1, granularity: 'instruction' });
      await expectStop(session, 'step');
      assert.deepEqual(await here(session), points[step], `after stepping back to step ${step}`);
    }
    // Over the whole line (the call runs to its return), then back to its start.
    await session.client.nextRequest({ threadId: 1 });
    await expectStop(session, 'step');
    const after = await session.topFrame();
    assert.notEqual(after.line, line);
    await session.client.stepBackRequest({ threadId: 1 });
    await expectStop(session, 'step');
    assert.equal((await session.topFrame()).line, line);
    assert.deepEqual(await here(session), points[0]);
    const history = await session.request<DebugProtocol.Response & { body: { enabled: boolean; stepsBack: number; checkpoints: number; bytes: number; budgetBytes: number } }>('ringside/history', {});
    assert.equal(history.body.enabled, true);
    assert.ok(history.body.stepsBack > 0 && history.body.checkpoints > 0);
    assert.ok(history.body.bytes <= history.body.budgetBytes);
  } finally {
    await session.close();
  }
});

test('with historyMiB 0 there is no reverse debugging, and stepBack says why', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo'), stopOnEntry: true, historyMiB: 0 });
    await expectStop(session, 'entry');
    const response = await session.raw('stepBack', { threadId: 1 });
    assert.equal(response.success, false);
    assert.match(response.message ?? '', /reverse debugging is off \(historyMiB is 0/);
  } finally {
    await session.close();
  }
});
