// Call frame information: CIEs and FDEs of .debug_frame and .eh_frame (augmentations z, R,
// P, L, S; pointer encodings absptr/udata*/sdata*/uleb/sleb, pcrel/datarel/textrel), an
// address-sorted FDE index built on first use, and the DW_CFA_* interpreter that gives the
// rule row (CFA and register rules) at a pc.

import { DwarfReader, SymbolError, addAddress, type SectionBytes } from './dwarf-reader';

export type RegisterRule =
  | { readonly kind: 'undefined' }
  | { readonly kind: 'sameValue' }
  /** Saved at CFA + offset. */
  | { readonly kind: 'offset'; readonly offset: number }
  /** The value is CFA + offset. */
  | { readonly kind: 'valueOffset'; readonly offset: number }
  | { readonly kind: 'register'; readonly register: number }
  | { readonly kind: 'expression'; readonly value: boolean };

export type CfaRule =
  | { readonly kind: 'registerOffset'; readonly register: number; readonly offset: number }
  | { readonly kind: 'expression' };

export interface UnwindRow {
  readonly cfa: CfaRule;
  /** Rules by DWARF register number; registers not present keep their value (same value). */
  readonly registers: ReadonlyMap<number, RegisterRule>;
  readonly returnAddressRegister: number;
  /** The FDE's address range. */
  readonly low: bigint;
  readonly high: bigint;
}

interface CommonInformationEntry {
  readonly codeAlignment: number;
  readonly dataAlignment: number;
  readonly returnAddressRegister: number;
  readonly pointerEncoding: number;
  readonly hasAugmentationData: boolean;
  readonly addressSize: number;
  readonly instructionsStart: number;
  readonly instructionsEnd: number;
}

interface FrameDescriptionEntry {
  readonly low: bigint;
  readonly high: bigint;
  readonly cie: CommonInformationEntry;
  readonly instructionsStart: number;
  readonly instructionsEnd: number;
  readonly section: SectionBytes;
}

const enum PointerEncoding {
  Absolute = 0x00, Uleb128 = 0x01, Udata2 = 0x02, Udata4 = 0x03, Udata8 = 0x04,
  Sleb128 = 0x09, Sdata2 = 0x0a, Sdata4 = 0x0b, Sdata8 = 0x0c,
  PcRelative = 0x10, TextRelative = 0x20, DataRelative = 0x30, FunctionRelative = 0x40, Aligned = 0x50,
  Indirect = 0x80, Omit = 0xff,
}

/** Reads a pointer in an .eh_frame encoding. `fieldAddress` is the run-time address of the field (for pcrel). */
function readEncodedPointer(reader: DwarfReader, encoding: number, addressSize: number, bases: { data: bigint; text: bigint }): bigint {
  if (encoding === PointerEncoding.Omit) return 0n;
  const fieldAddress = addAddress(reader.section.address, reader.offset);
  let value: bigint;
  switch (encoding & 0x0f) {
    case PointerEncoding.Absolute: value = reader.address(addressSize); break;
    case PointerEncoding.Uleb128: value = reader.ulebBig(); break;
    case PointerEncoding.Udata2: value = BigInt(reader.u16()); break;
    case PointerEncoding.Udata4: value = BigInt(reader.u32()); break;
    case PointerEncoding.Udata8: value = reader.u64(); break;
    case PointerEncoding.Sleb128: value = reader.slebBig(); break;
    case PointerEncoding.Sdata2: value = BigInt(reader.i16()); break;
    case PointerEncoding.Sdata4: value = BigInt(reader.i32()); break;
    case PointerEncoding.Sdata8: value = BigInt.asIntN(64, reader.u64()); break;
    default: return reader.fail(`unknown pointer encoding 0x${encoding.toString(16)}`);
  }
  switch (encoding & 0x70) {
    case 0: break;
    case PointerEncoding.PcRelative: value += fieldAddress; break;
    case PointerEncoding.TextRelative: value += bases.text; break;
    case PointerEncoding.DataRelative: value += bases.data; break;
    default: return reader.fail(`unsupported pointer application 0x${(encoding & 0x70).toString(16)}`);
  }
  if (encoding & PointerEncoding.Indirect) reader.fail('indirect pointers are not supported');
  return BigInt.asUintN(addressSize * 8, value);
}

/** The FDEs of one CFI section, parsed on construction. */
class FrameSection {
  readonly entries: FrameDescriptionEntry[] = [];
  private readonly cies = new Map<number, CommonInformationEntry>();

