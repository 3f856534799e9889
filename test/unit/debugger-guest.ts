// Shared helpers for the debugger tests: boot a guest from guests/bin, look symbols up in its
// ELF (never hard-coded addresses, so a rebuilt guest keeps the tests meaningful), replay a
// fresh machine to an exact retired count, and decode the instruction at a pc.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Debugger, walkForDebugger } from '../../vmm-core/debug/debugger';
import type { Hart } from '../../vmm-core/cpu/hart';
import { DecodedInstruction, decodeInstruction } from '../../vmm-core/isa/decoder';
import { parseElf, type ElfImage } from '../../vmm-core/machine/elf';
import { Machine, type MachineExit } from '../../vmm-core/machine/machine';

export type GuestName = 'demo' | 'smp' | 'vm' | 'rv64a';

const HART_COUNTS: Record<GuestName, number> = { demo: 1, smp: 2, vm: 1, rv64a: 1 };
const elfCache = new Map<GuestName, { bytes: Uint8Array; elf: ElfImage }>();

function guestFile(name: GuestName): { bytes: Uint8Array; elf: ElfImage } {
  let cached = elfCache.get(name);
  if (cached === undefined) {
    const fileName = `guests/bin/${name}.elf`;
    const bytes = new Uint8Array(readFileSync(fileName));
    cached = { bytes, elf: parseElf(bytes, fileName) };
    elfCache.set(name, cached);
  }
  return cached;
}

export interface GuestSession {
  readonly machine: Machine;
  readonly elf: ElfImage;
  /** Everything the guest printed so far. */
  output(): string;
}

/** A freshly reset machine running `name` bare (M-mode entry), as QEMU's `-bios none`. */
export function bootGuest(name: GuestName, onConsoleByte?: (byte: number) => void): GuestSession {
  const { bytes, elf } = guestFile(name);
  let output = '';
  const machine = new Machine({
    hartCount: HART_COUNTS[name],
    bios: 'none',
    kernel: { fileName: `${name}.elf`, bytes },
    icountShift: 0,
    idle: 'skip',
    consoleOutput: (byte) => {
      output += String.fromCharCode(byte);
      onConsoleByte?.(byte);
    },
  });
  return { machine, elf, output: () => output };
}

export interface DebugSession extends GuestSession {
  readonly debugger: Debugger;
  readonly hart: Hart;
}

export function debugGuest(name: GuestName, onConsoleByte?: (byte: number) => void): DebugSession {
  const session = bootGuest(name, onConsoleByte);
  return { ...session, debugger: new Debugger(session.machine), hart: session.machine.harts[0] };
}

/** The address of the one defined symbol `name` (optionally the one inside [low, high)). */
export function symbol(elf: ElfImage, name: string, range?: { low: bigint; high: bigint }): bigint {
  const matches = elf.symbols.filter((entry) => entry.name === name && entry.sectionIndex !== 0 && entry.type !== 'section' &&
    (range === undefined || (BigInt(entry.value) >= range.low && BigInt(entry.value) < range.high)));
  assert.equal(matches.length, 1, `expected exactly one symbol '${name}' in ${elf.fileName}, found ${matches.length}`);
  return BigInt(matches[0].value);
}

/** Size in bytes of the one defined symbol `name`. */
export function symbolSize(elf: ElfImage, name: string): number {
  const matches = elf.symbols.filter((entry) => entry.name === name && entry.sectionIndex !== 0);
  assert.equal(matches.length, 1);
  return matches[0].size;
}

/** The demo's user code lies in [__user_start, __user_end); both the kernel and the user part define `syscall`. */
export function demoUserRange(elf: ElfImage): { low: bigint; high: bigint } {
  return { low: symbol(elf, '__user_start'), high: symbol(elf, '__user_end') };
}

/** Decodes the instruction a hart would fetch at `pc` through its current translation. */
export function instructionAt(machine: Machine, hart: Hart, pc: bigint): DecodedInstruction {
  const bits = machine.readPhysicalForTrace(hart, pc);
  assert.ok(bits !== undefined, `no instruction mapped at 0x${pc.toString(16)}`);
  const decoded = new DecodedInstruction();
  decodeInstruction(bits.raw, decoded);
  return decoded;
}

export function physicalOf(machine: Machine, hart: Hart, virtualAddress: bigint): bigint | undefined {
  return walkForDebugger(machine, hart, virtualAddress);
}

/** A machine without a debugger that has retired exactly `retired` instructions on hart 0. */
export function replayTo(name: GuestName, retired: number): GuestSession {
  const session = bootGuest(name);
  if (retired > 0) {
    const result = session.machine.run(retired);
    assert.equal(result.kind, 'budget', `the reference run ended early: ${JSON.stringify(result)}`);
  }
  assert.equal(session.machine.harts[0].instructionsRetired, retired);
  return session;
}

export interface FreeRun {
  readonly output: string;
  readonly exit: MachineExit;
  readonly retired: number[];
  readonly nanoseconds: number[];
}

const freeRuns = new Map<GuestName, FreeRun>();

/** The guest run to its end without a debugger (cached per guest and test file). */
export function freeRun(name: GuestName): FreeRun {
  let run = freeRuns.get(name);
  if (run === undefined) {
    const session = bootGuest(name);
    const result = session.machine.run(50_000_000);
    assert.equal(result.kind, 'exit');
    run = {
      output: session.output(),
      exit: result.exit,
      retired: session.machine.harts.map((hart) => hart.instructionsRetired),
      nanoseconds: session.machine.harts.map((hart) => hart.virtualNanoseconds),
    };
    freeRuns.set(name, run);
  }
  return run;
}

/** The unsigned 64-bit register value (registers are stored signed). */
export function register(hart: Hart, index: number): bigint {
  return BigInt.asUintN(64, hart.readRegister(index));
}

export function readUnsigned(machine: Machine, address: bigint, size: number): bigint {
  const bytes = machine.readPhysical(address, size);
  assert.ok(bytes !== undefined);
  let value = 0n;
  for (let index = size - 1; index >= 0; index--) value = (value << 8n) | BigInt(bytes[index]);
  return value;
}

export const PASS: MachineExit = { kind: 'pass', code: 0, source: 'finisher' };

/** A 64-bit CSR value from its two 32-bit halves. */
export const joinHalves = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/** JSON with bigints in hex, for assertion messages. */
export const show = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? `0x${item.toString(16)}` : item));

/** Total system calls the demo reports for its two tasks ("task A made 11 system calls"). */
export function reportedSystemCalls(output: string): number {
  const counts = [...output.matchAll(/made (\d+) system calls/g)].map((match) => Number(match[1]));
  assert.equal(counts.length, 2, output);
  return counts[0] + counts[1];
}

/** The timer ticks the demo reports at the end ("after 6 timer ticks"). */
export function reportedTicks(output: string): number {
  const match = /after (\d+) timer ticks/.exec(output);
  assert.ok(match !== null, output);
  return Number(match[1]);
}
