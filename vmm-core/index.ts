// vmm-core: the machine (no vscode, no DAP). This is the library entry the debug adapter,
// the CLI, tests and benchmarks build on. Folder map: isa/ (instruction table, decoder,
// disassembler), cpu/ (CPU model, hart, interpreter, MMU, PMP, debug triggers, floating
// point), monitor/ (traps, privilege changes, sensitive instructions, SBI, exit counts),
// memory/, devices/, machine/ (config, loaders, device tree, the run loop), debug/
// (breakpoints, stepping, execution history), cli/; snapshots are machine/snapshot.ts.

export { Machine, MachineError, type MachineExit, type RunResult, type LoadedImage, type BootMode, type VirtioSlot, type ConsoleInputTarget } from './machine/machine';
export { type MachineConfig, type ImageFile, type VirtioDeviceConfig, type IdleMode, ConfigError, MACHINE_OPTIONS_SCHEMA, parseMemorySize } from './machine/config';
export { MACHINE_FILE_SCHEMA } from './machine/config';
export { TEST_LIST_SCHEMA } from './machine/test-list-schema';
export { validateJson, type JsonSchema } from './machine/json-schema';
export { IdlePacer } from './machine/pacing';
export { warmUpEngine } from './machine/warm-up';
export { lowerHelperThreadPriority } from './machine/thread-priority';
export {
  parseDriveOption, parseNetdevSpec, parseDeviceOption, parseGlobalOption, openVirtioDevices,
  type DriveSpec, type NetdevSpec, type DeviceSpec, type VirtioDeviceSpec, type OpenedDevices,
} from './machine/device-options';
export * from './bridges/index';
export { parseCpuModel, CpuModelError, CPU_FEATURES, DEFAULT_CPU_MODEL, type CpuModel, type CpuFeature } from './cpu/cpu-model';
export {
  saveSnapshot, readSnapshot, restoreSnapshot, snapshotMachineConfig, machineStateHash, summarizeSnapshot, SnapshotError,
  type ParsedSnapshot, type SnapshotSummary,
} from './machine/snapshot';
export { ExecutionHistory, type HistoryPosition, type StepTarget, type RunMode } from './debug/history';
export { Debugger, walkForDebugger, type StopReason, type EventBreakpointSpec, type WatchpointSpec, type CodeBreakpointSpec } from './debug/debugger';
export type { DebugHost, DebugServer, DebugServerModule } from './debug/remote';
export { parseElf, ElfError, type ElfImage, type ElfSymbol } from './machine/elf';
export { disassemble } from './isa/disassembler';
export { decodeInstruction, DecodedInstruction } from './isa/decoder';
export { INSTRUCTIONS, type InstructionSpec } from './isa/table';
export { EXIT_KINDS, type ExitKind } from './monitor/exits';
export {
  decodeCsr, csrLayout, exceptionName, interruptName, trapName, splitCause, EXCEPTION_CAUSES, INTERRUPT_CAUSES,
  type DecodedCsrField, type CsrLayout, type CsrField, type TrapCause,
} from './isa/csr-fields';
