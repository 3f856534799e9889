// bridges/: the software I/O bridges between the machine's devices and the host: disk images
// (disk/), networks (net/), consoles (console/) and entropy. types.ts holds the interfaces the
// devices call; each folder holds implementations of one of them.

export * from './types';
