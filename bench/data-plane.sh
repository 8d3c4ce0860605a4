#!/usr/bin/env bash
# Data-plane benchmark: HTTP_PROXY through apigw vs nginx as a reverse proxy, same upstream,
# loopback only, every target measured in the same run.
#
#   bash bench/data-plane.sh
#
# Two nginx instances (worker_processes auto, own temp configs, high ports, current user): the
# upstream (a static `return 200`) and a reverse proxy to it with a keep-alive upstream pool;
# the upstream's instance also has a co-located proxy server block (row nginx-colocated). apigw (release build) gets an HTTP API whose routes proxy to the
# same upstream: `GET /plain` (no mapping) and `GET /mapped` (three request parameter mappings
# and one response mapping). wrk -t2 -c64 --latency measures:
#   direct      wrk → upstream
#   nginx       wrk → nginx proxy → upstream (separate processes, like apigw's)
#   nginx-colocated  wrk → proxy block in the upstream's own nginx → upstream
#   apigw       wrk → apigw HTTP_PROXY route → upstream
#   apigw+map   wrk → apigw route with parameter mappings → upstream
#   apigw-ws, apigw-ws+map: the same with `apigw serve --io-threads 0` (one work-stealing
#               runtime instead of the default one event loop per core)
#   floor       wrk → examples/bare_proxy (apigw's server and backend-pool stack, no gateway
#               logic) → upstream, one single-threaded runtime per core like apigw's default
#   apigw+jwt, apigw+lambda-auth, apigw+iam: the plain route behind a JWT authorizer (one
#               token, from a local OpenID provider: an openssl key, discovery and JWKS served
#               by python3's http.server), a Lambda REQUEST authorizer with a 300 s result
#               cache (a stdlib-only Python function on the Runtime API), and AWS_IAM (one
#               SigV4-signed request; no --credentials, so the signature's form is checked);
#               each also as a ratio to the plain route in the same round (target ≥ 0.9).
#
# Every server runs in a session of its own, as a daemon does: nginx's instances detach
# (setsid) when they start, and apigw and the floor are started with `setsid`. Under the
# kernel's scheduler autogroups (sched_autogroup_enabled=1, Debian's default) CPU is shared
# between sessions first; a server left in wrk's session splits one share with wrk, which
# before session 5 made apigw's p99 spike to 10-125 ms and cost it about a tenth of its
# req/s against the daemonized nginx.
#
# On a small shared VM req/s drifts by a third within minutes, so a single back-to-back pass
# compares moments more than servers. The targets are measured in BENCH_ROUNDS interleaved
# rounds (the order rotates each round); each ratio to nginx is taken within its round, and the
# table shows medians. It prints req/s, p50, p99, the ratios to nginx and the server-side CPU
# time per request (nginx + apigw, from /proc). Then the routing + mapping cost per request,
# measured without sockets by the `route_cost` example of apigw-dataplane.
#
# Needs wrk, nginx and curl (apt-get installs nginx/wrk when missing and running as root).
# Environment: BENCH_ROUNDS (5), BENCH_DURATION (wrk -d seconds per target and round, 5),
# BENCH_CONNECTIONS (64), CARGO_TARGET_DIR.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
duration=${BENCH_DURATION:-5}
rounds=${BENCH_ROUNDS:-5}
connections=${BENCH_CONNECTIONS:-64}
threads=2

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

