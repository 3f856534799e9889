// .debug_info: unit headers (DWARF 2-5, all DWARF 5 unit types), the DIE tree of a unit
// (parsed on demand, iteratively), attribute values for every form, and the lookups that
// need a unit's bases: strings (strp/line_strp/strx*), addresses (addrx*), references and
// address ranges (low/high pc, .debug_ranges, .debug_rnglists).

import { AbbreviationCache, type Abbreviation, type AbbreviationTable } from './abbrev';
import { Attribute, Form, RangeListEntry, Tag, UnitType } from './constants';
import { DwarfReader, EMPTY_SECTION, addAddress, stringAt, type SectionBytes } from './dwarf-reader';

/** The debug sections of one file (empty ones for those it lacks). */
export interface DwarfSections {
  readonly fileName: string;
  readonly info: SectionBytes;
  readonly abbrev: SectionBytes;
  readonly str: SectionBytes;
  readonly lineStr: SectionBytes;
  readonly strOffsets: SectionBytes;
  readonly addr: SectionBytes;
  readonly ranges: SectionBytes;
  readonly rnglists: SectionBytes;
  readonly loc: SectionBytes;
  readonly loclists: SectionBytes;
  readonly line: SectionBytes;
  readonly aranges: SectionBytes;
  readonly frame: SectionBytes;
  readonly ehFrame: SectionBytes;
}

export function emptySections(fileName: string): DwarfSections {
  return {
    fileName,
    info: EMPTY_SECTION('.debug_info'),
    abbrev: EMPTY_SECTION('.debug_abbrev'),
    str: EMPTY_SECTION('.debug_str'),
    lineStr: EMPTY_SECTION('.debug_line_str'),
    strOffsets: EMPTY_SECTION('.debug_str_offsets'),
    addr: EMPTY_SECTION('.debug_addr'),
    ranges: EMPTY_SECTION('.debug_ranges'),
    rnglists: EMPTY_SECTION('.debug_rnglists'),
    loc: EMPTY_SECTION('.debug_loc'),
    loclists: EMPTY_SECTION('.debug_loclists'),
    line: EMPTY_SECTION('.debug_line'),
    aranges: EMPTY_SECTION('.debug_aranges'),
    frame: EMPTY_SECTION('.debug_frame'),
    ehFrame: EMPTY_SECTION('.eh_frame'),
  };
}

/**
 * An attribute's value as read: addresses, data8 and ref_sig8 are bigints; string forms that
 * point elsewhere (strp, line_strp, strx*) stay offsets/indexes until asked for; references
 * are absolute .debug_info offsets; blocks and exprlocs are views.
 */
export type AttributeValue = number | bigint | string | Uint8Array;

export interface AddressRange {
  readonly low: bigint;
  /** Exclusive. */
  readonly high: bigint;
}

export class Die {
  children: Die[] = [];
  /** Forms of DW_FORM_indirect attributes, by attribute index (rare). */
  indirectForms: Map<number, number> | undefined;

  constructor(
    readonly unit: Unit,
    readonly offset: number,
    readonly abbrev: Abbreviation,
    readonly values: AttributeValue[],
    readonly parent: Die | undefined,
  ) {}

  get tag(): number {
    return this.abbrev.tag;
  }

  has(attribute: number): boolean {
    return this.abbrev.indexOf.has(attribute);
  }

  /** The raw value and its form, or undefined when the DIE lacks the attribute. */
  attribute(attribute: number): { form: number; value: AttributeValue } | undefined {
    const index = this.abbrev.indexOf.get(attribute);
    if (index === undefined) return undefined;
    const form = this.indirectForms?.get(index) ?? this.abbrev.attributes[index].form;
    return { form, value: this.values[index] };
  }
}

/** A function or global variable found by Unit.skim: its DIE offset and its name. */
export interface SkimmedEntry {
  readonly offset: number;
  /** Undefined for an anonymous DIE, or when the name is `elsewhere`. */
  readonly name: string | undefined;
  /** The name comes from a DIE the skim did not read (another unit, or a DIE of another kind). */
  readonly elsewhere: boolean;
}

