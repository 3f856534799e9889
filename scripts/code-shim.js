#!/usr/bin/env node
// A stand-in for the VS Code executable, for @vscode/test-electron / @vscode/test-cli where no
// desktop VS Code can be downloaded: it takes test-electron's command line, starts code-server
// (.tools/code-server, scripts/install-vscode-test-deps.sh) on 127.0.0.1 with a free port, opens
// the workbench in headless Debian chromium through playwright-core with the extension under
// development and the tests in the payload, and exits with the tests' exit code.
// Required as a module, it lends the same code-server and browser handling to test/ui/.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CODE_SERVER_BIN = process.env.CODE_SERVER_BIN || path.join(ROOT, '.tools/code-server/node_modules/.bin/code-server');
const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const INSTALL_HINT = 'run: bash scripts/install-vscode-test-deps.sh';

const WORKBENCH_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'security.workspace.trust.enabled': false,
  'update.mode': 'none',
  // The DOM renderer, so a test can read what a terminal shows.
  'terminal.integrated.gpuAcceleration': 'off',
};

function checkInstalled() {
  if (!fs.existsSync(CODE_SERVER_BIN)) throw new Error(`code-server is not installed at ${CODE_SERVER_BIN}; ${INSTALL_HINT}`);
  if (!fs.existsSync(CHROMIUM_BIN)) throw new Error(`chromium is not installed at ${CHROMIUM_BIN}; ${INSTALL_HINT}`);
}

/** A fresh folder for one run: user data, extensions, XDG dirs and TMPDIR, removed by stop(). */
function makeRunFolder(parent) {
  const folder = fs.mkdtempSync(path.join(parent || os.tmpdir(), 'code-server-run-'));
  for (const name of ['user/User', 'extensions', 'xdg-data', 'xdg-config', 'xdg-cache', 'tmp', 'home']) {
    fs.mkdirSync(path.join(folder, name), { recursive: true });
  }
  fs.writeFileSync(path.join(folder, 'user/User/settings.json'), JSON.stringify(WORKBENCH_SETTINGS, null, 2));
  return folder;
}

/** Environment that keeps code-server, its extension host and chromium out of $HOME and /tmp. */
function isolatedEnvironment(folder, extra) {
  return {
    ...process.env,
    ...extra,
    XDG_DATA_HOME: path.join(folder, 'xdg-data'),
    XDG_CONFIG_HOME: path.join(folder, 'xdg-config'),
    XDG_CACHE_HOME: path.join(folder, 'xdg-cache'),
    TMPDIR: path.join(folder, 'tmp'),
  };
}

