// `ringside run` lowers the priority of V8's helper threads (vmm-core/machine/thread-priority.ts):
// while a guest runs, every thread of the CLI's process but the main one has nice 10, and the
// main thread keeps its own. Read from /proc while the console guest waits for input.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

import { lowerHelperThreadPriority } from '../../vmm-core/machine/thread-priority';
import { threadNiceValues } from '../support/threads';

test('ringside run gives V8\'s helper threads nice 10 and keeps the main thread\'s', async () => {
  const child = spawn(process.execPath, ['dist/cli.js', 'run', '--kernel', 'guests/bin/console.elf'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('latin1'); });
  try {
    const deadline = Date.now() + 20_000;
    // The guest prints its prompt once it waits for input: the machine has been built by then.
    while (!output.includes('>') && Date.now() < deadline) await new Promise((wake) => setTimeout(wake, 50));
    assert.ok(output.includes('>'), `the console guest did not prompt: ${JSON.stringify(output)}`);
    const nice = threadNiceValues(child.pid!);
    assert.equal(nice.get(child.pid!), 0, 'the main thread keeps nice 0');
    const helpers = [...nice].filter(([threadId]) => threadId !== child.pid);
    assert.ok(helpers.length >= 2, `expected V8's helper threads, found ${helpers.length}`);
    for (const [threadId, value] of helpers) assert.equal(value, 10, `thread ${threadId}`);
  } finally {
    child.stdin.end('exit 0\n');
    child.kill();
  }
});

test('lowerHelperThreadPriority renices once per process and never the calling main thread', () => {
  const before = threadNiceValues(process.pid).get(process.pid);
  const first = lowerHelperThreadPriority();
  assert.ok(first >= 1, `reniced ${first} threads`);
  assert.equal(lowerHelperThreadPriority(), 0);
  const after = threadNiceValues(process.pid);
  assert.equal(after.get(process.pid), before);
  assert.ok([...after].some(([threadId, value]) => threadId !== process.pid && value === 10));
});
