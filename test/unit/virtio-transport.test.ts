import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FeatureBits,
  VIRTIO_MMIO_MAGIC_VALUE,
  VIRTIO_MMIO_VENDOR_ID,
  VirtioBlockDevice,
  VirtioEntropyDevice,
  VirtioFeature,
  VirtioInterrupt,
  VirtioMmioRegister as Register,
  VirtioMmioTransport,
  VirtioNetDevice,
  VirtioStatus,
  type VirtioTransportState,
} from '../../vmm-core/devices/virtio';
import { SeededEntropySource } from '../../vmm-core/bridges/entropy';
import { GuestAllocator, MockVirtioDriver, RAM_BASE, RecordingLine, createVirtioTestbed } from '../support/virtio-driver';
import { MemoryBlockBackend, RecordingNetBackend } from '../support/virtio-backends';
import type { BlockBackend } from '../../vmm-core/bridges/types';

const rng = () => new VirtioEntropyDevice({ source: new SeededEntropySource(7) });
const ACK_DRIVER = VirtioStatus.Acknowledge | VirtioStatus.Driver;

test('identity registers: magic "virt", version 2 by default or 1 on request, device id, vendor "QEMU"', () => {
  for (const version of [2, 1] as const) {
    const { driver } = createVirtioTestbed(new VirtioBlockDevice({ backend: new MemoryBlockBackend(8) }), { version });
    assert.equal(driver.read(Register.MagicValue), VIRTIO_MMIO_MAGIC_VALUE);
    assert.equal(driver.read(Register.Version), version);
    assert.equal(driver.read(Register.DeviceId), 2);
    assert.equal(driver.read(Register.VendorId), VIRTIO_MMIO_VENDOR_ID);
  }
  const { transport } = createVirtioTestbed(rng());
  assert.equal(transport.version, 2);
  assert.equal(transport.read(Register.DeviceId, 4), 4);
});

test('device features: modern offers VERSION_1 in the high half, legacy has 32 bits and ANY_LAYOUT; both offer INDIRECT and EVENT_IDX', () => {
  const modern = createVirtioTestbed(rng()).driver.offeredFeatures();
  assert.ok(modern.has(VirtioFeature.Version1));
  assert.ok(modern.has(VirtioFeature.IndirectDescriptors));
  assert.ok(modern.has(VirtioFeature.EventIndex));
  assert.ok(!modern.has(VirtioFeature.AnyLayout));
  assert.ok(!modern.has(VirtioFeature.RingPacked));
  const legacy = createVirtioTestbed(rng(), { version: 1 }).driver.offeredFeatures();
  assert.equal(legacy.high, 0);
  assert.ok(legacy.has(VirtioFeature.AnyLayout));
  assert.ok(legacy.has(VirtioFeature.EventIndex));
  const { driver } = createVirtioTestbed(rng());
  driver.write(Register.DeviceFeaturesSel, 2);
  assert.equal(driver.read(Register.DeviceFeatures), 0, 'selector beyond the two halves reads 0');
});

test('modern initialization: status bits accumulate, FEATURES_OK sticks, DRIVER_OK activates with the accepted features', () => {
  const { driver, transport } = createVirtioTestbed(rng());
  driver.write(Register.Status, VirtioStatus.Acknowledge);
  assert.equal(driver.status, VirtioStatus.Acknowledge);
  driver.write(Register.Status, ACK_DRIVER);
  const wanted = FeatureBits.of(VirtioFeature.Version1, VirtioFeature.EventIndex);
  driver.write(Register.DriverFeaturesSel, 0);
  driver.write(Register.DriverFeatures, wanted.low);
  driver.write(Register.DriverFeaturesSel, 1);
  driver.write(Register.DriverFeatures, wanted.high);
  driver.write(Register.Status, ACK_DRIVER | VirtioStatus.FeaturesOk);
  assert.equal(driver.status, ACK_DRIVER | VirtioStatus.FeaturesOk);
  assert.ok(transport.negotiatedFeatures.equals(wanted));
  // Features are fixed now: a late write changes nothing.
  driver.write(Register.DriverFeaturesSel, 0);
  driver.write(Register.DriverFeatures, FeatureBits.of(VirtioFeature.IndirectDescriptors).low);
  assert.ok(transport.negotiatedFeatures.equals(wanted));
  driver.negotiated = wanted;
  driver.setupQueue(0, 8);
  assert.equal(transport.isActive, false);
  driver.write(Register.Status, ACK_DRIVER | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk);
  assert.equal(transport.isActive, true);
  assert.equal(driver.status, ACK_DRIVER | VirtioStatus.FeaturesOk | VirtioStatus.DriverOk);
});

