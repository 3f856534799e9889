/* misaligned: loads and stores of every width at every misalignment (performed directly,
 * as QEMU does on RAM), and misaligned LR/SC/AMO, which raise an exception. */
#include "rt.h"

static u8 buf[32] __attribute__((aligned(16)));
#define LD(op, addr) ({ u64 _r; asm volatile(op " %0, 0(%1)" : "=r"(_r) : "r"(addr) : "memory"); _r; })
#define ST(op, v, addr) asm volatile(op " %0, 0(%1)" :: "r"((u64)(v)), "r"(addr) : "memory")

static void fill(void) { for (int i = 0; i < 32; i++) buf[i] = 0x80 + i * 3; }
/* the little-endian value of n bytes at buf[off] */
static u64 bytes(int off, int n)
{
    u64 v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | buf[off + i];
    return v;
}

int main(void)
{
    println("misaligned: loads/stores at every offset, misaligned atomics");
    fill();
    /* the expected values are spelled out for a few cases, the rest compare with bytes() */
    CHECKEQ(1, LD("lh", buf + 1), 0xffffffffffff8683ull);
    CHECKEQ(2, LD("lhu", buf + 1), 0x8683);
    CHECKEQ(3, LD("lw", buf + 3), 0xffffffff928f8c89ull);
    CHECKEQ(4, LD("lwu", buf + 3), 0x928f8c89ull);
    CHECKEQ(5, LD("ld", buf + 5), 0xa4a19e9b9895928full);
    for (int off = 0; off < 8; off++) {
        CHECKEQ(10 + off, LD("lhu", buf + off), bytes(off, 2));
        CHECKEQ(20 + off, LD("lwu", buf + off), bytes(off, 4));
        CHECKEQ(30 + off, LD("ld", buf + off), bytes(off, 8));
        CHECKEQ(40 + off, LD("lw", buf + off), (u64)(i64)(i32)bytes(off, 4));
    }
    ok("misaligned loads");
    for (int off = 1; off < 8; off++) {
        fill();
        ST("sd", 0x0123456789abcdefull, buf + off);
        CHECKEQ(50 + off, bytes(off, 8), 0x0123456789abcdefull);
        CHECKEQ(60 + off, buf[off - 1], (u8)(0x80 + (off - 1) * 3));     /* neighbours intact */
        CHECKEQ(70 + off, buf[off + 8], (u8)(0x80 + (off + 8) * 3));
        ST("sw", 0xdeadbeef, buf + off + 8);
        CHECKEQ(80 + off, bytes(off + 8, 4), 0xdeadbeef);
        ST("sh", 0xcafe, buf + off + 16);
        CHECKEQ(90 + off, bytes(off + 16, 2), 0xcafe);
    }
    /* FP loads and stores too */
    {
        u64 r;
        fill();
        asm volatile("fld ft0, 0(%1)\n\tfmv.x.d %0, ft0" : "=r"(r) : "r"(buf + 3) : "ft0", "memory");
        CHECKEQ(100, r, bytes(3, 8));
        asm volatile("fmv.d.x ft0, %0\n\tfsd ft0, 0(%1)" :: "r"(0x1122334455667788ull), "r"(buf + 9) : "ft0", "memory");
        CHECKEQ(101, bytes(9, 8), 0x1122334455667788ull);
        asm volatile("flw ft0, 0(%1)\n\tfmv.x.w %0, ft0" : "=r"(r) : "r"(buf + 2) : "ft0", "memory");
        CHECKEQ(102, r, (u64)(i64)(i32)bytes(2, 4));
    }
    ok("misaligned stores");

    /* misaligned atomics trap with tval = the address.  LR: load address misaligned (4).
     * AMO: the spec says store/AMO address misaligned (6); QEMU 7.2 raises 4 -- both accepted.
     * SC without a reservation: QEMU 7.2 just fails (rd != 0, no access, no trap); the spec
     * also allows the misaligned trap (6) -- both accepted. */
    u64 r;
    arm_trap();
    asm volatile("amoadd.w %0, %1, (%2)" : "=r"(r) : "r"(1ull), "r"(buf + 2) : "memory");
    disarm_trap();
    CHECKEQ(110, tr.count, 1);
    CHECK(111, tr.cause == 4 || tr.cause == 6);
    CHECKEQ(112, tr.tval, (u64)(uintptr_t)(buf + 2));
    arm_trap();
    asm volatile("amoswap.d %0, %1, (%2)" : "=r"(r) : "r"(1ull), "r"(buf + 4) : "memory");
    disarm_trap();
    CHECKEQ(113, tr.count, 1);
    CHECK(114, tr.cause == 4 || tr.cause == 6);
    CHECKEQ(115, tr.tval, (u64)(uintptr_t)(buf + 4));
    arm_trap();
    asm volatile("lr.w %0, (%1)" : "=r"(r) : "r"(buf + 1) : "memory");
    expect_trap(116, 4);
    CHECKEQ(117, tr.tval, (u64)(uintptr_t)(buf + 1));
    arm_trap();
    asm volatile("lr.d %0, (%1)" : "=r"(r) : "r"(buf + 4) : "memory");
    expect_trap(118, 4);
    CHECKEQ(119, tr.tval, (u64)(uintptr_t)(buf + 4));
    fill();
    arm_trap();
    r = 0;
    asm volatile("sc.d %0, %1, (%2)" : "+r"(r) : "r"(1ull), "r"(buf + 4) : "memory");
    disarm_trap();
    CHECK(120, (tr.count == 0 && r != 0) || (tr.count == 1 && tr.cause == 6));
    CHECKEQ(121, bytes(4, 8), 0xa19e9b9895928f8cull);            /* memory untouched */
    ok("misaligned LR/SC/AMO trap");
    return 0;
}
