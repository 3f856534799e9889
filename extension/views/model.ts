// The view model of the Ringside views, free of the vscode API so node tests can run it: tree
// nodes built from the adapter's answers (machine, devices, page tables), the address-space
// map's layout and its SVG, the trap timeline's bins and its SVG, the status-bar text and the
// hex dump behind "open memory" when no hex editor is installed.

import type { DeviceState } from '../../debug-adapter/state/devices';
import type { Translation } from '../../debug-adapter/state/translate';
import type {
  AddressSpaceMapBody, AddressSpaceWalk, HistorySummary, MachineStateBody, MappedRange, TrapHistoryEntry,
} from '../../debug-adapter/view-requests';

/** One row of a tree view. */
export interface TreeNode {
  /** Stable across refreshes (VS Code keeps expansion by id). */
  readonly id: string;
  readonly label: string;
  readonly description?: string;
  readonly tooltip?: string;
  /** A codicon name. */
  readonly icon?: string;
  readonly children?: readonly TreeNode[];
  readonly expanded?: boolean;
  readonly command?: { readonly command: string; readonly title: string; readonly arguments?: readonly unknown[] };
  readonly contextValue?: string;
}

// ---- formatting -----------------------------------------------------------------------------

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 4096 → "4 KiB", 102400 → "100 KiB", 1.5 GiB → "1.5 GiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1).replace(/\.?0+$/, '');
  return `${text} ${UNITS[unit]}`;
}

/** Virtual time for people: "1.329958 s", "559.103 µs". */
export function formatNanoseconds(nanoseconds: number): string {
  if (nanoseconds >= 1e9) return `${(nanoseconds / 1e9).toFixed(6)} s`;
  if (nanoseconds >= 1e6) return `${(nanoseconds / 1e6).toFixed(3)} ms`;
  if (nanoseconds >= 1e3) return `${(nanoseconds / 1e3).toFixed(3)} µs`;
  return `${nanoseconds} ns`;
}

export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

const PRIVILEGE_NAMES: Record<string, string> = { U: 'U-mode (user)', S: 'S-mode (supervisor)', M: 'M-mode (machine)' };

/** mtime counts 10 MHz ticks on this machine (QEMU virt's timebase). */
const NANOSECONDS_PER_MTIME_TICK = 100;

// ---- Machine ----------------------------------------------------------------------------------

export function runStateText(state: Pick<MachineStateBody, 'runState' | 'stopReason'>): string {
  if (state.runState === 'stopped') return state.stopReason !== undefined ? `stopped (${state.stopReason})` : 'stopped';
  return state.runState;
}

