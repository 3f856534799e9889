// The machine: RAM, bus, harts with their MMUs, the monitor, the devices of the `virt` board,
// the loaded images and the run loop with virtual time. Everything is wired from the layout
// constants, which also generate the device tree.

import { Csr, InterruptCause, MENVCFG_HIGH_PBMTE, MENVCFG_HIGH_STCE, Privilege } from '../cpu/csr-numbers';
import { Hart } from '../cpu/hart';
import { runInterpreter } from '../cpu/interpreter';
import { Mmu, type CodeBreakpointHook, type MemoryWatcher } from '../cpu/mmu';
import { Clint } from '../devices/clint';
import { InterruptBit, type HartInterruptPins, type MachineClock } from '../devices/device';
import { GoldfishRtc } from '../devices/goldfish-rtc';
import { findHtifSymbols, Htif } from '../devices/htif';
import { Plic } from '../devices/plic';
import { TestFinisher } from '../devices/test-finisher';
import { Uart16550 } from '../devices/uart16550';
import { EmptyVirtioMmioSlot } from '../devices/virtio-mmio-empty';
import {
  VirtioBlockDevice, VirtioConsoleDevice, VirtioEntropyDevice, VirtioMmioTransport, VirtioNetDevice, type VirtioDevice,
} from '../devices/virtio/index';
import { PhysicalBus } from '../memory/bus';
import { GuestMemory } from '../memory/guest-memory';
import type { BlockBackend, NetBackend } from '../bridges/types';
import { SeededEntropySource } from '../bridges/entropy';
import { ObservedDisk } from '../bridges/disk/observed';
import { SwitchableCapture, type CaptureSummary } from '../bridges/net/capture-tap';
import { GuestRam } from '../memory/ram';
import { ExitIndex } from '../monitor/exits';
import { Monitor, type MonitorObserver } from '../monitor/monitor';
import { HartState, SbiHandler } from '../monitor/sbi';
import { walkForDebugger } from '../debug/debugger';
import { TranslationTier } from '../translation/tier';
import { SnapshotError, StateReader, type StateRecord } from './state';
import { buildVirtDeviceTree } from './device-tree';
import { parseDeviceTree } from './fdt';
import { ElfImage, loadElfIntoRam, parseElf } from './elf';
import {
  CLINT, FIRMWARE_KERNEL_ADDRESS, MAX_HARTS, FW_JUMP_FDT_ADDRESS, NANOSECONDS_PER_TICK, PLIC, RAM_BASE, RTC, RTC_IRQ, TEST_FINISHER, UART0,
  UART0_IRQ, VIRTIO_MMIO_BASE, VIRTIO_MMIO_SLOTS, VIRTIO_MMIO_STRIDE, virtioMmioIrq,
} from './layout';
import { type MachineConfig, normalizeMachineConfig, type ResolvedMachineConfig, type VirtioDeviceConfig } from './config';

export type BootMode = 'bare' | 'firmware' | 'direct';

/** Why the machine stopped running. */
export type MachineExit =
  | { kind: 'pass'; code: 0; source: 'finisher' | 'htif' | 'sbi' }
  | { kind: 'fail'; code: number; source: 'finisher' | 'htif' | 'sbi' }
  | { kind: 'error'; message: string; hartId: number };

export type RunResult =
  | { kind: 'exit'; exit: MachineExit }
  | { kind: 'stop'; hartId: number }
  | { kind: 'budget' }
  /**
   * Every hart waits for an interrupt: with `idle: 'pace'` the host sleeps until the next
   * timer event is due in wall time (`nextTimerEventNanoseconds`) or input arrives, then calls
   * `advanceIdleTime`; with either mode, when no timer event is pending but input may still
   * arrive (`externalInputPossible`), the host waits for the input.
   */
  | { kind: 'idle' };

export interface LoadedImage {
  readonly role: 'kernel' | 'firmware' | 'initrd' | 'dtb' | 'boot-info';
  readonly fileName: string;
  readonly start: number;
  readonly end: number;
  readonly elf?: ElfImage;
}

/** A virtio device in its virtio-mmio slot. */
export interface VirtioSlot {
  readonly slot: number;
  readonly base: number;
  readonly irq: number;
  readonly kind: VirtioDeviceConfig['kind'];
  readonly transport: VirtioMmioTransport;
  readonly device: VirtioDevice;
}

/** Which guest console typed input goes to when the machine has a virtio console too. */
export type ConsoleInputTarget = 'auto' | 'serial' | 'virtio';

export class MachineError extends Error {
  override name = 'MachineError';
}

/** What execution history needs to hear from the machine. */
export interface MachineHistoryHooks {
  /** A run is about to start: all harts (`singleHart` undefined) or one. */
  beforeRun(singleHart: number | undefined): void;
  /** Something outside the guest changed the machine between runs (input, a write by a tool, a reset). */
  externalChange(): void;
  /** A device was plugged in or pulled out: history before it describes another machine. */
  machineChanged(): void;
}

/** What a recording hears: each input from outside, as it enters the machine (between runs). */
export interface MachineInputRecorder {
  consoleInput(bytes: Uint8Array, accepted: number): void;
  networkFrame(card: number, frame: Uint8Array): void;
  /** A wait cut short: virtual time moved to `nanoseconds`, before the timer event. */
  idleAdvance(nanoseconds: number): void;
  networkLink(card: number | undefined, up: boolean): void;
}

/** Steps a hart has taken: instructions retired plus traps taken (a trap is a step of its own). */
export function hartSteps(hart: Hart): number {
  return hart.instructionsRetired + hart.trapsTaken;
}

/** Watches every instruction attempt, for instruction traces (the CLI's --trace). */
export interface InstructionObserver {
  /** The hart is about to attempt the instruction at its pc. */
  beforeInstruction(hart: Hart): void;
  /**
   * The attempt is over: the instruction retired (instructionsRetired moved), trapped
   * (trapsTaken moved; it did not retire and the hart is at the handler), or never started
   * (neither moved: a code breakpoint stopped the hart in front of it).
   */
  afterInstruction(hart: Hart): void;
  /** The hart took an interrupt before its next instruction and is now at the handler. */
  interruptTaken(hart: Hart): void;
}

/** Instructions each hart runs before the next one (scaled to virtual ns by the icount shift). */
const QUANTUM_SINGLE_HART = 200_000;
const QUANTUM_SMP = 10_000;
/**
 * /chosen/rng-seed, as QEMU always provides one. Without it Linux's crng is never ready: the
 * jitter fallback gives up on a 10 MHz timebase, and a blocking getrandom() in user space then
 * waits forever. Fixed bytes keep runs deterministic.
 */
const RNG_SEED = new TextEncoder().encode('ringside-virt deterministic seed');
/** The fw_dynamic information block sits this far below the DTB (firmware boot). */
const FIRMWARE_INFO_OFFSET = 0x1000;

export class Machine implements MachineClock, HartInterruptPins {
  readonly config: ResolvedMachineConfig;
  readonly ram: GuestRam;
  readonly bus: PhysicalBus;
  readonly harts: Hart[] = [];
  readonly mmus: Mmu[] = [];
  /** The translation tier, unless the machine runs on the interpreter alone (`tier: 'interpreter'`). */
  readonly translation: TranslationTier | null;
  readonly monitor: Monitor;
  readonly clint: Clint;
  readonly plic: Plic;
  readonly uart: Uart16550;
  readonly rtc: GoldfishRtc;
  readonly finisher: TestFinisher;
  /** Guest RAM as devices reach it (bounds-checked DMA). */
  readonly guestMemory: GuestMemory;
  /** The virtio devices, by slot. */
  readonly virtioSlots: VirtioSlot[] = [];
  /**
   * Where typed input goes when there is a virtio console: `auto` follows the console the guest
   * wrote to last (the one its shell is on), `serial` and `virtio` pin it (Ctrl-A c).
   */
  consoleInputTarget: ConsoleInputTarget = 'auto';
  private lastConsoleWriter: 'serial' | 'virtio' = 'serial';
  private virtioConsole: VirtioConsoleDevice | null = null;
  /** The network cards in the order they were configured (not slot order). */
  private readonly networkCards: VirtioNetDevice[] = [];
  /** Each card's backend as the card sees it, where a packet capture can be started at run time. */
  private readonly networkTaps: SwitchableCapture[] = [];
  private guestResetListeners: Array<() => void> = [];
  readonly bootMode: BootMode;
  readonly images: LoadedImage[] = [];
  htif: Htif | null = null;
  dtbAddress = 0;

