// Seeded fuzzing of the virtio transport, the split virtqueue and the devices: random queue
// layouts (valid, misaligned, overlapping, outside RAM, wrong sizes), random descriptor tables,
// avail rings and request headers, random notifications, config accesses, host-side frames and
// console input. Every run with the same seeds does the same thing.
//
// Checked after every step: no exception escapes to the caller; the device never even attempts
// a guest-memory access outside RAM (every bad address is refused by validation first); when the
// device gives up it is through NEEDS_RESET with a virtio reason, not an internal error; after
// NEEDS_RESET it does no more work; the interrupt line follows InterruptStatus; work per step is
// bounded; backends never receive an out-of-range or malformed request.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestMemory } from '../../vmm-core/memory/guest-memory';
import {
  VirtioBlockDevice,
  VirtioConsoleDevice,
  VirtioEntropyDevice,
  VirtioMmioRegister as Register,
  VirtioMmioTransport,
  VirtioNetDevice,
  VirtioStatus,
  type VirtioDevice,
  type VirtioDeviceContext,
} from '../../vmm-core/devices/virtio';
import { SeededEntropySource } from '../../vmm-core/bridges/entropy';
import { FeatureBits } from '../../vmm-core/devices/virtio/features';
import { RAM_BASE, createVirtioTestbed } from '../support/virtio-driver';
import { MemoryBlockBackend, RecordingNetBackend } from '../support/virtio-backends';
import { ETHERNET_MAX_FRAME, ETHERNET_MIN_FRAME } from '../../vmm-core/devices/virtio/net';

const RAM_SIZE = 64 * 1024;
/** Guest-memory accesses one fuzz step may cost: far above what a legitimate ring needs, far below a hang. */
const ACCESS_BUDGET_PER_STEP = 4_000_000;

/** Counts every access the device makes and records any that would leave RAM (before GuestMemory refuses it). */
class AuditedGuestMemory extends GuestMemory {
  accesses = 0;
  readonly outside: string[] = [];
  private audit(address: number, length: number, what: string): void {
    this.accesses++;
    if (!this.contains(address, length)) this.outside.push(`${what} ${length} bytes at 0x${address.toString(16)}`);
  }
  override read(address: number, length: number): Uint8Array { this.audit(address, length, 'read'); return super.read(address, length); }
  override readInto(address: number, target: Uint8Array): void { this.audit(address, target.length, 'read'); super.readInto(address, target); }
  override write(address: number, data: Uint8Array): void { this.audit(address, data.length, 'write'); super.write(address, data); }
  override fill(address: number, length: number, value: number): void { this.audit(address, length, 'fill'); super.fill(address, length, value); }
  override readU8(address: number): number { this.audit(address, 1, 'read'); return super.readU8(address); }
  override readU16(address: number): number { this.audit(address, 2, 'read'); return super.readU16(address); }
  override readU32(address: number): number { this.audit(address, 4, 'read'); return super.readU32(address); }
  override readU64(address: number): number { this.audit(address, 8, 'read'); return super.readU64(address); }
  override writeU8(address: number, value: number): void { this.audit(address, 1, 'write'); super.writeU8(address, value); }
  override writeU16(address: number, value: number): void { this.audit(address, 2, 'write'); super.writeU16(address, value); }
  override writeU32(address: number, value: number): void { this.audit(address, 4, 'write'); super.writeU32(address, value); }
  override writeU64(address: number, value: number): void { this.audit(address, 8, 'write'); super.writeU64(address, value); }
}

/** mulberry32: a small, well-mixed 32-bit PRNG; the same seed gives the same run. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b_79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
  return {
    next,
    int: (limit: number) => Math.floor(next() * limit),
    chance: (p: number) => next() < p,
    u32: () => Math.floor(next() * 0x1_0000_0000) >>> 0,
    pick<T>(items: readonly T[]): T {
      return items[Math.floor(next() * items.length)];
    },
  };
}
type Random = ReturnType<typeof prng>;

interface FuzzTarget {
  device: VirtioDevice;
  /** Host-side stimulus between steps (frames, console input). */
  host?: (random: Random) => void;
  /** Backend-side invariants. */
  check: () => void;
  /** A number that grows with every request the backend serves (to prove a broken device stays idle). */
  backendWork: () => number;
}

interface FuzzStats {
  iterations: number;
  steps: number;
  needsReset: number;
  completions: number;
  /** Requests, frames or bytes the backends served, summed over iterations. */
  backendWork: number;
  maxAccessesPerStep: number;
  reasons: Map<string, number>;
}

