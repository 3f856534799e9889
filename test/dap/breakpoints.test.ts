// Breakpoints on the demo kernel: source lines in C and assembly, functions, instruction
// addresses (virtual and physical), conditions on locals, hit counts, logpoints, and
// breakpoints on addresses that are not mapped yet (pending until they become reachable).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { guestPath, hex, lineOf, openSession, sourcePath, symbolAddress } from './support';

const KERNEL_C = 'guests/demo/kernel.c';
const START_S = 'guests/demo/start.S';

test('source breakpoints in C and assembly stop at their lines', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const cLine = lineOf(KERNEL_C, 'f->sepc += 4;');
    const asmLine = lineOf(START_S, 'call    s_trap');
    let cBreakpoint: DebugProtocol.Breakpoint | undefined;
    let asmBreakpoint: DebugProtocol.Breakpoint | undefined;
    await session.launch({ program: guestPath('demo') }, async () => {
      cBreakpoint = (await session.client.setBreakpointsRequest({ source: { path: sourcePath(KERNEL_C) }, breakpoints: [{ line: cLine }] })).body.breakpoints[0];
      asmBreakpoint = (await session.client.setBreakpointsRequest({ source: { path: sourcePath(START_S) }, breakpoints: [{ line: asmLine }] })).body.breakpoints[0];
    });
    assert.equal(cBreakpoint?.verified, true);
    assert.equal(cBreakpoint?.line, cLine);
    assert.equal(asmBreakpoint?.verified, true);
    let stop = await session.stopped();
    assert.equal(stop.reason, 'breakpoint');
    assert.deepEqual(stop.hitBreakpointIds, [asmBreakpoint!.id]);
    let frame = await session.topFrame();
    assert.equal(frame.source?.path, sourcePath(START_S));
    assert.equal(frame.line, asmLine);
    assert.equal(frame.name, 's_trap_entry');
    await session.client.continueRequest({ threadId: 1 });
    stop = await session.stopped();
    assert.deepEqual(stop.hitBreakpointIds, [cBreakpoint!.id]);
    frame = await session.topFrame();
    assert.equal(frame.source?.path, sourcePath(KERNEL_C));
    assert.equal(frame.line, cLine);
    assert.equal(frame.name, 'syscall');
    // A line without code moves to the next line that has some.
    const blank = lineOf(KERNEL_C, 'static void syscall(struct frame *f)') - 1;
    const moved = (await session.client.setBreakpointsRequest({ source: { path: sourcePath(KERNEL_C) }, breakpoints: [{ line: blank }] })).body.breakpoints[0];
    assert.equal(moved.verified, true);
    assert.ok(moved.line! > blank, `moved to ${moved.line}`);
  } finally {
    await session.close();
  }
});

test('function and instruction breakpoints, physical too', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const userEntry = symbolAddress('demo', 'user_entry');
    let functions: DebugProtocol.Breakpoint[] = [];
    let instructions: DebugProtocol.Breakpoint[] = [];
    await session.launch({ program: guestPath('demo') }, async () => {
      functions = (await session.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'kmain' }, { name: 'no_such_function' }] })).body.breakpoints;
      instructions = (await session.request<DebugProtocol.SetInstructionBreakpointsResponse>('setInstructionBreakpoints', {
        breakpoints: [{ instructionReference: `phys:${hex(userEntry)}` }],
      })).body.breakpoints;
    });
    assert.equal(functions[0].verified, true);
    assert.equal(functions[1].verified, false);
    assert.match(functions[1].message!, /no function or symbol 'no_such_function'/);
    assert.equal(instructions[0].verified, true);
    let stop = await session.stopped();
    assert.equal(stop.reason, 'function breakpoint');
    let frame = await session.topFrame();
    assert.equal(frame.name, 'kmain');
    // After the prologue: the first body line (kmain's entry row is its opening brace).
    assert.equal(frame.line, lineOf('guests/demo/kernel.c', 'void kmain(void)') + 2);
    assert.ok(BigInt(frame.instructionPointerReference!) > symbolAddress('demo', 'kmain'));
    await session.client.continueRequest({ threadId: 1 });
    stop = await session.stopped();
    assert.equal(stop.reason, 'instruction breakpoint');
    frame = await session.topFrame();
    assert.equal(frame.name, 'user_entry');
    const registers = await session.scope(frame.id, 'Registers');
    assert.equal(registers.find((register) => register.name === 'privilege')?.value, 'U (user)');
  } finally {
    await session.close();
  }
});

