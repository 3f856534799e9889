/* vkernel system call numbers (a7), shared by the kernel (trap.c) and the user program
 * (user/usys.S).  Arguments in a0..a2, result in a0; -1 means the call was refused. */
#ifndef VKERNEL_SYSCALL_H
#define VKERNEL_SYSCALL_H

#define SYS_WRITE          1   /* (buffer, length) -> length: bytes to the console */
#define SYS_GETPID         2   /* () -> pid */
#define SYS_YIELD          3   /* () -> 0: give up the rest of the time slice */
#define SYS_SLEEP          4   /* (ticks) -> 0: sleep for that many timer ticks (1..1000) */
#define SYS_EXIT           5   /* (status): never returns */
#define SYS_SPAWN          6   /* (name, role, argument) -> pid of a new child process */
#define SYS_WAIT           7   /* (status pointer or 0) -> pid of a child that exited; -1: none */
#define SYS_DISK_READ      8   /* (sector, buffer, count 1..16) -> 0 */
#define SYS_DISK_WRITE     9   /* (sector, buffer, count 1..16) -> 0 */
#define SYS_DISK_FLUSH    10   /* () -> 0 */
#define SYS_DISK_CAPACITY 11   /* () -> size of the disk in 512-byte sectors */
#define SYS_UPTIME        12   /* () -> timer ticks since boot */

#endif
