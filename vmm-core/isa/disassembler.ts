// Disassembler producing the same text as GNU objdump -d (binutils 2.40) in its instruction
// column: objdump's aliases and operand order, ABI register names, CSR names, rounding-mode
// suffixes, absolute branch targets, and the expanded form of compressed instructions.
// Written from objdump's output only (test/fixtures/disassembly/ pins it); the known limits are
// objdump's "# address" comments, which depend on earlier instructions, and data that an ELF's
// mapping symbols mark as .word/.short. Like objdump, which follows an ELF's ISA attribute, it
// prints the instructions of optional extensions (Zba, Zbb, Zbc, Zbs, pause) only when the
// options enable them (by default they are all enabled).

import { csrName, type PrivilegedSpecVersion } from './csr-names';
import { decodeInstruction, DecodedInstruction, instructionLength } from './decoder';
import { Operation } from './operations';
import { floatRegisterName, integerRegisterName } from './registers';
import { ALL_EXTENSIONS, INSTRUCTIONS, type InstructionFormat, type InstructionSpec } from './table';

export interface DisassemblyOptions {
  /** Names a branch or jump target; the result is printed as objdump does: ` <name>`. */
  readonly symbolize?: (address: bigint) => string | undefined;
  /** CSR names follow this privileged-spec version (objdump follows the ELF's attribute). */
  readonly privilegedSpec?: PrivilegedSpecVersion;
  /**
   * Optional extensions to decode (table.ts's mask, e.g. from extensionMaskOfIsaString of the
   * ELF's Tag_RISCV_arch or a CPU model); the rest print as .4byte. Default: all of them.
   */
  readonly extensions?: number;
}

export interface Disassembly {
  /** mnemonic, a TAB and operands, as objdump prints them; just the mnemonic without operands. */
  readonly text: string;
  readonly mnemonic: string;
  readonly operands: string;
  readonly length: 2 | 4;
}

const ADDRESS_MASK = (1n << 64n) - 1n;
const ROUNDING_MODE_NAMES: readonly string[] = ['rne', 'rtz', 'rdn', 'rup', 'rmm', 'unknown', 'unknown', ''];

// One scratch decode target: disassemble() is synchronous and never re-entered.
const scratch = new DecodedInstruction();

const x = integerRegisterName;
const f = floatRegisterName;
const hex = (value: number) => `0x${(value >>> 0).toString(16)}`;
const memory = (offset: number, base: number) => `${offset}(${x(base)})`;

/** What a formatter returns: mnemonic, operands and, for branches and jumps, the target offset. */
interface Form {
  mnemonic: string;
  operands: string;
  targetOffset?: number;
}

const form = (mnemonic: string, operands = '', targetOffset?: number): Form => ({ mnemonic, operands, targetOffset });

/**
 * Disassembles one instruction. `raw` holds the instruction bits (only the low 16 for a
 * compressed one); `address` is where it sits, for branch and jump targets.
 */
export function disassemble(raw: number, address: number | bigint, options?: DisassemblyOptions): Disassembly {
  const length = instructionLength(raw & 0xffff);
  const word = length === 2 ? raw & 0xffff : raw >>> 0;
  const extensions = options?.extensions ?? ALL_EXTENSIONS;
  const legal = decodeInstruction(word, scratch, extensions);
  const spec = legal ? INSTRUCTIONS[scratch.row] : undefined;
  const version = options?.privilegedSpec ?? '1.12';
  const result = length === 2
    ? formatCompressed(word, spec, scratch)
    : spec !== undefined ? formatWide(word, spec, scratch, version) : formatIllegalWide(word, version, extensions);

  let operands = result.operands;
  if (result.targetOffset !== undefined) {
    const target = (BigInt(address) + BigInt(result.targetOffset)) & ADDRESS_MASK;
    operands += (operands === '' ? '' : ',') + target.toString(16);
    const name = options?.symbolize?.(target);
    if (name !== undefined) operands += ` <${name}>`;
  }
  const text = operands === '' ? result.mnemonic : `${result.mnemonic}\t${operands}`;
  return { text, mnemonic: result.mnemonic, operands, length };
}

function illegalWide(word: number): Form {
  return form('.4byte', hex(word));
}

/**
 * objdump still prints F/D arithmetic whose rounding mode is reserved (5, 6), with the mode as
 * "unknown", although the decoder (rightly) calls those encodings illegal.
 */
