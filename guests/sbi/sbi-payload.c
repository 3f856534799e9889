/* sbi-payload: an S-mode program (loaded at 0x8020_0000, a0 = hartid, a1 = DTB) that talks
 * to the machine only through SBI calls: base, legacy console, DBCN, TIME (+ the S timer
 * interrupt), IPI to self, HSM status and finally SRST shutdown. */
#include <stdint.h>
#include <stddef.h>

typedef uint64_t u64;
typedef int64_t i64;

#define EXT_BASE  0x10
#define EXT_TIME  0x54494d45
#define EXT_IPI   0x735049
#define EXT_HSM   0x48534d
#define EXT_SRST  0x53525354
#define EXT_DBCN  0x4442434e
#define LEGACY_PUTCHAR 0x01

struct sbiret { i64 error; u64 value; };

static struct sbiret sbi(u64 ext, u64 fid, u64 a0, u64 a1, u64 a2)
{
    register u64 r0 asm("a0") = a0;
    register u64 r1 asm("a1") = a1;
    register u64 r2 asm("a2") = a2;
    register u64 r6 asm("a6") = fid;
    register u64 r7 asm("a7") = ext;
    asm volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
    return (struct sbiret){ (i64)r0, r1 };
}

static void putc_legacy(char c)
{
    register u64 r0 asm("a0") = (unsigned char)c;
    register u64 r7 asm("a7") = LEGACY_PUTCHAR;
    asm volatile("ecall" : "+r"(r0) : "r"(r7) : "memory");
}

static void puts_legacy(const char *s) { while (*s) putc_legacy(*s++); }

static void puthex(u64 v)
{
    puts_legacy("0x");
    for (int i = 60; i >= 0; i -= 4) putc_legacy("0123456789abcdef"[(v >> i) & 15]);
}

static void shutdown(u64 reason) __attribute__((noreturn));
static void shutdown(u64 reason)
{
    sbi(EXT_SRST, 0, 0 /* shutdown */, reason, 0);
    puts_legacy("sbi-payload: SRST returned\n");
    for (;;) asm volatile("wfi");
}

static void fail(int id, const char *what)
{
    puts_legacy("sbi-payload: FAIL ");
    putc_legacy('0' + id / 10);
    putc_legacy('0' + id % 10);
    puts_legacy(" ");
    puts_legacy(what);
    puts_legacy("\n");
    shutdown(1 /* system failure */);
}

#define CHECK(id, cond) do { if (!(cond)) fail(id, #cond); } while (0)

static volatile int timer_fired, ipi_fired;

/* S-mode trap handler (called from the entry stub with interrupts only) */
void s_trap(void)
{
    u64 cause;
    asm volatile("csrr %0, scause" : "=r"(cause));
    if (cause == ((1ull << 63) | 5)) {
        sbi(EXT_TIME, 0, ~0ull, 0, 0);        /* far future: clears the pending timer */
        timer_fired++;
        return;
    }
    if (cause == ((1ull << 63) | 1)) {
        asm volatile("csrc sip, %0" :: "r"(2ull));
        ipi_fired++;
        return;
    }
    fail(99, "unexpected trap");
}

static u64 rdtime(void) { u64 t; asm volatile("rdtime %0" : "=r"(t)); return t; }

