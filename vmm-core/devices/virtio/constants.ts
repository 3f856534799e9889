// Numbers from the virtio 1.2 specification (section 4.2.2 for the MMIO registers, 2.1 for the
// status bits, 6 for the reserved feature bits), defined once for the transport, the queues,
// the devices and the tests' mock driver.

/** "virt" in little-endian ASCII. */
export const VIRTIO_MMIO_MAGIC_VALUE = 0x7472_6976;
/** "QEMU", the vendor id QEMU reports; drivers do not care, people comparing dumps do. */
export const VIRTIO_MMIO_VENDOR_ID = 0x554d_4551;

/** Register offsets of the MMIO transport. Legacy-only and modern-only ones are marked. */
export const VirtioMmioRegister = {
  MagicValue: 0x000,
  Version: 0x004,
  DeviceId: 0x008,
  VendorId: 0x00c,
  DeviceFeatures: 0x010,
  DeviceFeaturesSel: 0x014,
  DriverFeatures: 0x020,
  DriverFeaturesSel: 0x024,
  /** Legacy only. */
  GuestPageSize: 0x028,
  QueueSel: 0x030,
  QueueNumMax: 0x034,
  QueueNum: 0x038,
  /** Legacy only. */
  QueueAlign: 0x03c,
  /** Legacy only. */
  QueuePfn: 0x040,
  /** Modern only (from here to ConfigGeneration). */
  QueueReady: 0x044,
  QueueNotify: 0x050,
  InterruptStatus: 0x060,
  InterruptAck: 0x064,
  Status: 0x070,
  QueueDescLow: 0x080,
  QueueDescHigh: 0x084,
  QueueDriverLow: 0x090,
  QueueDriverHigh: 0x094,
  QueueDeviceLow: 0x0a0,
  QueueDeviceHigh: 0x0a4,
  ShmSel: 0x0ac,
  ShmLenLow: 0x0b0,
  ShmLenHigh: 0x0b4,
  ShmBaseLow: 0x0b8,
  ShmBaseHigh: 0x0bc,
  QueueReset: 0x0c0,
  ConfigGeneration: 0x0fc,
  /** Device-specific configuration space starts here. */
  Config: 0x100,
} as const;

/** Device status bits (virtio 1.2 §2.1). */
export const VirtioStatus = {
  Acknowledge: 0x01,
  Driver: 0x02,
  DriverOk: 0x04,
  FeaturesOk: 0x08,
  DeviceNeedsReset: 0x40,
  Failed: 0x80,
} as const;

/** InterruptStatus / InterruptACK bits. */
export const VirtioInterrupt = {
  UsedBuffer: 0x1,
  ConfigChange: 0x2,
} as const;

/** Feature bits shared by all device types (virtio 1.2 §6), as bit numbers. */
export const VirtioFeature = {
  /** Legacy: interrupt when the avail ring runs empty even if suppressed. Not offered. */
  NotifyOnEmpty: 24,
  /** Legacy: the device accepts any framing of a request over descriptors. */
  AnyLayout: 27,
  IndirectDescriptors: 28,
  EventIndex: 29,
  Version1: 32,
  AccessPlatform: 33,
  RingPacked: 34,
  InOrder: 35,
  RingReset: 40,
} as const;

/** Device ids (virtio 1.2 §5). */
export const VirtioDeviceId = {
  Network: 1,
  Block: 2,
  Console: 3,
  Entropy: 4,
} as const;

/** Split-ring descriptor flags (virtio 1.2 §2.7.5). */
export const VirtqDescriptorFlag = {
  Next: 1,
  Write: 2,
  Indirect: 4,
} as const;

/** Avail ring flag: the driver asks for no used-buffer interrupts (without EVENT_IDX). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** Used ring flag: the device asks for no notifications (without EVENT_IDX). Never set here: processing is synchronous. */
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** Size in bytes of one split-ring descriptor. */
export const DESCRIPTOR_SIZE = 16;
