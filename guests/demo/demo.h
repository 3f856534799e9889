/* Ringside demo kernel: shared definitions. */
#ifndef DEMO_H
#define DEMO_H
#include <stdint.h>
#include <stddef.h>

typedef uint64_t u64;
typedef int64_t i64;
typedef uint32_t u32;
typedef uint8_t u8;

/* physical devices of the virt board */
#define UART0      0x10000000ul
#define FINISHER   0x00100000ul
#define CLINT      0x02000000ul
#define MTIME      (CLINT + 0xbff8)
#define MTIMECMP0  (CLINT + 0x4000)

/* the demo's own M-mode services, called from S with ecall (a7 = function) */
#define SBI_SET_TIMER 0
#define SBI_PUTCHAR   1
#define SBI_SHUTDOWN  8

/* system calls made by user tasks (a7 = number) */
#define SYS_WRITE  1   /* a0 = buffer, a1 = length */
#define SYS_TICKS  2   /* returns the number of timer ticks so far */
#define SYS_YIELD  3
#define SYS_EXIT   4   /* a0 = exit code */

/* user address space */
/* One page per task, in a gigabyte the kernel map does not use, so each task gets its own
   intermediate page tables instead of writing into the shared ones. */
#define USER_STACK_VA  0x40000000ul
#define USER_STACK_TOP (USER_STACK_VA + 4096)

/* register frame saved by the S-mode trap entry (start.S) */
struct frame {
    u64 x[32];      /* x[2] = user sp */
    u64 sepc;
};
#define FRAME_SIZE 264

#define csr_read(csr) ({ u64 _v; asm volatile("csrr %0, " #csr : "=r"(_v) :: "memory"); _v; })
#define csr_write(csr, v) asm volatile("csrw " #csr ", %0" :: "rK"((u64)(v)) : "memory")
#define csr_set(csr, v) asm volatile("csrs " #csr ", %0" :: "rK"((u64)(v)) : "memory")
#define csr_clear(csr, v) asm volatile("csrc " #csr ", %0" :: "rK"((u64)(v)) : "memory")

/* machine.c */
void m_main(void);

/* kernel.c */
void kmain(void);
void s_trap(struct frame *f);

/* console.c (S-mode) */
void kputc(char c);
void kputs(const char *s);
void kputdec(u64 v);
void kprintf(const char *fmt, ...);

/* start.S */
void enter_user(struct frame *f) __attribute__((noreturn));
extern char s_trap_entry[], m_trap_entry[];
extern char kstack_top[], trap_stack_top[];

/* user.c (runs in U-mode) */
void user_entry(long id);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
#endif
