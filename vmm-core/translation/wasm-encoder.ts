// A small WebAssembly binary emitter for the translation tier: the module sections and the
// opcodes translated guest code needs (one imported shared memory, functions over i32/i64
// locals, integer arithmetic, loads and stores, structured control flow with named labels).
// Written from the WebAssembly core specification's binary format. It runs when a region is
// compiled, never per guest instruction.

export const enum ValueType {
  I32 = 0x7f,
  I64 = 0x7e,
}

/** Block type of a structured instruction without a result. */
const VOID_BLOCK = 0x40;

/** Opcodes by their text-format names. */
const OPCODES = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, br_if: 0x0d, br_table: 0x0e, return: 0x0f, call: 0x10, call_indirect: 0x11, drop: 0x1a, select: 0x1b,
  'local.get': 0x20, 'local.set': 0x21, 'local.tee': 0x22,
  'i32.load': 0x28, 'i64.load': 0x29, 'i32.load16_u': 0x2f,
  'i64.load8_s': 0x30, 'i64.load8_u': 0x31, 'i64.load16_s': 0x32, 'i64.load16_u': 0x33,
  'i64.load32_s': 0x34, 'i64.load32_u': 0x35,
  'i32.store': 0x36, 'i64.store': 0x37, 'i32.store16': 0x3b, 'i64.store8': 0x3c, 'i64.store16': 0x3d, 'i64.store32': 0x3e,
  'i32.const': 0x41, 'i64.const': 0x42,
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49, 'i32.gt_u': 0x4b, 'i32.ge_u': 0x4f,
  'i64.eqz': 0x50, 'i64.eq': 0x51, 'i64.ne': 0x52, 'i64.lt_s': 0x53, 'i64.lt_u': 0x54,
  'i64.gt_s': 0x55, 'i64.gt_u': 0x56, 'i64.le_s': 0x57, 'i64.le_u': 0x58, 'i64.ge_s': 0x59, 'i64.ge_u': 0x5a,
  'i32.clz': 0x67, 'i32.ctz': 0x68, 'i32.popcnt': 0x69,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.div_s': 0x6d, 'i32.div_u': 0x6e,
  'i32.rem_s': 0x6f, 'i32.rem_u': 0x70, 'i32.and': 0x71, 'i32.or': 0x72, 'i32.xor': 0x73,
  'i32.shl': 0x74, 'i32.shr_s': 0x75, 'i32.shr_u': 0x76, 'i32.rotl': 0x77, 'i32.rotr': 0x78,
  'i64.clz': 0x79, 'i64.ctz': 0x7a, 'i64.popcnt': 0x7b,
  'i64.add': 0x7c, 'i64.sub': 0x7d, 'i64.mul': 0x7e, 'i64.div_s': 0x7f, 'i64.div_u': 0x80,
  'i64.rem_s': 0x81, 'i64.rem_u': 0x82, 'i64.and': 0x83, 'i64.or': 0x84, 'i64.xor': 0x85,
  'i64.shl': 0x86, 'i64.shr_s': 0x87, 'i64.shr_u': 0x88, 'i64.rotl': 0x89, 'i64.rotr': 0x8a,
  'i32.wrap_i64': 0xa7, 'i64.extend_i32_s': 0xac, 'i64.extend_i32_u': 0xad,
  'i64.extend8_s': 0xc2, 'i64.extend16_s': 0xc3, 'i64.extend32_s': 0xc4,
} as const;

export type Opcode = keyof typeof OPCODES;
/** The same as a Map: faster to look up than an object with a hundred dotted keys. */
const OPCODE_BYTES = new Map<string, number>(Object.entries(OPCODES));
export type MemoryOpcode =
  | 'i32.load' | 'i64.load' | 'i32.load16_u' | 'i64.load8_s' | 'i64.load8_u' | 'i64.load16_s' | 'i64.load16_u' | 'i64.load32_s' | 'i64.load32_u'
  | 'i32.store' | 'i64.store' | 'i32.store16' | 'i64.store8' | 'i64.store16' | 'i64.store32';