  /** HSM state of each hart (all started except in direct boot). */
  readonly hartStates: HartState[] = [];
  /** Supervisor timer deadlines (mtime ticks) set through the built-in SBI. */
  private readonly supervisorTimerDeadline: number[] = [];

  exit: MachineExit | null = null;
  /** The hart the run loop is executing (time is read from it). */
  private runningHart: Hart | null = null;
  /** Virtual time all harts have reached, in ns. */
  private windowStart = 0;
  private stopRequestedBy = -1;
  private yieldingForTranslation = false;
  private consoleListeners: Array<(byte: number) => void> = [];
  /**
   * Sees every instruction attempt while set. The scheduler stays the same (slices, interrupt
   * sampling, LR reservations), so a traced run executes exactly like an untraced one.
   */
  instructionObserver: InstructionObserver | null = null;
  /**
   * Whether anything outside the machine may still deliver input (a console that is open, a
   * network backend). When every hart waits, no timer event is pending and this says no, the
   * run ends with a deadlock error instead of waiting forever. Set by the host.
   */
  externalInputPossible: () => boolean = () => false;
  /**
   * Called just before input from outside (a network frame) enters the machine, from the host's
   * event loop between runs; a host pacing an idle wait moves virtual time to the arrival first.
   */
  beforeExternalInput: () => void = () => {};
  /**
   * Execution history (debug/history.ts) while reverse debugging is on: told when a run starts
   * and when anything from outside changes the machine between runs.
   */
  history: MachineHistoryHooks | null = null;
  /** Recording (machine/recording.ts): told of every input from outside as it enters. */
  inputRecorder: MachineInputRecorder | null = null;
  /**
   * A recording being replayed in a live session (a debugger's): its inputs enter at their
   * points of the run, then the machine runs on live. Not while history re-executes.
   */
  replayFeed: { nextAt(): number; deliver(): void } | null = null;
  /**
   * Re-execution from history: the guest's console output and other host-side effects were
   * already produced the first time, so they are dropped.
   */
  replaying = false;
  /**
   * Ends a run as soon as hart `hartId` has taken `steps` steps (retired instructions plus
   * traps taken), or all harts together `totalSteps`: how history lands exactly on a point it
   * saw before (the total orders every point of a run in time). Infinity: no limit.
   */
  stepLimit: { hartId: number; steps: number; totalSteps: number } = { hartId: 0, steps: Infinity, totalSteps: Infinity };

  /** Steps all harts have taken together. */
  totalSteps(): number {
    let total = 0;
    for (const hart of this.harts) total += hartSteps(hart);
    return total;
  }

  /** How many steps `hart` may take before a step limit is reached. */
  private stepAllowance(hart: Hart): number {
    const limit = this.stepLimit;
    let allowance = hart.hartId === limit.hartId ? limit.steps - hartSteps(hart) : Infinity;
    if (limit.totalSteps !== Infinity) allowance = Math.min(allowance, limit.totalSteps - this.totalSteps());
    return allowance;
  }
  /**
   * Set by a host that runs the machine in a worker thread: another thread stores a nonzero
   * word 0 with `Atomics` when it needs the host's attention (a pause, any request), and the
   * run returns at the next slice boundary (at most a quantum later) instead of at its budget.
   * Only the host clears it. Checked once per interpreter slice, never per instruction.
   */
  attention: Int32Array | null = null;

  constructor(config: MachineConfig) {
    this.config = normalizeMachineConfig(config);
    const { memoryBytes, hartCount } = this.config;
    this.translation = this.config.tier === 'auto' ? new TranslationTier(memoryBytes, hartCount, this.config.cpu.extensionMask, RAM_BASE) : null;
    this.ram = new GuestRam(RAM_BASE, memoryBytes, this.translation?.buffer);
    const translation = this.translation;
    if (translation !== null) this.ram.writeListener = (offset, length) => translation.noteWrite(offset, length);
    this.bus = new PhysicalBus(this.ram);
    this.monitor = new Monitor({
      harts: this.harts,
      mmuOf: (hart) => this.mmus[hart.hartId],
      mtime: () => this.clint.mtime(),
      unhandledMachineTrap: (hart, description) => this.fail(hart, description),
      requestStop: (hart) => this.requestStop(hart.hartId),
    });
    for (let id = 0; id < hartCount; id++) {
      const hart = new Hart(id, this.config.cpu, this.translation?.registerStorage(id));
      hart.nanosecondsPerInstruction = 2 ** this.config.icountShift;
      this.harts.push(hart);
      const mmu = new Mmu(hart, this.bus, this.monitor, this.translation?.tlbStorage(id));
      this.translation?.attach(mmu);
      this.mmus.push(mmu);
      this.hartStates.push(HartState.Started);
      this.supervisorTimerDeadline.push(Infinity);
    }
    this.clint = new Clint(hartCount, this, this);
    this.plic = new Plic(hartCount, this);
    this.uart = new Uart16550(this.plic.source(UART0_IRQ), (byte) => this.consoleOutput(byte));
    this.rtc = new GoldfishRtc(this, this.config.rtcEpochNanoseconds, this.plic.source(RTC_IRQ));
    this.finisher = new TestFinisher((event) => {
      if (event.kind === 'reset') this.requestGuestReset();
      else this.finish(event.kind === 'pass' ? 0 : event.code, 'finisher');
    });
    this.bus.attach(TEST_FINISHER.base, TEST_FINISHER.size, this.finisher);
    this.bus.attach(RTC.base, RTC.size, this.rtc);
    this.bus.attach(CLINT.base, CLINT.size, this.clint);
    this.bus.attach(PLIC.base, PLIC.size, this.plic);
    this.bus.attach(UART0.base, UART0.size, this.uart);
    this.guestMemory = new GuestMemory(this.ram);
    // A device's DMA write breaks the LR reservations it overlaps, as another hart's store would.
    this.guestMemory.writeObserver = (address, length) => {
      translation?.noteWrite(address - RAM_BASE, length);
      for (const hart of this.harts) {
        if (hart.reservationAddress >= address - 7 && hart.reservationAddress < address + length) hart.reservationAddress = -1;
      }
    };
    const placement = assignVirtioSlots(this.config.virtioDevices);
    const version = this.config.virtioLegacy ? 1 : 2;
    for (let slot = 0; slot < VIRTIO_MMIO_SLOTS; slot++) {
      const base = VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE;
      const wanted = placement.get(slot);
      if (wanted === undefined) {
        this.bus.attach(base, VIRTIO_MMIO_STRIDE, new EmptyVirtioMmioSlot(slot, version));
        continue;
      }
      const device = this.createVirtioDevice(wanted);
      const transport = new VirtioMmioTransport({
        device, memory: this.guestMemory, irq: this.plic.source(virtioMmioIrq(slot)), version,
        name: `virtio-mmio@${base.toString(16)} (${device.typeName})`, log: this.config.log,
      });
      this.bus.attach(base, VIRTIO_MMIO_STRIDE, transport);
      this.virtioSlots.push({ slot, base, irq: virtioMmioIrq(slot), kind: wanted.kind, transport, device });
    }

    this.bootMode = this.config.bios === 'none' ? 'bare' : this.config.bios === 'builtin' ? 'direct' : 'firmware';
    if (this.bootMode === 'direct') {
      this.monitor.sbi = new SbiHandler({
        harts: this.harts,
        consoleWrite: (byte) => this.consoleOutput(byte),
        consoleRead: () => {
          this.sbiConsoleInputUsed = true;
          return this.sbiConsoleInput.shift() ?? -1;
        },
        setSupervisorTimer: (hart, deadline) => {
          this.supervisorTimerDeadline[hart.hartId] = deadline;
          this.updateSupervisorTimers();
        },
        sendSupervisorSoftwareInterrupt: (hart) => {
          hart.mipSoftware |= 1 << InterruptCause.SupervisorSoftware;
          hart.waitingForInterrupt = false;
        },
        flushTranslation: (hart) => this.mmus[hart.hartId].flush(),
        hartState: (hart) => this.hartStates[hart.hartId],
        startHart: (hart, start, opaque) => this.startHartSupervisor(hart, start, opaque),
        stopHart: (hart) => {
          this.hartStates[hart.hartId] = HartState.Stopped;
          hart.exitRequested = true;
        },
        systemReset: (kind, code) => (kind === 'shutdown' ? this.finish(code, 'sbi') : this.requestGuestReset()),
        readPhysical: (address, length) => this.readPhysical(address, length),
        writePhysical: (address, data) => this.writePhysical(address, data),
      });
    }
    this.loadImages();
    this.reset();
  }

