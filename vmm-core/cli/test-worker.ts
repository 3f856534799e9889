// One `ringside test` case, run in its own process: `ringside test` forks the CLI with
// TEST_WORKER_COMMAND, sends the TestCase over IPC and gets a TestOutcome back. Each test
// gets a fresh deterministic machine; the verdict comes from how the run ended (exit code,
// a failOn/passOn stop, console text, the guest or wall timeout).

import { performance } from 'node:perf_hooks';
import { ConfigError } from '../machine/config';
import { Debugger, type StopReason } from '../debug/debugger';
import { ElfError } from '../machine/elf';
import { DeviceTreeError } from '../machine/fdt';
import { type Machine, MachineError } from '../machine/machine';
import { IdlePacer } from '../machine/pacing';
import { applyStopSpec, describeExit, describeStop, initialCodeStop, UsageError } from './common';
import { openMachine } from './machine-options';
import { describeTextMatch, findTextMatch, findTextMatchEnd, type StopCondition, type TestCase } from './test-list';

export const TEST_WORKER_COMMAND = '__test-worker';

export interface TestOutcome {
  /** `error`: the machine could not be built, or the emulator failed (not the guest). */
  readonly verdict: 'pass' | 'fail' | 'error';
  /** One line: why the test failed, or how the run ended when it passed. */
  readonly reason: string;
  /** Everything the guest printed on its console. */
  readonly console: string;
  readonly guestSeconds: number;
  readonly instructions: number;
  readonly wallSeconds: number;
}

/** Instructions per slice between checks of the console and the timeouts. */
const SLICE = 5_000_000;
/** Shorter slices while typed input waits, for a guest that polls the UART instead of sleeping. */
const INPUT_SLICE = 100_000;
/** Console output kept per test; a guest printing more fails rather than filling the host's memory. */
const CONSOLE_LIMIT = 32 * 1024 * 1024;

/** Runs one test on this thread and judges it. */
export async function runTest(test: TestCase): Promise<TestOutcome> {
  const started = performance.now();
  const decoder = new TextDecoder();
  const pending: number[] = [];
  let output = '';
  const drain = (): void => {
    if (pending.length === 0) return;
    output += decoder.decode(Uint8Array.from(pending), { stream: true });
    pending.length = 0;
  };
  const deviceLog: string[] = [];
  let machine: Machine;
  try {
    const built = await openMachine(test.machine, (byte) => {
      pending.push(byte);
      if (pending.length >= 65536) drain();
    }, (message) => deviceLog.push(message));
    machine = built.machine;
  } catch (error) {
    if (isInputError(error)) return { verdict: 'error', reason: (error as Error).message, console: '', guestSeconds: 0, instructions: 0, wallSeconds: wallSince(started) };
    throw error;
  }
  const outcome = (verdict: TestOutcome['verdict'], reason: string): TestOutcome => {
    drain();
    output += decoder.decode();
    if (deviceLog.length > 0) output += `\n[ringside] ${deviceLog.join('\n[ringside] ')}\n`;
    return {
      verdict, reason, console: output, guestSeconds: machine.virtualNanoseconds / 1e9,
      instructions: machine.harts.reduce((sum, hart) => sum + hart.instructionsRetired, 0), wallSeconds: wallSince(started),
    };
  };
  try {
    return await judgeRun(test, machine, () => {
      drain();
      return output;
    }, outcome, started);
  } catch (error) {
    if (isInputError(error)) return outcome('error', (error as Error).message);
    throw error;
  } finally {
    // Closes the device backends too (disk images unlocked, sockets closed).
    machine.close();
  }
}

