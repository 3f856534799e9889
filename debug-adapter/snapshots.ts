// The session's snapshots (`ringside/snapshot`): whole-machine snapshots taken while stopped,
// kept in memory under a name, restored, renamed, deleted, written to a file (the format of
// `ringside run --snapshot-out`) or read back from one.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Machine } from '../vmm-core/machine/machine';
import {
  readSnapshot, restoreSnapshot, rewriteSnapshotSection, saveSnapshot, SnapshotError, snapshotSectionBytes,
} from '../vmm-core/machine/snapshot';
import { decodeState, encodeState, type StateRecord } from '../vmm-core/machine/state';

export class SnapshotRequestError extends Error {
  override name = 'SnapshotRequestError';
}

/** A snapshot as the Snapshots view lists it. */
export interface SnapshotListing {
  readonly id: number;
  readonly name: string;
  /** Each hart's instructions retired when it was taken. */
  readonly instructions: readonly number[];
  readonly virtualNanoseconds: number;
  readonly bytes: number;
  /** Wall-clock time it was taken (ISO 8601). */
  readonly takenAt: string;
}

interface Entry extends SnapshotListing {
  readonly file: Uint8Array;
}

export class SessionSnapshots {
  private readonly entries: Entry[] = [];
  private nextId = 1;

  constructor(private readonly machine: Machine) {}

  list(): SnapshotListing[] {
    return this.entries.map(({ file: _file, ...listing }) => listing);
  }

  take(name?: string): SnapshotListing {
    const id = this.nextId++;
    const label = name === undefined || name.trim() === '' ? `Snapshot ${id}` : name.trim();
    const file = saveSnapshot(this.machine, { name: label });
    return this.add(id, label, file);
  }

  private add(id: number, name: string, file: Uint8Array): SnapshotListing {
    const entry: Entry = {
      id, name, file, bytes: file.length, takenAt: new Date().toISOString(),
      instructions: this.machine.harts.map((hart) => hart.instructionsRetired), virtualNanoseconds: this.machine.virtualNanoseconds,
    };
    this.entries.push(entry);
    const { file: _file, ...listing } = entry;
    return listing;
  }

  private find(id: unknown): Entry {
    const entry = this.entries.find((candidate) => candidate.id === id);
    if (entry === undefined) {
      throw new SnapshotRequestError(`no snapshot ${JSON.stringify(id)} (snapshots: ${this.entries.length === 0 ? 'none' : this.entries.map((e) => e.id).join(', ')})`);
    }
    return entry;
  }

  /** Puts the machine back to snapshot `id`; returns its name. */
  restore(id: unknown): SnapshotListing {
    const entry = this.find(id);
    this.restoreBytes(entry.file, `snapshot '${entry.name}'`);
    const { file: _file, ...listing } = entry;
    return listing;
  }

  private restoreBytes(file: Uint8Array, what: string): void {
    try {
      restoreSnapshot(this.machine, readSnapshot(file));
    } catch (error) {
      if (error instanceof SnapshotError) throw new SnapshotRequestError(`cannot restore ${what}: ${error.message}`);
      throw error;
    }
  }

  delete(id: unknown): void {
    const entry = this.find(id);
    this.entries.splice(this.entries.indexOf(entry), 1);
  }

  rename(id: unknown, name: unknown): SnapshotListing {
    if (typeof name !== 'string' || name.trim() === '') throw new SnapshotRequestError('name must be a non-empty string');
    const entry = this.find(id);
    // The file carries the name too (a saved file and `ringside snapshot info` show it).
    const meta = decodeState(snapshotSectionBytes(entry.file, 'META')) as StateRecord;
    const file = rewriteSnapshotSection(entry.file, 'META', encodeState({ ...meta, name: name.trim() }));
    const renamed: Entry = { ...entry, name: name.trim(), file, bytes: file.length };
    this.entries[this.entries.indexOf(entry)] = renamed;
    const { file: _file, ...listing } = renamed;
    return listing;
  }

  /** Writes snapshot `id` to `path` (through a temporary file: never a half-written one under the name). */
  save(id: unknown, path: string): void {
    const entry = this.find(id);
    const temporary = `${path}.${process.pid}.partial`;
    try {
      writeFileSync(temporary, entry.file);
      renameSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw new SnapshotRequestError(`cannot write '${path}': ${(error as Error).message}`);
    }
  }

  /** Restores the machine from a snapshot file and keeps it in the list. */
  load(path: string): SnapshotListing {
    let file: Uint8Array;
    try {
      file = new Uint8Array(readFileSync(path));
    } catch (error) {
      throw new SnapshotRequestError(`cannot read '${path}': ${(error as Error).message}`);
    }
    let name: string;
    try {
      name = readSnapshot(file).meta.nullableString('name') ?? path;
    } catch (error) {
      if (error instanceof SnapshotError) throw new SnapshotRequestError(`${path}: ${error.message}`);
      throw error;
    }
    this.restoreBytes(file, `'${path}'`);
    return this.add(this.nextId++, name, file);
  }
}
