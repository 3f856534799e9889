// End-to-end tests of the `ringside` command: spawn the bundled CLI (dist/cli.js) on real
// guests and on small programs built here, and check exit codes, stdout and stderr.
// Fixtures: guests/bin (the project's guests) and test/fixtures/cli (built by its build.sh).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildVirtDeviceTree } from '../../vmm-core/machine/device-tree';
import { parseElf } from '../../vmm-core/machine/elf';
import { RAM_BASE } from '../../vmm-core/machine/layout';
import { requireTool } from '../support/tools';
import { assertBadInput, type CliResult, useBuiltCliAndScratch } from './support';

const scratch = useBuiltCliAndScratch('ringside-cli-');
const CLI = 'dist/cli.js';
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const FIXTURES = 'test/fixtures/cli';
const EVENTS = `${FIXTURES}/events.elf`;
const BOOT_INFO = `${FIXTURES}/boot-info.elf`;
const MEBIBYTE = 1024 * 1024;

function runCli(args: readonly string[]): CliResult {
  const result = spawnSync(process.execPath, [CLI, 'run', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const scratchPath = (name: string): string => join(scratch(), name);

function writeScratch(name: string, bytes: Uint8Array | string): string {
  const path = scratchPath(name);
  writeFileSync(path, bytes);
  return path;
}

/** A stop through --stop-on: exit code 3, the reason, then the register dump. */
function assertStopped(result: CliResult, reason: RegExp): void {
  assert.equal(result.code, 3, `exit code; stderr:\n${result.stderr}`);
  assert.match(result.stderr, reason);
  assert.match(result.stderr, /hart 0 {2}pc 0x[0-9a-f]{16} {2}privilege [USM]\n/);
  assert.match(result.stderr, /zero 0x0000000000000000 {2}\s*ra 0x[0-9a-f]{16}/);
  assert.match(result.stderr, /t6 0x[0-9a-f]{16}\n$/);
}

// ---- programs built here --------------------------------------------------------------------

interface SegmentSpec {
  address: number;
  bytes: Uint8Array;
  memorySize?: number;
}

/**
 * A minimal ELF64 executable: header, one program header per segment, the segments' bytes.
 * `machine` and `elfClass` can be changed to build files the loader must refuse.
 */
function buildElf(segments: readonly SegmentSpec[], options: { entry?: number; machine?: number; elfClass?: number } = {}): Uint8Array {
  const headerSize = 64, programHeaderSize = 56;
  let offset = headerSize + programHeaderSize * segments.length;
  const placed = segments.map((segment) => {
    const at = offset;
    offset += segment.bytes.length;
    return { ...segment, offset: at };
  });
  const file = new Uint8Array(offset);
  const view = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, options.elfClass ?? 2, 1, 1]);
  view.setUint16(16, 2, true); // ET_EXEC
  view.setUint16(18, options.machine ?? 243, true); // EM_RISCV
  view.setUint32(20, 1, true);
  view.setBigUint64(24, BigInt(options.entry ?? segments[0].address), true);
  view.setBigUint64(32, BigInt(headerSize), true);
  view.setUint16(52, headerSize, true);
  view.setUint16(54, programHeaderSize, true);
  view.setUint16(56, segments.length, true);
  view.setUint16(58, 64, true);
  placed.forEach((segment, index) => {
    const base = headerSize + index * programHeaderSize;
    view.setUint32(base, 1, true); // PT_LOAD
    view.setUint32(base + 4, 7, true); // RWX
    view.setBigUint64(base + 8, BigInt(segment.offset), true);
    view.setBigUint64(base + 16, BigInt(segment.address), true);
    view.setBigUint64(base + 24, BigInt(segment.address), true);
    view.setBigUint64(base + 32, BigInt(segment.bytes.length), true);
    view.setBigUint64(base + 40, BigInt(segment.memorySize ?? segment.bytes.length), true);
    view.setBigUint64(base + 48, 4n, true);
    file.set(segment.bytes, segment.offset);
  });
  return file;
}

// Hand-assembled RV64I instructions (register numbers: t0 = 5, t1 = 6).
const lui = (rd: number, upper: number): number => ((upper << 12) | (rd << 7) | 0x37) >>> 0;
const addi = (rd: number, rs1: number, immediate: number): number => (((immediate & 0xfff) << 20) | (rs1 << 15) | (rd << 7) | 0x13) >>> 0;
const sw = (rs2: number, rs1: number, offset: number): number =>
  ((((offset >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (2 << 12) | ((offset & 0x1f) << 7) | 0x23) >>> 0;
const bnez = (rs1: number, offset: number): number =>
  ((((offset >> 12) & 1) << 31) | (((offset >> 5) & 0x3f) << 25) | (rs1 << 15) | (1 << 12) | (((offset >> 1) & 0xf) << 8) |
    (((offset >> 11) & 1) << 7) | 0x63) >>> 0;
const jump = (offset: number): number =>
  ((((offset >> 20) & 1) << 31) | (((offset >> 1) & 0x3ff) << 21) | (((offset >> 11) & 1) << 20) | (((offset >> 12) & 0xff) << 12) | 0x6f) >>> 0;
const WFI = 0x10500073;
const JUMP_TO_SELF = jump(0); // j .

function program(words: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((word, index) => view.setUint32(index * 4, word, true));
  return bytes;
}

/** Writes (code << 16) | 0x3333 to the test finisher: QEMU's "fail with code". */
function finisherFailElf(code: number): Uint8Array {
  const value = ((code << 16) | 0x3333) >>> 0;
  // lui + addi with a sign-adjusted upper part, as `li` expands.
  const upper = ((value + 0x800) >>> 12) & 0xfffff;
  const lower = value - ((upper << 12) >>> 0);
  return buildElf([{ address: RAM_BASE, bytes: program([lui(5, 0x100), lui(6, upper), addi(6, 6, lower), sw(6, 5, 0), JUMP_TO_SELF]) }]);
}

const spinElf = (): Uint8Array => buildElf([{ address: RAM_BASE, bytes: program([JUMP_TO_SELF]) }]);

/** Hart 0 sleeps in wfi for ever (nothing can wake it); every other hart spins. */
const sleepingHartZeroElf = (): Uint8Array =>
  buildElf([{ address: RAM_BASE, bytes: program([bnez(10, 12), WFI, jump(-4), JUMP_TO_SELF]) }]);

function symbolAddress(elfPath: string, name: string): bigint {
  const symbol = parseElf(new Uint8Array(readFileSync(elfPath)), elfPath).findSymbol(name);
  assert.ok(symbol !== undefined, `no symbol ${name} in ${elfPath}`);
  return BigInt(symbol.value);
}

const hex16 = (value: bigint): string => `0x${value.toString(16).padStart(16, '0')}`;

// ---- running guests -------------------------------------------------------------------------

describe('ringside run: guests and exit codes', () => {
  test('a passing guest exits 0 with its console on stdout', () => {
    const result = runCli(['--kernel', 'guests/bin/rv64i.elf']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^rv64i: RV64I base instructions\n/);
    assert.match(result.stdout, /\nPASS\n$/);
    assert.equal(result.stderr, '');
  });

  test('a guest failing through the test finisher exits with its code', () => {
    const result = runCli(['--kernel', writeScratch('fail-42.elf', finisherFailElf(42))]);
    assert.equal(result.code, 42, result.stderr);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, '');
  });

  test('a guest code that is 0 modulo 256 still fails (exit 1)', () => {
    const result = runCli(['--kernel', writeScratch('fail-256.elf', finisherFailElf(256))]);
    assert.equal(result.code, 1, result.stderr);
  });

  test('HTIF: console through tohost and the exit code from tohost', () => {
    const result = runCli(['--kernel', `${FIXTURES}/htif-exit.elf`]);
    assert.equal(result.code, 7, result.stderr);
    assert.equal(result.stdout, 'htif-exit\n');
  });

  test('--bios builtin: direct boot of the SBI payload', () => {
    const result = runCli(['--bios', 'builtin', '--kernel', 'guests/bin/sbi-payload.elf']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /sbi-payload: all checks passed/);
  });

  test('--bios FILE: OpenSBI fw_jump with the SBI payload', () => {
    requireTool(!existsSync(FW_JUMP) && `${FW_JUMP} is not installed (scripts/install-deps.sh)`);
    const result = runCli(['--bios', FW_JUMP, '--kernel', 'guests/bin/sbi-payload.elf']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /OpenSBI/);
    assert.match(result.stdout, /sbi-payload: all checks passed/);
  });

  test('--smp 2 runs the two-hart guest', () => {
    const result = runCli(['--smp', '2', '--kernel', 'guests/bin/smp.elf']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /ok IPIs between harts via msip\nPASS\n/);
  });

  test('boot information: a0 = hart 0, a1 = DTB at the top of RAM aligned to 2 MiB, no bootargs by default', () => {
    const result = runCli(['--kernel', BOOT_INFO]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, [
      'boot-info: hart 0',
      'boot-info: dtb 0x0000000087e00000',
      'boot-info: memory 0x0000000008000000',
      'boot-info: cpus 1',
      'boot-info: bootargs (none)',
      '',
    ].join('\n'));
  });

  test('--mem 64M: the device tree names 64 MiB and moves down with the top of RAM; --smp 3 names three CPUs', () => {
    const result = runCli(['--kernel', BOOT_INFO, '--mem', '64M', '--smp', '3']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /dtb 0x0000000083e00000\n/);
    assert.match(result.stdout, /memory 0x0000000004000000\n/);
    assert.match(result.stdout, /cpus 3\n/);
  });

  test('--cpu: the default model runs Zbb\'s cpop; --cpu rv64gc makes it an illegal instruction', () => {
    // cpop t1, t0; then write 0x5555 (pass) to the test finisher.
    const elf = writeScratch('cpop.elf', buildElf([{
      address: RAM_BASE, bytes: program([0x60229313, lui(5, 0x100), lui(6, 5), addi(6, 6, 0x555), sw(6, 5, 0), JUMP_TO_SELF]),
    }]));
    assert.equal(runCli(['--kernel', elf, '--stop-on', 'exception:2']).code, 0);
    assert.equal(runCli(['--kernel', elf, '--cpu', 'rv64,zbb=on', '--stop-on', 'exception:2']).code, 0);
    assertStopped(runCli(['--kernel', elf, '--cpu', 'rv64gc', '--stop-on', 'exception:2']), /stopped on exception 2 \(M->M\), tval 0x0000000060229313, epc 0x0000000080000000\n/);
    assertStopped(runCli(['--kernel', elf, '--cpu=rv64,zbb=off', '--stop-on', 'exception:2']), /stopped on exception 2 \(M->M\), tval 0x0000000060229313, epc 0x0000000080000000\n/);
  });

  test('--append puts the command line in /chosen/bootargs', () => {
    const result = runCli(['--kernel', BOOT_INFO, '--append', 'console=ttyS0 root=/dev/vda quiet']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /bootargs 'console=ttyS0 root=\/dev\/vda quiet'\n/);
  });

  test('--dtb FILE: the guest gets that device tree', () => {
    const dtb = buildVirtDeviceTree({ ramBase: RAM_BASE, ramSize: 32 * MEBIBYTE, hartCount: 2, bootargs: 'from a file' });
    const result = runCli(['--kernel', BOOT_INFO, '--dtb', writeScratch('custom.dtb', dtb)]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /memory 0x0000000002000000\nboot-info: cpus 2\nboot-info: bootargs 'from a file'\n/);
  });

  test('--dtb FILE that is not a device tree: a clear error', () => {
    const dtb = buildVirtDeviceTree({ ramBase: RAM_BASE, ramSize: 32 * MEBIBYTE, hartCount: 1 });
    dtb[0] ^= 0xff;
    const result = runCli(['--kernel', BOOT_INFO, '--dtb', writeScratch('corrupt.dtb', dtb)]);
    assertBadInput(result, /corrupt\.dtb: .*magic/i);
    const truncated = runCli(['--kernel', BOOT_INFO, '--dtb', writeScratch('short.dtb', 'not a dtb\n')]);
    assertBadInput(truncated, /short\.dtb: /);
  });

  test('--serial file:PATH sends the console to the file, not stdout', () => {
    const path = scratchPath('serial.txt');
    const result = runCli(['--kernel', 'guests/bin/rv64i.elf', '--serial', `file:${path}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(readFileSync(path, 'utf8'), /^rv64i: RV64I base instructions\n[^]*\nPASS\n$/);
  });

  test('--timeout ends a guest that never stops: exit 124, a message and the registers', () => {
    const started = Date.now();
    const result = runCli(['--kernel', writeScratch('spin.elf', spinElf()), '--timeout', '0.5']);
    assert.equal(result.code, 124, result.stderr);
    assert.ok(Date.now() - started < 10_000, 'the timeout ended the run promptly');
    assert.match(result.stderr, /^ringside: timeout after 0\.5 s\nhart 0 {2}pc 0x0000000080000000 {2}privilege M\n/);
  });

  test('--timeout also ends a run where hart 0 sleeps and another hart spins', () => {
    const result = runCli(['--kernel', writeScratch('sleeping-hart-0.elf', sleepingHartZeroElf()), '--smp', '2', '--timeout', '0.5']);
    assert.equal(result.code, 124, result.stderr);
    assert.match(result.stderr, /^ringside: timeout after 0\.5 s\nhart 0 {2}pc 0x0000000080000008 {2}privilege M\n/);
  });

  test('an emulator error exits 125 with the registers; a raw kernel loads at 0x80200000 in direct boot', () => {
    // wfi with no interrupt enabled and no timer armed: nothing can ever wake the machine.
    const kernel = writeScratch('wfi-forever.bin', program([WFI, JUMP_TO_SELF]));
    const result = runCli(['--bios', 'builtin', '--kernel', kernel]);
    assert.equal(result.code, 125, result.stderr);
    assert.match(result.stderr, /^ringside: emulator error on hart 0: every hart waits for an interrupt/);
    assert.match(result.stderr, /hart 0 {2}pc 0x0000000080200004 {2}privilege S\n/);
  });
});

// ---- --stop-on --------------------------------------------------------------------------------

describe('ringside run --stop-on', () => {
  test('exception:8 and trap:8 stop at the ecall from U, before the S handler prints', () => {
    for (const spec of ['exception:8', 'trap:8']) {
      const result = runCli(['--kernel', EVENTS, '--stop-on', spec]);
      assertStopped(result, /^ringside: stopped on exception 8 \(U->S\), tval 0x0{16}, epc 0x[0-9a-f]{16}\n/);
      assert.match(result.stdout, /events: supervisor\n$/);
      const epc = BigInt(/epc (0x[0-9a-f]+)/.exec(result.stderr)![1]);
      assert.equal(epc, symbolAddress(EVENTS, 'user') + 4n, 'epc is the ecall');
      assert.match(result.stderr, new RegExp(`pc ${hex16(symbolAddress(EVENTS, 'supervisor_trap'))} {2}privilege S`));
    }
  });

  test('exception:9 stops at the ecall from S into M', () => {
    const result = runCli(['--kernel', EVENTS, '--stop-on', 'exception:9']);
    assertStopped(result, /^ringside: stopped on exception 9 \(S->M\)/);
    assert.match(result.stdout, /events: ecall from user\n$/);
  });

  test('interrupt:7 stops at the machine timer interrupt', () => {
    const result = runCli(['--kernel', EVENTS, '--stop-on', 'interrupt:7']);
    assertStopped(result, /^ringside: stopped on interrupt 7 \(M->M\)/);
    assert.equal(result.stdout, 'events: start\n');
    assert.match(result.stderr, new RegExp(`pc ${hex16(symbolAddress(EVENTS, 'machine_trap'))} {2}privilege M`));
  });

  test('privilege:U->S, privilege:M->S and privilege:*->M', () => {
    const userToSupervisor = runCli(['--kernel', EVENTS, '--stop-on', 'privilege:U->S']);
    assertStopped(userToSupervisor, /^ringside: stopped on privilege change U->S via trap \(exception 8, /);
    const machineToSupervisor = runCli(['--kernel', EVENTS, '--stop-on', 'privilege:M->S']);
    assertStopped(machineToSupervisor, /^ringside: stopped on privilege change M->S via mret\n/);
    assert.equal(machineToSupervisor.stdout, 'events: start\nevents: timer interrupt\n');
    const anyToMachine = runCli(['--kernel', EVENTS, '--stop-on', 'privilege:*->M']);
    assertStopped(anyToMachine, /^ringside: stopped on privilege change S->M via trap \(exception 9, /);
  });

  test('pc:ADDRESS (from the ELF symbol) and pc:SYMBOL stop in front of that instruction', () => {
    const user = symbolAddress(EVENTS, 'user');
    for (const spec of [`pc:0x${user.toString(16)}`, 'pc:user']) {
      const result = runCli(['--kernel', EVENTS, '--stop-on', spec]);
      assertStopped(result, new RegExp(`^ringside: stopped at breakpoint, pc ${hex16(user)}\n`));
      assert.match(result.stderr, new RegExp(`hart 0 {2}pc ${hex16(user)} {2}privilege U`));
    }
  });

  test('pc: at the entry point stops before the first instruction', () => {
    const result = runCli(['--kernel', EVENTS, '--stop-on', 'pc:_start']);
    assertStopped(result, /^ringside: stopped at breakpoint, pc 0x0000000080000000\n/);
    assert.equal(result.stdout, '');
  });

  test('console:TEXT stops once the guest has printed the text', () => {
    const result = runCli(['--kernel', EVENTS, '--stop-on', 'console:ecall from user']);
    assertStopped(result, /^ringside: stopped: console printed 'ecall from user'\n/);
    // It stops right after the last byte of the text: the newline after it is not printed yet.
    assert.match(result.stdout, /events: supervisor\nevents: ecall from user$/);
  });

  test('several specs: the first event reached wins', () => {
    const result = runCli(['--kernel', EVENTS, '--stop-on', 'exception:9', '--stop-on', 'interrupt:*']);
    assertStopped(result, /^ringside: stopped on interrupt 7 /);
  });
});

// ---- --trace ----------------------------------------------------------------------------------

interface TraceLine {
  hart: number;
  pc: bigint;
  text: string;
}

function readTrace(path: string): TraceLine[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'the trace ends with a newline');
  return lines.map((line) => {
    const match = /^(\d+) (0x[0-9a-f]{16}) (.*)$/.exec(line);
    assert.ok(match !== null, `trace line format: ${line}`);
    return { hart: Number(match[1]), pc: BigInt(match[2]), text: match[3] };
  });
}

/** The pcs QEMU executed, from `-d exec,nochain -singlestep`: the second field in brackets. */
function qemuPcs(log: string): bigint[] {
  const pcs: bigint[] = [];
  for (const line of log.split('\n')) {
    const match = /^Trace \d+: \S+ \[[0-9a-f]+\/([0-9a-f]+)\//.exec(line);
    if (match !== null) pcs.push(BigInt(`0x${match[1]}`));
    // With -icount an instruction doing I/O is executed again: its first attempt does not count.
    else if (line.startsWith('cpu_io_recompile: rewound')) pcs.pop();
  }
  return pcs;
}

const hasQemu = spawnSync('qemu-system-riscv64', ['--version'], { encoding: 'utf8' }).status === 0;

describe('ringside run --trace', () => {
  test('one line per attempt: hart, pc, bytes, disassembly and the registers written', () => {
    const path = scratchPath('events.trace');
    const result = runCli(['--kernel', EVENTS, '--trace', path]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, runCli(['--kernel', EVENTS]).stdout, 'tracing does not change the run');
    const trace = readTrace(path);
    assert.ok(trace.length > 500);
    for (const line of trace) {
      assert.equal(line.hart, 0);
      assert.match(line.text, /^(interrupt cause \d+|([0-9a-f]{4}|[0-9a-f]{8}) [a-z.]+(\t\S+)?( (trap cause \d+|([a-z0-9]+=0x[0-9a-f]{16})( [a-z0-9]+=0x[0-9a-f]{16})*))?)$/,
        `line format: ${line.text}`);
    }
    // The first instruction: auipc t0 (la t0, machine_trap), writing t0.
    assert.equal(trace[0].pc, 0x80000000n);
    assert.match(trace[0].text, /^[0-9a-f]{8} auipc\tt0,0x0 t0=0x0000000080000000$/);
  });

  test('a trapping instruction gets its own line, marked, and the handler starts on the next line', () => {
    const path = scratchPath('events-traps.trace');
    assert.equal(runCli(['--kernel', EVENTS, '--trace', path]).code, 0);
    const trace = readTrace(path);
    const userEcall = symbolAddress(EVENTS, 'user') + 4n;
    const index = trace.findIndex((line) => line.pc === userEcall);
    assert.ok(index >= 0, 'the ecall from U is traced');
    assert.equal(trace[index].text, '00000073 ecall trap cause 8');
    assert.equal(trace[index + 1].pc, symbolAddress(EVENTS, 'supervisor_trap'));
    assert.doesNotMatch(trace[index + 1].text, /trap/);

    const supervisorEcall = trace.findIndex((line) => line.text === '00000073 ecall trap cause 9');
    assert.ok(supervisorEcall > index);
    assert.equal(trace[supervisorEcall + 1].pc, symbolAddress(EVENTS, 'machine_trap'));

    // The timer interrupt: a line of its own at the interrupted pc, then the handler.
    const interrupts = trace.flatMap((line, position) => (line.text === 'interrupt cause 7' ? [position] : []));
    assert.equal(interrupts.length, 1);
    const interrupted = trace[interrupts[0]];
    assert.ok(interrupted.pc >= symbolAddress(EVENTS, 'wait_for_timer') && interrupted.pc < symbolAddress(EVENTS, 'supervisor'));
    assert.equal(trace[interrupts[0] + 1].pc, symbolAddress(EVENTS, 'machine_trap'));
    // mret returns to the interrupted instruction.
    const mret = trace.findIndex((line, position) => position > interrupts[0] && /^30200073 mret$/.test(line.text));
    assert.equal(trace[mret + 1].pc, interrupted.pc);
  });

  test('a stop ends the trace at the stopping instruction', () => {
    const path = scratchPath('events-stop.trace');
    assert.equal(runCli(['--kernel', EVENTS, '--trace', path, '--stop-on', 'trap:8']).code, 3);
    const trace = readTrace(path);
    assert.equal(trace.at(-1)!.text, '00000073 ecall trap cause 8');
  });

  // Guests without interrupts (whose timing QEMU's icount does not reproduce instruction for
  // instruction) and without instruction-fetch faults (which QEMU does not log: no block runs).
  for (const guest of ['rv64i', 'rv64m', 'rv64a', 'rvc', 'fd', 'counters']) {
    test(`${guest}: the pcs match QEMU's own trace instruction for instruction`, () => {
      requireTool(!hasQemu && 'qemu-system-riscv64 is not installed');
      const elf = `guests/bin/${guest}.elf`;
      const ours = scratchPath(`${guest}.trace`);
      const qemuLog = scratchPath(`${guest}.qemu.log`);
      assert.equal(runCli(['--kernel', elf, '--trace', ours]).code, 0);
      const qemu = spawnSync('qemu-system-riscv64', [
        '-M', 'virt', '-bios', 'none', '-nographic', '-kernel', elf,
        '-icount', 'shift=0', '-singlestep', '-d', 'exec,nochain', '-D', qemuLog,
      ], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
      assert.equal(qemu.status, 0, qemu.stderr);
      // QEMU starts with its reset vector at 0x1000, which jumps to the ELF entry.
      const entry = BigInt(parseElf(new Uint8Array(readFileSync(elf)), elf).entry);
      const expected = qemuPcs(readFileSync(qemuLog, 'utf8'));
      const fromEntry = expected.slice(expected.indexOf(entry));
      const actual = readTrace(ours).filter((line) => !/^interrupt|trap cause (1|12)$/.test(line.text)).map((line) => line.pc);
      assert.ok(actual.length >= 700, `${guest}: only ${actual.length} instructions`);
      const firstDifference = actual.findIndex((pc, index) => pc !== fromEntry[index]);
      assert.equal(firstDifference, -1,
        `instruction ${firstDifference} is at ${hex16(actual[firstDifference] ?? 0n)}, QEMU's at ${hex16(fromEntry[firstDifference] ?? 0n)}`);
      assert.equal(actual.length, fromEntry.length, 'instruction count');
    });
  }
});

// ---- bad input ----------------------------------------------------------------------------------

describe('ringside run: bad input', () => {
  /** Runs with --trace and --serial files and checks that neither was created. */
  function runWritingNothing(args: readonly string[]): CliResult {
    const directory = scratchPath(`untouched-${Math.random().toString(36).slice(2)}`);
    mkdirSync(directory);
    const result = runCli([...args, '--trace', join(directory, 'trace.txt'), '--serial', `file:${join(directory, 'serial.txt')}`]);
    assert.equal(existsSync(join(directory, 'trace.txt')), false, 'no trace file');
    assert.equal(existsSync(join(directory, 'serial.txt')), false, 'no serial file');
    return result;
  }

  test('an unknown --cpu model or feature', () => {
    assertBadInput(runWritingNothing(['--kernel', EVENTS, '--cpu', 'rv64,zfh=on']),
      /--cpu: cpu model 'rv64,zfh=on': unknown feature 'zfh' \(known: zba, zbb, zbc, zbs, zihintpause, sstc, sdtrig, sv57, svpbmt, svnapot, and h=off\)/);
    assertBadInput(runWritingNothing(['--kernel', EVENTS, '--cpu', 'rv128']), /--cpu: cpu model 'rv128': unknown model 'rv128'/);
  });

  test('missing kernel file', () => {
    assertBadInput(runWritingNothing(['--kernel', scratchPath('no-such.elf')]), /cannot read kernel '.*no-such\.elf': no such file/);
  });

  test('a directory', () => {
    assertBadInput(runWritingNothing(['--kernel', scratch()]), /cannot read kernel '.*': is a directory/);
  });

  test('not an ELF, with no firmware', () => {
    const text = writeScratch('notes.txt', 'just some text\n');
    assertBadInput(runWritingNothing(['--kernel', text]), /notes\.txt is not an ELF file; bare boot/);
  });

  test('a 32-bit ELF', () => {
    const elf = buildElf([{ address: RAM_BASE, bytes: program([JUMP_TO_SELF]) }], { elfClass: 1 });
    assertBadInput(runWritingNothing(['--kernel', writeScratch('rv32.elf', elf)]), /rv32\.elf is a 32-bit ELF/);
  });

  test('an x86-64 ELF', () => {
    const elf = buildElf([{ address: 0x400000, bytes: new Uint8Array([0xeb, 0xfe]) }], { machine: 62 });
    assertBadInput(runWritingNothing(['--kernel', writeScratch('x86.elf', elf)]), /x86\.elf is an ELF for x86-64, not RISC-V/);
  });

  test('overlapping segments', () => {
    const elf = buildElf([
      { address: RAM_BASE, bytes: program([JUMP_TO_SELF, 0, 0, 0]) },
      { address: RAM_BASE + 8, bytes: program([0, 0]) },
    ]);
    assertBadInput(runWritingNothing(['--kernel', writeScratch('overlap.elf', elf)]), /overlap\.elf: segments 0 .* and 1 .* overlap/);
  });

  test('a segment beyond RAM', () => {
    const elf = buildElf([
      { address: RAM_BASE, bytes: program([JUMP_TO_SELF]) },
      { address: RAM_BASE + 200 * MEBIBYTE, bytes: program([0]) },
    ]);
    assertBadInput(runWritingNothing(['--kernel', writeScratch('beyond.elf', elf)]), /beyond\.elf: segment 1 at .* does not fit in 128 MiB of RAM/);
  });

  test('RAM too small for the guest and its device tree', () => {
    assertBadInput(runWritingNothing(['--kernel', 'guests/bin/rv64i.elf', '--mem', '1M']), /RAM too small/);
  });

  test('a firmware that does not exist', () => {
    assertBadInput(runWritingNothing(['--bios', scratchPath('no-firmware.elf'), '--kernel', EVENTS]), /cannot read firmware/);
  });

  test('unknown option', () => {
    assertBadInput(runWritingNothing(['--kernel', EVENTS, '--turbo']), /unknown option '--turbo'/);
  });

  test('unknown command', () => {
    const result = spawnSync(process.execPath, [CLI, 'launch'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assertBadInput({ code: result.status, stdout: result.stdout, stderr: result.stderr }, /unknown command 'launch'/);
  });

  test('no kernel', () => {
    assertBadInput(runWritingNothing([]), /--kernel FILE is required/);
  });

  test('bad --mem', () => {
    assertBadInput(runWritingNothing(['--kernel', EVENTS, '--mem', '12Q']), /--mem: memory size '12Q' is not a number/);
    assertBadInput(runWritingNothing(['--kernel', EVENTS, '--mem', '3G']), /memory must be at most 2 GiB/);
    assertBadInput(runWritingNothing(['--kernel', EVENTS, '--mem', '1000']), /memory must be at least 1 MiB/);
  });

  test('bad --smp', () => {
    for (const value of ['0', '9', 'x', '1.5', '']) {
      assertBadInput(runWritingNothing(['--kernel', EVENTS, '--smp', value]), new RegExp(`--smp needs a number of harts from 1 to 8, got '${value.replace('.', '\\.')}'`));
    }
  });

  test('bad --timeout and --serial', () => {
    assertBadInput(runWritingNothing(['--kernel', EVENTS, '--timeout', '0']), /--timeout needs a positive number of seconds, got '0'/);
    assertBadInput(runCli(['--kernel', EVENTS, '--serial', 'vc']), /--serial: serial 'vc' is not one of stdio, file:PATH, tcp:HOST:PORT/);
  });

  test('bad --stop-on specs', () => {
    const cases: Array<[string, RegExp]> = [
      ['breakpoint', /--stop-on 'breakpoint': expected KIND:VALUE/],
      ['watch:0x80000000', /--stop-on 'watch:0x80000000': unknown kind 'watch'/],
      ['trap:eight', /'eight' is not a cause number/],
      ['interrupt:', /'' is not a cause number/],
      ['privilege:U-S', /expected privilege:FROM->TO/],
      ['privilege:H->M', /expected privilege:FROM->TO/],
      ['pc:', /'' is neither an address nor a symbol name/],
      ['pc:no_such_symbol', /no symbol 'no_such_symbol' in the kernel or firmware ELF/],
      ['console:', /console text must not be empty/],
    ];
    for (const [spec, message] of cases) assertBadInput(runWritingNothing(['--kernel', EVENTS, '--stop-on', spec]), message);
  });

  test('an option without its value', () => {
    assertBadInput(runCli(['--kernel', EVENTS, '--stop-on']), /--stop-on needs a value/);
    assertBadInput(runCli(['--kernel']), /--kernel needs a value/);
    assertBadInput(runCli(['--kernel', EVENTS, '--mem']), /--mem needs a value/);
  });

  test('a trace file that cannot be created leaves no serial file behind', () => {
    const serial = scratchPath('serial-after-bad-trace.txt');
    const result = runCli(['--kernel', EVENTS, '--serial', `file:${serial}`, '--trace', scratchPath('missing-directory/trace.txt')]);
    assertBadInput(result, /cannot create trace file '.*missing-directory\/trace\.txt': no such file or directory/);
    assert.equal(existsSync(serial), false);
    const badSerial = runCli(['--kernel', EVENTS, '--serial', `file:${scratchPath('missing-directory/serial.txt')}`]);
    assertBadInput(badSerial, /cannot create serial file/);
  });
});

describe('ringside run: a reader that goes away', () => {
  test('`ringside run … | head -1`: ringside ends quietly with 141 (SIGPIPE\'s status), no stack trace', () => {
    // A shell pipe into a reader that stops after the first line, as a person types it.
    const result = spawnSync('sh', ['-c', `"${process.execPath}" ${CLI} run --kernel guests/bin/demo.elf | head -1`], {
      encoding: 'utf8', timeout: 60_000,
    });
    assert.match(result.stdout, /^demo: kernel running in S-mode\n/);
    assert.doesNotMatch(result.stderr, /Error|at .*\.js:\d+/, result.stderr);
    const status = spawnSync('bash', ['-c', `"${process.execPath}" ${CLI} run --kernel guests/bin/demo.elf | head -1 > /dev/null; echo \${PIPESTATUS[0]}`], {
      encoding: 'utf8', timeout: 60_000,
    });
    assert.equal(status.stdout.trim(), '141', status.stderr);
  });
});
