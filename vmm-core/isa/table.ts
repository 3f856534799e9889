// The one instruction table for RV64IMAFDC + Zicsr + Zifencei, the privileged instructions, and
// the optional Zihintpause, Zba, Zbb, Zbc and Zbs. Decoder, disassembler, interpreter dispatch
// and the ISA tests derive from it.

import { Operation } from './operations';

export type Extension =
  | 'I' | 'M' | 'A' | 'F' | 'D' | 'C' | 'Zicsr' | 'Zifencei' | 'Privileged'
  | 'Zihintpause' | 'Zba' | 'Zbb' | 'Zbc' | 'Zbs';

/**
 * Bits of the optional extensions in an enabled-extension mask: the decoder skips rows whose
 * extension a CPU model (or an ELF's ISA attribute, for the disassembler) leaves out. The
 * base extensions have no bit: they are always there.
 */
const OPTIONAL_EXTENSION_BITS: Readonly<Partial<Record<Extension, number>>> = {
  Zihintpause: 1 << 0, Zba: 1 << 1, Zbb: 1 << 2, Zbc: 1 << 3, Zbs: 1 << 4,
};

/** Every optional extension enabled. */
export const ALL_EXTENSIONS = 0x1f;

/** The mask enabling exactly `extensions` (base extensions need not be named). */
export function extensionMask(extensions: Iterable<Extension>): number {
  let mask = 0;
  for (const extension of extensions) mask |= OPTIONAL_EXTENSION_BITS[extension] ?? 0;
  return mask;
}

/**
 * The mask for an ISA string such as `rv64gc_zba_zbb` or an ELF's Tag_RISCV_arch
 * (`rv64i2p1_m2p0_..._zbb1p0`): the optional extensions it names.
 */
export function extensionMaskOfIsaString(isa: string): number {
  const names = new Map<string, Extension>(
    (Object.keys(OPTIONAL_EXTENSION_BITS) as Extension[]).map((extension) => [extension.toLowerCase(), extension]));
  const found: Extension[] = [];
  for (const part of isa.toLowerCase().split('_').slice(1)) {
    const extension = names.get(part.replace(/\d+p\d+$/, ''));
    if (extension !== undefined) found.push(extension);
  }
  return extensionMask(found);
}

/**
 * Popek–Goldberg class. `privileged`: traps when executed below the privilege it needs
 * (CSR access, xRET, WFI, SFENCE.VMA). `controlSensitive`: changes machine configuration or
 * transfers control to the monitor without being privileged (ECALL, EBREAK, FENCE.I).
 * `behaviourSensitive`: its effect depends on privilege or control state (loads, stores
 * and AMOs through translation and PMP; F/D through mstatus.FS and frm).
 * `innocuous`: the rest.
 */
export type SensitivityClass = 'innocuous' | 'privileged' | 'controlSensitive' | 'behaviourSensitive';

/** Operand layout. Each format says which fields exist and which register file they name. */
export type InstructionFormat =
  // 32-bit
  | 'R' | 'I' | 'Load' | 'S' | 'B' | 'U' | 'J' | 'Jalr' | 'Shift' | 'ShiftW' | 'Fence' | 'None'
  | 'SfenceVma' | 'Csr' | 'CsrImm' | 'Amo' | 'Lr' | 'Unary'
  | 'FLoad' | 'FStore' | 'R4' | 'FR' | 'FRNoRm' | 'FUnary' | 'FCompare' | 'FToInt' | 'IntToF'
  | 'FMoveToInt' | 'FMoveFromInt'
  // 16-bit (compressed)
  | 'CIW' | 'CLW' | 'CLD' | 'CSW' | 'CSD' | 'CIAddi' | 'CILi' | 'CIAddi16sp' | 'CILui' | 'CBShift'
  | 'CBAndi' | 'CA' | 'CJ' | 'CBBranch' | 'CIShift' | 'CILwsp' | 'CILdsp' | 'CRJr' | 'CRJalr'
  | 'CRMv' | 'CRAdd' | 'CSSwsp' | 'CSSdsp' | 'CNone';

