// `npm run package` makes ringside.vsix with @vscode/vsce: this runs the package script's vsce
// command (on the dist/ the test run built) into a temporary file and reads the archive: the
// bundles, the demo kernel and its sources and the walkthrough are in it; sources, tests,
// fixtures, source maps, node_modules and native modules are not; the manifest inside is the
// repository's, its entry point and every walkthrough page it names are in the archive, and
// every command the extension registers is contributed.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, test } from 'node:test';
import { COMMAND_IDS } from '../../extension/command-ids';
import { listZip, readZipEntry } from '../support/zip';
import { ROOT } from '../dap/support';

const scratch = mkdtempSync(join(tmpdir(), 'ringside-package-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Manifest {
  name: string;
  publisher: string;
  version: string;
  main: string;
  engines: { vscode: string };
  scripts: Record<string, string>;
  contributes: {
    commands: Array<{ command: string; title: string; category: string }>;
    walkthroughs: Array<{ steps: Array<{ media: { markdown?: string; image?: string } }> }>;
    debuggers: Array<{ type: string; program: string }>;
  };
}

test('the .vsix holds the bundles, the demo kernel and its sources, the walkthrough, a valid manifest, and nothing else', { timeout: 120_000 }, () => {
  const repositoryManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;
  const script = repositoryManifest.scripts.package;
  const prefix = 'node scripts/build.mjs && vsce package ';
  assert.ok(script.startsWith(prefix), `the package script builds then runs vsce: ${script}`);
  assert.match(script, /--no-dependencies/);
  assert.ok(existsSync(join(ROOT, 'dist/extension.js')), 'dist/ is built (npm test builds it; or run node scripts/build.mjs)');
  const output = join(scratch, 'ringside.vsix');
  const vsceArguments = script.slice(prefix.length).split(' ').map((word) => (word === 'ringside.vsix' ? output : word));
  const packaged = spawnSync(process.execPath, [join(ROOT, 'node_modules/@vscode/vsce/vsce'), 'package', ...vsceArguments], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(packaged.status, 0, `${packaged.stdout}${packaged.stderr}`);

  const archive = readFileSync(output);
  const entries = listZip(archive);
  const names = entries.map((entry) => entry.name);
  for (const required of [
    'extension.vsixmanifest', '[Content_Types].xml', 'extension/package.json', 'extension/readme.md',
    'extension/dist/extension.js', 'extension/dist/debugAdapter.js', 'extension/dist/cli.js',
    'extension/guests/bin/demo.elf', 'extension/guests/demo/kernel.c', 'extension/guests/demo/user.c', 'extension/guests/demo/start.S',
    'extension/guests/demo/demo.h',
  ]) {
    assert.ok(names.includes(required), `${required} is in the .vsix`);
  }
  assert.ok(names.some((name) => /^extension\/LICENSE(\.txt)?$/i.test(name)), 'the license is in the .vsix');
  for (const name of names) {
    assert.doesNotMatch(name, /\.ts$|\.map$|\.node$|node_modules\/|^extension\/(test|vmm-core|debug-adapter|scripts|bench)\//, `${name} must not be in the .vsix`);
    assert.ok(!name.startsWith('extension/guests/bin/') || name === 'extension/guests/bin/demo.elf', `${name}: only the demo kernel ships`);
  }
  // Every bundle the build makes ships (other parts of the extension add bundles to dist/).
  for (const bundle of ['extension.js', 'debugAdapter.js', 'adapterWorker.js', 'languageServer.js', 'cli-main.js', 'translationWorker.js', 'symbolIndexWorker.js']) {
    if (existsSync(join(ROOT, 'dist', bundle))) assert.ok(names.includes(`extension/dist/${bundle}`), `dist/${bundle} ships`);
  }

  const manifest = JSON.parse(readZipEntry(archive, entries.find((entry) => entry.name === 'extension/package.json')!).toString('utf8')) as Manifest;
  assert.deepEqual(manifest.contributes, repositoryManifest.contributes, 'the manifest inside is the generated one');
  assert.equal(`${manifest.publisher}.${manifest.name}`, 'ringside.ringside');
  assert.ok(names.includes(posix.join('extension', manifest.main.replace(/^\.\//, ''))), 'main is in the archive');
  assert.ok(names.includes(posix.join('extension', manifest.contributes.debuggers[0].program.replace(/^\.\//, ''))), 'the adapter program is in the archive');
  const engine = /^\^?(\d+)\.(\d+)\./.exec(manifest.engines.vscode);
  assert.ok(engine !== null && Number(engine[1]) === 1 && Number(engine[2]) <= 100, `engines.vscode ${manifest.engines.vscode} is at most 1.100 (code-server 4.100.3)`);
  // The extension core's commands (command-ids.ts) and the views' (their contributes fragment).
  const viewCommands = (JSON.parse(readFileSync(join(ROOT, 'extension/contributes/views.json'), 'utf8')) as { commands: Array<{ command: string }> }).commands.map((command) => command.command);
  assert.deepEqual(manifest.contributes.commands.map((command) => command.command).sort(), [...COMMAND_IDS, ...viewCommands].sort());
  for (const command of manifest.contributes.commands) assert.equal(command.category, 'Ringside', command.command);
  for (const step of manifest.contributes.walkthroughs.flatMap((walkthrough) => walkthrough.steps)) {
    const media = step.media.markdown ?? step.media.image;
    assert.ok(media !== undefined && names.includes(`extension/${media}`), `walkthrough media ${media} is in the archive`);
  }
  const vsixManifest = readZipEntry(archive, entries.find((entry) => entry.name === 'extension.vsixmanifest')!).toString('utf8');
  assert.match(vsixManifest, /<Identity [^>]*Id="ringside"[^>]*Publisher="ringside"/);
  assert.match(vsixManifest, /Microsoft\.VisualStudio\.Code\.Engine" Value="\^1\.100\.0"/);
});
