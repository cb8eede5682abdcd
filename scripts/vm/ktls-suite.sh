#!/bin/sh
# scripts/vm/ktls-suite.sh — the checks of `scripts/ktls-vm-test --suite`, run inside the VM (busybox sh).
# See docs/ktls-vm.md ("The kTLS suite"). Prints one `PASS <mode>/<check>: ...` or
# `FAIL <mode>/<check>: ...` line per check (plus NOTE and COUNTERS lines) and exits with the number of
# failed checks (0 = all passed).
#
# Environment (set by scripts/ktls-vm-test --suite):
#   SUITE_MODE      ktls     tls.ko loaded: the chain and the openssl interop must run on kernel TLS
#                   fallback VM booted with --no-tls-module: the same, on user-space TLS
#                   plain    harness self-test: plain proxy chain, openssl talking to itself (no meshgate TLS)
#   MESHGATE, MESHGATE_BENCH, SUITE_OPENSSL   binaries
#   SUITE_PKI       folder written by scripts/test-pki (needs east/west .pem/.key, *-issuer.crt, bundle.pem,
#                   identities.env)
#   SUITE_STREAMS (8), SUITE_STREAM_BYTES (4 MiB), SUITE_BIG_BYTES (32 MiB)   chain volume: STREAMS
#                   connections of STREAM_BYTES plus one of BIG_BYTES, echoed back (both directions)
#   SUITE_USERSPACE_ALLOWANCE (32768)  bytes per kTLS stream allowed through user space, see below
#
# Also runs on the host for debugging (SUITE_MODE=plain, or fallback since the host has no kTLS).
set -u

MODE=${SUITE_MODE:?SUITE_MODE must be ktls, fallback or plain}
MG=${MESHGATE:?}
BENCH=${MESHGATE_BENCH:?}
OSSL=${SUITE_OPENSSL:-openssl}
PKI=${SUITE_PKI:?}
STREAMS=${SUITE_STREAMS:-8}
STREAM_BYTES=${SUITE_STREAM_BYTES:-4194304}
BIG_BYTES=${SUITE_BIG_BYTES:-33554432}
# bytes_userspace allowance per kTLS stream: application data that arrives in the same socket read as
# the peer's Finished is already inside OpenSSL's read BIO when the keys move to the kernel; it must be
# SSL_read and delivered from user space (docs/tls.md, "Bytes left in the read BIO"). That is at
# most one read of the handshake buffer plus the rest of a partial record: 2 x 16 KiB. Anything above
# means payload went through user space after the switch. The exact count is always printed.
ALLOW_PER_STREAM=${SUITE_USERSPACE_ALLOWANCE:-32768}
case "$MODE" in ktls | fallback | plain) ;; *) echo "FAIL suite: unknown SUITE_MODE '$MODE'"; exit 1 ;; esac

W=$(mktemp -d "${TMPDIR:-/tmp}/ktls-suite.XXXXXX")
NC="busybox nc" # the same nc in the VM and on a host (netcat-openbsd behaves differently)
failures=0
checks=0
pids=""

# shellcheck disable=SC1091
. "$PKI/identities.env"

