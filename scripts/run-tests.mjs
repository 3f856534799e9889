// Runs every test/**/*.test.ts with node's built-in runner (TypeScript through tsx), then the
// CPU, guest, machine and debugger tests again on the interpreter alone (RINGSIDE_TIER), so
// that both execution tiers pass them: the first pass runs on the default tier (translation).
// With arguments, runs the files whose path contains one of them, once, on the tier that
// RINGSIDE_TIER names (default auto).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...collect(path));
    else if (entry.name.endsWith('.test.ts')) files.push(path);
  }
  return files.sort();
}

/** The tests that execute guest code through the machine's run loop, where the tier matters. */
const BOTH_TIERS = [
  'test/unit/cpu-', 'test/unit/monitor-', 'test/unit/sbi', 'test/unit/machine-', 'test/unit/debugger',
  'test/unit/trap-history', 'test/unit/state-', 'test/unit/devices-', 'test/guests/', 'test/dap/', 'test/cli/cli.test.ts',
];

function run(files, environment) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
    stdio: 'inherit',
    env: { ...process.env, ...environment },
  });
  return result.status ?? 1;
}

const filter = process.argv.slice(2);
const all = collect('test');
if (filter.length > 0) {
  process.exit(run(all.filter((f) => filter.some((p) => f.includes(p))), {}));
}
const first = run(all, {});
const tierFiles = all.filter((f) => BOTH_TIERS.some((p) => f.includes(p)) && !f.includes('tier-lockstep'));
console.log(`\n# again on the interpreter alone (RINGSIDE_TIER=interpreter): ${tierFiles.length} files`);
const second = run(tierFiles, { RINGSIDE_TIER: 'interpreter' });
process.exit(first !== 0 ? first : second);
