// How a `ringside` debug session's adapter is started by VS Code.

import { join } from 'node:path';
import * as vscode from 'vscode';

/** Starts the debug adapter as a separate Node process (dist/debugAdapter.js beside this bundle). */
class AdapterProcessFactory implements vscode.DebugAdapterDescriptorFactory {
  createDebugAdapterDescriptor(): vscode.DebugAdapterDescriptor {
    return new vscode.DebugAdapterExecutable(process.execPath, [join(__dirname, 'debugAdapter.js')]);
  }
}

export function registerAdapterFactory(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.debug.registerDebugAdapterDescriptorFactory('ringside', new AdapterProcessFactory()));
}
