// Symbols for the debug adapter: ELF symbols (via vmm-core's ELF parser) and DWARF 4/5 —
// line tables, functions and inlining, variables, types and call frame information for
// unwinding — behind the SymbolFile interface of types.ts. Loaded lazily, per unit.
export * from './types';
export { loadSymbolFile, callerRegisters, ElfSymbolFile, type LoadOptions, type PathMapping } from './symbol-file';
export { SymbolError } from './dwarf-reader';
