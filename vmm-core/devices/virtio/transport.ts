// The virtio-mmio transport (virtio 1.2 §4.2): the register file a driver sees at one slot,
// the device status state machine, 64-bit feature negotiation through two 32-bit windows, queue
// setup (modern QueueReady/address registers, or legacy GuestPageSize/QueueAlign/QueuePFN),
// notifications, the interrupt status and config generation. One class for every device type:
// a VirtioDevice plugs in behind it.
//
// Processing is synchronous: a QueueNotify write runs the device's request handling before the
// write returns, so completions land at a deterministic instruction. Any error while doing so
// (a malformed descriptor chain, an address outside RAM, a bug) is caught here and sets
// DEVICE_NEEDS_RESET with a config-change interrupt, as QEMU's virtio_error does; the device
// then ignores the driver until it writes 0 to Status.

import type { GuestMemory } from '../../memory/guest-memory';
import type { InterruptLine, MmioDevice } from '../device';
import {
  VIRTIO_MMIO_MAGIC_VALUE,
  VIRTIO_MMIO_VENDOR_ID,
  VirtioFeature,
  VirtioInterrupt,
  VirtioMmioRegister as Register,
  VirtioStatus,
} from './constants';
import { SnapshotError, type StateReader } from '../../machine/state';
import { FeatureBits } from './features';
import type { JsonObject, VirtioDevice, VirtioDeviceContext } from './virtio-device';
import { readLittleEndian } from './virtio-device';
import { VirtQueue, VirtioError, hex, type VirtQueueState } from './virtqueue';

export interface VirtioMmioTransportOptions {
  device: VirtioDevice;
  memory: GuestMemory;
  irq: InterruptLine;
  /** 2 (modern, the default) or 1 (legacy, as QEMU 7.2's default force-legacy=true). */
  version?: 1 | 2;
  /** For messages: "virtio-mmio@10008000". Default "virtio-mmio (<device type>)". */
  name?: string;
  /** Where protocol errors and leniency notes go. Default: nowhere (the reason stays in `needsResetReason`). */
  log?: (message: string) => void;
}

export type VirtioTransportCounters = {
  /** QueueNotify writes handed to the device. */
  notifies: number;
  /** QueueNotify writes ignored: before DRIVER_OK, while NEEDS_RESET, or for a queue that is not set up. */
  ignoredNotifies: number;
  /** Used-buffer interrupts raised. */
  interrupts: number;
  /** Used buffers returned while the driver had interrupts suppressed (EVENT_IDX or NO_INTERRUPT). */
  suppressedInterrupts: number;
  configInterrupts: number;
  /** Times the device went to DEVICE_NEEDS_RESET. */
  errors: number;
  /** Device resets (Status 0, or `reset()`). */
  resets: number;
};

/** Plain JSON-able transport state (the device's own is in `device`). */
export type VirtioTransportState = {
  version: 1 | 2;
  deviceId: number;
  status: number;
  deviceFeaturesSelect: number;
  driverFeaturesSelect: number;
  driverFeatures: [number, number];
  negotiatedFeatures: [number, number];
  featuresFinal: boolean;
  active: boolean;
  needsResetReason: string | null;
  queueSelect: number;
  interruptStatus: number;
  configGeneration: number;
  guestPageSize: number;
  queues: (VirtQueueState & { addressWords: number[]; legacyAlign: number; legacyPfn: number })[];
  counters: VirtioTransportCounters;
  device: JsonObject;
};

const TWO_TO_32 = 0x1_0000_0000;
const DEFAULT_LEGACY_PAGE_SIZE = 4096;
const DEFAULT_LEGACY_ALIGN = 4096;
/** Ring features every device gets from the transport. */
const RING_FEATURES = FeatureBits.of(VirtioFeature.IndirectDescriptors, VirtioFeature.EventIndex);

/** Per-queue register values the driver wrote that the queue itself does not keep. */
interface QueueRegisters {
  /** desc low/high, driver (avail) low/high, device (used) low/high, as written (modern). */
  addressWords: number[];
  legacyAlign: number;
  legacyPfn: number;
}

