#!/usr/bin/env node
// Runs one Linux guest scenario on QEMU 7.2 (the reference) or on Ringside, with the same
// virtio devices in the same slots, and checks it:
//
//   node guests/linux/run-scenario.mjs --emulator qemu|ringside --scenario NAME
//        [--smp N] [--bios opensbi|builtin] [--transport modern|legacy] [--timeout SECONDS]
//        [--ringside PATH/TO/cli.js] [--verbose] [--keep] [--log-dir DIR] [--icount]
//   (--transport legacy: virtio-mmio version 1, QEMU 7.2's default; --icount: one instruction = 1 ns)
//   node guests/linux/run-scenario.mjs --list
//   node guests/linux/run-scenario.mjs --emulator qemu|ringside --scenario all   (every one, a summary)
//
// The kernel, initramfs and disk template come from guests/linux/build.sh's cache
// (${RINGSIDE_LINUX_DIR:-~/.cache/ringside/linux-6.1}). Helper servers (HTTP, forwarded
// connections) listen on 127.0.0.1 only. Prints one result line and exits 0 on success, 1 on
// a failed check, 2 on bad usage or missing prerequisites.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, truncateSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
export const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(homedir(), '.cache/ringside/linux-6.1');
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const MEM = '128M';
const MiB = 1024 * 1024;

class CheckFailure extends Error {}
class UsageError extends Error {}

// ---------------------------------------------------------------- emulator-neutral VM spec
// { name, kernel, initrd?, append?, smp, console: 'serial' | 'hvc', pty: boolean,
//   devices: [{ kind: 'blk', file } | { kind: 'net', backend: 'user', hostfwd?: [{ hostPort, guestPort }] }
//             | { kind: 'net', backend: 'stream', server: boolean, port } | { kind: 'rng' } | { kind: 'console' }] }
// Devices take virtio-mmio slots in list order from the top (the first at 0x10008000, IRQ 8)
// on both emulators.

function qemuCommand(vm, opts, work) {
  const args = ['-M', 'virt', '-m', MEM, '-smp', String(vm.smp), '-display', 'none', '-monitor', 'none', '-no-reboot'];
  if (opts.transport === 'modern') args.push('-global', 'virtio-mmio.force-legacy=false');
  if (opts.icount) args.push('-icount', 'shift=0');
  if (opts.bios !== 'opensbi') throw new UsageError('QEMU has no built-in SBI: use --bios opensbi with --emulator qemu');
  args.push('-bios', FW_JUMP, '-kernel', vm.kernel);
  if (vm.initrd) args.push('-initrd', vm.initrd);
  if (vm.append) args.push('-append', vm.append);
  if (vm.console === 'hvc') args.push('-serial', `file:${join(work, `${vm.name}.serial.log`)}`);
  else args.push('-chardev', 'stdio,id=serial0,signal=off', '-serial', 'chardev:serial0');
  vm.devices.forEach((d, i) => {
    switch (d.kind) {
      case 'blk':
        args.push('-drive', `file=${d.file},format=raw,if=none,id=hd${i}`, '-device', `virtio-blk-device,drive=hd${i}`);
        break;
      case 'net': {
        let netdev;
        if (d.backend === 'user') {
          netdev = `user,id=net${i}` + (d.hostfwd ?? []).map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`).join('');
        } else {
          netdev = `stream,id=net${i},server=${d.server ? 'on' : 'off'},addr.type=inet,addr.host=127.0.0.1,addr.port=${d.port}`;
        }
        args.push('-netdev', netdev, '-device', `virtio-net-device,netdev=net${i}`);
        break;
      }
      case 'rng':
        args.push('-object', `rng-random,filename=/dev/urandom,id=rng${i}`, '-device', `virtio-rng-device,rng=rng${i}`);
        break;
      case 'console':
        args.push('-chardev', `stdio,id=con${i},signal=off`, '-device', 'virtio-serial-device', '-device', `virtconsole,chardev=con${i}`);
        break;
      default: throw new Error(`unknown device ${d.kind}`);
    }
  });
  return ['qemu-system-riscv64', args];
}

function ringsideCommand(vm, opts, work) {
  const args = [opts.ringside, 'run', '--kernel', vm.kernel, '--bios', opts.bios === 'builtin' ? 'builtin' : FW_JUMP,
    '--mem', MEM, '--smp', String(vm.smp), '--timeout', String(opts.timeout)];
  if (opts.transport === 'legacy') args.push('--global', 'virtio-mmio.force-legacy=on');
  if (opts.icount) args.push('--icount', 'shift=0');
  if (vm.initrd) args.push('--initrd', vm.initrd);
  if (vm.append) args.push('--append', vm.append);
  // Ringside's virtio console shares the --serial backend with the 16550 (its output joins
  // the console output; typed input goes to hvc0 once its driver is up), so stdout carries
  // both; the guest checks that hvc0 is its console.
  args.push('--serial', 'stdio');
  for (const d of vm.devices) {
    switch (d.kind) {
      case 'blk': args.push('--drive', `file=${d.file},format=raw`); break;
      case 'net':
        if (d.backend === 'user') {
          args.push('--netdev', 'user' + (d.hostfwd ?? []).map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`).join(''));
        } else {
          args.push('--netdev', `stream,server=${d.server ? 'on' : 'off'},addr.type=inet,addr.host=127.0.0.1,addr.port=${d.port}`);
        }
        break;
      case 'rng': args.push('--device', 'virtio-rng'); break;
      case 'console': args.push('--device', 'virtio-console'); break;
      default: throw new Error(`unknown device ${d.kind}`);
    }
  }
  return [process.execPath, args];
}

