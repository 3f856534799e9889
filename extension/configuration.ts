// How a `ringside` debug configuration is completed before VS Code starts the session: F5 in a
// folder without launch.json (or with no folder at all) boots the demo kernel that ships in the
// extension; a configuration without `cwd` gets the workspace folder, so relative paths in it and
// relative DWARF source paths resolve against the folder the user opened. No `vscode` import, so
// tests run it directly.

import { dirname, isAbsolute, join } from 'node:path';
import type { LaunchJsonConfiguration } from '../debug-adapter/launch-schema';

/** Where the demo kernel and its sources sit inside the installed extension (and the repository). */
export const DEMO_KERNEL_PATH = 'guests/bin/demo.elf';
export const DEMO_SOURCE_FOLDER = 'guests/demo';

export const DEMO_CONFIGURATION_NAME = 'Ringside: demo kernel';

/**
 * The demo kernel's launch configuration. Its DWARF names sources relative to the repository
 * root (`guests/demo/kernel.c`), so `cwd` is the extension's root, where those sources ship.
 */
export function demoConfiguration(extensionRoot: string): LaunchJsonConfiguration {
  return {
    type: 'ringside',
    request: 'launch',
    name: DEMO_CONFIGURATION_NAME,
    program: join(extensionRoot, DEMO_KERNEL_PATH),
    bios: 'none',
    stopOnEntry: true,
    serial: 'terminal',
    cwd: extensionRoot,
  };
}

export interface ResolutionContext {
  /** The folder the configuration belongs to (or the first workspace folder); undefined without one. */
  readonly workspaceFolder?: string;
  readonly extensionRoot: string;
}

/** True for the empty configuration VS Code passes when F5 is pressed without a launch.json. */
export function isEmptyConfiguration(configuration: Readonly<Record<string, unknown>>): boolean {
  return configuration.type === undefined && configuration.request === undefined && configuration.name === undefined;
}

/**
 * Completes a configuration: the empty one becomes the demo kernel's; a `ringside` one without
 * `cwd` gets the workspace folder, or without a folder the directory of an absolute `program`.
 * Everything else is left for the adapter, which validates the whole configuration against the
 * launch schema and answers with one clear error.
 */
export function resolveConfiguration(configuration: Readonly<Record<string, unknown>>, context: ResolutionContext): Record<string, unknown> {
  if (isEmptyConfiguration(configuration)) return { ...demoConfiguration(context.extensionRoot) };
  const resolved: Record<string, unknown> = { ...configuration };
  if (resolved.type !== 'ringside' || resolved.cwd !== undefined) return resolved;
  if (context.workspaceFolder !== undefined) resolved.cwd = context.workspaceFolder;
  else if (typeof resolved.program === 'string' && isAbsolute(resolved.program)) resolved.cwd = dirname(resolved.program);
  return resolved;
}
