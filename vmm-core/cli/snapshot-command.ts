// `ringside snapshot info FILE [--json]`: what a snapshot file holds, read and checked whole
// (a damaged file is reported, not described).

import { privilegeName, type Privilege } from '../cpu/csr-numbers';
import { summarizeSnapshot, type SnapshotSummary } from '../machine/snapshot';
import { UsageError } from './common';
import { readSnapshotFile } from './machine-options';

export const SNAPSHOT_USAGE = `usage: ringside snapshot info FILE [--json]

  Checks a snapshot file whole (header, checksums, every section) and prints what it holds:
  the machine (memory, boot, devices, images with their SHA-256), each hart (pc, privilege,
  instructions retired), virtual time, the sections and the state hash, which is equal for
  two snapshots exactly when the machines in them are equal. --json prints the same as JSON.
`;

export function snapshotCommand(args: readonly string[]): number {
  const [action, ...rest] = args;
  if (action === undefined || action === '--help' || action === '-h') {
    process.stdout.write(SNAPSHOT_USAGE);
    return action === undefined ? 2 : 0;
  }
  if (action !== 'info') throw new UsageError(`unknown snapshot command '${action}' (ringside snapshot info FILE)`);
  const json = rest.includes('--json');
  const files = rest.filter((argument) => argument !== '--json');
  for (const argument of files) if (argument.startsWith('--')) throw new UsageError(`unknown option '${argument}' (ringside snapshot info FILE [--json])`);
  if (files.length !== 1) throw new UsageError('ringside snapshot info needs one snapshot FILE');
  const summary = summarizeSnapshot(readSnapshotFile(files[0]));
  process.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : describeSummary(files[0], summary));
  return 0;
}

function describeSummary(path: string, summary: SnapshotSummary): string {
  const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(bytes < 1048576 ? 2 : 1)} MiB`;
  const lines = [
    `${path}: Ringside snapshot, format version ${summary.formatVersion}, ${summary.fileBytes} bytes${summary.name !== null ? `, named '${summary.name}'` : ''}`,
    `machine: ${mib(summary.memoryBytes)} RAM (${summary.nonZeroPages} pages not zero), ${summary.harts.length} hart${summary.harts.length === 1 ? '' : 's'}, ` +
      `bios ${summary.bios}, virtual time ${(summary.virtualNanoseconds / 1e9).toFixed(6)} s`,
    ...summary.images.map((image) => `  ${image.role.padEnd(8)} ${image.fileName} (${image.bytes} bytes, sha256 ${image.sha256.slice(0, 16)}…)`),
    ...summary.devices.map((device) => `  virtio   ${device.kind} in slot ${device.slot}`),
    ...summary.harts.map((hart, index) => `hart ${index}: pc 0x${hart.pc} ${privilegeName(hart.privilege as Privilege)}-mode, ` +
      `${hart.instructionsRetired} instructions retired${hart.waiting ? ', waiting for an interrupt' : ''}`),
    `sections: ${summary.sections.map((section) => `${section.tag} ${section.storedBytes} bytes (${section.decodedBytes} decoded)`).join(', ')}`,
    `state hash: ${summary.stateHash}`,
  ];
  return `${lines.join('\n')}\n`;
}
