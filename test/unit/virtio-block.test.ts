import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FeatureBits,
  VirtioBlockDevice,
  VirtioBlockFeature as Feature,
  VirtioBlockRequest as Request,
  VirtioBlockStatus as Status,
  VirtioMmioRegister as Register,
  VirtioStatus,
  VirtqDescriptorFlag as Flag,
} from '../../vmm-core/devices/virtio';
import { BLOCK_MAX_DISCARD_SECTORS, BLOCK_MAX_DISCARD_SEGMENTS, BLOCK_SIZE_MAX } from '../../vmm-core/devices/virtio/block';
import { createVirtioTestbed, type ChainBuffer, type DriverQueue } from '../support/virtio-driver';
import { MemoryBlockBackend } from '../support/virtio-backends';

interface BedOptions {
  sectors?: number;
  readOnly?: boolean;
  serial?: string;
  version?: 1 | 2;
  accept?: (offered: FeatureBits) => FeatureBits;
  ramSize?: number;
}

function blockBed(options: BedOptions = {}) {
  const backend = new MemoryBlockBackend(options.sectors ?? 128, options.readOnly ?? false);
  const device = new VirtioBlockDevice({ backend, serial: options.serial });
  const bed = createVirtioTestbed(device, { version: options.version, ramSize: options.ramSize ?? 2 * 1024 * 1024 });
  bed.driver.initialize([16], { accept: options.accept });
  return { ...bed, backend, device, queue: bed.driver.queue(0) };
}

function header(type: number, sector = 0): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type >>> 0, true);
  view.setBigUint64(8, BigInt(sector), true);
  return bytes;
}

function segment(sector: number, count: number, flags = 0): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(sector), true);
  view.setUint32(8, count, true);
  view.setUint32(12, flags, true);
  return bytes;
}

interface Completion {
  status: number;
  usedLength: number;
  /** Device-writable bytes before the status byte. */
  data: Uint8Array;
}

/** Submits one request made of `buffers` (the status byte is the last writable byte) and returns its completion. */
function submit(queue: DriverQueue, buffers: ChainBuffer[], options: { indirect?: boolean } = {}): Completion {
  const head = queue.add(buffers, options);
  queue.notify();
  const writable = queue.writableBytes(head);
  const used = queue.takeUsed();
  assert.equal(used.length, 1, 'one completion');
  assert.equal(used[0].id, head);
  return { status: writable[writable.length - 1], usedLength: used[0].length, data: writable.subarray(0, writable.length - 1) };
}

const pattern = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 17 + (i >> 9)) & 0xff);

test('config space and features: capacity, size_max, seg_max, blk_size, discard limits; RO off for a writable disk', () => {
  const { driver, transport } = blockBed({ sectors: 2048 });
  const offered = transport.offeredFeatures;
  for (const bit of [Feature.SizeMax, Feature.SegMax, Feature.BlockSize, Feature.Flush, Feature.Discard, Feature.WriteZeroes]) {
    assert.ok(offered.has(bit), `feature ${bit}`);
  }
  assert.equal(offered.has(Feature.ReadOnly), false);
  assert.equal(offered.has(Feature.MultiQueue), false);
  const config = (offset: number) => driver.read(Register.Config + offset);
  assert.equal(config(0), 2048);
  assert.equal(config(4), 0);
  assert.equal(config(8), BLOCK_SIZE_MAX);
  assert.equal(config(12), 256 - 2, 'seg_max: QueueNumMax minus header and status');
  assert.equal(config(20), 512);
  assert.equal(config(36), BLOCK_MAX_DISCARD_SECTORS);
  assert.equal(config(40), BLOCK_MAX_DISCARD_SEGMENTS);
  assert.equal(config(44), 1);
  assert.equal(config(48), BLOCK_MAX_DISCARD_SECTORS);
  assert.equal(config(52), BLOCK_MAX_DISCARD_SEGMENTS);
  assert.equal(transport.read(Register.Config + 56, 1), 1, 'write_zeroes_may_unmap');
});

