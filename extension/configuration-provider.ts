// The `ringside` DebugConfigurationProvider: the initial launch.json (from the one launch
// schema's initial configuration) and the completion of every configuration before it starts
// (configuration.ts). F5 with no launch.json boots the demo kernel.

import * as vscode from 'vscode';
import { debuggerContribution } from '../debug-adapter/launch-schema';
import { resolveConfiguration } from './configuration';

export class RingsideConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly extensionRoot: string) {}

  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    const initial = debuggerContribution().initialConfigurations;
    return Array.isArray(initial) ? (initial as vscode.DebugConfiguration[]).map((configuration) => ({ ...configuration })) : [];
  }

  resolveDebugConfiguration(folder: vscode.WorkspaceFolder | undefined, configuration: vscode.DebugConfiguration): vscode.DebugConfiguration {
    const workspaceFolder = folder ?? vscode.workspace.workspaceFolders?.[0];
    return resolveConfiguration(configuration, { workspaceFolder: workspaceFolder?.uri.fsPath, extensionRoot: this.extensionRoot }) as vscode.DebugConfiguration;
  }
}

export function registerConfigurationProvider(context: vscode.ExtensionContext): void {
  const provider = new RingsideConfigurationProvider(context.extensionPath);
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider('ringside', provider, vscode.DebugConfigurationProviderTriggerKind.Initial),
    // Also for F5 without launch.json: VS Code then asks the providers of the active editor's
    // debuggers, and with a `ringside` provider for the Dynamic trigger the demo is offered.
    vscode.debug.registerDebugConfigurationProvider('ringside', {
      provideDebugConfigurations: () => [resolveConfiguration({}, { extensionRoot: context.extensionPath }) as vscode.DebugConfiguration],
    }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
  );
}
