// `ringside/snapshot` on the demo kernel: take at a breakpoint, run on, restore (a 'goto' stop
// back where it was taken, the same state and the same future), list, rename, delete, save to a
// file that `ringside snapshot info` reads and load it back; history restarts at a restore.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { readSnapshot, summarizeSnapshot } from '../../vmm-core/machine/snapshot';
import { readFileSync } from 'node:fs';
import { guestPath, lineOf, openSession, sourcePath, type Session } from './support';

const KERNEL_C = 'guests/demo/kernel.c';

interface Listing { id: number; name: string; instructions: number[]; bytes: number }

async function snapshot<T>(session: Session, args: Record<string, unknown>): Promise<T> {
  return (await session.request<DebugProtocol.Response & { body: T }>('ringside/snapshot', args)).body;
}

async function where(session: Session): Promise<string> {
  const frame = await session.topFrame();
  const registers = (await session.scope(frame.id, 'Registers')).map((register) => `${register.name}=${register.value}`).join(' ');
  const history = await session.request<DebugProtocol.Response & { body: { currentSteps: number[] } }>('ringside/history', {});
  return `${frame.instructionPointerReference} ${history.body.currentSteps.join('/')} ${registers}`;
}

test('snapshots in a debug session: take, run on, restore, and the same future again', { timeout: 60_000 }, async () => {
  const session = await openSession();
  const folder = mkdtempSync(join(tmpdir(), 'ringside-dap-snapshots-'));
  try {
    const line = lineOf(KERNEL_C, 'syscall(f);');
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath(KERNEL_C) }, breakpoints: [{ line }] });
    });
    assert.equal((await session.stopped()).reason, 'breakpoint');
    const first = await where(session);
    const taken = (await snapshot<{ snapshot: Listing }>(session, { action: 'take', name: 'first syscall' })).snapshot;
    assert.equal(taken.name, 'first syscall');
    assert.ok(taken.bytes > 0 && taken.instructions[0] > 0);
    const nextHits: string[] = [];
    for (let hit = 0; hit < 2; hit++) {
      await session.client.continueRequest({ threadId: 1 });
      assert.equal((await session.stopped()).reason, 'breakpoint');
      nextHits.push(await where(session));
    }
    const restored = (await snapshot<{ snapshot: Listing }>(session, { action: 'restore', id: taken.id })).snapshot;
    assert.equal(restored.id, taken.id);
    const stop = await session.stopped();
    assert.equal(stop.reason, 'goto');
    assert.equal(stop.description, "Restored snapshot 'first syscall'");
    assert.equal(await where(session), first);
    // History starts again at the restore.
    await session.client.stepBackRequest({ threadId: 1, granularity: 'instruction' });
    assert.equal((await session.stopped()).description, 'Reached the start of the execution history');
    for (let hit = 0; hit < 2; hit++) {
      await session.client.continueRequest({ threadId: 1 });
      assert.equal((await session.stopped()).reason, 'breakpoint');
      assert.equal(await where(session), nextHits[hit], `the same hit ${hit + 2} after the restore`);
    }

    // Naming, listing, deleting; a file that the CLI's reader takes; loading it back.
    const second = (await snapshot<{ snapshot: Listing }>(session, { action: 'take' })).snapshot;
    assert.equal(second.name, `Snapshot ${second.id}`);
    await snapshot(session, { action: 'rename', id: second.id, name: 'third syscall' });
    const listed = (await snapshot<{ snapshots: Listing[] }>(session, { action: 'list' })).snapshots;
    assert.deepEqual(listed.map((entry) => entry.name), ['first syscall', 'third syscall']);
    const file = join(folder, 'third.snap');
    await snapshot(session, { action: 'save', id: second.id, path: file });
    const summary = summarizeSnapshot(readSnapshot(new Uint8Array(readFileSync(file))));
    assert.equal(summary.name, 'third syscall', 'the file carries the new name');
    assert.equal(summary.harts[0].instructionsRetired, second.instructions[0]);
    await snapshot(session, { action: 'delete', id: second.id });
    assert.deepEqual((await snapshot<{ snapshots: Listing[] }>(session, { action: 'list' })).snapshots.map((entry) => entry.id), [taken.id]);
    await snapshot(session, { action: 'restore', id: taken.id });
    await session.stopped();
    const loaded = (await snapshot<{ snapshot: Listing }>(session, { action: 'load', path: file })).snapshot;
    assert.equal((await session.stopped()).reason, 'goto');
    assert.equal(loaded.instructions[0], second.instructions[0]);
    assert.equal(await where(session), nextHits[1]);

    // Bad requests: one clear error each.
    const unknown = await session.raw('ringside/snapshot', { action: 'restore', id: 99 });
    assert.equal(unknown.success, false);
    assert.match(unknown.message ?? '', /no snapshot 99 \(snapshots: 1, 3\)/);
    const badAction = await session.raw('ringside/snapshot', { action: 'undo' });
    assert.match(badAction.message ?? '', /action must be 'take', 'list'/);
    const missing = await session.raw('ringside/snapshot', { action: 'load', path: join(folder, 'none.snap') });
    assert.match(missing.message ?? '', /cannot read '.*none\.snap'/);
  } finally {
    await session.close();
    rmSync(folder, { recursive: true, force: true });
  }
});
