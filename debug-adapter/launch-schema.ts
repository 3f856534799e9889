// The one description of the `ringside` launch and attach attributes. package.json's
// `contributes.debuggers[0].configurationAttributes` is generated from it
// (scripts/generate-manifest.mjs) and the adapter validates every launch/attach request
// with it. The machine options come from vmm-core's MACHINE_OPTIONS_SCHEMA, so the CLI,
// launch.json and the language server describe a machine the same way.

import { MACHINE_OPTIONS_SCHEMA } from '../vmm-core/machine/config';
import { validateJson, type JsonSchema } from './json-schema';

const { kernel: kernelOption, ...machineOptions } = MACHINE_OPTIONS_SCHEMA.properties;

const PRIVILEGE_SCHEMA: JsonSchema = {
  type: 'string',
  enum: ['M', 'S', 'U'],
  description: 'The privilege level the file\'s code runs at (M firmware, S kernel, U user program).',
};

const ADDRESS_SCHEMA: JsonSchema = {
  oneOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: '^-?(0[xX][0-9a-fA-F]+|[0-9]+)$' },
  ],
};

const SYMBOL_FILE_SCHEMA: JsonSchema = {
  oneOf: [
    { type: 'string', description: 'Path of an ELF file with symbols (and DWARF, when built with -g).' },
    {
      type: 'object',
      additionalProperties: false,
      required: ['path'],
      properties: {
        path: { type: 'string', description: 'Path of an ELF file with symbols (and DWARF, when built with -g).' },
        offset: {
          ...ADDRESS_SCHEMA,
          description: 'Added to every address in the file: where it runs minus where it was linked (e.g. "0x1000"). Default 0.',
        },
        privilege: PRIVILEGE_SCHEMA,
        asid: {
          type: 'integer', minimum: 0, maximum: 65535,
          description: 'Use the file only while satp.ASID has this value (a user program in one address space).',
        },
        satp: {
          ...ADDRESS_SCHEMA,
          description: 'Use the file only while satp has exactly this value (an address space without ASIDs).',
        },
      },
    },
  ],
};

/** Attributes shared by launch and attach. */
const COMMON_PROPERTIES: { readonly [name: string]: JsonSchema } = {
  symbolFiles: {
    type: 'array',
    items: SYMBOL_FILE_SCHEMA,
    default: [],
    description: 'More ELF files to take symbols and debug information from: firmware, user programs. Each may name a load offset and the privilege level or address space (satp/ASID) it belongs to; a frame uses the file that covers its pc at its privilege and address space.',
  },
  cwd: {
    type: 'string',
    description: 'Directory that relative paths (program, files, relative DWARF source paths) are resolved against; usually ${workspaceFolder}. Without it, relative files resolve against the program\'s directory, and relative DWARF source paths against the program\'s directory or the nearest directory above it that holds them (a kernel built with -fdebug-prefix-map=$PWD=. in a build folder); never against the adapter\'s working directory.',
  },
  pathMappings: {
    type: 'object',
    additionalProperties: { type: 'string' },
    default: {},
    description: 'Source path prefixes as recorded in DWARF mapped to local ones, e.g. {"/build/linux": "${workspaceFolder}"}.',
  },
  interruptsDuringStep: {
    type: 'boolean',
    default: false,
    description: 'Let a step be derailed into an interrupt handler. By default a step that takes an interrupt runs the handler to its return and ends in the stepped code.',
  },
  historyMiB: {
    type: 'integer',
    minimum: 0,
    maximum: 65536,
    default: 256,
    description: 'Memory for reverse debugging (Step Back, Reverse Continue), in MiB: checkpoints of the machine and the pages the guest changed since each. The oldest are dropped beyond it, so it bounds how far back history reaches. 0 turns reverse debugging off.',
  },
  addressSpace: {
    type: 'string',
    enum: ['virtual', 'physical'],
    default: 'virtual',
    description: 'How memory references without a prefix are read and written (memory view, evaluate): through the current hart\'s page tables, or as physical addresses. `phys:` / `virt:` prefixes override it.',
  },
};

