// The guest console as a person uses it: keys typed on a real terminal (a pseudo-terminal
// made by util-linux `script`, the way a terminal emulator makes one), piped stdin, a file,
// TCP and Unix sockets; plus idle pacing (a guest's sleep takes wall time) and --icount.
// The guest is guests/bin/console.elf: it sleeps in wfi until a key or its timer, echoes and
// runs one-line commands (add, sleep, time, exit).

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

const CLI = 'dist/cli.js';
const GUEST = 'guests/bin/console.elf';
let scratch = '';

before(() => {
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-needed'], { encoding: 'utf8' });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);
  scratch = mkdtempSync(join(tmpdir(), 'ringside-console-'));
  const script = spawnSync('script', ['--version'], { encoding: 'utf8' });
  assert.equal(script.status, 0, 'util-linux `script` is needed to make a pseudo-terminal');
});

after(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A running process whose output is collected; waitFor resolves when the output matches. */
class Running {
  output = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private watchers: Array<() => void> = [];

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => this.add(chunk.toString('latin1')));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('latin1');
      this.poke();
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  private add(text: string): void {
    this.output += text;
    this.poke();
  }

  private poke(): void {
    for (const watcher of this.watchers.splice(0)) watcher();
  }

  async waitFor(pattern: RegExp | string, timeoutMs = 20_000, from: 'stdout' | 'stderr' = 'stdout'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const matches = () => {
      const text = from === 'stdout' ? this.output : this.stderr;
      return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
    };
    while (!matches()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern}; ${from} so far:\n${from === 'stdout' ? this.output : this.stderr}`);
      await Promise.race([new Promise<void>((resolve) => this.watchers.push(resolve)), sleep(Math.min(left, 200))]);
    }
  }

  type(text: string): void {
    this.child.stdin?.write(text);
  }
}

/** The CLI on a pseudo-terminal: `script` gives it a terminal and forwards our writes as keystrokes. */
function onTerminal(cliArgs: string, after = ''): Running {
  const command = `node ${CLI} run ${cliArgs}; echo "EXIT=$?"; ${after}`;
  return new Running(spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] }));
}

function onPipes(args: readonly string[]): Running {
  return new Running(spawn(process.execPath, [CLI, 'run', ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
}

describe('console on a terminal (raw mode, like QEMU -nographic)', () => {
  test('typed keys reach the guest, Ctrl-C goes to the guest, Ctrl-A h and Ctrl-A x act on the host, the terminal is restored', async () => {
    const run = onTerminal(`--kernel ${GUEST}`, 'stty -a');
    try {
      await run.waitFor('> ');
      run.type('add 2 40\r');
      await run.waitFor('= 42');
      // Ctrl-C is a byte for the guest, not a signal for Ringside.
      run.type('add 1');
      run.type('\x03');
      await run.waitFor('^C');
      run.type('\x01h');
      await run.waitFor('Ctrl-A x    quit Ringside');
      // Ctrl-A Ctrl-A sends one Ctrl-A: the guest ignores it, and the line still works.
      run.type('add 3\x01\x01 4\r');
      await run.waitFor('= 7');
      run.type('\x01x');
      await run.waitFor('EXIT=3');
      await run.waitFor(/icanon/);
      // After Ringside, the shell's terminal is cooked again: line editing and echo are on.
      assert.match(run.output, /(^|\s)icanon(\s|$)/m);
      assert.match(run.output, /(^|\s)echo(\s|$)/m);
      assert.match(run.output, /(^|\s)isig(\s|$)/m);
    } finally {
      run.child.stdin?.end();
      run.child.kill();
    }
  });

  test('a guest sleep takes wall time (idle pacing) and input wakes a waiting guest at once', async () => {
    const run = onTerminal(`--kernel ${GUEST}`);
    try {
      await run.waitFor('> ');
      const started = Date.now();
      run.type('sleep 1000\r');
      await run.waitFor('slept 1000 ms');
      assert.ok(Date.now() - started >= 950, `sleep 1000 took ${Date.now() - started} ms of wall time`);
      // A key during a long sleep is taken as it arrives: Ctrl-C ends the sleep early.
      run.type('sleep 60000\r');
      await sleep(300);
      run.type('\x03');
      await run.waitFor(/interrupted after [0-9]+ ms/);
      const slept = Number(/interrupted after ([0-9]+) ms/.exec(run.output)![1]);
      assert.ok(slept >= 200 && slept < 30_000, `the guest saw ${slept} ms pass before the key`);
      run.type('exit 5\r');
      await run.waitFor('EXIT=5');
    } finally {
      run.child.stdin?.end();
      run.child.kill();
    }
  });
});

describe('console on pipes and files', () => {
  test('piped stdin works and EOF on it is not an error', async () => {
    const run = onPipes(['--kernel', GUEST]);
    run.type('add 20 22\rtime\rexit 9\r');
    run.child.stdin?.end();
    const code = await run.exited;
    assert.equal(code, 9, run.stderr);
    assert.match(run.output, /= 42/);
    assert.match(run.output, /mtime [0-9]+/);
  });

  test('stdin that ends while the guest waits for input with no timer is a deadlock, reported as an emulator error', async () => {
    const run = onPipes(['--kernel', GUEST]);
    run.child.stdin?.end();
    const code = await run.exited;
    assert.equal(code, 125);
    assert.match(run.stderr, /every hart waits for an interrupt and no timer or device event is pending/);
  });

  test('--serial file:PATH writes the console to the file; none discards it', async () => {
    const path = join(scratch, 'serial.log');
    const run = onPipes(['--kernel', 'guests/bin/demo.elf', '--serial', `file:${path}`]);
    assert.equal(await run.exited, 0, run.stderr);
    assert.equal(run.output, '');
    assert.match(readFileSync(path, 'latin1'), /demo: [0-9]+ context switches; powering off/);
    const none = onPipes(['--kernel', 'guests/bin/demo.elf', '--serial', 'none']);
    assert.equal(await none.exited, 0, none.stderr);
    assert.equal(none.output, '');
  });
});

/** Connects to a TCP port or Unix socket and collects what arrives. */
async function client(target: { port: number } | { path: string }): Promise<{ socket: Socket; text: () => string; waitFor: (s: string) => Promise<void> }> {
  const socket = 'port' in target ? connect(target.port, '127.0.0.1') : connect(target.path);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    text: () => received,
    waitFor: async (pattern: string) => {
      const deadline = Date.now() + 20_000;
      while (!received.includes(pattern)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for '${pattern}'; received:\n${received}`);
        await sleep(20);
      }
    },
  };
}

