// Bundles the entry points into dist/. With --if-needed, skips the build when dist is newer than every source.
import { build } from 'esbuild';
import { existsSync, statSync, readdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

// An entry whose source does not exist (yet) is left out. `vscode` is provided by the editor.
const entries = [
  // dist/cli.js (the `ringside` command) starts dist/cli-main.js through V8's code cache.
  { in: 'vmm-core/cli/launch.ts', out: 'dist/cli.js', banner: '#!/usr/bin/env node' },
  { in: 'vmm-core/cli/main.ts', out: 'dist/cli-main.js' },
  { in: 'vmm-core/index.ts', out: 'dist/vmm-core.js' },
  { in: 'vmm-core/translation/compile-worker.ts', out: 'dist/translationWorker.js' },
  { in: 'debug-adapter/main.ts', out: 'dist/debugAdapter.js' },
  { in: 'debug-adapter/worker/adapter-worker.ts', out: 'dist/adapterWorker.js' },
  { in: 'debug-adapter/symbols/index-worker.ts', out: 'dist/symbolIndexWorker.js' },
  { in: 'language-server/main.ts', out: 'dist/languageServer.js' },
  { in: 'extension/extension.ts', out: 'dist/extension.js', external: ['vscode'] },
].filter((entry) => existsSync(entry.in));
const sourceFolders = ['vmm-core', 'debug-adapter', 'language-server', 'extension'].filter((folder) => existsSync(folder));

function newestSource(dir) {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    if (name.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (name.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const ifNeeded = process.argv.includes('--if-needed');
if (ifNeeded && entries.every((e) => existsSync(e.out)) && existsSync('dist/syntaxes/riscv-asm.tmLanguage.json')) {
  const oldestOutput = Math.min(...entries.map((e) => statSync(e.out).mtimeMs));
  if (Math.max(...sourceFolders.map(newestSource)) < oldestOutput) process.exit(0);
}

for (const entry of entries) {
  await build({
    entryPoints: [entry.in],
    outfile: entry.out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    banner: entry.banner ? { js: entry.banner } : undefined,
    external: entry.external,
    logLevel: 'warning',
  });
  if (entry.banner) chmodSync(entry.out, 0o755);
}
// The editor's JSON schema, grammar and language configuration, generated from vmm-core's tables.
if (existsSync('scripts/generate-language-assets.mjs')) await import('./generate-language-assets.mjs');
