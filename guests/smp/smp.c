/* smp (run with -smp 2): both harts increment a shared counter with amoadd; hart 0 wakes
 * hart 1 from wfi with an IPI (msip), and hart 1 interrupts hart 0 the same way. */
#include "rt.h"

#define MSIP(h) (CLINT + 4 * (h))
#define ROUNDS 5000

static volatile u64 counter;
static volatile u32 h1_started, h1_done, h1_woken, h1_hartid, go;

void secondary_main(u64 hartid)
{
    h1_hartid = (u32)csr_read(mhartid);
    (void)hartid;
    h1_started = 1;
    csr_write(mie, 1 << 3);                   /* MIE stays clear: wfi just returns */
    mmio_w32(MSIP(0), 1);                     /* wake hart 0 from its wfi */
    while (!go)
        asm volatile("wfi");
    mmio_w32(MSIP(1), 0);
    for (int i = 0; i < ROUNDS; i++)
        asm volatile("amoadd.d zero, %0, (%1)" :: "r"(1ull), "r"(&counter) : "memory");
    __atomic_store_n(&h1_done, 1, __ATOMIC_RELEASE);
    mmio_w32(MSIP(0), 1);
    /* sleep until hart 0's next IPI */
    while (!(csr_read(mip) & (1 << 3)))
        asm volatile("wfi");
    mmio_w32(MSIP(1), 0);
    h1_woken = 1;
    /* and interrupt hart 0 */
    mmio_w32(MSIP(0), 1);
    for (;;) asm volatile("wfi");
}

static int m_hook(struct trap_frame *f)
{
    if (f->cause == (INTR | 3)) {
        mmio_w32(MSIP(0), 0);
        trap_note(f, 3);
        return 1;
    }
    return 0;
}

int main(void)
{
    println("smp: two harts");
    /* wait for hart 1 (it sends an IPI once it runs; MIE is clear so wfi just returns) */
    csr_write(mie, 1 << 3);
    for (int i = 0; i < 1000 && !h1_started; i++)
        asm volatile("wfi");
    mmio_w32(MSIP(0), 0);
    CHECKEQ(1, h1_started, 1);
    CHECKEQ(2, h1_hartid, 1);
    go = 1;
    mmio_w32(MSIP(1), 1);                     /* hart 1 sleeps until told to go */
    for (int i = 0; i < ROUNDS; i++)
        asm volatile("amoadd.d zero, %0, (%1)" :: "r"(1ull), "r"(&counter) : "memory");
    for (int i = 0; i < 1000 && !__atomic_load_n(&h1_done, __ATOMIC_ACQUIRE); i++)
        asm volatile("wfi");
    mmio_w32(MSIP(0), 0);
    CHECKEQ(3, h1_done, 1);
    CHECKEQ(4, counter, 2 * ROUNDS);
    ok("amoadd counter from both harts");

    mtrap_hook = m_hook;
    arm_trap();
    tr.armed = 0;
    csr_write(mie, 1 << 3);
    csr_set(mstatus, MSTATUS_MIE);
    for (int i = 0; i < 1000 && mmio_r32(MSIP(1)); i++)   /* hart 1 consumed the "go" IPI */
        asm volatile("wfi");
    mmio_w32(MSIP(1), 1);                     /* wake hart 1 */
    for (int i = 0; i < 1000 && tr.count == 0; i++)
        asm volatile("wfi");
    csr_clear(mstatus, MSTATUS_MIE);
    CHECKEQ(5, h1_woken, 1);
    CHECKEQ(6, tr.count, 1);
    CHECKEQ(7, tr.cause, INTR | 3);
    CHECKEQ(8, mmio_r32(MSIP(0)), 0);
    ok("IPIs between harts via msip");
    return 0;
}
