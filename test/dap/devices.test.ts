// Devices through launch.json: a launch with `drives` boots our vkernel on its virtio disk and
// the disk holds what the guest wrote; `devices` adds virtio-rng; bad device attributes are one
// clear error and the session stays usable; disks are released (unlocked) when the session ends.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { openDiskImage } from '../../vmm-core/bridges/disk/index';
import { openSession, ROOT, useScratch, vkernelDisk } from './support';

const scratch = useScratch('ringside-dap-devices-');
const freshDisk = (name: string): string => vkernelDisk(join(scratch(), name));

test('launch with drives: vkernel runs its processes on the virtio disk, which then holds their data', { timeout: 120_000 }, async () => {
  const disk = freshDisk('vk.img');
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

test('VM controls: pull and plug a network cable, sync disks; one clear error without a card', { timeout: 60_000 }, async () => {
  const disk = freshDisk('controls.img');
  const session = await openSession();
  try {
    await session.launch({ program: 'guests/bin/demo.elf', stopOnEntry: true, netdevs: ['user', 'user,link=off'], drives: [`file=${disk},format=raw`] });
    await session.stopped();
    const links = async () => ((await session.request('ringside/deviceState', { device: 'virtio' })).body as {
      virtio: Array<{ type: string; linkUp?: boolean }>;
    }).virtio.filter((slot) => slot.type === 'virtio-net').map((slot) => slot.linkUp);
    // Slots are listed from the bottom: the second card (link=off) sits below the first.
    assert.deepEqual(await links(), [false, true]);
    await session.request('ringside/vm', { action: 'networkLink', up: false, card: 0 });
    assert.deepEqual(await links(), [false, false]);
    await session.request('ringside/vm', { action: 'networkLink', up: true });
    assert.deepEqual(await links(), [true, true]);
    await assert.rejects(session.request('ringside/vm', { action: 'networkLink', up: true, card: 2 }), /card must be 0\.\.1, got 2/);
    await assert.rejects(session.request('ringside/vm', { action: 'networkLink' }), /needs 'up'/);
    assert.equal(((await session.request('ringside/vm', { action: 'syncDisks' })).body as { disks: number }).disks, 1);
  } finally {
    await session.close();
  }
  const session2 = await openSession();
  try {
    await session2.launch({ program: 'guests/bin/demo.elf', stopOnEntry: true });
    await session2.stopped();
    await assert.rejects(session2.request('ringside/vm', { action: 'networkLink', up: false }), /no network card/);
  } finally {
    await session2.close();
  }
});
