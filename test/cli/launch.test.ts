// dist/cli.js starts the CLI's bundle through V8's code cache (vmm-core/cli/launch.ts): the
// first run writes the cache under $XDG_CACHE_HOME/ringside/v8, later runs read it without
// rewriting it, a corrupt cache is replaced, and a cache directory that cannot be written
// changes nothing but speed. Each run is the real command on a real guest.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

function runRv64i(cacheHome: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['dist/cli.js', 'run', '--kernel', 'guests/bin/rv64i.elf'], {
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: cacheHome },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function cacheFiles(cacheHome: string): string[] {
  try {
    return readdirSync(join(cacheHome, 'ringside', 'v8')).filter((name) => name.endsWith('.cache'));
  } catch {
    return [];
  }
}

test('the first run writes the code cache, the next ones use it as it is', () => {
  const cacheHome = mkdtempSync(join(tmpdir(), 'ringside-launch-'));
  try {
    const first = runRv64i(cacheHome);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /PASS/);
    const files = cacheFiles(cacheHome);
    assert.equal(files.length, 1, `cache files: ${files.join(', ')}`);
    const path = join(cacheHome, 'ringside', 'v8', files[0]);
    const written = statSync(path);
    assert.ok(written.size > 100_000, `a cache of ${written.size} bytes`);
    const second = runRv64i(cacheHome);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stdout, first.stdout);
    assert.equal(statSync(path).mtimeMs, written.mtimeMs, 'an accepted cache is not rewritten');
  } finally {
    rmSync(cacheHome, { recursive: true, force: true });
  }
});

test('a corrupt or truncated cache is ignored and replaced; the run is the same', () => {
  const cacheHome = mkdtempSync(join(tmpdir(), 'ringside-launch-'));
  try {
    const first = runRv64i(cacheHome);
    const [name] = cacheFiles(cacheHome);
    const path = join(cacheHome, 'ringside', 'v8', name);
    const good = readFileSync(path);
    const corrupt = Buffer.from(good);
    for (let offset = 64; offset < corrupt.length; offset += 97) corrupt[offset] ^= 0x5a;
    // V8 itself would abort on the damaged data (it does not check it): the launcher must.
    for (const damaged of [corrupt, good.subarray(0, good.length >> 1), Buffer.alloc(0)]) {
      writeFileSync(path, damaged);
      const again = runRv64i(cacheHome);
      assert.equal(again.status, 0, again.stderr);
      assert.equal(again.stdout, first.stdout);
      const replaced = readFileSync(path);
      assert.notDeepEqual(replaced, damaged, 'the damaged cache was replaced');
      assert.equal(replaced.subarray(0, 4).toString('latin1'), 'RSV8');
      assert.ok(replaced.length > 100_000);
    }
  } finally {
    rmSync(cacheHome, { recursive: true, force: true });
  }
});

test('a cache directory that cannot be made: the run is the same, nothing is cached', () => {
  const cacheHome = mkdtempSync(join(tmpdir(), 'ringside-launch-'));
  try {
    // A file where the directory would go: mkdir fails (ENOTDIR), whoever runs the test.
    writeFileSync(join(cacheHome, 'ringside'), 'not a directory');
    const result = runRv64i(cacheHome);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /PASS/);
    assert.equal(result.stderr, '');
    assert.deepEqual(cacheFiles(cacheHome), []);
  } finally {
    rmSync(cacheHome, { recursive: true, force: true });
  }
});
