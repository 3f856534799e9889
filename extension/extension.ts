// The Ringside VS Code extension: the entry VS Code loads (dist/extension.js). It owns what a
// person installs and touches: how a `ringside` debug session's adapter is started, the
// commands, the console terminal, the views and the language client. It depends on
// debug-adapter and vmm-core, never the other way.

import type * as vscode from 'vscode';
import { registerAdapterFactory } from './adapter-factory';
import { activateLanguageSupport } from './language-client';
import { activateViews } from './views/index';

export function activate(context: vscode.ExtensionContext): void {
  registerAdapterFactory(context);
  activateViews(context);
  activateLanguageSupport(context);
}

export function deactivate(): void {}
