// The one description of CSR bit fields (RV64, privileged spec 1.12): names, bit ranges,
// one-line descriptions and named values, and the trap cause names. The debugger's register
// view decodes with it; the language server's hovers will describe fields from it. Plain
// numbers only, so that isa/ keeps depending on nothing.

/** How a field's value is shown when it has no named value for it. */
export type CsrFieldFormat =
  /** 0/1. */
  | 'flag'
  /** Decimal. */
  | 'decimal'
  /** Hexadecimal. */
  | 'hex'
  /** Shown and valued as an address: the field shifted back to its bit position (mtvec.BASE). */
  | 'address'
  /** Physical page number: hex, with the byte address it names. */
  | 'page'
  /** One letter per set bit, bit 0 = A (misa.Extensions). */
  | 'letters'
  /** The trap cause code of mcause/scause: named from the Interrupt bit of the same value. */
  | 'cause';

export interface CsrField {
  readonly name: string;
  /** Highest bit, inclusive. */
  readonly high: number;
  /** Lowest bit, inclusive. */
  readonly low: number;
  readonly description: string;
  /** Names of the field's values (MPP: 0 = U, 1 = S, 3 = M). */
  readonly values?: Readonly<Record<number, string>>;
  readonly format: CsrFieldFormat;
}

export interface CsrLayout {
  readonly number: number;
  readonly name: string;
  readonly description: string;
  /** Fields from the lowest bit up. */
  readonly fields: readonly CsrField[];
}

export interface DecodedCsrField {
  readonly name: string;
  /** The field's value (for `address` fields: the address it encodes). */
  readonly value: bigint;
  /** Display text: "S (1)", "Sv39 (8)", "0x80200000", "1". */
  readonly text: string;
  readonly description: string;
}

// ---- trap causes ------------------------------------------------------------------------------

export interface TrapCause {
  readonly code: number;
  /** The privileged specification's name ("Store/AMO page fault"). */
  readonly name: string;
  /** Wording for UI labels ("page fault on store"). */
  readonly label: string;
  /** A standard cause this machine never raises (no bit in its mie/mip). */
  readonly notImplemented?: true;
}

/** The standard exception codes (mcause with Interrupt = 0). */
export const EXCEPTION_CAUSES: readonly TrapCause[] = [
  { code: 0, name: 'Instruction address misaligned', label: 'misaligned instruction address' },
  { code: 1, name: 'Instruction access fault', label: 'access fault on instruction fetch' },
  { code: 2, name: 'Illegal instruction', label: 'illegal instruction' },
  { code: 3, name: 'Breakpoint', label: 'breakpoint' },
  { code: 4, name: 'Load address misaligned', label: 'misaligned load' },
  { code: 5, name: 'Load access fault', label: 'access fault on load' },
  { code: 6, name: 'Store/AMO address misaligned', label: 'misaligned store' },
  { code: 7, name: 'Store/AMO access fault', label: 'access fault on store' },
  { code: 8, name: 'Environment call from U-mode', label: 'ecall from U-mode' },
  { code: 9, name: 'Environment call from S-mode', label: 'ecall from S-mode' },
  { code: 11, name: 'Environment call from M-mode', label: 'ecall from M-mode' },
  { code: 12, name: 'Instruction page fault', label: 'page fault on instruction fetch' },
  { code: 13, name: 'Load page fault', label: 'page fault on load' },
  { code: 15, name: 'Store/AMO page fault', label: 'page fault on store' },
];

/** The standard interrupt codes (mcause with Interrupt = 1). */
export const INTERRUPT_CAUSES: readonly TrapCause[] = [
  { code: 1, name: 'Supervisor software interrupt', label: 'supervisor software interrupt' },
  { code: 3, name: 'Machine software interrupt', label: 'machine software interrupt' },
  { code: 5, name: 'Supervisor timer interrupt', label: 'supervisor timer interrupt' },
  { code: 7, name: 'Machine timer interrupt', label: 'machine timer interrupt' },
  { code: 9, name: 'Supervisor external interrupt', label: 'supervisor external interrupt' },
  { code: 11, name: 'Machine external interrupt', label: 'machine external interrupt' },
  // Sscofpmf's local counter-overflow interrupt: standard since privileged spec 1.12; this
  // machine never raises it, but a filter for it costs nothing and matches real kernels' view.
  { code: 13, name: 'Counter-overflow interrupt', label: 'counter-overflow interrupt', notImplemented: true },
];

const exceptionByCode = new Map(EXCEPTION_CAUSES.map((cause) => [cause.code, cause]));
const interruptByCode = new Map(INTERRUPT_CAUSES.map((cause) => [cause.code, cause]));

