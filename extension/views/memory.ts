// "Open memory" from the address-space map and the page tables: VS Code's memory view (the hex
// editor on the debug session's vscode-debug-memory URI) when the hex editor is installed,
// otherwise a read-only hex dump read through the session's readMemory request.

import * as vscode from 'vscode';
import { hexDump } from './model';
import type { RingsideSessionWatcher } from './session-watcher';

export const MEMORY_DUMP_SCHEME = 'ringside-memory';
const HEX_EDITOR = 'ms-vscode.hexeditor';
/** Bytes a dump shows at most (a range can be a gigapage). */
export const MAXIMUM_DUMP_BYTES = 4096;

export class MemoryDumpProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly watcher: RingsideSessionWatcher) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const query = new URLSearchParams(uri.query);
    const address = uri.path.replace(/^\//, '').replace(/\.hex$/, '');
    const count = Math.min(MAXIMUM_DUMP_BYTES, Math.max(1, Number(query.get('size') ?? 256) || 256));
    const session = this.watcher.session;
    if (session === undefined || session.id !== query.get('session')) return `No Ringside debug session (the one this dump was opened from has ended).\n`;
    const body = (await session.customRequest('readMemory', { memoryReference: address, count })) as { address: string; data?: string; unreadableBytes?: number };
    const data = Buffer.from(body.data ?? '', 'base64');
    const bytes: Array<number | undefined> = Array.from(data);
    for (let index = 0; index < (body.unreadableBytes ?? 0); index++) bytes.push(undefined);
    return `${address}: ${count} bytes read through the hart's page tables${(body.unreadableBytes ?? 0) > 0 ? ` (${body.unreadableBytes} unreadable)` : ''}\n\n${hexDump(BigInt(body.address), bytes)}\n`;
  }
}

export async function openMemory(watcher: RingsideSessionWatcher, address: string, size: number): Promise<'hexEditor' | 'dump'> {
  const session = watcher.session;
  if (session === undefined) {
    void vscode.window.showWarningMessage('No Ringside debug session is active: there is no memory to open.');
    throw new Error('no Ringside debug session');
  }
  if (vscode.extensions.getExtension(HEX_EDITOR) !== undefined) {
    const uri = vscode.Uri.from({ scheme: 'vscode-debug-memory', authority: session.id, path: `/${encodeURIComponent(address)}/memory.bin` });
    await vscode.commands.executeCommand('vscode.openWith', uri, 'hexEditor.hexedit');
    return 'hexEditor';
  }
  const count = Math.min(MAXIMUM_DUMP_BYTES, Math.max(1, Math.floor(size)));
  const uri = vscode.Uri.from({ scheme: MEMORY_DUMP_SCHEME, path: `/${address}.hex`, query: `session=${encodeURIComponent(session.id)}&size=${count}` });
  const document = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(document, { preview: true });
  return 'dump';
}
