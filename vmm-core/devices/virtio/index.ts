// virtio/: the virtio-mmio transport (registers, status machine, feature negotiation, queue
// setup, interrupts; modern and legacy interfaces), the split VirtQueue that reads descriptor
// chains through GuestMemory and refuses malformed ones, and the device models that plug into
// the transport: block (2), network (1), console (3) and entropy (4). Devices reach the host only
// through the bridges/ interfaces; the machine wires transports into the virtio-mmio slots.

export * from './constants';
export { FeatureBits } from './features';
export { VirtQueue, DescriptorChain, VirtioError, MAX_INDIRECT_DESCRIPTORS, type BufferSegment, type VirtQueueState } from './virtqueue';
export type { VirtioDevice, VirtioDeviceContext, JsonObject, JsonValue } from './virtio-device';
export {
  VirtioMmioTransport,
  type VirtioMmioTransportOptions,
  type VirtioTransportCounters,
  type VirtioTransportState,
} from './transport';
export { VirtioBlockDevice, VirtioBlockFeature, VirtioBlockRequest, VirtioBlockStatus, type VirtioBlockOptions, type VirtioBlockCounters } from './block';
export { VirtioNetDevice, VirtioNetFeature, VIRTIO_NET_S_LINK_UP, type VirtioNetOptions, type VirtioNetCounters } from './net';
export { VirtioEntropyDevice, type VirtioEntropyOptions, type VirtioEntropyCounters } from './entropy';
export { VirtioConsoleDevice, VirtioConsoleFeature, type VirtioConsoleOptions, type VirtioConsoleCounters } from './console';
