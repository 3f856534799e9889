#!/usr/bin/env bash
# Builds every Ringside guest into guests/bin/ (deterministic: fixed flags, relative paths,
# no build id).  Usage: bash guests/build.sh [name...]   (no names = everything)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CROSS=${CROSS:-riscv64-unknown-elf-}
CC=${CROSS}gcc
OUT=guests/bin
OBJ=$(mktemp -d /tmp/ringside-guests.XXXXXX)
trap 'rm -rf "$OBJ"' EXIT
mkdir -p "$OUT"
export SOURCE_DATE_EPOCH=0
export LC_ALL=C

MARCH_GC=rv64imafdc_zicsr_zifencei
MARCH_G=rv64imafd_zicsr_zifencei
COMMON_FLAGS=(-mabi=lp64d -mcmodel=medany -nostdlib -nostartfiles -ffreestanding -fno-builtin
  -fno-tree-loop-distribute-patterns --param=min-pagesize=0 -fno-pic -static -g -Wall -Wno-unused-function
  -ffile-prefix-map="$ROOT"=. -fdebug-prefix-map="$ROOT"=. -Wa,--debug-prefix-map="$ROOT"=. -Iguests/common
  -Wl,--build-id=none -Wl,--no-warn-rwx-segments)

WANT=("$@")
want() {
  [ ${#WANT[@]} -eq 0 ] && return 0
  local w; for w in "${WANT[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}

# compile NAME MARCH OPT "extra" sources... -> objects in $OBJ/NAME/ (one per source, so no
# temporary file names end up in the ELF); prints the object list
compile() {
  local name=$1 march=$2 opt=$3 extra=$4; shift 4
  mkdir -p "$OBJ/$name"
  local src objs=()
  for src in "$@"; do
    local o="$OBJ/$name/$(basename "${src%.*}").o"
    # shellcheck disable=SC2086
    $CC -march="$march" "$opt" "${COMMON_FLAGS[@]}" $extra -c -o "$o" "$src"
    objs+=("$o")
  done
  echo "${objs[@]}"
}

# guest NAME MARCH OPT "extra flags" sources...   (linked with the common runtime)
guest() {
  local name=$1 march=$2 opt=$3 extra=$4; shift 4
  want "$name" || return 0
  local objs
  objs=$(compile "$name" "$march" "$opt" "$extra" guests/common/crt.S guests/common/rt.c "$@")
  # shellcheck disable=SC2086
  $CC -march="$march" "${COMMON_FLAGS[@]}" -T guests/common/link.ld -o "$OUT/$name.elf" $objs
  echo "built $OUT/$name.elf"
}

# raw NAME MARCH OPT "link flags" sources...   (own entry point; link script in the flags)
raw() {
  local name=$1 march=$2 opt=$3 extra=$4; shift 4
  want "$name" || return 0
  local objs
  objs=$(compile "$name" "$march" "$opt" "" "$@")
  # shellcheck disable=SC2086
  $CC -march="$march" "${COMMON_FLAGS[@]}" $extra -o "$OUT/$name.elf" $objs
  echo "built $OUT/$name.elf"
}

guest rv64i      $MARCH_G  -O2 "" guests/rv64i/rv64i.c
guest rv64m      $MARCH_G  -O2 "" guests/rv64m/rv64m.c
guest rv64a      $MARCH_G  -O2 "" guests/rv64a/rv64a.c
guest traps      $MARCH_GC -O2 "" guests/traps/traps.c
guest priv       $MARCH_GC -O2 "" guests/priv/priv.c
guest vm         $MARCH_GC -O2 "" guests/vm/vm.c guests/vm/user.S
guest warmup     $MARCH_GC -O2 "" guests/warmup/warmup.c

# demo kernel: separate objects so the link script can place user.o in user pages
if want demo; then
  for f in start.S machine.c console.c kernel.c user.c; do
    $CC -march=$MARCH_GC -Og "${COMMON_FLAGS[@]}" -c -o "$OBJ/${f%.*}.o" guests/demo/$f
  done
  $CC -march=$MARCH_GC "${COMMON_FLAGS[@]}" -T guests/demo/link.ld -o "$OUT/demo.elf" \
    "$OBJ/start.o" "$OBJ/machine.o" "$OBJ/console.o" "$OBJ/kernel.o" "$OBJ/user.o"
  echo "built $OUT/demo.elf"
fi
guest bench      $MARCH_GC -O2 "" bench/guest/bench.c
guest workload   $MARCH_GC -O2 "" guests/workload/workload.c

# vkernel: kernel and user program in one ELF; the link script places usys.o and user.o at the
# user virtual address.  Calls the compiler makes to memset/memcpy from user code are renamed
# to the user program's own copies, so U-mode never jumps into the kernel's.
if want vkernel; then
  objs=$(compile vkernel $MARCH_GC -Og "" guests/vkernel/start.S guests/vkernel/machine.c \
    guests/vkernel/main.c guests/vkernel/lib.c guests/vkernel/vm.c guests/vkernel/proc.c \
    guests/vkernel/trap.c guests/vkernel/virtio_blk.c guests/vkernel/fdt.c \
    guests/vkernel/user/usys.S guests/vkernel/user/user.c)
  for o in "$OBJ/vkernel/usys.o" "$OBJ/vkernel/user.o"; do
    ${CROSS}objcopy --redefine-sym memset=user_memset --redefine-sym memcpy=user_memcpy "$o"
  done
  # shellcheck disable=SC2086
  $CC -march=$MARCH_GC "${COMMON_FLAGS[@]}" -T guests/vkernel/link.ld -o "$OUT/vkernel.elf" $objs
  echo "built $OUT/vkernel.elf"
fi
guest fd         $MARCH_GC -O2 "" guests/fd/fd.c
guest counters   $MARCH_GC -O2 "" guests/counters/counters.c
guest misaligned $MARCH_GC -O2 "" guests/misaligned/misaligned.c
guest clint      $MARCH_GC -O2 "" guests/clint/clint.c
guest plic       $MARCH_GC -O2 "" guests/plic/plic.c
guest console    $MARCH_GC -O2 "" guests/console/console.c
guest smp        $MARCH_GC -O2 "" guests/smp/smp.c
guest pmp        $MARCH_GC -O2 "" guests/pmp/pmp.c
guest rvc        $MARCH_GC -O2 "" guests/rvc/rvc_main.c guests/rvc/rvc.S
raw   htif       $MARCH_GC -O2 "-T guests/common/link.ld" guests/htif/htif.c
raw   sbi-payload $MARCH_GC -O2 "-T guests/common/link.ld -Wl,--defsym=__ram_origin=0x80200000" guests/sbi/sbi-payload.c