test('legacy initialization: no FEATURES_OK, GuestPageSize/QueueAlign/QueuePFN layout, requests complete in the legacy used ring', () => {
  const { driver, transport, line } = createVirtioTestbed(rng(), { version: 1 });
  driver.initialize([16]);
  assert.equal(driver.status & VirtioStatus.FeaturesOk, 0);
  assert.equal(transport.isActive, true);
  const queue = driver.queue(0);
  assert.equal(driver.read(Register.QueuePfn), queue.descriptorTable / 4096);
  assert.equal(driver.read(Register.QueueReady), 0, 'QueueReady is not a legacy register');
  // The used ring sits at the next 4 KiB boundary after the avail ring.
  assert.equal(queue.usedRing % 4096, 0);
  assert.ok(queue.usedRing > queue.availRing);
  const head = queue.add([{ writable: 32 }]);
  queue.notify();
  assert.deepEqual(queue.takeUsed(), [{ id: head, length: 32 }]);
  assert.equal(line.level, true);
  // Writing 0 to QueuePFN releases the queue; notifications are then ignored.
  driver.write(Register.QueueSel, 0);
  driver.write(Register.QueuePfn, 0);
  assert.equal(driver.read(Register.QueuePfn), 0);
  const before = transport.counters.ignoredNotifies;
  queue.notify();
  assert.equal(transport.counters.ignoredNotifies, before + 1);
});

test('lenient like QEMU: a modern driver that writes only the low feature half (no VERSION_1) still reaches DRIVER_OK and works', () => {
  const { driver, transport, log } = createVirtioTestbed(rng());
  // xv6-riscv: read features, clear some bits, write them back without touching DriverFeaturesSel.
  driver.initialize([8], {
    lowHalfOnly: true,
    accept: (offered) => offered.without(FeatureBits.of(VirtioFeature.EventIndex, VirtioFeature.IndirectDescriptors)),
  });
  assert.ok(driver.status & VirtioStatus.FeaturesOk);
  assert.ok(driver.status & VirtioStatus.DriverOk);
  assert.equal(transport.negotiatedFeatures.has(VirtioFeature.Version1), false);
  assert.ok(log.some((line) => line.includes('VIRTIO_F_VERSION_1')));
  const queue = driver.queue(0);
  const head = queue.add([{ writable: 16 }]);
  queue.notify();
  assert.deepEqual(queue.takeUsed(), [{ id: head, length: 16 }]);
});

test('feature bits the device never offered are dropped (and noted), not negotiated', () => {
  const { driver, transport, log } = createVirtioTestbed(rng());
  driver.initialize([8], { accept: (offered) => offered.union(FeatureBits.of(VirtioFeature.RingPacked, 3)) });
  assert.equal(transport.negotiatedFeatures.has(VirtioFeature.RingPacked), false);
  assert.equal(transport.negotiatedFeatures.has(3), false);
  assert.ok(transport.negotiatedFeatures.has(VirtioFeature.Version1));
  assert.ok(log.some((line) => line.includes('not offered') && line.includes('34')));
});

test('DRIVER_OK without FEATURES_OK on the modern interface uses the features written so far', () => {
  const { driver, transport } = createVirtioTestbed(rng());
  driver.write(Register.Status, ACK_DRIVER);
  driver.write(Register.DriverFeaturesSel, 1);
  driver.write(Register.DriverFeatures, 1);
  driver.setupQueue(0, 4);
  driver.write(Register.Status, ACK_DRIVER | VirtioStatus.DriverOk);
  assert.equal(transport.isActive, true);
  assert.ok(transport.negotiatedFeatures.has(VirtioFeature.Version1));
});

test('interrupt status and line: used buffer sets bit 0 and raises the line, InterruptACK clears it and lowers the line', () => {
  const { driver, line } = createVirtioTestbed(rng());
  driver.initialize([8]);
  const queue = driver.queue(0);
  queue.add([{ writable: 8 }]);
  assert.equal(line.level, false);
  queue.notify();
  assert.equal(line.level, true);
  assert.equal(driver.read(Register.InterruptStatus), VirtioInterrupt.UsedBuffer);
  driver.write(Register.InterruptAck, VirtioInterrupt.UsedBuffer);
  assert.equal(driver.read(Register.InterruptStatus), 0);
  assert.equal(line.level, false);
  assert.equal(line.rises, 1);
});

