// A virtio-mmio slot with nothing plugged in, as QEMU's `virt` board shows its unused slots:
// the magic value, version and vendor read back, device id 0 tells drivers to skip it.

import type { MmioDevice } from './device';

export const VIRTIO_MMIO_MAGIC = 0x7472_6976; // "virt"
/** "QEMU", the vendor id QEMU reports. */
export const VIRTIO_MMIO_VENDOR_QEMU = 0x554d_4551;
/** QEMU 7.2 defaults to the legacy interface (version 1) unless force-legacy=false. */
export const VIRTIO_MMIO_DEFAULT_VERSION = 1;

const MAGIC_OFFSET = 0x000;
const VERSION_OFFSET = 0x004;
const DEVICE_ID_OFFSET = 0x008;
const VENDOR_ID_OFFSET = 0x00c;

/** All other registers read 0 and writes are ignored. Only aligned 32-bit reads return values. */
export class EmptyVirtioMmioSlot implements MmioDevice {
  readonly name: string;

  constructor(
    slot: number,
    readonly version: 1 | 2 = VIRTIO_MMIO_DEFAULT_VERSION,
  ) {
    this.name = `virtio-mmio-empty-${slot}`;
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (size !== 4) return 0;
    switch (offset) {
      case MAGIC_OFFSET:
        return VIRTIO_MMIO_MAGIC;
      case VERSION_OFFSET:
        return this.version;
      case DEVICE_ID_OFFSET:
        return 0;
      case VENDOR_ID_OFFSET:
        return VIRTIO_MMIO_VENDOR_QEMU;
      default:
        return 0;
    }
  }

  write(_offset: number, _size: 1 | 2 | 4, _value: number): void {
    // Nothing to configure without a device behind the slot.
  }
}
