// Guest blocks for the translation-tier benchmark: a block is a straight run of decoded guest
// instructions ending in one conditional branch. The generators (javascript-tier.mjs,
// wasm-tier.mjs) see only these numeric fields, never raw bits or the interpreter.

/** Operations the benchmark's generators translate; anything else is "not implemented". */
export const TRANSLATED_OPERATIONS = new Set([
  'Lui', 'Addi', 'Addiw', 'Andi', 'Ori', 'Xori', 'Slli', 'Srli', 'Srai', 'Slliw', 'Srliw', 'Sraiw',
  'Add', 'Sub', 'And', 'Or', 'Xor', 'Addw', 'Subw', 'Mul', 'Mulw',
  'Lb', 'Lbu', 'Lh', 'Lhu', 'Lw', 'Lwu', 'Ld', 'Sb', 'Sh', 'Sw', 'Sd',
  'Beq', 'Bne', 'Blt', 'Bge', 'Bltu', 'Bgeu',
]);

export const BRANCHES = new Set(['Beq', 'Bne', 'Blt', 'Bge', 'Bltu', 'Bgeu']);
const CONTROL_TRANSFERS = new Set([...BRANCHES, 'Jal', 'Jalr']);

/** Load/store widths in bytes. */
export const ACCESS_WIDTH = { Lb: 1, Lbu: 1, Lh: 2, Lhu: 2, Lw: 4, Lwu: 4, Ld: 8, Sb: 1, Sh: 2, Sw: 4, Sd: 8 };

/**
 * Decodes the block starting at `start` (a physical address in RAM) with vmm-core's decoder.
 * `read16(address)` reads a halfword of guest memory. Returns undefined when the block does
 * not end in a conditional branch within 64 instructions.
 */
export function decodeBlock(start, read16, decodeInstruction, DecodedInstruction, operationName) {
  const decoded = new DecodedInstruction();
  const instructions = [];
  let pc = start;
  for (let n = 0; n < 64; n++) {
    const low = read16(pc);
    const raw = (low & 3) === 3 ? (low | (read16(pc + 2) << 16)) >>> 0 : low;
    decodeInstruction(raw, decoded);
    const operation = operationName(decoded.operation);
    instructions.push({ pc, length: decoded.length, operation, rd: decoded.rd, rs1: decoded.rs1, rs2: decoded.rs2, imm: decoded.imm });
    pc += decoded.length;
    if (CONTROL_TRANSFERS.has(operation)) {
      if (!BRANCHES.has(operation)) return undefined;
      const branch = instructions[instructions.length - 1];
      return { start, instructions, fallthrough: pc, branchTarget: branch.pc + branch.imm };
    }
  }
  return undefined;
}

/** True when every instruction of the block is one the generators translate. */
export function translatable(block) {
  return block.instructions.every((instruction) => TRANSLATED_OPERATIONS.has(instruction.operation));
}

/** Registers the block reads and writes (x0 excluded). */
export function registerUse(block) {
  const read = new Set();
  const written = new Set();
  for (const { operation, rd, rs1, rs2 } of block.instructions) {
    const usesRs2 = BRANCHES.has(operation) || operation.startsWith('S') && ACCESS_WIDTH[operation] !== undefined ||
      ['Add', 'Sub', 'And', 'Or', 'Xor', 'Addw', 'Subw', 'Mul', 'Mulw'].includes(operation);
    if (rs1 !== 0 && operation !== 'Lui') read.add(rs1);
    if (usesRs2 && rs2 !== 0) read.add(rs2);
    const writes = !BRANCHES.has(operation) && !(ACCESS_WIDTH[operation] !== undefined && operation.startsWith('S'));
    if (writes && rd !== 0) written.add(rd);
  }
  return { read, written, used: new Set([...read, ...written]) };
}
