/* Ringside CPU benchmark guest: bare M-mode, no interrupts, fixed workload (about 300 million
 * instructions).  Each kernel prints a checksum that is compared with a constant computed by
 * the same code built for the host (cc -DHOST bench/guest/bench.c && ./a.out). */
#ifdef HOST
#include <stdio.h>
#include <stdint.h>
#include <string.h>
typedef uint64_t u64;
typedef uint32_t u32;
typedef uint8_t u8;
#else
#include "rt.h"
#endif

#define SORT_N      20000
#define SORT_ROUNDS 18
#define CRC_BYTES   (64 * 1024)
#define CRC_ROUNDS  72
#define MAT_N       64
#define MAT_ROUNDS  40
#define STR_ROUNDS  860

static u32 rng_state;
static u32 rng(void)
{
    /* xorshift32 */
    u32 x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

/* ---------------------------------------------------------------- sorting */
static u32 arr[SORT_N], tmp[SORT_N];

static void quicksort(u32 *a, long lo, long hi)
{
    while (lo < hi) {
        u32 pivot = a[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                u32 t = a[i]; a[i] = a[j]; a[j] = t;
                i++; j--;
            }
        }
        if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; }
        else { quicksort(a, i, hi); hi = j; }
    }
}

static void mergesort(u32 *a, u32 *t, long n)
{
    for (long width = 1; width < n; width *= 2) {
        for (long lo = 0; lo < n; lo += 2 * width) {
            long mid = lo + width < n ? lo + width : n;
            long hi = lo + 2 * width < n ? lo + 2 * width : n;
            long i = lo, j = mid, k = lo;
            while (i < mid && j < hi) t[k++] = a[i] <= a[j] ? a[i++] : a[j++];
            while (i < mid) t[k++] = a[i++];
            while (j < hi) t[k++] = a[j++];
        }
        for (long i = 0; i < n; i++) a[i] = t[i];
    }
}

static u64 sort_checksum(const u32 *a, long n)
{
    u64 h = 0;
    for (long i = 0; i < n; i++) {
        if (i && a[i - 1] > a[i]) return 0;        /* not sorted */
        h = h * 31 + a[i];
    }
    return h;
}

static u64 bench_sort(void)
{
    u64 sum = 0;
    rng_state = 0x2545f491u;
    for (int r = 0; r < SORT_ROUNDS; r++) {
        for (long i = 0; i < SORT_N; i++) arr[i] = rng();
        if (r & 1) mergesort(arr, tmp, SORT_N);
        else quicksort(arr, 0, SORT_N - 1);
        sum += sort_checksum(arr, SORT_N);
    }
    return sum;
}

/* ---------------------------------------------------------------- CRC32 */
static u8 crc_buf[CRC_BYTES];
static u32 crc_table[256];

static u32 crc32_bitwise(const u8 *p, long n, u32 crc)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static u32 crc32_table(const u8 *p, long n, u32 crc)
{
    crc = ~crc;
    while (n--) crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static u64 bench_crc(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
        crc_table[i] = c;
    }
    rng_state = 0x9e3779b9u;
    for (long i = 0; i < CRC_BYTES; i++) crc_buf[i] = (u8)rng();
    u64 sum = 0;
    u32 crc = 0;
    for (int r = 0; r < CRC_ROUNDS; r++) {
        crc = crc32_table(crc_buf, CRC_BYTES, crc);
        sum = sum * 1000003 + crc;
        crc_buf[r] ^= (u8)crc;
    }
    /* the bitwise version must agree with the table version */
    u32 a = crc32_bitwise(crc_buf, 8192, 0), b = crc32_table(crc_buf, 8192, 0);
    if (a != b) return 0;
    return sum ^ a;
}

/* ---------------------------------------------------------------- matrix multiply */
static int32_t ma[MAT_N][MAT_N], mb[MAT_N][MAT_N], mc[MAT_N][MAT_N];

