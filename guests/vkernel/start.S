/* vkernel: the assembly entry points.
 *
 *   _start                M-mode boot on hart 0: clear .bss, machine_setup, mret to kmain (S)
 *   machine_timer_vector  M-mode trap vector (mtvec): re-arms mtimecmp and forwards the tick
 *                         to S-mode as the supervisor software interrupt (sip.SSIP)
 *   user_trap_vector      S-mode trap vector while a process runs in U-mode (stvec)
 *   user_return           back to U-mode from a process's trap frame (sret)
 *   kernel_trap_vector    S-mode trap vector while the kernel runs (stvec)
 *   switch_context        switch kernel threads (process <-> scheduler)
 */
#include "vkernel.h"

        .section .text.boot, "ax"
        .globl  _start
_start:
        csrr    t0, mhartid
        bnez    t0, park_hart           /* one hart runs the kernel */
        mv      s0, a0                  /* hart id */
        mv      s1, a1                  /* device tree: QEMU and Ringside pass its address */
        la      t0, __bss_start
        la      t1, __bss_end
1:      bgeu    t0, t1, 2f
        sd      zero, 0(t0)
        addi    t0, t0, 8
        j       1b
2:      la      sp, boot_stack_top
        call    machine_setup           /* PMP, delegation, timer; mepc = kmain, MPP = S */
        mv      a0, s0
        mv      a1, s1
        mret                            /* kmain(hartid, dtb) in S-mode, paging off */
park_hart:
        wfi
        j       park_hart

/* ---- M-mode -------------------------------------------------------------------------------
 * The only M-mode trap the kernel expects is the machine timer.  Like xv6 it needs no stack:
 * mscratch points at a small save area (in the PMP-protected machine area). */
        .text
        .align  4
        .globl  machine_timer_vector
machine_timer_vector:
        csrrw   a0, mscratch, a0
        sd      a1, MACHINE_SAVE_A1(a0)
        sd      a2, MACHINE_SAVE_A2(a0)
        sd      a3, MACHINE_SAVE_A3(a0)
        csrr    a1, mcause
        li      a2, 0x8000000000000007  /* interrupt, machine timer */
        bne     a1, a2, machine_unexpected
        ld      a1, MACHINE_MTIMECMP(a0)
        ld      a2, MACHINE_INTERVAL(a0)
        ld      a3, 0(a1)
        add     a3, a3, a2
        sd      a3, 0(a1)               /* next tick one interval later; clears mip.MTIP */
        csrsi   sip, 2                  /* csrs sip, 2: raise SSIP, delegated to S-mode */
        ld      a3, MACHINE_SAVE_A3(a0)
        ld      a2, MACHINE_SAVE_A2(a0)
        ld      a1, MACHINE_SAVE_A1(a0)
        csrrw   a0, mscratch, a0
        mret
machine_unexpected:
        ld      sp, MACHINE_STACK_TOP(a0)
        call    machine_unexpected_trap /* reports and powers off */
1:      j       1b

/* ---- U -> S -------------------------------------------------------------------------------
 * While a process runs, sscratch holds its trap frame (kernel memory, mapped in every
 * address space at the same place, so satp does not change on a trap). */
        .align  4
        .globl  user_trap_vector
user_trap_vector:
        csrrw   a0, sscratch, a0        /* a0 = trap frame, sscratch = user a0 */
        .irp    n, 1,2,3,4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        sd      x\n, (\n * 8)(a0)
        .endr
        csrr    t0, sscratch
        sd      t0, (10 * 8)(a0)        /* user a0 */
        csrr    t0, sepc
        sd      t0, TRAP_FRAME_EPC(a0)
        ld      sp, TRAP_FRAME_KERNEL_SP(a0)
        call    user_trap               /* ends in user_trap_return -> user_return */
1:      j       1b

/* void user_return(struct trap_frame *frame): sstatus.SPP = U, SPIE, stvec and sscratch are
 * already set (user_trap_return) */
        .globl  user_return
user_return:
        ld      t0, TRAP_FRAME_EPC(a0)
        csrw    sepc, t0
        .irp    n, 1,2,3,4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        ld      x\n, (\n * 8)(a0)
        .endr
        ld      a0, (10 * 8)(a0)
        sret

/* ---- S -> S -------------------------------------------------------------------------------
 * The kernel takes interrupts only in the scheduler's idle loop; any other trap here is a
 * kernel bug, which kernel_trap reports. */
        .align  4
        .globl  kernel_trap_vector
kernel_trap_vector:
        addi    sp, sp, -128
        sd      ra, 0(sp)
        sd      t0, 8(sp)
        sd      t1, 16(sp)
        sd      t2, 24(sp)
        sd      a0, 32(sp)
        sd      a1, 40(sp)
        sd      a2, 48(sp)
        sd      a3, 56(sp)
        sd      a4, 64(sp)
        sd      a5, 72(sp)
        sd      a6, 80(sp)
        sd      a7, 88(sp)
        sd      t3, 96(sp)
        sd      t4, 104(sp)
        sd      t5, 112(sp)
        sd      t6, 120(sp)
        call    kernel_trap
        ld      ra, 0(sp)
        ld      t0, 8(sp)
        ld      t1, 16(sp)
        ld      t2, 24(sp)
        ld      a0, 32(sp)
        ld      a1, 40(sp)
        ld      a2, 48(sp)
        ld      a3, 56(sp)
        ld      a4, 64(sp)
        ld      a5, 72(sp)
        ld      a6, 80(sp)
        ld      a7, 88(sp)
        ld      t3, 96(sp)
        ld      t4, 104(sp)
        ld      t5, 112(sp)
        ld      t6, 120(sp)
        addi    sp, sp, 128
        sret

/* void switch_context(struct context *save, struct context *load) */
        .globl  switch_context
switch_context:
        sd      ra, 0(a0)
        sd      sp, 8(a0)
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11
        sd      s\n, (16 + \n * 8)(a0)
        .endr
        ld      ra, 0(a1)
        ld      sp, 8(a1)
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11
        ld      s\n, (16 + \n * 8)(a1)
        .endr
        ret

        .section .bss.boot_stack, "aw", @nobits
        .align  12
        .space  8192
        .globl  boot_stack_top
boot_stack_top:
