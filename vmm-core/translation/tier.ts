// The translation tier: owns the machine's WebAssembly memory (guest RAM at address 0, then one
// control area per hart holding its registers, exit pc and TLBs), the cache of translated
// regions keyed by RAM offset, the per-page code marks that make stores into translated code
// invalidate it, and the run loop that alternates translated regions with the interpreter.
// The interpreter stays the reference: every instruction the tier does not translate, and
// every access its fast path does not cover, is executed there, so both tiers retire the same
// instructions, take the same traps and end slices at the same instruction.

import type { Hart } from '../cpu/hart';
import { countJumpTarget, DECODE_CACHE_BYTES, DecodeCache, HOT_THRESHOLD, HOTNESS_MASK, runInterpreter, type SensitiveInstructionHandler } from '../cpu/interpreter';
import type { Mmu } from '../cpu/mmu';
import type { CompileAnswer } from './compile-protocol';
import { CoreExit, interpreterCoreModule, type InterpreterCoreFunction } from './interpreter-core';
import { ENTRY_CACHE_BYTES, ENTRY_CACHE_ENTRIES, HartControl, generateRegionsModule, generateTrampolineModule, planRegion, type RegionPlan } from './translator';

const WASM_PAGE = 65536;
const PAGE_SIZE = 4096;
/** A page whose translations were thrown away this often (code and data mixed) is left to the interpreter. */
const MAX_PAGE_INVALIDATIONS = 16;
/**
 * The cache is dropped whole (and refilled with what is still hot) when it would hold more than
 * this many modules or bytes of Wasm. V8 keeps about 0.3-0.4 MiB per module (code space, jump
 * tables, Liftoff and TurboFan code) beyond its bytes: 96 modules stay within the 64 MiB
 * (bench/tier-memory.mjs).
 */
const MAX_LIVE_MODULES = 96;
const MAX_MODULE_BYTES = 8 * 1024 * 1024;
/** A region's block index fits in the low bits of an entry. */
const BLOCK_BITS = 7;
/**
 * Hot regions are compiled together, this many per module (or fewer when one of them is
 * entered URGENT_ENTRIES more times while it waits): a module costs a code allocation and an
 * instance, which dominate compiling one small region.
 */
const BATCH_REGIONS = 12;
const URGENT_ENTRIES = 2;
const INITIAL_TABLE_SIZE = 1024;
const REGIONS_PER_DOUBLING = 128;
/** The counters are 16 bits wide. */
const MAX_THRESHOLD = 60_000;
/** About a few milliseconds of interpretation between turns of the host's event loop while batches compile. */
const YIELD_AFTER_INSTRUCTIONS = 100_000;

/** The part of the WebAssembly JS API the tier uses (the project's TypeScript lib has no DOM types). */
interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Table: new (descriptor: { element: 'anyfunc'; initial: number }) => WasmTable;
  Module: new (bytes: Uint8Array) => object;
  compile(bytes: Uint8Array): Promise<object>;
  Instance: new (module: object, imports: { env: { memory: WasmMemory; table?: WasmTable; decode?: (slotAddress: number, raw: number) => void } }) => {
    exports: Record<string, unknown>;
  };
}
interface WasmTable {
  readonly length: number;
  grow(delta: number): number;
  set(index: number, value: unknown): void;
}
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** What the run loop does after translated code returned (see TranslationTier.run). */
const enum Resume { None, AfterRegion, StepExit, AfterStep }

type EnterFunction = (slot: number, entry: number, budget: number, control: number, pageLo: number, pageHi: number, chain: number) => number;

/** A region waiting for its batch to be compiled. */
interface PendingRegion {
  readonly plan: RegionPlan;
  readonly pageBase: number;
  readonly entryOffset: number;
  /** Hot entries into it while it waited. */
  waits: number;
  /** Sent to compile in the background (no longer queued). */
  compiling: boolean;
}

/** A batch the compile worker has: what installing its answer needs. */
interface WorkerBatch {
  readonly batch: readonly PendingRegion[];
  /** The cache's and the pages' generations when it was sent (a later write or flush makes it stale). */
  readonly cacheGeneration: number;
  readonly pageGenerations: readonly number[];
}

