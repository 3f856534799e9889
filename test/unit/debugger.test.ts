// Debugger API on real guests: code breakpoints (virtual and physical), step, runUntil,
// pause, single-hart execution, exit and determinism. Addresses come from the guests' ELF
// symbol tables; "where did it stop" is checked against a fresh machine replayed to the same
// retired-instruction count, so the tests do not depend on the exact code the compiler made.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { privilegeName } from '../../vmm-core/cpu/csr-numbers';
import type { Hart } from '../../vmm-core/cpu/hart';
import { Debugger } from '../../vmm-core/debug/debugger';
import { Operation } from '../../vmm-core/isa/operations';
import {
  bootGuest, debugGuest, demoUserRange, freeRun, instructionAt, joinHalves, PASS, physicalOf, readUnsigned, register, replayTo,
  reportedSystemCalls, show, symbol,
} from './debugger-guest';

const stvecOf = (hart: Hart): bigint => joinHalves(hart.stvecLo, hart.stvecHi) & ~3n;
const mtvecOf = (hart: Hart): bigint => joinHalves(hart.mtvecLo, hart.mtvecHi) & ~3n;
const A0 = 10;

/** The hart's architectural state, to compare a stopped machine with a replayed one. */
function snapshot(hart: Hart): { pc: bigint; privilege: string; registers: bigint[]; retired: number } {
  return { pc: hart.pc, privilege: privilegeName(hart.privilege), registers: [...hart.registersWide], retired: hart.instructionsRetired };
}

// ---- code breakpoints ---------------------------------------------------------------------

test('a code breakpoint stops before the instruction at its address, on its first arrival', () => {
  const session = debugGuest('demo');
  const userSyscall = symbol(session.elf, 'syscall', demoUserRange(session.elf));
  const id = session.debugger.addCodeBreakpoint({ address: userSyscall });
  const stop = session.debugger.continue();
  assert.deepEqual(stop, { reason: 'breakpoint', hartId: 0, pc: userSyscall, breakpointId: id });
  assert.equal(session.hart.pc, userSyscall);
  assert.equal(privilegeName(session.hart.privilege), 'U');
  // The first system call of task A asks for the tick count (a0 = SYS_TICKS = 2) before it prints anything.
  assert.equal(register(session.hart, A0), 2n);
  assert.ok(!session.output().includes('task A'), session.output());
  // A machine without a debugger, run for the same number of instructions, is in the same
  // state: nothing under the breakpoint has executed.
  const reference = replayTo('demo', session.hart.instructionsRetired);
  assert.deepEqual(snapshot(reference.machine.harts[0]), snapshot(session.hart));
});

test('continuing from a breakpoint executes the instruction under it and stops at the next hit', () => {
  const session = debugGuest('demo');
  const userSyscall = symbol(session.elf, 'syscall', demoUserRange(session.elf));
  const id = session.debugger.addCodeBreakpoint({ address: userSyscall });
  let hits = 0;
  let previousRetired = -1;
  for (;;) {
    const stop = session.debugger.continue();
    assert.ok(stop !== undefined);
    if (stop.reason === 'exit') {
      assert.deepEqual(stop.exit, PASS);
      break;
    }
    assert.deepEqual(stop, { reason: 'breakpoint', hartId: 0, pc: userSyscall, breakpointId: id });
    // Not the same stop again: the stub, a system call and user code ran in between.
    assert.ok(session.hart.instructionsRetired > previousRetired + 10, `hit ${hits} at ${session.hart.instructionsRetired}`);
    previousRetired = session.hart.instructionsRetired;
    hits++;
  }
  // Every system call of both tasks goes through the stub once.
  assert.equal(hits, reportedSystemCalls(session.output()));
  // Twenty stops changed nothing the guest can see.
  const free = freeRun('demo');
  assert.equal(session.output(), free.output);
  assert.equal(session.hart.instructionsRetired, free.retired[0]);
});

