// Record and replay. A recording holds the machine's configuration (with its images) and every
// input that came from outside, with the point of the run (all harts' steps together) at which
// it entered: console bytes, network frames, link changes, waits cut short by input, the host
// entropy source's bytes. The machine is deterministic, so replaying those inputs at those
// points reproduces the run exactly, with no host I/O: frames the guest sends go nowhere, no
// socket or console is read. Each input also notes where every hart's pc was, and the end the
// run's state hash, so a replay that does not match its machine (another build, a damaged or
// edited file) reports the first place it diverged.
//
// The file is a snapshot-style container (snapshot.ts) with the signature RINGRECD and the
// sections META, CONF and EVTS (the inputs, in order).

import { createHash } from 'node:crypto';
import type { EntropySource, NetBackend } from '../bridges/types';
import { VirtioEntropyDevice } from '../devices/virtio/index';
import { SeededEntropySource } from '../bridges/entropy';
import { hartSteps, type Machine, type MachineInputRecorder } from './machine';
import {
  captureDisk, decodeRam, encodeRam, Encoding, machineStateHash, type ParsedSnapshot, type RamImage, readSections, readSnapshot, restoreSnapshot,
  saveConfig, saveSnapshot, SnapshotError, snapshotMachineConfig, writeSnapshotFile, type RestoreHost,
} from './snapshot';
import { decodeState, encodeState, StateReader, type StateRecord } from './state';

export const RECORDING_MAGIC = 'RINGRECD';

/** One input from outside, at the point `at` (all harts' steps together) where it entered. */
export type RecordedInput =
  | { readonly kind: 'console'; readonly at: number; readonly pcs: string; readonly bytes: Uint8Array; readonly accepted: number }
  | { readonly kind: 'frame'; readonly at: number; readonly pcs: string; readonly card: number; readonly bytes: Uint8Array }
  | { readonly kind: 'idle'; readonly at: number; readonly pcs: string; readonly nanoseconds: number }
  | { readonly kind: 'link'; readonly at: number; readonly pcs: string; readonly card: number | null; readonly up: boolean };

/** Where every hart is: a cheap fingerprint replay compares at each input. */
function harts(machine: Machine): string {
  return machine.harts.map((hart) => `${hart.pc.toString(16)}/${hartSteps(hart)}`).join(' ');
}

/** Host entropy drawn during a recording: the bytes, in order (the device asks at deterministic points). */
class RecordingEntropySource implements EntropySource {
  readonly description: string;
  constructor(private readonly host: EntropySource, private readonly drawn: Uint8Array[]) {
    this.description = `${host.description} (recorded)`;
  }

  fill(target: Uint8Array): void {
    this.host.fill(target);
    this.drawn.push(target.slice());
  }
}

/** Records a machine's inputs from now on (attach before its first run). */
export class InputRecorder implements MachineInputRecorder {
  private readonly inputs: RecordedInput[] = [];
  private readonly entropy: Uint8Array[] = [];
  private readonly config: StateRecord;
  private readonly disks: ReadonlyArray<{ slot: number; image: RamImage }>;
  /** The machine's state where the recording begins, when that is not power-on (a snapshot file). */
  private readonly start: Uint8Array | undefined;

  constructor(private readonly machine: Machine) {
    if (machine.inputRecorder !== null) throw new Error('this machine is being recorded already');
    // A machine that has run already (restored from a snapshot): the recording starts from its state.
    this.start = machine.totalSteps() !== 0 ? saveSnapshot(machine, { name: 'start of the recording' }) : undefined;
    this.config = saveConfig(machine);
    // Disk contents come from outside: the recording keeps them as they were at power-on.
    this.disks = machine.disks.map((entry) => ({ slot: entry.slot, image: captureDisk(entry.disk) }));
    machine.inputRecorder = this;
    for (const slot of machine.virtioSlots) {
      const device = slot.device;
      if (device instanceof VirtioEntropyDevice && !(device.source instanceof SeededEntropySource)) {
        device.source = new RecordingEntropySource(device.source, this.entropy);
      }
    }
  }

  consoleInput(bytes: Uint8Array, accepted: number): void {
    this.inputs.push({ kind: 'console', at: this.machine.totalSteps(), pcs: harts(this.machine), bytes, accepted });
  }

