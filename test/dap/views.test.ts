// The requests behind the extension's views, on the project's guests: machine state with each
// hart's privilege and satp, the whole address space walked into ranges (checked range by range
// against the one-address walk), the address-space map, the trap history (checked against the
// harts' trap counters and the CSRs at a stop), the stateChanged event on runs and stops, UART
// and PLIC counters, and one clear error for each bad argument.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { AddressSpaceMapBody, MachineStateBody, MappedRange, TrapHistoryBody } from '../../debug-adapter/view-requests';
import { guestPath, hex, lineOf, openSession, type Session, sourcePath, symbolAddress } from './support';

interface WalkBody {
  kind: 'addressSpace';
  mode: string;
  satp: string;
  ranges: MappedRange[];
  truncated: boolean;
  resumeAddress?: string;
  leafEntries: number;
  mappedBytes: number;
  malformedEntries: number;
  note?: string;
}

interface AddressBody {
  kind: 'address';
  physicalAddress?: string;
  pageSize?: number;
  levels: Array<{ level: number; leaf: boolean; flags: Record<string, boolean> }>;
}

async function body<T>(session: Session, command: string, args: Record<string, unknown> = {}): Promise<T> {
  return (await session.request(command, args)).body as T;
}

async function stopAtFirstEcallFromUser(session: Session): Promise<void> {
  await session.launch({ program: guestPath('demo') }, async () => {
    await session.client.setExceptionBreakpointsRequest({ filters: ['privilege:U->S'], filterOptions: [{ filterId: 'privilege:U->S', condition: 'cause == 8' }] });
  });
  await session.stopped();
}

test('machineState: run state, stop reason and each hart at a U → S stop on the demo', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    await stopAtFirstEcallFromUser(session);
    const state = await body<MachineStateBody>(session, 'ringside/machineState');
    assert.equal(state.runState, 'stopped');
    assert.equal(state.stopReason, 'exception');
    assert.match(state.stopDescription ?? '', /U → S.*(ecall|environment call) from U-mode/);
    assert.equal(state.harts.length, 1);
    const hart = state.harts[0];
    assert.equal(hart.privilege, 'S');
    assert.equal(hart.translation, 'sv39');
    assert.equal(BigInt(hart.satp), BigInt((await session.evaluate('$satp')).result));
    assert.equal(hart.pc, (await session.topFrame()).instructionPointerReference);
    assert.ok(hart.instructionsRetired > 0 && hart.virtualNanoseconds >= hart.instructionsRetired, JSON.stringify(hart));
    assert.ok(state.exits.ecall >= 1 && state.totalExits >= state.exits.ecall, JSON.stringify(state.exits));
    assert.equal(state.exit, null);
  } finally {
    await session.close();
  }
});

