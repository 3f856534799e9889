# net: eth0 by DHCP (user-mode NAT), ping the gateway, fetch pages from the host's HTTP server
# (http://10.0.2.2:PORT/), serve one connection forwarded from the host to port 7777.
token=${arg_token:-notoken}
ip link set lo up
ip link show eth0 >/dev/null 2>&1 || fail "no eth0"
udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script >/tmp/udhcpc.log 2>&1 || { cat /tmp/udhcpc.log; fail "DHCP failed"; }
cat /tmp/udhcpc.log
addr=$(ip -4 addr show dev eth0 | awk '/inet / { print $2 }')
gw=$(ip route | awk '/^default/ { print $3 }')
log "eth0 $addr, gateway $gw"
[ -n "$addr" ] && [ -n "$gw" ] || fail "no address or default route after DHCP"
ping -c 3 -W 3 "$gw" || fail "ping $gw"

if [ -n "$arg_port" ]; then
  url="http://$gw:$arg_port"
  wget -q -T 20 -O /tmp/hello "$url/hello" || fail "wget $url/hello"
  expect_eq "$url/hello" "$(cat /tmp/hello)" "hello $token"
  wget -q -T 60 -O /tmp/blob "$url/blob" || fail "wget $url/blob"
  expect_eq "size of $url/blob" "$(wc -c < /tmp/blob)" "${arg_blobsize:-262144}"
  [ -n "$arg_blobmd5" ] && expect_eq "md5 of $url/blob" "$(md5_of /tmp/blob)" "$arg_blobmd5"
  log "fetched $url/hello and $url/blob ($(wc -c < /tmp/blob) bytes)"
fi

if [ "${arg_listen:-0}" = 1 ]; then
  echo "reply-from-guest $token" > /tmp/reply
  nc -l -p 7777 < /tmp/reply > /tmp/request &
  nc_pid=$!
  wait_for 10 tcp_listening 7777 || fail "nc does not listen on 7777"
  echo "LISTENING 7777"
  wait $nc_pid
  expect_eq "request through the host forward" "$(cat /tmp/request)" "request-from-host $token"
  log "answered a connection forwarded from the host"
fi
