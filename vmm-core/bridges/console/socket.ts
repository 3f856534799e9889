// The guest console on a listening socket (TCP on a host address, or a Unix socket): one
// client at a time, the next one once it has gone ("many clients in turn"). Output while no
// client is connected is kept, bounded, and sent to the next client, so connecting late still
// shows the boot log. A client that reads too slowly loses output rather than stalling the guest.

import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { BridgeError, type ConsoleBackend } from '../types';
import { ConsoleInputQueue } from './input-queue';

/** Output kept while nobody is connected (the newest bytes win). */
export const CONSOLE_BACKLOG_LIMIT = 64 * 1024;
/** Output queued on a slow client's socket beyond which more output is dropped. */
export const CONSOLE_CLIENT_BUFFER_LIMIT = 1024 * 1024;

export type SocketConsoleAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export class SocketConsole implements ConsoleBackend {
  private readonly server: Server;
  private client: Socket | null = null;
  private backlog: Uint8Array[] = [];
  private backlogBytes = 0;
  private readonly queue: ConsoleInputQueue;
  private closed = false;
  /** Bytes dropped because a client could not keep up. */
  droppedBytes = 0;
  clientsServed = 0;

  private constructor(readonly address: SocketConsoleAddress, server: Server) {
    this.server = server;
    this.queue = new ConsoleInputQueue(() => this.client?.pause(), () => this.client?.resume());
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens (port 0: any free port, see `port`); rejects with a BridgeError naming the address. */
  static async listen(address: SocketConsoleAddress): Promise<SocketConsole> {
    const server = createServer();
    if (address.kind === 'unix' && existsSync(address.path)) {
      // A socket left behind by a run that was killed is replaced; any other file is not ours to remove.
      if (!lstatSync(address.path).isSocket()) throw new BridgeError(`console socket ${address.path}: a file that is not a socket is in the way`);
      unlinkSync(address.path);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(new BridgeError(
        `cannot listen for the console on ${describe(address)}: ${error.code === 'EADDRINUSE' ? 'address in use' : error.message}`)));
      if (address.kind === 'tcp') server.listen(address.port, address.host, () => resolve());
      else server.listen(address.path, () => resolve());
    });
    server.removeAllListeners('error');
    server.on('error', () => {});
    return new SocketConsole(address, server);
  }

  /** The port actually listened on (TCP). */
  get port(): number {
    const bound = this.server.address();
    return typeof bound === 'object' && bound !== null ? bound.port : 0;
  }

  get description(): string {
    return this.address.kind === 'tcp' ? `tcp:${this.address.host}:${this.port}` : `unix:${this.address.path}`;
  }

  get inputOpen(): boolean {
    return !this.closed;
  }

  /** True while a client is connected. */
  get connected(): boolean {
    return this.client !== null;
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    if (this.client !== null) {
      socket.end('ringside: the console is in use by another client\r\n');
      return;
    }
    this.client = socket;
    this.clientsServed++;
    socket.setNoDelay?.(true);
    for (const chunk of this.backlog) socket.write(chunk);
    this.backlog = [];
    this.backlogBytes = 0;
    socket.on('data', (chunk: Buffer) => this.queue.push(new Uint8Array(chunk)));
    const gone = (): void => {
      if (this.client === socket) this.client = null;
    };
    socket.on('close', gone);
    socket.on('error', gone);
  }

  write(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    const client = this.client;
    if (client !== null) {
      if (client.writableLength > CONSOLE_CLIENT_BUFFER_LIMIT) this.droppedBytes += bytes.length;
      else client.write(bytes.slice());
      return;
    }
    this.backlog.push(bytes.slice());
    this.backlogBytes += bytes.length;
    while (this.backlogBytes > CONSOLE_BACKLOG_LIMIT && this.backlog.length > 0) {
      const excess = this.backlogBytes - CONSOLE_BACKLOG_LIMIT;
      const head = this.backlog[0];
      if (head.length <= excess) {
        this.backlog.shift();
        this.backlogBytes -= head.length;
      } else {
        this.backlog[0] = head.subarray(excess);
        this.backlogBytes -= excess;
      }
    }
  }

  setReceiver(receiver: ((bytes: Uint8Array) => number) | null): void {
    this.queue.setReceiver(receiver);
  }

  setInputClosedListener(): void {
    // A listening socket stays open for the next client until the run ends.
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.close();
    this.client?.end();
    this.client?.destroy();
    this.server.close();
    if (this.address.kind === 'unix') {
      try {
        unlinkSync(this.address.path);
      } catch {
        // Already gone.
      }
    }
  }
}

function describe(address: SocketConsoleAddress): string {
  return address.kind === 'tcp' ? `${address.host}:${address.port}` : address.path;
}
