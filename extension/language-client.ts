// Starts the Ringside language server (dist/languageServer.js, beside this bundle) for RISC-V
// assembly documents. Machine config files need no client: VS Code's JSON support validates
// them against dist/schemas/machine.schema.json (contributes.jsonValidation).

import { join } from 'node:path';
import type * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

export function activateLanguageSupport(context: vscode.ExtensionContext): void {
  const module = join(__dirname, 'languageServer.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6011'] } },
  };
  const clientOptions: LanguageClientOptions = {
    // The server pulls `ringside.asm` per document and registers for changes itself.
    documentSelector: [{ language: 'riscv-asm' }],
  };
  const client = new LanguageClient('ringside', 'Ringside Language Server', serverOptions, clientOptions);
  context.subscriptions.push(client);
  void client.start();
}
