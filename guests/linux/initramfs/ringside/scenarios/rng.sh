# rng: the virtio entropy device is the current hwrng and /dev/hwrng gives fresh bytes.
avail=$(cat /sys/class/misc/hw_random/rng_available 2>/dev/null)
current=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
log "rng_available: $avail; rng_current: $current"
case $current in virtio_rng*) ;; *) fail "rng_current is '$current', not virtio_rng";; esac
[ -c /dev/hwrng ] || fail "no /dev/hwrng"
head -c 64 /dev/hwrng > /tmp/r1
head -c 64 /dev/hwrng > /tmp/r2
expect_eq "bytes read from /dev/hwrng" "$(wc -c < /tmp/r1)" 64
hexdump -C /tmp/r1
cmp -s /tmp/r1 /tmp/r2 && fail "two reads of /dev/hwrng gave the same bytes"
head -c 64 /dev/zero | cmp -s - /tmp/r1 && fail "/dev/hwrng gave zeros"
