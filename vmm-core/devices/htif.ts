// HTIF (the Berkeley host-target interface used by riscv-tests and spike-style programs): not a
// bus device but a watcher of the `tohost`/`fromhost` words in RAM, polled after each slice.

import { SnapshotError, type StateReader, type StateRecord } from '../machine/state';
import type { GuestRam } from '../memory/ram';

export interface HtifOptions {
  ram: GuestRam;
  /** Physical address of `tohost` (from the ELF symbol table). */
  tohost: number;
  /** Physical address of `fromhost`, when the program has one. */
  fromhost?: number;
  /** Device 0 exit: code = payload >> 1 (0 means the test passed). */
  onExit: (code: number) => void;
  /** Device 1 command 1, and SYS_write to fd 1 or 2 through the syscall proxy. */
  onConsoleOutput: (byte: number) => void;
}

/** Anything with an ELF-style symbol lookup (see machine/elf.ts). */
export interface SymbolLookup {
  findSymbol(name: string): { readonly value: number } | undefined;
}

/** The HTIF addresses of a program, or undefined when it has no `tohost` symbol. */
export function findHtifSymbols(symbols: SymbolLookup): { tohost: number; fromhost?: number } | undefined {
  const tohost = symbols.findSymbol('tohost');
  if (tohost === undefined) return undefined;
  const fromhost = symbols.findSymbol('fromhost');
  return fromhost === undefined ? { tohost: tohost.value } : { tohost: tohost.value, fromhost: fromhost.value };
}

const TWO_POW_32 = 0x1_0000_0000;
const SYS_WRITE = 64;
const ENOSYS = 38;

/**
 * A non-zero tohost is handled once, then tohost is cleared; replies go to fromhost when it
 * is zero (queued otherwise), as spike does: putchar answers (1<<56)|(1<<48)|0x100|char, the
 * syscall proxy answers 1.
 *
 * Split stores: programs may write tohost as two 32-bit stores, low word first, and a poll can
 * fall between them. A value whose high word is zero (device 0) is therefore only acted on
 * when it is seen unchanged by two consecutive polls; exit loops keep rewriting tohost, so this
 * costs one slice, and a half-written putchar is never mistaken for an exit.
 */
export class Htif {
  private readonly ram: GuestRam;
  private readonly tohost: number;
  private readonly fromhost: number | undefined;
  private readonly onExit: (code: number) => void;
  private readonly onConsoleOutput: (byte: number) => void;
  private seenLow = 0;
  private seenHigh = 0;
  private readonly replies: Array<[low: number, high: number]> = [];
  /** Set once the program has asked to exit. */
  exitCode: number | undefined;

  constructor(options: HtifOptions) {
    const { ram, tohost, fromhost } = options;
    if (!ram.contains(tohost, 8) || tohost % 8 !== 0) {
      throw new Error(`HTIF: tohost at 0x${tohost.toString(16)} is not an aligned doubleword in RAM`);
    }
    if (fromhost !== undefined && (!ram.contains(fromhost, 8) || fromhost % 8 !== 0)) {
      throw new Error(`HTIF: fromhost at 0x${fromhost.toString(16)} is not an aligned doubleword in RAM`);
    }
    this.ram = ram;
    this.tohost = tohost;
    this.fromhost = fromhost;
    this.onExit = options.onExit;
    this.onConsoleOutput = options.onConsoleOutput;
  }

  /** Where the program's tohost and fromhost words are (for debuggers). */
  get addresses(): { tohost: number; fromhost: number | undefined } {
    return { tohost: this.tohost, fromhost: this.fromhost };
  }

  /** Forgets an earlier exit and any queued replies (machine reset). */
  reset(): void {
    this.exitCode = undefined;
    this.seenLow = this.seenHigh = 0;
    this.replies.length = 0;
  }

  /** The half-seen tohost value, replies not yet delivered and an exit asked for, for snapshots. */
  saveState(): StateRecord {
    return {
      seenLow: this.seenLow, seenHigh: this.seenHigh, replies: this.replies.map(([low, high]) => [low, high]),
      exitCode: this.exitCode ?? null,
    };
  }

