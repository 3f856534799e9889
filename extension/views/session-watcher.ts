// Which Ringside debug session the views show, and when they should refresh: the active debug
// session when it is a ringside one (else the most recent ringside session still running), and
// the adapter's `ringside/stateChanged` event (sent on every run, stop and exit).

import * as vscode from 'vscode';
import type { RunState } from '../../debug-adapter/view-requests';

/** The views were asked for data while no ringside session exists. */
export class NoSessionError extends Error {
  override name = 'NoSessionError';
  constructor() {
    super('No Ringside debug session is active: start one (F5 with a "ringside" configuration, or "Ringside: Run the Demo Kernel").');
  }
}

export interface StateChange {
  readonly session: vscode.DebugSession | undefined;
  readonly runState: RunState | undefined;
  readonly privilege?: string;
}

export class RingsideSessionWatcher implements vscode.Disposable {
  private readonly sessions: vscode.DebugSession[] = [];
  private readonly runStates = new Map<string, RunState>();
  private readonly changed = new vscode.EventEmitter<StateChange>();
  private readonly subscriptions: vscode.Disposable[] = [];
  /** Fires when the shown session changes or its machine runs, stops or exits. */
  readonly onDidChange = this.changed.event;

  constructor() {
    this.subscriptions.push(
      vscode.debug.onDidStartDebugSession((session) => {
        if (session.type !== 'ringside') return;
        this.sessions.push(session);
        this.fire();
      }),
      vscode.debug.onDidTerminateDebugSession((session) => {
        const index = this.sessions.indexOf(session);
        if (index < 0) return;
        this.sessions.splice(index, 1);
        this.runStates.delete(session.id);
        this.fire();
      }),
      vscode.debug.onDidChangeActiveDebugSession(() => this.fire()),
      // Selecting another hart in the Call Stack view changes what the status bar and page tables show.
      vscode.debug.onDidChangeActiveStackItem(() => this.fire()),
      vscode.debug.onDidReceiveDebugSessionCustomEvent((event) => {
        if (event.session.type !== 'ringside' || event.event !== 'ringside/stateChanged') return;
        const body = event.body as { runState?: unknown; privilege?: unknown } | undefined;
        const runState = body?.runState;
        if (runState === 'running' || runState === 'stopped' || runState === 'exited') this.runStates.set(event.session.id, runState);
        if (!this.sessions.includes(event.session)) this.sessions.push(event.session);
        if (event.session === this.session) {
          this.changed.fire({ session: event.session, runState: this.runStates.get(event.session.id), privilege: typeof body?.privilege === 'string' ? body.privilege : undefined });
        }
      }),
    );
    const active = vscode.debug.activeDebugSession;
    if (active?.type === 'ringside') this.sessions.push(active);
  }

  /** The session the views show, if any. */
  get session(): vscode.DebugSession | undefined {
    const active = vscode.debug.activeDebugSession;
    if (active !== undefined && active.type === 'ringside' && this.sessions.includes(active)) return active;
    if (active?.type === 'ringside') return active;
    return this.sessions[this.sessions.length - 1];
  }

  /** The thread (hart id + 1) selected in the Call Stack view, when it belongs to the shown session. */
  get selectedThreadId(): number | undefined {
    const item = vscode.debug.activeStackItem;
    const session = this.session;
    return item !== undefined && session !== undefined && item.session.id === session.id ? item.threadId : undefined;
  }

  /** The last run state the adapter reported for the shown session. */
  get runState(): RunState | undefined {
    const session = this.session;
    return session === undefined ? undefined : this.runStates.get(session.id);
  }

  /** A custom request to the shown session; NoSessionError when there is none. */
  async request<T>(command: string, args: Record<string, unknown> = {}): Promise<T> {
    const session = this.session;
    if (session === undefined) throw new NoSessionError();
    return (await session.customRequest(command, args)) as T;
  }

  private fire(): void {
    const session = this.session;
    this.changed.fire({ session, runState: session === undefined ? undefined : this.runStates.get(session.id) });
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changed.dispose();
  }
}
