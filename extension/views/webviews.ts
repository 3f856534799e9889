// The two pictures as webview views in the Ringside container: the page (html.ts) is loaded
// once; each refresh posts new SVG. Clicks on a range come back as "open memory" messages.

import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { webviewPage } from './html';

export interface PictureContent {
  readonly status: string;
  readonly svg: string;
}

export class PictureViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private content: PictureContent = { status: '', svg: '' };
  private readonly visibilityChanged = new vscode.EventEmitter<boolean>();
  /** Fires true when the view becomes visible (then it wants fresh content). */
  readonly onDidChangeVisibility = this.visibilityChanged.event;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly title: string,
    private readonly onOpenMemory: (address: string, size: number) => void,
  ) {}

  get visible(): boolean {
    return this.view?.visible === true;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    view.webview.options = { enableScripts: true, localResourceRoots: [] };
    view.webview.html = webviewPage({ nonce: randomBytes(16).toString('hex'), cspSource: view.webview.cspSource, title: this.title });
    this.subscriptions.push(
      view.webview.onDidReceiveMessage((message: unknown) => {
        if (typeof message !== 'object' || message === null) return;
        const { type, address, size } = message as { type?: unknown; address?: unknown; size?: unknown };
        if (type === 'ready') {
          this.ready = true;
          this.post();
          this.visibilityChanged.fire(true);
        } else if (type === 'openMemory' && typeof address === 'string' && /^0x[0-9a-f]+$/i.test(address)) {
          this.onOpenMemory(address, typeof size === 'number' && Number.isFinite(size) ? size : 256);
        }
      }),
      view.onDidChangeVisibility(() => this.visibilityChanged.fire(view.visible)),
      view.onDidDispose(() => {
        this.view = undefined;
        this.ready = false;
      }),
    );
  }

  show(content: PictureContent): void {
    this.content = content;
    this.post();
  }

  /** What the view shows now (for tests and the status). */
  get current(): PictureContent {
    return this.content;
  }

  private post(): void {
    if (this.view === undefined || !this.ready) return;
    void this.view.webview.postMessage({ type: 'show', status: this.content.status, svg: this.content.svg });
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.visibilityChanged.dispose();
  }
}
