import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FeatureBits,
  VirtioBlockDevice,
  VirtioEntropyDevice,
  VirtioFeature,
  VirtioStatus,
  VirtqDescriptorFlag as Flag,
} from '../../vmm-core/devices/virtio';
import { SeededEntropySource } from '../../vmm-core/bridges/entropy';
import { RAM_BASE, createVirtioTestbed, type DriverQueue } from '../support/virtio-driver';
import { MemoryBlockBackend } from '../support/virtio-backends';

const NEXT = Flag.Next;
const WRITE = Flag.Write;
const INDIRECT = Flag.Indirect;

function rngBed(options: { ramSize?: number; accept?: (offered: FeatureBits) => FeatureBits; queueSize?: number } = {}) {
  const device = new VirtioEntropyDevice({ source: new SeededEntropySource(11), queueSize: options.queueSize ?? 64 });
  const bed = createVirtioTestbed(device, { ramSize: options.ramSize });
  bed.driver.initialize([options.queueSize ?? 8], { accept: options.accept });
  return { ...bed, device, queue: bed.driver.queue(0) };
}

/** Publishes descriptor `head` (already written raw) in the avail ring. */
function submitRaw(queue: DriverQueue, head: number): void {
  queue.publish(head);
}

test('a chain of several device-writable descriptors is filled in order and its total length reported', () => {
  const { queue } = rngBed();
  const head = queue.add([{ writable: 3 }, { writable: 5 }, { writable: 8 }]);
  queue.notify();
  const bytes = queue.writableBytes(head);
  assert.deepEqual(queue.takeUsed(), [{ id: head, length: 16 }]);
  const expected = new Uint8Array(16);
  new SeededEntropySource(11).fill(expected);
  assert.deepEqual(bytes, expected);
});

test('indirect descriptors: a table of buffers behind one descriptor is served like a direct chain', () => {
  const { queue, transport } = rngBed();
  assert.ok(transport.negotiatedFeatures.has(VirtioFeature.IndirectDescriptors));
  const head = queue.add([{ writable: 4 }, { writable: 12 }], { indirect: true });
  queue.notify();
  assert.deepEqual(queue.takeUsed(), [{ id: head, length: 16 }]);
  assert.equal(transport.needsResetReason, null);
});

test('used ring: element written before the index, every time (write order seen through GuestMemory)', () => {
  const { queue, memory } = rngBed();
  const writes: number[] = [];
  memory.writeObserver = (address) => writes.push(address);
  for (let i = 0; i < 3; i++) queue.add([{ writable: 2 }]);
  queue.notify();
  memory.writeObserver = null;
  const usedIndexAddress = queue.usedRing + 2;
  const indexWrites = writes.map((address, at) => ({ address, at })).filter((w) => w.address === usedIndexAddress);
  assert.equal(indexWrites.length, 3);
  indexWrites.forEach(({ at }, n) => {
    const elementAt = writes.indexOf(queue.usedRing + 4 + 8 * n);
    assert.ok(elementAt >= 0 && elementAt < at, `element ${n} written before used.idx`);
  });
  assert.equal(queue.usedIndex(), 3);
});

test('free-running 16-bit indices wrap around (70,000 requests on an 8-entry ring)', () => {
  const { queue, device } = rngBed();
  for (let i = 0; i < 70_000; i++) {
    queue.add([{ writable: 1 }]);
    queue.notify();
    assert.equal(queue.takeUsed().length, 1);
  }
  assert.equal(queue.usedIndex(), 70_000 & 0xffff);
  assert.equal(device.counters.requests, 70_000);
});

test('EVENT_IDX: no interrupt until the used index passes used_event; the device publishes avail_event', () => {
  const { queue, line, driver, transport } = rngBed();
  assert.ok(queue.eventIndex);
  // First decision always interrupts (nothing signalled yet), as QEMU does.
  queue.add([{ writable: 1 }]);
  queue.notify();
  assert.equal(line.rises, 1);
  driver.acknowledgeInterrupt();
  assert.equal(queue.availEvent(), 1, 'avail_event: notify me when you add entry 1');
  // The driver asks to be interrupted only when used.idx passes 3 (i.e. after the 4th buffer).
  queue.setUsedEvent(3);
  for (let i = 0; i < 2; i++) {
    queue.add([{ writable: 1 }]);
    queue.notify();
  }
  assert.equal(queue.usedIndex(), 3);
  assert.equal(line.rises, 1, 'suppressed while used.idx <= used_event');
  queue.add([{ writable: 1 }]);
  queue.notify();
  assert.equal(queue.usedIndex(), 4);
  assert.equal(line.rises, 2, 'interrupt once used.idx went past used_event');
  assert.equal(transport.counters.suppressedInterrupts, 2);
  assert.equal(queue.availEvent(), 4);
});

