// bridges/: the software I/O bridges between the machine's devices and the host: disk images
// (disk/), networks (net/), consoles (console/) and entropy. types.ts holds the interfaces the
// devices call; each folder holds implementations of one of them.

export * from './types';
export { SeededEntropySource, HostEntropySource, DEFAULT_ENTROPY_SEED } from './entropy';
export { openDiskImage, MemoryDisk, type DiskImageOptions, type DiskFormat } from './disk/index';
export { parseNetdevOption, openNetBackend, UserNetwork, StreamNetwork, DgramNetwork, PcapCapture, type NetdevConfig } from './net/index';
export { parseConsoleSpec, openConsoleBackend, StdioConsole, SocketConsole, FileConsole, NullConsole, type ConsoleSpec } from './console/index';
