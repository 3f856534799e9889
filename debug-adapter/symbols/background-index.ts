// Indexing a symbol file off the session's thread: a worker_threads worker (index-worker.ts,
// bundled as dist/symbolIndexWorker.js) reads the cached index of the ELF or builds it and
// writes the cache, then the session's SymbolFile adopts it. Until then the SymbolFile
// answers by reading what it needs itself (slower for that request, never different).

import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { elfHeaderHash, indexKey, indexKeyOfFile, readCachedIndex, writeCachedIndex, type CacheOptions, type IndexKey } from './index-cache';
import { loadSymbolFile, type ElfSymbolFile } from './symbol-file';
import type { SymbolIndex } from './symbol-index';

/** What the worker is asked: index this file. */
export interface IndexRequest extends CacheOptions {
  readonly elfPath: string;
}

/** What the worker answers. */
export type IndexAnswer =
  | { readonly ok: true; readonly index: SymbolIndex; readonly key: IndexKey; readonly source: 'cache' | 'built'; readonly cachePath?: string; readonly problems: readonly string[] }
  | { readonly ok: false; readonly message: string };

/** How indexing went, once it is over. */
export interface IndexReport {
  /** The SymbolFile now uses the index. */
  readonly adopted: boolean;
  readonly source?: 'cache' | 'built';
  /** Where the index is cached (undefined: it could not be written). */
  readonly cachePath?: string;
  /** Cache files rejected as stale or corrupt, cache writes that failed, or why indexing failed. */
  readonly problems: readonly string[];
  readonly milliseconds: number;
}

/** Reads the cached index of `elfPath`, or builds it and caches it (what the worker does; synchronous). */
export function indexSymbolFileOnDisk(request: IndexRequest): IndexAnswer {
  const unreadable = (error: unknown): IndexAnswer =>
    ({ ok: false, message: `cannot read ${request.elfPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
  let key: IndexKey;
  try {
    key = indexKeyOfFile(request.elfPath);
  } catch (error) {
    return unreadable(error);
  }
  const cached = readCachedIndex(request.elfPath, key, request);
  if (cached.index !== undefined) return { ok: true, index: cached.index, key, source: 'cache', cachePath: cached.path, problems: cached.rejected };
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(request.elfPath));
    // The key of the bytes indexed (the file may have changed since its headers were read).
    key = indexKey(bytes, statSync(request.elfPath));
  } catch (error) {
    return unreadable(error);
  }
  let index: SymbolIndex;
  try {
    index = loadSymbolFile(bytes, request.elfPath).buildIndex();
  } catch (error) {
    return { ok: false, message: `cannot index ${request.elfPath}: ${(error as Error).message}` };
  }
  const written = writeCachedIndex(request.elfPath, key, index, request);
  return { ok: true, index, key, source: 'built', cachePath: written.path, problems: [...cached.rejected, ...written.problems] };
}

/** The worker's script: the bundled one beside this bundle, or the TypeScript source through tsx (tests). */
function startWorker(request: IndexRequest): Worker {
  if (__filename.endsWith('.ts')) {
    const tsx = createRequire(__filename).resolve('tsx/cjs/api');
    const source = join(__dirname, 'index-worker.ts');
    return new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(source)});`, { eval: true, workerData: request });
  }
  return new Worker(join(__dirname, 'symbolIndexWorker.js'), { workerData: request });
}

export class BackgroundIndex {
  /** Settles when indexing is over (never rejects). */
  readonly done: Promise<IndexReport>;
  private worker: Worker | undefined;
  private stopped = false;

  /**
   * Starts indexing `elfPath` for `file`, which was loaded from `bytes` (the worker reads
   * the file again: its answer is adopted only when it describes these same bytes).
   */
  constructor(file: ElfSymbolFile, elfPath: string, bytes: Uint8Array, options: CacheOptions = {}) {
    const started = performance.now();
    const expectedHash = elfHeaderHash(bytes);
    const report = (fields: Omit<IndexReport, 'milliseconds'>): IndexReport => ({ ...fields, milliseconds: Math.round(performance.now() - started) });
    this.done = new Promise<IndexReport>((resolve) => {
      let worker: Worker;
      try {
        worker = startWorker({ elfPath, cacheDirectory: options.cacheDirectory });
      } catch (error) {
        resolve(report({ adopted: false, problems: [`cannot start the indexing worker: ${(error as Error).message}`] }));
        return;
      }
      this.worker = worker;
      // The worker must not keep an adapter process alive.
      worker.unref();
      let settled = false;
      const finish = (value: IndexReport): void => {
        if (settled) return;
        settled = true;
        this.worker = undefined;
        void worker.terminate();
        resolve(value);
      };
      worker.on('message', (answer: IndexAnswer) => {
        if (!answer.ok) {
          finish(report({ adopted: false, problems: [answer.message] }));
          return;
        }
        if (answer.key.size !== bytes.length || answer.key.headerHash !== expectedHash) {
          finish(report({ adopted: false, problems: [`${elfPath} changed on disk since it was loaded: its index is not used`] }));
          return;
        }
        try {
          file.adoptIndex(answer.index);
        } catch (error) {
          finish(report({ adopted: false, problems: [...answer.problems, (error as Error).message] }));
          return;
        }
        finish(report({ adopted: true, source: answer.source, cachePath: answer.cachePath, problems: answer.problems }));
      });
      worker.on('error', (error: Error) => finish(report({ adopted: false, problems: [`the indexing worker failed: ${error.message}`] })));
      worker.on('exit', (code) => finish(report({ adopted: false, problems: [this.stopped ? 'indexing was stopped' : `the indexing worker exited with code ${code}`] })));
    });
  }

  /** Stops the worker (the session ended); `done` settles. */
  stop(): void {
    this.stopped = true;
    void this.worker?.terminate();
  }
}
