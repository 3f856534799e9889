#!/usr/bin/env node
// Lockstep comparison of a Linux boot on Ringside and on QEMU 7.2, instruction by instruction.
//
// Both machines boot the Linux 6.1 guest built by guests/linux/build.sh through Debian's
// OpenSBI fw_jump.elf, with one instruction = 1 ns of virtual time (Ringside `--icount shift=0
// --idle skip`, QEMU `-icount shift=0,sleep=off`: an idle hart jumps to the next timer event at
// once on both sides). Each writes one trace line per instruction into a named pipe (Ringside
// `--trace`, QEMU `-singlestep -d exec,nochain -D`), and this script reads both pipes at once
// and compares the program counters as they arrive, with bounded memory: nothing is stored
// but the last few lines. QEMU runs with its DEFAULT CPU unless --qemu-cpu says otherwise.
//
// What must match: the sequence of executed pcs. Accepted differences, counted separately:
// - QEMU's reset ROM (0x1000..) runs before OpenSBI; Ringside starts at 0x8000_0000.
// - Interrupt placement: QEMU's icount timer does not fire at the same instruction as
//   Ringside's. When one side enters its trap vector for an interrupt and the other does not,
//   the interrupted side is followed through the handler until an mret/sret returns to the
//   interrupted pc, and the comparison resumes there ("resynchronised interrupts"). Ringside
//   marks interrupts in its trace; a QEMU-only interrupt is recognised by QEMU jumping to a
//   known trap vector (Linux's handle_exception, or any vector Ringside has entered) while
//   Ringside goes on in the interrupted code.
// - Instruction-fetch faults, which QEMU does not log (no block is translated).
// - QEMU lines whose instruction did not run: `cpu_io_recompile: rewound` (an I/O
//   instruction is executed again) and `Stopped execution of TB chain before` (the icount
//   budget ran out before the block started).
// Anything else is a divergence: the script prints the last common instructions (Ringside's
// lines, with disassembly), the two differing lines and the kernel symbol of each pc (from
// vmlinux's symbol table; OpenSBI's fw_jump.elf has none, so firmware pcs are shown as offsets
// into it for objdump). With --max-divergences N > 1 it then looks for the point where the
// two traces agree again (the same --resync-window pcs in a row, within --window lines of
// each side), reports how many instructions each side ran in between, and goes on.
//
// The device tree is QEMU's own (dumped with `-M virt,dumpdtb=`, with a fixed `-seed` so that
// /chosen/rng-seed is the same in the dump and in the run) and is passed to Ringside with
// --dtb. QEMU loads the initrd at 0x8420_0000 (kernel + RAM/2) and names that in /chosen;
// Ringside would put it below the DTB, so Ringside is given one ELF with two segments, the
// kernel Image at 0x8020_0000 and the initramfs at 0x8420_0000: identical RAM contents where
// the guest looks. Firmware boot only: `--bios builtin` (Ringside's own SBI) has no QEMU
// counterpart (QEMU has no built-in SBI), so it is refused.
//
// usage: node scripts/lockstep-linux.mjs [options]
//   --limit N             stop after N compared instructions (default: the whole run, to poweroff)
//   --append TEXT         kernel command line (default 'console=ttyS0 earlycon=sbi ringside.scenario=boot',
//                         the boot scenario of guests/linux, which powers off after booting)
//   --bios FILE           M-mode firmware (default Debian's OpenSBI fw_jump.elf); 'builtin' is refused
//   --linux-dir DIR       the built guest (default $RINGSIDE_LINUX_DIR or ~/.cache/ringside/linux-6.1)
//   --mem SIZE            RAM, as both emulators take it (default 128M)
//   --qemu-cpu MODEL      QEMU's -cpu (default: none given, QEMU's default CPU)
//   --cpu MODEL           Ringside's --cpu (default: none given, Ringside's default rv64)
//   --max-divergences N   report up to N divergences, re-synchronising after each (default 1)
//   --window N            lines each side may run apart before a re-synchronisation gives up (default 200000)
//   --resync-window N     pcs in a row that must agree to call the traces re-synchronised (default 64)
//   --follow-limit N      most instructions one side may run in an interrupt handler before
//                         returning to the interrupted pc (default 20000000)
//   --context N           common instructions printed before a divergence (default 20)
//   --mark SYMBOL         report the instruction count at which both sides first reached this
//                         kernel function (virtual address, or its physical alias before the
//                         MMU is on); repeatable, e.g. --mark set_satp_mode --mark riscv_clock_next_event
//   --timeout SECONDS     stop comparing after this much wall time (default: none)
//   --nice N              niceness of both emulators (default 10)
//   --progress            a progress line on stderr every 5 M instructions
//   --keep                keep the work directory (DTB, console logs, wrapper ELF) and print its path
//   --ringside PATH       the Ringside CLI to run (default dist/cli.js of this checkout)
//
// Output: the divergence details (if any) on stderr, then one summary line on stdout:
//   lockstep: compared N instructions, I interrupts resynchronised (R ringside-only, Q qemu-only,
//   S same place), first divergence none|at instruction K ..., stopped by poweroff|limit|...,
//   wall T s
// Exit status: 0 no divergence, 1 divergence (or a side ended early), 2 usage or missing
// prerequisites (the message names bash scripts/install-deps.sh or bash guests/linux/build.sh).

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, createReadStream, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FW_JUMP = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf';
const KERNEL_ADDRESS = 0x8020_0000;
/** Where QEMU's virt board puts the initrd with fw_jump: the kernel's address + min(RAM/2, 128 MiB). */
const initrdAddress = (memoryBytes) => KERNEL_ADDRESS + Math.min(memoryBytes / 2, 128 * 1024 * 1024);
/** Linux riscv64 is linked at 0xffff_ffff_8000_0000, read as the negative number ElfImage uses. */
const KERNEL_LINK_ADDRESS = -0x8000_0000;
const FIRMWARE_ADDRESS = 0x8000_0000;
const QEMU_SEED = '1';
const SRET = 0x10200073;
const MRET = 0x30200073;

// ---- options ------------------------------------------------------------------------------------

class UsageError extends Error {}

