// debug-adapter/worker: running a debug session off the caller's thread. `WorkerDebugAdapter`
// lives on the extension host's thread and has the shape VS Code's
// `DebugAdapterInlineImplementation` accepts; the `RingsideSession` and its machine live in a
// `worker_threads` worker (dist/adapterWorker.js, entry adapter-worker.ts). DAP messages go
// both ways by postMessage; after posting a message the host raises a shared attention word
// with `Atomics`, which the machine reads at every slice boundary, so a pause arriving in the
// middle of a long run is served within a quantum. Nothing here imports vscode.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DebugProtocol } from '@vscode/debugprotocol';

/** What a listener of `onDidSendMessage` gets back: call `dispose` to stop listening. */
export interface ListenerRegistration {
  dispose(): void;
}

/** The structural twin of vscode.DebugAdapter (no vscode import in debug-adapter). */
export interface InlineDebugAdapter extends ListenerRegistration {
  onDidSendMessage(listener: (message: DebugProtocol.ProtocolMessage) => unknown, thisArgs?: unknown, disposables?: ListenerRegistration[]): ListenerRegistration;
  handleMessage(message: unknown): void;
}

/** What the worker is started with (adapter-worker.ts reads it from workerData). */
export interface AdapterWorkerData {
  /** One Int32 word: nonzero while a message waits for the worker. */
  readonly attention: SharedArrayBuffer;
}

export interface WorkerDebugAdapterOptions {
  /** The worker bundle; by default adapterWorker.js beside the bundle this code is in (dist/). */
  readonly workerScript?: string;
}

/** The file name of the worker bundle in dist/ (scripts/build.mjs). */
export const ADAPTER_WORKER_BUNDLE = 'adapterWorker.js';

/** How long a disposed worker has to disconnect by itself before it is terminated. */
const DISPOSE_GRACE_MILLISECONDS = 2000;

type Listener = (message: DebugProtocol.ProtocolMessage) => unknown;

export class WorkerDebugAdapter implements InlineDebugAdapter {
  private readonly worker: Worker;
  private readonly attention: Int32Array;
  private readonly listeners = new Set<Listener>();
  /** Requests sent to the worker and not yet answered: answered here if the worker dies. */
  private readonly pending = new Map<number, string>();
  private ended = false;
  private disposed = false;
  /** Resolves with the worker's exit code once its thread has ended. */
  readonly exited: Promise<number>;