/** The part of a worker_threads Worker the tier uses (the host starts it: compile-protocol.ts). */
export interface CompileWorker {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (answer: CompileAnswer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  terminate(): Promise<number>;
  unref(): void;
}

interface CompiledRegion {
  readonly page: number;
  /** Entry keys ((RAM offset) >>> 1) this region registered. */
  readonly entryKeys: number[];
  readonly moduleBytes: number;
}

export interface TranslationStatistics {
  regionsCompiled: number;
  modulesCompiled: number;
  blocksCompiled: number;
  instructionsCompiled: number;
  moduleBytes: number;
  compileMilliseconds: number;
  invalidatedPages: number;
  cacheFlushes: number;
  regionRuns: number;
  instructionsTranslated: number;
  /** Modules the compile worker generated and compiled (useCompileWorker). */
  modulesFromWorker: number;
  /** Instructions the interpreter core ran (interpreter-core.ts). */
  instructionsInCore: number;
}

export class TranslationTier {
  readonly memory: WasmMemory;
  readonly buffer: SharedArrayBuffer;
  /** Jumps to a target after which it is translated (tests of the tier lower it to translate short loops). */
  hotThreshold = HOT_THRESHOLD;
  /**
   * For tests that execute single instructions (test/support/assemble.ts `step`): compile the
   * code at every pc the run loop looks up at once, hot or not, one region per module, in blocks
   * of one instruction (so that a budget of one runs it translated).
   */
  translateEverything = false;
  /** Run the interpreter's common instructions in the WebAssembly interpreter core (interpreter-core.ts). */
  coreEnabled = true;

  /**
   * The threshold doubles with every REGIONS_PER_DOUBLING regions in the cache: a CPU-bound guest
   * has a few dozen hot regions and gets them all at once, while a kernel's boot, with
   * thousands of warm ones, compiles only its hottest instead of spending more on compiling
   * than it saves (bench/RESULTS.md, "Translation tier").
   */
  private get threshold(): number {
    if (this.thresholdRegions !== this.liveRegions || this.thresholdBase !== this.hotThreshold) {
      this.thresholdRegions = this.liveRegions;
      this.thresholdBase = this.hotThreshold;
      // Kept a small integer: a double stored here once would change the tier's hidden class
      // and deoptimize every function that reads it.
      const doublings = Math.min(Math.floor(this.liveRegions / REGIONS_PER_DOUBLING), 16);
      this.effectiveThreshold = Math.min(this.hotThreshold * (1 << doublings), MAX_THRESHOLD) | 0;
    }
    return this.effectiveThreshold;
  }
  private effectiveThreshold = HOT_THRESHOLD;
  private thresholdRegions = 0;
  private thresholdBase = HOT_THRESHOLD;