test('a breakpoint is hit even when the run resumes from a stop somewhere else', () => {
  // The first instruction the hart executes on the breakpoint's page is the breakpoint itself:
  // the step-over-the-breakpoint logic of continue must not swallow it.
  const session = debugGuest('demo');
  const userEntry = symbol(session.elf, 'user_entry');
  const breakpoint = session.debugger.addCodeBreakpoint({ address: userEntry });
  const consoleStop = session.debugger.addConsoleBreakpoint('paging on');
  assert.equal(session.debugger.continue()?.reason, 'console');
  session.debugger.removeBreakpoint(consoleStop);
  const taskIds: bigint[] = [];
  for (;;) {
    const stop = session.debugger.continue();
    assert.ok(stop !== undefined);
    if (stop.reason === 'exit') break;
    assert.deepEqual(stop, { reason: 'breakpoint', hartId: 0, pc: userEntry, breakpointId: breakpoint });
    taskIds.push(register(session.hart, A0));
  }
  // Task A (a0 = 0) enters first, then task B.
  assert.deepEqual(taskIds, [0n, 1n]);
});

test('a breakpoint is hit after a step that ended elsewhere', () => {
  const session = debugGuest('demo');
  const kmain = symbol(session.elf, 'kmain');
  const userEntry = symbol(session.elf, 'user_entry');
  assert.equal(session.debugger.runUntil(kmain)?.reason, 'step');
  assert.equal(session.debugger.step(0, 3).reason, 'step');
  const id = session.debugger.addCodeBreakpoint({ address: userEntry });
  assert.deepEqual(session.debugger.continue(), { reason: 'breakpoint', hartId: 0, pc: userEntry, breakpointId: id });
  assert.equal(register(session.hart, A0), 0n);
});

test('a breakpoint on the trap handler is hit by the first trap after resuming from user code', () => {
  // Stopped in user code (its page is in the fetch TLB), the next instruction fetched from a
  // page that is not is the handler's, after the trap: it must not count as the resumed one.
  const session = debugGuest('demo');
  const handler = symbol(session.elf, 's_trap_entry');
  assert.equal(session.debugger.runUntil(symbol(session.elf, 'work'))?.reason, 'step');
  const id = session.debugger.addCodeBreakpoint({ address: handler });
  assert.equal(session.debugger.step(0, 5).reason, 'step');
  const stop = session.debugger.continue();
  assert.deepEqual(stop, { reason: 'breakpoint', hartId: 0, pc: handler, breakpointId: id });

  // The same place as the first U->S transition after `work` in an identical run.
  const reference = debugGuest('demo');
  assert.equal(reference.debugger.runUntil(symbol(reference.elf, 'work'))?.reason, 'step');
  reference.debugger.addEventBreakpoint({ kind: 'privilege', from: 'U', to: 'S' });
  assert.equal(reference.debugger.continue()?.reason, 'privilege');
  assert.deepEqual(snapshot(session.hart), snapshot(reference.hart));
});

test('a breakpoint reached exactly where a budget-limited continue ended stops the next continue', () => {
  // Clients run in slices (continue with a budget, yield, continue): a slice boundary is not
  // a stop, so the next slice must not step over a breakpoint it starts on.
  const probe = debugGuest('demo');
  const kputc = symbol(probe.elf, 'kputc');
  probe.debugger.addCodeBreakpoint({ address: kputc });
  assert.equal(probe.debugger.continue()?.reason, 'breakpoint');
  const retired = probe.hart.instructionsRetired;

  const session = debugGuest('demo');
  const id = session.debugger.addCodeBreakpoint({ address: kputc });
  assert.equal(session.debugger.continue(retired), undefined, 'the budget ends the slice');
  assert.deepEqual([session.hart.pc, session.hart.instructionsRetired], [kputc, retired]);
  assert.deepEqual(session.debugger.continue(), { reason: 'breakpoint', hartId: 0, pc: kputc, breakpointId: id });
  assert.equal(session.hart.instructionsRetired, retired);
  // Sliced the same way after a stop, the instruction under the breakpoint still executes.
  assert.equal(session.debugger.continue(1), undefined);
  assert.equal(session.hart.instructionsRetired, retired + 1);
});

test('removing a breakpoint lets the guest run to exit', () => {
  const session = debugGuest('demo');
  const kputc = symbol(session.elf, 'kputc');
  const id = session.debugger.addCodeBreakpoint({ address: kputc });
  assert.equal(session.debugger.continue()?.reason, 'breakpoint');
  assert.equal(session.debugger.continue()?.reason, 'breakpoint');
  assert.equal(session.output().length, 1, 'kputc ran once between the two stops');
  assert.equal(session.debugger.removeBreakpoint(id), true);
  assert.equal(session.debugger.removeBreakpoint(id), false);
  assert.deepEqual(session.debugger.continue(), { reason: 'exit', exit: PASS });
  assert.equal(session.output(), freeRun('demo').output);
});

