// Reverse debugging on the demo kernel through the adapter: reverseContinue lands exactly where
// a forward run stopped at the same breakpoint or filter (same pc, registers, instruction
// count), honours hit counts and conditions as a forward run would, and stops at the start of
// history when nothing earlier hits; stepBack by instruction undoes each forward step exactly,
// and by line goes back to the start of the line a `next` left; a recording replayed in the
// debugger (`replay`) is the recorded run, forwards and backwards.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { guestPath, lineOf, openSession, sourcePath, symbolAddress, type Session } from './support';

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

test('reverseContinue stops at the previous write a data breakpoint watches, and at the previous trap a trap filter catches', { timeout: 60_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo'), stopOnEntry: true });
    await expectStop(session, 'entry');
    const ticks = `0x${symbolAddress('demo', 'ticks').toString(16)}`;
    const info = (await session.client.dataBreakpointInfoRequest({ name: ticks, asAddress: true, bytes: 8 } as DebugProtocol.DataBreakpointInfoArguments)).body;
    await session.client.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.dataId!, accessType: 'write' }] });
    const writes: MachinePoint[] = [];
    for (let hit = 0; hit < 3; hit++) {
      await session.client.continueRequest({ threadId: 1 });
      await expectStop(session, 'data breakpoint');
      writes.push(await here(session));
    }
    for (let hit = 1; hit >= 0; hit--) {
      await session.client.reverseContinueRequest({ threadId: 1 });
      const stop = await expectStop(session, 'data breakpoint');
      assert.match(stop.description ?? '', new RegExp(`write of 8 bytes at ${ticks}`));
      assert.deepEqual(await here(session), writes[hit], `back at write ${hit + 1} of ticks`);
    }
    // The supervisor timer interrupt, by cause: the trap filter's hits, backwards.
    await session.client.setDataBreakpointsRequest({ breakpoints: [] });
    await session.client.setExceptionBreakpointsRequest({ filters: ['interrupt:5'] });
    const traps: MachinePoint[] = [];
    for (let hit = 0; hit < 3; hit++) {
      await session.client.continueRequest({ threadId: 1 });
      await expectStop(session, 'exception');
      traps.push(await here(session));
    }
    await session.client.reverseContinueRequest({ threadId: 1 });
    const stop = await expectStop(session, 'exception');
    assert.equal(stop.text, 'Trap: supervisor timer interrupt (5)');
    assert.deepEqual(await here(session), traps[1]);
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

test('a recording replayed in the debugger: the recorded run, with breakpoints and reverseContinue', { timeout: 60_000 }, async () => {
  const folder = mkdtempSync(join(tmpdir(), 'ringside-dap-replay-'));
  const recording = join(folder, 'console.rec');
  const recorded = spawnSync(process.execPath, ['dist/cli.js', 'run', '--kernel', guestPath('console'), '--record', recording],
    { encoding: 'latin1', input: 'add 1 2\rsleep 5\radd 3 4\rexit 3\r', timeout: 30_000 });
  assert.equal(recorded.status, 3, recorded.stderr);
  const session = await openSession();
  try {
    const line = lineOf('guests/console/console.c', 'if (starts(line, "add")) {');
    await session.launch({ program: guestPath('console'), replay: recording, icountShift: undefined }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath('guests/console/console.c') }, breakpoints: [{ line }] });
    });
    const hits: MachinePoint[] = [];
    for (let hit = 0; hit < 3; hit++) {
      if (hit > 0) await session.client.continueRequest({ threadId: 1 });
      await expectStop(session, 'breakpoint');
      hits.push(await here(session));
    }
    for (let hit = 1; hit >= 0; hit--) {
      await session.client.reverseContinueRequest({ threadId: 1 });
      await expectStop(session, 'breakpoint');
      assert.deepEqual(await here(session), hits[hit], `back at command ${hit + 1}`);
    }
    // Forward again through the recorded inputs to the recorded end: the same output and exit code.
    await session.client.setBreakpointsRequest({ source: { path: sourcePath('guests/console/console.c') }, breakpoints: [] });
    await session.client.continueRequest({ threadId: 1 });
    const exited = await session.next<DebugProtocol.ExitedEvent>('exited');
    assert.equal(exited.body.exitCode, 3);
    assert.ok(session.output().endsWith(recorded.stdout.slice(recorded.stdout.indexOf('= 7'))), session.output());
  } finally {
    await session.close();
    rmSync(folder, { recursive: true, force: true });
  }
});

