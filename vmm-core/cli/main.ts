// The headless `ringside` command: boots a machine from the command line, runs it with a
// timeout, and exits with the guest's exit code. Documented in docs/cli.md.

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { Debugger, type EventBreakpointSpec, type PrivilegePattern, type StopReason } from '../debug/debugger';
import { privilegeName } from '../cpu/csr-numbers';
import { disassemble } from '../isa/disassembler';
import { integerRegisterName } from '../isa/registers';
import { ConfigError, type ImageFile, parseMemorySize } from '../machine/config';
import { ElfError } from '../machine/elf';
import { Machine, MachineError, type MachineExit } from '../machine/machine';
import { DeviceTreeError } from '../machine/fdt';

export const EXIT_TIMEOUT = 124;
export const EXIT_EMULATOR_ERROR = 125;
export const EXIT_USAGE = 2;
export const EXIT_STOPPED = 3;

const USAGE = `usage: ringside run --kernel FILE [options]

  --kernel FILE        kernel or program (RV64 ELF, or raw image at 0x80200000 with a firmware)
  --bios none|builtin|FILE
                       none: enter the kernel in M-mode (default); builtin: direct boot in
                       S-mode with the built-in SBI; FILE: firmware at 0x80000000 (e.g. OpenSBI)
  --initrd FILE        initial ramdisk
  --append TEXT        kernel command line
  --dtb FILE           device tree to pass instead of the generated one
  --mem SIZE           RAM size, e.g. 128M (default), 1G
  --smp N              number of harts, 1..8 (default 1)
  --timeout SECONDS    wall-clock limit; exit code ${EXIT_TIMEOUT} when reached
  --serial stdio|file:PATH
                       where the guest console goes (default stdio)
  --stop-on SPEC       stop and print the reason and registers (repeatable):
                         exception:N | trap:N    exception with cause N (e.g. trap:2)
                         interrupt:N             interrupt with cause N
                         privilege:FROM->TO      privilege change; FROM, TO in U, S, M, *
                         pc:ADDRESS              instruction address (virtual)
                         console:TEXT            the guest printed TEXT
  --trace FILE         write one line per retired instruction (hart, pc, bytes, disassembly,
                       register written)

exit codes: the guest's (finisher, HTIF, SBI shutdown), ${EXIT_STOPPED} stopped by --stop-on,
${EXIT_TIMEOUT} timeout, ${EXIT_EMULATOR_ERROR} emulator error, ${EXIT_USAGE} bad command line or input file.
`;

class UsageError extends Error {}

interface RunOptions {
  kernel?: string;
  bios: string;
  initrd?: string;
  append?: string;
  dtb?: string;
  memory: number;
  harts: number;
  timeoutSeconds?: number;
  serial: string;
  stopOn: string[];
  trace?: string;
}

