/* Ringside's CoreMark-like workload (issue 8): bare M-mode, no interrupts, fixed size.
 * Each iteration runs four kernels of the kinds CoreMark exercises, written for this project:
 *   - list:    find, merge sort (through a comparison function pointer) and reversal of a
 *              singly linked list over a small node pool;
 *   - matrix:  int16 matrices, scalar add/multiply, matrix-vector and matrix-matrix products
 *              accumulated in int32, a bit-field extraction of the product;
 *   - scanner: a byte-driven state machine classifying number-like tokens (digits, signs,
 *              dots, exponents, garbage) in a generated buffer, before and after corrupting it;
 *   - crc16:   a bitwise CRC-16/CCITT over every kernel's results, which also seeds the next
 *              iteration (so no iteration can be computed ahead).
 * The four checksums are compared with constants computed by the same code on the host:
 *   cc -O2 -DHOST guests/workload/workload.c && ./a.out */
#ifdef HOST
#include <stdio.h>
#include <stdint.h>
typedef uint64_t u64;
typedef int64_t i64;
typedef uint32_t u32;
typedef int32_t i32;
typedef uint16_t u16;
typedef int16_t i16;
typedef uint8_t u8;
#else
#include "rt.h"
typedef int16_t i16;
#endif

#define ITERATIONS    1200
#define LIST_NODES    100
#define LIST_FINDS    12
#define MATRIX_N      12
#define SCAN_BYTES    960

/* ---------------------------------------------------------------- CRC-16/CCITT (bitwise) */
static u16 crc16_byte(u8 byte, u16 crc)
{
    crc ^= (u16)byte << 8;
    for (int bit = 0; bit < 8; bit++)
        crc = (crc & 0x8000) ? (u16)((crc << 1) ^ 0x1021) : (u16)(crc << 1);
    return crc;
}

static u16 crc16_u16(u16 value, u16 crc)
{
    crc = crc16_byte((u8)value, crc);
    return crc16_byte((u8)(value >> 8), crc);
}

static u16 crc16_u32(u32 value, u16 crc)
{
    crc = crc16_u16((u16)value, crc);
    return crc16_u16((u16)(value >> 16), crc);
}