function parseOptions(argv) {
  const options = {
    limit: Infinity,
    append: 'console=ttyS0 earlycon=sbi ringside.scenario=boot',
    bios: FW_JUMP,
    linuxDir: process.env.RINGSIDE_LINUX_DIR ?? join(homedir(), '.cache/ringside/linux-6.1'),
    mem: '128M',
    qemuCpu: undefined,
    cpu: undefined,
    maxDivergences: 1,
    window: 200_000,
    resyncWindow: 64,
    followLimit: 20_000_000,
    context: 20,
    timeout: Infinity,
    nice: 10,
    progress: false,
    keep: false,
    ringside: join(ROOT, 'dist/cli.js'),
    marks: [],
  };
  const count = (name, text, minimum = 0) => {
    if (!/^\d+$/.test(text ?? '') || Number(text) < minimum) throw new UsageError(`${name} needs a whole number >= ${minimum}, not '${text}'`);
    return Number(text);
  };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${name} needs a value`);
      return argv[++i];
    };
    switch (name) {
      case '--limit': options.limit = count(name, value(), 1); break;
      case '--append': options.append = value(); break;
      case '--bios': options.bios = value(); break;
      case '--linux-dir': options.linuxDir = value(); break;
      case '--mem': options.mem = value(); break;
      case '--qemu-cpu': options.qemuCpu = value(); break;
      case '--cpu': options.cpu = value(); break;
      case '--max-divergences': options.maxDivergences = count(name, value(), 1); break;
      case '--window': options.window = count(name, value(), 1000); break;
      case '--resync-window': options.resyncWindow = count(name, value(), 1); break;
      case '--follow-limit': options.followLimit = count(name, value(), 1); break;
      case '--context': options.context = count(name, value()); break;
      case '--timeout': options.timeout = count(name, value(), 1); break;
      case '--nice': options.nice = count(name, value()); break;
      case '--mark': options.marks.push(value()); break;
      case '--progress': options.progress = true; break;
      case '--keep': options.keep = true; break;
      case '--ringside': options.ringside = resolve(value()); break;
      case '--help': case '-h':
        process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n')
          .filter((line) => line.startsWith('//')).map((line) => line.slice(3)).join('\n') + '\n');
        process.exit(0);
        break;
      default: throw new UsageError(`unknown option '${name}' (--help lists them)`);
    }
  }
  if (options.bios === 'builtin') {
    throw new UsageError("--bios builtin is not comparable: QEMU has no built-in SBI, so the two machines would run different code. Use an OpenSBI firmware (the default is Debian's fw_jump.elf)");
  }
  if (options.bios === 'none') throw new UsageError('--bios none cannot boot Linux; give an OpenSBI firmware (the default is fw_jump.elf)');
  const memory = /^(\d+)([MG])$/i.exec(options.mem);
  if (memory === null) throw new UsageError(`--mem '${options.mem}': expected a size such as 128M or 1G`);
  options.memoryBytes = Number(memory[1]) * (memory[2].toUpperCase() === 'G' ? 1024 ** 3 : 1024 ** 2);
  return options;
}

/** Missing tools or guest files: one message naming what to run. */
function checkPrerequisites(options) {
  const problems = [];
  if (spawnSync('qemu-system-riscv64', ['--version'], { stdio: 'ignore' }).status !== 0) {
    problems.push('qemu-system-riscv64 is not installed: run bash scripts/install-deps.sh');
  }
  if (!existsSync(options.bios)) {
    problems.push(`${options.bios} is missing${options.bios === FW_JUMP ? ': run bash scripts/install-deps.sh (Debian package opensbi)' : ''}`);
  }
  for (const file of ['Image', 'vmlinux', 'initramfs.cpio']) {
    if (!existsSync(join(options.linuxDir, file))) {
      problems.push(`${join(options.linuxDir, file)} is missing: run bash guests/linux/build.sh (its Debian packages: bash scripts/install-deps.sh)`);
    }
  }
  if (!existsSync(options.ringside)) problems.push(`${options.ringside} is missing: run npm run build`);
  if (spawnSync('mkfifo', ['--version'], { stdio: 'ignore' }).status !== 0) problems.push('mkfifo (coreutils) is not available');
  return problems;
}

/** busybox with symbols in guests/linux/build.sh's tree, for naming user pcs (optional). */
function findBusybox(linuxDir) {
  const sources = join(linuxDir, 'src');
  if (!existsSync(sources)) return undefined;
  const tree = readdirSync(sources).find((name) => name.startsWith('busybox-') && existsSync(join(sources, name, 'busybox_unstripped')));
  return tree === undefined ? undefined : join(sources, tree, 'busybox_unstripped');
}

// ---- the guest's images -------------------------------------------------------------------------

/** An ELF64 RISC-V executable holding raw images at physical addresses, entered at the first. */
function imagesElf(images) {
  const PAGE = 4096;
  const headerBytes = 64 + 56 * images.length;
  let offset = Math.ceil(headerBytes / PAGE) * PAGE;
  const placed = images.map((image) => {
    const at = offset;
    offset += Math.ceil(image.bytes.length / PAGE) * PAGE;
    return { ...image, offset: at };
  });
  const elf = Buffer.alloc(offset);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // \x7fELF, 64-bit, little-endian, version 1
  elf.writeUInt16LE(2, 16); // ET_EXEC
  elf.writeUInt16LE(243, 18); // EM_RISCV
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(BigInt(images[0].address), 24);
  elf.writeBigUInt64LE(64n, 32); // program headers right after the ELF header
  elf.writeUInt16LE(64, 52);
  elf.writeUInt16LE(56, 54);
  elf.writeUInt16LE(images.length, 56);
  elf.writeUInt16LE(64, 58);
  placed.forEach((image, index) => {
    const header = 64 + 56 * index;
    elf.writeUInt32LE(1, header); // PT_LOAD
    elf.writeUInt32LE(7, header + 4); // RWX
    elf.writeBigUInt64LE(BigInt(image.offset), header + 8);
    elf.writeBigUInt64LE(BigInt(image.address), header + 16);
    elf.writeBigUInt64LE(BigInt(image.address), header + 24);
    elf.writeBigUInt64LE(BigInt(image.bytes.length), header + 32);
    elf.writeBigUInt64LE(BigInt(image.bytes.length), header + 40);
    elf.writeBigUInt64LE(BigInt(PAGE), header + 48);
    elf.set(image.bytes, image.offset);
  });
  return elf;
}

// ---- symbols ------------------------------------------------------------------------------------

/** A 64-bit pc as hi/lo 32-bit halves → the number ElfImage uses (negative for the high half). */
function pcNumber(hi, lo) {
  if (hi >= 0xffe0_0000) return (hi - 2 ** 32) * 2 ** 32 + lo;
  if (hi < 0x20_0000) return hi * 2 ** 32 + lo;
  return undefined;
}

const hex16 = (hi, lo) => `0x${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`;

/** Function and object symbols of an ELF, sorted, for "name+0xoffset". */
class SymbolTable {
  constructor(elf) {
    this.entries = elf.symbols
      .filter((symbol) => symbol.name !== '' && (symbol.type === 'function' || symbol.type === 'notype' || symbol.type === 'object') &&
        symbol.sectionIndex !== 0 && !symbol.name.startsWith('$') && !symbol.name.startsWith('.L'))
      .map((symbol) => ({ name: symbol.name, address: symbol.value }))
      .sort((a, b) => a.address - b.address);
    this.end = Math.max(...elf.sections.filter((section) => (section.flags & 2) !== 0).map((section) => section.address + section.size));
  }

  describe(address) {
    let low = 0, high = this.entries.length - 1, found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (this.entries[middle].address <= address) { found = middle; low = middle + 1; } else high = middle - 1;
    }
    if (found < 0 || address >= this.end) return undefined;
    const symbol = this.entries[found];
    return `${symbol.name}+0x${(address - symbol.address).toString(16)}`;
  }
}

/** A set of 64-bit pcs, keyed by the low half (the high half is checked on a hit). */
class PcSet {
  constructor() { this.map = new Map(); }
  add(hi, lo) {
    const his = this.map.get(lo);
    if (his === undefined) this.map.set(lo, [hi]);
    else if (!his.includes(hi)) his.push(hi);
  }
  addAddress(address) {
    const { hi, lo } = splitAddress(address);
    this.add(hi, lo);
  }
  has(hi, lo) {
    const his = this.map.get(lo);
    return his !== undefined && his.includes(hi);
  }
}

/** An ElfImage address (negative for the high half) → the pc's hi/lo halves. */
function splitAddress(address) {
  const hi = Math.floor(address / 2 ** 32);
  return { hi: hi >>> 0, lo: (address - hi * 2 ** 32) >>> 0 };
}

/**
 * What the comparison knows of the guest's code: vmlinux's symbols (and, when the build tree
 * has it, busybox_unstripped's for user pcs), the mret/sret sites of vmlinux and the firmware
 * (a QEMU-only interrupt ends at one of them), and the trap vectors (Linux's handle_exception,
 * plus every vector Ringside is seen to enter).
 */
class Symbols {
  constructor(vmlinuxPath, firmwarePath, userPath) {
    const { parseElf } = createRequire(import.meta.url)(join(ROOT, 'dist/vmm-core.js'));
    this.vmlinux = parseElf(readFileSync(vmlinuxPath), vmlinuxPath);
    this.kernel = new SymbolTable(this.vmlinux);
    this.user = userPath !== undefined && existsSync(userPath) ? new SymbolTable(parseElf(readFileSync(userPath), userPath)) : undefined;
    this.userName = userPath === undefined ? '' : basename(userPath);
    this.returnSites = new PcSet();
    this.vectors = new PcSet();
    const firmware = parseElf(readFileSync(firmwarePath), firmwarePath);
    for (const elf of [this.vmlinux, firmware]) {
      for (const section of elf.sections) {
        if ((section.flags & 4) !== 0 && section.type === 1) this.scanReturns(elf.sectionData(section), section.address);
      }
    }
    const handler = this.vmlinux.findSymbol('handle_exception');
    if (handler !== undefined) this.vectors.addAddress(handler.value);
  }

  /** The pcs (hi/lo) at which a kernel function starts: its virtual address and its physical alias. */
  functionEntries(name) {
    const symbol = this.vmlinux.findSymbol(name);
    if (symbol === undefined) return undefined;
    return [splitAddress(symbol.value), splitAddress(symbol.value - KERNEL_LINK_ADDRESS + KERNEL_ADDRESS)];
  }

  scanReturns(bytes, address) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let offset = 0; offset + 4 <= bytes.length; offset += 2) {
      const word = view.getUint32(offset, true);
      if (word === SRET || word === MRET) this.returnSites.addAddress(address + offset);
    }
  }

  /** "function+0xoffset" for a kernel pc (virtual, or physical before the MMU is on), else where it is. */
  describe(hi, lo) {
    const pc = pcNumber(hi, lo);
    if (pc === undefined) return 'no symbol';
    const kernelPhysicalEnd = KERNEL_ADDRESS + (this.kernel.end - KERNEL_LINK_ADDRESS);
    if (pc >= KERNEL_ADDRESS && pc < kernelPhysicalEnd) {
      const name = this.kernel.describe(pc - KERNEL_ADDRESS + KERNEL_LINK_ADDRESS);
      return name === undefined ? 'no symbol' : `${name} (physical, before the MMU is on)`;
    }
    if (pc >= FIRMWARE_ADDRESS && pc < KERNEL_ADDRESS) {
      return `OpenSBI fw_jump.elf +0x${(pc - FIRMWARE_ADDRESS).toString(16)} (no symbols: objdump -d fw_jump.elf)`;
    }
    if (pc >= 0x1000 && pc < 0x2000) return "QEMU's reset ROM";
    if (pc >= 0) {
      const name = this.user?.describe(pc);
      return name === undefined ? 'user space' : `user space, ${this.userName} ${name}`;
    }
    return this.kernel.describe(pc) ?? 'no symbol';
  }
}

// ---- reading the traces -------------------------------------------------------------------------

const NEED_MORE = 0, READY = 1, ENDED = 2;
const INSTRUCTION = 0, INTERRUPT = 1;

/**
 * Bytes of a named pipe, a chunk at a time; lines are cut out in place. The pipe is opened at
 * once (never blocking): a spare write end is held until the emulator's data arrives or it
 * exits, so the reader neither waits for a writer that never comes nor sees an end of file
 * before the emulator has opened the pipe.
 */
class ChunkReader {
  constructor(path) {
    this.spareWriter = openSync(path, constants.O_RDWR);
    this.stream = createReadStream(null, { fd: openSync(path, constants.O_RDONLY), highWaterMark: 1 << 20 });
    this.iterator = this.stream[Symbol.asyncIterator]();
    this.buffer = Buffer.alloc(0);
    this.position = 0;
    this.ended = false;
  }

  /** Lets the end of the emulator's output be the end of the stream. */
  releaseWriter() {
    if (this.spareWriter === undefined) return;
    closeSync(this.spareWriter);
    this.spareWriter = undefined;
  }

  /** Appends the next chunk to what is left; false at the end of the stream. */
  async fill() {
    if (this.ended) return false;
    const { value, done } = await this.iterator.next();
    if (done) {
      this.ended = true;
      return false;
    }
    this.releaseWriter();
    this.buffer = this.position < this.buffer.length ? Buffer.concat([this.buffer.subarray(this.position), value]) : value;
    this.position = 0;
    return true;
  }

  /** The end of the line starting at `from` (index of its newline), or -1 if not complete yet. */
  lineEnd(from) { return this.buffer.indexOf(10, from); }

  close() {
    this.releaseWriter();
    this.stream.destroy();
  }
}

function parseHex32(buffer, start) {
  let value = 0;
  for (let i = start; i < start + 8; i++) {
    const c = buffer[i];
    value = value * 16 + (c <= 0x39 ? c - 0x30 : c - 0x57);
  }
  return value;
}

function isHex16(buffer, start) {
  for (let i = start; i < start + 16; i++) {
    const c = buffer[i];
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

const TRAP_CAUSE = Buffer.from(' trap cause ');

/** Whether a Ringside line [start, end) ends with " trap cause N" (checked from the end, no copy). */
function endsWithTrapCause(buffer, start, end) {
  let at = end - 1;
  while (at > start && buffer[at] >= 0x30 && buffer[at] <= 0x39) at--;
  if (at === end - 1 || at - start < TRAP_CAUSE.length) return false;
  const from = at + 1 - TRAP_CAUSE.length;
  for (let i = 0; i < TRAP_CAUSE.length; i++) if (buffer[from + i] !== TRAP_CAUSE[i]) return false;
  return true;
}

/**
 * Ringside's --trace: `HART 0xPC BYTES DISASSEMBLY [REG=VALUE ...| trap cause N]` or
 * `HART 0xPC interrupt cause N`. The current record is in the fields below.
 */
class RingsideTrace {
  constructor(path, symbols) {
    this.reader = new ChunkReader(path);
    this.symbols = symbols;
    this.ready = false;
    this.hi = 0; this.lo = 0; this.kind = INSTRUCTION; this.isReturn = false;
    this.buffer = null; this.start = 0; this.end = 0;
    this.lines = 0;
    this.afterTrap = false;
    /** Records read ahead while looking for a re-synchronisation, to be served first. */
    this.pushedBack = [];
    this.pushedBackNext = 0;
  }

  get text() { return this.buffer.latin1Slice(this.start, this.end); }

  /** Makes the next record current: READY, NEED_MORE (call fill) or ENDED. */
  advance() {
    if (this.pushedBack.length > 0) {
      Object.assign(this, this.pushedBack[this.pushedBackNext++]);
      if (this.pushedBackNext === this.pushedBack.length) {
        this.pushedBack = [];
        this.pushedBackNext = 0;
      }
      this.ready = true;
      return READY;
    }
    const reader = this.reader;
    const newline = reader.lineEnd(reader.position);
    if (newline < 0) return reader.ended ? ENDED : NEED_MORE;
    const buffer = reader.buffer;
    const start = reader.position;
    reader.position = newline + 1;
    let pcAt = start;
    while (buffer[pcAt] !== 0x20) pcAt++;
    pcAt += 3; // " 0x"
    if (newline - pcAt < 17 || !isHex16(buffer, pcAt)) throw new Error(`Ringside trace: malformed line '${buffer.latin1Slice(start, newline)}'`);
    this.hi = parseHex32(buffer, pcAt);
    this.lo = parseHex32(buffer, pcAt + 8);
    const rest = pcAt + 17;
    this.kind = buffer[rest] === 0x69 /* i(nterrupt) */ ? INTERRUPT : INSTRUCTION;
    // sret 10200073, mret 30200073
    this.isReturn = this.kind === INSTRUCTION && buffer[rest + 1] === 0x30 && buffer[rest + 2] === 0x32 && buffer[rest + 3] === 0x30 &&
      (buffer[rest] === 0x31 || buffer[rest] === 0x33) && buffer.latin1Slice(rest + 4, rest + 9) === '0073 ';
    if (this.isReturn) this.symbols.returnSites.add(this.hi, this.lo);
    if (this.afterTrap) this.symbols.vectors.add(this.hi, this.lo);
    this.afterTrap = this.kind === INTERRUPT || endsWithTrapCause(buffer, start, newline);
    this.buffer = buffer;
    this.start = start;
    this.end = newline;
    this.lines++;
    this.ready = true;
    return READY;
  }

  /** The exception code of a trapping line, or -1. */
  trapCause() {
    if (this.kind !== INSTRUCTION) return -1;
    const match = / trap cause (\d+)$/.exec(this.text);
    return match === null ? -1 : Number(match[1]);
  }

  snapshot() {
    return { hi: this.hi, lo: this.lo, kind: this.kind, isReturn: this.isReturn, buffer: this.buffer, start: this.start, end: this.end };
  }

  consume() { this.ready = false; }
}

/**
 * QEMU's `-d exec,nochain -singlestep` log: `Trace N: HOSTPTR [CS_BASE/PC/FLAGS/CFLAGS] SYMBOL`.
 * A block that did not run after all is followed by `cpu_io_recompile: rewound ...` or
 * `Stopped execution of TB chain before ...`; its line is dropped, so a record is only handed
 * out once the line after it has been seen.
 */
class QemuTrace {
  constructor(path) {
    this.reader = new ChunkReader(path);
    this.ready = false;
    this.hi = 0; this.lo = 0;
    this.hasCandidate = false;
    this.candidateHi = 0; this.candidateLo = 0;
    this.lines = 0;
    this.dropped = 0;
    this.otherLines = [];
    this.pushedBack = [];
    this.pushedBackNext = 0;
  }

  get text() { return `pc ${hex16(this.hi, this.lo)}`; }

  advance() {
    if (this.pushedBack.length > 0) {
      Object.assign(this, this.pushedBack[this.pushedBackNext++]);
      if (this.pushedBackNext === this.pushedBack.length) {
        this.pushedBack = [];
        this.pushedBackNext = 0;
      }
      this.ready = true;
      return READY;
    }
    const reader = this.reader;
    for (;;) {
      const buffer = reader.buffer;
      const start = reader.position;
      const newline = reader.lineEnd(start);
      if (newline < 0) {
        if (!reader.ended) return NEED_MORE;
        if (this.hasCandidate) return this.confirm();
        return ENDED;
      }
      if (buffer[start] === 0x54 /* T */ && buffer[start + 1] === 0x72 /* r */) {
        // A new Trace line: the previous candidate ran.
        if (this.hasCandidate) return this.confirm();
        const bracket = buffer.indexOf(0x5b /* [ */, start);
        const pcAt = bracket + 18;
        if (bracket < 0 || bracket > newline || pcAt + 16 > newline || !isHex16(buffer, pcAt)) {
          throw new Error(`QEMU trace: malformed line '${buffer.latin1Slice(start, newline)}'`);
        }
        this.candidateHi = parseHex32(buffer, pcAt);
        this.candidateLo = parseHex32(buffer, pcAt + 8);
        this.hasCandidate = true;
        reader.position = newline + 1;
        continue;
      }
      const line = buffer.latin1Slice(start, newline);
      reader.position = newline + 1;
      if (line.startsWith('cpu_io_recompile: rewound') || line.startsWith('Stopped execution of TB chain before')) {
        if (this.hasCandidate) {
          this.hasCandidate = false;
          this.dropped++;
        }
        continue;
      }
      if (this.otherLines.length < 5) this.otherLines.push(line);
    }
  }

  confirm() {
    this.hi = this.candidateHi;
    this.lo = this.candidateLo;
    this.hasCandidate = false;
    this.lines++;
    this.ready = true;
    return READY;
  }

  snapshot() { return { hi: this.hi, lo: this.lo }; }

  consume() { this.ready = false; }
}

/** Puts records read ahead back in front of a trace (before anything not yet served). */
function pushBack(trace, records) {
  const waiting = trace.pushedBack.slice(trace.pushedBackNext);
  trace.pushedBack = records.concat(waiting);
  trace.pushedBackNext = 0;
}

/** Makes `trace` hold a record; false when its stream has ended. */
async function next(trace) {
  if (trace.ready) return true;
  for (;;) {
    const state = trace.advance();
    if (state === READY) return true;
    if (state === ENDED) return false;
    await trace.reader.fill();
  }
}

// ---- the comparison -----------------------------------------------------------------------------

class Lockstep {
  constructor(options, ringside, qemu, symbols) {
    this.options = options;
    this.ringside = ringside;
    this.qemu = qemu;
    this.symbols = symbols;
    this.compared = 0;
    this.romSkipped = 0;
    this.sameInterrupts = 0;
    this.ringsideOnlyInterrupts = 0;
    this.qemuOnlyInterrupts = 0;
    this.ringsideHandlerInstructions = 0;
    this.qemuHandlerInstructions = 0;
    this.fetchFaults = 0;
    this.divergences = [];
    /** Places (the two symbols) seen diverging, to print the context once per place. */
    this.places = new Set();
    this.stopReason = '';
    // The last common instructions: Ringside's line (buffer, start, end) and QEMU's pc.
    this.contextSize = Math.max(1, options.context);
    this.context = Array.from({ length: this.contextSize }, () => ({ buffer: null, start: 0, end: 0 }));
    this.contextNext = 0;
    this.deadline = Date.now() + options.timeout * 1000;
    /** --mark: pcs by low half → [{ hi, name }]; reached marks move to `reached`. */
    this.marks = new Map();
    this.reached = new Map();
    for (const name of options.marks) {
      const entries = symbols.functionEntries(name);
      if (entries === undefined) throw new UsageError(`--mark ${name}: no such symbol in vmlinux`);
      for (const { hi, lo } of entries) {
        const list = this.marks.get(lo);
        if (list === undefined) this.marks.set(lo, [{ hi, name }]); else list.push({ hi, name });
      }
    }
    this.nextProgress = 5_000_000;
  }

  rememberCommon() {
    const slot = this.context[this.contextNext];
    slot.buffer = this.ringside.buffer;
    slot.start = this.ringside.start;
    slot.end = this.ringside.end;
    this.contextNext = (this.contextNext + 1) % this.contextSize;
  }

  commonLines() {
    const lines = [];
    for (let i = 0; i < this.contextSize; i++) {
      const slot = this.context[(this.contextNext + i) % this.contextSize];
      if (slot.buffer !== null) lines.push(slot.buffer.latin1Slice(slot.start, slot.end));
    }
    return lines.slice(-this.options.context);
  }

  async run() {
    const { ringside, qemu, symbols } = this;
    for (;;) {
      const haveRingside = await next(ringside);
      const haveQemu = await next(qemu);
      if (!haveRingside || !haveQemu) {
        if (!haveRingside && !haveQemu) {
          this.stopReason = 'both traces ended (poweroff)';
          return;
        }
        await this.diverge(haveRingside ? 'QEMU\'s trace ended while Ringside goes on' : 'Ringside\'s trace ended while QEMU goes on', haveRingside, haveQemu);
        return;
      }
      // QEMU's reset ROM runs before the firmware; Ringside starts at the firmware.
      if (this.compared === 0 && qemu.hi === 0 && qemu.lo >= 0x1000 && qemu.lo < 0x2000) {
        qemu.consume();
        this.romSkipped++;
        continue;
      }
      if (ringside.kind === INTERRUPT) {
        ringside.consume();
        if (qemu.hi === ringside.hi && qemu.lo === ringside.lo) {
          // Only Ringside took the interrupt here: follow its handler back to this pc.
          this.ringsideOnlyInterrupts++;
          if (!(await this.followRingside(ringside.hi, ringside.lo))) return;
        } else {
          this.sameInterrupts++;
        }
        continue;
      }
      if (ringside.hi === qemu.hi && ringside.lo === qemu.lo) {
        this.rememberCommon();
        if (this.marks.size > 0) this.checkMark(ringside.hi, ringside.lo);
        ringside.consume();
        qemu.consume();
        if (++this.compared >= this.options.limit) {
          this.stopReason = `limit of ${this.options.limit} instructions reached`;
          return;
        }
        if ((this.compared & 0xffff) === 0 && Date.now() > this.deadline) {
          this.stopReason = `timeout after ${this.options.timeout} s`;
          return;
        }
        if (this.compared >= this.nextProgress) this.progress();
        continue;
      }
      // A fetch fault: Ringside lists the attempt, QEMU translates nothing and logs nothing.
      const cause = ringside.trapCause();
      if (cause === 1 || cause === 12) {
        this.fetchFaults++;
        ringside.consume();
        continue;
      }
      if (symbols.vectors.has(qemu.hi, qemu.lo)) {
        // QEMU took an interrupt before Ringside's next instruction: follow QEMU's handler.
        const mismatch = { ringside: ringside.text, ringsideHi: ringside.hi, ringsideLo: ringside.lo, qemuHi: qemu.hi, qemuLo: qemu.lo };
        this.qemuOnlyInterrupts++;
        const returned = await this.followQemu(ringside.hi, ringside.lo);
        if (returned === true) continue;
        this.qemuOnlyInterrupts--;
        await this.reportDivergence(mismatch, `QEMU entered a trap vector but did not return to the interrupted pc within ${returned}`);
        return;
      }
      if (!(await this.diverge('the pcs differ', true, true))) return;
    }
  }

  checkMark(hi, lo) {
    const list = this.marks.get(lo);
    if (list === undefined) return;
    const mark = list.find((entry) => entry.hi === hi);
    if (mark === undefined || this.reached.has(mark.name)) return;
    this.reached.set(mark.name, this.compared + 1);
  }

  progress() {
    this.nextProgress += 5_000_000;
    if (this.options.progress) {
      process.stderr.write(`lockstep: ${(this.compared / 1e6).toFixed(0)} M instructions, at ${this.symbols.describe(this.ringside.hi, this.ringside.lo)}, ` +
        `${this.sameInterrupts + this.ringsideOnlyInterrupts + this.qemuOnlyInterrupts} interrupts, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    }
  }

  /** Skips Ringside's handler until an mret/sret lands on the interrupted pc. */
  async followRingside(hi, lo) {
    const { ringside } = this;
    let previousWasReturn = false;
    for (let count = 0; count < this.options.followLimit; count++) {
      if (!(await next(ringside))) {
        this.stopReason = 'Ringside\'s trace ended inside an interrupt handler';
        return false;
      }
      if (previousWasReturn && ringside.hi === hi && ringside.lo === lo && ringside.kind === INSTRUCTION) return true;
      previousWasReturn = ringside.isReturn;
      ringside.consume();
      this.ringsideHandlerInstructions++;
    }
    await this.reportDivergence(null, `Ringside's interrupt at ${hex16(hi, lo)} did not return within ${this.options.followLimit} instructions`);
    return false;
  }

  /** Skips QEMU's handler until an mret/sret lands on pc hi:lo; true, or what went wrong. */
  async followQemu(hi, lo) {
    const { qemu, symbols } = this;
    let previousWasReturn = false;
    for (let count = 0; count < this.options.followLimit; count++) {
      if (!(await next(qemu))) return 'the end of its trace';
      if (previousWasReturn && qemu.hi === hi && qemu.lo === lo) return true;
      previousWasReturn = symbols.returnSites.has(qemu.hi, qemu.lo);
      qemu.consume();
      this.qemuHandlerInstructions++;
    }
    return `${this.options.followLimit} instructions`;
  }

  /** Records the divergence at the current records; re-synchronises if more are allowed. */
  async diverge(why, haveRingside, haveQemu) {
    const mismatch = {
      ringside: haveRingside ? this.ringside.text : '(end of trace)',
      ringsideHi: haveRingside ? this.ringside.hi : undefined,
      ringsideLo: haveRingside ? this.ringside.lo : undefined,
      qemuHi: haveQemu ? this.qemu.hi : undefined,
      qemuLo: haveQemu ? this.qemu.lo : undefined,
    };
    await this.reportDivergence(mismatch, why);
    if (!haveRingside || !haveQemu) return false;
    if (this.divergences.length >= this.options.maxDivergences) {
      this.stopReason = 'divergence';
      return false;
    }
    const resync = await this.resynchronise();
    if (resync === null) {
      this.stopReason = `no re-synchronisation within ${this.options.window} lines after the divergence`;
      process.stderr.write(`lockstep: ${this.stopReason}\n`);
      return false;
    }
    const last = this.divergences.at(-1);
    last.ringsideSkipped = resync.ringsideSkipped;
    last.qemuSkipped = resync.qemuSkipped;
    last.resumedAt = resync.at;
    process.stderr.write(`  re-synchronised after ${resync.ringsideSkipped} Ringside / ${resync.qemuSkipped} QEMU instructions, at ${resync.at}\n`);
    return true;
  }

  async reportDivergence(mismatch, why) {
    const { symbols } = this;
    const describe = (hi, lo) => (hi === undefined ? '' : ` (${symbols.describe(hi, lo)})`);
    const entry = {
      at: this.compared,
      why,
      ringside: mismatch?.ringside,
      ringsideSymbol: mismatch?.ringsideHi === undefined ? undefined : symbols.describe(mismatch.ringsideHi, mismatch.ringsideLo),
      qemu: mismatch?.qemuHi === undefined ? undefined : hex16(mismatch.qemuHi, mismatch.qemuLo),
      qemuSymbol: mismatch?.qemuHi === undefined ? undefined : symbols.describe(mismatch.qemuHi, mismatch.qemuLo),
    };
    this.divergences.push(entry);
    const lines = [`lockstep: divergence #${this.divergences.length} after ${this.compared} common instructions: ${why}`];
    // The common instructions before it: for the first 20, and for the first at each place.
    const place = `${entry.ringsideSymbol} | ${entry.qemuSymbol}`;
    const newPlace = !this.places.has(place);
    this.places.add(place);
    if (this.divergences.length <= 20 || newPlace) {
      lines.push(`  last ${Math.min(this.options.context, this.compared)} common instructions (Ringside's lines):`);
      for (const line of this.commonLines()) {
        const pc = /^\d+ 0x([0-9a-f]{8})([0-9a-f]{8})/.exec(line);
        lines.push(`    ${line}${pc === null ? '' : `    <${symbols.describe(parseInt(pc[1], 16), parseInt(pc[2], 16))}>`}`);
      }
    }
    if (mismatch !== null) {
      lines.push(`  ringside: ${mismatch.ringside}${describe(mismatch.ringsideHi, mismatch.ringsideLo)}`);
      lines.push(`  qemu:     ${mismatch.qemuHi === undefined ? '(end of trace)' : `pc ${hex16(mismatch.qemuHi, mismatch.qemuLo)}`}${describe(mismatch.qemuHi, mismatch.qemuLo)}`);
    }
    process.stderr.write(lines.join('\n') + '\n');
  }

  /**
   * Finds the earliest point (smallest sum of the two sides' skips) after which
   * --resync-window pcs agree, reading ahead a growing number of records of each side, up to
   * --window; the records after that point are pushed back. Null if there is none.
   */
  async resynchronise() {
    const { ringside, qemu, options } = this;
    const need = options.resyncWindow;
    const ringsideRecords = [];
    const qemuRecords = [];
    const positions = new Map(); // QEMU's positions by the low half of the pc
    const agrees = (i, j) => {
      let a = i, b = j, run = 0;
      while (run < need) {
        if (a >= ringsideRecords.length || b >= qemuRecords.length) return false;
        const r = ringsideRecords[a];
        if (r.kind === INTERRUPT) { a++; continue; }
        const q = qemuRecords[b];
        if (r.hi !== q.hi || r.lo !== q.lo) return false;
        a++; b++; run++;
      }
      return true;
    };
    for (let size = 256; ; size = Math.min(size * 8, options.window)) {
      while (ringsideRecords.length < size + need && (await next(ringside))) {
        ringsideRecords.push(ringside.snapshot());
        ringside.consume();
      }
      while (qemuRecords.length < size + need && (await next(qemu))) {
        const j = qemuRecords.length;
        qemuRecords.push(qemu.snapshot());
        qemu.consume();
        const list = positions.get(qemu.lo);
        if (list === undefined) positions.set(qemu.lo, [j]); else list.push(j);
      }
      let best = null;
      for (let i = 0; i < Math.min(size, ringsideRecords.length); i++) {
        if (best !== null && i >= best.i + best.j) break;
        const r = ringsideRecords[i];
        if (r.kind === INTERRUPT) continue;
        const list = positions.get(r.lo);
        if (list === undefined) continue;
        for (const j of list) {
          if (j >= size || (best !== null && i + j >= best.i + best.j)) break;
          if (qemuRecords[j].hi === r.hi && agrees(i, j)) {
            best = { i, j };
            break;
          }
        }
      }
      // A pair with a smaller sum has both skips below that sum, so within this search when sum <= size.
      const exhausted = size >= options.window || (ringsideRecords.length < size && qemuRecords.length < size);
      if (best !== null && (best.i + best.j <= size || exhausted)) {
        pushBack(ringside, ringsideRecords.slice(best.i));
        pushBack(qemu, qemuRecords.slice(best.j));
        const resumed = ringsideRecords[best.i];
        return {
          ringsideSkipped: ringsideRecords.slice(0, best.i).filter((record) => record.kind === INSTRUCTION).length,
          qemuSkipped: best.j,
          at: `${hex16(resumed.hi, resumed.lo)} (${this.symbols.describe(resumed.hi, resumed.lo)})`,
        };
      }
      if (exhausted) {
        pushBack(ringside, ringsideRecords);
        pushBack(qemu, qemuRecords);
        return null;
      }
    }
  }
}