/** A growable byte buffer (function builders may share one, writing one after another). */
export class ByteWriter {
  private bytes: Uint8Array;
  length = 0;

  /** `capacity`: the bytes expected (growing copies). */
  constructor(capacity = 256) {
    this.bytes = new Uint8Array(capacity);
  }

  byte(value: number): void {
    if (this.length === this.bytes.length) this.grow(1);
    this.bytes[this.length++] = value;
  }

  append(data: Uint8Array): void {
    if (this.length + data.length > this.bytes.length) this.grow(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  private grow(atLeast: number): void {
    const larger = new Uint8Array(Math.max(this.bytes.length * 2, this.length + atLeast));
    larger.set(this.bytes);
    this.bytes = larger;
  }

  unsigned(value: number): void {
    let v = value >>> 0;
    do {
      const low = v & 0x7f;
      v >>>= 7;
      this.byte(v !== 0 ? low | 0x80 : low);
    } while (v !== 0);
  }

  signed32(value: number): void {
    let v = value | 0;
    for (;;) {
      const low = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (low & 0x40) === 0) || (v === -1 && (low & 0x40) !== 0);
      this.byte(done ? low : low | 0x80);
      if (done) return;
    }
  }

  /** Signed LEB128 of the 64-bit value hi:lo (two int32 words). */
  signed64(lo: number, hi: number): void {
    let low = lo | 0;
    let high = hi | 0;
    for (;;) {
      const bits = low & 0x7f;
      // Arithmetic shift of the 64-bit pair right by 7.
      low = (low >>> 7) | (high << 25);
      high >>= 7;
      const done = (high === 0 && low === 0 && (bits & 0x40) === 0) || (high === -1 && low === -1 && (bits & 0x40) !== 0);
      this.byte(done ? bits : bits | 0x80);
      if (done) return;
    }
  }

  view(start = 0, end = this.length): Uint8Array {
    return this.bytes.subarray(start, end);
  }
}

/**
 * One function body. Structured instructions take a label name; `branch` and friends find
 * the label's depth, so generators never count nesting by hand.
 */
export class FunctionBuilder {
  /** Where this function's code starts and ends (-1 until finished) in `code`. */
  private readonly start: number;
  private finishedAt = -1;

  /**
   * `code`: a buffer shared with the builders of the module's other functions, built one after
   * another (allocating a buffer per function is what generating a small region cost most).
   */
  constructor(private readonly code = new ByteWriter()) {
    this.start = code.length;
  }
  /** Open labels, innermost last, and where each name is open (a name may be open more than once). */
  private readonly labels: string[] = [];
  private readonly positions = new Map<string, number[]>();

  op(opcode: Opcode): this {
    this.code.byte(OPCODE_BYTES.get(opcode)!);
    return this;
  }

  i32(value: number): this {
    this.code.byte(OPCODES['i32.const']);
    this.code.signed32(value);
    return this;
  }

  /** i64.const of hi:lo. */
  i64(lo: number, hi: number): this {
    this.code.byte(OPCODES['i64.const']);
    this.code.signed64(lo, hi);
    return this;
  }

  /** i64.const of a value that fits in a double exactly (|value| < 2^53). */
  i64Number(value: number): this {
    const lo = value | 0;
    const hi = Math.floor(value / 4294967296) | 0;
    return this.i64(lo, hi);
  }

  get(local: number): this {
    this.code.byte(OPCODES['local.get']);
    this.code.unsigned(local);
    return this;
  }

  set(local: number): this {
    this.code.byte(OPCODES['local.set']);
    this.code.unsigned(local);
    return this;
  }

  tee(local: number): this {
    this.code.byte(OPCODES['local.tee']);
    this.code.unsigned(local);
    return this;
  }

  /** A load or store with its alignment exponent (a hint) and constant offset. */
  memory(opcode: MemoryOpcode, offset: number, alignment = 0): this {
    this.code.byte(OPCODE_BYTES.get(opcode)!);
    this.code.unsigned(alignment);
    this.code.unsigned(offset);
    return this;
  }

