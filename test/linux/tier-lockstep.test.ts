// Linux 6.1's boot (guests/linux/build.sh) on both execution tiers in lockstep
// (test/support/lockstep.ts), from reset to the guest's power-off: through the built-in SBI,
// and through Debian's OpenSBI. Every block boundary where translated code exits is compared
// with the interpreter machine at the same instruction, everything architectural at the end
// of each chunk, RAM at the end. Without the built guest (or OpenSBI) the tests fail naming
// what to run.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import type { ExecutionTier } from '../../vmm-core/machine/config';
import { Machine } from '../../vmm-core/machine/machine';
import { runLockstep } from '../support/lockstep';

const CACHE = process.env.RINGSIDE_LINUX_DIR ?? join(homedir(), '.cache/ringside/linux-6.1');
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const LOCKSTEP_HOT_THRESHOLD = 50;

function image(path: string): { fileName: string; bytes: Uint8Array } {
  assert.ok(existsSync(path), `${path} is missing: run bash guests/linux/build.sh (and bash scripts/install-deps.sh)`);
  return { fileName: path, bytes: new Uint8Array(readFileSync(path)) };
}

describe('Linux boot: translation tier and interpreter in lockstep', () => {
  for (const firmware of ['builtin', 'opensbi'] as const) {
    test(`boot to power-off with ${firmware === 'builtin' ? 'the built-in SBI' : 'OpenSBI'}`, { timeout: 20 * 60 * 1000 }, () => {
      const kernel = image(join(CACHE, 'Image'));
      const initrd = image(join(CACHE, 'initramfs.cpio'));
      const bios = firmware === 'builtin' ? 'builtin' as const : image(FW_JUMP);
      let consoleText = '';
      const create = (tier: ExecutionTier): Machine => {
        const machine = new Machine({
          kernel, initrd, bios, tier, idle: 'skip', memoryBytes: 256 * 1024 * 1024,
          append: 'console=ttyS0 ringside.scenario=exitcode ringside.code=7 quiet',
          consoleOutput: tier === 'auto' ? (byte) => { consoleText += String.fromCharCode(byte); } : undefined,
        });
        // Translate warm code too (the default waits for hotter code): more of the boot compared.
        if (machine.translation !== null) machine.translation.hotThreshold = LOCKSTEP_HOT_THRESHOLD;
        return machine;
      };
      const result = runLockstep(create, { maxInstructions: 200_000_000, chunk: 2_000_000 });
      assert.equal(result.result.kind, 'exit');
      if (result.result.kind === 'exit') assert.equal(result.result.exit.kind === 'error' ? -1 : result.result.exit.code, 7, consoleText.slice(-2000));
      assert.ok(result.boundaries > 100_000, `${result.boundaries} block boundaries compared`);
      assert.ok(result.translatedInstructions > result.instructions / 2,
        `only ${result.translatedInstructions} of ${result.instructions} instructions ran translated`);
    });
  }
});
