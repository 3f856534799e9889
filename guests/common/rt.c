/* Ringside guest runtime: UART output, finisher, default trap handlers. */
#include "rt.h"

struct trap_record tr;
int (*mtrap_hook)(struct trap_frame *f);
int (*strap_hook)(struct trap_frame *f);
volatile int mtrap_count, strap_count;

u64 whoami(void)
{
    register u64 a0 asm("a0");
    register u64 a7 asm("a7") = RT_ECALL_WHOAMI;
    asm volatile("ecall" : "=r"(a0) : "r"(a7) : "memory");
    return a0;
}

void putchar_(int c)
{
    while (!(mmio_r8(UART0 + 5) & 0x20))   /* LSR.THRE */
        ;
    mmio_w8(UART0, c);
}

void puts_(const char *s) { while (*s) putchar_(*s++); }
void println(const char *s) { puts_(s); putchar_('\n'); }

void puthex(u64 v)
{
    puts_("0x");
    for (int i = 60; i >= 0; i -= 4)
        putchar_("0123456789abcdef"[(v >> i) & 15]);
}

void putdec(i64 v)
{
    char buf[24];
    int n = 0;
    u64 u = v < 0 ? -(u64)v : (u64)v;
    if (v < 0) putchar_('-');
    do { buf[n++] = '0' + u % 10; u /= 10; } while (u);
    while (n) putchar_(buf[--n]);
}

void ok(const char *what) { puts_("ok "); println(what); }

void pass(void)
{
    println("PASS");
    mmio_w32(FINISHER, 0x5555);
    for (;;) asm volatile("wfi");
}

void fail(int code)
{
    puts_("FAIL ");
    putdec(code);
    putchar_('\n');
    mmio_w32(FINISHER, 0x3333 | ((u32)code << 16));
    for (;;) asm volatile("wfi");
}

void check_failed(int id, const char *expr, u64 got, u64 want, int has_vals)
{
    puts_("check ");
    putdec(id);
    puts_(" failed: ");
    puts_(expr);
    if (has_vals) {
        puts_(" got ");
        puthex(got);
        puts_(" want ");
        puthex(want);
    }
    putchar_('\n');
    fail(id);
}

void arm_trap(void)
{
    tr.count = 0;
    tr.cause = tr.epc = tr.tval = tr.status = 0;
    tr.level = 0;
    asm volatile("" ::: "memory");
    tr.armed = 1;
    asm volatile("" ::: "memory");
}

void disarm_trap(void) { asm volatile("" ::: "memory"); tr.armed = 0; }

void expect_trap(int id, u64 cause)
{
    disarm_trap();
    if (tr.count != 1 || tr.cause != cause) {
        puts_("check ");
        putdec(id);
        puts_(" failed: expected trap cause ");
        puthex(cause);
        puts_(", saw ");
        putdec(tr.count);
        puts_(" trap(s), last cause ");
        puthex(tr.cause);
        putchar_('\n');
        fail(id);
    }
}

void expect_no_trap(int id)
{
    disarm_trap();
    if (tr.count != 0) {
        puts_("check ");
        putdec(id);
        puts_(" failed: unexpected trap cause ");
        puthex(tr.cause);
        puts_(" epc ");
        puthex(tr.epc);
        putchar_('\n');
        fail(id);
    }
}

extern void run_mode_resume(u64 value) __attribute__((noreturn));
extern u64 run_mode_active(void);

static void unexpected(const char *who, struct trap_frame *f)
{
    puts_("unexpected trap in ");
    puts_(who);
    puts_(" cause ");
    puthex(f->cause);
    puts_(" epc ");
    puthex(f->epc);
    puts_(" tval ");
    puthex(f->tval);
    putchar_('\n');
    fail(250);
}

/* Resume after an expected exception: fetch faults return to ra (the test jumped there
 * with jalr ra), everything else skips the faulting instruction. */
static void skip_insn(struct trap_frame *f)
{
    u64 c = f->cause;
    if (c == 0 || c == 1 || c == 12) {
        f->epc = f->x[1];
        return;
    }
    u16 lo = *(volatile u16 *)(uintptr_t)f->epc;
    f->epc += ((lo & 3) == 3) ? 4 : 2;
}

void trap_note(struct trap_frame *f, int level)
{
    tr.cause = f->cause;
    tr.epc = f->epc;
    tr.tval = f->tval;
    tr.status = f->status;
    tr.level = level;
    tr.count = tr.count + 1;
}

void handle_mtrap(struct trap_frame *f)
{
    mtrap_count = mtrap_count + 1;
    if (mtrap_hook && mtrap_hook(f))
        return;
    if ((f->cause == 8 || f->cause == 9 || f->cause == 11) && f->x[17] == RT_ECALL_RETURN &&
        run_mode_active())
        run_mode_resume(f->x[10]);
    if ((f->cause == 8 || f->cause == 9 || f->cause == 11) && f->x[17] == RT_ECALL_WHOAMI) {
        f->x[10] = f->cause - 8;
        f->epc += 4;
        return;
    }
    if (tr.armed && !(f->cause & INTR)) {
        trap_note(f, 3);
        skip_insn(f);
        return;
    }
    unexpected("M", f);
}

void handle_strap(struct trap_frame *f)
{
    strap_count = strap_count + 1;
    if (strap_hook && strap_hook(f))
        return;
    if (f->cause == 8 && f->x[17] == RT_ECALL_RETURN) {
        /* forward the U-mode "return to M" request upwards */
        register u64 a0 asm("a0") = f->x[10];
        register u64 a7 asm("a7") = RT_ECALL_RETURN;
        asm volatile("ecall" :: "r"(a0), "r"(a7) : "memory");
    }
    if (f->cause == 8 && f->x[17] == RT_ECALL_WHOAMI) {
        f->x[10] = 0;
        f->epc += 4;
        return;
    }
    if (tr.armed && !(f->cause & INTR)) {
        trap_note(f, 1);
        skip_insn(f);
        return;
    }
    unexpected("S", f);
}

void *memset(void *d, int c, size_t n)
{
    u8 *p = d;
    while (n--) *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    u8 *p = d;
    const u8 *q = s;
    while (n--) *p++ = *q++;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q) return *p - *q;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    return n;
}
