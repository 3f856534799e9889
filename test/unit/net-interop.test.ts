// Interoperation with the real programs on this machine: QEMU (its slirp behind -netdev stream
// and -netdev dgram, joined by a hub) and passt (the same framing on a Unix socket). The test
// guest stack talks through Ringside's StreamNetwork/DgramNetwork to them, and the same
// observations made against QEMU's slirp and against UserNetwork must agree.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetBackend } from '../../vmm-core/bridges/types';
import { StreamNetwork } from '../../vmm-core/bridges/net/stream-network';
import { DgramNetwork } from '../../vmm-core/bridges/net/dgram-network';
import { UserNetwork } from '../../vmm-core/bridges/net/user-network';
import { TestGuest } from '../support/net-guest';
import { requireTool } from '../support/tools';

const hasQemu = spawnSync('qemu-system-riscv64', ['--version'], { encoding: 'utf8' }).status === 0;
const hasPasst = spawnSync('passt', ['--version'], { encoding: 'utf8' }).status === 0;
const noQemu = !hasQemu && 'qemu-system-riscv64 is not installed (scripts/install-deps.sh)';
const noPasst = !hasPasst && 'passt is not installed (apt-get install passt)';

const scratch = mkdtempSync(join(tmpdir(), 'ringside-net-'));
chmodSync(scratch, 0o755);
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** A raw RV64 image that sleeps forever (wfi; j .-4), so QEMU's machine runs (its network then moves frames) and idles. */
function sleeperImage(): string {
  const path = join(scratch, 'wfi.bin');
  writeFileSync(path, Buffer.from([0x73, 0x00, 0x50, 0x10, 0x6f, 0xf0, 0xdf, 0xff]));
  return path;
}