// ---------------------------------------------------------------- a running VM
const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

class RunningVm {
  constructor(vm, command, args, opts, work) {
    this.name = vm.name;
    this.output = '';
    this.started = performance.now();
    this.marks = {};
    this.waiters = [];
    this.logFile = join(work, `${vm.name}.log`);
    this.verbose = opts.verbose;
    // A pseudo-terminal through util-linux `script` when the scenario types at a shell.
    const [cmd, argv] = vm.pty ? ['script', ['-qfec', [command, ...args].map(shellQuote).join(' '), '/dev/null']] : [command, args];
    this.commandLine = [command, ...args].map(shellQuote).join(' ');
    this.child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.exit = new Promise((resolve) => {
      this.child.on('error', (e) => { this.spawnError = e; resolve(null); });
      this.child.on('close', (code, signal) => { this.exitedAt = performance.now(); resolve(code ?? `signal ${signal}`); this.poke(); });
    });
    const take = (chunk) => {
      const text = chunk.toString('latin1');
      this.output += text;
      if (this.verbose) process.stderr.write(text.replace(/^/gm, `[${this.name}] `));
      this.poke();
    };
    this.child.stdout.on('data', take);
    this.child.stderr.on('data', take);
    this.child.stdin.on('error', () => {});
  }

  seconds(at = performance.now()) { return (at - this.started) / 1000; }

  poke() {
    for (const w of [...this.waiters]) w();
  }

  // Resolves with the match once `pattern` appears after `from` (an output offset).
  waitFor(pattern, timeoutMs, from = 0) {
    return new Promise((resolveWait, rejectWait) => {
      const check = () => {
        const rest = this.output.slice(from);
        const m = typeof pattern === 'string' ? (rest.includes(pattern) ? [pattern] : null) : rest.match(pattern);
        if (m) {
          finish();
          resolveWait({ match: m, end: from + (m.index ?? rest.indexOf(pattern)) + m[0].length });
        } else if (this.exitedAt !== undefined) {
          finish();
          rejectWait(new CheckFailure(`${this.name} exited before printing ${pattern}`));
        }
      };
      const timer = setTimeout(() => { finish(); rejectWait(new CheckFailure(`${this.name}: no ${pattern} within ${timeoutMs / 1000} s`)); }, timeoutMs);
      const finish = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      this.waiters.push(check);
      check();
    });
  }

