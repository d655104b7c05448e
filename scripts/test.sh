#!/usr/bin/env bash
# Runs every Switchboard test on a fresh Debian machine: installs what is missing, builds, tests,
# and ends with the line "N passed, N failed, N skipped". Exits with dotnet test's own status.
set -uo pipefail
cd "$(dirname "$0")/.."

# Debian packages the test suites need. The single-node suites need none; the Redis, nginx and
# Chromium suites add theirs here.
apt_packages=(redis-server nginx-light)
need_apt=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing: ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (https://dot.net)."; exit 1; }

log=$(mktemp)
dotnet test Switchboard.slnx -c Release 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

awk '/^(Passed|Failed)! /{for(i=1;i<=NF;i++){v=$(i+1);gsub(",","",v);if($i=="Failed:")f+=v;else if($i=="Passed:")p+=v;else if($i=="Skipped:")s+=v}}
END{printf "%d passed, %d failed, %d skipped\n",p,f,s}' "$log"
rm -f "$log"
exit "$status"
