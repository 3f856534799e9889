// bridges/net/: the network backends a virtio-net device talks to (NetBackend). UserNetwork is
// QEMU's `-netdev user` (a NAT with DHCP, DNS, ARP, ICMP echo to the gateway, TCP and UDP over
// host sockets, host port forwards); StreamNetwork and DgramNetwork carry frames to another
// machine in QEMU's stream and dgram framings; PcapCapture taps any backend into a pcap file;
// netdev.ts parses QEMU's -netdev text. Frame layout and checksums are in packet.ts.

export { UserNetwork, type UserNetworkOptions, type UserNetworkCounters, type HostForward } from './user-network';
export { StreamNetwork, StreamFrameReader, STREAM_MAXIMUM_FRAME, describeSocketAddress, type StreamNetworkOptions, type SocketAddress } from './stream-network';
export { DgramNetwork, DGRAM_MAXIMUM_FRAME, type DgramNetworkOptions, type InetAddress } from './dgram-network';
export { PcapCapture, wallClockMicroseconds, type PcapCaptureOptions } from './pcap';
export { parseNetdevOption, parseHostForward, openNetBackend, type NetdevConfig, type OpenNetBackendOptions } from './netdev';
export { NetCounters, type NetCountersSnapshot } from './counters';
export type { TcpTuning } from './tcp';
