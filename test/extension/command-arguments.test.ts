// The arguments Ringside commands accept through `vscode.commands.executeCommand` (what
// extension-host tests and other extensions pass instead of answering a picker or input box),
// and the input box's check of an address.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addressInputProblem, CommandArgumentError, defaultCaptureFileName, normalizeAddressInput, parseCaptureArgument, parseDiskArgument,
  parseSlotArgument, parseTranslateArgument,
} from '../../extension/command-arguments';

test('attachDisk: a path, a Uri (fsPath) or { path, readOnly, format }; nothing means ask', () => {
  assert.equal(parseDiskArgument(undefined), undefined);
  assert.deepEqual(parseDiskArgument('/images/disk.img'), { path: '/images/disk.img' });
  assert.deepEqual(parseDiskArgument({ scheme: 'file', path: '/c:/x', fsPath: 'c:\\x' }), { path: 'c:\\x', readOnly: undefined, format: undefined });
  assert.deepEqual(parseDiskArgument({ path: 'd.qcow2', readOnly: true, format: 'qcow2' }), { path: 'd.qcow2', readOnly: true, format: 'qcow2' });
  assert.throws(() => parseDiskArgument(''), /path is empty/);
  assert.throws(() => parseDiskArgument({ path: 'd', format: 'vmdk' }), /format must be 'raw' or 'qcow2', got "vmdk"/);
  assert.throws(() => parseDiskArgument({ path: 'd', readOnly: 'yes' }), /readOnly must be true or false/);
  assert.throws(() => parseDiskArgument(7), CommandArgumentError);
});

test('detachDisk: a slot 0..7 as a number, a digit or { slot }', () => {
  assert.equal(parseSlotArgument(undefined), undefined);
  assert.equal(parseSlotArgument(7), 7);
  assert.equal(parseSlotArgument(' 3 '), 3);
  assert.equal(parseSlotArgument({ slot: 0 }), 0);
  assert.throws(() => parseSlotArgument(8), /slot must be a virtio-mmio slot 0\.\.7, got 8/);
  assert.throws(() => parseSlotArgument('seven'), /got "seven"/);
});

test('translateAddress: numbers, hex with underscores, expressions, or { address, satp, access, privilege }', () => {
  assert.equal(parseTranslateArgument(undefined), undefined);
  assert.deepEqual(parseTranslateArgument(0x8000_1000), { address: '0x80001000' });
  assert.deepEqual(parseTranslateArgument(0x3f_ffff_f000n), { address: '0x3ffffff000' });
  assert.deepEqual(parseTranslateArgument('0x8000_1000'), { address: '0x80001000' });
  assert.deepEqual(parseTranslateArgument(' sp '), { address: 'sp' });
  assert.deepEqual(parseTranslateArgument({ address: '&ticks', satp: '0x8000_0000_0008_0010', access: 'write', privilege: 'U' }),
    { address: '&ticks', satp: '0x8000000000080010', access: 'write', privilege: 'U' });
  assert.deepEqual(parseTranslateArgument({ address: 1, satp: 0x80010 }), { address: '0x1', satp: '0x80010', access: undefined, privilege: undefined });
  assert.throws(() => parseTranslateArgument({ address: 'sp', satp: 2 ** 63 }), /too large for a number: pass it as a hex string/);
  assert.throws(() => parseTranslateArgument('0xzz'), /'0xzz' is not a hex number/);
  assert.throws(() => parseTranslateArgument(-1), /-1 is not an address/);
  assert.throws(() => parseTranslateArgument({ address: 'sp', access: 'fetch' }), /access must be 'read', 'write' or 'execute'/);
  assert.throws(() => parseTranslateArgument({ satp: 1 }), /\{ address \} is required/);
});

test('the input box names what is wrong and takes expressions', () => {
  assert.match(addressInputProblem('   ') ?? '', /Type an address/);
  assert.match(addressInputProblem('0x12g4') ?? '', /not a hex number/);
  assert.equal(addressInputProblem('0xffff_ffc0_0000_0000'), undefined);
  assert.equal(addressInputProblem('tasks[1].satp'), undefined);
  assert.equal(normalizeAddressInput(' 0xffff_ffc0_0000_0000 '), '0xffffffc000000000');
  assert.equal(normalizeAddressInput('a_b'), 'a_b', 'underscores stay in names');
});

test('startCapture/stopCapture: a path or { path, card }; the default file name sorts by time', () => {
  assert.deepEqual(parseCaptureArgument(undefined), {});
  assert.deepEqual(parseCaptureArgument('net.pcap'), { path: 'net.pcap' });
  assert.deepEqual(parseCaptureArgument({ path: 'n.pcap', card: 1 }), { path: 'n.pcap', card: 1 });
  assert.deepEqual(parseCaptureArgument({ card: 0 }), { path: undefined, card: 0 });
  assert.throws(() => parseCaptureArgument({ card: -1 }), /card must be a card index/);
  assert.throws(() => parseCaptureArgument(''), /pcap path is empty/);
  assert.equal(defaultCaptureFileName(new Date(Date.UTC(2026, 11, 6, 19, 50, 1))), 'ringside-2026-12-06T19-50-01.pcap');
});
