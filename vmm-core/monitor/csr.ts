// CSR semantics: which CSRs exist, who may access them, what reads return and what writes do
// (WARL fields, side effects on translation and interrupts). The privilege checks live in
// Monitor.csrInstruction; this file is the register file behind it.

import { FULL_CPU_MODEL, type CpuModel } from '../cpu/cpu-model';
import {
  Csr, DELEGABLE_EXCEPTIONS, DELEGABLE_INTERRUPTS, INTERRUPT_ENABLE_MASK, InterruptCause, MENVCFG_HIGH_STCE,
  MENVCFG_WRITABLE_HIGH, MENVCFG_WRITABLE_LOW, MIP_WRITABLE, MISA_HIGH, MSTATUS_WRITABLE, Mstatus, Privilege,
  SENVCFG_WRITABLE, SSTATUS_VISIBLE,
} from '../cpu/csr-numbers';
import type { Hart } from '../cpu/hart';
import { TRIGGER_INFO } from '../cpu/triggers';

/** Result of a CSR read: lo/hi words. */
export const csrValue = { lo: 0, hi: 0 };

const TWO_POW_32 = 4294967296;
// Floor and subtract, exact for integers below 2^53: `%` on a double calls libc's fmod.
const split = (value: number) => {
  const high = Math.floor(value / TWO_POW_32);
  csrValue.lo = (value - high * TWO_POW_32) | 0;
  csrValue.hi = high | 0;
};

/**
 * Whether the CSR exists on a hart of CPU model `cpu` (by default: on any model, every
 * optional feature on, which is what tools listing CSRs want).
 */
export function csrExists(csr: number, cpu: CpuModel = FULL_CPU_MODEL): boolean {
  // With programmable counters (QEMU's pmu-num), those above them do not exist; without, all read zero.
  if (csr >= Csr.HpmCounter3 && csr <= Csr.HpmCounter31) return cpu.hpmCounters === 0 || csr - Csr.HpmCounter3 < cpu.hpmCounters;
  if (csr >= Csr.MhpmCounter3 && csr <= Csr.MhpmCounter31) return cpu.hpmCounters === 0 || csr - Csr.MhpmCounter3 < cpu.hpmCounters;
  if (csr >= Csr.MhpmEvent3 && csr <= Csr.MhpmEvent31) return true;
  if (csr >= Csr.Pmpaddr0 && csr <= Csr.Pmpaddr15) return true;
  switch (csr) {
    case Csr.Fflags: case Csr.Frm: case Csr.Fcsr: case Csr.Cycle: case Csr.Time: case Csr.Instret:
    case Csr.Sstatus: case Csr.Sie: case Csr.Stvec: case Csr.Scounteren: case Csr.Sscratch: case Csr.Sepc:
    case Csr.Scause: case Csr.Stval: case Csr.Sip: case Csr.Satp:
    case Csr.Mvendorid: case Csr.Marchid: case Csr.Mimpid: case Csr.Mhartid: case Csr.Mconfigptr:
    case Csr.Mstatus: case Csr.Misa: case Csr.Medeleg: case Csr.Mideleg: case Csr.Mie: case Csr.Mtvec:
    case Csr.Mcounteren: case Csr.Mcountinhibit: case Csr.Mscratch: case Csr.Mepc: case Csr.Mcause:
    case Csr.Mtval: case Csr.Mip: case Csr.Pmpcfg0: case Csr.Pmpcfg2: case Csr.Mcycle: case Csr.Minstret:
      return true;
    case Csr.Menvcfg: case Csr.Senvcfg:
      // OpenSBI probes menvcfg to learn the privileged-spec version: it must trap when absent.
      return cpu.envcfg;
    case Csr.Stimecmp:
      return cpu.sstc;
    case Csr.Tselect: case Csr.Tdata1: case Csr.Tdata2: case Csr.Tdata3: case Csr.Tinfo:
      return cpu.sdtrig;
    default:
      return false;
  }
}

/**
 * Reads a CSR into csrValue. `mtime` is the machine timer now. Inside an instruction the
 * current instruction is already counted as retired, but counter reads see the value before it.
 */