/** The standard cause entry, or undefined for a reserved or custom code. */
export function trapCause(interrupt: boolean, code: number | bigint): TrapCause | undefined {
  const number = typeof code === 'bigint' ? (code <= 0xffffn && code >= 0n ? Number(code) : -1) : code;
  return (interrupt ? interruptByCode : exceptionByCode).get(number);
}

/** UI wording for exception `code` ("page fault on store"); reserved and custom codes say so. */
export function exceptionName(code: number | bigint): string {
  const known = trapCause(false, code);
  if (known !== undefined) return known.label;
  const value = BigInt(code);
  // Custom use: 24-31 and 48-63 (privileged spec 1.12, table 3.6).
  if ((value >= 24n && value <= 31n) || (value >= 48n && value <= 63n)) return 'custom exception';
  return 'reserved exception';
}

/** UI wording for interrupt `code` ("machine timer interrupt"); codes from 16 up are platform interrupts. */
export function interruptName(code: number | bigint): string {
  const known = trapCause(true, code);
  if (known !== undefined) return known.label;
  return BigInt(code) >= 16n ? 'platform interrupt' : 'reserved interrupt';
}

/** UI wording for a trap. */
export function trapName(interrupt: boolean, code: number | bigint): string {
  return interrupt ? interruptName(code) : exceptionName(code);
}

/** Splits an mcause/scause value into its Interrupt bit and code. */
export function splitCause(cause: bigint): { interrupt: boolean; code: bigint } {
  const value = BigInt.asUintN(64, cause);
  return { interrupt: value >> 63n === 1n, code: value & ((1n << 63n) - 1n) };
}

// ---- layouts ------------------------------------------------------------------------------------

const PRIVILEGE_SPP = { 0: 'U', 1: 'S' };
const PRIVILEGE_MPP = { 0: 'U', 1: 'S', 2: 'reserved', 3: 'M' };
const EXTENSION_STATE = { 0: 'Off', 1: 'Initial', 2: 'Clean', 3: 'Dirty' };
const EXTENSION_SUMMARY = { 0: 'All off', 1: 'None dirty or clean, some on', 2: 'None dirty, some clean', 3: 'Some dirty' };
const XLEN = { 1: '32', 2: '64', 3: '128' };
const VECTOR_MODE = { 0: 'Direct', 1: 'Vectored' };
const ROUNDING_MODE = {
  0: 'RNE (to nearest, ties to even)', 1: 'RTZ (towards zero)', 2: 'RDN (down)', 3: 'RUP (up)',
  4: 'RMM (to nearest, ties to max magnitude)', 7: 'DYN (invalid in frm)',
};
const PMP_ADDRESS_MODE = { 0: 'OFF', 1: 'TOR', 2: 'NA4', 3: 'NAPOT' };

type FieldSpec = [name: string, high: number, low: number, description: string, values?: Readonly<Record<number, string>>, format?: CsrFieldFormat];

function field([name, high, low, description, values, format]: FieldSpec): CsrField {
  return {
    name, high, low, description,
    ...(values === undefined ? {} : { values }),
    format: format ?? (high === low ? 'flag' : 'decimal'),
  };
}

const layouts = new Map<number, CsrLayout>();

function layout(number: number, name: string, description: string, specs: readonly FieldSpec[]): void {
  const fields = specs.map(field).sort((a, b) => a.low - b.low);
  layouts.set(number, { number, name, description, fields });
}

const STATUS_SIE: FieldSpec = ['SIE', 1, 1, 'Supervisor interrupt enable'];
const STATUS_SPIE: FieldSpec = ['SPIE', 5, 5, 'SIE before the last trap into S-mode'];
const STATUS_UBE: FieldSpec = ['UBE', 6, 6, 'U-mode data accesses are big-endian'];
const STATUS_SPP: FieldSpec = ['SPP', 8, 8, 'Privilege before the last trap into S-mode (sret returns to it)', PRIVILEGE_SPP];
const STATUS_VS: FieldSpec = ['VS', 10, 9, 'Vector unit state', EXTENSION_STATE];
const STATUS_FS: FieldSpec = ['FS', 14, 13, 'Floating-point unit state (Off makes F/D instructions illegal)', EXTENSION_STATE];
const STATUS_XS: FieldSpec = ['XS', 16, 15, 'Summary of additional user-mode extension state', EXTENSION_SUMMARY];
const STATUS_SUM: FieldSpec = ['SUM', 18, 18, 'S-mode may access U-mode pages (loads and stores, not fetches)'];
const STATUS_MXR: FieldSpec = ['MXR', 19, 19, 'Loads from executable-only pages succeed'];
const STATUS_UXL: FieldSpec = ['UXL', 33, 32, 'XLEN in U-mode', XLEN];
const STATUS_SD: FieldSpec = ['SD', 63, 63, 'Some extension state (FS, VS, XS) is dirty'];

