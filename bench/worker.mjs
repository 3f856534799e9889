// Where the machine runs: a debug session in a worker thread (WorkerDebugAdapter, as the
// extension starts it by default) against the same session on the caller's thread (in-process,
// as an inline adapter without the worker would be). Both are driven by DAP messages through
// handleMessage / onDidSendMessage, like VS Code drives an inline adapter.
//   1. pause latency: from the moment a pause is due (a timer set for a random moment while
//      the bench guest runs) to the stopped event. In-process the timer itself waits for the
//      running slice, as the editor's message would.
//   2. the host's event-loop lateness while a guest runs: the largest delay of a 5 ms
//      setInterval over 2 s of continue.
//   3. guest speed in a session: instructions retired per wall second during 2 s of continue.
//   4. the machine alone (no adapter): 100 M instructions of bench.elf in 1 M slices, with the attention word installed
//      (always 0) against none: the cost of checking it at every slice boundary.
// Usage: node scripts/build.mjs && node bench/worker.mjs [--rounds N] [--pauses N]

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const root = resolve(import.meta.dirname, '..');
const { WorkerDebugAdapter, RingsideSession } = require('../dist/debugAdapter.js');
const { Machine } = require('../dist/vmm-core.js');

const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const rounds = argument('--rounds', 3);
const pauses = argument('--pauses', 10);
const program = resolve(root, 'guests/bin/bench.elf');
/** Instructions of bench.elf (of about 290 million) the bare machine runs. */
const BARE_INSTRUCTIONS = 100_000_000;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** A DAP client over an inline adapter object (the worker one or a RingsideSession). */
function client(kind) {
  const adapter = kind === 'worker' ? new WorkerDebugAdapter() : new RingsideSession();
  let seq = 1;
  const answers = new Map();
  const waiters = [];
  let stdout = '';
  adapter.onDidSendMessage((message) => {
    if (message.type === 'response') {
      answers.get(message.request_seq)?.(message);
      answers.delete(message.request_seq);
      return;
    }
    if (message.event === 'output' && message.body.category === 'stdout') stdout += message.body.output;
    const at = performance.now();
    for (const waiter of [...waiters]) {
      if (waiter.event === message.event) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve({ message, at });
      }
    }
  });
  const request = (command, args = {}) => new Promise((resolveRequest, reject) => {
    const id = seq++;
    answers.set(id, (response) => (response.success ? resolveRequest(response) : reject(new Error(`${command}: ${response.message}`))));
    adapter.handleMessage({ seq: id, type: 'request', command, arguments: args });
  });
  const next = (event) => new Promise((resolveEvent) => waiters.push({ event, resolve: resolveEvent }));
  return {
    request, next, stdout: () => stdout,
    async launch() {
      await request('initialize', { adapterID: 'ringside', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
      const initialized = next('initialized');
      await request('launch', { program, cwd: root });
      await initialized;
      await request('configurationDone');
      while (!stdout.includes('bench: ')) await next('output');
    },
    async retired() {
      return Number(BigInt((await request('evaluate', { expression: '$minstret', context: 'watch' })).body.result));
    },
    async close() {
      await request('disconnect', { terminateDebuggee: true });
      if (kind === 'worker') await adapter.exited;
    },
  };
}

async function pauseLatencies(kind) {
  const session = client(kind);
  await session.launch();
  const latencies = [];
  for (let i = 0; i < pauses; i++) {
    const delay = 20 + Math.random() * 60;
    const due = performance.now() + delay;
    const stopped = session.next('stopped');
    setTimeout(() => void session.request('pause', { threadId: 1 }), delay);
    const { at } = await stopped;
    latencies.push(at - due);
    await session.request('continue', { threadId: 1 });
  }
  await session.close();
  return latencies;
}

async function lateness(kind) {
  const session = client(kind);
  await session.launch();
  let stopped = session.next('stopped');
  await session.request('pause', { threadId: 1 });
  await stopped;
  const first = await session.retired();
  let worst = 0;
  let last = performance.now();
  const interval = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 5);
    last = now;
  }, 5);
  const start = performance.now();
  await session.request('continue', { threadId: 1 });
  await sleep(2000);
  clearInterval(interval);
  stopped = session.next('stopped');
  await session.request('pause', { threadId: 1 });
  await stopped;
  const seconds = (performance.now() - start) / 1000;
  const retired = await session.retired() - first;
  await session.close();
  return { worst, mips: retired / seconds / 1e6 };
}

function bareMachine(withWord) {
  const machine = new Machine({ kernel: { fileName: 'bench.elf', bytes: new Uint8Array(readFileSync(program)) }, consoleOutput: () => {} });
  if (withWord) machine.attention = new Int32Array(new SharedArrayBuffer(4));
  const start = performance.now();
  let result;
  do result = machine.run(1_000_000); while (result.kind === 'budget' && machine.harts[0].instructionsRetired < BARE_INSTRUCTIONS);
  if (result.kind !== 'budget') throw new Error(`bench.elf ended early: ${JSON.stringify(result)}`);
  return machine.harts[0].instructionsRetired / ((performance.now() - start) / 1000) / 1e6;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const results = { worker: { pauses: [], worst: [], mips: [] }, 'in-process': { pauses: [], worst: [], mips: [] } };
const bare = { word: [], none: [] };
// Alternate so that both see the same machine load.
for (let round = 0; round < rounds; round++) {
  for (const kind of ['worker', 'in-process']) {
    results[kind].pauses.push(...await pauseLatencies(kind));
    const { worst, mips } = await lateness(kind);
    results[kind].worst.push(worst);
    results[kind].mips.push(mips);
  }
  bare.none.push(bareMachine(false));
  bare.word.push(bareMachine(true));
}

console.log(`node ${process.version}, ${rounds} rounds, ${pauses} pauses a round; bench.elf`);
for (const kind of ['worker', 'in-process']) {
  const r = results[kind];
  console.log(`${kind.padEnd(10)} pause latency median ${median(r.pauses).toFixed(1)} ms, max ${Math.max(...r.pauses).toFixed(1)} ms;` +
    ` host timer lateness max ${Math.max(...r.worst).toFixed(1)} ms (median of rounds ${median(r.worst).toFixed(1)} ms); guest ${Math.max(...r.mips).toFixed(1)} MIPS (best)`);
}
const ratio = (a, b) => (a / b).toFixed(3);
console.log(`pause latency ratio worker / in-process (medians): ${ratio(median(results.worker.pauses), median(results['in-process'].pauses))}`);
console.log(`guest speed ratio worker / in-process (best): ${ratio(Math.max(...results.worker.mips), Math.max(...results['in-process'].mips))}`);
console.log(`bare machine, attention word installed ${Math.max(...bare.word).toFixed(1)} MIPS, none ${Math.max(...bare.none).toFixed(1)} MIPS (best); ratio ${ratio(Math.max(...bare.word), Math.max(...bare.none))}`);
