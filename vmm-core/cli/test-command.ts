// `ringside test`: runs the guest tests of one or more test lists (NAME.ringside-tests.json),
// in parallel child processes (test-worker.ts), prints a line per test and a summary, writes
// JUnit XML for CI, and exits 0 only when every test passed.

import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EXIT_USAGE, fileErrorReason, UsageError } from './common';
import { type JunitTestSuite, junitXml } from './junit';
import { readTestList, type TestCase } from './test-list';
import { TEST_WORKER_COMMAND, type TestOutcome } from './test-worker';

export const TEST_LIST_SUFFIX = '.ringside-tests.json';
/** Exit code when a test failed. */
export const EXIT_TESTS_FAILED = 1;
/** Console lines shown under a failed test and in the JUnit failure. */
const TAIL_LINES = 12;
/** Extra wall time a worker gets past its own wall timeout before it is killed. */
const KILL_GRACE_MS = 30_000;

export const TEST_USAGE = `usage: ringside test [LIST${TEST_LIST_SUFFIX}...] [options]

Runs the guest tests of each list (default: every *${TEST_LIST_SUFFIX} under the current
folder), each on its own deterministic machine, in parallel; prints one line per test and a
summary. The list format is in docs/cli.md.

  --jobs N             tests run at the same time (default: the host's cores, ${availableParallelism()} here)
  --junit FILE         write JUnit XML (one testsuite per list, a testcase per test)
  --filter TEXT        run only the tests whose name contains TEXT (repeatable: any of them)

exit codes: 0 every test passed, ${EXIT_TESTS_FAILED} a test failed, ${EXIT_USAGE} bad command line, list or machine config file.
`;

interface TestOptions {
  files: string[];
  jobs: number;
  junit?: string;
  filters: string[];
}

function parseTestArguments(args: readonly string[]): TestOptions {
  const options: TestOptions = { files: [], jobs: availableParallelism(), filters: [] };
  for (let i = 0; i < args.length; i++) {
    const argument = args[i];
    if (!argument.startsWith('--')) {
      options.files.push(argument);
      continue;
    }
    const equals = argument.indexOf('=');
    const flag = equals < 0 ? argument : argument.slice(0, equals);
    const value = (): string => {
      if (equals >= 0) return argument.slice(equals + 1);
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--jobs': {
        const text = value();
        if (!/^[0-9]+$/.test(text) || Number(text) < 1) throw new UsageError(`--jobs needs a number of tests at a time, at least 1, got '${text}'`);
        options.jobs = Number(text);
        break;
      }
      case '--junit': {
        const file = value();
        if (file === '') throw new UsageError('--junit needs a file name');
        options.junit = file;
        break;
      }
      case '--filter': options.filters.push(value()); break;
      default: throw new UsageError(`unknown option '${argument}' (try 'ringside test --help')`);
    }
  }
  return options;
}

/** Every test list under `folder`, skipping node_modules and hidden folders. */
function findTestLists(folder: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) found.push(...findTestLists(path));
    } else if (entry.name.endsWith(TEST_LIST_SUFFIX)) {
      found.push(path);
    }
  }
  return found.sort();
}

interface Finished {
  readonly test: TestCase;
  readonly outcome: TestOutcome;
}

export async function testCommand(args: readonly string[]): Promise<number> {
  const options = parseTestArguments(args);
  const files = options.files.length > 0 ? options.files : findTestLists('.');
  if (files.length === 0) throw new UsageError(`no test lists given and no *${TEST_LIST_SUFFIX} under ${process.cwd()}`);
  // Every list is read and checked before anything runs: a mistake costs no test time.
  const lists = files.map((file) => ({ file, tests: readTestList(file) }));
  const selected = (test: TestCase): boolean => options.filters.length === 0 || options.filters.some((filter) => test.name.includes(filter));
  const tests = lists.flatMap((list) => list.tests.filter(selected));
  if (tests.length === 0) throw new UsageError(`no test matches --filter ${options.filters.map((filter) => `'${filter}'`).join(', ')}`);
  const label = (test: TestCase): string => (lists.length > 1 ? `${suiteName(test.listFile)}/${test.name}` : test.name);

  const started = new Date();
  const startedAt = performance.now();
  const results = new Map<TestCase, TestOutcome>();
  const jobs = Math.min(options.jobs, tests.length);
  process.stdout.write(`ringside test: ${tests.length} test${tests.length === 1 ? '' : 's'} from ${lists.length} list${lists.length === 1 ? '' : 's'}, ${jobs} at a time\n`);
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < tests.length) {
      const test = tests[next++];
      const outcome = await runInWorker(test);
      results.set(test, outcome);
      process.stdout.write(resultLines({ test, outcome }, label(test)));
    }
  };
  await Promise.all(Array.from({ length: jobs }, runner));
  const wallSeconds = (performance.now() - startedAt) / 1000;

  const finished = tests.map((test) => ({ test, outcome: results.get(test)! }));
  const passed = finished.filter((result) => result.outcome.verdict === 'pass').length;
  const failed = finished.filter((result) => result.outcome.verdict === 'fail').length;
  const errors = finished.length - passed - failed;
  const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;
  process.stdout.write(`\n${plural(finished.length, 'test')}: ${passed} passed, ${failed} failed${errors > 0 ? `, ${plural(errors, 'error')}` : ''} (${wallSeconds.toFixed(1)} s)\n`);
  for (const result of finished.filter((result) => result.outcome.verdict !== 'pass')) {
    process.stdout.write(`  ${result.outcome.verdict === 'fail' ? 'FAIL ' : 'ERROR'} ${label(result.test)}: ${result.outcome.reason}\n`);
  }
  if (options.junit !== undefined) writeJunit(options.junit, lists.map((list) => list.file), finished, started);
  return passed === finished.length ? 0 : EXIT_TESTS_FAILED;
}