layout(0x300, 'mstatus', 'Machine status', [
  STATUS_SIE,
  ['MIE', 3, 3, 'Machine interrupt enable'],
  STATUS_SPIE, STATUS_UBE,
  ['MPIE', 7, 7, 'MIE before the last trap into M-mode'],
  STATUS_SPP, STATUS_VS,
  ['MPP', 12, 11, 'Privilege before the last trap into M-mode (mret returns to it)', PRIVILEGE_MPP],
  STATUS_FS, STATUS_XS,
  ['MPRV', 17, 17, 'M-mode loads and stores translate and check as privilege MPP'],
  STATUS_SUM, STATUS_MXR,
  ['TVM', 20, 20, 'Trap S-mode satp accesses and sfence.vma'],
  ['TW', 21, 21, 'Trap wfi outside M-mode'],
  ['TSR', 22, 22, 'Trap sret in S-mode'],
  STATUS_UXL,
  ['SXL', 35, 34, 'XLEN in S-mode', XLEN],
  ['SBE', 36, 36, 'S-mode data accesses are big-endian'],
  ['MBE', 37, 37, 'M-mode data accesses are big-endian'],
  STATUS_SD,
]);

layout(0x100, 'sstatus', 'Supervisor status (a view of mstatus)', [
  STATUS_SIE, STATUS_SPIE, STATUS_UBE, STATUS_SPP, STATUS_VS, STATUS_FS, STATUS_XS, STATUS_SUM, STATUS_MXR, STATUS_UXL, STATUS_SD,
]);

layout(0x301, 'misa', 'Machine ISA', [
  ['Extensions', 25, 0, 'Supported standard extensions, one bit per letter', undefined, 'letters'],
  ['MXL', 63, 62, 'Machine XLEN', XLEN],
]);

/** mie/mip/sie/sip/mideleg share one layout: bit n is interrupt cause n. */
function interruptBits(suffix: string, verb: string, supervisorOnly: boolean): FieldSpec[] {
  const bits: FieldSpec[] = [];
  for (const cause of INTERRUPT_CAUSES) {
    if (cause.notImplemented) continue;
    const machineLevel = cause.name.startsWith('Machine');
    if (supervisorOnly && machineLevel) continue;
    const prefix = `${machineLevel ? 'M' : 'S'}${cause.name.includes('software') ? 'S' : cause.name.includes('timer') ? 'T' : 'E'}`;
    bits.push([`${prefix}${suffix}`, cause.code, cause.code, `${cause.name} ${verb}`]);
  }
  return bits;
}

layout(0x304, 'mie', 'Machine interrupt enable', interruptBits('IE', 'enabled', false));
layout(0x344, 'mip', 'Machine interrupt pending', interruptBits('IP', 'pending', false));
layout(0x104, 'sie', 'Supervisor interrupt enable (the delegated bits of mie)', interruptBits('IE', 'enabled', true));
layout(0x144, 'sip', 'Supervisor interrupt pending (the delegated bits of mip)', interruptBits('IP', 'pending', true));
layout(0x303, 'mideleg', 'Machine interrupt delegation: set bits send that interrupt to S-mode', interruptBits('I', 'delegated to S-mode', false));

layout(0x302, 'medeleg', 'Machine exception delegation: set bits send that exception to S-mode',
  EXCEPTION_CAUSES.map((cause): FieldSpec => [
    cause.name, cause.code, cause.code,
    cause.code === 11 ? 'Cannot be delegated (read-only 0)' : `${cause.name} is handled in S-mode`,
  ]));

for (const [number, name, mode] of [[0x305, 'mtvec', 'M'], [0x105, 'stvec', 'S']] as const) {
  layout(number, name, `${mode === 'M' ? 'Machine' : 'Supervisor'} trap vector`, [
    ['MODE', 1, 0, 'Direct: every trap enters at BASE; Vectored: interrupts enter at BASE + 4 × cause', VECTOR_MODE],
    ['BASE', 63, 2, `Trap handler address (4-byte aligned) for traps into ${mode}-mode`, undefined, 'address'],
  ]);
}

