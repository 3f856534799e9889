// What the installed .vsix holds: every file package.json points at (the entry, the adapter,
// grammars, language configurations, schemas, the activity-bar icon, walkthrough media) must be
// in the package that `vsce` would build, as `vsce ls` lists it. The source tree has these files
// everywhere, so only a look at the package catches one that .vscodeignore leaves out (the
// Ringside activity-bar icon was missing from the installed extension, an empty slot in the bar).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../dap/support';

/** Keys of `contributes` entries whose string values name files in the extension. */
const FILE_KEYS = new Set(['icon', 'path', 'configuration', 'url', 'program', 'image', 'markdown', 'svg', 'light', 'dark']);
/** Subtrees that describe the user's files (launch attributes, settings), not the extension's. */
const USER_SUBTREES = new Set(['configurationAttributes', 'initialConfigurations', 'configurationSnippets', 'configuration', 'properties']);

/** Every file the manifest refers to, with where it was found (for the failure message). */
function referencedFiles(manifest: Record<string, unknown>): Map<string, string> {
  const files = new Map<string, string>();
  const add = (value: string, where: string) => {
    // Codicons (`$(gear)`), web addresses and VS Code's own schemes are not files.
    if (value.startsWith('$(') || value.includes('${') || /^[a-z][a-z0-9+.-]*:/i.test(value)) return;
    files.set(normalize(value).replace(/\\/g, '/'), where);
  };
  const visit = (node: unknown, where: string, key: string | undefined) => {
    if (typeof node === 'string') {
      if (key !== undefined && FILE_KEYS.has(key)) add(node, where);
      return;
    }
    if (Array.isArray(node)) node.forEach((item, index) => visit(item, `${where}[${index}]`, key));
    else if (node !== null && typeof node === 'object') {
      for (const [name, value] of Object.entries(node)) {
        // `configuration` is a file in a language entry but the settings in `contributes`.
        if (USER_SUBTREES.has(name) && typeof value !== 'string') continue;
        visit(value, `${where}.${name}`, name);
      }
    }
  };
  if (typeof manifest.main === 'string') add(manifest.main, 'main');
  if (typeof manifest.icon === 'string') add(manifest.icon, 'icon');
  visit(manifest.contributes, 'contributes', undefined);
  return files;
}

test('every file package.json names is in the packaged extension (vsce ls)', { timeout: 60_000 }, () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const referenced = referencedFiles(manifest);
  // The walk must find the files we know of, or it checks nothing.
  for (const known of ['dist/extension.js', 'dist/debugAdapter.js', 'dist/syntaxes/riscv-asm.tmLanguage.json', 'extension/views/media/ringside.svg']) {
    assert.ok(referenced.has(known), `the manifest walk did not find ${known}; found ${[...referenced.keys()].join(', ')}`);
  }
  for (const [file, where] of referenced) {
    assert.ok(existsSync(join(ROOT, file)), `${where} names ${file}, which does not exist (run 'npm run build' for dist/)`);
  }
  const vsce = join(ROOT, 'node_modules/@vscode/vsce/vsce');
  const listed = new Set(
    execFileSync(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n').map((line) => line.trim()).filter((line) => line.length > 0),
  );
  assert.ok(listed.has('package.json'), `vsce ls gave no package.json: ${[...listed].join(', ')}`);
  const missing = [...referenced].filter(([file]) => !listed.has(file)).map(([file, where]) => `${file} (${where})`);
  assert.deepEqual(missing, [], `package.json names files that .vscodeignore keeps out of the .vsix: ${missing.join('; ')}`);
});