  constructor(
    readonly section: SectionBytes,
    readonly fileName: string,
    readonly isEhFrame: boolean,
    readonly addressSize: number,
    readonly bases: { data: bigint; text: bigint },
    readonly diagnostics: string[],
  ) {
    const reader = new DwarfReader(section, fileName);
    while (reader.remaining >= 4) {
      const entryOffset = reader.offset;
      let entry: DwarfReader;
      let offsetSize: 4 | 8;
      try {
        const header = reader.initialLength();
        offsetSize = header.offsetSize;
        if (header.length === 0) {
          if (isEhFrame) break; // .eh_frame terminator
          continue;
        }
        if (header.length > reader.remaining) reader.fail(`entry length 0x${header.length.toString(16)} runs past the section`, entryOffset);
        entry = reader.window(reader.offset, reader.offset + header.length);
        reader.offset = entry.end;
      } catch (error) {
        if (!(error instanceof SymbolError)) throw error;
        diagnostics.push(error.message);
        break; // the chain of entries is broken: keep what was read
      }
      try {
        // CIE id / CIE pointer: .debug_frame marks CIEs with all ones, .eh_frame with 0 and
        // points from the field back to the CIE.
        const idOffset = entry.offset;
        const id = offsetSize === 4 ? BigInt(entry.u32()) : entry.u64();
        const isCie = isEhFrame ? id === 0n : id === (offsetSize === 4 ? 0xffffffffn : 0xffffffffffffffffn);
        if (!isCie) {
          const cieOffset = isEhFrame ? idOffset - Number(id) : Number(id);
          this.readFde(entry, this.cieAt(cieOffset));
        }
      } catch (error) {
        if (!(error instanceof SymbolError)) throw error;
        diagnostics.push(error.message); // one bad entry: skip it, keep the others
      }
    }
    this.entries.sort((a, b) => (a.low < b.low ? -1 : a.low > b.low ? 1 : 0));
  }

  private cieAt(offset: number): CommonInformationEntry {
    let cie = this.cies.get(offset);
    if (cie !== undefined) return cie;
    const reader = new DwarfReader(this.section, this.fileName, offset);
    const { length, offsetSize } = reader.initialLength();
    if (length > reader.remaining || length === 0) reader.fail('CIE length runs past the section', offset);
    const end = reader.offset + length;
    const entry = reader.window(reader.offset, end);
    entry.skip(offsetSize); // CIE id
    const version = entry.u8();
    if (version !== 1 && version !== 3 && version !== 4) entry.fail(`unsupported CIE version ${version}`, offset);
    const augmentation = entry.cstring();
    let addressSize = this.addressSize;
    if (version === 4) {
      addressSize = entry.u8();
      entry.u8(); // segment selector size
      if (addressSize !== 4 && addressSize !== 8) entry.fail(`unsupported CIE address size ${addressSize}`, offset);
    }
    if (augmentation.includes('eh')) entry.skip(addressSize); // ancient GCC "eh" augmentation: a pointer
    const codeAlignment = entry.uleb();
    const dataAlignment = entry.sleb();
    const returnAddressRegister = version === 1 ? entry.u8() : entry.uleb();
    let pointerEncoding = PointerEncoding.Absolute as number;
    const hasAugmentationData = augmentation.startsWith('z');
    if (hasAugmentationData) {
      const dataLength = entry.uleb();
      const data = entry.window(entry.offset, entry.offset + dataLength);
      entry.skip(dataLength);
      for (const letter of augmentation.slice(1)) {
        if (letter === 'R') pointerEncoding = data.u8();
        else if (letter === 'L') data.u8();
        else if (letter === 'P') readEncodedPointer(data, data.u8(), addressSize, this.bases);
        else if (letter === 'S' || letter === 'B') continue;
        else break; // unknown letter: the rest of the data is its business
      }
    } else if (augmentation !== '' && augmentation !== 'eh') {
      entry.fail(`unknown CIE augmentation "${augmentation}"`, offset);
    }
    cie = {
      codeAlignment, dataAlignment, returnAddressRegister, pointerEncoding, hasAugmentationData, addressSize,
      instructionsStart: entry.offset, instructionsEnd: end,
    };
    this.cies.set(offset, cie);
    return cie;
  }

  private readFde(entry: DwarfReader, cie: CommonInformationEntry): void {
    let low: bigint;
    let range: bigint;
    if (this.isEhFrame) {
      low = readEncodedPointer(entry, cie.pointerEncoding, cie.addressSize, this.bases);
      range = readEncodedPointer(entry, cie.pointerEncoding & 0x0f, cie.addressSize, this.bases);
    } else {
      low = entry.address(cie.addressSize);
      range = entry.address(cie.addressSize);
    }
    if (cie.hasAugmentationData) entry.skip(entry.uleb());
    // Discarded functions keep FDEs at 0 in linked files; an empty range covers nothing.
    if (range === 0n) return;
    this.entries.push({
      low, high: addAddress(low, range), cie, instructionsStart: entry.offset, instructionsEnd: entry.end, section: this.section,
    });
  }

