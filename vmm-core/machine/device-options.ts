// The device options in QEMU's vocabulary — `--drive file=…,format=…`, `--netdev user,…`,
// `--device virtio-rng`, `--global virtio-mmio.force-legacy=…` — parsed into plain specs
// (the CLI and launch.json both use these strings), then opened into backends for the machine.
// One clear error names the option and what is wrong with it.

import { existsSync, rmSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { openDiskImage } from '../bridges/disk/index';
import { DEFAULT_ENTROPY_SEED, HostEntropySource, SeededEntropySource } from '../bridges/entropy';
import { type NetdevConfig, openNetBackend, parseNetdevOption } from '../bridges/net/index';
import { ConfigError, type VirtioDeviceConfig } from './config';

/** Splits `a=1,b=2` at commas (a doubled comma is a literal one, as in QEMU). */
export function splitOptionList(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === ',') {
      if (text[index + 1] === ',') {
        current += ',';
        index++;
        continue;
      }
      parts.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  parts.push(current);
  return parts;
}

/** `key=value` pairs of an option (a bare word becomes `word` → ''), keys checked against `allowed`. */
export function parseKeyValues(option: string, text: string, allowed: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const part of splitOptionList(text)) {
    if (part === '') throw new ConfigError(`${option} '${text}': empty item`);
    const equals = part.indexOf('=');
    const key = equals < 0 ? part : part.slice(0, equals);
    const value = equals < 0 ? '' : part.slice(equals + 1);
    if (!allowed.includes(key)) throw new ConfigError(`${option} '${text}': unknown key '${key}' (known: ${allowed.join(', ')})`);
    if (values.has(key) && key !== 'hostfwd') throw new ConfigError(`${option} '${text}': '${key}' given twice`);
    values.set(key, value);
  }
  return values;
}

/** QEMU's booleans: on/off, true/false, yes/no. */
export function parseOnOff(option: string, key: string, value: string): boolean {
  if (['on', 'true', 'yes', ''].includes(value)) return true;
  if (['off', 'false', 'no'].includes(value)) return false;
  throw new ConfigError(`${option}: '${key}=${value}' must be on or off`);
}

export function parseSlot(option: string, value: string): number {
  if (!/^[0-7]$/.test(value)) throw new ConfigError(`${option}: slot must be a virtio-mmio slot number 0..7, got '${value}'`);
  return Number(value);
}

export interface DriveSpec {
  readonly file: string;
  readonly format?: 'raw' | 'qcow2';
  readonly readOnly: boolean;
  readonly snapshot: boolean;
  readonly serial?: string;
  readonly slot?: number;
}

/** `file=PATH[,format=raw|qcow2][,readonly=on][,snapshot=on][,serial=ID][,slot=N][,if=virtio][,media=disk]` */
export function parseDriveOption(text: string): DriveSpec {
  const option = '--drive';
  const values = parseKeyValues(option, text, ['file', 'format', 'readonly', 'snapshot', 'serial', 'slot', 'if', 'media', 'id', 'cache', 'aio']);
  const file = values.get('file');
  if (file === undefined || file === '') throw new ConfigError(`${option} '${text}': file=PATH is required`);
  const format = values.get('format');
  if (format !== undefined && format !== 'raw' && format !== 'qcow2') throw new ConfigError(`${option} '${text}': format must be raw or qcow2, got '${format}'`);
  const interfaceName = values.get('if');
  if (interfaceName !== undefined && interfaceName !== 'virtio' && interfaceName !== 'none') {
    throw new ConfigError(`${option} '${text}': only if=virtio (a virtio-blk device) is supported, got if=${interfaceName}`);
  }
  const media = values.get('media');
  if (media !== undefined && media !== 'disk') throw new ConfigError(`${option} '${text}': only media=disk is supported`);
  const serial = values.get('serial');
  if (serial !== undefined && (serial.length > 20 || !/^[\x20-\x7e]*$/.test(serial))) {
    throw new ConfigError(`${option} '${text}': serial must be at most 20 printable ASCII characters`);
  }
  return {
    file,
    format,
    readOnly: values.has('readonly') ? parseOnOff(option, 'readonly', values.get('readonly')!) : false,
    snapshot: values.has('snapshot') ? parseOnOff(option, 'snapshot', values.get('snapshot')!) : false,
    serial,
    slot: values.has('slot') ? parseSlot(option, values.get('slot')!) : undefined,
  };
}