function formatIllegalWide(word: number, version: PrivilegedSpecVersion, extensions: number): Form {
  const roundingMode = (word >>> 12) & 7;
  if (roundingMode !== 5 && roundingMode !== 6) return illegalWide(word);
  const withDynamicMode = (word | 0x7000) >>> 0;
  const probe = scratch; // the failed decode left nothing in it worth keeping
  if (!decodeInstruction(withDynamicMode, probe, extensions)) return illegalWide(word);
  const spec = INSTRUCTIONS[probe.row];
  if (!ROUNDING_FORMATS.has(spec.format)) return illegalWide(word);
  probe.roundingMode = roundingMode;
  return formatWide(word, spec, probe, version);
}

const ROUNDING_FORMATS: ReadonlySet<InstructionFormat> = new Set<InstructionFormat>(['FR', 'R4', 'FUnary', 'FToInt', 'IntToF']);

/** ",rtz" and so on; nothing for the dynamic mode, which is what the assembler assumes. */
function roundingSuffix(roundingMode: number): string {
  const name = ROUNDING_MODE_NAMES[roundingMode];
  return name === '' ? '' : `,${name}`;
}

function formatWide(word: number, spec: InstructionSpec, d: DecodedInstruction, version: PrivilegedSpecVersion): Form {
  const { rd, rs1, rs2, imm } = d;
  const name = spec.mnemonic;
  switch (spec.format) {
    case 'U':
      return form(name, `${x(rd)},${hex(imm >>> 12)}`);
    case 'J':
      if (rd === 0) return form('j', '', imm);
      if (rd === 1) return form('jal', '', imm);
      return form('jal', x(rd), imm);
    case 'Jalr':
      return formatJalr(rd, rs1, imm);
    case 'B':
      return formatBranch(spec.operation, rs1, rs2, imm);
    case 'Load':
      return form(name, `${x(rd)},${memory(imm, rs1)}`);
    case 'S':
      return form(name, `${x(rs2)},${memory(imm, rs1)}`);
    case 'I':
      return formatImmediate(spec.operation, name, rd, rs1, imm);
    case 'Shift': case 'ShiftW':
      // objdump names the immediate shifts after the register ones: slli → sll.
      return form(name.replace(/i(w?)$/, '$1'), `${x(rd)},${x(rs1)},${hex(imm)}`);
    case 'R':
      return formatRegister(spec.operation, name, rd, rs1, rs2);
    case 'Unary':
      return form(name, `${x(rd)},${x(rs1)}`);
    case 'Fence':
      return formatFence(word);
    case 'None':
      // fence.i's unused fields must be zero for objdump to call it fence.i.
      if (spec.operation === Operation.FenceI && (word & 0xffff8f80) !== 0) return illegalWide(word);
      return form(name);
    case 'SfenceVma':
      if (rs2 !== 0) return form(name, `${x(rs1)},${x(rs2)}`);
      return form(name, rs1 === 0 ? '' : x(rs1));
    case 'Csr':
      return formatCsrRegister(spec.operation, d.csr, rd, rs1, version);
    case 'CsrImm':
      return formatCsrImmediate(spec.operation, d.csr, rd, imm, version);
    case 'Amo': case 'Lr': {
      const ordering = ['', '.rl', '.aq', '.aqrl'][(word >>> 25) & 3];
      const operands = spec.format === 'Lr' ? `${x(rd)},(${x(rs1)})` : `${x(rd)},${x(rs2)},(${x(rs1)})`;
      return form(name + ordering, operands);
    }
    case 'FLoad':
      return form(name, `${f(rd)},${memory(imm, rs1)}`);
    case 'FStore':
      return form(name, `${f(rs2)},${memory(imm, rs1)}`);
    case 'R4':
      return form(name, `${f(rd)},${f(rs1)},${f(rs2)},${f(d.rs3)}${roundingSuffix(d.roundingMode)}`);
    case 'FR':
      return form(name, `${f(rd)},${f(rs1)},${f(rs2)}${roundingSuffix(d.roundingMode)}`);
    case 'FRNoRm':
      return formatSignInjection(spec.operation, name, rd, rs1, rs2);
    case 'FUnary':
      // Widening fcvt.d.s is exact; objdump only knows it with the rounding field zero.
      if (spec.operation === Operation.FcvtDS) return d.roundingMode === 0 ? form(name, `${f(rd)},${f(rs1)}`) : illegalWide(word);
      return form(name, `${f(rd)},${f(rs1)}${roundingSuffix(d.roundingMode)}`);
    case 'FCompare':
      return form(name, `${x(rd)},${f(rs1)},${f(rs2)}`);
    case 'FToInt':
      return form(name, `${x(rd)},${f(rs1)}${roundingSuffix(d.roundingMode)}`);
    case 'IntToF':
      // Likewise the exact fcvt.d.w and fcvt.d.wu.
      if (spec.operation === Operation.FcvtDW || spec.operation === Operation.FcvtDWu) {
        return d.roundingMode === 0 ? form(name, `${f(rd)},${x(rs1)}`) : illegalWide(word);
      }
      return form(name, `${f(rd)},${x(rs1)}${roundingSuffix(d.roundingMode)}`);
    case 'FMoveToInt':
      return form(name, `${x(rd)},${f(rs1)}`);
    case 'FMoveFromInt':
      return form(name, `${f(rd)},${x(rs1)}`);
    default:
      return illegalWide(word);
  }
}

