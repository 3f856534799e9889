// The Ringside VS Code extension: the entry VS Code loads (dist/extension.js). It owns what a
// person installs and touches: how a `ringside` debug session's adapter is started, the
// configuration provider, the commands, the console terminal, the launch progress, the views
// and the language client. It depends on debug-adapter and vmm-core, never the other way.
// VS Code activates it from its commands, views and language ids; the `ringside` debug type
// needs package.json's activationEvents (1.100 has no implicit one for debuggers).

import * as vscode from 'vscode';
import { registerAdapterFactory } from './adapter-factory';
import { RingsideSessions, registerCommands } from './commands';
import { registerConfigurationProvider } from './configuration-provider';
import { GuestConsoles } from './console-terminal';
import { activateLanguageSupport } from './language-client';
import { LaunchProgress } from './launch-progress';
import { activateViews } from './views/index';

export function activate(context: vscode.ExtensionContext): void {
  registerAdapterFactory(context);
  registerConfigurationProvider(context);
  const sessions = new RingsideSessions();
  const consoles = new GuestConsoles();
  context.subscriptions.push(sessions, consoles);
  registerCommands(context, sessions, consoles);
  activateViews(context);
  activateLanguageSupport(context);
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterTrackerFactory('ringside', {
      createDebugAdapterTracker(session: vscode.DebugSession): vscode.DebugAdapterTracker {
        const progress = new LaunchProgress(session);
        return {
          onWillReceiveMessage: (message: unknown) => progress.onWillReceiveMessage(message),
          onDidSendMessage: (message: unknown) => {
            progress.onDidSendMessage(message);
            consoles.onAdapterMessage(session, message);
          },
          onExit: () => progress.onExit(),
          onError: () => progress.onError(),
        };
      },
    }),
    vscode.debug.onDidTerminateDebugSession((session) => {
      if (session.type === 'ringside') consoles.forget(session);
    }),
  );
}

export function deactivate(): void {}
