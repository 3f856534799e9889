/* vkernel: processes and the round-robin scheduler.
 *
 * One hart and no locks: the kernel runs with sstatus.SIE = 0 everywhere except in the
 * scheduler's idle loop, so kernel code is never interrupted; a process is preempted only
 * while it runs in U-mode (where S interrupts are always enabled).  Each process has its own
 * kernel stack; a process that waits (disk, sleep, wait) switches to the scheduler thread
 * and gets the CPU back when an interrupt handler or another process wakes it. */
#include "vkernel.h"

struct proc *current_proc;
u64 ticks;

static struct proc procs[NPROC];
static u8 kernel_stacks[NPROC][KERNEL_STACK_SIZE] __attribute__((aligned(16)));
static u8 io_buffers[NPROC][DISK_MAX_SECTORS * 512] __attribute__((aligned(PAGE_SIZE)));
static struct context scheduler_context;
static int next_pid = 1;
static u64 dispatches, involuntary_switches;
u64 free_pages_at_start;      /* set by kmain before the first process */

/* what the final report shows about every process that ran */
struct exit_record {
    int pid;
    char name[16];
    i64 status;
    struct proc_stats stats;
};
static struct exit_record records[32];
static int record_count;

void procs_init(void)
{
    for (int i = 0; i < NPROC; i++) {
        procs[i].state = UNUSED;
        procs[i].kernel_stack = kernel_stacks[i];
        procs[i].io_buffer = io_buffers[i];
    }
}

/* where a new process starts in the kernel: straight out to U-mode */
static void first_return(void)
{
    user_trap_return();
}

struct proc *proc_create(const char *name, struct proc *parent, u64 a0, u64 a1)
{
    struct proc *p = 0;
    for (int i = 0; i < NPROC && !p; i++)
        if (procs[i].state == UNUSED) p = &procs[i];
    if (!p) return 0;
    page_table_t root = user_space_create();
    if (!root) return 0;

    p->pid = next_pid++;
    string_copy(p->name, name, sizeof p->name);
    p->parent = parent;
    p->wait_channel = 0;
    p->page_table = root;
    p->satp = SATP_SV39 | ((u64)root >> 12);
    p->exit_status = 0;
    memset(&p->stats, 0, sizeof p->stats);

    memset(&p->trap_frame, 0, sizeof p->trap_frame);
    p->trap_frame.epc = (u64)user_start;
    p->trap_frame.x[2] = USER_STACK_TOP;                    /* sp */
    p->trap_frame.x[10] = a0;
    p->trap_frame.x[11] = a1;
    p->trap_frame.kernel_sp = (u64)p->kernel_stack + KERNEL_STACK_SIZE;

    memset(&p->context, 0, sizeof p->context);
    p->context.ra = (u64)first_return;
    p->context.sp = p->trap_frame.kernel_sp;
    p->state = RUNNABLE;
    return p;
}

/* ---- giving up the CPU ------------------------------------------------------------------- */

static void switch_to_scheduler(void)
{
    struct proc *p = current_proc;
    if (p->state == RUNNING) panic("switch_to_scheduler: still running");
    switch_context(&p->context, &scheduler_context);
}

void proc_yield(void)
{
    current_proc->state = RUNNABLE;
    switch_to_scheduler();
}

void sleep_on(const void *channel)
{
    struct proc *p = current_proc;
    p->wait_channel = channel;
    p->state = SLEEPING;
    switch_to_scheduler();
    p->wait_channel = 0;
}

void wakeup(const void *channel)
{
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == SLEEPING && procs[i].wait_channel == channel)
            procs[i].state = RUNNABLE;
}

/* the S-mode half of the timer: called for every SSIP the M-mode timer vector raised */
void timer_tick(void)
{
    ticks++;
    wakeup(&ticks);
}

/* ---- exit and wait ------------------------------------------------------------------------ */

/* frees an exited process; its page tables must not be in satp */
static void release(struct proc *p)
{
    user_space_free(p->page_table);
    p->page_table = 0;
    p->parent = 0;
    p->state = UNUSED;
}

void proc_exit(struct proc *p, i64 status)
{
    p->exit_status = status;
    if (record_count < (int)(sizeof records / sizeof records[0])) {
        struct exit_record *r = &records[record_count++];
        r->pid = p->pid;
        string_copy(r->name, p->name, sizeof r->name);
        r->status = status;
        r->stats = p->stats;
    }
    /* children that already exited are freed now; the others run on without a parent */
    for (int i = 0; i < NPROC; i++) {
        if (procs[i].parent != p) continue;
        procs[i].parent = 0;
        if (procs[i].state == ZOMBIE) release(&procs[i]);
    }
    p->state = ZOMBIE;
    if (p->parent) wakeup(p->parent);
    switch_to_scheduler();
    panic("a zombie ran");
}

/* Reaps one exited child: its pid, with the status stored at status_va (when not 0);
 * -1 without children or when status_va is not writable. */
