/// <reference types="mocha" />
// The extension's commands inside a real VS Code: "Run the Demo Kernel" starts the bundled demo
// stopped on entry (no launch.json needed) with its console in a terminal; "Reset Machine" resets
// the active machine; a command that needs a session and finds none does nothing and returns.

import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as vscode from 'vscode';
import {
  EXTENSION_ID, adapterMessages, eventually, focusedFrame, nextSessionStart, recordAdapterMessages, stopAllSessions, topFrame, workspaceFolder,
} from './support';

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

  it('the snapshot commands take, rename, list in the Snapshots view, save, restore and delete', async () => {
    const started = nextSessionStart();
    assert.equal(await vscode.commands.executeCommand('ringside.runDemo'), true);
    const session = await started;
    await adapterMessages.nth(session, 'stopped', 0);
    await focusedFrame(session);
    type Listing = { id: number; name: string; instructions: number[] };
    const taken = await vscode.commands.executeCommand<Listing>('ringside.takeSnapshot', 'at entry');
    assert.equal(taken.name, 'at entry');
    assert.equal(taken.instructions[0], 0);
    const renamed = await vscode.commands.executeCommand<Listing>('ringside.renameSnapshot', { id: taken.id, name: 'reset state' });
    assert.equal(renamed.name, 'reset state');
    type Views = { snapshots: Array<{ snapshotId: number; listing: Listing }> };
    const views = await vscode.commands.executeCommand<Views>('ringside.refreshViews');
    assert.deepEqual(views.snapshots.map((row) => row.listing.name), ['reset state']);
    const file = join(workspaceFolder().uri.fsPath, '.ringside-test-snapshot.snap');
    try {
      await vscode.commands.executeCommand('ringside.saveSnapshot', { id: taken.id, path: file });
      assert.ok((await vscode.workspace.fs.stat(vscode.Uri.file(file))).size > 0);
      // Run on a little, then restore: a 'goto' stop back at instruction 0.
      await vscode.commands.executeCommand('workbench.action.debug.stepOver');
      await adapterMessages.nth(session, 'stopped', 1);
      const restored = await vscode.commands.executeCommand<Listing>('ringside.restoreSnapshot', { snapshotId: taken.id, listing: renamed });
      assert.equal(restored.id, taken.id);
      const stop = await adapterMessages.nth<DebugProtocol.StoppedEvent>(session, 'stopped', 2);
      assert.equal(stop.body.reason, 'goto');
      assert.equal((await topFrame(session, stop.body.threadId!)).name, '_start');
      const loaded = await vscode.commands.executeCommand<Listing>('ringside.loadSnapshot', file);
      assert.equal(loaded.name, 'reset state');
      const remaining = await vscode.commands.executeCommand<Listing[]>('ringside.deleteSnapshot', taken.id);
      assert.deepEqual(remaining.map((entry) => entry.name), ['reset state']);
      assert.notEqual(remaining[0].id, taken.id);
    } finally {
      await vscode.workspace.fs.delete(vscode.Uri.file(file)).then(undefined, () => undefined);
    }
  });
});
