// Checks an assembly document the way the assembler and the CPU would judge it: unknown
// mnemonics, immediates out of their field's range, and CSR accesses and privileged
// instructions that trap at the privilege the code runs in. Names the file defines (#define,
// .equ/.set, .macro, also in the headers it includes) are known, so macros are not flagged
// and constant names take part in range checks.

import { dirname, isAbsolute, join } from 'node:path';
import { Diagnostic, DiagnosticSeverity } from 'vscode-languageserver';
import { csrNumber } from '../../vmm-core/isa/csr-names';
import { illegalCsrAccess, privilegeAllows } from './csrs';
import { evaluateExpression } from './expressions';
import { lookUpMnemonic, type ImmediateKind, type ImmediateOperand, type MnemonicInfo } from './instructions';
import { parseAssembly, type ParsedSource, type Privilege, type SourceToken, type Statement } from './source';

export interface AnalysisSettings {
  /** The privilege code runs at unless a `ringside: privilege=X` comment says otherwise. */
  readonly privilege: Privilege;
  /** Folders searched for `#include <...>` and, after the file's own folder, `#include "..."`. */
  readonly includePaths: readonly string[];
}

export interface Definition {
  readonly kind: 'macro' | 'constant' | 'symbol';
  readonly name: string;
  /** File the name is defined in (undefined: this document). */
  readonly file?: string;
  readonly line: number;
  readonly value?: bigint;
}

export interface Analysis {
  readonly parsed: ParsedSource;
  readonly definitions: ReadonlyMap<string, Definition>;
  readonly diagnostics: Diagnostic[];
}

/** Reads an included file; undefined when it does not exist. */
export type FileReader = (path: string) => string | undefined;

const MAX_INCLUDE_DEPTH = 8;

interface DefinitionScan {
  readonly definitions: Map<string, Definition>;
  /** Text of object-like #define / .equ values, evaluated once every name is known. */
  readonly pendingValues: Map<string, string>;
  /** The document's own includes that were not found. */
  readonly missingIncludes: Array<{ target: string; where: SourceToken }>;
  /** Names given different values in different places: never taken as constants. */
  readonly ambiguous: Set<string>;
  unresolvedIncludes: number;
}

function collectDefinitions(parsed: ParsedSource, file: string | undefined, scan: DefinitionScan,
  settings: AnalysisSettings, readFile: FileReader, documentPath: string | undefined, depth: number, visited: Set<string>): void {
  const define = (definition: Definition, valueText?: string): void => {
    if (!scan.definitions.has(definition.name)) scan.definitions.set(definition.name, definition);
    if (valueText === undefined) return;
    // Defined twice with different values (in #ifdef branches, or a .set counter): no one value.
    const earlier = scan.pendingValues.get(definition.name);
    if (earlier === undefined && !scan.ambiguous.has(definition.name)) scan.pendingValues.set(definition.name, valueText);
    else if (earlier !== undefined && earlier.trim() !== valueText.trim()) {
      scan.pendingValues.delete(definition.name);
      scan.ambiguous.add(definition.name);
    }
  };
  const include = (target: string, quoted: boolean, where: SourceToken): void => {
    if (depth >= MAX_INCLUDE_DEPTH) return;
    const folders = [...(quoted && documentPath !== undefined ? [dirname(documentPath)] : []), ...settings.includePaths];
    for (const folder of isAbsolute(target) ? [''] : folders) {
      const path = folder === '' ? target : join(folder, target);
      if (visited.has(path)) return;
      const text = readFile(path);
      if (text === undefined) continue;
      visited.add(path);
      collectDefinitions(parseAssembly(text, settings.privilege), path, scan, settings, readFile, path, depth + 1, visited);
      return;
    }
    scan.unresolvedIncludes++;
    if (depth === 0) scan.missingIncludes.push({ target, where });
  };
  for (const line of parsed.preprocessorLines) {
    if (line.directive === 'define') {
      const match = /^([A-Za-z_]\w*)(\()?\s*(.*)$/.exec(line.argument);
      if (match === null) continue;
      if (match[2] !== undefined) define({ kind: 'macro', name: match[1], file, line: line.line });
      else define({ kind: 'constant', name: match[1], file, line: line.line }, match[3]);
    } else if (line.directive === 'include' || line.directive === 'include_next') {
      const target = /^(?:"([^"]+)"|<([^>]+)>)/.exec(line.argument);
      const where = { text: target?.[0] ?? line.argument, line: line.line, start: line.argumentStart, end: line.argumentStart + (target?.[0] ?? line.argument).length };
      if (target !== null) include(target[1] ?? target[2], target[1] !== undefined, where);
      else scan.unresolvedIncludes++;
    }
  }
  for (const statement of parsed.statements) {
    for (const label of statement.labels) define({ kind: 'symbol', name: label.text, file, line: statement.line });
    const name = statement.mnemonic?.text;
    if (name === undefined) continue;
    const directive = name.toLowerCase();
    if (directive === '.macro' && statement.operands.length > 0) {
      const macroName = /^[A-Za-z_.$][\w.$]*/.exec(statement.operands[0].text)?.[0];
      if (macroName !== undefined) define({ kind: 'macro', name: macroName, file, line: statement.line });
    } else if ((directive === '.equ' || directive === '.set' || directive === '.equiv' || directive === '.eqv') && statement.operands.length >= 2) {
      define({ kind: 'constant', name: statement.operands[0].text, file, line: statement.line }, statement.operands[1].text);
    } else if (directive === '.include' && statement.operands.length > 0) {
      const target = /^"([^"]+)"/.exec(statement.operands[0].text);
      if (target !== null) include(target[1], true, statement.operands[0]);
    } else if (statement.operands.length > 0 && /^==?[^=]/.test(statement.operands[0].text)) {
      // `name = expression` assigns a symbol.
      define({ kind: 'constant', name, file, line: statement.line }, statement.operands[0].text.replace(/^==?/, ''));
    }
  }
}

