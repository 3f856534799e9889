// Loads TypeScript sources into a build script: esbuild bundles `source` (a module's text,
// resolved from the repository root) in memory, and the bundle's exports are returned.
import { build } from 'esbuild';
import { createRequire } from 'node:module';

export async function loadTypeScript(source) {
  const bundled = await build({
    stdin: { contents: source, resolveDir: '.', loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'warning',
  });
  const module = { exports: {} };
  new Function('module', 'exports', 'require', bundled.outputFiles[0].text)(module, module.exports, createRequire(import.meta.url));
  return module.exports;
}
