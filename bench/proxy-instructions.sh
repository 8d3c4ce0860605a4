#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: apigw's HTTP_PROXY route (without and
# with parameter mappings), the floor under it (examples/bare_proxy.rs: the same apigw-http1
# server and backend pool with no gateway logic) and, as the reference, an nginx reverse proxy.
# Unlike req/s on a shared 2-core VM, instruction counts repeat run after run, so this is the
# figure to compare when changing the proxy path.
#
#   bash bench/proxy-instructions.sh
#
# Each server runs under `valgrind --tool=callgrind` (one event loop; nginx with one worker, no
# master) twice, serving N1 and then N2 sequential keep-alive GETs through to a static nginx
# upstream; (I(N2) - I(N1)) / (N2 - N1) removes start-up and one-time costs (TLS roots, pool
# fill). User-space instructions only: the kernel's share of a request (the socket calls, about
# the same for all) is not counted. One client on one connection parks the event loop at every
# request, which a loaded server does far less often.
#
# Needs valgrind, nginx, python3 and curl. Environment: BENCH_N1 (300), BENCH_N2 (1800),
# CARGO_TARGET_DIR, BENCH_KEEP (a directory to keep the callgrind profiles in, for
# `callgrind_annotate --inclusive=yes DIR/callgrind.apigw.1800`).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
n1=${BENCH_N1:-300}
n2=${BENCH_N2:-1800}
[[ $n1 =~ ^[0-9]+$ && $n2 =~ ^[0-9]+$ && $n2 -gt $n1 ]] || { echo "BENCH_N2 must exceed BENCH_N1" >&2; exit 2; }

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
for c in valgrind python3 curl; do command -v "$c" >/dev/null || die "$c is required"; done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx_bin ]] || die "nginx is required (Debian: apt-get install nginx)"

cargo build --release -p apigw
cargo build --release -p apigw-dataplane --example bare_proxy

work=$(mktemp -d)
cleanup() {
  [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  if [[ -n ${BENCH_KEEP:-} ]]; then mkdir -p "$BENCH_KEEP" && cp "$work"/callgrind.* "$BENCH_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

upstream=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$upstream; location / { default_type text/plain; return 200 "ok\n"; } }
}
EOF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx.conf" -e "$work/nginx/error.log"

# Sends N keep-alive GETs; for apigw first creates the API, its two routes (the second with
# bench/data-plane.sh's mappings) and the $default stage.
cat >"$work/client.py" <<'EOF'
import http.client, json, sys, time
mode, port, upstream, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
apigw = mode.startswith("apigw")
deadline = time.time() + 120
while True:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/v2/apis" if apigw else "/")
        c.getresponse().read()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("the server under callgrind did not start")
        time.sleep(0.2)
