// A small C-like expression language for DAP `evaluate`, watches, breakpoint conditions and
// exception-filter conditions. Integers only, computed in 64 bits with wrap-around:
//
//   literals     42  0x80200000  0b101  0o17  'a'  '\n'  (suffixes u, l, ul, ull accepted)
//   names        a0 x10 fp pc, $a0 $pc, mstatus $mstatus, DWARF locals and globals (their
//                value, typed), ELF symbols (their address), context extras such as cause,
//                tval, epc, hart in exception-filter conditions
//   postfix      a[i]  s.member  p->member   (DWARF-typed values: struct/union members, array
//                elements and pointer targets; `a[i]` also on (u64*)-style pointers)
//   unary        - + ~ ! * &  sizeof expr  sizeof(type)  and  phys:expr  (memory reads inside
//                use physical addresses)
//   binary       * / %  + -  << >>  < <= > >=  == !=  &  ^  |  &&  ||   (C precedence)
//   conditional  c ? a : b
//   casts        (u8) (i32) (uint64_t) (unsigned long) (u32*) (u64**) (char*) ...  and to DWARF
//                type names: (struct task *) (enum state) (task_t *); qualifiers (const,
//                volatile) are ignored; (char *) takes DWARF's char, so it reads as a string
//
// Names resolve as context extras, then the frame's locals and parameters, then registers,
// then CSRs, then DWARF globals, then ELF symbols; `$name` is only ever a register or CSR.
// Integer values promote to 64 bits before arithmetic (i64 unless an operand is u64); pointer
// arithmetic scales by the element size, as in C. Dereferencing a plain integer reads a u64
// (so `*sp` works). A symbol without DWARF evaluates to its address; a DWARF variable to its
// value, keeping its address (so `&x` and writes work). Arrays decay to pointers in arithmetic.

import type { TypeInfo } from '../symbols/types';
import {
  isAggregate, isSignedType, pointerTo, resolveTypedef, scalarText, SIZE_TYPE, strideOf,
} from './ctypes';

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
  | { readonly kind: 'member'; readonly operand: ExpressionNode; readonly member: string; readonly arrow: boolean; readonly position: number }
  | { readonly kind: 'index'; readonly operand: ExpressionNode; readonly index: ExpressionNode; readonly position: number }
  /** A name with dots (`kernel.data`, `f.sepc`): a symbol of that name, else members of the first part. */
  | { readonly kind: 'dotted'; readonly name: string; readonly position: number }
  | { readonly kind: 'namedCast'; readonly target: NamedType; readonly operand: ExpressionNode; readonly position: number }
  | { readonly kind: 'sizeof'; readonly operand?: ExpressionNode; readonly target?: TypeShape | NamedType; readonly position: number }
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
  /**
   * `characterType`: for a cast to a pointer to `char` (`(const char *)p`), GCC's DWARF name of
   * that character type; when the program has it the result is DWARF-typed, so it shows as a
   * string as a `char *` variable does.
   */
  | { readonly kind: 'cast'; readonly target: TypeShape; readonly operand: ExpressionNode; readonly position: number; readonly characterType?: string }
  | { readonly kind: 'physical'; readonly operand: ExpressionNode; readonly position: number };

/** A DWARF type by name (`struct task`, `u64`, `enum state`) with levels of pointer. */
export interface NamedType {
  readonly name: string;
  readonly pointer: number;
  readonly position: number;
}

/** Where a DWARF variable is, as the context reports it. */
export type VariableLocation =
  | { readonly kind: 'memory'; readonly address: bigint }
  | { readonly kind: 'register'; readonly bits: bigint; /** DWARF number: x0-x31 = 0-31, f0-f31 = 32-63. */ readonly register: number }
  | { readonly kind: 'unavailable'; readonly reason: string };

export interface TypedVariable {
  readonly type: TypeInfo | undefined;
  readonly location: VariableLocation;
}

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
  /** A DWARF variable: `local` (the frame's locals and parameters) or `global`. */
  variable?(name: string, scope: 'local' | 'global'): TypedVariable | undefined;
  /** A DWARF type by name (`struct task`, `u64`), for casts and sizeof. */
  type?(name: string): TypeInfo | undefined;
}

