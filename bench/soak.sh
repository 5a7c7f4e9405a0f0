#!/usr/bin/env bash
# The long load test (issue 7): 64 and 512 concurrent connections for 60 s
# each against the daemon; throughput, p50/p99, errors, RSS and goroutines
# before and after. `make soak` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
for conns in 64 512; do
  echo "== $conns connections, 60 s"
  bench/hotpath.sh -runs 1 -cold 1 -conns "$conns" -duration 60s -rate 0 | grep -E "^(machine|load|daemon)"
done
