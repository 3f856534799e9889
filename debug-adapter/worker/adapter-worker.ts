// Entry of dist/adapterWorker.js: the worker thread side of WorkerDebugAdapter. One
// RingsideSession (and the machine it launches) per worker; DAP messages arrive and leave by
// postMessage. The session's run loop watches the shared attention word the host raises after
// posting a message, so requests are served even in the middle of a long run. After the
// disconnect response the thread ends itself (the session has already released the machine).

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { RingsideSession } from '../session';
import type { AdapterWorkerData } from './worker-debug-adapter';

function serve(port: NonNullable<typeof parentPort>, data: AdapterWorkerData): void {
  const session = new RingsideSession({ attention: new Int32Array(data.attention) });
  // A listener makes the session run inline: its shutdown leaves the process alone.
  session.onDidSendMessage((message) => {
    const outgoing = message as DebugProtocol.ProtocolMessage;
    port.postMessage(outgoing);
    if (outgoing.type === 'response' && (outgoing as DebugProtocol.Response).command === 'disconnect') {
      setImmediate(() => process.exit(0));
    }
  });
  port.on('message', (message: DebugProtocol.ProtocolMessage) => {
    try {
      session.handleMessage(message);
    } catch (error) {
      // The host checked the message's shape; whatever still throws is answered, never fatal.
      if (message.type !== 'request') return;
      const request = message as DebugProtocol.Request;
      const text = `internal error: ${(error as Error).message}`;
      port.postMessage({
        seq: 0, type: 'response', request_seq: request.seq, command: request.command, success: false, message: text,
        body: { error: { id: 2002, format: text.replace(/[{}]/g, ''), showUser: false } },
      } satisfies DebugProtocol.ErrorResponse);
    }
  });
}

if (isMainThread || parentPort === null) {
  process.stderr.write('adapterWorker.js runs inside a worker thread started by WorkerDebugAdapter; for a process use dist/debugAdapter.js\n');
  process.exitCode = 2;
} else {
  serve(parentPort, workerData as AdapterWorkerData);
}