const BAD_RING_ADDRESSES = ['misaligned', 'outside', 'high', 'end'] as const;

/** Mostly a valid place for a ring part; now and then a misaligned, outside or partly outside one. */
function randomRingAddress(random: Random, length: number, alignment: number): number {
  switch (random.chance(0.96) ? 'inside' : random.pick(BAD_RING_ADDRESSES)) {
    case 'inside': {
      const slots = Math.max(1, Math.floor((RAM_SIZE - length) / alignment));
      return RAM_BASE + alignment * random.int(slots);
    }
    case 'misaligned':
      return RAM_BASE + 1 + random.int(RAM_SIZE - 2);
    case 'outside':
      return random.u32();
    case 'high':
      return RAM_BASE + 0x1_0000_0000 * (1 + random.int(0xffff));
    default:
      return RAM_BASE + RAM_SIZE - random.int(64);
  }
}

function randomBufferAddress(random: Random): number {
  const kind = random.next();
  if (kind < 0.75) return RAM_BASE + random.int(RAM_SIZE);
  if (kind < 0.85) return random.u32();
  if (kind < 0.92) return RAM_BASE + RAM_SIZE - random.int(16);
  return random.u32() + 0x1_0000_0000 * random.int(0x20_0000);
}

function randomLength(random: Random): number {
  const kind = random.next();
  if (kind < 0.45) return random.int(600);
  if (kind < 0.7) return 512 * (1 + random.int(8));
  if (kind < 0.8) return 16;
  if (kind < 0.88) return 1;
  if (kind < 0.94) return random.int(RAM_SIZE);
  return random.u32();
}

function randomFlags(random: Random): number {
  let flags = 0;
  if (random.chance(0.55)) flags |= 1; // NEXT
  if (random.chance(0.45)) flags |= 2; // WRITE
  if (random.chance(0.08)) flags |= 4; // INDIRECT
  if (random.chance(0.03)) flags |= random.int(0x10000);
  return flags;
}

/** Writes random descriptors at `table` (raw memory, not audited). */
function scribbleDescriptors(random: Random, raw: GuestMemory, table: number, count: number, size: number): void {
  for (let i = 0; i < count; i++) {
    const entry = table + 16 * i;
    if (!raw.contains(entry, 16)) return;
    let address = randomBufferAddress(random);
    let length = randomLength(random);
    let flags = randomFlags(random);
    if (flags & 4 && random.chance(0.7)) {
      // A plausible indirect table somewhere in RAM, itself full of random descriptors.
      const entries = 1 + random.int(8);
      address = RAM_BASE + 16 * random.int(RAM_SIZE / 16 - entries);
      length = 16 * entries;
      if (random.chance(0.8)) flags &= ~1;
      scribbleDescriptors(random, raw, address, entries, entries);
    }
    const next = random.chance(0.9) ? random.int(Math.max(1, size)) : random.int(0x10000);
    raw.writeU32(entry, address >>> 0);
    raw.writeU32(entry + 4, Math.floor(address / 0x1_0000_0000) >>> 0);
    raw.writeU32(entry + 8, length >>> 0);
    raw.writeU16(entry + 12, flags);
    raw.writeU16(entry + 14, next);
  }
}

/**
 * Well-formed chains over distinct descriptors (readable buffers first, all inside RAM), so the
 * fuzzer also gets past validation into the devices. For a block queue, the first readable
 * buffer holds a request header. Returns the heads.
 */
function plantChains(random: Random, raw: GuestMemory, table: number, size: number, blockCapacity: number | null): number[] {
  const free = Array.from({ length: size }, (_, i) => i);
  for (let i = free.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [free[i], free[j]] = [free[j], free[i]];
  }
  const heads: number[] = [];
  while (free.length > 0 && random.chance(0.85)) {
    const minimum = blockCapacity !== null && free.length >= 2 && random.chance(0.95) ? 2 : 1;
    const indices = free.splice(0, minimum + random.int(Math.min(5 - minimum, free.length - minimum + 1)));
    // Block requests need a header and a status byte: mostly give them both.
    const readableCount = blockCapacity !== null && indices.length >= 2 && random.chance(0.9)
      ? 1 + random.int(indices.length - 1)
      : random.int(indices.length + 1);
    indices.forEach((index, j) => {
      const writable = j >= readableCount;
      const block = blockCapacity !== null;
      const header = block && j === 0 && !writable;
      const last = j === indices.length - 1;
      let length = random.pick([1, 1, 16, 64, 512, 1024, 1536, random.int(700)]);
      if (header) length = 16;
      else if (block && last && writable && random.chance(0.85)) length = 1; // the status byte
      else if (block && random.chance(0.8)) length = 512 * (1 + random.int(3));
      const address = RAM_BASE + random.int(RAM_SIZE - length);
      if (header) writeBlockHeader(random, raw, address, blockCapacity);
      const entry = table + 16 * index;
      raw.writeU64(entry, address);
      raw.writeU32(entry + 8, length);
      raw.writeU16(entry + 12, (writable ? 2 : 0) | (last ? 0 : 1));
      raw.writeU16(entry + 14, last ? 0 : indices[j + 1]);
    });
    heads.push(indices[0]);
  }
  return heads;
}

