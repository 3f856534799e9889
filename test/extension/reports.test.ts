// What the VM commands show, from the adapter's real answers: the demo kernel is run to its first
// user task (U-mode, Sv39 on), the user stack is translated and shown level by level; exit
// statistics after that run; the terminal's newline handling and reset lines.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatExitStatistics, formatTranslation, groupHex, machineEventLine, ReportError, TerminalNewlines } from '../../extension/reports';
import { openSession } from '../dap/support';

test('translation and exit statistics of the demo kernel stopped in its first user task', { timeout: 60_000 }, async () => {
  const session = await openSession();
  try {
    await session.launch({ program: 'guests/bin/demo.elf', stopOnEntry: true });
    await session.stopped();
    // Before paging: M-mode, bare.
    const bare = formatTranslation((await session.request('ringside/translateAddress', { address: '0x80000000' })).body);
    assert.match(bare, /^# Translation of 0x8000_0000\n/);
    assert.match(bare, /- Mode: \*\*bare\*\*/);
    assert.match(bare, /\*\*Physical address: `0x8000_0000`\*\*/);
    assert.doesNotMatch(bare, /\| level \|/, 'no levels to show');

    await session.client.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'user_entry' }] });
    await session.client.continueRequest({ threadId: 1 });
    assert.equal((await session.stopped()).reason, 'function breakpoint');
    const answer = (await session.request('ringside/translateAddress', { address: 'sp', access: 'write', privilege: 'U' })).body as {
      levels: Array<{ level: number; leaf: boolean }>; physicalAddress: string; virtualAddress: string;
    };
    const page = formatTranslation(answer);
    assert.match(page, /- Mode: \*\*sv39\*\*/);
    const rows = page.split('\n').filter((line) => /^\| \d \|/.test(line));
    assert.equal(rows.length, answer.levels.length);
    assert.ok(rows.length >= 1 && rows.length <= 3);
    assert.match(rows[0], /^\| 2 \| `0x[0-9a-f_]+` \| \d+ \|/, 'the walk starts at the root (level 2)');
    const leaf = rows[rows.length - 1];
    assert.match(leaf, /\| `VRW-U-?AD` \| `0x[0-9a-f_]+` \| leaf \|$/, `the user stack is a user read/write leaf: ${leaf}`);
    assert.match(page, new RegExp(`\\*\\*Physical address: \`${groupHex(answer.physicalAddress)}\`\\*\\* in a 4 KiB page`));
    assert.doesNotMatch(page, /Fault/);

    const statistics = (await session.request('ringside/exitStatistics', {})).body as { exits: Record<string, number>; totalExits: number };
    const report = formatExitStatistics(statistics);
    assert.match(report, /^# Ringside exit statistics\n/);
    assert.match(report, new RegExp(`Exits to the monitor: \\*\\*${statistics.totalExits.toLocaleString('en-US')}\\*\\*`));
    const kindRows = report.split('\n').filter((line) => /^\| [a-z.-]+ \| [\d,]+ \|/.test(line));
    assert.equal(kindRows.length, Object.keys(statistics.exits).length);
    const counts = kindRows.map((line) => Number(line.split('|')[2].trim().replace(/,/g, '')));
    assert.deepEqual(counts, [...counts].sort((a, b) => b - a), 'most frequent first');
    assert.ok(statistics.exits.csr > 0 && report.includes(`| csr | ${statistics.exits.csr.toLocaleString('en-US')} |`));
    assert.match(report, /\| hart \| instructions \|/);
  } finally {
    await session.close();
  }
});

test('a malformed answer is one clear error, not a broken page', () => {
  assert.throws(() => formatTranslation('nonsense'), ReportError);
  assert.throws(() => formatTranslation({ mode: 'sv39', virtualAddress: '0x0' }), /no 'levels'/);
  assert.throws(() => formatExitStatistics({ totalExits: 3 }), /no 'exits'/);
});

test('hex grouping, terminal newlines across chunks, and the machine event lines', () => {
  assert.equal(groupHex('0x0000000080001000'), '0x8000_1000');
  assert.equal(groupHex('0x0'), '0x0');
  assert.equal(groupHex('0x3ffffff000'), '0x3f_ffff_f000');
  assert.equal(groupHex('sp'), 'sp');
  const newlines = new TerminalNewlines();
  assert.equal(newlines.convert('a\nb\r\nc\r'), 'a\r\nb\r\nc\r');
  assert.equal(newlines.convert('\nd'), '\nd', 'a CR at the end of the last chunk pairs with this LF');
  assert.equal(newlines.convert('\n'), '\r\n');
  assert.match(machineEventLine('reset-guest'), /^\r\n.*machine reset \(the guest asked for it\).*\r\n$/);
  assert.match(machineEventLine('exited', 3), /the guest powered off \(exit code 3\)/);
  assert.match(machineEventLine('power-off'), /machine powered off/);
});
