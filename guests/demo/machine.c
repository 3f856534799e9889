/* Ringside demo kernel, M-mode part: protection setup and a tiny SBI-like service.
 *
 * The kernel runs in S-mode and asks M-mode (ecall from S, a7 = function) to program the
 * timer, print a character or power off.  The machine timer interrupt is turned into a
 * supervisor timer interrupt (mip.STIP), which is delegated to S. */
#include "demo.h"

extern char mstack_top[];

static void m_uart_putc(char c)
{
    volatile u8 *uart = (volatile u8 *)UART0;
    while (!(uart[5] & 0x20))
        ;
    uart[0] = c;
}

void m_main(void)
{
    /* PMP entry 0: NAPOT over the whole address space, RWX, so S and U may run */
    csr_write(pmpaddr0, -1ul);
    csr_write(pmpcfg0, 0x1f);

    /* delegate user exceptions and the supervisor interrupts to S */
    csr_write(medeleg, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 6) | (1 << 8) |
                       (1 << 12) | (1 << 13) | (1 << 15));
    csr_write(mideleg, (1 << 1) | (1 << 5) | (1 << 9));

    /* no timer interrupt until S asks for one */
    *(volatile u64 *)MTIMECMP0 = -1ul;
    csr_write(mscratch, mstack_top);
    csr_write(mtvec, m_trap_entry);
    csr_write(mie, 0);

    /* S may read time (rdtime) and cycle/instret from U too */
    csr_write(mcounteren, 7);

    /* mret into the kernel in S-mode, paging off */
    csr_write(satp, 0);
    u64 st = csr_read(mstatus);
    st &= ~(3ul << 11);
    st |= 1ul << 11;            /* MPP = S */
    csr_write(mstatus, st);
    csr_write(mepc, kmain);
    asm volatile("mret");
    __builtin_unreachable();
}

/* regs: ra t0 t1 t2 a0 a1 ... a7 t3..t6 as saved by m_trap_entry */
void m_trap(u64 *regs)
{
    u64 cause = csr_read(mcause);
    if (cause == ((1ul << 63) | 7)) {
        /* machine timer: hand it to S as STIP and mask it until the next set_timer */
        csr_clear(mie, 1 << 7);
        csr_set(mip, 1 << 5);
        return;
    }
    if (cause == 9) {
        u64 *a0 = &regs[4];
        u64 fn = regs[11];
        switch (fn) {
        case SBI_SET_TIMER:
            *(volatile u64 *)MTIMECMP0 = *a0;
            csr_clear(mip, 1 << 5);
            csr_set(mie, 1 << 7);
            *a0 = 0;
            break;
        case SBI_PUTCHAR:
            m_uart_putc((char)*a0);
            *a0 = 0;
            break;
        case SBI_SHUTDOWN:
            *(volatile u32 *)FINISHER = *a0 ? (0x3333 | (u32)(*a0 << 16)) : 0x5555;
            for (;;) asm volatile("wfi");
        default:
            *a0 = -1ul;
        }
        csr_write(mepc, csr_read(mepc) + 4);
        return;
    }
    /* anything else is a bug in the kernel: report and fail */
    const char *msg = "demo: unexpected M-mode trap\n";
    while (*msg) m_uart_putc(*msg++);
    *(volatile u32 *)FINISHER = 0x3333 | (99 << 16);
    for (;;) asm volatile("wfi");
}
