/* Ringside demo kernel: the user program.  Both tasks run this code in U-mode; it talks to
 * the kernel only through system calls (ecall). */
#include "demo.h"

static long syscall(long n, long a0, long a1)
{
    register long r0 asm("a0") = a0;
    register long r1 asm("a1") = a1;
    register long r7 asm("a7") = n;
    asm volatile("ecall" : "+r"(r0) : "r"(r1), "r"(r7) : "memory");
    return r0;
}

static int ustrlen(const char *s)
{
    int n = 0;
    while (s[n]) n++;
    return n;
}

static char *append(char *p, const char *s)
{
    while (*s) *p++ = *s++;
    return p;
}

static char *append_hex(char *p, u64 v)
{
    *p++ = '0';
    *p++ = 'x';
    for (int i = 28; i >= 0; i -= 4)
        *p++ = "0123456789abcdef"[(v >> i) & 15];
    return p;
}

static char *append_dec(char *p, u64 v)
{
    char tmp[24];
    int n = 0;
    do { tmp[n++] = '0' + v % 10; v /= 10; } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

/* Some CPU work whose result does not depend on timing: a 32-bit xorshift walk. */
static u32 work(u32 seed, int iterations)
{
    u32 x = seed;
    for (int i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
    }
    return x;
}

/* Entry point of a task: a0 = task id (0 or 1). */
void user_entry(long id)
{
    const char *name = id == 0 ? "task A" : "task B";
    u32 seed = id == 0 ? 0x12345678u : 0x9abcdef0u;
    int rounds = id == 0 ? 4 : 3;
    char line[80];

    for (int round = 1; round <= rounds; round++) {
        seed = work(seed, 20000 + 10000 * (int)id);
        char *p = line;
        p = append(p, name);
        p = append(p, ": round ");
        p = append_dec(p, round);
        p = append(p, " value ");
        p = append_hex(p, seed);
        p = append(p, " (tick ");
        p = append_dec(p, syscall(SYS_TICKS, 0, 0));
        p = append(p, ")\n");
        syscall(SYS_WRITE, (long)line, p - line);
        if (round == 2)
            syscall(SYS_YIELD, 0, 0);
    }
    const char *bye = id == 0 ? "task A: done\n" : "task B: done\n";
    syscall(SYS_WRITE, (long)bye, ustrlen(bye));
    syscall(SYS_EXIT, (long)id + 10, 0);
    for (;;) ;
}
