// The Ringside views: a view container `ringside` with the Machine, Devices and Page tables
// trees, the address-space map and the trap timeline (webview views), and a status-bar item
// with the run state and the selected hart's privilege. They show the active ringside debug
// session and refresh when the adapter says the machine ran, stopped or exited
// (`ringside/stateChanged`); while it runs, once a second, and only the views that are visible.
// This folder owns everything the views draw; the adapter's answers come from
// debug-adapter/view-requests.ts.

import * as vscode from 'vscode';
import type { DeviceState } from '../../debug-adapter/state/devices';
import type { AddressSpaceMapBody, MachineStateBody, TrapHistoryBody } from '../../debug-adapter/view-requests';
import { MEMORY_DUMP_SCHEME, MemoryDumpProvider, openMemory } from './memory';
import {
  binTimeline, devicesTree, formatBytes, formatNanoseconds, machineTree, pageTablesTree, renderAddressMapSvg, renderTimelineSvg,
  statusBarText, type PageTablesAnswer, type TreeNode,
} from './model';
import { NoSessionError, RingsideSessionWatcher } from './session-watcher';
import { NodeTreeProvider } from './trees';
import { type SnapshotItem, SnapshotsTreeProvider } from './snapshots';
import { type PictureContent, type PictureId, PicturesViewProvider } from './webviews';

export const VIEW_IDS = {
  container: 'ringside',
  machine: 'ringside.machine',
  snapshots: 'ringside.snapshots',
  devices: 'ringside.devices',
  pageTables: 'ringside.pageTables',
  /** One webview with both pictures (webviews.ts says why not two). */
  pictures: 'ringside.pictures',
} as const;

/** While the guest runs, visible views refresh this often. */
const RUNNING_REFRESH_MILLISECONDS = 1000;
const TIMELINE_BINS = 60;
const NO_SESSION = 'No Ringside debug session is active.';

type PageTablesQuery = { kind: 'space'; from?: string } | { kind: 'address'; address: string };

/** What the views show after a refresh (returned by ringside.refreshViews, for tests and scripts). */
export interface ViewsSnapshot {
  readonly session: string | undefined;
  readonly machine: readonly TreeNode[];
  readonly devices: readonly TreeNode[];
  readonly pageTables: readonly TreeNode[];
  readonly addressSpaceMap: PictureContent;
  readonly trapTimeline: PictureContent;
  readonly statusBar: string | undefined;
  readonly snapshots: readonly SnapshotItem[];
}

class ViewsController implements vscode.Disposable {
  private readonly machine = new NodeTreeProvider();
  private readonly devices = new NodeTreeProvider();
  private readonly pages = new NodeTreeProvider();
  private readonly machineView: vscode.TreeView<TreeNode>;
  private readonly devicesView: vscode.TreeView<TreeNode>;
  private readonly pagesView: vscode.TreeView<TreeNode>;
  private readonly pictures: PicturesViewProvider;
  private readonly status: vscode.StatusBarItem;
  private pageQuery: PageTablesQuery = { kind: 'space' };
  /** Why the last page-table refresh failed, if it did. */
  private pagesError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private readonly subscriptions: vscode.Disposable[] = [];

  private readonly snapshotRows: SnapshotsTreeProvider;