  // ---- clock and interrupt pins -------------------------------------------------------------

  /** mtime in clock ticks: the running hart's virtual time (or the slowest hart's between slices). */
  mtime(): number {
    return Math.floor(this.currentNanoseconds() / NANOSECONDS_PER_TICK);
  }

  setInterruptPending(hartId: number, bit: InterruptBit, asserted: boolean): void {
    const hart = this.harts[hartId];
    if (hart === undefined) return;
    if (asserted) hart.mipHardware |= 1 << bit;
    else hart.mipHardware &= ~(1 << bit);
  }

  /** STIP as a level: the built-in SBI's timer (direct boot) or Sstc's stimecmp has come due. */
  private updateSupervisorTimers(): void {
    const now = this.clint.mtime();
    for (const hart of this.harts) {
      const due = now >= hart.supervisorTimerCompare() ||
        (this.bootMode === 'direct' && now >= this.supervisorTimerDeadline[hart.hartId]);
      if (due) hart.mipHardware |= 1 << InterruptCause.SupervisorTimer;
      else hart.mipHardware &= ~(1 << InterruptCause.SupervisorTimer);
    }
  }

  /** The earliest future timer event in ns of virtual time, or Infinity. */
  nextTimerEventNanoseconds(): number {
    let deadline = Math.min(this.clint.nextTimerDeadline(), this.rtc.nextAlarmDeadline());
    const now = this.clint.mtime();
    if (this.bootMode === 'direct') {
      for (const value of this.supervisorTimerDeadline) if (value > now && value < deadline) deadline = value;
    }
    for (const hart of this.harts) {
      const value = Math.ceil(hart.supervisorTimerCompare());
      if (value > now && value < deadline) deadline = value;
    }
    return deadline === Infinity ? Infinity : deadline * NANOSECONDS_PER_TICK;
  }

  // ---- virtio -------------------------------------------------------------------------------

  private createVirtioDevice(wanted: VirtioDeviceConfig): VirtioDevice {
    switch (wanted.kind) {
      case 'block': return new VirtioBlockDevice({ backend: new ObservedDisk(wanted.backend), serial: wanted.serial });
      case 'net': {
        const index = this.config.virtioDevices.filter((device) => device.kind === 'net').indexOf(wanted);
        const backend = wanted.backend;
        // Frames from the host are external input: the host hears of each before it lands.
        const announced: NetBackend = {
          description: backend.description,
          // Re-executed history sends nothing: the frames went out the first time.
          send: (frame) => {
            if (!this.replaying) backend.send(frame);
          },
          setReceiver: (receiver) => backend.setReceiver(receiver === null ? null : (frame) => {
            this.beforeExternalInput();
            this.history?.externalChange();
            this.inputRecorder?.networkFrame(index, frame);
            return receiver(frame);
          }),
          close: () => backend.close(),
        };
        const tap = new SwitchableCapture(announced);
        const card = new VirtioNetDevice({ backend: tap, mac: wanted.mac ?? defaultMac(index), linkUp: wanted.linkUp });
        this.networkCards[index] = card;
        this.networkTaps[index] = tap;
        return card;
      }
      case 'entropy': return new VirtioEntropyDevice({ source: wanted.source });
      case 'console': {
        if (this.virtioConsole !== null) throw new MachineError('one virtio console at most');
        this.virtioConsole = new VirtioConsoleDevice({
          output: (bytes) => {
            this.lastConsoleWriter = 'virtio';
            for (const byte of bytes) this.emitConsoleByte(byte);
          },
        });
        return this.virtioConsole;
      }
    }
  }

  /** Plugs or pulls the cable of network card `index` (in the order they were configured), or of all; false when there is none. */
  setNetworkLink(up: boolean, index?: number): boolean {
    this.history?.externalChange();
    this.inputRecorder?.networkLink(index, up);
    let changed = false;
    for (const [position, card] of this.networkCards.entries()) {
      if (index !== undefined && index !== position) continue;
      card.setLinkUp(up);
      changed = true;
    }
    return changed;
  }

  /** True when some network card's cable is plugged in. */
  get networkLinkUp(): boolean {
    return this.networkCards.some((card) => card.linkUp);
  }

  /** Starts a pcap capture of network card `index` (in the order they were configured) at run time. */
  startPacketCapture(path: string, index = 0): void {
    const tap = this.networkTaps[index];
    if (tap === undefined) throw new MachineError(this.networkTaps.length === 0 ? 'this machine has no network card' : `no network card ${index} (cards: 0..${this.networkTaps.length - 1})`);
    tap.startCapture(path);
  }

  /** Ends the run-time capture of card `index`; the pcap file is complete. */
  stopPacketCapture(index = 0): CaptureSummary {
    const tap = this.networkTaps[index];
    if (tap === undefined) throw new MachineError(this.networkTaps.length === 0 ? 'this machine has no network card' : `no network card ${index} (cards: 0..${this.networkTaps.length - 1})`);
    return tap.stopCapture();
  }

  /** The file each card is being captured to at run time (undefined: none). */
  get packetCapturePaths(): ReadonlyArray<string | undefined> {
    return this.networkTaps.map((tap) => tap.capturePath);
  }

  /**
   * Hot-plugs a virtio-blk disk into the highest free virtio-mmio slot (or `slot`). The device
   * tree lists every slot, empty or not (as QEMU's `virt` does), so the guest finds the disk the
   * next time it probes the slots: at its next boot (a reset) for Linux, which probes once.
   * Returns the slot.
   */
  attachDisk(backend: BlockBackend, options: { serial?: string; slot?: number } = {}): number {
    const taken = new Set(this.virtioSlots.map((entry) => entry.slot));
    let slot = options.slot;
    if (slot !== undefined) {
      if (!Number.isInteger(slot) || slot < 0 || slot >= VIRTIO_MMIO_SLOTS) throw new MachineError(`slot must be 0..${VIRTIO_MMIO_SLOTS - 1}, got ${slot}`);
      if (taken.has(slot)) throw new MachineError(`virtio-mmio slot ${slot} is taken`);
    } else {
      for (let candidate = VIRTIO_MMIO_SLOTS - 1; candidate >= 0 && slot === undefined; candidate--) if (!taken.has(candidate)) slot = candidate;
      if (slot === undefined) throw new MachineError(`every one of the ${VIRTIO_MMIO_SLOTS} virtio-mmio slots is taken`);
    }
    const base = VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE;
    const device = new VirtioBlockDevice({ backend: new ObservedDisk(backend), serial: options.serial });
    this.history?.machineChanged();
    const transport = new VirtioMmioTransport({
      device, memory: this.guestMemory, irq: this.plic.source(virtioMmioIrq(slot)), version: this.config.virtioLegacy ? 1 : 2,
      name: `virtio-mmio@${base.toString(16)} (${device.typeName})`, log: this.config.log,
    });
    this.bus.replace(base, transport);
    this.virtioSlots.push({ slot, base, irq: virtioMmioIrq(slot), kind: 'block', transport, device });
    this.virtioSlots.sort((a, b) => a.slot - b.slot);
    return slot;
  }

  /** Unplugs the disk in `slot`: flushed and released, the slot empty again (the guest's driver loses it). */
  detachDisk(slot: number): void {
    const index = this.virtioSlots.findIndex((entry) => entry.slot === slot);
    const entry = this.virtioSlots[index];
    if (entry === undefined || entry.kind !== 'block') {
      const disks = this.virtioSlots.filter((candidate) => candidate.kind === 'block').map((candidate) => candidate.slot);
      throw new MachineError(`no disk in virtio-mmio slot ${slot} (disks: ${disks.length === 0 ? 'none' : `slots ${disks.join(', ')}`})`);
    }
    entry.transport.reset();
    this.history?.machineChanged();
    this.bus.replace(entry.base, new EmptyVirtioMmioSlot(slot, this.config.virtioLegacy ? 1 : 2));
    this.virtioSlots.splice(index, 1);
    (entry.device as VirtioBlockDevice).backend.close();
  }

