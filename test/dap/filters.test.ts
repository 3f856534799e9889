// Ring and trap filters on the demo kernel: a hit stops before the first instruction in the
// new mode (for a trap, the handler's first instruction) with reason 'exception', and
// exceptionInfo gives cause, tval, epc and the privilege levels. Conditions see cause, tval,
// epc, hart and the registers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { guestPath, hex, lineOf, openSession, sourcePath, symbolAddress } from './support';

type ExceptionBody = DebugProtocol.ExceptionInfoResponse['body'] & {
  filterId: string; cause?: number; interrupt?: boolean; tval?: string; epc?: string; fromPrivilege: string; toPrivilege: string; via: string;
};

async function exceptionInfo(session: Awaited<ReturnType<typeof openSession>>): Promise<ExceptionBody> {
  return (await session.client.exceptionInfoRequest({ threadId: 1 })).body as ExceptionBody;
}

test('U->S on a system call lands on the S trap handler\'s first instruction', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    let armed: DebugProtocol.Breakpoint[] = [];
    await session.launch({ program: guestPath('demo') }, async () => {
      armed = (await session.client.setExceptionBreakpointsRequest({ filters: ['privilege:U->S'] })).body!.breakpoints!;
    });
    assert.equal(armed[0].verified, true);
    const stop = await session.stopped();
    assert.equal(stop.reason, 'exception');
    assert.equal(stop.text, 'Ring: U → S');
    // Shown beside the thread in the call stack: short.
    assert.equal(stop.description, 'U → S: environment call from U-mode');
    const frame = await session.topFrame();
    assert.equal(frame.instructionPointerReference, hex(symbolAddress('demo', 's_trap_entry')));
    assert.equal(frame.name, 's_trap_entry');
    assert.match(frame.source!.path!, /guests\/demo\/start\.S$/);
    const info = await exceptionInfo(session);
    // The exception widget's title ("Exception has occurred: ...") and the text under it.
    assert.equal(info.exceptionId, 'Ring: U → S');
    assert.match(info.description!, /^U → S: environment call from U-mode \(exception 8\), epc 0x[0-9a-f]+, tval 0x0$/);
    assert.equal(info.details?.typeName, 'exception 8');
    assert.equal(info.filterId, 'privilege:U->S');
    assert.equal(info.breakMode, 'always');
    assert.equal(info.cause, 8);
    assert.equal(info.interrupt, false);
    assert.equal(info.tval, '0x0');
    assert.equal(info.fromPrivilege, 'U');
    assert.equal(info.toPrivilege, 'S');
    assert.equal(info.via, 'trap');
    // The epc is the user's ecall, inside user.c's syscall().
    const sepc = (await session.evaluate('$sepc')).result;
    assert.equal(BigInt(sepc), BigInt(info.epc!));
    const ecall = (await session.client.disassembleRequest({ memoryReference: info.epc!, instructionCount: 1 })).body!.instructions[0];
    assert.equal(ecall.instruction, 'ecall');
    const registers = await session.scope(frame.id, 'Registers');
    assert.equal(registers.find((register) => register.name === 'privilege')?.value, 'S (supervisor)');
  } finally {
    await session.close();
  }
});

test('trap filters with conditions over registers, cause, epc and hart', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const userStart = symbolAddress('demo', '__user_start');
    await session.launch({ program: guestPath('demo') }, async () => {
      // SYS_YIELD (a7 = 3) from user code on hart 0.
      const armed = await session.client.setExceptionBreakpointsRequest({
        filters: [], filterOptions: [{ filterId: 'exception:8', condition: `a7 == 3 && cause == 8 && hart == 0 && epc >= ${hex(userStart)}` }],
      });
      assert.equal(armed.body!.breakpoints![0].verified, true);
    });
    const stop = await session.stopped();
    assert.equal(stop.reason, 'exception');
    assert.equal(stop.text, 'Trap: ecall from U-mode (8)');
    assert.equal(BigInt((await session.evaluate('a7')).result), 3n);
    const info = await exceptionInfo(session);
    assert.equal(info.exceptionId, 'Trap: ecall from U-mode (8)');
    assert.equal(info.filterId, 'exception:8');
    // A condition that does not parse leaves the filter unverified, with the reason.
    const bad = await session.client.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'interrupt:5', condition: 'cause ==' }] });
    assert.equal(bad.body!.breakpoints![0].verified, false);
    assert.match(bad.body!.breakpoints![0].message!, /condition of Trap: supervisor timer interrupt \(5\)/);
  } finally {
    await session.close();
  }
});

