// How values read by default and with DAP's format.hex, on the demo kernel stopped in
// syscall(): pointers always hex; registers and CSRs hex; unsigned 64-bit integers (a task's
// saved satp, counters) hex, with the decimal alongside while it is short; signed integers and
// enums as their type says; format.hex turns every integer to hex on variables, evaluate,
// setVariable and the parameters of stackTrace's frame names.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DEMO_TASK_SIZE, hex, openSession, readUnsigned, stopInDemoSyscall, symbolAddress, type Session } from './support';

async function taskMembers(session: Session, frameId: number, format?: DebugProtocol.ValueFormat): Promise<Map<string, string>> {
  const task = await session.evaluate('tasks[1]', frameId);
  const members = (await session.client.variablesRequest({ variablesReference: task.variablesReference, format })).body.variables;
  return new Map(members.map((member) => [member.name, member.value]));
}

test('by default: pointers, registers and u64 members in hex; small u64 with the decimal; signed and enums as typed', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const capabilities = (await session.client.initializeRequest({ adapterID: 'ringside', pathFormat: 'path' })).body!;
    assert.equal(capabilities.supportsValueFormattingOptions, true);
    await session.close();
  } catch (error) {
    await session.close();
    throw error;
  }
  const stopped = await openSession();
  try {
    const frame = await stopInDemoSyscall(stopped);
    const tasks = symbolAddress('demo', 'tasks');
    const members = await taskMembers(stopped, frame.id);
    // The saved satp is an 8-byte register image: hex alone (Sv39 mode in the top bits, far above the decimal limit).
    const satp = await readUnsigned(stopped, tasks + DEMO_TASK_SIZE + 280n);
    assert.ok(satp >> 60n === 8n, `task 1's satp ${hex(satp)} is Sv39`);
    assert.equal(members.get('satp'), hex(satp));
    // A pointer: hex, with the string it points at.
    assert.match(members.get('name')!, /^0x[0-9a-f]+ "task [A-Z]"$/);
    // Counters: hex, and the decimal when it differs and is short.
    const syscalls = await readUnsigned(stopped, tasks + DEMO_TASK_SIZE + 288n);
    assert.equal(members.get('syscalls'), syscalls >= 10n ? `${hex(syscalls)} (${syscalls})` : hex(syscalls));
    await stopped.client.setVariableRequest({ variablesReference: (await stopped.evaluate('tasks[1]', frame.id)).variablesReference, name: 'preempted', value: '1000' });
    assert.equal((await stopped.evaluate('tasks[1].preempted', frame.id)).result, '0x3e8 (1000)');
    await stopped.client.setVariableRequest({ variablesReference: (await stopped.evaluate('tasks[1]', frame.id)).variablesReference, name: 'preempted', value: '1000000' });
    assert.equal((await stopped.evaluate('tasks[1].preempted', frame.id)).result, '0xf4240');
    // Signed integers and enums as their type says.
    assert.match(members.get('exit_code')!, /^-?[0-9]+$/);
    assert.match(members.get('state')!, /^[A-Z]+ \([0-9]+\)$/);
    assert.equal((await stopped.evaluate('sizeof(struct task)', frame.id)).result, String(DEMO_TASK_SIZE));
    // The local pointer f and registers.
    const locals = await stopped.scope(frame.id, 'Locals');
    assert.match(locals.find((variable) => variable.name === 'f')!.value, /^0x[0-9a-f]+$/);
    const registers = await stopped.scope(frame.id, 'Registers');
    for (const register of registers.filter((variable) => variable.name !== 'privilege')) assert.match(register.value, /^0x[0-9a-f]{16}$/, register.name);
    const csrs = await stopped.scope(frame.id, 'CSRs');
    assert.match(csrs.find((csr) => csr.name === 'satp')!.value, /^0x[0-9a-f]+$/);
  } finally {
    await stopped.close();
  }
});

test('format.hex on variables, evaluate, setVariable and stackTrace', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const frame = await stopInDemoSyscall(session);
    const tasks = symbolAddress('demo', 'tasks');
    await session.request('setExpression', { expression: 'tasks[1].exit_code', value: '-5', frameId: frame.id });
    await session.request('setExpression', { expression: 'tasks[1].preempted', value: '42', frameId: frame.id });
    const members = await taskMembers(session, frame.id, { hex: true });
    assert.equal(members.get('exit_code'), '0xfffffffffffffffb');
    assert.equal(members.get('preempted'), '0x2a');
    assert.match(members.get('state')!, /^[A-Z]+ \(0x[0-9a-f]+\)$/);
    // Without format the same members read as typed.
    const plain = await taskMembers(session, frame.id);
    assert.equal(plain.get('exit_code'), '-5');
    assert.equal(plain.get('preempted'), '0x2a (42)');
    // evaluate: typed and untyped results.
    const evaluate = (expression: string, format?: DebugProtocol.ValueFormat) =>
      session.client.evaluateRequest({ expression, frameId: frame.id, context: 'watch', format }).then((response) => response.body.result);
    assert.equal(await evaluate('tasks[1].exit_code', { hex: true }), '0xfffffffffffffffb');
    assert.equal(await evaluate('tasks[1].exit_code'), '-5');
    assert.equal(await evaluate('current', { hex: true }), hex(BigInt(await evaluate('current'))));
    // setVariable answers in the format asked for.
    const task1 = await session.evaluate('tasks[1]', frame.id);
    const written = await session.client.setVariableRequest({ variablesReference: task1.variablesReference, name: 'syscalls', value: '300', format: { hex: true } });
    assert.equal(written.body.value, '0x12c');
    assert.equal(await readUnsigned(session, tasks + DEMO_TASK_SIZE + 288n), 300n);
    // stackTrace: parameters with names and values, in hex when asked; the line.
    const fAddress = (await session.scope(frame.id, 'Locals')).find((variable) => variable.name === 'f')!.value;
    const named = await session.client.stackTraceRequest({ threadId: 1, levels: 1, format: { parameters: true, line: true, hex: true } });
    assert.equal(named.body.stackFrames[0].name, `syscall(f = ${fAddress}) Line ${frame.line}`);
    const typed = await session.client.stackTraceRequest({ threadId: 1, levels: 1, format: { parameters: true, parameterTypes: true, parameterNames: true } });
    assert.equal(typed.body.stackFrames[0].name, 'syscall(struct frame * f)');
    const bare = await session.client.stackTraceRequest({ threadId: 1, levels: 1 });
    assert.equal(bare.body.stackFrames[0].name, 'syscall');
  } finally {
    await session.close();
  }
});
