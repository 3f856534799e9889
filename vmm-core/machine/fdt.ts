// Flattened device tree (DTB, devicetree specification v0.4, header version 17): an in-memory
// tree of nodes and properties, the writer that serialises it, and a validating reader for
// blobs users supply (which may be truncated or corrupt: it reports one clear error).

const FDT_MAGIC = 0xd00d_feed;
const FDT_VERSION = 17;
const FDT_LAST_COMPATIBLE_VERSION = 16;
const HEADER_SIZE = 40;
const RESERVATION_ENTRY_SIZE = 16;

const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;

/** Deeper trees than this are rejected (real ones are under 10 levels). */
const MAX_DEPTH = 64;
const MAX_RESERVATIONS = 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** A malformed device-tree blob, or a property read as the wrong type. */
export class DeviceTreeError extends Error {
  override readonly name = 'DeviceTreeError';
}

/** One node: ordered properties (raw big-endian bytes) and ordered children. */
export class DeviceTreeNode {
  readonly properties = new Map<string, Uint8Array>();
  readonly children: DeviceTreeNode[] = [];

  /** `name` includes the unit address (e.g. "serial@10000000"); the root's name is "". */
  constructor(readonly name: string) {}

  // ---- building ----

  /** Appends a child and returns it; throws if a child of that name exists already. */
  addChild(name: string): DeviceTreeNode {
    if (this.child(name) !== undefined) throw new DeviceTreeError(`node ${name} already exists`);
    const node = new DeviceTreeNode(name);
    this.children.push(node);
    return node;
  }

  setBytes(name: string, value: Uint8Array): this {
    this.properties.set(name, value);
    return this;
  }

  /** A property with no value (a flag such as `interrupt-controller` or `ranges`). */
  setEmpty(name: string): this {
    return this.setBytes(name, new Uint8Array(0));
  }

  setU32(name: string, value: number): this {
    return this.setCells(name, [value]);
  }

  /** A 64-bit value as two cells (high first). */
  setU64(name: string, value: number | bigint): this {
    const big = BigInt(value);
    if (big < 0n || big > 0xffff_ffff_ffff_ffffn) throw new DeviceTreeError(`property ${name}: ${value} is not a 64-bit unsigned value`);
    return this.setCells(name, [Number(big >> 32n), Number(big & 0xffff_ffffn)]);
  }

  /** An array of 32-bit cells. */
  setCells(name: string, cells: readonly number[]): this {
    const bytes = new Uint8Array(cells.length * 4);
    const view = new DataView(bytes.buffer);
    cells.forEach((cell, index) => {
      if (!Number.isInteger(cell) || cell < 0 || cell > 0xffff_ffff) {
        throw new DeviceTreeError(`property ${name}: cell ${cell} is not a 32-bit unsigned value`);
      }
      view.setUint32(index * 4, cell);
    });
    return this.setBytes(name, bytes);
  }

  setString(name: string, value: string): this {
    return this.setStringList(name, [value]);
  }

  /** NUL-separated strings (e.g. `compatible`). */
  setStringList(name: string, values: readonly string[]): this {
    const parts = values.map((value) => {
      if (value.includes('\0')) throw new DeviceTreeError(`property ${name}: string contains NUL`);
      return encoder.encode(value);
    });
    const bytes = new Uint8Array(parts.reduce((total, part) => total + part.length + 1, 0));
    let offset = 0;
    for (const part of parts) {
      bytes.set(part, offset);
      offset += part.length + 1;
    }
    return this.setBytes(name, bytes);
  }

  // ---- reading ----

  child(name: string): DeviceTreeNode | undefined {
    return this.children.find((node) => node.name === name);
  }

  /** A node by absolute-style path relative to this one ("soc/serial@10000000" or "/soc/..."). */
  find(path: string): DeviceTreeNode | undefined {
    let node: DeviceTreeNode | undefined = this;
    for (const part of path.split('/')) {
      if (part === '') continue;
      node = node.child(part);
      if (node === undefined) return undefined;
    }
    return node;
  }

  has(name: string): boolean {
    return this.properties.has(name);
  }

  getBytes(name: string): Uint8Array | undefined {
    return this.properties.get(name);
  }

