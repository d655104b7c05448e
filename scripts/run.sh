#!/usr/bin/env bash
# Starts Switchboard on http://localhost:8080 (in-memory broker, no other service needed).
# Extra arguments go to the server: --urls http://0.0.0.0:9000, --environment Development (which
# turns on the insecure ?user= identity), --Switchboard:Limits:MaxMessageBytes=131072, ...
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (https://dot.net)."; exit 1; }
exec dotnet run --project src/Switchboard.Server -c Release -- "$@"
