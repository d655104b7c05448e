#!/usr/bin/env bash
# The side-by-side comparison of docs/benchmarks.md in one go: installs what is missing (Debian's
# golang-go and golang-github-gorilla-websocket-dev, the Node peer's ws from its lockfile), builds
# Switchboard, the load tool and every peer in Release, and runs `Switchboard.Load compare` with the
# arguments given (default: every scenario against every target at the documented sizes).
# Every server is started fresh per scenario and pinned to core 1 (taskset), the tool to core 0.
#
# Usage: tools/Switchboard.Load/compare.sh [compare options...]
#   e.g. tools/Switchboard.Load/compare.sh --scenario fanout --targets switchboard,go --duration 60s
#
# On a machine shared with other work, BENCH_PRIORITY=-15 runs it in its own scheduler autogroup at
# that niceness, as bench.sh does (root only).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -n "${BENCH_PRIORITY:-}" ] && [ -z "${BENCH_IN_SESSION:-}" ]; then
  exec env BENCH_IN_SESSION=1 setsid --wait "$0" "$@"
fi
if [ -n "${BENCH_PRIORITY:-}" ]; then
  echo "$BENCH_PRIORITY" > /proc/self/autogroup
fi

need_apt=()
for pkg in golang-go golang-github-gorilla-websocket-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing: ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_hostBuilder__reloadConfigOnChange=false
for project in src/Switchboard.Server tools/Switchboard.Load bench/peers/KestrelPeer bench/peers/KestrelConnPeer bench/peers/SignalRPeer; do
  dotnet build "$project" -c Release -v quiet -nologo >/dev/null
done
bench/peers/build.sh

[ $# -eq 0 ] && set -- --scenario all --duration 10s --json-out compare.json
exec dotnet tools/Switchboard.Load/bin/Release/net10.0/Switchboard.Load.dll compare "$@"
