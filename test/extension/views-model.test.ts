// The views' model without VS Code: trees built from the adapter's real answers on the demo
// kernel, the address-space map's layout and SVG, timeline binning, the webview page's CSP,
// the status-bar text and the hex dump.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeviceState } from '../../debug-adapter/state/devices';
import type { AddressSpaceMapBody, MachineStateBody, MappedRange, TrapHistoryBody, TrapHistoryEntry } from '../../debug-adapter/view-requests';
import { contentSecurityPolicy, webviewPage } from '../../extension/views/html';
import {
  binTimeline, devicesTree, formatBytes, formatNanoseconds, hexDump, layoutAddressMap, machineTree, pageTablesTree, rangeColour,
  renderAddressMapSvg, renderTimelineSvg, statusBarText, type PageTablesAnswer, type TreeNode,
} from '../../extension/views/model';
import { guestPath, openSession } from '../dap/support';

function find(nodes: readonly TreeNode[], label: string | RegExp): TreeNode {
  const stack = [...nodes];
  while (stack.length > 0) {
    const node = stack.shift()!;
    if (typeof label === 'string' ? node.label === label : label.test(node.label)) return node;
    stack.push(...(node.children ?? []));
  }
  assert.fail(`no node labelled ${String(label)}`);
}

function entry(time: number, causeName: string, kind: TrapHistoryEntry['kind'] = 'exception'): TrapHistoryEntry {
  return { sequence: 0, hartId: 0, kind, cause: 8, causeName, from: 'U', to: 'S', pc: '0x0', tval: '0x0', virtualNanoseconds: time, instructionsRetired: time };
}

function range(start: number, size: number, flags: string): MappedRange {
  return {
    virtualStart: `0x${start.toString(16)}`, virtualEnd: `0x${(start + size).toString(16)}`, physicalStart: `0x${start.toString(16)}`,
    size, pages: size / 4096, pageSizes: [4096], flags,
    R: flags[0] === 'r', W: flags[1] === 'w', X: flags[2] === 'x', U: flags[3] === 'u', G: flags[4] === 'g',
  };
}

test('formatting: bytes in binary units, virtual time in the unit that reads best', () => {
  assert.deepEqual([formatBytes(4096), formatBytes(102400), formatBytes(2 << 20), formatBytes(1 << 30), formatBytes(1536), formatBytes(12)],
    ['4 KiB', '100 KiB', '2 MiB', '1 GiB', '1.5 KiB', '12 B']);
  assert.deepEqual([formatNanoseconds(512), formatNanoseconds(559103), formatNanoseconds(1329957508)], ['512 ns', '559.103 µs', '1.329958 s']);
});

test('binTimeline: equal slices from the first to the last trap, by cause, returns left out unless asked', () => {
  const traps = [
    entry(100, 'ecall from U-mode'), entry(150, 'ecall from U-mode'), entry(300, 'supervisor timer interrupt', 'interrupt'),
    entry(500, 'ecall from U-mode'), entry(1100, 'page fault on store'), entry(1100, 'sret', 'sret'),
  ];
  const bins = binTimeline(traps, 4);
  assert.equal(bins.start, 100);
  assert.equal(bins.binWidth, 250);
  assert.deepEqual(bins.series.map((series) => [series.cause, series.counts, series.total]), [
    ['ecall from U-mode', [2, 1, 0, 0], 3],
    ['page fault on store', [0, 0, 0, 1], 1],
    ['supervisor timer interrupt', [1, 0, 0, 0], 1],
  ]);
  assert.equal(bins.peak, 3);
  const withReturns = binTimeline(traps, 4, { includeReturns: true });
  assert.deepEqual(withReturns.series.find((series) => series.cause === 'sret')?.counts, [0, 0, 0, 1]);
  // A window leaves out what falls outside it.
  assert.equal(binTimeline(traps, 2, { start: 0, end: 200 }).series.reduce((sum, series) => sum + series.total, 0), 2);
  assert.deepEqual(binTimeline([], 3).series, []);
  assert.throws(() => binTimeline(traps, 0), /binCount must be a positive integer, got 0/);
  const svg = renderTimelineSvg(bins);
  assert.equal((svg.match(/<rect [^>]*data-cause=/g) ?? []).length, 4);
  assert.match(svg, /ecall from U-mode \(exception\) — 3/);
});

