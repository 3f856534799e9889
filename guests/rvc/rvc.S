/* rvc: every RV64C instruction, written with explicit c.* mnemonics so each one really is
 * compressed.  u64 rvc_test(void) returns 0, or the number of the first failing check.
 * Results are compared using uncompressed instructions. */
        .option rvc
        .text

        /* CHK reg, value, id: fail with id unless reg == value (uses t6 = x31) */
        .macro CHK reg, val, id
        .option push
        .option norvc
        li      t6, \val
        beq     \reg, t6, 9f
        li      a0, \id
        j       rvc_fail
9:
        .option pop
        .endm

        .globl  rvc_test
        .align  2
rvc_test:
        .option push
        .option norvc
        addi    sp, sp, -128
        sd      ra, 120(sp)
        sd      s0, 112(sp)
        sd      s1, 104(sp)
        .option pop
        /* ---- c.li, c.lui, c.addi, c.addiw, c.addi16sp, c.addi4spn, c.nop ---- */
        c.li    a0, -32
        CHK     a0, -32, 1
        c.li    a1, 31
        CHK     a1, 31, 2
        c.lui   a2, 0xfffe0             /* nzimm = 0x20: sign-extended */
        CHK     a2, 0xfffffffffffe0000, 3
        c.lui   a3, 0x1f
        CHK     a3, 0x1f000, 4
        c.addi  a1, -1
        CHK     a1, 30, 5
        c.addi  a1, 31
        CHK     a1, 61, 6
        li      a4, 0x7fffffff
        c.addiw a4, 1
        CHK     a4, 0xffffffff80000000, 7
        li      a4, 0x100000005
        c.addiw a4, 0                   /* sext.w */
        CHK     a4, 5, 8
        mv      s1, sp
        c.addi16sp sp, -64
        sub     t0, s1, sp
        CHK     t0, 64, 9
        c.addi16sp sp, 64
        sub     t0, s1, sp
        CHK     t0, 0, 10
        c.addi4spn a5, sp, 1020
        sub     t0, a5, sp
        CHK     t0, 1020, 11
        c.addi4spn s0, sp, 8
        sub     t0, s0, sp
        CHK     t0, 8, 12
        c.nop
        /* ---- shifts and ALU ---- */
        li      a0, 0x8000000000000001
        c.srli  a0, 63
        CHK     a0, 1, 13
        li      a0, 0x8000000000000000
        c.srai  a0, 62
        CHK     a0, -2, 14
        li      a0, 0xff
        c.andi  a0, -16
        CHK     a0, 0xf0, 15
        li      a0, 3
        c.slli  a0, 62
        CHK     a0, 0xc000000000000000, 16
        li      a0, 10
        li      a1, 3
        c.sub   a0, a1
        CHK     a0, 7, 17
        li      a0, 0x0ff0
        li      a1, 0x00ff
        c.xor   a0, a1
        CHK     a0, 0x0f0f, 18
        li      a0, 0x0ff0
        c.or    a0, a1
        CHK     a0, 0x0fff, 19
        li      a0, 0x0ff0
        c.and   a0, a1
        CHK     a0, 0x00f0, 20
        li      a0, 0x80000000
        li      a1, 1
        c.subw  a0, a1
        CHK     a0, 0x7fffffff, 21
        li      a0, 0x7fffffff
        c.addw  a0, a1
        CHK     a0, 0xffffffff80000000, 22
        li      a0, 5
        li      a2, 7
        c.add   a0, a2
        CHK     a0, 12, 23
        c.mv    a3, a0
        CHK     a3, 12, 24
        /* ---- loads and stores, register-based ---- */
        la      s0, rvc_data
        c.lw    a0, 4(s0)
        CHK     a0, 0xffffffff89abcdef, 25
        c.ld    a1, 8(s0)
        CHK     a1, 0x1122334455667788, 26
        li      a2, 0x5a5a5a5a
        c.sw    a2, 16(s0)
        lw      t0, 16(s0)
        CHK     t0, 0x5a5a5a5a, 27
        li      a3, 0x0123456789abcdef
        c.sd    a3, 24(s0)
        ld      t0, 24(s0)
        CHK     t0, 0x0123456789abcdef, 28
        c.fld   fa0, 8(s0)
        fmv.x.d t0, fa0
        CHK     t0, 0x1122334455667788, 29
        c.fsd   fa0, 32(s0)
        ld      t0, 32(s0)
        CHK     t0, 0x1122334455667788, 30
        /* ---- loads and stores, sp-based ---- */
        li      t0, 0xfedcba9876543210
        sd      t0, 48(sp)
        c.lwsp  a4, 52(sp)
        CHK     a4, 0xfffffffffedcba98, 31
        c.ldsp  a5, 48(sp)
        CHK     a5, 0xfedcba9876543210, 32
        c.fldsp fa1, 48(sp)
        fmv.x.d t0, fa1
        CHK     t0, 0xfedcba9876543210, 33
        li      a4, 0x13579bdf
        c.swsp  a4, 56(sp)
        lwu     t0, 56(sp)
        CHK     t0, 0x13579bdf, 34
        c.sdsp  a5, 64(sp)
        ld      t0, 64(sp)
        CHK     t0, 0xfedcba9876543210, 35
        c.fsdsp fa0, 72(sp)
        ld      t0, 72(sp)
        CHK     t0, 0x1122334455667788, 36
        /* ---- control flow ---- */
        li      a0, 0
        c.j     1f
        li      a0, 99
1:      CHK     a0, 0, 37
        li      a1, 0
        c.beqz  a1, 2f
        li      a0, 98
2:      CHK     a0, 0, 38
        li      a1, 1
        c.beqz  a1, 3f                  /* not taken */
        li      a0, 5
3:      CHK     a0, 5, 39
        c.bnez  a1, 4f
        li      a0, 97
4:      CHK     a0, 5, 40
        li      a1, 0
        c.bnez  a1, 5f                  /* not taken */
        li      a0, 6
5:      CHK     a0, 6, 41
        la      a2, 6f
        c.jr    a2
        li      a0, 96
6:      CHK     a0, 6, 42
        la      a2, rvc_leaf
        c.jalr  a2                      /* ra = next instruction */
7:      CHK     a0, 77, 43
        la      t0, 7b
        sub     t0, a1, t0              /* rvc_leaf saw ra = 7b */
        CHK     t0, 0, 44
        /* c.ebreak: the trap handler skips it (2 bytes) and records cause 3 */
        call    arm_trap
        c.ebreak
        la      t0, tr
        lw      t1, 4(t0)               /* tr.count */
        CHK     t1, 1, 45
        ld      t1, 16(t0)              /* tr.cause */
        CHK     t1, 3, 46
        call    disarm_trap
        li      a0, 0
rvc_done:
        .option push
        .option norvc
        ld      ra, 120(sp)
        ld      s0, 112(sp)
        ld      s1, 104(sp)
        addi    sp, sp, 128
        ret
        .option pop
rvc_fail:
        j       rvc_done

        .align  2
rvc_leaf:
        c.li    a0, 0
        c.addi  a0, 7
        c.slli  a0, 0x3                 /* 56 */
        c.addi  a0, 21                  /* 77 */
        c.mv    a1, ra
        c.jr    ra

        .data
        .align  3
rvc_data:
        .word   0x01234567, 0x89abcdef
        .dword  0x1122334455667788
        .dword  0, 0, 0, 0
