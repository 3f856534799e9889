// ELF64 (little-endian, RISC-V) reader and loader: program headers, section headers, the
// symbol table, and copying PT_LOAD segments into guest RAM at their physical addresses.
// Every field is validated: the file comes from the user and may be anything.

import type { GuestRam } from '../memory/ram';

/** A file that is not a loadable RV64 ELF, or a program that does not fit the machine. */
export class ElfError extends Error {
  override readonly name = 'ElfError';
}

const EM_RISCV = 243;
const ET_EXEC = 2;
const ET_DYN = 3;
export const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOBITS = 8;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;
const PN_XNUM = 0xffff;
const ELF_HEADER_SIZE = 64;
const PROGRAM_HEADER_SIZE = 56;
const SECTION_HEADER_SIZE = 64;
const SYMBOL_SIZE = 24;

export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

const MACHINE_NAMES: Record<number, string> = {
  2: 'SPARC',
  3: 'x86 (i386)',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'IBM S/390',
  40: 'ARM',
  43: 'SPARC V9',
  50: 'IA-64',
  62: 'x86-64',
  183: 'AArch64',
  247: 'eBPF',
  258: 'LoongArch',
};

export interface ElfSegment {
  /** Index in the program header table (as readelf numbers them). */
  readonly index: number;
  readonly type: number;
  /** PF_R | PF_W | PF_X bits. */
  readonly flags: number;
  readonly offset: number;
  readonly virtualAddress: number;
  readonly physicalAddress: number;
  readonly fileSize: number;
  readonly memorySize: number;
  readonly alignment: number;
}

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  /** The low 32 bits of sh_flags (all defined flags live there). */
  readonly flags: number;
  readonly address: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly alignment: number;
  readonly entrySize: number;
}

export type ElfSymbolType = 'notype' | 'object' | 'function' | 'section' | 'file' | 'common' | 'tls' | 'other';
export type ElfSymbolBinding = 'local' | 'global' | 'weak' | 'other';

export interface ElfSymbol {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  readonly type: ElfSymbolType;
  readonly binding: ElfSymbolBinding;
  /** st_shndx: 0 = undefined, 0xfff1 = absolute, 0xfff2 = common. */
  readonly sectionIndex: number;
}

const SYMBOL_TYPES: readonly ElfSymbolType[] = ['notype', 'object', 'function', 'section', 'file', 'common', 'tls'];
const SYMBOL_BINDINGS: readonly ElfSymbolBinding[] = ['local', 'global', 'weak'];

/**
 * A parsed ELF file. Addresses are JS numbers: values below 2^53 as they are, and
 * sign-extended high-half addresses (>= 2^64 - 2^53, e.g. Linux's 0xffffffff80000000) as
 * negative numbers, i.e. the two's-complement reading of the 64-bit value, which is exact and
 * splits into register halves with `x >>> 0` and `Math.floor(x / 2 ** 32) | 0`. Anything
 * else is rejected (or, for a symbol value, the symbol is left out and counted).
 */
export class ElfImage {
  private symbolIndex: Map<string, ElfSymbol> | undefined;

  constructor(
    readonly fileName: string,
    readonly bytes: Uint8Array,
    readonly type: 'executable' | 'shared',
    /** e_flags (RVC, float ABI, ...). */
    readonly flags: number,
    readonly entry: number,
    readonly segments: readonly ElfSegment[],
    readonly sections: readonly ElfSection[],
    readonly symbols: readonly ElfSymbol[],
    /** Symbols left out because their value is not representable (see the class comment). */
    readonly omittedSymbolCount: number,
  ) {}

  /** The PT_LOAD segments, in file order. */
  get loadSegments(): ElfSegment[] {
    return this.segments.filter((segment) => segment.type === PT_LOAD);
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((section) => section.name === name);
  }

  /** The bytes of a section in the file (empty for NOBITS sections such as .bss). */
  sectionData(section: ElfSection): Uint8Array {
    if (section.type === SHT_NOBITS) return new Uint8Array(0);
    return this.bytes.subarray(section.offset, section.offset + section.size);
  }

