// Helpers shared by the disk backend tests: qemu-img, temporary directories, seeded randomness.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasTool = (command: string, args: string[]): boolean => spawnSync(command, args, { stdio: 'ignore' }).status === 0;
export const hasQemuImg = hasTool('qemu-img', ['--version']);
export const hasQemuSystem = hasTool('qemu-system-riscv64', ['--version']);
export const NEEDS_QEMU_IMG = !hasQemuImg && 'qemu-img is not installed (scripts/install-deps.sh installs qemu-utils)';
export const NEEDS_QEMU_SYSTEM = !hasQemuSystem && 'qemu-system-riscv64 is not installed (scripts/install-deps.sh)';

/** Runs qemu-img and returns its output; throws with stderr when it fails. */
export function qemuImg(...args: string[]): string {
  const result = spawnSync('qemu-img', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`qemu-img ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

export interface CheckResult {
  status: number;
  checkErrors: number;
  corruptions: number;
  leaks: number;
  output: string;
}

/** `qemu-img check` (exit 0 clean, 3 leaks only, 2 corruptions). */
export function qemuCheck(path: string): CheckResult {
  const result = spawnSync('qemu-img', ['check', '--output=json', '-f', 'qcow2', path], { encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`;
  let report: { 'check-errors'?: number; corruptions?: number; leaks?: number } = {};
  try {
    report = JSON.parse(result.stdout);
  } catch {
    // qemu-img prints no JSON when it cannot open the image at all
  }
  return {
    status: result.status ?? -1,
    checkErrors: report['check-errors'] ?? (result.status === 0 || result.status === 3 ? 0 : 1),
    corruptions: report.corruptions ?? 0,
    leaks: report.leaks ?? 0,
    output,
  };
}

/** `qemu-img compare` exit status: 0 identical, 1 different. */
export function qemuCompare(a: string, formatA: string, b: string, formatB: string): { status: number; output: string } {
  const result = spawnSync('qemu-img', ['compare', '-f', formatA, '-F', formatB, a, b], { encoding: 'utf8' });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

export function temporaryDirectory(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `ringside-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A small seeded generator (mulberry32): the same seed gives the same test. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const randomInt = (random: () => number, below: number): number => Math.floor(random() * below);

/** Recognisable bytes: every 8 bytes carry the tag, the sector and the position. */
export function pattern(length: number, tag: number, sector = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < length; i += 8) {
    view.setUint32(i, tag >>> 0);
    view.setUint32(i + 4, (sector * 512 + i) >>> 0);
  }
  return bytes;
}
