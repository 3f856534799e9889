// The symbol index (debug-adapter/symbols/symbol-index.ts) and its cache (index-cache.ts) on
// the committed fixture ELFs: an adopted index answers exactly as reading every unit does;
// the cache file is written beside the ELF (or in the cache folder when that fails), read
// back, and rejected when stale or corrupt; the worker (background-index.ts) builds, caches
// and hands over the index, and refuses one for bytes other than those loaded.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BackgroundIndex, indexSymbolFileOnDisk } from '../../debug-adapter/symbols/background-index';
import {
  cachePaths, decodeCachedIndex, encodeCachedIndex, indexKey, indexKeyOfFile, readCachedIndex, writeCachedIndex,
} from '../../debug-adapter/symbols/index-cache';
import { SymbolError } from '../../debug-adapter/symbols/dwarf-reader';
import { loadSymbolFile, type ElfSymbolFile } from '../../debug-adapter/symbols/symbol-file';
import { SYMBOL_INDEX_VERSION } from '../../debug-adapter/symbols/symbol-index';
import { FIXTURES, fixtureBytes, loadFixture, reference } from './symbols-support';

const scratch = mkdtempSync(join(tmpdir(), 'ringside-symbol-index-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let copies = 0;

/** A private copy of a fixture ELF (its cache files land beside it) and its own cache folder. */
function copyOf(name: (typeof FIXTURES)[number]): { elf: string; cacheDirectory: string } {
  const folder = join(scratch, `copy-${copies++}`);
  mkdirSync(folder);
  const elf = join(folder, `${name}.elf`);
  copyFileSync(reference(name).source, elf);
  return { elf, cacheDirectory: join(folder, 'user-cache') };
}

const load = (path: string): ElfSymbolFile => loadSymbolFile(new Uint8Array(readFileSync(path)), path);

describe('the index answers as reading every unit does', () => {
  for (const name of FIXTURES) {
    test(name, () => {
      const built = loadFixture(name).buildIndex();
      // Globals are the ELF's data objects except function statics (GCC names them name.N).
      const objects = loadFixture(name).elf.symbols.filter((symbol) => symbol.type === 'object' && symbol.sectionIndex !== 0 && !symbol.name.includes('.'));
      assert.deepEqual(built.globals.map(([global]) => global).sort(), objects.map((symbol) => symbol.name).sort());
      assert.ok(built.functions.length > 0 && built.unitFiles.length > 0 && built.paths.length > 0);
      // Every named type a global uses (through typedefs, pointers, members) is defined at some unit's top level.
      const names = new Set(built.types.map(([typeName]) => typeName));
      for (const variable of loadFixture(name).globals()) {
        for (let type = variable.type; type !== undefined && type.kind !== 'pointer' && type.kind !== 'array'; type = type.kind === 'typedef' ? type.target : undefined) {
          if (!type.name.includes('{')) assert.ok(names.has(type.name), `${variable.name}: type '${type.name}' in the index`);
        }
      }

      for (const pathMapping of [undefined, [{ from: '/', to: '/mapped/' }]]) {
        const plain = loadFixture(name, { pathMapping });
        const indexed = loadFixture(name, { pathMapping });
        indexed.adoptIndex(built);
        assert.equal(indexed.index, built);
        assert.deepEqual(indexed.sourceFiles, plain.sourceFiles);
        assert.equal(indexed.hasGlobals(), plain.hasGlobals());
        assert.deepEqual(indexed.globals().map((variable) => [variable.name, variable.type?.name, variable.location]),
          plain.globals().map((variable) => [variable.name, variable.type?.name, variable.location]));
        for (const [functionName] of built.functions) assert.deepEqual(indexed.functionByName(functionName), plain.functionByName(functionName), functionName);
        for (const [globalName] of built.globals) assert.deepEqual(indexed.globalByName(globalName)?.type?.name, plain.globalByName(globalName)?.type?.name);
        for (const [typeName] of built.types) assert.deepEqual(indexed.typeByName(typeName)?.name, plain.typeByName(typeName)?.name, typeName);
        for (const breakpoint of reference(name).breakpoints) {
          assert.deepEqual(indexed.addressesForLine(breakpoint.path, breakpoint.line), plain.addressesForLine(breakpoint.path, breakpoint.line));
          assert.deepEqual(indexed.nearestLineWithCode(breakpoint.path, breakpoint.line), plain.nearestLineWithCode(breakpoint.path, breakpoint.line));
        }
      }
    });
  }

  test('hasGlobals and globalByName answer before any index: a known global, an unknown one', () => {
    const file = loadFixture('shapes-dwarf4-O1');
    assert.equal(file.hasGlobals(), true);
    assert.equal(file.globalByName('no_such_global'), undefined);
    assert.equal(file.globalByName('sink')?.type?.name, 'u64');
    assert.equal(file.typeByName('u64')?.kind, 'typedef');
    assert.equal(file.typeByName('struct shape')?.kind, 'struct');
    assert.equal(file.typeByName('struct no_such_type'), undefined);
  });

  test('globals grouped by compile unit hold exactly the globals, each group read on its own', () => {
    for (const name of FIXTURES) {
      const file = loadFixture(name);
      const groups = file.globalGroups();
      assert.equal(groups.reduce((sum, group) => sum + group.count, 0), file.globalCount);
      const grouped = loadFixture(name).globalGroups().flatMap((group) => group.variables().map((variable) => variable.name));
      assert.deepEqual(grouped, file.globals().map((variable) => variable.name));
      for (const group of groups) assert.match(group.name, /\.(c|S)$/, `${name}: unit name ${group.name}`);
    }
    const demo = loadFixture('guest-demo').globalGroups();
    assert.ok(demo.some((group) => group.name.endsWith('kernel.c') && group.variables().some((variable) => variable.name === 'ticks')));
  });

  test("an index of another file is refused: its units are not this file's", () => {
    const demo = loadFixture('guest-demo').buildIndex();
    const shapes = loadFixture('shapes-dwarf4-O1');
    assert.throws(() => shapes.adoptIndex(demo), (error: Error) => error instanceof SymbolError && /names a unit at 0x/.test(error.message));
    assert.equal(shapes.index, undefined);
    const pastTheEnd = { ...loadFixture('shapes-dwarf4-O1').buildIndex(), globals: [['sink', 1 << 30] as const] };
    assert.throws(() => shapes.adoptIndex(pastTheEnd), /past \.debug_info/);
  });
});

describe('the cache file', () => {
  test('is written beside the ELF and read back equal', () => {
    const { elf, cacheDirectory } = copyOf('guest-demo');
    const index = load(elf).buildIndex();
    const key = indexKeyOfFile(elf);
    assert.deepEqual(key, indexKey(new Uint8Array(readFileSync(elf)), statSync(elf)), 'the key from the headers alone equals the key from the whole file');
    const written = writeCachedIndex(elf, key, index, { cacheDirectory });
    assert.equal(written.path, `${elf}.ringside-index`);
    assert.deepEqual(written.problems, []);
    const read = readCachedIndex(elf, key, { cacheDirectory });
    assert.equal(read.path, `${elf}.ringside-index`);
    assert.deepEqual(read.index, JSON.parse(JSON.stringify(index)));
    assert.deepEqual(read.rejected, []);
    assert.equal(existsSync(cacheDirectory), false, 'nothing in the cache folder when the ELF folder is writable');
  });

  test('goes to the cache folder when it cannot be written beside the ELF', () => {
    const { elf, cacheDirectory } = copyOf('guest-demo');
    // A directory where the cache file would go: the rename onto it fails as on a read-only folder.
    mkdirSync(`${elf}.ringside-index`);
    const index = load(elf).buildIndex();
    const key = indexKeyOfFile(elf);
    const written = writeCachedIndex(elf, key, index, { cacheDirectory });
    assert.equal(written.path, cachePaths(elf, { cacheDirectory }).fallback);
    assert.ok(written.path!.startsWith(cacheDirectory));
    assert.match(written.problems[0], /cannot write .*guest-demo\.elf\.ringside-index/);
    const read = readCachedIndex(elf, key, { cacheDirectory });
    assert.equal(read.path, written.path);
    assert.deepEqual(read.index, JSON.parse(JSON.stringify(index)));
  });

  test('is stale when the ELF changes (modification time, size or headers) and is rebuilt', () => {
    const { elf, cacheDirectory } = copyOf('shapes-dwarf5-O2');
    const first = indexSymbolFileOnDisk({ elfPath: elf, cacheDirectory });
    assert.ok(first.ok && first.source === 'built' && first.cachePath === `${elf}.ringside-index`);
    const again = indexSymbolFileOnDisk({ elfPath: elf, cacheDirectory });
    assert.ok(again.ok && again.source === 'cache', 'the second time it comes from the cache');
    assert.deepEqual(again.index, JSON.parse(JSON.stringify(first.index)));

    // Touched: same bytes, another modification time.
    const later = new Date(statSync(elf).mtimeMs + 5000);
    utimesSync(elf, later, later);
    const touched = indexSymbolFileOnDisk({ elfPath: elf, cacheDirectory });
    assert.ok(touched.ok && touched.source === 'built');
    assert.match(touched.problems[0], /stale: built from another version of the file/);
    assert.ok(indexSymbolFileOnDisk({ elfPath: elf, cacheDirectory }).ok);

    // The section header table edited in place, modification time put back: the header hash tells.
    const bytes = readFileSync(elf);
    const sectionHeaders = Number(bytes.readBigUInt64LE(0x28));
    bytes[sectionHeaders + 64 + 8] ^= 0x01; // section 1's flags
    const before = statSync(elf);
    writeFileSync(elf, bytes);
    utimesSync(elf, before.atime, before.mtime);
    assert.equal(statSync(elf).mtimeMs, before.mtimeMs);
    const cached = readCachedIndex(elf, indexKeyOfFile(elf), { cacheDirectory });
    assert.equal(cached.index, undefined);
    assert.match(cached.rejected[0], /stale/);
  });

  test('is rejected when corrupt: truncated, a flipped byte, not JSON, another version, a wrong shape', () => {
    const file = loadFixture('guest-rv64i');
    const bytes = fixtureBytes('guest-rv64i');
    const key = indexKey(bytes, { size: bytes.length, mtimeMs: 1234 });
    const good = Buffer.from(encodeCachedIndex(key, file.buildIndex()));
    assert.ok(!(decodeCachedIndex(good, key) instanceof Error));

    const reason = (contents: Buffer): string => {
      const decoded = decodeCachedIndex(contents, key);
      assert.ok(decoded instanceof Error, 'must be rejected');
      return decoded.message;
    };
    assert.match(reason(good.subarray(0, good.length - 10)), /^corrupt: the body has \d+ bytes/);
    const flipped = Buffer.from(good);
    const digit = flipped.indexOf('1', flipped.indexOf(0x0a) + 1);
    flipped[digit] = '2'.charCodeAt(0);
    assert.match(reason(flipped), /^corrupt: the body does not match its checksum/);
    assert.match(reason(Buffer.from('garbage')), /^corrupt: no header line/);
    assert.match(reason(Buffer.from('{not json\n{}')), /^corrupt: the header line is not JSON/);
    assert.match(reason(Buffer.from('{"format":"something-else"}\n{}')), /^corrupt: not a Ringside symbol index/);
    const header = JSON.parse(good.subarray(0, good.indexOf(0x0a)).toString()) as Record<string, unknown>;
    const body = good.subarray(good.indexOf(0x0a) + 1);
    const withHeader = (changes: Record<string, unknown>, newBody: Buffer = body): Buffer =>
      Buffer.concat([Buffer.from(`${JSON.stringify({ ...header, ...changes })}\n`), newBody]);
    assert.match(reason(withHeader({ version: SYMBOL_INDEX_VERSION + 1 })), /^stale: index version/);
    // A body with a correct checksum but not an index (a bug elsewhere, or a hand edit).
    const wrongShape = Buffer.from(JSON.stringify({ functions: [['f', -1]], globals: [], types: [], paths: [], unitFiles: [] }));
    const checksum = (text: Buffer): string => createHash('sha256').update(text).digest('hex');
    assert.match(reason(withHeader({ bodyLength: wrongShape.length, bodySha256: checksum(wrongShape) }, wrongShape)), /^corrupt: not a symbol index: an entry of 'functions'/);
    const badPath = Buffer.from(JSON.stringify({ functions: [], globals: [], types: [], paths: ['a'], unitFiles: [[0, [1]]] }));
    assert.match(reason(withHeader({ bodyLength: badPath.length, bodySha256: checksum(badPath) }, badPath)), /'unitFiles'/);
  });

  test('a corrupt cache file on disk is reported, rebuilt and replaced', () => {
    const { elf, cacheDirectory } = copyOf('guest-rv64i');
    assert.ok(indexSymbolFileOnDisk({ elfPath: elf, cacheDirectory }).ok);
    const cacheFile = `${elf}.ringside-index`;
    writeFileSync(cacheFile, readFileSync(cacheFile).subarray(0, 100));
    const rebuilt = indexSymbolFileOnDisk({ elfPath: elf, cacheDirectory });
    assert.ok(rebuilt.ok && rebuilt.source === 'built' && rebuilt.cachePath === cacheFile);
    assert.match(rebuilt.problems[0], /ringside-index: corrupt/);
    const reread = indexSymbolFileOnDisk({ elfPath: elf, cacheDirectory });
    assert.ok(reread.ok && reread.source === 'cache' && reread.problems.length === 0);
  });

  test('a file that is not there is a clear error, not a crash', () => {
    const answer = indexSymbolFileOnDisk({ elfPath: join(scratch, 'missing.elf') });
    assert.deepEqual(answer, { ok: false, message: `cannot read ${join(scratch, 'missing.elf')}: ENOENT` });
  });
});

describe('indexing on a worker thread', () => {
  test('builds and caches the index, then the next session reads it from the cache; the file adopts it', async () => {
    const { elf, cacheDirectory } = copyOf('guest-demo');
    const bytes = new Uint8Array(readFileSync(elf));
    const cold = loadSymbolFile(bytes, elf);
    const first = await new BackgroundIndex(cold, elf, bytes, { cacheDirectory }).done;
    assert.deepEqual({ adopted: first.adopted, source: first.source, cachePath: first.cachePath, problems: first.problems },
      { adopted: true, source: 'built', cachePath: `${elf}.ringside-index`, problems: [] });
    assert.deepEqual(cold.index, JSON.parse(JSON.stringify(loadSymbolFile(bytes, elf).buildIndex())));
    assert.ok(cold.globalByName('ticks') !== undefined);

    const warm = loadSymbolFile(bytes, elf);
    const second = await new BackgroundIndex(warm, elf, bytes, { cacheDirectory }).done;
    assert.equal(second.source, 'cache');
    assert.equal(second.adopted, true);
    assert.deepEqual(warm.sourceFiles, loadSymbolFile(bytes, elf).sourceFiles);
  });

  test('an index of the file as it is on disk now is not adopted for other bytes loaded before', async () => {
    const { elf, cacheDirectory } = copyOf('guest-demo');
    const loaded = fixtureBytes('guest-rv64i');
    const file = loadSymbolFile(loaded, elf);
    const report = await new BackgroundIndex(file, elf, loaded, { cacheDirectory }).done;
    assert.equal(report.adopted, false);
    assert.match(report.problems[0], /changed on disk since it was loaded/);
    assert.equal(file.index, undefined);
  });

  test('stopping the worker settles without adopting', async () => {
    const { elf, cacheDirectory } = copyOf('guest-demo');
    const bytes = new Uint8Array(readFileSync(elf));
    const file = loadSymbolFile(bytes, elf);
    const indexing = new BackgroundIndex(file, elf, bytes, { cacheDirectory });
    indexing.stop();
    const report = await indexing.done;
    assert.equal(report.adopted, false);
    assert.equal(file.index, undefined);
  });
});
