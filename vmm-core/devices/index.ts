// Devices of the `virt` board: the bus devices (CLINT, PLIC, 16550 UART, test finisher,
// goldfish RTC, empty virtio-mmio slots), the HTIF watcher, and the interfaces they share.
// virtio/ (the virtio-mmio transport, virtqueues, block, net, console and entropy) lives in its own subfolder.

export * from './device';
export { Clint } from './clint';
export { Plic } from './plic';
export { Uart16550, UART_HOST_QUEUE_LIMIT, type UartRegisters } from './uart16550';
export { TestFinisher, type TestFinisherEvent } from './test-finisher';
export { GoldfishRtc } from './goldfish-rtc';
export { Htif, findHtifSymbols, type HtifOptions, type SymbolLookup } from './htif';
export { EmptyVirtioMmioSlot, VIRTIO_MMIO_MAGIC, VIRTIO_MMIO_VENDOR_QEMU, VIRTIO_MMIO_DEFAULT_VERSION } from './virtio-mmio-empty';
export * as virtio from './virtio/index';