test('OUT then IN: data reaches the disk at the right sectors and comes back; used lengths are 1 and data+1', () => {
  const { queue, backend, device } = blockBed();
  const data = pattern(3 * 512, 1);
  const written = submit(queue, [{ readable: header(Request.Out, 5) }, { readable: data }, { writable: 1 }]);
  assert.equal(written.status, Status.Ok);
  assert.equal(written.usedLength, 1);
  assert.deepEqual(backend.bytes.subarray(5 * 512, 8 * 512), data);
  assert.ok(backend.bytes.subarray(0, 5 * 512).every((byte) => byte === 0));
  const read = submit(queue, [{ readable: header(Request.In, 5) }, { writable: 3 * 512 }, { writable: 1 }]);
  assert.equal(read.status, Status.Ok);
  assert.equal(read.usedLength, 3 * 512 + 1);
  assert.deepEqual(read.data, data);
  assert.equal(device.counters.reads, 1);
  assert.equal(device.counters.writes, 1);
  assert.equal(device.counters.bytesRead, 1536);
  assert.equal(device.counters.bytesWritten, 1536);
  assert.deepEqual(backend.violations, []);
});

test('data scattered over odd-sized descriptors (and through an indirect table) lands contiguously', () => {
  const { queue, backend } = blockBed();
  const data = pattern(1536, 2);
  const out = submit(queue, [
    { readable: header(Request.Out, 10).subarray(0, 7) },
    { readable: Uint8Array.from([...header(Request.Out, 10).subarray(7), ...data.subarray(0, 100)]) },
    { readable: data.subarray(100, 512) },
    { readable: data.subarray(512) },
    { writable: 1 },
  ]);
  assert.equal(out.status, Status.Ok);
  assert.deepEqual(backend.bytes.subarray(10 * 512, 13 * 512), data);
  // Read back with the status byte sharing the last data descriptor, via an indirect table.
  const read = submit(queue, [{ readable: header(Request.In, 10) }, { writable: 700 }, { writable: 837 }], { indirect: true });
  assert.equal(read.status, Status.Ok);
  assert.deepEqual(read.data, data);
});

test('requests larger than the transfer chunk (256 KiB) are carried out completely', () => {
  const { queue, backend } = blockBed({ sectors: 1024, ramSize: 4 * 1024 * 1024 });
  const data = pattern(256 * 1024, 3);
  assert.equal(submit(queue, [{ readable: header(Request.Out, 17) }, { readable: data }, { writable: 1 }]).status, Status.Ok);
  assert.deepEqual(backend.bytes.subarray(17 * 512, 17 * 512 + data.length), data);
  const read = submit(queue, [{ readable: header(Request.In, 17) }, { writable: data.length + 1 }]);
  assert.equal(read.status, Status.Ok);
  assert.deepEqual(read.data, data);
});

test('IOERR without touching the disk: beyond capacity, straddling the end, sector 2^60, not whole sectors', () => {
  const { queue, backend, device } = blockBed({ sectors: 64 });
  backend.bytes.fill(0x77);
  const cases: [string, ChainBuffer[]][] = [
    ['read beyond capacity', [{ readable: header(Request.In, 64) }, { writable: 512 }, { writable: 1 }]],
    ['read straddling the end', [{ readable: header(Request.In, 63) }, { writable: 1024 }, { writable: 1 }]],
    ['write straddling the end', [{ readable: header(Request.Out, 63) }, { readable: new Uint8Array(1024) }, { writable: 1 }]],
    ['write at sector 2^60', [{ readable: header(Request.Out, 2 ** 60) }, { readable: new Uint8Array(512) }, { writable: 1 }]],
    ['read of 100 bytes', [{ readable: header(Request.In, 0) }, { writable: 100 }, { writable: 1 }]],
    ['write of 513 bytes', [{ readable: header(Request.Out, 0) }, { readable: new Uint8Array(513) }, { writable: 1 }]],
  ];
  for (const [what, buffers] of cases) {
    const completion = submit(queue, buffers);
    assert.equal(completion.status, Status.IoError, what);
    assert.equal(completion.usedLength, 1, what);
  }
  assert.equal(backend.calls.length, 0);
  assert.ok(backend.bytes.every((byte) => byte === 0x77));
  assert.equal(device.counters.ioErrors, cases.length);
  // Exactly at the end is fine.
  assert.equal(submit(queue, [{ readable: header(Request.In, 63) }, { writable: 512 }, { writable: 1 }]).status, Status.Ok);
});

test('FLUSH reaches the backend; a failing flush answers IOERR; the legacy FLUSH_OUT synonym is served too', () => {
  const { queue, backend, device } = blockBed();
  assert.equal(submit(queue, [{ readable: header(Request.Flush) }, { writable: 1 }]).status, Status.Ok);
  assert.equal(backend.flushes, 1);
  assert.equal(submit(queue, [{ readable: header(Request.FlushOut) }, { writable: 1 }]).status, Status.Ok);
  assert.equal(backend.flushes, 2);
  backend.failFlush = true;
  assert.equal(submit(queue, [{ readable: header(Request.Flush) }, { writable: 1 }]).status, Status.IoError);
  assert.equal(device.counters.backendErrors, 1);
  assert.equal(device.counters.flushes, 3);
});

