// parseNetdevOption(): QEMU's -netdev vocabulary into typed configs, one clear error for each
// mistake; openNetBackend(): configs into working backends.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNetdevOption, openNetBackend } from '../../vmm-core/bridges/net/netdev';
import { UserNetwork } from '../../vmm-core/bridges/net/user-network';
import { TestGuest } from '../support/net-guest';

test('user: defaults, forwards (QEMU\'s hostfwd syntax) and restrict', () => {
  assert.deepEqual(parseNetdevOption('user'), { type: 'user', id: undefined, options: { hostForwards: [] } });
  const config = parseNetdevOption('user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp::5353-10.0.2.15:53,hostfwd=::2222-:22,restrict=on');
  assert.deepEqual(config, {
    type: 'user',
    id: 'net0',
    options: {
      restrict: true,
      hostForwards: [
        { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 8080, guestAddress: undefined, guestPort: 80 },
        { protocol: 'udp', hostAddress: '127.0.0.1', hostPort: 5353, guestAddress: '10.0.2.15', guestPort: 53 },
        { protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 2222, guestAddress: undefined, guestPort: 22 },
      ],
    },
  });
  assert.deepEqual(parseNetdevOption('user,restrict=off,ipv6=off,ipv4=on').options, { hostForwards: [], restrict: false });
  assert.deepEqual(parseNetdevOption('user,net=192.168.76.0/24,host=192.168.76.2,dns=192.168.76.3,dhcpstart=192.168.76.9,hostname=box').options, {
    hostForwards: [], network: '192.168.76.0/24', hostAddress: '192.168.76.2', dnsAddress: '192.168.76.3', dhcpStart: '192.168.76.9', hostname: 'box',
  });
});

test('stream and dgram: QEMU\'s addr./local./remote. keys', () => {
  assert.deepEqual(parseNetdevOption('stream,id=s,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=0'), {
    type: 'stream', id: 's', options: { server: true, address: { type: 'inet', host: '127.0.0.1', port: 0 } },
  });
  assert.deepEqual(parseNetdevOption('stream,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=5555,reconnect=2').options, {
    server: false, address: { type: 'inet', host: '127.0.0.1', port: 5555 }, reconnectMs: 2000,
  });
  assert.deepEqual(parseNetdevOption('stream,server=off,addr.type=unix,addr.path=/tmp/a,,b.socket,reconnect-ms=250').options, {
    server: false, address: { type: 'unix', path: '/tmp/a,b.socket' }, reconnectMs: 250,
  });
  assert.deepEqual(parseNetdevOption('stream,server=on,addr.type=unix,addr.path=passt,addr.abstract=on').options, {
    server: true, address: { type: 'unix', path: '\0passt' },
  });
  assert.deepEqual(parseNetdevOption('dgram,id=d,local.type=inet,local.host=127.0.0.1,local.port=1234,remote.type=inet,remote.host=127.0.0.1,remote.port=1235'), {
    type: 'dgram', id: 'd', options: { local: { host: '127.0.0.1', port: 1234 }, remote: { host: '127.0.0.1', port: 1235 } },
  });
});

