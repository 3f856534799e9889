// What recording costs: Linux 6.1's boot with network traffic (guests/linux/build.sh; the `net`
// scenario: DHCP over the user-mode NAT, three pings, and two HTTP downloads from a server in
// this script, 256 KiB and a short page), run by the CLI with and without `--record`,
// alternating, paired per round. The runs pace idle time in wall time (network replies arrive
// from the host), so the figure is the CLI process's CPU time (user + system, all threads);
// wall time is shown too. Then the recording is replayed (`--replay`, no host I/O) and checked.
//
//   node scripts/build.mjs && node bench/recording.mjs [--rounds N]

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(process.env.HOME ?? '/root', '.cache/ringside/linux-6.1');
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
for (const file of ['Image', 'initramfs.cpio']) {
  if (!existsSync(join(CACHE, file))) {
    console.error(`bench/recording: ${join(CACHE, file)} is missing: run bash guests/linux/build.sh`);
    process.exit(2);
  }
}
const blob = Buffer.alloc(262144);
for (let i = 0; i < blob.length; i++) blob[i] = (i * 131 + 7) & 0xff;
const blobMd5 = createHash('md5').update(blob).digest('hex');
const server = createServer((request, response) => {
  if (request.url === '/hello') response.end('hello bench');
  else if (request.url === '/blob') response.end(blob);
  else response.writeHead(404).end();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
const folder = mkdtempSync(join(tmpdir(), 'ringside-bench-recording-'));
const append = `console=ttyS0 ringside.scenario=net ringside.port=${port} ringside.token=bench ringside.blobsize=${blob.length} ringside.blobmd5=${blobMd5} quiet`;

/** One CLI run in a child shell that reports its CPU and wall seconds. */
async function run(extra) {
  const command = [process.execPath, 'dist/cli.js', 'run', '--bios', 'builtin', '--kernel', join(CACHE, 'Image'), '--initrd', join(CACHE, 'initramfs.cpio'),
    '--mem', '256M', '--append', append, '--netdev', 'user', '--serial', `file:${join(folder, 'console.txt')}`, '--timeout', '120', ...extra]
    .map((part) => `'${part.replace(/'/g, "'\\''")}'`).join(' ');
  // The HTTP server answers from this process: run the child asynchronously.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `TIMEFORMAT='%U %S %R'; time ${command}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => {
      const times = /(\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\s*$/.exec(stderr);
      if (code !== 0 || times === null) return reject(new Error(`run failed (${code}): ${stderr}`));
      resolve({ cpu: Number(times[1]) + Number(times[2]), wall: Number(times[3]) });
    });
  });
}

console.log(`node ${process.version}; Linux net scenario (DHCP, ping, 256 KiB + page over HTTP from 127.0.0.1:${port})`);
const ratios = [];
const recording = join(folder, 'net.rec');
for (let round = 0; round < rounds; round++) {
  const result = {};
  for (const record of round % 2 === 0 ? [false, true] : [true, false]) result[record] = await run(record ? ['--record', recording] : []);
  ratios.push(result[true].cpu / result[false].cpu);
  console.log(`round ${round + 1}: CPU ${result[false].cpu.toFixed(2)} s without, ${result[true].cpu.toFixed(2)} s recording (${(result[true].cpu / result[false].cpu).toFixed(3)}×); ` +
    `wall ${result[false].wall.toFixed(2)} s / ${result[true].wall.toFixed(2)} s`);
}
const sorted = [...ratios].sort((a, b) => a - b);
console.log(`median CPU ratio ${sorted[Math.floor(sorted.length / 2)].toFixed(3)}× (quarters ${sorted[Math.floor(sorted.length / 4)].toFixed(3)}–${sorted[Math.floor(3 * sorted.length / 4)].toFixed(3)}); recording ${(statSync(recording).size / 1048576).toFixed(1)} MiB`);
const replay = spawnSync(process.execPath, ['dist/cli.js', 'run', '--replay', recording], { encoding: 'latin1' });
console.log(`replay: exit ${replay.status}, ${replay.stderr.trim().split('\n').pop()}`);
server.close();
rmSync(folder, { recursive: true, force: true });
