// .debug_line: line number program headers (DWARF 2-4 include_directories/file_names and
// DWARF 5 entry formats, MD5 optional) and the state machine that turns the program into
// sequences of rows (address, file, line, column, is_stmt, prologue_end), each ending at end_sequence.

import { Form, LineContent } from './constants';
import { DwarfReader, addAddress, stringAt, type SectionBytes } from './dwarf-reader';
import type { DwarfSections } from './info';

export interface LineEntry {
  readonly address: bigint;
  /** Index into the header's file table. */
  readonly file: number;
  readonly line: number;
  readonly column: number;
  readonly isStatement: boolean;
  /** DW_LNS_set_prologue_end preceded the row (present only when true). */
  readonly prologueEnd?: true;
}

/** Rows of one contiguous address range, in address order; `high` is the end_sequence address. */
export interface LineSequence {
  readonly low: bigint;
  readonly high: bigint;
  readonly rows: readonly LineEntry[];
}

export interface LineHeader {
  readonly offset: number;
  readonly version: number;
  readonly addressSize: number;
  /** Full paths (directory joined, normalized) by file index; `undefined` for unused slots (index 0 before DWARF 5). */
  readonly files: readonly (string | undefined)[];
  readonly minimumInstructionLength: number;
  readonly defaultIsStatement: boolean;
  readonly lineBase: number;
  readonly lineRange: number;
  readonly opcodeBase: number;
  readonly standardOpcodeLengths: readonly number[];
  readonly programStart: number;
  readonly programEnd: number;
}

export interface LineUnitContext {
  /** DW_AT_comp_dir of the unit (DWARF 2-4 directory 0). */
  readonly compilationDirectory: string | undefined;
  /** The unit's address size (DWARF 2-4 line programs do not say theirs). */
  readonly addressSize: number;
  /** Resolves DW_FORM_strx* in DWARF 5 entry formats (needs the unit's str_offsets_base). */
  readonly stringIndex?: (index: number) => string;
}

/** Joins and normalizes paths lexically ("a/./b/../c" -> "a/c"); keeps a leading "/". */
export function joinPath(directory: string | undefined, name: string): string {
  if (isAbsolutePath(name) || directory === undefined || directory === '') return normalizePath(name);
  return normalizePath(`${directory}/${name}`);
}

export function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

export function normalizePath(path: string): string {
  const unified = path.replace(/\\/g, '/');
  const absolute = unified.startsWith('/');
  const drive = /^[A-Za-z]:\//.test(unified) ? unified.slice(0, 2) : '';
  const parts: string[] = [];
  for (const part of unified.slice(drive.length).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else if (part === '..' && (absolute || drive !== '')) continue;
    else parts.push(part);
  }
  const body = parts.join('/');
  if (drive !== '') return `${drive}/${body}`;
  if (absolute) return `/${body}`;
  return body === '' ? '.' : body;
}

interface EntryFormat {
  readonly content: number;
  readonly form: number;
}