export class VirtioMmioTransport implements MmioDevice {
  readonly name: string;
  readonly version: 1 | 2;
  readonly device: VirtioDevice;
  /** The device's virtqueues, in device order. */
  readonly queues: readonly VirtQueue[];
  readonly counters: VirtioTransportCounters = {
    notifies: 0,
    ignoredNotifies: 0,
    interrupts: 0,
    suppressedInterrupts: 0,
    configInterrupts: 0,
    errors: 0,
    resets: 0,
  };
  /** Everything offered to the driver: device bits, ring bits, VERSION_1 (modern) or ANY_LAYOUT (legacy). */
  readonly offeredFeatures: FeatureBits;

  private readonly memory: GuestMemory;
  private readonly irq: InterruptLine;
  private readonly logSink: (message: string) => void;
  private readonly queueRegisters: QueueRegisters[];

  private statusValue = 0;
  private deviceFeaturesSelect = 0;
  private driverFeaturesSelect = 0;
  private driverFeatures = FeatureBits.none;
  private negotiated = FeatureBits.none;
  /** Features are fixed: FEATURES_OK accepted (modern) or DRIVER_OK reached. */
  private featuresFinal = false;
  private queueSelect = 0;
  private interruptStatusValue = 0;
  private generation = 0;
  private guestPageSize = DEFAULT_LEGACY_PAGE_SIZE;
  private active = false;
  private brokenReason: string | null = null;
  private lineLevel = false;
  private context: VirtioDeviceContext | null = null;
  private warnedAccessSize = false;

