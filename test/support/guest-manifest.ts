// The project's guests as guests/manifest.json lists them, and where Debian's OpenSBI puts
// fw_jump: what the guest, lockstep and snapshot tests run.

import { readFileSync } from 'node:fs';

export interface GuestEntry {
  name: string;
  elf: string;
  boot: 'bare' | 'firmware' | 'direct' | 'htif';
  harts?: number;
  exitCode: number;
  expectOutput: string[];
  maxInstructions: number;
  qemuInstructions?: number;
}

export const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';

export const GUEST_MANIFEST = JSON.parse(readFileSync('guests/manifest.json', 'utf8')) as GuestEntry[];
