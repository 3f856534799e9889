// Malformed input: corrupted and truncated debug sections must give a SymbolError naming
// the file and section at load time, or load and degrade per unit (never another error,
// never a hang). Also the DWARF 5 forms GCC does not emit for these programs (strx*,
// addrx*, rnglistx, loclistx, data16, implicit_const), read from hand-built sections.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SymbolError } from '../../debug-adapter/symbols/dwarf-reader';
import { locationAt } from '../../debug-adapter/symbols/expression';
import { DebugInfo, emptySections, type DwarfSections } from '../../debug-adapter/symbols/info';
import { loadSymbolFile } from '../../debug-adapter/symbols/symbol-file';
import { parseElf } from '../../vmm-core/machine/elf';
import { reference } from './symbols-support';

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 2 ** 32;
  };
}

const SECTIONS = ['.debug_info', '.debug_abbrev', '.debug_line', '.debug_str', '.debug_line_str', '.debug_rnglists',
  '.debug_loclists', '.debug_ranges', '.debug_loc', '.debug_frame', '.debug_aranges', '.eh_frame'];

/** Loads, then uses every query; only SymbolError may come out of the load, nothing out of the queries. */
function exercise(bytes: Uint8Array, fileName: string, addresses: readonly bigint[]): 'loaded' | 'rejected' {
  let file;
  try {
    file = loadSymbolFile(bytes, fileName);
  } catch (error) {
    assert.ok(error instanceof SymbolError, `unexpected ${(error as Error).name}: ${(error as Error).message}`);
    assert.ok(error.message.startsWith(fileName), error.message);
    return 'rejected';
  }
  void file.sourceFiles;
  const registers = { pc: addresses[0], register: (index: number) => (index === 2 ? 0x80003f00n : index === 8 ? 0x80003f40n : 0x80000010n) };
  const memory = (address: bigint, size: number): Uint8Array | undefined =>
    address >= 0x80000000n && address < 0x80004000n ? new Uint8Array(size).fill(0x11) : undefined;
  for (const address of addresses) {
    file.locationAt(address);
    file.functionsAt(address);
    for (const variable of file.variablesAt(address)) void variable.type?.members;
    file.frameBase(address, registers, memory);
    file.unwind({ ...registers, pc: address }, memory);
  }
  file.backtrace(registers, memory);
  file.globals();
  file.functionByName('main');
  file.functionByName('not_there');
  file.addressesForLine('shapes.c', 60);
  file.nearestLineWithCode('/x/test/fixtures/symbols/shapes.c', 1);
  void file.diagnostics;
  return 'loaded';
}

for (const name of ['shapes-dwarf5-O2', 'shapes-dwarf4-O1', 'shapes-eh-O2'] as const) {
  test(`${name}: corrupting each debug section at many offsets gives SymbolError or a degraded load`, () => {
    const source = reference(name).source;
    const original = new Uint8Array(readFileSync(source));
    const elf = parseElf(original, source);
    const addresses = reference(name).addr2line.filter((_, index) => index % 9 === 0).map((entry) => BigInt(entry.address));
    const next = random(name.length * 7919);
    const started = Date.now();
    const outcomes = { loaded: 0, rejected: 0 };
    for (const sectionName of SECTIONS) {
      const section = elf.section(sectionName);
      if (section === undefined || section.size === 0) continue;
      for (let trial = 0; trial < 24; trial++) {
        const bytes = original.slice();
        const offset = section.offset + Math.floor(next() * section.size);
        if (trial % 4 === 3) {
          bytes.fill(0xff, offset, section.offset + section.size); // a truncated tail
        } else {
          const count = 1 + Math.floor(next() * 4);
          for (let index = 0; index < count && offset + index < section.offset + section.size; index++) bytes[offset + index] = Math.floor(next() * 256);
        }
        outcomes[exercise(bytes, `${name}.elf`, addresses)]++;
      }
    }
    assert.ok(outcomes.loaded > 50, JSON.stringify(outcomes));
    assert.ok(Date.now() - started < 30_000, 'no pathological slowness');
  });
}

test('every single-byte value at the start of .debug_info and .debug_abbrev', () => {
  const source = reference('shapes-dwarf5-O2').source;
  const original = new Uint8Array(readFileSync(source));
  const elf = parseElf(original, source);
  const addresses = [0x80000040n, 0x800000a0n];
  for (const sectionName of ['.debug_info', '.debug_abbrev', '.debug_line']) {
    const section = elf.section(sectionName)!;
    for (const position of [0, 4, 5, 6, 7, 8, 12, 13]) {
      for (let value = 0; value < 256; value += 17) {
        const bytes = original.slice();
        bytes[section.offset + position] = value;
        exercise(bytes, 'patched.elf', addresses);
      }
    }
  }
});