for (const [number, name, mode] of [[0x342, 'mcause', 'M'], [0x142, 'scause', 'S']] as const) {
  layout(number, name, `${mode === 'M' ? 'Machine' : 'Supervisor'} trap cause`, [
    ['Code', 62, 0, `Cause of the last trap into ${mode}-mode`, undefined, 'cause'],
    ['Interrupt', 63, 63, 'The trap was an interrupt (otherwise an exception)'],
  ]);
}

layout(0x180, 'satp', 'Supervisor address translation and protection', [
  ['PPN', 43, 0, 'Physical page number of the root page table', undefined, 'page'],
  ['ASID', 59, 44, 'Address-space identifier', undefined, 'hex'],
  ['MODE', 63, 60, 'Translation scheme', { 0: 'Bare', 8: 'Sv39', 9: 'Sv48', 10: 'Sv57', 11: 'Sv64' }],
]);

/** Counter bits of mcounteren/scounteren/mcountinhibit. */
function counterBits(verb: string, withTime: boolean): FieldSpec[] {
  const bits: FieldSpec[] = [
    ['CY', 0, 0, `cycle ${verb}`],
    ['IR', 2, 2, `instret ${verb}`],
    ['HPM', 31, 3, `hpmcounter3..31 ${verb} (bit n = counter n)`, undefined, 'hex'],
  ];
  if (withTime) bits.push(['TM', 1, 1, `time ${verb}`]);
  return bits;
}

layout(0x306, 'mcounteren', 'Machine counter enable: which counters S-mode may read',
  counterBits('readable below M-mode', true));
layout(0x106, 'scounteren', 'Supervisor counter enable: which counters U-mode may read',
  counterBits('readable in U-mode', true));
layout(0x320, 'mcountinhibit', 'Machine counter inhibit: set bits stop that counter', counterBits('stopped', false));

/** The envcfg fields QEMU 7.2 implements (FIOM and the Zicbom/Zicboz enables). */
const ENVCFG_COMMON: FieldSpec[] = [
  ['FIOM', 0, 0, 'Fence of I/O implies memory'],
  ['CBIE', 5, 4, 'Cache-block invalidate instruction enable (Zicbom)', { 0: 'illegal', 1: 'flush', 3: 'invalidate' }],
  ['CBCFE', 6, 6, 'Cache-block clean and flush instructions enable (Zicbom)'],
  ['CBZE', 7, 7, 'Cache-block zero instruction enable (Zicboz)'],
];
layout(0x30a, 'menvcfg', 'Machine environment configuration (for the modes below M)', [
  ...ENVCFG_COMMON,
  ['PBMTE', 62, 62, 'Svpbmt: page-based memory types allowed in S-mode page tables'],
  ['STCE', 63, 63, 'Sstc: stimecmp enabled for S-mode, and STIP follows it'],
]);
layout(0x10a, 'senvcfg', 'Supervisor environment configuration (for U-mode)', ENVCFG_COMMON);

// Sdtrig: tdata1 as an address/data match trigger of type 2 (mcontrol).
layout(0x7a1, 'tdata1', 'Trigger data 1 of the selected trigger: its type and match control', [
  ['LOAD', 0, 0, 'Match the address of loads'],
  ['STORE', 1, 1, 'Match the address of stores'],
  ['EXECUTE', 2, 2, 'Match the address of executed instructions'],
  ['U', 3, 3, 'Fire in U-mode'],
  ['S', 4, 4, 'Fire in S-mode'],
  ['M', 6, 6, 'Fire in M-mode'],
  ['MATCH', 10, 7, 'Comparison with tdata2', { 0: 'equal' }],
  ['CHAIN', 11, 11, 'Chain with the next trigger'],
  ['ACTION', 15, 12, 'What a match does', { 0: 'breakpoint exception', 1: 'debug mode' }],
  ['SIZELO', 17, 16, 'Access size, low bits (size = sizehi:sizelo: 0 any, 1, 2, 3 = 4, 5 = 8 bytes)', undefined, 'decimal'],
  ['SIZEHI', 22, 21, 'Access size, high bits (mcontrol6 keeps its size in 19:16 instead)', undefined, 'decimal'],
  ['DMODE', 59, 59, 'Writable only from debug mode'],
  ['TYPE', 63, 60, 'Trigger type', { 0: 'none', 2: 'mcontrol', 3: 'icount', 4: 'itrigger', 5: 'etrigger', 6: 'mcontrol6', 15: 'disabled' }],
]);

