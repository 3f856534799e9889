#!/usr/bin/env bash
# Builds Ringside's Linux guest from Debian's own source packages into a cache directory
# outside the repository:
#
#   ${RINGSIDE_LINUX_DIR:-$HOME/.cache/ringside/linux-6.1}/
#     Image, vmlinux (DWARF 4)     one kernel for every scenario (linux-source-6.1 + kernel.config)
#     initramfs.cpio               uncompressed: busybox (static, riscv64) + our /init and scenarios
#     rootfs/                      the tree the cpio is made from (busybox hard-linked, not copied)
#     disk.ext2                    8 MiB raw image, ext2 in the first 6 MiB, made by mke2fs -d
#
# Usage: bash guests/linux/build.sh [kernel|busybox|initramfs|disk]...   (nothing = all)
# Steps whose outputs are up to date are skipped; a re-run with nothing changed takes seconds.
# The heavy steps run under `nice`. Nothing fetched or built here is committed.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${RINGSIDE_LINUX_DIR:-$HOME/.cache/ringside/linux-6.1}
JOBS=${JOBS:-$(nproc)}
CROSS=riscv64-linux-gnu-
KERNEL_TARBALL=/usr/src/linux-source-6.1.tar.xz
KSRC=$OUT/src/linux-source-6.1
KBUILD=$OUT/kbuild
# Fixed build identity so the kernel does not relink on every run and builds are comparable.
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 1970' KBUILD_BUILD_USER=ringside KBUILD_BUILD_HOST=ringside
export SOURCE_DATE_EPOCH=0

