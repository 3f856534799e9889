// End to end with the extension installed from the built package, as a user gets it: `npm run
// package` makes ringside.vsix, code-server installs it (--install-extension), and in the
// workbench: "Ringside: Run the Demo Kernel" from the command palette stops on entry (the
// Running Extensions editor shows the activation time) and the demo runs to its end in the
// console terminal; a console guest echoes what is typed into that terminal, Ctrl-C included. Screenshots and timings: test-artifacts/ui/installed-*.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { ROOT, codeServerCommand } from '../../scripts/code-shim.js';
import { ARTIFACTS, Workbench, since, screenshotSteps } from './workbench';

const WORKSPACE = join(ARTIFACTS, 'console-workspace');
const VSIX = join(ROOT, 'ringside.vsix');

function makeWorkspace(): void {
  rmSync(WORKSPACE, { recursive: true, force: true });
  mkdirSync(join(WORKSPACE, '.vscode'), { recursive: true });
  cpSync(join(ROOT, 'guests/bin/console.elf'), join(WORKSPACE, 'console.elf'));
  writeFileSync(join(WORKSPACE, '.vscode/launch.json'), `${JSON.stringify({
    version: '0.2.0',
    configurations: [{
      type: 'ringside', request: 'launch', name: 'Console guest', program: '${workspaceFolder}/console.elf',
      cwd: '${workspaceFolder}', serial: 'terminal',
    }],
  }, null, 2)}\n`);
}

function packageExtension(): void {
  const result = spawnSync('npm', ['run', 'package'], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
  assert.equal(result.status, 0, `npm run package failed:\n${result.stdout}${result.stderr}`);
  assert.ok(existsSync(VSIX), 'npm run package made no ringside.vsix');
}

describe('the installed .vsix in the VS Code UI', { timeout: 240_000 }, () => {
  let workbench: Workbench;
  const step = screenshotSteps(() => workbench, 'installed-failed');

  before(async () => {
    makeWorkspace();
    packageExtension();
    workbench = await Workbench.open({
      folder: WORKSPACE,
      prepare: (runFolder) => {
        const output = codeServerCommand(runFolder, ['--install-extension', VSIX]);
        assert.match(output, /ringside\.ringside.*successfully installed|was successfully installed/i, output);
      },
    });
  });

  after(async () => {
    if (workbench !== undefined) await workbench.close('installed-timings.json');
  });

  step('runs the demo kernel from the command palette and stops on entry', async () => {
    const { page } = workbench;
    const start = await workbench.runCommand('Ringside: Run the Demo Kernel');
    await page.locator('.debug-toolbar').waitFor();
    await workbench.callStackFrames().filter({ hasText: '_start' }).first().waitFor();
    // Includes the extension's activation by the command and the adapter's start.
    workbench.timings.paletteToStoppedMs = since(start);
    await workbench.callStackState().filter({ hasText: 'Entry point' }).waitFor();
    await page.locator('.tabs-container .tab.active', { hasText: 'start.S' }).waitFor();
    await workbench.screenshot('installed-demo-on-entry');
  });

  step('Developer: Show Running Extensions lists Ringside with its activation time', async () => {
    const { page } = workbench;
    await workbench.runCommand('Developer: Show Running Extensions');
    const row = page.locator('.runtime-extensions-editor .monaco-list-row', { hasText: 'Ringside' });
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    // The extension host's own measure of the activate() call.
    const activation = /Activation: (\d+)\s*ms/.exec(text);
    assert.ok(activation, `no activation time in '${text}'`);
    workbench.timings.activationMs = Number(activation[1]);
    await workbench.screenshot('installed-running-extensions');
  });

  step('continues: the demo runs to its end in the console terminal', async () => {
    const { page } = workbench;
    await page.keyboard.press('F5');
    // The terminal shows its last screenful: the demo's summary and the extension's end line.
    const text = await workbench.eventuallyTerminal(/the guest powered off \(exit code 0\)/, 60_000);
    assert.match(text, /demo: all tasks finished after \d+ timer ticks/);
    assert.match(text, /task B: done/);
    await workbench.screenshot('installed-demo-console');
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
    await workbench.runCommand('Terminal: Kill All Terminals');
  });

  step('a console guest echoes what is typed into the terminal', async () => {
    const { page } = workbench;
    await page.locator('.monaco-workbench').click({ position: { x: 700, y: 300 } });
    await page.keyboard.press('Control+Shift+D');
    await page.locator('.start-debug-action-item option', { hasText: 'Console guest' }).waitFor({ state: 'attached' });
    await page.keyboard.press('F5');
    await page.locator('.debug-toolbar').waitFor();
    await workbench.eventuallyTerminal(/console: ready\n>$/);
    await page.locator('.terminal-wrapper .xterm').last().click();
    // Echo latency of single keys: typed in the page until the terminal shows them.
    const latencies: number[] = [];
    let typed = '';
    for (const key of 'add 2 3') {
      typed += key;
      const pressed = performance.now();
      await page.keyboard.type(key);
      if (key === ' ') continue; // a trailing blank is not visible on its own
      await workbench.eventuallyTerminal(new RegExp(`> ${typed}$`));
      latencies.push(since(pressed));
    }
    workbench.timings.consoleEchoMs = latencies;
    await page.keyboard.press('Enter');
    await workbench.eventuallyTerminal(/> add 2 3\n= 5\n>$/);
    await page.keyboard.type('sleep 60000');
    await page.keyboard.press('Enter');
    await workbench.eventuallyTerminal(/> sleep 60000$/);
    await page.keyboard.press('Control+C');
    await workbench.eventuallyTerminal(/interrupted after \d+ ms\n>$/);
    await workbench.screenshot('installed-console-echo');
    await page.keyboard.press('Shift+F5');
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden' });
  });
});
