// Test support: an instruction encoder driven by the one instruction table (look the row up by
// mnemonic, place the operand fields its format names), a small label-resolving program
// builder, a minimal ELF64 writer, and helpers that put a program into a Machine and execute
// an exact number of instructions on it.
//
// The encoder is written from the RISC-V specification's field layouts, independently of the
// decoder, so tests that round-trip through decodeInstruction tie the two together.

import { Privilege } from '../../vmm-core/cpu/csr-numbers';
import type { Hart } from '../../vmm-core/cpu/hart';
import { runInterpreter } from '../../vmm-core/cpu/interpreter';
import { INSTRUCTIONS, type InstructionSpec } from '../../vmm-core/isa/table';
import { type MachineConfig } from '../../vmm-core/machine/config';
import { FIRMWARE_KERNEL_ADDRESS, RAM_BASE } from '../../vmm-core/machine/layout';
import { Machine } from '../../vmm-core/machine/machine';
import { csrValue, readCsr } from '../../vmm-core/monitor/csr';

/** Integer registers by ABI name. */
export const X = {
  zero: 0, ra: 1, sp: 2, gp: 3, tp: 4, t0: 5, t1: 6, t2: 7, s0: 8, s1: 9, a0: 10, a1: 11, a2: 12, a3: 13,
  a4: 14, a5: 15, a6: 16, a7: 17, s2: 18, s3: 19, s4: 20, s5: 21, s6: 22, s7: 23, s8: 24, s9: 25, s10: 26,
  s11: 27, t3: 28, t4: 29, t5: 30, t6: 31,
} as const;

/** Operand fields, named as in the expanded (32-bit) instruction. Immediates are byte offsets or values. */
export interface Operands {
  rd?: number;
  rs1?: number;
  rs2?: number;
  rs3?: number;
  /** Immediate: I/S/B/J offsets, U and c.lui upper-immediate field, shift amount, CSR uimm. */
  imm?: number;
  csr?: number;
  /** Rounding mode for F/D rows that have one (default 7, dynamic). */
  rm?: number;
  aq?: boolean;
  rl?: boolean;
  /** fence predecessor/successor sets (default iorw, iorw). */
  pred?: number;
  succ?: number;
}

export class EncodingError extends Error {
  override name = 'EncodingError';
}

const rowsByMnemonic = new Map<string, InstructionSpec>(INSTRUCTIONS.map((spec) => [spec.mnemonic, spec]));

/** The table row for `mnemonic`; throws when the table has none. */
export function rowFor(mnemonic: string): InstructionSpec {
  const spec = rowsByMnemonic.get(mnemonic);
  if (spec === undefined) throw new EncodingError(`no instruction '${mnemonic}' in the table`);
  return spec;
}

function checkRegister(mnemonic: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 31) throw new EncodingError(`${mnemonic}: ${name} ${value} is not a register`);
  return value;
}

/** A compressed register field (x8..x15 → 0..7). */
function compressedRegister(mnemonic: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 8 || value > 15) throw new EncodingError(`${mnemonic}: ${name} x${value} is not one of x8..x15`);
  return value - 8;
}

function checkImmediate(mnemonic: string, value: number, minimum: number, maximum: number, multiple = 1): number {
  if (!Number.isInteger(value) || value < minimum || value > maximum || value % multiple !== 0) {
    throw new EncodingError(`${mnemonic}: immediate ${value} is outside ${minimum}..${maximum} or not a multiple of ${multiple}`);
  }
  return value;
}

/** Bits high..low of value, moved to position `to`. */
const field = (value: number, high: number, low: number, to: number): number =>
  ((value >>> low) & ((1 << (high - low + 1)) - 1)) << to;

/**
 * Encodes one instruction. Returns the 32-bit word (unsigned), or for a compressed row the
 * 16-bit parcel. Throws EncodingError for an operand that does not fit the row's format.
 */
export function encode(mnemonic: string, operands: Operands = {}): number {
  const spec = rowFor(mnemonic);
  const word = spec.length === 4 ? encodeWide(spec, operands) : encodeCompressed(spec, operands);
  if (((word & spec.mask) >>> 0) !== spec.match) {
    throw new EncodingError(`${mnemonic}: operands change fixed bits (0x${(word >>> 0).toString(16)})`);
  }
  return word >>> 0;
}

