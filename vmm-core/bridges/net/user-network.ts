// The user-mode network (QEMU's `-netdev user`, slirp): a virtual 10.0.2.0/24 with a gateway
// at 10.0.2.2 that is also the host, a DNS server at 10.0.2.3 and a DHCP server handing out
// 10.0.2.15 and up. The guest's TCP and UDP are carried by ordinary host sockets, so nothing
// needs root, raw sockets or native code. See docs/network.md for what is and is not served.

import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { BridgeError, type NetBackend } from '../types';
import { NetCounters, type NetCountersSnapshot } from './counters';
import { FrameOutbox } from './frame-outbox';
import { DhcpServer, DHCP_CLIENT_PORT, DHCP_SERVER_PORT } from './dhcp';
import { Ipv4Reassembly, REASSEMBLY_TIMEOUT_MS } from './reassembly';
import { DnsRelay, DNS_PORT, hostNameserver, parseDnsQuery, parseNameserver, type NameserverAddress } from './dns';
import { TcpConnection, tcpKey, type TcpLink, type TcpSegment, type TcpTuning } from './tcp';
import {
  BROADCAST_MAC, ETHERNET_HEADER_LENGTH, ETHERNET_MINIMUM_FRAME, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6,
  IP_PROTOCOL_ICMP, IP_PROTOCOL_TCP, IP_PROTOCOL_UDP, IPV4_BROADCAST, IPV4_PAYLOAD_OFFSET, TCP_ACK, TCP_FIN,
  TCP_HEADER_LENGTH, TCP_RST, TCP_SYN, UDP_HEADER_LENGTH,
  fillTransportChecksum, formatIpv4, internetChecksum, ipv4Frame, isMulticastMac, onesComplementSum,
  parseIpv4, parseIpv4Frame, pseudoHeaderSum, readU16, readU32, slirpMacFor, udpFrames, writeU16, writeU32,
  type Ipv4Packet,
} from './packet';

/** A host port forwarded into the guest (QEMU's hostfwd=). */
export interface HostForward {
  protocol: 'tcp' | 'udp';
  /** Host address to listen on. QEMU's default is every interface; Ringside's is 127.0.0.1. */
  hostAddress: string;
  /** 0 picks a free port: read it from hostForwardPorts() once `ready` resolved. */
  hostPort: number;
  /** Guest address; default the first DHCP address (10.0.2.15), as QEMU. */
  guestAddress?: string;
  guestPort: number;
}

export interface UserNetworkOptions {
  /** The virtual network, "10.0.2.0/24" by default (QEMU's net=). */
  network?: string;
  /** The gateway, which is also the host (QEMU's host=), default 10.0.2.2. */
  hostAddress?: string;
  /** The DNS server (QEMU's dns=), default 10.0.2.3. */
  dnsAddress?: string;
  /** First DHCP address (QEMU's dhcpstart=), default 10.0.2.15. */
  dhcpStart?: string;
  /** QEMU's restrict=on: the guest reaches nothing outside; port forwards still work. */
  restrict?: boolean;
  hostForwards?: readonly HostForward[];
  /** DHCP host name and domain name options (QEMU's hostname=, domainname=). */
  hostname?: string;
  domainName?: string;
  /**
   * Nameserver for DNS questions other than A/AAAA and for DNS over TCP: "ADDRESS" or
   * "ADDRESS:PORT". Default: the first nameserver of /etc/resolv.conf. `null`: none (such
   * questions get SERVFAIL, DNS over TCP a RST).
   */
  dnsUpstream?: string | null;
  maximumTcpConnections?: number;
  maximumUdpBindings?: number;
  /** A UDP binding unused this long is closed (slirp: 240 s). */
  udpIdleTimeoutMs?: number;
  /** How often idle bindings and stale fragments are looked for. */
  sweepIntervalMs?: number;
  /** A datagram whose fragments are not all in after this long is dropped (default 15 s). */
  fragmentTimeoutMs?: number;
  /** Frames waiting for the guest, at most. */
  maximumQueuedFrames?: number;
  tcp?: Partial<TcpTuning>;
  /** Seed of the initial sequence numbers, so runs can repeat. */
  sequenceSeed?: number;
}

export interface UserNetworkCounters extends NetCountersSnapshot {
  tcpConnectionsOpen: number;
  tcpConnectionsOpened: number;
  tcpBytesToHost: number;
  tcpBytesFromHost: number;
  udpBindingsOpen: number;
  udpBytesToHost: number;
  udpBytesFromHost: number;
  dnsQueries: number;
  dhcpLeases: number;
}

const DEFAULT_TCP_TUNING: TcpTuning = {
  minimumRetransmitMs: 200,
  initialRetransmitMs: 1000,
  // Close to Linux's bounds: a guest stopped in the debugger keeps its connections for about 13 minutes.
  maximumRetransmitMs: 120_000,
  maximumRetransmissions: 15,
  maximumSynRetransmissions: 5,
  connectTimeoutMs: 30_000,
  timeWaitMs: 2_000,
  sendBufferLimit: 256 * 1024,
};

/** Frames held per address while its MAC is looked up with ARP. */
const ARP_PENDING_FRAMES = 32;
/** Addresses looked up at once, and neighbours remembered: a guest sending from random addresses cannot grow them. */
const ARP_PENDING_ADDRESSES = 64;
const NEIGHBOURS = 256;
const ARP_RETRY_MS = 500;
const ARP_ATTEMPTS = 4;