need() { # command, Debian package
  command -v "$1" >/dev/null && return
  if [[ ${CI:-} != true && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null
  fi
  command -v "$1" >/dev/null || [[ -x /usr/sbin/$1 ]] || die "$1 is required (Debian: apt-get install $2)"
}
need wrk wrk
need nginx nginx
need curl curl
need openssl openssl
need setsid util-linux
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

step "cargo build --release -p apigw; route_cost example"
cargo build --release -p apigw
cargo build --release -p apigw-dataplane --example route_cost --example bare_proxy
apigw_bin=$target_dir/release/apigw

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in upstream proxy; do
    [[ -f $work/$n.pid ]] && kill "$(cat "$work/$n.pid")" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
upstream_port=$(free_port)
proxy_port=$(free_port)
shared_port=$(free_port)

step "nginx: upstream on $upstream_port, reverse proxy on $proxy_port, co-located proxy on $shared_port"
# start_nginx name server-blocks → starts one nginx instance (worker_processes auto)
start_nginx() {
  local name=$1 servers=$2
  mkdir -p "$work/$name"
  cat >"$work/$name.conf" <<EOF
worker_processes auto;
pid $work/$name.pid;
error_log $work/$name/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/$name/body;
  proxy_temp_path $work/$name/proxy;
  fastcgi_temp_path $work/$name/fastcgi;
  uwsgi_temp_path $work/$name/uwsgi;
  scgi_temp_path $work/$name/scgi;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$upstream_port; keepalive 128; }
  $servers
}
EOF
  "$nginx_bin" -p "$work/$name" -c "$work/$name.conf" -e "$work/$name/error.log"
}
proxy_block() { # port
  echo "server { listen 127.0.0.1:$1; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
}
# The upstream is an nginx of its own, and so is the proxy measured as "nginx": wrk → proxy
# processes → upstream processes, the same topology as wrk → apigw → upstream. The
# "nginx-colocated" row is a proxy server block inside the upstream's own nginx, as this bench
# measured nginx before; it stays as a check that the two set-ups measure alike.
start_nginx upstream "server { listen 127.0.0.1:$upstream_port; location / { default_type text/plain; return 200 \"ok\\n\"; } }
  $(proxy_block "$shared_port")"
start_nginx proxy "$(proxy_block "$proxy_port")"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$proxy_port/" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$proxy_port/" >/dev/null || die "nginx did not start"

