// Every committed guest on both execution tiers in lockstep (test/support/lockstep.ts): the
// translated machine's state at each block boundary where a region exits must be the
// interpreter machine's at the same instruction, and everything architectural must agree at
// the end of each chunk and at the exit (RAM included).

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

import type { ExecutionTier } from '../../vmm-core/machine/config';
import { Machine } from '../../vmm-core/machine/machine';
import { runLockstep } from '../support/lockstep';
import { requireTool } from '../support/tools';
import { FW_JUMP, GUEST_MANIFEST } from '../support/guest-manifest';


const manifest = GUEST_MANIFEST;
/** The benchmark guests are long: lockstep covers their first instructions (all their loops run by then). */
const LONG_GUEST_INSTRUCTIONS = 20_000_000;

for (const entry of manifest) {
  const long = entry.name === 'bench' || entry.name === 'workload';
  test(`guest ${entry.name}: translated and interpreted in lockstep`, { timeout: 10 * 60 * 1000 }, () => {
    requireTool(entry.boot === 'firmware' && !existsSync(FW_JUMP) && 'opensbi is not installed (scripts/install-deps.sh)');
    const bios = entry.boot === 'direct' ? 'builtin' as const
      : entry.boot === 'firmware' ? { fileName: FW_JUMP, bytes: new Uint8Array(readFileSync(FW_JUMP)) } : 'none' as const;
    const kernel = { fileName: entry.elf, bytes: new Uint8Array(readFileSync(entry.elf)) };
    const create = (tier: ExecutionTier): Machine => new Machine({ hartCount: entry.harts ?? 1, bios, kernel, idle: 'skip', tier });
    if (long) {
      // Compared up to a fixed count instead of to the exit.
      const result = runLockstep(create, { maxInstructions: LONG_GUEST_INSTRUCTIONS, chunk: 250_000, stopAfter: LONG_GUEST_INSTRUCTIONS });
      assert.ok(result.translatedInstructions > result.instructions / 2, `${result.translatedInstructions} of ${result.instructions} translated`);
      return;
    }
    const result = runLockstep(create, { maxInstructions: entry.maxInstructions, chunk: 20_000, chunksOnly: entry.boot === 'htif' });
    assert.equal(result.result.kind, 'exit');
  });
}
