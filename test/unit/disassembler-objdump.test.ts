// Compares the disassembler with GNU objdump on every instruction of the committed fixtures
// (test/fixtures/disassembly/, made by scripts/objdump-fixtures.mjs; no toolchain needed here),
// and ties the instruction table to them: every row must occur in all-instructions.elf.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import type { PrivilegedSpecVersion } from '../../vmm-core/isa/csr-names';
import { decodeInstruction, DecodedInstruction } from '../../vmm-core/isa/decoder';
import { disassemble } from '../../vmm-core/isa/disassembler';
import { ALL_EXTENSIONS, extensionMaskOfIsaString, INSTRUCTIONS } from '../../vmm-core/isa/table';

const FIXTURE_DIRECTORY = join(__dirname, '..', 'fixtures', 'disassembly');

interface FixtureInstruction {
  readonly address: bigint;
  readonly raw: number;
  readonly text: string;
}

interface Fixture {
  readonly name: string;
  readonly privilegedSpec: PrivilegedSpecVersion;
  /** The optional extensions of the ELF's ISA attribute: objdump decodes only those. */
  readonly extensions: number;
  /** objdump's label lines, sorted by address. */
  readonly labels: readonly { address: bigint; name: string }[];
  readonly instructions: readonly FixtureInstruction[];
}

function readFixture(name: string): Fixture {
  let privilegedSpec: PrivilegedSpecVersion = '1.12';
  // Without an ISA attribute objdump assumes rv64gc.
  let extensions = extensionMaskOfIsaString('rv64gc');
  const labels: { address: bigint; name: string }[] = [];
  const instructions: FixtureInstruction[] = [];
  for (const line of readFileSync(join(FIXTURE_DIRECTORY, name), 'utf8').split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const spec = /^# priv-spec (1\.1[012])$/.exec(line);
      if (spec) privilegedSpec = spec[1] as PrivilegedSpecVersion;
      const isa = /^# isa (rv\S+)$/.exec(line);
      if (isa) extensions = extensionMaskOfIsaString(isa[1]);
      continue;
    }
    const firstSpace = line.indexOf(' ');
    const address = BigInt(`0x${line.slice(0, firstSpace)}`);
    const rest = line.slice(firstSpace + 1);
    if (rest.startsWith('<')) {
      labels.push({ address, name: rest.slice(1, -1) });
      continue;
    }
    const secondSpace = rest.indexOf(' ');
    instructions.push({ address, raw: parseInt(rest.slice(0, secondSpace), 16), text: rest.slice(secondSpace + 1) });
  }
  labels.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { name, privilegedSpec, extensions, labels, instructions };
}

const fixtureNames = readdirSync(FIXTURE_DIRECTORY).filter((n) => n.endsWith('.txt')).sort();
const fixtures = fixtureNames.map(readFixture);

/** objdump marks data inside code (mapping symbol $d) with these; they are not instructions. */
const DATA_DIRECTIVE = /^\.(word|short|byte|half|dword)\t/;

/** objdump's text without what depends on more than the instruction: "# value" comments and "<symbol>". */
function instructionOnly(text: string): string {
  return text.replace(/ # .*$/, '').replace(/ <[^<>]*>$/, '');
}

/** Symbolizer from objdump's own labels: nearest label at or below the address, like objdump. */
function labelSymbolizer(fixture: Fixture): (address: bigint) => string | undefined {
  return (address) => {
    let best: { address: bigint; name: string } | undefined;
    for (const label of fixture.labels) {
      if (label.address <= address) best = label;
      else break;
    }
    if (best === undefined) return undefined;
    return best.address === address ? best.name : `${best.name}+0x${(address - best.address).toString(16)}`;
  };
}

describe('disassembler matches objdump', () => {
  it('has fixtures, including all-instructions and the generated encodings', () => {
    assert.ok(fixtureNames.includes('isa-all-instructions.txt'), 'run node scripts/objdump-fixtures.mjs');
    assert.ok(fixtureNames.includes('isa-encodings.txt'));
  });

  for (const fixture of fixtures) {
    it(`${fixture.name}: every instruction`, () => {
      const mismatches: string[] = [];
      let compared = 0;
      for (const instruction of fixture.instructions) {
        if (DATA_DIRECTIVE.test(instruction.text)) continue;
        const actual = disassemble(instruction.raw, instruction.address, { privilegedSpec: fixture.privilegedSpec, extensions: fixture.extensions });
        compared++;
        const expected = instructionOnly(instruction.text);
        if (actual.text !== expected) {
          mismatches.push(`${instruction.address.toString(16)} ${instruction.raw.toString(16)}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual.text)}`);
        }
        const expectedLength = instruction.raw > 0xffff || (instruction.raw & 3) === 3 ? 4 : 2;
        if (actual.length !== expectedLength) mismatches.push(`${instruction.raw.toString(16)}: length ${actual.length}`);
      }
      assert.ok(compared > 0);
      assert.deepEqual(mismatches.slice(0, 40), [], `${mismatches.length} of ${compared} differ`);
    });

    it(`${fixture.name}: branch and jump targets name objdump's labels`, () => {
      const symbolize = labelSymbolizer(fixture);
      const first = fixture.labels[0]?.address ?? 0n;
      const last = fixture.instructions[fixture.instructions.length - 1]?.address ?? 0n;
      const mismatches: string[] = [];
      let compared = 0;
      for (const instruction of fixture.instructions) {
        const suffix = / <([^<>]*)>$/.exec(instruction.text.replace(/ # .*$/, ''));
        if (suffix === null) continue;
        // Targets outside the code are named by data or absolute symbols objdump also knows.
        const target = BigInt(`0x${/([0-9a-f]+) <[^<>]*>$/.exec(instruction.text)![1]}`);
        if (target < first || target > last) continue;
        const actual = disassemble(instruction.raw, instruction.address, { privilegedSpec: fixture.privilegedSpec, extensions: fixture.extensions, symbolize });
        compared++;
        if (actual.text !== instruction.text.replace(/ # .*$/, '')) mismatches.push(`${instruction.text} / ${actual.text}`);
      }
      assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} of ${compared} differ`);
      // Every program with code has branches into itself; the CSR sweeps have none.
      if (!fixture.name.startsWith('isa-csr-')) assert.ok(compared > 0, 'no symbolized targets compared');
    });
  }

  it('every row of the instruction table occurs in all-instructions.elf', () => {
    const fixture = fixtures.find((candidate) => candidate.name === 'isa-all-instructions.txt');
    assert.ok(fixture);
    assert.equal(fixture.extensions, ALL_EXTENSIONS, 'all-instructions.elf names every optional extension');
    const seen = new Set<number>();
    const decoded = new DecodedInstruction();
    for (const instruction of fixture.instructions) {
      if (decodeInstruction(instruction.raw, decoded, fixture.extensions)) seen.add(decoded.row);
    }
    const missing = INSTRUCTIONS.filter((_, index) => !seen.has(index)).map((spec) => spec.mnemonic);
    assert.deepEqual(missing, []);
  });
});