now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
pass() { checks=$((checks + 1)); echo "PASS $MODE/$1: $2"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $MODE/$1: $2"; }
note() { echo "NOTE $MODE/$1: $2"; }
# check NAME "what" PROBLEMS: PASS when PROBLEMS is empty, else FAIL listing them.
check() {
  if [ -z "$3" ]; then pass "$1" "$2"; else fail "$1" "$2 -- $3"; fi
}
# add_problem TEXT: appends TEXT to $problems ("; " between problems), for `check`.
add_problem() { problems="$problems${problems:+; }$1"; }

cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  exec 3>&- 4>&- 2>/dev/null
  [ -n "${SUITE_KEEP_WORK:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -----------------------------------------------------------------------------------------

# listening PORT: true when 127.0.0.1:PORT (or any address) is in LISTEN state.
listening() {
  hex=$(printf '%04X' "$1")
  awk -v h=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
# wait_until SECONDS COMMAND...: runs COMMAND every 0.1 s until it succeeds (true); false when time
# runs out or COMMAND exits 2 (it gave up).
wait_until() {
  t=0
  ticks=$(($1 * 10))
  shift
  while [ "$t" -lt "$ticks" ]; do
    "$@"
    case $? in 0) return 0 ;; 2) return 1 ;; esac
    sleep 0.1
    t=$((t + 1))
  done
  return 1
}
# listening_while PORT PID: PORT listens (0), PID died (2), or not yet (1).
listening_while() {
  listening "$1" && return 0
  kill -0 "$2" 2>/dev/null || return 2
  return 1
}
# The conditions below answer 0 (true) or 1 (not yet), never 2, so wait_until keeps waiting on errors.
# holds_bytes FILE BYTES: FILE holds at least BYTES.
holds_bytes() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] || return 1; }
# holds_text FILE STRING: FILE exists and contains STRING.
holds_text() { grep -qF "$2" "$1" 2>/dev/null || return 1; }
# gone PID: PID has exited (a zombie child of this shell still answers kill -0: look at its state).
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null || return 1; }
# wait_listen PORT PID SECONDS: wait until PORT listens (false if PID died or time ran out).
wait_listen() { wait_until "$3" listening_while "$1" "$2"; }
# wait_size FILE BYTES SECONDS: wait until FILE holds at least BYTES.
wait_size() { wait_until "$3" holds_bytes "$1" "$2"; }
# wait_grep FILE STRING SECONDS
wait_grep() { wait_until "$3" holds_text "$1" "$2"; }
# wait_gone PID SECONDS: wait until PID is gone (not reaped: use `wait` afterwards for the status).
wait_gone() { wait_until "$2" gone "$1"; }
# to_server LINE: a line on s_server's stdin (fd 3, a FIFO). s_server may be gone already (it exits once
# meshgate drops the connection): ignore SIGPIPE here so that does not end this script.
to_server() { (trap '' PIPE; printf '%s\n' "$1" >&3) 2>/dev/null; }
sha() { sha256sum "$1" | cut -c1-64; }
size() { stat -c %s "$1"; }
# jnum FILE KEY: the integer value of "KEY" in a one-line JSON object, or "missing".
jnum() {
  v=$(sed -n "s/.*\"$2\": *\\(-\\{0,1\\}[0-9][0-9.e+]*\\).*/\\1/p" "$1" 2>/dev/null | head -1)
  case "$v" in
    "") echo missing ;;
    *[.e]*) awk -v x="$v" 'BEGIN { printf "%.0f", x }' ;;
    *) echo "$v" ;;
  esac
}
# expect FILE NAME OP VALUE: appends "NAME=<actual> (want OP VALUE)" to $problems when it does not hold.
expect() {
  a=$(jnum "$1" "$2")
  if [ "$a" = missing ]; then
    add_problem "$2 missing from $(basename "$1")"
    return
  fi
  if ! [ "$a" "$3" "$4" ]; then
    case "$3" in -ge) o='>=' ;; -gt) o='>' ;; -eq) o='==' ;; -le) o='<=' ;; -lt) o='<' ;; *) o=$3 ;; esac
    add_problem "$2=$a (want $o $4)"
  fi
}
# expect_ktls FILE SIDES: at least SIDES sockets sent and received through kTLS, none fell back to
# user-space TLS, no kTLS install failed.
expect_ktls() {
  expect "$1" ktls_tx_sides -ge "$2"
  expect "$1" ktls_rx_sides -ge "$2"
  expect "$1" tls_userspace_sides -eq 0
  expect "$1" ktls_failures -eq 0
}
# expect_userspace FILE SIDES: kTLS was unavailable and user-space TLS carried at least SIDES sockets.
expect_userspace() {
  expect "$1" ktls_unavailable -gt 0
  expect "$1" tls_userspace_sides -ge "$2"
  expect "$1" ktls_tx_sides -eq 0
}
# show FILE KEYS...: "k=v k=v" for a summary line.
show() {
  f=$1
  shift
  out=""
  for k in "$@"; do out="$out${out:+ }$k=$(jnum "$f" "$k")"; done
  echo "$out"
}

# start_mg NAME ARGS...: a meshgate proxy in the background, log in $W/NAME.log, counters in $W/NAME.json.
start_mg() {
  name=$1
  shift
  rm -f "$W/$name.json"
  "$MG" proxy "$@" --stats-file "$W/$name.json" >"$W/$name.log" 2>&1 &
  eval "pid_$name=$!"
  pids="$pids $!"
}
# stop_mg NAME: SIGTERM, wait (10 s), then print the counters; returns the exit status (124: hung).
stop_mg() {
  eval "p=\$pid_$1"
  kill -TERM "$p" 2>/dev/null
  if ! wait_gone "$p" 10; then
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    echo "COUNTERS $MODE/$1 $(cat "$W/$1.json" 2>/dev/null)"
    return 124
  fi
  wait "$p"
  rc=$?
  echo "COUNTERS $MODE/$1 $(cat "$W/$1.json" 2>/dev/null)"
  return $rc
}
# stop_checked NAME: stop_mg NAME; an exit status other than 0 is added to $problems.
stop_checked() {
  stop_mg "$1"
  rc=$?
  [ "$rc" -eq 0 ] || add_problem "$1 exit $rc"
}
# stop_expecting_tls NAME HANDSHAKES: stop_checked NAME; then, in f=$W/NAME.json, counter HANDSHAKES
# must be at least 1 and one side must have gone through this mode's TLS (expect_ktls in ktls mode,
# expect_userspace in fallback mode).
stop_expecting_tls() {
  stop_checked "$1"
  f="$W/$1.json"
  expect "$f" "$2" -ge 1
  if [ "$MODE" = ktls ]; then expect_ktls "$f" 1; else expect_userspace "$f" 1; fi
}
# dump_log NAME [LINES]: the tail of a log, indented, for a FAIL.
# rescues CHECK JSON LOG: ktls_stall_recoveries must be 0; on failure, by kind and the log's lines.
rescues() {
  problems=""
  expect "$2" ktls_stall_recoveries -eq 0
  check "$1-rescues" "$(show "$2" ktls_stall_recoveries) (the safety net pumped nothing after the queued events: no missed wake-up)" "$problems"
  [ -z "$problems" ] || grep -a 'missed wake-up' "$W/$3" 2>/dev/null | head -8 | cut -c1-900 | sed 's/^/  | /'
}

