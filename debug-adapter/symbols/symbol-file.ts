// loadSymbolFile: an ELF file's symbols and DWARF as the SymbolFile the debug adapter uses.
//
// Loading reads only the ELF headers, the unit headers of .debug_info and each compile
// unit's first DIE (its address ranges, directory and line-program offset), so a Linux
// vmlinux loads in well under a second. Everything else is parsed per unit on first use
// and kept: DIE trees (functions, variables, types), line programs, and the FDE index.
//
// Source path matching (addressesForLine, nearestLineWithCode), for a path P the user gives:
//   1. exact: P (normalized: "\" -> "/", "." and ".." segments resolved) equals a line-table
//      file path after path mapping, or the unmapped path as DWARF records it;
//   2. otherwise by suffix: the files whose path ends with the most trailing path components
//      of P (at least the file name) win, so "/home/me/proj/guests/demo/kernel.c" finds the
//      DWARF path "guests/demo/kernel.c" and "/src/linux/kernel/fork.c" finds
//      "/build/linux/kernel/fork.c". Equally good matches are all used.
// A line-table file path is the directory entry joined with the file name (relative
// directories joined to the compilation directory), normalized; path mapping then replaces
// a leading `from` prefix (whole components) with `to`, first matching rule wins.

import { inflateSync } from 'node:zlib';
import { ElfError, parseElf, type ElfImage, type ElfSection } from '../../vmm-core/machine/elf';
import { Attribute, BaseEncoding, Form, Tag } from './constants';
import { DwarfReader, SymbolError, addAddress, stringAt } from './dwarf-reader';
import { decodeLocation, evaluateFrameBase, locationAt as locationExpressionAt } from './expression';
import { CallFrameInformation, type UnwindRow } from './frame';
import { DebugInfo, emptySections, type AddressRange, type Die, type DwarfSections, type Unit } from './info';
import type { SymbolIndex } from './symbol-index';
import { normalizePath, parseLineHeader, runLineProgram, type LineHeader, type LineSequence } from './line-program';
import type {
  FunctionInfo, InlinedFrame, LineRow, MemoryReader, RegisterReader, SymbolFile, TypeInfo, UnwoundFrame, VariableInfo,
  VariableLocation,
} from './types';

export interface PathMapping {
  readonly from: string;
  readonly to: string;
}

export interface LoadOptions {
  readonly pathMapping?: readonly PathMapping[];
}

const SHF_EXECINSTR = 0x4;
const SHF_ALLOC = 0x2;
const SHF_COMPRESSED = 0x800;
const RETURN_ADDRESS_REGISTER = 1;
const STACK_POINTER = 2;
const FRAME_POINTER = 8;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface UnitRange extends AddressRange {
  readonly unit: Unit;
}

interface UnitLines {
  readonly header: LineHeader;
  /** File paths by index after path mapping. */
  readonly files: readonly (string | undefined)[];
  sequences: LineSequence[] | undefined;
}

interface ElfSymbolEntry {
  readonly name: string;
  readonly address: bigint;
  readonly size: number;
  readonly rank: number;
  readonly end: bigint;
}

/** Functions and globals by name across all units: from the index, or skimmed on first use. */
interface NameTables {
  readonly functions: Map<string, number>;
  readonly globals: readonly (readonly [string, number])[];
  readonly types: Map<string, number>;
}

/** A function's DIE with its ranges, in a unit's address-sorted function index. */
interface FunctionEntry {
  readonly die: Die;
  readonly low: bigint;
  readonly high: bigint;
}

/** Loads an ELF file with its DWARF. Throws SymbolError (naming the file and section) for structural damage. */
export function loadSymbolFile(bytes: Uint8Array, fileName: string, options: LoadOptions = {}): ElfSymbolFile {
  let elf: ElfImage;
  try {
    elf = parseElf(bytes, fileName);
  } catch (error) {
    if (error instanceof ElfError) throw new SymbolError(error.message, { cause: error });
    throw error;
  }
  return new ElfSymbolFile(elf, fileName, options);
}

const toAddress = (value: number): bigint => (Number.isFinite(value) ? BigInt.asUintN(64, BigInt(value)) : 0n);

function readSections(elf: ElfImage, fileName: string): DwarfSections {
  const sections = emptySections(fileName) as Mutable<DwarfSections>;
  const names: Record<string, keyof Omit<DwarfSections, 'fileName'>> = {
    '.debug_info': 'info', '.debug_abbrev': 'abbrev', '.debug_str': 'str', '.debug_line_str': 'lineStr',
    '.debug_str_offsets': 'strOffsets', '.debug_addr': 'addr', '.debug_ranges': 'ranges', '.debug_rnglists': 'rnglists',
    '.debug_loc': 'loc', '.debug_loclists': 'loclists', '.debug_line': 'line', '.debug_aranges': 'aranges',
    '.debug_frame': 'frame', '.eh_frame': 'ehFrame',
  };
  for (const section of elf.sections) {
    const key = names[section.name];
    if (key === undefined) continue;
    sections[key] = { name: section.name, bytes: sectionBytes(elf, section, fileName), address: toAddress(section.address) };
  }
  return sections;
}

/** A section's bytes, inflated when SHF_COMPRESSED (ELF compression header + zlib). */
function sectionBytes(elf: ElfImage, section: ElfSection, fileName: string): Uint8Array {
  const raw = elf.sectionData(section);
  if ((section.flags & SHF_COMPRESSED) === 0) return raw;
  const reader = new DwarfReader({ name: section.name, bytes: raw, address: 0n }, fileName);
  const type = reader.u32();
  reader.u32(); // reserved
  const size = reader.u64Number('uncompressed size');
  reader.u64(); // alignment
  if (type !== 1) reader.fail(`unsupported compression type ${type} (only zlib)`, 0);
  try {
    const inflated = new Uint8Array(inflateSync(raw.subarray(reader.offset), { maxOutputLength: Math.max(size, 1) }));
    if (inflated.length !== size) reader.fail(`inflated to ${inflated.length} bytes, header says ${size}`, 0);
    return inflated;
  } catch (error) {
    if (error instanceof SymbolError) throw error;
    return reader.fail(`cannot inflate: ${(error as Error).message}`, 0);
  }
}

export class ElfSymbolFile implements SymbolFile {
  readonly elf: ElfImage;
  private readonly sections: DwarfSections;
  private readonly debug: DebugInfo | undefined;
  private readonly cfi: CallFrameInformation;
  private readonly pathMapping: readonly PathMapping[];
  private readonly problems: string[] = [];
  private readonly unitRanges: UnitRange[] = [];
  /** Compile units without address ranges in their DIE: looked up through their line tables. */
  private readonly unitsWithoutRanges: Unit[] = [];
  private readonly codeRanges: AddressRange[];
  private readonly lines = new Map<Unit, UnitLines | null>();
  private readonly functionIndexes = new Map<Unit, FunctionEntry[]>();
  private readonly types = new Map<Die, TypeInfo>();
  private readonly typesInProgress = new Set<Die>();
  private elfSymbols: ElfSymbolEntry[] | undefined;
  private fileIndex: Map<string, { unit: Unit; file: number }[]> | undefined;
  private nameTables: NameTables | undefined;
  /** Line-table file paths by unit, from an adopted index (saves reading every line header). */
  private indexedUnitFiles: Map<Unit, readonly (string | null)[]> | undefined;
  private adoptedIndex: SymbolIndex | undefined;
  private anyGlobals: boolean | undefined;
  private globalVariables: VariableInfo[] | undefined;

