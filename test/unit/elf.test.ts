import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElfError, PT_LOAD, PF_R, PF_W, PF_X, formatAddress, formatSize, loadElfIntoRam, parseElf } from '../../vmm-core/machine/elf';
import { loadRawIntoRam } from '../../vmm-core/machine/raw-loader';
import { GuestRam } from '../../vmm-core/memory/ram';

const FIXTURE = readFileSync(join(__dirname, '../fixtures/elf/htif-hello.elf'));
const fixture = () => new Uint8Array(FIXTURE);

interface SegmentSpec {
  type?: number;
  flags?: number;
  offset: number;
  virtualAddress?: bigint;
  physicalAddress: bigint;
  fileSize: number;
  memorySize: number;
}

/** A minimal ELF64 with program headers only, built byte by byte. */
function makeElf(options: { segments: SegmentSpec[]; machine?: number; elfClass?: number; encoding?: number; type?: number; entry?: bigint; length?: number }): Uint8Array {
  const length = options.length ?? 0x400;
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, options.elfClass ?? 2, options.encoding ?? 1, 1]);
  view.setUint16(16, options.type ?? 2, true);
  view.setUint16(18, options.machine ?? 243, true);
  view.setUint32(20, 1, true);
  view.setBigUint64(24, options.entry ?? 0x8000_0000n, true);
  view.setBigUint64(32, 64n, true);
  view.setUint16(52, 64, true);
  view.setUint16(54, 56, true);
  view.setUint16(56, options.segments.length, true);
  view.setUint16(58, 64, true);
  options.segments.forEach((segment, index) => {
    const base = 64 + index * 56;
    view.setUint32(base, segment.type ?? PT_LOAD, true);
    view.setUint32(base + 4, segment.flags ?? PF_R | PF_X, true);
    view.setBigUint64(base + 8, BigInt(segment.offset), true);
    view.setBigUint64(base + 16, segment.virtualAddress ?? segment.physicalAddress, true);
    view.setBigUint64(base + 24, segment.physicalAddress, true);
    view.setBigUint64(base + 32, BigInt(segment.fileSize), true);
    view.setBigUint64(base + 40, BigInt(segment.memorySize), true);
  });
  for (let offset = 0x200; offset < length; offset++) bytes[offset] = offset & 0xff;
  return bytes;
}

const oneSegment = (overrides: Partial<SegmentSpec> = {}): SegmentSpec => ({ offset: 0x200, physicalAddress: 0x8000_0000n, fileSize: 0x100, memorySize: 0x100, ...overrides });

