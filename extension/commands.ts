// The command palette's "Ringside: …" VM controls. Each acts on the active `ringside` debug
// session (the focused one, else the one started last) and says so with a warning when there is
// none. Commands that ask for input (a file, an address) take it as their argument when run
// through `vscode.commands.executeCommand`, and every command returns what it showed, so
// extension-host tests can drive and check them. Command ids are stable (docs/extension.md).

import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import * as vscode from 'vscode';
import {
  addressInputProblem, CommandArgumentError, defaultCaptureFileName, normalizeAddressInput, parseCaptureArgument, parseDiskArgument,
  parseSlotArgument, parseTranslateArgument,
} from './command-arguments';
import type { CommandId } from './command-ids';
import { demoConfiguration } from './configuration';
import type { GuestConsoles } from './console-terminal';
import { formatExitStatistics, formatTranslation, machineEventLine } from './reports';
import type { SnapshotListing } from '../debug-adapter/snapshots';


export const NO_SESSION_MESSAGE = 'Ringside: no Ringside debug session is running. Start one with F5 or "Ringside: Run the Demo Kernel".';

/** The `ringside` sessions VS Code is running, newest last. */
export class RingsideSessions implements vscode.Disposable {
  private readonly live: vscode.DebugSession[] = [];
  private readonly listeners: vscode.Disposable[];

  constructor() {
    this.listeners = [
      vscode.debug.onDidStartDebugSession((session) => {
        if (session.type === 'ringside') this.live.push(session);
      }),
      vscode.debug.onDidTerminateDebugSession((session) => {
        const index = this.live.findIndex((candidate) => candidate.id === session.id);
        if (index >= 0) this.live.splice(index, 1);
      }),
    ];
  }

  /** The focused ringside session, else the one started last. */
  active(): vscode.DebugSession | undefined {
    const focused = vscode.debug.activeDebugSession;
    if (focused !== undefined && focused.type === 'ringside' && this.live.some((session) => session.id === focused.id)) return focused;
    return this.live[this.live.length - 1];
  }

  dispose(): void {
    for (const listener of this.listeners) listener.dispose();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reports (page-table walks, exit statistics) are read-only virtual documents, so closing one
 * never asks to save it; each is shown rendered by the built-in Markdown preview.
 */
const REPORT_SCHEME = 'ringside-report';

class ReportDocuments implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private sequence = 0;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.path) ?? '';
  }

  async show(title: string, markdown: string): Promise<vscode.Uri> {
    this.sequence++;
    const uri = vscode.Uri.from({ scheme: REPORT_SCHEME, path: `/${this.sequence}/${title.replace(/[\\/:*?"<>|]/g, '_')}.md` });
    this.contents.set(uri.path, markdown);
    try {
      await vscode.commands.executeCommand('markdown.showPreview', uri);
    } catch {
      // Without the built-in Markdown extension the source is shown, which reads well too.
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
    }
    return uri;
  }
}

