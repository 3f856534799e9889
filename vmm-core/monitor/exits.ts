// Exit accounting: how often execution left the fast path for the monitor, by kind, the way a
// hardware VMM counts exit reasons.

export const EXIT_KINDS = [
  'exception', 'interrupt', 'ecall', 'ebreak', 'sbi', 'csr', 'mret', 'sret', 'wfi', 'sfence.vma',
  'fence.i', 'illegal-instruction', 'device-access',
] as const;
export type ExitKind = (typeof EXIT_KINDS)[number];

export class ExitCounters {
  private readonly counts = new Float64Array(EXIT_KINDS.length);

  count(kind: ExitKind): void {
    this.counts[EXIT_KINDS.indexOf(kind)]++;
  }

  /** Adds by index (hot-ish paths avoid the indexOf). */
  countIndex(index: number): void {
    this.counts[index]++;
  }

  snapshot(): Record<ExitKind, number> {
    const result = {} as Record<ExitKind, number>;
    EXIT_KINDS.forEach((kind, i) => (result[kind] = this.counts[i]));
    return result;
  }

  reset(): void {
    this.counts.fill(0);
  }
}

export const enum ExitIndex {
  Exception, Interrupt, Ecall, Ebreak, Sbi, Csr, Mret, Sret, Wfi, SfenceVma, FenceI, IllegalInstruction, DeviceAccess,
}
