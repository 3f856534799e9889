// Register state as display data for the DAP Registers scopes (integer, floating point, CSRs
// with decoded fields) and the edits a user makes there. Pure over the machine: reads have no
// side effects; writes go through the monitor's CSR register file so WARL rules apply, then
// drop the hart's cached translations.

import type { Hart } from '../../vmm-core/cpu/hart';
import { privilegeName } from '../../vmm-core/cpu/csr-numbers';
import { csrName, csrNumber } from '../../vmm-core/isa/csr-names';
import { decodeCsr, type DecodedCsrField } from '../../vmm-core/isa/csr-fields';
import {
  FLOAT_REGISTER_NAMES, INTEGER_REGISTER_NAMES, parseFloatRegister, parseIntegerRegister,
} from '../../vmm-core/isa/registers';
import { RAM_BASE } from '../../vmm-core/machine/layout';
import type { BootMode, Machine, MachineExit } from '../../vmm-core/machine/machine';
import { csrExists, csrReadOnly, csrValue, readCsr, writeCsr } from '../../vmm-core/monitor/csr';
import { EXIT_KINDS, type ExitKind } from '../../vmm-core/monitor/exits';
import { HartState } from '../../vmm-core/monitor/sbi';
import { formatDouble, formatHex, formatSingle, parseInteger64, ValueParseError } from './format';

export class RegisterError extends Error {
  override name = 'RegisterError';
}

export interface IntegerRegister {
  readonly index: number;
  /** x0..x31. */
  readonly name: string;
  /** ABI name (zero, ra, sp, ...). */
  readonly abiName: string;
  /** Unsigned 64-bit value. */
  readonly value: bigint;
  /** The same bits as a signed value. */
  readonly signed: bigint;
  /** Hex, e.g. 0x80001000. */
  readonly text: string;
}

export interface FloatRegister {
  readonly index: number;
  /** f0..f31. */
  readonly name: string;
  readonly abiName: string;
  /** Raw 64 bits. */
  readonly bits: bigint;
  /** Raw bits in hex, zero-padded to 16 digits. */
  readonly text: string;
  readonly double: number;
  readonly doubleText: string;
  /** The upper 32 bits are all ones: the register holds a single-precision value. */
  readonly nanBoxed: boolean;
  /** The value as a single (the canonical NaN when not NaN-boxed, as F instructions read it). */
  readonly single: number;
  readonly singleText: string;
}

export type CsrGroup = 'floating point' | 'supervisor' | 'machine' | 'protection' | 'counters' | 'machine information';

export interface ControlRegister {
  readonly number: number;
  readonly name: string;
  readonly group: CsrGroup;
  /** Unsigned 64-bit value. */
  readonly value: bigint;
  readonly text: string;
  /** Read-only by its number (counters, mhartid, ...): setControlRegister refuses it. */
  readonly readOnly: boolean;
  /** Decoded bit fields; [] for a CSR without fields (mepc, mscratch, ...). */
  readonly fields: readonly DecodedCsrField[];
}

const toUnsigned = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

function hartOf(machine: Machine, hartId: number): Hart {
  const hart = machine.harts[hartId];
  if (hart === undefined) throw new RegisterError(`no hart ${hartId} (the machine has ${machine.harts.length})`);
  return hart;
}

// ---- integer and floating-point registers ------------------------------------------------------

/** x0..x31 with ABI names and hex values. */
export function generalRegisters(hart: Hart): IntegerRegister[] {
  const registers: IntegerRegister[] = [];
  for (let index = 0; index < 32; index++) {
    const signed = hart.readRegister(index);
    const value = BigInt.asUintN(64, signed);
    registers.push({ index, name: `x${index}`, abiName: INTEGER_REGISTER_NAMES[index], value, signed, text: formatHex(value) });
  }
  return registers;
}

/** The program counter in the same shape (index -1), for views that list it with the x registers. */
export function programCounter(hart: Hart): IntegerRegister {
  const value = hart.pc;
  return { index: -1, name: 'pc', abiName: 'pc', value, signed: BigInt.asIntN(64, value), text: formatHex(value) };
}

const conversion = new DataView(new ArrayBuffer(8));

/** f0..f31: raw bits, the double, and the NaN-boxed single. */
export function floatRegisters(hart: Hart): FloatRegister[] {
  const registers: FloatRegister[] = [];
  for (let index = 0; index < 32; index++) {
    const low = hart.floatBits[2 * index];
    const high = hart.floatBits[2 * index + 1];
    conversion.setInt32(0, low, true);
    conversion.setInt32(4, high, true);
    const double = conversion.getFloat64(0, true);
    const nanBoxed = high === -1;
    const single = nanBoxed ? conversion.getFloat32(0, true) : NaN;
    const bits = toUnsigned(low, high);
    registers.push({
      index, name: `f${index}`, abiName: FLOAT_REGISTER_NAMES[index], bits, text: formatHex(bits, 64, true),
      double, doubleText: formatDouble(double), nanBoxed, single,
      singleText: nanBoxed ? formatSingle(single) : 'NaN (not NaN-boxed)',
    });
  }
  return registers;
}

