// Evaluates the absolute constant expressions GNU as accepts as immediates: decimal, 0x, 0b and
// leading-0 octal numbers, character constants, C operators, and names with a known constant
// value (object-like #defines, .equ/.set). Arithmetic wraps at 64 bits as in the assembler; a
// literal of 2^64 or more is a "bignum" it refuses. Anything else (symbols, %hi(), macro
// arguments) is not constant and is not checked.

export type ExpressionValue =
  | { readonly kind: 'constant'; readonly value: bigint }
  | { readonly kind: 'tooLarge' }
  | { readonly kind: 'notConstant' };

const NOT_CONSTANT: ExpressionValue = { kind: 'notConstant' };
const TWO_TO_64 = 1n << 64n;

type Token = { kind: 'number'; value: bigint } | { kind: 'operator'; text: string } | { kind: 'name'; text: string };

function tokenize(text: string): Token[] | 'tooLarge' | undefined {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const character = text[i];
    if (/\s/.test(character)) { i++; continue; }
    const rest = text.slice(i);
    const number = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)(?![A-Za-z0-9_.$])/.exec(rest);
    if (number !== null) {
      const digits = number[1];
      const value = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : /^0[0-9]+$/.test(digits) ? undefined : BigInt(digits);
      if (value === undefined) return undefined;
      if (value >= TWO_TO_64) return 'tooLarge';
      tokens.push({ kind: 'number', value });
      i += digits.length;
      continue;
    }
    const character_ = /^'(\\.|[^\\])'?/.exec(rest);
    if (character_ !== null) {
      const quoted = character_[1];
      const escapes: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92, "'": 39, '"': 34 };
      const code = quoted.length === 2 ? escapes[quoted[1]] : quoted.charCodeAt(0);
      if (code === undefined) return undefined;
      tokens.push({ kind: 'number', value: BigInt(code) });
      i += character_[0].length;
      continue;
    }
    const name = /^[A-Za-z_.$][A-Za-z0-9_.$]*/.exec(rest);
    if (name !== null) {
      tokens.push({ kind: 'name', text: name[0] });
      i += name[0].length;
      continue;
    }
    const operator = /^(<<|>>|&&|\|\||==|!=|<>|<=|>=|[-+*/%&|^~!()<>])/.exec(rest);
    if (operator === null) return undefined;
    tokens.push({ kind: 'operator', text: operator[1] });
    i += operator[1].length;
  }
  return tokens;
}

// gas's precedence, not C's: shifts bind like multiplication, bitwise operators above + and -.
const BINARY_PRECEDENCE: Record<string, number> = {
  '||': 1, '&&': 1,
  '+': 2, '-': 2, '==': 2, '!=': 2, '<>': 2, '<': 2, '>': 2, '<=': 2, '>=': 2,
  '|': 3, '&': 3, '^': 3,
  '*': 4, '/': 4, '%': 4, '<<': 4, '>>': 4,
};

const wrap = (value: bigint): bigint => BigInt.asIntN(64, value);

class Parser {
  private position = 0;
  constructor(private readonly tokens: Token[], private readonly names: ReadonlyMap<string, bigint>) {}

  parse(): bigint | undefined {
    const value = this.binary(0);
    return this.position === this.tokens.length ? value : undefined;
  }

  private binary(minimumPrecedence: number): bigint | undefined {
    let left = this.unary();
    if (left === undefined) return undefined;
    for (;;) {
      const token = this.tokens[this.position];
      if (token?.kind !== 'operator') return left;
      const precedence = BINARY_PRECEDENCE[token.text];
      if (precedence === undefined || precedence < minimumPrecedence) return left;
      this.position++;
      const right = this.binary(precedence + 1);
      if (right === undefined) return undefined;
      const result = applyBinary(token.text, left, right);
      if (result === undefined) return undefined;
      left = result;
    }
  }

  private unary(): bigint | undefined {
    const token = this.tokens[this.position++];
    if (token === undefined) return undefined;
    if (token.kind === 'number') return wrap(token.value);
    if (token.kind === 'name') return this.names.get(token.text);
    if (token.text === '(') {
      const inner = this.binary(0);
      const closing = this.tokens[this.position++];
      return closing?.kind === 'operator' && closing.text === ')' ? inner : undefined;
    }
    const operand = this.unary();
    if (operand === undefined) return undefined;
    switch (token.text) {
      case '-': return wrap(-operand);
      case '+': return operand;
      case '~': return wrap(~operand);
      case '!': return operand === 0n ? 1n : 0n;
      default: return undefined;
    }
  }
}

function applyBinary(operator: string, left: bigint, right: bigint): bigint | undefined {
  switch (operator) {
    case '+': return wrap(left + right);
    case '-': return wrap(left - right);
    case '*': return wrap(left * right);
    case '/': return right === 0n ? undefined : wrap(left / right);
    case '%': return right === 0n ? undefined : wrap(left % right);
    case '<<': return wrap(left << (BigInt.asUintN(64, right) & 63n));
    case '>>': return wrap(left >> (BigInt.asUintN(64, right) & 63n));
    case '&': return wrap(left & right);
    case '|': return wrap(left | right);
    case '^': return wrap(left ^ right);
    case '&&': return left !== 0n && right !== 0n ? 1n : 0n;
    case '||': return left !== 0n || right !== 0n ? 1n : 0n;
    // gas: comparisons give -1 for true.
    case '==': return left === right ? -1n : 0n;
    case '!=': case '<>': return left !== right ? -1n : 0n;
    case '<': return left < right ? -1n : 0n;
    case '>': return left > right ? -1n : 0n;
    case '<=': return left <= right ? -1n : 0n;
    case '>=': return left >= right ? -1n : 0n;
    default: return undefined;
  }
}

/**
 * The value of `text` as a signed 64-bit number, or why it has none. `names` gives the
 * constants the file (or its includes) defines.
 */
export function evaluateExpression(text: string, names: ReadonlyMap<string, bigint>): ExpressionValue {
  if (text.includes('%') && /%[a-z_]+\s*\(/.test(text)) return NOT_CONSTANT;
  const tokens = tokenize(text);
  if (tokens === 'tooLarge') return { kind: 'tooLarge' };
  if (tokens === undefined || tokens.length === 0) return NOT_CONSTANT;
  const value = new Parser(tokens, names).parse();
  return value === undefined ? NOT_CONSTANT : { kind: 'constant', value };
}
