// Saved state of machine components, for snapshots: each component turns its state into a plain
// `StateValue` tree (saveState) and takes it back (restoreState) through a `StateReader`, which
// checks every field's type and range so that a damaged or foreign snapshot fails with an error
// naming the field instead of leaving a component half set. The tree has a compact binary
// encoding of its own (JSON cannot say Infinity, -0 or bytes without loss).

/** Plain data: numbers, strings, booleans, null, bytes, arrays and records of these. */
export type StateValue = number | string | boolean | null | Uint8Array | readonly StateValue[] | StateRecord;
export interface StateRecord { readonly [key: string]: StateValue }

/** JSON data, as some components keep their state. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonRecord = { [key: string]: JsonValue };

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

/** The bytes of a typed array, copied (little-endian, as every host Node runs on). */
export function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength).slice();
}

/** Reads one record of a saved state; every error names the field's path. */
export class StateReader {
  private readonly record: StateRecord;

  constructor(value: StateValue | undefined, readonly path: string) {
    if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
      throw new SnapshotError(`${path}: expected a record`);
    }
    this.record = value as StateRecord;
  }

  private field(key: string): StateValue {
    const value = this.record[key];
    if (value === undefined) throw new SnapshotError(`${this.path}.${key}: missing`);
    return value;
  }

  has(key: string): boolean {
    return this.record[key] !== undefined;
  }

  isNull(key: string): boolean {
    return this.field(key) === null;
  }

  number(key: string): number {
    const value = this.field(key);
    if (typeof value !== 'number' || Number.isNaN(value)) throw new SnapshotError(`${this.path}.${key}: expected a number`);
    return value;
  }

  /** An integer in [minimum, maximum]. */
  integer(key: string, minimum = Number.MIN_SAFE_INTEGER, maximum = Number.MAX_SAFE_INTEGER): number {
    const value = this.number(key);
    if (!Number.isInteger(value) || value < minimum || value > maximum) {
      throw new SnapshotError(`${this.path}.${key}: expected an integer from ${minimum} to ${maximum}, got ${value}`);
    }
    return value;
  }

  /** An integer in [minimum, maximum], or null. */
  nullableInteger(key: string, minimum = Number.MIN_SAFE_INTEGER, maximum = Number.MAX_SAFE_INTEGER): number | null {
    return this.field(key) === null ? null : this.integer(key, minimum, maximum);
  }

  int32(key: string): number {
    return this.integer(key, -0x8000_0000, 0x7fff_ffff);
  }

  uint32(key: string): number {
    return this.integer(key, 0, 0xffff_ffff);
  }

  /** A non-negative integer or Infinity (deadlines that are not set). */
  deadline(key: string): number {
    const value = this.number(key);
    if (value !== Infinity && (!Number.isInteger(value) || value < 0)) throw new SnapshotError(`${this.path}.${key}: expected a non-negative integer or Infinity, got ${value}`);
    return value;
  }

  /** A non-negative finite number (times in ns). */
  nonNegative(key: string): number {
    const value = this.number(key);
    if (!Number.isFinite(value) || value < 0) throw new SnapshotError(`${this.path}.${key}: expected a non-negative number, got ${value}`);
    return value;
  }

  boolean(key: string): boolean {
    const value = this.field(key);
    if (typeof value !== 'boolean') throw new SnapshotError(`${this.path}.${key}: expected true or false`);
    return value;
  }

  string(key: string): string {
    const value = this.field(key);
    if (typeof value !== 'string') throw new SnapshotError(`${this.path}.${key}: expected a string`);
    return value;
  }

  nullableString(key: string): string | null {
    return this.field(key) === null ? null : this.string(key);
  }

  /** A record of JSON values only (no bytes, finite numbers), as components that keep JSON state save. */
  jsonRecord(key: string): JsonRecord {
    const check = (value: StateValue, path: string, depth: number): void => {
      if (depth > MAXIMUM_DEPTH) throw new SnapshotError(`${path}: nested too deeply`);
      if (value instanceof Uint8Array || (typeof value === 'number' && !Number.isFinite(value))) throw new SnapshotError(`${path}: not a JSON value`);
      if (Array.isArray(value)) (value as readonly StateValue[]).forEach((item, index) => check(item, `${path}[${index}]`, depth + 1));
      else if (value !== null && typeof value === 'object') for (const [name, item] of Object.entries(value)) check(item, `${path}.${name}`, depth + 1);
    };
    this.child(key);
    const value = this.field(key);
    check(value, `${this.path}.${key}`, 0);
    return value as unknown as JsonRecord;
  }

  /** One of the given strings. */
  choice<T extends string>(key: string, choices: readonly T[]): T {
    const value = this.string(key);
    if (!(choices as readonly string[]).includes(value)) throw new SnapshotError(`${this.path}.${key}: expected ${choices.map((c) => `'${c}'`).join(' or ')}, got '${value}'`);
    return value as T;
  }

  bytes(key: string, length?: number, maximumLength = Infinity): Uint8Array {
    const value = this.field(key);
    if (!(value instanceof Uint8Array)) throw new SnapshotError(`${this.path}.${key}: expected bytes`);
    if (length !== undefined && value.length !== length) throw new SnapshotError(`${this.path}.${key}: expected ${length} bytes, got ${value.length}`);
    if (value.length > maximumLength) throw new SnapshotError(`${this.path}.${key}: at most ${maximumLength} bytes expected, got ${value.length}`);
    return value;
  }

  /** Copies saved bytes into a typed array of the same byte length. */
  into(key: string, target: ArrayBufferView): void {
    const bytes = this.bytes(key, target.byteLength);
    new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(bytes);
  }

  /** Checks a saved typed array's length without storing it (validation before anything is set). */
  check(key: string, target: ArrayBufferView): Uint8Array {
    return this.bytes(key, target.byteLength);
  }

  child(key: string): StateReader {
    return new StateReader(this.field(key), `${this.path}.${key}`);
  }

  /** An array's items; `length` checks the count. */
  array(key: string, length?: number, maximumLength = Infinity): readonly StateValue[] {
    const value = this.field(key);
    if (!Array.isArray(value)) throw new SnapshotError(`${this.path}.${key}: expected a list`);
    if (length !== undefined && value.length !== length) throw new SnapshotError(`${this.path}.${key}: expected ${length} items, got ${value.length}`);
    if (value.length > maximumLength) throw new SnapshotError(`${this.path}.${key}: at most ${maximumLength} items expected, got ${value.length}`);
    return value as readonly StateValue[];
  }

  /** Each item of a list of records. */
  records(key: string, length?: number, maximumLength = Infinity): StateReader[] {
    return this.array(key, length, maximumLength).map((item, index) => new StateReader(item, `${this.path}.${key}[${index}]`));
  }

  /** A list of integers in [minimum, maximum]. */
  integers(key: string, minimum: number, maximum: number, length?: number, maximumLength = Infinity): number[] {
    return this.array(key, length, maximumLength).map((item, index) => {
      if (typeof item !== 'number' || !Number.isInteger(item) || item < minimum || item > maximum) {
        throw new SnapshotError(`${this.path}.${key}[${index}]: expected an integer from ${minimum} to ${maximum}`);
      }
      return item;
    });
  }
}

