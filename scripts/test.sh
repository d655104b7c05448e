#!/usr/bin/env bash
# Runs every Switchboard test on a fresh Debian machine: installs what is missing, builds, runs the
# dotnet suites and the JS client's node suite, and ends with one line "N passed, N failed, N skipped"
# over all of them. Exits non-zero when any suite failed.
#
# One category at a time: ./scripts/test.sh --filter "Category=unit" (or integration, external);
# the filter goes to dotnet test, and the node suite then does not run.
set -uo pipefail
cd "$(dirname "$0")/.."

# Debian packages the suites need: redis-server, redis-sentinel and nginx for the scale-out suites, chromium for the
# browser tests (driven by Playwright at /usr/bin/chromium), Go and gorilla/websocket for the Go peer
# of the comparison smoke (bench/peers). Node 20 and npm come with the machine.
apt_packages=(redis-server redis-sentinel nginx-light chromium golang-go golang-github-gorilla-websocket-dev)
need_apt=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing: ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (https://dot.net)."; exit 1; }
command -v npm >/dev/null || { echo "node 20 and npm are required for the JS client tests."; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet build Switchboard.slnx -c Release 2>&1 | tail -3
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
# The comparison's Go and Node peers (the .NET peers are in the solution); CompareSmokeTests runs them.
bench/peers/build.sh || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

# Hundreds of in-process servers start during a run; each would watch its settings files with an
# inotify instance, and Linux allows 128 per user. No test changes a settings file while it runs.
export DOTNET_hostBuilder__reloadConfigOnChange=false
dotnet test Switchboard.slnx -c Release --no-build "$@" 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

if [ $# -eq 0 ]; then
  ./clients/js/test.sh 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

# dotnet prints "Passed!/Failed!  - Failed: F, Passed: P, Skipped: S" per test project; node's spec
# reporter ends with "ℹ pass P", "ℹ fail F", "ℹ cancelled C" (a failed hook), "ℹ skipped S".
awk '/^(Passed|Failed)! /{for(i=1;i<=NF;i++){v=$(i+1);gsub(",","",v);if($i=="Failed:")f+=v;else if($i=="Passed:")p+=v;else if($i=="Skipped:")s+=v}}
/^ℹ pass /{np=$3} /^ℹ fail /{nf=$3} /^ℹ cancelled /{nc=$3} /^ℹ skipped /{ns=$3}
END{printf "%d passed, %d failed, %d skipped\n",p+np,f+nf+nc,s+ns}' "$log"
exit "$status"