function encodeWide(spec: InstructionSpec, operands: Operands): number {
  const name = spec.mnemonic;
  const rd = checkRegister(name, 'rd', operands.rd ?? 0) << 7;
  const rs1 = checkRegister(name, 'rs1', operands.rs1 ?? 0) << 15;
  const rs2 = checkRegister(name, 'rs2', operands.rs2 ?? 0) << 20;
  const rs3 = checkRegister(name, 'rs3', operands.rs3 ?? 0) << 27;
  const imm = operands.imm ?? 0;
  const rm = (operands.rm ?? 7) << 12;
  let word = spec.match;
  switch (spec.format) {
    case 'R': case 'FRNoRm': case 'FCompare':
      word |= rd | rs1 | rs2;
      break;
    case 'I': case 'Load': case 'Jalr': case 'FLoad':
      word |= rd | rs1 | (checkImmediate(name, imm, -2048, 2047) << 20);
      break;
    case 'S': case 'FStore':
      checkImmediate(name, imm, -2048, 2047);
      word |= rs1 | rs2 | field(imm, 11, 5, 25) | field(imm, 4, 0, 7);
      break;
    case 'B':
      checkImmediate(name, imm, -4096, 4094, 2);
      word |= rs1 | rs2 | field(imm, 12, 12, 31) | field(imm, 10, 5, 25) | field(imm, 4, 1, 8) | field(imm, 11, 11, 7);
      break;
    case 'U':
      checkImmediate(name, imm, -0x80000, 0xfffff);
      word |= rd | ((imm & 0xfffff) << 12);
      break;
    case 'J':
      checkImmediate(name, imm, -(1 << 20), (1 << 20) - 2, 2);
      word |= rd | field(imm, 20, 20, 31) | field(imm, 10, 1, 21) | field(imm, 11, 11, 20) | field(imm, 19, 12, 12);
      break;
    case 'Shift':
      word |= rd | rs1 | (checkImmediate(name, imm, 0, 63) << 20);
      break;
    case 'ShiftW':
      word |= rd | rs1 | (checkImmediate(name, imm, 0, 31) << 20);
      break;
    case 'Fence':
      word |= ((operands.pred ?? 0xf) << 24) | ((operands.succ ?? 0xf) << 20);
      break;
    case 'None':
      break;
    case 'SfenceVma':
      word |= rs1 | rs2;
      break;
    case 'Csr':
      word |= rd | rs1 | (checkImmediate(name, operands.csr ?? 0, 0, 0xfff) << 20);
      break;
    case 'CsrImm':
      word |= rd | (checkImmediate(name, imm, 0, 31) << 15) | (checkImmediate(name, operands.csr ?? 0, 0, 0xfff) << 20);
      break;
    case 'Amo':
      word |= rd | rs1 | rs2 | (operands.aq === true ? 1 << 26 : 0) | (operands.rl === true ? 1 << 25 : 0);
      break;
    case 'Lr':
      word |= rd | rs1 | (operands.aq === true ? 1 << 26 : 0) | (operands.rl === true ? 1 << 25 : 0);
      break;
    case 'R4':
      word |= rd | rs1 | rs2 | rs3 | rm;
      break;
    case 'FR':
      word |= rd | rs1 | rs2 | rm;
      break;
    case 'FUnary': case 'FToInt': case 'IntToF':
      word |= rd | rs1 | rm;
      break;
    case 'FMoveToInt': case 'FMoveFromInt': case 'Unary':
      word |= rd | rs1;
      break;
    default:
      throw new EncodingError(`${name}: format ${spec.format} is not a 32-bit format`);
  }
  return word;
}

