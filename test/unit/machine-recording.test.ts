// Record and replay (vmm-core/machine/recording.ts): console input typed at arbitrary points and
// waits cut short by it, network frames and a pulled cable are recorded with the point they
// entered; a replay with no host I/O reaches the recorded state (hash) and prints the same; an
// edited or foreign recording reports where it first diverges; a damaged file is refused.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { NetBackend } from '../../vmm-core/bridges/types';
import { Machine } from '../../vmm-core/machine/machine';
import {
  InputRecorder, RECORDING_MAGIC, readRecording, Replay, ReplayDivergence, replayMachineConfig,
} from '../../vmm-core/machine/recording';
import { machineStateHash, rewriteSnapshotSection, SnapshotError, snapshotSectionBytes } from '../../vmm-core/machine/snapshot';
import { decodeState, encodeState, type StateRecord } from '../../vmm-core/machine/state';

const kernel = (path: string) => ({ fileName: path, bytes: new Uint8Array(readFileSync(path)) });

/** A network whose frames the test sends in by hand. */
class HandNetwork implements NetBackend {
  readonly description = 'frames from the test';
  receiver: ((frame: Uint8Array) => boolean) | null = null;
  sent = 0;
  send(): void {
    this.sent++;
  }
  setReceiver(receiver: ((frame: Uint8Array) => boolean) | null): void {
    this.receiver = receiver;
  }
  close(): void {}
}

/** The console guest, typed at: it waits in wfi (paced idle) between keys and prints mtime on `time`. */
function recordSession(): { file: Uint8Array; output: string; hash: string; exit: unknown } {
  let output = '';
  const network = new HandNetwork();
  const machine = new Machine({
    kernel: kernel('guests/bin/console.elf'), idle: 'pace', consoleOutput: (byte) => (output += String.fromCharCode(byte)),
    virtioDevices: [{ kind: 'net', backend: network }],
  });
  // A host with a console open: waiting for a key is not a deadlock.
  machine.externalInputPossible = () => true;
  const recorder = new InputRecorder(machine);
  const runFor = (steps: number) => {
    const end = machine.totalSteps() + steps;
    while (machine.exit === null && machine.totalSteps() < end) {
      const result = machine.run(1000);
      if (result.kind === 'idle') {
        // As a paced host does: a wait cut short part-way by the input that comes next.
        const next = machine.nextTimerEventNanoseconds();
        if (next === Infinity) return;
        machine.advanceIdleTime(machine.virtualNanoseconds + Math.floor((next - machine.virtualNanoseconds) / 3));
        return;
      }
    }
  };
  const type = (text: string) => {
    for (const byte of new TextEncoder().encode(text)) {
      runFor(137);
      machine.sendConsoleInput([byte]);
    }
  };
  runFor(5000);
  type('add 2 40\r');
  runFor(20_000);
  network.receiver?.(new Uint8Array(60).fill(0xab));
  machine.setNetworkLink(false);
  // A sleep in the guest is a wait with a timer: the host cuts it short part-way, twice.
  type('sleep 20\r');
  runFor(20_000);
  runFor(20_000);
  type('time\r');
  runFor(20_000);
  type('exit 9\r');
  while (machine.exit === null) {
    const result = machine.run(100_000);
    if (result.kind === 'idle') machine.advanceIdleTime(machine.nextTimerEventNanoseconds());
  }
  const file = recorder.save();
  return { file, output, hash: machineStateHash(machine), exit: machine.exit };
}

function replay(file: Uint8Array): { output: string; hash: string; exit: unknown; sent: number } {
  let output = '';
  const recording = readRecording(file);
  const { config, cards } = replayMachineConfig(recording, { consoleOutput: (byte) => (output += String.fromCharCode(byte)) });
  const machine = new Machine(config);
  const driver = new Replay(machine, recording, cards);
  while (driver.step(50_000) !== 'ended') { /* runs to each input, then the end */ }
  return { output, hash: machineStateHash(machine), exit: machine.exit, sent: 0 };
}

