// Variables as DAP shows them: a table of containers (scopes and expandable values) whose
// references are valid until the machine runs again, and the renderers for DWARF-typed
// values (locals and globals), registers, floating-point registers, CSRs with decoded
// fields, and machine facts.

import type { DebugProtocol } from '@vscode/debugprotocol';
import type { TypeInfo, VariableInfo } from './symbols/types';
import { isCharType, resolveTypedef, scalarText, SIZE_TYPE } from './state/ctypes';
import { formatMemoryReference, hex, type SpacedAddress } from './target';

/** How values are shown: by their type (the default), or every integer in hex (DAP's `format.hex`). */
export interface ValueFormat {
  readonly hex?: boolean;
}

/** One expandable thing in the Variables view. */
export interface Container {
  /** The children; a `paged` container renders only `count` of them from `start` (a page when not given). */
  variables(start?: number, count?: number, format?: ValueFormat): DebugProtocol.Variable[];
  /** variables() honours start and count itself (arrays): the session does not slice again. */
  readonly paged?: boolean;
  /** Writes a child; returns the new display value (in `format`). */
  set?(name: string, value: string, format?: ValueFormat): { value: string; memoryReference?: string };
  /** Address and size of a child, for data breakpoints. */
  dataOf?(name: string): { address: SpacedAddress; size: number; description: string } | undefined;
}

export class VariableStore {
  private readonly containers = new Map<number, Container>();
  private next = 1;

  add(container: Container): number {
    const reference = this.next++;
    this.containers.set(reference, container);
    return reference;
  }

  get(reference: number): Container | undefined {
    return this.containers.get(reference);
  }

  /** References die when the machine runs (DAP allows reuse after a continue). */
  clear(): void {
    this.containers.clear();
    this.next = 1;
  }
}

// ---- DWARF-typed values ---------------------------------------------------------------------

/** Where a variable's value is: in memory, in a register (the bits), computed (not an lvalue), or not available. */
export type ValueLocation =
  | { kind: 'memory'; address: bigint }
  | { kind: 'register'; bits: bigint; register: string }
  | { kind: 'value'; bits: bigint }
  | { kind: 'unavailable'; reason: string };

export interface ValueReader {
  read(address: bigint, size: number): Uint8Array | undefined;
  /** Stores `text` (an expression, or a number for floats) in a value of `type` at `location`; throws with the reason. */
  assign?(type: TypeInfo | undefined, location: ValueLocation, text: string): void;
  /** Memory references name physical addresses (an expression under phys:). */
  readonly physical?: boolean;
}

/** Array elements per variables request when the client gives no range (VS Code pages by 100 itself). */
export const ARRAY_PAGE = 100;
const MAX_STRING = 64;

function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

/** `base.member` / `base[i]` for a child's evaluateName (parenthesized when base is not a plain postfix chain). */
function childName(base: string | undefined, suffix: string): string | undefined {
  if (base === undefined) return undefined;
  return /^[A-Za-z_$][A-Za-z0-9_$]*((\.|->)[A-Za-z_][A-Za-z0-9_]*|\[[^\]]*\])*$/.test(base) ? `${base}${suffix}` : `(${base})${suffix}`;
}

/**
 * Renders a value of DWARF type `declared` at `location` as a DAP variable; structs, unions,
 * arrays and pointers get a container in `store` whose children are rendered when asked for
 * (arrays a page at a time). The one formatter of the Locals/Globals scopes and of `evaluate`.
 */