function encodeCompressed(spec: InstructionSpec, operands: Operands): number {
  const name = spec.mnemonic;
  const imm = operands.imm ?? 0;
  const rdFull = () => checkRegister(name, 'rd', operands.rd ?? 0) << 7;
  const rdPrimeLow = () => compressedRegister(name, 'rd', operands.rd ?? 0) << 2;
  const rdPrimeHigh = () => compressedRegister(name, 'rd', operands.rd ?? 0) << 7;
  const rs1PrimeHigh = () => compressedRegister(name, 'rs1', operands.rs1 ?? 0) << 7;
  const rs2PrimeLow = () => compressedRegister(name, 'rs2', operands.rs2 ?? 0) << 2;
  const rs2Full = () => checkRegister(name, 'rs2', operands.rs2 ?? 0) << 2;
  const sixBitImmediate = (value: number) => field(value, 5, 5, 12) | field(value, 4, 0, 2);
  let word = spec.match;
  switch (spec.format) {
    case 'CIW':
      checkImmediate(name, imm, 4, 1020, 4);
      word |= rdPrimeLow() | field(imm, 5, 4, 11) | field(imm, 9, 6, 7) | field(imm, 2, 2, 6) | field(imm, 3, 3, 5);
      break;
    case 'CLW':
      checkImmediate(name, imm, 0, 124, 4);
      word |= rdPrimeLow() | rs1PrimeHigh() | field(imm, 5, 3, 10) | field(imm, 2, 2, 6) | field(imm, 6, 6, 5);
      break;
    case 'CSW':
      checkImmediate(name, imm, 0, 124, 4);
      word |= rs2PrimeLow() | rs1PrimeHigh() | field(imm, 5, 3, 10) | field(imm, 2, 2, 6) | field(imm, 6, 6, 5);
      break;
    case 'CLD':
      checkImmediate(name, imm, 0, 248, 8);
      word |= rdPrimeLow() | rs1PrimeHigh() | field(imm, 5, 3, 10) | field(imm, 7, 6, 5);
      break;
    case 'CSD':
      checkImmediate(name, imm, 0, 248, 8);
      word |= rs2PrimeLow() | rs1PrimeHigh() | field(imm, 5, 3, 10) | field(imm, 7, 6, 5);
      break;
    case 'CIAddi': case 'CILi':
      word |= rdFull() | sixBitImmediate(checkImmediate(name, imm, -32, 31));
      break;
    case 'CIAddi16sp':
      checkImmediate(name, imm, -512, 496, 16);
      word |= field(imm, 9, 9, 12) | field(imm, 4, 4, 6) | field(imm, 6, 6, 5) | field(imm, 8, 7, 3) | field(imm, 5, 5, 2);
      break;
    case 'CILui':
      word |= rdFull() | sixBitImmediate(checkImmediate(name, imm, -32, 31));
      break;
    case 'CBShift':
      word |= rdPrimeHigh() | sixBitImmediate(checkImmediate(name, imm, 0, 63));
      break;
    case 'CBAndi':
      word |= rdPrimeHigh() | sixBitImmediate(checkImmediate(name, imm, -32, 31));
      break;
    case 'CA':
      word |= rdPrimeHigh() | rs2PrimeLow();
      break;
    case 'CJ':
      checkImmediate(name, imm, -2048, 2046, 2);
      word |= field(imm, 11, 11, 12) | field(imm, 4, 4, 11) | field(imm, 9, 8, 9) | field(imm, 10, 10, 8) |
        field(imm, 6, 6, 7) | field(imm, 7, 7, 6) | field(imm, 3, 1, 3) | field(imm, 5, 5, 2);
      break;
    case 'CBBranch':
      checkImmediate(name, imm, -256, 254, 2);
      word |= rs1PrimeHigh() | field(imm, 8, 8, 12) | field(imm, 4, 3, 10) | field(imm, 7, 6, 5) | field(imm, 2, 1, 3) |
        field(imm, 5, 5, 2);
      break;
    case 'CIShift':
      word |= rdFull() | sixBitImmediate(checkImmediate(name, imm, 0, 63));
      break;
    case 'CILwsp':
      checkImmediate(name, imm, 0, 252, 4);
      word |= rdFull() | field(imm, 5, 5, 12) | field(imm, 4, 2, 4) | field(imm, 7, 6, 2);
      break;
    case 'CILdsp':
      checkImmediate(name, imm, 0, 504, 8);
      word |= rdFull() | field(imm, 5, 5, 12) | field(imm, 4, 3, 5) | field(imm, 8, 6, 2);
      break;
    case 'CRJr': case 'CRJalr':
      word |= checkRegister(name, 'rs1', operands.rs1 ?? 0) << 7;
      break;
    case 'CRMv': case 'CRAdd':
      word |= rdFull() | rs2Full();
      break;
    case 'CSSwsp':
      checkImmediate(name, imm, 0, 252, 4);
      word |= rs2Full() | field(imm, 5, 2, 9) | field(imm, 7, 6, 7);
      break;
    case 'CSSdsp':
      checkImmediate(name, imm, 0, 504, 8);
      word |= rs2Full() | field(imm, 5, 3, 10) | field(imm, 8, 6, 7);
      break;
    case 'CNone':
      break;
    default:
      throw new EncodingError(`${name}: format ${spec.format} is not a compressed format`);
  }
  return word;
}

