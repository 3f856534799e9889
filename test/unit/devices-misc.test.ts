import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestFinisher, type TestFinisherEvent } from '../../vmm-core/devices/test-finisher';
import { GoldfishRtc } from '../../vmm-core/devices/goldfish-rtc';
import { EmptyVirtioMmioSlot } from '../../vmm-core/devices/virtio-mmio-empty';
import type { InterruptLine, MachineClock } from '../../vmm-core/devices/device';

class RecordingLine implements InterruptLine {
  level = false;
  setLevel(asserted: boolean): void {
    this.level = asserted;
  }
}

class ManualClock implements MachineClock {
  now = 0;
  mtime(): number {
    return this.now;
  }
}

// ---- test finisher ----

function finisher() {
  const events: TestFinisherEvent[] = [];
  return { events, device: new TestFinisher((event) => events.push(event)) };
}

test('test finisher: 0x5555 passes, 0x3333|code<<16 fails with code, 0x7777 resets', () => {
  const { events, device } = finisher();
  device.write(0, 4, 0x5555);
  device.write(0, 4, 0x3333 | (42 << 16));
  device.write(0, 4, 0x7777);
  device.write(0, 4, (0xffff << 16) | 0x3333);
  assert.deepEqual(events, [
    { kind: 'pass', code: 0 },
    { kind: 'fail', code: 42 },
    { kind: 'reset', code: 0 },
    { kind: 'fail', code: 0xffff },
  ]);
});

test('test finisher: other values, offsets and byte writes are ignored; reads are 0', () => {
  const { events, device } = finisher();
  for (const value of [0, 1, 0x5554, 0x1_5556, 0x3334, 0xffff_ffff]) device.write(0, 4, value);
  device.write(4, 4, 0x5555);
  device.write(1, 1, 0x55);
  device.write(0, 1, 0x55);
  device.write(-4, 4, 0x5555);
  assert.deepEqual(events, []);
  assert.equal(device.read(0, 4), 0);
  device.write(0, 2, 0x5555); // QEMU accepts 16-bit writes too
  assert.deepEqual(events, [{ kind: 'pass', code: 0 }]);
});

// ---- goldfish RTC ----

const EPOCH = 1_700_000_000_000_000_000n; // 2023-11-14, in ns

function rtc() {
  const clock = new ManualClock();
  const line = new RecordingLine();
  const device = new GoldfishRtc(clock, EPOCH, line);
  const time = (): bigint => {
    const low = BigInt(device.read(0x00, 4));
    return (BigInt(device.read(0x04, 4)) << 32n) | low;
  };
  const setAlarm = (at: bigint) => {
    device.write(0x0c, 4, Number(at >> 32n));
    device.write(0x08, 4, Number(at & 0xffff_ffffn));
  };
  return { clock, line, device, time, setAlarm };
}

test('RTC time is epoch + mtime × 100 ns, read low then latched high', () => {
  const { clock, time, device } = rtc();
  assert.equal(time(), EPOCH);
  clock.now = 10_000_000; // one second of ticks
  assert.equal(time(), EPOCH + 1_000_000_000n);
  // TIME_HIGH is latched by TIME_LOW, not live.
  const low = device.read(0x00, 4);
  clock.now += 2 ** 40;
  assert.equal((BigInt(device.read(0x04, 4)) << 32n) | BigInt(low), EPOCH + 1_000_000_000n);
});

test('RTC accepts a number epoch and rejects a fractional one', () => {
  const line = new RecordingLine();
  const device = new GoldfishRtc(new ManualClock(), 1_000_000, line);
  assert.equal(device.read(0, 4), 1_000_000);
  assert.throws(() => new GoldfishRtc(new ManualClock(), 0.5, line), /integer/);
});