async function judgeRun(
  test: TestCase, machine: Machine, consoleText: () => string,
  outcome: (verdict: TestOutcome['verdict'], reason: string) => TestOutcome, started: number,
): Promise<TestOutcome> {
  const debug = new Debugger(machine);
  const conditions = new Map<number, { condition: StopCondition; passes: boolean }>();
  const codeStops = new Map<bigint, number>();
  const arm = (condition: StopCondition, passes: boolean): void => {
    const { id, address } = applyStopSpec(debug, machine, condition.spec, passes ? 'passOn' : 'failOn');
    conditions.set(id, { condition, passes });
    if (address !== undefined) codeStops.set(address, id);
  };
  for (const condition of test.failOn) arm(condition, false);
  for (const condition of test.passOn) arm(condition, true);

  const pacer = new IdlePacer(machine);
  const hasNetwork = machine.virtioSlots.some((slot) => slot.kind === 'net');
  // Typed input goes in step by step: a step waits for its `after` text, then its bytes go to
  // the UART a FIFO's worth at a time as the guest reads them. Handing input over only between
  // slices (whose lengths are fixed) keeps the run deterministic.
  const encoder = new TextEncoder();
  let nextStep = 0;
  let searchFrom = 0;
  let typing = new Uint8Array(0);
  let typed = 0;
  const inputPending = (): boolean => typed < typing.length;
  const feedInput = (): void => {
    while (!inputPending() && nextStep < test.consoleInput.length) {
      const step = test.consoleInput[nextStep];
      if (step.after !== undefined) {
        const end = findTextMatchEnd(step.after, consoleText(), searchFrom);
        if (end === undefined) return;
        searchFrom = end;
      }
      typing = encoder.encode(step.send);
      typed = 0;
      nextStep++;
    }
    if (inputPending()) typed += machine.sendConsoleInput(typing.subarray(typed));
  };
  /** Why the guest, waiting for input, gets none: the step whose text never came. */
  const inputStuck = (): string | undefined => {
    const step = test.consoleInput[nextStep];
    return inputPending() || step?.after === undefined ? undefined
      : `the guest waits, and consoleInput[${nextStep}] waits for ${describeTextMatch(step.after)}, which the console never printed`;
  };
  /** Input is typed or ready to type: the guest waiting for it is no deadlock. */
  const inputAvailable = (): boolean => {
    if (inputPending()) return true;
    const step = test.consoleInput[nextStep];
    return step !== undefined && (step.after === undefined || findTextMatchEnd(step.after, consoleText(), searchFrom) !== undefined);
  };
  machine.externalInputPossible = () => hasNetwork || inputAvailable();
  machine.beforeExternalInput = () => pacer.beforeExternalInput();
  const guestDeadline = test.timeoutSeconds * 1e9;
  const wallDeadline = started + test.wallTimeoutSeconds * 1000;
  const nanosecondsPerInstruction = 2 ** machine.config.icountShift;

  const missingText = (): string | undefined => {
    const output = consoleText();
    const missing = test.consoleContains.filter((match) => !findTextMatch(match, output));
    return missing.length === 0 ? undefined : `the console never printed ${missing.map(describeTextMatch).join(', ')}`;
  };
  const passUnlessTextMissing = (how: string): TestOutcome => {
    const missing = missingText();
    return missing === undefined ? outcome('pass', how) : outcome('fail', `${how}, but ${missing}`);
  };

  let stop: StopReason | undefined = initialCodeStop(machine, codeStops);
  while (true) {
    // Never run past the guest deadline: the timeout lands on the same instruction every run.
    const remaining = Math.max(1, Math.ceil((guestDeadline - machine.virtualNanoseconds) / nanosecondsPerInstruction));
    feedInput();
    stop ??= debug.continue(Math.min(inputPending() ? INPUT_SLICE : SLICE, remaining));
    const output = consoleText();
    for (const match of test.consoleLacks) {
      if (findTextMatch(match, output)) return outcome('fail', `the console printed ${describeTextMatch(match)}, which it must not`);
    }
    if (output.length > CONSOLE_LIMIT) return outcome('fail', `the console printed more than ${CONSOLE_LIMIT / 1024 / 1024} MiB`);
    if (stop !== undefined && stop.reason !== 'step') {
      if (stop.reason === 'exit') {
        const exit = stop.exit;
        if (exit.kind === 'error') {
          const stuck = inputStuck();
          return stuck !== undefined ? outcome('fail', stuck) : outcome('error', describeExit(exit));
        }
        if (exit.code !== test.exitCode) return outcome('fail', `${describeExit(exit)}, expected ${test.exitCode}`);
        return passUnlessTextMissing(describeExit(exit));
      }
      const armed = 'breakpointId' in stop ? conditions.get(stop.breakpointId) : undefined;
      if (armed === undefined) return outcome('fail', describeStop(stop));
      const how = `${armed.passes ? 'passOn' : 'failOn'} '${armed.condition.text}': ${describeStop(stop)}`;
      return armed.passes ? passUnlessTextMissing(how) : outcome('fail', how);
    }
    stop = undefined;
    if (machine.virtualNanoseconds >= guestDeadline) return outcome('fail', `timeout: the guest ran ${test.timeoutSeconds} guest seconds without finishing`);
    if (performance.now() > wallDeadline) return outcome('fail', `wall timeout: ${test.wallTimeoutSeconds} s of wall time passed`);
    if (machine.isIdle() && inputAvailable()) {
      // The guest waits for input and there is more to type: hand it over at once.
      continue;
    } else if (machine.isIdle()) {
      // The guest sleeps past its deadline: that is the timeout, without waiting for it.
      if (machine.nextTimerEventNanoseconds() >= guestDeadline && !hasNetwork) {
        return outcome('fail', `timeout: the guest waits for an interrupt beyond its ${test.timeoutSeconds} guest seconds`);
      }
      const timer = setTimeout(() => pacer.wake(), Math.max(0, wallDeadline - performance.now() + 1));
      await pacer.waitWhileIdle();
      clearTimeout(timer);
    } else {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

function isInputError(error: unknown): boolean {
  return error instanceof UsageError || error instanceof ConfigError || error instanceof ElfError ||
    error instanceof MachineError || error instanceof DeviceTreeError;
}

const wallSince = (started: number): number => (performance.now() - started) / 1000;

/** The worker process: one test in, one outcome out. */
export async function runTestWorker(): Promise<number> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new UsageError(`'${TEST_WORKER_COMMAND}' is the worker of 'ringside test', not a command of its own`);
  const test = await new Promise<TestCase>((resolve) => process.once('message', (message) => resolve(message as TestCase)));
  const outcome = await runTest(test);
  await new Promise<void>((resolve, reject) => send(outcome, undefined, undefined, (error: Error | null) => (error !== null ? reject(error) : resolve())));
  process.disconnect();
  return 0;
}