/** Length in bytes of an encoded instruction. */
export const encodedLength = (word: number): 2 | 4 => ((word & 3) === 3 ? 4 : 2);

/** Little-endian bytes of a sequence of encoded instructions (16- and 32-bit mixed). */
export function instructionBytes(words: readonly number[]): Uint8Array {
  const length = words.reduce((total, word) => total + encodedLength(word), 0);
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const word of words) {
    for (let i = 0; i < encodedLength(word); i++) bytes[offset++] = (word >>> (8 * i)) & 0xff;
  }
  return bytes;
}

/** Sign-extends the low 12 bits. */
const low12 = (value: bigint): bigint => BigInt.asIntN(12, value);

/** The standard `li` expansion: lui/addiw for 32-bit values, then slli/addi steps for wider ones. */
export function loadImmediate(rd: number, value: bigint): number[] {
  const target = BigInt.asIntN(64, value);
  if (target === BigInt.asIntN(32, target)) {
    const low = low12(target);
    const upper = (target - low) >> 12n;
    if (upper === 0n) return [encode('addi', { rd, rs1: 0, imm: Number(low) })];
    const words = [encode('lui', { rd, imm: Number(BigInt.asUintN(20, upper)) })];
    if (low !== 0n) words.push(encode('addiw', { rd, rs1: rd, imm: Number(low) }));
    return words;
  }
  const low = low12(target);
  const words = loadImmediate(rd, (target - low) >> 12n);
  words.push(encode('slli', { rd, rs1: rd, imm: 12 }));
  if (low !== 0n) words.push(encode('addi', { rd, rs1: rd, imm: Number(low) }));
  return words;
}

type Item =
  | { kind: 'instruction'; mnemonic: string; operands: Operands; target?: string }
  | { kind: 'words'; words: number[] }
  | { kind: 'address'; rd: number; target: string }
  | { kind: 'label'; name: string };

/** A program with labels: branch and jump targets and `la` addresses resolve when it is built. */
export class ProgramBuilder {
  private readonly items: Item[] = [];

  constructor(readonly base: bigint = BigInt(RAM_BASE)) {}

  /** Appends one instruction; `target` names a label for B/J/CB/CJ offsets. */
  emit(mnemonic: string, operands: Operands = {}, target?: string): this {
    this.items.push({ kind: 'instruction', mnemonic, operands, target });
    return this;
  }

  label(name: string): this {
    this.items.push({ kind: 'label', name });
    return this;
  }

  li(rd: number, value: bigint | number): this {
    this.items.push({ kind: 'words', words: loadImmediate(rd, BigInt(value)) });
    return this;
  }

  /** auipc + addi: the address of a label. */
  la(rd: number, target: string): this {
    this.items.push({ kind: 'address', rd, target });
    return this;
  }

  /** csrrw/csrrs shorthands. */
  csrw(csr: number, rs1: number): this {
    return this.emit('csrrw', { rd: 0, rs1, csr });
  }

  csrr(rd: number, csr: number): this {
    return this.emit('csrrs', { rd, rs1: 0, csr });
  }

  private lengthOf(item: Item): number {
    switch (item.kind) {
      case 'instruction': return rowFor(item.mnemonic).length;
      case 'words': return item.words.reduce((total, word) => total + encodedLength(word), 0);
      case 'address': return 8;
      case 'label': return 0;
    }
  }

  /** Label addresses. */
  labels(): Map<string, bigint> {
    const result = new Map<string, bigint>();
    let address = this.base;
    for (const item of this.items) {
      if (item.kind === 'label') {
        if (result.has(item.name)) throw new EncodingError(`label ${item.name} defined twice`);
        result.set(item.name, address);
      }
      address += BigInt(this.lengthOf(item));
    }
    return result;
  }

  address(label: string): bigint {
    const address = this.labels().get(label);
    if (address === undefined) throw new EncodingError(`no label ${label}`);
    return address;
  }

