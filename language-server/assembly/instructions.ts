// What the language server knows about a mnemonic: the row of vmm-core's one instruction table
// (encoding, extension, Popek–Goldberg class), or the assembler's pseudo-instruction and the
// table rows it expands to, and which operands are immediates or CSRs with which range.

import { INSTRUCTIONS, type InstructionFormat, type InstructionSpec, type SensitivityClass } from '../../vmm-core/isa/table';

export type ImmediateKind =
  /** Signed 12-bit: I-type immediates and load/store offsets. */
  | 'signed12'
  /** Shift amount of an RV64 shift, 0..63. */
  | 'shift64'
  /** Shift amount of a 32-bit (W) shift, 0..31. */
  | 'shift32'
  /** lui/auipc's 20-bit upper immediate, 0..1048575. */
  | 'upper20'
  /** The 5-bit zero-extended immediate of csrr*i, 0..31. */
  | 'unsigned5'
  /** li: any 64-bit value. */
  | 'any64'
  /** c.addi, c.addiw, c.li, c.andi: signed 6 bits, -32..31. */
  | 'compressedSigned6'
  /** c.slli, c.srli, c.srai: 1..63. */
  | 'compressedShift'
  /** c.lui: 1..31 or 0xfffe0..0xfffff (the 6-bit field sign-extended into bits 17:12). */
  | 'compressedUpper'
  /** c.addi16sp: a non-zero multiple of 16 in -512..496. */
  | 'compressedStackAdjust'
  /** c.addi4spn: a non-zero multiple of 4 in 4..1020. */
  | 'compressedStackAddress'
  /** c.lw/c.sw offsets: multiples of 4 in 0..124; c.ld/c.sd/c.fld/c.fsd: multiples of 8 in 0..248. */
  | 'compressedWordOffset' | 'compressedDoubleOffset'
  /** c.lwsp/c.swsp offsets: multiples of 4 in 0..252; c.ldsp/c.sdsp/c.fldsp/c.fsdsp: multiples of 8 in 0..504. */
  | 'compressedStackWordOffset' | 'compressedStackDoubleOffset';

export interface ImmediateOperand {
  readonly index: number;
  readonly kind: ImmediateKind;
  /** The operand is `offset(register)`: the offset is checked. */
  readonly offsetOfAddress?: boolean;
}

export interface CsrAccessShape {
  /** Operand index of the CSR. */
  readonly csrIndex: number;
  /**
   * Whether the access writes the CSR: always, never, or only when the operand at `sourceIndex`
   * is not x0 / not the immediate 0 (csrrs/csrrc and their immediate forms read only then).
   */
  readonly writes: 'always' | 'never' | 'unlessSourceIsZero';
  readonly sourceIndex?: number;
}

export interface PseudoInstruction {
  readonly mnemonic: string;
  readonly syntax: string;
  readonly expansion: string;
  /** The table rows it assembles to (for its extension and class). */
  readonly expandsTo: readonly string[];
  readonly immediates?: readonly ImmediateOperand[];
  readonly csrAccess?: CsrAccessShape;
}

export interface KnownInstruction {
  readonly kind: 'instruction';
  readonly spec: InstructionSpec;
  readonly immediates: readonly ImmediateOperand[];
  readonly csrAccess?: CsrAccessShape;
}

export interface KnownPseudoInstruction {
  readonly kind: 'pseudo';
  readonly pseudo: PseudoInstruction;
  readonly specs: readonly InstructionSpec[];
}

export type MnemonicInfo = KnownInstruction | KnownPseudoInstruction;

const SPEC_BY_MNEMONIC = new Map<string, InstructionSpec>();
for (const spec of INSTRUCTIONS) if (!SPEC_BY_MNEMONIC.has(spec.mnemonic)) SPEC_BY_MNEMONIC.set(spec.mnemonic, spec);

