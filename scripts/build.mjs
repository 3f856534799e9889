// Bundles the entry points into dist/. With --if-needed, skips the build when dist is newer than every source.
import { build } from 'esbuild';
import { existsSync, statSync, readdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

const entries = [
  { in: 'vmm-core/cli/main.ts', out: 'dist/cli.js', banner: '#!/usr/bin/env node' },
  { in: 'vmm-core/index.ts', out: 'dist/vmm-core.js' },
  { in: 'debug-adapter/main.ts', out: 'dist/debugAdapter.js' },
];

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
if (ifNeeded && entries.every((e) => existsSync(e.out))) {
  const oldestOutput = Math.min(...entries.map((e) => statSync(e.out).mtimeMs));
  if (Math.max(newestSource('vmm-core'), newestSource('debug-adapter')) < oldestOutput) process.exit(0);
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
    logLevel: 'warning',
  });
  if (entry.banner) chmodSync(entry.out, 0o755);
}
