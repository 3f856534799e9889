// Debugger event breakpoints (privilege transitions, traps, interrupts, hart filter) and
// console breakpoints on real guests. Handler addresses come from the ELF symbol tables and
// are cross-checked with the trap-vector CSRs at the stop.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { privilegeName } from '../../vmm-core/cpu/csr-numbers';
import type { Hart } from '../../vmm-core/cpu/hart';
import type { StopReason } from '../../vmm-core/debug/debugger';
import { Operation } from '../../vmm-core/isa/operations';
import {
  debugGuest, demoUserRange, freeRun, instructionAt, joinHalves, PASS, register, reportedSystemCalls, reportedTicks, show, symbol,
  type DebugSession,
} from './debugger-guest';

const stvecOf = (hart: Hart): bigint => joinHalves(hart.stvecLo, hart.stvecHi) & ~3n;
const mtvecOf = (hart: Hart): bigint => joinHalves(hart.mtvecLo, hart.mtvecHi) & ~3n;
const INTERRUPT_BIT = 1n << 63n;
const A0 = 10;

/** All stops until the guest exits (which must be a pass). */
function stopsUntilExit(session: DebugSession, limit = 1000): StopReason[] {
  const stops: StopReason[] = [];
  for (;;) {
    const stop = session.debugger.continue();
    assert.ok(stop !== undefined);
    if (stop.reason === 'exit') {
      assert.deepEqual(stop.exit, PASS);
      return stops;
    }
    stops.push(stop);
    assert.ok(stops.length <= limit, 'too many stops');
  }
}

// ---- privilege transitions ----------------------------------------------------------------

test('privilege U->S stops on the first instruction of the S-mode trap handler (a system call)', () => {
  const session = debugGuest('demo');
  const id = session.debugger.addEventBreakpoint({ kind: 'privilege', from: 'U', to: 'S' });
  const stop = session.debugger.continue();
  assert.ok(stop?.reason === 'privilege', show(stop));
  const handler = symbol(session.elf, 's_trap_entry');
  const epc = joinHalves(session.hart.sepcLo, session.hart.sepcHi);
  assert.deepEqual(stop, {
    reason: 'privilege', hartId: 0, pc: handler, breakpointId: id, from: 'U', to: 'S', via: 'trap',
    cause: 8, interrupt: false, tval: 0n, epc,
  });
  assert.equal(stvecOf(session.hart), handler);
  assert.equal(session.hart.pc, handler);
  assert.equal(privilegeName(session.hart.privilege), 'S');
  // The trap came from the user system-call stub's ecall.
  const range = demoUserRange(session.elf);
  assert.ok(epc >= range.low && epc < range.high);
  assert.equal(instructionAt(session.machine, session.hart, epc).operation, Operation.Ecall);
});

test('privilege S->U stops where sret lands: the first user instruction of task A', () => {
  const session = debugGuest('demo');
  const id = session.debugger.addEventBreakpoint({ kind: 'privilege', from: 'S', to: 'U' });
  const userEntry = symbol(session.elf, 'user_entry');
  const stop = session.debugger.continue();
  assert.ok(stop?.reason === 'privilege', show(stop));
  assert.deepEqual(stop, {
    reason: 'privilege', hartId: 0, pc: userEntry, breakpointId: id, from: 'S', to: 'U', via: 'sret',
    cause: undefined, interrupt: undefined, tval: undefined, epc: undefined,
  });
  assert.equal(privilegeName(session.hart.privilege), 'U');
  assert.equal(register(session.hart, A0), 0n, 'task A');
  // Nothing of user_entry has run: stepping once executes its first instruction in U-mode.
  const retired = session.hart.instructionsRetired;
  assert.equal(session.debugger.step(0, 1).reason, 'step');
  assert.equal(session.hart.instructionsRetired, retired + 1);
  assert.equal(privilegeName(session.hart.privilege), 'U');
});

