// dist/cli.js, the `ringside` command: starts the CLI's bundle (dist/cli-main.js, built from
// main.ts) from V8's code cache when one exists. Compiling the 0.8 MB bundle and the functions
// a run calls costs 20-40 ms on every start (a trivial run takes 0.3 s in all); the cache, kept
// in ~/.cache/ringside/v8 (or $XDG_CACHE_HOME) per bundle and Node version, is written by the
// first run; a file whose checksum is wrong is ignored, and V8 rejects a cache made for another
// source, V8 or flag set (the bundle is then compiled as usual and the cache rewritten). Any
// failure around the cache falls back to the plain compile.

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** What node:module exports beyond its typings: the CommonJS wrapper and module paths. */
interface ModuleInternals {
  wrap(source: string): string;
  _nodeModulePaths(directory: string): string[];
}
type CommonJsModule = NodeJS.Module & { filename: string; paths: string[]; loaded: boolean };
type CommonJsModuleConstructor = new (id: string, parent?: NodeJS.Module) => CommonJsModule;

const bundlePath = join(__dirname, 'cli-main.js');

/** The cache file for this bundle (by size and modification time) and this Node, or undefined. */
function cachePath(): string | undefined {
  try {
    const stat = statSync(bundlePath);
    const base = process.env.XDG_CACHE_HOME !== undefined && process.env.XDG_CACHE_HOME !== ''
      ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache');
    const key = `${stat.size.toString(36)}-${Math.floor(stat.mtimeMs).toString(36)}-${process.version}-${process.arch}`;
    return join(base, 'ringside', 'v8', `cli-main-${key}.cache`);
  } catch {
    return undefined;
  }
}

// A cache file: this magic, the SHA-256 of the data, the data. V8 does not check the data it
// is given (a damaged cache aborts the process), so a file whose digest is wrong is ignored.
const CACHE_MAGIC = Buffer.from('RSV8');
const DIGEST_BYTES = 32;

function digest(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

function readCache(path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    const file = readFileSync(path);
    const header = CACHE_MAGIC.length + DIGEST_BYTES;
    if (file.length <= header || !file.subarray(0, CACHE_MAGIC.length).equals(CACHE_MAGIC)) return undefined;
    const data = file.subarray(header);
    return digest(data).equals(file.subarray(CACHE_MAGIC.length, header)) ? data : undefined;
  } catch {
    return undefined;
  }
}

/** Caches kept for other bundles (earlier builds, other checkouts); older ones are deleted. */
const KEPT_CACHES = 8;

/** Written whole under a temporary name, then renamed: parallel runs never read half a file. */
function writeCache(path: string, data: Buffer): void {
  try {
    const directory = dirname(path);
    mkdirSync(directory, { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, Buffer.concat([CACHE_MAGIC, digest(data), data]));
    renameSync(temporary, path);
    const others = readdirSync(directory)
      .filter((name) => name.startsWith('cli-main-') && name.endsWith('.cache') && join(directory, name) !== path)
      .map((name) => ({ name, modified: statSync(join(directory, name)).mtimeMs }))
      .sort((a, b) => b.modified - a.modified);
    for (const stale of others.slice(KEPT_CACHES - 1)) unlinkSync(join(directory, stale.name));
  } catch {
    // A read-only home or a full disk: the next run compiles as usual.
  }
}

function start(): void {
  const path = cachePath();
  const cachedData = readCache(path);
  let source = readFileSync(bundlePath, 'utf8');
  if (source.startsWith('#!')) source = `//${source.slice(2)}`;
  const script = new Script((Module as unknown as ModuleInternals).wrap(source), { filename: bundlePath, cachedData });
  const bundleModule = new (Module as unknown as CommonJsModuleConstructor)(bundlePath, module);
  bundleModule.filename = bundlePath;
  bundleModule.paths = (Module as unknown as ModuleInternals)._nodeModulePaths(__dirname);
  const bundleRequire = Module.createRequire(bundlePath);
  // The bundle runs its command only as the main module (`require.main === module`).
  bundleRequire.main = require.main === module ? bundleModule : require.main;
  if (path !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    // At exit the cache also holds every function the run compiled, not only the top level.
    process.on('exit', () => writeCache(path, script.createCachedData()));
  }
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: NodeJS.Module, filename: string, directory: string) => void;
  run.call(bundleModule.exports, bundleModule.exports, bundleRequire, bundleModule, bundlePath, __dirname);
  bundleModule.loaded = true;
  module.exports = bundleModule.exports;
}

start();
