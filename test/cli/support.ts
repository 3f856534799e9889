// What the CLI tests share: the bundled CLI built once per file, a scratch folder, and the
// shape of a bad-input answer (exit code 2, one line on stderr, nothing else).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before } from 'node:test';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Builds dist/ if a source is newer (--if-needed) before the file's tests and gives them a
 * scratch folder, removed after them; the returned function names it once the tests run.
 */
export function useBuiltCliAndScratch(prefix: string): () => string {
  let scratch = '';
  before(() => {
    const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { encoding: 'utf8' });
    assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);
    scratch = mkdtempSync(`${tmpdir()}/${prefix}`);
  });
  after(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });
  return () => scratch;
}

/** Bad input: exit code 2, one message on stderr, no stack trace, nothing on stdout. */
export function assertBadInput(result: CliResult, message: RegExp): void {
  assert.equal(result.code, 2, `exit code; stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  assert.match(result.stderr, /^ringside: [^\n]+\n$/, 'exactly one line on stderr');
  assert.match(result.stderr, message);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(result.stdout, '', 'nothing on stdout');
}
