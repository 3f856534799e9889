// The guest console written to a file (no input): a serial log for CI.

import { closeSync, openSync, writeSync } from 'node:fs';
import { BridgeError, type ConsoleBackend } from '../types';

export class FileConsole implements ConsoleBackend {
  readonly description: string;
  readonly inputOpen = false;
  private descriptor: number | undefined;

  constructor(readonly path: string) {
    this.description = `file:${path}`;
    try {
      this.descriptor = openSync(path, 'w');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'no such directory' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
      throw new BridgeError(`cannot create serial file '${path}': ${reason}`);
    }
  }

  write(bytes: Uint8Array): void {
    if (this.descriptor !== undefined && bytes.length > 0) writeSync(this.descriptor, bytes);
  }

  setReceiver(): void {
    // A file gives no input.
  }

  setInputClosedListener(): void {
    // Never open: nothing to report.
  }

  close(): void {
    if (this.descriptor === undefined) return;
    closeSync(this.descriptor);
    this.descriptor = undefined;
  }
}

/** No console: output is discarded, nothing is ever typed. */
export class NullConsole implements ConsoleBackend {
  readonly description = 'none';
  readonly inputOpen = false;
  write(): void {}
  setReceiver(): void {}
  setInputClosedListener(): void {}
  close(): void {}
}