  /**
   * Jump-target counters the interpreter and its core keep (indexed by pc, in the Wasm memory):
   * a target reaching HOT_THRESHOLD gets translated.
   */
  readonly hotness: Uint16Array;
  /** The decode cache of harts with the machine's extensions, in the Wasm memory (the interpreter core reads it). */
  private readonly decodeCache: DecodeCache;
  private readonly core: InterpreterCoreFunction;
  /** One byte per RAM page: 1 while translated code came from it (never in a store TLB then). */
  readonly codePages: Uint8Array;
  private readonly pageInvalidations: Uint8Array;
  private readonly controlStart: number;
  private readonly memoryPages: number;
  private readonly words: Int32Array;
  private readonly halfwords: Uint16Array;
  /** The trampoline's direct-mapped copy of `entries` ({key + 1, entry} pairs), so regions chain without JavaScript. */
  private readonly entryCache: Int32Array;
  private readonly entryCacheOffset: number;
  /** (RAM offset >>> 1) → region index << BLOCK_BITS | block index. */
  private readonly entries = new Map<number, number>();
  /** Compiled regions by their slot in the function table. */
  private regions: Array<CompiledRegion | undefined> = [];
  private readonly freeSlots: number[] = [];
  private readonly table: WasmTable;
  private readonly enter: EnterFunction;
  /** Hot regions planned, queued for the next batch. */
  private pending: PendingRegion[] = [];
  /** The block keys of regions queued or compiling: hot entries there wait for them instead of planning another region. */
  private readonly reserved = new Map<number, PendingRegion>();
  /**
   * Compile batches on V8's background threads (`WebAssembly.compile`) and install them when
   * the host's event loop turns, instead of at once. For hosts that yield between runs (the
   * CLI, the debug adapter); without it (the default, and what tests use) a batch is usable as
   * soon as it is queued. Either way the machine is the same: only when code runs translated changes.
   */
  backgroundCompilation = false;
  /** Bumped by every invalidation of a page and every flush, so late batches drop what went stale. */
  private readonly pageGenerations: Uint32Array;
  private cacheGeneration = 0;
  private backgroundFailure: Error | null = null;
  private batchesInFlight = 0;
  /** With background compilation: generates and compiles batches on its own thread (useCompileWorker). */
  private compileWorker: CompileWorker | null = null;
  private readonly workerBatches = new Map<number, WorkerBatch>();
  private nextWorkerBatch = 0;
  private executedSinceYield = 0;
  private readonly regionsOfPage = new Map<number, number[]>();
  private readonly mmus: Mmu[] = [];
  private liveModuleBytes = 0;
  /** Modules installed since the last flush (a module lives while any of its regions does). */
  private liveModules = 0;
  /** Regions in the cache. */
  private liveRegions = 0;
  /**
   * Called after every region exit with the hart's state at that block boundary (lockstep
   * tests); while set, regions do not chain to each other inside WebAssembly.
   */
  regionExitObserver: ((hart: Hart) => void) | null = null;
  readonly statistics: TranslationStatistics = {
    regionsCompiled: 0, modulesCompiled: 0, blocksCompiled: 0, instructionsCompiled: 0, moduleBytes: 0, compileMilliseconds: 0,
    invalidatedPages: 0, cacheFlushes: 0, regionRuns: 0, instructionsTranslated: 0, modulesFromWorker: 0,
    instructionsInCore: 0,
  };

  constructor(readonly ramSize: number, hartCount: number, private readonly extensions: number, private readonly ramBase: number) {
    // A double from the start (it sums fractions of milliseconds): widening it at the first
    // compile mid-run would change the hidden class and deoptimize the run loop.
    this.statistics.compileMilliseconds = 0.5;
    this.statistics.compileMilliseconds = 0;
    this.controlStart = Math.ceil(ramSize / WASM_PAGE) * WASM_PAGE;
    const entryCacheOffset = this.controlStart + hartCount * HartControl.stride;
    this.entryCacheOffset = entryCacheOffset;
    // Then the decode cache (slots and memo) and the hotness counters.
    const decodeCacheOffset = entryCacheOffset + ENTRY_CACHE_BYTES;
    const hotnessOffset = decodeCacheOffset + DECODE_CACHE_BYTES;
    this.memoryPages = Math.ceil((hotnessOffset + (HOTNESS_MASK + 1) * 2) / WASM_PAGE);
    this.memory = new wasm.Memory({ initial: this.memoryPages, maximum: this.memoryPages, shared: true });
    this.buffer = this.memory.buffer as unknown as SharedArrayBuffer;
    this.words = new Int32Array(this.buffer);
    this.halfwords = new Uint16Array(this.buffer, 0, ramSize / 2);
    this.entryCache = new Int32Array(this.buffer, entryCacheOffset, ENTRY_CACHE_ENTRIES * 2);
    this.decodeCache = new DecodeCache(extensions, { buffer: this.buffer, byteOffset: decodeCacheOffset });
    this.hotness = new Uint16Array(this.buffer, hotnessOffset, HOTNESS_MASK + 1);
    for (let hartId = 0; hartId < hartCount; hartId++) {
      const control = this.controlOffset(hartId);
      this.words[(control + HartControl.coreSlots) >> 2] = decodeCacheOffset;
      this.words[(control + HartControl.coreMemo) >> 2] = decodeCacheOffset + this.decodeCache.slots.byteLength;
      this.words[(control + HartControl.coreHotness) >> 2] = hotnessOffset;
      this.words[(control + HartControl.coreRamBase) >> 2] = ramBase;
    }
    const coreModule = interpreterCoreModule((bytes) => new wasm.Module(bytes));
    const decodeCache = this.decodeCache;
    const decode = (slotAddress: number, raw: number): void => decodeCache.fill((slotAddress - decodeCacheOffset) >> 2, raw);
    this.core = new wasm.Instance(coreModule, { env: { memory: this.memory, decode } }).exports.run as InterpreterCoreFunction;
    this.codePages = new Uint8Array(ramSize / PAGE_SIZE);
    this.pageInvalidations = new Uint8Array(ramSize / PAGE_SIZE);
    this.pageGenerations = new Uint32Array(ramSize / PAGE_SIZE);
    // Every call from JavaScript goes through one function (so V8 keeps that call fast) that
    // calls the region through the table.
    this.table = new wasm.Table({ element: 'anyfunc', initial: INITIAL_TABLE_SIZE });
    const trampoline = new wasm.Instance(new wasm.Module(generateTrampolineModule(this.memoryPages, INITIAL_TABLE_SIZE, entryCacheOffset)), {
      env: { memory: this.memory, table: this.table },
    });
    this.enter = trampoline.exports.enter as EnterFunction;
  }

