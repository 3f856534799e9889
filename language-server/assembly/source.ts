// Splits GNU assembler source (RISC-V `.s`, and `.S` run through the C preprocessor) into
// statements with exact columns: labels, the mnemonic or directive, and its operands. Comments
// are blanked rather than removed so every column still points into the original text.

export interface SourceToken {
  readonly text: string;
  readonly line: number;
  /** Column of the first character. */
  readonly start: number;
  /** Column after the last character. */
  readonly end: number;
}

export type Privilege = 'M' | 'S' | 'U';

export interface Statement {
  readonly line: number;
  readonly labels: readonly SourceToken[];
  /** The instruction, macro or directive name; absent on a line with only labels. */
  readonly mnemonic?: SourceToken;
  /** Operands split at top-level commas, trimmed. */
  readonly operands: readonly SourceToken[];
  /** Column just after the mnemonic, where the operand field starts. */
  readonly operandStart: number;
  /** The privilege the statement runs at: the setting, or the last `ringside: privilege=X` comment above it. */
  readonly privilege: Privilege;
  /** Inside a `.macro` body: operands may name macro arguments (`\name`) and are not checked. */
  readonly inMacro: boolean;
  /**
   * Inside `#if`/`#ifdef`/`#ifndef` (other than an `__ASSEMBLER__` test): built only in some
   * configurations, perhaps for another privilege (Linux's CONFIG_RISCV_M_MODE).
   */
  readonly conditional: boolean;
}

export interface PreprocessorLine {
  readonly line: number;
  /** `include`, `define`, `if`, ... */
  readonly directive: string;
  /** The text after the directive name. */
  readonly argument: string;
  readonly argumentStart: number;
}

export interface ParsedSource {
  readonly statements: readonly Statement[];
  readonly preprocessorLines: readonly PreprocessorLine[];
  /** The lines with comments and preprocessor lines blanked (same lengths as the input). */
  readonly codeLines: readonly string[];
}

const PREPROCESSOR_DIRECTIVES = new Set([
  'include', 'include_next', 'define', 'undef', 'if', 'ifdef', 'ifndef', 'elif', 'elifdef', 'elifndef', 'else',
  'endif', 'error', 'warning', 'pragma', 'line', 'ident',
]);

const PRIVILEGE_COMMENT = /ringside:\s*privilege\s*=\s*([MSUmsu])\b/;

export const SYMBOL_CHARACTERS = /[A-Za-z0-9_.$\\@]/;

function blank(text: string): string {
  return text.replace(/[^\n]/g, ' ');
}

/** Column ranges of the top-level pieces of `text` separated by `separator` (outside strings and parentheses). */
function splitTopLevel(text: string, separator: string, offset: number): Array<{ text: string; start: number }> {
  const pieces: Array<{ text: string; start: number }> = [];
  let depth = 0;
  let quote: string | undefined;
  let pieceStart = 0;
  for (let i = 0; i < text.length; i++) {
    const character = text[i];
    if (quote !== undefined) {
      if (character === '\\') i++;
      else if (character === quote) quote = undefined;
      continue;
    }
    if (character === '"') quote = '"';
    else if (character === "'" ) {
      // A character constant 'c (gas) or 'c' (C style): skip the character it quotes.
      i += text[i + 1] === '\\' ? 2 : 1;
      if (text[i + 1] === "'") i++;
    } else if (character === '(' || character === '[') depth++;
    else if ((character === ')' || character === ']') && depth > 0) depth--;
    else if (character === separator && depth === 0) {
      pieces.push({ text: text.slice(pieceStart, i), start: offset + pieceStart });
      pieceStart = i + 1;
    }
  }
  pieces.push({ text: text.slice(pieceStart), start: offset + pieceStart });
  return pieces;
}

function trimmedToken(piece: { text: string; start: number }, line: number): SourceToken | undefined {
  const leading = piece.text.length - piece.text.trimStart().length;
  const text = piece.text.trim();
  if (text === '') return undefined;
  const start = piece.start + leading;
  return { text, line, start, end: start + text.length };
}

/**
 * Blanks comments (`#` to end of line, `//`, `/* *\/`) and preprocessor lines, remembering
 * the preprocessor lines and the privilege comments.
 */
