// Port forwards into the guest (hostfwd), restrict=on, UDP through the NAT, and that close()
// releases every host socket.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { UserNetwork, type UserNetworkOptions } from '../../vmm-core/bridges/net/user-network';
import { TestGuest } from '../support/net-guest';
import { ethernet, ipv4, reassembleUdp, udp } from '../support/net-frames';

async function setup(options: UserNetworkOptions = {}) {
  const network = new UserNetwork({ dnsUpstream: null, ...options });
  await network.ready;
  const guest = new TestGuest(network);
  await guest.dhcp();
  return { network, guest };
}

async function waitUntil(condition: () => boolean, what: string, milliseconds = 5000): Promise<void> {
  const deadline = Date.now() + milliseconds;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function connectHost(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
}

test('hostfwd tcp: a host client reaches a guest server; the guest sees it come from 10.0.2.2', { timeout: 30_000 }, async () => {
  const { network, guest } = await setup({ hostForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 0, guestPort: 8080 }] });
  try {
    const [forward] = network.hostForwardPorts();
    assert.ok(forward.hostPort > 0, 'port 0 became a real port');
    const accepted: string[] = [];
    guest.listen(8080, (connection) => {
      accepted.push(`${connection.remoteAddress}:${connection.remotePort}`);
      // An echo server that upper-cases, and closes when the client does.
      const echo = (): void => {
        const data = connection.receivedData().subarray(echoed);
        echoed += data.length;
        if (data.length > 0) connection.write(new TextEncoder().encode(Buffer.from(data).toString().toUpperCase()));
        if (connection.finReceived) connection.close();
        else setTimeout(echo, 2);
      };
      let echoed = 0;
      echo();
    });
    const client = await connectHost(forward.hostPort);
    const clientPort = client.localPort;
    const reply = readAll(client);
    const payload = 'x'.repeat(100_000) + ' end';
    client.end(payload);
    assert.equal((await reply).toString(), payload.toUpperCase());
    assert.equal(accepted.length, 1);
    assert.match(accepted[0], /^10\.0\.2\.2:\d+$/);
    assert.equal(Number(accepted[0].split(':')[1]), clientPort);
    const syn = guest.received.find((frame) => frame.tcp && frame.tcp.flags === 2)!;
    assert.equal(syn.ipv4!.destination, '10.0.2.15');
    assert.equal(syn.tcp!.mss, 1460);
    await waitUntil(() => network.counterSnapshot().tcpConnectionsOpen === 0 || network.tcpConnectionStates().every((c) => c.state === 'time-wait'), 'the forward to close');
  } finally {
    network.close();
  }
});

test('hostfwd tcp: before the guest has a known MAC the NAT asks with ARP; a closed guest port resets the host client', { timeout: 30_000 }, async () => {
  const network = new UserNetwork({ dnsUpstream: null, hostForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 0, guestAddress: '10.0.2.20', guestPort: 22 }] });
  await network.ready;
  const guest = new TestGuest(network, { address: '10.0.2.20' });
  try {
    const client = await connectHost(network.hostForwardPorts()[0].hostPort);
    const closed = new Promise<string>((resolve) => {
      client.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      client.on('close', () => resolve('close'));
    });
    // Nothing listens on guest port 22: the test guest answers the SYN with RST.
    const outcome = await closed;
    assert.ok(outcome === 'ECONNRESET' || outcome === 'close', outcome);
    const request = guest.received.find((frame) => frame.arp?.operation === 1)!;
    assert.equal(request.arp!.targetIp, '10.0.2.20');
    assert.equal(request.arp!.senderIp, '10.0.2.2');
    assert.equal(request.destinationMac, 'ff:ff:ff:ff:ff:ff');
  } finally {
    network.close();
  }
});

test('hostfwd on a port already in use fails with one clear BridgeError', { timeout: 30_000 }, async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    await assert.rejects(UserNetwork.open({ hostForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: port, guestPort: 80 }] }),
      (error: Error) => error.name === 'BridgeError' && error.message.includes(`hostfwd tcp:127.0.0.1:${port}`) && /EADDRINUSE/.test(error.message));
  } finally {
    blocker.close();
  }
});

