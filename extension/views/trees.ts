// A tree view over the view model's TreeNode rows: the Machine, Devices and Page tables views
// are each one of these, fed whole trees by the refresh logic in index.ts.

import * as vscode from 'vscode';
import type { TreeNode } from './model';

export class NodeTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  private nodes: readonly TreeNode[] = [];
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  /** Replaces every row (ids keep expansion state across refreshes). */
  setNodes(nodes: readonly TreeNode[]): void {
    this.nodes = nodes;
    this.changed.fire(undefined);
  }

  get roots(): readonly TreeNode[] {
    return this.nodes;
  }

  getChildren(element?: TreeNode): TreeNode[] {
    return [...(element === undefined ? this.nodes : element.children ?? [])];
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const collapsible = node.children === undefined || node.children.length === 0
      ? vscode.TreeItemCollapsibleState.None
      : node.expanded === true ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(node.label, collapsible);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = node.tooltip ?? (node.description !== undefined ? `${node.label}: ${node.description}` : undefined);
    if (node.icon !== undefined) item.iconPath = new vscode.ThemeIcon(node.icon);
    if (node.command !== undefined) item.command = { command: node.command.command, title: node.command.title, arguments: node.command.arguments ? [...node.command.arguments] : undefined };
    item.contextValue = node.contextValue;
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
