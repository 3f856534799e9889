/// <reference types="mocha" />
// The extension's commands inside a real VS Code: "Run the Demo Kernel" starts the bundled demo
// stopped on entry (no launch.json needed) with its console in a terminal; "Reset Machine" resets
// the active machine; a command that needs a session and finds none does nothing and returns.

import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as vscode from 'vscode';
import { EXTENSION_ID, adapterMessages, eventually, focusedFrame, nextSessionStart, recordAdapterMessages, stopAllSessions, topFrame } from './support';

describe('the extension\'s commands', function () {
  this.timeout(60_000);

  before(() => recordAdapterMessages());
  afterEach(async () => {
    await stopAllSessions();
  });

  it('ringside.pause without a session returns without doing anything', async () => {
    assert.equal(vscode.debug.activeDebugSession, undefined);
    assert.equal(await vscode.commands.executeCommand('ringside.pause'), undefined);
  });

  it('ringside.runDemo starts the bundled demo kernel, stopped on entry, console in a terminal', async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
    const started = nextSessionStart();
    assert.equal(await vscode.commands.executeCommand('ringside.runDemo'), true);
    const session = await started;
    assert.equal(session.configuration.program, join(extension.extensionPath, 'guests/bin/demo.elf'));
    assert.equal(session.configuration.serial, 'terminal');
    const stop = await adapterMessages.nth<DebugProtocol.StoppedEvent>(session, 'stopped', 0);
    assert.equal(stop.body.reason, 'entry');
    assert.equal((await topFrame(session, stop.body.threadId!)).name, '_start');
    await focusedFrame(session);
    await vscode.commands.executeCommand('workbench.action.debug.continue');
    // The guest's first output opens the console terminal, named after the session.
    const terminal = await eventually('the console terminal', () => vscode.window.terminals.find((candidate) => candidate.name === `Ringside: ${session.name}`), 20_000);
    assert.ok(terminal);
    const serial = await adapterMessages.nth<DebugProtocol.Event>(session, 'ringside/serial', 0);
    assert.equal(typeof (serial.body as { text?: unknown }).text, 'string');
  });

  it('ringside.reset resets the active machine', async () => {
    const started = nextSessionStart();
    assert.equal(await vscode.commands.executeCommand('ringside.runDemo'), true);
    const session = await started;
    await adapterMessages.nth(session, 'stopped', 0);
    await vscode.commands.executeCommand('ringside.reset');
    const reset = await adapterMessages.nth<DebugProtocol.Event>(session, 'ringside/machineReset', 0);
    assert.deepEqual(reset.body, { by: 'debugger' });
  });
});
