#!/usr/bin/env bash
# Installs the Debian packages that building guests and the side-by-side checks use
# (guests/linux/build.sh: the Linux 6.1 kernel and busybox built from Debian's sources).
# The core of the test suite needs only Node; the tests that need these tools (OpenSBI boot, dtc
# and objdump cross-checks, QEMU side by side, qemu-img checks of disk images, tshark reading
# packet captures, passt as a network peer) fail naming this script until it has run; .ci/run runs it.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
  gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf picolibc-riscv64-unknown-elf \
  qemu-system-misc qemu-utils opensbi device-tree-compiler \
  make gcc flex bison bc cpio xz-utils bzip2 patch dpkg-dev gcc-riscv64-linux-gnu libc6-dev-riscv64-cross \
  linux-source-6.1 e2fsprogs u-boot-qemu util-linux \
  tshark passt python3