function immediatesOfFormat(format: InstructionFormat): ImmediateOperand[] {
  switch (format) {
    case 'I': return [{ index: 2, kind: 'signed12' }];
    case 'Load': case 'FLoad': case 'S': case 'FStore': return [{ index: 1, kind: 'signed12', offsetOfAddress: true }];
    case 'Shift': return [{ index: 2, kind: 'shift64' }];
    case 'ShiftW': return [{ index: 2, kind: 'shift32' }];
    case 'U': return [{ index: 1, kind: 'upper20' }];
    case 'CsrImm': return [{ index: 2, kind: 'unsigned5' }];
    case 'CIAddi': case 'CILi': case 'CBAndi': return [{ index: 1, kind: 'compressedSigned6' }];
    case 'CIShift': case 'CBShift': return [{ index: 1, kind: 'compressedShift' }];
    case 'CILui': return [{ index: 1, kind: 'compressedUpper' }];
    case 'CIAddi16sp': return [{ index: 1, kind: 'compressedStackAdjust' }];
    case 'CIW': return [{ index: 2, kind: 'compressedStackAddress' }];
    case 'CLW': case 'CSW': return [{ index: 1, kind: 'compressedWordOffset', offsetOfAddress: true }];
    case 'CLD': case 'CSD': return [{ index: 1, kind: 'compressedDoubleOffset', offsetOfAddress: true }];
    case 'CILwsp': case 'CSSwsp': return [{ index: 1, kind: 'compressedStackWordOffset', offsetOfAddress: true }];
    case 'CILdsp': case 'CSSdsp': return [{ index: 1, kind: 'compressedStackDoubleOffset', offsetOfAddress: true }];
    // jalr's forms are told apart by operand count in the analysis.
    default: return [];
  }
}

function csrAccessOfInstruction(mnemonic: string): CsrAccessShape | undefined {
  switch (mnemonic) {
    case 'csrrw': case 'csrrwi': return { csrIndex: 1, writes: 'always' };
    case 'csrrs': case 'csrrc': case 'csrrsi': case 'csrrci': return { csrIndex: 1, writes: 'unlessSourceIsZero', sourceIndex: 2 };
    default: return undefined;
  }
}

function pseudo(
  mnemonic: string, syntax: string, expansion: string, expandsTo: readonly string[],
  extra: Pick<PseudoInstruction, 'immediates' | 'csrAccess'> = {},
): PseudoInstruction {
  return { mnemonic, syntax, expansion, expandsTo, ...extra };
}

