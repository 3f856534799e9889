// Architectural state of one hart: integer and FP registers as Int32 lo/hi pairs over one
// buffer, pc, privilege, the CSR storage and the CPU model it implements. Behaviour lives in
// interpreter.ts (unprivileged instructions), mmu.ts (translation) and monitor/ (traps,
// privilege changes, CSR rules).

import { DEFAULT_CPU_MODEL, type CpuModel } from './cpu-model';
import { MENVCFG_HIGH_STCE, MSTATUS_HIGH_FIXED, Mstatus, Privilege } from './csr-numbers';
import { bytesOf, SnapshotError, type StateReader, type StateRecord } from '../machine/state';
import { PhysicalMemoryProtection } from './pmp';
import { DebugTriggers } from './triggers';

/** Integer register pairs: x0..x31 at 2i/2i+1, plus a sink pair at 64/65 that writes to x0 go to. */
export const SINK_REGISTER = 32;
export const REGISTER_PAIRS = 33;
/** Byte offset of the LR reservation in a hart's register storage (after the registers). */
export const RESERVATION_OFFSET = REGISTER_PAIRS * 8;
/** Bytes of register storage a hart needs: the registers and the reservation. */
export const HART_STORAGE_BYTES = RESERVATION_OFFSET + 8;

/** The CSRs and pc kept as 32-bit words (saved and restored by name). */
const HART_WORD_FIELDS = [
  'pcLo', 'pcHi', 'mstatus', 'medeleg', 'mideleg', 'mie', 'mipSoftware', 'mipHardware',
  'mtvecLo', 'mtvecHi', 'stvecLo', 'stvecHi', 'mepcLo', 'mepcHi', 'sepcLo', 'sepcHi',
  'mcauseLo', 'mcauseHi', 'scauseLo', 'scauseHi', 'mtvalLo', 'mtvalHi', 'stvalLo', 'stvalHi',
  'mscratchLo', 'mscratchHi', 'sscratchLo', 'sscratchHi', 'satpLo', 'satpHi',
  'mcounteren', 'scounteren', 'mcountinhibit', 'floatFlags', 'floatRoundingMode',
  'menvcfgLo', 'menvcfgHi', 'senvcfg', 'stimecmpLo', 'stimecmpHi',
] as const;

export class Hart {
  /** x registers, lo word at 2i, hi word at 2i+1; x0 always reads 0. */
  readonly registers: Int32Array;
  /** The same buffer as signed 64-bit values, for the rare wide operations. */
  readonly registersWide: BigInt64Array;
  /** f registers as raw bits, lo word at 2i, hi word at 2i+1. */
  readonly floatBits: Int32Array;
  /** The same buffer as doubles (D values) and singles (index 2i is the low word of f[i]). */
  readonly floatDoubles: Float64Array;
  readonly floatSingles: Float32Array;

  pcLo = 0;
  pcHi = 0;
  privilege: Privilege = Privilege.Machine;
  /** Set by wfi; cleared when an enabled interrupt becomes pending. */
  waitingForInterrupt = false;
  /** Ends the current execution slice after this instruction (traps, device accesses, stops). */
  exitRequested = false;

  // CSRs: 64-bit ones as lo/hi numbers (int32).
  mstatus = 0;
  medeleg = 0;
  mideleg = 0;
  mie = 0;
  /** mip bits set by software (SSIP, STIP, SEIP). */
  mipSoftware = 0;
  /** mip bits driven by devices (MSIP, MTIP from CLINT; MEIP, SEIP from PLIC). */
  mipHardware = 0;
  mtvecLo = 0; mtvecHi = 0;
  stvecLo = 0; stvecHi = 0;
  mepcLo = 0; mepcHi = 0;
  sepcLo = 0; sepcHi = 0;
  mcauseLo = 0; mcauseHi = 0;
  scauseLo = 0; scauseHi = 0;
  mtvalLo = 0; mtvalHi = 0;
  stvalLo = 0; stvalHi = 0;
  mscratchLo = 0; mscratchHi = 0;
  sscratchLo = 0; sscratchHi = 0;
  satpLo = 0; satpHi = 0;
  mcounteren = 0;
  scounteren = 0;
  mcountinhibit = 0;
  /** mhpmcounter3..31 and mhpmevent3..31 (index 0 is number 3) as written; see CpuModel.hpmCounters. */
  readonly hpmCounterLo = new Int32Array(29);
  readonly hpmCounterHi = new Int32Array(29);
  readonly hpmEventLo = new Int32Array(29);
  readonly hpmEventHi = new Int32Array(29);
  floatFlags = 0;
  floatRoundingMode = 0;
  readonly pmp = new PhysicalMemoryProtection();
  /** menvcfg (privileged spec 1.12): FIOM, CBIE, CBCFE, CBZE low; PBMTE, STCE high. */
  menvcfgLo = 0; menvcfgHi = 0;
  senvcfg = 0;
  /** Sstc's stimecmp as written, and as a number of mtime ticks (exact below 2^53). */
  stimecmpLo = 0; stimecmpHi = 0;
  stimecmp = 0;
  /**
   * stimecmp was written since reset. QEMU 7.2 raises STIP only when stimecmp is written or its
   * timer expires, so the reset value 0 never makes STIP pending by itself; neither does it here.
   */
  stimecmpWritten = false;
  /** Sdtrig: tselect, tdata1..3 (only with the model's sdtrig). */
  readonly triggers = new DebugTriggers();

