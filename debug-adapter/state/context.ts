// The expression context of a stopped machine: registers and CSRs of one hart, memory read
// through that hart's current translation (without side effects) or physically, and symbols
// and extra names from the caller.

import { walkForDebugger } from '../../vmm-core/debug/debugger';
import { parseFloatRegister, parseIntegerRegister } from '../../vmm-core/isa/registers';
import type { Machine } from '../../vmm-core/machine/machine';
import { csrExists } from '../../vmm-core/monitor/csr';
import type { ExpressionContext } from './expression';
import { readControlRegister, resolveCsrName } from './registers';

export interface MachineContextOptions {
  /** Symbol name → address (kernel globals, functions). */
  symbol?: (name: string) => bigint | undefined;
  /** Names looked up before anything else (cause, tval, epc, hart for exception-filter conditions). */
  extra?: (name: string) => bigint | undefined;
}

/**
 * Reads `size` bytes at a virtual address as hart `hartId` sees it now, page by page, without
 * touching A/D bits or TLBs; undefined when any byte is unmapped or not RAM.
 */
export function readVirtual(machine: Machine, hartId: number, address: bigint, size: number): Uint8Array | undefined {
  const hart = machine.harts[hartId];
  if (hart === undefined || size < 0) return undefined;
  const result = new Uint8Array(size);
  let done = 0;
  while (done < size) {
    const virtual = BigInt.asUintN(64, address + BigInt(done));
    const chunk = Math.min(size - done, 4096 - Number(virtual & 0xfffn));
    const physical = walkForDebugger(machine, hart, virtual);
    const bytes = physical === undefined ? undefined : machine.readPhysical(physical, chunk);
    if (bytes === undefined) return undefined;
    result.set(bytes, done);
    done += chunk;
  }
  return result;
}

/** An ExpressionContext over hart `hartId` of a stopped machine. */
export function machineExpressionContext(machine: Machine, hartId: number, options: MachineContextOptions = {}): ExpressionContext {
  const hart = machine.harts[hartId];
  if (hart === undefined) throw new Error(`no hart ${hartId}`);
  return {
    register(name) {
      const lower = name.toLowerCase();
      if (lower === 'pc') return hart.pc;
      const index = parseIntegerRegister(lower);
      if (index !== undefined) return BigInt.asUintN(64, hart.readRegister(index));
      // A floating-point register reads as its raw 64 bits, as the Floating point scope shows them.
      const float = parseFloatRegister(lower);
      if (float === undefined) return undefined;
      return (BigInt(hart.floatBits[2 * float + 1] >>> 0) << 32n) | BigInt(hart.floatBits[2 * float] >>> 0);
    },
    csr(name) {
      const number = resolveCsrName(name);
      // Numbers are not CSR names here: `0x300` is a literal.
      if (number === undefined || /^[0-9]/.test(name) || !csrExists(number)) return undefined;
      return readControlRegister(machine, hartId, number);
    },
    readMemory(address, size, physical) {
      return physical ? machine.readPhysical(address, size) : readVirtual(machine, hartId, address, size);
    },
    symbol: (name) => options.symbol?.(name),
    extra: (name) => options.extra?.(name),
  };
}
