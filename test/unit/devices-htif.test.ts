import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Htif, findHtifSymbols } from '../../vmm-core/devices/htif';
import { GuestRam } from '../../vmm-core/memory/ram';
import { parseElf } from '../../vmm-core/machine/elf';

const TOHOST = 0x8000_1000;
const FROMHOST = 0x8000_1040;

function setup(withFromhost = true) {
  const ram = new GuestRam(0x8000_0000, 64 * 1024);
  const output: number[] = [];
  const exits: number[] = [];
  const htif = new Htif({
    ram,
    tohost: TOHOST,
    fromhost: withFromhost ? FROMHOST : undefined,
    onExit: (code) => exits.push(code),
    onConsoleOutput: (byte) => output.push(byte),
  });
  const word = (address: number, value?: number): number => {
    if (value !== undefined) ram.writeUnaligned(address - ram.base, 4, value);
    return ram.readUnaligned(address - ram.base, 4);
  };
  const write64 = (address: number, value: bigint) => {
    word(address, Number(value & 0xffff_ffffn));
    word(address + 4, Number(value >> 32n));
  };
  const read64 = (address: number): bigint => (BigInt(word(address + 4)) << 32n) | BigInt(word(address));
  return { ram, htif, output, exits, word, write64, read64 };
}

test('putchar (device 1, command 1) prints the low byte, clears tohost and answers in fromhost', () => {
  const { htif, output, read64, write64 } = setup();
  write64(TOHOST, 0x0101_0000_0000_0041n);
  assert.equal(htif.poll(), true);
  assert.deepEqual(output, [0x41]);
  assert.equal(read64(TOHOST), 0n);
  assert.equal(read64(FROMHOST), 0x0101_0000_0000_0141n);
  assert.equal(htif.poll(), false, 'handled once');
  assert.deepEqual(output, [0x41]);
});

test('replies queue while the guest has not consumed fromhost', () => {
  const { htif, output, read64, write64 } = setup();
  write64(TOHOST, 0x0101_0000_0000_0061n);
  htif.poll();
  write64(TOHOST, 0x0101_0000_0000_0062n);
  htif.poll();
  assert.deepEqual(output, [0x61, 0x62]);
  assert.equal(read64(FROMHOST), 0x0101_0000_0000_0161n);
  write64(FROMHOST, 0n);
  htif.poll();
  assert.equal(read64(FROMHOST), 0x0101_0000_0000_0162n);
});

test('exit (device 0, payload bit 0) reports payload >> 1 once the value is stable', () => {
  const { htif, exits, word } = setup();
  word(TOHOST, (5 << 1) | 1);
  assert.equal(htif.poll(), false, 'a lone low word may be half of a split store');
  assert.deepEqual(exits, []);
  assert.equal(htif.poll(), true);
  assert.deepEqual(exits, [5]);
  assert.equal(htif.exitCode, 5);
  word(TOHOST, 1);
  assert.equal(htif.poll(), false, 'nothing more after an exit');
  htif.reset();
  assert.equal(htif.exitCode, undefined);
});

test('a putchar written as two 32-bit stores (low first) is not mistaken for an exit', () => {
  const { htif, exits, output, word } = setup();
  word(TOHOST, 0x43); // odd: would be "exit 33" if acted on
  assert.equal(htif.poll(), false);
  word(TOHOST + 4, 0x0101_0000);
  assert.equal(htif.poll(), true);
  assert.deepEqual(exits, []);
  assert.deepEqual(output, [0x43]);
});

test('syscall proxy: SYS_write to stdout prints the buffer and returns the length', () => {
  const { htif, output, ram, write64, read64 } = setup();
  const magic = 0x8000_2000;
  const buffer = 0x8000_3000;
  ram.load(buffer, Buffer.from('pk!'));
  write64(magic, 64n);
  write64(magic + 8, 1n);
  write64(magic + 16, BigInt(buffer));
  write64(magic + 24, 3n);
  write64(TOHOST, BigInt(magic));
  htif.poll();
  htif.poll();
  assert.equal(Buffer.from(output).toString(), 'pk!');
  assert.equal(read64(magic), 3n);
  assert.equal(read64(FROMHOST), 1n);
  // An unknown syscall answers -ENOSYS.
  write64(FROMHOST, 0n);
  write64(magic, 1234n);
  write64(TOHOST, BigInt(magic));
  htif.poll();
  htif.poll();
  assert.equal(read64(magic), BigInt.asUintN(64, -38n));
});

test('without fromhost, commands still work', () => {
  const { htif, output, write64, read64 } = setup(false);
  write64(TOHOST, 0x0101_0000_0000_000an);
  htif.poll();
  assert.deepEqual(output, [0x0a]);
  assert.equal(read64(FROMHOST), 0n);
});

test('unknown devices are consumed silently; bad syscall pointers do not throw', () => {
  const { htif, output, exits, write64, read64 } = setup();
  write64(TOHOST, 0x0200_0000_0000_0001n);
  assert.equal(htif.poll(), true);
  assert.equal(read64(TOHOST), 0n);
  write64(TOHOST, 0x0000_ffff_ffff_fff0n);
  assert.doesNotThrow(() => htif.poll());
  assert.doesNotThrow(() => htif.poll());
  assert.deepEqual(output, []);
  assert.deepEqual(exits, []);
});

test('constructor rejects addresses outside RAM or misaligned', () => {
  const ram = new GuestRam(0x8000_0000, 4096);
  const callbacks = { onExit: () => {}, onConsoleOutput: () => {} };
  assert.throws(() => new Htif({ ram, tohost: 0x1000, ...callbacks }), /tohost/);
  assert.throws(() => new Htif({ ram, tohost: 0x8000_0004, ...callbacks }), /tohost/);
  assert.throws(() => new Htif({ ram, tohost: 0x8000_0000, fromhost: 0x9000_0000, ...callbacks }), /fromhost/);
});

test('findHtifSymbols reads tohost/fromhost from the fixture ELF', () => {
  const image = parseElf(readFileSync(join(__dirname, '../fixtures/elf/htif-hello.elf')), 'htif-hello.elf');
  assert.deepEqual(findHtifSymbols(image), { tohost: TOHOST, fromhost: FROMHOST });
  assert.equal(findHtifSymbols({ findSymbol: () => undefined }), undefined);
});
