// The built-in SBI for direct (paravirtual) boot: the kernel runs in S-mode and its ecalls
// are hypercalls answered here, with no M-mode firmware. Extensions: base, TIME, IPI, RFENCE,
// HSM, SRST, DBCN and the legacy console, timer, IPI, fence and shutdown calls.

import type { Hart } from '../cpu/hart';

export const enum SbiError {
  Success = 0,
  Failed = -1,
  NotSupported = -2,
  InvalidParameter = -3,
  Denied = -4,
  InvalidAddress = -5,
  AlreadyAvailable = -6,
  AlreadyStarted = -7,
  AlreadyStopped = -8,
}

export const SBI_EXTENSION = {
  base: 0x10,
  time: 0x54494d45,
  ipi: 0x735049,
  rfence: 0x52464e43,
  hsm: 0x48534d,
  srst: 0x53525354,
  debugConsole: 0x4442434e,
} as const;

const LEGACY_SET_TIMER = 0, LEGACY_PUTCHAR = 1, LEGACY_GETCHAR = 2, LEGACY_CLEAR_IPI = 3, LEGACY_SEND_IPI = 4;
const LEGACY_REMOTE_FENCE_I = 5, LEGACY_REMOTE_SFENCE = 6, LEGACY_REMOTE_SFENCE_ASID = 7, LEGACY_SHUTDOWN = 8;

/** SBI spec version 2.0; implementation id chosen for Ringside ("RING"), version 1. */
export const SBI_SPEC_VERSION = 2 << 24;
export const SBI_IMPLEMENTATION_ID = 0x52494e47;
export const SBI_IMPLEMENTATION_VERSION = 1;

export const enum HartState { Started = 0, Stopped = 1, StartPending = 2, StopPending = 3 }

/** Machine services the SBI needs. */
export interface SbiEnvironment {
  readonly harts: readonly Hart[];
  consoleWrite(byte: number): void;
  /** Next input byte, or -1 when none is waiting. */
  consoleRead(): number;
  /** Sets the supervisor timer deadline (mtime ticks) of a hart and clears its pending STIP. */
  setSupervisorTimer(hart: Hart, deadline: number): void;
  /** Raises the supervisor software interrupt on a hart. */
  sendSupervisorSoftwareInterrupt(hart: Hart): void;
  flushTranslation(hart: Hart): void;
  hartState(hart: Hart): HartState;
  startHart(hart: Hart, startAddress: bigint, opaque: bigint): void;
  stopHart(hart: Hart): void;
  /** Power off (code = exit status) or reset the machine. */
  systemReset(kind: 'shutdown' | 'reboot', code: number): void;
  /** Reads/writes guest physical memory; false when the range is not RAM. */
  readPhysical(address: bigint, length: number): Uint8Array | undefined;
  writePhysical(address: bigint, data: Uint8Array): boolean;
}

export class SbiHandler {
  /** Calls per extension id, for exit statistics. */
  readonly callCounts = new Map<number, number>();

  constructor(private readonly environment: SbiEnvironment) {}

  /** Handles the ecall in a7/a6/a0..a5 and writes a0 (error) and a1 (value). */
  call(hart: Hart): void {
    const extension = Number(BigInt.asUintN(32, hart.readRegister(17)));
    const functionId = Number(BigInt.asUintN(32, hart.readRegister(16)));
    const argument = (i: number) => hart.readRegister(10 + i);
    this.callCounts.set(extension, (this.callCounts.get(extension) ?? 0) + 1);
    const result = this.dispatch(hart, extension, functionId, argument);
    if (result === undefined) return; // legacy calls leave a1 alone and set a0 themselves
    hart.writeRegister(10, BigInt(result[0]));
    hart.writeRegister(11, result[1]);
  }

