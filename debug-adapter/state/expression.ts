// A small C-like expression language for DAP `evaluate`, watches, breakpoint conditions and
// exception-filter conditions. Integers only, computed in 64 bits with wrap-around:
//
//   literals     42  0x80200000  0b101  0o17  'a'  '\n'  (suffixes u, l, ul, ull accepted)
//   names        a0 x10 fp pc, $a0 $pc, mstatus $mstatus, kernel symbols (their address),
//                context extras such as cause, tval, epc, hart in exception-filter conditions
//   unary        - + ~ ! * &   and  phys:expr  (memory reads inside use physical addresses)
//   binary       * / %  + -  << >>  < <= > >=  == !=  &  ^  |  &&  ||   (C precedence)
//   conditional  c ? a : b
//   casts        (u8) (i32) (uint64_t) (unsigned long) (u32*) (u64**) (char*) ...
//
// Names resolve as context extras, then registers, then CSRs, then symbols; `$name` never
// resolves to a symbol. Integer values promote to 64 bits before arithmetic (i64 unless an
// operand is u64); pointer arithmetic scales by the element size, as in C. Dereferencing a
// plain integer reads a u64 (so `*sp` works). A symbol evaluates to its address.

export type ScalarType = 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64';
/** A scalar, or a pointer to one (`u32*`, `u64**`). */
export type ExpressionType = ScalarType | `${ScalarType}*${string}`;

export interface TypeShape {
  readonly base: ScalarType;
  /** Levels of indirection: 0 for a scalar. */
  readonly pointer: number;
}

export type UnaryOperator = '-' | '+' | '~' | '!' | '*' | '&';
export type BinaryOperator =
  | '*' | '/' | '%' | '+' | '-' | '<<' | '>>' | '<' | '<=' | '>' | '>=' | '==' | '!=' | '&' | '^' | '|' | '&&' | '||';

/** A parsed expression. `position` is the offset of the node's first character in the text. */
export type ExpressionNode =
  | { readonly kind: 'number'; readonly value: bigint; readonly type: ScalarType; readonly position: number }
  | { readonly kind: 'name'; readonly name: string; readonly sigil: boolean; readonly position: number }
  | { readonly kind: 'unary'; readonly operator: UnaryOperator; readonly operand: ExpressionNode; readonly position: number }
  | {
    readonly kind: 'binary'; readonly operator: BinaryOperator; readonly left: ExpressionNode; readonly right: ExpressionNode;
    readonly position: number;
  }
  | {
    readonly kind: 'conditional'; readonly condition: ExpressionNode; readonly whenTrue: ExpressionNode;
    readonly whenFalse: ExpressionNode; readonly position: number;
  }
  | { readonly kind: 'cast'; readonly target: TypeShape; readonly operand: ExpressionNode; readonly position: number }
  | { readonly kind: 'physical'; readonly operand: ExpressionNode; readonly position: number };

/** A syntax or evaluation error, with the offset in the expression text it refers to. */
export class ExpressionError extends Error {
  override name = 'ExpressionError';

  constructor(
    readonly detail: string,
    /** Offset in the expression text (0-based). */
    readonly position: number,
  ) {
    super(`${detail} (at column ${position + 1})`);
  }
}

export interface ExpressionContext {
  /** Integer register or pc by name as typed (a0, x10, fp, pc); undefined when not a register. */
  register(name: string): bigint | undefined;
  /** Little-endian bytes, or undefined when the memory cannot be read. */
  readMemory(address: bigint, size: number, physical: boolean): Uint8Array | undefined;
  /** Address of a symbol, or undefined. */
  symbol(name: string): bigint | undefined;
  /** CSR value by name (mstatus, satp), or undefined. */
  csr(name: string): bigint | undefined;
  /** Names supplied by the caller, looked up first (cause, tval, epc, hart in exception-filter conditions). */
  extra?(name: string): bigint | undefined;
}

