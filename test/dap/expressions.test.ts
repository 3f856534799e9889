// Typed expressions over DAP on the demo kernel, stopped in syscall() at its first system
// call: globals by value (tasks[1].satp, current), members through a local struct pointer,
// &, sizeof, expandable results (structs, arrays a page at a time), setExpression and
// setVariable on members, data breakpoints on typed places, hex formatting, and the errors.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DEMO_TASK_SIZE, hex, openSession, readUnsigned, stopInDemoSyscall, symbolAddress, type Session } from './support';

function setExpression(session: Session, args: DebugProtocol.SetExpressionArguments): Promise<DebugProtocol.SetExpressionResponse> {
  return session.request<DebugProtocol.SetExpressionResponse>('setExpression', args);
}

test('typed globals, members, &, sizeof and locals in evaluate', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const frame = await stopInDemoSyscall(session);
    const tasks = symbolAddress('demo', 'tasks');

    // tasks[1].satp: the value at the symbol + 1 * sizeof(struct task) + offsetof(satp).
    const satp1 = await session.evaluate('tasks[1].satp', frame.id);
    assert.equal(satp1.type, 'u64');
    assert.equal(BigInt(satp1.result), await readUnsigned(session, tasks + DEMO_TASK_SIZE + 280n));
    assert.notEqual(BigInt(satp1.result), 0n, 'task 1 has its page tables');
    assert.equal(satp1.memoryReference, hex(tasks + DEMO_TASK_SIZE + 280n));
    // The running task's satp is what the CSR says.
    const current = await session.evaluate('current', frame.id);
    assert.deepEqual([current.result, current.type], [String(await readUnsigned(session, symbolAddress('demo', 'current'), 4)), 'int']);
    assert.equal(BigInt((await session.evaluate('tasks[current].satp', frame.id)).result), BigInt((await session.evaluate('$satp')).result));
    assert.equal((await session.client.evaluateRequest({ expression: 'current + 10', frameId: frame.id, format: { hex: true } })).body.result, hex(BigInt(current.result) + 10n));

    const first = await session.evaluate('&tasks[0]', frame.id);
    assert.deepEqual([BigInt(first.result), first.type], [tasks, 'struct task *']);
    assert.equal(first.memoryReference, hex(tasks));
    assert.ok(first.variablesReference > 0, 'a struct pointer expands');
    assert.equal((await session.evaluate('sizeof(struct frame)', frame.id)).result, '264');
    assert.equal((await session.evaluate('sizeof(struct task)', frame.id)).result, String(DEMO_TASK_SIZE));
    assert.equal((await session.evaluate('tasks[0].state', frame.id)).result, 'RUNNABLE (1)');
    assert.match((await session.evaluate('tasks[0].name', frame.id)).result, /^0x[0-9a-f]+ "task A"$/);

    // Members of the local struct pointer f (the trap frame).
    assert.equal(BigInt((await session.evaluate('f->sepc', frame.id)).result), BigInt((await session.evaluate('$sepc')).result));
    const n = (await session.scope(frame.id, 'Locals')).find((variable) => variable.name === 'n')!;
    assert.equal((await session.evaluate('f->x[17]', frame.id)).result, n.value);
    assert.equal((await session.evaluate('(*f).x[17] == n', frame.id)).result, '1');
    // t = &tasks[current] is a computed value here (DW_OP_stack_value): it says so.
    await assert.rejects(session.client.evaluateRequest({ expression: 't->satp', frameId: frame.id }), /'t' is not available here: computed value/);
    // Casts to DWARF type names, and raw casts as before.
    assert.equal(BigInt((await session.evaluate(`((struct task *)${hex(tasks)})[1].satp`, frame.id)).result), BigInt(satp1.result));
    assert.equal(BigInt((await session.evaluate(`*(u64*)${hex(tasks + DEMO_TASK_SIZE + 280n)}`)).result), BigInt(satp1.result));

    // Without a frame id: the innermost frame of the focused hart.
    assert.equal((await session.evaluate('f->x[17]')).result, n.value);
  } finally {
    await session.close();
  }
});

