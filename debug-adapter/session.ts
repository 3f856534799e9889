// The Ringside debug session: one method per DAP request over a vmm-core machine. Harts are
// threads; stopping one stops the machine. Everything the runtime reports (stops, exit,
// console output, breakpoints binding) becomes a DAP event in one place: `report`.

import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { TextDecoder } from 'node:util';
import { closeSync, openSync, writeSync } from 'node:fs';
import { LoggingDebugSession } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { Privilege, privilegeName } from '../vmm-core/cpu/csr-numbers';
import { Debugger } from '../vmm-core/debug/debugger';
import { ExecutionHistory, totalSteps } from '../vmm-core/debug/history';
import type { DebugHost } from '../vmm-core/debug/remote';
import { csrLayout } from '../vmm-core/isa/csr-fields';
import { INTEGER_REGISTER_NAMES, parseIntegerRegister } from '../vmm-core/isa/registers';
import { defaultExecutionTier, type ImageFile, parseMemorySize } from '../vmm-core/machine/config';
import { Machine, type MachineExit } from '../vmm-core/machine/machine';
import { lowerHelperThreadPriority } from '../vmm-core/machine/thread-priority';
import type { Worker } from 'node:worker_threads';
import { startCompileWorkerIfPossible } from '../vmm-core/translation/compile-protocol';
import { warmUpEngine } from '../vmm-core/machine/warm-up';
import {
  openVirtioDevices, type OpenedDevices, parseDeviceOption, parseDriveOption, parseNetdevSpec, type VirtioDeviceSpec,
} from '../vmm-core/machine/device-options';
import { HartState } from '../vmm-core/monitor/sbi';
import { AttachProxy } from './attach';
import { BreakpointError, Breakpoints, dataBreakpointId, type ExpressionService } from './breakpoints';
import { DisassemblyView } from './disassembly';
import { EXCEPTION_FILTERS } from './filters';
import {
  AttributeError, parseAddressAttribute, validateAttachAttributes, validateLaunchAttributes,
  type AttachAttributes, type LaunchAttributes, type SymbolFileEntry,
} from './launch-schema';
import { RunLoop, type ReportedStop, type StopPolicy } from './run-loop';
import { ReverseError, ReverseExecution, type ReverseOutcome } from './reverse';
import { SessionSnapshots, SnapshotRequestError } from './snapshots';
import { type ParsedRecording, readRecording, ReplayFeed, replayMachineConfig } from '../vmm-core/machine/recording';
import { SnapshotError } from '../vmm-core/machine/snapshot';
import { StepError, Stepper, type StepOutcome } from './stepping';
import { hartRegisters, memoryReader, registerReader, unwindStack, type StackFrameInfo } from './stack';
import { machineExpressionContext } from './state/context';
import { floatBits, resolveTypedef, typeIndex } from './state/ctypes';
import {
  evaluateExpression, ExpressionError, formatExpressionValue, parseExpression, type ExpressionContext, type ExpressionValue, type TypedVariable,
} from './state/expression';
import { formatHex } from './state/format';
import {
  controlRegisters, floatRegisters, generalRegisters, machineFacts, RegisterError, setControlRegister, setRegister,
  type ControlRegister,
} from './state/registers';
import { deviceState } from './state/devices';
import { attachDisk, detachDisk, packetCapture, VmControlError } from './vm-controls';
import { translateAddress } from './state/translate';
import { SourceRoot } from './source-root';
import { type AddressContext, type SymbolBinding, SymbolSet } from './symbol-set';
import type { TrapHistory } from '../vmm-core/debug/trap-history';
import {
  addressSpaceMap, type HistorySummary, machineState, pageTables, trapHistory, ViewRequestError, type RunState, type ViewRequestContext,
} from './view-requests';
import { loadSymbolFile, type ElfSymbolFile } from './symbols/symbol-file';
import { BackgroundIndex } from './symbols/background-index';
import type { TypeInfo, VariableInfo } from './symbols/types';
import { formatMemoryReference, hex, parseMemoryReference, Target, type AddressSpace, type SpacedAddress } from './target';
import { renderValue, type Container, type ValueFormat, type ValueLocation, type ValueReader, VariableStore, variableSize } from './variables';

/** A problem with what the client asked; answered with an error response, the session goes on. */
export class RequestError extends Error {
  override name = 'RequestError';
}

/** Everything the runtime tells the client, turned into DAP events by `report`. */
type RuntimeEvent =
  | { kind: 'stopped'; stop: ReportedStop }
  | { kind: 'exited'; exit: MachineExit }
  | { kind: 'terminated' }
  | { kind: 'output'; text: string; category: 'stdout' | 'stderr' | 'console' | 'important' }
  | { kind: 'serial'; text: string }
  | { kind: 'breakpoint'; breakpoint: DebugProtocol.Breakpoint };

/**
 * Requests whose errors are answered without showUser: views ask them by themselves (a stale
 * frame's scopes while stepping fast, the Disassembly view before a stop, the Ringside views
 * refreshing at every stop and every second while running) or the client shows the message in
 * place (evaluate: a hover shows nothing, the Debug Console and Watch print it; the Ringside
 * views print it in the view). A notification for them would be noise nobody can act on.
 */
const QUIET_ERROR_COMMANDS: ReadonlySet<string> = new Set([
  'threads', 'stackTrace', 'scopes', 'variables', 'evaluate', 'disassemble', 'readMemory', 'exceptionInfo',
  'loadedSources', 'breakpointLocations', 'dataBreakpointInfo', 'source', 'completions',
  'ringside/machineState', 'ringside/deviceState', 'ringside/pageTables', 'ringside/addressSpaceMap', 'ringside/trapHistory',
]);

/** Thread ids are hart ids + 1 (some clients treat thread id 0 as none). */
const threadOf = (hartId: number): number => hartId + 1;

const PRIVILEGE_WORDS: Record<'U' | 'S' | 'M', string> = { U: 'U (user)', S: 'S (supervisor)', M: 'M (machine)' };

/** How the guest console reaches the client. */
type SerialMode = { kind: 'output' } | { kind: 'terminal' } | { kind: 'none' } | { kind: 'file'; descriptor: number };

export interface SessionOptions {
  /** A machine lent by `ringside run --debug-port` (attach in-process). */
  readonly host?: DebugHost;
  /** Set by a worker host: the word its main thread raises when a request waits (see RunLoop). */
  readonly attention?: Int32Array;
}

/** Up to this many globals, the Globals scope lists them; beyond, it groups them by source file. */
const GLOBALS_SHOWN_FLAT = 500;

/** Symbol files with more DWARF than this are indexed by a worker after launch (smaller ones index in milliseconds when needed). */
const BACKGROUND_INDEX_MIN_DEBUG_INFO = 1 << 20;

interface LoadedState {
  readonly machine: Machine;
  readonly target: Target;
  readonly breakpoints: Breakpoints;
  readonly loop: RunLoop;
  readonly stepper: Stepper;
  readonly symbols: SymbolSet | undefined;
  readonly attached: boolean;
  readonly trapHistory: TrapHistory;
  /** Reverse debugging, unless it is off (historyMiB 0) or another debugger records this machine's history. */
  readonly reverse: ReverseExecution | undefined;
  /** Why there is no reverse debugging, when there is none. */
  readonly reverseUnavailable: string | undefined;
}

/** Memory for reverse debugging's history unless the launch configuration says otherwise. */
const DEFAULT_HISTORY_MIB = 256;

export class RingsideSession extends LoggingDebugSession {
  private state: LoadedState | undefined;
  /** Snapshots taken in this session (created on first use). */
  private snapshots: SessionSnapshots | undefined;
  private readonly variables = new VariableStore();
  /** Frames of each hart for the current stop, by DAP frame id. */
  private readonly frames = new Map<number, StackFrameInfo>();
  private readonly framesByHart = new Map<number, StackFrameInfo[]>();
  private nextFrameId = 1;
  private focusHart = 0;
  private stopOnEntry = false;
  private configured = false;
  private running = false;
  private ended = false;
  private lastStops = new Map<number, ReportedStop>();
  private interruptsDuringStep = false;
  private addressSpace: AddressSpace = 'virtual';
  private serial: SerialMode = { kind: 'output' };
  /** The machine this session launched (not one it attached to): released with the session. */
  private ownedMachine: Machine | undefined;
  /** A launch is opening devices (asynchronously): a second launch is refused. */
  private launching = false;
  private restoreInputHook: (() => void) | undefined;
  private readonly serialDecoder = new TextDecoder('utf-8');
  private serialBytes: number[] = [];
  private removeConsoleListener: (() => void) | undefined;
  private removeGuestResetListener: (() => void) | undefined;
  /** Where relative paths of run-time requests (a disk to attach, a capture file) are resolved. */
  private workingDirectory = process.cwd();
  /** Capabilities the client announced in initialize. */
  private clientCapabilities: DebugProtocol.InitializeRequestArguments | undefined;
  private pendingCheckCountdown = 0;
  /** Set while this session forwards to a remote machine (attach with `port`). */
  private proxy: AttachProxy | undefined;

  /** Symbol files being indexed off this thread (stopped when the session ends). */
  private readonly symbolIndexes: BackgroundIndex[] = [];
  private nextProgressId = 1;

  constructor(private readonly options: SessionOptions = {}) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  // ---- request plumbing -------------------------------------------------------------------

  /** Every request: forwarded when proxying, arguments defaulted, failures answered cleanly. */
  protected override dispatchRequest(request: DebugProtocol.Request): void {
    if (this.proxy !== undefined && request.command !== 'initialize') {
      this.proxy.forward(request);
      return;
    }
    if (request.arguments === undefined || request.arguments === null) request.arguments = {};
    if (typeof request.arguments !== 'object') {
      const response: DebugProtocol.Response = { seq: 0, type: 'response', request_seq: request.seq, command: request.command, success: false };
      this.sendErrorResponse(response, 1001, `malformed '${request.command}' request: arguments must be an object`);
      return;
    }
    super.dispatchRequest(request);
  }

  /**
   * Runs a handler; errors become one error response with the error's message. Only a request
   * a person made directly (launch, a step, setting a value) asks the client to show its error
   * (showUser); the rest answer quietly (see QUIET_ERROR_COMMANDS).
   */
  private respond<R extends DebugProtocol.Response>(response: R, work: () => void | Promise<void>): void {
    const fail = (error: unknown) => {
      const known = error instanceof RequestError || error instanceof AttributeError || error instanceof BreakpointError ||
        error instanceof ExpressionError || error instanceof RegisterError || error instanceof StepError || error instanceof VmControlError || error instanceof ViewRequestError;
      const message = error instanceof Error ? error.message : String(error);
      const text = known ? message : `internal error: ${message}`.replace(/[{}]/g, '');
      const quiet = QUIET_ERROR_COMMANDS.has(response.command);
      // A quiet request's internal error still reaches the person, in the Debug Console.
      if (quiet && !known) this.report({ kind: 'output', text: `Ringside: ${response.command}: ${text}\n`, category: 'stderr' });
      this.sendErrorResponse(response, { id: known ? 2001 : 2002, format: text, showUser: quiet ? undefined : true });
    };
    try {
      const result = work();
      if (result instanceof Promise) result.catch(fail);
    } catch (error) {
      fail(error);
    }
  }

  private loaded(): LoadedState {
    if (this.state === undefined) throw new RequestError('no machine: launch or attach first');
    return this.state;
  }

  private hartOfThread(threadId: unknown): number {
    const state = this.loaded();
    if (typeof threadId !== 'number' || !Number.isInteger(threadId)) throw new RequestError(`threadId must be an integer, got ${JSON.stringify(threadId)}`);
    const hartId = threadId - 1;
    if (hartId < 0 || hartId >= state.machine.harts.length) throw new RequestError(`no thread ${threadId} (threads are harts 1..${state.machine.harts.length})`);
    return hartId;
  }

  private requireStopped(): void {
    if (this.running) throw new RequestError('the machine is running; pause it first');
  }

  // ---- initialize, launch, attach ---------------------------------------------------------

