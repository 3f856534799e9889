// console/: host ends of the guest's consoles — the process's terminal (raw mode with a
// Ctrl-A escape, or pipes), a file, a listening TCP or Unix socket, or nothing — and the one
// parser for the `--serial` vocabulary (QEMU's: stdio, file:PATH, tcp:HOST:PORT, unix:PATH, none).

import { BridgeError, type ConsoleBackend } from '../types';
import { FileConsole, NullConsole } from './file';
import { SocketConsole, type SocketConsoleAddress } from './socket';
import { StdioConsole, type StdioConsoleOptions } from './stdio';

export { ConsoleInputQueue, CONSOLE_INPUT_LIMIT } from './input-queue';
export { StdioConsole, ESCAPE_HELP, ESCAPE_PREFIX, type ConsoleEscapeHandlers, type StdioConsoleOptions } from './stdio';
export { SocketConsole, CONSOLE_BACKLOG_LIMIT, CONSOLE_CLIENT_BUFFER_LIMIT, type SocketConsoleAddress } from './socket';
export { FileConsole, NullConsole } from './file';

export type ConsoleSpec =
  | { kind: 'stdio' }
  | { kind: 'file'; path: string }
  | { kind: 'socket'; address: SocketConsoleAddress }
  | { kind: 'none' };

export const CONSOLE_SPEC_SYNTAX = 'stdio, file:PATH, tcp:HOST:PORT (a server on HOST; port 0 picks one), unix:PATH or none';

/** Parses `stdio | file:PATH | tcp:HOST:PORT | unix:PATH | none`; throws BridgeError naming what is wrong. */
export function parseConsoleSpec(text: string): ConsoleSpec {
  if (text === 'stdio' || text === 'mon:stdio') return { kind: 'stdio' };
  if (text === 'none' || text === 'null') return { kind: 'none' };
  if (text.startsWith('file:')) {
    if (text.length === 5) throw new BridgeError(`serial 'file:' needs a path (${CONSOLE_SPEC_SYNTAX})`);
    return { kind: 'file', path: text.slice(5) };
  }
  if (text.startsWith('unix:')) {
    const path = text.slice(5).split(',')[0];
    if (path.length === 0) throw new BridgeError(`serial 'unix:' needs a socket path (${CONSOLE_SPEC_SYNTAX})`);
    return { kind: 'socket', address: { kind: 'unix', path } };
  }
  if (text.startsWith('tcp:')) {
    // QEMU appends ,server=on,wait=off and the like: the console is always a server here.
    const [address] = text.slice(4).split(',');
    const colon = address.lastIndexOf(':');
    const host = colon > 0 ? address.slice(0, colon) : '127.0.0.1';
    const portText = colon >= 0 ? address.slice(colon + 1) : address;
    const port = Number(portText);
    if (!/^[0-9]+$/.test(portText) || port > 65535) throw new BridgeError(`serial '${text}': '${portText}' is not a port number (0..65535)`);
    return { kind: 'socket', address: { kind: 'tcp', host: host.replace(/^\[(.*)\]$/, '$1'), port } };
  }
  throw new BridgeError(`serial '${text}' is not one of ${CONSOLE_SPEC_SYNTAX}`);
}

/** Opens the backend a spec names (sockets start listening). */
export async function openConsoleBackend(spec: ConsoleSpec, stdio: StdioConsoleOptions = {}): Promise<ConsoleBackend> {
  switch (spec.kind) {
    case 'stdio': return new StdioConsole(stdio);
    case 'file': return new FileConsole(spec.path);
    case 'socket': return SocketConsole.listen(spec.address);
    case 'none': return new NullConsole();
  }
}
