// Linux with a disk and a network card through `ringside run`: saved part-way through its boot,
// restored in another process, it reaches the state (machine, RAM and disk: the state hash) a
// straight run reaches; a whole boot that uses the disk and the network is recorded and replayed
// to the same end, with no host I/O.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { useBuiltCliAndScratch } from '../cli/support';

const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(homedir(), '.cache/ringside/linux-6.1');
const CLI = 'dist/cli.js';
const folder = useBuiltCliAndScratch('ringside-linux-snapshots-');

function cli(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'latin1', timeout: 300_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function linux(disk: string, append: string): string[] {
  return ['--bios', 'builtin', '--kernel', join(CACHE, 'Image'), '--initrd', join(CACHE, 'initramfs.cpio'), '--mem', '256M',
    '--append', `console=ttyS0 ${append} quiet`, '--drive', `file=${disk},format=raw`, '--netdev', 'user'];
}

function hashOf(file: string): string {
  const info = cli(['snapshot', 'info', file, '--json']);
  assert.equal(info.code, 0, info.stderr);
  return (JSON.parse(info.stdout) as { stateHash: string }).stateHash;
}

test('Linux with a disk and a network card: a snapshot restored in another process runs on to a straight run\'s state', { timeout: 600_000 }, () => {
  for (const file of ['Image', 'initramfs.cpio', 'disk.ext2']) assert.ok(existsSync(join(CACHE, file)), `no ${file} in ${CACHE}: run bash guests/linux/build.sh`);
  const first = join(folder(), 'first.ext2');
  const second = join(folder(), 'second.ext2');
  copyFileSync(join(CACHE, 'disk.ext2'), first);
  copyFileSync(join(CACHE, 'disk.ext2'), second);
  // Both points lie in the kernel's boot, before init brings the network up: no frame from the host yet.
  const early = join(folder(), 'early.snap');
  const saved = cli(['run', ...linux(first, 'ringside.scenario=exitcode ringside.code=7'), '--idle', 'skip', '--snapshot-at', '8000000', '--snapshot-out', early, '--snapshot-exit']);
  assert.equal(saved.code, 0, saved.stderr);
  const info = JSON.parse(cli(['snapshot', 'info', early, '--json']).stdout) as { devices: Array<{ kind: string }> };
  assert.deepEqual(info.devices.map((device) => device.kind).sort(), ['block', 'net']);
  const restored = cli(['run', '--restore', early, '--snapshot-at', '20000000', '--snapshot-out', join(folder(), 'restored.snap'), '--snapshot-exit']);
  assert.equal(restored.code, 0, restored.stderr);
  const straight = cli(['run', ...linux(second, 'ringside.scenario=exitcode ringside.code=7'), '--idle', 'skip', '--snapshot-at', '20000000',
    '--snapshot-out', join(folder(), 'straight.snap'), '--snapshot-exit']);
  assert.equal(straight.code, 0, straight.stderr);
  assert.equal(hashOf(join(folder(), 'restored.snap')), hashOf(join(folder(), 'straight.snap')));
  // Restored runs go to completion too: the guest powers off with its code.
  const toEnd = cli(['run', '--restore', early, '--timeout', '120']);
  assert.equal(toEnd.code, 7, toEnd.stderr);
});

test('Linux using its disk and the network, recorded, replays to the same end with no host I/O', { timeout: 600_000 }, () => {
  for (const file of ['Image', 'initramfs.cpio', 'disk.ext2']) assert.ok(existsSync(join(CACHE, file)), `no ${file} in ${CACHE}: run bash guests/linux/build.sh`);
  const disk = join(folder(), 'recorded.ext2');
  copyFileSync(join(CACHE, 'disk.ext2'), disk);
  const recording = join(folder(), 'net.rec');
  const recorded = cli(['run', ...linux(disk, 'ringside.scenario=net'), '--record', recording, '--timeout', '120']);
  assert.equal(recorded.code, 0, `${recorded.stdout}\n${recorded.stderr}`);
  assert.match(recorded.stdout, /SCENARIO net OK/);
  const afterRecording = readFileSync(disk);
  const replayed = cli(['run', '--replay', recording]);
  assert.equal(replayed.code, 0, replayed.stderr);
  assert.equal(replayed.stdout, recorded.stdout);
  assert.match(replayed.stderr, /ringside: replayed \d+ inputs over \d+ steps: the same run as recorded/);
  assert.deepEqual(readFileSync(disk), afterRecording, 'the replay wrote nothing to the image');
});
