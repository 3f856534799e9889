// A small WebAssembly binary emitter for the translation-tier benchmark: just the module
// sections and opcodes that translated guest blocks need (one imported memory, functions of
// i32/i64 locals, integer arithmetic, loads/stores, block/loop/if). Written from the
// WebAssembly core specification's binary format; no toolchain is involved.

export const I32 = 0x7f;
export const I64 = 0x7e;
export const VOID_BLOCK = 0x40;

/** Opcodes by their text-format names (only the ones the generators use). */
export const Op = Object.freeze({
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, br_if: 0x0d, return: 0x0f, drop: 0x1a,
  'local.get': 0x20, 'local.set': 0x21, 'local.tee': 0x22,
  'i32.load': 0x28, 'i64.load': 0x29, 'i32.load8_u': 0x2d,
  'i64.load8_s': 0x30, 'i64.load8_u': 0x31, 'i64.load16_s': 0x32, 'i64.load16_u': 0x33,
  'i64.load32_s': 0x34, 'i64.load32_u': 0x35,
  'i32.store': 0x36, 'i64.store': 0x37, 'i64.store8': 0x3c, 'i64.store16': 0x3d, 'i64.store32': 0x3e,
  'i32.const': 0x41, 'i64.const': 0x42,
  'i32.eqz': 0x45, 'i32.lt_u': 0x49, 'i32.ne': 0x47,
  'i64.eqz': 0x50, 'i64.eq': 0x51, 'i64.ne': 0x52, 'i64.lt_s': 0x53, 'i64.lt_u': 0x54,
  'i64.gt_s': 0x55, 'i64.gt_u': 0x56, 'i64.le_s': 0x57, 'i64.le_u': 0x58, 'i64.ge_s': 0x59, 'i64.ge_u': 0x5a,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.shl': 0x74, 'i32.shr_s': 0x75, 'i32.shr_u': 0x76,
  'i64.add': 0x7c, 'i64.sub': 0x7d, 'i64.mul': 0x7e, 'i64.and': 0x83, 'i64.or': 0x84, 'i64.xor': 0x85,
  'i64.shl': 0x86, 'i64.shr_s': 0x87, 'i64.shr_u': 0x88,
  'i32.wrap_i64': 0xa7, 'i64.extend_i32_s': 0xac, 'i64.extend_i32_u': 0xad,
});

export function unsignedLeb(value) {
  const out = [];
  let v = BigInt(value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

/** Signed LEB128 of an integer (BigInt inside: this runs at compile time, never per guest instruction). */
export function signedLeb(value) {
  const out = [];
  let v = BigInt(value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(text) {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vector(items) {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id, content) {
  return [id, ...unsignedLeb(content.length), ...content];
}

/** Builds one function body: `emit(name, ...immediates)` appends an instruction. */
export class FunctionBuilder {
  constructor() {
    this.code = [];
  }

  emit(opcode, ...immediates) {
    const byte = Op[opcode];
    if (byte === undefined) throw new Error(`wasm emitter: opcode ${opcode} not implemented`);
    this.code.push(byte, ...immediates.flat());
    return this;
  }

  i32Const(value) { return this.emit('i32.const', signedLeb(value)); }
  i64Const(value) { return this.emit('i64.const', signedLeb(value)); }
  localGet(index) { return this.emit('local.get', unsignedLeb(index)); }
  localSet(index) { return this.emit('local.set', unsignedLeb(index)); }
  localTee(index) { return this.emit('local.tee', unsignedLeb(index)); }
  /** A load or store with its memarg: alignment exponent and constant offset. */
  memory(opcode, alignment, offset) { return this.emit(opcode, unsignedLeb(alignment), unsignedLeb(offset)); }
}

/**
 * A module importing one memory (`env.memory`, shared when `maximumPages` is given) and
 * exporting functions. `functions`: { name, parameters: [types], results: [types], locals: [types], body: FunctionBuilder }.
 */
export function encodeModule({ memoryPages, maximumPages, shared, functions }) {
  const types = functions.map((f) => [0x60, ...vector(f.parameters.map((t) => [t])), ...vector(f.results.map((t) => [t]))]);
  const limits = shared ? [0x03, ...unsignedLeb(memoryPages), ...unsignedLeb(maximumPages)] : [0x00, ...unsignedLeb(memoryPages)];
  const imports = [[...name('env'), ...name('memory'), 0x02, ...limits]];
  const exports = functions.map((f, index) => [...name(f.name), 0x00, ...unsignedLeb(index)]);
  const bodies = functions.map((f) => {
    const localGroups = f.locals.map((t) => [1, t]);
    const body = [...vector(localGroups), ...f.body.code, Op.end];
    return [...unsignedLeb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, vector(imports)),
    ...section(3, vector(functions.map((_, index) => unsignedLeb(index)))),
    ...section(7, vector(exports)),
    ...section(10, vector(bodies)),
  ]);
}