function parseRunArguments(args: readonly string[]): RunOptions {
  const options: RunOptions = { bios: 'none', memory: 128 * 1024 * 1024, harts: 1, serial: 'stdio', stopOn: [] };
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
    switch (flag) {
      case '--kernel': options.kernel = value(); break;
      case '--bios': options.bios = value(); break;
      case '--initrd': options.initrd = value(); break;
      case '--append': options.append = value(); break;
      case '--dtb': options.dtb = value(); break;
      case '--mem': case '--memory':
        try { options.memory = parseMemorySize(value()); } catch (error) { throw new UsageError((error as Error).message); }
        break;
      case '--smp': {
        const text = value();
        options.harts = Number(text);
        if (!/^[0-9]+$/.test(text)) throw new UsageError(`--smp needs a number of harts, got '${text}'`);
        break;
      }
      case '--timeout': {
        const text = value();
        const seconds = Number(text);
        if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--timeout needs a positive number of seconds, got '${text}'`);
        options.timeoutSeconds = seconds;
        break;
      }
      case '--serial': options.serial = value(); break;
      case '--stop-on': options.stopOn.push(value()); break;
      case '--trace': options.trace = value(); break;
      default: throw new UsageError(`unknown option '${argument}'`);
    }
  }
  if (options.kernel === undefined && (options.bios === 'none' || options.bios === 'builtin')) {
    throw new UsageError('--kernel FILE is required');
  }
  if (options.serial !== 'stdio' && !options.serial.startsWith('file:')) {
    throw new UsageError(`--serial must be 'stdio' or 'file:PATH', got '${options.serial}'`);
  }
  return options;
}

function readImage(path: string, what: string): ImageFile {
  try {
    return { fileName: path, bytes: new Uint8Array(readFileSync(path)) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new UsageError(`cannot read ${what} '${path}': ${reason}`);
  }
}

/** Parses one --stop-on SPEC into a debugger breakpoint. */
export function addStopSpec(debug: Debugger, spec: string): void {
  const colon = spec.indexOf(':');
  if (colon < 0) throw new UsageError(`--stop-on '${spec}': expected KIND:VALUE (exception:N, interrupt:N, privilege:U->S, pc:ADDR, console:TEXT)`);
  const kind = spec.slice(0, colon);
  const value = spec.slice(colon + 1);
  const number = (text: string): number => {
    if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(text)) throw new UsageError(`--stop-on '${spec}': '${text}' is not a number`);
    return Number(text);
  };
  switch (kind) {
    case 'exception': case 'trap':
      debug.addEventBreakpoint({ kind: 'trap', interrupt: false, code: value === '*' ? '*' : number(value) });
      return;
    case 'interrupt':
      debug.addEventBreakpoint({ kind: 'trap', interrupt: true, code: value === '*' ? '*' : number(value) });
      return;
    case 'privilege': {
      const match = /^([USM*])->([USM*])$/.exec(value);
      if (match === null) throw new UsageError(`--stop-on '${spec}': expected privilege:FROM->TO with FROM, TO in U, S, M, *`);
      const breakpoint: EventBreakpointSpec = { kind: 'privilege', from: match[1] as PrivilegePattern, to: match[2] as PrivilegePattern };
      debug.addEventBreakpoint(breakpoint);
      return;
    }
    case 'pc': {
      if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(value)) throw new UsageError(`--stop-on '${spec}': '${value}' is not an address`);
      debug.addCodeBreakpoint({ address: BigInt(value) });
      return;
    }
    case 'console':
      if (value.length === 0) throw new UsageError(`--stop-on '${spec}': console text must not be empty`);
      debug.addConsoleBreakpoint(value);
      return;
    default:
      throw new UsageError(`--stop-on '${spec}': unknown kind '${kind}'`);
  }
}

const hex = (value: bigint) => `0x${BigInt.asUintN(64, value).toString(16).padStart(16, '0')}`;

export function describeStop(stop: StopReason): string {
  switch (stop.reason) {
    case 'breakpoint': return `stopped at breakpoint, pc ${hex(stop.pc)}`;
    case 'watchpoint': return `stopped on ${stop.access} of ${stop.size} bytes at ${hex(stop.address)}`;
    case 'trap':
      return `stopped on ${stop.interrupt ? 'interrupt' : 'exception'} ${stop.cause} (${stop.from}->${stop.to}), tval ${hex(stop.tval)}, epc ${hex(stop.epc)}`;
    case 'privilege':
      return `stopped on privilege change ${stop.from}->${stop.to} via ${stop.via}` +
        (stop.cause !== undefined ? ` (${stop.interrupt ? 'interrupt' : 'exception'} ${stop.cause}, tval ${hex(stop.tval ?? 0n)}, epc ${hex(stop.epc ?? 0n)})` : '');
    case 'console': return `stopped: console printed '${stop.text}'`;
    case 'step': return `stopped after step, pc ${hex(stop.pc)}`;
    case 'pause': return `paused, pc ${hex(stop.pc)}`;
    case 'exit': return describeExit(stop.exit);
  }
}

function describeExit(exit: MachineExit): string {
  if (exit.kind === 'error') return `emulator error on hart ${exit.hartId}: ${exit.message}`;
  return `guest exited with code ${exit.code} (${exit.source})`;
}

function registerDump(machine: Machine, hartId: number): string {
  const hart = machine.harts[hartId];
  const lines = [`hart ${hartId}  pc ${hex(hart.pc)}  privilege ${privilegeName(hart.privilege)}`];
  for (let row = 0; row < 32; row += 4) {
    const cells: string[] = [];
    for (let i = row; i < row + 4; i++) cells.push(`${integerRegisterName(i).padStart(4)} ${hex(hart.readRegister(i))}`);
    lines.push(cells.join('  '));
  }
  return lines.join('\n');
}

function exitCodeOf(exit: MachineExit): number {
  if (exit.kind === 'error') return EXIT_EMULATOR_ERROR;
  if (exit.code === 0) return 0;
  // Process exit codes are 8 bits; a non-zero guest code never turns into success.
  return (exit.code & 0xff) === 0 ? 1 : exit.code & 0xff;
}

async function runCommand(args: readonly string[]): Promise<number> {
  const options = parseRunArguments(args);
  let serialFile: number | undefined;
  const serialBuffer: number[] = [];
  const flushSerial = () => {
    if (serialBuffer.length === 0) return;
    const bytes = Buffer.from(serialBuffer);
    serialBuffer.length = 0;
    if (serialFile !== undefined) writeSync(serialFile, bytes);
    else process.stdout.write(bytes);
  };
  if (options.serial.startsWith('file:')) {
    try {
      serialFile = openSync(options.serial.slice(5), 'w');
    } catch (error) {
      throw new UsageError(`cannot open serial file '${options.serial.slice(5)}': ${(error as Error).message}`);
    }
  }
  const bios = options.bios === 'none' || options.bios === 'builtin' ? options.bios : readImage(options.bios, 'firmware');
  const machine = new Machine({
    memoryBytes: options.memory,
    hartCount: options.harts,
    bios,
    kernel: options.kernel !== undefined ? readImage(options.kernel, 'kernel') : undefined,
    initrd: options.initrd !== undefined ? readImage(options.initrd, 'initrd') : undefined,
    dtb: options.dtb !== undefined ? readImage(options.dtb, 'device tree') : undefined,
    append: options.append,
    consoleOutput: (byte) => {
      serialBuffer.push(byte);
      if (byte === 10 || serialBuffer.length >= 4096) flushSerial();
    },
  });
  const debug = new Debugger(machine);
  for (const spec of options.stopOn) addStopSpec(debug, spec);

  // Console input from stdin, when it is a terminal or a pipe.
  if (options.serial === 'stdio' && !process.stdin.isTTY && process.env.CI === undefined) {
    process.stdin.on('data', (chunk: Buffer) => machine.sendConsoleInput(chunk));
    process.stdin.on('error', () => {});
  }

  const deadline = options.timeoutSeconds !== undefined ? Date.now() + options.timeoutSeconds * 1000 : Infinity;
  const trace = options.trace !== undefined ? openSync(options.trace, 'w') : undefined;
  try {
    while (true) {
      const stop = trace !== undefined ? traceSteps(machine, debug, trace, 20_000) : debug.continue(5_000_000);
      flushSerial();
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
      if (Date.now() > deadline) {
        process.stderr.write(`ringside: timeout after ${options.timeoutSeconds} s\n${registerDump(machine, 0)}\n`);
        return EXIT_TIMEOUT;
      }
      // Let stdin and other host events in between slices.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    flushSerial();
    if (serialFile !== undefined) closeSync(serialFile);
    if (trace !== undefined) closeSync(trace);
    process.stdin.pause();
    process.stdin.unref?.();
  }
}

/** Steps instruction by instruction, writing a trace line for each retired one. */
function traceSteps(machine: Machine, debug: Debugger, file: number, count: number): StopReason | undefined {
  const lines: string[] = [];
  const before = new BigInt64Array(32);
  try {
    for (let n = 0; n < count; n++) {
      for (const hart of machine.harts) {
        const pc = hart.pc;
        const retired = hart.instructionsRetired;
        const bytes = machine.readPhysicalForTrace(hart, pc);
        for (let i = 0; i < 32; i++) before[i] = hart.readRegister(i);
        const stop = debug.step(hart.hartId, 1);
        if (hart.instructionsRetired > retired && bytes !== undefined) {
          const text = disassemble(bytes.raw, pc).text;
          let written = '';
          for (let i = 1; i < 32; i++) {
            const value = hart.readRegister(i);
            if (value !== before[i]) written = ` ${integerRegisterName(i)}=${hex(value)}`;
          }
          const raw = bytes.length === 2 ? bytes.raw.toString(16).padStart(4, '0') : (bytes.raw >>> 0).toString(16).padStart(8, '0');
          lines.push(`${hart.hartId} ${hex(pc)} ${raw} ${text}${written}`);
        }
        if (stop.reason !== 'step') return stop;
      }
    }
    return { reason: 'step', hartId: 0, pc: machine.harts[0].pc };
  } finally {
    if (lines.length > 0) writeSync(file, lines.join('\n') + '\n');
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(USAGE);
      return command === undefined ? EXIT_USAGE : 0;
    }
    if (command !== 'run') throw new UsageError(`unknown command '${command}' (try 'ringside run --help')`);
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
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
