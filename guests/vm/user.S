/* U-mode code for the vm test: one page, mapped at a separate virtual address with U=1.
 * Each routine ends with the runtime's "return to M" ecall (no stack, no ra needed). */
#include "rt_asm.h"
        .section .text.user, "ax"
        .option norvc
        .balign 4096
        .globl  user_page
user_page:
        .globl  u_load
u_load:                         /* a0 = address -> a0 = 64-bit value */
        ld      a0, 0(a0)
        li      a7, RT_ECALL_RETURN
        ecall
        .globl  u_store
u_store:                        /* a0 = address; stores 0x77 */
        li      t0, 0x77
        sd      t0, 0(a0)
        li      a0, 1
        li      a7, RT_ECALL_RETURN
        ecall
        .globl  u_exec
u_exec:                         /* a0 = address to jump to; returns 2 via ra */
        la      ra, 1f
        jalr    ra, 0(a0)
1:      li      a0, 2
        li      a7, RT_ECALL_RETURN
        ecall
        .balign 4096
        .globl  user_page_end
user_page_end:
