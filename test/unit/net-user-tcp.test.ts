// TCP through the user-mode network, driven by the test guest stack against real host sockets
// on 127.0.0.1: handshake options, large transfers both ways, windows, loss and retransmission,
// out-of-order input, FIN/RST in both directions, refused ports, limits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { UserNetwork, type UserNetworkOptions } from '../../vmm-core/bridges/net/user-network';
import { TestGuest, withTimeout } from '../support/net-guest';
import { ACK, PSH, SYN, FIN } from '../support/net-frames';
import { requireTool } from '../support/tools';

const MiB = 1024 * 1024;

function pattern(length: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function setup(options: UserNetworkOptions = {}) {
  const network = new UserNetwork({ dnsUpstream: null, ...options });
  await network.ready;
  const guest = new TestGuest(network);
  await guest.dhcp();
  return { network, guest };
}

async function listen(server: net.Server | http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

function httpGet(path: string): Uint8Array {
  return new TextEncoder().encode(`GET ${path} HTTP/1.0\r\nHost: 10.0.2.2\r\n\r\n`);
}

function bodyOf(response: Uint8Array): Buffer {
  const text = Buffer.from(response);
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'an HTTP header');
  return text.subarray(end + 4);
}

test('a guest fetches 1 MiB from an http server on the host through 10.0.2.2', { timeout: 60_000 }, async () => {
  const page = pattern(MiB, 7);
  const server = http.createServer((request, response) => {
    response.writeHead(200, { 'content-length': page.length });
    response.end(page);
  });
  const port = await listen(server);
  const { network, guest } = await setup();
  try {
    const connection = await guest.connect('10.0.2.2', port, { linuxOptions: true });
    // The SYN-ACK offers MSS 1460 and declines window scaling, SACK and timestamps.
    assert.equal(connection.synFromPeer!.mss, 1460);
    assert.deepEqual(connection.synFromPeer!.optionKinds, [2]);
    connection.write(httpGet('/'));
    await connection.whenFinished(30_000);
    const body = bodyOf(connection.receivedData());
    assert.equal(body.length, MiB);
    assert.equal(sha(body), sha(page));
    assert.equal(connection.windowViolations.length, 0);
    assert.ok(connection.largestSegment <= 1460);
    connection.close();
    await waitUntil(() => network.counterSnapshot().tcpConnectionsOpen === 0 || network.tcpConnectionStates().every((c) => c.state === 'time-wait'), 'the connection to close');
    const counters = network.counterSnapshot();
    assert.ok(counters.tcpBytesFromHost >= MiB);
    assert.equal(counters.dropDetails['internal-error'], undefined);
  } finally {
    network.close();
    server.close();
  }
});

async function waitUntil(condition: () => boolean, what: string, milliseconds = 5000): Promise<void> {
  const deadline = Date.now() + milliseconds;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('a small receive window is never overrun, and the transfer completes as the guest reads', { timeout: 60_000 }, async () => {
  const data = pattern(200_000, 3);
  const server = net.createServer((socket) => socket.end(data));
  const port = await listen(server);
  const { network, guest } = await setup();
  try {
    const connection = await guest.connect('10.0.2.2', port, { receiveBuffer: 3000, autoRead: false });
    const chunks: Uint8Array[] = [];
    let total = 0;
    let sawFullWindow = false;
    while (total < data.length) {
      await waitUntil(() => connection.unreadLength > 0 || connection.finReceived, 'data');
      // Let the window fill completely now and then, so the NAT meets a zero window.
      if (total % 30000 < 3000) await waitUntil(() => connection.unreadLength >= Math.min(3000, data.length - total), 'a full window');
      if (connection.unreadLength >= 3000) sawFullWindow = true;
      const piece = connection.read(1000);
      chunks.push(piece);
      total += piece.length;
    }
    await connection.whenFinished();
    assert.equal(sha(Buffer.concat(chunks)), sha(data));
    assert.deepEqual(connection.windowViolations, []);
    assert.ok(sawFullWindow, 'the window was filled at least once');
  } finally {
    network.close();
    server.close();
  }
});

test('a zero window whose update is lost is probed until the guest states its open window', { timeout: 30_000 }, async () => {
  const data = pattern(20_000, 4);
  const server = net.createServer((socket) => socket.end(data));
  const port = await listen(server);
  const { network, guest } = await setup({ tcp: { minimumRetransmitMs: 50, initialRetransmitMs: 100 } });
  try {
    const connection = await guest.connect('10.0.2.2', port, { receiveBuffer: 4000, autoRead: false });
    const chunks: Uint8Array[] = [];
    let total = 0;
    while (total < data.length) {
      await waitUntil(() => connection.unreadLength >= Math.min(4000, data.length - total), 'a full window');
      // Read everything but tell nobody: only a window probe can restart the transfer.
      const piece = connection.read(Infinity, false);
      chunks.push(piece);
      total += piece.length;
    }
    await connection.whenFinished();
    assert.equal(sha(Buffer.concat(chunks)), sha(data));
    assert.deepEqual(connection.windowViolations, []);
  } finally {
    network.close();
    server.close();
  }
});

test('a guest uploads 1 MiB to a host server, which hashes it and answers', { timeout: 60_000 }, async () => {
  const data = pattern(MiB, 11);
  const server = net.createServer((socket) => {
    const hash = createHash('sha256');
    let length = 0;
    socket.on('data', (chunk) => {
      hash.update(chunk);
      length += chunk.length;
    });
    // The guest half-closes; the server answers on the still-open direction.
    socket.on('end', () => socket.end(`${length} ${hash.digest('hex')}`));
  });
  const port = await listen(server);
  const { network, guest } = await setup();
  try {
    const connection = await guest.connect('10.0.2.2', port);
    connection.write(data);
    connection.close();
    await connection.whenFinished(30_000);
    assert.equal(Buffer.from(connection.receivedData()).toString(), `${MiB} ${sha(data)}`);
    assert.ok(connection.allAcknowledged);
    assert.equal(network.counterSnapshot().tcpBytesToHost, MiB);
  } finally {
    network.close();
    server.close();
  }
});

test('sequence numbers wrap past 2^32 in both directions without a hitch', { timeout: 60_000 }, async () => {
  // The NAT's first initial sequence number is one LCG step from its seed: solve for a seed
  // that puts it 3000 bytes below the wrap. 1664525 * 4276115653 = 1 (mod 2^32).
  const wanted = 0xffffffff - 3000;
  const seed = Number((BigInt(wanted - 1013904223 >>> 0) * 4276115653n) & 0xffffffffn);
  const download = pattern(300_000, 21);
  const server = net.createServer((socket) => {
    const hash = createHash('sha256');
    socket.on('data', (chunk) => hash.update(chunk));
    socket.on('end', () => {
      socket.write(download);
      socket.end(`|${hash.digest('hex')}`);
    });
  });
  const port = await listen(server);
  const { network, guest } = await setup({ sequenceSeed: seed });
  try {
    const upload = pattern(300_000, 22);
    const connection = await guest.connect('10.0.2.2', port, { initialSequence: 0xffffffff - 5000 });
    const synAck = guest.received.find((frame) => frame.tcp && frame.tcp.flags === (SYN | ACK))!;
    assert.equal(synAck.tcp!.sequence, wanted, 'the NAT started just below the wrap');
    connection.write(upload);
    connection.close();
    await connection.whenFinished(30_000);
    const received = Buffer.from(connection.receivedData());
    assert.equal(sha(received.subarray(0, download.length)), sha(download));
    assert.equal(received.subarray(download.length).toString(), `|${sha(upload)}`);
  } finally {
    network.close();
    server.close();
  }
});

test('frames the guest loses are retransmitted until everything arrives', { timeout: 60_000 }, async () => {
  const data = pattern(300_000, 5);
  const server = net.createServer((socket) => socket.end(data));
  const port = await listen(server);
  const { network, guest } = await setup({ tcp: { minimumRetransmitMs: 20, initialRetransmitMs: 50 } });
  try {
    // Lose one frame in seven, on the guest's side of the link.
    guest.disposition = (frame, index) => (frame.tcp && index % 7 === 3 ? 'lose' : 'accept');
    const connection = await guest.connect('10.0.2.2', port);
    await connection.whenFinished(45_000);
    assert.equal(sha(connection.receivedData()), sha(data));
  } finally {
    network.close();
    server.close();
  }
});

test('frames refused for lack of guest buffers are offered again, in order, without loss', { timeout: 60_000 }, async () => {
  const data = pattern(400_000, 9);
  const server = net.createServer((socket) => socket.end(data));
  const port = await listen(server);
  const { network, guest } = await setup();
  try {
    let refusals = 0;
    // Every fifth frame finds the receive ring full three times in a row.
    guest.disposition = (frame, index) => {
      if (frame.tcp && index % 5 === 0 && refusals % 4 !== 3) {
        refusals++;
        return 'refuse';
      }
      if (frame.tcp && index % 5 === 0) refusals++;
      return 'accept';
    };
    const connection = await guest.connect('10.0.2.2', port);
    await connection.whenFinished(45_000);
    assert.equal(sha(connection.receivedData()), sha(data));
    assert.ok(network.counterSnapshot().drops['no-buffer'] > 10);
    assert.equal(connection.duplicateSegments, 0, 're-offered frames are not retransmissions');
  } finally {
    network.close();
    server.close();
  }
});

test('segments from the guest out of order, duplicated or overlapping reach the host once, in order', { timeout: 30_000 }, async () => {
  let received = Buffer.alloc(0);
  let ended = false;
  const server = net.createServer((socket) => {
    socket.on('data', (chunk) => (received = Buffer.concat([received, chunk])));
    socket.on('end', () => {
      ended = true;
      socket.end();
    });
  });
  const port = await listen(server);
  const { network, guest } = await setup();
  try {
    const sourcePort = 45678;
    guest.manualPorts.add(sourcePort);
    const acks: number[] = [];
    const synAck = guest.waitFor((frame) => frame.tcp?.destinationPort === sourcePort && frame.tcp.flags === (SYN | ACK), 'SYN-ACK');
    const isn = 1000;
    guest.sendTcp({ destination: '10.0.2.2', sourcePort, destinationPort: port, sequence: isn, acknowledgment: 0, flags: SYN, window: 65535 });
    const reply = (await synAck).tcp!;
    const ours = (reply.sequence + 1) >>> 0;
    const segment = (offset: number, text: string, flags = ACK | PSH) =>
      guest.sendTcp({ destination: '10.0.2.2', sourcePort, destinationPort: port, sequence: isn + 1 + offset, acknowledgment: ours, flags, window: 65535, data: new TextEncoder().encode(text) });
    guest.sendTcp({ destination: '10.0.2.2', sourcePort, destinationPort: port, sequence: isn + 1, acknowledgment: ours, flags: ACK, window: 65535 });
    const recordAcks = () => {
      for (const frame of guest.received) if (frame.tcp?.destinationPort === sourcePort && frame.tcp.flags & ACK) acks.push(frame.tcp.acknowledgment);
    };
    // "hello world, again": sent as [6..12) first, then [0..6), a duplicate of [0..6), an overlap [3..15) and the rest with FIN.
    segment(6, 'world,');
    const duplicateAck = guest.waitFor((frame) => frame.tcp?.destinationPort === sourcePort && frame.tcp.acknowledgment === isn + 1 && frame.tcp.data.length === 0, 'a duplicate ACK for the gap');
    await duplicateAck;
    segment(0, 'hello ');
    segment(0, 'hello ');
    segment(3, 'lo world, ag');
    segment(15, 'ain', ACK | PSH | FIN);
    await waitUntil(() => ended, 'the host to see the end');
    assert.equal(received.toString(), 'hello world, again');
    recordAcks();
    assert.ok(acks.includes(isn + 1 + 18 + 1), 'the FIN was acknowledged');
  } finally {
    network.close();
    server.close();
  }
});

test('a refused port answers the SYN with RST, and the connection table stays empty', { timeout: 30_000 }, async () => {
  const probe = net.createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const { network, guest } = await setup();
  try {
    await assert.rejects(guest.connect('10.0.2.2', port), /reset/);
    const rst = guest.received.find((frame) => frame.tcp && frame.tcp.flags & 4)!;
    assert.equal(rst.ipv4!.source, '10.0.2.2');
    assert.equal(rst.tcp!.sourcePort, port);
    assert.equal(rst.tcp!.checksumOk, true);
    await waitUntil(() => network.counterSnapshot().tcpConnectionsOpen === 0, 'the table to empty');
  } finally {
    network.close();
  }
});

test('the host closing first gives the guest a FIN; the guest may still send; then both are closed', { timeout: 30_000 }, async () => {
  let fromGuest = '';
  let hostSawEnd = false;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.write('bye');
    socket.end();
    socket.on('data', (chunk) => (fromGuest += chunk.toString()));
    socket.on('end', () => (hostSawEnd = true));
  });
  const port = await listen(server);
  const { network, guest } = await setup({ tcp: { timeWaitMs: 50 } });
  try {
    const connection = await guest.connect('10.0.2.2', port);
    await connection.whenFinished();
    assert.equal(Buffer.from(connection.receivedData()).toString(), 'bye');
    assert.equal(network.tcpConnectionStates()[0].state, 'fin-wait-2');
    connection.write(new TextEncoder().encode('still here'));
    connection.close();
    await waitUntil(() => hostSawEnd, 'the host to see the guest\'s FIN');
    assert.equal(fromGuest, 'still here');
    await waitUntil(() => network.counterSnapshot().tcpConnectionsOpen === 0, 'the connection to leave the table');
  } finally {
    network.close();
    server.close();
  }
});

