// Runs the UI end-to-end tests (test/ui/*.ui.ts) with node's test runner, one file at a time
// (each drives its own code-server and browser), bounded by a timeout. npm run test:ui.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const filter = process.argv.slice(2);
const files = readdirSync('test/ui').filter((name) => name.endsWith('.ui.ts')).map((name) => `test/ui/${name}`)
  .filter((file) => filter.length === 0 || filter.some((part) => file.includes(part))).sort();
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  timeout: 15 * 60_000,
  killSignal: 'SIGTERM',
});
if (result.error) console.error(`test/ui: ${result.error.message}`);
process.exit(result.status ?? 1);
