/* priv: every privilege transition (mret, sret, ecall, interrupts) with exact mstatus
 * MPP/SPP/MPIE/SPIE/MIE/SIE updates, plus mstatus.TSR, TW and TVM. */
#include "rt.h"

#define MPP_SHIFT 11
#define STATUS_BITS (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP)

static volatile u64 s_status_after, s_status_before, u_mode_seen;

/* ---- S-mode helpers ---- */
static u64 s_whoami(u64 arg) { (void)arg; return whoami(); }
static u64 u_whoami(u64 arg) { (void)arg; return whoami() + 100; }

static u64 u_return_mode(void)
{
    u_mode_seen = whoami();
    return 0;
}

/* In S: sret to U at u_target with given SPIE/SIE, U runs whoami (to M), then ecall(RETURN). */
static u64 s_sret_to_u(u64 spie)
{
    csr_clear(sstatus, MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE);
    if (spie) csr_set(sstatus, MSTATUS_SPIE);
    csr_write(sepc, (u64)(uintptr_t)u_return_mode);
    /* the U code "returns" into run_mode_exit, which ecalls to M */
    extern char run_mode_exit[];
    asm volatile("mv ra, %0\n\tsret" :: "r"(run_mode_exit) : "ra", "memory");
    __builtin_unreachable();
}

/* In S: sret back into S (SPP = S); check the new sstatus. */
static u64 s_sret_to_s(u64 arg)
{
    (void)arg;
    u64 after;
    csr_set(sstatus, MSTATUS_SPP | MSTATUS_SIE);
    csr_clear(sstatus, MSTATUS_SPIE);
    s_status_before = csr_read(sstatus);
    asm volatile("la t0, 1f\n\tcsrw sepc, t0\n\tsret\n1:\tcsrr %0, sstatus" : "=r"(after) :: "t0", "memory");
    s_status_after = after;
    return whoami();
}

static u64 s_try_sret(u64 arg)
{
    (void)arg;
    csr_set(sstatus, MSTATUS_SPP);      /* sret back into S */
    asm volatile("la t0, 1f\n\tcsrw sepc, t0\n\tsret\n1:" ::: "t0", "memory");
    return whoami();
}

static u64 s_try_wfi(u64 arg) { (void)arg; asm volatile("wfi" ::: "memory"); return 7; }
static u64 s_try_satp(u64 arg) { (void)arg; return csr_read(satp); }
static u64 s_try_sfence(u64 arg) { (void)arg; asm volatile("sfence.vma" ::: "memory"); return 5; }
static u64 s_read_mstatus(u64 arg) { (void)arg; return csr_read(mstatus); }
static u64 u_read_sstatus(u64 arg) { (void)arg; return csr_read(sstatus); }
static u64 u_mret(u64 arg) { (void)arg; asm volatile("mret" ::: "memory"); return 3; }
static u64 s_mret(u64 arg) { (void)arg; asm volatile("mret" ::: "memory"); return 4; }
static u64 u_sret(u64 arg) { (void)arg; asm volatile("sret" ::: "memory"); return 6; }

/* U ecall delegated to S: the hook records sstatus at the trap */
static volatile u64 s_hook_status, s_hook_cause, s_hook_epc;
static int s_ecall_hook(struct trap_frame *f)
{
    if (f->cause == 8 && f->x[17] == 0x77) {
        s_hook_status = f->status;
        s_hook_cause = f->cause;
        s_hook_epc = f->epc;
        f->x[10] = 0x5a;
        f->epc += 4;
        return 1;
    }
    if (f->cause == (INTR | 1)) {            /* SSIP taken from U */
        csr_clear(sip, 2);
        trap_note(f, 1);
        return 1;
    }
    return 0;
}

static u64 u_ecall77(u64 arg)
{
    register u64 a0 asm("a0") = arg;
    register u64 a7 asm("a7") = 0x77;
    asm volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
    return a0;
}

/* In S with SIE set: sret to U (SPIE = 1), U does a delegated ecall */
static u64 s_then_u_ecall(u64 arg)
{
    (void)arg;
    csr_clear(sstatus, MSTATUS_SPP);
    csr_set(sstatus, MSTATUS_SPIE);
    csr_clear(sstatus, MSTATUS_SIE);
    csr_write(sepc, (u64)(uintptr_t)u_ecall77);
    extern char run_mode_exit[];
    asm volatile("li a0, 9\n\tmv ra, %0\n\tsret" :: "r"(run_mode_exit) : "ra", "a0", "memory");
    __builtin_unreachable();
}

static u64 u_spin(u64 arg)
{
    for (volatile int i = 0; i < 4; i++) ;
    return arg;
}

