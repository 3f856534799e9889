// Machine configuration: its JSON schema (the one description of a machine that the CLI,
// launch.json and the language server validate against) and the normalisation to defaults.

import type { BlockBackend, EntropySource, NetBackend } from '../bridges/types';
import { CPU_FEATURES, CpuModelError, DEFAULT_CPU_MODEL_NAME, parseCpuModel, type CpuModel } from '../cpu/cpu-model';
import { DEFAULT_ICOUNT_SHIFT, DEFAULT_RAM_SIZE, MAX_HARTS, MAX_ICOUNT_SHIFT, MAX_RAM_SIZE, VIRTIO_MMIO_SLOTS } from './layout';

export interface ImageFile {
  readonly fileName: string;
  readonly bytes: Uint8Array;
}

export interface MachineConfig {
  /** RAM size in bytes (default 128 MiB). */
  memoryBytes?: number;
  /** Number of harts, 1..8 (default 1). */
  hartCount?: number;
  /**
   * CPU model, QEMU-like: `rv64` (default: QEMU 7.2's default CPU without H), `rv64gc`, each
   * with optional `,feature=on|off` (see cpu/cpu-model.ts), e.g. `rv64,sstc=off,svpbmt=on`.
   */
  cpu?: string;
  /** `none`: bare M-mode entry; `builtin`: direct boot with the built-in SBI; an image: firmware. */
  bios?: 'none' | 'builtin' | ImageFile;
  kernel?: ImageFile;
  initrd?: ImageFile;
  /** A device tree to use instead of the generated one. */
  dtb?: ImageFile;
  /** Kernel command line (`/chosen/bootargs`). */
  append?: string;
  /** Guest console bytes (UART, SBI console, HTIF). */
  consoleOutput?: (byte: number) => void;
  /** Wall-clock time the goldfish RTC starts at, in ns since 1970 (default 0, deterministic). */
  rtcEpochNanoseconds?: number;
  /** Each retired instruction takes 2^icountShift ns of virtual time (default DEFAULT_ICOUNT_SHIFT). */
  icountShift?: number;
  /**
   * When every hart waits for an interrupt: `pace` (default) returns from `run` with
   * `{ kind: 'idle' }` so the host can sleep until the next timer event is due in wall time
   * (or input arrives) and then call `advanceIdleTime`; `skip` jumps virtual time to the next
   * timer event at once (fast headless runs). Both are deterministic for the same inputs.
   */
  idle?: IdleMode;
  /**
   * Execution tier: `auto` (default) translates hot guest code to WebAssembly and interprets
   * the rest; `interpreter` interprets everything. Both run exactly the same machine. The
   * environment variable RINGSIDE_TIER gives the default (tests run the suite on both).
   */
  tier?: ExecutionTier;
  /** virtio devices with their backends (default none: every slot empty). */
  virtioDevices?: readonly VirtioDeviceConfig[];
  /** The legacy virtio-mmio interface (version 1), as QEMU 7.2's default; modern (2) otherwise. */
  virtioLegacy?: boolean;
  /** Where device errors go (a virtqueue the guest broke, a backend failure). Default: stderr. */
  log?: (message: string) => void;
}

export type IdleMode = 'pace' | 'skip';

/** The execution tiers (see vmm-core/translation/tier.ts). */
export const EXECUTION_TIERS = ['auto', 'interpreter'] as const;
export type ExecutionTier = (typeof EXECUTION_TIERS)[number];

/**
 * A virtio device and its host side. Devices without `slot` fill the virtio-mmio slots from the
 * top down in the order given, as QEMU places its `-device`s (the first at 0x1000_8000, IRQ 8).
 */
export type VirtioDeviceConfig =
  | { kind: 'block'; backend: BlockBackend; serial?: string; slot?: number }
  | { kind: 'net'; backend: NetBackend; mac?: Uint8Array; linkUp?: boolean; slot?: number }
  | { kind: 'entropy'; source: EntropySource; slot?: number }
  /** hvc0: its output joins the machine's console output; input goes to it per `Machine.consoleInputTarget`. */
  | { kind: 'console'; slot?: number };