export interface ExpressionValue {
  /** The value in its type's range: negative for a negative signed value. */
  readonly value: bigint;
  readonly type: ExpressionType;
  /** Where the value lives in memory (dereferences and symbols), for memory references and data breakpoints. */
  readonly address?: bigint;
  /** The address (or, for a pointer, the memory it points to) is physical. */
  readonly physical?: boolean;
}

// ---- types --------------------------------------------------------------------------------------

const SCALAR_SIZE: Record<ScalarType, number> = { u8: 1, u16: 2, u32: 4, u64: 8, i8: 1, i16: 2, i32: 4, i64: 8 };
const isSigned = (type: ScalarType): boolean => type[0] === 'i';

/** One-word type names. RISC-V's plain char is unsigned. */
const SINGLE_WORD_TYPES: Readonly<Record<string, ScalarType>> = {
  u8: 'u8', u16: 'u16', u32: 'u32', u64: 'u64', i8: 'i8', i16: 'i16', i32: 'i32', i64: 'i64',
  uint8_t: 'u8', uint16_t: 'u16', uint32_t: 'u32', uint64_t: 'u64', int8_t: 'i8', int16_t: 'i16', int32_t: 'i32', int64_t: 'i64',
  size_t: 'u64', ssize_t: 'i64', uintptr_t: 'u64', intptr_t: 'i64', ptrdiff_t: 'i64', void: 'u8',
};
/** Words that combine into C type names (unsigned long long, signed char, short int ...). */
const C_TYPE_WORDS = new Set(['signed', 'unsigned', 'char', 'short', 'int', 'long']);

function cTypeFromWords(words: readonly string[]): ScalarType | undefined {
  if (words.length === 1 && SINGLE_WORD_TYPES[words[0]] !== undefined) return SINGLE_WORD_TYPES[words[0]];
  if (!words.every((word) => C_TYPE_WORDS.has(word))) return undefined;
  const count = (word: string) => words.filter((w) => w === word).length;
  const signedness = count('unsigned') > 0 ? 'u' : count('signed') > 0 ? 'i' : undefined;
  if (count('unsigned') + count('signed') > 1 || count('char') + count('short') > 1) return undefined;
  if (count('char') === 1) return count('int') + count('long') > 0 ? undefined : signedness === 'i' ? 'i8' : 'u8';
  if (count('long') > 2 || (count('short') === 1 && count('long') > 0) || count('int') > 1) return undefined;
  const bits = count('short') === 1 ? 16 : count('long') > 0 ? 64 : 32;
  return `${signedness ?? 'i'}${bits}` as ScalarType;
}

/** The display name of a type shape: u32, u64*, i8**. */
export function typeName(shape: TypeShape): ExpressionType {
  return `${shape.base}${'*'.repeat(shape.pointer)}` as ExpressionType;
}

/** Size in bytes of a value of this shape (pointers are 8). */
export function typeSize(shape: TypeShape): number {
  return shape.pointer > 0 ? 8 : SCALAR_SIZE[shape.base];
}

function normalize(value: bigint, shape: TypeShape): bigint {
  if (shape.pointer > 0) return BigInt.asUintN(64, value);
  const bits = SCALAR_SIZE[shape.base] * 8;
  return isSigned(shape.base) ? BigInt.asIntN(bits, value) : BigInt.asUintN(bits, value);
}

// ---- lexer --------------------------------------------------------------------------------------

type TokenKind = 'number' | 'name' | 'operator' | 'physical' | 'end';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly position: number;
  /** number tokens: value and type. */
  readonly value?: bigint;
  readonly type?: ScalarType;
}

