// A `ringside test` list file read into test cases: checked against TEST_LIST_SCHEMA, machines
// resolved (list defaults < machine config file < the test's own fields; a test's failOn,
// consoleLacks and timeouts replace the list's), text matches and stop conditions parsed, so
// every mistake is found before any test runs.

import { existsSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { TEST_LIST_SCHEMA } from '../machine/test-list-schema';
import { validateJson } from '../machine/json-schema';
import { parseStopSpec, type StopSpec, UsageError } from './common';
import {
  applyMachineFields, defaultMachineOptions, loadMachineConfigFile, type MachineFields, machineFieldsFromJson, type MachineOptions,
  mergeMachineFields, readJsonFile,
} from './machine-options';

export const DEFAULT_TIMEOUT_SECONDS = 60;
export const DEFAULT_WALL_TIMEOUT_SECONDS = 600;

/** Console text to look for: plain text, or a regular expression (kept as source and flags so it crosses to a worker). */
export type TextMatch = { readonly text: string } | { readonly source: string; readonly flags: string };

export interface InputStep {
  readonly after?: TextMatch;
  readonly send: string;
}

export interface StopCondition {
  /** As written in the list, e.g. `trap:2`. */
  readonly text: string;
  readonly spec: StopSpec;
}

export interface TestCase {
  readonly name: string;
  /** The list file it came from (absolute). */
  readonly listFile: string;
  readonly machine: MachineOptions;
  readonly exitCode: number;
  readonly consoleContains: readonly TextMatch[];
  readonly consoleLacks: readonly TextMatch[];
  /** Typed into the console in order, each step once its `after` text has appeared. */
  readonly consoleInput: readonly InputStep[];
  readonly timeoutSeconds: number;
  readonly wallTimeoutSeconds: number;
  readonly failOn: readonly StopCondition[];
  readonly passOn: readonly StopCondition[];
}

export function describeTextMatch(match: TextMatch): string {
  return 'text' in match ? `'${match.text}'` : `/${match.source}/${match.flags}`;
}

export function findTextMatch(match: TextMatch, output: string): boolean {
  return 'text' in match ? output.includes(match.text) : new RegExp(match.source, match.flags).test(output);
}

/** Where the first match at or after `from` ends, or undefined. */
export function findTextMatchEnd(match: TextMatch, output: string, from: number): number | undefined {
  if ('text' in match) {
    const index = output.indexOf(match.text, from);
    return index < 0 ? undefined : index + match.text.length;
  }
  const pattern = new RegExp(match.source, `${match.flags}g`);
  pattern.lastIndex = from;
  const found = pattern.exec(output);
  return found === null ? undefined : found.index + found[0].length;
}

type JsonObject = { readonly [name: string]: unknown };

/** Reads one list file; throws a UsageError naming the file and the field for anything wrong. */
export function readTestList(path: string): TestCase[] {
  const listFile = resolvePath(path);
  const baseDirectory = dirname(listFile);
  const list = readJsonFile(path, 'test list');
  const problems = validateJson(TEST_LIST_SCHEMA, list);
  if (problems.length > 0) throw new UsageError(`${path}: ${problems.join('; ')}`);
  const top = list as JsonObject;
  const tests = top.tests as readonly JsonObject[];
  if (tests.length === 0) throw new UsageError(`${path}: 'tests' is empty`);

  const textMatches = (value: unknown, field: string): TextMatch[] =>
    ((value as readonly string[] | undefined) ?? []).map((text, index) => parseTextMatch(text, path, `${field}[${index}]`));
  const stopConditions = (value: unknown, field: string): StopCondition[] =>
    ((value as readonly string[] | undefined) ?? []).map((text, index) => ({ text, spec: parseStopSpec(text, `${path}: '${field}[${index}]':`) }));
  const machineFields = (value: unknown, field: string): MachineFields => {
    if (value === undefined) return {};
    const { config, ...inline } = value as JsonObject;
    let fromFile: MachineFields = {};
    if (typeof config === 'string') {
      const configFile = resolvePath(baseDirectory, config);
      if (!existsSync(configFile)) throw new UsageError(`${path}: '${field}.config': no such file '${configFile}'`);
      fromFile = loadMachineConfigFile(configFile);
    }
    return mergeMachineFields(fromFile, machineFieldsFromJson(inline, baseDirectory, path, undefined, `${field}.`));
  };

  const defaults = machineFields(top.machine, 'machine');
  const sharedFailOn = stopConditions(top.failOn, 'failOn');
  const sharedLacks = textMatches(top.consoleLacks, 'consoleLacks');
  const names = new Set<string>();
  return tests.map((test, index) => {
    const field = `tests[${index}]`;
    const name = test.name as string;
    if (names.has(name)) throw new UsageError(`${path}: '${field}.name': a test named '${name}' comes earlier in the list`);
    names.add(name);
    const fields = mergeMachineFields(defaults, machineFields(test.machine, `${field}.machine`));
    // A test has nobody to pace an idle guest for: jump to the next timer event.
    const machine = applyMachineFields(defaultMachineOptions(), { idle: 'skip', ...fields });
    if (machine.kernel === undefined && (machine.bios === 'none' || machine.bios === 'builtin')) {
      throw new UsageError(`${path}: '${field}.machine': no kernel (give 'kernel', or a 'config' file with one, here or in the list's 'machine')`);
    }
    return {
      name,
      listFile,
      machine,
      exitCode: (test.exitCode as number | undefined) ?? 0,
      consoleContains: textMatches(test.consoleContains, `${field}.consoleContains`),
      consoleLacks: test.consoleLacks !== undefined ? textMatches(test.consoleLacks, `${field}.consoleLacks`) : sharedLacks,
      consoleInput: ((test.consoleInput as ReadonlyArray<string | JsonObject> | undefined) ?? []).map((step, stepIndex) =>
        typeof step === 'string' ? { send: step } : {
          send: step.send as string,
          after: step.after !== undefined ? parseTextMatch(step.after as string, path, `${field}.consoleInput[${stepIndex}].after`) : undefined,
        }),
      timeoutSeconds: (test.timeout as number | undefined) ?? (top.timeout as number | undefined) ?? DEFAULT_TIMEOUT_SECONDS,
      wallTimeoutSeconds: (test.wallTimeout as number | undefined) ?? (top.wallTimeout as number | undefined) ?? DEFAULT_WALL_TIMEOUT_SECONDS,
      failOn: test.failOn !== undefined ? stopConditions(test.failOn, `${field}.failOn`) : sharedFailOn,
      passOn: stopConditions(test.passOn, `${field}.passOn`),
    };
  });
}

function parseTextMatch(text: string, path: string, field: string): TextMatch {
  const regex = /^\/(.+)\/([dgimsuy]*)$/s.exec(text);
  if (regex === null) return { text };
  try {
    // `g` and `y` make test() stateful: a match is a yes/no question here.
    const flags = regex[2].replace(/[gy]/g, '');
    new RegExp(regex[1], flags);
    return { source: regex[1], flags };
  } catch (error) {
    throw new UsageError(`${path}: '${field}': not a valid regular expression: ${(error as Error).message}`);
  }
}
