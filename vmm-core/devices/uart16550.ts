// NS16550A UART (QEMU `virt`'s serial@10000000): byte registers at offsets 0..7, a 16-byte
// receive FIFO fed from a bounded host-side queue, immediate transmit.

import type { StateReader, StateRecord } from '../machine/state';
import type { InterruptLine, MmioDevice } from './device';

const RX_FIFO_SIZE = 16;
/** Host input waiting behind the FIFO; beyond this `receive` refuses bytes (back-pressure). */
export const UART_HOST_QUEUE_LIMIT = 64 * 1024;

// Register bits (names follow the 16550 data sheet).
const IER_RX_DATA = 0x01;
const IER_THR_EMPTY = 0x02;
const IER_LINE_STATUS = 0x04;
const IER_MODEM_STATUS = 0x08;
const IIR_NO_INTERRUPT = 0x01;
const IIR_THR_EMPTY = 0x02;
const IIR_RX_DATA = 0x04;
const IIR_FIFOS_ENABLED = 0xc0;
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
const LCR_DLAB = 0x80;
const MCR_LOOPBACK = 0x10;
const LSR_DATA_READY = 0x01;
const LSR_THR_EMPTY = 0x20;
const LSR_TRANSMITTER_EMPTY = 0x40;
/** Not in loopback: carrier detect, data set ready, clear to send (as QEMU reports). */
const MSR_DEFAULT = 0xb0;

/** Register values for debuggers (see Uart16550.registerSnapshot). */
export interface UartRegisters {
  readonly receiveBuffer: number | undefined;
  readonly interruptEnable: number;
  readonly interruptIdentification: number;
  readonly fifoControl: number;
  readonly lineControl: number;
  readonly modemControl: number;
  readonly lineStatus: number;
  readonly modemStatus: number;
  readonly scratch: number;
  /** DLM:DLL. */
  readonly divisor: number;
  /** Bytes in the 16-byte receive FIFO. */
  readonly fifoCount: number;
  /** Bytes waiting behind the FIFO. */
  readonly hostQueueCount: number;
}

/**
 * The THR-empty interrupt follows 16550 (and QEMU) semantics: it is raised after each
 * transmitted byte and when IER.ETBEI goes from 0 to 1 while THR is empty (always, since
 * transmit is immediate); reading IIR while it reports THR-empty clears it. RX-data has
 * priority over THR-empty. With no host timers there is no character-timeout interrupt: RX-data
 * is reported whenever data is available, whatever the FIFO trigger level.
 *
 * Any access size is accepted (only the low byte is used); offsets beyond 7 read 0.
 */
export class Uart16550 implements MmioDevice {
  readonly name = 'uart16550';
  private readonly fifo = new Uint8Array(RX_FIFO_SIZE);
  private fifoHead = 0;
  private fifoCount = 0;
  /** Host bytes not yet in the FIFO, as a growable ring (hostQueue[hostHead..hostHead+hostCount)). */
  private hostQueue = new Uint8Array(256);
  private hostHead = 0;
  private hostCount = 0;

  private interruptEnable = 0;
  private lineControl = 0;
  private modemControl = 0;
  private fifoControl = 0;
  private scratch = 0;
  private divisorLow = 0;
  private divisorHigh = 0;
  /** THR-empty condition waiting to be reported (cleared by reading IIR while it shows it). */
  private thrInterruptPending = false;
  private lineLevel = false;
  /** Since the machine was built (the Devices view): bytes the guest sent, bytes it read, host bytes queued or refused. */
  readonly counters = { transmitted: 0, received: 0, inputAccepted: 0, inputRefused: 0 };

  constructor(
    private readonly irq: InterruptLine,
    private readonly output: (byte: number) => void,
  ) {
    this.reset();
  }

  reset(): void {
    this.fifoHead = this.fifoCount = 0;
    this.hostHead = this.hostCount = 0;
    this.interruptEnable = this.lineControl = this.modemControl = this.fifoControl = this.scratch = 0;
    this.divisorLow = 0x0c; // 9600 baud at 1.8432 MHz, a common reset value
    this.divisorHigh = 0;
    this.thrInterruptPending = false;
    this.lineLevel = false;
    this.irq.setLevel(false);
  }

  /** Registers, the receive FIFO and the host bytes queued behind it, for snapshots. */
  saveState(): StateRecord {
    const received = new Uint8Array(this.fifoCount);
    for (let index = 0; index < this.fifoCount; index++) received[index] = this.fifo[(this.fifoHead + index) % RX_FIFO_SIZE];
    const queued = new Uint8Array(this.hostCount);
    for (let index = 0; index < this.hostCount; index++) queued[index] = this.hostQueue[(this.hostHead + index) % this.hostQueue.length];
    return {
      fifo: received, hostQueue: queued,
      interruptEnable: this.interruptEnable, lineControl: this.lineControl, modemControl: this.modemControl,
      fifoControl: this.fifoControl, scratch: this.scratch, divisorLow: this.divisorLow, divisorHigh: this.divisorHigh,
      thrInterruptPending: this.thrInterruptPending, lineLevel: this.lineLevel, counters: { ...this.counters },
    };
  }