const OPERATORS = ['<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '<', '>', '(', ')', '?', ':'];
const MAX_U64 = (1n << 64n) - 1n;
const MAX_I64 = (1n << 63n) - 1n;

const ESCAPES: Readonly<Record<string, number>> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, e: 27 };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const character = text[index];
    if (/\s/.test(character)) {
      index++;
      continue;
    }
    const start = index;
    if (/[0-9]/.test(character)) {
      const match = /^(0x[0-9a-f_]*|0b[01_]*|0o[0-7_]*|[0-9][0-9_]*)([a-z_0-9.]*)/i.exec(text.slice(index))!;
      const [whole, digits, suffix] = match;
      if (!/^(u|l|ul|lu|ll|ull|llu)?$/i.test(suffix)) {
        throw new ExpressionError(suffix.startsWith('.') ? 'floating-point numbers are not supported' : `malformed number '${whole}'`, start);
      }
      const clean = digits.replace(/_/g, '');
      if (/^0[xbo]$/i.test(clean)) throw new ExpressionError(`malformed number '${whole}'`, start);
      const value = BigInt(clean.toLowerCase());
      if (value > MAX_U64) throw new ExpressionError(`${whole} does not fit in 64 bits`, start);
      const type: ScalarType = /u/i.test(suffix) || value > MAX_I64 ? 'u64' : 'i64';
      tokens.push({ kind: 'number', text: whole, position: start, value, type });
      index += whole.length;
      continue;
    }
    if (character === "'") {
      const { value, length } = readCharacter(text, index);
      tokens.push({ kind: 'number', text: text.slice(index, index + length), position: start, value, type: 'i64' });
      index += length;
      continue;
    }
    if (/[A-Za-z_$]/.test(character)) {
      const match = /^\$?[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(index));
      if (match === null) throw new ExpressionError("'$' must be followed by a register or CSR name", start);
      const name = match[0];
      // `phys:` (no space before the colon) marks a physical-memory operand.
      if (name === 'phys' && text[index + name.length] === ':') {
        tokens.push({ kind: 'physical', text: 'phys:', position: start });
        index += name.length + 1;
        continue;
      }
      tokens.push({ kind: 'name', text: name, position: start });
      index += name.length;
      continue;
    }
    const operator = OPERATORS.find((candidate) => text.startsWith(candidate, index));
    if (operator === undefined) {
      const hint = character === '[' ? ' (use *(type*)(address) to read memory)' : character === '=' ? ' (use == to compare)' : '';
      throw new ExpressionError(`unexpected character '${character}'${hint}`, start);
    }
    tokens.push({ kind: 'operator', text: operator, position: start });
    index += operator.length;
  }
  tokens.push({ kind: 'end', text: '', position: text.length });
  return tokens;
}

function readCharacter(text: string, start: number): { value: bigint; length: number } {
  let index = start + 1;
  let value: number;
  if (text[index] === '\\') {
    const escape = text[index + 1];
    if (escape === 'x') {
      const hex = /^[0-9a-f]{1,2}/i.exec(text.slice(index + 2));
      if (hex === null) throw new ExpressionError('\\x needs hex digits', index);
      value = parseInt(hex[0], 16);
      index += 2 + hex[0].length;
    } else if (escape !== undefined && /[0-7]/.test(escape)) {
      const octal = /^[0-7]{1,3}/.exec(text.slice(index + 1))![0];
      value = parseInt(octal, 8) & 0xff;
      index += 1 + octal.length;
    } else if (escape !== undefined && ESCAPES[escape] !== undefined) {
      value = ESCAPES[escape];
      index += 2;
    } else {
      throw new ExpressionError(`unknown escape '\\${escape ?? ''}'`, index);
    }
  } else {
    if (index >= text.length || text[index] === "'") throw new ExpressionError('empty character literal', start);
    const codePoint = text.codePointAt(index)!;
    if (codePoint > 0x7f) throw new ExpressionError('only ASCII character literals are supported', start);
    value = codePoint;
    index += 1;
  }
  if (text[index] !== "'") throw new ExpressionError("unterminated character literal (expected ')", start);
  return { value: BigInt(value), length: index + 1 - start };
}

