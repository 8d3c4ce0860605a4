#!/usr/bin/env bash
# WebSocket data-plane benchmark, one run on loopback:
#
#   floor        ws_load → ws_echo (apigw-http1's server and WebSocket codec echoing each
#                message: the same stack with no gateway logic)
#   mock         ws_load → apigw, a MOCK two-way route: route selection → request template →
#                MOCK → integration response → response template → route response
#   http_proxy   ws_load → apigw, an HTTP_PROXY two-way route → an nginx upstream
#   connect      new connections/s (handshake + close handshake, no $connect integration)
#   post         PostToConnection/s through @connections to many connected sockets (ws_post)
#   idle         10,000 idle connections: RSS per connection
#
# It prints messages/s, round-trip p50/p99 and the ratios to the floor, the connect rate, the
# post rate and the RSS per idle connection, each against its target (issue: MOCK ≥ 0.7× the
# floor's messages/s with p99 within 1 ms at 64 connections; ≥ 5,000 new connections/s;
# ≤ 16 KiB RSS per idle connection). No local peer serves WebSocket APIs' data plane for the
# same route (moto has none; LocalStack's is in its paid tier), so the floor is the comparison.
#
# Every server runs in a session of its own (setsid), as in bench/data-plane.sh, so none shares
# the load generator's scheduler group, and on one event loop (ws_echo's default, apigw's
# `--io-threads 1`): the load generator takes one of the machine's two cores, the server the
# other. With two loops apigw would contend with the generator for a core and its p99 would
# measure the scheduler's time slices, not the gateway. Rounds: BENCH_ROUNDS (default 3), interleaved floor /
# mock / http_proxy; the table shows medians and each round's ratio.
#
#   bash bench/websocket.sh            # BENCH_DURATION=10 BENCH_CONNECTIONS=64 BENCH_IDLE=10000
#
# Needs nginx, curl and python3 (apt-get installs nginx/curl when missing and running as root).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
duration=${BENCH_DURATION:-10}
rounds=${BENCH_ROUNDS:-3}
connections=${BENCH_CONNECTIONS:-64}
idle_connections=${BENCH_IDLE:-10000}

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }
need() { # command, Debian package
  command -v "$1" >/dev/null && return
  if [[ ${CI:-} != true && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null
  fi
  command -v "$1" >/dev/null || [[ -x /usr/sbin/$1 ]] || die "$1 is required (Debian: apt-get install $2)"
}
need nginx nginx
need curl curl
need setsid util-linux
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
# 10,000 sockets each side, plus headroom.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
(($(ulimit -n) > idle_connections + 1000)) || die "the file limit $(ulimit -n) is too low for $idle_connections idle connections"

step "cargo build --release (apigw, ws_echo, ws_load, ws_post)"
cargo build --release -p apigw
cargo build --release -p apigw-http1 --example ws_echo --example ws_load --example ws_post
apigw_bin=$target_dir/release/apigw
examples=$target_dir/release/examples

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f $work/upstream.pid ]] && kill "$(cat "$work/upstream.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# --- servers ----------------------------------------------------------------------------------
upstream_port=$(free_port)
mkdir -p "$work/upstream"
cat >"$work/upstream.conf" <<EOF
worker_processes 1;
pid $work/upstream.pid;
error_log $work/upstream/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/upstream/body;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$upstream_port; location / { default_type application/json; return 200 '{"ok":true}'; } }
}
EOF
"$nginx_bin" -p "$work/upstream" -c "$work/upstream.conf" -e "$work/upstream/error.log"

floor_port=$(free_port)
setsid "$examples/ws_echo" "127.0.0.1:$floor_port" >"$work/floor.out" 2>&1 &
pids+=($!)

apigw_port=$(free_port)
setsid "$apigw_bin" serve --listen "127.0.0.1:$apigw_port" --data-dir "$work/apigw" --io-threads 1 >"$work/apigw.out" 2>"$work/apigw.err" &
apigw_pid=$!
pids+=("$apigw_pid")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$apigw_port/v2/apis" >/dev/null && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$apigw_port/v2/apis" >/dev/null || die "apigw did not start: $(cat "$work/apigw.err")"

