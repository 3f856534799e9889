#!/usr/bin/env bash
# Installs the Debian packages that building guests and the side-by-side checks use.
# The core test suite needs only Node; the tests that need these tools (OpenSBI boot, dtc and
# objdump cross-checks, QEMU side by side, qemu-img checks of disk images) run when they are
# installed, and .ci/run installs them.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
  gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf picolibc-riscv64-unknown-elf \
  qemu-system-misc qemu-utils opensbi device-tree-compiler
