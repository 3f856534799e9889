/* vkernel user program: system calls (usys.S) and helpers. */
#ifndef VKERNEL_USER_H
#define VKERNEL_USER_H
#include <stdint.h>

typedef uint64_t u64;
typedef int64_t i64;
typedef uint32_t u32;
typedef int32_t i32;
typedef uint8_t u8;

long write(const void *buffer, long length);
long getpid(void);
long yield(void);
long sleep(long ticks);
void exit(long status) __attribute__((noreturn));
long spawn(const char *name, long role, long argument);
long wait(i32 *status);
long disk_read(u64 sector, void *buffer, long count);
long disk_write(u64 sector, const void *buffer, long count);
long disk_flush(void);
long disk_capacity(void);
long uptime(void);

/* what a process does: user_main(role, argument) */
#define ROLE_INIT       0
#define ROLE_DISK       1       /* argument: worker number */
#define ROLE_COMPUTE    2
#define ROLE_HOSTCHECK  3

#endif