// ---- CSRs ---------------------------------------------------------------------------------------

function csrGroup(number: number): CsrGroup {
  if (number <= 0x003) return 'floating point';
  if ((number >= 0xc00 && number <= 0xc1f) || (number >= 0xb00 && number <= 0xb1f) || (number >= 0x320 && number <= 0x33f)) {
    return number === 0x320 ? 'machine' : 'counters';
  }
  if ((number & 0x300) === 0x100) return 'supervisor';
  if (number >= 0x3a0 && number <= 0x3ef) return 'protection';
  if (number >= 0xf11 && number <= 0xf15) return 'machine information';
  return 'machine';
}

/** Implemented CSR numbers in ascending order (computed once: the set is fixed). */
const IMPLEMENTED_CSRS: readonly number[] = Array.from({ length: 0x1000 }, (_, number) => number).filter((number) => csrExists(number));

/** A CSR's value as the debugger sees it (no side effects, M-level access). */
export function readControlRegister(machine: Machine, hartId: number, number: number): bigint {
  readCsr(hartOf(machine, hartId), number, machine.clint.mtime());
  return toUnsigned(csrValue.lo, csrValue.hi);
}

function describeCsr(machine: Machine, hartId: number, number: number): ControlRegister {
  const value = readControlRegister(machine, hartId, number);
  return {
    number, name: csrName(number) ?? formatHex(BigInt(number)), group: csrGroup(number), value, text: formatHex(value),
    readOnly: csrReadOnly(number), fields: decodeCsr(number, value),
  };
}

/** Every CSR this machine implements, by number, with its value and decoded fields. */
export function controlRegisters(machine: Machine, hartId: number): ControlRegister[] {
  hartOf(machine, hartId);
  return IMPLEMENTED_CSRS.map((number) => describeCsr(machine, hartId, number));
}

/** The number of the CSR called `name` ("mstatus", "$mstatus", "0x300"), or undefined. */
export function resolveCsrName(name: string): number | undefined {
  const trimmed = name.trim().replace(/^\$/, '');
  if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(trimmed)) {
    const number = Number(trimmed);
    return number <= 0xfff ? number : undefined;
  }
  return csrNumber(trimmed);
}

function parseValue(text: string | bigint): bigint {
  if (typeof text === 'bigint') return BigInt.asUintN(64, text);
  try {
    return parseInteger64(text);
  } catch (error) {
    if (error instanceof ValueParseError) throw new RegisterError(error.message);
    throw error;
  }
}

/**
 * Writes a CSR as the debugger (M-level, no privilege checks, WARL rules applied) and flushes
 * the hart's TLBs. Returns the CSR as it now reads, which can differ from what was written.
 */
export function setControlRegister(machine: Machine, hartId: number, name: string, text: string | bigint): ControlRegister {
  const hart = hartOf(machine, hartId);
  const number = resolveCsrName(name);
  if (number === undefined || !csrExists(number)) throw new RegisterError(`'${name}' is not a CSR of this machine`);
  const csr = csrName(number) ?? formatHex(BigInt(number));
  if (csrReadOnly(number)) throw new RegisterError(`${csr} is read-only`);
  const value = parseValue(text);
  writeCsr(hart, number, Number(value & 0xffff_ffffn) | 0, Number(value >> 32n) | 0);
  // Every effect (satp, PMP, mstatus.MPRV/SUM/MXR) is covered by dropping the cached translations.
  machine.mmus[hartId].flush();
  return describeCsr(machine, hartId, number);
}

export interface RegisterValue {
  readonly name: string;
  readonly value: bigint;
  readonly text: string;
}

/**
 * Writes pc, an integer register (x5, t0, fp) or a floating-point register (f10, fa0), or a
 * CSR when `name` is none of those. Integer registers and pc take integers (decimal, hex,
 * binary, octal, negative). Floating-point registers take raw bits as 0x/0b/0o integers,
 * otherwise a decimal number stored as a double, or with an `f` suffix (1.5f) as a NaN-boxed
 * single; nan, inf and -inf are accepted.
 */