/** `selectedThreadId`: the thread selected in the Call Stack view (default: the adapter's focus). */
export function machineTree(state: MachineStateBody, selectedThreadId = state.focusThreadId): TreeNode[] {
  const exitKinds = Object.entries(state.exits).sort(([, a], [, b]) => b - a);
  return [
    {
      id: 'machine/run', label: 'Run state', description: runStateText(state),
      tooltip: state.stopDescription, icon: state.runState === 'running' ? 'debug-start' : state.runState === 'stopped' ? 'debug-pause' : 'debug-stop',
    },
    {
      id: 'machine/time', label: 'Virtual time', description: formatNanoseconds(state.mtime * NANOSECONDS_PER_MTIME_TICK),
      tooltip: `mtime = ${formatCount(state.mtime)} ticks (10 MHz)`, icon: 'clock',
    },
    { id: 'machine/boot', label: 'Boot mode', description: state.bootMode, icon: 'rocket' },
    ...(state.history !== undefined ? [historyNode(state.history)] : []),
    ...(state.exit !== null ? [{
      id: 'machine/exit', label: 'Exit', icon: 'debug-stop',
      description: state.exit.kind === 'error' ? `emulator error: ${state.exit.message ?? ''}` : `${state.exit.kind}, code ${state.exit.code ?? 0}`,
    }] : []),
    {
      id: 'machine/harts', label: 'Harts', description: String(state.harts.length), icon: 'server-process', expanded: true,
      children: state.harts.map((hart): TreeNode => ({
        id: `machine/hart/${hart.hartId}`,
        label: `hart ${hart.hartId}${hart.threadId === selectedThreadId ? ' (selected)' : ''}`,
        description: `${hart.privilege}-mode · ${hart.translation} · pc ${hart.pc}`,
        icon: hart.privilege === 'U' ? 'person' : hart.privilege === 'S' ? 'shield' : 'lock',
        expanded: true,
        children: [
          { id: `machine/hart/${hart.hartId}/privilege`, label: 'Privilege', description: PRIVILEGE_NAMES[hart.privilege] ?? hart.privilege },
          { id: `machine/hart/${hart.hartId}/state`, label: 'State', description: hart.waitingForInterrupt ? `${hart.state}, waiting for an interrupt (wfi)` : hart.state },
          { id: `machine/hart/${hart.hartId}/pc`, label: 'pc', description: hart.pc },
          {
            id: `machine/hart/${hart.hartId}/satp`, label: 'satp', description: `${hart.satp} (${hart.translation}${hart.translation === 'bare' ? '' : `, ASID ${hart.asid}`})`,
          },
          { id: `machine/hart/${hart.hartId}/retired`, label: 'Instructions retired', description: formatCount(hart.instructionsRetired) },
          { id: `machine/hart/${hart.hartId}/traps`, label: 'Traps taken', description: formatCount(hart.trapsTaken) },
          { id: `machine/hart/${hart.hartId}/time`, label: 'Virtual time', description: formatNanoseconds(hart.virtualNanoseconds) },
        ],
      })),
    },
    {
      id: 'machine/exits', label: 'Exits', description: formatCount(state.totalExits), icon: 'debug-step-out',
      tooltip: 'How often execution left the fast path for the monitor, by kind',
      children: exitKinds.map(([kind, count]) => ({ id: `machine/exits/${kind}`, label: kind, description: formatCount(count) })),
    },
  ];
}

// ---- Devices ----------------------------------------------------------------------------------

function counterNodes(prefix: string, counters: Readonly<Record<string, number>>): TreeNode[] {
  return Object.entries(counters).map(([name, value]) => ({ id: `${prefix}/${name}`, label: name, description: formatCount(value) }));
}

const hexByte = (value: number): string => `0x${value.toString(16).padStart(2, '0')}`;