// ---- parser -------------------------------------------------------------------------------------

/** Binary operators by precedence level, loosest first (C's table without assignment and comma). */
const BINARY_LEVELS: readonly (readonly BinaryOperator[])[] = [
  ['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%'],
];

class Parser {
  private index = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  private get current(): Token {
    return this.tokens[this.index];
  }

  private peek(offset: number): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)];
  }

  private isOperator(text: string, token = this.current): boolean {
    return token.kind === 'operator' && token.text === text;
  }

  private expectOperator(text: string): Token {
    const token = this.current;
    if (!this.isOperator(text)) throw new ExpressionError(`expected '${text}'${describeFound(token)}`, token.position);
    this.index++;
    return token;
  }

  parseAll(): ExpressionNode {
    if (this.current.kind === 'end') throw new ExpressionError('empty expression', 0);
    const node = this.parseConditional();
    const rest = this.tokens[this.index];
    if (rest.kind !== 'end') throw new ExpressionError(`unexpected '${rest.text}' after the expression`, rest.position);
    return node;
  }

  private parseConditional(): ExpressionNode {
    const condition = this.parseBinary(0);
    if (!this.isOperator('?')) return condition;
    this.index++;
    const whenTrue = this.parseConditional();
    this.expectOperator(':');
    const whenFalse = this.parseConditional();
    return { kind: 'conditional', condition, whenTrue, whenFalse, position: condition.position };
  }

  private parseBinary(level: number): ExpressionNode {
    if (level === BINARY_LEVELS.length) return this.parseUnary();
    let left = this.parseBinary(level + 1);
    for (;;) {
      const token = this.current;
      const operator = BINARY_LEVELS[level].find((candidate) => this.isOperator(candidate, token));
      if (operator === undefined) return left;
      this.index++;
      const right = this.parseBinary(level + 1);
      left = { kind: 'binary', operator, left, right, position: token.position };
    }
  }

  private parseUnary(): ExpressionNode {
    const token = this.current;
    if (token.kind === 'physical') {
      this.index++;
      return { kind: 'physical', operand: this.parseUnary(), position: token.position };
    }
    if (token.kind === 'operator' && ['-', '+', '~', '!', '*', '&'].includes(token.text)) {
      this.index++;
      return { kind: 'unary', operator: token.text as UnaryOperator, operand: this.parseUnary(), position: token.position };
    }
    if (this.isOperator('(')) {
      const cast = this.tryCast();
      if (cast !== undefined) return cast;
    }
    return this.parsePrimary();
  }

  /** `(type *...)` followed by a unary expression, or undefined when the parenthesis is not a cast. */
  private tryCast(): ExpressionNode | undefined {
    const open = this.current;
    const first = this.peek(1);
    if (first.kind !== 'name') return undefined;
    // The type is one stdint-style word or a run of C type words (unsigned long long).
    const words: Token[] = [first];
    if (SINGLE_WORD_TYPES[first.text] === undefined) {
      if (!C_TYPE_WORDS.has(first.text)) {
        // `(name*)` can only be a cast: say which type is unknown rather than fail at ')'.
        let stars = 0;
        while (this.isOperator('*', this.peek(2 + stars))) stars++;
        if (stars > 0 && this.isOperator(')', this.peek(2 + stars))) throw new ExpressionError(`unknown type '${first.text}'`, first.position);
        return undefined;
      }
      while (this.peek(1 + words.length).kind === 'name' && C_TYPE_WORDS.has(this.peek(1 + words.length).text)) {
        words.push(this.peek(1 + words.length));
      }
    }
    const base = cTypeFromWords(words.map((word) => word.text));
    if (base === undefined) throw new ExpressionError(`unknown type '${words.map((word) => word.text).join(' ')}'`, first.position);
    let offset = 1 + words.length;
    let pointer = 0;
    while (this.isOperator('*', this.peek(offset))) {
      pointer++;
      offset++;
    }
    const close = this.peek(offset);
    if (!this.isOperator(')', close)) {
      throw new ExpressionError(`expected ')' to close the cast to ${base}${'*'.repeat(pointer)}${describeFound(close)}`, close.position);
    }
    if (first.text === 'void' && pointer === 0) throw new ExpressionError('cannot cast to void', first.position);
    this.index += offset + 1;
    const operand = this.parseUnary();
    return { kind: 'cast', target: { base, pointer }, operand, position: open.position };
  }

  private parsePrimary(): ExpressionNode {
    const token = this.current;
    if (token.kind === 'number') {
      this.index++;
      return { kind: 'number', value: token.value!, type: token.type!, position: token.position };
    }
    if (token.kind === 'name') {
      this.index++;
      const sigil = token.text.startsWith('$');
      return { kind: 'name', name: sigil ? token.text.slice(1) : token.text, sigil, position: token.position };
    }
    if (this.isOperator('(')) {
      this.index++;
      const inner = this.parseConditional();
      this.expectOperator(')');
      return inner;
    }
    throw new ExpressionError(`expected a value${describeFound(token)}`, token.position);
  }
}

