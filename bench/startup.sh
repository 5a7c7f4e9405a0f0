#!/usr/bin/env bash
# Start-up cost of sfmcp-token (`version`, no config, no keychain) against a
# minimal Go program, interleaved in one run so machine noise hits both.
# Usage: bench/startup.sh [runs]   (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -ldflags="-s -w" -o "$tmp/sfmcp-token" ./cmd/sfmcp-token
CGO_ENABLED=0 go build -ldflags="-s -w" -o "$tmp/sfmcp-token-full" ./cmd/sfmcp-token-full
CGO_ENABLED=0 go build -ldflags="-s -w" -o "$tmp/floor" ./bench/floor
for i in $(seq "$runs"); do
  for b in floor sfmcp-token; do
    s=$(date +%s%N); "$tmp/$b" version >/dev/null; e=$(date +%s%N)
    echo "$b $(( (e - s) / 1000 ))"
  done
done > "$tmp/times"
for b in floor sfmcp-token; do
  grep "^$b " "$tmp/times" | awk '{print $2}' | sort -n | awk -v b="$b" '{a[NR]=$1} END {printf "%-12s median %6d us  p90 %6d us  (n=%d)\n", b, a[int(NR/2)+1], a[int(NR*0.9)], NR}'
done