function resolveValues(scan: DefinitionScan): void {
  const values = new Map<string, bigint>();
  // Each pass resolves the names whose values use only names resolved before.
  for (let pass = 0; pass < 8; pass++) {
    let progress = false;
    for (const [name, text] of scan.pendingValues) {
      if (values.has(name)) continue;
      const result = evaluateExpression(text, values);
      if (result.kind === 'constant') {
        values.set(name, result.value);
        progress = true;
      }
    }
    if (!progress) break;
  }
  for (const [name, value] of values) {
    const definition = scan.definitions.get(name);
    if (definition !== undefined) scan.definitions.set(name, { ...definition, value });
  }
}

function constantValues(definitions: ReadonlyMap<string, Definition>): Map<string, bigint> {
  const values = new Map<string, bigint>();
  for (const [name, definition] of definitions) if (definition.value !== undefined) values.set(name, definition.value);
  return values;
}

const RANGES: Record<ImmediateKind, { check: (value: bigint) => boolean; words: string }> = {
  signed12: { check: (value) => value >= -2048n && value <= 2047n, words: '-2048..2047 (signed 12 bits)' },
  shift64: { check: (value) => BigInt.asUintN(64, value) <= 63n, words: '0..63' },
  shift32: { check: (value) => BigInt.asUintN(64, value) <= 31n, words: '0..31' },
  upper20: { check: (value) => BigInt.asUintN(64, value) <= 0xfffffn, words: '0..1048575 (20 bits)' },
  unsigned5: { check: (value) => BigInt.asUintN(64, value) <= 31n, words: '0..31 (unsigned 5 bits)' },
  any64: { check: () => true, words: 'any 64-bit value' },
  compressedSigned6: { check: (value) => value >= -32n && value <= 31n, words: '-32..31 (signed 6 bits)' },
  compressedShift: { check: (value) => BigInt.asUintN(64, value) >= 1n && BigInt.asUintN(64, value) <= 63n, words: '1..63' },
  compressedUpper: {
    check: (value) => { const field = BigInt.asUintN(64, value); return (field >= 1n && field <= 31n) || (field >= 0xfffe0n && field <= 0xfffffn); },
    words: '1..31 or 0xfffe0..0xfffff',
  },
  compressedStackAdjust: { check: (value) => value !== 0n && value >= -512n && value <= 496n && value % 16n === 0n, words: 'a non-zero multiple of 16 in -512..496' },
  compressedStackAddress: { check: (value) => value >= 4n && value <= 1020n && value % 4n === 0n, words: 'a multiple of 4 in 4..1020' },
  compressedWordOffset: { check: (value) => value >= 0n && value <= 124n && value % 4n === 0n, words: 'a multiple of 4 in 0..124' },
  compressedDoubleOffset: { check: (value) => value >= 0n && value <= 248n && value % 8n === 0n, words: 'a multiple of 8 in 0..248' },
  compressedStackWordOffset: { check: (value) => value >= 0n && value <= 252n && value % 4n === 0n, words: 'a multiple of 4 in 0..252' },
  compressedStackDoubleOffset: { check: (value) => value >= 0n && value <= 504n && value % 8n === 0n, words: 'a multiple of 8 in 0..504' },
};

