// Stepping on the demo kernel: next, stepIn and stepOut by line, statement and instruction;
// over an ecall (lands after it, back in the caller's privilege level) and into one (the
// handler's first instruction); interrupts that do not derail a step unless asked; pause.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { guestPath, hex, lineOf, openSession, sourcePath, symbolAddress, type Session } from './support';

const KERNEL_C = 'guests/demo/kernel.c';
const USER_C = 'guests/demo/user.c';

async function privilege(session: Session): Promise<string | undefined> {
  const frame = await session.topFrame();
  return (await session.scope(frame.id, 'Registers')).find((register) => register.name === 'privilege')?.value;
}

async function stepAndWhere(session: Session, step: () => Promise<unknown>): Promise<DebugProtocol.StackFrame> {
  await step();
  const stop = await session.stopped();
  assert.equal(stop.reason, 'step');
  return session.topFrame();
}

test('next, stepIn and stepOut by line in kernel C', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const start = lineOf(KERNEL_C, 'syscall(f);');
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath(KERNEL_C) }, breakpoints: [{ line: start }] });
    });
    await session.stopped();
    assert.equal((await session.topFrame()).line, start);
    // Into syscall(): past its prologue (the opening brace's row), on its first body line.
    let frame = await stepAndWhere(session, () => session.client.stepInRequest({ threadId: 1 }));
    assert.equal(frame.name, 'syscall');
    assert.equal(frame.line, lineOf(KERNEL_C, 'struct task *t = &tasks[current];'));
    assert.ok(BigInt(frame.instructionPointerReference!) > symbolAddress('demo', 'syscall'));
    const trace = (await session.client.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    assert.deepEqual(trace.map((entry) => entry.name), ['syscall', 's_trap', 's_trap_entry', '[trap: ecall from U-mode]', 'syscall']);
    assert.equal(trace[1].line, start);
    // Over lines of syscall(), never leaving it.
    frame = await stepAndWhere(session, () => session.client.nextRequest({ threadId: 1 }));
    assert.equal(frame.name, 'syscall');
    assert.ok(frame.line > lineOf(KERNEL_C, 'static void syscall(struct frame *f)'));
    // Out: back in s_trap at the return address (the call ends its line: that is the next one).
    frame = await stepAndWhere(session, () => session.client.stepOutRequest({ threadId: 1 }));
    assert.equal(frame.name, 's_trap');
    assert.equal(frame.line, lineOf(KERNEL_C, 'return;', start));
    // Over the end of s_trap (its closing brace is a line too): back in the assembly trap entry, after its call.
    for (let steps = 0; steps < 3 && frame.name === 's_trap'; steps++) {
      frame = await stepAndWhere(session, () => session.client.nextRequest({ threadId: 1 }));
    }
    assert.equal(frame.name, 's_trap_entry');
    assert.equal(frame.line, lineOf('guests/demo/start.S', 'call    s_trap') + 1);
    // By statement and by instruction inside the assembly.
    frame = await stepAndWhere(session, () => session.client.nextRequest({ threadId: 1, granularity: 'statement' }));
    assert.equal(frame.name, 'enter_user');
    const before = BigInt(frame.instructionPointerReference!);
    frame = await stepAndWhere(session, () => session.client.nextRequest({ threadId: 1, granularity: 'instruction' }));
    assert.ok(BigInt(frame.instructionPointerReference!) > before);
  } finally {
    await session.close();
  }
});

test('over an ecall lands after it in U-mode; into an ecall lands on the handler', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const ecallLine = lineOf(USER_C, 'asm volatile("ecall"');
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath(USER_C) }, breakpoints: [{ line: ecallLine }] });
    });
    await session.stopped();
    let frame = await session.topFrame();
    const ecall = BigInt(frame.instructionPointerReference!);
    assert.equal((await session.client.disassembleRequest({ memoryReference: frame.instructionPointerReference!, instructionCount: 1 })).body!.instructions[0].instruction, 'ecall');
    // Over, by instruction: the next instruction, in U-mode, with the system call's result.
    frame = await stepAndWhere(session, () => session.client.nextRequest({ threadId: 1, granularity: 'instruction' }));
    assert.equal(frame.instructionPointerReference, hex(ecall + 4n));
    assert.equal(await privilege(session), 'U (user)');
    // Into, by instruction: the first instruction of the S-mode trap handler.
    await session.client.continueRequest({ threadId: 1 });
    await session.stopped();
    assert.equal((await session.topFrame()).instructionPointerReference, hex(ecall));
    frame = await stepAndWhere(session, () => session.client.stepInRequest({ threadId: 1, granularity: 'instruction' }));
    assert.equal(frame.instructionPointerReference, hex(symbolAddress('demo', 's_trap_entry')));
    assert.equal(await privilege(session), 'S (supervisor)');
    // Out of the handler: back in U-mode after the ecall.
    frame = await stepAndWhere(session, () => session.client.stepOutRequest({ threadId: 1 }));
    assert.equal(frame.instructionPointerReference, hex(ecall + 4n));
    assert.equal(await privilege(session), 'U (user)');
    // By line: stepping into the line with the ecall lands on the handler too, and over it stays in U.
    await session.client.continueRequest({ threadId: 1 });
    await session.stopped();
    frame = await stepAndWhere(session, () => session.client.stepInRequest({ threadId: 1 }));
    assert.equal(frame.name, 's_trap_entry');
    await session.client.continueRequest({ threadId: 1 });
    await session.stopped();
    frame = await stepAndWhere(session, () => session.client.nextRequest({ threadId: 1 }));
    assert.equal(frame.source?.path, sourcePath(USER_C));
    assert.equal(await privilege(session), 'U (user)');
  } finally {
    await session.close();
  }
});

