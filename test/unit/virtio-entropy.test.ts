import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { HostEntropySource, SeededEntropySource, chacha20Block, type EntropySeed } from '../../vmm-core/bridges/entropy';
import type { EntropySource } from '../../vmm-core/bridges/types';
import { VirtioEntropyDevice } from '../../vmm-core/devices/virtio';
import { ENTROPY_MAX_REQUEST_BYTES } from '../../vmm-core/devices/virtio/entropy';
import { createVirtioTestbed } from '../support/virtio-driver';

function bytesOf(words: Uint32Array): Uint8Array {
  return new Uint8Array(new Uint32Array(words).buffer);
}

test('the ChaCha20 block function matches node:crypto\'s chacha20 keystream (several keys, counters, nonces)', () => {
  for (let trial = 0; trial < 8; trial++) {
    const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + trial * 71) & 0xff);
    const nonce = Uint8Array.from({ length: 12 }, (_, i) => (i * 13 + trial) & 0xff);
    const counter = trial * 0x1234_5677;
    const iv = new Uint8Array(16);
    new DataView(iv.buffer).setUint32(0, counter >>> 0, true);
    iv.set(nonce, 4);
    const expected = createCipheriv('chacha20', key, iv).update(new Uint8Array(64));
    const output = new Uint32Array(16);
    chacha20Block(new Uint32Array(key.slice().buffer), counter, new Uint32Array(nonce.slice().buffer), output);
    assert.deepEqual(bytesOf(output), new Uint8Array(expected), `trial ${trial}`);
  }
});

test('seeded source: same seed, same bytes, however the reads are split', () => {
  const whole = new Uint8Array(1000);
  new SeededEntropySource(42).fill(whole);
  const pieces = new SeededEntropySource(42);
  const split = new Uint8Array(1000);
  let offset = 0;
  for (const size of [1, 63, 64, 65, 7, 300, 500]) {
    pieces.fill(split.subarray(offset, offset + size));
    offset += size;
  }
  assert.equal(offset, 1000);
  assert.deepEqual(split, whole);
  assert.equal(pieces.position, 1000);
});

test('seeded source: different seeds give different streams (numbers, strings, byte arrays are distinct kinds)', () => {
  const seeds: EntropySeed[] = [0, 1, 2, 2 ** 40, '1', '', 'ringside', Uint8Array.of(1), new Uint8Array(0), new Uint8Array(64).fill(7)];
  const streams = seeds.map((seed) => {
    const bytes = new Uint8Array(32);
    new SeededEntropySource(seed).fill(bytes);
    return Buffer.from(bytes).toString('hex');
  });
  assert.equal(new Set(streams).size, seeds.length);
  // Not trivially structured: roughly half the bits set over 4 KiB.
  const bytes = new Uint8Array(4096);
  new SeededEntropySource(0).fill(bytes);
  let ones = 0;
  for (const byte of bytes) for (let bit = 0; bit < 8; bit++) ones += (byte >> bit) & 1;
  assert.ok(Math.abs(ones / (4096 * 8) - 0.5) < 0.02, `bit balance ${ones / 32768}`);
  assert.throws(() => new SeededEntropySource(-1), /non-negative/);
  assert.throws(() => new SeededEntropySource(1.5), /non-negative/);
});

test('seeded source: a source created at a position continues the same stream (snapshots)', () => {
  const reference = new Uint8Array(500);
  new SeededEntropySource('snap').fill(reference);
  for (const position of [0, 1, 63, 64, 65, 200]) {
    const resumed = new SeededEntropySource('snap', position);
    assert.equal(resumed.position, position);
    const rest = new Uint8Array(500 - position);
    resumed.fill(rest);
    assert.deepEqual(rest, reference.subarray(position), `position ${position}`);
  }
});

test('host source fills from node:crypto (two draws differ)', () => {
  const host = new HostEntropySource();
  const a = new Uint8Array(32);
  const b = new Uint8Array(32);
  host.fill(a);
  host.fill(b);
  assert.notDeepEqual(a, b);
  assert.match(host.description, /node:crypto/);
});

/** What a guest reads from virtio-rng in three requests on a machine with `seed`. */
function guestDraws(seed: EntropySeed): Uint8Array[] {
  const device = new VirtioEntropyDevice({ source: new SeededEntropySource(seed) });
  const { driver } = createVirtioTestbed(device);
  driver.initialize([8]);
  const queue = driver.queue(0);
  return [64, 16, 100].map((size) => {
    const head = queue.add([{ writable: size }]);
    queue.notify();
    const bytes = queue.writableBytes(head);
    assert.deepEqual(queue.takeUsed(), [{ id: head, length: size }]);
    return bytes;
  });
}

test('virtio-rng: the guest gets the seeded stream; same seed same bytes on a second machine, another seed different bytes', () => {
  const first = guestDraws(5);
  const again = guestDraws(5);
  const other = guestDraws(6);
  assert.deepEqual(again, first);
  assert.notDeepEqual(other[0], first[0]);
  const expected = new Uint8Array(180);
  new SeededEntropySource(5).fill(expected);
  assert.deepEqual(Uint8Array.from([...first[0], ...first[1], ...first[2]]), expected);
});

test('virtio-rng: a huge buffer gets at most 64 KiB; a failing source answers empty and is counted, the device carries on', () => {
  let fail = false;
  const source: EntropySource = {
    description: 'flaky',
    fill: (target) => {
      if (fail) throw new Error('no entropy today');
      target.fill(0x42);
    },
  };
  const device = new VirtioEntropyDevice({ source });
  const { driver, transport, log } = createVirtioTestbed(device, { ramSize: 2 * 1024 * 1024 });
  driver.initialize([8]);
  const queue = driver.queue(0);
  const big = queue.add([{ writable: ENTROPY_MAX_REQUEST_BYTES + 4096 }]);
  queue.notify();
  assert.deepEqual(queue.takeUsed(), [{ id: big, length: ENTROPY_MAX_REQUEST_BYTES }]);
  fail = true;
  const failed = queue.add([{ writable: 16 }]);
  queue.notify();
  assert.deepEqual(queue.takeUsed(), [{ id: failed, length: 0 }]);
  assert.equal(device.counters.sourceErrors, 1);
  assert.ok(log.some((line) => line.includes('no entropy today')));
  assert.equal(transport.needsResetReason, null);
  fail = false;
  queue.add([{ writable: 16 }]);
  queue.notify();
  assert.equal(queue.takeUsed()[0].length, 16);
  assert.equal(device.counters.requests, 3);
  assert.equal(device.counters.bytes, ENTROPY_MAX_REQUEST_BYTES + 16);
});
