# scripts/bench wal: the write-ahead log on the real disk (bench/wal/wal_bench).
#
# Prints CRC32C throughput (SSE4.2 and table paths), appends/s of 100-byte records under
# kNone, kInterval (100 ms) and kAlways with 1 and 8 threads (with fsync counts: the
# group-commit factor), and replay speed. The scratch WAL lives in a temp dir under the
# build directory, i.e. on the same disk a deployment would use. Smoke: 1 s per
# measurement; full: 5 s. Run by scripts/bench (BENCH_SIZE=smoke|full).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench.d/lib.sh

SIZE=${BENCH_SIZE:-smoke}
SECONDS_PER_RUN=1
[ "$SIZE" = full ] && SECONDS_PER_RUN=5

find_build_dir
TMP=$(mktemp -d "$BUILD/sf-bench-wal.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
build_targets wal_bench
"$BUILD/bench/wal/wal_bench" --dir="$TMP/wal" --seconds="$SECONDS_PER_RUN" --record-bytes=100
