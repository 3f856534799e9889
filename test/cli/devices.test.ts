// Device options of `ringside run` as a user gives them: bad --drive/--netdev/--pcap/--device/
// --global values are one line and exit 2 with nothing left behind; snapshot=on and readonly=on
// never change the image; an image in use by another Ringside is refused; a capture file is
// written by --pcap and read by tshark. The guest is our vkernel (guests/vkernel/), which
// drives a virtio disk like xv6, and console.elf, which waits for input while holding a disk.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

const CLI = 'dist/cli.js';
const VKERNEL = 'guests/bin/vkernel.elf';
const VERDICT = 'vkernel: all 6 processes passed';
let scratch = '';

before(() => {
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { encoding: 'utf8' });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);
  scratch = mkdtempSync(join(tmpdir(), 'ringside-cli-devices-'));
});

after(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

function runCli(args: readonly string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, 'run', ...args], {
    encoding: 'latin1', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], timeout: 180_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function vkernelDisk(name: string): string {
  const path = join(scratch, name);
  const made = spawnSync(process.execPath, ['guests/vkernel/make-disk.mjs', 'create', path], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  return path;
}

describe('bad device options', () => {
  test('each is one line on stderr, exit 2, and no capture file is left behind', () => {
    const capture = join(scratch, 'never.pcap');
    const cases: Array<[string[], RegExp]> = [
      [['--drive', 'format=raw'], /--drive 'format=raw': file=PATH is required/],
      [['--drive', 'file=x.img,format=vmdk'], /format must be raw or qcow2, got 'vmdk'/],
      [['--drive', 'file=x.img,cache=none,bogus=1'], /unknown key 'bogus'/],
      [['--drive', `file=${join(scratch, 'missing.img')}`], /missing\.img/],
      [['--netdev', 'user', '--pcap', capture, '--drive', `file=${join(scratch, 'missing.img')}`], /missing\.img/],
      [['--netdev', 'tap,ifname=tap0'], /--netdev tap,ifname=tap0: .*tap/],
      [['--netdev', 'user,hostfwd=tcp:127.0.0.1:99999-:22'], /99999/],
      [['--netdev', 'user,mac=01:00:00:00:00:01'], /multicast/],
      [['--pcap', capture], /--pcap FILE captures the --netdev before it/],
      [['--device', 'virtio-gpu'], /unknown device 'virtio-gpu'/],
      [['--device', 'virtio-rng,source=host,seed=1'], /a seed makes no sense with source=host/],
      [['--global', 'virtio-mmio.force-legacy=maybe'], /must be on or off/],
      [['--drive', 'file=a.img,slot=9'], /slot must be a virtio-mmio slot number 0\.\.7, got '9'/],
    ];
    for (const [args, message] of cases) {
      const result = runCli(['--kernel', VKERNEL, ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(' '));
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${result.stderr}`);
      assert.equal(existsSync(capture), false, `no capture file after ${args.join(' ')}`);
    }
  });

  test('a file that is not a disk image of the format asked for is refused, unchanged', () => {
    const notQcow2 = join(scratch, 'plain.img');
    writeFileSync(notQcow2, Buffer.alloc(64 * 1024, 7));
    const result = runCli(['--kernel', VKERNEL, '--drive', `file=${notQcow2},format=qcow2`]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /plain\.img/);
    assert.ok(readFileSync(notQcow2).equals(Buffer.alloc(64 * 1024, 7)));
  });
});

describe('images the guest may not change', () => {
  test('snapshot=on: the guest reads and writes as usual, the image is byte-for-byte the same afterwards', () => {
    const image = vkernelDisk('snapshot.img');
    const before = readFileSync(image);
    const result = runCli(['--kernel', VKERNEL, '--drive', `file=${image},format=raw,snapshot=on`, '--idle', 'skip']);
    assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
    assert.ok(result.stdout.includes(VERDICT), result.stdout);
    assert.ok(readFileSync(image).equals(before), 'the image is untouched');
  });

  test('readonly=on: the guest\'s writes fail and the image is unchanged', () => {
    const image = vkernelDisk('readonly.img');
    const before = readFileSync(image);
    const result = runCli(['--kernel', VKERNEL, '--drive', `file=${image},format=raw,readonly=on`, '--idle', 'skip']);
    assert.notEqual(result.code, 0, 'the guest sees its writes fail');
    assert.ok(!result.stdout.includes(VERDICT), result.stdout);
    assert.ok(readFileSync(image).equals(before), 'the image is untouched');
  });
});

describe('locking', () => {
  test('an image held by a running Ringside is refused by a second one until the first has gone', async () => {
    const image = join(scratch, 'shared.img');
    writeFileSync(image, Buffer.alloc(1024 * 1024));
    const holder = spawn(process.execPath, [CLI, 'run', '--kernel', 'guests/bin/console.elf', '--drive', `file=${image},format=raw`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      holder.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const deadline = Date.now() + 30_000;
      while (!output.includes('console: ready')) {
        assert.ok(Date.now() < deadline, 'the holder started');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const second = runCli(['--kernel', VKERNEL, '--drive', `file=${image},format=raw`]);
      assert.equal(second.code, 2, second.stderr);
      assert.match(second.stderr, /shared\.img.*(in use|locked)/);
      // Read-only users must not share with a writer either.
      const reader = runCli(['--kernel', VKERNEL, '--drive', `file=${image},format=raw,readonly=on`]);
      assert.equal(reader.code, 2, reader.stderr);
    } finally {
      holder.stdin.end('exit 0\r');
      await new Promise((resolve) => holder.on('exit', resolve));
    }
    const after = runCli(['--kernel', 'guests/bin/console.elf', '--drive', `file=${image},format=raw`], 'exit 4\r');
    assert.equal(after.code, 4, after.stderr);
  });
});
