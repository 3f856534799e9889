// The language support in a real VS Code (code-server 4.100.3 + headless chromium), as a person
// meets it: start.S opens as "RISC-V Assembly", F9 sets a breakpoint in it, hovers on `csrr` and
// `mhartid` come from the language server, an assembly file's errors and a machine config's
// bad value reach the Problems view, and *.ringside.json completes machine options.
// Screenshots: test-artifacts/ui/NN-language-*.png; timings: language-timings.json.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { ROOT } from '../../scripts/code-shim.js';
import { ARTIFACTS, Workbench, since, screenshotSteps } from './workbench';

const WORKSPACE = join(ARTIFACTS, 'language-workspace');
/** The demo's first instruction: `csrr t0, mhartid`. */
const CSRR_TEXT = 'csrr    t0, mhartid';

function makeWorkspace(): void {
  rmSync(WORKSPACE, { recursive: true, force: true });
  mkdirSync(WORKSPACE, { recursive: true });
  copyFileSync(join(ROOT, 'guests/demo/start.S'), join(WORKSPACE, 'start.S'));
  // One error of each kind the assembly diagnostics name: an M-mode CSR from S-mode code, an
  // immediate out of range, an unknown mnemonic.
  writeFileSync(join(WORKSPACE, 'bad.S'), '# ringside: privilege=S\n        .text\nentry:  csrr    a0, mstatus\n        addi    a0, a0, 4096\n        frobnicate a0\n        ret\n');
  writeFileSync(join(WORKSPACE, 'bad.ringside.json'), '{\n  "kernel": "demo.elf",\n  "harts": 99\n}\n');
}

/** 1-based line and column of `text` in the workspace file. */
function positionOf(file: string, text: string): { line: number; column: number } {
  const lines = readFileSync(join(WORKSPACE, file), 'utf8').split('\n');
  const index = lines.findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `no '${text}' in ${file}`);
  return { line: index + 1, column: lines[index].indexOf(text) + 1 };
}

describe('language support in the VS Code UI', { timeout: 180_000 }, () => {
  let workbench: Workbench;
  const step = screenshotSteps(() => workbench, 'language-failed');

  /** Moves the cursor to line:column of the active editor (Ctrl+G). */
  const goTo = async (line: number, column: number): Promise<void> => {
    const { page } = workbench;
    await page.keyboard.press('Control+G');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`:${line}:${column}`);
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden' });
  };

  /** Shows the hover at line:column (Ctrl+K Ctrl+I) and waits until it says `expected`; returns its text. */
  const hoverText = async (line: number, column: number, expected: string): Promise<string> => {
    const { page } = workbench;
    await goTo(line, column);
    await page.keyboard.press('Control+K');
    await page.keyboard.press('Control+I');
    const hover = page.locator('.monaco-hover:not(.hidden) .monaco-hover-content', { hasText: expected }).first();
    try {
      await hover.waitFor({ timeout: 20_000 });
    } catch (error) {
      const shown = (await page.locator('.monaco-hover-content').allInnerTexts()).join(' // ');
      throw new Error(`the hover at ${line}:${column} does not say '${expected}' within 20 s; it shows: ${shown || '(nothing)'}`, { cause: error });
    }
    return (await hover.innerText()).trim();
  };

  /** Waits until the Problems view (Ctrl+Shift+M) shows `text`. */
  const problem = async (text: string): Promise<void> => {
    const { page } = workbench;
    const panel = page.locator('.markers-panel');
    if (!(await panel.isVisible())) await page.keyboard.press('Control+Shift+M');
    try {
      await panel.getByText(text).first().waitFor({ timeout: 20_000 });
    } catch (error) {
      throw new Error(`the Problems view does not show '${text}' within 20 s; it shows:\n${await panel.innerText().catch(() => '(no Problems view)')}`, { cause: error });
    }
  };

  before(async () => {
    makeWorkspace();
    workbench = await Workbench.open({ folder: WORKSPACE, extensionDevelopmentPath: ROOT });
  });

  after(async () => {
    if (workbench !== undefined) await workbench.close('language-timings.json');
  });

  step('start.S opens as RISC-V Assembly', async () => {
    const start = performance.now();
    await workbench.openFile('start.S');
    await workbench.page.locator('[id="status.editor.mode"]', { hasText: 'RISC-V Assembly' }).waitFor();
    workbench.timings.assemblyLanguageModeMs = since(start);
    await workbench.screenshot('language-start-S');
  });

  step('F9 sets a breakpoint on a line of start.S', async () => {
    const { page } = workbench;
    const { line } = positionOf('start.S', CSRR_TEXT);
    await goTo(line, 1);
    await page.keyboard.press('F9');
    const glyphs = page.locator('.editor-group-container.active .codicon-debug-breakpoint');
    await glyphs.first().waitFor();
    assert.equal(await glyphs.count(), 1);
    // The glyph sits on that line: its top matches the line number's.
    const glyphBox = await glyphs.first().boundingBox();
    const numberBox = await workbench.lineNumber(line).boundingBox();
    assert.ok(glyphBox !== null && numberBox !== null, 'the glyph or the line number has no box');
    assert.ok(Math.abs(glyphBox.y - numberBox.y) < numberBox.height, `the breakpoint glyph (y ${glyphBox.y}) is not on line ${line} (y ${numberBox.y})`);
    await workbench.screenshot('language-start-S-breakpoint');
  });

  step('hovering csrr gives its Popek–Goldberg class, mhartid its lowest privilege', async () => {
    const { line, column } = positionOf('start.S', CSRR_TEXT);
    const start = performance.now();
    const csrr = await hoverText(line, column + 1, 'Popek–Goldberg class: privileged');
    workbench.timings.firstHoverMs = since(start);
    assert.match(csrr, /csrr/i);
    await workbench.screenshot('language-hover-csrr');
    await workbench.page.keyboard.press('Escape');
    const mhartid = await hoverText(line, column + CSRR_TEXT.indexOf('mhartid') + 1, 'Lowest privilege: M');
    assert.match(mhartid, /mhartid/i);
    await workbench.screenshot('language-hover-mhartid');
    await workbench.page.keyboard.press('Escape');
  });

  step('the Problems view lists bad.S\'s errors by their codes', async () => {
    await workbench.openFile('bad.S');
    for (const code of ['csr-privilege', 'immediate-range', 'unknown-mnemonic']) await problem(code);
    await workbench.screenshot('language-bad-S-problems');
  });

  step('a .ringside.json with too many harts is flagged against the machine schema', async () => {
    await workbench.openFile('bad.ringside.json');
    await problem('Value is above the maximum of 8');
    await workbench.screenshot('language-ringside-json');
  });

  step('a .ringside.json completes machine options', async () => {
    const { page } = workbench;
    await goTo(2, 1);
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('"ico');
    await page.keyboard.press('Control+Space');
    const suggestion = page.locator('.suggest-widget .monaco-list-row', { hasText: 'icountShift' }).first();
    try {
      await suggestion.waitFor({ timeout: 20_000 });
    } catch (error) {
      const shown = (await page.locator('.suggest-widget .monaco-list-row').allInnerTexts()).join(', ');
      throw new Error(`no icountShift among the suggestions within 20 s; they are: ${shown || '(none)'}`, { cause: error });
    }
    await workbench.screenshot('language-ringside-json-completion');
    await page.keyboard.press('Escape');
  });
});
