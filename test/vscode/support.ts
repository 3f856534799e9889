// Helpers for the extension-host tests (test/vscode): they run inside a real VS Code (code-server
// through scripts/code-shim.js here, a downloaded desktop VS Code elsewhere) and drive it only
// through the public `vscode` API, as a person's clicks would.

import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as vscode from 'vscode';

/** The repository root (the bundle runs from out/vscode/). */
export const ROOT = resolve(__dirname, '../..');
export const EXTENSION_ID = 'ringside.ringside';
export const DEBUG_TYPE = 'ringside';

/** 1-based line of the first line of `file` (repository-relative) containing `text`. */
export function lineOf(file: string, text: string): number {
  const index = readFileSync(join(ROOT, file), 'utf8').split('\n').findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `no line containing '${text}' in ${file}`);
  return index + 1;
}

export function workspaceFolder(): vscode.WorkspaceFolder {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need a workspace folder (test/vscode/workspace)');
  return folder;
}

/** What the adapter sent VS Code, per session, recorded by a DebugAdapterTracker. */
class AdapterMessages {
  private readonly events = new Map<string, DebugProtocol.Event[]>();
  private readonly waiters = new Set<() => void>();
  private readonly exits = new Map<string, { code: number | undefined; signal: string | undefined }>();

  record(sessionId: string, message: DebugProtocol.ProtocolMessage): void {
    if (message.type !== 'event') return;
    const list = this.events.get(sessionId) ?? [];
    list.push(message as DebugProtocol.Event);
    this.events.set(sessionId, list);
    for (const wake of [...this.waiters]) wake();
  }

  recordExit(sessionId: string, code: number | undefined, signal: string | undefined): void {
    this.exits.set(sessionId, { code, signal });
  }

  /** How the session's adapter process ended, once it has. */
  exitOf(session: vscode.DebugSession): { code: number | undefined; signal: string | undefined } | undefined {
    return this.exits.get(session.id);
  }

  /** Events of `name` the session has received so far. */
  of(session: vscode.DebugSession, name: string): DebugProtocol.Event[] {
    return (this.events.get(session.id) ?? []).filter((event) => event.event === name);
  }

  /** The `index`th (0-based) event of `name` in the session, waiting for it if need be. */
  async nth<T extends DebugProtocol.Event>(session: vscode.DebugSession, name: string, index: number, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.of(session, name)[index];
      if (found !== undefined) return found as T;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = (this.events.get(session.id) ?? []).map((event) => event.event).join(', ');
        throw new Error(`no '${name}' event #${index + 1} within ${timeoutMs} ms (events so far: ${seen || 'none'})`);
      }
      await new Promise<void>((wake) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          wake();
        };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
  }
}

export const adapterMessages = new AdapterMessages();
let trackerRegistered = false;
/** Ids of sessions VS Code has reported ended (a guest that powers off ends its session itself). */
const endedSessions = new Set<string>();

/** Starts recording what every `ringside` adapter sends (once per test run). */
export function recordAdapterMessages(): void {
  if (trackerRegistered) return;
  trackerRegistered = true;
  vscode.debug.onDidTerminateDebugSession((session) => endedSessions.add(session.id));
  vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
    createDebugAdapterTracker: (session) => ({
      onDidSendMessage: (message: DebugProtocol.ProtocolMessage) => adapterMessages.record(session.id, message),
      onExit: (code, signal) => adapterMessages.recordExit(session.id, code, signal),
    }),
  });
}

/** Resolves with the next session of our type that starts. */
export function nextSessionStart(timeoutMs = 20_000): Promise<vscode.DebugSession> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => { listener.dispose(); reject(new Error(`no ${DEBUG_TYPE} session started within ${timeoutMs} ms`)); }, timeoutMs);
    const listener = vscode.debug.onDidStartDebugSession((session) => {
      if (session.type !== DEBUG_TYPE) return;
      clearTimeout(timer);
      listener.dispose();
      resolvePromise(session);
    });
  });
}

