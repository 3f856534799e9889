// Helpers over DWARF types (symbols/types.ts TypeInfo) shared by the typed expression
// evaluator and the Variables view: typedef resolution, synthesized pointer types, scalar
// display text, and an index of type names (struct task, u64, enum state) reachable from a
// set of variables. Type graphs may be cyclic: every walk here is bounded or remembers what it saw.

import type { TypeInfo, VariableInfo } from '../symbols/types';

/** The type behind typedefs (undefined for an unknown type). */
export function resolveTypedef(type: TypeInfo | undefined): TypeInfo | undefined {
  let current = type;
  for (let guard = 0; current !== undefined && current.kind === 'typedef' && guard < 32; guard++) current = current.target;
  return current;
}

const pointerTypes = new WeakMap<TypeInfo, TypeInfo>();

/** A pointer to `type` (`struct task *`), one object per target so results compare equal. */
export function pointerTo(type: TypeInfo): TypeInfo {
  let pointer = pointerTypes.get(type);
  if (pointer === undefined) {
    pointer = { name: `${type.name} *`, byteSize: 8, kind: 'pointer', target: type };
    pointerTypes.set(type, pointer);
  }
  return pointer;
}

/** `unsigned long`, the type of sizeof. */
export const SIZE_TYPE: TypeInfo = { name: 'unsigned long', byteSize: 8, kind: 'base', encoding: 'unsigned' };

export const isAggregate = (type: TypeInfo | undefined): boolean =>
  type !== undefined && (type.kind === 'struct' || type.kind === 'union' || type.kind === 'array');

export const isCharType = (type: TypeInfo | undefined): boolean =>
  type?.kind === 'base' && (type.encoding === 'signedChar' || type.encoding === 'unsignedChar');

export const isSignedType = (type: TypeInfo | undefined): boolean =>
  type !== undefined && (type.encoding === 'signed' || type.encoding === 'signedChar' || type.kind === 'enum');

/** Size in bytes of a (resolved) element, at least 1, for pointer arithmetic and indexing. */
export function strideOf(type: TypeInfo | undefined): number {
  return Math.max(1, resolveTypedef(type)?.byteSize ?? 1);
}

/** Display text of a scalar (base or enum) of `type` whose value has the bits `bits`. */
export function scalarText(type: TypeInfo, bits: bigint): string {
  const size = Math.max(1, Math.min(8, type.byteSize));
  if (type.kind === 'enum') {
    const enumerator = type.enumerators?.find((candidate) => BigInt.asUintN(size * 8, candidate.value) === BigInt.asUintN(size * 8, bits));
    const number = BigInt.asIntN(size * 8, bits);
    return enumerator !== undefined ? `${enumerator.name} (${number})` : number.toString();
  }
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
      return BigInt.asUintN(size * 8, bits).toString();
  }
}

/** Bits of `text` as a float of `size` bytes, when the text is a plain decimal number; else undefined. */
export function floatBits(text: string, size: number): bigint | undefined {
  if (!/^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)(e[-+]?[0-9]+)?f?\s*$/i.test(text)) return undefined;
  const number = Number(text.trim().replace(/f$/i, ''));
  const view = new DataView(new ArrayBuffer(8));
  if (size === 4) {
    view.setFloat32(0, number, true);
    return BigInt(view.getUint32(0, true));
  }
  view.setFloat64(0, number, true);
  return view.getBigUint64(0, true);
}

/**
 * Type names reachable from `variables` (their types, members, targets, elements), for casts
 * and sizeof: `struct task`, `enum state`, typedefs such as `u64`, base types such as `int`.
 * The first type of a name wins.
 */
export function typeIndex(variables: Iterable<VariableInfo>, into = new Map<string, TypeInfo>()): Map<string, TypeInfo> {
  const seen = new Set<TypeInfo>();
  const stack: TypeInfo[] = [];
  for (const variable of variables) if (variable.type !== undefined) stack.push(variable.type);
  while (stack.length > 0) {
    const type = stack.pop()!;
    if (seen.has(type)) continue;
    seen.add(type);
    if ((type.kind === 'struct' || type.kind === 'union' || type.kind === 'enum' || type.kind === 'typedef' || type.kind === 'base')
      && !type.name.includes('{') && !type.name.startsWith('<') && !into.has(type.name)) {
      into.set(type.name, type);
    }
    if (type.target !== undefined) stack.push(type.target);
    for (const member of type.members ?? []) stack.push(member.type);
  }
  return into;
}
