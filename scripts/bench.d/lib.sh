# Helpers shared by the benchmark suites (sourced by scripts/bench.d/<suite>.sh).

log() { echo "[bench] $*" >&2; }
die() { echo "[bench] ERROR: $*" >&2; exit 1; }

# A free TCP port on 127.0.0.1 (the kernel's pick; closed again before use).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http <url> <seconds> <pid>: polls until the URL answers 2xx, the process dies or time runs out.
wait_http() {
  local url=$1 seconds=$2 pid=$3 i
  for ((i = 0; i < seconds * 10; i++)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# stop_pid <pid> [seconds]: SIGTERM, then SIGKILL after the grace period; waits for it.
stop_pid() {
  local pid=$1 grace=${2:-20} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Bytes the files under the given paths hold on disk: per regular file the smaller of its
# length and its allocated blocks, so sparse preallocation (InfluxDB's 4 MB _series
# segments) is not counted and small files are not rounded up to a 4 KiB block.
dir_bytes() {
  find "$@" -type f -printf '%s %b\n' 2>/dev/null |
    awk '{a = $2 * 512; s += ($1 < a ? $1 : a)} END {printf "%d\n", s}'
}

# The build directory with the benchmark binaries, building what is asked for.
#   find_build_dir -> sets BUILD
find_build_dir() {
  if [ -n "${SHOPFLOOR_BUILD_DIR:-}" ]; then
    BUILD=$SHOPFLOOR_BUILD_DIR
  elif [ -f build-release/build.ninja ]; then
    BUILD=build-release
  elif [ -f build/release/build.ninja ]; then
    BUILD=build/release
  else
    BUILD=build-release
    log "configuring a Release build in $BUILD"
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
}

# build_targets <required...> -- <optional...>: builds into $BUILD unless
# SHOPFLOOR_BENCH_NO_BUILD=1. A required target that fails to build is an error; an
# optional one (absent from the build, or failing) is reported and skipped. Sets
# BUILT[<target>]=1 for every target that is usable.
declare -A BUILT
build_targets() {
  local required=() optional=() t in_optional=0 jobs=${SHOPFLOOR_JOBS:-2}
  for t in "$@"; do
    if [ "$t" = -- ]; then in_optional=1; continue; fi
    if ((in_optional)); then optional+=("$t"); else required+=("$t"); fi
  done
  if [ "${SHOPFLOOR_BENCH_NO_BUILD:-0}" = 1 ]; then
    for t in "${required[@]}" "${optional[@]}"; do BUILT[$t]=1; done
    return 0
  fi
  cmake --build "$BUILD" -j "$jobs" --target "${required[@]}" >"$TMP/build.log" 2>&1 ||
    { tail -40 "$TMP/build.log" >&2; die "building ${required[*]} in $BUILD failed"; }
  for t in "${required[@]}"; do BUILT[$t]=1; done
  local known
  known=$(ninja -C "$BUILD" -t targets all 2>/dev/null | sed 's/:.*//')
  for t in "${optional[@]}"; do
    if ! grep -qx "$t" <<<"$known"; then
      log "optional target $t is not part of the build yet: skipped"
    elif ! cmake --build "$BUILD" -j "$jobs" --target "$t" >"$TMP/build-$t.log" 2>&1; then
      log "optional target $t failed to build (see below): its benchmarks are skipped"
      tail -15 "$TMP/build-$t.log" >&2
    else
      BUILT[$t]=1
    fi
  done
}

# Starts InfluxDB 1.x in $TMP/influx on free loopback ports (fsync at most every 100 ms, like
# Shopfloor's --durability interval=100; no monitoring, retention or query limits).
#   start_influx [extra lines for the [data] section]
# Sets INFLUX_PID, INFLUX_PORT and INFLUX_LABEL ("InfluxDB <version>"); dies if it does not
# answer /ping within 30 s.
start_influx() {
  local extra_data=${1:-} version bind_port
  version=$(influxd version 2>/dev/null | awk '{print $2}')
  INFLUX_LABEL="InfluxDB ${version:-1.x}"
  INFLUX_PORT=$(free_port)
  bind_port=$(free_port)
  mkdir -p "$TMP/influx"
  cat >"$TMP/influx/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$bind_port"
[meta]
  dir = "$TMP/influx/meta"
  logging-enabled = false
[data]
  dir = "$TMP/influx/data"
  wal-dir = "$TMP/influx/wal"
  wal-fsync-delay = "100ms"
  index-version = "inmem"
  query-log-enabled = false
$extra_data
[coordinator]
  query-timeout = "0s"
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[retention]
  enabled = false
[shard-precreation]
  enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
  pprof-enabled = false
  max-row-limit = 0
[logging]
  level = "warn"
CONF
  influxd run -config "$TMP/influx/influxdb.conf" >"$TMP/influx/log" 2>&1 &
  INFLUX_PID=$!
  wait_http "http://127.0.0.1:$INFLUX_PORT/ping" 30 "$INFLUX_PID" ||
    { tail -20 "$TMP/influx/log" >&2; die "InfluxDB did not start on 127.0.0.1:$INFLUX_PORT"; }
  log "$INFLUX_LABEL on 127.0.0.1:$INFLUX_PORT (pid $INFLUX_PID, dir $TMP/influx)"
}
