// The trap history ring: oldest first, bounded, `since` and `limit`, wrap-around keeps the newest.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrapHistory, TrapRecordKind } from '../../vmm-core/debug/trap-history';

test('records come back oldest first with every field; the ring keeps the newest when full', () => {
  const history = new TrapHistory(4);
  for (let index = 0; index < 6; index++) {
    history.record(index % 2, index % 2 === 0 ? TrapRecordKind.Exception : TrapRecordKind.Mret, index % 2 === 0 ? 8 : -1,
      0, 1, 0x80001000n + BigInt(index), 0xffffffffffffffffn, 100 * index, 10 * index);
  }
  assert.equal(history.total, 6);
  const records = history.records();
  assert.deepEqual(records.map((record) => record.sequence), [2, 3, 4, 5]);
  assert.deepEqual(records[0], {
    sequence: 2, hartId: 0, kind: 'exception', cause: 8, from: 0, to: 1, pc: 0x80001002n, tval: 0xffffffffffffffffn,
    virtualNanoseconds: 200, instructionsRetired: 20,
  });
  assert.deepEqual([records[1].kind, records[1].cause, records[1].hartId], ['mret', -1, 1]);
  assert.deepEqual(history.records(4).map((record) => record.sequence), [4, 5]);
  assert.deepEqual(history.records(0, 1).map((record) => record.sequence), [5]);
  assert.deepEqual(history.records(6), []);
  history.clear();
  assert.deepEqual([history.total, history.records().length], [0, 0]);
  assert.throws(() => new TrapHistory(0), /capacity must be a positive integer, got 0/);
});
