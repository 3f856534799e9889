// F and D arithmetic for the interpreter; replaced by the soft-float library binding.
import type { Operation } from '../isa/operations';
import type { Hart } from './hart';

/** Returns false when the operation is not executable here (raises illegal instruction). */
export function executeFloatingPoint(
  _hart: Hart, _operation: Operation, _rd: number, _rs1: number, _rs2: number, _rs3: number, _roundingMode: number,
): boolean {
  return false;
}
