#!/usr/bin/env bash
# Starts Switchboard on http://localhost:8080 (in-memory broker, no other service needed), in the
# development environment unless told otherwise, so that a first try needs no token: anonymous
# access, the insecure ?user= identity and a key-less HTTP API are on, each with a warning.
# Extra arguments go to the server: --environment Production, --urls http://0.0.0.0:9000,
# --Switchboard:Limits:MaxMessageBytes=131072, ...
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (https://dot.net)."; exit 1; }
environment=()
case " $* " in *" --environment "*) ;; *) environment=(--environment Development) ;; esac
exec dotnet run --project src/Switchboard.Server -c Release -- "${environment[@]}" "$@"
