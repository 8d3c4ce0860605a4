#!/usr/bin/env bash
# Instructions per WebSocket message, counted by callgrind: apigw's MOCK two-way route (route
# selection → request template → MOCK → integration response → response template → reply,
# bench/websocket.sh's `echo` route) and the floor under it (examples/ws_echo.rs: apigw-http1's
# server and WebSocket codec echoing each message, no gateway logic). Unlike messages/s on a
# shared 2-core VM, instruction counts repeat run after run, so this is the figure to compare
# when changing the WebSocket message path.
#
#   bash bench/websocket-instructions.sh
#
# Each server runs under `valgrind --tool=callgrind` (one event loop). ws_load sends rounds of
# N1 and then N2 round trips on each of BENCH_CONNECTIONS connections; the counters are zeroed
# before each round and dumped after it (callgrind_control), so
# (I(N2) - I(N1)) / ((N2 - N1) × connections) leaves out start-up, the API's creation and the
# handshakes. User-space instructions only: the kernel's share (one recv and one send per
# message, the same for both) is not counted.
#
# Needs valgrind (callgrind_control), python3 and curl. Environment: BENCH_N1 (50), BENCH_N2
# (150), BENCH_CONNECTIONS (64), CARGO_TARGET_DIR, BENCH_KEEP (a directory to keep the profiles
# in, for `callgrind_annotate --inclusive=yes DIR/callgrind.mock.2`).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
n1=${BENCH_N1:-50}
n2=${BENCH_N2:-150}
conns=${BENCH_CONNECTIONS:-64}
[[ $n1 =~ ^[0-9]+$ && $n2 =~ ^[0-9]+$ && $conns =~ ^[0-9]+$ && $n2 -gt $n1 ]] \
  || { echo "BENCH_N2 must exceed BENCH_N1; all must be integers" >&2; exit 2; }

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
for c in valgrind callgrind_control python3 curl; do command -v "$c" >/dev/null || die "$c is required"; done

cargo build --release -p apigw
cargo build --release -p apigw-http1 --example ws_echo --example ws_load
apigw_bin=$target_dir/release/apigw
examples=$target_dir/release/examples

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [[ -n ${BENCH_KEEP:-} ]]; then mkdir -p "$BENCH_KEEP" && cp "$work"/callgrind.* "$BENCH_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
message='{"action":"echo","data":"x"}'

# The MOCK API of bench/websocket.sh, over restJson with curl.
make_api() { # port → the stage's ws:// URL
  local cp_url=http://127.0.0.1:$1/v2 api id route
  post() { curl -sf -X POST "$cp_url$1" -H 'content-type: application/json' -d "$2" || die "POST $1 failed"; }
  field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
  api=$(post /apis '{"name":"bench","protocolType":"WEBSOCKET","routeSelectionExpression":"$request.body.action"}' | field apiId)
  id=$(post "/apis/$api/integrations" '{"integrationType":"MOCK","templateSelectionExpression":"\\$default","requestTemplates":{"$default":"{\"statusCode\": 200, \"echo\": $input.json(\"$.data\")}"}}' | field integrationId)
  post "/apis/$api/integrations/$id/integrationresponses" \
    '{"integrationResponseKey":"$default","templateSelectionExpression":"\\$default","responseTemplates":{"$default":"$input.json(\"$.echo\")"}}' >/dev/null
  route=$(post "/apis/$api/routes" "{\"routeKey\":\"echo\",\"target\":\"integrations/$id\",\"routeResponseSelectionExpression\":\"\$default\"}" | field routeId)
  post "/apis/$api/routes/$route/routeresponses" '{"routeResponseKey":"$default"}' >/dev/null
  post "/apis/$api/stages" '{"stageName":"bench","autoDeploy":true}' >/dev/null
  echo "ws://127.0.0.1:$1/_aws/execute-api/$api/bench"
}

# name → instructions per message
per_message() {
  local name=$1 port pid url
  port=$(free_port)
  case $name in
    mock)
      # --trace-children: apigw starts itself again once, in place (no transparent huge pages).
      setsid valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$work/callgrind.$name" \
        "$apigw_bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --io-threads 1 >"$work/$name.log" 2>&1 &
      pid=$!
      ;;
    floor)
      setsid valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$name" \
        "$examples/ws_echo" "127.0.0.1:$port" >"$work/$name.log" 2>&1 &
      pid=$!
      ;;
  esac
  pids+=("$pid")
  for _ in $(seq 300); do
    if [[ $name == mock ]]; then curl -sf "http://127.0.0.1:$port/v2/apis" >/dev/null && break
    else (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; fi
    sleep 0.2
  done
  if [[ $name == mock ]]; then url=$(make_api "$port"); else url=ws://127.0.0.1:$port/; fi
  run() { "$examples/ws_load" --url "$url" --connections "$conns" --duration 300 --messages "$1" --message "$message" | grep -q 'errors=0' || die "$name: messages failed"; }
  run 10 # warm-up: pools, first renders
  callgrind_control -z "$pid" >/dev/null 2>&1
  run "$n1"
  callgrind_control -d "$pid" >/dev/null 2>&1
  callgrind_control -z "$pid" >/dev/null 2>&1
  run "$n2"
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill -9 "$pid" 2>/dev/null || true
  python3 - "$work/callgrind.$name" "$n1" "$n2" "$conns" <<'PY'
import glob, re, sys
base, n1, n2, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def total(part):
    files = glob.glob(f"{base}.{part}") or glob.glob(f"{base}*.{part}")
    return int(re.search(r"totals: (\d+)", open(files[0]).read()).group(1))
print(round((total(2) - total(1)) / ((n2 - n1) * conns)))
PY
}

mock=$(per_message mock)
floor=$(per_message floor)
echo
printf '%-34s %10s\n' "instructions per message" ""
printf '%-34s %10d\n' "floor (ws_echo)" "$floor"
printf '%-34s %10d   %.1fx the floor\n' "apigw MOCK two-way route" "$mock" "$(python3 -c "print($mock/$floor)")"