test('interrupt filters stop on the handler with the interrupt\'s cause', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setExceptionBreakpointsRequest({ filters: ['interrupt:7'] });
    });
    let stop = await session.stopped();
    assert.equal(stop.text, 'Trap: machine timer interrupt (7)');
    assert.equal((await session.topFrame()).instructionPointerReference, hex(symbolAddress('demo', 'm_trap_entry')));
    let info = await exceptionInfo(session);
    assert.equal(info.interrupt, true);
    assert.equal(info.cause, 7);
    assert.equal(info.toPrivilege, 'M');
    assert.equal(info.exceptionId, 'Trap: machine timer interrupt (7)');
    assert.match(info.description!, /^[USM] → M: machine timer interrupt \(interrupt 7\), epc 0x[0-9a-f]+, tval 0x0$/);
    // The M handler forwards the tick as a supervisor timer interrupt.
    await session.client.setExceptionBreakpointsRequest({ filters: ['interrupt:5'] });
    await session.client.continueRequest({ threadId: 1 });
    stop = await session.stopped();
    assert.equal(stop.text, 'Trap: supervisor timer interrupt (5)');
    assert.equal((await session.topFrame()).instructionPointerReference, hex(symbolAddress('demo', 's_trap_entry')));
    info = await exceptionInfo(session);
    assert.deepEqual([info.interrupt, info.cause, info.fromPrivilege, info.toPrivilege], [true, 5, 'U', 'S']);
  } finally {
    await session.close();
  }
});

test('ring filters on xRET and wildcards: M->S by mret, S->U by sret, *->M', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setExceptionBreakpointsRequest({ filters: ['privilege:M->S'] });
    });
    let stop = await session.stopped();
    assert.equal(stop.text, 'Ring: M → S');
    assert.equal((await session.topFrame()).instructionPointerReference, hex(symbolAddress('demo', 'kmain')));
    let info = await exceptionInfo(session);
    assert.deepEqual([info.via, info.cause, info.fromPrivilege, info.toPrivilege], ['mret', undefined, 'M', 'S']);
    assert.equal(info.description, 'M → S: mret');
    assert.equal(stop.description, 'M → S: mret');

    await session.client.setExceptionBreakpointsRequest({ filters: ['privilege:S->U', 'privilege:*->M'] });
    await session.client.continueRequest({ threadId: 1 });
    stop = await session.stopped();
    // kmain asks M-mode for a timer (ecall from S) before it enters the first task.
    assert.equal(stop.text, 'Ring: any → M');
    info = await exceptionInfo(session);
    assert.deepEqual([info.cause, info.fromPrivilege, info.toPrivilege], [9, 'S', 'M']);
    assert.equal((await session.topFrame()).instructionPointerReference, hex(symbolAddress('demo', 'm_trap_entry')));
    await session.client.setExceptionBreakpointsRequest({ filters: ['privilege:S->U'] });
    await session.client.continueRequest({ threadId: 1 });
    stop = await session.stopped();
    assert.equal(stop.text, 'Ring: S → U');
    const frame = await session.topFrame();
    assert.equal(frame.name, 'user_entry');
    assert.equal(frame.instructionPointerReference, hex(symbolAddress('demo', 'user_entry')));
  } finally {
    await session.close();
  }
});

test('a filter whose condition is false does not hide a breakpoint on the handler\'s first instruction', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const line = lineOf('guests/demo/start.S', 'csrrw   sp, sscratch, sp');
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'privilege:U->S', condition: '0' }] });
      await session.client.setBreakpointsRequest({ source: { path: sourcePath('guests/demo/start.S') }, breakpoints: [{ line }] });
    });
    const stop = await session.stopped();
    assert.equal(stop.reason, 'breakpoint');
    const frame = await session.topFrame();
    assert.equal(frame.instructionPointerReference, hex(symbolAddress('demo', 's_trap_entry')));
    assert.equal(frame.line, line);
  } finally {
    await session.close();
  }
});