interface PendingResolution {
  frames: Uint8Array[];
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface UdpBinding {
  readonly socket: dgram.Socket;
  readonly guestAddress: number;
  readonly guestPort: number;
  lastActivity: number;
}

interface UdpForwardSession {
  readonly forward: ListeningForward;
  readonly clientAddress: string;
  readonly clientPort: number;
  lastActivity: number;
}

interface ListeningForward {
  readonly spec: HostForward;
  readonly guestAddress: number;
  server: net.Server | dgram.Socket | undefined;
  port: number;
}

function parseNetwork(text: string): { address: number; mask: number } {
  const [addressText, prefixText] = text.split('/');
  const address = parseIpv4(addressText);
  let mask = 0xffffff00;
  if (prefixText !== undefined) {
    const prefix = /^\d+$/.test(prefixText) ? Number(prefixText) : undefined;
    const dotted = parseIpv4(prefixText);
    if (prefix !== undefined && prefix >= 1 && prefix <= 30) mask = (0xffffffff << (32 - prefix)) >>> 0;
    else if (dotted !== undefined && prefix === undefined) mask = dotted;
    else throw new BridgeError(`user network: bad netmask in "${text}"`);
  }
  if (address === undefined) throw new BridgeError(`user network: bad network address "${text}"`);
  return { address: (address & mask) >>> 0, mask };
}

function address(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const value = parseIpv4(text);
  if (value === undefined) throw new BridgeError(`user network: ${what} "${text}" is not an IPv4 address`);
  return value;
}

function isLoopbackText(text: string | undefined): boolean {
  if (text === undefined) return true;
  return text === '::1' || text.startsWith('127.') || text.startsWith('::ffff:127.');
}

export class UserNetwork implements NetBackend {
  readonly description: string;
  /** Resolves when every port forward listens; rejects with BridgeError when one cannot. */
  readonly ready: Promise<void>;
  readonly networkAddress: number;
  readonly netmask: number;
  readonly hostAddress: number;
  readonly dnsAddress: number;
  readonly dhcpStart: number;
  readonly restrict: boolean;
  /** The MAC the gateway answers ARP with and sends every frame from (52:55:0a:00:02:02). */
  readonly gatewayMac: Uint8Array;

  private readonly counters = new NetCounters();
  private readonly outbox: FrameOutbox;
  private readonly dhcp: DhcpServer;
  private readonly dns: DnsRelay;
  private readonly dnsUpstream: NameserverAddress | undefined;
  private readonly tuning: TcpTuning;
  private readonly link: TcpLink;
  private readonly neighbours = new Map<number, Uint8Array>();
  private readonly resolving = new Map<number, PendingResolution>();
  private readonly tcpConnections = new Map<string, TcpConnection>();
  private readonly acknowledgmentsOwed = new Set<TcpConnection>();
  private readonly reassembly = new Ipv4Reassembly();
  private readonly udpBindings = new Map<string, UdpBinding>();
  private readonly forwards: ListeningForward[] = [];
  private readonly udpForwardSessions = new Map<string, UdpForwardSession>();
  private readonly maximumTcpConnections: number;
  private readonly maximumUdpBindings: number;
  private readonly udpIdleTimeoutMs: number;
  private readonly fragmentTimeoutMs: number;
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  private identification = 0;
  private sequenceState: number;
  private closed = false;
  private tcpConnectionsOpened = 0;
  private tcpBytesToHost = 0;
  private tcpBytesFromHost = 0;
  private udpBytesToHost = 0;
  private udpBytesFromHost = 0;
  private dnsQueries = 0;
  /** The last exception caught in send(), for debugging (always a bug in the NAT; counted as internal-error). */
  lastInternalError: unknown;