dump_log() {
  [ -f "$W/$1" ] || return 0
  echo "  --- tail of $1"
  tail -n "${2:-15}" "$W/$1" | sed 's/^/  | /'
}

tls_east() { [ "$MODE" = plain ] || echo "--listen-tls --cert $PKI/east.pem --key $PKI/east.key --trust $PKI/bundle.pem --allow-identity $WEST_IDENTITY"; }
tls_west() { [ "$MODE" = plain ] || echo "--upstream-tls --cert $PKI/west.pem --key $PKI/west.key --trust $PKI/bundle.pem --expect-identity $EAST_IDENTITY"; }

# --- 0. environment -----------------------------------------------------------------------------------
if grep -q '^tls ' /proc/modules 2>/dev/null; then tls_loaded=yes; else tls_loaded=no; fi
case "$MODE" in
  ktls) [ "$tls_loaded" = yes ] && pass vm/tls-module "tls.ko is loaded" || fail vm/tls-module "tls.ko is not loaded (see the vm: lines)" ;;
  fallback) [ "$tls_loaded" = no ] && pass vm/tls-module "tls.ko is not loaded (TCP_ULP \"tls\" fails)" || fail vm/tls-module "tls.ko is loaded, but this run must not have kTLS" ;;
esac
note vm "kernel $(uname -r); openssl $("$OSSL" version 2>&1); meshgate $("$MG" --version 2>&1)"

# --- 1. chain: integrity client -> west (originates mTLS) -> east (terminates) -> echo backend ----------
t0=$(now)
"$BENCH" backend --listen 127.0.0.1:7100 --behavior echo >"$W/backend.log" 2>&1 &
pid_backend=$!
pids="$pids $pid_backend"
# shellcheck disable=SC2046
start_mg east --listen 127.0.0.1:7200 --upstream 127.0.0.1:7100 $(tls_east)
# shellcheck disable=SC2046
start_mg west --listen 127.0.0.1:7300 --upstream 127.0.0.1:7200 $(tls_west)
problems=""
wait_listen 7100 "$pid_backend" 20 || problems="backend did not listen on 7100"
wait_listen 7200 "$pid_east" 20 || add_problem "east did not listen on 7200"
wait_listen 7300 "$pid_west" 20 || add_problem "west did not listen on 7300"
if [ -n "$problems" ]; then
  fail chain/start "$problems"
  dump_log east.log
  dump_log west.log
  dump_log backend.log
