// Entry of dist/symbolIndexWorker.js: indexes one symbol file (reads its cached index, or
// builds and caches it) on a worker thread and posts the answer to the session's thread.

import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { indexSymbolFileOnDisk, type IndexAnswer, type IndexRequest } from './background-index';

// The lowest priority for this thread only (Linux nice values are per thread): where cores
// are scarce, the guest running to its first stop comes first.
try {
  setPriority(19);
} catch {
  // Not allowed here: indexing still works, at normal priority.
}

const answer: IndexAnswer = (() => {
  try {
    return indexSymbolFileOnDisk(workerData as IndexRequest);
  } catch (error) {
    return { ok: false, message: `indexing failed: ${(error as Error).message}` };
  }
})();
parentPort?.postMessage(answer);