export function renderValue(
  name: string, declared: TypeInfo | undefined, location: ValueLocation, reader: ValueReader, store: VariableStore,
  evaluateName?: string, format: ValueFormat = {},
): DebugProtocol.Variable {
  const type = resolveTypedef(declared);
  const typeName = declared?.name ?? 'unknown';
  const base: DebugProtocol.Variable = { name, value: '', type: typeName, variablesReference: 0, evaluateName };
  const space = reader.physical === true ? 'physical' as const : 'virtual' as const;
  const reference = (address: bigint) => formatMemoryReference({ address, space });
  if (location.kind === 'unavailable') return { ...base, value: `<${location.reason}>` };
  if (type === undefined) return { ...base, value: location.kind === 'memory' ? `<unknown type at ${hex(location.address)}>` : hex(location.bits) };
  const size = type.byteSize;
  const bits = (): bigint | undefined => {
    if (location.kind !== 'memory') return BigInt.asUintN(Math.max(1, Math.min(size, 8)) * 8, location.bits);
    const bytes = reader.read(location.address, Math.max(1, Math.min(size, 8)));
    return bytes === undefined ? undefined : littleEndian(bytes);
  };
  const memoryReference = location.kind === 'memory' ? reference(location.address) : undefined;
  const unreadable = () => ({ ...base, value: `<unreadable memory at ${hex((location as { address: bigint }).address)}>`, memoryReference });
  /** A child container's setter: writes the child, answers with its new display value. */
  const setter = (find: (childName: string) => { type: TypeInfo; address: bigint; evaluateName?: string } | undefined) => (reader.assign === undefined ? undefined
    : (childName: string, text: string, childFormat: ValueFormat = format) => {
      const child = find(childName);
      if (child === undefined) throw new Error(`no '${childName}' in ${name}`);
      const childLocation: ValueLocation = { kind: 'memory', address: child.address };
      reader.assign!(child.type, childLocation, text);
      const shown = renderValue(childName, child.type, childLocation, reader, store, child.evaluateName, childFormat);
      return { value: shown.value, memoryReference: shown.memoryReference };
    });
  switch (type.kind) {
    case 'base': case 'enum': case 'other': {
      const value = bits();
      if (value === undefined) return unreadable();
      return { ...base, value: displayScalar(type, value, format), memoryReference };
    }
    case 'pointer': {
      const value = bits();
      if (value === undefined) return unreadable();
      const target = resolveTypedef(type.target);
      let text = hex(value);
      if (isCharType(target) && value !== 0n) {
        const string = readString(reader, value);
        if (string !== undefined) text += ` ${JSON.stringify(string)}`;
      }
      const canExpand = value !== 0n && target !== undefined && target.byteSize > 0;
      const targetName = evaluateName === undefined ? undefined : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(evaluateName) ? `*${evaluateName}` : `*(${evaluateName})`;
      const childReference = canExpand ? store.add({
        variables: (_start, _count, childFormat = format) => [renderValue(`*${name}`, type.target, { kind: 'memory', address: value }, reader, store, targetName, childFormat)],
        set: setter((child) => (child === `*${name}` ? { type: type.target!, address: value, evaluateName: targetName } : undefined)),
        dataOf: (child) => (child === `*${name}` ? { address: { address: value, space }, size: Math.max(1, target.byteSize), description: child } : undefined),
      }) : 0;
      return { ...base, value: text, variablesReference: childReference, memoryReference: reference(value) };
    }
    case 'struct': case 'union': {
      if (location.kind !== 'memory') return { ...base, value: `{...} in ${location.kind === 'register' ? location.register : 'a computed value'}` };
      const address = location.address;
      const members = type.members ?? [];
      const memberNamed = (memberName: string) => members.find((candidate) => candidate.name === memberName);
      const childReference = store.add({
        variables: (_start, _count, childFormat = format) => members.map((member) => renderValue(member.name, member.type, { kind: 'memory', address: address + BigInt(member.offset) }, reader, store,
          member.name === '' ? undefined : childName(evaluateName, `.${member.name}`), childFormat)),
        set: setter((memberName) => {
          const member = memberNamed(memberName);
          return member === undefined ? undefined : { type: member.type, address: address + BigInt(member.offset), evaluateName: childName(evaluateName, `.${member.name}`) };
        }),
        dataOf: (memberName) => {
          const member = memberNamed(memberName);
          return member === undefined ? undefined : {
            address: { address: address + BigInt(member.offset), space }, size: Math.max(1, resolveTypedef(member.type)?.byteSize ?? 1),
            description: `${name}.${member.name}`,
          };
        },
      });
      return { ...base, value: `{${members.slice(0, 3).map((member) => member.name).join(', ')}${members.length > 3 ? ', ...' : ''}}`, variablesReference: childReference, namedVariables: members.length, memoryReference };
    }
    case 'array': {
      if (location.kind !== 'memory') return { ...base, value: `[...] in ${location.kind === 'register' ? location.register : 'a computed value'}` };
      const element = type.target;
      const elementType = resolveTypedef(element);
      const elementSize = Math.max(1, elementType?.byteSize ?? 1);
      const count = type.elementCount ?? Math.floor(size / elementSize);
      const address = location.address;
      let preview = `[${count}]`;
      if (isCharType(elementType)) {
        const string = readString(reader, address, Math.min(count, MAX_STRING));
        if (string !== undefined) preview = JSON.stringify(string);
      }
      const elementAt = (index: number) => ({ type: element!, address: address + BigInt(index * elementSize), evaluateName: childName(evaluateName, `[${index}]`) });
      const indexOf = (elementName: string) => {
        const match = /^\[([0-9]+)\]$/.exec(elementName);
        return match === null || Number(match[1]) >= count ? undefined : Number(match[1]);
      };
      const childReference = element === undefined || count === 0 ? 0 : store.add({
        paged: true,
        variables: (start = 0, wanted = ARRAY_PAGE, childFormat = format) => {
          const first = Math.max(0, Math.min(start, count));
          const last = Math.min(count, first + Math.max(0, Math.min(wanted, 10_000)));
          return Array.from({ length: last - first }, (_, offset) => {
            const child = elementAt(first + offset);
            return renderValue(`[${first + offset}]`, element, { kind: 'memory', address: child.address }, reader, store, child.evaluateName, childFormat);
          });
        },
        set: setter((elementName) => {
          const index = indexOf(elementName);
          return index === undefined ? undefined : elementAt(index);
        }),
        dataOf: (elementName) => {
          const index = indexOf(elementName);
          if (index === undefined) return undefined;
          return { address: { address: elementAt(index).address, space }, size: elementSize, description: `${name}${elementName}` };
        },
      });
      return { ...base, value: preview, variablesReference: childReference, indexedVariables: childReference === 0 ? undefined : count, memoryReference };
    }
    default:
      return { ...base, value: location.kind === 'memory' ? `@${hex(location.address)}` : hex(location.bits), memoryReference };
  }
}

