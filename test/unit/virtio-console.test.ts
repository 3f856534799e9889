import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  VirtioConsoleDevice,
  VirtioConsoleFeature as Feature,
  VirtioInterrupt,
  VirtioMmioRegister as Register,
} from '../../vmm-core/devices/virtio';
import { createVirtioTestbed } from '../support/virtio-driver';

const RX = 0;
const TX = 1;

function consoleBed(options: { size?: { columns: number; rows: number }; inputLimit?: number; start?: boolean; version?: 1 | 2 } = {}) {
  const output: Uint8Array[] = [];
  const device = new VirtioConsoleDevice({ output: (bytes) => output.push(Uint8Array.from(bytes)), size: options.size, inputLimit: options.inputLimit });
  const bed = createVirtioTestbed(device, { version: options.version });
  if (options.start !== false) bed.driver.initialize([32, 32]);
  const text = () => Buffer.concat(output).toString('latin1');
  return { ...bed, device, output, text };
}

test('config and features: one port (no MULTIPORT), SIZE only when a size is given, max_nr_ports 1', () => {
  {
    const { driver } = consoleBed({ start: false });
    const offered = driver.offeredFeatures();
    assert.equal(offered.has(Feature.Size), false);
    assert.equal(offered.has(Feature.Multiport), false);
    assert.equal(offered.has(Feature.EmergencyWrite), false);
    assert.equal(driver.read(Register.DeviceId), 3);
    assert.equal(driver.read(Register.Config + 4), 1);
  }
  {
    const { transport, driver } = consoleBed({ size: { columns: 132, rows: 43 }, start: false });
    assert.ok(driver.offeredFeatures().has(Feature.Size));
    assert.equal(transport.read(Register.Config, 2), 132);
    assert.equal(transport.read(Register.Config + 2, 2), 43);
  }
});

test('guest output: transmit buffers go to the output callback in order and come back with length 0 before the notify returns', () => {
  const { driver, text, device } = consoleBed();
  const tx = driver.queue(TX);
  // hvc_console's put_chars: add one buffer, kick, then spin on get_buf: it must already be used.
  const head = tx.add([{ readable: Buffer.from('Linux version 6.1') }]);
  tx.notify();
  assert.deepEqual(tx.takeUsed(), [{ id: head, length: 0 }]);
  tx.add([{ readable: Buffer.from(' (riscv64)') }, { readable: Buffer.from('\r\n') }]);
  tx.notify();
  assert.equal(text(), 'Linux version 6.1 (riscv64)\r\n');
  assert.equal(device.counters.bytesOut, 29);
});

test('guest output larger than 4 KiB reaches the callback whole, in pieces of at most 4 KiB', () => {
  const { driver, output } = consoleBed();
  const tx = driver.queue(TX);
  const big = Uint8Array.from({ length: 10_000 }, (_, i) => 0x20 + (i % 90));
  tx.add([{ readable: big }]);
  tx.notify();
  assert.ok(output.every((piece) => piece.length <= 4096));
  assert.deepEqual(Uint8Array.from(Buffer.concat(output)), big);
});

test('host input: delivered into posted receive buffers in order, split across small buffers, with an interrupt', () => {
  const { driver, device, line } = consoleBed();
  const rx = driver.queue(RX);
  const heads = [rx.add([{ writable: 4 }]), rx.add([{ writable: 4 }]), rx.add([{ writable: 4096 }])];
  rx.notify();
  assert.equal(device.receive(Buffer.from('ls -l\n')), 6);
  const received = heads.slice(0, 2).map((head) => rx.writableBytes(head));
  assert.deepEqual(rx.takeUsed(), [{ id: heads[0], length: 4 }, { id: heads[1], length: 2 }]);
  assert.equal(Buffer.from(received[0]).toString() + Buffer.from(received[1].subarray(0, 2)).toString(), 'ls -l\n');
  assert.equal(line.level, true);
  assert.equal(driver.acknowledgeInterrupt(), VirtioInterrupt.UsedBuffer);
  assert.equal(device.counters.bytesIn, 6);
});

