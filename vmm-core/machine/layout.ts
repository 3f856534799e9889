// The physical layout of the machine, compatible with QEMU's `virt` board. The bus and the
// device-tree writer both read these constants, so the guest is told exactly what is there.

import { DEFAULT_CPU_MODEL } from '../cpu/cpu-model';

export const RAM_BASE = 0x8000_0000;
export const DEFAULT_RAM_SIZE = 128 * 1024 * 1024;
/** RAM must end below 4 GiB: physical addresses are handled as 32-bit unsigned numbers. */
export const MAX_RAM_SIZE = 0x1_0000_0000 - RAM_BASE;
export const MAX_HARTS = 8;

/** mtime ticks per second. */
export const TIMEBASE_FREQUENCY = 10_000_000;
/** mtime advances once per 100 ns of virtual time. */
export const NANOSECONDS_PER_TICK = 1_000_000_000 / TIMEBASE_FREQUENCY;
/**
 * Virtual time is instruction-counted, as QEMU's `-icount shift=N`: each retired instruction
 * takes 2^N ns. The default makes a guest second about a wall second on the interpreter as
 * guests use it: boot loaders polling the timer and UART and trap-heavy kernels retire 25–60 M
 * instructions per second (16 ns each: 0.4–1.0 guest s per wall s), plain compute ~100 M (1.6).
 * Revisit when execution gets faster (docs/cli.md, Time).
 */
export const DEFAULT_ICOUNT_SHIFT = 4;
export const MAX_ICOUNT_SHIFT = 10;

export interface DeviceRegion {
  readonly base: number;
  readonly size: number;
}

export const TEST_FINISHER: DeviceRegion = { base: 0x10_0000, size: 0x1000 };
export const RTC: DeviceRegion = { base: 0x10_1000, size: 0x1000 };
export const CLINT: DeviceRegion = { base: 0x0200_0000, size: 0x1_0000 };
export const PLIC: DeviceRegion = { base: 0x0c00_0000, size: 0x60_0000 };
export const UART0: DeviceRegion = { base: 0x1000_0000, size: 0x100 };
export const VIRTIO_MMIO_BASE = 0x1000_1000;
export const VIRTIO_MMIO_STRIDE = 0x1000;
export const VIRTIO_MMIO_SLOTS = 8;

/** PLIC interrupt sources. */
export const UART0_IRQ = 10;
export const RTC_IRQ = 11;
export const virtioMmioIrq = (slot: number): number => 1 + slot;
export const PLIC_SOURCE_COUNT = 96;

/** Where the firmware boot mode puts the kernel. */
export const FIRMWARE_KERNEL_ADDRESS = 0x8020_0000;
/** fw_jump copies the DTB here; never place the initrd or our DTB at this address. */
export const FW_JUMP_FDT_ADDRESS = 0x8220_0000;

/** The ISA string the device tree advertises for the default CPU model (each model has its own). */
export const ISA_STRING = DEFAULT_CPU_MODEL.isaString;
