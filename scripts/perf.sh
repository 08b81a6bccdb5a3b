#!/usr/bin/env bash
# Whole-process wall time of `queuelab run` on M/M/4 at rho 0.9 (10 M messages, no plots)
# against the bare M/M/c loop (examples/bare_mmc.rs), interleaved, N rounds; then the
# events/s of every case of examples/throughput.rs.
#
# Usage: scripts/perf.sh [ROUNDS] [OTHER_QUEUELAB_BINARY]
# With a second binary (an older build, say), each round runs it too, right after this
# build, and the end prints both builds' mean and median ratio to the bare loop: compare
# builds only within the same rounds, this machine's speed drifts by about 10%.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
other=${2:-}
cargo build --release --quiet --bin queuelab --example bare_mmc --example throughput
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/mm4.toml" <<'TOML'
name = "mm4"
duration = 2777.7777777777778   # 10 M messages at 3,600/s
sample_every = "10s"
[[producers]]
rate = 3600.0
[consumers]
count = 4
service = { dist = "exponential", mean = "1ms" }
TOML
wall() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
ratios="$tmp/ratios"
for i in $(seq "$rounds"); do
  b=$(wall target/release/examples/bare_mmc 10000000 4 0.9)
  q=$(wall target/release/queuelab run "$tmp/mm4.toml" --no-plots --quiet --out "$tmp/out")
  line=$(printf 'round %d: bare %.3fs  queuelab %.3fs  ratio %.2f' "$i" "$b" "$q" "$(echo "$q / $b" | bc -l)")
  echo "this $(echo "$q / $b" | bc -l)" >> "$ratios"
  if [ -n "$other" ]; then
    o=$(wall "$other" run "$tmp/mm4.toml" --no-plots --quiet --out "$tmp/out")
    line+=$(printf '  other %.3fs  ratio %.2f' "$o" "$(echo "$o / $b" | bc -l)")
    echo "other $(echo "$o / $b" | bc -l)" >> "$ratios"
  fi
  echo "$line"
done
for who in this other; do
  grep "^$who " "$ratios" | awk '{print $2}' | sort -n | awk -v who="$who" '
    { v[NR] = $1; s += $1 }
    END { if (NR) printf "%s build: ratio to the bare loop, mean %.2f, median %.2f over %d rounds\n",
          who, s / NR, (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), NR }'
done
target/release/examples/bare_mmc 10000000 4 0.9
target/release/examples/throughput
