// Types of what scripts/code-shim.js lends to the UI tests (test/ui).
import type { Browser } from 'playwright-core';

export interface RunningCodeServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  /** The run folder: user data, extensions, XDG dirs, TMPDIR. */
  readonly folder: string;
  /** Kills code-server's process group (extension host, adapters) and removes the run folder. */
  stop(): void;
  output(): string;
}

export const ROOT: string;
export const CODE_SERVER_BIN: string;
export const CHROMIUM_BIN: string;
export function makeRunFolder(parent?: string): string;
export function codeServerCommand(folder: string, args: string[], timeoutMs?: number): string;
export function startCodeServer(options?: { folder?: string; parent?: string; env?: Record<string, string>; keepFolder?: boolean }): Promise<RunningCodeServer>;
export function launchChromium(folder: string): Promise<Browser>;
export function workbenchUrl(origin: string, where?: { folder?: string; extensionDevelopmentPaths?: string[]; extensionTestsPath?: string }): string;
export function parseTestElectronArguments(argv: string[]): { folder?: string; extensionDevelopmentPaths: string[]; extensionTestsPath?: string; version: boolean };
