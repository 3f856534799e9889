// Debug adapter benchmark, over stdio against dist/debugAdapter.js (as VS Code runs it):
//   1. stepInstruction round trip: stepIn with granularity 'instruction' -> stopped event, and
//      the same with what VS Code asks on every stop (threads, stackTrace, scopes, Registers).
//   2. continue on the bench guest (guests/bin/bench.elf, ~290M instructions, no traps) with
//      1000 instruction breakpoints on unrelated addresses and every ring/trap filter armed,
//      against none; the bare machine without the adapter is the reference.
//   3. every filter armed with a false condition on the demo kernel (traps and xRETs happen
//      constantly there): the cost of a filter hit that does not stop.
//   4. the step round trips of 1 over TCP (`--server`, as `ringside run --debug-port` serves
//      an attaching VS Code), against stdio.
// Usage: node scripts/build.mjs && node bench/dap.mjs [--rounds N] [--steps N] [--only-steps]

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const { DebugClient } = require('@vscode/debugadapter-testsupport');
const { Machine } = require('../dist/vmm-core.js');

const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};
const rounds = argument('--rounds', 3);
const steps = argument('--steps', 2000);
const root = resolve(import.meta.dirname, '..');
const adapter = resolve(root, 'dist/debugAdapter.js');

let tcpServer;
async function session(transport = 'stdio') {
  const client = new DebugClient('node', adapter, 'ringside', { cwd: root });
  client.defaultTimeout = 120_000;
  if (transport === 'tcp') {
    tcpServer ??= await require(adapter).serveSessions(0);
    await client.start(tcpServer.port);
  } else {
    await client.start();
  }
  await client.initializeRequest({ adapterID: 'ringside', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
  return client;
}

async function launch(client, args, configure) {
  const initialized = client.waitForEvent('initialized');
  await client.launchRequest({ cwd: root, ...args });
  await initialized;
  if (configure) await configure();
}

async function stepRoundTrips(withViews, transport = 'stdio') {
  const client = await session(transport);
  try {
    await launch(client, { program: 'guests/bin/demo.elf', stopOnEntry: true });
    let stopped = client.waitForEvent('stopped');
    await client.configurationDoneRequest();
    await stopped;
    const start = performance.now();
    for (let i = 0; i < steps; i++) {
      stopped = client.waitForEvent('stopped');
      await client.stepInRequest({ threadId: 1, granularity: 'instruction' });
      await stopped;
      if (withViews) {
        await client.threadsRequest();
        const trace = await client.stackTraceRequest({ threadId: 1, startFrame: 0, levels: 20 });
        const scopes = await client.scopesRequest({ frameId: trace.body.stackFrames[0].id });
        const registers = scopes.body.scopes.find((scope) => scope.name === 'Registers');
        await client.variablesRequest({ variablesReference: registers.variablesReference });
      }
    }
    const seconds = (performance.now() - start) / 1000;
    return steps / seconds;
  } finally {
    await client.stop();
  }
}

async function continueToExit(program, configure) {
  const client = await session();
  try {
    await launch(client, { program, serial: 'none' }, () => configure?.(client));
    const exited = client.waitForEvent('exited', 600_000);
    const start = performance.now();
    await client.configurationDoneRequest();
    const event = await exited;
    if (event.body.exitCode !== 0) throw new Error(`${program} exited with ${event.body.exitCode}`);
    return (performance.now() - start) / 1000;
  } finally {
    await client.stop();
  }
}

function bareMachine(program) {
  const bytes = new Uint8Array(readFileSync(resolve(root, program)));
  const machine = new Machine({ kernel: { fileName: program, bytes } });
  const start = performance.now();
  let result;
  do result = machine.run(50_000_000); while (result.kind === 'budget');
  if (result.kind !== 'exit' || result.exit.code !== 0) throw new Error(`${program} did not pass`);
  return { seconds: (performance.now() - start) / 1000, instructions: machine.harts[0].instructionsRetired };
}

let allFilters;
async function armEverything(client, condition) {
  if (allFilters === undefined) {
    const probe = await session();
    allFilters = (await probe.initializeRequest({ adapterID: 'ringside', pathFormat: 'path' })).body.exceptionBreakpointFilters.map((filter) => filter.filter);
    await probe.stop();
  }
  // 1000 breakpoints on RAM the guest never executes, spread over 16 pages.
  const breakpoints = Array.from({ length: 1000 }, (_, i) => ({ instructionReference: `0x${(0x86000000 + i * 64).toString(16)}` }));
  await client.customRequest('setInstructionBreakpoints', { breakpoints });
  await client.setExceptionBreakpointsRequest(condition === undefined
    ? { filters: allFilters }
    : { filters: [], filterOptions: allFilters.map((filterId) => ({ filterId, condition })) });
}

const bestRate = async (measure) => {
  let result = 0;
  for (let i = 0; i < rounds; i++) result = Math.max(result, await measure());
  return result;
};

console.log(`node ${process.version}, ${rounds} rounds each, best of rounds; adapter over stdio`);
const stepRate = await bestRate(() => stepRoundTrips(false));
console.log(`stepInstruction round trip (stepIn granularity instruction -> stopped)      ${stepRate.toFixed(0).padStart(6)} steps/s  (${(1000 / stepRate).toFixed(2)} ms each, ${steps} steps)`);
const viewRate = await bestRate(() => stepRoundTrips(true));
console.log(`stepInstruction + threads, stackTrace, scopes, Registers (VS Code's refresh) ${viewRate.toFixed(0).padStart(6)} steps/s  (${(1000 / viewRate).toFixed(2)} ms each)`);
const tcpStepRate = await bestRate(() => stepRoundTrips(false, 'tcp'));
console.log(`the same over TCP (--server): stepInstruction round trip                    ${tcpStepRate.toFixed(0).padStart(6)} steps/s  (${(1000 / tcpStepRate).toFixed(2)} ms each)`);
const tcpViewRate = await bestRate(() => stepRoundTrips(true, 'tcp'));
console.log(`the same over TCP (--server): with VS Code's refresh                        ${tcpViewRate.toFixed(0).padStart(6)} steps/s  (${(1000 / tcpViewRate).toFixed(2)} ms each)`);
tcpServer.close();
if (process.argv.includes('--only-steps')) process.exit(0);

let bare = Infinity, instructions = 0;
for (let i = 0; i < rounds; i++) {
  const run = bareMachine('guests/bin/bench.elf');
  bare = Math.min(bare, run.seconds);
  instructions = run.instructions;
}
// Alternate the two runs so that both see the same machine load.
let plain = Infinity, armed = Infinity;
for (let i = 0; i < rounds; i++) {
  plain = Math.min(plain, await continueToExit('guests/bin/bench.elf'));
  armed = Math.min(armed, await continueToExit('guests/bin/bench.elf', (client) => armEverything(client)));
}
console.log(`bench guest, bare machine (no adapter)                     ${bare.toFixed(2)} s  ${(instructions / bare / 1e6).toFixed(1)} MIPS`);
console.log(`bench guest, continue, nothing armed                       ${plain.toFixed(2)} s  ratio to bare ${(plain / bare).toFixed(3)}`);
console.log(`bench guest, continue, 1000 breakpoints + ${allFilters.length} filters armed  ${armed.toFixed(2)} s  ratio to nothing armed ${(armed / plain).toFixed(3)}`);

let demoPlain = Infinity, demoArmed = Infinity;
for (let i = 0; i < rounds * 3; i++) {
  demoPlain = Math.min(demoPlain, await continueToExit('guests/bin/demo.elf'));
  demoArmed = Math.min(demoArmed, await continueToExit('guests/bin/demo.elf', (client) => armEverything(client, '0')));
}
console.log(`demo kernel, continue, nothing armed                       ${(demoPlain * 1000).toFixed(0)} ms`);
console.log(`demo kernel, continue, every filter armed with condition 0 ${(demoArmed * 1000).toFixed(0)} ms  ratio ${(demoArmed / demoPlain).toFixed(2)}`);