  call(functionIndex: number): this {
    this.code.byte(OPCODES.call);
    this.code.unsigned(functionIndex);
    return this;
  }

  /** call_indirect through table 0 with the function type `typeIndex`. */
  callIndirect(typeIndex: number): this {
    this.code.byte(OPCODES.call_indirect);
    this.code.unsigned(typeIndex);
    this.code.byte(0x00);
    return this;
  }

  block(label: string, result?: ValueType): this {
    return this.open('block', label, result);
  }

  loop(label: string): this {
    return this.open('loop', label);
  }

  /** `if` consuming an i32 condition; `result` makes it an expression with an else arm. */
  if(label: string, result?: ValueType): this {
    return this.open('if', label, result);
  }

  else(): this {
    this.code.byte(OPCODES.else);
    return this;
  }

  end(): this {
    const label = this.labels.pop();
    if (label === undefined) throw new Error('wasm emitter: end without an open block');
    this.positions.get(label)!.pop();
    this.code.byte(OPCODES.end);
    return this;
  }

  branch(label: string): this {
    this.code.byte(OPCODES.br);
    this.code.unsigned(this.depthOf(label));
    return this;
  }

  branchIf(label: string): this {
    this.code.byte(OPCODES.br_if);
    this.code.unsigned(this.depthOf(label));
    return this;
  }

  branchTable(targets: readonly string[], defaultLabel: string): this {
    this.code.byte(OPCODES.br_table);
    this.code.unsigned(targets.length);
    for (const target of targets) this.code.unsigned(this.depthOf(target));
    this.code.unsigned(this.depthOf(defaultLabel));
    return this;
  }

  /** Nesting depth of the innermost open label `label` (0 = innermost block). */
  depthOf(label: string): number {
    const open = this.positions.get(label);
    if (open === undefined || open.length === 0) throw new Error(`wasm emitter: no open label ${label}`);
    return this.labels.length - 1 - open[open.length - 1];
  }

  /** Bytes emitted so far. */
  get length(): number {
    return (this.finishedAt < 0 ? this.code.length : this.finishedAt) - this.start;
  }

  get openLabels(): number {
    return this.labels.length;
  }

  bytes(): Uint8Array {
    if (this.labels.length !== 0) throw new Error(`wasm emitter: ${this.labels.length} blocks left open`);
    return this.code.view(this.start, this.finishedAt < 0 ? this.code.length : this.finishedAt);
  }

  /** Ends this function's code: the next builder sharing the buffer writes after it. */
  finish(): this {
    this.finishedAt = this.code.length;
    return this;
  }

  private open(kind: 'block' | 'loop' | 'if', label: string, result?: ValueType): this {
    this.code.byte(OPCODES[kind]);
    this.code.byte(result ?? VOID_BLOCK);
    let open = this.positions.get(label);
    if (open === undefined) this.positions.set(label, (open = []));
    open.push(this.labels.length);
    this.labels.push(label);
    return this;
  }
}

export interface FunctionDefinition {
  readonly parameters: readonly ValueType[];
  readonly results: readonly ValueType[];
  readonly locals: readonly ValueType[];
  /** The code, in parts concatenated in order (a prologue written after the body, say). */
  readonly body: readonly FunctionBuilder[];
  /** Exported under this name when given. */
  readonly exportName?: string;
}

export interface FunctionType {
  readonly parameters: readonly ValueType[];
  readonly results: readonly ValueType[];
}

export interface ModuleOptions {
  /** Also import a function table (`env.table`, initial size `tableSize`, growable) for call_indirect. */
  readonly tableSize?: number;
  /** Types appended after the functions' own (function i has type i), for call_indirect. */
  readonly extraTypes?: readonly FunctionType[];
  /**
   * The imported memory's limits, when not exactly `pages`: a module that takes every memory
   * from `minimumPages` up to `maximumPages` can be compiled once for all machines.
   */
  readonly memoryLimits?: { readonly minimumPages: number; readonly maximumPages: number };
  /**
   * Functions imported from `env` (JavaScript): they take the first function indices, so the
   * module's own functions start at `functionImports.length`.
   */
  readonly functionImports?: ReadonlyArray<{ readonly name: string; readonly type: FunctionType }>;
}

/**
 * A module importing one shared memory (`env.memory`, `pages` 64 KiB pages, initial = maximum)
 * with the given functions (each its own type).
 */
export function encodeModule(pages: number, functions: readonly FunctionDefinition[], options: ModuleOptions = {}): Uint8Array {
  const codeLength = (definition: FunctionDefinition): number => definition.body.reduce((total, part) => total + part.length, 0);
  const out = new ByteWriter(functions.reduce((total, definition) => total + codeLength(definition) + 96, 1024));
  out.append(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00));
  const imports = options.functionImports ?? [];

