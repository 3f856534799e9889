// Reference integer semantics for the CPU tests: wrapping to RV64's signed and unsigned 64- and
// 32-bit values (BigInt is fine here: tests compute the expected results, never the machine).

export const s64 = (value: bigint): bigint => BigInt.asIntN(64, value);
export const u64 = (value: bigint): bigint => BigInt.asUintN(64, value);
export const s32 = (value: bigint): bigint => BigInt.asIntN(32, value);
export const u32 = (value: bigint): bigint => BigInt.asUintN(32, value);
export const MIN64 = -(1n << 63n);
export const MAX64 = (1n << 63n) - 1n;