/** The pseudo-instructions and aliases GNU as (binutils 2.40) accepts for RV64GC. */
export const PSEUDO_INSTRUCTIONS: readonly PseudoInstruction[] = [
  pseudo('nop', 'nop', 'addi x0, x0, 0', ['addi']),
  pseudo('li', 'li rd, immediate', 'lui/addi(w)/slli sequence building the 64-bit constant', ['lui', 'addiw', 'slli', 'addi'],
    { immediates: [{ index: 1, kind: 'any64' }] }),
  pseudo('la', 'la rd, symbol', 'auipc rd, %pcrel_hi(symbol); addi rd, rd, %pcrel_lo(...) (or a GOT load when PIC)', ['auipc', 'addi']),
  pseudo('lla', 'lla rd, symbol', 'auipc rd, %pcrel_hi(symbol); addi rd, rd, %pcrel_lo(...)', ['auipc', 'addi']),
  pseudo('lga', 'lga rd, symbol', 'auipc rd, %got_pcrel_hi(symbol); ld rd, %pcrel_lo(...)(rd)', ['auipc', 'ld']),
  pseudo('mv', 'mv rd, rs', 'addi rd, rs, 0', ['addi']),
  pseudo('move', 'move rd, rs', 'addi rd, rs, 0 (another name for mv)', ['addi']),
  pseudo('not', 'not rd, rs', 'xori rd, rs, -1', ['xori']),
  pseudo('neg', 'neg rd, rs', 'sub rd, x0, rs', ['sub']),
  pseudo('negw', 'negw rd, rs', 'subw rd, x0, rs', ['subw']),
  pseudo('sext.w', 'sext.w rd, rs', 'addiw rd, rs, 0', ['addiw']),
  pseudo('zext.b', 'zext.b rd, rs', 'andi rd, rs, 255', ['andi']),
  pseudo('zext.w', 'zext.w rd, rs', 'add.uw rd, rs, x0', ['add.uw']),
  pseudo('seqz', 'seqz rd, rs', 'sltiu rd, rs, 1', ['sltiu']),
  pseudo('snez', 'snez rd, rs', 'sltu rd, x0, rs', ['sltu']),
  pseudo('sltz', 'sltz rd, rs', 'slt rd, rs, x0', ['slt']),
  pseudo('sgtz', 'sgtz rd, rs', 'slt rd, x0, rs', ['slt']),
  pseudo('sgt', 'sgt rd, rs, rt', 'slt rd, rt, rs', ['slt']),
  pseudo('sgtu', 'sgtu rd, rs, rt', 'sltu rd, rt, rs', ['sltu']),
  pseudo('beqz', 'beqz rs, offset', 'beq rs, x0, offset', ['beq']),
  pseudo('bnez', 'bnez rs, offset', 'bne rs, x0, offset', ['bne']),
  pseudo('blez', 'blez rs, offset', 'bge x0, rs, offset', ['bge']),
  pseudo('bgez', 'bgez rs, offset', 'bge rs, x0, offset', ['bge']),
  pseudo('bltz', 'bltz rs, offset', 'blt rs, x0, offset', ['blt']),
  pseudo('bgtz', 'bgtz rs, offset', 'blt x0, rs, offset', ['blt']),
  pseudo('bgt', 'bgt rs, rt, offset', 'blt rt, rs, offset', ['blt']),
  pseudo('ble', 'ble rs, rt, offset', 'bge rt, rs, offset', ['bge']),
  pseudo('bgtu', 'bgtu rs, rt, offset', 'bltu rt, rs, offset', ['bltu']),
  pseudo('bleu', 'bleu rs, rt, offset', 'bgeu rt, rs, offset', ['bgeu']),
  pseudo('j', 'j offset', 'jal x0, offset', ['jal']),
  pseudo('jr', 'jr rs', 'jalr x0, 0(rs)', ['jalr']),
  pseudo('ret', 'ret', 'jalr x0, 0(ra)', ['jalr']),
  pseudo('call', 'call symbol', 'auipc ra, %pcrel_hi(symbol); jalr ra, %pcrel_lo(...)(ra)', ['auipc', 'jalr']),
  pseudo('tail', 'tail symbol', 'auipc t1, %pcrel_hi(symbol); jalr x0, %pcrel_lo(...)(t1)', ['auipc', 'jalr']),
  pseudo('jump', 'jump symbol, rt', 'auipc rt, %pcrel_hi(symbol); jalr x0, %pcrel_lo(...)(rt)', ['auipc', 'jalr']),
  pseudo('fence.tso', 'fence.tso', 'fence (fm = TSO) rw, rw', ['fence']),
  pseudo('unimp', 'unimp', 'csrrw x0, cycle, x0 (an instruction that always traps)', ['csrrw']),
  pseudo('c.unimp', 'c.unimp', 'the all-zero 16-bit instruction (always illegal)', ['c.addi4spn']),
  pseudo('c.nop', 'c.nop', 'c.addi x0, 0', ['c.addi']),
  pseudo('scall', 'scall', 'ecall (old name)', ['ecall']),
  pseudo('sbreak', 'sbreak', 'ebreak (old name)', ['ebreak']),
  pseudo('csrr', 'csrr rd, csr', 'csrrs rd, csr, x0', ['csrrs'], { csrAccess: { csrIndex: 1, writes: 'never' } }),
  pseudo('csrw', 'csrw csr, rs', 'csrrw x0, csr, rs', ['csrrw'], { csrAccess: { csrIndex: 0, writes: 'always' } }),
  pseudo('csrs', 'csrs csr, rs', 'csrrs x0, csr, rs', ['csrrs'],
    { csrAccess: { csrIndex: 0, writes: 'unlessSourceIsZero', sourceIndex: 1 } }),
  pseudo('csrc', 'csrc csr, rs', 'csrrc x0, csr, rs', ['csrrc'],
    { csrAccess: { csrIndex: 0, writes: 'unlessSourceIsZero', sourceIndex: 1 } }),
  pseudo('csrwi', 'csrwi csr, uimm', 'csrrwi x0, csr, uimm', ['csrrwi'],
    { csrAccess: { csrIndex: 0, writes: 'always' }, immediates: [{ index: 1, kind: 'unsigned5' }] }),
  pseudo('csrsi', 'csrsi csr, uimm', 'csrrsi x0, csr, uimm', ['csrrsi'],
    { csrAccess: { csrIndex: 0, writes: 'unlessSourceIsZero', sourceIndex: 1 }, immediates: [{ index: 1, kind: 'unsigned5' }] }),
  pseudo('csrci', 'csrci csr, uimm', 'csrrci x0, csr, uimm', ['csrrci'],
    { csrAccess: { csrIndex: 0, writes: 'unlessSourceIsZero', sourceIndex: 1 }, immediates: [{ index: 1, kind: 'unsigned5' }] }),
  pseudo('rdcycle', 'rdcycle rd', 'csrrs rd, cycle, x0', ['csrrs']),
  pseudo('rdtime', 'rdtime rd', 'csrrs rd, time, x0', ['csrrs']),
  pseudo('rdinstret', 'rdinstret rd', 'csrrs rd, instret, x0', ['csrrs']),
  pseudo('frcsr', 'frcsr rd', 'csrrs rd, fcsr, x0', ['csrrs']),
  pseudo('fscsr', 'fscsr [rd,] rs', 'csrrw rd, fcsr, rs', ['csrrw']),
  pseudo('frrm', 'frrm rd', 'csrrs rd, frm, x0', ['csrrs']),
  pseudo('fsrm', 'fsrm [rd,] rs', 'csrrw rd, frm, rs', ['csrrw']),
  pseudo('fsrmi', 'fsrmi [rd,] uimm', 'csrrwi rd, frm, uimm', ['csrrwi']),
  pseudo('frflags', 'frflags rd', 'csrrs rd, fflags, x0', ['csrrs']),
  pseudo('fsflags', 'fsflags [rd,] rs', 'csrrw rd, fflags, rs', ['csrrw']),
  pseudo('fsflagsi', 'fsflagsi [rd,] uimm', 'csrrwi rd, fflags, uimm', ['csrrwi']),
  pseudo('fmv.s', 'fmv.s rd, rs', 'fsgnj.s rd, rs, rs', ['fsgnj.s']),
  pseudo('fabs.s', 'fabs.s rd, rs', 'fsgnjx.s rd, rs, rs', ['fsgnjx.s']),
  pseudo('fneg.s', 'fneg.s rd, rs', 'fsgnjn.s rd, rs, rs', ['fsgnjn.s']),
  pseudo('fmv.d', 'fmv.d rd, rs', 'fsgnj.d rd, rs, rs', ['fsgnj.d']),
  pseudo('fabs.d', 'fabs.d rd, rs', 'fsgnjx.d rd, rs, rs', ['fsgnjx.d']),
  pseudo('fneg.d', 'fneg.d rd, rs', 'fsgnjn.d rd, rs, rs', ['fsgnjn.d']),
  pseudo('fgt.s', 'fgt.s rd, rs, rt', 'flt.s rd, rt, rs', ['flt.s']),
  pseudo('fge.s', 'fge.s rd, rs, rt', 'fle.s rd, rt, rs', ['fle.s']),
  pseudo('fgt.d', 'fgt.d rd, rs, rt', 'flt.d rd, rt, rs', ['flt.d']),
  pseudo('fge.d', 'fge.d rd, rs, rt', 'fle.d rd, rt, rs', ['fle.d']),
  pseudo('fmv.x.s', 'fmv.x.s rd, rs', 'fmv.x.w rd, rs (old name)', ['fmv.x.w']),
  pseudo('fmv.s.x', 'fmv.s.x rd, rs', 'fmv.w.x rd, rs (old name)', ['fmv.w.x']),
];