/** Starts the launch.json configuration `name` and returns its session. */
export async function startConfiguration(name: string): Promise<vscode.DebugSession> {
  const started = nextSessionStart();
  const ok = await vscode.debug.startDebugging(workspaceFolder(), name);
  assert.equal(ok, true, `startDebugging('${name}') returned false`);
  return started;
}

/** Stops a session and waits until VS Code reports it ended (at once if it already has). */
export async function stopSession(session: vscode.DebugSession, timeoutMs = 20_000): Promise<void> {
  if (endedSessions.has(session.id)) return;
  let listener: vscode.Disposable | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = new Promise<void>((resolvePromise, reject) => {
    timer = setTimeout(() => reject(new Error(`session ${session.name} did not end within ${timeoutMs} ms`)), timeoutMs);
    listener = vscode.debug.onDidTerminateDebugSession((ending) => {
      if (ending.id === session.id) resolvePromise();
    });
  });
  try {
    // It may have ended on its own between the caller's look and the listener.
    if (!endedSessions.has(session.id)) {
      try {
        await vscode.debug.stopDebugging(session);
      } catch (error) {
        // A guest that powers off ends its session by itself: VS Code may then refuse the stop
        // ("the debug session has ended") before it reports the end. Only a session that
        // still does not end is a failure.
        if (!endedSessions.has(session.id)) {
          const graceMs = 5_000;
          const endedInTime = await Promise.race([ended.then(() => true), new Promise<boolean>((wake) => setTimeout(() => wake(false), graceMs))]);
          if (!endedInTime) throw error;
        }
      }
      await ended;
    }
  } finally {
    clearTimeout(timer);
    listener?.dispose();
  }
}

/** Stops every session still running (between tests); VS Code may list an ended one for a moment. */
export async function stopAllSessions(timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const session = vscode.debug.activeDebugSession;
    if (session === undefined) return;
    if (Date.now() > deadline) throw new Error(`session ${session.name} is still listed after ${timeoutMs} ms`);
    if (endedSessions.has(session.id)) await new Promise((wake) => setTimeout(wake, 50));
    else await stopSession(session);
  }
}

/** Waits until the workbench shows a stop of `session`: a focused stack frame of it. */
export function focusedFrame(session: vscode.DebugSession): Promise<vscode.DebugStackFrame> {
  return eventually(`a focused stack frame of ${session.name}`, () => {
    const item = vscode.debug.activeStackItem;
    return item instanceof vscode.DebugStackFrame && item.session.id === session.id ? item : undefined;
  });
}

/** Polls `probe` until it returns a value other than undefined. */
export async function eventually<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}

/**
 * The local file of a DAP source as a response to `customRequest` carries it: a plain path on
 * desktop VS Code, a `vscode-remote://` URI where the extension host is remote (code-server).
 */
export function sourceFilePath(source: DebugProtocol.Source | undefined): string | undefined {
  const path = source?.path;
  if (path === undefined || !/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return path;
  return vscode.Uri.parse(path).fsPath;
}

export async function topFrame(session: vscode.DebugSession, threadId: number): Promise<DebugProtocol.StackFrame> {
  const trace = (await session.customRequest('stackTrace', { threadId, startFrame: 0, levels: 20 })) as DebugProtocol.StackTraceResponse['body'];
  assert.ok(trace.stackFrames.length > 0, 'empty call stack');
  return trace.stackFrames[0];
}

/** Variables of the scope named `scopeName` in a frame. */
export async function scopeVariables(session: vscode.DebugSession, frameId: number, scopeName: string): Promise<DebugProtocol.Variable[]> {
  const { scopes } = (await session.customRequest('scopes', { frameId })) as DebugProtocol.ScopesResponse['body'];
  const scope = scopes.find((candidate) => candidate.name === scopeName);
  assert.ok(scope, `no '${scopeName}' scope (scopes: ${scopes.map((candidate) => candidate.name).join(', ')})`);
  const { variables } = (await session.customRequest('variables', { variablesReference: scope.variablesReference })) as DebugProtocol.VariablesResponse['body'];
  return variables;
}

/** Removes every breakpoint VS Code holds, so tests do not see each other's. */
export function clearBreakpoints(): void {
  if (vscode.debug.breakpoints.length > 0) vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
}
