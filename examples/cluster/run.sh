#!/usr/bin/env bash
# Three stateroom nodes and one redis-server behind nginx (plain round robin), on this machine,
# loopback only, everything in one temporary directory. Ctrl-C stops them all. See README.md.
#
#   examples/cluster/run.sh            # nginx on 8080, nodes on 8081-8083, redis on 6380
#   PORT=9000 NODE_PORTS="9001 9002 9003" REDIS_PORT=9379 examples/cluster/run.sh
#
# Also: SERVICE (default: examples/counter/service.ts), STATEROOM (the command, default: this
# checkout's dist/cli/main.js, else `npx --no-install stateroom`), NGINX, REDIS_SERVER (the
# programs), KEEP_DIR=1 (keep the directory, and its logs, after stopping).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${PORT:-8080}"
read -r -a node_ports <<< "${NODE_PORTS:-8081 8082 8083}"
redis_port="${REDIS_PORT:-6380}"
service="${SERVICE:-$here/../counter/service.ts}"

say() { echo "run.sh: $*" >&2; }

# A program on PATH, or where Debian puts it (/usr/sbin is not on every user's PATH).
find_program() {
  local name="$1" place
  shift
  if command -v "$name" 2>/dev/null; then return 0; fi
  for place in "$@"; do
    if [ -x "$place" ]; then echo "$place"; return 0; fi
  done
  return 1
}
nginx="${NGINX:-$(find_program nginx /usr/sbin/nginx || true)}"
redis="${REDIS_SERVER:-$(find_program redis-server /usr/bin/redis-server || true)}"
[ -n "$nginx" ] || { say "needs nginx — apt-get install nginx"; exit 1; }
[ -n "$redis" ] || { say "needs redis-server — apt-get install redis-server"; exit 1; }
if [ -n "${STATEROOM:-}" ]; then
  read -r -a stateroom <<< "$STATEROOM"
elif [ -f "$here/../../dist/cli/main.js" ]; then
  stateroom=(node "$here/../../dist/cli/main.js") # this checkout (npm run build), or the installed package
else
  stateroom=(npx --no-install stateroom)
fi

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$port" "${node_ports[@]}" "$redis_port"; do
  if listening "$p"; then say "port $p is in use (choose others: PORT, NODE_PORTS, REDIS_PORT)"; exit 1; fi
done

dir="$(mktemp -d "${TMPDIR:-/tmp}/stateroom-cluster.XXXXXX")"
chmod 711 "$dir" # started as root, nginx's workers run as nobody: they may reach its temp files, not list the directory
pids=()          # what this script started, in order: redis-server, the nodes, nginx

# SIGTERM, and SIGKILL if still there after 15 s.
stop() {
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# nginx first; then the nodes, together (each drains: saves its rooms to Redis, gives their
# leases back, closes its clients with 1012); redis-server last, once nothing needs it.
stop_all() {
  trap - INT TERM EXIT
  local n=${#pids[@]}
  if [ "$n" -gt 0 ]; then say "stopping"; fi
  if [ "$n" -gt 4 ]; then stop "${pids[4]}"; fi
  if [ "$n" -gt 1 ]; then stop "${pids[@]:1:3}"; fi
  if [ "$n" -gt 0 ]; then stop "${pids[0]}"; fi
  if [ "${KEEP_DIR:-}" = 1 ]; then say "kept $dir"; else rm -rf "$dir"; fi
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# Until something accepts on 127.0.0.1:port (20 s at most), while `pid` runs.
await_port() {
  local p="$1" what="$2" pid="$3" log="$4"
  for _ in $(seq 200); do
    if ! kill -0 "$pid" 2>/dev/null; then say "$what exited:"; tail -n 20 "$log" >&2; return 1; fi
    if listening "$p"; then return 0; fi
    sleep 0.1
  done
  say "$what does not listen on port $p after 20 s:"
  tail -n 20 "$log" >&2
  return 1
}

# Redis: rooms' leases and images. No persistence: when it stops, the rooms are gone.
"$redis" --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --logfile "$dir/redis.log" &
pids+=($!)
await_port "$redis_port" redis-server "$!" "$dir/redis.log"

# The secret the nodes sign forwarded connections with: the same file for all three.
(umask 077 && node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex") + "\n")' > "$dir/secret.txt")

# Three nodes, one process each (--workers 1), each with its own port and its own --node-url:
# the address the other nodes forward a room's clients to when this node owns the room.
i=0
for p in "${node_ports[@]}"; do
  i=$((i + 1))
  "${stateroom[@]}" serve "$service" --host 127.0.0.1 --port "$p" --workers 1 \
    --redis "redis://127.0.0.1:$redis_port" --node-url "ws://127.0.0.1:$p" \
    --cluster-secret-file "$dir/secret.txt" > "$dir/node-$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do
  await_port "${node_ports[i - 1]}" "node $i" "${pids[i]}" "$dir/node-$i.log"
done

# nginx, in the foreground of its own prefix (the temp dir): nothing of /etc/nginx is read.
mkdir -p "$dir/nginx"
servers=""
for p in "${node_ports[@]}"; do servers+="    server 127.0.0.1:$p;"$'\n'; done
conf="$(cat "$here/nginx.conf.template")"
conf="${conf//@PORT@/$port}"
conf="${conf//@SERVERS@/$servers}"
printf '%s\n' "$conf" > "$dir/nginx/nginx.conf"
"$nginx" -p "$dir/nginx/" -c "$dir/nginx/nginx.conf" -e stderr 2> "$dir/nginx/error.log" &
pids+=($!)
nginx_pid=$!
await_port "$port" nginx "$nginx_pid" "$dir/nginx/error.log"

cat <<READY
ready: ws://127.0.0.1:$port/ws/<room> through nginx (round robin over the nodes)
  try: open http://127.0.0.1:$port/?room=lobby in two tabs, or: npx wscat -c ws://127.0.0.1:$port/ws/lobby
  nodes: 127.0.0.1:${node_ports[0]} (pid ${pids[1]}), 127.0.0.1:${node_ports[1]} (pid ${pids[2]}), 127.0.0.1:${node_ports[2]} (pid ${pids[3]}); redis-server 127.0.0.1:$redis_port (pid ${pids[0]}); nginx pid $nginx_pid
  who owns what: curl -s 127.0.0.1:${node_ports[0]}/status?format=json (its "node" object)
  logs: $dir (node-1.log …, redis.log, nginx/error.log, nginx/access.log)
  Ctrl-C stops them all.
READY

# Until Ctrl-C (the trap stops everything), or until nginx stops. A node stopped by hand
# (kill <pid>: it drains) is not restarted: its rooms move to the others.
wait "$nginx_pid"