test('GET_ID: the serial, NUL-padded to 20 bytes; a full 20-character serial has no NUL; a short buffer gets a prefix', () => {
  {
    const { queue } = blockBed({ serial: 'ringside-disk0' });
    const id = submit(queue, [{ readable: header(Request.GetId) }, { writable: 20 }, { writable: 1 }]);
    assert.equal(id.status, Status.Ok);
    assert.equal(id.usedLength, 21);
    assert.equal(Buffer.from(id.data).toString('latin1'), 'ringside-disk0\0\0\0\0\0\0');
    const short = submit(queue, [{ readable: header(Request.GetId) }, { writable: 8 }, { writable: 1 }]);
    assert.equal(Buffer.from(short.data).toString('latin1'), 'ringside');
    assert.equal(short.usedLength, 9);
  }
  {
    const { queue } = blockBed({ serial: 'ABCDEFGHIJKLMNOPQRST' });
    const id = submit(queue, [{ readable: header(Request.GetId) }, { writable: 21 }]);
    assert.equal(Buffer.from(id.data).toString('latin1'), 'ABCDEFGHIJKLMNOPQRST');
  }
  assert.throws(() => new VirtioBlockDevice({ backend: new MemoryBlockBackend(8), serial: 'x'.repeat(21) }), /at most 20/);
  assert.throws(() => new VirtioBlockDevice({ backend: new MemoryBlockBackend(8), serial: 'tab\there' }), /printable ASCII/);
});

test('DISCARD zeroes the ranges; the unmap flag, reserved flags or too many segments answer UNSUPP; bad ranges IOERR; checks come before any effect', () => {
  const { queue, backend, device } = blockBed({ sectors: 256 });
  backend.bytes.fill(0xab);
  const ok = submit(queue, [{ readable: header(Request.Discard) }, { readable: Uint8Array.from([...segment(4, 2), ...segment(100, 3)]) }, { writable: 1 }]);
  assert.equal(ok.status, Status.Ok);
  assert.deepEqual(backend.calls.filter((c) => c.operation === 'discard'), [
    { operation: 'discard', sector: 4, count: 2 },
    { operation: 'discard', sector: 100, count: 3 },
  ]);
  assert.ok(backend.bytes.subarray(4 * 512, 6 * 512).every((byte) => byte === 0));
  assert.ok(backend.bytes.subarray(6 * 512, 100 * 512).every((byte) => byte === 0xab));
  const callsBefore = backend.calls.length;
  const refused: [string, Uint8Array, number][] = [
    ['unmap on discard', segment(0, 1, 1), Status.Unsupported],
    ['reserved flag', segment(0, 1, 4), Status.Unsupported],
    ['too many segments', Uint8Array.from(Array.from({ length: BLOCK_MAX_DISCARD_SEGMENTS + 1 }, () => [...segment(0, 1)]).flat()), Status.Unsupported],
    ['beyond capacity', segment(250, 10), Status.IoError],
    ['more than max_discard_sectors', segment(0, BLOCK_MAX_DISCARD_SECTORS + 1), Status.IoError],
    ['not whole segments', new Uint8Array(20), Status.IoError],
    ['second segment bad, first must not happen', Uint8Array.from([...segment(10, 1), ...segment(255, 2)]), Status.IoError],
  ];
  for (const [what, data, status] of refused) {
    assert.equal(submit(queue, [{ readable: header(Request.Discard) }, { readable: data }, { writable: 1 }]).status, status, what);
  }
  assert.equal(backend.calls.length, callsBefore, 'nothing refused reached the backend');
  assert.ok(backend.bytes.subarray(10 * 512, 11 * 512).every((byte) => byte === 0xab));
  assert.equal(device.counters.unsupported, 3);
  assert.deepEqual(backend.violations, []);
});

