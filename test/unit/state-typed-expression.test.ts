// Typed expressions (debug-adapter/state/expression.ts with DWARF types): the demo kernel's
// DWARF (guests/bin/demo.elf) and a sparse fake memory laid out as C lays out its structs,
// so member offsets, element sizes, signedness, enums, casts to DWARF type names, sizeof,
// & and * on typed values, register-held locals, and the error messages are checked against
// the C source rather than against the DWARF reader itself. Also renderValue (the one
// formatter of Variables and evaluate) on the same values: children, paging, setters.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { typeIndex } from '../../debug-adapter/state/ctypes';
import {
  evaluate, ExpressionError, formatExpressionValue, type ExpressionContext, type TypedVariable,
} from '../../debug-adapter/state/expression';
import { loadSymbolFile } from '../../debug-adapter/symbols/symbol-file';
import type { TypeInfo } from '../../debug-adapter/symbols/types';
import { renderValue, VariableStore, type ValueLocation } from '../../debug-adapter/variables';

const file = loadSymbolFile(new Uint8Array(readFileSync('guests/bin/demo.elf')), 'guests/bin/demo.elf');
const globals = file.globals();
const types = typeIndex(globals);
const addressOf = (name: string): bigint => {
  const location = globals.find((variable) => variable.name === name)!.location;
  assert.equal(location.kind, 'address');
  return (location as { address: bigint }).address;
};

const TASKS = addressOf('tasks');
const CURRENT = addressOf('current');
const TICKS = addressOf('ticks');
// struct task (kernel.c): name 0, state 8, regs 16 (struct frame: x[32], sepc: 264 bytes), satp 280, syscalls 288, preempted 296, exit_code 304; 312 bytes.
const TASK_SIZE = 312n;
const NAME_TEXT = 0x9000_0000n;

function fakeMachine() {
  const memory = new Map<bigint, number>();
  const put = (address: bigint, value: bigint, size: number) => {
    for (let index = 0; index < size; index++) memory.set(address + BigInt(index), Number((BigInt.asUintN(64, value) >> BigInt(8 * index)) & 0xffn));
  };
  // Zero-filled tasks[], then a few fields.
  for (let offset = 0n; offset < 2n * TASK_SIZE; offset++) memory.set(TASKS + offset, 0);
  put(TASKS + TASK_SIZE + 280n, 0x8000_0000_0008_0123n, 8); // tasks[1].satp
  put(TASKS + TASK_SIZE + 8n, 1n, 4); // tasks[1].state = RUNNABLE
  put(TASKS + TASK_SIZE + 16n + 10n * 8n, 0xfffffffffffffff6n, 8); // tasks[1].regs.x[10]
  put(TASKS + TASK_SIZE + 304n, -3n, 8); // tasks[1].exit_code
  put(TASKS, NAME_TEXT, 8); // tasks[0].name
  [...'task A\0'].forEach((character, index) => memory.set(NAME_TEXT + BigInt(index), character.charCodeAt(0)));
  put(CURRENT, 1n, 4);
  put(TICKS, 42n, 8);
  const locals = new Map<string, TypedVariable>([
    // struct task *t = &tasks[current]; kept in a register (s0 = x8)
    ['t', { type: types.get('struct task') === undefined ? undefined : pointerTypeTo('struct task'), location: { kind: 'register', bits: TASKS + TASK_SIZE, register: 8 } }],
    ['gone', { type: types.get('u64'), location: { kind: 'unavailable', reason: 'optimized out' } }],
  ]);
  const context: ExpressionContext = {
    register: (name) => (name === 'sp' ? 0x1000n : name === 'a0' ? 5n : undefined),
    csr: (name) => (name === 'satp' ? 0x8000_0000_0000_0001n : undefined),
    symbol: (name) => (name === 'kmain' ? 0x8000_0400n : undefined),
    readMemory(address, size) {
      const bytes = new Uint8Array(size);
      for (let index = 0; index < size; index++) {
        const byte = memory.get(address + BigInt(index));
        if (byte === undefined) return undefined;
        bytes[index] = byte;
      }
      return bytes;
    },
    variable(name, scope) {
      if (scope === 'local') return locals.get(name);
      const variable = globals.find((candidate) => candidate.name === name);
      return variable === undefined ? undefined : { type: variable.type, location: { kind: 'memory', address: addressOf(name) } };
    },
    type: (name) => types.get(name),
  };
  return { context, memory, put };
}

function pointerTypeTo(name: string): TypeInfo {
  const target = types.get(name)!;
  return { name: `${target.name} *`, byteSize: 8, kind: 'pointer', target };
}

const { context, memory, put } = fakeMachine();
const value = (text: string) => evaluate(text, context);
const text = (expression: string, hex = false) => formatExpressionValue(value(expression), { hex });

