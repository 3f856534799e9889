// PLIC (platform-level interrupt controller) with QEMU `virt`'s layout: 96 sources (0 is
// reserved), 3-bit priorities, two contexts per hart (2h = M-mode, 2h+1 = S-mode).

import { bytesOf, type StateReader, type StateRecord } from '../machine/state';
import type { HartInterruptPins, InterruptLine, MmioDevice } from './device';
import { InterruptBit } from './device';
import { PLIC_SOURCE_COUNT } from '../machine/layout';

const PRIORITY_BASE = 0x0000;
const PENDING_BASE = 0x1000;
const ENABLE_BASE = 0x2000;
const ENABLE_STRIDE = 0x80;
const CONTEXT_BASE = 0x20_0000;
const CONTEXT_STRIDE = 0x1000;
const MAX_PRIORITY = 7;
const SOURCE_WORDS = Math.ceil(PLIC_SOURCE_COUNT / 32);

/**
 * Sources are level-triggered through a gateway: a line going high pends its source unless it
 * is claimed; claiming clears pending and blocks the source until the context writes the id to
 * complete, after which a still-high line pends again. A line that goes low before the claim
 * leaves the request pending: only a claim clears it, as the PLIC specification's gateway
 * latches requests, and as QEMU 7.2 does since its 7.2.15 stable update (the Debian 7.2 build
 * the tests compare with; 7.2.0 itself cleared it). One corner differs from QEMU: it also
 * latches a rising edge seen while the source is claimed and re-pends it at completion even if
 * the line has dropped since; here, as in the specification, the level at completion decides.
 * Completion is accepted whether or not the source is enabled for the completing context.
 * Writes to the pending bits are ignored.
 *
 * Only aligned 32-bit accesses have effect; any other access reads 0 and is ignored (QEMU
 * rejects them too). Offsets outside the implemented registers read 0 and ignore writes.
 */
export class Plic implements MmioDevice {
  readonly name = 'plic';
  readonly contextCount: number;
  private readonly priority = new Uint8Array(PLIC_SOURCE_COUNT);
  private readonly level = new Uint8Array(PLIC_SOURCE_COUNT);
  private readonly pending = new Uint8Array(PLIC_SOURCE_COUNT);
  private readonly claimed = new Uint8Array(PLIC_SOURCE_COUNT);
  /** Claims of each source since the machine was built (the Devices view). */
  private readonly claims = new Float64Array(PLIC_SOURCE_COUNT);
  /** Enable bits, SOURCE_WORDS words per context. */
  private readonly enable: Uint32Array;
  private readonly threshold: Uint8Array;
  /** Last level driven on each context's hart pin. */
  private readonly contextLevel: Uint8Array;
  private readonly lines: InterruptLine[] = [];

  constructor(
    readonly hartCount: number,
    private readonly pins: HartInterruptPins,
  ) {
    if (!Number.isInteger(hartCount) || hartCount < 1) throw new Error(`Plic: hart count must be a positive integer, got ${hartCount}`);
    this.contextCount = 2 * hartCount;
    this.enable = new Uint32Array(SOURCE_WORDS * this.contextCount);
    this.threshold = new Uint8Array(this.contextCount);
    this.contextLevel = new Uint8Array(this.contextCount);
    for (let irq = 0; irq < PLIC_SOURCE_COUNT; irq++) {
      this.lines.push({ setLevel: (asserted: boolean) => this.setSourceLevel(irq, asserted) });
    }
    this.reset();
  }

  /** Priorities, gateway state, enables, thresholds and the pin levels driven, for snapshots. */
  saveState(): StateRecord {
    return {
      priority: bytesOf(this.priority), level: bytesOf(this.level), pending: bytesOf(this.pending), claimed: bytesOf(this.claimed),
      claims: bytesOf(this.claims), enable: bytesOf(this.enable), threshold: bytesOf(this.threshold), contextLevel: bytesOf(this.contextLevel),
    };
  }

  /** Puts back what saveState returned; the harts' pins are restored with the harts. */
  restoreState(state: StateReader): void {
    const keys = ['priority', 'level', 'pending', 'claimed', 'claims', 'enable', 'threshold', 'contextLevel'] as const;
    for (const key of keys) state.check(key, this[key]);
    for (const key of keys) state.into(key, this[key]);
  }