const suiteName = (listFile: string): string => basename(listFile).replace(new RegExp(`${TEST_LIST_SUFFIX.replace(/\./g, '\\.')}$`), '').replace(/\.json$/, '');

function lastLines(text: string, count: number): string[] {
  const lines = text.replace(/\r/g, '').replace(/\n$/, '').split('\n');
  return text === '' ? [] : lines.slice(-count);
}

function resultLines({ outcome }: Finished, name: string): string {
  const guest = outcome.guestSeconds >= 1 ? `${outcome.guestSeconds.toFixed(3)} s` : `${(outcome.guestSeconds * 1000).toFixed(3)} ms`;
  const figures = `${outcome.wallSeconds.toFixed(2)} s; guest ${guest}, ${outcome.instructions} instructions`;
  if (outcome.verdict === 'pass') return `PASS  ${name} (${figures})\n`;
  const tail = lastLines(outcome.console, TAIL_LINES).map((line) => `      | ${line}\n`).join('');
  return `${outcome.verdict === 'fail' ? 'FAIL ' : 'ERROR'} ${name}: ${outcome.reason} (${figures})\n${tail}`;
}

function writeJunit(path: string, listFiles: readonly string[], finished: readonly Finished[], started: Date): void {
  const suites: JunitTestSuite[] = listFiles.map((file) => {
    const cases = finished.filter((result) => result.test.listFile === resolvePath(file));
    const name = suiteName(file);
    return {
      name,
      timestamp: started,
      seconds: cases.reduce((sum, result) => sum + result.outcome.wallSeconds, 0),
      cases: cases.map(({ test, outcome }) => {
        const tail = lastLines(outcome.console, TAIL_LINES);
        return {
          name: test.name,
          classname: name,
          seconds: outcome.wallSeconds,
          verdict: outcome.verdict,
          reason: outcome.reason,
          details: `${outcome.reason}\n${tail.length > 0 ? `\nlast console lines:\n${tail.join('\n')}\n` : '\n(the console printed nothing)\n'}`,
          console: outcome.console,
        };
      }),
    };
  });
  try {
    writeFileSync(path, junitXml(suites));
  } catch (error) {
    throw new UsageError(`cannot write JUnit file '${path}': ${fileErrorReason(error)}`);
  }
  process.stdout.write(`JUnit XML written to ${path}\n`);
}

/** Runs one test in a child process (this CLI with TEST_WORKER_COMMAND). */
function runInWorker(test: TestCase): Promise<TestOutcome> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    let child: ChildProcess;
    const failed = (reason: string): TestOutcome => ({
      verdict: 'error', reason, console: '', guestSeconds: 0, instructions: 0, wallSeconds: (performance.now() - startedAt) / 1000,
    });
    try {
      child = fork(process.argv[1], [TEST_WORKER_COMMAND], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced' });
    } catch (error) {
      resolve(failed(`cannot start a test worker: ${(error as Error).message}`));
      return;
    }
    let outcome: TestOutcome | undefined;
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-16384);
    });
    child.stdout?.resume();
    const killer = setTimeout(() => child.kill('SIGKILL'), test.wallTimeoutSeconds * 1000 + KILL_GRACE_MS);
    child.on('message', (message) => {
      outcome = message as TestOutcome;
    });
    child.on('error', (error) => {
      clearTimeout(killer);
      resolve(failed(`test worker: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      if (outcome !== undefined) {
        resolve(outcome);
        return;
      }
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      const detail = stderr.trim() === '' ? '' : `: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
      resolve(failed(`the test worker ${how} without a result${detail}`));
    });
    child.send(test);
  });
}