function describeFound(token: Token): string {
  return token.kind === 'end' ? ' but the expression ended' : ` but found '${token.text}'`;
}

/** Parses an expression; throws ExpressionError (with the offending position) for bad syntax. */
export function parseExpression(text: string): ExpressionNode {
  return new Parser(tokenize(text)).parseAll();
}

// ---- evaluation ---------------------------------------------------------------------------------

interface Value {
  value: bigint;
  shape: TypeShape;
  address?: bigint;
  /** Memory reads through this value (as a pointer) or at its address are physical. */
  physical: boolean;
  /** Can `&` be applied: the value was read from memory or is a symbol's location. */
  addressable: boolean;
}

const I64: TypeShape = { base: 'i64', pointer: 0 };
const U64: TypeShape = { base: 'u64', pointer: 0 };

const scalar = (value: bigint, shape: TypeShape, physical = false): Value =>
  ({ value: normalize(value, shape), shape, physical, addressable: false });

/** Integer promotion: everything narrower than 64 bits becomes i64; pointers behave as u64. */
function promote(shape: TypeShape): TypeShape {
  if (shape.pointer > 0) return U64;
  return shape.base === 'u64' ? U64 : I64;
}

function common(left: TypeShape, right: TypeShape): TypeShape {
  return promote(left).base === 'u64' || promote(right).base === 'u64' ? U64 : I64;
}

function decodeLittleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let index = bytes.length - 1; index >= 0; index--) value = (value << 8n) | BigInt(bytes[index]);
  return value;
}

class Evaluator {
  constructor(private readonly context: ExpressionContext) {}

  evaluate(node: ExpressionNode, physical: boolean): Value {
    switch (node.kind) {
      case 'number':
        return scalar(node.value, { base: node.type, pointer: 0 }, physical);
      case 'name':
        return this.name(node.name, node.sigil, node.position, physical);
      case 'physical': {
        const inner = this.evaluate(node.operand, true);
        return { ...inner, physical: true };
      }
      case 'cast': {
        const inner = this.evaluate(node.operand, physical);
        return scalar(inner.value, node.target, inner.physical);
      }
      case 'unary':
        return this.unary(node.operator, node.operand, node.position, physical);
      case 'conditional':
        return truthy(this.evaluate(node.condition, physical))
          ? this.evaluate(node.whenTrue, physical)
          : this.evaluate(node.whenFalse, physical);
      case 'binary':
        return this.binary(node.operator, node.left, node.right, node.position, physical);
    }
  }

