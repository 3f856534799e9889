import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Uart16550, UART_HOST_QUEUE_LIMIT } from '../../vmm-core/devices/uart16550';
import type { InterruptLine } from '../../vmm-core/devices/device';

class RecordingLine implements InterruptLine {
  level = false;
  transitions = 0;
  setLevel(asserted: boolean): void {
    if (asserted !== this.level) this.transitions++;
    this.level = asserted;
  }
}

const RBR = 0, THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

function setup() {
  const line = new RecordingLine();
  const output: number[] = [];
  const uart = new Uart16550(line, (byte) => output.push(byte));
  return { line, output, uart };
}

test('transmit is immediate: bytes reach the output and LSR keeps THRE and TEMT set', () => {
  const { uart, output } = setup();
  assert.equal(uart.read(LSR, 1) & 0x60, 0x60);
  for (const byte of Buffer.from('ok\n')) uart.write(THR, 1, byte);
  assert.deepEqual(output, [0x6f, 0x6b, 0x0a]);
  assert.equal(uart.read(LSR, 1), 0x60);
});

test('THR-empty interrupt: raised when ETBEI is enabled, cleared by reading IIR, raised again by the next THR write', () => {
  const { uart, line } = setup();
  assert.equal(uart.read(IIR, 1), 0x01);
  uart.write(IER, 1, 0x02);
  assert.equal(line.level, true, 'enabling ETBEI with THR empty interrupts at once');
  assert.equal(uart.read(IIR, 1), 0x02);
  assert.equal(line.level, false, 'reading IIR acknowledged it');
  assert.equal(uart.read(IIR, 1), 0x01);
  uart.write(THR, 1, 0x41);
  assert.equal(line.level, true);
  assert.equal(uart.read(IIR, 1), 0x02);
  assert.equal(line.level, false);
  // Rewriting IER with ETBEI already set does not re-raise it; toggling it does.
  uart.write(IER, 1, 0x02);
  assert.equal(line.level, false);
  uart.write(IER, 1, 0x00);
  uart.write(IER, 1, 0x02);
  assert.equal(line.level, true);
  uart.write(IER, 1, 0x00);
  assert.equal(line.level, false, 'disabling ETBEI drops the line');
});

test('interrupt-driven output keeps flowing (Linux/xv6 pattern: write, wait for THRE interrupt, write)', () => {
  const { uart, line, output } = setup();
  uart.write(IER, 1, 0x03);
  const message = Buffer.from('hello, world');
  let sent = 0;
  // Each "interrupt": identify, then refill THR while LSR.THRE says there is room.
  for (let guard = 0; guard < 100 && line.level; guard++) {
    const identification = uart.read(IIR, 1);
    if ((identification & 0x0f) !== 0x02) break;
    if (sent < message.length && uart.read(LSR, 1) & 0x20) uart.write(THR, 1, message[sent++]);
  }
  assert.equal(Buffer.from(output).toString(), 'hello, world');
  assert.equal(line.level, false);
});

test('RX data: DR and the RX interrupt while bytes are available; RX has priority over THRE', () => {
  const { uart, line } = setup();
  uart.write(IER, 1, 0x03);
  assert.equal(uart.receive([0x61, 0x62]), 2);
  assert.equal(line.level, true);
  assert.equal(uart.read(LSR, 1) & 0x01, 0x01);
  assert.equal(uart.read(IIR, 1), 0x04, 'RX before THRE');
  assert.equal(uart.read(RBR, 1), 0x61);
  assert.equal(uart.read(RBR, 1), 0x62);
  assert.equal(uart.read(LSR, 1) & 0x01, 0);
  assert.equal(uart.read(IIR, 1), 0x02, 'THRE still pending underneath');
  assert.equal(line.level, false);
  assert.equal(uart.read(RBR, 1), 0, 'reading an empty receiver gives 0');
});

test('RX interrupt needs ERBFI', () => {
  const { uart, line } = setup();
  uart.receive([1]);
  assert.equal(line.level, false);
  uart.write(IER, 1, 0x01);
  assert.equal(line.level, true);
  uart.read(RBR, 1);
  assert.equal(line.level, false);
});

test('without FIFOs the receiver holds one byte; the host queue keeps the rest in order', () => {
  const { uart } = setup();
  const input = Buffer.from('abcdefghijklmnopqrstuvwxyz');
  assert.equal(uart.receive(input), input.length);
  assert.equal(uart.pendingInputLength, input.length);
  const received: number[] = [];
  while (uart.read(LSR, 1) & 1) received.push(uart.read(RBR, 1));
  assert.equal(Buffer.from(received).toString(), 'abcdefghijklmnopqrstuvwxyz');
  assert.equal(uart.hasPendingInput(), false);
});