export interface UnitSkim {
  readonly functions: readonly SkimmedEntry[];
  readonly globals: readonly SkimmedEntry[];
  /** Named type definitions at the unit's top level, named as C writes them ("struct list_head", "u64"). */
  readonly types: readonly { readonly name: string; readonly offset: number }[];
}

/** Tags of the type definitions Unit.skim lists, with the keyword C puts before their name. */
const SKIMMED_TYPES = new Map<number, string>([
  [Tag.StructureType, 'struct '], [Tag.UnionType, 'union '], [Tag.EnumerationType, 'enum '], [Tag.Typedef, ''], [Tag.BaseType, ''],
]);

const enum FormClass { Other, String, Address, Reference, Constant }

function formClass(form: number): FormClass {
  switch (form) {
    case Form.String: case Form.Strp: case Form.LineStrp: case Form.Strx: case Form.Strx1: case Form.Strx2:
    case Form.Strx3: case Form.Strx4: case Form.GnuStrIndex:
      return FormClass.String;
    case Form.Addr: case Form.Addrx: case Form.Addrx1: case Form.Addrx2: case Form.Addrx3: case Form.Addrx4: case Form.GnuAddrIndex:
      return FormClass.Address;
    case Form.Ref1: case Form.Ref2: case Form.Ref4: case Form.Ref8: case Form.RefUdata: case Form.RefAddr:
      return FormClass.Reference;
    case Form.Data1: case Form.Data2: case Form.Data4: case Form.Data8: case Form.Sdata: case Form.Udata: case Form.ImplicitConst:
      return FormClass.Constant;
    default:
      return FormClass.Other;
  }
}

export class Unit {
  /** Bases from the unit DIE (DWARF 5); defaults are the first contribution's header size. */
  strOffsetsBase: number;
  addrBase: number;
  rnglistsBase: number;
  loclistsBase: number;
  /** The unit's base address for range and location lists (its DW_AT_low_pc). */
  baseAddress = 0n;
  private tree: Die | undefined;
  private dieByOffset: Map<number, Die> | undefined;
  private rootDie: Die | undefined;

  constructor(
    readonly debug: DebugInfo,
    readonly offset: number,
    readonly endOffset: number,
    readonly version: number,
    readonly unitType: number,
    readonly offsetSize: 4 | 8,
    readonly addressSize: number,
    readonly abbrevOffset: number,
    readonly firstDieOffset: number,
    readonly typeSignature: bigint | undefined,
    readonly typeOffset: number | undefined,
  ) {
    const headerSize = offsetSize === 8 ? 16 : 8;
    this.strOffsetsBase = headerSize;
    this.addrBase = headerSize;
    this.rnglistsBase = offsetSize === 8 ? 20 : 12;
    this.loclistsBase = offsetSize === 8 ? 20 : 12;
  }

  get fileName(): string {
    return this.debug.sections.fileName;
  }

  private get abbreviations(): AbbreviationTable {
    return this.debug.abbreviations.get(this.abbrevOffset);
  }

  /** The unit DIE alone (cheap: used at load time for ranges and bases). */
  root(): Die {
    if (this.rootDie !== undefined) return this.rootDie;
    if (this.tree !== undefined) return (this.rootDie = this.tree);
    const reader: DwarfReader = new DwarfReader(this.debug.sections.info, this.fileName, this.firstDieOffset, this.endOffset);
    const die = this.readDie(reader, this.abbreviations, undefined);
    if (die === undefined) reader.fail('unit has no DIE');
    this.applyRoot(die);
    this.rootDie = die;
    return die;
  }

  private applyRoot(die: Die): void {
    const numberOf = (attribute: number): number | undefined => {
      const value = die.attribute(attribute)?.value;
      return typeof value === 'number' ? value : undefined;
    };
    this.strOffsetsBase = numberOf(Attribute.StringOffsetsBase) ?? this.strOffsetsBase;
    this.addrBase = numberOf(Attribute.AddressBase) ?? numberOf(Attribute.GnuAddressBase) ?? this.addrBase;
    this.rnglistsBase = numberOf(Attribute.RangeListsBase) ?? this.rnglistsBase;
    this.loclistsBase = numberOf(Attribute.LocationListsBase) ?? this.loclistsBase;
    const low = die.attribute(Attribute.LowPc);
    if (low !== undefined) this.baseAddress = this.address(low.form, low.value) ?? 0n;
  }