export function setRegister(machine: Machine, hartId: number, name: string, text: string | bigint): RegisterValue {
  const hart = hartOf(machine, hartId);
  const trimmed = name.trim().replace(/^\$/, '').toLowerCase();
  if (trimmed === 'pc') {
    const value = parseValue(text);
    if ((value & 1n) !== 0n) throw new RegisterError(`pc must be 2-byte aligned, got ${formatHex(value)}`);
    hart.pc = value;
    return { name: 'pc', value, text: formatHex(value) };
  }
  const integer = parseIntegerRegister(trimmed);
  if (integer !== undefined) {
    if (integer === 0) throw new RegisterError('x0 (zero) is hard-wired to 0');
    const value = parseValue(text);
    hart.writeRegister(integer, value);
    return { name: INTEGER_REGISTER_NAMES[integer], value, text: formatHex(value) };
  }
  const float = parseFloatRegister(trimmed);
  if (float !== undefined) {
    const bits = parseFloatBits(text);
    hart.floatBits[2 * float] = Number(bits & 0xffff_ffffn) | 0;
    hart.floatBits[2 * float + 1] = Number(bits >> 32n) | 0;
    return { name: FLOAT_REGISTER_NAMES[float], value: bits, text: formatHex(bits, 64, true) };
  }
  if (resolveCsrName(trimmed) !== undefined) {
    const csr = setControlRegister(machine, hartId, trimmed, text);
    return { name: csr.name, value: csr.value, text: csr.text };
  }
  throw new RegisterError(`'${name}' is not a register (x0-x31, ABI names, pc, f0-f31 or a CSR)`);
}

const FLOAT_PATTERN = /^[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|inf|infinity|nan)(f?)$/i;

function parseFloatBits(text: string | bigint): bigint {
  if (typeof text === 'bigint' || /^[+-]?0[xbo]/i.test(text.trim())) return parseValue(text);
  const trimmed = text.trim();
  const match = FLOAT_PATTERN.exec(trimmed);
  if (match === null) throw new RegisterError(`'${text}' is not a number (a decimal value, 1.5f for a single, or 0x raw bits)`);
  const single = match[4] !== '';
  const numberText = single ? trimmed.slice(0, -1) : trimmed;
  const lower = numberText.toLowerCase().replace(/^\+/, '');
  const value = lower.endsWith('nan') ? NaN : lower.endsWith('inf') || lower.endsWith('infinity')
    ? (lower.startsWith('-') ? -Infinity : Infinity) : Number(lower);
  if (single) {
    conversion.setFloat32(0, value, true);
    return 0xffff_ffff_0000_0000n | BigInt(conversion.getUint32(0, true));
  }
  conversion.setFloat64(0, value, true);
  return conversion.getBigUint64(0, true);
}

// ---- machine facts ------------------------------------------------------------------------------

export interface HartFacts {
  readonly hartId: number;
  readonly privilege: 'U' | 'S' | 'M';
  readonly state: 'started' | 'stopped' | 'start pending' | 'stop pending';
  readonly waitingForInterrupt: boolean;
  readonly instructionsRetired: number;
  readonly trapsTaken: number;
  /** Virtual time in ns (one retired instruction is one ns, plus time asleep in wfi). */
  readonly virtualNanoseconds: number;
  readonly idleNanoseconds: number;
}

export interface MachineFacts {
  readonly bootMode: BootMode;
  readonly ramBase: number;
  readonly ramBytes: number;
  readonly hartCount: number;
  /** mtime in 10 MHz ticks. */
  readonly mtime: number;
  readonly exits: Record<ExitKind, number>;
  readonly totalExits: number;
  readonly harts: readonly HartFacts[];
  readonly images: ReadonlyArray<{ role: string; fileName: string; start: number; end: number }>;
  /** Why the guest ended, once it has. */
  readonly exit: MachineExit | null;
}

const HART_STATE_NAMES: Record<HartState, HartFacts['state']> = {
  [HartState.Started]: 'started',
  [HartState.Stopped]: 'stopped',
  [HartState.StartPending]: 'start pending',
  [HartState.StopPending]: 'stop pending',
};

/** The HSM state of a hart as a word. */
export function hartStateName(machine: Machine, hartId: number): HartFacts['state'] {
  return HART_STATE_NAMES[machine.hartStates[hartId]] ?? 'stopped';
}

/** Exit counts, retired instructions and virtual time per hart, boot mode and RAM. */
export function machineFacts(machine: Machine): MachineFacts {
  const exits = machine.monitor.exits.snapshot();
  return {
    bootMode: machine.bootMode,
    ramBase: RAM_BASE,
    ramBytes: machine.config.memoryBytes,
    hartCount: machine.harts.length,
    mtime: machine.clint.mtime(),
    exits,
    totalExits: EXIT_KINDS.reduce((sum, kind) => sum + exits[kind], 0),
    harts: machine.harts.map((hart) => ({
      hartId: hart.hartId,
      privilege: privilegeName(hart.privilege),
      state: hartStateName(machine, hart.hartId),
      waitingForInterrupt: hart.waitingForInterrupt,
      instructionsRetired: hart.instructionsRetired,
      trapsTaken: hart.trapsTaken,
      virtualNanoseconds: hart.virtualNanoseconds,
      idleNanoseconds: hart.idleNanoseconds,
    })),
    images: machine.images.map(({ role, fileName, start, end }) => ({ role, fileName, start, end })),
    exit: machine.exit,
  };
}