export interface InstructionSpec {
  readonly mnemonic: string;
  readonly match: number;
  readonly mask: number;
  readonly format: InstructionFormat;
  readonly extension: Extension;
  readonly sensitivity: SensitivityClass;
  /** What the interpreter executes; for a compressed row, the base instruction it expands to. */
  readonly operation: Operation;
  /** 2 for compressed instructions, 4 otherwise. */
  readonly length: 2 | 4;
  /** The extension's bit in an enabled-extension mask; 0 for the base extensions. */
  readonly extensionBit: number;
  /**
   * The lowest privilege that may execute a privileged instruction whose need is fixed (xRET,
   * WFI, SFENCE.VMA); absent otherwise. A CSR access takes it from the CSR number's bits 9:8.
   */
  readonly lowestPrivilege?: 'M' | 'S';
}

function row(
  mnemonic: string, match: number, mask: number, format: InstructionFormat, extension: Extension,
  sensitivity: SensitivityClass, operation: Operation, lowestPrivilege?: 'M' | 'S',
): InstructionSpec {
  const length = (match & 3) === 3 ? 4 : 2;
  const extensionBit = OPTIONAL_EXTENSION_BITS[extension] ?? 0;
  // Every row has every property (lowestPrivilege may be undefined): one object shape for the decoder.
  return { mnemonic, match: match >>> 0, mask: mask >>> 0, format, extension, sensitivity, operation, length, extensionBit, lowestPrivilege };
}

const R_MASK = 0xfe00707f;
/** funct12 (bits 31:20) fixed: the unary bit-manipulation instructions. */
const UNARY_MASK = 0xfff0707f;
const SHIFT64_MASK = 0xfc00707f;
const F3_MASK = 0x707f;
const OP_MASK = 0x7f;
const C_MASK = 0xe003;

const I = 'I', M = 'M', A = 'A', F = 'F', D = 'D', C = 'C';
const inn = 'innocuous', priv = 'privileged', ctl = 'controlSensitive', beh = 'behaviourSensitive';

function amoRows(width: 'w' | 'd', ops: readonly Operation[]): InstructionSpec[] {
  const f3 = width === 'w' ? 0x2000 : 0x3000;
  const names = ['lr', 'sc', 'amoswap', 'amoadd', 'amoxor', 'amoand', 'amoor', 'amomin', 'amomax', 'amominu', 'amomaxu'];
  const funct5 = [0x02, 0x03, 0x01, 0x00, 0x04, 0x0c, 0x08, 0x10, 0x14, 0x18, 0x1c];
  return names.map((name, i) =>
    row(`${name}.${width}`, (funct5[i] << 27) | f3 | 0x2f, name === 'lr' ? 0xf9f0707f : 0xf800707f,
      name === 'lr' ? 'Lr' : 'Amo', A, beh, ops[i]),
  );
}