/** QEMU with its user network on a hub together with `link`, the netdev Ringside talks to. */
function qemuWithSlirp(link: string): ChildProcess {
  return spawn('qemu-system-riscv64', [
    '-M', 'virt', '-display', 'none', '-serial', 'none', '-monitor', 'none', '-bios', 'none', '-kernel', sleeperImage(),
    '-netdev', link, '-netdev', 'user,id=u0',
    '-netdev', 'hubport,id=h0,hubid=0,netdev=l0', '-netdev', 'hubport,id=h1,hubid=0,netdev=u0',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function waitUntil(condition: () => boolean, what: string, milliseconds = 10_000): Promise<void> {
  const deadline = Date.now() + milliseconds;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function freePort(kind: 'tcp' | 'udp'): Promise<number> {
  if (kind === 'tcp') {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** What a guest can see of a user-mode network: DHCP, ARP, ping, a TCP exchange, a refused port. */
async function observe(backend: NetBackend, openPort: number, closedPort: number) {
  const guest = new TestGuest(backend);
  const lease = await guest.dhcp();
  const ack = guest.received.find((frame) => frame.udp?.destinationPort === 68 && lease.ack.transactionId === 0x1234abcd && frame.udp.data[242] === 5)!;
  const ping = await guest.ping('10.0.2.2', 1, 1, new Uint8Array(56).fill(7));
  const connection = await guest.connect('10.0.2.2', openPort, { linuxOptions: true });
  connection.write(new TextEncoder().encode('hi'));
  await connection.whenFinished();
  const refused = await guest.connect('10.0.2.2', closedPort).then(() => 'open', (error: Error) => error.message.replace(/:\d+/, ':PORT'));
  const reset = guest.received.find((frame) => frame.tcp && frame.tcp.flags & 4)?.tcp;
  return {
    lease: {
      address: lease.address, router: lease.router, dns: lease.dns, netmask: lease.netmask, leaseSeconds: lease.leaseSeconds,
      serverId: lease.serverId, optionCodes: [...lease.ack.options.keys()], nextServer: lease.ack.serverAddress,
      length: ack.udp!.data.length, destination: [ack.destinationMac, ack.ipv4!.destination], source: [ack.sourceMac, ack.ipv4!.source],
    },
    arp: [await guest.arp('10.0.2.2'), await guest.arp('10.0.2.3')],
    ping: { ttl: ping.ipv4!.ttl, sourceMac: ping.sourceMac, data: [...ping.icmp!.data] },
    synAck: connection.synFromPeer,
    reply: Buffer.from(connection.receivedData()).toString(),
    refused,
    reset: reset && { flags: reset.flags, sequence: reset.sequence, acknowledgmentIsSynPlusOne: reset.acknowledgment === 0x10000001 },
  };
}

test('the test guest sees the same network from QEMU\'s slirp (through -netdev stream) and from UserNetwork', { timeout: 60_000 }, async () => {
  requireTool(noQemu);
  const server = net.createServer((socket) => socket.on('data', (data) => socket.end(`echo ${data}`)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const openPort = (server.address() as net.AddressInfo).port;
  const closedPort = await freePort('tcp');
  const link = await StreamNetwork.open({ server: true, address: { type: 'inet', host: '127.0.0.1', port: 0 } });
  const port = (link.address as { port: number }).port;
  const qemu = qemuWithSlirp(`stream,id=l0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=${port}`);
  const ours = new UserNetwork({ dnsUpstream: null });
  try {
    await waitUntil(() => link.connected, 'QEMU to connect');
    const reference = await observe(link, openPort, closedPort);
    const observed = await observe(ours, openPort, closedPort);
    assert.deepEqual(observed, reference);
    // And what they agree on is what QEMU documents.
    assert.equal(reference.lease.address, '10.0.2.15');
    assert.deepEqual(reference.arp, ['52:55:0a:00:02:02', '52:55:0a:00:02:03']);
    assert.equal(reference.reply, 'echo hi');
  } finally {
    qemu.kill();
    link.close();
    ours.close();
    server.close();
  }
});

test('QEMU listening (-netdev stream,server=on), Ringside connecting: DHCP through QEMU\'s slirp', { timeout: 60_000 }, async () => {
  requireTool(noQemu);
  const port = await freePort('tcp');
  const qemu = qemuWithSlirp(`stream,id=l0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=${port}`);
  const link = new StreamNetwork({ server: false, address: { type: 'inet', host: '127.0.0.1', port }, reconnectMs: 50 });
  try {
    await waitUntil(() => link.connected, 'Ringside to connect to QEMU');
    const guest = new TestGuest(link);
    const lease = await guest.dhcp();
    assert.equal(lease.address, '10.0.2.15');
    assert.equal(lease.router, '10.0.2.2');
    assert.ok(link.counterSnapshot().framesToGuest >= 3);
  } finally {
    link.close();
    qemu.kill();
  }
});

test('a -netdev dgram link with QEMU carries frames both ways', { timeout: 60_000 }, async () => {
  requireTool(noQemu);
  const link = await DgramNetwork.open({ local: { host: '127.0.0.1', port: 0 }, remote: { host: '127.0.0.1', port: 9 } });
  const qemuPort = await freePort('udp');
  link.setRemote({ host: '127.0.0.1', port: qemuPort });
  const qemu = qemuWithSlirp(`dgram,id=l0,local.type=inet,local.host=127.0.0.1,local.port=${qemuPort},remote.type=inet,remote.host=127.0.0.1,remote.port=${link.port}`);
  try {
    const guest = new TestGuest(link);
    // QEMU binds its socket a moment after it starts: ask until the slirp behind it answers.
    let lease;
    for (let attempt = 0; attempt < 20 && !lease; attempt++) lease = await guest.dhcp().catch(() => undefined);
    assert.ok(lease, 'a DHCP lease through QEMU');
    assert.equal(lease.address, '10.0.2.15');
    assert.equal((await guest.ping('10.0.2.2')).ipv4!.source, '10.0.2.2');
  } finally {
    link.close();
    qemu.kill();
  }
});

test('passt on a Unix socket: Ringside\'s stream client gets a DHCP lease from it', { timeout: 60_000 }, async () => {
  requireTool(noPasst);
  // passt started as root drops to "nobody", which must be able to create the socket.
  const directory = join(scratch, 'passt');
  mkdirSync(directory, { mode: 0o777 });
  chmodSync(directory, 0o777);
  const path = join(directory, 'passt.socket');
  // -f: foreground, -1: exit when the client goes, -s: the socket.
  const passt = spawn('passt', ['-f', '-1', '-s', path], { stdio: 'ignore' });
  try {
    await waitUntil(() => existsSync(path), 'passt to create its socket');
    // The socket file appears when passt binds it, a moment before it listens.
    let link: StreamNetwork | undefined;
    const deadline = Date.now() + 10_000;
    while (link === undefined) {
      try {
        link = await StreamNetwork.open({ server: false, address: { type: 'unix', path } });
      } catch (error) {
        if (!/ECONNREFUSED/.test((error as Error).message) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    try {
      const guest = new TestGuest(link);
      const lease = await guest.dhcp();
      assert.match(lease.address, /^\d+\.\d+\.\d+\.\d+$/);
      assert.ok(lease.router, 'passt names a router');
      assert.equal(lease.ack.messageType, 5);
    } finally {
      link.close();
    }
  } finally {
    passt.kill();
  }
});
