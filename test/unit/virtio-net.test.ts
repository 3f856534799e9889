import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FeatureBits,
  VIRTIO_NET_S_LINK_UP,
  VirtioFeature,
  VirtioInterrupt,
  VirtioMmioRegister as Register,
  VirtioNetDevice,
  VirtioNetFeature as Feature,
} from '../../vmm-core/devices/virtio';
import { ETHERNET_MAX_FRAME } from '../../vmm-core/devices/virtio/net';
import { createVirtioTestbed, type DriverQueue } from '../support/virtio-driver';
import { RecordingNetBackend, testFrame } from '../support/virtio-backends';

const MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
const RX = 0;
const TX = 1;

function netBed(options: { version?: 1 | 2; accept?: (offered: FeatureBits) => FeatureBits; pendingLimit?: number; start?: boolean } = {}) {
  const backend = new RecordingNetBackend();
  const device = new VirtioNetDevice({ backend, mac: MAC, pendingLimit: options.pendingLimit });
  const bed = createVirtioTestbed(device, { version: options.version });
  if (options.start !== false) bed.driver.initialize([16, 16], { accept: options.accept });
  return { ...bed, backend, device };
}

const withoutMergeable = (offered: FeatureBits) => offered.without(FeatureBits.of(Feature.MergeableRxBuffers));

/** Posts `count` receive buffers of `size` bytes each and notifies the receive queue. */
function postReceiveBuffers(queue: DriverQueue, count: number, size: number): number[] {
  const heads: number[] = [];
  for (let i = 0; i < count; i++) heads.push(queue.add([{ writable: size }]));
  queue.notify();
  return heads;
}

test('config space: MAC and link status; features MAC, STATUS, MRG_RXBUF and no offloads, control queue or multiqueue', () => {
  const { transport, driver } = netBed({ start: false });
  for (let i = 0; i < 6; i++) assert.equal(transport.read(Register.Config + i, 1), MAC[i]);
  assert.equal(transport.read(Register.Config + 6, 2), VIRTIO_NET_S_LINK_UP);
  const offered = driver.offeredFeatures();
  for (const bit of [Feature.Mac, Feature.Status, Feature.MergeableRxBuffers]) assert.ok(offered.has(bit));
  for (const bit of [Feature.Csum, Feature.GuestCsum, 4, 7, 11, Feature.ControlQueue, Feature.MultiQueue, Feature.Mtu]) {
    assert.equal(offered.has(bit), false, `bit ${bit}`);
  }
  assert.throws(() => new VirtioNetDevice({ backend: new RecordingNetBackend(), mac: new Uint8Array(5) }), /6 bytes/);
});

test('TX: the 12-byte header is stripped and the frame reaches the backend; used length 0; counted', () => {
  const { driver, backend, device, line } = netBed();
  const tx = driver.queue(TX);
  const frame = testFrame(60);
  const head = tx.add([{ readable: new Uint8Array(12) }, { readable: frame }]);
  tx.notify();
  assert.deepEqual(backend.sent, [frame]);
  assert.deepEqual(tx.takeUsed(), [{ id: head, length: 0 }]);
  assert.equal(line.level, true);
  // Header and frame in one buffer, split anywhere.
  const both = Uint8Array.from([...new Uint8Array(12), ...testFrame(100, 1)]);
  tx.add([{ readable: both.subarray(0, 5) }, { readable: both.subarray(5, 40) }, { readable: both.subarray(40) }]);
  tx.notify();
  assert.deepEqual(backend.sent[1], testFrame(100, 1));
  assert.equal(device.counters.txFrames, 2);
  assert.equal(device.counters.txBytes, 160);
});

test('TX: frames shorter than an Ethernet header or longer than 1518 bytes are dropped and counted; the buffers still come back', () => {
  const { driver, backend, device } = netBed();
  const tx = driver.queue(TX);
  tx.add([{ readable: new Uint8Array(12) }, { readable: testFrame(13) }]);
  tx.add([{ readable: new Uint8Array(12) }, { readable: testFrame(ETHERNET_MAX_FRAME + 1) }]);
  tx.add([{ readable: new Uint8Array(8) }]);
  tx.add([{ readable: new Uint8Array(12) }, { readable: testFrame(ETHERNET_MAX_FRAME) }]);
  tx.notify();
  assert.equal(tx.takeUsed().length, 4);
  assert.equal(backend.sent.length, 1);
  assert.equal(backend.sent[0].length, ETHERNET_MAX_FRAME);
  assert.equal(device.counters.txDroppedMalformed, 3);
});

