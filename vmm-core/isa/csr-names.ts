// CSR number → name for the standard unprivileged, supervisor, hypervisor, machine and debug
// CSRs, as GNU objdump (binutils 2.40) names them. Some names depend on the privileged-spec
// version the ELF declares (Tag_RISCV_priv_spec): the N-extension user trap CSRs and
// sedeleg/sideleg were dropped in 1.12; menvcfg, mseccfg, mconfigptr, ... arrived in 1.12.

/** Privileged-architecture versions whose CSR sets differ. objdump's default is 1.12. */
export type PrivilegedSpecVersion = '1.10' | '1.11' | '1.12';

export interface CsrDefinition {
  readonly number: number;
  readonly name: string;
  /** First version that has it (inclusive); absent = every version. */
  readonly since?: PrivilegedSpecVersion;
  /** First version that no longer has it; absent = still present. */
  readonly until?: PrivilegedSpecVersion;
}

const VERSION_ORDER: Record<PrivilegedSpecVersion, number> = { '1.10': 0, '1.11': 1, '1.12': 2 };

const definitions: CsrDefinition[] = [];

function csr(number: number, name: string, since?: PrivilegedSpecVersion, until?: PrivilegedSpecVersion): void {
  definitions.push({ number, name, since, until });
}

/** `count` CSRs numbered from `first`, named prefix + (firstIndex + i) + suffix. */
function series(first: number, prefix: string, firstIndex: number, count: number, suffix = '',
  since?: PrivilegedSpecVersion): void {
  for (let i = 0; i < count; i++) csr(first + i, `${prefix}${firstIndex + i}${suffix}`, since);
}

// Unprivileged: floating point, vector, entropy source, counters.
csr(0x001, 'fflags'); csr(0x002, 'frm'); csr(0x003, 'fcsr');
csr(0x008, 'vstart'); csr(0x009, 'vxsat'); csr(0x00a, 'vxrm'); csr(0x00f, 'vcsr');
csr(0x015, 'seed');
csr(0xc00, 'cycle'); csr(0xc01, 'time'); csr(0xc02, 'instret');
series(0xc03, 'hpmcounter', 3, 29);
csr(0xc20, 'vl'); csr(0xc21, 'vtype'); csr(0xc22, 'vlenb');
csr(0xc80, 'cycleh'); csr(0xc81, 'timeh'); csr(0xc82, 'instreth');
series(0xc83, 'hpmcounter', 3, 29, 'h');

// User trap setup and handling (N extension), gone from 1.12.
csr(0x000, 'ustatus', undefined, '1.12'); csr(0x004, 'uie', undefined, '1.12'); csr(0x005, 'utvec', undefined, '1.12');
csr(0x040, 'uscratch', undefined, '1.12'); csr(0x041, 'uepc', undefined, '1.12'); csr(0x042, 'ucause', undefined, '1.12');
csr(0x043, 'utval', undefined, '1.12'); csr(0x044, 'uip', undefined, '1.12');

// Supervisor.
csr(0x100, 'sstatus');
csr(0x102, 'sedeleg', undefined, '1.12'); csr(0x103, 'sideleg', undefined, '1.12');
csr(0x104, 'sie'); csr(0x105, 'stvec'); csr(0x106, 'scounteren');
csr(0x10a, 'senvcfg', '1.12');
series(0x10c, 'sstateen', 0, 4);
csr(0x114, 'sieh');
csr(0x140, 'sscratch'); csr(0x141, 'sepc'); csr(0x142, 'scause'); csr(0x143, 'stval'); csr(0x144, 'sip');
csr(0x14d, 'stimecmp'); csr(0x150, 'siselect'); csr(0x151, 'sireg'); csr(0x154, 'siph');
csr(0x15c, 'stopei'); csr(0x15d, 'stimecmph');
csr(0x180, 'satp');
csr(0x5a8, 'scontext');
csr(0xda0, 'scountovf'); csr(0xdb0, 'stopi');

// Hypervisor and virtual supervisor.
csr(0x200, 'vsstatus'); csr(0x204, 'vsie'); csr(0x205, 'vstvec'); csr(0x214, 'vsieh');
csr(0x240, 'vsscratch'); csr(0x241, 'vsepc'); csr(0x242, 'vscause'); csr(0x243, 'vstval'); csr(0x244, 'vsip');
csr(0x24d, 'vstimecmp'); csr(0x250, 'vsiselect'); csr(0x251, 'vsireg'); csr(0x254, 'vsiph');
csr(0x25c, 'vstopei'); csr(0x25d, 'vstimecmph'); csr(0x280, 'vsatp');
csr(0x600, 'hstatus'); csr(0x602, 'hedeleg'); csr(0x603, 'hideleg'); csr(0x604, 'hie');
csr(0x605, 'htimedelta'); csr(0x606, 'hcounteren'); csr(0x607, 'hgeie'); csr(0x608, 'hvien');
csr(0x609, 'hvictl'); csr(0x60a, 'henvcfg');
series(0x60c, 'hstateen', 0, 4);
csr(0x613, 'hidelegh'); csr(0x615, 'htimedeltah'); csr(0x618, 'hvienh'); csr(0x61a, 'henvcfgh');
series(0x61c, 'hstateen', 0, 4, 'h');
csr(0x643, 'htval'); csr(0x644, 'hip'); csr(0x645, 'hvip'); csr(0x646, 'hviprio1'); csr(0x647, 'hviprio2');
csr(0x64a, 'htinst'); csr(0x655, 'hviph'); csr(0x656, 'hviprio1h'); csr(0x657, 'hviprio2h');
csr(0x680, 'hgatp'); csr(0x6a8, 'hcontext');
csr(0xe12, 'hgeip'); csr(0xeb0, 'vstopi');