  private name(name: string, sigil: boolean, position: number, physical: boolean): Value {
    const lookups: Array<(name: string) => bigint | undefined> = [
      (n) => this.context.extra?.(n),
      (n) => this.context.register(n),
      (n) => this.context.csr(n),
    ];
    for (const lookup of lookups) {
      const value = lookup(name);
      if (value !== undefined) return scalar(value, U64, physical);
    }
    if (!sigil) {
      const address = this.context.symbol(name);
      if (address !== undefined) {
        const value = BigInt.asUintN(64, address);
        return { value, shape: U64, address: value, physical, addressable: true };
      }
    }
    throw new ExpressionError(sigil ? `no register or CSR '$${name}'` : `unknown name '${name}'`, position);
  }

  private unary(operator: UnaryOperator, operandNode: ExpressionNode, position: number, physical: boolean): Value {
    const operand = this.evaluate(operandNode, physical);
    switch (operator) {
      case '-': {
        const shape = promote(operand.shape);
        return scalar(-operand.value, shape, operand.physical);
      }
      case '+':
        return scalar(operand.value, promote(operand.shape), operand.physical);
      case '~':
        return scalar(~operand.value, promote(operand.shape), operand.physical);
      case '!':
        return scalar(truthy(operand) ? 0n : 1n, I64);
      case '*':
        return this.dereference(operand, position, physical);
      case '&':
        if (!operand.addressable || operand.address === undefined) {
          const what = operandNode.kind === 'name' ? `'${operandNode.name}'` : 'this value';
          throw new ExpressionError(`cannot take the address of ${what}: it is not in memory`, position);
        }
        // A symbol's location has no type: its address is a plain number.
        if (operandNode.kind === 'name') return scalar(operand.address, U64, operand.physical);
        return scalar(operand.address, { base: operand.shape.base, pointer: operand.shape.pointer + 1 }, operand.physical);
    }
  }

  private dereference(pointer: Value, position: number, physical: boolean): Value {
    // A plain integer reads as a pointer to u64, so `*sp` and `*0x80001000` do what they say.
    const element: TypeShape = pointer.shape.pointer > 0 ? { base: pointer.shape.base, pointer: pointer.shape.pointer - 1 } : U64;
    const size = typeSize(element);
    const address = BigInt.asUintN(64, pointer.value);
    const readPhysical = physical || pointer.physical;
    const bytes = this.context.readMemory(address, size, readPhysical);
    if (bytes === undefined || bytes.length < size) {
      throw new ExpressionError(`cannot read ${size} byte${size === 1 ? '' : 's'} at ${readPhysical ? 'physical ' : ''}0x${address.toString(16)}`, position);
    }
    return { value: normalize(decodeLittleEndian(bytes.subarray(0, size)), element), shape: element, address, physical: readPhysical, addressable: true };
  }

  private binary(operator: BinaryOperator, leftNode: ExpressionNode, rightNode: ExpressionNode, position: number, physical: boolean): Value {
    const left = this.evaluate(leftNode, physical);
    // && and || evaluate their right side only when needed (p != 0 && *p == 1).
    if (operator === '&&') return scalar(truthy(left) && truthy(this.evaluate(rightNode, physical)) ? 1n : 0n, I64);
    if (operator === '||') return scalar(truthy(left) || truthy(this.evaluate(rightNode, physical)) ? 1n : 0n, I64);
    const right = this.evaluate(rightNode, physical);
    const flag = left.physical || right.physical;
    switch (operator) {
      case '+':
      case '-':
        return this.additive(operator, left, right, position, flag);
      case '*': case '/': case '%': case '&': case '|': case '^': {
        const shape = common(left.shape, right.shape);
        const a = normalize(left.value, shape);
        const b = normalize(right.value, shape);
        if ((operator === '/' || operator === '%') && b === 0n) throw new ExpressionError('division by zero', position);
        const result = operator === '*' ? a * b : operator === '/' ? a / b : operator === '%' ? a % b
          : operator === '&' ? a & b : operator === '|' ? a | b : a ^ b;
        return scalar(result, shape, flag);
      }
      case '<<':
      case '>>': {
        const shape = promote(left.shape);
        const count = right.value;
        if (count < 0n) throw new ExpressionError(`negative shift count ${count}`, position);
        const a = normalize(left.value, shape);
        // Shifts past the width give what the mathematics says (0, or the sign), not a masked count.
        const bounded = count > 64n ? 64n : count;
        return scalar(operator === '<<' ? a << bounded : a >> bounded, shape, flag);
      }
      default: {
        const shape = common(left.shape, right.shape);
        const a = normalize(left.value, shape);
        const b = normalize(right.value, shape);
        const result = operator === '==' ? a === b : operator === '!=' ? a !== b : operator === '<' ? a < b
          : operator === '<=' ? a <= b : operator === '>' ? a > b : a >= b;
        return scalar(result ? 1n : 0n, I64);
      }
    }
  }

