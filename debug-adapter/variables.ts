// Variables as DAP shows them: a table of containers (scopes and expandable values) whose
// references are valid until the machine runs again, and the renderers for DWARF-typed
// values (locals and globals), registers, floating-point registers, CSRs with decoded
// fields, and machine facts.

import type { DebugProtocol } from '@vscode/debugprotocol';
import type { TypeInfo, VariableInfo } from './symbols/types';
import { formatMemoryReference, hex, type SpacedAddress } from './target';

/** One expandable thing in the Variables view. */
export interface Container {
  variables(): DebugProtocol.Variable[];
  /** Writes a child; returns the new display value. */
  set?(name: string, value: string): { value: string; memoryReference?: string };
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

/** Where a variable's value is: in memory, in a register (the bits), or not available. */
export type ValueLocation =
  | { kind: 'memory'; address: bigint }
  | { kind: 'register'; bits: bigint; register: string }
  | { kind: 'unavailable'; reason: string };

export interface ValueReader {
  read(address: bigint, size: number): Uint8Array | undefined;
}

const MAX_CHILDREN = 256;
const MAX_STRING = 64;

function resolveTypedef(type: TypeInfo | undefined): TypeInfo | undefined {
  let current = type;
  for (let guard = 0; current !== undefined && current.kind === 'typedef' && guard < 16; guard++) current = current.target;
  return current;
}

function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

function scalarText(type: TypeInfo, bits: bigint): string {
  const size = type.byteSize;
  switch (type.encoding) {
    case 'float': {
      const view = new DataView(new ArrayBuffer(8));
      if (size === 4) {
        view.setUint32(0, Number(BigInt.asUintN(32, bits)), true);
        return String(view.getFloat32(0, true));
      }
      view.setBigUint64(0, BigInt.asUintN(64, bits), true);
      return String(view.getFloat64(0, true));
    }
    case 'boolean':
      return BigInt.asUintN(size * 8, bits) === 0n ? 'false' : 'true';
    case 'signedChar': case 'unsignedChar': {
      const code = type.encoding === 'signedChar' ? BigInt.asIntN(8, bits) : BigInt.asUintN(8, bits);
      const printable = code >= 32n && code < 127n ? ` '${String.fromCharCode(Number(code))}'` : '';
      return `${code}${printable}`;
    }
    case 'signed':
      return BigInt.asIntN(size * 8, bits).toString();
    default:
      return BigInt.asUintN(Math.max(1, size) * 8, bits).toString();
  }
}

/** Renders a value of DWARF type `type` at `location` as a DAP variable (children added to `store`). */
export function renderValue(
  name: string, declared: TypeInfo | undefined, location: ValueLocation, reader: ValueReader, store: VariableStore,
  evaluateName?: string,
): DebugProtocol.Variable {
  const type = resolveTypedef(declared);
  const typeName = declared?.name ?? 'unknown';
  const base: DebugProtocol.Variable = { name, value: '', type: typeName, variablesReference: 0, evaluateName };
  if (location.kind === 'unavailable') return { ...base, value: `<${location.reason}>` };
  if (type === undefined) return { ...base, value: location.kind === 'register' ? hex(location.bits) : `<unknown type at ${hex(location.address)}>` };
  const size = type.byteSize;
  const bits = (): bigint | undefined => {
    if (location.kind === 'register') return BigInt.asUintN(Math.max(1, Math.min(size, 8)) * 8, location.bits);
    const bytes = reader.read(location.address, Math.min(size, 8));
    return bytes === undefined ? undefined : littleEndian(bytes);
  };
  const memoryReference = location.kind === 'memory' ? formatMemoryReference({ address: location.address, space: 'virtual' }) : undefined;
  switch (type.kind) {
    case 'base': case 'enum': case 'other': {
      const value = bits();
      if (value === undefined) return { ...base, value: `<unreadable memory at ${hex((location as { address: bigint }).address)}>`, memoryReference };
      if (type.kind === 'enum') {
        const enumerator = type.enumerators?.find((candidate) => BigInt.asUintN(size * 8, candidate.value) === value);
        return { ...base, value: enumerator !== undefined ? `${enumerator.name} (${BigInt.asIntN(size * 8, value)})` : BigInt.asIntN(size * 8, value).toString(), memoryReference };
      }
      return { ...base, value: scalarText(type, value), memoryReference };
    }
    case 'pointer': {
      const value = bits();
      if (value === undefined) return { ...base, value: `<unreadable memory at ${hex((location as { address: bigint }).address)}>`, memoryReference };
      const target = resolveTypedef(type.target);
      let text = hex(value);
      if (target?.kind === 'base' && (target.encoding === 'signedChar' || target.encoding === 'unsignedChar') && value !== 0n) {
        const string = readString(reader, value);
        if (string !== undefined) text += ` ${JSON.stringify(string)}`;
      }
      const canExpand = value !== 0n && target !== undefined && target.byteSize > 0;
      const reference = canExpand ? store.add({
        variables: () => [renderValue(`*${name}`, type.target, { kind: 'memory', address: value }, reader, store)],
      }) : 0;
      return { ...base, value: text, variablesReference: reference, memoryReference: formatMemoryReference({ address: value, space: 'virtual' }) };
    }
    case 'struct': case 'union': {
      if (location.kind !== 'memory') return { ...base, value: `{...} in ${location.register}` };
      const address = location.address;
      const members = type.members ?? [];
      const reference = store.add({
        variables: () => members.map((member) => renderValue(member.name, member.type, { kind: 'memory', address: address + BigInt(member.offset) }, reader, store)),
        dataOf: (memberName) => {
          const member = members.find((candidate) => candidate.name === memberName);
          return member === undefined ? undefined : {
            address: { address: address + BigInt(member.offset), space: 'virtual' }, size: Math.max(1, resolveTypedef(member.type)?.byteSize ?? 1),
            description: `${name}.${member.name}`,
          };
        },
      });
      return { ...base, value: `{${members.slice(0, 3).map((member) => member.name).join(', ')}${members.length > 3 ? ', ...' : ''}}`, variablesReference: reference, namedVariables: members.length, memoryReference };
    }
    case 'array': {
      if (location.kind !== 'memory') return { ...base, value: `[...] in ${location.register}` };
      const element = type.target;
      const elementSize = Math.max(1, resolveTypedef(element)?.byteSize ?? 1);
      const count = type.elementCount ?? Math.floor(size / elementSize);
      const address = location.address;
      const elementType = resolveTypedef(element);
      let preview = `[${count}]`;
      if (elementType?.kind === 'base' && (elementType.encoding === 'signedChar' || elementType.encoding === 'unsignedChar')) {
        const string = readString(reader, address, Math.min(count, MAX_STRING));
        if (string !== undefined) preview += ` ${JSON.stringify(string)}`;
      }
      const reference = store.add({
        variables: () => Array.from({ length: Math.min(count, MAX_CHILDREN) }, (_, index) =>
          renderValue(`[${index}]`, element, { kind: 'memory', address: address + BigInt(index * elementSize) }, reader, store)),
        dataOf: (elementName) => {
          const index = /^\[([0-9]+)\]$/.exec(elementName);
          if (index === null || Number(index[1]) >= count) return undefined;
          return { address: { address: address + BigInt(Number(index[1]) * elementSize), space: 'virtual' }, size: elementSize, description: `${name}${elementName}` };
        },
      });
      return { ...base, value: preview, variablesReference: reference, indexedVariables: Math.min(count, MAX_CHILDREN), memoryReference };
    }
    default:
      return { ...base, value: location.kind === 'register' ? hex(location.bits) : `@${hex(location.address)}`, memoryReference };
  }
}

function readString(reader: ValueReader, address: bigint, limit = MAX_STRING): string | undefined {
  const bytes = reader.read(address, limit) ?? reader.read(address, 1);
  if (bytes === undefined) return undefined;
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
