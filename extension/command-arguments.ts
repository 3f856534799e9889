// The arguments the Ringside commands accept when another extension or a test calls them with
// `vscode.commands.executeCommand` instead of a person answering a picker or an input box, and
// the checks the input box applies. Pure functions (no `vscode` import) so tests run them directly.

export class CommandArgumentError extends Error {
  override name = 'CommandArgumentError';
}

/** A disk image to attach: a path, a `vscode.Uri` (its `fsPath`), or `{ path, readOnly?, format? }`. */
export interface DiskArgument {
  readonly path: string;
  readonly readOnly?: boolean;
  readonly format?: 'raw' | 'qcow2';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** undefined: ask the person (file picker). */
export function parseDiskArgument(value: unknown): DiskArgument | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    if (value.trim() === '') throw new CommandArgumentError('ringside.attachDisk: the disk image path is empty');
    return { path: value };
  }
  if (isRecord(value)) {
    // A vscode.Uri (from the explorer's context menu or a caller) carries fsPath.
    const path = typeof value.fsPath === 'string' ? value.fsPath : value.path;
    if (typeof path !== 'string' || path === '') throw new CommandArgumentError("ringside.attachDisk: give a path, a Uri, or { path, readOnly?, format? }");
    const readOnly = value.readOnly;
    if (readOnly !== undefined && typeof readOnly !== 'boolean') throw new CommandArgumentError('ringside.attachDisk: readOnly must be true or false');
    const format = value.format;
    if (format !== undefined && format !== 'raw' && format !== 'qcow2') throw new CommandArgumentError(`ringside.attachDisk: format must be 'raw' or 'qcow2', got ${JSON.stringify(format)}`);
    return { path, readOnly, format };
  }
  throw new CommandArgumentError(`ringside.attachDisk: give a path, a Uri, or { path, readOnly?, format? }, got ${typeof value}`);
}

/** A virtio-mmio slot to unplug; undefined: the only disk, or ask. */
export function parseSlotArgument(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const slot = isRecord(value) ? value.slot : typeof value === 'string' && /^[0-7]$/.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof slot !== 'number' || !Number.isInteger(slot) || slot < 0 || slot > 7) {
    throw new CommandArgumentError(`ringside.detachDisk: slot must be a virtio-mmio slot 0..7, got ${JSON.stringify(slot)}`);
  }
  return slot;
}

/**
 * Checks what a person typed as an address to translate; returns the problem or undefined.
 * Numbers (`0x8000_1000`, `2147483648`) and expressions (`sp`, `&ticks`, `tasks[1].satp`) are
 * both fine: the adapter evaluates expressions in the stopped hart's context.
 */
export function addressInputProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return 'Type an address (0x80001000) or an expression (sp, &ticks)';
  if (/^0[xX]/.test(trimmed) && !/^0[xX][0-9a-fA-F_]+$/.test(trimmed)) return `'${trimmed}' is not a hex number`;
  return undefined;
}

/** The address as the adapter takes it: underscores between hex digits dropped. */
export function normalizeAddressInput(text: string): string {
  const trimmed = text.trim();
  return /^0[xX][0-9a-fA-F_]+$/.test(trimmed) ? trimmed.replace(/_/g, '') : trimmed;
}

/** ringside.translateAddress's argument: an address string or number, or `{ address, satp?, access?, privilege? }`. */
export interface TranslateArgument {
  readonly address: string;
  readonly satp?: string;
  readonly access?: 'read' | 'write' | 'execute';
  readonly privilege?: 'U' | 'S' | 'M';
}

export function parseTranslateArgument(value: unknown): TranslateArgument | undefined {
  if (value === undefined || value === null) return undefined;
  const check = (text: string): string => {
    const problem = addressInputProblem(text);
    if (problem !== undefined) throw new CommandArgumentError(`ringside.translateAddress: ${problem}`);
    return normalizeAddressInput(text);
  };
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new CommandArgumentError(`ringside.translateAddress: ${value} is not an address`);
    return { address: `0x${value.toString(16)}` };
  }
  if (typeof value === 'bigint') return { address: `0x${value.toString(16)}` };
  if (typeof value === 'string') return { address: check(value) };
  if (isRecord(value)) {
    const inner = parseTranslateArgument(value.address);
    if (inner === undefined) throw new CommandArgumentError("ringside.translateAddress: { address } is required");
    const { satp, access, privilege } = value;
    if (satp !== undefined && typeof satp !== 'string' && typeof satp !== 'number') throw new CommandArgumentError('ringside.translateAddress: satp must be a number or a string');
    if (typeof satp === 'number' && !Number.isSafeInteger(satp)) throw new CommandArgumentError('ringside.translateAddress: satp is too large for a number: pass it as a hex string');
    if (access !== undefined && access !== 'read' && access !== 'write' && access !== 'execute') throw new CommandArgumentError("ringside.translateAddress: access must be 'read', 'write' or 'execute'");
    if (privilege !== undefined && privilege !== 'U' && privilege !== 'S' && privilege !== 'M') throw new CommandArgumentError("ringside.translateAddress: privilege must be 'U', 'S' or 'M'");
    return {
      address: inner.address,
      satp: satp === undefined ? undefined : typeof satp === 'number' ? `0x${satp.toString(16)}` : check(satp),
      access, privilege,
    };
  }
  throw new CommandArgumentError(`ringside.translateAddress: give an address, got ${typeof value}`);
}

/** ringside.startCapture's argument: the pcap file path, or `{ path, card? }`; undefined: a file beside the workspace. */
export interface CaptureArgument {
  readonly path?: string;
  readonly card?: number;
}

export function parseCaptureArgument(value: unknown): CaptureArgument {
  if (value === undefined || value === null) return {};
  if (typeof value === 'string') {
    if (value.trim() === '') throw new CommandArgumentError('ringside.startCapture: the pcap path is empty');
    return { path: value };
  }
  if (isRecord(value)) {
    const path = typeof value.fsPath === 'string' ? value.fsPath : value.path;
    if (path !== undefined && (typeof path !== 'string' || path === '')) throw new CommandArgumentError('ringside.startCapture: path must be a file path');
    const card = value.card;
    if (card !== undefined && (typeof card !== 'number' || !Number.isInteger(card) || card < 0)) throw new CommandArgumentError(`ringside.startCapture: card must be a card index (0, 1, ...), got ${JSON.stringify(card)}`);
    return { path, card };
  }
  throw new CommandArgumentError(`ringside.startCapture: give a pcap path or { path, card }, got ${typeof value}`);
}

/** A capture file name that sorts by time and never clashes: ringside-2026-12-06T19-50-01.pcap. */
export function defaultCaptureFileName(now: Date): string {
  return `ringside-${now.toISOString().slice(0, 19).replace(/:/g, '-')}.pcap`;
}
