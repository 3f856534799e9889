/* htif: console output and exit through the HTIF tohost/fromhost protocol (spike-style
 * machines; on QEMU: -M spike -bios none).  No UART, no finisher. */
#include <stdint.h>

volatile uint64_t tohost __attribute__((section(".tohost"), aligned(8)));
volatile uint64_t fromhost __attribute__((section(".tohost"), aligned(8)));

static void htif_putc(char c)
{
    /* device 1 (console), command 1 (putchar) */
    tohost = (1ull << 56) | (1ull << 48) | (uint8_t)c;
    while (tohost != 0)
        ;
    fromhost = 0;
}

static void htif_puts(const char *s) { while (*s) htif_putc(*s++); }

static void htif_exit(uint64_t code) __attribute__((noreturn));
static void htif_exit(uint64_t code)
{
    /* device 0, command 0, payload bit 0 = 1: exit with payload >> 1 */
    tohost = (code << 1) | 1;
    for (;;)
        ;
}

static uint64_t fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

void htif_main(void)
{
    htif_puts("htif: console via tohost\n");
    int bad = fib(12) != 144;
    htif_puts(bad ? "FAIL 1\n" : "PASS\n");
    htif_exit(bad ? 1 : 0);
}

__asm__(
    "   .section .text.init, \"ax\"\n"
    "   .globl _start\n"
    "_start:\n"
    "   csrr t0, mhartid\n"
    "1: bnez t0, 1b\n"                 /* other harts spin */
    "   la sp, __stack_top\n"
    "   call htif_main\n"
    "2: j 2b\n");