export function registerCommands(context: vscode.ExtensionContext, sessions: RingsideSessions, consoles: GuestConsoles): void {
  const reports = new ReportDocuments();
  context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, reports));
  const onSession = <T>(id: CommandId, work: (session: vscode.DebugSession, argument: unknown) => Promise<T>) =>
    vscode.commands.registerCommand(id, async (argument: unknown): Promise<T | undefined> => {
      const session = sessions.active();
      if (session === undefined) {
        void vscode.window.showWarningMessage(NO_SESSION_MESSAGE);
        return undefined;
      }
      try {
        return await work(session, argument);
      } catch (error) {
        const text = messageOf(error);
        void vscode.window.showErrorMessage(error instanceof CommandArgumentError || text.startsWith('Ringside') ? text : `Ringside: ${text}`);
        return undefined;
      }
    });

  const request = async (session: vscode.DebugSession, command: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const body: unknown = await session.customRequest(command, args);
    return typeof body === 'object' && body !== null ? body as Record<string, unknown> : {};
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('ringside.runDemo', async (): Promise<boolean> => {
      // A launch that fails is reported by VS Code itself, with the adapter's one clear message.
      return vscode.debug.startDebugging(vscode.workspace.workspaceFolders?.[0], demoConfiguration(context.extensionPath));
    }),

    onSession('ringside.pause', (session) => request(session, 'ringside/vm', { action: 'pause' })),

    onSession('ringside.resume', async (session) => {
      // Through the workbench when possible, so the debug toolbar and call stack follow.
      if (vscode.debug.activeDebugSession?.id === session.id) {
        await vscode.commands.executeCommand('workbench.action.debug.continue');
        return { running: true };
      }
      return request(session, 'continue', { threadId: 1 });
    }),

    onSession('ringside.reset', (session) => request(session, 'ringside/vm', { action: 'reset' })),

    onSession('ringside.powerOff', async (session) => {
      if (consoles.has(session)) consoles.of(session).end(machineEventLine('power-off'));
      return request(session, 'ringside/vm', { action: 'powerOff' });
    }),

    onSession('ringside.attachDisk', async (session, argument) => {
      let disk = parseDiskArgument(argument);
      if (disk === undefined) {
        const picked = await vscode.window.showOpenDialog({
          title: 'Ringside: attach a disk image', openLabel: 'Attach', canSelectMany: false,
          filters: { 'Disk images': ['img', 'raw', 'qcow2', 'ext2', 'ext4', 'bin'], 'All files': ['*'] },
        });
        if (picked === undefined || picked.length === 0) return undefined;
        disk = { path: picked[0].fsPath };
      }
      const answer = await request(session, 'ringside/attachDisk', { path: disk.path, readOnly: disk.readOnly, format: disk.format });
      const choice = await vscode.window.showInformationMessage(
        `Ringside: ${String(answer.path)} is in virtio-mmio slot ${String(answer.slot)}. The guest finds it the next time it probes the virtio slots (Linux: after a reset).`,
        'Reset Machine');
      if (choice === 'Reset Machine') await vscode.commands.executeCommand('ringside.reset');
      return answer;
    }),

    onSession('ringside.detachDisk', async (session, argument) => {
      let slot = parseSlotArgument(argument);
      if (slot === undefined) {
        const state = await request(session, 'ringside/deviceState', { device: 'virtio' });
        const disks = (Array.isArray(state.virtio) ? state.virtio : [])
          .filter((entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null && (entry as Record<string, unknown>).type === 'virtio-blk');
        if (disks.length === 0) throw new Error('Ringside: this machine has no disk to detach.');
        if (disks.length === 1) slot = Number(disks[0].slot);
        else {
          const picked = await vscode.window.showQuickPick(disks.map((entry) => ({
            label: `slot ${String(entry.slot)}`, description: typeof entry.host === 'string' ? entry.host : undefined, slot: Number(entry.slot),
          })), { title: 'Ringside: detach which disk?' });
          if (picked === undefined) return undefined;
          slot = picked.slot;
        }
      }
      const answer = await request(session, 'ringside/detachDisk', { slot });
      void vscode.window.showInformationMessage(`Ringside: the disk in virtio-mmio slot ${String(answer.slot)} is detached and its image released.`);
      return answer;
    }),

    onSession('ringside.plugNetwork', async (session) => {
      const answer = await request(session, 'ringside/vm', { action: 'networkLink', up: true });
      void vscode.window.showInformationMessage('Ringside: network cable plugged in.');
      return answer;
    }),

    onSession('ringside.unplugNetwork', async (session) => {
      const answer = await request(session, 'ringside/vm', { action: 'networkLink', up: false });
      void vscode.window.showInformationMessage('Ringside: network cable pulled.');
      return answer;
    }),

    onSession('ringside.startCapture', async (session, argument) => {
      const wanted = parseCaptureArgument(argument);
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      let path = wanted.path;
      if (path === undefined) {
        const directory = folder !== undefined ? join(folder, '.ringside', 'captures') : join(tmpdir(), 'ringside-captures');
        mkdirSync(directory, { recursive: true });
        path = join(directory, defaultCaptureFileName(new Date()));
      } else if (!isAbsolute(path) && folder !== undefined) {
        path = join(folder, path);
      }
      const answer = await request(session, 'ringside/packetCapture', { action: 'start', path, card: wanted.card });
      void vscode.window.showInformationMessage(`Ringside: capturing network card ${String(answer.card)} to ${String(answer.path)}.`);
      return answer;
    }),

    onSession('ringside.stopCapture', async (session, argument) => {
      const { card } = parseCaptureArgument(argument);
      const answer = await request(session, 'ringside/packetCapture', { action: 'stop', card });
      const path = String(answer.path);
      await revealFile(path);
      void vscode.window.showInformationMessage(`Ringside: captured ${String(answer.framesCaptured)} frames to ${path}.`);
      return answer;
    }),

    onSession('ringside.showExitStatistics', async (session) => {
      const answer = await request(session, 'ringside/exitStatistics');
      const markdown = formatExitStatistics(answer);
      const uri = await reports.show('Exit statistics', markdown);
      return { markdown, statistics: answer, uri: uri.toString() };
    }),

    onSession('ringside.translateAddress', async (session, argument) => {
      let wanted = parseTranslateArgument(argument);
      if (wanted === undefined) {
        const typed = await vscode.window.showInputBox({
          title: 'Ringside: translate an address',
          prompt: 'A virtual address or an expression, walked through the current hart\'s page tables',
          placeHolder: '0x80001000, sp, &ticks',
          validateInput: (value) => addressInputProblem(value),
        });
        if (typed === undefined) return undefined;
        wanted = { address: normalizeAddressInput(typed) };
      }
      const answer = await request(session, 'ringside/translateAddress', { ...wanted });
      const markdown = formatTranslation(answer);
      const uri = await reports.show(`Translation of ${wanted.address}`, markdown);
      return { markdown, translation: answer, uri: uri.toString() };
    }),

    onSession('ringside.takeSnapshot', async (session, argument) => {
      let name = typeof argument === 'string' ? argument : undefined;
      if (name === undefined) {
        name = await vscode.window.showInputBox({ title: 'Ringside: take a snapshot', prompt: 'A name for the snapshot (empty: numbered)', placeHolder: 'before the bug' });
        if (name === undefined) return undefined;
      }
      const answer = await request(session, 'ringside/snapshot', { action: 'take', name });
      const taken = answer.snapshot as SnapshotListing;
      void vscode.window.showInformationMessage(`Ringside: snapshot '${taken.name}' taken at instruction ${taken.instructions[0].toLocaleString('en-US')}.`);
      return taken;
    }),

    onSession('ringside.restoreSnapshot', async (session, argument) => {
      const id = snapshotIdOf(argument) ?? await pickSnapshot(session, 'Ringside: restore which snapshot?');
      if (id === undefined) return undefined;
      const answer = await request(session, 'ringside/snapshot', { action: 'restore', id });
      return answer.snapshot as SnapshotListing;
    }),

    onSession('ringside.renameSnapshot', async (session, argument) => {
      const id = snapshotIdOf(argument) ?? await pickSnapshot(session, 'Ringside: rename which snapshot?');
      if (id === undefined) return undefined;
      let name = typeof argument === 'object' && argument !== null && typeof (argument as { name?: unknown }).name === 'string'
        ? (argument as { name: string }).name : undefined;
      if (name === undefined) {
        const current = snapshotNameOf(argument);
        name = await vscode.window.showInputBox({ title: 'Ringside: rename the snapshot', value: current, validateInput: (value) => (value.trim() === '' ? 'Type a name' : undefined) });
        if (name === undefined) return undefined;
      }
      const answer = await request(session, 'ringside/snapshot', { action: 'rename', id, name });
      return answer.snapshot as SnapshotListing;
    }),

    onSession('ringside.deleteSnapshot', async (session, argument) => {
      const id = snapshotIdOf(argument) ?? await pickSnapshot(session, 'Ringside: delete which snapshot?');
      if (id === undefined) return undefined;
      const answer = await request(session, 'ringside/snapshot', { action: 'delete', id });
      return answer.snapshots as SnapshotListing[];
    }),

    onSession('ringside.saveSnapshot', async (session, argument) => {
      const id = snapshotIdOf(argument) ?? await pickSnapshot(session, 'Ringside: save which snapshot to a file?');
      if (id === undefined) return undefined;
      let path = typeof argument === 'object' && argument !== null && typeof (argument as { path?: unknown }).path === 'string'
        ? (argument as { path: string }).path : undefined;
      if (path === undefined) {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const picked = await vscode.window.showSaveDialog({
          title: 'Ringside: save the snapshot', saveLabel: 'Save Snapshot', filters: { 'Ringside snapshots': ['snap'] },
          defaultUri: folder !== undefined ? vscode.Uri.joinPath(folder, `${(snapshotNameOf(argument) ?? 'machine').replace(/[^A-Za-z0-9_.-]+/g, '-')}.snap`) : undefined,
        });
        if (picked === undefined) return undefined;
        path = picked.fsPath;
      }
      const answer = await request(session, 'ringside/snapshot', { action: 'save', id, path });
      void vscode.window.showInformationMessage(`Ringside: snapshot saved to ${String(answer.path)} (ringside run --restore reads it).`);
      return answer;
    }),

    onSession('ringside.loadSnapshot', async (session, argument) => {
      let path = typeof argument === 'string' ? argument : undefined;
      if (path === undefined) {
        const picked = await vscode.window.showOpenDialog({ title: 'Ringside: restore a snapshot file', openLabel: 'Restore', canSelectMany: false, filters: { 'Ringside snapshots': ['snap'], 'All files': ['*'] } });
        if (picked === undefined || picked.length === 0) return undefined;
        path = picked[0].fsPath;
      }
      const answer = await request(session, 'ringside/snapshot', { action: 'load', path });
      return answer.snapshot as SnapshotListing;
    }),

    onSession('ringside.openConsole', async (session) => {
      if (session.configuration.serial !== 'terminal') {
        await vscode.commands.executeCommand('workbench.debug.action.focusRepl');
        void vscode.window.showInformationMessage(
          'Ringside: this session\'s console goes to the Debug Console. Set "serial": "terminal" in its launch configuration for a terminal you can type into.');
        return { terminal: false };
      }
      const terminal = consoles.of(session).show(false);
      return { terminal: true, name: terminal.name };
    }),
  );
}

