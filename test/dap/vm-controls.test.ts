// The run-time VM controls behind the extension's commands, through DAP: a disk image
// hot-plugged while vkernel is stopped before it probes its virtio slots is the disk it boots
// from; after a reset it probes again and finds it again (`ringside/machineReset` says so);
// unplugging releases the image. A packet capture started and stopped at run time writes a
// pcap file. Bad arguments get one clear error each and the session stays usable.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { openDiskImage } from '../../vmm-core/bridges/disk/index';
import { openSession, useScratch, vkernelDisk } from './support';

const scratch = useScratch('ringside-dap-vm-controls-');
const freshDisk = (name: string): string => vkernelDisk(join(scratch(), name));

async function waitForOutput(read: () => string, pattern: RegExp, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!pattern.test(read())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} in the console within ${timeout} ms; got:\n${read()}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}

test('attachDisk: vkernel, stopped before its probe, boots from the hot-plugged disk; after a reset it finds it again; detach releases it', { timeout: 120_000 }, async () => {
  const disk = freshDisk('hot.img');
  const session = await openSession();
  try {
    await session.launch({ program: 'guests/bin/vkernel.elf' }, async () => {
      await session.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'disk_probe_and_init' }] });
    });
    assert.equal((await session.stopped()).reason, 'function breakpoint');
    assert.doesNotMatch(session.output(), /virtio-blk: slot/);
    const attached = (await session.request('ringside/attachDisk', { path: disk, format: 'raw' })).body as { slot: number; sectors: number; path: string };
    assert.equal(attached.slot, 7);
    assert.equal(attached.path, disk);
    assert.ok(attached.sectors > 0);
    const virtio = ((await session.request('ringside/deviceState', { device: 'virtio' })).body as { virtio: Array<{ slot: number; type: string }> }).virtio;
    assert.deepEqual(virtio.map((slot) => [slot.slot, slot.type]), [[7, 'virtio-blk']]);
    // The image is locked while plugged in: a second writer is refused.
    assert.throws(() => openDiskImage({ path: disk }), /lock|in use/i);

    await session.client.setFunctionBreakpointsRequest({ breakpoints: [] });
    await session.client.continueRequest({ threadId: 1 });
    await waitForOutput(() => session.output(), /vkernel: virtio-blk: slot 7/, 60_000);

    const outputBefore = session.output().length;
    await session.request('ringside/vm', { action: 'reset' });
    const reset = await session.next<DebugProtocol.Event>('ringside/machineReset');
    assert.deepEqual(reset.body, { by: 'debugger' });
    await waitForOutput(() => session.output().slice(outputBefore), /vkernel: virtio-blk: slot 7/, 60_000);

    await session.request('ringside/vm', { action: 'pause' });
    await session.stopped();
    assert.deepEqual((await session.request('ringside/detachDisk', {})).body, { slot: 7 });
    const released = openDiskImage({ path: disk });
    released.close();
    await assert.rejects(session.request('ringside/detachDisk', {}), /this machine has no disk to detach/);
  } finally {
    await session.close();
  }
});

test('attachDisk/detachDisk/packetCapture: one clear error for each bad request, and captures at run time', { timeout: 60_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: 'guests/bin/demo.elf', stopOnEntry: true, netdevs: ['user'] });
    await session.stopped();
    await assert.rejects(session.request('ringside/attachDisk', {}), /ringside\/attachDisk needs 'path'/);
    await assert.rejects(session.request('ringside/attachDisk', { path: join(scratch(), 'missing.img') }), /cannot attach .*missing\.img/);
    await assert.rejects(session.request('ringside/attachDisk', { path: 'x.img', format: 'vmdk' }), /'format' must be 'raw' or 'qcow2', got "vmdk"/);
    await assert.rejects(session.request('ringside/detachDisk', { slot: 3 }), /no disk in virtio-mmio slot 3 \(disks: none\)/);
    await assert.rejects(session.request('ringside/packetCapture', { action: 'begin' }), /action must be 'start' or 'stop', got "begin"/);
    await assert.rejects(session.request('ringside/packetCapture', { action: 'stop' }), /no packet capture is running/);
    await assert.rejects(session.request('ringside/packetCapture', { action: 'start', path: 'a.pcap', card: 1 }), /no network card 1 \(cards: 0\.\.0\)/);

    const pcap = join(scratch(), 'run.pcap');
    const started = (await session.request('ringside/packetCapture', { action: 'start', path: pcap })).body;
    assert.deepEqual(started, { capturing: true, card: 0, path: pcap });
    assert.equal(existsSync(pcap), true);
    const stopped = (await session.request('ringside/packetCapture', { action: 'stop' })).body as { path: string; framesCaptured: number };
    assert.equal(stopped.path, pcap);
    assert.equal(stopped.framesCaptured, 0, 'the demo kernel has no network driver');
    const file = readFileSync(pcap);
    assert.equal(file.length, 24, 'a complete pcap file: the global header');
    assert.equal(file.readUInt32LE(20), 1, 'LINKTYPE_ETHERNET');
    // Still usable.
    assert.equal((await session.topFrame()).name.length > 0, true);
  } finally {
    await session.close();
  }
});