  /** A defined symbol by name, preferring global over weak over local definitions. */
  findSymbol(name: string): ElfSymbol | undefined {
    if (this.symbolIndex === undefined) {
      const rank = (symbol: ElfSymbol): number => (symbol.binding === 'global' ? 3 : symbol.binding === 'weak' ? 2 : 1);
      const index = new Map<string, ElfSymbol>();
      for (const symbol of this.symbols) {
        if (symbol.name === '' || symbol.sectionIndex === SHN_UNDEF || symbol.type === 'section' || symbol.type === 'file') continue;
        const existing = index.get(symbol.name);
        if (existing === undefined || rank(symbol) > rank(existing)) index.set(symbol.name, symbol);
      }
      this.symbolIndex = index;
    }
    return this.symbolIndex.get(name);
  }
}

/** Formats an address as the 64-bit hex value it stands for (negative numbers are high-half). */
export function formatAddress(address: number): string {
  if (address >= 0) return `0x${address.toString(16)}`;
  return `0x${BigInt.asUintN(64, BigInt(address)).toString(16)}`;
}

/** "8 MiB", "1.5 GiB", "4096 bytes". */
export function formatSize(bytes: number): string {
  const units: Array<[number, string]> = [
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ];
  for (const [unit, name] of units) {
    if (bytes >= unit && (bytes * 4) % unit === 0) return `${bytes / unit} ${name}`;
  }
  return `${bytes} bytes`;
}

const TWO_POW_32 = 0x1_0000_0000;
const decoder = new TextDecoder('utf-8', { fatal: false });