export function readCsr(hart: Hart, csr: number, mtime: number, insideInstruction = false): void {
  const current = insideInstruction ? 1 : 0;
  csrValue.lo = 0;
  csrValue.hi = 0;
  switch (csr) {
    case Csr.Fflags: csrValue.lo = hart.floatFlags; return;
    case Csr.Frm: csrValue.lo = hart.floatRoundingMode; return;
    case Csr.Fcsr: csrValue.lo = (hart.floatRoundingMode << 5) | hart.floatFlags; return;
    case Csr.Cycle: case Csr.Mcycle: split(hart.virtualNanoseconds - current * hart.nanosecondsPerInstruction + hart.cycleOffset); return;
    case Csr.Instret: case Csr.Minstret: split(hart.instructionsRetired - current + hart.instretOffset); return;
    case Csr.Time: split(mtime); return;
    case Csr.Sstatus:
      csrValue.lo = hart.mstatus & SSTATUS_VISIBLE;
      csrValue.hi = hart.mstatusHigh & (0x80000000 | 0x3);
      return;
    case Csr.Sie: csrValue.lo = hart.mie & hart.mideleg; return;
    case Csr.Sip: csrValue.lo = hart.mip & hart.mideleg; return;
    case Csr.Stvec: csrValue.lo = hart.stvecLo; csrValue.hi = hart.stvecHi; return;
    case Csr.Scounteren: csrValue.lo = hart.scounteren; return;
    case Csr.Sscratch: csrValue.lo = hart.sscratchLo; csrValue.hi = hart.sscratchHi; return;
    case Csr.Sepc: csrValue.lo = hart.sepcLo; csrValue.hi = hart.sepcHi; return;
    case Csr.Scause: csrValue.lo = hart.scauseLo; csrValue.hi = hart.scauseHi; return;
    case Csr.Stval: csrValue.lo = hart.stvalLo; csrValue.hi = hart.stvalHi; return;
    case Csr.Satp: csrValue.lo = hart.satpLo; csrValue.hi = hart.satpHi; return;
    case Csr.Mhartid: csrValue.lo = hart.hartId; return;
    case Csr.Mstatus: csrValue.lo = hart.mstatus; csrValue.hi = hart.mstatusHigh; return;
    case Csr.Misa: csrValue.lo = hart.cpu.misaLow; csrValue.hi = MISA_HIGH; return;
    case Csr.Menvcfg: csrValue.lo = hart.menvcfgLo; csrValue.hi = hart.menvcfgHi; return;
    case Csr.Senvcfg: csrValue.lo = hart.senvcfg; return;
    case Csr.Stimecmp: csrValue.lo = hart.stimecmpLo; csrValue.hi = hart.stimecmpHi; return;
    case Csr.Tselect: csrValue.lo = hart.triggers.selected; return;
    case Csr.Tdata1:
      csrValue.lo = hart.triggers.controlLo[hart.triggers.selected];
      csrValue.hi = hart.triggers.controlHi[hart.triggers.selected];
      return;
    case Csr.Tdata2:
      csrValue.lo = hart.triggers.addressLo[hart.triggers.selected];
      csrValue.hi = hart.triggers.addressHi[hart.triggers.selected];
      return;
    case Csr.Tinfo: csrValue.lo = TRIGGER_INFO; return;
    case Csr.Medeleg: csrValue.lo = hart.medeleg; return;
    case Csr.Mideleg: csrValue.lo = hart.mideleg; return;
    case Csr.Mie: csrValue.lo = hart.mie; return;
    case Csr.Mip: csrValue.lo = hart.mip; return;
    case Csr.Mtvec: csrValue.lo = hart.mtvecLo; csrValue.hi = hart.mtvecHi; return;
    case Csr.Mcounteren: csrValue.lo = hart.mcounteren; return;
    case Csr.Mcountinhibit: csrValue.lo = hart.mcountinhibit; return;
    case Csr.Mscratch: csrValue.lo = hart.mscratchLo; csrValue.hi = hart.mscratchHi; return;
    case Csr.Mepc: csrValue.lo = hart.mepcLo; csrValue.hi = hart.mepcHi; return;
    case Csr.Mcause: csrValue.lo = hart.mcauseLo; csrValue.hi = hart.mcauseHi; return;
    case Csr.Mtval: csrValue.lo = hart.mtvalLo; csrValue.hi = hart.mtvalHi; return;
    case Csr.Pmpcfg0: case Csr.Pmpcfg2: {
      const first = csr === Csr.Pmpcfg0 ? 0 : 8;
      const c = hart.pmp.config;
      csrValue.lo = c[first] | (c[first + 1] << 8) | (c[first + 2] << 16) | (c[first + 3] << 24);
      csrValue.hi = c[first + 4] | (c[first + 5] << 8) | (c[first + 6] << 16) | (c[first + 7] << 24);
      return;
    }
    default:
      if (csr >= Csr.Pmpaddr0 && csr <= Csr.Pmpaddr15) {
        csrValue.lo = hart.pmp.addressLow[csr - Csr.Pmpaddr0];
        csrValue.hi = hart.pmp.addressHigh[csr - Csr.Pmpaddr0];
      } else if (hart.cpu.hpmCounters > 0) {
        // Counters and events hold what was written (csrExists has ruled out missing counters).
        const counter = csr >= Csr.MhpmCounter3 && csr <= Csr.MhpmCounter31 ? csr - Csr.MhpmCounter3
          : csr >= Csr.HpmCounter3 && csr <= Csr.HpmCounter31 ? csr - Csr.HpmCounter3 : -1;
        if (counter >= 0) {
          csrValue.lo = hart.hpmCounterLo[counter];
          csrValue.hi = hart.hpmCounterHi[counter];
        } else if (csr >= Csr.MhpmEvent3 && csr <= Csr.MhpmEvent31) {
          csrValue.lo = hart.hpmEventLo[csr - Csr.MhpmEvent3];
          csrValue.hi = hart.hpmEventHi[csr - Csr.MhpmEvent3];
        }
      }
      // mvendorid, marchid, mimpid, mconfigptr, tdata3 (and without programmable counters, hpm counters and events) read as zero.
      return;
  }
}

