// A real LSP client (vscode-languageserver-protocol over stdio) on the built language server
// dist/languageServer.js: it answers the server's workspace/configuration pulls with settings
// the test sets, and collects published diagnostics per document version.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CompletionRequest, ConfigurationRequest, createProtocolConnection, DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification, DidCloseTextDocumentNotification, DidOpenTextDocumentNotification, ExitNotification,
  HoverRequest, InitializedNotification, InitializeRequest, PublishDiagnosticsNotification, ShutdownRequest,
  StreamMessageReader, StreamMessageWriter, type CompletionItem, type CompletionList, type Diagnostic, type Hover,
  type MarkupContent, type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';

export const ROOT = resolve(__dirname, '../..');
export const SERVER = join(ROOT, 'dist/languageServer.js');

export interface AssemblySettings {
  privilege?: 'M' | 'S' | 'U';
  includePaths?: string[];
}

export class LanguageServerSession {
  private readonly diagnostics = new Map<string, Array<{ version: number | undefined; diagnostics: Diagnostic[] }>>();
  private readonly waiters: Array<() => void> = [];
  private readonly versions = new Map<string, number>();
  stderr = '';

  private constructor(private readonly process: ChildProcess, readonly connection: ProtocolConnection, public settings: AssemblySettings) {}

  static async start(settings: AssemblySettings = {}): Promise<LanguageServerSession> {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run npm run build`);
    const child = spawn(process.execPath, [SERVER, '--stdio'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const connection = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const session = new LanguageServerSession(child, connection, settings);
    child.stderr!.on('data', (chunk: Buffer) => { session.stderr += chunk.toString(); });
    connection.onRequest(ConfigurationRequest.type, (params) => params.items.map((item) =>
      (item.section === 'ringside.asm' ? { ...session.settings } : null)));
    connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
      const list = session.diagnostics.get(params.uri) ?? [];
      list.push({ version: params.version, diagnostics: params.diagnostics });
      session.diagnostics.set(params.uri, list);
      for (const wake of session.waiters.splice(0)) wake();
    });
    connection.listen();
    const rootUri = pathToFileURL(ROOT).href;
    await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: 'ringside' }],
      capabilities: {
        workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } },
        textDocument: { hover: { contentFormat: ['markdown'] }, completion: { completionItem: { documentationFormat: ['markdown'] } } },
      },
    });
    // Dynamic registrations from the server need an answer.
    connection.onRequest('client/registerCapability', () => null);
    await connection.sendNotification(InitializedNotification.type, {});
    return session;
  }

  /** Waits until `uri`'s diagnostics for `version` arrive (fails after `timeoutMs`). */
  async diagnosticsFor(uri: string, version: number, timeoutMs = 10_000): Promise<Diagnostic[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.diagnostics.get(uri)?.find((entry) => entry.version === version);
      if (found !== undefined) return found.diagnostics;
      if (Date.now() > deadline) throw new Error(`no diagnostics for ${uri} version ${version}; server stderr: ${this.stderr}`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, 200);
        this.waiters.push(() => { clearTimeout(timer); wake(); });
      });
    }
  }

  /** Opens a document (by default the file's own text) as `riscv-asm` and returns its diagnostics. */
  async open(path: string, text = readFileSync(path, 'utf8')): Promise<{ uri: string; diagnostics: Diagnostic[] }> {
    const uri = pathToFileURL(resolve(ROOT, path)).href;
    this.versions.set(uri, 1);
    // A document opened again starts at version 1 again: forget what was published before.
    this.diagnostics.delete(uri);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'riscv-asm', version: 1, text } });
    return { uri, diagnostics: await this.diagnosticsFor(uri, 1) };
  }

  async replace(uri: string, text: string): Promise<Diagnostic[]> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
    return this.diagnosticsFor(uri, version);
  }

  /** Changes the settings and tells the server; resolves with `uri`'s next diagnostics. */
  async changeSettings(settings: AssemblySettings, uri: string): Promise<Diagnostic[]> {
    this.settings = settings;
    const before = this.diagnostics.get(uri)?.length ?? 0;
    await this.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { ringside: { asm: settings } } });
    const deadline = Date.now() + 10_000;
    while ((this.diagnostics.get(uri)?.length ?? 0) <= before) {
      if (Date.now() > deadline) throw new Error(`no new diagnostics for ${uri} after a settings change`);
      await new Promise((wake) => setTimeout(wake, 20));
    }
    return this.diagnostics.get(uri)!.at(-1)!.diagnostics;
  }

  async close(uri: string): Promise<void> {
    await this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  async hover(uri: string, line: number, character: number): Promise<string | undefined> {
    const hover: Hover | null = await this.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character } });
    return hover === null ? undefined : (hover.contents as MarkupContent).value;
  }

  async completion(uri: string, line: number, character: number): Promise<CompletionItem[]> {
    const result: CompletionItem[] | CompletionList | null = await this.connection.sendRequest(CompletionRequest.type,
      { textDocument: { uri }, position: { line, character } });
    if (result === null) return [];
    return Array.isArray(result) ? result : result.items;
  }

  async stop(): Promise<void> {
    await this.connection.sendRequest(ShutdownRequest.type);
    await this.connection.sendNotification(ExitNotification.type);
    const exited = new Promise<number | null>((done) => this.process.once('exit', (code) => done(code)));
    const code = await Promise.race([exited, new Promise<'timeout'>((done) => setTimeout(() => done('timeout'), 5000))]);
    if (code === 'timeout') this.process.kill();
    this.connection.dispose();
  }
}

/** The 0-based line of the first line of `text` containing `needle` (so fixtures can change without renumbering). */
export function lineOf(text: string, needle: string, from = 0): number {
  const lines = text.split('\n');
  for (let line = from; line < lines.length; line++) if (lines[line].includes(needle)) return line;
  throw new Error(`no line containing ${JSON.stringify(needle)}`);
}
