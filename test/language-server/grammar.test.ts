// The generated riscv-asm TextMate grammar (dist/syntaxes/), tokenized with the engine VS Code
// uses (vscode-textmate on vscode-oniguruma) on the guests' real assembly files.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadWASM, OnigScanner, OnigString } from 'vscode-oniguruma';
import { INITIAL, parseRawGrammar, Registry, type IGrammar } from 'vscode-textmate';
import { INSTRUCTIONS } from '../../vmm-core/isa/table';
import { ROOT } from './support';

const GRAMMAR = join(ROOT, 'dist/syntaxes/riscv-asm.tmLanguage.json');

let grammar: IGrammar;
before(async () => {
  const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new OnigScanner(patterns),
      createOnigString: (text: string) => new OnigString(text),
    }),
    loadGrammar: async (scopeName: string) => (scopeName === 'source.riscv-asm' ? parseRawGrammar(readFileSync(GRAMMAR, 'utf8'), GRAMMAR) : null),
  });
  const loaded = await registry.loadGrammar('source.riscv-asm');
  assert.ok(loaded !== null, `${GRAMMAR} did not load: run npm run build`);
  grammar = loaded;
});

interface TokenizedLine {
  readonly text: string;
  readonly tokens: ReadonlyArray<{ startIndex: number; endIndex: number; scopes: string[] }>;
}

function tokenize(text: string): TokenizedLine[] {
  let stack = INITIAL;
  return text.split('\n').map((line) => {
    const result = grammar.tokenizeLine(line, stack);
    stack = result.ruleStack;
    return { text: line, tokens: result.tokens };
  });
}

/** The innermost scope of `word` on the first line containing `needle`; `word` must be a whole token unless `within`. */
function scopeOf(lines: readonly TokenizedLine[], needle: string, word: string, within = false): string {
  const line = lines.find((candidate) => candidate.text.includes(needle));
  assert.ok(line !== undefined, `no line containing ${needle}`);
  const at = line.text.indexOf(word, line.text.indexOf(needle));
  const token = line.tokens.find((candidate) => candidate.startIndex <= at && at < candidate.endIndex)!;
  const tokenText = line.text.slice(token.startIndex, token.endIndex);
  if (within) assert.ok(tokenText.includes(word));
  else assert.equal(tokenText.trim(), word, `token of ${word} in ${JSON.stringify(line.text)}`);
  return token.scopes.at(-1)!;
}

test('the demo kernel\'s start.S is tokenized into labels, directives, instructions, registers, CSRs and comments', () => {
  const lines = tokenize(readFileSync(join(ROOT, 'guests/demo/start.S'), 'utf8'));
  assert.equal(scopeOf(lines, '_start:', '_start'), 'entity.name.label.riscv-asm');
  assert.equal(scopeOf(lines, '.globl  _start', '.globl'), 'keyword.other.directive.riscv-asm');
  assert.equal(scopeOf(lines, 'csrr    t0, mhartid', 'csrr'), 'keyword.control.privileged.riscv-asm');
  assert.equal(scopeOf(lines, 'csrr    t0, mhartid', 't0'), 'variable.language.register.riscv-asm');
  assert.equal(scopeOf(lines, 'csrr    t0, mhartid', 'mhartid'), 'variable.language.csr.riscv-asm');
  assert.equal(scopeOf(lines, 'addi    t0, t0, 8', 'addi'), 'keyword.other.instruction.riscv-asm');
  assert.equal(scopeOf(lines, 'addi    t0, t0, 8', '8'), 'constant.numeric.decimal.riscv-asm');
  assert.equal(scopeOf(lines, 'li      t0, 0x100', '0x100'), 'constant.numeric.hex.riscv-asm');
  assert.equal(scopeOf(lines, '1:      bgeu', '1'), 'entity.name.label.riscv-asm');
  assert.equal(scopeOf(lines, 'bgeu    t0, t1, 2f', '2f'), 'entity.name.label.reference.riscv-asm');
  assert.equal(scopeOf(lines, '        mret', 'mret'), 'keyword.control.privileged.riscv-asm');
  assert.equal(scopeOf(lines, '/* clear .bss */', 'clear', true), 'comment.block.riscv-asm');
  // The second line of a block comment is still comment.
  assert.equal(scopeOf(lines, 'small frame with the caller-saved', 'small', true), 'comment.block.riscv-asm');
});

test('preprocessor lines, macros, macro arguments and # comments', () => {
  const lines = tokenize(`${readFileSync(join(ROOT, 'guests/common/crt.S'), 'utf8')}\n        li      a0, 0x10   # a comment\n        ecall\n`);
  assert.equal(scopeOf(lines, '#include "rt_asm.h"', '#include'), 'keyword.control.directive.riscv-asm');
  assert.equal(scopeOf(lines, '#include "rt_asm.h"', 'rt_asm.h'), 'string.quoted.double.riscv-asm');
  assert.equal(scopeOf(lines, 'csrrw   sp, \\scratch, sp', '\\scratch'), 'variable.parameter.macro.riscv-asm');
  assert.equal(scopeOf(lines, 'SAVE_REGS mscratch', 'SAVE_REGS'), 'entity.name.function.macro.riscv-asm');
  assert.equal(scopeOf(lines, '0x10   # a comment', '# a comment', true), 'comment.line.number-sign.riscv-asm');
  assert.equal(scopeOf(lines, '        ecall', 'ecall'), 'keyword.control.sensitive.riscv-asm');
});

test('every mnemonic of the instruction table is highlighted as an instruction, none as a macro', () => {
  const lines = tokenize(INSTRUCTIONS.map((spec) => `        ${spec.mnemonic} a0, a1`).join('\n'));
  const wrong = lines.flatMap((line) => {
    const scope = line.tokens.find((token) => token.startIndex === 8)!.scopes.at(-1)!;
    return /^keyword\.(other\.instruction|control\.(privileged|sensitive))\.riscv-asm$/.test(scope) ? [] : [`${line.text.trim()}: ${scope}`];
  });
  assert.deepEqual(wrong, []);
  assert.equal(scopeOf(tokenize('        amoswap.w.aqrl a0, a1, (a2)'), 'amoswap', 'amoswap.w.aqrl'), 'keyword.other.instruction.riscv-asm');
});
