// Machine state over DAP on the demo kernel: stack frames, locals, registers, CSRs with
// decoded fields, machine facts, setVariable, evaluate (registers, symbols, C-like memory
// expressions, phys:), memory reads and writes, disassembly, data breakpoints (virtual,
// physical, on variables) and the custom requests.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { guestPath, hex, lineOf, openSession, sourcePath, symbolAddress, type Session } from './support';

const KERNEL_C = 'guests/demo/kernel.c';

/** Stops in syscall() at `f->sepc += 4;` on the first system call. */
async function stopInSyscall(session: Session): Promise<DebugProtocol.StackFrame> {
  const line = lineOf(KERNEL_C, 'f->sepc += 4;');
  await session.launch({ program: guestPath('demo') }, async () => {
    await session.client.setBreakpointsRequest({ source: { path: sourcePath(KERNEL_C) }, breakpoints: [{ line }] });
  });
  await session.stopped();
  await session.client.setBreakpointsRequest({ source: { path: sourcePath(KERNEL_C) }, breakpoints: [] });
  return session.topFrame();
}

const bytesOf = (response: DebugProtocol.ReadMemoryResponse) => new Uint8Array(Buffer.from(response.body!.data ?? '', 'base64'));

function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

test('stack frames, locals, registers, CSRs with fields, machine facts', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const frame = await stopInSyscall(session);
    const trace = (await session.client.stackTraceRequest({ threadId: 1 })).body;
    assert.deepEqual(trace.stackFrames.map((entry) => [entry.name, entry.source?.name]), [
      ['syscall', 'kernel.c'], ['s_trap', 'kernel.c'], ['s_trap_entry', 'start.S'],
      ['[trap: ecall from U-mode]', undefined], ['syscall', 'user.c'],
    ]);
    assert.equal(trace.totalFrames, 5);
    assert.equal(trace.stackFrames[1].line, lineOf(KERNEL_C, 'syscall(f);'));
    // A caller's line is the line of its call.
    assert.equal(trace.stackFrames[2].line, lineOf('guests/demo/start.S', 'call    s_trap'));

    const locals = await session.scope(frame.id, 'Locals');
    const f = locals.find((variable) => variable.name === 'f')!;
    assert.equal(f.type, 'struct frame *');
    assert.ok(f.variablesReference > 0);
    assert.equal(f.memoryReference, f.value);
    const pointee = (await session.client.variablesRequest({ variablesReference: f.variablesReference })).body.variables;
    assert.equal(pointee[0].name, '*f');
    const members = (await session.client.variablesRequest({ variablesReference: pointee[0].variablesReference })).body.variables;
    assert.deepEqual(members.map((member) => member.name), ['x', 'sepc']);
    const sepc = BigInt(members[1].value);
    const epc = BigInt((await session.evaluate('$sepc')).result);
    assert.equal(sepc, epc);
    const registersOfUser = (await session.client.variablesRequest({ variablesReference: members[0].variablesReference })).body.variables;
    assert.equal(registersOfUser.length, 32);
    // x17 (a7) of the user is the system call number, as `n` says.
    assert.equal(registersOfUser[17].value, locals.find((variable) => variable.name === 'n')!.value);

    const registers = await session.scope(frame.id, 'Registers');
    assert.deepEqual(registers.slice(0, 4).map((register) => register.name), ['pc', 'privilege', 'zero (x0)', 'ra (x1)']);
    assert.equal(BigInt(registers[0].value), BigInt(frame.instructionPointerReference!));
    assert.equal(registers[1].value, 'S (supervisor)');
    const sp = registers.find((register) => register.name === 'sp (x2)')!;
    assert.equal(BigInt(sp.value), BigInt((await session.evaluate('sp')).result));
    assert.equal(sp.memoryReference, hex(BigInt(sp.value)));
    // An outer frame shows the registers unwinding recovered.
    const outer = await session.scope(trace.stackFrames[1].id, 'Registers');
    assert.ok(BigInt(outer.find((register) => register.name === 'sp (x2)')!.value) > BigInt(sp.value));

    const floats = await session.scope(frame.id, 'Floating point');
    assert.equal(floats.length, 32);
    assert.match(floats[0].name, /^ft0 \(f0\)$/);
    // A float register is an expression too (raw bits), so Add to Watch works on it.
    assert.equal(floats[1].evaluateName, '$ft1');
    const floatScope = (await session.client.scopesRequest({ frameId: frame.id })).body.scopes.find((scope) => scope.name === 'Floating point')!;
    await session.client.setVariableRequest({ variablesReference: floatScope.variablesReference, name: floats[1].name, value: '0x400921fb54442d18' });
    assert.equal(BigInt((await session.evaluate('$ft1')).result), 0x400921fb54442d18n);
    assert.equal(BigInt((await session.evaluate('$f1')).result), 0x400921fb54442d18n);

    const csrs = await session.scope(frame.id, 'CSRs');
    const scause = csrs.find((csr) => csr.name === 'scause')!;
    assert.equal(BigInt(scause.value), 8n);
    const causeFields = (await session.client.variablesRequest({ variablesReference: scause.variablesReference })).body.variables;
    assert.match(causeFields.find((field) => field.name === 'Code')!.value, /ecall from U-mode|Environment call from U-mode/i);
    const satp = csrs.find((csr) => csr.name === 'satp')!;
    const satpFields = (await session.client.variablesRequest({ variablesReference: satp.variablesReference })).body.variables;
    assert.match(satpFields.find((field) => field.name === 'MODE')!.value, /Sv39/);
    const sstatus = csrs.find((csr) => csr.name === 'sstatus')!;
    const sstatusFields = (await session.client.variablesRequest({ variablesReference: sstatus.variablesReference })).body.variables;
    assert.match(sstatusFields.find((field) => field.name === 'SUM')!.value, /^1/);
    assert.match(sstatusFields.find((field) => field.name === 'SPP')!.value, /U/);
    for (const name of ['mstatus', 'mcause', 'mip', 'mie', 'medeleg', 'mideleg', 'stvec']) assert.ok(csrs.some((csr) => csr.name === name), name);
    assert.ok(csrs.some((csr) => csr.name === 'counters' && csr.variablesReference > 0));

    const machine = await session.scope(frame.id, 'Machine');
    assert.equal(machine.find((entry) => entry.name === 'boot mode')?.value, 'bare');
    const exits = machine.find((entry) => entry.name === 'exits')!;
    const counts = (await session.client.variablesRequest({ variablesReference: exits.variablesReference })).body.variables;
    assert.ok(Number(counts.find((entry) => entry.name === 'ecall')!.value) >= 1);
    assert.ok(Number(machine.find((entry) => entry.name === 'instructions retired')!.value) > 100_000);
  } finally {
    await session.close();
  }
});

test('setVariable on registers and CSRs; evaluate with registers, symbols, memory and phys:', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const frame = await stopInSyscall(session);
    const scopes = (await session.client.scopesRequest({ frameId: frame.id })).body.scopes;
    const registers = scopes.find((scope) => scope.name === 'Registers')!;
    const csrs = scopes.find((scope) => scope.name === 'CSRs')!;
    const set = await session.client.setVariableRequest({ variablesReference: registers.variablesReference, name: 't3 (x28)', value: '0x1234 + 1' });
    assert.equal(set.body.value, '0x0000000000001235');
    assert.equal((await session.evaluate('t3')).result, '0x1235');
    assert.equal((await session.evaluate('x28 == 0x1235')).result, '1');
    const sscratch = await session.client.setVariableRequest({ variablesReference: csrs.variablesReference, name: 'sscratch', value: '0xdead0000' });
    assert.equal(sscratch.body.value, '0xdead0000');
    assert.equal((await session.evaluate('$sscratch')).result, '0xdead0000');
    await assert.rejects(session.client.setVariableRequest({ variablesReference: registers.variablesReference, name: 'zero (x0)', value: '1' }), /hard-wired/);

    // C-like memory expressions against readMemory.
    const sp = BigInt((await session.evaluate('sp')).result);
    const memory = await session.request<DebugProtocol.ReadMemoryResponse>('readMemory', { memoryReference: hex(sp), offset: 8, count: 8 });
    assert.equal(BigInt((await session.evaluate('*(u64*)(sp+8)')).result), littleEndian(bytesOf(memory)));
    // A DWARF global is its value (typed); `&` gives its address, which raw casts read.
    const ticks = symbolAddress('demo', 'ticks');
    assert.equal(BigInt((await session.evaluate('&ticks')).result), ticks);
    assert.equal(BigInt((await session.evaluate('ticks')).result), BigInt((await session.evaluate('*(u64*)&ticks')).result));
    const ticksValue = await session.evaluate('*(u64*)&ticks');
    assert.ok(ticksValue.memoryReference === undefined || typeof ticksValue.memoryReference === 'string');
    const start = await session.request<DebugProtocol.ReadMemoryResponse>('readMemory', { memoryReference: 'phys:0x80000000', count: 4 });
    assert.equal(BigInt((await session.evaluate('phys:*(u32*)0x80000000')).result), littleEndian(bytesOf(start)));
    await assert.rejects(session.client.evaluateRequest({ expression: 'no_such_name + 1' }), /no_such_name/);
    // A frame's locals are names in expressions; pointers open in the memory view.
    const pointer = await session.evaluate('f', frame.id);
    assert.ok(pointer.result.startsWith('0x'));
  } finally {
    await session.close();
  }
});