  protected override initializeRequest(response: DebugProtocol.InitializeResponse, args: DebugProtocol.InitializeRequestArguments): void {
    this.clientCapabilities = args;
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsStepBack: true,
      supportsFunctionBreakpoints: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsInstructionBreakpoints: true,
      supportsDataBreakpoints: true,
      supportsDataBreakpointBytes: true,
      supportsEvaluateForHovers: true,
      supportsSetVariable: true,
      supportsSetExpression: true,
      supportsReadMemoryRequest: true,
      supportsWriteMemoryRequest: true,
      supportsDisassembleRequest: true,
      supportsSteppingGranularity: true,
      supportsExceptionInfoRequest: true,
      supportsExceptionFilterOptions: true,
      supportsExceptionOptions: false,
      supportsLoadedSourcesRequest: true,
      supportsTerminateRequest: true,
      supportsSingleThreadExecutionRequests: true,
      supportsValueFormattingOptions: true,
      supportTerminateDebuggee: true,
      supportsRestartRequest: false,
      exceptionBreakpointFilters: [...EXCEPTION_FILTERS],
      breakpointModes: [],
    };
    this.sendResponse(response);
  }

  protected override launchRequest(response: DebugProtocol.LaunchResponse, args: DebugProtocol.LaunchRequestArguments): void {
    this.respond(response, async () => {
      if (this.state !== undefined || this.launching) throw new RequestError('this session already has a machine');
      const attributes = validateLaunchAttributes(args);
      // Without a cwd, the program's directory: the adapter's own working directory is VS Code's.
      const programFile = isAbsolute(attributes.program) ? attributes.program : resolvePath(attributes.cwd ?? process.cwd(), attributes.program);
      const cwd = attributes.cwd ?? dirname(programFile);
      const resolve = (path: string) => (isAbsolute(path) ? path : resolvePath(cwd, path));
      const readImage = (path: string, what: string, given = path): ImageFile => {
        try {
          return { fileName: resolve(path), bytes: new Uint8Array(readFileSync(resolve(path))) };
        } catch (error) {
          throw new RequestError(`cannot read ${what} '${given}': ${fileError(error)}`);
        }
      };
      const kernel = readImage(programFile, 'program', attributes.program);
      const bios = attributes.bios === undefined || attributes.bios === 'none' || attributes.bios === 'builtin'
        ? (attributes.bios ?? 'none') as 'none' | 'builtin' : readImage(attributes.bios, 'bios');
      let specs: VirtioDeviceSpec[];
      try {
        specs = [
          ...(attributes.drives ?? []).map((text): VirtioDeviceSpec => ({ kind: 'block', drive: parseDriveOption(text) })),
          ...(attributes.netdevs ?? []).map((text): VirtioDeviceSpec => ({ kind: 'net', netdev: parseNetdevSpec(text) })),
          ...(attributes.devices ?? []).map((text) => parseDeviceOption(text)),
        ];
      } catch (error) {
        throw new RequestError(`invalid launch configuration: ${(error as Error).message}`);
      }
      // Disks are opened and locked, sockets set up, before the machine exists.
      let opened: OpenedDevices;
      this.launching = true;
      try {
        opened = await openVirtioDevices(specs, cwd);
      } catch (error) {
        throw new RequestError(`cannot open a device: ${(error as Error).message}`);
      } finally {
        this.launching = false;
      }
      let serial: SerialMode;
      try {
        serial = this.openSerial(attributes.serial ?? 'output', resolve);
      } catch (error) {
        opened.discard();
        throw error;
      }
      let machine: Machine;
      let compileWorker: Worker | undefined;
      const replay = attributes.replay !== undefined ? this.readReplay(attributes, resolve(attributes.replay), kernel) : undefined;
      try {
        // Once per process, before the first guest: V8 then optimizes the interpreter for every path,
        // and (as its own process) its helper threads, the compile worker's among them (started
        // first, so that it is ready when the guest's code gets hot), compile without taking the
        // emulator's core.
        compileWorker = (attributes.tier ?? defaultExecutionTier()) === 'interpreter' ? undefined : startCompileWorkerIfPossible();
        lowerHelperThreadPriority();
        warmUpEngine(attributes.tier);
        machine = replay !== undefined ? new Machine({ ...replay.built.config, tier: attributes.tier, consoleOutput: (byte) => this.onConsoleByte(byte) }) : new Machine({
          kernel,
          bios,
          initrd: attributes.initrd !== undefined ? readImage(attributes.initrd, 'initrd') : undefined,
          dtb: attributes.dtb !== undefined ? readImage(attributes.dtb, 'dtb') : undefined,
          append: attributes.append,
          memoryBytes: attributes.memory !== undefined ? parseMemorySize(attributes.memory) : undefined,
          hartCount: attributes.harts,
          icountShift: attributes.icountShift,
          idle: attributes.idle,
          tier: attributes.tier,
          cpu: attributes.cpu,
          virtioDevices: opened.devices,
          virtioLegacy: attributes.virtioLegacy,
          consoleOutput: (byte) => this.onConsoleByte(byte),
        });
        // A debug session can always type into the guest (ringside/serialInput): waiting for input is never a deadlock.
        machine.externalInputPossible = () => true;
        if (replay !== undefined) machine.replayFeed = new ReplayFeed(machine, replay.recording, replay.built.cards);
        // The run loop yields to the event loop between slices: compile off the main thread
        // (the machine's close, when the session ends, stops the worker).
        if (machine.translation !== null) {
          machine.translation.backgroundCompilation = true;
          if (compileWorker !== undefined) machine.translation.useCompileWorker(compileWorker);
        } else {
          void compileWorker?.terminate();
        }
      } catch (error) {
        void compileWorker?.terminate();
        opened.discard();
        if (serial.kind === 'file') closeSync(serial.descriptor);
        throw new RequestError(`cannot boot '${attributes.program}': ${(error as Error).message}`);
      }
      let symbols: SymbolSet | undefined;
      try {
        symbols = this.loadSymbols(attributes, cwd, [
          { path: kernel.fileName, bytes: kernel.bytes, required: true },
          ...(typeof bios === 'object' ? [{ path: bios.fileName, bytes: bios.bytes, required: false, privilege: 'M' as const }] : []),
        ]);
      } catch (error) {
        machine.translation?.stopCompileWorker();
        opened.discard();
        if (serial.kind === 'file') closeSync(serial.descriptor);
        throw error;
      }
      this.serial = serial;
      this.ownedMachine = machine;
      this.stopOnEntry = attributes.stopOnEntry ?? false;
      this.setUp(machine, new Debugger(machine), symbols, attributes, false);
      this.sendResponse(response);
      this.sendEvent({ seq: 0, type: 'event', event: 'initialized' });
    });
  }

  protected override attachRequest(response: DebugProtocol.AttachResponse, args: DebugProtocol.AttachRequestArguments, request?: DebugProtocol.Request): void {
    this.respond(response, async () => {
      if (this.state !== undefined) throw new RequestError('this session already has a machine');
      const attributes = validateAttachAttributes(args);
      const host = this.options.host;
      if (host === undefined) {
        if (attributes.port === undefined) {
          throw new RequestError("attach needs 'port': the port of a machine started with `ringside run --debug-port PORT`");
        }
        // Forward this session to the machine's own adapter: it answers the attach itself.
        const proxy = await AttachProxy.connect(this, attributes.host ?? '127.0.0.1', attributes.port, this.clientCapabilities ?? { adapterID: 'ringside' });
        this.proxy = proxy;
        proxy.forward(request ?? { seq: response.request_seq, type: 'request', command: 'attach', arguments: args });
        return;
      }
      const programPath = attributes.program ?? host.kernelPath;
      const programFile = programPath === undefined ? undefined
        : isAbsolute(programPath) ? programPath : resolvePath(attributes.cwd ?? process.cwd(), programPath);
      const cwd = attributes.cwd ?? (programFile !== undefined ? dirname(programFile) : process.cwd());
      const files: Array<{ path: string; bytes?: Uint8Array; required: boolean; privilege?: 'M' }> = [];
      if (programFile !== undefined) files.push({ path: programFile, required: true });
      if (host.firmwarePath !== undefined) files.push({ path: host.firmwarePath, required: false, privilege: 'M' });
      const symbols = this.loadSymbols(attributes, cwd, files);
      host.acquire();
      this.serial = { kind: 'output' };
      this.removeConsoleListener = host.machine.onConsoleOutput((byte) => this.onConsoleByte(byte));
      this.stopOnEntry = attributes.stopOnAttach ?? false;
      this.setUp(host.machine, host.debugger, symbols, attributes, true);
      this.sendResponse(response);
      this.sendEvent({ seq: 0, type: 'event', event: 'initialized' });
    });
  }

  private openSerial(text: string, resolve: (path: string) => string): SerialMode {
    if (text === 'none') return { kind: 'none' };
    if (text === 'terminal') return { kind: 'terminal' };
    if (text.startsWith('file:')) {
      try {
        return { kind: 'file', descriptor: openSync(resolve(text.slice(5)), 'w') };
      } catch (error) {
        throw new RequestError(`cannot create serial file '${text.slice(5)}': ${fileError(error)}`);
      }
    }
    return { kind: 'output' };
  }

  private loadSymbols(
    attributes: LaunchAttributes | AttachAttributes, cwd: string,
    images: ReadonlyArray<{ path: string; bytes?: Uint8Array; required: boolean; privilege?: 'M' }>,
  ): SymbolSet | undefined {
    const pathMapping = Object.entries(attributes.pathMappings ?? {}).map(([from, to]) => ({ from, to }));
    const bindings: SymbolBinding[] = [];
    const loaded: { file: ElfSymbolFile; path: string; bytes: Uint8Array }[] = [];
    const load = (path: string, bytes: Uint8Array | undefined, what: string) => {
      let data = bytes;
      if (data === undefined) {
        try {
          data = new Uint8Array(readFileSync(path));
        } catch (error) {
          throw new RequestError(`cannot read ${what} '${path}': ${fileError(error)}`);
        }
      }
      try {
        const file = loadSymbolFile(data, path, { pathMapping });
        loaded.push({ file, path, bytes: data });
        return file;
      } catch (error) {
        throw new RequestError(`cannot read the symbols of ${what} '${path}': ${(error as Error).message}`);
      }
    };
    for (const image of images) {
      const isElf = image.bytes === undefined || (image.bytes[0] === 0x7f && image.bytes[1] === 0x45 && image.bytes[2] === 0x4c && image.bytes[3] === 0x46);
      // A raw image (direct or firmware boot) has no symbols; that is not an error.
      if (!isElf) continue;
      try {
        bindings.push({ file: load(image.path, image.bytes, image.privilege === 'M' ? 'firmware' : 'program'), offset: 0n, privilege: image.privilege });
      } catch (error) {
        if (image.required) throw error;
      }
    }
    for (const entry of attributes.symbolFiles ?? []) {
      const spec: SymbolFileEntry = typeof entry === 'string' ? { path: entry } : entry;
      const path = isAbsolute(spec.path) ? spec.path : resolvePath(cwd, spec.path);
      bindings.push({
        file: load(path, undefined, 'symbol file'),
        offset: parseAddressAttribute(spec.offset),
        privilege: spec.privilege,
        asid: spec.asid,
        satp: spec.satp !== undefined ? parseAddressAttribute(spec.satp) : undefined,
      });
    }
    for (const { file, path, bytes } of loaded) {
      if (file.debugInfoBytes >= BACKGROUND_INDEX_MIN_DEBUG_INFO) this.indexInBackground(file, path, bytes);
    }
    if (bindings.length === 0) return undefined;
    // An explicit cwd is where relative DWARF paths are; without one they are looked for from the program's directory up.
    const program = images.find((image) => image.required);
    const sourceRoot = attributes.cwd === undefined && program !== undefined ? new SourceRoot(dirname(program.path)) : undefined;
    return new SymbolSet(bindings, sourceRoot !== undefined ? (path) => sourceRoot.resolve(path) : cwd);
  }

  /**
   * Indexes a large symbol file on a worker (or reads its cached index) while the guest
   * runs; says how it went in the Debug Console and a `ringside/symbolIndex` event, with a
   * progress indicator when the client shows them.
   */
  private indexInBackground(file: ElfSymbolFile, path: string, bytes: Uint8Array): void {
    const indexing = new BackgroundIndex(file, path, bytes);
    this.symbolIndexes.push(indexing);
    const progressId = `ringside-symbols-${this.nextProgressId++}`;
    const progress = this.clientCapabilities?.supportsProgressReporting === true;
    if (progress) {
      this.sendEvent({ seq: 0, type: 'event', event: 'progressStart', body: { progressId, title: `Indexing the symbols of ${basename(path)}`, cancellable: false } });
    }
    void indexing.done.then((report) => {
      if (progress) this.sendEvent({ seq: 0, type: 'event', event: 'progressEnd', body: { progressId } });
      if (this.ended) return;
      this.sendEvent({ seq: 0, type: 'event', event: 'ringside/symbolIndex', body: { path, ...report } });
      const seconds = (report.milliseconds / 1000).toFixed(1);
      const text = !report.adopted ? `Symbols of ${path} not indexed: ${report.problems.join('; ')}\n`
        : report.source === 'cache' ? `Symbols of ${path}: index read from ${report.cachePath} in ${seconds} s\n`
        : `Symbols of ${path} indexed in ${seconds} s${report.cachePath !== undefined ? `, cached in ${report.cachePath}` : ` (not cached: ${report.problems.join('; ')})`}\n`;
      this.report({ kind: 'output', text, category: 'console' });
    });
  }

  private setUp(machine: Machine, debug: Debugger, symbols: SymbolSet | undefined, attributes: LaunchAttributes | AttachAttributes, attached: boolean): void {
    this.interruptsDuringStep = attributes.interruptsDuringStep ?? false;
    this.addressSpace = attributes.addressSpace ?? 'virtual';
    this.workingDirectory = attributes.cwd ?? process.cwd();
    // A terminal showing the guest console draws a line where the guest rebooted.
    this.removeGuestResetListener = machine.onGuestReset(() => this.sendEvent({ seq: 0, type: 'event', event: 'ringside/machineReset', body: { by: 'guest' } }));
    const target = new Target(machine, debug);
    const expressions: ExpressionService = {
      check: (expression) => void parseExpression(expression),
      evaluate: (expression, hartId, names) => evaluateExpression(parseExpression(expression), this.expressionContext(hartId, undefined, names)).value,
      interpolate: (template, hartId) => template.replace(/\{([^{}]+)\}/g, (_, expression: string) => {
        const value = evaluateExpression(parseExpression(expression), this.expressionContext(hartId));
        return formatExpressionValue(value);
      }),
    };
    const breakpoints = new Breakpoints(target, expressions, {
      changed: (breakpoint) => this.report({ kind: 'breakpoint', breakpoint }),
      log: (text, category) => this.report({ kind: 'output', text, category }),
    }, () => this.focusHart);
    const policy: StopPolicy = {
      review: (stop) => breakpoints.review(stop),
      afterSlice: () => {
        this.flushSerial();
        // Pending breakpoints are re-checked now and then while running (a page walk each).
        if (breakpoints.hasPending && --this.pendingCheckCountdown <= 0) {
          this.pendingCheckCountdown = 20;
          breakpoints.refreshPending();
        }
      },
    };
    const loop = new RunLoop(debug, policy, this.options.attention ?? null);
    // Network frames arriving during an idle wait wake this session's pacer (an attached CLI's hook comes back on release).
    const previousInputHook = machine.beforeExternalInput;
    this.restoreInputHook = () => {
      machine.beforeExternalInput = previousInputHook;
    };
    machine.beforeExternalInput = () => loop.pacer.beforeExternalInput();
    const stepper = new Stepper(target, loop, policy, () => this.state?.symbols, () => this.interruptsDuringStep);
    const historyMiB = attributes.historyMiB ?? DEFAULT_HISTORY_MIB;
    let reverse: ReverseExecution | undefined;
    let reverseUnavailable: string | undefined;
    if (historyMiB === 0) reverseUnavailable = 'reverse debugging is off (historyMiB is 0 in the launch configuration)';
    else if (machine.history !== null) reverseUnavailable = 'this machine records its history for another debugger already';
    else {
      const history = new ExecutionHistory(machine, { budgetBytes: historyMiB * 1024 * 1024 });
      // A replayed recording's place in its inputs goes back with the machine.
      const feed = machine.replayFeed;
      if (feed instanceof ReplayFeed) history.sideState = { save: () => feed.place(), restore: (place) => feed.seek(place) };
      reverse = new ReverseExecution(machine, debug, history, target, breakpoints, () => this.state?.symbols);
    }
    this.state = { machine, target, breakpoints, loop, stepper, symbols, attached, trapHistory: debug.trapHistory, reverse, reverseUnavailable };
    this.focusHart = Math.max(0, machine.harts.findIndex((_, id) => machine.hartStates[id] === HartState.Started));
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.respond(response, () => {
      const state = this.loaded();
      if (this.configured) throw new RequestError('configurationDone was already sent');
      this.configured = true;
      this.sendResponse(response);
      if (this.stopOnEntry) {
        this.report({ kind: 'stopped', stop: { reason: state.attached ? 'pause' : 'entry', hartId: this.focusHart, description: state.attached ? 'Attached' : 'Entry point' } });
        return;
      }
      // A breakpoint on a hart's very first instruction: the run would step over it.
      for (const hart of state.machine.harts) {
        if (state.machine.hartStates[hart.hartId] !== HartState.Started) continue;
        if (state.breakpoints.breakpointsAt(hart.hartId, hart.pc).length === 0) continue;
        const stop = state.breakpoints.review({ reason: 'breakpoint', hartId: hart.hartId, pc: hart.pc, breakpointId: 0 });
        if (stop !== undefined) {
          this.report({ kind: 'stopped', stop });
          return;
        }
      }
      this.execute(this.focusHart, () => state.loop.run());
    });
  }

  // ---- breakpoints ------------------------------------------------------------------------

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      const path = args.source?.path;
      if (typeof path !== 'string') throw new RequestError('setBreakpoints needs source.path (breakpoints in sources without a path are not supported)');
      const localPath = this.convertClientPathToDebugger(path);
      const requested = (args.breakpoints ?? (args.lines ?? []).map((line) => ({ line }))).map((breakpoint) => ({
        ...breakpoint, line: this.convertClientLineToDebugger(breakpoint.line),
      }));
      const breakpoints = state.breakpoints.setSourceBreakpoints(localPath, requested, { name: args.source.name, path },
        (line) => state.symbols?.resolveLine(localPath, line));
      response.body = { breakpoints: breakpoints.map((breakpoint) => this.toClientBreakpoint(breakpoint)) };
      this.sendResponse(response);
    });
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      if (!Array.isArray(args.breakpoints)) throw new RequestError('setFunctionBreakpoints needs a breakpoints array');
      const breakpoints = state.breakpoints.setFunctionBreakpoints(args.breakpoints, (name) => {
        const found = state.symbols?.addressOf(name);
        if (found === undefined) return undefined;
        // A DWARF function stops after its prologue (as gdb's `break NAME`); `*0xADDR` and
        // assembly symbols stay exact.
        const skipped = found.function === undefined ? undefined : found.binding.file.postPrologueAddress?.(found.function);
        const address = skipped === undefined ? found.address : skipped + found.binding.offset;
        const row = state.symbols!.locationAt(address);
        return { address, source: row !== undefined ? state.symbols!.source(row) : undefined, line: row?.line };
      });
      response.body = { breakpoints: breakpoints.map((breakpoint) => this.toClientBreakpoint(breakpoint)) };
      this.sendResponse(response);
    });
  }

  protected override setInstructionBreakpointsRequest(response: DebugProtocol.SetInstructionBreakpointsResponse, args: DebugProtocol.SetInstructionBreakpointsArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      if (!Array.isArray(args.breakpoints)) throw new RequestError('setInstructionBreakpoints needs a breakpoints array');
      const breakpoints = state.breakpoints.setInstructionBreakpoints(args.breakpoints, (reference) => parseMemoryReference(reference, 'virtual'));
      response.body = { breakpoints: breakpoints.map((breakpoint) => this.toClientBreakpoint(breakpoint)) };
      this.sendResponse(response);
    });
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      const filters = args.filters ?? [];
      const options = args.filterOptions ?? [];
      if (!Array.isArray(filters) || !Array.isArray(options)) throw new RequestError('setExceptionBreakpoints: filters and filterOptions must be arrays');
      response.body = { breakpoints: state.breakpoints.setFilters(filters, options) };
      this.sendResponse(response);
    });
  }

  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    this.respond(response, () => {
      this.loaded();
      const accessTypes: DebugProtocol.DataBreakpointAccessType[] = ['read', 'write', 'readWrite'];
      const unavailable = (description: string) => {
        response.body = { dataId: null, description };
        this.sendResponse(response);
      };
      if (typeof args.name !== 'string') throw new RequestError('dataBreakpointInfo needs a name');
      if (args.asAddress === true) {
        const address = parseMemoryReference(args.name, this.addressSpace);
        if (address === undefined) return unavailable(`'${args.name}' is not an address`);
        const size = args.bytes ?? 8;
        if (!Number.isInteger(size) || size <= 0) return unavailable(`bytes must be a positive integer, got ${size}`);
        response.body = { dataId: dataBreakpointId(address, size), description: `${size} byte${size === 1 ? '' : 's'} at ${formatMemoryReference(address)}`, accessTypes, canPersist: true };
        this.sendResponse(response);
        return;
      }
      if (args.variablesReference !== undefined && args.variablesReference !== 0) {
        const container = this.variables.get(args.variablesReference);
        const data = container?.dataOf?.(args.name);
        if (data === undefined) return unavailable(`'${args.name}' has no address in memory (registers and optimized-out values cannot be watched)`);
        const size = args.bytes ?? data.size;
        response.body = { dataId: dataBreakpointId(data.address, size), description: `${data.description} (${size} bytes at ${formatMemoryReference(data.address)})`, accessTypes, canPersist: false };
        this.sendResponse(response);
        return;
      }
      // An expression: watch the memory it names.
      const hartId = args.frameId !== undefined ? this.frameOf(args.frameId).hartId : this.focusHart;
      const value = this.evaluateTyped(args.name, hartId, args.frameId);
      if (value.address === undefined) return unavailable(`'${args.name}' is a value, not a place in memory (try *(u64*)ADDRESS or a symbol)`);
      const size = args.bytes ?? Math.max(1, value.size ?? typeSizeOf(value.type));
      const address: SpacedAddress = { address: BigInt.asUintN(64, value.address), space: value.physical === true ? 'physical' : this.addressSpace };
      response.body = { dataId: dataBreakpointId(address, size), description: `${args.name} (${size} bytes at ${formatMemoryReference(address)})`, accessTypes, canPersist: true };
      this.sendResponse(response);
    });
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      if (!Array.isArray(args.breakpoints)) throw new RequestError('setDataBreakpoints needs a breakpoints array');
      response.body = { breakpoints: state.breakpoints.setDataBreakpoints(args.breakpoints) };
      this.sendResponse(response);
    });
  }

  protected override breakpointLocationsRequest(response: DebugProtocol.BreakpointLocationsResponse, args: DebugProtocol.BreakpointLocationsArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      const path = args.source?.path;
      const locations: DebugProtocol.BreakpointLocation[] = [];
      if (typeof path === 'string' && state.symbols !== undefined) {
        const first = this.convertClientLineToDebugger(args.line);
        const last = args.endLine !== undefined ? this.convertClientLineToDebugger(args.endLine) : first;
        for (let line = first; line <= last && line - first < 10_000; line++) {
          const resolved = state.symbols.resolveLine(this.convertClientPathToDebugger(path), line);
          if (resolved !== undefined && resolved.line === line) locations.push({ line: this.convertDebuggerLineToClient(line) });
        }
      }
      response.body = { breakpoints: locations };
      this.sendResponse(response);
    });
  }

  private toClientBreakpoint(breakpoint: DebugProtocol.Breakpoint): DebugProtocol.Breakpoint {
    return breakpoint.line === undefined ? breakpoint : { ...breakpoint, line: this.convertDebuggerLineToClient(breakpoint.line) };
  }

  // ---- execution --------------------------------------------------------------------------

  /** Starts an operation that runs the machine; its outcome is reported by `report` when it ends. */
  private execute(hartId: number, operation: () => Promise<StepOutcome>, options: { reverse?: boolean } = {}): void {
    const state = this.loaded();
    if (this.running) throw new RequestError('the machine is already running');
    if (state.machine.exit !== null) throw new RequestError('the guest has exited; nothing left to run');
    // While stopped the person may have changed registers or memory: history starts a new checkpoint.
    if (options.reverse !== true) state.reverse?.history.externalChange();
    this.running = true;
    this.invalidateStopState();
    this.sendStateChanged();
    const finish = (outcome: StepOutcome) => {
      this.running = false;
      this.flushSerial();
      switch (outcome.kind) {
        case 'stepped': case 'reached':
          this.report({ kind: 'stopped', stop: { reason: 'step', hartId } });
          break;
        case 'stopped':
          this.report({ kind: 'stopped', stop: outcome.stop });
          break;
        case 'paused':
          this.report({ kind: 'stopped', stop: { reason: 'pause', hartId: outcome.hartId, description: 'Paused' } });
          break;
        case 'exited':
          this.report({ kind: 'exited', exit: outcome.exit });
          break;
        case 'cancelled':
          break;
      }
    };
    operation().then(finish, (error: unknown) => {
      this.running = false;
      this.report({ kind: 'output', text: `Ringside: ${(error as Error).message}\n`, category: 'stderr' });
      this.report({ kind: 'stopped', stop: { reason: 'pause', hartId, description: (error as Error).message } });
    });
  }

  private invalidateStopState(): void {
    this.variables.clear();
    this.frames.clear();
    this.framesByHart.clear();
    this.lastStops.clear();
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse, args: DebugProtocol.ContinueArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      const hartId = this.hartOfThread(args.threadId);
      const single = args.singleThread === true;
      this.focusHart = hartId;
      this.execute(hartId, () => state.loop.run({ singleHart: single ? hartId : undefined, pauseHart: hartId }));
      response.body = { allThreadsContinued: !single };
      this.sendResponse(response);
    });
  }

  private step(response: DebugProtocol.Response, args: { threadId: number; singleThread?: boolean; granularity?: DebugProtocol.SteppingGranularity }, mode: 'in' | 'over' | 'out'): void {
    this.respond(response, () => {
      const state = this.loaded();
      const hartId = this.hartOfThread(args.threadId);
      const granularity = args.granularity ?? 'line';
      if (granularity !== 'line' && granularity !== 'statement' && granularity !== 'instruction') {
        throw new RequestError(`granularity must be 'line', 'statement' or 'instruction', got '${String(granularity)}'`);
      }
      const options = { hartId, singleThread: args.singleThread === true };
      this.focusHart = hartId;
      this.execute(hartId, () => {
        if (mode === 'out') return state.stepper.out(options);
        if (granularity === 'instruction') return state.loop.guard(() => state.stepper.instruction(options, mode === 'over'));
        return state.stepper.line(options, mode, granularity);
      });
      this.sendResponse(response);
    });
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.step(response, args, 'over');
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.step(response, args, 'in');
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse, args: DebugProtocol.StepOutArguments): void {
    this.step(response, args, 'out');
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse, args: DebugProtocol.PauseArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      const hartId = args.threadId !== undefined ? this.hartOfThread(args.threadId) : this.focusHart;
      this.focusHart = hartId;
      // A stopped machine stays stopped: nothing to report.
      if (this.running) state.loop.requestPause();
      this.sendResponse(response);
    });
  }

  // ---- reverse debugging -------------------------------------------------------------------

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    const granularity = args.granularity ?? 'line';
    if (granularity !== 'line' && granularity !== 'statement' && granularity !== 'instruction') {
      this.respond(response, () => {
        throw new RequestError(`granularity must be 'line', 'statement' or 'instruction', got '${String(granularity)}'`);
      });
      return;
    }
    this.reverseRequest(response, args.threadId, (reverse, hartId) =>
      (granularity === 'instruction' ? reverse.stepBackInstruction(hartId) : reverse.stepBackLine(hartId)));
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse, args: DebugProtocol.ReverseContinueArguments): void {
    // The stop being left counted its hits already (read before the run forgets it).
    const counted = [...this.lastStops.values()].flatMap((stop) => stop.hitBreakpointIds ?? []);
    this.reverseRequest(response, args.threadId, (reverse, hartId) => reverse.reverseContinue(hartId, counted));
  }

  /** Goes back in time (synchronously: within history's re-execution), then reports the stop. */
  private reverseRequest(response: DebugProtocol.Response, threadId: unknown, work: (reverse: ReverseExecution, hartId: number) => ReverseOutcome): void {
    this.respond(response, () => {
      const state = this.loaded();
      const hartId = this.hartOfThread(threadId);
      if (this.running) throw new RequestError('the machine is running; pause it first');
      if (state.reverse === undefined) throw new RequestError(state.reverseUnavailable ?? 'no reverse debugging');
      this.focusHart = hartId;
      this.execute(hartId, async (): Promise<StepOutcome> => {
        let outcome: ReverseOutcome;
        try {
          outcome = work(state.reverse!, hartId);
        } catch (error) {
          if (error instanceof ReverseError) throw new RequestError(error.message);
          throw error;
        }
        if (outcome.kind === 'stopped') return { kind: 'stopped', stop: outcome.stop };
        if (outcome.kind === 'start') {
          return { kind: 'stopped', stop: { reason: 'step', hartId, description: 'Reached the start of the execution history' } };
        }
        return { kind: 'stepped' };
      }, { reverse: true });
      this.sendResponse(response);
    });
  }

  /**
   * `ringside/snapshot` {action: 'take'|'list'|'restore'|'delete'|'rename'|'save'|'load', id, name, path}:
   * the session's whole-machine snapshots. Taking and restoring need a stopped machine; a restore
   * reports a stop where the snapshot was taken, and history starts again from there.
   */
  private snapshotRequest(response: DebugProtocol.Response, args: Record<string, unknown>): void {
    const state = this.loaded();
    const snapshots = this.snapshots ??= new SessionSnapshots(state.machine);
    const path = (): string => {
      if (typeof args.path !== 'string' || args.path.trim() === '') throw new RequestError('path must be a file name');
      return isAbsolute(args.path) ? args.path : resolvePath(this.workingDirectory, args.path);
    };
    const stopped = (): void => {
      if (this.running) throw new RequestError('the machine is running; pause it first');
    };
    try {
      switch (args.action) {
        case 'list': response.body = { snapshots: snapshots.list() }; break;
        case 'take': {
          stopped();
          if (args.name !== undefined && typeof args.name !== 'string') throw new RequestError('name must be a string');
          response.body = { snapshot: snapshots.take(args.name as string | undefined) };
          break;
        }
        case 'restore': case 'load': {
          stopped();
          const restored = args.action === 'restore' ? snapshots.restore(args.id) : snapshots.load(path());
          // Everything recorded since describes another timeline now.
          state.reverse?.history.clear();
          state.target.debug.moved();
          this.invalidateStopState();
          response.body = { snapshot: restored };
          this.sendResponse(response);
          this.report({ kind: 'stopped', stop: { reason: 'goto', hartId: this.focusHart, description: `Restored snapshot '${restored.name}'` } });
          this.sendEvent({ seq: 0, type: 'event', event: 'ringside/snapshots', body: { snapshots: snapshots.list() } });
          return;
        }
        case 'delete': snapshots.delete(args.id); response.body = { snapshots: snapshots.list() }; break;
        case 'rename': response.body = { snapshot: snapshots.rename(args.id, args.name) }; break;
        case 'save': snapshots.save(args.id, path()); response.body = { path: path() }; break;
        default: throw new RequestError(`action must be 'take', 'list', 'restore', 'delete', 'rename', 'save' or 'load', got ${JSON.stringify(args.action)}`);
      }
    } catch (error) {
      if (error instanceof SnapshotRequestError) throw new RequestError(error.message);
      throw error;
    }
    this.sendResponse(response);
    if (args.action !== 'list' && args.action !== 'save') this.sendEvent({ seq: 0, type: 'event', event: 'ringside/snapshots', body: { snapshots: snapshots.list() } });
  }

  /** The recording a `replay` launch names, checked against the program and the other attributes. */
  private readReplay(attributes: LaunchAttributes, path: string, kernel: ImageFile): { recording: ParsedRecording; built: ReturnType<typeof replayMachineConfig> } {
    const machineAttributes = ['bios', 'initrd', 'append', 'dtb', 'memory', 'harts', 'icountShift', 'cpu', 'drives', 'netdevs', 'devices', 'virtioLegacy', 'idle']
      .filter((name) => (attributes as unknown as Record<string, unknown>)[name] !== undefined);
    if (machineAttributes.length > 0) throw new RequestError(`'replay' takes the whole machine from the recording; ${machineAttributes.join(', ')} cannot go with it`);
    let recording: ParsedRecording;
    try {
      recording = readRecording(new Uint8Array(readFileSync(path)));
    } catch (error) {
      if (error instanceof SnapshotError) throw new RequestError(`${attributes.replay}: ${error.message}`);
      throw new RequestError(`cannot read recording '${attributes.replay}': ${fileError(error)}`);
    }
    const recorded = recording.config.isNull('kernel') ? undefined : recording.config.child('kernel').bytes('bytes');
    if (recorded === undefined || recorded.length !== kernel.bytes.length || !recorded.every((byte, index) => byte === kernel.bytes[index])) {
      throw new RequestError(`'${attributes.replay}' was recorded with another kernel than '${attributes.program}' (program must be the recorded kernel, for its symbols)`);
    }
    try {
      return { recording, built: replayMachineConfig(recording) };
    } catch (error) {
      if (error instanceof SnapshotError) throw new RequestError(`${attributes.replay}: ${error.message}`);
      throw error;
    }
  }

  /** `ringside/history`: how far back reverse debugging reaches. */
  private historyRequest(response: DebugProtocol.Response): void {
    const state = this.loaded();
    response.body = this.historySummary(state);
    this.sendResponse(response);
  }

  private historySummary(state: LoadedState): HistorySummary {
    if (state.reverse === undefined) return { enabled: false, reason: state.reverseUnavailable };
    const statistics = state.reverse.history.statistics;
    const machine = state.machine;
    const back = machine.totalSteps() - totalSteps(statistics.oldest);
    const perStep = 2 ** machine.config.icountShift;
    return {
      enabled: true,
      checkpoints: statistics.checkpoints,
      bytes: statistics.bytes,
      budgetBytes: statistics.budgetBytes,
      oldestSteps: statistics.oldest.steps,
      currentSteps: machine.harts.map((hart) => hart.instructionsRetired + hart.trapsTaken),
      stepsBack: back,
      // Guest time history covers, as the clock counts it (idle time aside): steps times the icount scale.
      secondsBack: (back * perStep) / 1e9 / machine.harts.length,
    };
  }

  // ---- threads, stacks, variables ---------------------------------------------------------

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    this.respond(response, () => {
      const machine = this.state?.machine;
      response.body = { threads: machine === undefined ? [] : machine.harts.map((hart) => ({ id: threadOf(hart.hartId), name: `hart ${hart.hartId}` })) };
      this.sendResponse(response);
    });
  }

  private context(hartId: number): AddressContext {
    const target = this.loaded().target;
    return { privilege: target.privilegeOf(hartId), satp: target.satpOf(hartId) };
  }

  private stackOf(hartId: number): StackFrameInfo[] {
    let frames = this.framesByHart.get(hartId);
    if (frames === undefined) {
      const state = this.loaded();
      frames = unwindStack(state.target, state.symbols, hartId, this.context(hartId));
      this.framesByHart.set(hartId, frames);
      for (const frame of frames) this.frames.set(this.nextFrameId++, frame);
    }
    return frames;
  }

  private frameIdOf(frame: StackFrameInfo): number {
    for (const [id, candidate] of this.frames) if (candidate === frame) return id;
    throw new Error('frame without an id');
  }

  private frameOf(frameId: unknown): StackFrameInfo {
    const frame = typeof frameId === 'number' ? this.frames.get(frameId) : undefined;
    if (frame === undefined) throw new RequestError(`no frame ${JSON.stringify(frameId)} (frames are valid until the machine runs again)`);
    return frame;
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    this.respond(response, () => {
      this.requireStopped();
      const hartId = this.hartOfThread(args.threadId);
      const frames = this.stackOf(hartId);
      const start = Math.max(0, args.startFrame ?? 0);
      const levels = args.levels !== undefined && args.levels > 0 ? args.levels : frames.length;
      response.body = {
        stackFrames: frames.slice(start, start + levels).map((frame): DebugProtocol.StackFrame => ({
          id: this.frameIdOf(frame),
          name: this.frameName(frame, args.format),
          source: frame.source,
          line: frame.source !== undefined ? this.convertDebuggerLineToClient(frame.line) : 0,
          column: frame.source !== undefined ? this.convertDebuggerColumnToClient(Math.max(frame.column, 1)) : 0,
          instructionPointerReference: hex(frame.registers.pc),
          presentationHint: frame.trapLabel === true ? 'label' : frame.source === undefined ? 'subtle' : 'normal',
        })),
        totalFrames: frames.length,
      };
      this.sendResponse(response);
    });
  }

  /**
   * A frame's name as DAP's StackFrameFormat asks: `syscall(f = 0x80212f48) Line 160` with
   * `parameters` (names and values unless parameterTypes/Names/Values pick), `line`, and `hex`
   * for the values. Without a format, the function's name alone.
   */
  private frameName(frame: StackFrameInfo, format: DebugProtocol.StackFrameFormat | undefined): string {
    if (format === undefined || frame.trapLabel === true) return frame.name;
    let name = frame.name;
    if (format.parameters === true && frame.binding !== undefined) {
      const picked = format.parameterTypes === true || format.parameterNames === true || format.parameterValues === true;
      const types = picked ? format.parameterTypes === true : false;
      const names = picked ? format.parameterNames === true : true;
      const values = picked ? format.parameterValues === true : true;
      const reader = this.valueReader(frame);
      const parameters = this.localsOf(frame).filter((variable) => variable.kind === 'parameter').map((parameter) => {
        const words: string[] = [];
        if (types) words.push(parameter.type?.name ?? 'unknown');
        if (names) words.push(parameter.name);
        if (values) {
          const shown = renderValue(parameter.name, parameter.type, this.valueLocation(frame, parameter), reader, this.variables, undefined, { hex: format.hex === true });
          words.push(names ? `= ${shown.value}` : shown.value);
        }
        return words.join(' ');
      });
      name += `(${parameters.join(', ')})`;
    }
    if (format.line === true && frame.source !== undefined) name += ` Line ${this.convertDebuggerLineToClient(frame.line)}`;
    return name;
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    this.respond(response, () => {
      this.requireStopped();
      const frame = this.frameOf(args.frameId);
      const scopes: DebugProtocol.Scope[] = [];
      if (frame.binding !== undefined) {
        scopes.push({ name: 'Locals', presentationHint: 'locals', variablesReference: this.variables.add(this.localsContainer(frame)), expensive: false });
      }
      scopes.push(
        { name: 'Registers', presentationHint: 'registers', variablesReference: this.variables.add(this.registersContainer(frame)), expensive: false },
        { name: 'Floating point', presentationHint: 'registers', variablesReference: this.variables.add(this.floatContainer(frame.hartId)), expensive: true },
        { name: 'CSRs', presentationHint: 'registers', variablesReference: this.variables.add(this.csrContainer(frame.hartId)), expensive: true },
      );
      // Not globals(): on a Linux-sized file that reads every unit (seconds) before the first Locals show.
      if (frame.binding !== undefined && frame.binding.file.hasGlobals()) {
        scopes.push({ name: 'Globals', variablesReference: this.variables.add(this.globalsContainer(frame)), expensive: true });
      }
      scopes.push({ name: 'Machine', variablesReference: this.variables.add(this.machineContainer()), expensive: true });
      response.body = { scopes };
      this.sendResponse(response);
    });
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    this.respond(response, () => {
      const container = this.variables.get(args.variablesReference);
      if (container === undefined) throw new RequestError(`no variables reference ${args.variablesReference} (references are valid until the machine runs again)`);
      const format: ValueFormat = { hex: args.format?.hex === true };
      let variables = container.paged === true ? container.variables(args.start, args.count, format) : container.variables(undefined, undefined, format);
      if (container.paged !== true && (args.start !== undefined || args.count !== undefined)) {
        const start = args.start ?? 0;
        variables = variables.slice(start, args.count !== undefined && args.count > 0 ? start + args.count : undefined);
      }
      if (args.format?.hex === true) variables = variables.map((variable) => ({ ...variable, value: hexValue(variable.value) }));
      response.body = { variables };
      this.sendResponse(response);
    });
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    this.respond(response, () => {
      this.requireStopped();
      const container = this.variables.get(args.variablesReference);
      if (container === undefined) throw new RequestError(`no variables reference ${args.variablesReference}`);
      if (container.set === undefined) throw new RequestError(`'${args.name}' cannot be changed here (registers, CSRs and the privilege level can)`);
      if (typeof args.value !== 'string') throw new RequestError('setVariable needs a value');
      // Frame ids stay valid (clients keep using them); the innermost frame reads registers live.
      const result = container.set(args.name, args.value, { hex: args.format?.hex === true });
      response.body = { value: result.value, memoryReference: result.memoryReference };
      this.sendResponse(response);
    });
  }

  private registersContainer(frame: StackFrameInfo): Container {
    const state = this.loaded();
    const hartId = frame.hartId;
    const current = frame.depth === 0;
    const nameOf = (index: number) => `${INTEGER_REGISTER_NAMES[index]} (x${index})`;
    return {
      variables: () => {
        const hart = state.target.hart(hartId);
        const privilege = privilegeName(hart.privilege);
        const list: DebugProtocol.Variable[] = [
          { name: 'pc', value: hex(frame.registers.pc, 16), variablesReference: 0, memoryReference: hex(frame.registers.pc), evaluateName: '$pc' },
          { name: 'privilege', value: PRIVILEGE_WORDS[privilege], variablesReference: 0 },
        ];
        const values = current ? new Map(generalRegisters(hart).map((register) => [register.index, register.value])) : frame.registers.registers;
        for (let index = 0; index < 32; index++) {
          const value = index === 0 ? 0n : values.get(index);
          list.push(value === undefined
            ? { name: nameOf(index), value: '<not saved in this frame>', variablesReference: 0 }
            : { name: nameOf(index), value: hex(value, 16), variablesReference: 0, memoryReference: hex(value), evaluateName: `$${INTEGER_REGISTER_NAMES[index]}` });
        }
        return list;
      },
      set: (name, value) => {
        if (!current) throw new RequestError('registers can be changed in the innermost frame only');
        if (name === 'privilege') {
          const level = /^\s*([USM])/i.exec(value)?.[1].toUpperCase();
          if (level === undefined) throw new RequestError(`privilege must be U, S or M, got '${value}'`);
          const hart = state.target.hart(hartId);
          hart.privilege = level === 'M' ? Privilege.Machine : level === 'S' ? Privilege.Supervisor : Privilege.User;
          state.machine.mmus[hartId].flush();
          return { value: PRIVILEGE_WORDS[level as 'U' | 'S' | 'M'] };
        }
        const register = name === 'pc' ? 'pc' : /^\S+/.exec(name)?.[0] ?? name;
        if (register !== 'pc' && parseIntegerRegister(register) === undefined) throw new RequestError(`'${name}' is not a register`);
        const written = setRegister(state.machine, hartId, register, this.evaluateNumber(value, hartId));
        return { value: hex(written.value, 16), memoryReference: hex(written.value) };
      },
    };
  }

  /** A value typed into setVariable: a number, or any expression. */
  private evaluateNumber(text: string, hartId: number): bigint {
    return BigInt.asUintN(64, evaluateExpression(parseExpression(text), this.expressionContext(hartId)).value);
  }

  private floatContainer(hartId: number): Container {
    const state = this.loaded();
    return {
      variables: () => floatRegisters(state.target.hart(hartId)).map((register) => ({
        name: `${register.abiName} (${register.name})`,
        value: register.nanBoxed ? `${register.singleText} (single, ${register.text})` : `${register.doubleText} (${register.text})`,
        variablesReference: 0,
        evaluateName: `$${register.abiName}`,
      })),
      set: (name, value) => {
        const register = /^\S+/.exec(name)?.[0] ?? name;
        const written = setRegister(state.machine, hartId, register, value);
        const after = floatRegisters(state.target.hart(hartId)).find((candidate) => candidate.abiName === written.name);
        return { value: after === undefined ? written.text : after.nanBoxed ? `${after.singleText} (single, ${after.text})` : `${after.doubleText} (${after.text})` };
      },
    };
  }

  private csrContainer(hartId: number): Container {
    const state = this.loaded();
    const describe = (csr: ControlRegister): DebugProtocol.Variable => {
      const fields = csr.fields;
      const reference = fields.length === 0 ? 0 : this.variables.add({
        variables: () => fields.map((field) => ({ name: field.name, value: field.text, variablesReference: 0, type: field.description })),
      });
      return {
        name: csr.name, value: csr.text, variablesReference: reference, namedVariables: fields.length || undefined,
        evaluateName: `$${csr.name}`, type: csrLayout(csr.number)?.description, memoryReference: undefined,
        presentationHint: csr.readOnly ? { attributes: ['readOnly'] } : undefined,
      };
    };
    return {
      variables: () => {
        const all = controlRegisters(state.machine, hartId);
        // Counters and PMP entries are many and mostly zero: one node each.
        const grouped = new Map<string, ControlRegister[]>();
        const top: DebugProtocol.Variable[] = [];
        for (const csr of all) {
          if (csr.group === 'counters' || csr.group === 'protection') {
            const list = grouped.get(csr.group) ?? [];
            list.push(csr);
            grouped.set(csr.group, list);
          } else {
            top.push(describe(csr));
          }
        }
        for (const [group, list] of grouped) {
          top.push({
            name: group, value: `${list.length} registers`, variablesReference: this.variables.add({
              variables: () => list.map(describe),
              set: (name, value) => this.setCsr(hartId, name, value),
            }), namedVariables: list.length,
          });
        }
        return top;
      },
      set: (name, value) => this.setCsr(hartId, name, value),
    };
  }

  private setCsr(hartId: number, name: string, value: string): { value: string } {
    const state = this.loaded();
    const written = setControlRegister(state.machine, hartId, name, this.evaluateNumber(value, hartId));
    return { value: written.text };
  }

  private machineContainer(): Container {
    const state = this.loaded();
    return {
      variables: () => {
        const facts = machineFacts(state.machine);
        const exits = facts.exits;
        const exitReference = this.variables.add({
          variables: () => Object.entries(exits).map(([kind, count]) => ({ name: kind, value: String(count), variablesReference: 0 })),
        });
        const harts = facts.harts.map((hart) => ({
          name: `hart ${hart.hartId}`,
          value: `${hart.privilege}, ${hart.state}${hart.waitingForInterrupt ? ', in wfi' : ''}, ${hart.instructionsRetired} instructions`,
          variablesReference: this.variables.add({
            variables: () => [
              { name: 'privilege', value: hart.privilege, variablesReference: 0 },
              { name: 'state', value: hart.state, variablesReference: 0 },
              { name: 'waiting for interrupt', value: String(hart.waitingForInterrupt), variablesReference: 0 },
              { name: 'instructions retired', value: String(hart.instructionsRetired), variablesReference: 0 },
              { name: 'traps taken', value: String(hart.trapsTaken), variablesReference: 0 },
              { name: 'virtual time (ns)', value: String(hart.virtualNanoseconds), variablesReference: 0 },
              { name: 'idle time (ns)', value: String(hart.idleNanoseconds), variablesReference: 0 },
            ],
          }),
        }));
        return [
          { name: 'boot mode', value: facts.bootMode, variablesReference: 0 },
          { name: 'RAM', value: `${facts.ramBytes / 1048576} MiB at ${formatHex(BigInt(facts.ramBase))}`, variablesReference: 0 },
          { name: 'mtime', value: String(facts.mtime), variablesReference: 0 },
          { name: 'instructions retired', value: String(facts.harts.reduce((sum, hart) => sum + hart.instructionsRetired, 0)), variablesReference: 0 },
          { name: 'exits', value: `${facts.totalExits} in total`, variablesReference: exitReference, namedVariables: Object.keys(exits).length },
          ...harts,
        ];
      },
    };
  }

  // ---- locals -----------------------------------------------------------------------------

  private valueLocation(frame: StackFrameInfo, variable: VariableInfo): ValueLocation {
    const state = this.loaded();
    const binding = frame.binding;
    const location = variable.location;
    switch (location.kind) {
      case 'register': {
        if (location.register >= 32) {
          if (frame.depth !== 0) return { kind: 'unavailable', reason: 'in a floating-point register not saved in this frame' };
          const hart = state.target.hart(frame.hartId);
          const index = location.register - 32;
          return { kind: 'register', bits: (BigInt(hart.floatBits[2 * index + 1] >>> 0) << 32n) | BigInt(hart.floatBits[2 * index] >>> 0), register: `f${index}` };
        }
        const bits = location.register === 0 ? 0n : frame.registers.registers.get(location.register);
        if (bits === undefined) return { kind: 'unavailable', reason: `in ${INTEGER_REGISTER_NAMES[location.register]}, not saved in this frame` };
        return { kind: 'register', bits, register: INTEGER_REGISTER_NAMES[location.register] };
      }
      case 'frameOffset': {
        if (binding === undefined) return { kind: 'unavailable', reason: 'no frame base' };
        const pc = frame.registers.pc - binding.offset - (frame.depth === 0 ? 0n : 1n);
        const base = binding.file.frameBase(pc, registerReader(frame.registers, binding.offset), memoryReader(state.target, frame.hartId));
        if (base === undefined) return { kind: 'unavailable', reason: 'frame base unknown here' };
        return { kind: 'memory', address: BigInt.asUintN(64, base + location.offset) };
      }
      case 'registerOffset': {
        const value = location.register === 0 ? 0n : frame.registers.registers.get(location.register);
        if (value === undefined) return { kind: 'unavailable', reason: 'base register not saved in this frame' };
        return { kind: 'memory', address: BigInt.asUintN(64, value + location.offset) };
      }
      case 'address':
        return { kind: 'memory', address: BigInt.asUintN(64, location.address + (binding?.offset ?? 0n)) };
      case 'unsupported':
        return { kind: 'unavailable', reason: location.reason };
    }
  }

  private localsOf(frame: StackFrameInfo): readonly VariableInfo[] {
    if (frame.binding === undefined) return [];
    const pc = frame.registers.pc - frame.binding.offset - (frame.depth === 0 ? 0n : 1n);
    // Innermost scope first: a shadowed name shows its innermost variable.
    const seen = new Set<string>();
    return frame.binding.file.variablesAt(pc).filter((variable) => {
      if (seen.has(variable.name)) return false;
      seen.add(variable.name);
      return true;
    });
  }

  private variablesContainer(frame: StackFrameInfo, list: () => readonly VariableInfo[]): Container {
    const reader = this.valueReader(frame);
    const find = (name: string) => list().find((candidate) => candidate.name === name);
    return {
      variables: (_start, _count, format) => list().map((variable) => renderValue(variable.name, variable.type, this.valueLocation(frame, variable), reader, this.variables, variable.name, format)),
      set: (name, value, format) => {
        const variable = find(name);
        if (variable === undefined) throw new RequestError(`no variable '${name}' here`);
        const location = this.valueLocation(frame, variable);
        reader.assign(variable.type, location, value);
        const shown = renderValue(variable.name, variable.type, this.valueLocation(frame, variable), reader, this.variables, variable.name, format);
        return { value: shown.value, memoryReference: shown.memoryReference };
      },
      dataOf: (name) => {
        const variable = find(name);
        if (variable === undefined) return undefined;
        const location = this.valueLocation(frame, variable);
        if (location.kind !== 'memory') return undefined;
        return { address: { address: location.address, space: 'virtual' }, size: variableSize(variable), description: name };
      },
    };
  }

  private localsContainer(frame: StackFrameInfo): Container {
    return this.variablesContainer(frame, () => this.localsOf(frame));
  }

  private globalsContainer(frame: StackFrameInfo): Container {
    const file = frame.binding?.file;
    const flat = this.variablesContainer(frame, () => file?.globals() ?? []);
    // Decided when expanded, not when the scope is listed: counting reads every unit without the index.
    const grouped = (): boolean => file !== undefined && file.globalCount > GLOBALS_SHOWN_FLAT;
    return {
      // Thousands of globals (Linux): one node per source file, each read when it is expanded.
      variables: () => (!grouped() ? flat.variables() : file!.globalGroups().map((group): DebugProtocol.Variable => ({
        name: group.name,
        value: `${group.count} global${group.count === 1 ? '' : 's'}`,
        variablesReference: this.variables.add(this.variablesContainer(frame, group.variables)),
        namedVariables: group.count,
        presentationHint: { kind: 'virtual' },
      }))),
      set: (name, value) => {
        if (grouped()) throw new RequestError(`'${name}' is a group of globals: set the variable inside it`);
        return flat.set!(name, value);
      },
      dataOf: (name) => (grouped() ? undefined : flat.dataOf!(name)),
    };
  }

  /** Reads (and writes) typed values of a frame's hart, virtual or physical. */
  private valueReader(frame: StackFrameInfo | undefined, hartId = frame?.hartId ?? this.focusHart, physical = false): ValueReader & { assign: NonNullable<ValueReader['assign']> } {
    const state = this.loaded();
    const space: AddressSpace = physical ? 'physical' : 'virtual';
    return {
      physical,
      read: (address, size) => state.target.readExact(hartId, { address, space }, size),
      assign: (type, location, text) => this.assignValue(hartId, frame, type, location, text, space),
    };
  }

  /** Stores `text` (an expression; a number for floats; an enumerator name for enums) into a scalar of DWARF type `type`. */
  private assignValue(hartId: number, frame: StackFrameInfo | undefined, type: TypeInfo | undefined, location: ValueLocation, text: string, space: AddressSpace): void {
    const state = this.loaded();
    const resolved = resolveTypedef(type);
    if (resolved === undefined || resolved.kind === 'struct' || resolved.kind === 'union' || resolved.kind === 'array' || resolved.byteSize <= 0) {
      throw new RequestError(`cannot assign to a value of type ${type?.name ?? 'unknown'}: only numbers, enums and pointers can be set (set their members or elements)`);
    }
    const size = Math.min(8, resolved.byteSize);
    let bits: bigint | undefined;
    if (resolved.encoding === 'float') {
      bits = floatBits(text, size);
      if (bits === undefined) throw new RequestError(`'${text}' is not a number (a ${type!.name} takes a decimal value such as 1.5)`);
    } else {
      bits = resolved.enumerators?.find((enumerator) => enumerator.name === text.trim())?.value
        ?? this.evaluateInFrame(text, hartId, frame).value;
    }
    bits = BigInt.asUintN(size * 8, bits);
    switch (location.kind) {
      case 'memory': {
        const bytes = new Uint8Array(size);
        for (let index = 0; index < size; index++) bytes[index] = Number((bits >> BigInt(8 * index)) & 0xffn);
        const address: SpacedAddress = { address: location.address, space };
        if (state.target.write(hartId, address, bytes) < size) throw new RequestError(`cannot write ${size} bytes at ${formatMemoryReference(address)}`);
        this.sendEvent({ seq: 0, type: 'event', event: 'memory', body: { memoryReference: formatMemoryReference(address), offset: 0, count: size } });
        return;
      }
      case 'register':
        if (frame !== undefined && frame.depth !== 0) throw new RequestError(`'${location.register}' can be changed in the innermost frame only`);
        if (parseIntegerRegister(location.register) === undefined) throw new RequestError(`a value in ${location.register} cannot be changed`);
        setRegister(state.machine, hartId, location.register, bits);
        return;
      case 'value':
        throw new RequestError('cannot assign to a computed value (it is not in memory or a register)');
      case 'unavailable':
        throw new RequestError(`cannot assign: ${location.reason}`);
    }
  }

  // ---- expressions, memory, disassembly -----------------------------------------------------

  /** The frame expressions without a frame id see: the innermost frame of the hart. */
  private innermostFrame(hartId: number): StackFrameInfo | undefined {
    const state = this.state;
    if (state?.symbols === undefined) return undefined;
    const registers = hartRegisters(state.target, hartId);
    const located = state.symbols.locate(registers.pc, this.context(hartId));
    return {
      hartId, depth: 0, inlineDepth: 0, registers, name: '', line: 0, column: 0, inlined: false, binding: located?.binding ?? state.symbols.files[0], method: 'current',
    };
  }

  /** A DWARF variable as the expression language sees it: its type and where it is. */
  private typedVariable(frame: StackFrameInfo | undefined, name: string, scope: 'local' | 'global'): TypedVariable | undefined {
    if (frame === undefined) return undefined;
    const located = (host: StackFrameInfo, variable: VariableInfo): TypedVariable => {
      const location = this.valueLocation(host, variable);
      if (location.kind === 'register' && variable.location.kind === 'register') {
        return { type: variable.type, location: { kind: 'register', bits: location.bits, register: variable.location.register } };
      }
      return { type: variable.type, location: location.kind === 'memory' || location.kind === 'unavailable' ? location : { kind: 'unavailable', reason: 'no location' } };
    };
    if (scope === 'local') {
      const variable = this.localsOf(frame).find((candidate) => candidate.name === name);
      return variable === undefined ? undefined : located(frame, variable);
    }
    // The frame's file first, then every symbol file (globals are at link address + offset).
    for (const binding of [...(frame.binding !== undefined ? [frame.binding] : []), ...(this.state?.symbols?.files ?? [])]) {
      const variable = binding.file.globalByName(name);
      if (variable !== undefined) return located({ ...frame, binding }, variable);
    }
    return undefined;
  }

  /**
   * A type name in a cast or sizeof: a type reachable from the frame's locals, else one defined
   * at the top level of a unit of the frame's symbol file, then of every symbol file (each file
   * looks the name up in its index: no unit is read but the defining one).
   */
  private typeNamed(frame: StackFrameInfo | undefined, name: string, localTypes: () => Map<string, TypeInfo>): TypeInfo | undefined {
    const local = localTypes().get(name);
    if (local !== undefined) return local;
    for (const binding of [...(frame?.binding !== undefined ? [frame.binding] : []), ...(this.state?.symbols?.files ?? [])]) {
      const type = binding.file.typeByName(name);
      if (type !== undefined) return type;
    }
    return undefined;
  }

  /** The expression context of a hart (and, with a frame, its locals and registers). */
  private expressionContext(hartId: number, frameId?: number, names?: ReadonlyMap<string, bigint>): ExpressionContext {
    const state = this.loaded();
    const frame = frameId !== undefined ? this.frameOf(frameId) : undefined;
    let scope: StackFrameInfo | undefined | null = frame ?? null;
    const scopeFrame = () => (scope === null ? (scope = this.innermostFrame(hartId)) : scope);
    let localTypes: Map<string, TypeInfo> | undefined;
    const localTypeTable = (): Map<string, TypeInfo> => {
      const frameOfScope = scopeFrame();
      return (localTypes ??= frameOfScope?.binding !== undefined ? typeIndex(this.localsOf(frameOfScope)) : new Map());
    };
    const base = machineExpressionContext(state.machine, hartId, {
      symbol: (name) => state.symbols?.addressOf(name)?.address,
      extra: (name) => names?.get(name),
    });
    const physicalDefault = this.addressSpace === 'physical';
    return {
      ...base,
      // An outer frame's registers are those unwinding recovered.
      register: (name) => {
        if (frame === undefined || frame.depth === 0) return base.register(name);
        if (name.toLowerCase() === 'pc') return frame.registers.pc;
        const index = parseIntegerRegister(name);
        return index === undefined ? undefined : index === 0 ? 0n : frame.registers.registers.get(index) ?? base.register(name);
      },
      readMemory: (address, size, physical) => base.readMemory(address, size, physical || physicalDefault),
      variable: (name, kind) => this.typedVariable(scopeFrame(), name, kind),
      type: (name) => this.typeNamed(scopeFrame(), name, localTypeTable),
    };
  }

  /** Evaluates `text` in `frame` (one with an id, or the innermost one). */
  private evaluateInFrame(text: string, hartId: number, frame: StackFrameInfo | undefined): ExpressionValue {
    let frameId: number | undefined;
    for (const [id, candidate] of this.frames) if (candidate === frame) frameId = id;
    return this.evaluateTyped(text, hartId, frameId);
  }

  /** Evaluates `text` in a frame (or the hart's innermost frame) with DWARF types. */
  private evaluateTyped(text: string, hartId: number, frameId: number | undefined): ExpressionValue {
    const context = this.expressionContext(hartId, frameId);
    return evaluateExpression(parseExpression(text, (name) => context.type?.(name) !== undefined), context);
  }

  /** Where a typed evaluation result is, for the renderer. */
  private resultLocation(value: ExpressionValue): ValueLocation {
    if (value.register !== undefined) {
      return value.register < 32
        ? { kind: 'register', bits: value.value, register: INTEGER_REGISTER_NAMES[value.register] }
        : { kind: 'value', bits: value.value };
    }
    if (value.address !== undefined) return { kind: 'memory', address: value.address };
    return { kind: 'value', bits: value.value };
  }

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      if (typeof args.expression !== 'string' || args.expression.trim() === '') throw new RequestError('evaluate needs an expression');
      const hartId = args.frameId !== undefined ? this.frameOf(args.frameId).hartId : this.focusHart;
      const value = this.evaluateTyped(args.expression, hartId, args.frameId);
      const hexFormat = args.format?.hex === true;
      if (value.ctype !== undefined) {
        // DWARF-typed: the Variables view's formatter, with children for structs, arrays and pointers.
        const frame = args.frameId !== undefined ? this.frameOf(args.frameId) : undefined;
        const physical = value.physical === true || this.addressSpace === 'physical';
        const shown = renderValue(args.expression, value.ctype, this.resultLocation(value), this.valueReader(frame, hartId, physical), this.variables, args.expression, { hex: hexFormat });
        response.body = {
          result: hexFormat ? hexValue(shown.value) : shown.value,
          type: shown.type,
          variablesReference: shown.variablesReference,
          namedVariables: shown.namedVariables,
          indexedVariables: shown.indexedVariables,
          memoryReference: shown.memoryReference,
        };
        this.sendResponse(response);
        return;
      }
      const text = formatExpressionValue(value, { hex: hexFormat });
      // Pointers and addresses open in the memory view.
      const pointer = value.type.includes('*') || value.type === 'u64';
      const space: AddressSpace = value.physical === true ? 'physical' : this.addressSpace;
      const address = pointer ? BigInt.asUintN(64, value.value) : value.address;
      const readable = address !== undefined && state.target.read(hartId, { address, space }, 1).length === 1;
      response.body = {
        result: text,
        type: value.type,
        variablesReference: 0,
        memoryReference: readable ? formatMemoryReference({ address: address!, space }) : undefined,
      };
      this.sendResponse(response);
    });
  }

  protected override setExpressionRequest(response: DebugProtocol.SetExpressionResponse, args: DebugProtocol.SetExpressionArguments): void {
    this.respond(response, () => {
      this.requireStopped();
      if (typeof args.expression !== 'string' || typeof args.value !== 'string') throw new RequestError('setExpression needs an expression and a value');
      const hartId = args.frameId !== undefined ? this.frameOf(args.frameId).hartId : this.focusHart;
      const frame = args.frameId !== undefined ? this.frameOf(args.frameId) : undefined;
      const target = this.evaluateTyped(args.expression, hartId, args.frameId);
      const physical = target.physical === true || this.addressSpace === 'physical';
      // An untyped place (*(u32*)addr, a register) is written with its expression type's size.
      const type: TypeInfo = target.ctype ?? {
        name: target.type, byteSize: target.type.includes('*') ? 8 : Number(/[0-9]+/.exec(target.type)?.[0] ?? 64) / 8, kind: 'base',
        encoding: target.type.startsWith('i') ? 'signed' : 'unsigned',
      };
      let location: ValueLocation = this.resultLocation(target);
      if (target.ctype === undefined && target.address === undefined) {
        // A register or CSR by name: what setVariable on the Registers scope does.
        const name = args.expression.trim().replace(/^\$/, '');
        if (parseIntegerRegister(name) === undefined && name.toLowerCase() !== 'pc') throw new RequestError(`'${args.expression}' is not a place that can be assigned (a variable, member, element, *pointer or register)`);
        location = { kind: 'register', bits: target.value, register: name };
      }
      this.assignValue(hartId, frame, type, location, args.value, physical ? 'physical' : 'virtual');
      const after = this.evaluateTyped(args.expression, hartId, args.frameId);
      const shown = after.ctype !== undefined
        ? renderValue(args.expression, after.ctype, this.resultLocation(after), this.valueReader(frame, hartId, physical), this.variables, args.expression, { hex: args.format?.hex === true })
        : { value: formatExpressionValue(after, { hex: args.format?.hex === true }), type: after.type, variablesReference: 0 };
      response.body = { value: shown.value, type: shown.type, variablesReference: shown.variablesReference };
      this.sendResponse(response);
    });
  }

  protected override readMemoryRequest(response: DebugProtocol.ReadMemoryResponse, args: DebugProtocol.ReadMemoryArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      const base = this.memoryReference(args.memoryReference);
      const count = args.count;
      if (!Number.isInteger(count) || count < 0 || count > 16 * 1024 * 1024) throw new RequestError(`count must be an integer from 0 to 16 MiB, got ${count}`);
      let start = { ...base, address: BigInt.asUintN(64, base.address + byteOffset(args.offset)) };
      let wanted = count;
      let bytes = state.target.read(this.focusHart, start, wanted);
      // Unreadable at the start (a hex editor window over the edge of RAM or a mapping): answer
      // from the first readable page, as DAP allows (the address says where the data begins).
      while (bytes.length === 0 && wanted > 0) {
        const skip = Math.min(wanted, Number(4096n - (start.address % 4096n)));
        start = { ...start, address: BigInt.asUintN(64, start.address + BigInt(skip)) };
        wanted -= skip;
        bytes = state.target.read(this.focusHart, start, wanted);
      }
      response.body = bytes.length === 0
        ? { address: hex(BigInt.asUintN(64, base.address + byteOffset(args.offset))), data: '', unreadableBytes: count > 0 ? count : undefined }
        : { address: hex(start.address), data: Buffer.from(bytes).toString('base64'), unreadableBytes: wanted - bytes.length > 0 ? wanted - bytes.length : undefined };
      this.sendResponse(response);
    });
  }

  protected override writeMemoryRequest(response: DebugProtocol.WriteMemoryResponse, args: DebugProtocol.WriteMemoryArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      this.requireStopped();
      const base = this.memoryReference(args.memoryReference);
      if (typeof args.data !== 'string') throw new RequestError('writeMemory needs base64 data');
      const data = new Uint8Array(Buffer.from(args.data, 'base64'));
      const start = { ...base, address: BigInt.asUintN(64, base.address + byteOffset(args.offset)) };
      const written = state.target.write(this.focusHart, start, data);
      if (written < data.length && (args.allowPartial !== true || written === 0)) {
        throw new RequestError(`cannot write ${data.length} bytes at ${formatMemoryReference(start)}: only ${written} are writable RAM`);
      }
      response.body = { bytesWritten: written, offset: args.offset };
      this.sendResponse(response);
      this.sendEvent({ seq: 0, type: 'event', event: 'memory', body: { memoryReference: args.memoryReference, offset: args.offset ?? 0, count: written } });
    });
  }

  private memoryReference(reference: unknown): SpacedAddress {
    if (typeof reference !== 'string') throw new RequestError('memoryReference must be a string');
    const parsed = parseMemoryReference(reference, this.addressSpace);
    if (parsed === undefined) throw new RequestError(`'${reference}' is not a memory reference (0x..., or phys:0x... / virt:0x...)`);
    return parsed;
  }

  protected override disassembleRequest(response: DebugProtocol.DisassembleResponse, args: DebugProtocol.DisassembleArguments): void {
    this.respond(response, () => {
      const state = this.loaded();
      // The Disassembly view open at the start of a session asks before there is any address.
      if (args.memoryReference === undefined || args.memoryReference === null || String(args.memoryReference).trim() === '') {
        response.body = { instructions: [] };
        this.sendResponse(response);
        return;
      }
      const base = parseMemoryReference(String(args.memoryReference), 'virtual');
      if (base === undefined) throw new RequestError(`'${args.memoryReference}' is not a memory reference`);
      if (!Number.isInteger(args.instructionCount) || args.instructionCount < 0 || args.instructionCount > 100_000) {
        throw new RequestError(`instructionCount must be an integer from 0 to 100000, got ${args.instructionCount}`);
      }
      const anchor = { ...base, address: BigInt.asUintN(64, base.address + byteOffset(args.offset)) };
      const view = new DisassemblyView(state.target, state.symbols, this.focusHart, this.context(this.focusHart));
      const instructions = view.instructions(anchor, args.instructionOffset ?? 0, args.instructionCount, args.resolveSymbols !== false);
      response.body = {
        instructions: instructions.map((instruction) => (instruction.line === undefined ? instruction
          : { ...instruction, line: this.convertDebuggerLineToClient(instruction.line) })),
      };
      this.sendResponse(response);
    });
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse, args: DebugProtocol.ExceptionInfoArguments): void {
    this.respond(response, () => {
      const hartId = this.hartOfThread(args.threadId);
      const exception = this.lastStops.get(hartId)?.exception;
      if (exception === undefined) throw new RequestError(`thread ${args.threadId} did not stop on a ring or trap filter`);
      const fields = {
        cause: exception.cause, interrupt: exception.interrupt,
        tval: exception.tval !== undefined ? hex(exception.tval) : undefined,
        epc: exception.epc !== undefined ? hex(exception.epc) : undefined,
        fromPrivilege: exception.from, toPrivilege: exception.to, via: exception.via,
      };
      // VS Code's exception widget titles itself "Exception has occurred: <exceptionId>" and shows
      // the description under it: the filter's label and the trap in words, not the filter id.
      response.body = {
        exceptionId: exception.label,
        description: exception.description,
        breakMode: 'always',
        details: {
          message: exception.description,
          typeName: exception.cause === undefined ? 'privilege change' : `${exception.interrupt === true ? 'interrupt' : 'exception'} ${exception.cause}`,
          fullTypeName: exception.filterId,
        },
        filterId: exception.filterId,
        ...fields,
      } as DebugProtocol.ExceptionInfoResponse['body'];
      this.sendResponse(response);
    });
  }

  protected override loadedSourcesRequest(response: DebugProtocol.LoadedSourcesResponse): void {
    this.respond(response, () => {
      response.body = { sources: this.state?.symbols?.allSources() ?? [] };
      this.sendResponse(response);
    });
  }

  // ---- custom requests --------------------------------------------------------------------

  protected override customRequest(command: string, response: DebugProtocol.Response, args: unknown): void {
    this.respond(response, () => {
      const parameters = (typeof args === 'object' && args !== null ? args : {}) as Record<string, unknown>;
      switch (command) {
        case 'ringside/translateAddress': return this.translateRequest(response, parameters);
        case 'ringside/deviceState': return this.deviceStateRequest(response, parameters);
        case 'ringside/vm': return this.vmRequest(response, parameters);
        case 'ringside/exitStatistics': return this.exitStatisticsRequest(response);
        case 'ringside/serialInput': return this.serialInputRequest(response, parameters);
        case 'ringside/setAddressSpace': return this.setAddressSpaceRequest(response, parameters);
        case 'ringside/attachDisk': return this.answer(response, attachDisk(this.loaded().machine, parameters, this.workingDirectory));
        case 'ringside/detachDisk': return this.answer(response, detachDisk(this.loaded().machine, parameters));
        case 'ringside/packetCapture': return this.answer(response, packetCapture(this.loaded().machine, parameters, this.workingDirectory));
        case 'ringside/machineState': return this.viewRequest(response, (context) => ({ ...machineState(context), history: this.historySummary(this.loaded()) }));
        case 'ringside/pageTables': return this.viewRequest(response, (context) => pageTables(context, parameters));
        case 'ringside/addressSpaceMap': return this.viewRequest(response, (context) => addressSpaceMap(context, parameters));
        case 'ringside/trapHistory': return this.viewRequest(response, (context) => trapHistory(context, parameters));
        case 'ringside/history': return this.historyRequest(response);
        case 'ringside/snapshot': return this.snapshotRequest(response, parameters);
        default: throw new RequestError(`unknown request '${command}'`);
      }
    });
  }

  private answer(response: DebugProtocol.Response, body: object): void {
    response.body = body;
    this.sendResponse(response);
  }

  private translateRequest(response: DebugProtocol.Response, args: Record<string, unknown>): void {
    const state = this.loaded();
    const hartId = args.threadId !== undefined ? this.hartOfThread(args.threadId) : this.focusHart;
    const text = typeof args.address === 'string' ? args.address : typeof args.address === 'number' ? String(args.address) : undefined;
    if (text === undefined) throw new RequestError("ringside/translateAddress needs 'address' (a number or expression)");
    const address = this.evaluateNumber(text, hartId);
    const access = args.access;
    if (access !== undefined && access !== 'read' && access !== 'write' && access !== 'execute') throw new RequestError("access must be 'read', 'write' or 'execute'");
    const privilege = args.privilege;
    if (privilege !== undefined && privilege !== 'U' && privilege !== 'S' && privilege !== 'M') throw new RequestError("privilege must be 'U', 'S' or 'M'");
    const satp = args.satp !== undefined ? this.evaluateNumber(String(args.satp), hartId) : undefined;
    const translation = translateAddress(state.machine, hartId, address, { access, privilege, satp });
    response.body = jsonSafe(translation);
    this.sendResponse(response);
  }

  /** The view requests (view-requests.ts) see the machine and what the session knows about it. */
  private viewRequest(response: DebugProtocol.Response, answer: (context: ViewRequestContext) => unknown): void {
    const state = this.loaded();
    const lastStop = this.lastStops.get(this.focusHart);
    const context: ViewRequestContext = {
      machine: state.machine,
      trapHistory: state.trapHistory,
      runState: this.runState(),
      ...(lastStop !== undefined ? { lastStop: { reason: lastStop.reason, description: lastStop.description, hartId: lastStop.hartId } } : {}),
      focusHart: this.focusHart,
      hartOfThread: (threadId) => this.hartOfThread(threadId),
      evaluateAddress: (text, hartId) => this.evaluateNumber(text, hartId),
    };
    response.body = jsonSafe(answer(context));
    this.sendResponse(response);
  }

  private runState(): RunState {
    if (this.ended || (this.state !== undefined && this.state.machine.exit !== null)) return 'exited';
    return this.running ? 'running' : 'stopped';
  }

  /** Tells views to refresh: the machine started running, stopped or exited. */
  private sendStateChanged(): void {
    if (this.ended) return;
    const hart = this.state?.machine.harts[this.focusHart];
    this.sendEvent({
      seq: 0, type: 'event', event: 'ringside/stateChanged',
      body: {
        runState: this.runState(), threadId: threadOf(this.focusHart),
        ...(hart !== undefined ? { privilege: privilegeName(hart.privilege) } : {}),
        ...(!this.running ? { reason: this.lastStops.get(this.focusHart)?.reason } : {}),
        ...(this.state !== undefined && !this.running ? { history: this.historySummary(this.state) } : {}),
      },
    });
  }

  private deviceStateRequest(response: DebugProtocol.Response, args: Record<string, unknown>): void {
    const state = this.loaded();
    const all = deviceState(state.machine);
    const name = args.device;
    if (name !== undefined) {
      if (typeof name !== 'string') throw new RequestError('device must be a string');
      const one = (all as unknown as Record<string, unknown>)[name];
      if (one === undefined) throw new RequestError(`no device '${name}' (devices: ${Object.keys(all).join(', ')})`);
      response.body = jsonSafe({ [name]: one });
    } else {
      response.body = jsonSafe(all);
    }
    this.sendResponse(response);
  }

  private vmRequest(response: DebugProtocol.Response, args: Record<string, unknown>): void {
    const state = this.loaded();
    switch (args.action) {
      case 'pause':
        if (this.running) state.loop.requestPause();
        response.body = { running: this.running };
        this.sendResponse(response);
        return;
      case 'reset': {
        if (state.attached) throw new RequestError('reset is not available while attached to `ringside run`');
        state.machine.reset();
        state.trapHistory.clear();
        this.invalidateStopState();
        response.body = { running: this.running };
        this.sendResponse(response);
        this.sendEvent({ seq: 0, type: 'event', event: 'ringside/machineReset', body: { by: 'debugger' } });
        if (!this.running) this.report({ kind: 'stopped', stop: { reason: 'entry', hartId: this.focusHart, description: 'Machine reset' } });
        return;
      }
      case 'powerOff':
        response.body = { running: false };
        this.sendResponse(response);
        this.end();
        return;
      case 'networkLink': {
        // Plugging or pulling the cable: the guest's driver sees the link status change (a config interrupt).
        if (typeof args.up !== 'boolean') throw new RequestError("ringside/vm networkLink needs 'up': true or false");
        const cards = state.machine.virtioSlots.filter((slot) => slot.kind === 'net');
        if (cards.length === 0) throw new RequestError('this machine has no network card');
        const index = args.card;
        if (index !== undefined && (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= cards.length)) {
          throw new RequestError(`card must be 0..${cards.length - 1}, got ${JSON.stringify(index)}`);
        }
        state.machine.setNetworkLink(args.up, index);
        response.body = { running: this.running, cards: cards.length, up: args.up };
        this.sendResponse(response);
        return;
      }
      case 'syncDisks':
        response.body = { running: this.running, disks: state.machine.syncDisks() };
        this.sendResponse(response);
        return;
      default:
        throw new RequestError(`ringside/vm: action must be 'pause', 'reset', 'powerOff', 'networkLink' or 'syncDisks', got ${JSON.stringify(args.action)}`);
    }
  }

  private exitStatisticsRequest(response: DebugProtocol.Response): void {
    const state = this.loaded();
    const facts = machineFacts(state.machine);
    response.body = {
      exits: facts.exits,
      totalExits: facts.totalExits,
      instructionsRetired: facts.harts.reduce((sum, hart) => sum + hart.instructionsRetired, 0),
      mtime: facts.mtime,
      harts: facts.harts.map((hart) => ({
        hartId: hart.hartId, instructionsRetired: hart.instructionsRetired, trapsTaken: hart.trapsTaken,
        virtualNanoseconds: hart.virtualNanoseconds, idleNanoseconds: hart.idleNanoseconds,
      })),
      slices: state.loop.slices,
    };
    this.sendResponse(response);
  }

  private serialInputRequest(response: DebugProtocol.Response, args: Record<string, unknown>): void {
    const state = this.loaded();
    if (typeof args.text !== 'string') throw new RequestError("ringside/serialInput needs 'text'");
    state.loop.pacer.beforeExternalInput();
    const accepted = state.machine.sendConsoleInput(new Uint8Array(Buffer.from(args.text, 'utf8')));
    response.body = { accepted };
    this.sendResponse(response);
  }

  private setAddressSpaceRequest(response: DebugProtocol.Response, args: Record<string, unknown>): void {
    if (args.addressSpace !== 'virtual' && args.addressSpace !== 'physical') throw new RequestError("addressSpace must be 'virtual' or 'physical'");
    this.addressSpace = args.addressSpace;
    response.body = { addressSpace: this.addressSpace };
    this.sendResponse(response);
  }

  // ---- console ----------------------------------------------------------------------------

  private onConsoleByte(byte: number): void {
    this.serialBytes.push(byte);
    if (this.serialBytes.length >= 4096) this.flushSerial();
  }

  private flushSerial(): void {
    if (this.serialBytes.length === 0) return;
    const bytes = new Uint8Array(this.serialBytes);
    this.serialBytes = [];
    switch (this.serial.kind) {
      case 'output': this.report({ kind: 'output', text: this.serialDecoder.decode(bytes, { stream: true }), category: 'stdout' }); break;
      case 'terminal': this.report({ kind: 'serial', text: this.serialDecoder.decode(bytes, { stream: true }) }); break;
      case 'file': writeSync(this.serial.descriptor, bytes); break;
      case 'none': break;
    }
  }

  // ---- the one place runtime events become DAP events ---------------------------------------

  private report(event: RuntimeEvent): void {
    if (this.ended && event.kind !== 'terminated') return;
    switch (event.kind) {
      case 'stopped': {
        const stop = event.stop;
        this.focusHart = stop.hartId;
        this.lastStops.set(stop.hartId, stop);
        this.state?.breakpoints.refreshPending();
        this.sendEvent({
          seq: 0, type: 'event', event: 'stopped',
          body: {
            reason: stop.reason, threadId: threadOf(stop.hartId), allThreadsStopped: true,
            description: stop.description, text: stop.text, hitBreakpointIds: stop.hitBreakpointIds, preserveFocusHint: false,
          },
        } as DebugProtocol.StoppedEvent);
        this.sendStateChanged();
        return;
      }
      case 'exited': {
        const exit = event.exit;
        const code = exit.kind === 'error' ? 125 : exit.code;
        if (exit.kind === 'error') this.report({ kind: 'output', text: `Ringside: emulator error on hart ${exit.hartId}: ${exit.message}\n`, category: 'stderr' });
        else this.report({ kind: 'output', text: `Ringside: the guest powered off with exit code ${exit.code} (${exit.source})\n`, category: 'console' });
        this.sendEvent({ seq: 0, type: 'event', event: 'exited', body: { exitCode: code } } as DebugProtocol.ExitedEvent);
        this.sendStateChanged();
        this.end();
        return;
      }
      case 'terminated':
        this.sendEvent({ seq: 0, type: 'event', event: 'terminated', body: {} } as DebugProtocol.TerminatedEvent);
        return;
      case 'output':
        if (event.text.length > 0) this.sendEvent({ seq: 0, type: 'event', event: 'output', body: { category: event.category, output: event.text } } as DebugProtocol.OutputEvent);
        return;
      case 'serial':
        this.sendEvent({ seq: 0, type: 'event', event: 'ringside/serial', body: { text: event.text } });
        return;
      case 'breakpoint':
        this.sendEvent({ seq: 0, type: 'event', event: 'breakpoint', body: { reason: 'changed', breakpoint: this.toClientBreakpoint(event.breakpoint) } } as DebugProtocol.BreakpointEvent);
        return;
    }
  }

  /** The session is over: stop running, release the machine, say terminated once. */
  private end(terminateDebuggee = true): void {
    if (this.ended) return;
    this.flushSerial();
    this.state?.loop.cancel();
    this.release(terminateDebuggee);
    this.report({ kind: 'terminated' });
    this.ended = true;
  }

  private release(terminateDebuggee: boolean): void {
    for (const indexing of this.symbolIndexes.splice(0)) indexing.stop();
    this.state?.reverse?.history.close();
    // A launched machine's disks are flushed and unlocked and its sockets closed.
    this.ownedMachine?.close();
    this.ownedMachine = undefined;
    this.restoreInputHook?.();
    this.restoreInputHook = undefined;
    if (this.serial.kind === 'file') {
      closeSync(this.serial.descriptor);
      this.serial = { kind: 'none' };
    }
    this.removeConsoleListener?.();
    this.removeConsoleListener = undefined;
    this.removeGuestResetListener?.();
    this.removeGuestResetListener = undefined;
    if (this.state?.attached === true && this.options.host !== undefined) {
      // Leave the machine to the CLI with none of this session's breakpoints armed.
      this.state.breakpoints.clearAll();
      this.options.host.release(terminateDebuggee);
    }
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse, args: DebugProtocol.DisconnectArguments): void {
    this.respond(response, () => {
      const attached = this.state?.attached === true;
      // Attached sessions leave the machine running unless asked to terminate it.
      const terminate = args.terminateDebuggee ?? !attached;
      if (!this.ended) {
        this.state?.loop.cancel();
        this.release(terminate);
        this.ended = true;
      }
      this.sendResponse(response);
      // A server-side session closes its connection; a stdio adapter exits (shutdown).
      if (this._isServer) setImmediate(() => this.stop());
      this.shutdown();
    });
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.respond(response, () => {
      this.sendResponse(response);
      this.end();
    });
  }
}

function fileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'is a directory'
    : code === 'EACCES' ? 'permission denied' : (error as Error).message;
}

function typeSizeOf(type: string): number {
  if (type.includes('*')) return 8;
  const bits = Number(type.slice(1));
  return Number.isInteger(bits) && bits >= 8 ? bits / 8 : 8;
}

/** A request's byte `offset` (an integer, 0 when absent) as a bigint. */
function byteOffset(offset: unknown): bigint {
  if (offset === undefined || offset === null) return 0n;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) throw new RequestError(`offset must be an integer, got ${JSON.stringify(offset)}`);
  return BigInt(offset);
}

/** A decimal variable value in hex (format.hex); other values unchanged. */
function hexValue(value: string): string {
  return /^-?[0-9]+$/.test(value) ? formatHex(BigInt(value)) : value;
}

/** Bigints become hex strings so the body can go out as JSON. */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_, item: unknown) => (typeof item === 'bigint' ? hex(item) : item)));
}


