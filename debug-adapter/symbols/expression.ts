// DWARF location expressions: the simple single-operation locations the debugger can show
// (DW_OP_regN/regx, bregN/bregx, fbreg, addr/addrx), frame-base evaluation
// (DW_OP_call_frame_cfa, regN, bregN), and location lists (.debug_loc for DWARF 2-4,
// .debug_loclists for 5) resolved at one pc. Anything else is reported as unsupported.

import { Form, LocationListEntry } from './constants';
import { DwarfReader, addAddress, type SectionBytes } from './dwarf-reader';
import type { Unit } from './info';
import type { VariableLocation } from './types';

export const enum Op {
  Addr = 0x03,
  Deref = 0x06,
  PlusUconst = 0x23,
  Lit0 = 0x30,
  Lit31 = 0x4f,
  Reg0 = 0x50,
  Reg31 = 0x6f,
  Breg0 = 0x70,
  Breg31 = 0x8f,
  Regx = 0x90,
  Fbreg = 0x91,
  Bregx = 0x92,
  Piece = 0x93,
  CallFrameCfa = 0x9c,
  ImplicitValue = 0x9e,
  StackValue = 0x9f,
  ImplicitPointer = 0xa0,
  Addrx = 0xa1,
  EntryValue = 0xa3,
  GnuImplicitPointer = 0xf2,
  GnuEntryValue = 0xf3,
  GnuAddrIndex = 0xfb,
}

const OPERATION_NAMES: Partial<Record<number, string>> = {
  [Op.Deref]: 'DW_OP_deref', [Op.PlusUconst]: 'DW_OP_plus_uconst', [Op.Piece]: 'DW_OP_piece', [Op.CallFrameCfa]: 'DW_OP_call_frame_cfa',
  [Op.ImplicitValue]: 'DW_OP_implicit_value', [Op.StackValue]: 'DW_OP_stack_value', [Op.ImplicitPointer]: 'DW_OP_implicit_pointer',
  [Op.EntryValue]: 'DW_OP_entry_value', [Op.GnuImplicitPointer]: 'DW_OP_GNU_implicit_pointer', [Op.GnuEntryValue]: 'DW_OP_GNU_entry_value',
  0x9d: 'DW_OP_bit_piece', 0x96: 'DW_OP_nop', 0x94: 'DW_OP_deref_size', 0x22: 'DW_OP_plus', 0x1c: 'DW_OP_minus',
};

export function operationName(opcode: number): string {
  if (opcode >= Op.Lit0 && opcode <= Op.Lit31) return `DW_OP_lit${opcode - Op.Lit0}`;
  if (opcode >= Op.Reg0 && opcode <= Op.Reg31) return `DW_OP_reg${opcode - Op.Reg0}`;
  if (opcode >= Op.Breg0 && opcode <= Op.Breg31) return `DW_OP_breg${opcode - Op.Breg0}`;
  return OPERATION_NAMES[opcode] ?? `DW_OP 0x${opcode.toString(16)}`;
}

const expressionSection = (bytes: Uint8Array): SectionBytes => ({ name: 'location expression', bytes, address: 0n });

/** Decodes an expression that is one simple location; anything else is 'unsupported' with the reason. */
export function decodeLocation(expression: Uint8Array, unit: Unit): VariableLocation {
  if (expression.length === 0) return { kind: 'unsupported', reason: 'optimized out (empty location)' };
  const reader = new DwarfReader(expressionSection(expression), unit.fileName);
  try {
    const opcode = reader.u8();
    let location: VariableLocation | undefined;
    if (opcode >= Op.Reg0 && opcode <= Op.Reg31) location = { kind: 'register', register: opcode - Op.Reg0 };
    else if (opcode === Op.Regx) location = { kind: 'register', register: reader.uleb() };
    else if (opcode >= Op.Breg0 && opcode <= Op.Breg31) location = { kind: 'registerOffset', register: opcode - Op.Breg0, offset: reader.slebBig() };
    else if (opcode === Op.Bregx) location = { kind: 'registerOffset', register: reader.uleb(), offset: reader.slebBig() };
    else if (opcode === Op.Fbreg) location = { kind: 'frameOffset', offset: reader.slebBig() };
    else if (opcode === Op.Addr) location = { kind: 'address', address: reader.address(unit.addressSize) };
    else if (opcode === Op.Addrx || opcode === Op.GnuAddrIndex) location = { kind: 'address', address: unit.indexedAddress(reader.uleb()) };
    if (location !== undefined && reader.atEnd) return location;
    return { kind: 'unsupported', reason: describeExpression(expression) };
  } catch (error) {
    return { kind: 'unsupported', reason: `malformed location expression (${(error as Error).message})` };
  }
}

/** A short explanation of why an expression is not a simple location. */
function describeExpression(expression: Uint8Array): string {
  const first = expression[0];
  if (first === Op.EntryValue || first === Op.GnuEntryValue) return 'value at function entry (DW_OP_entry_value), not recoverable here';
  if (first === Op.ImplicitPointer || first === Op.GnuImplicitPointer) return 'pointer optimized away (DW_OP_implicit_pointer)';
  if (first === Op.ImplicitValue) return 'constant value (DW_OP_implicit_value)';
  if (expression[expression.length - 1] === Op.StackValue) return 'computed value (DW_OP_stack_value), not in memory or a register';
  // Operands are not decoded here, so this may also match an operand byte: only a hint.
  if (expression.includes(Op.Piece)) return 'split over several places (DW_OP_piece)';
  return `location expression starting with ${operationName(first)} (${expression.length} bytes) is not a simple location`;
}