  /** Called after each reset the guest asks for (test finisher, SBI SRST), once the machine is reset. */
  onGuestReset(listener: () => void): () => void {
    this.guestResetListeners.push(listener);
    return () => {
      this.guestResetListeners = this.guestResetListeners.filter((l) => l !== listener);
    };
  }

  /** The disks, by slot, as the machine holds them (for snapshots, recordings and history). */
  get disks(): Array<{ slot: number; disk: ObservedDisk; serial: string | undefined }> {
    return this.virtioSlots.filter((entry) => entry.kind === 'block').map((entry) => {
      const device = entry.device as VirtioBlockDevice;
      return { slot: entry.slot, disk: device.backend as ObservedDisk, serial: device.serialText === '' ? undefined : device.serialText };
    });
  }

  /** Flushes every disk to stable storage; returns how many there were. */
  syncDisks(): number {
    let disks = 0;
    for (const slot of this.virtioSlots) {
      if (slot.kind !== 'block') continue;
      (slot.device as VirtioBlockDevice).backend.flush();
      disks++;
    }
    return disks;
  }

  /** Releases the devices' host side (disks are flushed and unlocked, sockets closed) and the tier's compile worker. Idempotent. */
  close(): void {
    for (const slot of this.virtioSlots) {
      if (slot.kind === 'block') (slot.device as VirtioBlockDevice).backend.close();
      else if (slot.kind === 'net') (slot.device as VirtioNetDevice).backend.close();
    }
    this.translation?.stopCompileWorker();
  }

  // ---- console ------------------------------------------------------------------------------

  private consoleOutput(byte: number): void {
    this.lastConsoleWriter = 'serial';
    this.emitConsoleByte(byte);
  }

  private emitConsoleByte(byte: number): void {
    if (this.replaying) return;
    this.config.consoleOutput(byte);
    for (const listener of this.consoleListeners) listener(byte);
  }

  /** The console typed input goes to now. */
  get consoleInputFocus(): 'serial' | 'virtio' {
    if (this.virtioConsole === null) return 'serial';
    return this.consoleInputTarget === 'auto' ? this.lastConsoleWriter : this.consoleInputTarget;
  }

  /** Pins input to the other console (Ctrl-A c); returns a line saying where input goes now. */
  switchConsoleInput(): string {
    if (this.virtioConsole === null) return 'ringside: this machine has one console (the serial port)';
    this.consoleInputTarget = this.consoleInputFocus === 'serial' ? 'virtio' : 'serial';
    return `ringside: input goes to the ${this.consoleInputTarget === 'virtio' ? 'virtio console (hvc0)' : 'serial port (ttyS0)'}`;
  }

  /** Observes every byte the guest writes to its console (UART, SBI, HTIF). */
  onConsoleOutput(listener: (byte: number) => void): () => void {
    this.consoleListeners.push(listener);
    return () => {
      this.consoleListeners = this.consoleListeners.filter((l) => l !== listener);
    };
  }

  /** Input for SBI console reads, used once a direct-boot guest has read the SBI console. */
  private readonly sbiConsoleInput: number[] = [];
  private sbiConsoleInputUsed = false;

  /**
   * Queues bytes for the guest's console input: the UART receiver, or the SBI console once a
   * direct-boot guest has started reading it. Returns how many bytes were accepted.
   */
  sendConsoleInput(bytes: Uint8Array | readonly number[]): number {
    this.history?.externalChange();
    const accepted = this.deliverConsoleInput(bytes);
    this.inputRecorder?.consoleInput(Uint8Array.from(bytes), accepted);
    return accepted;
  }

  private deliverConsoleInput(bytes: Uint8Array | readonly number[]): number {
    if (this.virtioConsole !== null && this.consoleInputFocus === 'virtio') return this.virtioConsole.receive(Uint8Array.from(bytes));
    if (this.sbiConsoleInputUsed) {
      this.sbiConsoleInput.push(...bytes);
      return bytes.length;
    }
    return this.uart.receive(bytes);
  }

  // ---- loading and reset ----------------------------------------------------------------

  private loadImages(): void {
    const { kernel, firmware, initrd } = this.config;
    if (this.bootMode === 'bare' && kernel === undefined) throw new MachineError('bare boot needs a kernel (--kernel)');
    if (this.bootMode === 'direct' && kernel === undefined) throw new MachineError('direct boot (--bios builtin) needs a kernel (--kernel)');
    if (firmware !== undefined) this.loadProgram(firmware.bytes, firmware.fileName, 'firmware', RAM_BASE);
    if (kernel !== undefined) {
      this.loadProgram(kernel.bytes, kernel.fileName, 'kernel', this.bootMode === 'bare' ? RAM_BASE : FIRMWARE_KERNEL_ADDRESS);
    }
    // The DTB goes at the top of RAM (below 3 GiB), aligned down to 2 MiB, as QEMU places it.
    const dtb = this.buildDeviceTree(undefined, undefined);
    const top = RAM_BASE + Math.min(this.config.memoryBytes, 0xc000_0000);
    this.dtbAddress = Math.floor((top - dtb.length) / 0x20_0000) * 0x20_0000;
    if (initrd !== undefined) {
      // In firmware boot the page below the DTB holds the fw_dynamic information block.
      const initrdCeiling = this.bootMode === 'firmware' ? this.dtbAddress - FIRMWARE_INFO_OFFSET : this.dtbAddress;
      const initrdStart = Math.floor((initrdCeiling - initrd.bytes.length) / 4096) * 4096;
      const overlapsFirmwareFdt = this.bootMode === 'firmware' && initrdStart < FW_JUMP_FDT_ADDRESS + 0x10_0000 &&
        initrdStart + initrd.bytes.length > FW_JUMP_FDT_ADDRESS;
      const highestImage = Math.max(0, ...this.images.map((image) => image.end));
      if (initrdStart < highestImage || overlapsFirmwareFdt) {
        throw new MachineError(
          `initrd ${initrd.fileName} (${initrd.bytes.length} bytes) does not fit in RAM above the kernel; use a larger --mem`);
      }
      this.ram.load(initrdStart, initrd.bytes);
      this.images.push({ role: 'initrd', fileName: initrd.fileName, start: initrdStart, end: initrdStart + initrd.bytes.length });
    }
    const initrdImage = this.images.find((image) => image.role === 'initrd');
    const finalDtb = this.buildDeviceTree(initrdImage?.start, initrdImage?.end);
    const highestImage = Math.max(0, ...this.images.map((image) => image.end));
    if (this.dtbAddress < highestImage) {
      throw new MachineError(`RAM too small: ${this.config.memoryBytes / 1048576} MiB leaves no room for the device tree above the loaded images`);
    }
    this.ram.load(this.dtbAddress, finalDtb);
    if (this.bootMode === 'firmware') this.writeFirmwareDynamicInfo();
    this.images.push({ role: 'dtb', fileName: this.config.dtb?.fileName ?? '(generated)', start: this.dtbAddress, end: this.dtbAddress + finalDtb.length });
    // Keep a copy of every loaded image so that a reset restores RAM exactly.
    this.pristineImages = this.images.map((image) => ({
      address: image.start,
      bytes: this.ram.bytes.slice(image.start - RAM_BASE, image.end - RAM_BASE),
    }));
  }

  /** Where the fw_dynamic information block sits (firmware boot), as QEMU passes it in a2. */
  firmwareDynamicInfoAddress = 0;

  /**
   * OpenSBI's fw_dynamic reads where to jump from a structure whose address arrives in a2:
   * magic "OSBI", version 2, next address (the kernel), next mode (1 = S), options, boot hart
   * (-1: any). fw_jump ignores it.
   */
  private writeFirmwareDynamicInfo(): void {
    const address = this.dtbAddress - FIRMWARE_INFO_OFFSET;
    const info = new DataView(new ArrayBuffer(48));
    info.setBigUint64(0, 0x4942534fn, true);
    info.setBigUint64(8, 2n, true);
    info.setBigUint64(16, BigInt(this.entryPoints.kernel ?? FIRMWARE_KERNEL_ADDRESS), true);
    info.setBigUint64(24, 1n, true);
    info.setBigUint64(32, 0n, true);
    info.setBigInt64(40, -1n, true);
    const bytes = new Uint8Array(info.buffer);
    const highestImage = Math.max(0, ...this.images.map((image) => image.end));
    if (address < highestImage) throw new MachineError('RAM too small for the firmware information block; use a larger --mem');
    this.ram.load(address, bytes);
    this.images.push({ role: 'boot-info', fileName: '(fw_dynamic info)', start: address, end: address + bytes.length });
    this.firmwareDynamicInfoAddress = address;
  }

