// Lockstep of the two execution tiers: the same machine built twice, one on the interpreter
// alone, one with the translation tier. On one hart, the translated machine records its state
// at every block boundary where a translated region exits (instret, pc, a checksum of x1..x31),
// and the interpreter machine is run to exactly that instruction and compared; at the end of
// every chunk, and on several harts only there, everything architectural is compared: pc,
// registers, f registers, privilege, trap CSRs, satp, counts and virtual time; at the end, RAM.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import type { Hart } from '../../vmm-core/cpu/hart';
import type { ExecutionTier } from '../../vmm-core/machine/config';
import type { Machine, RunResult } from '../../vmm-core/machine/machine';

export interface LockstepOptions {
  /** Instructions per chunk of the translated machine's run. */
  readonly chunk?: number;
  /** Give up (fail) after this many instructions on hart 0. */
  readonly maxInstructions: number;
  /** Stop comparing (successfully) once hart 0 has retired this many, instead of at the exit. */
  readonly stopAfter?: number;
  /**
   * Compare only at chunk ends, giving both machines the same run budgets (always so on
   * several harts). For guests whose exit is seen between runs (HTIF's tohost is polled there),
   * where running the reference to each boundary would move the exit.
   */
  readonly chunksOnly?: boolean;
}

export interface LockstepResult {
  /** Block boundaries compared one by one. */
  readonly boundaries: number;
  readonly instructions: number;
  readonly translatedInstructions: number;
  readonly result: RunResult;
}

/** x1..x31 (the sink pair x0 writes go to is the interpreter's own). */
function registerChecksum(hart: Hart): number {
  const x = hart.registers;
  let sum = 0;
  for (let index = 2; index < 64; index++) sum = (Math.imul(sum, 0x01000193) ^ x[index]) | 0;
  return sum;
}

function architecturalState(hart: Hart): Record<string, unknown> {
  return {
    hart: hart.hartId,
    pc: hart.pc,
    registers: Array.from(hart.registers.subarray(0, 64)),
    floats: Array.from(hart.floatBits),
    privilege: hart.privilege,
    instret: hart.instructionsRetired,
    trapped: hart.instructionsTrapped,
    traps: hart.trapsTaken,
    virtualNanoseconds: hart.virtualNanoseconds,
    mstatus: hart.mstatus,
    trapCsrs: [hart.mepcLo, hart.mepcHi, hart.mcauseLo, hart.mtvalLo, hart.mtvalHi, hart.sepcLo, hart.sepcHi, hart.scauseLo, hart.stvalLo, hart.stvalHi],
    satp: [hart.satpLo, hart.satpHi],
    waiting: hart.waitingForInterrupt,
  };
}

function ramDigest(machine: Machine): string {
  return createHash('sha256').update(machine.ram.bytes).digest('hex');
}

/** Runs `create('auto')` and `create('interpreter')` in lockstep to the end of the guest; throws at the first difference. */
export function runLockstep(create: (tier: ExecutionTier) => Machine, options: LockstepOptions): LockstepResult {
  const translated = create('auto');
  const reference = create('interpreter');
  const translation = translated.translation;
  assert.ok(translation !== null, 'the translated machine has no translation tier');
  const chunk = options.chunk ?? 1_000_000;
  const singleHart = translated.harts.length === 1 && options.chunksOnly !== true;
  const records: number[] = [];
  if (singleHart) {
    translation.regionExitObserver = (hart) => {
      records.push(hart.instructionsRetired, hart.pcLo, hart.pcHi, registerChecksum(hart));
    };
  }
  let boundaries = 0;
  for (;;) {
    records.length = 0;
    const result = translated.run(chunk);
    const referenceHart = reference.harts[0];
    for (let index = 0; index < records.length; index += 4) {
      const instret = records[index];
      const delta = instret - referenceHart.instructionsRetired;
      if (delta > 0) {
        const step = reference.run(delta);
        assert.equal(step.kind, 'budget', `the interpreter machine ended (${JSON.stringify(step)}) before instruction ${instret}`);
      }
      if (referenceHart.instructionsRetired !== instret || referenceHart.pcLo !== records[index + 1] ||
        referenceHart.pcHi !== records[index + 2] || registerChecksum(referenceHart) !== records[index + 3]) {
        const pc = (BigInt(records[index + 2] >>> 0) << 32n) | BigInt(records[index + 1] >>> 0);
        assert.fail(`tiers differ at a block boundary: translated instret ${instret} pc 0x${pc.toString(16)}, interpreter instret ${referenceHart.instructionsRetired} ` +
          `pc 0x${referenceHart.pc.toString(16)}, registers ${registerChecksum(referenceHart) === records[index + 3] ? 'equal' : 'differ'}`);
      }
      boundaries++;
    }
    let referenceResult: RunResult | undefined;
    if (singleHart) {
      const delta = translated.harts[0].instructionsRetired - referenceHart.instructionsRetired;
      if (delta > 0) referenceResult = reference.run(delta);
      // The exit is seen right after the instruction that caused it: a further run reports it.
      if (result.kind === 'exit' && referenceResult?.kind !== 'exit') referenceResult = reference.run(1);
    } else {
      referenceResult = reference.run(chunk);
    }
    if (referenceResult === undefined) referenceResult = { kind: 'budget' };
    if (result.kind === 'exit' || referenceResult.kind === 'exit') {
      assert.deepEqual(referenceResult, result, 'the machines ended differently');
    }
    for (let hartId = 0; hartId < translated.harts.length; hartId++) {
      assert.deepEqual(architecturalState(translated.harts[hartId]), architecturalState(reference.harts[hartId]),
        `hart ${hartId} differs at the end of a chunk (instret ${translated.harts[hartId].instructionsRetired})`);
    }
    const stopped = options.stopAfter !== undefined && translated.harts[0].instructionsRetired >= options.stopAfter;
    if (result.kind === 'exit' || stopped) {
      assert.equal(ramDigest(translated), ramDigest(reference), 'RAM differs at the end');
      return {
        boundaries,
        instructions: translated.harts[0].instructionsRetired,
        translatedInstructions: translation.statistics.instructionsTranslated,
        result,
      };
    }
    assert.ok(translated.harts[0].instructionsRetired < options.maxInstructions, `no exit within ${options.maxInstructions} instructions`);
    // Machines that wait for input or are stopped end the comparison as the guest left them.
    if (result.kind === 'stop') assert.fail(`the translated machine stopped: ${JSON.stringify(result)}`);
  }
}
