// The JSON schema of a `ringside test` list (`NAME.ringside-tests.json`): tests, each a machine
// (the machine schema's options inline, or a machine config file) and what the run must show.
// The CLI validates lists with it; editors can validate and complete with it.

import { MACHINE_OPTIONS_SCHEMA } from './config';

const TEXT_MATCH_SCHEMA = {
  type: 'string',
  minLength: 1,
  description: "Text to find in the guest's console output, or a regular expression written /PATTERN/FLAGS (JavaScript syntax).",
} as const;

const STOP_CONDITION_SCHEMA = {
  type: 'string',
  pattern: '^(exception|trap|interrupt|privilege|pc|console):.+$',
  description: "A stop condition in `ringside run --stop-on` words: 'trap:N' or 'exception:N' (exception with cause N, or *), 'interrupt:N', 'privilege:FROM->TO' (U, S, M or *), 'pc:ADDRESS' or 'pc:SYMBOL', 'console:TEXT'.",
} as const;

const TEST_MACHINE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  description: "The machine: the machine options inline, or 'config' naming a machine config file (NAME.ringside.json) that the inline options override. Relative paths are relative to the test list's folder. 'idle' defaults to 'skip' in tests.",
  properties: {
    config: { type: 'string', description: 'A machine config file (NAME.ringside.json), relative to the test list; the other fields here override it.' },
    ...MACHINE_OPTIONS_SCHEMA.properties,
  },
} as const;

/** What a run must show; a test list's top level gives defaults for some of them. */
const TIMEOUT_SCHEMA = {
  type: 'number',
  minimum: 0.000001,
  default: 60,
  description: 'Guest (virtual) seconds the run may take before it fails as a timeout: deterministic, the same on a slow or busy CI machine. Default 60.',
} as const;
const WALL_TIMEOUT_SCHEMA = {
  type: 'number',
  minimum: 0.001,
  default: 600,
  description: 'Wall-clock seconds the run may take (a safety net for a stuck host; the guest timeout is the one that decides). Default 600.',
} as const;
const FAIL_ON_SCHEMA = {
  type: 'array',
  items: STOP_CONDITION_SCHEMA,
  default: [],
  description: "Stop conditions that fail the test when they happen, e.g. ['trap:2'] (an illegal instruction) or ['console:panic'].",
} as const;
const CONSOLE_LACKS_SCHEMA = {
  type: 'array',
  items: TEXT_MATCH_SCHEMA,
  default: [],
  description: 'Console text (or /regex/) that must not appear; the test fails as soon as it does.',
} as const;

const TEST_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, description: 'The test\'s name (unique in the list); --filter matches it.' },
    description: { type: 'string', description: 'What the test checks (for people; ignored).' },
    machine: TEST_MACHINE_SCHEMA,
    exitCode: {
      type: 'integer', minimum: 0, maximum: 65535, default: 0,
      description: 'The exit code the guest must power off with (test finisher, HTIF, SBI shutdown). Default 0.',
    },
    consoleContains: {
      type: 'array',
      items: TEXT_MATCH_SCHEMA,
      default: [],
      description: 'Console text (or /regex/) that must each appear by the end of the run.',
    },
    consoleLacks: CONSOLE_LACKS_SCHEMA,
    consoleInput: {
      type: 'array',
      items: {
        oneOf: [
          { type: 'string', description: 'Text to type at once (after the steps before it).' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['send'],
            properties: {
              after: { ...TEXT_MATCH_SCHEMA, description: 'Wait until the console prints this (text or /regex/) after the previous step\'s match, e.g. a prompt.' },
              send: { type: 'string', description: 'Text to type then; "\\n" is Enter, "\\u0003" Ctrl-C.' },
            },
          },
        ],
      },
      default: [],
      description: 'What to type into the guest\'s console, in order, like expect: [{"after": "$ ", "send": "ls\\n"}]. Text goes in as fast as the guest takes it. Without it the console has no input.',
    },
    timeout: TIMEOUT_SCHEMA,
    wallTimeout: WALL_TIMEOUT_SCHEMA,
    failOn: FAIL_ON_SCHEMA,
    passOn: {
      type: 'array',
      items: STOP_CONDITION_SCHEMA,
      default: [],
      description: "Stop conditions that end the run as a pass (the console expectations are still checked), e.g. ['console:login:'] for a guest that never powers off.",
    },
  },
} as const;

export const TEST_LIST_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Ringside test list',
  description: 'Guest tests for `ringside test`: each boots a machine and checks its exit code and console output.',
  type: 'object',
  additionalProperties: false,
  required: ['tests'],
  properties: {
    $schema: { type: 'string', description: 'The JSON schema of this file (for editors; ignored by Ringside).' },
    machine: { ...TEST_MACHINE_SCHEMA, description: "Machine options every test starts from; a test's own 'machine' overrides them." },
    timeout: { ...TIMEOUT_SCHEMA, description: "Default guest timeout of the tests (a test's own replaces it). Default 60." },
    wallTimeout: { ...WALL_TIMEOUT_SCHEMA, description: "Default wall timeout of the tests (a test's own replaces it). Default 600." },
    failOn: { ...FAIL_ON_SCHEMA, description: "Stop conditions that fail every test that gives no failOn of its own." },
    consoleLacks: { ...CONSOLE_LACKS_SCHEMA, description: "Console text (or /regex/) that no test giving no consoleLacks of its own may print." },
    tests: { type: 'array', items: TEST_SCHEMA, description: 'The tests, run in parallel; results are reported in this order.' },
  },
} as const;
