// The page inside the pictures webview (address-space map, trap timeline): a strict Content
// Security Policy (no network, no eval, only this page's nonce'd script and style) and one
// section per picture (a heading, a status line, a container the extension fills with SVG
// through postMessage). A click on an element with data-address asks the extension to open that
// memory. No vscode import: tested in node.

export interface WebviewPageOptions {
  /** A fresh random token per page load (script and style carry it). */
  readonly nonce: string;
  /** webview.cspSource: where the page may load its own resources from. */
  readonly cspSource: string;
  readonly title: string;
  /** The pictures, top to bottom: `id` names the section in messages, `heading` is shown above it. */
  readonly parts: readonly { readonly id: string; readonly heading: string }[];
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
  for (const part of options.parts) if (!/^[a-z][a-z0-9-]*$/.test(part.id)) throw new Error(`the picture id '${part.id}' must be lower-case letters, digits and dashes`);
  const sections = options.parts
    .map((part) => `<section id="${part.id}"><h3>${escapeHtml(part.heading)}</h3><div class="status" role="status"></div><div class="picture"></div></section>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(options))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(options.title)}</title>
<style nonce="${options.nonce}">
  body { padding: 4px 8px; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
  h3 { margin: 8px 0 2px; font-size: 11px; font-weight: bold; text-transform: uppercase; }
  .status { margin: 4px 0 8px; color: var(--vscode-descriptionForeground); }
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
${sections}
<script nonce="${options.nonce}">
  const vscode = acquireVsCodeApi();
  const section = (id) => (typeof id === 'string' && /^[a-z][a-z0-9-]*$/.test(id) ? document.getElementById(id) : null);
  window.addEventListener('message', (event) => {
    const message = event.data;
    if (message === null || typeof message !== 'object') return;
    const target = section(message.part);
    if (target === null) return;
    if (message.type === 'show') {
      target.querySelector('.status').textContent = typeof message.status === 'string' ? message.status : '';
      target.querySelector('.picture').innerHTML = typeof message.svg === 'string' ? message.svg : '';
    } else if (message.type === 'reveal') {
      target.scrollIntoView({ block: 'start' });
    }
  });
  const open = (target) => {
    const element = target instanceof Element ? target.closest('[data-address]') : null;
    if (element === null) return;
    vscode.postMessage({ type: 'openMemory', address: element.getAttribute('data-address'), size: Number(element.getAttribute('data-size')) });
  };
  document.body.addEventListener('click', (event) => open(event.target));
  document.body.addEventListener('keydown', (event) => { if (event.key === 'Enter' || event.key === ' ') open(event.target); });
  vscode.postMessage({ type: 'ready' });
</script>
</body>
</html>`;
}