  constructor(elf: ElfImage, readonly fileName: string, options: LoadOptions = {}) {
    this.elf = elf;
    this.pathMapping = (options.pathMapping ?? []).map((rule) => ({ from: normalizePath(rule.from), to: rule.to }));
    this.sections = readSections(elf, fileName);
    this.codeRanges = elf.sections
      .filter((section) => (section.flags & (SHF_ALLOC | SHF_EXECINSTR)) === (SHF_ALLOC | SHF_EXECINSTR) && section.size > 0)
      .map((section) => ({ low: toAddress(section.address), high: addAddress(toAddress(section.address), section.size) }));
    const addressSize = 8;
    const textSection = elf.section('.text');
    this.cfi = new CallFrameInformation(this.sections.frame, this.sections.ehFrame, fileName, addressSize, {
      data: 0n, text: textSection === undefined ? 0n : toAddress(textSection.address),
    });
    if (this.sections.info.bytes.length > 0) {
      this.debug = new DebugInfo(this.sections);
      this.indexUnits(this.debug);
    }
  }

  /** Problems met so far (units or tables skipped); grows as parts are parsed on demand. */
  get diagnostics(): readonly string[] {
    return [...this.problems, ...(this.debug?.diagnostics ?? []), ...this.cfi.diagnostics];
  }

  private note(error: unknown): void {
    if (!(error instanceof SymbolError)) throw error;
    if (this.problems.length < 1000) this.problems.push(error.message);
  }

  private indexUnits(debug: DebugInfo): void {
    for (const unit of debug.units) {
      if (unit.isTypeUnit) continue;
      try {
        const root = unit.root();
        if (root.tag !== Tag.CompileUnit && root.tag !== Tag.PartialUnit && root.tag !== Tag.SkeletonUnit) continue;
        const ranges = unit.ranges(root);
        for (const range of ranges) this.unitRanges.push({ ...range, unit });
        if (ranges.length === 0 && root.has(Attribute.StatementList)) this.unitsWithoutRanges.push(unit);
      } catch (error) {
        this.note(error);
      }
    }
    this.unitRanges.sort((a, b) => (a.low < b.low ? -1 : a.low > b.low ? 1 : 0));
  }

  // ---- ELF symbols ---------------------------------------------------------------------

