# scripts/bench storage: the storage engine against InfluxDB 1.6, through the same loader.
#
# Both systems get the same line protocol over HTTP from bench/storage/lp_loader:
#   factory  simulated factory signals (full: 1000 series x 1 day @1 s; smoke: 20 x 10 min)
#   real     NAB realKnownCause, SKAB, C-MAPSS from /work/shared/data (smoke: a subset)
# and are measured for ingest points/s, bytes on disk per point after compaction, query
# latency, and exact read-back of a sample of points (any difference fails the run).
# Plus: native_ingest (engine C++ API, 1 and 2 writers) and codec_bench when they are built.
# InfluxDB and Shopfloor are started here on free loopback ports in a temp dir and stopped
# on exit. Run by scripts/bench (BENCH_SIZE=smoke|full).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench.d/lib.sh

SIZE=${BENCH_SIZE:-smoke}
DATA_ROOT=${SHOPFLOOR_SHARED_DATA:-$(cd .. && pwd)/shared/data}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sf-bench-storage.XXXXXX")
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
  OUT_JSON=bench/results/storage.json
  QUERY_RUNS=5
  COMPACT_WAIT=900
  CODEC_REPEAT=20
else
  OUT_JSON=bench/results/storage-smoke.json
  QUERY_RUNS=3
  COMPACT_WAIT=30
  CODEC_REPEAT=1
fi
LOAD_AVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)

find_build_dir
build_targets lp_loader -- native_ingest codec_bench shopfloor
LOADER=$BUILD/bench/storage/lp_loader
[ -x "$LOADER" ] || die "$LOADER is missing"

datasets=(factory)
if [ -d "$DATA_ROOT/nab" ] && [ -d "$DATA_ROOT/skab" ] && [ -d "$DATA_ROOT/cmapss" ]; then
  datasets+=(real)
else
  log "no real data under $DATA_ROOT: the real dataset is skipped"
fi

# record <benchmark> <system> <dataset> <metric> <value> <unit>
record() {
  python3 scripts/bench.d/results.py record "$RESULTS" "$@"
}


loader() {  # loader <system> <port> <label> <dataset> <steps> [extra flags]
  local system=$1 port=$2 label=$3 dataset=$4 steps=$5
  shift 5
  "$LOADER" --system "$system" --port "$port" --label "$label" --dataset "$dataset" --size "$SIZE" \
    --data-root "$DATA_ROOT" --query-runs "$QUERY_RUNS" --out "$RESULTS" --steps "$steps" "$@"
}

points_of() { "$LOADER" --system influxdb --dataset "$1" --size "$SIZE" --data-root "$DATA_ROOT" --steps count; }
label_of() { python3 scripts/bench.d/results.py last-dataset "$RESULTS"; }

# ---------------------------------------------------------------- InfluxDB 1.6
# Waits until every shard of database $1 is fully compacted: the cache snapshotted (no WAL
# bytes left), one TSM generation per shard, no compaction temp files, sizes unchanged for
# 3 s. The config below makes a shard "cold" 1 s after its last write, so InfluxDB's own
# planner runs the snapshot and the full compaction; nothing is forced from outside.
influx_wait_compacted() {
  local db=$1 deadline=$(( $(date +%s) + COMPACT_WAIT )) last="" stable=0 state
  while [ "$(date +%s)" -lt "$deadline" ]; do
    state=$(
      cd "$TMP/influx" || exit
      wal=$(find "wal/$db" -name '*.wal' -size +0c 2>/dev/null | wc -l)
      tmp=$(find "data/$db" -name '*.tmp' 2>/dev/null | wc -l)
      multi=0
      for shard in data/"$db"/*/*/; do
        [ -d "$shard" ] || continue
        gens=$(find "$shard" -maxdepth 1 -name '*.tsm' -printf '%f\n' | cut -d- -f1 | sort -u | wc -l)
        [ "$gens" -gt 1 ] && multi=$((multi + 1))
      done
      echo "$wal $tmp $multi $(find "data/$db" -type f -printf '%p:%s\n' | sort | md5sum | cut -c1-12)"
    )
    if [ "${state%% *}" = 0 ] && [ "$(cut -d' ' -f2-3 <<<"$state")" = "0 0" ] && [ "$state" = "$last" ]; then
      stable=$((stable + 1))
      [ $stable -ge 3 ] && return 0
    else
      stable=0
    fi
    last=$state
    sleep 1
  done
  return 1
}