# Starts apigw with extra flags and configures the bench API: sets apigw_port and host.
start_apigw() { # data-dir-name, extra flags...
  local dir=$1
  shift
  step "apigw $*"
  setsid "$apigw_bin" serve --listen 127.0.0.1:0 --data-dir "$work/$dir" "$@" >"$work/$dir.out" 2>"$work/$dir.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q 'listening on' "$work/$dir.out" 2>/dev/null && break; sleep 0.05; done
  apigw_url=$(sed -n 's/^apigw listening on //p' "$work/$dir.out")
  [[ -n $apigw_url ]] || die "apigw did not start: $(cat "$work/$dir.err")"
  apigw_port=${apigw_url##*:}
  local api plain mapped
  api=$(v2 POST apis '{"name":"bench","protocolType":"HTTP"}' | field apiId)
  plain=$(v2 POST "apis/$api/integrations" "{\"integrationType\":\"HTTP_PROXY\",\"integrationUri\":\"http://127.0.0.1:$upstream_port/\",\"integrationMethod\":\"ANY\",\"payloadFormatVersion\":\"1.0\"}" | field integrationId)
  mapped=$(v2 POST "apis/$api/integrations" "{\"integrationType\":\"HTTP_PROXY\",\"integrationUri\":\"http://127.0.0.1:$upstream_port/\",\"integrationMethod\":\"ANY\",\"payloadFormatVersion\":\"1.0\",
    \"requestParameters\":{\"append:header.x-request-id\":\"\$context.requestId\",\"overwrite:header.x-stage\":\"\${stageVariables.env}-\${context.stage}\",\"append:querystring.src\":\"apigw\"},
    \"responseParameters\":{\"200\":{\"overwrite:header.x-route\":\"\$context.routeKey\"}}}" | field integrationId)
  v2 POST "apis/$api/routes" "{\"routeKey\":\"GET /plain\",\"target\":\"integrations/$plain\"}" >/dev/null
  v2 POST "apis/$api/routes" "{\"routeKey\":\"GET /mapped\",\"target\":\"integrations/$mapped\"}" >/dev/null
  if [[ $dir == apigw ]]; then auth_routes "$api" "$plain"; fi
  v2 POST "apis/$api/stages" '{"stageName":"$default","autoDeploy":true,"stageVariables":{"env":"bench"}}' >/dev/null
  host="$api.execute-api.localhost:$apigw_port"
  curl -sf -H "Host: $host" "http://127.0.0.1:$apigw_port/plain" >/dev/null || die "the plain route does not answer"
  curl -sf -H "Host: $host" "http://127.0.0.1:$apigw_port/mapped" -D - -o /dev/null | grep -qi '^x-route:' \
    || die "the mapped route does not answer with its mapped header"
}
# The authorizer rows' routes on API $1, all to integration $2: GET /jwt, /lambda-auth, /iam.
auth_routes() {
  local api=$1 integ=$2 jwt lambda
  jwt=$(v2 POST "apis/$api/authorizers" "{\"name\":\"jwt\",\"authorizerType\":\"JWT\",\"identitySource\":[\"\$request.header.Authorization\"],\"jwtConfiguration\":{\"issuer\":\"$issuer\",\"audience\":[\"bench\"]}}" | field authorizerId)
  lambda=$(v2 POST "apis/$api/authorizers" "{\"name\":\"lambda\",\"authorizerType\":\"REQUEST\",\"authorizerUri\":\"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:authz/invocations\",\"authorizerPayloadFormatVersion\":\"2.0\",\"enableSimpleResponses\":true,\"identitySource\":[\"\$request.header.x-token\"],\"authorizerResultTtlInSeconds\":300}" | field authorizerId)
  v2 POST "apis/$api/routes" "{\"routeKey\":\"GET /jwt\",\"target\":\"integrations/$integ\",\"authorizationType\":\"JWT\",\"authorizerId\":\"$jwt\"}" >/dev/null
  v2 POST "apis/$api/routes" "{\"routeKey\":\"GET /lambda-auth\",\"target\":\"integrations/$integ\",\"authorizationType\":\"CUSTOM\",\"authorizerId\":\"$lambda\"}" >/dev/null
  v2 POST "apis/$api/routes" "{\"routeKey\":\"GET /iam\",\"target\":\"integrations/$integ\",\"authorizationType\":\"AWS_IAM\"}" >/dev/null
}
v2() { # method path json → response body
  curl -sf -X "$1" "$apigw_url/v2/$2" -H 'content-type: application/json' -d "$3"
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# CPU time (clock ticks) used so far by nginx (all its processes) and apigw: server-side CPU
# per request is a steadier figure than req/s on a machine shared with wrk.
bare_port=$(free_port)
BARE_PER_CORE=$(nproc) setsid "$target_dir/release/examples/bare_proxy" "127.0.0.1:$bare_port" "127.0.0.1:$upstream_port" &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$bare_port/" >/dev/null && break; sleep 0.1; done
server_ticks() {
  local t=0 p
  local procs=("${pids[@]}") n master
  for n in upstream proxy; do
    master=$(cat "$work/$n.pid")
    # shellcheck disable=SC2207
    procs+=("$master" $(pgrep -P "$master"))
  done
  for p in "${procs[@]}"; do
    [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)

# name url [host] → appends "round name rps p50 p99 non2xx cpu_us_per_request" to $work/rows
measure() {
  local round=$1 name=$2 url=$3 host_header=${4:-}
  local args=(-t"$threads" -c"$connections" -d"${duration}s" --latency) extra h
  # `host|Header: value|...`: headers after the Host.
  IFS='|' read -r -a extra <<<"$host_header"
  host_header=${extra[0]:-}
  [[ -n $host_header ]] && args+=(-H "Host: $host_header")
  for h in "${extra[@]:1}"; do args+=(-H "$h"); done
  local t0 t1
  t0=$(server_ticks)
  wrk "${args[@]}" "$url" >"$work/wrk.out"
  t1=$(server_ticks)
  local rps p50 p99 non2xx requests
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.out")
  p50=$(awk '$1=="50%" {print $2}' "$work/wrk.out")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$work/wrk.out")
  requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  printf '  round %d %-13s %9.0f req/s  p99 %s\n' "$round" "$name" "$rps" "$p99"
  echo "$round $name $rps $p50 $p99 ${non2xx:-0} $(((t1 - t0) * 1000000 / hz / requests))" >>"$work/rows"
}
# --- for the authorizer rows: an OpenID provider, a token, an authorizer function ----------
# shellcheck source=lib/oidc.sh
source "$root/bench/lib/oidc.sh"
oidc_start "$work/idp" "$(free_port)"
token=$(oidc_token "$(printf '{"iss":"%s","aud":"bench","sub":"bench","exp":%d}' "$issuer" $(($(date +%s) + 7200)))")
cat >"$work/authz.py" <<'PY'
# A Lambda authorizer on the Runtime API with the standard library only: always allows.
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
answer = json.dumps({"isAuthorized": True, "context": {"user": "bench"}}).encode()
while True:
    with urllib.request.urlopen(api + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        r.read()
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=answer, method="POST")).read()
PY

start_apigw apigw --function "authz=python3 $work/authz.py"
apigw_target="http://127.0.0.1:$apigw_port" apigw_host=$host
# One SigV4 signature (execute-api, us-east-1) for GET /iam, reused by every request (valid for
# 15 minutes: the rounds must fit in that).
read -r iam_date iam_auth < <(python3 - "$host" <<'PY'
import datetime, hashlib, hmac, sys
host = sys.argv[1]
now = datetime.datetime.now(datetime.timezone.utc)
amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
scope = f"{day}/us-east-1/execute-api/aws4_request"
empty = hashlib.sha256(b"").hexdigest()
canonical = f"GET\n/iam\n\nhost:{host}\nx-amz-date:{amz}\n\nhost;x-amz-date\n{empty}"
to_sign = f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
k = ("AWS4" + "bench-secret").encode()
for part in (day, "us-east-1", "execute-api", "aws4_request"):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
print(amz, f"AWS4-HMAC-SHA256 Credential=AKIDBENCH/{scope}, SignedHeaders=host;x-amz-date, Signature={sig}")
PY
)
for check in "jwt|Authorization: Bearer $token" "lambda-auth|x-token: bench" "iam|Authorization: $iam_auth"; do
  route=${check%%|*} header=${check#*|}
  extra=()
  [[ $route == iam ]] && extra=(-H "X-Amz-Date: $iam_date")
  curl -sf -H "Host: $host" -H "$header" "${extra[@]}" "$apigw_target/$route" >/dev/null \
    || die "the /$route route does not answer 200 with its credentials"
  curl -s -o /dev/null -w '%{http_code}' -H "Host: $host" "$apigw_target/$route" | grep -q '^40[13]$' \
    || die "the /$route route answers without credentials"
done
start_apigw apigw-ws --io-threads 0
ws_target="http://127.0.0.1:$apigw_port" ws_host=$host
targets=(
  "direct http://127.0.0.1:$upstream_port/"
  "nginx http://127.0.0.1:$proxy_port/"
  "nginx-colocated http://127.0.0.1:$shared_port/"
  "apigw $apigw_target/plain $apigw_host"
  "apigw+map $apigw_target/mapped $apigw_host"
  "apigw-ws $ws_target/plain $ws_host"
  "apigw-ws+map $ws_target/mapped $ws_host"
  "floor http://127.0.0.1:$bare_port/"
  "apigw+jwt $apigw_target/jwt $apigw_host|Authorization: Bearer $token"
  "apigw+lambda-auth $apigw_target/lambda-auth $apigw_host|x-token: bench"
  "apigw+iam $apigw_target/iam $apigw_host|Authorization: $iam_auth|X-Amz-Date: $iam_date"
)
# Each server's scheduler group, to show that none shares the bench's (and wrk's).
group() { cat "/proc/$1/autogroup" 2>/dev/null | cut -d' ' -f1 || echo "?"; }
echo "sched_autogroup_enabled=$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo n/a):" \
  "bench/wrk $(group $$), nginx upstream $(group "$(cat "$work/upstream.pid")"), nginx proxy $(group "$(cat "$work/proxy.pid")")," \
  "apigw/floor $(for p in "${pids[@]}"; do printf '%s ' "$(group "$p")"; done)"
step "$rounds rounds of wrk -t$threads -c$connections -d${duration}s --latency per target"
: >"$work/rows"
for round in $(seq "$rounds"); do
  n=${#targets[@]}
  for i in $(seq 0 $((n - 1))); do
    # Rotate the order each round so no target always follows the same one.
    # name, URL, then host and headers (which may hold spaces) as one field.
    read -r t_name t_url t_rest <<<"${targets[$(((i + round) % n))]}"
    measure "$round" "$t_name" "$t_url" "${t_rest:-}"
  done
done

step "results: medians of $rounds interleaved rounds (wrk -t$threads -c$connections -d${duration}s, loopback, $(nproc) cores)"
python3 - "$work/rows" <<'PY'
import statistics, sys
def ms(v):
    for unit, f in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if v.endswith(unit) and not (unit == "s" and v.endswith(("us", "ms"))):
            return float(v[: -len(unit)]) * f
    return float(v)
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
by_round = {}
for rnd, name, rps, p50, p99, bad, cpu in rows:
    by_round.setdefault(rnd, {})[name] = (float(rps), ms(p50), ms(p99), int(bad), int(cpu))
names = list(dict.fromkeys(r[1] for r in rows))
med = statistics.median
print("%-16s%10s%9s%9s%9s%15s%13s%16s" % ("target", "req/s", "p50 ms", "p99 ms", "non-2xx", "x nginx req/s", "p99 - nginx", "server CPU/req"))
for name in names:
    got = [(r[name], r["nginx"]) for r in by_round.values() if name in r and "nginx" in r]
    ratio = med(m[0] / n[0] for m, n in got)
    p99_gap = med(m[2] - n[2] for m, n in got)
    ratios = " ".join(f"{m[0] / n[0]:.2f}" for m, n in got)
    print(f"{name:<16}{med(m[0] for m, _ in got):>10.0f}{med(m[1] for m, _ in got):>9.2f}{med(m[2] for m, _ in got):>9.2f}"
          f"{sum(m[3] for m, _ in got):>9}{ratio:>15.2f}{p99_gap:>+11.2f}ms{med(m[4] for m, _ in got):>13.0f} us   [{ratios}]")
auth = [n for n in names if n in ("apigw+jwt", "apigw+lambda-auth", "apigw+iam")]
if auth:
    print()
    print("authorizers: req/s as a ratio to the same route without authorization (apigw), per round; target >= 0.90")
    for name in auth:
        got = [r[name][0] / r["apigw"][0] for r in by_round.values() if name in r and "apigw" in r]
        m = med(got)
        print(f"  {name:<18}{m:>6.2f}  {'met' if m >= 0.9 else 'MISSED'}   [{' '.join(f'{x:.2f}' for x in got)}]")
    print()
print("x nginx: median of the per-round ratios (each round's ratios in brackets); p99 - nginx likewise")
print("server CPU/req: CPU time of the upstream nginx, plus the proxy nginx or apigw, per request")
print("nginx: a separate nginx proxy in front of the upstream nginx; nginx-colocated: the proxy inside the upstream's nginx (before session 4 the only nginx row)")
print("apigw: the default, one event loop per core (connections dealt in turn); apigw-ws: --io-threads 0 (work-stealing runtime)")
print("floor: the same server and backend-pool stack as apigw (apigw-http1; examples/bare_proxy.rs, one event loop per core) with no gateway logic")
print("every server runs in its own session (nginx daemonizes; apigw and the floor are started with setsid), so none shares wrk's scheduler autogroup")
PY

step "routing + mapping cost per request (no sockets)"
"$target_dir/release/examples/route_cost"