  /** The whole DIE tree (parsed on first use, then kept). */
  dieTree(): Die {
    if (this.tree !== undefined) return this.tree;
    const reader: DwarfReader = new DwarfReader(this.debug.sections.info, this.fileName, this.firstDieOffset, this.endOffset);
    const abbreviations = this.abbreviations;
    const byOffset = new Map<number, Die>();
    const root = this.readDie(reader, abbreviations, undefined);
    if (root === undefined) reader.fail('unit has no DIE');
    this.applyRoot(root);
    byOffset.set(root.offset, root);
    // Iterative: a stack of open parents instead of recursion (deep or corrupt trees).
    const stack: Die[] = root.abbrev.hasChildren ? [root] : [];
    while (stack.length > 0 && !reader.atEnd) {
      const parent = stack[stack.length - 1];
      const die = this.readDie(reader, abbreviations, parent);
      if (die === undefined) {
        stack.pop();
        continue;
      }
      parent.children.push(die);
      byOffset.set(die.offset, die);
      if (die.abbrev.hasChildren) stack.push(die);
    }
    this.tree = root;
    this.rootDie = root;
    this.dieByOffset = byOffset;
    return root;
  }

  /**
   * One pass over the unit's DIEs without building its tree (for indexing large files):
   * the names of its functions with code (subprograms with low_pc or ranges) and its global
   * variables (the unit DIE's variable children with a location), in DIE order. A name comes
   * from the DIE or, through abstract_origin/specification, from a DIE of the same unit;
   * `name` stays undefined when the origin lies elsewhere (the caller resolves those).
   */
  skim(): UnitSkim {
    const reader: DwarfReader = new DwarfReader(this.debug.sections.info, this.fileName, this.firstDieOffset, this.endOffset);
    const abbreviations = this.abbreviations;
    const names = new Map<number, { form: number; value: AttributeValue }>();
    const origins = new Map<number, number>();
    const skimmed = new Set<number>();
    const concrete: { offset: number; origin: number | undefined }[] = [];
    const globals: { offset: number; origin: number | undefined }[] = [];
    const types: { name: string; offset: number }[] = [];
    let depth = 0;
    while (!reader.atEnd) {
      const offset = reader.offset;
      const code = reader.uleb();
      if (code === 0) {
        if (--depth <= 0) break;
        continue;
      }
      const abbrev = abbreviations.get(code);
      if (abbrev === undefined) reader.fail(`unknown abbreviation code ${code}`, offset);
      const isSubprogram = abbrev.tag === Tag.Subprogram;
      const isVariable = abbrev.tag === Tag.Variable;
      const typeKeyword = depth === 1 ? SKIMMED_TYPES.get(abbrev.tag) : undefined;
      const wanted = isSubprogram || isVariable || typeKeyword !== undefined;
      let name: { form: number; value: AttributeValue } | undefined;
      let origin: number | undefined;
      let hasCode = false;
      let hasLocation = false;
      let declaration = false;
      for (const spec of abbrev.attributes) {
        let form = spec.form;
        for (let hops = 0; form === Form.Indirect; hops++) {
          if (hops > 4) reader.fail('DW_FORM_indirect chain');
          form = reader.uleb();
        }
        const value = form === Form.ImplicitConst ? spec.implicitConst : this.readValue(reader, form);
        if (!wanted) continue;
        if (spec.name === Attribute.Name) name = { form, value };
        else if (spec.name === Attribute.LowPc || spec.name === Attribute.Ranges) hasCode = true;
        else if (spec.name === Attribute.Location) hasLocation = true;
        else if (spec.name === Attribute.Declaration) declaration = true;
        else if (spec.name === Attribute.AbstractOrigin || spec.name === Attribute.Specification) {
          // Only references within this unit are followed here; others are left to the caller.
          if (typeof value === 'number' && form !== Form.RefAddr && form !== Form.RefSig8) origin = this.offset + value;
        }
      }
      if (typeKeyword !== undefined) {
        // A declaration (struct foo;) has no members: only definitions name a type.
        const typeName = name === undefined || declaration ? undefined : this.stringValue(name.form, name.value);
        if (typeName !== undefined) types.push({ name: `${typeKeyword}${typeName}`, offset });
      }
      if (wanted) skimmed.add(offset);
      if (wanted && name !== undefined) names.set(offset, name);
      else if (wanted && origin !== undefined) origins.set(offset, origin);
      if (isSubprogram && hasCode) concrete.push({ offset, origin: name === undefined ? origin : offset });
      if (isVariable && hasLocation && depth === 1) globals.push({ offset, origin: name === undefined ? origin : offset });
      if (abbrev.hasChildren) depth++;
      else if (depth === 0) break;
    }
    const resolve = (entry: { offset: number; origin: number | undefined }): SkimmedEntry => {
      // Follows a chain of origins within the unit (an out-of-line instance of a declared function).
      let target = entry.origin;
      for (let hops = 0; target !== undefined && hops < 8; hops++) {
        const raw = names.get(target);
        if (raw !== undefined) return { offset: entry.offset, name: this.stringValue(raw.form, raw.value), elsewhere: false };
        const next = origins.get(target);
        // A DIE of this unit with neither a name nor an origin: anonymous.
        if (next === undefined && skimmed.has(target)) {
          return { offset: entry.offset, name: undefined, elsewhere: false };
        }
        target = next;
      }
      return { offset: entry.offset, name: undefined, elsewhere: entry.origin !== undefined };
    };
    return { functions: concrete.map(resolve), globals: globals.map(resolve), types };
  }

