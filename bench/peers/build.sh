#!/usr/bin/env bash
# Builds the comparison's peers that the .NET solution does not: the Go gorilla hub (offline, in
# GOPATH mode against Debian's golang-github-gorilla-websocket-dev) and the Node ws peer (npm ci from
# its lockfile). The .NET peers (KestrelPeer, KestrelConnPeer, SignalRPeer) are in Switchboard.slnx.
# Needs: apt packages golang-go golang-github-gorilla-websocket-dev; node 20 and npm.
set -euo pipefail
cd "$(dirname "$0")"
./go/build.sh
(cd node && npm ci --no-audit --no-fund --silent)