function diagnostic(token: SourceToken, message: string, severity: DiagnosticSeverity, code: string): Diagnostic {
  return {
    range: { start: { line: token.line, character: token.start }, end: { line: token.line, character: token.end } },
    message,
    severity,
    source: 'ringside',
    code,
  };
}

/** The offset part of `offset(register)`, as a token; undefined when the operand has no register part. */
function offsetOfAddress(operand: SourceToken): SourceToken | undefined {
  const match = /^(.*?)\(\s*[A-Za-z][A-Za-z0-9]*\s*\)$/.exec(operand.text);
  if (match === null) return undefined;
  const text = match[1].trimEnd();
  return { text: text === '' ? '0' : text, line: operand.line, start: operand.start, end: operand.start + Math.max(text.length, 1) };
}

function immediateRules(info: MnemonicInfo, statement: Statement): readonly ImmediateOperand[] {
  if (info.kind === 'pseudo') return info.pseudo.immediates ?? [];
  if (info.spec.format === 'Jalr') {
    if (statement.operands.length === 3) return [{ index: 2, kind: 'signed12' }];
    if (statement.operands.length === 2) return [{ index: 1, kind: 'signed12', offsetOfAddress: true }];
    return [];
  }
  return info.immediates;
}

const ZERO_REGISTERS = new Set(['x0', 'zero']);

function checkStatement(statement: Statement, info: MnemonicInfo, values: ReadonlyMap<string, bigint>, context: { unresolvedIncludes: number; definitions: ReadonlyMap<string, Definition> },
  diagnostics: Diagnostic[]): void {
  const mnemonic = statement.mnemonic!;
  const name = mnemonic.text.toLowerCase();
  const usable = (operand: SourceToken): boolean => !(statement.inMacro && operand.text.includes('\\'));
  for (const rule of immediateRules(info, statement)) {
    const operand = statement.operands[rule.index];
    if (operand === undefined || !usable(operand)) continue;
    const immediate = rule.offsetOfAddress ? offsetOfAddress(operand) : operand;
    if (immediate === undefined) continue;
    const result = evaluateExpression(immediate.text, values);
    if (result.kind === 'tooLarge') {
      diagnostics.push(diagnostic(immediate, `${immediate.text} does not fit in 64 bits`, DiagnosticSeverity.Error, 'immediate-range'));
    } else if (result.kind === 'constant' && !RANGES[rule.kind].check(result.value)) {
      diagnostics.push(diagnostic(immediate,
        `${name}: immediate ${immediate.text}${/^-?(0|[1-9]\d*)$/.test(immediate.text) ? '' : ` (= ${result.value})`} is out of range: ${RANGES[rule.kind].words}`,
        DiagnosticSeverity.Error, 'immediate-range'));
    }
  }
  const access = info.kind === 'instruction' ? info.csrAccess : info.pseudo.csrAccess;
  if (access !== undefined) {
    const operand = statement.operands[access.csrIndex];
    if (operand === undefined || !usable(operand)) return;
    // gas takes CSR names in lower case only; anything else must be a constant expression.
    let number = operand.text === operand.text.toLowerCase() ? csrNumber(operand.text) : undefined;
    if (number === undefined) {
      const result = evaluateExpression(operand.text, values);
      if (result.kind === 'notConstant' && /^[A-Za-z_.$][\w.$]*$/.test(operand.text) && !context.definitions.has(operand.text) &&
        !(context.unresolvedIncludes > 0 && /^[A-Z0-9_]+$/.test(operand.text))) {
        diagnostics.push(diagnostic(operand, `${name}: unknown CSR '${operand.text}'${csrNumber(operand.text) !== undefined ? ` (CSR names are lower case: ${operand.text.toLowerCase()})` : ''}`,
          DiagnosticSeverity.Error, 'unknown-csr'));
        return;
      }
      if (result.kind === 'constant') {
        if (result.value < 0n || result.value > 0xfffn) {
          diagnostics.push(diagnostic(operand, `${name}: CSR number ${operand.text} is out of range: 0..4095 (12 bits)`, DiagnosticSeverity.Error, 'immediate-range'));
          return;
        }
        number = Number(result.value);
      }
    }
    if (number === undefined) return;
    let writes = access.writes === 'always';
    if (access.writes === 'unlessSourceIsZero') {
      const source = statement.operands[access.sourceIndex!];
      const sourceText = source?.text.toLowerCase() ?? '';
      const constant = evaluateExpression(sourceText, values);
      writes = !(ZERO_REGISTERS.has(sourceText) || (constant.kind === 'constant' && constant.value === 0n));
    }
    const problem = illegalCsrAccess(number, statement.privilege, writes);
    // Conditionally built code may be another configuration's, run at another privilege.
    if (problem !== undefined && !(statement.conditional && problem.kind === 'privilege')) {
      diagnostics.push(diagnostic(operand, `${name}: ${problem.message}`,
        problem.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning, problem.code));
    }
  }
  if (info.kind === 'instruction' && info.spec.lowestPrivilege !== undefined && !statement.conditional &&
    !privilegeAllows(statement.privilege, info.spec.lowestPrivilege)) {
    diagnostics.push(diagnostic(mnemonic,
      `${name} needs ${info.spec.lowestPrivilege}-mode or higher; this code runs in ${statement.privilege}-mode, where it raises an illegal-instruction exception`,
      DiagnosticSeverity.Error, 'instruction-privilege'));
  }
}

