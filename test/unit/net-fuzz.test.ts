// Seeded fuzzing of everything that parses guest bytes: thousands of random and mutated frames
// (some with their checksums repaired, so the deep parsers see the garbage) into a live
// UserNetwork, and random input to the DHCP, DNS and stream-framing parsers. Nothing may throw
// or hang, every bad frame is counted, and the network must still work afterwards.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { UserNetwork } from '../../vmm-core/bridges/net/user-network';
import { DhcpServer } from '../../vmm-core/bridges/net/dhcp';
import { parseDnsQuery } from '../../vmm-core/bridges/net/dns';
import { StreamFrameReader } from '../../vmm-core/bridges/net/stream-network';
import { TestGuest } from '../support/net-guest';
import { ACK, SYN, arp, dhcp, dnsQuery, ethernet, icmpEcho, ipv4, mac, tcp, udp } from '../support/net-frames';
import { seededRandom } from '../support/random';


function sum16(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if ((end - start) % 2) sum += bytes[end - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Recomputes the IPv4 header checksum and the ICMP/UDP/TCP checksum of a frame, where the lengths allow. */
function repairChecksums(frame: Uint8Array): void {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) return;
  const headerLength = (frame[14] & 15) * 4;
  if (headerLength < 20 || 14 + headerLength > frame.length) return;
  frame[24] = frame[25] = 0;
  const headerSum = ~sum16(frame, 14, 14 + headerLength) & 0xffff;
  frame[24] = headerSum >> 8;
  frame[25] = headerSum & 0xff;
  const total = (frame[16] << 8) | frame[17];
  const start = 14 + headerLength;
  const end = 14 + total;
  if (total < headerLength || end > frame.length) return;
  const protocol = frame[23];
  const checksumAt = protocol === 1 ? 2 : protocol === 17 ? 6 : protocol === 6 ? 16 : -1;
  if (checksumAt < 0 || start + checksumAt + 2 > end) return;
  frame[start + checksumAt] = frame[start + checksumAt + 1] = 0;
  let initial = 0;
  if (protocol !== 1) {
    for (let i = 26; i < 34; i += 2) initial += (frame[i] << 8) | frame[i + 1];
    initial += protocol + (end - start);
  }
  const value = ~sum16(frame, start, end, initial) & 0xffff;
  frame[start + checksumAt] = value >> 8;
  frame[start + checksumAt + 1] = value & 0xff;
}

test('thousands of random and mutated frames: counted and dropped, no exception, no hang, the network still works', { timeout: 120_000 }, async () => {
  const served = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', () => socket.end('fine'));
  });
  await new Promise<void>((resolve) => served.listen(0, '127.0.0.1', resolve));
  const serverPort = (served.address() as net.AddressInfo).port;
  const closedProbe = net.createServer();
  await new Promise<void>((resolve) => closedProbe.listen(0, '127.0.0.1', resolve));
  const closedPort = (closedProbe.address() as net.AddressInfo).port;
  closedProbe.close();
  const sink = dgram.createSocket('udp4');
  sink.on('message', () => {});
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const sinkPort = sink.address().port;

  const network = new UserNetwork({ dnsUpstream: null, maximumTcpConnections: 64, tcp: { maximumSynRetransmissions: 1, initialRetransmitMs: 50, minimumRetransmitMs: 20 } });
  const guest = new TestGuest(network);
  try {
    await guest.dhcp();
    const me = guest.mac;
    const gateway = mac('52:55:0a:00:02:02');
    const broadcast = mac('ff:ff:ff:ff:ff:ff');
    const ip = (destination: string, protocol: number, payload: Uint8Array) => ethernet(gateway, me, 0x0800, ipv4({ source: '10.0.2.15', destination, protocol, payload }));
    const corpus: Uint8Array[] = [
      ethernet(broadcast, me, 0x0806, arp(1, me, '10.0.2.15', new Uint8Array(6), '10.0.2.2')),
      ethernet(broadcast, me, 0x0806, arp(2, me, '10.0.2.15', gateway, '10.0.2.2')),
      ethernet(broadcast, me, 0x0800, ipv4({ source: '0.0.0.0', destination: '255.255.255.255', protocol: 17, payload: udp('0.0.0.0', '255.255.255.255', 68, 67, dhcp({ type: 1, transactionId: 9, clientMac: me })) })),
      ethernet(broadcast, me, 0x0800, ipv4({ source: '0.0.0.0', destination: '255.255.255.255', protocol: 17, payload: udp('0.0.0.0', '255.255.255.255', 68, 67, dhcp({ type: 3, transactionId: 9, clientMac: me, requested: '10.0.2.15', serverId: '10.0.2.2' })) })),
      ip('10.0.2.3', 17, udp('10.0.2.15', '10.0.2.3', 5353, 53, dnsQuery(1, 'localhost', 1))),
      ip('10.0.2.2', 1, icmpEcho(8, 1, 1, new Uint8Array(32))),
      ip('10.0.2.2', 17, udp('10.0.2.15', '10.0.2.2', 7000, sinkPort, new Uint8Array(20))),
      ip('10.0.2.2', 6, tcp({ source: '10.0.2.15', destination: '10.0.2.2', sourcePort: 41000, destinationPort: serverPort, sequence: 1, acknowledgment: 0, flags: SYN, window: 65535 })),
      ip('10.0.2.2', 6, tcp({ source: '10.0.2.15', destination: '10.0.2.2', sourcePort: 41001, destinationPort: closedPort, sequence: 1, acknowledgment: 0, flags: SYN, window: 65535 })),
      ip('10.0.2.2', 6, tcp({ source: '10.0.2.15', destination: '10.0.2.2', sourcePort: 41002, destinationPort: serverPort, sequence: 5, acknowledgment: 9, flags: ACK, window: 100, data: new Uint8Array(40) })),
    ];
    const allowedDestinations = [[10, 0, 2, 2], [10, 0, 2, 3], [10, 0, 2, 15], [10, 0, 2, 77], [255, 255, 255, 255], [127, 0, 0, 1], [224, 0, 0, 1]];
    const next = seededRandom(0x5eed1234);
    const frames = 6000;
    let thrown = 0;
    const started = Date.now();
    for (let i = 0; i < frames; i++) {
      const kind = next() % 5;
      let frame: Uint8Array;
      if (kind === 0) {
        frame = new Uint8Array(next() % 1600);
        for (let j = 0; j < frame.length; j++) frame[j] = next() & 0xff;
        if (frame.length >= 14 && next() % 2) frame.set([0x08, 0x00], 12);
      } else {
        frame = corpus[next() % corpus.length].slice();
        if (kind === 1 || kind === 4) {
          const flips = 1 + (next() % 8);
          for (let j = 0; j < flips; j++) frame[14 + (next() % Math.max(1, Math.min(frame.length - 14, 70)))] ^= 1 << (next() % 8);
        } else if (kind === 2) {
          frame = frame.slice(0, next() % frame.length);
        } else {
          const longer = new Uint8Array(frame.length + (next() % 200));
          longer.set(frame);
          for (let j = frame.length; j < longer.length; j++) longer[j] = next() & 0xff;
          frame = longer;
        }
        if (kind === 4) {
          // Keep the mutant pointed at this machine's loopback or the virtual network, never the internet.
          if (frame.length >= 34 && frame[12] === 0x08 && frame[13] === 0x00) {
            frame.set(allowedDestinations[next() % allowedDestinations.length], 30);
            const headerLength = (frame[14] & 15) * 4;
            const l4 = 14 + headerLength;
            if (headerLength >= 20 && l4 + 4 <= frame.length && (frame[23] === 6 || frame[23] === 17)) {
              const port = frame[23] === 6 ? [serverPort, closedPort][next() % 2] : [sinkPort, 53, 67][next() % 3];
              frame[l4 + 2] = port >> 8;
              frame[l4 + 3] = port & 0xff;
            }
          }
          repairChecksums(frame);
        }
      }
      try {
        network.send(frame);
      } catch {
        thrown++;
      }
      if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
    }
    const elapsed = Date.now() - started;
    if (process.env.NET_FUZZ_REPORT) console.log(JSON.stringify(network.counterSnapshot(), null, 1));
    assert.equal(thrown, 0);
    const counters = network.counterSnapshot();
    assert.equal(counters.dropDetails['internal-error'], undefined, String(network.lastInternalError));
    assert.equal(counters.framesFromGuest >= frames, true);
    assert.ok(counters.drops.malformed > frames / 4, `malformed drops: ${counters.drops.malformed}`);
    assert.ok(elapsed < 60_000, `the fuzz loop took ${elapsed} ms`);
    // Still a working network.
    guest.disposition = () => 'accept';
    await guest.ping('10.0.2.2', 4321, 1);
    assert.deepEqual((await guest.dns('localhost', 1, 0x9999, 6000)).addresses, ['127.0.0.1']);
    const connection = await guest.connect('10.0.2.2', serverPort);
    connection.write(new TextEncoder().encode('are you'));
    await connection.whenFinished();
    assert.equal(Buffer.from(connection.receivedData()).toString(), 'fine');
  } finally {
    network.close();
    served.close();
    sink.close();
  }
});

