// End to end in a real VS Code (code-server 4.100.3 + headless chromium): a person opens a
// folder with the demo kernel and its sources and a launch.json, presses F5 and is stopped on
// entry; reads a register in the Variables view; clicks the gutter of kernel.c for a breakpoint;
// ticks the `Ring: U → S` filter in the Breakpoints view; continues to the first trap from
// U-mode (the status bar, Machine view and address-space map show it); then to the C
// breakpoint; steps with F10; goes back with Step Back and Reverse in the debug toolbar; stops.
// Screenshots and timings: test-artifacts/ui/.

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { parseElf } from '../../vmm-core/machine/elf';
import { ROOT } from '../../scripts/code-shim.js';
import { ARTIFACTS, Workbench, since, screenshotSteps } from './workbench';

const WORKSPACE = join(ARTIFACTS, 'workspace');
const KERNEL_C = 'guests/demo/kernel.c';
const BREAKPOINT_TEXT = 'f->sepc += 4;';

/** A folder as a person would have it: the kernel ELF, its sources (DWARF paths are relative), a launch.json. */
function makeWorkspace(): void {
  rmSync(WORKSPACE, { recursive: true, force: true });
  mkdirSync(join(WORKSPACE, '.vscode'), { recursive: true });
  cpSync(join(ROOT, 'guests/bin/demo.elf'), join(WORKSPACE, 'demo.elf'));
  cpSync(join(ROOT, 'guests/demo'), join(WORKSPACE, 'guests/demo'), { recursive: true });
  writeFileSync(join(WORKSPACE, '.vscode/launch.json'), `${JSON.stringify({
    version: '0.2.0',
    configurations: [{
      type: 'ringside', request: 'launch', name: 'Demo kernel', program: '${workspaceFolder}/demo.elf',
      cwd: '${workspaceFolder}', stopOnEntry: true,
    }],
  }, null, 2)}\n`);
}

function lineOf(file: string, text: string): number {
  const index = readFileSync(join(WORKSPACE, file), 'utf8').split('\n').findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `no '${text}' in ${file}`);
  return index + 1;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

