// Call frame information against readelf --debug-dump=frames-interp, and unwinding real
// stacks: the fixture programs and the demo kernel run on the emulator to a breakpoint,
// then the caller chain is recovered from the stopped machine's registers and memory.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { callerRegisters, loadSymbolFile, type ElfSymbolFile } from '../../debug-adapter/symbols/symbol-file';
import type { MemoryReader, RegisterReader } from '../../debug-adapter/symbols/types';
import { Debugger } from '../../vmm-core/debug/debugger';
import { Machine } from '../../vmm-core/machine/machine';
import { FIXTURES, hex, loadFixture, reference, registerNumber, type FixtureName } from './symbols-support';

for (const name of FIXTURES) {
  test(`${name}: CFI rows match readelf's frames-interp`, () => {
    const file = loadFixture(name);
    const fdes = reference(name).frames;
    if (name === 'shapes-fp-O1') assert.equal(fdes.length, 0);
    for (const fde of fdes) {
      const low = BigInt(fde.low);
      assert.deepEqual([file.unwindRowAt(low)?.low, file.unwindRowAt(low)?.high], [low, BigInt(fde.high)]);
      fde.rows.forEach(([pc, cfa, registers], index) => {
        const next = index + 1 < fde.rows.length ? BigInt(fde.rows[index + 1][0]) : BigInt(fde.high);
        // The row holds from its pc up to the next row's.
        for (const address of new Set([BigInt(pc), next - 2n])) {
          const row = file.unwindRowAt(address);
          assert.ok(row !== undefined && row.cfa.kind === 'registerOffset', `${pc}`);
          const [register, offset] = cfa.split('+');
          assert.deepEqual([row.cfa.register, row.cfa.offset], [registerNumber(register), Number(offset)], `CFA at ${hex(address)}`);
          for (const [column, rule] of Object.entries(registers)) {
            const actual = row.registers.get(registerNumber(column));
            if (rule === 'u') assert.ok(actual === undefined || actual.kind === 'undefined' || actual.kind === 'sameValue', `${column} at ${hex(address)}`);
            else assert.deepEqual(actual, { kind: 'offset', offset: Number(rule.slice(1)) }, `${column} at ${hex(address)}`);
          }
        }
      });
    }
  });
}

interface Stopped {
  readonly file: ElfSymbolFile;
  readonly registers: RegisterReader;
  readonly memory: MemoryReader;
}

/** Runs `elfPath` bare on a fresh machine until its pc reaches `address`. */
function stopAt(elfPath: string, file: ElfSymbolFile, address: bigint, hit = 1): Stopped {
  const bytes = new Uint8Array(readFileSync(elfPath));
  const machine = new Machine({ hartCount: 1, bios: 'none', kernel: { fileName: elfPath, bytes }, consoleOutput: () => {} });
  const debug = new Debugger(machine);
  debug.addCodeBreakpoint({ address });
  let stop = debug.continue(20_000_000);
  for (let count = 1; count < hit; count++) stop = debug.continue(20_000_000);
  assert.equal(stop?.reason, 'breakpoint', JSON.stringify(stop, (_key, value: unknown) => (typeof value === 'bigint' ? hex(value) : value)));
  const hart = machine.harts[0];
  const values = Array.from({ length: 32 }, (_, index) => BigInt.asUintN(64, hart.readRegister(index)));
  return {
    file,
    registers: { pc: hart.pc, register: (index) => values[index] ?? 0n },
    memory: (at, size) => machine.readPhysical(at, size),
  };
}

