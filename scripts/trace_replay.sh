#!/usr/bin/env bash
# Measures a trace replay: events per second and peak memory for a trace of N lines.
# Usage: scripts/trace_replay.sh N [N ...]   (e.g. 1000000 10000000)
# Needs a release build (cargo build --release) and GNU time (/usr/bin/time).
# The trace: N timestamps, seconds from the start, 100,000 a second with gaps alternating
# 5 us and 15 us; one consumer serving in 5 us (utilisation 0.5). Written to a temporary
# folder, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release/queuelab"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for n in "$@"; do
  awk -v n="$n" 'BEGIN { t = 0; for (i = 0; i < n; i++) { t += (i % 2 ? 15 : 5); printf "%d.%06d\n", t / 1000000, t % 1000000 } }' > "$tmp/trace.csv"
  secs=$(( n / 100000 + 1 ))
  cat > "$tmp/replay.toml" <<TOML
name = "replay"
duration = "${secs}s"
[[producers]]
arrivals = "trace"
trace = "trace.csv"
[consumers]
count = 1
service = { dist = "constant", value = "5us" }
TOML
  /usr/bin/time -v "$bin" run "$tmp/replay.toml" --quiet --no-plots --out "$tmp/out" 2> "$tmp/time.txt"
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/time.txt")
  python3 - "$tmp/out/summary.json" "$n" "$rss" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
n, rss = int(sys.argv[2]), int(sys.argv[3])
print(f"{n:>11,} lines: produced {s['counts']['produced']:,}, {s['events']:,} events in "
      f"{s['wall_seconds']:.2f} s = {s['events'] / s['wall_seconds'] / 1e6:.1f} M events/s; "
      f"max RSS {rss / 1024:.1f} MiB")
PY
done
