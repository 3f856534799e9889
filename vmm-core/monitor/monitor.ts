// The trap-and-emulate layer: the one place where the privilege level changes (trap entry,
// mret, sret), the handlers for the sensitive instructions the interpreter hands over, the
// built-in SBI for direct boot, and exit accounting. It also tells the debugger about every
// trap and privilege change as it happens.

import {
  Csr, ExceptionCause, MENVCFG_HIGH_STCE, Mstatus, Privilege,
} from '../cpu/csr-numbers';
import { SINK_REGISTER, type Hart } from '../cpu/hart';
import type { SensitiveInstructionHandler } from '../cpu/interpreter';
import type { Mmu } from '../cpu/mmu';
import { Operation } from '../isa/operations';
import { csrExists, csrMinimumPrivilege, csrReadOnly, csrValue, CsrWriteEffect, readCsr, writeCsr } from './csr';
import { ExitCounters, ExitIndex } from './exits';
import type { SbiHandler } from './sbi';

/** What happened at a trap, as the debugger sees it. */
export interface TrapEvent {
  hartId: number;
  interrupt: boolean;
  /** Exception or interrupt code (without the interrupt bit). */
  code: number;
  tval: bigint;
  epc: bigint;
  from: Privilege;
  to: Privilege;
}

export interface PrivilegeChangeEvent {
  hartId: number;
  from: Privilege;
  to: Privilege;
  /** 'trap' (with the trap), 'mret' or 'sret'. */
  via: 'trap' | 'mret' | 'sret';
  trap?: TrapEvent;
}

/** Debugger hooks; each returns true to stop the machine before the next instruction. */
export interface MonitorObserver {
  onTrap(hart: Hart, event: TrapEvent): boolean;
  onPrivilegeChange(hart: Hart, event: PrivilegeChangeEvent): boolean;
}

/** What the monitor needs from the machine around it. */
export interface MonitorEnvironment {
  readonly harts: readonly Hart[];
  mmuOf(hart: Hart): Mmu;
  /** mtime now, as seen by `hart`. */
  mtime(hart: Hart): number;
  /** A trap into M-mode that no firmware can take (direct boot): an emulator error. */
  unhandledMachineTrap(hart: Hart, description: string): void;
  /** The debugger asked to stop: the run loop ends after the current instruction. */
  requestStop(hart: Hart): void;
}

export class Monitor implements SensitiveInstructionHandler {
  readonly exits = new ExitCounters();
  observer: MonitorObserver | null = null;
  /** Set for direct boot: ecalls from S-mode go to the built-in SBI. */
  sbi: SbiHandler | null = null;

  constructor(private readonly environment: MonitorEnvironment) {}

  // ---- traps ------------------------------------------------------------------------------

  raiseException(hart: Hart, cause: ExceptionCause, tvalLo: number, tvalHi: number): void {
    this.exits.countIndex(ExitIndex.Exception);
    this.deliverTrap(hart, false, cause, tvalLo, tvalHi);
  }

  /**
   * An instruction that does not decode, or whose extension (or FS) is off. QEMU's translator
   * raises these, and its icount charges the instruction: so does our virtual time.
   */
  illegalInstruction(hart: Hart, raw: number): void {
    hart.instructionsTrapped++;
    this.deliverIllegalInstruction(hart, raw);
  }

  private deliverIllegalInstruction(hart: Hart, raw: number): void {
    this.exits.countIndex(ExitIndex.IllegalInstruction);
    this.deliverTrap(hart, false, ExceptionCause.IllegalInstruction, raw, 0);
  }

  /**
   * Takes the highest-priority pending and enabled interrupt, if any. Returns true when one
   * was taken. Called between execution slices.
   */
  takePendingInterrupt(hart: Hart): boolean {
    const pending = hart.mip & hart.mie;
    if (pending === 0) return false;
    const privilege = hart.privilege;
    const machineEnabled = privilege < Privilege.Machine || (hart.mstatus & Mstatus.MIE) !== 0;
    const supervisorEnabled = privilege < Privilege.Supervisor || (privilege === Privilege.Supervisor && (hart.mstatus & Mstatus.SIE) !== 0);
    const toMachine = pending & ~hart.mideleg;
    const toSupervisor = pending & hart.mideleg;
    let selected = 0;
    if (machineEnabled && toMachine !== 0) selected = toMachine;
    else if (supervisorEnabled && toSupervisor !== 0) selected = toSupervisor;
    if (selected === 0) return false;
    // Priority: MEI, MSI, MTI, SEI, SSI, STI.
    for (const code of INTERRUPT_PRIORITY) {
      if ((selected & (1 << code)) !== 0) {
        this.exits.countIndex(ExitIndex.Interrupt);
        this.deliverTrap(hart, true, code, 0, 0);
        return true;
      }
    }
    return false;
  }