  find(pc: bigint): FrameDescriptionEntry | undefined {
    const entries = this.entries;
    let low = 0;
    let high = entries.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (entries[middle].low <= pc) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    // Overlapping FDEs are unusual; check a few before the candidate too.
    for (let index = found; index >= 0 && index > found - 4; index--) {
      if (pc >= entries[index].low && pc < entries[index].high) return entries[index];
    }
    return undefined;
  }
}

const enum Cfa {
  Nop = 0x00, SetLoc = 0x01, AdvanceLoc1 = 0x02, AdvanceLoc2 = 0x03, AdvanceLoc4 = 0x04, OffsetExtended = 0x05,
  RestoreExtended = 0x06, Undefined = 0x07, SameValue = 0x08, Register = 0x09, RememberState = 0x0a,
  RestoreState = 0x0b, DefCfa = 0x0c, DefCfaRegister = 0x0d, DefCfaOffset = 0x0e, DefCfaExpression = 0x0f,
  Expression = 0x10, OffsetExtendedSf = 0x11, DefCfaSf = 0x12, DefCfaOffsetSf = 0x13, ValOffset = 0x14,
  ValOffsetSf = 0x15, ValExpression = 0x16, GnuWindowSave = 0x2d, GnuArgsSize = 0x2e, GnuNegativeOffsetExtended = 0x2f,
  AdvanceLoc = 0x40, Offset = 0x80, Restore = 0xc0,
}

interface State {
  cfa: CfaRule;
  registers: Map<number, RegisterRule>;
}

const cloneState = (state: State): State => ({ cfa: state.cfa, registers: new Map(state.registers) });

/** Call frame information of a file: .debug_frame first, then .eh_frame. */
export class CallFrameInformation {
  private sections: FrameSection[] | undefined;
  readonly diagnostics: string[] = [];

  constructor(
    private readonly debugFrame: SectionBytes,
    private readonly ehFrame: SectionBytes,
    private readonly fileName: string,
    private readonly addressSize: number,
    private readonly bases: { data: bigint; text: bigint },
  ) {}

  private frameSections(): FrameSection[] {
    if (this.sections === undefined) {
      this.sections = [];
      if (this.debugFrame.bytes.length > 0) {
        this.sections.push(new FrameSection(this.debugFrame, this.fileName, false, this.addressSize, this.bases, this.diagnostics));
      }
      if (this.ehFrame.bytes.length > 0) {
        this.sections.push(new FrameSection(this.ehFrame, this.fileName, true, this.addressSize, this.bases, this.diagnostics));
      }
    }
    return this.sections;
  }

  /** Number of FDEs (for tests and diagnostics). */
  get entryCount(): number {
    return this.frameSections().reduce((sum, section) => sum + section.entries.length, 0);
  }

  /** The rule row in effect at `pc`, or undefined when no FDE covers it (or its program is malformed). */
  rowAt(pc: bigint): UnwindRow | undefined {
    for (const section of this.frameSections()) {
      const fde = section.find(pc);
      if (fde === undefined) continue;
      try {
        return this.execute(fde, pc);
      } catch (error) {
        if (!(error instanceof SymbolError)) throw error;
        this.diagnostics.push(error.message);
        return undefined;
      }
    }
    return undefined;
  }

  private execute(fde: FrameDescriptionEntry, pc: bigint): UnwindRow {
    const cie = fde.cie;
    const initial: State = { cfa: { kind: 'registerOffset', register: 2, offset: 0 }, registers: new Map() };
    const cieReader = new DwarfReader(fde.section, this.fileName, cie.instructionsStart, cie.instructionsEnd);
    // The CIE's initial instructions have no location advances that matter: run to the end.
    runInstructions(cieReader, cie, initial, undefined, { location: fde.low, pc: BigInt.asUintN(64, -1n) }, this.bases);
    const state = cloneState(initial);
    const fdeReader = new DwarfReader(fde.section, this.fileName, fde.instructionsStart, fde.instructionsEnd);
    runInstructions(fdeReader, cie, state, initial, { location: fde.low, pc }, this.bases);
    return { cfa: state.cfa, registers: state.registers, returnAddressRegister: cie.returnAddressRegister, low: fde.low, high: fde.high };
  }
}

