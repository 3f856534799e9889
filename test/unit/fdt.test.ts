import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeviceTreeError,
  DeviceTreeNode,
  PhandleAllocator,
  parseDeviceTree,
  parseDeviceTreeBlob,
  serializeDeviceTree,
} from '../../vmm-core/machine/fdt';
import { buildVirtDeviceTree } from '../../vmm-core/machine/device-tree';

function sampleTree(): DeviceTreeNode {
  const root = new DeviceTreeNode('');
  root.setU32('#address-cells', 2).setU32('#size-cells', 2).setString('model', 'test');
  const phandles = new PhandleAllocator();
  const a = root.addChild('a@1000');
  a.setCells('reg', [0, 0x1000, 0, 0x100]).setStringList('compatible', ['x,y', 'z']).setEmpty('flag');
  const b = root.addChild('b');
  b.setU64('big', 0x1_2345_6789n).setBytes('raw', Uint8Array.of(1, 2, 3)).setU32('ref', phandles.assign(a));
  b.addChild('c').setString('model', 'nested'); // "model" again: the strings block stores it once
  return root;
}

test('serialised header: v17, last compatible 16, aligned blocks, sizes consistent', () => {
  const blob = serializeDeviceTree(sampleTree(), { bootCpuId: 1, reservations: [{ address: 0x8000_0000, size: 0x1000 }] });
  const view = new DataView(blob.buffer, blob.byteOffset);
  assert.equal(view.getUint32(0), 0xd00dfeed);
  assert.equal(view.getUint32(4), blob.length);
  const structOffset = view.getUint32(8);
  const stringsOffset = view.getUint32(12);
  const reservationOffset = view.getUint32(16);
  assert.equal(view.getUint32(20), 17);
  assert.equal(view.getUint32(24), 16);
  assert.equal(view.getUint32(28), 1);
  assert.equal(reservationOffset % 8, 0);
  assert.equal(structOffset % 4, 0);
  assert.equal(structOffset + view.getUint32(36), stringsOffset);
  assert.equal(stringsOffset + view.getUint32(32), blob.length);
  const parsed = parseDeviceTreeBlob(blob);
  assert.equal(parsed.version, 17);
  assert.equal(parsed.bootCpuId, 1);
  assert.deepEqual(parsed.reservations, [{ address: 0x8000_0000n, size: 0x1000n }]);
});

test('property names are deduplicated in the strings block', () => {
  const blob = serializeDeviceTree(sampleTree());
  const view = new DataView(blob.buffer, blob.byteOffset);
  const strings = Buffer.from(blob.subarray(view.getUint32(12), view.getUint32(12) + view.getUint32(32))).toString('latin1');
  assert.equal(strings.split('\0').filter((name) => name === 'model').length, 1);
});

test('round trip: every node, property and value comes back', () => {
  const root = parseDeviceTree(serializeDeviceTree(sampleTree()));
  assert.equal(root.getU32('#address-cells'), 2);
  assert.equal(root.getString('model'), 'test');
  const a = root.find('/a@1000')!;
  assert.deepEqual(a.getCells('reg'), [0, 0x1000, 0, 0x100]);
  assert.deepEqual(a.getStringList('compatible'), ['x,y', 'z']);
  assert.equal(a.has('flag'), true);
  assert.equal(a.getBytes('flag')!.length, 0);
  const b = root.find('b')!;
  assert.equal(b.getU64('big'), 0x1_2345_6789n);
  assert.deepEqual([...b.getBytes('raw')!], [1, 2, 3]);
  assert.equal(b.getU32('ref'), a.getU32('phandle'));
  assert.equal(root.find('/b/c')!.getString('model'), 'nested');
  assert.deepEqual(root.children.map((node) => node.name), ['a@1000', 'b']);
});