test('WRITE_ZEROES zeroes the range and passes the unmap hint through', () => {
  const { queue, backend } = blockBed();
  backend.bytes.fill(0xcd);
  assert.equal(submit(queue, [{ readable: header(Request.WriteZeroes) }, { readable: segment(8, 4, 1) }, { writable: 1 }]).status, Status.Ok);
  assert.equal(submit(queue, [{ readable: header(Request.WriteZeroes) }, { readable: segment(20, 1, 0) }, { writable: 1 }]).status, Status.Ok);
  assert.deepEqual(backend.calls, [
    { operation: 'writeZeroes', sector: 8, count: 4, mayUnmap: true },
    { operation: 'writeZeroes', sector: 20, count: 1, mayUnmap: false },
  ]);
  assert.ok(backend.bytes.subarray(8 * 512, 12 * 512).every((byte) => byte === 0));
  assert.ok(backend.bytes.subarray(12 * 512, 20 * 512).every((byte) => byte === 0xcd));
  assert.equal(submit(queue, [{ readable: header(Request.WriteZeroes) }, { readable: segment(0, 1, 2) }, { writable: 1 }]).status, Status.Unsupported);
});

test('DISCARD and WRITE_ZEROES the driver did not negotiate answer UNSUPP', () => {
  const { queue, backend } = blockBed({ accept: (offered) => offered.without(FeatureBits.of(Feature.Discard, Feature.WriteZeroes)) });
  assert.equal(submit(queue, [{ readable: header(Request.Discard) }, { readable: segment(0, 1) }, { writable: 1 }]).status, Status.Unsupported);
  assert.equal(submit(queue, [{ readable: header(Request.WriteZeroes) }, { readable: segment(0, 1) }, { writable: 1 }]).status, Status.Unsupported);
  assert.equal(backend.calls.length, 0);
});

test('read-only disk: RO offered, no discard/write-zeroes; writes answer IOERR and never reach the backend; reads work', () => {
  const { queue, backend, transport, device } = blockBed({ readOnly: true });
  backend.bytes.set(pattern(512, 9), 0);
  assert.ok(transport.offeredFeatures.has(Feature.ReadOnly));
  assert.equal(transport.offeredFeatures.has(Feature.Discard), false);
  assert.equal(transport.offeredFeatures.has(Feature.WriteZeroes), false);
  assert.equal(submit(queue, [{ readable: header(Request.Out, 0) }, { readable: new Uint8Array(512) }, { writable: 1 }]).status, Status.IoError);
  assert.equal(submit(queue, [{ readable: header(Request.Discard) }, { readable: segment(0, 1) }, { writable: 1 }]).status, Status.Unsupported);
  assert.equal(submit(queue, [{ readable: header(Request.WriteZeroes) }, { readable: segment(0, 1) }, { writable: 1 }]).status, Status.Unsupported);
  assert.equal(backend.calls.length, 0);
  assert.deepEqual(backend.bytes.subarray(0, 512), pattern(512, 9));
  const read = submit(queue, [{ readable: header(Request.In, 0) }, { writable: 512 }, { writable: 1 }]);
  assert.equal(read.status, Status.Ok);
  assert.deepEqual(read.data, pattern(512, 9));
  assert.equal(device.counters.ioErrors, 1);
});

test('a BridgeError from the backend answers IOERR, is counted, and the device keeps working', () => {
  const { queue, backend, device, transport } = blockBed();
  backend.failingSectors.add(7);
  assert.equal(submit(queue, [{ readable: header(Request.In, 6) }, { writable: 1024 }, { writable: 1 }]).status, Status.IoError);
  assert.equal(submit(queue, [{ readable: header(Request.Out, 7) }, { readable: new Uint8Array(512) }, { writable: 1 }]).status, Status.IoError);
  assert.equal(device.counters.backendErrors, 2);
  assert.equal(device.counters.ioErrors, 2);
  assert.equal(transport.needsResetReason, null);
  assert.equal(submit(queue, [{ readable: header(Request.In, 8) }, { writable: 512 }, { writable: 1 }]).status, Status.Ok);
});

test('unknown and unsupported request types answer UNSUPP (SCSI, GET_LIFETIME, SECURE_ERASE, 99)', () => {
  const { queue, device } = blockBed();
  for (const type of [2, 3, Request.GetLifetime, Request.SecureErase, 99]) {
    assert.equal(submit(queue, [{ readable: header(type) }, { writable: 8 }, { writable: 1 }]).status, Status.Unsupported, `type ${type}`);
  }
  assert.equal(device.counters.unsupported, 5);
});

test('the status byte is written after the data, and the used element after the status byte', () => {
  const { queue, memory } = blockBed();
  const head = queue.add([{ readable: header(Request.In, 0) }, { writable: 1024 }, { writable: 1 }]);
  const writes: { address: number; length: number }[] = [];
  memory.writeObserver = (address, length) => writes.push({ address, length });
  queue.notify();
  memory.writeObserver = null;
  const statusWrite = writes.findIndex((w) => w.length === 1);
  assert.ok(statusWrite > 0);
  assert.ok(writes.slice(0, statusWrite).every((w) => w.length > 1), 'data before status');
  const elementWrite = writes.findIndex((w) => w.address === queue.usedRing + 4);
  assert.ok(elementWrite > statusWrite, 'used element after status');
  assert.equal(queue.takeUsed()[0].id, head);
});

test('legacy transport: same header layout, header split over descriptors, data and status sharing one, BARRIER bit ignored', () => {
  const { queue, backend, transport } = blockBed({ version: 1 });
  assert.equal(transport.legacy, true);
  const data = pattern(1024, 4);
  const out = header(Request.Out, 2);
  const barrier = header(0x8000_0000 | Request.In, 2);
  assert.equal(submit(queue, [{ readable: out.subarray(0, 8) }, { readable: out.subarray(8) }, { readable: data }, { writable: 1 }]).status, Status.Ok);
  assert.deepEqual(backend.bytes.subarray(1024, 2048), data);
  const read = submit(queue, [{ readable: barrier }, { writable: 1025 }]);
  assert.equal(read.status, Status.Ok);
  assert.equal(read.usedLength, 1025);
  assert.deepEqual(read.data, data);
});

test('an xv6-style driver: low feature half only, RO/SCSI/WCE/MQ/ANY_LAYOUT/EVENT_IDX/INDIRECT cleared, 8 entries, three-descriptor requests', () => {
  const { queue, backend, transport, driver } = blockBed({ sectors: 2048 });
  // blockBed already ran a normal init; run xv6's sequence on the same device from scratch.
  backend.bytes.set(pattern(1024, 12), 1024 * 2);
  driver.initialize([8], {
    lowHalfOnly: true,
    accept: (offered) => offered.without(FeatureBits.of(Feature.ReadOnly, 7, Feature.ConfigWce, Feature.MultiQueue, 27, 28, 29)),
  });
  assert.ok(driver.status & VirtioStatus.DriverOk);
  assert.equal(transport.negotiatedFeatures.high, 0);
  const xv6 = driver.queue(0);
  assert.notEqual(xv6, queue);
  const read = submit(xv6, [{ readable: header(Request.In, 4) }, { writable: 1024 }, { writable: 1 }]);
  assert.equal(read.status, Status.Ok);
  assert.deepEqual(read.data, pattern(1024, 12));
  const data = pattern(1024, 13);
  assert.equal(submit(xv6, [{ readable: header(Request.Out, 100) }, { readable: data }, { writable: 1 }]).status, Status.Ok);
  assert.deepEqual(backend.bytes.subarray(100 * 512, 102 * 512), data);
});

test('malformed requests break the device without touching the disk: no status byte, short header', () => {
  for (const [what, buffers] of [
    ['no device-writable status byte', [{ readable: header(Request.Out, 0) }, { readable: new Uint8Array(512).fill(1) }]],
    ['header shorter than 16 bytes', [{ readable: header(Request.Out, 0).subarray(0, 12) }, { writable: 1 }]],
  ] as [string, ChainBuffer[]][]) {
    const { queue, backend, driver, transport } = blockBed();
    backend.bytes.fill(0x33);
    queue.add(buffers);
    queue.notify();
    assert.ok(driver.status & VirtioStatus.DeviceNeedsReset, what);
    assert.match(transport.needsResetReason ?? '', /virtio-blk: request/, what);
    assert.equal(backend.calls.length, 0, what);
    assert.ok(backend.bytes.every((byte) => byte === 0x33), what);
  }
});

test('a malformed chain after good requests: the good ones complete, the disk holds exactly their data', () => {
  const { queue, backend, driver, device } = blockBed();
  const first = pattern(512, 5);
  queue.add([{ readable: header(Request.Out, 1) }, { readable: first }, { writable: 1 }]);
  // The second request's data descriptor points outside RAM.
  const head = 15;
  queue.writeDescriptor(head, driver.place(header(Request.Out, 2)), 16, Flag.Next, 14);
  queue.writeDescriptor(14, 0x10, 512, Flag.Next, 13);
  queue.writeDescriptor(13, driver.place(1), 1, Flag.Write, 0);
  queue.publish(head);
  queue.notify();
  assert.ok(driver.status & VirtioStatus.DeviceNeedsReset);
  assert.equal(queue.usedIndex(), 1);
  assert.deepEqual(backend.bytes.subarray(512, 1024), first);
  assert.ok(backend.bytes.subarray(1024).every((byte) => byte === 0));
  assert.equal(device.counters.writes, 1);
});
