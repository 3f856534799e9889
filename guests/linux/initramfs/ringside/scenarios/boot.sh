# boot: the kernel reached /init; CPUs, ISA, memory and the clock look right.
want_cpus=${arg_cpus:-1}
expect_eq "processors in /proc/cpuinfo" "$(grep -c '^processor' /proc/cpuinfo)" "$want_cpus"
isa=$(grep -m1 '^isa' /proc/cpuinfo | sed 's/.*: *//')
case $isa in rv64imafdc*) ;; *) fail "isa '$isa' is not rv64imafdc...";; esac
mem_kb=$(grep MemTotal /proc/meminfo | awk '{print $2}')
[ "$mem_kb" -gt 65536 ] || fail "MemTotal ${mem_kb} kB"
t0=$(cut -d' ' -f1 /proc/uptime)
sleep 0.2
t1=$(cut -d' ' -f1 /proc/uptime)
[ "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a >= 0.15) }')" = 1 ] || fail "uptime went from $t0 to $t1 over a 0.2 s sleep"
log "$(uname -sr) $(uname -m), isa $isa, ${mem_kb} kB, $want_cpus cpu(s)"