export const INSTRUCTIONS: readonly InstructionSpec[] = [
  // RV64I
  row('lui', 0x37, OP_MASK, 'U', I, inn, Operation.Lui),
  row('auipc', 0x17, OP_MASK, 'U', I, inn, Operation.Auipc),
  row('jal', 0x6f, OP_MASK, 'J', I, inn, Operation.Jal),
  row('jalr', 0x67, F3_MASK, 'Jalr', I, inn, Operation.Jalr),
  row('beq', 0x63, F3_MASK, 'B', I, inn, Operation.Beq),
  row('bne', 0x1063, F3_MASK, 'B', I, inn, Operation.Bne),
  row('blt', 0x4063, F3_MASK, 'B', I, inn, Operation.Blt),
  row('bge', 0x5063, F3_MASK, 'B', I, inn, Operation.Bge),
  row('bltu', 0x6063, F3_MASK, 'B', I, inn, Operation.Bltu),
  row('bgeu', 0x7063, F3_MASK, 'B', I, inn, Operation.Bgeu),
  row('lb', 0x03, F3_MASK, 'Load', I, beh, Operation.Lb),
  row('lh', 0x1003, F3_MASK, 'Load', I, beh, Operation.Lh),
  row('lw', 0x2003, F3_MASK, 'Load', I, beh, Operation.Lw),
  row('ld', 0x3003, F3_MASK, 'Load', I, beh, Operation.Ld),
  row('lbu', 0x4003, F3_MASK, 'Load', I, beh, Operation.Lbu),
  row('lhu', 0x5003, F3_MASK, 'Load', I, beh, Operation.Lhu),
  row('lwu', 0x6003, F3_MASK, 'Load', I, beh, Operation.Lwu),
  row('sb', 0x23, F3_MASK, 'S', I, beh, Operation.Sb),
  row('sh', 0x1023, F3_MASK, 'S', I, beh, Operation.Sh),
  row('sw', 0x2023, F3_MASK, 'S', I, beh, Operation.Sw),
  row('sd', 0x3023, F3_MASK, 'S', I, beh, Operation.Sd),
  row('addi', 0x13, F3_MASK, 'I', I, inn, Operation.Addi),
  row('slti', 0x2013, F3_MASK, 'I', I, inn, Operation.Slti),
  row('sltiu', 0x3013, F3_MASK, 'I', I, inn, Operation.Sltiu),
  row('xori', 0x4013, F3_MASK, 'I', I, inn, Operation.Xori),
  row('ori', 0x6013, F3_MASK, 'I', I, inn, Operation.Ori),
  row('andi', 0x7013, F3_MASK, 'I', I, inn, Operation.Andi),
  row('slli', 0x1013, 0xfc00707f, 'Shift', I, inn, Operation.Slli),
  row('srli', 0x5013, 0xfc00707f, 'Shift', I, inn, Operation.Srli),
  row('srai', 0x40005013, 0xfc00707f, 'Shift', I, inn, Operation.Srai),
  row('add', 0x33, R_MASK, 'R', I, inn, Operation.Add),
  row('sub', 0x40000033, R_MASK, 'R', I, inn, Operation.Sub),
  row('sll', 0x1033, R_MASK, 'R', I, inn, Operation.Sll),
  row('slt', 0x2033, R_MASK, 'R', I, inn, Operation.Slt),
  row('sltu', 0x3033, R_MASK, 'R', I, inn, Operation.Sltu),
  row('xor', 0x4033, R_MASK, 'R', I, inn, Operation.Xor),
  row('srl', 0x5033, R_MASK, 'R', I, inn, Operation.Srl),
  row('sra', 0x40005033, R_MASK, 'R', I, inn, Operation.Sra),
  row('or', 0x6033, R_MASK, 'R', I, inn, Operation.Or),
  row('and', 0x7033, R_MASK, 'R', I, inn, Operation.And),
  row('addiw', 0x1b, F3_MASK, 'I', I, inn, Operation.Addiw),
  row('slliw', 0x101b, R_MASK, 'ShiftW', I, inn, Operation.Slliw),
  row('srliw', 0x501b, R_MASK, 'ShiftW', I, inn, Operation.Srliw),
  row('sraiw', 0x4000501b, R_MASK, 'ShiftW', I, inn, Operation.Sraiw),
  row('addw', 0x3b, R_MASK, 'R', I, inn, Operation.Addw),
  row('subw', 0x4000003b, R_MASK, 'R', I, inn, Operation.Subw),
  row('sllw', 0x103b, R_MASK, 'R', I, inn, Operation.Sllw),
  row('srlw', 0x503b, R_MASK, 'R', I, inn, Operation.Srlw),
  row('sraw', 0x4000503b, R_MASK, 'R', I, inn, Operation.Sraw),
  row('fence', 0x0f, F3_MASK, 'Fence', I, inn, Operation.Fence),
  row('fence.i', 0x100f, F3_MASK, 'None', 'Zifencei', ctl, Operation.FenceI),
  // Zihintpause: a FENCE hint (pred = W, succ = 0); a hart without it executes the fence.
  row('pause', 0x0100000f, 0xffffffff, 'None', 'Zihintpause', inn, Operation.Fence),
  row('ecall', 0x73, 0xffffffff, 'None', I, ctl, Operation.Ecall),
  row('ebreak', 0x100073, 0xffffffff, 'None', I, ctl, Operation.Ebreak),
  // Privileged
  row('mret', 0x30200073, 0xffffffff, 'None', 'Privileged', priv, Operation.Mret, 'M'),
  row('sret', 0x10200073, 0xffffffff, 'None', 'Privileged', priv, Operation.Sret, 'S'),
  row('wfi', 0x10500073, 0xffffffff, 'None', 'Privileged', priv, Operation.Wfi, 'S'),
  row('sfence.vma', 0x12000073, 0xfe007fff, 'SfenceVma', 'Privileged', priv, Operation.SfenceVma, 'S'),
  // Zicsr
  row('csrrw', 0x1073, F3_MASK, 'Csr', 'Zicsr', priv, Operation.Csrrw),
  row('csrrs', 0x2073, F3_MASK, 'Csr', 'Zicsr', priv, Operation.Csrrs),
  row('csrrc', 0x3073, F3_MASK, 'Csr', 'Zicsr', priv, Operation.Csrrc),
  row('csrrwi', 0x5073, F3_MASK, 'CsrImm', 'Zicsr', priv, Operation.Csrrwi),
  row('csrrsi', 0x6073, F3_MASK, 'CsrImm', 'Zicsr', priv, Operation.Csrrsi),
  row('csrrci', 0x7073, F3_MASK, 'CsrImm', 'Zicsr', priv, Operation.Csrrci),
  // M
  row('mul', 0x02000033, R_MASK, 'R', M, inn, Operation.Mul),
  row('mulh', 0x02001033, R_MASK, 'R', M, inn, Operation.Mulh),
  row('mulhsu', 0x02002033, R_MASK, 'R', M, inn, Operation.Mulhsu),
  row('mulhu', 0x02003033, R_MASK, 'R', M, inn, Operation.Mulhu),
  row('div', 0x02004033, R_MASK, 'R', M, inn, Operation.Div),
  row('divu', 0x02005033, R_MASK, 'R', M, inn, Operation.Divu),
  row('rem', 0x02006033, R_MASK, 'R', M, inn, Operation.Rem),
  row('remu', 0x02007033, R_MASK, 'R', M, inn, Operation.Remu),
  row('mulw', 0x0200003b, R_MASK, 'R', M, inn, Operation.Mulw),
  row('divw', 0x0200403b, R_MASK, 'R', M, inn, Operation.Divw),
  row('divuw', 0x0200503b, R_MASK, 'R', M, inn, Operation.Divuw),
  row('remw', 0x0200603b, R_MASK, 'R', M, inn, Operation.Remw),
  row('remuw', 0x0200703b, R_MASK, 'R', M, inn, Operation.Remuw),
  // A
  ...amoRows('w', [
    Operation.LrW, Operation.ScW, Operation.AmoswapW, Operation.AmoaddW, Operation.AmoxorW, Operation.AmoandW,
    Operation.AmoorW, Operation.AmominW, Operation.AmomaxW, Operation.AmominuW, Operation.AmomaxuW,
  ]),
  ...amoRows('d', [
    Operation.LrD, Operation.ScD, Operation.AmoswapD, Operation.AmoaddD, Operation.AmoxorD, Operation.AmoandD,
    Operation.AmoorD, Operation.AmominD, Operation.AmomaxD, Operation.AmominuD, Operation.AmomaxuD,
  ]),
  // F
  row('flw', 0x2007, F3_MASK, 'FLoad', F, beh, Operation.Flw),
  row('fsw', 0x2027, F3_MASK, 'FStore', F, beh, Operation.Fsw),
  row('fmadd.s', 0x43, 0x0600007f, 'R4', F, beh, Operation.FmaddS),
  row('fmsub.s', 0x47, 0x0600007f, 'R4', F, beh, Operation.FmsubS),
  row('fnmsub.s', 0x4b, 0x0600007f, 'R4', F, beh, Operation.FnmsubS),
  row('fnmadd.s', 0x4f, 0x0600007f, 'R4', F, beh, Operation.FnmaddS),
  row('fadd.s', 0x00000053, 0xfe00007f, 'FR', F, beh, Operation.FaddS),
  row('fsub.s', 0x08000053, 0xfe00007f, 'FR', F, beh, Operation.FsubS),
  row('fmul.s', 0x10000053, 0xfe00007f, 'FR', F, beh, Operation.FmulS),
  row('fdiv.s', 0x18000053, 0xfe00007f, 'FR', F, beh, Operation.FdivS),
  row('fsqrt.s', 0x58000053, 0xfff0007f, 'FUnary', F, beh, Operation.FsqrtS),
  row('fsgnj.s', 0x20000053, R_MASK, 'FRNoRm', F, beh, Operation.FsgnjS),
  row('fsgnjn.s', 0x20001053, R_MASK, 'FRNoRm', F, beh, Operation.FsgnjnS),
  row('fsgnjx.s', 0x20002053, R_MASK, 'FRNoRm', F, beh, Operation.FsgnjxS),
  row('fmin.s', 0x28000053, R_MASK, 'FRNoRm', F, beh, Operation.FminS),
  row('fmax.s', 0x28001053, R_MASK, 'FRNoRm', F, beh, Operation.FmaxS),
  row('fcvt.w.s', 0xc0000053, 0xfff0007f, 'FToInt', F, beh, Operation.FcvtWS),
  row('fcvt.wu.s', 0xc0100053, 0xfff0007f, 'FToInt', F, beh, Operation.FcvtWuS),
  row('fcvt.l.s', 0xc0200053, 0xfff0007f, 'FToInt', F, beh, Operation.FcvtLS),
  row('fcvt.lu.s', 0xc0300053, 0xfff0007f, 'FToInt', F, beh, Operation.FcvtLuS),
  row('fmv.x.w', 0xe0000053, 0xfff0707f, 'FMoveToInt', F, beh, Operation.FmvXW),
  row('feq.s', 0xa0002053, R_MASK, 'FCompare', F, beh, Operation.FeqS),
  row('flt.s', 0xa0001053, R_MASK, 'FCompare', F, beh, Operation.FltS),
  row('fle.s', 0xa0000053, R_MASK, 'FCompare', F, beh, Operation.FleS),
  row('fclass.s', 0xe0001053, 0xfff0707f, 'FMoveToInt', F, beh, Operation.FclassS),
  row('fcvt.s.w', 0xd0000053, 0xfff0007f, 'IntToF', F, beh, Operation.FcvtSW),
  row('fcvt.s.wu', 0xd0100053, 0xfff0007f, 'IntToF', F, beh, Operation.FcvtSWu),
  row('fcvt.s.l', 0xd0200053, 0xfff0007f, 'IntToF', F, beh, Operation.FcvtSL),
  row('fcvt.s.lu', 0xd0300053, 0xfff0007f, 'IntToF', F, beh, Operation.FcvtSLu),
  row('fmv.w.x', 0xf0000053, 0xfff0707f, 'FMoveFromInt', F, beh, Operation.FmvWX),
  // D
  row('fld', 0x3007, F3_MASK, 'FLoad', D, beh, Operation.Fld),
  row('fsd', 0x3027, F3_MASK, 'FStore', D, beh, Operation.Fsd),
  row('fmadd.d', 0x02000043, 0x0600007f, 'R4', D, beh, Operation.FmaddD),
  row('fmsub.d', 0x02000047, 0x0600007f, 'R4', D, beh, Operation.FmsubD),
  row('fnmsub.d', 0x0200004b, 0x0600007f, 'R4', D, beh, Operation.FnmsubD),
  row('fnmadd.d', 0x0200004f, 0x0600007f, 'R4', D, beh, Operation.FnmaddD),
  row('fadd.d', 0x02000053, 0xfe00007f, 'FR', D, beh, Operation.FaddD),
  row('fsub.d', 0x0a000053, 0xfe00007f, 'FR', D, beh, Operation.FsubD),
  row('fmul.d', 0x12000053, 0xfe00007f, 'FR', D, beh, Operation.FmulD),
  row('fdiv.d', 0x1a000053, 0xfe00007f, 'FR', D, beh, Operation.FdivD),
  row('fsqrt.d', 0x5a000053, 0xfff0007f, 'FUnary', D, beh, Operation.FsqrtD),
  row('fsgnj.d', 0x22000053, R_MASK, 'FRNoRm', D, beh, Operation.FsgnjD),
  row('fsgnjn.d', 0x22001053, R_MASK, 'FRNoRm', D, beh, Operation.FsgnjnD),
  row('fsgnjx.d', 0x22002053, R_MASK, 'FRNoRm', D, beh, Operation.FsgnjxD),
  row('fmin.d', 0x2a000053, R_MASK, 'FRNoRm', D, beh, Operation.FminD),
  row('fmax.d', 0x2a001053, R_MASK, 'FRNoRm', D, beh, Operation.FmaxD),
  row('fcvt.s.d', 0x40100053, 0xfff0007f, 'FUnary', D, beh, Operation.FcvtSD),
  row('fcvt.d.s', 0x42000053, 0xfff0007f, 'FUnary', D, beh, Operation.FcvtDS),
  row('feq.d', 0xa2002053, R_MASK, 'FCompare', D, beh, Operation.FeqD),
  row('flt.d', 0xa2001053, R_MASK, 'FCompare', D, beh, Operation.FltD),
  row('fle.d', 0xa2000053, R_MASK, 'FCompare', D, beh, Operation.FleD),
  row('fclass.d', 0xe2001053, 0xfff0707f, 'FMoveToInt', D, beh, Operation.FclassD),
  row('fcvt.w.d', 0xc2000053, 0xfff0007f, 'FToInt', D, beh, Operation.FcvtWD),
  row('fcvt.wu.d', 0xc2100053, 0xfff0007f, 'FToInt', D, beh, Operation.FcvtWuD),
  row('fcvt.l.d', 0xc2200053, 0xfff0007f, 'FToInt', D, beh, Operation.FcvtLD),
  row('fcvt.lu.d', 0xc2300053, 0xfff0007f, 'FToInt', D, beh, Operation.FcvtLuD),
  row('fmv.x.d', 0xe2000053, 0xfff0707f, 'FMoveToInt', D, beh, Operation.FmvXD),
  row('fcvt.d.w', 0xd2000053, 0xfff0007f, 'IntToF', D, beh, Operation.FcvtDW),
  row('fcvt.d.wu', 0xd2100053, 0xfff0007f, 'IntToF', D, beh, Operation.FcvtDWu),
  row('fcvt.d.l', 0xd2200053, 0xfff0007f, 'IntToF', D, beh, Operation.FcvtDL),
  row('fcvt.d.lu', 0xd2300053, 0xfff0007f, 'IntToF', D, beh, Operation.FcvtDLu),
  row('fmv.d.x', 0xf2000053, 0xfff0707f, 'FMoveFromInt', D, beh, Operation.FmvDX),
  // Zba
  row('sh1add', 0x20002033, R_MASK, 'R', 'Zba', inn, Operation.Sh1add),
  row('sh2add', 0x20004033, R_MASK, 'R', 'Zba', inn, Operation.Sh2add),
  row('sh3add', 0x20006033, R_MASK, 'R', 'Zba', inn, Operation.Sh3add),
  row('add.uw', 0x0800003b, R_MASK, 'R', 'Zba', inn, Operation.AddUw),
  row('sh1add.uw', 0x2000203b, R_MASK, 'R', 'Zba', inn, Operation.Sh1addUw),
  row('sh2add.uw', 0x2000403b, R_MASK, 'R', 'Zba', inn, Operation.Sh2addUw),
  row('sh3add.uw', 0x2000603b, R_MASK, 'R', 'Zba', inn, Operation.Sh3addUw),
  row('slli.uw', 0x0800101b, SHIFT64_MASK, 'Shift', 'Zba', inn, Operation.SlliUw),
  // Zbb
  row('andn', 0x40007033, R_MASK, 'R', 'Zbb', inn, Operation.Andn),
  row('orn', 0x40006033, R_MASK, 'R', 'Zbb', inn, Operation.Orn),
  row('xnor', 0x40004033, R_MASK, 'R', 'Zbb', inn, Operation.Xnor),
  row('clz', 0x60001013, UNARY_MASK, 'Unary', 'Zbb', inn, Operation.Clz),
  row('ctz', 0x60101013, UNARY_MASK, 'Unary', 'Zbb', inn, Operation.Ctz),
  row('cpop', 0x60201013, UNARY_MASK, 'Unary', 'Zbb', inn, Operation.Cpop),
  row('clzw', 0x6000101b, UNARY_MASK, 'Unary', 'Zbb', inn, Operation.Clzw),
  row('ctzw', 0x6010101b, UNARY_MASK, 'Unary', 'Zbb', inn, Operation.Ctzw),
  row('cpopw', 0x6020101b, UNARY_MASK, 'Unary', 'Zbb', inn, Operation.Cpopw),
  row('max', 0x0a006033, R_MASK, 'R', 'Zbb', inn, Operation.Max),
  row('maxu', 0x0a007033, R_MASK, 'R', 'Zbb', inn, Operation.Maxu),
  row('min', 0x0a004033, R_MASK, 'R', 'Zbb', inn, Operation.Min),
  row('minu', 0x0a005033, R_MASK, 'R', 'Zbb', inn, Operation.Minu),
  row('sext.b', 0x60401013, UNARY_MASK, 'Unary', 'Zbb', inn, Operation.SextB),
  row('sext.h', 0x60501013, UNARY_MASK, 'Unary', 'Zbb', inn, Operation.SextH),
  row('zext.h', 0x0800403b, UNARY_MASK, 'Unary', 'Zbb', inn, Operation.ZextH),
  row('rol', 0x60001033, R_MASK, 'R', 'Zbb', inn, Operation.Rol),
  row('ror', 0x60005033, R_MASK, 'R', 'Zbb', inn, Operation.Ror),
  row('rolw', 0x6000103b, R_MASK, 'R', 'Zbb', inn, Operation.Rolw),
  row('rorw', 0x6000503b, R_MASK, 'R', 'Zbb', inn, Operation.Rorw),
  row('rori', 0x60005013, SHIFT64_MASK, 'Shift', 'Zbb', inn, Operation.Rori),
  row('roriw', 0x6000501b, R_MASK, 'ShiftW', 'Zbb', inn, Operation.Roriw),
  row('orc.b', 0x28705013, UNARY_MASK, 'Unary', 'Zbb', inn, Operation.OrcB),
  row('rev8', 0x6b805013, UNARY_MASK, 'Unary', 'Zbb', inn, Operation.Rev8),
  // Zbc
  row('clmul', 0x0a001033, R_MASK, 'R', 'Zbc', inn, Operation.Clmul),
  row('clmulh', 0x0a003033, R_MASK, 'R', 'Zbc', inn, Operation.Clmulh),
  row('clmulr', 0x0a002033, R_MASK, 'R', 'Zbc', inn, Operation.Clmulr),
  // Zbs
  row('bclr', 0x48001033, R_MASK, 'R', 'Zbs', inn, Operation.Bclr),
  row('bclri', 0x48001013, SHIFT64_MASK, 'Shift', 'Zbs', inn, Operation.Bclri),
  row('bext', 0x48005033, R_MASK, 'R', 'Zbs', inn, Operation.Bext),
  row('bexti', 0x48005013, SHIFT64_MASK, 'Shift', 'Zbs', inn, Operation.Bexti),
  row('binv', 0x68001033, R_MASK, 'R', 'Zbs', inn, Operation.Binv),
  row('binvi', 0x68001013, SHIFT64_MASK, 'Shift', 'Zbs', inn, Operation.Binvi),
  row('bset', 0x28001033, R_MASK, 'R', 'Zbs', inn, Operation.Bset),
  row('bseti', 0x28001013, SHIFT64_MASK, 'Shift', 'Zbs', inn, Operation.Bseti),
  // C, quadrant 0
  row('c.addi4spn', 0x0000, C_MASK, 'CIW', C, inn, Operation.Addi),
  row('c.fld', 0x2000, C_MASK, 'CLD', C, beh, Operation.Fld),
  row('c.lw', 0x4000, C_MASK, 'CLW', C, beh, Operation.Lw),
  row('c.ld', 0x6000, C_MASK, 'CLD', C, beh, Operation.Ld),
  row('c.fsd', 0xa000, C_MASK, 'CSD', C, beh, Operation.Fsd),
  row('c.sw', 0xc000, C_MASK, 'CSW', C, beh, Operation.Sw),
  row('c.sd', 0xe000, C_MASK, 'CSD', C, beh, Operation.Sd),
  // C, quadrant 1
  row('c.addi', 0x0001, C_MASK, 'CIAddi', C, inn, Operation.Addi),
  row('c.addiw', 0x2001, C_MASK, 'CIAddi', C, inn, Operation.Addiw),
  row('c.li', 0x4001, C_MASK, 'CILi', C, inn, Operation.Addi),
  row('c.addi16sp', 0x6101, 0xef83, 'CIAddi16sp', C, inn, Operation.Addi),
  row('c.lui', 0x6001, C_MASK, 'CILui', C, inn, Operation.Lui),
  row('c.srli', 0x8001, 0xec03, 'CBShift', C, inn, Operation.Srli),
  row('c.srai', 0x8401, 0xec03, 'CBShift', C, inn, Operation.Srai),
  row('c.andi', 0x8801, 0xec03, 'CBAndi', C, inn, Operation.Andi),
  row('c.sub', 0x8c01, 0xfc63, 'CA', C, inn, Operation.Sub),
  row('c.xor', 0x8c21, 0xfc63, 'CA', C, inn, Operation.Xor),
  row('c.or', 0x8c41, 0xfc63, 'CA', C, inn, Operation.Or),
  row('c.and', 0x8c61, 0xfc63, 'CA', C, inn, Operation.And),
  row('c.subw', 0x9c01, 0xfc63, 'CA', C, inn, Operation.Subw),
  row('c.addw', 0x9c21, 0xfc63, 'CA', C, inn, Operation.Addw),
  row('c.j', 0xa001, C_MASK, 'CJ', C, inn, Operation.Jal),
  row('c.beqz', 0xc001, C_MASK, 'CBBranch', C, inn, Operation.Beq),
  row('c.bnez', 0xe001, C_MASK, 'CBBranch', C, inn, Operation.Bne),
  // C, quadrant 2
  row('c.slli', 0x0002, C_MASK, 'CIShift', C, inn, Operation.Slli),
  row('c.fldsp', 0x2002, C_MASK, 'CILdsp', C, beh, Operation.Fld),
  row('c.lwsp', 0x4002, C_MASK, 'CILwsp', C, beh, Operation.Lw),
  row('c.ldsp', 0x6002, C_MASK, 'CILdsp', C, beh, Operation.Ld),
  row('c.ebreak', 0x9002, 0xffff, 'CNone', C, ctl, Operation.Ebreak),
  row('c.jr', 0x8002, 0xf07f, 'CRJr', C, inn, Operation.Jalr),
  row('c.jalr', 0x9002, 0xf07f, 'CRJalr', C, inn, Operation.Jalr),
  row('c.mv', 0x8002, 0xf003, 'CRMv', C, inn, Operation.Add),
  row('c.add', 0x9002, 0xf003, 'CRAdd', C, inn, Operation.Add),
  row('c.fsdsp', 0xa002, C_MASK, 'CSSdsp', C, beh, Operation.Fsd),
  row('c.swsp', 0xc002, C_MASK, 'CSSwsp', C, beh, Operation.Sw),
  row('c.sdsp', 0xe002, C_MASK, 'CSSdsp', C, beh, Operation.Sd),
];

/** The base (32-bit) row for each operation, used by the disassembler to print expansions. */
export const BASE_ROW_BY_OPERATION: readonly InstructionSpec[] = (() => {
  const byOperation: InstructionSpec[] = [];
  for (const spec of INSTRUCTIONS) {
    if (spec.length === 4 && byOperation[spec.operation] === undefined) byOperation[spec.operation] = spec;
  }
  return byOperation;
})();