describe('debugging the demo kernel in the VS Code UI', { timeout: 240_000 }, () => {
  let workbench: Workbench;
  const breakpointLine = (): number => lineOf(KERNEL_C, BREAKPOINT_TEXT);
  const step = screenshotSteps(() => workbench, 'failed');

  before(async () => {
    makeWorkspace();
    workbench = await Workbench.open({ folder: WORKSPACE, extensionDevelopmentPath: ROOT });
  });

  after(async () => {
    if (workbench !== undefined) await workbench.close();
  });

  step('F5 starts the launch.json configuration and stops on entry', async () => {
    const { page } = workbench;
    // F5's keybinding (like the palette's "Debug: Start Debugging") is enabled only once the
    // extension host has registered its debug types (context key debuggersAvailable). That can
    // come seconds after the palette lists Ringside's commands, which the workbench knows from
    // the manifest alone; a first F5 then did nothing. Wait for the real precondition.
    const commandsStart = performance.now();
    await workbench.waitForCommand('Ringside: Run the Demo Kernel');
    workbench.timings.ringsideCommandsListedMs = since(commandsStart);
    await workbench.waitForCommand('Debug: Start Debugging');
    workbench.timings.debuggersAvailableMs = since(commandsStart);
    await page.keyboard.press('Control+Shift+D');
    await page.locator('.start-debug-action-item option', { hasText: 'Demo kernel' }).waitFor({ state: 'attached' });
    const start = performance.now();
    await page.keyboard.press('F5');
    await page.locator('.debug-toolbar').waitFor({ timeout: 15_000 }).catch((error: unknown) => {
      throw new Error('F5 started no debug session within 15 s although "Debug: Start Debugging" was available', { cause: error });
    });
    await workbench.callStackFrames().filter({ hasText: '_start' }).first().waitFor();
    workbench.timings.f5ToStoppedMs = since(start);

    await workbench.callStackState().filter({ hasText: 'Entry point' }).waitFor();
    await page.locator('.tabs-container .tab.active', { hasText: 'start.S' }).waitFor();
    await workbench.screenshot('stopped-on-entry');
  });

  step('shows the pc in the Variables view\'s Registers scope', async () => {
    await workbench.expandScope('Registers');
    const entry = parseElf(readFileSync(join(WORKSPACE, 'demo.elf'))).entry;
    assert.match(await workbench.variableValue('pc'), /^0x[0-9a-f]{16}$/);
    assert.equal(BigInt(await workbench.variableValue('pc')), BigInt(entry));
    assert.equal(await workbench.variableValue('privilege'), 'M (machine)');
    await workbench.screenshot('registers');
  });

  step('sets a breakpoint by clicking the gutter of kernel.c', async () => {
    const { page } = workbench;
    const line = breakpointLine();
    await workbench.openFile(KERNEL_C, line);
    const number = workbench.lineNumber(line);
    await number.waitFor();
    const box = await number.boundingBox();
    assert.ok(box, 'the line number has no box');
    // The glyph margin (where breakpoints show) is left of the line numbers.
    await page.mouse.click(box.x - 8, box.y + box.height / 2);
    await page.locator('.editor-group-container.active .codicon-debug-breakpoint').first().waitFor();
    // Source breakpoints are listed after the 36 ring and trap filters: go to the list's end.
    await workbench.breakpointRow('Ring: U → S').locator('.name').click();
    await page.keyboard.press('End');
    const row = workbench.breakpointRow('kernel.c');
    await row.waitFor();
    assert.equal((await row.locator('.line-number').textContent())?.trim(), String(line));
    await workbench.screenshot('breakpoints-view');
    await page.keyboard.press('Home');
    await workbench.screenshot('gutter-breakpoint');
  });

  step('ticks the Ring: U → S filter in the Breakpoints view', async () => {
    const row = workbench.breakpointRow('Ring: U → S');
    await row.locator('input[type=checkbox]').click();
    await workbench.page.locator('.debug-breakpoints .monaco-list-row[aria-label="Ring: U → S"][aria-checked="true"]').waitFor();
    await workbench.screenshot('u-to-s-ticked');
  });

  step('continues to the first U → S trap', async () => {
    const { page } = workbench;
    workbench.timings.filterContinueToStoppedMs = await workbench.pressUntilTopFrameMoves('F5');
    await workbench.callStackFrames().first().filter({ hasText: 's_trap_entry' }).waitFor();
    const widget = page.locator('.exception-widget');
    await widget.waitFor();
    const widgetText = (await widget.textContent()) ?? '';
    assert.match(widgetText, /Ring: U → S/);
    assert.match(widgetText, /U → S: .+ \((exception 8|interrupt 5)\), epc 0x[0-9a-f]+/);
    // The Variables view follows the stop: S-mode now, the pc at the trap entry.
    await workbench.expandScope('Registers');
    await workbench.eventuallyVariable('privilege', 'S (supervisor)');
    await workbench.screenshot('stopped-on-u-to-s');
  });

  step('the status bar and the Ringside views show the stopped S-mode machine', async () => {
    const { page } = workbench;
    try {
      await page.locator('.statusbar-item', { hasText: 'Ringside: stopped · S-mode' }).waitFor();
      await workbench.runCommand('Ringside: Show the Machine View');
      const machine = page.locator('.pane', { has: page.locator('.pane-header', { hasText: 'Machine' }) });
      await machine.locator('.monaco-list-row', { hasText: 'Run state' }).filter({ hasText: /stopped/i }).waitFor();
      await machine.locator('.monaco-list-row', { hasText: 'Privilege' }).filter({ hasText: /\bS\b|supervisor/i }).first().waitFor();
      await machine.locator('.monaco-list-row', { hasText: 'hart 0' }).filter({ hasText: /S-mode · sv39/ }).first().waitFor();
      await workbench.screenshot('machine-view');
      await workbench.runCommand('Ringside: Show the Address Space Map');
      // Both pictures are SVGs in one webview page (extension/views/webviews.ts says why one).
      const pictures = await workbench.webviewFrame('Address space and traps');
      for (const [part, name] of [['map', 'address-space map'], ['timeline', 'trap timeline']] as const) {
        await pictures.locator(`#${part} .picture svg`).first().waitFor({ timeout: 15_000 }).catch(async (error: unknown) => {
          const status = await pictures.locator(`#${part} .status`).textContent().catch(() => '(none)');
          throw new Error(`the ${name} drew no picture within 15 s; its status line says: ${status}`, { cause: error });
        });
      }
      assert.match((await pictures.locator('#map .status').textContent()) ?? '', /hart 0 in S-mode · sv39 · satp 0x[0-9a-f]+ · \d+ ranges/);
      assert.match((await pictures.locator('#timeline .status').textContent()) ?? '', /^\d+ traps by cause/);
      await workbench.screenshot('address-space-map');
    } finally {
      // Back to Run and Debug for the next steps, whatever happened here.
      await page.keyboard.press('Control+Shift+D');
      await page.locator('.debug-call-stack').waitFor();
    }
  });

  step('continues to the C breakpoint once the filter is unticked', async () => {
    const { page } = workbench;
    await workbench.breakpointRow('Ring: U → S').locator('input[type=checkbox]').click();
    await page.locator('.debug-breakpoints .monaco-list-row[aria-label="Ring: U → S"][aria-checked="false"]').waitFor();
    workbench.timings.breakpointContinueToStoppedMs = await workbench.pressUntilTopFrameMoves('F5');
    await workbench.callStackFrames().first().filter({ hasText: 'syscall' }).waitFor();
    await page.locator('.tabs-container .tab.active', { hasText: 'kernel.c' }).waitFor();
    const frameLine = await workbench.callStackFrames().first().locator('.line-number').textContent();
    assert.equal(frameLine?.split(':')[0], String(breakpointLine()));
    // The stop names the breakpoint's address; the Variables view's pc must be that address.
    const state = (await workbench.callStackState().textContent()) ?? '';
    const address = /Breakpoint at (0x[0-9a-f]+)/.exec(state)?.[1];
    assert.ok(address, `call stack state '${state}'`);
    await workbench.expandScope('Registers');
    await workbench.eventuallyVariable('pc', (value) => BigInt(value) === BigInt(address));
    await workbench.screenshot('stopped-at-c-breakpoint');
  });

  /** The top frame's "function file:line" as the Call Stack view shows it. */
  const topFrameText = async (): Promise<string> => (await workbench.callStackFrames().first().textContent()) ?? '';
  const visited: string[] = [];

  step('steps over with F10 (20 steps)', async () => {
    const steps: number[] = [];
    visited.push(await topFrameText());
    for (let i = 0; i < 20; i++) {
      steps.push(await workbench.pressUntilTopFrameMoves('F10'));
      visited.push(await topFrameText());
    }
    workbench.timings.stepOverMs = steps;
    workbench.timings.stepOverMedianMs = median(steps);
    await workbench.callStackFrames().first().waitFor();
    await workbench.screenshot('after-steps');
  });

  step('Step Back in the debug toolbar goes back where each F10 came from; Reverse goes back to the breakpoint', async () => {
    const back: number[] = [];
    // Only line changes move the frame: go back three distinct places.
    for (let index = visited.length - 2, moves = 0; index >= 0 && moves < 3; index--) {
      if (visited[index] === visited[index + 1]) continue;
      back.push(await workbench.clickToolbarUntilTopFrameMoves('Step Back'));
      assert.equal(await topFrameText(), visited[index], `after Step Back ${moves + 1}`);
      moves++;
    }
    workbench.timings.stepBackMs = back;
    await workbench.screenshot('after-step-back');
    workbench.timings.reverseContinueMs = await workbench.clickToolbarUntilTopFrameMoves('Reverse');
    await workbench.callStackFrames().first().filter({ hasText: 'syscall' }).waitFor();
    const frameLine = await workbench.callStackFrames().first().locator('.line-number').textContent();
    assert.equal(frameLine?.split(':')[0], String(breakpointLine()));
    await workbench.screenshot('after-reverse-continue');
  });

  step('Shift+F5 ends the session', async () => {
    const { page } = workbench;
    await page.keyboard.press('Shift+F5');
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
    await workbench.callStackFrames().first().waitFor({ state: 'detached' });
    await workbench.screenshot('session-ended');
  });
});