test('a reset from the host reaches the guest as RST, and a guest RST resets the host socket', { timeout: 30_000 }, async () => {
  const hostErrors: string[] = [];
  let hostSocket: net.Socket | undefined;
  const server = net.createServer((socket) => {
    hostSocket = socket;
    socket.on('error', (error: NodeJS.ErrnoException) => hostErrors.push(error.code ?? 'error'));
  });
  const port = await listen(server);
  const { network, guest } = await setup();
  try {
    const first = await guest.connect('10.0.2.2', port);
    await waitUntil(() => hostSocket !== undefined, 'the host to accept');
    hostSocket!.resetAndDestroy();
    await first.whenReset();
    hostSocket = undefined;
    const second = await guest.connect('10.0.2.2', port);
    await waitUntil(() => hostSocket !== undefined, 'the host to accept again');
    second.reset();
    await waitUntil(() => hostErrors.includes('ECONNRESET'), 'ECONNRESET on the host');
    await waitUntil(() => network.counterSnapshot().tcpConnectionsOpen === 0, 'both connections to leave the table');
  } finally {
    network.close();
    server.close();
  }
});

test('TCP to 10.0.2.x addresses nobody serves is reset; to 127.0.0.1 (the guest\'s own loopback) it is dropped', { timeout: 30_000 }, async () => {
  const { network, guest } = await setup();
  try {
    await assert.rejects(guest.connect('10.0.2.77', 80), /reset/);
    await assert.rejects(withTimeout(guest.connect('127.0.0.1', 80), 300, 'an answer'), /timed out/);
    assert.ok(network.counterSnapshot().dropDetails['tcp-to-martian']! >= 1);
  } finally {
    network.close();
  }
});