export type DeviceSpec =
  | { readonly kind: 'entropy'; readonly source: 'seeded' | 'host'; readonly seed?: string; readonly slot?: number }
  | { readonly kind: 'console'; readonly slot?: number };

/** `virtio-rng[,seed=TEXT|,source=host][,slot=N]` or `virtio-console[,slot=N]` (QEMU's -device names, with or without -device). */
export function parseDeviceOption(text: string): DeviceSpec {
  const option = '--device';
  const [name, ...rest] = splitOptionList(text);
  const tail = rest.join(',');
  switch (name) {
    case 'virtio-rng': case 'virtio-rng-device': {
      const values = tail === '' ? new Map<string, string>() : parseKeyValues(option, tail, ['seed', 'source', 'slot', 'rng', 'id']);
      const source = values.get('source') ?? 'seeded';
      if (source !== 'seeded' && source !== 'host') throw new ConfigError(`${option} '${text}': source must be seeded or host, got '${source}'`);
      if (source === 'host' && values.has('seed')) throw new ConfigError(`${option} '${text}': a seed makes no sense with source=host`);
      return { kind: 'entropy', source, seed: values.get('seed'), slot: values.has('slot') ? parseSlot(option, values.get('slot')!) : undefined };
    }
    case 'virtio-console': case 'virtconsole': case 'virtio-serial-device': {
      const values = tail === '' ? new Map<string, string>() : parseKeyValues(option, tail, ['slot', 'id', 'chardev']);
      const chardev = values.get('chardev');
      if (chardev !== undefined && chardev !== 'serial' && chardev !== 'stdio') {
        throw new ConfigError(`${option} '${text}': the virtio console shares the --serial backend (chardev=serial); other chardevs are not implemented`);
      }
      return { kind: 'console', slot: values.has('slot') ? parseSlot(option, values.get('slot')!) : undefined };
    }
    default:
      throw new ConfigError(`${option} '${text}': unknown device '${name}' (virtio-rng, virtio-console; disks come from --drive, network cards from --netdev)`);
  }
}

/** `virtio-mmio.force-legacy=on|off` (QEMU's -global); returns whether the legacy interface is wanted. */
export function parseGlobalOption(text: string): { virtioLegacy: boolean } {
  const match = /^virtio-mmio\.force-legacy=(.*)$/.exec(text);
  if (match === null) throw new ConfigError(`--global '${text}': only virtio-mmio.force-legacy=on|off is supported`);
  return { virtioLegacy: parseOnOff('--global', 'virtio-mmio.force-legacy', match[1]) };
}

/** `--netdev TEXT` split into the backend part (the net bridge's vocabulary) and the device's own keys. */
export interface NetdevSpec {
  readonly text: string;
  readonly config: NetdevConfig;
  readonly mac?: Uint8Array;
  readonly slot?: number;
  readonly pcap?: string;
  readonly linkUp: boolean;
}

/** The device keys a `--netdev` may carry besides the backend's: mac=, slot=, pcap=, link=on|off. */
const NET_DEVICE_KEYS = ['mac', 'slot', 'pcap', 'link'];

