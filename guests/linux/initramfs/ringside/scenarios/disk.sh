# disk: /dev/vda is a copy of disk.ext2 (ext2 in the first 6 MiB of 8 MiB), /dev/vdb a blank
# 8 MiB raw disk. Mount, read, write and remount vda; write and read raw sectors of vdb, then
# mkfs.ext2 it and use it. The harness checks both images afterwards (e2fsck, debugfs).
token=${arg_token:-notoken}
for d in vda vdb; do [ -b /dev/$d ] || fail "no /dev/$d"; done
expect_eq "size of vda" "$(blockdev --getsize64 /dev/vda)" 8388608
expect_eq "size of vdb" "$(blockdev --getsize64 /dev/vdb)" 8388608
drop_caches() { sync; blockdev --flushbufs "$1"; echo 3 > /proc/sys/vm/drop_caches; }

# 1. the template on vda
mkdir -p /mnt/a
mount -t ext2 /dev/vda /mnt/a || fail "mount /dev/vda"
expect_eq "hello.txt" "$(cat /mnt/a/hello.txt)" "hello from the ringside disk template"
expect_eq "dir/nested.txt" "$(cat /mnt/a/dir/nested.txt)" "nested"
[ -n "$arg_patternmd5" ] && expect_eq "md5 of pattern.bin" "$(md5_of /mnt/a/pattern.bin)" "$arg_patternmd5"
seq 1 20000 > /mnt/a/written.txt
written_md5=$(md5_of /mnt/a/written.txt)
echo "token $token" > /mnt/a/token.txt
umount /mnt/a || fail "umount /dev/vda"
drop_caches /dev/vda
mount -t ext2 /dev/vda /mnt/a || fail "remount /dev/vda"
expect_eq "written.txt after remount" "$(md5_of /mnt/a/written.txt)" "$written_md5"
expect_eq "token.txt after remount" "$(cat /mnt/a/token.txt)" "token $token"
umount /mnt/a || fail "umount /dev/vda (2)"
log "vda: template read, files written and read back after remount (written.txt md5 $written_md5)"

# 2. raw sectors on vdb: 64 KiB of a known pattern at 6 MiB (sector 12288), and the last sector
awk 'BEGIN { for (i = 0; i < 4096; i++) printf "%010d-disk\n", i }' > /tmp/raw.bin
raw_md5=$(md5_of /tmp/raw.bin)
dd if=/tmp/raw.bin of=/dev/vdb bs=512 seek=12288 conv=fsync 2>/dev/null || fail "dd to /dev/vdb"
printf 'last-sector-%s\n' "$token" | dd of=/dev/vdb bs=512 seek=16383 conv=sync,fsync 2>/dev/null || fail "dd to the last sector"
drop_caches /dev/vdb
expect_eq "raw sectors read back" "$(dd if=/dev/vdb bs=512 skip=12288 count=128 2>/dev/null | md5sum | cut -d' ' -f1)" "$raw_md5"
expect_eq "last sector" "$(dd if=/dev/vdb bs=512 skip=16383 count=1 2>/dev/null | head -n1)" "last-sector-$token"
expect_eq "bytes past the end" "$(dd if=/dev/vdb bs=512 skip=16384 count=1 2>/dev/null | wc -c)" 0
log "vdb: raw sectors written and read back (md5 $raw_md5)"

# 3. a new file system on vdb (first 4 MiB)
mkfs.ext2 -q -b 1024 -L fresh /dev/vdb 4096 >/dev/null 2>&1 || mkfs.ext2 -b 1024 -L fresh /dev/vdb 4096 || fail "mkfs.ext2 /dev/vdb"
mkdir -p /mnt/b
mount -t ext2 /dev/vdb /mnt/b || fail "mount the new file system"
echo "mkfs $token" > /mnt/b/made.txt
cp /tmp/raw.bin /mnt/b/raw-copy.bin
umount /mnt/b || fail "umount /dev/vdb"
drop_caches /dev/vdb
mount -t ext2 /dev/vdb /mnt/b || fail "remount the new file system"
expect_eq "made.txt after remount" "$(cat /mnt/b/made.txt)" "mkfs $token"
expect_eq "raw-copy.bin after remount" "$(md5_of /mnt/b/raw-copy.bin)" "$raw_md5"
umount /mnt/b
sync
log "vdb: mkfs.ext2, files written and read back after remount"
