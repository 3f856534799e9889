// Prologue skipping: DW_LNS_set_prologue_end in the line program (a hand-made DWARF 5 program,
// since GCC does not emit it) and SymbolFile.postPrologueAddress against gdb's `break NAME`.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLineProgram, type LineHeader } from '../../debug-adapter/symbols/line-program';
import { hex, loadFixture } from './symbols-support';

test('the line program records prologue_end on the next row only', () => {
  const address = [0x00, 0x10, 0x00, 0x80, 0, 0, 0, 0];
  const program = new Uint8Array([
    0x00, 9, 0x02, ...address, // set_address 0x80001000
    0x01, //                      copy: line 1
    0x02, 4, 0x03, 1, 0x0a, 0x01, // advance_pc 4, advance_line 1, set_prologue_end, copy: line 2 (prologue end)
    0x02, 2, 0x01, //             advance_pc 2, copy: line 2
    0x02, 2, 0x00, 1, 0x01, //    advance_pc 2, end_sequence
  ]);
  const header: LineHeader = {
    offset: 0, version: 5, addressSize: 8, files: [], minimumInstructionLength: 1, defaultIsStatement: true,
    lineBase: -5, lineRange: 14, opcodeBase: 13, standardOpcodeLengths: [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1],
    programStart: 0, programEnd: program.length,
  };
  const [sequence] = runLineProgram({ name: '.debug_line', bytes: program, address: 0n }, 'test', header);
  assert.deepEqual(sequence.rows.map((row) => [hex(row.address), row.line, row.prologueEnd === true]),
    [['0x80001000', 1, false], ['0x80001004', 2, true], ['0x80001006', 2, false]]);
});

test('postPrologueAddress agrees with gdb break NAME (shapes -O2: empty prologues stay at the entry)', () => {
  const file = loadFixture('shapes-dwarf5-O2');
  // gdb-multiarch 13 `break NAME` on test/fixtures/symbols/shapes-dwarf5-O2.elf.
  const gdb: Record<string, string> = {
    combine: '0x80000092', descend: '0x8000009c', leaf: '0x80000070', main: '0x800000ea', perimeter2: '0x80000036', ratio_of: '0x800000d4',
  };
  for (const [name, expected] of Object.entries(gdb)) {
    const info = file.functionByName(name);
    assert.ok(info !== undefined, name);
    assert.equal(hex(file.postPrologueAddress(info) ?? info.lowPc), expected, name);
  }
});

test('postPrologueAddress skips the opening line of a function with a prologue row (demo syscall)', () => {
  const file = loadFixture('guest-demo');
  const info = file.functionByName('syscall');
  assert.ok(info !== undefined);
  const after = file.postPrologueAddress(info);
  assert.ok(after !== undefined && after > info.lowPc);
  assert.notEqual(file.locationAt(after)!.line, file.locationAt(info.lowPc)!.line);
  // Assembly (no DWARF subprogram) keeps its symbol address.
  const entry = file.functionByName('s_trap_entry');
  assert.equal(entry === undefined ? undefined : file.postPrologueAddress(entry), undefined);
});
