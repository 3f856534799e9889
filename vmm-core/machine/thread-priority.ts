// A process whose main thread runs the emulator (the CLI; the debug adapter when VS Code starts
// it as its own process) shares the host's cores with V8's helper threads (TurboFan for
// JavaScript, Liftoff and TurboFan for the translation tier's WebAssembly, the garbage
// collector's helpers), which compile in the background while a kernel boots. On a 2-core
// machine four of them take the main thread's core for whole time slices: Linux's boot spent
// about 150-200 ms of its wall time waiting for a core that way. Lowering the helpers' priority
// (Linux's nice, per thread) lets them use the idle core and yield the busy one (bench/RESULTS.md,
// "Linux boot, third round"). The machine is unchanged: only when background compiles finish.
// From a worker thread (the adapter inside VS Code's extension host) it does nothing: the
// process, and its threads, are not ours.

import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { isMainThread } from 'node:worker_threads';

/** Nice value of the helper threads: they still get every idle core, and 1/10 of a busy one. */
const HELPER_THREAD_NICE = 10;

let lowered = false;

/**
 * Lowers the priority of every thread of this process but the main one (Linux only; elsewhere,
 * from a worker thread, or without /proc it does nothing). Threads started later inherit
 * their creator's priority, so the main thread's workers keep the normal one. Returns how many
 * threads it reniced.
 */
export function lowerHelperThreadPriority(): number {
  if (lowered || process.platform !== 'linux' || !isMainThread) return 0;
  lowered = true;
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  let reniced = 0;
  for (const name of threads) {
    const threadId = Number(name);
    if (!Number.isInteger(threadId) || threadId === process.pid) continue;
    try {
      // On Linux, setpriority(PRIO_PROCESS, tid) sets one thread's nice value.
      setPriority(threadId, HELPER_THREAD_NICE);
      reniced++;
    } catch {
      // A thread that ended meanwhile, or a host that forbids it: the run is the same, only slower.
    }
  }
  return reniced;
}
