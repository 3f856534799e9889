// Linux through `ringside run` with device options a person types: `--pcap` captures what the
// guest's DHCP client and the user-mode NAT said to each other (tshark reads the file), and a
// guest left idle at its shell prompt is woken by keys on stdin.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(homedir(), '.cache/ringside/linux-6.1');
const CLI = 'dist/cli.js';
let scratch = '';

before(() => {
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { encoding: 'utf8' });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);
  scratch = mkdtempSync(join(tmpdir(), 'ringside-linux-devices-'));
});

after(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

test('--netdev user --pcap: the capture holds the guest\'s DHCP exchange and ping, as tshark decodes them', { timeout: 600_000 }, async () => {
  assert.ok(existsSync(join(CACHE, 'Image')), `no Linux guest in ${CACHE}: run bash guests/linux/build.sh`);
  assert.equal(spawnSync('tshark', ['--version']).status, 0, 'tshark is not installed: run bash scripts/install-deps.sh');
  const capture = join(scratch, 'guest.pcap');
  const vm = spawn(process.execPath, [
    CLI, 'run', '--bios', 'builtin', '--kernel', join(CACHE, 'Image'), '--initrd', join(CACHE, 'initramfs.cpio'),
    '--append', 'console=ttyS0 ringside.scenario=shell quiet', '--netdev', 'user', '--pcap', capture, '--timeout', '500',
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  vm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
  vm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
  const exited = new Promise<number | null>((resolve) => vm.on('exit', resolve));
  const waitFor = async (text: string) => {
    const deadline = Date.now() + 400_000;
    while (!output.includes(text)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for '${text}':\n${output.slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    await waitFor('ringside# ');
    // The guest sits idle at its prompt (pacing: no CPU); these keys wake it.
    vm.stdin.write('udhcpc -q -n -i eth0 -s /etc/udhcpc.script && ping -c 2 10.0.2.2 && echo NET-$((40+2))\r');
    await waitFor('NET-42');
    vm.stdin.write('poweroff -f\r');
    assert.equal(await exited, 0, output);
  } finally {
    vm.kill();
  }
  const decoded = spawnSync('tshark', ['-r', capture, '-T', 'fields', '-e', 'dhcp.option.dhcp', '-e', 'icmp.type'], { encoding: 'utf8' });
  assert.equal(decoded.status, 0, decoded.stderr);
  const lines = decoded.stdout.split('\n');
  // DHCP message types: 1 Discover, 2 Offer, 3 Request, 5 ACK; ICMP 8 request, 0 reply.
  for (const [type, what] of [['1', 'Discover'], ['2', 'Offer'], ['3', 'Request'], ['5', 'ACK']]) {
    assert.ok(lines.some((line) => line.split('\t')[0] === type), `DHCP ${what} in the capture:\n${decoded.stdout}`);
  }
  assert.equal(lines.filter((line) => line.split('\t')[1] === '8').length, 2, 'two echo requests');
  assert.equal(lines.filter((line) => line.split('\t')[1] === '0').length, 2, 'two echo replies');
});

test('Ctrl-A n on a terminal pulls the cable: Linux sees eth0 lose its carrier, and get it back', { timeout: 600_000 }, async () => {
  assert.ok(existsSync(join(CACHE, 'Image')), `no Linux guest in ${CACHE}: run bash guests/linux/build.sh`);
  // util-linux `script` gives the CLI a pseudo-terminal, so the Ctrl-A escape is live.
  const command = `node ${CLI} run --bios builtin --kernel ${join(CACHE, 'Image')} --initrd ${join(CACHE, 'initramfs.cpio')} ` +
    `--append 'console=ttyS0 ringside.scenario=shell quiet' --netdev user --timeout 500; echo EXIT=$?`;
  const vm = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  vm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
  const exited = new Promise<number | null>((resolve) => vm.on('exit', resolve));
  const waitFor = async (pattern: RegExp, from = 0) => {
    const deadline = Date.now() + 400_000;
    while (!pattern.test(output.slice(from))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${output.slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const carrier = async (): Promise<string> => {
    const from = output.length;
    vm.stdin.write('echo CARRIER=$(cat /sys/class/net/eth0/carrier)\r');
    await waitFor(/CARRIER=([01])\r*\n/, from);
    return /CARRIER=([01])\r*\n/.exec(output.slice(from))![1];
  };
  try {
    await waitFor(/ringside# /);
    vm.stdin.write('ip link set eth0 up\r');
    assert.equal(await carrier(), '1');
    let from = output.length;
    vm.stdin.write('\x01n');
    await waitFor(/network cable pulled out/, from);
    assert.equal(await carrier(), '0');
    from = output.length;
    vm.stdin.write('\x01n');
    await waitFor(/network cable plugged in/, from);
    assert.equal(await carrier(), '1');
    vm.stdin.write('\x01x');
    await waitFor(/EXIT=3/);
  } finally {
    vm.stdin.end();
    vm.kill();
    await exited;
  }
});
