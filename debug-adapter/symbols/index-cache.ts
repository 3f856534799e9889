// The symbol index cached on disk for the next launch: beside the ELF as
// `<file>.ringside-index`, or, when that folder is not writable, in the user's cache folder
// (`$XDG_CACHE_HOME/ringside/symbols`, default `~/.cache/ringside/symbols`). A cache file is
// used only when its key matches the ELF (size, modification time and a SHA-256 of its ELF,
// program and section headers) and its body matches the checksum in its first line; anything
// else (stale, truncated, edited, from another version) is reported and rebuilt.
//
// Format: one JSON line {format, version, key, bodyLength, bodySha256}, then the body, the
// SymbolIndex as JSON.

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { checkSymbolIndex, SYMBOL_INDEX_VERSION, type SymbolIndex } from './symbol-index';

const FORMAT = 'ringside-symbol-index';
export const CACHE_SUFFIX = '.ringside-index';

/** What identifies the ELF an index was built from. */
export interface IndexKey {
  readonly size: number;
  readonly mtimeMs: number;
  /** SHA-256 (hex) of the ELF header, program header table and section header table. */
  readonly headerHash: string;
}

export interface CacheOptions {
  /** The folder used when the ELF's own folder is not writable (default: the user's cache folder). */
  readonly cacheDirectory?: string;
}

/** The user's cache folder for symbol indexes. */
export function defaultCacheDirectory(): string {
  const base = process.env.XDG_CACHE_HOME !== undefined && process.env.XDG_CACHE_HOME !== '' ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'ringside', 'symbols');
}

/** Where the index of `elfPath` is cached: beside it, else in the cache folder. */
export function cachePaths(elfPath: string, options: CacheOptions = {}): { beside: string; fallback: string } {
  const absolute = resolve(elfPath);
  // The absolute path in the name keeps two files called vmlinux apart.
  const tag = createHash('sha256').update(absolute).digest('hex').slice(0, 16);
  return {
    beside: `${absolute}${CACHE_SUFFIX}`,
    fallback: join(options.cacheDirectory ?? defaultCacheDirectory(), `${basename(absolute)}-${tag}${CACHE_SUFFIX}`),
  };
}

/** Reads up to `length` bytes at `offset` (fewer at the end of the file). */
type ByteSource = (offset: number, length: number) => Uint8Array;

/** SHA-256 of the headers of an ELF image (ELF32 or ELF64, either byte order); the bytes that exist when a table runs past the end. */
function headerHash(read: ByteSource): string {
  const hash = createHash('sha256');
  const header = read(0, 64);
  const is64 = header[4] === 2;
  const little = header[5] !== 2;
  const headerSize = is64 ? 64 : 52;
  hash.update(header.subarray(0, headerSize));
  if (header.length >= headerSize) {
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const number = (offset: number, size: 2 | 4 | 8): number =>
      size === 2 ? view.getUint16(offset, little) : size === 4 ? view.getUint32(offset, little) : Number(view.getBigUint64(offset, little));
    const table = (offset: number, entrySize: number, count: number): void => {
      // A corrupt header may claim anything: at most 64 KiB entries of at most 64 KiB are read.
      hash.update(read(offset, Math.min(entrySize * count, 1 << 24)));
    };
    if (is64) {
      table(number(0x20, 8), number(0x36, 2), number(0x38, 2));
      table(number(0x28, 8), number(0x3a, 2), number(0x3c, 2));
    } else {
      table(number(0x1c, 4), number(0x2a, 2), number(0x2c, 2));
      table(number(0x20, 4), number(0x2e, 2), number(0x30, 2));
    }
  }
  return hash.digest('hex');
}

export function elfHeaderHash(bytes: Uint8Array): string {
  return headerHash((offset, length) => bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length)));
}

export function indexKey(bytes: Uint8Array, stats: { size: number; mtimeMs: number }): IndexKey {
  return { size: stats.size, mtimeMs: stats.mtimeMs, headerHash: elfHeaderHash(bytes) };
}

