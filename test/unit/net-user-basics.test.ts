// The user-mode network's own services, driven by the test guest stack: DHCP, ARP, ICMP echo
// to the gateway and DNS server, the DNS relay, and the checks every input frame goes through.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserNetwork } from '../../vmm-core/bridges/net/user-network';
import { TestGuest } from '../support/net-guest';
import { arp, dhcp, dnsQuery, ethernet, icmpEcho, ipv4, mac, parseDhcp, udp } from '../support/net-frames';

function setup(options: ConstructorParameters<typeof UserNetwork>[0] = {}) {
  const network = new UserNetwork({ dnsUpstream: null, ...options });
  const guest = new TestGuest(network);
  return { network, guest };
}

test('DHCP: DISCOVER/OFFER/REQUEST/ACK hands out 10.0.2.15 with QEMU slirp\'s options', async () => {
  const { network, guest } = setup();
  try {
    const lease = await guest.dhcp();
    assert.equal(lease.address, '10.0.2.15');
    assert.equal(lease.offer.yourAddress, '10.0.2.15');
    assert.equal(lease.netmask, '255.255.255.0');
    assert.equal(lease.router, '10.0.2.2');
    assert.equal(lease.dns, '10.0.2.3');
    assert.equal(lease.serverId, '10.0.2.2');
    assert.equal(lease.leaseSeconds, 86400);
    assert.equal(lease.ack.clientMac, '52:54:00:12:34:56');
    assert.equal(lease.ack.op, 2);
    // The reply went to the broadcast addresses, from the gateway's MAC.
    const ackFrame = guest.received.find((frame) => frame.udp?.destinationPort === 68 && parseDhcp(frame.udp.data).messageType === 5)!;
    assert.equal(ackFrame.destinationMac, 'ff:ff:ff:ff:ff:ff');
    assert.equal(ackFrame.ipv4!.destination, '255.255.255.255');
    assert.equal(ackFrame.sourceMac, '52:55:0a:00:02:02');
    assert.equal(ackFrame.udp!.checksumOk, true);
    assert.equal(ackFrame.ipv4!.headerChecksumOk, true);
    assert.equal(network.dhcpLeases().get('52:54:00:12:34:56'), 0x0a00020f);
  } finally {
    network.close();
  }
});

test('DHCP: a second client gets the next address; a request for a taken address is NAKed; release frees it', async () => {
  const { network, guest } = setup();
  try {
    await guest.dhcp();
    const other = mac('52:54:00:00:00:99');
    const offer = guest.waitFor((frame) => frame.udp?.destinationPort === 68 && parseDhcp(frame.udp.data).transactionId === 77, 'offer to the second client');
    guest.sendDhcp(dhcp({ type: 1, transactionId: 77, clientMac: other }));
    assert.equal(parseDhcp((await offer).udp!.data).yourAddress, '10.0.2.16');

    const nak = guest.waitFor((frame) => frame.udp?.destinationPort === 68 && parseDhcp(frame.udp.data).transactionId === 78, 'NAK');
    guest.sendDhcp(dhcp({ type: 3, transactionId: 78, clientMac: other, requested: '10.0.2.15', serverId: '10.0.2.2' }));
    const nakReply = parseDhcp((await nak).udp!.data);
    assert.equal(nakReply.messageType, 6);
    assert.equal(nakReply.yourAddress, '0.0.0.0');
    assert.match(new TextDecoder().decode(nakReply.options.get(56)), /not available/);

    // A REQUEST naming another server is for that server: no answer, nothing changes.
    guest.sendDhcp(dhcp({ type: 3, transactionId: 79, clientMac: other, requested: '10.0.2.16', serverId: '10.0.2.9' }));
    // The first client releases 10.0.2.15; the second may then have it.
    guest.sendDhcp(dhcp({ type: 7, transactionId: 80, clientMac: guest.mac, clientAddress: '10.0.2.15' }));
    const ack = guest.waitFor((frame) => frame.udp?.destinationPort === 68 && parseDhcp(frame.udp.data).transactionId === 81, 'ACK');
    guest.sendDhcp(dhcp({ type: 3, transactionId: 81, clientMac: other, requested: '10.0.2.15', serverId: '10.0.2.2' }));
    const ackReply = parseDhcp((await ack).udp!.data);
    assert.equal(ackReply.messageType, 5);
    assert.equal(ackReply.yourAddress, '10.0.2.15');
    assert.equal(guest.received.filter((frame) => frame.udp && parseDhcp(frame.udp.data).transactionId === 79).length, 0);

    // INFORM: configuration without an address or lease time.
    const inform = guest.waitFor((frame) => frame.udp?.destinationPort === 68 && parseDhcp(frame.udp.data).transactionId === 82, 'INFORM answer');
    guest.sendDhcp(dhcp({ type: 8, transactionId: 82, clientMac: other, clientAddress: '10.0.2.15' }));
    const informReply = parseDhcp((await inform).udp!.data);
    assert.equal(informReply.messageType, 5);
    assert.equal(informReply.yourAddress, '0.0.0.0');
    assert.equal(informReply.options.has(51), false);
    assert.deepEqual([...informReply.options.get(3)!], [10, 0, 2, 2]);
  } finally {
    network.close();
  }
});

