// Page tables built in guest RAM by tests (Sv39, Sv48, Sv57), tables allocated from a pool as
// mappings need them. Shared by the MMU tests and the debugger's page-walk tests.

import type { Machine } from '../../vmm-core/machine/machine';
import { readDoubleword, writeDoubleword } from './assemble';

export const PTE_V = 1n, PTE_R = 2n, PTE_W = 4n, PTE_X = 8n, PTE_U = 16n, PTE_G = 32n, PTE_A = 64n, PTE_D = 128n;
export const DEFAULT_TABLE_POOL = 0x8010_0000n;

export class PageTables {
  readonly root: bigint;
  private nextTable: bigint;
  readonly levels: number;

  constructor(private readonly machine: Machine, readonly mode: 8 | 9 | 10, pool = DEFAULT_TABLE_POOL) {
    this.levels = mode - 5;
    this.nextTable = pool;
    this.root = this.allocate();
  }

  private allocate(): bigint {
    const table = this.nextTable;
    this.nextTable += 0x1000n;
    this.machine.writePhysical(table, new Uint8Array(4096));
    return table;
  }

  static index(virtual: bigint, level: number): bigint {
    return (virtual >> BigInt(12 + 9 * level)) & 0x1ffn;
  }

  /** Address of the PTE for `virtual` at `level`, creating the intermediate tables. */
  entryAddress(virtual: bigint, level: number): bigint {
    let table = this.root;
    for (let current = this.levels - 1; current > level; current--) {
      const address = table + PageTables.index(virtual, current) * 8n;
      let pte = readDoubleword(this.machine, address);
      if ((pte & PTE_V) === 0n) {
        pte = ((this.allocate() >> 12n) << 10n) | PTE_V;
        writeDoubleword(this.machine, address, pte);
      }
      table = ((pte >> 10n) & ((1n << 44n) - 1n)) << 12n;
    }
    return table + PageTables.index(virtual, level) * 8n;
  }

  /** Maps a page of level 0 (4K), 1 (2M), 2 (1G), 3 (512G) or 4 (256T); returns the leaf PTE's address. */
  map(virtual: bigint, physical: bigint, level: number, flags: bigint): bigint {
    const address = this.entryAddress(virtual, level);
    writeDoubleword(this.machine, address, ((physical >> 12n) << 10n) | flags | PTE_V);
    return address;
  }

  /** Writes a raw PTE value (invalid or malformed ones included). */
  setEntry(virtual: bigint, level: number, pte: bigint): bigint {
    const address = this.entryAddress(virtual, level);
    writeDoubleword(this.machine, address, pte);
    return address;
  }

  get satp(): bigint {
    return (BigInt(this.mode) << 60n) | (this.root >> 12n);
  }
}
