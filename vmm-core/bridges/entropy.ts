// Entropy sources for virtio-rng. The default is SeededEntropySource: a ChaCha20 keystream
// (RFC 8439 block function) keyed from a seed, so the guest draws the same bytes on every run
// with the same seed and runs stay repeatable. HostEntropySource gives real randomness from the
// host (node:crypto) when repeatability is not wanted.

import { randomFillSync } from 'node:crypto';
import type { EntropySource } from './types';

/** The seed the machine uses unless configured otherwise. */
export const DEFAULT_ENTROPY_SEED = 'ringside';

export type EntropySeed = number | string | Uint8Array;

const BLOCK_BYTES = 64;
/** "expand 32-byte k" */
const SIGMA = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/**
 * The ChaCha20 block function (RFC 8439 §2.3): 16 output words from a 256-bit key (8 words),
 * a 32-bit block counter and a 96-bit nonce (3 words).
 */
export function chacha20Block(key: Uint32Array, counter: number, nonce: Uint32Array, output: Uint32Array): void {
  const s = new Uint32Array(16);
  s.set(SIGMA, 0);
  s.set(key, 4);
  s[12] = counter >>> 0;
  s.set(nonce, 13);
  const x = Uint32Array.from(s);
  const quarter = (a: number, b: number, c: number, d: number) => {
    x[a] += x[b]; x[d] ^= x[a]; x[d] = (x[d] << 16) | (x[d] >>> 16);
    x[c] += x[d]; x[b] ^= x[c]; x[b] = (x[b] << 12) | (x[b] >>> 20);
    x[a] += x[b]; x[d] ^= x[a]; x[d] = (x[d] << 8) | (x[d] >>> 24);
    x[c] += x[d]; x[b] ^= x[c]; x[b] = (x[b] << 7) | (x[b] >>> 25);
  };
  for (let round = 0; round < 10; round++) {
    quarter(0, 4, 8, 12);
    quarter(1, 5, 9, 13);
    quarter(2, 6, 10, 14);
    quarter(3, 7, 11, 15);
    quarter(0, 5, 10, 15);
    quarter(1, 6, 11, 12);
    quarter(2, 7, 8, 13);
    quarter(3, 4, 9, 14);
  }
  for (let i = 0; i < 16; i++) output[i] = (x[i] + s[i]) >>> 0;
}

/** The seed as bytes, with a tag saying which kind it was (so 1 and "\x01" differ). */
function seedMaterial(seed: EntropySeed): { bytes: Uint8Array; tag: number } {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`entropy seed must be a non-negative safe integer, got ${seed}`);
    const bytes = new Uint8Array(8);
    let value = seed;
    for (let i = 0; i < 8; i++) {
      bytes[i] = value % 256;
      value = Math.floor(value / 256);
    }
    return { bytes, tag: 1 };
  }
  if (typeof seed === 'string') return { bytes: new TextEncoder().encode(seed), tag: 2 };
  return { bytes: Uint8Array.from(seed), tag: 3 };
}

/** A 256-bit key from seed material of any length: each 32-byte piece is mixed in through one ChaCha20 block. */
function deriveKey(seed: EntropySeed): Uint32Array {
  const { bytes, tag } = seedMaterial(seed);
  const key = new Uint32Array(8);
  const block = new Uint32Array(16);
  const nonce = Uint32Array.of(bytes.length >>> 0, tag, 0x5345_4544); // "SEED"
  const pieces = Math.max(1, Math.ceil(bytes.length / 32));
  for (let piece = 0; piece < pieces; piece++) {
    for (let word = 0; word < 8; word++) {
      let value = 0;
      for (let byte = 3; byte >= 0; byte--) {
        const at = piece * 32 + word * 4 + byte;
        value = (value << 8) | (at < bytes.length ? bytes[at] : 0);
      }
      key[word] ^= value;
    }
    chacha20Block(key, piece, nonce, block);
    key.set(block.subarray(0, 8));
  }
  return key;
}

/**
 * A deterministic byte stream: ChaCha20 keystream under a key derived from the seed, nonce 0,
 * block counter from 0. Same seed, same bytes; `position` says how far it has gone, and a
 * source created with that position continues the same stream (snapshots).
 */
export class SeededEntropySource implements EntropySource {
  readonly description: string;
  private readonly key: Uint32Array;
  private readonly nonce = new Uint32Array(3);
  private readonly words = new Uint32Array(16);
  private readonly block = new Uint8Array(BLOCK_BYTES);
  private blockIndex = 0;
  private blockOffset = BLOCK_BYTES;

  constructor(readonly seed: EntropySeed = DEFAULT_ENTROPY_SEED, position = 0) {
    this.key = deriveKey(seed);
    this.description = `seeded ChaCha20 (seed ${typeof seed === 'string' ? JSON.stringify(seed) : typeof seed === 'number' ? seed : `${seed.length} bytes`})`;
    this.seek(position);
  }

  /** Bytes produced so far. */
  get position(): number {
    return this.blockOffset === BLOCK_BYTES ? this.blockIndex * BLOCK_BYTES : (this.blockIndex - 1) * BLOCK_BYTES + this.blockOffset;
  }

  /** Moves to `position` bytes into the stream (a snapshot restored). */
  seek(position: number): void {
    if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`entropy stream position must be a non-negative integer, got ${position}`);
    // The 32-bit block counter bounds the stream at 256 GiB, far beyond any guest's appetite.
    if (position / BLOCK_BYTES >= 0x1_0000_0000) throw new RangeError(`entropy stream position ${position} is beyond the 256 GiB stream`);
    this.blockIndex = Math.floor(position / BLOCK_BYTES);
    this.blockOffset = BLOCK_BYTES;
    const within = position % BLOCK_BYTES;
    if (within > 0) {
      this.nextBlock();
      this.blockOffset = within;
    }
  }

  private nextBlock(): void {
    if (this.blockIndex >= 0x1_0000_0000) throw new RangeError('seeded entropy stream exhausted (256 GiB)');
    chacha20Block(this.key, this.blockIndex, this.nonce, this.words);
    for (let i = 0; i < 16; i++) {
      const word = this.words[i];
      this.block[4 * i] = word & 0xff;
      this.block[4 * i + 1] = (word >>> 8) & 0xff;
      this.block[4 * i + 2] = (word >>> 16) & 0xff;
      this.block[4 * i + 3] = word >>> 24;
    }
    this.blockIndex++;
    this.blockOffset = 0;
  }

  fill(target: Uint8Array): void {
    let filled = 0;
    while (filled < target.length) {
      if (this.blockOffset === BLOCK_BYTES) this.nextBlock();
      const count = Math.min(BLOCK_BYTES - this.blockOffset, target.length - filled);
      target.set(this.block.subarray(this.blockOffset, this.blockOffset + count), filled);
      this.blockOffset += count;
      filled += count;
    }
  }
}

/** Randomness from the host's CSPRNG: not repeatable, for guests that need real entropy. */
export class HostEntropySource implements EntropySource {
  readonly description = 'host (node:crypto randomFillSync)';

  fill(target: Uint8Array): void {
    randomFillSync(target);
  }
}