/** code-server's own CLI (e.g. --install-extension) with the run folder's directories. */
function codeServerCommand(folder, args, timeoutMs = 120_000) {
  checkInstalled();
  const result = spawnSync(CODE_SERVER_BIN, ['--user-data-dir', path.join(folder, 'user'), '--extensions-dir', path.join(folder, 'extensions'), ...args], {
    env: isolatedEnvironment(folder), encoding: 'utf8', timeout: timeoutMs,
  });
  if (result.status !== 0) {
    throw new Error(`code-server ${args.join(' ')} failed (${result.error ? result.error.message : `exit ${result.status}`}):\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

/**
 * Starts code-server in its own process group (so stop() also ends the extension host and file
 * watchers) and resolves once it listens. Returns { origin, folder, stop, output }.
 */
function startCodeServer(options = {}) {
  checkInstalled();
  const folder = options.folder || makeRunFolder(options.parent);
  const config = path.join(folder, 'config.yaml');
  fs.writeFileSync(config, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  const server = spawn(CODE_SERVER_BIN, [
    '--config', config, '--user-data-dir', path.join(folder, 'user'), '--extensions-dir', path.join(folder, 'extensions'),
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--ignore-last-opened',
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: isolatedEnvironment(folder, options.env), detached: true });
  let output = '';
  let stopped = false;
  const stop = () => {
    if (!stopped) {
      stopped = true;
      try { process.kill(-server.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    if (!options.keepFolder) fs.rmSync(folder, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { stop(); reject(new Error(`code-server did not start within 60 s:\n${output}`)); }, 60_000);
    const onData = (data) => {
      output += data;
      const match = output.match(/HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (match) {
        clearTimeout(timer);
        resolve({ origin: match[1], folder, stop, output: () => output });
      }
    };
    server.stdout.setEncoding('utf8').on('data', onData);
    server.stderr.setEncoding('utf8').on('data', onData);
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!stopped) reject(new Error(`code-server exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
}

/** Headless Debian chromium through playwright-core; its profile lives in the run folder. */
async function launchChromium(folder) {
  checkInstalled();
  const { chromium } = require('playwright-core');
  // playwright makes its temporary profile under os.tmpdir() at launch: keep it inside the run folder.
  const tmpdir = process.env.TMPDIR;
  process.env.TMPDIR = path.join(folder, 'tmp');
  try {
    return await chromium.launch({
      executablePath: CHROMIUM_BIN,
      headless: true,
      env: { ...process.env, HOME: path.join(folder, 'home'), XDG_CONFIG_HOME: path.join(folder, 'xdg-config'), XDG_CACHE_HOME: path.join(folder, 'xdg-cache') },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
  } finally {
    if (tmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpdir;
  }
}

/** The workbench URL for a folder, with extension development/tests paths in the payload. */
function workbenchUrl(origin, { folder, extensionDevelopmentPaths = [], extensionTestsPath } = {}) {
  const authority = new URL(origin).host;
  const payload = extensionDevelopmentPaths.map((p) => ['extensionDevelopmentPath', `vscode-remote://${authority}${path.resolve(p)}`]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', `vscode-remote://${authority}${path.resolve(extensionTestsPath)}`]);
  const where = folder ? `folder=${encodeURIComponent(path.resolve(folder))}` : 'ew=true';
  return `${origin}/?${where}${payload.length ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`;
}

/** test-electron's command line: the folder to open and the --flag=value options we use. */
function parseTestElectronArguments(argv) {
  const value = (name) => {
    const found = argv.find((arg) => arg.startsWith(`--${name}=`));
    return found === undefined ? undefined : found.slice(name.length + 3);
  };
  return {
    folder: argv.find((arg) => !arg.startsWith('-')),
    extensionDevelopmentPaths: argv.filter((arg) => arg.startsWith('--extensionDevelopmentPath=')).map((arg) => arg.slice('--extensionDevelopmentPath='.length)),
    extensionTestsPath: value('extensionTestsPath'),
    version: argv.includes('--version'),
  };
}

async function runTestsAsShim(argv) {
  const parsed = parseTestElectronArguments(argv);
  if (parsed.version) {
    process.stdout.write(`${require(path.join(CODE_SERVER_BIN, '../../code-server/package.json')).version}\n`);
    return 0;
  }
  if (!parsed.extensionTestsPath) throw new Error('code-shim: no --extensionTestsPath=… given (it only runs extension tests)');
  const server = await startCodeServer();
  let browser;
  const stop = () => { server.stop(); };
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.once(signal, () => {
      console.error(`code-shim: ${signal}: stopping code-server`);
      stop();
      process.exit(code);
    });
  }
  try {
    browser = await launchChromium(server.folder);
    const page = await browser.newPage();
    let finish;
    const finished = new Promise((resolve) => { finish = resolve; });
    // The workbench calls these when it runs extension tests: the tests' exit code and their console.
    await page.exposeFunction('codeAutomationExit', (code) => finish(code));
    await page.exposeFunction('codeAutomationLog', (type, args) => (console[type] || console.log)(...args));
    await page.goto(workbenchUrl(server.origin, parsed));
    const timeoutMs = Number(process.env.CODE_SHIM_TIMEOUT_MS || 300_000);
    let timer;
    const code = await Promise.race([finished, new Promise((resolve) => { timer = setTimeout(() => {
      console.error(`code-shim: the tests did not finish within ${timeoutMs} ms`);
      resolve(124);
    }, timeoutMs); })]);
    clearTimeout(timer);
    return typeof code === 'number' ? code : 1;
  } finally {
    if (browser) await browser.close().catch(() => {});
    stop();
  }
}

module.exports = { ROOT, CODE_SERVER_BIN, CHROMIUM_BIN, makeRunFolder, codeServerCommand, startCodeServer, launchChromium, workbenchUrl, parseTestElectronArguments };

if (require.main === module) {
  runTestsAsShim(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
