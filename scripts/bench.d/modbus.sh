# scripts/bench modbus: the Modbus collector's polls/s and register reads/s, beside pymodbus's
# own synchronous client.
#
# Starts the pymodbus test server (tests/peers/modbus/server.py, Debian python3-pymodbus
# 3.0.0rc1, run by /usr/bin/python3) on a free loopback port, then, against that one server
# in the same run and one after the other, reads holding registers 0..999 (8 FC 3 requests
# of up to 125 registers per poll) as fast as the server answers:
#   collector  connect::modbus::Collector with 1000 uint16 tags polling back to back (1 us
#              interval), every value decoded and stored (bench/modbus/modbus_bench --mode=collector)
#   link       the collector's Link alone: libmodbus reads, no decoding or storage
#              (--mode=link)
#   pymodbus   pymodbus's ModbusTcpClient doing the same reads (tests/peers/modbus/bench_client.py)
# and records polls/s, registers/s and the Shopfloor / pymodbus ratios. The server is
# pymodbus on one Python thread and shares the machine with the client being measured, so
# throughput is bounded by the server: the ratio says how much the client adds.
# Sizes: smoke 2 s per measurement; full 10 s. Run by scripts/bench (BENCH_SIZE=smoke|full).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench.d/lib.sh

SIZE=${BENCH_SIZE:-smoke}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sf-bench-modbus.XXXXXX")
RESULTS=$TMP/results.jsonl
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID" 10
  if [ "${SHOPFLOOR_BENCH_KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

if [ "$SIZE" = full ]; then
  OUT_JSON=bench/results/modbus.json
  SECONDS_PER_RUN=10
else
  OUT_JSON=bench/results/modbus-smoke.json
  SECONDS_PER_RUN=2
fi
REGISTERS=1000
PY=/usr/bin/python3
PEER=tests/peers/modbus
LOAD_AVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)

"$PY" -c 'import pymodbus' 2>/dev/null || die "/usr/bin/python3 cannot import pymodbus (apt install python3-pymodbus)"
PYMODBUS_VERSION=$("$PY" -c 'import pymodbus; print(pymodbus.__version__)')
find_build_dir
build_targets modbus_bench
BENCH=$BUILD/bench/modbus/modbus_bench
[ -x "$BENCH" ] || die "$BENCH is missing"

PORT=$(free_port)
# The server exits when its stdin closes: a fifo held open by this script.
mkfifo "$TMP/control"
"$PY" "$PEER/server.py" "$PORT" <"$TMP/control" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
exec 3>"$TMP/control"
for _ in $(seq 300); do
  grep -q '^ready' "$TMP/server.log" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "server.py exited"; }
  sleep 0.1
done
grep -q '^ready' "$TMP/server.log" || die "server.py did not get ready in 30 s"
ENDPOINT=127.0.0.1:$PORT
log "pymodbus $PYMODBUS_VERSION server on $ENDPOINT (pid $SERVER_PID): $REGISTERS holding registers"

DATASET="$REGISTERS holding registers, 8 FC 3 requests per poll (pymodbus $PYMODBUS_VERSION server)"
record() {  # record <benchmark> <system> <metric> <value> <unit>
  python3 scripts/bench.d/results.py record "$RESULTS" "$1" "$2" "$DATASET" "$3" "$4" "$5"
}
field() {  # field <json line> <key>
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}
ratio() { python3 -c "print($1 / $2)"; }

measure() {  # measure <collector|link|pymodbus>: prints the client's JSON line
  local who=$1 line
  if [ "$who" = pymodbus ]; then
    line=$("$PY" "$PEER/bench_client.py" --endpoint="$ENDPOINT" --registers=$REGISTERS \
      --seconds=$SECONDS_PER_RUN 2>"$TMP/err" | grep '^{') || { cat "$TMP/err" >&2; die "bench_client.py failed"; }
  else
    line=$("$BENCH" --endpoint="$ENDPOINT" --registers=$REGISTERS --seconds=$SECONDS_PER_RUN --mode="$who" \
      2>"$TMP/err" | grep '^{') || { cat "$TMP/err" >&2; die "modbus_bench --mode=$who failed"; }
  fi
  log "$who: $line"
  echo "$line"
}

col=$(measure collector)
lnk=$(measure link)
py=$(measure pymodbus)
bench="Polling $REGISTERS holding registers"
for m in "Shopfloor collector|$col" "Shopfloor Link (libmodbus)|$lnk" "pymodbus client|$py"; do
  who=${m%%|*}
  line=${m#*|}
  record "$bench" "$who" "polls" "$(field "$line" polls_per_s)" "polls/s"
  record "$bench" "$who" "register reads" "$(field "$line" registers_per_s)" "registers/s"
  record "$bench" "$who" "requests" "$(field "$line" requests_per_s)" "requests/s"
done
record "$bench" "Shopfloor collector / pymodbus" "throughput ratio" \
  "$(ratio "$(field "$col" registers_per_s)" "$(field "$py" registers_per_s)")" "x"
record "$bench" "Shopfloor Link / pymodbus" "throughput ratio" \
  "$(ratio "$(field "$lnk" registers_per_s)" "$(field "$py" registers_per_s)")" "x"

exec 3>&-
LOAD_AVG_END=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p bench/results
python3 scripts/bench.d/results.py finish "$RESULTS" "$OUT_JSON" \
  --command "scripts/bench modbus --size $SIZE" \
  --machine "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GB RAM, $(uname -sr)" \
  --load "load average $LOAD_AVG_START at start, $LOAD_AVG_END at end (other engineers' builds share the machine)" \
  --seconds "$(( $(date +%s) - T0 ))"
if [ "$SIZE" = full ]; then
  python3 scripts/bench.d/results.py table "$OUT_JSON" --section modbus --docs docs/BENCHMARKS.md
  log "wrote $OUT_JSON and the modbus section of docs/BENCHMARKS.md"
else
  python3 scripts/bench.d/results.py table "$OUT_JSON" --section modbus
  log "wrote $OUT_JSON (smoke size: docs/BENCHMARKS.md is only written by --size full)"
fi