# --- the API (restJson over curl: no SDK needed) ------------------------------------------------
cp_url=http://127.0.0.1:$apigw_port/v2
post() { # path, JSON body → the response body
  curl -sf -X POST "$cp_url$1" -H 'content-type: application/json' -d "$2" || die "POST $1 failed: $2"
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
api=$(post /apis '{"name":"bench","protocolType":"WEBSOCKET","routeSelectionExpression":"$request.body.action"}' | field apiId)
two_way_route() { # route key, integration id
  local route
  route=$(post "/apis/$api/routes" "{\"routeKey\":\"$1\",\"target\":\"integrations/$2\",\"routeResponseSelectionExpression\":\"\$default\"}" | field routeId)
  post "/apis/$api/routes/$route/routeresponses" '{"routeResponseKey":"$default"}' >/dev/null
}
mock_route() { # route key, response template
  local id
  id=$(post "/apis/$api/integrations" '{"integrationType":"MOCK","templateSelectionExpression":"\\$default","requestTemplates":{"$default":"{\"statusCode\": 200, \"echo\": $input.json(\"$.data\")}"}}' | field integrationId)
  post "/apis/$api/integrations/$id/integrationresponses" \
    "{\"integrationResponseKey\":\"\$default\",\"templateSelectionExpression\":\"\\\\\$default\",\"responseTemplates\":{\"\$default\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$2")}}" >/dev/null
  two_way_route "$1" "$id"
}
mock_route echo '$input.json("$.echo")'
mock_route whoami '$context.connectionId'
proxy_id=$(post "/apis/$api/integrations" "{\"integrationType\":\"HTTP_PROXY\",\"integrationMethod\":\"POST\",\"integrationUri\":\"http://127.0.0.1:$upstream_port/ws\"}" | field integrationId)
two_way_route proxy "$proxy_id"
post "/apis/$api/stages" '{"stageName":"bench","autoDeploy":true}' >/dev/null
stage_path=/_aws/execute-api/$api/bench
ws_url=ws://127.0.0.1:$apigw_port$stage_path
# Check each route once before measuring.
for msg in '{"action":"echo","data":"x"}' '{"action":"proxy","data":"x"}'; do
  "$examples/ws_load" --url "$ws_url" --connections 1 --messages 1 --duration 5 --message "$msg" | grep -q 'errors=0' \
    || die "the route for $msg does not answer"
done

# --- rounds: floor, mock, http_proxy -----------------------------------------------------------
rtt() { # name, url, message → "msgs p50 p99" and the raw line in $work/name.rN
  local line
  line=$("$examples/ws_load" --url "$2" --connections "$connections" --duration "$duration" --message "$3")
  echo "$line" >>"$work/$1.lines"
  python3 - "$line" <<'PY'
import re, sys
f = dict(re.findall(r"([a-z/0-9]+)=([0-9.]+)", sys.argv[1]))
print(f["msgs/s"], f["p50"], f["p99"], f["errors"])
PY
}
message='{"action":"echo","data":"x"}'
for r in $(seq "$rounds"); do
  step "round $r/$rounds: $connections connections, ${duration}s each"
  order=(floor mock proxy)
  # Rotate the order each round so no row always runs first.
  for ((i = 0; i < 3; i++)); do
    name=${order[$(((i + r) % 3))]}
    case $name in
      floor) read -r m p50 p99 e < <(rtt floor "ws://127.0.0.1:$floor_port/" "$message") ;;
      mock) read -r m p50 p99 e < <(rtt mock "$ws_url" "$message") ;;
      proxy) read -r m p50 p99 e < <(rtt proxy "$ws_url" '{"action":"proxy","data":"x"}') ;;
    esac
    echo "$r $m $p50 $p99 $e" >>"$work/$name.rounds"
    printf '  %-6s %10.0f msgs/s  p50 %6s us  p99 %6s us  errors %s\n' "$name" "$m" "$p50" "$p99" "$e"
  done
done

step "new connections/s (64 workers, ${duration}s)"
connect_line=$("$examples/ws_load" --url "$ws_url" --mode connect --connections 64 --duration "$duration")
echo "  $connect_line"

