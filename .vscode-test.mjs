// @vscode/test-cli configuration for the extension-host tests in test/vscode (npm run test:vscode).
// Loading it compiles test/vscode/*.ts to out/vscode/. Where no desktop VS Code can be
// downloaded (this project's machines), the "installation" is scripts/code-shim.js: the same
// tests run in code-server 4.100.3's extension host. RINGSIDE_VSCODE=desktop drops the shim and
// lets test-cli download desktop VS Code 1.100.3 instead; the test bodies are the same.
import { defineConfig } from '@vscode/test-cli';
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';

const sources = readdirSync('test/vscode').filter((name) => name.endsWith('.ts')).map((name) => `test/vscode/${name}`);
await build({ entryPoints: sources, outdir: 'out/vscode', platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, logLevel: 'warning' });

const desktop = process.env.RINGSIDE_VSCODE === 'desktop';

export default defineConfig({
  label: 'extension host',
  files: 'out/vscode/**/*.itest.js',
  workspaceFolder: './test/vscode/workspace',
  version: '1.100.3',
  ...(desktop ? {} : { useInstallation: { fromPath: './scripts/code-shim.js' } }),
  // The extension under test is the repository itself (package.json, dist/).
  extensionDevelopmentPath: '.',
  launchArgs: ['--disable-extensions'],
  mocha: { ui: 'bdd', timeout: 60_000, slow: 10_000 },
});
