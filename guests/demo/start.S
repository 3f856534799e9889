/* Ringside demo kernel: boot entry and trap entry points. */
        .section .text.init, "ax"
        .globl  _start
_start:
        csrr    t0, mhartid
        bnez    t0, park                /* only hart 0 runs the demo */
        .option push
        .option norelax
        la      gp, __global_pointer$
        .option pop
        la      sp, kstack_top
        /* clear .bss */
        la      t0, __bss_start
        la      t1, __bss_end
1:      bgeu    t0, t1, 2f
        sd      zero, 0(t0)
        addi    t0, t0, 8
        j       1b
2:      call    m_main                  /* M-mode setup; drops to S at kmain */
park:   wfi
        j       park

/* M-mode trap entry: the demo's M part only handles the timer and a few ecalls, so a
 * small frame with the caller-saved registers is enough (handlers are ordinary C). */
        .text
        .align  4
        .globl  m_trap_entry
m_trap_entry:
        csrrw   sp, mscratch, sp        /* mscratch = M stack top */
        addi    sp, sp, -144
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
        mv      a0, sp                  /* a0 = saved registers (a0 at +32) */
        call    m_trap
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
        addi    sp, sp, 144
        csrrw   sp, mscratch, sp
        mret

/* S-mode trap entry: traps only come from U-mode (the kernel runs with SIE = 0).
 * sscratch holds the top of the kernel trap stack; the whole user frame goes there. */
        .align  4
        .globl  s_trap_entry
s_trap_entry:
        csrrw   sp, sscratch, sp
        addi    sp, sp, -264
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
        csrr    t0, sscratch
        sd      t0, 16(sp)              /* user sp */
        addi    t0, sp, 264
        csrw    sscratch, t0
        csrr    t0, sepc
        sd      t0, 256(sp)
        .option push
        .option norelax
        la      gp, __global_pointer$
        .option pop
        mv      a0, sp
        call    s_trap                  /* may replace the frame with another task's */
        mv      a0, sp
        /* fall through */

/* void enter_user(struct frame *f): f must sit at trap_stack_top - 264 */
        .globl  enter_user
enter_user:
        mv      sp, a0
        ld      t0, 256(sp)
        csrw    sepc, t0
        li      t0, 0x100               /* sstatus.SPP = U */
        csrc    sstatus, t0
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
        sret

        .section .bss.stacks, "aw", @nobits
        .align  12
        .space  8192
        .globl  kstack_top
kstack_top:
        .space  4096
        .globl  mstack_top
mstack_top:
        .space  4096
        .globl  trap_stack_top
trap_stack_top:
