// Execution history (vmm-core/debug/history.ts): going back to any earlier point re-creates the
// machine a run that stopped there has (state hash, RAM included), across checkpoints, in SMP
// runs, when single-hart steps and console input happened in between, and within a memory
// budget that drops the oldest checkpoints.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ExecutionHistory, type RunMode, type StepTarget } from '../../vmm-core/debug/history';
import { hartSteps, Machine } from '../../vmm-core/machine/machine';
import { machineStateHash } from '../../vmm-core/machine/snapshot';

const image = (path: string) => ({ fileName: path, bytes: new Uint8Array(readFileSync(path)) });

function machineOf(path: string, harts = 1): Machine {
  return new Machine({ kernel: image(path), hartCount: harts, idle: 'skip' });
}

const runner = (machine: Machine) => (mode: RunMode): 'idle' | 'budget' | 'exit' | 'stop' => {
  const result = machine.run(1_000_000, mode < 0 ? undefined : mode);
  return result.kind === 'exit' ? 'exit' : result.kind === 'idle' ? 'idle' : result.kind === 'stop' ? 'stop' : 'budget';
};

/** Runs forward (all harts, or one) to a step target, as a debugger's run to a point would. */
function runTo(machine: Machine, target: StepTarget, mode: RunMode = -1): void {
  machine.stepLimit = 'hartId' in target
    ? { hartId: target.hartId, steps: target.steps, totalSteps: Infinity } : { hartId: 0, steps: Infinity, totalSteps: target.totalSteps };
  const reached = () => ('hartId' in target ? hartSteps(machine.harts[target.hartId]) >= target.steps : machine.totalSteps() >= target.totalSteps);
  try {
    while (!reached() && machine.exit === null) {
      const result = machine.run(300_000, mode < 0 ? undefined : mode);
      if (result.kind === 'idle') machine.advanceIdleTime(machine.nextTimerEventNanoseconds());
    }
  } finally {
    machine.stepLimit = { hartId: 0, steps: Infinity, totalSteps: Infinity };
  }
}

describe('execution history', () => {
  it('lands on any earlier point of the demo kernel exactly as a forward run to it', () => {
    const machine = machineOf('guests/bin/demo.elf');
    const history = new ExecutionHistory(machine, { budgetBytes: 64 << 20, checkpointInterval: 200_000 });
    runTo(machine, { hartId: 0, steps: 1_800_000 });
    assert.ok(history.statistics.checkpoints >= 5, `checkpoints: ${history.statistics.checkpoints}`);
    for (const steps of [1_799_999, 1_600_000, 1_200_001, 777_777, 300_000, 1]) {
      assert.ok(history.goTo({ hartId: 0, steps }, runner(machine)), `reaches ${steps}`);
      assert.equal(hartSteps(machine.harts[0]), steps);
      const reference = machineOf('guests/bin/demo.elf');
      runTo(reference, { hartId: 0, steps });
      assert.equal(machineStateHash(machine), machineStateHash(reference), `state at step ${steps}`);
      reference.close();
    }
    // Forward again from the oldest point: the same run as ever.
    runTo(machine, { hartId: 0, steps: 1_000_000 });
    const reference = machineOf('guests/bin/demo.elf');
    runTo(reference, { hartId: 0, steps: 1_000_000 });
    assert.equal(machineStateHash(machine), machineStateHash(reference));
    history.close();
  });

  it('two harts: any earlier total step count, and one hart\'s earlier step', () => {
    const machine = machineOf('guests/bin/smp.elf', 2);
    const history = new ExecutionHistory(machine, { budgetBytes: 64 << 20, checkpointInterval: 5_000 });
    runTo(machine, { totalSteps: 40_000 });
    const end = machine.totalSteps();
    const [hart0, hart1] = machine.harts.map(hartSteps);
    assert.ok(hart1 > 1000, `both harts ran (${hart0}, ${hart1})`);
    const targets: StepTarget[] = [
      { totalSteps: end - 1 }, { totalSteps: Math.floor(end * 0.6) }, { hartId: 1, steps: Math.floor(hart1 * 0.7) },
      { hartId: 0, steps: Math.floor(hart0 * 0.3) }, { totalSteps: 3 },
    ];
    for (const target of targets) {
      assert.ok(history.goTo(target, runner(machine)), JSON.stringify(target));
      const reference = machineOf('guests/bin/smp.elf', 2);
      runTo(reference, target);
      assert.equal(machineStateHash(machine), machineStateHash(reference), JSON.stringify(target));
      reference.close();
    }
  });

  it('single-hart runs and console input in between are re-executed as they happened', () => {
    // The same script on the recorded machine and on a reference that replays it to each point.
    const script = (machine: Machine, until: number): void => {
      // Each stage runs to a total step count, all harts or one alone (which alone moves the total).
      const stages: Array<[number, RunMode]> = [[10_000, -1], [10_500, 1], [18_500, -1], [18_800, 0], [24_800, -1]];
      for (const [total, mode] of stages) {
        if (machine.totalSteps() >= until) return;
        if (total === 18_500) machine.sendConsoleInput(new TextEncoder().encode('x'));
        runTo(machine, { totalSteps: Math.min(total, until) }, mode);
      }
    };
    const machine = machineOf('guests/bin/smp.elf', 2);
    const history = new ExecutionHistory(machine, { budgetBytes: 64 << 20, checkpointInterval: 50_000 });
    script(machine, Infinity);
    const end = machine.totalSteps();
    assert.ok(history.statistics.checkpoints >= 5, `a checkpoint at each change: ${history.statistics.checkpoints}`);
    for (const total of [end - 1, end - 3_000, 18_700, 18_499, 10_600, 10_300, 10_001, 9_999, 2_000]) {
      assert.ok(history.goTo({ totalSteps: total }, runner(machine)), `reaches ${total}`);
      assert.equal(machine.totalSteps(), total);
      const reference = machineOf('guests/bin/smp.elf', 2);
      script(reference, total);
      assert.equal(reference.totalSteps(), total);
      assert.equal(machineStateHash(machine), machineStateHash(reference), `state at total ${total}`);
      reference.close();
    }
  });

  it('keeps within its budget by dropping the oldest checkpoints, and says how far back it goes', () => {
    const machine = machineOf('guests/bin/workload.elf');
    const budgetBytes = 256 << 10;
    const history = new ExecutionHistory(machine, { budgetBytes, checkpointInterval: 100_000 });
    for (let steps = 500_000; steps <= 5_000_000; steps += 500_000) {
      runTo(machine, { hartId: 0, steps });
      assert.ok(history.statistics.bytes <= budgetBytes + 64 * 4096, `bytes ${history.statistics.bytes}`);
    }
    const statistics = history.statistics;
    assert.ok(statistics.droppedCheckpoints > 0, 'old checkpoints were dropped');
    const oldest = statistics.oldest.steps[0];
    assert.ok(oldest > 0);
    assert.equal(history.goTo({ hartId: 0, steps: oldest - 1 }, runner(machine)), false, 'no history before the oldest checkpoint');
    assert.ok(history.goTo({ hartId: 0, steps: oldest + 1 }, runner(machine)));
    const reference = machineOf('guests/bin/workload.elf');
    runTo(reference, { hartId: 0, steps: oldest + 1 });
    assert.equal(machineStateHash(machine), machineStateHash(reference));
  });
});