test('builder rejects bad values and duplicate nodes', () => {
  const node = new DeviceTreeNode('');
  assert.throws(() => node.setCells('x', [-1]), DeviceTreeError);
  assert.throws(() => node.setCells('x', [2 ** 32]), DeviceTreeError);
  assert.throws(() => node.setU64('x', -1n), DeviceTreeError);
  assert.throws(() => node.setString('x', 'a\0b'), DeviceTreeError);
  node.addChild('n');
  assert.throws(() => node.addChild('n'), /already exists/);
  assert.throws(() => serializeDeviceTree(new DeviceTreeNode('x')), /root/);
});

test('typed getters complain about the wrong shape', () => {
  const node = new DeviceTreeNode('n').setBytes('odd', Uint8Array.of(1, 2, 3)).setCells('two', [1, 2]).setBytes('unterminated', Uint8Array.of(0x41));
  assert.throws(() => node.getCells('odd'), DeviceTreeError);
  assert.throws(() => node.getU32('two'), DeviceTreeError);
  assert.throws(() => node.getString('unterminated'), DeviceTreeError);
  assert.equal(node.getU32('missing'), undefined);
});

/** Builds a blob from raw header fields and block contents, for malformed cases. */
function handMade(struct: number[], strings = 'name\0', patch: (view: DataView) => void = () => {}): Uint8Array {
  const structOffset = 40 + 16;
  const stringsOffset = structOffset + struct.length * 4;
  const blob = new Uint8Array(stringsOffset + strings.length);
  const view = new DataView(blob.buffer);
  [0xd00dfeed, blob.length, structOffset, stringsOffset, 40, 17, 16, 0, strings.length, struct.length * 4].forEach((value, index) =>
    view.setUint32(index * 4, value),
  );
  struct.forEach((value, index) => view.setUint32(structOffset + index * 4, value));
  blob.set(Buffer.from(strings, 'latin1'), stringsOffset);
  patch(view);
  return blob;
}

const BEGIN = 1, END_NODE = 2, PROP = 3, NOP = 4, END = 9;
const nameWord = (text: string): number[] => {
  const bytes = Buffer.alloc(Math.ceil((text.length + 1) / 4) * 4);
  bytes.write(text, 'latin1');
  const words: number[] = [];
  for (let offset = 0; offset < bytes.length; offset += 4) words.push(bytes.readUInt32BE(offset));
  return words;
};

test('hand-made minimal blob parses (NOPs allowed)', () => {
  const root = parseDeviceTree(handMade([NOP, BEGIN, 0, PROP, 4, 0, 0x1234, NOP, ...[BEGIN, ...nameWord('kid')], END_NODE, END_NODE, NOP, END]));
  assert.equal(root.getU32('name'), 0x1234);
  assert.equal(root.children[0].name, 'kid');
});

