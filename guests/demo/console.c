/* Ringside demo kernel: console output from S-mode (the UART is mapped in the kernel's
 * page table at its physical address). */
#include <stdarg.h>
#include "demo.h"

void kputc(char c)
{
    volatile u8 *uart = (volatile u8 *)UART0;
    while (!(uart[5] & 0x20))   /* LSR: transmit holding register empty */
        ;
    uart[0] = c;
}

void kputs(const char *s)
{
    while (*s) kputc(*s++);
}

void kputdec(u64 v)
{
    char buf[24];
    int n = 0;
    do { buf[n++] = '0' + v % 10; v /= 10; } while (v);
    while (n) kputc(buf[--n]);
}

static void kputhex(u64 v)
{
    kputs("0x");
    int started = 0;
    for (int i = 60; i >= 0; i -= 4) {
        int d = (v >> i) & 15;
        if (d || started || i == 0) {
            kputc("0123456789abcdef"[d]);
            started = 1;
        }
    }
}

/* %s %d %u %x %c only */
void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') { kputc(*fmt); continue; }
        switch (*++fmt) {
        case 's': kputs(va_arg(ap, const char *)); break;
        case 'd': { i64 v = va_arg(ap, i64); if (v < 0) { kputc('-'); v = -v; } kputdec(v); break; }
        case 'u': kputdec(va_arg(ap, u64)); break;
        case 'x': kputhex(va_arg(ap, u64)); break;
        case 'c': kputc((char)va_arg(ap, int)); break;
        case '%': kputc('%'); break;
        default: kputc('?'); break;
        }
    }
    va_end(ap);
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
