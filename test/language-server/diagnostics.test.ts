// Diagnostics of the language server (dist/languageServer.js over stdio) on real files: the
// committed guests' assembly gets none, a fixture with known errors gets exactly those, and the
// immediate-range rules agree with the real assembler (riscv64-unknown-elf-as) line for line.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { LanguageServerSession, ROOT } from './support';

const FIXTURE = join(ROOT, 'test/fixtures/language-server/errors.S');

function assemblyFiles(folder: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...assemblyFiles(path));
    else if (/\.[sS]$/.test(entry.name)) files.push(path);
  }
  return files.sort();
}

/** The privilege each committed assembly file's code really runs at (default M). */
const GUEST_PRIVILEGE: Record<string, 'M' | 'S' | 'U'> = {
  'guests/vkernel/user/usys.S': 'U',
  'guests/vm/user.S': 'U',
};

function requireTool(name: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  assert.equal(found.status, 0, `${name} is not installed: run scripts/install-deps.sh (it installs gcc-riscv64-unknown-elf)`);
  return found.stdout.trim();
}

/** 1-based line numbers the assembler reports errors on. */
function assemblerErrorLines(command: string, args: string[], file: string): Set<number> {
  const output = spawnSync(command, [...args, file], { encoding: 'utf8', cwd: ROOT });
  const lines = new Set<number>();
  const name = file.split('/').at(-1)!;
  for (const match of output.stderr.matchAll(new RegExp(`${name.replace('.', '\\.')}:(\\d+): Error`, 'g'))) lines.add(Number(match[1]));
  return lines;
}

let session: LanguageServerSession;
before(async () => { session = await LanguageServerSession.start({ includePaths: ['guests/common'] }); });
after(async () => { await session.stop(); });

test('the committed guests\' assembly gets no diagnostics, at the privilege each file runs in', async () => {
  const files = assemblyFiles(join(ROOT, 'guests'));
  assert.ok(files.length >= 6, `found only ${files.length} assembly files`);
  for (const file of files) {
    const name = relative(ROOT, file);
    session.settings = { includePaths: ['guests/common'], privilege: GUEST_PRIVILEGE[name] ?? 'M' };
    const { uri, diagnostics } = await session.open(file);
    assert.deepEqual(diagnostics.map((d) => `${name}:${d.range.start.line + 1}: ${d.message}`), [], name);
    await session.close(uri);
  }
});