test('a line step over a system call in user code stays in the task', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const write = lineOf(USER_C, 'syscall(SYS_WRITE, (long)line, p - line);');
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath(USER_C) }, breakpoints: [{ line: write }] });
    });
    await session.stopped();
    const satp = (await session.evaluate('$satp')).result;
    await session.client.setBreakpointsRequest({ source: { path: sourcePath(USER_C) }, breakpoints: [] });
    const frame = await stepAndWhere(session, () => session.client.nextRequest({ threadId: 1 }));
    assert.equal(frame.name, 'user_entry');
    assert.equal(frame.line, write + 1);
    assert.equal((await session.evaluate('$satp')).result, satp);
    assert.match(session.output(), /task A: round 1 value/);
  } finally {
    await session.close();
  }
});

async function stepWithPendingInterrupt(interruptsDuringStep: boolean): Promise<{ frame: DebugProtocol.StackFrame; privilege?: string; start: bigint }> {
  const session = await openSession();
  try {
    const line = lineOf(USER_C, 'if (round == 2)');
    await session.launch({ program: guestPath('demo'), interruptsDuringStep }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath(USER_C) }, breakpoints: [{ line }] });
    });
    await session.stopped();
    await session.client.setBreakpointsRequest({ source: { path: sourcePath(USER_C) }, breakpoints: [] });
    const start = BigInt((await session.topFrame()).instructionPointerReference!);
    // Raise the supervisor timer interrupt by hand: U-mode takes it before its next instruction.
    const frame = await session.topFrame();
    const scopes = (await session.client.scopesRequest({ frameId: frame.id })).body.scopes;
    const csrs = scopes.find((scope) => scope.name === 'CSRs')!;
    const mip = BigInt((await session.evaluate('$mip')).result);
    await session.client.setVariableRequest({ variablesReference: csrs.variablesReference, name: 'mip', value: hex(mip | 0x20n) });
    const after = await stepAndWhere(session, () => session.client.stepInRequest({ threadId: 1, granularity: 'instruction' }));
    return { frame: after, privilege: await privilege(session), start };
  } finally {
    await session.close();
  }
}

test('an interrupt does not derail a step unless interruptsDuringStep is set', { timeout: 20_000 }, async () => {
  const calm = await stepWithPendingInterrupt(false);
  assert.equal(calm.privilege, 'U (user)');
  assert.equal(calm.frame.name, 'user_entry');
  assert.ok(BigInt(calm.frame.instructionPointerReference!) > calm.start);
  const derailed = await stepWithPendingInterrupt(true);
  assert.equal(derailed.privilege, 'S (supervisor)');
  assert.equal(derailed.frame.instructionPointerReference, hex(symbolAddress('demo', 's_trap_entry')));
});

test('pause lands quickly while the guest runs; disconnect while running', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('bench') });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const asked = performance.now();
    await session.client.pauseRequest({ threadId: 1 });
    const stop = await session.stopped();
    const latency = performance.now() - asked;
    assert.equal(stop.reason, 'pause');
    assert.ok(latency < 250, `pause took ${latency.toFixed(0)} ms`);
    const frame = await session.topFrame();
    assert.ok(frame.name.length > 0);
    // The VM control pauses too; threads answer while running; disconnect ends a running session.
    await session.client.continueRequest({ threadId: 1 });
    assert.equal((await session.client.threadsRequest()).body.threads.length, 1);
    assert.equal(((await session.request('ringside/vm', { action: 'pause' })).body as { running: boolean }).running, true);
    assert.equal((await session.stopped()).reason, 'pause');
    await session.client.continueRequest({ threadId: 1 });
  } finally {
    await session.close();
  }
});