  words(): number[] {
    const labels = this.labels();
    const resolve = (name: string) => {
      const address = labels.get(name);
      if (address === undefined) throw new EncodingError(`no label ${name}`);
      return address;
    };
    const words: number[] = [];
    let address = this.base;
    for (const item of this.items) {
      if (item.kind === 'instruction') {
        const operands = item.target === undefined ? item.operands : { ...item.operands, imm: Number(resolve(item.target) - address) };
        words.push(encode(item.mnemonic, operands));
      } else if (item.kind === 'words') {
        words.push(...item.words);
      } else if (item.kind === 'address') {
        const offset = resolve(item.target) - address;
        const low = low12(offset);
        words.push(encode('auipc', { rd: item.rd, imm: Number(BigInt.asUintN(20, (offset - low) >> 12n)) }));
        words.push(encode('addi', { rd: item.rd, rs1: item.rd, imm: Number(low) }));
      }
      address += BigInt(this.lengthOf(item));
    }
    return words;
  }
}

/** A minimal ELF64 RISC-V executable: one PT_LOAD (RWX) holding `code` at `loadAddress`. */
export function buildElf(code: Uint8Array, loadAddress: number, entry = loadAddress): Uint8Array {
  const codeOffset = 0x100;
  const codeLength = Math.max(code.length, 4);
  const bytes = new Uint8Array(codeOffset + codeLength);
  const view = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */]);
  view.setUint16(16, 2, true); // ET_EXEC
  view.setUint16(18, 243, true); // EM_RISCV
  view.setUint32(20, 1, true);
  view.setBigUint64(24, BigInt(entry), true);
  view.setBigUint64(32, 64n, true); // program headers right after the ELF header
  view.setUint16(52, 64, true);
  view.setUint16(54, 56, true);
  view.setUint16(56, 1, true);
  view.setUint16(58, 64, true);
  view.setUint32(64, 1, true); // PT_LOAD
  view.setUint32(68, 7, true); // RWX
  view.setBigUint64(72, BigInt(codeOffset), true);
  view.setBigUint64(80, BigInt(loadAddress), true);
  view.setBigUint64(88, BigInt(loadAddress), true);
  view.setBigUint64(96, BigInt(codeLength), true);
  view.setBigUint64(104, BigInt(codeLength), true);
  view.setBigUint64(112, BigInt(codeOffset), true);
  bytes.set(code, codeOffset);
  return bytes;
}

export interface TestMachineOptions extends Omit<MachineConfig, 'kernel' | 'bios'> {
  /** Encoded instructions; or a ProgramBuilder, built at its base. */
  program?: readonly number[] | ProgramBuilder;
  bios?: 'none' | 'builtin';
  /** Where the program goes (default: RAM start for bare boot, 0x80200000 for direct boot). */
  loadAddress?: number;
  /** Give S and U all of memory through PMP entry 0 (NAPOT, RWX), as firmware does. */
  openPmp?: boolean;
}

/** Default RAM for tests: small, but room for the DTB above a direct-boot kernel at 0x80200000. */
export const TEST_MEMORY_BYTES = 8 * 1024 * 1024;

/** A machine booting `program` (bare M-mode entry by default). */
export function createMachine(options: TestMachineOptions = {}): Machine {
  const { program, loadAddress, openPmp, bios = 'none', ...config } = options;
  const built = program instanceof ProgramBuilder;
  const address = loadAddress ?? (built ? Number(program.base) : bios === 'none' ? RAM_BASE : FIRMWARE_KERNEL_ADDRESS);
  const words = built ? program.words() : program ?? [];
  const machine = new Machine({
    memoryBytes: TEST_MEMORY_BYTES,
    // Unit tests count time in instructions (QEMU's -icount shift=0) and run without a host to pace waits.
    icountShift: 0,
    idle: 'skip',
    ...config,
    bios,
    kernel: { fileName: 'test-program.elf', bytes: buildElf(instructionBytes(words), address) },
  });
  if (openPmp === true) {
    for (const hart of machine.harts) {
      hart.pmp.writeAddress(0, -1, -1);
      hart.pmp.writeConfig(0, 0x1f);
      hart.pmp.rebuild();
    }
  }
  return machine;
}

/**
 * Executes exactly `count` instructions on one hart, counting one that traps as executed (its
 * trap is delivered; the handler's first instruction is not run). Interrupts are not sampled
 * and the run loop's clock is not involved: this is the single-instruction view. On a machine
 * with the translation tier (RINGSIDE_TIER unset or `auto`), the instruction runs translated
 * whenever the tier can take it (its page in the fetch TLB, the instruction translatable):
 * every instruction gets compiled at once, so the CPU tests check both tiers.
 */