// ---- binary encoding --------------------------------------------------------------------------

const enum Tag { Null = 0, False = 1, True = 2, Float64 = 3, String = 4, Bytes = 5, List = 6, Record = 7, Int32 = 8 }

/** Nesting deeper than this is not a state any component writes: refuse it rather than recurse without end. */
const MAXIMUM_DEPTH = 64;

/** Encodes a state tree. */
export function encodeState(value: StateValue): Uint8Array {
  const chunks: Uint8Array[] = [];
  const push = (bytes: Uint8Array): void => {
    chunks.push(bytes);
  };
  const head = (tag: Tag, length?: number): void => {
    const scratch = new DataView(new ArrayBuffer(length === undefined ? 1 : 5));
    scratch.setUint8(0, tag);
    if (length !== undefined) scratch.setUint32(1, length, true);
    push(new Uint8Array(scratch.buffer));
  };
  const encoder = new TextEncoder();
  const visit = (item: StateValue, depth: number): void => {
    if (depth > MAXIMUM_DEPTH) throw new SnapshotError('state nested too deeply');
    if (item === null) head(Tag.Null);
    else if (item === false) head(Tag.False);
    else if (item === true) head(Tag.True);
    else if (typeof item === 'number') {
      if (Number.isInteger(item) && item >= -0x8000_0000 && item <= 0x7fff_ffff && !Object.is(item, -0)) {
        const view = new DataView(new ArrayBuffer(5));
        view.setUint8(0, Tag.Int32);
        view.setInt32(1, item, true);
        push(new Uint8Array(view.buffer));
      } else {
        const view = new DataView(new ArrayBuffer(9));
        view.setUint8(0, Tag.Float64);
        view.setFloat64(1, item, true);
        push(new Uint8Array(view.buffer));
      }
    } else if (typeof item === 'string') {
      const bytes = encoder.encode(item);
      head(Tag.String, bytes.length);
      push(bytes);
    } else if (item instanceof Uint8Array) {
      head(Tag.Bytes, item.length);
      push(item);
    } else if (Array.isArray(item)) {
      head(Tag.List, item.length);
      for (const element of item as readonly StateValue[]) visit(element, depth + 1);
    } else {
      const entries = Object.entries(item as StateRecord).filter(([, v]) => v !== undefined);
      head(Tag.Record, entries.length);
      for (const [key, element] of entries) {
        const bytes = encoder.encode(key);
        head(Tag.String, bytes.length);
        push(bytes);
        visit(element, depth + 1);
      }
    }
  };
  visit(value, 0);
  return concatenate(chunks);
}