int proc_wait(struct proc *p, u64 status_va)
{
    if (status_va && !user_range_ok(p->page_table, status_va, sizeof(i32), PTE_W)) return -1;
    for (;;) {
        int children = 0;
        for (int i = 0; i < NPROC; i++) {
            struct proc *child = &procs[i];
            if (child->state == UNUSED || child->parent != p) continue;
            children++;
            if (child->state != ZOMBIE) continue;
            i32 status = (i32)child->exit_status;
            if (status_va && copy_out(p->page_table, status_va, &status, sizeof status) < 0)
                return -1;
            int pid = child->pid;
            /* the child's page tables are no longer in satp: the scheduler switched to the
               kernel's when the child gave up the CPU */
            release(child);
            return pid;
        }
        if (!children) return -1;
        sleep_on(p);
    }
}

/* ---- the scheduler ------------------------------------------------------------------------ */

static void finish(void) __attribute__((noreturn));

static int any_alive(void)
{
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == RUNNABLE || procs[i].state == RUNNING || procs[i].state == SLEEPING)
            return 1;
    return 0;
}

void scheduler(void)
{
    int last = NPROC - 1;
    for (;;) {
        interrupts_off();
        struct proc *next = 0;
        for (int i = 1; i <= NPROC && !next; i++) {
            struct proc *p = &procs[(last + i) % NPROC];
            if (p->state == RUNNABLE) next = p;
        }
        if (next) {
            last = next - procs;
            next->state = RUNNING;
            current_proc = next;
            dispatches++;
            csr_write(satp, next->satp);
            sfence_vma();
            switch_context(&scheduler_context, &next->context);
            /* back when the process yields, sleeps or exits: leave its address space, which
               may be freed before it runs again */
            csr_write(satp, kernel_satp);
            sfence_vma();
            current_proc = 0;
            if (next->state == ZOMBIE && !next->parent) release(next);   /* nobody will wait */
            continue;
        }
        if (!any_alive()) finish();
        /* Idle.  wfi with SIE = 0 still wakes on a pending enabled interrupt; setting SIE then
           takes it at once (the privileged spec has interrupts re-evaluated right after a
           write to sstatus), so no wake-up is lost between the check above and the wfi. */
        asm volatile("wfi");
        interrupts_on();
        interrupts_off();
    }
}

/* the timer interrupted the running process in U-mode: its time slice is over */
void preempt(void)
{
    current_proc->stats.preemptions++;
    involuntary_switches++;
    proc_yield();
}

/* ---- the end of the run ------------------------------------------------------------------- */

static int check(int ok, const char *what)
{
    if (!ok) kprintf("vkernel: check failed: %s\n", what);
    return ok;
}

static void finish(void)
{
    kprintf("vkernel: all processes have exited\n");
    int failed = 0;
    for (int i = 0; i < record_count; i++) {
        struct exit_record *r = &records[i];
        kprintf("vkernel:   pid %u %s: status %d, %u syscalls, %u preemptions, %u yields, "
                "%u sleeps, %u disk requests (%u sectors)\n",
                (u64)r->pid, r->name, r->status, r->stats.syscalls, r->stats.preemptions,
                r->stats.yields, r->stats.sleeps, r->stats.disk_requests, r->stats.disk_sectors);
        if (r->status != 0) failed++;
    }
    struct disk_counters *d = &disk_counters;
    kprintf("vkernel: %u timer ticks, %u dispatches, %u preemptions by the timer\n", ticks,
            dispatches, involuntary_switches);
    kprintf("vkernel: disk: %u requests, %u completed, %u sectors read, %u written, %u flushes, "
            "%u interrupts, %u waits for descriptors\n", d->requests, d->completed,
            d->sectors_read, d->sectors_written, d->flushes, d->interrupts, d->descriptor_waits);
    /* instret is exact on Ringside; QEMU derives it from its clock (virtual time under
       -icount, so idle time counts too) */
    kprintf("vkernel: %u free pages, instret %u, %u empty PLIC claims\n", pages_free(),
            csr_read(instret), empty_claims);

    int ok = 1;
    ok &= check(ticks > 0, "the forwarded timer ticked");
    ok &= check(involuntary_switches > 0, "a process was preempted by the timer");
    ok &= check(d->interrupts > 0, "the disk interrupted");
    ok &= check(d->requests == d->completed, "every disk request completed");
    ok &= check(d->errors == 0, "no disk request failed");
    ok &= check(d->length_mismatches == 0, "used-ring lengths are exact");
    ok &= check(d->unknown_completions == 0, "no completion for an unknown descriptor");
    ok &= check(pages_free() == free_pages_at_start, "every process page was freed");
    if (!ok) {
        kprintf("vkernel: kernel checks failed\n");
        power_off(EXIT_KERNEL_CHECK);
    }
    if (failed) {
        kprintf("vkernel: %u of %u processes failed\n", (u64)failed, (u64)record_count);
        power_off(failed);
    }
    kprintf("vkernel: all %u processes passed\n", (u64)record_count);
    power_off(0);
}
