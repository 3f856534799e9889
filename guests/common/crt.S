/* Ringside guest runtime: entry point, trap vectors, privilege-mode helpers.
 * Entered in M-mode on every hart at _start with a0 = hartid. */
#include "rt_asm.h"

        .section .text.init, "ax"
        .globl _start
_start:
        .option push
        .option norelax
        la      gp, __global_pointer$
        .option pop
        csrr    a0, mhartid
        /* sp = __stack_top - hartid * 16 KiB */
        la      sp, __stack_top
        slli    t0, a0, 14
        sub     sp, sp, t0
        /* M trap stack in mscratch, S trap stack in sscratch (4 KiB each per hart) */
        la      t1, __mtrap_stack_top
        slli    t0, a0, 12
        sub     t1, t1, t0
        csrw    mscratch, t1
        la      t1, __strap_stack_top
        sub     t1, t1, t0
        csrw    sscratch, t1
        la      t0, trap_entry
        csrw    mtvec, t0
        la      t0, strap_entry
        csrw    stvec, t0
        /* One PMP entry granting everything, so S/U code may run (tests may change it). */
        li      t0, -1
        csrw    pmpaddr0, t0
        li      t0, 0x1f            /* NAPOT, R W X */
        csrw    pmpcfg0, t0
        /* FPU on (FS = Initial) */
        li      t0, MSTATUS_FS_INITIAL
        csrs    mstatus, t0
        bnez    a0, 2f
        /* hart 0: clear .bss, then release the other harts */
        la      t0, __bss_start
        la      t1, __bss_end
1:      bgeu    t0, t1, 1f
        sd      zero, 0(t0)
        addi    t0, t0, 8
        j       1b
1:      fence
        la      t0, __boot_done
        li      t1, 1
        sw      t1, 0(t0)
        li      a0, 0
        call    main
        /* main returns 0 for pass, else a failure code */
        bnez    a0, 1f
        call    pass
1:      call    fail
2:      /* other harts: wait for hart 0's .bss clear, then secondary_main if the test has one */
        la      t0, __boot_done
3:      lw      t1, 0(t0)
        beqz    t1, 3b
        fence
        la      t0, secondary_main_ptr
        ld      t0, 0(t0)
        beqz    t0, park
        csrr    a0, mhartid
        jalr    t0
park:   wfi
        j       park

        .data
        .align 3
        .weak   secondary_main
secondary_main_ptr:
        .dword  secondary_main
        .globl  __boot_done
__boot_done:
        .word   0
        .word   0

/* ---------------------------------------------------------------------
 * Trap entry.  Frame layout (struct trap_frame in rt.h):
 *   x[0..31] at 8*i (x[2] = interrupted sp), cause 256, epc 264, tval 272, status 280
 * mscratch/sscratch hold the top of this hart's trap stack.
 * ------------------------------------------------------------------- */
        .macro SAVE_REGS scratch
        csrrw   sp, \scratch, sp
        addi    sp, sp, -FRAME_SIZE
        sd      x1, 8(sp)
        sd      x3, 24(sp)
        sd      x4, 32(sp)
        sd      x5, 40(sp)
        sd      x6, 48(sp)
        sd      x7, 56(sp)
        sd      x8, 64(sp)
        sd      x9, 72(sp)
        sd      x10, 80(sp)
        sd      x11, 88(sp)
        sd      x12, 96(sp)
        sd      x13, 104(sp)
        sd      x14, 112(sp)
        sd      x15, 120(sp)
        sd      x16, 128(sp)
        sd      x17, 136(sp)
        sd      x18, 144(sp)
        sd      x19, 152(sp)
        sd      x20, 160(sp)
        sd      x21, 168(sp)
        sd      x22, 176(sp)
        sd      x23, 184(sp)
        sd      x24, 192(sp)
        sd      x25, 200(sp)
        sd      x26, 208(sp)
        sd      x27, 216(sp)
        sd      x28, 224(sp)
        sd      x29, 232(sp)
        sd      x30, 240(sp)
        sd      x31, 248(sp)
        csrr    t0, \scratch
        sd      t0, 16(sp)
        addi    t0, sp, FRAME_SIZE
        csrw    \scratch, t0
        sd      zero, 0(sp)
        .endm

        .macro RESTORE_REGS
        ld      x1, 8(sp)
        ld      x3, 24(sp)
        ld      x4, 32(sp)
        ld      x5, 40(sp)
        ld      x6, 48(sp)
        ld      x7, 56(sp)
        ld      x8, 64(sp)
        ld      x9, 72(sp)
        ld      x10, 80(sp)
        ld      x11, 88(sp)
        ld      x12, 96(sp)
        ld      x13, 104(sp)
        ld      x14, 112(sp)
        ld      x15, 120(sp)
        ld      x16, 128(sp)
        ld      x17, 136(sp)
        ld      x18, 144(sp)
        ld      x19, 152(sp)
        ld      x20, 160(sp)
        ld      x21, 168(sp)
        ld      x22, 176(sp)
        ld      x23, 184(sp)
        ld      x24, 192(sp)
        ld      x25, 200(sp)
        ld      x26, 208(sp)
        ld      x27, 216(sp)
        ld      x28, 224(sp)
        ld      x29, 232(sp)
        ld      x30, 240(sp)
        ld      x31, 248(sp)
        ld      sp, 16(sp)
        .endm

        .text
        .align  6
        .globl  trap_entry