test('host input with no receive buffers waits (bounded: receive returns how many bytes it took) and arrives when buffers are posted', () => {
  const { driver, device } = consoleBed({ inputLimit: 10 });
  assert.equal(device.receive(Buffer.from('hello')), 5);
  assert.equal(device.receive(Buffer.from(' world!')), 5, 'only 5 more fit');
  assert.equal(device.receive(Buffer.from('x')), 0);
  assert.equal(device.counters.inputRefused, 3);
  assert.equal(device.pendingInput, 10);
  const rx = driver.queue(RX);
  const head = rx.add([{ writable: 64 }]);
  rx.notify();
  const bytes = rx.writableBytes(head);
  assert.deepEqual(rx.takeUsed(), [{ id: head, length: 10 }]);
  assert.equal(Buffer.from(bytes.subarray(0, 10)).toString(), 'hello worl');
  assert.equal(device.pendingInput, 0);
});

test('input typed before the driver is up is kept through the driver\'s probe reset and delivered once it posts buffers', () => {
  const { driver, device } = consoleBed({ start: false });
  assert.equal(device.receive(Buffer.from('early')), 5);
  driver.initialize([32, 32]);
  const rx = driver.queue(RX);
  const head = rx.add([{ writable: 16 }]);
  rx.notify();
  assert.equal(Buffer.from(rx.writableBytes(head).subarray(0, 5)).toString(), 'early');
  assert.deepEqual(rx.takeUsed(), [{ id: head, length: 5 }]);
});

test('works on the legacy interface too (both directions)', () => {
  const { driver, device, text } = consoleBed({ version: 1 });
  const tx = driver.queue(TX);
  tx.add([{ readable: Buffer.from('legacy') }]);
  tx.notify();
  assert.equal(text(), 'legacy');
  const rx = driver.queue(RX);
  const head = rx.add([{ writable: 8 }]);
  rx.notify();
  device.receive(Buffer.from('ok'));
  assert.deepEqual(rx.takeUsed(), [{ id: head, length: 2 }]);
});

test('resize with SIZE: new columns and rows with a config-change interrupt; without SIZE it is ignored', () => {
  const { driver, device, line, transport } = consoleBed({ size: { columns: 80, rows: 24 } });
  const generation = driver.read(Register.ConfigGeneration);
  device.resize(100, 30);
  assert.equal(transport.read(Register.Config, 2), 100);
  assert.equal(transport.read(Register.Config + 2, 2), 30);
  assert.equal(line.level, true);
  assert.equal(driver.acknowledgeInterrupt(), VirtioInterrupt.ConfigChange);
  assert.notEqual(driver.read(Register.ConfigGeneration), generation);
  const plain = consoleBed();
  plain.device.resize(100, 30);
  assert.equal(plain.transport.read(Register.Config, 2), 0);
  assert.equal(plain.line.level, false);
});

test('an output callback that throws loses those bytes (counted) without breaking the device', () => {
  let calls = 0;
  const device = new VirtioConsoleDevice({
    output: () => {
      calls++;
      if (calls === 1) throw new Error('terminal closed');
    },
  });
  const { driver, transport, log } = createVirtioTestbed(device);
  driver.initialize([8, 8]);
  const tx = driver.queue(TX);
  tx.add([{ readable: Buffer.from('a') }]);
  tx.notify();
  tx.add([{ readable: Buffer.from('b') }]);
  tx.notify();
  assert.equal(calls, 2);
  assert.equal(device.counters.outputErrors, 1);
  assert.equal(tx.takeUsed().length, 2);
  assert.equal(transport.needsResetReason, null);
  assert.ok(log.some((line) => line.includes('terminal closed')));
});

test('pending input and the size survive saveState/restoreState as JSON', () => {
  const { device } = consoleBed({ size: { columns: 90, rows: 20 }, start: false });
  device.receive(Buffer.from('abc'));
  device.receive(Buffer.from('def'));
  const state = JSON.parse(JSON.stringify(device.saveState()));
  const other = new VirtioConsoleDevice({ output: () => {}, size: { columns: 1, rows: 1 } });
  other.restoreState(state);
  assert.equal(other.pendingInput, 6);
  assert.equal(other.configSpace()[0], 90);
  const { driver } = createVirtioTestbed(other);
  driver.initialize([8, 8]);
  const rx = driver.queue(RX);
  const head = rx.add([{ writable: 8 }]);
  rx.notify();
  assert.equal(Buffer.from(rx.writableBytes(head).subarray(0, 6)).toString(), 'abcdef');
});