  /** The wire for source `irq` (1..PLIC_SOURCE_COUNT-1); throws for an invalid number (a wiring bug). */
  source(irq: number): InterruptLine {
    if (!Number.isInteger(irq) || irq < 1 || irq >= PLIC_SOURCE_COUNT) {
      throw new Error(`Plic: interrupt source ${irq} does not exist (valid: 1..${PLIC_SOURCE_COUNT - 1})`);
    }
    return this.lines[irq];
  }

  /** Clears registers and gateway state (line levels are kept: devices still drive them). */
  reset(): void {
    this.priority.fill(0);
    this.pending.fill(0);
    this.claimed.fill(0);
    this.enable.fill(0);
    this.threshold.fill(0);
    for (let irq = 1; irq < PLIC_SOURCE_COUNT; irq++) if (this.level[irq]) this.pending[irq] = 1;
    for (let context = 0; context < this.contextCount; context++) {
      this.contextLevel[context] = 0;
      this.pins.setInterruptPending(context >>> 1, contextBit(context), false);
    }
  }

  /** True when source `irq` is pending (for debuggers and tests). */
  /** How many times a context has claimed source `irq`. */
  claimCount(irq: number): number {
    return this.claims[irq] ?? 0;
  }

  isPending(irq: number): boolean {
    return this.pending[irq] === 1;
  }

  // Read-only views for debuggers: none of these claims, completes or changes a level.

  /** Priority of source `irq` (0 = never interrupts). */
  sourcePriority(irq: number): number {
    return this.priority[irq] ?? 0;
  }

  /** True while source `irq` is claimed and not yet completed. */
  isClaimed(irq: number): boolean {
    return this.claimed[irq] === 1;
  }

  /** The level the device drives on source `irq`'s line. */
  isLineAsserted(irq: number): boolean {
    return this.level[irq] === 1;
  }

  /** True when `context` (2h = M-mode of hart h, 2h+1 = S-mode) has source `irq` enabled. */
  isEnabled(context: number, irq: number): boolean {
    if (context < 0 || context >= this.contextCount || irq < 0 || irq >= PLIC_SOURCE_COUNT) return false;
    return (this.enable[context * SOURCE_WORDS + (irq >>> 5)] & (1 << (irq & 31))) !== 0;
  }

  /** Priority threshold of `context`. */
  contextThreshold(context: number): number {
    return this.threshold[context] ?? 0;
  }

  /** The source a claim by `context` would return now, without claiming it (0 = none). */
  peekClaim(context: number): number {
    return context >= 0 && context < this.contextCount ? this.bestSource(context) : 0;
  }

  /** The level the PLIC drives on `context`'s interrupt pin (MEIP or SEIP of its hart). */
  isContextAsserted(context: number): boolean {
    return this.contextLevel[context] === 1;
  }