test('connections beyond the limit are reset', { timeout: 30_000 }, async () => {
  const server = net.createServer(() => {});
  const port = await listen(server);
  const { network, guest } = await setup({ maximumTcpConnections: 2 });
  try {
    await guest.connect('10.0.2.2', port);
    await guest.connect('10.0.2.2', port);
    await assert.rejects(guest.connect('10.0.2.2', port), /reset/);
    assert.equal(network.counterSnapshot().dropDetails['tcp-too-many-connections'], 1);
    assert.equal(network.counterSnapshot().tcpConnectionsOpen, 2);
  } finally {
    network.close();
    server.close();
  }
});

test('a segment for no connection is answered with RST (RFC 793)', { timeout: 30_000 }, async () => {
  const { network, guest } = await setup();
  try {
    const rst = guest.waitFor((frame) => frame.tcp?.destinationPort === 4444 && (frame.tcp.flags & 4) !== 0, 'RST');
    guest.sendTcp({ destination: '10.0.2.2', sourcePort: 4444, destinationPort: 80, sequence: 5, acknowledgment: 777, flags: ACK, window: 100 });
    const reset = (await rst).tcp!;
    assert.equal(reset.sequence, 777);
    assert.equal(reset.flags, 4);
    assert.equal(network.counterSnapshot().dropDetails['tcp-without-connection'], 1);
    void FIN;
  } finally {
    network.close();
  }
});