  dieAt(offset: number): Die | undefined {
    this.dieTree();
    return this.dieByOffset!.get(offset);
  }

  /** Reads one DIE; undefined for a null entry (end of siblings). */
  private readDie(reader: DwarfReader, abbreviations: AbbreviationTable, parent: Die | undefined): Die | undefined {
    const offset = reader.offset;
    const code = reader.uleb();
    if (code === 0) return undefined;
    const abbrev = abbreviations.get(code);
    if (abbrev === undefined) reader.fail(`unknown abbreviation code ${code}`, offset);
    const specs = abbrev.attributes;
    const values: AttributeValue[] = new Array(specs.length);
    let indirect: Map<number, number> | undefined;
    for (let index = 0; index < specs.length; index++) {
      let form = specs[index].form;
      if (form === Form.Indirect) {
        for (let depth = 0; form === Form.Indirect; depth++) {
          if (depth > 4) reader.fail('DW_FORM_indirect chain');
          form = reader.uleb();
        }
        (indirect ??= new Map()).set(index, form);
      }
      values[index] = form === Form.ImplicitConst ? specs[index].implicitConst : this.readValue(reader, form);
    }
    const die = new Die(this, offset, abbrev, values, parent);
    die.indirectForms = indirect;
    return die;
  }

  private readValue(reader: DwarfReader, form: number): AttributeValue {
    switch (form) {
      case Form.Addr: return reader.address(this.addressSize);
      case Form.Data1: case Form.Flag: case Form.Ref1: case Form.Strx1: case Form.Addrx1: return reader.u8();
      case Form.Data2: case Form.Ref2: case Form.Strx2: case Form.Addrx2: return reader.u16();
      case Form.Strx3: case Form.Addrx3: return reader.u24();
      case Form.Data4: case Form.Ref4: case Form.Strx4: case Form.Addrx4: case Form.RefSup4: return reader.u32();
      case Form.Data8: case Form.RefSig8: return reader.u64();
      case Form.Ref8: case Form.RefSup8: return reader.u64Number('reference');
      case Form.Data16: return reader.block(16);
      case Form.Sdata: return signedValue(reader);
      case Form.Udata: return unsignedValue(reader);
      case Form.RefUdata: case Form.Strx: case Form.Addrx: case Form.Loclistx: case Form.Rnglistx:
      case Form.GnuAddrIndex: case Form.GnuStrIndex:
        return reader.uleb();
      case Form.String: return reader.cstring();
      case Form.Strp: case Form.LineStrp: case Form.SecOffset: case Form.StrpSup: case Form.GnuStrpAlt: case Form.GnuRefAlt:
        return reader.sectionOffset(this.offsetSize);
      case Form.RefAddr:
        return this.version <= 2 ? Number(reader.address(this.addressSize)) : reader.sectionOffset(this.offsetSize);
      case Form.Block1: return reader.block(reader.u8());
      case Form.Block2: return reader.block(reader.u16());
      case Form.Block4: return reader.block(reader.u32());
      case Form.Block: case Form.Exprloc: return reader.block(reader.uleb());
      case Form.FlagPresent: return 1;
      default: return reader.fail(`unknown attribute form 0x${form.toString(16)}`);
    }
  }

