// One TCP connection of the user-mode network: a TCP endpoint facing the guest (handshake,
// sequence and acknowledgment numbers, windows both ways, retransmission, FIN and RST) spliced
// to a host socket. The guest side speaks real TCP; the host side is a node:net Socket, so the
// host kernel does the TCP on the other side. Window scaling, SACK and timestamps are not
// offered, so a Linux guest uses none of them on this connection.

import type { Socket } from 'node:net';
import { ByteQueue } from './byte-queue';
import {
  IP_PROTOCOL_TCP, IPV4_PAYLOAD_OFFSET, TCP_ACK, TCP_FIN, TCP_HEADER_LENGTH, TCP_PSH, TCP_RST, TCP_SYN,
  fillTransportChecksum, ipv4Frame, writeU16, writeU32,
} from './packet';

/** A TCP segment from the guest whose headers and checksum were checked. */
export interface TcpSegment {
  readonly frame: Uint8Array;
  readonly sequence: number;
  readonly acknowledgment: number;
  readonly flags: number;
  readonly window: number;
  /** Where the payload starts in `frame`, and its length. */
  readonly dataOffset: number;
  readonly dataLength: number;
  /** The MSS option, when present. */
  readonly maximumSegmentSize: number | undefined;
}

export interface TcpTuning {
  /** Lower bound of the retransmission timeout (Linux uses 200 ms). */
  readonly minimumRetransmitMs: number;
  readonly initialRetransmitMs: number;
  readonly maximumRetransmitMs: number;
  /** Retransmissions of one segment before the connection is reset. */
  readonly maximumRetransmissions: number;
  /** Retransmissions of a SYN or SYN-ACK to the guest before giving up. */
  readonly maximumSynRetransmissions: number;
  /** Host connect() attempts that take longer are abandoned (the guest gets a RST). */
  readonly connectTimeoutMs: number;
  /** How long a closed connection lingers to acknowledge a retransmitted FIN. */
  readonly timeWaitMs: number;
  /** Host bytes buffered for the guest before the host socket is paused. */
  readonly sendBufferLimit: number;
}

/** What a connection needs from the network that owns it. */
export interface TcpLink {
  readonly tuning: TcpTuning;
  /** Sends an IPv4 frame from ipv4Frame() to a guest address (the network fills in the MAC). */
  sendToGuest(frame: Uint8Array, guestAddress: number): void;
  /** ICMP destination unreachable (code 0 net, 1 host) quoting `quoted` (an IPv4 header + 8 bytes). */
  sendUnreachable(quoted: Uint8Array, code: number): void;
  readonly gatewayMac: Uint8Array;
  nextIdentification(): number;
  /** Asks for flushAcknowledgment() before frames next go to the guest. */
  acknowledgmentPending(connection: TcpConnection): void;
  connectionClosed(connection: TcpConnection): void;
  countHostBytes(toHost: number, fromHost: number): void;
  now(): number;
}

export interface TcpEndpoints {
  readonly guestAddress: number;
  readonly guestPort: number;
  /** The address and port the guest sees for the other end (10.0.2.2 for the host's loopback). */
  readonly peerAddress: number;
  readonly peerPort: number;
}

export type TcpState = 'host-connecting' | 'syn-sent' | 'syn-received' | 'established' | 'time-wait' | 'closed';

/** Our MSS towards the guest (a 1500-byte MTU less IPv4 and TCP headers), as QEMU's slirp. */
export const TCP_MSS = 1460;
/** Receive buffer towards the host; without window scaling a window is at most 65535. */
const RECEIVE_BUFFER = 65535;
/** Segments from the guest held out of order, at most. */
const OUT_OF_ORDER_LIMIT = 64;
const INITIAL_WINDOW_SEGMENTS = 10;

const seqDiff = (a: number, b: number): number => (a - b) | 0;
const seqLt = (a: number, b: number): boolean => seqDiff(a, b) < 0;
const seqLe = (a: number, b: number): boolean => seqDiff(a, b) <= 0;
const seqGt = (a: number, b: number): boolean => seqDiff(a, b) > 0;
const seqAdd = (a: number, b: number): number => (a + b) >>> 0;

interface HeldSegment {
  sequence: number;
  data: Uint8Array;
  fin: boolean;
}

type TimerKind = 'retransmit' | 'persist' | 'connect' | 'time-wait';

export class TcpConnection {
  state: TcpState;
  readonly key: string;
  readonly endpoints: TcpEndpoints;
  /** Who opened it: the guest (outbound through the NAT) or a host client of a port forward. */
  readonly direction: 'outbound' | 'inbound';
  private socket: Socket | undefined;
  private socketPaused = false;