test('header size: 10 bytes on legacy without MRG_RXBUF, 12 with it; 12 on modern', () => {
  const cases: [string, 1 | 2, boolean, number][] = [
    ['legacy, no MRG_RXBUF', 1, false, 10],
    ['legacy, MRG_RXBUF', 1, true, 12],
    ['modern, no MRG_RXBUF', 2, false, 12],
    ['modern, MRG_RXBUF', 2, true, 12],
  ];
  for (const [what, version, mergeable, headerSize] of cases) {
    const { driver, backend } = netBed({ version, accept: mergeable ? undefined : withoutMergeable });
    const tx = driver.queue(TX);
    const frame = testFrame(64, 3);
    tx.add([{ readable: new Uint8Array(headerSize) }, { readable: frame }]);
    tx.notify();
    assert.deepEqual(backend.sent, [frame], `${what}: TX`);
    const rx = driver.queue(RX);
    const [head] = postReceiveBuffers(rx, 1, 2048);
    assert.equal(backend.inject(testFrame(80, 4)), true);
    const bytes = rx.writableBytes(head);
    assert.deepEqual(rx.takeUsed(), [{ id: head, length: headerSize + 80 }], `${what}: RX length`);
    assert.deepEqual(bytes.subarray(headerSize, headerSize + 80), testFrame(80, 4), `${what}: RX frame`);
    assert.ok(bytes.subarray(0, 10).every((byte) => byte === 0), `${what}: flags, gso_type and the rest zero`);
    if (headerSize === 12) assert.equal(bytes[10] | (bytes[11] << 8), 1, `${what}: num_buffers 1`);
  }
});

test('RX with MRG_RXBUF: a 1514-byte frame spreads over three 512-byte buffers, num_buffers 3, all but the last filled', () => {
  const { driver, backend, device, line } = netBed();
  const rx = driver.queue(RX);
  const heads = postReceiveBuffers(rx, 4, 512);
  const frame = testFrame(1514, 5);
  assert.equal(backend.inject(frame), true);
  const buffers = heads.slice(0, 3).map((head) => rx.writableBytes(head));
  const used = rx.takeUsed();
  assert.deepEqual(used, [
    { id: heads[0], length: 512 },
    { id: heads[1], length: 512 },
    { id: heads[2], length: 12 + 1514 - 1024 },
  ]);
  assert.equal(buffers[0][10] | (buffers[0][11] << 8), 3);
  const payload = Uint8Array.from([...buffers[0].subarray(12), ...buffers[1], ...buffers[2].subarray(0, 12 + 1514 - 1024)]);
  assert.deepEqual(payload, frame);
  assert.equal(line.level, true);
  assert.equal(device.counters.rxFrames, 1);
  assert.equal(device.counters.rxBytes, 1514);
});

test('RX with MRG_RXBUF and too few buffers: nothing is consumed, the frame waits and goes out once buffers are added', () => {
  const { driver, backend } = netBed();
  const rx = driver.queue(RX);
  postReceiveBuffers(rx, 2, 512);
  assert.equal(backend.inject(testFrame(1400, 6)), true, 'held, not dropped');
  assert.equal(rx.usedIndex(), 0);
  postReceiveBuffers(rx, 1, 512);
  const used = rx.takeUsed();
  assert.equal(used.length, 3);
  assert.equal(used.reduce((sum, element) => sum + element.length, 0), 12 + 1400);
});

test('RX without buffers: frames wait in order in a bounded queue (extra ones dropped and counted) and arrive when the driver posts buffers', () => {
  const { driver, backend, device } = netBed({ pendingLimit: 3 });
  const rx = driver.queue(RX);
  for (let i = 0; i < 3; i++) assert.equal(backend.inject(testFrame(60 + i, i)), true);
  assert.equal(backend.inject(testFrame(70)), false, 'pending queue full');
  assert.equal(device.counters.rxDroppedQueueFull, 1);
  assert.equal(device.pendingFrames, 3);
  const heads = postReceiveBuffers(rx, 4, 2048);
  const received = heads.slice(0, 3).map((head, i) => rx.writableBytes(head).subarray(12, 12 + 60 + i));
  assert.equal(rx.takeUsed().length, 3);
  received.forEach((frame, i) => assert.deepEqual(frame, testFrame(60 + i, i)));
  assert.equal(device.pendingFrames, 0);
});

test('RX without MRG_RXBUF into a buffer too small for the frame: dropped and counted, the buffer returned empty', () => {
  const { driver, backend, device } = netBed({ accept: withoutMergeable });
  const rx = driver.queue(RX);
  const [small] = postReceiveBuffers(rx, 1, 100);
  const [big] = postReceiveBuffers(rx, 1, 2048);
  backend.inject(testFrame(200, 7));
  assert.deepEqual(rx.takeUsed(), [{ id: small, length: 0 }]);
  assert.equal(device.counters.rxDroppedSmallBuffer, 1);
  assert.equal(device.counters.rxFrames, 0);
  // The next frame goes into the next buffer normally.
  backend.inject(testFrame(90, 8));
  assert.deepEqual(rx.takeUsed(), [{ id: big, length: 12 + 90 }]);
});