  /** The loaded images' bytes, to restore on reset. */
  private pristineImages: Array<{ address: number; bytes: Uint8Array }> = [];
  /** RAM is still all zeros apart from the images (nothing has run since construction). */
  private ramPristine = true;

  private buildDeviceTree(initrdStart: number | undefined, initrdEnd: number | undefined): Uint8Array {
    if (this.config.dtb !== undefined) {
      // Validate the user's blob before the guest sees it: one clear error for a malformed file.
      try {
        parseDeviceTree(this.config.dtb.bytes);
      } catch (error) {
        throw new MachineError(`${this.config.dtb.fileName}: ${(error as Error).message}`);
      }
      return this.config.dtb.bytes;
    }
    return buildVirtDeviceTree({
      ramBase: RAM_BASE,
      ramSize: this.config.memoryBytes,
      hartCount: this.config.hartCount,
      bootargs: this.config.append,
      initrdStart,
      initrdEnd,
      rngSeed: RNG_SEED,
      cpu: this.config.cpu,
    });
  }

  private loadProgram(bytes: Uint8Array, fileName: string, role: 'kernel' | 'firmware', rawAddress: number): void {
    const isElf = bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
    let image: LoadedImage;
    if (isElf) {
      const elf = parseElf(bytes, fileName);
      for (const other of this.images) {
        for (const segment of elf.loadSegments) {
          if (segment.memorySize > 0 && segment.physicalAddress < other.end && other.start < segment.physicalAddress + segment.memorySize) {
            throw new MachineError(`${fileName}: segment at 0x${segment.physicalAddress.toString(16)} overlaps ${other.role} ${other.fileName}`);
          }
        }
      }
      const loaded = loadElfIntoRam(elf, this.ram);
      image = { role, fileName, start: loaded.lowestAddress, end: loaded.highestAddress, elf };
      this.entryPoints[role] = loaded.entry;
      if (role === 'kernel' && this.bootMode === 'bare') {
        const htifSymbols = findHtifSymbols(elf);
        if (htifSymbols !== undefined) {
          this.htif = new Htif({
            ram: this.ram,
            tohost: htifSymbols.tohost,
            fromhost: htifSymbols.fromhost,
            onExit: (code) => this.finish(code, 'htif'),
            onConsoleOutput: (byte) => this.consoleOutput(byte),
          });
          const tohostPage = htifSymbols.tohost - (htifSymbols.tohost % 4096);
          for (const mmu of this.mmus) mmu.exitOnStorePage = tohostPage;
        }
      }
    } else {
      if (bytes.length === 0) throw new MachineError(`${fileName}: file is empty`);
      // Bare boot enters the kernel at its ELF entry; a raw image has no addresses to go by.
      if (role === 'kernel' && this.bootMode === 'bare') {
        throw new MachineError(`${fileName} is not an ELF file; bare boot (--bios none) needs an RV64 ELF, a raw image needs --bios builtin or a firmware`);
      }
      if (!this.ram.contains(rawAddress, bytes.length)) {
        throw new MachineError(`${fileName}: ${bytes.length} bytes at 0x${rawAddress.toString(16)} do not fit in RAM; use a larger --mem`);
      }
      this.ram.load(rawAddress, bytes);
      image = { role, fileName, start: rawAddress, end: rawAddress + bytes.length };
      this.entryPoints[role] = rawAddress;
    }
    this.images.push(image);
  }

  private readonly entryPoints: { kernel?: number; firmware?: number } = {};

  /** Set when the guest asked for a reset (test finisher, SBI SRST) from inside an instruction. */
  private guestResetRequested = false;

  /**
   * A reset the guest asks for happens once the asking instruction has completed: resetting in
   * the middle of it would let the rest of the instruction (pc advance, SBI return values)
   * land on the fresh state.
   */
  private requestGuestReset(): void {
    this.guestResetRequested = true;
    for (const hart of this.harts) hart.exitRequested = true;
  }

  /** Performs a reset the guest asked for; true when there was one. */
  private performGuestReset(): boolean {
    if (!this.guestResetRequested) return false;
    this.guestResetRequested = false;
    this.reset();
    for (const listener of this.guestResetListeners) listener();
    return true;
  }

  /** Full machine reset: devices, harts, and RAM back to the loaded images. */
  reset(): void {
    this.guestResetRequested = false;
    this.history?.externalChange();
    if (!this.ramPristine) {
      // What changes: every page something wrote (now cleared), and the images put back.
      const touched = this.ram.touched;
      for (let page = 0; page < touched.length; page++) if (touched[page] !== 0) this.ram.noteWriteAhead(page * 4096, 4096);
      for (const image of this.pristineImages) this.ram.noteWriteAhead(image.address - RAM_BASE, image.bytes.length);
      this.ram.bytes.fill(0);
      for (const image of this.pristineImages) this.ram.bytes.set(image.bytes, image.address - RAM_BASE);
    }
    this.translation?.reset();
    this.exit = null;
    this.windowStart = 0;
    this.clint.reset();
    this.plic.reset();
    this.uart.reset();
    this.htif?.reset();
    for (const slot of this.virtioSlots) slot.transport.reset();
    const entry = this.bootMode === 'firmware' ? this.entryPoints.firmware! : this.entryPoints.kernel!;
    for (const hart of this.harts) {
      hart.reset(entry | 0, entry < 0 ? -1 : 0);
      hart.instructionsRetired = 0;
      hart.instructionsTrapped = 0;
      hart.trapsTaken = 0;
      hart.idleNanoseconds = 0;
      hart.registers[20] = hart.hartId; // a0
      hart.registers[22] = this.dtbAddress | 0; // a1
      if (this.bootMode === 'firmware') hart.registers[24] = this.firmwareDynamicInfoAddress | 0; // a2
      this.mmus[hart.hartId].flush();
      this.supervisorTimerDeadline[hart.hartId] = Infinity;
      this.hartStates[hart.hartId] = HartState.Started;
    }
    if (this.bootMode === 'direct') {
      for (const hart of this.harts) {
        this.prepareSupervisorEntry(hart);
        if (hart.hartId !== 0) this.hartStates[hart.hartId] = HartState.Stopped;
      }
    }
  }

  /** What OpenSBI does before entering an S-mode kernel, for direct boot. */
  private prepareSupervisorEntry(hart: Hart): void {
    hart.medeleg = 0xb1ff; // every delegable exception except ecall from S, which is the SBI
    hart.mideleg = 0x222;
    hart.mcounteren = 7;
    // OpenSBI also sets scounteren: Linux never writes it, yet glibc's vDSO reads `time` in U-mode.
    hart.scounteren = 7;
    // OpenSBI enables stimecmp for S-mode when the hart has Sstc, and page-based memory types.
    if (hart.cpu.sstc) hart.menvcfgHi |= MENVCFG_HIGH_STCE;
    if (hart.cpu.svpbmt) hart.menvcfgHi |= MENVCFG_HIGH_PBMTE;
    hart.pmp.writeAddress(0, -1, -1);
    hart.pmp.writeConfig(0, 0x1f); // NAPOT, RWX: all of memory
    hart.pmp.rebuild();
    hart.privilege = Privilege.Supervisor;
    hart.mtvecLo = 0;
    void Csr.Mtvec;
  }

  private startHartSupervisor(hart: Hart, start: bigint, opaque: bigint): void {
    hart.pc = start;
    hart.writeRegister(10, BigInt(hart.hartId));
    hart.writeRegister(11, opaque);
    hart.satpLo = hart.satpHi = 0;
    hart.privilege = Privilege.Supervisor;
    hart.mstatus = 0;
    hart.waitingForInterrupt = false;
    // A started hart joins at the current time.
    hart.idleNanoseconds = Math.max(hart.idleNanoseconds,
      this.currentNanoseconds() - hart.instructionsRetired * hart.nanosecondsPerInstruction);
    this.mmus[hart.hartId].flush();
    this.hartStates[hart.hartId] = HartState.Started;
  }

