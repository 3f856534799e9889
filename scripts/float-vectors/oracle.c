/*
 * RISC-V floating-point oracle for Ringside's reference vectors.
 *
 * Reads lines "<op> <rounding mode 0-4> <a> <b> <c>" (operands as hex 64-bit words) from stdin and
 * prints "<result as hex 64-bit word> <fflags as hex>" for each line, executing the real RISC-V
 * instruction with a STATIC rounding mode. Build with
 *   riscv64-linux-gnu-gcc -static -O1 -o oracle oracle.c
 * and run under qemu-riscv64 (see README.md; generate.mjs does both).
 *
 * Single-precision operands are moved in with fmv.w.x (which NaN-boxes them) and results out with
 * fmv.x.w (sign-extended; the generator keeps the low 32 bits).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint64_t u64;

/* Dispatch on the rounding mode, pasting the static mode into the instruction text. */
#define MODES(M, ...)                                                                              \
  switch (mode) {                                                                                  \
  case 0: M(__VA_ARGS__, "rne"); break;                                                            \
  case 1: M(__VA_ARGS__, "rtz"); break;                                                            \
  case 2: M(__VA_ARGS__, "rdn"); break;                                                            \
  case 3: M(__VA_ARGS__, "rup"); break;                                                            \
  default: M(__VA_ARGS__, "rmm"); break;                                                           \
  }

/* fd = op(fs1, fs2), rounding mode. */
#define BIN_RM(insn, mvin, mvout, rm)                                                              \
  asm volatile(mvin " ft0, %2\n\t" mvin " ft1, %3\n\tfsflags x0\n\t" insn " ft2, ft0, ft1, " rm      \
               "\n\tfrflags %1\n\t" mvout " %0, ft2"                                               \
               : "=&r"(result), "=&r"(flags) : "r"(a), "r"(b) : "ft0", "ft1", "ft2")
