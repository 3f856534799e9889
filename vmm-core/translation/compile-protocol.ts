// What the translation tier and its compile worker (compile-worker.ts, bundled as
// dist/translationWorker.js) say to each other, and how the tier's host starts the worker.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RegionPlan } from './translator';

export interface CompileRequest {
  readonly id: number;
  readonly plans: readonly RegionPlan[];
  readonly memoryPages: number;
  readonly entryCacheOffset: number;
  readonly ramBase: number;
}

export type CompileAnswer =
  | { readonly id: number; readonly module: object; readonly byteLength: number }
  | { readonly id: number; readonly error: string };

/**
 * Starts a compile worker: the bundle beside this one (dist/translationWorker.js), or the
 * TypeScript source through tsx when running from sources (tests). It never keeps the process
 * alive. Throws when the worker cannot be created.
 */
export function startCompileWorker(): Worker {
  let worker: Worker;
  if (__filename.endsWith('.ts')) {
    const tsx = createRequire(__filename).resolve('tsx/cjs/api');
    const source = join(__dirname, 'compile-worker.ts');
    worker = new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(source)});`, { eval: true });
  } else {
    worker = new Worker(join(__dirname, 'translationWorker.js'));
  }
  worker.unref();
  return worker;
}

/** startCompileWorker, or undefined when it cannot start (regions are then compiled on the caller's thread). */
export function startCompileWorkerIfPossible(): Worker | undefined {
  try {
    return startCompileWorker();
  } catch {
    return undefined;
  }
}