  private additive(operator: '+' | '-', left: Value, right: Value, position: number, physical: boolean): Value {
    const leftPointer = left.shape.pointer > 0;
    const rightPointer = right.shape.pointer > 0;
    if (leftPointer && rightPointer) {
      if (operator === '+') throw new ExpressionError('cannot add two pointers', position);
      if (typeName(left.shape) !== typeName(right.shape)) {
        throw new ExpressionError(`cannot subtract ${typeName(right.shape)} from ${typeName(left.shape)}`, position);
      }
      const size = BigInt(typeSize({ base: left.shape.base, pointer: left.shape.pointer - 1 }));
      return scalar(BigInt.asIntN(64, left.value - right.value) / size, I64);
    }
    if (leftPointer || rightPointer) {
      if (rightPointer && operator === '-') throw new ExpressionError('cannot subtract a pointer from an integer', position);
      const [pointer, offset] = leftPointer ? [left, right] : [right, left];
      const elementSize = BigInt(typeSize({ base: pointer.shape.base, pointer: pointer.shape.pointer - 1 }));
      const step = normalize(offset.value, promote(offset.shape)) * elementSize;
      return scalar(operator === '+' ? pointer.value + step : pointer.value - step, pointer.shape, pointer.physical);
    }
    const shape = common(left.shape, right.shape);
    return scalar(operator === '+' ? left.value + right.value : left.value - right.value, shape, physical);
  }
}

function truthy(value: Value): boolean {
  return value.value !== 0n;
}

/** Evaluates a parsed expression; throws ExpressionError for unknown names, unreadable memory, division by zero. */
export function evaluateExpression(node: ExpressionNode, context: ExpressionContext): ExpressionValue {
  const result = new Evaluator(context).evaluate(node, false);
  return {
    value: result.value,
    type: typeName(result.shape),
    ...(result.address === undefined ? {} : { address: result.address }),
    ...(result.physical ? { physical: true } : {}),
  };
}

/** Parses and evaluates `text`. */
export function evaluate(text: string, context: ExpressionContext): ExpressionValue {
  return evaluateExpression(parseExpression(text), context);
}

/** Whether a condition holds (non-zero), for breakpoint and exception-filter conditions. */
export function evaluateCondition(node: ExpressionNode, context: ExpressionContext): boolean {
  return evaluateExpression(node, context).value !== 0n;
}

/**
 * Display text of a result: pointers and u64 in hex, other types in decimal (`hex` forces hex,
 * of the value's own width, as DAP's format.hex asks).
 */
export function formatExpressionValue(result: ExpressionValue, options: { hex?: boolean } = {}): string {
  const pointer = result.type.includes('*');
  const base = result.type.replace(/\*+$/, '') as ScalarType;
  if (pointer || base === 'u64' || options.hex === true) {
    const bits = pointer ? 64 : SCALAR_SIZE[base] * 8;
    return `0x${BigInt.asUintN(bits, result.value).toString(16)}`;
  }
  return result.value.toString();
}
