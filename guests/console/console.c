/* console: an interactive guest for the host console and idle pacing. It sleeps in wfi
 * until the UART receives (RX interrupt through the PLIC's M-mode context) or its timer
 * fires, echoes what is typed and runs one-line commands:
 *   add A B     print A+B              time     print mtime (10 MHz ticks)
 *   sleep MS    wait MS ms in wfi      exit N   power off with exit code N
 *   spin MS     busy-wait MS ms reading the time CSR (no wfi), like a boot loader's countdown
 * Ctrl-C (byte 3) prints ^C and cancels the line, or ends a sleep early. */
#include "rt.h"

#define IRQ_UART 10
#define PRIO(irq)       (PLIC + 4 * (irq))
#define ENABLE(ctx)     (PLIC + 0x2000 + 0x80 * (ctx))
#define THRESHOLD(ctx)  (PLIC + 0x200000 + 0x1000 * (ctx))
#define CLAIM(ctx)      (THRESHOLD(ctx) + 4)
#define CTX_M0 0
#define MTIME           (CLINT + 0xbff8)
#define MTIMECMP0       (CLINT + 0x4000)
#define TICKS_PER_MS    10000

#define RBR (UART0 + 0)
#define IER (UART0 + 1)
#define FCR (UART0 + 2)
#define LSR (UART0 + 5)

#define MIE_MTIE (1u << 7)
#define MIE_MEIE (1u << 11)

static int ctrl_c_seen;
/* Bytes typed during a sleep, kept for the command line (type-ahead). */
static char typeahead[256];
static unsigned typeahead_head, typeahead_tail;

/* Next received byte, or -1 after waiting in wfi for an interrupt that brought none. */
static int next_byte_or_wait(void)
{
    if (typeahead_head != typeahead_tail) return typeahead[typeahead_tail++ % sizeof typeahead];
    if (mmio_r8(LSR) & 1) return mmio_r8(RBR);
    asm volatile("wfi");
    u32 id = mmio_r32(CLAIM(CTX_M0));
    if (id) mmio_w32(CLAIM(CTX_M0), id);
    if (mmio_r8(LSR) & 1) return mmio_r8(RBR);
    return -1;
}

static u64 parse(const char **s)
{
    u64 v = 0;
    while (**s == ' ') (*s)++;
    while (**s >= '0' && **s <= '9') v = v * 10 + (u64)(*(*s)++ - '0');
    return v;
}

static int starts(const char *line, const char *word)
{
    while (*word) if (*line++ != *word++) return 0;
    return *line == ' ' || *line == 0;
}

static void do_sleep(u64 ms)
{
    u64 start = mmio_r64(MTIME);
    mmio_w64(MTIMECMP0, start + ms * TICKS_PER_MS);
    while (mmio_r64(MTIME) < start + ms * TICKS_PER_MS) {
        int c = -1;
        if (mmio_r8(LSR) & 1) c = mmio_r8(RBR);
        else {
            asm volatile("wfi");
            u32 id = mmio_r32(CLAIM(CTX_M0));
            if (id) mmio_w32(CLAIM(CTX_M0), id);
        }
        if (c == 3) { ctrl_c_seen = 1; break; }
        if (c >= 0 && typeahead_head - typeahead_tail < sizeof typeahead) typeahead[typeahead_head++ % sizeof typeahead] = (char)c;
    }
    mmio_w64(MTIMECMP0, ~0ull);
    u64 slept = mmio_r64(MTIME) - start;
    puts_(ctrl_c_seen ? "interrupted after " : "slept ");
    putdec((i64)(slept / TICKS_PER_MS));
    println(" ms");
    ctrl_c_seen = 0;
}

static void run(const char *line)
{
    const char *p = line;
    if (starts(line, "add")) {
        p += 3;
        u64 a = parse(&p), b = parse(&p);
        puts_("= ");
        putdec((i64)(a + b));
        putchar_('\n');
    } else if (starts(line, "sleep")) {
        p += 5;
        do_sleep(parse(&p));
    } else if (starts(line, "spin")) {
        p += 4;
        u64 ms = parse(&p), start = csr_read(time);
        while (csr_read(time) - start < ms * TICKS_PER_MS)
            ;
        puts_("spun ");
        putdec((i64)ms);
        println(" ms");
    } else if (starts(line, "time")) {
        puts_("mtime ");
        putdec((i64)mmio_r64(MTIME));
        putchar_('\n');
    } else if (starts(line, "exit")) {
        p += 4;
        u64 code = parse(&p);
        println("bye");
        if (code == 0) mmio_w32(FINISHER, 0x5555);
        else mmio_w32(FINISHER, 0x3333 | ((u32)code << 16));
        for (;;) asm volatile("wfi");
    } else if (*line) {
        puts_("unknown command: ");
        println(line);
    }
}

int main(void)
{
    mmio_w32(PRIO(IRQ_UART), 1);
    mmio_w32(ENABLE(CTX_M0), 1u << IRQ_UART);
    mmio_w32(THRESHOLD(CTX_M0), 0);
    mmio_w8(FCR, 1);
    mmio_w8(IER, 1);                         /* received-data interrupt */
    mmio_w64(MTIMECMP0, ~0ull);
    csr_write(mie, MIE_MEIE | MIE_MTIE);     /* wfi wakes on these; mstatus.MIE stays 0: no handler runs */
    println("console: ready");
    char line[80];
    int n = 0;
    puts_("> ");
    for (;;) {
        int c = next_byte_or_wait();
        if (c < 0) continue;
        if (c == 3) {
            println("^C");
            n = 0;
            puts_("> ");
        } else if (c == '\r' || c == '\n') {
            putchar_('\n');
            line[n] = 0;
            run(line);
            n = 0;
            puts_("> ");
        } else if ((c == 127 || c == 8) && n > 0) {
            n--;
            puts_("\b \b");
        } else if (c >= ' ' && c < 127 && n < (int)sizeof line - 1) {
            line[n++] = (char)c;
            putchar_(c);
        }
    }
}
