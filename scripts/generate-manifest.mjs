// Writes package.json's `contributes.debuggers` and `contributes.breakpoints` from the one
// launch schema (debug-adapter/launch-schema.ts). `--check` only compares and exits 1 when
// package.json is out of date (test/dap/manifest.test.ts runs it).
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const bundled = await build({
  entryPoints: ['debug-adapter/launch-schema.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  logLevel: 'warning',
});
const module = { exports: {} };
new Function('module', 'exports', 'require', bundled.outputFiles[0].text)(module, module.exports, createRequire(import.meta.url));
const { debuggerContribution } = module.exports;

const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const contribution = debuggerContribution();
const expected = {
  ...manifest.contributes,
  debuggers: [contribution],
  breakpoints: contribution.languages.map((language) => ({ language })),
};
const text = `${JSON.stringify({ ...manifest, contributes: expected }, null, 2)}\n`;
if (process.argv.includes('--check')) {
  if (readFileSync('package.json', 'utf8') !== text) {
    process.stderr.write('package.json contributes.debuggers/breakpoints are out of date: run node scripts/generate-manifest.mjs\n');
    process.exit(1);
  }
} else {
  writeFileSync('package.json', text);
}
