// The two pictures (address-space map, trap timeline) in ONE webview view of the Ringside
// container: the page (html.ts) is loaded once; each refresh posts new SVG for one picture.
// Clicks on a range come back as "open memory" messages.
// One webview, not two, because code-server serves every webview host from one origin: two hosts
// loading at once race on that origin's service worker, and the loser waits forever for a
// `controllerchange` that already happened (its view stays blank; about 1 in 10 UI runs had two).

import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { webviewPage } from './html';

export interface PictureContent {
  readonly status: string;
  readonly svg: string;
}

export type PictureId = 'map' | 'timeline';

const PARTS: readonly { readonly id: PictureId; readonly heading: string }[] = [
  { id: 'map', heading: 'Address space map' },
  { id: 'timeline', heading: 'Trap timeline' },
];

export class PicturesViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private readonly contents = new Map<PictureId, PictureContent>(PARTS.map((part) => [part.id, { status: '', svg: '' }]));
  /** The picture to scroll to once the page is ready (a show command came before it was). */
  private pendingReveal: PictureId | undefined;
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
    view.webview.html = webviewPage({ nonce: randomBytes(16).toString('hex'), cspSource: view.webview.cspSource, title: this.title, parts: PARTS });
    this.subscriptions.push(
      view.webview.onDidReceiveMessage((message: unknown) => {
        if (typeof message !== 'object' || message === null) return;
        const { type, address, size } = message as { type?: unknown; address?: unknown; size?: unknown };
        if (type === 'ready') {
          this.ready = true;
          for (const part of PARTS) this.post(part.id);
          if (this.pendingReveal !== undefined) this.reveal(this.pendingReveal);
          this.visibilityChanged.fire(true);
        } else if (type === 'openMemory' && typeof address === 'string' && /^0x[0-9a-f]+$/i.test(address)) {
          this.onOpenMemory(address, typeof size === 'number' && Number.isFinite(size) ? size : 256);
        }
      }),
      view.onDidChangeVisibility(() => this.visibilityChanged.fire(view.visible)),
      view.onDidDispose(() => {
        // A view resolved again meanwhile is not this one.
        if (this.view !== view) return;
        this.view = undefined;
        this.ready = false;
      }),
    );
  }

  show(part: PictureId, content: PictureContent): void {
    this.contents.set(part, content);
    this.post(part);
  }

  /** Scrolls the page to `part` (now, or once the page is ready). */
  reveal(part: PictureId): void {
    if (this.view === undefined || !this.ready) {
      this.pendingReveal = part;
      return;
    }
    this.pendingReveal = undefined;
    void this.view.webview.postMessage({ type: 'reveal', part });
  }

  /** What the view shows now for `part` (for tests and the status). */
  current(part: PictureId): PictureContent {
    return this.contents.get(part) ?? { status: '', svg: '' };
  }

  private post(part: PictureId): void {
    if (this.view === undefined || !this.ready) return;
    const content = this.current(part);
    void this.view.webview.postMessage({ type: 'show', part, status: content.status, svg: content.svg });
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.visibilityChanged.dispose();
  }
}