// Machine.
csr(0x300, 'mstatus'); csr(0x301, 'misa'); csr(0x302, 'medeleg'); csr(0x303, 'mideleg');
csr(0x304, 'mie'); csr(0x305, 'mtvec'); csr(0x306, 'mcounteren');
csr(0x308, 'mvien'); csr(0x309, 'mvip');
csr(0x30a, 'menvcfg', '1.12');
series(0x30c, 'mstateen', 0, 4);
csr(0x310, 'mstatush', '1.12');
csr(0x313, 'midelegh'); csr(0x314, 'mieh'); csr(0x318, 'mvienh'); csr(0x319, 'mviph');
csr(0x31a, 'menvcfgh', '1.12');
series(0x31c, 'mstateen', 0, 4, 'h');
csr(0x320, 'mcountinhibit', '1.11');
series(0x323, 'mhpmevent', 3, 29);
csr(0x340, 'mscratch'); csr(0x341, 'mepc'); csr(0x342, 'mcause'); csr(0x343, 'mtval'); csr(0x344, 'mip');
csr(0x34a, 'mtinst', '1.12'); csr(0x34b, 'mtval2', '1.12');
csr(0x350, 'miselect'); csr(0x351, 'mireg'); csr(0x354, 'miph'); csr(0x35c, 'mtopei');
series(0x3a0, 'pmpcfg', 0, 4);
series(0x3a4, 'pmpcfg', 4, 12, '', '1.12');
series(0x3b0, 'pmpaddr', 0, 16);
series(0x3c0, 'pmpaddr', 16, 48, '', '1.12');
series(0x723, 'mhpmevent', 3, 29, 'h');
csr(0x747, 'mseccfg', '1.12'); csr(0x757, 'mseccfgh', '1.12');
csr(0xb00, 'mcycle'); csr(0xb02, 'minstret');
series(0xb03, 'mhpmcounter', 3, 29);
csr(0xb80, 'mcycleh'); csr(0xb82, 'minstreth');
series(0xb83, 'mhpmcounter', 3, 29, 'h');
csr(0xf11, 'mvendorid'); csr(0xf12, 'marchid'); csr(0xf13, 'mimpid'); csr(0xf14, 'mhartid');
csr(0xf15, 'mconfigptr', '1.12');
csr(0xfb0, 'mtopi');

// Debug and trigger module.
csr(0x7a0, 'tselect'); csr(0x7a1, 'tdata1'); csr(0x7a2, 'tdata2'); csr(0x7a3, 'tdata3');
csr(0x7a4, 'tinfo'); csr(0x7a5, 'tcontrol'); csr(0x7a8, 'mcontext'); csr(0x7aa, 'mscontext');
csr(0x7b0, 'dcsr'); csr(0x7b1, 'dpc'); csr(0x7b2, 'dscratch0'); csr(0x7b3, 'dscratch1');

/** Every known CSR, in no particular order. */
export const CSR_DEFINITIONS: readonly CsrDefinition[] = definitions;

function inVersion(definition: CsrDefinition, version: PrivilegedSpecVersion): boolean {
  const order = VERSION_ORDER[version];
  if (definition.since !== undefined && order < VERSION_ORDER[definition.since]) return false;
  if (definition.until !== undefined && order >= VERSION_ORDER[definition.until]) return false;
  return true;
}

// One dense 4096-entry table per version: the disassembler looks names up on every CSR access.
const namesByVersion = new Map<PrivilegedSpecVersion, readonly (string | undefined)[]>();
const numbersByVersion = new Map<PrivilegedSpecVersion, ReadonlyMap<string, number>>();
for (const version of Object.keys(VERSION_ORDER) as PrivilegedSpecVersion[]) {
  const names: (string | undefined)[] = new Array<string | undefined>(4096).fill(undefined);
  const numbers = new Map<string, number>();
  for (const definition of definitions) {
    if (!inVersion(definition, version)) continue;
    names[definition.number] = definition.name;
    numbers.set(definition.name, definition.number);
  }
  namesByVersion.set(version, names);
  numbersByVersion.set(version, numbers);
}

/** Name of CSR `number` (0..0xfff) under `version`, or undefined for an unnamed number. */
export function csrName(number: number, version: PrivilegedSpecVersion = '1.12'): string | undefined {
  return namesByVersion.get(version)?.[number & 0xfff];
}

/** Number of the CSR called `name` under `version`, or undefined. */
export function csrNumber(name: string, version: PrivilegedSpecVersion = '1.12'): number | undefined {
  return numbersByVersion.get(version)?.get(name.trim().toLowerCase());
}

/** The name objdump prints for CSR `number`: its name, or the number in hex (0x7c0). */
export function formatCsr(number: number, version: PrivilegedSpecVersion = '1.12'): string {
  return csrName(number, version) ?? `0x${(number & 0xfff).toString(16)}`;
}
