/* plic: UART0 (IRQ 10) interrupts through the PLIC: THR-empty and loopback RX interrupts,
 * claim/complete, priority threshold, and routing to hart 0's S-mode context. */
#include "rt.h"

#define IRQ_UART 10
#define PRIO(irq)       (PLIC + 4 * (irq))
#define PENDING         (PLIC + 0x1000)
#define ENABLE(ctx)     (PLIC + 0x2000 + 0x80 * (ctx))
#define THRESHOLD(ctx)  (PLIC + 0x200000 + 0x1000 * (ctx))
#define CLAIM(ctx)      (THRESHOLD(ctx) + 4)
#define CTX_M0 0
#define CTX_S0 1

#define RBR (UART0 + 0)
#define THR (UART0 + 0)
#define IER (UART0 + 1)
#define IIR (UART0 + 2)
#define MCR (UART0 + 4)
#define LSR (UART0 + 5)

static volatile u32 claimed, iir_seen, rx_byte;

static void handle_uart(int ctx)
{
    u32 id = mmio_r32(CLAIM(ctx));
    claimed = id;
    if (id == IRQ_UART) {
        u8 iir = mmio_r8(IIR);            /* reading IIR acknowledges THR-empty */
        iir_seen = iir;
        if ((iir & 0x0f) == 0x04) {       /* received data */
            rx_byte = mmio_r8(RBR);
        }
        mmio_w8(IER, 0);                  /* one interrupt per step of the test */
    }
    mmio_w32(CLAIM(ctx), id);             /* complete */
}

static int m_hook(struct trap_frame *f)
{
    if (f->cause == (INTR | 11)) {
        handle_uart(CTX_M0);
        trap_note(f, 3);
        return 1;
    }
    return 0;
}

static int s_hook(struct trap_frame *f)
{
    if (f->cause == (INTR | 9)) {
        handle_uart(CTX_S0);
        trap_note(f, 1);
        return 1;
    }
    return 0;
}

static u64 s_enable_and_wait(u64 arg)
{
    (void)arg;
    csr_set(sie, 1 << 9);
    csr_set(sstatus, MSTATUS_SIE);
    mmio_w8(IER, 0x02);                   /* THR empty: fires at once */
    for (volatile int i = 0; i < 100 && !claimed; i++) ;
    csr_clear(sstatus, MSTATUS_SIE);
    return claimed;
}

static void drain(void) { while (mmio_r8(LSR) & 1) (void)mmio_r8(RBR); }

int main(void)
{
    println("plic: UART interrupts through the PLIC");
    mtrap_hook = m_hook;
    strap_hook = s_hook;
    drain();
    mmio_w32(PRIO(IRQ_UART), 1);
    CHECKEQ(1, mmio_r32(PRIO(IRQ_UART)), 1);
    mmio_w32(ENABLE(CTX_M0), 1 << IRQ_UART);
    CHECKEQ(2, mmio_r32(ENABLE(CTX_M0)), 1 << IRQ_UART);
    mmio_w32(THRESHOLD(CTX_M0), 0);
    csr_write(mie, 1 << 11);

    /* THR-empty interrupt (IER bit 1) taken as a machine external interrupt */
    arm_trap();
    tr.armed = 0;
    claimed = 0;
    mmio_w8(IER, 0x02);
    CHECK(3, mmio_r32(PENDING) & (1 << IRQ_UART));
    CHECK(4, csr_read(mip) & (1 << 11));              /* MEIP */
    csr_set(mstatus, MSTATUS_MIE);
    asm volatile("nop; nop" ::: "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    CHECKEQ(5, tr.count, 1);
    CHECKEQ(6, tr.cause, INTR | 11);
    CHECKEQ(7, claimed, IRQ_UART);
    CHECKEQ(8, iir_seen & 0x0f, 0x02);
    CHECK(9, !(csr_read(mip) & (1 << 11)));
    CHECKEQ(10, mmio_r32(CLAIM(CTX_M0)), 0);          /* nothing left to claim */
    ok("THR-empty interrupt, claim = 10, complete");

    /* threshold >= priority masks the source */
    mmio_w32(THRESHOLD(CTX_M0), 1);
    mmio_w8(IER, 0x02);
    CHECK(11, !(csr_read(mip) & (1 << 11)));
    mmio_w32(THRESHOLD(CTX_M0), 0);
    CHECK(12, csr_read(mip) & (1 << 11));
    mmio_w8(IER, 0);
    /* the PLIC latched the request: it stays claimable after the UART drops its line */
    CHECKEQ(13, mmio_r32(CLAIM(CTX_M0)), IRQ_UART);
    mmio_w32(CLAIM(CTX_M0), IRQ_UART);
    CHECK(14, !(csr_read(mip) & (1 << 11)));
    ok("priority threshold");

    /* loopback: a transmitted byte comes back as received data (IER bit 0) */
    arm_trap();
    tr.armed = 0;
    claimed = 0;
    mmio_w8(MCR, 0x10);
    mmio_w8(IER, 0x01);
    mmio_w8(THR, 'R');
    for (volatile int i = 0; i < 100 && !(mmio_r8(LSR) & 1); i++) ;
    csr_set(mstatus, MSTATUS_MIE);
    asm volatile("nop; nop" ::: "memory");
    csr_clear(mstatus, MSTATUS_MIE);
    mmio_w8(MCR, 0x00);
    CHECKEQ(20, tr.count, 1);
    CHECKEQ(21, claimed, IRQ_UART);
    CHECKEQ(22, iir_seen & 0x0f, 0x04);
    CHECKEQ(23, rx_byte, 'R');
    drain();
    ok("loopback RX interrupt");

    /* route IRQ 10 to hart 0's S-mode context, delegate SEIP */
    mmio_w32(ENABLE(CTX_M0), 0);
    mmio_w32(ENABLE(CTX_S0), 1 << IRQ_UART);
    mmio_w32(THRESHOLD(CTX_S0), 0);
    csr_write(mie, 1 << 9);
    csr_write(mideleg, 1 << 9);
    arm_trap();
    tr.armed = 0;
    claimed = 0;
    CHECKEQ(30, run_mode(MODE_S, s_enable_and_wait, 0), IRQ_UART);
    CHECKEQ(31, tr.count, 1);
    CHECKEQ(32, tr.cause, INTR | 9);
    CHECKEQ(33, tr.level, 1);
    CHECK(34, !(csr_read(mip) & (1 << 9)));
    csr_write(mideleg, 0);
    csr_write(mie, 0);
    mmio_w32(ENABLE(CTX_S0), 0);
    ok("S-mode context (SEIP, cause 9)");
    return 0;
}