test('without EVENT_IDX: avail flag NO_INTERRUPT suppresses used-buffer interrupts', () => {
  const { queue, line, driver, transport } = rngBed({
    accept: (offered) => offered.without(FeatureBits.of(VirtioFeature.EventIndex)),
  });
  queue.setNoInterrupt(true);
  queue.add([{ writable: 1 }]);
  queue.notify();
  assert.equal(queue.usedIndex(), 1);
  assert.equal(line.level, false);
  assert.equal(transport.counters.suppressedInterrupts, 1);
  queue.setNoInterrupt(false);
  queue.add([{ writable: 1 }]);
  queue.notify();
  assert.equal(line.level, true);
  assert.equal(driver.acknowledgeInterrupt(), 1);
  assert.equal(queue.usedFlags(), 0, 'the device never asks the driver not to notify');
});

/** Each case writes a broken chain and expects NEEDS_RESET with a reason matching `reason`. */
const malformedChains: { name: string; reason: RegExp; ramSize?: number; build: (queue: DriverQueue, place: (length: number) => number) => void; noIndirect?: boolean }[] = [
  {
    name: 'loop in the descriptor table',
    reason: /longer than the queue size 8 \(a loop\?\)/,
    build: (queue, place) => {
      const buffer = place(8);
      queue.writeDescriptor(0, buffer, 8, WRITE | NEXT, 1);
      queue.writeDescriptor(1, buffer, 8, WRITE | NEXT, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'next index beyond the queue size',
    reason: /links to descriptor 9, beyond the queue size 8/,
    build: (queue, place) => {
      queue.writeDescriptor(0, place(8), 8, WRITE | NEXT, 9);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'avail ring entry names a descriptor beyond the queue size',
    reason: /names descriptor 200, beyond the queue size 8/,
    build: (queue) => submitRaw(queue, 200),
  },
  {
    name: 'buffer outside RAM (below)',
    reason: /buffer at 0x1000 \(8 bytes\) is outside guest RAM/,
    build: (queue) => {
      queue.writeDescriptor(0, 0x1000, 8, WRITE, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'buffer running past the end of RAM',
    reason: /outside guest RAM/,
    build: (queue) => {
      queue.writeDescriptor(0, RAM_BASE + 1024 * 1024 - 4, 8, WRITE, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'buffer address above 2^53',
    reason: /outside guest RAM/,
    build: (queue) => {
      queue.writeDescriptor(0, 0, 8, WRITE, 0);
      queue.driver.memory.writeU32(queue.descriptorTable + 4, 0xffff_ffff); // address high word
      submitRaw(queue, 0);
    },
  },
  {
    name: 'device-readable descriptor after a device-writable one',
    reason: /device-readable but follows a device-writable descriptor/,
    build: (queue, place) => {
      queue.writeDescriptor(0, place(8), 8, WRITE | NEXT, 1);
      queue.writeDescriptor(1, place(8), 8, 0, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'indirect table inside an indirect table',
    reason: /points to another indirect table \(nesting is not allowed\)/,
    build: (queue, place) => {
      const inner = place(16);
      const outer = place(32);
      queue.writeDescriptor(0, place(8), 8, WRITE, 0, inner);
      queue.writeDescriptor(0, place(8), 8, WRITE | NEXT, 1, outer);
      queue.writeDescriptor(1, inner, 16, INDIRECT, 0, outer);
      queue.writeDescriptor(0, outer, 32, INDIRECT, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'indirect descriptor with NEXT',
    reason: /is indirect and also has NEXT set/,
    build: (queue, place) => {
      const table = place(16);
      queue.writeDescriptor(0, place(8), 8, WRITE, 0, table);
      queue.writeDescriptor(0, table, 16, INDIRECT | NEXT, 1);
      queue.writeDescriptor(1, place(8), 8, WRITE, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'indirect table length not a multiple of 16',
    reason: /indirect table length 20 is not a non-zero multiple of 16/,
    build: (queue, place) => {
      queue.writeDescriptor(0, place(32), 20, INDIRECT, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'empty indirect table',
    reason: /indirect table length 0/,
    build: (queue, place) => {
      queue.writeDescriptor(0, place(16), 0, INDIRECT, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'indirect table outside RAM',
    reason: /indirect table at 0x2000 \(32 bytes\) is misaligned or outside guest RAM/,
    build: (queue) => {
      queue.writeDescriptor(0, 0x2000, 32, INDIRECT, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'indirect table with more than 1024 entries',
    reason: /indirect table of 1025 descriptors exceeds 1024/,
    build: (queue, place) => {
      queue.writeDescriptor(0, place(1025 * 16), 1025 * 16, INDIRECT, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'loop inside an indirect table',
    reason: /longer than its indirect table/,
    build: (queue, place) => {
      const table = place(32);
      const buffer = place(8);
      queue.writeDescriptor(0, buffer, 8, WRITE | NEXT, 1, table);
      queue.writeDescriptor(1, buffer, 8, WRITE | NEXT, 0, table);
      queue.writeDescriptor(0, table, 32, INDIRECT, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'indirect next index beyond its table',
    reason: /links to descriptor 2, beyond the indirect table size 2/,
    build: (queue, place) => {
      const table = place(32);
      queue.writeDescriptor(0, place(8), 8, WRITE | NEXT, 2, table);
      queue.writeDescriptor(0, table, 32, INDIRECT, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'indirect descriptor without VIRTIO_F_INDIRECT_DESC negotiated',
    reason: /VIRTIO_F_INDIRECT_DESC was not negotiated/,
    noIndirect: true,
    build: (queue, place) => {
      const table = place(16);
      queue.writeDescriptor(0, place(8), 8, WRITE, 0, table);
      queue.writeDescriptor(0, table, 16, INDIRECT, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'total chain length above 4 GiB (overlapping 15 MiB buffers in an indirect table)',
    reason: /longer than 4 GiB in total/,
    ramSize: 16 * 1024 * 1024,
    build: (queue, place) => {
      const count = 300;
      const table = place(16 * count);
      for (let i = 0; i < count; i++) {
        queue.writeDescriptor(i, RAM_BASE, 15 * 1024 * 1024, WRITE | (i < count - 1 ? NEXT : 0), i + 1, table);
      }
      queue.writeDescriptor(0, table, 16 * count, INDIRECT, 0);
      submitRaw(queue, 0);
    },
  },
  {
    name: 'avail index more than the queue size ahead',
    reason: /avail index 9 is 9 ahead of the device's 0, more than the queue size 8/,
    build: (queue) => queue.setAvailIndex(9),
  },
];

for (const chain of malformedChains) {
  test(`malformed chain → NEEDS_RESET with a logged reason, nothing written: ${chain.name}`, () => {
    const { queue, driver, transport, line, log, memory } = rngBed({
      ramSize: chain.ramSize,
      accept: chain.noIndirect ? (offered) => offered.without(FeatureBits.of(VirtioFeature.IndirectDescriptors)) : undefined,
    });
    const place = (length: number) => driver.place(length);
    chain.build(queue, place);
    let deviceWrites = 0;
    memory.writeObserver = () => deviceWrites++;
    queue.notify();
    memory.writeObserver = null;
    assert.ok(driver.status & VirtioStatus.DeviceNeedsReset, 'NEEDS_RESET set');
    assert.match(transport.needsResetReason ?? '', chain.reason);
    assert.ok(log.some((message) => chain.reason.test(message) && message.includes('device needs reset')), 'reason logged');
    assert.equal(line.level, true, 'config-change interrupt');
    assert.equal(driver.read(0x060), 2);
    assert.equal(queue.usedIndex(), 0, 'nothing completed');
    assert.equal(deviceWrites, 0, 'the device wrote nothing into guest RAM');
  });
}

test('the device never runs away when a request overwrites its own avail ring (bounded work per notification)', () => {
  for (let seed = 0; seed < 50; seed++) {
    const { queue, driver, device, transport } = rngBed();
    // The writable buffer IS the avail ring: random bytes land on avail.idx and the ring entries.
    const head = 0;
    queue.writeDescriptor(head, queue.availRing, 6 + 2 * queue.size, WRITE, 0);
    for (let i = 0; i < seed % 4 + 1; i++) queue.publish(head);
    driver.write(0x050, 0);
    assert.ok(device.counters.requests <= 64 + 8, `seed ${seed}: ${device.counters.requests} requests`);
    assert.ok(transport.needsResetReason === null || /avail|descriptor/.test(transport.needsResetReason));
  }
});

test('block: a request chain with the status byte before the data is refused (ordering), and its data stays untouched', () => {
  const backend = new MemoryBlockBackend(64);
  backend.bytes.fill(0x5a);
  const { driver, transport } = createVirtioTestbed(new VirtioBlockDevice({ backend }));
  driver.initialize([8]);
  const queue = driver.queue(0);
  const header = new Uint8Array(16); // OUT, sector 0
  header[0] = 1;
  queue.writeDescriptor(0, driver.place(header), 16, NEXT, 1);
  queue.writeDescriptor(1, driver.place(1), 1, WRITE | NEXT, 2);
  queue.writeDescriptor(2, driver.place(new Uint8Array(512).fill(0xee)), 512, 0, 0);
  submitRaw(queue, 0);
  queue.notify();
  assert.match(transport.needsResetReason ?? '', /device-readable but follows a device-writable/);
  assert.equal(backend.calls.length, 0);
  assert.ok(backend.bytes.every((byte) => byte === 0x5a));
});