trap_entry:
        SAVE_REGS mscratch
        csrr    t0, mcause
        sd      t0, 256(sp)
        csrr    t0, mepc
        sd      t0, 264(sp)
        csrr    t0, mtval
        sd      t0, 272(sp)
        csrr    t0, mstatus
        sd      t0, 280(sp)
        mv      a0, sp
        call    handle_mtrap
        ld      t0, 264(sp)
        csrw    mepc, t0
        ld      t0, 280(sp)
        csrw    mstatus, t0
        RESTORE_REGS
        mret

        .align  6
        .globl  strap_entry
strap_entry:
        SAVE_REGS sscratch
        csrr    t0, scause
        sd      t0, 256(sp)
        csrr    t0, sepc
        sd      t0, 264(sp)
        csrr    t0, stval
        sd      t0, 272(sp)
        csrr    t0, sstatus
        sd      t0, 280(sp)
        mv      a0, sp
        call    handle_strap
        ld      t0, 264(sp)
        csrw    sepc, t0
        ld      t0, 280(sp)
        csrw    sstatus, t0
        RESTORE_REGS
        sret

/* Vectored tables: slot 0 (exceptions) goes straight to the handler; slot n>0 writes n into
 * mtval/stval first so a test can see which slot was taken. */
        .align  8
        .globl  mtvec_vectored
mtvec_vectored:
        .option push
        .option norvc
        j       trap_entry
        .irp n,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        j       mvec_\n
        .endr
        .option pop
        .irp n,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
mvec_\n:
        csrwi   mtval, \n
        j       trap_entry
        .endr

        .align  8
        .globl  stvec_vectored
stvec_vectored:
        .option push
        .option norvc
        j       strap_entry
        .irp n,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        j       svec_\n
        .endr
        .option pop
        .irp n,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
svec_\n:
        csrwi   stval, \n
        j       strap_entry
        .endr

/* uint64_t run_mode(uint64_t mode, uint64_t (*fn)(uint64_t), uint64_t arg)
 * From M-mode: run fn(arg) in `mode` (0 = U, 1 = S, 3 = M) via mret; when fn returns, its
 * value comes back here through an ecall with a7 = RT_ECALL_RETURN.  The lower mode uses
 * the stack below the current one. */
        .globl  run_mode
run_mode:
        addi    sp, sp, -112
        sd      ra, 0(sp)
        sd      s0, 8(sp)
        sd      s1, 16(sp)
        sd      s2, 24(sp)
        sd      s3, 32(sp)
        sd      s4, 40(sp)
        sd      s5, 48(sp)
        sd      s6, 56(sp)
        sd      s7, 64(sp)
        sd      s8, 72(sp)
        sd      s9, 80(sp)
        sd      s10, 88(sp)
        sd      s11, 96(sp)
        la      t0, rm_saved_sp
        csrr    t1, mhartid
        slli    t1, t1, 3
        add     t0, t0, t1
        sd      sp, 0(t0)
        li      t0, MSTATUS_MPP
        csrc    mstatus, t0
        slli    t1, a0, 11
        csrs    mstatus, t1
        csrw    mepc, a1
        mv      a0, a2
        la      ra, run_mode_exit
        addi    sp, sp, -256
        mret

        .globl  run_mode_exit
run_mode_exit:
        li      a7, RT_ECALL_RETURN
        ecall
1:      j       1b

/* u64 run_mode_active(void): non-zero while a run_mode call on this hart is waiting. */
        .globl  run_mode_active
run_mode_active:
        la      t0, rm_saved_sp
        csrr    t1, mhartid
        slli    t1, t1, 3
        add     t0, t0, t1
        ld      a0, 0(t0)
        ret

/* void run_mode_resume(uint64_t value): called by the M handler, never returns. */
        .globl  run_mode_resume
run_mode_resume:
        la      t0, rm_saved_sp
        csrr    t1, mhartid
        slli    t1, t1, 3
        add     t0, t0, t1
        ld      sp, 0(t0)
        sd      zero, 0(t0)         /* one resume per run_mode */
        li      a7, 0
        ld      ra, 0(sp)
        ld      s0, 8(sp)
        ld      s1, 16(sp)
        ld      s2, 24(sp)
        ld      s3, 32(sp)
        ld      s4, 40(sp)
        ld      s5, 48(sp)
        ld      s6, 56(sp)
        ld      s7, 64(sp)
        ld      s8, 72(sp)
        ld      s9, 80(sp)
        ld      s10, 88(sp)
        ld      s11, 96(sp)
        addi    sp, sp, 112
        ret

        .bss
        .align 3
rm_saved_sp:
        .space  8*4