test('readMemory, writeMemory, the physical/virtual switch and disassembly', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const frame = await stopInSyscall(session);
    // The user stack page: virtual 0x40000000 maps to user_stacks[0].
    const userStack = symbolAddress('demo', 'user_stacks');
    const virtual = await session.request<DebugProtocol.ReadMemoryResponse>('readMemory', { memoryReference: '0x40000ff0', count: 16 });
    const physical = await session.request<DebugProtocol.ReadMemoryResponse>('readMemory', { memoryReference: `phys:${hex(userStack + 0xff0n)}`, count: 16 });
    assert.deepEqual(bytesOf(virtual), bytesOf(physical));
    // Reading across into unmapped memory reports the unreadable rest.
    const edge = await session.request<DebugProtocol.ReadMemoryResponse>('readMemory', { memoryReference: '0x40000ff8', count: 16 });
    assert.equal(bytesOf(edge).length, 8);
    assert.equal(edge.body!.unreadableBytes, 8);
    // Unreadable at the start: the answer begins at the first readable byte.
    const late = await session.request<DebugProtocol.ReadMemoryResponse>('readMemory', { memoryReference: '0x3ffffff8', count: 16 });
    assert.equal(late.body!.address, '0x40000000');
    assert.equal(bytesOf(late).length, 8);
    const nothing = await session.request<DebugProtocol.ReadMemoryResponse>('readMemory', { memoryReference: '0x0', count: 16 });
    assert.deepEqual([nothing.body!.address, nothing.body!.data, nothing.body!.unreadableBytes], ['0x0', '', 16]);
    // Write through the virtual address, read it back physically.
    await session.request('writeMemory', { memoryReference: '0x40000ff0', data: Buffer.from([1, 2, 3, 4]).toString('base64') });
    const back = await session.request<DebugProtocol.ReadMemoryResponse>('readMemory', { memoryReference: `phys:${hex(userStack + 0xff0n)}`, count: 4 });
    assert.deepEqual([...bytesOf(back)], [1, 2, 3, 4]);
    await assert.rejects(session.request('writeMemory', { memoryReference: '0x0', data: 'AAAA' }), /cannot write 3 bytes at 0x0/);
    // The switch: plain addresses read physically now.
    await session.request('ringside/setAddressSpace', { addressSpace: 'physical' });
    const switched = await session.request<DebugProtocol.ReadMemoryResponse>('readMemory', { memoryReference: hex(userStack + 0xff0n), count: 4 });
    assert.deepEqual([...bytesOf(switched)], [1, 2, 3, 4]);
    await session.request('ringside/setAddressSpace', { addressSpace: 'virtual' });

    // Disassembly around the pc: bytes, text, symbols and source lines.
    const pc = BigInt(frame.instructionPointerReference!);
    const listing = (await session.client.disassembleRequest({ memoryReference: hex(pc), instructionOffset: -4, instructionCount: 10, resolveSymbols: true })).body!.instructions;
    assert.equal(listing.length, 10);
    assert.equal(BigInt(listing[4].address), pc);
    assert.equal(listing[4].line, frame.line);
    for (let i = 1; i < listing.length; i++) {
      assert.equal(BigInt(listing[i].address) - BigInt(listing[i - 1].address), BigInt(listing[i - 1].instructionBytes!.length / 2));
    }
    const entry = (await session.client.disassembleRequest({ memoryReference: hex(symbolAddress('demo', 'syscall')), instructionCount: 1 })).body!.instructions[0];
    assert.equal(entry.symbol, 'syscall');
    assert.ok(entry.location?.path?.endsWith('kernel.c'));
    const unmapped = (await session.client.disassembleRequest({ memoryReference: '0x0', instructionCount: 2 })).body!.instructions;
    assert.equal(unmapped[0].presentationHint, 'invalid');
  } finally {
    await session.close();
  }
});

