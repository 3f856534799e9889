// Harts are threads (guests/bin/smp.elf with harts: 2): a stop on one hart stops the machine,
// and continue or step of one hart with singleThread leaves the other frozen.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { guestPath, hex, lineOf, openSession, sourcePath, symbolAddress, type Session } from './support';

async function retired(session: Session): Promise<number[]> {
  const statistics = (await session.request('ringside/exitStatistics', {})).body as { harts: Array<{ instructionsRetired: number }> };
  return statistics.harts.map((hart) => hart.instructionsRetired);
}

test('two harts, two threads; singleThread leaves the other hart frozen', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('smp'), harts: 2 }, async () => {
      await session.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'secondary_main' }] });
    });
    const threads = (await session.client.threadsRequest()).body.threads;
    assert.deepEqual(threads.map((thread) => [thread.id, thread.name]), [[1, 'hart 0'], [2, 'hart 1']]);
    const stop = await session.stopped();
    assert.equal(stop.reason, 'function breakpoint');
    assert.equal(stop.threadId, 2);
    assert.equal(stop.allThreadsStopped, true);
    const frame = await session.topFrame(2);
    assert.equal(frame.name, 'secondary_main');
    assert.equal(frame.instructionPointerReference, hex(symbolAddress('smp', 'secondary_main')));
    // Hart 0 has its own stack.
    const other = await session.topFrame(1);
    assert.notEqual(other.instructionPointerReference, frame.instructionPointerReference);

    // Step hart 1 alone, by instruction and by line: hart 0 does not move.
    const before = await retired(session);
    await session.client.stepInRequest({ threadId: 2, granularity: 'instruction', singleThread: true });
    assert.equal((await session.stopped()).threadId, 2);
    await session.client.nextRequest({ threadId: 2, singleThread: true });
    assert.equal((await session.stopped()).threadId, 2);
    let after = await retired(session);
    assert.equal(after[0], before[0]);
    assert.ok(after[1] > before[1]);

    // Continue hart 1 alone to a line before it waits for hart 0.
    const line = lineOf('guests/smp/smp.c', 'mmio_w32(MSIP(0), 1);                     /* wake hart 0');
    await session.client.setBreakpointsRequest({ source: { path: sourcePath('guests/smp/smp.c') }, breakpoints: [{ line }] });
    const continued = await session.client.continueRequest({ threadId: 2, singleThread: true });
    assert.equal(continued.body.allThreadsContinued, false);
    const reached = await session.stopped();
    assert.equal(reached.threadId, 2);
    assert.equal((await session.topFrame(2)).line, line);
    const frozen = await retired(session);
    assert.equal(frozen[0], before[0]);

    // Both harts run to the guest's end.
    await session.client.setBreakpointsRequest({ source: { path: sourcePath('guests/smp/smp.c') }, breakpoints: [] });
    await session.client.setFunctionBreakpointsRequest({ breakpoints: [] });
    await session.client.continueRequest({ threadId: 1 });
    const exited = await session.next<DebugProtocol.ExitedEvent>('exited');
    assert.equal(exited.body.exitCode, 0);
    assert.match(session.output(), /PASS/);
    after = await retired(session);
    assert.ok(after[0] > frozen[0]);
  } finally {
    await session.close();
  }
});