else
  note chain "started backend, east, west in $(since "$t0") s; pushing $STREAMS x $STREAM_BYTES + 1 x $BIG_BYTES bytes each way"
  t1=$(now)
  "$BENCH" integrity --target 127.0.0.1:7300 --connections "$STREAMS" --size "$STREAM_BYTES" --duration 150s --json --quiet \
    >"$W/int-small.json" 2>"$W/int-small.err" &
  pid_small=$!
  "$BENCH" integrity --target 127.0.0.1:7300 --connections 1 --size "$BIG_BYTES" --duration 150s --json --quiet \
    >"$W/int-big.json" 2>"$W/int-big.err"
  rc_big=$?
  wait "$pid_small"
  rc_small=$?
  secs=$(since "$t1")
  problems=""
  for r in small big; do
    f="$W/int-$r.json"
    [ -s "$f" ] || { add_problem "integrity ($r) printed no result: $(head -c 300 "$W/int-$r.err")"; continue; }
    grep -q '"ok":true' "$f" || add_problem "integrity ($r): $(head -c 400 "$f")"
  done
  [ "$rc_small" -eq 0 ] && [ "$rc_big" -eq 0 ] || add_problem "meshgate-bench exit $rc_small/$rc_big"
  each_way=$(($(jnum "$W/int-small.json" bytes_each_way) + $(jnum "$W/int-big.json" bytes_each_way))) 2>/dev/null || each_way=0
  ok=$(($(jnum "$W/int-small.json" ok) + $(jnum "$W/int-big.json" ok))) 2>/dev/null || ok=0
  total_streams=$((STREAMS + 1))
  chain_failures_before=$failures
  check chain/data "$ok/$total_streams streams echoed with SHA-256 and length equal both ways, $each_way bytes each way in $secs s" "$problems"
  if [ -n "$problems" ]; then
    cat "$W/int-small.err" "$W/int-big.err" | head -20 | sed 's/^/  | /'
    # Where a stalled stream's bytes sit, while the gateways still hold it: the TCP queues of the
    # chain's sockets (client 7300 west 7200 east 7100 backend), and the counters of that moment.
    echo "  --- TCP connections of the chain still open (Recv-Q / Send-Q in bytes)"
    netstat -tn 2>/dev/null | awk '$6 != "TIME_WAIT" && ($4 ~ /:7[123]00$/ || $5 ~ /:7[123]00$/)' | sed 's/^/  | /'
    kill -USR1 "$pid_west" "$pid_east" 2>/dev/null
    sleep 1.5
    echo "  --- counters at the failure: west $(cat "$W/west.json" 2>/dev/null)"
    echo "  --- counters at the failure: east $(cat "$W/east.json" 2>/dev/null)"
  fi

  stop_mg west
  rc_west=$?
  stop_mg east
  rc_east=$?
  kill -TERM "$pid_backend" 2>/dev/null
  wait "$pid_backend" 2>/dev/null
  problems=""
  [ "$rc_west" -eq 0 ] || problems="west exit $rc_west"
  [ "$rc_east" -eq 0 ] || add_problem "east exit $rc_east"
  [ -s "$W/west.json" ] || add_problem "west wrote no --stats-file"
  [ -s "$W/east.json" ] || add_problem "east wrote no --stats-file"
  check chain/shutdown "both gateways drained on SIGTERM, exited 0 and wrote --stats-file" "$problems"
  [ -z "$problems" ] || { dump_log west.log; dump_log east.log; }

  payload=$((2 * each_way)) # each gateway moves every byte once in each direction
  allowance=$((total_streams * ALLOW_PER_STREAM))
  for gw in west east; do
    f="$W/$gw.json"
    if [ "$gw" = west ]; then hs=tls_handshakes_upstream refused=tls_refused_upstream; else hs=tls_handshakes_downstream refused=tls_refused_downstream; fi
    problems=""
    expect "$f" accepted -ge "$total_streams"
    case "$MODE" in
      ktls)
        expect "$f" "$hs" -ge "$total_streams"
        expect "$f" "$refused" -eq 0
        expect_ktls "$f" "$total_streams"
        expect "$f" ktls_unavailable -eq 0
        check "chain/$gw-ktls" "$(show "$f" "$hs" ktls_tx_sides ktls_rx_sides tls_userspace_sides ktls_failures ktls_unavailable ktls_control_records) (want TX and RX kTLS on all $total_streams streams)" "$problems"
        # No missed wake-ups: the sweep's safety net must have had nothing to rescue.
        rescues "chain/$gw" "$f" "$gw.log"
        ;;
      fallback)
        expect "$f" "$hs" -ge "$total_streams"
        expect "$f" "$refused" -eq 0
        expect_userspace "$f" "$total_streams"
        expect "$f" ktls_rx_sides -eq 0
        expect "$f" ktls_failures -eq 0
        check "chain/$gw-fallback" "$(show "$f" "$hs" ktls_unavailable tls_userspace_sides ktls_tx_sides ktls_rx_sides ktls_failures) (want user-space TLS on all $total_streams streams)" "$problems"
        ;;
      plain)
        check "chain/$gw-plain" "$(show "$f" accepted closed_ok bytes_downstream_to_upstream bytes_upstream_to_downstream) (plain proxy, no TLS)" "$problems"
        ;;
    esac
    # Where the payload went: splice (kernel) or user space.
    problems=""
    sp=$(jnum "$f" bytes_spliced)
    us=$(jnum "$f" bytes_userspace)
    if [ "$sp" = missing ] || [ "$us" = missing ]; then
      if [ "$MODE" = plain ]; then
        note "chain/$gw-path" "bytes_spliced/bytes_userspace not in this build's counters (pre-TLS meshgate)"
      else
        fail "chain/$gw-path" "bytes_spliced=$sp bytes_userspace=$us: counters missing"
      fi
    else
      case "$MODE" in
        ktls | plain)
          [ "$us" -le "$allowance" ] || problems="bytes_userspace=$us (want <= $allowance = $total_streams streams x $ALLOW_PER_STREAM)"
          [ "$((sp + us))" -ge "$payload" ] || add_problem "bytes_spliced+bytes_userspace=$((sp + us)) (want >= $payload)"
          [ "$sp" -ge "$((payload - us))" ] || add_problem "bytes_spliced=$sp (want >= $payload - $us)"
          check "chain/$gw-splice" "bytes_spliced=$sp bytes_userspace=$us for $payload payload bytes (both directions)" "$problems"
          [ "$us" -eq 0 ] || note "chain/$gw-splice" "$us payload bytes ($((us / total_streams)) per stream on average) went through user space: read with the handshake (left in OpenSSL's read BIO at the switch); allowance $ALLOW_PER_STREAM per stream"
          ;;
        fallback)
          [ "$us" -ge "$payload" ] || problems="bytes_userspace=$us (want >= $payload: user-space TLS carries every byte)"
          check "chain/$gw-userspace" "bytes_userspace=$us bytes_spliced=$sp for $payload payload bytes (both directions)" "$problems"
          ;;
      esac
    fi
    if [ "$MODE" != plain ]; then
      problems=""
      expect "$f" tls_truncated -eq 0
      check "chain/$gw-close" "$(show "$f" tls_truncated resets_from_downstream resets_from_upstream closed_ok): every TLS stream ended with close_notify" "$problems"
    fi
  done
  if [ "$failures" -gt "$chain_failures_before" ]; then
    dump_log west.log 25
    dump_log east.log 25
  fi
