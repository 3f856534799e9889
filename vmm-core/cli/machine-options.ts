// The machine a CLI command boots: its options (from the command line, a machine config file
// `NAME.ringside.json`, or a test list's `machine` object), checked against the one machine
// schema (MACHINE_OPTIONS_SCHEMA), and the machine built from them with its devices opened.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { BridgeError } from '../bridges/types';
import { parseCpuModel } from '../cpu/cpu-model';
import {
  ConfigError, defaultExecutionTier, type ExecutionTier, type IdleMode, MACHINE_FILE_SCHEMA, type MachineConfig, MACHINE_OPTIONS_SCHEMA, normalizeMachineConfig, parseMemorySize,
} from '../machine/config';
import {
  type OpenedDevices, openVirtioDevices, parseDeviceOption, parseDriveOption, parseNetdevSpec, type VirtioDeviceSpec,
} from '../machine/device-options';
import { type JsonSchema, validateJson } from '../machine/json-schema';
import { DEFAULT_ICOUNT_SHIFT } from '../machine/layout';
import { Machine } from '../machine/machine';
import { type ParsedSnapshot, readSnapshot, restoreSnapshot, snapshotMachineConfig, SnapshotError } from '../machine/snapshot';
import type { Worker } from 'node:worker_threads';
import { lowerHelperThreadPriority } from '../machine/thread-priority';
import { startCompileWorkerIfPossible } from '../translation/compile-protocol';
import { warmUpEngine } from '../machine/warm-up';
import { fileErrorReason, readImage, UsageError } from './common';

/** Everything that describes the machine itself (not how a run is watched). */
export interface MachineOptions {
  kernel?: string;
  bios: string;
  initrd?: string;
  append?: string;
  dtb?: string;
  memory: number;
  harts: number;
  cpu?: string;
  icountShift: number;
  idle: IdleMode;
  /** Unset: the machine's default (RINGSIDE_TIER, else auto). */
  tier?: ExecutionTier;
  virtio: VirtioDeviceSpec[];
  virtioLegacy: boolean;
}

export function defaultMachineOptions(): MachineOptions {
  return {
    bios: 'none', memory: 128 * 1024 * 1024, harts: 1, icountShift: DEFAULT_ICOUNT_SHIFT, idle: 'pace', virtio: [], virtioLegacy: false,
  };
}

/**
 * The fields one JSON machine object sets, checked and with paths made absolute. The device
 * lists stay apart so that a later object replacing `drives` keeps the earlier `netdevs`.
 */
export interface MachineFields {
  kernel?: string;
  bios?: string;
  initrd?: string;
  append?: string;
  dtb?: string;
  memory?: number;
  harts?: number;
  cpu?: string;
  icountShift?: number;
  idle?: IdleMode;
  tier?: ExecutionTier;
  drives?: VirtioDeviceSpec[];
  netdevs?: VirtioDeviceSpec[];
  devices?: VirtioDeviceSpec[];
  virtioLegacy?: boolean;
}

/** Later fields win; a list given again replaces the earlier one. */
export function mergeMachineFields(...layers: readonly MachineFields[]): MachineFields {
  const merged: MachineFields = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer) as Array<[keyof MachineFields, unknown]>) {
      if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    }
  }
  return merged;
}

/** Options with the fields applied over them; the fields' devices come before those already there. */
export function applyMachineFields(options: MachineOptions, fields: MachineFields): MachineOptions {
  const { drives, netdevs, devices, ...scalars } = fields;
  // Devices without slot= fill the slots in this order: drives, then network cards, then the rest.
  const virtio = [...(drives ?? []), ...(netdevs ?? []), ...(devices ?? []), ...options.virtio];
  return { ...options, ...(scalars as Partial<MachineOptions>), virtio };
}

type JsonObject = { readonly [name: string]: unknown };

/**
 * Checks a JSON machine object against `schema` (the machine schema or one that embeds its
 * properties) and converts it. `baseDirectory` anchors relative paths; `where` prefixes errors
 * (a file name, or a file name and the field holding the object).
 */
