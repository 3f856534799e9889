// What every memory-mapped device implements, and the wires devices use to raise interrupts.

/**
 * A device on the physical bus. Offsets are relative to the device's base. The bus splits
 * 8-byte accesses into two 4-byte accesses (low word first, at offset and offset+4), so a
 * device sees only 1-, 2- and 4-byte accesses. Reads return the value zero-extended as an
 * unsigned number; writes receive the low `size` bytes of `value`.
 */
export interface MmioDevice {
  readonly name: string;
  read(offset: number, size: 1 | 2 | 4): number;
  write(offset: number, size: 1 | 2 | 4, value: number): void;
}

/** One level-triggered interrupt source wired to the PLIC. */
export interface InterruptLine {
  setLevel(asserted: boolean): void;
}

/** Bits of mip that devices drive: the interrupt cause numbers, defined once in cpu/. */
export { InterruptCause as InterruptBit } from '../cpu/csr-numbers';
import type { InterruptCause } from '../cpu/csr-numbers';

/** How devices drive a hart's mip bits (CLINT: MSIP, MTIP; PLIC: MEIP, SEIP). */
export interface HartInterruptPins {
  setInterruptPending(hartId: number, bit: InterruptCause, asserted: boolean): void;
}

/** The machine's virtual clock as devices see it. */
export interface MachineClock {
  /** mtime in ticks of the 10 MHz timebase (an integer-valued double, exact below 2^53). */
  mtime(): number;
}
