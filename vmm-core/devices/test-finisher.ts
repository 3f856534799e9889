// SiFive test finisher ("sifive,test1") at 0x10_0000: the guest powers off, fails with an exit
// code or resets the machine by writing one 32-bit word at offset 0.

import type { MmioDevice } from './device';

export interface TestFinisherEvent {
  kind: 'pass' | 'fail' | 'reset';
  /** Exit code: 0 for pass and reset, bits 31:16 of the written value for fail. */
  code: number;
}

const FINISHER_FAIL = 0x3333;
const FINISHER_PASS = 0x5555;
const FINISHER_RESET = 0x7777;

/**
 * Like QEMU, 2- and 4-byte writes at offset 0 are decoded (a 2-byte write carries no code);
 * other values, sizes and offsets are ignored and reads return 0. A 'fail' with code 0 is
 * reported as such; QEMU would exit with status 0 in that case (the caller decides).
 */
export class TestFinisher implements MmioDevice {
  readonly name = 'test-finisher';

  constructor(private readonly onExit: (event: TestFinisherEvent) => void) {}

  read(_offset: number, _size: 1 | 2 | 4): number {
    return 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset !== 0 || size === 1) return;
    const status = value & 0xffff;
    const code = size === 4 ? (value >>> 16) & 0xffff : 0;
    if (status === FINISHER_PASS) this.onExit({ kind: 'pass', code: 0 });
    else if (status === FINISHER_FAIL) this.onExit({ kind: 'fail', code });
    else if (status === FINISHER_RESET) this.onExit({ kind: 'reset', code: 0 });
  }
}
