/* vkernel user program.  Every process runs this code in U-mode, linked at 0x4000_0000 in its
 * own address space, and talks to the kernel only through system calls.  user_main's role
 * says what the process does:
 *   init        checks that the kernel refuses bad arguments, spawns the others, waits for
 *               each, and writes their results to the disk's result sector
 *   compute     counts primes by trial division: CPU only, no system calls, so only the
 *               timer can take the CPU away from it
 *   hostcheck   reads the pattern the host put on the disk and writes it back inverted
 *   disk<k>     writes its own pattern to its own region in requests of 1, 8 and 16
 *               sectors, yields and sleeps, reads it back in other sizes and checks it,
 *               rewrites one sector, checks it and its neighbours, and flushes */
#include <stdarg.h>
#include "user.h"
#include "../disk-layout.h"

#define WORDS_PER_SECTOR (DISK_SECTOR_SIZE / 4)
#define MAX_SECTORS 16

/* .data and .bss are private to each process */
static u32 buffer[MAX_SECTORS * WORDS_PER_SECTOR];
static char who[24];

/* The compiler may call memset/memcpy; build.sh renames those calls in the user objects to
 * these, so user code never jumps into the kernel's copies. */
void *user_memset(void *d, int c, unsigned long n)
{
    u8 *p = d;
    while (n--) *p++ = (u8)c;
    return d;
}

void *user_memcpy(void *d, const void *s, unsigned long n)
{
    u8 *p = d;
    const u8 *q = s;
    while (n--) *p++ = *q++;
    return d;
}

/* ---- output: one write per line, so lines of different processes never mix -------------- */

static char *append_string(char *p, char *end, const char *s)
{
    while (*s && p < end) *p++ = *s++;
    return p;
}

static char *append_number(char *p, char *end, u64 v, unsigned base, int width)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (width-- > n && p < end) *p++ = '0';
    while (n && p < end) *p++ = digits[--n];
    return p;
}

/* "<who>: message\n"; %s %d %u %x with an optional width (%08x); numbers are longs */
static void say(const char *fmt, ...)
{
    char line[160];
    char *p = line, *end = line + sizeof line - 1;
    p = append_string(p, end, who);
    p = append_string(p, end, ": ");
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            if (p < end) *p++ = *fmt;
            continue;
        }
        int width = 0;
        while (fmt[1] >= '0' && fmt[1] <= '9') width = width * 10 + (*++fmt - '0');
        switch (*++fmt) {
        case 's': p = append_string(p, end, va_arg(ap, const char *)); break;
        case 'u': p = append_number(p, end, va_arg(ap, unsigned long), 10, width); break;
        case 'x': p = append_number(p, end, va_arg(ap, unsigned long), 16, width); break;
        case 'd': {
            long v = va_arg(ap, long);
            if (v < 0 && p < end) *p++ = '-';
            p = append_number(p, end, v < 0 ? -(u64)v : (u64)v, 10, width);
            break;
        }
        }
    }
    va_end(ap);
    *p++ = '\n';
    write(line, p - line);
}

static void set_who(const char *name)
{
    char *p = who, *end = who + sizeof who - 1;
    p = append_string(p, end, name);
    p = append_string(p, end, " (pid ");
    p = append_number(p, end, getpid(), 10, 0);
    p = append_string(p, end, ")");
    *p = 0;
}

/* ---- disk patterns ---------------------------------------------------------------------- */

static void fill(u32 *words, u32 seed, u32 sector, int sectors)
{
    for (int s = 0; s < sectors; s++)
        for (int i = 0; i < WORDS_PER_SECTOR; i++)
            words[s * WORDS_PER_SECTOR + i] = pattern_word(seed, sector + s, i);
}

/* the number of words that differ from the pattern; the first one is reported */
static int verify(const u32 *words, u32 seed, u32 sector, int sectors)
{
    int bad = 0;
    for (int s = 0; s < sectors; s++) {
        for (int i = 0; i < WORDS_PER_SECTOR; i++) {
            u32 want = pattern_word(seed, sector + s, i), got = words[s * WORDS_PER_SECTOR + i];
            if (got != want && bad++ == 0)
                say("sector %u word %u is 0x%08x, want 0x%08x", (unsigned long)(sector + s),
                    (unsigned long)i, (unsigned long)got, (unsigned long)want);
        }
    }
    return bad;
}

static void poison(void)
{
    for (int i = 0; i < MAX_SECTORS * WORDS_PER_SECTOR; i++) buffer[i] = 0xdeadbeef;
}

/* writes sectors [sector, sector + count) of a pattern, per_request sectors at a time */
static int write_pattern(u32 seed, u32 sector, int count, int per_request)
{
    int errors = 0;
    for (int done = 0; done < count; done += per_request) {
        fill(buffer, seed, sector + done, per_request);
        if (disk_write(sector + done, buffer, per_request) != 0) {
            say("disk_write of %d sectors at %u failed", (long)per_request, (unsigned long)(sector + done));
            errors++;
        }
    }
    return errors;
}

