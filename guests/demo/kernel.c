/* Ringside demo kernel, S-mode part: Sv39 paging, two user tasks, system calls and
 * timer preemption. */
#include "demo.h"

#define PTE_V 1ul
#define PTE_R 2ul
#define PTE_W 4ul
#define PTE_X 8ul
#define PTE_U 16ul
#define PTE_G 32ul
#define PTE_A 64ul
#define PTE_D 128ul

#define NTASKS 2
#define TIME_SLICE 3000          /* timer ticks (10 MHz) between preemptions */

extern char __user_start[], __user_end[], _end[];

enum state { UNUSED, RUNNABLE, EXITED };

struct task {
    const char *name;
    enum state state;
    struct frame regs;          /* saved user registers while not running */
    u64 satp;
    u64 syscalls;
    u64 preempted;
    i64 exit_code;
};

static struct task tasks[NTASKS];
static int current;
static u64 ticks, switches;

/* ---------------------------------------------------------------- page tables */

static u64 page_pool[16][512] __attribute__((aligned(4096)));
static int pool_next;
static u8 user_stacks[NTASKS][4096] __attribute__((aligned(4096)));

static u64 *alloc_page(void)
{
    u64 *p = page_pool[pool_next++];
    memset(p, 0, 4096);
    return p;
}

static u64 pte_to_pa(u64 pte) { return (pte >> 10) << 12; }
static u64 pa_to_pte(u64 pa) { return (pa >> 12) << 10; }

/* map one 4 KiB page in an Sv39 table */
static void map_page(u64 *root, u64 va, u64 pa, u64 flags)
{
    u64 *table = root;
    for (int level = 2; level > 0; level--) {
        u64 *entry = &table[(va >> (12 + 9 * level)) & 511];
        if (!(*entry & PTE_V))
            *entry = pa_to_pte((u64)alloc_page()) | PTE_V;
        table = (u64 *)pte_to_pa(*entry);
    }
    /* A and D start clear: the hardware sets them on first use */
    table[(va >> 12) & 511] = pa_to_pte(pa) | flags | PTE_V;
}

static u64 *kernel_root;

static void build_kernel_map(void)
{
    kernel_root = alloc_page();
    /* kernel image, data and stacks: supervisor only */
    for (u64 a = 0x80000000ul; a < (u64)__user_start; a += 4096)
        map_page(kernel_root, a, a, PTE_R | PTE_W | PTE_X | PTE_G);
    /* the UART, for kputc */
    map_page(kernel_root, UART0, UART0, PTE_R | PTE_W | PTE_G);
    /* user code and constants: same address as physical, user-accessible, read + execute */
    for (u64 a = (u64)__user_start; a < (u64)__user_end; a += 4096)
        map_page(kernel_root, a, a, PTE_R | PTE_X | PTE_U);
}

/* each task: a copy of the kernel's top-level table plus its own stack page */
static u64 make_task_space(int id)
{
    u64 *root = alloc_page();
    memcpy(root, kernel_root, 4096);
    map_page(root, USER_STACK_VA, (u64)user_stacks[id], PTE_R | PTE_W | PTE_U);
    return (8ul << 60) | ((u64)root >> 12);
}

/* ---------------------------------------------------------------- M-mode services */

static long sbi_call(long fn, long a0)
{
    register long r0 asm("a0") = a0;
    register long r7 asm("a7") = fn;
    asm volatile("ecall" : "+r"(r0) : "r"(r7) : "memory");
    return r0;
}

static u64 read_time(void) { return csr_read(time); }

static void arm_timer(void) { sbi_call(SBI_SET_TIMER, read_time() + TIME_SLICE); }

/* ---------------------------------------------------------------- scheduling */

static void switch_to(int next, struct frame *f)
{
    if (next != current) {
        tasks[current].regs = *f;
        *f = tasks[next].regs;
        current = next;
        switches++;
        csr_write(satp, tasks[next].satp);
        asm volatile("sfence.vma" ::: "memory");
    }
}

