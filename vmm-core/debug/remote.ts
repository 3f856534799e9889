// The small interface through which `ringside run --debug-port` lends its running machine to
// a debugger. vmm-core knows no DAP: the CLI loads the debug adapter's server
// (dist/debugAdapter.js, exporting `startDebugServer`) at run time, only when the option is
// given, and hands it this host. Dependency direction stays debug-adapter -> vmm-core.

import type { Debugger } from './debugger';
import type { Machine } from '../machine/machine';

export interface DebugHost {
  readonly machine: Machine;
  /** The machine's one debugger (the CLI's --stop-on specs are armed on it too). */
  readonly debugger: Debugger;
  /** The kernel file the machine was started with, for symbols. */
  readonly kernelPath?: string;
  /** The firmware file, when one was given. */
  readonly firmwarePath?: string;
  /** A debugger attached: the CLI stops running the machine until `release`. Throws when one is attached already. */
  acquire(): void;
  /** The debugger detached; `terminate` ends the run (the debugger asked to terminate the debuggee). */
  release(terminate: boolean): void;
}

export interface DebugServer {
  readonly port: number;
  close(): void;
}

/** What dist/debugAdapter.js exports for the CLI. */
export interface DebugServerModule {
  startDebugServer(host: DebugHost, port: number, address?: string): Promise<DebugServer>;
}
