/* Ringside guest runtime (C side). */
#ifndef RT_H
#define RT_H
#include <stdint.h>
#include <stddef.h>
#include "rt_asm.h"

typedef uint64_t u64;
typedef int64_t i64;
typedef uint32_t u32;
typedef int32_t i32;
typedef uint16_t u16;
typedef uint8_t u8;

struct trap_frame {
    u64 x[32];          /* x[2] = interrupted sp */
    u64 cause, epc, tval, status;
};

/* What the default handlers saw for the last expected trap. */
struct trap_record {
    volatile int armed;      /* != 0: exceptions are recorded and skipped instead of failing */
    volatile int count;      /* traps recorded since arm_trap() */
    volatile int level;      /* 3 = taken in M, 1 = taken in S */
    volatile u64 cause, epc, tval, status;
};
extern struct trap_record tr;
extern volatile int mtrap_count, strap_count;   /* every trap taken by the default entries */
void trap_note(struct trap_frame *f, int level); /* record a trap into tr (for hooks) */
u64 whoami(void);                                 /* current privilege mode via ecall */

/* Optional hooks: return 1 if the trap was handled (the frame may be changed). */
extern int (*mtrap_hook)(struct trap_frame *f);
extern int (*strap_hook)(struct trap_frame *f);

void putchar_(int c);
void puts_(const char *s);          /* no newline added */
void puthex(u64 v);                 /* 0x... */
void putdec(i64 v);
void println(const char *s);
void ok(const char *what);          /* prints "ok <what>" */
void pass(void) __attribute__((noreturn));
void fail(int code) __attribute__((noreturn));
void check_failed(int id, const char *expr, u64 got, u64 want, int has_vals) __attribute__((noreturn));

#define CHECK(id, cond) do { if (!(cond)) check_failed((id), #cond, 0, 0, 0); } while (0)
#define CHECKEQ(id, got, want) do { u64 _g = (u64)(got), _w = (u64)(want); \
    if (_g != _w) check_failed((id), #got, _g, _w, 1); } while (0)

void arm_trap(void);                /* clear tr and start recording */
void disarm_trap(void);
/* Check that exactly one trap with this cause was recorded since arm_trap (and disarm). */
void expect_trap(int id, u64 cause);
void expect_no_trap(int id);

u64 run_mode(u64 mode, u64 (*fn)(u64), u64 arg);
#define MODE_U 0
#define MODE_S 1
#define MODE_M 3

#define csr_read(csr) ({ u64 _v; asm volatile("csrr %0, " #csr : "=r"(_v) :: "memory"); _v; })
#define csr_write(csr, v) asm volatile("csrw " #csr ", %0" :: "rK"((u64)(v)) : "memory")
#define csr_set(csr, v) asm volatile("csrs " #csr ", %0" :: "rK"((u64)(v)) : "memory")
#define csr_clear(csr, v) asm volatile("csrc " #csr ", %0" :: "rK"((u64)(v)) : "memory")
#define csr_swap(csr, v) ({ u64 _v; asm volatile("csrrw %0, " #csr ", %1" : "=r"(_v) : "rK"((u64)(v)) : "memory"); _v; })

#define mmio_w32(a, v) (*(volatile u32 *)(uintptr_t)(a) = (v))
#define mmio_r32(a) (*(volatile u32 *)(uintptr_t)(a))
#define mmio_w64(a, v) (*(volatile u64 *)(uintptr_t)(a) = (v))
#define mmio_r64(a) (*(volatile u64 *)(uintptr_t)(a))
#define mmio_w8(a, v) (*(volatile u8 *)(uintptr_t)(a) = (v))
#define mmio_r8(a) (*(volatile u8 *)(uintptr_t)(a))

#define INTR (1ull << 63)

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
#endif
