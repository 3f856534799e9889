// The extension's configuration logic without VS Code: F5 with no launch.json boots the demo
// kernel, `cwd` defaults to the workspace folder, and every snippet and initial configuration the
// manifest offers is valid for the one launch schema once VS Code has substituted its variables.
// The demo configuration is launched for real through the adapter: it stops on entry with the
// demo's C sources found relative to the extension's root (where they ship in the .vsix).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ATTACH_SCHEMA, BARE_KERNEL_CONFIGURATION, CONFIGURATION_SNIPPETS, debuggerContribution, validateAttachAttributes, validateLaunchAttributes,
} from '../../debug-adapter/launch-schema';
import { DEMO_KERNEL_PATH, isEmptyConfiguration, resolveConfiguration } from '../../extension/configuration';
import { openSession, ROOT } from '../dap/support';

const WORKSPACE = '/home/someone/kernel';

/**
 * What VS Code does to a snippet body before it lands in launch.json: a `^"…"` string is inserted
 * as raw text into the snippet, where `\$` is an escaped `$`; the result is JSON text.
 */
function fromSnippet(value: unknown): unknown {
  if (typeof value === 'string') return value.startsWith('^') ? JSON.parse(value.slice(1).replace(/\\\$/g, '$')) as string : value;
  if (Array.isArray(value)) return value.map(fromSnippet);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, fromSnippet(inner)]));
  return value;
}

/** VS Code's variable substitution for the one variable the snippets use. */
function substitute(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value).replace(/\$\{workspaceFolder\}/g, WORKSPACE));
}

test('F5 without launch.json: the empty configuration becomes the demo kernel, which needs no workspace', () => {
  assert.equal(isEmptyConfiguration({}), true);
  assert.equal(isEmptyConfiguration({ type: 'ringside' }), false);
  const extensionRoot = '/opt/ext/ringside-0.1.0';
  const resolved = resolveConfiguration({}, { extensionRoot });
  assert.deepEqual(resolved, {
    type: 'ringside', request: 'launch', name: 'Ringside: demo kernel', program: join(extensionRoot, DEMO_KERNEL_PATH),
    bios: 'none', stopOnEntry: true, serial: 'terminal', cwd: extensionRoot,
  });
  // With a workspace, still the demo, still rooted in the extension (its sources ship there).
  assert.equal(resolveConfiguration({}, { extensionRoot, workspaceFolder: WORKSPACE }).cwd, extensionRoot);
  validateLaunchAttributes(resolved);
});

test('a ringside configuration without cwd gets the workspace folder; an explicit cwd and other debug types are left alone', () => {
  const plain = { type: 'ringside', request: 'launch', name: 'k', program: 'kernel.elf' };
  assert.equal(resolveConfiguration(plain, { extensionRoot: '/x', workspaceFolder: WORKSPACE }).cwd, WORKSPACE);
  assert.equal(resolveConfiguration({ ...plain, cwd: '/elsewhere' }, { extensionRoot: '/x', workspaceFolder: WORKSPACE }).cwd, '/elsewhere');
  assert.equal(resolveConfiguration({ ...plain, program: '/build/kernel.elf' }, { extensionRoot: '/x' }).cwd, '/build');
  assert.equal(resolveConfiguration(plain, { extensionRoot: '/x' }).cwd, undefined, 'no folder and a relative program: the adapter decides');
  assert.equal(resolveConfiguration({ type: 'node', request: 'launch', name: 'n' }, { extensionRoot: '/x', workspaceFolder: WORKSPACE }).cwd, undefined);
  assert.notEqual(resolveConfiguration(plain, { extensionRoot: '/x', workspaceFolder: WORKSPACE }), plain, 'the input is not changed');
});

test('every snippet body is valid for the launch or attach schema once its variables are substituted', () => {
  const contribution = debuggerContribution() as { configurationSnippets: Array<{ label: string; body: unknown }>; initialConfigurations: unknown[] };
  assert.deepEqual(contribution.configurationSnippets.map((snippet) => snippet.label), [
    'Ringside: bare-metal kernel', 'Ringside: OpenSBI + kernel', 'Ringside: Linux with initrd and disk', 'Ringside: attach to ringside run --debug-port',
  ]);
  for (const [index, snippet] of contribution.configurationSnippets.entries()) {
    const configuration = fromSnippet(snippet.body) as Record<string, unknown>;
    assert.deepEqual(configuration, CONFIGURATION_SNIPPETS[index].configuration, `${snippet.label}: the body round-trips`);
    const concrete = substitute(configuration) as Record<string, unknown>;
    assert.doesNotMatch(JSON.stringify(concrete), /\$\{/, `${snippet.label}: only \${workspaceFolder} is used`);
    if (concrete.request === 'attach') validateAttachAttributes(concrete);
    else validateLaunchAttributes(concrete);
  }
  assert.deepEqual(contribution.initialConfigurations, [BARE_KERNEL_CONFIGURATION]);
  validateLaunchAttributes(substitute(BARE_KERNEL_CONFIGURATION));
  assert.ok(ATTACH_SCHEMA.properties?.port !== undefined);
  // A broken snippet would be caught: the schema does check.
  assert.throws(() => validateLaunchAttributes({ ...(substitute(CONFIGURATION_SNIPPETS[1].configuration) as object), memory: 'lots' }), /memory/);
});

test('the demo configuration launches through the adapter: stopped on entry, its C source found under the extension root', { timeout: 60_000 }, async () => {
  const configuration = resolveConfiguration({}, { extensionRoot: ROOT });
  assert.ok(existsSync(configuration.program as string));
  const session = await openSession();
  try {
    const { type: _type, request: _request, name: _name, ...attributes } = configuration;
    await session.launch(attributes, async () => {
      await session.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'kmain' }] });
    });
    const entry = await session.stopped();
    assert.equal(entry.reason, 'entry');
    await session.client.continueRequest({ threadId: 1 });
    assert.equal((await session.stopped()).reason, 'function breakpoint');
    const frame = await session.topFrame();
    assert.equal(frame.name, 'kmain');
    assert.equal(frame.source?.path, join(ROOT, 'guests/demo/kernel.c'));
    assert.ok(existsSync(frame.source!.path!));
  } finally {
    await session.close();
  }
});
