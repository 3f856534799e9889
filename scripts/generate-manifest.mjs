// Writes package.json's `contributes`: `debuggers` and `breakpoints` from the one launch schema
// (debug-adapter/launch-schema.ts), and everything else from the fragments in
// extension/contributes/*.json (each a partial `contributes` object; arrays are concatenated in
// file-name order, objects merged), so each part of the extension owns its own file.
// `--check` only compares and exits 1 when package.json is out of date (test/dap/manifest.test.ts).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadTypeScript } from './load-typescript.mjs';

const { debuggerContribution } = await loadTypeScript("export { debuggerContribution } from './debug-adapter/launch-schema';");

function mergeContributions(into, fragment, file) {
  for (const [key, value] of Object.entries(fragment)) {
    if (!(key in into)) into[key] = structuredClone(value);
    else if (Array.isArray(into[key]) && Array.isArray(value)) into[key].push(...structuredClone(value));
    else if (typeof into[key] === 'object' && typeof value === 'object' && !Array.isArray(value) && into[key] !== null) {
      mergeContributions(into[key], value, file);
    } else throw new Error(`${file}: contributes.${key} is also given by another fragment`);
  }
}

const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const contribution = debuggerContribution();
const expected = {
  debuggers: [contribution],
  breakpoints: contribution.languages.map((language) => ({ language })),
};
const fragmentFolder = 'extension/contributes';
const fragments = existsSync(fragmentFolder) ? readdirSync(fragmentFolder).filter((name) => name.endsWith('.json')).sort() : [];
for (const name of fragments) {
  mergeContributions(expected, JSON.parse(readFileSync(`${fragmentFolder}/${name}`, 'utf8')), `${fragmentFolder}/${name}`);
}
const text = `${JSON.stringify({ ...manifest, contributes: expected }, null, 2)}\n`;
if (process.argv.includes('--check')) {
  if (readFileSync('package.json', 'utf8') !== text) {
    process.stderr.write('package.json contributes is out of date: run node scripts/generate-manifest.mjs\n');
    process.exit(1);
  }
} else {
  writeFileSync('package.json', text);
}
