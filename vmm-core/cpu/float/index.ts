// Ringside's F and D extension floating point: IEEE-754 binary32/binary64 arithmetic with all five
// RISC-V rounding modes, exact fflags and RISC-V NaN rules, on raw bit patterns (int32 words).
// Results go to `floatOut`; every operation returns the FloatFlag bits it raised.
export { FloatFlag, RoundingMode, floatOut } from './common';
export {
  f32Add,
  f32Div,
  f32Mul,
  f32MulAdd,
  f32MulSub,
  f32NegMulAdd,
  f32NegMulSub,
  f32Sqrt,
  f32Sub,
} from './binary32';
export {
  f64Add,
  f64Div,
  f64Mul,
  f64MulAdd,
  f64MulSub,
  f64NegMulAdd,
  f64NegMulSub,
  f64Sqrt,
  f64Sub,
} from './binary64';
export {
  f32Classify,
  f32Equal,
  f32Less,
  f32LessOrEqual,
  f32Max,
  f32Min,
  f64Classify,
  f64Equal,
  f64Less,
  f64LessOrEqual,
  f64Max,
  f64Min,
} from './compare';
export {
  f32ToF64,
  f32ToInt32,
  f32ToInt64,
  f32ToUint32,
  f32ToUint64,
  f64ToF32,
  f64ToInt32,
  f64ToInt64,
  f64ToUint32,
  f64ToUint64,
  int32ToF32,
  int32ToF64,
  int64ToF32,
  int64ToF64,
  uint32ToF32,
  uint32ToF64,
  uint64ToF32,
  uint64ToF64,
} from './convert';