test('data breakpoints: by address, on a variable, physical; read and write', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const frame = await stopInSyscall(session);
    const ticks = symbolAddress('demo', 'ticks');
    // By address: writes to `ticks` (the timer interrupt handler counts).
    const info = (await session.client.dataBreakpointInfoRequest({ name: hex(ticks), asAddress: true, bytes: 8 } as DebugProtocol.DataBreakpointInfoArguments)).body;
    assert.equal(info.dataId, `${hex(ticks)}/8`);
    assert.deepEqual(info.accessTypes, ['read', 'write', 'readWrite']);
    const before = BigInt((await session.evaluate('ticks')).result);
    let set = await session.client.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.dataId!, accessType: 'write' }] });
    assert.equal(set.body.breakpoints[0].verified, true);
    await session.client.continueRequest({ threadId: 1 });
    let stop = await session.stopped();
    assert.equal(stop.reason, 'data breakpoint');
    assert.match(stop.description!, new RegExp(`write of 8 bytes at ${hex(ticks)}`));
    assert.equal(BigInt((await session.evaluate('ticks')).result), before + 1n);
    assert.equal((await session.topFrame()).name, 's_trap');

    // On a global variable from the Globals scope: reads of `current`.
    const top = await session.topFrame();
    const scopes = (await session.client.scopesRequest({ frameId: top.id })).body.scopes;
    const globals = scopes.find((scope) => scope.name === 'Globals')!;
    const variables = (await session.client.variablesRequest({ variablesReference: globals.variablesReference })).body.variables;
    assert.ok(variables.some((variable) => variable.name === 'current'));
    const current = (await session.client.dataBreakpointInfoRequest({ variablesReference: globals.variablesReference, name: 'current' })).body;
    assert.equal(current.dataId, `${hex(symbolAddress('demo', 'current'))}/4`);
    set = await session.client.setDataBreakpointsRequest({ breakpoints: [{ dataId: current.dataId!, accessType: 'read' }] });
    assert.equal(set.body.breakpoints.length, 1);
    await session.client.continueRequest({ threadId: 1 });
    stop = await session.stopped();
    assert.equal(stop.reason, 'data breakpoint');
    assert.match(stop.description!, /read of 4 bytes/);

    // Physical: the same variable through phys:, and an expression's place in memory.
    const physical = (await session.client.dataBreakpointInfoRequest({ name: `phys:${hex(symbolAddress('demo', 'switches'))}`, asAddress: true, bytes: 8 } as DebugProtocol.DataBreakpointInfoArguments)).body;
    assert.equal(physical.dataId, `phys:${hex(symbolAddress('demo', 'switches'))}/8`);
    const byExpression = (await session.client.dataBreakpointInfoRequest({ name: '*(u64*)&switches' })).body;
    assert.equal((await session.client.dataBreakpointInfoRequest({ name: 'switches' })).body.dataId, byExpression.dataId);
    assert.equal(byExpression.dataId, `${hex(symbolAddress('demo', 'switches'))}/8`);
    const registerInfo = (await session.client.dataBreakpointInfoRequest({ name: 'sp (x2)', variablesReference: scopes.find((scope) => scope.name === 'Registers')!.variablesReference })).body;
    assert.equal(registerInfo.dataId, null);
    await session.client.setDataBreakpointsRequest({ breakpoints: [{ dataId: physical.dataId!, accessType: 'readWrite' }] });
    await session.client.continueRequest({ threadId: 1 });
    stop = await session.stopped();
    assert.equal(stop.reason, 'data breakpoint');
    assert.match(stop.description!, /\(physical\)/);
    assert.equal((await session.topFrame()).name, 'switch_to');
    void frame;
  } finally {
    await session.close();
  }
});