test('pageTables: the demo task space as ranges, each agreeing with the one-address walk', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    await stopAtFirstEcallFromUser(session);
    const walk = await body<WalkBody>(session, 'ringside/pageTables');
    assert.equal(walk.kind, 'addressSpace');
    assert.equal(walk.mode, 'sv39');
    assert.equal(walk.truncated, false);
    assert.equal(walk.malformedEntries, 0);
    assert.ok(walk.ranges.length >= 3, JSON.stringify(walk.ranges));
    let previousEnd = 0n;
    for (const range of walk.ranges) {
      const start = BigInt(range.virtualStart);
      assert.ok(start >= previousEnd, `ranges overlap or are out of order at ${range.virtualStart}`);
      previousEnd = BigInt(range.virtualEnd);
      assert.equal(previousEnd - start, BigInt(range.size));
      // The first and last byte translate where the range says, with the flags it says.
      for (const offset of [0n, BigInt(range.size) - 1n]) {
        const one = await body<AddressBody>(session, 'ringside/pageTables', { address: hex(start + offset) });
        assert.equal(one.kind, 'address');
        assert.equal(one.physicalAddress, hex(BigInt(range.physicalStart) + offset), `${range.virtualStart} + ${offset}`);
        const leaf = one.levels[one.levels.length - 1];
        assert.ok(leaf.leaf);
        assert.deepEqual([leaf.flags.R, leaf.flags.W, leaf.flags.X, leaf.flags.U, leaf.flags.G], [range.R, range.W, range.X, range.U, range.G]);
      }
    }
    // The user code page (user_entry) is U and executable, not writable; the kernel's text is not U.
    const containing = (address: bigint) => walk.ranges.find((range) => BigInt(range.virtualStart) <= address && address < BigInt(range.virtualEnd));
    const user = containing(symbolAddress('demo', 'user_entry'));
    assert.ok(user !== undefined && user.U && user.X && !user.W, JSON.stringify(user));
    const kernel = containing(symbolAddress('demo', 's_trap'));
    assert.ok(kernel !== undefined && !kernel.U && kernel.X, JSON.stringify(kernel));
    // An address outside every range: the walk says why, level by level.
    const unmapped = await body<AddressBody & { fault?: string }>(session, 'ringside/pageTables', { address: '0x7000000000' });
    assert.match(unmapped.fault ?? '', /not valid|canonical/);
  } finally {
    await session.close();
  }
});

test('pageTables on vm.elf: gigapage, megapage and 4 KiB leaves; a bounded walk resumes where it stopped', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    const line = lineOf('guests/vm/vm.c', 'CHECKEQ(1, csr_read(satp)');
    await session.launch({ program: guestPath('vm') }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath('guests/vm/vm.c') }, breakpoints: [{ line }] });
    });
    await session.stopped();
    const whole = await body<WalkBody>(session, 'ringside/pageTables');
    assert.equal(whole.mode, 'sv39');
    const at = (address: number) => whole.ranges.find((range) => BigInt(range.virtualStart) <= BigInt(address) && BigInt(address) < BigInt(range.virtualEnd));
    assert.deepEqual(at(0x80000000)?.pageSizes, [1 << 30]);
    assert.equal(at(0x80000000)?.flags, 'rwx-gad');
    assert.deepEqual(at(0x40000000)?.pageSizes, [2 << 20]);
    // The read-only alias and the execute-only page are ranges of their own.
    assert.equal(at(0x40204000)?.flags.slice(0, 4), 'r---');
    assert.equal(at(0x40207000)?.flags.slice(0, 4), '--x-');
    assert.equal(at(0x40205000)?.U, true);
    // Two ranges at a time, resuming from resumeAddress, give the same list.
    const pieces: MappedRange[] = [];
    let from: string | undefined;
    for (let round = 0; round < 50; round++) {
      const part = await body<WalkBody>(session, 'ringside/pageTables', { maxRanges: 2, ...(from !== undefined ? { from } : {}) });
      assert.ok(part.ranges.length <= 2);
      pieces.push(...part.ranges);
      if (!part.truncated) break;
      assert.ok(part.resumeAddress !== undefined);
      from = part.resumeAddress;
    }
    assert.deepEqual(pieces.map((range) => [range.virtualStart, range.virtualEnd, range.flags]), whole.ranges.map((range) => [range.virtualStart, range.virtualEnd, range.flags]));
    // The map merges by permissions only; M-mode does not translate, and the body says so.
    const map = await body<AddressSpaceMapBody>(session, 'ringside/addressSpaceMap');
    assert.equal(map.privilege, 'M');
    assert.equal(map.hartTranslates, false);
    assert.ok(map.ranges.length <= whole.ranges.length);
    assert.equal(map.mappedBytes, whole.mappedBytes);
  } finally {
    await session.close();
  }
});

