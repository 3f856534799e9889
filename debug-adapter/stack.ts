// Call stacks of a hart: CFI unwinding through the symbol file that covers each frame's pc
// (with the frame-pointer fallback the symbol files implement, and a last-resort walk over
// s0 when no file covers the pc), and inlined functions as frames of their own. Below a trap
// handler's entry: a label frame naming the trap and the interrupted context (pc = xepc at
// the privilege in xPP), unwound further when its registers are known.

import type { DebugProtocol } from '@vscode/debugprotocol';
import type { PrivilegeName } from '../vmm-core/debug/debugger';
import { trapCause } from '../vmm-core/isa/csr-fields';
import type { AddressContext, SymbolBinding, SymbolSet } from './symbol-set';
import type { MemoryReader, RegisterReader } from './symbols/types';
import { hex, type Target } from './target';

/** Register values of one (physical) frame: x0..x31 where known, and pc. */
export interface FrameRegisters {
  readonly pc: bigint;
  /** Known values by register number; frame 0 knows all. */
  readonly registers: ReadonlyMap<number, bigint>;
}

export interface StackFrameInfo {
  readonly hartId: number;
  /** Index among physical (not inlined) frames. */
  readonly depth: number;
  /** How many inlined levels deep inside that physical frame (0 = the function itself). */
  readonly inlineDepth: number;
  readonly registers: FrameRegisters;
  readonly name: string;
  readonly source?: DebugProtocol.Source;
  readonly line: number;
  readonly column: number;
  readonly inlined: boolean;
  /** The symbol file the frame's pc belongs to (locals and frame base come from it). */
  readonly binding?: SymbolBinding;
  /** Unwinding method that produced the frame (for the frame's tooltip); 'trap' for the interrupted pc. */
  readonly method: 'current' | 'cfi' | 'frame-pointer' | 'return-address' | 'trap';
  /** How many trap boundaries lie above the frame (0: the hart's current context). */
  readonly trapLevel?: number;
  /** The privilege level the frame's code ran at, below a trap boundary. */
  readonly privilege?: PrivilegeName;
  /** A synthetic `[trap: ...]` frame marking a trap boundary (registers: those of the interrupted pc). */
  readonly trapLabel?: boolean;
}

const MAX_FRAMES = 64;

export function hartRegisters(target: Target, hartId: number): FrameRegisters {
  const hart = target.hart(hartId);
  const registers = new Map<number, bigint>();
  for (let index = 0; index < 32; index++) registers.set(index, BigInt.asUintN(64, hart.readRegister(index)));
  return { pc: hart.pc, registers };
}

export function registerReader(frame: FrameRegisters, pcOffset = 0n): RegisterReader {
  return {
    register: (index: number) => (index === 0 ? 0n : frame.registers.get(index) ?? 0n),
    pc: BigInt.asUintN(64, frame.pc - pcOffset),
  };
}

export function memoryReader(target: Target, hartId: number): MemoryReader {
  return (address, size) => target.readExact(hartId, { address: BigInt.asUintN(64, address), space: 'virtual' }, size);
}

/** Builds the frames of `hartId`, innermost first, across trap boundaries. */
export function unwindStack(target: Target, symbols: SymbolSet | undefined, hartId: number, context: AddressContext): StackFrameInfo[] {
  const frames: StackFrameInfo[] = [];
  let registers: FrameRegisters = hartRegisters(target, hartId);
  let known = true;
  let method: StackFrameInfo['method'] = 'current';
  let level = context;
  for (let trapLevel = 0; trapLevel < 4 && frames.length < MAX_FRAMES; trapLevel++) {
    const entry = unwindContext(target, symbols, hartId, level, registers, known, method, trapLevel, frames);
    if (entry === undefined) break;
    const trap = trapTaken(target, hartId, level.privilege);
    if (trap === undefined) break;
    // At the vector's first instruction nothing is changed yet: every register but pc is the
    // interrupted code's. Further in, only the pc (xepc) is known for sure.
    const interrupted: FrameRegisters = { pc: trap.epc, registers: entry.untouched ? entry.registers.registers : new Map() };
    const depth = frames[frames.length - 1].depth + 1;
    frames.push({
      hartId, depth, inlineDepth: 0, registers: interrupted, name: `[trap: ${trap.words} from ${trap.from}-mode]`,
      line: 0, column: 0, inlined: false, method: 'trap', trapLevel: trapLevel + 1, privilege: trap.from, trapLabel: true,
    });
    registers = interrupted;
    known = entry.untouched;
    method = 'trap';
    level = { privilege: trap.from, satp: level.satp };
  }
  return frames;
}

