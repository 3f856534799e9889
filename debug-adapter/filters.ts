// Ring and trap filters: the exceptionBreakpointFilters the adapter offers (privilege
// transitions between U, S and M; every standard exception and interrupt code), their
// labels in words, and the debugger event each one arms.

import type { DebugProtocol } from '@vscode/debugprotocol';
import type { EventBreakpointSpec, PrivilegePattern } from '../vmm-core/debug/debugger';
import { EXCEPTION_CAUSES, INTERRUPT_CAUSES, trapCause, trapName } from '../vmm-core/isa/csr-fields';

const PRIVILEGES = ['U', 'S', 'M'] as const;
const PATTERN_WORDS: Record<PrivilegePattern, string> = { U: 'U', S: 'S', M: 'M', '*': 'any' };

const CONDITION_DESCRIPTION =
  'Stop only when this expression is true, e.g. "cause == 13 && tval >= 0x80000000", "hart == 1", "a7 == 64". Names: cause, tval, epc, hart, interrupt, from, to (0 U, 1 S, 3 M) and the registers of the hart.';

function privilegeFilterIds(): Array<[PrivilegePattern, PrivilegePattern]> {
  const pairs: Array<[PrivilegePattern, PrivilegePattern]> = [];
  for (const from of PRIVILEGES) for (const to of PRIVILEGES) if (from !== to) pairs.push([from, to]);
  for (const level of PRIVILEGES) pairs.push(['*', level]);
  for (const level of PRIVILEGES) pairs.push([level, '*']);
  pairs.push(['*', '*']);
  return pairs;
}

function privilegeLabel(from: PrivilegePattern, to: PrivilegePattern): string {
  if (from === '*' && to === '*') return 'Ring: any privilege change';
  return `Ring: ${PATTERN_WORDS[from]} → ${PATTERN_WORDS[to]}`;
}

/** Every filter the adapter offers, in the order the Breakpoints view lists them. */
export const EXCEPTION_FILTERS: readonly DebugProtocol.ExceptionBreakpointsFilter[] = [
  ...privilegeFilterIds().map(([from, to]): DebugProtocol.ExceptionBreakpointsFilter => ({
    filter: `privilege:${from}->${to}`,
    label: privilegeLabel(from, to),
    description: from === '*' && to === '*'
      ? 'Stop before the first instruction after any change of privilege level (trap, mret, sret).'
      : `Stop before the first instruction in ${to === '*' ? 'the new mode' : `${to}-mode`} when the hart goes from ${from === '*' ? 'any level' : `${from}-mode`} to ${to === '*' ? 'another level' : `${to}-mode`} (by a trap, mret or sret).`,
    default: false,
    supportsCondition: true,
    conditionDescription: CONDITION_DESCRIPTION,
  })),
  ...EXCEPTION_CAUSES.map((cause): DebugProtocol.ExceptionBreakpointsFilter => ({
    filter: `exception:${cause.code}`,
    label: `Trap: ${cause.label} (${cause.code})`,
    description: `Stop on the first instruction of the handler when exception ${cause.code} (${cause.name}) is taken.`,
    default: false,
    supportsCondition: true,
    conditionDescription: CONDITION_DESCRIPTION,
  })),
  {
    filter: 'exception:*', label: 'Trap: any exception', description: 'Stop on the first instruction of the handler of any exception.',
    default: false, supportsCondition: true, conditionDescription: CONDITION_DESCRIPTION,
  },
  ...INTERRUPT_CAUSES.map((cause): DebugProtocol.ExceptionBreakpointsFilter => ({
    filter: `interrupt:${cause.code}`,
    label: `Trap: ${cause.label} (${cause.code})`,
    description: `Stop on the first instruction of the handler when interrupt ${cause.code} (${cause.name}) is taken.`,
    default: false,
    supportsCondition: true,
    conditionDescription: CONDITION_DESCRIPTION,
  })),
  {
    filter: 'interrupt:*', label: 'Trap: any interrupt', description: 'Stop on the first instruction of the handler of any interrupt.',
    default: false, supportsCondition: true, conditionDescription: CONDITION_DESCRIPTION,
  },
];

const FILTERS_BY_ID = new Map(EXCEPTION_FILTERS.map((filter) => [filter.filter, filter]));

/** The debugger event a filter id arms, or undefined for an id the adapter does not offer. */
export function filterEvent(id: string): EventBreakpointSpec | undefined {
  if (!FILTERS_BY_ID.has(id)) return undefined;
  const privilege = /^privilege:([USM*])->([USM*])$/.exec(id);
  if (privilege !== null) return { kind: 'privilege', from: privilege[1] as PrivilegePattern, to: privilege[2] as PrivilegePattern };
  const trap = /^(exception|interrupt):(\*|[0-9]+)$/.exec(id);
  if (trap === null) return undefined;
  return { kind: 'trap', interrupt: trap[1] === 'interrupt', code: trap[2] === '*' ? '*' : Number(trap[2]) };
}

export function filterLabel(id: string): string {
  return FILTERS_BY_ID.get(id)?.label ?? id;
}

/** A trap as a filter hit reports it. */
export interface FilterTrap {
  readonly interrupt: boolean;
  readonly cause: number;
  readonly tval: bigint;
  readonly epc: bigint;
}

const hexText = (value: bigint): string => `0x${BigInt.asUintN(64, value).toString(16)}`;

/** The trap in words, as the privileged spec names it: "environment call from U-mode". */
function trapWords(trap: FilterTrap): string {
  const standard = trapCause(trap.interrupt, trap.cause);
  if (standard === undefined) return trapName(trap.interrupt, trap.cause);
  return standard.name.charAt(0).toLowerCase() + standard.name.slice(1);
}

/**
 * What a filter hit was, short (the stopped event's description, shown beside the thread):
 * "U → S: environment call from U-mode", "M → S: mret".
 */
export function filterHitSummary(from: string, to: string, via: 'trap' | 'mret' | 'sret', trap: FilterTrap | undefined): string {
  return `${from} → ${to}: ${trap === undefined ? via : trapWords(trap)}`;
}

/**
 * What a filter hit was, in full (exceptionInfo's description, under the exception widget's
 * title): "U → S: environment call from U-mode (exception 8), epc 0x80019006, tval 0x0".
 */
export function filterHitDescription(from: string, to: string, via: 'trap' | 'mret' | 'sret', trap: FilterTrap | undefined): string {
  const summary = filterHitSummary(from, to, via, trap);
  if (trap === undefined) return summary;
  return `${summary} (${trap.interrupt ? 'interrupt' : 'exception'} ${trap.cause}), epc ${hexText(trap.epc)}, tval ${hexText(trap.tval)}`;
}
