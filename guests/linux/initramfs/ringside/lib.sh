# Helpers shared by /init and the scenarios (sourced; busybox ash).
# Markers on the console: "SCENARIO <name> OK" or "SCENARIO <name> FAIL: <reason>".

# ringside.KEY=VALUE on the kernel command line -> shell variable arg_KEY
read_parameters() {
  local word key
  for word in $(cat /proc/cmdline); do
    case $word in
      ringside.*=*)
        key=${word#ringside.}; key=${key%%=*}
        case $key in *[!a-z0-9_]*|'') continue;; esac
        eval "arg_$key=\${word#*=}";;
    esac
  done
}

uptime_seconds() { cut -d' ' -f1 /proc/uptime; }
log() { echo "[$SCENARIO $(uptime_seconds)] $*"; }

# finish CODE: 0 powers off through the kernel (SBI SRST, or the syscon poweroff);
# non-zero writes 0x3333 | CODE << 16 to the test finisher at 0x100000 (exit code CODE).
finish() {
  sync
  if [ "$1" != 0 ]; then
    devmem 0x100000 32 $(( 0x3333 | ($1 << 16) )) 2>/dev/null
  fi
  poweroff -f
  sleep 10
  echo "RINGSIDE-INIT: poweroff did not stop the machine"
  while :; do sleep 1000; done
}
pass() { echo "SCENARIO $SCENARIO OK"; finish 0; }
fail() { echo "SCENARIO $SCENARIO FAIL: $*"; finish "${FAIL_CODE:-1}"; }

# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }

# md5 of a file or of stdin ("-"), hash only
md5_of() { md5sum "$1" | cut -d' ' -f1; }

# wait_for SECONDS COMMAND...: retries COMMAND once a second until it succeeds
wait_for() {
  local n=$1; shift
  while ! "$@" >/dev/null 2>&1; do
    n=$((n - 1)); [ $n -gt 0 ] || return 1
    sleep 1
  done
}

# tcp_listening PORT: a socket listens on PORT (from /proc/net/tcp)
tcp_listening() { grep -q "^ *[0-9]*: [0-9A-F]*:$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp; }
