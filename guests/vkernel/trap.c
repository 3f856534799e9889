/* vkernel: traps in S-mode, the PLIC, and the system calls.
 *
 * From U-mode (user_trap_vector -> user_trap):
 *   ecall (cause 8)                 a system call; a7 = number, a0..a2 = arguments
 *   supervisor software (SSIP)      the timer tick M-mode forwarded: clear SSIP, count the
 *                                   tick, and end the process's time slice (round robin)
 *   supervisor external (SEIP)      the PLIC: claim, the disk's completions, complete
 *   anything else                   the process is killed
 * From S-mode (kernel_trap_vector -> kernel_trap): only interrupts in the idle loop. */
#include "vkernel.h"
#include "syscall.h"

#define PLIC_PRIORITY(irq)   (PLIC + 4 * (irq))
#define PLIC_S_ENABLE(hart)  (PLIC + 0x2080 + 0x100 * (hart))   /* context 2h + 1 */
#define PLIC_S_THRESHOLD(h)  (PLIC + 0x201000 + 0x2000 * (h))
#define PLIC_S_CLAIM(hart)   (PLIC + 0x201004 + 0x2000 * (hart))

void plic_init_irq(u32 irq)
{
    *(volatile u32 *)PLIC_PRIORITY(irq) = 1;
    *(volatile u32 *)PLIC_S_ENABLE(0) |= 1u << irq;
    *(volatile u32 *)PLIC_S_THRESHOLD(0) = 0;
}

u64 empty_claims;

static void external_interrupt(void)
{
    u32 irq = *(volatile u32 *)PLIC_S_CLAIM(0);
    if (irq == 0) {
        empty_claims++;                 /* nothing pending any more */
        return;
    }
    if (irq == disk_irq)
        disk_interrupt();
    else
        kprintf("vkernel: unexpected interrupt request %u\n", (u64)irq);
    *(volatile u32 *)PLIC_S_CLAIM(0) = irq;       /* complete */
}

static void clock_interrupt(void)
{
    csr_clear(sip, 1 << IRQ_S_SOFTWARE);          /* the M-mode timer vector set it */
    timer_tick();
}

/* ---- system calls ------------------------------------------------------------------------- */

static i64 sys_write(struct proc *p, u64 buffer, u64 length)
{
    char chunk[128];
    if (length > 4096) return -1;
    if (!user_range_ok(p->page_table, buffer, length, PTE_R)) return -1;
    for (u64 done = 0; done < length;) {
        u64 n = length - done < sizeof chunk ? length - done : sizeof chunk;
        if (copy_in(p->page_table, chunk, buffer + done, n) < 0) return -1;
        console_write(chunk, n);
        done += n;
    }
    return (i64)length;
}

static i64 sys_spawn(struct proc *p, u64 name_va, u64 role, u64 argument)
{
    char name[16];
    if (copy_in_string(p->page_table, name, name_va, sizeof name) < 0) return -1;
    struct proc *child = proc_create(name, p, role, argument);
    return child ? child->pid : -1;
}

static i64 sys_sleep(struct proc *p, u64 n)
{
    if (n < 1 || n > 1000) return -1;
    p->stats.sleeps++;
    u64 until = ticks + n;
    while (ticks < until)
        sleep_on(&ticks);
    return 0;
}

/* Reads and writes go through the process's bounce buffer (physically contiguous, so one
 * data descriptor covers it); the user buffer is checked before the disk is touched. */
static i64 sys_disk(struct proc *p, int type, u64 sector, u64 buffer, u64 count)
{
    if (count < 1 || count > DISK_MAX_SECTORS) return -1;
    if (sector >= disk_sectors || count > disk_sectors - sector) return -1;
    u64 bytes = count * 512;
    if (!user_range_ok(p->page_table, buffer, bytes, type == VIRTIO_BLK_T_IN ? PTE_W : PTE_R))
        return -1;
    if (type == VIRTIO_BLK_T_OUT && copy_in(p->page_table, p->io_buffer, buffer, bytes) < 0)
        return -1;
    if (type == VIRTIO_BLK_T_IN)
        memset(p->io_buffer, 0xa5, bytes);      /* a read that moves no data must not pass */
    p->stats.disk_requests++;
    p->stats.disk_sectors += count;
    if (disk_request(type, sector, p->io_buffer, (u32)count) < 0) return -1;
    if (type == VIRTIO_BLK_T_IN && copy_out(p->page_table, buffer, p->io_buffer, bytes) < 0)
        return -1;
    return 0;
}