/* round robin: the next runnable task after the current one; -1 if none is left */
static int pick_next(void)
{
    for (int i = 1; i <= NTASKS; i++) {
        int t = (current + i) % NTASKS;
        if (tasks[t].state == RUNNABLE)
            return t;
    }
    return -1;
}

static void all_done(void) __attribute__((noreturn));

static void all_done(void)
{
    kprintf("demo: all tasks finished after %u timer ticks\n", ticks);
    for (int i = 0; i < NTASKS; i++)
        kprintf("demo: %s made %u system calls, exit code %d\n", tasks[i].name,
                tasks[i].syscalls, tasks[i].exit_code);
    kprintf("demo: %u context switches; powering off\n", switches);
    sbi_call(SBI_SHUTDOWN, 0);
    for (;;) ;
}

/* ---------------------------------------------------------------- system calls */

static void sys_write(const char *buf, u64 len)
{
    /* sstatus.SUM is set, so the kernel may read user pages directly */
    for (u64 i = 0; i < len && i < 200; i++)
        kputc(buf[i]);
}

static void syscall(struct frame *f)
{
    struct task *t = &tasks[current];
    u64 n = f->x[17];
    f->sepc += 4;
    t->syscalls++;
    switch (n) {
    case SYS_WRITE:
        sys_write((const char *)f->x[10], f->x[11]);
        f->x[10] = f->x[11];
        break;
    case SYS_TICKS:
        f->x[10] = ticks;
        break;
    case SYS_YIELD:
        f->x[10] = 0;
        switch_to(pick_next(), f);
        break;
    case SYS_EXIT: {
        t->state = EXITED;
        t->exit_code = f->x[10];
        kprintf("demo: %s exited with code %d\n", t->name, t->exit_code);
        int next = pick_next();
        if (next < 0)
            all_done();
        switch_to(next, f);
        break;
    }
    default:
        f->x[10] = -1ul;
    }
}

void s_trap(struct frame *f)
{
    u64 cause = csr_read(scause);
    if (cause == ((1ul << 63) | 5)) {           /* supervisor timer (forwarded by M) */
        ticks++;
        tasks[current].preempted++;
        arm_timer();
        int next = pick_next();
        if (next >= 0)
            switch_to(next, f);
        return;
    }
    if (cause == 8) {                           /* ecall from U */
        syscall(f);
        return;
    }
    kprintf("demo: %s killed: scause %x stval %x sepc %x\n", tasks[current].name, cause,
            csr_read(stval), f->sepc);
    sbi_call(SBI_SHUTDOWN, 3);
}

/* ---------------------------------------------------------------- boot */

void kmain(void)
{
    kprintf("demo: kernel running in S-mode\n");
    csr_write(stvec, s_trap_entry);
    csr_write(sscratch, trap_stack_top);
    csr_set(sstatus, 1ul << 18);                /* SUM: kernel may read user buffers */
    csr_clear(sstatus, 2);                      /* SIE off in the kernel; U is always preemptible */
    csr_set(sie, 1ul << 5);                     /* STIE */

    build_kernel_map();
    static const char *names[NTASKS] = {"task A", "task B"};
    for (int i = 0; i < NTASKS; i++) {
        struct task *t = &tasks[i];
        t->name = names[i];
        t->state = RUNNABLE;
        t->satp = make_task_space(i);
        memset(&t->regs, 0, sizeof t->regs);
        t->regs.sepc = (u64)user_entry;
        t->regs.x[2] = USER_STACK_TOP;
        t->regs.x[10] = i;
    }
    csr_write(satp, tasks[0].satp);
    asm volatile("sfence.vma" ::: "memory");
    kprintf("demo: Sv39 paging on, %u page-table pages, starting %u tasks\n", (u64)pool_next,
            (u64)NTASKS);

    current = 0;
    arm_timer();
    struct frame *f = (struct frame *)(trap_stack_top - FRAME_SIZE);
    *f = tasks[0].regs;
    enter_user(f);
}
