/* fd: F and D extensions with exact bit patterns: static and dynamic rounding modes, fflags,
 * fcvt saturation, fmin/fmax, fclass, NaN boxing, fused multiply-add, mstatus.FS. */
#include "rt.h"

#define D2(op, rm, a, b) ({ u64 _r; asm volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t" op " ft2, ft0, ft1, " rm "\n\tfmv.x.d %0, ft2" \
    : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1", "ft2"); _r; })
#define D2N(op, a, b) ({ u64 _r; asm volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t" op " ft2, ft0, ft1\n\tfmv.x.d %0, ft2" \
    : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1", "ft2"); _r; })
#define D1(op, rm, a) ({ u64 _r; asm volatile("fmv.d.x ft0, %1\n\t" op " ft2, ft0, " rm "\n\tfmv.x.d %0, ft2" \
    : "=r"(_r) : "r"((u64)(a)) : "ft0", "ft2"); _r; })
#define D3(op, a, b, c) ({ u64 _r; asm volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\tfmv.d.x ft3, %3\n\t" op " ft2, ft0, ft1, ft3\n\tfmv.x.d %0, ft2" \
    : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b)), "r"((u64)(c)) : "ft0", "ft1", "ft2", "ft3"); _r; })
/* FP -> integer register (compares, fclass, fcvt to int) */
#define DX(op, a, b) ({ u64 _r; asm volatile("fmv.d.x ft0, %1\n\tfmv.d.x ft1, %2\n\t" op " %0, ft0, ft1" \
    : "=r"(_r) : "r"((u64)(a)), "r"((u64)(b)) : "ft0", "ft1"); _r; })
#define DCX(op, rm, a) ({ u64 _r; asm volatile("fmv.d.x ft0, %1\n\t" op " %0, ft0, " rm \
    : "=r"(_r) : "r"((u64)(a)) : "ft0"); _r; })
#define DCLASS(op, a) ({ u64 _r; asm volatile("fmv.d.x ft0, %1\n\t" op " %0, ft0" : "=r"(_r) : "r"((u64)(a)) : "ft0"); _r; })
#define D1N(op, a) ({ u64 _r; asm volatile("fmv.d.x ft0, %1\n\t" op " ft2, ft0\n\tfmv.x.d %0, ft2" \
    : "=r"(_r) : "r"((u64)(a)) : "ft0", "ft2"); _r; })
#define XDN(op, a) ({ u64 _r; asm volatile(op " ft0, %1\n\tfmv.x.d %0, ft0" : "=r"(_r) : "r"((u64)(a)) : "ft0"); _r; })
/* integer -> FP */
#define XD(op, rm, a) ({ u64 _r; asm volatile(op " ft0, %1, " rm "\n\tfmv.x.d %0, ft0" : "=r"(_r) : "r"((u64)(a)) : "ft0"); _r; })

static u64 fl(void) { u64 f; asm volatile("csrrw %0, fflags, zero" : "=r"(f) :: "memory"); return f; }
#define NV 0x10
#define DZ 0x08
#define OF 0x04
#define UF 0x02
#define NX 0x01

#define ONE   0x3ff0000000000000ull
#define MONE  0xbff0000000000000ull
#define TWO   0x4000000000000000ull
#define HALFU 0x3ca0000000000000ull   /* 2^-53: half an ulp of 1.0 */
#define Q3U   0x3ca8000000000000ull   /* 1.5 * 2^-53 */
#define DMAX  0x7fefffffffffffffull
#define DMIN  0x0010000000000000ull
#define PINF  0x7ff0000000000000ull
#define NINF  0xfff0000000000000ull
#define QNAN  0x7ff8000000000000ull
#define SNAN  0x7ff0000000000001ull
#define PZERO 0ull
#define NZERO 0x8000000000000000ull
#define THREE 0x4008000000000000ull