test('physical breakpoint in the demo kernel while Sv39 is on', () => {
  // The demo maps its kernel at the same virtual address as physical: the breakpoint must
  // still go through the page tables and stop in S-mode with paging active.
  const session = debugGuest('demo');
  const sTrap = symbol(session.elf, 's_trap');
  const id = session.debugger.addCodeBreakpoint({ address: sTrap, physical: true });
  assert.deepEqual(session.debugger.continue(), { reason: 'breakpoint', hartId: 0, pc: sTrap, breakpointId: id });
  assert.equal(privilegeName(session.hart.privilege), 'S');
  assert.equal(session.hart.satpHi >>> 28, 8, 'Sv39 is on');
  assert.equal(physicalOf(session.machine, session.hart, session.hart.pc), sTrap);
  const reference = replayTo('demo', session.hart.instructionsRetired);
  assert.deepEqual(snapshot(reference.machine.harts[0]), snapshot(session.hart));
});

test('physical breakpoint matches code run through a different virtual address; a virtual one does not', () => {
  // The vm guest maps its user page (linked and loaded at u_load's address) at another
  // virtual address and runs it in U-mode from there.
  const physicalSession = debugGuest('vm');
  const userLoad = symbol(physicalSession.elf, 'u_load');
  const id = physicalSession.debugger.addCodeBreakpoint({ address: userLoad, physical: true });
  const stop = physicalSession.debugger.continue();
  assert.ok(stop?.reason === 'breakpoint', show(stop));
  assert.equal(stop.breakpointId, id);
  const hart = physicalSession.hart;
  assert.equal(stop.pc, hart.pc);
  assert.notEqual(hart.pc, userLoad, 'the user page runs at a different virtual address');
  assert.equal(hart.pc & 0xfffn, userLoad & 0xfffn);
  assert.equal(physicalOf(physicalSession.machine, hart, hart.pc), userLoad);
  assert.equal(privilegeName(hart.privilege), 'U');
  assert.notEqual(hart.satpHi >>> 28, 0);

  const virtualSession = debugGuest('vm');
  virtualSession.debugger.addCodeBreakpoint({ address: userLoad });
  assert.deepEqual(virtualSession.debugger.continue(), { reason: 'exit', exit: PASS });
});

// ---- step ---------------------------------------------------------------------------------

test('step(hart, n) retires exactly n instructions and leaves the state of an n-instruction run', () => {
  const session = debugGuest('demo');
  // build_kernel_map runs in S-mode before any timer is armed: no trap can interrupt it.
  const buildKernelMap = symbol(session.elf, 'build_kernel_map');
  assert.equal(session.debugger.runUntil(buildKernelMap)?.reason, 'step');
  const before = session.hart.instructionsRetired;
  const stop = session.debugger.step(0, 1000);
  assert.deepEqual(stop, { reason: 'step', hartId: 0, pc: session.hart.pc });
  assert.equal(session.hart.instructionsRetired - before, 1000);
  const reference = replayTo('demo', before + 1000);
  assert.deepEqual(snapshot(reference.machine.harts[0]), snapshot(session.hart));

  // Single steps land exactly where one long step does.
  for (let index = 0; index < 25; index++) {
    const retired = session.hart.instructionsRetired;
    assert.equal(session.debugger.step(0, 1).reason, 'step');
    assert.equal(session.hart.instructionsRetired, retired + 1);
  }
  const longStep = replayTo('demo', before + 1000);
  assert.equal(longStep.machine.run(25).kind, 'budget');
  assert.deepEqual(snapshot(longStep.machine.harts[0]), snapshot(session.hart));
});

test('stepping from a breakpoint executes the instruction under it', () => {
  const session = debugGuest('demo');
  const kputc = symbol(session.elf, 'kputc');
  const id = session.debugger.addCodeBreakpoint({ address: kputc });
  assert.equal(session.debugger.continue()?.reason, 'breakpoint');
  const retired = session.hart.instructionsRetired;
  const stop = session.debugger.step(0, 1);
  assert.equal(stop.reason, 'step');
  assert.equal(session.hart.instructionsRetired, retired + 1);
  assert.notEqual(session.hart.pc, kputc);
  // ...and the breakpoint is still armed for the next call.
  assert.deepEqual(session.debugger.continue(), { reason: 'breakpoint', hartId: 0, pc: kputc, breakpointId: id });
  assert.ok(session.hart.instructionsRetired > retired + 1);
});