/** The key of the ELF file at `path` as it is now, reading only its headers. */
export function indexKeyOfFile(path: string): IndexKey {
  const descriptor = openSync(path, 'r');
  try {
    const stats = fstatSync(descriptor);
    const read: ByteSource = (offset, length) => {
      const wanted = Math.max(0, Math.min(length, stats.size - offset));
      const buffer = Buffer.alloc(wanted);
      let done = 0;
      while (done < wanted) {
        const count = readSync(descriptor, buffer, done, wanted - done, offset + done);
        if (count === 0) break;
        done += count;
      }
      return buffer.subarray(0, done);
    };
    return { size: stats.size, mtimeMs: stats.mtimeMs, headerHash: headerHash(read) };
  } finally {
    closeSync(descriptor);
  }
}

export function sameKey(a: IndexKey, b: IndexKey): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.headerHash === b.headerHash;
}

/** The cache file's text for `index`. */
export function encodeCachedIndex(key: IndexKey, index: SymbolIndex): string {
  const body = JSON.stringify({ functions: index.functions, globals: index.globals, types: index.types, paths: index.paths, unitFiles: index.unitFiles });
  const bodyBytes = Buffer.from(body, 'utf8');
  const header = { format: FORMAT, version: SYMBOL_INDEX_VERSION, key, bodyLength: bodyBytes.length, bodySha256: createHash('sha256').update(bodyBytes).digest('hex') };
  return `${JSON.stringify(header)}\n${body}`;
}

/** The index in a cache file's contents, or an Error saying why it cannot be used (stale or corrupt). */
export function decodeCachedIndex(contents: Buffer, key: IndexKey): SymbolIndex | Error {
  const newline = contents.indexOf(0x0a);
  if (newline < 0) return new Error('corrupt: no header line');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(contents.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
  } catch {
    return new Error('corrupt: the header line is not JSON');
  }
  if (header === null || typeof header !== 'object' || header.format !== FORMAT) return new Error('corrupt: not a Ringside symbol index');
  if (header.version !== SYMBOL_INDEX_VERSION) return new Error(`stale: index version ${String(header.version)}, this Ringside writes ${SYMBOL_INDEX_VERSION}`);
  const cachedKey = header.key as IndexKey | undefined;
  if (cachedKey === undefined || typeof cachedKey !== 'object' || !sameKey(cachedKey, key)) {
    return new Error('stale: built from another version of the file (size, modification time or headers differ)');
  }
  const body = contents.subarray(newline + 1);
  if (body.length !== header.bodyLength) return new Error(`corrupt: the body has ${body.length} bytes, the header says ${String(header.bodyLength)}`);
  if (createHash('sha256').update(body).digest('hex') !== header.bodySha256) return new Error('corrupt: the body does not match its checksum');
  try {
    return checkSymbolIndex(JSON.parse(body.toString('utf8')));
  } catch (error) {
    return new Error(`corrupt: ${(error as Error).message}`);
  }
}

export interface CacheRead {
  readonly index?: SymbolIndex;
  /** The file the index came from. */
  readonly path?: string;
  /** Cache files found but not used, each with why. */
  readonly rejected: readonly string[];
}

/** The cached index of `elfPath` for `key`: beside the ELF first, then in the cache folder. */
export function readCachedIndex(elfPath: string, key: IndexKey, options: CacheOptions = {}): CacheRead {
  const rejected: string[] = [];
  const paths = cachePaths(elfPath, options);
  for (const path of [paths.beside, paths.fallback]) {
    let contents: Buffer;
    try {
      contents = readFileSync(path);
    } catch {
      continue; // none there
    }
    const decoded = decodeCachedIndex(contents, key);
    if (decoded instanceof Error) {
      rejected.push(`${path}: ${decoded.message}`);
      continue;
    }
    return { index: decoded, path, rejected };
  }
  return { rejected };
}

/**
 * Writes the index beside the ELF, or in the cache folder when that fails; returns the path
 * written, or the reasons neither could be written. Atomic: a reader never sees half a file.
 */
export function writeCachedIndex(elfPath: string, key: IndexKey, index: SymbolIndex, options: CacheOptions = {}): { path?: string; problems: string[] } {
  const text = encodeCachedIndex(key, index);
  const problems: string[] = [];
  const paths = cachePaths(elfPath, options);
  for (const path of [paths.beside, paths.fallback]) {
    const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(temporary, text);
      renameSync(temporary, path);
      return { path, problems };
    } catch (error) {
      rmSync(temporary, { force: true });
      problems.push(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return { problems };
}