  /** Retired instructions (minstret). A double, exact below 2^53. */
  instructionsRetired = 0;
  /** Traps taken (exceptions and interrupts): an instruction that traps does not retire, so tools count these apart. */
  trapsTaken = 0;
  /**
   * Instructions that raised ecall, ebreak or an illegal-instruction exception at decode (an
   * unknown opcode, an extension or FS off). They do not retire (minstret leaves them out, as
   * the spec says), but each takes its time like a retired one, as in QEMU 7.2's -icount:
   * QEMU's translator raises these and charges the instruction, so ecalls to firmware would
   * otherwise leave Ringside's clock behind QEMU's. Exceptions QEMU raises while an instruction
   * runs (load/store faults, CSR and privilege checks, triggers) restore its count, and here
   * they take no time either; nor do fetch faults and interrupts.
   */
  instructionsTrapped = 0;
  /** Virtual time spent waiting in wfi, in ns. */
  idleNanoseconds = 0;
  /** Virtual ns one retired instruction takes: 2^shift (QEMU's `-icount shift=N`), set by the machine. */
  nanosecondsPerInstruction = 1;
  /** Offsets written through the minstret / mcycle CSRs. */
  instretOffset = 0;
  cycleOffset = 0;

  /**
   * The LR reservation as a 64-bit word {lo, hi} right after the registers (where translated
   * code reads and writes it too): a physical address, or -1 when none.
   */
  private readonly reservation: Int32Array;

  /** LR reservation: physical address, or -1 when none. */
  get reservationAddress(): number {
    const high = this.reservation[1];
    return high < 0 ? -1 : high * 4294967296 + (this.reservation[0] >>> 0);
  }

  set reservationAddress(address: number) {
    if (address < 0) {
      this.reservation[0] = this.reservation[1] = -1;
    } else {
      this.reservation[0] = address >>> 0;
      this.reservation[1] = Math.floor(address / 4294967296);
    }
  }

  /**
   * `registerStorage` places the x registers in a given buffer (the translation tier's Wasm
   * memory, where translated code reads them as i64s); by default they get a buffer of their own.
   */
  constructor(
    readonly hartId: number,
    readonly cpu: CpuModel = DEFAULT_CPU_MODEL,
    registerStorage?: { readonly buffer: SharedArrayBuffer; readonly byteOffset: number },
  ) {
    const buffer = registerStorage?.buffer ?? new SharedArrayBuffer(HART_STORAGE_BYTES);
    const byteOffset = registerStorage?.byteOffset ?? 0;
    this.registers = new Int32Array(buffer, byteOffset, REGISTER_PAIRS * 2);
    this.reservation = new Int32Array(buffer, byteOffset + RESERVATION_OFFSET, 2);
    this.reservation[0] = this.reservation[1] = -1;
    this.registersWide = new BigInt64Array(buffer, byteOffset, REGISTER_PAIRS);
    const floatBuffer = new SharedArrayBuffer(32 * 8);
    this.floatBits = new Int32Array(floatBuffer);
    this.floatDoubles = new Float64Array(floatBuffer);
    this.floatSingles = new Float32Array(floatBuffer);
    // Give the field that later holds numbers beyond 31 bits (a timer tick) its double
    // representation now: widening it mid-run changes every hart's hidden class and
    // deoptimizes each compiled function that touches one (seen profiling Linux's boot).
    this.stimecmp = 2 ** 53;
    this.stimecmp = 0;
  }