function formatJalr(rd: number, rs1: number, imm: number): Form {
  if (rd === 0) {
    if (imm === 0) return rs1 === 1 ? form('ret') : form('jr', x(rs1));
    return form('jr', memory(imm, rs1));
  }
  if (rd === 1) return form('jalr', imm === 0 ? x(rs1) : memory(imm, rs1));
  return form('jalr', `${x(rd)},${imm === 0 ? x(rs1) : memory(imm, rs1)}`);
}

function formatBranch(operation: Operation, rs1: number, rs2: number, offset: number): Form {
  switch (operation) {
    case Operation.Beq:
      if (rs2 === 0) return form('beqz', x(rs1), offset);
      return form('beq', `${x(rs1)},${x(rs2)}`, offset);
    case Operation.Bne:
      if (rs2 === 0) return form('bnez', x(rs1), offset);
      return form('bne', `${x(rs1)},${x(rs2)}`, offset);
    case Operation.Blt:
      if (rs2 === 0) return form('bltz', x(rs1), offset);
      if (rs1 === 0) return form('bgtz', x(rs2), offset);
      return form('blt', `${x(rs1)},${x(rs2)}`, offset);
    case Operation.Bge:
      if (rs1 === 0) return form('blez', x(rs2), offset);
      if (rs2 === 0) return form('bgez', x(rs1), offset);
      return form('bge', `${x(rs1)},${x(rs2)}`, offset);
    case Operation.Bltu:
      return form('bltu', `${x(rs1)},${x(rs2)}`, offset);
    default:
      return form('bgeu', `${x(rs1)},${x(rs2)}`, offset);
  }
}

function formatImmediate(operation: Operation, name: string, rd: number, rs1: number, imm: number): Form {
  switch (operation) {
    case Operation.Addi:
      if (rs1 === 0) return rd === 0 && imm === 0 ? form('nop') : form('li', `${x(rd)},${imm}`);
      if (imm === 0) return form('mv', `${x(rd)},${x(rs1)}`);
      return form('add', `${x(rd)},${x(rs1)},${imm}`);
    case Operation.Addiw:
      if (imm === 0) return form('sext.w', `${x(rd)},${x(rs1)}`);
      return form('addw', `${x(rd)},${x(rs1)},${imm}`);
    case Operation.Sltiu:
      if (imm === 1) return form('seqz', `${x(rd)},${x(rs1)}`);
      return form(name, `${x(rd)},${x(rs1)},${imm}`);
    case Operation.Xori:
      if (imm === -1) return form('not', `${x(rd)},${x(rs1)}`);
      return form('xor', `${x(rd)},${x(rs1)},${imm}`);
    case Operation.Ori:
      return form('or', `${x(rd)},${x(rs1)},${imm}`);
    case Operation.Andi:
      if (imm === 255) return form('zext.b', `${x(rd)},${x(rs1)}`);
      return form('and', `${x(rd)},${x(rs1)},${imm}`);
    default:
      return form(name, `${x(rd)},${x(rs1)},${imm}`);
  }
}

function formatRegister(operation: Operation, name: string, rd: number, rs1: number, rs2: number): Form {
  switch (operation) {
    case Operation.Sub:
      if (rs1 === 0) return form('neg', `${x(rd)},${x(rs2)}`);
      break;
    case Operation.Subw:
      if (rs1 === 0) return form('negw', `${x(rd)},${x(rs2)}`);
      break;
    case Operation.Slt:
      if (rs2 === 0) return form('sltz', `${x(rd)},${x(rs1)}`);
      if (rs1 === 0) return form('sgtz', `${x(rd)},${x(rs2)}`);
      break;
    case Operation.Sltu:
      if (rs1 === 0) return form('snez', `${x(rd)},${x(rs2)}`);
      break;
    case Operation.AddUw:
      if (rs2 === 0) return form('zext.w', `${x(rd)},${x(rs1)}`);
      break;
    default:
      break;
  }
  return form(name, `${x(rd)},${x(rs1)},${x(rs2)}`);
}