static u64 bench_matmul(void)
{
    rng_state = 0x1234567u;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            ma[i][j] = (int32_t)(rng() % 2001) - 1000;
            mb[i][j] = (int32_t)(rng() % 2001) - 1000;
        }
    u64 sum = 0;
    for (int r = 0; r < MAT_ROUNDS; r++) {
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++) {
                int64_t s = 0;
                for (int k = 0; k < MAT_N; k++) s += (int64_t)ma[i][k] * mb[k][j];
                mc[i][j] = (int32_t)(s >> 4);
            }
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++) {
                sum = sum * 7 + (u32)mc[i][j];
                ma[i][j] = mc[i][j] % 1000;        /* feed back */
            }
    }
    return sum;
}

/* ---------------------------------------------------------------- strings */
static char text[4096], copy[4096];

static long my_strlen(const char *s)
{
    long n = 0;
    while (s[n]) n++;
    return n;
}

static void my_memcpy(char *d, const char *s, long n)
{
    while (n--) *d++ = *s++;
}

static int my_strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) { a++; b++; }
    return (unsigned char)*a - (unsigned char)*b;
}

static u64 fnv1a(const char *s, long n)
{
    u64 h = 0xcbf29ce484222325ull;
    for (long i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static u64 bench_strings(void)
{
    static const char words[][8] = {"risc", "five", "hart", "trap", "page", "csr", "mret", "wfi"};
    rng_state = 0xcafef00du;
    long n = 0;
    while (n < (long)sizeof text - 8) {
        const char *w = words[rng() & 7];
        while (*w && n < (long)sizeof text - 2) text[n++] = *w++;
        text[n++] = ' ';
    }
    text[n] = 0;
    u64 sum = 0;
    for (int r = 0; r < STR_ROUNDS; r++) {
        long len = my_strlen(text);
        my_memcpy(copy, text, len + 1);
        int c1 = my_strcmp(copy, text);
        copy[(r * 37) % len] ^= 1;
        int c2 = my_strcmp(copy, text);
        sum = sum * 131 + fnv1a(copy, len) + len + (c1 == 0) + (c2 != 0) * 2;
        text[(r * 53) % len] = 'a' + (r % 26);
    }
    return sum;
}

/* ---------------------------------------------------------------- driver */
#define EXP_SORT    0xe9e59c259e3ebe7dull
#define EXP_CRC     0xa01e6b74e60ec69bull
#define EXP_MATMUL  0x2b397e1458aa2cc7ull
#define EXP_STRINGS 0xa910af90acda82c3ull

#ifdef HOST
int main(void)
{
    printf("sort    %#018llx\n", (unsigned long long)bench_sort());
    printf("crc32   %#018llx\n", (unsigned long long)bench_crc());
    printf("matmul  %#018llx\n", (unsigned long long)bench_matmul());
    printf("strings %#018llx\n", (unsigned long long)bench_strings());
    return 0;
}
#else
static u64 instret(void) { return csr_read(minstret); }

static int report(const char *name, u64 got, u64 want, int code, u64 i0)
{
    puts_(name);
    puts_(" ");
    puthex(got);
    puts_(" (");
    putdec((i64)(instret() - i0));
    println(" instructions)");
    if (got != want) {
        puts_("  expected ");
        puthex(want);
        putchar_('\n');
        return code;
    }
    return 0;
}

int main(void)
{
    int bad = 0, r;
    u64 start = instret(), t;
    println("bench: sort, crc32, matmul, strings");
    t = instret(); r = report("sort   ", bench_sort(), EXP_SORT, 1, t); if (r && !bad) bad = r;
    t = instret(); r = report("crc32  ", bench_crc(), EXP_CRC, 2, t); if (r && !bad) bad = r;
    t = instret(); r = report("matmul ", bench_matmul(), EXP_MATMUL, 3, t); if (r && !bad) bad = r;
    t = instret(); r = report("strings", bench_strings(), EXP_STRINGS, 4, t); if (r && !bad) bad = r;
    puts_("total instret ");
    putdec((i64)(instret() - start));
    putchar_('\n');
    return bad;
}
#endif