/** Reads the header of the line program at `offset`. */
export function parseLineHeader(sections: DwarfSections, offset: number, context: LineUnitContext): LineHeader {
  const fileName = sections.fileName;
  const outer = new DwarfReader(sections.line, fileName, offset);
  const { length, offsetSize } = outer.initialLength();
  if (length > outer.remaining) outer.fail(`line program length 0x${length.toString(16)} runs past the end of the section`, offset);
  const programEnd = outer.offset + length;
  const reader = outer.window(outer.offset, programEnd);
  const version = reader.u16();
  if (version < 2 || version > 5) reader.fail(`unsupported line program version ${version}`, offset);
  let addressSize = context.addressSize;
  if (version >= 5) {
    addressSize = reader.u8();
    const segmentSelectorSize = reader.u8();
    if (segmentSelectorSize !== 0) reader.fail(`segment selectors (size ${segmentSelectorSize}) are not supported`);
  }
  const headerLength = reader.sectionOffset(offsetSize);
  const programStart = reader.offset + headerLength;
  if (programStart > programEnd) reader.fail(`header length 0x${headerLength.toString(16)} runs past the program`, offset);
  const minimumInstructionLength = reader.u8();
  if (version >= 4) reader.u8(); // maximum_operations_per_instruction: VLIW only, 1 on RISC-V
  const defaultIsStatement = reader.u8() !== 0;
  const lineBase = reader.i8();
  const lineRange = reader.u8();
  const opcodeBase = reader.u8();
  if (lineRange === 0) reader.fail('line_range is 0');
  if (opcodeBase === 0) reader.fail('opcode_base is 0');
  const standardOpcodeLengths: number[] = [0];
  for (let index = 1; index < opcodeBase; index++) standardOpcodeLengths.push(reader.u8());

  const files: (string | undefined)[] = [];
  if (version >= 5) {
    const directories = readEntries(reader, sections, offsetSize, context).map((entry) => entry.path);
    const directoryPath = (index: number): string | undefined => {
      const directory = directories[index];
      if (directory === undefined) return undefined;
      return index === 0 ? directory : joinPath(directories[0], directory);
    };
    for (const entry of readEntries(reader, sections, offsetSize, context)) {
      files.push(joinPath(directoryPath(entry.directoryIndex), entry.path));
    }
  } else {
    const directories: string[] = [];
    for (;;) {
      const directory = reader.cstring();
      if (directory === '') break;
      directories.push(directory);
    }
    const directoryPath = (index: number): string | undefined => {
      if (index === 0) return context.compilationDirectory;
      const directory = directories[index - 1];
      return directory === undefined ? undefined : joinPath(context.compilationDirectory, directory);
    };
    files.push(undefined); // DWARF 2-4 file numbers start at 1
    for (;;) {
      const name = reader.cstring();
      if (name === '') break;
      const directoryIndex = reader.uleb();
      reader.uleb(); // modification time
      reader.uleb(); // length
      files.push(joinPath(directoryPath(directoryIndex), name));
    }
  }
  return {
    offset, version, addressSize, files, minimumInstructionLength, defaultIsStatement, lineBase, lineRange, opcodeBase,
    standardOpcodeLengths, programStart, programEnd,
  };
}

/** DWARF 5 directory or file entries: a format description, a count, then the entries. */
function readEntries(reader: DwarfReader, sections: DwarfSections, offsetSize: 4 | 8, context: LineUnitContext): { path: string; directoryIndex: number }[] {
  const formatCount = reader.u8();
  const formats: EntryFormat[] = [];
  for (let index = 0; index < formatCount; index++) formats.push({ content: reader.uleb(), form: reader.uleb() });
  const count = reader.uleb();
  // Every entry takes at least one byte unless the format is empty: bound the count by the bytes left.
  if (count > 0 && (formats.length === 0 || count > reader.remaining)) reader.fail(`entry count ${count} does not fit the header`);
  const entries: { path: string; directoryIndex: number }[] = [];
  for (let index = 0; index < count; index++) {
    let path = '';
    let directoryIndex = 0;
    for (const format of formats) {
      const value = readEntryValue(reader, sections, format.form, offsetSize, context);
      if (format.content === LineContent.Path && typeof value === 'string') path = value;
      else if (format.content === LineContent.DirectoryIndex && typeof value === 'number') directoryIndex = value;
      // Timestamp, size, MD5 and vendor contents are read and ignored.
    }
    entries.push({ path, directoryIndex });
  }
  return entries;
}

function readEntryValue(reader: DwarfReader, sections: DwarfSections, form: number, offsetSize: 4 | 8, context: LineUnitContext): string | number | undefined {
  switch (form) {
    case Form.String: return reader.cstring();
    case Form.LineStrp: return stringAt(sections.lineStr, sections.fileName, reader.sectionOffset(offsetSize));
    case Form.Strp: return stringAt(sections.str, sections.fileName, reader.sectionOffset(offsetSize));
    case Form.Strx: case Form.Strx1: case Form.Strx2: case Form.Strx3: case Form.Strx4: {
      const index = form === Form.Strx ? reader.uleb() : form === Form.Strx1 ? reader.u8() : form === Form.Strx2 ? reader.u16() : form === Form.Strx3 ? reader.u24() : reader.u32();
      if (context.stringIndex === undefined) reader.fail('DW_FORM_strx in a line table without a unit');
      return context.stringIndex(index);
    }
    case Form.Udata: return reader.uleb();
    case Form.Data1: return reader.u8();
    case Form.Data2: return reader.u16();
    case Form.Data4: return reader.u32();
    case Form.Data8: reader.skip(8); return undefined;
    case Form.Data16: reader.skip(16); return undefined;
    case Form.Block: reader.skip(reader.uleb()); return undefined;
    default: return reader.fail(`unsupported form 0x${form.toString(16)} in a line table entry format`);
  }
}