test('without the include path, a header that is not found is said once and nothing is falsely flagged', async () => {
  session.settings = {};
  // crt.S finds rt_asm.h in its own folder; vm/user.S needs the include path for it.
  const crt = await session.open(join(ROOT, 'guests/common/crt.S'));
  assert.deepEqual(crt.diagnostics, []);
  await session.close(crt.uri);
  const text = readFileSync(join(ROOT, 'guests/vm/user.S'), 'utf8');
  const user = await session.open(join(ROOT, 'guests/vm/user.S'));
  assert.deepEqual(user.diagnostics.map((d) => [d.range.start.line, d.range.start.character, d.severity, d.code]),
    [[text.split('\n').findIndex((line) => line.startsWith('#include "rt_asm.h"')), 9, 3, 'include-not-found']]);
  assert.match(user.diagnostics[0].message, /'rt_asm.h' was not found in the file's folder or ringside.asm.includePaths/);
  // A lower-case unknown word may then be one of the header's macros: a warning, not an error.
  const withTypo = await session.replace(user.uri, `${text}        frobnicate a0\n        SAVE_ALL\n`);
  assert.deepEqual(withTypo.filter((d) => d.code === 'unknown-mnemonic').map((d) => [d.range.start.line, d.severity]),
    [[text.split('\n').length - 1, 2]]);
  await session.close(user.uri);
});

test('a file with known errors gets exactly those diagnostics', async () => {
  session.settings = { includePaths: ['guests/common'] };
  const text = readFileSync(FIXTURE, 'utf8');
  const expected = text.split('\n').flatMap((line, index) => {
    const codes = [...line.matchAll(/\/\* expect: ([a-z-]+) \*\//g)].map((match) => `${index + 1} ${match[1]}`);
    return codes;
  });
  assert.ok(expected.length >= 15, 'the fixture lost its expectations');
  const { uri, diagnostics } = await session.open(FIXTURE);
  assert.deepEqual(diagnostics.map((d) => `${d.range.start.line + 1} ${String(d.code)}`).sort(), expected.sort());
  const message = (line: number): string => diagnostics.find((d) => d.range.start.line + 1 === line)!.message;
  const lineOf = (needle: string): number => text.split('\n').findIndex((line) => line.includes(needle)) + 1;
  assert.match(message(lineOf('addi    a0, a0, 2048')), /immediate 2048 is out of range: -2048\.\.2047/);
  assert.match(message(lineOf('slli    a0, a0, LOCAL_SHIFT')), /LOCAL_SHIFT \(= 70\) is out of range: 0\.\.63/);
  assert.match(message(lineOf('frobnicate')), /unknown instruction 'frobnicate'/);
  assert.match(message(lineOf('csrw    mhartid')), /mhartid is read-only/);
  assert.match(message(lineOf('csrr    a0, mstatus ')), /mstatus needs M-mode or higher; this code runs in S-mode/);
  assert.match(message(lineOf('wfi ')), /wfi needs S-mode or higher; this code runs in U-mode/);
  assert.match(message(lineOf('csrr    a0, MSTATUS ')), /unknown CSR 'MSTATUS' \(CSR names are lower case: mstatus\)/);
  // The diagnostic covers the offending operand, not the whole line.
  const range = diagnostics.find((d) => d.range.start.line + 1 === lineOf('ld      a2, 4096(sp)'))!.range;
  assert.deepEqual([range.start.character, range.end.character], [20, 24]);
  await session.close(uri);
});

test('the assembler rejects exactly the fixture lines flagged as bad immediates, unknown mnemonics or unknown CSRs', () => {
  const gcc = requireTool('riscv64-unknown-elf-gcc');
  const output = join(mkdtempSync(join(tmpdir(), 'ringside-lsp-')), 'errors.o');
  const rejected = assemblerErrorLines(gcc, ['-march=rv64gc', '-mabi=lp64d', '-I', 'guests/common', '-c', '-o', output], FIXTURE);
  const flagged = new Set(readFileSync(FIXTURE, 'utf8').split('\n').flatMap((line, index) =>
    /expect: (immediate-range|unknown-mnemonic|unknown-csr)/.test(line) ? [index + 1] : []));
  assert.deepEqual([...rejected].sort((a, b) => a - b), [...flagged].sort((a, b) => a - b));
});

test('a .s file is not preprocessed: its # lines are comments, not #if', async () => {
  session.settings = {};
  const text = '# if 0\n        frobnicate a0\n# endif\n';
  const plain = await session.open(join(ROOT, 'test/fixtures/language-server/comments.s'), text);
  assert.deepEqual(plain.diagnostics.map((d) => [d.range.start.line, d.code]), [[1, 'unknown-mnemonic']]);
  await session.close(plain.uri);
  const preprocessed = await session.open(join(ROOT, 'test/fixtures/language-server/comments.S'), text);
  assert.deepEqual(preprocessed.diagnostics, []);
  await session.close(preprocessed.uri);
});

/** A deterministic generator of immediates around every range's edges and far outside. */
function* immediateLines(): Generator<string> {
  let seed = 0x2545f491n;
  const random = (): bigint => {
    seed ^= (seed << 13n) & 0xffffffffffffffffn;
    seed ^= seed >> 7n;
    seed ^= (seed << 17n) & 0xffffffffffffffffn;
    return seed & 0xffffffffffffffffn;
  };
  const spellings = (value: bigint): string[] => {
    const result = [value.toString()];
    result.push(value < 0n ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`);
    if (value < 0n) result.push(`0x${BigInt.asUintN(64, value).toString(16)}`);
    else if (value > 0n) result.push(`0${value.toString(8)}`);
    const half = value / 2n;
    result.push(`(${half}) + ${value - half}`);
    return result;
  };
  const edges = (low: bigint, high: bigint): bigint[] => {
    const values = [low - 1n, low, low + 1n, high - 1n, high, high + 1n, 0n, -1n];
    for (let i = 0; i < 4; i++) values.push(BigInt.asIntN(64, random()), (random() % ((high - low) * 4n)) - (high - low) * 2n);
    return values;
  };
  const templates: Array<{ forms: string[]; low: bigint; high: bigint; step?: bigint }> = [
    { forms: ['addi a0, a0, #', 'addiw a1, a2, #', 'slti a0, a1, #', 'sltiu a0, a1, #', 'xori a0, a1, #', 'ori t0, t1, #', 'andi t0, t1, #',
      'ld a0, #(sp)', 'sw a0, #(a1)', 'flw fa0, #(a0)', 'fsd fa1, #(sp)', 'jalr ra, #(a0)', 'jalr ra, a0, #'], low: -2048n, high: 2047n },
    { forms: ['slli a0, a0, #', 'srli a0, a1, #', 'srai a0, a1, #', 'rori a0, a1, #', 'bclri a0, a1, #', 'slli.uw a0, a1, #'], low: 0n, high: 63n },
    { forms: ['slliw a0, a0, #', 'srliw a0, a1, #', 'sraiw a0, a1, #', 'roriw a0, a1, #'], low: 0n, high: 31n },
    { forms: ['lui a0, #', 'auipc a1, #'], low: 0n, high: 1048575n },
    { forms: ['csrrwi a0, mscratch, #', 'csrsi mscratch, #', 'csrci sscratch, #', 'csrwi mscratch, #'], low: 0n, high: 31n },
    { forms: ['csrr a0, #', 'csrrw a0, #, a1'], low: 0n, high: 4095n },
    // Explicit compressed instructions: small fields, some scaled.
    { forms: ['c.addi a0, #', 'c.addiw a1, #', 'c.li a2, #', 'c.andi s0, #'], low: -32n, high: 31n },
    { forms: ['c.slli a0, #', 'c.srli s0, #', 'c.srai s1, #'], low: 1n, high: 63n },
    { forms: ['c.lui a0, #'], low: 1n, high: 31n },
    { forms: ['c.lui a1, #'], low: 0xfffe0n, high: 0xfffffn },
    { forms: ['c.addi16sp sp, #'], low: -512n, high: 496n, step: 16n },
    { forms: ['c.addi4spn a0, sp, #'], low: 4n, high: 1020n, step: 4n },
    { forms: ['c.lw a0, #(a1)', 'c.sw a0, #(s0)'], low: 0n, high: 124n, step: 4n },
    { forms: ['c.ld a0, #(a1)', 'c.sd a0, #(s0)', 'c.fld fa0, #(a1)', 'c.fsd fa1, #(a2)'], low: 0n, high: 248n, step: 8n },
    { forms: ['c.lwsp a0, #(sp)', 'c.swsp a1, #(sp)'], low: 0n, high: 252n, step: 4n },
    { forms: ['c.ldsp a0, #(sp)', 'c.sdsp a1, #(sp)', 'c.fldsp fa0, #(sp)', 'c.fsdsp fa1, #(sp)'], low: 0n, high: 504n, step: 8n },
  ];
  for (const { forms, low, high, step } of templates) {
    for (const form of forms) {
      // Scaled fields: also a multiple of the step inside the range and values off the step.
      const scaled = step === undefined ? [] : [low + step, high - step, low + step / 2n, high - 1n, (low + high) / 2n / step * step];
      for (const value of [...edges(low, high), ...scaled]) {
        for (const spelling of spellings(value)) yield form.replace('#', spelling);
      }
    }
  }
  for (let i = 0; i < 20; i++) yield `li a0, ${BigInt.asIntN(64, random())}`;
  yield 'li a0, 0xffffffffffffffff';
  yield 'li a0, 0x10000000000000000';
  yield 'li a0, -0x8000000000000001';
  // gas's precedence: << binds tighter than +.
  yield 'addi a0, a0, 4 + 1 << 9';
  yield 'addi a0, a0, 1 << 9 + 4';
  yield 'addi a0, a0, 2 + 3 * 700';
  yield "addi a0, a0, 'A' * 32";
  yield 'addi a0, a0, ~0x7ff';
  yield 'addi a0, a0, -(0x800)';
}

test('immediate ranges agree with riscv64-unknown-elf-as on generated edge cases', async () => {
  const as = requireTool('riscv64-unknown-elf-as');
  const folder = mkdtempSync(join(tmpdir(), 'ringside-lsp-'));
  try {
    const lines = [...immediateLines()];
    const file = join(folder, 'immediates.s');
    writeFileSync(file, `${lines.map((line) => `\t${line}`).join('\n')}\n`);
    const rejected = assemblerErrorLines(as, ['-march=rv64gc_zba_zbb_zbs', '-o', join(folder, 'immediates.o')], file);
    assert.ok(rejected.size > 100 && lines.length - rejected.size > 100,
      `the cases must exercise both sides: ${rejected.size} rejected of ${lines.length}`);
    session.settings = {};
    const { uri, diagnostics } = await session.open(file);
    const flagged = new Set(diagnostics.filter((d) => d.code === 'immediate-range').map((d) => d.range.start.line + 1));
    const disagreements = lines.flatMap((line, index) => (rejected.has(index + 1) === flagged.has(index + 1) ? []
      : [`${line}: assembler ${rejected.has(index + 1) ? 'rejects' : 'accepts'}, language server ${flagged.has(index + 1) ? 'flags' : 'accepts'}`]));
    assert.deepEqual(disagreements, []);
    assert.deepEqual(diagnostics.filter((d) => d.code !== 'immediate-range' && d.code !== 'csr-privilege').map((d) => d.message), []);
    await session.close(uri);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