# Hard link (the cache's trees are copy-free); a copy only when the cache is on another file system.
link() { ln -f "$1" "$2" 2>/dev/null || cp -f "$1" "$2"; }
say() { printf '[linux-guest] %s\n' "$*"; }
die() { printf 'guests/linux/build.sh: %s\n' "$*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

STEPS=("$@")
# Named steps always run their own incremental make (for edits inside the cached sources);
# a plain run trusts outputs that are newer than their configuration.
EXPLICIT=$#
[ ${#STEPS[@]} -eq 0 ] && STEPS=(kernel busybox initramfs disk)
want() { local s; for s in "${STEPS[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
for s in "${STEPS[@]}"; do
  case $s in kernel|busybox|initramfs|disk) ;; *) die "unknown step '$s' (kernel, busybox, initramfs, disk)";; esac
done

# ---- Debian packages this needs (scripts/install-deps.sh installs all of them) ----
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_file() { [ -e "$1" ] || missing+=("$2"); }
need_cmd make make
need_cmd gcc gcc
need_cmd flex flex
need_cmd bison bison
need_cmd bc bc
need_cmd cpio cpio
need_cmd xz xz-utils
need_cmd ${CROSS}gcc gcc-riscv64-linux-gnu
need_file /usr/riscv64-linux-gnu/lib/libc.a libc6-dev-riscv64-cross
need_file $KERNEL_TARBALL linux-source-6.1
need_cmd mke2fs e2fsprogs
need_cmd debugfs e2fsprogs
need_cmd perl perl-base
need_cmd apt-get apt
need_cmd dpkg-source dpkg-dev
if [ ${#missing[@]} -gt 0 ]; then
  die "missing Debian packages: $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  install them with: bash scripts/install-deps.sh"
fi

mkdir -p "$OUT/src"
say "cache: $OUT"

# ---- kernel ----
build_kernel() {
  local t0 stamp want_stamp
  t0=$(date +%s)
  want_stamp="$(stat -c '%s %Y' "$KERNEL_TARBALL")"
  stamp=$(cat "$KSRC/.ringside-source" 2>/dev/null || true)
  if [ "$stamp" != "$want_stamp" ]; then
    say "kernel: extracting $KERNEL_TARBALL"
    rm -rf "$KSRC" "$KBUILD"
    nice tar -C "$OUT/src" -xJf "$KERNEL_TARBALL"
    echo "$want_stamp" > "$KSRC/.ringside-source"
    stamp=$want_stamp
  fi
  mkdir -p "$KBUILD"
  local kmake=(nice make -C "$KSRC" O="$KBUILD" ARCH=riscv CROSS_COMPILE=$CROSS -s)
  want_stamp="$(sha256sum "$HERE/kernel.config" | cut -d' ' -f1) $stamp"
  if [ ! -f "$KBUILD/.config" ] || [ "$(cat "$KBUILD/.ringside-config" 2>/dev/null)" != "$want_stamp" ]; then
    say "kernel: allnoconfig + guests/linux/kernel.config"
    "${kmake[@]}" KCONFIG_ALLCONFIG="$HERE/kernel.config" allnoconfig
    echo "$want_stamp" > "$KBUILD/.ringside-config"
  fi
  # Every line of the fragment must be in the result (a dependency we missed silently drops one).
  local line name bad=()
  while IFS= read -r line; do
    case $line in
      CONFIG_*=*) grep -qxF "$line" "$KBUILD/.config" || bad+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$KBUILD/.config" || echo absent))");;
      "# CONFIG_"*" is not set")
        name=${line#\# }; name=${name%% *}
        if grep -q "^$name=" "$KBUILD/.config"; then bad+=("$line (got: $(grep "^$name=" "$KBUILD/.config"))"); fi;;
    esac
  done < "$HERE/kernel.config"
  if [ ${#bad[@]} -gt 0 ]; then
    die "kernel .config lacks lines of kernel.config: $(printf '\n  %s' "${bad[@]}")"
  fi
  if [ "$EXPLICIT" = 0 ] && [ "$OUT/Image" -nt "$KBUILD/.config" ] && [ "$OUT/vmlinux" -nt "$KBUILD/.config" ]; then
    say "kernel: up to date ($OUT/Image; 'build.sh kernel' runs make anyway)"
    return 0
  fi
  say "kernel: make -j$JOBS Image vmlinux (incremental)"
  "${kmake[@]}" -j"$JOBS" Image vmlinux
  link "$KBUILD/arch/riscv/boot/Image" "$OUT/Image"
  link "$KBUILD/vmlinux" "$OUT/vmlinux"
  say "kernel: done in $(elapsed "$t0"): Image $(stat -c %s "$OUT/Image") bytes, vmlinux $(stat -c %s "$OUT/vmlinux") bytes"
}

# ---- busybox: Debian's source package, fetched with a private apt configuration ----
BBSRC=""
busybox_source() {
  BBSRC=$(find "$OUT/src" -maxdepth 1 -type d -name 'busybox-*' | sort | tail -1)
  [ -n "$BBSRC" ] && [ -f "$BBSRC/.ringside-source" ] && return 0
  say "busybox: fetching Debian's source package (private apt lists under $OUT/apt)"
  local apt="$OUT/apt"
  rm -rf "$apt"; mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d"
  : > "$apt/sources.list"
  # deb-src twins of the system's Debian entries (the system's own apt configuration is not touched)
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    grep -E '^[[:space:]]*deb[[:space:]]' "$f" | grep -i debian | sed -E 's/^[[:space:]]*deb[[:space:]]/deb-src /' >> "$apt/sources.list" || true
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    grep -qi debian "$f" || continue
    sed -E 's/^Types:.*/Types: deb-src/' "$f" > "$apt/sources.list.d/$(basename "$f")"
  done
  local aptopts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts="$apt/sources.list.d"
    -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o Debug::NoLocking=1 -q)
  apt-get "${aptopts[@]}" update >"$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; die "apt-get update (deb-src) failed"; }
  (cd "$OUT/src" && apt-get "${aptopts[@]}" source busybox >"$apt/source.log" 2>&1) \
    || { cat "$apt/source.log" >&2; die "apt-get source busybox failed"; }
  BBSRC=$(find "$OUT/src" -maxdepth 1 -type d -name 'busybox-*' | sort | tail -1)
  [ -n "$BBSRC" ] || die "apt-get source busybox left no busybox-* directory in $OUT/src"
  grep -m1 -o '^busybox ([^)]*)' "$BBSRC/debian/changelog" > "$BBSRC/.ringside-source"
  say "busybox: $(cat "$BBSRC/.ringside-source") in $BBSRC"
}

build_busybox() {
  local t0 want_stamp
  t0=$(date +%s)
  busybox_source
  local bbmake=(nice make -C "$BBSRC" ARCH=riscv CROSS_COMPILE=$CROSS -s)
  want_stamp=$(sha256sum "$HERE/busybox.config" | cut -d' ' -f1)
  if [ ! -f "$BBSRC/.config" ] || [ "$(cat "$BBSRC/.ringside-config" 2>/dev/null)" != "$want_stamp" ]; then
    say "busybox: allnoconfig + guests/linux/busybox.config"
    # busybox's old kconfig ignores KCONFIG_ALLCONFIG values under allnoconfig: set the
    # fragment's lines into the allnoconfig result, then let oldconfig settle the rest
    # (new sub-options take their defaults).
    "${bbmake[@]}" allnoconfig >/dev/null
    awk 'NR == FNR { if ($0 ~ /^CONFIG_[A-Z0-9_]+=/) { n = $0; sub(/=.*/, "", n); want[n] = $0 } next }
         { n = $0; sub(/^# /, "", n); sub(/[= ].*/, "", n); if (n in want) next; print }
         END { for (n in want) print want[n] }' "$HERE/busybox.config" "$BBSRC/.config" > "$BBSRC/.config.new"
    mv "$BBSRC/.config.new" "$BBSRC/.config"
    (set +o pipefail; yes "" | "${bbmake[@]}" oldconfig >/dev/null)
    echo "$want_stamp" > "$BBSRC/.ringside-config"
  fi
  local line bad=()
  while IFS= read -r line; do
    case $line in CONFIG_*=*) grep -qxF "$line" "$BBSRC/.config" || bad+=("$line");; esac
  done < "$HERE/busybox.config"
  [ ${#bad[@]} -eq 0 ] || die "busybox .config lacks lines of busybox.config: $(printf '\n  %s' "${bad[@]}")"
  if [ "$EXPLICIT" = 0 ] && [ "$BBSRC/busybox" -nt "$BBSRC/.config" ] && [ "$BBSRC/busybox.links" -nt "$BBSRC/.config" ]; then
    say "busybox: up to date ($BBSRC/busybox; 'build.sh busybox' runs make anyway)"
    return 0
  fi
  say "busybox: make -j$JOBS (static, riscv64, incremental)"
  "${bbmake[@]}" -j"$JOBS" busybox busybox.links > "$OUT/busybox-build.log" 2>&1 \
    || { tail -40 "$OUT/busybox-build.log" >&2; die "busybox did not build (log: $OUT/busybox-build.log)"; }
  say "busybox: done in $(elapsed "$t0"): $(stat -c %s "$BBSRC/busybox") bytes, $(wc -l < "$BBSRC/busybox.links") applets"
}

# ---- rootfs/ and initramfs.cpio ----
build_initramfs() {
  busybox_source
  local bb="$BBSRC/busybox" cpio="$OUT/initramfs.cpio"
  [ -x "$bb" ] || die "no busybox binary: run bash guests/linux/build.sh busybox"
  if [ -f "$cpio" ] && [ -z "$(find "$bb" "$HERE/initramfs" "$HERE/build.sh" -newer "$cpio" -print -quit)" ]; then
    say "initramfs: up to date ($cpio)"
    return 0
  fi
  local root="$OUT/rootfs"
  rm -rf "$root"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,mnt,root,etc,run}
  link "$bb" "$root/bin/busybox"
  local link
  while IFS= read -r link; do
    [ "$link" = /bin/busybox ] && continue
    mkdir -p "$root$(dirname "$link")"
    ln -sf /bin/busybox "$root$link"
  done < "$BBSRC/busybox.links"
  # our own files from the repository
  (cd "$HERE/initramfs" && find . -type d) | while IFS= read -r d; do mkdir -p "$root/$d"; done
  (cd "$HERE/initramfs" && find . -type f) | while IFS= read -r f; do link "$HERE/initramfs/$f" "$root/$f"; done
  # gen_init_cpio (from the kernel tree) makes the archive without root: owners 0:0, a console node
  local gen="$OUT/tools/gen_init_cpio"
  if [ ! -x "$gen" ] || [ "$KSRC/usr/gen_init_cpio.c" -nt "$gen" ]; then
    [ -f "$KSRC/usr/gen_init_cpio.c" ] || die "no kernel source: run bash guests/linux/build.sh kernel"
    mkdir -p "$OUT/tools"; gcc -O2 -o "$gen" "$KSRC/usr/gen_init_cpio.c"
  fi
  local list="$OUT/initramfs.list" p mode
  {
    echo "nod /dev/console 600 0 0 c 5 1"
    (cd "$root" && find . -mindepth 1 | sort) | while IFS= read -r p; do
      p=${p#.}
      if [ -L "$root$p" ]; then echo "slink $p $(readlink "$root$p") 777 0 0"
      elif [ -d "$root$p" ]; then echo "dir $p $(stat -c %a "$root$p") 0 0"
      else mode=$(stat -c %a "$root$p"); echo "file $p $root$p $mode 0 0"; fi
    done
  } > "$list"
  "$gen" -t 0 "$list" > "$cpio.tmp"
  # gen_init_cpio stamps regular files with their own mtime (build time for busybox, checkout
  # time for ours): zero every newc header's mtime so the archive depends on contents only.
  perl -e 'local $/; open(my $f, "+<", $ARGV[0]) or die $!; binmode $f; my $d = <$f>; my $o = 0;
    while (substr($d, $o, 6) eq "070701") {
      my ($size, $namesize) = map { hex substr($d, $o + 6 + 8 * $_, 8) } (6, 11);
      substr($d, $o + 6 + 8 * 5, 8) = "00000000";
      $o += (110 + $namesize + 3) & ~3; $o += ($size + 3) & ~3;
    }
    seek($f, 0, 0); print $f $d; close $f' "$cpio.tmp"
  mv "$cpio.tmp" "$cpio"
  say "initramfs: $cpio ($(stat -c %s "$cpio") bytes, $(wc -l < "$list") entries)"
}

# ---- disk.ext2: an ext2 template with known files (the disk scenario and U-Boot read them) ----
build_disk() {
  local disk="$OUT/disk.ext2"
  if [ -f "$disk" ] && [ ! "$HERE/build.sh" -nt "$disk" ]; then
    say "disk: up to date ($disk)"
    return 0
  fi
  local dir="$OUT/disk-root"
  rm -rf "$dir"; mkdir -p "$dir/dir"
  printf 'hello from the ringside disk template\n' > "$dir/hello.txt"
  # 64 KiB of a known pattern: 16-byte lines, each starting with its own offset in hex
  awk 'BEGIN { for (i = 0; i < 4096; i++) printf "%06x-ringside\n", i * 16 }' > "$dir/pattern.bin"
  printf 'nested\n' > "$dir/dir/nested.txt"
  find "$dir" -exec touch -h -d @0 {} +    # fixed times: the same image on every build
  rm -f "$disk.tmp"; truncate -s 6M "$disk.tmp"
  # 6 MiB file system (1 KiB blocks) in an 8 MiB image: the last 2 MiB stay raw for sector tests
  E2FSPROGS_FAKE_TIME=1 mke2fs -q -F -t ext2 -b 1024 -m 0 -L ringside -N 64 \
    -U 52494e47-5349-4445-8000-000000000001 -E root_owner=0:0,hash_seed=52494e47-5349-4445-8000-000000000002 \
    -d "$dir" "$disk.tmp" 6144
  # mke2fs -d copies each file's ctime (always "now"): zero all inode times so every build of
  # the template is byte-identical
  (cd "$dir" && find . | sed 's#^\.##; s#^$#/#') | while IFS= read -r p; do
    printf 'sif "%s" atime 0\nsif "%s" mtime 0\nsif "%s" ctime 0\n' "$p" "$p" "$p"
  done > "$OUT/disk-times.debugfs"
  E2FSPROGS_FAKE_TIME=1 debugfs -w -f "$OUT/disk-times.debugfs" "$disk.tmp" >/dev/null 2>&1 || die "debugfs could not set the template's inode times"
  truncate -s 8M "$disk.tmp"
  mv "$disk.tmp" "$disk"
  say "disk: $disk (8 MiB; ext2 in the first 6 MiB)"
}

T0=$(date +%s)
want kernel && build_kernel
want busybox && build_busybox
want initramfs && build_initramfs
want disk && build_disk
say "all done in $(elapsed "$T0")"