step "PostToConnection to 1,000 connected sockets (8 posters, ${duration}s)"
post_line=$("$examples/ws_post" --url "$ws_url" --post-base "$stage_path" --connections 1000 --posters 8 --duration "$duration" --message '{"action":"whoami"}')
echo "  $post_line"

step "$idle_connections idle connections"
sleep 1
rss_before=$(rss_kib "$apigw_pid")
"$examples/ws_load" --url "$ws_url" --mode idle --connections "$idle_connections" --duration 8 >"$work/idle.out" 2>&1 &
idle_pid=$!
for _ in $(seq 600); do grep -q 'connections open' "$work/idle.out" && break; sleep 0.1; done
sleep 2
rss_during=$(rss_kib "$apigw_pid")
open_line=$(grep 'connections open' "$work/idle.out" || echo "idle: did not open")
wait "$idle_pid" || true
echo "  $open_line"
echo "  apigw RSS: ${rss_before} KiB before, ${rss_during} KiB with the connections open"

# --- table -------------------------------------------------------------------------------------
step "summary (medians of $rounds rounds; ratios taken within each round)"
python3 - "$work" "$connect_line" "$post_line" "$rss_before" "$rss_during" "$idle_connections" "$open_line" <<'PY'
import re, statistics, sys
work, connect_line, post_line, rss_before, rss_during, idle_n, open_line = sys.argv[1:8]
def rounds(name):
    out = {}
    for line in open(f"{work}/{name}.rounds"):
        r, m, p50, p99, e = line.split()
        out[int(r)] = (float(m), int(p50), int(p99), int(e))
    return out
floor, mock, proxy = rounds("floor"), rounds("mock"), rounds("proxy")
def med(rows, i):
    return statistics.median(v[i] for v in rows.values())
print(f"{'row':<12}{'msgs/s':>10}{'p50 us':>9}{'p99 us':>9}{'x floor':>9}{'p99-floor':>11}  per-round x floor")
for name, rows in (("floor", floor), ("mock", mock), ("http_proxy", proxy)):
    ratios = [rows[r][0] / floor[r][0] for r in rows if r in floor and floor[r][0]]
    dp99 = [(rows[r][2] - floor[r][2]) / 1000 for r in rows if r in floor]
    print(f"{name:<12}{med(rows,0):>10.0f}{med(rows,1):>9.0f}{med(rows,2):>9.0f}"
          f"{statistics.median(ratios):>9.2f}{statistics.median(dp99):>+10.2f}ms  "
          + " ".join(f"{x:.2f}" for x in ratios))
conns = float(re.search(r"conns/s=([0-9.]+)", connect_line).group(1))
pf = dict(re.findall(r"([a-z/0-9_]+) ([0-9.]+)", post_line))
opened = int(re.search(r"(\d+) connections open", open_line).group(1)) if "connections open" in open_line else 0
per_conn = (int(rss_during) - int(rss_before)) / opened if opened else float("nan")
mock_ratio = statistics.median(mock[r][0] / floor[r][0] for r in mock)
mock_dp99 = statistics.median((mock[r][2] - floor[r][2]) / 1000 for r in mock)
print()
print(f"new connections/s        {conns:>10.0f}   target >= 5000: {'met' if conns >= 5000 else 'MISSED'}")
print(f"PostToConnection/s       {float(pf.get('posts/s', 0)):>10.0f}   p50 {pf.get('p50_us','?')} us, p99 {pf.get('p99_us','?')} us; "
      f"delivered/s {float(pf.get('delivered/s', 0)):.0f} to {pf.get('connections','?')} sockets")
print(f"RSS per idle connection  {per_conn:>10.1f} KiB ({opened} open; {rss_before} -> {rss_during} KiB)   target <= 16 KiB: "
      f"{'met' if per_conn <= 16 else 'MISSED'}")
print(f"MOCK route vs floor      {mock_ratio:>10.2f}x, p99 {mock_dp99:+.2f} ms   target >= 0.70x and <= +1 ms: "
      f"{'met' if mock_ratio >= 0.7 and mock_dp99 <= 1 else 'MISSED'}")
PY