  constructor(options: VirtioMmioTransportOptions) {
    this.device = options.device;
    this.memory = options.memory;
    this.irq = options.irq;
    this.version = options.version ?? 2;
    if (this.version !== 1 && this.version !== 2) throw new RangeError(`virtio-mmio version must be 1 or 2, got ${String(this.version)}`);
    this.name = options.name ?? `virtio-mmio (${this.device.typeName})`;
    this.logSink = options.log ?? (() => {});
    this.queues = this.device.queueMaxSizes.map((maxSize, index) => {
      if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > 32768 || (maxSize & (maxSize - 1)) !== 0) {
        throw new RangeError(`${this.device.typeName}: queue ${index} maximum size ${maxSize} is not a power of two in 1..32768`);
      }
      return new VirtQueue(index, maxSize, this.memory, `${this.name} queue ${index}`);
    });
    this.queueRegisters = this.queues.map(() => freshQueueRegisters());
    const transportBits = this.legacy
      ? FeatureBits.of(VirtioFeature.AnyLayout)
      : FeatureBits.of(VirtioFeature.Version1);
    let offered = this.device.deviceFeatures.union(RING_FEATURES).union(transportBits);
    // The legacy interface has only 32 feature bits.
    if (this.legacy) offered = new FeatureBits(offered.low, 0);
    this.offeredFeatures = offered;
    this.device.bindConfigChange?.(() => this.notifyConfigChange());
  }

  get legacy(): boolean {
    return this.version === 1;
  }

  /** Device status register (including NEEDS_RESET when set). */
  get status(): number {
    return this.statusValue;
  }

  get interruptStatus(): number {
    return this.interruptStatusValue;
  }

  get configGeneration(): number {
    return this.generation;
  }

  /** The features in effect (meaningful once the driver set FEATURES_OK or DRIVER_OK). */
  get negotiatedFeatures(): FeatureBits {
    return this.negotiated;
  }

  /** The device has been activated by DRIVER_OK and not reset since. */
  get isActive(): boolean {
    return this.active;
  }

  /** Why the device is in DEVICE_NEEDS_RESET, or null. */
  get needsResetReason(): string | null {
    return this.brokenReason;
  }

  // ---- MMIO ------------------------------------------------------------------------------

  read(offset: number, size: 1 | 2 | 4): number {
    if (offset >= Register.Config) {
      return readLittleEndian(this.device.configSpace(), offset - Register.Config, size);
    }
    if (size !== 4 || offset % 4 !== 0) {
      this.noteAccessSize(offset, size);
      return 0;
    }
    const queue = this.selectedQueue();
    const registers = this.queueRegisters[this.queueSelect];
    switch (offset) {
      case Register.MagicValue:
        return VIRTIO_MMIO_MAGIC_VALUE;
      case Register.Version:
        return this.version;
      case Register.DeviceId:
        return this.device.deviceId;
      case Register.VendorId:
        return VIRTIO_MMIO_VENDOR_ID;
      case Register.DeviceFeatures:
        return this.offeredFeatures.word(this.deviceFeaturesSelect);
      case Register.QueueNumMax:
        return queue ? queue.maxSize : 0;
      case Register.QueueNum:
        return queue ? queue.size : 0;
      case Register.QueueReady:
        return !this.legacy && queue?.ready ? 1 : 0;
      case Register.QueuePfn:
        return this.legacy && registers ? registers.legacyPfn : 0;
      case Register.QueueAlign:
        return this.legacy && registers ? registers.legacyAlign : 0;
      case Register.GuestPageSize:
        return this.legacy ? this.guestPageSize : 0;
      case Register.InterruptStatus:
        return this.interruptStatusValue;
      case Register.Status:
        return this.statusValue;
      case Register.QueueDescLow:
      case Register.QueueDescHigh:
      case Register.QueueDriverLow:
      case Register.QueueDriverHigh:
      case Register.QueueDeviceLow:
      case Register.QueueDeviceHigh:
        return !this.legacy && registers ? registers.addressWords[addressWordIndex(offset)] : 0;
      case Register.ShmLenLow:
      case Register.ShmLenHigh:
        // No shared memory regions: a length of -1 means "none" (what Linux and QEMU use).
        return this.legacy ? 0 : 0xffff_ffff;
      case Register.ConfigGeneration:
        return this.legacy ? 0 : this.generation;
      default:
        return 0;
    }
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    value >>>= 0;
    if (offset >= Register.Config) {
      if (this.brokenReason !== null) return;
      this.guarded(() => this.device.writeConfig(offset - Register.Config, size, value));
      return;
    }
    if (size !== 4 || offset % 4 !== 0) {
      this.noteAccessSize(offset, size);
      return;
    }
    switch (offset) {
      case Register.DeviceFeaturesSel:
        this.deviceFeaturesSelect = value;
        return;
      case Register.DriverFeaturesSel:
        this.driverFeaturesSelect = value;
        return;
      case Register.DriverFeatures:
        this.writeDriverFeatures(value);
        return;
      case Register.GuestPageSize:
        if (!this.legacy) return;
        if (value === 0 || (value & (value - 1)) !== 0) {
          this.fail(`GuestPageSize ${hex(value)} is not a power of two`);
          return;
        }
        this.guestPageSize = value;
        return;
      case Register.QueueSel:
        this.queueSelect = value;
        return;
      case Register.QueueNum: {
        const queue = this.selectedQueue();
        if (queue && !queue.ready) queue.size = value;
        return;
      }
      case Register.QueueAlign: {
        const registers = this.queueRegisters[this.queueSelect];
        if (!this.legacy || !registers) return;
        if (value === 0 || (value & (value - 1)) !== 0) {
          this.fail(`QueueAlign ${hex(value)} for queue ${this.queueSelect} is not a power of two`);
          return;
        }
        registers.legacyAlign = value;
        return;
      }
      case Register.QueuePfn:
        if (this.legacy) this.writeLegacyPfn(value);
        return;
      case Register.QueueReady:
        if (!this.legacy) this.writeQueueReady(value);
        return;
      case Register.QueueDescLow:
      case Register.QueueDescHigh:
      case Register.QueueDriverLow:
      case Register.QueueDriverHigh:
      case Register.QueueDeviceLow:
      case Register.QueueDeviceHigh: {
        const queue = this.selectedQueue();
        if (this.legacy || !queue) return;
        if (queue.ready) {
          this.logSink(`${this.name}: queue ${queue.index} address written while QueueReady is 1; ignored`);
          return;
        }
        this.queueRegisters[queue.index].addressWords[addressWordIndex(offset)] = value;
        return;
      }
      case Register.QueueNotify:
        this.notify(value);
        return;
      case Register.InterruptAck:
        this.interruptStatusValue &= ~value;
        this.updateLine();
        return;
      case Register.Status:
        this.writeStatus(value & 0xff);
        return;
      default:
        // Read-only registers, SHMSel, QueueReset (RING_RESET is not offered): ignored.
        return;
    }
  }

  private noteAccessSize(offset: number, size: number): void {
    if (this.warnedAccessSize) return;
    this.warnedAccessSize = true;
    this.logSink(`${this.name}: ${size}-byte access to register ${hex(offset)} ignored (registers are 32-bit; noted once)`);
  }

  private selectedQueue(): VirtQueue | undefined {
    return this.queues[this.queueSelect];
  }

  // ---- features and status ---------------------------------------------------------------

  private writeDriverFeatures(value: number): void {
    if (this.featuresFinal) {
      this.logSink(`${this.name}: DriverFeatures written after feature negotiation ended; ignored`);
      return;
    }
    const select = this.driverFeaturesSelect;
    if (select !== 0 && (select !== 1 || this.legacy)) return;
    this.driverFeatures = this.driverFeatures.withWord(select, value);
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const previous = this.statusValue;
    // The driver cannot clear NEEDS_RESET except by resetting, nor set it.
    const next = (value & ~VirtioStatus.DeviceNeedsReset) | (previous & VirtioStatus.DeviceNeedsReset);
    if (!this.legacy && (next & VirtioStatus.FeaturesOk) && !(previous & VirtioStatus.FeaturesOk)) this.negotiate();
    this.statusValue = next;
    if ((next & VirtioStatus.DriverOk) && !this.active && this.brokenReason === null) this.activate();
  }

  /**
   * Fixes the features: what the driver accepted of what was offered. Lenient like QEMU: bits
   * never offered are dropped with a note, and a modern driver that never accepts VERSION_1
   * (xv6-riscv, some teaching kernels) still gets a working device, so FEATURES_OK is always
   * accepted.
   */
  private negotiate(): void {
    const accepted = this.driverFeatures.intersect(this.offeredFeatures);
    const unknown = this.driverFeatures.without(this.offeredFeatures);
    if (!unknown.isEmpty()) {
      this.logSink(`${this.name}: driver accepted feature bits that were not offered (${unknown.bits().join(', ')}); ignoring them`);
    }
    if (!this.legacy && !accepted.has(VirtioFeature.Version1)) {
      this.logSink(`${this.name}: driver did not accept VIRTIO_F_VERSION_1 on the modern interface; continuing as QEMU does`);
    }
    this.negotiated = accepted;
    this.featuresFinal = true;
  }

  private activate(): void {
    if (!this.featuresFinal) {
      if (!this.legacy) this.logSink(`${this.name}: DRIVER_OK without FEATURES_OK; using the features written so far`);
      this.negotiate();
    }
    this.active = true;
    for (const queue of this.queues) queue.setFeatures(this.ringFeatures());
    const context = this.makeContext();
    this.context = context;
    this.guarded(() => {
      this.device.activate(context);
      // Buffers the driver made available before DRIVER_OK are handled now.
      for (const queue of this.queues) {
        if (queue.ready && this.brokenReason === null) this.device.processQueue(queue.index);
      }
    });
  }

  private ringFeatures(): { eventIndex: boolean; indirectDescriptors: boolean } {
    return {
      eventIndex: this.negotiated.has(VirtioFeature.EventIndex),
      indirectDescriptors: this.negotiated.has(VirtioFeature.IndirectDescriptors),
    };
  }

  private makeContext(): VirtioDeviceContext {
    const transport = this;
    return {
      memory: this.memory,
      features: this.negotiated,
      legacy: this.legacy,
      queue: (index) => {
        const queue = transport.queues[index];
        if (!queue) throw new VirtioError(`${transport.name}: no queue ${index}`);
        return queue;
      },
      notifyUsed: (index) => transport.notifyUsed(index),
      notifyConfigChange: () => transport.notifyConfigChange(),
      guard: (work) => {
        if (transport.context === null || transport.brokenReason !== null) return false;
        return transport.guarded(work);
      },
      log: (message) => transport.logSink(`${transport.name}: ${message}`),
    };
  }

  // ---- queues ----------------------------------------------------------------------------

  private writeQueueReady(value: number): void {
    const queue = this.selectedQueue();
    if (!queue) return;
    if ((value & 1) === 0) {
      queue.ready = false;
      return;
    }
    if (queue.ready) return;
    const words = this.queueRegisters[queue.index].addressWords;
    queue.descriptorTable = words[0] + words[1] * TWO_TO_32;
    queue.availRing = words[2] + words[3] * TWO_TO_32;
    queue.usedRing = words[4] + words[5] * TWO_TO_32;
    this.enableQueue(queue);
  }

  private writeLegacyPfn(value: number): void {
    const queue = this.selectedQueue();
    if (!queue) return;
    const registers = this.queueRegisters[queue.index];
    if (value === 0) {
      // The driver is done with the queue (Linux's legacy del_vq).
      queue.ready = false;
      registers.legacyPfn = 0;
      return;
    }
    // Legacy layout (virtio 0.9.5 / spec §2.7 legacy): descriptor table, avail ring right
    // after it, used ring at the next QueueAlign boundary.
    const size = queue.size;
    const base = value * this.guestPageSize;
    const align = registers.legacyAlign;
    queue.descriptorTable = base;
    queue.availRing = base + 16 * size;
    queue.usedRing = Math.ceil((queue.availRing + 6 + 2 * size) / align) * align;
    queue.ready = false;
    this.enableQueue(queue);
    if (queue.ready) registers.legacyPfn = value;
  }

  private enableQueue(queue: VirtQueue): void {
    try {
      queue.validateLayout();
    } catch (error) {
      this.fail(describeError(error));
      return;
    }
    queue.lastAvailIndex = 0;
    queue.usedIndex = 0;
    queue.setFeatures(this.ringFeatures());
    queue.ready = true;
  }

  private notify(value: number): void {
    const queue = this.queues[value];
    if (!this.active || this.brokenReason !== null || !queue || !queue.ready) {
      this.counters.ignoredNotifies++;
      return;
    }
    this.counters.notifies++;
    this.guarded(() => this.device.processQueue(value));
  }

  private notifyUsed(index: number): void {
    const queue = this.queues[index];
    if (!queue || !queue.ready) return;
    if (!queue.hasUnsignalledUsed) return;
    if (queue.needsInterrupt()) {
      this.counters.interrupts++;
      this.raise(VirtioInterrupt.UsedBuffer);
    } else {
      this.counters.suppressedInterrupts++;
    }
  }

  private notifyConfigChange(): void {
    this.generation = (this.generation + 1) >>> 0;
    if (!(this.statusValue & VirtioStatus.DriverOk)) return;
    this.counters.configInterrupts++;
    this.raise(VirtioInterrupt.ConfigChange);
  }

  private raise(bit: number): void {
    this.interruptStatusValue |= bit;
    this.updateLine();
  }

  private updateLine(): void {
    const level = this.interruptStatusValue !== 0;
    if (level === this.lineLevel) return;
    this.lineLevel = level;
    this.irq.setLevel(level);
  }

  // ---- errors and reset ------------------------------------------------------------------

  /** Runs device work; any exception becomes NEEDS_RESET. Returns false if the device is broken afterwards. */
  private guarded(work: () => void): boolean {
    try {
      work();
    } catch (error) {
      this.fail(describeError(error));
    }
    return this.brokenReason === null;
  }

  /** DEVICE_NEEDS_RESET: the device stops until the driver resets it. */
  private fail(reason: string): void {
    if (this.brokenReason !== null) return;
    this.brokenReason = reason;
    this.counters.errors++;
    this.statusValue |= VirtioStatus.DeviceNeedsReset;
    this.logSink(`${this.name}: ${reason}; device needs reset`);
    this.notifyConfigChange();
  }

  /** Device reset: what writing 0 to Status does, and what a machine reset does. */
  reset(): void {
    this.counters.resets++;
    this.context = null;
    this.active = false;
    try {
      this.device.reset();
    } catch (error) {
      this.logSink(`${this.name}: device reset failed: ${describeError(error)}`);
    }
    this.statusValue = 0;
    this.deviceFeaturesSelect = 0;
    this.driverFeaturesSelect = 0;
    this.driverFeatures = FeatureBits.none;
    this.negotiated = FeatureBits.none;
    this.featuresFinal = false;
    this.queueSelect = 0;
    this.guestPageSize = DEFAULT_LEGACY_PAGE_SIZE;
    this.brokenReason = null;
    for (const queue of this.queues) queue.reset();
    this.queueRegisters.forEach((_, index) => (this.queueRegisters[index] = freshQueueRegisters()));
    this.interruptStatusValue = 0;
    this.updateLine();
  }

  // ---- state -----------------------------------------------------------------------------

  saveState(): VirtioTransportState {
    return {
      version: this.version,
      deviceId: this.device.deviceId,
      status: this.statusValue,
      deviceFeaturesSelect: this.deviceFeaturesSelect,
      driverFeaturesSelect: this.driverFeaturesSelect,
      driverFeatures: this.driverFeatures.toJSON(),
      negotiatedFeatures: this.negotiated.toJSON(),
      featuresFinal: this.featuresFinal,
      active: this.active,
      needsResetReason: this.brokenReason,
      queueSelect: this.queueSelect,
      interruptStatus: this.interruptStatusValue,
      configGeneration: this.generation,
      guestPageSize: this.guestPageSize,
      queues: this.queues.map((queue, index) => ({
        ...queue.saveState(),
        addressWords: [...this.queueRegisters[index].addressWords],
        legacyAlign: this.queueRegisters[index].legacyAlign,
        legacyPfn: this.queueRegisters[index].legacyPfn,
      })),
      counters: { ...this.counters },
      device: this.device.saveState(),
    };
  }

  /**
   * Reads a saved state for this transport from a snapshot, checking every field (types,
   * ranges, this transport's version, device type and queue sizes) before anything is set.
   */
  checkState(state: StateReader): VirtioTransportState {
    const version = state.integer('version', 1, 2);
    const deviceId = state.integer('deviceId', 0, 0xffff_ffff);
    const queues = state.records('queues');
    if (version !== this.version || deviceId !== this.device.deviceId || queues.length !== this.queues.length) {
      throw new SnapshotError(`${state.path}: a version ${version} device ${deviceId} with ${queues.length} queues does not fit ` +
        `${this.name} (version ${this.version}, device ${this.device.deviceId}, ${this.queues.length} queues)`);
    }
    const pair = (key: string): [number, number] => {
      const words = state.integers(key, 0, 0xffff_ffff, 2);
      return [words[0], words[1]];
    };
    const counters = state.child('counters');
    const counterValues = {} as VirtioTransportCounters;
    for (const key of Object.keys(this.counters) as Array<keyof VirtioTransportCounters>) counterValues[key] = counters.integer(key, 0);
    const checked: VirtioTransportState = {
      version: version as 1 | 2,
      deviceId,
      status: state.integer('status', 0, 0xff),
      deviceFeaturesSelect: state.uint32('deviceFeaturesSelect'),
      driverFeaturesSelect: state.uint32('driverFeaturesSelect'),
      driverFeatures: pair('driverFeatures'),
      negotiatedFeatures: pair('negotiatedFeatures'),
      featuresFinal: state.boolean('featuresFinal'),
      active: state.boolean('active'),
      needsResetReason: state.nullableString('needsResetReason'),
      queueSelect: state.uint32('queueSelect'),
      interruptStatus: state.integer('interruptStatus', 0, 3),
      configGeneration: state.uint32('configGeneration'),
      guestPageSize: state.uint32('guestPageSize'),
      queues: queues.map((queue, index) => {
        const size = queue.integer('size', 1, this.queues[index].maxSize);
        if ((size & (size - 1)) !== 0) throw new SnapshotError(`${queue.path}.size: ${size} is not a power of two`);
        return {
          size,
          ready: queue.boolean('ready'),
          descriptorTable: queue.integer('descriptorTable', 0),
          availRing: queue.integer('availRing', 0),
          usedRing: queue.integer('usedRing', 0),
          lastAvailIndex: queue.integer('lastAvailIndex', 0, 0xffff),
          usedIndex: queue.integer('usedIndex', 0, 0xffff),
          signalledUsed: queue.integer('signalledUsed', 0, 0xffff),
          signalledUsedValid: queue.boolean('signalledUsedValid'),
          addressWords: queue.integers('addressWords', 0, 0xffff_ffff, 6),
          legacyAlign: queue.uint32('legacyAlign'),
          legacyPfn: queue.uint32('legacyPfn'),
        };
      }),
      counters: counterValues,
      device: state.jsonRecord('device'),
    };
    return checked;
  }

  /**
   * Puts back a state saved from a transport with the same version and device type. Guest RAM
   * is restored separately (the rings live there). The interrupt line is driven to match.
   */
  restoreState(state: VirtioTransportState): void {
    if (state.version !== this.version || state.deviceId !== this.device.deviceId || state.queues.length !== this.queues.length) {
      throw new Error(
        `${this.name}: cannot restore a version ${state.version} device ${state.deviceId} with ${state.queues.length} queues ` +
        `into a version ${this.version} device ${this.device.deviceId} with ${this.queues.length} queues`);
    }
    this.context = null;
    this.active = false;
    this.device.reset();
    this.statusValue = state.status & 0xff;
    this.deviceFeaturesSelect = state.deviceFeaturesSelect >>> 0;
    this.driverFeaturesSelect = state.driverFeaturesSelect >>> 0;
    this.driverFeatures = FeatureBits.fromJSON(state.driverFeatures);
    this.negotiated = FeatureBits.fromJSON(state.negotiatedFeatures);
    this.featuresFinal = state.featuresFinal;
    this.brokenReason = state.needsResetReason;
    this.queueSelect = state.queueSelect >>> 0;
    this.generation = state.configGeneration >>> 0;
    this.guestPageSize = state.guestPageSize;
    state.queues.forEach((saved, index) => {
      this.queues[index].restoreState(saved);
      this.queues[index].setFeatures(this.ringFeatures());
      this.queueRegisters[index] = {
        addressWords: saved.addressWords.slice(0, 6).map((word) => word >>> 0),
        legacyAlign: saved.legacyAlign,
        legacyPfn: saved.legacyPfn,
      };
    });
    Object.assign(this.counters, state.counters);
    if (state.active) {
      this.active = true;
      this.context = this.makeContext();
      this.guarded(() => this.device.activate(this.context!));
    }
    this.device.restoreState(state.device);
    this.interruptStatusValue = state.interruptStatus & 0x3;
    this.lineLevel = !(this.interruptStatusValue !== 0);
    this.updateLine();
  }
}

function freshQueueRegisters(): QueueRegisters {
  return { addressWords: [0, 0, 0, 0, 0, 0], legacyAlign: DEFAULT_LEGACY_ALIGN, legacyPfn: 0 };
}

/** Index into QueueRegisters.addressWords of a desc/driver/device low/high register. */
function addressWordIndex(offset: number): number {
  switch (offset) {
    case Register.QueueDescLow: return 0;
    case Register.QueueDescHigh: return 1;
    case Register.QueueDriverLow: return 2;
    case Register.QueueDriverHigh: return 3;
    case Register.QueueDeviceLow: return 4;
    default: return 5;
  }
}

function describeError(error: unknown): string {
  if (error instanceof VirtioError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `unexpected error: ${String(error)}`;
}