  private deliverTrap(hart: Hart, interrupt: boolean, code: number, tvalLo: number, tvalHi: number): void {
    const from = hart.privilege;
    const delegated = from <= Privilege.Supervisor && ((interrupt ? hart.mideleg : hart.medeleg) & (1 << code)) !== 0;
    const epcLo = hart.pcLo, epcHi = hart.pcHi;
    const causeHi = interrupt ? 0x80000000 | 0 : 0;
    let to: Privilege;
    if (delegated) {
      hart.scauseLo = code; hart.scauseHi = causeHi;
      hart.sepcLo = epcLo; hart.sepcHi = epcHi;
      hart.stvalLo = tvalLo; hart.stvalHi = tvalHi;
      let status = hart.mstatus;
      status = (status & ~Mstatus.SPIE) | ((status & Mstatus.SIE) !== 0 ? Mstatus.SPIE : 0);
      status &= ~Mstatus.SIE;
      status = (status & ~Mstatus.SPP) | (from === Privilege.Supervisor ? Mstatus.SPP : 0);
      hart.mstatus = status;
      to = Privilege.Supervisor;
      this.jumpToVector(hart, hart.stvecLo, hart.stvecHi, interrupt, code);
    } else {
      if (this.sbi !== null && hart.mtvecLo === 0 && hart.mtvecHi === 0) {
        this.environment.unhandledMachineTrap(hart, `${interrupt ? 'interrupt' : 'exception'} ${code} reached M-mode, which has no firmware in direct boot`);
      }
      hart.mcauseLo = code; hart.mcauseHi = causeHi;
      hart.mepcLo = epcLo; hart.mepcHi = epcHi;
      hart.mtvalLo = tvalLo; hart.mtvalHi = tvalHi;
      let status = hart.mstatus;
      status = (status & ~Mstatus.MPIE) | ((status & Mstatus.MIE) !== 0 ? Mstatus.MPIE : 0);
      status &= ~Mstatus.MIE;
      status = (status & ~Mstatus.MPP) | (from << Mstatus.MPP_SHIFT);
      hart.mstatus = status;
      to = Privilege.Machine;
      this.jumpToVector(hart, hart.mtvecLo, hart.mtvecHi, interrupt, code);
    }
    hart.privilege = to;
    hart.trapsTaken++;
    hart.waitingForInterrupt = false;
    hart.reservationAddress = -1;
    hart.exitRequested = true;
    this.environment.mmuOf(hart).flush();
    const observer = this.observer;
    if (observer !== null) {
      const event: TrapEvent = {
        hartId: hart.hartId, interrupt, code,
        tval: toBigInt(tvalLo, tvalHi), epc: toBigInt(epcLo, epcHi), from, to,
      };
      let stop = observer.onTrap(hart, event);
      if (from !== to) stop = observer.onPrivilegeChange(hart, { hartId: hart.hartId, from, to, via: 'trap', trap: event }) || stop;
      if (stop) this.environment.requestStop(hart);
    }
  }

  private jumpToVector(hart: Hart, vectorLo: number, vectorHi: number, interrupt: boolean, code: number): void {
    const base = vectorLo & ~3;
    const vectored = (vectorLo & 3) === 1 && interrupt;
    const targetLo = vectored ? (base + 4 * code) | 0 : base;
    hart.pcHi = (vectorHi + ((targetLo >>> 0) < (base >>> 0) ? 1 : 0)) | 0;
    hart.pcLo = targetLo;
  }

  // ---- returns ----------------------------------------------------------------------------

  mret(hart: Hart): void {
    this.exits.countIndex(ExitIndex.Mret);
    if (hart.privilege !== Privilege.Machine) return this.illegalCurrent(hart, 0x30200073);
    const status = hart.mstatus;
    const to = ((status >>> Mstatus.MPP_SHIFT) & 3) as Privilege;
    let next = (status & ~Mstatus.MIE) | ((status & Mstatus.MPIE) !== 0 ? Mstatus.MIE : 0);
    next |= Mstatus.MPIE;
    next &= ~Mstatus.MPP;
    if (to !== Privilege.Machine) next &= ~Mstatus.MPRV;
    hart.mstatus = next;
    hart.pcLo = hart.mepcLo;
    hart.pcHi = hart.mepcHi;
    this.changePrivilege(hart, to, 'mret');
  }