describe('console on sockets', () => {
  test('tcp:127.0.0.1:0 serves one client at a time, in turn; a late client gets the boot log', async () => {
    const run = onPipes(['--kernel', GUEST, '--serial', 'tcp:127.0.0.1:0']);
    try {
      await run.waitFor(/serial console on tcp:127\.0\.0\.1:([0-9]+)/, 20_000, 'stderr');
      const port = Number(/tcp:127\.0\.0\.1:([0-9]+)/.exec(run.stderr)![1]);
      await sleep(300);
      const first = await client({ port });
      await first.waitFor('console: ready');
      // While the first client is connected, a second one is turned away.
      const second = await client({ port });
      await second.waitFor('in use by another client');
      first.socket.write('add 1 1\r');
      await first.waitFor('= 2');
      first.socket.end();
      await sleep(200);
      const third = await client({ port });
      third.socket.write('add 5 5\r');
      await third.waitFor('= 10');
      third.socket.write('exit 0\r');
      assert.equal(await run.exited, 0, run.stderr);
      assert.equal(run.output, '', 'nothing on stdout');
    } finally {
      run.child.kill();
    }
  });

  test('unix:PATH serves the console on a Unix socket and removes it at the end', async () => {
    const path = join(scratch, 'console.sock');
    const run = onPipes(['--kernel', GUEST, '--serial', `unix:${path}`]);
    try {
      await run.waitFor('serial console on unix:', 20_000, 'stderr');
      const peer = await client({ path });
      await peer.waitFor('> ');
      peer.socket.write('add 40 2\rexit 3\r');
      assert.equal(await run.exited, 3, run.stderr);
      assert.match(peer.text(), /= 42/);
      assert.throws(() => readFileSync(path), /ENOENT/);
    } finally {
      run.child.kill();
    }
  });
});

describe('options', () => {
  const bad = (args: string[], message: RegExp) => {
    const result = spawnSync(process.execPath, [CLI, 'run', '--kernel', GUEST, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
  };

  test('bad --serial, --icount and --idle values are one clear error each', () => {
    bad(['--serial', 'tcp:127.0.0.1:99999'], /--serial: serial 'tcp:127.0.0.1:99999': '99999' is not a port number/);
    bad(['--serial', 'pty'], /--serial: serial 'pty' is not one of stdio, file:PATH, tcp:HOST:PORT/);
    bad(['--serial', 'unix:'], /needs a socket path/);
    bad(['--icount', 'shift=11'], /--icount needs shift=N with N from 0 to 10/);
    bad(['--icount', 'auto'], /--icount needs shift=N/);
    bad(['--idle', 'sometimes'], /--idle must be 'pace' or 'skip', got 'sometimes'/);
  });

  test('--icount shift=N sets the ns per instruction: the same instructions read as 2^N times the ticks', () => {
    const ticks = (shift: number): number => {
      const result = spawnSync(process.execPath, [CLI, 'run', '--kernel', GUEST, '--icount', `shift=${shift}`, '--idle', 'skip'],
        { encoding: 'utf8', input: 'time\rexit 0\r' });
      assert.equal(result.status, 0, result.stderr);
      return Number(/mtime ([0-9]+)/.exec(result.stdout)![1]);
    };
    const base = ticks(0);
    assert.ok(base > 0);
    // With --idle skip no wall-clock wait moves time: only instructions count.
    assert.ok(Math.abs(ticks(4) - base * 16) <= 16, `shift 4: ${ticks(4)} vs 16 × ${base}`);
  });
});
