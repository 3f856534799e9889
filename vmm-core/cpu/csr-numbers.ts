// CSR numbers and mstatus/mip bit positions used across cpu/ and monitor/.

export const enum Csr {
  Fflags = 0x001, Frm = 0x002, Fcsr = 0x003,
  Cycle = 0xc00, Time = 0xc01, Instret = 0xc02, HpmCounter3 = 0xc03, HpmCounter31 = 0xc1f,
  Sstatus = 0x100, Sie = 0x104, Stvec = 0x105, Scounteren = 0x106,
  Senvcfg = 0x10a,
  Sscratch = 0x140, Sepc = 0x141, Scause = 0x142, Stval = 0x143, Sip = 0x144, Stimecmp = 0x14d, Satp = 0x180,
  Mvendorid = 0xf11, Marchid = 0xf12, Mimpid = 0xf13, Mhartid = 0xf14, Mconfigptr = 0xf15,
  Mstatus = 0x300, Misa = 0x301, Medeleg = 0x302, Mideleg = 0x303, Mie = 0x304, Mtvec = 0x305,
  Mcounteren = 0x306, Menvcfg = 0x30a, Mcountinhibit = 0x320, MhpmEvent3 = 0x323, MhpmEvent31 = 0x33f,
  Mscratch = 0x340, Mepc = 0x341, Mcause = 0x342, Mtval = 0x343, Mip = 0x344,
  Pmpcfg0 = 0x3a0, Pmpcfg2 = 0x3a2, Pmpaddr0 = 0x3b0, Pmpaddr15 = 0x3bf,
  Tselect = 0x7a0, Tdata1 = 0x7a1, Tdata2 = 0x7a2, Tdata3 = 0x7a3, Tinfo = 0x7a4,
  Mcycle = 0xb00, Minstret = 0xb02, MhpmCounter3 = 0xb03, MhpmCounter31 = 0xb1f,
}

export const enum Mstatus {
  SIE = 1 << 1, MIE = 1 << 3, SPIE = 1 << 5, MPIE = 1 << 7, SPP = 1 << 8,
  MPP_SHIFT = 11, MPP = 3 << 11, FS_SHIFT = 13, FS = 3 << 13,
  MPRV = 1 << 17, SUM = 1 << 18, MXR = 1 << 19, TVM = 1 << 20, TW = 1 << 21, TSR = 1 << 22,
}

export const MSTATUS_WRITABLE =
  Mstatus.SIE | Mstatus.MIE | Mstatus.SPIE | Mstatus.MPIE | Mstatus.SPP | Mstatus.MPP | Mstatus.FS |
  Mstatus.MPRV | Mstatus.SUM | Mstatus.MXR | Mstatus.TVM | Mstatus.TW | Mstatus.TSR;
export const SSTATUS_VISIBLE = Mstatus.SIE | Mstatus.SPIE | Mstatus.SPP | Mstatus.FS | Mstatus.SUM | Mstatus.MXR;
/** mstatus bits 63:32: UXL = SXL = 2 (64-bit); SD (bit 63) is computed from FS. */
export const MSTATUS_HIGH_FIXED = 0x0000000a;

export const enum Privilege {
  User = 0,
  Supervisor = 1,
  Machine = 3,
}

export const enum ExceptionCause {
  InstructionAddressMisaligned = 0,
  InstructionAccessFault = 1,
  IllegalInstruction = 2,
  Breakpoint = 3,
  LoadAddressMisaligned = 4,
  LoadAccessFault = 5,
  StoreAddressMisaligned = 6,
  StoreAccessFault = 7,
  EnvironmentCallFromUser = 8,
  EnvironmentCallFromSupervisor = 9,
  EnvironmentCallFromMachine = 11,
  InstructionPageFault = 12,
  LoadPageFault = 13,
  StorePageFault = 15,
}

export const enum InterruptCause {
  SupervisorSoftware = 1,
  MachineSoftware = 3,
  SupervisorTimer = 5,
  MachineTimer = 7,
  SupervisorExternal = 9,
  MachineExternal = 11,
}

/** medeleg bits that can be set: every standard exception except ecall from M. */
export const DELEGABLE_EXCEPTIONS = 0xb3ff;
/** mideleg bits that can be set: the supervisor interrupts. */
export const DELEGABLE_INTERRUPTS = 0x222;
export const INTERRUPT_ENABLE_MASK = 0xaaa;
/** mip bits M-mode software can write (SEIP here is the software-set part). */
export const MIP_WRITABLE = 0x222;

/** misa bits 63:32: MXL = 64 (the extension letters come from the CPU model). */
export const MISA_HIGH = 0x80000000 | 0;

/**
 * menvcfg bits QEMU 7.2 lets M-mode write: FIOM, CBIE, CBCFE, CBZE (low word), PBMTE and STCE
 * (high word), whatever the extensions.
 */
export const MENVCFG_WRITABLE_LOW = 0xf1;
export const MENVCFG_HIGH_PBMTE = 1 << 30;
export const MENVCFG_HIGH_STCE = 1 << 31;
export const MENVCFG_WRITABLE_HIGH = MENVCFG_HIGH_PBMTE | MENVCFG_HIGH_STCE;
/** senvcfg bits QEMU 7.2 lets S-mode write: FIOM, CBIE, CBCFE, CBZE. */
export const SENVCFG_WRITABLE = 0xf1;

export const privilegeName = (privilege: number): 'U' | 'S' | 'M' =>
  privilege === Privilege.Machine ? 'M' : privilege === Privilege.Supervisor ? 'S' : 'U';