function stripComments(lines: readonly string[], preprocessed: boolean): {
  codeLines: string[];
  preprocessorLines: PreprocessorLine[];
  privilegeByLine: Map<number, Privilege>;
  conditionalLines: Set<number>;
} {
  const codeLines: string[] = [];
  const preprocessorLines: PreprocessorLine[] = [];
  const privilegeByLine = new Map<number, Privilege>();
  const conditionalLines = new Set<number>();
  // One entry per open #if: whether it makes the code in it configuration-dependent.
  const conditionals: boolean[] = [];
  let inBlockComment = false;
  let continuingPreprocessor = false;
  // `#if 0` regions: the depth of conditionals inside the one being skipped.
  let disabledDepth = 0;
  for (let lineNumber = 0; lineNumber < lines.length; lineNumber++) {
    const text = lines[lineNumber];
    const privilege = PRIVILEGE_COMMENT.exec(text);
    if (privilege !== null) privilegeByLine.set(lineNumber, privilege[1].toUpperCase() as Privilege);
    if (continuingPreprocessor) {
      continuingPreprocessor = text.trimEnd().endsWith('\\');
      codeLines.push(blank(text));
      continue;
    }
    if (!inBlockComment && preprocessed) {
      const directive = /^\s*#\s*([A-Za-z_]+)/.exec(text);
      if (directive !== null && PREPROCESSOR_DIRECTIVES.has(directive[1])) {
        const name = directive[1];
        const argumentStart = directive[0].length + (text.slice(directive[0].length).length - text.slice(directive[0].length).trimStart().length);
        const argument = text.slice(argumentStart).replace(/\/\*.*?\*\/|\/\/.*$/g, '').trim();
        preprocessorLines.push({ line: lineNumber, directive: name, argument, argumentStart });
        if (name.startsWith('if')) conditionals.push(!/^!?\s*(defined\s*\(?\s*)?__ASSEMBLER__\b/.test(argument));
        else if (name === 'endif') conditionals.pop();
        if (disabledDepth > 0) {
          if (name.startsWith('if')) disabledDepth++;
          else if (name === 'endif' || ((name === 'else' || name.startsWith('elif')) && disabledDepth === 1)) disabledDepth--;
        } else if (name === 'if' && /^0\b/.test(argument)) disabledDepth = 1;
        continuingPreprocessor = text.trimEnd().endsWith('\\');
        codeLines.push(blank(text));
        if (text.includes('/*') && !text.slice(text.lastIndexOf('/*')).includes('*/')) inBlockComment = true;
        continue;
      }
    }
    if (disabledDepth > 0) {
      codeLines.push(blank(text));
      continue;
    }
    if (conditionals.includes(true)) conditionalLines.add(lineNumber);
    let code = '';
    let quote: string | undefined;
    for (let i = 0; i < text.length; i++) {
      const character = text[i];
      if (inBlockComment) {
        if (character === '*' && text[i + 1] === '/') {
          inBlockComment = false;
          code += '  ';
          i++;
        } else code += ' ';
        continue;
      }
      if (quote !== undefined) {
        code += character;
        if (character === '\\' && i + 1 < text.length) code += text[++i];
        else if (character === quote) quote = undefined;
        continue;
      }
      if (character === '"') {
        quote = '"';
        code += character;
      } else if (character === "'") {
        // Character constant: copy it so a quoted '#' or ';' is not taken for syntax.
        const length = text[i + 1] === '\\' ? 3 : 2;
        const closing = text[i + length] === "'" ? 1 : 0;
        code += text.slice(i, i + length + closing);
        i += length + closing - 1;
      } else if (character === '/' && text[i + 1] === '*') {
        inBlockComment = true;
        code += '  ';
        i++;
      } else if (character === '#' || (character === '/' && text[i + 1] === '/')) {
        code += blank(text.slice(i));
        break;
      } else code += character;
    }
    codeLines.push(code);
  }
  return { codeLines, preprocessorLines, privilegeByLine, conditionalLines };
}

/**
 * Parses a whole document. `defaultPrivilege` applies until the first `ringside: privilege=X`
 * comment. `preprocessed`: the file goes through the C preprocessor first (`.S`), so `#include`,
 * `#define`, `#if` lines are directives; in a `.s` file every `#` starts a comment.
 */
export function parseAssembly(text: string, defaultPrivilege: Privilege, preprocessed = true): ParsedSource {
  const lines = text.split(/\r?\n/);
  const { codeLines, preprocessorLines, privilegeByLine, conditionalLines } = stripComments(lines, preprocessed);
  const statements: Statement[] = [];
  let privilege = defaultPrivilege;
  let macroDepth = 0;
  for (let line = 0; line < codeLines.length; line++) {
    privilege = privilegeByLine.get(line) ?? privilege;
    const code = codeLines[line];
    if (code.trim() === '') continue;
    for (const piece of splitTopLevel(code, ';', 0)) {
      const statement = parseStatement(piece.text, piece.start, line, privilege, macroDepth > 0, conditionalLines.has(line));
      if (statement === undefined) continue;
      const name = statement.mnemonic?.text.toLowerCase();
      if (name === '.macro') macroDepth++;
      else if ((name === '.endm' || name === '.endmacro') && macroDepth > 0) macroDepth--;
      statements.push(statement);
    }
  }
  return { statements, preprocessorLines, codeLines };
}

function parseStatement(text: string, offset: number, line: number, privilege: Privilege, inMacro: boolean, conditional: boolean): Statement | undefined {
  const labels: SourceToken[] = [];
  let position = 0;
  for (;;) {
    while (position < text.length && /\s/.test(text[position])) position++;
    const label = /^([A-Za-z0-9_.$\\@]+|"[^"]*")\s*:(?!=)/.exec(text.slice(position));
    if (label === null) break;
    labels.push({ text: label[1], line, start: offset + position, end: offset + position + label[1].length });
    position += label[0].length;
  }
  while (position < text.length && /\s/.test(text[position])) position++;
  let end = position;
  while (end < text.length && SYMBOL_CHARACTERS.test(text[end])) end++;
  if (end === position) {
    if (labels.length === 0 && text.trim() === '') return undefined;
    return { line, labels, operands: [], operandStart: offset + position, privilege, inMacro, conditional };
  }
  const mnemonic: SourceToken = { text: text.slice(position, end), line, start: offset + position, end: offset + end };
  const rest = text.slice(end);
  const operandField = rest.trim() === '' ? [] : splitTopLevel(rest, ',', offset + end);
  const operands = operandField.map((piece) => trimmedToken(piece, line)).filter((token): token is SourceToken => token !== undefined);
  return { line, labels, mnemonic, operands, operandStart: offset + end, privilege, inMacro, conditional };
}
