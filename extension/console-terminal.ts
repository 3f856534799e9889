// The guest's serial console as a VS Code terminal. A session launched with
// `"serial": "terminal"` sends the guest's output as `ringside/serial` events; they are written
// to a Pseudoterminal (and appended to the "Ringside Console" output channel, which is
// searchable). Every key typed in the terminal, Ctrl-C included, goes to the guest through
// `ringside/serialInput`. A reset or power-off draws a line. Closing the terminal keeps the
// session's console: "Ringside: Open Guest Console" opens it again with what was printed so far.

import * as vscode from 'vscode';
import { machineEventLine, TerminalNewlines } from './reports';

/** What is kept of a console's output for a terminal that is (re)opened later. */
const REPLAY_LIMIT = 1 << 20;

export class GuestConsole implements vscode.Disposable {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly newlines = new TerminalNewlines();
  private terminal: vscode.Terminal | undefined;
  private terminalOpen = false;
  private replay = '';
  private ended = false;
  private readonly closeListener: vscode.Disposable;

  constructor(readonly session: vscode.DebugSession, private readonly channel: vscode.OutputChannel) {
    this.closeListener = vscode.window.onDidCloseTerminal((closed) => {
      if (closed === this.terminal) {
        this.terminal = undefined;
        this.terminalOpen = false;
      }
    });
  }

  /** Guest output. */
  write(text: string): void {
    this.channel.append(text.replace(/\r\n?/g, '\n'));
    this.emit(this.newlines.convert(text));
  }

  /** A line the extension draws itself (reset, power off). */
  writeEvent(line: string): void {
    this.newlines.reset();
    this.channel.appendLine(line.replace(/\x1b\[[0-9;]*m/g, '').trim());
    this.emit(line);
  }

  /** The session is over: the terminal stays readable and says so, typing no longer reaches a guest. */
  end(line: string): void {
    if (this.ended) return;
    this.writeEvent(line);
    this.ended = true;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Shows the terminal, creating it (with what was printed so far) when it is closed. */
  show(preserveFocus = false): vscode.Terminal {
    if (this.terminal === undefined) {
      const pty: vscode.Pseudoterminal = {
        onDidWrite: this.writeEmitter.event,
        open: () => {
          this.terminalOpen = true;
          if (this.replay.length > 0) this.writeEmitter.fire(this.replay);
        },
        close: () => {
          this.terminalOpen = false;
          this.terminal = undefined;
        },
        handleInput: (data) => this.input(data),
      };
      this.terminal = vscode.window.createTerminal({ name: `Ringside: ${this.session.name}`, pty, iconPath: new vscode.ThemeIcon('terminal') });
    }
    this.terminal.show(preserveFocus);
    return this.terminal;
  }

  private emit(text: string): void {
    this.replay += text;
    if (this.replay.length > REPLAY_LIMIT) this.replay = this.replay.slice(this.replay.length - REPLAY_LIMIT / 2);
    if (this.terminalOpen) this.writeEmitter.fire(text);
  }

  private input(data: string): void {
    if (this.ended) {
      this.writeEmitter.fire('\r\n\x1b[2m(the machine is off: nothing reads this console)\x1b[0m\r\n');
      return;
    }
    this.session.customRequest('ringside/serialInput', { text: data }).then(undefined, (error: unknown) => {
      this.writeEmitter.fire(`\r\n\x1b[31mRingside: input not delivered: ${error instanceof Error ? error.message : String(error)}\x1b[0m\r\n`);
    });
  }

  dispose(): void {
    this.closeListener.dispose();
    this.writeEmitter.dispose();
  }
}

/** One console per `ringside` session, fed by a debug adapter tracker. */
export class GuestConsoles implements vscode.Disposable {
  private readonly consoles = new Map<string, GuestConsole>();
  readonly channel: vscode.OutputChannel;

  constructor() {
    this.channel = vscode.window.createOutputChannel('Ringside Console');
  }

  /** The console of a session (created on first use). */
  of(session: vscode.DebugSession): GuestConsole {
    let console = this.consoles.get(session.id);
    if (console === undefined) {
      console = new GuestConsole(session, this.channel);
      this.consoles.set(session.id, console);
    }
    return console;
  }

  has(session: vscode.DebugSession): boolean {
    return this.consoles.has(session.id);
  }

  /** Feeds what the adapter sends: console output, resets and the end of the machine. */
  onAdapterMessage(session: vscode.DebugSession, message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const { type, event, body } = message as { type?: unknown; event?: unknown; body?: unknown };
    if (type !== 'event') return;
    const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    switch (event) {
      case 'ringside/serial': {
        if (typeof fields.text !== 'string') return;
        const console = this.of(session);
        const first = !this.wasShown.has(session.id);
        console.write(fields.text);
        if (first) {
          this.wasShown.add(session.id);
          console.show(true);
        }
        return;
      }
      case 'ringside/machineReset':
        if (this.has(session)) this.of(session).writeEvent(machineEventLine(fields.by === 'guest' ? 'reset-guest' : 'reset-debugger'));
        return;
      case 'exited':
        if (this.has(session)) this.of(session).end(machineEventLine('exited', typeof fields.exitCode === 'number' ? fields.exitCode : undefined));
        return;
      case 'terminated':
        if (this.has(session)) this.of(session).end(machineEventLine('power-off'));
        return;
    }
  }

  private readonly wasShown = new Set<string>();

  /** The session ended in VS Code: keep the terminal (it holds the log) but stop tracking it. */
  forget(session: vscode.DebugSession): void {
    const console = this.consoles.get(session.id);
    if (console === undefined) return;
    console.end(machineEventLine('power-off'));
    this.consoles.delete(session.id);
    this.wasShown.delete(session.id);
    console.dispose();
  }

  dispose(): void {
    for (const console of this.consoles.values()) console.dispose();
    this.consoles.clear();
    this.channel.dispose();
  }
}
