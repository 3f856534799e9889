// Relative DWARF source paths (the guests are built with -fdebug-prefix-map=$ROOT=., so they
// record guests/demo/start.S) when launch.json names no cwd: never against the adapter's
// working directory (VS Code's), but from the program's directory up to where the sources are.
// An explicit cwd is used as given.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { ADAPTER, guestPath, ROOT, Session } from './support';

/** The stdio adapter started in an unrelated directory, as VS Code starts it. */
async function adapterElsewhere(): Promise<Session> {
  const client = new DebugClient('node', ADAPTER, 'ringside', { cwd: mkdtempSync(join(tmpdir(), 'ringside-elsewhere-')) });
  client.defaultTimeout = 15_000;
  await client.start();
  return new Session(client, 'stdio');
}

async function entryFrame(session: Session, launch: Record<string, unknown>): Promise<DebugProtocol.StackFrame> {
  await session.client.initializeRequest({ adapterID: 'ringside', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  await session.client.launchRequest({ stopOnEntry: true, ...launch } as DebugProtocol.LaunchRequestArguments);
  await session.next('initialized');
  await session.client.configurationDoneRequest();
  await session.stopped();
  return session.topFrame();
}

test('without cwd, relative DWARF paths resolve from the program\'s directory up, not the adapter\'s', { timeout: 30_000 }, async () => {
  const session = await adapterElsewhere();
  try {
    // guests/bin/demo.elf names guests/demo/start.S: found two levels up, at the repository root.
    const frame = await entryFrame(session, { program: guestPath('demo') });
    assert.equal(frame.source?.path, join(ROOT, 'guests/demo/start.S'));
  } finally {
    await session.close();
  }
});

test('without cwd, a program next to its source tree finds its own copy of the sources', { timeout: 30_000 }, async () => {
  const tree = mkdtempSync(join(tmpdir(), 'ringside-tree-'));
  mkdirSync(join(tree, 'out'), { recursive: true });
  mkdirSync(join(tree, 'guests/demo'), { recursive: true });
  copyFileSync(guestPath('demo'), join(tree, 'out/kernel.elf'));
  writeFileSync(join(tree, 'guests/demo/start.S'), '# a copy of the source tree\n');
  const session = await adapterElsewhere();
  try {
    const frame = await entryFrame(session, { program: join(tree, 'out/kernel.elf') });
    assert.equal(frame.source?.path, join(tree, 'guests/demo/start.S'));
  } finally {
    await session.close();
  }
});

test('an explicit cwd is where relative DWARF paths resolve, as given', { timeout: 30_000 }, async () => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'ringside-cwd-'));
  const session = await adapterElsewhere();
  try {
    const frame = await entryFrame(session, { program: guestPath('demo'), cwd: elsewhere });
    assert.equal(frame.source?.path, join(elsewhere, 'guests/demo/start.S'));
  } finally {
    await session.close();
  }
});