/* reads them back, per_request sectors at a time, and checks them */
static int read_pattern(u32 seed, u32 sector, int count, int per_request)
{
    int errors = 0;
    for (int done = 0; done < count; done += per_request) {
        poison();
        if (disk_read(sector + done, buffer, per_request) != 0) {
            say("disk_read of %d sectors at %u failed", (long)per_request, (unsigned long)(sector + done));
            errors++;
        } else if (verify(buffer, seed, sector + done, per_request)) {
            errors++;
        }
    }
    return errors;
}

/* ---- the roles -------------------------------------------------------------------------- */

static int disk_worker(long k)
{
    char name[8] = "disk?";
    name[4] = (char)('0' + k);
    set_who(name);
    u32 first = DISK_WORKER_BASE + k * DISK_WORKER_SECTORS, seed = SEED_WORKER + k;
    int errors = 0;

    errors += write_pattern(seed, first, 16, 1);
    errors += write_pattern(seed, first + 16, 16, 8);
    errors += write_pattern(seed, first + 32, 32, 16);
    say("wrote sectors %u..%u (16 x 1, 2 x 8 and 2 x 16 sectors per request)",
        (unsigned long)first, (unsigned long)(first + DISK_WORKER_SECTORS - 1));

    yield();
    if (sleep(k + 1) != 0) errors++;

    errors += read_pattern(seed, first, 16, 16);
    errors += read_pattern(seed, first + 16, 16, 1);
    errors += read_pattern(seed, first + 32, 32, 8);
    say("read them back (1 x 16, 16 x 1 and 4 x 8 sectors per request): %s",
        errors ? "MISMATCH" : "all match");

    /* a second write to one sector: it changes, its neighbours do not */
    u32 rewritten = first + DISK_REWRITTEN_SECTOR;
    errors += write_pattern(SEED_REWRITE + k, rewritten, 1, 1);
    poison();
    if (disk_read(rewritten - 1, buffer, 3) != 0) {
        errors++;
    } else {
        int bad = verify(buffer, seed, rewritten - 1, 1);
        bad += verify(buffer + WORDS_PER_SECTOR, SEED_REWRITE + k, rewritten, 1);
        bad += verify(buffer + 2 * WORDS_PER_SECTOR, seed, rewritten + 1, 1);
        if (bad) errors++;
    }
    if (disk_flush() != 0) {
        say("disk_flush failed");
        errors++;
    }
    say("rewrote sector %u, checked it and its neighbours, flushed: %s",
        (unsigned long)rewritten, errors ? "FAILED" : "ok");
    return errors;
}

static int host_check(void)
{
    set_who("hostcheck");
    int errors = 0;

    /* the header the host wrote: magic and the layout this program was built with */
    poison();
    if (disk_read(DISK_HEADER_SECTOR, buffer, 1) != 0) {
        say("cannot read the header sector");
        return 1;
    }
    const char *magic = DISK_MAGIC, *header = (const char *)buffer;
    for (int i = 0; i < HEADER_FIELD_OFFSET; i++) {
        if (header[i] != (i < (int)sizeof DISK_MAGIC ? magic[i] : 0)) {
            say("sector 0 is not a vkernel disk header: create the image with "
                "node guests/vkernel/make-disk.mjs create FILE");
            return 1;
        }
    }
    static const u32 layout[HEADER_FIELDS] = {
        DISK_IMAGE_SECTORS, DISK_HOST_BASE, DISK_HOST_COUNT, DISK_GUEST_BASE, DISK_GUEST_COUNT,
        DISK_WORKER_BASE, DISK_WORKER_SECTORS, DISK_WORKERS, SEED_HOST,
    };
    for (int i = 0; i < HEADER_FIELDS; i++) {
        if (buffer[HEADER_FIELD_OFFSET / 4 + i] != layout[i]) {
            say("header field %d is %u, want %u", (long)i,
                (unsigned long)buffer[HEADER_FIELD_OFFSET / 4 + i], (unsigned long)layout[i]);
            errors++;
        }
    }

    /* host -> guest: the whole pattern, 16 sectors (two pages of DMA) per request */
    errors += read_pattern(SEED_HOST, DISK_HOST_BASE, DISK_HOST_COUNT, 16);
    say("read the host's pattern in sectors %u..%u: %s", (unsigned long)DISK_HOST_BASE,
        (unsigned long)(DISK_HOST_BASE + DISK_HOST_COUNT - 1), errors ? "MISMATCH" : "all match");

    /* guest -> host: the same data inverted, 8 sectors at a time */
    for (u32 done = 0; done < DISK_GUEST_COUNT; done += 8) {
        poison();
        if (disk_read(DISK_HOST_BASE + done, buffer, 8) != 0 ||
            verify(buffer, SEED_HOST, DISK_HOST_BASE + done, 8)) {
            errors++;
            continue;
        }
        for (int i = 0; i < 8 * WORDS_PER_SECTOR; i++) buffer[i] = ~buffer[i];
        if (disk_write(DISK_GUEST_BASE + done, buffer, 8) != 0) errors++;
    }
    if (disk_flush() != 0) errors++;
    say("wrote it inverted to sectors %u..%u and flushed: %s", (unsigned long)DISK_GUEST_BASE,
        (unsigned long)(DISK_GUEST_BASE + DISK_GUEST_COUNT - 1), errors ? "FAILED" : "ok");
    return errors;
}