  sret(hart: Hart): void {
    this.exits.countIndex(ExitIndex.Sret);
    if (hart.privilege === Privilege.User || (hart.privilege === Privilege.Supervisor && (hart.mstatus & Mstatus.TSR) !== 0)) {
      return this.illegalCurrent(hart, 0x10200073);
    }
    const status = hart.mstatus;
    const to = (status & Mstatus.SPP) !== 0 ? Privilege.Supervisor : Privilege.User;
    let next = (status & ~Mstatus.SIE) | ((status & Mstatus.SPIE) !== 0 ? Mstatus.SIE : 0);
    next |= Mstatus.SPIE;
    next &= ~Mstatus.SPP;
    next &= ~Mstatus.MPRV;
    hart.mstatus = next;
    hart.pcLo = hart.sepcLo;
    hart.pcHi = hart.sepcHi;
    this.changePrivilege(hart, to, 'sret');
  }

  private changePrivilege(hart: Hart, to: Privilege, via: 'mret' | 'sret'): void {
    const from = hart.privilege;
    hart.privilege = to;
    hart.reservationAddress = -1;
    hart.exitRequested = true;
    this.environment.mmuOf(hart).flush();
    if (this.observer !== null && from !== to && this.observer.onPrivilegeChange(hart, { hartId: hart.hartId, from, to, via })) {
      this.environment.requestStop(hart);
    }
  }

  // ---- other sensitive instructions ----------------------------------------------------

  wfi(hart: Hart, length: number): void {
    this.exits.countIndex(ExitIndex.Wfi);
    if (hart.privilege === Privilege.User || (hart.privilege === Privilege.Supervisor && (hart.mstatus & Mstatus.TW) !== 0)) {
      return this.illegalCurrent(hart, 0x10500073);
    }
    advance(hart, length);
    // wfi returns as soon as any enabled interrupt is pending, even with global enables off.
    if ((hart.mip & hart.mie) === 0) hart.waitingForInterrupt = true;
    hart.exitRequested = true;
  }

  sfenceVma(hart: Hart, rs1: number, rs2: number, length: number): void {
    this.exits.countIndex(ExitIndex.SfenceVma);
    if (hart.privilege === Privilege.User || (hart.privilege === Privilege.Supervisor && (hart.mstatus & Mstatus.TVM) !== 0)) {
      return this.illegalCurrent(hart, 0x12000073 | (rs1 << 15) | (rs2 << 20));
    }
    // With an address, that page only (rs2's ASID is ignored: the TLBs keep no ASIDs).
    if (rs1 !== 0) this.environment.mmuOf(hart).flushPage(hart.registers[rs1 * 2], hart.registers[rs1 * 2 + 1]);
    else this.environment.mmuOf(hart).flush();
    advance(hart, length);
  }

  fenceI(hart: Hart, length: number): void {
    // Decoded instructions are cached by their bits, and stores into translated code already
    // dropped it (the translation tier's code pages), so there is nothing to invalidate.
    this.exits.countIndex(ExitIndex.FenceI);
    advance(hart, length);
  }

  ecall(hart: Hart): void {
    this.exits.countIndex(ExitIndex.Ecall);
    if (this.sbi !== null && hart.privilege === Privilege.Supervisor) {
      this.exits.countIndex(ExitIndex.Sbi);
      this.sbi.call(hart);
      // The SBI call retires like any instruction.
      hart.instructionsRetired++;
      advance(hart, 4);
      hart.exitRequested = true;
      return;
    }
    const cause = hart.privilege === Privilege.User ? ExceptionCause.EnvironmentCallFromUser
      : hart.privilege === Privilege.Supervisor ? ExceptionCause.EnvironmentCallFromSupervisor
        : ExceptionCause.EnvironmentCallFromMachine;
    // Raised by QEMU's translator: its icount charges the ecall (see Hart.instructionsTrapped).
    hart.instructionsTrapped++;
    this.deliverTrap(hart, false, cause, 0, 0);
  }

  ebreak(hart: Hart): void {
    this.exits.countIndex(ExitIndex.Ebreak);
    // QEMU 7.2 leaves mtval 0 for ebreak, and its icount charges the instruction.
    hart.instructionsTrapped++;
    this.deliverTrap(hart, false, ExceptionCause.Breakpoint, 0, 0);
  }

