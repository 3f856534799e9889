// End-to-end tests of `ringside test`: test lists on the committed guests (guests/bin), run by
// the bundled CLI in parallel workers; the printed results, the exit code and the JUnit XML
// (read back with a small XML reader) are checked, and bad lists get one clear error.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { findAll, parseXml, type XmlElement } from '../support/xml';
import { assertBadInput, type CliResult, useBuiltCliAndScratch } from './support';

const scratch = useBuiltCliAndScratch('ringside-test-command-');
const CLI = resolve('dist/cli.js');
const guest = (name: string): string => resolve('guests/bin', `${name}.elf`);

/** Runs `ringside test ARGS` without blocking the event loop (workers run for seconds). */
function ringsideTest(args: readonly string[], cwd = process.cwd()): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, 'test', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

function writeList(name: string, list: unknown): string {
  const path = join(scratch(), name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, typeof list === 'string' ? list : JSON.stringify(list, null, 2));
  return path;
}

/** The one result line of a test: `PASS  name (...)`, `FAIL  name: reason (...)` or `ERROR name: ...`. */
function resultLine(stdout: string, name: string): string {
  const lines = stdout.split('\n').filter((line) => new RegExp(`^(PASS |FAIL |ERROR) ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[ :]`).test(line));
  assert.equal(lines.length, 1, `one result line for '${name}' in:\n${stdout}`);
  return lines[0];
}

const testcase = (root: XmlElement, name: string): XmlElement => {
  const found = findAll(root, 'testcase').filter((element) => element.attributes.name === name);
  assert.equal(found.length, 1, `one testcase '${name}'`);
  return found[0];
};

