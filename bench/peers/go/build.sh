#!/usr/bin/env bash
# Builds the Go peer offline, in GOPATH mode, against Debian's golang-github-gorilla-websocket-dev
# (/usr/share/gocode); no module download. Output: bench/peers/go/bin/gohub.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p bin
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="${GOCACHE:-/tmp/switchboard-gocache}" \
  go build -o bin/gohub . 2>&1
