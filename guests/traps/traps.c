/* traps: synchronous exceptions (causes, mepc, mtval), delegation to S-mode, and direct vs
 * vectored trap vectors for interrupts. */
#include "rt.h"

#define UNMAPPED 0x0ull            /* nothing is mapped at physical address 0 on virt */
#define UNMAPPED2 0x90000000ull    /* above the 128 MiB of RAM */

static u64 label_addr;

static u64 ecall_fn(u64 arg)
{
    register u64 a0 asm("a0") = arg;
    register u64 a7 asm("a7") = 0;
    asm volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
    return a0 + 1;
}

static u64 illegal_fn(u64 arg)
{
    asm volatile(".word 0x0000000b" ::: "memory");   /* custom-0 opcode: not implemented */
    return arg;
}

static u64 ebreak_fn(u64 arg)
{
    asm volatile("ebreak" ::: "memory");
    return arg;
}

static int msip_hook(struct trap_frame *f)
{
    if (f->cause == (INTR | 3)) {
        mmio_w32(CLINT, 0);
        trap_note(f, 3);
        return 1;
    }
    return 0;
}

static int ssip_hook(struct trap_frame *f)
{
    if (f->cause == (INTR | 1)) {
        csr_clear(sip, 2);
        trap_note(f, 1);
        return 1;
    }
    return 0;
}

static u64 s_ssip_fn(u64 arg)
{
    csr_set(sie, 2);
    csr_set(sstatus, MSTATUS_SIE);
    csr_set(sip, 2);                    /* S may raise its own software interrupt */
    asm volatile("nop; nop" ::: "memory");
    csr_clear(sstatus, MSTATUS_SIE);
    return arg;
}

