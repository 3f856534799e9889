/* vkernel: console output (the UART, polled), kprintf, power off and a few string helpers.
 * The UART is mapped at its physical address in the kernel page table. */
#include <stdarg.h>
#include "vkernel.h"

void console_putc(char c)
{
    volatile u8 *uart = (volatile u8 *)UART0;
    while (!(uart[5] & 0x20))           /* LSR: transmit holding register empty */
        ;
    uart[0] = c;
}

void console_write(const char *s, u64 length)
{
    for (u64 i = 0; i < length; i++)
        console_putc(s[i]);
}

static void put_string(const char *s)
{
    while (*s) console_putc(*s++);
}

static void put_unsigned(u64 v, unsigned base, int width)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (width-- > n) console_putc('0');
    while (n) console_putc(digits[--n]);
}

/* %s %c %d %u %x (64-bit arguments), an optional zero-padding width: %08x */
void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            console_putc(*fmt);
            continue;
        }
        int width = 0;
        while (fmt[1] >= '0' && fmt[1] <= '9')
            width = width * 10 + (*++fmt - '0');
        switch (*++fmt) {
        case 's': put_string(va_arg(ap, const char *)); break;
        case 'c': console_putc((char)va_arg(ap, int)); break;
        case 'u': put_unsigned(va_arg(ap, u64), 10, width); break;
        case 'x': put_unsigned(va_arg(ap, u64), 16, width); break;
        case 'd': {
            i64 v = va_arg(ap, i64);
            if (v < 0) {
                console_putc('-');
                v = -v;
            }
            put_unsigned((u64)v, 10, width);
            break;
        }
        case '%': console_putc('%'); break;
        default: console_putc('?'); break;
        }
    }
    va_end(ap);
}

/* The finisher is mapped in the kernel page table; S-mode writes it directly. */
void power_off(u32 code)
{
    *(volatile u32 *)FINISHER = code == 0 ? FINISHER_PASS : FINISHER_FAIL | (code << 16);
    for (;;) asm volatile("wfi");
}

void panic(const char *message)
{
    interrupts_off();
    kprintf("vkernel: panic: %s\n", message);
    power_off(EXIT_PANIC);
}

/* whole 64-bit words where both ends allow it: pages and sectors are copied often */
void *memset(void *d, int c, size_t n)
{
    u8 *p = d;
    if ((((u64)p | n) & 7) == 0) {
        u64 word = 0x0101010101010101ul * (u8)c;
        for (u64 *w = (u64 *)p; n; n -= 8) *w++ = word;
        return d;
    }
    while (n--) *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    u8 *p = d;
    const u8 *q = s;
    if ((((u64)p | (u64)q | n) & 7) == 0) {
        u64 *w = (u64 *)p;
        const u64 *v = (const u64 *)q;
        for (; n; n -= 8) *w++ = *v++;
        return d;
    }
    while (n--) *p++ = *q++;
    return d;
}

int strncmp_prefix(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++) return 0;
    return 1;
}

void string_copy(char *dst, const char *src, u64 max)
{
    u64 i = 0;
    for (; i + 1 < max && src[i]; i++)
        dst[i] = src[i];
    dst[i] = 0;
}
