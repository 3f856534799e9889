// Reassembly of IPv4 datagrams the guest sent in fragments (a UDP datagram larger than the MTU).
// Bounded: at most 64 datagrams in progress, 65535 bytes each, 15 s to complete. Fragments
// that overlap without being exact duplicates discard the whole datagram (the classic teardrop
// attack has nothing to aim at); an exact duplicate is ignored.

import { ETHERNET_HEADER_LENGTH, IPV4_HEADER_LENGTH, internetChecksum, readU16, writeU16, type Ipv4Packet } from './packet';

const MAXIMUM_DATAGRAMS = 64;
const MAXIMUM_PAYLOAD = 65535 - IPV4_HEADER_LENGTH;
export const REASSEMBLY_TIMEOUT_MS = 15_000;

interface Piece {
  offset: number;
  data: Uint8Array;
}

interface Datagram {
  pieces: Piece[];
  /** Payload length, known once the last fragment (more-fragments clear) arrived. */
  payloadLength: number | undefined;
  /** Ethernet and IPv4 header (options dropped) of the first fragment, once it arrived. */
  firstHeaders: Uint8Array | undefined;
  started: number;
}

export class Ipv4Reassembly {
  private readonly datagrams = new Map<string, Datagram>();

  get inProgress(): number {
    return this.datagrams.size;
  }

  /**
   * Takes a fragment. Returns the whole datagram as a frame (Ethernet + IPv4 without options +
   * payload) once every piece is there, undefined while pieces are missing, or a reason when
   * the fragment (and its datagram) are dropped.
   */
  add(packet: Ipv4Packet, now: number): Uint8Array | undefined | string {
    const frame = packet.frame;
    const field = readU16(frame, packet.headerOffset + 6);
    const offset = (field & 0x1fff) * 8;
    const more = (field & 0x2000) !== 0;
    const data = frame.subarray(packet.payloadOffset, packet.payloadOffset + packet.payloadLength);
    if (more && (data.length === 0 || data.length % 8 !== 0)) return 'ipv4-fragment-bad-length';
    if (offset + data.length > MAXIMUM_PAYLOAD) return 'ipv4-fragment-too-long';
    const key = `${packet.source}>${packet.destination}:${packet.protocol}:${readU16(frame, packet.headerOffset + 4)}`;
    let datagram = this.datagrams.get(key);
    if (!datagram) {
      if (this.datagrams.size >= MAXIMUM_DATAGRAMS) return 'ipv4-fragment-too-many-datagrams';
      datagram = { pieces: [], payloadLength: undefined, firstHeaders: undefined, started: now };
      this.datagrams.set(key, datagram);
    }
    const end = offset + data.length;
    for (const piece of datagram.pieces) {
      const pieceEnd = piece.offset + piece.data.length;
      if (end <= piece.offset || offset >= pieceEnd) continue;
      if (piece.offset === offset && piece.data.length === data.length && piece.data.every((byte, i) => byte === data[i])) return undefined;
      this.datagrams.delete(key);
      return 'ipv4-fragment-overlap';
    }
    if (!more) {
      if (datagram.payloadLength !== undefined && datagram.payloadLength !== end) {
        this.datagrams.delete(key);
        return 'ipv4-fragment-inconsistent';
      }
      datagram.payloadLength = end;
    }
    if (datagram.payloadLength !== undefined && datagram.pieces.some((piece) => piece.offset + piece.data.length > datagram!.payloadLength!)) {
      this.datagrams.delete(key);
      return 'ipv4-fragment-inconsistent';
    }
    datagram.pieces.push({ offset, data: data.slice() });
    if (offset === 0) {
      const headers = new Uint8Array(ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH);
      headers.set(frame.subarray(0, ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH));
      datagram.firstHeaders = headers;
    }
    const total = datagram.pieces.reduce((sum, piece) => sum + piece.data.length, 0);
    if (datagram.payloadLength === undefined || datagram.firstHeaders === undefined || total !== datagram.payloadLength) return undefined;
    // Pieces do not overlap and end inside the length, so equal sums mean no holes.
    this.datagrams.delete(key);
    const whole = new Uint8Array(ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH + datagram.payloadLength);
    whole.set(datagram.firstHeaders);
    const ip = ETHERNET_HEADER_LENGTH;
    whole[ip] = 0x45;
    writeU16(whole, ip + 2, IPV4_HEADER_LENGTH + datagram.payloadLength);
    writeU16(whole, ip + 6, 0);
    writeU16(whole, ip + 10, 0);
    writeU16(whole, ip + 10, internetChecksum(whole, ip, ip + IPV4_HEADER_LENGTH));
    for (const piece of datagram.pieces) whole.set(piece.data, ip + IPV4_HEADER_LENGTH + piece.offset);
    return whole;
  }

  /** Forgets datagrams older than the timeout; returns how many. */
  expire(now: number, timeoutMs = REASSEMBLY_TIMEOUT_MS): number {
    let expired = 0;
    for (const [key, datagram] of this.datagrams) {
      if (now - datagram.started >= timeoutMs) {
        this.datagrams.delete(key);
        expired++;
      }
    }
    return expired;
  }

  clear(): void {
    this.datagrams.clear();
  }
}