test('a truncated .debug_info unit header is a SymbolError naming the file and section', () => {
  const source = reference('shapes-dwarf4-O1').source;
  const bytes = new Uint8Array(readFileSync(source));
  const info = parseElf(bytes, source).section('.debug_info')!;
  new DataView(bytes.buffer).setUint32(info.offset, 0x7fff_0000, true); // unit length past the end
  assert.throws(() => loadSymbolFile(bytes, 'kernel.elf'), (error: unknown) =>
    error instanceof SymbolError && /^kernel\.elf: \.debug_info at 0x0: unit length/.test(error.message));
  assert.throws(() => loadSymbolFile(new Uint8Array([1, 2, 3]), 'junk.bin'), (error: unknown) => error instanceof SymbolError && /junk\.bin/.test(error.message));
});

test('an ELF without DWARF: ELF symbols only', () => {
  const file = loadSymbolFile(new Uint8Array(readFileSync('guests/bin/demo.elf')), 'demo.elf');
  const stripped = loadSymbolFile(stripDebug(new Uint8Array(readFileSync('guests/bin/demo.elf'))), 'stripped.elf');
  const kmain = file.symbolByName('kmain')!;
  assert.deepEqual(stripped.symbolByName('kmain'), kmain);
  assert.equal(stripped.locationAt(kmain.address), undefined);
  assert.deepEqual(stripped.functionsAt(kmain.address + 4n).map((frame) => frame.function.name), ['kmain']);
  assert.deepEqual(stripped.sourceFiles, []);
  assert.deepEqual(stripped.addressesForLine('kernel.c', 210), []);
});

/** Renames the debug sections (".debug_*" -> ".xebug_*") so the reader sees none. */
function stripDebug(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  const elf = parseElf(copy, 'x');
  const names = elf.sections[new DataView(copy.buffer).getUint16(62, true)];
  for (let offset = names.offset; offset < names.offset + names.size - 6; offset++) {
    if (String.fromCharCode(...copy.subarray(offset, offset + 7)) === '.debug_') copy[offset + 1] = 0x78;
  }
  return copy;
}

// ---- hand-built DWARF 5 -----------------------------------------------------------------

/** Little-endian byte builder. */
class Bytes {
  readonly data: number[] = [];
  u8(...values: number[]): this { this.data.push(...values.map((value) => value & 0xff)); return this; }
  u16(value: number): this { return this.u8(value, value >> 8); }
  u32(value: number): this { return this.u8(value, value >> 8, value >> 16, value >>> 24); }
  u64(value: bigint): this { for (let index = 0n; index < 8n; index++) this.u8(Number((value >> (8n * index)) & 0xffn)); return this; }
  uleb(value: number): this {
    do {
      const byte = value & 0x7f;
      value = Math.floor(value / 128);
      this.u8(value > 0 ? byte | 0x80 : byte);
    } while (value > 0);
    return this;
  }
  sleb(value: number): this {
    for (;;) {
      const byte = value & 0x7f;
      value >>= 7;
      if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) return this.u8(byte);
      this.u8(byte | 0x80);
    }
  }
  string(text: string): this { return this.u8(...Buffer.from(`${text}\0`)); }
  get length(): number { return this.data.length; }
  bytes(): Uint8Array { return new Uint8Array(this.data); }
}

/** Wraps `body` in a unit with a 32-bit initial length. */
const unit = (body: Bytes): Bytes => new Bytes().u32(body.length).u8(...body.data);