/** Steps single instructions until the one at pc is an ecall (at most `limit` steps). */
function stepToEcall(session: ReturnType<typeof debugGuest>, limit: number): bigint {
  for (let index = 0; index < limit; index++) {
    if (instructionAt(session.machine, session.hart, session.hart.pc).operation === Operation.Ecall) return session.hart.pc;
    assert.equal(session.debugger.step(0, 1).reason, 'step');
  }
  assert.fail(`no ecall within ${limit} instructions`);
}

test('stepping an ecall from U-mode lands on the first instruction of the S-mode trap handler', () => {
  const session = debugGuest('demo');
  const userSyscall = symbol(session.elf, 'syscall', demoUserRange(session.elf));
  assert.equal(session.debugger.runUntil(userSyscall)?.reason, 'step');
  const ecallAddress = stepToEcall(session, 8);
  const retired = session.hart.instructionsRetired;
  const stop = session.debugger.step(0, 1);
  const handler = symbol(session.elf, 's_trap_entry');
  assert.deepEqual(stop, { reason: 'step', hartId: 0, pc: handler });
  assert.equal(stvecOf(session.hart), handler);
  assert.equal(privilegeName(session.hart.privilege), 'S');
  // An ecall raises an exception instead of retiring.
  assert.equal(session.hart.instructionsRetired, retired);
  assert.equal(joinHalves(session.hart.scauseLo, session.hart.scauseHi), 8n);
  assert.equal(joinHalves(session.hart.sepcLo, session.hart.sepcHi), ecallAddress);
  // The next step executes the handler's first instruction.
  assert.equal(session.debugger.step(0, 1).reason, 'step');
  assert.equal(session.hart.instructionsRetired, retired + 1);
});

test('stepping an ecall from S-mode lands on the first instruction of the M-mode trap handler', () => {
  const session = debugGuest('demo');
  assert.equal(session.debugger.runUntil(symbol(session.elf, 'sbi_call'))?.reason, 'step');
  const ecallAddress = stepToEcall(session, 8);
  const stop = session.debugger.step(0, 1);
  const handler = symbol(session.elf, 'm_trap_entry');
  assert.deepEqual(stop, { reason: 'step', hartId: 0, pc: handler });
  assert.equal(mtvecOf(session.hart), handler);
  assert.equal(privilegeName(session.hart.privilege), 'M');
  assert.equal(joinHalves(session.hart.mcauseLo, session.hart.mcauseHi), 9n);
  assert.equal(joinHalves(session.hart.mepcLo, session.hart.mepcHi), ecallAddress);
});

test('step(hart, n) counts a trap as one step: n single steps and one n-step agree', () => {
  const stepped = debugGuest('demo');
  const single = debugGuest('demo');
  const userSyscall = symbol(stepped.elf, 'syscall', demoUserRange(stepped.elf));
  for (const session of [stepped, single]) assert.equal(session.debugger.runUntil(userSyscall)?.reason, 'step');
  // The stub's few instructions, the ecall, then into the handler.
  stepped.debugger.step(0, 12);
  for (let index = 0; index < 12; index++) single.debugger.step(0, 1);
  assert.deepEqual(snapshot(single.hart), snapshot(stepped.hart));
  assert.equal(privilegeName(stepped.hart.privilege), 'S');
});

// ---- runUntil and pause -------------------------------------------------------------------

test('runUntil(address) stops at the address and leaves no breakpoint behind', () => {
  const session = debugGuest('demo');
  const kmain = symbol(session.elf, 'kmain');
  assert.deepEqual(session.debugger.runUntil(kmain), { reason: 'step', hartId: 0, pc: kmain });
  assert.equal(session.hart.pc, kmain);
  assert.equal(privilegeName(session.hart.privilege), 'S');
  assert.equal(session.output(), '', 'kmain has not printed yet');
  assert.deepEqual(session.debugger.continue(), { reason: 'exit', exit: PASS });
});

test('runUntil gives up at its budget and removes its breakpoint', () => {
  const session = debugGuest('demo');
  const allDone = symbol(session.elf, 'all_done');
  assert.equal(session.debugger.runUntil(allDone, 0, 10_000), undefined);
  assert.ok(session.hart.instructionsRetired >= 10_000);
  assert.deepEqual(session.debugger.continue(), { reason: 'exit', exit: PASS });
});