  private dispatch(
    hart: Hart, extension: number, functionId: number, argument: (i: number) => bigint,
  ): [number, bigint] | undefined {
    const env = this.environment;
    const ok = (value: bigint | number = 0n): [number, bigint] => [SbiError.Success, BigInt(value)];
    const error = (code: SbiError): [number, bigint] => [code, 0n];
    const hartMaskTargets = (mask: bigint, base: bigint): Hart[] | undefined => {
      if (base === -1n) return [...env.harts];
      const targets: Hart[] = [];
      for (let bit = 0n; bit < 64n; bit++) {
        if (((BigInt.asUintN(64, mask) >> bit) & 1n) === 0n) continue;
        const target = env.harts.find((h) => BigInt(h.hartId) === base + bit);
        if (target === undefined) return undefined;
        targets.push(target);
      }
      return targets;
    };
    switch (extension) {
      case LEGACY_SET_TIMER:
        env.setSupervisorTimer(hart, Number(BigInt.asUintN(64, argument(0))));
        hart.writeRegister(10, 0n);
        return undefined;
      case LEGACY_PUTCHAR:
        env.consoleWrite(Number(argument(0) & 0xffn));
        hart.writeRegister(10, 0n);
        return undefined;
      case LEGACY_GETCHAR:
        hart.writeRegister(10, BigInt(env.consoleRead()));
        return undefined;
      case LEGACY_CLEAR_IPI:
        hart.mipSoftware &= ~2;
        hart.writeRegister(10, 0n);
        return undefined;
      case LEGACY_SEND_IPI: case LEGACY_REMOTE_FENCE_I: case LEGACY_REMOTE_SFENCE: case LEGACY_REMOTE_SFENCE_ASID: {
        // The argument is a pointer to a hart mask in S-mode memory; an absent pointer means all harts.
        const pointer = argument(0);
        let targets: readonly Hart[] = env.harts;
        if (pointer !== 0n) {
          const bytes = env.readPhysical(pointer, 8);
          if (bytes !== undefined) {
            const mask = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
            targets = env.harts.filter((h) => ((mask >> BigInt(h.hartId)) & 1n) === 1n);
          }
        }
        for (const target of targets) {
          if (extension === LEGACY_SEND_IPI) env.sendSupervisorSoftwareInterrupt(target);
          else env.flushTranslation(target);
        }
        hart.writeRegister(10, 0n);
        return undefined;
      }
      case LEGACY_SHUTDOWN:
        env.systemReset('shutdown', 0);
        return undefined;

      case SBI_EXTENSION.base:
        switch (functionId) {
          case 0: return ok(SBI_SPEC_VERSION);
          case 1: return ok(SBI_IMPLEMENTATION_ID);
          case 2: return ok(SBI_IMPLEMENTATION_VERSION);
          case 3: return ok(this.probe(Number(BigInt.asUintN(32, argument(0)))) ? 1 : 0);
          case 4: case 5: case 6: return ok(0); // mvendorid, marchid, mimpid
          default: return error(SbiError.NotSupported);
        }
      case SBI_EXTENSION.time:
        if (functionId !== 0) return error(SbiError.NotSupported);
        env.setSupervisorTimer(hart, Number(BigInt.asUintN(64, argument(0))));
        return ok();
      case SBI_EXTENSION.ipi: {
        if (functionId !== 0) return error(SbiError.NotSupported);
        const targets = hartMaskTargets(argument(0), argument(1));
        if (targets === undefined) return error(SbiError.InvalidParameter);
        for (const target of targets) env.sendSupervisorSoftwareInterrupt(target);
        return ok();
      }
      case SBI_EXTENSION.rfence: {
        if (functionId > 6) return error(SbiError.NotSupported);
        if (functionId >= 3) return error(SbiError.NotSupported); // hypervisor fences: no H extension
        const targets = hartMaskTargets(argument(0), argument(1));
        if (targets === undefined) return error(SbiError.InvalidParameter);
        for (const target of targets) env.flushTranslation(target);
        return ok();
      }
      case SBI_EXTENSION.hsm:
        return this.hartStateManagement(hart, functionId, argument);
      case SBI_EXTENSION.srst: {
        if (functionId !== 0) return error(SbiError.NotSupported);
        const type = Number(BigInt.asUintN(32, argument(0)));
        const reason = Number(BigInt.asUintN(32, argument(1)));
        if (type === 0) env.systemReset('shutdown', reason === 0 ? 0 : 1);
        else if (type === 1 || type === 2) env.systemReset('reboot', 0);
        else return error(SbiError.InvalidParameter);
        return ok();
      }
      case SBI_EXTENSION.debugConsole:
        return this.debugConsole(functionId, argument);
      default:
        return error(SbiError.NotSupported);
    }
  }

  private probe(extension: number): boolean {
    return (Object.values(SBI_EXTENSION) as number[]).includes(extension) || (extension >= 0 && extension <= 8);
  }

  private hartStateManagement(hart: Hart, functionId: number, argument: (i: number) => bigint): [number, bigint] {
    const env = this.environment;
    const findHart = (id: bigint) => env.harts.find((h) => BigInt(h.hartId) === id);
    switch (functionId) {
      case 0: { // hart_start
        const target = findHart(argument(0));
        if (target === undefined) return [SbiError.InvalidParameter, 0n];
        if (env.hartState(target) !== HartState.Stopped) return [SbiError.AlreadyAvailable, 0n];
        env.startHart(target, argument(1), argument(2));
        return [SbiError.Success, 0n];
      }
      case 1: // hart_stop
        env.stopHart(hart);
        return [SbiError.Success, 0n];
      case 2: { // hart_get_status
        const target = findHart(argument(0));
        if (target === undefined) return [SbiError.InvalidParameter, 0n];
        return [SbiError.Success, BigInt(env.hartState(target))];
      }
      case 3: // hart_suspend: only the default retentive suspend, which behaves like wfi.
        if (BigInt.asUintN(32, argument(0)) !== 0n) return [SbiError.NotSupported, 0n];
        hart.waitingForInterrupt = (hart.mip & hart.mie) === 0;
        return [SbiError.Success, 0n];
      default:
        return [SbiError.NotSupported, 0n];
    }
  }

  private debugConsole(functionId: number, argument: (i: number) => bigint): [number, bigint] {
    const env = this.environment;
    const length = Number(BigInt.asUintN(32, argument(0)));
    const address = BigInt.asUintN(64, argument(1)) | (BigInt.asUintN(64, argument(2)) << 64n);
    switch (functionId) {
      case 0: { // write
        const bytes = env.readPhysical(address, length);
        if (bytes === undefined) return [SbiError.InvalidParameter, 0n];
        for (const byte of bytes) env.consoleWrite(byte);
        return [SbiError.Success, BigInt(length)];
      }
      case 1: { // read
        const received: number[] = [];
        while (received.length < length) {
          const byte = env.consoleRead();
          if (byte < 0) break;
          received.push(byte);
        }
        if (!env.writePhysical(address, Uint8Array.from(received))) return [SbiError.InvalidParameter, 0n];
        return [SbiError.Success, BigInt(received.length)];
      }
      case 2: // write_byte
        env.consoleWrite(Number(argument(0) & 0xffn));
        return [SbiError.Success, 0n];
      default:
        return [SbiError.NotSupported, 0n];
    }
  }
}