function handBuiltSections(): DwarfSections {
  const abbrev = new Bytes()
    // 1: compile unit: name strx1, str_offsets_base, addr_base, rnglists_base, loclists_base, low_pc addrx1, high_pc data4
    .uleb(1).uleb(0x11).u8(1)
    .uleb(0x03).uleb(0x25).uleb(0x72).uleb(0x17).uleb(0x73).uleb(0x17).uleb(0x74).uleb(0x17).uleb(0x8c).uleb(0x17)
    .uleb(0x11).uleb(0x29).uleb(0x12).uleb(0x06).uleb(0).uleb(0)
    // 2: subprogram: name strx2, ranges rnglistx, decl_line implicit_const 42, frame_base exprloc
    .uleb(2).uleb(0x2e).u8(1)
    .uleb(0x03).uleb(0x26).uleb(0x55).uleb(0x23).uleb(0x3b).uleb(0x21).sleb(42).uleb(0x40).uleb(0x18).uleb(0).uleb(0)
    // 3: variable: name strx (uleb), location loclistx, const_value data16
    .uleb(3).uleb(0x34).u8(0)
    .uleb(0x03).uleb(0x1a).uleb(0x02).uleb(0x22).uleb(0x1c).uleb(0x1e).uleb(0).uleb(0)
    // 4: variable: name strx4, location exprloc, name via indirect form
    .uleb(4).uleb(0x34).u8(0)
    .uleb(0x03).uleb(0x16).uleb(0x02).uleb(0x18).uleb(0).uleb(0)
    .uleb(0);
  const str = new Bytes().string('unit.c').string('function').string('counter').string('table');
  const strOffsets = unit(new Bytes().u16(5).u16(0).u32(0).u32(7).u32(16).u32(24));
  const addr = unit(new Bytes().u16(5).u8(8, 0).u64(0x8000_1000n).u64(0x8000_2000n));
  const rnglists = unit(new Bytes().u16(5).u8(8, 0).u32(1).u32(4)
    .u8(1).uleb(0) // base_addressx 0
    .u8(4).uleb(0x10).uleb(0x20) // offset_pair
    .u8(3).uleb(1).uleb(0x30) // startx_length
    .u8(0));
  const loclists = unit(new Bytes().u16(5).u8(8, 0).u32(1).u32(4)
    .u8(3).uleb(0).uleb(0x18).uleb(1).u8(0x5a) // startx_length: 0x80001000..+0x18 in a0
    .u8(8).u64(0x8000_2000n).uleb(0x8).uleb(2).u8(0x91).sleb(-24) // start_length: fbreg -24
    .u8(0));
  const info = unit(new Bytes().u16(5).u8(1, 8).u32(0)
    .uleb(1).u8(0).u32(8).u32(8).u32(12).u32(12).u8(0).u32(0x100)
    .uleb(2).u16(1).uleb(0).u8(1, 0x9c)
    .uleb(3).uleb(2).uleb(0).u8(...Array.from({ length: 16 }, (_, index) => index))
    .uleb(4).uleb(0x28).u32(3).uleb(2).u8(0xa1).uleb(1) // indirect strx4; DW_OP_addrx 1
    .u8(0) // end of subprogram's children
    .u8(0)); // end of unit's children
  const fileName = 'hand-built';
  const section = (name: string, bytes: Bytes) => ({ name, bytes: bytes.bytes(), address: 0n });
  return {
    ...emptySections(fileName),
    info: section('.debug_info', info), abbrev: section('.debug_abbrev', abbrev), str: section('.debug_str', str),
    strOffsets: section('.debug_str_offsets', strOffsets), addr: section('.debug_addr', addr),
    rnglists: section('.debug_rnglists', rnglists), loclists: section('.debug_loclists', loclists),
  };
}

test('DWARF 5 forms: strx*, addrx*, rnglistx, loclistx, implicit_const, data16, indirect', () => {
  const debug = new DebugInfo(handBuiltSections());
  assert.equal(debug.units.length, 1);
  const compileUnit = debug.units[0];
  const root = compileUnit.dieTree();
  assert.equal(compileUnit.string(root, 0x03), 'unit.c');
  assert.deepEqual(compileUnit.ranges(root), [{ low: 0x8000_1000n, high: 0x8000_1100n }]);
  const function_ = root.children[0];
  assert.equal(compileUnit.string(function_, 0x03), 'function');
  assert.equal(compileUnit.constant(function_, 0x3b), 42);
  assert.deepEqual(compileUnit.ranges(function_), [{ low: 0x8000_1010n, high: 0x8000_1020n }, { low: 0x8000_2000n, high: 0x8000_2030n }]);
  const [counter, table] = function_.children;
  assert.equal(compileUnit.string(counter, 0x03), 'counter');
  assert.deepEqual(counter.attribute(0x1c)?.value, new Uint8Array(Array.from({ length: 16 }, (_, index) => index)));
  const location = counter.attribute(0x02)!;
  assert.deepEqual(locationAt(compileUnit, location.form, location.value, 0x8000_1004n), { kind: 'expression', expression: new Uint8Array([0x5a]) });
  assert.deepEqual(locationAt(compileUnit, location.form, location.value, 0x8000_2004n), { kind: 'expression', expression: new Uint8Array([0x91, 0x68]) });
  assert.equal(locationAt(compileUnit, location.form, location.value, 0x8000_1800n).kind, 'none');
  assert.equal(compileUnit.string(table, 0x03), 'table');
  assert.deepEqual(table.attribute(0x02)?.value, new Uint8Array([0xa1, 0x01]));
});
