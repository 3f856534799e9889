// Attaching to a machine that `ringside run --debug-port PORT` runs. The CLI loads
// dist/debugAdapter.js and calls `startDebugServer` with its machine (vmm-core/debug/remote.ts
// is the whole interface): each connection gets a RingsideSession on that machine. A client
// talking to a separate adapter (stdio) attaches with `port`: that adapter then forwards the
// session to the machine's server (AttachProxy), so both ways reach the same running machine.

import { connect, createServer, type Socket } from 'node:net';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DebugHost, DebugServer } from '../vmm-core/debug/remote';
import { RequestError, RingsideSession } from './session';

/** Serves DAP on `port` (0: any free port) for the machine of `host`. */
export function startDebugServer(host: DebugHost, port: number, address = '127.0.0.1'): Promise<DebugServer> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      // Small request/answer writes: no Nagle delay (about 40 ms per answer on Linux).
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      const session = new RingsideSession({ host });
      session.setRunAsServer(true);
      session.start(socket, socket);
      socket.on('error', () => socket.destroy());
    });
    server.on('error', reject);
    server.listen(port, address, () => {
      const bound = server.address();
      resolve({
        port: typeof bound === 'object' && bound !== null ? bound.port : port,
        // The run is over: drop debuggers still connected so the process can end.
        close: () => {
          server.close();
          for (const socket of sockets) socket.destroy();
        },
      });
    });
  });
}

/** Reads Content-Length framed DAP messages from a stream. */
class MessageReader {
  private buffer = Buffer.alloc(0);

  constructor(private readonly onMessage: (message: DebugProtocol.ProtocolMessage) => void) {}

  push(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const length = /Content-Length: *([0-9]+)/i.exec(this.buffer.subarray(0, headerEnd).toString('ascii'));
      if (length === null) {
        this.buffer = this.buffer.subarray(headerEnd + 4);
        continue;
      }
      const total = headerEnd + 4 + Number(length[1]);
      if (this.buffer.length < total) return;
      const body = this.buffer.subarray(headerEnd + 4, total).toString('utf8');
      this.buffer = this.buffer.subarray(total);
      try {
        this.onMessage(JSON.parse(body) as DebugProtocol.ProtocolMessage);
      } catch {
        // A malformed message from the remote side is dropped.
      }
    }
  }
}

const INITIALIZE_SEQUENCE = 1_000_000_000;

export class AttachProxy {
  private closed = false;

  private constructor(private readonly session: RingsideSession, private readonly socket: Socket) {}

  /** Connects and initializes the remote adapter; its answer to initialize is ours already. */
  static connect(session: RingsideSession, host: string, port: number, initialize: DebugProtocol.InitializeRequestArguments): Promise<AttachProxy> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      socket.setNoDelay(true);
      let proxy: AttachProxy | undefined;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RequestError(`no answer from the machine at ${host}:${port} within 5 s`));
      }, 5000);
      const reader = new MessageReader((message) => {
        if (proxy === undefined) {
          const response = message as DebugProtocol.Response;
          if (response.type === 'response' && response.request_seq === INITIALIZE_SEQUENCE) {
            clearTimeout(timer);
            proxy = new AttachProxy(session, socket);
            resolve(proxy);
          }
          return;
        }
        proxy.receive(message);
      });
      socket.on('data', (data: Buffer) => reader.push(data));
      socket.on('error', (error) => {
        clearTimeout(timer);
        if (proxy === undefined) reject(new RequestError(`cannot attach to ${host}:${port}: ${error.message} (is \`ringside run --debug-port ${port}\` running?)`));
      });
      socket.on('close', () => proxy?.remoteClosed());
      socket.on('connect', () => {
        AttachProxy.write(socket, { seq: INITIALIZE_SEQUENCE, type: 'request', command: 'initialize', arguments: initialize } as DebugProtocol.InitializeRequest);
      });
    });
  }

  private static write(socket: Socket, message: DebugProtocol.ProtocolMessage): void {
    const json = JSON.stringify(message);
    socket.write(`Content-Length: ${Buffer.byteLength(json, 'utf8')}\r\n\r\n${json}`, 'utf8');
  }

  /** A request from the client goes to the machine's adapter unchanged. */
  forward(request: DebugProtocol.Request): void {
    if (this.closed) {
      const response: DebugProtocol.Response = { seq: 0, type: 'response', request_seq: request.seq, command: request.command, success: false, message: 'the attached machine has gone away' };
      this.session.sendResponse(response);
      return;
    }
    AttachProxy.write(this.socket, request);
  }

  private receive(message: DebugProtocol.ProtocolMessage): void {
    if (message.type === 'response') {
      this.session.sendResponse({ ...(message as DebugProtocol.Response), seq: 0 });
    } else if (message.type === 'event') {
      this.session.sendEvent(message as DebugProtocol.Event);
    } else if (message.type === 'request') {
      // Reverse requests (runInTerminal, ...) go to the client; its answer goes back.
      const request = message as DebugProtocol.Request;
      this.session.sendRequest(request.command, request.arguments, 30_000, (response) => {
        AttachProxy.write(this.socket, { ...response, seq: 0, request_seq: request.seq } as DebugProtocol.Response);
      });
    }
  }

  private remoteClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.sendEvent({ seq: 0, type: 'event', event: 'terminated', body: {} } as DebugProtocol.TerminatedEvent);
  }

  close(): void {
    this.closed = true;
    this.socket.end();
  }
}
