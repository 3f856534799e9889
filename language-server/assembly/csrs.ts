// What a CSR number says about access: the lowest privilege (address bits 9:8), read-only
// (bits 11:10 = 3), debug-mode only (0x7b0-0x7bf), hypervisor (H, which Ringside's CPU does
// not implement); names and fields come from vmm-core's CSR tables.

import { CSR_DEFINITIONS, csrName } from '../../vmm-core/isa/csr-names';
import { csrLayout } from '../../vmm-core/isa/csr-fields';
import type { Privilege } from './source';

export type CsrPrivilege = 'U' | 'S' | 'H' | 'M';

// Hypervisor CSRs are HS-mode's: S-mode with the H extension (V = 0).
const PRIVILEGE_RANK: Record<CsrPrivilege | Privilege, number> = { U: 0, S: 1, H: 1, M: 3 };

export interface CsrAccessRules {
  readonly number: number;
  readonly name?: string;
  readonly lowestPrivilege: CsrPrivilege;
  readonly readOnly: boolean;
  readonly debugOnly: boolean;
}

export function csrAccessRules(number: number): CsrAccessRules {
  const lowestPrivilege = (['U', 'S', 'H', 'M'] as const)[(number >> 8) & 3];
  return {
    number,
    name: csrName(number),
    lowestPrivilege,
    readOnly: ((number >> 10) & 3) === 3,
    debugOnly: number >= 0x7b0 && number <= 0x7bf,
  };
}

const PRIVILEGE_WORDS: Record<CsrPrivilege, string> = { U: 'U-mode', S: 'S-mode', H: 'HS-mode (S-mode with the H extension)', M: 'M-mode' };

/**
 * Why accessing CSR `number` at `privilege` raises an illegal-instruction exception, or
 * undefined when it may not. Accesses whose legality depends on run-time state (counter
 * enables, mstatus.TVM, FS) are not judged.
 */
export interface IllegalCsrAccess {
  readonly message: string;
  readonly severity: 'error' | 'warning';
  /** `privilege`: legal at a higher privilege; `always`: illegal at any (read-only write, Debug Mode, no H). */
  readonly kind: 'privilege' | 'always';
  /** The diagnostic's code. */
  readonly code: 'csr-privilege' | 'csr-not-implemented';
}

export function illegalCsrAccess(number: number, privilege: Privilege, writes: boolean): IllegalCsrAccess | undefined {
  const rules = csrAccessRules(number);
  const name = rules.name ?? `CSR 0x${number.toString(16)}`;
  if (rules.debugOnly) return { message: `${name} is accessible only in Debug Mode: any access traps`, severity: 'error', kind: 'always', code: 'csr-privilege' };
  if (writes && rules.readOnly) return { message: `${name} is read-only: writing it raises an illegal-instruction exception`, severity: 'error', kind: 'always', code: 'csr-privilege' };
  if (PRIVILEGE_RANK[privilege] < PRIVILEGE_RANK[rules.lowestPrivilege]) {
    return {
      message: `${name} needs ${PRIVILEGE_WORDS[rules.lowestPrivilege]} or higher; this code runs in ${PRIVILEGE_WORDS[privilege]}, where the access raises an illegal-instruction exception`,
      severity: 'error',
      kind: 'privilege',
      code: 'csr-privilege',
    };
  }
  if (rules.lowestPrivilege === 'H') {
    return { message: `${name} belongs to the hypervisor (H) extension, which Ringside's CPU does not implement: the access traps`, severity: 'warning', kind: 'always', code: 'csr-not-implemented' };
  }
  return undefined;
}

/** Whether `privilege` may execute an instruction that needs `lowest`. */
export function privilegeAllows(privilege: Privilege, lowest: 'M' | 'S'): boolean {
  return PRIVILEGE_RANK[privilege] >= PRIVILEGE_RANK[lowest];
}

/** Markdown describing a CSR: number, access, description and fields. */
export function describeCsr(number: number): string {
  const rules = csrAccessRules(number);
  const layout = csrLayout(number);
  const lines = [
    `**${rules.name ?? `CSR 0x${number.toString(16)}`}** (CSR 0x${number.toString(16).padStart(3, '0')})${layout !== undefined ? ` — ${layout.description}` : ''}`,
    '',
    `Lowest privilege: **${rules.lowestPrivilege}** (${PRIVILEGE_WORDS[rules.lowestPrivilege]}) · ${rules.readOnly ? 'read-only' : 'read/write'}${rules.debugOnly ? ' · Debug Mode only' : ''}`,
  ];
  if (layout !== undefined && layout.fields.length > 0) {
    lines.push('', '| Field | Bits | Meaning |', '|---|---|---|');
    for (const field of [...layout.fields].reverse()) {
      const bits = field.high === field.low ? `${field.high}` : `${field.high}:${field.low}`;
      const values = field.values === undefined ? '' : ` (${Object.entries(field.values).map(([value, text]) => `${value} = ${text}`).join(', ')})`;
      lines.push(`| ${field.name} | ${bits} | ${field.description.replace(/\|/g, '\\|')}${values} |`);
    }
  }
  return lines.join('\n');
}

/** Every CSR name of privileged spec 1.12, for completion. */
export function allCsrNames(): Array<{ name: string; number: number }> {
  const seen = new Set<string>();
  const result: Array<{ name: string; number: number }> = [];
  for (const definition of CSR_DEFINITIONS) {
    if (csrName(definition.number) !== definition.name || seen.has(definition.name)) continue;
    seen.add(definition.name);
    result.push({ name: definition.name, number: definition.number });
  }
  return result;
}