test('conditions on locals, hit counts and logpoints', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const line = lineOf(KERNEL_C, 'switch (n) {');
    const source = { path: sourcePath(KERNEL_C) };
    await session.launch({ program: guestPath('demo') }, async () => {
      // SYS_YIELD is 3; the logpoint and the hit count share a line with it.
      await session.client.setBreakpointsRequest({ source, breakpoints: [{ line, condition: 'n == 3' }] });
    });
    let stop = await session.stopped();
    assert.equal(stop.reason, 'breakpoint');
    const frame = await session.topFrame();
    const locals = await session.scope(frame.id, 'Locals');
    // n is a u64: hex (below 10 the decimal would say the same).
    assert.equal(locals.find((variable) => variable.name === 'n')?.value, '0x3');
    assert.equal(BigInt((await session.evaluate('n', frame.id)).result), 3n);

    await session.client.setBreakpointsRequest({ source, breakpoints: [{ line, logMessage: 'syscall {n}, a0 = {$a0}' }, { line, hitCondition: '3' }] });
    session.discard('output');
    await session.client.continueRequest({ threadId: 1 });
    stop = await session.stopped();
    assert.equal(stop.reason, 'breakpoint');
    const logs = session.all.filter((event) => event.event === 'output' && (event as DebugProtocol.OutputEvent).body.category === 'console')
      .map((event) => (event as DebugProtocol.OutputEvent).body.output);
    assert.equal(logs.length, 3, logs.join(''));
    assert.match(logs[0], /^syscall (0x)?[0-9a-f]+, a0 = 0x[0-9a-f]+\n$/);
    // Only the logpoint is left: it logs every system call and never stops.
    await session.client.setBreakpointsRequest({ source, breakpoints: [{ line, logMessage: 'syscall {n}' }] });
    await session.client.continueRequest({ threadId: 1 });
    await session.next('exited');
    const all = session.all.filter((event) => event.event === 'output' && (event as DebugProtocol.OutputEvent).body.output.startsWith('syscall '));
    // 20 system calls in all (task A 11, task B 9); the first yield, where the condition
    // stopped, is task A's 5th (ticks, write, ticks, write, yield): 15 come after it.
    assert.equal(all.length, 15, all.map((event) => (event as DebugProtocol.OutputEvent).body.output).join(''));
  } finally {
    await session.close();
  }
});

test('a breakpoint on an unmapped address is pending and binds when it becomes reachable', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    let pending: DebugProtocol.Breakpoint | undefined;
    // The user stack page: no RAM behind it before the kernel maps it for a task.
    await session.launch({ program: guestPath('demo') }, async () => {
      pending = (await session.request<DebugProtocol.SetInstructionBreakpointsResponse>('setInstructionBreakpoints', {
        breakpoints: [{ instructionReference: '0x40000000' }],
      })).body.breakpoints[0];
      await session.client.setExceptionBreakpointsRequest({ filters: ['privilege:S->U'] });
    });
    assert.equal(pending?.verified, false);
    assert.equal(pending?.reason, 'pending');
    assert.match(pending!.message!, /pending: 0x40000000 is not mapped yet/);
    const stop = await session.stopped();
    assert.equal(stop.reason, 'exception');
    const changed = await session.next<DebugProtocol.BreakpointEvent>('breakpoint');
    assert.equal(changed.body.reason, 'changed');
    assert.equal(changed.body.breakpoint.id, pending!.id);
    assert.equal(changed.body.breakpoint.verified, true);
  } finally {
    await session.close();
  }
});