static void syscall(struct proc *p)
{
    struct trap_frame *f = &p->trap_frame;
    u64 a0 = f->x[10], a1 = f->x[11], a2 = f->x[12];
    i64 result;
    p->stats.syscalls++;
    switch (f->x[17]) {
    case SYS_WRITE:         result = sys_write(p, a0, a1); break;
    case SYS_GETPID:        result = p->pid; break;
    case SYS_YIELD:         p->stats.yields++; proc_yield(); result = 0; break;
    case SYS_SLEEP:         result = sys_sleep(p, a0); break;
    case SYS_EXIT:          proc_exit(p, (i64)a0);
    case SYS_SPAWN:         result = sys_spawn(p, a0, a1, a2); break;
    case SYS_WAIT:          result = proc_wait(p, a0); break;
    case SYS_DISK_READ:     result = sys_disk(p, VIRTIO_BLK_T_IN, a0, a1, a2); break;
    case SYS_DISK_WRITE:    result = sys_disk(p, VIRTIO_BLK_T_OUT, a0, a1, a2); break;
    case SYS_DISK_FLUSH:
        p->stats.disk_requests++;
        result = disk_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0);
        break;
    case SYS_DISK_CAPACITY: result = (i64)disk_sectors; break;
    case SYS_UPTIME:        result = (i64)ticks; break;
    default:
        kprintf("vkernel: pid %u %s: unknown system call %u\n", (u64)p->pid, p->name, f->x[17]);
        result = -1;
    }
    f->x[10] = (u64)result;
}

/* ---- trap entry from U-mode --------------------------------------------------------------- */

void user_trap(void)
{
    csr_write(stvec, kernel_trap_vector);   /* traps from here on are the kernel's */
    struct proc *p = current_proc;
    u64 cause = csr_read(scause);
    if (cause == CAUSE_ECALL_U) {
        p->trap_frame.epc += 4;             /* return after the ecall */
        syscall(p);
    } else if (cause == (INTERRUPT_BIT | IRQ_S_SOFTWARE)) {
        clock_interrupt();
        preempt();
    } else if (cause == (INTERRUPT_BIT | IRQ_S_EXTERNAL)) {
        external_interrupt();
    } else {
        kprintf("vkernel: pid %u %s killed: scause 0x%x stval 0x%x sepc 0x%x\n", (u64)p->pid,
                p->name, cause, csr_read(stval), p->trap_frame.epc);
        proc_exit(p, -1);
    }
    user_trap_return();
}

void user_trap_return(void)
{
    struct proc *p = current_proc;
    /* SIE is 0 here and stays 0 until sret: a trap in S with stvec at the user vector would
       be taken as if it came from U */
    interrupts_off();
    csr_write(stvec, user_trap_vector);
    csr_write(sscratch, &p->trap_frame);
    u64 status = csr_read(sstatus);
    status &= ~SSTATUS_SPP;                 /* sret to U */
    status |= SSTATUS_SPIE;                 /* with S interrupts enabled there (always, in U) */
    csr_write(sstatus, status);
    user_return(&p->trap_frame);
}

/* ---- traps in S-mode ---------------------------------------------------------------------- */

void kernel_trap(void)
{
    u64 cause = csr_read(scause);
    if (cause == (INTERRUPT_BIT | IRQ_S_SOFTWARE)) {
        clock_interrupt();
    } else if (cause == (INTERRUPT_BIT | IRQ_S_EXTERNAL)) {
        external_interrupt();
    } else {
        kprintf("vkernel: kernel trap: scause 0x%x stval 0x%x sepc 0x%x\n", cause,
                csr_read(stval), csr_read(sepc));
        panic("unexpected trap in the kernel");
    }
}