test('RTC time can be set by the guest (high then low)', () => {
  const { clock, device, time } = rtc();
  const wanted = 1_800_000_000_123_456_789n;
  device.write(0x04, 4, Number(wanted >> 32n));
  device.write(0x00, 4, Number(wanted & 0xffff_ffffn));
  assert.equal(time(), wanted);
  clock.now = 10;
  assert.equal(time(), wanted + 1000n);
});

test('RTC alarm fires when time reaches it; interrupt needs IRQ_ENABLED and stays until cleared', () => {
  const { clock, device, line, setAlarm } = rtc();
  device.write(0x10, 4, 1);
  setAlarm(EPOCH + 5_000n); // 50 ticks
  assert.equal(device.read(0x18, 4), 1, 'alarm running');
  assert.equal(device.nextAlarmDeadline(), 50);
  assert.equal(device.read(0x08, 4), Number((EPOCH + 5_000n) & 0xffff_ffffn));
  assert.equal(device.read(0x0c, 4), Number((EPOCH + 5_000n) >> 32n));
  clock.now = 49;
  device.update();
  assert.equal(line.level, false);
  clock.now = 50;
  device.update();
  assert.equal(line.level, true);
  assert.equal(device.read(0x18, 4), 0, 'one-shot');
  assert.equal(device.nextAlarmDeadline(), Infinity);
  device.write(0x10, 4, 0);
  assert.equal(line.level, false, 'masked');
  device.write(0x10, 4, 1);
  assert.equal(line.level, true);
  device.write(0x1c, 4, 1);
  assert.equal(line.level, false, 'cleared');
});

test('RTC alarm in the past fires at once; CLEAR_ALARM disarms', () => {
  const { clock, device, line, setAlarm } = rtc();
  device.write(0x10, 4, 1);
  clock.now = 1000;
  setAlarm(EPOCH);
  assert.equal(line.level, true);
  device.write(0x1c, 4, 1);
  setAlarm(EPOCH + 10n ** 9n);
  assert.equal(device.nextAlarmDeadline(), 10_000_000);
  device.write(0x14, 4, 1);
  assert.equal(device.read(0x18, 4), 0);
  clock.now = 10 ** 9;
  device.update();
  assert.equal(line.level, false);
});

test('RTC ignores sub-word and unknown accesses', () => {
  const { device } = rtc();
  for (const offset of [0x01, 0x02, 0x20, 0xffc, -4]) {
    for (const size of [1, 2, 4] as const) {
      assert.doesNotThrow(() => device.write(offset, size, 0xffff_ffff));
      assert.equal(device.read(offset, size), 0);
    }
  }
  assert.equal(device.read(0x00, 2), 0);
  assert.equal(device.read(0x10, 4), 0);
});

// ---- empty virtio-mmio slot ----

test('empty virtio-mmio slot: magic, legacy version 1 by default, device id 0, vendor QEMU', () => {
  const slot = new EmptyVirtioMmioSlot(3);
  assert.equal(slot.name, 'virtio-mmio-empty-3');
  assert.equal(slot.read(0x000, 4), 0x7472_6976);
  assert.equal(slot.read(0x004, 4), 1);
  assert.equal(slot.read(0x008, 4), 0);
  assert.equal(slot.read(0x00c, 4), 0x554d_4551);
  assert.equal(new EmptyVirtioMmioSlot(0, 2).read(0x004, 4), 2);
});

test('empty virtio-mmio slot: everything else reads 0 and writes are ignored', () => {
  const slot = new EmptyVirtioMmioSlot(0);
  for (const offset of [0x010, 0x070, 0x100, 0xffc, 0x1000, -4, 1]) {
    for (const size of [1, 2, 4] as const) {
      assert.doesNotThrow(() => slot.write(offset, size, 0xffff_ffff));
      assert.equal(slot.read(offset, size), 0);
    }
  }
  slot.write(0x070, 4, 0xf); // status
  assert.equal(slot.read(0x070, 4), 0);
  assert.equal(slot.read(0x000, 2), 0);
});