test('pageTables on vm.elf in Sv48: the top-half mapping comes back as a canonical address and walks the same', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    const line = lineOf('guests/vm/vm.c', 'CHECKEQ(80, csr_read(satp)');
    await session.launch({ program: guestPath('vm') }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath('guests/vm/vm.c') }, breakpoints: [{ line }] });
    });
    await session.stopped();
    const walk = await body<WalkBody>(session, 'ringside/pageTables');
    assert.equal(walk.mode, 'sv48');
    const top = walk.ranges.find((range) => range.virtualStart === '0xffff800000000000');
    assert.ok(top !== undefined, JSON.stringify(walk.ranges.map((range) => range.virtualStart)));
    assert.equal(top.flags.slice(0, 4), 'r---');
    assert.equal(walk.ranges[walk.ranges.length - 1], top, 'the top half sorts last');
    for (const range of walk.ranges) {
      const one = await body<AddressBody>(session, 'ringside/pageTables', { address: range.virtualStart, satp: walk.satp });
      assert.equal(one.physicalAddress, range.physicalStart, range.virtualStart);
    }
    // Resuming from an upper-half address lists only what lies at or above it.
    const upper = await body<WalkBody>(session, 'ringside/pageTables', { from: '0xffff800000000000' });
    assert.deepEqual(upper.ranges.map((range) => range.virtualStart), ['0xffff800000000000']);
  } finally {
    await session.close();
  }
});

test('pageTables in Bare mode: no ranges and a note saying why', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo'), stopOnEntry: true });
    await session.stopped();
    const walk = await body<WalkBody>(session, 'ringside/pageTables');
    assert.equal(walk.mode, 'bare');
    assert.deepEqual(walk.ranges, []);
    assert.match(walk.note ?? '', /Bare/);
  } finally {
    await session.close();
  }
});

test('trapHistory: every trap the demo took, in order, the last one the ecall being handled', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    await stopAtFirstEcallFromUser(session);
    const history = await body<TrapHistoryBody>(session, 'ringside/trapHistory');
    const state = await body<MachineStateBody>(session, 'ringside/machineState');
    const traps = history.traps.filter((entry) => entry.kind === 'exception' || entry.kind === 'interrupt');
    assert.equal(traps.length, state.harts[0].trapsTaken);
    assert.equal(history.traps.filter((entry) => entry.kind === 'mret').length, state.exits.mret);
    assert.deepEqual(history.traps.map((entry) => entry.sequence), history.traps.map((_, index) => index));
    for (let index = 1; index < history.traps.length; index++) {
      assert.ok(history.traps[index].virtualNanoseconds >= history.traps[index - 1].virtualNanoseconds);
    }
    const last = history.traps[history.traps.length - 1];
    assert.deepEqual([last.kind, last.cause, last.causeName, last.from, last.to], ['exception', 8, 'ecall from U-mode', 'U', 'S']);
    assert.equal(BigInt(last.pc), BigInt((await session.evaluate('$sepc')).result));
    // The first return into S-mode is the boot's mret.
    assert.ok(history.traps.some((entry) => entry.kind === 'mret' && entry.from === 'M' && entry.to === 'S'));
    // since/limit: only what is newer (the sret back to the task, its next ecall), at most `limit`.
    await session.client.continueRequest({ threadId: 1 });
    await session.stopped();
    const newer = await body<TrapHistoryBody>(session, 'ringside/trapHistory', { since: history.next });
    assert.ok(newer.traps.length >= 2, JSON.stringify(newer.traps));
    assert.equal(newer.traps[0].sequence, history.next);
    assert.equal(newer.traps.at(-1)?.cause, 8);
    const two = await body<TrapHistoryBody>(session, 'ringside/trapHistory', { limit: 2 });
    assert.deepEqual(two.traps.map((entry) => entry.sequence), [two.total - 2, two.total - 1]);
    // A reset starts the history again.
    await session.request('ringside/vm', { action: 'reset' });
    await session.stopped();
    const afterReset = await body<TrapHistoryBody>(session, 'ringside/trapHistory');
    assert.deepEqual([afterReset.total, afterReset.traps.length], [0, 0]);
  } finally {
    await session.close();
  }
});

