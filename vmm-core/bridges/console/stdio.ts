// The guest console on the process's own terminal, as QEMU's `-nographic`: on a TTY the
// terminal goes to raw mode so every key (Ctrl-C, Ctrl-Z, arrows) reaches the guest, and an
// escape prefix (Ctrl-A) gives the host a few commands. The terminal is restored on every exit
// path the process can catch. Piped stdin works too; EOF on it just ends console input.

import type { ConsoleBackend } from '../types';
import { ConsoleInputQueue } from './input-queue';

/** Ctrl-A, QEMU's escape prefix. */
export const ESCAPE_PREFIX = 0x01;

/** What the escape commands do; the CLI supplies them. Each returns a line to show, if any. */
export interface ConsoleEscapeHandlers {
  /** Ctrl-A x: end the run. */
  quit(): void;
  /** Ctrl-A c: switch input between the guest's consoles (UART, virtio console). */
  switchConsole?(): string;
  /** Ctrl-A s: write every disk's data to stable storage. */
  syncDisks?(): string;
  /** Ctrl-A i: one line of machine status (pc, privilege, instructions, time). */
  status?(): string;
  /** Ctrl-A n: pull the network cable, or plug it back in. */
  toggleNetworkLink?(): string;
}

export const ESCAPE_HELP = [
  'Ctrl-A h    print this help',
  'Ctrl-A x    quit Ringside',
  'Ctrl-A c    switch input between the serial port and the virtio console',
  'Ctrl-A s    sync disk images to stable storage',
  'Ctrl-A i    show machine status',
  'Ctrl-A n    pull the network cable out, or plug it back in',
  'Ctrl-A Ctrl-A  send Ctrl-A to the guest',
];

export interface StdioConsoleOptions {
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
  /** Where host messages go (the help, status lines). */
  messages?: NodeJS.WriteStream;
  escape?: ConsoleEscapeHandlers;
  /** Raw mode and the escape prefix (default: when stdin is a TTY). */
  interactive?: boolean;
}

/** Restores the terminals of every raw-mode console when the process goes, however it goes. */
const rawConsoles = new Set<StdioConsole>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const console of rawConsoles) console.restoreTerminal();
  });
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'] as const) {
    process.on(signal, () => {
      for (const console of rawConsoles) console.restoreTerminal();
      // The conventional status of death by signal, as if the handler were not there.
      process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 } as const)[signal]);
    });
  }
}

export class StdioConsole implements ConsoleBackend {
  readonly description: string;
  readonly interactive: boolean;
  private readonly input: NodeJS.ReadStream;
  private readonly output: NodeJS.WriteStream;
  private readonly messages: NodeJS.WriteStream;
  private readonly queue: ConsoleInputQueue;
  private escapePending = false;
  private open = true;
  private rawMode = false;
  private closed = false;
  private readonly onData = (chunk: Buffer): void => this.received(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
  private inputClosedListener: (() => void) | null = null;
  private readonly onEnd = (): void => {
    if (!this.open) return;
    this.open = false;
    this.inputClosedListener?.();
  };

  constructor(private readonly options: StdioConsoleOptions = {}) {
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    this.messages = options.messages ?? process.stderr;
    this.interactive = options.interactive ?? this.input.isTTY === true;
    this.description = this.interactive ? 'terminal (raw mode, Ctrl-A h for help)' : 'stdio';
    this.queue = new ConsoleInputQueue(() => this.input.pause(), () => {
      if (!this.closed) this.input.resume();
    });
    if (this.interactive && this.input.isTTY === true) {
      installExitHooks();
      this.input.setRawMode(true);
      this.rawMode = true;
      rawConsoles.add(this);
    }
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('error', this.onEnd);
    this.output.on('error', this.onOutputError);
    this.input.resume();
  }

  /**
   * Whoever read the console went away (`ringside run … | head`): end as a Unix tool does on
   * SIGPIPE, quietly with 128 + 13 (the exit hooks restore a raw terminal), not with a stack trace.
   */
  private readonly onOutputError = (error: NodeJS.ErrnoException): void => {
    if (error.code !== 'EPIPE') throw error;
    this.closed = true;
    process.exit(141);
  };

  get inputOpen(): boolean {
    return this.open && !this.closed;
  }

  write(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    // Terminals, files and pipes are written synchronously on Linux: a slow reader slows the guest instead of growing a buffer.
    this.output.write(bytes);
  }

  setReceiver(receiver: ((bytes: Uint8Array) => number) | null): void {
    this.queue.setReceiver(receiver);
  }

  setInputClosedListener(listener: (() => void) | null): void {
    this.inputClosedListener = listener;
  }

  /** Writes a host message on its own line (the terminal keeps output post-processing in raw mode: \n is enough). */
  message(text: string): void {
    this.messages.write(`\n${text}\n`);
  }

  private received(bytes: Uint8Array): void {
    if (!this.interactive) {
      this.queue.push(bytes.slice());
      return;
    }
    const forward: number[] = [];
    for (const byte of bytes) {
      if (!this.escapePending) {
        if (byte === ESCAPE_PREFIX) this.escapePending = true;
        else forward.push(byte);
        continue;
      }
      this.escapePending = false;
      if (byte === ESCAPE_PREFIX) {
        forward.push(ESCAPE_PREFIX);
        continue;
      }
      // Commands act in order with the bytes around them.
      if (forward.length > 0) this.queue.push(Uint8Array.from(forward.splice(0)));
      this.escapeCommand(String.fromCharCode(byte).toLowerCase());
    }
    if (forward.length > 0) this.queue.push(Uint8Array.from(forward));
  }

  private escapeCommand(command: string): void {
    const handlers = this.options.escape;
    switch (command) {
      case 'x':
        this.message('ringside: quit (Ctrl-A x)');
        handlers?.quit();
        return;
      case 'h': case '?':
        this.message(ESCAPE_HELP.join('\n'));
        return;
      case 'c':
        this.message(handlers?.switchConsole?.() ?? 'ringside: this machine has one console');
        return;
      case 's':
        this.message(handlers?.syncDisks?.() ?? 'ringside: no disks');
        return;
      case 'i':
        this.message(handlers?.status?.() ?? 'ringside: no status');
        return;
      case 'n':
        this.message(handlers?.toggleNetworkLink?.() ?? 'ringside: no network card');
        return;
      default:
        // Unknown commands are ignored, as QEMU does.
        return;
    }
  }

  /** Leaves raw mode (idempotent); called on close and from the process exit hooks. */
  restoreTerminal(): void {
    if (!this.rawMode) return;
    this.rawMode = false;
    rawConsoles.delete(this);
    try {
      this.input.setRawMode(false);
    } catch {
      // The terminal is already gone (hang-up): nothing to restore.
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.restoreTerminal();
    this.queue.close();
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('error', this.onEnd);
    this.input.pause();
    // A paused stdin must not keep the process alive.
    (this.input as NodeJS.ReadStream & { unref?: () => void }).unref?.();
  }
}