describe('record and replay', () => {
  const recorded = recordSession();

  it('a replay with no host I/O is the recorded run: output, exit and state hash', () => {
    assert.match(recorded.output, /= 42/);
    assert.match(recorded.output, /mtime \d+/);
    const replayed = replay(recorded.file);
    assert.equal(replayed.output, recorded.output);
    assert.deepEqual(replayed.exit, recorded.exit);
    assert.equal(replayed.hash, recorded.hash);
    const parsed = readRecording(recorded.file);
    assert.ok(parsed.inputs.filter((input) => input.kind === 'console').length >= 20);
    assert.ok(parsed.inputs.some((input) => input.kind === 'idle'), 'waits cut short are recorded');
    assert.ok(parsed.inputs.some((input) => input.kind === 'frame'));
    assert.ok(parsed.inputs.some((input) => input.kind === 'link' && !input.up));
  });

  const editedInputs = (change: (inputs: Record<string, unknown>[]) => void): Uint8Array => {
    const events = decodeState(snapshotSectionBytes(recorded.file, 'EVTS', RECORDING_MAGIC)) as Record<string, unknown>;
    const inputs = (events.inputs as Record<string, unknown>[]).map((input) => ({ ...input }));
    change(inputs);
    return rewriteSnapshotSection(recorded.file, 'EVTS', encodeState({ ...events, inputs } as StateRecord), RECORDING_MAGIC);
  };

  it('an edited input is reported where the run first differs', () => {
    // Another key than the one typed: the guest prints something else and is elsewhere at the next input.
    const file = editedInputs((inputs) => {
      const index = inputs.findIndex((input) => input.kind === 'console');
      inputs[index] = { ...inputs[index], bytes: new TextEncoder().encode('x') };
    });
    assert.throws(() => replay(file), (error: unknown) => {
      assert.ok(error instanceof ReplayDivergence, String(error));
      assert.match((error as Error).message, /(before recorded \w+ input \d+|at the end of the recording) \(step \d+\): harts at [0-9a-f]+\/\d+ \(pc\/steps\), the recording says [0-9a-f]+\/\d+|machine's state differs/);
      return true;
    });
    // An input moved later than where it came: the harts are not where the recording says.
    let moved = -1;
    const late = editedInputs((inputs) => {
      moved = inputs.findIndex((input, index) => input.kind === 'console' && index + 1 < inputs.length && (inputs[index + 1].at as number) - (input.at as number) > 3);
      inputs[moved] = { ...inputs[moved], at: (inputs[moved].at as number) + 3 };
    });
    assert.throws(() => replay(late), new RegExp(`before recorded console input ${moved + 1} \\(step \\d+\\): harts at|the machine waits for input at step \\d+; the recording's next input is at step \\d+`));
  });

  it('a recording replayed on another kernel diverges at its first input', () => {
    const config = decodeState(snapshotSectionBytes(recorded.file, 'CONF', RECORDING_MAGIC)) as Record<string, unknown>;
    const other = rewriteSnapshotSection(recorded.file, 'CONF', encodeState({ ...config, kernel: kernel('guests/bin/rv64i.elf') } as StateRecord), RECORDING_MAGIC);
    assert.throws(() => replay(other), ReplayDivergence);
  });

  it('damaged or truncated recordings and snapshots passed as recordings are one clear error', () => {
    assert.throws(() => readRecording(recorded.file.subarray(0, recorded.file.length - 1)), /recording is truncated/);
    const damaged = recorded.file.slice();
    damaged[damaged.length - 3] ^= 0x40;
    assert.throws(() => readRecording(damaged), (error: unknown) => error instanceof SnapshotError && /recording section 'EVTS' is damaged/.test((error as Error).message));
    assert.throws(() => readRecording(new TextEncoder().encode('RINGSNAP' + ' '.repeat(80))), /not a Ringside recording \(no RINGRECD signature\)/);
  });
});