test('runUntil reports another breakpoint that comes first', () => {
  const session = debugGuest('demo');
  const kputc = symbol(session.elf, 'kputc');
  const id = session.debugger.addCodeBreakpoint({ address: kputc });
  assert.deepEqual(session.debugger.runUntil(symbol(session.elf, 'all_done')), { reason: 'breakpoint', hartId: 0, pc: kputc, breakpointId: id });
});

test('pause() from a console listener stops the run right after the write', () => {
  let debuggerRef: Debugger | undefined;
  let lines = 0;
  const session = bootGuest('demo', (byte) => {
    if (byte === 10 && ++lines === 1) debuggerRef?.pause();
  });
  const attached = new Debugger(session.machine);
  debuggerRef = attached;
  const stop = attached.continue();
  assert.ok(stop?.reason === 'pause');
  assert.equal(stop.hartId, 0);
  assert.equal(stop.pc, session.machine.harts[0].pc);
  assert.equal(session.output(), 'demo: kernel running in S-mode\n');
  assert.deepEqual(attached.continue(), { reason: 'exit', exit: PASS });
});

// ---- several harts ------------------------------------------------------------------------

test('a breakpoint hit by hart 1 can be continued from', () => {
  const session = debugGuest('smp');
  const secondaryMain = symbol(session.elf, 'secondary_main');
  const id = session.debugger.addCodeBreakpoint({ address: secondaryMain });
  assert.deepEqual(session.debugger.continue(), { reason: 'breakpoint', hartId: 1, pc: secondaryMain, breakpointId: id });
  const retired = session.machine.harts[1].instructionsRetired;
  // Only hart 1 runs secondary_main, once: the next stop is the exit.
  assert.deepEqual(session.debugger.continue(), { reason: 'exit', exit: PASS });
  assert.ok(session.machine.harts[1].instructionsRetired > retired);
});

test('runUntil(address, hartId) waits for that hart', () => {
  const session = debugGuest('smp');
  const secondaryMain = symbol(session.elf, 'secondary_main');
  assert.deepEqual(session.debugger.runUntil(secondaryMain, 1), { reason: 'step', hartId: 1, pc: secondaryMain });
  assert.equal(session.machine.harts[1].pc, secondaryMain);
  // Hart 1 never reaches main: running until hart 1 gets there ends with the guest's exit,
  // though hart 0 passes through main.
  const other = debugGuest('smp');
  assert.deepEqual(other.debugger.runUntil(symbol(other.elf, 'main'), 1), { reason: 'exit', exit: PASS });
});

test('single-hart stepping and continuing on the smp guest leave the other hart untouched', () => {
  const session = debugGuest('smp');
  const [hart0, hart1] = session.machine.harts;
  // Stop where hart 0 sets `go` (after the .bss clear): it is about to wake hart 1 and
  // start counting; hart 1 sleeps in wfi until then.
  const go = symbol(session.elf, 'go');
  const id = session.debugger.addWatchpoint({ address: go, size: 4, access: 'write' });
  let stop = session.debugger.continue();
  while (stop?.reason === 'watchpoint' && readUnsigned(session.machine, go, 4) === 0n) stop = session.debugger.continue();
  assert.deepEqual(stop?.reason === 'watchpoint' && [stop.hartId, stop.breakpointId], [0, id]);
  session.debugger.removeBreakpoint(id);
  assert.ok(hart1.instructionsRetired > 0, 'hart 1 has started');

  const other = snapshot(hart1);
  const before0 = hart0.instructionsRetired;
  assert.equal(session.debugger.step(0, 100).reason, 'step');
  assert.equal(hart0.instructionsRetired - before0, 100);
  assert.deepEqual(snapshot(hart1), other);

  const first = snapshot(hart0);
  const before1 = hart1.instructionsRetired;
  assert.deepEqual(session.debugger.step(1, 50), { reason: 'step', hartId: 1, pc: hart1.pc });
  assert.equal(hart1.instructionsRetired - before1, 50);
  assert.deepEqual(snapshot(hart0), first);

  assert.equal(session.debugger.continue(1000, 1), undefined, 'the budget ends the run');
  assert.equal(hart1.instructionsRetired - before1, 1050);
  assert.deepEqual(snapshot(hart0), first);

  assert.deepEqual(session.debugger.continue(), { reason: 'exit', exit: PASS });
  assert.ok(session.output().includes('PASS'), session.output());
});

