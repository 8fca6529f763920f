# scripts/bench mqtt: MQTT telemetry, Shopfloor's endpoint against mosquitto.
#
# One load generator (bench/mqtt/mqtt_bench, C++, plain sockets, MQTT 5) drives both, one
# after the other, on loopback:
#   QoS 1   P publishers, each with up to W messages in flight on its own topic, and one
#           subscriber on the prefix: messages/s acknowledged, delivered, and the
#           publish-to-PUBACK latency p50/p99. Shopfloor acknowledges a message only once it
#           is stored under the plant's default durability ("always": the WAL is fsynced
#           before the PUBACK, one group commit for all waiting messages); mosquitto only
#           forwards it to the subscriber (persistence off).
#   QoS 0   the same publishers sending as fast as the sockets take it: messages/s accepted
#           (what the server read; Shopfloor reads a client only as fast as it stores, so for
#           it accepted = stored) and, while the subscriber keeps up, delivered. A broker may
#           disconnect a subscriber that falls behind (Shopfloor does, past 1 MiB queued; the
#           run says so) or drop QoS 0 messages for it (mosquitto).
#   idle    N connections that only CONNECT to a freshly started server: resident memory per
#           connection.
# Shopfloor runs `serve --mqtt` with a plant of one machine whose tags are the publishers'
# topics, and an admin user whose API token is the MQTT password.
# Sizes: smoke 1 s, 2 publishers, 100 idle connections; full 10 s, 8 publishers, 10,000.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench.d/lib.sh

SIZE=${BENCH_SIZE:-smoke}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sf-bench-mqtt.XXXXXX")
RESULTS=$TMP/results.jsonl
SF_PID= MQ_PID=
cleanup() {
  [ -n "$SF_PID" ] && stop_pid "$SF_PID" 20
  [ -n "$MQ_PID" ] && stop_pid "$MQ_PID" 10
  if [ "${SHOPFLOOR_BENCH_KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

if [ "$SIZE" = full ]; then
  OUT_JSON=bench/results/mqtt.json
  SECONDS_PER_RUN=10 PUBLISHERS=8 WINDOW=16 IDLE=9999
else
  OUT_JSON=bench/results/mqtt-smoke.json
  SECONDS_PER_RUN=1 PUBLISHERS=2 WINDOW=8 IDLE=100
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LOAD_AVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)

command -v mosquitto >/dev/null || die "mosquitto is not installed (run scripts/setup)"
MOSQUITTO_VERSION=$( (mosquitto -h 2>&1 || true) | awk '/^mosquitto version/ {print $3; exit}')
find_build_dir
build_targets mqtt_bench shopfloor
BENCH=$BUILD/bench/mqtt/mqtt_bench
SHOPFLOOR=$BUILD/src/app/shopfloor
[ -x "$BENCH" ] || die "$BENCH is missing"

PREFIX=bench/s/a/m1
{
  echo "version: 1"
  echo "enterprise:"
  echo "  name: bench"
  echo "  sites:"
  echo "    - name: s"
  echo "      areas:"
  echo "        - name: a"
  echo "          machines:"
  echo "            - name: m1"
  echo "              tags:"
  for i in $(seq 0 $((PUBLISHERS - 1))); do echo "                - {name: t$i, type: double}"; done
} >"$TMP/plant.yaml"

DATASET="JSON numbers on $PUBLISHERS topics ($PREFIX/t<i>), loopback"
record() {  # record <benchmark> <system> <metric> <value> <unit>
  python3 scripts/bench.d/results.py record "$RESULTS" "$1" "$2" "$DATASET" "$3" "$4" "$5"
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
ratio() { python3 -c "print($1 / $2 if $2 else 0)"; }
wait_port() {  # wait_port <port> <pid> <log>
  for _ in $(seq 300); do
    python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $1)))" && return 0
    kill -0 "$2" 2>/dev/null || { tail -20 "$3" >&2; return 1; }
    sleep 0.1
  done
  return 1
}

# --- Shopfloor ---
dir=$TMP/shopfloor
mkdir -p "$dir"
printf 'bench-password-%s\n' "$RANDOM$RANDOM" |
  "$SHOPFLOOR" admin create-user --data "$dir" --name bench --role admin >"$TMP/create-user.log" 2>&1 ||
  { cat "$TMP/create-user.log" >&2; die "shopfloor admin create-user failed"; }
TOKEN=$("$SHOPFLOOR" admin create-token --data "$dir" --user bench 2>"$TMP/create-token.log")
[ -n "$TOKEN" ] || { cat "$TMP/create-token.log" >&2; die "shopfloor admin create-token printed no token"; }
start_shopfloor() {
  SF_PORT=$(free_port)
  "$SHOPFLOOR" serve --config "$TMP/plant.yaml" --data "$dir" --http "127.0.0.1:$(free_port)" \
    --mqtt "127.0.0.1:$SF_PORT" >"$TMP/shopfloor.log" 2>&1 &
  SF_PID=$!
  wait_port "$SF_PORT" "$SF_PID" "$TMP/shopfloor.log" || die "Shopfloor serve --mqtt did not start"
}
start_shopfloor
DURABILITY=$(grep -o 'durability=[^ ]*' "$TMP/shopfloor.log" | head -1 | cut -d= -f2-)
log "Shopfloor $(git rev-parse --short HEAD 2>/dev/null || echo dev) MQTT on 127.0.0.1:$SF_PORT (pid $SF_PID, durability $DURABILITY)"
sf_run() { "$BENCH" --port="$SF_PORT" --user=bench --password="$TOKEN" --prefix="$PREFIX" "$@"; }
SF_Q1=$(sf_run --mode=throughput --qos=1 --publishers=$PUBLISHERS --window=$WINDOW --seconds=$SECONDS_PER_RUN)
log "Shopfloor QoS 1: $SF_Q1"
SF_Q0=$(sf_run --mode=throughput --qos=0 --publishers=$PUBLISHERS --seconds=$SECONDS_PER_RUN)
log "Shopfloor QoS 0: $SF_Q0"
# Memory is measured on a fresh process: after the throughput runs, freed heap would be
# reused for the new connections and hide their cost.
stop_pid "$SF_PID" 20
start_shopfloor
SF_IDLE=$(sf_run --mode=idle --connections=$IDLE --pid="$SF_PID")
log "Shopfloor idle: $SF_IDLE"
stop_pid "$SF_PID" 20
SF_PID=