/* fd = op(fs1, fs2, fs3), rounding mode. */
#define TRI_RM(insn, mvin, mvout, rm)                                                              \
  asm volatile(mvin " ft0, %2\n\t" mvin " ft1, %3\n\t" mvin " ft2, %4\n\tfsflags x0\n\t" insn        \
               " ft3, ft0, ft1, ft2, " rm "\n\tfrflags %1\n\t" mvout " %0, ft3"                    \
               : "=&r"(result), "=&r"(flags) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3")
/* fd = op(fs1), rounding mode. */
#define UN_RM(insn, mvin, mvout, rm)                                                               \
  asm volatile(mvin " ft0, %2\n\tfsflags x0\n\t" insn " ft2, ft0, " rm "\n\tfrflags %1\n\t" mvout    \
               " %0, ft2"                                                                          \
               : "=&r"(result), "=&r"(flags) : "r"(a) : "ft0", "ft2")
/* rd = op(fs1), rounding mode (float -> integer). */
#define TOINT_RM(insn, mvin, rm)                                                                   \
  asm volatile(mvin " ft0, %2\n\tfsflags x0\n\t" insn " %0, ft0, " rm "\n\tfrflags %1"              \
               : "=&r"(result), "=&r"(flags) : "r"(a) : "ft0")
/* fd = op(rs1), rounding mode (integer -> float). */
#define FROMINT_RM(insn, mvout, rm)                                                                \
  asm volatile("fsflags x0\n\t" insn " ft2, %2, " rm "\n\tfrflags %1\n\t" mvout " %0, ft2"          \
               : "=&r"(result), "=&r"(flags) : "r"(a) : "ft2")
/* Operations without a rounding mode (the result is always exact or not rounded). */
#define FROMINT_EXACT(insn, mvout)                                                                 \
  asm volatile("fsflags x0\n\t" insn " ft2, %2\n\tfrflags %1\n\t" mvout " %0, ft2"                 \
               : "=&r"(result), "=&r"(flags) : "r"(a) : "ft2")
#define BIN_FF(insn, mvin, mvout)                                                                  \
  asm volatile(mvin " ft0, %2\n\t" mvin " ft1, %3\n\tfsflags x0\n\t" insn " ft2, ft0, ft1\n\t"      \
               "frflags %1\n\t" mvout " %0, ft2"                                                   \
               : "=&r"(result), "=&r"(flags) : "r"(a), "r"(b) : "ft0", "ft1", "ft2")
#define BIN_FX(insn, mvin)                                                                         \
  asm volatile(mvin " ft0, %2\n\t" mvin " ft1, %3\n\tfsflags x0\n\t" insn " %0, ft0, ft1\n\t"       \
               "frflags %1"                                                                        \
               : "=&r"(result), "=&r"(flags) : "r"(a), "r"(b) : "ft0", "ft1")
#define UN_FX(insn, mvin)                                                                          \
  asm volatile(mvin " ft0, %2\n\tfsflags x0\n\t" insn " %0, ft0\n\tfrflags %1"                      \
               : "=&r"(result), "=&r"(flags) : "r"(a) : "ft0")
#define UN_FF(insn, mvin, mvout)                                                                   \
  asm volatile(mvin " ft0, %2\n\tfsflags x0\n\t" insn " ft2, ft0\n\tfrflags %1\n\t" mvout " %0, ft2" \
               : "=&r"(result), "=&r"(flags) : "r"(a) : "ft0", "ft2")

#define IS(name) (strcmp(op, name) == 0)

static int run(const char *op, int mode, u64 a, u64 b, u64 c, u64 *out, u64 *outFlags) {
  u64 result = 0, flags = 0;
  /* single precision */
  if (IS("fadd.s")) { MODES(BIN_RM, "fadd.s", "fmv.w.x", "fmv.x.w") }
  else if (IS("fsub.s")) { MODES(BIN_RM, "fsub.s", "fmv.w.x", "fmv.x.w") }
  else if (IS("fmul.s")) { MODES(BIN_RM, "fmul.s", "fmv.w.x", "fmv.x.w") }
  else if (IS("fdiv.s")) { MODES(BIN_RM, "fdiv.s", "fmv.w.x", "fmv.x.w") }
  else if (IS("fsqrt.s")) { MODES(UN_RM, "fsqrt.s", "fmv.w.x", "fmv.x.w") }
  else if (IS("fmadd.s")) { MODES(TRI_RM, "fmadd.s", "fmv.w.x", "fmv.x.w") }
  else if (IS("fmsub.s")) { MODES(TRI_RM, "fmsub.s", "fmv.w.x", "fmv.x.w") }
  else if (IS("fnmsub.s")) { MODES(TRI_RM, "fnmsub.s", "fmv.w.x", "fmv.x.w") }
  else if (IS("fnmadd.s")) { MODES(TRI_RM, "fnmadd.s", "fmv.w.x", "fmv.x.w") }
  else if (IS("fmin.s")) { BIN_FF("fmin.s", "fmv.w.x", "fmv.x.w"); }
  else if (IS("fmax.s")) { BIN_FF("fmax.s", "fmv.w.x", "fmv.x.w"); }
  else if (IS("feq.s")) { BIN_FX("feq.s", "fmv.w.x"); }
  else if (IS("flt.s")) { BIN_FX("flt.s", "fmv.w.x"); }
  else if (IS("fle.s")) { BIN_FX("fle.s", "fmv.w.x"); }
  else if (IS("fclass.s")) { UN_FX("fclass.s", "fmv.w.x"); }
  /* double precision */
  else if (IS("fadd.d")) { MODES(BIN_RM, "fadd.d", "fmv.d.x", "fmv.x.d") }
  else if (IS("fsub.d")) { MODES(BIN_RM, "fsub.d", "fmv.d.x", "fmv.x.d") }
  else if (IS("fmul.d")) { MODES(BIN_RM, "fmul.d", "fmv.d.x", "fmv.x.d") }
  else if (IS("fdiv.d")) { MODES(BIN_RM, "fdiv.d", "fmv.d.x", "fmv.x.d") }
  else if (IS("fsqrt.d")) { MODES(UN_RM, "fsqrt.d", "fmv.d.x", "fmv.x.d") }
  else if (IS("fmadd.d")) { MODES(TRI_RM, "fmadd.d", "fmv.d.x", "fmv.x.d") }
  else if (IS("fmsub.d")) { MODES(TRI_RM, "fmsub.d", "fmv.d.x", "fmv.x.d") }
  else if (IS("fnmsub.d")) { MODES(TRI_RM, "fnmsub.d", "fmv.d.x", "fmv.x.d") }
  else if (IS("fnmadd.d")) { MODES(TRI_RM, "fnmadd.d", "fmv.d.x", "fmv.x.d") }
  else if (IS("fmin.d")) { BIN_FF("fmin.d", "fmv.d.x", "fmv.x.d"); }
  else if (IS("fmax.d")) { BIN_FF("fmax.d", "fmv.d.x", "fmv.x.d"); }
  else if (IS("feq.d")) { BIN_FX("feq.d", "fmv.d.x"); }
  else if (IS("flt.d")) { BIN_FX("flt.d", "fmv.d.x"); }
  else if (IS("fle.d")) { BIN_FX("fle.d", "fmv.d.x"); }
  else if (IS("fclass.d")) { UN_FX("fclass.d", "fmv.d.x"); }
  /* float -> integer */
  else if (IS("fcvt.w.s")) { MODES(TOINT_RM, "fcvt.w.s", "fmv.w.x") }
  else if (IS("fcvt.wu.s")) { MODES(TOINT_RM, "fcvt.wu.s", "fmv.w.x") }
  else if (IS("fcvt.l.s")) { MODES(TOINT_RM, "fcvt.l.s", "fmv.w.x") }
  else if (IS("fcvt.lu.s")) { MODES(TOINT_RM, "fcvt.lu.s", "fmv.w.x") }
  else if (IS("fcvt.w.d")) { MODES(TOINT_RM, "fcvt.w.d", "fmv.d.x") }
  else if (IS("fcvt.wu.d")) { MODES(TOINT_RM, "fcvt.wu.d", "fmv.d.x") }
  else if (IS("fcvt.l.d")) { MODES(TOINT_RM, "fcvt.l.d", "fmv.d.x") }
  else if (IS("fcvt.lu.d")) { MODES(TOINT_RM, "fcvt.lu.d", "fmv.d.x") }
  /* integer -> float */
  else if (IS("fcvt.s.w")) { MODES(FROMINT_RM, "fcvt.s.w", "fmv.x.w") }
  else if (IS("fcvt.s.wu")) { MODES(FROMINT_RM, "fcvt.s.wu", "fmv.x.w") }
  else if (IS("fcvt.s.l")) { MODES(FROMINT_RM, "fcvt.s.l", "fmv.x.w") }
  else if (IS("fcvt.s.lu")) { MODES(FROMINT_RM, "fcvt.s.lu", "fmv.x.w") }
  else if (IS("fcvt.d.w")) { FROMINT_EXACT("fcvt.d.w", "fmv.x.d"); }
  else if (IS("fcvt.d.wu")) { FROMINT_EXACT("fcvt.d.wu", "fmv.x.d"); }
  else if (IS("fcvt.d.l")) { MODES(FROMINT_RM, "fcvt.d.l", "fmv.x.d") }
  else if (IS("fcvt.d.lu")) { MODES(FROMINT_RM, "fcvt.d.lu", "fmv.x.d") }
  /* float <-> float */
  else if (IS("fcvt.s.d")) { MODES(UN_RM, "fcvt.s.d", "fmv.d.x", "fmv.x.w") }
  else if (IS("fcvt.d.s")) { UN_FF("fcvt.d.s", "fmv.w.x", "fmv.x.d"); }
  else return 0;
  *out = result;
  *outFlags = flags;
  return 1;
}

int main(void) {
  char op[32];
  int mode;
  unsigned long long a, b, c;
  while (scanf("%31s %d %llx %llx %llx", op, &mode, &a, &b, &c) == 5) {
    u64 result, flags;
    if (!run(op, mode, a, b, c, &result, &flags)) {
      fprintf(stderr, "unknown op %s\n", op);
      return 1;
    }
    printf("%016llx %02llx\n", (unsigned long long)result, (unsigned long long)flags);
  }
  return 0;
}
