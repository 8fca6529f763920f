# scripts/bench api: REST API read throughput and latency with wrk, against InfluxDB 1.x.
#
# A generated plant of 1000 tags (bench/plant/area/line-NN/m-NN/tK: 10 lines x 10 machines
# x 10 double tags) is loaded with the same line protocol into both systems, then wrk
# (Debian package wrk) measures, with keep-alive connections:
#   twin     GET /api/v1/assets/<url-encoded machine path>/twin          (Shopfloor only)
#   latest   the newest value of all 1000 tags in one request:
#              Shopfloor GET /api/v1/latest?match=bench/**
#              InfluxDB  GET /query?q=SELECT last(*) FROM /.*/            (1000 values)
# Shopfloor runs `serve --config <plant> --durability interval=100` with an admin user and an
# API token made by `shopfloor admin create-user` / `create-token` before it starts; wrk
# sends `Authorization: Bearer <token>`. A build without those commands is benchmarked
# without a token (and the log says so). Every answer is checked once before wrk runs (all
# 1000 tags present); any non-2xx answer during a wrk run fails the suite.
# Sizes: smoke 3 s per run, 8 connections; full 30 s per run, 32 connections, 2 threads;
# wrk's per-request timeout is 60 s (its default of 2 s would drop InfluxDB's slow answers).
# Run by scripts/bench (BENCH_SIZE=smoke|full).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench.d/lib.sh

SIZE=${BENCH_SIZE:-smoke}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sf-bench-api.XXXXXX")
RESULTS=$TMP/results.jsonl
INFLUX_PID=
SF_PID=