test('DHCP with restrict=on leaves out the router and DNS options, as QEMU', async () => {
  const { network, guest } = setup({ restrict: true });
  try {
    const lease = await guest.dhcp();
    assert.equal(lease.address, '10.0.2.15');
    assert.equal(lease.router, undefined);
    assert.equal(lease.dns, undefined);
    assert.equal(lease.netmask, '255.255.255.0');
  } finally {
    network.close();
  }
});

test('ARP: the gateway and DNS addresses answer with 52:55 + their address; other addresses stay silent; the guest is learned', async () => {
  const { network, guest } = setup();
  try {
    await guest.configure('10.0.2.15');
    assert.equal(await guest.arp('10.0.2.2'), '52:55:0a:00:02:02');
    assert.equal(await guest.arp('10.0.2.3'), '52:55:0a:00:02:03');
    const reply = guest.received.find((frame) => frame.arp?.operation === 2 && frame.arp.senderIp === '10.0.2.3')!;
    assert.equal(reply.destinationMac, '52:54:00:12:34:56');
    assert.equal(reply.arp!.targetIp, '10.0.2.15');
    assert.equal(reply.arp!.targetMac, '52:54:00:12:34:56');
    assert.equal(reply.raw.length, 60);
    await assert.rejects(guest.arp('10.0.2.77', 300), /timed out/);
    assert.deepEqual([...network.neighbourTable().get(0x0a00020f)!], [...guest.mac]);
    assert.equal(network.counterSnapshot().drops.malformed, 0);
  } finally {
    network.close();
  }
});

test('ICMP echo to the gateway and to the DNS address is answered; echo elsewhere is dropped and counted', async () => {
  const { network, guest } = setup();
  try {
    await guest.dhcp();
    const data = new TextEncoder().encode('0123456789abcdefghijklmnopqrstuvwxyz');
    for (const target of ['10.0.2.2', '10.0.2.3']) {
      const reply = await guest.ping(target, 99, 3, data);
      assert.equal(reply.ipv4!.source, target);
      assert.equal(reply.ipv4!.destination, '10.0.2.15');
      assert.equal(reply.icmp!.type, 0);
      assert.equal(reply.icmp!.checksumOk, true);
      assert.deepEqual(reply.icmp!.data, data);
    }
    await assert.rejects(guest.ping('192.0.2.1', 5, 5, undefined, 300), /timed out/);
    assert.equal(network.counterSnapshot().dropDetails['icmp-echo-not-served'], 1);
  } finally {
    network.close();
  }
});

test('DNS: A for localhost comes from the host resolver; AAAA gets no records; unknown names NXDOMAIN', async () => {
  const { network, guest } = setup();
  try {
    await guest.dhcp();
    const answer = await guest.dns('localhost', 1, 0x1111);
    assert.equal(answer.isResponse, true);
    assert.equal(answer.identifier, 0x1111);
    assert.equal(answer.rcode, 0);
    assert.deepEqual(answer.addresses, ['127.0.0.1']);
    const v6 = await guest.dns('localhost', 28, 0x2222);
    assert.equal(v6.rcode, 0);
    assert.equal(v6.answerCount, 0);
    const missing = await guest.dns('no-such-host.invalid', 1, 0x3333);
    assert.equal(missing.rcode, 3);
    // No upstream nameserver configured: other question types get SERVFAIL.
    const mx = await guest.dns('localhost', 15, 0x4444);
    assert.equal(mx.rcode, 2);
    assert.equal(network.counterSnapshot().dnsQueries, 4);
  } finally {
    network.close();
  }
});