  csrInstruction(hart: Hart, operation: Operation, rd: number, rs1: number, csr: number, length: number): void {
    this.exits.countIndex(ExitIndex.Csr);
    const immediateForm = operation === Operation.Csrrwi || operation === Operation.Csrrsi || operation === Operation.Csrrci;
    const isWrite = operation === Operation.Csrrw || operation === Operation.Csrrwi;
    const writes = isWrite || rs1 !== 0;
    const raw = this.csrRaw(operation, rd, rs1, csr);
    if (!this.csrAccessible(hart, csr, writes)) return this.illegalCurrent(hart, raw);
    const x = hart.registers;
    const sourceLo = immediateForm ? rs1 : x[rs1 * 2];
    const sourceHi = immediateForm ? 0 : x[rs1 * 2 + 1];
    let oldLo = 0, oldHi = 0;
    if (!(isWrite && rd === 0)) {
      readCsr(hart, csr, this.environment.mtime(hart), true);
      oldLo = csrValue.lo;
      oldHi = csrValue.hi;
    }
    if (writes) {
      let newLo: number, newHi: number;
      if (isWrite) { newLo = sourceLo; newHi = sourceHi; }
      else if (operation === Operation.Csrrs || operation === Operation.Csrrsi) { newLo = oldLo | sourceLo; newHi = oldHi | sourceHi; }
      else { newLo = oldLo & ~sourceLo; newHi = oldHi & ~sourceHi; }
      const effect = writeCsr(hart, csr, newLo, newHi);
      if ((effect & CsrWriteEffect.FlushTranslation) !== 0) this.environment.mmuOf(hart).flush();
      else if ((effect & CsrWriteEffect.NarrowedDataAccess) !== 0) this.environment.mmuOf(hart).forgetRelaxedEntries();
      hart.exitRequested = true;
    }
    if (rd !== 0) {
      x[rd * 2] = oldLo;
      x[rd * 2 + 1] = oldHi;
    }
    advance(hart, length);
  }

  /** Existence, privilege, read-only, TVM, counter-enable, Sstc and FS rules. */
  private csrAccessible(hart: Hart, csr: number, writes: boolean): boolean {
    if (!csrExists(csr, hart.cpu)) return false;
    const privilege = hart.privilege;
    if (privilege < csrMinimumPrivilege(csr)) return false;
    if (writes && csrReadOnly(csr)) return false;
    if (csr === Csr.Satp && privilege === Privilege.Supervisor && (hart.mstatus & Mstatus.TVM) !== 0) return false;
    if (csr <= Csr.Fcsr && hart.floatDisabled) return false;
    // Below M, stimecmp needs mcounteren.TM and menvcfg.STCE (Sstc).
    if (csr === Csr.Stimecmp && privilege < Privilege.Machine &&
      ((hart.mcounteren & 2) === 0 || (hart.menvcfgHi & MENVCFG_HIGH_STCE) === 0)) return false;
    if (csr >= Csr.Cycle && csr <= Csr.HpmCounter31) {
      const bit = 1 << (csr - Csr.Cycle);
      if (privilege < Privilege.Machine && (hart.mcounteren & bit) === 0) return false;
      if (privilege === Privilege.User && (hart.scounteren & bit) === 0) return false;
    }
    return true;
  }

  private csrRaw(operation: Operation, rd: number, rs1: number, csr: number): number {
    const funct3 = operation === Operation.Csrrw ? 1 : operation === Operation.Csrrs ? 2 : operation === Operation.Csrrc ? 3
      : operation === Operation.Csrrwi ? 5 : operation === Operation.Csrrsi ? 6 : 7;
    return ((csr << 20) | (rs1 << 15) | (funct3 << 12) | ((rd === SINK_REGISTER ? 0 : rd) << 7) | 0x73) | 0;
  }

  /**
   * The instruction in flight turned out to be illegal (a CSR or privilege check while it
   * runs): undo its retirement and trap. QEMU makes these checks in helpers that restore its
   * icount, so the instruction takes no time either.
   */
  private illegalCurrent(hart: Hart, raw: number): void {
    hart.instructionsRetired--;
    this.deliverIllegalInstruction(hart, raw);
  }
}

const INTERRUPT_PRIORITY = [11, 3, 7, 9, 1, 5] as const;

function advance(hart: Hart, length: number): void {
  const next = (hart.pcLo + length) | 0;
  if ((next >>> 0) < (hart.pcLo >>> 0)) hart.pcHi = (hart.pcHi + 1) | 0;
  hart.pcLo = next;
}

function toBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