export interface FrameBaseInputs {
  register(index: number): bigint;
  /** The canonical frame address from CFI, when it can be computed. */
  callFrameAddress(): bigint | undefined;
}

/** Evaluates a DW_AT_frame_base expression: DW_OP_call_frame_cfa, DW_OP_regN/regx, DW_OP_bregN/bregx. */
export function evaluateFrameBase(expression: Uint8Array, unit: Unit, inputs: FrameBaseInputs): bigint | undefined {
  const reader = new DwarfReader(expressionSection(expression), unit.fileName);
  try {
    const opcode = reader.u8();
    let value: bigint | undefined;
    if (opcode === Op.CallFrameCfa) value = inputs.callFrameAddress();
    else if (opcode >= Op.Reg0 && opcode <= Op.Reg31) value = inputs.register(opcode - Op.Reg0);
    else if (opcode === Op.Regx) value = inputs.register(reader.uleb());
    else if (opcode >= Op.Breg0 && opcode <= Op.Breg31) value = addAddress(inputs.register(opcode - Op.Breg0), reader.slebBig());
    else if (opcode === Op.Bregx) value = addAddress(inputs.register(reader.uleb()), reader.slebBig());
    return reader.atEnd ? value : undefined;
  } catch {
    return undefined;
  }
}

export type LocationLookup =
  | { kind: 'expression'; expression: Uint8Array }
  | { kind: 'none'; reason: string };

/**
 * The expression a location attribute gives at `pc`: an exprloc directly, or the entry of
 * a location list (sec_offset or loclistx) whose range contains pc.
 */
export function locationAt(unit: Unit, form: number, value: unknown, pc: bigint): LocationLookup {
  if (value instanceof Uint8Array) return { kind: 'expression', expression: value };
  if (typeof value !== 'number') return { kind: 'none', reason: `unsupported location form 0x${form.toString(16)}` };
  const sections = unit.debug.sections;
  if (unit.version >= 5) {
    let offset = value;
    if (form === Form.Loclistx) {
      const table = new DwarfReader(sections.loclists, unit.fileName, unit.loclistsBase + value * unit.offsetSize);
      offset = unit.loclistsBase + table.sectionOffset(unit.offsetSize);
    }
    return locationList5(unit, sections.loclists, offset, pc);
  }
  return locationList4(unit, sections.loc, value, pc);
}

const NOT_LIVE = (pc: bigint): LocationLookup => ({ kind: 'none', reason: `not available at 0x${pc.toString(16)} (optimized out here)` });

function locationList4(unit: Unit, section: SectionBytes, offset: number, pc: bigint): LocationLookup {
  const reader = new DwarfReader(section, unit.fileName, offset);
  const allOnes = BigInt.asUintN(unit.addressSize * 8, -1n);
  let base = unit.baseAddress;
  for (let entries = 0; ; entries++) {
    const start = reader.address(unit.addressSize);
    const end = reader.address(unit.addressSize);
    if (start === 0n && end === 0n) return NOT_LIVE(pc);
    if (start === allOnes) {
      base = end;
      continue;
    }
    const expression = reader.block(reader.u16());
    if (pc >= addAddress(base, start) && pc < addAddress(base, end)) return { kind: 'expression', expression };
  }
}

function locationList5(unit: Unit, section: SectionBytes, offset: number, pc: bigint): LocationLookup {
  const reader = new DwarfReader(section, unit.fileName, offset);
  let base = unit.baseAddress;
  let fallback: Uint8Array | undefined;
  const counted = (): Uint8Array => reader.block(reader.uleb());
  for (;;) {
    const kind = reader.u8();
    let low: bigint | undefined;
    let high: bigint | undefined;
    switch (kind) {
      case LocationListEntry.EndOfList:
        return fallback !== undefined ? { kind: 'expression', expression: fallback } : NOT_LIVE(pc);
      case LocationListEntry.BaseAddressx: base = unit.indexedAddress(reader.uleb()); continue;
      case LocationListEntry.BaseAddress: base = reader.address(unit.addressSize); continue;
      case LocationListEntry.GnuViewPair: reader.uleb(); reader.uleb(); continue;
      case LocationListEntry.DefaultLocation: fallback = counted(); continue;
      case LocationListEntry.StartxEndx: low = unit.indexedAddress(reader.uleb()); high = unit.indexedAddress(reader.uleb()); break;
      case LocationListEntry.StartxLength: low = unit.indexedAddress(reader.uleb()); high = addAddress(low, reader.ulebBig()); break;
      case LocationListEntry.OffsetPair: {
        const start = reader.ulebBig();
        const end = reader.ulebBig();
        low = addAddress(base, start);
        high = addAddress(base, end);
        break;
      }
      case LocationListEntry.StartEnd: low = reader.address(unit.addressSize); high = reader.address(unit.addressSize); break;
      case LocationListEntry.StartLength: low = reader.address(unit.addressSize); high = addAddress(low, reader.ulebBig()); break;
      default: return reader.fail(`unknown location list entry ${kind}`, reader.offset - 1);
    }
    const expression = counted();
    if (pc >= low && pc < high) return { kind: 'expression', expression };
  }
}
