// Ethernet, ARP and IPv4 header layout, the Internet checksum, address text forms and the
// builders for the frames the user-mode network sends to the guest. IPv4 addresses are
// unsigned 32-bit numbers (10.0.2.2 is 0x0a000202); MAC addresses are 6-byte arrays.

export const ETHERNET_HEADER_LENGTH = 14;
/** Shortest Ethernet frame without FCS; shorter frames are padded with zeros. */
export const ETHERNET_MINIMUM_FRAME = 60;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const IPV4_HEADER_LENGTH = 20;
export const IP_PROTOCOL_ICMP = 1;
export const IP_PROTOCOL_TCP = 6;
export const IP_PROTOCOL_UDP = 17;
export const UDP_HEADER_LENGTH = 8;
export const TCP_HEADER_LENGTH = 20;
/** The link MTU the NAT assumes (QEMU's slirp uses 1500 too). */
export const LINK_MTU = 1500;
export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const IPV4_BROADCAST = 0xffffffff;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;

export function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] << 8) | bytes[offset + 1];
}

export function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

export function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 24) & 0xff;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

/** One's-complement sum of 16-bit big-endian words over [start, end), folded to 16 bits, not inverted. */
export function onesComplementSum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let index = start;
  // Sums stay below 2^32 for any length up to 64 KiB, so folding once at the end is enough.
  const pairsEnd = end - ((end - start) & 1);
  for (; index < pairsEnd; index += 2) sum += (bytes[index] << 8) | bytes[index + 1];
  if (index < end) sum += bytes[index] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum of [start, end) (the value that goes into a header field). */
export function internetChecksum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  return ~onesComplementSum(bytes, start, end, initial) & 0xffff;
}

/** The TCP/UDP pseudo-header's contribution to the checksum sum. */
export function pseudoHeaderSum(source: number, destination: number, protocol: number, length: number): number {
  let sum = (source >>> 16) + (source & 0xffff) + (destination >>> 16) + (destination & 0xffff) + protocol + length;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses "10.0.2.2"; undefined for anything else. */
export function parseIpv4(text: string): number | undefined {
  const match = DOTTED_QUAD.exec(text);
  if (!match) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(match[i]);
    if (part > 255 || (match[i].length > 1 && match[i][0] === '0')) return undefined;
    value = value * 256 + part;
  }
  return value;
}

export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/** Parses "52:55:0a:00:02:02" (or with dashes); undefined for anything else. */
export function parseMac(text: string): Uint8Array | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((part) => /^[0-9a-fA-F]{2}$/.test(part))) return undefined;
  return new Uint8Array(parts.map((part) => parseInt(part, 16)));
}

/** QEMU slirp's addresses for its virtual hosts: 52:55 followed by the IPv4 address. */
export function slirpMacFor(address: number): Uint8Array {
  return new Uint8Array([0x52, 0x55, address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff]);
}

export function isMulticastMac(mac: Uint8Array, offset = 0): boolean {
  return (mac[offset] & 1) === 1;
}

/** A valid IPv4 packet inside a frame; offsets index the frame. */
export interface Ipv4Packet {
  readonly frame: Uint8Array;
  readonly sourceMac: Uint8Array;
  readonly headerOffset: number;
  readonly headerLength: number;
  /** IP total length (header + payload); the frame may be longer (Ethernet padding). */
  readonly totalLength: number;
  readonly protocol: number;
  readonly source: number;
  readonly destination: number;
  readonly ttl: number;
  readonly typeOfService: number;
  readonly payloadOffset: number;
  readonly payloadLength: number;
  /** More-fragments set or a non-zero fragment offset: a piece of a larger datagram. */
  readonly isFragment: boolean;
}

/**
 * Checks an Ethernet frame carrying IPv4 and returns its packet, or a short reason it is
 * dropped ("ipv4-truncated", "ipv4-bad-checksum", ...).
 */
export function parseIpv4Frame(frame: Uint8Array): Ipv4Packet | string {
  const start = ETHERNET_HEADER_LENGTH;
  if (frame.length < start + IPV4_HEADER_LENGTH) return 'ipv4-truncated';
  const versionAndLength = frame[start];
  if (versionAndLength >>> 4 !== 4) return 'ipv4-bad-version';
  const headerLength = (versionAndLength & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH) return 'ipv4-bad-header-length';
  const totalLength = readU16(frame, start + 2);
  if (totalLength < headerLength) return 'ipv4-bad-total-length';
  if (start + totalLength > frame.length) return 'ipv4-truncated';
  if (onesComplementSum(frame, start, start + headerLength) !== 0xffff) return 'ipv4-bad-checksum';
  const fragment = readU16(frame, start + 6);
  return {
    frame,
    sourceMac: frame.subarray(6, 12),
    headerOffset: start,
    headerLength,
    totalLength,
    protocol: frame[start + 9],
    source: readU32(frame, start + 12),
    destination: readU32(frame, start + 16),
    ttl: frame[start + 8],
    typeOfService: frame[start + 1],
    payloadOffset: start + headerLength,
    payloadLength: totalLength - headerLength,
    isFragment: (fragment & 0x3fff) !== 0,
  };
}