export function machineFieldsFromJson(
  value: unknown, baseDirectory: string, where: string, schema: JsonSchema = MACHINE_OPTIONS_SCHEMA, fieldPrefix = '',
): MachineFields {
  const problems = validateJson(schema, value, fieldPrefix.replace(/\.$/, ''));
  if (problems.length > 0) throw new UsageError(`${where}: ${problems.join('; ')}`);
  const object = value as JsonObject;
  const field = (name: string): string => `'${fieldPrefix}${name}'`;
  const fail = (name: string, message: string): never => {
    throw new UsageError(`${where}: ${field(name)}: ${message}`);
  };
  const path = (name: string): string | undefined => {
    const text = object[name] as string | undefined;
    if (text === undefined) return undefined;
    if (text === '') fail(name, 'must not be empty');
    const resolved = resolvePath(baseDirectory, text);
    // Found now, the mistake is named with its file and field instead of failing later.
    if (!existsSync(resolved)) fail(name, `no such file '${resolved}'`);
    return resolved;
  };
  const fields: MachineFields = {
    kernel: path('kernel'),
    initrd: path('initrd'),
    dtb: path('dtb'),
    append: object.append as string | undefined,
    harts: object.harts as number | undefined,
    icountShift: object.icountShift as number | undefined,
    idle: object.idle as IdleMode | undefined,
    tier: object.tier as ExecutionTier | undefined,
    virtioLegacy: object.virtioLegacy as boolean | undefined,
  };
  const bios = object.bios as string | undefined;
  if (bios !== undefined) fields.bios = bios === 'none' || bios === 'builtin' ? bios : path('bios');
  if (object.memory !== undefined) {
    try {
      fields.memory = parseMemorySize(object.memory as string);
      normalizeMachineConfig({ memoryBytes: fields.memory });
    } catch (error) {
      fail('memory', (error as Error).message);
    }
  }
  if (object.cpu !== undefined) {
    try {
      parseCpuModel(object.cpu as string);
    } catch (error) {
      fail('cpu', (error as Error).message);
    }
    fields.cpu = object.cpu as string;
  }
  const list = (name: string, parse: (text: string) => VirtioDeviceSpec): VirtioDeviceSpec[] | undefined => {
    const texts = object[name] as readonly string[] | undefined;
    return texts?.map((text, index) => {
      try {
        return parse(text);
      } catch (error) {
        if (error instanceof ConfigError || error instanceof BridgeError) return fail(`${name}[${index}]`, error.message);
        throw error;
      }
    });
  };
  fields.drives = list('drives', (text) => {
    const drive = parseDriveOption(text);
    const file = resolvePath(baseDirectory, drive.file);
    if (!existsSync(file)) throw new ConfigError(`no such file '${file}'`);
    return { kind: 'block', drive: { ...drive, file } };
  });
  fields.netdevs = list('netdevs', (text) => {
    const netdev = parseNetdevSpec(text);
    return { kind: 'net', netdev: netdev.pcap !== undefined ? { ...netdev, pcap: resolvePath(baseDirectory, netdev.pcap) } : netdev };
  });
  fields.devices = list('devices', parseDeviceOption);
  return mergeMachineFields(fields);
}

/** Reads and parses a JSON file; errors name the file (and the line and column of a syntax error). */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} '${path}': ${fileErrorReason(error)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // V8 names the position only for some errors, and may quote the source across lines.
    const reason = (error as Error).message
      .replace(/ in JSON at position [0-9]+.*$/s, '').replace(/, (\.\.\.)?".*$/s, '').replace(/\s+/g, ' ');
    const offset = jsonSyntaxErrorOffset(text);
    let where = '';
    if (offset !== undefined) {
      const before = text.slice(0, offset);
      where = ` (line ${before.split('\n').length}, column ${offset - before.lastIndexOf('\n')})`;
    }
    throw new UsageError(`${path}: not valid JSON${where}: ${reason}`);
  }
}

class JsonSyntaxStop {
  constructor(readonly offset: number) {}
}

