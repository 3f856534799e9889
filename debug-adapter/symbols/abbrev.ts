// .debug_abbrev: the abbreviation tables that say, per DIE code, its tag, whether it has
// children, and its attributes with their forms (DW_FORM_implicit_const carries its value here).

import { Form } from './constants';
import { DwarfReader, type SectionBytes } from './dwarf-reader';

export interface AttributeSpec {
  readonly name: number;
  readonly form: number;
  /** DW_FORM_implicit_const: the value stored in the abbreviation. */
  readonly implicitConst: number;
}

export interface Abbreviation {
  readonly code: number;
  readonly tag: number;
  readonly hasChildren: boolean;
  readonly attributes: readonly AttributeSpec[];
  /** Attribute name -> index in `attributes` (first occurrence). */
  readonly indexOf: ReadonlyMap<number, number>;
}

export type AbbreviationTable = ReadonlyMap<number, Abbreviation>;

/** Parses the abbreviation table at `offset` (up to its terminating 0 code). */
export function parseAbbreviations(section: SectionBytes, fileName: string, offset: number): AbbreviationTable {
  const reader = new DwarfReader(section, fileName, offset);
  if (offset < 0 || offset >= section.bytes.length) reader.fail(`abbreviation table offset 0x${offset.toString(16)} is outside the section`, 0);
  const table = new Map<number, Abbreviation>();
  for (;;) {
    const code = reader.uleb();
    if (code === 0) break;
    const tag = reader.uleb();
    const hasChildren = reader.u8() !== 0;
    const attributes: AttributeSpec[] = [];
    const indexOf = new Map<number, number>();
    for (;;) {
      const name = reader.uleb();
      const form = reader.uleb();
      if (name === 0 && form === 0) break;
      const implicitConst = form === Form.ImplicitConst ? reader.sleb() : 0;
      if (!indexOf.has(name)) indexOf.set(name, attributes.length);
      attributes.push({ name, form, implicitConst });
    }
    table.set(code, { code, tag, hasChildren, attributes, indexOf });
  }
  return table;
}

/** Caches tables by offset: units of one object share a table. */
export class AbbreviationCache {
  private readonly tables = new Map<number, AbbreviationTable>();

  constructor(private readonly section: SectionBytes, private readonly fileName: string) {}

  get(offset: number): AbbreviationTable {
    let table = this.tables.get(offset);
    if (table === undefined) {
      table = parseAbbreviations(this.section, this.fileName, offset);
      this.tables.set(offset, table);
    }
    return table;
  }
}