function expectError(expression: string, pattern: RegExp, position?: number): void {
  assert.throws(() => evaluate(expression, context), (error: unknown) => {
    assert.ok(error instanceof ExpressionError, `${expression}: ${String(error)}`);
    assert.match(error.message, pattern, expression);
    if (position !== undefined) assert.equal(error.position, position, `${expression}: position`);
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  });
}

describe('typed names', () => {
  it('reads globals with their type, keeping the address', () => {
    const ticks = value('ticks');
    assert.deepEqual([ticks.value, ticks.type, ticks.address, ticks.size], [42n, 'u64', TICKS, 8]);
    assert.equal(text('ticks'), '42');
    assert.equal(text('ticks', true), '0x2a');
    assert.deepEqual([value('current').value, value('current').type, value('current').size], [1n, 'int', 4]);
    assert.equal(value('&ticks').value, TICKS);
    assert.equal(value('&ticks').type, 'u64 *');
    assert.equal(value('*&ticks').value, 42n);
    assert.equal(value('ticks + 1').value, 43n);
    assert.equal(value('current == 1').value, 1n);
  });

  it('keeps ELF symbols, registers and CSRs as before', () => {
    assert.equal(value('kmain').value, 0x8000_0400n);
    assert.equal(value('sp').value, 0x1000n);
    assert.equal(value('$satp').value, 0x8000_0000_0000_0001n);
    assert.equal(value('*(u64*)&ticks').value, 42n);
    assert.equal(value('*(u32*)&tasks[1].state').value, 1n);
  });

  it('locals come first; register-held ones are values without an address', () => {
    const t = value('t');
    assert.deepEqual([t.value, t.type, t.register, t.address], [TASKS + TASK_SIZE, 'struct task *', 8, undefined]);
    assert.equal(value('t->satp').value, 0x8000_0000_0008_0123n);
    assert.equal(value('t == &tasks[1]').value, 1n);
    expectError('&t', /cannot take the address of 't': it is kept in a register/, 0);
    expectError('gone + 1', /'gone' is not available here: optimized out/, 0);
  });
});

describe('members, elements, pointers', () => {
  it('follows members and array elements with the C layout', () => {
    assert.equal(value('tasks[1].satp').value, 0x8000_0000_0008_0123n);
    assert.equal(value('tasks[1].satp').address, TASKS + TASK_SIZE + 280n);
    assert.equal(value('tasks[current].satp').value, 0x8000_0000_0008_0123n);
    assert.equal(value('&tasks[1]').value, TASKS + TASK_SIZE);
    assert.equal(value('&tasks[1]').type, 'struct task *');
    assert.equal(value('&tasks[1] - &tasks[0]').value, 1n);
    assert.equal(value('(&tasks[0] + 1)->satp').value, 0x8000_0000_0008_0123n);
    assert.equal(value('tasks + 1').value, TASKS + TASK_SIZE, 'arrays decay to pointers to their elements');
    assert.equal(value('(*(tasks + 1)).satp').value, 0x8000_0000_0008_0123n);
    // Signed members are sign-extended; u64 registers of a frame stay unsigned.
    assert.equal(value('tasks[1].exit_code').value, -3n);
    assert.equal(value('tasks[current].regs.x[10]').value, 0xfffffffffffffff6n);
    assert.equal(value('tasks[1].regs.x[10]').address, TASKS + TASK_SIZE + 16n + 80n);
    // gdb-style conveniences: . through a pointer, dotted names in one token.
    assert.equal(value('t.satp').value, value('t->satp').value);
    assert.equal(value('t->regs.x[10]').value, 0xfffffffffffffff6n);
  });

  it('prints enums by name, char pointers with their string, structs and arrays', () => {
    assert.equal(text('tasks[1].state'), 'RUNNABLE (1)');
    assert.equal(text('tasks[0].state'), 'UNUSED (0)');
    assert.equal(text('(enum state)2'), 'EXITED (2)');
    assert.equal(value('tasks[0].name').value, NAME_TEXT);
    assert.equal(text('*tasks[0].name'), "116 't'");
    assert.equal(text('tasks[0].name[5]'), "65 'A'");
    assert.match(text('tasks[1]'), /^\{\.\.\.\} at 0x/);
    assert.match(text('tasks'), /^\[2\] at 0x/);
  });

  it('casts to DWARF type names and takes sizeof types and expressions', () => {
    assert.equal(value(`((struct task *)${TASKS + TASK_SIZE})->satp`).value, 0x8000_0000_0008_0123n);
    assert.equal(value(`(struct task *)${TASKS}`).type, 'struct task *');
    assert.equal(value('(u64)current').type, 'u64');
    assert.equal(value('sizeof(struct frame)').value, 264n);
    assert.equal(text('sizeof(struct frame)'), '264');
    assert.equal(value('sizeof(struct task)').value, TASK_SIZE);
    assert.equal(value('sizeof tasks').value, 2n * TASK_SIZE);
    assert.equal(value('sizeof(tasks[0].regs.x)').value, 256n);
    assert.equal(value('sizeof(u64)').value, 8n);
    assert.equal(value('sizeof(int)').value, 4n);
    assert.equal(value('sizeof(enum state)').value, 4n);
    assert.equal(value('sizeof(current)').value, 4n);
  });

  it('indexes raw pointers too', () => {
    assert.equal(value(`((u64*)${TASKS + TASK_SIZE})[35]`).value, 0x8000_0000_0008_0123n);
  });
});

