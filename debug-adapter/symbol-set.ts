// Several symbol files at once (the kernel, firmware, user programs), each with a load
// offset and optionally the privilege level or address space it belongs to. The file used
// for an address is the most specific one that matches the hart's privilege and satp and
// has information for that address. Also turns DWARF source paths into local ones.

import { basename, isAbsolute, normalize, resolve as resolvePath } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { PrivilegeName } from '../vmm-core/debug/debugger';
import type { FunctionInfo, InlinedFrame, LineRow, SourceLocation, SymbolFile } from './symbols/types';

export interface SymbolBinding {
  readonly file: SymbolFile;
  /** Runtime address minus link address. */
  readonly offset: bigint;
  readonly privilege?: PrivilegeName;
  readonly asid?: number;
  readonly satp?: bigint;
}

/** Where an address is looked up: the hart's privilege level and satp. */
export interface AddressContext {
  readonly privilege: PrivilegeName;
  readonly satp: bigint;
}

export interface Located {
  readonly binding: SymbolBinding;
  /** The address as the file was linked. */
  readonly link: bigint;
}

const ASID_SHIFT = 44n;
const ASID_MASK = 0xffffn;

function specificity(binding: SymbolBinding): number {
  return (binding.satp !== undefined ? 4 : 0) + (binding.asid !== undefined ? 2 : 0) + (binding.privilege !== undefined ? 1 : 0);
}

export class SymbolSet {
  private readonly bindings: SymbolBinding[];
  constructor(
    bindings: readonly SymbolBinding[],
    /** What relative DWARF source paths resolve against: a directory, or a resolver (see source-root.ts). */
    private readonly sourceDirectory: string | ((relativePath: string) => string),
  ) {
    // Most specific first; among equals, the order given (the program first).
    this.bindings = [...bindings].sort((a, b) => specificity(b) - specificity(a));
  }

  get files(): readonly SymbolBinding[] {
    return this.bindings;
  }

  private matchesContext(binding: SymbolBinding, context: AddressContext | undefined): boolean {
    if (context === undefined) return true;
    if (binding.privilege !== undefined && binding.privilege !== context.privilege) return false;
    if (binding.satp !== undefined && BigInt.asUintN(64, binding.satp) !== BigInt.asUintN(64, context.satp)) return false;
    if (binding.asid !== undefined && BigInt(binding.asid) !== ((context.satp >> ASID_SHIFT) & ASID_MASK)) return false;
    return true;
  }

  /** The file with debug information (then: with an ELF symbol) for `address` in `context`. */
  locate(address: bigint, context?: AddressContext): Located | undefined {
    const candidates = this.bindings.filter((binding) => this.matchesContext(binding, context));
    for (const binding of candidates) {
      const link = BigInt.asUintN(64, address - binding.offset);
      if (binding.file.functionsAt(link).length > 0 || binding.file.locationAt(link) !== undefined) return { binding, link };
    }
    for (const binding of candidates) {
      const link = BigInt.asUintN(64, address - binding.offset);
      const symbol = binding.file.symbolAt(link);
      if (symbol !== undefined && (symbol.size === 0 || link < symbol.address + BigInt(symbol.size))) return { binding, link };
    }
    return undefined;
  }

  locationAt(address: bigint, context?: AddressContext): (LineRow & { runtimeAddress: bigint }) | undefined {
    const located = this.locate(address, context);
    const row = located?.binding.file.locationAt(located.link);
    return row === undefined ? undefined : { ...row, runtimeAddress: row.address + located!.binding.offset };
  }

  functionsAt(address: bigint, context?: AddressContext): readonly InlinedFrame[] {
    const located = this.locate(address, context);
    return located === undefined ? [] : located.binding.file.functionsAt(located.link);
  }