/** Analyses `text`, the contents of the file at `documentPath` (used to find its includes). */
export function analyseAssembly(text: string, documentPath: string | undefined, settings: AnalysisSettings, readFile: FileReader): Analysis {
  // Only a lower-case `.s` file skips the C preprocessor (as gcc decides).
  const parsed = parseAssembly(text, settings.privilege, documentPath === undefined || !documentPath.endsWith('.s'));
  const scan: DefinitionScan = { definitions: new Map(), pendingValues: new Map(), missingIncludes: [], ambiguous: new Set(), unresolvedIncludes: 0 };
  collectDefinitions(parsed, undefined, scan, settings, readFile, documentPath, 0, new Set(documentPath === undefined ? [] : [documentPath]));
  resolveValues(scan);
  const values = constantValues(scan.definitions);
  const diagnostics: Diagnostic[] = scan.missingIncludes.map(({ target, where }) => diagnostic(where,
    `'${target}' was not found in the file's folder or ringside.asm.includePaths: the macros and constants it defines are unknown here`,
    DiagnosticSeverity.Information, 'include-not-found'));
  for (const statement of parsed.statements) {
    const mnemonic = statement.mnemonic;
    if (mnemonic === undefined || mnemonic.text.startsWith('.')) continue;
    if (mnemonic.text.includes('\\') && statement.inMacro) continue;
    const following = parsed.codeLines[statement.line].slice(statement.operandStart);
    // `NAME(...)` is a C preprocessor macro call; `name = value` assigns a symbol.
    if (following.startsWith('(') || /^\s*==?[^=]/.test(following)) continue;
    const info = lookUpMnemonic(mnemonic.text);
    if (info === undefined) {
      if (scan.definitions.get(mnemonic.text)?.kind === 'macro' || scan.definitions.get(mnemonic.text)?.kind === 'constant') continue;
      // A header that was not found may define upper-case macros (REG_S, SAVE_ALL).
      if (scan.unresolvedIncludes > 0 && /^[A-Z0-9_]+$/.test(mnemonic.text)) continue;
      // With a header missing, the word may be one of its macros: a warning, not an error.
      const headerMissing = scan.unresolvedIncludes > 0;
      diagnostics.push(diagnostic(mnemonic, `unknown instruction '${mnemonic.text}': not an RV64GC instruction, pseudo-instruction or macro defined here${headerMissing ? ' (or a macro of a header that was not found)' : ''}`,
        headerMissing ? DiagnosticSeverity.Warning : DiagnosticSeverity.Error, 'unknown-mnemonic'));
      continue;
    }
    checkStatement(statement, info, values, scan, diagnostics);
  }
  return { parsed, definitions: scan.definitions, diagnostics };
}
