// The engine warm-up (vmm-core/machine/warm-up.ts): the image it embeds is the committed
// guests/bin/warmup.elf, it runs that program to its PASS once per process, and a machine
// created after it runs exactly as one created before.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { parseElf } from '../../vmm-core/machine/elf';
import { Machine } from '../../vmm-core/machine/machine';
import { warmUpEngine } from '../../vmm-core/machine/warm-up';
import { WARM_UP_ELF_BASE64 } from '../../vmm-core/machine/warm-up-image';

test('the embedded warm-up image is guests/bin/warmup.elf without symbols (scripts/generate-warm-up-image.mjs)', () => {
  const embeddedBytes = new Uint8Array(Buffer.from(WARM_UP_ELF_BASE64, 'base64'));
  const committedBytes = new Uint8Array(readFileSync('guests/bin/warmup.elf'));
  const embedded = parseElf(embeddedBytes, 'embedded');
  const committed = parseElf(committedBytes, 'guests/bin/warmup.elf');
  assert.equal(embedded.entry, committed.entry);
  const loadable = (elf: typeof committed, bytes: Uint8Array) => elf.loadSegments.map((segment) => ({
    address: segment.physicalAddress,
    memorySize: segment.memorySize,
    contents: Buffer.from(bytes.subarray(segment.offset, segment.offset + segment.fileSize)).toString('hex'),
  }));
  assert.ok(committed.loadSegments.length > 0);
  assert.deepEqual(loadable(embedded, embeddedBytes), loadable(committed, committedBytes));
  assert.equal(embedded.symbols.length, 0, 'stripped');
});

function runDemo(): { output: string; retired: number; nanoseconds: number } {
  let output = '';
  const machine = new Machine({
    kernel: { fileName: 'guests/bin/demo.elf', bytes: new Uint8Array(readFileSync('guests/bin/demo.elf')) },
    idle: 'skip',
    consoleOutput: (byte) => { output += String.fromCharCode(byte); },
  });
  const result = machine.run(3_000_000);
  assert.equal(result.kind, 'exit', output);
  return { output, retired: machine.harts[0].instructionsRetired, nanoseconds: machine.harts[0].virtualNanoseconds };
}

test('warmUpEngine runs the program to PASS once per process and changes nothing a later machine does', () => {
  const before = runDemo();
  assert.equal(warmUpEngine(), true, 'the warm-up program passes');
  assert.equal(warmUpEngine(), false, 'a second call does nothing');
  const after = runDemo();
  assert.deepEqual(after, before);
  assert.ok(before.retired > 100_000);
});