describe('errors', () => {
  it('say what is wrong and where, on one line', () => {
    expectError('nosuch', /unknown name 'nosuch'/, 0);
    expectError('tasks[1].nosuch', /no member 'nosuch' in struct task/, 8);
    expectError('t->nosuch', /no member 'nosuch' in struct task/, 1);
    expectError('ticks[1]', /cannot index u64: it is not an array or pointer/, 5);
    expectError('ticks.x', /cannot take member 'x' of u64/);
    expectError('current->x', /'->x' needs a pointer to a struct or union, not int/, 7);
    expectError('tasks[1] + 1', /cannot use struct task as a number/);
    expectError('*ticks', /cannot dereference u64: it is not a pointer/, 0);
    expectError('sizeof(struct nosuch)', /unknown type 'struct nosuch'/, 7);
    expectError('(struct task)ticks', /cannot cast to struct task/, 0);
    expectError('((struct task *)0x10)->satp', /cannot read 8 bytes at 0x128/);
    expectError('tasks[1].', /expected a member name after '\.' but the expression ended/, 9);
    expectError('tasks[1', /expected '\]'/, 7);
  });
});

describe('renderValue on typed results', () => {
  const store = new VariableStore();
  const reader = {
    read: (address: bigint, size: number) => context.readMemory(address, size, false),
    assign: (type: TypeInfo | undefined, location: ValueLocation, assigned: string) => {
      assert.equal(location.kind, 'memory');
      put((location as { address: bigint }).address, evaluate(assigned, context).value, Math.min(8, type!.byteSize));
    },
  };

  it('expands structs and arrays lazily, a page at a time, with evaluate names', () => {
    const tasks = globals.find((variable) => variable.name === 'tasks')!;
    const shown = renderValue('tasks', tasks.type, { kind: 'memory', address: TASKS }, reader, store, 'tasks');
    assert.equal(shown.indexedVariables, 2);
    const elements = store.get(shown.variablesReference)!.variables();
    assert.deepEqual(elements.map((element) => [element.name, element.evaluateName]), [['[0]', 'tasks[0]'], ['[1]', 'tasks[1]']]);
    const members = store.get(elements[1].variablesReference)!.variables();
    const satp = members.find((member) => member.name === 'satp')!;
    assert.equal(BigInt(satp.value), 0x8000_0000_0008_0123n);
    assert.equal(satp.evaluateName, 'tasks[1].satp');
    assert.equal(members.find((member) => member.name === 'state')!.value, 'RUNNABLE (1)');
    assert.equal(members.find((member) => member.name === 'name')!.value, '0x0');
    // x[32] pages: start/count give just that slice.
    const regs = members.find((member) => member.name === 'regs')!;
    const x = store.get(regs.variablesReference)!.variables().find((member) => member.name === 'x')!;
    assert.equal(x.indexedVariables, 32);
    const page = store.get(x.variablesReference)!.variables(10, 2);
    assert.deepEqual(page.map((element) => [element.name, element.evaluateName]), [['[10]', 'tasks[1].regs.x[10]'], ['[11]', 'tasks[1].regs.x[11]']]);
    assert.equal(BigInt(page[0].value), 0xfffffffffffffff6n);
    // The name of task 0 is a char * shown with its string.
    const first = store.get(elements[0].variablesReference)!.variables();
    assert.equal(first.find((member) => member.name === 'name')!.value, `0x${NAME_TEXT.toString(16)} "task A"`);
  });

  it('sets members and elements through their container', () => {
    const tasks = globals.find((variable) => variable.name === 'tasks')!;
    const shown = renderValue('tasks', tasks.type, { kind: 'memory', address: TASKS }, reader, store, 'tasks');
    const task1 = store.get(shown.variablesReference)!.variables()[1];
    const container = store.get(task1.variablesReference)!;
    assert.equal(container.set!('syscalls', '40 + 2').value, '0x2a (42)');
    assert.equal(value('tasks[1].syscalls').value, 42n);
    assert.equal(container.dataOf!('syscalls')!.address.address, TASKS + TASK_SIZE + 288n);
    void memory;
  });
});
