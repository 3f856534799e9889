// Debugger watchpoints on real guests: write, read and read-write watchpoints on kernel
// globals, partial overlaps, physical watchpoints through a different virtual address,
// atomics on two harts. Where a stop happened is checked against a fresh machine replayed
// to one instruction before it: that instruction must be the access that was reported.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { privilegeName } from '../../vmm-core/cpu/csr-numbers';
import type { StopReason, WatchAccess } from '../../vmm-core/debug/debugger';
import { Operation } from '../../vmm-core/isa/operations';
import {
  debugGuest, freeRun, instructionAt, PASS, physicalOf, readUnsigned, register, replayTo, reportedTicks, show, symbol, symbolSize,
  type DebugSession, type GuestName,
} from './debugger-guest';

type WatchpointStop = Extract<StopReason, { reason: 'watchpoint' }>;

const LOADS = new Set([Operation.Lb, Operation.Lh, Operation.Lw, Operation.Ld, Operation.Lbu, Operation.Lhu, Operation.Lwu]);
const STORES = new Set([Operation.Sb, Operation.Sh, Operation.Sw, Operation.Sd]);
const SIZES = new Map<Operation, number>([
  [Operation.Lb, 1], [Operation.Lbu, 1], [Operation.Sb, 1], [Operation.Lh, 2], [Operation.Lhu, 2], [Operation.Sh, 2],
  [Operation.Lw, 4], [Operation.Lwu, 4], [Operation.Sw, 4], [Operation.Ld, 8], [Operation.Sd, 8],
]);

/** Runs to the next stop; it must be a watchpoint (or the exit, then returns undefined). */
function nextWatchpoint(session: DebugSession): WatchpointStop | undefined {
  const stop = session.debugger.continue();
  assert.ok(stop !== undefined);
  if (stop.reason === 'exit') {
    assert.deepEqual(stop.exit, PASS);
    return undefined;
  }
  assert.equal(stop.reason, 'watchpoint', show(stop));
  return stop as WatchpointStop;
}

/** Every watchpoint stop until the guest exits. */
function allWatchpoints(session: DebugSession): WatchpointStop[] {
  const stops: WatchpointStop[] = [];
  for (let stop = nextWatchpoint(session); stop !== undefined; stop = nextWatchpoint(session)) stops.push(stop);
  return stops;
}

/**
 * The stop came right after the access: a machine replayed to one instruction earlier is
 * about to execute a load or store of the reported address and size, and the stopped pc is
 * the instruction after it.
 */
function assertStoppedAfterAccess(name: GuestName, session: DebugSession, stop: WatchpointStop): void {
  const hart = session.machine.harts[stop.hartId];
  assert.equal(stop.hartId, 0, 'replays are single-hart');
  assert.equal(stop.pc, hart.pc);
  const reference = replayTo(name, hart.instructionsRetired - 1);
  const referenceHart = reference.machine.harts[0];
  const instruction = instructionAt(reference.machine, referenceHart, referenceHart.pc);
  assert.ok((stop.access === 'write' ? STORES : LOADS).has(instruction.operation), `operation ${instruction.operation} at 0x${referenceHart.pc.toString(16)}`);
  assert.equal(SIZES.get(instruction.operation), stop.size);
  const accessed = BigInt.asUintN(64, referenceHart.readRegister(instruction.rs1) + BigInt(instruction.imm));
  assert.equal(accessed, stop.address);
  assert.equal(referenceHart.pc + BigInt(instruction.length), stop.pc, 'stopped at the instruction after the access');
}

test('write watchpoint on a kernel counter stops after each store with address, size and access', () => {
  const session = debugGuest('demo');
  const ticks = symbol(session.elf, 'ticks');
  const id = session.debugger.addWatchpoint({ address: ticks, size: 8, access: 'write' });

  // First: the boot code clearing .bss in M-mode.
  const clear = nextWatchpoint(session);
  assert.ok(clear !== undefined);
  assert.deepEqual(clear, { reason: 'watchpoint', hartId: 0, pc: session.hart.pc, breakpointId: id, address: ticks, access: 'write', size: 8 });
  assert.equal(privilegeName(session.hart.privilege), 'M');
  assertStoppedAfterAccess('demo', session, clear);

  // Then the S-mode timer handler's increment: the new value is already in memory.
  const increment = nextWatchpoint(session);
  assert.ok(increment !== undefined);
  assert.equal(increment.address, ticks);
  assert.equal(privilegeName(session.hart.privilege), 'S');
  assert.equal(readUnsigned(session.machine, ticks, 8), 1n);
  assertStoppedAfterAccess('demo', session, increment);

  const rest = allWatchpoints(session);
  assert.equal(2 + rest.length, 1 + reportedTicks(session.output()), 'the clear plus one store per tick');
  for (const stop of rest) assert.deepEqual([stop.address, stop.size, stop.access, stop.breakpointId], [ticks, 8, 'write', id]);
  assert.equal(session.output(), freeRun('demo').output);
  assert.equal(session.hart.instructionsRetired, freeRun('demo').retired[0], 'stopping changed nothing');
});