  /** The running hart's virtual time; between slices the time every started hart has reached. */
  private currentNanoseconds(): number {
    if (this.runningHart !== null) return this.runningHart.virtualNanoseconds;
    // windowStart alone lags by up to a quantum (a single hart moves it only per 200k instructions).
    let slowest = Infinity;
    for (const hart of this.harts) {
      if (this.hartStates[hart.hartId] === HartState.Started) slowest = Math.min(slowest, hart.virtualNanoseconds);
    }
    return slowest === Infinity ? this.windowStart : Math.max(this.windowStart, slowest);
  }

  private finish(code: number, source: 'finisher' | 'htif' | 'sbi'): void {
    if (this.exit !== null) return;
    this.exit = code === 0 ? { kind: 'pass', code: 0, source } : { kind: 'fail', code, source };
    for (const hart of this.harts) hart.exitRequested = true;
  }

  private fail(hart: Hart, message: string): void {
    if (this.exit !== null) return;
    this.exit = { kind: 'error', message, hartId: hart.hartId };
    hart.exitRequested = true;
  }

  /** Asks the run loop to stop after the current instruction (debugger, pause). */
  requestStop(hartId: number): void {
    if (this.stopRequestedBy < 0) this.stopRequestedBy = hartId;
    for (const hart of this.harts) hart.exitRequested = true;
  }

  setMonitorObserver(observer: MonitorObserver | null): void {
    this.monitor.observer = observer;
  }

  /** Installs (or removes) the code-breakpoint hook; call again when breakpoints change. */
  setCodeBreakpoints(hook: CodeBreakpointHook | null): void {
    for (const mmu of this.mmus) {
      mmu.codeBreakpoints = hook;
      mmu.flush();
    }
  }

  setMemoryWatcher(watcher: MemoryWatcher | null): void {
    for (const mmu of this.mmus) {
      mmu.watcher = watcher;
      mmu.flush();
    }
  }

  // ---- running ------------------------------------------------------------------------------

  /**
   * Runs until the guest exits, a stop is requested, or about `budget` instructions have
   * retired on the first hart (the budget bounds host time, not guest semantics). With all
   * harts running, `budget` times the hart count retiring on all of them together also ends
   * the run: the first hart may sleep or be stopped while the others keep the host busy.
   * `singleHart` runs only that hart (the others stay frozen).
   */
  run(budget: number, singleHart?: number): RunResult {
    const feed = this.replayFeed;
    if (feed === null || this.replaying) return this.runSlices(budget, singleHart);
    for (;;) {
      if (this.exit !== null) return { kind: 'exit', exit: this.exit };
      const next = feed.nextAt();
      if (this.totalSteps() >= next) {
        feed.deliver();
        continue;
      }
      const limit = this.stepLimit;
      this.stepLimit = { ...limit, totalSteps: Math.min(limit.totalSteps, next) };
      let result: RunResult;
      try {
        result = this.runSlices(budget, singleHart);
      } finally {
        this.stepLimit = limit;
      }
      // Stopped at the next input's point (not at the caller's own limit): deliver it and go on.
      if (result.kind === 'budget' && this.totalSteps() === next && limit.totalSteps > next) continue;
      return result;
    }
  }

  private runSlices(budget: number, singleHart?: number): RunResult {
    if (this.exit !== null) return { kind: 'exit', exit: this.exit };
    this.performGuestReset();
    this.history?.beforeRun(singleHart);
    this.ramPristine = false;
    this.stopRequestedBy = -1;
    this.yieldingForTranslation = false;
    const smp = this.harts.length > 1 && singleHart === undefined;
    const quantum = (smp ? QUANTUM_SMP : QUANTUM_SINGLE_HART) * 2 ** this.config.icountShift;
    // A hart run alone (a debugger step) always skips its waits: nothing else can wake it in wall time.
    const pace = this.config.idle === 'pace' && singleHart === undefined;
    const first = singleHart !== undefined ? this.harts[singleHart] : this.harts[0];
    const budgetEnd = first.instructionsRetired + budget;
    const allHartsBudgetEnd = smp ? this.totalInstructionsRetired() + budget * this.harts.length : Infinity;
    while (true) {
      const windowEnd = this.windowStart + quantum;
      let anyRan = false;
      for (const hart of this.harts) {
        if (singleHart !== undefined && hart.hartId !== singleHart) continue;
        if (this.hartStates[hart.hartId] !== HartState.Started) continue;
        // When pacing, a lone hart's wait goes back to the host at once; among running harts a wait lasts to the window's end.
        const sleepInWindow = !pace || othersRunning(this, hart);
        const ran = this.runHartUntil(hart, singleHart !== undefined ? Infinity : windowEnd, hart === first ? budgetEnd : Infinity, sleepInWindow);
        anyRan = anyRan || ran;
        if (this.exit !== null) return { kind: 'exit', exit: this.exit };
        // After a reset the budget (counted in retired instructions) no longer applies: return.
        if (this.performGuestReset()) return { kind: 'budget' };
        if (this.stopRequestedBy >= 0) return { kind: 'stop', hartId: this.stopRequestedBy };
        if (hart === first && first.instructionsRetired >= budgetEnd) return { kind: 'budget' };
        if (this.stepAllowance(hart) <= 0) return { kind: 'budget' };
        // Only after progress: a run that returned before skipping an idle wait would never get past it.
        if (ran && (this.attentionRequested() || this.translationWaiting())) return { kind: 'budget' };
        if (smp && this.totalInstructionsRetired() >= allHartsBudgetEnd) return { kind: 'budget' };
      }
      // A hart running alone that is stopped (HSM) can only be started by one of the frozen others.
      if (singleHart !== undefined && this.hartStates[singleHart] !== HartState.Started) return { kind: 'budget' };
      const candidates = singleHart !== undefined ? [first] : this.harts.filter((hart) => this.hartStates[hart.hartId] === HartState.Started);
      if (!anyRan && candidates.every((hart) => hart.waitingForInterrupt && (hart.mip & hart.mie) === 0)) {
        // Everyone sleeps in wfi: let the host pace the wait, jump time to the next timer event, or give up.
        const timerPending = this.nextTimerEventNanoseconds() !== Infinity;
        if (pace && (timerPending || this.externalInputPossible())) {
          this.settleIdleWindow();
          return { kind: 'idle' };
        }
        if (!this.skipIdleTime(candidates)) {
          // One hart running alone may be waiting for one of the frozen others: no deadlock.
          if (singleHart !== undefined) return { kind: 'budget' };
          if (this.externalInputPossible()) return { kind: 'idle' };
          return this.deadlock();
        }
        continue;
      }
      if (singleHart === undefined) {
        // The window moves on as far as every hart got (one that went back to the host to wait stays behind).
        let slowest = windowEnd;
        for (const hart of candidates) slowest = Math.min(slowest, hart.virtualNanoseconds);
        this.windowStart = Math.max(slowest, this.windowStart);
      }
    }
  }

  /**
   * While every hart waits: the scheduling window starts where the slowest hart got, however
   * the runs before were cut. A run that returns idle does this; a replay (or history) that
   * stops right after the `wfi` by a step limit does it before it delivers the input, so both
   * go on from the same window (with several harts the window decides how they interleave).
   */
  settleIdleWindow(): void {
    if (!this.isIdle()) return;
    let slowest = Infinity;
    for (const hart of this.harts) if (this.hartStates[hart.hartId] === HartState.Started) slowest = Math.min(slowest, hart.virtualNanoseconds);
    if (slowest !== Infinity) this.windowStart = Math.max(this.windowStart, slowest);
  }

  /** Another thread asked the host to serve it (see `attention`). */
  attentionRequested(): boolean {
    const attention = this.attention;
    return attention !== null && Atomics.load(attention, 0) !== 0;
  }

  /** Regions compiling in the background want the host's event loop to turn (TranslationTier.takeYieldRequest); stays set for the rest of the run. */
  private translationWaiting(): boolean {
    if (this.yieldingForTranslation) return true;
    const translation = this.translation;
    this.yieldingForTranslation = translation !== null && translation.takeYieldRequest();
    return this.yieldingForTranslation;
  }