  constructor(options: UserNetworkOptions = {}) {
    const network = parseNetwork(options.network ?? '10.0.2.0/24');
    this.networkAddress = network.address;
    this.netmask = network.mask;
    this.hostAddress = address(options.hostAddress, (network.address | 2) >>> 0, 'host address');
    this.dnsAddress = address(options.dnsAddress, (network.address | 3) >>> 0, 'DNS address');
    this.dhcpStart = address(options.dhcpStart, (network.address | 15) >>> 0, 'DHCP start');
    for (const [what, value] of [['host address', this.hostAddress], ['DNS address', this.dnsAddress], ['DHCP start', this.dhcpStart]] as const) {
      if (!this.inNetwork(value)) throw new BridgeError(`user network: ${what} ${formatIpv4(value)} is outside ${formatIpv4(this.networkAddress)}/${formatIpv4(this.netmask)}`);
    }
    this.restrict = options.restrict ?? false;
    this.gatewayMac = slirpMacFor(this.hostAddress);
    this.tuning = { ...DEFAULT_TCP_TUNING, ...options.tcp };
    this.maximumTcpConnections = options.maximumTcpConnections ?? 512;
    this.maximumUdpBindings = options.maximumUdpBindings ?? 256;
    this.udpIdleTimeoutMs = options.udpIdleTimeoutMs ?? 240_000;
    this.fragmentTimeoutMs = options.fragmentTimeoutMs ?? REASSEMBLY_TIMEOUT_MS;
    this.sequenceState = (options.sequenceSeed ?? 0x5eed) >>> 0;
    const upstreamText = options.dnsUpstream === null ? undefined : options.dnsUpstream ?? hostNameserver();
    this.dnsUpstream = upstreamText === undefined ? undefined : parseNameserver(upstreamText);
    if (upstreamText !== undefined && this.dnsUpstream === undefined) throw new BridgeError(`user network: DNS upstream "${upstreamText}" is not ADDRESS or ADDRESS:PORT`);
    this.outbox = new FrameOutbox(this.counters, options.maximumQueuedFrames ?? 1024, () => this.sendOwedAcknowledgments());
    const broadcast = (this.networkAddress | ~this.netmask) >>> 0;
    const poolSize = Math.max(0, Math.min(16, broadcast - this.dhcpStart));
    this.dhcp = new DhcpServer({
      serverAddress: this.hostAddress,
      netmask: this.netmask,
      router: this.restrict ? undefined : this.hostAddress,
      dnsServer: this.restrict ? undefined : this.dnsAddress,
      poolStart: this.dhcpStart,
      poolSize,
      leaseSeconds: 24 * 3600,
      hostname: options.hostname,
      domainName: options.domainName,
    });
    this.dns = new DnsRelay({ upstream: this.dnsUpstream, timeoutMs: 5000, maximumPending: 64, ttlSeconds: 60 });
    const self = this;
    this.link = {
      tuning: this.tuning,
      gatewayMac: this.gatewayMac,
      sendToGuest: (frame, guestAddress) => this.sendToGuest(frame, guestAddress),
      sendUnreachable: (quoted, code) => this.sendUnreachable(quoted, code),
      nextIdentification: () => this.nextIdentification(),
      acknowledgmentPending(connection) {
        self.acknowledgmentsOwed.add(connection);
        self.outbox.schedule();
      },
      connectionClosed(connection) {
        if (self.tcpConnections.get(connection.key) === connection) self.tcpConnections.delete(connection.key);
        self.acknowledgmentsOwed.delete(connection);
      },
      countHostBytes(toHost, fromHost) {
        self.tcpBytesToHost += toHost;
        self.tcpBytesFromHost += fromHost;
      },
      now: () => performance.now(),
    };
    this.ready = this.listen(options.hostForwards ?? []);
    // Nobody may be waiting on `ready`: a failed listen must not become an unhandled rejection.
    this.ready.catch(() => {});
    this.sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 1000);
    this.sweepTimer.unref();
    const forwardText = (options.hostForwards ?? []).map((f) => `,hostfwd=${f.protocol}:${f.hostAddress}:${f.hostPort}-${f.guestAddress ?? ''}:${f.guestPort}`).join('');
    this.description = `user (net ${formatIpv4(this.networkAddress)}/${formatIpv4(this.netmask)}, host ${formatIpv4(this.hostAddress)}, dns ${formatIpv4(this.dnsAddress)}${this.restrict ? ', restrict=on' : ''}${forwardText})`;
  }

  /** A network whose port forwards listen (rejects with BridgeError otherwise). */
  static async open(options: UserNetworkOptions = {}): Promise<UserNetwork> {
    const network = new UserNetwork(options);
    try {
      await network.ready;
    } catch (error) {
      network.close();
      throw error;
    }
    return network;
  }

  /** The forwards with the ports they actually listen on (after `ready`). */
  hostForwardPorts(): HostForward[] {
    return this.forwards.map((forward) => ({ ...forward.spec, hostPort: forward.port }));
  }

  /** Guest MAC by IPv4 address, as learned from ARP, DHCP and the guest's frames. */
  neighbourTable(): ReadonlyMap<number, Uint8Array> {
    return this.neighbours;
  }

  dhcpLeases(): ReadonlyMap<string, number> {
    return this.dhcp.leaseTable();
  }

  /** TCP connections: endpoints and RFC 793 state, for the Devices view and tests. */
  tcpConnectionStates(): Array<{ guest: string; peer: string; direction: string; state: string }> {
    return [...this.tcpConnections.values()].map((connection) => ({
      guest: `${formatIpv4(connection.endpoints.guestAddress)}:${connection.endpoints.guestPort}`,
      peer: `${formatIpv4(connection.endpoints.peerAddress)}:${connection.endpoints.peerPort}`,
      direction: connection.direction,
      state: connection.describeState,
    }));
  }

  counterSnapshot(): UserNetworkCounters {
    return {
      ...this.counters.snapshot(),
      tcpConnectionsOpen: this.tcpConnections.size,
      tcpConnectionsOpened: this.tcpConnectionsOpened,
      tcpBytesToHost: this.tcpBytesToHost,
      tcpBytesFromHost: this.tcpBytesFromHost,
      udpBindingsOpen: this.udpBindings.size,
      udpBytesToHost: this.udpBytesToHost,
      udpBytesFromHost: this.udpBytesFromHost,
      dnsQueries: this.dnsQueries,
      dhcpLeases: this.dhcp.leaseTable().size,
    };
  }

  setReceiver(receiver: ((frame: Uint8Array) => boolean) | null): void {
    this.outbox.setReceiver(receiver);
  }