test('config change: link status flip bumps ConfigGeneration and raises bit 1 after DRIVER_OK only', () => {
  const backend = new RecordingNetBackend();
  const net = new VirtioNetDevice({ backend, mac: Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56) });
  const { driver, line } = createVirtioTestbed(net);
  const generation0 = driver.read(Register.ConfigGeneration);
  net.setLinkUp(false);
  const generation1 = driver.read(Register.ConfigGeneration);
  assert.notEqual(generation1, generation0, 'generation changes even before the driver is up');
  assert.equal(line.level, false, 'no interrupt before DRIVER_OK');
  assert.equal(driver.read(Register.InterruptStatus), 0);
  driver.initialize([0, 0]);
  net.setLinkUp(true);
  assert.notEqual(driver.read(Register.ConfigGeneration), generation1);
  assert.equal(line.level, true);
  assert.equal(driver.acknowledgeInterrupt(), VirtioInterrupt.ConfigChange);
  assert.equal(line.level, false);
});

test('config space answers any access size at any offset; 8-byte accesses arrive as two 4-byte halves', () => {
  // A 2.3 TB disk nobody reads: only its capacity matters here (it needs both halves).
  const capacity = 0x1_2345_6789;
  const backend: BlockBackend = {
    description: 'capacity only', sectorCount: capacity, readOnly: false, supportsDiscard: false, supportsWriteZeroes: false,
    read: () => assert.fail('not read'), write: () => assert.fail('not written'), flush: () => {}, discard: () => {}, writeZeroes: () => {}, close: () => {},
  };
  const { transport } = createVirtioTestbed(new VirtioBlockDevice({ backend }));
  assert.equal(transport.read(Register.Config, 4), 0x2345_6789);
  assert.equal(transport.read(Register.Config + 4, 4), 0x1);
  assert.equal(transport.read(Register.Config, 1), capacity & 0xff);
  assert.equal(transport.read(Register.Config + 1, 2), (capacity >>> 8) & 0xffff);
  assert.equal(transport.read(Register.Config + 3, 1), (capacity >>> 24) & 0xff);
  assert.equal(transport.read(Register.Config + 20, 4), 512, 'blk_size');
  assert.equal(transport.read(Register.Config + 0x400, 4), 0, 'beyond the config space reads 0');
});

test('shared memory registers say "no region" (length -1); registers ignore accesses that are not 32-bit', () => {
  const { transport, log } = createVirtioTestbed(rng());
  transport.write(Register.ShmSel, 4, 0);
  assert.equal(transport.read(Register.ShmLenLow, 4), 0xffff_ffff);
  assert.equal(transport.read(Register.ShmLenHigh, 4), 0xffff_ffff);
  assert.equal(transport.read(Register.ShmBaseLow, 4), 0);
  assert.equal(transport.read(Register.MagicValue, 2), 0);
  assert.equal(transport.read(Register.MagicValue, 1), 0);
  transport.write(Register.Status, 1, VirtioStatus.Acknowledge);
  assert.equal(transport.read(Register.Status, 4), 0);
  assert.equal(log.filter((line) => line.includes('32-bit')).length, 1, 'noted once');
});

test('queue registers: QueueNumMax per queue, 0 for a queue that does not exist; addresses read back', () => {
  const backend = new RecordingNetBackend();
  const { driver } = createVirtioTestbed(new VirtioNetDevice({ backend, mac: new Uint8Array(6), queueSize: 64 }));
  driver.write(Register.QueueSel, 1);
  assert.equal(driver.read(Register.QueueNumMax), 64);
  driver.write(Register.QueueSel, 2);
  assert.equal(driver.read(Register.QueueNumMax), 0);
  driver.write(Register.QueueReady, 1);
  assert.equal(driver.read(Register.QueueReady), 0);
  driver.write(Register.QueueSel, 0);
  driver.writeAddress(Register.QueueDescLow, 0x8001_0000);
  assert.equal(driver.read(Register.QueueDescLow), 0x8001_0000);
  assert.equal(driver.read(Register.QueueDescHigh), 0);
});