  private totalInstructionsRetired(): number {
    let total = 0;
    for (const hart of this.harts) total += hart.instructionsRetired;
    return total;
  }

  private deadlock(): RunResult {
    this.fail(this.harts[0], 'every hart waits for an interrupt and no timer or device event is pending');
    return { kind: 'exit', exit: this.exit! };
  }

  /** True when every started hart waits for an interrupt and none is pending (the host may sleep). */
  isIdle(): boolean {
    let started = 0;
    for (const hart of this.harts) {
      if (this.hartStates[hart.hartId] !== HartState.Started) continue;
      started++;
      if (!hart.waitingForInterrupt || (hart.mip & hart.mie) !== 0) return false;
    }
    return started > 0 && this.exit === null;
  }

  /**
   * While every hart waits: moves virtual time forward to `nanoseconds` (never past the next
   * timer event), as if the harts had slept that long. The host calls it after pacing a wait
   * in wall time, before delivering the input that ended it.
   */
  advanceIdleTime(nanoseconds: number): void {
    if (!this.isIdle()) return;
    const next = this.nextTimerEventNanoseconds();
    const target = Math.min(nanoseconds, next);
    if (!Number.isFinite(target)) return;
    // Woken before the timer (input arrived): where time stopped came from outside.
    if (target < next) {
      this.history?.externalChange();
      this.inputRecorder?.idleAdvance(target);
    }
    let slowest = Infinity;
    for (const hart of this.harts) {
      if (this.hartStates[hart.hartId] !== HartState.Started) continue;
      if (hart.virtualNanoseconds < target) hart.idleNanoseconds += target - hart.virtualNanoseconds;
      slowest = Math.min(slowest, hart.virtualNanoseconds);
    }
    if (slowest !== Infinity) this.windowStart = Math.max(this.windowStart, slowest);
    this.sampleDevices();
  }

  /** Virtual time in ns: the running hart's, or between runs the time every started hart has reached. */
  get virtualNanoseconds(): number {
    return this.currentNanoseconds();
  }

  /** All harts wait: jump time to the next timer event. Returns false when there is none. */
  private skipIdleTime(harts: readonly Hart[]): boolean {
    if (harts.length === 0) return false;
    const next = this.nextTimerEventNanoseconds();
    if (next === Infinity) return false;
    for (const hart of harts) {
      if (hart.virtualNanoseconds < next) hart.idleNanoseconds += next - hart.virtualNanoseconds;
    }
    this.windowStart = Math.max(this.windowStart, Math.min(...harts.map((hart) => hart.virtualNanoseconds)));
    return true;
  }

  /**
   * Runs one hart up to virtual time `until` (ns). Returns true if it executed anything. A hart
   * that waits sleeps to the window's end or the next timer event when `sleepInWindow`, else returns.
   */
  private runHartUntil(hart: Hart, until: number, budgetEnd: number, sleepInWindow: boolean): boolean {
    const mmu = this.mmus[hart.hartId];
    let ran = false;
    this.runningHart = hart;
    // Another hart's stores are not tracked against reservations: running this hart breaks
    // theirs. A hart stepped alone keeps its own, so stepping through LR/SC works.
    for (const other of this.harts) if (other !== hart) other.reservationAddress = -1;
    try {
      // Only this hart moves until it returns: its own steps reach the limit.
      const stepLimit = hartSteps(hart) + this.stepAllowance(hart);
      while (hart.virtualNanoseconds < until && hart.instructionsRetired < budgetEnd && hartSteps(hart) < stepLimit) {
        this.sampleDevices();
        if (hart.waitingForInterrupt) {
          if ((hart.mip & hart.mie) === 0) {
            if (!sleepInWindow) return ran;
            // Sleep to the end of the window or the next timer event, whichever is first.
            const next = Math.min(until, this.nextTimerEventNanoseconds());
            if (next === Infinity || next <= hart.virtualNanoseconds) return ran;
            hart.idleNanoseconds += next - hart.virtualNanoseconds;
            continue;
          }
          hart.waitingForInterrupt = false;
        }
        const observer = this.instructionObserver;
        const interrupted = this.monitor.takePendingInterrupt(hart);
        if (interrupted) observer?.interruptTaken(hart);
        if (interrupted && this.stopRequestedBy >= 0) return true;
        // Taking the interrupt was the step history wanted to land after.
        if (interrupted && hartSteps(hart) >= stepLimit) return true;
        // Slices end where the window or the next timer event begins, in whole instructions.
        const now = hart.virtualNanoseconds;
        const perInstruction = hart.nanosecondsPerInstruction;
        const untilTimer = this.nextTimerEventNanoseconds() - now;
        const slice = Math.max(1, Math.min(Math.ceil((until - now) / perInstruction), budgetEnd - hart.instructionsRetired,
          Math.ceil(untilTimer / perInstruction), stepLimit - hartSteps(hart)));
        if (observer === null) {
          if (this.translation !== null) this.translation.run(hart, mmu, this.monitor, slice);
          else runInterpreter(hart, mmu, this.monitor, slice);
        } else {
          // One attempt per interpreter call, so a trap and its handler's first instruction are seen apart.
          observer.beforeInstruction(hart);
          runInterpreter(hart, mmu, this.monitor, 1);
          observer.afterInstruction(hart);
        }
        ran = true;
        // A device access ends the slice, so this counts one exit per instruction that touched a device.
        if (mmu.deviceAccessed) {
          this.monitor.exits.countIndex(ExitIndex.DeviceAccess);
          mmu.deviceAccessed = false;
        }
        if (this.guestResetRequested) return true;
        if (this.htif !== null) this.htif.poll();
        if (this.exit !== null || this.stopRequestedBy >= 0) return true;
        if (this.hartStates[hart.hartId] !== HartState.Started) return true;
        if (this.attentionRequested() || this.translationWaiting()) return true;
      }
      return ran;
    } finally {
      this.sampleDevices();
      this.runningHart = null;
    }
  }

  private sampleDevices(): void {
    this.clint.update();
    this.rtc.update();
    this.updateSupervisorTimers();
  }

  // ---- snapshots ----------------------------------------------------------------------------

  /**
   * The state of every hart and device and of the run loop, RAM aside (snapshot.ts keeps RAM
   * in a section of its own). Taken between runs; translated code and TLBs are caches, not state.
   */
  saveState(): StateRecord {
    const exit = this.exit;
    return {
      harts: this.harts.map((hart) => hart.saveState()),
      hartStates: [...this.hartStates],
      supervisorTimerDeadline: [...this.supervisorTimerDeadline],
      windowStart: this.windowStart,
      exit: exit === null ? null : exit.kind === 'error'
        ? { kind: exit.kind, message: exit.message, hartId: exit.hartId }
        : { kind: exit.kind, code: exit.code, source: exit.source },
      guestResetRequested: this.guestResetRequested,
      sbiConsoleInput: Uint8Array.from(this.sbiConsoleInput),
      sbiConsoleInputUsed: this.sbiConsoleInputUsed,
      lastConsoleWriter: this.lastConsoleWriter,
      consoleInputTarget: this.consoleInputTarget,
      clint: this.clint.saveState(),
      plic: this.plic.saveState(),
      uart: this.uart.saveState(),
      rtc: this.rtc.saveState(),
      htif: this.htif?.saveState() ?? null,
      virtio: this.virtioSlots.map((entry) => ({
        slot: entry.slot,
        kind: entry.kind,
        transport: entry.transport.saveState() as unknown as StateRecord,
        // A seeded entropy stream is guest-visible state: where it has got to.
        entropyPosition: entry.device instanceof VirtioEntropyDevice && entry.device.source instanceof SeededEntropySource
          ? entry.device.source.position : null,
      })),
    };
  }

  /**
   * Puts back what saveState returned, from a machine built from the same configuration. A
   * field that does not fit fails with a SnapshotError naming it, and the machine is left as
   * it was before the call (never half restored). `fillRam` then writes guest RAM.
   */
  restoreState(state: StateReader, fillRam?: (ram: Uint8Array) => void): void {
    const before = this.saveState();
    try {
      this.applyState(state, true);
    } catch (error) {
      this.applyState(new StateReader(before, 'rollback'), true);
      throw error;
    }
    // RAM last: the caller checked it whole before, so nothing can fail once it is written.
    if (fillRam !== undefined) {
      fillRam(this.ram.bytes);
      this.translation?.reset();
      for (const mmu of this.mmus) mmu.flush();
    }
    this.history?.externalChange();
  }

