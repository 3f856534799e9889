// The headless `ringside` command: `ringside run` boots a machine from the command line (or a
// machine config file), runs it with a timeout, and exits with the guest's exit code;
// `ringside test` (test-command.ts) runs a list of guest tests. Documented in docs/cli.md.

import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join, resolve as resolvePath } from 'node:path';
import { Debugger, type StopReason } from '../debug/debugger';
import type { DebugHost, DebugServer, DebugServerModule } from '../debug/remote';
import { Privilege, privilegeName } from '../cpu/csr-numbers';
import type { Hart } from '../cpu/hart';
import { disassemble } from '../isa/disassembler';
import { floatRegisterName, integerRegisterName } from '../isa/registers';
import { parseCpuModel } from '../cpu/cpu-model';
import { ConfigError, parseMemorySize } from '../machine/config';
import { ElfError } from '../machine/elf';
import { DEFAULT_ICOUNT_SHIFT, MAX_HARTS, MAX_ICOUNT_SHIFT } from '../machine/layout';
import { IdlePacer } from '../machine/pacing';
import { parseDeviceOption, parseDriveOption, parseGlobalOption, parseNetdevSpec } from '../machine/device-options';
import { BridgeError, type ConsoleBackend } from '../bridges/types';
import { type ConsoleSpec, openConsoleBackend, parseConsoleSpec, StdioConsole } from '../bridges/console/index';
import { type InstructionObserver, Machine, MachineError } from '../machine/machine';
import { DeviceTreeError } from '../machine/fdt';
import {
  applyStopSpec, describeExit, describeStop, EXIT_EMULATOR_ERROR, EXIT_STOPPED, EXIT_TIMEOUT, EXIT_USAGE, exitCodeOf, fileErrorReason,
  hex, initialCodeStop, parseStopSpec, registerDump, type StopSpec, UsageError,
} from './common';
import {
  applyMachineFields, defaultMachineOptions, loadMachineConfigFile, type MachineOptions, openMachine, openReplayMachine, openRestoredMachine,
} from './machine-options';
import { saveSnapshot, SnapshotError } from '../machine/snapshot';
import { InputRecorder, type ParsedRecording, readRecording, Replay, ReplayDivergence, replayMachineConfig } from '../machine/recording';
import { snapshotCommand } from './snapshot-command';
import { testCommand, TEST_USAGE } from './test-command';
import { runTestWorker, TEST_WORKER_COMMAND } from './test-worker';

export { describeStop, EXIT_EMULATOR_ERROR, EXIT_STOPPED, EXIT_TIMEOUT, EXIT_USAGE, parseStopSpec, type StopSpec };