const PSEUDO_BY_MNEMONIC = new Map(PSEUDO_INSTRUCTIONS.map((entry) => [entry.mnemonic, entry]));

/** The atomic instructions take ordering suffixes: amoswap.w.aqrl, lr.d.aq, sc.w.rl. */
function withoutOrderingSuffix(mnemonic: string): string {
  return /^(amo|lr\.|sc\.)/.test(mnemonic) ? mnemonic.replace(/\.(aqrl|aq|rl)$/, '') : mnemonic;
}

/** What `mnemonic` (any case, as gas accepts) is, or undefined for no known instruction. */
export function lookUpMnemonic(mnemonic: string): MnemonicInfo | undefined {
  const name = withoutOrderingSuffix(mnemonic.toLowerCase());
  const spec = SPEC_BY_MNEMONIC.get(name);
  if (spec !== undefined) {
    return { kind: 'instruction', spec, immediates: immediatesOfFormat(spec.format), csrAccess: csrAccessOfInstruction(name) };
  }
  const entry = PSEUDO_BY_MNEMONIC.get(name);
  if (entry === undefined) return undefined;
  const specs = entry.expandsTo.map((base) => SPEC_BY_MNEMONIC.get(base)).filter((row): row is InstructionSpec => row !== undefined);
  return { kind: 'pseudo', pseudo: entry, specs };
}

