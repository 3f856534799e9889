// Device and hart state for the "device state" custom request and the devices/harts tree views:
// JSON-friendly (numbers where they fit, hex strings for 64-bit values), read without side
// effects (no UART FIFO pops, no PLIC claims).

import { privilegeName } from '../../vmm-core/cpu/csr-numbers';
import { splitCause, trapName, INTERRUPT_CAUSES } from '../../vmm-core/isa/csr-fields';
import {
  PLIC_SOURCE_COUNT, RAM_BASE, RTC_IRQ, UART0_IRQ, VIRTIO_MMIO_SLOTS, virtioMmioIrq,
} from '../../vmm-core/machine/layout';
import type { Machine, MachineExit } from '../../vmm-core/machine/machine';
import { formatHex } from './format';
import { hartStateName, type HartFacts } from './registers';

export interface BusDevice {
  readonly name: string;
  readonly base: number;
  readonly size: number;
}

export interface ClintHartState {
  readonly hartId: number;
  /** Machine software interrupt pending (the msip register). */
  readonly msip: boolean;
  /** mtimecmp in hex (0xffffffffffffffff = never). */
  readonly mtimecmp: string;
  /** MTIP as the CLINT drives it. */
  readonly timerPending: boolean;
  /** mtime ticks until mtimecmp, when it is ahead and reachable. */
  readonly ticksUntilTimer?: number;
}

export interface PlicSourceState {
  readonly irq: number;
  /** The device wired to it, when one is. */
  readonly device?: string;
  readonly priority: number;
  readonly pending: boolean;
  readonly claimed: boolean;
  readonly lineAsserted: boolean;
  /** Contexts that have it enabled. */
  readonly enabledIn: readonly number[];
  /** Times a hart has claimed it since the machine was built. */
  readonly claims: number;
}

export interface PlicContextState {
  readonly context: number;
  readonly hartId: number;
  readonly mode: 'M' | 'S';
  readonly threshold: number;
  readonly enabled: readonly number[];
  /** What a claim would return now (0 = nothing). */
  readonly claimable: number;
  /** MEIP/SEIP as the PLIC drives it. */
  readonly asserted: boolean;
}

export interface DeviceState {
  readonly ram: { readonly base: number; readonly size: number };
  readonly devices: readonly BusDevice[];
  readonly clint: { readonly mtime: number; readonly harts: readonly ClintHartState[] };
  readonly plic: {
    /** Sources with a device, a priority, a pending/claimed request, a raised line or an enable. */
    readonly sources: readonly PlicSourceState[];
    readonly contexts: readonly PlicContextState[];
  };
  readonly uart: {
    readonly irq: number;
    readonly registers: {
      readonly RBR: number | null; readonly IER: number; readonly IIR: number; readonly FCR: number; readonly LCR: number;
      readonly MCR: number; readonly LSR: number; readonly MSR: number; readonly SCR: number; readonly divisor: number;
    };
    /** Input bytes the guest has not read (FIFO and the queue behind it). */
    readonly pendingInput: number;
    readonly fifoCount: number;
    readonly interruptAsserted: boolean;
    /** Bytes the guest transmitted and read, host bytes queued for it and refused (queue full). */
    readonly counters: { readonly transmitted: number; readonly received: number; readonly inputAccepted: number; readonly inputRefused: number };
  };
  readonly rtc: {
    readonly irq: number;
    /** Nanoseconds since the Unix epoch, as a decimal string. */
    readonly time: string;
    readonly timeIso: string;
    readonly alarm: string;
    readonly alarmArmed: boolean;
    readonly interruptPending: boolean;
    readonly interruptEnabled: boolean;
  };
  readonly finisher: { readonly exit: MachineExit | null };
  /** The virtio devices in their slots, with what the driver negotiated and what has moved. */
  readonly virtio: readonly VirtioSlotState[];
  readonly htif?: { readonly tohost: number; readonly fromhost?: number; readonly exitCode?: number };
}

export interface VirtioQueueView {
  readonly index: number;
  readonly size: number;
  readonly ready: boolean;
  /** Requests the device has taken (avail index it has reached) and returned (used index). */
  readonly availConsumed: number;
  readonly used: number;
  readonly descriptorTable: string;
}

export interface VirtioSlotState {
  readonly slot: number;
  readonly base: number;
  readonly irq: number;
  /** virtio-blk, virtio-net, virtio-rng, virtio-console. */
  readonly type: string;
  /** The host side: "raw disk.img", "user-mode network 10.0.2.0/24", … */
  readonly backend?: string;
  readonly transportVersion: 1 | 2;
  /** Status bits by name, e.g. ACKNOWLEDGE DRIVER FEATURES_OK DRIVER_OK. */
  readonly status: readonly string[];
  /** Features the driver and device agreed on, as hex. */
  readonly negotiatedFeatures: string;
  readonly needsResetReason: string | null;
  readonly interruptStatus: number;
  readonly queues: readonly VirtioQueueView[];
  /** Transport counters (notifies, interrupts, errors, resets) and the device's own (requests, bytes, drops). */
  readonly counters: Readonly<Record<string, number>>;
  /** Network cards: MAC and cable state. */
  readonly mac?: string;
  readonly linkUp?: boolean;
  readonly readOnly?: boolean;
}