test('the address-space map: address order, a break for each hole, the pc marked, U and S coloured apart', () => {
  const ranges = [range(0x80019000, 0x1000, 'r-xu-a-'), range(0x10000000, 0x1000, 'rw--gad'), range(0x80000000, 0x19000, 'rwx-g--')];
  const layout = layoutAddressMap(ranges, '0x80019010');
  assert.deepEqual(layout.bands.map((band) => band.range.virtualStart), ['0x10000000', '0x80000000', '0x80019000']);
  assert.deepEqual(layout.bands.map((band) => band.gapBefore), [0, 0x80000000 - 0x10001000, 0]);
  assert.deepEqual(layout.bands.map((band) => band.containsPc), [false, false, true]);
  assert.ok(layout.bands[1].height > layout.bands[0].height, 'a larger range is drawn taller');
  assert.ok(layout.bands[1].y > layout.bands[0].y + layout.bands[0].height, 'a hole leaves a break');
  assert.notEqual(rangeColour(ranges[0]), rangeColour({ ...ranges[0], U: false }));
  const svg = renderAddressMapSvg({ ranges, pc: '0x80019010', mode: 'sv39', satp: '0x8000000000080001' });
  assert.deepEqual([...svg.matchAll(/data-address="([^"]+)"/g)].map((match) => match[1]), ['0x10000000', '0x80000000', '0x80019000']);
  assert.equal((svg.match(/◀ pc/g) ?? []).length, 1);
  assert.match(svg, /⋮ 1.75 GiB unmapped/);
  assert.doesNotMatch(svg, /<script|on[a-z]+=/i);
});

test('the webview page: nothing from the network, only its own nonce runs', () => {
  const nonce = 'a1b2c3d4e5f6a7b8c9d0';
  const page = webviewPage({ nonce, cspSource: 'https://file+.vscode-resource.vscode-cdn.net', title: 'Map <1>', parts: [{ id: 'map', heading: 'Address <space>' }, { id: 'timeline', heading: 'Traps' }] });
  const policy = contentSecurityPolicy({ nonce, cspSource: 'https://file+.vscode-resource.vscode-cdn.net' });
  assert.match(policy, /^default-src 'none'; /);
  assert.match(policy, new RegExp(`script-src 'nonce-${nonce}'$`));
  assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval|\*/);
  assert.equal((page.match(/<script/g) ?? []).length, 1);
  assert.match(page, new RegExp(`<script nonce="${nonce}">`));
  assert.doesNotMatch(page, /<script[^>]* src=|<link /);
  assert.match(page, /<title>Map &#60;1&#62;<\/title>/);
  assert.match(page, /<section id="map"><h3>Address &#60;space&#62;<\/h3>/);
  assert.match(page, /<section id="timeline"><h3>Traps<\/h3>/);
  assert.throws(() => webviewPage({ nonce: 'short', cspSource: 'x', title: 't', parts: [] }), /nonce must be at least 16/);
  assert.throws(() => webviewPage({ nonce, cspSource: 'x', title: 't', parts: [{ id: '"><script>', heading: 'x' }] }), /picture id/);
});

test('status bar text and the hex dump', () => {
  assert.equal(statusBarText(undefined).text, '$(circle-slash) Ringside: no session');
  const dump = hexDump(0x80000000n, [0x48, 0x69, 0x00, ...new Array<number>(14).fill(0x41), undefined]);
  assert.equal(dump.split('\n')[0], '0000000080000000  48 69 00 41 41 41 41 41 41 41 41 41 41 41 41 41  |Hi.AAAAAAAAAAAAA|');
  assert.equal(dump.split('\n')[1], `0000000080000010  41 ??${' '.repeat(42)}  |A |`);
});

test('trees from the adapter\'s answers at a U → S stop on the demo kernel', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo') }, async () => {
      await session.client.setExceptionBreakpointsRequest({ filters: ['privilege:U->S'], filterOptions: [{ filterId: 'privilege:U->S', condition: 'cause == 8' }] });
    });
    await session.stopped();
    const ask = async <T>(command: string, args: Record<string, unknown> = {}) => (await session.request(command, args)).body as T;

    const state = await ask<MachineStateBody>('ringside/machineState');
    const machine = machineTree(state);
    assert.equal(find(machine, 'Run state').description, 'stopped (exception)');
    const hart = find(machine, 'hart 0 (selected)');
    assert.equal(hart.description, `S-mode · sv39 · pc ${state.harts[0].pc}`);
    assert.equal(find(hart.children ?? [], 'satp').description, `${state.harts[0].satp} (sv39, ASID 0)`);
    assert.equal(find(machine, 'ecall').description, String(state.exits.ecall));
    // History reaches back to the start: as many steps as the hart took, each 1 ns at icount shift 0.
    assert.ok(state.history?.enabled === true);
    const steps = state.harts[0].instructionsRetired + state.harts[0].trapsTaken;
    assert.equal(state.history.stepsBack, steps);
    assert.equal(statusBarText(state).text, `$(debug-pause) Ringside: stopped · S-mode · $(history) ${(steps / 1000).toFixed(0)} µs`);
    assert.match(find(machine, 'History').description ?? '', new RegExp(`^${(steps / 1000).toFixed(0)} µs back · ${steps.toLocaleString('en-US')} steps$`));

    const devices = devicesTree(await ask<DeviceState>('ringside/deviceState'));
    const uart = find(devices, 'UART 16550');
    assert.equal(find(uart.children ?? [], 'transmitted').description, Buffer.byteLength(session.output()).toLocaleString('en-US'));
    assert.match(find(devices, /^irq 10 uart0/).description ?? '', /priority \d+ · \d+ claims/);

    const space = await ask<PageTablesAnswer>('ringside/pageTables');
    assert.equal(space.kind, 'addressSpace');
    const spaceTree = pageTablesTree(space);
    assert.equal(spaceTree[0].label, 'SV39 address space');
    const rangeNodes = spaceTree.filter((node) => node.contextValue === 'ringside.range');
    assert.equal(rangeNodes.length, space.kind === 'addressSpace' ? space.ranges.length : -1);
    const userCode = rangeNodes.find((node) => node.label.startsWith('0x80019000'));
    assert.match(userCode?.description ?? '', /^r-xu-a- · 4 KiB → 0x80019000$/);
    assert.deepEqual(userCode?.command?.arguments, ['0x80019000']);

    const walk = pageTablesTree(await ask<PageTablesAnswer>('ringside/pageTables', { address: 'user_entry' }));
    assert.deepEqual(walk.map((node) => node.label).slice(1), ['Level 2', 'Level 1', 'Level 0', 'Physical']);
    assert.match(walk[3].description ?? '', /^\[25\] PTE 0x[0-9a-f]+ · VRXUA · leaf$/);
    // The walk's answer is on its first row, not only on the last of 35 (seen in code-server:
    // the physical address was below the fold of the Page Tables view).
    assert.equal(walk[0].description?.split(' · ')[0], `→ ${walk[walk.length - 1].description?.split(' ')[0]}`);
    assert.match(walk[0].description ?? '', /^→ 0x8001[0-9a-f]{4} · sv39 · satp 0x/);
    const bad = pageTablesTree(await ask<PageTablesAnswer>('ringside/pageTables', { address: '0x7000000000' }));
    assert.equal(bad[bad.length - 1].label, 'Fault');
    assert.match(bad[0].description ?? '', /^faults · sv39/);

    const map = await ask<AddressSpaceMapBody>('ringside/addressSpaceMap');
    const svg = renderAddressMapSvg(map);
    assert.equal((svg.match(/<g class="range"/g) ?? []).length, map.ranges.length);

    const history = await ask<TrapHistoryBody>('ringside/trapHistory');
    const bins = binTimeline(history.traps, 10);
    const ecalls = bins.series.find((series) => series.cause === 'ecall from U-mode');
    assert.equal(ecalls?.total, history.traps.filter((one) => one.causeName === 'ecall from U-mode').length);
    assert.equal(bins.series.reduce((sum, series) => sum + series.total, 0), state.harts[0].trapsTaken);
  } finally {
    await session.close();
  }
});

