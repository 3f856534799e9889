// What the CLI's commands (`ringside run`, `ringside test`) share: exit codes, the error for bad
// input, reading input files, the --stop-on vocabulary (parsed, armed on a Debugger, and the
// stop described in words) and the register dump printed when a run stops.

import { readFileSync } from 'node:fs';
import { Debugger, type EventBreakpointSpec, type PrivilegePattern, type StopReason } from '../debug/debugger';
import { privilegeName } from '../cpu/csr-numbers';
import { integerRegisterName } from '../isa/registers';
import type { ImageFile } from '../machine/config';
import type { Machine, MachineExit } from '../machine/machine';
import { HartState } from '../monitor/sbi';

export const EXIT_TIMEOUT = 124;
export const EXIT_EMULATOR_ERROR = 125;
export const EXIT_USAGE = 2;
export const EXIT_STOPPED = 3;

/** Bad command line or input file: one line on stderr, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    // Text quoted from the input may hold line breaks or escapes: the message stays one line.
    super(message.replace(/[\x00-\x1f\x7f]/g, (character) => JSON.stringify(character).slice(1, -1)));
  }
}

/** One --stop-on SPEC, checked when the command line is read (before anything runs). */
export type StopSpec =
  | { kind: 'trap'; interrupt: boolean; code: number | '*' }
  | { kind: 'privilege'; from: PrivilegePattern; to: PrivilegePattern }
  | { kind: 'pc'; address: bigint }
  | { kind: 'pc-symbol'; symbol: string }
  | { kind: 'console'; text: string };

const NUMBER_PATTERN = /^(0x[0-9a-f]+|[0-9]+)$/i;

export function readImage(path: string, what: string): ImageFile {
  try {
    return { fileName: path, bytes: new Uint8Array(readFileSync(path)) };
  } catch (error) {
    throw new UsageError(`cannot read ${what} '${path}': ${fileErrorReason(error)}`);
  }
}

export function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'is a directory'
    : code === 'EACCES' ? 'permission denied' : (error as Error).message;
}

/** Parses one --stop-on SPEC; `where` names it in errors (the option, or a field of a test list). */
export function parseStopSpec(spec: string, where = '--stop-on'): StopSpec {
  const colon = spec.indexOf(':');
  if (colon < 0) throw new UsageError(`${where} '${spec}': expected KIND:VALUE (exception:N, interrupt:N, privilege:U->S, pc:ADDR, console:TEXT)`);
  const kind = spec.slice(0, colon);
  const value = spec.slice(colon + 1);
  const code = (): number | '*' => {
    if (value === '*') return '*';
    if (!NUMBER_PATTERN.test(value)) throw new UsageError(`${where} '${spec}': '${value}' is not a cause number or *`);
    return Number(value);
  };
  switch (kind) {
    case 'exception': case 'trap':
      return { kind: 'trap', interrupt: false, code: code() };
    case 'interrupt':
      return { kind: 'trap', interrupt: true, code: code() };
    case 'privilege': {
      const match = /^([USM*])->([USM*])$/.exec(value);
      if (match === null) throw new UsageError(`${where} '${spec}': expected privilege:FROM->TO with FROM, TO in U, S, M, *`);
      return { kind: 'privilege', from: match[1] as PrivilegePattern, to: match[2] as PrivilegePattern };
    }
    case 'pc':
      if (NUMBER_PATTERN.test(value)) return { kind: 'pc', address: BigInt(value) };
      if (/^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(value)) return { kind: 'pc-symbol', symbol: value };
      throw new UsageError(`${where} '${spec}': '${value}' is neither an address nor a symbol name`);
    case 'console':
      if (value.length === 0) throw new UsageError(`${where} '${spec}': console text must not be empty`);
      return { kind: 'console', text: value };
    default:
      throw new UsageError(`${where} '${spec}': unknown kind '${kind}' (exception, trap, interrupt, privilege, pc, console)`);
  }
}

/** Arms one stop spec; returns the breakpoint id and, for pc stops, the address. `where` names it in errors. */
export function applyStopSpec(debug: Debugger, machine: Machine, spec: StopSpec, where = '--stop-on'): { id: number; address?: bigint } {
  switch (spec.kind) {
    case 'trap':
      return { id: debug.addEventBreakpoint({ kind: 'trap', interrupt: spec.interrupt, code: spec.code }) };
    case 'privilege': {
      const breakpoint: EventBreakpointSpec = { kind: 'privilege', from: spec.from, to: spec.to };
      return { id: debug.addEventBreakpoint(breakpoint) };
    }
    case 'pc': case 'pc-symbol': {
      const address = spec.kind === 'pc' ? spec.address : resolveSymbol(machine, spec.symbol, where);
      return { id: debug.addCodeBreakpoint({ address }), address: BigInt.asUintN(64, address) };
    }
    case 'console':
      return { id: debug.addConsoleBreakpoint(spec.text) };
  }
}

/** A symbol's address in the kernel ELF, else the firmware ELF. */
function resolveSymbol(machine: Machine, name: string, where: string): bigint {
  for (const role of ['kernel', 'firmware'] as const) {
    const symbol = machine.images.find((image) => image.role === role)?.elf?.findSymbol(name);
    if (symbol !== undefined) return BigInt.asUintN(64, BigInt(symbol.value));
  }
  throw new UsageError(`${where} 'pc:${name}': no symbol '${name}' in the kernel or firmware ELF`);
}

export const hex = (value: bigint): string => `0x${BigInt.asUintN(64, value).toString(16).padStart(16, '0')}`;

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

export function describeExit(exit: MachineExit): string {
  if (exit.kind === 'error') return `emulator error on hart ${exit.hartId}: ${exit.message}`;
  return `guest exited with code ${exit.code} (${exit.source})`;
}

export function registerDump(machine: Machine, hartId: number): string {
  const hart = machine.harts[hartId];
  const lines = [`hart ${hartId}  pc ${hex(hart.pc)}  privilege ${privilegeName(hart.privilege)}`];
  for (let row = 0; row < 32; row += 4) {
    const cells: string[] = [];
    for (let i = row; i < row + 4; i++) cells.push(`${integerRegisterName(i).padStart(4)} ${hex(hart.readRegister(i))}`);
    lines.push(cells.join('  '));
  }
  return lines.join('\n');
}

export function exitCodeOf(exit: MachineExit): number {
  if (exit.kind === 'error') return EXIT_EMULATOR_ERROR;
  if (exit.code === 0) return 0;
  // Process exit codes are 8 bits; a non-zero guest code never turns into success.
  return (exit.code & 0xff) === 0 ? 1 : exit.code & 0xff;
}

/**
 * The debugger lets the instruction under a breakpoint run when a run starts (it resumes from
 * there), so a pc stop at a hart's very first instruction is caught here.
 */
export function initialCodeStop(machine: Machine, codeStops: ReadonlyMap<bigint, number>): StopReason | undefined {
  for (const hart of machine.harts) {
    if (machine.hartStates[hart.hartId] !== HartState.Started) continue;
    const breakpointId = codeStops.get(hart.pc);
    if (breakpointId !== undefined) return { reason: 'breakpoint', hartId: hart.hartId, pc: hart.pc, breakpointId };
  }
  return undefined;
}