fi

# --- 2. interop with openssl s_client / s_server ----------------------------------------------------------
OSSL_COMMON="-tls1_3 -alpn meshgate/1 -CAfile $PKI/bundle.pem"
# -cert loads only the leaf; -cert_chain sends the issuer too (the bundle holds only the anchor).
OSSL_WEST="-cert $PKI/west.pem -cert_chain $PKI/west-issuer.crt -key $PKI/west.key"
OSSL_EAST="-cert $PKI/east.pem -cert_chain $PKI/east-issuer.crt -key $PKI/east.key"

# 2a. s_client -> east (terminates) -> echo backend: 256 KiB of random bytes must come back unchanged.
t0=$(now)
"$BENCH" backend --listen 127.0.0.1:7101 --behavior echo >"$W/backend2.log" 2>&1 &
pid_backend2=$!
pids="$pids $pid_backend2"
head -c 262144 /dev/urandom >"$W/sc.in"
if [ "$MODE" = plain ]; then
  # harness self-test: s_client against s_server -rev (no meshgate)
  "$OSSL" s_server -accept 127.0.0.1:7210 -naccept 1 -rev $OSSL_COMMON $OSSL_EAST -Verify 1 >"$W/sc-server.out" 2>&1 &
  pid_e2=$!
  pids="$pids $pid_e2"
  head -c 196608 /dev/urandom | base64 >"$W/sc.in"
  rev "$W/sc.in" >"$W/sc.want"
else
  # shellcheck disable=SC2046
  start_mg east2 --listen 127.0.0.1:7210 --upstream 127.0.0.1:7101 $(tls_east)
  pid_e2=$pid_east2
  cp "$W/sc.in" "$W/sc.want"
fi
if ! wait_listen 7101 "$pid_backend2" 20 || ! wait_listen 7210 "$pid_e2" 20; then
  fail interop/s_client "backend or server on 7210 did not start"
  dump_log east2.log
else
  want=$(size "$W/sc.want")
  : >"$W/sc.out"
  # stdin stays open until the whole echo is back, then EOF makes s_client send close_notify and exit.
  ( cat "$W/sc.in"; wait_size "$W/sc.out" "$want" 60 ) |
    timeout 90 "$OSSL" s_client -connect 127.0.0.1:7210 -brief -nocommands $OSSL_COMMON $OSSL_WEST \
      >"$W/sc.out" 2>"$W/sc.err"
  rc=$?
  problems=""
  [ "$rc" -eq 0 ] || problems="s_client exit $rc"
  [ "$(size "$W/sc.out")" -eq "$want" ] || add_problem "got $(size "$W/sc.out") bytes back, want $want"
  [ "$(sha "$W/sc.out")" = "$(sha "$W/sc.want")" ] || add_problem "SHA-256 differs"
  grep -q 'Verification: OK' "$W/sc.err" || add_problem "s_client did not verify the server: $(grep -i -m2 -E 'verif|error' "$W/sc.err" | tr '\n' ' ')"
  proto=$(sed -n 's/^Ciphersuite: //p' "$W/sc.err" | head -1)
  if [ "$MODE" = plain ]; then
    check interop/s_client "s_client <-> s_server -rev in the VM ($proto): $want bytes reversed line by line and back unchanged" "$problems"
    wait "$pid_e2" 2>/dev/null
  else
    stop_expecting_tls east2 tls_handshakes_downstream
    expect "$f" tls_truncated -eq 0
    if [ "$MODE" = ktls ]; then
      check interop/s_client "openssl s_client -> meshgate --listen-tls (kTLS) -> echo: $want random bytes back unchanged ($proto); $(show "$f" ktls_tx_sides ktls_rx_sides tls_userspace_sides ktls_failures ktls_control_records bytes_spliced bytes_userspace)" "$problems"
    else
      check interop/s_client "openssl s_client -> meshgate --listen-tls (user-space TLS) -> echo: $want random bytes back unchanged ($proto); $(show "$f" ktls_unavailable tls_userspace_sides ktls_tx_sides bytes_userspace)" "$problems"
    fi
  fi
  [ -z "$problems" ] || { dump_log sc.err 8; dump_log east2.log; }
fi
kill -TERM "$pid_backend2" 2>/dev/null
wait "$pid_backend2" 2>/dev/null

# 2b. client -> west (originates) -> s_server -rev: text lines come back reversed; s_server's two
# session tickets reach west's kTLS RX as non-data records.
"$OSSL" s_server -accept 127.0.0.1:7400 -naccept 1 -rev $OSSL_COMMON $OSSL_EAST -Verify 1 >"$W/rev-server.out" 2>&1 &
pid_rev=$!
pids="$pids $pid_rev"
head -c 196608 /dev/urandom | base64 >"$W/rev.in"
rev "$W/rev.in" >"$W/rev.want"
want=$(size "$W/rev.want")
port=7400
if [ "$MODE" != plain ]; then
  # shellcheck disable=SC2046
  start_mg west2 --listen 127.0.0.1:7310 --upstream 127.0.0.1:7400 $(tls_west)
  port=7310
