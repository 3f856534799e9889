# console: run with console=hvc0: the kernel console and /init's output are on the virtio
# console; a line typed on it is read back (both directions of virtio-console).
[ -c /dev/hvc0 ] || fail "no /dev/hvc0"
grep -q '^hvc0' /proc/consoles || fail "hvc0 is not a console: $(cat /proc/consoles)"
expect_eq "active console" "$(cat /sys/class/tty/console/active)" hvc0
stty -F /dev/hvc0 -echo 2>/dev/null
echo "HVC READY"
read -t 60 line < /dev/hvc0 || fail "nothing read from /dev/hvc0"
expect_eq "line read from hvc0" "$line" "hvc-input-${arg_token:-notoken}"
echo "HVC GOT $line"
