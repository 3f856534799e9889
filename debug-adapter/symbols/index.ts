// Symbols for the debug adapter: ELF symbols (via vmm-core's ELF parser) and DWARF 4/5 —
// line tables, functions and inlining, variables, types and call frame information for
// unwinding — behind the SymbolFile interface of types.ts. Loaded lazily, per unit; what needs
// every unit comes from the symbol index (symbol-index.ts), built by a worker
// (background-index.ts, index-worker.ts -> dist/symbolIndexWorker.js) and cached on disk
// (index-cache.ts).
export * from './types';
export { loadSymbolFile, callerRegisters, ElfSymbolFile, type LoadOptions, type PathMapping } from './symbol-file';
export { SymbolError } from './dwarf-reader';