function writeBlockHeader(random: Random, raw: GuestMemory, at: number, capacity: number): void {
  const type = random.pick([0, 0, 1, 1, 4, 8, 11, 13, 5, 2, 10, 14, 0x8000_0001, random.u32()]);
  raw.writeU32(at, type >>> 0);
  raw.writeU32(at + 4, 0);
  raw.writeU64(at + 8, random.chance(0.85) ? random.int(capacity + 4) : random.u32() * 0x1000);
}

/** A block request header (plausible or not) somewhere in RAM, pointed to by a random descriptor. */
function plantBlockHeaders(random: Random, raw: GuestMemory, table: number, size: number, capacity: number): void {
  const count = 1 + random.int(4);
  for (let i = 0; i < count; i++) {
    const at = RAM_BASE + 8 * random.int(RAM_SIZE / 8 - 64);
    const type = random.pick([0, 0, 1, 1, 4, 8, 11, 13, 5, 2, 10, 14, 0x8000_0001, random.u32()]);
    const sector = random.chance(0.8) ? random.int(capacity + 4) : random.u32() * 0x1000;
    raw.writeU32(at, type >>> 0);
    raw.writeU32(at + 4, 0);
    raw.writeU64(at + 8, sector);
    // Discard/write-zeroes segments right behind the header, sometimes.
    if (random.chance(0.4)) {
      raw.writeU64(at + 16, random.int(capacity + 4));
      raw.writeU32(at + 24, random.int(64));
      raw.writeU32(at + 28, random.pick([0, 0, 1, 2, random.u32()]));
    }
    const descriptor = random.int(Math.max(1, size));
    const entry = table + 16 * descriptor;
    if (!raw.contains(entry, 16)) continue;
    raw.writeU64(entry, at);
    raw.writeU32(entry + 8, random.pick([16, 16, 32, 48, 8]));
    raw.writeU16(entry + 12, 1);
  }
}