  constructor(private readonly watcher: RingsideSessionWatcher) {
    this.snapshotRows = new SnapshotsTreeProvider(() => this.watcher.session);
    this.subscriptions.push(this.snapshotRows, vscode.window.createTreeView(VIEW_IDS.snapshots, { treeDataProvider: this.snapshotRows }));
    this.machineView = vscode.window.createTreeView(VIEW_IDS.machine, { treeDataProvider: this.machine, showCollapseAll: true });
    this.devicesView = vscode.window.createTreeView(VIEW_IDS.devices, { treeDataProvider: this.devices, showCollapseAll: true });
    this.pagesView = vscode.window.createTreeView(VIEW_IDS.pageTables, { treeDataProvider: this.pages, showCollapseAll: true });
    const open = (address: string, size: number) => {
      openMemory(this.watcher, address, size).catch((error: unknown) => {
        if (!(error instanceof Error && error.message === 'no Ringside debug session')) void vscode.window.showErrorMessage(`Ringside: cannot open memory at ${address}: ${(error as Error).message}`);
      });
    };
    this.pictures = new PicturesViewProvider('Address space and traps', open);
    this.status = vscode.window.createStatusBarItem('ringside.status', vscode.StatusBarAlignment.Left, 50);
    this.status.name = 'Ringside';
    this.status.command = 'ringside.showMachineView';
    this.subscriptions.push(
      this.machineView, this.devicesView, this.pagesView, this.machine, this.devices, this.pages, this.pictures, this.status,
      vscode.window.registerWebviewViewProvider(VIEW_IDS.pictures, this.pictures),
      watcher.onDidChange(() => this.schedule()),
      ...[this.machineView, this.devicesView, this.pagesView].map((view) => view.onDidChangeVisibility((event) => {
        if (event.visible) this.schedule();
      })),
      this.pictures.onDidChangeVisibility((visible) => visible && this.schedule()),
    );
    this.schedule();
  }

  // ---- commands -------------------------------------------------------------------------------

  /** Shows the pictures view scrolled to `part`. */
  async showPicture(part: PictureId): Promise<void> {
    this.pictures.reveal(part);
    await vscode.commands.executeCommand(`${VIEW_IDS.pictures}.focus`);
    this.pictures.reveal(part);
  }

  async lookUp(address: unknown): Promise<PageTablesAnswer | undefined> {
    let text = typeof address === 'string' || typeof address === 'number' ? String(address) : undefined;
    if (text === undefined) {
      text = await vscode.window.showInputBox({
        title: 'Page tables: walk an address',
        prompt: 'A virtual address or expression (0x80001000, user_entry, sp, $sepc)',
        validateInput: (value) => (value.trim() === '' ? 'Type an address or expression' : undefined),
      });
      if (text === undefined) return undefined;
    }
    const query = { kind: 'address' as const, address: text.trim() };
    this.pageQuery = query;
    await vscode.commands.executeCommand(`${VIEW_IDS.pageTables}.focus`);
    const answer = await this.refreshPages(true);
    // The adapter answers the views quietly; a walk the person asked for says why it failed once.
    if (answer === undefined && this.pagesError !== undefined) void vscode.window.showErrorMessage(`Ringside: cannot walk '${query.address}': ${this.pagesError}`);
    return answer;
  }

  async wholeSpace(from?: unknown): Promise<PageTablesAnswer | undefined> {
    this.pageQuery = typeof from === 'string' ? { kind: 'space', from } : { kind: 'space' };
    return this.refreshPages(true);
  }

  // ---- refreshing -----------------------------------------------------------------------------

  /** Refreshes soon; refreshes asked for meanwhile fold into one. */
  schedule(): void {
    if (this.refreshing !== undefined) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = this.refresh(false).finally(() => {
      this.refreshing = undefined;
      if (this.refreshAgain) {
        this.refreshAgain = false;
        this.schedule();
      }
    });
  }

  /** Refreshes every view (visible or not) and says what they show. */
  async snapshot(): Promise<ViewsSnapshot> {
    await this.refreshing;
    await this.refresh(true);
    return {
      session: this.watcher.session?.id,
      machine: this.machine.roots,
      devices: this.devices.roots,
      pageTables: this.pages.roots,
      addressSpaceMap: this.pictures.current('map'),
      trapTimeline: this.pictures.current('timeline'),
      statusBar: this.status.text === '' ? undefined : this.status.text,
      snapshots: await this.snapshotRows.refresh(),
    };
  }