// ---- running both machines ----------------------------------------------------------------------

let started = Date.now();

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`lockstep: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const problems = checkPrerequisites(options);
  if (problems.length > 0) {
    process.stderr.write(problems.map((problem) => `lockstep: ${problem}\n`).join(''));
    process.exit(2);
  }
  started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'ringside-lockstep-'));
  const image = join(options.linuxDir, 'Image');
  const initrd = join(options.linuxDir, 'initramfs.cpio');
  const children = [];
  let exitCode = 1;
  try {
    // QEMU's device tree for this command line, with a fixed seed for /chosen/rng-seed.
    const dtb = join(work, 'qemu-virt.dtb');
    const qemuMachine = ['-m', options.mem, '-bios', options.bios, '-kernel', image, '-initrd', initrd, '-append', options.append, '-seed', QEMU_SEED,
      ...(options.qemuCpu === undefined ? [] : ['-cpu', options.qemuCpu])];
    const dump = spawnSync('qemu-system-riscv64', ['-M', `virt,dumpdtb=${dtb}`, ...qemuMachine, '-nographic'], { encoding: 'utf8' });
    if (dump.status !== 0 || !existsSync(dtb)) throw new Error(`QEMU could not dump its device tree: ${dump.stderr}`);
    // The kernel and the initramfs where QEMU loads them, as one ELF for Ringside.
    const kernelElf = join(work, 'kernel-and-initrd.elf');
    writeFileSync(kernelElf, imagesElf([
      { address: KERNEL_ADDRESS, bytes: readFileSync(image) },
      { address: initrdAddress(options.memoryBytes), bytes: readFileSync(initrd) },
    ]));

    const symbols = new Symbols(join(options.linuxDir, 'vmlinux'), options.bios, findBusybox(options.linuxDir));
    for (const name of options.marks) {
      if (symbols.functionEntries(name) === undefined) throw new UsageError(`--mark ${name}: no such symbol in vmlinux`);
    }

    const ringsidePipe = join(work, 'ringside.trace');
    const qemuPipe = join(work, 'qemu.trace');
    const fifo = spawnSync('mkfifo', [ringsidePipe, qemuPipe], { encoding: 'utf8' });
    if (fifo.status !== 0) throw new Error(`mkfifo failed: ${fifo.stderr}`);

    const ringsideArgs = [options.ringside, 'run', '--bios', options.bios, '--kernel', kernelElf, '--dtb', dtb, '--append', options.append,
      '--mem', options.mem, '--icount', 'shift=0', '--idle', 'skip', '--serial', `file:${join(work, 'ringside-console.log')}`, '--trace', ringsidePipe,
      ...(options.cpu === undefined ? [] : ['--cpu', options.cpu])];
    const qemuArgs = ['qemu-system-riscv64', '-M', 'virt', ...qemuMachine, '-nographic', '-icount', 'shift=0,sleep=off',
      '-singlestep', '-d', 'exec,nochain', '-D', qemuPipe];
    writeFileSync(join(work, 'command-lines.txt'), `node ${ringsideArgs.join(' ')}\n${qemuArgs.join(' ')}\n`);
    const start = (command, args, logName) => {
      const log = openSync(join(work, logName), 'w');
      const child = spawn('nice', ['-n', String(options.nice), command, ...args], { stdio: ['ignore', log, log] });
      closeSync(log);
      child.exitStatus = new Promise((resolveExit) => child.on('exit', (code, signal) => resolveExit({ code, signal })));
      children.push(child);
      return child;
    };
    const ringsideProcess = start(process.execPath, ringsideArgs, 'ringside-stdout.log');
    const qemuProcess = start(qemuArgs[0], qemuArgs.slice(1), 'qemu-console.log');
    const ringside = new RingsideTrace(ringsidePipe, symbols);
    const qemu = new QemuTrace(qemuPipe);
    // An emulator that exits (even before writing anything) ends its stream.
    ringsideProcess.exitStatus.then(() => ringside.reader.releaseWriter());
    qemuProcess.exitStatus.then(() => qemu.reader.releaseWriter());
    const lockstep = new Lockstep(options, ringside, qemu, symbols);
    await lockstep.run();
    ringside.reader.close();
    qemu.reader.close();
    const stoppedEarly = !lockstep.stopReason.startsWith('both traces ended');
    if (stoppedEarly) for (const child of children) child.kill('SIGTERM');
    const [ringsideExit, qemuExit] = await Promise.all([ringsideProcess.exitStatus, qemuProcess.exitStatus]);

    const wall = ((Date.now() - started) / 1000).toFixed(1);
    const interrupts = lockstep.sameInterrupts + lockstep.ringsideOnlyInterrupts + lockstep.qemuOnlyInterrupts;
    const first = lockstep.divergences[0];
    const divergenceText = first === undefined ? 'none'
      : `at instruction ${first.at}: ringside ${first.ringside ?? '-'} <${first.ringsideSymbol ?? '-'}> vs qemu ${first.qemu ?? '-'} <${first.qemuSymbol ?? '-'}> (${first.why})`;
    if (lockstep.divergences.length > 1) {
      const groups = new Map();
      for (const divergence of lockstep.divergences) {
        const key = `${divergence.ringsideSymbol ?? '-'} | ${divergence.qemuSymbol ?? '-'}`;
        groups.set(key, (groups.get(key) ?? 0) + 1);
      }
      process.stderr.write(`lockstep: ${lockstep.divergences.length} divergences by place (ringside symbol | qemu symbol):\n`);
      for (const [key, count] of [...groups].sort((a, b) => b[1] - a[1])) process.stderr.write(`  ${String(count).padStart(6)}  ${key}\n`);
    }
    for (const name of options.marks) {
      const at = lockstep.reached.get(name);
      process.stderr.write(`lockstep: mark ${name}: ${at === undefined ? 'not reached' : `reached at instruction ${at}`}\n`);
    }
    if (qemu.otherLines.length > 0) process.stderr.write(`lockstep: QEMU's log had other lines, e.g. ${JSON.stringify(qemu.otherLines)}\n`);
    process.stderr.write(`lockstep: details: QEMU reset ROM ${lockstep.romSkipped} instructions, handler instructions followed: Ringside ${lockstep.ringsideHandlerInstructions}, ` +
      `QEMU ${lockstep.qemuHandlerInstructions}; fetch faults Ringside-only ${lockstep.fetchFaults}; QEMU lines dropped (rewound/not run) ${qemu.dropped}; ` +
      `trace lines read: Ringside ${ringside.lines}, QEMU ${qemu.lines}; exits: Ringside ${ringsideExit.code ?? ringsideExit.signal}, QEMU ${qemuExit.code ?? qemuExit.signal}` +
      `${options.keep ? `; work directory ${work}` : ''}\n`);
    process.stdout.write(`lockstep: compared ${lockstep.compared} instructions, ${interrupts} interrupts resynchronised ` +
      `(${lockstep.ringsideOnlyInterrupts} ringside-only, ${lockstep.qemuOnlyInterrupts} qemu-only, ${lockstep.sameInterrupts} at the same instruction), ` +
      `${lockstep.divergences.length > 1 ? `${lockstep.divergences.length} divergences, first` : 'first divergence'} ${divergenceText}, ` +
      `stopped: ${lockstep.stopReason}, cpu: qemu ${options.qemuCpu ?? 'default'} / ringside ${options.cpu ?? 'default'}, wall ${wall} s\n`);
    exitCode = lockstep.divergences.length === 0 ? 0 : 1;
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!options.keep) rmSync(work, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

main().catch((error) => {
  process.stderr.write(`lockstep: ${error instanceof UsageError ? error.message : error.stack ?? error}\n`);
  process.exit(2);
});
