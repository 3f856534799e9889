// What the debug adapter needs from a symbol file (ELF symbols + DWARF). Implemented by
// symbol-file.ts; the session only uses this interface. Addresses are bigints (64-bit
// virtual addresses as the program was linked).

export interface SourceLocation {
  /** Absolute or build-relative path as recorded in the line program (after path mapping). */
  readonly path: string;
  readonly line: number;
  /** 0 when the line program gives no column. */
  readonly column: number;
}

export interface LineRow extends SourceLocation {
  readonly address: bigint;
  /** The row starts a statement (is_stmt). */
  readonly isStatement: boolean;
}

export interface FunctionInfo {
  readonly name: string;
  readonly lowPc: bigint;
  /** Exclusive. */
  readonly highPc: bigint;
  /** Where the function is declared, when DWARF says. */
  readonly declaration?: SourceLocation;
  /** Added: the address ranges when the code is split (hot/cold parts); lowPc/highPc span them all. */
  readonly ranges?: readonly { readonly low: bigint; readonly high: bigint }[];
}

/** One level of the (possibly inlined) call chain at an address, innermost first. */
export interface InlinedFrame {
  readonly function: FunctionInfo;
  /** For an inlined frame: where the inlined body was called from in its caller. */
  readonly callSite?: SourceLocation;
  readonly inlined: boolean;
}

export type VariableLocation =
  | { kind: 'register'; register: number }              // DW_OP_regN (x0-x31 = 0-31, f0-f31 = 32-63)
  | { kind: 'frameOffset'; offset: bigint }             // DW_OP_fbreg (relative to the frame base)
  | { kind: 'registerOffset'; register: number; offset: bigint } // DW_OP_bregN
  | { kind: 'address'; address: bigint }                // DW_OP_addr
  | { kind: 'unsupported'; reason: string };

/** Type graphs may be cyclic (a struct with a pointer to itself shares the struct's object). */
export interface TypeInfo {
  readonly name: string;
  readonly byteSize: number;
  readonly kind: 'base' | 'pointer' | 'struct' | 'union' | 'array' | 'enum' | 'typedef' | 'other';
  /** Base types: DW_ATE encoding (signed, unsigned, float, boolean, char). */
  readonly encoding?: 'signed' | 'unsigned' | 'float' | 'boolean' | 'signedChar' | 'unsignedChar';
  readonly target?: TypeInfo;                            // pointer / typedef / array element
  readonly members?: readonly { name: string; offset: number; type: TypeInfo }[];
  readonly elementCount?: number;
  readonly enumerators?: readonly { name: string; value: bigint }[];
}

export interface VariableInfo {
  readonly name: string;
  readonly type: TypeInfo | undefined;
  readonly location: VariableLocation;
  readonly kind: 'local' | 'parameter' | 'global';
  /**
   * Added: for locals and parameters, which entry of functionsAt(address) the variable belongs
   * to (0 = the innermost, possibly inlined, function).
   */
  readonly inlineDepth?: number;
}

/** Caller register state recovered by unwinding one frame. */
export interface UnwoundFrame {
  readonly pc: bigint;
  readonly sp: bigint;
  /** Registers the callee saved, by number (x1..x31), as far as CFI/frame pointers say. */
  readonly registers: ReadonlyMap<number, bigint>;
  readonly method: 'cfi' | 'frame-pointer' | 'return-address';
}

export interface RegisterReader {
  register(index: number): bigint;  // x0..x31
  readonly pc: bigint;
  /**
   * Added: true for frames above the innermost one. Their pc is a return address, so CFI and
   * function look-ups use pc - 1 (the call, which may be a function's last instruction).
   */
  readonly callerFrame?: boolean;
}

export type MemoryReader = (address: bigint, size: number) => Uint8Array | undefined;

export interface SymbolFile {
  readonly fileName: string;
  /** Every source file the line program names. */
  readonly sourceFiles: readonly string[];
  /** ELF symbol lookup, for names without DWARF (assembly labels) too. */
  symbolAt(address: bigint): { name: string; address: bigint; size: number } | undefined;
  symbolByName(name: string): { name: string; address: bigint; size: number } | undefined;
  /** The line-table row covering `address`. */
  locationAt(address: bigint): LineRow | undefined;
  /** Statement addresses for a source line (several for inlined or split code), lowest first; empty when the line has no code. */
  addressesForLine(path: string, line: number): readonly bigint[];
  /** The nearest line at or after `line` that has code (for moving a breakpoint). */
  nearestLineWithCode(path: string, line: number): number | undefined;
  /**
   * Added: the address after the prologue of a DWARF function (prologue_end, else the first
   * statement row on another line than the opening one); undefined without DWARF or such a row.
   */
  postPrologueAddress?(info: FunctionInfo): bigint | undefined;
  /** Innermost-first chain of functions (inlined ones first) at `address`. */
  functionsAt(address: bigint): readonly InlinedFrame[];
  functionByName(name: string): FunctionInfo | undefined;
  /** Locals and parameters in scope at `address` (innermost scope first); globals separately. */
  variablesAt(address: bigint): readonly VariableInfo[];
  globals(): readonly VariableInfo[];
  /** Added: how many globals globals() lists, without building them. */
  readonly globalCount: number;
  /** Added: the globals by compile unit (its DW_AT_name), each group read when asked (Linux has thousands). */
  globalGroups(): readonly { readonly name: string; readonly count: number; variables(): readonly VariableInfo[] }[];
  /** Added: whether globals() is non-empty, answered without reading every unit. */
  hasGlobals(): boolean;
  /** Added: the global variable `name`, reading only the unit that defines it (when the index is there). */
  globalByName(name: string): VariableInfo | undefined;
  /** Added: a type by its C name ("struct list_head", "u64") among the types defined at units' top level. */
  typeByName(name: string): TypeInfo | undefined;
  /** Frame base (DW_AT_frame_base) at `address`, for fbreg locations. */
  frameBase(address: bigint, registers: RegisterReader, memory: MemoryReader): bigint | undefined;
  /** Recovers the caller's pc, sp and saved registers (CFI from .debug_frame/.eh_frame, else frame pointer). */
  unwind(registers: RegisterReader, memory: MemoryReader): UnwoundFrame | undefined;
  /**
   * Added: unwinds repeatedly from the innermost frame; entry i is the caller of frame i
   * (frame 0 being `registers`). Stops at the outermost frame, a repeated state, a stack
   * pointer that moves down, or `limit` frames.
   */
  backtrace(registers: RegisterReader, memory: MemoryReader, limit?: number): readonly UnwoundFrame[];
  /** Added: problems met while reading (units or tables that were skipped); grows as parts are parsed. */
  readonly diagnostics: readonly string[];
}
