// package.json contributes the debugger with attributes generated from the one launch schema
// (scripts/generate-manifest.mjs); this fails when package.json is out of date.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { debuggerContribution, LAUNCH_SCHEMA } from '../../debug-adapter/launch-schema';
import { MACHINE_OPTIONS_SCHEMA } from '../../vmm-core/machine/config';
import { ROOT } from './support';

test('package.json contributes.debuggers is generated from launch-schema.ts', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    contributes: { debuggers: unknown[]; breakpoints: Array<{ language: string }> };
  };
  assert.deepEqual(manifest.contributes.debuggers, [JSON.parse(JSON.stringify(debuggerContribution()))],
    'package.json is out of date: run node scripts/generate-manifest.mjs');
  assert.deepEqual(manifest.contributes.breakpoints.map((entry) => entry.language), ['c', 'cpp', 'riscv-asm', 'asm', 'riscv']);
  const check = spawnSync(process.execPath, ['scripts/generate-manifest.mjs', '--check'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});

test('the launch schema reuses the machine options of vmm-core', () => {
  const properties = LAUNCH_SCHEMA.properties!;
  for (const [name, option] of Object.entries(MACHINE_OPTIONS_SCHEMA.properties)) {
    if (name === 'kernel') assert.deepEqual(properties.program, option);
    else assert.deepEqual(properties[name], option, name);
  }
});