const USAGE = `usage: ringside run --kernel FILE [options]
       ringside run --config NAME.ringside.json [options]
       ringside test [LIST.ringside-tests.json...] [--jobs N] [--junit FILE] [--filter TEXT]
                       (ringside test --help for the test runner)

  --config FILE        machine config file (JSON, the machine schema: kernel, bios, memory,
                       harts, drives, ...); relative paths in it are relative to its folder;
                       options on the command line override it (--drive, --netdev and
                       --device add devices after the file's)
  --kernel FILE        kernel or program (RV64 ELF, or raw image at 0x80200000 with a firmware
                       or --bios builtin)
  --bios none|builtin|FILE
                       none: enter the kernel in M-mode (default); builtin: direct boot in
                       S-mode with the built-in SBI; FILE: firmware at 0x80000000 (e.g. OpenSBI)
  --initrd FILE        initial ramdisk
  --append TEXT        kernel command line (/chosen/bootargs)
  --dtb FILE           device tree to pass instead of the generated one
  --mem SIZE           RAM size, e.g. 128M (default), 1G
  --smp N              number of harts, 1..${MAX_HARTS} (default 1)
  --cpu MODEL          CPU model as QEMU's -cpu: rv64 (default: QEMU 7.2's default CPU without H)
                       or rv64gc, then ,feature=on|off for zba, zbb, zbc, zbs, zihintpause,
                       sstc, sdtrig, sv57, svpbmt, svnapot (e.g. rv64,sstc=off,svpbmt=on)
  --timeout SECONDS    wall-clock limit; exit code ${EXIT_TIMEOUT} when reached
  --serial stdio|file:PATH|tcp:HOST:PORT|unix:PATH|none
                       where the guest console goes (default stdio). On a terminal it is in
                       raw mode like QEMU's -nographic: every key goes to the guest, Ctrl-A h
                       lists the host's commands, Ctrl-A x quits. tcp:/unix: listen for one
                       client at a time (tcp port 0 picks one, printed on stderr)
  --drive file=PATH[,format=raw|qcow2][,readonly=on][,snapshot=on][,serial=ID][,slot=N]
                       a virtio-blk disk (repeatable); snapshot=on writes to a temporary
                       copy-on-write overlay, the image is never modified
  --netdev user[,hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT][,restrict=on]
  --netdev stream,server=on|off,addr.type=inet,addr.host=H,addr.port=P | addr.type=unix,addr.path=P
  --netdev dgram,local.type=inet,local.host=H,local.port=P,remote.type=inet,remote.host=H,remote.port=P
                       a virtio-net card on that network (repeatable); also mac=, slot=,
                       link=off (cable unplugged at start), pcap=FILE
  --pcap FILE          capture every frame of the preceding --netdev to FILE (pcap)
  --device virtio-rng[,seed=TEXT|,source=host][,slot=N]
                       entropy (default: a deterministic stream from a seed)
  --device virtio-console[,slot=N]
                       hvc0, sharing the --serial console (Ctrl-A c switches input)
  --global virtio-mmio.force-legacy=on|off
                       legacy (version 1) virtio-mmio, as QEMU 7.2's default; default off
                       Devices fill the virtio-mmio slots from the top in command-line order,
                       as QEMU places them (the first at 0x10008000, IRQ 8)
  --icount shift=N     virtual time: each instruction takes 2^N ns (0..${MAX_ICOUNT_SHIFT}, default ${DEFAULT_ICOUNT_SHIFT});
                       shift=0 matches QEMU -icount shift=0 instruction for instruction
  --idle pace|skip     when every hart waits: pace (default) sleeps until the next timer
                       event is due in wall time or input arrives; skip jumps ahead at once
  --tier auto|interpreter
                       auto (default): hot guest code runs translated to WebAssembly, the
                       same machine instruction for instruction; interpreter: interpret all.
                       RINGSIDE_TIER sets the default
  --stop-on SPEC       stop and print the reason and registers (repeatable):
                         exception:N | trap:N    exception with cause N (e.g. trap:2), or *
                         interrupt:N             interrupt with cause N, or *
                         privilege:FROM->TO      privilege change; FROM, TO in U, S, M, *
                         pc:ADDRESS|SYMBOL       instruction address (virtual) or ELF symbol
                         console:TEXT            the guest printed TEXT
  --trace FILE         write one line per instruction attempt: hart, pc, bytes, disassembly,
                       then the registers it changed, or 'trap cause N' when it trapped;
                       interrupts get their own 'interrupt cause N' line
  --debug-port PORT    serve the Debug Adapter Protocol on 127.0.0.1:PORT (0: any free port,
                       printed on stderr) so a debugger can attach to this machine
  --debug-wait         with --debug-port: hold the machine at reset until a debugger attaches
  --snapshot-at N      when hart 0 has retired N instructions, save the whole machine to the
  --snapshot-out FILE  --snapshot-out file (both or neither), then run on (or end the run with
  --snapshot-exit      exit code 0 with --snapshot-exit)
  --restore FILE       start from a snapshot instead of booting: the snapshot holds the machine
                       (images, memory, devices), so no machine options go with it; the run
                       continues exactly as the saved one would have
  --record FILE        write every input from outside (console bytes, network frames, waits cut
                       short, host entropy) with the point of the run it arrived at, when the
                       run ends
  --replay FILE        run a recording again, exactly, with no host I/O (no machine options, no
                       console input, no network); the first divergence is reported (exit 2)

       ringside snapshot info FILE [--json]
                       what a snapshot holds: machine, images, harts, sections, state hash

exit codes: the guest's (finisher, HTIF, SBI shutdown), ${EXIT_STOPPED} stopped by --stop-on,
${EXIT_TIMEOUT} timeout, ${EXIT_EMULATOR_ERROR} emulator error, ${EXIT_USAGE} bad command line or input file.
`;

interface RunOptions extends MachineOptions {
  restore?: string;
  record?: string;
  replay?: string;
  snapshotAt?: number;
  snapshotOut?: string;
  snapshotExit: boolean;
  /** --idle was on the command line (a restored machine keeps its saved mode otherwise). */
  idleGiven: boolean;
  timeoutSeconds?: number;
  serial: ConsoleSpec;
  stopOn: StopSpec[];
  trace?: string;
  debugPort?: number;
  debugWait: boolean;
}

/** The --config FILE of a command line, wherever it stands (the file is the base the other options override). */
function configFileArgument(args: readonly string[]): string | undefined {
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    let value: string;
    if (args[i] === '--config') {
      if (i + 1 === args.length) throw new UsageError('--config needs a value');
      value = args[++i];
    } else if (args[i].startsWith('--config=')) {
      value = args[i].slice('--config='.length);
    } else {
      continue;
    }
    if (file !== undefined) throw new UsageError(`--config given twice ('${file}' and '${value}')`);
    if (value === '') throw new UsageError('--config needs a file name');
    file = value;
  }
  return file;
}