function assertElfError(action: () => unknown, message: RegExp, fileName = 'kernel.elf'): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof ElfError, `expected ElfError, got ${String(error)}`);
    assert.ok(error.message.includes(fileName), `message lacks the file name: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });
}

test('fixture: header, segments and sections', () => {
  const image = parseElf(fixture(), 'htif-hello.elf');
  assert.equal(image.type, 'executable');
  assert.equal(image.entry, 0x8000_0000);
  const loads = image.loadSegments;
  assert.equal(loads.length, 2);
  assert.deepEqual(
    loads.map((segment) => [segment.physicalAddress, segment.virtualAddress, segment.fileSize, segment.memorySize, segment.flags]),
    [
      [0x8000_0000, 0x8000_0000, 0x3c, 0x3c, PF_R | PF_X],
      [0x8000_1000, 0x8000_1000, 0x48, 0x1048, PF_R | PF_W],
    ],
  );
  assert.deepEqual(image.sections.map((section) => section.name), ['', '.text', '.rodata', '.tohost', '.bss', '.riscv.attributes', '.symtab', '.strtab', '.shstrtab']);
  const text = image.section('.text')!;
  assert.equal(text.address, 0x8000_0000);
  assert.equal(image.sectionData(text).length, 0x38);
  assert.equal(image.sectionData(image.section('.bss')!).length, 0);
  assert.equal(Buffer.from(image.sectionData(image.section('.rodata')!)).toString('latin1'), 'hi\n\0');
});

test('fixture: symbol table and findSymbol', () => {
  const image = parseElf(fixture(), 'htif-hello.elf');
  assert.deepEqual(image.findSymbol('tohost'), { name: 'tohost', value: 0x8000_1000, size: 8, type: 'object', binding: 'global', sectionIndex: 3 });
  assert.equal(image.findSymbol('fromhost')!.value, 0x8000_1040);
  const start = image.findSymbol('_start')!;
  assert.equal(start.type, 'function');
  assert.equal(start.value, image.entry);
  assert.equal(image.findSymbol('message')!.binding, 'local');
  assert.equal(image.findSymbol('scratch')!.sectionIndex, 4);
  assert.equal(image.findSymbol('nonexistent'), undefined);
  assert.equal(image.findSymbol('.text'), undefined, 'section symbols are not looked up by name');
  assert.equal(image.omittedSymbolCount, 0);
  assert.ok(image.symbols.some((symbol) => symbol.type === 'file' && symbol.name === 'htif-hello.o'));
});

test('loader copies segments at their physical address and zero-fills .bss', () => {
  const image = parseElf(fixture(), 'htif-hello.elf');
  const ram = new GuestRam(0x8000_0000, 8 * 1024 * 1024);
  ram.bytes.fill(0xaa);
  const result = loadElfIntoRam(image, ram);
  assert.deepEqual(result, { entry: 0x8000_0000, lowestAddress: 0x8000_0000, highestAddress: 0x8000_2048 });
  const [text, data] = image.loadSegments;
  assert.deepEqual(ram.bytes.subarray(0, 0x3c), new Uint8Array(FIXTURE.subarray(text.offset, text.offset + 0x3c)));
  assert.deepEqual(ram.bytes.subarray(0x1000, 0x1048), new Uint8Array(FIXTURE.subarray(data.offset, data.offset + 0x48)));
  assert.ok(ram.bytes.subarray(0x1048, 0x2048).every((byte) => byte === 0), '.bss zeroed');
  assert.equal(ram.bytes[0x2048], 0xaa, 'nothing written past memsz');
  assert.equal(ram.bytes[0x3c], 0xaa, 'nothing written between segments');
});

test('loader applies an offset to the physical addresses and the entry', () => {
  const image = parseElf(fixture(), 'htif-hello.elf');
  const ram = new GuestRam(0x8000_0000, 8 * 1024 * 1024);
  const result = loadElfIntoRam(image, ram, { offset: 0x20_0000 });
  assert.deepEqual(result, { entry: 0x8020_0000, lowestAddress: 0x8020_0000, highestAddress: 0x8020_2048 });
  assert.equal(ram.bytes[0x20_0000], FIXTURE[image.loadSegments[0].offset]);
});

test('loader: a segment that does not fit names it, the RAM and --mem, and writes nothing', () => {
  const bytes = makeElf({ segments: [oneSegment(), oneSegment({ physicalAddress: 0x8020_0000n, memorySize: 0x80_0000 })] });
  const image = parseElf(bytes, 'kernel.elf');
  const ram = new GuestRam(0x8000_0000, 8 * 1024 * 1024);
  assertElfError(() => loadElfIntoRam(image, ram), /segment 1 at 0x80200000\.\.0x80a00000 does not fit in 8 MiB of RAM at 0x80000000; use --mem/);
  assert.ok(ram.bytes.subarray(0, 0x100).every((byte) => byte === 0), 'RAM untouched');
  assertElfError(() => loadElfIntoRam(parseElf(makeElf({ segments: [oneSegment({ physicalAddress: 0x1000n })] }), 'kernel.elf'), ram), /segment 0 at 0x1000\.\.0x1100 does not fit/);
  assertElfError(() => loadElfIntoRam(parseElf(makeElf({ segments: [oneSegment({ type: 4 })] }), 'kernel.elf'), ram), /no loadable segments/);
});

test('ET_DYN is accepted', () => {
  assert.equal(parseElf(makeElf({ type: 3, segments: [oneSegment()] }), 'kernel.elf').type, 'shared');
});

test('sign-extended high addresses become exact negative numbers; others are rejected', () => {
  const high = 0xffff_ffff_8000_1234n;
  const image = parseElf(makeElf({ entry: high, segments: [oneSegment({ virtualAddress: high, physicalAddress: 0x8000_0000n })] }), 'kernel.elf');
  assert.equal(image.entry, Number(BigInt.asIntN(64, high)));
  assert.equal(formatAddress(image.entry), '0xffffffff80001234');
  assert.equal(image.loadSegments[0].virtualAddress, image.entry);
  assertElfError(() => parseElf(makeElf({ entry: 0x0040_0000_0000_0000n, segments: [oneSegment()] }), 'kernel.elf'), /entry point 0x40000000000000 is neither below 2\^53/);
  assertElfError(() => parseElf(makeElf({ segments: [oneSegment({ virtualAddress: 0x8000_0000n, physicalAddress: 0x8000_0000_0000_0000n })] }), 'kernel.elf'), /physical address/);
});

const malformed: Array<[string, () => Uint8Array, RegExp]> = [
  ['empty file', () => new Uint8Array(0), /kernel\.elf is not an ELF file/],
  ['bad magic', () => Uint8Array.from(Buffer.from('#!/bin/sh\necho hi\n')), /is not an ELF file/],
  ['identification only', () => fixture().subarray(0, 12), /truncated: 12 bytes/],
  ['32-bit', () => makeElf({ elfClass: 1, segments: [] }), /kernel\.elf is a 32-bit ELF; Ringside runs RV64/],
  ['unknown class', () => makeElf({ elfClass: 7, segments: [] }), /unknown ELF class 7/],
  ['big-endian', () => makeElf({ encoding: 2, segments: [] }), /big-endian/],
  ['x86-64', () => makeElf({ machine: 62, segments: [] }), /kernel\.elf is an ELF for x86-64, not RISC-V/],
  ['AArch64', () => makeElf({ machine: 183, segments: [] }), /is an ELF for AArch64, not RISC-V/],
  ['unknown machine', () => makeElf({ machine: 9999, segments: [] }), /is an ELF for machine 9999, not RISC-V/],
  ['relocatable object', () => makeElf({ type: 1, segments: [] }), /relocatable object/],
  ['truncated header', () => fixture().subarray(0, 40), /shorter than the 64-byte ELF header/],
  ['truncated program headers', () => makeElf({ segments: [oneSegment()] }).subarray(0, 100), /program header table .* truncated/],
  ['wrong program header size', () => { const bytes = makeElf({ segments: [oneSegment()] }); bytes[54] = 32; return bytes; }, /program header entry size is 32/],
  ['segment past end of file', () => makeElf({ segments: [oneSegment({ offset: 0x300, fileSize: 0x200, memorySize: 0x200 })] }), /segment 0 \(0x200 bytes at file offset 0x300\) extends past the end of the 1024-byte file/],
  ['file size larger than memory size', () => makeElf({ segments: [oneSegment({ fileSize: 0x100, memorySize: 0x80 })] }), /segment 0: file size 0x100 is larger than its memory size 0x80/],
  ['overlapping segments', () => makeElf({ segments: [oneSegment(), oneSegment({ type: 4 }), oneSegment({ physicalAddress: 0x8000_0080n })] }), /segments 0 \(0x80000000\.\.0x80000100\) and 2 \(0x80000080\.\.0x80000180\) overlap in physical memory/],
  ['huge size', () => { const bytes = makeElf({ segments: [oneSegment()] }); new DataView(bytes.buffer).setBigUint64(64 + 40, 0xffff_ffff_ffff_0000n, true); return bytes; }, /memory size 0xffffffffffff0000 is too large/],
  ['section table past end', () => { const bytes = fixture(); new DataView(bytes.buffer).setBigUint64(40, 0x10_0000n, true); return bytes; }, /section header table at 0x100000 lies past the end/],
  ['section name table index out of range', () => { const bytes = fixture(); new DataView(bytes.buffer).setUint16(62, 50, true); return bytes; }, /section name table index 50 is out of range/],
];

for (const [what, make, message] of malformed) {
  test(`malformed ELF gives a clear ElfError: ${what}`, () => assertElfError(() => parseElf(make(), 'kernel.elf'), message));
}

test('symbol table problems are reported', () => {
  const bytes = fixture();
  const view = new DataView(bytes.buffer);
  const sectionTable = Number(view.getBigUint64(40, true));
  const symtab = sectionTable + 6 * 64;
  view.setUint32(symtab + 40, 1, true); // sh_link → .text
  assertElfError(() => parseElf(bytes, 'kernel.elf'), /symbol table \(section 6\) links to section 1, which is not a string table/);
  const second = fixture();
  const secondView = new DataView(second.buffer);
  const firstSymbol = Number(secondView.getBigUint64(symtab + 24, true)) + 24;
  secondView.setUint32(firstSymbol, 0xffff, true); // st_name way past .strtab
  assertElfError(() => parseElf(second, 'kernel.elf'), /symbol 1 name offset 65535 is past/);
});

test('fuzz: truncating or corrupting the fixture anywhere gives an ElfError or a valid parse', () => {
  let errors = 0;
  let parses = 0;
  const ram = new GuestRam(0x8000_0000, 64 * 1024);
  const attempt = (bytes: Uint8Array) => {
    try {
      const image = parseElf(bytes, 'fuzz.elf');
      image.findSymbol('tohost');
      for (const section of image.sections) image.sectionData(section);
      try {
        loadElfIntoRam(image, ram);
      } catch (error) {
        if (!(error instanceof ElfError)) throw error;
      }
      parses++;
    } catch (error) {
      if (!(error instanceof ElfError)) throw error;
      errors++;
    }
  };
  for (let length = 0; length < FIXTURE.length; length++) attempt(FIXTURE.subarray(0, length));
  let seed = 99;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let position = 0; position < FIXTURE.length; position++) {
    for (const corruption of [0xff, 0x01, 0x80, 0x40]) {
      const bytes = fixture();
      bytes[position] ^= corruption;
      attempt(bytes);
    }
    const bytes = fixture();
    bytes[position] = Math.floor(random() * 256);
    bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    attempt(bytes);
  }
  assert.ok(errors > FIXTURE.length && parses > 0, `errors ${errors}, parses ${parses}`);
});

test('raw loader places bytes and reports a clear error when they do not fit', () => {
  const ram = new GuestRam(0x8000_0000, 1024 * 1024);
  assert.deepEqual(loadRawIntoRam(Uint8Array.of(1, 2, 3), ram, 0x8000_1000), { entry: 0x8000_1000, lowestAddress: 0x8000_1000, highestAddress: 0x8000_1003 });
  assert.deepEqual([...ram.bytes.subarray(0x1000, 0x1003)], [1, 2, 3]);
  assert.throws(() => loadRawIntoRam(new Uint8Array(4096), ram, 0x800f_f800, 'initrd'), /initrd of 4 KiB at 0x800ff800\.\.0x80100800 does not fit in 1 MiB of RAM at 0x80000000; use --mem/);
});

test('formatSize', () => {
  assert.equal(formatSize(8 * 1024 * 1024), '8 MiB');
  assert.equal(formatSize(1.5 * 1024 * 1024 * 1024), '1.5 GiB');
  assert.equal(formatSize(4096), '4 KiB');
  assert.equal(formatSize(1000), '1000 bytes');
});
