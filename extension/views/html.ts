// The page inside the two webviews (address-space map, trap timeline): a strict Content
// Security Policy (no network, no eval, only this page's nonce'd script and style), a status
// line and a container the extension fills with SVG through postMessage. A click on an element
// with data-address asks the extension to open that memory. No vscode import: tested in node.

export interface WebviewPageOptions {
  /** A fresh random token per page load (script and style carry it). */
  readonly nonce: string;
  /** webview.cspSource: where the page may load its own resources from. */
  readonly cspSource: string;
  readonly title: string;
}

export function contentSecurityPolicy(options: Pick<WebviewPageOptions, 'nonce' | 'cspSource'>): string {
  return [
    "default-src 'none'",
    `img-src ${options.cspSource} data:`,
    `style-src ${options.cspSource} 'nonce-${options.nonce}'`,
    `script-src 'nonce-${options.nonce}'`,
  ].join('; ');
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

export function webviewPage(options: WebviewPageOptions): string {
  if (!/^[A-Za-z0-9]{16,}$/.test(options.nonce)) throw new Error('the webview nonce must be at least 16 letters and digits');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(options))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(options.title)}</title>
<style nonce="${options.nonce}">
  body { padding: 4px 8px; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
  #status { margin: 4px 0 8px; color: var(--vscode-descriptionForeground); }
  svg { max-width: 100%; height: auto; }
  svg text { fill: var(--vscode-foreground); font-family: var(--vscode-editor-font-family); font-size: 11px; }
  svg text.gap, svg text.tick { fill: var(--vscode-descriptionForeground); font-size: 10px; }
  svg line.axis { stroke: var(--vscode-descriptionForeground); }
  svg .range { cursor: pointer; }
  svg .range:hover rect, svg .range:focus rect { stroke: var(--vscode-focusBorder); stroke-width: 2; }
  svg .range:focus { outline: none; }
</style>
</head>
<body>
<div id="status" role="status"></div>
<div id="root"></div>
<script nonce="${options.nonce}">
  const vscode = acquireVsCodeApi();
  const root = document.getElementById('root');
  const status = document.getElementById('status');
  window.addEventListener('message', (event) => {
    const message = event.data;
    if (message === null || typeof message !== 'object' || message.type !== 'show') return;
    status.textContent = typeof message.status === 'string' ? message.status : '';
    root.innerHTML = typeof message.svg === 'string' ? message.svg : '';
  });
  const open = (target) => {
    const element = target instanceof Element ? target.closest('[data-address]') : null;
    if (element === null) return;
    vscode.postMessage({ type: 'openMemory', address: element.getAttribute('data-address'), size: Number(element.getAttribute('data-size')) });
  };
  root.addEventListener('click', (event) => open(event.target));
  root.addEventListener('keydown', (event) => { if (event.key === 'Enter' || event.key === ' ') open(event.target); });
  vscode.postMessage({ type: 'ready' });
</script>
</body>
</html>`;
}