test('stateChanged on runs and stops; UART and PLIC counters of the console guest', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('console') });
    const running = await session.next<DebugProtocol.Event>('ringside/stateChanged');
    assert.equal(running.body.runState, 'running');
    assert.equal((await body<MachineStateBody>(session, 'ringside/machineState')).runState, 'running');
    await session.request('ringside/serialInput', { text: 'add 2 3\r' });
    for (let tries = 0; tries < 200 && !/= ?5|\b5\b/.test(session.output().split('add 2 3')[1] ?? ''); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await session.client.pauseRequest({ threadId: 1 });
    const stop = await session.stopped();
    assert.equal(stop.reason, 'pause');
    const stopped = await session.next<DebugProtocol.Event>('ringside/stateChanged');
    assert.deepEqual([stopped.body.runState, stopped.body.reason, stopped.body.threadId], ['stopped', 'pause', 1]);
    assert.equal(stopped.body.privilege, 'M');
    const devices = await body<{
      uart: { counters: { transmitted: number; received: number; inputAccepted: number; inputRefused: number } };
      plic: { sources: Array<{ irq: number; claims: number }> };
    }>(session, 'ringside/deviceState');
    assert.deepEqual([devices.uart.counters.inputAccepted, devices.uart.counters.received, devices.uart.counters.inputRefused], [8, 8, 0]);
    assert.equal(devices.uart.counters.transmitted, Buffer.byteLength(session.output()));
    const uartSource = devices.plic.sources.find((source) => source.irq === 10);
    assert.ok(uartSource !== undefined && uartSource.claims >= 1, JSON.stringify(devices.plic.sources));
  } finally {
    await session.close();
  }
});

test('plic.elf: its UART interrupts in the trap history (M and S external) and the PLIC claim counter', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('plic') }, async () => {
      await session.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'pass' }] });
    });
    await session.stopped();
    const history = await body<TrapHistoryBody>(session, 'ringside/trapHistory');
    const interrupts = history.traps.filter((entry) => entry.kind === 'interrupt');
    const names = new Set(interrupts.map((entry) => `${entry.causeName} ${entry.from}->${entry.to}`));
    assert.ok(names.has('machine external interrupt M->M'), [...names].join(', '));
    assert.ok(names.has('supervisor external interrupt S->S'), [...names].join(', '));
    const devices = await body<{ plic: { sources: Array<{ irq: number; claims: number }> } }>(session, 'ringside/deviceState', { device: 'plic' });
    const claims = devices.plic.sources.find((source) => source.irq === 10)?.claims ?? 0;
    // Every external interrupt the guest took was claimed from the PLIC (its handlers claim once each).
    assert.ok(claims >= interrupts.filter((entry) => /external/.test(entry.causeName)).length && claims >= 2, `claims ${claims}`);
  } finally {
    await session.close();
  }
});

test('bad arguments: one clear error each, and the session goes on', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    await assert.rejects(session.request('ringside/machineState', {}), /no machine: launch or attach first/);
    await session.launch({ program: guestPath('demo'), stopOnEntry: true });
    await session.stopped();
    await assert.rejects(session.request('ringside/pageTables', { address: 'no_such_symbol' }), /unknown name 'no_such_symbol'/);
    await assert.rejects(session.request('ringside/pageTables', { address: {} }), /'address' must be a number or an expression/);
    await assert.rejects(session.request('ringside/pageTables', { maxRanges: 0 }), /'maxRanges' must be an integer from 1 to 20000, got 0/);
    await assert.rejects(session.request('ringside/addressSpaceMap', { threadId: 9 }), /no thread 9/);
    await assert.rejects(session.request('ringside/trapHistory', { limit: -1 }), /'limit' must be an integer from 0 to 4096, got -1/);
    await assert.rejects(session.request('ringside/trapHistory', { since: 'x' }), /'since' must be an integer/);
    assert.equal((await body<MachineStateBody>(session, 'ringside/machineState')).runState, 'stopped');
  } finally {
    await session.close();
  }
});