fi
if ! wait_listen 7400 "$pid_rev" 20 || { [ "$MODE" != plain ] && ! wait_listen 7310 "$pid_west2" 20; }; then
  fail interop/s_server "s_server or west2 did not start"
  dump_log west2.log
  dump_log rev-server.out
else
  : >"$W/rev.out"
  if [ "$MODE" = plain ]; then
    ( cat "$W/rev.in"; wait_size "$W/rev.out" "$want" 60 ) |
      timeout 90 "$OSSL" s_client -connect 127.0.0.1:7400 -brief -nocommands $OSSL_COMMON $OSSL_WEST >"$W/rev.out" 2>"$W/rev.err"
  else
    ( cat "$W/rev.in"; wait_size "$W/rev.out" "$want" 60 ) | timeout 90 $NC 127.0.0.1 "$port" >"$W/rev.out" 2>"$W/rev.err"
  fi
  problems=""
  [ "$(size "$W/rev.out")" -eq "$want" ] || problems="got $(size "$W/rev.out") bytes back, want $want"
  [ "$(sha "$W/rev.out")" = "$(sha "$W/rev.want")" ] || add_problem "SHA-256 differs from the reversed input"
  wait_gone "$pid_rev" 10 || kill "$pid_rev" 2>/dev/null
  wait "$pid_rev" 2>/dev/null
  grep -q 'Verification: OK' "$W/rev-server.out" || add_problem "s_server did not verify the client certificate: $(grep -i -m2 -E 'verif|error' "$W/rev-server.out" | tr '\n' ' ')"
  if [ "$MODE" = plain ]; then
    check interop/s_server "s_server -rev <- s_client: $want bytes of lines reversed and back unchanged" "$problems"
  else
    stop_expecting_tls west2 tls_handshakes_upstream
    if [ "$MODE" = ktls ]; then
      expect "$f" ktls_control_records -gt 0
      check interop/s_server "meshgate --upstream-tls (kTLS) -> openssl s_server -rev: $want bytes of lines back reversed and unchanged; session tickets read as control records: $(show "$f" ktls_tx_sides ktls_rx_sides ktls_control_records tls_userspace_sides ktls_failures tls_truncated)" "$problems"
    else
      check interop/s_server "meshgate --upstream-tls (user-space TLS) -> openssl s_server -rev: $want bytes of lines back reversed and unchanged: $(show "$f" ktls_unavailable tls_userspace_sides ktls_tx_sides tls_truncated)" "$problems"
    fi
  fi
  [ -z "$problems" ] || { dump_log rev-server.out 12; dump_log west2.log; }
fi

# 2c. KeyUpdate from s_server (interactive: a line "k" on its stdin = SSL_key_update(NOT_REQUESTED)).
# Linux 6.1 cannot install new kTLS RX keys: meshgate must close the connection, never pass garbage.
mkfifo "$W/ku.fifo"
"$OSSL" s_server -accept 127.0.0.1:7401 -naccept 1 $OSSL_COMMON $OSSL_EAST -Verify 1 <"$W/ku.fifo" >"$W/ku-server.out" 2>&1 &
pid_ku=$!
pids="$pids $pid_ku"
exec 3>"$W/ku.fifo" # s_server's stdin stays open (its EOF would end it)
tag=$(head -c 6 /dev/urandom | base64 | tr '+/' 'xy')
port=7401
if [ "$MODE" != plain ]; then
  # shellcheck disable=SC2046
  start_mg west3 --listen 127.0.0.1:7320 --upstream 127.0.0.1:7401 $(tls_west)
  port=7320
fi
if ! wait_listen 7401 "$pid_ku" 20 || { [ "$MODE" != plain ] && ! wait_listen 7320 "$pid_west3" 20; }; then
  fail interop/key-update "s_server or west3 did not start"
  dump_log west3.log
  dump_log ku-server.out