const FLOAT_FLAGS: FieldSpec[] = [
  ['NX', 0, 0, 'Inexact'],
  ['UF', 1, 1, 'Underflow'],
  ['OF', 2, 2, 'Overflow'],
  ['DZ', 3, 3, 'Divide by zero'],
  ['NV', 4, 4, 'Invalid operation'],
];
layout(0x001, 'fflags', 'Floating-point accrued exceptions', FLOAT_FLAGS);
layout(0x002, 'frm', 'Floating-point dynamic rounding mode', [['FRM', 2, 0, 'Rounding mode of instructions with rm = DYN', ROUNDING_MODE]]);
layout(0x003, 'fcsr', 'Floating-point control and status', [
  ...FLOAT_FLAGS,
  ['FRM', 7, 5, 'Rounding mode of instructions with rm = DYN', ROUNDING_MODE],
]);

/** pmpcfg0 holds entries 0-7, pmpcfg2 entries 8-15 (RV64: odd pmpcfg CSRs do not exist). */
for (const [number, name, firstEntry] of [[0x3a0, 'pmpcfg0', 0], [0x3a2, 'pmpcfg2', 8]] as const) {
  const specs: FieldSpec[] = [];
  for (let slot = 0; slot < 8; slot++) {
    const entry = `pmp${firstEntry + slot}cfg`;
    const bit = 8 * slot;
    specs.push(
      [`${entry}.R`, bit, bit, `Entry ${firstEntry + slot}: readable`],
      [`${entry}.W`, bit + 1, bit + 1, `Entry ${firstEntry + slot}: writable`],
      [`${entry}.X`, bit + 2, bit + 2, `Entry ${firstEntry + slot}: executable`],
      [`${entry}.A`, bit + 4, bit + 3, `Entry ${firstEntry + slot}: address matching (TOR: pmpaddr of the previous entry up to this one; NAPOT: naturally aligned power of two)`, PMP_ADDRESS_MODE],
      [`${entry}.L`, bit + 7, bit + 7, `Entry ${firstEntry + slot}: locked (applies to M-mode too, writes ignored until reset)`],
    );
  }
  layout(number, name, `Physical memory protection configuration, entries ${firstEntry}-${firstEntry + 7}`, specs);
}

/** Every described CSR, by number. */
export const CSR_LAYOUTS: ReadonlyMap<number, CsrLayout> = layouts;

/** The field layout of CSR `number`, or undefined for a CSR without fields (mepc, mscratch, ...). */
export function csrLayout(number: number): CsrLayout | undefined {
  return layouts.get(number);
}

// ---- decoding -----------------------------------------------------------------------------------

const hex = (value: bigint): string => `0x${value.toString(16)}`;

function fieldValue(value: bigint, field: CsrField): bigint {
  const width = BigInt(field.high - field.low + 1);
  return (value >> BigInt(field.low)) & ((1n << width) - 1n);
}

function letters(bits: bigint): string {
  let text = '';
  for (let bit = 0; bit < 26; bit++) if ((bits >> BigInt(bit)) & 1n) text += String.fromCharCode(65 + bit);
  return text === '' ? '(none)' : text;
}

/** Decodes one field of `value` (the whole CSR value). */
export function decodeField(field: CsrField, value: bigint): DecodedCsrField {
  const whole = BigInt.asUintN(64, value);
  const raw = fieldValue(whole, field);
  let text: string;
  let fieldResult = raw;
  let description = field.description;
  if (field.values !== undefined) {
    const name = raw <= 0xffn ? field.values[Number(raw)] : undefined;
    text = `${name ?? 'reserved'} (${raw})`;
  } else {
    switch (field.format) {
      case 'flag':
      case 'decimal':
        text = raw.toString();
        break;
      case 'hex':
        text = hex(raw);
        break;
      case 'address':
        fieldResult = raw << BigInt(field.low);
        text = hex(fieldResult);
        break;
      case 'page':
        text = `${hex(raw)} (address ${hex(raw << 12n)})`;
        break;
      case 'letters':
        text = letters(raw);
        break;
      case 'cause': {
        const { interrupt } = splitCause(whole);
        const cause = trapCause(interrupt, raw);
        text = `${trapName(interrupt, raw)} (${raw})`;
        if (cause !== undefined) description = `${field.description}: ${cause.name}`;
        break;
      }
    }
  }
  return { name: field.name, value: fieldResult, text, description };
}

/** The fields of CSR `csrNumber` holding `value`, from the lowest bit up; [] for a CSR without fields. */
export function decodeCsr(csrNumber: number, value: bigint): DecodedCsrField[] {
  const described = layouts.get(csrNumber);
  if (described === undefined) return [];
  return described.fields.map((field) => decodeField(field, value));
}