test('FCR enables the 16-byte FIFO (IIR shows 0xc0) and clears it', () => {
  const { uart } = setup();
  uart.write(FCR, 1, 0x07);
  assert.equal(uart.read(IIR, 1) & 0xc0, 0xc0);
  uart.receive(Buffer.from('0123456789abcdefXYZ'));
  assert.equal(uart.pendingInputLength, 19);
  uart.write(FCR, 1, 0x03); // clear RX: the 16 bytes in the FIFO are dropped
  assert.equal(uart.pendingInputLength, 3);
  const received: number[] = [];
  while (uart.read(LSR, 1) & 1) received.push(uart.read(RBR, 1));
  assert.equal(Buffer.from(received).toString(), 'XYZ');
  uart.write(FCR, 1, 0x00);
  assert.equal(uart.read(IIR, 1) & 0xc0, 0);
});

test('receive() applies back-pressure at the host-queue limit and loses nothing it accepted', () => {
  const { uart } = setup();
  const big = new Uint8Array(UART_HOST_QUEUE_LIMIT + 100).map((_, index) => index & 0xff);
  const accepted = uart.receive(big);
  assert.equal(accepted, UART_HOST_QUEUE_LIMIT + 1, 'the one-byte receiver plus the queue');
  assert.equal(uart.receive([1, 2, 3]), 0);
  uart.read(RBR, 1);
  assert.equal(uart.receive([7, 8]), 1);
  let count = 1;
  let expected = 1;
  while (uart.read(LSR, 1) & 1) {
    const byte = uart.read(RBR, 1);
    if (count < accepted) assert.equal(byte, expected & 0xff);
    expected++;
    count++;
  }
  assert.equal(count, accepted + 1);
});

test('DLAB selects the divisor latches without transmitting or touching IER', () => {
  const { uart, output } = setup();
  uart.write(IER, 1, 0x01);
  uart.write(LCR, 1, 0x83);
  uart.write(0, 1, 0x01);
  uart.write(1, 1, 0x02);
  assert.equal(uart.read(0, 1), 0x01);
  assert.equal(uart.read(1, 1), 0x02);
  assert.deepEqual(output, []);
  uart.write(LCR, 1, 0x03);
  assert.equal(uart.read(LCR, 1), 0x03);
  assert.equal(uart.read(IER, 1), 0x01);
});

test('MCR loopback sends transmitted bytes to the receiver and mirrors the modem lines in MSR', () => {
  const { uart, output, line } = setup();
  assert.equal(uart.read(MSR, 1), 0xb0);
  uart.write(MCR, 1, 0x10 | 0x0f);
  assert.equal(uart.read(MCR, 1), 0x1f);
  assert.equal(uart.read(MSR, 1), 0xf0);
  uart.write(MCR, 1, 0x10 | 0x01);
  assert.equal(uart.read(MSR, 1), 0x20);
  uart.write(IER, 1, 0x01);
  uart.write(THR, 1, 0x5a);
  assert.deepEqual(output, []);
  assert.equal(line.level, true);
  assert.equal(uart.read(RBR, 1), 0x5a);
  uart.write(MCR, 1, 0);
  uart.write(THR, 1, 0x5b);
  assert.deepEqual(output, [0x5b]);
});

test('scratch register holds a byte', () => {
  const { uart } = setup();
  uart.write(SCR, 1, 0x1a5);
  assert.equal(uart.read(SCR, 1), 0xa5);
});

test('odd accesses never throw: other sizes use the low byte, offsets past 7 read 0', () => {
  const { uart, output } = setup();
  uart.write(THR, 4, 0x1234_5641);
  assert.deepEqual(output, [0x41]);
  assert.equal(uart.read(LSR, 4), 0x60);
  for (const offset of [8, 0xff, 0x100, -1, 0.5, 2 ** 40]) {
    for (const size of [1, 2, 4] as const) {
      assert.doesNotThrow(() => uart.write(offset, size, 0xff));
      assert.equal(uart.read(offset, size), 0);
    }
  }
  assert.doesNotThrow(() => uart.write(LSR, 1, 0));
  assert.doesNotThrow(() => uart.write(MSR, 1, 0));
  assert.equal(uart.read(LSR, 1), 0x60);
});

test('reset clears input and drops the line', () => {
  const { uart, line } = setup();
  uart.write(IER, 1, 0x01);
  uart.receive([1, 2, 3]);
  assert.equal(line.level, true);
  uart.reset();
  assert.equal(line.level, false);
  assert.equal(uart.hasPendingInput(), false);
  assert.equal(uart.read(IER, 1), 0);
});
