// Snapshots (vmm-core/machine/snapshot.ts): every committed guest saved part-way, restored into
// a new machine and run on, reaches the same state (hash) and prints the same as the original;
// a damaged, truncated, foreign or semantically wrong snapshot is one SnapshotError and leaves
// the machine it was restored into as it was.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SeededEntropySource } from '../../vmm-core/bridges/entropy';
import { Machine, type MachineExit } from '../../vmm-core/machine/machine';
import type { MachineConfig } from '../../vmm-core/machine/config';
import {
  crc32, machineStateHash, readSnapshot, snapshotSectionBytes, restoreSnapshot, rewriteSnapshotSection, saveSnapshot, SnapshotError, snapshotMachineConfig, summarizeSnapshot,
} from '../../vmm-core/machine/snapshot';
import { decodeState, encodeState, type StateRecord, type StateValue } from '../../vmm-core/machine/state';
import { seededRandom } from '../support/random';
import { requireTool } from '../support/tools';
import { FW_JUMP, GUEST_MANIFEST, type GuestEntry } from '../support/guest-manifest';


const manifest = GUEST_MANIFEST;

function guestConfig(entry: GuestEntry, output: { text: string }): MachineConfig {
  const bios = entry.boot === 'direct' ? 'builtin' as const
    : entry.boot === 'firmware' ? { fileName: FW_JUMP, bytes: new Uint8Array(readFileSync(FW_JUMP)) } : 'none' as const;
  return {
    hartCount: entry.harts ?? 1,
    bios,
    kernel: { fileName: entry.elf, bytes: new Uint8Array(readFileSync(entry.elf)) },
    consoleOutput: (byte) => (output.text += String.fromCharCode(byte)),
    idle: 'skip',
  };
}

/** Runs until hart 0 has retired `count` instructions or the machine exits. */
function runTo(machine: Machine, count: number): MachineExit | null {
  while (machine.exit === null && machine.harts[0].instructionsRetired < count) {
    const before = machine.harts[0].instructionsRetired;
    const result = machine.run(count - before);
    if (result.kind === 'exit') return result.exit;
    if (result.kind === 'idle') machine.advanceIdleTime(machine.nextTimerEventNanoseconds());
    if (result.kind === 'budget' && machine.harts[0].instructionsRetired === before && machine.harts[0].waitingForInterrupt) {
      // Hart 0 sleeps while others work (SMP): let the run go on by total instructions.
      continue;
    }
  }
  return machine.exit;
}

describe('snapshots of the committed guests', () => {
  for (const entry of manifest) {
    it(`${entry.name}: saved part-way, restored into a new machine, runs on to the same state`, () => {
      requireTool(entry.boot === 'firmware' && !existsSync(FW_JUMP) && 'opensbi is not installed (scripts/install-deps.sh)');
      const length = entry.qemuInstructions ?? entry.maxInstructions / 4;
      const at = Math.max(1, Math.min(Math.floor(length * 0.4), 2_000_000));
      const end = Math.min(entry.maxInstructions, at + 3_000_000);

      const straightOutput = { text: '' };
      const straight = new Machine(guestConfig(entry, straightOutput));
      runTo(straight, end);

      const originalOutput = { text: '' };
      const original = new Machine(guestConfig(entry, originalOutput));
      runTo(original, at);
      const savedAt = original.harts[0].instructionsRetired;
      const hashAtSave = machineStateHash(original);
      const file = saveSnapshot(original, { name: entry.name });
      assert.equal(machineStateHash(original), hashAtSave, 'saving does not change the machine');
      const printedBeforeSave = originalOutput.text.length;
      runTo(original, end);

      const parsed = readSnapshot(file);
      assert.equal(summarizeSnapshot(parsed).stateHash, hashAtSave);
      const restoredOutput = { text: '' };
      const restored = new Machine(snapshotMachineConfig(parsed, { consoleOutput: (byte) => (restoredOutput.text += String.fromCharCode(byte)) }));
      restoreSnapshot(restored, parsed);
      assert.equal(restored.harts[0].instructionsRetired, savedAt);
      assert.equal(machineStateHash(restored), hashAtSave, 'the restored machine is the saved one');
      runTo(restored, end);

      assert.equal(machineStateHash(original), machineStateHash(straight), 'stopping to save does not change the run');
      assert.equal(machineStateHash(restored), machineStateHash(original), 'the restored machine runs on exactly as the original');
      assert.deepEqual(restored.exit, original.exit);
      assert.equal(restoredOutput.text, originalOutput.text.slice(printedBeforeSave));
      assert.equal(originalOutput.text, straightOutput.text);
      for (const machine of [straight, original, restored]) machine.close();
    });
  }

  it('a machine with a virtio console and a seeded entropy device keeps the stream position and pending input', () => {
    const output = { text: '' };
    const config = (source: SeededEntropySource): MachineConfig => ({
      ...guestConfig(manifest.find((entry) => entry.name === 'demo')!, output),
      virtioDevices: [{ kind: 'console' }, { kind: 'entropy', source }],
    });
    const machine = new Machine(config(new SeededEntropySource('snapshot test')));
    runTo(machine, 300_000);
    const entropy = machine.virtioSlots.find((slot) => slot.kind === 'entropy')!;
    // Draw from the stream as the guest's driver would, so that its position is not zero.
    const drawn = new Uint8Array(100);
    (entropy.device as unknown as { source: SeededEntropySource }).source.fill(drawn);
    machine.sendConsoleInput(Uint8Array.of(0x61, 0x62));
    const parsed = readSnapshot(saveSnapshot(machine));
    const restored = new Machine(snapshotMachineConfig(parsed));
    restoreSnapshot(restored, parsed);
    assert.equal(machineStateHash(restored), machineStateHash(machine));
    const next = (m: Machine): Uint8Array => {
      const bytes = new Uint8Array(16);
      ((m.virtioSlots.find((slot) => slot.kind === 'entropy')!.device) as unknown as { source: SeededEntropySource }).source.fill(bytes);
      return bytes;
    };
    assert.deepEqual(next(restored), next(machine), 'the entropy stream continues where it was');
    assert.deepEqual(summarizeSnapshot(parsed).devices.map((device) => device.kind).sort(), ['console', 'entropy']);
  });
});

