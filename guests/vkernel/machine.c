/* vkernel, M-mode part: runs once at boot, then only for the machine timer.
 *
 * - PMP: entry 0 hides the machine area (timer save area, M stack) from S and U; entry 1
 *   grants everything else, so the kernel and the processes may run at all.
 * - Delegation: the exceptions of S and U and the supervisor interrupts go straight to S.
 * - Timer, the xv6 way (no Sstc): M-mode owns mtimecmp.  Each machine timer interrupt
 *   re-arms mtimecmp one interval later and raises the supervisor software interrupt
 *   (csrs sip, 2); the S-mode handler clears SSIP and schedules (start.S, trap.c). */
#include "vkernel.h"

#define PMP_R      0x01
#define PMP_W      0x02
#define PMP_X      0x04
#define PMP_NAPOT  0x18

struct machine_area {
    u64 scratch[8];                     /* MACHINE_* offsets in vkernel.h */
    u8 stack[PAGE_SIZE - 64];
};

static struct machine_area machine_area
    __attribute__((section(".machine_area"), aligned(PAGE_SIZE), used));

static void machine_putc(char c)
{
    volatile u8 *uart = (volatile u8 *)UART0;
    while (!(uart[5] & 0x20))           /* LSR: transmit holding register empty */
        ;
    uart[0] = c;
}

static void machine_puthex(u64 v)
{
    for (int shift = 60; shift >= 0; shift -= 4)
        machine_putc("0123456789abcdef"[(v >> shift) & 15]);
}

void machine_setup(void)
{
    _Static_assert(sizeof(struct machine_area) == PAGE_SIZE, "machine area is one NAPOT page");

    /* NAPOT encodes base and size together: (base >> 2) | (size / 8 - 1) */
    csr_write(pmpaddr0, ((u64)&machine_area >> 2) | (PAGE_SIZE / 8 - 1));
    csr_write(pmpaddr1, -1ul);          /* NAPOT over the whole physical address space */
    csr_write(pmpcfg0, PMP_NAPOT | (u64)(PMP_NAPOT | PMP_R | PMP_W | PMP_X) << 8);

    /* misaligned, access faults, illegal instruction, breakpoint, ecall from U, page faults */
    csr_write(medeleg, 0x1ff | (1 << 12) | (1 << 13) | (1 << 15));
    csr_write(mideleg, (1 << IRQ_S_SOFTWARE) | (1 << IRQ_S_TIMER) | (1 << IRQ_S_EXTERNAL));

    u64 hart = csr_read(mhartid);
    machine_area.scratch[MACHINE_MTIMECMP / 8] = CLINT_MTIMECMP(hart);
    machine_area.scratch[MACHINE_INTERVAL / 8] = TIMER_INTERVAL;
    machine_area.scratch[MACHINE_STACK_TOP / 8] = (u64)machine_area.stack + sizeof machine_area.stack;
    csr_write(mscratch, machine_area.scratch);
    csr_write(mtvec, machine_timer_vector);
    *(volatile u64 *)CLINT_MTIMECMP(hart) = *(volatile u64 *)CLINT_MTIME + TIMER_INTERVAL;
    /* Only the machine timer is enabled in M.  mstatus.MIE may stay 0: M-mode interrupts are
       always taken while the hart runs in S or U, and M itself never waits. */
    csr_write(mie, 1 << IRQ_M_TIMER);

    csr_write(mcounteren, 7);           /* S may read cycle, time and instret */
    csr_write(satp, 0);
    /* mstatus.FS stays Off: the kernel and its processes use no floating point, so an FP
       instruction is an illegal-instruction trap instead of unsaved state. */
    u64 status = csr_read(mstatus);
    status = (status & ~MSTATUS_MPP_MASK) | MSTATUS_MPP_S;
    csr_write(mstatus, status);
    csr_write(mepc, kmain);
}

/* Reached from machine_timer_vector on any M-mode trap other than the timer: a bug. */
void machine_unexpected_trap(void)
{
    const char *message = "vkernel: unexpected M-mode trap, mcause 0x";
    while (*message) machine_putc(*message++);
    machine_puthex(csr_read(mcause));
    message = " mepc 0x";
    while (*message) machine_putc(*message++);
    machine_puthex(csr_read(mepc));
    machine_putc('\n');
    *(volatile u32 *)FINISHER = FINISHER_FAIL | (EXIT_MACHINE_TRAP << 16);
    for (;;) asm volatile("wfi");
}