export const LAUNCH_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['program'],
  properties: {
    // The CLI's --kernel is launch.json's `program`, as in every other debugger.
    program: kernelOption,
    ...machineOptions,
    stopOnEntry: { type: 'boolean', default: false, description: 'Stop at the first instruction instead of running.' },
    replay: {
      type: 'string',
      description: 'A recording (`ringside run --record FILE`) to replay: the machine is the recorded one (no machine attributes go with it; `program` must be its kernel, for symbols) and its inputs arrive where they did, so the run is the recorded one, with breakpoints, stepping and reverse debugging; after its last input the machine runs on live.',
    },
    serial: {
      type: 'string',
      default: 'output',
      pattern: '^(output|terminal|none|file:.+)$',
      description: "Where the guest's console goes: 'output' (the Debug Console, as output events), 'terminal' (ringside/serial events for a terminal the extension opens), 'none', or 'file:PATH'.",
    },
    ...COMMON_PROPERTIES,
  },
};

export const ATTACH_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    port: {
      type: 'integer', minimum: 1, maximum: 65535,
      description: 'The port a machine was started with: `ringside run --debug-port PORT`.',
    },
    host: { type: 'string', default: '127.0.0.1', description: 'Host of that machine.' },
    program: { type: 'string', description: 'Kernel ELF for symbols. Default: the kernel the machine was started with.' },
    stopOnAttach: { type: 'boolean', default: false, description: 'Pause the machine as soon as the debugger is attached.' },
    ...COMMON_PROPERTIES,
  },
};

/** Attributes VS Code (or any client) adds to every configuration; not the adapter's business. */
const CLIENT_ATTRIBUTES = new Set([
  'type', 'request', 'name', 'noDebug', 'debugServer', 'preLaunchTask', 'postDebugTask', 'internalConsoleOptions',
  'presentation', 'suppressMultipleSessionWarning', 'suppressDebugStatusbar', 'suppressDebugToolbar', 'suppressDebugView',
]);

export interface SymbolFileEntry {
  readonly path: string;
  readonly offset?: number | string;
  readonly privilege?: 'M' | 'S' | 'U';
  readonly asid?: number;
  readonly satp?: number | string;
}

interface CommonAttributes {
  readonly symbolFiles?: ReadonlyArray<string | SymbolFileEntry>;
  readonly cwd?: string;
  readonly pathMappings?: Readonly<Record<string, string>>;
  readonly interruptsDuringStep?: boolean;
  readonly addressSpace?: 'virtual' | 'physical';
  readonly historyMiB?: number;
}

export interface LaunchAttributes extends CommonAttributes {
  readonly program: string;
  readonly replay?: string;
  readonly bios?: string;
  readonly initrd?: string;
  readonly append?: string;
  readonly dtb?: string;
  readonly memory?: string;
  readonly harts?: number;
  readonly icountShift?: number;
  readonly idle?: 'pace' | 'skip';
  readonly tier?: 'auto' | 'interpreter';
  readonly cpu?: string;
  readonly drives?: readonly string[];
  readonly netdevs?: readonly string[];
  readonly devices?: readonly string[];
  readonly virtioLegacy?: boolean;
  readonly stopOnEntry?: boolean;
  readonly serial?: string;
}

export interface AttachAttributes extends CommonAttributes {
  readonly port?: number;
  readonly host?: string;
  readonly program?: string;
  readonly stopOnAttach?: boolean;
}

export class AttributeError extends Error {
  override name = 'AttributeError';
}

function check<T>(schema: JsonSchema, request: 'launch' | 'attach', value: unknown): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AttributeError(`${request}: the arguments must be an object`);
  }
  const own = Object.fromEntries(Object.entries(value).filter(([name]) => !CLIENT_ATTRIBUTES.has(name) && !name.startsWith('__')));
  const problems = validateJson({ ...schema, additionalProperties: false }, own);
  if (problems.length > 0) {
    throw new AttributeError(`invalid ${request} configuration: ${problems.join('; ')}`);
  }
  return own as T;
}

/** Validates launch arguments; throws one AttributeError that lists every problem. */
export function validateLaunchAttributes(value: unknown): LaunchAttributes {
  return check<LaunchAttributes>(LAUNCH_SCHEMA, 'launch', value);
}

export function validateAttachAttributes(value: unknown): AttachAttributes {
  return check<AttachAttributes>(ATTACH_SCHEMA, 'attach', value);
}

/** Parses an address attribute (integer or decimal/hex string) into a bigint. */
export function parseAddressAttribute(value: number | string | undefined): bigint {
  if (value === undefined) return 0n;
  if (typeof value === 'number') return BigInt(value);
  const negative = value.startsWith('-');
  const magnitude = BigInt(negative ? value.slice(1) : value);
  return negative ? -magnitude : magnitude;
}