function fenceSet(bits: number): string {
  if (bits === 0) return 'unknown';
  return (bits & 8 ? 'i' : '') + (bits & 4 ? 'o' : '') + (bits & 2 ? 'r' : '') + (bits & 1 ? 'w' : '');
}

function formatFence(word: number): Form {
  // objdump knows fence only with rd, rs1 and fm zero, and fence.tso only as fm=8 rw,rw.
  if (word === 0x8330000f) return form('fence.tso');
  if ((word & 0xf00f8f80) !== 0) return illegalWide(word);
  const predecessor = (word >>> 24) & 0xf;
  const successor = (word >>> 20) & 0xf;
  if (predecessor === 0xf && successor === 0xf) return form('fence');
  return form('fence', `${fenceSet(predecessor)},${fenceSet(successor)}`);
}

function formatCsrRegister(operation: Operation, csr: number, rd: number, rs1: number, version: PrivilegedSpecVersion): Form {
  const csrText = csrName(csr, version) ?? hex(csr);
  switch (operation) {
    case Operation.Csrrw: {
      // csrrw zero,cycle,zero is the canonical 32-bit unimp (cycle is read-only).
      if (csr === 0xc00 && rd === 0 && rs1 === 0) return form('unimp');
      const floatAlias = FLOAT_CSR_WRITE[csr];
      if (floatAlias !== undefined) return form(floatAlias, rd === 0 ? x(rs1) : `${x(rd)},${x(rs1)}`);
      if (rd === 0) return form('csrw', `${csrText},${x(rs1)}`);
      return form('csrrw', `${x(rd)},${csrText},${x(rs1)}`);
    }
    case Operation.Csrrs: {
      if (rs1 === 0) {
        const readAlias = CSR_READ_ALIAS.get(csr);
        if (readAlias !== undefined) return form(readAlias, x(rd));
        return form('csrr', `${x(rd)},${csrText}`);
      }
      if (rd === 0) return form('csrs', `${csrText},${x(rs1)}`);
      return form('csrrs', `${x(rd)},${csrText},${x(rs1)}`);
    }
    default:
      if (rd === 0) return form('csrc', `${csrText},${x(rs1)}`);
      return form('csrrc', `${x(rd)},${csrText},${x(rs1)}`);
  }
}

function formatCsrImmediate(operation: Operation, csr: number, rd: number, imm: number, version: PrivilegedSpecVersion): Form {
  const csrText = csrName(csr, version) ?? hex(csr);
  // objdump drops the "i": csrrwi prints as csrrw (or csrw) with an immediate operand.
  switch (operation) {
    case Operation.Csrrwi:
      if (csr === 1) return form('fsflagsi', `${x(rd)},${imm}`);
      if (csr === 2) return form('fsrmi', `${x(rd)},${imm}`);
      if (rd === 0) return form('csrw', `${csrText},${imm}`);
      return form('csrrw', `${x(rd)},${csrText},${imm}`);
    case Operation.Csrrsi:
      if (rd === 0) return form('csrs', `${csrText},${imm}`);
      return form('csrrs', `${x(rd)},${csrText},${imm}`);
    default:
      if (rd === 0) return form('csrc', `${csrText},${imm}`);
      return form('csrrc', `${x(rd)},${csrText},${imm}`);
  }
}

const FLOAT_CSR_WRITE: readonly (string | undefined)[] = [undefined, 'fsflags', 'fsrm', 'fscsr'];
const CSR_READ_ALIAS: ReadonlyMap<number, string> = new Map([
  [0x001, 'frflags'], [0x002, 'frrm'], [0x003, 'frcsr'],
  [0xc00, 'rdcycle'], [0xc01, 'rdtime'], [0xc02, 'rdinstret'],
]);

function formatSignInjection(operation: Operation, name: string, rd: number, rs1: number, rs2: number): Form {
  if (rs1 === rs2) {
    const precision = name.slice(-2); // ".s" or ".d"
    switch (operation) {
      case Operation.FsgnjS: case Operation.FsgnjD: return form(`fmv${precision}`, `${f(rd)},${f(rs1)}`);
      case Operation.FsgnjnS: case Operation.FsgnjnD: return form(`fneg${precision}`, `${f(rd)},${f(rs1)}`);
      case Operation.FsgnjxS: case Operation.FsgnjxD: return form(`fabs${precision}`, `${f(rd)},${f(rs1)}`);
      default: break;
    }
  }
  return form(name, `${f(rd)},${f(rs1)},${f(rs2)}`);
}