/** Parses and validates an ELF64 RISC-V executable; throws ElfError naming the problem. */
export function parseElf(bytes: Uint8Array, fileName = 'ELF image'): ElfImage {
  const fail = (message: string): never => {
    throw new ElfError(`${fileName}: ${message}`);
  };
  if (!(bytes instanceof Uint8Array)) fail('input is not a byte array');
  if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError(`${fileName} is not an ELF file (no \\x7fELF magic at the start)`);
  }
  if (bytes.length < 16) fail(`truncated: ${bytes.length} bytes, shorter than the ELF identification`);
  const elfClass = bytes[4];
  if (elfClass === 1) throw new ElfError(`${fileName} is a 32-bit ELF; Ringside runs RV64`);
  if (elfClass !== 2) fail(`unknown ELF class ${elfClass}`);
  const dataEncoding = bytes[5];
  if (dataEncoding === 2) throw new ElfError(`${fileName} is a big-endian ELF; RISC-V is little-endian`);
  if (dataEncoding !== 1) fail(`unknown ELF data encoding ${dataEncoding}`);
  if (bytes[6] !== 1) fail(`unknown ELF version ${bytes[6]}`);
  if (bytes.length < ELF_HEADER_SIZE) fail(`truncated: ${bytes.length} bytes, shorter than the 64-byte ELF header`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (offset: number): number => view.getUint16(offset, true);
  const u32 = (offset: number): number => view.getUint32(offset, true);
  /** A 64-bit size or offset: must be below 2^53. */
  const size64 = (offset: number, what: string): number => {
    const high = u32(offset + 4);
    if (high >= 0x20_0000) fail(`${what} 0x${(BigInt(high) * BigInt(TWO_POW_32) + BigInt(u32(offset))).toString(16)} is too large`);
    return high * TWO_POW_32 + u32(offset);
  };
  /** A 64-bit address (see ElfImage); undefined when not representable. */
  const address64 = (offset: number): number | undefined => {
    const high = u32(offset + 4);
    const low = u32(offset);
    if (high < 0x20_0000) return high * TWO_POW_32 + low;
    if (high >= 0xffe0_0000) return (high - TWO_POW_32) * TWO_POW_32 + low;
    return undefined;
  };
  const requireAddress = (offset: number, what: string): number => {
    const value = address64(offset);
    if (value === undefined) {
      fail(`${what} 0x${((BigInt(u32(offset + 4)) << 32n) | BigInt(u32(offset))).toString(16)} is neither below 2^53 nor a sign-extended high address`);
    }
    return value!;
  };

  const machine = u16(18);
  if (machine !== EM_RISCV) {
    const machineName = MACHINE_NAMES[machine] ?? `machine ${machine}`;
    throw new ElfError(`${fileName} is an ELF for ${machineName}, not RISC-V`);
  }
  const elfType = u16(16);
  if (elfType === 1) fail('is a relocatable object file (ET_REL), not a linked executable');
  if (elfType === 4) fail('is a core dump, not an executable');
  if (elfType !== ET_EXEC && elfType !== ET_DYN) fail(`unknown ELF type ${elfType}`);
  const entry = requireAddress(24, 'entry point');
  const programHeaderOffset = size64(32, 'program header offset');
  const sectionHeaderOffset = size64(40, 'section header offset');
  const flags = u32(48);
  const programHeaderEntrySize = u16(54);
  let programHeaderCount = u16(56);
  const sectionHeaderEntrySize = u16(58);
  let sectionHeaderCount = u16(60);
  let sectionNamesIndex = u16(62);

  const tableFits = (offset: number, count: number, entrySize: number): boolean =>
    offset <= bytes.length && count * entrySize <= bytes.length - offset;

  // Section headers (read first: extended program/section counts live in section 0).
  if (sectionHeaderOffset !== 0) {
    if (sectionHeaderEntrySize !== SECTION_HEADER_SIZE) fail(`section header entry size is ${sectionHeaderEntrySize}, expected 64`);
    if (!tableFits(sectionHeaderOffset, 1, SECTION_HEADER_SIZE)) fail(`section header table at 0x${sectionHeaderOffset.toString(16)} lies past the end of the ${bytes.length}-byte file`);
    if (sectionHeaderCount === 0) sectionHeaderCount = size64(sectionHeaderOffset + 32, 'extended section count');
    if (sectionNamesIndex === SHN_XINDEX) sectionNamesIndex = u32(sectionHeaderOffset + 40);
    if (programHeaderCount === PN_XNUM) programHeaderCount = u32(sectionHeaderOffset + 44);
  } else {
    sectionHeaderCount = 0;
  }
  if (!tableFits(sectionHeaderOffset, sectionHeaderCount, SECTION_HEADER_SIZE)) {
    fail(`section header table (${sectionHeaderCount} entries at 0x${sectionHeaderOffset.toString(16)}) is truncated: the file is ${bytes.length} bytes`);
  }

  const segments: ElfSegment[] = [];
  if (programHeaderCount > 0) {
    if (programHeaderEntrySize !== PROGRAM_HEADER_SIZE) fail(`program header entry size is ${programHeaderEntrySize}, expected 56`);
    if (!tableFits(programHeaderOffset, programHeaderCount, PROGRAM_HEADER_SIZE)) {
      fail(`program header table (${programHeaderCount} entries at 0x${programHeaderOffset.toString(16)}) is truncated: the file is ${bytes.length} bytes`);
    }
  }
  for (let index = 0; index < programHeaderCount; index++) {
    const base = programHeaderOffset + index * PROGRAM_HEADER_SIZE;
    const type = u32(base);
    const what = `program header ${index}`;
    const offset = size64(base + 8, `${what} offset`);
    const fileSize = size64(base + 32, `${what} file size`);
    const memorySize = size64(base + 40, `${what} memory size`);
    const alignment = size64(base + 48, `${what} alignment`);
    let virtualAddress = address64(base + 16) ?? Number.NaN;
    let physicalAddress = address64(base + 24) ?? Number.NaN;
    if (type === PT_LOAD) {
      virtualAddress = requireAddress(base + 16, `${what} virtual address`);
      physicalAddress = requireAddress(base + 24, `${what} physical address`);
      if (fileSize > memorySize) fail(`segment ${index}: file size 0x${fileSize.toString(16)} is larger than its memory size 0x${memorySize.toString(16)}`);
      if (offset > bytes.length || fileSize > bytes.length - offset) {
        fail(`segment ${index} (0x${fileSize.toString(16)} bytes at file offset 0x${offset.toString(16)}) extends past the end of the ${bytes.length}-byte file`);
      }
      if (physicalAddress + memorySize > Number.MAX_SAFE_INTEGER) fail(`segment ${index} ends beyond the addressable range`);
    }
    segments.push({ index, type, flags: u32(base + 4), offset, virtualAddress, physicalAddress, fileSize, memorySize, alignment });
  }

  // Two PT_LOAD segments must not claim the same physical bytes.
  const loads = segments.filter((segment) => segment.type === PT_LOAD && segment.memorySize > 0);
  const sortedLoads = [...loads].sort((a, b) => a.physicalAddress - b.physicalAddress);
  for (let index = 1; index < sortedLoads.length; index++) {
    const previous = sortedLoads[index - 1];
    const current = sortedLoads[index];
    if (current.physicalAddress < previous.physicalAddress + previous.memorySize) {
      const [first, second] = previous.index < current.index ? [previous, current] : [current, previous];
      fail(
        `segments ${first.index} (${describeRange(first)}) and ${second.index} (${describeRange(second)}) overlap in physical memory`,
      );
    }
  }

  // Sections.
  const rawSections: Array<Omit<ElfSection, 'name'> & { nameOffset: number }> = [];
  for (let index = 0; index < sectionHeaderCount; index++) {
    const base = sectionHeaderOffset + index * SECTION_HEADER_SIZE;
    const what = `section ${index}`;
    const type = u32(base + 4);
    const offset = size64(base + 24, `${what} offset`);
    const size = size64(base + 32, `${what} size`);
    if (index > 0 && type !== SHT_NOBITS && type !== 0 && (offset > bytes.length || size > bytes.length - offset)) {
      fail(`${what} (0x${size.toString(16)} bytes at file offset 0x${offset.toString(16)}) extends past the end of the ${bytes.length}-byte file`);
    }
    rawSections.push({
      index,
      nameOffset: u32(base),
      type,
      flags: u32(base + 8),
      address: address64(base + 16) ?? Number.NaN,
      offset,
      size,
      link: u32(base + 40),
      info: u32(base + 44),
      alignment: size64(base + 48, `${what} alignment`),
      entrySize: size64(base + 56, `${what} entry size`),
    });
  }

  const stringAt = (table: { offset: number; size: number }, nameOffset: number, what: string): string => {
    if (nameOffset >= table.size) fail(`${what} name offset ${nameOffset} is past its ${table.size}-byte string table`);
    const start = table.offset + nameOffset;
    const end = bytes.indexOf(0, start);
    if (end < 0 || end >= table.offset + table.size) fail(`${what} name is not NUL-terminated inside its string table`);
    return decoder.decode(bytes.subarray(start, end));
  };

  let sectionNames: { offset: number; size: number } | undefined;
  if (sectionHeaderCount > 0 && sectionNamesIndex !== SHN_UNDEF) {
    if (sectionNamesIndex >= sectionHeaderCount) fail(`section name table index ${sectionNamesIndex} is out of range (${sectionHeaderCount} sections)`);
    const table = rawSections[sectionNamesIndex];
    if (table.type !== SHT_STRTAB) fail(`section name table (section ${sectionNamesIndex}) is not a string table`);
    sectionNames = table;
  }
  const sections: ElfSection[] = rawSections.map(({ nameOffset, ...section }) => ({
    ...section,
    name: sectionNames === undefined || section.index === 0 ? '' : stringAt(sectionNames, nameOffset, `section ${section.index}`),
  }));

  // The symbol table (.symtab, linked to its string table).
  const symbols: ElfSymbol[] = [];
  let omittedSymbolCount = 0;
  const symbolTable = sections.find((section) => section.type === SHT_SYMTAB);
  if (symbolTable !== undefined) {
    const what = `symbol table (section ${symbolTable.index})`;
    if (symbolTable.entrySize !== SYMBOL_SIZE) fail(`${what} entry size is ${symbolTable.entrySize}, expected 24`);
    if (symbolTable.size % SYMBOL_SIZE !== 0) fail(`${what} size ${symbolTable.size} is not a multiple of 24`);
    if (symbolTable.link >= sections.length || sections[symbolTable.link].type !== SHT_STRTAB) {
      fail(`${what} links to section ${symbolTable.link}, which is not a string table`);
    }
    const names = sections[symbolTable.link];
    const count = symbolTable.size / SYMBOL_SIZE;
    for (let index = 1; index < count; index++) {
      const base = symbolTable.offset + index * SYMBOL_SIZE;
      const info = bytes[base + 4];
      const sectionIndex = u16(base + 6);
      const value = address64(base + 8);
      const high = u32(base + 20);
      if (value === undefined || high >= 0x20_0000) {
        omittedSymbolCount++;
        continue;
      }
      if (sectionIndex !== SHN_UNDEF && sectionIndex < SHN_LORESERVE && sectionIndex >= sections.length) {
        fail(`symbol ${index} refers to section ${sectionIndex}, but there are ${sections.length}`);
      }
      symbols.push({
        name: stringAt(names, u32(base), `symbol ${index}`),
        value,
        size: high * TWO_POW_32 + u32(base + 16),
        type: SYMBOL_TYPES[info & 0xf] ?? 'other',
        binding: SYMBOL_BINDINGS[info >>> 4] ?? 'other',
        sectionIndex,
      });
    }
  }

  return new ElfImage(fileName, bytes, elfType === ET_EXEC ? 'executable' : 'shared', flags, entry, segments, sections, symbols, omittedSymbolCount);
}