run_influx() {
  local port label dataset points bytes metric
  # Snapshot and fully compact a shard 1 s after its last write, so on-disk size is
  # measured on compacted data without waiting the defaults (10 min / 4 h).
  start_influx '  cache-snapshot-write-cold-duration = "1s"
  compact-full-write-cold-duration = "1s"'
  port=$INFLUX_PORT
  label=$INFLUX_LABEL

  for dataset in "${datasets[@]}"; do
    curl -fsS -XPOST "http://127.0.0.1:$port/query" --data-urlencode "q=CREATE DATABASE $dataset" >/dev/null ||
      die "InfluxDB: CREATE DATABASE $dataset failed"
    loader influxdb "$port" "$label" "$dataset" load,verify --db "$dataset" || die "InfluxDB $dataset: load/verify failed"
    points=$(points_of "$dataset")
    metric="bytes per point, compacted"
    if ! influx_wait_compacted "$dataset"; then
      log "InfluxDB $dataset: not fully compacted after ${COMPACT_WAIT}s; recording the size as it is"
      metric="bytes per point (compaction still running)"
    fi
    bytes=$(dir_bytes "$TMP/influx/data/$dataset" "$TMP/influx/wal/$dataset")
    record "disk: data + WAL" "$label" "$(label_of)" "$metric" \
      "$(python3 -c "print($bytes / $points)")" "bytes/point"
    log "InfluxDB $dataset: $bytes bytes on disk for $points points"
    loader influxdb "$port" "$label" "$dataset" query --db "$dataset" || die "InfluxDB $dataset: queries failed"
  done
  stop_pid "$INFLUX_PID" 20
  INFLUX_PID=
}

# ---------------------------------------------------------------- Shopfloor
SHOPFLOOR=$BUILD/src/app/shopfloor
shopfloor_available() {
  [ "${SHOPFLOOR_BENCH_SKIP_SHOPFLOOR:-0}" = 1 ] && { log "Shopfloor skipped (SHOPFLOOR_BENCH_SKIP_SHOPFLOOR=1)"; return 1; }
  [ -n "${BUILT[shopfloor]:-}" ] && [ -x "$SHOPFLOOR" ] || { log "no Shopfloor binary at $SHOPFLOOR: Shopfloor side skipped"; return 1; }
  "$SHOPFLOOR" serve --help >/dev/null 2>&1 || { log "$SHOPFLOOR has no 'serve' command yet: Shopfloor side skipped"; return 1; }
}

