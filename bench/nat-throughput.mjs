// User-mode NAT throughput: a TCP transfer between the test guest stack (test/support/net-guest.ts,
// a small TCP in TypeScript standing in for the guest's) and a server on the host's loopback,
// through UserNetwork, against the same transfer as a direct loopback socket copy in the same
// run. Both directions: download (host -> guest) and upload (guest -> host). Reports MB/s and
// the ratio NAT / direct. The guest stack's own work (parsing, checksums, ACKs) is part of the
// NAT figure, as a real guest's would be.
// Usage: node --import tsx bench/nat-throughput.mjs [--mib N] [--rounds N]

import * as net from 'node:net';
import { UserNetwork } from '../vmm-core/bridges/net/user-network.ts';
import { TestGuest } from '../test/support/net-guest.ts';

const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const mebibytes = argument('--mib', 64);
const rounds = argument('--rounds', 3);
const total = mebibytes * 1024 * 1024;
const block = Buffer.alloc(64 * 1024, 0x5a);

/** A host server: 'down' streams `total` bytes to each client; 'up' counts what it receives. */
async function server(mode) {
  const server = net.createServer((socket) => {
    if (mode === 'down') {
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const piece = sent + block.length <= total ? block : block.subarray(0, total - sent);
          sent += piece.length;
          if (!socket.write(piece)) return void socket.once('drain', pump);
        }
        socket.end();
      };
      pump();
    } else {
      let received = 0;
      socket.on('data', (chunk) => (received += chunk.length));
      socket.on('end', () => socket.end(String(received)));
    }
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: server.address().port };
}

async function direct(mode, port) {
  const start = performance.now();
  const socket = net.connect(port, '127.0.0.1');
  let received = 0;
  let answer = '';
  socket.on('data', (chunk) => {
    received += chunk.length;
    if (mode === 'up') answer += chunk;
  });
  const done = new Promise((resolve) => socket.on('end', resolve));
  if (mode === 'up') {
    await new Promise((resolve) => socket.once('connect', resolve));
    let sent = 0;
    while (sent < total) {
      const piece = sent + block.length <= total ? block : block.subarray(0, total - sent);
      sent += piece.length;
      if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve));
    }
    socket.end();
  }
  await done;
  const seconds = (performance.now() - start) / 1000;
  if (mode === 'down' ? received !== total : Number(answer) !== total) throw new Error(`direct ${mode}: wrong byte count`);
  return seconds;
}

async function throughNat(mode, port) {
  const network = new UserNetwork({ dnsUpstream: null });
  const guest = new TestGuest(network);
  await guest.dhcp();
  const start = performance.now();
  const connection = await guest.connect('10.0.2.2', port);
  if (mode === 'up') {
    for (let sent = 0; sent < total; sent += block.length) connection.write(block.subarray(0, Math.min(block.length, total - sent)));
    connection.close();
  }
  await connection.whenFinished(600_000);
  const seconds = (performance.now() - start) / 1000;
  const ok = mode === 'down' ? connection.receivedBytes === total : Buffer.from(connection.receivedData()).toString() === String(total);
  network.close();
  if (!ok) throw new Error(`NAT ${mode}: wrong byte count`);
  return seconds;
}

const rate = (seconds) => total / seconds / 1e6;
console.log(`node ${process.version}, ${mebibytes} MiB per transfer, best of ${rounds} rounds`);
for (const mode of ['down', 'up']) {
  const { server: host, port } = await server(mode);
  let bestDirect = Infinity;
  let bestNat = Infinity;
  for (let round = 0; round < rounds; round++) {
    bestDirect = Math.min(bestDirect, await direct(mode, port));
    bestNat = Math.min(bestNat, await throughNat(mode, port));
  }
  host.close();
  const label = mode === 'down' ? 'host -> guest (download)' : 'guest -> host (upload)  ';
  console.log(`${label}  direct loopback ${rate(bestDirect).toFixed(1).padStart(7)} MB/s   through the NAT ${rate(bestNat).toFixed(1).padStart(6)} MB/s   ratio ${(bestDirect / bestNat).toFixed(3)}`);
}