test("privilege '*'->M stops at the M-mode trap vector, first for the kernel's SBI call", () => {
  const session = debugGuest('demo');
  const id = session.debugger.addEventBreakpoint({ kind: 'privilege', from: '*', to: 'M' });
  const handler = symbol(session.elf, 'm_trap_entry');
  const first = session.debugger.continue();
  assert.ok(first?.reason === 'privilege', show(first));
  // Boot starts in M, so the first change into M is the kernel's ecall (cause 9) to set the timer.
  assert.deepEqual([first.breakpointId, first.pc, first.from, first.to, first.via, first.cause, first.interrupt], [id, handler, 'S', 'M', 'trap', 9, false]);
  assert.equal(mtvecOf(session.hart), handler);
  assert.equal(joinHalves(session.hart.mcauseLo, session.hart.mcauseHi), 9n);
  const stops = stopsUntilExit(session);
  for (const stop of stops) {
    assert.ok(stop.reason === 'privilege' && stop.to === 'M' && stop.from !== 'M' && stop.pc === handler, show(stop));
  }
  // Both the kernel's ecalls and the machine timer interrupting user code lead into M.
  assert.ok(stops.some((stop) => stop.reason === 'privilege' && stop.from === 'S' && stop.cause === 9));
  assert.ok(stops.some((stop) => stop.reason === 'privilege' && stop.from === 'U' && stop.interrupt === true && stop.cause === 7));
});

test('privilege M->S via mret stops at kmain', () => {
  const session = debugGuest('demo');
  const id = session.debugger.addEventBreakpoint({ kind: 'privilege', from: 'M', to: 'S' });
  const stop = session.debugger.continue();
  assert.ok(stop?.reason === 'privilege', show(stop));
  assert.deepEqual([stop.breakpointId, stop.pc, stop.from, stop.to, stop.via], [id, symbol(session.elf, 'kmain'), 'M', 'S', 'mret']);
  assert.equal(session.output(), '');
});

// ---- traps and interrupts -----------------------------------------------------------------

test('trap breakpoint on exception 8 (ecall from U) reports cause, tval, epc, from and to', () => {
  const session = debugGuest('demo');
  const id = session.debugger.addEventBreakpoint({ kind: 'trap', interrupt: false, code: 8 });
  const handler = symbol(session.elf, 's_trap_entry');
  const stops = stopsUntilExit(session);
  for (const stop of stops) {
    assert.ok(stop.reason === 'trap', show(stop));
    assert.deepEqual(
      [stop.breakpointId, stop.hartId, stop.pc, stop.interrupt, stop.cause, stop.tval, stop.from, stop.to],
      [id, 0, handler, false, 8, 0n, 'U', 'S'],
    );
  }
  // One per system call, each from the user stub's ecall.
  assert.equal(stops.length, reportedSystemCalls(session.output()));
  const epcs = new Set(stops.map((stop) => (stop.reason === 'trap' ? stop.epc : -1n)));
  assert.equal(epcs.size, 1);
  const userSyscall = symbol(session.elf, 'syscall', demoUserRange(session.elf));
  const [epc] = epcs;
  assert.ok(epc > userSyscall && epc < userSyscall + 16n, show(stops[0]));
  assert.equal(session.output(), freeRun('demo').output);
});

test('interrupt breakpoint on code 7 (machine timer) stops in M with interrupt: true', () => {
  const session = debugGuest('demo');
  const id = session.debugger.addEventBreakpoint({ kind: 'trap', interrupt: true, code: 7 });
  const stop = session.debugger.continue();
  assert.ok(stop?.reason === 'trap', show(stop));
  const handler = symbol(session.elf, 'm_trap_entry');
  assert.deepEqual([stop.breakpointId, stop.pc, stop.interrupt, stop.cause, stop.tval, stop.to], [id, handler, true, 7, 0n, 'M']);
  assert.equal(joinHalves(session.hart.mcauseLo, session.hart.mcauseHi), INTERRUPT_BIT | 7n);
  assert.equal(stop.epc, joinHalves(session.hart.mepcLo, session.hart.mepcHi));
  // The kernel runs with interrupts off: the tick lands in a user task.
  assert.equal(stop.from, 'U');
  const range = demoUserRange(session.elf);
  assert.ok(stop.epc >= range.low && stop.epc < range.high);
});