cleanup() {
  [ -n "$INFLUX_PID" ] && stop_pid "$INFLUX_PID" 10
  [ -n "$SF_PID" ] && stop_pid "$SF_PID" 10
  if [ "${SHOPFLOOR_BENCH_KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

if [ "$SIZE" = full ]; then
  OUT_JSON=bench/results/api.json
  DURATION=30
  CONNECTIONS=32
  STEPS=600      # timestamps per tag loaded (1 s apart)
else
  OUT_JSON=bench/results/api-smoke.json
  DURATION=3
  CONNECTIONS=8
  STEPS=60
fi
THREADS=2
DATASET="1000 tags (10 lines x 10 machines x 10), ${STEPS} samples each"
TWIN_ASSET=bench/plant/area/line-03/m-07
LATEST_SF="/api/v1/latest?match=bench/**"
LATEST_INFLUX_Q='SELECT last(*) FROM /.*/'
LOAD_AVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)

command -v wrk >/dev/null || die "wrk is not installed (Debian package wrk)"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

find_build_dir
build_targets shopfloor
SHOPFLOOR=$BUILD/src/app/shopfloor
[ -x "$SHOPFLOOR" ] || die "$SHOPFLOOR is missing"

record() {  # record <benchmark> <system> <metric> <value> <unit>
  python3 scripts/bench.d/results.py record "$RESULTS" "$1" "$2" "$DATASET" "$3" "$4" "$5"
}

# ---------------------------------------------------------------- inputs
# The plant (asset types keep it short) and the line protocol: one line per machine and
# second, all ten tags as fields, so each system stores exactly the 1000 series.
"$PY" - "$TMP/plant.yaml" "$TMP/load.lp" "$STEPS" <<'PY'
import sys
plant, lp, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
y = ["version: 1", "asset_types:", "  - name: bench-machine", "    tags:"]
y += [f"      - {{name: t{t}, type: double}}" for t in range(10)]
y += ["enterprise:", "  name: bench", "  sites:", "    - name: plant", "      areas:", "        - name: area",
      "          lines:"]
for line in range(10):
    y += [f"            - name: line-{line:02d}", "              machines:"]
    y += [f"                - {{name: m-{m:02d}, type: bench-machine}}" for m in range(10)]
open(plant, "w").write("\n".join(y) + "\n")
t0 = 1_767_225_600  # 2026-01-01T00:00:00Z, seconds
with open(lp, "w") as f:
    for step in range(steps):
        for line in range(10):
            for m in range(10):
                fields = ",".join(f"t{t}={(line * 100 + m * 10 + t) + step / 1000:.3f}" for t in range(10))
                f.write(f"bench/plant/area/line-{line:02d}/m-{m:02d} {fields} {t0 + step}\n")
PY
split -l 5000 "$TMP/load.lp" "$TMP/load-part-"

load_lp() {  # load_lp <write url> [curl options, e.g. the Authorization header]
  local part url=$1
  shift
  for part in "$TMP"/load-part-*; do
    curl -fsS "$@" -XPOST "$url" --data-binary "@$part" -o /dev/null || die "loading $part into $url failed"
  done
}

# The wrk script: optional bearer token, and a machine-readable summary line at the end.
cat >"$TMP/wrk.lua" <<'LUA'
local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d socket_errors=%d non2xx=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
LUA

# run_wrk <benchmark> <system> <url> [token]: runs wrk and records req/s, p50 and p99.
run_wrk() {
  local benchmark=$1 system=$2 url=$3 token=${4:-} out line
  out=$TMP/wrk-$(date +%s%N).log
  # --timeout: wrk's default of 2 s counts slower answers as socket errors and leaves them
  # out of the latency figures; a slow answer is measured, not dropped.
  BENCH_TOKEN=$token wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 60s --latency \
    -s "$TMP/wrk.lua" "$url" \
    >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed for $url"; }
  line=$(grep '^WRK ' "$out") || { cat "$out" >&2; die "wrk printed no summary for $url"; }
  eval "local ${line#WRK }"
  # shellcheck disable=SC2154  # set by the eval above
  [ "$non2xx" = 0 ] && [ "$socket_errors" = 0 ] ||
    { cat "$out" >&2; die "$system $benchmark: $non2xx non-2xx answers, $socket_errors socket errors"; }
  [ "$requests" -gt 0 ] || die "$system $benchmark: no requests completed"
  local rps
  rps=$(python3 -c "print($requests / ($duration_us / 1e6))")
  record "$benchmark" "$system" "throughput (wrk -c $CONNECTIONS -t $THREADS, ${DURATION} s)" "$rps" "requests/s"
  record "$benchmark" "$system" "latency p50" "$(python3 -c "print($p50_us / 1000)")" "ms"
  record "$benchmark" "$system" "latency p99" "$(python3 -c "print($p99_us / 1000)")" "ms"
  log "$system $benchmark: $(printf '%.0f' "$rps") req/s, p50 $((p50_us / 1000)).$(( (p50_us % 1000) / 100 )) ms, p99 $((p99_us / 1000)) ms"
  LAST_RPS=$rps
}

# ---------------------------------------------------------------- Shopfloor
SF_LATEST_RPS=
run_shopfloor() {
  local label port dir token="" curl_auth=() body count
  label="Shopfloor $(git rev-parse --short HEAD 2>/dev/null || echo dev)"
  dir=$TMP/shopfloor
  mkdir -p "$dir"
  local admin_help
  admin_help=$("$SHOPFLOOR" admin --help 2>&1 || true)
  if grep -q '^ *create-user' <<<"$admin_help" && grep -q '^ *create-token' <<<"$admin_help"; then
    printf 'bench-password-%s\n' "$RANDOM$RANDOM" |
      "$SHOPFLOOR" admin create-user --data "$dir" --name bench --role admin >"$TMP/create-user.log" 2>&1 ||
      { cat "$TMP/create-user.log" >&2; die "shopfloor admin create-user failed"; }
    token=$("$SHOPFLOOR" admin create-token --data "$dir" --user bench 2>"$TMP/create-token.log" | awk 'NF {t = $NF} END {print t}') ||
      { cat "$TMP/create-token.log" >&2; die "shopfloor admin create-token failed"; }
    [ -n "$token" ] || die "shopfloor admin create-token printed no token"
    curl_auth=(-H "Authorization: Bearer $token")
    log "admin user 'bench' and an API token created"
  else
    log "this build has no 'admin create-user/create-token': Shopfloor is benchmarked without a token"
  fi
  port=$(free_port)
  "$SHOPFLOOR" serve --config "$TMP/plant.yaml" --data "$dir" --http "127.0.0.1:$port" --durability interval=100 \
    >"$TMP/shopfloor.log" 2>&1 &
  SF_PID=$!
  # /healthz is the one route that answers without a credential.
  wait_http "http://127.0.0.1:$port/healthz" 30 "$SF_PID" ||
    { tail -20 "$TMP/shopfloor.log" >&2; die "Shopfloor serve did not start on 127.0.0.1:$port"; }
  log "$label on 127.0.0.1:$port (pid $SF_PID, data $dir)"
  load_lp "http://127.0.0.1:$port/write?precision=s" "${curl_auth[@]}"

  # latest: check once that all 1000 tags answer with the last loaded value.
  body=$(curl -fsS "${curl_auth[@]}" "http://127.0.0.1:$port$LATEST_SF") || die "Shopfloor: GET $LATEST_SF failed"
  count=$("$PY" -c '
import json, sys
d = json.loads(sys.stdin.read())
rows = d.get("series", d) if isinstance(d, dict) else d
print(sum(1 for r in rows if "value" in r))' <<<"$body") || die "Shopfloor: the answer of $LATEST_SF is not the expected JSON"
  [ "$count" = 1000 ] || die "Shopfloor: $LATEST_SF answered $count series with a value, expected 1000"
  run_wrk "latest value of 1000 tags (one request)" "$label" "http://127.0.0.1:$port$LATEST_SF" "$token"
  SF_LATEST_RPS=$LAST_RPS

  # twin: only where the build has the route.
  local twin_url code
  twin_url="http://127.0.0.1:$port/api/v1/assets/$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$TWIN_ASSET")/twin"
  code=$(curl -sS -o "$TMP/twin.json" -w '%{http_code}' "${curl_auth[@]}" "$twin_url") || code=000
  if [ "$code" = 200 ]; then
    grep -q '"t0"' "$TMP/twin.json" || die "Shopfloor: the twin of $TWIN_ASSET does not mention its tag t0"
    run_wrk "digital twin read (one machine, 10 tags)" "$label" "$twin_url" "$token"
  elif [ "$code" = 404 ] && grep -q 'no such endpoint' "$TMP/twin.json"; then
    log "this build has no GET /api/v1/assets/{asset}/twin (404): twin benchmark skipped"
  else
    cat "$TMP/twin.json" >&2
    die "Shopfloor: GET $twin_url answered $code"
  fi
  stop_pid "$SF_PID" 30
  SF_PID=
}

# ---------------------------------------------------------------- InfluxDB 1.x
INFLUX_LATEST_RPS=
run_influx() {
  local port label url body count
  start_influx
  port=$INFLUX_PORT
  label=$INFLUX_LABEL
  curl -fsS -XPOST "http://127.0.0.1:$port/query" --data-urlencode "q=CREATE DATABASE bench" >/dev/null ||
    die "InfluxDB: CREATE DATABASE failed"
  load_lp "http://127.0.0.1:$port/write?db=bench&precision=s"
  url="http://127.0.0.1:$port/query?db=bench&q=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$LATEST_INFLUX_Q")"
  body=$(curl -fsS "$url") || die "InfluxDB: $LATEST_INFLUX_Q failed"
  count=$("$PY" -c '
import json, sys
d = json.loads(sys.stdin.read())
n = 0
for res in d["results"]:
    for s in res.get("series", []):
        for row in s["values"]:
            n += sum(1 for v in row[1:] if v is not None)
print(n)' <<<"$body") || die "InfluxDB: unexpected answer to $LATEST_INFLUX_Q"
  [ "$count" = 1000 ] || die "InfluxDB: $LATEST_INFLUX_Q answered $count values, expected 1000"
  run_wrk "latest value of 1000 tags (one request)" "$label" "$url"
  INFLUX_LATEST_RPS=$LAST_RPS
  stop_pid "$INFLUX_PID" 20
  INFLUX_PID=
}

run_shopfloor
if command -v influxd >/dev/null; then
  run_influx
else
  log "influxd not installed (Debian package influxdb): InfluxDB side skipped"
fi
if [ -n "$SF_LATEST_RPS" ] && [ -n "$INFLUX_LATEST_RPS" ]; then
  record "latest value of 1000 tags (one request)" "Shopfloor / InfluxDB" "throughput ratio" \
    "$(python3 -c "print($SF_LATEST_RPS / $INFLUX_LATEST_RPS)")" "x"
fi

LOAD_AVG_END=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p bench/results
python3 scripts/bench.d/results.py finish "$RESULTS" "$OUT_JSON" \
  --command "scripts/bench api --size $SIZE" \
  --machine "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GB RAM, $(uname -sr)" \
  --load "load average $LOAD_AVG_START at start, $LOAD_AVG_END at end (other engineers' builds share the machine)" \
  --seconds "$(( $(date +%s) - T0 ))"
if [ "$SIZE" = full ]; then
  python3 scripts/bench.d/results.py table "$OUT_JSON" --section api --docs docs/BENCHMARKS.md
  log "wrote $OUT_JSON and the api section of docs/BENCHMARKS.md"
else
  python3 scripts/bench.d/results.py table "$OUT_JSON" --section api
  log "wrote $OUT_JSON (smoke size: docs/BENCHMARKS.md is only written by --size full)"
fi
