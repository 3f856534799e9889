// disk/: the block backends behind virtio-blk. openDiskImage turns QEMU's -drive vocabulary
// (file, format=raw|qcow2, readonly, snapshot) into a BlockBackend: raw image files, qcow2
// images (versions 2 and 3, backing chains, compressed and zero clusters, internal snapshots
// kept intact), a copy-on-write overlay for snapshot=on, and MemoryDisk for disks in memory.
// Images are locked against other users (QEMU and other Ringside processes) while open, and
// flush() returns only when every completed write is on stable storage. docs/disks.md tells
// the whole story.

export { openDiskImage, MAX_BACKING_DEPTH, type DiskFormat, type DiskImageOptions } from './open';
export { MemoryDisk, type MemoryDiskOptions } from './memory';
export { RawImage } from './raw';
export { Qcow2Image } from './qcow2';
export { buildQcow2Image, createQcow2Image, readQcow2Header, type Qcow2CreateOptions, type Qcow2Header } from './qcow2-format';
export { hostLocksOn, lockImage, type ImageLock, type LockMode } from './lock';
export { probeFormat, type ProbedFormat } from './probe';