test('the DHCP, DNS and stream-framing parsers take random bytes without throwing', () => {
  const next = seededRandom(0xd00d);
  const server = new DhcpServer({ serverAddress: 0x0a000202, netmask: 0xffffff00, router: 0x0a000202, dnsServer: 0x0a000203, poolStart: 0x0a00020f, poolSize: 16, leaseSeconds: 86400 });
  const seeds = [
    dhcp({ type: 1, transactionId: 1, clientMac: mac('52:54:00:00:00:01') }),
    dhcp({ type: 3, transactionId: 2, clientMac: mac('52:54:00:00:00:02'), requested: '10.0.2.20', serverId: '10.0.2.2' }),
    dnsQuery(7, 'example.com', 1),
  ];
  const reader = new StreamFrameReader();
  let resets = 0;
  for (let i = 0; i < 20_000; i++) {
    const seed = seeds[next() % seeds.length];
    const bytes = next() % 3 === 0 ? new Uint8Array(next() % 600).map(() => next() & 0xff) : seed.slice(0, next() % (seed.length + 1));
    if (bytes.length > 0 && next() % 2) bytes[next() % bytes.length] ^= 1 << (next() % 8);
    const outcome = server.handle(bytes);
    assert.ok('ignored' in outcome || 'handled' in outcome || outcome.message.length === 548);
    const query = parseDnsQuery(bytes);
    assert.ok(typeof query === 'string' || query.questionEnd <= bytes.length);
    if (!reader.push(Buffer.from(bytes), (frame) => assert.ok(frame.length > 0 && frame.length <= 69632))) {
      resets++;
      reader.reset();
    }
  }
  assert.ok(resets > 0);
  assert.ok(server.leaseTable().size <= 16);
});
