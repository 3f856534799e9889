// Entry of dist/debugAdapter.js. `node dist/debugAdapter.js` speaks DAP on stdio;
// `--server=PORT` listens on 127.0.0.1 and serves any number of sessions, one machine each.
// The CLI (`ringside run --debug-port`) requires this file for `startDebugServer`: that use
// starts nothing.

import { realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { RingsideSession } from './session';

export { startDebugServer } from './attach';
export { RingsideSession } from './session';
export { WorkerDebugAdapter } from './worker/worker-debug-adapter';

/** Serves sessions on 127.0.0.1:`port` (0: any free port); resolves with the port. */
export function serveSessions(port: number): Promise<{ port: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      // DAP is request/answer in small writes: without this, Nagle's algorithm holds each
      // answer for the client's delayed ACK (about 40 ms on Linux), on every step.
      socket.setNoDelay(true);
      const session = new RingsideSession();
      session.setRunAsServer(true);
      session.start(socket, socket);
      socket.on('error', () => socket.destroy());
    });
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({ port: typeof address === 'object' && address !== null ? address.port : port, close: () => server.close() });
    });
  });
}

function main(argv: readonly string[]): void {
  const serverArgument = argv.find((argument) => argument.startsWith('--server='));
  if (serverArgument === undefined) {
    const session = new RingsideSession();
    session.start(process.stdin, process.stdout);
    return;
  }
  const port = Number(serverArgument.slice('--server='.length));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`ringside debug adapter: --server needs a port number, got '${serverArgument.slice(9)}'\n`);
    process.exitCode = 2;
    return;
  }
  serveSessions(port).then((server) => {
    process.stderr.write(`ringside debug adapter listening on 127.0.0.1:${server.port}\n`);
  }, (error: Error) => {
    process.stderr.write(`ringside debug adapter: cannot listen on 127.0.0.1:${port}: ${error.message}\n`);
    process.exitCode = 1;
  });
}

/**
 * Whether node was asked to run this file as its program. VS Code starts a `runtime: node`
 * adapter as `node -e "…;require(process.argv[1])" dist/debugAdapter.js`, where require.main is
 * unset: the file named on the command line is what tells. A program that merely requires
 * this file (the CLI, the tests) names itself there.
 */
function startedAsProgram(entryModule: NodeJS.Module | undefined, thisModule: NodeJS.Module, argv: readonly string[]): boolean {
  if (entryModule === thisModule) return true;
  const named = argv[1];
  if (named === undefined || named === '' || named.startsWith('-')) return false;
  try {
    return realpathSync(resolvePath(named)) === realpathSync(thisModule.filename);
  } catch {
    return false;
  }
}

if (startedAsProgram(require.main, module, process.argv)) main(process.argv.slice(2));
