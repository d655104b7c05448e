#!/bin/sh
# Runs the JavaScript client's tests: unit tests, the .d.ts type check, and integration tests
# against the real server (built here if it is missing). Prints node's spec summary
# ("ℹ tests N", "ℹ pass N", "ℹ fail N", "ℹ skipped N") and exits with node's status.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$here"

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

if [ ! -f "$repo/src/Switchboard.Server/bin/Release/net10.0/Switchboard.Server.dll" ]; then
  dotnet build "$repo/src/Switchboard.Server" -c Release
fi

# Every test bounds its own waits; the per-test timeout is a last resort so a run always ends.
exec node --test --test-reporter=spec --test-timeout=120000 test/*.test.js