export function devicesTree(state: DeviceState): TreeNode[] {
  const uart = state.uart;
  const plic = state.plic;
  const nodes: TreeNode[] = [
    {
      id: 'devices/uart', label: 'UART 16550', icon: 'terminal',
      description: `irq ${uart.irq} · ${formatCount(uart.counters.transmitted)} out, ${formatCount(uart.counters.received)} in`,
      children: [
        ...counterNodes('devices/uart/counters', uart.counters),
        { id: 'devices/uart/pending', label: 'Input not yet read', description: String(uart.pendingInput) },
        { id: 'devices/uart/interrupt', label: 'Interrupt line', description: uart.interruptAsserted ? 'asserted' : 'low' },
        {
          id: 'devices/uart/registers', label: 'Registers',
          children: Object.entries(uart.registers).map(([name, value]) => ({
            id: `devices/uart/registers/${name}`, label: name, description: value === null ? '(FIFO empty)' : name === 'divisor' ? String(value) : hexByte(value),
          })),
        },
      ],
    },
    {
      id: 'devices/plic', label: 'PLIC', icon: 'symbol-event',
      description: `${plic.sources.filter((source) => source.pending).length} pending`,
      children: [
        {
          id: 'devices/plic/sources', label: 'Sources', expanded: true,
          children: plic.sources.map((source) => ({
            id: `devices/plic/source/${source.irq}`,
            label: `irq ${source.irq}${source.device !== undefined ? ` ${source.device}` : ''}`,
            description: [
              source.pending ? 'pending' : undefined, source.claimed ? 'claimed' : undefined,
              source.enabledIn.length > 0 ? `enabled in ${source.enabledIn.join(', ')}` : 'not enabled',
              `priority ${source.priority}`, `${formatCount(source.claims)} claims`,
            ].filter((part) => part !== undefined).join(' · '),
            icon: source.pending ? 'bell-dot' : 'bell',
          })),
        },
        {
          id: 'devices/plic/contexts', label: 'Contexts',
          children: plic.contexts.map((context) => ({
            id: `devices/plic/context/${context.context}`,
            label: `context ${context.context} (hart ${context.hartId} ${context.mode})`,
            description: `threshold ${context.threshold} · enabled [${context.enabled.join(', ')}]${context.asserted ? ' · asserted' : ''}${context.claimable !== 0 ? ` · claim → ${context.claimable}` : ''}`,
          })),
        },
      ],
    },
    {
      id: 'devices/clint', label: 'CLINT', icon: 'watch', description: `mtime ${formatCount(state.clint.mtime)}`,
      children: state.clint.harts.map((hart) => ({
        id: `devices/clint/hart/${hart.hartId}`, label: `hart ${hart.hartId}`,
        description: `mtimecmp ${hart.mtimecmp}${hart.timerPending ? ' · timer pending' : ''}${hart.msip ? ' · msip' : ''}${hart.ticksUntilTimer !== undefined ? ` · due in ${formatCount(hart.ticksUntilTimer)} ticks` : ''}`,
      })),
    },
  ];
  for (const slot of state.virtio) {
    const prefix = `devices/virtio/${slot.slot}`;
    const driverOk = slot.status.includes('DRIVER_OK');
    nodes.push({
      id: prefix, label: `${slot.type} (slot ${slot.slot})`, icon: slot.type === 'virtio-net' ? 'globe' : slot.type === 'virtio-blk' ? 'database' : 'plug',
      description: [slot.backend, driverOk ? 'driver ready' : slot.status.length === 0 ? 'not probed' : slot.status.join(' '),
        slot.linkUp === undefined ? undefined : slot.linkUp ? 'link up' : 'link down'].filter((part) => part !== undefined).join(' · '),
      children: [
        { id: `${prefix}/base`, label: 'MMIO', description: `0x${slot.base.toString(16)} · irq ${slot.irq} · virtio ${slot.transportVersion === 1 ? 'legacy' : '1.0'}` },
        { id: `${prefix}/status`, label: 'Status', description: slot.status.join(' ') || '0' },
        { id: `${prefix}/features`, label: 'Negotiated features', description: slot.negotiatedFeatures },
        ...(slot.mac !== undefined ? [{ id: `${prefix}/mac`, label: 'MAC', description: slot.mac }] : []),
        ...(slot.needsResetReason !== null ? [{ id: `${prefix}/reset`, label: 'Needs reset', description: slot.needsResetReason, icon: 'warning' }] : []),
        {
          id: `${prefix}/queues`, label: 'Queues', description: String(slot.queues.length),
          children: slot.queues.map((queue) => ({
            id: `${prefix}/queue/${queue.index}`, label: `queue ${queue.index}`,
            description: `${queue.ready ? 'ready' : 'not ready'} · size ${queue.size} · taken ${formatCount(queue.availConsumed)} · used ${formatCount(queue.used)}`,
            tooltip: `descriptor table ${queue.descriptorTable}`,
          })),
        },
        { id: `${prefix}/counters`, label: 'Counters', expanded: true, children: counterNodes(`${prefix}/counters`, slot.counters) },
      ],
    });
  }
  return nodes;
}

// ---- Page tables --------------------------------------------------------------------------------

/** A value as it arrives over DAP: bigints are hex strings. */
export type Stringified<T> = T extends bigint ? string
  : T extends ReadonlyArray<infer E> ? ReadonlyArray<Stringified<E>>
    : T extends object ? { readonly [K in keyof T]: Stringified<T[K]> } : T;

export type PageTablesAnswer =
  | ({ kind: 'addressSpace'; hartId: number; privilege: string } & AddressSpaceWalk)
  | ({ kind: 'address'; hartId: number; privilege: string } & Stringified<Translation>);