const malformed: Array<[string, Uint8Array, RegExp]> = [
  ['empty input', new Uint8Array(0), /shorter than the 40-byte header/],
  ['bad magic', handMade([BEGIN, 0, END_NODE, END], undefined, (v) => v.setUint32(0, 0x7f454c46)), /bad magic 0x7f454c46/],
  ['totalsize too large', handMade([BEGIN, 0, END_NODE, END], undefined, (v) => v.setUint32(4, 10_000)), /totalsize 10000 is larger/],
  ['old version', handMade([BEGIN, 0, END_NODE, END], undefined, (v) => v.setUint32(20, 3)), /version 3 is too old/],
  ['future last-compatible version', handMade([BEGIN, 0, END_NODE, END], undefined, (v) => v.setUint32(24, 18)), /last compatible version 18/],
  ['struct block outside the blob', handMade([BEGIN, 0, END_NODE, END], undefined, (v) => v.setUint32(36, 4000)), /structure block .* outside/],
  ['misaligned struct block', handMade([BEGIN, 0, END_NODE, END], undefined, (v) => v.setUint32(8, 57)), /not 4-byte aligned/],
  ['strings block outside', handMade([BEGIN, 0, END_NODE, END], undefined, (v) => v.setUint32(12, 0xffff_fff0)), /strings block .* outside/],
  ['unterminated reservation map', handMade([BEGIN, 0, END_NODE, END], undefined, (v) => v.setUint32(16, 64)), /memory reservation block is not terminated/],
  ['no FDT_END', handMade([BEGIN, 0, END_NODE]), /without an FDT_END token/],
  ['unknown token', handMade([BEGIN, 0, 7, END_NODE, END]), /unknown token 0x7/],
  ['unbalanced END_NODE', handMade([BEGIN, 0, END_NODE, END_NODE, END]), /without a matching FDT_BEGIN_NODE/],
  ['node still open at END', handMade([BEGIN, 0, BEGIN, ...nameWord('x'), END_NODE, END]), /still open/],
  ['two roots', handMade([BEGIN, 0, END_NODE, BEGIN, 0, END_NODE, END]), /second top-level node/],
  ['named root', handMade([...[BEGIN, ...nameWord('r')], END_NODE, END]), /root node is named "r"/],
  ['property outside a node', handMade([PROP, 0, 0, END]), /outside any node/],
  ['property past the struct block', handMade([BEGIN, 0, PROP, 1000, 0, END_NODE, END]), /past the structure block/],
  ['string offset past the strings block', handMade([BEGIN, 0, PROP, 0, 99, END_NODE, END]), /string offset 99/],
  ['unterminated property name', handMade([BEGIN, 0, PROP, 0, 0, END_NODE, END], 'name'), /not NUL-terminated/],
  ['duplicate property', handMade([BEGIN, 0, PROP, 0, 0, PROP, 0, 0, END_NODE, END]), /duplicate property "name"/],
  ['duplicate node', handMade([BEGIN, 0, BEGIN, ...nameWord('x'), END_NODE, BEGIN, ...nameWord('x'), END_NODE, END_NODE, END]), /duplicate node "x"/],
  ['no root', handMade([NOP, END]), /no root node/],
];

for (const [what, blob, message] of malformed) {
  test(`malformed DTB is rejected with one clear error: ${what}`, () => {
    assert.throws(() => parseDeviceTree(blob), (error: unknown) => {
      assert.ok(error instanceof DeviceTreeError, `got ${String(error)}`);
      assert.match(error.message, /^invalid device tree: /);
      assert.match(error.message, message);
      return true;
    });
  });
}

test('deep nesting is bounded', () => {
  const struct = [BEGIN, 0];
  for (let depth = 0; depth < 100; depth++) struct.push(BEGIN, ...nameWord('n'));
  for (let depth = 0; depth <= 100; depth++) struct.push(END_NODE);
  struct.push(END);
  assert.throws(() => parseDeviceTree(handMade(struct)), /nested deeper than 64/);
});

test('fuzz: truncating or corrupting the virt DTB anywhere gives a DeviceTreeError or a valid tree', () => {
  const valid = buildVirtDeviceTree({ ramBase: 0x8000_0000, ramSize: 128 << 20, hartCount: 2, bootargs: 'console=ttyS0' });
  let errors = 0;
  let parses = 0;
  const attempt = (blob: Uint8Array) => {
    try {
      const root = parseDeviceTree(blob);
      assert.ok(root instanceof DeviceTreeNode);
      parses++;
    } catch (error) {
      if (!(error instanceof DeviceTreeError)) throw error;
      errors++;
    }
  };
  for (let length = 0; length < valid.length; length++) attempt(valid.subarray(0, length));
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let position = 0; position < valid.length; position++) {
    for (const corruption of [0xff, 0x01, 0x80]) {
      const corrupt = valid.slice();
      corrupt[position] ^= corruption;
      attempt(corrupt);
    }
    const corrupt = valid.slice();
    corrupt[position] = Math.floor(random() * 256);
    corrupt[Math.floor(random() * valid.length)] = Math.floor(random() * 256);
    attempt(corrupt);
  }
  assert.ok(errors > valid.length, `errors ${errors}`);
  assert.ok(parses > 0, 'corrupting property values leaves a valid tree');
});