/* In S with SIE clear: raise SSIP, then sret to U; the interrupt must be taken in U. */
static u64 s_ssip_then_u(u64 arg)
{
    (void)arg;
    csr_set(sie, 2);
    csr_clear(sstatus, MSTATUS_SIE | MSTATUS_SPP | MSTATUS_SPIE);
    csr_set(sip, 2);
    csr_write(sepc, (u64)(uintptr_t)u_spin);
    extern char run_mode_exit[];
    asm volatile("li a0, 0\n\tmv ra, %0\n\tsret" :: "r"(run_mode_exit) : "ra", "a0", "memory");
    __builtin_unreachable();
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

int main(void)
{
    u64 st;
    println("priv: privilege transitions and mstatus bookkeeping");

    /* M -> M mret: MIE := MPIE, MPIE := 1, MPP := U (least privileged) */
    csr_clear(mstatus, MSTATUS_MIE | MSTATUS_MPIE);
    csr_set(mstatus, MSTATUS_MPP);
    asm volatile("la t0, 1f\n\tcsrw mepc, t0\n\tmret\n1:\tcsrr %0, mstatus" : "=r"(st) :: "t0", "memory");
    CHECKEQ(1, st & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP), MSTATUS_MPIE);
    csr_set(mstatus, MSTATUS_MPP);
    asm volatile("la t0, 1f\n\tcsrw mepc, t0\n\tmret\n1:\tcsrr %0, mstatus" : "=r"(st) :: "t0", "memory");
    CHECKEQ(2, st & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP), MSTATUS_MIE | MSTATUS_MPIE);
    csr_clear(mstatus, MSTATUS_MIE);
    ok("mret M->M: MIE/MPIE/MPP");

    /* M -> S and M -> U via mret; the ecall back records MPP and MPIE */
    csr_clear(mstatus, MSTATUS_MPIE);
    arm_trap();
    CHECKEQ(4, run_mode(MODE_S, s_whoami, 0), 1);
    CHECKEQ(5, run_mode(MODE_U, u_whoami, 0), 100);
    disarm_trap();
    /* ecall S->M: trap-time mstatus had MPP = S, MIE = 0, MPIE = MIE in S (= MPIE before mret = 0) */
    arm_trap();
    csr_set(mstatus, MSTATUS_MPIE);     /* S will run with MIE = 1 (M interrupts are on in S anyway) */
    run_mode(MODE_S, s_read_mstatus, 0);    /* illegal in S: cause 2 taken in M */
    expect_trap(6, 2);
    CHECKEQ(7, tr.level, 3);
    CHECKEQ(8, tr.status & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP), MSTATUS_MPIE | (1 << MPP_SHIFT));
    CHECKEQ(9, tr.tval, 0x30002573 | 0);         /* csrr a0, mstatus */
    arm_trap();
    csr_clear(mstatus, MSTATUS_MPIE);
    run_mode(MODE_U, u_read_sstatus, 0);         /* sstatus is not accessible from U */
    expect_trap(10, 2);
    CHECKEQ(11, tr.status & (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP), 0);
    arm_trap();
    run_mode(MODE_U, u_mret, 0);
    expect_trap(12, 2);
    arm_trap();
    run_mode(MODE_S, s_mret, 0);
    expect_trap(13, 2);
    arm_trap();
    run_mode(MODE_U, u_sret, 0);
    expect_trap(14, 2);
    ok("mret M->S, M->U; M-only instructions and CSRs illegal below M");

    /* S -> U via sret: SIE := SPIE, SPIE := 1, SPP := U */
    u_mode_seen = 99;
    run_mode(MODE_S, s_sret_to_u, 1);
    CHECKEQ(15, u_mode_seen, 0);
    st = csr_read(mstatus);
    CHECKEQ(16, st & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP), MSTATUS_SIE | MSTATUS_SPIE);
    run_mode(MODE_S, s_sret_to_u, 0);
    st = csr_read(mstatus);
    CHECKEQ(17, st & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP), MSTATUS_SPIE);
    /* S -> S via sret */
    CHECKEQ(18, run_mode(MODE_S, s_sret_to_s, 0), 1);
    CHECKEQ(19, s_status_before & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP), MSTATUS_SIE | MSTATUS_SPP);
    CHECKEQ(20, s_status_after & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP), MSTATUS_SPIE);
    csr_clear(mstatus, MSTATUS_SIE | MSTATUS_SPIE);
    ok("sret S->U, S->S: SIE/SPIE/SPP");

    /* U -> S via delegated ecall: SPP := U, SPIE := SIE, SIE := 0 */
    csr_write(medeleg, 1 << 8);
    strap_hook = s_ecall_hook;
    s_hook_status = 0;
    CHECKEQ(21, run_mode(MODE_S, s_then_u_ecall, 0), 0x5a);
    CHECKEQ(22, s_hook_cause, 8);
    CHECKEQ(23, *(volatile u32 *)(uintptr_t)s_hook_epc, 0x00000073);   /* sepc -> the ecall */
    /* at the trap: SPP = 0 (from U), SPIE = SIE in U (= 1, from SPIE at sret), SIE = 0 */
    CHECKEQ(24, s_hook_status & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP), MSTATUS_SPIE);
    CHECKEQ(25, csr_read(scause), 8);
    csr_write(medeleg, 0);
    ok("ecall U->S (delegated)");

    /* U -> M and S -> M via ecall (not delegated) */
    arm_trap();
    run_mode(MODE_U, u_ecall77, 3);
    expect_trap(26, 8);
    CHECKEQ(27, tr.level, 3);
    CHECKEQ(28, (tr.status & MSTATUS_MPP) >> MPP_SHIFT, 0);
    arm_trap();
    run_mode(MODE_S, u_ecall77, 3);
    expect_trap(29, 9);
    CHECKEQ(30, (tr.status & MSTATUS_MPP) >> MPP_SHIFT, 1);
    ok("ecall U->M, S->M");

    /* interrupt U -> M: msip pending while M has MIE = 0; taken as soon as U runs */
    mtrap_hook = msip_hook;
    csr_write(mie, 1 << 3);
    csr_clear(mstatus, MSTATUS_MIE | MSTATUS_MPIE);
    mmio_w32(CLINT, 1);
    arm_trap();
    tr.armed = 0;                         /* only the hook records */
    CHECKEQ(31, run_mode(MODE_U, u_spin, 8), 8);
    CHECKEQ(32, tr.count, 1);
    CHECKEQ(33, tr.cause, INTR | 3);
    CHECKEQ(34, tr.epc, (u64)(uintptr_t)u_spin);           /* before its first instruction */
    CHECKEQ(35, (tr.status & MSTATUS_MPP) >> MPP_SHIFT, 0);
    CHECKEQ(36, tr.status & (MSTATUS_MIE | MSTATUS_MPIE), 0);   /* MPIE = MIE in U = 0 */
    /* same from S */
    mmio_w32(CLINT, 1);
    arm_trap();
    tr.armed = 0;
    CHECKEQ(37, run_mode(MODE_S, u_spin, 9), 9);
    CHECKEQ(38, tr.count, 1);
    CHECKEQ(39, (tr.status & MSTATUS_MPP) >> MPP_SHIFT, 1);
    csr_write(mie, 0);
    mtrap_hook = 0;
    /* delegated interrupt U -> S: SSIP pending while S had SIE = 0 */
    csr_write(mideleg, 1 << 1);
    arm_trap();
    tr.armed = 0;
    run_mode(MODE_S, s_ssip_then_u, 0);
    CHECKEQ(40, tr.count, 1);
    CHECKEQ(41, tr.cause, INTR | 1);
    CHECKEQ(42, tr.level, 1);
    CHECKEQ(43, tr.status & MSTATUS_SPP, 0);
    CHECKEQ(44, tr.epc, (u64)(uintptr_t)u_spin);
    csr_write(mideleg, 0);
    csr_write(sie, 0);
    strap_hook = 0;
    ok("interrupts U->M, S->M, U->S");

    /* TSR: sret in S is illegal; TW: wfi in S is illegal; wfi in U is always illegal */
    csr_set(mstatus, MSTATUS_TSR);
    arm_trap();
    run_mode(MODE_S, s_try_sret, 0);
    expect_trap(50, 2);
    CHECKEQ(51, tr.tval, 0x10200073);
    csr_clear(mstatus, MSTATUS_TSR);
    CHECKEQ(52, run_mode(MODE_S, s_try_sret, 0), 1);       /* allowed again */
    csr_set(mstatus, MSTATUS_TW);
    arm_trap();
    CHECKEQ(53, run_mode(MODE_S, s_try_wfi, 0), 7);
    expect_trap(54, 2);
    CHECKEQ(55, tr.tval, 0x10500073);
    csr_clear(mstatus, MSTATUS_TW);
    arm_trap();
    run_mode(MODE_U, s_try_wfi, 0);
    expect_trap(56, 2);
    ok("TSR (sret) and TW (wfi)");

    /* TVM: satp access and sfence.vma illegal in S */
    csr_set(mstatus, MSTATUS_TVM);
    arm_trap();
    run_mode(MODE_S, s_try_satp, 0);
    expect_trap(57, 2);
    arm_trap();
    run_mode(MODE_S, s_try_sfence, 0);
    expect_trap(58, 2);
    CHECKEQ(59, tr.tval, 0x12000073);
    csr_clear(mstatus, MSTATUS_TVM);
    arm_trap();
    CHECKEQ(60, run_mode(MODE_S, s_try_satp, 0), 0);
    CHECKEQ(61, run_mode(MODE_S, s_try_sfence, 0), 5);
    expect_no_trap(62);
    /* satp/sfence from U are always illegal */
    arm_trap();
    run_mode(MODE_U, s_try_satp, 0);
    expect_trap(63, 2);
    ok("TVM (satp, sfence.vma)");
    return 0;
}
