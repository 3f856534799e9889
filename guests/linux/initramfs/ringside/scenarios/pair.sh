# pair: two VMs joined by a stream socket, static addresses 10.0.3.1 (a) and 10.0.3.2 (b).
# Each pings the other; then b tells a it is done over TCP (a listens only after its own pings
# succeeded, so neither powers off while the other still needs it).
case ${arg_role:-} in
  a) me=1 peer=2;;
  b) me=2 peer=1;;
  *) fail "ringside.role must be a or b";;
esac
ip link set lo up
ip addr add 10.0.3.$me/24 dev eth0 || fail "ip addr add"
ip link set eth0 up
wait_for 60 ping -c 1 -W 1 10.0.3.$peer || fail "10.0.3.$peer does not answer"
ping -c 3 -W 2 10.0.3.$peer || fail "ping 10.0.3.$peer"
if [ $me = 1 ]; then
  echo "ack-from-a" | nc -l -p 5000 > /tmp/msg
  expect_eq "message from b" "$(cat /tmp/msg)" "done-from-b"
else
  n=60
  until [ "$(echo done-from-b | nc -w 5 10.0.3.1 5000 2>/dev/null)" = "ack-from-a" ]; do
    n=$((n - 1)); [ $n -gt 0 ] || fail "a never acknowledged"
    sleep 1
  done
fi
log "pinged 10.0.3.$peer and exchanged a TCP message"