headers = {"User-Agent": "bench"}
path = "/mapped" if mode == "apigw-map" else "/plain" if apigw else "/"
if apigw:
    def v2(method, path, body):
        c.request(method, "/v2/" + path, body=json.dumps(body), headers={"content-type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.status >= 300:
            sys.exit(f"{method} {path}: {r.status} {data[:200]!r}")
        return json.loads(data or b"{}")
    api = v2("POST", "apis", {"name": "bench", "protocolType": "HTTP"})["apiId"]
    integ = v2("POST", f"apis/{api}/integrations", {
        "integrationType": "HTTP_PROXY", "integrationUri": f"http://127.0.0.1:{upstream}/",
        "integrationMethod": "ANY", "payloadFormatVersion": "1.0"})["integrationId"]
    mapped = v2("POST", f"apis/{api}/integrations", {
        "integrationType": "HTTP_PROXY", "integrationUri": f"http://127.0.0.1:{upstream}/",
        "integrationMethod": "ANY", "payloadFormatVersion": "1.0",
        "requestParameters": {"append:header.x-request-id": "$context.requestId",
                              "overwrite:header.x-stage": "${stageVariables.env}-${context.stage}",
                              "append:querystring.src": "apigw"},
        "responseParameters": {"200": {"overwrite:header.x-route": "$context.routeKey"}}})["integrationId"]
    v2("POST", f"apis/{api}/routes", {"routeKey": "GET /plain", "target": f"integrations/{integ}"})
    v2("POST", f"apis/{api}/routes", {"routeKey": "GET /mapped", "target": f"integrations/{mapped}"})
    v2("POST", f"apis/{api}/stages", {"stageName": "$default", "autoDeploy": True,
                                      "stageVariables": {"env": "bench"}})
    headers["Host"] = f"{api}.execute-api.localhost:{port}"
d = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    d.request("GET", path, headers=headers)
    r = d.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"proxied GET answered {r.status}")
EOF

# server (apigw|apigw-map|bare|nginx) N → total instructions of the server process
instructions() {
  local mode=$1 n=$2 port out pid
  port=$(free_port)
  out=$work/callgrind.$mode.$n
  case $mode in
    apigw*)
      # --trace-children: apigw starts itself again once, in place (no transparent huge pages).
      valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$out" "$target_dir/release/apigw" serve \
        --listen "127.0.0.1:$port" --data-dir "$work/data.$mode.$n" --io-threads 1 >"$work/$mode.log" 2>&1 &
      ;;
    bare)
      BARE_PER_CORE=1 valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$target_dir/release/examples/bare_proxy" "127.0.0.1:$port" "127.0.0.1:$upstream" >"$work/$mode.log" 2>&1 &
      ;;
    nginx)
      # The reverse proxy of bench/data-plane.sh, as one process (no master, one worker).
      mkdir -p "$work/proxy.$n"
      cat >"$work/proxy.$n.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/proxy.$n/nginx.pid;
error_log $work/proxy.$n/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/proxy.$n/body; proxy_temp_path $work/proxy.$n/proxy;
  fastcgi_temp_path $work/proxy.$n/fastcgi; uwsgi_temp_path $work/proxy.$n/uwsgi; scgi_temp_path $work/proxy.$n/scgi;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$upstream; keepalive 128; }
  server { listen 127.0.0.1:$port; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
CONF
      valgrind --tool=callgrind --callgrind-out-file="$out" "$nginx_bin" -p "$work/proxy.$n" \
        -c "$work/proxy.$n.conf" -e "$work/proxy.$n/error.log" >"$work/$mode.log" 2>&1 &
      ;;
  esac
  pid=$!
  python3 "$work/client.py" "$mode" "$port" "$upstream" "$n" || { kill "$pid"; die "$mode: client failed (see $work/$mode.log)"; }
  kill -INT "$pid" 2>/dev/null || true
  sleep 1
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  awk '/^summary:/ {print $2}' "$out"
}

declare -A per_request
for mode in apigw apigw-map bare nginx; do
  a=$(instructions "$mode" "$n1")
  b=$(instructions "$mode" "$n2")
  [[ -n $a && -n $b ]] || die "$mode: no callgrind summary"
  per_request[$mode]=$(((b - a) / (n2 - n1)))
  printf '%-10s %12d instructions at %d requests, %12d at %d\n' "$mode" "$a" "$n1" "$b" "$n2"
done
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
printf '\ninstructions per proxied request (user space, callgrind)\n'
printf '  apigw HTTP_PROXY route          %8d  (%s x nginx)\n' "${per_request[apigw]}" "$(ratio "${per_request[apigw]}" "${per_request[nginx]}")"
printf '  apigw route with 3+1 mappings   %8d  (%s x nginx)\n' "${per_request[apigw-map]}" "$(ratio "${per_request[apigw-map]}" "${per_request[nginx]}")"
printf '  floor (bare_proxy, same stack)  %8d  (%s x nginx)\n' "${per_request[bare]}" "$(ratio "${per_request[bare]}" "${per_request[nginx]}")"
printf '  nginx reverse proxy             %8d\n' "${per_request[nginx]}"
printf '  added by the gateway            %8d (%d%% over the floor)\n' \
  "$((per_request[apigw] - per_request[bare]))" "$(((per_request[apigw] - per_request[bare]) * 100 / per_request[bare]))"