const FLAG_NAMES = ['V', 'R', 'W', 'X', 'U', 'G', 'A', 'D'] as const;

export function rangeLabel(range: Pick<MappedRange, 'virtualStart' | 'virtualEnd'>): string {
  return `${range.virtualStart}–${range.virtualEnd}`;
}

export function pageTablesTree(answer: PageTablesAnswer, moreCommand = 'ringside.pageTables.more'): TreeNode[] {
  if (answer.kind === 'addressSpace') {
    const header: TreeNode = {
      id: 'pages/header', label: answer.mode === 'bare' || answer.mode === 'unknown' ? 'No translation' : `${answer.mode.toUpperCase()} address space`,
      description: `satp ${answer.satp}${answer.mode === 'bare' ? '' : ` · ASID ${answer.asid} · root ${answer.rootTable}`} · hart ${answer.hartId} in ${answer.privilege}-mode`,
      tooltip: answer.note, icon: 'symbol-namespace',
    };
    if (answer.note !== undefined) return [header, { id: 'pages/note', label: answer.note, icon: 'info' }];
    const summary: TreeNode = {
      id: 'pages/summary', label: `${answer.ranges.length} ranges`,
      description: `${formatBytes(answer.mappedBytes)} mapped · ${formatCount(answer.leafEntries)} leaf entries · ${answer.tablesVisited} tables${answer.malformedEntries > 0 ? ` · ${answer.malformedEntries} malformed` : ''}`,
      icon: 'list-flat',
    };
    const ranges = answer.ranges.map((range): TreeNode => ({
      id: `pages/range/${range.virtualStart}`,
      label: rangeLabel(range),
      description: `${range.flags} · ${formatBytes(range.size)} → ${range.physicalStart}`,
      tooltip: `${range.pages} ${range.pages === 1 ? 'page' : 'pages'} of ${range.pageSizes.map(formatBytes).join(', ')}; ${range.U ? 'user' : 'supervisor'} ${permissionWords(range)}`,
      icon: range.U ? 'person' : 'shield',
      contextValue: 'ringside.range',
      children: [
        { id: `pages/range/${range.virtualStart}/physical`, label: 'Physical', description: range.physicalStart },
        { id: `pages/range/${range.virtualStart}/pages`, label: 'Leaf entries', description: `${range.pages} × ${range.pageSizes.map(formatBytes).join(', ')}` },
        ...FLAG_NAMES.slice(1).map((flag, index) => ({
          id: `pages/range/${range.virtualStart}/${flag}`, label: flag, description: range.flags[index] === '-' ? '0' : '1',
        })),
      ],
      command: { command: 'ringside.pageTables.lookUp', title: 'Walk this address', arguments: [range.virtualStart] },
    }));
    const more: TreeNode[] = answer.truncated && answer.resumeAddress !== undefined ? [{
      id: `pages/more/${answer.resumeAddress}`, label: 'More…', description: `from ${answer.resumeAddress}`, icon: 'ellipsis',
      command: { command: moreCommand, title: 'List more ranges', arguments: [answer.resumeAddress] },
    }] : [];
    return [header, summary, ...ranges, ...more];
  }
  // The answer first: below it come three levels of eleven rows each, the outcome last.
  const result = answer.fault !== undefined ? 'faults' : `→ ${answer.physicalAddress ?? '?'}`;
  const header: TreeNode = {
    id: 'pages/address', label: answer.virtualAddress, icon: 'search',
    description: `${result} · ${answer.mode}${answer.mode === 'bare' ? '' : ` · satp ${answer.satp}`}${answer.hartTranslates ? '' : ' · the hart does not translate now'}`,
    tooltip: answer.fault !== undefined ? `${answer.virtualAddress}: ${answer.fault}` : undefined,
  };
  const levels = answer.levels.map((level): TreeNode => ({
    id: `pages/level/${level.level}`,
    label: `Level ${level.level}`,
    description: `[${level.index}] PTE ${level.pte} · ${FLAG_NAMES.filter((flag) => level.flags[flag]).join('') || 'invalid'}${level.leaf ? ' · leaf' : level.flags.V ? ' → table' : ''}`,
    tooltip: `table ${level.tableAddress}, entry at ${level.pteAddress}, PPN ${level.ppn}`,
    icon: level.leaf ? 'file' : level.flags.V ? 'folder' : 'circle-slash',
    expanded: true,
    children: [
      { id: `pages/level/${level.level}/table`, label: 'Table', description: level.tableAddress },
      { id: `pages/level/${level.level}/entry`, label: 'Entry address', description: level.pteAddress },
      { id: `pages/level/${level.level}/ppn`, label: 'PPN', description: level.ppn },
      ...FLAG_NAMES.map((flag) => ({ id: `pages/level/${level.level}/${flag}`, label: flag, description: level.flags[flag] ? '1' : '0' })),
    ],
  }));
  const outcome: TreeNode = answer.fault !== undefined
    ? { id: 'pages/fault', label: 'Fault', description: answer.fault, icon: 'error', tooltip: answer.fault }
    : {
      id: 'pages/physical', label: 'Physical', description: `${answer.physicalAddress ?? '?'}${answer.pageSize !== undefined ? ` (${formatBytes(answer.pageSize)} page)` : ''}`,
      icon: 'arrow-right',
    };
  return [header, ...levels, outcome];
}

