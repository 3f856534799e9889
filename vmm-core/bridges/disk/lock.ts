// Image locking without a native addon. Node cannot take fcntl locks, so two checks stand in:
//  - other programs (QEMU, qemu-img, anything using POSIX, OFD or flock locks) are seen in
//    /proc/locks by device:inode. QEMU marks the permissions it holds with shared locks on bytes
//    100 + n and the permissions it refuses to share on bytes 200 + n (n = 0 consistent read,
//    1 write, ...): byte 101 means "someone writes", byte 200 "someone forbids other readers".
//  - other Ringside processes leave a record per open image in a shared directory, named by
//    device:inode, mode, pid and the process start time. A record whose process is gone (or is a
//    zombie, or whose pid now belongs to a process started at another time) is stale and ignored,
//    so a SIGKILLed holder never blocks anyone.
// Policy: a read-only open shares with other readers; a writer excludes every other user.
// QEMU cannot see Ringside's records: a QEMU started after Ringside opened an image is not stopped.

import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, chmodSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BridgeError } from '../types';
import type { ImageFile } from './image-file';

export type LockMode = 'shared' | 'exclusive';

export interface ImageLock {
  readonly mode: LockMode;
  release(): void;
}

/** QEMU's lock bytes (block/file-posix.c): base + permission bit. */
const QEMU_PERMISSION_BASE = 100;
const QEMU_UNSHARED_BASE = 200;
const QEMU_PERMISSION_CONSISTENT_READ = 0;
const QEMU_PERMISSION_WRITE = 1;

/** One line of /proc/locks about our file. */
export interface HostLock {
  kind: string; // POSIX, OFDLCK, FLOCK, LEASE, ...
  access: string; // READ or WRITE
  pid: number; // -1 for OFD locks
  start: number;
  end: number; // Infinity for EOF
}

/** Linux's st_dev (userspace encoding) split into major and minor. */
function splitDevice(device: bigint): [number, number] {
  const major = ((device >> 8n) & 0xfffn) | ((device >> 32n) & ~0xfffn);
  const minor = (device & 0xffn) | ((device >> 12n) & ~0xffn);
  return [Number(major), Number(minor)];
}

/** Locks other programs hold on the file, from /proc/locks; empty where that file does not exist. */
export function hostLocksOn(device: bigint, inode: bigint): HostLock[] {
  let text: string;
  try {
    text = readFileSync('/proc/locks', 'utf8');
  } catch {
    return [];
  }
  const [major, minor] = splitDevice(device);
  const locks: HostLock[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8 || fields[1] === '->') continue; // "->" lines are waiters, not holders
    const id = fields[5].split(':');
    if (id.length !== 3 || !/^\d+$/.test(id[2])) continue;
    if (parseInt(id[0], 16) !== major || parseInt(id[1], 16) !== minor || BigInt(id[2]) !== inode) continue;
    locks.push({
      kind: fields[1],
      access: fields[3],
      pid: Number(fields[4]),
      start: Number(fields[6]),
      end: fields[7] === 'EOF' ? Infinity : Number(fields[7]),
    });
  }
  return locks;
}

const covers = (lock: HostLock, byte: number): boolean => lock.start <= byte && byte <= lock.end;

/** Whether a lock another program holds rules out our open in this mode. */
function hostConflict(lock: HostLock, mode: LockMode): boolean {
  if (mode === 'exclusive' || lock.access === 'WRITE') return true;
  // A shared lock on the whole file is another reader. QEMU's byte-range locks say more:
  // someone holds write permission (101), or forbids other readers (200).
  if (lock.end === Infinity) return false;
  return covers(lock, QEMU_PERMISSION_BASE + QEMU_PERMISSION_WRITE) || covers(lock, QEMU_UNSHARED_BASE + QEMU_PERMISSION_CONSISTENT_READ);
}

function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function describeHostLock(lock: HostLock): string {
  if (lock.kind === 'OFDLCK') return `another program holds ${lock.access === 'WRITE' ? 'an exclusive' : 'a'} byte-range (OFD) lock on it, as a running QEMU or qemu-img does`;
  const name = processName(lock.pid);
  return `process ${lock.pid}${name ? ` (${name})` : ''} holds a ${lock.kind} ${lock.access.toLowerCase()} lock on it`;
}