  networkFrame(card: number, frame: Uint8Array): void {
    this.inputs.push({ kind: 'frame', at: this.machine.totalSteps(), pcs: harts(this.machine), card, bytes: frame.slice() });
  }

  idleAdvance(nanoseconds: number): void {
    this.inputs.push({ kind: 'idle', at: this.machine.totalSteps(), pcs: harts(this.machine), nanoseconds });
  }

  networkLink(card: number | undefined, up: boolean): void {
    this.inputs.push({ kind: 'link', at: this.machine.totalSteps(), pcs: harts(this.machine), card: card ?? null, up });
  }

  get inputCount(): number {
    return this.inputs.length;
  }

  /** The recording so far, ending where the machine is now. */
  save(): Uint8Array {
    const machine = this.machine;
    const end = {
      at: machine.totalSteps(), pcs: harts(machine), stateHash: machineStateHash(machine),
      exit: machine.exit === null ? null : JSON.stringify(machine.exit),
    };
    const inputs = this.inputs.map((input): StateRecord => ({ ...input }));
    const meta: StateRecord = {
      createdBy: 'ringside', inputs: this.inputs.length, steps: end.at, virtualNanoseconds: machine.virtualNanoseconds,
      configHash: createHash('sha256').update(encodeState(this.config)).digest('hex'),
      // Each disk's identity: the SHA-256 of its contents at power-on (blocks that are not zero and their map).
      disks: this.disks.map(({ slot, image }) => ({ slot, sha256: createHash('sha256').update(image.bitmap).update(image.pages).digest('hex') })),
    };
    return writeSnapshotFile([
      { tag: 'META', encoding: Encoding.Deflate, bytes: encodeState(meta) },
      { tag: 'CONF', encoding: Encoding.Deflate, bytes: encodeState(this.config) },
      { tag: 'EVTS', encoding: Encoding.Deflate, bytes: encodeState({ inputs, entropy: this.entropy, end }) },
      ...this.disks.map(({ slot, image }) => ({ tag: `DSK${slot}`, encoding: Encoding.Stored, bytes: encodeRam(image) })),
      ...(this.start !== undefined ? [{ tag: 'INIT', encoding: Encoding.Stored, bytes: this.start }] : []),
    ], RECORDING_MAGIC);
  }

  detach(): void {
    if (this.machine.inputRecorder === this) this.machine.inputRecorder = null;
  }
}

/** A recording read and checked whole. */
export interface ParsedRecording {
  readonly config: StateReader;
  readonly inputs: readonly RecordedInput[];
  readonly entropy: readonly Uint8Array[];
  /** Each disk's contents at power-on (or at the start), by slot. */
  readonly disks: ReadonlyMap<number, RamImage>;
  /** Where the recording begins when not at power-on: a snapshot of the machine then. */
  readonly start: ParsedSnapshot | undefined;
  readonly end: { readonly at: number; readonly pcs: string; readonly stateHash: string; readonly exit: string | null };
}