  // ---- typed attribute access ---------------------------------------------------------

  /** A string attribute (any string form), or undefined. */
  string(die: Die, attribute: number): string | undefined {
    const raw = die.attribute(attribute);
    return raw === undefined ? undefined : this.stringValue(raw.form, raw.value);
  }

  /** A string-class value (string, strp, line_strp, strx*), or undefined for other forms. */
  stringValue(form: number, value: AttributeValue): string | undefined {
    if (typeof value === 'string') return value;
    if (typeof value !== 'number') return undefined;
    const sections = this.debug.sections;
    switch (form) {
      case Form.Strp: return stringAt(sections.str, this.fileName, value);
      case Form.LineStrp: return stringAt(sections.lineStr, this.fileName, value);
      case Form.Strx: case Form.Strx1: case Form.Strx2: case Form.Strx3: case Form.Strx4: case Form.GnuStrIndex: {
        const reader = new DwarfReader(sections.strOffsets, this.fileName, this.strOffsetsBase + value * this.offsetSize);
        return stringAt(sections.str, this.fileName, reader.sectionOffset(this.offsetSize));
      }
      default: return undefined;
    }
  }

  /** An address-class value (addr or addrx*), or undefined for other forms. */
  address(form: number, value: AttributeValue): bigint | undefined {
    if (form === Form.Addr) return typeof value === 'bigint' ? value : undefined;
    if (formClass(form) === FormClass.Address && typeof value === 'number') return this.indexedAddress(value);
    return undefined;
  }

  /** Entry `index` of this unit's .debug_addr contribution. */
  indexedAddress(index: number): bigint {
    const reader = new DwarfReader(this.debug.sections.addr, this.fileName, this.addrBase + index * this.addressSize);
    return reader.address(this.addressSize);
  }

