/* vkernel: a small teaching kernel for the virt board.  M-mode boot (PMP, delegation, the
 * machine timer forwarded to S as SSIP), an S-mode kernel with Sv39 paging, U-mode processes
 * with their own page tables, system calls, round-robin preemptive scheduling, and an
 * interrupt-driven driver for the modern (version 2) virtio-mmio block device.
 *
 * Shared kernel definitions; start.S includes the offsets at the top. */
#ifndef VKERNEL_H
#define VKERNEL_H

/* ---- offsets used by start.S ------------------------------------------------------------ */

/* struct trap_frame: x1..x31 at 8*n (x0's slot unused), then sepc and the kernel stack top */
#define TRAP_FRAME_EPC        256
#define TRAP_FRAME_KERNEL_SP  264

/* the machine scratch area (mscratch points at it): three saved registers, then what the
 * timer vector needs */
#define MACHINE_SAVE_A1       0
#define MACHINE_SAVE_A2       8
#define MACHINE_SAVE_A3       16
#define MACHINE_MTIMECMP      24    /* address of this hart's mtimecmp */
#define MACHINE_INTERVAL      32    /* timer period in mtime ticks */
#define MACHINE_STACK_TOP     40    /* stack for the (fatal) unexpected-trap path */

#ifndef __ASSEMBLER__
#include <stdint.h>
#include <stddef.h>

typedef uint64_t u64;
typedef int64_t i64;
typedef uint32_t u32;
typedef int32_t i32;
typedef uint16_t u16;
typedef uint8_t u8;

/* ---- the virt board ---------------------------------------------------------------------- */

#define RAM_BASE          0x80000000ul
#define FINISHER          0x00100000ul          /* sifive,test1 */
#define CLINT             0x02000000ul
#define CLINT_MTIMECMP(h) (CLINT + 0x4000 + 8 * (h))
#define CLINT_MTIME       (CLINT + 0xbff8)
#define PLIC              0x0c000000ul
#define UART0             0x10000000ul
#define VIRTIO_MMIO_BASE  0x10001000ul          /* slot n at base + n * stride, IRQ 1 + n */
#define VIRTIO_MMIO_STRIDE 0x1000ul
#define VIRTIO_MMIO_SLOTS 8

#define FINISHER_PASS     0x5555
#define FINISHER_FAIL     0x3333                /* | code << 16 */

/* the machine timer period: 10,000 ticks of the 10 MHz timebase = 1 ms (1M instructions
 * under -icount shift=0, and on Ringside's default virtual clock) */
#define TIMER_INTERVAL    10000

/* exit codes through the finisher when the kernel itself gives up (below 256; a failed
 * run of processes exits with the number of processes that failed) */
#define EXIT_KERNEL_CHECK 100   /* a kernel-side check of the run failed */
#define EXIT_PANIC        101   /* unexpected trap in the kernel, or an internal error */
#define EXIT_NO_DISK      102   /* no usable virtio block device */
#define EXIT_MACHINE_TRAP 103   /* unexpected trap in M-mode */

/* ---- CSRs -------------------------------------------------------------------------------- */

#define csr_read(csr) ({ u64 _v; asm volatile("csrr %0, " #csr : "=r"(_v) :: "memory"); _v; })
#define csr_write(csr, v) asm volatile("csrw " #csr ", %0" :: "rK"((u64)(v)) : "memory")
#define csr_set(csr, v) asm volatile("csrs " #csr ", %0" :: "rK"((u64)(v)) : "memory")
#define csr_clear(csr, v) asm volatile("csrc " #csr ", %0" :: "rK"((u64)(v)) : "memory")

#define MSTATUS_MPP_MASK  (3ul << 11)
#define MSTATUS_MPP_S     (1ul << 11)
#define SSTATUS_SIE       (1ul << 1)
#define SSTATUS_SPIE      (1ul << 5)
#define SSTATUS_SPP       (1ul << 8)

#define INTERRUPT_BIT     (1ul << 63)
#define IRQ_S_SOFTWARE    1
#define IRQ_S_TIMER       5
#define IRQ_M_TIMER       7
#define IRQ_S_EXTERNAL    9
#define CAUSE_ECALL_U     8

#define SATP_SV39         (8ul << 60)

static inline void interrupts_on(void) { csr_set(sstatus, SSTATUS_SIE); }
static inline void interrupts_off(void) { csr_clear(sstatus, SSTATUS_SIE); }
static inline void sfence_vma(void) { asm volatile("sfence.vma zero, zero" ::: "memory"); }
static inline void memory_fence(void) { asm volatile("fence rw, rw" ::: "memory"); }

/* ---- memory and page tables (vm.c) ------------------------------------------------------- */

#define PAGE_SIZE 4096ul
#define PAGE_ROUND_UP(a) (((a) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))

typedef u64 pte_t;
typedef pte_t *page_table_t;

#define PTE_V (1ul << 0)
#define PTE_R (1ul << 1)
#define PTE_W (1ul << 2)
#define PTE_X (1ul << 3)
#define PTE_U (1ul << 4)
#define PTE_G (1ul << 5)
#define PTE_A (1ul << 6)
#define PTE_D (1ul << 7)
#define PTE_OWNED (1ul << 8)   /* RSW bit: this process owns the page (freed with it) */

/* user address space: the second gigabyte (root entry 1), which the kernel map leaves empty,
 * so each process has its own tables below its root and shares the kernel's above */
