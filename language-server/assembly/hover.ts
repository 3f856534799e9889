// Hover and completion for RISC-V assembly: instructions (encoding, extension, Popek–Goldberg
// class from the one instruction table), CSRs (fields and lowest privilege), registers, and
// the macros and constants the file defines.

import { CompletionItemKind, MarkupKind, type CompletionItem, type Hover, type Position } from 'vscode-languageserver';
import { csrNumber } from '../../vmm-core/isa/csr-names';
import { FLOAT_REGISTER_NAMES, INTEGER_REGISTER_NAMES, parseFloatRegister, parseIntegerRegister } from '../../vmm-core/isa/registers';
import type { InstructionSpec } from '../../vmm-core/isa/table';
import type { Analysis } from './analysis';
import { allCsrNames, csrAccessRules, describeCsr } from './csrs';
import { allMnemonics, classOf, describeClass, encodingFields, lookUpMnemonic, type MnemonicInfo } from './instructions';
import type { SourceToken, Statement } from './source';

const EXTENSION_WORDS: Record<string, string> = {
  I: 'RV64I base integer', M: 'M (multiply/divide)', A: 'A (atomics)', F: 'F (single-precision float)',
  D: 'D (double-precision float)', C: 'C (compressed)', Zicsr: 'Zicsr (CSR access)', Zifencei: 'Zifencei (instruction fence)',
  Privileged: 'privileged architecture', Zihintpause: 'Zihintpause', Zba: 'Zba (address generation)',
  Zbb: 'Zbb (basic bit manipulation)', Zbc: 'Zbc (carry-less multiply)', Zbs: 'Zbs (single-bit)',
};

function hex(value: number, digits: number): string {
  return `0x${value.toString(16).padStart(digits, '0')}`;
}

function encodingTable(spec: InstructionSpec): string {
  const fields = encodingFields(spec);
  const header = fields.map((field) => (field.high === field.low ? `${field.high}` : `${field.high}–${field.low}`));
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    `| ${fields.map((field) => field.text).join(' | ')} |`,
    '',
    `match \`${hex(spec.match, spec.length * 2)}\` mask \`${hex(spec.mask, spec.length * 2)}\` · ${spec.length * 8}-bit · format ${spec.format}`,
  ].join('\n');
}

/** Markdown for a mnemonic: what it is, its class, its encoding. */
export function describeMnemonic(info: MnemonicInfo): string {
  const sensitivity = describeClass(classOf(info));
  if (info.kind === 'instruction') {
    const spec = info.spec;
    const lines = [
      `**${spec.mnemonic}** — extension ${EXTENSION_WORDS[spec.extension] ?? spec.extension}`,
      '',
      `Popek–Goldberg class: **${sensitivity.title}** — ${sensitivity.explanation}.`,
    ];
    if (spec.lowestPrivilege !== undefined) lines.push('', `Lowest privilege: **${spec.lowestPrivilege}**-mode.`);
    if (spec.format === 'Csr' || spec.format === 'CsrImm') lines.push('', 'Lowest privilege: that of the CSR (its number\'s bits 9:8).');
    lines.push('', encodingTable(spec));
    return lines.join('\n');
  }
  const pseudo = info.pseudo;
  const lines = [
    `**${pseudo.mnemonic}** — pseudo-instruction: \`${pseudo.syntax}\``,
    '',
    `Assembles to \`${pseudo.expansion}\`.`,
    '',
    `Popek–Goldberg class: **${sensitivity.title}** — ${sensitivity.explanation}.`,
  ];
  const extensions = [...new Set(info.specs.map((spec) => EXTENSION_WORDS[spec.extension] ?? spec.extension))];
  if (extensions.length > 0) lines.push('', `Extension: ${extensions.join(', ')}.`);
  return lines.join('\n');
}

function tokenAt(tokens: readonly (SourceToken | undefined)[], character: number): SourceToken | undefined {
  return tokens.find((token) => token !== undefined && character >= token.start && character <= token.end);
}

/** The word (symbol characters) around `character` in `token`. */
function wordIn(token: SourceToken, character: number): SourceToken | undefined {
  const pattern = /[A-Za-z0-9_.$]+/g;
  for (let match = pattern.exec(token.text); match !== null; match = pattern.exec(token.text)) {
    const start = token.start + match.index;
    if (character >= start && character <= start + match[0].length) {
      return { text: match[0], line: token.line, start, end: start + match[0].length };
    }
  }
  return undefined;
}

function rangeOf(token: SourceToken): Hover['range'] {
  return { start: { line: token.line, character: token.start }, end: { line: token.line, character: token.end } };
}

function markdown(value: string, token: SourceToken): Hover {
  return { contents: { kind: MarkupKind.Markdown, value }, range: rangeOf(token) };
}

function statementAt(analysis: Analysis, position: Position): Statement | undefined {
  return analysis.parsed.statements.find((statement) => statement.line === position.line &&
    [statement.mnemonic, ...statement.operands, ...statement.labels].some((token) => token !== undefined &&
      position.character >= token.start && position.character <= token.end));
}