  /**
   * Hands the generation and compilation of batches to `worker` (compile-protocol.ts's
   * startCompileWorker), with background compilation: the emulator's thread then only plans
   * regions and instantiates the compiled modules. If the worker fails, the batches it had and
   * later ones are compiled here again (as without a worker).
   */
  useCompileWorker(worker: CompileWorker): void {
    this.compileWorker = worker;
    worker.on('message', (answer) => this.workerAnswered(answer));
    const lost = (): void => this.workerLost(worker);
    worker.on('error', lost);
    worker.on('exit', lost);
    // A 'message' listener refs the worker again: it must never keep the process alive.
    worker.unref();
  }

  /**
   * Stops the compile worker, if any (Machine.close). Batches it had are dropped: their
   * regions are planned again if they are still hot (later ones compile here).
   */
  stopCompileWorker(): void {
    const worker = this.compileWorker;
    if (worker === null) return;
    this.compileWorker = null;
    for (const sent of this.workerBatches.values()) {
      this.batchesInFlight--;
      if (sent.cacheGeneration === this.cacheGeneration) this.release(sent.batch);
    }
    this.workerBatches.clear();
    void worker.terminate();
  }

  /** Batches compiling in the background. */
  get compilationsInFlight(): number {
    return this.batchesInFlight;
  }

  /**
   * True while batches compile in the background, every YIELD_AFTER_INSTRUCTIONS executed: the
   * machine then ends its run, so that the host's event loop turns and installs them as soon
   * as they are ready (instead of a whole host slice later). Run boundaries never change what
   * the machine does.
   */
  takeYieldRequest(): boolean {
    if (this.batchesInFlight === 0 || this.executedSinceYield < YIELD_AFTER_INSTRUCTIONS) return false;
    this.executedSinceYield = 0;
    return true;
  }

  /** Byte offset of a hart's control area. */
  controlOffset(hartId: number): number {
    return this.controlStart + hartId * HartControl.stride;
  }

  /** Where a hart's registers live (Hart's register storage). */
  registerStorage(hartId: number): { buffer: SharedArrayBuffer; byteOffset: number } {
    return { buffer: this.buffer, byteOffset: this.controlOffset(hartId) + HartControl.registers };
  }

  /** Where a hart's TLBs live (Mmu's TLB storage). */
  tlbStorage(hartId: number): { buffer: SharedArrayBuffer; byteOffset: number } {
    return { buffer: this.buffer, byteOffset: this.controlOffset(hartId) + HartControl.tlb };
  }

  attach(mmu: Mmu): void {
    this.mmus.push(mmu);
    mmu.codePages = this.codePages;
    mmu.codeWriteListener = (page) => this.invalidatePage(page);
  }