test('link down: config status clears with a config interrupt; TX is dropped, RX refused, pending frames discarded; link up restores traffic', () => {
  const { driver, backend, device, line } = netBed();
  const rx = driver.queue(RX);
  const tx = driver.queue(TX);
  backend.inject(testFrame(60)); // pending: no buffers yet
  assert.equal(device.pendingFrames, 1);
  device.setLinkUp(false);
  assert.equal(device.linkUp, false);
  assert.equal(driver.read(Register.Config + 4) >>> 16, 0, 'status: link down');
  assert.equal(line.level, true);
  assert.equal(driver.acknowledgeInterrupt(), VirtioInterrupt.ConfigChange);
  assert.equal(device.pendingFrames, 0);
  tx.add([{ readable: new Uint8Array(12) }, { readable: testFrame(60) }]);
  tx.notify();
  assert.equal(backend.sent.length, 0);
  assert.equal(tx.takeUsed().length, 1, 'the buffer comes back anyway');
  postReceiveBuffers(rx, 2, 2048);
  assert.equal(backend.inject(testFrame(60)), false);
  assert.equal(rx.usedIndex(), 0);
  assert.equal(device.counters.txDroppedLinkDown, 1);
  assert.equal(device.counters.rxDroppedLinkDown, 2);
  device.setLinkUp(true);
  assert.equal(driver.read(Register.Config + 4) >>> 16, VIRTIO_NET_S_LINK_UP);
  assert.equal(backend.inject(testFrame(60)), true);
  assert.equal(rx.usedIndex(), 1);
  device.setLinkUp(true);
  assert.equal(device.counters.linkChanges, 2, 'setting the same state is not a change');
});

test('before DRIVER_OK and after a reset, received frames are refused; malformed frames from the host are dropped', () => {
  const { driver, backend, device, transport } = netBed({ start: false });
  assert.equal(backend.inject(testFrame(60)), false);
  assert.equal(device.counters.rxDroppedInactive, 1);
  driver.initialize([16, 16]);
  assert.equal(backend.inject(testFrame(10)), false);
  assert.equal(backend.inject(testFrame(2000)), false);
  assert.equal(device.counters.rxDroppedMalformed, 2);
  assert.equal(backend.inject(testFrame(60)), true);
  assert.equal(device.pendingFrames, 1);
  transport.reset();
  assert.equal(device.pendingFrames, 0, 'reset forgets frames meant for the old driver');
  assert.equal(backend.inject(testFrame(60)), false);
});

test('a backend that throws on send: counted as a TX error, the device carries on', () => {
  const { driver, backend, device, transport, log } = netBed();
  const tx = driver.queue(TX);
  backend.failSend = true;
  tx.add([{ readable: new Uint8Array(12) }, { readable: testFrame(60) }]);
  tx.notify();
  assert.equal(device.counters.txErrors, 1);
  assert.equal(transport.needsResetReason, null);
  assert.ok(log.some((line) => line.includes('send failed')));
  backend.failSend = false;
  tx.add([{ readable: new Uint8Array(12) }, { readable: testFrame(60) }]);
  tx.notify();
  assert.equal(backend.sent.length, 1);
});

test('EVENT_IDX on the receive queue: with a frame waiting and no buffers, avail_event asks for the very next buffer', () => {
  const { driver, backend, transport } = netBed();
  assert.ok(transport.negotiatedFeatures.has(VirtioFeature.EventIndex));
  const rx = driver.queue(RX);
  postReceiveBuffers(rx, 1, 2048);
  backend.inject(testFrame(60));
  backend.inject(testFrame(61));
  assert.equal(rx.usedIndex(), 1);
  assert.equal(rx.availEvent(), 1, 'notify me when entry 1 is added');
});

test('device state: link and pending frames survive saveState/restoreState as JSON', () => {
  const { backend, device } = netBed();
  backend.inject(testFrame(60, 1));
  backend.inject(testFrame(61, 2));
  const state = JSON.parse(JSON.stringify(device.saveState()));
  const other = new VirtioNetDevice({ backend: new RecordingNetBackend(), mac: MAC, linkUp: false });
  other.restoreState(state);
  assert.equal(other.linkUp, true);
  assert.equal(other.pendingFrames, 2);
  assert.equal(other.counters.rxDroppedInactive, 0);
});