else
  : >"$W/ku.out"
  # The client's stdin is a FIFO too (fd 4), so it stays open without a helper process to reap.
  mkfifo "$W/kc.fifo"
  if [ "$MODE" = plain ]; then
    "$OSSL" s_client -connect 127.0.0.1:7401 -brief -nocommands $OSSL_COMMON $OSSL_WEST <"$W/kc.fifo" >"$W/ku.out" 2>"$W/ku.err" &
  else
    $NC 127.0.0.1 "$port" <"$W/kc.fifo" >"$W/ku.out" 2>"$W/ku.err" &
  fi
  pid_kc=$!
  pids="$pids $pid_kc"
  exec 4>"$W/kc.fifo"
  (trap '' PIPE; echo "up-$tag" >&4) 2>/dev/null
  problems=""
  if ! wait_grep "$W/ku-server.out" "up-$tag" 20; then
    problems="s_server never received the client's line"
  else
    to_server "data-before-ku-$tag"
    if ! wait_grep "$W/ku.out" "data-before-ku-$tag" 20; then
      problems="the line s_server sent before the KeyUpdate did not arrive"
    else
      to_server k
      sleep 1.5 # s_server's SSL_key_update + SSL_do_handshake write the KeyUpdate record at once
      to_server "data-after-ku-$tag"
      printf 'data-before-ku-%s\n' "$tag" >"$W/ku.want-before"
      printf 'data-before-ku-%s\ndata-after-ku-%s\n' "$tag" "$tag" >"$W/ku.want-both"
      if [ "$MODE" = ktls ]; then
        # meshgate must close the client connection; what the client got must be exactly the data
        # before the KeyUpdate.
        if wait_gone "$pid_kc" 20; then closed=yes; else closed=no; fi
        [ "$closed" = yes ] || problems="meshgate did not close the connection within 20 s after the KeyUpdate"
        if [ "$(sha "$W/ku.out")" != "$(sha "$W/ku.want-before")" ]; then
          add_problem "client received $(size "$W/ku.out") bytes, want exactly the $(size "$W/ku.want-before") sent before the KeyUpdate: $(head -c 200 "$W/ku.out" | od -An -c | head -4 | tr -s ' \n' ' ')"
        fi
      else
        # user-space TLS (fallback) and openssl itself follow the KeyUpdate: the next line arrives.
        wait_grep "$W/ku.out" "data-after-ku-$tag" 20 || problems="the line sent after the KeyUpdate did not arrive"
        sleep 0.3
        [ "$(sha "$W/ku.out")" = "$(sha "$W/ku.want-both")" ] || add_problem "client received $(size "$W/ku.out") bytes, want the $(size "$W/ku.want-both") bytes of both lines"
      fi
    fi
  fi
  exec 4>&-
  kill "$pid_kc" 2>/dev/null
  wait "$pid_kc" 2>/dev/null
  to_server Q # ends s_server (if still connected)
  exec 3>&-
  wait_gone "$pid_ku" 5 || kill "$pid_ku" 2>/dev/null
  wait "$pid_ku" 2>/dev/null
  case "$MODE" in
    plain)
      check interop/key-update "s_server 'k' (KeyUpdate) <-> s_client in the VM: lines before and after the KeyUpdate arrive" "$problems"
      ;;
    ktls)
      stop_mg west3
      f="$W/west3.json"
      expect "$f" ktls_rx_sides -ge 1
      expect "$f" ktls_key_update_closes -ge 1
      check interop/key-update "openssl s_server sends KeyUpdate to meshgate's kTLS RX: connection closed, only the bytes before it delivered; $(show "$f" ktls_key_update_closes ktls_control_records ktls_rx_sides ktls_failures tls_truncated)" "$problems"
      ;;
    fallback)
      stop_mg west3
      f="$W/west3.json"
      expect "$f" tls_userspace_sides -ge 1
      expect "$f" tls_key_updates -ge 1
      expect "$f" ktls_key_update_closes -eq 0
      check interop/key-update "openssl s_server sends KeyUpdate to meshgate's user-space TLS: followed, lines before and after it arrive; $(show "$f" tls_key_updates tls_userspace_sides ktls_key_update_closes ktls_unavailable)" "$problems"
      ;;
  esac
  [ -z "$problems" ] || { dump_log ku-server.out 12; dump_log west3.log; }
fi

# --- 3. gateways: east's route -> (mTLS, transport header) -> west's inbound -> echo backend --------------
# The header is the first application record of the originating side: kTLS TX keys must start
# after it (sequence numbers), and the inbound side reads it before handing its RX over. East's
# route takes the warm pool of cluster west (links.pool): a pooled connection sent its `pooled`
# header and read its session ticket in OpenSSL long before a client adopts it and sends the
# `connect` header, so the kernel's sequence numbers start after both, on both sides.
if [ "$MODE" != plain ] && "$MG" identity --help >/dev/null 2>&1; then
  t0=$(now)
  G="$W/gw"
  mkdir -p "$G/links"
  problems=""
  "$MG" identity init --trust-domain cluster.local --out "$G/anchor" >"$G/id.log" 2>&1 || problems="identity init failed"
  for c in west east; do
    "$MG" identity issuer --anchor "$G/anchor" --cluster "$c" --out "$G/$c-issuer" >>"$G/id.log" 2>&1 || problems="identity issuer $c failed"
    "$MG" identity issue --issuer "$G/$c-issuer" --gateway --out "$G/$c-id" >>"$G/id.log" 2>&1 || problems="identity issue $c failed"
  done
  "$BENCH" backend --listen 127.0.0.1:7120 --behavior echo >"$W/backend-gw.log" 2>&1 &
  pids="$pids $!"
  cat >"$G/registry.yaml" <<EOF