int main(void)
{
    u64 e;
    println("traps: exceptions, delegation, trap vectors");

    /* illegal instruction: cause 2, mtval = the instruction bits */
    arm_trap();
    asm volatile("la %0, 1f\n1:\t.word 0x0000000b" : "=r"(e) :: "memory");
    expect_trap(1, 2);
    CHECKEQ(2, tr.epc, e);
    CHECKEQ(3, tr.tval, 0x0000000b);
    arm_trap();
    asm volatile("la %0, 1f\n1:\tcsrw mvendorid, zero" : "=r"(e) :: "memory");   /* read-only CSR */
    expect_trap(4, 2);
    CHECKEQ(5, tr.epc, e);
    CHECKEQ(6, tr.tval, 0xf1101073);
    arm_trap();
    asm volatile("la %0, 1f\n1:\t.half 0x6081" : "=r"(e) :: "memory");   /* c.lui ra, 0: reserved */
    expect_trap(7, 2);
    CHECKEQ(8, tr.epc, e);
    CHECKEQ(9, tr.tval, 0x6081);
    ok("illegal instruction: cause 2, mtval = instruction");

    /* ecall from each mode: M 11, S 9, U 8 */
    arm_trap();
    asm volatile("li a7, 0\n\tla %0, 1f\n1:\tecall" : "=r"(e) :: "memory", "a7");
    expect_trap(10, 11);
    CHECKEQ(11, tr.epc, e);
    CHECKEQ(12, tr.tval, 0);
    arm_trap();
    CHECKEQ(13, run_mode(MODE_S, ecall_fn, 41), 42);
    expect_trap(14, 9);
    CHECKEQ(15, tr.level, 3);
    CHECKEQ(16, (tr.status & MSTATUS_MPP) >> 11, 1);
    arm_trap();
    CHECKEQ(17, run_mode(MODE_U, ecall_fn, 41), 42);
    expect_trap(18, 8);
    CHECKEQ(19, (tr.status & MSTATUS_MPP) >> 11, 0);
    ok("ecall from M/S/U: causes 11/9/8");

    /* ebreak: cause 3, mepc = the ebreak */
    arm_trap();
    asm volatile("la %0, 1f\n1:\tebreak" : "=r"(e) :: "memory");
    expect_trap(20, 3);
    CHECKEQ(21, tr.epc, e);
    CHECKEQ(22, tr.tval, 0);                      /* QEMU 7.2 writes mtval = 0 for ebreak */
    arm_trap();
    asm volatile(".option push\n\t.option rvc\n\tla %0, 1f\n1:\tc.ebreak\n\t.option pop" : "=r"(e) :: "memory");
    expect_trap(23, 3);
    CHECKEQ(24, tr.epc, e);
    ok("ebreak: cause 3");

    /* instruction access fault: cause 1, mepc = mtval = target */
    arm_trap();
    asm volatile("li t0, %0\n\tjalr ra, 0(t0)" :: "i"(UNMAPPED2) : "t0", "ra", "memory");
    expect_trap(25, 1);
    CHECKEQ(26, tr.epc, UNMAPPED2);
    CHECKEQ(27, tr.tval, UNMAPPED2);
    arm_trap();
    asm volatile("li t0, %0\n\tjalr ra, 0(t0)" :: "i"(UNMAPPED + 0x40) : "t0", "ra", "memory");
    expect_trap(28, 1);
    CHECKEQ(29, tr.tval, UNMAPPED + 0x40);
    ok("instruction access fault: cause 1");

    /* load / store access faults: causes 5 / 7, mtval = address */
    arm_trap();
    (void)mmio_r32(UNMAPPED2 + 0x10);
    expect_trap(30, 5);
    CHECKEQ(31, tr.tval, UNMAPPED2 + 0x10);
    arm_trap();
    (void)mmio_r64(UNMAPPED + 8);
    expect_trap(32, 5);
    CHECKEQ(33, tr.tval, UNMAPPED + 8);
    arm_trap();
    mmio_w8(UNMAPPED2 + 3, 1);
    expect_trap(34, 7);
    CHECKEQ(35, tr.tval, UNMAPPED2 + 3);
    arm_trap();
    {   /* AMO on an unmapped address: the spec says store/AMO access fault (7); QEMU 7.2
         * performs it as a load then a store and reports the load's access fault (5).
         * Either is accepted. */
        u64 r;
        asm volatile("amoadd.w %0, %1, (%2)" : "=r"(r) : "r"(1ull), "r"(UNMAPPED2 + 0x20) : "memory");
    }
    disarm_trap();
    CHECKEQ(36, tr.count, 1);
    CHECK(38, tr.cause == 7 || tr.cause == 5);
    CHECKEQ(37, tr.tval, UNMAPPED2 + 0x20);
    ok("load/store access faults: causes 5/7, mtval = address");

    /* delegation: medeleg sends U-mode illegal instruction / ebreak to S; M state untouched */
    csr_write(medeleg, (1 << 2) | (1 << 3));
    CHECKEQ(40, csr_read(medeleg) & 0xc, 0xc);
    int mt0 = mtrap_count;
    arm_trap();
    run_mode(MODE_U, illegal_fn, 0);
    expect_trap(41, 2);
    CHECKEQ(42, tr.level, 1);                     /* taken in S */
    CHECKEQ(43, tr.epc, (u64)(uintptr_t)illegal_fn);
    CHECKEQ(44, tr.tval, 0x0000000b);             /* stval */
    CHECKEQ(45, tr.status & MSTATUS_SPP, 0);      /* came from U */
    CHECKEQ(46, mtrap_count - mt0, 1);            /* only the final return ecall reached M */
    CHECKEQ(47, csr_read(mcause), 8);             /* ... which was that ecall */
    arm_trap();
    run_mode(MODE_S, ebreak_fn, 0);
    expect_trap(48, 3);
    CHECKEQ(49, tr.level, 1);
    CHECKEQ(50, tr.status & MSTATUS_SPP, MSTATUS_SPP);
    CHECKEQ(51, csr_read(scause), 3);
    CHECKEQ(52, tr.epc, (u64)(uintptr_t)ebreak_fn);
    /* exceptions in M-mode are never delegated */
    arm_trap();
    asm volatile(".word 0x0000000b" ::: "memory");
    expect_trap(53, 2);
    CHECKEQ(54, tr.level, 3);
    csr_write(medeleg, 0);
    arm_trap();
    run_mode(MODE_U, illegal_fn, 0);
    expect_trap(55, 2);
    CHECKEQ(56, tr.level, 3);
    ok("medeleg: delegated to S, M-mode traps stay in M");

    /* machine software interrupt: direct mode (mtval untouched = 0), then vectored (slot 3) */
    mtrap_hook = msip_hook;
    csr_write(mie, 1 << 3);
    arm_trap();
    mmio_w32(CLINT, 1);
    csr_set(mstatus, MSTATUS_MIE);
    asm volatile("nop; nop; nop" ::: "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    disarm_trap();
    CHECKEQ(60, tr.count, 1);
    CHECKEQ(61, tr.cause, INTR | 3);
    CHECKEQ(62, tr.tval, 0);
    extern char mtvec_vectored[], trap_entry[];
    csr_write(mtvec, (u64)mtvec_vectored | 1);
    CHECKEQ(63, csr_read(mtvec), (u64)mtvec_vectored | 1);
    arm_trap();
    mmio_w32(CLINT, 1);
    csr_set(mstatus, MSTATUS_MIE);
    asm volatile("nop; nop; nop" ::: "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    disarm_trap();
    CHECKEQ(64, tr.count, 1);
    CHECKEQ(65, tr.cause, INTR | 3);
    CHECKEQ(66, tr.tval, 3);                      /* came through slot 3 */
    /* exceptions still use the base address in vectored mode */
    arm_trap();
    asm volatile("li a7, 0\n\tecall" ::: "memory", "a7");
    expect_trap(67, 11);
    CHECKEQ(68, tr.tval, 0);
    csr_write(mtvec, (u64)trap_entry);
    csr_write(mie, 0);
    ok("mtvec direct and vectored");

    /* supervisor software interrupt delegated with mideleg, stvec vectored (slot 1) */
    strap_hook = ssip_hook;
    csr_write(mideleg, 1 << 1);
    extern char stvec_vectored[], strap_entry[];
    csr_write(stvec, (u64)stvec_vectored | 1);
    arm_trap();
    run_mode(MODE_S, s_ssip_fn, 0);
    disarm_trap();
    CHECKEQ(70, tr.count, 1);
    CHECKEQ(71, tr.cause, INTR | 1);
    CHECKEQ(72, tr.level, 1);
    CHECKEQ(73, tr.tval, 1);
    csr_write(stvec, (u64)strap_entry);
    arm_trap();
    run_mode(MODE_S, s_ssip_fn, 0);
    disarm_trap();
    CHECKEQ(74, tr.count, 1);
    CHECKEQ(75, tr.level, 1);
    CHECKEQ(76, tr.tval, 0);
    csr_write(mideleg, 0);
    csr_write(sie, 0);
    ok("mideleg + stvec direct and vectored");
    (void)label_addr;
    return 0;
}
