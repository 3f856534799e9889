// How a `ringside` debug session's adapter is started by VS Code: by default inline, in a
// worker thread of the extension host (the machine never runs on the host's own thread);
// with `ringside.adapter.mode` = `process`, as a separate Node process. Both bundles are
// found beside this one in dist/, so the installed .vsix works as the source tree does.

import { join } from 'node:path';
import * as vscode from 'vscode';
import { ADAPTER_WORKER_BUNDLE, WorkerDebugAdapter } from '../debug-adapter/worker/worker-debug-adapter';

export type AdapterMode = 'worker' | 'process';

/** The `ringside.adapter.mode` setting; anything else is reported and the default used. */
export function adapterMode(): AdapterMode {
  const value = vscode.workspace.getConfiguration('ringside').get<unknown>('adapter.mode', 'worker');
  if (value === 'worker' || value === 'process') return value;
  void vscode.window.showWarningMessage(`Ringside: ringside.adapter.mode must be 'worker' or 'process', got ${JSON.stringify(value)}; using 'worker'.`);
  return 'worker';
}

class AdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  createDebugAdapterDescriptor(): vscode.DebugAdapterDescriptor {
    if (adapterMode() === 'process') {
      // In desktop VS Code the extension host's executable is Electron: ask it to act as Node.
      return new vscode.DebugAdapterExecutable(process.execPath, [join(__dirname, 'debugAdapter.js')], { env: { ELECTRON_RUN_AS_NODE: '1' } });
    }
    return new vscode.DebugAdapterInlineImplementation(new WorkerDebugAdapter({ workerScript: join(__dirname, ADAPTER_WORKER_BUNDLE) }));
  }
}

export function registerAdapterFactory(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.debug.registerDebugAdapterDescriptorFactory('ringside', new AdapterFactory()));
}
