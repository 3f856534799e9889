// The attention word a worker host shares with another thread: raised (with Atomics, from any
// thread), it ends a run at the next slice boundary, at most a quantum of instructions later;
// runs cut short that way execute the guest exactly as one uninterrupted run does.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Machine } from '../../vmm-core/machine/machine';
import { createMachine, ProgramBuilder } from '../support/assemble';

const QUANTUM_INSTRUCTIONS = 200_000;

function sharedWord(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

function spinningMachine(): Machine {
  return createMachine({ program: new ProgramBuilder().label('loop').emit('addi', { rd: 5, rs1: 5, imm: 1 }).emit('jal', { rd: 0 }, 'loop') });
}

describe('machine attention word', () => {
  it('raised before a run: the run returns within one quantum, then the host clears it and runs on', () => {
    const machine = spinningMachine();
    const hart = machine.harts[0];
    const word = sharedWord();
    machine.attention = word;
    Atomics.store(word, 0, 1);
    assert.equal(machine.run(50_000_000).kind, 'budget');
    assert.ok(hart.instructionsRetired > 0 && hart.instructionsRetired <= QUANTUM_INSTRUCTIONS, `${hart.instructionsRetired} instructions`);
    assert.equal(machine.attentionRequested(), true, 'the machine never clears the word itself');
    Atomics.store(word, 0, 0);
    const before = hart.instructionsRetired;
    assert.equal(machine.run(3_000_000).kind, 'budget');
    assert.equal(hart.instructionsRetired - before, 3_000_000, 'a lowered word leaves the budget alone');
  });

  it('raised by another thread while this one is inside a run: the run returns early', async () => {
    const machine = spinningMachine();
    const word = sharedWord();
    machine.attention = word;
    // The other thread waits for word 1 (the run is starting), sleeps 30 ms, then raises word 0.
    const worker = new Worker(`
      const { workerData, parentPort } = require('node:worker_threads');
      const word = new Int32Array(workerData);
      parentPort.postMessage('ready');
      Atomics.wait(word, 1, 0);
      Atomics.wait(word, 1, 1, 30);
      Atomics.store(word, 0, 1);
    `, { eval: true, workerData: word.buffer });
    try {
      await new Promise((resolve) => worker.once('message', resolve));
      Atomics.store(word, 1, 1);
      Atomics.notify(word, 1);
      // Without the word this budget would take minutes; the test's timeout catches a missed word.
      const budget = 20_000_000_000;
      const result = machine.run(budget);
      assert.equal(result.kind, 'budget');
      assert.equal(Atomics.load(word, 0), 1);
      assert.ok(machine.harts[0].instructionsRetired < budget);
    } finally {
      await worker.terminate();
    }
  });

  for (const { guest, hartCount, output } of [
    { guest: 'demo', hartCount: 1, output: /context switches; powering off/ },
    { guest: 'smp', hartCount: 2, output: /PASS/ },
  ]) {
    it(`runs cut at every slice boundary execute ${guest}.elf (${hartCount} hart${hartCount > 1 ? 's' : ''}) exactly as one run does`, () => {
      const kernel = { fileName: `${guest}.elf`, bytes: new Uint8Array(readFileSync(join(__dirname, `../../guests/bin/${guest}.elf`))) };
      const runToExit = (interrupted: boolean) => {
        let console = '';
        const machine = new Machine({
          kernel, bios: 'none', hartCount, icountShift: 0, idle: 'skip', consoleOutput: (byte) => { console += String.fromCharCode(byte); },
        });
        const word = sharedWord();
        machine.attention = word;
        let runs = 0;
        for (;;) {
          if (interrupted) Atomics.store(word, 0, 1);
          const result = machine.run(interrupted ? Number.MAX_SAFE_INTEGER : 50_000_000);
          runs++;
          if (result.kind === 'exit') return { console, exit: result.exit, retired: machine.harts.map((hart) => hart.instructionsRetired), runs };
          assert.ok(runs < 5_000_000, `${runs} runs without an exit`);
        }
      };
      const whole = runToExit(false);
      const cut = runToExit(true);
      assert.ok(cut.runs > whole.runs * 10, `${cut.runs} runs against ${whole.runs}`);
      assert.deepEqual(whole.exit, { kind: 'pass', code: 0, source: 'finisher' });
      assert.deepEqual(cut.exit, whole.exit);
      assert.deepEqual(cut.retired, whole.retired);
      assert.equal(cut.console, whole.console);
      assert.match(whole.console, output);
    });
  }
});