  /** Puts back what saveState returned (checked first: nothing changes when a field is bad). */
  restoreState(state: StateReader): void {
    const received = state.bytes('fifo', undefined, RX_FIFO_SIZE);
    const queued = state.bytes('hostQueue', undefined, UART_HOST_QUEUE_LIMIT);
    const registers = ['interruptEnable', 'lineControl', 'modemControl', 'fifoControl', 'scratch', 'divisorLow', 'divisorHigh']
      .map((key) => state.integer(key, 0, 0xff));
    const thrInterruptPending = state.boolean('thrInterruptPending');
    const lineLevel = state.boolean('lineLevel');
    const counters = state.child('counters');
    const counts = (['transmitted', 'received', 'inputAccepted', 'inputRefused'] as const).map((key) => counters.integer(key, 0));
    this.fifo.set(received);
    this.fifoHead = 0;
    this.fifoCount = received.length;
    this.hostQueue = new Uint8Array(Math.max(256, queued.length));
    this.hostQueue.set(queued);
    this.hostHead = 0;
    this.hostCount = queued.length;
    [this.interruptEnable, this.lineControl, this.modemControl, this.fifoControl, this.scratch, this.divisorLow, this.divisorHigh] = registers;
    this.thrInterruptPending = thrInterruptPending;
    [this.counters.transmitted, this.counters.received, this.counters.inputAccepted, this.counters.inputRefused] = counts;
    this.lineLevel = lineLevel;
    this.irq.setLevel(lineLevel);
  }

  /**
   * Host input (console keystrokes). Returns how many bytes were accepted; the rest must be
   * offered again later (the queue behind the FIFO is bounded by UART_HOST_QUEUE_LIMIT).
   */
  receive(bytes: Uint8Array | readonly number[]): number {
    let accepted = 0;
    for (let index = 0; index < bytes.length; index++) {
      if (!this.pushReceived(bytes[index] & 0xff)) break;
      accepted++;
    }
    this.counters.inputAccepted += accepted;
    this.counters.inputRefused += bytes.length - accepted;
    if (accepted > 0) this.updateInterrupt();
    return accepted;
  }

  /** True while received bytes have not yet been read by the guest (FIFO or host queue). */
  hasPendingInput(): boolean {
    return this.fifoCount + this.hostCount > 0;
  }

  /** Bytes the guest has not read yet. */
  get pendingInputLength(): number {
    return this.fifoCount + this.hostCount;
  }

  /** The interrupt line's current level (for debuggers and tests). */
  get interruptAsserted(): boolean {
    return this.lineLevel;
  }

  /**
   * The registers as a debugger shows them, without the side effects of guest reads (popping
   * the receive FIFO, acknowledging THR-empty). `receiveBuffer` is the next byte the guest
   * would read, or undefined when the FIFO is empty.
   */
  registerSnapshot(): UartRegisters {
    return {
      receiveBuffer: this.fifoCount > 0 ? this.fifo[this.fifoHead] : undefined,
      interruptEnable: this.interruptEnable,
      interruptIdentification: this.interruptIdentification(),
      fifoControl: this.fifoControl,
      lineControl: this.lineControl,
      modemControl: this.modemControl,
      lineStatus: LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY | (this.fifoCount > 0 ? LSR_DATA_READY : 0),
      modemStatus: this.modemStatus(),
      scratch: this.scratch,
      divisor: (this.divisorHigh << 8) | this.divisorLow,
      fifoCount: this.fifoCount,
      hostQueueCount: this.hostCount,
    };
  }

  read(offset: number, _size: 1 | 2 | 4): number {
    let result = 0;
    switch (offset) {
      case 0:
        result = this.lineControl & LCR_DLAB ? this.divisorLow : this.popReceived();
        break;
      case 1:
        result = this.lineControl & LCR_DLAB ? this.divisorHigh : this.interruptEnable;
        break;
      case 2: {
        result = this.interruptIdentification();
        // Reading IIR while it reports THR-empty acknowledges that interrupt.
        if ((result & 0x0f) === IIR_THR_EMPTY) this.thrInterruptPending = false;
        break;
      }
      case 3:
        result = this.lineControl;
        break;
      case 4:
        result = this.modemControl;
        break;
      case 5:
        result = LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY | (this.fifoCount > 0 ? LSR_DATA_READY : 0);
        break;
      case 6:
        result = this.modemStatus();
        break;
      case 7:
        result = this.scratch;
        break;
      default:
        return 0;
    }
    this.updateInterrupt();
    return result;
  }

