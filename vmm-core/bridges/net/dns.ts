// The user-mode network's DNS server at 10.0.2.3:53. A and AAAA questions are answered through
// the host's resolver (node:dns lookup: /etc/hosts, then the system's configuration, so
// `localhost` resolves offline); every other question is relayed unchanged to the first
// nameserver of the host's /etc/resolv.conf. AAAA questions get no addresses: the network
// carries IPv4 only, and an empty answer makes the guest fall back to A at once.

import * as dgram from 'node:dgram';
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { parseIpv4, readU16, writeU16, writeU32 } from './packet';

export const DNS_PORT = 53;
const HEADER_LENGTH = 12;
const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
/** A plain DNS-over-UDP answer fits 512 bytes; this many A records always do. */
const MAXIMUM_ANSWERS = 28;

export interface DnsQuery {
  readonly message: Uint8Array;
  readonly id: number;
  readonly flags: number;
  readonly questionCount: number;
  /** The first question; undefined when the query has none. */
  readonly name: string | undefined;
  readonly type: number;
  readonly questionClass: number;
  /** Offset just past the first question. */
  readonly questionEnd: number;
}

/** Parses a query; returns a reason ("dns-truncated", ...) when it is not one. */
export function parseDnsQuery(message: Uint8Array): DnsQuery | string {
  if (message.length < HEADER_LENGTH) return 'dns-truncated';
  const flags = readU16(message, 2);
  if (flags & 0x8000) return 'dns-not-a-query';
  const questionCount = readU16(message, 4);
  if (questionCount === 0) {
    return { message, id: readU16(message, 0), flags, questionCount, name: undefined, type: 0, questionClass: 0, questionEnd: HEADER_LENGTH };
  }
  const labels: string[] = [];
  let at = HEADER_LENGTH;
  let nameLength = 0;
  for (;;) {
    if (at >= message.length) return 'dns-truncated';
    const length = message[at];
    if (length === 0) {
      at++;
      break;
    }
    // Compression pointers and the extended label types have no place in a question.
    if (length > 63) return 'dns-bad-name';
    if (at + 1 + length > message.length) return 'dns-truncated';
    nameLength += length + 1;
    if (nameLength > 255) return 'dns-bad-name';
    labels.push(String.fromCharCode(...message.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  if (at + 4 > message.length) return 'dns-truncated';
  return {
    message,
    id: readU16(message, 0),
    flags,
    questionCount,
    name: labels.join('.'),
    type: readU16(message, at),
    questionClass: readU16(message, at + 2),
    questionEnd: at + 4,
  };
}

/** A response to `query` with its first question and these IPv4 addresses as A records. */
export function dnsResponse(query: DnsQuery, rcode: number, addresses: readonly number[], ttlSeconds: number): Uint8Array {
  const questionBytes = query.message.subarray(HEADER_LENGTH, query.questionEnd);
  const count = Math.min(addresses.length, MAXIMUM_ANSWERS);
  const response = new Uint8Array(HEADER_LENGTH + questionBytes.length + count * 16);
  writeU16(response, 0, query.id);
  // QR, the query's opcode and RD, RA, and the response code.
  writeU16(response, 2, 0x8000 | (query.flags & 0x7900) | 0x0080 | (rcode & 0x0f));
  writeU16(response, 4, query.name === undefined ? 0 : 1);
  writeU16(response, 6, count);
  response.set(questionBytes, HEADER_LENGTH);
  let at = HEADER_LENGTH + questionBytes.length;
  for (let i = 0; i < count; i++) {
    writeU16(response, at, 0xc000 | HEADER_LENGTH); // the name: a pointer to the question's
    writeU16(response, at + 2, TYPE_A);
    writeU16(response, at + 4, CLASS_IN);
    writeU32(response, at + 6, ttlSeconds);
    writeU16(response, at + 10, 4);
    writeU32(response, at + 12, addresses[i]);
    at += 16;
  }
  return response;
}

/** The first nameserver in resolv.conf text, or undefined. */
export function nameserverFromResolvConf(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    if (match && isIP(match[1].split('%')[0]) !== 0) return match[1];
  }
  return undefined;
}

export function hostNameserver(resolvConfPath = '/etc/resolv.conf'): string | undefined {
  try {
    return nameserverFromResolvConf(readFileSync(resolvConfPath, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A nameserver: an IP address and port (53 unless told). */
export interface NameserverAddress {
  host: string;
  port: number;
}

/** Parses "10.1.1.1", "10.1.1.1:5353", "::1" or "[::1]:5353"; undefined when it is neither. */
export function parseNameserver(text: string): NameserverAddress | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) return isIP(bracketed[1].split('%')[0]) === 6 ? { host: bracketed[1], port: Number(bracketed[2] ?? DNS_PORT) } : undefined;
  if (isIP(text.split('%')[0]) !== 0) return { host: text, port: DNS_PORT };
  const withPort = /^([^:]+):(\d{1,5})$/.exec(text);
  if (withPort && isIP(withPort[1]) === 4 && Number(withPort[2]) > 0 && Number(withPort[2]) < 65536) return { host: withPort[1], port: Number(withPort[2]) };
  return undefined;
}

export interface DnsRelayOptions {
  /** Where questions other than A/AAAA go; undefined: they are answered SERVFAIL. */
  upstream: NameserverAddress | undefined;
  timeoutMs: number;
  /** Lookups and relayed questions in progress at once; more are dropped. */
  maximumPending: number;
  ttlSeconds: number;
}

const HOST_LABEL = /^[A-Za-z0-9_-]{1,63}$/;

export class DnsRelay {
  private pending = 0;
  private closed = false;
  /** Cancels each relayed question in flight (closes its socket). */
  private readonly inFlight = new Set<() => void>();

  constructor(private readonly options: DnsRelayOptions) {}

  /**
   * Answers `query` through `reply` later (never synchronously). Returns a reason when it is
   * dropped instead.
   */
  resolve(query: DnsQuery, reply: (response: Uint8Array) => void): string | undefined {
    if (this.closed) return 'dns-closed';
    const opcode = (query.flags >>> 11) & 0x0f;
    if (opcode !== 0) return this.answerLater(reply, dnsResponse(query, RCODE_NOTIMP, [], 0));
    if (query.name === undefined) return this.answerLater(reply, dnsResponse(query, RCODE_FORMERR, [], 0));
    if (this.pending >= this.options.maximumPending) return 'dns-too-many-pending';
    if (query.questionClass === CLASS_IN && (query.type === TYPE_A || query.type === TYPE_AAAA)) {
      this.lookupAddress(query, reply);
    } else {
      this.relay(query, reply);
    }
    return undefined;
  }

  private answerLater(reply: (response: Uint8Array) => void, response: Uint8Array): undefined {
    setImmediate(() => {
      if (!this.closed) reply(response);
    });
    return undefined;
  }

  private lookupAddress(query: DnsQuery, reply: (response: Uint8Array) => void): void {
    const name = query.name ?? '';
    const ttl = this.options.ttlSeconds;
    // Names a resolver would never find (empty, an address literal, odd bytes) get NXDOMAIN
    // without asking the host: getaddrinfo would parse a literal as an address.
    if (name === '' || parseIpv4(name) !== undefined || !name.split('.').every((label) => HOST_LABEL.test(label))) {
      this.answerLater(reply, dnsResponse(query, RCODE_NXDOMAIN, [], 0));
      return;
    }
    this.pending++;
    let done = false;
    const finish = (response: Uint8Array): void => {
      if (done) return;
      done = true;
      this.pending--;
      if (!this.closed) reply(response);
    };
    try {
      lookup(name, { family: 4, all: true }, (error, results) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException).code;
          const rcode = code === 'ENOTFOUND' ? RCODE_NXDOMAIN : code === 'ENODATA' ? RCODE_NOERROR : RCODE_SERVFAIL;
          finish(dnsResponse(query, rcode, [], 0));
          return;
        }
        const addresses = results.map((result) => parseIpv4(result.address)).filter((address): address is number => address !== undefined);
        finish(dnsResponse(query, RCODE_NOERROR, query.type === TYPE_A ? addresses : [], ttl));
      });
    } catch {
      finish(dnsResponse(query, RCODE_SERVFAIL, [], 0));
    }
  }

  private relay(query: DnsQuery, reply: (response: Uint8Array) => void): void {
    const upstream = this.options.upstream;
    if (upstream === undefined) {
      this.answerLater(reply, dnsResponse(query, RCODE_SERVFAIL, [], 0));
      return;
    }
    const socket = dgram.createSocket(isIP(upstream.host.split('%')[0]) === 6 ? 'udp6' : 'udp4');
    this.pending++;
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (response: Uint8Array | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.pending--;
      this.inFlight.delete(cancel);
      socket.close();
      if (response && !this.closed) reply(response);
    };
    const cancel = (): void => finish(undefined);
    this.inFlight.add(cancel);
    timer = setTimeout(() => finish(dnsResponse(query, RCODE_SERVFAIL, [], 0)), this.options.timeoutMs);
    socket.on('error', () => finish(dnsResponse(query, RCODE_SERVFAIL, [], 0)));
    socket.on('message', (message: Buffer) => {
      // The answer to this question: same ID, a response.
      if (message.length >= HEADER_LENGTH && readU16(message, 0) === query.id && (message[2] & 0x80)) {
        finish(new Uint8Array(message));
      }
    });
    // A copy: the query lies in the guest's frame, which the device may reuse.
    socket.send(Buffer.from(query.message), upstream.port, upstream.host, (error) => {
      if (error) finish(dnsResponse(query, RCODE_SERVFAIL, [], 0));
    });
  }

  close(): void {
    this.closed = true;
    for (const cancel of [...this.inFlight]) cancel();
  }
}