export interface ExpressionValue {
  /** The value in its type's range: negative for a negative signed value. For a struct or array: its address. */
  readonly value: bigint;
  /** The type's display name (u64, u32*, struct task, int [4]). */
  readonly type: string;
  /** The DWARF type, when the value has one. */
  readonly ctype?: TypeInfo;
  /** Size in bytes of a DWARF-typed value (its type's size); for the others, that of `type`. */
  readonly size?: number;
  /** The value lives in this register (DWARF number), e.g. a local kept in a register. */
  readonly register?: number;
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
/** Qualifiers a cast may carry; they change nothing in a debugger's view of a value. */
const TYPE_QUALIFIERS = new Set(['const', 'volatile', 'restrict', '__restrict']);

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

const OPERATORS = ['->', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '<', '>', '(', ')', '?', ':', '[', ']', '.'];
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
      const hint = character === '=' ? ' (use == to compare)' : '';
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

  constructor(
    private readonly tokens: readonly Token[],
    /** Whether a plain name is a DWARF type name (typedefs: `(task_t *)p`, `(u64_t)x`). */
    private readonly isTypeName: (name: string) => boolean = () => false,
  ) {}

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
    if (token.kind === 'name' && token.text === 'sizeof') {
      this.index++;
      if (this.isOperator('(')) {
        const type = this.tryTypeName(1);
        if (type !== undefined) {
          if (!this.isOperator(')', this.peek(type.end))) {
            throw new ExpressionError(`expected ')' after the type in sizeof${describeFound(this.peek(type.end))}`, this.peek(type.end).position);
          }
          this.index += type.end + 1;
          return { kind: 'sizeof', target: type.type, position: token.position };
        }
      }
      return { kind: 'sizeof', operand: this.parseUnary(), position: token.position };
    }
    if (this.isOperator('(')) {
      const cast = this.tryCast();
      if (cast !== undefined) return cast;
    }
    return this.parsePostfix(this.parsePrimary());
  }

  /** `a[i]`, `a.b`, `a->b` after a primary expression. */
  private parsePostfix(node: ExpressionNode): ExpressionNode {
    let result = node;
    for (;;) {
      const token = this.current;
      if (this.isOperator('[')) {
        this.index++;
        const index = this.parseConditional();
        this.expectOperator(']');
        result = { kind: 'index', operand: result, index, position: token.position };
      } else if (this.isOperator('.') || this.isOperator('->')) {
        this.index++;
        const name = this.current;
        if (name.kind !== 'name' || name.text.startsWith('$')) {
          throw new ExpressionError(`expected a member name after '${token.text}'${describeFound(name)}`, name.position);
        }
        this.index++;
        // A member name token may hold more dotted members: `p->regs.sepc`.
        const parts = name.text.split('.');
        if (parts.some((part) => part === '')) throw new ExpressionError(`malformed member name '${name.text}'`, name.position);
        result = { kind: 'member', operand: result, member: parts[0], arrow: token.text === '->', position: token.position };
        let offset = parts[0].length;
        for (const part of parts.slice(1)) {
          result = { kind: 'member', operand: result, member: part, arrow: false, position: name.position + offset };
          offset += part.length + 1;
        }
      } else {
        return result;
      }
    }
  }

  /**
   * A type name starting at token offset `start` (from the current token): `struct x`, `union
   * x`, `enum x`, a DWARF typedef name, or the built-in scalar names, with stars. Returns the
   * type and the number of tokens it spans, or undefined when the tokens are not a type.
   */
  private tryTypeName(start: number): { type: TypeShape | NamedType; end: number; characterType?: string } | undefined {
    while (this.isQualifier(this.peek(start))) start++;
    const first = this.peek(start);
    if (first.kind !== 'name') return undefined;
    let offset = start;
    let name: string | undefined;
    let shape: ScalarType | undefined;
    let characterType: string | undefined;
    if (['struct', 'union', 'enum'].includes(first.text)) {
      const tag = this.peek(start + 1);
      if (tag.kind !== 'name') throw new ExpressionError(`expected a name after '${first.text}'${describeFound(tag)}`, tag.position);
      name = `${first.text} ${tag.text}`;
      offset += 2;
    } else if (SINGLE_WORD_TYPES[first.text] !== undefined || C_TYPE_WORDS.has(first.text)) {
      const words: Token[] = [first];
      if (SINGLE_WORD_TYPES[first.text] === undefined) {
        while (this.peek(start + words.length).kind === 'name' && C_TYPE_WORDS.has(this.peek(start + words.length).text)) words.push(this.peek(start + words.length));
      }
      shape = cTypeFromWords(words.map((word) => word.text));
      if (shape === undefined) throw new ExpressionError(`unknown type '${words.map((word) => word.text).join(' ')}'`, first.position);
      if (words.some((word) => word.text === 'char')) {
        const sign = words.find((word) => word.text === 'signed' || word.text === 'unsigned');
        characterType = sign === undefined ? 'char' : `${sign.text} char`;
      }
      offset += words.length;
    } else if (this.isTypeName(first.text)) {
      name = first.text;
      offset += 1;
    } else {
      return undefined;
    }
    let pointer = 0;
    while (this.isQualifier(this.peek(offset))) offset++;
    while (this.isOperator('*', this.peek(offset))) {
      pointer++;
      offset++;
      while (this.isQualifier(this.peek(offset))) offset++;
    }
    if (shape !== undefined && first.text === 'void' && pointer === 0) throw new ExpressionError('cannot cast to void', first.position);
    const type = shape !== undefined ? { base: shape, pointer } : { name: name!, pointer, position: first.position };
    return { type, end: offset, characterType: pointer > 0 ? characterType : undefined };
  }

  private isQualifier(token: Token): boolean {
    return token.kind === 'name' && TYPE_QUALIFIERS.has(token.text);
  }

  /** `(type *...)` followed by a unary expression, or undefined when the parenthesis is not a cast. */
  private tryCast(): ExpressionNode | undefined {
    const open = this.current;
    const first = this.peek(1);
    if (first.kind !== 'name') return undefined;
    let type = this.tryTypeName(1);
    if (type === undefined) {
      // `(name*)` can only be a cast: a type the evaluation looks up (and names when unknown).
      let at = 1;
      while (this.isQualifier(this.peek(at))) at++;
      const named = this.peek(at);
      let stars = 0;
      while (this.isOperator('*', this.peek(at + 1 + stars))) stars++;
      if (named.kind !== 'name' || stars === 0 || !this.isOperator(')', this.peek(at + 1 + stars))) return undefined;
      type = { type: { name: named.text, pointer: stars, position: named.position }, end: at + 1 + stars };
    }
    const close = this.peek(type.end);
    if (!this.isOperator(')', close)) {
      throw new ExpressionError(`expected ')' to close the cast to ${describeType(type.type)}${describeFound(close)}`, close.position);
    }
    this.index += type.end + 1;
    const operand = this.parseUnary();
    return 'base' in type.type
      ? { kind: 'cast', target: type.type, operand, position: open.position, characterType: type.characterType }
      : { kind: 'namedCast', target: type.type, operand, position: open.position };
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
      if (token.text.includes('.')) {
        if (sigil || token.text.endsWith('.')) throw new ExpressionError(`malformed name '${token.text}'`, token.position);
        return { kind: 'dotted', name: token.text, position: token.position };
      }
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

function describeType(type: TypeShape | NamedType): string {
  return 'base' in type ? typeName(type) : `${type.name}${type.pointer > 0 ? ` ${'*'.repeat(type.pointer)}` : ''}`;
}

function describeFound(token: Token): string {
  return token.kind === 'end' ? ' but the expression ended' : ` but found '${token.text}'`;
}

/**
 * Parses an expression; throws ExpressionError (with the offending position) for bad syntax.
 * `isTypeName` tells typedef names apart from variables for casts such as `(task_t *)p`.
 */
export function parseExpression(text: string, isTypeName?: (name: string) => boolean): ExpressionNode {
  return new Parser(tokenize(text), isTypeName).parseAll();
}

// ---- evaluation ---------------------------------------------------------------------------------

interface Value {
  /** Scalars: the value; structs, unions and arrays: their address. */
  value: bigint;
  shape: TypeShape;
  address?: bigint;
  /** Memory reads through this value (as a pointer) or at its address are physical. */
  physical: boolean;
  /** Can `&` be applied: the value was read from memory or is a symbol's location. */
  addressable: boolean;
  /** The DWARF type (typedefs kept, for names). */
  ctype?: TypeInfo;
  /** An lvalue in a register (DWARF number). */
  register?: number;
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

/** The arithmetic shape of a scalar DWARF type (pointers and enums included). */
function shapeOfType(type: TypeInfo): TypeShape {
  if (type.kind === 'pointer') return U64;
  const size = type.byteSize >= 8 ? 8 : type.byteSize >= 4 ? 4 : type.byteSize >= 2 ? 2 : 1;
  return { base: `${isSignedType(type) ? 'i' : 'u'}${size * 8}` as ScalarType, pointer: 0 };
}

const describeValue = (value: Value): string => value.ctype?.name ?? typeName(value.shape);

class Evaluator {
  constructor(private readonly context: ExpressionContext) {}

  evaluate(node: ExpressionNode, physical: boolean): Value {
    switch (node.kind) {
      case 'number':
        return scalar(node.value, { base: node.type, pointer: 0 }, physical);
      case 'name':
        return this.name(node.name, node.sigil, node.position, physical);
      case 'dotted':
        return this.dotted(node.name, node.position, physical);
      case 'physical': {
        const inner = this.evaluate(node.operand, true);
        return { ...inner, physical: true };
      }
      case 'cast': {
        const inner = this.evaluate(node.operand, physical);
        if (inner.ctype !== undefined && resolveTypedef(inner.ctype)?.kind === 'struct') {
          throw new ExpressionError(`cannot cast ${describeValue(inner)} to ${typeName(node.target)} (take its address with &)`, node.position);
        }
        if (node.characterType !== undefined && this.context.type?.(node.characterType) !== undefined) {
          return this.namedCast({ name: node.characterType, pointer: node.target.pointer, position: node.position }, inner, node.position);
        }
        return scalar(inner.value, node.target, inner.physical);
      }
      case 'namedCast':
        return this.namedCast(node.target, this.evaluate(node.operand, physical), node.position);
      case 'sizeof':
        return this.sizeOf(node, physical);
      case 'member':
        return this.member(this.evaluate(node.operand, physical), node.member, node.arrow, node.position, physical);
      case 'index':
        return this.index(node, physical);
      case 'unary':
        return this.unary(node.operator, node.operand, node.position, physical);
      case 'conditional':
        return truthy(this.numeric(this.evaluate(node.condition, physical), node.position))
          ? this.evaluate(node.whenTrue, physical)
          : this.evaluate(node.whenFalse, physical);
      case 'binary':
        return this.binary(node.operator, node.left, node.right, node.position, physical);
    }
  }

  /** A value usable as a number: not a struct or union, not a float; an array decays to its address. */
  private numeric(value: Value, position: number): Value {
    const type = resolveTypedef(value.ctype);
    if (type === undefined) return value;
    if (type.kind === 'struct' || type.kind === 'union') throw new ExpressionError(`cannot use ${type.name} as a number`, position);
    if (type.kind === 'base' && type.encoding === 'float') throw new ExpressionError(`arithmetic on floating-point values (${value.ctype!.name}) is not supported`, position);
    return value;
  }

  private name(name: string, sigil: boolean, position: number, physical: boolean): Value {
    const extra = this.context.extra?.(name);
    if (extra !== undefined) return scalar(extra, U64, physical);
    const local = sigil ? undefined : this.context.variable?.(name, 'local');
    if (local !== undefined) return this.variable(name, local, position, physical);
    for (const lookup of [(n: string) => this.context.register(n), (n: string) => this.context.csr(n)]) {
      const value = lookup(name);
      if (value !== undefined) return scalar(value, U64, physical);
    }
    if (!sigil) {
      const global = this.context.variable?.(name, 'global');
      if (global !== undefined) return this.variable(name, global, position, physical);
      const address = this.context.symbol(name);
      if (address !== undefined) {
        const value = BigInt.asUintN(64, address);
        return { value, shape: U64, address: value, physical, addressable: true };
      }
    }
    throw new ExpressionError(sigil ? `no register or CSR '$${name}'` : `unknown name '${name}'`, position);
  }

  /** `a.b.c` in one token: a symbol with dots, else the members of `a`. */
  private dotted(text: string, position: number, physical: boolean): Value {
    const parts = text.split('.');
    const known = (name: string) => this.context.extra?.(name) !== undefined || this.context.variable?.(name, 'local') !== undefined
      || this.context.variable?.(name, 'global') !== undefined;
    if (!known(parts[0])) {
      const address = this.context.symbol(text);
      if (address !== undefined) {
        const value = BigInt.asUintN(64, address);
        return { value, shape: U64, address: value, physical, addressable: true };
      }
    }
    let result = this.name(parts[0], false, position, physical);
    let offset = parts[0].length;
    for (const part of parts.slice(1)) {
      result = this.member(result, part, false, position + offset, physical);
      offset += part.length + 1;
    }
    return result;
  }

  private variable(name: string, variable: TypedVariable, position: number, physical: boolean): Value {
    const location = variable.location;
    if (location.kind === 'unavailable') throw new ExpressionError(`'${name}' is not available here: ${location.reason}`, position);
    if (variable.type === undefined) {
      // No type information: a place is its address (like an ELF symbol), a register its bits.
      if (location.kind === 'register') return { ...scalar(location.bits, U64, physical), register: location.register };
      return { value: location.address, shape: U64, address: location.address, physical, addressable: true };
    }
    if (location.kind === 'register') return this.fromRegister(name, variable.type, location.bits, location.register, position, physical);
    return this.load(variable.type, location.address, physical, position);
  }

  private fromRegister(name: string, type: TypeInfo, bits: bigint, register: number, position: number, physical: boolean): Value {
    const resolved = resolveTypedef(type);
    if (resolved === undefined || isAggregate(resolved)) throw new ExpressionError(`'${name}' (${type.name}) is kept in a register; its parts cannot be read`, position);
    const shape = shapeOfType(resolved);
    return { value: normalize(bits, shape), shape, physical, addressable: false, ctype: type, register };
  }

  /** A value of DWARF type `type` at `address`: scalars are read, aggregates keep their address. */
  private load(type: TypeInfo, address: bigint, physical: boolean, position: number): Value {
    const resolved = resolveTypedef(type);
    const at = BigInt.asUintN(64, address);
    if (resolved === undefined || resolved.byteSize === 0 && !isAggregate(resolved)) {
      throw new ExpressionError(`cannot read a value of type ${type.name} (no size)`, position);
    }
    if (isAggregate(resolved)) return { value: at, shape: U64, address: at, physical, addressable: true, ctype: type };
    const shape = shapeOfType(resolved);
    const size = Math.min(8, resolved.byteSize);
    const bytes = this.context.readMemory(at, size, physical);
    if (bytes === undefined || bytes.length < size) {
      throw new ExpressionError(`cannot read ${size} byte${size === 1 ? '' : 's'} at ${physical ? 'physical ' : ''}0x${at.toString(16)}`, position);
    }
    return { value: normalize(decodeLittleEndian(bytes.subarray(0, size)), shape), shape, address: at, physical, addressable: true, ctype: type };
  }

  private lookUpType(target: NamedType): TypeInfo {
    let type = this.context.type?.(target.name);
    if (type === undefined) throw new ExpressionError(`unknown type '${target.name}'`, target.position);
    for (let level = 0; level < target.pointer; level++) type = pointerTo(type);
    return type;
  }

  private namedCast(target: NamedType, operand: Value, position: number): Value {
    const type = this.lookUpType(target);
    const resolved = resolveTypedef(type)!;
    if (isAggregate(resolved) || resolved.byteSize === 0) {
      throw new ExpressionError(`cannot cast to ${type.name} (cast a pointer instead: (${type.name} *)address)`, position);
    }
    const value = this.numeric(operand, position);
    const shape = shapeOfType(resolved);
    return { value: normalize(value.value, shape), shape, physical: value.physical, addressable: false, ctype: type };
  }

  private sizeOf(node: Extract<ExpressionNode, { kind: 'sizeof' }>, physical: boolean): Value {
    let size: number;
    if (node.target !== undefined) {
      size = 'base' in node.target ? typeSize(node.target) : resolveTypedef(this.lookUpType(node.target))?.byteSize ?? 0;
    } else {
      const value = this.evaluate(node.operand!, physical);
      size = value.ctype !== undefined ? resolveTypedef(value.ctype)?.byteSize ?? 0 : typeSize(value.shape);
    }
    return { ...scalar(BigInt(size), U64), ctype: SIZE_TYPE };
  }

  private member(operand: Value, name: string, arrow: boolean, position: number, physical: boolean): Value {
    let type = resolveTypedef(operand.ctype);
    let base = operand;
    if (type === undefined) {
      throw new ExpressionError(`cannot take member '${name}' of ${describeValue(operand)}: it has no struct type (cast it: ((struct name *)address)->${name})`, position);
    }
    // `p->m`, and `p.m` on a pointer as gdb allows; `s->m` on a struct too.
    if (type.kind === 'pointer') {
      const target = resolveTypedef(type.target);
      if (target === undefined || (target.kind !== 'struct' && target.kind !== 'union')) {
        throw new ExpressionError(`cannot take member '${name}' of ${type.name}: it does not point to a struct or union`, position);
      }
      base = this.load(type.target!, operand.value, physical || operand.physical, position);
      type = target;
    } else if (arrow && type.kind !== 'struct' && type.kind !== 'union') {
      throw new ExpressionError(`'->${name}' needs a pointer to a struct or union, not ${describeValue(operand)}`, position);
    }
    if (type.kind !== 'struct' && type.kind !== 'union') {
      throw new ExpressionError(`cannot take member '${name}' of ${describeValue(operand)}: it is not a struct or union`, position);
    }
    const found = findMember(type, name, 0);
    if (found === undefined) throw new ExpressionError(`no member '${name}' in ${type.name}`, position);
    return this.load(found.type, base.value + BigInt(found.offset), base.physical || physical, position);
  }

  private index(node: Extract<ExpressionNode, { kind: 'index' }>, physical: boolean): Value {
    const operand = this.evaluate(node.operand, physical);
    const index = this.numeric(this.evaluate(node.index, physical), node.index.position);
    const offset = normalize(index.value, promote(index.shape));
    const type = resolveTypedef(operand.ctype);
    const readPhysical = physical || operand.physical;
    if (type?.kind === 'array' || type?.kind === 'pointer') {
      const element = type.target;
      if (element === undefined || resolveTypedef(element) === undefined) {
        throw new ExpressionError(`cannot index ${type.name}: its elements have no type (cast it: ((u64*)p)[i])`, node.position);
      }
      return this.load(element, operand.value + offset * BigInt(strideOf(element)), readPhysical, node.position);
    }
    if (type === undefined && operand.shape.pointer > 0) {
      const element: TypeShape = { base: operand.shape.base, pointer: operand.shape.pointer - 1 };
      const address = BigInt.asUintN(64, operand.value + offset * BigInt(typeSize(element)));
      return this.dereference({ ...operand, value: address }, node.position, physical);
    }
    throw new ExpressionError(`cannot index ${describeValue(operand)}: it is not an array or pointer`, node.position);
  }

  private unary(operator: UnaryOperator, operandNode: ExpressionNode, position: number, physical: boolean): Value {
    const raw = this.evaluate(operandNode, physical);
    if (operator === '&') return this.addressOf(raw, operandNode, position);
    if (operator === '*') return this.dereference(raw, position, physical);
    const operand = this.numeric(raw, position);
    switch (operator) {
      case '-':
        return scalar(-operand.value, promote(operand.shape), operand.physical);
      case '+':
        return scalar(operand.value, promote(operand.shape), operand.physical);
      case '~':
        return scalar(~operand.value, promote(operand.shape), operand.physical);
      case '!':
        return scalar(truthy(operand) ? 0n : 1n, I64);
    }
  }

  private addressOf(operand: Value, operandNode: ExpressionNode, position: number): Value {
    const what = operandNode.kind === 'name' ? `'${operandNode.name}'` : 'this value';
    if (operand.register !== undefined) throw new ExpressionError(`cannot take the address of ${what}: it is kept in a register`, position);
    if (!operand.addressable || operand.address === undefined) {
      throw new ExpressionError(`cannot take the address of ${what}: it is not in memory`, position);
    }
    if (operand.ctype !== undefined) {
      return { ...scalar(operand.address, U64, operand.physical), ctype: pointerTo(operand.ctype) };
    }
    // A symbol's location has no type: its address is a plain number.
    if (operandNode.kind === 'name' || operandNode.kind === 'dotted') return scalar(operand.address, U64, operand.physical);
    return scalar(operand.address, { base: operand.shape.base, pointer: operand.shape.pointer + 1 }, operand.physical);
  }

  private dereference(pointer: Value, position: number, physical: boolean): Value {
    const type = resolveTypedef(pointer.ctype);
    if (type !== undefined) {
      if (type.kind !== 'pointer' && type.kind !== 'array') {
        throw new ExpressionError(`cannot dereference ${describeValue(pointer)}: it is not a pointer (cast it: *(u64*)value)`, position);
      }
      if (type.target === undefined || resolveTypedef(type.target) === undefined || resolveTypedef(type.target)!.kind === 'other' && type.target.byteSize === 0) {
        throw new ExpressionError(`cannot dereference ${type.name} (cast it: *(u64*)p)`, position);
      }
      return this.load(type.target, pointer.value, physical || pointer.physical, position);
    }
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
    const left = this.numeric(this.evaluate(leftNode, physical), position);
    // && and || evaluate their right side only when needed (p != 0 && *p == 1).
    if (operator === '&&') return scalar(truthy(left) && truthy(this.numeric(this.evaluate(rightNode, physical), position)) ? 1n : 0n, I64);
    if (operator === '||') return scalar(truthy(left) || truthy(this.numeric(this.evaluate(rightNode, physical), position)) ? 1n : 0n, I64);
    const right = this.numeric(this.evaluate(rightNode, physical), position);
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

  /** The element type of a typed pointer or array (arrays decay), or undefined for other values. */
  private static elementOf(value: Value): TypeInfo | null | undefined {
    const type = resolveTypedef(value.ctype);
    if (type?.kind !== 'pointer' && type?.kind !== 'array') return undefined;
    return type.target ?? null;
  }

  private additive(operator: '+' | '-', left: Value, right: Value, position: number, physical: boolean): Value {
    const leftElement = Evaluator.elementOf(left);
    const rightElement = Evaluator.elementOf(right);
    if (leftElement !== undefined || rightElement !== undefined) {
      // DWARF-typed pointers (and arrays, which decay): steps of the element size.
      const stride = (element: TypeInfo | null) => BigInt(element === null ? 1 : strideOf(element));
      if (leftElement !== undefined && rightElement !== undefined) {
        if (operator === '+') throw new ExpressionError('cannot add two pointers', position);
        return scalar(BigInt.asIntN(64, left.value - right.value) / stride(leftElement), I64);
      }
      if (rightElement !== undefined && operator === '-') throw new ExpressionError('cannot subtract a pointer from an integer', position);
      const [pointer, offset, element] = leftElement !== undefined ? [left, right, leftElement] : [right, left, rightElement!];
      const step = normalize(offset.value, promote(offset.shape)) * stride(element);
      const type = resolveTypedef(pointer.ctype)!.kind === 'array' ? (element === null ? undefined : pointerTo(element)) : pointer.ctype;
      return { ...scalar(operator === '+' ? pointer.value + step : pointer.value - step, U64, pointer.physical), ctype: type };
    }
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

/** A member by name, also inside anonymous struct/union members; offset from the outer struct. */
function findMember(type: TypeInfo, name: string, depth: number): { type: TypeInfo; offset: number } | undefined {
  for (const member of type.members ?? []) {
    if (member.name === name) return { type: member.type, offset: member.offset };
  }
  if (depth > 8) return undefined;
  for (const member of type.members ?? []) {
    const inner = resolveTypedef(member.type);
    if (member.name === '' && inner !== undefined && (inner.kind === 'struct' || inner.kind === 'union')) {
      const found = findMember(inner, name, depth + 1);
      if (found !== undefined) return { type: found.type, offset: member.offset + found.offset };
    }
  }
  return undefined;
}

function truthy(value: Value): boolean {
  return value.value !== 0n;
}

/** Evaluates a parsed expression; throws ExpressionError for unknown names, unreadable memory, division by zero. */
export function evaluateExpression(node: ExpressionNode, context: ExpressionContext): ExpressionValue {
  const result = new Evaluator(context).evaluate(node, false);
  return {
    value: result.value,
    type: result.ctype?.name ?? typeName(result.shape),
    ...(result.ctype === undefined ? {} : { ctype: result.ctype, size: resolveTypedef(result.ctype)?.byteSize ?? 8 }),
    ...(result.register === undefined ? {} : { register: result.register }),
    ...(result.address === undefined ? {} : { address: result.address }),
    ...(result.physical ? { physical: true } : {}),
  };
}

/** Parses and evaluates `text` (typedef names of the context count as types in casts). */
export function evaluate(text: string, context: ExpressionContext): ExpressionValue {
  return evaluateExpression(parseExpression(text, (name) => context.type?.(name) !== undefined), context);
}

/** Whether a condition holds (non-zero), for breakpoint and exception-filter conditions. */
export function evaluateCondition(node: ExpressionNode, context: ExpressionContext): boolean {
  return evaluateExpression(node, context).value !== 0n;
}

/**
 * Display text of a result: pointers and u64 in hex, other types in decimal (`hex` forces hex,
 * of the value's own width, as DAP's format.hex asks). DWARF-typed scalars print as their type
 * says (decimal, enumerator names, characters, floats); structs as {...}, arrays as [N].
 */
export function formatExpressionValue(result: ExpressionValue, options: { hex?: boolean } = {}): string {
  const type = resolveTypedef(result.ctype);
  if (type !== undefined) {
    if (type.kind === 'struct' || type.kind === 'union') return `{...} at 0x${BigInt.asUintN(64, result.value).toString(16)}`;
    if (type.kind === 'array') return `[${type.elementCount ?? ''}] at 0x${BigInt.asUintN(64, result.value).toString(16)}`;
    if (type.kind === 'pointer') return `0x${BigInt.asUintN(64, result.value).toString(16)}`;
    const bits = Math.max(1, Math.min(8, type.byteSize)) * 8;
    if (options.hex === true && type.encoding !== 'float') return `0x${BigInt.asUintN(bits, result.value).toString(16)}`;
    return scalarText(type, result.value);
  }
  const pointer = result.type.includes('*');
  const base = result.type.replace(/\*+$/, '') as ScalarType;
  if (pointer || base === 'u64' || options.hex === true) {
    const bits = pointer ? 64 : SCALAR_SIZE[base] * 8;
    return `0x${BigInt.asUintN(bits, result.value).toString(16)}`;
  }
  return result.value.toString();
}