function permissionWords(range: Pick<MappedRange, 'R' | 'W' | 'X'>): string {
  const words = [range.R ? 'read' : undefined, range.W ? 'write' : undefined, range.X ? 'execute' : undefined].filter((word) => word !== undefined);
  return words.length === 0 ? 'no access' : words.join('/');
}

// ---- the address-space map ------------------------------------------------------------------------

/** Colour of a range: hue by owner (U blue, S orange), shade by permissions. */
export function rangeColour(range: Pick<MappedRange, 'R' | 'W' | 'X' | 'U'>): string {
  const kind = range.X ? (range.W ? 'wx' : 'x') : range.W ? 'w' : 'r';
  const user: Record<string, string> = { x: '#3b7dd8', wx: '#7a3bd8', w: '#2fa37a', r: '#8fb8e8' };
  const supervisor: Record<string, string> = { x: '#d8703b', wx: '#d83b3b', w: '#c9a227', r: '#e8c08f' };
  return (range.U ? user : supervisor)[kind];
}

export const MAP_LEGEND: ReadonlyArray<{ label: string; colour: string }> = [
  { label: 'U r-x', colour: rangeColour({ U: true, R: true, W: false, X: true }) },
  { label: 'U rw-', colour: rangeColour({ U: true, R: true, W: true, X: false }) },
  { label: 'U r--', colour: rangeColour({ U: true, R: true, W: false, X: false }) },
  { label: 'U rwx', colour: rangeColour({ U: true, R: true, W: true, X: true }) },
  { label: 'S r-x', colour: rangeColour({ U: false, R: true, W: false, X: true }) },
  { label: 'S rw-', colour: rangeColour({ U: false, R: true, W: true, X: false }) },
  { label: 'S r--', colour: rangeColour({ U: false, R: true, W: false, X: false }) },
  { label: 'S rwx', colour: rangeColour({ U: false, R: true, W: true, X: true }) },
];

export interface MapBand {
  readonly range: MappedRange;
  readonly y: number;
  readonly height: number;
  readonly colour: string;
  /** The empty stretch before this range (bytes), drawn as a break in the axis. */
  readonly gapBefore: number;
  readonly containsPc: boolean;
}

export interface MapLayout {
  readonly bands: readonly MapBand[];
  readonly height: number;
}

const GAP_HEIGHT = 14;
const MIN_BAND = 16;

/**
 * Stacks the ranges top to bottom in address order. An address space is mostly holes, so the
 * axis is broken: each range is as tall as log2 of its size (a 4 KiB page still readable, a
 * 1 GiB gigapage taller but not a million times), each hole a fixed break.
 */