run_shopfloor() {
  local label dataset port dir points bytes
  label="Shopfloor $(git rev-parse --short HEAD 2>/dev/null || echo dev)"
  for dataset in "${datasets[@]}"; do
    port=$(free_port)
    dir=$TMP/shopfloor-$dataset
    mkdir -p "$dir"
    # Every route but /healthz needs a credential: a bench admin and its API token.
    echo "bench-password-$RANDOM$RANDOM" | "$SHOPFLOOR" admin create-user --data "$dir" --name bench --role admin \
      >"$TMP/create-user-$dataset.log" 2>&1 || { cat "$TMP/create-user-$dataset.log" >&2; die "admin create-user failed"; }
    SHOPFLOOR_BENCH_TOKEN=$("$SHOPFLOOR" admin create-token --data "$dir" --user bench 2>/dev/null) ||
      die "admin create-token failed"
    export SHOPFLOOR_BENCH_TOKEN
    "$SHOPFLOOR" serve --data "$dir" --http "127.0.0.1:$port" --durability interval=100 >"$TMP/shopfloor-$dataset.log" 2>&1 &
    SF_PID=$!
    wait_http "http://127.0.0.1:$port/healthz" 30 "$SF_PID" ||
      { tail -20 "$TMP/shopfloor-$dataset.log" >&2; die "Shopfloor serve did not start on 127.0.0.1:$port"; }
    log "$label on 127.0.0.1:$port (pid $SF_PID, data $dir)"
    loader shopfloor "$port" "$label" "$dataset" load,verify,query || die "Shopfloor $dataset: load/verify/query failed"
    stop_pid "$SF_PID" 60
    SF_PID=
    points=$(points_of "$dataset")
    if "$SHOPFLOOR" admin compact --data "$dir" >"$TMP/compact-$dataset.log" 2>&1; then
      # Time-series data only: the metadata database (users, audit, model) is not counted,
      # as InfluxDB's meta directory is not.
      bytes=$(dir_bytes "$dir/blocks" "$dir/rollup" "$dir/wal" "$dir/FORMAT" "$dir"/*.catalog)
      record "disk: data + WAL" "$label" "$(label_of)" "bytes per point, compacted" \
        "$(python3 -c "print($bytes / $points)")" "bytes/point"
      log "Shopfloor $dataset: $bytes bytes on disk for $points points"
      # The same queries once more on the compacted directory, where rollups answer the
      # 1-minute averages: InfluxDB's figures above are taken before its compaction too.
      port=$(free_port)
      "$SHOPFLOOR" serve --data "$dir" --http "127.0.0.1:$port" >>"$TMP/shopfloor-$dataset.log" 2>&1 &
      SF_PID=$!
      wait_http "http://127.0.0.1:$port/healthz" 30 "$SF_PID" ||
        { tail -20 "$TMP/shopfloor-$dataset.log" >&2; die "Shopfloor serve did not restart on the compacted data"; }
      loader shopfloor "$port" "$label, compacted" "$dataset" query || die "Shopfloor $dataset: queries after compaction failed"
      stop_pid "$SF_PID" 60
      SF_PID=
    elif "$SHOPFLOOR" admin compact --help >/dev/null 2>&1; then
      tail -5 "$TMP/compact-$dataset.log" >&2
      die "Shopfloor $dataset: 'shopfloor admin compact --data $dir' failed"
    else
      log "Shopfloor $dataset: this build has no 'admin compact': bytes/point not recorded"
    fi
  done
}

# ---------------------------------------------------------------- engine API and codecs
run_native() {
  if [ -z "${BUILT[native_ingest]:-}" ] || [ ! -x "$BUILD/bench/storage/native_ingest" ]; then
    log "native_ingest not built (needs the storage engine): skipped"
    return 0
  fi
  "$BUILD/bench/storage/native_ingest" --dir "$TMP/native" --size "$SIZE" --threads 1,2 --out "$RESULTS" ||
    die "native_ingest failed"
}

run_codec_bench() {
  local bin
  bin=$(find "$BUILD/bench" -name codec_bench -type f -perm -u+x 2>/dev/null | head -1)
  if [ ! -d "$DATA_ROOT" ]; then
    log "no data sets under $DATA_ROOT: codec_bench (bits per value on real data) skipped"
    return 0
  fi
  if [ -z "${BUILT[codec_bench]:-}" ] || [ -z "$bin" ]; then
    log "codec_bench not built: skipped"
    return 0
  fi
  "$bin" --data="$DATA_ROOT" --repeat="$CODEC_REPEAT" >"$TMP/codec.jsonl" 2>"$TMP/codec.log" || { tail -20 "$TMP/codec.log" >&2; die "codec_bench failed"; }
  python3 scripts/bench.d/results.py merge-lines "$RESULTS" "$TMP/codec.jsonl"
}

if command -v influxd >/dev/null; then
  run_influx
else
  log "influxd not installed (Debian package influxdb): InfluxDB side skipped"
fi
if shopfloor_available; then run_shopfloor; fi
run_native
run_codec_bench

LOAD_AVG_END=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p bench/results
python3 scripts/bench.d/results.py finish "$RESULTS" "$OUT_JSON" \
  --command "scripts/bench storage --size $SIZE" \
  --machine "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GB RAM, $(uname -sr)" \
  --load "load average $LOAD_AVG_START at start, $LOAD_AVG_END at end (other engineers' builds share the machine)" \
  --seconds "$(( $(date +%s) - T0 ))"
if [ "$SIZE" = full ]; then
  python3 scripts/bench.d/results.py table "$OUT_JSON" --section storage --docs docs/BENCHMARKS.md
  log "wrote $OUT_JSON and the storage section of docs/BENCHMARKS.md"
else
  python3 scripts/bench.d/results.py table "$OUT_JSON" --section storage
  log "wrote $OUT_JSON (smoke size: docs/BENCHMARKS.md is only written by --size full)"
fi
