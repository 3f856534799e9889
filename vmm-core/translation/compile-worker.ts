// The translation tier's compile worker (bundled as dist/translationWorker.js): turns batches of
// planned regions into WebAssembly and compiles them on a thread of its own, so that the
// emulator's thread only plans regions and instantiates what comes back. A request carries the
// plans (decoded numeric fields, no guest bytes); the answer, the compiled module, which
// V8 shares between threads. See compile-protocol.ts for the other side.

import { parentPort } from 'node:worker_threads';
import type { CompileAnswer, CompileRequest } from './compile-protocol';
import { generateRegionsModule } from './translator';

/** The part of the WebAssembly JS API used here (the project's TypeScript lib has no DOM types). */
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<object> } }).WebAssembly;

async function compile(request: CompileRequest): Promise<CompileAnswer> {
  try {
    const bytes = generateRegionsModule(request.plans, request.memoryPages, request.entryCacheOffset, request.ramBase);
    return { id: request.id, module: await wasm.compile(bytes), byteLength: bytes.length };
  } catch (error) {
    return { id: request.id, error: (error as Error).message };
  }
}

const port = parentPort;
if (port !== null) {
  port.on('message', (request: CompileRequest) => {
    void compile(request).then((answer) => port.postMessage(answer));
  });
}
