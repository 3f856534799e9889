// PcapCapture: the file is classic libpcap that tshark decodes (DHCP, ARP, ICMP, DNS, TCP and
// HTTP with good checksums), the timestamps are the injected clock's, refused frames are not
// recorded twice, and a capture of a run is complete after close().

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserNetwork } from '../../vmm-core/bridges/net/user-network';
import { PcapCapture } from '../../vmm-core/bridges/net/pcap';
import { TestGuest } from '../support/net-guest';
import type { NetBackend } from '../../vmm-core/bridges/types';
import { requireTool } from '../support/tools';

const hasTshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
const noTshark = !hasTshark && 'tshark is not installed (apt-get install tshark)';

const directory = mkdtempSync(join(tmpdir(), 'ringside-pcap-'));
process.on('exit', () => rmSync(directory, { recursive: true, force: true }));

const START = 1_700_000_000_000_000; // microseconds

function steppingClock(): () => number {
  let now = START;
  return () => (now += 1500);
}

async function captureSession(path: string): Promise<{ capture: PcapCapture; frames: number }> {
  const server = net.createServer((socket) => socket.on('data', () => socket.end('HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const capture = new PcapCapture(new UserNetwork({ dnsUpstream: null }), path, { clock: steppingClock() });
  try {
    const guest = new TestGuest(capture);
    await guest.dhcp();
    await guest.ping('10.0.2.2');
    await guest.dns('localhost');
    const connection = await guest.connect('10.0.2.2', (server.address() as net.AddressInfo).port);
    connection.write(new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n'));
    await connection.whenFinished();
    connection.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { capture, frames: capture.framesCaptured };
  } finally {
    capture.close();
    server.close();
  }
}

function tshark(path: string, fields: string[]): string[][] {
  const result = spawnSync('tshark', [
    '-r', path, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
    '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((field) => ['-e', field]),
  ], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim().split('\n').map((line) => line.split('|'));
}

test('tshark decodes a captured session: DHCP, ARP, ICMP, DNS, TCP and HTTP, every checksum good', { timeout: 60_000 }, async () => {
  requireTool(noTshark);
  const path = join(directory, 'session.pcap');
  const { frames } = await captureSession(path);
  const rows = tshark(path, ['frame.number', 'frame.time_epoch', '_ws.col.Protocol', 'ip.checksum.status', 'udp.checksum.status', 'tcp.checksum.status', '_ws.expert.severity', '_ws.col.Info']);
  assert.equal(rows.length, frames);
  const protocols = new Set(rows.map((row) => row[2]));
  for (const protocol of ['DHCP', 'ARP', 'ICMP', 'DNS', 'TCP', 'HTTP']) assert.ok(protocols.has(protocol), `${protocol} in ${[...protocols]}`);
  const info = rows.map((row) => row[7]).join('\n');
  for (const text of ['DHCP Discover', 'DHCP Offer', 'DHCP Request', 'DHCP ACK', '10.0.2.2 is at 52:55:0a:00:02:02', 'Echo (ping) reply', 'A localhost A 127.0.0.1', '[SYN, ACK]', 'HTTP/1.0 200 OK']) {
    assert.ok(info.includes(text), `"${text}" in tshark's summary:\n${info}`);
  }
  for (const row of rows) {
    // Checksum status 1 is "Good" (0 would be "Bad"); empty where the protocol has none.
    for (const status of [row[3], row[4], row[5]]) assert.ok(status === '' || status === '1', `bad checksum in frame ${row[0]}: ${row.join(' | ')}`);
    // Expert severities above "note" (warnings, errors: retransmissions, malformed packets) are not expected.
    for (const severity of row[6].split(',').filter(Boolean)) assert.ok(Number(severity) <= 0x400000, `tshark flags frame ${row[0]}: ${row[7]}`);
  }
  // Timestamps are the injected clock's: 1.5 ms apart from the start.
  rows.forEach((row, index) => {
    const microseconds = START + 1500 * (index + 1);
    assert.equal(row[1], `${Math.floor(microseconds / 1e6)}.${String(microseconds % 1e6).padStart(6, '0')}000`);
  });
});

test('the file is classic libpcap: magic, version 2.4, LINKTYPE_ETHERNET, one record per frame', async () => {
  const path = join(directory, 'header.pcap');
  const frames: Uint8Array[] = [];
  const loop: NetBackend = {
    description: 'loop',
    send: (frame) => frames.push(frame),
    setReceiver: () => {},
    close: () => {},
  };
  let clock = 5_000_000;
  const capture = new PcapCapture(loop, path, { clock: () => clock++, snapLength: 100 });
  const frame = new Uint8Array(150).map((_, i) => i);
  capture.send(frame);
  capture.send(frame.subarray(0, 60));
  capture.close();
  const bytes = readFileSync(path);
  assert.equal(bytes.readUInt32LE(0), 0xa1b2c3d4);
  assert.equal(bytes.readUInt16LE(4), 2);
  assert.equal(bytes.readUInt16LE(6), 4);
  assert.equal(bytes.readUInt32LE(16), 100);
  assert.equal(bytes.readUInt32LE(20), 1);
  // First record: t = 5 s + 0 us, 100 bytes kept of 150.
  assert.deepEqual([bytes.readUInt32LE(24), bytes.readUInt32LE(28), bytes.readUInt32LE(32), bytes.readUInt32LE(36)], [5, 0, 100, 150]);
  assert.deepEqual(new Uint8Array(bytes.subarray(40, 140)), frame.subarray(0, 100));
  assert.deepEqual([bytes.readUInt32LE(140), bytes.readUInt32LE(144), bytes.readUInt32LE(148), bytes.readUInt32LE(152)], [5, 1, 60, 60]);
  assert.equal(bytes.length, 24 + 16 + 100 + 16 + 60);
  assert.equal(frames.length, 2, 'frames still reach the backend');
});

test('a frame the guest refused is recorded once, when it is finally taken', async () => {
  const path = join(directory, 'refused.pcap');
  let deliver: ((frame: Uint8Array) => boolean) | null = null;
  const source: NetBackend = { description: 'source', send: () => {}, setReceiver: (receiver) => (deliver = receiver), close: () => {} };
  const capture = new PcapCapture(source, path, { clock: () => 0 });
  let room = false;
  capture.setReceiver(() => room);
  const frame = new Uint8Array(60).fill(1);
  assert.equal(deliver!(frame), false);
  assert.equal(deliver!(frame), false);
  room = true;
  assert.equal(deliver!(frame), true);
  assert.equal(capture.framesCaptured, 1);
  capture.close();
  assert.equal(readFileSync(path).length, 24 + 16 + 60);
});

test('a pcap path that cannot be created is one BridgeError naming it', () => {
  const backend: NetBackend = { description: 'x', send: () => {}, setReceiver: () => {}, close: () => {} };
  assert.throws(() => new PcapCapture(backend, join(directory, 'missing', 'dir', 'x.pcap')), (error: Error) => error.name === 'BridgeError' && error.message.includes('missing/dir/x.pcap'));
});