/** Fields of an IPv4 packet the NAT sends. */
export interface Ipv4Header {
  source: number;
  destination: number;
  protocol: number;
  identification: number;
  ttl?: number;
  typeOfService?: number;
  dontFragment?: boolean;
  /** Fragment offset in bytes (a multiple of 8) and the more-fragments bit. */
  fragmentOffset?: number;
  moreFragments?: boolean;
}

/**
 * A frame with Ethernet and IPv4 headers filled in and room for `payloadLength` bytes at
 * offset 34. The destination MAC is left zero: the network fills it in once it knows it.
 */
export function ipv4Frame(sourceMac: Uint8Array, header: Ipv4Header, payloadLength: number): Uint8Array {
  const totalLength = IPV4_HEADER_LENGTH + payloadLength;
  const frame = new Uint8Array(Math.max(ETHERNET_MINIMUM_FRAME, ETHERNET_HEADER_LENGTH + totalLength));
  frame.set(sourceMac, 6);
  writeU16(frame, 12, ETHERTYPE_IPV4);
  const ip = ETHERNET_HEADER_LENGTH;
  frame[ip] = 0x45;
  frame[ip + 1] = header.typeOfService ?? 0;
  writeU16(frame, ip + 2, totalLength);
  writeU16(frame, ip + 4, header.identification & 0xffff);
  const flags = (header.dontFragment ? 0x4000 : 0) | (header.moreFragments ? 0x2000 : 0);
  writeU16(frame, ip + 6, flags | ((header.fragmentOffset ?? 0) >>> 3));
  frame[ip + 8] = header.ttl ?? 64;
  frame[ip + 9] = header.protocol;
  writeU32(frame, ip + 12, header.source);
  writeU32(frame, ip + 16, header.destination);
  writeU16(frame, ip + 10, internetChecksum(frame, ip, ip + IPV4_HEADER_LENGTH));
  return frame;
}

export const IPV4_PAYLOAD_OFFSET = ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH;

/** Computes and stores the TCP or UDP checksum of the segment at offset 34 of a frame from ipv4Frame(). */
export function fillTransportChecksum(frame: Uint8Array, checksumOffsetInSegment: number): void {
  const ip = ETHERNET_HEADER_LENGTH;
  const totalLength = readU16(frame, ip + 2);
  const segmentLength = totalLength - IPV4_HEADER_LENGTH;
  const protocol = frame[ip + 9];
  const start = IPV4_PAYLOAD_OFFSET;
  frame[start + checksumOffsetInSegment] = 0;
  frame[start + checksumOffsetInSegment + 1] = 0;
  const initial = pseudoHeaderSum(readU32(frame, ip + 12), readU32(frame, ip + 16), protocol, segmentLength);
  let checksum = internetChecksum(frame, start, start + segmentLength, initial);
  if (protocol === IP_PROTOCOL_UDP && checksum === 0) checksum = 0xffff;
  writeU16(frame, start + checksumOffsetInSegment, checksum);
}

/**
 * The frames of one UDP datagram from `source` to the guest, split into IPv4 fragments when it
 * does not fit the link MTU (DNS answers and UDP replies may be larger than 1472 bytes).
 */
export function udpFrames(
  sourceMac: Uint8Array,
  source: number,
  sourcePort: number,
  destination: number,
  destinationPort: number,
  payload: Uint8Array,
  identification: number,
): Uint8Array[] {
  const udpLength = UDP_HEADER_LENGTH + payload.length;
  const datagram = new Uint8Array(udpLength);
  writeU16(datagram, 0, sourcePort);
  writeU16(datagram, 2, destinationPort);
  writeU16(datagram, 4, udpLength);
  datagram.set(payload, UDP_HEADER_LENGTH);
  const initial = pseudoHeaderSum(source, destination, IP_PROTOCOL_UDP, udpLength);
  let checksum = internetChecksum(datagram, 0, udpLength, initial);
  if (checksum === 0) checksum = 0xffff;
  writeU16(datagram, 6, checksum);
  const maximumPayload = LINK_MTU - IPV4_HEADER_LENGTH;
  const frames: Uint8Array[] = [];
  for (let offset = 0; offset < udpLength; ) {
    const length = udpLength - offset <= maximumPayload ? udpLength - offset : maximumPayload & ~7;
    const frame = ipv4Frame(sourceMac, {
      source,
      destination,
      protocol: IP_PROTOCOL_UDP,
      identification,
      fragmentOffset: offset,
      moreFragments: offset + length < udpLength,
    }, length);
    frame.set(datagram.subarray(offset, offset + length), IPV4_PAYLOAD_OFFSET);
    frames.push(frame);
    offset += length;
  }
  return frames;
}