  send(text) { this.child.stdin.write(text); }

  kill() {
    if (this.exitedAt === undefined && this.child.pid) {
      try { process.kill(-this.child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }

  saveLog() { writeFileSync(this.logFile, `$ ${this.commandLine}\n${this.output}`); }
}

// ---------------------------------------------------------------- helpers for scenarios
function freePort() {
  return new Promise((resolvePort, rejectPort) => {
    const s = createTcpServer();
    s.on('error', rejectPort);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolvePort(port)); });
  });
}

const md5 = (bytes) => createHash('md5').update(bytes).digest('hex');

// Deterministic bytes the HTTP server sends (xorshift32)
function blobBytes(size) {
  const out = Buffer.alloc(size);
  let x = 0x52494e47;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function startHttpServer(token, blob) {
  return new Promise((resolveServer) => {
    const requests = [];
    const server = createServer((req, res) => {
      requests.push(req.url);
      if (req.url === '/hello') res.end(`hello ${token}\n`);
      else if (req.url === '/blob') { res.setHeader('content-length', blob.length); res.end(blob); }
      else { res.statusCode = 404; res.end('not found\n'); }
    });
    server.listen(0, '127.0.0.1', () => resolveServer({ server, port: server.address().port, requests }));
  });
}

function tcpExchange(port, request, timeoutMs) {
  return new Promise((resolveExchange, rejectExchange) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const timer = setTimeout(() => { socket.destroy(); rejectExchange(new CheckFailure(`no reply through 127.0.0.1:${port} within ${timeoutMs / 1000} s`)); }, timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (d) => { reply += d.toString('latin1'); });
    socket.on('end', () => socket.end());
    socket.on('close', () => { clearTimeout(timer); resolveExchange(reply); });
    socket.on('error', (e) => { clearTimeout(timer); rejectExchange(new CheckFailure(`127.0.0.1:${port}: ${e.message}`)); });
  });
}

function tool(name) {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new UsageError(`${name} is not installed: run bash scripts/install-deps.sh`);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'latin1', maxBuffer: 64 * MiB });
  return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? ''), stdout: r.stdout ?? '' };
}

// The disk template's pattern.bin as build.sh writes it: "%06x-ringside\n", 4096 lines = 64 KiB
function templatePattern() {
  let s = '';
  for (let i = 0; i < 4096; i++) s += `${(i * 16).toString(16).padStart(6, '0')}-ringside\n`;
  return Buffer.from(s, 'latin1');
}

// The raw-sector pattern disk.sh writes: "%010d-disk\n", 4096 lines = 64 KiB
function rawPattern() {
  let s = '';
  for (let i = 0; i < 4096; i++) s += `${String(i).padStart(10, '0')}-disk\n`;
  return Buffer.from(s, 'latin1');
}

function seqText(n) {
  let s = '';
  for (let i = 1; i <= n; i++) s += `${i}\n`;
  return s;
}

function debugfsCat(image, path) {
  const r = spawnSync('debugfs', ['-R', `cat ${path}`, image], { encoding: 'latin1', maxBuffer: 64 * MiB });
  return r.stdout ?? '';
}

