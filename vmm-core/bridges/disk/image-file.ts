// One open image file: positioned synchronous reads and writes that loop over short
// transfers, fdatasync, and errors that name the file. Every backend that touches a file goes
// through this class, so an OS error always becomes one BridgeError saying which file and what.

import { closeSync, constants as fsConstants, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { BridgeError } from '../types';

/** What an errno means to someone who typed the path. */
function describeOsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    case 'EROFS': return 'the file system is read-only';
    case 'ENOSPC': return 'no space left on the device';
    case 'EDQUOT': return 'disk quota exceeded';
    case 'EFBIG': return 'the file would be too large';
    case 'EIO': return 'input/output error';
    case 'ELOOP': return 'too many levels of symbolic links';
    case 'ENOTDIR': return 'a component of the path is not a directory';
    case 'ENAMETOOLONG': return 'the path is too long';
    case 'EMFILE':
    case 'ENFILE': return 'too many open files';
    default: return error instanceof Error ? error.message : String(error);
  }
}

export class ImageFile {
  /** The path as the user gave it (messages name it). */
  readonly path: string;
  /** The last path component, for short descriptions. */
  readonly name: string;
  readonly readOnly: boolean;
  readonly device: bigint;
  readonly inode: bigint;
  /** Current length in bytes; grows with writes past the end. */
  size: number;
  private fd: number;
  private closed = false;

  private constructor(path: string, fd: number, readOnly: boolean, size: number, device: bigint, inode: bigint) {
    this.path = path;
    this.name = basename(path);
    this.fd = fd;
    this.readOnly = readOnly;
    this.size = size;
    this.device = device;
    this.inode = inode;
  }

  /** Opens a regular file (O_RDONLY or O_RDWR, never creating it). */
  static open(path: string, readOnly: boolean): ImageFile {
    let fd: number;
    try {
      fd = openSync(path, readOnly ? fsConstants.O_RDONLY : fsConstants.O_RDWR);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (!readOnly && (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')) {
        throw new BridgeError(`${path}: cannot be opened for writing (${describeOsError(error)}); open it read-only (readonly=on) or with snapshot=on`);
      }
      throw new BridgeError(`${path}: ${describeOsError(error)}`);
    }
    try {
      const stat = fstatSync(fd, { bigint: true });
      if (stat.isDirectory()) throw new BridgeError(`${path}: is a directory, not a disk image`);
      if (!stat.isFile()) throw new BridgeError(`${path}: is not a regular file (block devices and other special files are not supported)`);
      if (stat.size > BigInt(Number.MAX_SAFE_INTEGER)) throw new BridgeError(`${path}: is larger than 2^53 bytes`);
      return new ImageFile(path, fd, readOnly, Number(stat.size), stat.dev, stat.ino);
    } catch (error) {
      closeSync(fd);
      throw error instanceof BridgeError ? error : new BridgeError(`${path}: ${describeOsError(error)}`);
    }
  }

  /** Wraps an already open descriptor (a private temporary file). */
  static fromDescriptor(path: string, fd: number): ImageFile {
    const stat = fstatSync(fd, { bigint: true });
    return new ImageFile(path, fd, false, Number(stat.size), stat.dev, stat.ino);
  }

  /** Reads `target.length` bytes at `position`; bytes past the end of the file read as zeros. */
  readAt(position: number, target: Uint8Array): void {
    let done = 0;
    while (done < target.length) {
      let count: number;
      try {
        count = readSync(this.fd, target, done, target.length - done, position + done);
      } catch (error) {
        throw new BridgeError(`${this.path}: read of ${target.length} bytes at offset ${position} failed: ${describeOsError(error)}`);
      }
      if (count === 0) {
        target.fill(0, done);
        return;
      }
      done += count;
    }
  }

  /** Reads bytes that must all exist (metadata); `what` names them in the error. */
  readExisting(position: number, target: Uint8Array, what: string): void {
    if (position + target.length > this.size) {
      throw new BridgeError(`${this.path}: ${what} at offset 0x${position.toString(16)} (${target.length} bytes) lies beyond the end of the file (${this.size} bytes)`);
    }
    this.readAt(position, target);
  }

  writeAt(position: number, data: Uint8Array): void {
    if (this.readOnly) throw new BridgeError(`${this.path}: is open read-only`);
    let done = 0;
    while (done < data.length) {
      try {
        done += writeSync(this.fd, data, done, data.length - done, position + done);
      } catch (error) {
        throw new BridgeError(`${this.path}: write of ${data.length} bytes at offset ${position} failed: ${describeOsError(error)}`);
      }
    }
    if (position + data.length > this.size) this.size = position + data.length;
  }

  /** Every completed write (data and the file size) reaches stable storage. */
  sync(): void {
    try {
      fdatasyncSync(this.fd);
    } catch (error) {
      throw new BridgeError(`${this.path}: flush (fdatasync) failed: ${describeOsError(error)}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch (error) {
      throw new BridgeError(`${this.path}: close failed: ${describeOsError(error)}`);
    }
  }
}
