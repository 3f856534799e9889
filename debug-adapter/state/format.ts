// Number parsing and formatting shared by the register, expression and device views: what a
// user types into a register or watch (decimal, hex, binary, octal, negative) and how 64-bit
// values are shown.

export class ValueParseError extends Error {
  override name = 'ValueParseError';
}

const TWO_POW_64 = 1n << 64n;
const INTEGER_PATTERN = /^([+-]?)(0x|0b|0o|)([0-9a-f_]+)$/i;
const DIGITS: Record<string, RegExp> = { '0x': /^[0-9a-f]+(_[0-9a-f]+)*$/i, '0b': /^[01]+(_[01]+)*$/, '0o': /^[0-7]+(_[0-7]+)*$/, '': /^[0-9]+(_[0-9]+)*$/ };

/**
 * Parses an integer as typed by a user: decimal, 0x hex, 0b binary, 0o octal, with an optional
 * sign and `_` separators. Returns the unsigned 64-bit value (negative numbers are their two's
 * complement); throws ValueParseError for anything else or a number outside -2^63..2^64-1.
 */
export function parseInteger64(text: string): bigint {
  const trimmed = text.trim();
  const match = INTEGER_PATTERN.exec(trimmed);
  const prefix = match?.[2].toLowerCase() ?? '';
  if (match === null || !DIGITS[prefix].test(match[3])) {
    throw new ValueParseError(`'${text}' is not a number (use decimal, 0x hex, 0b binary or 0o octal)`);
  }
  const magnitude = BigInt(prefix + match[3].replace(/_/g, ''));
  const value = match[1] === '-' ? -magnitude : magnitude;
  if (value >= TWO_POW_64 || value < -(1n << 63n)) throw new ValueParseError(`${trimmed} does not fit in 64 bits`);
  return BigInt.asUintN(64, value);
}

/** 0x-prefixed lowercase hex of the unsigned value of `value` in `bits` bits; `pad` zero-fills to the full width. */
export function formatHex(value: bigint, bits = 64, pad = false): string {
  const digits = BigInt.asUintN(bits, value).toString(16);
  return `0x${pad ? digits.padStart(Math.ceil(bits / 4), '0') : digits}`;
}

/** The shortest decimal text that reads back as the same double (-0 keeps its sign). */
export function formatDouble(value: number): string {
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

/** The shortest decimal text that reads back as the same single-precision value. */
export function formatSingle(value: number): string {
  if (Object.is(value, -0)) return '-0';
  if (!Number.isFinite(value)) return String(value);
  const single = Math.fround(value);
  for (let precision = 1; precision <= 9; precision++) {
    const candidate = Number(single.toPrecision(precision));
    if (Math.fround(candidate) === single) return String(candidate);
  }
  return String(single);
}
