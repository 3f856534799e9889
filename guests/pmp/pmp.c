/* pmp: TOR, NA4 and NAPOT regions; S/U accesses that match no entry fault; R/W/X denial
 * gives causes 5/7/1 with mtval = address; a locked entry also binds M-mode (done last:
 * the lock holds until reset). */
#include "rt.h"

#define R 1
#define W 2
#define X 4
#define A_TOR   (1 << 3)
#define A_NA4   (2 << 3)
#define A_NAPOT (3 << 3)
#define L 0x80

static u8 page_a[4096] __attribute__((aligned(4096)));   /* NAPOT, read-only */
static u8 page_b[4096] __attribute__((aligned(4096)));   /* one NA4 word with no access */
static u32 page_c[1024] __attribute__((aligned(4096), section(".data")));  /* TOR, RW, no X */

static u64 ua(const volatile void *p) { return (u64)(uintptr_t)p; }
static u64 s_load(u64 a) { return *(volatile u64 *)(uintptr_t)a + 1; }
static u64 s_load32(u64 a) { return *(volatile u32 *)(uintptr_t)a + 1; }
static u64 s_store(u64 a) { *(volatile u64 *)(uintptr_t)a = 0x77; return 1; }
static u64 s_jump(u64 a) { asm volatile("jalr ra, 0(%0)" :: "r"(a) : "ra", "memory"); return 2; }

#define NAPOT(base, size) (((base) >> 2) | (((size) >> 3) - 1))

static void fault(int id, u64 mode, u64 (*fn)(u64), u64 addr, u64 cause)
{
    arm_trap();
    run_mode(mode, fn, addr);
    expect_trap(id, cause);
    CHECKEQ(id + 1, tr.tval, addr);
}

int main(void)
{
    println("pmp: physical memory protection");
    page_c[0] = 0x00008067;          /* ret: would run if X were granted */
    page_b[0] = 5;
    page_b[8] = 6;

    /* entry 0: NA4 on page_b[4..8): no access
     * entry 1: NAPOT page_a: R only
     * entry 2: TOR bottom (start of page_c), entry 3: TOR top (end of page_c): R W
     * entry 4: NAPOT all of RAM (128 MiB): R W X */
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, (ua(page_b) + 4) >> 2);
    csr_write(pmpaddr1, NAPOT(ua(page_a), 4096));
    csr_write(pmpaddr2, ua(page_c) >> 2);
    csr_write(pmpaddr3, (ua(page_c) + 4096) >> 2);
    csr_write(pmpaddr4, NAPOT(0x80000000ull, 0x8000000ull));
    u64 cfg = (u64)(A_NA4) | ((u64)(A_NAPOT | R) << 8) | (0ull << 16) |
              ((u64)(A_TOR | R | W) << 24) | ((u64)(A_NAPOT | R | W | X) << 32);
    csr_write(pmpcfg0, cfg);
    CHECKEQ(1, csr_read(pmpcfg0), cfg);
    CHECKEQ(2, csr_read(pmpaddr1), NAPOT(ua(page_a), 4096));
    asm volatile("sfence.vma" ::: "memory");

    /* allowed accesses */
    CHECKEQ(3, run_mode(MODE_S, s_load32, ua(page_b)), 6);
    CHECKEQ(4, run_mode(MODE_S, s_load, ua(page_a)), 1);
    CHECKEQ(5, run_mode(MODE_U, s_store, ua(page_c) + 8), 1);
    CHECKEQ(6, page_c[2], 0x77);
    ok("allowed S/U accesses");

    /* denials: R (5), W (7), X (1) */
    fault(10, MODE_S, s_load32, ua(page_b) + 4, 5);            /* NA4, no R */
    fault(12, MODE_U, s_store, ua(page_b) + 4, 7);             /* NA4, no W */
    CHECKEQ(14, run_mode(MODE_S, s_load32, ua(page_b) + 8), 7); /* the next word is outside the NA4 */
    fault(15, MODE_S, s_store, ua(page_a) + 16, 7);            /* NAPOT R only */
    fault(17, MODE_U, s_jump, ua(page_a), 1);                  /* NAPOT, no X */
    fault(19, MODE_S, s_jump, ua(page_c), 1);                  /* TOR, no X */
    CHECKEQ(21, run_mode(MODE_S, s_load32, ua(page_c) + 4092), 1);    /* last TOR word is RW */
    ok("R/W/X denial: causes 5/7/1");

    /* S/U accesses outside every entry fault (the UART is not covered) */
    fault(22, MODE_S, s_load32, UART0, 5);
    fault(24, MODE_U, s_store, UART0 + 8, 7);
    fault(26, MODE_S, s_jump, 0x88000000ull - 4096 + 0x10000000ull, 1);
    /* M-mode ignores unlocked entries */
    CHECKEQ(28, *(volatile u32 *)(page_b + 4), 0);
    *(volatile u64 *)(page_a + 8) = 9;
    CHECKEQ(29, *(volatile u64 *)(page_a + 8), 9);
    ok("no matching entry: S/U fault, M unaffected");

    /* lock entry 1 (page_a, R only): now M-mode stores fault too, and the entry is frozen */
    csr_set(pmpcfg0, (u64)L << 8);
    CHECKEQ(30, (csr_read(pmpcfg0) >> 8) & 0xff, L | A_NAPOT | R);
    arm_trap();
    *(volatile u64 *)(page_a + 8) = 10;
    expect_trap(31, 7);
    CHECKEQ(32, tr.tval, ua(page_a) + 8);
    CHECKEQ(33, *(volatile u64 *)(page_a + 8), 9);             /* M may still read */
    csr_write(pmpaddr1, 0);                                     /* ignored: locked */
    CHECKEQ(34, csr_read(pmpaddr1), NAPOT(ua(page_a), 4096));
    csr_clear(pmpcfg0, 0xffull << 8);                           /* ignored: locked */
    CHECKEQ(35, (csr_read(pmpcfg0) >> 8) & 0xff, L | A_NAPOT | R);
    ok("locked entry binds M-mode");
    return 0;
}