test('DNS: other question types are relayed to the upstream nameserver and its answer comes back', async () => {
  const dgram = await import('node:dgram');
  const upstream = dgram.createSocket('udp4');
  const seen: Buffer[] = [];
  upstream.on('message', (message, remote) => {
    seen.push(message);
    const answer = Buffer.from(message);
    answer[2] |= 0x80; // a response, no records
    answer[3] = 0x80;
    upstream.send(answer, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => upstream.bind(0, '127.0.0.1', resolve));
  const { network, guest } = setup({ dnsUpstream: `127.0.0.1:${upstream.address().port}` });
  try {
    await guest.dhcp();
    const answer = await guest.dns('example.test', 16, 0x5151);
    assert.equal(answer.identifier, 0x5151);
    assert.equal(answer.isResponse, true);
    assert.equal(seen.length, 1);
    assert.deepEqual(new Uint8Array(seen[0]), dnsQuery(0x5151, 'example.test', 16));
  } finally {
    network.close();
    upstream.close();
  }
});

test('malformed frames are dropped and counted by reason, never thrown', async () => {
  const { network, guest } = setup();
  try {
    await guest.dhcp();
    const me = guest.mac;
    const gw = mac('52:55:0a:00:02:02');
    const good = ipv4({ source: '10.0.2.15', destination: '10.0.2.2', protocol: 1, payload: icmpEcho(8, 1, 1, new Uint8Array(8)) });
    const badHeaderChecksum = good.slice();
    badHeaderChecksum[10] ^= 0xff;
    const badIcmpChecksum = good.slice();
    badIcmpChecksum[22] ^= 0x01;
    const truncatedIp = good.slice(0, 12); // sent without Ethernet padding
    const bogusLength = good.slice();
    bogusLength[2] = 0xff; // total length beyond the frame
    bogusLength[10] = 0;
    bogusLength[11] = 0;
    const fragment = ipv4({ source: '10.0.2.15', destination: '10.0.2.2', protocol: 17, payload: udp('10.0.2.15', '10.0.2.2', 1, 2, new Uint8Array(4)), fragment: 0x2000 });
    const badUdp = ipv4({ source: '10.0.2.15', destination: '10.0.2.2', protocol: 17, payload: (() => { const u = udp('10.0.2.15', '10.0.2.2', 1000, 2000, new Uint8Array(4)); u[6] ^= 1; return u; })() });
    const send = (bytes: Uint8Array) => network.send(bytes);
    send(new Uint8Array(5));
    send(ethernet(gw, me, 0x0800, truncatedIp).slice(0, 14 + truncatedIp.length));
    send(ethernet(gw, me, 0x0800, badHeaderChecksum));
    send(ethernet(gw, me, 0x0800, badIcmpChecksum));
    send(ethernet(gw, me, 0x0800, bogusLength.slice(0, 40)));
    send(ethernet(gw, me, 0x0800, fragment));
    send(ethernet(gw, me, 0x0800, badUdp));
    send(ethernet(gw, me, 0x0806, arp(1, me, '10.0.2.15', new Uint8Array(6), '10.0.2.2')).slice(0, 14 + 20));
    send(ethernet(gw, me, 0x86dd, new Uint8Array(40)));
    const counters = network.counterSnapshot();
    assert.equal(counters.dropDetails['ethernet-truncated'], 1);
    assert.equal(counters.dropDetails['ipv4-truncated'], 2);
    assert.equal(counters.dropDetails['ipv4-bad-checksum'], 1);
    assert.equal(counters.dropDetails['icmp-bad-checksum'], 1);
    assert.equal(counters.dropDetails['ipv4-fragment-bad-length'], 1, 'a first fragment must carry a multiple of 8 bytes');
    assert.equal(counters.dropDetails['udp-bad-checksum'], 1);
    assert.equal(counters.dropDetails['arp-truncated'], 1);
    assert.equal(counters.dropDetails.ipv6, 1);
    assert.equal(counters.dropDetails['internal-error'], undefined);
    // Still alive.
    await guest.ping('10.0.2.2');
  } finally {
    network.close();
  }
});