  /**
   * Execution history going back to a checkpoint: puts back a state this machine saved itself
   * (so it cannot fail) while keeping the translated code, which history invalidates page by
   * page for the RAM it puts back.
   */
  restoreOwnState(state: StateRecord): void {
    this.applyState(new StateReader(state, 'history'), false);
  }

  private applyState(state: StateReader, dropTranslations: boolean): void {
    const harts = state.records('harts', this.harts.length);
    const hartStates = state.integers('hartStates', HartState.Started, HartState.StopPending, this.harts.length) as HartState[];
    const deadlines = state.array('supervisorTimerDeadline', this.harts.length).map((value, index) => {
      if (typeof value !== 'number' || !(value === Infinity || (Number.isInteger(value) && value >= 0))) {
        throw new SnapshotError(`${state.path}.supervisorTimerDeadline[${index}]: expected a tick count or Infinity`);
      }
      return value;
    });
    const windowStart = state.nonNegative('windowStart');
    const exit = readExit(state);
    const guestResetRequested = state.boolean('guestResetRequested');
    const sbiConsoleInput = state.bytes('sbiConsoleInput');
    const sbiConsoleInputUsed = state.boolean('sbiConsoleInputUsed');
    const lastConsoleWriter = state.choice('lastConsoleWriter', ['serial', 'virtio'] as const);
    const consoleInputTarget = state.choice('consoleInputTarget', ['auto', 'serial', 'virtio'] as const);
    const virtio = state.records('virtio', this.virtioSlots.length);
    const transports = virtio.map((entry, index) => {
      const slot = this.virtioSlots[index];
      const kind = entry.string('kind');
      if (entry.integer('slot', 0, VIRTIO_MMIO_SLOTS - 1) !== slot.slot || kind !== slot.kind) {
        throw new SnapshotError(`${entry.path}: a ${kind} device in slot ${entry.number('slot')} does not fit this machine's ${slot.kind} device in slot ${slot.slot}`);
      }
      const entropyPosition = entry.nullableInteger('entropyPosition', 0);
      const source = slot.device instanceof VirtioEntropyDevice ? slot.device.source : undefined;
      if ((entropyPosition !== null) !== (source instanceof SeededEntropySource)) {
        throw new SnapshotError(`${entry.path}.entropyPosition: the snapshot's entropy source and this machine's differ (seeded or host)`);
      }
      return { transport: slot.transport.checkState(entry.child('transport')), entropyPosition };
    });
    const htif = state.isNull('htif') ? null : state.child('htif');
    if ((htif === null) !== (this.htif === null)) {
      throw new SnapshotError(`${state.path}.htif: the snapshot ${htif === null ? 'has no' : 'has an'} HTIF, this machine ${this.htif === null ? 'has none' : 'has one'}`);
    }
    // Devices first (they drive interrupt lines), then the harts, whose saved mip wins.
    this.virtioSlots.forEach((slot, index) => {
      const { transport, entropyPosition } = transports[index];
      slot.transport.restoreState(transport);
      if (entropyPosition !== null) ((slot.device as VirtioEntropyDevice).source as SeededEntropySource).seek(entropyPosition);
    });
    this.uart.restoreState(state.child('uart'));
    this.rtc.restoreState(state.child('rtc'));
    this.clint.restoreState(state.child('clint'));
    this.plic.restoreState(state.child('plic'));
    if (htif !== null) this.htif!.restoreState(htif);
    this.harts.forEach((hart, index) => hart.restoreState(harts[index]));
    hartStates.forEach((value, index) => (this.hartStates[index] = value));
    deadlines.forEach((value, index) => (this.supervisorTimerDeadline[index] = value));
    this.windowStart = windowStart;
    this.exit = exit;
    this.guestResetRequested = guestResetRequested;
    this.sbiConsoleInput.length = 0;
    this.sbiConsoleInput.push(...sbiConsoleInput);
    this.sbiConsoleInputUsed = sbiConsoleInputUsed;
    this.lastConsoleWriter = lastConsoleWriter;
    this.consoleInputTarget = consoleInputTarget;
    this.ramPristine = false;
    this.stopRequestedBy = -1;
    this.yieldingForTranslation = false;
    this.runningHart = null;
    // Cached translations and TLB entries describe the RAM and page tables before the restore.
    if (dropTranslations) this.translation?.reset();
    for (const mmu of this.mmus) mmu.flush();
  }

  // ---- memory for tools -------------------------------------------------------------------

  readPhysical(address: bigint, length: number): Uint8Array | undefined {
    if (length < 0 || address < 0n || address > 0xffffffffn) return undefined;
    const start = Number(address);
    if (!this.ram.contains(start, length)) return undefined;
    return this.ram.bytes.slice(start - RAM_BASE, start - RAM_BASE + length);
  }

  writePhysical(address: bigint, data: Uint8Array): boolean {
    if (address < 0n || address > 0xffffffffn) return false;
    const start = Number(address);
    if (!this.ram.contains(start, data.length)) return false;
    this.ramPristine = false;
    this.history?.externalChange();
    this.ram.noteWriteAhead(start - RAM_BASE, data.length);
    this.ram.bytes.set(data, start - RAM_BASE);
    this.translation?.noteWrite(start - RAM_BASE, data.length);
    return true;
  }

  /** Instruction bits at a hart's pc for traces (no side effects); undefined when unmapped. */
  readPhysicalForTrace(hart: Hart, pc: bigint): { raw: number; length: 2 | 4 } | undefined {
    const physical = walkForDebugger(this, hart, pc);
    if (physical === undefined) return undefined;
    const low = this.readPhysical(physical, 2);
    if (low === undefined) return undefined;
    const first = low[0] | (low[1] << 8);
    if ((first & 3) !== 3) return { raw: first, length: 2 };
    const high = walkForDebugger(this, hart, pc + 2n);
    const next = high === undefined ? undefined : this.readPhysical(high, 2);
    if (next === undefined) return undefined;
    return { raw: (first | (next[0] << 16) | (next[1] << 24)) >>> 0, length: 4 };
  }

  /** The kernel ELF, when one was loaded (symbols for tools). */
  get kernelElf(): ElfImage | undefined {
    return this.images.find((image) => image.role === 'kernel')?.elf;
  }
}

/** The saved exit of a machine that had ended, or null. */
function readExit(state: StateReader): MachineExit | null {
  if (state.isNull('exit')) return null;
  const exit = state.child('exit');
  const kind = exit.choice('kind', ['pass', 'fail', 'error'] as const);
  if (kind === 'error') return { kind, message: exit.string('message'), hartId: exit.integer('hartId', 0, MAX_HARTS - 1) };
  const source = exit.choice('source', ['finisher', 'htif', 'sbi'] as const);
  if (kind === 'pass') return { kind, code: 0, source };
  return { kind, code: exit.integer('code', -(2 ** 64), 2 ** 64), source };
}

/** True when a started hart other than `hart` is not waiting for an interrupt. */
function othersRunning(machine: Machine, hart: Hart): boolean {
  for (const other of machine.harts) {
    if (other === hart || machine.hartStates[other.hartId] !== HartState.Started) continue;
    if (!(other.waitingForInterrupt && (other.mip & other.mie) === 0)) return true;
  }
  return false;
}

/** Slots for the virtio devices: given ones first, the rest from the top down in order (QEMU's placement). */
function assignVirtioSlots(devices: readonly VirtioDeviceConfig[]): Map<number, VirtioDeviceConfig> {
  const placement = new Map<number, VirtioDeviceConfig>();
  for (const device of devices) if (device.slot !== undefined) placement.set(device.slot, device);
  let next = VIRTIO_MMIO_SLOTS - 1;
  for (const device of devices) {
    if (device.slot !== undefined) continue;
    while (placement.has(next)) next--;
    if (next < 0) throw new MachineError(`more virtio devices than the ${VIRTIO_MMIO_SLOTS} virtio-mmio slots`);
    placement.set(next, device);
  }
  return placement;
}

/** QEMU's default MAC for the first NIC (52:54:00:12:34:56), counting up for the next ones. */
function defaultMac(index: number): Uint8Array {
  return Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + index);
}

export { parseElf };