function parseRunArguments(args: readonly string[]): RunOptions {
  let options: RunOptions = { ...defaultMachineOptions(), serial: { kind: 'stdio' }, stopOn: [], debugWait: false, snapshotExit: false, idleGiven: false };
  // With --restore the snapshot is the machine: these would be silently ignored, so they are refused.
  const machineFlags: string[] = [];
  const configFile = configFileArgument(args);
  if (configFile !== undefined) options = { ...options, ...applyMachineFields(options, loadMachineConfigFile(configFile)) };
  const parsed = <T>(flag: string, parse: () => T): T => {
    try {
      return parse();
    } catch (error) {
      if (error instanceof ConfigError || error instanceof BridgeError) throw new UsageError(error.message);
      throw error;
    }
  };
  for (let i = 0; i < args.length; i++) {
    const argument = args[i];
    const [flag, inlineValue] = argument.startsWith('--') && argument.includes('=')
      ? [argument.slice(0, argument.indexOf('=')), argument.slice(argument.indexOf('=') + 1)] : [argument, undefined];
    const value = (): string => {
      if (inlineValue !== undefined) return inlineValue;
      const next = args[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    if (MACHINE_FLAGS.has(flag)) machineFlags.push(flag);
    switch (flag) {
      case '--config': value(); break;
      case '--restore': options.restore = value(); break;
      case '--record': options.record = value(); break;
      case '--replay': options.replay = value(); break;
      case '--snapshot-out': options.snapshotOut = value(); break;
      case '--snapshot-at': {
        const text = value();
        const count = Number(text.replace(/_/g, ''));
        if (!/^[0-9][0-9_]*$/.test(text) || !Number.isSafeInteger(count)) throw new UsageError(`--snapshot-at needs an instruction count, got '${text}'`);
        options.snapshotAt = count;
        break;
      }
      case '--snapshot-exit':
        if (inlineValue !== undefined) throw new UsageError('--snapshot-exit takes no value');
        options.snapshotExit = true;
        break;
      case '--kernel': options.kernel = value(); break;
      case '--bios': options.bios = value(); break;
      case '--initrd': options.initrd = value(); break;
      case '--append': options.append = value(); break;
      case '--dtb': options.dtb = value(); break;
      case '--mem': case '--memory':
        try { options.memory = parseMemorySize(value()); } catch (error) { throw new UsageError(`${flag}: ${(error as Error).message}`); }
        break;
      case '--smp': {
        const text = value();
        const harts = Number(text);
        if (!/^[0-9]+$/.test(text) || harts < 1 || harts > MAX_HARTS) {
          throw new UsageError(`--smp needs a number of harts from 1 to ${MAX_HARTS}, got '${text}'`);
        }
        options.harts = harts;
        break;
      }
      case '--cpu': {
        const text = value();
        try { parseCpuModel(text); } catch (error) { throw new UsageError(`--cpu: ${(error as Error).message}`); }
        options.cpu = text;
        break;
      }
      case '--timeout': {
        const text = value();
        const seconds = Number(text);
        if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
          throw new UsageError(`--timeout needs a positive number of seconds, got '${text}'`);
        }
        options.timeoutSeconds = seconds;
        break;
      }
      case '--serial':
        try { options.serial = parseConsoleSpec(value()); } catch (error) { throw new UsageError(`--serial: ${(error as Error).message}`); }
        break;
      case '--drive': {
        const text = value();
        options.virtio.push({ kind: 'block', drive: parsed(flag, () => parseDriveOption(text)) });
        break;
      }
      case '--netdev': case '--nic': {
        const text = value();
        options.virtio.push({ kind: 'net', netdev: parsed(flag, () => parseNetdevSpec(text)) });
        break;
      }
      case '--pcap': {
        const file = value();
        const last = [...options.virtio].reverse().find((spec) => spec.kind === 'net');
        if (last === undefined || last.kind !== 'net') throw new UsageError('--pcap FILE captures the --netdev before it: give a --netdev first');
        if (last.netdev.pcap !== undefined) throw new UsageError(`--pcap ${file}: that --netdev is captured already (to ${last.netdev.pcap})`);
        options.virtio[options.virtio.indexOf(last)] = { kind: 'net', netdev: { ...last.netdev, pcap: file } };
        break;
      }
      case '--device': {
        const text = value();
        options.virtio.push(parsed(flag, () => parseDeviceOption(text)));
        break;
      }
      case '--global': {
        const text = value();
        options.virtioLegacy = parsed(flag, () => parseGlobalOption(text)).virtioLegacy;
        break;
      }
      case '--icount': {
        const text = value();
        const match = /^(?:shift=)?([0-9]+)$/.exec(text);
        const shift = match === null ? NaN : Number(match[1]);
        if (!(shift >= 0 && shift <= MAX_ICOUNT_SHIFT)) {
          throw new UsageError(`--icount needs shift=N with N from 0 to ${MAX_ICOUNT_SHIFT} (QEMU's -icount shift=N), got '${text}'`);
        }
        options.icountShift = shift;
        break;
      }
      case '--idle': {
        const text = value();
        if (text !== 'pace' && text !== 'skip') throw new UsageError(`--idle must be 'pace' or 'skip', got '${text}'`);
        options.idle = text;
        options.idleGiven = true;
        break;
      }
      case '--tier': {
        const text = value();
        if (text !== 'auto' && text !== 'interpreter') throw new UsageError(`--tier must be 'auto' or 'interpreter', got '${text}'`);
        options.tier = text;
        break;
      }
      case '--stop-on': options.stopOn.push(parseStopSpec(value())); break;
      case '--trace': options.trace = value(); break;
      case '--debug-port': {
        const text = value();
        const port = Number(text);
        if (!/^[0-9]+$/.test(text) || port > 65535) throw new UsageError(`--debug-port needs a port number from 0 to 65535, got '${text}'`);
        options.debugPort = port;
        break;
      }
      case '--debug-wait':
        if (inlineValue !== undefined) throw new UsageError('--debug-wait takes no value');
        options.debugWait = true;
        break;
      default: throw new UsageError(`unknown option '${argument}' (try 'ringside run --help')`);
    }
  }
  if ((options.snapshotAt === undefined) !== (options.snapshotOut === undefined)) {
    throw new UsageError(options.snapshotAt === undefined ? '--snapshot-out needs --snapshot-at N (when to take it)' : '--snapshot-at needs --snapshot-out FILE');
  }
  if (options.snapshotExit && options.snapshotAt === undefined) throw new UsageError('--snapshot-exit needs --snapshot-at and --snapshot-out');
  if (options.replay !== undefined) {
    if (machineFlags.length > 0) throw new UsageError(`--replay takes the whole machine from the recording; ${[...new Set(machineFlags)].join(', ')} cannot go with it`);
    if (options.restore !== undefined || options.record !== undefined) throw new UsageError('--replay cannot go with --restore or --record');
    return options;
  }
  if (options.restore !== undefined) {
    if (machineFlags.length > 0) {
      throw new UsageError(`--restore takes the whole machine from the snapshot; ${[...new Set(machineFlags)].join(', ')} cannot go with it`);
    }
    if (options.debugWait && options.debugPort === undefined) throw new UsageError('--debug-wait needs --debug-port');
    return options;
  }
  if (options.kernel === undefined && (options.bios === 'none' || options.bios === 'builtin')) {
    throw new UsageError('--kernel FILE is required (or a --config file with a kernel)');
  }
  if (options.debugWait && options.debugPort === undefined) throw new UsageError('--debug-wait needs --debug-port');
  return options;
}

/** Options that describe the machine, which a snapshot brings with it. */
const MACHINE_FLAGS = new Set([
  '--config', '--kernel', '--bios', '--initrd', '--append', '--dtb', '--mem', '--memory', '--smp', '--cpu', '--drive', '--netdev', '--nic',
  '--pcap', '--device', '--global', '--icount',
]);

/** Creates an output file; `created` collects it so a later failure can remove it again. */
function createOutputFile(path: string, what: string, created: string[]): number {
  try {
    const descriptor = openSync(path, 'w');
    created.push(path);
    return descriptor;
  } catch (error) {
    throw new UsageError(`cannot create ${what} '${path}': ${fileErrorReason(error)}`);
  }
}

/**
 * Writes the --trace file: one line per instruction attempt, so an instruction that traps
 * (it does not retire) and the first instruction of its handler get separate lines.
 */
class InstructionTrace implements InstructionObserver {
  private readonly lines: string[] = [];
  private readonly integerBefore = new Int32Array(64);
  private readonly floatBefore = new Int32Array(64);
  private pc = 0n;
  private bytes: { raw: number; length: 2 | 4 } | undefined;
  private retired = 0;
  private traps = 0;

  constructor(private readonly machine: Machine, private readonly file: number) {}

  beforeInstruction(hart: Hart): void {
    this.pc = hart.pc;
    this.bytes = this.machine.readPhysicalForTrace(hart, this.pc);
    this.retired = hart.instructionsRetired;
    this.traps = hart.trapsTaken;
    this.integerBefore.set(hart.registers.subarray(0, 64));
    this.floatBefore.set(hart.floatBits);
  }

  afterInstruction(hart: Hart): void {
    const retired = hart.instructionsRetired !== this.retired;
    const trapped = hart.trapsTaken !== this.traps;
    // Neither: a breakpoint stopped the hart before the instruction ran.
    if (!retired && !trapped) return;
    let line = `${hart.hartId} ${hex(this.pc)} ${this.describeInstruction()}`;
    if (trapped) {
      line += ` trap cause ${this.trapCause(hart)}`;
    } else {
      const integers = hart.registers, floats = hart.floatBits;
      for (let i = 1; i < 32; i++) {
        if (integers[2 * i] !== this.integerBefore[2 * i] || integers[2 * i + 1] !== this.integerBefore[2 * i + 1]) {
          line += ` ${integerRegisterName(i)}=${hex(hart.readRegister(i))}`;
        }
      }
      for (let i = 0; i < 32; i++) {
        if (floats[2 * i] !== this.floatBefore[2 * i] || floats[2 * i + 1] !== this.floatBefore[2 * i + 1]) {
          const bits = (BigInt(floats[2 * i + 1] >>> 0) << 32n) | BigInt(floats[2 * i] >>> 0);
          line += ` ${floatRegisterName(i)}=${hex(bits)}`;
        }
      }
    }
    this.push(line);
  }

  interruptTaken(hart: Hart): void {
    const toMachine = hart.privilege === Privilege.Machine;
    const epc = toMachine ? hart.mepcLo : hart.sepcLo;
    const epcHigh = toMachine ? hart.mepcHi : hart.sepcHi;
    const pc = (BigInt(epcHigh >>> 0) << 32n) | BigInt(epc >>> 0);
    this.push(`${hart.hartId} ${hex(pc)} interrupt cause ${this.trapCause(hart)}`);
  }

  flush(): void {
    if (this.lines.length === 0) return;
    writeSync(this.file, this.lines.join('\n') + '\n');
    this.lines.length = 0;
  }

  private push(line: string): void {
    this.lines.push(line);
    if (this.lines.length >= 4096) this.flush();
  }

  private describeInstruction(): string {
    const bytes = this.bytes;
    if (bytes === undefined) return '???????? (no memory at pc)';
    const raw = bytes.length === 2 ? bytes.raw.toString(16).padStart(4, '0') : (bytes.raw >>> 0).toString(16).padStart(8, '0');
    return `${raw} ${disassemble(bytes.raw, this.pc).text}`;
  }

  /** The cause code of the trap just taken, from the cause CSR of the privilege it went to. */
  private trapCause(hart: Hart): number {
    return (hart.privilege === Privilege.Machine ? hart.mcauseLo : hart.scauseLo) & 0x7fffffff;
  }
}

/**
 * `--debug-port`: lends the machine to a debugger. The debug adapter's server is loaded from
 * dist/debugAdapter.js at run time (vmm-core does not depend on the adapter; only the small
 * DebugHost interface of debug/remote.ts is shared); while a debugger is attached the CLI
 * leaves the machine to it.
 */
class AttachControl implements DebugHost {
  attached = false;
  private waiters: Array<(terminate: boolean) => void> = [];
  private attachWaiters: Array<() => void> = [];
  private server: DebugServer | undefined;

  readonly debugger: Debugger;

  private constructor(readonly machine: Machine, debug: Debugger, readonly kernelPath?: string, readonly firmwarePath?: string) {
    this.debugger = debug;
  }

  static async start(machine: Machine, debug: Debugger, port: number, kernelPath?: string, firmwarePath?: string): Promise<AttachControl> {
    const control = new AttachControl(machine, debug, kernelPath !== undefined ? resolvePath(kernelPath) : undefined,
      firmwarePath !== undefined ? resolvePath(firmwarePath) : undefined);
    const adapter = loadDebugAdapter();
    try {
      control.server = await adapter.startDebugServer(control, port, '127.0.0.1');
    } catch (error) {
      throw new UsageError(`--debug-port ${port}: cannot listen on 127.0.0.1:${port}: ${(error as Error).message}`);
    }
    process.stderr.write(`ringside: debug adapter listening on 127.0.0.1:${control.server.port}\n`);
    return control;
  }

  acquire(): void {
    if (this.attached) throw new Error('a debugger is attached to this machine already');
    this.attached = true;
    for (const wake of this.attachWaiters.splice(0)) wake();
  }

  release(terminate: boolean): void {
    this.attached = false;
    for (const wake of this.waiters.splice(0)) wake(terminate);
  }

  /** Resolves when the debugger detaches; true when it asked to end the run. */
  detached(): Promise<boolean> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  firstAttach(): Promise<void> {
    return this.attached ? Promise.resolve() : new Promise((resolve) => this.attachWaiters.push(resolve));
  }

  close(): void {
    this.server?.close();
  }
}

/** dist/debugAdapter.js next to this CLI (or RINGSIDE_DEBUG_ADAPTER), loaded only for --debug-port. */
function loadDebugAdapter(): DebugServerModule {
  const candidates = [process.env.RINGSIDE_DEBUG_ADAPTER, join(__dirname, 'debugAdapter.js'), join(__dirname, '../../dist/debugAdapter.js')];
  for (const candidate of candidates) {
    if (candidate === undefined || !existsSync(candidate)) continue;
    const loaded = require(candidate) as Partial<DebugServerModule>;
    if (typeof loaded.startDebugServer === 'function') return loaded as DebugServerModule;
  }
  throw new UsageError('--debug-port needs the debug adapter (dist/debugAdapter.js next to the CLI; build with node scripts/build.mjs)');
}

/** Console output is written in batches (a line, 4 KiB, or the end of a slice). */
const CONSOLE_FLUSH_BYTES = 4096;
/** Instructions per slice between turns of the event loop: smaller while a person may be typing. */
const SLICE_INTERACTIVE = 1_000_000;
const SLICE_BATCH = 5_000_000;

async function runCommand(args: readonly string[]): Promise<number> {
  const options = parseRunArguments(args);
  if (options.replay !== undefined) return replayCommand(options, options.replay);
  const consoleBuffer: number[] = [];
  let serialConsole: ConsoleBackend | undefined;
  const flushConsole = (): void => {
    if (consoleBuffer.length === 0) return;
    const bytes = Uint8Array.from(consoleBuffer);
    consoleBuffer.length = 0;
    serialConsole?.write(bytes);
  };
  const consoleOutput = (byte: number): void => {
    consoleBuffer.push(byte);
    if (byte === 10 || consoleBuffer.length >= CONSOLE_FLUSH_BYTES) flushConsole();
  };
  const { machine, opened } = options.restore !== undefined
    ? { machine: openRestoredMachine(options.restore, { tier: options.tier, idle: options.idleGiven ? options.idle : undefined }, consoleOutput), opened: { createdFiles: [] } }
    : await openMachine(options, consoleOutput);
  if (options.snapshotAt !== undefined && machine.harts[0].instructionsRetired >= options.snapshotAt) {
    machine.close();
    throw new UsageError(`--snapshot-at ${options.snapshotAt}: the machine is at instruction ${machine.harts[0].instructionsRetired} already (restored from ${options.restore})`);
  }
  let recorder: InputRecorder | undefined;
  if (options.record !== undefined) {
    try {
      recorder = new InputRecorder(machine);
    } catch (error) {
      machine.close();
      if (error instanceof SnapshotError) throw new UsageError(`--record: ${error.message}`);
      throw error;
    }
  }
  try {
    const code = await runMachine(options, machine, flushConsole, (backend) => (serialConsole = backend));
    if (recorder !== undefined) writeFileAtomically(options.record!, recorder.save(), 'recording', (bytes) =>
      `ringside: recording of ${recorder!.inputCount} inputs over ${machine.totalSteps()} steps written to ${options.record} (${bytes} bytes)`);
    return code;
  } catch (error) {
    // A bad console or trace file is found before anything runs: leave no capture behind either.
    if (error instanceof UsageError) for (const path of opened.createdFiles) rmSync(path, { force: true });
    throw error;
  } finally {
    machine.close();
  }
}

async function runMachine(
  options: RunOptions, machine: Machine, flushConsole: () => void,
  setConsole: (backend: ConsoleBackend) => void,
): Promise<number> {
  let serialConsole: ConsoleBackend;
  const debug = new Debugger(machine);
  const codeStops = new Map<bigint, number>();
  for (const spec of options.stopOn) {
    const { id, address } = applyStopSpec(debug, machine, spec);
    if (address !== undefined) codeStops.set(address, id);
  }

  // Output files only once the input is known to be good: bad input leaves nothing behind.
  const created: string[] = [];
  let traceFile: number | undefined;
  const pacer = new IdlePacer(machine);
  let quitRequested = false;
  try {
    if (options.trace !== undefined) traceFile = createOutputFile(options.trace, 'trace file', created);
    serialConsole = await openConsoleBackend(options.serial, {
      escape: {
        quit: () => {
          quitRequested = true;
          machine.requestStop(0);
          pacer.wake();
        },
        status: () => machineStatus(machine),
        switchConsole: () => machine.switchConsoleInput(),
        toggleNetworkLink: () => {
          const up = !machine.networkLinkUp;
          if (!machine.setNetworkLink(up)) return 'ringside: no network card';
          return `ringside: network cable ${up ? 'plugged in' : 'pulled out'}`;
        },
        syncDisks: () => {
          const disks = machine.syncDisks();
          return disks === 0 ? 'ringside: no disks' : `ringside: ${disks} disk${disks === 1 ? '' : 's'} synced to stable storage`;
        },
      },
    });
    setConsole(serialConsole);
  } catch (error) {
    if (traceFile !== undefined) closeSync(traceFile);
    for (const path of created) unlinkSync(path);
    if (error instanceof BridgeError) throw new UsageError(error.message);
    throw error;
  }
  if (options.serial.kind === 'socket') process.stderr.write(`ringside: serial console on ${serialConsole.description}\n`);
  const interactive = (serialConsole instanceof StdioConsole && serialConsole.interactive) || options.serial.kind === 'socket';
  serialConsole.setReceiver((bytes) => {
    pacer.beforeExternalInput();
    return machine.sendConsoleInput(bytes);
  });
  const hasNetwork = machine.virtioSlots.some((slot) => slot.kind === 'net');
  machine.externalInputPossible = () => serialConsole.inputOpen || hasNetwork;
  machine.beforeExternalInput = () => pacer.beforeExternalInput();
  // EOF while the guest waits for input: wake up and let the machine decide (deadlock or not).
  serialConsole.setInputClosedListener(() => pacer.wake());
  const trace = traceFile !== undefined ? new InstructionTrace(machine, traceFile) : undefined;
  machine.instructionObserver = trace ?? null;

  const attach = options.debugPort !== undefined
    ? await AttachControl.start(machine, debug, options.debugPort, options.kernel ?? machine.config.kernel?.fileName, machine.config.firmware?.fileName)
    : undefined;
  let deadline = options.timeoutSeconds !== undefined ? Date.now() + options.timeoutSeconds * 1000 : Infinity;
  const timedOut = (): boolean => Date.now() > deadline;
  const slice = trace !== undefined ? 100_000 : attach !== undefined || interactive ? SLICE_INTERACTIVE : SLICE_BATCH;
  const snapshotAt = options.snapshotAt;
  let snapshotTaken = false;
  try {
    const code = await runLoop();
    if (snapshotAt !== undefined && !snapshotTaken) {
      process.stderr.write(`ringside: the run ended at instruction ${machine.harts[0].instructionsRetired} of hart 0, before --snapshot-at ${snapshotAt}: no snapshot written\n`);
      return EXIT_USAGE;
    }
    return code;
  } finally {
    attach?.close();
    machine.instructionObserver = null;
    flushConsole();
    trace?.flush();
    serialConsole.close();
    if (traceFile !== undefined) closeSync(traceFile);
  }

  async function runLoop(): Promise<number> {
    if (attach !== undefined && options.debugWait) await attach.firstAttach();
    // The debugger lets the instruction under a breakpoint run when a run starts (it resumes
    // from there), so a pc stop at a hart's very first instruction is caught here.
    let stop: StopReason | undefined = initialCodeStop(machine, codeStops);
    while (true) {
      if (attach?.attached === true) {
        // A debugger drives the machine now; the timeout does not count while it does.
        const started = Date.now();
        const terminate = await attach.detached();
        deadline += Date.now() - started;
        flushConsole();
        if (terminate) {
          process.stderr.write('ringside: terminated by the debugger\n');
          return EXIT_STOPPED;
        }
        if (machine.exit !== null) stop = { reason: 'exit', exit: machine.exit };
      }
      const untilSnapshot = snapshotAt !== undefined && !snapshotTaken ? snapshotAt - machine.harts[0].instructionsRetired : Infinity;
      stop ??= debug.continue(Math.min(slice, untilSnapshot));
      flushConsole();
      trace?.flush();
      if (snapshotAt !== undefined && !snapshotTaken && machine.harts[0].instructionsRetired >= snapshotAt) {
        snapshotTaken = true;
        writeSnapshotFile(machine, options.snapshotOut!);
        if (options.snapshotExit) return 0;
      }
      if (quitRequested) return EXIT_STOPPED;
      if (stop !== undefined && stop.reason !== 'step') {
        if (stop.reason === 'exit') {
          if (stop.exit.kind === 'error') {
            process.stderr.write(`ringside: ${describeExit(stop.exit)}\n${registerDump(machine, stop.exit.hartId)}\n`);
          }
          return exitCodeOf(stop.exit);
        }
        process.stderr.write(`ringside: ${describeStop(stop)}\n${registerDump(machine, 'hartId' in stop ? stop.hartId : 0)}\n`);
        return EXIT_STOPPED;
      }
      stop = undefined;
      if (timedOut()) {
        process.stderr.write(`ringside: timeout after ${options.timeoutSeconds} s\n${registerDump(machine, 0)}\n`);
        return EXIT_TIMEOUT;
      }
      if (machine.isIdle()) {
        // Every hart waits: sleep until the next timer event is due, input arrives, or the timeout.
        const timeoutTimer = Number.isFinite(deadline) ? setTimeout(() => pacer.wake(), Math.max(0, deadline - Date.now() + 1)) : undefined;
        await pacer.waitWhileIdle();
        if (timeoutTimer !== undefined) clearTimeout(timeoutTimer);
      } else {
        // Let console input and other host events in between slices.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }
}

/** Saves the machine to `path` through a temporary file, so that no half-written snapshot is ever left under the name. */
function writeSnapshotFile(machine: Machine, path: string): void {
  writeFileAtomically(path, saveSnapshot(machine, { name: basename(path) }), 'snapshot',
    (bytes) => `ringside: snapshot at instruction ${machine.harts[0].instructionsRetired} written to ${path} (${bytes} bytes)`);
}

function writeFileAtomically(path: string, bytes: Uint8Array, what: string, done: (bytes: number) => string): void {
  const temporary = `${path}.${process.pid}.partial`;
  try {
    writeFileSync(temporary, bytes);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new UsageError(`cannot write ${what} '${path}': ${fileErrorReason(error)}`);
  }
  process.stderr.write(`${done(bytes.length)}\n`);
}

/** `ringside run --replay FILE`: the recorded run again, inputs from the file, guest output to stdout. */
async function replayCommand(options: RunOptions, path: string): Promise<number> {
  let file: Uint8Array;
  try {
    file = new Uint8Array(readFileSync(path));
  } catch (error) {
    throw new UsageError(`cannot read recording '${path}': ${fileErrorReason(error)}`);
  }
  let recording: ParsedRecording;
  try {
    recording = readRecording(file);
  } catch (error) {
    if (error instanceof SnapshotError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
  const output: number[] = [];
  const flush = (): void => {
    if (output.length === 0) return;
    writeSync(1, Uint8Array.from(output.splice(0)));
  };
  let built: ReturnType<typeof replayMachineConfig>;
  try {
    built = replayMachineConfig(recording, {
      tier: options.tier,
      consoleOutput: (byte) => {
        output.push(byte);
        if (byte === 10 || output.length >= CONSOLE_FLUSH_BYTES) flush();
      },
    });
  } catch (error) {
    if (error instanceof SnapshotError || error instanceof ConfigError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
  const machine = openReplayMachine(built.config, options.tier);
  const deadline = options.timeoutSeconds !== undefined ? Date.now() + options.timeoutSeconds * 1000 : Infinity;
  try {
    const replay = new Replay(machine, recording, built.cards);
    for (;;) {
      let state: 'running' | 'ended';
      try {
        state = replay.step(SLICE_BATCH);
      } catch (error) {
        flush();
        if (error instanceof ReplayDivergence) {
          process.stderr.write(`ringside: replay of ${path} diverged: ${error.message}\n`);
          return EXIT_USAGE;
        }
        throw error;
      }
      flush();
      if (state === 'ended') break;
      if (Date.now() > deadline) {
        process.stderr.write(`ringside: timeout after ${options.timeoutSeconds} s replaying ${path}\n`);
        return EXIT_TIMEOUT;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    process.stderr.write(`ringside: replayed ${recording.inputs.length} inputs over ${machine.totalSteps()} steps: the same run as recorded\n`);
    return machine.exit !== null ? exitCodeOf(machine.exit) : 0;
  } finally {
    flush();
    machine.close();
  }
}

/** One line for Ctrl-A i. */
function machineStatus(machine: Machine): string {
  const seconds = machine.virtualNanoseconds / 1e9;
  return machine.harts.map((hart) => `hart ${hart.hartId}: pc ${hex(hart.pc)} ${privilegeName(hart.privilege)}-mode` +
    `${hart.waitingForInterrupt ? ' (waiting)' : ''}, ${hart.instructionsRetired} instructions`).join('\n') +
    `\nvirtual time ${seconds.toFixed(3)} s (icount shift ${machine.config.icountShift}, idle ${machine.config.idle})`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(USAGE);
      return command === undefined ? EXIT_USAGE : 0;
    }
    if (command === TEST_WORKER_COMMAND) return await runTestWorker();
    if (command === 'test') {
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(TEST_USAGE);
        return 0;
      }
      return await testCommand(rest);
    }
    if (command === 'snapshot') return snapshotCommand(rest);
    if (command !== 'run') throw new UsageError(`unknown command '${command}' (try 'ringside --help')`);
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(USAGE);
      return 0;
    }
    return await runCommand(rest);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ElfError || error instanceof ConfigError ||
      error instanceof MachineError || error instanceof DeviceTreeError) {
      process.stderr.write(`ringside: ${error.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`ringside: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT_EMULATOR_ERROR;
  }
}

if (require.main === module) {
  let settled = false;
  main(process.argv.slice(2)).then((code) => {
    settled = true;
    process.exitCode = code;
    // Once the event loop has drained (every write done) and every other 'exit' listener has
    // run (this one is added last), end the process at once: Node's own teardown of the
    // environment and V8's heaps and helper threads would add 30-40 ms to every run.
    process.once('exit', (exitCode) => process.exit(exitCode));
  });
  // Nothing left to wait on while a run is unfinished is a bug, never a silent success.
  process.on('beforeExit', () => {
    if (settled) return;
    settled = true;
    process.stderr.write('ringside: internal error: the run stopped waiting for events before it ended\n');
    process.exitCode = EXIT_EMULATOR_ERROR;
  });
}