const enum StandardOpcode {
  Copy = 1, AdvancePc = 2, AdvanceLine = 3, SetFile = 4, SetColumn = 5, NegateStatement = 6, SetBasicBlock = 7,
  ConstAddPc = 8, FixedAdvancePc = 9, SetPrologueEnd = 10, SetEpilogueBegin = 11, SetIsa = 12,
}
const enum ExtendedOpcode { EndSequence = 1, SetAddress = 2, DefineFile = 3, SetDiscriminator = 4 }

/**
 * Runs the line program and returns its sequences (empty ones dropped), each sorted by
 * address. `keepSequence` filters out sequences of discarded code (e.g. at address 0).
 */
export function runLineProgram(section: SectionBytes, fileName: string, header: LineHeader, keepSequence?: (low: bigint) => boolean): LineSequence[] {
  const reader = new DwarfReader(section, fileName, header.programStart, header.programEnd);
  const sequences: LineSequence[] = [];
  const { minimumInstructionLength, lineBase, lineRange, opcodeBase, standardOpcodeLengths } = header;
  let address = 0n;
  let file = 1;
  let line = 1;
  let column = 0;
  let isStatement = header.defaultIsStatement;
  let prologueEnd = false;
  let rows: LineEntry[] = [];
  const reset = (): void => {
    address = 0n;
    file = 1;
    line = 1;
    column = 0;
    isStatement = header.defaultIsStatement;
    prologueEnd = false;
    rows = [];
  };
  const emit = (): void => {
    rows.push(prologueEnd ? { address, file, line, column, isStatement, prologueEnd } : { address, file, line, column, isStatement });
    // prologue_end (like basic_block and epilogue_begin) holds for one row only.
    prologueEnd = false;
  };
  const advance = (operations: number): void => {
    address = addAddress(address, operations * minimumInstructionLength);
  };
  while (!reader.atEnd) {
    const opcode = reader.u8();
    if (opcode >= opcodeBase) {
      const adjusted = opcode - opcodeBase;
      advance(Math.floor(adjusted / lineRange));
      line += lineBase + (adjusted % lineRange);
      emit();
      continue;
    }
    switch (opcode) {
      case 0: {
        const length = reader.uleb();
        const start = reader.offset;
        if (length === 0 || length > reader.remaining) reader.fail(`extended opcode length ${length}`, start - 1);
        const sub = reader.u8();
        if (sub === ExtendedOpcode.EndSequence) {
          if (rows.length > 0 && (keepSequence === undefined || keepSequence(rows[0].address))) {
            const low = rows[0].address;
            if (address > low) {
              // Producers keep rows in address order; sort defensively (stable) if one does not.
              let ordered = true;
              for (let index = 1; index < rows.length && ordered; index++) ordered = rows[index].address >= rows[index - 1].address;
              if (!ordered) rows.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
              sequences.push({ low, high: address, rows });
            }
          }
          reset();
        } else if (sub === ExtendedOpcode.SetAddress) {
          const size = length - 1;
          address = size === 4 || size === 8 ? reader.address(size) : reader.address(header.addressSize);
        } else if (sub === ExtendedOpcode.SetDiscriminator) {
          reader.uleb();
        } else if (sub === ExtendedOpcode.DefineFile) {
          // DWARF 2-4 only, obsolete: not used by modern producers; skipped.
        }
        reader.offset = start + length;
        break;
      }
      case StandardOpcode.Copy: emit(); break;
      case StandardOpcode.AdvancePc: advance(reader.uleb()); break;
      case StandardOpcode.AdvanceLine: line += reader.sleb(); break;
      case StandardOpcode.SetFile: file = reader.uleb(); break;
      case StandardOpcode.SetColumn: column = reader.uleb(); break;
      case StandardOpcode.NegateStatement: isStatement = !isStatement; break;
      case StandardOpcode.SetPrologueEnd: prologueEnd = true; break;
      case StandardOpcode.SetBasicBlock: case StandardOpcode.SetEpilogueBegin: break;
      case StandardOpcode.ConstAddPc: advance(Math.floor((255 - opcodeBase) / lineRange)); break;
      case StandardOpcode.FixedAdvancePc: address = addAddress(address, reader.u16()); break;
      case StandardOpcode.SetIsa: reader.uleb(); break;
      default:
        // An opcode this reader does not know: skip its ULEB operands as the header describes.
        for (let operand = 0; operand < (standardOpcodeLengths[opcode] ?? 0); operand++) reader.uleb();
    }
  }
  return sequences;
}
