// A real Linux guest through Ringside's user-mode NAT: Linux 6.1 with busybox runs in QEMU, its
// virtio-net is a -netdev stream to a StreamNetwork here, which is joined to a UserNetwork. The
// guest's own "net" scenario runs udhcpc, pings the gateway, fetches pages (one of 1 MiB, md5
// checked) from an HTTP server on the host through 10.0.2.2 with busybox wget, and serves one
// connection a host client makes through a port forward with busybox nc. So the NAT meets the
// Linux TCP stack (window scaling, SACK and timestamps offered; delayed and stretched ACKs; a
// reader slower than the network), not only the test stack.
// Needs the Linux guest built by guests/linux/build.sh (its cache directory), QEMU and OpenSBI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as http from 'node:http';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { StreamNetwork } from '../../vmm-core/bridges/net/stream-network';
import { UserNetwork } from '../../vmm-core/bridges/net/user-network';
import { requireTool } from '../support/tools';

const LINUX = process.env.RINGSIDE_LINUX_DIR ?? join(homedir(), '.cache', 'ringside', 'linux-6.1');
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const hasQemu = spawnSync('qemu-system-riscv64', ['--version']).status === 0;
const hasGuest = existsSync(join(LINUX, 'Image')) && existsSync(join(LINUX, 'initramfs.list')) &&
  readFileSync(join(LINUX, 'initramfs.list'), 'utf8').includes('/ringside/scenarios/net.sh');
const missing = !hasQemu ? 'qemu-system-riscv64 is not installed (scripts/install-deps.sh)'
  : !existsSync(FW_JUMP) ? 'opensbi is not installed (scripts/install-deps.sh)'
  : !hasGuest ? `the Linux guest with its "net" scenario is not built in ${LINUX} (bash guests/linux/build.sh)`
  : false;

test('a Linux guest gets a lease, pings, fetches 1 MiB with wget and serves a forwarded connection through the NAT', { timeout: 180_000 }, async () => {
  requireTool(missing);
  const token = `t${process.pid}`;
  const blob = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < blob.length; i++) blob[i] = ((i * 7919) >>> 3) & 0xff;
  const md5 = createHash('md5').update(blob).digest('hex');
  const server = http.createServer((request, response) => {
    if (request.url === '/hello') response.end(`hello ${token}`);
    else if (request.url === '/blob') {
      response.writeHead(200, { 'content-length': blob.length });
      response.end(blob);
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const nat = await UserNetwork.open({ hostForwards: [{ protocol: 'tcp', hostAddress: '127.0.0.1', hostPort: 0, guestPort: 7777 }] });
  const link = await StreamNetwork.open({ server: true, address: { type: 'inet', host: '127.0.0.1', port: 0 } });
  // QEMU's NIC is on the far end of the link; the NAT is on this end.
  link.setReceiver((frame) => {
    nat.send(frame);
    return true;
  });
  nat.setReceiver((frame) => {
    link.send(frame);
    return true;
  });
  const qemu = spawn('qemu-system-riscv64', [
    '-M', 'virt', '-m', '128M', '-nographic', '-bios', FW_JUMP, '-kernel', join(LINUX, 'Image'), '-initrd', join(LINUX, 'initramfs.cpio'),
    '-append', `console=ttyS0 ringside.scenario=net ringside.port=${port} ringside.listen=1 ringside.token=${token} ringside.blobsize=${blob.length} ringside.blobmd5=${md5}`,
    '-netdev', `stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=${(link.address as { port: number }).port}`,
    '-device', 'virtio-net-device,netdev=n0', '-no-reboot',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let serial = '';
  let hostReply: Promise<string> | undefined;
  qemu.stdout!.on('data', (chunk) => {
    serial += chunk;
    if (!hostReply && serial.includes('LISTENING 7777')) {
      hostReply = new Promise((resolve, reject) => {
        const client = net.connect(nat.hostForwardPorts()[0].hostPort, '127.0.0.1', () => client.end(`request-from-host ${token}`));
        let reply = '';
        client.on('data', (data) => (reply += data));
        client.on('end', () => resolve(reply));
        client.on('error', reject);
      });
    }
  });
  try {
    const exitCode = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => qemu.kill(), 150_000);
      qemu.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    assert.match(serial, /udhcpc: lease of 10\.0\.2\.15 obtained from 10\.0\.2\.2/, serial);
    assert.match(serial, /3 packets transmitted, 3 packets received/);
    assert.match(serial, /fetched http:\/\/10\.0\.2\.2:\d+\/hello and http:\/\/10\.0\.2\.2:\d+\/blob \(1048576 bytes\)/, serial);
    assert.match(serial, /SCENARIO net OK/, serial);
    assert.equal(exitCode, 0);
    assert.equal(await hostReply, `reply-from-guest ${token}\n`);
    const counters = nat.counterSnapshot();
    assert.equal(counters.drops.malformed, 0);
    assert.ok(counters.tcpBytesFromHost >= blob.length);
  } finally {
    qemu.kill();
    nat.close();
    link.close();
    server.close();
  }
});
