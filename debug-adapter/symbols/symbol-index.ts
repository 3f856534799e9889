// The index of a symbol file: what answering by name or by source path needs from every
// compile unit (function names, global variables, line-table file names), which would
// otherwise mean reading all of a Linux-sized .debug_info. Plain data, so that a worker can
// build it (index-worker.ts) and a cache file can keep it (index-cache.ts). DIE offsets are
// .debug_info offsets of the very file it was built from: the cache key guarantees that.

/** Bumped whenever what the index holds, or how it is built, changes: older caches are rebuilt. */
export const SYMBOL_INDEX_VERSION = 1;

export interface SymbolIndex {
  /** Functions with code, by name: the DIE offset of the first one in unit order. */
  readonly functions: readonly (readonly [name: string, dieOffset: number])[];
  /** Global variables (the unit DIE's variable children with a location), in unit and DIE order. */
  readonly globals: readonly (readonly [name: string, dieOffset: number])[];
  /** Named type definitions at units' top level, by their C name ("struct task_struct", "pid_t"): the first DIE of each. */
  readonly types: readonly (readonly [name: string, dieOffset: number])[];
  /** Every line-table file path as DWARF records it (before path mapping), once. */
  readonly paths: readonly string[];
  /** Each compile unit's line-table files, as indexes into `paths` (-1 for an empty slot, such as DWARF 4's file 0). */
  readonly unitFiles: readonly (readonly [unitOffset: number, files: readonly number[]])[];
}

/** Checks that `value` has the shape of a SymbolIndex; throws an Error naming the first thing wrong. */
export function checkSymbolIndex(value: unknown): SymbolIndex {
  const fail = (what: string): never => {
    throw new Error(`not a symbol index: ${what}`);
  };
  if (value === null || typeof value !== 'object') return fail('not an object');
  const record = value as Record<string, unknown>;
  const pairs = (key: 'functions' | 'globals' | 'types'): void => {
    const list = record[key];
    if (!Array.isArray(list)) fail(`'${key}' is not a list`);
    for (const entry of list as unknown[]) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || !Number.isSafeInteger(entry[1]) || (entry[1] as number) < 0) {
        fail(`an entry of '${key}' is not [name, offset]`);
      }
    }
  };
  pairs('functions');
  pairs('globals');
  pairs('types');
  const paths = record.paths;
  if (!Array.isArray(paths) || !paths.every((path) => typeof path === 'string')) return fail("'paths' is not a list of strings");
  const units = record.unitFiles;
  if (!Array.isArray(units)) return fail("'unitFiles' is not a list");
  for (const entry of units as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2 || !Number.isSafeInteger(entry[0]) || !Array.isArray(entry[1]) ||
      !(entry[1] as unknown[]).every((path) => Number.isSafeInteger(path) && (path as number) >= -1 && (path as number) < paths.length)) {
      fail("an entry of 'unitFiles' is not [unit offset, path indexes]");
    }
  }
  return value as SymbolIndex;
}
