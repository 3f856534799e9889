// Call stacks of a hart: CFI unwinding through the symbol file that covers each frame's pc
// (with the frame-pointer fallback the symbol files implement, and a last-resort walk over
// s0 when no file covers the pc), and inlined functions as frames of their own.

import type { DebugProtocol } from '@vscode/debugprotocol';
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
  /** Unwinding method that produced the frame (for the frame's tooltip). */
  readonly method: 'current' | 'cfi' | 'frame-pointer' | 'return-address';
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

/** Builds the frames of `hartId`, innermost first. */
export function unwindStack(target: Target, symbols: SymbolSet | undefined, hartId: number, context: AddressContext): StackFrameInfo[] {
  const frames: StackFrameInfo[] = [];
  let current: FrameRegisters = hartRegisters(target, hartId);
  let method: StackFrameInfo['method'] = 'current';
  const memory = memoryReader(target, hartId);
  for (let depth = 0; depth < MAX_FRAMES; depth++) {
    // A caller's pc is the return address: look up the call instruction before it.
    const lookup = depth === 0 ? current.pc : current.pc - 1n;
    const located = symbols?.locate(lookup, context);
    const chain = located?.binding.file.functionsAt(located.link) ?? [];
    const row = located?.binding.file.locationAt(located.link);
    if (chain.length === 0) {
      const name = symbols?.symbolize(lookup, context) ?? hex(current.pc);
      frames.push({
        hartId, depth, inlineDepth: 0, registers: current, name, line: row?.line ?? 0, column: row?.column ?? 0,
        source: row !== undefined ? symbols!.source(row) : undefined, inlined: false, binding: located?.binding, method,
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
          inlined: entry.inlined, binding: located!.binding, method,
        });
        location = entry.callSite !== undefined ? { ...entry.callSite, address: 0n, isStatement: true } : undefined;
      });
    }
    // The trap vector's code was entered by a trap, not a call: nothing to unwind into.
    if (isTrapEntry(target, hartId, context, located === undefined ? undefined : chain[chain.length - 1]?.function.lowPc ?? located.binding.file.symbolAt(located.link)?.address, located?.binding.offset ?? 0n, current.pc)) break;
    const caller = located !== undefined
      ? located.binding.file.unwind(registerReader(current, located.binding.offset + (depth === 0 ? 0n : 1n)), memory)
      : framePointerUnwind(current, memory);
    if (caller === undefined) break;
    const callerPc = BigInt.asUintN(64, caller.pc);
    const sp = current.registers.get(2) ?? 0n;
    // No progress, or ran off the end: stop.
    if (callerPc === 0n || (callerPc === current.pc && caller.sp === sp) || caller.sp < sp) break;
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
  return frames;
}

/** Whether `pc` (in a function starting at link address `functionStart`) is the trap vector of the hart's level. */
function isTrapEntry(target: Target, hartId: number, context: AddressContext, functionStart: bigint | undefined, offset: bigint, pc: bigint): boolean {
  if (context.privilege === 'U') return false;
  const hart = target.hart(hartId);
  const [low, high] = context.privilege === 'M' ? [hart.mtvecLo, hart.mtvecHi] : [hart.stvecLo, hart.stvecHi];
  const vector = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  const base = vector & ~3n;
  if (base === 0n) return false;
  if (functionStart !== undefined && functionStart + offset === base) return true;
  // Vectored: one jump per cause at base + 4 * cause.
  return (vector & 3n) === 1n && pc >= base && pc < base + 4n * 64n;
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