  // Send side: sequence numbers of bytes we send to the guest.
  private readonly initialSendSequence: number;
  private sendUnacknowledged: number;
  private sendNext: number;
  private sendMaximum: number;
  private sendWindow = 0;
  private sendWindowSequence = 0;
  private sendWindowAcknowledgment = 0;
  private maximumSendWindow = 0;
  private sendMss = 536;
  private congestionWindow = INITIAL_WINDOW_SEGMENTS * 536;
  private slowStartThreshold = 0x7fffffff;
  private duplicateAcks = 0;
  private recoveryPoint: number | undefined;
  /** Host bytes not yet acknowledged by the guest; byte 0 has sequence number sendUnacknowledged. */
  private readonly sendBuffer = new ByteQueue();
  /** The host ended its side: a FIN follows the buffered bytes (its sequence number is dataEnd). */
  private hostEnded = false;
  private finAcknowledged = false;

  // Retransmission timing (RFC 6298).
  private smoothedRtt = 0;
  private rttVariance = 0;
  private retransmitTimeout: number;
  private timedSequence: number | undefined;
  private timedAt = 0;
  private retransmissions = 0;
  private persistBackoff = 1;

  // Receive side: bytes from the guest.
  private receiveNext = 0;
  private receiveAdvertisedEdge = 0;
  private lastAdvertisedWindow = 0;
  private finReceived = false;
  private readonly outOfOrder: HeldSegment[] = [];
  private outOfOrderBytes = 0;
  private acknowledgmentOwed = false;

  private synPacket: Uint8Array | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerKind: TimerKind | undefined;
  private timerDeadline = 0;
  private timerFiresAt = 0;

  constructor(
    private readonly link: TcpLink,
    endpoints: TcpEndpoints,
    direction: 'outbound' | 'inbound',
    initialSequence: number,
  ) {
    this.endpoints = endpoints;
    this.key = tcpKey(endpoints.guestAddress, endpoints.guestPort, endpoints.peerAddress, endpoints.peerPort);
    this.direction = direction;
    this.initialSendSequence = initialSequence >>> 0;
    this.sendUnacknowledged = this.initialSendSequence;
    this.sendNext = this.initialSendSequence;
    this.sendMaximum = this.initialSendSequence;
    this.retransmitTimeout = link.tuning.initialRetransmitMs;
    this.state = direction === 'outbound' ? 'host-connecting' : 'syn-sent';
  }

  /** Bytes from the host waiting to reach the guest (sent or not, not yet acknowledged). */
  get bufferedForGuest(): number {
    return this.sendBuffer.length;
  }

  /** The RFC 793 name of the state, for the Devices view and tests. */
  get describeState(): string {
    if (this.state !== 'established') return this.state;
    const finSent = this.finSent();
    if (this.finReceived && finSent) return this.finAcknowledged ? 'closed' : 'last-ack';
    if (this.finReceived) return 'close-wait';
    if (finSent) return this.finAcknowledged ? 'fin-wait-2' : 'fin-wait-1';
    return 'established';
  }

  /** Sequence number just after the last host byte; the FIN's own number once the host ended. */
  private dataEnd(): number {
    return seqAdd(this.sendUnacknowledged, this.sendBuffer.length);
  }

  private finSent(): boolean {
    return this.hostEnded && (this.finAcknowledged || seqGt(this.sendMaximum, this.dataEnd()));
  }

  // ---- Opening ----

  /**
   * Outbound: the guest's SYN arrived and `socket` is connecting to the host. The SYN-ACK goes
   * out when the host connection is up; a refused connection answers the guest with RST.
   */
  startOutbound(syn: TcpSegment, socket: Socket): void {
    this.receiveFromSyn(syn);
    // The SYN's IPv4 header and first 8 TCP bytes, quoted in an ICMP error if the connect fails.
    const ipHeaderLength = (syn.frame[14] & 0x0f) * 4;
    this.synPacket = syn.frame.slice(14, 14 + ipHeaderLength + 8);
    this.attachSocket(socket);
    socket.pause();
    this.socketPaused = true;
    this.arm('connect', this.link.tuning.connectTimeoutMs);
    socket.once('connect', () => {
      if (this.state !== 'host-connecting') return;
      this.state = 'syn-received';
      this.retransmissions = 0;
      this.sendSynchronize();
    });
  }

  /** Inbound (port forward): a host client connected; open a connection into the guest. */
  startInbound(socket: Socket): void {
    this.attachSocket(socket);
    socket.pause();
    this.socketPaused = true;
    this.sendSynchronize();
  }

