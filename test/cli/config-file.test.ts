// `ringside run --config NAME.ringside.json`: a machine config file (the machine schema as
// JSON) booted by the bundled CLI on the committed guests; paths relative to the file, the
// command line overriding it, and one clear error (file, field, what) for a bad file.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { assertBadInput, type CliResult, useBuiltCliAndScratch } from './support';

const scratch = useBuiltCliAndScratch('ringside-config-');
const CLI = resolve('dist/cli.js');
function run(args: readonly string[], cwd = process.cwd()): CliResult {
  const result = spawnSync(process.execPath, [CLI, 'run', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Writes a config file in a folder of its own under the scratch() folder. */
function writeConfig(folder: string, name: string, content: unknown): string {
  const directory = join(scratch(), folder);
  mkdirSync(directory, { recursive: true });
  const path = join(directory, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

describe('ringside run --config', () => {
  test('boots the machine the file describes; its relative paths are relative to the file, not the working directory', () => {
    // The file lives in scratch()/machines; the kernel path is written relative to that folder.
    const folder = join(scratch(), 'machines');
    mkdirSync(folder, { recursive: true });
    const config = writeConfig('machines', 'demo.ringside.json', {
      $schema: '../ringside-machine.schema.json',
      kernel: relative(folder, resolve('guests/bin/demo.elf')),
      memory: '64M',
      icountShift: 4,
    });
    const result = run(['--config', config], scratch());
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /demo: kernel running in S-mode/);
    assert.match(result.stdout, /task B: round 3 value 0xf1d4b80c/);
  });

  test('options on the command line override the file', () => {
    const folder = join(scratch(), 'override');
    mkdirSync(folder, { recursive: true });
    const config = writeConfig('override', 'smp.ringside.json', { kernel: relative(folder, resolve('guests/bin/rv64i.elf')), harts: 2 });
    const fromFile = run([`--config=${config}`]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.match(fromFile.stdout, /^rv64i: /);
    // --kernel replaces the file's kernel (the command line is read after the file, wherever --config stands).
    const overridden = run(['--kernel', 'guests/bin/smp.elf', '--config', config]);
    assert.equal(overridden.code, 0, overridden.stderr);
    assert.match(overridden.stdout, /^smp: two harts\n/);
    assert.match(overridden.stdout, /PASS/);
    // The file's harts: 2 is what smp.elf needs; --smp 1 on the command line takes it away.
    const oneHart = run(['--config', config, '--kernel', 'guests/bin/smp.elf', '--smp', '1', '--timeout', '20']);
    assert.notEqual(oneHart.code, 0, `smp.elf on one hart must not pass:\n${oneHart.stdout}`);
    // --stop-on works with a config file as without.
    const stopped = run(['--config', config, '--kernel', 'guests/bin/fd.elf', '--stop-on', 'trap:2']);
    assert.equal(stopped.code, 3, stopped.stderr);
    assert.match(stopped.stderr, /^ringside: stopped on exception 2 \(M->M\)/);
  });

  test('drives in the file are relative to it too (the error names the resolved path)', () => {
    const config = writeConfig('disks', 'disk.ringside.json', { kernel: resolve('guests/bin/rv64i.elf'), drives: ['file=images/missing.img,format=raw'] });
    const result = run(['--config', config]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`${join(scratch(), 'disks', 'images', 'missing.img').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(result.stdout, '');
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{ "kernel": "x.elf",\n  harts: 2 }', /bad-0\.ringside\.json: not valid JSON \(line 2, column 3\)/],
    ['not an object', '[1, 2]', /bad-1\.ringside\.json: value must be an object, got \[1,2\]/],
    ['an unknown field', { kernel: resolve('guests/bin/rv64i.elf'), hart: 2 }, /bad-2\.ringside\.json: 'hart' is not a known attribute$/m],
    ['too many harts', { kernel: resolve('guests/bin/rv64i.elf'), harts: 9 }, /bad-3\.ringside\.json: 'harts' must be at most 8, got 9$/m],
    ['a wrong type', { kernel: resolve('guests/bin/rv64i.elf'), harts: '2' }, /bad-4\.ringside\.json: 'harts' must be an integer, got "2"$/m],
    ['a bad memory size', { kernel: resolve('guests/bin/rv64i.elf'), memory: '64Q' }, /bad-5\.ringside\.json: 'memory' has the wrong form: "64Q"/],
    ['memory out of range', { kernel: resolve('guests/bin/rv64i.elf'), memory: '4G' }, /bad-6\.ringside\.json: 'memory': memory must be at most 2 GiB/],
    ['a bad CPU model', { kernel: resolve('guests/bin/rv64i.elf'), cpu: 'rv64,zfoo=on' }, /bad-7\.ringside\.json: 'cpu': .*zfoo/],
    ['a missing kernel', { kernel: 'no-such-kernel.elf' }, /bad-8\.ringside\.json: 'kernel': no such file '.*\/bad\/no-such-kernel\.elf'/],
    ['a bad drive', { kernel: resolve('guests/bin/rv64i.elf'), drives: ['file=x.img,format=vmdk'] }, /bad-9\.ringside\.json: 'drives\[0\]': --drive 'file=x\.img,format=vmdk': format must be raw or qcow2/],
    ['a bad idle mode', { kernel: resolve('guests/bin/rv64i.elf'), idle: 'sleep' }, /bad-10\.ringside\.json: 'idle' must be one of "pace", "skip", got "sleep"/],
  ];
  bad.forEach(([what, content, message], index) => {
    test(`a config file with ${what}: one error naming the file and the field, exit code 2`, () => {
      const config = writeConfig('bad', `bad-${index}.ringside.json`, content);
      assertBadInput(run(['--config', config]), message);
    });
  });

  test('a missing file, a missing value, two files', () => {
    assertBadInput(run(['--config', join(scratch(), 'nothing.ringside.json')]), /cannot read machine config file '.*nothing\.ringside\.json': no such file or directory/);
    assertBadInput(run(['--kernel', 'guests/bin/rv64i.elf', '--config']), /--config needs a value/);
    const config = writeConfig('two', 'a.ringside.json', { kernel: resolve('guests/bin/rv64i.elf') });
    assertBadInput(run(['--config', config, '--config', config]), /--config given twice/);
    const noKernel = writeConfig('two', 'no-kernel.ringside.json', { harts: 2 });
    assertBadInput(run(['--config', noKernel]), /--kernel FILE is required \(or a --config file with a kernel\)/);
  });
});
