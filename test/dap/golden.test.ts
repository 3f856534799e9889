// Golden transcripts of three DAP answers on the demo kernel, with volatile ids (frame ids,
// variables references) replaced by stable placeholders and paths made relative to the
// repository: a stack trace, the Registers scope and a disassembly. UPDATE_GOLDEN=1 rewrites
// test/dap/golden/*.json.

import { test } from 'node:test';
import { assertGolden, guestPath, hex, lineOf, openSession, sourcePath, symbolAddress } from './support';

test('golden: stack trace, Registers scope and disassembly in syscall()', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    const line = lineOf('guests/demo/kernel.c', 'f->sepc += 4;');
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setBreakpointsRequest({ source: { path: sourcePath('guests/demo/kernel.c') }, breakpoints: [{ line }] });
    });
    await session.stopped();
    const trace = await session.client.stackTraceRequest({ threadId: 1 });
    assertGolden('stack-trace', trace.body);
    const frame = trace.body.stackFrames[0];
    const scopes = await session.client.scopesRequest({ frameId: frame.id });
    const registers = scopes.body.scopes.find((scope) => scope.name === 'Registers')!;
    assertGolden('registers-scope', {
      scopes: scopes.body.scopes,
      registers: (await session.client.variablesRequest({ variablesReference: registers.variablesReference })).body,
    });
    const disassembly = await session.client.disassembleRequest({
      memoryReference: hex(symbolAddress('demo', 'syscall')), instructionOffset: -2, instructionCount: 16, resolveSymbols: true,
    });
    assertGolden('disassembly', disassembly.body);
  } finally {
    await session.close();
  }
});
