// The machine as the adapter sees it: harts, memory through a hart's page tables or
// physically (side-effect free: no A/D updates, no TLB fills), instruction fetch for
// stepping and disassembly. Everything here is read while the machine is stopped.

import { Privilege, privilegeName } from '../vmm-core/cpu/csr-numbers';
import type { Hart } from '../vmm-core/cpu/hart';
import { walkForDebugger, type Debugger, type PrivilegeName } from '../vmm-core/debug/debugger';
import { DecodedInstruction, decodeInstruction } from '../vmm-core/isa/decoder';
import { Operation } from '../vmm-core/isa/operations';
import type { Machine } from '../vmm-core/machine/machine';

export type AddressSpace = 'virtual' | 'physical';

/** An address with the space it lives in, as memory references spell it ("phys:0x8000..."). */
export interface SpacedAddress {
  readonly address: bigint;
  readonly space: AddressSpace;
}

const PAGE = 4096n;

export const hex = (value: bigint, digits = 0): string => `0x${BigInt.asUintN(64, value).toString(16).padStart(digits, '0')}`;

/** Parses "0x80001000", "2147483648", "phys:0x80001000", "virt:0x..." into an address and its space. */
export function parseMemoryReference(reference: string, defaultSpace: AddressSpace): SpacedAddress | undefined {
  const match = /^\s*(?:(phys|virt|physical|virtual):\s*)?(0[xX][0-9a-fA-F]+|[0-9]+)\s*$/.exec(reference);
  if (match === null) return undefined;
  const space: AddressSpace = match[1] === undefined ? defaultSpace : match[1].startsWith('phys') ? 'physical' : 'virtual';
  return { address: BigInt.asUintN(64, BigInt(match[2])), space };
}

export function formatMemoryReference(address: SpacedAddress): string {
  return `${address.space === 'physical' ? 'phys:' : ''}${hex(address.address)}`;
}

/** What a decoded instruction means for stepping. */
export type ControlKind = 'call' | 'return' | 'ecall' | 'other';

export class Target {
  private readonly scratch = new DecodedInstruction();

  constructor(readonly machine: Machine, readonly debug: Debugger) {}

  get harts(): readonly Hart[] {
    return this.machine.harts;
  }

  hart(hartId: number): Hart {
    const hart = this.machine.harts[hartId];
    if (hart === undefined) throw new Error(`there is no hart ${hartId} (the machine has ${this.machine.harts.length})`);
    return hart;
  }

  privilegeOf(hartId: number): PrivilegeName {
    return privilegeName(this.hart(hartId).privilege);
  }

  satpOf(hartId: number): bigint {
    const hart = this.hart(hartId);
    return (BigInt(hart.satpHi >>> 0) << 32n) | BigInt(hart.satpLo >>> 0);
  }

  /** The physical address `address` maps to on `hartId` now, or undefined when unmapped. */
  translate(hartId: number, address: bigint): bigint | undefined {
    return walkForDebugger(this.machine, this.hart(hartId), BigInt.asUintN(64, address));
  }

  /** Physical address of `address` in `space` (undefined when it is not mapped). */
  toPhysical(hartId: number, address: SpacedAddress): bigint | undefined {
    return address.space === 'physical' ? address.address : this.translate(hartId, address.address);
  }

  /**
   * Reads up to `length` bytes page by page; stops at the first byte that cannot be read.
   * Returns the bytes read (possibly fewer than asked).
   */
  read(hartId: number, start: SpacedAddress, length: number): Uint8Array {
    const result = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const address = BigInt.asUintN(64, start.address + BigInt(done));
      const inPage = Number(PAGE - (address % PAGE));
      const chunk = Math.min(inPage, length - done);
      const physical = this.toPhysical(hartId, { address, space: start.space });
      const bytes = physical === undefined ? undefined : this.machine.readPhysical(physical, chunk);
      if (bytes === undefined) break;
      result.set(bytes, done);
      done += chunk;
    }
    return result.subarray(0, done);
  }

  /** Reads exactly `length` bytes or returns undefined. */
  readExact(hartId: number, start: SpacedAddress, length: number): Uint8Array | undefined {
    const bytes = this.read(hartId, start, length);
    return bytes.length === length ? bytes : undefined;
  }

  /** Writes page by page; returns how many bytes were written before the first unwritable one. */
  write(hartId: number, start: SpacedAddress, data: Uint8Array): number {
    let done = 0;
    while (done < data.length) {
      const address = BigInt.asUintN(64, start.address + BigInt(done));
      const chunk = Math.min(Number(PAGE - (address % PAGE)), data.length - done);
      const physical = this.toPhysical(hartId, { address, space: start.space });
      if (physical === undefined || !this.machine.writePhysical(physical, data.subarray(done, done + chunk))) break;
      done += chunk;
    }
    return done;
  }

  readUnsigned(hartId: number, address: SpacedAddress, size: number): bigint | undefined {
    const bytes = this.readExact(hartId, address, size);
    if (bytes === undefined) return undefined;
    let value = 0n;
    for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
    return value;
  }

  /** Instruction bits at a virtual address (as the hart would fetch them now). */
  fetch(hartId: number, address: bigint): { raw: number; length: 2 | 4 } | undefined {
    const low = this.readExact(hartId, { address, space: 'virtual' }, 2);
    if (low === undefined) return undefined;
    const first = low[0] | (low[1] << 8);
    if ((first & 3) !== 3) return { raw: first, length: 2 };
    const high = this.readExact(hartId, { address: address + 2n, space: 'virtual' }, 2);
    if (high === undefined) return undefined;
    return { raw: (first | (high[0] << 16) | (high[1] << 24)) >>> 0, length: 4 };
  }

  /** How the instruction at `pc` transfers control, for stepping over calls and ecalls. */
  controlKind(hartId: number, pc: bigint): { kind: ControlKind; length: 2 | 4 } | undefined {
    const bits = this.fetch(hartId, pc);
    if (bits === undefined) return undefined;
    const decoded = this.scratch;
    if (!decodeInstruction(bits.raw, decoded)) return { kind: 'other', length: bits.length };
    switch (decoded.operation) {
      case Operation.Ecall:
        return { kind: 'ecall', length: bits.length };
      case Operation.Jal:
        // The psABI's link registers are ra and t0 (alternate link).
        return { kind: decoded.rd === 1 || decoded.rd === 5 ? 'call' : 'other', length: bits.length };
      case Operation.Jalr:
        if (decoded.rd === 1 || decoded.rd === 5) return { kind: 'call', length: bits.length };
        if (decoded.rd === 0 && (decoded.rs1 === 1 || decoded.rs1 === 5) && decoded.imm === 0) return { kind: 'return', length: bits.length };
        return { kind: 'other', length: bits.length };
      default:
        return { kind: 'other', length: bits.length };
    }
  }

  /** Whether a trap just taken on `hartId` was an interrupt, from the cause CSR of its current level. */
  lastTrapWasInterrupt(hartId: number): boolean {
    const hart = this.hart(hartId);
    const high = hart.privilege === Privilege.Machine ? hart.mcauseHi : hart.scauseHi;
    return (high >>> 31) === 1;
  }

  /** The epc of the trap just taken on `hartId` (mepc or sepc, by its current level). */
  lastTrapEpc(hartId: number): bigint {
    const hart = this.hart(hartId);
    const [low, high] = hart.privilege === Privilege.Machine ? [hart.mepcLo, hart.mepcHi] : [hart.sepcLo, hart.sepcHi];
    return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  }
}