  read(offset: number, size: 1 | 2 | 4): number {
    if (offset >>> 0 !== offset || size !== 4 || (offset & 3) !== 0) return 0;
    if (offset < PRIORITY_BASE + 4 * PLIC_SOURCE_COUNT) return this.priority[offset >>> 2];
    if (offset >= PENDING_BASE && offset < PENDING_BASE + 4 * SOURCE_WORDS) {
      return this.packBits(this.pending, (offset - PENDING_BASE) >>> 2);
    }
    if (offset >= ENABLE_BASE && offset < ENABLE_BASE + ENABLE_STRIDE * this.contextCount) {
      const context = (offset - ENABLE_BASE) >>> 7;
      const word = ((offset - ENABLE_BASE) & (ENABLE_STRIDE - 1)) >>> 2;
      return word < SOURCE_WORDS ? this.enable[context * SOURCE_WORDS + word] : 0;
    }
    if (offset >= CONTEXT_BASE && offset < CONTEXT_BASE + CONTEXT_STRIDE * this.contextCount) {
      const context = (offset - CONTEXT_BASE) >>> 12;
      const register = (offset - CONTEXT_BASE) & (CONTEXT_STRIDE - 1);
      if (register === 0) return this.threshold[context];
      if (register === 4) return this.claim(context);
    }
    return 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset >>> 0 !== offset || size !== 4 || (offset & 3) !== 0) return;
    if (offset < PRIORITY_BASE + 4 * PLIC_SOURCE_COUNT) {
      const irq = offset >>> 2;
      if (irq === 0) return; // source 0 does not exist; its priority is hardwired to 0
      this.priority[irq] = value & MAX_PRIORITY;
      this.updateAll();
      return;
    }
    if (offset >= ENABLE_BASE && offset < ENABLE_BASE + ENABLE_STRIDE * this.contextCount) {
      const context = (offset - ENABLE_BASE) >>> 7;
      const word = ((offset - ENABLE_BASE) & (ENABLE_STRIDE - 1)) >>> 2;
      if (word >= SOURCE_WORDS) return;
      // Bit 0 (source 0) is hardwired to 0; bits past the last source do not exist.
      let mask = 0xffff_ffff;
      if (word === 0) mask &= ~1;
      const bitsInWord = PLIC_SOURCE_COUNT - word * 32;
      if (bitsInWord < 32) mask &= (1 << bitsInWord) - 1;
      this.enable[context * SOURCE_WORDS + word] = (value & mask) >>> 0;
      this.updateContext(context);
      return;
    }
    if (offset >= CONTEXT_BASE && offset < CONTEXT_BASE + CONTEXT_STRIDE * this.contextCount) {
      const context = (offset - CONTEXT_BASE) >>> 12;
      const register = (offset - CONTEXT_BASE) & (CONTEXT_STRIDE - 1);
      if (register === 0) {
        this.threshold[context] = value & MAX_PRIORITY;
        this.updateContext(context);
      } else if (register === 4) {
        this.complete(value >>> 0);
      }
    }
    // Pending bits and everything else: read-only or unmapped.
  }

  private setSourceLevel(irq: number, asserted: boolean): void {
    const newLevel = asserted ? 1 : 0;
    if (newLevel === this.level[irq]) return;
    this.level[irq] = newLevel;
    // The gateway latches a request: a line that drops before the claim leaves it pending
    // (QEMU 7.2 keeps it too; guests/plic checks this against QEMU).
    if (newLevel === 1 && this.claimed[irq] === 0) this.pending[irq] = 1;
    this.updateAll();
  }

  /** The best pending enabled source above the context's threshold (ties: lowest id), or 0. */
  private bestSource(context: number): number {
    let best = 0;
    let bestPriority = this.threshold[context];
    const enableBase = context * SOURCE_WORDS;
    for (let irq = 1; irq < PLIC_SOURCE_COUNT; irq++) {
      if (this.pending[irq] === 0) continue;
      if ((this.enable[enableBase + (irq >>> 5)] & (1 << (irq & 31))) === 0) continue;
      if (this.priority[irq] > bestPriority) {
        best = irq;
        bestPriority = this.priority[irq];
      }
    }
    return best;
  }

  private claim(context: number): number {
    const irq = this.bestSource(context);
    if (irq !== 0) {
      this.claims[irq]++;
      this.pending[irq] = 0;
      this.claimed[irq] = 1;
      this.updateAll();
    }
    return irq;
  }

  private complete(irq: number): void {
    if (irq < 1 || irq >= PLIC_SOURCE_COUNT || this.claimed[irq] === 0) return;
    this.claimed[irq] = 0;
    if (this.level[irq] === 1) this.pending[irq] = 1;
    this.updateAll();
  }

  private packBits(bits: Uint8Array, word: number): number {
    let result = 0;
    const first = word * 32;
    const last = Math.min(first + 32, PLIC_SOURCE_COUNT);
    for (let irq = first; irq < last; irq++) if (bits[irq]) result |= 1 << (irq - first);
    return result >>> 0;
  }

  private updateAll(): void {
    for (let context = 0; context < this.contextCount; context++) this.updateContext(context);
  }

  private updateContext(context: number): void {
    const level = this.bestSource(context) !== 0 ? 1 : 0;
    if (level !== this.contextLevel[context]) {
      this.contextLevel[context] = level;
      this.pins.setInterruptPending(context >>> 1, contextBit(context), level === 1);
    }
  }
}

function contextBit(context: number): InterruptBit {
  return (context & 1) === 0 ? InterruptBit.MachineExternal : InterruptBit.SupervisorExternal;
}