test('UDP: a datagram to 10.0.2.2 reaches the host\'s loopback and the reply comes back from 10.0.2.2', { timeout: 30_000 }, async () => {
  const echo = dgram.createSocket('udp4');
  echo.on('message', (message, remote) => echo.send(Buffer.concat([Buffer.from('echo:'), message]), remote.port, remote.address));
  await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve));
  const { network, guest } = await setup();
  try {
    const reply = guest.waitFor((frame) => frame.udp?.destinationPort === 3333, 'the UDP echo');
    guest.sendUdp(3333, '10.0.2.2', echo.address().port, new TextEncoder().encode('ping'));
    const frame = await reply;
    assert.equal(frame.ipv4!.source, '10.0.2.2');
    assert.equal(frame.udp!.sourcePort, echo.address().port);
    assert.equal(frame.udp!.checksumOk, true);
    assert.equal(Buffer.from(frame.udp!.data).toString(), 'echo:ping');
    // A reply larger than the MTU arrives as IPv4 fragments that reassemble.
    const big = Buffer.alloc(4000, 0x61);
    const before = guest.received.length;
    guest.sendUdp(3333, '10.0.2.2', echo.address().port, big);
    await waitUntil(() => guest.received.slice(before).filter((f) => f.ipv4?.protocol === 17).length >= 3, 'three fragments');
    const datagram = reassembleUdp(guest.received.slice(before).filter((f) => f.ipv4?.protocol === 17));
    assert.equal(Buffer.from(datagram!).toString(), `echo:${big.toString()}`);
    assert.equal(network.counterSnapshot().udpBindingsOpen, 1);
  } finally {
    network.close();
    echo.close();
  }
});

test('a UDP datagram the guest sent in fragments, out of order, is reassembled; overlaps and stragglers are dropped', { timeout: 30_000 }, async () => {
  const echo = dgram.createSocket('udp4');
  const arrived: Buffer[] = [];
  echo.on('message', (message, remote) => {
    arrived.push(message);
    echo.send(message.subarray(0, 16), remote.port, remote.address);
  });
  await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', resolve));
  const { network, guest } = await setup({ fragmentTimeoutMs: 100, sweepIntervalMs: 20 });
  try {
    const data = new Uint8Array(3500).map((_, i) => (i * 13) & 0xff);
    const datagram = udp('10.0.2.15', '10.0.2.2', 6000, echo.address().port, data);
    const piece = (offset: number, length: number, more: boolean, identification: number) => {
      const packet = ipv4({ source: '10.0.2.15', destination: '10.0.2.2', protocol: 17, payload: datagram.subarray(offset, offset + length), identification, fragment: (more ? 0x2000 : 0) | (offset / 8) });
      network.send(ethernet(guest.gatewayMac!, guest.mac, 0x0800, packet));
    };
    const reply = guest.waitFor((frame) => frame.udp?.destinationPort === 6000, 'the echo of the reassembled datagram');
    piece(2960, datagram.length - 2960, false, 100);
    piece(1480, 1480, true, 100);
    piece(1480, 1480, true, 100); // an exact duplicate: ignored
    piece(0, 1480, true, 100);
    await reply;
    assert.equal(arrived.length, 1);
    assert.deepEqual(new Uint8Array(arrived[0]), data);
    // Pieces that overlap without being exact duplicates: the datagram is dropped.
    piece(0, 1480, true, 101);
    const overlapping = datagram.slice();
    overlapping[1500] ^= 0xff;
    network.send(ethernet(guest.gatewayMac!, guest.mac, 0x0800, ipv4({ source: '10.0.2.15', destination: '10.0.2.2', protocol: 17, payload: overlapping.subarray(1472, 2960), identification: 101, fragment: 0x2000 | (1472 / 8) })));
    assert.equal(network.counterSnapshot().dropDetails['ipv4-fragment-overlap'], 1);
    // A first piece whose rest never comes expires.
    piece(0, 1480, true, 102);
    await waitUntil(() => network.counterSnapshot().dropDetails['ipv4-fragment-timeout'] === 1, 'the straggler to expire');
    assert.equal(arrived.length, 1);
  } finally {
    network.close();
    echo.close();
  }
});

test('UDP bindings close after the idle timeout', { timeout: 30_000 }, async () => {
  const sink = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const { network, guest } = await setup({ udpIdleTimeoutMs: 100, sweepIntervalMs: 20 });
  try {
    guest.sendUdp(3000, '10.0.2.2', sink.address().port, new Uint8Array([1]));
    guest.sendUdp(3001, '10.0.2.2', sink.address().port, new Uint8Array([1]));
    assert.equal(network.counterSnapshot().udpBindingsOpen, 2);
    await waitUntil(() => network.counterSnapshot().udpBindingsOpen === 0, 'idle bindings to close');
  } finally {
    network.close();
    sink.close();
  }
});

