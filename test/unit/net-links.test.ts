// StreamNetwork and DgramNetwork against each other on 127.0.0.1: frames both ways, framing,
// broken peers, reconnecting; and a test guest reaching a UserNetwork across a stream link.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamNetwork, StreamFrameReader, STREAM_MAXIMUM_FRAME } from '../../vmm-core/bridges/net/stream-network';
import { DgramNetwork } from '../../vmm-core/bridges/net/dgram-network';
import { UserNetwork } from '../../vmm-core/bridges/net/user-network';
import type { NetBackend } from '../../vmm-core/bridges/types';
import { TestGuest } from '../support/net-guest';

async function waitUntil(condition: () => boolean, what: string, milliseconds = 5000): Promise<void> {
  const deadline = Date.now() + milliseconds;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function frame(index: number, length = 60 + (index % 1400)): Uint8Array {
  const bytes = new Uint8Array(length);
  bytes.fill(0xff, 0, 6);
  bytes.set([0x52, 0x54, 0, 0, index >> 8, index & 0xff], 6);
  bytes[12] = 0x88;
  bytes[13] = 0xb5; // a local experimental ethertype
  for (let i = 14; i < length; i++) bytes[i] = (index * 31 + i) & 0xff;
  return bytes;
}

function collect(backend: NetBackend): Uint8Array[] {
  const frames: Uint8Array[] = [];
  backend.setReceiver((bytes) => {
    frames.push(bytes.slice());
    return true;
  });
  return frames;
}

async function exchange(a: NetBackend, b: NetBackend, count: number): Promise<void> {
  const atA = collect(a);
  const atB = collect(b);
  for (let i = 0; i < count; i++) {
    a.send(frame(i));
    b.send(frame(10_000 + i));
  }
  await waitUntil(() => atA.length === count && atB.length === count, `${count} frames each way`);
  for (let i = 0; i < count; i++) {
    assert.deepEqual(atB[i], frame(i));
    assert.deepEqual(atA[i], frame(10_000 + i));
  }
}

test('two stream networks over TCP (server and client) pass frames both ways, in order', { timeout: 30_000 }, async () => {
  const server = await StreamNetwork.open({ server: true, address: { type: 'inet', host: '127.0.0.1', port: 0 } });
  const client = await StreamNetwork.open({ server: false, address: server.address });
  try {
    await waitUntil(() => server.connected, 'the server to accept');
    await exchange(server, client, 500);
    // The largest frame QEMU accepts passes too (a 65520-MTU link, as passt uses).
    const atServer = collect(server);
    client.send(frame(1, 65534));
    await waitUntil(() => atServer.length === 1, 'the jumbo frame');
    assert.equal(atServer[0].length, 65534);
    assert.equal(client.counterSnapshot().framesFromGuest, 501);
    assert.equal(server.counterSnapshot().framesToGuest, 501);
  } finally {
    client.close();
    server.close();
  }
});

test('two stream networks over a Unix socket pass frames both ways', { timeout: 30_000 }, async () => {
  const directory = mkdtempSync(join(tmpdir(), 'ringside-stream-'));
  const path = join(directory, 'link.socket');
  const server = await StreamNetwork.open({ server: true, address: { type: 'unix', path } });
  const client = await StreamNetwork.open({ server: false, address: { type: 'unix', path } });
  try {
    await waitUntil(() => server.connected, 'the server to accept');
    await exchange(server, client, 100);
  } finally {
    client.close();
    server.close();
    rmSync(directory, { recursive: true, force: true });
  }
});

test('the stream framing: frames split anywhere reassemble; a zero or oversized length ends the connection', () => {
  const frames = [frame(1), frame(2, 1514), frame(3, 14)];
  const stream = Buffer.concat(frames.map((bytes) => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(bytes.length);
    return Buffer.concat([header, bytes]);
  }));
  for (const split of [1, 3, 4, 5, 77, 1000]) {
    const reader = new StreamFrameReader();
    const got: Uint8Array[] = [];
    for (let at = 0; at < stream.length; at += split) assert.equal(reader.push(stream.subarray(at, at + split), (bytes) => got.push(bytes)), true);
    assert.deepEqual(got, frames);
  }
  const zero = Buffer.from([0, 0, 0, 0]);
  assert.equal(new StreamFrameReader().push(zero, () => assert.fail('no frame')), false);
  const huge = Buffer.alloc(4);
  huge.writeUInt32BE(STREAM_MAXIMUM_FRAME + 1);
  assert.equal(new StreamFrameReader().push(huge, () => assert.fail('no frame')), false);
});

