/* vkernel user program: entry point and system call stubs (a7 = number, ecall). */
#include "../syscall.h"

        .text
        .globl  user_start
user_start:                     /* a0 = role, a1 = argument, sp = stack top (from the kernel) */
        call    user_main
        li      a7, SYS_EXIT    /* exit(user_main's result) */
        ecall
1:      j       1b

        .macro  syscall name, number
        .globl  \name
\name:
        li      a7, \number
        ecall
        ret
        .endm

        syscall write, SYS_WRITE
        syscall getpid, SYS_GETPID
        syscall yield, SYS_YIELD
        syscall sleep, SYS_SLEEP
        syscall exit, SYS_EXIT
        syscall spawn, SYS_SPAWN
        syscall wait, SYS_WAIT
        syscall disk_read, SYS_DISK_READ
        syscall disk_write, SYS_DISK_WRITE
        syscall disk_flush, SYS_DISK_FLUSH
        syscall disk_capacity, SYS_DISK_CAPACITY
        syscall uptime, SYS_UPTIME
