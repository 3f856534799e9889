// Seeded fuzzing of the two JSON files a user writes for the CLI: `ringside test` lists and
// machine config files. Valid files are mutated (values swapped for values of other types,
// fields dropped or added, bytes changed); reading one either gives test cases or throws a
// UsageError with one line naming the file, never another exception.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { UsageError } from '../../vmm-core/cli/common';
import { loadMachineConfigFile } from '../../vmm-core/cli/machine-options';
import { readTestList } from '../../vmm-core/cli/test-list';
import { seededRandom } from '../support/random';


let scratch = '';
before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'ringside-list-fuzz-'));
});
after(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const VALID_LIST: Json = {
  machine: { kernel: resolve('guests/bin/rv64i.elf'), memory: '64M', harts: 1, icountShift: 4, idle: 'skip', drives: [], devices: ['virtio-rng,seed=x'] },
  timeout: 5,
  failOn: ['trap:2', 'privilege:U->M'],
  consoleLacks: ['panic', '/oops/i'],
  tests: [
    { name: 'a', exitCode: 0, consoleContains: ['PASS', '/ok \\w+/'], passOn: ['pc:0x80000000', 'console:done'] },
    { name: 'b', machine: { kernel: resolve('guests/bin/console.elf'), bios: 'none', cpu: 'rv64,sstc=off' }, consoleInput: ['x', { after: '> ', send: 'exit 0\n' }], wallTimeout: 30 },
  ],
};

const VALID_CONFIG: Json = {
  kernel: resolve('guests/bin/demo.elf'), memory: '128M', harts: 2, cpu: 'rv64gc', append: 'console=ttyS0', icountShift: 0,
  idle: 'pace', virtioLegacy: false, netdevs: ['user,restrict=on'], devices: ['virtio-console'],
};

const ODD_VALUES: Json[] = [
  null, true, false, 0, -1, 1.5, 2 ** 53, -1e308, '', 'x', 'trap:', ':', '/', '//', '/(/', 'file=', '0x', '9999999999G', [], [null], [''], {}, { name: '' },
  { send: 1 }, 'user,hostfwd=tcp:1.2.3.4:0-:0', 'virtio-rng,source=host,seed=a', 'rv64,nosuch=on', 'pc:', 'privilege:X->Y', '\u0000', 'a'.repeat(1000),
];

function mutate(value: Json, next: () => number): Json {
  const pick = <T>(items: readonly T[]): T => items[next() % items.length];
  if (next() % 5 === 0) return pick(ODD_VALUES);
  if (Array.isArray(value)) {
    const copy = value.map((item) => (next() % 3 === 0 ? mutate(item, next) : item));
    if (next() % 4 === 0) copy.push(pick(ODD_VALUES));
    if (copy.length > 0 && next() % 4 === 0) copy.splice(next() % copy.length, 1);
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    const copy: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value)) {
      const roll = next() % 8;
      if (roll === 0) continue;
      copy[roll === 1 ? `${key}x` : key] = roll < 4 ? mutate(item, next) : item;
    }
    if (next() % 6 === 0) copy[pick(['name', 'machine', 'tests', 'config', 'kernel', 'harts', 'timeout', 'after', 'send', 'extra'])] = pick(ODD_VALUES);
    return copy;
  }
  return next() % 2 === 0 ? pick(ODD_VALUES) : value;
}

function mutateBytes(text: string, next: () => number): string {
  const characters = [...text];
  for (let count = 1 + (next() % 4); count > 0; count--) {
    const at = next() % characters.length;
    const roll = next() % 3;
    if (roll === 0) characters.splice(at, 1);
    else if (roll === 1) characters.splice(at, 0, String.fromCharCode(next() % 128));
    else characters[at] = pick('{}[]":,\\0 n');
  }
  return characters.join('');
  function pick(choices: string): string {
    return choices[next() % choices.length];
  }
}

function assertReadsOrRefuses(read: (path: string) => unknown, path: string, content: string, stats: { accepted: number; refused: number }): void {
  writeFileSync(path, content);
  try {
    read(path);
    stats.accepted++;
  } catch (error) {
    if (!(error instanceof UsageError)) assert.fail(`not a UsageError for:\n${content}\n${(error as Error).stack}`);
    assert.doesNotMatch(error.message, /\n/, `one line: ${JSON.stringify(error.message)}`);
    assert.ok(error.message.includes(path) || /no such file '/.test(error.message), `names the file: ${error.message}`);
    stats.refused++;
  }
}

test('mutated test lists are read or refused with one UsageError', () => {
  const next = seededRandom(0x7e57);
  const path = join(scratch, 'fuzz.ringside-tests.json');
  const stats = { accepted: 0, refused: 0 };
  assertReadsOrRefuses(readTestList, path, JSON.stringify(VALID_LIST), stats);
  assert.equal(stats.accepted, 1, 'the unmutated list is valid');
  for (let round = 0; round < 600; round++) {
    const content = round % 3 === 2 ? mutateBytes(JSON.stringify(VALID_LIST, null, 1), next) : JSON.stringify(mutate(VALID_LIST, next));
    assertReadsOrRefuses(readTestList, path, content, stats);
  }
  assert.ok(stats.accepted > 5 && stats.refused > 300, `accepted ${stats.accepted}, refused ${stats.refused}`);
});

test('mutated machine config files are read or refused with one UsageError', () => {
  const next = seededRandom(0xc0f16);
  const path = join(scratch, 'fuzz.ringside.json');
  const stats = { accepted: 0, refused: 0 };
  assertReadsOrRefuses(loadMachineConfigFile, path, JSON.stringify(VALID_CONFIG), stats);
  assert.equal(stats.accepted, 1, 'the unmutated config is valid');
  for (let round = 0; round < 600; round++) {
    const content = round % 3 === 2 ? mutateBytes(JSON.stringify(VALID_CONFIG, null, 1), next) : JSON.stringify(mutate(VALID_CONFIG, next));
    assertReadsOrRefuses(loadMachineConfigFile, path, content, stats);
  }
  assert.ok(stats.accepted > 5 && stats.refused > 300, `accepted ${stats.accepted}, refused ${stats.refused}`);
});