function countAccesses(access: WatchAccess): { reads: number; writes: number; stops: WatchpointStop[] } {
  const session = debugGuest('demo');
  const ticks = symbol(session.elf, 'ticks');
  session.debugger.addWatchpoint({ address: ticks, size: 8, access });
  const stops = allWatchpoints(session);
  for (const stop of stops) assert.deepEqual([stop.address, stop.size], [ticks, 8]);
  return { reads: stops.filter((stop) => stop.access === 'read').length, writes: stops.filter((stop) => stop.access === 'write').length, stops };
}

test('read watchpoints stop after loads only; readWrite sees both', () => {
  const session = debugGuest('demo');
  const ticks = symbol(session.elf, 'ticks');
  const id = session.debugger.addWatchpoint({ address: ticks, size: 8, access: 'read' });
  const first = nextWatchpoint(session);
  assert.ok(first !== undefined);
  assert.deepEqual(first, { reason: 'watchpoint', hartId: 0, pc: session.hart.pc, breakpointId: id, address: ticks, access: 'read', size: 8 });
  // The .bss clear is a store: the first read is the kernel's, in S-mode.
  assert.equal(privilegeName(session.hart.privilege), 'S');
  assertStoppedAfterAccess('demo', session, first);

  const reads = countAccesses('read');
  const writes = countAccesses('write');
  const both = countAccesses('readWrite');
  assert.equal(reads.writes, 0);
  assert.equal(writes.reads, 0);
  // Each tick is read before it is incremented, and each SYS_TICKS call reads it.
  assert.ok(reads.reads > reportedTicks(freeRun('demo').output), `${reads.reads} reads`);
  assert.deepEqual([both.reads, both.writes], [reads.reads, writes.writes]);
});

test('a 1-byte watchpoint inside a word is hit by the 8-byte and 4-byte accesses that cover it', () => {
  const session = debugGuest('demo');
  const ticks = symbol(session.elf, 'ticks');
  const current = symbol(session.elf, 'current');
  assert.equal(symbolSize(session.elf, 'current'), 4, 'current is an int');
  const insideTicks = session.debugger.addWatchpoint({ address: ticks + 3n, size: 1, access: 'write' });
  const insideCurrent = session.debugger.addWatchpoint({ address: current + 2n, size: 1, access: 'readWrite' });
  const stops = allWatchpoints(session);
  const onTicks = stops.filter((stop) => stop.breakpointId === insideTicks);
  const onCurrent = stops.filter((stop) => stop.breakpointId === insideCurrent);
  // The reported address and size are the access's.
  for (const stop of onTicks) assert.deepEqual([stop.address, stop.size, stop.access], [ticks, 8, 'write']);
  assert.equal(onTicks.length, 1 + reportedTicks(session.output()));
  // `current` is cleared with the rest of .bss by 8-byte stores, then read and written as an int.
  for (const stop of onCurrent) {
    assert.ok(stop.address <= current + 2n && current + 2n < stop.address + BigInt(stop.size), show(stop));
  }
  const intAccesses = onCurrent.filter((stop) => stop.address === current && stop.size === 4);
  assert.ok(intAccesses.some((stop) => stop.access === 'read') && intAccesses.some((stop) => stop.access === 'write'), show(onCurrent));
});

test('a watchpoint just past a variable is not hit by accesses to the variable', () => {
  const session = debugGuest('demo');
  const ticks = symbol(session.elf, 'ticks');
  const past = ticks + 8n;
  const below = ticks - 1n;
  const ids = [past, below].map((address) => session.debugger.addWatchpoint({ address, size: 1, access: 'readWrite' }));
  for (const stop of allWatchpoints(session)) {
    const watched = stop.breakpointId === ids[0] ? past : below;
    assert.ok(stop.address <= watched && watched < stop.address + BigInt(stop.size), show(stop));
    assert.notEqual(stop.address, ticks, 'an access to ticks itself');
  }
});