  private receiveFromSyn(syn: TcpSegment): void {
    this.receiveNext = seqAdd(syn.sequence, 1);
    this.sendWindow = syn.window;
    this.maximumSendWindow = syn.window;
    this.sendWindowSequence = syn.sequence;
    this.sendMss = Math.max(64, Math.min(TCP_MSS, syn.maximumSegmentSize ?? 536));
    this.congestionWindow = INITIAL_WINDOW_SEGMENTS * this.sendMss;
  }

  private attachSocket(socket: Socket): void {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.hostData(chunk));
    socket.on('end', () => this.hostEnd());
    socket.on('error', (error: NodeJS.ErrnoException) => this.hostError(error));
    socket.on('close', () => this.hostClosed());
    socket.on('drain', () => this.hostDrained());
  }

  // ---- Host socket events ----

  private hostData(chunk: Buffer): void {
    if (this.state === 'closed' || this.state === 'time-wait') return;
    this.link.countHostBytes(0, chunk.length);
    this.sendBuffer.push(chunk);
    if (this.sendBuffer.length >= this.link.tuning.sendBufferLimit) this.pauseHost();
    this.output();
  }

  private hostEnd(): void {
    if (this.state === 'closed' || this.state === 'time-wait') return;
    this.hostEnded = true;
    this.output();
  }

  private hostError(error: NodeJS.ErrnoException): void {
    if (this.state === 'closed' || this.state === 'time-wait') return;
    if (this.state === 'host-connecting') {
      this.refuse(error.code);
      return;
    }
    // The host side reset or failed: the guest gets a RST.
    this.abort(true);
  }

  private hostClosed(): void {
    this.socket = undefined;
    if (this.state === 'closed' || this.state === 'time-wait') return;
    if (this.state === 'host-connecting') {
      this.refuse('ECONNREFUSED');
      return;
    }
    // Closed without an error. If the host's end was never seen, treat the close as one (the
    // guest gets a FIN after the buffered bytes); data the guest sends from now on has nowhere
    // to go and resets the connection (deliverToHost).
    if (!this.hostEnded) {
      this.hostEnded = true;
      this.output();
    }
  }

  private hostDrained(): void {
    if (this.state !== 'established') return;
    // The host took our buffered bytes: tell the guest the window opened again.
    if (this.lastAdvertisedWindow < RECEIVE_BUFFER / 2) this.sendAcknowledgment();
  }

  private pauseHost(): void {
    if (!this.socketPaused && this.socket) {
      this.socket.pause();
      this.socketPaused = true;
    }
  }

  private resumeHost(): void {
    if (this.socketPaused && this.socket && this.state === 'established' && this.sendBuffer.length < this.link.tuning.sendBufferLimit / 2) {
      this.socketPaused = false;
      this.socket.resume();
    }
  }

  private refuse(code: string | undefined): void {
    // As QEMU's slirp: a refused connect is answered with RST (the guest's connect() fails with
    // ECONNREFUSED), any other failure with ICMP unreachable (EHOSTUNREACH / ENETUNREACH).
    if (code === undefined || code === 'ECONNREFUSED' || !this.synPacket) {
      this.sendSegment(TCP_RST | TCP_ACK, 0, this.receiveNext, 0);
    } else {
      this.link.sendUnreachable(this.synPacket, code === 'ENETUNREACH' ? 0 : 1);
    }
    this.finish();
  }

  // ---- Segments from the guest ----

  segment(segment: TcpSegment): void {
    const flags = segment.flags;
    switch (this.state) {
      case 'closed':
        return;
      case 'host-connecting':
        // A retransmitted SYN while the host connect is pending: ignore (slirp does too).
        if (flags & TCP_RST) {
          this.abort(false);
        }
        return;
      case 'syn-sent':
        this.segmentInSynSent(segment);
        return;
      case 'time-wait':
        // A retransmitted FIN: acknowledge it again.
        if (flags & TCP_FIN) this.sendSegment(TCP_ACK, this.sendNext, this.receiveNext, this.receiveWindow());
        return;
      default:
        break;
    }

    if (flags & TCP_SYN) {
      if (this.state === 'syn-received' && segment.sequence === seqAdd(this.receiveNext, -1) && !(flags & TCP_ACK)) {
        // The guest did not get our SYN-ACK.
        this.sendSynchronize();
        return;
      }
      // A SYN on a synchronized connection (RFC 5961): challenge with an ACK.
      this.sendAcknowledgment();
      return;
    }

    if (!this.acceptable(segment)) {
      if (!(flags & TCP_RST)) this.sendAcknowledgment();
      return;
    }

    if (flags & TCP_RST) {
      this.abort(false);
      return;
    }

    if (!(flags & TCP_ACK)) return;
    if (this.state === 'syn-received') {
      if (!seqGt(segment.acknowledgment, this.sendUnacknowledged) || seqGt(segment.acknowledgment, this.sendMaximum)) {
        this.sendSegment(TCP_RST, segment.acknowledgment, 0, 0);
        return;
      }
      // The acknowledgment of our SYN: the SYN's sequence number is not data.
      this.takeRttSample(segment.acknowledgment);
      this.sendUnacknowledged = seqAdd(this.initialSendSequence, 1);
      this.sendWindowAcknowledgment = this.sendUnacknowledged;
      this.establish();
    }
    if (!this.processAcknowledgment(segment)) return;
    this.processData(segment);
    this.output();
    this.checkFinished();
  }

  private segmentInSynSent(segment: TcpSegment): void {
    const flags = segment.flags;
    const ackValid = (flags & TCP_ACK) !== 0 && segment.acknowledgment === seqAdd(this.initialSendSequence, 1);
    if ((flags & TCP_ACK) && !ackValid) {
      if (!(flags & TCP_RST)) this.sendSegment(TCP_RST, segment.acknowledgment, 0, 0);
      return;
    }
    if (flags & TCP_RST) {
      // The guest refused the forwarded connection.
      if (ackValid) this.abort(false);
      return;
    }
    if (!(flags & TCP_SYN) || !ackValid) return;
    this.receiveFromSyn(segment);
    this.sendUnacknowledged = segment.acknowledgment;
    this.sendNext = segment.acknowledgment;
    this.sendMaximum = segment.acknowledgment;
    this.sendWindowAcknowledgment = segment.acknowledgment;
    this.takeRttSample(segment.acknowledgment);
    this.establish();
    this.sendAcknowledgment();
    this.output();
  }

  private establish(): void {
    this.state = 'established';
    this.retransmissions = 0;
    this.disarm();
    this.resumeHost();
  }

  /** RFC 793's acceptability test against the window we advertised. */
  private acceptable(segment: TcpSegment): boolean {
    const length = segment.dataLength + (segment.flags & TCP_FIN ? 1 : 0);
    const window = Math.max(0, seqDiff(this.receiveAdvertisedEdge, this.receiveNext));
    const offset = seqDiff(segment.sequence, this.receiveNext);
    if (length === 0) return window === 0 ? offset === 0 : offset >= 0 && offset < window;
    if (window === 0) {
      // A zero window still takes a pure FIN or ACK exactly at the edge.
      return offset === 0 && segment.dataLength === 0;
    }
    const last = offset + length - 1;
    return (offset >= 0 && offset < window) || (last >= 0 && last < window);
  }

  /** Returns false when the segment must be dropped. */
  private processAcknowledgment(segment: TcpSegment): boolean {
    const ack = segment.acknowledgment;
    if (seqGt(ack, this.sendMaximum)) {
      // Acknowledges something never sent.
      this.sendAcknowledgment();
      return false;
    }
    const windowChanged = segment.window !== this.sendWindow;
    if (seqLt(this.sendWindowSequence, segment.sequence) ||
        (this.sendWindowSequence === segment.sequence && seqLe(this.sendWindowAcknowledgment, ack))) {
      this.sendWindow = segment.window;
      this.sendWindowSequence = segment.sequence;
      this.sendWindowAcknowledgment = ack;
      if (segment.window > this.maximumSendWindow) this.maximumSendWindow = segment.window;
    }
    if (seqGt(ack, this.sendUnacknowledged)) {
      this.newAcknowledgment(ack);
    } else if (ack === this.sendUnacknowledged && segment.dataLength === 0 && !(segment.flags & TCP_FIN) &&
               !windowChanged && seqGt(this.sendMaximum, this.sendUnacknowledged)) {
      this.duplicateAcknowledgment();
    }
    return true;
  }

  private newAcknowledgment(ack: number): void {
    const acked = seqDiff(ack, this.sendUnacknowledged);
    const dataAcked = Math.min(acked, this.sendBuffer.length);
    // Only the FIN lies beyond the data, so acknowledging more than the data acknowledges it.
    if (this.hostEnded && acked > dataAcked) this.finAcknowledged = true;
    this.sendBuffer.consume(dataAcked);
    this.sendUnacknowledged = ack;
    if (seqLt(this.sendNext, ack)) this.sendNext = ack;
    this.persistBackoff = 1;
    this.takeRttSample(ack);
    this.retransmissions = 0;
    this.duplicateAcks = 0;
    if (this.recoveryPoint !== undefined) {
      if (seqLt(ack, this.recoveryPoint)) {
        // A partial acknowledgment during fast recovery: the next hole is lost too (NewReno).
        this.retransmitFirst();
        this.congestionWindow = Math.max(this.sendMss, this.congestionWindow - dataAcked + this.sendMss);
      } else {
        this.congestionWindow = this.slowStartThreshold;
        this.recoveryPoint = undefined;
      }
    } else if (this.congestionWindow < this.slowStartThreshold) {
      this.congestionWindow += Math.min(dataAcked, this.sendMss);
    } else {
      this.congestionWindow += Math.max(1, Math.floor((this.sendMss * this.sendMss) / this.congestionWindow));
    }
    this.congestionWindow = Math.min(this.congestionWindow, 4 * RECEIVE_BUFFER);
    if (this.sendUnacknowledged === this.sendMaximum) this.disarm();
    else this.arm('retransmit', this.retransmitTimeout);
    this.resumeHost();
  }

  private duplicateAcknowledgment(): void {
    this.duplicateAcks++;
    if (this.duplicateAcks === 3 && this.recoveryPoint === undefined) {
      const flight = seqDiff(this.sendMaximum, this.sendUnacknowledged);
      this.slowStartThreshold = Math.max(Math.floor(flight / 2), 2 * this.sendMss);
      this.congestionWindow = this.slowStartThreshold + 3 * this.sendMss;
      this.recoveryPoint = this.sendMaximum;
      this.retransmitFirst();
    } else if (this.duplicateAcks > 3 && this.recoveryPoint !== undefined) {
      this.congestionWindow += this.sendMss;
    }
  }

  private takeRttSample(ack: number): void {
    if (this.timedSequence === undefined || !seqGt(ack, this.timedSequence)) return;
    const sample = Math.max(0, this.link.now() - this.timedAt);
    this.timedSequence = undefined;
    if (this.smoothedRtt === 0) {
      this.smoothedRtt = sample;
      this.rttVariance = sample / 2;
    } else {
      this.rttVariance = 0.75 * this.rttVariance + 0.25 * Math.abs(this.smoothedRtt - sample);
      this.smoothedRtt = 0.875 * this.smoothedRtt + 0.125 * sample;
    }
    const tuning = this.link.tuning;
    this.retransmitTimeout = Math.min(tuning.maximumRetransmitMs,
      Math.max(tuning.minimumRetransmitMs, this.smoothedRtt + Math.max(1, 4 * this.rttVariance)));
  }

  private processData(segment: TcpSegment): void {
    let sequence = segment.sequence;
    let start = segment.dataOffset;
    let length = segment.dataLength;
    let fin = (segment.flags & TCP_FIN) !== 0;
    if (this.finReceived) {
      // Everything up to the guest's FIN was received: anything more is a retransmission.
      if (length > 0 || fin) this.owe();
      return;
    }
    // Trim what was already received.
    const behind = seqDiff(this.receiveNext, sequence);
    if (behind > 0) {
      if (behind >= length) {
        if (behind > length) fin = false;
        start += length;
        length = 0;
      } else {
        start += behind;
        length -= behind;
      }
      sequence = this.receiveNext;
    }
    // Trim what lies beyond the window.
    const window = Math.max(0, seqDiff(this.receiveAdvertisedEdge, sequence));
    if (length > window) {
      length = window;
      fin = false;
    }
    if (length === 0 && !fin) {
      if (segment.dataLength > 0) this.owe();
      return;
    }
    if (sequence !== this.receiveNext) {
      this.holdOutOfOrder(sequence, segment.frame.slice(start, start + length), fin);
      // A duplicate ACK at once tells the guest what is missing.
      this.sendAcknowledgment();
      return;
    }
    this.deliverToHost(segment.frame.subarray(start, start + length));
    if (fin) this.receiveFin();
    else this.drainOutOfOrder();
    // A FIN was acknowledged at once; data is acknowledged once per delivery round.
    if (!this.finReceived) this.owe();
  }

  private holdOutOfOrder(sequence: number, data: Uint8Array, fin: boolean): void {
    if (this.outOfOrder.some((held) => held.sequence === sequence && held.data.length >= data.length)) return;
    if (this.outOfOrder.length >= OUT_OF_ORDER_LIMIT) return;
    this.outOfOrder.push({ sequence, data, fin });
    this.outOfOrder.sort((a, b) => seqDiff(a.sequence, b.sequence));
    this.outOfOrderBytes += data.length;
  }

  private drainOutOfOrder(): void {
    while (this.outOfOrder.length > 0 && !this.finReceived) {
      const held = this.outOfOrder[0];
      const behind = seqDiff(this.receiveNext, held.sequence);
      if (behind < 0) return;
      this.outOfOrder.shift();
      this.outOfOrderBytes -= held.data.length;
      if (behind < held.data.length) this.deliverToHost(held.data.subarray(behind));
      if (held.fin && behind <= held.data.length) this.receiveFin();
    }
  }

  private deliverToHost(data: Uint8Array): void {
    if (data.length === 0) return;
    this.receiveNext = seqAdd(this.receiveNext, data.length);
    this.link.countHostBytes(data.length, 0);
    const socket = this.socket;
    if (socket && !socket.destroyed && socket.writable) {
      // Copied: the frame belongs to the device and may be reused.
      socket.write(Buffer.from(data));
    } else {
      // The host socket is gone: the guest's data has nowhere to go.
      this.abort(true);
    }
  }

  private receiveFin(): void {
    this.receiveNext = seqAdd(this.receiveNext, 1);
    this.finReceived = true;
    this.outOfOrder.length = 0;
    this.outOfOrderBytes = 0;
    this.socket?.end();
    this.sendAcknowledgment();
  }

  // ---- Sending to the guest ----

  private receiveWindow(): number {
    const queued = this.socket ? this.socket.writableLength : 0;
    const space = Math.max(0, RECEIVE_BUFFER - queued - this.outOfOrderBytes);
    // The right edge never moves left (RFC 7323 2.4 / RFC 793).
    const promised = seqDiff(this.receiveAdvertisedEdge, this.receiveNext);
    return Math.min(RECEIVE_BUFFER, Math.max(space, promised, 0));
  }

  private owe(): void {
    if (!this.acknowledgmentOwed) {
      this.acknowledgmentOwed = true;
      this.link.acknowledgmentPending(this);
    }
  }

  /** Called by the network before frames go to the guest: one ACK for everything received since. */
  flushAcknowledgment(): void {
    if (this.acknowledgmentOwed) this.sendAcknowledgment();
  }

  private sendAcknowledgment(): void {
    if (this.state === 'closed') return;
    this.sendSegment(TCP_ACK, this.sendNext, this.receiveNext, this.receiveWindow());
  }

  private sendSynchronize(): void {
    const flags = this.state === 'syn-sent' ? TCP_SYN : TCP_SYN | TCP_ACK;
    this.sendSegment(flags, this.initialSendSequence, flags & TCP_ACK ? this.receiveNext : 0, this.receiveWindow(), true);
    this.sendNext = seqAdd(this.initialSendSequence, 1);
    this.sendMaximum = this.sendNext;
    if (this.retransmissions === 0) {
      this.timedSequence = this.initialSendSequence;
      this.timedAt = this.link.now();
    }
    this.arm('retransmit', this.retransmitTimeout);
  }

  /** Sends what the guest's window and the congestion window allow, then a FIN once the host ended. */
  private output(): void {
    if (this.state !== 'established') return;
    const dataEnd = this.dataEnd();
    const window = Math.min(this.sendWindow, this.congestionWindow);
    for (;;) {
      const inFlight = seqDiff(this.sendNext, this.sendUnacknowledged);
      const unsent = seqDiff(dataEnd, this.sendNext);
      if (unsent <= 0) break;
      const usable = window - inFlight;
      if (usable <= 0) break;
      const length = Math.min(this.sendMss, unsent, usable);
      // Sender-side silly window avoidance (RFC 1122 4.2.3.4): no small segment while more
      // data waits and something is in flight, unless the guest's window is itself small.
      if (length < this.sendMss && length < unsent && inFlight > 0 && length < this.maximumSendWindow / 2) break;
      this.sendData(this.sendNext, length, length === unsent);
      if (this.sendNext === this.sendMaximum && this.timedSequence === undefined) {
        this.timedSequence = this.sendNext;
        this.timedAt = this.link.now();
      }
      this.sendNext = seqAdd(this.sendNext, length);
      if (seqGt(this.sendNext, this.sendMaximum)) this.sendMaximum = this.sendNext;
    }
    // The FIN goes once every byte before it was sent; it needs no window space.
    if (this.hostEnded && this.sendNext === dataEnd && !this.finAcknowledged) {
      this.sendSegment(TCP_FIN | TCP_ACK, this.sendNext, this.receiveNext, this.receiveWindow());
      this.sendNext = seqAdd(this.sendNext, 1);
      if (seqGt(this.sendNext, this.sendMaximum)) this.sendMaximum = this.sendNext;
    }
    if (seqGt(this.sendMaximum, this.sendUnacknowledged)) {
      if (this.timerKind !== 'retransmit') this.arm('retransmit', this.retransmitTimeout);
    } else if (seqDiff(dataEnd, this.sendNext) > 0 && this.sendWindow === 0) {
      if (this.timerKind !== 'persist') this.arm('persist', this.retransmitTimeout);
    }
  }

  private sendData(sequence: number, length: number, push: boolean): void {
    const frame = this.segmentFrame(TCP_ACK | (push ? TCP_PSH : 0), sequence, this.receiveNext, this.receiveWindow(), length, false);
    this.sendBuffer.copyOut(seqDiff(sequence, this.sendUnacknowledged), length, frame, IPV4_PAYLOAD_OFFSET + TCP_HEADER_LENGTH);
    fillTransportChecksum(frame, 16);
    this.link.sendToGuest(frame, this.endpoints.guestAddress);
  }

  private retransmitFirst(): void {
    const length = Math.min(this.sendMss, this.sendBuffer.length);
    if (length > 0) {
      this.sendData(this.sendUnacknowledged, length, length === this.sendBuffer.length);
    } else if (this.finSent() && !this.finAcknowledged) {
      this.sendSegment(TCP_FIN | TCP_ACK, this.sendUnacknowledged, this.receiveNext, this.receiveWindow());
    }
    // Karn: a retransmitted segment gives no RTT sample.
    this.timedSequence = undefined;
    this.arm('retransmit', this.retransmitTimeout);
  }

  private segmentFrame(flags: number, sequence: number, acknowledgment: number, window: number, dataLength: number, withMss: boolean): Uint8Array {
    const optionsLength = withMss ? 4 : 0;
    const frame = ipv4Frame(this.link.gatewayMac, {
      source: this.endpoints.peerAddress,
      destination: this.endpoints.guestAddress,
      protocol: IP_PROTOCOL_TCP,
      identification: this.link.nextIdentification(),
      dontFragment: true,
    }, TCP_HEADER_LENGTH + optionsLength + dataLength);
    const tcp = IPV4_PAYLOAD_OFFSET;
    writeU16(frame, tcp, this.endpoints.peerPort);
    writeU16(frame, tcp + 2, this.endpoints.guestPort);
    writeU32(frame, tcp + 4, sequence);
    writeU32(frame, tcp + 8, acknowledgment);
    frame[tcp + 12] = ((TCP_HEADER_LENGTH + optionsLength) / 4) << 4;
    frame[tcp + 13] = flags;
    writeU16(frame, tcp + 14, window);
    if (withMss) {
      frame[tcp + 20] = 2;
      frame[tcp + 21] = 4;
      writeU16(frame, tcp + 22, TCP_MSS);
    }
    if (flags & TCP_ACK) {
      this.acknowledgmentOwed = false;
      this.receiveAdvertisedEdge = seqAdd(this.receiveNext, window);
      this.lastAdvertisedWindow = window;
    }
    return frame;
  }

  /** A segment without data (SYN, ACK, FIN, RST); data goes through sendData(). */
  private sendSegment(flags: number, sequence: number, acknowledgment: number, window: number, withMss = false): void {
    const frame = this.segmentFrame(flags, sequence, acknowledgment, window, 0, withMss);
    fillTransportChecksum(frame, 16);
    this.link.sendToGuest(frame, this.endpoints.guestAddress);
  }

  // ---- Timers ----

  private arm(kind: TimerKind, delayMs: number): void {
    const now = this.link.now();
    this.timerKind = kind;
    this.timerDeadline = now + delayMs;
    // Re-arming on every ACK would churn timers; a pending timer that fires early re-arms itself.
    if (this.timer !== undefined && this.timerFiresAt <= this.timerDeadline) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerFiresAt = this.timerDeadline;
    this.timer = setTimeout(() => this.timerFired(), Math.max(1, Math.ceil(delayMs)));
  }

  private disarm(): void {
    this.timerKind = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private timerFired(): void {
    this.timer = undefined;
    const kind = this.timerKind;
    if (kind === undefined || this.state === 'closed') return;
    const remaining = this.timerDeadline - this.link.now();
    if (remaining > 0.5) {
      this.timerFiresAt = this.timerDeadline;
      this.timer = setTimeout(() => this.timerFired(), Math.ceil(remaining));
      return;
    }
    this.timerKind = undefined;
    switch (kind) {
      case 'connect':
        if (this.state === 'host-connecting') this.refuse('ETIMEDOUT');
        return;
      case 'time-wait':
        this.finish();
        return;
      case 'persist':
        // Zero-window probe: an ACK one below the edge makes the guest state its window.
        if (this.sendWindow === 0 && this.sendBuffer.length > seqDiff(this.sendNext, this.sendUnacknowledged)) {
          this.sendSegment(TCP_ACK, seqAdd(this.sendUnacknowledged, -1), this.receiveNext, this.receiveWindow());
          this.persistBackoff = Math.min(this.persistBackoff * 2, 64);
          this.arm('persist', Math.min(this.link.tuning.maximumRetransmitMs, this.retransmitTimeout * this.persistBackoff));
        } else {
          this.output();
        }
        return;
      case 'retransmit':
        this.retransmitTimedOut();
        return;
    }
  }

  private retransmitTimedOut(): void {
    const tuning = this.link.tuning;
    this.retransmissions++;
    const synchronizing = this.state === 'syn-sent' || this.state === 'syn-received';
    if (this.retransmissions > (synchronizing ? tuning.maximumSynRetransmissions : tuning.maximumRetransmissions)) {
      this.abort(true);
      return;
    }
    this.retransmitTimeout = Math.min(tuning.maximumRetransmitMs, this.retransmitTimeout * 2);
    this.timedSequence = undefined;
    if (synchronizing) {
      this.sendSynchronize();
      return;
    }
    if (this.state !== 'established' || !seqGt(this.sendMaximum, this.sendUnacknowledged)) return;
    // Go back to the first unacknowledged byte and start slowly (RFC 5681 3.1).
    const flight = seqDiff(this.sendMaximum, this.sendUnacknowledged);
    this.slowStartThreshold = Math.max(Math.floor(flight / 2), 2 * this.sendMss);
    this.congestionWindow = this.sendMss;
    this.recoveryPoint = undefined;
    this.duplicateAcks = 0;
    this.sendNext = this.sendUnacknowledged;
    this.retransmitFirstAfterTimeout();
  }

  private retransmitFirstAfterTimeout(): void {
    // output() resends from sendUnacknowledged; with an empty window the first byte is still
    // resent (a window probe that carries data), so a guest that lost it can acknowledge.
    const before = this.sendNext;
    this.output();
    if (this.sendNext === before) {
      const length = Math.min(this.sendMss, this.sendBuffer.length);
      if (length > 0) {
        this.sendData(this.sendUnacknowledged, length, length === this.sendBuffer.length);
        this.sendNext = seqAdd(this.sendUnacknowledged, length);
      } else if (this.hostEnded && !this.finAcknowledged) {
        this.sendSegment(TCP_FIN | TCP_ACK, this.sendUnacknowledged, this.receiveNext, this.receiveWindow());
        this.sendNext = seqAdd(this.sendUnacknowledged, 1);
      }
    }
    this.arm('retransmit', this.retransmitTimeout);
  }

  // ---- Closing ----

  private checkFinished(): void {
    if (this.state === 'established' && this.finReceived && this.finAcknowledged) {
      this.state = 'time-wait';
      this.releaseSocket(false);
      this.arm('time-wait', this.link.tuning.timeWaitMs);
    }
  }

  /** Resets the connection: RST to the guest (when `notifyGuest`) and to the host. */
  abort(notifyGuest: boolean): void {
    if (this.state === 'closed') return;
    if (notifyGuest && this.state !== 'host-connecting' && this.state !== 'time-wait') {
      this.sendSegment(TCP_RST | TCP_ACK, this.sendNext, this.receiveNext, 0);
    }
    this.releaseSocket(true);
    this.finish();
  }

  private releaseSocket(reset: boolean): void {
    const socket = this.socket;
    if (!socket) return;
    if (reset) {
      this.socket = undefined;
      if (!socket.destroyed) {
        if (typeof socket.resetAndDestroy === 'function' && !socket.connecting) socket.resetAndDestroy();
        else socket.destroy();
      }
    }
    // Otherwise both directions ended: node closes the socket once its writes are flushed.
  }

  private finish(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.disarm();
    const socket = this.socket;
    if (socket && !socket.destroyed && !(this.hostEnded && this.finReceived)) socket.destroy();
    this.sendBuffer.clear();
    this.outOfOrder.length = 0;
    this.link.connectionClosed(this);
  }

  /** Closes at once without telling the guest (the network is shutting down). */
  destroy(): void {
    this.state = 'closed';
    this.disarm();
    this.socket?.destroy();
    this.socket = undefined;
  }
}

export function tcpKey(guestAddress: number, guestPort: number, peerAddress: number, peerPort: number): string {
  return `${guestAddress}:${guestPort}>${peerAddress}:${peerPort}`;
}