/** Every mnemonic for completion: the table's, then the pseudo-instructions. */
export function allMnemonics(): string[] {
  return [...SPEC_BY_MNEMONIC.keys(), ...PSEUDO_BY_MNEMONIC.keys()];
}

const CLASS_ORDER: Record<SensitivityClass, number> = { innocuous: 0, behaviourSensitive: 1, controlSensitive: 2, privileged: 3 };

/** The most sensitive class among the rows a mnemonic stands for. */
export function classOf(info: MnemonicInfo): SensitivityClass {
  if (info.kind === 'instruction') return info.spec.sensitivity;
  let result: SensitivityClass = 'innocuous';
  for (const spec of info.specs) if (CLASS_ORDER[spec.sensitivity] > CLASS_ORDER[result]) result = spec.sensitivity;
  return result;
}

/** Words for a Popek–Goldberg class, as in the issue: innocuous / privileged / sensitive. */
export function describeClass(sensitivity: SensitivityClass): { title: string; explanation: string } {
  switch (sensitivity) {
    case 'innocuous':
      return { title: 'innocuous', explanation: 'runs directly: its effect does not depend on the privilege level or machine control state' };
    case 'privileged':
      return { title: 'privileged', explanation: 'traps (illegal instruction) when executed below the privilege it needs: the monitor emulates it' };
    case 'controlSensitive':
      return { title: 'sensitive (control-sensitive)', explanation: 'changes machine control state or transfers control to the monitor without being privileged' };
    case 'behaviourSensitive':
      return { title: 'sensitive (behaviour-sensitive)', explanation: 'its effect depends on privilege or control state: address translation, PMP, mstatus.FS, frm' };
  }
}