  /** A constant-class value as a number (bigints that fit are converted), or undefined. */
  constant(die: Die, attribute: number): number | undefined {
    const raw = die.attribute(attribute);
    if (raw === undefined || formClass(raw.form) !== FormClass.Constant) return undefined;
    const value = raw.value;
    if (typeof value === 'number') return value;
    if (typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
    return undefined;
  }

  /** A constant as a signed bigint (enumerator values); data forms are sign-extended when the type is signed. */
  constantBig(die: Die, attribute: number, signed: boolean): bigint | undefined {
    const raw = die.attribute(attribute);
    if (raw === undefined) return undefined;
    const { form, value } = raw;
    const widths: Partial<Record<number, number>> = { [Form.Data1]: 8, [Form.Data2]: 16, [Form.Data4]: 32, [Form.Data8]: 64 };
    const width = widths[form];
    if (typeof value !== 'number' && typeof value !== 'bigint') return undefined;
    const big = BigInt(value);
    if (width !== undefined && signed) return BigInt.asIntN(width, big);
    return big;
  }

  /** A reference attribute as a DIE (possibly in another unit), or undefined. */
  reference(die: Die, attribute: number): Die | undefined {
    const raw = die.attribute(attribute);
    if (raw === undefined || typeof raw.value !== 'number' && typeof raw.value !== 'bigint') return undefined;
    const value = raw.value;
    switch (raw.form) {
      case Form.Ref1: case Form.Ref2: case Form.Ref4: case Form.Ref8: case Form.RefUdata:
        return this.dieAt(this.offset + Number(value));
      case Form.RefAddr:
        return this.debug.dieAt(Number(value));
      case Form.RefSig8:
        return typeof value === 'bigint' ? this.debug.typeUnitDie(value) : undefined;
      default:
        return undefined;
    }
  }

  /**
   * The address ranges a DIE covers: low_pc/high_pc (high as address or as length) or
   * DW_AT_ranges (.debug_ranges for DWARF 2-4, .debug_rnglists for 5). Empty when none.
   */
  ranges(die: Die): AddressRange[] {
    const lowRaw = die.attribute(Attribute.LowPc);
    const highRaw = die.attribute(Attribute.HighPc);
    if (lowRaw !== undefined && highRaw !== undefined) {
      const low = this.address(lowRaw.form, lowRaw.value);
      if (low === undefined) return [];
      let high: bigint | undefined;
      if (formClass(highRaw.form) === FormClass.Constant) {
        const length = highRaw.value;
        if (typeof length === 'number' || typeof length === 'bigint') high = addAddress(low, BigInt(length));
      } else {
        high = this.address(highRaw.form, highRaw.value);
      }
      return high !== undefined && high > low ? [{ low, high }] : [];
    }
    const rangesRaw = die.attribute(Attribute.Ranges);
    if (rangesRaw === undefined) return [];
    if (typeof rangesRaw.value !== 'number') return [];
    if (this.version >= 5) {
      const offset = rangesRaw.form === Form.Rnglistx ? this.rangeListOffset(rangesRaw.value) : rangesRaw.value;
      return this.rangeList5(offset);
    }
    return this.rangeList4(rangesRaw.value);
  }

  private rangeListOffset(index: number): number {
    const reader = new DwarfReader(this.debug.sections.rnglists, this.fileName, this.rnglistsBase + index * this.offsetSize);
    return this.rnglistsBase + reader.sectionOffset(this.offsetSize);
  }

  /** .debug_ranges: pairs of offsets from the base address; all-ones start = new base; 0,0 ends. */
  private rangeList4(offset: number): AddressRange[] {
    const reader = new DwarfReader(this.debug.sections.ranges, this.fileName, offset);
    const ranges: AddressRange[] = [];
    const allOnes = BigInt.asUintN(this.addressSize * 8, -1n);
    let base = this.baseAddress;
    for (;;) {
      const start = reader.address(this.addressSize);
      const end = reader.address(this.addressSize);
      if (start === 0n && end === 0n) break;
      if (start === allOnes) {
        base = end;
        continue;
      }
      if (end > start) ranges.push({ low: addAddress(base, start), high: addAddress(base, end) });
    }
    return ranges;
  }

  /** .debug_rnglists entries (DW_RLE_*). */
  private rangeList5(offset: number): AddressRange[] {
    const reader = new DwarfReader(this.debug.sections.rnglists, this.fileName, offset);
    const ranges: AddressRange[] = [];
    let base = this.baseAddress;
    const push = (low: bigint, high: bigint): void => {
      if (high > low) ranges.push({ low, high });
    };
    for (;;) {
      const kind = reader.u8();
      switch (kind) {
        case RangeListEntry.EndOfList: return ranges;
        case RangeListEntry.BaseAddressx: base = this.indexedAddress(reader.uleb()); break;
        case RangeListEntry.StartxEndx: push(this.indexedAddress(reader.uleb()), this.indexedAddress(reader.uleb())); break;
        case RangeListEntry.StartxLength: {
          const low = this.indexedAddress(reader.uleb());
          push(low, addAddress(low, reader.ulebBig()));
          break;
        }
        case RangeListEntry.OffsetPair: {
          const start = reader.ulebBig();
          const end = reader.ulebBig();
          push(addAddress(base, start), addAddress(base, end));
          break;
        }
        case RangeListEntry.BaseAddress: base = reader.address(this.addressSize); break;
        case RangeListEntry.StartEnd: push(reader.address(this.addressSize), reader.address(this.addressSize)); break;
        case RangeListEntry.StartLength: {
          const low = reader.address(this.addressSize);
          push(low, addAddress(low, reader.ulebBig()));
          break;
        }
        default: reader.fail(`unknown range list entry ${kind}`, reader.offset - 1);
      }
    }
  }

  get isTypeUnit(): boolean {
    return this.typeSignature !== undefined;
  }
}

function signedValue(reader: DwarfReader): number | bigint {
  const value = reader.slebBig();
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function unsignedValue(reader: DwarfReader): number | bigint {
  const value = reader.ulebBig();
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** All units of .debug_info, their headers read at load; DIE trees parsed per unit on demand. */
export class DebugInfo {
  readonly units: Unit[] = [];
  readonly abbreviations: AbbreviationCache;
  /** Problems met while reading (a unit that could not be parsed, and so on). */
  readonly diagnostics: string[] = [];
  private typeUnits: Map<bigint, Unit> | undefined;

  constructor(readonly sections: DwarfSections) {
    this.abbreviations = new AbbreviationCache(sections.abbrev, sections.fileName);
    const reader = new DwarfReader(sections.info, sections.fileName);
    while (reader.remaining > 0) {
      const unit = readUnitHeader(this, reader);
      this.units.push(unit);
      reader.offset = unit.endOffset;
    }
  }

  /** The unit whose bytes contain `offset` (binary search; units are in section order). */
  unitContaining(offset: number): Unit | undefined {
    let low = 0;
    let high = this.units.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const unit = this.units[middle];
      if (offset < unit.offset) high = middle - 1;
      else if (offset >= unit.endOffset) low = middle + 1;
      else return unit;
    }
    return undefined;
  }

  dieAt(offset: number): Die | undefined {
    return this.unitContaining(offset)?.dieAt(offset);
  }

  /** The type DIE of the type unit with this signature (DWARF 5 DW_UT_type in .debug_info). */
  typeUnitDie(signature: bigint): Die | undefined {
    if (this.typeUnits === undefined) {
      this.typeUnits = new Map();
      for (const unit of this.units) if (unit.typeSignature !== undefined) this.typeUnits.set(unit.typeSignature, unit);
    }
    const unit = this.typeUnits.get(signature);
    return unit === undefined || unit.typeOffset === undefined ? undefined : unit.dieAt(unit.offset + unit.typeOffset);
  }
}

function readUnitHeader(debug: DebugInfo, reader: DwarfReader): Unit {
  const offset = reader.offset;
  const { length, offsetSize } = reader.initialLength();
  const contentStart = reader.offset;
  if (length > reader.end - contentStart) {
    reader.fail(`unit length 0x${length.toString(16)} runs past the end of the section`, offset);
  }
  const endOffset = contentStart + length;
  const header = reader.window(contentStart, endOffset);
  const version = header.u16();
  if (version < 2 || version > 5) reader.fail(`unsupported DWARF version ${version}`, offset);
  let unitType: number = UnitType.Compile;
  let addressSize: number;
  let abbrevOffset: number;
  let typeSignature: bigint | undefined;
  let typeOffset: number | undefined;
  if (version >= 5) {
    unitType = header.u8();
    addressSize = header.u8();
    abbrevOffset = header.sectionOffset(offsetSize);
    switch (unitType) {
      case UnitType.Compile: case UnitType.Partial: break;
      case UnitType.Skeleton: case UnitType.SplitCompile: header.skip(8); break;
      case UnitType.Type: case UnitType.SplitType:
        typeSignature = header.u64();
        typeOffset = header.sectionOffset(offsetSize);
        break;
      default: reader.fail(`unknown unit type 0x${unitType.toString(16)}`, offset);
    }
  } else {
    abbrevOffset = header.sectionOffset(offsetSize);
    addressSize = header.u8();
  }
  if (addressSize !== 4 && addressSize !== 8) reader.fail(`unsupported address size ${addressSize}`, offset);
  return new Unit(debug, offset, endOffset, version, unitType, offsetSize, addressSize, abbrevOffset, header.offset,
    typeSignature, typeOffset);
}
