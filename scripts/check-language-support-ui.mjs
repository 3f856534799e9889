#!/usr/bin/env node
// Checks the language support in a real VS Code (code-server 4.100.3 + Debian chromium +
// playwright-core, as in the project's VS Code testing note): a .S file opens as "RISC-V
// Assembly", F9 sets a breakpoint in it, hovers come from the language server, diagnostics reach
// the Problems view, and *.ringside.json is validated against the machine schema.
// Run after `npm run build`, with CODE_SERVER_BIN pointing at a code-server 4.100.3 binary:
//   CODE_SERVER_BIN=.tools/code-server/node_modules/.bin/code-server node scripts/check-language-support-ui.mjs
// Exits 1 on any failed expectation; screenshots go to $SHOTS (default a temporary folder).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const CODE_SERVER = process.env.CODE_SERVER_BIN ?? path.join(ROOT, '.tools/code-server/node_modules/.bin/code-server');
if (!fs.existsSync(CODE_SERVER)) { console.error(`no code-server at ${CODE_SERVER}: set CODE_SERVER_BIN`); process.exit(1); }
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringside-lang-ui-'));
const shots = process.env.SHOTS ?? path.join(tmp, 'shots'); fs.mkdirSync(shots, { recursive: true });
// A workspace with the demo kernel's start.S, a file with known errors and a bad machine config.
const ws = path.join(tmp, 'ws'); fs.mkdirSync(ws);
fs.copyFileSync(path.join(ROOT, 'guests/demo/start.S'), path.join(ws, 'start.S'));
fs.writeFileSync(path.join(ws, 'bad.S'), '# ringside: privilege=S\n        .text\nentry:  csrr    a0, mstatus\n        addi    a0, a0, 4096\n        frobnicate a0\n        ret\n');
fs.writeFileSync(path.join(ws, 'bad.ringside.json'), '{\n  "kernel": "demo.elf",\n  "harts": 99\n}\n');
const failures = [];
const expect = (ok, what) => { if (!ok) failures.push(what); console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); };
const user = path.join(tmp, 'user'); fs.mkdirSync(path.join(user, 'User'), { recursive: true });
fs.writeFileSync(path.join(user, 'User', 'settings.json'), JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'extensions.autoCheckUpdates': false, 'extensions.autoUpdate': false, 'git.enabled': false, 'workbench.tips.enabled': false }));
const cfg = path.join(tmp, 'config.yaml'); fs.writeFileSync(cfg, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
fs.mkdirSync(path.join(tmp, 't'));
let server; const t0 = Date.now(); const log = (m) => console.log(`${((Date.now() - t0) / 1000).toFixed(1)}s ${m}`);
(async () => {
  server = spawn(CODE_SERVER, ['--config', cfg, '--user-data-dir', user, '--extensions-dir', path.join(tmp, 'ext'), '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_DATA_HOME: path.join(tmp, 'xd'), XDG_CONFIG_HOME: path.join(tmp, 'xc'), TMPDIR: path.join(tmp, 't') }, detached: true });
    const origin = await new Promise((res, rej) => { let buf = ''; const on = (d) => { buf += d; const m = buf.match(/HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/); if (m) res(m[1]); };
    server.stdout.on('data', on); server.stderr.on('data', on); setTimeout(() => rej(new Error('no start ' + buf)), 60000); });
  const auth = new URL(origin).host;
  const payload = [['extensionDevelopmentPath', `vscode-remote://${auth}${ROOT}`]];
  const url = `${origin}/?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(60000);
  await page.goto(url); await page.locator('.monaco-workbench').waitFor(); log('workbench');
  async function open(name) {
    await page.keyboard.press('Control+P'); const input = page.locator('.quick-input-widget input'); await input.waitFor(); await input.fill(name);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor(); await page.keyboard.press('Enter');
    await page.locator(`.tab.active[aria-label*="${name}"]`).waitFor(); log(`opened ${name}`);
  }
  await page.waitForTimeout(3000);
  await open('start.S');
  const mode = page.locator('.statusbar-item[id="status.editor.mode"]');
  await page.waitForFunction(() => document.querySelector('[id="status.editor.mode"]')?.textContent?.includes('RISC-V'), null, { timeout: 60000 });
  expect((await mode.textContent()).includes('RISC-V Assembly'), 'start.S opens as RISC-V Assembly');
  // Breakpoint on the `csrr t0, mhartid` line (line 5): put the cursor there, F9.
  await page.keyboard.press('Control+G'); await page.keyboard.type('5'); await page.keyboard.press('Enter'); await page.waitForTimeout(500);
  await page.keyboard.press('F9'); await page.waitForTimeout(1000);
  const glyphs = await page.locator('.monaco-editor .codicon-debug-breakpoint').count();
  expect(glyphs === 1, `F9 sets a breakpoint in start.S (${glyphs} breakpoint glyphs)`);
  await page.screenshot({ path: `${shots}/1-start-S-breakpoint.png` });
  async function hoverAt(line, column, shot) {
    await page.keyboard.press('Control+G'); await page.keyboard.type(`${line}:${column}`); await page.keyboard.press('Enter'); await page.waitForTimeout(500);
    await page.keyboard.press('Control+K'); await page.keyboard.press('Control+I');
    try { await page.locator('.monaco-hover:not(.hidden) .monaco-hover-content').first().waitFor({ timeout: 20000 }); } catch (e) { log('no visible hover'); }
    await page.waitForTimeout(1500);
    const text = (await page.locator('.monaco-hover-content').allInnerTexts()).join(' // ');
    log(`hover ${line}:${column}: ${text.slice(0, 400).replace(/\n/g, ' | ')}`);
    return text;
    await page.screenshot({ path: `${shots}/${shot}` });
    await page.keyboard.press('Escape');
  }
  expect((await hoverAt(5, 10, '2-hover-csrr.png')).includes('Popek–Goldberg class: privileged'), 'hover on csrr gives its class');
  expect((await hoverAt(5, 22, '3-hover-mhartid.png')).includes('Lowest privilege: M'), 'hover on mhartid gives its lowest privilege');
  await open('bad.S'); await page.waitForTimeout(4000);
  await page.keyboard.press('Control+Shift+M'); await page.waitForTimeout(2000);
  const asmProblems = await page.locator('.markers-panel').innerText();
  for (const code of ['csr-privilege', 'immediate-range', 'unknown-mnemonic']) expect(asmProblems.includes(code), `bad.S has a ${code} problem`);
  await page.screenshot({ path: `${shots}/4-bad-S-problems.png` });
  await open('bad.ringside.json'); await page.waitForTimeout(5000);
  expect((await page.locator('.markers-panel').innerText()).includes('Value is above the maximum of 8'), 'bad.ringside.json: harts 99 is flagged');
  await page.screenshot({ path: `${shots}/5-ringside-json.png` });
  // Completion of the machine options: a new property on line 3.
  await page.keyboard.press('Control+G'); await page.keyboard.type('2'); await page.keyboard.press('Enter');
  await page.keyboard.press('End'); await page.keyboard.press('Enter'); await page.keyboard.type('"ico');
  await page.keyboard.press('Control+Space');
  let suggestions = '';
  try {
    await page.locator('.suggest-widget .monaco-list-row').first().waitFor({ timeout: 20000 });
    suggestions = (await page.locator('.suggest-widget .monaco-list-row').allInnerTexts()).join(' ');
  } catch { /* no suggestions */ }
  expect(suggestions.includes('icountShift'), `*.ringside.json completes machine options (${suggestions.slice(0, 80)})`);
  await page.screenshot({ path: `${shots}/6-ringside-json-completion.png` });
  await page.keyboard.press('Escape');
  await browser.close();
})().catch((error) => { console.error(error); failures.push(String(error)); }).finally(() => {
  try { process.kill(-server.pid, 'SIGTERM'); } catch {}
  console.log(`screenshots in ${shots}`);
  setTimeout(() => {
    for (const name of fs.readdirSync(tmp)) if (path.join(tmp, name) !== shots) fs.rmSync(path.join(tmp, name), { recursive: true, force: true });
    process.exit(failures.length === 0 ? 0 : 1);
  }, 1000);
});
