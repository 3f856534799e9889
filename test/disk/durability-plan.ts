// What the durability writer does at each sequence number, shared by the writer and the checker.
import { pattern } from './support';

export interface DurabilityPlan {
  path: string;
  format: 'raw' | 'qcow2';
  slots: number;
  blockSectors: number;
  seed: number;
  maxOperations: number;
}

export interface DurabilityOperation {
  kind: 'write' | 'discard';
  slot: number;
  flushAfter: boolean;
}

/** A cheap integer hash: the plan must be the same in both processes without shared state. */
function mix(value: number): number {
  let x = value >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

export function durabilityOperation(plan: DurabilityPlan, seq: number): DurabilityOperation {
  const h = mix(seq * 2654435761 + plan.seed);
  return {
    kind: h % 13 === 0 ? 'discard' : 'write',
    slot: mix(h ^ 0x9e3779b9) % plan.slots,
    flushAfter: (h >>> 8) % 5 === 0,
  };
}

export function durabilityBlock(plan: DurabilityPlan, seq: number, slot: number): Uint8Array {
  return pattern(plan.blockSectors * 512, seq, slot * plan.blockSectors);
}