  const section = (id: number, write: (content: ByteWriter) => void, capacity?: number): void => {
    const content = new ByteWriter(capacity);
    write(content);
    out.byte(id);
    out.unsigned(content.length);
    out.append(content.view());
  };
  const name = (content: ByteWriter, text: string): void => {
    content.unsigned(text.length);
    for (let i = 0; i < text.length; i++) content.byte(text.charCodeAt(i));
  };

  section(1, (content) => {
    const types: readonly FunctionType[] = [...functions, ...(options.extraTypes ?? []), ...imports.map((entry) => entry.type)];
    content.unsigned(types.length);
    for (const definition of types) {
      content.byte(0x60);
      content.unsigned(definition.parameters.length);
      for (const type of definition.parameters) content.byte(type);
      content.unsigned(definition.results.length);
      for (const type of definition.results) content.byte(type);
    }
  });
  section(2, (content) => {
    content.unsigned((options.tableSize !== undefined ? 2 : 1) + imports.length);
    imports.forEach((entry, index) => {
      name(content, 'env');
      name(content, entry.name);
      content.byte(0x00);
      content.unsigned(functions.length + (options.extraTypes?.length ?? 0) + index);
    });
    name(content, 'env');
    name(content, 'memory');
    content.byte(0x02);
    content.byte(0x03); // shared, with a maximum
    content.unsigned(options.memoryLimits?.minimumPages ?? pages);
    content.unsigned(options.memoryLimits?.maximumPages ?? pages);
    if (options.tableSize !== undefined) {
      name(content, 'env');
      name(content, 'table');
      content.byte(0x01);
      content.byte(0x70); // funcref
      content.byte(0x00); // no maximum
      content.unsigned(options.tableSize);
    }
  });
  section(3, (content) => {
    content.unsigned(functions.length);
    for (let i = 0; i < functions.length; i++) content.unsigned(i);
  });
  const exported = functions.map((definition, index) => ({ definition, index })).filter((f) => f.definition.exportName !== undefined);
  section(7, (content) => {
    content.unsigned(exported.length);
    for (const { definition, index } of exported) {
      name(content, definition.exportName!);
      content.byte(0x00);
      content.unsigned(imports.length + index);
    }
  });
  const codeBytes = functions.reduce((total, definition) => total + codeLength(definition) + 64, 16);
  section(10, (content) => {
    content.unsigned(functions.length);
    const header = new ByteWriter(64);
    for (const definition of functions) {
      // Consecutive locals of one type share a group.
      const locals = definition.locals;
      let groups = 0;
      for (let local = 0; local < locals.length; local++) if (local === 0 || locals[local] !== locals[local - 1]) groups++;
      header.length = 0;
      header.unsigned(groups);
      for (let local = 0; local < locals.length;) {
        const type = locals[local];
        let count = 0;
        while (local < locals.length && locals[local] === type) { count++; local++; }
        header.unsigned(count);
        header.byte(type);
      }
      content.unsigned(header.length + codeLength(definition) + 1);
      content.append(header.view());
      for (const part of definition.body) content.append(part.bytes());
      content.byte(OPCODES.end);
    }
  }, codeBytes);
  return out.view().slice();
}