test('a peer sending a bogus length is disconnected and counted; a new peer is then accepted', { timeout: 30_000 }, async () => {
  const server = await StreamNetwork.open({ server: true, address: { type: 'inet', host: '127.0.0.1', port: 0 } });
  const port = (server.address as { port: number }).port;
  const received = collect(server);
  try {
    const bad = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => bad.once('connect', () => resolve()));
    const ended = new Promise<void>((resolve) => bad.once('close', () => resolve()));
    bad.on('error', () => {});
    const good = Buffer.alloc(4 + 60);
    good.writeUInt32BE(60);
    good.set(frame(5, 60), 4);
    bad.write(Buffer.concat([good, Buffer.from([0xff, 0xff, 0xff, 0xff])]));
    await ended;
    assert.equal(received.length, 1, 'the frame before the bad length was delivered');
    assert.equal(server.counterSnapshot().dropDetails['stream-bad-length'], 1);
    await waitUntil(() => !server.connected, 'the server to drop the peer');
    // A second peer while one is connected is refused; after it leaves, a new one is served.
    const first = await StreamNetwork.open({ server: false, address: server.address });
    await waitUntil(() => server.connected, 'the first peer');
    const second = net.connect(port, '127.0.0.1');
    second.on('error', () => {});
    await new Promise<void>((resolve) => second.once('close', () => resolve()));
    assert.equal(server.counterSnapshot().dropDetails['stream-second-peer-refused'], 1);
    first.send(frame(6));
    await waitUntil(() => received.length === 2, 'the first peer\'s frame');
    first.close();
  } finally {
    server.close();
  }
});

test('a reconnecting client finds a server that starts later and comes back after the server restarts', { timeout: 30_000 }, async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const client = new StreamNetwork({ server: false, address: { type: 'inet', host: '127.0.0.1', port }, reconnectMs: 30 });
  await client.ready;
  assert.equal(client.connected, false);
  client.send(frame(1));
  assert.equal(client.counterSnapshot().dropDetails['stream-not-connected'], 1);
  let server = await StreamNetwork.open({ server: true, address: { type: 'inet', host: '127.0.0.1', port } });
  try {
    await waitUntil(() => client.connected && server.connected, 'the client to connect');
    server.close();
    await waitUntil(() => !client.connected, 'the client to notice');
    server = await StreamNetwork.open({ server: true, address: { type: 'inet', host: '127.0.0.1', port } });
    await waitUntil(() => client.connected && server.connected, 'the client to reconnect');
    await exchange(client, server, 10);
    assert.equal(client.connectionCount, 2);
  } finally {
    client.close();
    server.close();
  }
});

test('a stream client that cannot connect and does not reconnect fails with one BridgeError', { timeout: 30_000 }, async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  await assert.rejects(StreamNetwork.open({ server: false, address: { type: 'inet', host: '127.0.0.1', port } }),
    (error: Error) => error.name === 'BridgeError' && error.message.includes(`127.0.0.1:${port}`) && /ECONNREFUSED/.test(error.message));
});

test('two dgram networks pass frames both ways; datagrams from anyone else are dropped', { timeout: 30_000 }, async () => {
  const a = await DgramNetwork.open({ local: { host: '127.0.0.1', port: 0 }, remote: { host: '127.0.0.1', port: 9 } });
  const b = await DgramNetwork.open({ local: { host: '127.0.0.1', port: 0 }, remote: { host: '127.0.0.1', port: a.port } });
  a.setRemote({ host: '127.0.0.1', port: b.port });
  const stranger = dgram.createSocket('udp4');
  try {
    await exchange(a, b, 200);
    await new Promise<void>((resolve) => stranger.send(Buffer.from(frame(9)), b.port, '127.0.0.1', () => resolve()));
    await waitUntil(() => b.counterSnapshot().dropDetails['dgram-unknown-sender'] === 1, 'the stranger\'s datagram to be dropped');
    a.send(new Uint8Array(5));
    assert.equal(a.counterSnapshot().dropDetails['dgram-bad-frame-length'], 1);
  } finally {
    a.close();
    b.close();
    stranger.close();
  }
});

test('a test guest behind a stream link reaches a UserNetwork on the other side (DHCP, ping, DNS)', { timeout: 30_000 }, async () => {
  const server = await StreamNetwork.open({ server: true, address: { type: 'inet', host: '127.0.0.1', port: 0 } });
  const far = await StreamNetwork.open({ server: false, address: server.address });
  const nat = new UserNetwork({ dnsUpstream: null });
  // The far end is a machine whose NIC is the NAT: frames cross over in both directions.
  far.setReceiver((bytes) => {
    nat.send(bytes);
    return true;
  });
  nat.setReceiver((bytes) => {
    far.send(bytes);
    return true;
  });
  try {
    await waitUntil(() => server.connected, 'the link');
    const guest = new TestGuest(server);
    const lease = await guest.dhcp();
    assert.equal(lease.address, '10.0.2.15');
    await guest.ping('10.0.2.3');
    assert.deepEqual((await guest.dns('localhost')).addresses, ['127.0.0.1']);
  } finally {
    nat.close();
    far.close();
    server.close();
  }
});