const VIRTIO_STATUS_BITS: ReadonlyArray<[number, string]> = [
  [1, 'ACKNOWLEDGE'], [2, 'DRIVER'], [8, 'FEATURES_OK'], [4, 'DRIVER_OK'], [0x40, 'NEEDS_RESET'], [0x80, 'FAILED'],
];

function virtioSlots(machine: Machine): VirtioSlotState[] {
  return machine.virtioSlots.map((slot) => {
    const state = slot.transport.saveState();
    const device = slot.device as unknown as { counters?: Record<string, number>; backend?: { description: string }; mac?: Uint8Array; linkUp?: boolean; readOnly?: boolean };
    const counters: Record<string, number> = { ...state.counters };
    for (const [name, value] of Object.entries(device.counters ?? {})) if (typeof value === 'number') counters[name] = value;
    const [low, high] = state.negotiatedFeatures;
    return {
      slot: slot.slot,
      base: slot.base,
      irq: slot.irq,
      type: slot.device.typeName,
      ...(device.backend !== undefined ? { backend: device.backend.description } : {}),
      transportVersion: state.version,
      status: VIRTIO_STATUS_BITS.filter(([bit]) => (state.status & bit) !== 0).map(([, name]) => name),
      negotiatedFeatures: `0x${((BigInt(high >>> 0) << 32n) | BigInt(low >>> 0)).toString(16)}`,
      needsResetReason: state.needsResetReason,
      interruptStatus: state.interruptStatus,
      queues: state.queues.map((queue, index) => ({
        index, size: queue.size, ready: queue.ready, availConsumed: queue.lastAvailIndex, used: queue.usedIndex,
        descriptorTable: `0x${queue.descriptorTable.toString(16)}`,
      })),
      counters,
      ...(device.mac !== undefined ? { mac: Array.from(device.mac, (byte) => byte.toString(16).padStart(2, '0')).join(':') } : {}),
      ...(device.linkUp !== undefined ? { linkUp: device.linkUp } : {}),
      ...(slot.kind === 'block' && device.readOnly !== undefined ? { readOnly: device.readOnly } : {}),
    };
  });
}

const NEVER = (1n << 64n) - 1n;

function wiredDevice(irq: number): string | undefined {
  if (irq === UART0_IRQ) return 'uart0';
  if (irq === RTC_IRQ) return 'rtc';
  for (let slot = 0; slot < VIRTIO_MMIO_SLOTS; slot++) if (virtioMmioIrq(slot) === irq) return `virtio-mmio-${slot}`;
  return undefined;
}

function isoTime(nanoseconds: bigint): string {
  const milliseconds = Number(nanoseconds / 1_000_000n);
  const date = new Date(milliseconds);
  return Number.isNaN(date.getTime()) ? '(out of range)' : date.toISOString();
}

