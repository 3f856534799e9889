// Locking: an image another process uses — QEMU, another Ringside, anything holding POSIX, OFD
// or flock locks — is refused with "… is in use by another process (locked)"; readers share,
// a writer excludes everyone; a SIGKILLed Ringside holder blocks no one.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createQcow2Image, hostLocksOn, openDiskImage } from '../../vmm-core/bridges/disk';
import { BridgeError } from '../../vmm-core/bridges/types';
import { NEEDS_QEMU_SYSTEM, hasTool, temporaryDirectory } from '../disk/support';
import { requireTool } from '../support/tools';

const HOLDER = join(__dirname, '../disk/lock-holder.ts');
const LOCK_RECORDS = '/tmp/ringside-locks';

class Holder {
  private output = '';
  private waiters: (() => void)[] = [];
  readonly exited: Promise<void>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.output += chunk;
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.exited = new Promise((resolve) => child.on('exit', () => resolve()));
  }
  async line(pattern: RegExp, timeoutMs = 20000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match[0];
      if (Date.now() > deadline) throw new Error(`holder: no ${pattern} in ${JSON.stringify(this.output)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }
  send(command: string): void {
    this.child.stdin!.write(`${command}\n`);
  }
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
  async end(): Promise<void> {
    this.child.stdin!.end();
    await this.exited;
  }
}

const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});
after(() => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

async function holder(options: object): Promise<Holder> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'inherit'] });
  liveChildren.add(child);
  child.on('exit', () => liveChildren.delete(child));
  const held = new Holder(child);
  const first = await held.line(/^(ready|error: .*)$/m);
  assert.equal(first, 'ready', `the holder could not open the image: ${first}`);
  return held;
}

function expectLocked(options: Parameters<typeof openDiskImage>[0], detail: RegExp): void {
  assert.throws(() => openDiskImage(options), (error: Error) => {
    assert.ok(error instanceof BridgeError, `${error.constructor.name}: ${error.message}`);
    assert.match(error.message, / is in use by another process \(locked\): /);
    assert.match(error.message, detail);
    return true;
  });
}

test('another Ringside process: its writer excludes every open until it closes or is SIGKILLed', async () => {
  const dir = temporaryDirectory('lock');
  try {
    const path = join(dir.path, 'disk.img');
    writeFileSync(path, new Uint8Array(1024 * 1024));
    let held = await holder({ path });
    const pid = held.child.pid;
    expectLocked({ path }, new RegExp(`disk\\.img is in use by another process \\(locked\\): Ringside process ${pid} has it open for writing`));
    expectLocked({ path, readOnly: true }, /for writing/);
    expectLocked({ path, snapshot: true }, /for writing/);
    held.send('close');
    await held.line(/^closed$/m);
    openDiskImage({ path }).close();
    await held.end();

    held = await holder({ path, format: 'raw' });
    expectLocked({ path }, /for writing/);
    await held.kill(); // no chance to clean up
    const disk = openDiskImage({ path });
    disk.write(0, new Uint8Array(512).fill(1));
    disk.close();
  } finally {
    dir.remove();
  }
});

test('readers share an image; a writer is refused while any reader holds it', async () => {
  const dir = temporaryDirectory('lock');
  try {
    const path = join(dir.path, 'shared.qcow2');
    createQcow2Image(path, { size: 1024 * 1024 });
    const reader = await holder({ path, readOnly: true });
    const second = openDiskImage({ path, readOnly: true });
    expectLocked({ path }, /has it open read-only/);
    second.close();
    expectLocked({ path }, new RegExp(`Ringside process ${reader.child.pid} has it open read-only`));
    await reader.kill();
    openDiskImage({ path }).close();
  } finally {
    dir.remove();
  }
});

test('a qcow2 image holds its backing files shared: they can be read elsewhere, not written', async () => {
  const dir = temporaryDirectory('lock');
  try {
    const base = join(dir.path, 'base.img');
    writeFileSync(base, new Uint8Array(1024 * 1024));
    const top = join(dir.path, 'top.qcow2');
    createQcow2Image(top, { size: 1024 * 1024, backingFile: 'base.img', backingFormat: 'raw' });
    const held = await holder({ path: top });
    openDiskImage({ path: base, readOnly: true }).close();
    expectLocked({ path: base }, /base\.img is in use .* read-only/);
    expectLocked({ path: top, readOnly: true }, /for writing/);
    await held.end();
    openDiskImage({ path: base }).close();
  } finally {
    dir.remove();
  }
});

test('the same process opening an image twice for writing is refused too', () => {
  const dir = temporaryDirectory('lock');
  try {
    const path = join(dir.path, 'twice.img');
    writeFileSync(path, new Uint8Array(4096));
    const first = openDiskImage({ path });
    expectLocked({ path }, /this Ringside process already has it open for writing/);
    first.close();
    openDiskImage({ path }).close();
  } finally {
    dir.remove();
  }
});

test('stale lock records (dead process, or a pid now used by another process) are ignored and removed, for any image', async () => {
  const dir = temporaryDirectory('lock');
  try {
    const path = join(dir.path, 'stale.img');
    writeFileSync(path, new Uint8Array(4096));
    const stat = statSync(path, { bigint: true });
    const key = `${stat.dev}-${stat.ino}`;
    openDiskImage({ path, readOnly: true }).close(); // makes sure the record directory exists
    const finished = spawnSync('true');
    assert.equal(finished.status, 0);
    const dead = join(LOCK_RECORDS, `${key}.w.${finished.pid}.1.0`);
    const reused = join(LOCK_RECORDS, `${key}.w.${process.ppid}.1.0`); // alive, but started at another time
    const otherImage = join(LOCK_RECORDS, `1-2.r.${finished.pid}.1.0`);
    for (const record of [dead, reused, otherImage]) writeFileSync(record, 'x');
    openDiskImage({ path }).close();
    assert.ok(!existsSync(dead) && !existsSync(reused), 'the stale records were removed');
    assert.ok(!existsSync(otherImage), "another image's stale record was swept too");
    assert.ok(!readdirSync(LOCK_RECORDS).some((name) => name.startsWith(`${key}.`)), 'no record is left behind after close');
    // A process that exits without closing its image leaves no record either.
    const held = await holder({ path });
    assert.ok(readdirSync(LOCK_RECORDS).some((name) => name.startsWith(`${key}.w.${held.child.pid}.`)));
    await held.end();
    assert.ok(!readdirSync(LOCK_RECORDS).some((name) => name.startsWith(`${key}.`)), 'the exiting process removed its record');
  } finally {
    dir.remove();
  }
});

test('flock holders are seen through /proc/locks: shared allows readers, exclusive allows no one', async () => {
  requireTool(!hasTool('flock', ['--version']) && 'flock (util-linux) is not installed');
  const dir = temporaryDirectory('lock');
  try {
    const path = join(dir.path, 'flocked.img');
    writeFileSync(path, new Uint8Array(4096));
    for (const mode of ['-s', '-x']) {
      const child = spawn('flock', ['--no-fork', mode, path, 'sleep', '60'], { stdio: 'ignore' });
      liveChildren.add(child);
      child.on('exit', () => liveChildren.delete(child));
      const stat = statSync(path, { bigint: true });
      const deadline = Date.now() + 10000;
      while (hostLocksOn(stat.dev, stat.ino).length === 0) {
        assert.ok(Date.now() < deadline, 'flock took its lock');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expectLocked({ path }, new RegExp(`process \\d+ \\((flock|sleep)\\) holds a FLOCK ${mode === '-s' ? 'read' : 'write'} lock on it`));
      if (mode === '-s') openDiskImage({ path, readOnly: true }).close();
      else expectLocked({ path, readOnly: true }, /FLOCK write/);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
    }
    openDiskImage({ path }).close();
  } finally {
    dir.remove();
  }
});

/** Starts QEMU stopped (-S) with the image as a virtio-blk drive and waits for its locks. */
async function startQemu(path: string, drive: string): Promise<ChildProcess> {
  const qemu = spawn('qemu-system-riscv64', ['-M', 'virt', '-nographic', '-bios', 'none', '-monitor', 'none', '-serial', 'none', '-drive', `file=${path},if=none,id=d,${drive}`, '-device', 'virtio-blk-device,drive=d', '-S'], { stdio: ['ignore', 'ignore', 'pipe'] });
  liveChildren.add(qemu);
  qemu.on('exit', () => liveChildren.delete(qemu));
  let stderr = '';
  qemu.stderr!.on('data', (chunk) => (stderr += chunk));
  // QEMU takes its locks in steps while it starts: wait until they stay the same for a while.
  const stat = statSync(path, { bigint: true });
  const deadline = Date.now() + 20000;
  let seen = '';
  let steadySince = Date.now();
  for (;;) {
    const locks = JSON.stringify(hostLocksOn(stat.dev, stat.ino));
    if (locks !== seen) {
      seen = locks;
      steadySince = Date.now();
    } else if (locks !== '[]' && Date.now() - steadySince > 500) {
      return qemu;
    }
    if (qemu.exitCode !== null || Date.now() > deadline) {
      qemu.kill('SIGKILL');
      throw new Error(`QEMU did not lock ${path}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopQemu(qemu: ChildProcess): Promise<void> {
  qemu.kill('SIGKILL');
  if (qemu.exitCode === null) await new Promise((resolve) => qemu.on('exit', resolve));
}

test('an image QEMU is using (raw and qcow2) is refused; readers may share QEMU\'s read-only drive', async () => {
  requireTool(NEEDS_QEMU_SYSTEM);
  const dir = temporaryDirectory('lock');
  try {
    const raw = join(dir.path, 'qemu.img');
    writeFileSync(raw, new Uint8Array(1024 * 1024));
    const qcow2 = join(dir.path, 'qemu.qcow2');
    createQcow2Image(qcow2, { size: 1024 * 1024 });
    for (const [path, format] of [[raw, 'raw'], [qcow2, 'qcow2']] as const) {
      const qemu = await startQemu(path, `format=${format}`);
      try {
        expectLocked({ path }, /another program holds a byte-range \(OFD\) lock on it, as a running QEMU or qemu-img does/);
        expectLocked({ path, readOnly: true }, /OFD/); // QEMU writes to it
        expectLocked({ path, snapshot: true }, /OFD/);
      } finally {
        await stopQemu(qemu);
      }
      openDiskImage({ path }).close();
    }
    const qemu = await startQemu(raw, 'format=raw,readonly=on');
    try {
      expectLocked({ path: raw }, /OFD/);
      const reader = openDiskImage({ path: raw, readOnly: true });
      reader.read(0, new Uint8Array(512));
      reader.close();
    } finally {
      await stopQemu(qemu);
    }
  } finally {
    dir.remove();
  }
});