/**
 * Compressed instructions print as their expansion with aliases, except the HINT encodings
 * (destination x0, zero shift amounts), which objdump prints with their c. names.
 */
function formatCompressed(half: number, spec: InstructionSpec | undefined, d: DecodedInstruction): Form {
  if (spec === undefined) {
    if (half === 0) return form('unimp');
    // objdump accepts c.addi16sp with a zero immediate, which the spec reserves.
    if (half === 0x6101) return form('add', 'sp,sp,0');
    return form('.2byte', hex(half));
  }
  const { rd, rs1, rs2, imm } = d;
  switch (spec.mnemonic) {
    case 'c.addi4spn': return form('add', `${x(rd)},sp,${imm}`);
    case 'c.fld': return form('fld', `${f(rd)},${memory(imm, rs1)}`);
    case 'c.lw': return form('lw', `${x(rd)},${memory(imm, rs1)}`);
    case 'c.ld': return form('ld', `${x(rd)},${memory(imm, rs1)}`);
    case 'c.fsd': return form('fsd', `${f(rs2)},${memory(imm, rs1)}`);
    case 'c.sw': return form('sw', `${x(rs2)},${memory(imm, rs1)}`);
    case 'c.sd': return form('sd', `${x(rs2)},${memory(imm, rs1)}`);
    case 'c.addi':
      if (rd === 0) return imm === 0 ? form('nop') : form('c.nop', `${imm}`);
      return form('add', `${x(rd)},${x(rd)},${imm}`);
    case 'c.addiw':
      return imm === 0 ? form('sext.w', `${x(rd)},${x(rd)}`) : form('addw', `${x(rd)},${x(rd)},${imm}`);
    case 'c.li':
      return rd === 0 ? form('c.li', `zero,${imm}`) : form('li', `${x(rd)},${imm}`);
    case 'c.addi16sp': return form('add', `sp,sp,${imm}`);
    case 'c.lui':
      return form(rd === 0 ? 'c.lui' : 'lui', `${x(rd)},${hex((imm >>> 12) & 0xfffff)}`);
    case 'c.srli': case 'c.srai': case 'c.slli': {
      const shift = spec.mnemonic.slice(2, 5); // srl, sra, sll
      if (imm === 0) return form(`${spec.mnemonic}64`, x(rd));
      if (rd === 0) return form(spec.mnemonic, `zero,${hex(imm)}`);
      return form(shift, `${x(rd)},${x(rd)},${hex(imm)}`);
    }
    case 'c.andi': return form('and', `${x(rd)},${x(rd)},${imm}`);
    case 'c.sub': case 'c.xor': case 'c.or': case 'c.and': case 'c.subw': case 'c.addw':
      return form(spec.mnemonic.slice(2), `${x(rd)},${x(rs1)},${x(rs2)}`);
    case 'c.j': return form('j', '', imm);
    case 'c.beqz': return form('beqz', x(rs1), imm);
    case 'c.bnez': return form('bnez', x(rs1), imm);
    case 'c.fldsp': return form('fld', `${f(rd)},${imm}(sp)`);
    case 'c.lwsp': return form('lw', `${x(rd)},${imm}(sp)`);
    case 'c.ldsp': return form('ld', `${x(rd)},${imm}(sp)`);
    case 'c.ebreak': return form('ebreak');
    case 'c.jr': return rs1 === 1 ? form('ret') : form('jr', x(rs1));
    case 'c.jalr': return form('jalr', x(rs1));
    case 'c.mv': return rd === 0 ? form('c.mv', `zero,${x(rs2)}`) : form('mv', `${x(rd)},${x(rs2)}`);
    case 'c.add': return rd === 0 ? form('c.add', `zero,${x(rs2)}`) : form('add', `${x(rd)},${x(rd)},${x(rs2)}`);
    case 'c.fsdsp': return form('fsd', `${f(rs2)},${imm}(sp)`);
    case 'c.swsp': return form('sw', `${x(rs2)},${imm}(sp)`);
    case 'c.sdsp': return form('sd', `${x(rs2)},${imm}(sp)`);
    default: return form('.2byte', hex(half));
  }
}