  constructor(options: WorkerDebugAdapterOptions = {}) {
    const script = options.workerScript ?? join(__dirname, ADAPTER_WORKER_BUNDLE);
    if (!existsSync(script)) {
      throw new Error(`the Ringside debug adapter worker ${script} is missing; build it with 'npm run build'`);
    }
    const attentionBuffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    this.attention = new Int32Array(attentionBuffer);
    const workerData: AdapterWorkerData = { attention: attentionBuffer };
    this.worker = new Worker(script, { workerData });
    this.worker.on('message', (message: DebugProtocol.ProtocolMessage) => this.fromWorker(message));
    this.worker.on('error', (error: Error) => {
      this.workerEnded(`the debug adapter worker failed: ${error.message}`);
    });
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        if (!this.disposed) this.workerEnded(code === 0 ? undefined : `the debug adapter worker exited with code ${code}`);
        resolve(code);
      });
    });
  }

  onDidSendMessage(listener: Listener, thisArgs?: unknown, disposables?: ListenerRegistration[]): ListenerRegistration {
    const bound: Listener = thisArgs === undefined ? listener : listener.bind(thisArgs);
    this.listeners.add(bound);
    const registration = { dispose: () => void this.listeners.delete(bound) };
    disposables?.push(registration);
    return registration;
  }

  /** A message from the client (VS Code): checked here, then posted to the worker. */
  handleMessage(message: unknown): void {
    const problem = malformation(message);
    if (problem !== undefined) {
      this.answerHere(message, `malformed DAP message: ${problem}`);
      return;
    }
    const protocolMessage = message as DebugProtocol.ProtocolMessage;
    if (this.ended) {
      if (protocolMessage.type !== 'request') return;
      const request = protocolMessage as DebugProtocol.Request;
      // The workbench still asks for threads of a session it is closing: none, quietly. Disconnecting
      // from a session that has ended already succeeds: there is nothing left to end.
      if (request.command === 'threads') {
        const response: DebugProtocol.ThreadsResponse = { seq: 0, type: 'response', request_seq: request.seq, command: 'threads', success: true, body: { threads: [] } };
        this.emit(response);
      } else if (request.command === 'disconnect') {
        const response: DebugProtocol.DisconnectResponse = { seq: 0, type: 'response', request_seq: request.seq, command: 'disconnect', success: true };
        this.emit(response);
      } else {
        this.answerHere(message, 'the debug session has ended');
      }
      return;
    }
    try {
      this.worker.postMessage(protocolMessage);
    } catch (error) {
      this.answerHere(message, `malformed DAP message: ${(error as Error).message}`);
      return;
    }
    if (protocolMessage.type === 'request') this.pending.set(protocolMessage.seq, (protocolMessage as DebugProtocol.Request).command);
    // Raised after posting: when the worker sees the word, the message is already in its queue.
    Atomics.store(this.attention, 0, 1);
  }

  /**
   * Ends the session: a worker still serving gets a disconnect (so its machine flushes and
   * releases disks and sockets) and a moment to end itself, then is terminated.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.listeners.clear();
    if (this.ended) {
      void this.worker.terminate();
      return;
    }
    this.ended = true;
    const terminate = setTimeout(() => void this.worker.terminate(), DISPOSE_GRACE_MILLISECONDS);
    void this.exited.then(() => clearTimeout(terminate));
    try {
      this.worker.postMessage({ seq: 0, type: 'request', command: 'disconnect', arguments: { terminateDebuggee: true } });
      Atomics.store(this.attention, 0, 1);
    } catch {
      void this.worker.terminate();
    }
  }

  private fromWorker(message: DebugProtocol.ProtocolMessage): void {
    if (message.type === 'response') this.pending.delete((message as DebugProtocol.Response).request_seq);
    this.emit(message);
  }

  private emit(message: DebugProtocol.ProtocolMessage): void {
    for (const listener of [...this.listeners]) listener(message);
  }

  /** The worker is gone: every open request gets an error, the client hears the session ended. */
  private workerEnded(problem: string | undefined): void {
    if (this.ended) return;
    this.ended = true;
    for (const [seq, command] of this.pending) {
      this.emit(errorResponse(seq, command, problem ?? 'the debug session has ended'));
    }
    this.pending.clear();
    if (problem !== undefined) {
      this.emit({ seq: 0, type: 'event', event: 'output', body: { category: 'stderr', output: `Ringside: ${problem}\n` } } as DebugProtocol.OutputEvent);
      this.emit({ seq: 0, type: 'event', event: 'terminated', body: {} } as DebugProtocol.TerminatedEvent);
    }
  }

  /** An error response made on this thread (a message that never reached the worker). */
  private answerHere(message: unknown, text: string): void {
    const record = typeof message === 'object' && message !== null ? message as Record<string, unknown> : {};
    if (record.type === 'response' || record.type === 'event') return;
    const seq = typeof record.seq === 'number' ? record.seq : 0;
    const command = typeof record.command === 'string' ? record.command : 'unknown';
    this.emit(errorResponse(seq, command, text));
  }
}

function errorResponse(requestSeq: number, command: string, text: string): DebugProtocol.ErrorResponse {
  return {
    seq: 0, type: 'response', request_seq: requestSeq, command, success: false, message: text,
    body: { error: { id: 1001, format: text.replace(/[{}]/g, ''), showUser: false } },
  };
}

/** Why `message` is not a DAP request or response, or undefined when it is one. */
function malformation(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return 'not an object';
  const record = message as Record<string, unknown>;
  if (typeof record.seq !== 'number' || !Number.isInteger(record.seq)) return "'seq' must be an integer";
  if (record.type === 'request') {
    if (typeof record.command !== 'string' || record.command.length === 0) return "a request needs a 'command' string";
    if (record.arguments !== undefined && (typeof record.arguments !== 'object' || record.arguments === null)) {
      return `'${record.command}' arguments must be an object`;
    }
    return undefined;
  }
  if (record.type === 'response') {
    if (typeof record.request_seq !== 'number') return "a response needs 'request_seq'";
    return undefined;
  }
  return `'type' must be 'request' or 'response', got ${JSON.stringify(record.type)}`;
}