void payload_main(u64 hartid, u64 dtb)
{
    struct sbiret r;
    puts_legacy("sbi-payload: hello from S-mode (legacy console putchar)\n");
    CHECK(1, dtb != 0);
    /* FDT magic 0xd00dfeed (big-endian) */
    CHECK(2, *(volatile uint32_t *)(uintptr_t)dtb == 0xedfe0dd0);

    /* base extension */
    r = sbi(EXT_BASE, 0, 0, 0, 0);                 /* spec version */
    CHECK(3, r.error == 0 && r.value >= 0x2);      /* at least SBI 0.2 */
    r = sbi(EXT_BASE, 1, 0, 0, 0);                 /* implementation id */
    CHECK(4, r.error == 0);
    r = sbi(EXT_BASE, 3, EXT_TIME, 0, 0);
    CHECK(5, r.error == 0 && r.value != 0);
    r = sbi(EXT_BASE, 3, EXT_IPI, 0, 0);
    CHECK(6, r.error == 0 && r.value != 0);
    r = sbi(EXT_BASE, 3, EXT_HSM, 0, 0);
    CHECK(7, r.error == 0 && r.value != 0);
    r = sbi(EXT_BASE, 3, EXT_SRST, 0, 0);
    CHECK(8, r.error == 0 && r.value != 0);
    r = sbi(EXT_BASE, 3, 0x12345678, 0, 0);        /* no such extension */
    CHECK(9, r.error == 0 && r.value == 0);
    r = sbi(0x12345678, 0, 0, 0, 0);               /* calling it: not supported (-2) */
    CHECK(10, r.error == -2);
    puts_legacy("sbi-payload: base extension ok\n");

    /* debug console (SBI 2.0): used when the firmware has it */
    r = sbi(EXT_BASE, 3, EXT_DBCN, 0, 0);
    if (r.value) {
        static const char msg[] = "sbi-payload: debug console write ok\n";
        r = sbi(EXT_DBCN, 0, sizeof msg - 1, (u64)(uintptr_t)msg, 0);
        CHECK(11, r.error == 0 && r.value == sizeof msg - 1);
        r = sbi(EXT_DBCN, 2, 'D', 0, 0);           /* write_byte */
        CHECK(12, r.error == 0);
        putc_legacy('\n');
    } else {
        puts_legacy("sbi-payload: no debug console extension\n");
    }

    /* HSM: this hart is started (0) */
    r = sbi(EXT_HSM, 2, hartid, 0, 0);
    CHECK(13, r.error == 0 && r.value == 0);

    /* TIME: program the timer and take the supervisor timer interrupt */
    asm volatile("csrs sie, %0" :: "r"((1ull << 5) | (1ull << 1)));
    asm volatile("csrs sstatus, %0" :: "r"(2ull));
    u64 t0 = rdtime();
    r = sbi(EXT_TIME, 0, t0 + 1000, 0, 0);
    CHECK(14, r.error == 0);
    for (int i = 0; i < 1000 && !timer_fired; i++)
        asm volatile("wfi");
    CHECK(15, timer_fired == 1);
    CHECK(16, rdtime() >= t0 + 1000);
    puts_legacy("sbi-payload: timer interrupt ok\n");

    /* IPI to self: a supervisor software interrupt */
    r = sbi(EXT_IPI, 0, 1ull << hartid, 0, 0);
    CHECK(17, r.error == 0);
    for (int i = 0; i < 1000 && !ipi_fired; i++)
        asm volatile("wfi");
    CHECK(18, ipi_fired == 1);
    puts_legacy("sbi-payload: IPI ok\n");
    asm volatile("csrc sstatus, %0" :: "r"(2ull));

    puts_legacy("sbi-payload: all checks passed\n");
    shutdown(0);
}

__asm__(
    "   .section .text.init, \"ax\"\n"
    "   .globl _start\n"
    "_start:\n"
    "   .option push\n"
    "   .option norelax\n"
    "   la gp, __global_pointer$\n"
    "   .option pop\n"
    "   la sp, __stack_top\n"
    "   la t0, s_trap_entry\n"
    "   csrw stvec, t0\n"
    "   la t0, __bss_start\n"
    "   la t1, __bss_end\n"
    "1: bgeu t0, t1, 2f\n"
    "   sd zero, 0(t0)\n"
    "   addi t0, t0, 8\n"
    "   j 1b\n"
    "2: call payload_main\n"
    "3: j 3b\n"
    "   .text\n"
    "   .align 2\n"
    "s_trap_entry:\n"                    /* save caller-saved registers, call s_trap */
    "   addi sp, sp, -144\n"
    "   sd ra, 0(sp)\n   sd t0, 8(sp)\n   sd t1, 16(sp)\n  sd t2, 24(sp)\n"
    "   sd a0, 32(sp)\n  sd a1, 40(sp)\n  sd a2, 48(sp)\n  sd a3, 56(sp)\n"
    "   sd a4, 64(sp)\n  sd a5, 72(sp)\n  sd a6, 80(sp)\n  sd a7, 88(sp)\n"
    "   sd t3, 96(sp)\n  sd t4, 104(sp)\n sd t5, 112(sp)\n sd t6, 120(sp)\n"
    "   call s_trap\n"
    "   ld ra, 0(sp)\n   ld t0, 8(sp)\n   ld t1, 16(sp)\n  ld t2, 24(sp)\n"
    "   ld a0, 32(sp)\n  ld a1, 40(sp)\n  ld a2, 48(sp)\n  ld a3, 56(sp)\n"
    "   ld a4, 64(sp)\n  ld a5, 72(sp)\n  ld a6, 80(sp)\n  ld a7, 88(sp)\n"
    "   ld t3, 96(sp)\n  ld t4, 104(sp)\n ld t5, 112(sp)\n ld t6, 120(sp)\n"
    "   addi sp, sp, 144\n"
    "   sret\n");