/** Every device on the bus and the state of the CLINT, PLIC, UART, RTC, finisher and HTIF. */
export function deviceState(machine: Machine): DeviceState {
  const { clint, plic, uart, rtc, htif } = machine;
  const mtime = clint.mtime();
  const harts = machine.harts.map((hart): ClintHartState => {
    const compare = clint.mtimecmp(hart.hartId);
    const ahead = compare !== NEVER && compare > BigInt(mtime) && compare - BigInt(mtime) <= BigInt(Number.MAX_SAFE_INTEGER);
    return {
      hartId: hart.hartId,
      msip: clint.softwareInterruptPending(hart.hartId),
      mtimecmp: formatHex(compare),
      timerPending: clint.timerInterruptPending(hart.hartId),
      ...(ahead ? { ticksUntilTimer: Number(compare - BigInt(mtime)) } : {}),
    };
  });

  const contexts: PlicContextState[] = [];
  for (let context = 0; context < plic.contextCount; context++) {
    const enabled: number[] = [];
    for (let irq = 1; irq < PLIC_SOURCE_COUNT; irq++) if (plic.isEnabled(context, irq)) enabled.push(irq);
    contexts.push({
      context, hartId: context >>> 1, mode: (context & 1) === 0 ? 'M' : 'S', threshold: plic.contextThreshold(context),
      enabled, claimable: plic.peekClaim(context), asserted: plic.isContextAsserted(context),
    });
  }
  const sources: PlicSourceState[] = [];
  for (let irq = 1; irq < PLIC_SOURCE_COUNT; irq++) {
    const device = wiredDevice(irq);
    const enabledIn = contexts.filter((context) => context.enabled.includes(irq)).map((context) => context.context);
    const state = {
      irq, ...(device === undefined ? {} : { device }), priority: plic.sourcePriority(irq), pending: plic.isPending(irq),
      claimed: plic.isClaimed(irq), lineAsserted: plic.isLineAsserted(irq), enabledIn, claims: plic.claimCount(irq),
    };
    if (device !== undefined || state.priority > 0 || state.pending || state.claimed || state.lineAsserted || enabledIn.length > 0 || state.claims > 0) {
      sources.push(state);
    }
  }

  const registers = uart.registerSnapshot();
  const alarm = rtc.alarmState();
  const now = rtc.now();
  return {
    ram: { base: RAM_BASE, size: machine.config.memoryBytes },
    devices: machine.bus.devices.map((mapping) => ({ name: mapping.device.name, base: mapping.base, size: mapping.size })),
    clint: { mtime, harts },
    plic: { sources, contexts },
    uart: {
      irq: UART0_IRQ,
      registers: {
        RBR: registers.receiveBuffer ?? null, IER: registers.interruptEnable, IIR: registers.interruptIdentification,
        FCR: registers.fifoControl, LCR: registers.lineControl, MCR: registers.modemControl, LSR: registers.lineStatus,
        MSR: registers.modemStatus, SCR: registers.scratch, divisor: registers.divisor,
      },
      pendingInput: uart.pendingInputLength,
      fifoCount: registers.fifoCount,
      interruptAsserted: uart.interruptAsserted,
      counters: { ...uart.counters },
    },
    rtc: {
      irq: RTC_IRQ, time: now.toString(), timeIso: isoTime(now), alarm: alarm.alarm.toString(), alarmArmed: alarm.armed,
      interruptPending: alarm.interruptPending, interruptEnabled: alarm.interruptEnabled,
    },
    finisher: { exit: machine.exit },
    virtio: virtioSlots(machine),
    ...(htif === null ? {} : {
      htif: {
        tohost: htif.addresses.tohost,
        ...(htif.addresses.fromhost === undefined ? {} : { fromhost: htif.addresses.fromhost }),
        ...(htif.exitCode === undefined ? {} : { exitCode: htif.exitCode }),
      },
    }),
  };
}

export interface HartSummary {
  readonly hartId: number;
  readonly state: HartFacts['state'];
  readonly privilege: 'U' | 'S' | 'M';
  readonly pc: string;
  readonly waitingForInterrupt: boolean;
  readonly instructionsRetired: number;
  readonly trapsTaken: number;
  readonly virtualNanoseconds: number;
  readonly translation: 'bare' | 'sv39' | 'sv48' | 'sv57';
  /** Names of the pending interrupts (mip), e.g. MTIP. */
  readonly pendingInterrupts: readonly string[];
  /** Pending and enabled (mip & mie): what will be taken once the privilege and xIE allow. */
  readonly enabledPendingInterrupts: readonly string[];
  /** The last trap into M-mode and into S-mode, as mcause/scause describe it ("page fault on store (15)"). */
  readonly machineCause: string;
  readonly supervisorCause: string;
}

function interruptBitNames(bits: number): string[] {
  const names: string[] = [];
  for (const cause of INTERRUPT_CAUSES) {
    if ((bits & (1 << cause.code)) === 0) continue;
    const level = cause.name.startsWith('Machine') ? 'M' : 'S';
    const kind = cause.name.includes('software') ? 'S' : cause.name.includes('timer') ? 'T' : 'E';
    names.push(`${level}${kind}IP`);
  }
  return names;
}

function causeText(lo: number, hi: number): string {
  const { interrupt, code } = splitCause((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  return `${trapName(interrupt, code)} (${code})`;
}

/** One line of facts per hart, for the harts view and the status bar. */
export function hartSummary(machine: Machine): HartSummary[] {
  return machine.harts.map((hart) => {
    const mode = hart.satpHi >>> 28;
    return {
      hartId: hart.hartId,
      state: hartStateName(machine, hart.hartId),
      privilege: privilegeName(hart.privilege),
      pc: formatHex(hart.pc),
      waitingForInterrupt: hart.waitingForInterrupt,
      instructionsRetired: hart.instructionsRetired,
      trapsTaken: hart.trapsTaken,
      virtualNanoseconds: hart.virtualNanoseconds,
      translation: mode === 10 ? 'sv57' : mode === 9 ? 'sv48' : mode === 8 ? 'sv39' : 'bare',
      pendingInterrupts: interruptBitNames(hart.mip),
      enabledPendingInterrupts: interruptBitNames(hart.mip & hart.mie),
      machineCause: causeText(hart.mcauseLo, hart.mcauseHi),
      supervisorCause: causeText(hart.scauseLo, hart.scauseHi),
    };
  });
}