/** Where Ringside processes leave their records: shared by every user, sticky like /tmp. */
function recordDirectory(): string {
  return process.platform === 'win32' ? join(tmpdir(), 'ringside-locks') : '/tmp/ringside-locks';
}

function ensureRecordDirectory(directory: string): void {
  try {
    mkdirSync(directory, { mode: 0o1777 });
    chmodSync(directory, 0o1777); // the umask trimmed the mode
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new BridgeError(`cannot create the lock directory ${directory}: ${(error as Error).message}`);
    }
  }
  const stat = lstatSync(directory);
  if (!stat.isDirectory()) throw new BridgeError(`the lock directory ${directory} is not a directory (a symbolic link or a file is in its place)`);
}

interface ProcessStat {
  state: string;
  startTime: string;
}

function readProcessStat(pid: number | 'self'): ProcessStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], startTime: fields[19] };
  } catch {
    return null;
  }
}

const ownStartTime = readProcessStat('self')?.startTime ?? '0';
let recordSequence = 0;

function processAlive(pid: number, startTime: string): boolean {
  if (pid === process.pid) return startTime === ownStartTime;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (process.platform !== 'linux') return true;
  const stat = readProcessStat(pid);
  if (!stat) return false;
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === '0' || stat.startTime === startTime;
}

interface Record {
  file: string;
  mode: 'r' | 'w';
  pid: number;
  startTime: string;
}

/** "<dev>-<ino>.<r|w>.<pid>.<start time>.<n>", or null for anything else. */
function parseRecord(file: string): (Record & { key: string }) | null {
  const parts = file.split('.');
  if (parts.length !== 5 || (parts[1] !== 'r' && parts[1] !== 'w')) return null;
  const pid = Number(parts[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  return { file, key: parts[0], mode: parts[1], pid, startTime: parts[3] };
}

/** Records this process holds, removed if it exits without closing its images. */
const ownRecords = new Set<string>();
let exitHookInstalled = false;
function removeOwnRecordsAtExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const path of ownRecords) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  });
}

/**
 * Takes a shared (read-only) or exclusive (read-write) hold on an open image, or throws
 * "<path> is in use by another process (locked): ...".
 */
export function lockImage(image: ImageFile, mode: LockMode): ImageLock {
  const inUse = (detail: string) => new BridgeError(`${image.path} is in use by another process (locked): ${detail}`);
  for (const lock of hostLocksOn(image.device, image.inode)) {
    if (hostConflict(lock, mode)) throw inUse(describeHostLock(lock));
  }

  const directory = recordDirectory();
  ensureRecordDirectory(directory);
  const key = `${image.device}-${image.inode}`;
  const ownName = `${key}.${mode === 'exclusive' ? 'w' : 'r'}.${process.pid}.${ownStartTime}.${recordSequence++}`;
  const ownPath = join(directory, ownName);
  // Announce first, then look: of two processes racing, the later reader of the directory sees
  // the other's record, so at most one of them wins (both may lose; never both win).
  try {
    const fd = openSync(ownPath, 'wx', 0o644);
    writeSync(fd, `${image.path}\n`);
    closeSync(fd);
  } catch (error) {
    throw new BridgeError(`${image.path}: cannot write the lock record ${ownPath}: ${(error as Error).message}`);
  }
  ownRecords.add(ownPath);
  removeOwnRecordsAtExit();
  const removeOwn = () => {
    ownRecords.delete(ownPath);
    try {
      unlinkSync(ownPath);
    } catch {
      // already gone
    }
  };
  try {
    for (const file of readdirSync(directory)) {
      if (file === ownName) continue;
      const record = parseRecord(file);
      if (!record) continue;
      // Stale records of any image are swept while we are here: SIGKILLed holders leave them.
      if (!processAlive(record.pid, record.startTime)) {
        try {
          unlinkSync(join(directory, file));
        } catch {
          // another user's stale record (sticky directory) or already removed
        }
        continue;
      }
      if (record.key !== key) continue;
      if (mode === 'exclusive' || record.mode === 'w') {
        const who = record.pid === process.pid ? 'this Ringside process already has it open' : `Ringside process ${record.pid} has it open`;
        throw inUse(`${who} ${record.mode === 'w' ? 'for writing' : 'read-only'}`);
      }
    }
  } catch (error) {
    removeOwn();
    throw error;
  }
  let released = false;
  return {
    mode,
    release() {
      if (released) return;
      released = true;
      removeOwn();
    },
  };
}
