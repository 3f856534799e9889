// A tiny guest IP stack for driving a NetBackend from tests: it answers ARP for its address,
// runs DHCP, ping, DNS and UDP, and has a small but honest TCP (handshake, windows both ways,
// in-order receive with duplicate ACKs for gaps, retransmission of its own data, FIN/RST), so
// tests can check the NAT against a second implementation rather than against itself.

import type { NetBackend } from '../../vmm-core/bridges/types';
import {
  ACK, DNS_SERVER, FIN, GATEWAY, PSH, RST, SYN, arp, dhcp, dnsQuery, ethernet, icmpEcho, ip, ipText, ipv4, mac, macText,
  mssOption, parseDhcp, parseDnsResponse, parseFrame, tcp, udp,
  type DhcpReply, type DnsAnswer, type ParsedFrame,
} from './net-frames';

const BROADCAST = mac('ff:ff:ff:ff:ff:ff');
const ZERO_MAC = mac('00:00:00:00:00:00');
const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;

/** What the guest does with an incoming frame: take it, refuse it (no rx buffer), or lose it silently. */
export type Disposition = 'accept' | 'refuse' | 'lose';

interface Waiter {
  predicate: (frame: ParsedFrame) => boolean;
  resolve: (frame: ParsedFrame) => void;
}

export interface DhcpLease {
  address: string;
  router: string | undefined;
  dns: string | undefined;
  netmask: string | undefined;
  leaseSeconds: number | undefined;
  serverId: string | undefined;
  offer: DhcpReply;
  ack: DhcpReply;
}