  getCells(name: string): number[] | undefined {
    const bytes = this.properties.get(name);
    if (bytes === undefined) return undefined;
    if (bytes.length % 4 !== 0) throw new DeviceTreeError(`property ${this.name}/${name} is ${bytes.length} bytes, not a whole number of cells`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const cells: number[] = [];
    for (let offset = 0; offset < bytes.length; offset += 4) cells.push(view.getUint32(offset));
    return cells;
  }

  getU32(name: string): number | undefined {
    const cells = this.getCells(name);
    if (cells === undefined) return undefined;
    if (cells.length !== 1) throw new DeviceTreeError(`property ${this.name}/${name} has ${cells.length} cells, expected 1`);
    return cells[0];
  }

  /** A 1- or 2-cell value as a bigint. */
  getU64(name: string): bigint | undefined {
    const cells = this.getCells(name);
    if (cells === undefined) return undefined;
    if (cells.length === 1) return BigInt(cells[0]);
    if (cells.length !== 2) throw new DeviceTreeError(`property ${this.name}/${name} has ${cells.length} cells, expected 1 or 2`);
    return (BigInt(cells[0]) << 32n) | BigInt(cells[1]);
  }

  getStringList(name: string): string[] | undefined {
    const bytes = this.properties.get(name);
    if (bytes === undefined) return undefined;
    if (bytes.length === 0 || bytes[bytes.length - 1] !== 0) {
      throw new DeviceTreeError(`property ${this.name}/${name} is not a NUL-terminated string list`);
    }
    return decoder.decode(bytes.subarray(0, bytes.length - 1)).split('\0');
  }

  getString(name: string): string | undefined {
    return this.getStringList(name)?.[0];
  }
}

/** Assigns phandles while a tree is built. */
export class PhandleAllocator {
  private next = 1;

  /** Gives `node` a `phandle` property (once) and returns its value. */
  assign(node: DeviceTreeNode): number {
    const existing = node.getU32('phandle');
    if (existing !== undefined) return existing;
    const value = this.next++;
    node.setU32('phandle', value);
    return value;
  }
}

export interface MemoryReservation {
  address: bigint;
  size: bigint;
}

export interface SerializeOptions {
  bootCpuId?: number;
  reservations?: readonly { address: number | bigint; size: number | bigint }[];
}

/** Serialises a tree to a DTB (version 17, last compatible 16). */
export function serializeDeviceTree(root: DeviceTreeNode, options: SerializeOptions = {}): Uint8Array {
  if (root.name !== '') throw new DeviceTreeError(`the root node must have an empty name, got "${root.name}"`);
  const strings: number[] = [];
  const stringOffsets = new Map<string, number>();
  const nameOffset = (name: string): number => {
    let offset = stringOffsets.get(name);
    if (offset === undefined) {
      offset = strings.length;
      stringOffsets.set(name, offset);
      for (const byte of encoder.encode(name)) strings.push(byte);
      strings.push(0);
    }
    return offset;
  };

  const structure = new ByteWriter();
  const emit = (node: DeviceTreeNode): void => {
    structure.u32(FDT_BEGIN_NODE);
    structure.bytes(encoder.encode(node.name));
    structure.bytes(Uint8Array.of(0));
    structure.align(4);
    for (const [name, value] of node.properties) {
      structure.u32(FDT_PROP);
      structure.u32(value.length);
      structure.u32(nameOffset(name));
      structure.bytes(value);
      structure.align(4);
    }
    for (const child of node.children) emit(child);
    structure.u32(FDT_END_NODE);
  };
  emit(root);
  structure.u32(FDT_END);

  const reservations = options.reservations ?? [];
  const reservationOffset = HEADER_SIZE; // already 8-byte aligned
  const structOffset = reservationOffset + (reservations.length + 1) * RESERVATION_ENTRY_SIZE;
  const stringsOffset = structOffset + structure.length;
  const totalSize = stringsOffset + strings.length;

  const blob = new Uint8Array(totalSize);
  const view = new DataView(blob.buffer);
  const header = [
    FDT_MAGIC,
    totalSize,
    structOffset,
    stringsOffset,
    reservationOffset,
    FDT_VERSION,
    FDT_LAST_COMPATIBLE_VERSION,
    options.bootCpuId ?? 0,
    strings.length,
    structure.length,
  ];
  header.forEach((value, index) => view.setUint32(index * 4, value));
  reservations.forEach((reservation, index) => {
    view.setBigUint64(reservationOffset + index * RESERVATION_ENTRY_SIZE, BigInt(reservation.address));
    view.setBigUint64(reservationOffset + index * RESERVATION_ENTRY_SIZE + 8, BigInt(reservation.size));
  });
  blob.set(structure.toBytes(), structOffset);
  blob.set(strings, stringsOffset);
  return blob;
}

class ByteWriter {
  private buffer = new Uint8Array(4096);
  length = 0;