const wordAt = (memory: MemoryReader, address: bigint): number => {
  const bytes = memory(address, 4)!;
  return (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
};

/** The target of the `jal ra, target` that ends just before `returnAddress` (every call in these programs is one). */
function callTarget(memory: MemoryReader, returnAddress: bigint): bigint | undefined {
  const word = wordAt(memory, returnAddress - 4n);
  if ((word & 0x7f) !== 0x6f || ((word >> 7) & 0x1f) !== 1) return undefined;
  const offset = ((word >> 31) & 1) * -(1 << 20) + (((word >> 12) & 0xff) << 12) + (((word >> 20) & 1) << 11) + (((word >> 21) & 0x3ff) << 1);
  return returnAddress - 4n + BigInt(offset);
}

const SHAPES: { name: FixtureName; descendFrames: number; method: string }[] = [
  { name: 'shapes-dwarf4-O1', descendFrames: 6, method: 'cfi' },
  // -O2: descend(0) tail-calls leaf, so its frame is gone.
  { name: 'shapes-dwarf5-O2', descendFrames: 5, method: 'cfi' },
  { name: 'shapes-fp-O1', descendFrames: 6, method: 'frame-pointer' },
  // CFI from .eh_frame (zR, pc-relative sdata4 pointers).
  { name: 'shapes-eh-O2', descendFrames: 5, method: 'cfi' },
];

for (const { name, descendFrames, method } of SHAPES) {
  for (const where of ['entry', 'body'] as const) {
    test(`${name}: unwinds leaf -> descend x${descendFrames} -> main -> _start from the leaf's ${where}`, () => {
      const file = loadFixture(name);
      const leaf = file.functionByName('leaf')!;
      // The body: the statement `return trail[0] + value;` (a line gdb would break on), past the prologue.
      const source = readFileSync('test/fixtures/symbols/shapes.c', 'utf8').split('\n');
      const bodyLine = source.findIndex((text) => text.includes('return trail[0] + value;')) + 1;
      const address = where === 'entry' ? leaf.lowPc : file.addressesForLine('test/fixtures/symbols/shapes.c', bodyLine)[0];
      assert.ok(address > leaf.lowPc || where === 'entry');
      const stopped = stopAt(reference(name).source, file, address);
      const frames = file.backtrace(stopped.registers, stopped.memory);
      const names = [file.functionsAt(address), ...frames.map((frame) => file.functionsAt(frame.pc - 1n))]
        .map((chain) => chain[chain.length - 1].function.name);
      assert.deepEqual(names, ['leaf', ...Array(descendFrames).fill('descend'), 'main', '_start']);
      // Every caller pc follows a call to the callee's function (or, after a tail call, to descend).
      let calleeStart = leaf.lowPc;
      let spBelow = stopped.registers.register(2);
      for (const frame of frames) {
        const target = callTarget(stopped.memory, frame.pc);
        assert.ok(target === calleeStart || (calleeStart === leaf.lowPc && target === file.functionByName('descend')!.lowPc), `call before ${hex(frame.pc)}`);
        assert.ok(frame.sp >= spBelow, 'the stack unwinds upwards');
        spBelow = frame.sp;
        const chain = file.functionsAt(frame.pc - 1n);
        calleeStart = chain[chain.length - 1].function.lowPc;
      }
      // Method: the first frame may use the return address (leaf at entry, or a leaf without a frame).
      assert.ok(frames.slice(1, -1).every((frame) => frame.method === method), frames.map((frame) => frame.method).join());

      // main's `trail` (DW_OP_fbreg N) is the array whose address leaf received in a1.
      const mainIndex = names.indexOf('main') - 1;
      let registers = stopped.registers;
      for (let index = 0; index <= mainIndex; index++) registers = callerRegisters(registers, frames[index]);
      const trail = file.variablesAt(frames[mainIndex].pc - 1n).find((variable) => variable.name === 'trail')!;
      assert.equal(trail.location.kind, 'frameOffset');
      const offset = trail.location.kind === 'frameOffset' ? trail.location.offset : 0n;
      const base = file.frameBase(frames[mainIndex].pc - 1n, registers, stopped.memory);
      assert.equal(base !== undefined ? base + offset : undefined, stopped.registers.register(11));
    });
  }
}

test('demo kernel (S-mode, paging on): unwinds alloc_page -> map_page -> ... -> kmain', () => {
  const file = loadSymbolFile(new Uint8Array(readFileSync('guests/bin/demo.elf')), 'guests/bin/demo.elf');
  const allocPage = file.functionByName('alloc_page')!;
  // The first call comes from build_kernel_map itself, the second from map_page.
  const stopped = stopAt('guests/bin/demo.elf', file, allocPage.lowPc, 2);
  const frames = file.backtrace(stopped.registers, stopped.memory);
  const names = frames.map((frame) => file.functionsAt(frame.pc - 1n).map((entry) => entry.function.name));
  assert.deepEqual(names[0], ['map_page']);
  assert.ok(names.some((chain) => chain.includes('kmain')), JSON.stringify(names));
  // At the first instruction the CFI row says: CFA = sp, ra not saved yet.
  assert.equal(frames[0].method, 'cfi');
  assert.equal(frames[0].sp, stopped.registers.register(2));
  for (const frame of frames.slice(0, names.findIndex((chain) => chain.includes('kmain')))) {
    const location = file.locationAt(frame.pc - 1n)!;
    assert.match(location.path, /guests\/demo\/kernel\.c$/);
    assert.ok(callTarget(stopped.memory, frame.pc) !== undefined, `a call precedes ${hex(frame.pc)}`);
  }
});