/* A small linear congruential generator, its state passed explicitly. */
static u32 next_random(u32 *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

/* ---------------------------------------------------------------- linked list */
struct node {
    struct node *next;
    i16 value;
    u16 tag;                 /* position in the pool: sorting by tag restores build order */
};
static struct node pool[LIST_NODES];

typedef int (*node_order)(const struct node *, const struct node *);

static int by_value(const struct node *a, const struct node *b)
{
    return a->value != b->value ? a->value < b->value : a->tag < b->tag;
}

static int by_tag(const struct node *a, const struct node *b)
{
    return a->tag < b->tag;
}

static struct node *list_build(u32 seed)
{
    u32 state = seed;
    for (int i = 0; i < LIST_NODES; i++) {
        pool[i].next = i + 1 < LIST_NODES ? &pool[i + 1] : 0;
        pool[i].value = (i16)(next_random(&state) % 4001) - 2000;
        pool[i].tag = (u16)i;
    }
    return &pool[0];
}

/* Position of the first node holding value, or -1. */
static int list_find(const struct node *head, i16 value)
{
    for (int position = 0; head; head = head->next, position++)
        if (head->value == value) return position;
    return -1;
}

static struct node *list_reverse(struct node *head)
{
    struct node *reversed = 0;
    while (head) {
        struct node *next = head->next;
        head->next = reversed;
        reversed = head;
        head = next;
    }
    return reversed;
}

static struct node *list_merge(struct node *a, struct node *b, node_order before)
{
    struct node start, *tail = &start;
    while (a && b) {
        if (before(b, a)) { tail->next = b; b = b->next; }
        else { tail->next = a; a = a->next; }
        tail = tail->next;
    }
    tail->next = a ? a : b;
    return start.next;
}

static struct node *list_sort(struct node *head, node_order before)
{
    if (!head || !head->next) return head;
    /* split in the middle: fast walks two nodes for each of slow's one */
    struct node *slow = head, *fast = head->next;
    while (fast && fast->next) { slow = slow->next; fast = fast->next->next; }
    struct node *second = slow->next;
    slow->next = 0;
    return list_merge(list_sort(head, before), list_sort(second, before), before);
}

static u16 list_kernel(u32 seed)
{
    struct node *head = list_build(seed);
    u32 state = seed ^ 0x5bd1e995u;
    u16 crc = 0xffff;
    /* half of the keys exist in the list, half are drawn at random (mostly absent) */
    for (int k = 0; k < LIST_FINDS; k++) {
        i16 key = (k & 1) ? pool[next_random(&state) % LIST_NODES].value
                          : (i16)(next_random(&state) % 4001) - 2000;
        crc = crc16_u16((u16)list_find(head, key), crc);
    }
    head = list_sort(head, by_value);
    i16 previous = -32768;
    int position = 0;
    for (struct node *n = head; n; n = n->next, position++) {
        if (n->value < previous) return 0;          /* not sorted: the checksum fails */
        previous = n->value;
        if ((position & 7) == 0) crc = crc16_u16((u16)n->value, crc);
    }
    head = list_reverse(head);
    crc = crc16_u16((u16)head->value, crc);        /* now the largest */
    crc = crc16_u16((u16)list_find(head, pool[seed % LIST_NODES].value), crc);
    head = list_sort(head, by_tag);
    position = 0;
    for (struct node *n = head; n; n = n->next, position++)
        if (n->tag != position) return 0;           /* order not restored */
    if (position != LIST_NODES) return 0;
    return crc16_u16(head->tag, crc);
}

/* ---------------------------------------------------------------- matrix */
static i16 matrix_a[MATRIX_N][MATRIX_N], matrix_b[MATRIX_N][MATRIX_N];
static i32 matrix_c[MATRIX_N][MATRIX_N];
static i32 vector_out[MATRIX_N];

/* Folds a result matrix into one number: wrapping sum, plus a count of how often the running
 * sum crosses a limit (each crossing restarts it), so both magnitude and order matter. */
static u32 matrix_summary(i32 limit)
{
    i32 running = 0;
    u32 crossings = 0, total = 0;
    for (int i = 0; i < MATRIX_N; i++)
        for (int j = 0; j < MATRIX_N; j++) {
            i32 value = matrix_c[i][j];
            total += (u32)value;
            running += value >> 4;
            if (running > limit || running < -limit) { crossings++; running = 0; }
        }
    return total ^ (crossings << 20);
}

static u16 matrix_kernel(u32 seed)
{
    u32 state = seed * 2654435761u + 1;
    for (int i = 0; i < MATRIX_N; i++)
        for (int j = 0; j < MATRIX_N; j++) {
            matrix_a[i][j] = (i16)(next_random(&state) % 511) - 255;
            matrix_b[i][j] = (i16)(next_random(&state) % 511) - 255;
        }
    i16 addend = (i16)(seed & 0x3f) - 32;
    u16 crc = 0;

    for (int i = 0; i < MATRIX_N; i++)              /* A += scalar */
        for (int j = 0; j < MATRIX_N; j++) matrix_a[i][j] = (i16)(matrix_a[i][j] + addend);

    for (int i = 0; i < MATRIX_N; i++)              /* C = A * scalar */
        for (int j = 0; j < MATRIX_N; j++) matrix_c[i][j] = (i32)matrix_a[i][j] * (addend | 1);
    crc = crc16_u32(matrix_summary(4000), crc);

    for (int i = 0; i < MATRIX_N; i++) {            /* v = A * (column seed % N of B) */
        i32 sum = 0;
        int column = (int)(seed % MATRIX_N);
        for (int k = 0; k < MATRIX_N; k++) sum += (i32)matrix_a[i][k] * matrix_b[k][column];
        vector_out[i] = sum;
    }
    for (int i = 0; i < MATRIX_N; i++) crc = crc16_u32((u32)vector_out[i], crc);

    for (int i = 0; i < MATRIX_N; i++)              /* C = A x B */
        for (int j = 0; j < MATRIX_N; j++) {
            i32 sum = 0;
            for (int k = 0; k < MATRIX_N; k++) sum += (i32)matrix_a[i][k] * matrix_b[k][j];
            matrix_c[i][j] = sum;
        }
    crc = crc16_u32(matrix_summary(100000), crc);

    for (int i = 0; i < MATRIX_N; i++)              /* C = bits 3..14 of (A x B), as CoreMark-like kernels do */
        for (int j = 0; j < MATRIX_N; j++) {
            i32 sum = 0;
            for (int k = 0; k < MATRIX_N; k++) {
                i32 product = (i32)matrix_a[i][k] * matrix_b[k][j];
                sum += (product >> 3) & 0xfff;
            }
            matrix_c[i][j] = sum;
        }
    crc = crc16_u32(matrix_summary(50000), crc);

    for (int i = 0; i < MATRIX_N; i++)              /* A -= scalar: back to the input */
        for (int j = 0; j < MATRIX_N; j++) matrix_a[i][j] = (i16)(matrix_a[i][j] - addend);
    return crc16_u16((u16)matrix_a[seed % MATRIX_N][(seed >> 8) % MATRIX_N], crc);
}

/* ---------------------------------------------------------------- number scanner */
enum scan_state {
    SCAN_START, SCAN_SIGN, SCAN_INTEGER, SCAN_POINT, SCAN_FRACTION,
    SCAN_EXPONENT, SCAN_EXPONENT_SIGN, SCAN_EXPONENT_DIGITS, SCAN_INVALID, SCAN_STATES
};
static u8 scan_buffer[SCAN_BYTES + 1];

static int is_digit(u8 c) { return c >= '0' && c <= '9'; }

static enum scan_state scan_step(enum scan_state state, u8 c)
{
    switch (state) {
    case SCAN_START:
        if (is_digit(c)) return SCAN_INTEGER;
        if (c == '+' || c == '-') return SCAN_SIGN;
        if (c == '.') return SCAN_POINT;
        return SCAN_INVALID;
    case SCAN_SIGN:
        if (is_digit(c)) return SCAN_INTEGER;
        if (c == '.') return SCAN_POINT;
        return SCAN_INVALID;
    case SCAN_INTEGER:
        if (is_digit(c)) return SCAN_INTEGER;
        if (c == '.') return SCAN_POINT;
        if (c == 'e' || c == 'E') return SCAN_EXPONENT;
        return SCAN_INVALID;
    case SCAN_POINT:
    case SCAN_FRACTION:
        if (is_digit(c)) return SCAN_FRACTION;
        if (state == SCAN_FRACTION && (c == 'e' || c == 'E')) return SCAN_EXPONENT;
        return SCAN_INVALID;
    case SCAN_EXPONENT:
        if (c == '+' || c == '-') return SCAN_EXPONENT_SIGN;
        if (is_digit(c)) return SCAN_EXPONENT_DIGITS;
        return SCAN_INVALID;
    case SCAN_EXPONENT_SIGN:
    case SCAN_EXPONENT_DIGITS:
        return is_digit(c) ? SCAN_EXPONENT_DIGITS : SCAN_INVALID;
    default:
        return SCAN_INVALID;
    }
}

/* Scans every comma-separated token; counts final states and state changes. */
static u16 scan_buffer_once(u16 crc)
{
    u32 finals[SCAN_STATES] = {0}, changes[SCAN_STATES] = {0};
    const u8 *p = scan_buffer;
    while (*p) {
        enum scan_state state = SCAN_START;
        for (; *p && *p != ','; p++) {
            enum scan_state next = scan_step(state, *p);
            if (next != state) changes[state]++;
            state = next;
        }
        finals[state]++;
        if (*p == ',') p++;
    }
    for (int s = 0; s < SCAN_STATES; s++) crc = crc16_u16((u16)(finals[s] * 64 + changes[s]), crc);
    return crc;
}

static int put_digits(u8 *out, int at, int count, u32 *state)
{
    for (int i = 0; i < count; i++) out[at++] = (u8)('0' + next_random(state) % 10);
    return at;
}

static void scan_generate(u32 seed)
{
    static const u8 garbage[] = "xX#/ :";
    u32 state = seed ^ 0x9e3779b9u;
    int at = 0;
    while (at < SCAN_BYTES - 16) {
        u32 kind = next_random(&state) % 6;
        if (kind == 1 || kind == 4) scan_buffer[at++] = (next_random(&state) & 1) ? '-' : '+';
        at = put_digits(scan_buffer, at, 1 + (int)(next_random(&state) % 5), &state);
        if (kind >= 2) {
            scan_buffer[at++] = '.';
            at = put_digits(scan_buffer, at, (int)(next_random(&state) % 4), &state);
        }
        if (kind == 3 || kind == 4) {
            scan_buffer[at++] = (next_random(&state) & 1) ? 'e' : 'E';
            if (next_random(&state) & 1) scan_buffer[at++] = '-';
            at = put_digits(scan_buffer, at, 1 + (int)(next_random(&state) % 2), &state);
        }
        if (kind == 5) scan_buffer[at++] = garbage[next_random(&state) % (sizeof garbage - 1)];
        scan_buffer[at++] = ',';
    }
    scan_buffer[at] = 0;
}

static u16 scanner_kernel(u32 seed)
{
    scan_generate(seed);
    u16 crc = scan_buffer_once(0x1d0f);
    /* corrupt every 7th byte (never into a terminator), then scan again */
    u8 flip = (u8)(1u << (seed % 7));
    for (int i = (int)(seed % 7); i < SCAN_BYTES && scan_buffer[i]; i += 7) {
        u8 changed = scan_buffer[i] ^ flip;
        if (changed) scan_buffer[i] = changed;
    }
    return scan_buffer_once(crc);
}

/* ---------------------------------------------------------------- driver */
struct checksums { u16 list, matrix, scanner, combined; };

static struct checksums workload(void)
{
    struct checksums sums = {0xffff, 0xffff, 0xffff, 0};
    for (u32 iteration = 0; iteration < ITERATIONS; iteration++) {
        u32 seed = ((u32)sums.combined << 12) ^ iteration ^ 0x2545f491u;
        u16 list = list_kernel(seed), matrix = matrix_kernel(seed), scanner = scanner_kernel(seed);
        sums.list = crc16_u16(list, sums.list);
        sums.matrix = crc16_u16(matrix, sums.matrix);
        sums.scanner = crc16_u16(scanner, sums.scanner);
        sums.combined = crc16_u16(scanner, crc16_u16(matrix, crc16_u16(list, sums.combined)));
    }
    return sums;
}

#define EXPECTED_LIST     0x03af
#define EXPECTED_MATRIX   0x499f
#define EXPECTED_SCANNER  0x6baa
#define EXPECTED_COMBINED 0x27fc

#ifdef HOST
int main(void)
{
    struct checksums sums = workload();
    printf("#define EXPECTED_LIST     0x%04x\n", sums.list);
    printf("#define EXPECTED_MATRIX   0x%04x\n", sums.matrix);
    printf("#define EXPECTED_SCANNER  0x%04x\n", sums.scanner);
    printf("#define EXPECTED_COMBINED 0x%04x\n", sums.combined);
    return 0;
}
#else
static void put_hex16(u16 value)
{
    puts_("0x");
    for (int shift = 12; shift >= 0; shift -= 4) putchar_("0123456789abcdef"[(value >> shift) & 15]);
}

static int report(const char *name, u16 got, u16 want, int code)
{
    puts_(name);
    put_hex16(got);
    putchar_('\n');
    if (got == want) return 0;
    puts_("  expected ");
    put_hex16(want);
    putchar_('\n');
    return code;
}

int main(void)
{
    println("workload: list, matrix, scanner, crc16");
    u64 start = csr_read(minstret);
    struct checksums sums = workload();
    u64 retired = csr_read(minstret) - start;
    int bad = report("list     ", sums.list, EXPECTED_LIST, 1);
    int r = report("matrix   ", sums.matrix, EXPECTED_MATRIX, 2); if (r && !bad) bad = r;
    r = report("scanner  ", sums.scanner, EXPECTED_SCANNER, 3); if (r && !bad) bad = r;
    r = report("checksum ", sums.combined, EXPECTED_COMBINED, 4); if (r && !bad) bad = r;
    puts_("iterations ");
    putdec(ITERATIONS);
    puts_("\ntotal instret ");
    putdec((i64)retired);
    putchar_('\n');
    return bad;
}
#endif