  write(offset: number, _size: 1 | 2 | 4, value: number): void {
    const byte = value & 0xff;
    switch (offset) {
      case 0:
        if (this.lineControl & LCR_DLAB) this.divisorLow = byte;
        else this.transmit(byte);
        break;
      case 1:
        if (this.lineControl & LCR_DLAB) {
          this.divisorHigh = byte;
        } else {
          const enablingThrInterrupt = (byte & IER_THR_EMPTY) !== 0 && (this.interruptEnable & IER_THR_EMPTY) === 0;
          this.interruptEnable = byte & (IER_RX_DATA | IER_THR_EMPTY | IER_LINE_STATUS | IER_MODEM_STATUS);
          // THR is always empty here, so enabling ETBEI raises the THR-empty interrupt at once.
          if (enablingThrInterrupt) this.thrInterruptPending = true;
          else if ((byte & IER_THR_EMPTY) === 0) this.thrInterruptPending = false;
        }
        break;
      case 2:
        this.writeFifoControl(byte);
        break;
      case 3:
        this.lineControl = byte;
        break;
      case 4:
        this.modemControl = byte & 0x1f;
        break;
      case 7:
        this.scratch = byte;
        break;
      default:
        // LSR and MSR are read-only; offsets beyond 7 do not exist.
        return;
    }
    this.updateInterrupt();
  }

  private transmit(byte: number): void {
    this.counters.transmitted++;
    if (this.modemControl & MCR_LOOPBACK) this.pushReceived(byte);
    else this.output(byte);
    // The byte leaves at once: THR is empty again and reports it.
    this.thrInterruptPending = true;
  }

  private writeFifoControl(byte: number): void {
    const enableChanged = ((byte ^ this.fifoControl) & FCR_ENABLE) !== 0;
    if (enableChanged || (byte & FCR_CLEAR_RX) !== 0) {
      // Clearing the FIFO drops what the guest had not read; the host queue refills it.
      this.fifoHead = this.fifoCount = 0;
    }
    // Bits 1 and 2 self-clear; keep enable, DMA mode and trigger level.
    this.fifoControl = byte & 0xc9;
    this.refillFifo();
  }

  private fifoCapacity(): number {
    return this.fifoControl & FCR_ENABLE ? RX_FIFO_SIZE : 1;
  }

  private pushReceived(byte: number): boolean {
    if (this.hostCount === 0 && this.fifoCount < this.fifoCapacity()) {
      this.fifo[(this.fifoHead + this.fifoCount) % RX_FIFO_SIZE] = byte;
      this.fifoCount++;
      return true;
    }
    if (this.hostCount >= UART_HOST_QUEUE_LIMIT) return false;
    if (this.hostCount === this.hostQueue.length) this.growHostQueue();
    this.hostQueue[(this.hostHead + this.hostCount) % this.hostQueue.length] = byte;
    this.hostCount++;
    return true;
  }

  private growHostQueue(): void {
    const larger = new Uint8Array(Math.min(this.hostQueue.length * 2, UART_HOST_QUEUE_LIMIT));
    for (let index = 0; index < this.hostCount; index++) {
      larger[index] = this.hostQueue[(this.hostHead + index) % this.hostQueue.length];
    }
    this.hostQueue = larger;
    this.hostHead = 0;
  }

  private popReceived(): number {
    if (this.fifoCount === 0) return 0;
    this.counters.received++;
    const byte = this.fifo[this.fifoHead];
    this.fifoHead = (this.fifoHead + 1) % RX_FIFO_SIZE;
    this.fifoCount--;
    this.refillFifo();
    return byte;
  }

  private refillFifo(): void {
    const capacity = this.fifoCapacity();
    while (this.hostCount > 0 && this.fifoCount < capacity) {
      this.fifo[(this.fifoHead + this.fifoCount) % RX_FIFO_SIZE] = this.hostQueue[this.hostHead];
      this.fifoCount++;
      this.hostHead = (this.hostHead + 1) % this.hostQueue.length;
      this.hostCount--;
    }
  }

  private interruptIdentification(): number {
    const fifoBits = this.fifoControl & FCR_ENABLE ? IIR_FIFOS_ENABLED : 0;
    if (this.interruptEnable & IER_RX_DATA && this.fifoCount > 0) return IIR_RX_DATA | fifoBits;
    if (this.interruptEnable & IER_THR_EMPTY && this.thrInterruptPending) return IIR_THR_EMPTY | fifoBits;
    return IIR_NO_INTERRUPT | fifoBits;
  }

  private modemStatus(): number {
    if ((this.modemControl & MCR_LOOPBACK) === 0) return MSR_DEFAULT;
    // Loopback wires DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.
    const control = this.modemControl;
    return ((control & 0x01) << 5) | ((control & 0x02) << 3) | ((control & 0x04) << 4) | ((control & 0x08) << 4);
  }

  private updateInterrupt(): void {
    const level = (this.interruptIdentification() & IIR_NO_INTERRUPT) === 0;
    if (level !== this.lineLevel) {
      this.lineLevel = level;
      this.irq.setLevel(level);
    }
  }
}