export const enum CsrWriteEffect {
  None = 0,
  /** Translation or PMP changed: flush the TLBs. */
  FlushTranslation = 1,
  /** Interrupt enables or pending bits changed: sample interrupts. */
  InterruptsChanged = 2,
  /**
   * mstatus.SUM or MXR went from 1 to 0: drop the data-TLB entries only they allowed (Linux
   * clears SUM after every user copy; a full flush there cost thousands of walks per boot).
   */
  NarrowedDataAccess = 4,
}

/** Writes a CSR (already checked for existence, privilege and read-only). Returns effects. */
export function writeCsr(hart: Hart, csr: number, lo: number, hi: number): number {
  switch (csr) {
    case Csr.Fflags: hart.floatFlags = lo & 0x1f; hart.mstatus |= Mstatus.FS; return CsrWriteEffect.None;
    case Csr.Frm: hart.floatRoundingMode = lo & 7; hart.mstatus |= Mstatus.FS; return CsrWriteEffect.None;
    case Csr.Fcsr:
      hart.floatFlags = lo & 0x1f;
      hart.floatRoundingMode = (lo >>> 5) & 7;
      hart.mstatus |= Mstatus.FS;
      return CsrWriteEffect.None;
    case Csr.Mcycle: hart.cycleOffset = toDouble(lo, hi) - hart.virtualNanoseconds; return CsrWriteEffect.None;
    case Csr.Minstret:
      // The write replaces this instruction's own increment, which is already counted.
      hart.instretOffset = toDouble(lo, hi) - hart.instructionsRetired;
      return CsrWriteEffect.None;
    case Csr.Sstatus:
      return writeMstatus(hart, (hart.mstatus & ~SSTATUS_VISIBLE) | (lo & SSTATUS_VISIBLE));
    case Csr.Mstatus:
      return writeMstatus(hart, lo);
    case Csr.Sie: {
      const mask = hart.mideleg & INTERRUPT_ENABLE_MASK;
      hart.mie = (hart.mie & ~mask) | (lo & mask);
      return CsrWriteEffect.InterruptsChanged;
    }
    case Csr.Sip: {
      // Only SSIP is writable from S, and only when delegated.
      const mask = hart.mideleg & 0x2;
      hart.mipSoftware = (hart.mipSoftware & ~mask) | (lo & mask);
      return CsrWriteEffect.InterruptsChanged;
    }
    case Csr.Stvec: if ((lo & 3) < 2) { hart.stvecLo = lo; hart.stvecHi = hi; } return CsrWriteEffect.None;
    case Csr.Scounteren: hart.scounteren = lo & counterEnableMask(hart); return CsrWriteEffect.None;
    case Csr.Sscratch: hart.sscratchLo = lo; hart.sscratchHi = hi; return CsrWriteEffect.None;
    case Csr.Sepc: hart.sepcLo = lo & ~1; hart.sepcHi = hi; return CsrWriteEffect.None;
    case Csr.Scause: hart.scauseLo = lo; hart.scauseHi = hi; return CsrWriteEffect.None;
    case Csr.Stval: hart.stvalLo = lo; hart.stvalHi = hi; return CsrWriteEffect.None;
    case Csr.Satp: {
      const mode = hi >>> 28;
      // WARL: a mode we do not implement leaves satp unchanged (Linux probes Sv57 and Sv48 this way).
      if (mode !== 0 && mode !== 8 && mode !== 9 && !(mode === 10 && hart.cpu.sv57)) return CsrWriteEffect.None;
      hart.satpLo = lo;
      hart.satpHi = hi;
      return CsrWriteEffect.FlushTranslation;
    }
    case Csr.Misa: return CsrWriteEffect.None;
    case Csr.Medeleg: hart.medeleg = lo & DELEGABLE_EXCEPTIONS; return CsrWriteEffect.None;
    case Csr.Mideleg: hart.mideleg = lo & DELEGABLE_INTERRUPTS; return CsrWriteEffect.InterruptsChanged;
    case Csr.Mie: hart.mie = lo & INTERRUPT_ENABLE_MASK; return CsrWriteEffect.InterruptsChanged;
    case Csr.Mip: {
      // With Sstc enabled (menvcfg.STCE), STIP follows stimecmp and is read-only here.
      const writable = supervisorTimerCompareEnabled(hart) ? MIP_WRITABLE & ~STIP : MIP_WRITABLE;
      hart.mipSoftware = (hart.mipSoftware & ~writable) | (lo & writable);
      return CsrWriteEffect.InterruptsChanged;
    }
    case Csr.Menvcfg: {
      const high = (hart.menvcfgHi & ~MENVCFG_WRITABLE_HIGH) | (hi & MENVCFG_WRITABLE_HIGH);
      hart.menvcfgLo = (hart.menvcfgLo & ~MENVCFG_WRITABLE_LOW) | (lo & MENVCFG_WRITABLE_LOW);
      hart.menvcfgHi = high;
      // STIP now comes from the comparator alone: a value M-mode software left in it goes.
      if (supervisorTimerCompareEnabled(hart)) hart.mipSoftware &= ~STIP;
      // PBMTE changes translation; STCE changes STIP.
      return CsrWriteEffect.FlushTranslation | CsrWriteEffect.InterruptsChanged;
    }
    case Csr.Senvcfg: hart.senvcfg = (hart.senvcfg & ~SENVCFG_WRITABLE) | (lo & SENVCFG_WRITABLE); return CsrWriteEffect.None;
    case Csr.Stimecmp:
      hart.stimecmpLo = lo;
      hart.stimecmpHi = hi;
      hart.stimecmp = toDouble(lo, hi);
      hart.stimecmpWritten = true;
      return CsrWriteEffect.InterruptsChanged;
    case Csr.Tselect: hart.triggers.select(lo, hi); return CsrWriteEffect.None;
    // A trigger's pages must leave the TLBs (or may enter them again).
    case Csr.Tdata1: hart.triggers.writeControl(lo, hi); return CsrWriteEffect.FlushTranslation;
    case Csr.Tdata2: hart.triggers.writeAddress(lo, hi); return CsrWriteEffect.FlushTranslation;
    case Csr.Mtvec: if ((lo & 3) < 2) { hart.mtvecLo = lo; hart.mtvecHi = hi; } return CsrWriteEffect.None;
    case Csr.Mcounteren: hart.mcounteren = lo & counterEnableMask(hart); return CsrWriteEffect.None;
    case Csr.Mcountinhibit: hart.mcountinhibit = lo & ~2; return CsrWriteEffect.None;
    case Csr.Mscratch: hart.mscratchLo = lo; hart.mscratchHi = hi; return CsrWriteEffect.None;
    case Csr.Mepc: hart.mepcLo = lo & ~1; hart.mepcHi = hi; return CsrWriteEffect.None;
    case Csr.Mcause: hart.mcauseLo = lo; hart.mcauseHi = hi; return CsrWriteEffect.None;
    case Csr.Mtval: hart.mtvalLo = lo; hart.mtvalHi = hi; return CsrWriteEffect.None;
    case Csr.Pmpcfg0: case Csr.Pmpcfg2: {
      const first = csr === Csr.Pmpcfg0 ? 0 : 8;
      for (let i = 0; i < 8; i++) hart.pmp.writeConfig(first + i, ((i < 4 ? lo : hi) >>> (8 * (i & 3))) & 0xff);
      hart.pmp.rebuild();
      return CsrWriteEffect.FlushTranslation;
    }
    default:
      if (csr >= Csr.Pmpaddr0 && csr <= Csr.Pmpaddr15) {
        hart.pmp.writeAddress(csr - Csr.Pmpaddr0, lo, hi);
        hart.pmp.rebuild();
        return CsrWriteEffect.FlushTranslation;
      }
      if (hart.cpu.hpmCounters > 0) {
        if (csr >= Csr.MhpmCounter3 && csr <= Csr.MhpmCounter31) {
          hart.hpmCounterLo[csr - Csr.MhpmCounter3] = lo;
          hart.hpmCounterHi[csr - Csr.MhpmCounter3] = hi;
        } else if (csr >= Csr.MhpmEvent3 && csr <= Csr.MhpmEvent31) {
          hart.hpmEventLo[csr - Csr.MhpmEvent3] = lo;
          hart.hpmEventHi[csr - Csr.MhpmEvent3] = hi;
        }
      }
      return CsrWriteEffect.None;
  }
}