  /**
   * Runs up to `budget` instruction attempts like runInterpreter (same slice end, same
   * exitRequested rules), entering translated regions where they exist. Returns the attempts made.
   */
  run(hart: Hart, mmu: Mmu, monitor: SensitiveInstructionHandler, budget: number): number {
    const control = this.controlOffset(hart.hartId);
    const exitPcIndex = (control + HartControl.exitPc) >> 2;
    const coreExitIndex = (control + HartControl.coreExit) >> 2;
    const words = this.words;
    // Harts of another CPU model decode differently: they keep the interpreter's own caches.
    const useCore = hart.cpu.extensionMask === this.extensions && this.coreEnabled;
    const decodeCache = useCore ? this.decodeCache : undefined;
    const hotness = this.hotness;
    const entries = this.entries;
    const entryCache = this.entryCache;
    if (this.backgroundFailure !== null) throw this.backgroundFailure;
    let executed = 0;
    hart.exitRequested = false;
    // After translated code leaves (an instruction it does not translate, a TLB miss), the
    // interpreter runs that instruction alone, then on to the next control transfer, so that
    // translated code resumes at the next block it has rather than at the next hot jump target.
    let resume = Resume.None;
    let steppedPcLo = 0;
    while (executed < budget) {
      const pcLo = hart.pcLo;
      const pageBase = mmu.fetchPageBase(pcLo, hart.pcHi);
      if (pageBase >= 0) {
        const key = (pageBase + (pcLo & 0xfff)) >>> 1;
        // The trampoline's direct-mapped copy answers most lookups without hashing.
        const cacheIndex = (key & (ENTRY_CACHE_ENTRIES - 1)) * 2;
        let entry = entryCache[cacheIndex] === key + 1 ? entryCache[cacheIndex + 1] : entries.get(key);
        // Where translated code handed over without a jump the interpreter counted (it ran off
        // its page, or jumped to code with no translation), and right after an instruction
        // stepped for it, count the pc as a jump target: code reached only that way gets hot too.
        if (entry === undefined && (resume === Resume.AfterRegion ||
          (resume === Resume.AfterStep && (((pcLo - steppedPcLo) | 0) === 2 || ((pcLo - steppedPcLo) | 0) === 4)))) {
          countJumpTarget(hotness, pcLo);
        }
        if (entry === undefined && (this.translateEverything || hotness[(pcLo >>> 1) & HOTNESS_MASK] >= this.threshold)) {
          entry = this.translate(pageBase, pcLo & 0xfff);
          // Queued, compiling, or not translatable: the interpreter counts to the threshold
          // again before it returns here (rather than at every jump to it).
          if (entry === undefined) hotness[(pcLo >>> 1) & HOTNESS_MASK] = 0;
        }
        if (entry !== undefined && resume !== Resume.StepExit) {
          const observer = this.regionExitObserver;
          const retired = this.enter(
            entry >>> BLOCK_BITS, entry & ((1 << BLOCK_BITS) - 1), budget - executed, control, pcLo & ~0xfff, hart.pcHi, observer === null ? 1 : 0);
          // Nothing retired (a TLB miss or the budget at its first block): not again at this pc.
          resume = retired > 0 ? Resume.AfterRegion : Resume.StepExit;
          if (retired > 0) {
            executed += retired;
            hart.instructionsRetired += retired;
            hart.pcLo = words[exitPcIndex];
            hart.pcHi = words[exitPcIndex + 1];
            this.statistics.regionRuns++;
            this.statistics.instructionsTranslated += retired;
            if (observer !== null) observer(hart);
            continue;
          }
        }
      }
      if (resume === Resume.StepExit || resume === Resume.AfterRegion) {
        executed += runInterpreter(hart, mmu, monitor, 1, hotness, 0, decodeCache);
        resume = Resume.AfterStep;
        steppedPcLo = pcLo;
      } else {
        // A threshold of 0 makes every taken jump or branch return here.
        const threshold = resume === Resume.AfterStep ? 0 : this.threshold;
        resume = Resume.None;
        if (useCore) {
          // The core runs what it can; each instruction it leaves runs alone in the interpreter,
          // then the core goes on, until a hot target, a control transfer the interpreter made
          // (a trap, an xRET: look for a translation there), an exit request or the budget.
          for (;;) {
            const retired = this.core(control, hart.pcLo, hart.pcHi, budget - executed, threshold);
            executed += retired;
            hart.instructionsRetired += retired;
            this.statistics.instructionsInCore += retired;
            hart.pcLo = words[exitPcIndex];
            hart.pcHi = words[exitPcIndex + 1];
            if (words[coreExitIndex] !== CoreExit.Leave) break;
            const leftAt = hart.pcLo;
            executed += runInterpreter(hart, mmu, monitor, 1, hotness, threshold, decodeCache);
            if (hart.exitRequested || executed >= budget) break;
            const advanced = (hart.pcLo - leftAt) | 0;
            if (advanced !== 2 && advanced !== 4) break;
          }
        } else {
          executed += runInterpreter(hart, mmu, monitor, budget - executed, hotness, threshold, decodeCache);
        }
      }
      if (hart.exitRequested) break;
    }
    this.executedSinceYield += executed;
    return executed;
  }