test('custom requests: translateAddress, deviceState, exitStatistics, vm reset and power off', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    await stopInSyscall(session);
    const userStack = symbolAddress('demo', 'user_stacks');
    const walk = (await session.request('ringside/translateAddress', { address: '0x40000ff0' })).body as {
      mode: string; physicalAddress: string; pageSize: number; levels: Array<{ level: number; pte: string; flags: Record<string, boolean>; leaf: boolean }>;
    };
    assert.equal(walk.mode, 'sv39');
    assert.equal(BigInt(walk.physicalAddress), userStack + 0xff0n);
    assert.equal(walk.pageSize, 4096);
    assert.deepEqual(walk.levels.map((level) => level.level), [2, 1, 0]);
    assert.deepEqual(walk.levels.map((level) => level.leaf), [false, false, true]);
    const leaf = walk.levels[2].flags;
    assert.deepEqual([leaf.V, leaf.R, leaf.W, leaf.X, leaf.U], [true, true, true, false, true]);
    const denied = (await session.request('ringside/translateAddress', { address: '0x40000ff0', access: 'execute', privilege: 'U' })).body as { fault?: string };
    assert.match(denied.fault!, /page fault/);

    const devices = (await session.request('ringside/deviceState', {})).body as { uart: unknown; clint: { mtime: number }; plic: unknown };
    assert.ok(devices.uart !== undefined && devices.plic !== undefined && devices.clint.mtime > 0);
    const uart = (await session.request('ringside/deviceState', { device: 'uart' })).body as Record<string, unknown>;
    assert.deepEqual(Object.keys(uart), ['uart']);
    await assert.rejects(session.request('ringside/deviceState', { device: 'gpu' }), /no device 'gpu'/);

    const statistics = (await session.request('ringside/exitStatistics', {})).body as { exits: Record<string, number>; totalExits: number; instructionsRetired: number };
    assert.ok(statistics.exits.ecall >= 1 && statistics.exits.sret >= 1 && statistics.totalExits > 0);
    assert.ok(statistics.instructionsRetired > 0);

    // Reset: back at the entry point, stopped.
    const reset = (await session.request('ringside/vm', { action: 'reset' })).body as { running: boolean };
    assert.equal(reset.running, false);
    const stop = await session.stopped();
    assert.equal(stop.reason, 'entry');
    assert.equal((await session.topFrame()).instructionPointerReference, hex(symbolAddress('demo', '_start')));
    await session.request('ringside/vm', { action: 'powerOff' });
    await session.next('terminated');
  } finally {
    await session.close();
  }
});