  /** Puts back what saveState returned (checked first). */
  restoreState(state: StateReader): void {
    const seenLow = state.int32('seenLow');
    const seenHigh = state.int32('seenHigh');
    const replies = state.array('replies', undefined, 1 << 16).map((reply, index): [number, number] => {
      if (!Array.isArray(reply) || reply.length !== 2 || !reply.every((word) => typeof word === 'number' && Number.isInteger(word))) {
        throw new SnapshotError(`${state.path}.replies[${index}]: expected two words`);
      }
      return [reply[0] as number, reply[1] as number];
    });
    const exitCode = state.nullableInteger('exitCode', -(2 ** 64), 2 ** 64);
    this.seenLow = seenLow;
    this.seenHigh = seenHigh;
    this.replies.length = 0;
    this.replies.push(...replies);
    this.exitCode = exitCode ?? undefined;
  }

  /** Looks at tohost once (nothing more after an exit); returns true when a command was handled. */
  poll(): boolean {
    if (this.exitCode !== undefined) return false;
    this.flushReplies();
    const offset = this.tohost - this.ram.base;
    const low = this.ram.readUnaligned(offset, 4);
    const high = this.ram.readUnaligned(offset + 4, 4);
    if (low === 0 && high === 0) {
      this.seenLow = this.seenHigh = 0;
      return false;
    }
    if (high === 0 && (low !== this.seenLow || high !== this.seenHigh)) {
      // Possibly the first half of a split store: wait for the next poll.
      this.seenLow = low;
      this.seenHigh = high;
      return false;
    }
    this.seenLow = this.seenHigh = 0;
    this.ram.writeUnaligned(offset, 4, 0);
    this.ram.writeUnaligned(offset + 4, 4, 0);
    this.handle(high >>> 24, (high >>> 16) & 0xff, (high & 0xffff) * TWO_POW_32 + low);
    this.flushReplies();
    return true;
  }

  private handle(device: number, command: number, payload: number): void {
    if (device === 0 && command === 0) {
      if (payload % 2 === 1) {
        this.exitCode = Math.floor(payload / 2);
        this.onExit(this.exitCode);
      } else {
        this.syscall(payload);
      }
    } else if (device === 1 && command === 1) {
      const character = payload & 0xff;
      this.onConsoleOutput(character);
      this.replies.push([0x100 | character, 0x0101_0000]);
    }
    // Other devices and commands (console input, block devices) are not provided.
  }

  /** The proxy-kernel syscall interface: payload points at 8 doublewords [number, args...]. */
  private syscall(address: number): void {
    if (!this.ram.contains(address, 64)) return;
    const base = address - this.ram.base;
    const argument = (index: number): number =>
      this.ram.readUnaligned(base + 8 * index + 4, 4) * TWO_POW_32 + this.ram.readUnaligned(base + 8 * index, 4);
    const number = argument(0);
    let result = -ENOSYS;
    if (number === SYS_WRITE) {
      const fileDescriptor = argument(1);
      const buffer = argument(2);
      const length = argument(3);
      if ((fileDescriptor === 1 || fileDescriptor === 2) && this.ram.contains(buffer, length)) {
        for (let index = 0; index < length; index++) this.onConsoleOutput(this.ram.bytes[buffer - this.ram.base + index]);
        result = length;
      } else {
        result = -9; // EBADF / EFAULT: nothing written
      }
    }
    this.ram.writeUnaligned(base, 4, result >>> 0);
    this.ram.writeUnaligned(base + 4, 4, result < 0 ? 0xffff_ffff : Math.floor(result / TWO_POW_32));
    this.replies.push([1, 0]);
  }

  private flushReplies(): void {
    if (this.fromhost === undefined) {
      this.replies.length = 0;
      return;
    }
    const offset = this.fromhost - this.ram.base;
    while (this.replies.length > 0 && this.ram.readUnaligned(offset, 4) === 0 && this.ram.readUnaligned(offset + 4, 4) === 0) {
      const [low, high] = this.replies.shift()!;
      this.ram.writeUnaligned(offset, 4, low);
      this.ram.writeUnaligned(offset + 4, 4, high);
    }
  }
}