test('interrupt breakpoint on code 5 (supervisor timer) stops once per tick', () => {
  const session = debugGuest('demo');
  const id = session.debugger.addEventBreakpoint({ kind: 'trap', interrupt: true, code: 5 });
  const handler = symbol(session.elf, 's_trap_entry');
  const stops = stopsUntilExit(session);
  for (const stop of stops) {
    assert.ok(stop.reason === 'trap', show(stop));
    assert.deepEqual([stop.breakpointId, stop.pc, stop.interrupt, stop.cause, stop.from, stop.to], [id, handler, true, 5, 'U', 'S']);
  }
  assert.equal(stops.length, reportedTicks(session.output()));
});

test("a trap breakpoint with code '*' stops at the first trap of any cause", () => {
  const session = debugGuest('demo');
  session.debugger.addEventBreakpoint({ kind: 'trap', interrupt: false, code: '*' });
  const stop = session.debugger.continue();
  assert.ok(stop?.reason === 'trap', show(stop));
  // The kernel's ecall to M (cause 9) comes before any user system call.
  assert.deepEqual([stop.cause, stop.from, stop.to], [9, 'S', 'M']);
  const afterKernel = session.debugger.continue();
  assert.ok(afterKernel?.reason === 'trap');
  assert.ok(afterKernel.cause === 9 || afterKernel.cause === 8, show(afterKernel));
});

test('a trap breakpoint with a hart filter only stops on that hart', () => {
  // smp: hart 0 takes the machine software interrupt (3) at the end; hart 1 takes no trap.
  const onHart1 = debugGuest('smp');
  onHart1.debugger.addEventBreakpoint({ kind: 'trap', interrupt: true, code: '*', hartId: 1 });
  assert.deepEqual(onHart1.debugger.continue(), { reason: 'exit', exit: PASS });

  const onHart0 = debugGuest('smp');
  const id = onHart0.debugger.addEventBreakpoint({ kind: 'trap', interrupt: true, code: '*', hartId: 0 });
  const stop = onHart0.debugger.continue();
  assert.ok(stop?.reason === 'trap', show(stop));
  assert.deepEqual([stop.breakpointId, stop.hartId, stop.interrupt, stop.cause, stop.to], [id, 0, true, 3, 'M']);
  assert.equal(stop.pc, onHart0.machine.harts[0].pc);
  assert.equal(stop.pc, mtvecOf(onHart0.machine.harts[0]));

  // Without a filter the same trap stops too, and no other one.
  const anyHart = debugGuest('smp');
  anyHart.debugger.addEventBreakpoint({ kind: 'trap', interrupt: true, code: '*' });
  const stops = stopsUntilExit(anyHart);
  assert.deepEqual(stops.map((each) => each.reason === 'trap' && [each.hartId, each.cause]), [[0, 3]]);
});

// ---- console ------------------------------------------------------------------------------

test('console breakpoint stops right after the guest prints the string', () => {
  const session = debugGuest('demo');
  const text = 'task B: round 1';
  const id = session.debugger.addConsoleBreakpoint(text);
  const stop = session.debugger.continue();
  assert.deepEqual(stop, { reason: 'console', hartId: 0, pc: session.hart.pc, breakpointId: id, text });
  assert.ok(session.output().endsWith(text), session.output());
  assert.equal(session.output().indexOf(text), session.output().length - text.length, 'the first occurrence');
  assert.equal(session.debugger.removeBreakpoint(id), true);
  assert.deepEqual(session.debugger.continue(), { reason: 'exit', exit: PASS });
  assert.equal(session.output(), freeRun('demo').output);
});

test('a console breakpoint stops at every occurrence', () => {
  const session = debugGuest('demo');
  const text = 'task A: round ';
  session.debugger.addConsoleBreakpoint(text);
  const lengths: number[] = [];
  for (let stop = session.debugger.continue(); stop?.reason !== 'exit'; stop = session.debugger.continue()) {
    assert.equal(stop?.reason, 'console');
    lengths.push(session.output().length);
  }
  // Task A prints four rounds; each stop is right after one more occurrence.
  const free = freeRun('demo').output;
  const expected = [...free.matchAll(/task A: round /g)].map((match) => match.index + text.length);
  assert.equal(expected.length, 4);
  assert.deepEqual(lengths, expected);
});
