# smp: every hart is online, a parallel workload pinned one job per CPU finishes with the
# right result on the right CPU, and each secondary CPU can be stopped and started again
# (CPU hotplug: SBI HSM hart_stop / hart_start; IPIs for the stop machine and TLB flushes).
want=${arg_cpus:-2}
last=$((want - 1))
expect_eq "nproc" "$(nproc)" "$want"
expect_eq "processors in /proc/cpuinfo" "$(grep -c '^processor' /proc/cpuinfo)" "$want"
expect_eq "online CPUs" "$(cat /sys/devices/system/cpu/online)" "$( [ $want = 1 ] && echo 0 || echo 0-$last)"

job() {  # job CPU: 4 MiB through md5sum on CPU, then the CPU this shell last ran on
  taskset -c "$1" sh -c 'dd if=/dev/zero bs=4096 count=1024 2>/dev/null | md5sum | cut -d" " -f1; awk "{ print \$39 }" /proc/self/stat'
}
reference=$(dd if=/dev/zero bs=4096 count=1024 2>/dev/null | md5sum | cut -d' ' -f1)
start=$(uptime_seconds)
for c in $(seq 0 $last); do job "$c" > /tmp/job.$c & done
wait
log "parallel workload on $want CPU(s): $(awk -v a="$start" -v b="$(uptime_seconds)" 'BEGIN { print b - a }') s"
for c in $(seq 0 $last); do
  expect_eq "md5 from the job on cpu $c" "$(sed -n 1p /tmp/job.$c)" "$reference"
  expect_eq "cpu the job ran on" "$(sed -n 2p /tmp/job.$c)" "$c"
done

for c in $(seq 1 $last); do
  echo 0 > /sys/devices/system/cpu/cpu$c/online || fail "cannot stop cpu $c"
  expect_eq "cpu$c online after stopping it" "$(cat /sys/devices/system/cpu/cpu$c/online)" 0
  expect_eq "nproc with cpu $c stopped" "$(nproc)" "$last"
  echo 1 > /sys/devices/system/cpu/cpu$c/online || fail "cannot start cpu $c again"
  expect_eq "cpu$c online after starting it" "$(cat /sys/devices/system/cpu/cpu$c/online)" 1
  job "$c" > /tmp/job.$c
  expect_eq "cpu the job ran on after restart" "$(sed -n 2p /tmp/job.$c)" "$c"
done
[ $want -gt 1 ] && log "stopped and restarted cpus 1-$last"
grep -E '^ *IPI' /proc/interrupts
if [ $want -gt 1 ]; then
  ipis=$(awk '/^ *IPI/ { for (i = 3; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts)
  [ "$ipis" -gt 0 ] || fail "no IPI was received by cpus 1-$last"
fi