test('every mistake is one BridgeError that says what is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /unknown netdev type ""/],
    ['tap,ifname=tap0', /"tap" is not implemented/],
    ['bogus', /unknown netdev type "bogus"/],
    ['user,hostfwd=tcp:127.0.0.1:80', /hostfwd=tcp:127.0.0.1:80: expected/],
    ['user,hostfwd=tcp::70000-:80', /host port 70000 is out of range/],
    ['user,hostfwd=tcp::80-:0', /guest port 0 is out of range/],
    ['user,hostfwd=sctp::80-:80', /hostfwd=sctp::80-:80/],
    ['user,hostfwd=tcp:localhost:80-:80', /host address "localhost" is not an IPv4 address/],
    ['user,restrict=maybe', /restrict=maybe: expected on or off/],
    ['user,foo=1', /unknown option "foo" for user/],
    ['user,restrict', /"restrict" is not key=value/],
    ['user,restrict=on,restrict=off', /restrict is given twice/],
    ['user,guestfwd=tcp:10.0.2.100:1234-cmd:x', /guest forwards \(guestfwd=\) are not implemented/],
    ['user,ipv6=on', /IPv6 is not implemented/],
    ['user,ipv4=off', /ipv4=off leaves nothing/],
    ['user,net=10.0.2.0/33', /bad netmask/],
    ['user,dns=10.0.2', /dns "10.0.2" is not an IPv4 address/],
    ['stream,server=on', /addr.type=inet or addr.type=unix is required/],
    ['stream,server=on,addr.type=inet,addr.host=127.0.0.1', /needs addr.host and addr.port/],
    ['stream,addr.type=fd,addr.str=3', /addr.type=fd is not implemented/],
    ['stream,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=1,reconnect=1', /reconnect is for server=off only/],
    ['stream,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=0', /addr.port 0 is out of range/],
    ['dgram,local.type=unix,local.path=/tmp/a,remote.type=unix,remote.path=/tmp/b', /unix is not implemented/],
    ['dgram,remote.type=inet,remote.host=224.0.0.1,remote.port=1234', /multicast .* is not implemented/],
    ['dgram,local.type=inet,local.host=127.0.0.1,local.port=1,remote.type=inet,remote.host=127.0.0.1', /needs remote.host and remote.port/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseNetdevOption(text), (error: Error) => {
      assert.equal(error.name, 'BridgeError', text);
      assert.match(error.message, message, text);
      assert.ok(error.message.startsWith(`--netdev ${text}:`), error.message);
      return true;
    });
  }
});

test('openNetBackend: a parsed user network with a custom address plan serves DHCP, and --pcap captures it', { timeout: 30_000 }, async () => {
  const directory = mkdtempSync(join(tmpdir(), 'ringside-netdev-'));
  const pcap = join(directory, 'out.pcap');
  const backend = await openNetBackend(parseNetdevOption('user,net=192.168.76.0/24,host=192.168.76.2,dns=192.168.76.3,dhcpstart=192.168.76.9,hostfwd=tcp:127.0.0.1:0-:80'), { pcap });
  try {
    assert.match(backend.description, /user \(net 192\.168\.76\.0\/255\.255\.255\.0.*hostfwd=tcp:127\.0\.0\.1:0-:80\), captured to/);
    const guest = new TestGuest(backend);
    const lease = await guest.dhcp();
    assert.equal(lease.address, '192.168.76.9');
    assert.equal(lease.router, '192.168.76.2');
    assert.equal(lease.dns, '192.168.76.3');
    assert.equal(guest.gatewayMac && [...guest.gatewayMac].map((b) => b.toString(16).padStart(2, '0')).join(':'), '52:55:c0:a8:4c:02');
    assert.equal((await guest.ping('192.168.76.2')).ipv4!.source, '192.168.76.2');
  } finally {
    backend.close();
  }
  assert.ok(readFileSync(pcap).length > 24 + 6 * 16, 'the capture holds the session');
  rmSync(directory, { recursive: true, force: true });
});

test('openNetBackend: a stream server and client from the same vocabulary connect', { timeout: 30_000 }, async () => {
  const server = await openNetBackend(parseNetdevOption('stream,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=0'));
  const port = (server as unknown as { address: { port: number } }).address.port;
  const client = await openNetBackend(parseNetdevOption(`stream,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=${port}`));
  try {
    const got: Uint8Array[] = [];
    server.setReceiver((frame) => got.push(frame) > 0);
    const frame = new Uint8Array(60).fill(0xab);
    client.send(frame);
    const deadline = Date.now() + 5000;
    while (got.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(got, [frame]);
  } finally {
    client.close();
    server.close();
  }
  assert.ok(UserNetwork);
});
