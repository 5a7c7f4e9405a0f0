#!/usr/bin/env bash
# Latency the mcp-proxy bridge adds per MCP request, and its RSS; see
# bench/bridge/main.go. Usage: bench/bridge.sh [-n calls]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -ldflags="-s -w" -o "$tmp/sfmcp-token" ./cmd/sfmcp-token
CGO_ENABLED=0 go build -ldflags="-s -w" -o "$tmp/sfmcp-token-full" ./cmd/sfmcp-token-full
go run ./bench/bridge -sfmcp "$tmp/sfmcp-token" "$@"