export function parseNetdevSpec(text: string): NetdevSpec {
  const option = '--netdev';
  const kept: string[] = [];
  const own = new Map<string, string>();
  for (const part of splitOptionList(text)) {
    const key = part.split('=')[0];
    if (NET_DEVICE_KEYS.includes(key)) {
      if (own.has(key)) throw new ConfigError(`${option} '${text}': '${key}' given twice`);
      own.set(key, part.slice(key.length + 1));
    } else {
      kept.push(part.replace(/,/g, ',,'));
    }
  }
  let config: NetdevConfig;
  try {
    config = parseNetdevOption(kept.join(','));
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  let mac: Uint8Array | undefined;
  const macText = own.get('mac');
  if (macText !== undefined) {
    const match = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(macText);
    if (match === null) throw new ConfigError(`${option} '${text}': mac must look like 52:54:00:12:34:56, got '${macText}'`);
    mac = Uint8Array.from(match.slice(1).map((byte) => parseInt(byte, 16)));
    if ((mac[0] & 1) !== 0) throw new ConfigError(`${option} '${text}': mac ${macText} is a multicast address`);
  }
  const pcap = own.get('pcap');
  if (pcap === '') throw new ConfigError(`${option} '${text}': pcap= needs a file name`);
  return {
    text,
    config,
    mac,
    slot: own.has('slot') ? parseSlot(option, own.get('slot')!) : undefined,
    pcap,
    linkUp: own.has('link') ? parseOnOff(option, 'link', own.get('link')!) : true,
  };
}

/** One virtio device as the options name it, in command-line order (which decides placement). */
export type VirtioDeviceSpec =
  | { readonly kind: 'block'; readonly drive: DriveSpec }
  | { readonly kind: 'net'; readonly netdev: NetdevSpec }
  | DeviceSpec;

/** The opened devices and a way to release their host side if the machine never takes them. */
export interface OpenedDevices {
  readonly devices: VirtioDeviceConfig[];
  /** Files the devices created (packet captures that did not exist before). */
  readonly createdFiles: readonly string[];
  close(): void;
  /** Closes everything and removes the files the devices created (the run never started). */
  discard(): void;
}

/**
 * Opens the backends the specs name (disk images are opened and locked, sockets listen or
 * connect) relative to `cwd`. On any failure everything opened so far is closed again and one
 * BridgeError/ConfigError names the option that failed.
 */
export async function openVirtioDevices(specs: readonly VirtioDeviceSpec[], cwd: string = process.cwd()): Promise<OpenedDevices> {
  const devices: VirtioDeviceConfig[] = [];
  const createdFiles: string[] = [];
  const closers: Array<() => void> = [];
  const discard = (): void => {
    closeAll();
    for (const file of createdFiles.splice(0)) rmSync(file, { force: true });
  };
  const closeAll = (): void => {
    for (const close of closers.splice(0).reverse()) {
      try {
        close();
      } catch {
        // Releasing is best effort: the first error is the one to report.
      }
    }
  };
  try {
    for (const spec of specs) {
      switch (spec.kind) {
        case 'block': {
          const { drive } = spec;
          const backend = openDiskImage({ path: resolvePath(cwd, drive.file), format: drive.format, readOnly: drive.readOnly, snapshot: drive.snapshot });
          closers.push(() => backend.close());
          devices.push({ kind: 'block', backend, serial: drive.serial, slot: drive.slot });
          break;
        }
        case 'net': {
          const { netdev } = spec;
          const pcap = netdev.pcap !== undefined ? resolvePath(cwd, netdev.pcap) : undefined;
          const isNew = pcap !== undefined && !existsSync(pcap);
          const backend = await openNetBackend(netdev.config, { pcap });
          if (isNew) createdFiles.push(pcap);
          closers.push(() => backend.close());
          devices.push({ kind: 'net', backend, mac: netdev.mac, slot: netdev.slot, linkUp: netdev.linkUp });
          break;
        }
        case 'entropy':
          devices.push({
            kind: 'entropy',
            source: spec.source === 'host' ? new HostEntropySource() : new SeededEntropySource(spec.seed ?? DEFAULT_ENTROPY_SEED),
            slot: spec.slot,
          });
          break;
        case 'console':
          devices.push({ kind: 'console', slot: spec.slot });
          break;
      }
    }
  } catch (error) {
    discard();
    throw error;
  }
  return { devices, createdFiles, close: closeAll, discard };
}