/** The parts one after the other in one array. */
export function concatenate(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Decodes a state tree; any malformation is a SnapshotError naming the byte offset. */
export function decodeState(bytes: Uint8Array, what = 'state'): StateValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  const need = (count: number): void => {
    if (at + count > bytes.length) throw new SnapshotError(`${what}: truncated at byte ${at} (needs ${count} more)`);
  };
  const length = (): number => {
    need(4);
    const value = view.getUint32(at, true);
    at += 4;
    return value;
  };
  const text = (): string => {
    const size = length();
    need(size);
    try {
      const value = decoder.decode(bytes.subarray(at, at + size));
      at += size;
      return value;
    } catch {
      throw new SnapshotError(`${what}: invalid UTF-8 at byte ${at}`);
    }
  };
  const visit = (depth: number): StateValue => {
    if (depth > MAXIMUM_DEPTH) throw new SnapshotError(`${what}: nested too deeply at byte ${at}`);
    need(1);
    const tag = bytes[at++];
    switch (tag) {
      case Tag.Null: return null;
      case Tag.False: return false;
      case Tag.True: return true;
      case Tag.Int32: {
        need(4);
        const value = view.getInt32(at, true);
        at += 4;
        return value;
      }
      case Tag.Float64: {
        need(8);
        const value = view.getFloat64(at, true);
        at += 8;
        return value;
      }
      case Tag.String: return text();
      case Tag.Bytes: {
        const size = length();
        need(size);
        const value = bytes.slice(at, at + size);
        at += size;
        return value;
      }
      case Tag.List: {
        const count = length();
        // Each item takes at least one byte: a count beyond what is left is a lie, not an allocation to make.
        need(count);
        const items: StateValue[] = [];
        for (let index = 0; index < count; index++) items.push(visit(depth + 1));
        return items;
      }
      case Tag.Record: {
        const count = length();
        need(count);
        const record: Record<string, StateValue> = {};
        for (let index = 0; index < count; index++) {
          need(1);
          if (bytes[at++] !== Tag.String) throw new SnapshotError(`${what}: record key expected at byte ${at - 1}`);
          const key = text();
          if (Object.prototype.hasOwnProperty.call(record, key)) throw new SnapshotError(`${what}: key '${key}' twice in one record`);
          // defineProperty: a key such as '__proto__' stays a plain field.
          Object.defineProperty(record, key, { value: visit(depth + 1), enumerable: true, writable: true, configurable: true });
        }
        return record;
      }
      default:
        throw new SnapshotError(`${what}: unknown value tag ${tag} at byte ${at - 1}`);
    }
  };
  const value = visit(0);
  if (at !== bytes.length) throw new SnapshotError(`${what}: ${bytes.length - at} stray bytes after the state`);
  return value;
}
