// QEMU's `-netdev stream`: an Ethernet link carried over a TCP or Unix stream socket, each
// frame preceded by its length as a 4-byte big-endian number (QEMU's "socket" framing, which
// passt speaks too). One end listens (server=on), the other connects; a listening end serves
// one peer at a time. With it a Ringside machine shares a link with another Ringside machine,
// a QEMU machine or passt.

import * as net from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import { BridgeError, type NetBackend } from '../types';
import { NetCounters, type NetCountersSnapshot } from './counters';
import { ETHERNET_HEADER_LENGTH } from './packet';

/** QEMU's NET_BUFSIZE (4096 + 65536): longer frames are refused by QEMU as well. */
export const STREAM_MAXIMUM_FRAME = 69632;
/** Bytes queued towards a slow peer before frames are dropped instead. */
const WRITE_QUEUE_LIMIT = 4 * 1024 * 1024;

export type SocketAddress =
  | { type: 'inet'; host: string; port: number }
  | { type: 'unix'; path: string };

export interface StreamNetworkOptions {
  /** Listen (QEMU's server=on) or connect (server=off). */
  server: boolean;
  address: SocketAddress;
  /** Client only: after a failed or lost connection, try again after this long (QEMU's reconnect=). */
  reconnectMs?: number;
}

export function describeSocketAddress(address: SocketAddress): string {
  return address.type === 'inet' ? `${address.host}:${address.port}` : `unix:${address.path.replace(/\0/g, '@')}`;
}

/** Splits a byte stream into length-prefixed frames. */
export class StreamFrameReader {
  private pending: Buffer = Buffer.alloc(0);

  /**
   * Feeds bytes; calls `frame` for each complete frame. Returns false (and stops) at a length
   * of 0 or above STREAM_MAXIMUM_FRAME: the stream is out of step and the connection must go.
   */
  push(chunk: Buffer, frame: (bytes: Uint8Array) => void): boolean {
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (data.length - at >= 4) {
      const length = data.readUInt32BE(at);
      if (length === 0 || length > STREAM_MAXIMUM_FRAME) {
        this.pending = Buffer.alloc(0);
        return false;
      }
      if (data.length - at - 4 < length) break;
      // A copy, so the frame does not pin the socket's read buffer.
      frame(new Uint8Array(data.subarray(at + 4, at + 4 + length)));
      at += 4 + length;
    }
    this.pending = at === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(at));
    return true;
  }

  reset(): void {
    this.pending = Buffer.alloc(0);
  }
}

export class StreamNetwork implements NetBackend {
  readonly description: string;
  /**
   * Server: resolves once listening. Client: resolves once connected, or at the first failure
   * when reconnecting is on; rejects with BridgeError when a client without reconnect cannot
   * connect or a server cannot listen.
   */
  readonly ready: Promise<void>;
  private readonly counters = new NetCounters();
  private readonly reader = new StreamFrameReader();
  private receiver: ((frame: Uint8Array) => boolean) | null = null;
  private server: net.Server | undefined;
  private peer: net.Socket | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private boundAddress: SocketAddress;
  private connections = 0;

  constructor(private readonly options: StreamNetworkOptions) {
    this.boundAddress = options.address;
    this.description = `stream ${options.server ? 'server' : 'client'} ${describeSocketAddress(options.address)}`;
    this.ready = options.server ? this.listen() : this.connect();
    this.ready.catch(() => {});
  }

  static async open(options: StreamNetworkOptions): Promise<StreamNetwork> {
    const network = new StreamNetwork(options);
    try {
      await network.ready;
    } catch (error) {
      network.close();
      throw error;
    }
    return network;
  }

  /** True while a peer is connected. */
  get connected(): boolean {
    return this.peer !== undefined;
  }

  /** The address listened on, with the real port when port 0 was asked for. */
  get address(): SocketAddress {
    return this.boundAddress;
  }

  /** Peers connected so far (a reconnecting client or a server counts each). */
  get connectionCount(): number {
    return this.connections;
  }

