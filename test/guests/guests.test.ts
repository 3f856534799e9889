// Runs every guest in guests/manifest.json on the machine and checks its exit code and
// console output. The guests are the project's own programs, checked against QEMU.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Machine } from '../../vmm-core/machine/machine';
import { requireTool } from '../support/tools';
import { FW_JUMP, GUEST_MANIFEST, type GuestEntry } from '../support/guest-manifest';


const manifest = GUEST_MANIFEST;

export function runGuest(entry: GuestEntry): { output: string; machine: Machine; exit: ReturnType<Machine['run']> } {
  let output = '';
  const bios = entry.boot === 'direct' ? 'builtin' as const
    : entry.boot === 'firmware' ? { fileName: FW_JUMP, bytes: new Uint8Array(readFileSync(FW_JUMP)) } : 'none' as const;
  const machine = new Machine({
    hartCount: entry.harts ?? 1,
    bios,
    kernel: { fileName: entry.elf, bytes: new Uint8Array(readFileSync(entry.elf)) },
    consoleOutput: (byte) => (output += String.fromCharCode(byte)),
    idle: 'skip',
  });
  const exit = machine.run(entry.maxInstructions);
  return { output, machine, exit };
}

for (const entry of manifest) {
  // The benchmark guest is long; bench/ runs it. Its correctness is checked there too.
  if (entry.name === 'bench') continue;
  const needsFirmware = entry.boot === 'firmware';
  test(`guest ${entry.name} (${entry.boot} boot)`, () => {
    requireTool(needsFirmware && !existsSync(FW_JUMP) && 'opensbi is not installed (scripts/install-deps.sh)');
    const { output, exit } = runGuest(entry);
    assert.equal(exit.kind, 'exit', `guest did not finish within ${entry.maxInstructions} instructions; output:\n${output}`);
    if (exit.kind !== 'exit') return;
    assert.notEqual(exit.exit.kind, 'error', exit.exit.kind === 'error' ? exit.exit.message : '');
    assert.equal(exit.exit.kind === 'error' ? -1 : exit.exit.code, entry.exitCode, `output:\n${output}`);
    for (const expected of entry.expectOutput) assert.ok(output.includes(expected), `missing '${expected}' in output:\n${output}`);
  });
}

test('two runs of the same guest retire the same number of instructions', () => {
  const demo = manifest.find((entry) => entry.name === 'demo');
  assert.ok(demo !== undefined);
  const first = runGuest(demo);
  const second = runGuest(demo);
  assert.equal(first.output, second.output);
  const counts = (m: Machine) => m.harts.map((hart) => [hart.instructionsRetired, hart.virtualNanoseconds]);
  assert.deepEqual(counts(first.machine), counts(second.machine));
  assert.ok(first.machine.harts[0].instructionsRetired > 100_000);
});

const FW_DYNAMIC = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.elf';
test('OpenSBI fw_dynamic finds the kernel through the information block in a2', () => {
  requireTool(!existsSync(FW_DYNAMIC) && 'opensbi is not installed (scripts/install-deps.sh)');
  let output = '';
  const machine = new Machine({
    bios: { fileName: FW_DYNAMIC, bytes: new Uint8Array(readFileSync(FW_DYNAMIC)) },
    kernel: { fileName: 'guests/bin/sbi-payload.elf', bytes: new Uint8Array(readFileSync('guests/bin/sbi-payload.elf')) },
    consoleOutput: (byte) => (output += String.fromCharCode(byte)),
    idle: 'skip',
  });
  const result = machine.run(30_000_000);
  assert.equal(result.kind, 'exit', output);
  assert.ok(output.includes('OpenSBI'), output);
  assert.ok(output.includes('sbi-payload: all checks passed'), output);
});