describe('ringside test', () => {
  test('a list of passing and failing tests: a line per test, a summary, exit code 1, JUnit XML', async () => {
    const garbage = join(scratch(), 'garbage.elf');
    writeFileSync(garbage, 'this is not an ELF file\n');
    const list = writeList('mixed.ringside-tests.json', {
      timeout: 5,
      tests: [
        { name: 'passes', machine: { kernel: guest('rv64i') }, consoleContains: ['ok shifts', '/ok jal\\/jalr\\n/', 'PASS'], consoleLacks: ['FAIL'] },
        { name: 'wrong exit code', machine: { kernel: guest('rv64m') }, exitCode: 3 },
        { name: 'missing text', machine: { kernel: guest('rv64a') }, consoleContains: ['PASS', 'never printed', '/^no such line$/m'] },
        { name: 'forbidden text', machine: { kernel: guest('rvc') }, consoleLacks: ['/c\\.ebreak/'] },
        { name: 'fail on trap', machine: { kernel: guest('fd') }, failOn: ['trap:2'] },
        { name: 'pass on console', machine: { kernel: guest('demo') }, passOn: ['console:task A: round 1'], consoleContains: ['demo: kernel running in S-mode'] },
        { name: 'busy timeout', machine: { kernel: guest('bench') }, timeout: 0.004 },
        // Waits for console input that cannot come, with no timer armed: the machine says so.
        { name: 'deadlock', machine: { kernel: guest('console') }, timeout: 2 },
        { name: 'not an ELF', machine: { kernel: garbage } },
        { name: 'pass on a symbol', machine: { kernel: guest('demo') }, passOn: ['pc:sys_write'] },
        { name: 'fail at an address', machine: { kernel: guest('demo') }, failOn: ['pc:0x800008e8'] },
        { name: 'unknown symbol', machine: { kernel: guest('rv64i') }, failOn: ['pc:no_such_symbol'] },
      ],
    });
    const junit = join(scratch(), 'mixed.xml');
    const result = await ringsideTest([list, '--jobs', '3', '--junit', junit]);
    assert.equal(result.code, 1, `exit code; stderr:\n${result.stderr}\nstdout:\n${result.stdout}`);
    assert.match(result.stdout, /^ringside test: 12 tests from 1 list, 3 at a time\n/);

    assert.match(resultLine(result.stdout, 'passes'), /^PASS  passes \([0-9.]+ s; guest [0-9.]+ ms, [0-9]+ instructions\)$/);
    assert.match(resultLine(result.stdout, 'wrong exit code'), /^FAIL  wrong exit code: guest exited with code 0 \(finisher\), expected 3 /);
    assert.match(resultLine(result.stdout, 'missing text'), /^FAIL  missing text: guest exited with code 0 \(finisher\), but the console never printed 'never printed', \/\^no such line\$\/m /);
    assert.match(resultLine(result.stdout, 'forbidden text'), /^FAIL  forbidden text: the console printed \/c\\.ebreak\/, which it must not /);
    assert.match(resultLine(result.stdout, 'fail on trap'), /^FAIL  fail on trap: failOn 'trap:2': stopped on exception 2 \(M->M\), tval 0x[0-9a-f]{16}, epc 0x[0-9a-f]{16} /);
    assert.match(resultLine(result.stdout, 'pass on console'), /^PASS  pass on console \(/);
    assert.match(resultLine(result.stdout, 'busy timeout'), /^FAIL  busy timeout: timeout: the guest ran 0.004 guest seconds without finishing \([0-9.]+ s; guest 4\.000 ms, 250000 instructions\)$/);
    assert.match(resultLine(result.stdout, 'deadlock'), /^ERROR deadlock: emulator error on hart 0: every hart waits for an interrupt and no timer or device event is pending /);
    assert.match(resultLine(result.stdout, 'not an ELF'), /^ERROR not an ELF: /);
    assert.match(resultLine(result.stdout, 'pass on a symbol'), /^PASS  pass on a symbol \(/);
    assert.match(resultLine(result.stdout, 'fail at an address'), /^FAIL  fail at an address: failOn 'pc:0x800008e8': stopped at breakpoint, pc 0x00000000800008e8 /);
    assert.match(resultLine(result.stdout, 'unknown symbol'), /^ERROR unknown symbol: failOn 'pc:no_such_symbol': no symbol 'no_such_symbol' in the kernel or firmware ELF /);
    // The console's last lines follow a failure.
    assert.match(result.stdout, /FAIL  fail on trap: [^\n]*\n(      \| [^\n]*\n)*      \| fd: [^\n]*\n/);
    assert.match(result.stdout, /\n12 tests: 3 passed, 6 failed, 3 errors \([0-9.]+ s\)\n/);
    assert.match(result.stdout, /\n {2}FAIL  fail on trap: failOn 'trap:2'/);
    // The passOn stop ended the demo early: task A's round 1, long before the demo's power-off.
    const instructions = Number(/pass on console \([^;]+; guest [0-9.]+ ms, ([0-9]+) instructions/.exec(result.stdout)![1]);
    assert.ok(instructions > 10_000 && instructions < 2_000_000, `demo stopped at task A round 1 after ${instructions} instructions`);

    const root = parseXml(readFileSync(junit, 'utf8'));
    assert.equal(root.name, 'testsuites');
    assert.deepEqual([root.attributes.tests, root.attributes.failures, root.attributes.errors], ['12', '6', '3']);
    const suites = findAll(root, 'testsuite');
    assert.equal(suites.length, 1);
    assert.equal(suites[0].attributes.name, 'mixed');
    assert.deepEqual([suites[0].attributes.tests, suites[0].attributes.failures, suites[0].attributes.errors, suites[0].attributes.skipped], ['12', '6', '3', '0']);
    assert.match(suites[0].attributes.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    // Test cases in list order, each with a time.
    assert.deepEqual(findAll(root, 'testcase').map((element) => element.attributes.name),
      ['passes', 'wrong exit code', 'missing text', 'forbidden text', 'fail on trap', 'pass on console', 'busy timeout', 'deadlock', 'not an ELF', 'pass on a symbol', 'fail at an address', 'unknown symbol']);
    for (const element of findAll(root, 'testcase')) {
      assert.equal(element.attributes.classname, 'mixed');
      assert.match(element.attributes.time, /^[0-9]+\.[0-9]{3}$/);
    }
    const passes = testcase(root, 'passes');
    assert.equal(findAll(passes, 'failure').length + findAll(passes, 'error').length, 0);
    assert.match(findAll(passes, 'system-out')[0].text, /^rv64i: RV64I base instructions\n(.*\n)*ok jal\/jalr\n(.*\n)*PASS\n$/);
    const trap = findAll(testcase(root, 'fail on trap'), 'failure');
    assert.equal(trap.length, 1);
    assert.match(trap[0].attributes.message, /^failOn 'trap:2': stopped on exception 2 \(M->M\)/);
    assert.match(trap[0].text, /^failOn 'trap:2': [^\n]*\n\nlast console lines:\n(.*\n)*fd: /);
    assert.match(findAll(testcase(root, 'fail on trap'), 'system-out')[0].text, /^fd: /);
    assert.match(findAll(testcase(root, 'wrong exit code'), 'failure')[0].attributes.message, /expected 3$/);
    const error = findAll(testcase(root, 'not an ELF'), 'error');
    assert.equal(error.length, 1);
    assert.ok(error[0].attributes.message.length > 0);
    assert.match(findAll(testcase(root, 'deadlock'), 'error')[0].text, /^emulator error on hart 0: [^\n]*\n\nlast console lines:\n/);
  });

  test('the committed example list passes from any working directory (paths are relative to the list and its config file)', async () => {
    const result = await ringsideTest([resolve('examples/ci/guests.ringside-tests.json'), '--junit', 'results.xml'], scratch());
    assert.equal(result.code, 0, `exit code; stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    const count = JSON.parse(readFileSync('examples/ci/guests.ringside-tests.json', 'utf8')).tests.length as number;
    assert.match(result.stdout, new RegExp(`\\n${count} tests: ${count} passed, 0 failed \\(`));
    assert.equal((result.stdout.match(/^PASS {2}/gm) ?? []).length, count);
    const root = parseXml(readFileSync(join(scratch(), 'results.xml'), 'utf8'));
    assert.deepEqual([root.attributes.tests, root.attributes.failures, root.attributes.errors], [String(count), '0', '0']);
  });

  test('consoleInput types into the guest step by step, each step after its prompt', async () => {
    const list = writeList('input.ringside-tests.json', {
      machine: { kernel: guest('console') },
      tests: [
        {
          name: 'prompts',
          consoleInput: [{ after: '> ', send: 'add 2 3\n' }, { after: '/^= 5\r?$/m', send: 'exit 7\n' }],
          exitCode: 7,
          consoleContains: ['> add 2 3\n= 5\n> exit 7\nbye'],
        },
        {
          // More than the UART's 16-byte FIFO at once: the rest goes in as the guest reads.
          name: 'a long line',
          consoleInput: [{ after: 'console: ready', send: `add 1000000 234567 ${'and then some '.repeat(8)}\nadd 40 2\nexit 0\n` }],
          consoleContains: ['= 1234567', '= 42'],
        },
        {
          name: 'a prompt that never comes',
          consoleInput: [{ after: '> ', send: 'add 2 3\n' }, { after: '= 6', send: 'exit 0\n' }],
        },
        {
          // Idle pacing: the guest's 300 ms sleep takes 300 ms of guest time.
          name: 'sleep',
          machine: { idle: 'pace' },
          consoleInput: [{ after: '> ', send: 'sleep 300\n' }, { after: '> ', send: 'exit 0\n' }],
          consoleContains: ['slept 300 ms'],
        },
      ],
    });
    const result = await ringsideTest([list]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(resultLine(result.stdout, 'prompts'), /^PASS /);
    assert.match(resultLine(result.stdout, 'a long line'), /^PASS /);
    assert.match(resultLine(result.stdout, 'a prompt that never comes'),
      /^FAIL  a prompt that never comes: the guest waits, and consoleInput\[1\] waits for '= 6', which the console never printed /);
    assert.match(resultLine(result.stdout, 'sleep'), /^PASS  sleep \([0-9.]+ s; guest 3[0-9][0-9]\.[0-9]{3} ms/);
  });

  test('tests sharing a disk image with snapshot=on run side by side; drive paths are relative to the list', async () => {
    mkdirSync(join(scratch(), 'disks', 'images'), { recursive: true });
    writeFileSync(join(scratch(), 'disks', 'images', 'shared.img'), new Uint8Array(1024 * 1024));
    const shared = { kernel: guest('rv64i'), drives: ['file=images/shared.img,format=raw,snapshot=on'] };
    const list = writeList('disks/shared.ringside-tests.json', {
      machine: shared,
      tests: [{ name: 'first', consoleContains: ['PASS'] }, { name: 'second', consoleContains: ['PASS'] }],
    });
    const result = await ringsideTest([list, '--jobs', '2']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /\n2 tests: 2 passed, 0 failed/);
    // The same path resolved against the working directory instead would not exist.
    const elsewhere = writeList('disks/elsewhere/moved.ringside-tests.json', { machine: shared, tests: [{ name: 'x' }] });
    assertBadInput(await ringsideTest([elsewhere]), /moved\.ringside-tests\.json: 'machine\.drives\[0\]': no such file '.*\/disks\/elsewhere\/images\/shared\.img'/);
  });

  test('the same test gives the same run, side by side', async () => {
    const demo = { machine: { kernel: guest('demo') }, passOn: ['console:task B: round 2'] };
    const list = writeList('twice.ringside-tests.json', { tests: [{ name: 'demo once', ...demo }, { name: 'demo again', ...demo }] });
    const junit = join(scratch(), 'twice.xml');
    const result = await ringsideTest([list, '--jobs', '2', '--junit', junit]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const figures = (name: string): string => /; (guest [0-9.]+ ms, [0-9]+ instructions)\)$/.exec(resultLine(result.stdout, name))![1];
    assert.equal(figures('demo once'), figures('demo again'));
    const outputs = findAll(parseXml(readFileSync(junit, 'utf8')), 'system-out').map((element) => element.text);
    assert.match(outputs[0], /task A: round 2/);
    assert.equal(outputs[0], outputs[1]);
  });

  test('--filter runs the tests whose name contains the text; several lists are one testsuite each', async () => {
    const first = writeList('lists/first.ringside-tests.json', {
      tests: [
        { name: 'rv64i base', machine: { kernel: guest('rv64i') }, consoleContains: ['PASS'] },
        { name: 'rv64m multiply', machine: { kernel: guest('rv64m') }, consoleContains: ['PASS'] },
      ],
    });
    const second = writeList('lists/second.ringside-tests.json', {
      machine: { kernel: guest('rv64a') },
      tests: [{ name: 'rv64a atomics', consoleContains: ['PASS'] }, { name: 'atomics again' }],
    });
    const junit = join(scratch(), 'filtered.xml');
    const result = await ringsideTest([first, second, '--filter', 'rv64', '--filter', 'again', '--junit', junit]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^ringside test: 4 tests from 2 lists/);
    for (const name of ['first/rv64i base', 'first/rv64m multiply', 'second/rv64a atomics', 'second/atomics again']) {
      assert.match(resultLine(result.stdout, name), /^PASS /);
    }
    const root = parseXml(readFileSync(junit, 'utf8'));
    assert.deepEqual(findAll(root, 'testsuite').map((suite) => [suite.attributes.name, suite.attributes.tests]), [['first', '2'], ['second', '2']]);

    const one = await ringsideTest([first, second, '--filter', 'multiply']);
    assert.equal(one.code, 0, one.stdout + one.stderr);
    assert.match(one.stdout, /^ringside test: 1 test from 2 lists, 1 at a time\n/);
    assert.match(resultLine(one.stdout, 'first/rv64m multiply'), /^PASS /);

    // Without files: every *.ringside-tests.json under the working directory.
    const found = await ringsideTest(['--filter', 'atomics'], join(scratch(), 'lists'));
    assert.equal(found.code, 0, found.stdout + found.stderr);
    assert.match(found.stdout, /^ringside test: 2 tests from 2 lists/);
  });

  test('--jobs N runs N tests at the same time', async () => {
    // Each test waits for input that never comes until its 3 s wall timeout (a network card
    // makes input possible, so the idle guest is not a deadlock): it costs no CPU, and three
    // of them one after another would take at least 9 s.
    const waits = Array.from({ length: 3 }, (_, index) => ({
      name: `wait ${index}`, machine: { kernel: guest('console'), netdevs: ['user,restrict=on'] }, wallTimeout: 3,
    }));
    const list = writeList('parallel.ringside-tests.json', { tests: waits });
    const started = performance.now();
    const result = await ringsideTest([list, '--jobs', '3']);
    const seconds = (performance.now() - started) / 1000;
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stdout, /^ringside test: 3 tests from 1 list, 3 at a time\n/);
    for (const wait of waits) assert.match(resultLine(result.stdout, wait.name), /: wall timeout: 3 s of wall time passed \(3\.[0-9]+ s;/);
    assert.ok(seconds < 8.5, `three 3 s tests with --jobs 3 took ${seconds.toFixed(1)} s: they did not run at the same time`);
  });
});

describe('ringside test: bad input', () => {
  const tests = (entries: unknown[]): unknown => ({ tests: entries });
  const cases: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{\n  "tests": [\n    { "name": "x", }\n  ]\n}\n', /bad-0\.ringside-tests\.json: not valid JSON \(line 3, column 20\)/],
    ['no tests field', { test: [] }, /bad-1\.ringside-tests\.json: 'tests' is required; 'test' is not a known attribute$/m],
    ['empty list', tests([]), /'tests' is empty/],
    ['empty name', tests([{ name: '', machine: { kernel: guest('rv64i') } }]), /'tests\[0\]\.name' must not be empty/],
    ['misspelt field', tests([{ name: 'x', machine: { kernel: guest('rv64i') }, exitcode: 1 }]), /'tests\[0\]\.exitcode' is not a known attribute/],
    ['bad machine field', tests([{ name: 'x', machine: { kernel: guest('rv64i'), harts: 9 } }]), /'tests\[0\]\.machine\.harts' must be at most 8, got 9/],
    ['bad memory', tests([{ name: 'x', machine: { kernel: guest('rv64i'), memory: '12X' } }]), /'tests\[0\]\.machine\.memory' has the wrong form: "12X"/],
    ['too little memory', tests([{ name: 'x', machine: { kernel: guest('rv64i'), memory: '64K' } }]), /'tests\[0\]\.machine\.memory': memory must be at least 1 MiB/],
    ['missing kernel file', tests([{ name: 'x', machine: { kernel: 'nowhere.elf' } }]), /'tests\[0\]\.machine\.kernel': no such file '.*\/nowhere\.elf'/],
    ['no kernel', tests([{ name: 'x' }]), /'tests\[0\]\.machine': no kernel/],
    ['bad stop condition', tests([{ name: 'x', machine: { kernel: guest('rv64i') }, failOn: ['trap:two'] }]), /'tests\[0\]\.failOn\[0\]': 'trap:two': 'two' is not a cause number or \*/],
    ['unknown stop kind', tests([{ name: 'x', machine: { kernel: guest('rv64i') }, passOn: ['watch:0x80000000'] }]), /'tests\[0\]\.passOn\[0\]' has the wrong form/],
    ['bad input step', tests([{ name: 'x', machine: { kernel: guest('console') }, consoleInput: [{ after: '> ' }] }]), /'tests\[0\]\.consoleInput\[0\]\.send' is required/],
    ['bad regex', tests([{ name: 'x', machine: { kernel: guest('rv64i') }, consoleContains: ['/(unclosed/'] }]), /'tests\[0\]\.consoleContains\[0\]': not a valid regular expression/],
    ['duplicate names', tests([{ name: 'x', machine: { kernel: guest('rv64i') } }, { name: 'x', machine: { kernel: guest('rv64m') } }]), /'tests\[1\]\.name': a test named 'x' comes earlier in the list/],
    ['zero timeout', tests([{ name: 'x', machine: { kernel: guest('rv64i') }, timeout: 0 }]), /'tests\[0\]\.timeout' must be at least/],
    ['missing config file', tests([{ name: 'x', machine: { config: 'missing.ringside.json' } }]), /'tests\[0\]\.machine\.config': no such file '.*missing\.ringside\.json'/],
  ];
  cases.forEach(([what, list, message], index) => {
    test(`${what}: one clear error, exit code 2`, async () => {
      const path = writeList(`bad-${index}.ringside-tests.json`, list);
      const result = await ringsideTest([path]);
      assertBadInput(result, message);
      assert.match(result.stderr, new RegExp(`bad-${index}\\.ringside-tests\\.json`), 'the error names the list file');
    });
  });

  test('a bad machine config file named by a list: the error names the config file and the field', async () => {
    writeList('configs/wide.ringside.json', { kernel: guest('rv64i'), harts: 0 });
    const path = writeList('configs/uses-wide.ringside-tests.json', { tests: [{ name: 'x', machine: { config: 'wide.ringside.json' } }] });
    assertBadInput(await ringsideTest([path]), /wide\.ringside\.json: 'harts' must be at least 1, got 0$/m);
  });

  test('bad command lines', async () => {
    const list = writeList('good.ringside-tests.json', tests([{ name: 'x', machine: { kernel: guest('rv64i') } }]));
    assertBadInput(await ringsideTest([list, '--jobs', '0']), /--jobs needs a number of tests at a time, at least 1, got '0'/);
    assertBadInput(await ringsideTest([list, '--jobs']), /--jobs needs a value/);
    assertBadInput(await ringsideTest([list, '--retries', '2']), /unknown option '--retries'/);
    assertBadInput(await ringsideTest([list, '--filter', 'nothing-like-it']), /no test matches --filter 'nothing-like-it'/);
    assertBadInput(await ringsideTest([join(scratch(), 'absent.ringside-tests.json')]), /cannot read test list '.*absent\.ringside-tests\.json': no such file or directory/);
    const empty = join(scratch(), 'empty-folder');
    mkdirSync(empty, { recursive: true });
    assertBadInput(await ringsideTest([], empty), /no test lists given and no \*\.ringside-tests\.json under /);
    const directory = join(scratch(), 'junit-is-a-folder');
    mkdirSync(directory, { recursive: true });
    const unwritable = await ringsideTest([list, '--junit', directory]);
    assert.equal(unwritable.code, 2);
    assert.match(unwritable.stderr, /^ringside: cannot write JUnit file '.*junit-is-a-folder': is a directory\n$/);
  });
});