test('expanding structs and arrays; setExpression and setVariable on members; data breakpoints', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const frame = await stopInDemoSyscall(session);
    const tasks = symbolAddress('demo', 'tasks');

    const array = await session.evaluate('tasks', frame.id);
    assert.equal(array.type, 'struct task [2]');
    assert.equal((array as { indexedVariables?: number }).indexedVariables, 2);
    const elements = (await session.client.variablesRequest({ variablesReference: array.variablesReference, filter: 'indexed', start: 1, count: 1 })).body.variables;
    assert.deepEqual(elements.map((element) => [element.name, element.evaluateName]), [['[1]', 'tasks[1]']]);
    const members = (await session.client.variablesRequest({ variablesReference: elements[0].variablesReference })).body.variables;
    assert.deepEqual(members.map((member) => member.name), ['name', 'state', 'regs', 'satp', 'syscalls', 'preempted', 'exit_code']);
    assert.equal(members[3].evaluateName, 'tasks[1].satp');
    const x = (await session.client.variablesRequest({ variablesReference: members[2].variablesReference })).body.variables[0];
    assert.equal(x.name, 'x');
    assert.equal(x.indexedVariables, 32);
    const registers = (await session.client.variablesRequest({ variablesReference: x.variablesReference })).body.variables;
    assert.equal(registers.length, 32);

    // A struct result expands the same way.
    const task1 = await session.evaluate('tasks[1]', frame.id);
    assert.equal(task1.type, 'struct task');
    assert.equal(task1.memoryReference, hex(tasks + DEMO_TASK_SIZE));
    const again = (await session.client.variablesRequest({ variablesReference: task1.variablesReference })).body.variables;
    assert.equal(again.find((member) => member.name === 'satp')!.value, members[3].value);

    // setExpression on a member, read back by evaluate and by raw memory.
    const set = await setExpression(session, { expression: 'tasks[1].preempted', value: '7 * 6', frameId: frame.id });
    // A u64 shows in hex, with the short decimal alongside.
    assert.equal(set.body.value, '0x2a (42)');
    assert.equal((await session.evaluate('tasks[1].preempted', frame.id)).result, '0x2a (42)');
    assert.equal(await readUnsigned(session, tasks + DEMO_TASK_SIZE + 296n), 42n);
    // An enum by enumerator name; a raw place too.
    await setExpression(session, { expression: 'tasks[1].exit_code', value: '-5', frameId: frame.id });
    assert.equal((await session.evaluate('tasks[1].exit_code', frame.id)).result, '-5');
    await setExpression(session, { expression: `*(u32*)${hex(tasks + DEMO_TASK_SIZE + 8n)}`, value: '2', frameId: frame.id });
    assert.equal((await session.evaluate('tasks[1].state', frame.id)).result, 'EXITED (2)');
    await setExpression(session, { expression: 'tasks[1].state', value: 'RUNNABLE', frameId: frame.id });
    assert.equal((await session.evaluate('tasks[1].state', frame.id)).result, 'RUNNABLE (1)');

    // setVariable on a member in an expanded struct.
    const written = await session.client.setVariableRequest({ variablesReference: task1.variablesReference, name: 'syscalls', value: '0x10' });
    assert.equal(written.body.value, '0x10 (16)');
    assert.equal(await readUnsigned(session, tasks + DEMO_TASK_SIZE + 288n), 16n);
    // And through the Locals scope: *f's members (the trap frame: x[] and sepc).
    const locals = await session.scope(frame.id, 'Locals');
    const f = locals.find((variable) => variable.name === 'f')!;
    assert.equal(f.type, 'struct frame *');
    const pointee = (await session.client.variablesRequest({ variablesReference: f.variablesReference })).body.variables[0];
    assert.equal(pointee.evaluateName, '*f');
    const fields = (await session.client.variablesRequest({ variablesReference: pointee.variablesReference })).body.variables;
    assert.equal(fields.find((field) => field.name === 'sepc')!.evaluateName, '(*f).sepc');
    const sepc = BigInt((await session.evaluate('f->sepc', frame.id)).result);
    const viaF = await session.client.setVariableRequest({ variablesReference: pointee.variablesReference, name: 'sepc', value: `${hex(sepc)} + 0` });
    assert.equal(BigInt(viaF.body.value), sepc);
    const frameRegisters = fields.find((field) => field.name === 'x')!;
    await session.client.setVariableRequest({ variablesReference: frameRegisters.variablesReference, name: '[5]', value: '1234' });
    assert.equal((await session.evaluate('f->x[5]', frame.id)).result, '0x4d2 (1234)');
    await assert.rejects(session.client.setVariableRequest({ variablesReference: pointee.variablesReference, name: 'x', value: '1' }), /only numbers, enums and pointers/);

    // Data breakpoints on typed places: their address and their type's size.
    const info = (await session.client.dataBreakpointInfoRequest({ name: 'tasks[1].satp', frameId: frame.id })).body;
    assert.equal(info.dataId, `${hex(tasks + DEMO_TASK_SIZE + 280n)}/8`);
    const state = (await session.client.dataBreakpointInfoRequest({ name: 'tasks[0].state', frameId: frame.id })).body;
    assert.equal(state.dataId, `${hex(tasks + 8n)}/4`);
    const member = (await session.client.dataBreakpointInfoRequest({ name: 'satp', variablesReference: task1.variablesReference })).body;
    assert.equal(member.dataId, info.dataId);
  } finally {
    await session.close();
  }
});

