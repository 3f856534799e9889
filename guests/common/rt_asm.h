/* Constants shared by assembly and C. */
#ifndef RT_ASM_H
#define RT_ASM_H
#define FRAME_SIZE 288
#define RT_ECALL_RETURN 0x52494e47   /* "RING": lower mode returns to run_mode's caller */
#define RT_ECALL_WHOAMI 0x574d4921   /* a0 := privilege mode the ecall came from */
#define MSTATUS_SIE   0x2
#define MSTATUS_MIE   0x8
#define MSTATUS_SPIE  0x20
#define MSTATUS_MPIE  0x80
#define MSTATUS_SPP   0x100
#define MSTATUS_MPP   0x1800
#define MSTATUS_FS    0x6000
#define MSTATUS_FS_INITIAL 0x2000
#define MSTATUS_FS_CLEAN   0x4000
#define MSTATUS_FS_DIRTY   0x6000
#define MSTATUS_MPRV  0x20000
#define MSTATUS_SUM   0x40000
#define MSTATUS_MXR   0x80000
#define MSTATUS_TVM   0x100000
#define MSTATUS_TW    0x200000
#define MSTATUS_TSR   0x400000
#define MSTATUS_SD    0x8000000000000000
#define UART0   0x10000000
#define FINISHER 0x100000
#define CLINT   0x2000000
#define PLIC    0xc000000
#endif