export function layoutAddressMap(ranges: readonly MappedRange[], pc?: string): MapLayout {
  const sorted = [...ranges].sort((a, b) => (BigInt(a.virtualStart) < BigInt(b.virtualStart) ? -1 : 1));
  const bands: MapBand[] = [];
  let y = 0;
  let previousEnd: bigint | undefined;
  const pcValue = pc !== undefined ? BigInt(pc) : undefined;
  for (const range of sorted) {
    const start = BigInt(range.virtualStart);
    const gapBefore = previousEnd === undefined ? 0 : Number(start - previousEnd);
    if (gapBefore > 0) y += GAP_HEIGHT;
    const height = MIN_BAND + Math.max(0, Math.log2(Math.max(range.size, 4096)) - 12) * 3;
    const end = start + BigInt(range.size);
    bands.push({
      range, y, height, colour: rangeColour(range), gapBefore,
      containsPc: pcValue !== undefined && pcValue >= start && pcValue < end,
    });
    y += height;
    previousEnd = end;
  }
  return { bands, height: y };
}

const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** The map as SVG: one clickable band per range (data-address), labels, a legend. */
export function renderAddressMapSvg(map: Pick<AddressSpaceMapBody, 'ranges' | 'pc' | 'mode' | 'satp'>, width = 300): string {
  const layout = layoutAddressMap(map.ranges, map.pc);
  // The legend in rows of four, so the picture fits a side bar.
  const legendPerRow = 4;
  const legendHeight = Math.ceil(MAP_LEGEND.length / legendPerRow) * 16;
  const top = legendHeight + 12;
  const barX = 128, barWidth = 24;
  const parts: string[] = [];
  const total = top + layout.height + 4;
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${total}" viewBox="0 0 ${width} ${total}" role="img" aria-label="address space map, ${escapeXml(map.mode)}, satp ${escapeXml(map.satp)}">`);
  MAP_LEGEND.forEach((entry, index) => {
    const x = 4 + (index % legendPerRow) * 72;
    const y = 4 + Math.floor(index / legendPerRow) * 16;
    parts.push(`<rect x="${x}" y="${y}" width="12" height="12" fill="${entry.colour}"/><text x="${x + 15}" y="${y + 10}" class="legend">${escapeXml(entry.label)}</text>`);
  });
  for (const band of layout.bands) {
    const y = top + band.y;
    if (band.gapBefore > 0) {
      parts.push(`<text x="${barX + barWidth / 2}" y="${y - 3}" class="gap" text-anchor="middle">⋮ ${escapeXml(formatBytes(band.gapBefore))} unmapped</text>`);
    }
    const range = band.range;
    const title = `${rangeLabel(range)} ${range.flags} ${formatBytes(range.size)} → ${range.physicalStart}`;
    parts.push(
      `<g class="range" data-address="${escapeXml(range.virtualStart)}" data-size="${range.size}" tabindex="0">` +
      `<title>${escapeXml(title)}</title>` +
      `<text x="${barX - 6}" y="${y + 11}" class="address" text-anchor="end">${escapeXml(range.virtualStart)}</text>` +
      `<rect x="${barX}" y="${y}" width="${barWidth}" height="${band.height - 2}" fill="${band.colour}"${band.containsPc ? ' stroke="currentColor" stroke-width="2"' : ''}/>` +
      `<text x="${barX + barWidth + 6}" y="${y + 11}" class="label">${escapeXml(`${range.flags} ${formatBytes(range.size)}${band.containsPc ? ' ◀ pc' : ''}`)}</text>` +
      '</g>',
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

// ---- the trap timeline ------------------------------------------------------------------------

export interface TimelineSeries {
  /** "ecall from U-mode", "supervisor timer interrupt", "sret". */
  readonly cause: string;
  readonly kind: TrapHistoryEntry['kind'];
  readonly counts: readonly number[];
  readonly total: number;
}

export interface TimelineBins {
  readonly start: number;
  readonly end: number;
  readonly binWidth: number;
  readonly series: readonly TimelineSeries[];
  /** The highest number of transitions in one bin (all causes together). */
  readonly peak: number;
}

/**
 * Counts transitions per cause in `binCount` equal slices of virtual time from the first to
 * the last entry (or the given window). Returns are left out unless asked for. Series come
 * most frequent first.
 */
export function binTimeline(
  traps: readonly TrapHistoryEntry[], binCount: number, options: { start?: number; end?: number; includeReturns?: boolean } = {},
): TimelineBins {
  if (!Number.isInteger(binCount) || binCount < 1) throw new Error(`binCount must be a positive integer, got ${binCount}`);
  const kept = traps.filter((entry) => options.includeReturns === true || entry.kind === 'exception' || entry.kind === 'interrupt');
  const start = options.start ?? (kept.length > 0 ? Math.min(...kept.map((entry) => entry.virtualNanoseconds)) : 0);
  const lastTime = options.end ?? (kept.length > 0 ? Math.max(...kept.map((entry) => entry.virtualNanoseconds)) : start);
  // The end is inclusive: the last entry falls in the last bin, never past it.
  const span = Math.max(1, lastTime - start);
  const binWidth = span / binCount;
  const byCause = new Map<string, { kind: TrapHistoryEntry['kind']; counts: number[] }>();
  for (const entry of kept) {
    if (entry.virtualNanoseconds < start || entry.virtualNanoseconds > lastTime) continue;
    const bin = Math.min(binCount - 1, Math.floor((entry.virtualNanoseconds - start) / binWidth));
    let series = byCause.get(entry.causeName);
    if (series === undefined) {
      series = { kind: entry.kind, counts: new Array<number>(binCount).fill(0) };
      byCause.set(entry.causeName, series);
    }
    series.counts[bin]++;
  }
  const series = [...byCause.entries()]
    .map(([cause, { kind, counts }]) => ({ cause, kind, counts, total: counts.reduce((sum, count) => sum + count, 0) }))
    .sort((a, b) => b.total - a.total || a.cause.localeCompare(b.cause));
  let peak = 0;
  for (let bin = 0; bin < binCount; bin++) peak = Math.max(peak, series.reduce((sum, one) => sum + one.counts[bin], 0));
  return { start, end: start + span, binWidth, series, peak };
}

const SERIES_COLOURS = ['#3b7dd8', '#d8703b', '#2fa37a', '#c9a227', '#7a3bd8', '#d83b3b', '#3bb8d8', '#8a8a8a'];

/** Stacked bars: one column per bin, one colour per cause, a legend with totals. */
export function renderTimelineSvg(bins: TimelineBins, width = 300, height = 140): string {
  const legendRows = bins.series.length;
  const chartTop = 8, chartBottom = height - 22;
  const total = height + legendRows * 16 + 6;
  const binCount = bins.series[0]?.counts.length ?? 0;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${total}" viewBox="0 0 ${width} ${total}" role="img" aria-label="traps by cause over virtual time">`];
  parts.push(`<line x1="30" y1="${chartBottom}" x2="${width - 4}" y2="${chartBottom}" class="axis"/>`);
  parts.push(`<text x="30" y="${height - 6}" class="tick">${escapeXml(formatNanoseconds(bins.start))}</text>`);
  parts.push(`<text x="${width - 4}" y="${height - 6}" class="tick" text-anchor="end">${escapeXml(formatNanoseconds(bins.end))}</text>`);
  parts.push(`<text x="26" y="${chartTop + 8}" class="tick" text-anchor="end">${bins.peak}</text>`);
  if (binCount > 0 && bins.peak > 0) {
    const columnWidth = (width - 34) / binCount;
    const scale = (chartBottom - chartTop) / bins.peak;
    for (let bin = 0; bin < binCount; bin++) {
      let y = chartBottom;
      bins.series.forEach((series, index) => {
        const count = series.counts[bin];
        if (count === 0) return;
        const barHeight = count * scale;
        y -= barHeight;
        const from = bins.start + bin * bins.binWidth;
        parts.push(`<rect x="${(30 + bin * columnWidth).toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(1, columnWidth - 1).toFixed(2)}" height="${barHeight.toFixed(2)}" fill="${SERIES_COLOURS[index % SERIES_COLOURS.length]}" data-cause="${escapeXml(series.cause)}" data-count="${count}"><title>${escapeXml(`${series.cause}: ${count} at ${formatNanoseconds(from)}–${formatNanoseconds(from + bins.binWidth)}`)}</title></rect>`);
      });
    }
  }
  bins.series.forEach((series, index) => {
    const y = height + 4 + index * 16;
    parts.push(`<rect x="4" y="${y}" width="12" height="12" fill="${SERIES_COLOURS[index % SERIES_COLOURS.length]}"/><text x="22" y="${y + 10}" class="legend">${escapeXml(`${series.cause} (${series.kind}) — ${series.total}`)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

// ---- status bar --------------------------------------------------------------------------------

export interface StatusText {
  readonly text: string;
  readonly tooltip: string;
}

/** The Machine view's row saying how far back Step Back and Reverse Continue reach. */
function historyNode(history: HistorySummary): TreeNode {
  if (!history.enabled) return { id: 'machine/history', label: 'History', description: 'off', tooltip: history.reason, icon: 'history' };
  return {
    id: 'machine/history', label: 'History', icon: 'history',
    description: `${formatSeconds(history.secondsBack)} back · ${formatCount(history.stepsBack)} steps`,
    tooltip: `Reverse debugging reaches ${formatCount(history.stepsBack)} instructions and traps back (about ${formatSeconds(history.secondsBack)} of guest time) ` +
      `in ${history.checkpoints} checkpoint${history.checkpoints === 1 ? '' : 's'}, ${formatBytes(history.bytes)} of its ${formatBytes(history.budgetBytes)} budget (launch attribute historyMiB).`,
  };
}

function formatSeconds(seconds: number): string {
  return seconds >= 1 ? `${seconds.toFixed(1)} s` : seconds >= 0.001 ? `${(seconds * 1000).toFixed(1)} ms` : `${(seconds * 1e6).toFixed(0)} µs`;
}

export function statusBarText(state: MachineStateBody | undefined, selectedThreadId = state?.focusThreadId): StatusText {
  if (state === undefined) return { text: '$(circle-slash) Ringside: no session', tooltip: 'No Ringside debug session is active' };
  const hart = state.harts.find((candidate) => candidate.threadId === selectedThreadId) ?? state.harts[0];
  const icon = state.runState === 'running' ? '$(debug-start)' : state.runState === 'stopped' ? '$(debug-pause)' : '$(debug-stop)';
  const privilege = hart !== undefined ? ` · ${state.harts.length > 1 ? `hart ${hart.hartId} ` : ''}${hart.privilege}-mode` : '';
  const history = state.history?.enabled === true && state.runState === 'stopped' ? ` · $(history) ${formatSeconds(state.history.secondsBack)}` : '';
  return {
    text: `${icon} Ringside: ${state.runState}${privilege}${history}`,
    tooltip: `${runStateText(state)}${hart !== undefined ? `; hart ${hart.hartId} in ${PRIVILEGE_NAMES[hart.privilege] ?? hart.privilege} at ${hart.pc}` : ''}. Click for the Machine view.`,
  };
}

// ---- hex dump -----------------------------------------------------------------------------------

/** Classic 16-bytes-a-line dump; `undefined` bytes (unreadable) print as `??`. */
export function hexDump(address: bigint, bytes: ArrayLike<number | undefined>): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row: string[] = [];
    let text = '';
    for (let index = offset; index < Math.min(offset + 16, bytes.length); index++) {
      const byte = bytes[index];
      row.push(byte === undefined ? '??' : byte.toString(16).padStart(2, '0'));
      text += byte === undefined ? ' ' : byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
    }
    const hexPart = row.join(' ').padEnd(16 * 3 - 1);
    lines.push(`${(address + BigInt(offset)).toString(16).padStart(16, '0')}  ${hexPart}  |${text}|`);
  }
  return lines.join('\n');
}