  /** Architectural reset: M-mode, pc at `resetVector`, CSRs cleared. Registers other than a0/a1 are zeroed. */
  reset(resetVectorLo: number, resetVectorHi = 0): void {
    this.registers.fill(0);
    this.floatBits.fill(0);
    this.pcLo = resetVectorLo | 0;
    this.pcHi = resetVectorHi | 0;
    this.privilege = Privilege.Machine;
    this.waitingForInterrupt = false;
    this.mstatus = 0;
    this.medeleg = this.mideleg = this.mie = this.mipSoftware = 0;
    this.mtvecLo = this.mtvecHi = this.stvecLo = this.stvecHi = 0;
    this.mepcLo = this.mepcHi = this.sepcLo = this.sepcHi = 0;
    this.mcauseLo = this.mcauseHi = this.scauseLo = this.scauseHi = 0;
    this.mtvalLo = this.mtvalHi = this.stvalLo = this.stvalHi = 0;
    this.mscratchLo = this.mscratchHi = this.sscratchLo = this.sscratchHi = 0;
    this.satpLo = this.satpHi = 0;
    this.mcounteren = this.scounteren = this.mcountinhibit = 0;
    this.hpmCounterLo.fill(0);
    this.hpmCounterHi.fill(0);
    this.hpmEventLo.fill(0);
    this.hpmEventHi.fill(0);
    this.floatFlags = this.floatRoundingMode = 0;
    this.pmp.reset();
    this.menvcfgLo = this.menvcfgHi = this.senvcfg = 0;
    this.stimecmpLo = this.stimecmpHi = this.stimecmp = 0;
    this.stimecmpWritten = false;
    this.triggers.reset();
    this.reservationAddress = -1;
  }

  /**
   * Everything architectural and the clock counters, for snapshots (not `exitRequested`: a
   * snapshot is taken between slices; not the CPU model or the icount scale: configuration).
   */
  saveState(): StateRecord {
    const words: Record<string, number> = {};
    for (const key of HART_WORD_FIELDS) words[key] = this[key];
    return {
      ...words,
      privilege: this.privilege,
      waitingForInterrupt: this.waitingForInterrupt,
      stimecmp: this.stimecmp,
      stimecmpWritten: this.stimecmpWritten,
      instructionsRetired: this.instructionsRetired,
      instructionsTrapped: this.instructionsTrapped,
      trapsTaken: this.trapsTaken,
      idleNanoseconds: this.idleNanoseconds,
      instretOffset: this.instretOffset,
      cycleOffset: this.cycleOffset,
      reservation: this.reservationAddress,
      // The sink pair (x0's writes) holds whatever the last such write left: not state.
      registers: bytesOf(this.registers).fill(0, SINK_REGISTER * 8),
      floatBits: bytesOf(this.floatBits),
      hpmCounterLo: bytesOf(this.hpmCounterLo), hpmCounterHi: bytesOf(this.hpmCounterHi),
      hpmEventLo: bytesOf(this.hpmEventLo), hpmEventHi: bytesOf(this.hpmEventHi),
      pmpConfig: bytesOf(this.pmp.config), pmpAddressLow: bytesOf(this.pmp.addressLow), pmpAddressHigh: bytesOf(this.pmp.addressHigh),
      triggerSelected: this.triggers.selected,
      triggerControlLo: bytesOf(this.triggers.controlLo), triggerControlHi: bytesOf(this.triggers.controlHi),
      triggerAddressLo: bytesOf(this.triggers.addressLo), triggerAddressHi: bytesOf(this.triggers.addressHi),
    };
  }