export function assemblyHover(analysis: Analysis, position: Position): Hover | null {
  const statement = statementAt(analysis, position);
  if (statement === undefined) return null;
  const mnemonic = statement.mnemonic;
  if (mnemonic !== undefined && position.character >= mnemonic.start && position.character <= mnemonic.end) {
    const info = lookUpMnemonic(mnemonic.text);
    if (info !== undefined) return markdown(describeMnemonic(info), mnemonic);
    const definition = analysis.definitions.get(mnemonic.text);
    if (definition !== undefined) return markdown(`**${definition.name}** — ${definition.kind} defined ${definition.file === undefined ? 'in this file' : `in ${definition.file}`}, line ${definition.line + 1}`, mnemonic);
    return null;
  }
  const operand = tokenAt(statement.operands, position.character);
  if (operand === undefined) return null;
  const word = wordIn(operand, position.character);
  if (word === undefined) return null;
  const info = mnemonic === undefined ? undefined : lookUpMnemonic(mnemonic.text);
  const access = info === undefined ? undefined : info.kind === 'instruction' ? info.csrAccess : info.pseudo.csrAccess;
  const isCsrOperand = access !== undefined && statement.operands[access.csrIndex] === operand;
  const csr = csrNumber(word.text);
  // A CSR name elsewhere is only taken for one as a macro's argument (SAVE_REGS mscratch).
  if (csr !== undefined && (isCsrOperand || (info === undefined && mnemonic?.text.startsWith('.') === false))) {
    return markdown(describeCsr(csr), word);
  }
  const integer = parseIntegerRegister(word.text);
  if (integer !== undefined && /^[a-z][a-z0-9]*$/.test(word.text)) {
    return markdown(`**${word.text}** — integer register x${integer} (ABI name ${INTEGER_REGISTER_NAMES[integer]})`, word);
  }
  const float = parseFloatRegister(word.text);
  if (float !== undefined && /^f[a-z0-9]*$/.test(word.text)) {
    return markdown(`**${word.text}** — floating-point register f${float} (ABI name ${FLOAT_REGISTER_NAMES[float]})`, word);
  }
  const definition = analysis.definitions.get(word.text);
  if (definition !== undefined) {
    const value = definition.value === undefined ? '' : ` = ${definition.value} (0x${BigInt.asUintN(64, definition.value).toString(16)})`;
    return markdown(`**${definition.name}**${value} — ${definition.kind} defined ${definition.file === undefined ? 'in this file' : `in ${definition.file}`}, line ${definition.line + 1}`, word);
  }
  return null;
}

/** Completion at `position` of `lineText`: mnemonics where the mnemonic goes, CSR names in a CSR operand, else registers. */
export function assemblyCompletion(analysis: Analysis, lineText: string, position: Position): CompletionItem[] {
  const before = lineText.slice(0, position.character);
  // Labels and earlier statements on the line do not matter: only the current statement.
  const statementText = before.slice(before.lastIndexOf(';') + 1).replace(/^\s*([A-Za-z0-9_.$\\@]+\s*:\s*)*/, '');
  const mnemonicMatch = /^([A-Za-z0-9_.$]*)$/.exec(statementText.trimStart());
  if (mnemonicMatch !== null) {
    const items: CompletionItem[] = allMnemonics().map((name) => {
      const info = lookUpMnemonic(name)!;
      const sensitivity = describeClass(classOf(info));
      return {
        label: name,
        kind: info.kind === 'pseudo' ? CompletionItemKind.Snippet : CompletionItemKind.Keyword,
        detail: info.kind === 'pseudo' ? `pseudo-instruction · ${sensitivity.title}` : `${info.spec.extension} · ${sensitivity.title}`,
        documentation: { kind: MarkupKind.Markdown, value: describeMnemonic(info) },
      };
    });
    for (const definition of analysis.definitions.values()) {
      if (definition.kind === 'macro') items.push({ label: definition.name, kind: CompletionItemKind.Function, detail: 'macro' });
    }
    return items;
  }
  const mnemonic = /^\s*([A-Za-z0-9_.$]+)/.exec(statementText)?.[1];
  const info = mnemonic === undefined ? undefined : lookUpMnemonic(mnemonic);
  const access = info === undefined ? undefined : info.kind === 'instruction' ? info.csrAccess : info.pseudo.csrAccess;
  const operandIndex = (statementText.slice(statementText.indexOf(mnemonic ?? '') + (mnemonic ?? '').length).match(/,/g) ?? []).length;
  if (access !== undefined && operandIndex === access.csrIndex) {
    return allCsrNames().map(({ name, number }) => {
      const rules = csrAccessRules(number);
      return {
        label: name,
        kind: CompletionItemKind.Variable,
        detail: `CSR 0x${number.toString(16).padStart(3, '0')} · lowest privilege ${rules.lowestPrivilege}${rules.readOnly ? ' · read-only' : ''}`,
        documentation: { kind: MarkupKind.Markdown, value: describeCsr(number) },
      };
    });
  }
  const registers = [...INTEGER_REGISTER_NAMES, ...(mnemonic?.toLowerCase().startsWith('f') ? FLOAT_REGISTER_NAMES : [])];
  return registers.map((name) => ({ label: name, kind: CompletionItemKind.Variable, detail: 'register' }));
}