function fuzzTarget(name: string, seedBase: number, iterations: number, makeTarget: () => FuzzTarget): FuzzStats {
  const stats: FuzzStats = { iterations, steps: 0, needsReset: 0, completions: 0, backendWork: 0, maxAccessesPerStep: 0, reasons: new Map() };
  for (let iteration = 0; iteration < iterations; iteration++) {
    const seed = seedBase + iteration;
    const random = prng(seed);
    const target = makeTarget();
    let audited!: AuditedGuestMemory;
    const { transport, driver, line, ram } = createVirtioTestbed(target.device, {
      version: random.chance(0.3) ? 1 : 2,
      ramSize: RAM_SIZE,
      memory: (ram) => (audited = new AuditedGuestMemory(ram)),
    });
    // The fuzzer's own writes go through a second, unaudited view of the same RAM.
    const raw = new GuestMemory(ram);
    const where = () => `${name} seed ${seed}`;
    const step = (what: string, action: () => void) => {
      const before = audited.accesses;
      const workBefore = target.backendWork();
      const brokenBefore = transport.needsResetReason !== null;
      try {
        action();
      } catch (error) {
        assert.fail(`${where()}: ${what} threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      }
      stats.steps++;
      const cost = audited.accesses - before;
      stats.maxAccessesPerStep = Math.max(stats.maxAccessesPerStep, cost);
      assert.ok(cost <= ACCESS_BUDGET_PER_STEP, `${where()}: ${what} cost ${cost} guest-memory accesses`);
      assert.deepEqual(audited.outside, [], `${where()}: ${what} attempted accesses outside RAM`);
      const reason = transport.needsResetReason;
      if (reason !== null) {
        assert.doesNotMatch(reason, /^[A-Za-z]*Error: /, `${where()}: internal error instead of a virtio reason: ${reason}`);
        assert.ok(transport.status & VirtioStatus.DeviceNeedsReset, `${where()}: reason without NEEDS_RESET`);
      }
      if (brokenBefore && what !== 'setup') assert.equal(target.backendWork(), workBefore, `${where()}: ${what} did backend work while NEEDS_RESET`);
      assert.equal(line.level, transport.interruptStatus !== 0, `${where()}: line level follows InterruptStatus`);
      target.check();
    };

    const rounds = 1 + random.int(2);
    for (let round = 0; round < rounds; round++) {
      step('setup', () => setUpRandomly(random, driver, transport, raw, target));
      const actions = 2 + random.int(6);
      for (let a = 0; a < actions; a++) {
        const choice = random.next();
        if (choice < 0.55) {
          const queue = random.chance(0.95) ? random.int(transport.queues.length) : random.int(8);
          step(`notify ${queue}`, () => driver.write(Register.QueueNotify, queue));
        } else if (choice < 0.7 && target.host) {
          step('host input', () => target.host!(random));
        } else if (choice < 0.8) {
          step('config access', () => {
            const size = random.pick([1, 2, 4] as const);
            const offset = Register.Config + random.int(80);
            if (random.chance(0.5)) transport.read(offset, size);
            else transport.write(offset, size, random.u32());
          });
        } else if (choice < 0.9) {
          step('interrupt acknowledge', () => driver.write(Register.InterruptAck, driver.read(Register.InterruptStatus)));
        } else {
          step('more avail entries', () => {
            const queue = transport.queues[random.int(transport.queues.length)];
            if (!queue.ready) return;
            const availIndex = raw.readU16(queue.availRing + 2);
            raw.writeU16(queue.availRing + 4 + 2 * (availIndex % queue.size), random.int(queue.size + 2));
            raw.writeU16(queue.availRing + 2, (availIndex + 1 + random.int(2)) & 0xffff);
          });
        }
      }
      if (transport.needsResetReason !== null) {
        stats.needsReset++;
        const reason = transport.needsResetReason.replace(/0x[0-9a-f]+|\d+/g, 'N').replace(/^virtio-mmio \([^)]*\) queue N: /, '');
        stats.reasons.set(reason, (stats.reasons.get(reason) ?? 0) + 1);
      }
      stats.completions += transport.queues.reduce((sum, queue) => sum + queue.usedIndex, 0);
    }
    stats.backendWork += target.backendWork();
  }
  return stats;
}

function setUpRandomly(random: Random, driver: ReturnType<typeof createVirtioTestbed>['driver'], transport: VirtioMmioTransport, raw: GuestMemory, target: FuzzTarget): void {
  const legacy = transport.legacy;
  driver.write(Register.Status, 0);
  driver.write(Register.Status, VirtioStatus.Acknowledge | VirtioStatus.Driver);
  const offered = driver.offeredFeatures();
  const accepted = offered.intersect(new FeatureBits(random.u32(), random.u32()));
  driver.write(Register.DriverFeaturesSel, 0);
  driver.write(Register.DriverFeatures, random.chance(0.9) ? accepted.low : random.u32());
  if (random.chance(0.7)) {
    driver.write(Register.DriverFeaturesSel, 1);
    driver.write(Register.DriverFeatures, random.chance(0.9) ? accepted.high : random.u32());
  }
  let status = VirtioStatus.Acknowledge | VirtioStatus.Driver;
  if (!legacy && random.chance(0.95)) {
    status |= VirtioStatus.FeaturesOk;
    driver.write(Register.Status, status);
  }
  if (legacy) driver.write(Register.GuestPageSize, random.chance(0.95) ? 4096 : random.u32());
  const queueCount = transport.queues.length;
  for (let index = 0; index < queueCount + (random.chance(0.1) ? 1 : 0); index++) {
    driver.write(Register.QueueSel, index);
    const max = driver.read(Register.QueueNumMax);
    const size = random.chance(0.97) && max > 0 ? 1 << random.int(Math.log2(max) + 1) : random.int(Math.max(2, max * 2));
    driver.write(Register.QueueNum, size);
    let table: number;
    if (legacy) {
      driver.write(Register.QueueAlign, random.chance(0.95) ? 4096 : random.pick([0, 3, 1 << random.int(16)]));
      const pfn = random.chance(0.85) ? (RAM_BASE >>> 12) + random.int(RAM_SIZE >>> 12) : random.u32() >>> random.int(20);
      driver.write(Register.QueuePfn, pfn);
      table = pfn * 4096;
    } else {
      table = randomRingAddress(random, 16 * size, 16);
      driver.writeAddress(Register.QueueDescLow, table);
      driver.writeAddress(Register.QueueDriverLow, randomRingAddress(random, 6 + 2 * size, 2));
      driver.writeAddress(Register.QueueDeviceLow, randomRingAddress(random, 6 + 8 * size, 4));
      if (random.chance(0.95)) driver.write(Register.QueueReady, 1);
    }
    const queue = transport.queues[index];
    if (!queue || !queue.ready) continue;
    scribbleDescriptors(random, raw, queue.descriptorTable, queue.size, queue.size);
    const capacity = target.device instanceof VirtioBlockDevice ? target.device.capacity : null;
    if (capacity !== null) plantBlockHeaders(random, raw, queue.descriptorTable, queue.size, capacity);
    const heads = random.chance(0.8) ? plantChains(random, raw, queue.descriptorTable, queue.size, capacity) : [];
    const entries = random.chance(0.95) ? Math.max(1, heads.length + random.int(3)) : random.int(0x10000);
    for (let slot = 0; slot < Math.min(entries, queue.size); slot++) {
      const head = slot < heads.length && random.chance(0.97) ? heads[slot] : random.chance(0.95) ? random.int(queue.size) : random.int(0x10000);
      raw.writeU16(queue.availRing + 4 + 2 * slot, head);
    }
    raw.writeU16(queue.availRing, random.chance(0.2) ? 1 : 0);
    raw.writeU16(queue.availRing + 4 + 2 * queue.size, random.int(0x10000)); // used_event
    raw.writeU16(queue.availRing + 2, entries & 0xffff);
  }
  if (random.chance(0.95)) driver.write(Register.Status, status | VirtioStatus.DriverOk);
}

function blockTarget(): FuzzTarget {
  const backend = new MemoryBlockBackend(96, false);
  const device = new VirtioBlockDevice({ backend, serial: 'fuzz', queueSize: 64 });
  return {
    device,
    check: () => assert.deepEqual(backend.violations, [], 'block backend saw a request a correct device never sends'),
    backendWork: () => backend.calls.length,
  };
}

function readOnlyBlockTarget(): FuzzTarget {
  const backend = new MemoryBlockBackend(64, true);
  backend.bytes.fill(0x5a);
  const device = new VirtioBlockDevice({ backend, queueSize: 32 });
  return {
    device,
    check: () => {
      assert.deepEqual(backend.violations, []);
      assert.equal(backend.calls.filter((call) => call.operation !== 'read' && call.operation !== 'flush').length, 0, 'no writes to a read-only disk');
    },
    backendWork: () => backend.calls.length,
  };
}

function netTarget(): FuzzTarget {
  const backend = new RecordingNetBackend();
  const device = new VirtioNetDevice({ backend, mac: Uint8Array.of(2, 0, 0, 0, 0, 1), queueSize: 32, pendingLimit: 8 });
  return {
    device,
    host: (random) => {
      const count = 1 + random.int(3);
      for (let i = 0; i < count; i++) {
        const length = random.chance(0.8) ? ETHERNET_MIN_FRAME + random.int(ETHERNET_MAX_FRAME - ETHERNET_MIN_FRAME + 1) : random.int(3000);
        backend.inject(Uint8Array.from({ length }, () => random.int(256)));
      }
      if (random.chance(0.1)) device.setLinkUp(!device.linkUp);
    },
    check: () => {
      for (const frame of backend.sent) {
        assert.ok(frame.length >= ETHERNET_MIN_FRAME && frame.length <= ETHERNET_MAX_FRAME, `sent frame of ${frame.length} bytes`);
      }
      assert.ok(device.pendingFrames <= 8);
    },
    backendWork: () => backend.sent.length,
  };
}

function entropyTarget(): FuzzTarget {
  const device = new VirtioEntropyDevice({ source: new SeededEntropySource(99), queueSize: 16 });
  return { device, check: () => {}, backendWork: () => device.counters.bytes };
}

function consoleTarget(): FuzzTarget {
  let outputBytes = 0;
  const device = new VirtioConsoleDevice({ output: (bytes) => (outputBytes += bytes.length), inputLimit: 256, queueSize: 16 });
  return {
    device,
    host: (random) => {
      device.receive(Uint8Array.from({ length: random.int(400) }, () => random.int(256)));
    },
    check: () => assert.ok(device.pendingInput <= 256),
    backendWork: () => outputBytes,
  };
}

function report(name: string, stats: FuzzStats): void {
  const reasons = [...stats.reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([reason, count]) => `${count}× ${reason}`);
  console.log(
    `virtio fuzz ${name}: ${stats.iterations} iterations, ${stats.steps} steps, ${stats.completions} completed requests, ` +
    `backend work ${stats.backendWork}, ${stats.needsReset} rounds ended in NEEDS_RESET, at most ${stats.maxAccessesPerStep} guest-memory accesses per step\n  ` +
    reasons.join('\n  '));
}

const BLOCK_ITERATIONS = 3000;
const READ_ONLY_ITERATIONS = 1000;
const NET_ITERATIONS = 2000;
const ENTROPY_ITERATIONS = 1000;
const CONSOLE_ITERATIONS = 1000;

test(`fuzz virtio-blk: ${BLOCK_ITERATIONS} seeded random layouts and chains`, () => {
  const stats = fuzzTarget('blk', 1_000_000, BLOCK_ITERATIONS, blockTarget);
  report('blk', stats);
  // The fuzzer must reach both outcomes: real completions and refusals.
  assert.ok(stats.completions > BLOCK_ITERATIONS / 2, `only ${stats.completions} completions`);
  assert.ok(stats.needsReset > BLOCK_ITERATIONS / 4, `only ${stats.needsReset} refusals`);
  assert.ok(stats.backendWork > BLOCK_ITERATIONS / 4, `only ${stats.backendWork} backend calls`);
});

test(`fuzz read-only virtio-blk: ${READ_ONLY_ITERATIONS} iterations, never a write to the disk`, () => {
  report('blk read-only', fuzzTarget('blk-ro', 2_000_000, READ_ONLY_ITERATIONS, readOnlyBlockTarget));
});

test(`fuzz virtio-net: ${NET_ITERATIONS} iterations with random host frames and link flaps`, () => {
  const stats = fuzzTarget('net', 3_000_000, NET_ITERATIONS, netTarget);
  report('net', stats);
  assert.ok(stats.completions > 0);
});

test(`fuzz virtio-rng: ${ENTROPY_ITERATIONS} iterations`, () => {
  report('rng', fuzzTarget('rng', 4_000_000, ENTROPY_ITERATIONS, entropyTarget));
});

test(`fuzz virtio-console: ${CONSOLE_ITERATIONS} iterations with random host input`, () => {
  report('console', fuzzTarget('console', 5_000_000, CONSOLE_ITERATIONS, consoleTarget));
});

test('the fuzzer is deterministic: the same seeds give the same statistics', () => {
  const first = fuzzTarget('blk', 7_000_000, 200, blockTarget);
  const second = fuzzTarget('blk', 7_000_000, 200, blockTarget);
  assert.deepEqual({ ...second, reasons: [...second.reasons] }, { ...first, reasons: [...first.reasons] });
});

test('an access outside RAM that slips past validation is caught by the transport and becomes NEEDS_RESET', () => {
  // A deliberately buggy device: it reads guest memory at an address the guest handed it, unchecked.
  const buggy: VirtioDevice = {
    deviceId: 4,
    typeName: 'buggy',
    queueMaxSizes: [8],
    deviceFeatures: FeatureBits.none,
    counters: {},
    configSpace: () => new Uint8Array(0),
    writeConfig: () => {},
    activate: (context: VirtioDeviceContext) => void (buggyContext = context),
    reset: () => {},
    processQueue: () => void buggyContext!.memory.readU32(0x10),
    saveState: () => ({}),
    restoreState: () => {},
  };
  let buggyContext: VirtioDeviceContext | undefined;
  const { driver, transport, line, log } = createVirtioTestbed(buggy);
  driver.initialize([8]);
  assert.doesNotThrow(() => driver.queue(0).notify());
  assert.ok(driver.status & VirtioStatus.DeviceNeedsReset);
  assert.match(transport.needsResetReason ?? '', /^GuestMemoryError: read of 4 bytes at 0x10 is outside guest RAM/);
  assert.equal(driver.read(Register.InterruptStatus), 2);
  assert.equal(line.level, true);
  assert.ok(log.some((message) => message.includes('GuestMemoryError') && message.includes('device needs reset')));
});
