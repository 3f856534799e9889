// Devices through launch.json: a launch with `drives` boots our vkernel on its virtio disk and
// the disk holds what the guest wrote; `devices` adds virtio-rng; bad device attributes are one
// clear error and the session stays usable; disks are released (unlocked) when the session ends.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { openDiskImage } from '../../vmm-core/bridges/disk/index';
import { openSession, ROOT } from './support';

let scratch = '';
before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'ringside-dap-devices-'));
});
after(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

function vkernelDisk(name: string): string {
  const path = join(scratch, name);
  const made = spawnSync(process.execPath, ['guests/vkernel/make-disk.mjs', 'create', path], { encoding: 'utf8', cwd: ROOT });
  assert.equal(made.status, 0, made.stderr);
  return path;
}

test('launch with drives: vkernel runs its processes on the virtio disk, which then holds their data', { timeout: 120_000 }, async () => {
  const disk = vkernelDisk('vk.img');
  const session = await openSession();
  try {
    await session.launch({ program: 'guests/bin/vkernel.elf', drives: [`file=${disk},format=raw`], devices: ['virtio-rng'] });
    const exited = await session.next<DebugProtocol.ExitedEvent>('exited', 110_000);
    assert.equal(exited.body.exitCode, 0, session.output());
    assert.match(session.output(), /vkernel: all 6 processes passed/);
    await session.next('terminated');
  } finally {
    await session.close();
  }
  const check = spawnSync(process.execPath, ['guests/vkernel/make-disk.mjs', 'check', disk], { encoding: 'utf8', cwd: ROOT });
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  // Released: a writer can open it again.
  const reopened = openDiskImage({ path: disk });
  reopened.close();
});

test('bad device attributes: one clear error each, and a later good launch works', { timeout: 60_000 }, async () => {
  const session = await openSession();
  try {
    await session.client.initializeRequest({ adapterID: 'ringside', pathFormat: 'path' });
    const launch = (extra: Record<string, unknown>) => session.client.launchRequest({ cwd: ROOT, program: 'guests/bin/demo.elf', ...extra } as DebugProtocol.LaunchRequestArguments);
    await assert.rejects(launch({ drives: ['file=missing-disk.img'] }), /cannot open a device: .*missing-disk\.img/);
    await assert.rejects(launch({ drives: ['file=x.img,format=vmdk'] }), /format must be raw or qcow2, got 'vmdk'/);
    await assert.rejects(launch({ netdevs: ['user,hostfwd=tcp:127.0.0.1:notaport-:22'] }), /invalid launch configuration: .*hostfwd/);
    await assert.rejects(launch({ devices: ['virtio-gpu'] }), /devices\[0\]|unknown device|must match/);
    await launch({ devices: ['virtio-rng,seed=abc'], stopOnEntry: true });
  } finally {
    await session.close();
  }
});
