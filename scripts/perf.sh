#!/usr/bin/env bash
# Whole-process wall time of `queuelab run` on M/M/4 at rho 0.9 (10 M messages, no plots)
# against the bare M/M/c loop (examples/bare_mmc.rs), interleaved, N rounds; then the
# events/s of every case of examples/throughput.rs. Usage: scripts/perf.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
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
for i in $(seq "$rounds"); do
  b=$(wall target/release/examples/bare_mmc 10000000 4 0.9)
  q=$(wall target/release/queuelab run "$tmp/mm4.toml" --no-plots --quiet --out "$tmp/out")
  printf 'round %d: bare %.3fs  queuelab %.3fs  ratio %.2f\n' "$i" "$b" "$q" "$(echo "$q / $b" | bc -l)"
done
target/release/examples/bare_mmc 10000000 4 0.9
target/release/examples/throughput
