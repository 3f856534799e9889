// Register names: the ABI names objdump, gdb and the RISC-V psABI use, and the reverse lookup
// for names typed by a user (x5, t0, fp, f10, fa0).

export const INTEGER_REGISTER_NAMES: readonly string[] = [
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2',
  's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7',
  's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
];

export const FLOAT_REGISTER_NAMES: readonly string[] = [
  'ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7',
  'fs0', 'fs1', 'fa0', 'fa1', 'fa2', 'fa3', 'fa4', 'fa5',
  'fa6', 'fa7', 'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7',
  'fs8', 'fs9', 'fs10', 'fs11', 'ft8', 'ft9', 'ft10', 'ft11',
];

/** ABI name of integer register x`index` (0..31). */
export function integerRegisterName(index: number): string {
  return INTEGER_REGISTER_NAMES[index & 31];
}

/** ABI name of floating-point register f`index` (0..31). */
export function floatRegisterName(index: number): string {
  return FLOAT_REGISTER_NAMES[index & 31];
}

const integerByName = new Map<string, number>();
const floatByName = new Map<string, number>();
for (let index = 0; index < 32; index++) {
  integerByName.set(INTEGER_REGISTER_NAMES[index], index);
  integerByName.set(`x${index}`, index);
  floatByName.set(FLOAT_REGISTER_NAMES[index], index);
  floatByName.set(`f${index}`, index);
}
integerByName.set('fp', 8); // s0 doubles as the frame pointer

/** Number of the integer register called `name` (x0..x31, ABI name or fp), or undefined. */
export function parseIntegerRegister(name: string): number | undefined {
  return integerByName.get(name.trim().toLowerCase());
}

/** Number of the floating-point register called `name` (f0..f31 or ABI name), or undefined. */
export function parseFloatRegister(name: string): number | undefined {
  return floatByName.get(name.trim().toLowerCase());
}
