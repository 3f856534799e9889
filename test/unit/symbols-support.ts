// Shared helpers for the symbol reader tests: the fixture ELFs with their reference data
// (generated from GNU objdump/readelf/addr2line and gdb by scripts/symbols-fixtures.mjs).

import { readFileSync } from 'node:fs';
import { loadSymbolFile, type ElfSymbolFile, type LoadOptions } from '../../debug-adapter/symbols/symbol-file';

export interface Reference {
  source: string;
  lines: [string, number, string, number][];
  addr2line: { address: string; frames: [string, string, number][] }[];
  frames: { low: string; high: string; rows: [string, string, Record<string, string>][] }[];
  breakpoints: { path: string; line: number; actualFile: string; actualLine: number; addresses: string[] }[];
  scopes: Record<string, { name: string; ranges: { low?: string; high?: string; kind: string; register?: string; address?: string; offset?: number }[] }[]>;
}

export const FIXTURES = ['shapes-dwarf4-O1', 'shapes-dwarf5-O2', 'shapes-fp-O1', 'shapes-eh-O2', 'guest-demo', 'guest-rv64i'] as const;
export type FixtureName = (typeof FIXTURES)[number];

export function reference(name: FixtureName): Reference {
  return JSON.parse(readFileSync(`test/fixtures/symbols/${name}.json`, 'utf8')) as Reference;
}

export function fixtureBytes(name: FixtureName): Uint8Array {
  return new Uint8Array(readFileSync(reference(name).source));
}

export function loadFixture(name: FixtureName, options?: LoadOptions): ElfSymbolFile {
  const source = reference(name).source;
  return loadSymbolFile(new Uint8Array(readFileSync(source)), source, options);
}

/** ABI register names -> DWARF numbers (x0-x31 = 0-31, f0-f31 = 32-63). */
const INTEGER_NAMES = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 'fp', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7',
  's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6'];
const FLOAT_NAMES = ['ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1', 'fa0', 'fa1', 'fa2', 'fa3', 'fa4', 'fa5', 'fa6', 'fa7',
  'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9', 'fs10', 'fs11', 'ft8', 'ft9', 'ft10', 'ft11'];

export function registerNumber(name: string): number {
  if (name === 's0') return 8;
  const integer = INTEGER_NAMES.indexOf(name);
  if (integer >= 0) return integer;
  const float = FLOAT_NAMES.indexOf(name);
  if (float >= 0) return 32 + float;
  throw new Error(`unknown register name ${name}`);
}

export const hex = (value: bigint): string => `0x${value.toString(16)}`;
export const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
