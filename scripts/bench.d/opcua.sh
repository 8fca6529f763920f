# scripts/bench opcua: OPC UA client throughput, Shopfloor's client against node-opcua's own.
#
# Starts the node-opcua test server (tests/peers/opcua/server.js) with 1000 Doubles that all
# change every 50 ms (--changing=1000 --change-ms=50) on a free loopback port, then, against
# that one server in the same run and one after the other:
#   read       Read of the 1000 nodes' Values in batches of 1, 10, 100 and 1000 nodes per
#              request, cycling through all nodes: values/s
#   subscribe  one subscription, 1000 monitored items (publishing 100 ms, sampling 25 ms,
#              queue 10): notifications/s once the initial values are in
# for Shopfloor (bench/opcua/opcua_bench) and node-opcua 2.186.4's client
# (tests/peers/opcua/bench_client.js), and records the Shopfloor / node-opcua ratios.
# The server is node-opcua too and shares the machine with the client being measured, so
# read throughput is bounded by the server: the ratio says how much the client adds.
# Sizes: smoke 1 s per measurement; full 10 s. Run by scripts/bench (BENCH_SIZE=smoke|full).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench.d/lib.sh

SIZE=${BENCH_SIZE:-smoke}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sf-bench-opcua.XXXXXX")
RESULTS=$TMP/results.jsonl
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID" 10
  if [ "${SHOPFLOOR_BENCH_KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

if [ "$SIZE" = full ]; then
  OUT_JSON=bench/results/opcua.json
  SECONDS_PER_RUN=10
else
  OUT_JSON=bench/results/opcua-smoke.json
  SECONDS_PER_RUN=1
fi
NODES=1000
CHANGE_MS=50
PEER=tests/peers/opcua
LOAD_AVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)

command -v node >/dev/null || die "node is not installed"
[ -d "$PEER/node_modules/node-opcua-server" ] || die "node-opcua is not installed in $PEER (run scripts/setup)"
NODE_OPCUA_VERSION=$(node -p "require('./$PEER/node_modules/node-opcua-client/package.json').version")
find_build_dir
build_targets opcua_bench
BENCH=$BUILD/bench/opcua/opcua_bench
[ -x "$BENCH" ] || die "$BENCH is missing"

PORT=$(free_port)
node "$PEER/server.js" "$PORT" 0 --changing=$NODES --change-ms=$CHANGE_MS >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do
  grep -q '^ready' "$TMP/server.log" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "server.js exited"; }
  sleep 0.1
done
grep -q '^ready' "$TMP/server.log" || die "server.js did not get ready in 30 s"
URL=opc.tcp://127.0.0.1:$PORT
log "node-opcua $NODE_OPCUA_VERSION server on $URL (pid $SERVER_PID): $NODES Doubles changing every $CHANGE_MS ms"

DATASET="$NODES Doubles (node-opcua $NODE_OPCUA_VERSION server, all changing every $CHANGE_MS ms)"
record() {  # record <benchmark> <system> <metric> <value> <unit>
  python3 scripts/bench.d/results.py record "$RESULTS" "$1" "$2" "$DATASET" "$3" "$4" "$5"
}
field() {  # field <json line> <key>
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}
ratio() { python3 -c "print($1 / $2)"; }

measure() {  # measure <shopfloor|node-opcua> <args...>: prints the client's JSON line
  local who=$1 line
  shift
  if [ "$who" = shopfloor ]; then
    line=$("$BENCH" --url="$URL" --nodes=$NODES --seconds=$SECONDS_PER_RUN "$@" 2>"$TMP/err") ||
      { cat "$TMP/err" >&2; die "opcua_bench $* failed"; }
  else
    line=$(node "$PEER/bench_client.js" --url="$URL" --nodes=$NODES --seconds=$SECONDS_PER_RUN "$@" 2>"$TMP/err" |
      grep '^{') || { cat "$TMP/err" >&2; die "bench_client.js $* failed"; }
  fi
  log "$who: $line"
  echo "$line"
}

for batch in 1 10 100 1000; do
  sf=$(measure shopfloor --mode=read --batch=$batch)
  nd=$(measure node-opcua --mode=read --batch=$batch)
  sf_v=$(field "$sf" values_per_s)
  nd_v=$(field "$nd" values_per_s)
  bench="Read, $batch node(s) per request"
  record "$bench" "Shopfloor" "values read" "$sf_v" "values/s"
  record "$bench" "node-opcua client" "values read" "$nd_v" "values/s"
  record "$bench" "Shopfloor / node-opcua" "throughput ratio" "$(ratio "$sf_v" "$nd_v")" "x"
done

sf=$(measure shopfloor --mode=subscribe --publishing-ms=100 --sampling-ms=25)
nd=$(measure node-opcua --mode=subscribe --publishing-ms=100 --sampling-ms=25)
sf_n=$(field "$sf" notifications_per_s)
nd_n=$(field "$nd" notifications_per_s)
bench="Subscription, $NODES monitored items (publishing 100 ms)"
record "$bench" "Shopfloor" "notifications received" "$sf_n" "notifications/s"
record "$bench" "node-opcua client" "notifications received" "$nd_n" "notifications/s"
record "$bench" "Shopfloor / node-opcua" "throughput ratio" "$(ratio "$sf_n" "$nd_n")" "x"
record "$bench" "server" "changes made" "$(python3 -c "print($NODES * 1000 / $CHANGE_MS)")" "changes/s"
record "$bench" "Shopfloor" "CreateMonitoredItems (1000 items)" "$(python3 -c "print($(field "$sf" create_monitored_items_s) * 1000)")" "ms"
record "$bench" "node-opcua client" "CreateMonitoredItems (1000 items)" "$(python3 -c "print($(field "$nd" create_monitored_items_s) * 1000)")" "ms"

LOAD_AVG_END=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p bench/results
python3 scripts/bench.d/results.py finish "$RESULTS" "$OUT_JSON" \
  --command "scripts/bench opcua --size $SIZE" \
  --machine "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GB RAM, $(uname -sr)" \
  --load "load average $LOAD_AVG_START at start, $LOAD_AVG_END at end (other engineers' builds share the machine)" \
  --seconds "$(( $(date +%s) - T0 ))"
if [ "$SIZE" = full ]; then
  python3 scripts/bench.d/results.py table "$OUT_JSON" --section opcua --docs docs/BENCHMARKS.md
  log "wrote $OUT_JSON and the opcua section of docs/BENCHMARKS.md"
else
  python3 scripts/bench.d/results.py table "$OUT_JSON" --section opcua
  log "wrote $OUT_JSON (smoke size: docs/BENCHMARKS.md is only written by --size full)"
fi
