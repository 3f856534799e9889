// Driving a real VS Code workbench (code-server 4.100.3 in headless Debian chromium, started by
// scripts/code-shim.js) the way a person does: keys, clicks, what the views show. Screenshots
// and timings go to test-artifacts/ui/ (gitignored); timings are recorded, never asserted.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import type { Browser, Frame, Locator, Page } from 'playwright-core';
import { ROOT, launchChromium, startCodeServer, workbenchUrl, type RunningCodeServer } from '../../scripts/code-shim.js';

export const ARTIFACTS = join(ROOT, 'test-artifacts/ui');

/** Milliseconds since `start` (performance clock). */
export function since(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

export interface WorkbenchOptions {
  /** Folder to open. */
  folder: string;
  /** Load the extension from this folder (as "Extension Development Host") instead of an installed one. */
  extensionDevelopmentPath?: string;
  /** Before the window opens: e.g. install a .vsix into the run folder's extensions. */
  prepare?: (runFolder: string) => void;
}

export class Workbench {
  readonly timings: Record<string, number | number[]> = {};
  /** The workbench page's console errors and warnings (written beside the screenshots). */
  readonly consoleMessages: string[] = [];
  private screenshotCount = 0;

  private constructor(readonly server: RunningCodeServer, readonly browser: Browser, readonly page: Page) {}

  static async open(options: WorkbenchOptions): Promise<Workbench> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const server = await startCodeServer();
    let browser: Browser | undefined;
    try {
      options.prepare?.(server.folder);
      browser = await launchChromium(server.folder);
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(30_000);
      const workbench = new Workbench(server, browser, page);
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') workbench.consoleMessages.push(`[${message.type()}] ${message.text()}`);
      });
      const start = performance.now();
      await page.goto(workbenchUrl(server.origin, {
        folder: options.folder,
        extensionDevelopmentPaths: options.extensionDevelopmentPath === undefined ? [] : [options.extensionDevelopmentPath],
      }));
      await page.locator('.monaco-workbench').waitFor();
      await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor();
      workbench.timings.workbenchMs = since(start);
      return workbench;
    } catch (error) {
      await browser?.close().catch(() => {});
      server.stop();
      throw error;
    }
  }

  /** Writes the timings (test-artifacts/ui/`timingsFile`), closes the browser and stops code-server. */
  async close(timingsFile = 'timings.json'): Promise<void> {
    writeFileSync(join(ARTIFACTS, timingsFile), `${JSON.stringify(this.timings, null, 2)}\n`);
    writeFileSync(join(ARTIFACTS, timingsFile.replace(/timings\.json$/, 'console.log')), `${this.consoleMessages.join('\n')}\n`);
    await this.browser.close().catch(() => {});
    this.server.stop();
  }

  /** Saves a numbered screenshot into test-artifacts/ui/. */
  async screenshot(name: string): Promise<string> {
    this.screenshotCount += 1;
    const path = join(ARTIFACTS, `${String(this.screenshotCount).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  /**
   * Runs a command by its title from the command palette (F1). Right after the window opens the
   * extension host may not have registered an extension's commands yet: the palette is opened
   * again until the command is listed. Resolves with performance.now() at the Enter that runs it.
   */
  async runCommand(title: string, timeoutMs = 30_000): Promise<number> {
    await this.findCommand(title, timeoutMs);
    const entered = performance.now();
    await this.page.keyboard.press('Enter');
    return entered;
  }

  /**
   * Waits until the command palette lists `title` and closes it: the sign that the extension
   * host has registered the extension (and with it its debugger, so that F5 is not ignored).
   */
  async waitForCommand(title: string, timeoutMs = 30_000): Promise<void> {
    await this.findCommand(title, timeoutMs);
    await this.page.keyboard.press('Escape');
  }

  /**
   * The frame of the webview page whose document title is `title`: found by the page, not by its
   * iframe's place among the workbench's webviews (that follows the order VS Code first showed them in).
   */
  async webviewFrame(title: string, timeoutMs = 15_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const frame of this.page.frames()) {
        if (frame === this.page.mainFrame()) continue;
        if (await frame.title().catch(() => '') === title) return frame;
      }
      if (Date.now() > deadline) {
        const titles = await Promise.all(this.page.frames().map((frame) => frame.title().catch(() => '?')));
        throw new Error(`no webview page titled '${title}' within ${timeoutMs} ms; the frames' titles: ${JSON.stringify(titles)}`);
      }
      await this.page.waitForTimeout(100);
    }
  }

  private async findCommand(title: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const input = this.page.locator('.quick-input-widget input');
    const row = this.page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    for (;;) {
      await this.page.keyboard.press('F1');
      await input.waitFor();
      await input.fill(`>${title}`);
      try {
        await row.waitFor({ timeout: 3_000 });
        return;
      } catch (error) {
        await this.page.keyboard.press('Escape');
        if (Date.now() > deadline) throw new Error(`command '${title}' is not in the command palette after ${timeoutMs} ms`, { cause: error });
      }
    }
  }

  /** Opens a workspace file by name through Quick Open (Ctrl+P) and moves the cursor to `line`. */
  async openFile(relativePath: string, line?: number): Promise<void> {
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(relativePath);
    await this.page.locator('.quick-input-list .monaco-list-row', { hasText: relativePath.split('/').pop()! }).first().waitFor();
    await this.page.keyboard.press('Enter');
    const fileName = relativePath.split('/').pop()!;
    await this.page.locator('.tabs-container .tab.active', { hasText: fileName }).waitFor();
    if (line !== undefined) {
      await this.page.keyboard.press('Control+G');
      await input.waitFor();
      await input.fill(`:${line}`);
      await this.page.keyboard.press('Enter');
    }
  }

  /** The row of the Breakpoints view that shows `label` (an exception filter or a breakpoint). */
  breakpointRow(label: string | RegExp): Locator {
    return this.page.locator('.debug-breakpoints .monaco-list-row', { hasText: label });
  }

  /** The line-number cell of `line` in the active editor. */
  lineNumber(line: number): Locator {
    return this.page.locator('.editor-group-container.active .margin-view-overlays .line-numbers', { hasText: new RegExp(`^${line}$`) });
  }

  /** The Variables view row of the variable `name` (rows are labelled "NAME, value VALUE"). */
  variableRow(name: string): Locator {
    return this.page.locator(`.debug-variables .monaco-list-row[aria-label^="${name}, value "]`);
  }

  /**
   * Expands the Variables view's scope `name` when it is collapsed. Which scopes VS Code shows
   * expanded after a new stop depends on its remembered view state and on timing (seen: the
   * Registers scope collapsed at the second stop under load), so a test expands what it reads.
   */
  async expandScope(name: string): Promise<void> {
    const row = this.page.locator(`.debug-variables .monaco-list-row[aria-label="Scope ${name}"]`).first();
    await row.waitFor();
    if ((await row.getAttribute('aria-expanded')) !== 'true') await row.locator('.monaco-tl-twistie').click();
    await this.page.locator(`.debug-variables .monaco-list-row[aria-label="Scope ${name}"][aria-expanded="true"]`).first().waitFor();
  }

  /** The value the Variables view shows for `name` (its scope must be expanded). */
  async variableValue(name: string): Promise<string> {
    const row = this.variableRow(name).first();
    await row.waitFor();
    return ((await row.getAttribute('aria-label')) ?? '').slice(`${name}, value `.length);
  }

  /** Waits until the Variables view shows `name` with a value equal to `expected` or accepted by it. */
  async eventuallyVariable(name: string, expected: string | ((value: string) => boolean), timeoutMs = 10_000): Promise<string> {
    const accepts = typeof expected === 'string' ? (value: string) => value === expected : expected;
    const deadline = Date.now() + timeoutMs;
    let value = '';
    for (;;) {
      value = await this.variableValue(name);
      if (accepts(value)) return value;
      if (Date.now() > deadline) throw new Error(`Variables view: ${name} = ${value}, still not ${typeof expected === 'string' ? expected : 'the expected value'} after ${timeoutMs} ms`);
      await this.page.waitForTimeout(50);
    }
  }

  /** The text the terminal panel shows: rows joined with newlines, without trailing blanks or empty rows (DOM renderer). */
  async terminalText(): Promise<string> {
    return await this.page.evaluate(`Array.from(document.querySelectorAll('.xterm-rows > div')).map((row) => row.textContent.replace(/\\u00a0/g, ' ').trimEnd()).join('\\n').replace(/\\n+$/, '')`) as string;
  }

  /** Waits until the active terminal's text matches `pattern`; returns the text. */
  async eventuallyTerminal(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await this.terminalText();
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`the terminal does not show ${pattern} within ${timeoutMs} ms; it shows:\n${text}`);
      await this.page.waitForTimeout(50);
    }
  }

  /** The Call Stack view's header message ("Entry point", "Breakpoint at 0x…", "Paused on step"). */
  callStackState(): Locator {
    return this.page.locator('.call-stack-state-message');
  }

  /** The frames of the Call Stack view, the focused thread's top frame first. */
  callStackFrames(): Locator {
    return this.page.locator('.debug-call-stack .monaco-list-row .stack-frame');
  }

  /**
   * Presses `key` (F5, F10, …) and resolves with the page-side milliseconds until the Call Stack
   * view's top frame shows another function or line than before: the stop as a person sees it.
   * (Page scripts are strings: this project's TypeScript has no DOM library.)
   */
  async pressUntilTopFrameMoves(key: string, timeoutMs = 30_000): Promise<number> {
    return this.untilTopFrameMoves(() => this.page.keyboard.press(key), timeoutMs);
  }

  /** Clicks a debug toolbar button (by its label, e.g. "Step Back") and times it as pressUntilTopFrameMoves does. */
  async clickToolbarUntilTopFrameMoves(label: string, timeoutMs = 30_000): Promise<number> {
    const button = this.page.locator(`.debug-toolbar .action-item .action-label[aria-label^="${label}"]`).first();
    await button.waitFor();
    return this.untilTopFrameMoves(() => button.click(), timeoutMs);
  }

  private async untilTopFrameMoves(act: () => Promise<void>, timeoutMs: number): Promise<number> {
    const topFrame = `(() => { const frame = document.querySelector('.debug-call-stack .monaco-list-row .stack-frame'); return frame === null ? '' : frame.textContent; })()`;
    await this.page.evaluate(`(window.ringsidePressed = performance.now(), window.ringsideTopFrame = ${topFrame}, window.ringsideMoved = undefined, (() => {
      const observer = new MutationObserver(() => {
        const now = ${topFrame};
        if (now !== '' && now !== window.ringsideTopFrame) { window.ringsideMoved = performance.now(); observer.disconnect(); }
      });
      observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    })())`);
    await act();
    await this.page.waitForFunction('window.ringsideMoved !== undefined', undefined, { timeout: timeoutMs, polling: 'raf' });
    const elapsed = await this.page.evaluate('window.ringsideMoved - window.ringsidePressed') as number;
    return Math.round(elapsed * 10) / 10;
  }
}

/**
 * Declares UI steps as tests whose failure leaves a screenshot (`label`.png) of the workbench as
 * it was; `workbench` names the suite's workbench once it is open.
 */
export function screenshotSteps(workbench: () => Workbench | undefined, label: string): (name: string, body: () => Promise<void>) => void {
  return (name, body) => {
    it(name, async () => {
      try {
        await body();
      } catch (error) {
        await workbench()?.screenshot(label).catch(() => {});
        throw error;
      }
    });
  };
}
