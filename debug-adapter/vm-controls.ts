// The custom requests behind the extension's VM controls that change the machine's hardware
// while it runs: hot-plugging a disk image into a free virtio-mmio slot (and unplugging it),
// and starting/stopping a packet capture of a network card. Each takes the request's
// arguments as they came over the wire and answers with a plain JSON body, or throws one
// RequestError that names what was wrong.
//
// Disk hot-plug design: the device tree always lists all eight virtio-mmio slots (as QEMU's
// `virt` board does), so a disk put into an empty slot is a new device the guest finds the next
// time it probes the slots. Linux and the project's kernels probe once at boot, so they see it
// after a reset or reboot; the running driver of an unplugged disk sees its device vanish.

import { isAbsolute, resolve as resolvePath } from 'node:path';
import { openDiskImage } from '../vmm-core/bridges/disk/index';
import type { Machine } from '../vmm-core/machine/machine';

export class VmControlError extends Error {
  override name = 'VmControlError';
}

function optionalString(args: Record<string, unknown>, name: string, request: string): string | undefined {
  const value = args[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new VmControlError(`${request}: '${name}' must be a non-empty string`);
  return value;
}

function optionalIndex(args: Record<string, unknown>, name: string, request: string): number | undefined {
  const value = args[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new VmControlError(`${request}: '${name}' must be a non-negative integer, got ${JSON.stringify(value)}`);
  return value;
}

function asMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface AttachedDisk {
  readonly slot: number;
  readonly path: string;
  readonly readOnly: boolean;
  readonly sectors: number;
  readonly visibleAfter: 'next probe of the virtio-mmio slots (Linux: next boot)';
}

/** `ringside/attachDisk` { path, readOnly?, format?, serial?, slot? } */
export function attachDisk(machine: Machine, args: Record<string, unknown>, cwd: string): AttachedDisk {
  const request = 'ringside/attachDisk';
  const path = optionalString(args, 'path', request);
  if (path === undefined) throw new VmControlError(`${request} needs 'path': the disk image to plug in`);
  const readOnly = args.readOnly;
  if (readOnly !== undefined && typeof readOnly !== 'boolean') throw new VmControlError(`${request}: 'readOnly' must be true or false`);
  const format = args.format;
  if (format !== undefined && format !== 'raw' && format !== 'qcow2') throw new VmControlError(`${request}: 'format' must be 'raw' or 'qcow2', got ${JSON.stringify(format)}`);
  const serial = optionalString(args, 'serial', request);
  if (serial !== undefined && (serial.length > 20 || !/^[\x20-\x7e]*$/.test(serial))) throw new VmControlError(`${request}: 'serial' must be at most 20 printable ASCII characters`);
  const slot = optionalIndex(args, 'slot', request);
  const fullPath = isAbsolute(path) ? path : resolvePath(cwd, path);
  let backend;
  try {
    backend = openDiskImage({ path: fullPath, format, readOnly: readOnly === true });
  } catch (error) {
    throw new VmControlError(`cannot attach ${fullPath}: ${asMessage(error)}`);
  }
  let placed: number;
  try {
    placed = machine.attachDisk(backend, { serial, slot });
  } catch (error) {
    backend.close();
    throw new VmControlError(`cannot attach ${fullPath}: ${asMessage(error)}`);
  }
  return {
    slot: placed, path: fullPath, readOnly: backend.readOnly, sectors: backend.sectorCount,
    visibleAfter: 'next probe of the virtio-mmio slots (Linux: next boot)',
  };
}

/** `ringside/detachDisk` { slot? }: without a slot, the machine's only disk. */
export function detachDisk(machine: Machine, args: Record<string, unknown>): { slot: number } {
  const request = 'ringside/detachDisk';
  let slot = optionalIndex(args, 'slot', request);
  if (slot === undefined) {
    const disks = machine.virtioSlots.filter((entry) => entry.kind === 'block').map((entry) => entry.slot);
    if (disks.length === 0) throw new VmControlError('this machine has no disk to detach');
    if (disks.length > 1) throw new VmControlError(`${request}: the machine has ${disks.length} disks (slots ${disks.join(', ')}); say which with 'slot'`);
    slot = disks[0];
  }
  try {
    machine.detachDisk(slot);
  } catch (error) {
    throw new VmControlError(asMessage(error));
  }
  return { slot };
}

/** `ringside/packetCapture` { action: 'start', path, card? } | { action: 'stop', card? } */
export function packetCapture(machine: Machine, args: Record<string, unknown>, cwd: string): Record<string, unknown> {
  const request = 'ringside/packetCapture';
  const card = optionalIndex(args, 'card', request) ?? 0;
  try {
    switch (args.action) {
      case 'start': {
        const path = optionalString(args, 'path', request);
        if (path === undefined) throw new VmControlError(`${request} start needs 'path': the pcap file to write`);
        const fullPath = isAbsolute(path) ? path : resolvePath(cwd, path);
        machine.startPacketCapture(fullPath, card);
        return { capturing: true, card, path: fullPath };
      }
      case 'stop': {
        const summary = machine.stopPacketCapture(card);
        return { capturing: false, card, path: summary.path, framesCaptured: summary.framesCaptured };
      }
      default:
        throw new VmControlError(`${request}: action must be 'start' or 'stop', got ${JSON.stringify(args.action)}`);
    }
  } catch (error) {
    if (error instanceof VmControlError) throw error;
    throw new VmControlError(asMessage(error));
  }
}