describe('snapshot files that are not right', () => {
  const demo = manifest.find((entry) => entry.name === 'demo')!;
  const output = { text: '' };
  // A small RAM keeps the many machines these tests build cheap.
  const machine = new Machine({ ...guestConfig(demo, output), memoryBytes: 4 * 1024 * 1024 });
  runTo(machine, 400_000);
  const file = saveSnapshot(machine);

  const expectSnapshotError = (bytes: Uint8Array, pattern?: RegExp): void => {
    assert.throws(() => {
      const parsed = readSnapshot(bytes);
      const target = new Machine(snapshotMachineConfig(parsed));
      restoreSnapshot(target, parsed);
    }, (error: unknown) => {
      assert.ok(error instanceof SnapshotError, `expected a SnapshotError, got ${(error as Error).stack}`);
      if (pattern !== undefined) assert.match((error as Error).message, pattern);
      return true;
    });
  };

  it('a truncated file, at any length, is one clear error', () => {
    expectSnapshotError(file.subarray(0, 0), /not a Ringside snapshot/);
    expectSnapshotError(file.subarray(0, 63), /shorter than the 64-byte header/);
    for (const length of [64, 100, 104, 1000, file.length >> 1, file.length - 1]) expectSnapshotError(file.subarray(0, length), /truncated/);
    const longer = new Uint8Array(file.length + 3);
    longer.set(file);
    expectSnapshotError(longer, /3 bytes after its end/);
  });

  it('every single flipped byte of the header and section table is caught', () => {
    const tableEnd = 64 + 4 * 40;
    for (let offset = 0; offset < tableEnd; offset++) {
      const damaged = file.slice();
      damaged[offset] ^= 0x20;
      expectSnapshotError(damaged);
    }
  });

  it('flipped bytes in the sections fail their checksums', () => {
    const random = seededRandom(91);
    for (let round = 0; round < 200; round++) {
      const damaged = file.slice();
      const offset = 224 + (random() % (file.length - 224));
      damaged[offset] ^= 1 << (random() % 8);
      expectSnapshotError(damaged, /checksum|damaged|decompress/);
    }
  });

  it('another format version is refused by name', () => {
    const other = file.slice();
    const view = new DataView(other.buffer);
    view.setUint16(8, 2, true);
    // A header with a right checksum: the version itself is what is refused.
    const crc = crc32(other.subarray(0, 60));
    view.setUint32(60, crc, true);
    expectSnapshotError(other, /format version 2 is not supported \(this Ringside reads version 1\)/);
    expectSnapshotError(new TextEncoder().encode('RINGSNAX' + '\0'.repeat(100)), /no RINGSNAP signature/);
  });

  const machineState = decodeState(snapshotSectionBytes(file, 'MACH')) as StateRecord;
  const withState = (change: (state: Record<string, StateValue>) => void): Uint8Array => {
    const state = structuredClone(machineState) as Record<string, StateValue>;
    change(state);
    return rewriteSnapshotSection(file, 'MACH', encodeState(state));
  };

  it('well-formed files whose state does not fit the machine name the field, and leave the machine as it was', () => {
    const cases: Array<[string, (state: Record<string, StateValue>) => void, RegExp]> = [
      ['a hart too many', (state) => (state.harts = [...(state.harts as StateValue[]), (state.harts as StateValue[])[0]]), /machine\.harts: expected 1 items, got 2/],
      ['privilege 2', (state) => ((state.harts as Record<string, StateValue>[])[0].privilege = 2), /privilege: 2 is not a privilege level/],
      ['a register file of the wrong size', (state) => ((state.harts as Record<string, StateValue>[])[0].registers = new Uint8Array(8)), /registers: expected 264 bytes, got 8/],
      ['a string for a number', (state) => ((state.clint as Record<string, StateValue>).mtimeOffset = 'soon'), /clint\.mtimeOffset: expected a number/],
      ['a missing device', (state) => delete state.plic, /machine\.plic: missing/],
      ['a UART FIFO longer than the FIFO', (state) => ((state.uart as Record<string, StateValue>).fifo = new Uint8Array(17)), /uart\.fifo: at most 16 bytes/],
      ['an unknown exit kind', (state) => (state.exit = { kind: 'maybe', code: 0, source: 'sbi' }), /exit\.kind: expected 'pass' or 'fail' or 'error'/],
    ];
    for (const [what, change, pattern] of cases) {
      const parsed = readSnapshot(withState(change));
      const target = new Machine(snapshotMachineConfig(parsed));
      runTo(target, 1000);
      const before = machineStateHash(target);
      assert.throws(() => restoreSnapshot(target, parsed), (error: unknown) => {
        assert.ok(error instanceof SnapshotError, `${what}: ${(error as Error).stack}`);
        assert.match((error as Error).message, pattern, what);
        return true;
      });
      assert.equal(machineStateHash(target), before, `${what}: the machine is as it was`);
      target.close();
    }
  });

  it('late failures roll back what was already restored (fuzzed machine state)', () => {
    const random = seededRandom(7);
    const target = new Machine(snapshotMachineConfig(readSnapshot(file)));
    restoreSnapshot(target, readSnapshot(file));
    const before = machineStateHash(target);
    const encoded = snapshotSectionBytes(file, 'MACH');
    let refused = 0;
    for (let round = 0; round < 300; round++) {
      const mutated = encoded.slice();
      for (let flips = 1 + (random() % 3); flips > 0; flips--) mutated[random() % mutated.length] = random() & 0xff;
      const bytes = rewriteSnapshotSection(file, 'MACH', mutated);
      try {
        restoreSnapshot(target, readSnapshot(bytes));
      } catch (error) {
        assert.ok(error instanceof SnapshotError, `round ${round}: ${(error as Error).stack}`);
        assert.equal(machineStateHash(target), before, `round ${round}: ${(error as Error).message}: not rolled back`);
        refused++;
        continue;
      }
      // A mutation that still made a valid state was applied whole: put the reference back.
      restoreSnapshot(target, readSnapshot(file));
      assert.equal(machineStateHash(target), before);
    }
    assert.ok(refused > 150, `most random mutations are refused (${refused} of 300)`);
  });

  it('fuzzed RAM sections and configurations are refused or restored, never a crash', () => {
    const random = seededRandom(12345);
    for (const tag of ['RAM ', 'CONF', 'META']) {
      const original = snapshotSectionBytes(file, tag);
      for (let round = 0; round < 40; round++) {
        const mutated = original.slice(0, random() % 8 === 0 ? random() % original.length : original.length);
        for (let flips = 1 + (random() % 4); flips > 0 && mutated.length > 0; flips--) mutated[random() % mutated.length] = random() & 0xff;
        const bytes = rewriteSnapshotSection(file, tag, mutated);
        try {
          const parsed = readSnapshot(bytes);
          summarizeSnapshot(parsed);
          const target = new Machine(snapshotMachineConfig(parsed));
          restoreSnapshot(target, parsed);
          target.close();
        } catch (error) {
          const acceptable = error instanceof SnapshotError || (tag === 'CONF' && /ConfigError|MachineError|ElfError|DeviceTreeError|CpuModelError/.test((error as Error).name));
          assert.ok(acceptable, `${tag.trim()} round ${round}: ${(error as Error).stack}`);
        }
      }
    }
  });
});
