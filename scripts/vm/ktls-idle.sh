#!/bin/sh
# Idle memory per connection on the kernel TLS path, measured inside the kTLS VM: an echo backend,
# meshgate terminating (east) and originating (west) with kTLS, then `meshgate-bench idle` holds
# IDLE_CONNECTIONS connections through the chain and reports the RSS growth of both gateways.
#   scripts/ktls-vm-test --file DIR --file PKI --env MESHGATE=... --env MESHGATE_BENCH=... \
#     --env SUITE_PKI=PKI [--env IDLE_CONNECTIONS=2000] -- scripts/vm/ktls-idle.sh
set -u
MG=${MESHGATE:?}
BENCH=${MESHGATE_BENCH:?}
PKI=${SUITE_PKI:?}
N=${IDLE_CONNECTIONS:-2000}
. "$PKI/identities.env"
W=/tmp/idle
mkdir -p "$W"
"$BENCH" backend --listen 127.0.0.1:7400 --behavior echo >"$W/backend.log" 2>&1 &
"$MG" proxy --listen 127.0.0.1:7401 --upstream 127.0.0.1:7400 --listen-tls --cert "$PKI/east.pem" --key "$PKI/east.key" \
  --trust "$PKI/bundle.pem" --allow-identity "$WEST_IDENTITY" --threads 2 --stats-file "$W/east.json" >"$W/east.log" 2>&1 &
EAST=$!
"$MG" proxy --listen 127.0.0.1:7402 --upstream 127.0.0.1:7401 --upstream-tls --cert "$PKI/west.pem" --key "$PKI/west.key" \
  --trust "$PKI/bundle.pem" --expect-identity "$EAST_IDENTITY" --threads 2 --stats-file "$W/west.json" >"$W/west.log" 2>&1 &
WEST=$!
sleep 3
"$BENCH" idle --target 127.0.0.1:7402 --connections "$N" --pid "$WEST" --pid "$EAST" --settle 3s --open-timeout 240s --open-concurrency "${IDLE_OPEN_CONCURRENCY:-16}"
rc=$?
kill -USR1 "$EAST" "$WEST"
sleep 1
echo "COUNTERS east $(cat "$W/east.json")"
echo "COUNTERS west $(cat "$W/west.json")"
# The sweep's rescues (missed wake-ups), if any, as the gateways logged them.
grep -a 'missed wake-up' "$W/east.log" "$W/west.log" | head -8 | cut -c1-900
kill "$EAST" "$WEST"
exit $rc