/** Where the first JSON syntax error is (strict JSON, as JSON.parse), or undefined. */
function jsonSyntaxErrorOffset(text: string): number | undefined {
  let at = 0;
  const stop = (): never => {
    throw new JsonSyntaxStop(at);
  };
  const space = (): void => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at++;
  };
  const string = (): void => {
    at++;
    while (at < text.length) {
      const character = text[at];
      if (character === '"') {
        at++;
        return;
      }
      if (character === '\\') {
        const escape = text[at + 1];
        if (escape === 'u' ? !/^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6)) : escape === undefined || !'"\\/bfnrt'.includes(escape)) {
          at++;
          stop();
        }
        at += escape === 'u' ? 6 : 2;
        continue;
      }
      if (character < ' ') stop();
      at++;
    }
    stop();
  };
  const value = (): void => {
    space();
    const character = text[at];
    if (character === '{' || character === '[') {
      const close = character === '{' ? '}' : ']';
      at++;
      space();
      if (text[at] === close) {
        at++;
        return;
      }
      while (true) {
        if (close === '}') {
          space();
          if (text[at] !== '"') stop();
          string();
          space();
          if (text[at] !== ':') stop();
          at++;
        }
        value();
        space();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] !== close) stop();
        at++;
        return;
      }
    }
    if (character === '"') return string();
    const literal = /^(true|false|null|-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)/.exec(text.slice(at, at + 400));
    if (literal === null) stop();
    at += literal![0].length;
  };
  try {
    value();
    space();
    return at < text.length ? at : undefined;
  } catch (error) {
    if (error instanceof JsonSyntaxStop) return error.offset;
    // Nesting too deep to follow: the reason alone has to do.
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

/** A machine config file (`NAME.ringside.json`): relative paths in it are relative to its folder. */
export function loadMachineConfigFile(path: string): MachineFields {
  const value = readJsonFile(path, 'machine config file');
  return machineFieldsFromJson(value, dirname(resolvePath(path)), path, MACHINE_FILE_SCHEMA);
}

/** Reads the images, opens the devices (disks locked, sockets up) and builds the machine. */
export async function openMachine(
  options: MachineOptions, consoleOutput: (byte: number) => void, log?: (message: string) => void,
): Promise<{ machine: Machine; opened: OpenedDevices }> {
  const bios = options.bios === 'none' || options.bios === 'builtin' ? options.bios : readImage(options.bios, 'firmware');
  const kernel = options.kernel !== undefined ? readImage(options.kernel, 'kernel') : undefined;
  const initrd = options.initrd !== undefined ? readImage(options.initrd, 'initrd') : undefined;
  const dtb = options.dtb !== undefined ? readImage(options.dtb, 'device tree') : undefined;
  let opened: OpenedDevices;
  try {
    opened = await openVirtioDevices(options.virtio);
  } catch (error) {
    if (error instanceof BridgeError || error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  try {
    const machine = buildMachineWithEngine(options.tier, () => new Machine({
      memoryBytes: options.memory,
      hartCount: options.harts,
      cpu: options.cpu,
      bios,
      kernel,
      initrd,
      dtb,
      append: options.append,
      icountShift: options.icountShift,
      idle: options.idle,
      tier: options.tier,
      virtioDevices: opened.devices,
      virtioLegacy: options.virtioLegacy,
      consoleOutput,
      log,
    }));
    return { machine, opened };
  } catch (error) {
    opened.discard();
    throw error;
  }
}

/**
 * Builds a machine once the engine is ready: once per process, before the first guest, V8
 * optimizes the interpreter for every path, and its helper threads (the compile worker's among
 * them, started first so that it is ready when the guest's code gets hot) compile without
 * taking the emulator's core.
 */
function buildMachineWithEngine(tier: ExecutionTier | undefined, build: () => Machine): Machine {
  let compileWorker: Worker | undefined;
  try {
    compileWorker = (tier ?? defaultExecutionTier()) === 'interpreter' ? undefined : startCompileWorkerIfPossible();
    lowerHelperThreadPriority();
    warmUpEngine(tier);
    const machine = build();
    // The CLI's run loops yield to the event loop between slices: compile off the main thread.
    if (machine.translation !== null) {
      machine.translation.backgroundCompilation = true;
      if (compileWorker !== undefined) machine.translation.useCompileWorker(compileWorker);
    } else {
      void compileWorker?.terminate();
    }
    return machine;
  } catch (error) {
    void compileWorker?.terminate();
    throw error;
  }
}

/** The machine of a recording, built with replay's host side (see machine/recording.ts). */
export function openReplayMachine(config: MachineConfig, tier: ExecutionTier | undefined): Machine {
  return buildMachineWithEngine(tier, () => new Machine(config));
}

/** Reads a snapshot file whole and checks it; a bad one is a UsageError naming the file. */
export function readSnapshotFile(path: string): ParsedSnapshot {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (error) {
    throw new UsageError(`cannot read snapshot '${path}': ${fileErrorReason(error)}`);
  }
  try {
    return readSnapshot(bytes);
  } catch (error) {
    if (error instanceof SnapshotError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
}

/**
 * `ringside run --restore FILE`: the machine a snapshot describes, in the state it was saved
 * in. Only how it is run (tier, idle mode, console) comes from the command line.
 */
export function openRestoredMachine(
  path: string, host: { tier?: ExecutionTier; idle?: IdleMode }, consoleOutput: (byte: number) => void, log?: (message: string) => void,
): Machine {
  const snapshot = readSnapshotFile(path);
  return buildMachineWithEngine(host.tier, () => {
    let machine: Machine;
    try {
      machine = new Machine(snapshotMachineConfig(snapshot, { ...host, consoleOutput, log }));
    } catch (error) {
      if (error instanceof SnapshotError || error instanceof ConfigError) throw new UsageError(`${path}: ${error.message}`);
      throw error;
    }
    try {
      restoreSnapshot(machine, snapshot);
    } catch (error) {
      machine.close();
      if (error instanceof SnapshotError) throw new UsageError(`${path}: ${error.message}`);
      throw error;
    }
    return machine;
  });
}