  private symbols(): ElfSymbolEntry[] {
    if (this.elfSymbols === undefined) {
      const rankOf = (type: string, binding: string): number =>
        (type === 'function' ? 4 : type === 'object' ? 2 : 0) + (binding === 'global' ? 1 : 0);
      this.elfSymbols = this.elf.symbols
        .filter((symbol) => symbol.name !== '' && symbol.sectionIndex !== 0 && symbol.type !== 'section' && symbol.type !== 'file' &&
          !symbol.name.startsWith('$') && !symbol.name.startsWith('.L') && Number.isFinite(symbol.value))
        .map((symbol) => {
          const address = toAddress(symbol.value);
          return { name: symbol.name, address, size: symbol.size, rank: rankOf(symbol.type, symbol.binding), end: addAddress(address, symbol.size) };
        })
        .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : b.rank - a.rank));
    }
    return this.elfSymbols;
  }

  symbolAt(address: bigint): { name: string; address: bigint; size: number } | undefined {
    const symbols = this.symbols();
    const last = upperBound(symbols, address, (symbol) => symbol.address) - 1;
    if (last < 0) return undefined;
    // A sized symbol that contains the address wins; else the nearest label at or below it
    // (assembly labels have size 0) as long as no sized symbol ends in between.
    let label: ElfSymbolEntry | undefined;
    for (let index = last; index >= 0 && index > last - 64; index--) {
      const symbol = symbols[index];
      if (symbol.size > 0) {
        if (address < symbol.end) return { name: symbol.name, address: symbol.address, size: symbol.size };
        break;
      }
      if (label === undefined || (symbol.address === label.address && symbol.rank > label.rank)) label = symbol;
    }
    if (label !== undefined && this.inCode(label.address) === this.inCode(address)) {
      return { name: label.name, address: label.address, size: label.size };
    }
    return undefined;
  }

  private inCode(address: bigint): boolean {
    return this.codeRanges.some((range) => address >= range.low && address < range.high);
  }

  symbolByName(name: string): { name: string; address: bigint; size: number } | undefined {
    const symbol = this.elf.findSymbol(name);
    if (symbol === undefined || !Number.isFinite(symbol.value)) return undefined;
    return { name: symbol.name, address: toAddress(symbol.value), size: symbol.size };
  }

  // ---- line tables -----------------------------------------------------------------------

  private unitLines(unit: Unit): UnitLines | undefined {
    const cached = this.lines.get(unit);
    if (cached !== undefined) return cached ?? undefined;
    let result: UnitLines | null = null;
    try {
      const root = unit.root();
      const statementList = root.attribute(Attribute.StatementList);
      if (statementList !== undefined && typeof statementList.value === 'number') {
        const header = parseLineHeader(this.sections, statementList.value, {
          compilationDirectory: unit.string(root, Attribute.CompilationDirectory),
          addressSize: unit.addressSize,
          stringIndex: (index) => {
            const reader = new DwarfReader(this.sections.strOffsets, this.fileName, unit.strOffsetsBase + index * unit.offsetSize);
            return stringAt(this.sections.str, this.fileName, reader.sectionOffset(unit.offsetSize));
          },
        });
        result = { header, files: header.files.map((path) => (path === undefined ? undefined : this.mapPath(path))), sequences: undefined };
      }
    } catch (error) {
      this.note(error);
    }
    this.lines.set(unit, result);
    return result ?? undefined;
  }

  private sequences(unit: Unit): LineSequence[] {
    const lines = this.unitLines(unit);
    if (lines === undefined) return [];
    if (lines.sequences === undefined) {
      try {
        lines.sequences = runLineProgram(this.sections.line, this.fileName, lines.header,
          this.codeRanges.length === 0 ? undefined : (low) => this.inCode(low));
      } catch (error) {
        this.note(error);
        lines.sequences = [];
      }
    }
    return lines.sequences;
  }

  private mapPath(path: string): string {
    for (const rule of this.pathMapping) {
      if (path === rule.from) return normalizePath(rule.to);
      const prefix = rule.from.endsWith('/') ? rule.from : `${rule.from}/`;
      if (path.startsWith(prefix)) return normalizePath(`${rule.to}/${path.slice(prefix.length)}`);
    }
    return path;
  }

  private filePath(unit: Unit, index: number): string | undefined {
    return this.unitLines(unit)?.files[index];
  }

  /** The compile unit covering `address` (DIE ranges, else line tables of units without ranges). */
  private unitAt(address: bigint): Unit | undefined {
    const ranges = this.unitRanges;
    const last = upperBound(ranges, address, (range) => range.low) - 1;
    for (let index = last; index >= 0 && index > last - 8; index--) {
      if (address >= ranges[index].low && address < ranges[index].high) return ranges[index].unit;
    }
    for (const unit of this.unitsWithoutRanges) {
      if (this.sequences(unit).some((sequence) => address >= sequence.low && address < sequence.high)) return unit;
    }
    return undefined;
  }

  get sourceFiles(): readonly string[] {
    return [...this.files().keys()].sort();
  }

  /** Every file path named by a line table (mapped), with where it is named. */
  private files(): Map<string, { unit: Unit; file: number }[]> {
    if (this.fileIndex === undefined) {
      const index = new Map<string, { unit: Unit; file: number }[]>();
      for (const unit of this.debug?.units ?? []) {
        if (unit.isTypeUnit) continue;
        const originals = this.indexedUnitFiles?.get(unit) ?? this.unitLines(unit)?.header.files;
        originals?.forEach((original, file) => {
          if (original === undefined || original === null) return;
          const path = this.mapPath(original);
          let list = index.get(path);
          if (list === undefined) index.set(path, (list = []));
          list.push({ unit, file });
          // The unmapped path matches too (a user may give the path DWARF records).
          if (original !== path) {
            let originalList = index.get(original);
            if (originalList === undefined) index.set(original, (originalList = []));
            originalList.push({ unit, file });
          }
        });
      }
      this.fileIndex = index;
    }
    return this.fileIndex;
  }

  /** The (unit, file index) pairs a user path stands for (see the matching rule at the top). */
  private matchFiles(path: string): { unit: Unit; file: number }[] {
    const files = this.files();
    const wanted = normalizePath(path);
    const exact = files.get(wanted);
    if (exact !== undefined) return exact;
    const wantedParts = wanted.split('/');
    let best = 0;
    let matches: { unit: Unit; file: number }[] = [];
    for (const [candidate, entries] of files) {
      const parts = candidate.split('/');
      let common = 0;
      while (common < parts.length && common < wantedParts.length &&
        parts[parts.length - 1 - common] === wantedParts[wantedParts.length - 1 - common] && parts[parts.length - 1 - common] !== '..') {
        common++;
      }
      if (common === 0 || common < best) continue;
      if (common > best) {
        best = common;
        matches = [];
      }
      matches.push(...entries);
    }
    // Several paths of one file (mapped and unmapped) may name the same entry: dedupe.
    const seen = new Set<string>();
    return matches.filter((entry) => {
      const key = `${entry.unit.offset}:${entry.file}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  locationAt(address: bigint): LineRow | undefined {
    const unit = this.unitAt(address);
    if (unit === undefined) return undefined;
    for (const sequence of this.sequences(unit)) {
      if (address < sequence.low || address >= sequence.high) continue;
      const rows = sequence.rows;
      const index = upperBound(rows, address, (row) => row.address) - 1;
      if (index < 0) return undefined;
      const row = rows[index];
      const path = this.filePath(unit, row.file);
      // GCC follows a statement row with a non-statement "view" row at the same address: the
      // address still starts a statement when any of its rows says so.
      let isStatement = row.isStatement;
      for (let previous = index - 1; !isStatement && previous >= 0 && rows[previous].address === row.address; previous--) {
        isStatement = rows[previous].isStatement;
      }
      return { path: path ?? `<file ${row.file}>`, line: row.line, column: row.column, address: row.address, isStatement };
    }
    return undefined;
  }

  /** All line-table rows of the file (after mapping), in address order: for tests and tools. */
  lineRows(path?: string): LineRow[] {
    const rows: LineRow[] = [];
    const units = path === undefined ? (this.debug?.units ?? []).filter((unit) => !unit.isTypeUnit) : [...new Set(this.matchFiles(path).map((entry) => entry.unit))];
    const files = path === undefined ? undefined : new Set(this.matchFiles(path).map((entry) => `${entry.unit.offset}:${entry.file}`));
    for (const unit of units) {
      for (const sequence of this.sequences(unit)) {
        for (const row of sequence.rows) {
          if (files !== undefined && !files.has(`${unit.offset}:${row.file}`)) continue;
          rows.push({ path: this.filePath(unit, row.file) ?? `<file ${row.file}>`, line: row.line, column: row.column, address: row.address, isStatement: row.isStatement });
        }
      }
    }
    return rows.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  addressesForLine(path: string, line: number): readonly bigint[] {
    const candidates: bigint[] = [];
    for (const { unit, file } of this.matchFiles(path)) {
      for (const sequence of this.sequences(unit)) {
        for (const row of sequence.rows) {
          if (row.file === file && row.line === line && row.isStatement) candidates.push(row.address);
        }
      }
    }
    candidates.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    // One address per innermost scope (lexical block, inlined copy or function), the lowest:
    // a loop's line may have rows at its top and bottom in one block, and stopping once per
    // pass is what a user expects. GDB filters the same way.
    const seen = new Set<string>();
    const result: bigint[] = [];
    for (const address of candidates) {
      const scopes = this.scopesAt(address);
      const innermost = scopes[scopes.length - 1];
      const key = innermost === undefined ? `symbol:${this.symbolAt(address)?.address ?? address}` : `die:${innermost.offset}`;
      if (seen.has(key)) continue;
      seen.add(key);
      result.push(address);
    }
    return result;
  }

  nearestLineWithCode(path: string, line: number): number | undefined {
    let best: number | undefined;
    for (const { unit, file } of this.matchFiles(path)) {
      for (const sequence of this.sequences(unit)) {
        for (const row of sequence.rows) {
          if (row.file === file && row.isStatement && row.line >= line && (best === undefined || row.line < best)) best = row.line;
        }
      }
    }
    return best;
  }

  /**
   * Where a breakpoint on the DWARF function `info` stops, as GDB places it: the first row of
   * the function's entry range marked prologue_end (DWARF 5); else the entry itself when the
   * line table has two rows there (GCC's way of saying the prologue is empty); else the first
   * statement row after the entry whose line differs from the opening line (line 0 skipped),
   * or for a function on one line its second statement row (gdb's skip_prologue_using_sal).
   * Undefined for code without a DWARF subprogram (assembly) or without such a row.
   */
  postPrologueAddress(info: FunctionInfo): bigint | undefined {
    const entry = info.lowPc;
    const subprogram = this.scopesAt(entry)[0];
    if (subprogram === undefined) return undefined;
    const high = info.ranges?.find((range) => entry >= range.low && entry < range.high)?.high ?? info.highPc;
    const unit = this.unitAt(entry);
    if (unit === undefined) return undefined;
    for (const sequence of this.sequences(unit)) {
      if (entry < sequence.low || entry >= sequence.high) continue;
      const rows = sequence.rows;
      const first = upperBound(rows, entry, (row) => row.address) - 1;
      if (first < 0) return undefined;
      // Rows at the entry address: the last one's line is the opening line.
      let start = first;
      while (start > 0 && rows[start - 1].address === rows[first].address) start--;
      for (let index = start; index < rows.length && rows[index].address < high; index++) {
        if (rows[index].prologueEnd === true && rows[index].address >= entry) return rows[index].address;
      }
      // Two rows (with lines) at the entry: the compiler says there is no prologue (GCC -O2).
      const atEntry = rows.slice(start, first + 1).filter((row) => row.address === entry && row.line !== 0);
      if (atEntry.length > 1) return entry;
      const opening = rows[first].line;
      let nextStatement: bigint | undefined;
      for (let index = first + 1; index < rows.length && rows[index].address < high; index++) {
        const row = rows[index];
        if (row.address <= entry || !row.isStatement || row.line === 0) continue;
        if (row.line !== opening) return row.address;
        nextStatement ??= row.address;
      }
      // A function on one line: its second statement row.
      return nextStatement;
    }
    return undefined;
  }

  // ---- functions and scopes ---------------------------------------------------------------

  private tree(unit: Unit): Die | undefined {
    try {
      return unit.dieTree();
    } catch (error) {
      this.note(error);
      return undefined;
    }
  }

  private dieAt(unit: Unit, offset: number): Die | undefined {
    try {
      return unit.dieAt(offset);
    } catch (error) {
      this.note(error);
      return undefined;
    }
  }

  private rangesOf(die: Die): AddressRange[] {
    try {
      return die.unit.ranges(die);
    } catch (error) {
      this.note(error);
      return [];
    }
  }

  /** A unit's concrete functions (subprograms with code), sorted by address. */
  private functionIndex(unit: Unit): FunctionEntry[] {
    let index = this.functionIndexes.get(unit);
    if (index !== undefined) return index;
    index = [];
    const root = this.tree(unit);
    if (root !== undefined) {
      const pending: Die[] = [...root.children];
      while (pending.length > 0) {
        const die = pending.pop()!;
        if (die.tag === Tag.Subprogram) {
          for (const range of this.rangesOf(die)) index.push({ die, low: range.low, high: range.high });
        } else if (die.tag !== Tag.InlinedSubroutine && die.tag !== Tag.LexicalBlock && die.children.length > 0) {
          pending.push(...die.children); // namespaces, structs with member functions
        }
      }
    }
    index.sort((a, b) => (a.low < b.low ? -1 : a.low > b.low ? 1 : 0));
    this.functionIndexes.set(unit, index);
    return index;
  }

  /** Outermost first: the subprogram, then nested lexical blocks and inlined subroutines containing `address`. */
  private scopesAt(address: bigint): Die[] {
    const unit = this.unitAt(address);
    if (unit === undefined) return [];
    const index = this.functionIndex(unit);
    const last = upperBound(index, address, (entry) => entry.low) - 1;
    let outer: Die | undefined;
    for (let position = last; position >= 0 && position > last - 16; position--) {
      if (address >= index[position].low && address < index[position].high) {
        outer = index[position].die;
        break;
      }
    }
    if (outer === undefined) return [];
    const scopes = [outer];
    let current = outer;
    for (let depth = 0; depth < 256; depth++) {
      const inner = current.children.find((child) =>
        (child.tag === Tag.LexicalBlock || child.tag === Tag.InlinedSubroutine || child.tag === Tag.Subprogram) &&
        this.rangesOf(child).some((range) => address >= range.low && address < range.high));
      if (inner === undefined) {
        // Lexical blocks without ranges still hold nested scopes (GCC emits such blocks).
        const transparent = current.children.filter((child) => child.tag === Tag.LexicalBlock && !child.has(Attribute.LowPc) && !child.has(Attribute.Ranges));
        const deeper = transparent.find((block) => block.children.some((child) =>
          (child.tag === Tag.LexicalBlock || child.tag === Tag.InlinedSubroutine) &&
          this.rangesOf(child).some((range) => address >= range.low && address < range.high)));
        if (deeper === undefined) break;
        scopes.push(deeper);
        current = deeper;
        continue;
      }
      scopes.push(inner);
      current = inner;
    }
    return scopes;
  }

  /** Follows abstract_origin / specification links (bounded) to the DIE that has `attribute`. */
  private withAttribute(die: Die, attribute: number): Die | undefined {
    let current: Die | undefined = die;
    for (let depth = 0; current !== undefined && depth < 8; depth++) {
      if (current.has(attribute)) return current;
      const next: Die | undefined = this.reference(current, Attribute.AbstractOrigin) ?? this.reference(current, Attribute.Specification);
      current = next;
    }
    return undefined;
  }

  private reference(die: Die, attribute: number): Die | undefined {
    try {
      return die.unit.reference(die, attribute);
    } catch (error) {
      this.note(error);
      return undefined;
    }
  }

  private nameOf(die: Die): string | undefined {
    const named = this.withAttribute(die, Attribute.Name);
    if (named === undefined) return undefined;
    try {
      return named.unit.string(named, Attribute.Name);
    } catch (error) {
      this.note(error);
      return undefined;
    }
  }

  private functionInfo(die: Die): FunctionInfo {
    const ranges = this.rangesOf(die);
    let lowPc = ranges[0]?.low ?? 0n;
    let highPc = ranges[0]?.high ?? 0n;
    for (const range of ranges) {
      if (range.low < lowPc) lowPc = range.low;
      if (range.high > highPc) highPc = range.high;
    }
    const info: Mutable<FunctionInfo> = { name: this.nameOf(die) ?? '<anonymous>', lowPc, highPc };
    if (ranges.length > 1) info.ranges = ranges;
    const declared = this.withAttribute(die, Attribute.DeclarationFile);
    if (declared !== undefined) {
      const file = declared.unit.constant(declared, Attribute.DeclarationFile);
      const path = file === undefined ? undefined : this.filePath(declared.unit, file);
      if (path !== undefined) {
        info.declaration = {
          path, line: declared.unit.constant(declared, Attribute.DeclarationLine) ?? 0,
          column: declared.unit.constant(declared, Attribute.DeclarationColumn) ?? 0,
        };
      }
    }
    return info;
  }

  functionsAt(address: bigint): readonly InlinedFrame[] {
    const scopes = this.scopesAt(address);
    const frames: InlinedFrame[] = [];
    for (let index = scopes.length - 1; index >= 0; index--) {
      const die = scopes[index];
      if (die.tag === Tag.InlinedSubroutine) {
        const frame: Mutable<InlinedFrame> = { function: this.functionInfo(die), inlined: true };
        const file = die.unit.constant(die, Attribute.CallFile);
        const path = file === undefined ? undefined : this.filePath(die.unit, file);
        if (path !== undefined) {
          frame.callSite = { path, line: die.unit.constant(die, Attribute.CallLine) ?? 0, column: die.unit.constant(die, Attribute.CallColumn) ?? 0 };
        }
        frames.push(frame);
      } else if (die.tag === Tag.Subprogram) {
        frames.push({ function: this.functionInfo(die), inlined: false });
      }
    }
    if (frames.length === 0) {
      // No DWARF function here (assembly): the ELF symbol stands in.
      const symbol = this.symbolAt(address);
      if (symbol !== undefined) {
        const highPc = symbol.size > 0 ? addAddress(symbol.address, symbol.size) : addAddress(address, 1);
        frames.push({ function: { name: symbol.name, lowPc: symbol.address, highPc }, inlined: false });
      }
    }
    return frames;
  }

  functionByName(name: string): FunctionInfo | undefined {
    const symbol = this.elf.findSymbol(name);
    if (symbol !== undefined && symbol.type === 'function' && Number.isFinite(symbol.value)) {
      const frames = this.functionsAt(toAddress(symbol.value));
      const outer = frames[frames.length - 1];
      if (outer !== undefined && outer.function.name === name) return outer.function;
    }
    // Static functions without symbols, out-of-line copies of inline functions: by DWARF name.
    const offset = this.names().functions.get(name);
    const die = offset === undefined ? undefined : this.dieAtOffset(offset);
    const found = die === undefined ? undefined : this.functionInfo(die);
    if (found !== undefined) return found;
    if (symbol !== undefined && symbol.type === 'function' && Number.isFinite(symbol.value)) {
      const lowPc = toAddress(symbol.value);
      return { name, lowPc, highPc: addAddress(lowPc, Math.max(symbol.size, 1)) };
    }
    return undefined;
  }

  // ---- variables and types ----------------------------------------------------------------

  variablesAt(address: bigint): readonly VariableInfo[] {
    const scopes = this.scopesAt(address);
    const variables: VariableInfo[] = [];
    // Innermost scope first; inlineDepth counts function levels from the innermost (0).
    let frameIndex = 0;
    for (let index = scopes.length - 1; index >= 0; index--) {
      const scope = scopes[index];
      for (const child of scope.children) {
        if (child.tag !== Tag.Variable && child.tag !== Tag.FormalParameter) continue;
        if (child.has(Attribute.Declaration)) continue;
        const variable = this.variable(child, address, child.tag === Tag.FormalParameter ? 'parameter' : 'local');
        if (variable !== undefined) variables.push({ ...variable, inlineDepth: frameIndex });
      }
      if (scope.tag === Tag.InlinedSubroutine || scope.tag === Tag.Subprogram) frameIndex++;
    }
    return variables;
  }

  private variable(die: Die, address: bigint, kind: VariableInfo['kind']): VariableInfo | undefined {
    const name = this.nameOf(die);
    if (name === undefined) return undefined;
    const typed = this.withAttribute(die, Attribute.Type);
    const type = typed === undefined ? undefined : this.typeOf(this.reference(typed, Attribute.Type));
    return { name, type, location: this.locationOf(die, address), kind };
  }

  private locationOf(die: Die, address: bigint): VariableLocation {
    const raw = die.attribute(Attribute.Location);
    if (raw === undefined) {
      const constant = die.attribute(Attribute.ConstValue) ?? this.withAttribute(die, Attribute.ConstValue)?.attribute(Attribute.ConstValue);
      if (constant !== undefined) {
        const value = typeof constant.value === 'number' || typeof constant.value === 'bigint' ? ` ${constant.value}` : '';
        return { kind: 'unsupported', reason: `optimized to a constant${value} (DW_AT_const_value)` };
      }
      return { kind: 'unsupported', reason: 'optimized out (no location)' };
    }
    try {
      const lookup = locationExpressionAt(die.unit, raw.form, raw.value, address);
      if (lookup.kind === 'none') return { kind: 'unsupported', reason: lookup.reason };
      return decodeLocation(lookup.expression, die.unit);
    } catch (error) {
      this.note(error);
      return { kind: 'unsupported', reason: `malformed location list (${(error as Error).message})` };
    }
  }

  globals(): readonly VariableInfo[] {
    if (this.globalVariables === undefined) {
      const globals: VariableInfo[] = [];
      for (const [, offset] of this.names().globals) {
        const die = this.dieAtOffset(offset);
        const variable = die === undefined ? undefined : this.variable(die, 0n, 'global');
        if (variable !== undefined) globals.push(variable);
      }
      this.globalVariables = globals;
    }
    return this.globalVariables;
  }

  /**
   * Whether globals() has anything, without reading every unit: answered by the index or the
   * name tables when there, else by skimming units until the first global.
   */
  hasGlobals(): boolean {
    if (this.nameTables !== undefined) return this.nameTables.globals.length > 0;
    if (this.anyGlobals === undefined) {
      this.anyGlobals = false;
      for (const unit of this.debug?.units ?? []) {
        if (unit.isTypeUnit) continue;
        try {
          if (unit.skim().globals.some((entry) => entry.name !== undefined || entry.elsewhere)) {
            this.anyGlobals = true;
            break;
          }
        } catch (error) {
          this.note(error);
        }
      }
    }
    return this.anyGlobals;
  }

  /** How many globals globals() lists (from the index or the skim: no DIE tree is built). */
  get globalCount(): number {
    return this.names().globals.length;
  }

  /**
   * The globals grouped by compile unit (named by its DW_AT_name, e.g. "kernel/fork.c"), in
   * unit order; a group's variables are read (its unit alone) when asked.
   */
  globalGroups(): readonly { readonly name: string; readonly count: number; variables(): readonly VariableInfo[] }[] {
    const groups = new Map<Unit, number[]>();
    for (const [, offset] of this.names().globals) {
      const unit = this.debug?.unitContaining(offset);
      if (unit === undefined) continue;
      let offsets = groups.get(unit);
      if (offsets === undefined) groups.set(unit, (offsets = []));
      offsets.push(offset);
    }
    return [...groups].map(([unit, offsets]) => {
      let name: string | undefined;
      try {
        name = unit.string(unit.root(), Attribute.Name);
      } catch (error) {
        this.note(error);
      }
      return {
        name: name ?? `unit at 0x${unit.offset.toString(16)}`,
        count: offsets.length,
        variables: () => offsets.flatMap((offset) => {
          const die = this.dieAtOffset(offset);
          const variable = die === undefined ? undefined : this.variable(die, 0n, 'global');
          return variable === undefined ? [] : [variable];
        }),
      };
    });
  }

  /** The global variable `name` (the first of that name), reading only its unit. */
  globalByName(name: string): VariableInfo | undefined {
    if (this.globalVariables !== undefined) return this.globalVariables.find((variable) => variable.name === name);
    for (const [candidate, offset] of this.names().globals) {
      if (candidate !== name) continue;
      const die = this.dieAtOffset(offset);
      const variable = die === undefined ? undefined : this.variable(die, 0n, 'global');
      if (variable !== undefined) return variable;
    }
    return undefined;
  }

  /** The type a C program names `name` ("struct task_struct", "pid_t", "unsigned int"), defined at some unit's top level. */
  typeByName(name: string): TypeInfo | undefined {
    const offset = this.names().types.get(name);
    return offset === undefined ? undefined : this.typeOf(this.dieAtOffset(offset));
  }

  // ---- the index -----------------------------------------------------------------------------

  /** The DIE at a .debug_info offset (its unit's tree is built). */
  private dieAtOffset(offset: number): Die | undefined {
    const unit = this.debug?.unitContaining(offset);
    return unit === undefined ? undefined : this.dieAt(unit, offset);
  }

  /** Functions and globals by name: from the adopted index, else skimmed from every unit once. */
  private names(): NameTables {
    if (this.nameTables === undefined) {
      const functions = new Map<string, number>();
      const globals: [string, number][] = [];
      const types = new Map<string, number>();
      for (const unit of this.debug?.units ?? []) {
        if (unit.isTypeUnit) continue;
        let skim;
        try {
          skim = unit.skim();
        } catch (error) {
          this.note(error);
          continue;
        }
        for (const entry of skim.functions) {
          const name = entry.name ?? (entry.elsewhere ? this.nameAtOffset(entry.offset) : undefined);
          if (name !== undefined && !functions.has(name)) functions.set(name, entry.offset);
        }
        for (const entry of skim.globals) {
          const name = entry.name ?? (entry.elsewhere ? this.nameAtOffset(entry.offset) : undefined);
          if (name !== undefined) globals.push([name, entry.offset]);
        }
        for (const entry of skim.types) if (!types.has(entry.name)) types.set(entry.name, entry.offset);
      }
      this.nameTables = { functions, globals, types };
    }
    return this.nameTables;
  }

  /** A DIE's name through abstract_origin/specification in other units (rare: builds DIE trees). */
  private nameAtOffset(offset: number): string | undefined {
    const die = this.dieAtOffset(offset);
    return die === undefined ? undefined : this.nameOf(die);
  }

  /** Reads every unit for what SymbolIndex holds (slow on a Linux-sized file: done in a worker, then cached). */
  buildIndex(): SymbolIndex {
    const names = this.names();
    const paths: string[] = [];
    const pathIndexes = new Map<string, number>();
    const pathIndex = (path: string | null | undefined): number => {
      if (path === null || path === undefined) return -1;
      let index = pathIndexes.get(path);
      if (index === undefined) {
        index = paths.push(path) - 1;
        pathIndexes.set(path, index);
      }
      return index;
    };
    const unitFiles: (readonly [number, number[]])[] = [];
    for (const unit of this.debug?.units ?? []) {
      if (unit.isTypeUnit) continue;
      const files = this.indexedUnitFiles?.get(unit) ?? this.unitLines(unit)?.header.files;
      if (files !== undefined) unitFiles.push([unit.offset, files.map(pathIndex)]);
    }
    return { functions: [...names.functions], globals: names.globals, types: [...names.types], paths, unitFiles };
  }

  /**
   * Uses an index built from this same file (by a worker or read from the cache) from now
   * on. Throws SymbolError when it names units or DIEs this file does not have: it belongs
   * to another file and is not used.
   */
  adoptIndex(index: SymbolIndex): void {
    const units = new Map<number, Unit>();
    for (const unit of this.debug?.units ?? []) if (!unit.isTypeUnit) units.set(unit.offset, unit);
    const infoSize = this.sections.info.bytes.length;
    const unitFiles = new Map<Unit, readonly (string | null)[]>();
    for (const [offset, files] of index.unitFiles) {
      const unit = units.get(offset);
      if (unit === undefined) throw new SymbolError(`${this.fileName}: the symbol index names a unit at 0x${offset.toString(16)} this file does not have`);
      unitFiles.set(unit, files.map((path) => (path < 0 ? null : index.paths[path] ?? null)));
    }
    for (const [name, offset] of [...index.functions, ...index.globals, ...index.types]) {
      if (offset >= infoSize) throw new SymbolError(`${this.fileName}: the symbol index puts '${name}' at 0x${offset.toString(16)}, past .debug_info`);
    }
    this.indexedUnitFiles = unitFiles;
    this.nameTables ??= { functions: new Map(index.functions), globals: index.globals, types: new Map(index.types) };
    this.adoptedIndex = index;
  }

  /** The index in use: adopted, or undefined while it is being built elsewhere. */
  get index(): SymbolIndex | undefined {
    return this.adoptedIndex;
  }

  /** The size of .debug_info (what indexing has to read). */
  get debugInfoBytes(): number {
    return this.sections.info.bytes.length;
  }

  /** The type a type DIE describes (cached; cycles through pointers share objects). */
  typeOf(die: Die | undefined, depth = 0): TypeInfo | undefined {
    if (die === undefined) return undefined;
    const cached = this.types.get(die);
    if (cached !== undefined) return cached;
    if (depth > 64 || this.typesInProgress.has(die)) return { name: '<recursive type>', byteSize: 0, kind: 'other' };
    this.typesInProgress.add(die);
    try {
      return this.buildType(die, depth);
    } catch (error) {
      this.note(error);
      return { name: '<malformed type>', byteSize: 0, kind: 'other' };
    } finally {
      this.typesInProgress.delete(die);
    }
  }

  private buildType(die: Die, depth: number): TypeInfo {
    const unit = die.unit;
    const name = unit.string(die, Attribute.Name);
    const byteSize = unit.constant(die, Attribute.ByteSize);
    const target = (): TypeInfo | undefined => this.typeOf(this.reference(die, Attribute.Type), depth + 1);
    const remember = (type: Mutable<TypeInfo>): Mutable<TypeInfo> => {
      this.types.set(die, type);
      return type;
    };
    switch (die.tag) {
      case Tag.BaseType: {
        const type = remember({ name: name ?? '<base>', byteSize: byteSize ?? 0, kind: 'base' });
        const encoding = baseEncoding(unit.constant(die, Attribute.Encoding));
        if (encoding !== undefined) type.encoding = encoding;
        return type;
      }
      case Tag.PointerType: case Tag.ReferenceType: {
        const type = remember({ name: 'void *', byteSize: byteSize ?? unit.addressSize, kind: 'pointer' });
        const pointee = target();
        if (pointee !== undefined) {
          type.target = pointee;
          type.name = `${pointee.name} *`;
        }
        return type;
      }
      case Tag.ConstType: case Tag.VolatileType: case Tag.RestrictType: case Tag.AtomicType: {
        // Qualifiers pass through to the qualified type.
        const qualified = target();
        return qualified ?? { name: 'void', byteSize: 0, kind: 'other' };
      }
      case Tag.Typedef: {
        const type = remember({ name: name ?? '<typedef>', byteSize: 0, kind: 'typedef' });
        const aliased = target();
        if (aliased !== undefined) {
          type.target = aliased;
          type.byteSize = aliased.byteSize;
        }
        return type;
      }
      case Tag.StructureType: case Tag.UnionType: case 0x02 /* class_type */: {
        const kind = die.tag === Tag.UnionType ? 'union' : 'struct';
        const type = remember({ name: `${kind} ${name ?? '{...}'}`, byteSize: byteSize ?? 0, kind });
        const members: { name: string; offset: number; type: TypeInfo }[] = [];
        for (const child of die.children) {
          if (child.tag !== Tag.Member) continue;
          const memberType = this.typeOf(this.reference(child, Attribute.Type), depth + 1) ?? { name: '<unknown>', byteSize: 0, kind: 'other' as const };
          members.push({ name: unit.string(child, Attribute.Name) ?? '', offset: this.memberOffset(child), type: memberType });
        }
        type.members = members;
        return type;
      }
      case Tag.ArrayType: {
        const type = remember({ name: '<array>', byteSize: 0, kind: 'array' });
        const element = target() ?? { name: '<unknown>', byteSize: 0, kind: 'other' as const };
        const counts = die.children.filter((child) => child.tag === Tag.SubrangeType).map((child) => subrangeCount(child));
        if (counts.length === 0) counts.push(undefined);
        // int a[2][3]: an array of 2 arrays of 3 ints.
        let inner: TypeInfo = element;
        for (let index = counts.length - 1; index >= 1; index--) {
          const count = counts[index];
          inner = { name: `${element.name} ${counts.slice(index).map((n) => `[${n ?? ''}]`).join('')}`, byteSize: (count ?? 0) * inner.byteSize, kind: 'array', target: inner, ...(count === undefined ? {} : { elementCount: count }) };
        }
        type.target = inner;
        type.name = `${element.name} ${counts.map((n) => `[${n ?? ''}]`).join('')}`;
        if (counts[0] !== undefined) type.elementCount = counts[0];
        type.byteSize = byteSize ?? (counts[0] ?? 0) * inner.byteSize;
        return type;
      }
      case Tag.EnumerationType: {
        const type = remember({ name: `enum ${name ?? '{...}'}`, byteSize: byteSize ?? 0, kind: 'enum' });
        const underlying = target();
        if (underlying !== undefined) type.target = underlying;
        const signed = underlying?.encoding === 'signed' || underlying?.encoding === 'signedChar';
        type.enumerators = die.children
          .filter((child) => child.tag === Tag.Enumerator)
          .map((child) => ({ name: unit.string(child, Attribute.Name) ?? '', value: unit.constantBig(child, Attribute.ConstValue, signed) ?? 0n }));
        if (byteSize === undefined && underlying !== undefined) type.byteSize = underlying.byteSize;
        return type;
      }
      case Tag.SubroutineType: {
        const type = remember({ name: 'function', byteSize: 0, kind: 'other' });
        const result = target();
        type.name = `${result?.name ?? 'void'} (...)`;
        return type;
      }
      default:
        return remember({ name: name ?? `<type tag 0x${die.tag.toString(16)}>`, byteSize: byteSize ?? 0, kind: 'other' });
    }
  }

  private memberOffset(member: Die): number {
    const unit = member.unit;
    const raw = member.attribute(Attribute.DataMemberLocation);
    if (raw !== undefined) {
      if (typeof raw.value === 'number') return raw.value;
      // Old producers: an expression DW_OP_plus_uconst N.
      if (raw.value instanceof Uint8Array && raw.value[0] === 0x23) {
        try {
          return new DwarfReader({ name: 'member location', bytes: raw.value, address: 0n }, this.fileName, 1).uleb();
        } catch {
          return 0;
        }
      }
      return 0;
    }
    const bitOffset = unit.constant(member, Attribute.DataBitOffset);
    return bitOffset === undefined ? 0 : Math.floor(bitOffset / 8);
  }

  // ---- frames -------------------------------------------------------------------------------

  frameBase(address: bigint, registers: RegisterReader, memory: MemoryReader): bigint | undefined {
    const scopes = this.scopesAt(address);
    let subprogram: Die | undefined;
    for (const scope of scopes) if (scope.tag === Tag.Subprogram) subprogram = scope;
    if (subprogram === undefined) return undefined;
    const raw = subprogram.attribute(Attribute.FrameBase);
    if (raw === undefined) return undefined;
    try {
      const lookup = locationExpressionAt(subprogram.unit, raw.form, raw.value, address);
      if (lookup.kind === 'none') return undefined;
      return evaluateFrameBase(lookup.expression, subprogram.unit, {
        register: (index) => (index === 0 ? 0n : registers.register(index)),
        callFrameAddress: () => {
          const row = this.cfi.rowAt(address);
          if (row !== undefined) return callFrameAddress(row, registers);
          return this.frameBaseWithoutCfi(registers, memory);
        },
      });
    } catch (error) {
      this.note(error);
      return undefined;
    }
  }

  /** Without CFI: the CFA equals s0 once a frame-pointer prologue has run. */
  private frameBaseWithoutCfi(registers: RegisterReader, memory: MemoryReader): bigint | undefined {
    const frame = this.unwindByFramePointer(registers, memory);
    return frame?.sp;
  }

  unwind(registers: RegisterReader, memory: MemoryReader): UnwoundFrame | undefined {
    const pc = registers.pc;
    const lookup = registers.callerFrame === true ? addAddress(pc, -1) : pc;
    const row = this.cfi.rowAt(lookup);
    if (row !== undefined) return this.unwindByCfi(row, registers, memory);
    const symbol = this.symbolAt(lookup);
    const atEntry = symbol !== undefined && symbol.address === pc && registers.callerFrame !== true;
    if (!atEntry) {
      const frame = this.unwindByFramePointer(registers, memory);
      if (frame !== undefined) return frame;
    }
    const returnAddress = registers.register(RETURN_ADDRESS_REGISTER);
    if (returnAddress === 0n || (returnAddress === pc && registers.callerFrame === true)) return undefined;
    return { pc: returnAddress, sp: registers.register(STACK_POINTER), registers: new Map(), method: 'return-address' };
  }

  private unwindByCfi(row: UnwindRow, registers: RegisterReader, memory: MemoryReader): UnwoundFrame | undefined {
    const cfa = callFrameAddress(row, registers);
    if (cfa === undefined) return undefined;
    const saved = new Map<number, bigint>();
    let returnAddress: bigint | undefined = registers.register(row.returnAddressRegister);
    for (const [register, rule] of row.registers) {
      let value: bigint | undefined;
      switch (rule.kind) {
        case 'offset': value = readUnsigned(memory, addAddress(cfa, rule.offset), 8); break;
        case 'valueOffset': value = addAddress(cfa, rule.offset); break;
        case 'register': value = rule.register < 32 ? registers.register(rule.register) : undefined; break;
        case 'sameValue': value = register < 32 ? registers.register(register) : undefined; break;
        case 'undefined': case 'expression': value = undefined; break;
      }
      if (register === row.returnAddressRegister) {
        if (rule.kind === 'undefined') return undefined; // the outermost frame
        if (rule.kind === 'offset' && value === undefined) return undefined; // its slot cannot be read
        returnAddress = value;
      }
      if (value !== undefined && register !== STACK_POINTER && register !== 0) saved.set(register, value);
    }
    if (returnAddress === undefined || returnAddress === 0n) return undefined;
    return { pc: returnAddress, sp: cfa, registers: saved, method: 'cfi' };
  }

  /**
   * RISC-V GCC frame-pointer frames: s0 points just above the frame, ra is saved at s0-8 and
   * the caller's s0 at s0-16. A leaf function saves only s0, at s0-8: when that slot holds a
   * stack address rather than code, the innermost frame is such a leaf and ra still holds
   * the return address (the same test Linux's walk_stackframe makes). Used only when s0
   * looks like a frame pointer of this stack.
   */
  private unwindByFramePointer(registers: RegisterReader, memory: MemoryReader): UnwoundFrame | undefined {
    const sp = registers.register(STACK_POINTER);
    const fp = registers.register(FRAME_POINTER);
    const plausibleFrame = (value: bigint, below: bigint): boolean => (value & 7n) === 0n && value >= below && value - below <= 0x10_0000n;
    if (fp <= sp || !plausibleFrame(fp, sp)) return undefined;
    const upperSlot = readUnsigned(memory, fp - 8n, 8);
    if (upperSlot === undefined) return undefined;
    const looksLikeCode = (value: bigint): boolean => value !== 0n && (this.codeRanges.length === 0 || this.inCode(value));
    if (!looksLikeCode(upperSlot)) {
      if (registers.callerFrame === true || !plausibleFrame(upperSlot, fp)) return undefined;
      const returnAddress = registers.register(RETURN_ADDRESS_REGISTER);
      if (!looksLikeCode(returnAddress)) return undefined;
      return { pc: returnAddress, sp: fp, registers: new Map([[FRAME_POINTER, upperSlot]]), method: 'frame-pointer' };
    }
    const callerFramePointer = readUnsigned(memory, fp - 16n, 8);
    if (callerFramePointer === undefined) return undefined;
    return { pc: upperSlot, sp: fp, registers: new Map([[RETURN_ADDRESS_REGISTER, upperSlot], [FRAME_POINTER, callerFramePointer]]), method: 'frame-pointer' };
  }

  backtrace(registers: RegisterReader, memory: MemoryReader, limit = 64): readonly UnwoundFrame[] {
    const frames: UnwoundFrame[] = [];
    let current: RegisterReader = registers;
    const seen = new Set<string>();
    for (let depth = 0; depth < limit; depth++) {
      const frame = this.unwind(current, memory);
      if (frame === undefined) break;
      const key = `${frame.pc}:${frame.sp}`;
      // Stop on a repeated state or a stack that grows the wrong way.
      if (seen.has(key) || frame.sp < current.register(STACK_POINTER)) break;
      seen.add(key);
      frames.push(frame);
      current = callerRegisters(current, frame);
    }
    return frames;
  }

  /** The CFI rule row at `pc` (for tools and tests). */
  unwindRowAt(pc: bigint): UnwindRow | undefined {
    return this.cfi.rowAt(pc);
  }
}

/**
 * The caller's registers after unwinding one frame: the callee's, overlaid with what the
 * frame recovered (saved registers, sp = CFA, pc = return address). Registers the callee
 * did not save keep their values (RISC-V GCC's CFI marks none as clobbered).
 */
export function callerRegisters(callee: RegisterReader, frame: UnwoundFrame): RegisterReader {
  const values: bigint[] = [];
  for (let register = 0; register < 32; register++) values.push(register === 0 ? 0n : callee.register(register));
  for (const [register, value] of frame.registers) if (register > 0 && register < 32) values[register] = value;
  values[STACK_POINTER] = frame.sp;
  return { pc: frame.pc, callerFrame: true, register: (index) => values[index] ?? 0n };
}

function callFrameAddress(row: UnwindRow, registers: RegisterReader): bigint | undefined {
  if (row.cfa.kind !== 'registerOffset') return undefined;
  const base = row.cfa.register === 0 ? 0n : row.cfa.register < 32 ? registers.register(row.cfa.register) : undefined;
  return base === undefined ? undefined : addAddress(base, row.cfa.offset);
}

function readUnsigned(memory: MemoryReader, address: bigint, size: number): bigint | undefined {
  const bytes = memory(address, size);
  if (bytes === undefined || bytes.length < size) return undefined;
  let value = 0n;
  for (let index = size - 1; index >= 0; index--) value = (value << 8n) | BigInt(bytes[index]);
  return value;
}

function baseEncoding(encoding: number | undefined): TypeInfo['encoding'] {
  switch (encoding) {
    case BaseEncoding.Signed: return 'signed';
    case BaseEncoding.Unsigned: case BaseEncoding.Utf: return 'unsigned';
    case BaseEncoding.Float: case BaseEncoding.ComplexFloat: return 'float';
    case BaseEncoding.Boolean: return 'boolean';
    case BaseEncoding.SignedChar: return 'signedChar';
    case BaseEncoding.UnsignedChar: return 'unsignedChar';
    default: return undefined;
  }
}

function subrangeCount(subrange: Die): number | undefined {
  const unit = subrange.unit;
  const count = unit.constant(subrange, Attribute.Count);
  if (count !== undefined) return count;
  const upper = subrange.attribute(Attribute.UpperBound);
  if (upper === undefined || (typeof upper.value !== 'number' && typeof upper.value !== 'bigint')) return undefined;
  if (upper.form === Form.Exprloc || upper.form === Form.Block1) return undefined; // variable-length array
  const upperValue = Number(BigInt.asIntN(64, BigInt(upper.value)));
  // An upper bound of -1 (all ones in a data form) means zero elements (flexible array).
  if (upperValue < 0) return 0;
  return upperValue + 1;
}

/** Index of the first element whose key is greater than `key` (elements sorted by key). */
function upperBound<T>(items: readonly T[], key: bigint, keyOf: (item: T) => bigint): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (keyOf(items[middle]) <= key) low = middle + 1;
    else high = middle;
  }
  return low;
}

export { SymbolError };