services:
  - {namespace: default, name: echo, ports: [7120], endpoints: ["127.0.0.1:7120"], exported: true,
     allow: [spiffe://cluster.local/ns/meshgate-east/sa/gateway]}
EOF
  cat >"$G/west.yaml" <<EOF
cluster: west
identity: {cert: west-id/tls.crt, key: west-id/tls.key, trust: west-id/ca.crt}
inbound: {listen: 127.0.0.1:7140}
registry: registry.yaml
EOF
  cat >"$G/east.yaml" <<EOF
cluster: east
identity: {cert: east-id/tls.crt, key: east-id/tls.key, trust: east-id/ca.crt}
inbound: {listen: 127.0.0.1:7240}
links: {dir: links, pool: {idle: 2}}
routes:
  - {name: echo-west, namespace: default, port: 7000, cluster: west, gateways: ["127.0.0.1:7140"],
     target: {namespace: default, name: echo, port: 7120}, listen: "127.0.0.1:7340"}
EOF
  rm -f "$W/gwwest.json" "$W/gweast.json"
  "$MG" gateway --config "$G/west.yaml" --stats-file "$W/gwwest.json" >"$W/gwwest.log" 2>&1 &
  pid_gwwest=$!
  pids="$pids $pid_gwwest"
  "$MG" gateway --config "$G/east.yaml" --stats-file "$W/gweast.json" >"$W/gweast.log" 2>&1 &
  pid_gweast=$!
  pids="$pids $pid_gweast"
  wait_listen 7140 "$pid_gwwest" 20 || add_problem "west gateway did not listen on 7140"
  wait_listen 7340 "$pid_gweast" 20 || add_problem "east's route did not listen on 7340"
  if [ -z "$problems" ]; then
    "$BENCH" integrity --target 127.0.0.1:7340 --connections 4 --size 2097152 --duration 120s --json --quiet \
      >"$W/int-gw.json" 2>"$W/int-gw.err" || problems="integrity: $(head -c 300 "$W/int-gw.err")"
    grep -q '"ok":true' "$W/int-gw.json" 2>/dev/null || add_problem "integrity: $(head -c 300 "$W/int-gw.json")"
    # One more stream once the pool has refilled: it leaves on a pooled connection.
    sleep 2
    "$BENCH" integrity --target 127.0.0.1:7340 --connections 1 --size 2097152 --duration 60s --json --quiet \
      >"$W/int-gw2.json" 2>"$W/int-gw2.err" || add_problem "pooled integrity: $(head -c 300 "$W/int-gw2.err")"
    grep -q '"ok":true' "$W/int-gw2.json" 2>/dev/null || add_problem "pooled integrity: $(head -c 300 "$W/int-gw2.json")"
  fi
  check gateway/data "5 streams of 2 MiB echoed through east's route and west's inbound (SHA-256 both ways), the last on a warm-pool connection, in $(since "$t0") s" "$problems"
  problems=""
  stop_mg gwwest || problems="west gateway did not drain and exit 0"
  stop_mg gweast || add_problem "east gateway did not drain and exit 0"
  expect "$W/gweast.json" gateway_outbound_connections -ge 5
  expect "$W/gwwest.json" gateway_inbound_connections -ge 5
  expect "$W/gwwest.json" gateway_refused -eq 0
  expect "$W/gweast.json" gateway_pool_hits -ge 1
  expect "$W/gwwest.json" gateway_pool_inbound_held -ge 1
  expect "$W/gweast.json" tls_truncated -eq 0
  expect "$W/gwwest.json" tls_truncated -eq 0
  case "$MODE" in
    ktls)
      for g in gweast gwwest; do
        expect "$W/$g.json" ktls_tx_sides -ge 5
        expect "$W/$g.json" ktls_rx_sides -ge 5
        expect "$W/$g.json" ktls_failures -eq 0
        expect "$W/$g.json" bytes_userspace -le $((5 * ALLOW_PER_STREAM))
      done
      saved_problems=$problems
      rescues gateway/east "$W/gweast.json" gweast.log
      rescues gateway/west "$W/gwwest.json" gwwest.log
      problems=$saved_problems
      check gateway/ktls "kernel TLS both ways on both gateways after the header, pooled connections too: east $(show "$W/gweast.json" gateway_outbound_connections gateway_pool_hits ktls_tx_sides ktls_rx_sides bytes_spliced bytes_userspace); west $(show "$W/gwwest.json" gateway_inbound_connections ktls_tx_sides ktls_rx_sides bytes_spliced bytes_userspace)" "$problems"
      ;;
    fallback)
      for g in gweast gwwest; do
        expect "$W/$g.json" tls_userspace_sides -ge 5
        expect "$W/$g.json" ktls_tx_sides -eq 0
      done
      check gateway/fallback "user-space TLS records on both gateways after the header: east $(show "$W/gweast.json" gateway_outbound_connections tls_userspace_sides bytes_userspace); west $(show "$W/gwwest.json" gateway_inbound_connections tls_userspace_sides bytes_userspace)" "$problems"
      ;;
  esac
  [ -z "$problems" ] || { dump_log gwwest.log; dump_log gweast.log; tail -5 "$G/id.log"; }
fi

echo "SUITE $MODE: $((checks - failures))/$checks checks passed"
[ "$failures" -lt 100 ] || failures=100
exit "$failures"