  /**
   * A hot entry without a translation: plans its region and queues it; compiles the queue when
   * it is full or this region has waited long enough. Returns the entry once compiled.
   */
  private translate(pageBase: number, entryOffset: number): number | undefined {
    const key = (pageBase + entryOffset) >>> 1;
    const waiting = this.reserved.get(key);
    if (waiting !== undefined) {
      if (waiting.compiling || ++waiting.waits < URGENT_ENTRIES) return undefined;
      this.compilePending();
      return this.entries.get(key);
    }
    const page = pageBase / PAGE_SIZE;
    if (this.pageInvalidations[page] >= MAX_PAGE_INVALIDATIONS && !this.translateEverything) return undefined;
    // Single-instruction blocks when everything is translated for tests that step one instruction.
    const plan = planRegion(this.halfwords, pageBase, entryOffset, this.extensions, this.translateEverything ? 1 : undefined);
    if (plan === undefined) return undefined;
    this.markCodePage(page);
    const region: PendingRegion = { plan, pageBase, entryOffset, waits: 0, compiling: false };
    this.pending.push(region);
    for (const block of plan.blocks) {
      const blockKey = (pageBase + block.start) >>> 1;
      if (!this.entries.has(blockKey) && !this.reserved.has(blockKey)) this.reserved.set(blockKey, region);
    }
    if (this.pending.length < BATCH_REGIONS && !this.translateEverything) return undefined;
    this.compilePending();
    return this.entries.get(key);
  }

  /** From now on stores into the page take the slow path, which sees the mark (also while its regions wait). */
  private markCodePage(page: number): void {
    if (this.codePages[page] !== 0) return;
    this.codePages[page] = 1;
    for (const mmu of this.mmus) mmu.forgetStorePage(page * PAGE_SIZE);
  }