/** Executes CFA instructions into `state` until the location would pass `pc`. */
function runInstructions(
  reader: DwarfReader,
  cie: CommonInformationEntry,
  state: State,
  initial: State | undefined,
  position: { location: bigint; pc: bigint },
  bases: { data: bigint; text: bigint },
): void {
  const stack: State[] = [];
  const data = cie.dataAlignment;
  const advance = (delta: number): boolean => {
    const next = addAddress(position.location, delta * cie.codeAlignment);
    if (next > position.pc) return false;
    position.location = next;
    return true;
  };
  const restore = (register: number): void => {
    const rule = initial?.registers.get(register);
    if (rule === undefined) state.registers.delete(register);
    else state.registers.set(register, rule);
  };
  const setCfaOffset = (offset: number): void => {
    state.cfa = state.cfa.kind === 'registerOffset' ? { ...state.cfa, offset } : state.cfa;
  };
  while (!reader.atEnd) {
    const byte = reader.u8();
    const high = byte & 0xc0;
    const low = byte & 0x3f;
    if (high === Cfa.AdvanceLoc) {
      if (!advance(low)) return;
      continue;
    }
    if (high === Cfa.Offset) {
      state.registers.set(low, { kind: 'offset', offset: reader.uleb() * data });
      continue;
    }
    if (high === Cfa.Restore) {
      restore(low);
      continue;
    }
    switch (byte) {
      case Cfa.Nop: break;
      case Cfa.SetLoc: {
        const location = readEncodedPointer(reader, cie.pointerEncoding, cie.addressSize, bases);
        if (location > position.pc) return;
        position.location = location;
        break;
      }
      case Cfa.AdvanceLoc1: if (!advance(reader.u8())) return; break;
      case Cfa.AdvanceLoc2: if (!advance(reader.u16())) return; break;
      case Cfa.AdvanceLoc4: if (!advance(reader.u32())) return; break;
      case Cfa.OffsetExtended: { const register = reader.uleb(); state.registers.set(register, { kind: 'offset', offset: reader.uleb() * data }); break; }
      case Cfa.OffsetExtendedSf: { const register = reader.uleb(); state.registers.set(register, { kind: 'offset', offset: reader.sleb() * data }); break; }
      case Cfa.GnuNegativeOffsetExtended: { const register = reader.uleb(); state.registers.set(register, { kind: 'offset', offset: -reader.uleb() * data }); break; }
      case Cfa.ValOffset: { const register = reader.uleb(); state.registers.set(register, { kind: 'valueOffset', offset: reader.uleb() * data }); break; }
      case Cfa.ValOffsetSf: { const register = reader.uleb(); state.registers.set(register, { kind: 'valueOffset', offset: reader.sleb() * data }); break; }
      case Cfa.RestoreExtended: restore(reader.uleb()); break;
      case Cfa.Undefined: state.registers.set(reader.uleb(), { kind: 'undefined' }); break;
      case Cfa.SameValue: state.registers.set(reader.uleb(), { kind: 'sameValue' }); break;
      case Cfa.Register: { const register = reader.uleb(); state.registers.set(register, { kind: 'register', register: reader.uleb() }); break; }
      case Cfa.RememberState:
        if (stack.length > 1000) reader.fail('remember_state nesting is too deep');
        stack.push(cloneState(state));
        break;
      case Cfa.RestoreState: {
        const saved = stack.pop();
        if (saved === undefined) reader.fail('restore_state without remember_state', reader.offset - 1);
        // The CFA rule is part of the remembered row too (DWARF 5, 6.4.2.4).
        state.cfa = saved.cfa;
        state.registers = saved.registers;
        break;
      }
      case Cfa.DefCfa: { const register = reader.uleb(); state.cfa = { kind: 'registerOffset', register, offset: reader.uleb() }; break; }
      case Cfa.DefCfaSf: { const register = reader.uleb(); state.cfa = { kind: 'registerOffset', register, offset: reader.sleb() * data }; break; }
      case Cfa.DefCfaRegister: {
        const register = reader.uleb();
        state.cfa = { kind: 'registerOffset', register, offset: state.cfa.kind === 'registerOffset' ? state.cfa.offset : 0 };
        break;
      }
      case Cfa.DefCfaOffset: setCfaOffset(reader.uleb()); break;
      case Cfa.DefCfaOffsetSf: setCfaOffset(reader.sleb() * data); break;
      case Cfa.DefCfaExpression: reader.skip(reader.uleb()); state.cfa = { kind: 'expression' }; break;
      case Cfa.Expression: { const register = reader.uleb(); reader.skip(reader.uleb()); state.registers.set(register, { kind: 'expression', value: false }); break; }
      case Cfa.ValExpression: { const register = reader.uleb(); reader.skip(reader.uleb()); state.registers.set(register, { kind: 'expression', value: true }); break; }
      case Cfa.GnuArgsSize: reader.uleb(); break;
      case Cfa.GnuWindowSave: break;
      default: reader.fail(`unknown call frame instruction 0x${byte.toString(16)}`, reader.offset - 1);
    }
  }
}
