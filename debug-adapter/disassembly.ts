// The `disassemble` request: instructions around an address with their bytes, objdump's
// text, the symbol they start and their source line. RISC-V instructions are 2 or 4 bytes,
// so going backwards starts decoding at a known boundary (a function start, else an
// estimate the decoding resynchronises from) and keeps the instructions that end exactly
// at the anchor.

import type { DebugProtocol } from '@vscode/debugprotocol';
import { disassemble } from '../vmm-core/isa/disassembler';
import type { AddressContext, SymbolSet } from './symbol-set';
import { hex, type SpacedAddress, type Target } from './target';

interface Decoded {
  readonly address: bigint;
  readonly raw?: number;
  readonly length: 2 | 4;
}

export class DisassemblyView {
  constructor(
    private readonly target: Target,
    private readonly symbols: SymbolSet | undefined,
    private readonly hartId: number,
    private readonly context: AddressContext,
  ) {}

  private fetch(address: bigint, space: SpacedAddress['space']): Decoded {
    if (space === 'virtual') {
      const bits = this.target.fetch(this.hartId, address);
      return bits === undefined ? { address, length: 2 } : { address, raw: bits.raw, length: bits.length };
    }
    const low = this.target.readExact(this.hartId, { address, space }, 2);
    if (low === undefined) return { address, length: 2 };
    const first = low[0] | (low[1] << 8);
    if ((first & 3) !== 3) return { address, raw: first, length: 2 };
    const high = this.target.readExact(this.hartId, { address: address + 2n, space }, 2);
    return high === undefined ? { address, length: 2 } : { address, raw: (first | (high[0] << 16) | (high[1] << 24)) >>> 0, length: 4 };
  }

  /** `count` instructions starting `instructionOffset` instructions from `anchor`. */
  instructions(anchor: SpacedAddress, instructionOffset: number, count: number, resolveSymbols: boolean): DebugProtocol.DisassembledInstruction[] {
    const decoded: Decoded[] = [];
    if (instructionOffset < 0) decoded.push(...this.before(anchor, -instructionOffset));
    let address = anchor.address;
    // Skip forward to the first wanted instruction.
    for (let skip = Math.max(0, instructionOffset); skip > 0; skip--) address += BigInt(this.fetch(address, anchor.space).length);
    const wantedAfter = count - decoded.length;
    for (let i = 0; i < wantedAfter; i++) {
      const instruction = this.fetch(address, anchor.space);
      decoded.push(instruction);
      address += BigInt(instruction.length);
    }
    return this.present(decoded.slice(0, count), anchor.space, resolveSymbols);
  }

  /** The `count` instructions that end at `anchor`. */
  private before(anchor: SpacedAddress, count: number): Decoded[] {
    const estimate = anchor.address - BigInt(4 * count + 16);
    let start = estimate < 0n ? 0n : estimate;
    // The start of the function just before the anchor is a sure boundary when it is near.
    const owner = anchor.space === 'virtual' && anchor.address > 0n ? this.symbols?.functionAt(anchor.address - 1n, this.context) : undefined;
    if (owner !== undefined && owner.lowPc < anchor.address && owner.lowPc + 256n >= start) start = owner.lowPc;
    start &= ~1n;
    const walked: Decoded[] = [];
    let address = start;
    while (address < anchor.address) {
      const instruction = this.fetch(address, anchor.space);
      // An instruction straddling the anchor means the guess was misaligned: the anchor wins.
      if (address + BigInt(instruction.length) > anchor.address) break;
      walked.push(instruction);
      address += BigInt(instruction.length);
    }
    const result = walked.slice(-count);
    // Not enough bytes before (start of memory): pad with placeholders below.
    let padAddress = result.length > 0 ? result[0].address : anchor.address;
    while (result.length < count) {
      padAddress -= 4n;
      result.unshift({ address: padAddress, length: 4 });
    }
    return result;
  }

  private present(decoded: readonly Decoded[], space: SpacedAddress['space'], resolveSymbols: boolean): DebugProtocol.DisassembledInstruction[] {
    let lastPath: string | undefined;
    let lastSymbol: string | undefined;
    const symbolize = resolveSymbols && space === 'virtual' && this.symbols !== undefined
      ? (address: bigint) => this.symbols!.symbolize(address, this.context)
      : undefined;
    return decoded.map((instruction) => {
      const address = hex(instruction.address, 16);
      if (instruction.raw === undefined) {
        return { address, instruction: '<unreadable memory>', presentationHint: 'invalid' as const, instructionBytes: '' };
      }
      const text = disassemble(instruction.raw, instruction.address, { symbolize });
      const bytes = instruction.length === 2 ? instruction.raw.toString(16).padStart(4, '0') : (instruction.raw >>> 0).toString(16).padStart(8, '0');
      const result: DebugProtocol.DisassembledInstruction = {
        address,
        instructionBytes: bytes,
        instruction: text.text.replace('\t', ' '),
      };
      if (space === 'virtual' && this.symbols !== undefined) {
        const name = this.symbols.symbolize(instruction.address, this.context);
        const symbol = name?.split('+')[0];
        if (resolveSymbols && symbol !== undefined && (symbol !== lastSymbol || !name!.includes('+'))) result.symbol = symbol;
        lastSymbol = symbol;
        const row = this.symbols.locationAt(instruction.address, this.context);
        if (row !== undefined) {
          const source = this.symbols.source(row);
          // DAP: the location may be left out while it stays in the same file.
          if (source.path !== lastPath) result.location = source;
          lastPath = source.path;
          result.line = row.line;
          if (row.column > 0) result.column = row.column;
        }
      }
      return result;
    });
  }
}