# --- mosquitto ---
MQ_PORT=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n' "$MQ_PORT" >"$TMP/mosquitto.conf"
start_mosquitto() {
  mosquitto -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
  MQ_PID=$!
  wait_port "$MQ_PORT" "$MQ_PID" "$TMP/mosquitto.log" || die "mosquitto did not start"
}
start_mosquitto
log "mosquitto $MOSQUITTO_VERSION on 127.0.0.1:$MQ_PORT (pid $MQ_PID)"
mq_run() { "$BENCH" --port="$MQ_PORT" --prefix="$PREFIX" "$@"; }
MQ_Q1=$(mq_run --mode=throughput --qos=1 --publishers=$PUBLISHERS --window=$WINDOW --seconds=$SECONDS_PER_RUN)
log "mosquitto QoS 1: $MQ_Q1"
MQ_Q0=$(mq_run --mode=throughput --qos=0 --publishers=$PUBLISHERS --seconds=$SECONDS_PER_RUN)
log "mosquitto QoS 0: $MQ_Q0"
stop_pid "$MQ_PID" 10
start_mosquitto
MQ_IDLE=$(mq_run --mode=idle --connections=$IDLE --pid="$MQ_PID")
log "mosquitto idle: $MQ_IDLE"

SF="Shopfloor (stored, durability $DURABILITY)"
MQ="mosquitto $MOSQUITTO_VERSION (forwarded)"
bench="QoS 1, $PUBLISHERS publishers x $WINDOW in flight"
record "$bench" "$SF" "acknowledged" "$(field "$SF_Q1" acked_per_s)" "msg/s"
record "$bench" "$MQ" "acknowledged" "$(field "$MQ_Q1" acked_per_s)" "msg/s"
record "$bench" "Shopfloor / mosquitto" "throughput ratio" "$(ratio "$(field "$SF_Q1" acked_per_s)" "$(field "$MQ_Q1" acked_per_s)")" "x"
record "$bench" "$SF" "delivered to the subscriber" "$(field "$SF_Q1" delivered_per_s)" "msg/s"
record "$bench" "$MQ" "delivered to the subscriber" "$(field "$MQ_Q1" delivered_per_s)" "msg/s"
for q in p50 p99; do
  record "$bench" "$SF" "publish to PUBACK $q" "$(field "$SF_Q1" puback_${q}_ms)" "ms"
  record "$bench" "$MQ" "publish to PUBACK $q" "$(field "$MQ_Q1" puback_${q}_ms)" "ms"
done
bench="QoS 0, $PUBLISHERS publishers"
record "$bench" "$SF" "accepted" "$(field "$SF_Q0" sent_per_s)" "msg/s"
record "$bench" "$MQ" "accepted" "$(field "$MQ_Q0" sent_per_s)" "msg/s"
record "$bench" "Shopfloor / mosquitto" "throughput ratio" "$(ratio "$(field "$SF_Q0" sent_per_s)" "$(field "$MQ_Q0" sent_per_s)")" "x"
for who in SF MQ; do
  line=${who}_Q0
  if [ "$(field "${!line}" subscriber_closed)" = True ]; then
    log "${!who}: the QoS 0 subscriber was disconnected (a slow consumer); no delivery rate recorded"
  else
    record "$bench" "${!who}" "delivered to the subscriber" "$(field "${!line}" delivered_per_s)" "msg/s"
  fi
done
bench="Idle connections ($((IDLE + 1)))"
record "$bench" "$SF" "resident memory per connection" "$(field "$SF_IDLE" bytes_per_connection)" "bytes"
record "$bench" "$MQ" "resident memory per connection" "$(field "$MQ_IDLE" bytes_per_connection)" "bytes"

LOAD_AVG_END=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p bench/results
python3 scripts/bench.d/results.py finish "$RESULTS" "$OUT_JSON" \
  --command "scripts/bench mqtt --size $SIZE" \
  --machine "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GB RAM, $(uname -sr)" \
  --load "load average $LOAD_AVG_START at start, $LOAD_AVG_END at end" \
  --seconds "$(( $(date +%s) - T0 ))"
if [ "$SIZE" = full ]; then
  python3 scripts/bench.d/results.py table "$OUT_JSON" --section mqtt --docs docs/BENCHMARKS.md
  log "wrote $OUT_JSON and the mqtt section of docs/BENCHMARKS.md"
else
  python3 scripts/bench.d/results.py table "$OUT_JSON" --section mqtt
  log "wrote $OUT_JSON (smoke size: docs/BENCHMARKS.md is only written by --size full)"
fi
