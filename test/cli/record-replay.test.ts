// `ringside run --record` of an interactive session typed on a real terminal (a pseudo-terminal
// made by util-linux `script`, with pauses between keys, so the guest's waits end at wall-clock
// moments), then `ringside run --replay`: the same console output, the same exit code, no input
// read; an edited recording is reported where it diverges; bad use is one line.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RECORDING_MAGIC } from '../../vmm-core/machine/recording';
import { rewriteSnapshotSection, snapshotSectionBytes } from '../../vmm-core/machine/snapshot';
import { decodeState, encodeState, type StateRecord } from '../../vmm-core/machine/state';
import { assertBadInput, useBuiltCliAndScratch } from './support';

const scratch = useBuiltCliAndScratch('ringside-record-');
const CLI = 'dist/cli.js';
const GUEST = 'guests/bin/console.elf';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Types `keys` into `ringside run ARGS` on a pseudo-terminal, one line at a time after the prompt. */
async function typeOnTerminal(args: string, lines: readonly string[]): Promise<string> {
  const child = spawn('script', ['-qfec', `node ${CLI} run ${args}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('latin1')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const waitFor = async (text: string) => {
    for (const deadline = Date.now() + 20_000; !output.includes(text); await sleep(20)) {
      if (Date.now() > deadline) throw new Error(`no '${text}' within 20 s; output so far:\n${output}`);
    }
  };
  let prompts = 0;
  for (const line of lines) {
    prompts++;
    await waitFor('> '.repeat(1));
    while (output.split('> ').length - 1 < prompts) await sleep(20);
    await sleep(150);
    for (const key of line) {
      child.stdin.write(key);
      await sleep(15);
    }
  }
  assert.equal(await exited, 0);
  return output;
}

describe('ringside run --record and --replay', () => {
  it('an interactive terminal session replays to the same output and exit code, reading no input', async () => {
    const recording = join(scratch(), 'session.rec');
    const typed = await typeOnTerminal(`--kernel ${GUEST} --record ${recording}; echo "EXIT=$?"`, ['add 20 22\r', 'sleep 300\r', 'time\r', 'exit 6\r']);
    assert.match(typed, /= 42/);
    assert.match(typed, /EXIT=6/);
    assert.match(typed, /ringside: recording of \d+ inputs over \d+ steps written to .*session\.rec/);
    const guestOutput = /console: ready[\s\S]*bye\n/.exec(typed.replace(/\r\n/g, '\n'))?.[0];
    assert.ok(guestOutput !== undefined, typed);
    // The `time` command printed a moment that depended on when the keys came.
    const mtime = /mtime (\d+)/.exec(guestOutput)?.[1];
    assert.ok(mtime !== undefined);

    const replayed = spawnSync(process.execPath, [CLI, 'run', '--replay', recording], { encoding: 'latin1', input: 'exit 1\r', timeout: 30_000 });
    assert.equal(replayed.status, 6, replayed.stderr);
    assert.equal(replayed.stdout.replace(/\r\n/g, '\n'), guestOutput.replace(/\r\n/g, '\n'));
    assert.match(replayed.stdout, new RegExp(`mtime ${mtime}\\b`));
    assert.match(replayed.stderr, /ringside: replayed \d+ inputs over \d+ steps: the same run as recorded\n$/);

    // Another key in place of one typed: the run goes elsewhere, and the replay says where.
    const file = new Uint8Array(readFileSync(recording));
    const events = decodeState(snapshotSectionBytes(file, 'EVTS', RECORDING_MAGIC)) as Record<string, unknown>;
    const inputs = (events.inputs as Array<Record<string, unknown>>).map((input) => ({ ...input }));
    const first = inputs.findIndex((input) => input.kind === 'console');
    inputs[first] = { ...inputs[first], bytes: new TextEncoder().encode('9') };
    const edited = join(scratch(), 'edited.rec');
    writeFileSync(edited, rewriteSnapshotSection(file, 'EVTS', encodeState({ ...events, inputs } as StateRecord), RECORDING_MAGIC));
    const diverged = spawnSync(process.execPath, [CLI, 'run', '--replay', edited], { encoding: 'latin1', timeout: 30_000 });
    assert.equal(diverged.status, 2);
    assert.match(diverged.stderr, /ringside: replay of .*edited\.rec diverged: /);
  });

  it('a disk\'s contents at power-on are in the recording: the replay writes no file and matches', () => {
    const image = join(scratch(), 'vkernel.img');
    const made = spawnSync(process.execPath, ['guests/vkernel/make-disk.mjs', 'create', image], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const recording = join(scratch(), 'disk.rec');
    const recorded = spawnSync(process.execPath, [CLI, 'run', '--kernel', 'guests/bin/vkernel.elf', '--drive', `file=${image},format=raw`, '--record', recording],
      { encoding: 'latin1', timeout: 60_000 });
    assert.match(recorded.stdout, /vkernel: all 6 processes passed/, recorded.stderr);
    const written = readFileSync(image);
    const replayed = spawnSync(process.execPath, [CLI, 'run', '--replay', recording], { encoding: 'latin1', timeout: 60_000 });
    assert.equal(replayed.status, recorded.status, replayed.stderr);
    assert.equal(replayed.stdout, recorded.stdout);
    assert.match(replayed.stderr, /the same run as recorded/);
    assert.deepEqual(readFileSync(image), written, 'the replay wrote nothing to the image');
  });

  it('a run restored from a snapshot is recorded from there, and replays from there', () => {
    const snapshot = join(scratch(), 'console.snap');
    const saved = spawnSync(process.execPath, [CLI, 'run', '--kernel', GUEST, '--snapshot-at', '300', '--snapshot-out', snapshot, '--snapshot-exit'], { encoding: 'latin1', input: '' });
    assert.equal(saved.status, 0, saved.stderr);
    const recording = join(scratch(), 'restored.rec');
    const recorded = spawnSync(process.execPath, [CLI, 'run', '--restore', snapshot, '--record', recording], { encoding: 'latin1', input: 'add 5 6\rexit 4\r', timeout: 30_000 });
    assert.equal(recorded.status, 4, recorded.stderr);
    assert.match(recorded.stdout, /= 11/);
    const replayed = spawnSync(process.execPath, [CLI, 'run', '--replay', recording], { encoding: 'latin1', timeout: 30_000 });
    assert.equal(replayed.status, 4, replayed.stderr);
    assert.equal(replayed.stdout, recorded.stdout);
    assert.match(replayed.stderr, /the same run as recorded/);
  });

  it('bad use is one line on stderr', () => {
    const run = (args: string[]) => {
      const result = spawnSync(process.execPath, [CLI, 'run', ...args], { encoding: 'utf8', timeout: 30_000 });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    };
    assertBadInput(run(['--replay', join(scratch(), 'none.rec')]), /cannot read recording '.*none\.rec': no such file or directory/);
    assertBadInput(run(['--replay', 'x.rec', '--kernel', GUEST]), /--replay takes the whole machine from the recording; --kernel cannot go with it/);
    writeFileSync(join(scratch(), 'text.rec'), 'not a recording at all, but long enough to have a header of sixty-four bytes........');
    assertBadInput(run(['--replay', join(scratch(), 'text.rec')]), /not a Ringside recording \(no RINGRECD signature\)/);
  });
});