/** A launch.json configuration as a user sees it (strings may hold `${workspaceFolder}`). */
export type LaunchJsonConfiguration = Readonly<Record<string, unknown>> & { readonly type: 'ringside'; readonly request: 'launch' | 'attach'; readonly name: string };

export interface ConfigurationSnippet {
  readonly label: string;
  readonly description: string;
  readonly configuration: LaunchJsonConfiguration;
}

/** What `launch.json` starts with when it is created for a `ringside` folder. */
export const BARE_KERNEL_CONFIGURATION: LaunchJsonConfiguration = {
  type: 'ringside', request: 'launch', name: 'Ringside: boot kernel',
  program: '${workspaceFolder}/kernel.elf', bios: 'none', stopOnEntry: true, serial: 'terminal', cwd: '${workspaceFolder}',
};

/** The snippets "Add Configuration..." offers; each body is checked against the schema by a test. */
export const CONFIGURATION_SNIPPETS: readonly ConfigurationSnippet[] = [
  {
    label: 'Ringside: bare-metal kernel',
    description: 'An RV64 ELF entered in M-mode at its entry point (xv6, teaching kernels), stopped on its first instruction.',
    configuration: BARE_KERNEL_CONFIGURATION,
  },
  {
    label: 'Ringside: OpenSBI + kernel',
    description: 'OpenSBI (fw_jump.elf) in M-mode at 0x80000000, the kernel in S-mode at 0x80200000; firmware symbols are loaded for M-mode.',
    configuration: {
      type: 'ringside', request: 'launch', name: 'Ringside: OpenSBI + kernel',
      program: '${workspaceFolder}/kernel.elf', bios: '${workspaceFolder}/fw_jump.elf', memory: '128M', serial: 'terminal', cwd: '${workspaceFolder}',
    },
  },
  {
    label: 'Ringside: Linux with initrd and disk',
    description: 'Linux (arch/riscv/boot/Image) on the built-in SBI with an initramfs and a virtio disk; symbols from vmlinux.',
    configuration: {
      type: 'ringside', request: 'launch', name: 'Ringside: Linux',
      program: '${workspaceFolder}/arch/riscv/boot/Image', bios: 'builtin', memory: '256M',
      initrd: '${workspaceFolder}/rootfs.cpio.gz', append: 'console=ttyS0 earlycon=sbi root=/dev/vda rw',
      drives: ['file=${workspaceFolder}/disk.img,format=raw'],
      symbolFiles: [{ path: '${workspaceFolder}/vmlinux', privilege: 'S' }],
      serial: 'terminal', cwd: '${workspaceFolder}',
    },
  },
  {
    label: 'Ringside: attach to ringside run --debug-port',
    description: 'Debug a machine started with `ringside run --kernel K --debug-port 4711`.',
    configuration: {
      type: 'ringside', request: 'attach', name: 'Ringside: attach', port: 4711, stopOnAttach: true, cwd: '${workspaceFolder}',
    },
  },
];

/**
 * A snippet body as package.json wants it: a string holding `${...}` is written `^"..."` with
 * the `$` escaped, so the variable reaches launch.json instead of being a snippet placeholder.
 */
function snippetBody(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('${') ? `^${JSON.stringify(value).replace(/\$\{/g, '\\${')}` : value;
  if (Array.isArray(value)) return value.map(snippetBody);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, snippetBody(inner)]));
  return value;
}

/** The `contributes.debuggers` entry of package.json (generated from this file). */
export function debuggerContribution(): Record<string, unknown> {
  return {
    type: 'ringside',
    label: 'Ringside (RISC-V machine)',
    program: './dist/debugAdapter.js',
    runtime: 'node',
    // riscv-asm is the language the extension contributes for .S/.s; asm and riscv are other extensions' ids.
    languages: ['c', 'cpp', 'riscv-asm', 'asm', 'riscv'],
    configurationAttributes: { launch: LAUNCH_SCHEMA, attach: ATTACH_SCHEMA },
    initialConfigurations: [BARE_KERNEL_CONFIGURATION],
    configurationSnippets: CONFIGURATION_SNIPPETS.map((snippet) => ({
      label: snippet.label,
      description: snippet.description,
      body: snippetBody(snippet.configuration),
    })),
  };
}
