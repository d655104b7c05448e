#!/usr/bin/env bash
# Runs a Switchboard cluster on this machine: one redis-server, N nodes (default 3) on the ports
# after PORT, and nginx on http://localhost:PORT (default 8080) with deploy/nginx/switchboard.conf. In the development
# environment (the insecure ?user= identity and a key-less HTTP API, as scripts/run.sh). Ctrl+C
# stops everything it started. Needs redis-server and nginx (apt-get install redis-server nginx-light).
#   deploy/local-cluster.sh            # 3 nodes
#   NODES=5 PORT=9000 REDIS_PORT=6400 deploy/local-cluster.sh    # 5 nodes on 9001-9005, nginx on 9000
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${NODES:-3}
port=${PORT:-8080}
redis_port=${REDIS_PORT:-6379}
work=$(mktemp -d /tmp/switchboard-cluster.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

for tool in dotnet redis-server nginx; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install redis-server nginx-light; .NET 10 SDK)"; exit 1; }
done

dotnet build src/Switchboard.Server -c Release -v quiet -nologo >/dev/null
server=src/Switchboard.Server/bin/Release/net10.0/Switchboard.Server.dll

# Redis with an append-only file fsynced every second: a Redis restart keeps the streams (and their
# epochs), so clients recover across it instead of being told their history is gone.
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly yes --appendfsync everysec \
  --logfile "$work/redis.log" &
pids+=($!)

upstream=""
for i in $(seq 1 "$nodes"); do
  node_port=$((port + i))
  Switchboard__Broker=redis Switchboard__Redis__Configuration="127.0.0.1:$redis_port" \
    dotnet "$server" --environment Development --urls "http://127.0.0.1:$node_port" >"$work/node$i.log" 2>&1 &
  pids+=($!)
  upstream+="    server 127.0.0.1:$node_port max_fails=1 fail_timeout=5s;\n"
  echo "node $i: http://127.0.0.1:$node_port (log $work/node$i.log)"
done

# The shipped example, with this cluster's nodes as the upstream.
sed -e '/^\s*server 127\.0\.0\.1:808[0-9]/d' -e "s|^\(\s*\)keepalive 32;|${upstream}\1keepalive 32;|" -e "s|listen 8080;|listen 127.0.0.1:$port;|" \
  deploy/nginx/switchboard.conf >"$work/switchboard.conf"
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/client_body;
    proxy_temp_path $work/proxy;
    include $work/switchboard.conf;
}
CONF
nginx -p "$work" -c "$work/nginx.conf" -e "$work/nginx.log" -g 'daemon off;' &
pids+=($!)
echo "nginx: http://localhost:$port -> $nodes nodes; redis 127.0.0.1:$redis_port. Ctrl+C stops all."
wait -n
echo "a process exited; stopping the cluster"
