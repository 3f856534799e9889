// Warms the JavaScript engine up for the emulator before the first guest of a process runs.
// V8 optimizes the interpreter loop from the type feedback of what it has executed so far;
// every path it has not seen yet (the first lh, the first load fault, the first sret...) is
// compiled as a deoptimization, and a kernel meets such firsts for seconds into its boot,
// each one sending the loop back to unoptimized code while V8 recompiles it (70 ms a time).
// Running guests/warmup (every load and store width, M, A, F/D, CSRs, traps and faults in M
// and S, Sv39 walks; 33 k instructions, about 50 ms) on a scratch machine first gives the
// optimizer feedback for all of them: Linux's boot then deoptimizes the loop twice instead of
// seven times and takes 11-14 % less time, warm-up included (bench/RESULTS.md).
// The scratch machine shares nothing with later machines but the engine's code: determinism
// is untouched.

import { Machine } from './machine';
import type { ExecutionTier } from './config';
import { WARM_UP_ELF_BASE64 } from './warm-up-image';

/** Far more than the program retires (33 k): it always ends through the test finisher. */
const WARM_UP_INSTRUCTION_LIMIT = 1_000_000;
const WARM_UP_MEMORY_BYTES = 16 * 1024 * 1024;

let warmedUp = false;

/**
 * Runs the warm-up program once per process on the given tier (the one the process's guests
 * will run on); later calls do nothing. Returns true when this call ran it and it passed.
 */
export function warmUpEngine(tier?: ExecutionTier): boolean {
  if (warmedUp) return false;
  warmedUp = true;
  const machine = new Machine({
    kernel: { fileName: 'ringside-warm-up.elf', bytes: new Uint8Array(Buffer.from(WARM_UP_ELF_BASE64, 'base64')) },
    memoryBytes: WARM_UP_MEMORY_BYTES,
    idle: 'skip',
    tier,
    consoleOutput: () => undefined,
  });
  const result = machine.run(WARM_UP_INSTRUCTION_LIMIT);
  return result.kind === 'exit' && result.exit.kind !== 'error' && result.exit.code === 0;
}
