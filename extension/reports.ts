// What the VM commands show, as Markdown a person reads: the page-table walk of an address level
// by level, the exit statistics, and the line the console terminal draws when the machine resets
// or powers off. The inputs are the adapter's JSON answers (64-bit values as hex strings), taken
// as `unknown` and checked, so a changed answer gives a clear message instead of a broken page.
// Pure functions, tested without VS Code.

export class ReportError extends Error {
  override name = 'ReportError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(record: Record<string, unknown>, name: string, what: string): unknown {
  if (!(name in record)) throw new ReportError(`${what}: the adapter's answer has no '${name}'`);
  return record[name];
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return `0x${value.toString(16)}`;
  return String(value);
}

/** `0x0000000080001000` → `0x8000_1000`: hex grouped by four digits, easier to compare by eye. */
export function groupHex(value: string): string {
  const match = /^0x([0-9a-fA-F]+)$/.exec(value);
  if (match === null) return value;
  const digits = match[1].replace(/^0+(?=.)/, '');
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 4) groups.unshift(digits.slice(Math.max(0, end - 4), end));
  return `0x${groups.join('_')}`;
}

/** A small number (level, index, ASID) in decimal. */
function plain(value: unknown): string {
  return String(value);
}

const FLAG_ORDER = ['V', 'R', 'W', 'X', 'U', 'G', 'A', 'D'] as const;

function flagText(flags: unknown): string {
  if (!isRecord(flags)) return '';
  return FLAG_ORDER.map((name) => (flags[name] === true ? name : '-')).join('');
}

/** The page-table walk (`ringside/translateAddress`'s answer) as Markdown, one row per level. */
export function formatTranslation(answer: unknown): string {
  const what = 'ringside/translateAddress';
  if (!isRecord(answer)) throw new ReportError(`${what}: the answer is not an object`);
  const mode = text(field(answer, 'mode', what));
  const virtualAddress = text(field(answer, 'virtualAddress', what));
  const levels = field(answer, 'levels', what);
  if (!Array.isArray(levels)) throw new ReportError(`${what}: 'levels' is not a list`);
  const lines: string[] = [];
  lines.push(`# Translation of ${groupHex(virtualAddress)}`, '');
  lines.push(`- Mode: **${mode}**`);
  if (answer.satp !== undefined) lines.push(`- satp: \`${groupHex(text(answer.satp))}\`${answer.asid !== undefined ? ` (ASID ${plain(answer.asid)})` : ''}`);
  if (answer.rootTable !== undefined && mode !== 'bare') lines.push(`- Root table: \`${groupHex(text(answer.rootTable))}\``);
  if (answer.hartTranslates === false) lines.push('- The hart does not translate at its current privilege (M-mode, or satp is bare): its accesses are physical.');
  lines.push('');
  if (levels.length > 0) {
    lines.push('| level | table | index | PTE address | PTE | flags (VRWXUGAD) | PPN | |', '|---|---|---|---|---|---|---|---|');
    for (const level of levels) {
      if (!isRecord(level)) throw new ReportError(`${what}: a level is not an object`);
      lines.push(`| ${plain(level.level)} | \`${groupHex(text(level.tableAddress))}\` | ${plain(level.index)} | \`${groupHex(text(level.pteAddress))}\` | \`${groupHex(text(level.pte))}\` | \`${flagText(level.flags)}\` | \`${groupHex(text(level.ppn))}\` | ${level.leaf === true ? 'leaf' : ''} |`);
    }
    lines.push('');
  }
  if (answer.physicalAddress !== undefined) {
    const size = typeof answer.pageSize === 'number' ? ` in a ${formatBytes(answer.pageSize)} page` : '';
    lines.push(`**Physical address: \`${groupHex(text(answer.physicalAddress))}\`**${size}`);
  }
  if (typeof answer.fault === 'string') lines.push(`**Fault:** ${answer.fault}`);
  return `${lines.join('\n')}\n`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30 && bytes % (1 << 30) === 0) return `${bytes / (1 << 30)} GiB`;
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Integers with thousands separators, fixed to one locale so the page reads the same everywhere. */
function count(value: unknown): string {
  if (typeof value !== 'number') return text(value);
  return value.toLocaleString('en-US');
}

/** `ringside/exitStatistics`'s answer as Markdown: exits by kind (most frequent first) and per hart. */
export function formatExitStatistics(answer: unknown): string {
  const what = 'ringside/exitStatistics';
  if (!isRecord(answer)) throw new ReportError(`${what}: the answer is not an object`);
  const exits = field(answer, 'exits', what);
  if (!isRecord(exits)) throw new ReportError(`${what}: 'exits' is not an object`);
  const total = typeof answer.totalExits === 'number' ? answer.totalExits : Object.values(exits).reduce<number>((sum, value) => sum + (typeof value === 'number' ? value : 0), 0);
  const lines = ['# Ringside exit statistics', ''];
  lines.push(`- Instructions retired: **${count(answer.instructionsRetired)}**`);
  lines.push(`- Exits to the monitor: **${count(total)}**`);
  if (typeof answer.instructionsRetired === 'number' && answer.instructionsRetired > 0 && total > 0) {
    lines.push(`- One exit every ${count(Math.round(answer.instructionsRetired / total))} instructions`);
  }
  if (answer.mtime !== undefined) lines.push(`- mtime: ${count(answer.mtime)} ticks`);
  if (answer.slices !== undefined) lines.push(`- Run-loop slices: ${count(answer.slices)}`);
  lines.push('', '| exit kind | count | share |', '|---|---:|---:|');
  const kinds = Object.entries(exits).filter((entry): entry is [string, number] => typeof entry[1] === 'number').sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  for (const [kind, value] of kinds) {
    const share = total > 0 ? `${((100 * value) / total).toFixed(1)} %` : '';
    lines.push(`| ${kind} | ${count(value)} | ${share} |`);
  }
  const harts = answer.harts;
  if (Array.isArray(harts) && harts.length > 0) {
    lines.push('', '| hart | instructions | traps taken | virtual time (ns) | idle (ns) |', '|---|---:|---:|---:|---:|');
    for (const hart of harts) {
      if (!isRecord(hart)) continue;
      lines.push(`| ${count(hart.hartId)} | ${count(hart.instructionsRetired)} | ${count(hart.trapsTaken)} | ${count(hart.virtualNanoseconds)} | ${count(hart.idleNanoseconds)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The terminal line drawn where the machine reset or powered off (dim, between rules). */
export function machineEventLine(event: 'reset-guest' | 'reset-debugger' | 'power-off' | 'exited', exitCode?: number): string {
  const label = event === 'reset-guest' ? 'machine reset (the guest asked for it)'
    : event === 'reset-debugger' ? 'machine reset'
    : event === 'power-off' ? 'machine powered off'
    : `the guest powered off${exitCode !== undefined ? ` (exit code ${exitCode})` : ''}`;
  return `\r\n\x1b[2m──── ${label} ────\x1b[0m\r\n`;
}

/**
 * Terminals need CR LF; guests often print a bare LF. Turns each LF not preceded by CR into
 * CR LF, remembering across chunks whether the last character was a CR.
 */
export class TerminalNewlines {
  private lastWasCarriageReturn = false;

  convert(chunk: string): string {
    let result = '';
    for (const character of chunk) {
      if (character === '\n' && !this.lastWasCarriageReturn) result += '\r';
      result += character;
      this.lastWasCarriageReturn = character === '\r';
    }
    return result;
  }

  /** Forget the state, e.g. after a line the extension drew itself. */
  reset(): void {
    this.lastWasCarriageReturn = false;
  }
}
