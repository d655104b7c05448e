#!/bin/bash
# Runs one `compare` scenario against one target and records the server's CPU with perf for 15 s.
#   usage: perf-run.sh SCENARIO TARGET OUT   (e.g. perf-run.sh churn switchboard sb-churn)
# JIT'd code is named through the runtime's perf map; ReadyToRun is off so that framework code is
# JIT'd (and named) too, and W^X is off so perf sees JIT'd code as anonymous memory, not memfd.
# The JIT samples this costs are left out by perf-areas.py. Needs root (perf) and a Release build.
set -euo pipefail
scenario=$1 target=$2 out=$3
export DOTNET_hostBuilder__reloadConfigOnChange=false DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 DOTNET_ReadyToRun=0
case $target in switchboard) dll=Switchboard.Server.dll ;; kestrel) dll=KestrelPeer.dll ;; kestrel-conn) dll=KestrelConnPeer.dll ;; signalr) dll=SignalRPeer.dll ;; go) dll=gohub ;; *) echo "target: switchboard, kestrel, kestrel-conn, signalr or go" >&2; exit 2 ;; esac
cd "$(dirname "$0")/../../.."
dotnet tools/Switchboard.Load/bin/Release/net10.0/Switchboard.Load.dll compare --scenario "$scenario" --targets "$target" --duration 20s > "$out.compare.txt" 2>&1 &
load=$!
server=
for _ in $(seq 1 120); do
  server=$(pgrep -P $load -f "$dll" | head -1 || true)
  [ -n "$server" ] && break
  sleep 0.5
done
[ -n "$server" ] || { echo "no server process under $load" >&2; exit 1; }
sleep 5   # past start-up and the scenario's warm-up
# perf ends with the server if the scenario ends first; what it recorded is kept.
perf record -e cpu-clock -F 999 -g -p "$server" -o "$out.perf.data" -- sleep 15 || true
wait $load || true   # a target that did not serve is reported in $out.compare.txt
perf script -i "$out.perf.data" > "$out.perf.txt" 2>/dev/null
echo "$out.perf.txt: python3 tools/Switchboard.Load/profile/perf-areas.py < $out.perf.txt"