/** Unsigned 64-bit values from here up are shown in hex only: addresses, page-table entries, bit masks. */
const DECIMAL_ALONGSIDE_BELOW = 1_000_000n;

/**
 * A scalar as the Variables view, hovers and the Debug Console show it. Unsigned 64-bit
 * integers (u64, uint64_t, size_t, unsigned long: what holds addresses and register images
 * such as a saved satp) are hex, with the decimal alongside while it is short and differs
 * (`0x2a (42)`); other integers as their type says (decimal, enumerators, characters).
 * `format.hex` shows every integer in hex alone.
 */
export function displayScalar(type: TypeInfo, bits: bigint, format: ValueFormat = {}): string {
  const size = Math.max(1, Math.min(8, type.byteSize));
  const integer = type.kind === 'enum' || (type.kind === 'base' && type.encoding !== 'float' && type.encoding !== 'boolean');
  if (!integer) return scalarText(type, bits);
  const value = BigInt.asUintN(size * 8, bits);
  if (format.hex === true) {
    const text = hex(value);
    if (type.kind === 'enum') {
      const enumerator = type.enumerators?.find((candidate) => BigInt.asUintN(size * 8, candidate.value) === value);
      return enumerator !== undefined ? `${enumerator.name} (${text})` : text;
    }
    if (isCharType(type) && value >= 32n && value < 127n) return `${text} '${String.fromCharCode(Number(value))}'`;
    return text;
  }
  // sizeof's result counts bytes: decimal, as written in C.
  if (type.kind === 'base' && type.encoding === 'unsigned' && size === 8 && type !== SIZE_TYPE) {
    return value >= 10n && value < DECIMAL_ALONGSIDE_BELOW ? `${hex(value)} (${value})` : hex(value);
  }
  return scalarText(type, bits);
}

function readString(reader: ValueReader, address: bigint, limit = MAX_STRING): string | undefined {
  let bytes = reader.read(address, limit);
  if (bytes === undefined) {
    // The end of readable memory is near: as many bytes as can be read, one at a time.
    const some: number[] = [];
    for (let index = 0; index < limit; index++) {
      const byte = reader.read(address + BigInt(index), 1);
      if (byte === undefined || byte.length === 0) break;
      some.push(byte[0]);
      if (byte[0] === 0) break;
    }
    if (some.length === 0) return undefined;
    bytes = new Uint8Array(some);
  }
  let text = '';
  for (const byte of bytes) {
    if (byte === 0) return text;
    text += String.fromCharCode(byte);
  }
  return bytes.length >= limit ? `${text}...` : text;
}

/** Size in bytes of a variable's type (at least 1), for data breakpoints. */
export function variableSize(variable: VariableInfo): number {
  return Math.max(1, resolveTypedef(variable.type)?.byteSize ?? 1);
}
