// Names for the rows of the instruction table. The interpreter switches on these numbers;
// the table (table.ts) gives each one its encoding, format, mnemonic, extension and class.
// Compressed instructions have rows of their own in the table but expand to one of these.

export const enum Operation {
  Illegal,
  // RV64I
  Lui, Auipc, Jal, Jalr,
  Beq, Bne, Blt, Bge, Bltu, Bgeu,
  Lb, Lh, Lw, Ld, Lbu, Lhu, Lwu,
  Sb, Sh, Sw, Sd,
  Addi, Slti, Sltiu, Xori, Ori, Andi, Slli, Srli, Srai,
  Add, Sub, Sll, Slt, Sltu, Xor, Srl, Sra, Or, And,
  Addiw, Slliw, Srliw, Sraiw, Addw, Subw, Sllw, Srlw, Sraw,
  Fence, FenceI, Ecall, Ebreak,
  // Privileged
  Mret, Sret, Wfi, SfenceVma,
  // Zicsr
  Csrrw, Csrrs, Csrrc, Csrrwi, Csrrsi, Csrrci,
  // M
  Mul, Mulh, Mulhsu, Mulhu, Div, Divu, Rem, Remu, Mulw, Divw, Divuw, Remw, Remuw,
  // A
  LrW, ScW, AmoswapW, AmoaddW, AmoxorW, AmoandW, AmoorW, AmominW, AmomaxW, AmominuW, AmomaxuW,
  LrD, ScD, AmoswapD, AmoaddD, AmoxorD, AmoandD, AmoorD, AmominD, AmomaxD, AmominuD, AmomaxuD,
  // F
  Flw, Fsw, FmaddS, FmsubS, FnmsubS, FnmaddS, FaddS, FsubS, FmulS, FdivS, FsqrtS,
  FsgnjS, FsgnjnS, FsgnjxS, FminS, FmaxS, FcvtWS, FcvtWuS, FcvtLS, FcvtLuS, FmvXW,
  FeqS, FltS, FleS, FclassS, FcvtSW, FcvtSWu, FcvtSL, FcvtSLu, FmvWX,
  // D
  Fld, Fsd, FmaddD, FmsubD, FnmsubD, FnmaddD, FaddD, FsubD, FmulD, FdivD, FsqrtD,
  FsgnjD, FsgnjnD, FsgnjxD, FminD, FmaxD, FcvtSD, FcvtDS, FcvtWD, FcvtWuD, FcvtLD, FcvtLuD, FmvXD,
  FeqD, FltD, FleD, FclassD, FcvtDW, FcvtDWu, FcvtDL, FcvtDLu, FmvDX,
  // Zba
  Sh1add, Sh2add, Sh3add, AddUw, Sh1addUw, Sh2addUw, Sh3addUw, SlliUw,
  // Zbb
  Andn, Orn, Xnor, Clz, Ctz, Cpop, Clzw, Ctzw, Cpopw, Max, Maxu, Min, Minu, SextB, SextH, ZextH,
  Rol, Ror, Rolw, Rorw, Rori, Roriw, OrcB, Rev8,
  // Zbc
  Clmul, Clmulh, Clmulr,
  // Zbs
  Bclr, Bclri, Bext, Bexti, Binv, Binvi, Bset, Bseti,
  Count,
}
