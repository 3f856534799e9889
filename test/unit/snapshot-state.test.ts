// The state encoding snapshots use (vmm-core/machine/state.ts): every value kind round-trips
// exactly (Infinity, -0, doubles, bytes), and any byte string decodes to a value or one
// SnapshotError, never a crash or an allocation the bytes do not pay for.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeState, encodeState, SnapshotError, StateReader, type StateValue } from '../../vmm-core/machine/state';
import { seededRandom } from '../support/random';

describe('the snapshot state encoding', () => {
  it('round-trips every kind of value exactly', () => {
    const value: StateValue = {
      small: 7, negative: -0x8000_0000, wide: 2 ** 53 - 1, fraction: 0.1, infinite: Infinity, minusInfinity: -Infinity, negativeZero: -0,
      text: 'hart 0 — ü', empty: '', yes: true, no: false, nothing: null, bytes: Uint8Array.of(0, 255, 7),
      list: [1, 'two', [3], { four: 4 }], nested: { deeper: { deepest: new Uint8Array(0) } },
    };
    const decoded = decodeState(encodeState(value)) as Record<string, StateValue>;
    assert.deepEqual(decoded, { ...value });
    assert.ok(Object.is(decoded.negativeZero, -0));
    // A key named __proto__ stays a field; it never becomes the record's prototype.
    const tricky = decodeState(encodeState(JSON.parse('{"__proto__": {"polluted": 1}}') as StateValue)) as Record<string, StateValue>;
    assert.equal(Object.getPrototypeOf(tricky), Object.prototype);
    assert.ok(Object.prototype.hasOwnProperty.call(tricky, '__proto__'));
    assert.equal((tricky as { polluted?: number }).polluted, undefined);
  });

  it('the reader checks kinds and ranges and names the field', () => {
    const reader = new StateReader(decodeState(encodeState({ a: 5, b: 'x', c: [1, 2], d: { e: 1.5 } })), 'root');
    assert.equal(reader.integer('a', 0, 10), 5);
    assert.throws(() => reader.integer('a', 6, 10), /root\.a: expected an integer from 6 to 10, got 5/);
    assert.throws(() => reader.number('b'), /root\.b: expected a number/);
    assert.throws(() => reader.bytes('c'), /root\.c: expected bytes/);
    assert.throws(() => reader.child('d').integer('e'), /root\.d\.e: expected an integer/);
    assert.throws(() => reader.string('zz'), /root\.zz: missing/);
    assert.throws(() => reader.integers('c', 0, 9, 3), /root\.c: expected 3 items, got 2/);
    assert.throws(() => reader.choice('b', ['y', 'z']), /root\.b: expected 'y' or 'z', got 'x'/);
  });

  it('random and mutated bytes decode or fail with a SnapshotError', () => {
    const random = seededRandom(2024);
    const sample = encodeState({ harts: [{ pc: 123, registers: new Uint8Array(64).fill(3) }], name: 'sample', list: [1, 2, 3] });
    for (let round = 0; round < 3000; round++) {
      let bytes: Uint8Array;
      if (round % 2 === 0) {
        bytes = new Uint8Array(random() % 64);
        for (let index = 0; index < bytes.length; index++) bytes[index] = random() % 10 === 0 ? random() & 0xff : random() % 9;
      } else {
        bytes = sample.slice(0, random() % 8 === 0 ? random() % sample.length : sample.length);
        for (let flips = 1 + (random() % 3); flips > 0 && bytes.length > 0; flips--) bytes[random() % bytes.length] = random() & 0xff;
      }
      try {
        decodeState(bytes);
      } catch (error) {
        assert.ok(error instanceof SnapshotError, `round ${round}: ${(error as Error).stack}`);
      }
    }
  });

  it('a count larger than the bytes left, or nesting without end, is refused at once', () => {
    const lying = Uint8Array.of(6, 0xff, 0xff, 0xff, 0x7f, 0);
    assert.throws(() => decodeState(lying), /truncated at byte 5/);
    const deep = new Uint8Array(2000);
    for (let index = 0; index < 400; index++) deep.set([6, 1, 0, 0, 0], index * 5);
    assert.throws(() => decodeState(deep), /nested too deeply/);
    assert.throws(() => decodeState(Uint8Array.of(8, 1, 0, 0, 0, 9)), /1 stray bytes after the state/);
  });
});