  send(frame: Uint8Array): void {
    if (this.closed) {
      this.counters.drop('link-down', 'closed');
      return;
    }
    this.counters.fromGuest(frame);
    try {
      this.input(frame);
    } catch (error) {
      // Every malformed input has its own check; reaching this is a bug, counted so tests see it.
      this.counters.drop('malformed', 'internal-error');
      this.lastInternalError = error;
    }
  }


  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.outbox.close();
    for (const connection of this.tcpConnections.values()) connection.destroy();
    this.tcpConnections.clear();
    this.acknowledgmentsOwed.clear();
    for (const binding of this.udpBindings.values()) binding.socket.close();
    this.udpBindings.clear();
    for (const forward of this.forwards) {
      const server = forward.server;
      forward.server = undefined;
      if (server instanceof net.Server) server.close();
      else server?.close();
    }
    this.udpForwardSessions.clear();
    for (const pending of this.resolving.values()) clearTimeout(pending.timer);
    this.resolving.clear();
    this.reassembly.clear();
    this.dns.close();
  }

  // ---- Input ----

  private input(frame: Uint8Array): void {
    if (frame.length < ETHERNET_HEADER_LENGTH) {
      this.counters.drop('malformed', 'ethernet-truncated');
      return;
    }
    const ethertype = readU16(frame, 12);
    if (ethertype === ETHERTYPE_ARP) this.arpInput(frame);
    else if (ethertype === ETHERTYPE_IPV4) this.ipv4Input(frame);
    else if (ethertype === ETHERTYPE_IPV6) this.counters.drop('policy', 'ipv6');
    else this.counters.drop('policy', 'ethertype-unsupported');
  }

  private inNetwork(value: number): boolean {
    return ((value & this.netmask) >>> 0) === this.networkAddress;
  }

  /** An address a guest may have: unicast, not ours, not the network or broadcast address. */
  private guestAddressValid(value: number): boolean {
    if (value === 0 || value === IPV4_BROADCAST || value >>> 28 === 0xe || value >>> 24 === 127) return false;
    if (value === this.hostAddress || value === this.dnsAddress) return false;
    if (this.inNetwork(value) && (value === this.networkAddress || value === ((this.networkAddress | ~this.netmask) >>> 0))) return false;
    return true;
  }

  private learn(address: number, mac: Uint8Array): void {
    if (!this.guestAddressValid(address) || isMulticastMac(mac) || mac.every((byte) => byte === 0)) return;
    const known = this.neighbours.get(address);
    if (!known || !equalBytes(known, mac)) {
      if (!known && this.neighbours.size >= NEIGHBOURS) {
        // Forget the oldest (maps keep insertion order).
        const [oldest] = this.neighbours.keys();
        this.neighbours.delete(oldest);
      }
      this.neighbours.set(address, mac.slice(0, 6));
    }
    const pending = this.resolving.get(address);
    if (pending) {
      clearTimeout(pending.timer);
      this.resolving.delete(address);
      for (const frame of pending.frames) this.sendToGuest(frame, address);
    }
  }

  private arpInput(frame: Uint8Array): void {
    const arp = ETHERNET_HEADER_LENGTH;
    if (frame.length < arp + 28) {
      this.counters.drop('malformed', 'arp-truncated');
      return;
    }
    if (readU16(frame, arp) !== 1 || readU16(frame, arp + 2) !== ETHERTYPE_IPV4 || frame[arp + 4] !== 6 || frame[arp + 5] !== 4) {
      this.counters.drop('malformed', 'arp-unsupported');
      return;
    }
    const operation = readU16(frame, arp + 6);
    const senderMac = frame.subarray(arp + 8, arp + 14);
    const senderAddress = readU32(frame, arp + 14);
    const targetAddress = readU32(frame, arp + 24);
    if (operation !== 1 && operation !== 2) {
      this.counters.drop('malformed', 'arp-bad-operation');
      return;
    }
    this.learn(senderAddress, senderMac);
    if (operation === 1 && targetAddress !== senderAddress && (targetAddress === this.hostAddress || targetAddress === this.dnsAddress)) {
      const reply = new Uint8Array(ETHERNET_MINIMUM_FRAME);
      const mac = slirpMacFor(targetAddress);
      reply.set(frame.subarray(6, 12), 0);
      reply.set(mac, 6);
      writeU16(reply, 12, ETHERTYPE_ARP);
      writeU16(reply, arp, 1);
      writeU16(reply, arp + 2, ETHERTYPE_IPV4);
      reply[arp + 4] = 6;
      reply[arp + 5] = 4;
      writeU16(reply, arp + 6, 2);
      reply.set(mac, arp + 8);
      writeU32(reply, arp + 14, targetAddress);
      reply.set(senderMac, arp + 18);
      writeU32(reply, arp + 24, senderAddress);
      this.outbox.push(reply);
    }
  }

  private ipv4Input(frame: Uint8Array): void {
    let packet = parseIpv4Frame(frame);
    if (typeof packet === 'string') {
      this.counters.drop('malformed', packet);
      return;
    }
    this.learn(packet.source, packet.sourceMac);
    if (packet.isFragment) {
      const whole = this.reassembly.add(packet, performance.now());
      if (whole === undefined) return;
      if (typeof whole === 'string') {
        this.counters.drop(whole === 'ipv4-fragment-too-many-datagrams' ? 'queue-full' : 'malformed', whole);
        return;
      }
      packet = parseIpv4Frame(whole);
      if (typeof packet === 'string') {
        this.counters.drop('malformed', packet);
        return;
      }
    }
    switch (packet.protocol) {
      case IP_PROTOCOL_ICMP:
        this.icmpInput(packet);
        return;
      case IP_PROTOCOL_UDP:
        this.udpInput(packet);
        return;
      case IP_PROTOCOL_TCP:
        this.tcpInput(packet);
        return;
      default:
        this.counters.drop('policy', 'ip-protocol-unsupported');
    }
  }

  /** Where a guest packet's destination leads. */
  private destinationKind(destination: number): 'host' | 'dns' | 'broadcast' | 'local' | 'martian' | 'external' {
    if (destination === this.hostAddress) return 'host';
    if (destination === this.dnsAddress) return 'dns';
    if (destination === IPV4_BROADCAST || destination >>> 28 === 0xe) return 'broadcast';
    if (this.inNetwork(destination)) return destination === ((this.networkAddress | ~this.netmask) >>> 0) ? 'broadcast' : 'local';
    if (destination >>> 24 === 127 || destination >>> 24 === 0 || destination >>> 28 === 0xf) return 'martian';
    return 'external';
  }

  // ---- ICMP ----

  private icmpInput(packet: Ipv4Packet): void {
    const { frame, payloadOffset: icmp, payloadLength: length } = packet;
    if (length < 8) {
      this.counters.drop('malformed', 'icmp-truncated');
      return;
    }
    if (onesComplementSum(frame, icmp, icmp + length) !== 0xffff) {
      this.counters.drop('malformed', 'icmp-bad-checksum');
      return;
    }
    const type = frame[icmp];
    if (type !== 8) {
      this.counters.drop('policy', 'icmp-type-unsupported');
      return;
    }
    if (packet.destination !== this.hostAddress && packet.destination !== this.dnsAddress) {
      // Echo to other hosts needs ICMP sockets, which Node does not offer (see docs/network.md).
      this.counters.drop('policy', 'icmp-echo-not-served');
      return;
    }
    if (!this.guestAddressValid(packet.source)) {
      this.counters.drop('policy', 'icmp-bad-source');
      return;
    }
    const reply = ipv4Frame(this.gatewayMac, {
      source: packet.destination,
      destination: packet.source,
      protocol: IP_PROTOCOL_ICMP,
      identification: this.nextIdentification(),
      ttl: 255,
    }, length);
    reply.set(frame.subarray(icmp, icmp + length), IPV4_PAYLOAD_OFFSET);
    reply[IPV4_PAYLOAD_OFFSET] = 0;
    reply[IPV4_PAYLOAD_OFFSET + 2] = 0;
    reply[IPV4_PAYLOAD_OFFSET + 3] = 0;
    writeU16(reply, IPV4_PAYLOAD_OFFSET + 2, internetChecksum(reply, IPV4_PAYLOAD_OFFSET, IPV4_PAYLOAD_OFFSET + length));
    this.sendToGuest(reply, packet.source);
  }

  // ---- UDP ----

  private udpInput(packet: Ipv4Packet): void {
    const { frame, payloadOffset: udp, payloadLength } = packet;
    if (payloadLength < UDP_HEADER_LENGTH) {
      this.counters.drop('malformed', 'udp-truncated');
      return;
    }
    const udpLength = readU16(frame, udp + 4);
    if (udpLength < UDP_HEADER_LENGTH || udpLength > payloadLength) {
      this.counters.drop('malformed', 'udp-bad-length');
      return;
    }
    if (readU16(frame, udp + 6) !== 0) {
      const initial = pseudoHeaderSum(packet.source, packet.destination, IP_PROTOCOL_UDP, udpLength);
      if (onesComplementSum(frame, udp, udp + udpLength, initial) !== 0xffff) {
        this.counters.drop('malformed', 'udp-bad-checksum');
        return;
      }
    }
    const sourcePort = readU16(frame, udp);
    const destinationPort = readU16(frame, udp + 2);
    const data = frame.subarray(udp + UDP_HEADER_LENGTH, udp + udpLength);
    const destination = packet.destination;

    if (destinationPort === DHCP_SERVER_PORT && (destination === this.hostAddress || destination === IPV4_BROADCAST)) {
      this.dhcpInput(data);
      return;
    }
    if (!this.guestAddressValid(packet.source) || sourcePort === 0) {
      this.counters.drop('policy', 'udp-bad-source');
      return;
    }
    const session = this.udpForwardSessions.get(udpForwardKey(packet.source, sourcePort, destination, destinationPort));
    if (session) {
      session.lastActivity = performance.now();
      this.udpBytesToHost += data.length;
      const socket = session.forward.server;
      if (socket instanceof dgram.Socket) socket.send(Buffer.from(data), session.clientPort, session.clientAddress, () => {});
      return;
    }
    if (this.restrict) {
      this.counters.drop('policy', 'restricted');
      return;
    }
    const kind = this.destinationKind(destination);
    if (kind === 'dns') {
      if (destinationPort === DNS_PORT) this.dnsInput(packet.source, sourcePort, data);
      else this.counters.drop('policy', 'udp-to-dns-address');
      return;
    }
    if (kind === 'broadcast' || kind === 'local' || kind === 'martian' || destinationPort === 0) {
      this.counters.drop('policy', `udp-to-${kind === 'external' || kind === 'host' ? 'port-0' : kind}`);
      return;
    }
    const binding = this.udpBinding(packet.source, sourcePort);
    if (!binding) return;
    binding.lastActivity = performance.now();
    this.udpBytesToHost += data.length;
    // The host's loopback stands behind the gateway address (QEMU's rule).
    const target = kind === 'host' ? '127.0.0.1' : formatIpv4(destination);
    binding.socket.send(Buffer.from(data), destinationPort, target, (error) => {
      if (error) this.counters.drop('policy', 'udp-host-send-failed');
    });
  }

  private udpBinding(guestAddress: number, guestPort: number): UdpBinding | undefined {
    const key = `${guestAddress}:${guestPort}`;
    const existing = this.udpBindings.get(key);
    if (existing) return existing;
    if (this.udpBindings.size >= this.maximumUdpBindings) {
      this.counters.drop('queue-full', 'udp-too-many-bindings');
      return undefined;
    }
    const socket = dgram.createSocket('udp4');
    const binding: UdpBinding = { socket, guestAddress, guestPort, lastActivity: performance.now() };
    socket.on('error', () => {
      this.counters.drop('policy', 'udp-host-socket-error');
    });
    socket.on('message', (message: Buffer, remote: dgram.RemoteInfo) => {
      if (this.closed) return;
      const source = isLoopbackText(remote.address) ? this.hostAddress : parseIpv4(remote.address);
      if (source === undefined) return;
      binding.lastActivity = performance.now();
      this.udpBytesFromHost += message.length;
      this.sendUdpToGuest(source, remote.port, guestAddress, guestPort, message);
    });
    this.udpBindings.set(key, binding);
    return binding;
  }

  private sendUdpToGuest(source: number, sourcePort: number, destination: number, destinationPort: number, payload: Uint8Array): void {
    if (payload.length > 65535 - 28) return;
    const frames = udpFrames(this.gatewayMac, source, sourcePort, destination, destinationPort, payload, this.nextIdentification());
    for (const frame of frames) {
      if (destination === IPV4_BROADCAST) {
        frame.set(BROADCAST_MAC, 0);
        this.outbox.push(frame);
      } else {
        this.sendToGuest(frame, destination);
      }
    }
  }

  private dhcpInput(message: Uint8Array): void {
    const outcome = this.dhcp.handle(message);
    if ('ignored' in outcome) {
      const malformed = outcome.ignored === 'dhcp-truncated' || outcome.ignored === 'dhcp-bad-option' || outcome.ignored === 'dhcp-not-ethernet' || outcome.ignored === 'dhcp-not-a-request';
      this.counters.drop(malformed ? 'malformed' : 'policy', outcome.ignored);
      return;
    }
    if ('handled' in outcome) return;
    if (outcome.clientAddress !== undefined) this.learn(outcome.clientAddress, outcome.clientMac);
    // To the broadcast addresses, as slirp: the client has no address yet.
    this.sendUdpToGuest(this.hostAddress, DHCP_SERVER_PORT, IPV4_BROADCAST, DHCP_CLIENT_PORT, outcome.message);
  }

  private dnsInput(source: number, sourcePort: number, message: Uint8Array): void {
    // A copy: the answer is built later, and the frame belongs to the device.
    const query = parseDnsQuery(message.slice());
    if (typeof query === 'string') {
      this.counters.drop('malformed', query);
      return;
    }
    this.dnsQueries++;
    const dropped = this.dns.resolve(query, (response) => {
      if (!this.closed) this.sendUdpToGuest(this.dnsAddress, DNS_PORT, source, sourcePort, response);
    });
    if (dropped) this.counters.drop('queue-full', dropped);
  }

  // ---- TCP ----

  private tcpInput(packet: Ipv4Packet): void {
    const { frame, payloadOffset: tcp, payloadLength } = packet;
    if (payloadLength < TCP_HEADER_LENGTH) {
      this.counters.drop('malformed', 'tcp-truncated');
      return;
    }
    const headerLength = (frame[tcp + 12] >>> 4) * 4;
    if (headerLength < TCP_HEADER_LENGTH || headerLength > payloadLength) {
      this.counters.drop('malformed', 'tcp-bad-header-length');
      return;
    }
    const initial = pseudoHeaderSum(packet.source, packet.destination, IP_PROTOCOL_TCP, payloadLength);
    if (onesComplementSum(frame, tcp, tcp + payloadLength, initial) !== 0xffff) {
      this.counters.drop('malformed', 'tcp-bad-checksum');
      return;
    }
    const sourcePort = readU16(frame, tcp);
    const destinationPort = readU16(frame, tcp + 2);
    const flags = frame[tcp + 13];
    const segment: TcpSegment = {
      frame,
      sequence: readU32(frame, tcp + 4),
      acknowledgment: readU32(frame, tcp + 8),
      flags,
      window: readU16(frame, tcp + 14),
      dataOffset: tcp + headerLength,
      dataLength: payloadLength - headerLength,
      maximumSegmentSize: flags & TCP_SYN ? maximumSegmentSizeOption(frame, tcp + TCP_HEADER_LENGTH, tcp + headerLength) : undefined,
    };
    const key = tcpKey(packet.source, sourcePort, packet.destination, destinationPort);
    const existing = this.tcpConnections.get(key);
    if (existing) {
      if (existing.state === 'time-wait' && (flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN) {
        // The same ports opened again after a close: a new connection.
        existing.destroy();
        this.tcpConnections.delete(key);
      } else {
        existing.segment(segment);
        return;
      }
    }
    if (flags & TCP_RST) {
      this.counters.drop('policy', 'tcp-rst-without-connection');
      return;
    }
    if ((flags & (TCP_SYN | TCP_ACK | TCP_FIN)) !== TCP_SYN) {
      this.counters.drop('policy', 'tcp-without-connection');
      this.sendReset(packet, sourcePort, destinationPort, segment);
      return;
    }
    if (!this.guestAddressValid(packet.source) || sourcePort === 0) {
      this.counters.drop('policy', 'tcp-bad-source');
      return;
    }
    const kind = this.destinationKind(packet.destination);
    if (kind === 'broadcast' || kind === 'martian') {
      this.counters.drop('policy', `tcp-to-${kind}`);
      return;
    }
    if (this.restrict) {
      // QEMU's restrict=on resets every connection the guest opens (only forwards are served).
      this.counters.drop('policy', 'restricted');
      this.sendReset(packet, sourcePort, destinationPort, segment);
      return;
    }
    let target: string | undefined;
    let targetPort = destinationPort;
    if (kind === 'host') target = '127.0.0.1';
    else if (kind === 'external') target = formatIpv4(packet.destination);
    else if (kind === 'dns' && destinationPort === DNS_PORT && this.dnsUpstream) {
      target = this.dnsUpstream.host;
      targetPort = this.dnsUpstream.port;
    }
    if (target === undefined || destinationPort === 0) {
      this.counters.drop('policy', `tcp-to-${kind === 'dns' ? 'dns-address' : kind}`);
      this.sendReset(packet, sourcePort, destinationPort, segment);
      return;
    }
    if (this.tcpConnections.size >= this.maximumTcpConnections) {
      this.counters.drop('queue-full', 'tcp-too-many-connections');
      this.sendReset(packet, sourcePort, destinationPort, segment);
      return;
    }
    const connection = new TcpConnection(this.link, {
      guestAddress: packet.source,
      guestPort: sourcePort,
      peerAddress: packet.destination,
      peerPort: destinationPort,
    }, 'outbound', this.nextSequence());
    this.tcpConnections.set(key, connection);
    this.tcpConnectionsOpened++;
    const socket = net.connect({ host: target, port: targetPort, allowHalfOpen: true });
    connection.startOutbound(segment, socket);
  }

  /** ICMP destination unreachable from the gateway about `quoted` (a guest packet's IPv4 header and 8 bytes). */
  private sendUnreachable(quoted: Uint8Array, code: number): void {
    if (quoted.length < 28) return;
    const destination = readU32(quoted, 12);
    if (!this.guestAddressValid(destination)) return;
    const frame = ipv4Frame(this.gatewayMac, {
      source: this.hostAddress,
      destination,
      protocol: IP_PROTOCOL_ICMP,
      identification: this.nextIdentification(),
      ttl: 255,
      typeOfService: 0xc0,
    }, 8 + quoted.length);
    const icmp = IPV4_PAYLOAD_OFFSET;
    frame[icmp] = 3;
    frame[icmp + 1] = code;
    frame.set(quoted, icmp + 8);
    writeU16(frame, icmp + 2, internetChecksum(frame, icmp, icmp + 8 + quoted.length));
    this.sendToGuest(frame, destination);
  }

  /** RFC 793's reset for a segment that belongs to no connection. */
  private sendReset(packet: Ipv4Packet, sourcePort: number, destinationPort: number, segment: TcpSegment): void {
    let flags = TCP_RST;
    let sequence = 0;
    let acknowledgment = 0;
    if (segment.flags & TCP_ACK) {
      sequence = segment.acknowledgment;
    } else {
      flags |= TCP_ACK;
      acknowledgment = (segment.sequence + segment.dataLength + (segment.flags & TCP_SYN ? 1 : 0) + (segment.flags & TCP_FIN ? 1 : 0)) >>> 0;
    }
    if (!this.guestAddressValid(packet.source)) return;
    const frame = ipv4Frame(this.gatewayMac, {
      source: packet.destination,
      destination: packet.source,
      protocol: IP_PROTOCOL_TCP,
      identification: this.nextIdentification(),
    }, TCP_HEADER_LENGTH);
    const tcp = IPV4_PAYLOAD_OFFSET;
    writeU16(frame, tcp, destinationPort);
    writeU16(frame, tcp + 2, sourcePort);
    writeU32(frame, tcp + 4, sequence);
    writeU32(frame, tcp + 8, acknowledgment);
    frame[tcp + 12] = 5 << 4;
    frame[tcp + 13] = flags;
    fillTransportChecksum(frame, 16);
    this.sendToGuest(frame, packet.source);
  }

  private sendOwedAcknowledgments(): void {
    if (this.acknowledgmentsOwed.size === 0) return;
    const owed = [...this.acknowledgmentsOwed];
    this.acknowledgmentsOwed.clear();
    for (const connection of owed) connection.flushAcknowledgment();
  }

  // ---- Port forwards ----

  private async listen(forwards: readonly HostForward[]): Promise<void> {
    const listening: Promise<void>[] = [];
    for (const spec of forwards) {
      const guestAddress = address(spec.guestAddress, this.dhcpStart, 'hostfwd guest address');
      const forward: ListeningForward = { spec, guestAddress, server: undefined, port: spec.hostPort };
      this.forwards.push(forward);
      listening.push(spec.protocol === 'tcp' ? this.listenTcp(forward) : this.listenUdp(forward));
    }
    await Promise.all(listening);
  }

  private listenTcp(forward: ListeningForward): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.acceptForwarded(forward, socket));
    forward.server = server;
    return new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new BridgeError(`hostfwd tcp:${forward.spec.hostAddress}:${forward.spec.hostPort}: ${error.message}`)));
      server.listen({ host: forward.spec.hostAddress, port: forward.spec.hostPort }, () => {
        const bound = server.address();
        if (bound && typeof bound === 'object') forward.port = bound.port;
        server.on('error', () => this.counters.drop('policy', 'hostfwd-server-error'));
        resolve();
      });
    });
  }

  private acceptForwarded(forward: ListeningForward, socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const remote = socket.remoteAddress;
    const remoteIpv4 = remote === undefined ? undefined : parseIpv4(remote.replace(/^::ffff:/, ''));
    // A client on the host's loopback appears to come from the gateway, as in QEMU.
    const peerAddress = isLoopbackText(remote) || remoteIpv4 === undefined ? this.hostAddress : remoteIpv4;
    const peerPort = socket.remotePort ?? 0;
    const key = tcpKey(forward.guestAddress, forward.spec.guestPort, peerAddress, peerPort);
    if (this.tcpConnections.has(key) || this.tcpConnections.size >= this.maximumTcpConnections || peerPort === 0) {
      this.counters.drop('queue-full', 'hostfwd-refused');
      socket.destroy();
      return;
    }
    const connection = new TcpConnection(this.link, {
      guestAddress: forward.guestAddress,
      guestPort: forward.spec.guestPort,
      peerAddress,
      peerPort,
    }, 'inbound', this.nextSequence());
    this.tcpConnections.set(key, connection);
    this.tcpConnectionsOpened++;
    connection.startInbound(socket);
  }

  private listenUdp(forward: ListeningForward): Promise<void> {
    const socket = dgram.createSocket('udp4');
    forward.server = socket;
    socket.on('message', (message: Buffer, remote: dgram.RemoteInfo) => {
      if (this.closed) return;
      const remoteIpv4 = parseIpv4(remote.address);
      const peerAddress = isLoopbackText(remote.address) || remoteIpv4 === undefined ? this.hostAddress : remoteIpv4;
      const key = udpForwardKey(forward.guestAddress, forward.spec.guestPort, peerAddress, remote.port);
      const session = this.udpForwardSessions.get(key);
      if (session) session.lastActivity = performance.now();
      else this.udpForwardSessions.set(key, { forward, clientAddress: remote.address, clientPort: remote.port, lastActivity: performance.now() });
      this.udpBytesFromHost += message.length;
      this.sendUdpToGuest(peerAddress, remote.port, forward.guestAddress, forward.spec.guestPort, message);
    });
    return new Promise<void>((resolve, reject) => {
      socket.once('error', (error) => reject(new BridgeError(`hostfwd udp:${forward.spec.hostAddress}:${forward.spec.hostPort}: ${error.message}`)));
      socket.bind({ address: forward.spec.hostAddress, port: forward.spec.hostPort }, () => {
        forward.port = socket.address().port;
        socket.on('error', () => this.counters.drop('policy', 'hostfwd-socket-error'));
        resolve();
      });
    });
  }

  // ---- Output ----

  /** Sends an IPv4 frame built by ipv4Frame() to a guest address, resolving its MAC first. */
  private sendToGuest(frame: Uint8Array, destination: number): void {
    if (this.closed) return;
    const mac = this.neighbours.get(destination);
    if (mac) {
      frame.set(mac, 0);
      this.outbox.push(frame);
      return;
    }
    let pending = this.resolving.get(destination);
    if (!pending && this.resolving.size >= ARP_PENDING_ADDRESSES) {
      this.counters.drop('queue-full', 'arp-pending-full');
      return;
    }
    if (!pending) {
      pending = { frames: [], attempts: 0, timer: undefined };
      this.resolving.set(destination, pending);
      this.requestAddress(destination, pending);
    }
    if (pending.frames.length < ARP_PENDING_FRAMES) pending.frames.push(frame);
    else this.counters.drop('queue-full', 'arp-pending-full');
  }

  private requestAddress(destination: number, pending: PendingResolution): void {
    if (pending.attempts >= ARP_ATTEMPTS) {
      this.resolving.delete(destination);
      for (let i = 0; i < pending.frames.length; i++) this.counters.drop('link-down', 'arp-unresolved');
      return;
    }
    pending.attempts++;
    const request = new Uint8Array(ETHERNET_MINIMUM_FRAME);
    const arp = ETHERNET_HEADER_LENGTH;
    request.set(BROADCAST_MAC, 0);
    request.set(this.gatewayMac, 6);
    writeU16(request, 12, ETHERTYPE_ARP);
    writeU16(request, arp, 1);
    writeU16(request, arp + 2, ETHERTYPE_IPV4);
    request[arp + 4] = 6;
    request[arp + 5] = 4;
    writeU16(request, arp + 6, 1);
    request.set(this.gatewayMac, arp + 8);
    writeU32(request, arp + 14, this.hostAddress);
    writeU32(request, arp + 24, destination);
    this.outbox.push(request);
    pending.timer = setTimeout(() => this.requestAddress(destination, pending), ARP_RETRY_MS);
  }

  private nextIdentification(): number {
    this.identification = (this.identification + 1) & 0xffff;
    return this.identification;
  }

  private nextSequence(): number {
    // A fixed-seed generator: the same run gives the same sequence numbers.
    this.sequenceState = (Math.imul(this.sequenceState, 1664525) + 1013904223) >>> 0;
    return this.sequenceState;
  }

  private sweep(): void {
    const now = performance.now();
    const expired = this.reassembly.expire(now, this.fragmentTimeoutMs);
    for (let i = 0; i < expired; i++) this.counters.drop('malformed', 'ipv4-fragment-timeout');
    for (const [key, binding] of this.udpBindings) {
      if (now - binding.lastActivity >= this.udpIdleTimeoutMs) {
        binding.socket.close();
        this.udpBindings.delete(key);
      }
    }
    for (const [key, session] of this.udpForwardSessions) {
      if (now - session.lastActivity >= this.udpIdleTimeoutMs) this.udpForwardSessions.delete(key);
    }
  }
}

function udpForwardKey(guestAddress: number, guestPort: number, peerAddress: number, peerPort: number): string {
  return `${guestAddress}:${guestPort}>${peerAddress}:${peerPort}`;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The MSS option among a SYN's options, if any; malformed options end the search. */
function maximumSegmentSizeOption(frame: Uint8Array, start: number, end: number): number | undefined {
  let at = start;
  while (at < end) {
    const kind = frame[at];
    if (kind === 0) return undefined;
    if (kind === 1) {
      at++;
      continue;
    }
    if (at + 1 >= end) return undefined;
    const length = frame[at + 1];
    if (length < 2 || at + length > end) return undefined;
    if (kind === 2 && length === 4) return readU16(frame, at + 2);
    at += length;
  }
  return undefined;
}