  /** Puts back what saveState returned; every field is checked before any is set. */
  restoreState(state: StateReader): void {
    const words = HART_WORD_FIELDS.map((key) => state.integer(key, -0x8000_0000, 0xffff_ffff) | 0);
    const privilege = state.integer('privilege', 0, 3);
    if (privilege === 2) throw new SnapshotError(`${state.path}.privilege: 2 is not a privilege level this hart has`);
    const waitingForInterrupt = state.boolean('waitingForInterrupt');
    const stimecmp = state.deadline('stimecmp');
    const stimecmpWritten = state.boolean('stimecmpWritten');
    const counts = (['instructionsRetired', 'instructionsTrapped', 'trapsTaken'] as const).map((key) => state.integer(key, 0));
    const idleNanoseconds = state.nonNegative('idleNanoseconds');
    const instretOffset = state.number('instretOffset');
    const cycleOffset = state.number('cycleOffset');
    const reservation = state.integer('reservation', -1);
    const triggerSelected = state.integer('triggerSelected', 0, this.triggers.controlLo.length - 1);
    const arrays: Array<[string, ArrayBufferView]> = [
      ['registers', this.registers], ['floatBits', this.floatBits],
      ['hpmCounterLo', this.hpmCounterLo], ['hpmCounterHi', this.hpmCounterHi], ['hpmEventLo', this.hpmEventLo], ['hpmEventHi', this.hpmEventHi],
      ['pmpConfig', this.pmp.config], ['pmpAddressLow', this.pmp.addressLow], ['pmpAddressHigh', this.pmp.addressHigh],
      ['triggerControlLo', this.triggers.controlLo], ['triggerControlHi', this.triggers.controlHi],
      ['triggerAddressLo', this.triggers.addressLo], ['triggerAddressHi', this.triggers.addressHi],
    ];
    for (const [key, target] of arrays) state.check(key, target);
    HART_WORD_FIELDS.forEach((key, index) => (this[key] = words[index]));
    this.privilege = privilege as Privilege;
    this.waitingForInterrupt = waitingForInterrupt;
    this.exitRequested = false;
    this.stimecmp = stimecmp;
    this.stimecmpWritten = stimecmpWritten;
    [this.instructionsRetired, this.instructionsTrapped, this.trapsTaken] = counts;
    this.idleNanoseconds = idleNanoseconds;
    this.instretOffset = instretOffset;
    this.cycleOffset = cycleOffset;
    this.reservationAddress = reservation;
    for (const [key, target] of arrays) state.into(key, target);
    this.pmp.rebuild();
    this.triggers.selected = triggerSelected;
    this.triggers.restored();
  }

  /**
   * Sstc: the mtime tick from which the supervisor timer (STIP) is pending, while menvcfg.STCE
   * enables stimecmp (and once stimecmp has been written); Infinity otherwise. The machine
   * drives STIP from it (level: mtime >= it) and counts it as a timer event when it skips idle
   * time.
   */
  supervisorTimerCompare(): number {
    return this.cpu.sstc && this.stimecmpWritten && (this.menvcfgHi & MENVCFG_HIGH_STCE) !== 0 ? this.stimecmp : Infinity;
  }

  /** x register as a BigInt (for tools and tests, not the hot path). */
  readRegister(index: number): bigint {
    return index === 0 ? 0n : this.registersWide[index];
  }

  writeRegister(index: number, value: bigint): void {
    if (index !== 0) this.registersWide[index] = BigInt.asIntN(64, value);
  }

  get pc(): bigint {
    return (BigInt(this.pcHi >>> 0) << 32n) | BigInt(this.pcLo >>> 0);
  }

  set pc(value: bigint) {
    this.pcLo = Number(value & 0xffffffffn) | 0;
    this.pcHi = Number((value >> 32n) & 0xffffffffn) | 0;
  }

  /**
   * The hart's virtual time in ns: each instruction that retired (or raised one of the
   * exceptions of instructionsTrapped) takes 2^shift ns, plus the time skipped while idle;
   * also mcycle.
   */
  get virtualNanoseconds(): number {
    return (this.instructionsRetired + this.instructionsTrapped) * this.nanosecondsPerInstruction + this.idleNanoseconds;
  }

  /** Effective mip: software-set bits plus device lines. */
  get mip(): number {
    return this.mipSoftware | this.mipHardware;
  }

  /** mstatus bits 63:32 including SD. */
  get mstatusHigh(): number {
    const dirty = (this.mstatus & Mstatus.FS) === Mstatus.FS;
    return (MSTATUS_HIGH_FIXED | (dirty ? 0x80000000 : 0)) | 0;
  }

  /** True when mstatus.FS is Off, which makes every F/D instruction illegal. */
  get floatDisabled(): boolean {
    return (this.mstatus & Mstatus.FS) === 0;
  }
}