test('stepping a hart that sleeps until another hart wakes it does not kill the machine', () => {
  const session = debugGuest('smp');
  const hart1 = session.machine.harts[1];
  // Hart 1 publishes h1_done, then sleeps in wfi until hart 0's IPI.
  const done = session.debugger.addWatchpoint({ address: symbol(session.elf, 'h1_done'), size: 4, access: 'write' });
  let stop = session.debugger.continue();
  while (stop?.reason === 'watchpoint' && stop.hartId !== 1) stop = session.debugger.continue();
  assert.equal(stop?.reason, 'watchpoint');
  session.debugger.removeBreakpoint(done);
  const before = hart1.instructionsRetired;
  const result = session.debugger.step(1, 200);
  // The step ends early, after the wfi, with the hart asleep and the machine still alive.
  assert.deepEqual(result, { reason: 'step', hartId: 1, pc: hart1.pc }, show(result));
  assert.equal(session.machine.exit, null);
  assert.ok(hart1.waitingForInterrupt, 'hart 1 is asleep');
  assert.ok(hart1.instructionsRetired - before < 200);
  assert.equal(instructionAt(session.machine, hart1, hart1.pc - 4n).operation, Operation.Wfi);
  // With both harts running again, hart 0 wakes it and the guest passes.
  assert.deepEqual(session.debugger.continue(), { reason: 'exit', exit: PASS });
});

// ---- exit and determinism -----------------------------------------------------------------

test('continue to the end reports the exit, and again afterwards', () => {
  const session = debugGuest('demo');
  assert.deepEqual(session.debugger.continue(), { reason: 'exit', exit: PASS });
  assert.deepEqual(session.debugger.continue(), { reason: 'exit', exit: PASS });
  assert.deepEqual(session.debugger.step(0, 1), { reason: 'exit', exit: PASS });
});

test('two machines running the demo retire the same number of instructions', () => {
  const first = debugGuest('demo');
  const second = debugGuest('demo');
  assert.deepEqual(first.debugger.continue(), { reason: 'exit', exit: PASS });
  assert.deepEqual(second.debugger.continue(), { reason: 'exit', exit: PASS });
  assert.equal(first.hart.instructionsRetired, second.hart.instructionsRetired);
  assert.equal(first.hart.virtualNanoseconds, second.hart.virtualNanoseconds);
  assert.equal(first.output(), second.output());
});

test('an attached debugger with nothing armed changes nothing the guest can see', () => {
  const free = freeRun('demo');
  const session = debugGuest('demo');
  // Arm and disarm one of each kind first: what is left must cost nothing either.
  const ids = [
    session.debugger.addCodeBreakpoint({ address: symbol(session.elf, 'kputc') }),
    session.debugger.addCodeBreakpoint({ address: symbol(session.elf, 's_trap'), physical: true }),
    session.debugger.addWatchpoint({ address: symbol(session.elf, 'ticks'), size: 8, access: 'readWrite' }),
    session.debugger.addEventBreakpoint({ kind: 'privilege', from: '*', to: '*' }),
    session.debugger.addEventBreakpoint({ kind: 'trap', interrupt: true, code: '*' }),
    session.debugger.addConsoleBreakpoint('task'),
  ];
  for (const id of ids) assert.equal(session.debugger.removeBreakpoint(id), true);
  for (const mmu of session.machine.mmus) assert.deepEqual([mmu.codeBreakpoints, mmu.watcher], [null, null]);
  assert.deepEqual(session.debugger.continue(), { reason: 'exit', exit: free.exit });
  assert.equal(session.output(), free.output);
  assert.deepEqual(session.machine.harts.map((hart) => hart.instructionsRetired), free.retired);
  assert.deepEqual(session.machine.harts.map((hart) => hart.virtualNanoseconds), free.nanoseconds);
});

test('single-stepping through LR/SC keeps the reservation, so the guest passes as in a free run', () => {
  const session = debugGuest('rv64a');
  let stop = session.debugger.step(0, 1);
  for (let steps = 0; steps < 20_000 && stop.reason !== 'exit'; steps++) stop = session.debugger.step(0, 1);
  assert.deepEqual(stop, { reason: 'exit', exit: PASS });
  assert.ok(session.output().includes('ok lr/sc'), session.output());
});