test('bad queue setups set NEEDS_RESET with a reason: size not a power of two, above QueueNumMax, rings outside RAM or misaligned', () => {
  const cases: [string, (driver: MockVirtioDriver) => void, RegExp][] = [
    ['size 6', (driver) => driver.write(Register.QueueNum, 6), /size 6 is not a power of two/],
    ['size 128 > 64', (driver) => driver.write(Register.QueueNum, 128), /size 128/],
    ['size 0', (driver) => driver.write(Register.QueueNum, 0), /size 0/],
    ['used ring outside RAM', (driver) => driver.writeAddress(Register.QueueDeviceLow, 0x1000), /used ring at 0x1000 .* outside guest RAM/],
    ['descriptor table past the end', (driver) => driver.writeAddress(Register.QueueDescLow, RAM_BASE + 1024 * 1024 - 64), /descriptor table .* outside guest RAM/],
    ['descriptor table above 4 GiB', (driver) => driver.writeAddress(Register.QueueDescLow, 0x1_8000_1000), /descriptor table at 0x180001000/],
    ['misaligned avail ring', (driver) => driver.writeAddress(Register.QueueDriverLow, RAM_BASE + 0x8001), /avail ring .* not 2-byte aligned/],
  ];
  for (const [what, breakIt, reason] of cases) {
    const { driver, transport, line } = createVirtioTestbed(new VirtioEntropyDevice({ source: new SeededEntropySource(1), queueSize: 64 }));
    driver.write(Register.Status, ACK_DRIVER);
    driver.write(Register.Status, ACK_DRIVER | VirtioStatus.FeaturesOk);
    driver.write(Register.QueueSel, 0);
    driver.write(Register.QueueNum, 16);
    driver.writeAddress(Register.QueueDescLow, RAM_BASE + 0x2000);
    driver.writeAddress(Register.QueueDriverLow, RAM_BASE + 0x3000);
    driver.writeAddress(Register.QueueDeviceLow, RAM_BASE + 0x4000);
    breakIt(driver);
    driver.write(Register.QueueReady, 1);
    assert.equal(driver.read(Register.QueueReady), 0, what);
    assert.ok(driver.status & VirtioStatus.DeviceNeedsReset, what);
    assert.match(transport.needsResetReason ?? '', reason, what);
    assert.equal(line.level, false, `${what}: no config interrupt before DRIVER_OK`);
    // DRIVER_OK does not activate a broken device.
    driver.write(Register.Status, driver.status | VirtioStatus.DriverOk);
    assert.equal(transport.isActive, false, what);
  }
});

test('legacy: a QueuePFN whose rings leave RAM, and a GuestPageSize that is not a power of two, set NEEDS_RESET', () => {
  {
    const { driver, transport } = createVirtioTestbed(rng(), { version: 1 });
    driver.write(Register.Status, ACK_DRIVER);
    driver.write(Register.QueueSel, 0);
    driver.write(Register.QueueNum, 64);
    driver.write(Register.QueuePfn, (RAM_BASE + 1024 * 1024 - 4096) / 4096);
    assert.ok(driver.status & VirtioStatus.DeviceNeedsReset);
    assert.match(transport.needsResetReason ?? '', /outside guest RAM/);
  }
  {
    const { driver, transport } = createVirtioTestbed(rng(), { version: 1 });
    driver.write(Register.GuestPageSize, 3000);
    assert.ok(driver.status & VirtioStatus.DeviceNeedsReset);
    assert.match(transport.needsResetReason ?? '', /GuestPageSize/);
  }
});

test('buffers made available before DRIVER_OK are served when DRIVER_OK is set; notifications before it are ignored', () => {
  const { driver, transport } = createVirtioTestbed(rng());
  driver.initialize([8], { withoutDriverOk: true });
  const queue = driver.queue(0);
  const head = queue.add([{ writable: 4 }]);
  queue.notify();
  assert.equal(transport.counters.ignoredNotifies, 1);
  assert.equal(queue.usedIndex(), 0);
  driver.driverOk();
  assert.deepEqual(queue.takeUsed(), [{ id: head, length: 4 }]);
});