test('two harts: the status bar and the Machine view follow the hart selected in the Call Stack', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('smp'), harts: 2, stopOnEntry: true });
    await session.stopped();
    const state = (await session.request('ringside/machineState', {})).body as MachineStateBody;
    assert.deepEqual(state.harts.map((hart) => hart.threadId), [1, 2]);
    assert.match(statusBarText(state).text, /^\$\(debug-pause\) Ringside: stopped · hart 0 M-mode · \$\(history\) \d+ µs$/);
    assert.match(statusBarText(state, 2).text, /^\$\(debug-pause\) Ringside: stopped · hart 1 M-mode · \$\(history\) \d+ µs$/);
    const tree = machineTree(state, 2);
    assert.deepEqual(find(tree, 'Harts').children?.map((hart) => hart.label), ['hart 0', 'hart 1 (selected)']);
  } finally {
    await session.close();
  }
});

test('Devices view: each virtio slot with its host side, queues and counters', { timeout: 30_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: guestPath('demo'), stopOnEntry: true, netdevs: ['user,link=off'], devices: ['virtio-rng'] });
    await session.stopped();
    const state = (await session.request('ringside/deviceState', {})).body as DeviceState;
    const tree = devicesTree(state);
    for (const slot of state.virtio) {
      const node = find(tree, `${slot.type} (slot ${slot.slot})`);
      assert.equal(find(node.children ?? [], 'Queues').children?.length, slot.queues.length);
      assert.deepEqual(find(node.children ?? [], 'Counters').children?.map((child) => child.label), Object.keys(slot.counters));
    }
    const net = find(tree, /^virtio-net/);
    assert.match(net.description ?? '', /^user \(net 10\.0\.2\.0.* · not probed · link down$/);
    assert.match(find(net.children ?? [], 'MAC').description ?? '', /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.ok(find(tree, /^virtio-rng/));
  } finally {
    await session.close();
  }
});
