// displayScalar: how a DWARF-typed scalar reads in the Variables view, hovers and the Debug
// Console: unsigned 64-bit integers hex (decimal alongside from 10 to 999,999), the rest as
// typed; format.hex turns every integer to hex of its width.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TypeInfo } from '../../debug-adapter/symbols/types';
import { SIZE_TYPE } from '../../debug-adapter/state/ctypes';
import { displayScalar } from '../../debug-adapter/variables';

const U64: TypeInfo = { name: 'long unsigned int', byteSize: 8, kind: 'base', encoding: 'unsigned' };
const U32: TypeInfo = { name: 'unsigned int', byteSize: 4, kind: 'base', encoding: 'unsigned' };
const I64: TypeInfo = { name: 'long int', byteSize: 8, kind: 'base', encoding: 'signed' };
const CHAR: TypeInfo = { name: 'char', byteSize: 1, kind: 'base', encoding: 'unsignedChar' };
const BOOL: TypeInfo = { name: '_Bool', byteSize: 1, kind: 'base', encoding: 'boolean' };
const DOUBLE: TypeInfo = { name: 'double', byteSize: 8, kind: 'base', encoding: 'float' };
const STATE: TypeInfo = { name: 'enum state', byteSize: 4, kind: 'enum', enumerators: [{ name: 'UNUSED', value: 0n }, { name: 'RUNNABLE', value: 1n }] };

test('unsigned 64-bit: hex, the decimal alongside from 10 to 999999', () => {
  assert.equal(displayScalar(U64, 0n), '0x0');
  assert.equal(displayScalar(U64, 9n), '0x9');
  assert.equal(displayScalar(U64, 10n), '0xa (10)');
  assert.equal(displayScalar(U64, 999_999n), '0xf423f (999999)');
  assert.equal(displayScalar(U64, 1_000_000n), '0xf4240');
  assert.equal(displayScalar(U64, 0x8000000000080412n), '0x8000000000080412');
  assert.equal(displayScalar(U64, -1n), '0xffffffffffffffff');
  // sizeof counts bytes: decimal.
  assert.equal(displayScalar(SIZE_TYPE, 312n), '312');
});

test('other scalars as typed by default; format.hex makes integers hex of their width', () => {
  assert.equal(displayScalar(U32, 4096n), '4096');
  assert.equal(displayScalar(I64, -5n), '-5');
  assert.equal(displayScalar(CHAR, 65n), "65 'A'");
  assert.equal(displayScalar(STATE, 1n), 'RUNNABLE (1)');
  assert.equal(displayScalar(BOOL, 1n), 'true');
  assert.equal(displayScalar(DOUBLE, 0x3ff8000000000000n), '1.5');
  const hex = { hex: true };
  assert.equal(displayScalar(U64, 42n, hex), '0x2a');
  assert.equal(displayScalar(U32, 4096n, hex), '0x1000');
  assert.equal(displayScalar(I64, -5n, hex), '0xfffffffffffffffb');
  assert.equal(displayScalar({ ...I64, byteSize: 4, name: 'int' }, -1n, hex), '0xffffffff');
  assert.equal(displayScalar(CHAR, 65n, hex), "0x41 'A'");
  assert.equal(displayScalar(STATE, 1n, hex), 'RUNNABLE (0x1)');
  assert.equal(displayScalar(STATE, 7n, hex), '0x7');
  assert.equal(displayScalar(BOOL, 1n, hex), 'true');
  assert.equal(displayScalar(DOUBLE, 0x3ff8000000000000n, hex), '1.5');
});