test('physical watchpoint on the user stacks catches U-mode stores through their different virtual address', () => {
  // The demo tasks' stack pages sit in the kernel's .bss (user_stacks) and are mapped at a
  // fixed user virtual address: only a physical watchpoint sees both views.
  const session = debugGuest('demo');
  const stacks = symbol(session.elf, 'user_stacks');
  const size = symbolSize(session.elf, 'user_stacks');
  const end = stacks + BigInt(size);
  const id = session.debugger.addWatchpoint({ address: stacks, size, access: 'write', physical: true });
  let stop = nextWatchpoint(session);
  while (stop !== undefined && privilegeName(session.hart.privilege) !== 'U') stop = nextWatchpoint(session);
  assert.ok(stop !== undefined, 'task A wrote its stack');
  assert.equal(stop.breakpointId, id);
  assert.ok(stop.address >= stacks && stop.address + BigInt(stop.size) <= end, show(stop));
  assert.equal(session.hart.satpHi >>> 28, 8);
  const stackPointer = register(session.hart, 2);
  assert.ok(stackPointer < stacks || stackPointer >= end, 'the task sees its stack elsewhere');
  const stackPhysical = physicalOf(session.machine, session.hart, stackPointer);
  assert.ok(stackPhysical !== undefined && stackPhysical >= stacks && stackPhysical < end);
  assert.equal(stop.address >> 12n, stackPhysical >> 12n, 'the store went to the page the stack pointer maps to');

  // A virtual watchpoint on the same numbers only sees the boot code clearing .bss.
  const virtualSession = debugGuest('demo');
  virtualSession.debugger.addWatchpoint({ address: stacks, size, access: 'write' });
  const privileges = new Set<string>();
  for (let each = nextWatchpoint(virtualSession); each !== undefined; each = nextWatchpoint(virtualSession)) {
    privileges.add(privilegeName(virtualSession.hart.privilege));
  }
  assert.deepEqual([...privileges], ['M']);
});

test('physical watchpoint sees a U-mode store made through another virtual page (vm guest)', () => {
  // vm maps its data page pages[1] at a separate user virtual address; u_store writes it there.
  const session = debugGuest('vm');
  const pages = symbol(session.elf, 'pages');
  const target = pages + 4096n + 8n; // pages[1][8], written by u_store
  const id = session.debugger.addWatchpoint({ address: target, size: 8, access: 'write', physical: true });
  let stop = nextWatchpoint(session);
  while (stop !== undefined && privilegeName(session.hart.privilege) !== 'U') stop = nextWatchpoint(session);
  assert.ok(stop !== undefined);
  assert.deepEqual([stop.breakpointId, stop.address, stop.size, stop.access], [id, target, 8, 'write']);
  // The store's base register still holds the virtual address it used.
  const store = instructionAt(session.machine, session.hart, session.hart.pc - 4n);
  assert.equal(store.operation, Operation.Sd);
  const virtualAddress = register(session.hart, store.rs1) + BigInt(store.imm);
  assert.notEqual(virtualAddress, target);
  assert.equal(physicalOf(session.machine, session.hart, virtualAddress), target);
  assert.equal(readUnsigned(session.machine, target, 8), 0x77n);
});

// ---- two harts ----------------------------------------------------------------------------

test('watchpoint stops name the hart that made the access', () => {
  const session = debugGuest('smp');
  const started = session.debugger.addWatchpoint({ address: symbol(session.elf, 'h1_started'), size: 4, access: 'write' });
  const go = session.debugger.addWatchpoint({ address: symbol(session.elf, 'go'), size: 4, access: 'write' });
  const stops = allWatchpoints(session);
  // Each: the .bss clear on hart 0, then the one store of its owner.
  assert.deepEqual(stops.map((stop) => [stop.breakpointId, stop.hartId]).sort(), [[started, 0], [started, 1], [go, 0], [go, 0]].sort());
});

test('an AMO is a read and a write for watchpoints', () => {
  // Both harts add to `counter` with amoadd.d; only the final check reads it with a plain load.
  const session = debugGuest('smp');
  const counter = symbol(session.elf, 'counter');
  const id = session.debugger.addWatchpoint({ address: counter, size: 8, access: 'read' });
  const first = nextWatchpoint(session);
  assert.ok(first !== undefined);
  assert.deepEqual([first.breakpointId, first.address, first.size, first.access], [id, counter, 8, 'read']);
  // The first amoadd has executed: the counter went from 0 (cleared .bss) to 1.
  assert.equal(readUnsigned(session.machine, counter, 8), 1n);
  const hart = session.machine.harts[first.hartId];
  assert.equal(instructionAt(session.machine, hart, hart.pc - 4n).operation, Operation.AmoaddD);
});