test('a replay launch names what is wrong: a missing or damaged recording, another kernel, machine attributes', { timeout: 60_000 }, async () => {
  const folder = mkdtempSync(join(tmpdir(), 'ringside-dap-replay-bad-'));
  const recording = join(folder, 'demo.rec');
  const recorded = spawnSync(process.execPath, ['dist/cli.js', 'run', '--kernel', guestPath('demo'), '--record', recording, '--idle', 'skip'], { encoding: 'latin1' });
  assert.equal(recorded.status, 0, recorded.stderr);
  const damaged = join(folder, 'damaged.rec');
  const bytes = readFileSync(recording);
  bytes[bytes.length - 2] ^= 0x10;
  writeFileSync(damaged, bytes);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ program: guestPath('demo'), replay: join(folder, 'none.rec') }, /cannot read recording '.*none\.rec'/],
    [{ program: guestPath('demo'), replay: damaged }, /damaged\.rec: recording section '.+' is damaged \(checksum mismatch\)/],
    [{ program: guestPath('rv64i'), replay: recording }, /was recorded with another kernel than/],
    [{ program: guestPath('demo'), replay: recording, memory: '64M' }, /'replay' takes the whole machine from the recording; memory cannot go with it/],
  ];
  try {
    for (const [args, pattern] of cases) {
      const session = await openSession();
      try {
        await session.client.initializeRequest({ adapterID: 'ringside', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
        const response = await session.raw('launch', { cwd: folder, ...args });
        assert.equal(response.success, false);
        assert.match(response.message ?? '', pattern);
      } finally {
        await session.close();
      }
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('with a disk: going back undoes the guest\'s disk writes too, and the run forward again leaves the disk as a straight run does', { timeout: 90_000 }, async () => {
  const folder = mkdtempSync(join(tmpdir(), 'ringside-dap-reverse-disk-'));
  const image = join(folder, 'vkernel.img');
  const made = spawnSync(process.execPath, ['guests/vkernel/make-disk.mjs', 'create', image], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('vkernel'), drives: [`file=${image},format=raw`] }, async () => {
      await session.client.setExceptionBreakpointsRequest({ filters: ['privilege:U->S'] });
    });
    const hits: MachinePoint[] = [];
    for (let hit = 0; hit < 40; hit++) {
      if (hit > 0) await session.client.continueRequest({ threadId: 1 });
      await expectStop(session, 'exception');
      hits.push(await here(session));
    }
    for (const back of [38, 20, 5]) {
      await session.client.reverseContinueRequest({ threadId: 1 });
      await expectStop(session, 'exception');
      // Each reverse continue goes to the hit before; jump further back by going on from there.
      let point = await here(session);
      for (let index = hits.length - 2; index > back && JSON.stringify(point) !== JSON.stringify(hits[back]); index--) {
        await session.client.reverseContinueRequest({ threadId: 1 });
        await expectStop(session, 'exception');
        point = await here(session);
      }
      assert.deepEqual(point, hits[back]);
    }
    await session.client.setExceptionBreakpointsRequest({ filters: [] });
    await session.client.continueRequest({ threadId: 1 });
    const exited = await session.next<DebugProtocol.ExitedEvent>('exited', 60_000);
    assert.equal(exited.body.exitCode, 0);
    assert.match(session.output(), /vkernel: all 6 processes passed/);
    const check = spawnSync(process.execPath, ['guests/vkernel/make-disk.mjs', 'check', image], { encoding: 'utf8' });
    assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  } finally {
    await session.close();
    rmSync(folder, { recursive: true, force: true });
  }
});