function expectEqual(what, got, want) {
  if (got !== want) throw new CheckFailure(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

// ---------------------------------------------------------------- scenarios
const linuxVm = (ctx, name, append, devices = [], extra = {}) => ({
  name,
  kernel: join(CACHE, 'Image'),
  initrd: join(CACHE, 'initramfs.cpio'),
  append: `${extra.console === 'hvc' ? 'console=hvc0' : 'console=ttyS0'} earlycon=sbi ${append}`,
  smp: ctx.smp,
  console: extra.console ?? 'serial',
  pty: extra.pty ?? false,
  devices,
});

// Waits for the scenario's marker; a FAIL marker or an early exit is a failed check.
async function expectMarker(vm, scenario, timeoutMs) {
  const { match } = await vm.waitFor(new RegExp(`SCENARIO ${scenario} (OK|FAIL: [^\\r\\n]*)\\r?\\n`), timeoutMs);
  if (match[1] !== 'OK') throw new CheckFailure(`${vm.name}: ${match[0].trim()}`);
  vm.marks.marker = vm.seconds();
}

async function expectExit(vm, code, timeoutMs) {
  const timer = setTimeout(() => vm.kill(), timeoutMs);
  const got = await vm.exit;
  clearTimeout(timer);
  if (vm.spawnError) throw new UsageError(`cannot start ${vm.name}: ${vm.spawnError.message}`);
  if (got !== code) throw new CheckFailure(`${vm.name} exited with ${got}, want ${code}`);
}

export const SCENARIOS = {
  boot: {
    description: 'boot to /init, check CPUs, ISA, memory and the clock, power off (exit 0)',
    async run(ctx) {
      const vm = ctx.start(linuxVm(ctx, 'vm', `ringside.scenario=boot ringside.cpus=${ctx.smp}`));
      await expectMarker(vm, 'boot', ctx.timeoutMs);
      await expectExit(vm, 0, ctx.exitMs);
    },
  },
  exitcode: {
    description: 'the guest ends the machine through the test finisher with exit code 7',
    async run(ctx) {
      const vm = ctx.start(linuxVm(ctx, 'vm', 'ringside.scenario=exitcode ringside.code=7'));
      await expectMarker(vm, 'exitcode', ctx.timeoutMs);
      await expectExit(vm, 7, ctx.exitMs);
    },
  },
  disk: {
    description: 'two virtio-blk disks: ext2 template mounted, written, remounted; raw sectors; mkfs.ext2; host checks both images',
    async run(ctx) {
      tool('debugfs'); tool('e2fsck');
      const template = join(CACHE, 'disk.ext2');
      const vda = join(ctx.work, 'vda.img'), vdb = join(ctx.work, 'vdb.img');
      copyFileSync(template, vda);
      closeSync(openSync(vdb, 'w')); truncateSync(vdb, 8 * MiB);
      const token = ctx.token;
      const vm = ctx.start(linuxVm(ctx, 'vm', `ringside.scenario=disk ringside.token=${token} ringside.patternmd5=${md5(templatePattern())}`,
        [{ kind: 'blk', file: vda }, { kind: 'blk', file: vdb }]));
      await expectMarker(vm, 'disk', ctx.timeoutMs);
      await expectExit(vm, 0, ctx.exitMs);
      // The host's view of both images
      for (const image of [vda, vdb]) {
        const fsck = run('e2fsck', ['-fn', image]);
        if (fsck.status !== 0) throw new CheckFailure(`e2fsck -fn ${image} exited ${fsck.status}:\n${fsck.out}`);
      }
      expectEqual('vda /token.txt (debugfs)', debugfsCat(vda, '/token.txt'), `token ${token}\n`);
      expectEqual('vda /written.txt md5 (debugfs)', md5(Buffer.from(debugfsCat(vda, '/written.txt'), 'latin1')), md5(seqText(20000)));
      expectEqual('vda /hello.txt (debugfs)', debugfsCat(vda, '/hello.txt'), 'hello from the ringside disk template\n');
      expectEqual('vdb /made.txt (debugfs)', debugfsCat(vdb, '/made.txt'), `mkfs ${token}\n`);
      const raw = readFileSync(vdb);
      expectEqual('vdb raw sectors at 6 MiB', md5(raw.subarray(6 * MiB, 6 * MiB + 65536)), md5(rawPattern()));
      const last = Buffer.alloc(512); last.write(`last-sector-${token}\n`, 'latin1');
      expectEqual('vdb last sector', md5(raw.subarray(8 * MiB - 512)), md5(last));
      expectEqual('vda size', readFileSync(vda).length, 8 * MiB);
      ctx.notes.push('host: e2fsck clean, files and raw sectors as written');
    },
  },
  net: {
    description: 'virtio-net on user-mode NAT: DHCP, ping the gateway, HTTP from a host server, a forwarded host connection',
    async run(ctx) {
      const token = ctx.token;
      const blob = blobBytes(262144);
      const http = await startHttpServer(token, blob);
      ctx.cleanups.push(() => http.server.close());
      const hostPort = await freePort();
      const vm = ctx.start(linuxVm(ctx, 'vm',
        `ringside.scenario=net ringside.token=${token} ringside.port=${http.port} ringside.blobmd5=${md5(blob)} ringside.blobsize=${blob.length} ringside.listen=1`,
        [{ kind: 'net', backend: 'user', hostfwd: [{ hostPort, guestPort: 7777 }] }]));
      await vm.waitFor('LISTENING 7777', ctx.timeoutMs);
      const reply = await tcpExchange(hostPort, `request-from-host ${token}\n`, 60_000);
      expectEqual(`reply through 127.0.0.1:${hostPort}`, reply, `reply-from-guest ${token}\n`);
      await expectMarker(vm, 'net', ctx.timeoutMs);
      await expectExit(vm, 0, ctx.exitMs);
      expectEqual('HTTP requests the host served', http.requests.join(' '), '/hello /blob');
    },
  },
  pair: {
    description: 'two VMs on a stream socket (a listens on 127.0.0.1, b connects), static IPs, ping both ways, TCP message',
    async run(ctx) {
      const port = await freePort();
      const a = ctx.start(linuxVm(ctx, 'a', 'ringside.scenario=pair ringside.role=a',
        [{ kind: 'net', backend: 'stream', server: true, port }]));
      // The server socket exists before the guest runs: any output means it listens.
      await a.waitFor(/\S/, 30_000);
      await new Promise((r) => setTimeout(r, 200));
      const b = ctx.start(linuxVm(ctx, 'b', 'ringside.scenario=pair ringside.role=b',
        [{ kind: 'net', backend: 'stream', server: false, port }]));
      await Promise.all([expectMarker(a, 'pair', ctx.timeoutMs), expectMarker(b, 'pair', ctx.timeoutMs)]);
      await Promise.all([expectExit(a, 0, ctx.exitMs), expectExit(b, 0, ctx.exitMs)]);
    },
  },
  rng: {
    description: 'virtio-rng is the current hwrng; /dev/hwrng gives 64 fresh bytes',
    async run(ctx) {
      const vm = ctx.start(linuxVm(ctx, 'vm', 'ringside.scenario=rng', [{ kind: 'rng' }]));
      await expectMarker(vm, 'rng', ctx.timeoutMs);
      await expectExit(vm, 0, ctx.exitMs);
    },
  },
  console: {
    description: 'console=hvc0 on virtio-console: kernel and /init output on hvc0, a line typed into hvc0 read back',
    async run(ctx) {
      const token = ctx.token;
      const vm = ctx.start(linuxVm(ctx, 'vm', `ringside.scenario=console ringside.token=${token}`, [{ kind: 'console' }], { console: 'hvc' }));
      const ready = await vm.waitFor('HVC READY', ctx.timeoutMs);
      vm.send(`hvc-input-${token}\n`);
      await vm.waitFor(`HVC GOT hvc-input-${token}`, 60_000, ready.end);
      await expectMarker(vm, 'console', ctx.timeoutMs);
      await expectExit(vm, 0, ctx.exitMs);
      if (!vm.output.includes('Run /init as init process')) throw new CheckFailure('the kernel log is not on hvc0');
      if (ctx.emulator === 'qemu') {
        // QEMU keeps the two apart: the 16550 went to a file
        const serial = readFileSync(join(ctx.work, 'vm.serial.log'), 'latin1');
        if (serial.includes('RINGSIDE-INIT')) throw new CheckFailure("/init's output went to the 16550 too");
      }
    },
  },
  shell: {
    description: 'busybox sh on ttyS0 through a pseudo-terminal: typed commands run, Ctrl-C interrupts sleep 100',
    async run(ctx) {
      tool('script');
      const vm = ctx.start(linuxVm(ctx, 'vm', 'ringside.scenario=shell', [], { pty: true }));
      let at = (await vm.waitFor('ringside# ', ctx.timeoutMs)).end;
      vm.marks.prompt = vm.seconds();
      vm.send('echo $((6*7))\r');
      at = (await vm.waitFor(/\n42\r*\n/, 60_000, at)).end;
      at = (await vm.waitFor('ringside# ', 60_000, at)).end;
      vm.send('sleep 100\r');
      await new Promise((r) => setTimeout(r, ctx.emulator === 'qemu' ? 1000 : 5000));
      const sent = performance.now();
      vm.send('\x03');
      at = (await vm.waitFor('ringside# ', 60_000, at)).end;
      const interruptSeconds = (performance.now() - sent) / 1000;
      vm.send('echo "rc=$?"\r');
      const status = await vm.waitFor(/rc=(\d+)\r*\n/, 60_000, at);
      at = status.end;
      const rc = status.match[1];
      expectEqual('exit status of the interrupted sleep', rc, '130');
      ctx.notes.push(`Ctrl-C -> prompt in ${interruptSeconds.toFixed(2)} s`);
      vm.send('poweroff -f\r');
      await expectExit(vm, 0, ctx.exitMs);
      vm.marks.marker = vm.seconds();
    },
  },
  smp: {
    description: 'N harts online, a parallel workload pinned one job per CPU, CPU hotplug (SBI HSM stop/start), IPIs',
    defaultSmp: 2,
    async run(ctx) {
      const vm = ctx.start(linuxVm(ctx, 'vm', `ringside.scenario=smp ringside.cpus=${ctx.smp}`));
      await expectMarker(vm, 'smp', ctx.timeoutMs);
      await expectExit(vm, 0, ctx.exitMs);
    },
  },
  uboot: {
    description: "U-Boot (Debian's qemu-riscv64_smode) as the OpenSBI payload: stop autoboot through a pty, virtio scan, read the ext2 disk",
    async run(ctx) {
      tool('script');
      if (!existsSync(UBOOT)) throw new UsageError(`${UBOOT} is missing: run bash scripts/install-deps.sh (u-boot-qemu)`);
      const disk = join(ctx.work, 'disk.img');
      copyFileSync(join(CACHE, 'disk.ext2'), disk);
      const vm = ctx.start({ name: 'vm', kernel: UBOOT, smp: ctx.smp, console: 'serial', pty: true, devices: [{ kind: 'blk', file: disk }] });
      let at = (await vm.waitFor('Hit any key to stop autoboot', ctx.timeoutMs)).end;
      vm.send(' ');
      at = (await vm.waitFor('=> ', 30_000, at)).end;
      vm.marks.prompt = vm.seconds();
      const command = async (line, expect) => {
        vm.send(`${line}\r`);
        const echoed = (await vm.waitFor(line, 30_000, at)).end;
        const done = (await vm.waitFor('=> ', 120_000, echoed)).end;
        const out = vm.output.slice(echoed, done);
        at = done;
        for (const e of expect) if (!(typeof e === 'string' ? out.includes(e) : e.test(out))) throw new CheckFailure(`U-Boot '${line}' printed ${JSON.stringify(out)}, want ${e}`);
        return out;
      };
      await command('virtio scan', []);
      await command('virtio info', [/Device 0: .*Block Device/i]);
      await command('ls virtio 0 /', ['hello.txt', 'pattern.bin', /<DIR>\s+1024 dir/]);
      await command('load virtio 0 0x84000000 /hello.txt', ['38 bytes read']);
      await command('md.b 0x84000000 0x10', ['68 65 6c 6c 6f 20 66 72 6f 6d']);
      // raw read: the ext2 superblock (sector 2), magic 0xef53 at byte 56
      await command('virtio read 0x84100000 2 1', ['1 blocks read: OK']);
      await command('md.w 0x84100038 1', ['ef53']);
      vm.send('poweroff\r');
      await expectExit(vm, 0, ctx.exitMs);
      vm.marks.marker = vm.seconds();
    },
  },
};

// ---------------------------------------------------------------- main
function parseArgs(argv) {
  const opts = { emulator: 'qemu', bios: 'opensbi', transport: 'modern', verbose: false, keep: false, icount: false,
    ringside: join(REPO, 'dist/cli.js') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => { if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`); return argv[++i]; };
    switch (a) {
      case '--emulator': opts.emulator = value(); break;
      case '--scenario': opts.scenario = value(); break;
      case '--smp': opts.smp = Number(value()); break;
      case '--bios': opts.bios = value(); break;
      case '--transport': opts.transport = value(); break;
      case '--timeout': opts.timeout = Number(value()); break;
      case '--ringside': opts.ringside = resolve(value()); break;
      case '--verbose': opts.verbose = true; break;
      case '--keep': opts.keep = true; break;
      case '--log-dir': opts.logDir = resolve(value()); break;
      case '--icount': opts.icount = true; break;
      case '--list': opts.list = true; break;
      case '--help': case '-h': opts.help = true; break;
      default: throw new UsageError(`unknown argument ${a}`);
    }
  }
  if (opts.help || opts.list) return opts;
  if (!['qemu', 'ringside'].includes(opts.emulator)) throw new UsageError(`--emulator must be qemu or ringside, not ${opts.emulator}`);
  if (!opts.scenario) throw new UsageError('--scenario NAME is required (--list shows them)');
  if (opts.scenario !== 'all' && !SCENARIOS[opts.scenario]) throw new UsageError(`unknown scenario ${opts.scenario} (have: ${Object.keys(SCENARIOS).join(', ')}, or all)`);
  if (!['opensbi', 'builtin'].includes(opts.bios)) throw new UsageError(`--bios must be opensbi or builtin, not ${opts.bios}`);
  if (!['modern', 'legacy'].includes(opts.transport)) throw new UsageError(`--transport must be modern or legacy, not ${opts.transport}`);
  if (opts.emulator === 'qemu' && opts.bios === 'builtin') throw new UsageError('QEMU has no built-in SBI: use --bios opensbi with --emulator qemu');
  if (opts.smp !== undefined && (!Number.isInteger(opts.smp) || opts.smp < 1 || opts.smp > 8)) throw new UsageError('--smp must be 1..8');
  if (opts.scenario !== 'all') opts.smp ??= SCENARIOS[opts.scenario].defaultSmp ?? 1;
  opts.timeout ??= opts.emulator === 'qemu' ? 120 : 1800;
  if (!(opts.timeout > 0)) throw new UsageError('--timeout must be a positive number of seconds');
  return opts;
}

function checkPrerequisites(opts) {
  const needed = opts.scenario === 'uboot' ? ['disk.ext2'] : ['Image', 'initramfs.cpio', 'disk.ext2'];
  const missing = needed.filter((f) => !existsSync(join(CACHE, f)));
  if (missing.length) throw new UsageError(`no ${missing.join(', ')} in ${CACHE}: run bash guests/linux/build.sh`);
  if (!existsSync(FW_JUMP) && opts.bios === 'opensbi') throw new UsageError(`${FW_JUMP} is missing: run bash scripts/install-deps.sh (opensbi)`);
  if (opts.emulator === 'qemu') tool('qemu-system-riscv64');
  if (opts.emulator === 'ringside' && !existsSync(opts.ringside)) throw new UsageError(`${opts.ringside} is missing: run npm run build`);
}

export async function runScenario(opts) {
  checkPrerequisites(opts);
  const work = mkdtempSync(join(tmpdir(), `ringside-linux-${opts.scenario}-`));
  const vms = [];
  const ctx = {
    emulator: opts.emulator, smp: opts.smp, work, notes: [], cleanups: [],
    token: randomBytes(4).toString('hex'),
    timeoutMs: opts.timeout * 1000,
    exitMs: opts.emulator === 'qemu' ? 30_000 : 300_000,
    start(vm) {
      const [command, args] = opts.emulator === 'qemu' ? qemuCommand(vm, opts, work) : ringsideCommand(vm, opts, work);
      const running = new RunningVm(vm, command, args, opts, work);
      running.waitFor(/\[ *([\d.]+)\] Run \/init as init process/, opts.timeout * 1000).then(({ match }) => {
        running.marks.init = running.seconds(); running.marks.guestClock = Number(match[1]);
      }, () => {});
      vms.push(running);
      return running;
    },
  };
  const started = performance.now();
  let error;
  const overall = setTimeout(() => { for (const vm of vms) vm.kill(); }, opts.timeout * 1000 + 60_000);
  try {
    await SCENARIOS[opts.scenario].run(ctx);
  } catch (e) {
    error = e;
  } finally {
    clearTimeout(overall);
    for (const vm of vms) vm.kill();
    await Promise.all(vms.map((vm) => vm.exit));
    for (const c of ctx.cleanups) c();
    for (const vm of vms) vm.saveLog();
    if (opts.logDir) {
      mkdirSync(opts.logDir, { recursive: true });
      for (const vm of vms) copyFileSync(vm.logFile, join(opts.logDir, `${opts.scenario}-${vm.name}.log`));
    }
  }
  const wall = (performance.now() - started) / 1000;
  const timing = vms.map((vm) => {
    const m = vm.marks;
    const parts = [];
    if (m.init !== undefined) parts.push(`init=${m.init.toFixed(2)}s`);
    if (m.guestClock !== undefined) parts.push(`guest-clock-at-init=${m.guestClock.toFixed(4)}s`);
    if (m.prompt !== undefined) parts.push(`prompt=${m.prompt.toFixed(2)}s`);
    if (m.marker !== undefined) parts.push(`done=${m.marker.toFixed(2)}s`);
    if (vm.exitedAt !== undefined) parts.push(`exit=${vm.seconds(vm.exitedAt).toFixed(2)}s`);
    return (vms.length > 1 ? `${vm.name}:` : '') + parts.join(' ');
  }).join(' ');
  const result = {
    ok: !error, scenario: opts.scenario, emulator: opts.emulator, smp: opts.smp, bios: opts.bios,
    transport: opts.transport, wall, timing, notes: ctx.notes,
    error: error ? error.message : undefined, usage: error instanceof UsageError, work,
    logs: vms.map((vm) => vm.logFile),
  };
  if (!error && !opts.keep) rmSync(work, { recursive: true, force: true });
  return result;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`run-scenario: ${e.message}`);
    process.exit(2);
  }
  if (opts.help) {
    const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
    console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    return;
  }
  if (opts.list) {
    for (const [name, s] of Object.entries(SCENARIOS)) console.log(`${name.padEnd(9)} ${s.description}`);
    return;
  }
  if (opts.scenario === 'all') {
    // every scenario in turn (smp with 2 and 4 harts), one result line each
    let failed = 0;
    const variants = Object.keys(SCENARIOS).flatMap((name) => (name === 'smp' ? [[name, 2], [name, 4]] : [[name, opts.smp ?? 1]]));
    for (const [scenario, smp] of variants) {
      const r = await runScenario({ ...opts, scenario, smp });
      report(r);
      if (!r.ok) failed++;
    }
    console.log(`${variants.length - failed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  }
  const r = await runScenario(opts);
  report(r);
  process.exit(r.ok ? 0 : r.usage ? 2 : 1);
}

function report(r) {
  const what = `${r.scenario} on ${r.emulator} smp=${r.smp} bios=${r.bios} transport=${r.transport}`;
  if (r.ok) {
    console.log(`PASS ${what} wall=${r.wall.toFixed(2)}s ${r.timing}${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`);
    return;
  }
  console.log(`FAIL ${what} wall=${r.wall.toFixed(2)}s ${r.timing}: ${r.error}`);
  if (!r.usage) {
    console.log(`logs: ${r.logs.join(' ')}`);
    for (const log of r.logs) {
      if (!existsSync(log)) continue;
      const text = readFileSync(log, 'latin1');
      console.log(`--- last lines of ${log}\n${text.split('\n').slice(-25).join('\n')}`);
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