/**
 * Appends the frames of one privilege context (from `start`, whose pc is exact) and returns
 * the trap entry frame it ends at, if it does. `known`: whether start's registers are known
 * (else only its own frame is shown).
 */
function unwindContext(
  target: Target, symbols: SymbolSet | undefined, hartId: number, context: AddressContext, start: FrameRegisters, known: boolean,
  firstMethod: StackFrameInfo['method'], trapLevel: number, frames: StackFrameInfo[],
): { registers: FrameRegisters; untouched: boolean } | undefined {
  let current = start;
  let method = firstMethod;
  const privilege = trapLevel > 0 ? context.privilege : undefined;
  const firstDepth = frames.length === 0 ? 0 : frames[frames.length - 1].depth + 1;
  const memory = memoryReader(target, hartId);
  for (let index = 0; frames.length < MAX_FRAMES; index++) {
    const depth = firstDepth + index;
    // A caller's pc is the return address: look up the call instruction before it.
    const lookup = index === 0 ? current.pc : current.pc - 1n;
    const located = symbols?.locate(lookup, context);
    const chain = located?.binding.file.functionsAt(located.link) ?? [];
    const row = located?.binding.file.locationAt(located.link);
    if (chain.length === 0) {
      const name = symbols?.symbolize(lookup, context) ?? hex(current.pc);
      frames.push({
        hartId, depth, inlineDepth: 0, registers: current, name, line: row?.line ?? 0, column: row?.column ?? 0,
        source: row !== undefined ? symbols!.source(row) : undefined, inlined: false, binding: located?.binding, method, trapLevel, privilege,
      });
    } else {
      // Innermost inlined body first; each one's location in its caller is its call site.
      let location = row;
      chain.forEach((entry, inlineDepth) => {
        frames.push({
          hartId, depth, inlineDepth, registers: current,
          name: entry.inlined ? `${entry.function.name} [inlined]` : entry.function.name,
          source: location !== undefined ? symbols!.source(location) : undefined,
          line: location?.line ?? 0, column: location?.column ?? 0,
          inlined: entry.inlined, binding: located!.binding, method, trapLevel, privilege,
        });
        location = entry.callSite !== undefined ? { ...entry.callSite, address: 0n, isStatement: true } : undefined;
      });
    }
    // The trap vector's code was entered by a trap, not a call: the interrupted context is below.
    const functionStart = located === undefined ? undefined : chain[chain.length - 1]?.function.lowPc ?? located.binding.file.symbolAt(located.link)?.address;
    const vector = trapVector(target, hartId, context, functionStart, located?.binding.offset ?? 0n, current.pc);
    if (vector !== undefined) return { registers: current, untouched: known && index === 0 && vector.atEntry };
    if (!known) return undefined;
    const caller = located !== undefined
      ? located.binding.file.unwind(registerReader(current, located.binding.offset + (index === 0 ? 0n : 1n)), memory)
      : framePointerUnwind(current, memory);
    if (caller === undefined) return undefined;
    const callerPc = BigInt.asUintN(64, caller.pc);
    const sp = current.registers.get(2) ?? 0n;
    // No progress, or ran off the end: stop.
    if (callerPc === 0n || (callerPc === current.pc && caller.sp === sp) || caller.sp < sp) return undefined;
    const registers = new Map<number, bigint>();
    // Callee-saved registers (s0-s11, sp, gp, tp) survive calls: keep what is not recovered.
    for (const index of [3, 4, 8, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27]) {
      const value = current.registers.get(index);
      if (value !== undefined) registers.set(index, value);
    }
    for (const [index, value] of caller.registers) registers.set(index, BigInt.asUintN(64, value));
    registers.set(2, BigInt.asUintN(64, caller.sp));
    current = { pc: callerPc, registers };
    method = caller.method;
  }
  return undefined;
}