#define USER_REGION_START  0x40000000ul
#define USER_REGION_END    0x80000000ul
#define USER_STACK_TOP     0x40800000ul
#define USER_STACK_PAGES   2

void pages_init(void);
void *page_alloc(void);                 /* zeroed; 0 when none is left */
void page_free(void *page);
u64 pages_free(void);
void kernel_map_init(void);
extern u64 kernel_satp;
page_table_t user_space_create(void);   /* the user program mapped; 0 when out of memory */
void user_space_free(page_table_t root);
int copy_in(page_table_t root, void *dst, u64 src_va, u64 length);
int copy_out(page_table_t root, u64 dst_va, const void *src, u64 length);
int copy_in_string(page_table_t root, char *dst, u64 src_va, u64 max);
int user_range_ok(page_table_t root, u64 va, u64 length, u64 need);

/* ---- processes (proc.c) ------------------------------------------------------------------ */

#define NPROC 8
#define KERNEL_STACK_SIZE 8192
#define DISK_MAX_SECTORS 16     /* largest request: 8 KiB, two pages of the bounce buffer */

struct trap_frame {
    u64 x[32];          /* user registers; x[0] unused */
    u64 epc;            /* TRAP_FRAME_EPC */
    u64 kernel_sp;      /* TRAP_FRAME_KERNEL_SP */
};

struct context {        /* callee-saved registers of a kernel thread (switch_context) */
    u64 ra, sp, s[12];
};

enum proc_state { UNUSED, RUNNABLE, RUNNING, SLEEPING, ZOMBIE };

struct proc_stats {
    u64 syscalls, preemptions, yields, sleeps, disk_requests, disk_sectors;
};

struct proc {
    struct trap_frame trap_frame;
    struct context context;
    enum proc_state state;
    int pid;
    char name[16];
    struct proc *parent;
    const void *wait_channel;   /* what a SLEEPING process waits for */
    u64 wake_tick;              /* for sleep(ticks) */
    page_table_t page_table;
    u64 satp;
    i64 exit_status;
    u8 *kernel_stack;           /* KERNEL_STACK_SIZE bytes */
    u8 *io_buffer;              /* DISK_MAX_SECTORS * 512 bytes, physically contiguous */
    struct proc_stats stats;
};

extern struct proc *current_proc;
extern u64 ticks;
extern u64 free_pages_at_start;

void procs_init(void);
struct proc *proc_create(const char *name, struct proc *parent, u64 a0, u64 a1);
void scheduler(void) __attribute__((noreturn));
void proc_yield(void);
void preempt(void);
void sleep_on(const void *channel);
void wakeup(const void *channel);
void proc_exit(struct proc *p, i64 status) __attribute__((noreturn));
int proc_wait(struct proc *p, u64 status_va);
void timer_tick(void);

/* ---- traps and system calls (trap.c) ----------------------------------------------------- */

void plic_init_irq(u32 irq);
extern u64 empty_claims;
void user_trap(void);
void user_trap_return(void) __attribute__((noreturn));
void kernel_trap(void);

/* ---- virtio block device (virtio_blk.c) -------------------------------------------------- */

enum disk_feature_mode {
    FEATURES_VERSION_1,   /* select both feature pages, accept VIRTIO_F_VERSION_1 */
    FEATURES_XV6,         /* never touch the select registers: page 0 only, no VERSION_1 */
};

#define VIRTIO_BLK_T_IN    0
#define VIRTIO_BLK_T_OUT   1
#define VIRTIO_BLK_T_FLUSH 4

struct disk_counters {
    u64 requests, completed, sectors_read, sectors_written, flushes;
    u64 interrupts, descriptor_waits, errors, length_mismatches, unknown_completions;
};

void disk_probe_and_init(enum disk_feature_mode mode);
int disk_request(int type, u64 sector, u8 *buffer, u32 sectors);
void disk_interrupt(void);
extern u64 disk_sectors;       /* sectors */
extern u32 disk_irq;
extern struct disk_counters disk_counters;

/* ---- device tree (fdt.c) ----------------------------------------------------------------- */

int fdt_chosen_bootargs(u64 dtb, char *out, u64 max);

/* ---- console and helpers (lib.c) --------------------------------------------------------- */

void console_putc(char c);
void console_write(const char *s, u64 length);
void kprintf(const char *fmt, ...);
void power_off(u32 code) __attribute__((noreturn));     /* 0 = pass */
void panic(const char *message) __attribute__((noreturn));
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int strncmp_prefix(const char *s, const char *prefix);  /* 1 if s starts with prefix */
void string_copy(char *dst, const char *src, u64 max);

/* ---- start.S ----------------------------------------------------------------------------- */

extern char machine_timer_vector[], user_trap_vector[], kernel_trap_vector[];
void user_return(struct trap_frame *frame) __attribute__((noreturn));
void switch_context(struct context *save, struct context *load);

/* ---- link.ld ----------------------------------------------------------------------------- */

extern char __text_end[], __rodata_end[], __machine_start[], __machine_end[], __kernel_end[];
extern char __user_text_start[], __user_text_end[], __user_rodata_start[], __user_rodata_end[];
extern char __user_data_start[], __user_data_end[];
extern char __user_text_lma[], __user_rodata_lma[], __user_data_lma[], __user_image_end[];
extern char user_start[];       /* entry of the user program (usys.S), a user virtual address */

void machine_setup(void);
void kmain(u64 hartid, u64 dtb) __attribute__((noreturn));

#endif /* __ASSEMBLER__ */
#endif