const STIP = 1 << InterruptCause.SupervisorTimer;

/** mcounteren/scounteren: QEMU 7.2 keeps all 32 bits; plain RV64GC only CY, TM and IR. */
function counterEnableMask(hart: Hart): number {
  return hart.cpu.hpmCounters > 0 ? -1 : 7;
}

function supervisorTimerCompareEnabled(hart: Hart): boolean {
  return hart.cpu.sstc && (hart.menvcfgHi & MENVCFG_HIGH_STCE) !== 0;
}

function writeMstatus(hart: Hart, value: number): number {
  let next = (hart.mstatus & ~MSTATUS_WRITABLE) | (value & MSTATUS_WRITABLE);
  // MPP is WARL: 2 (reserved) keeps the previous value.
  if (((next >>> Mstatus.MPP_SHIFT) & 3) === 2) next = (next & ~Mstatus.MPP) | (hart.mstatus & Mstatus.MPP);
  const changed = hart.mstatus ^ next;
  // MPRV and MPP pick the privilege of M-mode data accesses: everything goes. SUM and MXR only
  // widen what S-mode may access when set (cached entries stay right); cleared, they narrow it.
  let effect = CsrWriteEffect.InterruptsChanged;
  if ((changed & (Mstatus.MPRV | Mstatus.MPP)) !== 0) effect |= CsrWriteEffect.FlushTranslation;
  else if ((changed & hart.mstatus & (Mstatus.SUM | Mstatus.MXR)) !== 0) effect |= CsrWriteEffect.NarrowedDataAccess;
  hart.mstatus = next;
  return effect;
}

function toDouble(lo: number, hi: number): number {
  return (hi >>> 0) * TWO_POW_32 + (lo >>> 0);
}

/** Lowest privilege allowed to access the CSR (bits 9:8), and whether it is read-only (bits 11:10 = 3). */
export const csrMinimumPrivilege = (csr: number): number => (csr >>> 8) & 3;
export const csrReadOnly = (csr: number): boolean => ((csr >>> 10) & 3) === 3;
export { Privilege };
