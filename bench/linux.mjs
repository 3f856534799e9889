// Linux 6.1 (built by guests/linux/build.sh) on Ringside and on QEMU 7.2, in the same run:
// boot to /init and to a shell prompt, CPU used while the shell sits idle, disk throughput
// (dd on a virtio disk) and NAT TCP throughput (wget from a host HTTP server through the
// user-mode network). Ratios are Ringside / QEMU wall time for the same work.
//
//   node bench/linux.mjs [--rounds N] [--disk-mib N] [--http-mib N] [--idle-seconds N] [--tiers]
//
// --tiers adds Ringside on the interpreter alone (--tier interpreter) next to the default tier.
//
// The guest is driven through its serial console (busy box shell, `ringside.scenario=shell`),
// exactly as a person would type.

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(process.env.HOME ?? '/root', '.cache/ringside/linux-6.1');
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const CLI = 'dist/cli.js';
const option = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
};
const ROUNDS = option('--rounds', 1);
const DISK_MIB = option('--disk-mib', 32);
const HTTP_MIB = option('--http-mib', 16);
const IDLE_SECONDS = option('--idle-seconds', 10);
const CLOCK_TICKS = 100;

for (const file of ['Image', 'initramfs.cpio']) {
  if (!existsSync(join(CACHE, file))) {
    console.error(`bench/linux: ${join(CACHE, file)} is missing: run bash guests/linux/build.sh`);
    process.exit(2);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

class Vm {
  constructor(command, args) {
    this.started = performance.now();
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.output = '';
    this.child.stdout.on('data', (chunk) => (this.output += chunk.toString('latin1')));
    this.child.stderr.on('data', (chunk) => (this.output += chunk.toString('latin1')));
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
  }

  seconds() {
    return (performance.now() - this.started) / 1000;
  }

  async waitFor(pattern, from = 0, timeoutMs = 600_000) {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const index = this.output.indexOf(pattern, from);
      if (index >= 0) return index + pattern.length;
      if (performance.now() > deadline) throw new Error(`timed out waiting for '${pattern}'; output tail:\n${this.output.slice(-2000)}`);
      await sleep(2);
    }
  }

  /** Types a command and waits for the marker it echoes when done; returns the wall seconds it took. */
  async run(command, marker, timeoutMs = 600_000) {
    const from = this.output.length;
    const started = performance.now();
    this.child.stdin.write(`${command}; echo ${marker}-$((1+1))\r`);
    await this.waitFor(`${marker}-2`, from, timeoutMs);
    return (performance.now() - started) / 1000;
  }

  async stop() {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

function commandLine(emulator, disk, httpPort) {
  const append = 'console=ttyS0 ringside.scenario=shell quiet';
  if (emulator === 'qemu') {
    return ['qemu-system-riscv64', [
      '-M', 'virt', '-m', '256M', '-smp', '1', '-display', 'none', '-monitor', 'none', '-no-reboot',
      '-global', 'virtio-mmio.force-legacy=false', '-bios', FW_JUMP, '-kernel', join(CACHE, 'Image'),
      '-initrd', join(CACHE, 'initramfs.cpio'), '-append', append,
      '-chardev', 'stdio,id=serial0,signal=off', '-serial', 'chardev:serial0',
      '-drive', `file=${disk},format=raw,if=none,id=hd0`, '-device', 'virtio-blk-device,drive=hd0',
      '-netdev', 'user,id=net0', '-device', 'virtio-net-device,netdev=net0',
    ]];
  }
  void httpPort;
  // 'ringside[-builtin][-interpreter]': OpenSBI or the built-in SBI, the default tier or the interpreter alone.
  return [process.execPath, [
    CLI, 'run', '--kernel', join(CACHE, 'Image'), '--bios', emulator.includes('builtin') ? 'builtin' : FW_JUMP,
    '--mem', '256M', '--initrd', join(CACHE, 'initramfs.cpio'), '--append', append,
    '--drive', `file=${disk},format=raw`, '--netdev', 'user',
    '--tier', emulator.endsWith('-interpreter') ? 'interpreter' : 'auto',
  ]];
}

async function measure(emulator, work, httpPort) {
  const disk = join(work, `${emulator}.img`);
  writeFileSync(disk, Buffer.alloc((DISK_MIB + 1) * 1024 * 1024));
  const [command, args] = commandLine(emulator, disk, httpPort);
  const vm = new Vm(command, args);
  try {
    const init = (await vm.waitFor('RINGSIDE-INIT'), vm.seconds());
    const shell = (await vm.waitFor('ringside# '), vm.seconds());
    // Let the boot's last timers fire, then watch the idle shell.
    await sleep(3000);
    const cpuBefore = cpuSeconds(vm.child.pid);
    const wallBefore = performance.now();
    await sleep(IDLE_SECONDS * 1000);
    const idleCpu = (cpuSeconds(vm.child.pid) - cpuBefore) / ((performance.now() - wallBefore) / 1000);
    const diskWrite = await vm.run(`dd if=/dev/zero of=/dev/vda bs=1M count=${DISK_MIB} conv=fsync 2>/dev/null`, 'DDW');
    await vm.run('sync; echo 3 > /proc/sys/vm/drop_caches', 'DROP');
    const diskRead = await vm.run(`dd if=/dev/vda of=/dev/null bs=1M count=${DISK_MIB} 2>/dev/null`, 'DDR');
    await vm.run('udhcpc -q -n -i eth0 -s /etc/udhcpc.script >/dev/null 2>&1', 'DHCP', 60_000);
    const http = await vm.run(`wget -q -O /dev/null http://10.0.2.2:${httpPort}/blob`, 'WGET');
    if (!/WGET-2/.test(vm.output)) throw new Error('wget did not finish');
    return { init, shell, idleCpu, diskWrite, diskRead, http };
  } finally {
    await vm.stop();
  }
}

const blob = Buffer.alloc(HTTP_MIB * 1024 * 1024, 0x5a);
const server = createServer((request, response) => {
  if (request.url !== '/blob') {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-length': blob.length, 'content-type': 'application/octet-stream' });
  response.end(blob);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const httpPort = server.address().port;
const work = mkdtempSync(join(tmpdir(), 'ringside-bench-linux-'));
const emulators = ['ringside', 'ringside-builtin'];
// --tiers: also both Ringside configurations on the interpreter alone, in the same run.
if (process.argv.includes('--tiers')) emulators.push('ringside-interpreter', 'ringside-builtin-interpreter');
const hasQemu = await new Promise((resolve) => spawn('qemu-system-riscv64', ['--version']).on('exit', (code) => resolve(code === 0)).on('error', () => resolve(false)));
if (hasQemu) emulators.push('qemu');
const best = {};
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const emulator of emulators) {
      const result = await measure(emulator, work, httpPort);
      const previous = best[emulator];
      best[emulator] = previous === undefined ? result : Object.fromEntries(Object.keys(result).map((key) => [key, Math.min(previous[key], result[key])]));
    }
  }
} finally {
  server.close();
  rmSync(work, { recursive: true, force: true });
}

const mib = (size, seconds) => `${(size / seconds).toFixed(1)} MiB/s`;
console.log(`node ${process.version}, ${ROUNDS} round(s), best of rounds; disk ${DISK_MIB} MiB, HTTP ${HTTP_MIB} MiB, idle ${IDLE_SECONDS} s`);
console.log('emulator             boot->init  boot->shell  idle CPU  dd write          dd read           NAT HTTP');
for (const emulator of emulators) {
  const r = best[emulator];
  console.log(`${emulator.padEnd(20)} ${r.init.toFixed(2).padStart(8)} s ${r.shell.toFixed(2).padStart(9)} s ${(r.idleCpu * 100).toFixed(1).padStart(6)} %  ` +
    `${mib(DISK_MIB, r.diskWrite).padEnd(16)} ${mib(DISK_MIB, r.diskRead).padEnd(16)} ${mib(HTTP_MIB, r.http)}`);
}
if (best.qemu !== undefined) {
  for (const emulator of emulators.filter((name) => name !== 'qemu')) {
    const r = best[emulator], q = best.qemu;
    console.log(`ratio ${emulator} / qemu (wall time, lower is better): boot->init ${(r.init / q.init).toFixed(2)}, boot->shell ${(r.shell / q.shell).toFixed(2)}, ` +
      `dd write ${(r.diskWrite / q.diskWrite).toFixed(2)}, dd read ${(r.diskRead / q.diskRead).toFixed(2)}, NAT HTTP ${(r.http / q.http).toFixed(2)}; ` +
      `idle CPU ${(r.idleCpu * 100).toFixed(1)} % vs ${(q.idleCpu * 100).toFixed(1)} %`);
  }
}