  private compilePending(): void {
    const batch = this.pending;
    this.pending = [];
    if (this.backgroundCompilation && this.compileWorker !== null) {
      this.sendToWorker(this.compileWorker, batch);
      return;
    }
    const started = performance.now();
    const bytes = generateRegionsModule(batch.map((pending) => pending.plan), this.memoryPages, this.entryCacheOffset, this.ramBase);
    if (!this.backgroundCompilation) {
      const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory: this.memory } });
      this.statistics.compileMilliseconds += performance.now() - started;
      this.release(batch);
      this.install(batch, instance, bytes.length);
      return;
    }
    this.statistics.compileMilliseconds += performance.now() - started;
    for (const region of batch) region.compiling = true;
    this.compileInBackground(batch, bytes);
  }

  /**
   * Compiles a batch's module on V8's threads; installs it when done unless it went stale since
   * the generations given (by default, now).
   */
  private compileInBackground(
    batch: readonly PendingRegion[], bytes: Uint8Array, generation = this.cacheGeneration,
    pageGenerations: readonly number[] = batch.map((pending) => this.pageGenerations[pending.pageBase / PAGE_SIZE]),
  ): void {
    this.batchesInFlight++;
    this.executedSinceYield = 0;
    wasm.compile(bytes).then((module) => {
      this.batchesInFlight--;
      if (generation !== this.cacheGeneration) return;
      this.release(batch);
      const installStarted = performance.now();
      const instance = new wasm.Instance(module, { env: { memory: this.memory } });
      // Regions whose page was written while they compiled are stale: leave them out.
      const fresh = batch.map((pending, index) => this.pageGenerations[pending.pageBase / PAGE_SIZE] === pageGenerations[index]);
      this.install(batch, instance, bytes.length, fresh);
      this.statistics.compileMilliseconds += performance.now() - installStarted;
    }).catch((error: unknown) => {
      this.batchesInFlight = 0;
      this.backgroundFailure = new Error(`translation tier: compiling a batch of regions failed: ${(error as Error).message}`);
    });
  }

  private sendToWorker(worker: CompileWorker, batch: readonly PendingRegion[]): void {
    const started = performance.now();
    for (const region of batch) region.compiling = true;
    const id = this.nextWorkerBatch++;
    this.workerBatches.set(id, {
      batch,
      cacheGeneration: this.cacheGeneration,
      pageGenerations: batch.map((pending) => this.pageGenerations[pending.pageBase / PAGE_SIZE]),
    });
    this.batchesInFlight++;
    this.executedSinceYield = 0;
    worker.postMessage({
      id, plans: batch.map((pending) => pending.plan), memoryPages: this.memoryPages, entryCacheOffset: this.entryCacheOffset, ramBase: this.ramBase,
    });
    this.statistics.compileMilliseconds += performance.now() - started;
  }

  private workerAnswered(answer: CompileAnswer): void {
    const sent = this.workerBatches.get(answer.id);
    if (sent === undefined) return;
    this.workerBatches.delete(answer.id);
    this.batchesInFlight--;
    if ('error' in answer) {
      this.batchesInFlight = 0;
      this.backgroundFailure = new Error(`translation tier: compiling a batch of regions failed: ${answer.error}`);
      return;
    }
    if (sent.cacheGeneration !== this.cacheGeneration) return;
    this.release(sent.batch);
    const started = performance.now();
    const instance = new wasm.Instance(answer.module, { env: { memory: this.memory } });
    // Regions whose page was written while they compiled are stale: leave them out.
    const fresh = sent.batch.map((pending, index) => this.pageGenerations[pending.pageBase / PAGE_SIZE] === sent.pageGenerations[index]);
    this.install(sent.batch, instance, answer.byteLength, fresh);
    this.statistics.modulesFromWorker++;
    this.statistics.compileMilliseconds += performance.now() - started;
  }

  /** The worker is gone: what it had is compiled here, as everything after. */
  private workerLost(worker: CompileWorker): void {
    if (this.compileWorker !== worker) return;
    this.compileWorker = null;
    const batches = [...this.workerBatches.values()];
    this.workerBatches.clear();
    for (const sent of batches) {
      this.batchesInFlight--;
      if (sent.cacheGeneration !== this.cacheGeneration) continue;
      const bytes = generateRegionsModule(sent.batch.map((pending) => pending.plan), this.memoryPages, this.entryCacheOffset, this.ramBase);
      this.compileInBackground(sent.batch, bytes, sent.cacheGeneration, sent.pageGenerations);
    }
  }

  /** The batch's block keys are no longer waited for. */
  private release(batch: readonly PendingRegion[]): void {
    for (const region of batch) {
      for (const block of region.plan.blocks) {
        const key = (region.pageBase + block.start) >>> 1;
        if (this.reserved.get(key) === region) this.reserved.delete(key);
      }
    }
  }

  /** Puts a compiled batch's regions in the table and the entry maps. */
  private install(batch: readonly PendingRegion[], instance: { exports: Record<string, unknown> }, moduleBytes: number, fresh?: readonly boolean[]): void {
    const statistics = this.statistics;
    if (this.liveModuleBytes + moduleBytes > MAX_MODULE_BYTES || this.liveModules + 1 > MAX_LIVE_MODULES) this.flush();
    // Whole bytes: a fraction stored in liveModuleBytes would make it a double and change the
    // tier's hidden class (deoptimizing the run loop).
    const sharePerRegion = Math.ceil(moduleBytes / batch.length);
    batch.forEach((pending, index) => {
      if (fresh !== undefined && !fresh[index]) return;
      const slot = this.allocateSlot();
      this.table.set(slot, instance.exports[`region${index}`]);
      const page = pending.pageBase / PAGE_SIZE;
      const region: CompiledRegion = { page, entryKeys: [], moduleBytes: sharePerRegion };
      this.regions[slot] = region;
      pending.plan.blocks.forEach((block, blockIndex) => {
        const key = (pending.pageBase + block.start) >>> 1;
        if (!this.entries.has(key)) {
          const entry = (slot << BLOCK_BITS) | blockIndex;
          this.entries.set(key, entry);
          region.entryKeys.push(key);
          const cacheIndex = (key & (ENTRY_CACHE_ENTRIES - 1)) * 2;
          this.entryCache[cacheIndex] = key + 1;
          this.entryCache[cacheIndex + 1] = entry;
        }
      });
      let pageRegions = this.regionsOfPage.get(page);
      if (pageRegions === undefined) this.regionsOfPage.set(page, (pageRegions = []));
      pageRegions.push(slot);
      this.markCodePage(page);
      statistics.regionsCompiled++;
      this.liveRegions++;
      statistics.blocksCompiled += pending.plan.blocks.length;
      statistics.instructionsCompiled += pending.plan.instructionCount;
    });
    this.liveModuleBytes += sharePerRegion * batch.length;
    this.liveModules++;
    statistics.moduleBytes += moduleBytes;
    statistics.modulesCompiled++;
  }

  private allocateSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    const slot = this.regions.length;
    this.regions.push(undefined);
    if (slot >= this.table.length) this.table.grow(this.table.length);
    return slot;
  }

  /** A write reached a page holding translated code: drop its translations. */
  invalidatePage(page: number): void {
    if (this.codePages[page] === 0) return;
    this.codePages[page] = 0;
    this.pageGenerations[page]++;
    if (this.pageInvalidations[page] < 255) this.pageInvalidations[page]++;
    this.statistics.invalidatedPages++;
    for (const slot of this.regionsOfPage.get(page) ?? []) {
      const region = this.regions[slot];
      if (region === undefined) continue;
      for (const key of region.entryKeys) {
        this.entries.delete(key);
        const cacheIndex = (key & (ENTRY_CACHE_ENTRIES - 1)) * 2;
        if (this.entryCache[cacheIndex] === key + 1) this.entryCache[cacheIndex] = 0;
      }
      this.liveModuleBytes -= region.moduleBytes;
      this.regions[slot] = undefined;
      this.liveRegions--;
      this.table.set(slot, null);
      this.freeSlots.push(slot);
    }
    this.regionsOfPage.delete(page);
    // Regions of the page still waiting are stale too (compiling ones are dropped when they arrive).
    const stale = this.pending.filter((region) => region.pageBase / PAGE_SIZE === page);
    if (stale.length > 0) {
      this.pending = this.pending.filter((region) => region.pageBase / PAGE_SIZE !== page);
      this.release(stale);
    }
  }

  /** Invalidates every code page in [offset, offset + length) of RAM (device DMA, debugger, loaders). */
  noteWrite(ramOffset: number, length: number): void {
    if (length <= 0) return;
    const last = Math.min((ramOffset + length - 1) / PAGE_SIZE, this.codePages.length - 1);
    for (let page = Math.floor(ramOffset / PAGE_SIZE); page <= last; page++) {
      if (this.codePages[page] !== 0) this.invalidatePage(page);
    }
  }

  /** Forgets every translation (a machine reset, or the cache reached its bound). */
  flush(): void {
    this.entries.clear();
    this.entryCache.fill(0);
    for (let slot = 0; slot < this.regions.length; slot++) this.table.set(slot, null);
    this.regions = [];
    this.freeSlots.length = 0;
    this.pending = [];
    this.reserved.clear();
    this.cacheGeneration++;
    this.regionsOfPage.clear();
    this.codePages.fill(0);
    this.liveModuleBytes = 0;
    this.liveModules = 0;
    this.liveRegions = 0;
    this.statistics.cacheFlushes++;
  }

  /** Also forgets hotness and the pages given up on: the tier starts as on a fresh machine. */
  reset(): void {
    this.flush();
    this.hotness.fill(0);
    this.pageInvalidations.fill(0);
  }
}