  private async refresh(force: boolean): Promise<void> {
    const session = this.watcher.session;
    void vscode.commands.executeCommand('setContext', 'ringside.sessionActive', session !== undefined);
    this.updateTimer();
    if (session === undefined) {
      this.showNoSession();
      return;
    }
    await Promise.all([
      this.refreshStatus(),
      force || this.machineView.visible
        ? this.refreshTree(this.machineView, this.machine, async () => machineTree(await this.watcher.request<MachineStateBody>('ringside/machineState'), this.watcher.selectedThreadId))
        : undefined,
      force || this.devicesView.visible ? this.refreshTree(this.devicesView, this.devices, async () => devicesTree(await this.watcher.request<DeviceState>('ringside/deviceState'))) : undefined,
      force || this.pagesView.visible ? this.refreshPages(force) : undefined,
      force || this.pictures.visible ? this.refreshMap() : undefined,
      force || this.pictures.visible ? this.refreshTimeline() : undefined,
    ]);
  }

  private showNoSession(): void {
    for (const [view, provider] of [[this.machineView, this.machine], [this.devicesView, this.devices], [this.pagesView, this.pages]] as const) {
      provider.setNodes([]);
      // The welcome text (contributes.viewsWelcome) says it with a button to start one.
      view.message = undefined;
    }
    const content = { status: `${NO_SESSION} Start one with F5 (a "ringside" configuration) or "Ringside: Run the Demo Kernel".`, svg: '' };
    this.pictures.show('map', content);
    this.pictures.show('timeline', content);
    this.status.hide();
    this.status.text = '';
  }

  private async refreshStatus(): Promise<void> {
    try {
      const state = await this.watcher.request<MachineStateBody>('ringside/machineState');
      const text = statusBarText(state, this.watcher.selectedThreadId);
      this.status.text = text.text;
      this.status.tooltip = text.tooltip;
    } catch (error) {
      const text = statusBarText(undefined);
      this.status.text = error instanceof NoSessionError ? text.text : '$(debug-disconnect) Ringside';
      this.status.tooltip = error instanceof NoSessionError ? text.tooltip : `Ringside: ${(error as Error).message}`;
    }
    this.status.show();
  }

  /** Fills a tree; on failure shows why in the view (`failure` words what was asked) and returns the message. */
  private async refreshTree(view: vscode.TreeView<TreeNode>, provider: NodeTreeProvider, build: () => Promise<TreeNode[]>, failure = 'Could not read the machine'): Promise<string | undefined> {
    try {
      provider.setNodes(await build());
      view.message = undefined;
      return undefined;
    } catch (error) {
      provider.setNodes([]);
      view.message = error instanceof NoSessionError ? NO_SESSION : `${failure}: ${(error as Error).message}`;
      return error instanceof NoSessionError ? undefined : (error as Error).message;
    }
  }

  private async refreshPages(force: boolean): Promise<PageTablesAnswer | undefined> {
    if (!force && !this.pagesView.visible) return undefined;
    let answer: PageTablesAnswer | undefined;
    const query = this.pageQuery;
    this.pagesError = await this.refreshTree(this.pagesView, this.pages, async () => {
      answer = await this.watcher.request<PageTablesAnswer>('ringside/pageTables', {
        ...this.threadArgument(), ...(query.kind === 'address' ? { address: query.address } : query.from !== undefined ? { from: query.from } : {}),
      });
      return pageTablesTree(answer);
    }, query.kind === 'address' ? `Cannot walk '${query.address}'` : 'Could not read the page tables');
    if (query.kind === 'address') this.pagesView.description = `walk of ${query.address}`;
    else this.pagesView.description = query.from !== undefined ? `from ${query.from}` : 'whole address space';
    return answer;
  }

  /** The hart selected in the Call Stack view, for requests about one hart. */
  private threadArgument(): { threadId?: number } {
    const threadId = this.watcher.selectedThreadId;
    return threadId === undefined ? {} : { threadId };
  }