export interface ResolvedMachineConfig {
  readonly memoryBytes: number;
  readonly hartCount: number;
  readonly cpu: CpuModel;
  readonly bios: 'none' | 'builtin' | 'firmware';
  readonly firmware?: ImageFile;
  readonly kernel?: ImageFile;
  readonly initrd?: ImageFile;
  readonly dtb?: ImageFile;
  readonly append?: string;
  readonly consoleOutput: (byte: number) => void;
  readonly rtcEpochNanoseconds: number;
  readonly icountShift: number;
  readonly idle: IdleMode;
  readonly tier: ExecutionTier;
  readonly virtioDevices: readonly VirtioDeviceConfig[];
  readonly virtioLegacy: boolean;
  readonly log: (message: string) => void;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The machine options shared by the CLI and (later) launch.json, as JSON schema. */
export const MACHINE_OPTIONS_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Ringside machine',
  type: 'object',
  additionalProperties: false,
  properties: {
    kernel: { type: 'string', description: 'Kernel or program: an RV64 ELF, or a raw image loaded at 0x80200000 (firmware/direct boot).' },
    bios: {
      type: 'string',
      default: 'none',
      description: "'none': the kernel is entered in M-mode at its ELF entry; 'builtin': direct boot, the kernel runs in S-mode on the built-in SBI; otherwise a firmware file (e.g. OpenSBI fw_jump.elf) at 0x80000000.",
    },
    initrd: { type: 'string', description: 'Initial ramdisk, placed high in RAM and named in /chosen.' },
    append: { type: 'string', description: 'Kernel command line (/chosen/bootargs).' },
    dtb: { type: 'string', description: 'A device-tree blob to pass instead of the generated one.' },
    memory: { type: 'string', default: '128M', pattern: '^[0-9]+[KMG]?$', description: 'RAM size, e.g. 128M or 1G (at most 2G).' },
    harts: { type: 'integer', minimum: 1, maximum: MAX_HARTS, default: 1, description: 'Number of harts.' },
    icountShift: {
      type: 'integer', minimum: 0, maximum: MAX_ICOUNT_SHIFT, default: DEFAULT_ICOUNT_SHIFT,
      description: 'Virtual time: each retired instruction takes 2^N ns (QEMU\'s -icount shift=N). The default makes a guest second about a wall second on the interpreter; 0 matches QEMU -icount shift=0 instruction for instruction.',
    },
    tier: {
      type: 'string', enum: ['auto', 'interpreter'], default: 'auto',
      description: "Execution tier: 'auto' translates hot guest code to WebAssembly (the same machine, instruction for instruction, several times faster); 'interpreter' interprets every instruction. The environment variable RINGSIDE_TIER sets the default.",
    },
    idle: {
      type: 'string', enum: ['pace', 'skip'], default: 'pace',
      description: "When every hart waits: 'pace' sleeps until the next timer event is due in wall time or input arrives (an idle guest costs no CPU, sleep 3 takes 3 s); 'skip' jumps to the next timer event at once (fast headless runs).",
    },
    drives: {
      type: 'array',
      items: { type: 'string', pattern: '(^|,)file=' },
      default: [],
      description: "virtio-blk disks in QEMU's -drive syntax, as `ringside run --drive`: 'file=PATH[,format=raw|qcow2][,readonly=on][,snapshot=on][,serial=ID][,slot=N]'. Relative paths are resolved against the working directory (in a machine config file, against the file's folder).",
    },
    netdevs: {
      type: 'array',
      items: { type: 'string', pattern: '^(user|stream|dgram)(,|$)' },
      default: [],
      description: "virtio-net cards, each on a network in QEMU's -netdev syntax, as `ringside run --netdev`: 'user[,hostfwd=tcp:127.0.0.1:HOSTPORT-:GUESTPORT][,restrict=on]', 'stream,…' or 'dgram,…'; plus mac=, slot=, link=on|off, pcap=FILE.",
    },
    devices: {
      type: 'array',
      items: { type: 'string', pattern: '^(virtio-rng|virtio-rng-device|virtio-console|virtconsole|virtio-serial-device)(,|$)' },
      default: [],
      description: "Other virtio devices, as `ringside run --device`: 'virtio-rng[,seed=TEXT|,source=host][,slot=N]', 'virtio-console[,slot=N]'. Devices without slot= fill the virtio-mmio slots from the top: drives first, then netdevs, then these.",
    },
    virtioLegacy: {
      type: 'boolean',
      default: false,
      description: 'The legacy (version 1) virtio-mmio interface, as QEMU 7.2\'s default (`--global virtio-mmio.force-legacy=on`); the modern interface (version 2) otherwise.',
    },
    cpu: {
      type: 'string',
      default: DEFAULT_CPU_MODEL_NAME,
      pattern: '^[Rr][Vv]64([Gg][Cc])?(,[A-Za-z0-9_-]+=[A-Za-z]+)*$',
      description: `CPU model, as QEMU's -cpu: 'rv64' (QEMU 7.2's default CPU, without the H extension, which is not implemented) or 'rv64gc' (plain RV64GC), optionally followed by ,feature=on|off for ${Object.keys(CPU_FEATURES).join(', ')}; e.g. 'rv64,sstc=off,svpbmt=on'.`,
    },
  },
} as const;

/**
 * A machine config file (`NAME.ringside.json`): the machine options as a JSON object, plus the
 * `$schema` an editor may use to find this schema. `ringside run --config FILE` loads it.
 */
export const MACHINE_FILE_SCHEMA = {
  ...MACHINE_OPTIONS_SCHEMA,
  title: 'Ringside machine config file',
  description: "A machine for `ringside run --config FILE` and the `config` of a `ringside test` list's machine. Relative paths are resolved against the file's folder.",
  properties: {
    $schema: { type: 'string', description: 'The JSON schema of this file (for editors; ignored by Ringside).' },
    ...MACHINE_OPTIONS_SCHEMA.properties,
  },
} as const;

