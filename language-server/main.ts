// The Ringside language server (dist/languageServer.js), spoken to over stdio or node IPC by
// the extension's language client. It owns the editor's knowledge of RISC-V assembly (`.S`,
// `.s`): hovers, diagnostics and completion, all derived from vmm-core's instruction and CSR
// tables. Machine config files (`*.ringside.json`) are validated by VS Code's JSON support
// against the schema the build writes from vmm-core's MACHINE_OPTIONS_SCHEMA (dist/schemas/).
//
// Settings (section `ringside.asm`, pulled per document): `privilege` (M/S/U) the code runs at
// unless a `ringside: privilege=X` comment says otherwise, and `includePaths` for headers.

import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  createConnection, DidChangeConfigurationNotification, ProposedFeatures, TextDocuments, TextDocumentSyncKind,
  type InitializeParams, type InitializeResult,
} from 'vscode-languageserver/node';
import { analyseAssembly, type Analysis, type AnalysisSettings } from './assembly/analysis';
import { assemblyCompletion, assemblyHover } from './assembly/hover';
import type { Privilege } from './assembly/source';

const DEFAULT_SETTINGS: AnalysisSettings = { privilege: 'M', includePaths: [] };

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
let clientPullsConfiguration = false;
let workspaceFolders: string[] = [];
const settingsByDocument = new Map<string, Promise<AnalysisSettings>>();
const analyses = new Map<string, { version: number; analysis: Analysis }>();

function pathOf(uri: string): string | undefined {
  return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
}

function readTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Settings as the client sends them; anything malformed falls back to the default. */
function normaliseSettings(raw: unknown, documentPath: string | undefined): AnalysisSettings {
  const value = (typeof raw === 'object' && raw !== null ? raw : {}) as { privilege?: unknown; includePaths?: unknown };
  const privilege: Privilege = value.privilege === 'S' || value.privilege === 'U' || value.privilege === 'M' ? value.privilege : DEFAULT_SETTINGS.privilege;
  const folder = workspaceFolders.find((candidate) => documentPath?.startsWith(candidate)) ?? workspaceFolders[0];
  const includePaths = Array.isArray(value.includePaths)
    ? value.includePaths.filter((path): path is string => typeof path === 'string')
      .map((path) => (isAbsolute(path) || folder === undefined ? path : resolve(folder, path)))
    : [];
  return { privilege, includePaths };
}

function settingsFor(uri: string): Promise<AnalysisSettings> {
  if (!clientPullsConfiguration) return Promise.resolve(DEFAULT_SETTINGS);
  let settings = settingsByDocument.get(uri);
  if (settings === undefined) {
    settings = connection.workspace.getConfiguration({ scopeUri: uri, section: 'ringside.asm' })
      .then((raw: unknown) => normaliseSettings(raw, pathOf(uri)), () => DEFAULT_SETTINGS);
    settingsByDocument.set(uri, settings);
  }
  return settings;
}

async function analysisOf(document: TextDocument): Promise<Analysis> {
  const cached = analyses.get(document.uri);
  if (cached !== undefined && cached.version === document.version) return cached.analysis;
  const analysis = analyseAssembly(document.getText(), pathOf(document.uri), await settingsFor(document.uri), readTextFile);
  analyses.set(document.uri, { version: document.version, analysis });
  return analysis;
}

async function validate(document: TextDocument): Promise<void> {
  const analysis = await analysisOf(document);
  // The document may have changed while the settings were fetched; its own validation follows.
  if (documents.get(document.uri)?.version !== document.version) return;
  await connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics: analysis.diagnostics });
}

connection.onInitialize((params: InitializeParams): InitializeResult => {
  clientPullsConfiguration = params.capabilities.workspace?.configuration === true;
  workspaceFolders = (params.workspaceFolders ?? []).map((folder) => pathOf(folder.uri)).filter((path): path is string => path !== undefined);
  if (workspaceFolders.length === 0 && params.rootUri) {
    const root = pathOf(params.rootUri);
    if (root !== undefined) workspaceFolders = [root];
  }
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      completionProvider: { triggerCharacters: [',', ' ', '\t'] },
    },
    serverInfo: { name: 'ringside-language-server' },
  };
});

connection.onInitialized(() => {
  if (clientPullsConfiguration) {
    void connection.client.register(DidChangeConfigurationNotification.type, { section: 'ringside' }).catch(() => undefined);
  }
});

connection.onDidChangeConfiguration(() => {
  settingsByDocument.clear();
  analyses.clear();
  for (const document of documents.all()) void validate(document);
});

documents.onDidChangeContent((change) => void validate(change.document));
documents.onDidClose((event) => {
  settingsByDocument.delete(event.document.uri);
  analyses.delete(event.document.uri);
  void connection.sendDiagnostics({ uri: event.document.uri, diagnostics: [] });
});

connection.onHover(async (params) => {
  const document = documents.get(params.textDocument.uri);
  if (document === undefined) return null;
  return assemblyHover(await analysisOf(document), params.position);
});

connection.onCompletion(async (params) => {
  const document = documents.get(params.textDocument.uri);
  if (document === undefined) return [];
  const line = document.getText({ start: { line: params.position.line, character: 0 }, end: { line: params.position.line + 1, character: 0 } });
  return assemblyCompletion(await analysisOf(document), line.replace(/\r?\n$/, ''), params.position);
});

documents.listen(connection);
connection.listen();