export function readRecording(file: Uint8Array): ParsedRecording {
  const { sections } = readSections(file, RECORDING_MAGIC, 'recording');
  const section = (tag: string): Uint8Array => {
    const found = sections.find((candidate) => candidate.tag === tag);
    if (found === undefined) throw new SnapshotError(`recording has no '${tag}' section`);
    return found.bytes;
  };
  const config = new StateReader(decodeState(section('CONF'), 'recording CONF section'), 'config');
  const events = new StateReader(decodeState(section('EVTS'), 'recording EVTS section'), 'recording');
  let last = 0;
  const inputs = events.records('inputs').map((input): RecordedInput => {
    const at = input.integer('at', last);
    last = at;
    const pcs = input.string('pcs');
    const kind = input.choice('kind', ['console', 'frame', 'idle', 'link'] as const);
    switch (kind) {
      case 'console': return { kind, at, pcs, bytes: input.bytes('bytes'), accepted: input.integer('accepted', 0) };
      case 'frame': return { kind, at, pcs, card: input.integer('card', 0, 7), bytes: input.bytes('bytes', undefined, 65536) };
      case 'idle': return { kind, at, pcs, nanoseconds: input.nonNegative('nanoseconds') };
      case 'link': return { kind, at, pcs, card: input.nullableInteger('card', 0, 7), up: input.boolean('up') };
    }
  });
  const entropy = events.array('entropy').map((value, index) => {
    if (!(value instanceof Uint8Array)) throw new SnapshotError(`recording.entropy[${index}]: expected bytes`);
    return value;
  });
  const end = events.child('end');
  const disks = new Map<number, RamImage>();
  for (const device of config.records('devices')) {
    if (device.string('kind') !== 'block') continue;
    const slot = device.integer('slot', 0, 7);
    disks.set(slot, decodeRam(section(`DSK${slot}`), `disk in slot ${slot}`));
  }
  const initial = sections.find((candidate) => candidate.tag === 'INIT');
  let start: ParsedSnapshot | undefined;
  try {
    start = initial === undefined ? undefined : readSnapshot(initial.bytes);
  } catch (error) {
    if (error instanceof SnapshotError) throw new SnapshotError(`recording's starting state: ${error.message}`);
    throw error;
  }
  return {
    config, inputs, entropy, disks, start,
    end: { at: end.integer('at', last), pcs: end.string('pcs'), stateHash: end.string('stateHash'), exit: end.nullableString('exit') },
  };
}

/** Frames the replayed guest sends go nowhere; recorded frames come in through the receiver. */
class ReplayNetBackend implements NetBackend {
  readonly description = 'replay (no host network)';
  receiver: ((frame: Uint8Array) => boolean) | null = null;
  send(): void {}
  setReceiver(receiver: ((frame: Uint8Array) => boolean) | null): void {
    this.receiver = receiver;
  }
  close(): void {}
}

/** The host entropy the recorded run drew, handed out again in order. */
class ReplayEntropySource implements EntropySource {
  readonly description = 'replay of recorded host entropy';
  next = 0;
  constructor(private readonly drawn: readonly Uint8Array[]) {}
  fill(target: Uint8Array): void {
    const bytes = this.drawn[this.next++];
    if (bytes === undefined || bytes.length !== target.length) {
      throw new ReplayDivergence(`the guest drew ${target.length} bytes of host entropy (request ${this.next}); the recording has ${bytes === undefined ? 'no more' : `${bytes.length} bytes`} there`);
    }
    target.set(bytes);
  }
}

export class ReplayDivergence extends Error {
  override name = 'ReplayDivergence';
}

/** Builds the recorded machine with replay's host side: no network, recorded entropy. */
export function replayMachineConfig(recording: ParsedRecording, host: RestoreHost = {}): { config: ReturnType<typeof snapshotMachineConfig>; cards: ReplayNetBackend[] } {
  const cards: ReplayNetBackend[] = [];
  // The disks come as they were at power-on, in memory (snapshotMachineConfig's default): a replay writes no file.
  const config = snapshotMachineConfig(recording, {
    ...host,

    networkBackend: () => {
      const backend = new ReplayNetBackend();
      cards.push(backend);
      return backend;
    },
  });
  return { config, cards };
}

/**
 * A recording's inputs fed to a machine built by replayMachineConfig: each at its point of the
 * run, after checking the harts are where the recording says (ReplayDivergence otherwise). As
 * the machine's `replayFeed` it drives a live session (a debugger's), whose history takes its
 * place in the inputs back with the machine (`place`, `seek`).
 */
export class ReplayFeed {
  private next = 0;
  private readonly entropy: ReplayEntropySource;

  constructor(private readonly machine: Machine, private readonly recording: ParsedRecording, private readonly cards: readonly ReplayNetBackend[]) {
    // Waiting for a key is not a deadlock: the recording says when it comes.
    machine.externalInputPossible = () => true;
    if (recording.start !== undefined) restoreSnapshot(machine, recording.start);
    this.entropy = new ReplayEntropySource(recording.entropy);
    for (const slot of machine.virtioSlots) {
      if (slot.device instanceof VirtioEntropyDevice && !(slot.device.source instanceof SeededEntropySource)) slot.device.source = this.entropy;
    }
  }

  /** Inputs fed so far. */
  get delivered(): number {
    return this.next;
  }

  /** The point of the next input, or Infinity when all have been fed. */
  nextAt(): number {
    return this.recording.inputs[this.next]?.at ?? Infinity;
  }

