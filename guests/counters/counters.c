/* counters: cycle/time/instret readable and consistent; mcounteren/scounteren gating. */
#include "rt.h"

static u64 rd_cycle(u64 a) { (void)a; u64 v; asm volatile("rdcycle %0" : "=r"(v)); return v + 1; }
static u64 rd_time(u64 a) { (void)a; u64 v; asm volatile("rdtime %0" : "=r"(v)); return v + 1; }
static u64 rd_instret(u64 a) { (void)a; u64 v; asm volatile("rdinstret %0" : "=r"(v)); return v + 1; }

static void gate(int id, u64 mode, u64 (*fn)(u64), int allowed)
{
    arm_trap();
    u64 v = run_mode(mode, fn, 0);
    if (allowed) {
        expect_no_trap(id);
        CHECK(id, v != 0);
    } else {
        expect_trap(id, 2);
    }
}

int main(void)
{
    u64 a, b, t0, t1, m0;
    println("counters: cycle, time, instret and their enables");
    /* instret counts a known loop: 1000 x (addi, bnez) plus the reads */
    asm volatile("rdinstret %0\n\tli t0, 1000\n1:\taddi t0, t0, -1\n\tbnez t0, 1b\n\trdinstret %1"
                 : "=&r"(a), "=&r"(b) :: "t0");
    CHECKEQ(1, b - a, 2002);
    /* minstret is the same counter */
    asm volatile("csrr %0, minstret\n\tcsrr %1, instret" : "=&r"(a), "=&r"(b));
    CHECKEQ(2, b - a, 1);
    /* cycle advances */
    asm volatile("rdcycle %0\n\tnop\n\tnop\n\trdcycle %1" : "=&r"(a), "=&r"(b));
    CHECK(3, b > a);
    /* time follows the CLINT's mtime and is monotonic */
    m0 = mmio_r64(CLINT + 0xbff8);
    t0 = csr_read(time);
    for (volatile int i = 0; i < 2000; i++) ;
    t1 = csr_read(time);
    CHECK(4, t0 >= m0 && t0 - m0 < 100);
    CHECK(5, t1 > t0);
    ok("cycle/time/instret readable in M");

    /* S needs mcounteren; U needs mcounteren and scounteren */
    csr_write(mcounteren, 0);
    csr_write(scounteren, 0);
    gate(10, MODE_S, rd_cycle, 0);
    gate(11, MODE_S, rd_time, 0);
    gate(12, MODE_S, rd_instret, 0);
    csr_write(mcounteren, 1 << 1);          /* TM only */
    gate(13, MODE_S, rd_time, 1);
    gate(14, MODE_S, rd_cycle, 0);
    gate(15, MODE_U, rd_time, 0);           /* scounteren.TM clear */
    csr_write(scounteren, 1 << 1);
    gate(16, MODE_U, rd_time, 1);
    gate(17, MODE_U, rd_instret, 0);
    csr_write(mcounteren, 7);
    csr_write(scounteren, 1 << 0);
    gate(18, MODE_S, rd_instret, 1);
    gate(19, MODE_U, rd_cycle, 1);
    gate(20, MODE_U, rd_time, 0);
    csr_write(scounteren, 0);
    csr_write(mcounteren, 1 << 2);
    gate(21, MODE_U, rd_instret, 0);        /* scounteren.IR clear */
    CHECKEQ(22, csr_read(mcounteren), 4);
    ok("mcounteren/scounteren gating");
    return 0;
}
