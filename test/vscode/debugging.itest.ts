/// <reference types="mocha" />
// Debugging the demo kernel inside a real VS Code, through the public API only: the extension
// activates on the `ringside` debug type, a launch.json configuration stops on entry, the call
// stack, scopes and registers come back, a source breakpoint in the demo's C is hit (and its
// file opened), the `U->S` ring filter stops on a trap from U-mode, and stopping ends the
// session (in the default worker mode and with the adapter as a separate process).

import * as assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as vscode from 'vscode';
import {
  EXTENSION_ID, ROOT, adapterMessages, clearBreakpoints, eventually, focusedFrame, lineOf, recordAdapterMessages, scopeVariables,
  sourceFilePath, startConfiguration, stopAllSessions, stopSession, topFrame,
} from './support';

const STOP_ON_ENTRY = 'Demo kernel: stop on entry';
const RUN = 'Demo kernel: run';

describe('debugging the demo kernel', function () {
  this.timeout(60_000);

  before(() => recordAdapterMessages());
  afterEach(async () => {
    clearBreakpoints();
    await stopAllSessions();
  });

  it('is installed, and activates when a ringside session starts', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `extension ${EXTENSION_ID} is not loaded`);
    const debuggers = (extension.packageJSON as { contributes: { debuggers: Array<{ type: string }> } }).contributes.debuggers;
    assert.deepEqual(debuggers.map((contribution) => contribution.type), ['ringside']);
    const session = await startConfiguration(STOP_ON_ENTRY);
    assert.equal(extension.isActive, true);
    assert.equal(session.type, 'ringside');
    assert.equal(session.configuration.stopOnEntry, true);
    // ${workspaceFolder} was substituted before the adapter saw the configuration.
    assert.equal(resolve(session.configuration.program as string), join(ROOT, 'guests/bin/demo.elf'));
  });

  it('stops on entry with the call stack, scopes and registers', async () => {
    const session = await startConfiguration(STOP_ON_ENTRY);
    const stop = await adapterMessages.nth<DebugProtocol.StoppedEvent>(session, 'stopped', 0);
    assert.equal(stop.body.reason, 'entry');
    const threadId = stop.body.threadId!;
    // The workbench itself took the stop: it has a focused frame of this session.
    const focused = await focusedFrame(session);
    assert.equal(focused.threadId, threadId);
    const frame = await topFrame(session, threadId);
    assert.equal(frame.name, '_start');
    assert.equal(sourceFilePath(frame.source), join(ROOT, 'guests/demo/start.S'));
    const { scopes } = (await session.customRequest('scopes', { frameId: frame.id })) as DebugProtocol.ScopesResponse['body'];
    for (const name of ['Registers', 'CSRs']) assert.ok(scopes.some((scope) => scope.name === name), `no ${name} scope in ${scopes.map((scope) => scope.name).join(', ')}`);
    const registers = await scopeVariables(session, frame.id, 'Registers');
    const pc = registers.find((variable) => variable.name === 'pc');
    assert.ok(pc, 'no pc in Registers');
    assert.equal(BigInt(pc.value), BigInt(frame.instructionPointerReference!));
    assert.equal(registers.find((variable) => variable.name === 'privilege')?.value, 'M (machine)');
    const evaluated = (await session.customRequest('evaluate', { expression: '$a0', frameId: frame.id, context: 'watch' })) as DebugProtocol.EvaluateResponse['body'];
    assert.equal(BigInt(evaluated.result), 0n, 'hart 0 starts with a0 = its hart id');
  });

  it('hits a source breakpoint in the demo kernel\'s C and shows its file', async () => {
    const file = 'guests/demo/kernel.c';
    const line = lineOf(file, 'f->sepc += 4;');
    const uri = vscode.Uri.file(join(ROOT, file));
    vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(uri, new vscode.Position(line - 1, 0)))]);
    const session = await startConfiguration(RUN);
    const stop = await adapterMessages.nth<DebugProtocol.StoppedEvent>(session, 'stopped', 0);
    assert.equal(stop.body.reason, 'breakpoint');
    const frame = await topFrame(session, stop.body.threadId!);
    assert.equal(sourceFilePath(frame.source), uri.fsPath);
    assert.equal(frame.line, line);
    assert.equal(frame.name, 'syscall');
    // VS Code opens the stopped-at file in an editor with the current line revealed.
    const editor = await eventually('kernel.c open in an editor', () => {
      const active = vscode.window.activeTextEditor;
      return active?.document.uri.fsPath === uri.fsPath ? active : undefined;
    });
    assert.equal(editor.selection.active.line, line - 1);
    // The breakpoint VS Code holds was verified by the adapter.
    const breakpointEvents = adapterMessages.of(session, 'breakpoint') as DebugProtocol.BreakpointEvent[];
    assert.ok(breakpointEvents.every((event) => event.body.breakpoint.verified !== false), 'a breakpoint was reported unverified');
  });

  it('stops on a system call with the U->S ring filter', async () => {
    const session = await startConfiguration(STOP_ON_ENTRY);
    const entry = await adapterMessages.nth<DebugProtocol.StoppedEvent>(session, 'stopped', 0);
    assert.equal(entry.body.reason, 'entry');
    // The API has no call for exception filters: ask the adapter as the Breakpoints view does.
    const armed = (await session.customRequest('setExceptionBreakpoints', { filters: ['privilege:U->S'] })) as DebugProtocol.SetExceptionBreakpointsResponse['body'];
    assert.equal(armed?.breakpoints?.[0]?.verified, true);
    // Continue as F5 does, once the workbench has taken the entry stop (it continues the focused thread).
    await focusedFrame(session);
    await vscode.commands.executeCommand('workbench.action.debug.continue');
    const stop = await adapterMessages.nth<DebugProtocol.StoppedEvent>(session, 'stopped', 1);
    assert.equal(stop.body.reason, 'exception');
    assert.equal(stop.body.text, 'Ring: U → S');
    // Which trap comes first (a system call or the timer) depends on the configuration's clock.
    assert.match(stop.body.description ?? '', /^U → S: (environment call from U-mode|supervisor timer interrupt)$/);
    const info = (await session.customRequest('exceptionInfo', { threadId: stop.body.threadId })) as DebugProtocol.ExceptionInfoResponse['body'];
    assert.equal(info.exceptionId, 'Ring: U → S');
    assert.match(info.description ?? '', /^U → S: .+ \((exception 8|interrupt 5)\), epc 0x[0-9a-f]+, tval 0x[0-9a-f]+$/);
    const frame = await topFrame(session, stop.body.threadId!);
    assert.equal(frame.name, 's_trap_entry');
    assert.equal(sourceFilePath(frame.source), join(ROOT, 'guests/demo/start.S'));
    const registers = await scopeVariables(session, frame.id, 'Registers');
    assert.equal(registers.find((variable) => variable.name === 'privilege')?.value, 'S (supervisor)');
  });

  it('ends the session when stopped', async () => {
    const session = await startConfiguration(STOP_ON_ENTRY);
    await adapterMessages.nth(session, 'stopped', 0);
    await stopSession(session);
    assert.equal(vscode.debug.activeDebugSession, undefined);
    // A request to the ended session is refused rather than answered by a lingering adapter.
    await assert.rejects(async () => session.customRequest('threads'));
  });

  it('runs the adapter as a process with ringside.adapter.mode = process, which exits 0 on stop', async () => {
    const settings = vscode.workspace.getConfiguration('ringside');
    await settings.update('adapter.mode', 'process', vscode.ConfigurationTarget.Global);
    try {
      const session = await startConfiguration(STOP_ON_ENTRY);
      const stop = await adapterMessages.nth<DebugProtocol.StoppedEvent>(session, 'stopped', 0);
      assert.equal(stop.body.reason, 'entry');
      await stopSession(session);
      const exit = await eventually('the adapter process exits', () => adapterMessages.exitOf(session));
      assert.equal(exit.code, 0, `adapter exit ${JSON.stringify(exit)}`);
    } finally {
      await settings.update('adapter.mode', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
