// The Snapshots view: the active session's whole-machine snapshots (`ringside/snapshot`), each
// with restore, rename, save-to-file and delete actions; refreshed when the adapter says the
// list changed (`ringside/snapshots`) or another session becomes the shown one.

import * as vscode from 'vscode';
import type { SnapshotListing } from '../../debug-adapter/snapshots';
import { formatBytes, formatNanoseconds } from './model';

/** A row of the Snapshots view; commands run on a row get it as their argument. */
export interface SnapshotItem {
  readonly snapshotId: number;
  readonly listing: SnapshotListing;
}

export class SnapshotsTreeProvider implements vscode.TreeDataProvider<SnapshotItem>, vscode.Disposable {
  private items: SnapshotItem[] = [];
  private readonly changed = new vscode.EventEmitter<SnapshotItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly activeSession: () => vscode.DebugSession | undefined) {
    this.subscriptions.push(
      this.changed,
      vscode.debug.onDidReceiveDebugSessionCustomEvent((event) => {
        if (event.session.type !== 'ringside' || event.event !== 'ringside/snapshots' || event.session !== this.activeSession()) return;
        const listed = (event.body as { snapshots?: SnapshotListing[] } | undefined)?.snapshots;
        if (Array.isArray(listed)) this.set(listed);
      }),
      vscode.debug.onDidChangeActiveDebugSession(() => void this.refresh()),
      vscode.debug.onDidTerminateDebugSession(() => void this.refresh()),
      vscode.debug.onDidStartDebugSession(() => void this.refresh()),
    );
  }

  /** The rows shown now (for tests and scripts). */
  get rows(): readonly SnapshotItem[] {
    return this.items;
  }

  private set(listed: readonly SnapshotListing[]): void {
    this.items = listed.map((listing) => ({ snapshotId: listing.id, listing }));
    this.changed.fire(undefined);
  }

  /** Asks the active session for its snapshots. */
  async refresh(): Promise<readonly SnapshotItem[]> {
    const session = this.activeSession();
    if (session === undefined) {
      this.set([]);
      return this.items;
    }
    try {
      const body = await session.customRequest('ringside/snapshot', { action: 'list' }) as { snapshots?: SnapshotListing[] };
      this.set(body.snapshots ?? []);
    } catch {
      // A session still launching has no machine yet: the list comes with its first event.
      this.set([]);
    }
    return this.items;
  }

  getChildren(element?: SnapshotItem): SnapshotItem[] {
    return element === undefined ? [...this.items] : [];
  }

  getTreeItem(element: SnapshotItem): vscode.TreeItem {
    const { listing } = element;
    const item = new vscode.TreeItem(listing.name, vscode.TreeItemCollapsibleState.None);
    item.id = `snapshot/${listing.id}`;
    const instructions = listing.instructions.map((count) => count.toLocaleString('en-US')).join(' / ');
    item.description = `${instructions} instructions · ${formatNanoseconds(listing.virtualNanoseconds)} · ${formatBytes(listing.bytes)}`;
    item.tooltip = `${listing.name}: taken ${listing.takenAt} at ${instructions} instructions retired (virtual time ${formatNanoseconds(listing.virtualNanoseconds)}); ${formatBytes(listing.bytes)} compressed.`;
    item.iconPath = new vscode.ThemeIcon('device-camera');
    item.contextValue = 'ringside.snapshot';
    return item;
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
  }
}
