// Entry of dist/symbolIndexWorker.js: indexes one symbol file (reads its cached index, or
// builds and caches it) on a worker thread and posts the answer to the session's thread.

import { parentPort, workerData } from 'node:worker_threads';
import { indexSymbolFileOnDisk, type IndexAnswer, type IndexRequest } from './background-index';

const answer: IndexAnswer = (() => {
  try {
    return indexSymbolFileOnDisk(workerData as IndexRequest);
  } catch (error) {
    return { ok: false, message: `indexing failed: ${(error as Error).message}` };
  }
})();
parentPort?.postMessage(answer);
