// isa/ owns what the RISC-V RV64GC encoding (with the optional Zba, Zbb, Zbc, Zbs and
// Zihintpause) means: the one instruction table, the decoder, the objdump-compatible
// disassembler, and the register and CSR names the rest of Ringside prints and parses. It
// holds no machine state; the CPU, debugger and UI build on it.

export { Operation } from './operations';
export {
  INSTRUCTIONS, BASE_ROW_BY_OPERATION, ALL_EXTENSIONS, extensionMask, extensionMaskOfIsaString,
  type Extension, type SensitivityClass, type InstructionFormat, type InstructionSpec,
} from './table';
export { DecodedInstruction, decodeInstruction, instructionLength } from './decoder';
export { disassemble, type Disassembly, type DisassemblyOptions } from './disassembler';
export {
  INTEGER_REGISTER_NAMES, FLOAT_REGISTER_NAMES, integerRegisterName, floatRegisterName,
  parseIntegerRegister, parseFloatRegister,
} from './registers';
export {
  CSR_DEFINITIONS, csrName, csrNumber, formatCsr, type CsrDefinition, type PrivilegedSpecVersion,
} from './csr-names';
export {
  CSR_LAYOUTS, EXCEPTION_CAUSES, INTERRUPT_CAUSES, csrLayout, decodeCsr, decodeField, exceptionName, interruptName,
  splitCause, trapCause, trapName, type CsrField, type CsrFieldFormat, type CsrLayout, type DecodedCsrField, type TrapCause,
} from './csr-fields';