  private reserve(count: number): void {
    if (this.length + count <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + count) size *= 2;
    const larger = new Uint8Array(size);
    larger.set(this.buffer.subarray(0, this.length));
    this.buffer = larger;
  }

  u32(value: number): void {
    this.reserve(4);
    this.buffer[this.length++] = value >>> 24;
    this.buffer[this.length++] = value >>> 16;
    this.buffer[this.length++] = value >>> 8;
    this.buffer[this.length++] = value;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  align(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    this.reserve(padding);
    this.buffer.fill(0, this.length, this.length + padding);
    this.length += padding;
  }

  toBytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

export interface ParsedDeviceTree {
  root: DeviceTreeNode;
  version: number;
  bootCpuId: number;
  reservations: MemoryReservation[];
  /** The header's totalsize (the blob may be followed by unrelated bytes). */
  totalSize: number;
}

/** Parses and validates a DTB; throws one DeviceTreeError naming the first problem found. */
export function parseDeviceTree(bytes: Uint8Array): DeviceTreeNode {
  return parseDeviceTreeBlob(bytes).root;
}

export function parseDeviceTreeBlob(bytes: Uint8Array): ParsedDeviceTree {
  const fail = (message: string): never => {
    throw new DeviceTreeError(`invalid device tree: ${message}`);
  };
  if (!(bytes instanceof Uint8Array)) fail('input is not a byte array');
  if (bytes.length < HEADER_SIZE) fail(`${bytes.length} bytes is shorter than the ${HEADER_SIZE}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hex = (value: number): string => `0x${value.toString(16)}`;

  const magic = view.getUint32(0);
  if (magic !== FDT_MAGIC) fail(`bad magic ${hex(magic)} (expected 0xd00dfeed; is this a DTB?)`);
  const totalSize = view.getUint32(4);
  const structOffset = view.getUint32(8);
  const stringsOffset = view.getUint32(12);
  const reservationOffset = view.getUint32(16);
  const version = view.getUint32(20);
  const lastCompatibleVersion = view.getUint32(24);
  const bootCpuId = view.getUint32(28);
  const stringsSize = view.getUint32(32);
  if (totalSize < HEADER_SIZE) fail(`totalsize ${totalSize} is smaller than the header`);
  if (totalSize > bytes.length) fail(`totalsize ${totalSize} is larger than the ${bytes.length} bytes given (truncated?)`);
  if (version < 16) fail(`version ${version} is too old (16 or later is needed)`);
  if (lastCompatibleVersion > FDT_VERSION) fail(`last compatible version ${lastCompatibleVersion} is newer than 17`);
  // Version 16 has no size_dt_struct: the structure block then runs to the end of the blob.
  const structSize = version >= 17 ? view.getUint32(36) : totalSize - structOffset;

  const checkBlock = (what: string, offset: number, size: number, alignment: number): void => {
    if (offset % alignment !== 0) fail(`${what} offset ${hex(offset)} is not ${alignment}-byte aligned`);
    if (offset < HEADER_SIZE || offset > totalSize || size > totalSize - offset) {
      fail(`${what} (${hex(offset)}, ${size} bytes) lies outside the ${totalSize}-byte blob`);
    }
  };
  checkBlock('memory reservation block', reservationOffset, 0, 8);
  checkBlock('structure block', structOffset, structSize, 4);
  checkBlock('strings block', stringsOffset, stringsSize, 1);
  if (structSize % 4 !== 0) fail(`structure block size ${structSize} is not a multiple of 4`);

  const reservations: MemoryReservation[] = [];
  for (let offset = reservationOffset; ; offset += RESERVATION_ENTRY_SIZE) {
    if (offset + RESERVATION_ENTRY_SIZE > totalSize) fail('memory reservation block is not terminated');
    const address = view.getBigUint64(offset);
    const size = view.getBigUint64(offset + 8);
    if (address === 0n && size === 0n) break;
    if (reservations.length >= MAX_RESERVATIONS) fail(`more than ${MAX_RESERVATIONS} memory reservations`);
    reservations.push({ address, size });
  }

  const stringsEnd = stringsOffset + stringsSize;
  const propertyName = (nameOffset: number, at: number): string => {
    if (nameOffset >= stringsSize) fail(`property at ${hex(at)} names string offset ${nameOffset}, past the ${stringsSize}-byte strings block`);
    const start = stringsOffset + nameOffset;
    const end = bytes.indexOf(0, start);
    if (end < 0 || end >= stringsEnd) fail(`property name at string offset ${nameOffset} is not NUL-terminated inside the strings block`);
    if (end === start) fail(`property at ${hex(at)} has an empty name`);
    return decoder.decode(bytes.subarray(start, end));
  };

  const structEnd = structOffset + structSize;
  let position = structOffset;
  const readToken = (): number => {
    if (position + 4 > structEnd) fail(`structure block ends at ${hex(structEnd)} without an FDT_END token`);
    const token = view.getUint32(position);
    position += 4;
    return token;
  };

  const stack: DeviceTreeNode[] = [];
  let root: DeviceTreeNode | undefined;
  let ended = false;
  while (!ended) {
    const tokenAt = position;
    const token = readToken();
    switch (token) {
      case FDT_BEGIN_NODE: {
        const end = bytes.indexOf(0, position);
        if (end < 0 || end >= structEnd) fail(`node name at ${hex(position)} is not NUL-terminated inside the structure block`);
        const name = decoder.decode(bytes.subarray(position, end));
        position = alignUp(end + 1, 4);
        if (position > structEnd) fail(`node name at ${hex(tokenAt + 4)} runs past the structure block`);
        if (root !== undefined && stack.length === 0) fail(`a second top-level node "${name}" at ${hex(tokenAt)} (only one root is allowed)`);
        if (stack.length === 0) {
          if (name !== '') fail(`the root node is named "${name}" (it must have an empty name)`);
          root = new DeviceTreeNode('');
          stack.push(root);
        } else {
          if (name === '') fail(`node at ${hex(tokenAt)} has an empty name`);
          if (stack.length >= MAX_DEPTH) fail(`nodes nested deeper than ${MAX_DEPTH} levels`);
          const parent = stack[stack.length - 1];
          if (parent.child(name) !== undefined) fail(`duplicate node "${name}" in ${pathOf(stack)}`);
          const node = new DeviceTreeNode(name);
          parent.children.push(node);
          stack.push(node);
        }
        break;
      }
      case FDT_END_NODE:
        if (stack.length === 0) fail(`FDT_END_NODE at ${hex(tokenAt)} without a matching FDT_BEGIN_NODE`);
        stack.pop();
        break;
      case FDT_PROP: {
        if (stack.length === 0) fail(`property at ${hex(tokenAt)} outside any node`);
        const length = readToken();
        const nameOffset = readToken();
        if (length > structEnd - position) fail(`property at ${hex(tokenAt)} is ${length} bytes long, past the structure block`);
        const name = propertyName(nameOffset, tokenAt);
        const node = stack[stack.length - 1];
        if (node.properties.has(name)) fail(`duplicate property "${name}" in ${pathOf(stack)}`);
        node.properties.set(name, bytes.slice(position, position + length));
        position = alignUp(position + length, 4);
        break;
      }
      case FDT_NOP:
        break;
      case FDT_END:
        if (stack.length !== 0) fail(`FDT_END at ${hex(tokenAt)} while ${stack.length} node(s) are still open (${pathOf(stack)})`);
        if (root === undefined) fail('the structure block has no root node');
        ended = true;
        break;
      default:
        fail(`unknown token ${hex(token)} at ${hex(tokenAt)} in the structure block`);
    }
  }
  return { root: root!, version, bootCpuId, reservations, totalSize };
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

function pathOf(stack: readonly DeviceTreeNode[]): string {
  return stack.length <= 1 ? '/' : stack.slice(1).map((node) => `/${node.name}`).join('');
}