export function step(machine: Machine, count = 1, hartId = 0): void {
  const hart = machine.harts[hartId];
  const mmu = machine.mmus[hartId];
  const translation = machine.translation;
  if (translation === null) {
    for (let i = 0; i < count; i++) runInterpreter(hart, mmu, machine.monitor, 1);
    return;
  }
  translation.translateEverything = true;
  try {
    for (let i = 0; i < count; i++) translation.run(hart, mmu, machine.monitor, 1);
  } finally {
    translation.translateEverything = false;
  }
}

/** Writes encoded instructions at a physical address. */
export function writeInstructions(machine: Machine, address: bigint | number, words: readonly number[]): void {
  if (!machine.writePhysical(BigInt(address), instructionBytes(words))) throw new Error(`cannot write code at ${address}`);
}

/** Places `words` at `address`, points the hart's pc there and executes `count` instructions (default: all of them). */
export function executeAt(machine: Machine, address: bigint | number, words: readonly number[], count = words.length, hartId = 0): Hart {
  writeInstructions(machine, address, words);
  const hart = machine.harts[hartId];
  hart.pc = BigInt(address);
  step(machine, count, hartId);
  return hart;
}

export function writeDoubleword(machine: Machine, address: bigint | number, value: bigint): void {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
  if (!machine.writePhysical(BigInt(address), bytes)) throw new Error(`cannot write at ${address}`);
}

export function readDoubleword(machine: Machine, address: bigint | number): bigint {
  const bytes = machine.readPhysical(BigInt(address), 8);
  if (bytes === undefined) throw new Error(`cannot read at ${address}`);
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

/** Switches a hart's privilege directly (as a trap or xRET would) and drops its cached translations. */
export function setPrivilege(machine: Machine, privilege: Privilege, hartId = 0): void {
  machine.harts[hartId].privilege = privilege;
  machine.mmus[hartId].flush();
}

/** A CSR as an unsigned 64-bit value, read through the monitor's register file (no side effects). */
export function readCsrValue(machine: Machine, csr: number, hartId = 0): bigint {
  readCsr(machine.harts[hartId], csr, machine.clint.mtime());
  return (BigInt(csrValue.hi >>> 0) << 32n) | BigInt(csrValue.lo >>> 0);
}

/** xorshift64* with a fixed seed, so every failure reproduces. */
export class SeededRandom {
  private state: bigint;

  constructor(seed: bigint) {
    this.state = BigInt.asUintN(64, seed) || 1n;
  }

  next64(): bigint {
    let x = this.state;
    x ^= x >> 12n;
    x ^= BigInt.asUintN(64, x << 25n);
    x ^= x >> 27n;
    this.state = x;
    return BigInt.asUintN(64, x * 0x2545f4914f6cdd1dn);
  }

  /** Integer in [0, bound). */
  below(bound: number): number {
    return Number(this.next64() % BigInt(bound));
  }

  pick<T>(values: readonly T[]): T {
    return values[this.below(values.length)];
  }
}

/** mcause value the helpers below preset, so an untouched mcause means "no trap". */
export const NO_TRAP = -1;

/** Where runInstructions places its code (one page above the RAM start). */
export const CODE_ADDRESS = 0x8000_1000n;

export interface Outcome {
  /** mcause (low word), or NO_TRAP. */
  cause: number;
  tval: bigint;
  epc: bigint;
  /** The hart's privilege afterwards. */
  privilege: Privilege;
}

const unsigned64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/** What the last step did to the M-mode trap CSRs. */
export function machineTrapOutcome(hart: Hart): Outcome {
  return {
    cause: hart.mcauseLo,
    tval: unsigned64(hart.mtvalLo, hart.mtvalHi),
    epc: unsigned64(hart.mepcLo, hart.mepcHi),
    privilege: hart.privilege,
  };
}

/**
 * Executes the instructions at CODE_ADDRESS in `privilege` (all of them, or `count`), with the
 * given registers set first, and reports the M-mode trap if one was taken.
 */
export function runInstructions(
  machine: Machine, privilege: Privilege, words: readonly number[], registers: ReadonlyArray<readonly [number, bigint]> = [],
  count = words.length,
): Outcome {
  const hart = machine.harts[0];
  setPrivilege(machine, privilege);
  hart.mcauseLo = NO_TRAP;
  for (const [register, value] of registers) hart.writeRegister(register, value);
  executeAt(machine, CODE_ADDRESS, words, count);
  return machineTrapOutcome(hart);
}