static long count_primes(long limit)
{
    long count = 0;
    for (long n = 2; n < limit; n++) {
        int prime = 1;
        for (long d = 2; d * d <= n; d++) {
            if (n % d == 0) {
                prime = 0;
                break;
            }
        }
        count += prime;
    }
    return count;
}

static int compute(void)
{
    set_who("compute");
    long start = uptime();
    long primes = count_primes(50000);
    long end = uptime();
    say("%d primes below 50000 (want 5133), computed from tick %d to tick %d", primes, start, end);
    return primes != 5133;
}

static int expect_refused(const char *what, long result)
{
    if (result == -1) return 0;
    say("%s: the kernel returned %d, want -1", what, result);
    return 1;
}

static int init(void)
{
    set_who("init");
    long capacity = disk_capacity();
    say("started; the disk has %d sectors", capacity);

    int failures = 0;
    failures += expect_refused("wait without children", wait(0));
    failures += expect_refused("write from kernel memory", write((const void *)0x80000000ul, 16));
    failures += expect_refused("disk read into kernel memory",
                               disk_read(DISK_HOST_BASE, (void *)0x80001000ul, 1));
    failures += expect_refused("disk read into read-only code",
                               disk_read(DISK_HOST_BASE, (void *)disk_worker, 1));
    failures += expect_refused("disk read past the end", disk_read(capacity, buffer, 1));
    failures += expect_refused("disk read of 0 sectors", disk_read(DISK_HOST_BASE, buffer, 0));
    failures += expect_refused("disk read of 17 sectors", disk_read(DISK_HOST_BASE, buffer, 17));
    failures += expect_refused("spawn with a kernel name pointer",
                               spawn((const char *)0x80000000ul, ROLE_COMPUTE, 0));
    failures += expect_refused("sleep(0)", sleep(0));
    say("bad system calls refused: %s", failures ? "NO" : "all 9");

    static const char *const names[DISK_CHILDREN] = {"compute", "hostcheck", "disk0", "disk1", "disk2"};
    static const long roles[DISK_CHILDREN] = {ROLE_COMPUTE, ROLE_HOSTCHECK, ROLE_DISK, ROLE_DISK, ROLE_DISK};
    static const long arguments[DISK_CHILDREN] = {0, 0, 0, 1, 2};
    long pids[DISK_CHILDREN];
    i32 statuses[DISK_CHILDREN];
    for (int i = 0; i < DISK_CHILDREN; i++) {
        pids[i] = spawn(names[i], roles[i], arguments[i]);
        statuses[i] = -1;
        if (pids[i] < 0) failures++;
    }
    say("spawned compute, hostcheck and disk0..disk2 (pids %d..%d); waiting", pids[0],
        pids[DISK_CHILDREN - 1]);

    int failed_children = 0;
    for (int reaped = 0; reaped < DISK_CHILDREN; reaped++) {
        i32 status;
        long pid = wait(&status);
        int which = -1;
        for (int i = 0; i < DISK_CHILDREN; i++)
            if (pids[i] == pid) which = i;
        if (which < 0) {
            say("wait returned %d, not a child", pid);
            failures++;
            break;
        }
        statuses[which] = status;
        if (status != 0) failed_children++;
        say("%s (pid %d) exited with status %d", names[which], pid, (long)status);
    }
    failures += expect_refused("wait after the last child", wait(0));

    /* the result record for the host */
    for (int i = 0; i < WORDS_PER_SECTOR; i++) buffer[i] = 0;
    const char *magic = VKERNEL_RESULT_MAGIC;
    for (int i = 0; i < 16; i++) ((char *)buffer)[i] = magic[i];
    buffer[4] = DISK_CHILDREN;
    buffer[5] = failed_children;
    for (int i = 0; i < DISK_CHILDREN; i++) {
        buffer[8 + 2 * i] = (u32)pids[i];
        buffer[9 + 2 * i] = (u32)statuses[i];
    }
    if (disk_write(DISK_RESULT_SECTOR, buffer, 1) != 0 || disk_flush() != 0) failures++;
    say("%d of %d children failed; result record in sector %d", (long)failed_children,
        (long)DISK_CHILDREN, (long)DISK_RESULT_SECTOR);
    return failures + failed_children;
}

long user_main(long role, long argument)
{
    switch (role) {
    case ROLE_INIT: return init();
    case ROLE_DISK: return disk_worker(argument);
    case ROLE_COMPUTE: return compute();
    case ROLE_HOSTCHECK: return host_check();
    default: return 99;
    }
}
