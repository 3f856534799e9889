// QEMU's `-netdev dgram`: an Ethernet link over UDP, one frame per datagram, sent from a local
// address to a remote one. Two Ringside machines, or Ringside and QEMU, each naming the other as
// remote, share a link. Unix datagram sockets and multicast groups (QEMU's other dgram forms)
// are not available here: node:dgram has no Unix datagram sockets, and multicast is not
// implemented.

import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import { BridgeError, type NetBackend } from '../types';
import { NetCounters, type NetCountersSnapshot } from './counters';
import { ETHERNET_HEADER_LENGTH } from './packet';

/** The largest UDP payload over IPv4. */
export const DGRAM_MAXIMUM_FRAME = 65507;
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

export interface InetAddress {
  host: string;
  port: number;
}

export interface DgramNetworkOptions {
  local: InetAddress;
  remote: InetAddress;
}

export class DgramNetwork implements NetBackend {
  readonly description: string;
  /** Resolves once the local socket is bound; rejects with BridgeError when it cannot be. */
  readonly ready: Promise<void>;
  private readonly counters = new NetCounters();
  private readonly socket: dgram.Socket;
  private receiver: ((frame: Uint8Array) => boolean) | null = null;
  private closed = false;
  private bound = false;
  private localPort: number;
  /** The remote's address as the socket reports senders ("127.0.0.1"), resolved once bound. */
  private remoteHost: string;

  constructor(private readonly options: DgramNetworkOptions) {
    this.description = `dgram ${options.local.host}:${options.local.port} -> ${options.remote.host}:${options.remote.port}`;
    this.localPort = options.local.port;
    this.remoteHost = options.remote.host;
    const family = isIP(options.local.host) === 6 ? 'udp6' : 'udp4';
    this.socket = dgram.createSocket(family);
    this.socket.on('message', (message: Buffer, sender: dgram.RemoteInfo) => this.message(message, sender));
    this.ready = new Promise<void>((resolve, reject) => {
      this.socket.once('error', (error) => reject(new BridgeError(`${this.description}: cannot bind: ${error.message}`)));
      this.socket.bind({ address: options.local.host, port: options.local.port }, () => {
        this.bound = true;
        // A burst of frames must not overflow a small default receive buffer (the kernel may cap this).
        try {
          this.socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
        } catch {
          // Keep the system's size.
        }
        this.localPort = this.socket.address().port;
        this.socket.on('error', () => this.counters.drop('link-down', 'dgram-socket-error'));
        resolve();
      });
    });
    this.ready.catch(() => {});
  }

  static async open(options: DgramNetworkOptions): Promise<DgramNetwork> {
    const network = new DgramNetwork(options);
    try {
      await network.ready;
    } catch (error) {
      network.close();
      throw error;
    }
    return network;
  }

  /** The local port, the real one when port 0 was asked for (after `ready`). */
  get port(): number {
    return this.localPort;
  }

  /** Changes where frames go (a test pairs two port-0 sockets this way). */
  setRemote(remote: InetAddress): void {
    this.options.remote = remote;
    this.remoteHost = remote.host;
  }

  counterSnapshot(): NetCountersSnapshot {
    return this.counters.snapshot();
  }

  setReceiver(receiver: ((frame: Uint8Array) => boolean) | null): void {
    this.receiver = receiver;
  }

  send(frame: Uint8Array): void {
    this.counters.fromGuest(frame);
    if (this.closed || !this.bound) {
      this.counters.drop('link-down', 'dgram-not-bound');
      return;
    }
    if (frame.length < ETHERNET_HEADER_LENGTH || frame.length > DGRAM_MAXIMUM_FRAME) {
      this.counters.drop('malformed', 'dgram-bad-frame-length');
      return;
    }
    this.socket.send(Buffer.from(frame), this.options.remote.port, this.options.remote.host, (error) => {
      if (error) this.counters.drop('link-down', 'dgram-send-failed');
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver = null;
    try {
      this.socket.close();
    } catch {
      // Never bound: nothing to close.
    }
  }

  private message(message: Buffer, sender: dgram.RemoteInfo): void {
    if (this.closed) return;
    // Only the named remote is a member of this link.
    if (sender.port !== this.options.remote.port || !sameHost(sender.address, this.remoteHost)) {
      this.counters.drop('policy', 'dgram-unknown-sender');
      return;
    }
    if (message.length < ETHERNET_HEADER_LENGTH) {
      this.counters.drop('malformed', 'dgram-runt-frame');
      return;
    }
    const receiver = this.receiver;
    if (!receiver) {
      this.counters.drop('link-down', 'no-receiver');
      return;
    }
    const frame = new Uint8Array(message);
    if (receiver(frame)) this.counters.toGuest(frame);
    else this.counters.drop('no-buffer', 'guest-no-rx-buffer');
  }
}

function sameHost(reported: string, configured: string): boolean {
  if (reported === configured) return true;
  const plain = reported.replace(/^::ffff:/, '');
  if (plain === configured) return true;
  return configured === 'localhost' && (plain === '127.0.0.1' || plain === '::1');
}