/** A snapshot id from a command's argument: a number, {id}, or a Snapshots view row. */
function snapshotIdOf(argument: unknown): number | undefined {
  if (typeof argument === 'number' && Number.isInteger(argument)) return argument;
  if (typeof argument !== 'object' || argument === null) return undefined;
  const record = argument as { id?: unknown; snapshotId?: unknown };
  const id = record.snapshotId ?? record.id;
  return typeof id === 'number' && Number.isInteger(id) ? id : undefined;
}

function snapshotNameOf(argument: unknown): string | undefined {
  if (typeof argument !== 'object' || argument === null) return undefined;
  const listing = (argument as { listing?: { name?: unknown } }).listing;
  return typeof listing?.name === 'string' ? listing.name : undefined;
}

async function pickSnapshot(session: vscode.DebugSession, title: string): Promise<number | undefined> {
  const body = await session.customRequest('ringside/snapshot', { action: 'list' }) as { snapshots?: SnapshotListing[] };
  const snapshots = body.snapshots ?? [];
  if (snapshots.length === 0) throw new Error('Ringside: this session has no snapshots yet (Ringside: Take Snapshot).');
  const picked = await vscode.window.showQuickPick(snapshots.map((snapshot) => ({
    label: snapshot.name, description: `${snapshot.instructions[0].toLocaleString('en-US')} instructions`, id: snapshot.id,
  })), { title });
  return picked?.id;
}

/** Shows a file's folder: the OS file manager on a desktop, the Explorer when it is in the workspace. */
async function revealFile(path: string): Promise<void> {
  const uri = vscode.Uri.file(path);
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  if (folder !== undefined && !relative(folder.uri.fsPath, path).startsWith('..')) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
    return;
  }
  if (vscode.env.remoteName === undefined) {
    await vscode.commands.executeCommand('revealFileInOS', uri);
    return;
  }
  void vscode.window.showInformationMessage(`Ringside: the capture is in ${dirname(path)}.`);
}