/** The trap that entered `level` (its handler's xepc, xcause and xPP), as the hart's CSRs describe it. */
function trapTaken(target: Target, hartId: number, level: PrivilegeName): { epc: bigint; words: string; from: PrivilegeName } | undefined {
  if (level === 'U') return undefined;
  const hart = target.hart(hartId);
  const join = (low: number, high: number) => (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  const [epc, cause] = level === 'M' ? [join(hart.mepcLo, hart.mepcHi), join(hart.mcauseLo, hart.mcauseHi)] : [join(hart.sepcLo, hart.sepcHi), join(hart.scauseLo, hart.scauseHi)];
  const interrupt = cause >> 63n === 1n;
  const code = cause & ~(1n << 63n);
  const words = trapCause(interrupt, code)?.label ?? `${interrupt ? 'interrupt' : 'exception'} ${code}`;
  const from: PrivilegeName = level === 'M'
    ? (['U', 'S', 'S', 'M'] as const)[(hart.mstatus >>> 11) & 3]
    : (hart.mstatus >>> 8) & 1 ? 'S' : 'U';
  // "ecall from U-mode" already names the level.
  return { epc, words: words.replace(/ from [USM]-mode$/, ''), from };
}

/**
 * Whether `pc` (in a function starting at link address `functionStart`) is in the trap vector
 * of the context's level; `atEntry` when it is the vector's first instruction (or a vectored
 * mode's jump).
 */
function trapVector(target: Target, hartId: number, context: AddressContext, functionStart: bigint | undefined, offset: bigint, pc: bigint): { atEntry: boolean } | undefined {
  if (context.privilege === 'U') return undefined;
  const hart = target.hart(hartId);
  const [low, high] = context.privilege === 'M' ? [hart.mtvecLo, hart.mtvecHi] : [hart.stvecLo, hart.stvecHi];
  const vector = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  const base = vector & ~3n;
  if (base === 0n) return undefined;
  // Vectored: one jump per cause at base + 4 * cause.
  const vectored = (vector & 3n) === 1n && pc >= base && pc < base + 4n * 64n;
  if (vectored) return { atEntry: true };
  if (functionStart !== undefined && functionStart + offset === base) return { atEntry: pc === base };
  return undefined;
}

/** GCC's RISC-V frame layout with a frame pointer: ra at s0-8, the caller's s0 at s0-16. */
function framePointerUnwind(frame: FrameRegisters, memory: MemoryReader): { pc: bigint; sp: bigint; registers: Map<number, bigint>; method: 'frame-pointer' } | undefined {
  const framePointer = frame.registers.get(8);
  const sp = frame.registers.get(2);
  if (framePointer === undefined || sp === undefined || framePointer <= sp || (framePointer & 7n) !== 0n || framePointer - sp > 0x100000n) return undefined;
  const read = (address: bigint) => {
    const bytes = memory(address, 8);
    if (bytes === undefined) return undefined;
    return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  };
  const returnAddress = read(framePointer - 8n);
  const callerFramePointer = read(framePointer - 16n);
  if (returnAddress === undefined || callerFramePointer === undefined) return undefined;
  return { pc: returnAddress, sp: framePointer, registers: new Map([[8, callerFramePointer], [1, returnAddress]]), method: 'frame-pointer' };
}
