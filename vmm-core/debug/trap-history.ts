// A bounded record of the last traps and privilege-changing returns, for the trap timeline:
// cause, privilege from and to, the interrupted pc, tval and the hart's virtual time. The
// storage is preallocated typed arrays used as a ring, so recording allocates nothing and
// costs a few stores per trap; nothing is recorded between traps.

import type { Privilege } from '../cpu/csr-numbers';

/** How control moved: a trap (exception or interrupt) or a return instruction. */
export const enum TrapRecordKind { Exception = 0, Interrupt = 1, Mret = 2, Sret = 3 }

export interface TrapRecord {
  /** Position since recording began (or the last clear): ascending, never reused. */
  readonly sequence: number;
  readonly hartId: number;
  readonly kind: 'exception' | 'interrupt' | 'mret' | 'sret';
  /** Exception or interrupt code; -1 for a return. */
  readonly cause: number;
  readonly from: Privilege;
  readonly to: Privilege;
  /** The pc the trap interrupted (epc), or the return instruction's target. */
  readonly pc: bigint;
  readonly tval: bigint;
  /** The hart's virtual time in nanoseconds at the transition. */
  readonly virtualNanoseconds: number;
  readonly instructionsRetired: number;
}

const KIND_NAMES = ['exception', 'interrupt', 'mret', 'sret'] as const;

export class TrapHistory {
  private readonly hartIds: Uint16Array;
  private readonly kinds: Uint8Array;
  private readonly causes: Int16Array;
  private readonly privileges: Uint8Array;
  private readonly pcs: BigUint64Array;
  private readonly tvals: BigUint64Array;
  private readonly times: Float64Array;
  private readonly retired: Float64Array;
  /** Records written since the last clear; the newest is at (written - 1) % capacity. */
  private written = 0;

  constructor(readonly capacity = 4096) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new Error(`trap history capacity must be a positive integer, got ${capacity}`);
    this.hartIds = new Uint16Array(capacity);
    this.kinds = new Uint8Array(capacity);
    this.causes = new Int16Array(capacity);
    this.privileges = new Uint8Array(capacity);
    this.pcs = new BigUint64Array(capacity);
    this.tvals = new BigUint64Array(capacity);
    this.times = new Float64Array(capacity);
    this.retired = new Float64Array(capacity);
  }

  /** Every transition recorded since the last clear, including those the ring has forgotten. */
  get total(): number {
    return this.written;
  }

  record(
    hartId: number, kind: TrapRecordKind, cause: number, from: Privilege, to: Privilege,
    pc: bigint, tval: bigint, virtualNanoseconds: number, instructionsRetired: number,
  ): void {
    const slot = this.written % this.capacity;
    this.hartIds[slot] = hartId;
    this.kinds[slot] = kind;
    this.causes[slot] = cause;
    this.privileges[slot] = (from << 2) | to;
    this.pcs[slot] = pc;
    this.tvals[slot] = tval;
    this.times[slot] = virtualNanoseconds;
    this.retired[slot] = instructionsRetired;
    this.written++;
  }

  clear(): void {
    this.written = 0;
  }

  /**
   * Records oldest first: those with sequence >= `since` still held by the ring, at most
   * `limit` of them (the newest ones when there are more).
   */
  records(since = 0, limit = this.capacity): TrapRecord[] {
    const oldest = Math.max(this.written - this.capacity, since, this.written - Math.max(0, limit));
    const result: TrapRecord[] = [];
    for (let sequence = Math.max(0, oldest); sequence < this.written; sequence++) {
      const slot = sequence % this.capacity;
      const privileges = this.privileges[slot];
      result.push({
        sequence,
        hartId: this.hartIds[slot],
        kind: KIND_NAMES[this.kinds[slot]],
        cause: this.causes[slot],
        from: (privileges >>> 2) as Privilege,
        to: (privileges & 3) as Privilege,
        pc: this.pcs[slot],
        tval: this.tvals[slot],
        virtualNanoseconds: this.times[slot],
        instructionsRetired: this.retired[slot],
      });
    }
    return result;
  }
}
