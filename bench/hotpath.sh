#!/usr/bin/env bash
# Hot-path benchmark of the token daemon and `sfmcp-token headers`; see
# bench/hotpath/main.go. Usage: bench/hotpath.sh [flags for hotpath]
# e.g. bench/hotpath.sh -runs 300 -conns 64 -requests 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -ldflags="-s -w" -o "$tmp/sfmcp-token" ./cmd/sfmcp-token
CGO_ENABLED=0 go build -ldflags="-s -w" -o "$tmp/sfmcp-token-full" ./cmd/sfmcp-token-full
CGO_ENABLED=0 go build -ldflags="-s -w" -o "$tmp/floorclient" ./bench/floorclient
CGO_ENABLED=0 go build -ldflags="-s -w" -o "$tmp/gohello" ./bench/gohello
go run ./bench/hotpath -sfmcp "$tmp/sfmcp-token" -floor "$tmp/floorclient" -gohello "$tmp/gohello" "$@"