const hasPython = spawnSync('python3', ['--version']).status === 0;

test('a host connect that times out is answered with ICMP host unreachable quoting the SYN, as slirp does', { timeout: 30_000 }, async () => {
  requireTool(!hasPython && 'python3 is not installed');
  // A listener that never accepts, with its backlog full: further SYNs go unanswered.
  const listener = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const blockers: net.Socket[] = [];
  try {
    const port = Number(await new Promise<string>((resolve) => listener.stdout!.once('data', (data) => resolve(String(data)))));
    for (let i = 0; i < 3; i++) blockers.push(net.connect(port, '127.0.0.1').on('error', () => {}));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { network, guest } = await setup({ tcp: { connectTimeoutMs: 300 } });
    try {
      const unreachable = guest.waitFor((frame) => frame.icmp?.type === 3, 'ICMP unreachable');
      const attempt = guest.connect('10.0.2.2', port, { sourcePort: 43210 }).catch(() => 'failed');
      const icmp = (await unreachable).icmp!;
      assert.equal(icmp.code, 1);
      assert.equal(icmp.checksumOk, true);
      // The quoted packet is the guest's SYN: its IPv4 header then the TCP ports.
      const quoted = Buffer.from(icmp.data);
      assert.equal(quoted.readUInt32BE(16), 0x0a000202);
      assert.equal(quoted.readUInt16BE(20), 43210);
      assert.equal(quoted.readUInt16BE(22), port);
      void attempt;
      assert.equal(network.counterSnapshot().tcpConnectionsOpen, 0);
    } finally {
      network.close();
    }
  } finally {
    for (const blocker of blockers) blocker.destroy();
    listener.kill();
  }
});
