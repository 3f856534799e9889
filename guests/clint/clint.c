/* clint: mtime, machine timer (mtimecmp) and software (msip) interrupts, S-mode timer
 * interrupts via mip.STIP, and wfi waking on a pending interrupt with MIE clear. */
#include "rt.h"

#define MSIP0     (CLINT + 0x0)
#define MTIMECMP0 (CLINT + 0x4000)
#define MTIME     (CLINT + 0xbff8)
#define MIP_SSIP (1 << 1)
#define MIP_MSIP (1 << 3)
#define MIP_STIP (1 << 5)
#define MIP_MTIP (1 << 7)

static volatile int forward_to_s;

static int m_hook(struct trap_frame *f)
{
    if (f->cause == (INTR | 7)) {
        mmio_w64(MTIMECMP0, -1ull);
        if (forward_to_s) csr_set(mip, MIP_STIP);    /* hand the tick to S */
        trap_note(f, 3);
        return 1;
    }
    if (f->cause == (INTR | 3)) {
        mmio_w32(MSIP0, 0);
        trap_note(f, 3);
        return 1;
    }
    if (f->cause == 9 && f->x[17] == 0x5354) {        /* S asks M to clear STIP */
        csr_clear(mip, MIP_STIP);
        f->epc += 4;
        return 1;
    }
    return 0;
}

static int s_hook(struct trap_frame *f)
{
    if (f->cause == (INTR | 5)) {
        register u64 a7 asm("a7") = 0x5354;
        asm volatile("ecall" :: "r"(a7) : "memory");
        trap_note(f, 1);
        return 1;
    }
    return 0;
}

static u64 s_wait(u64 arg)
{
    csr_set(sie, 1 << 5);
    csr_set(sstatus, MSTATUS_SIE);
    for (volatile u64 i = 0; i < arg; i++) ;
    csr_clear(sstatus, MSTATUS_SIE);
    return 0;
}

static void wait_count(int n)
{
    for (int i = 0; i < 100000 && tr.count < n; i++) asm volatile("nop");
}

int main(void)
{
    u64 t0, t1;
    println("clint: timer and software interrupts");
    mtrap_hook = m_hook;
    strap_hook = s_hook;
    mmio_w64(MTIMECMP0, -1ull);

    t0 = mmio_r64(MTIME);
    for (volatile int i = 0; i < 1000; i++) ;
    t1 = mmio_r64(MTIME);
    CHECK(1, t1 > t0);
    CHECK(2, csr_read(time) >= t1);
    ok("mtime advances");

    /* MTIP follows mtime >= mtimecmp */
    mmio_w64(MTIMECMP0, 0);
    CHECK(3, csr_read(mip) & MIP_MTIP);
    mmio_w64(MTIMECMP0, -1ull);
    CHECK(4, !(csr_read(mip) & MIP_MTIP));
    /* machine timer interrupt */
    arm_trap();
    tr.armed = 0;
    csr_write(mie, MIP_MTIP);
    csr_set(mstatus, MSTATUS_MIE);
    mmio_w64(MTIMECMP0, mmio_r64(MTIME) + 50);
    wait_count(1);
    csr_clear(mstatus, MSTATUS_MIE);
    CHECKEQ(5, tr.count, 1);
    CHECKEQ(6, tr.cause, INTR | 7);
    CHECK(7, mmio_r64(MTIME) >= 0);
    ok("machine timer interrupt (cause 7)");

    /* machine software interrupt */
    mmio_w32(MSIP0, 1);
    CHECK(8, csr_read(mip) & MIP_MSIP);
    CHECKEQ(9, mmio_r32(MSIP0), 1);
    arm_trap();
    tr.armed = 0;
    csr_write(mie, MIP_MSIP);
    csr_set(mstatus, MSTATUS_MIE);
    asm volatile("nop; nop" ::: "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    CHECKEQ(10, tr.count, 1);
    CHECKEQ(11, tr.cause, INTR | 3);
    CHECK(12, !(csr_read(mip) & MIP_MSIP));
    ok("machine software interrupt (cause 3)");

    /* S timer interrupt raised by M writing mip.STIP */
    csr_write(mideleg, MIP_STIP);
    csr_write(mie, MIP_STIP);
    csr_set(mip, MIP_STIP);
    CHECK(13, csr_read(mip) & MIP_STIP);
    arm_trap();
    tr.armed = 0;
    run_mode(MODE_S, s_wait, 10);
    CHECKEQ(14, tr.count, 1);
    CHECKEQ(15, tr.cause, INTR | 5);
    CHECKEQ(16, tr.level, 1);
    CHECK(17, !(csr_read(mip) & MIP_STIP));
    /* machine timer forwarded to S as STIP */
    forward_to_s = 1;
    csr_write(mie, MIP_STIP | MIP_MTIP);
    arm_trap();
    tr.armed = 0;
    mmio_w64(MTIMECMP0, mmio_r64(MTIME) + 20);
    run_mode(MODE_S, s_wait, 20000);
    CHECKEQ(18, tr.count, 2);                 /* M timer, then S timer */
    CHECKEQ(19, tr.cause, INTR | 5);
    CHECKEQ(20, tr.level, 1);
    forward_to_s = 0;
    csr_write(mideleg, 0);
    ok("S timer interrupt via STIP (direct and forwarded)");

    /* wfi returns when an enabled interrupt becomes pending, even with MIE clear */
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, MIP_MTIP);
    arm_trap();
    tr.armed = 0;
    t0 = mmio_r64(MTIME);
    mmio_w64(MTIMECMP0, t0 + 200);
    asm volatile("wfi" ::: "memory");
    t1 = mmio_r64(MTIME);
    CHECK(21, t1 >= t0 + 200 || (csr_read(mip) & MIP_MTIP));
    CHECK(22, csr_read(mip) & MIP_MTIP);
    CHECKEQ(23, tr.count, 0);                 /* no trap taken */
    mmio_w64(MTIMECMP0, -1ull);
    csr_write(mie, 0);
    ok("wfi wakes on pending interrupt with MIE = 0");
    return 0;
}