test('hostfwd udp: a host datagram reaches the guest, and the guest\'s answer reaches the host client', { timeout: 30_000 }, async () => {
  const { network, guest } = await setup({ hostForwards: [{ protocol: 'udp', hostAddress: '127.0.0.1', hostPort: 0, guestPort: 5000 }] });
  const client = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    const arrived = guest.waitFor((frame) => frame.udp?.destinationPort === 5000, 'the forwarded datagram');
    client.send('question', network.hostForwardPorts()[0].hostPort, '127.0.0.1');
    const frame = await arrived;
    assert.equal(frame.ipv4!.source, '10.0.2.2');
    assert.equal(frame.udp!.sourcePort, client.address().port);
    const answer = new Promise<string>((resolve) => client.once('message', (message) => resolve(message.toString())));
    guest.sendUdp(5000, '10.0.2.2', frame.udp!.sourcePort, new TextEncoder().encode('answer'));
    assert.equal(await answer, 'answer');
  } finally {
    network.close();
    client.close();
  }
});

test('restrict=on: outbound TCP is reset, UDP and DNS are dropped, the gateway still answers ping, forwards still work', { timeout: 30_000 }, async () => {
  const hostServer = net.createServer((socket) => socket.end('should not be reached'));
  await new Promise<void>((resolve) => hostServer.listen(0, '127.0.0.1', resolve));
  const hostPort = (hostServer.address() as net.AddressInfo).port;
  const sink = dgram.createSocket('udp4');
  let udpArrived = false;
  sink.on('message', () => (udpArrived = true));
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const network = new UserNetwork({ dnsUpstream: null, restrict: true, hostForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 0, guestPort: 7 }] });
  await network.ready;
  const guest = new TestGuest(network);
  try {
    await guest.dhcp();
    // DHCP gave no router; talk to the gateway's MAC anyway.
    await guest.configure(guest.address);
    await assert.rejects(guest.connect('10.0.2.2', hostPort), /reset/);
    guest.sendUdp(4000, '10.0.2.2', sink.address().port, new Uint8Array([1, 2, 3]));
    await assert.rejects(guest.dns('localhost', 1, 0x77, 5353, 300), /timed out/);
    await guest.ping('10.0.2.2');
    assert.equal(udpArrived, false);
    const counters = network.counterSnapshot();
    assert.equal(counters.dropDetails.restricted, 3);
    assert.equal(counters.tcpConnectionsOpened, 0);
    // The forward is served.
    guest.listen(7, (connection) => {
      connection.write(new TextEncoder().encode('inside'));
      connection.close();
    });
    const client = await connectHost(network.hostForwardPorts()[0].hostPort);
    assert.equal((await readAll(client)).toString(), 'inside');
  } finally {
    network.close();
    hostServer.close();
    sink.close();
  }
});

test('close() releases every socket and timer: a process that used the network exits by itself', { timeout: 60_000 }, () => {
  const script = `
    const net = require('node:net');
    const dgram = require('node:dgram');
    const { UserNetwork } = require('./vmm-core/bridges/net/user-network');
    const { TestGuest } = require('./test/support/net-guest');
    (async () => {
      const server = net.createServer((socket) => socket.end('hello'));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const sink = dgram.createSocket('udp4');
      await new Promise((resolve) => sink.bind(0, '127.0.0.1', resolve));
      const network = new UserNetwork({ dnsUpstream: null, hostForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 0, guestPort: 80 }, { protocol: 'udp', hostAddress: '127.0.0.1', hostPort: 0, guestPort: 53 }] });
      await network.ready;
      const guest = new TestGuest(network);
      await guest.dhcp();
      const open = await guest.connect('10.0.2.2', server.address().port);
      await open.whenFinished();
      await guest.connect('10.0.2.2', server.address().port); // left open
      guest.sendUdp(1234, '10.0.2.2', sink.address().port, new Uint8Array([1]));
      await guest.dns('localhost');
      net.connect(network.hostForwardPorts()[0].hostPort, '127.0.0.1').on('error', () => {});
      await new Promise((resolve) => setTimeout(resolve, 100));
      network.close();
      server.close();
      sink.close();
      console.log('closed');
    })();
  `;
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.signal, null, `the process had to be killed: still running after 30 s\n${result.stderr}`);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /closed/);
  assert.ok(Date.now() - started < 20_000);
});