  counterSnapshot(): NetCountersSnapshot {
    return this.counters.snapshot();
  }

  setReceiver(receiver: ((frame: Uint8Array) => boolean) | null): void {
    this.receiver = receiver;
  }

  send(frame: Uint8Array): void {
    this.counters.fromGuest(frame);
    const peer = this.peer;
    if (!peer || this.closed) {
      this.counters.drop('link-down', 'stream-not-connected');
      return;
    }
    if (frame.length === 0 || frame.length > STREAM_MAXIMUM_FRAME) {
      this.counters.drop('malformed', 'stream-bad-frame-length');
      return;
    }
    if (peer.writableLength > WRITE_QUEUE_LIMIT) {
      this.counters.drop('queue-full', 'stream-peer-slow');
      return;
    }
    const record = Buffer.allocUnsafe(4 + frame.length);
    record.writeUInt32BE(frame.length, 0);
    record.set(frame, 4);
    peer.write(record);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.peer?.destroy();
    this.peer = undefined;
    this.server?.close();
    this.server = undefined;
    this.receiver = null;
  }

  private listenOptions(): net.ListenOptions {
    const address = this.options.address;
    return address.type === 'inet' ? { host: address.host, port: address.port } : { path: address.path };
  }

  private listen(): Promise<void> {
    const address = this.options.address;
    if (address.type === 'unix' && !address.path.startsWith('\0')) {
      // A socket file left by a previous run would make listen() fail; QEMU removes it too.
      // Only a socket is removed, never a regular file someone named by mistake.
      try {
        if (lstatSync(address.path).isSocket()) unlinkSync(address.path);
      } catch {
        // Not there: nothing to remove.
      }
    }
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new BridgeError(`${this.description}: cannot listen: ${error.message}`)));
      server.listen(this.listenOptions(), () => {
        const bound = server.address();
        if (bound && typeof bound === 'object' && this.options.address.type === 'inet') {
          this.boundAddress = { type: 'inet', host: this.options.address.host, port: bound.port };
        }
        server.on('error', () => this.counters.drop('link-down', 'stream-server-error'));
        resolve();
      });
    });
  }

  private accept(socket: net.Socket): void {
    if (this.closed || this.peer) {
      // One peer at a time, as QEMU's stream server.
      this.counters.drop('policy', 'stream-second-peer-refused');
      socket.destroy();
      return;
    }
    this.attach(socket);
  }

  private connect(): Promise<void> {
    const address = this.options.address;
    const socket = address.type === 'inet' ? net.connect({ host: address.host, port: address.port }) : net.connect({ path: address.path });
    return new Promise<void>((resolve, reject) => {
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        this.attach(socket);
        resolve();
      });
      socket.once('error', (error) => {
        socket.destroy();
        if (this.options.reconnectMs !== undefined && this.options.reconnectMs > 0) {
          this.scheduleReconnect();
          resolve();
        } else {
          reject(new BridgeError(`${this.description}: cannot connect: ${error.message}`));
        }
      });
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closed && !this.peer) void this.connect().catch(() => {});
    }, this.options.reconnectMs);
  }

  private attach(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.peer = socket;
    this.connections++;
    this.reader.reset();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.peer !== socket) return;
      const inStep = this.reader.push(chunk, (frame) => this.deliver(frame));
      if (!inStep) {
        this.counters.drop('malformed', 'stream-bad-length');
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.peer !== socket) return;
      this.peer = undefined;
      this.reader.reset();
      if (!this.options.server && !this.closed && this.options.reconnectMs) this.scheduleReconnect();
    });
  }

  private deliver(frame: Uint8Array): void {
    if (this.closed) return;
    if (frame.length < ETHERNET_HEADER_LENGTH) {
      this.counters.drop('malformed', 'stream-runt-frame');
      return;
    }
    const receiver = this.receiver;
    if (!receiver) {
      this.counters.drop('link-down', 'no-receiver');
      return;
    }
    if (receiver(frame)) this.counters.toGuest(frame);
    else this.counters.drop('no-buffer', 'guest-no-rx-buffer');
  }
}
