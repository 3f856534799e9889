// The Ringside VS Code extension: the entry VS Code loads (dist/extension.js). It owns what a
// person installs and touches: how a `ringside` debug session's adapter is started, the
// commands, the console terminal, the views and the language client. It depends on
// debug-adapter and vmm-core, never the other way.

import { join } from 'node:path';
import * as vscode from 'vscode';

/** Starts the debug adapter as a separate Node process (dist/debugAdapter.js beside this bundle). */
class AdapterProcessFactory implements vscode.DebugAdapterDescriptorFactory {
  createDebugAdapterDescriptor(): vscode.DebugAdapterDescriptor {
    return new vscode.DebugAdapterExecutable(process.execPath, [join(__dirname, 'debugAdapter.js')]);
  }
}

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.debug.registerDebugAdapterDescriptorFactory('ringside', new AdapterProcessFactory()));
}

export function deactivate(): void {}