test('NEEDS_RESET: the device ignores the driver until Status 0; the driver cannot clear the bit; a reset brings it back', () => {
  const { driver, transport, line } = createVirtioTestbed(rng());
  driver.initialize([8]);
  const queue = driver.queue(0);
  queue.setAvailIndex(100); // 100 entries ahead on an 8-entry ring
  queue.notify();
  assert.ok(driver.status & VirtioStatus.DeviceNeedsReset);
  assert.match(transport.needsResetReason ?? '', /avail index 100 is 100 ahead/);
  assert.equal(driver.read(Register.InterruptStatus), VirtioInterrupt.ConfigChange);
  assert.equal(line.level, true);
  assert.equal(transport.counters.errors, 1);
  driver.acknowledgeInterrupt();
  queue.setAvailIndex(0);
  queue.add([{ writable: 4 }]);
  queue.notify();
  assert.equal(queue.usedIndex(), 0, 'nothing is served while the device needs a reset');
  driver.write(Register.Status, driver.status | VirtioStatus.Failed);
  driver.write(Register.Status, VirtioStatus.Acknowledge);
  assert.ok(driver.status & VirtioStatus.DeviceNeedsReset, 'only a reset clears NEEDS_RESET');
  driver.write(Register.Status, 0);
  assert.equal(driver.status, 0);
  assert.equal(transport.needsResetReason, null);
  assert.equal(transport.isActive, false);
  driver.write(Register.QueueSel, 0);
  assert.equal(driver.read(Register.QueueReady), 0, 'reset disables the queues');
  // A fresh driver instance works again.
  const fresh = new MockVirtioDriver(transport, driver.memory, new GuestAllocator(RAM_BASE + 0x8_0000, RAM_BASE + 0x10_0000));
  fresh.initialize([8]);
  const freshQueue = fresh.queue(0);
  const head = freshQueue.add([{ writable: 4 }]);
  freshQueue.notify();
  assert.deepEqual(freshQueue.takeUsed(), [{ id: head, length: 4 }]);
});

test('reset clears features, selectors, queues, interrupt status and lowers the line', () => {
  const { driver, transport, line } = createVirtioTestbed(rng());
  driver.initialize([8]);
  const queue = driver.queue(0);
  queue.add([{ writable: 4 }]);
  queue.notify();
  assert.equal(line.level, true);
  const resets = transport.counters.resets;
  transport.reset();
  assert.equal(line.level, false);
  assert.equal(driver.read(Register.InterruptStatus), 0);
  assert.equal(driver.status, 0);
  assert.ok(transport.negotiatedFeatures.isEmpty());
  driver.write(Register.QueueSel, 0);
  assert.equal(driver.read(Register.QueueReady), 0);
  assert.equal(driver.read(Register.QueueNum), 64, 'QueueNum back to QueueNumMax');
  assert.equal(transport.counters.resets, resets + 1);
});

test('saveState is plain JSON; restoring it into a new transport over the same RAM continues the queues where they were', () => {
  const first = createVirtioTestbed(new VirtioEntropyDevice({ source: new SeededEntropySource(3) }));
  first.driver.initialize([8]);
  const queue = first.driver.queue(0);
  for (let i = 0; i < 5; i++) {
    queue.add([{ writable: 4 }]);
    queue.notify();
    queue.takeUsed();
  }
  const state = JSON.parse(JSON.stringify(first.transport.saveState())) as VirtioTransportState;
  assert.equal(state.queues[0].usedIndex, 5);
  assert.equal(state.active, true);
  const device = new VirtioEntropyDevice({ source: new SeededEntropySource(3) });
  const line = new RecordingLine();
  const restored = new VirtioMmioTransport({ device, memory: first.memory, irq: line });
  restored.restoreState(state);
  assert.equal(line.level, true, 'the pending used-buffer interrupt is still pending');
  assert.equal(restored.status, first.transport.status);
  assert.equal(restored.counters.notifies, 5);
  assert.equal(device.counters.requests, 5);
  // The same driver keeps going against the restored transport.
  const driver = new MockVirtioDriver(restored, first.memory, first.driver.allocator);
  const head = queue.add([{ writable: 4 }]);
  driver.write(Register.QueueNotify, 0);
  assert.deepEqual(queue.takeUsed(), [{ id: head, length: 4 }]);
  assert.equal(queue.usedIndex(), 6);
  assert.throws(() => new VirtioMmioTransport({ device: rng(), memory: first.memory, irq: line, version: 1 }).restoreState(state), /cannot restore/);
});