  private async refreshMap(): Promise<void> {
    try {
      const map = await this.watcher.request<AddressSpaceMapBody>('ringside/addressSpaceMap', this.threadArgument());
      const status = map.note !== undefined
        ? `hart ${map.hartId} in ${map.privilege}-mode: ${map.note}`
        : `hart ${map.hartId} in ${map.privilege}-mode · ${map.mode} · satp ${map.satp} · ${map.ranges.length} ranges, ${formatBytes(map.mappedBytes)} mapped` +
          `${map.hartTranslates ? '' : ' · (not translating now: M-mode)'}${map.truncated ? ` · first ${map.ranges.length} ranges only` : ''} · click a range to open its memory`;
      this.pictures.show('map', { status, svg: map.ranges.length > 0 ? renderAddressMapSvg(map) : '' });
    } catch (error) {
      this.pictures.show('map', { status: error instanceof NoSessionError ? NO_SESSION : `Could not read the page tables: ${(error as Error).message}`, svg: '' });
    }
  }

  private async refreshTimeline(): Promise<void> {
    try {
      const history = await this.watcher.request<TrapHistoryBody>('ringside/trapHistory', { limit: 4096 });
      const bins = binTimeline(history.traps, TIMELINE_BINS);
      const traps = bins.series.reduce((sum, series) => sum + series.total, 0);
      const status = traps === 0
        ? `No traps yet (${history.total} transitions recorded).`
        : `${traps} traps by cause, ${formatNanoseconds(bins.start)} – ${formatNanoseconds(bins.end)} of virtual time` +
          `${history.total > history.traps.length ? ` (the last ${history.traps.length} of ${history.total} transitions)` : ''}`;
      this.pictures.show('timeline', { status, svg: traps === 0 ? '' : renderTimelineSvg(bins) });
    } catch (error) {
      this.pictures.show('timeline', { status: error instanceof NoSessionError ? NO_SESSION : `Could not read the trap history: ${(error as Error).message}`, svg: '' });
    }
  }

  /** Polls only while the guest runs and something is on screen. */
  private updateTimer(): void {
    const poll = this.watcher.session !== undefined && this.watcher.runState === 'running';
    if (poll && this.timer === undefined) {
      this.timer = setInterval(() => {
        if (this.watcher.runState !== 'running') this.updateTimer();
        else this.schedule();
      }, RUNNING_REFRESH_MILLISECONDS);
    } else if (!poll && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  dispose(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const subscription of this.subscriptions) subscription.dispose();
  }
}

/** Registers the Ringside views, their commands and the status-bar item. */
export function activateViews(context: vscode.ExtensionContext): void {
  const watcher = new RingsideSessionWatcher();
  const controller = new ViewsController(watcher);
  context.subscriptions.push(
    watcher,
    controller,
    vscode.workspace.registerTextDocumentContentProvider(MEMORY_DUMP_SCHEME, new MemoryDumpProvider(watcher)),
    vscode.commands.registerCommand('ringside.showMachineView', () => vscode.commands.executeCommand(`${VIEW_IDS.machine}.focus`)),
    vscode.commands.registerCommand('ringside.showAddressSpaceMap', () => controller.showPicture('map')),
    vscode.commands.registerCommand('ringside.showTrapTimeline', () => controller.showPicture('timeline')),
    vscode.commands.registerCommand('ringside.refreshViews', () => controller.snapshot()),
    vscode.commands.registerCommand('ringside.pageTables.lookUp', (address?: unknown) => {
      if (watcher.session === undefined) {
        void vscode.window.showWarningMessage(`Ringside: ${NO_SESSION}`);
        return undefined;
      }
      return controller.lookUp(address);
    }),
    vscode.commands.registerCommand('ringside.pageTables.wholeSpace', () => controller.wholeSpace()),
    vscode.commands.registerCommand('ringside.pageTables.more', (from?: unknown) => controller.wholeSpace(from)),
    vscode.commands.registerCommand('ringside.openMemory', (address?: unknown, size?: unknown) => {
      if (typeof address !== 'string' || !/^0x[0-9a-f]+$/i.test(address)) {
        void vscode.window.showErrorMessage('Ringside: ringside.openMemory needs an address such as 0x80000000');
        return undefined;
      }
      return openMemory(watcher, address, typeof size === 'number' ? size : 256).catch(() => undefined);
    }),
  );
}