  /** The outermost (not inlined) function at `address`, with runtime bounds. */
  functionAt(address: bigint, context?: AddressContext): { name: string; lowPc: bigint; highPc: bigint } | undefined {
    const located = this.locate(address, context);
    if (located === undefined) return undefined;
    const chain = located.binding.file.functionsAt(located.link);
    const outer = [...chain].reverse().find((frame) => !frame.inlined) ?? chain[chain.length - 1];
    if (outer !== undefined) {
      return { name: outer.function.name, lowPc: outer.function.lowPc + located.binding.offset, highPc: outer.function.highPc + located.binding.offset };
    }
    const symbol = located.binding.file.symbolAt(located.link);
    if (symbol === undefined) return undefined;
    const low = symbol.address + located.binding.offset;
    return { name: symbol.name, lowPc: low, highPc: low + BigInt(Math.max(symbol.size, 1)) };
  }

  /** "name+0x12" for an address, or undefined when no symbol covers it. */
  symbolize(address: bigint, context?: AddressContext): string | undefined {
    const located = this.locate(address, context);
    const symbol = located?.binding.file.symbolAt(located.link);
    if (symbol === undefined) return undefined;
    const delta = located!.link - symbol.address;
    return delta === 0n ? symbol.name : `${symbol.name}+0x${delta.toString(16)}`;
  }

  /** The runtime address of a function or ELF symbol, first file that has it. */
  addressOf(name: string): { address: bigint; function?: FunctionInfo; binding: SymbolBinding } | undefined {
    for (const binding of this.bindings) {
      const info = binding.file.functionByName(name);
      if (info !== undefined) return { address: info.lowPc + binding.offset, function: info, binding };
    }
    for (const binding of this.bindings) {
      const symbol = binding.file.symbolByName(name);
      if (symbol !== undefined) return { address: symbol.address + binding.offset, binding };
    }
    return undefined;
  }

  /**
   * Where a breakpoint on the function entered at runtime address `entry` stops: after its
   * prologue (SymbolFile.postPrologueAddress), or undefined when `entry` does not start a
   * DWARF function with such a row (assembly keeps its symbol address).
   */
  afterPrologue(entry: bigint, context?: AddressContext): bigint | undefined {
    const located = this.locate(entry, context);
    if (located === undefined) return undefined;
    const chain = located.binding.file.functionsAt(located.link);
    const outer = [...chain].reverse().find((frame) => !frame.inlined && frame.function.lowPc === located.link);
    if (outer === undefined) return undefined;
    const after = located.binding.file.postPrologueAddress?.(outer.function);
    return after === undefined ? undefined : after + located.binding.offset;
  }

  // ---- source paths -----------------------------------------------------------------------

  /** The local path of a source path from a symbol file (path mappings are applied when loading). */
  localPath(dwarfPath: string): string {
    if (isAbsolute(dwarfPath)) return normalize(dwarfPath);
    return normalize(typeof this.sourceDirectory === 'string' ? resolvePath(this.sourceDirectory, dwarfPath) : this.sourceDirectory(dwarfPath));
  }

  source(location: SourceLocation): DebugProtocol.Source {
    const path = this.localPath(location.path);
    return { name: basename(path), path };
  }

  /**
   * Runtime addresses of a source line (moved to the nearest line with code). The symbol
   * files match the client's path exactly or by its longest path suffix.
   */
  resolveLine(localPath: string, line: number): { addresses: bigint[]; line: number } | undefined {
    for (const binding of this.bindings) {
      let actual = line;
      let addresses = binding.file.addressesForLine(localPath, line);
      if (addresses.length === 0) {
        const nearest = binding.file.nearestLineWithCode(localPath, line);
        if (nearest === undefined) continue;
        actual = nearest;
        addresses = binding.file.addressesForLine(localPath, nearest);
      }
      if (addresses.length > 0) return { addresses: addresses.map((address) => address + binding.offset), line: actual };
    }
    return undefined;
  }

  /** Every source file of every symbol file, for loadedSources. */
  allSources(): DebugProtocol.Source[] {
    const seen = new Map<string, DebugProtocol.Source>();
    for (const binding of this.bindings) {
      for (const dwarfPath of binding.file.sourceFiles) {
        const source = this.source({ path: dwarfPath, line: 0, column: 0 });
        seen.set(source.path!, source);
      }
    }
    return [...seen.values()];
  }
}
