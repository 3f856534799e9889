// `ringside run --snapshot-at/--snapshot-out/--restore` and `ringside snapshot info` through the
// bundled CLI, one process saving and another restoring: the restored run reaches the state
// (hash) a straight run reaches and prints the rest of its output; bad use and bad files are one
// line on stderr.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertBadInput, type CliResult, useBuiltCliAndScratch } from './support';

const scratch = useBuiltCliAndScratch('ringside-snapshot-');
const CLI = 'dist/cli.js';
const DEMO = 'guests/bin/demo.elf';

function cli(args: readonly string[]): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const path = (name: string): string => join(scratch(), name);

function stateHashOf(file: string): string {
  const info = cli(['snapshot', 'info', file, '--json']);
  assert.equal(info.code, 0, info.stderr);
  return (JSON.parse(info.stdout) as { stateHash: string }).stateHash;
}

describe('ringside run with snapshots', () => {
  for (const [name, kernel, extra, at, later] of [
    ['the demo kernel', DEMO, ['--idle', 'skip'], 600_000, 1_500_000],
    ['two harts (smp)', 'guests/bin/smp.elf', ['--smp', '2', '--idle', 'skip'], 8_000, 14_000],
    ['direct boot on the built-in SBI', 'guests/bin/sbi-payload.elf', ['--bios', 'builtin', '--idle', 'skip'], 300, 1_000],
  ] as const) {
    it(`${name}: a snapshot restored in another process runs on to the state a straight run reaches`, () => {
      const early = path(`${name}-early.snap`), restoredLater = path(`${name}-restored.snap`), straightLater = path(`${name}-straight.snap`);
      const saving = cli(['run', '--kernel', kernel, ...extra, '--snapshot-at', String(at), '--snapshot-out', early]);
      assert.match(saving.stderr, new RegExp(`ringside: snapshot at instruction ${at} written to .*early\\.snap \\(\\d+ bytes\\)`));
      const restored = cli(['run', '--restore', early, '--snapshot-at', String(later), '--snapshot-out', restoredLater]);
      const straight = cli(['run', '--kernel', kernel, ...extra, '--snapshot-at', String(later), '--snapshot-out', straightLater]);
      assert.equal(restored.code, saving.code, restored.stderr);
      assert.equal(straight.code, saving.code, straight.stderr);
      assert.equal(straight.stdout, saving.stdout, 'taking a snapshot does not change the run');
      assert.ok(restored.stdout.length > 0 && saving.stdout.endsWith(restored.stdout), `the restored run prints the rest:\n${restored.stdout}`);
      assert.ok(restored.stdout.length < saving.stdout.length, 'and not what was printed before the snapshot');
      assert.equal(stateHashOf(restoredLater), stateHashOf(straightLater), 'same machine state at the later instruction');
      assert.notEqual(stateHashOf(early), stateHashOf(straightLater));
    });
  }

  it('--snapshot-exit ends the run once the snapshot is written; snapshot info describes it', () => {
    const file = path('exit.snap');
    const result = cli(['run', '--kernel', DEMO, '--idle', 'skip', '--snapshot-at', '250_000', '--snapshot-out', file, '--snapshot-exit']);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(file));
    assert.deepEqual(readdirSync(scratch()).filter((entry) => entry.includes('partial')), [], 'no temporary file left behind');
    const info = cli(['snapshot', 'info', file]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /: Ringside snapshot, format version 1, \d+ bytes, named 'exit\.snap'\n/);
    assert.match(info.stdout, /machine: 128\.0 MiB RAM \(\d+ pages not zero\), 1 hart, bios none, virtual time 0\.\d{6} s\n/);
    assert.match(info.stdout, /  kernel {3}guests\/bin\/demo\.elf \(\d+ bytes, sha256 [0-9a-f]{16}…\)\n/);
    assert.match(info.stdout, /hart 0: pc 0x[0-9a-f]+ [USM]-mode, 250000 instructions retired/);
    assert.match(info.stdout, /sections: META \d+ bytes \(\d+ decoded\), CONF .*, MACH .*, RAM .*\n/);
    assert.match(info.stdout, /state hash: [0-9a-f]{64}\n$/);
    const json = JSON.parse(cli(['snapshot', 'info', file, '--json']).stdout) as { harts: Array<{ instructionsRetired: number }>; memoryBytes: number };
    assert.equal(json.harts[0].instructionsRetired, 250_000);
    assert.equal(json.memoryBytes, 128 * 1024 * 1024);
  });

  it('bad use and bad files are one line on stderr', () => {
    const good = path('good.snap');
    assert.equal(cli(['run', '--kernel', DEMO, '--idle', 'skip', '--snapshot-at', '1000', '--snapshot-out', good, '--snapshot-exit']).code, 0);
    assertBadInput(cli(['run', '--restore', good, '--kernel', DEMO]), /--restore takes the whole machine from the snapshot; --kernel cannot go with it/);
    assertBadInput(cli(['run', '--restore', good, '--mem', '256M', '--smp', '2']), /--mem, --smp cannot go with it/);
    assertBadInput(cli(['run', '--kernel', DEMO, '--snapshot-at', '1000']), /--snapshot-at needs --snapshot-out FILE/);
    assertBadInput(cli(['run', '--kernel', DEMO, '--snapshot-out', good]), /--snapshot-out needs --snapshot-at N/);
    assertBadInput(cli(['run', '--kernel', DEMO, '--snapshot-at', '12x', '--snapshot-out', good]), /--snapshot-at needs an instruction count, got '12x'/);
    assertBadInput(cli(['run', '--restore', good, '--snapshot-at', '500', '--snapshot-out', path('x.snap')]), /the machine is at instruction 1000 already/);
    assertBadInput(cli(['run', '--restore', path('missing.snap')]), /cannot read snapshot '.*missing\.snap': no such file or directory/);
    const bytes = readFileSync(good);
    writeFileSync(path('truncated.snap'), bytes.subarray(0, bytes.length - 10));
    assertBadInput(cli(['run', '--restore', path('truncated.snap')]), /truncated\.snap: snapshot is truncated: \d+ of \d+ bytes/);
    const damaged = Uint8Array.from(bytes);
    damaged[damaged.length - 5] ^= 0xff;
    writeFileSync(path('damaged.snap'), damaged);
    assertBadInput(cli(['snapshot', 'info', path('damaged.snap')]), /damaged\.snap: snapshot section 'RAM ' is damaged \(checksum mismatch\)/);
    writeFileSync(path('text.snap'), 'hello');
    assertBadInput(cli(['snapshot', 'info', path('text.snap')]), /not a Ringside snapshot/);
    assertBadInput(cli(['snapshot', 'show', good]), /unknown snapshot command 'show'/);
  });

  it('a disk goes into the snapshot with RAM: the restored run (on a copy in memory) matches a straight run, and leaves image files alone', () => {
    const disk = (name: string): string => {
      const made = spawnSync(process.execPath, ['guests/vkernel/make-disk.mjs', 'create', path(name)], { encoding: 'utf8' });
      assert.equal(made.status, 0, made.stderr);
      return path(name);
    };
    const drive = (image: string) => ['--kernel', 'guests/bin/vkernel.elf', '--drive', `file=${image},format=raw`, '--idle', 'skip'];
    const first = disk('first.img');
    const saving = cli(['run', ...drive(first), '--snapshot-at', '150000', '--snapshot-out', path('disk.snap')]);
    assert.match(saving.stdout, /vkernel: all 6 processes passed/, saving.stderr);
    const info = JSON.parse(cli(['snapshot', 'info', path('disk.snap'), '--json']).stdout) as { devices: Array<{ kind: string; slot: number }>; sections: Array<{ tag: string }> };
    assert.deepEqual(info.devices, [{ kind: 'block', slot: 7 }]);
    assert.ok(info.sections.some((section) => section.tag === 'DSK7'));
    const imageAfterRun = readFileSync(first);
    const restored = cli(['run', '--restore', path('disk.snap'), '--snapshot-at', '400000', '--snapshot-out', path('disk-restored.snap')]);
    const straight = cli(['run', ...drive(disk('second.img')), '--snapshot-at', '400000', '--snapshot-out', path('disk-straight.snap')]);
    assert.equal(restored.code, saving.code, restored.stderr);
    assert.equal(straight.code, saving.code, straight.stderr);
    assert.ok(saving.stdout.endsWith(restored.stdout) && restored.stdout.includes('vkernel: all 6 processes passed'), restored.stdout);
    assert.equal(stateHashOf(path('disk-restored.snap')), stateHashOf(path('disk-straight.snap')), 'same machine and disk at the later instruction');
    assert.deepEqual(readFileSync(first), imageAfterRun, '--restore wrote no image file');
  });

  it('a run that ends before --snapshot-at says so and writes nothing', () => {
    const file = path('never.snap');
    const result = cli(['run', '--kernel', 'guests/bin/rv64i.elf', '--snapshot-at', '100000000', '--snapshot-out', file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /ringside: the run ended at instruction \d+ of hart 0, before --snapshot-at 100000000: no snapshot written\n$/);
    assert.ok(!existsSync(file));
  });
});