test('typed expression errors are one line with the position', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const frame = await stopInDemoSyscall(session);
    const expectError = async (expression: string, pattern: RegExp) => {
      await assert.rejects(session.client.evaluateRequest({ expression, frameId: frame.id, context: 'watch' }), (error: Error) => {
        assert.match(error.message, pattern, expression);
        assert.ok(!error.message.includes('\n'), 'one line');
        return true;
      });
    };
    await expectError('tasks[1].nosuch', /no member 'nosuch' in struct task \(at column 9\)/);
    await expectError('f->nosuch', /no member 'nosuch' in struct frame \(at column 2\)/);
    await expectError('ticks[0]', /cannot index u64: it is not an array or pointer \(at column 6\)/);
    await expectError('no_such_name', /unknown name 'no_such_name' \(at column 1\)/);
    await expectError('sizeof(struct nosuch)', /unknown type 'struct nosuch'/);
    await expectError('((struct task *)0)->satp', /cannot read 8 bytes at 0x118/);
    await expectError('tasks + tasks', /cannot add two pointers/);
    await assert.rejects(setExpression(session, { expression: 'ticks + 1', value: '1', frameId: frame.id }), /'ticks \+ 1' is not a place that can be assigned/);
    await assert.rejects(setExpression(session, { expression: '&tasks[1]', value: '1', frameId: frame.id }), /cannot assign to a computed value/);
  } finally {
    await session.close();
  }
});

test('casts as people write them: qualifiers, and (char *) shows the string like a char * variable', { timeout: 20_000 }, async () => {
  // Found in code-server's Debug Console: `(char*)tasks[0].name` gave a bare u8* address and
  // `(const char *)tasks[0].name` did not parse.
  const session = await openSession();
  try {
    const frame = await stopInDemoSyscall(session);
    const name = symbolAddress('demo', 'tasks');
    const plain = await session.evaluate('tasks[0].name', frame.id);
    assert.match(plain.result, /^0x[0-9a-f]+ "task A"$/);
    for (const expression of ['(char*)tasks[0].name', '(char *)tasks[0].name', '(const char *)tasks[0].name', '(char * const)tasks[0].name', '(const volatile char*)tasks[0].name']) {
      const cast = await session.evaluate(expression, frame.id);
      assert.deepEqual([cast.result, cast.type], [plain.result, 'char *'], expression);
    }
    // An address cast to char * reads the string there too.
    assert.equal((await session.evaluate(`(char *)${plain.result.split(' ')[0]}`, frame.id)).result, plain.result);
    // Qualifiers on struct and scalar pointers change nothing.
    const task = await session.evaluate('((const struct task *)&tasks[1])->name', frame.id);
    assert.match(task.result, /"task B"$/);
    assert.equal(BigInt((await session.evaluate('*(volatile u64 *)&tasks', frame.id)).result), BigInt((await session.evaluate('*(u64 *)&tasks', frame.id)).result));
    assert.equal((await session.evaluate('(volatile unsigned long *)tasks', frame.id)).type, 'u64*');
    assert.equal(BigInt((await session.evaluate('(volatile unsigned long *)tasks', frame.id)).result), name);
    // A byte-sized integer cast stays a number.
    assert.deepEqual([(await session.evaluate('(char)65', frame.id)).result, (await session.evaluate('sizeof(const char *)', frame.id)).result], ['65', '8']);
  } finally {
    await session.close();
  }
});
