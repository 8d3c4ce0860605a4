#!/usr/bin/env bash
# Instructions per request of a JWT-authorized route, counted by callgrind: the same HTTP_PROXY
# route without authorization, with a JWT authorizer and one token reused (its signature
# verified once), and with a token never seen before on every request (an RSA-2048 signature
# verified each time: authorizers.md §2 "first-seen token"). Unlike req/s, these counts repeat
# run after run.
#
#   bash bench/authorizer-instructions.sh
#
# apigw runs under `valgrind --tool=callgrind` (one event loop); a local OpenID provider (an
# openssl key; discovery and JWKS served by python3's http.server) issues the tokens, signed
# with openssl beforehand. For each case a warm-up, then N requests between a zero and a dump
# of the counters (callgrind_control). User-space instructions only.
#
# Needs valgrind, nginx, openssl, python3, curl. Environment: BENCH_N (300), CARGO_TARGET_DIR,
# BENCH_KEEP (a directory to keep the profiles in: .1 plain, .2 reused token, .3 fresh tokens).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
n=${BENCH_N:-300}
[[ $n =~ ^[0-9]+$ ]] || { echo "BENCH_N must be an integer" >&2; exit 2; }

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
for c in valgrind callgrind_control openssl python3 curl; do command -v "$c" >/dev/null || die "$c is required"; done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx_bin ]] || die "nginx is required (Debian: apt-get install nginx)"

cargo build --release -p apigw
apigw_bin=$target_dir/release/apigw

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  if [[ -n ${BENCH_KEEP:-} ]]; then mkdir -p "$BENCH_KEEP" && cp "$work"/callgrind.out.* "$BENCH_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The upstream.
upstream=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<CONF
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
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx.conf" -e "$work/nginx/error.log"

# The identity provider and the tokens: one reused, and N + warm-up fresh ones.
# shellcheck source=lib/oidc.sh
source "$root/bench/lib/oidc.sh"
oidc_start "$work/idp" "$(free_port)"
exp=$(($(date +%s) + 3600))
token() { # jti → a signed token
  oidc_token "$(printf '{"iss":"%s","aud":"bench","sub":"bench","exp":%d,"jti":"%s"}' "$issuer" "$exp" "$1")"
}
echo "signing $((n + 20)) tokens"
for i in $(seq $((n + 20))); do token "fresh-$i"; done >"$work/fresh.tokens"
token reused >"$work/reused.tokens"

port=$(free_port)
# --trace-children: apigw starts itself again once, in place (no transparent huge pages).
setsid valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$work/callgrind.out" \
  "$apigw_bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --io-threads 1 >"$work/apigw.log" 2>&1 &
pid=$!
pids+=("$pid")
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/v2/apis" >/dev/null && break; sleep 0.2; done

cat >"$work/client.py" <<'PY'
import http.client, json, sys
port, upstream, issuer, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
def v2(method, path, body):
    c.request(method, "/v2/" + path, body=json.dumps(body), headers={"content-type": "application/json"})
    r = c.getresponse(); data = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data or b"{}")
if mode == "setup":
    api = v2("POST", "apis", {"name": "bench", "protocolType": "HTTP"})["apiId"]
    integ = v2("POST", f"apis/{api}/integrations", {"integrationType": "HTTP_PROXY",
        "integrationUri": f"http://127.0.0.1:{upstream}/", "integrationMethod": "ANY",
        "payloadFormatVersion": "1.0"})["integrationId"]
    auth = v2("POST", f"apis/{api}/authorizers", {"name": "jwt", "authorizerType": "JWT",
        "identitySource": ["$request.header.Authorization"],
        "jwtConfiguration": {"issuer": issuer, "audience": ["bench"]}})["authorizerId"]
    v2("POST", f"apis/{api}/routes", {"routeKey": "GET /plain", "target": f"integrations/{integ}"})
    v2("POST", f"apis/{api}/routes", {"routeKey": "GET /jwt", "target": f"integrations/{integ}",
        "authorizationType": "JWT", "authorizerId": auth})
    v2("POST", f"apis/{api}/stages", {"stageName": "$default", "autoDeploy": True})
    print(api)
    sys.exit()
api, path, tokens, count = sys.argv[5], sys.argv[6], sys.argv[7], int(sys.argv[8])
tokens = [t.strip() for t in open(tokens)] if tokens != "-" else [""]
d = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
for i in range(count):
    h = {"Host": f"{api}.execute-api.localhost:{port}"}
    t = tokens[i % len(tokens)]
    if t:
        h["Authorization"] = "Bearer " + t
    d.request("GET", path, headers=h)
    r = d.getresponse(); r.read()
    if r.status != 200:
        sys.exit(f"GET {path} answered {r.status}")
PY
api=$(python3 "$work/client.py" "$port" "$upstream" "$issuer" setup)

measure() { # case path tokens-file → instructions per request
  local name=$1 path=$2 tokens=$3 warm
  # Warm-up: the pool, the key set and (for the reused token) its first verification.
  warm=$work/$name.warm
  if [[ $tokens == "$work/fresh.tokens" ]]; then tail -n 20 "$tokens" >"$warm"; else warm=$tokens; fi
  python3 "$work/client.py" "$port" "$upstream" "$issuer" run "$api" "$path" "$warm" 20
  callgrind_control -z "$pid" >/dev/null 2>&1
  python3 "$work/client.py" "$port" "$upstream" "$issuer" run "$api" "$path" "$tokens" "$n"
  callgrind_control -d "$pid" >/dev/null 2>&1
  python3 - "$work/callgrind.out" "$n" <<'PY'
import glob, re, sys
files = sorted(glob.glob(sys.argv[1] + ".*"), key=lambda f: int(f.rsplit(".", 1)[1]))
print(round(int(re.search(r"totals: (\d+)", open(files[-1]).read()).group(1)) / int(sys.argv[2])))
PY
}
head -n "$n" "$work/fresh.tokens" >"$work/fresh-n.tokens"
plain=$(measure plain /plain -)
reused=$(measure reused /jwt "$work/reused.tokens")
fresh=$(measure fresh /jwt "$work/fresh-n.tokens")
echo
printf '%-46s %10s\n' "instructions per request (callgrind)" ""
printf '%-46s %10d\n' "HTTP_PROXY route, no authorization" "$plain"
printf '%-46s %10d   +%d\n' "JWT route, one token reused" "$reused" "$((reused - plain))"
printf '%-46s %10d   +%d\n' "JWT route, a token never seen before" "$fresh" "$((fresh - plain))"
