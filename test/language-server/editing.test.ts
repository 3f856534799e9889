// Hover, completion and settings of the language server (dist/languageServer.js over stdio)
// on the demo kernel's real start.S and on small documents.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { INSTRUCTIONS } from '../../vmm-core/isa/table';
import { lineOf, LanguageServerSession, ROOT } from './support';

const START = join(ROOT, 'guests/demo/start.S');
const startText = readFileSync(START, 'utf8');

let session: LanguageServerSession;
let startUri: string;
before(async () => {
  session = await LanguageServerSession.start();
  startUri = (await session.open(START)).uri;
});
after(async () => { await session.stop(); });

/** Hover at the first occurrence of `word` on the first line containing `needle`. */
async function hoverOn(needle: string, word: string, uri = startUri, text = startText): Promise<string | undefined> {
  const line = lineOf(text, needle);
  const character = text.split('\n')[line].indexOf(word, text.split('\n')[line].indexOf(needle)) + 1;
  return session.hover(uri, line, character);
}

test('hover on an instruction gives its encoding, extension and Popek–Goldberg class from the table', async () => {
  const addi = await hoverOn('addi    t0, t0, 8', 'addi');
  assert.ok(addi !== undefined);
  assert.match(addi, /\*\*addi\*\* — extension RV64I base integer/);
  assert.match(addi, /Popek–Goldberg class: \*\*innocuous\*\*/);
  // I-type: imm[11:0] | rs1 | funct3 000 | rd | opcode 0010011, and the table's match/mask.
  assert.match(addi, /\| imm\[11:0\] \| rs1 \| 000 \| rd \| 0010011 \|/);
  assert.match(addi, /match `0x00000013` mask `0x0000707f`/);

  const mret = await hoverOn('        mret', 'mret');
  assert.match(mret!, /Popek–Goldberg class: \*\*privileged\*\*/);
  assert.match(mret!, /Lowest privilege: \*\*M\*\*-mode/);
  // funct12 = 0x302, as the privileged spec encodes MRET.
  assert.match(mret!, /\| 001100000010 \| 00000 \| 000 \| 00000 \| 1110011 \|/);

  const sd = await hoverOn('sd      zero, 0(t0)', 'sd');
  assert.match(sd!, /\*\*sensitive \(behaviour-sensitive\)\*\*/);
  assert.match(sd!, /imm\[11:5\] \| rs2 \| rs1 \| 011 \| imm\[4:0\] \| 0100011/);

  const wfi = await hoverOn('park:   wfi', 'wfi');
  assert.match(wfi!, /\*\*privileged\*\*/);
  assert.match(wfi!, /Lowest privilege: \*\*S\*\*-mode/);
});

test('hover on a pseudo-instruction gives its expansion and the class of what it assembles to', async () => {
  const csrr = await hoverOn('csrr    t0, mhartid', 'csrr');
  assert.match(csrr!, /pseudo-instruction: `csrr rd, csr`/);
  assert.match(csrr!, /Assembles to `csrrs rd, csr, x0`/);
  assert.match(csrr!, /\*\*privileged\*\*/);
  const mv = await hoverOn('mv      a0, sp', 'mv');
  assert.match(mv!, /`addi rd, rs, 0`/);
  assert.match(mv!, /\*\*innocuous\*\*/);
});

test('hover on a CSR gives its fields and lowest privilege', async () => {
  const sstatus = await hoverOn('csrc    sstatus, t0', 'sstatus');
  assert.ok(sstatus !== undefined);
  assert.match(sstatus, /\*\*sstatus\*\* \(CSR 0x100\)/);
  assert.match(sstatus, /Lowest privilege: \*\*S\*\*/);
  assert.match(sstatus, /\| SPP \| 8 \|/);
  assert.match(sstatus, /read\/write/);
  const mhartid = await hoverOn('csrr    t0, mhartid', 'mhartid');
  assert.match(mhartid!, /Lowest privilege: \*\*M\*\*/);
  assert.match(mhartid!, /read-only/);
  const mscratch = await hoverOn('csrrw   sp, mscratch, sp', 'mscratch');
  assert.match(mscratch!, /\*\*mscratch\*\* \(CSR 0x340\)/);
});

test('hover on registers and labels; nothing on directives\' plain words', async () => {
  assert.match((await hoverOn('csrr    t0, mhartid', 't0'))!, /integer register x5/);
  assert.match((await hoverOn('sd      x31, 248(sp)', 'x31'))!, /integer register x31 \(ABI name t6\)/);
  assert.equal(await hoverOn('.section .text.init', 'text.init'), undefined);
});

test('completion offers the table\'s mnemonics and pseudo-instructions where a mnemonic goes', async () => {
  const text = 'start:\n        \n        csrr    a0, \n        csrw    \n        add     a0, \n';
  const { uri } = await session.open(join(ROOT, 'test/fixtures/language-server/completion.S'), text);
  const mnemonics = await session.completion(uri, 1, 8);
  const labels = new Set(mnemonics.map((item) => item.label));
  for (const spec of INSTRUCTIONS) assert.ok(labels.has(spec.mnemonic), spec.mnemonic);
  for (const pseudo of ['li', 'la', 'call', 'ret', 'mv', 'csrr', 'csrw', 'j', 'nop']) assert.ok(labels.has(pseudo), pseudo);
  assert.match(mnemonics.find((item) => item.label === 'mret')!.detail!, /privileged/);

  const csrRead = await session.completion(uri, 2, 20);
  const csrNames = new Set(csrRead.map((item) => item.label));
  for (const name of ['mstatus', 'sstatus', 'satp', 'mepc', 'cycle', 'pmpaddr0']) assert.ok(csrNames.has(name), name);
  assert.ok(!csrNames.has('a0'));
  assert.match(csrRead.find((item) => item.label === 'satp')!.detail!, /CSR 0x180 · lowest privilege S/);

  const csrWrite = await session.completion(uri, 3, 16);
  assert.ok(csrWrite.some((item) => item.label === 'mtvec'), 'csrw takes the CSR first');

  const registers = await session.completion(uri, 4, 20);
  assert.ok(registers.some((item) => item.label === 'a1') && !registers.some((item) => item.label === 'mstatus'));
  await session.close(uri);
});

test('the privilege setting and the file\'s privilege comment decide the CSR diagnostics', async () => {
  const text = 'csr_test:\n        csrr    a0, sstatus\n        csrr    a1, mstatus\n        sret\n';
  const path = join(ROOT, 'test/fixtures/language-server/privilege.S');
  session.settings = { privilege: 'U' };
  const { uri, diagnostics } = await session.open(path, text);
  assert.deepEqual(diagnostics.map((d) => [d.range.start.line, d.code]), [[1, 'csr-privilege'], [2, 'csr-privilege'], [3, 'instruction-privilege']]);

  const asSupervisor = await session.changeSettings({ privilege: 'S' }, uri);
  assert.deepEqual(asSupervisor.map((d) => [d.range.start.line, d.code]), [[2, 'csr-privilege']]);

  const asMachine = await session.changeSettings({ privilege: 'M' }, uri);
  assert.deepEqual(asMachine, []);

  // The comment overrides the setting from its line on.
  const commented = await session.replace(uri, `${text}# ringside: privilege=U\n        csrr    a0, sstatus\n`);
  assert.deepEqual(commented.map((d) => [d.range.start.line, d.code]), [[5, 'csr-privilege']]);
  assert.match(commented[0].message, /runs in U-mode/);
  await session.close(uri);
  session.settings = {};
});