/* value and accumulated fflags (a flags mismatch reports the same check id) */
#define CHECKF(id, got, want, flags) do { u64 _fv = (got); u64 _ff = fl(); CHECKEQ(id, _fv, want); \
    if (_ff != (u64)(flags)) check_failed((id), "fflags of " #got, _ff, (flags), 1); } while (0)

static void rounding(void)
{
    fl();
    /* 1 + 2^-53: exactly halfway between 1 and 1 + 2^-52 */
    CHECKF(1, D2("fadd.d", "rne", ONE, HALFU), ONE, NX);
    CHECKF(2, D2("fadd.d", "rtz", ONE, HALFU), ONE, NX);
    CHECKF(3, D2("fadd.d", "rdn", ONE, HALFU), ONE, NX);
    CHECKF(4, D2("fadd.d", "rup", ONE, HALFU), ONE + 1, NX);
    CHECKF(5, D2("fadd.d", "rmm", ONE, HALFU), ONE + 1, NX);
    CHECKF(6, D2("fadd.d", "rne", MONE, HALFU | NZERO), MONE, NX);
    CHECKF(7, D2("fadd.d", "rtz", MONE, HALFU | NZERO), MONE, NX);
    CHECKF(8, D2("fadd.d", "rdn", MONE, HALFU | NZERO), MONE + 1, NX);
    CHECKF(9, D2("fadd.d", "rup", MONE, HALFU | NZERO), MONE, NX);
    CHECKF(10, D2("fadd.d", "rmm", MONE, HALFU | NZERO), MONE + 1, NX);
    CHECKF(11, D2("fadd.d", "rne", ONE, Q3U), ONE + 1, NX);
    CHECKF(12, D2("fadd.d", "rtz", ONE, Q3U), ONE, NX);
    CHECKF(13, D2("fsub.d", "rne", ONE, ONE), PZERO, 0);
    CHECKF(14, D2("fsub.d", "rdn", ONE, ONE), NZERO, 0);   /* x - x = -0 when rounding down */
    CHECKF(15, D2("fadd.d", "rne", ONE, ONE), TWO, 0);
    /* dynamic rounding through frm */
    csr_write(frm, 3);                                      /* RUP */
    CHECKEQ(16, csr_read(frm), 3);
    CHECKF(17, D2("fadd.d", "dyn", ONE, HALFU), ONE + 1, NX);
    csr_write(frm, 1);                                      /* RTZ */
    CHECKF(18, D2("fadd.d", "dyn", ONE, Q3U), ONE, NX);
    csr_write(fcsr, (4 << 5) | 0x1f);                       /* RMM, all flags */
    CHECKEQ(19, csr_read(frm), 4);
    CHECKEQ(20, csr_read(fflags), 0x1f);
    CHECKEQ(21, csr_read(fcsr), 0x9f);
    CHECKF(22, D2("fadd.d", "dyn", ONE, HALFU), ONE + 1, 0x1f);   /* flags accumulate */
    csr_write(frm, 0);
    /* division and sqrt */
    CHECKF(23, D2("fdiv.d", "rne", ONE, THREE), 0x3fd5555555555555ull, NX);
    CHECKF(24, D2("fdiv.d", "rup", ONE, THREE), 0x3fd5555555555556ull, NX);
    CHECKF(25, D1("fsqrt.d", "rne", TWO), 0x3ff6a09e667f3bcdull, NX);
    CHECKF(26, D1("fsqrt.d", "rne", 0x4010000000000000ull), TWO, 0);   /* sqrt(4) = 2 exact */
    CHECKF(27, D2("fmul.d", "rne", THREE, THREE), 0x4022000000000000ull, 0);
    ok("rounding modes (static and dynamic), fcsr");
}

static void flags(void)
{
    fl();
    CHECKF(30, D2("fmul.d", "rne", DMAX, TWO), PINF, OF | NX);
    CHECKF(31, D2("fmul.d", "rtz", DMAX, TWO), DMAX, OF | NX);
    CHECKF(32, D2("fmul.d", "rdn", DMAX | NZERO, TWO), NINF, OF | NX);
    CHECKF(33, D2("fdiv.d", "rne", DMIN, THREE), 0x0005555555555555ull, UF | NX);
    CHECKF(34, D2("fdiv.d", "rup", DMIN, THREE), 0x0005555555555556ull, UF | NX);
    CHECKF(35, D2("fmul.d", "rne", DMIN, 0x3fe0000000000000ull), 0x0008000000000000ull, 0); /* exact subnormal */
    CHECKF(36, D2("fdiv.d", "rne", ONE, PZERO), PINF, DZ);
    CHECKF(37, D2("fdiv.d", "rne", MONE, PZERO), NINF, DZ);
    CHECKF(38, D2("fdiv.d", "rne", PZERO, PZERO), QNAN, NV);
    CHECKF(39, D1("fsqrt.d", "rne", MONE), QNAN, NV);
    CHECKF(40, D2("fsub.d", "rne", PINF, PINF), QNAN, NV);
    CHECKF(41, D2("fmul.d", "rne", PINF, PZERO), QNAN, NV);
    CHECKF(42, D2("fadd.d", "rne", SNAN, ONE), QNAN, NV);       /* NaN results are canonical */
    CHECKF(43, D2("fadd.d", "rne", 0xfff8000000000123ull, ONE), QNAN, 0);
    CHECKF(44, D2("fdiv.d", "rne", ONE, PINF), PZERO, 0);
    ok("fflags: NX UF OF DZ NV, canonical NaN");
}

static void conversions(void)
{
    fl();
    CHECKF(50, DCX("fcvt.w.d", "rtz", 0x4202a05f20000000ull), 0x7fffffffull, NV);     /* 1e10 */
    CHECKF(51, DCX("fcvt.w.d", "rtz", 0xc202a05f20000000ull), 0xffffffff80000000ull, NV);
    CHECKF(52, DCX("fcvt.w.d", "rtz", QNAN), 0x7fffffffull, NV);
    CHECKF(53, DCX("fcvt.w.d", "rtz", NINF), 0xffffffff80000000ull, NV);
    CHECKF(54, DCX("fcvt.wu.d", "rtz", MONE), 0, NV);
    CHECKF(55, DCX("fcvt.wu.d", "rtz", 0xbfe0000000000000ull), 0, NX);               /* -0.5 -> 0 */
    CHECKF(56, DCX("fcvt.wu.d", "rtz", 0x41f0000000000000ull), 0xffffffffffffffffull, NV); /* 2^32 */
    CHECKF(57, DCX("fcvt.wu.d", "rtz", 0x41e65a0bc0000000ull), 0xffffffffb2d05e00ull, 0);  /* 3e9, sign-extended */
    CHECKF(58, DCX("fcvt.l.d", "rtz", 0x43e158e460913d00ull), 0x7fffffffffffffffull, NV);  /* 1e19 */
    CHECKF(59, DCX("fcvt.l.d", "rtz", NINF), 0x8000000000000000ull, NV);
    CHECKF(60, DCX("fcvt.lu.d", "rtz", QNAN), 0xffffffffffffffffull, NV);
    CHECKF(61, DCX("fcvt.lu.d", "rtz", 0x43e158e460913d00ull), 10000000000000000000ull, 0);
    CHECKF(62, DCX("fcvt.w.d", "rne", 0x4004000000000000ull), 2, NX);                 /* 2.5 */
    CHECKF(63, DCX("fcvt.w.d", "rmm", 0x4004000000000000ull), 3, NX);
    CHECKF(64, DCX("fcvt.w.d", "rdn", 0xc004000000000000ull), (u64)-3, NX);
    CHECKF(65, DCX("fcvt.w.d", "rup", 0xc004000000000000ull), (u64)-2, NX);
    CHECKF(66, XD("fcvt.d.l", "rne", 0x7fffffffffffffffull), 0x43e0000000000000ull, NX);
    CHECKF(67, XD("fcvt.d.l", "rtz", 0x7fffffffffffffffull), 0x43dfffffffffffffull, NX);
    CHECKF(68, XDN("fcvt.d.w", 0xffffffff80000000ull), 0xc1e0000000000000ull, 0);
    CHECKF(69, XDN("fcvt.d.wu", 0xffffffffull), 0x41efffffffe00000ull, 0);
    CHECKF(70, XD("fcvt.d.lu", "rne", 0xffffffffffffffffull), 0x43f0000000000000ull, NX);
    /* double <-> single */
    CHECKF(71, D1("fcvt.s.d", "rne", 0x7e37e43c8800759cull), 0xffffffff7f800000ull, OF | NX);  /* 1e300 */
    CHECKF(72, D1("fcvt.s.d", "rne", ONE), 0xffffffff3f800000ull, 0);                    /* boxed */
    CHECKF(73, D1N("fcvt.d.s", 0xffffffff3fc00000ull), 0x3ff8000000000000ull, 0);  /* 1.5f */
    CHECKF(74, D1("fcvt.s.d", "rtz", 0x3fd5555555555555ull), 0xffffffff3eaaaaaaull, NX);
    CHECKF(75, D1("fcvt.s.d", "rne", 0x3fd5555555555555ull), 0xffffffff3eaaaaabull, NX);
    ok("fcvt: saturation, rounding, sign extension");
}

static void minmax_class(void)
{
    fl();
    CHECKF(80, D2N("fmin.d", PZERO, NZERO), NZERO, 0);
    CHECKF(81, D2N("fmin.d", NZERO, PZERO), NZERO, 0);
    CHECKF(82, D2N("fmax.d", NZERO, PZERO), PZERO, 0);
    CHECKF(83, D2N("fmin.d", QNAN, ONE), ONE, 0);
    CHECKF(84, D2N("fmax.d", ONE, QNAN), ONE, 0);
    CHECKF(85, D2N("fmin.d", SNAN, ONE), ONE, NV);
    CHECKF(86, D2N("fmax.d", QNAN, QNAN), QNAN, 0);
    CHECKF(87, D2N("fmin.d", SNAN, QNAN), QNAN, NV);
    CHECKF(88, D2N("fmax.d", MONE, ONE), ONE, 0);
    CHECKF(89, DX("feq.d", QNAN, QNAN), 0, 0);
    CHECKF(90, DX("feq.d", SNAN, ONE), 0, NV);
    CHECKF(91, DX("flt.d", QNAN, ONE), 0, NV);
    CHECKF(92, DX("fle.d", ONE, ONE), 1, 0);
    CHECKF(93, DX("flt.d", NZERO, PZERO), 0, 0);
    CHECKF(94, DX("feq.d", NZERO, PZERO), 1, 0);
    CHECKF(95, DCLASS("fclass.d", NINF), 1 << 0, 0);
    CHECKEQ(96, DCLASS("fclass.d", MONE), 1 << 1);
    CHECKEQ(97, DCLASS("fclass.d", 0x800fffffffffffffull), 1 << 2);
    CHECKEQ(98, DCLASS("fclass.d", NZERO), 1 << 3);
    CHECKEQ(99, DCLASS("fclass.d", PZERO), 1 << 4);
    CHECKEQ(200, DCLASS("fclass.d", 1), 1 << 5);
    CHECKEQ(201, DCLASS("fclass.d", ONE), 1 << 6);
    CHECKEQ(202, DCLASS("fclass.d", PINF), 1 << 7);
    CHECKEQ(203, DCLASS("fclass.d", SNAN), 1 << 8);
    CHECKEQ(204, DCLASS("fclass.d", QNAN), 1 << 9);
    CHECKEQ(205, DCLASS("fclass.s", 0xffffffff7fa00000ull), 1 << 8);     /* single sNaN */
    CHECKEQ(206, DCLASS("fclass.s", 0xffffffff80000000ull), 1 << 3);
    CHECKEQ(207, D2N("fsgnj.d", ONE, NZERO), MONE);
    CHECKEQ(208, D2N("fsgnjn.d", ONE, NZERO), ONE);
    CHECKEQ(209, D2N("fsgnjx.d", MONE, NZERO), ONE);
    CHECKEQ(210, D2N("fsgnjx.d", MONE, PZERO), MONE);
    ok("fmin/fmax, compares, fclass, sign injection");
}

static void boxing_and_fma(void)
{
    u64 r;
    fl();
    /* fmv.w.x boxes; flw boxes */
    asm volatile("fmv.w.x ft0, %1\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(0x123456783f800000ull) : "ft0");
    CHECKEQ(220, r, 0xffffffff3f800000ull);
    static volatile u32 f32 = 0xc0490fdb;
    asm volatile("flw ft0, 0(%1)\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(&f32) : "ft0");
    CHECKEQ(221, r, 0xffffffffc0490fdbull);
    /* fmv.x.w sign-extends the low word and does not check boxing */
    asm volatile("fmv.d.x ft0, %1\n\tfmv.x.w %0, ft0" : "=r"(r) : "r"(0x00000000bf800000ull) : "ft0");
    CHECKEQ(222, r, 0xffffffffbf800000ull);
    /* an improperly boxed single reads as the canonical NaN */
    CHECKF(223, D2("fadd.s", "rne", 0x000000003f800000ull, 0xffffffff3f800000ull), 0xffffffff7fc00000ull, 0);
    CHECKEQ(224, D2N("fsgnj.s", 0x000000003f800000ull, 0x000000003f800000ull), 0xffffffff7fc00000ull);
    CHECKEQ(225, DCLASS("fclass.s", 0x000000003f800000ull), 1 << 9);
    CHECKF(226, D2("fadd.s", "rne", 0xffffffff3f800000ull, 0xffffffff3f800000ull), 0xffffffff40000000ull, 0);
    /* single rounding: 1 + 2^-24 is a tie */
    CHECKF(227, D2("fadd.s", "rne", 0xffffffff3f800000ull, 0xffffffff33800000ull), 0xffffffff3f800000ull, NX);
    CHECKF(228, D2("fadd.s", "rup", 0xffffffff3f800000ull, 0xffffffff33800000ull), 0xffffffff3f800001ull, NX);
    CHECKF(229, DCX("fcvt.w.s", "rtz", 0xffffffff4f000000ull), 0x7fffffff, NV);      /* 2^31 */
    CHECKF(230, D2("fdiv.s", "rne", 0xffffffff3f800000ull, 0xffffffff00000000ull), 0xffffffff7f800000ull, DZ);

    /* fused multiply-add rounds once: a*a - 1 with a = 1 + 2^-27 */
    CHECKF(231, D3("fmadd.d", 0x3ff0000002000000ull, 0x3ff0000002000000ull, MONE), 0x3e50000001000000ull, 0);
    r = D2("fmul.d", "rne", 0x3ff0000002000000ull, 0x3ff0000002000000ull);
    CHECKEQ(232, fl(), NX);
    CHECKF(233, D2("fadd.d", "rne", r, MONE), 0x3e50000000000000ull, 0);   /* separate: differs */
    CHECKF(234, D3("fmadd.d", TWO, THREE, ONE), 0x401c000000000000ull, 0);      /* 7 */
    CHECKF(235, D3("fmsub.d", TWO, THREE, ONE), 0x4014000000000000ull, 0);      /* 5 */
    CHECKF(236, D3("fnmsub.d", TWO, THREE, ONE), 0xc014000000000000ull, 0);     /* -5 */
    CHECKF(237, D3("fnmadd.d", TWO, THREE, ONE), 0xc01c000000000000ull, 0);     /* -7 */
    CHECKF(238, D3("fmadd.s", 0xffffffff3f800800ull, 0xffffffff3f800800ull, 0xffffffffbf800000ull),
           0xffffffff3a000400ull, 0);
    CHECKF(239, D3("fmadd.d", PINF, PZERO, ONE), QNAN, NV);
    ok("NaN boxing, single precision, fused multiply-add");
}

static void fs_state(void)
{
    u64 st;
    /* FS = Off: every FP instruction and FP CSR access is illegal */
    csr_clear(mstatus, MSTATUS_FS);
    arm_trap();
    asm volatile("fadd.d ft0, ft1, ft2" ::: "ft0");
    expect_trap(240, 2);
    CHECKEQ(241, tr.tval, 0x0220f053);                 /* fadd.d ft0, ft1, ft2 (rm = dyn) */
    arm_trap();
    asm volatile("csrr t0, fflags" ::: "t0");
    expect_trap(242, 2);
    arm_trap();
    asm volatile("fmv.x.d t0, ft0" ::: "t0");
    expect_trap(243, 2);
    CHECKEQ(244, csr_read(mstatus) & (MSTATUS_FS | MSTATUS_SD), 0);
    /* Initial -> Dirty after an FP register write, SD follows */
    csr_set(mstatus, MSTATUS_FS_INITIAL);
    asm volatile("fmv.d.x ft0, zero" ::: "ft0");
    st = csr_read(mstatus);
    CHECKEQ(245, st & MSTATUS_FS, MSTATUS_FS_DIRTY);
    CHECKEQ(246, st >> 63, 1);
    /* Clean stays Clean when FP state is only read */
    csr_clear(mstatus, MSTATUS_FS);
    csr_set(mstatus, MSTATUS_FS_CLEAN);
    asm volatile("fmv.x.d t0, ft0" ::: "t0");
    CHECKEQ(247, csr_read(mstatus) & MSTATUS_FS, MSTATUS_FS_CLEAN);
    /* ... and becomes Dirty after an fcsr write */
    csr_write(fflags, 0);
    CHECKEQ(248, csr_read(mstatus) & MSTATUS_FS, MSTATUS_FS_DIRTY);
    ok("mstatus.FS: Off traps, Dirty after writes");
}

int main(void)
{
    println("fd: F and D extensions");
    rounding();
    flags();
    conversions();
    minmax_class();
    boxing_and_fma();
    fs_state();
    return 0;
}
