// Symbols over DAP: inlined functions as frames of their own, and several symbol files at once
// (the one used for a frame chosen by address, privilege and address space).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { loadSymbolFile } from '../../debug-adapter/symbols/symbol-file';
import { guestPath, hex, openSession, symbolAddress } from './support';

const rv64i = loadSymbolFile(new Uint8Array(readFileSync(guestPath('rv64i'))), 'rv64i.elf');

/** Row starts (instruction boundaries) of rv64i.elf inside an inlined function. */
function inlinedAddresses(): bigint[] {
  const result: bigint[] = [];
  for (let address = 0x80000000n; address < 0x80010000n; address += 2n) {
    if (rv64i.locationAt(address)?.address !== address) continue;
    const chain = rv64i.functionsAt(address);
    if (chain.length > 1 && chain[0].inlined) result.push(address);
  }
  return result;
}

test('inlined functions are frames of their own', { timeout: 20_000 }, async () => {
  const addresses = inlinedAddresses();
  assert.ok(addresses.length > 0);
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('rv64i') }, async () => {
      await session.request('setInstructionBreakpoints', { breakpoints: addresses.map((address) => ({ instructionReference: hex(address) })) });
    });
    await session.stopped();
    const frames = (await session.client.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    const chain = rv64i.functionsAt(BigInt(frames[0].instructionPointerReference!));
    assert.equal(frames[0].name, `${chain[0].function.name} [inlined]`);
    assert.equal(frames[1].name, chain[1].inlined ? `${chain[1].function.name} [inlined]` : chain[1].function.name);
    // The caller's line is where the inlined body was called from.
    assert.equal(frames[1].line, chain[0].callSite!.line);
    assert.ok(frames[1].source!.path!.endsWith(chain[0].callSite!.path.replace(/^.*\//, '')));
    // Both frames are the same machine frame: the same pc.
    assert.equal(frames[0].instructionPointerReference, frames[1].instructionPointerReference);
  } finally {
    await session.close();
  }
});

test('symbol files by privilege: U-mode frames use the file given for U', { timeout: 20_000 }, async () => {
  const session = await openSession();
  try {
    // A stand-in "user program": rv64i.elf moved so that it covers the demo's user pages.
    const userEntry = symbolAddress('demo', 'user_entry');
    const offset = userEntry - symbolAddress('rv64i', 'main');
    await session.launch({
      program: guestPath('demo'),
      symbolFiles: [
        { path: 'guests/bin/rv64i.elf', offset: hex(offset), privilege: 'U' },
        { path: 'guests/bin/smp.elf', asid: 5 },
      ],
    }, async () => {
      await session.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'kmain' }] });
      await session.request('setInstructionBreakpoints', { breakpoints: [{ instructionReference: hex(userEntry) }] });
    });
    await session.stopped();
    assert.equal((await session.topFrame()).name, 'kmain');
    await session.client.continueRequest({ threadId: 1 });
    const stop = await session.stopped();
    assert.equal(stop.reason, 'instruction breakpoint');
    const frame = await session.topFrame();
    assert.equal(frame.instructionPointerReference, hex(userEntry));
    assert.equal(frame.name, 'main');
    assert.match(frame.source!.path!, /guests\/rv64i\//);
    // The function breakpoint resolves in the files in order (kernel first).
    const set = await session.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'user_entry' }] });
    assert.equal((set.body.breakpoints[0] as DebugProtocol.Breakpoint).verified, true);
  } finally {
    await session.close();
  }
});