export function withTimeout<T>(promise: Promise<T>, milliseconds: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${milliseconds} ms waiting for ${what}`)), milliseconds);
    }),
  ]);
}

export class TestGuest {
  readonly mac: Uint8Array;
  address: string;
  gatewayMac: Uint8Array | undefined;
  /** Every frame received, parsed. */
  readonly received: ParsedFrame[] = [];
  /** Decides per frame; default takes everything. */
  disposition: (frame: ParsedFrame, index: number) => Disposition = () => 'accept';
  private receivedCount = 0;
  private waiters: Waiter[] = [];
  readonly connections = new Map<string, TestTcpConnection>();
  private readonly listeners = new Map<number, (connection: TestTcpConnection) => void>();
  private nextPort = 40000;
  private nextIdentification = 1;

  constructor(readonly backend: NetBackend, options: { mac?: string; address?: string } = {}) {
    this.mac = mac(options.mac ?? '52:54:00:12:34:56');
    this.address = options.address ?? '0.0.0.0';
    backend.setReceiver((frame) => this.receive(frame));
  }

  private receive(raw: Uint8Array): boolean {
    const index = this.receivedCount++;
    let frame: ParsedFrame;
    try {
      frame = parseFrame(raw.slice());
    } catch (error) {
      throw new Error(`the test guest could not parse a frame the backend sent: ${(error as Error).message}`);
    }
    const disposition = this.disposition(frame, index);
    if (disposition === 'refuse') return false;
    if (disposition === 'lose') return true;
    this.received.push(frame);
    if (frame.arp && frame.arp.operation === 1 && frame.arp.targetIp === this.address) {
      // Answer from the guest's own "execution", not inside the backend's delivery.
      const requester = frame.arp;
      setImmediate(() => this.sendEthernet(mac(requester.senderMac), 0x0806, arp(2, this.mac, this.address, mac(requester.senderMac), requester.senderIp)));
    }
    if (frame.tcp && frame.ipv4 && frame.ipv4.destination === this.address) this.tcpInput(frame);
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      if (waiter.predicate(frame)) waiter.resolve(frame);
      else this.waiters.push(waiter);
    }
    return true;
  }

  /** The next received frame that matches (frames from now on). */
  waitFor(predicate: (frame: ParsedFrame) => boolean, what: string, milliseconds = 5000): Promise<ParsedFrame> {
    return withTimeout(new Promise<ParsedFrame>((resolve) => this.waiters.push({ predicate, resolve })), milliseconds, what);
  }

  sendEthernet(destination: Uint8Array, ethertype: number, payload: Uint8Array): void {
    this.backend.send(ethernet(destination, this.mac, ethertype, payload));
  }

  sendIpv4(destination: string, protocol: number, payload: Uint8Array, extra: { fragment?: number; source?: string } = {}): void {
    const packet = ipv4({ source: extra.source ?? this.address, destination, protocol, payload, identification: this.nextIdentification++, fragment: extra.fragment });
    this.sendEthernet(this.gatewayMac ?? BROADCAST, 0x0800, packet);
  }

  async arp(target: string, milliseconds = 5000): Promise<string> {
    const reply = this.waitFor((frame) => frame.arp?.operation === 2 && frame.arp.senderIp === target, `ARP reply for ${target}`, milliseconds);
    this.sendEthernet(BROADCAST, 0x0806, arp(1, this.mac, this.address, ZERO_MAC, target));
    return (await reply).arp!.senderMac;
  }

  async dhcp(): Promise<DhcpLease> {
    const transactionId = 0x1234abcd;
    const isReply = (type: number) => (frame: ParsedFrame) =>
      frame.udp?.destinationPort === 68 && parseDhcp(frame.udp.data).transactionId === transactionId && parseDhcp(frame.udp.data).messageType === type;
    const offerFrame = this.waitFor(isReply(2), 'DHCPOFFER');
    this.sendDhcp(dhcp({ type: 1, transactionId, clientMac: this.mac }));
    const offer = parseDhcp((await offerFrame).udp!.data);
    const serverId = offer.options.get(54);
    const ackFrame = this.waitFor(isReply(5), 'DHCPACK');
    this.sendDhcp(dhcp({ type: 3, transactionId, clientMac: this.mac, requested: offer.yourAddress, serverId: serverId ? [...serverId].join('.') : undefined }));
    const ack = parseDhcp((await ackFrame).udp!.data);
    this.address = ack.yourAddress;
    const quad = (bytes: Uint8Array | undefined) => (bytes ? [...bytes.subarray(0, 4)].join('.') : undefined);
    const lease = ack.options.get(51);
    const router = quad(ack.options.get(3));
    if (router) this.gatewayMac = mac(await this.arp(router));
    return {
      address: ack.yourAddress,
      router,
      dns: quad(ack.options.get(6)),
      netmask: quad(ack.options.get(1)),
      leaseSeconds: lease ? new DataView(lease.buffer, lease.byteOffset).getUint32(0) : undefined,
      serverId: quad(serverId),
      offer,
      ack,
    };
  }

  sendDhcp(message: Uint8Array): void {
    this.sendEthernet(BROADCAST, 0x0800, ipv4({ source: '0.0.0.0', destination: '255.255.255.255', protocol: 17, payload: udp('0.0.0.0', '255.255.255.255', 68, 67, message) }));
  }

  /** Configures a static address (no DHCP) and learns the gateway's MAC. */
  async configure(address: string): Promise<void> {
    this.address = address;
    this.gatewayMac = mac(await this.arp(GATEWAY));
  }

  async ping(destination: string, identifier = 7, sequence = 1, data = new TextEncoder().encode('ringside ping'), milliseconds = 5000): Promise<ParsedFrame> {
    const reply = this.waitFor((frame) => frame.icmp?.type === 0 && frame.icmp.identifier === identifier && frame.icmp.sequence === sequence, `echo reply from ${destination}`, milliseconds);
    this.sendIpv4(destination, 1, icmpEcho(8, identifier, sequence, data));
    return reply;
  }

  sendUdp(sourcePort: number, destination: string, destinationPort: number, data: Uint8Array): void {
    this.sendIpv4(destination, 17, udp(this.address, destination, sourcePort, destinationPort, data));
  }

  async dns(name: string, type = 1, identifier = 0x4242, sourcePort = 5353, milliseconds = 5000): Promise<DnsAnswer> {
    const reply = this.waitFor((frame) => frame.udp?.sourcePort === 53 && frame.udp.destinationPort === sourcePort && frame.udp.data.length >= 2 && new DataView(frame.udp.data.buffer, frame.udp.data.byteOffset).getUint16(0) === identifier, `DNS answer for ${name}`, milliseconds);
    this.sendUdp(sourcePort, DNS_SERVER, 53, dnsQuery(identifier, name, type));
    return parseDnsResponse((await reply).udp!.data);
  }

  // ---- TCP ----

  allocatePort(): number {
    return this.nextPort++;
  }

  /** Opens a TCP connection; resolves when established, rejects on RST. */
  connect(destination: string, port: number, options: TcpOptions = {}): Promise<TestTcpConnection> {
    const connection = new TestTcpConnection(this, options.sourcePort ?? this.allocatePort(), destination, port, options);
    this.connections.set(connection.key, connection);
    connection.open();
    return connection.established;
  }

  /** Accepts connections to `port` (the NAT's port forwards connect here). */
  listen(port: number, onConnection: (connection: TestTcpConnection) => void, options: TcpOptions = {}): void {
    this.listeners.set(port, (connection) => onConnection(connection));
    this.listenOptions.set(port, options);
  }

  private readonly listenOptions = new Map<number, TcpOptions>();

  sendTcp(fields: { destination: string; sourcePort: number; destinationPort: number; sequence: number; acknowledgment: number; flags: number; window: number; options?: Uint8Array; data?: Uint8Array }): void {
    this.sendIpv4(fields.destination, 6, tcp({ ...fields, source: this.address }));
  }

  /** Local ports a test drives by hand with sendTcp(): no automatic answers on them. */
  readonly manualPorts = new Set<number>();

  private tcpInput(frame: ParsedFrame): void {
    const segment = frame.tcp!;
    if (this.manualPorts.has(segment.destinationPort)) return;
    const key = `${segment.destinationPort}>${frame.ipv4!.source}:${segment.sourcePort}`;
    const existing = this.connections.get(key);
    if (existing) {
      existing.input(segment);
      return;
    }
    const listener = this.listeners.get(segment.destinationPort);
    if (listener && segment.flags === SYN) {
      const connection = new TestTcpConnection(this, segment.destinationPort, frame.ipv4!.source, segment.sourcePort, this.listenOptions.get(segment.destinationPort) ?? {});
      this.connections.set(connection.key, connection);
      connection.accept(segment);
      listener(connection);
      return;
    }
    if (!(segment.flags & RST)) {
      // Closed port: RST as a real stack would.
      const ack = segment.flags & ACK;
      this.sendTcp({
        destination: frame.ipv4!.source, sourcePort: segment.destinationPort, destinationPort: segment.sourcePort,
        sequence: ack ? segment.acknowledgment : 0,
        acknowledgment: (segment.sequence + segment.data.length + (segment.flags & SYN ? 1 : 0) + (segment.flags & FIN ? 1 : 0)) >>> 0,
        flags: ack ? RST : RST | ACK, window: 0,
      });
    }
  }
}

export interface TcpOptions {
  sourcePort?: number;
  /** Receive buffer (the window advertised when nothing is unread); default 65535. */
  receiveBuffer?: number;
  /** Take received bytes at once (window stays open) or leave them for read(). Default true. */
  autoRead?: boolean;
  mss?: number;
  /** Send Linux's SYN options (SACK permitted, timestamps, window scale) besides the MSS. */
  linuxOptions?: boolean;
  /** This side's initial sequence number (default 0x10000000). */
  initialSequence?: number;
}

/** A segment the guest received, with the window it had advertised before (for window checks). */
export interface WindowCheck {
  sequence: number;
  length: number;
  allowedEnd: number;
}

export class TestTcpConnection {
  readonly key: string;
  state: 'closed' | 'syn-sent' | 'syn-received' | 'established' | 'reset' = 'closed';
  private initialSequence = 0x10000000;
  private sendUnacknowledged = 0;
  private sendNext = 0;
  private receiveNext = 0;
  peerWindow = 0;
  peerMss = 536;
  private sendQueue: Uint8Array[] = [];
  private sendQueueBytes = 0;
  /** Bytes taken from sendQueue but not acknowledged; [0] has sequence sendUnacknowledged. */
  private readonly unacknowledged = new SentBytes();
  private finQueued = false;
  private finSent = false;
  finReceived = false;
  private unread: Uint8Array[] = [];
  private unreadBytes = 0;
  private readonly receivedChunks: Uint8Array[] = [];
  receivedBytes = 0;
  /** The right edge of the window last advertised. */
  private advertisedEdge = 0;
  /** Segments that went past the advertised window (must stay 0). */
  windowViolations: WindowCheck[] = [];
  /** Largest segment payload received. */
  largestSegment = 0;
  /** The SYN or SYN-ACK the NAT sent. */
  synFromPeer: { mss: number | undefined; optionKinds: number[]; window: number } | undefined;
  duplicateSegments = 0;
  private retransmitTimer: ReturnType<typeof setTimeout> | undefined;
  private resolveEstablished!: (connection: TestTcpConnection) => void;
  private rejectEstablished!: (error: Error) => void;
  readonly established: Promise<TestTcpConnection>;
  private finWaiters: Array<() => void> = [];
  private resetWaiters: Array<() => void> = [];
  private dataWaiters: Array<() => void> = [];
  private readonly receiveBuffer: number;
  autoRead: boolean;

  constructor(
    private readonly guest: TestGuest,
    readonly localPort: number,
    readonly remoteAddress: string,
    readonly remotePort: number,
    private readonly options: TcpOptions,
  ) {
    this.key = `${localPort}>${remoteAddress}:${remotePort}`;
    this.receiveBuffer = options.receiveBuffer ?? 65535;
    this.initialSequence = (options.initialSequence ?? 0x10000000) >>> 0;
    this.autoRead = options.autoRead ?? true;
    this.established = new Promise((resolve, reject) => {
      this.resolveEstablished = resolve;
      this.rejectEstablished = reject;
    });
    this.established.catch(() => {});
  }

  private window(): number {
    return Math.max(0, Math.min(65535, this.receiveBuffer - this.unreadBytes));
  }

  private synOptions(): Uint8Array {
    const mss = this.options.mss ?? 1460;
    if (!this.options.linuxOptions) return mssOption(mss);
    const options = new Uint8Array(20);
    options.set(mssOption(mss), 0);
    options.set([4, 2, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 1, 3, 3, 7], 4);
    return options;
  }

  private send(flags: number, sequence: number, data?: Uint8Array, options?: Uint8Array): void {
    const window = this.window();
    if (flags & ACK) this.advertisedEdge = (this.receiveNext + window) >>> 0;
    this.guest.sendTcp({
      destination: this.remoteAddress, sourcePort: this.localPort, destinationPort: this.remotePort,
      sequence, acknowledgment: flags & ACK ? this.receiveNext : 0, flags, window, options, data,
    });
  }

  open(): void {
    this.state = 'syn-sent';
    this.sendUnacknowledged = this.initialSequence;
    this.sendNext = (this.initialSequence + 1) >>> 0;
    this.send(SYN, this.initialSequence, undefined, this.synOptions());
  }

  accept(syn: { sequence: number; window: number; mss: number | undefined; optionKinds: number[] }): void {
    this.state = 'syn-received';
    this.synFromPeer = { mss: syn.mss, optionKinds: syn.optionKinds, window: syn.window };
    this.receiveNext = (syn.sequence + 1) >>> 0;
    this.peerWindow = syn.window;
    this.peerMss = syn.mss ?? 536;
    this.sendUnacknowledged = this.initialSequence;
    this.sendNext = (this.initialSequence + 1) >>> 0;
    this.send(SYN | ACK, this.initialSequence, undefined, this.synOptions());
  }

  input(segment: { sequence: number; acknowledgment: number; flags: number; window: number; mss: number | undefined; optionKinds: number[]; data: Uint8Array }): void {
    if (this.state === 'reset') return;
    if (segment.flags & RST) {
      this.state = 'reset';
      this.stopTimer();
      this.rejectEstablished(new Error(`connection to ${this.remoteAddress}:${this.remotePort} reset`));
      for (const waiter of this.resetWaiters.splice(0)) waiter();
      for (const waiter of this.finWaiters.splice(0)) waiter();
      for (const waiter of this.dataWaiters.splice(0)) waiter();
      return;
    }
    if (this.state === 'syn-sent') {
      if ((segment.flags & (SYN | ACK)) !== (SYN | ACK) || segment.acknowledgment !== this.sendNext) return;
      this.synFromPeer = { mss: segment.mss, optionKinds: segment.optionKinds, window: segment.window };
      this.receiveNext = (segment.sequence + 1) >>> 0;
      this.sendUnacknowledged = this.sendNext;
      this.peerWindow = segment.window;
      this.peerMss = segment.mss ?? 536;
      this.state = 'established';
      this.send(ACK, this.sendNext);
      this.resolveEstablished(this);
      return;
    }
    if (this.state === 'syn-received') {
      if (segment.flags & SYN) {
        // Our SYN-ACK was lost.
        this.send(SYN | ACK, this.initialSequence, undefined, this.synOptions());
        return;
      }
      if (!(segment.flags & ACK) || segment.acknowledgment !== this.sendNext) return;
      this.sendUnacknowledged = this.sendNext;
      this.state = 'established';
      this.resolveEstablished(this);
    }
    if (segment.flags & ACK) this.acknowledged(segment.acknowledgment, segment.window);
    const length = segment.data.length + (segment.flags & FIN ? 1 : 0);
    if (length === 0) {
      // An old sequence number (a keepalive or zero-window probe) is answered with an ACK.
      if (seqLt(segment.sequence, this.receiveNext)) this.send(ACK, this.sendNext);
      return;
    }
    if (segment.data.length > this.largestSegment) this.largestSegment = segment.data.length;
    const allowedEnd = this.advertisedEdge;
    if (segment.data.length > 0 && seqLt(allowedEnd, (segment.sequence + segment.data.length) >>> 0)) {
      this.windowViolations.push({ sequence: segment.sequence, length: segment.data.length, allowedEnd });
    }
    if (segment.sequence !== this.receiveNext) {
      // A gap or a duplicate: say what we have (a duplicate ACK).
      if (seqLt(segment.sequence, this.receiveNext)) this.duplicateSegments++;
      this.send(ACK, this.sendNext);
      return;
    }
    if (this.finReceived) {
      this.send(ACK, this.sendNext);
      return;
    }
    const room = this.window();
    const take = Math.min(segment.data.length, room);
    if (take > 0) {
      const data = segment.data.slice(0, take);
      this.receiveNext = (this.receiveNext + take) >>> 0;
      this.receivedChunks.push(data);
      this.receivedBytes += take;
      if (this.autoRead) {
        // consumed at once
      } else {
        this.unread.push(data);
        this.unreadBytes += take;
      }
      for (const waiter of this.dataWaiters.splice(0)) waiter();
    }
    if (segment.flags & FIN && take === segment.data.length) {
      this.receiveNext = (this.receiveNext + 1) >>> 0;
      this.finReceived = true;
      for (const waiter of this.finWaiters.splice(0)) waiter();
    }
    this.send(ACK, this.sendNext);
  }

  private acknowledged(ack: number, window: number): void {
    this.peerWindow = window;
    const advanced = (ack - this.sendUnacknowledged) | 0;
    if (advanced > 0) {
      const dataAcked = Math.min(advanced, this.unacknowledged.length);
      this.unacknowledged.consume(dataAcked);
      this.sendUnacknowledged = ack;
      if (seqLt(this.sendNext, ack)) this.sendNext = ack;
      this.stopTimer();
      this.retransmissions = 0;
      if (this.sendNext !== this.sendUnacknowledged) this.startTimer();
    }
    this.pump();
  }

  /** Queues bytes for the peer; they go as its window allows. */
  write(data: Uint8Array): void {
    this.sendQueue.push(data);
    this.sendQueueBytes += data.length;
    this.pump();
  }

  /** Sends FIN once everything written went out. */
  close(): void {
    this.finQueued = true;
    this.pump();
  }

  /** Sends RST at once. */
  reset(): void {
    this.send(RST | ACK, this.sendNext);
    this.state = 'reset';
    this.stopTimer();
  }

  private pump(): void {
    if (this.state !== 'established') return;
    for (;;) {
      const inFlight = (this.sendNext - this.sendUnacknowledged) | 0;
      const room = this.peerWindow - inFlight;
      if (this.sendQueueBytes === 0 || room <= 0) break;
      const length = Math.min(this.peerMss, room, this.sendQueueBytes);
      const data = this.takeFromQueue(length);
      this.unacknowledged.push(data);
      this.send(ACK | PSH, this.sendNext, data);
      this.sendNext = (this.sendNext + length) >>> 0;
      this.startTimer();
    }
    if (this.finQueued && !this.finSent && this.sendQueueBytes === 0) {
      this.send(FIN | ACK, this.sendNext);
      this.sendNext = (this.sendNext + 1) >>> 0;
      this.finSent = true;
      this.startTimer();
    }
  }

  private takeFromQueue(length: number): Uint8Array {
    const out = new Uint8Array(length);
    let at = 0;
    while (at < length) {
      const head = this.sendQueue[0];
      const take = Math.min(head.length, length - at);
      out.set(head.subarray(0, take), at);
      at += take;
      if (take === head.length) this.sendQueue.shift();
      else this.sendQueue[0] = head.subarray(take);
    }
    this.sendQueueBytes -= length;
    return out;
  }

  private retransmissions = 0;

  private startTimer(): void {
    if (this.retransmitTimer !== undefined || this.retransmissions > 50) return;
    this.retransmitTimer = setTimeout(() => {
      this.retransmissions++;
      this.retransmitTimer = undefined;
      if (this.state !== 'established') return;
      // Go back: resend the first unacknowledged segment (or the FIN).
      if (this.unacknowledged.length > 0) {
        const length = Math.min(this.peerMss, this.unacknowledged.length, Math.max(1, this.peerWindow));
        this.send(ACK | PSH, this.sendUnacknowledged, this.unacknowledged.head(length));
        this.startTimer();
      } else if (this.finSent && this.sendNext !== this.sendUnacknowledged) {
        this.send(FIN | ACK, this.sendUnacknowledged);
        this.startTimer();
      }
    }, 300);
    // The test guest's timers never keep a finished test's process alive.
    this.retransmitTimer.unref();
  }

  private stopTimer(): void {
    if (this.retransmitTimer !== undefined) clearTimeout(this.retransmitTimer);
    this.retransmitTimer = undefined;
  }

  /**
   * Takes up to `count` unread bytes (autoRead off) and announces the opened window, unless
   * `announce` is false (a lost window update: the peer must probe).
   */
  read(count = Infinity, announce = true): Uint8Array {
    const parts: Uint8Array[] = [];
    let taken = 0;
    while (this.unread.length > 0 && taken < count) {
      const head = this.unread[0];
      const take = Math.min(head.length, count - taken);
      parts.push(head.subarray(0, take));
      taken += take;
      if (take === head.length) this.unread.shift();
      else this.unread[0] = head.subarray(take);
    }
    this.unreadBytes -= taken;
    if (taken > 0 && this.state === 'established' && announce) this.send(ACK, this.sendNext);
    const out = new Uint8Array(taken);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  get unreadLength(): number {
    return this.unreadBytes;
  }

  /** Everything received so far (whether read or not). */
  receivedData(): Uint8Array {
    const out = new Uint8Array(this.receivedBytes);
    let at = 0;
    for (const chunk of this.receivedChunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /** Resolves when the peer's FIN arrived (or the connection was reset). */
  whenFinished(milliseconds = 10000): Promise<void> {
    if (this.finReceived || this.state === 'reset') return Promise.resolve();
    return withTimeout(new Promise<void>((resolve) => this.finWaiters.push(resolve)), milliseconds, `FIN from ${this.remoteAddress}:${this.remotePort}`);
  }

  whenReset(milliseconds = 5000): Promise<void> {
    if (this.state === 'reset') return Promise.resolve();
    return withTimeout(new Promise<void>((resolve) => this.resetWaiters.push(resolve)), milliseconds, 'RST');
  }

  /** Resolves when at least `bytes` were received in total. */
  async whenReceived(bytes: number, milliseconds = 10000): Promise<void> {
    const deadline = Date.now() + milliseconds;
    while (this.receivedBytes < bytes) {
      if (this.state === 'reset') throw new Error('connection reset while receiving');
      if (Date.now() > deadline) throw new Error(`received ${this.receivedBytes} of ${bytes} bytes before the timeout`);
      await withTimeout(new Promise<void>((resolve) => this.dataWaiters.push(resolve)), Math.max(1, deadline - Date.now()), `${bytes} bytes`).catch(() => {});
    }
  }

  /** True once everything written (and the FIN, if closed) was acknowledged. */
  get allAcknowledged(): boolean {
    return this.sendQueueBytes === 0 && this.unacknowledged.length === 0 && this.sendNext === this.sendUnacknowledged;
  }
}

export { ip, ipText, macText, GATEWAY, DNS_SERVER };

/** Bytes sent and not yet acknowledged, kept as the segments they went out in. */
class SentBytes {
  private chunks: Uint8Array[] = [];
  private offset = 0;
  length = 0;

  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  consume(count: number): void {
    this.length -= count;
    while (count > 0) {
      const available = this.chunks[0].length - this.offset;
      if (count < available) {
        this.offset += count;
        return;
      }
      count -= available;
      this.chunks.shift();
      this.offset = 0;
    }
  }

  head(count: number): Uint8Array {
    const out = new Uint8Array(Math.min(count, this.length));
    let at = 0;
    for (let i = 0; i < this.chunks.length && at < out.length; i++) {
      const chunk = i === 0 ? this.chunks[0].subarray(this.offset) : this.chunks[i];
      const take = Math.min(chunk.length, out.length - at);
      out.set(chunk.subarray(0, take), at);
      at += take;
    }
    return out;
  }
}