  /** Where it is in the inputs and the recorded entropy (history saves it with each checkpoint). */
  place(): number[] {
    return [this.next, this.entropy.next];
  }

  seek(place: readonly number[]): void {
    this.next = place[0];
    this.entropy.next = place[1];
  }

  /** Feeds the next input (the machine is at its point). */
  deliver(): void {
    const input = this.recording.inputs[this.next];
    if (input === undefined) return;
    const machine = this.machine;
    checkHarts(machine, input.pcs, input.at, `before recorded ${input.kind} input ${this.next + 1}`);
    // The recorded run got here by returning idle; this one by its step limit (see settleIdleWindow).
    machine.settleIdleWindow();
    this.next++;
    switch (input.kind) {
      case 'console': {
        const accepted = machine.sendConsoleInput(input.bytes);
        if (accepted !== input.accepted) {
          throw new ReplayDivergence(`console input ${this.next} (step ${input.at}): the guest took ${accepted} of ${input.bytes.length} bytes, in the recording ${input.accepted}`);
        }
        break;
      }
      case 'frame': {
        const card = this.cards[input.card];
        if (card === undefined) throw new ReplayDivergence(`input ${this.next}: a frame for network card ${input.card}, which this machine does not have`);
        card.receiver?.(input.bytes);
        break;
      }
      case 'idle': machine.advanceIdleTime(input.nanoseconds); break;
      case 'link': machine.setNetworkLink(input.up, input.card ?? undefined); break;
    }
  }
}

function checkHarts(machine: Machine, expected: string, at: number, where: string): void {
  const actual = harts(machine);
  if (actual !== expected) throw new ReplayDivergence(`${where} (step ${at}): harts at ${actual} (pc/steps), the recording says ${expected}`);
}

/**
 * Replays a whole recording (`ringside run --replay`): runs to each input's point, feeds it,
 * and at the recording's end compares the state hash. Throws ReplayDivergence naming the
 * first difference.
 */
export class Replay {
  private readonly feed: ReplayFeed;

  constructor(private readonly machine: Machine, private readonly recording: ParsedRecording, cards: readonly ReplayNetBackend[]) {
    this.feed = new ReplayFeed(machine, recording, cards);
  }

  /** Runs up to about `budget` steps further; 'ended' once the recording's end is reached and checked. */
  step(budget: number): 'running' | 'ended' {
    const machine = this.machine;
    const feed = this.feed;
    const target = Math.min(feed.nextAt(), this.recording.end.at);
    const limit = Math.min(target, machine.totalSteps() + budget);
    if (machine.totalSteps() < limit) {
      machine.stepLimit = { hartId: 0, steps: Infinity, totalSteps: limit };
      try {
        const before = machine.totalSteps();
        const result = machine.run(Number.MAX_SAFE_INTEGER);
        if (result.kind === 'idle') {
          if (machine.nextTimerEventNanoseconds() === Infinity && machine.totalSteps() === before) {
            throw new ReplayDivergence(`the machine waits for input at step ${before}; the recording's next input is at step ${target}`);
          }
          machine.advanceIdleTime(machine.nextTimerEventNanoseconds());
        }
        if (result.kind === 'exit' && machine.totalSteps() < target) {
          throw new ReplayDivergence(`the machine ended at step ${machine.totalSteps()} (${describeExit(result.exit)}); ` +
            `the recording goes on to step ${target}`);
        }
      } finally {
        machine.stepLimit = { hartId: 0, steps: Infinity, totalSteps: Infinity };
      }
      return 'running';
    }
    if (feed.nextAt() <= machine.totalSteps()) {
      feed.deliver();
      return 'running';
    }
    checkHarts(machine, this.recording.end.pcs, this.recording.end.at, 'at the end of the recording');
    if (machineStateHash(machine) !== this.recording.end.stateHash) {
      throw new ReplayDivergence(`at the end of the recording (step ${this.recording.end.at}) the machine's state differs from the recorded run's`);
    }
    return 'ended';
  }
}

function describeExit(exit: { kind: string; code?: number; message?: string }): string {
  return exit.kind === 'error' ? `emulator error: ${exit.message}` : `exit code ${exit.code}`;
}