/** Parses a size such as `128M`, `1G`, `65536` into bytes. */
export function parseMemorySize(text: string): number {
  const match = /^([0-9]+)([KkMmGg]?)$/.exec(text.trim());
  if (match === null) throw new ConfigError(`memory size '${text}' is not a number with an optional K, M or G suffix`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(match[1]) * unit;
}

export function normalizeMachineConfig(config: MachineConfig): ResolvedMachineConfig {
  const memoryBytes = config.memoryBytes ?? DEFAULT_RAM_SIZE;
  if (!Number.isInteger(memoryBytes) || memoryBytes < 1024 * 1024 || memoryBytes % 4096 !== 0) {
    throw new ConfigError(`memory must be at least 1 MiB and a multiple of 4 KiB, got ${memoryBytes} bytes`);
  }
  if (memoryBytes > MAX_RAM_SIZE) throw new ConfigError(`memory must be at most ${MAX_RAM_SIZE / 1024 ** 3} GiB, got ${memoryBytes} bytes`);
  const hartCount = config.hartCount ?? 1;
  if (!Number.isInteger(hartCount) || hartCount < 1 || hartCount > MAX_HARTS) {
    throw new ConfigError(`harts must be between 1 and ${MAX_HARTS}, got ${hartCount}`);
  }
  let cpu: CpuModel;
  try {
    cpu = parseCpuModel(config.cpu ?? DEFAULT_CPU_MODEL_NAME);
  } catch (error) {
    if (error instanceof CpuModelError) throw new ConfigError(error.message);
    throw error;
  }
  const bios = config.bios ?? 'none';
  return {
    memoryBytes,
    hartCount,
    cpu,
    bios: typeof bios === 'string' ? bios : 'firmware',
    firmware: typeof bios === 'string' ? undefined : bios,
    kernel: config.kernel,
    initrd: config.initrd,
    dtb: config.dtb,
    append: config.append,
    consoleOutput: config.consoleOutput ?? (() => {}),
    rtcEpochNanoseconds: config.rtcEpochNanoseconds ?? 0,
    icountShift: parseIcountShift(config.icountShift ?? DEFAULT_ICOUNT_SHIFT),
    idle: parseIdleMode(config.idle ?? 'pace'),
    tier: parseExecutionTier(config.tier ?? defaultExecutionTier()),
    virtioDevices: checkVirtioDevices(config.virtioDevices ?? []),
    virtioLegacy: config.virtioLegacy ?? false,
    log: config.log ?? ((message) => process.stderr.write(`ringside: ${message}\n`)),
  };
}

function parseIcountShift(shift: number): number {
  if (!Number.isInteger(shift) || shift < 0 || shift > MAX_ICOUNT_SHIFT) {
    throw new ConfigError(`icount shift must be an integer from 0 to ${MAX_ICOUNT_SHIFT}, got ${shift}`);
  }
  return shift;
}

function parseIdleMode(mode: string): IdleMode {
  if (mode !== 'pace' && mode !== 'skip') throw new ConfigError(`idle must be 'pace' or 'skip', got '${mode}'`);
  return mode;
}

/** The tier RINGSIDE_TIER names, else `auto`. */
export function defaultExecutionTier(): ExecutionTier {
  const fromEnvironment = typeof process !== 'undefined' ? process.env.RINGSIDE_TIER : undefined;
  if (fromEnvironment === undefined || fromEnvironment === '') return 'auto';
  if (!(EXECUTION_TIERS as readonly string[]).includes(fromEnvironment)) {
    throw new ConfigError(`RINGSIDE_TIER must be ${EXECUTION_TIERS.map((tier) => `'${tier}'`).join(' or ')}, got '${fromEnvironment}'`);
  }
  return fromEnvironment as ExecutionTier;
}

function parseExecutionTier(tier: string): ExecutionTier {
  if (!(EXECUTION_TIERS as readonly string[]).includes(tier)) {
    throw new ConfigError(`tier must be ${EXECUTION_TIERS.map((name) => `'${name}'`).join(' or ')}, got '${tier}'`);
  }
  return tier as ExecutionTier;
}

function checkVirtioDevices(devices: readonly VirtioDeviceConfig[]): readonly VirtioDeviceConfig[] {
  if (devices.length > VIRTIO_MMIO_SLOTS) throw new ConfigError(`at most ${VIRTIO_MMIO_SLOTS} virtio devices fit the virtio-mmio slots, got ${devices.length}`);
  const taken = new Set<number>();
  for (const device of devices) {
    if (device.slot === undefined) continue;
    if (!Number.isInteger(device.slot) || device.slot < 0 || device.slot >= VIRTIO_MMIO_SLOTS) {
      throw new ConfigError(`virtio slot must be 0..${VIRTIO_MMIO_SLOTS - 1}, got ${device.slot}`);
    }
    if (taken.has(device.slot)) throw new ConfigError(`virtio slot ${device.slot} is given to two devices`);
    taken.add(device.slot);
  }
  return devices;
}