/** Field layout of a 32-bit format, from bit 31 down: [high, low, name of a variable field]. */
const FIELDS_OF_FORMAT: Partial<Record<InstructionFormat, ReadonlyArray<readonly [number, number, string]>>> = (() => {
  const tail: ReadonlyArray<readonly [number, number, string]> = [[19, 15, 'rs1'], [14, 12, 'funct3'], [11, 7, 'rd'], [6, 0, 'opcode']];
  const register: ReadonlyArray<readonly [number, number, string]> = [[31, 25, 'funct7'], [24, 20, 'rs2'], ...tail];
  const withRoundingMode: ReadonlyArray<readonly [number, number, string]> = [[31, 25, 'funct7'], [24, 20, 'rs2'], [19, 15, 'rs1'], [14, 12, 'rm'], [11, 7, 'rd'], [6, 0, 'opcode']];
  const immediate: ReadonlyArray<readonly [number, number, string]> = [[31, 20, 'imm[11:0]'], ...tail];
  const store: ReadonlyArray<readonly [number, number, string]> = [[31, 25, 'imm[11:5]'], [24, 20, 'rs2'], [19, 15, 'rs1'], [14, 12, 'funct3'], [11, 7, 'imm[4:0]'], [6, 0, 'opcode']];
  return {
    R: register, FRNoRm: register, FCompare: register, SfenceVma: register, Amo: [[31, 27, 'funct5'], [26, 26, 'aq'], [25, 25, 'rl'], [24, 20, 'rs2'], ...tail],
    Lr: [[31, 27, 'funct5'], [26, 26, 'aq'], [25, 25, 'rl'], [24, 20, 'rs2'], ...tail],
    I: immediate, Load: immediate, Jalr: immediate, FLoad: immediate, None: immediate, Unary: immediate,
    FMoveToInt: immediate, FMoveFromInt: immediate,
    S: store, FStore: store,
    B: [[31, 25, 'imm[12|10:5]'], [24, 20, 'rs2'], [19, 15, 'rs1'], [14, 12, 'funct3'], [11, 7, 'imm[4:1|11]'], [6, 0, 'opcode']],
    U: [[31, 12, 'imm[31:12]'], [11, 7, 'rd'], [6, 0, 'opcode']],
    J: [[31, 12, 'imm[20|10:1|11|19:12]'], [11, 7, 'rd'], [6, 0, 'opcode']],
    Shift: [[31, 26, 'funct6'], [25, 20, 'shamt'], ...tail],
    ShiftW: [[31, 25, 'funct7'], [24, 20, 'shamt'], ...tail],
    Fence: [[31, 28, 'fm'], [27, 24, 'pred'], [23, 20, 'succ'], ...tail],
    Csr: [[31, 20, 'csr'], ...tail],
    CsrImm: [[31, 20, 'csr'], [19, 15, 'uimm'], [14, 12, 'funct3'], [11, 7, 'rd'], [6, 0, 'opcode']],
    R4: [[31, 27, 'rs3'], [26, 25, 'fmt'], [24, 20, 'rs2'], [19, 15, 'rs1'], [14, 12, 'rm'], [11, 7, 'rd'], [6, 0, 'opcode']],
    FR: withRoundingMode, FUnary: withRoundingMode, FToInt: withRoundingMode, IntToF: withRoundingMode,
  };
})();

/** Compressed instructions: the fixed funct3 and op, the operand bits in between. */
const COMPRESSED_FIELDS: ReadonlyArray<readonly [number, number, string]> = [[15, 13, 'funct3'], [12, 2, 'operands'], [1, 0, 'op']];

export interface EncodingField {
  readonly high: number;
  readonly low: number;
  /** Fixed bits as 0/1 (a variable bit inside a partly fixed field as '·'), or the variable field's name. */
  readonly text: string;
}

/** The instruction's bit layout: fixed bits from its match/mask, the rest named by its format. */
export function encodingFields(spec: InstructionSpec): EncodingField[] {
  const layout = spec.length === 2 ? COMPRESSED_FIELDS : FIELDS_OF_FORMAT[spec.format] ?? [[31, 0, 'bits']];
  return layout.map(([high, low, name]) => {
    let bits = '';
    let fixed = 0;
    for (let bit = high; bit >= low; bit--) {
      if ((spec.mask >>> bit) & 1) {
        bits += String((spec.match >>> bit) & 1);
        fixed++;
      } else bits += '·';
    }
    const width = high - low + 1;
    return { high, low, text: fixed === 0 ? name : fixed === width ? bits : `${name} ${bits}` };
  });
}