function describeRange(segment: ElfSegment, offset = 0): string {
  const start = segment.physicalAddress + offset;
  return `${formatAddress(start)}..${formatAddress(start + segment.memorySize)}`;
}

export interface LoadResult {
  /** Entry point (e_entry + offset). */
  entry: number;
  /** Lowest physical address written. */
  lowestAddress: number;
  /** One past the highest physical address written (exclusive end). */
  highestAddress: number;
}

/**
 * Copies the PT_LOAD segments to RAM at p_paddr + offset and zero-fills their .bss part.
 * Checks every segment before writing any, so a failed load leaves RAM untouched.
 */
export function loadElfIntoRam(image: ElfImage, ram: GuestRam, options: { offset?: number } = {}): LoadResult {
  const offset = options.offset ?? 0;
  const loads = image.loadSegments.filter((segment) => segment.memorySize > 0);
  if (loads.length === 0) throw new ElfError(`${image.fileName}: has no loadable segments`);
  for (const segment of loads) {
    const start = segment.physicalAddress + offset;
    if (!ram.contains(start, segment.memorySize)) {
      throw new ElfError(
        `${image.fileName}: segment ${segment.index} at ${describeRange(segment, offset)} does not fit in ` +
          `${formatSize(ram.size)} of RAM at ${formatAddress(ram.base)}; use --mem`,
      );
    }
  }
  let lowestAddress = Infinity;
  let highestAddress = -Infinity;
  for (const segment of loads) {
    const start = segment.physicalAddress + offset - ram.base;
    ram.noteWriteAhead(start, segment.memorySize);
    ram.bytes.set(image.bytes.subarray(segment.offset, segment.offset + segment.fileSize), start);
    ram.bytes.fill(0, start + segment.fileSize, start + segment.memorySize);
    lowestAddress = Math.min(lowestAddress, segment.physicalAddress + offset);
    highestAddress = Math.max(highestAddress, segment.physicalAddress + offset + segment.memorySize);
  }
  return { entry: image.entry + offset, lowestAddress, highestAddress };
}
