// Test-side frame builders and parsers for Ethernet, ARP, IPv4, ICMP, UDP, TCP, DHCP and DNS.
// Written independently of vmm-core/bridges/net/packet.ts (DataView, no shared code), so a
// mistake in the NAT's own encoding does not cancel out in the tests.

export const GATEWAY = '10.0.2.2';
export const DNS_SERVER = '10.0.2.3';

export function ip(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((part) => !(part >= 0 && part <= 255))) throw new Error(`bad IPv4 address ${text}`);
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function ipText(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function mac(text: string): Uint8Array {
  return new Uint8Array(text.split(':').map((part) => parseInt(part, 16)));
}

export function macText(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

function checksum(bytes: Uint8Array, initial = 0): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += view.getUint16(i);
  if (bytes.length % 2) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

function pseudoSum(source: number, destination: number, protocol: number, length: number): number {
  return (source >>> 16) + (source & 0xffff) + (destination >>> 16) + (destination & 0xffff) + protocol + length;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function ethernet(destination: Uint8Array, source: Uint8Array, ethertype: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(Math.max(60, 14 + payload.length));
  frame.set(destination, 0);
  frame.set(source, 6);
  new DataView(frame.buffer).setUint16(12, ethertype);
  frame.set(payload, 14);
  return frame;
}

export function arp(operation: number, senderMac: Uint8Array, senderIp: string, targetMac: Uint8Array, targetIp: string): Uint8Array {
  const packet = new Uint8Array(28);
  const view = new DataView(packet.buffer);
  view.setUint16(0, 1);
  view.setUint16(2, 0x0800);
  packet[4] = 6;
  packet[5] = 4;
  view.setUint16(6, operation);
  packet.set(senderMac, 8);
  view.setUint32(14, ip(senderIp));
  packet.set(targetMac, 18);
  view.setUint32(24, ip(targetIp));
  return packet;
}

export interface Ipv4Fields {
  source: string;
  destination: string;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  identification?: number;
  /** Raw flags+fragment-offset field. */
  fragment?: number;
}

export function ipv4(fields: Ipv4Fields): Uint8Array {
  const header = new Uint8Array(20);
  const view = new DataView(header.buffer);
  header[0] = 0x45;
  view.setUint16(2, 20 + fields.payload.length);
  view.setUint16(4, fields.identification ?? 1);
  view.setUint16(6, fields.fragment ?? 0x4000);
  header[8] = fields.ttl ?? 64;
  header[9] = fields.protocol;
  view.setUint32(12, ip(fields.source));
  view.setUint32(16, ip(fields.destination));
  view.setUint16(10, checksum(header));
  return concat(header, fields.payload);
}

export function udp(source: string, destination: string, sourcePort: number, destinationPort: number, data: Uint8Array): Uint8Array {
  const segment = new Uint8Array(8 + data.length);
  const view = new DataView(segment.buffer);
  view.setUint16(0, sourcePort);
  view.setUint16(2, destinationPort);
  view.setUint16(4, segment.length);
  segment.set(data, 8);
  const sum = checksum(segment, pseudoSum(ip(source), ip(destination), 17, segment.length));
  view.setUint16(6, sum === 0 ? 0xffff : sum);
  return segment;
}

export const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;

export interface TcpFields {
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
  sequence: number;
  acknowledgment: number;
  flags: number;
  window: number;
  options?: Uint8Array;
  data?: Uint8Array;
}

export function tcp(fields: TcpFields): Uint8Array {
  const options = fields.options ?? new Uint8Array(0);
  const headerLength = 20 + Math.ceil(options.length / 4) * 4;
  const data = fields.data ?? new Uint8Array(0);
  const segment = new Uint8Array(headerLength + data.length);
  const view = new DataView(segment.buffer);
  view.setUint16(0, fields.sourcePort);
  view.setUint16(2, fields.destinationPort);
  view.setUint32(4, fields.sequence >>> 0);
  view.setUint32(8, fields.acknowledgment >>> 0);
  segment[12] = (headerLength / 4) << 4;
  segment[13] = fields.flags;
  view.setUint16(14, fields.window);
  segment.set(options, 20);
  segment.set(data, headerLength);
  view.setUint16(16, checksum(segment, pseudoSum(ip(fields.source), ip(fields.destination), 6, segment.length)));
  return segment;
}

/** Linux's SYN options: MSS, SACK permitted, timestamps, window scale 7. */
export function linuxSynOptions(mss = 1460): Uint8Array {
  const options = new Uint8Array(20);
  const view = new DataView(options.buffer);
  options[0] = 2; options[1] = 4; view.setUint16(2, mss);
  options[4] = 4; options[5] = 2; // SACK permitted
  options[6] = 8; options[7] = 10; view.setUint32(8, 12345); view.setUint32(12, 0); // timestamps
  options[16] = 1; options[17] = 3; options[18] = 3; options[19] = 7; // NOP, window scale 7
  return options;
}

export function mssOption(mss: number): Uint8Array {
  const options = new Uint8Array(4);
  options[0] = 2;
  options[1] = 4;
  new DataView(options.buffer).setUint16(2, mss);
  return options;
}

export function icmpEcho(type: 8 | 0, identifier: number, sequence: number, data: Uint8Array): Uint8Array {
  const message = new Uint8Array(8 + data.length);
  const view = new DataView(message.buffer);
  message[0] = type;
  view.setUint16(4, identifier);
  view.setUint16(6, sequence);
  message.set(data, 8);
  view.setUint16(2, checksum(message));
  return message;
}

export interface DhcpFields {
  type: number;
  transactionId: number;
  clientMac: Uint8Array;
  requested?: string;
  serverId?: string;
  clientAddress?: string;
  broadcast?: boolean;
}

export function dhcp(fields: DhcpFields): Uint8Array {
  const message = new Uint8Array(300);
  const view = new DataView(message.buffer);
  message[0] = 1;
  message[1] = 1;
  message[2] = 6;
  view.setUint32(4, fields.transactionId);
  if (fields.broadcast) view.setUint16(10, 0x8000);
  if (fields.clientAddress) view.setUint32(12, ip(fields.clientAddress));
  message.set(fields.clientMac, 28);
  view.setUint32(236, 0x63825363);
  let at = 240;
  const option = (code: number, bytes: number[]): void => {
    message[at] = code;
    message[at + 1] = bytes.length;
    message.set(bytes, at + 2);
    at += 2 + bytes.length;
  };
  const quad = (text: string): number[] => text.split('.').map(Number);
  option(53, [fields.type]);
  if (fields.requested) option(50, quad(fields.requested));
  if (fields.serverId) option(54, quad(fields.serverId));
  option(55, [1, 3, 6, 15, 51, 54]);
  message[at] = 255;
  return message;
}

export interface DhcpReply {
  op: number;
  transactionId: number;
  yourAddress: string;
  serverAddress: string;
  clientMac: string;
  options: Map<number, Uint8Array>;
  messageType: number | undefined;
}

export function parseDhcp(message: Uint8Array): DhcpReply {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const options = new Map<number, Uint8Array>();
  if (view.getUint32(236) !== 0x63825363) throw new Error('DHCP reply without the magic cookie');
  let at = 240;
  while (at < message.length && message[at] !== 255) {
    if (message[at] === 0) {
      at++;
      continue;
    }
    options.set(message[at], message.slice(at + 2, at + 2 + message[at + 1]));
    at += 2 + message[at + 1];
  }
  return {
    op: message[0],
    transactionId: view.getUint32(4),
    yourAddress: ipText(view.getUint32(16)),
    serverAddress: ipText(view.getUint32(20)),
    clientMac: macText(message.subarray(28, 34)),
    options,
    messageType: options.get(53)?.[0],
  };
}

export function dnsQuery(identifier: number, name: string, type: number): Uint8Array {
  const labels = name.split('.').filter((label) => label.length > 0);
  const question = concat(
    ...labels.map((label) => concat(new Uint8Array([label.length]), new TextEncoder().encode(label))),
    new Uint8Array([0, type >> 8, type & 255, 0, 1]),
  );
  const header = new Uint8Array(12);
  const view = new DataView(header.buffer);
  view.setUint16(0, identifier);
  view.setUint16(2, 0x0100); // RD
  view.setUint16(4, 1);
  return concat(header, question);
}

export interface DnsAnswer {
  identifier: number;
  rcode: number;
  isResponse: boolean;
  questions: number;
  addresses: string[];
  answerCount: number;
}

export function parseDnsResponse(message: Uint8Array): DnsAnswer {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const questions = view.getUint16(4);
  const answerCount = view.getUint16(6);
  let at = 12;
  const skipName = (): void => {
    while (message[at] !== 0) {
      if ((message[at] & 0xc0) === 0xc0) {
        at += 2;
        return;
      }
      at += 1 + message[at];
    }
    at++;
  };
  for (let i = 0; i < questions; i++) {
    skipName();
    at += 4;
  }
  const addresses: string[] = [];
  for (let i = 0; i < answerCount; i++) {
    skipName();
    const type = view.getUint16(at);
    const length = view.getUint16(at + 8);
    if (type === 1 && length === 4) addresses.push(ipText(view.getUint32(at + 10)));
    at += 10 + length;
  }
  return { identifier: view.getUint16(0), rcode: view.getUint16(2) & 15, isResponse: (message[2] & 0x80) !== 0, questions, addresses, answerCount };
}

export interface ParsedTcp {
  sourcePort: number;
  destinationPort: number;
  sequence: number;
  acknowledgment: number;
  flags: number;
  window: number;
  mss: number | undefined;
  optionKinds: number[];
  data: Uint8Array;
  checksumOk: boolean;
}

export interface ParsedFrame {
  raw: Uint8Array;
  destinationMac: string;
  sourceMac: string;
  ethertype: number;
  arp?: { operation: number; senderMac: string; senderIp: string; targetMac: string; targetIp: string };
  ipv4?: {
    source: string;
    destination: string;
    protocol: number;
    ttl: number;
    identification: number;
    fragment: number;
    headerChecksumOk: boolean;
    payload: Uint8Array;
  };
  icmp?: { type: number; code: number; identifier: number; sequence: number; data: Uint8Array; checksumOk: boolean };
  udp?: { sourcePort: number; destinationPort: number; data: Uint8Array; checksumOk: boolean };
  tcp?: ParsedTcp;
}

export function parseFrame(raw: Uint8Array): ParsedFrame {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const frame: ParsedFrame = {
    raw,
    destinationMac: macText(raw.subarray(0, 6)),
    sourceMac: macText(raw.subarray(6, 12)),
    ethertype: view.getUint16(12),
  };
  if (frame.ethertype === 0x0806) {
    frame.arp = {
      operation: view.getUint16(20),
      senderMac: macText(raw.subarray(22, 28)),
      senderIp: ipText(view.getUint32(28)),
      targetMac: macText(raw.subarray(32, 38)),
      targetIp: ipText(view.getUint32(38)),
    };
    return frame;
  }
  if (frame.ethertype !== 0x0800) return frame;
  const headerLength = (raw[14] & 15) * 4;
  const totalLength = view.getUint16(16);
  const payload = raw.subarray(14 + headerLength, 14 + totalLength);
  const source = view.getUint32(26);
  const destination = view.getUint32(30);
  frame.ipv4 = {
    source: ipText(source),
    destination: ipText(destination),
    protocol: raw[23],
    ttl: raw[22],
    identification: view.getUint16(18),
    fragment: view.getUint16(20),
    headerChecksumOk: checksum(raw.subarray(14, 14 + headerLength)) === 0,
    payload,
  };
  if ((frame.ipv4.fragment & 0x3fff) !== 0) return frame;
  const payloadView = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (frame.ipv4.protocol === 1) {
    frame.icmp = {
      type: payload[0],
      code: payload[1],
      identifier: payloadView.getUint16(4),
      sequence: payloadView.getUint16(6),
      data: payload.slice(8),
      checksumOk: checksum(payload) === 0,
    };
  } else if (frame.ipv4.protocol === 17) {
    const length = payloadView.getUint16(4);
    frame.udp = {
      sourcePort: payloadView.getUint16(0),
      destinationPort: payloadView.getUint16(2),
      data: payload.slice(8, length),
      checksumOk: payloadView.getUint16(6) === 0 || checksum(payload.subarray(0, length), pseudoSum(source, destination, 17, length)) === 0,
    };
  } else if (frame.ipv4.protocol === 6) {
    const offset = (payload[12] >> 4) * 4;
    let mss: number | undefined;
    const optionKinds: number[] = [];
    for (let at = 20; at < offset;) {
      const kind = payload[at];
      if (kind === 0) break;
      if (kind === 1) {
        at++;
        continue;
      }
      optionKinds.push(kind);
      if (kind === 2) mss = payloadView.getUint16(at + 2);
      at += payload[at + 1];
    }
    frame.tcp = {
      sourcePort: payloadView.getUint16(0),
      destinationPort: payloadView.getUint16(2),
      sequence: payloadView.getUint32(4),
      acknowledgment: payloadView.getUint32(8),
      flags: payload[13],
      window: payloadView.getUint16(14),
      mss,
      optionKinds,
      data: payload.slice(offset),
      checksumOk: checksum(payload, pseudoSum(source, destination, 6, payload.length)) === 0,
    };
  }
  return frame;
}

/** Reassembles IPv4 fragments of UDP datagrams from a list of frames (tests of large replies). */
export function reassembleUdp(frames: ParsedFrame[]): Uint8Array | undefined {
  const pieces = frames.filter((frame) => frame.ipv4 && frame.ipv4.protocol === 17);
  if (pieces.length === 0) return undefined;
  pieces.sort((a, b) => (a.ipv4!.fragment & 0x1fff) - (b.ipv4!.fragment & 0x1fff));
  const total = pieces.reduce((sum, piece) => sum + piece.ipv4!.payload.length, 0);
  const datagram = new Uint8Array(total);
  for (const piece of pieces) datagram.set(piece.ipv4!.payload, (piece.ipv4!.fragment & 0x1fff) * 8);
  return datagram.slice(8, new DataView(datagram.buffer).getUint16(4));
}
