#!/usr/bin/env bash
# Lambda benchmark: warm invoke overhead of the gateway's hosted Lambda, on this machine,
# loopback only.
#
#   bash bench/lambda.sh
#
# The function is the Rust test fixture (crates/apigw/tests/functions/rust-echo, lambda_runtime), release
# build. Two measurements, one call at a time, after 200 warm-up calls (BENCH_CALLS, default
# 2000, measured):
#   * direct:  target/release/lambda-bench plays a minimal Runtime API for one process of the
#              function: event handed to `next` -> `response` received. The function's own loop.
#   * gateway: `POST /2015-03-31/functions/bench/invocations` on one keep-alive connection to
#              `apigw serve --function bench=...` (release): request sent -> response read.
# Overhead = gateway - direct (p50 and p99). Target: under 1 ms at p50, warm.
# Then the published figures for `sam local start-api` (shared spec peers.md §4) for scale.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
calls=${BENCH_CALLS:-2000}
[[ $calls =~ ^[0-9]+$ ]] || { echo "BENCH_CALLS must be an integer" >&2; exit 2; }

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

step "cargo build --release -p apigw -p lambda-echo-fixture"
cargo build --release -p apigw -p lambda-echo-fixture
apigw=$target_dir/release/apigw
function_bin=$target_dir/release/lambda-echo-fixture
client=$target_dir/release/lambda-bench
for b in "$apigw" "$function_bin" "$client"; do [[ -x $b ]] || die "$b was not built"; done

for var in "${!APIGW_@}"; do unset "$var"; done
scratch=$(mktemp -d)
pid=''
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"; }

step "direct: the function's Runtime API loop, $calls calls"
direct=$("$client" direct "$function_bin" "$calls" | grep '^RESULT')
echo "$direct"

step "gateway: Invoke API of apigw serve --function bench=..., $calls calls"
# The function's log lines (START/END/REPORT per call) go to a file, as they would to a terminal.
APIGW_LOG=warn "$apigw" serve --listen 127.0.0.1:0 --data-dir "$scratch/data" \
  --function "bench=$function_bin" >"$scratch/out" 2>"$scratch/err" &
pid=$!
addr=''
for _ in $(seq 200); do
  addr=$(sed -n 's|^apigw listening on http://||p' "$scratch/out")
  [[ -n $addr ]] && break
  sleep 0.05
done
[[ -n $addr ]] || { cat "$scratch/err" >&2; die "apigw did not start"; }
gateway=$("$client" gateway "$addr" bench "$calls" | grep '^RESULT')
echo "$gateway"

d50=$(field p50_us "$direct") d99=$(field p99_us "$direct")
g50=$(field p50_us "$gateway") g99=$(field p99_us "$gateway")
step "summary (microseconds, warm, sequential calls on loopback)"
printf '%-44s %10s %10s\n' "" p50 p99
printf '%-44s %10s %10s\n' "function's Runtime API loop, direct" "$d50" "$d99"
printf '%-44s %10s %10s\n' "through apigw's Invoke API" "$g50" "$g99"
printf '%-44s %10s %10s\n' "gateway overhead" "$((g50 - d50))" "$((g99 - d99))"
if ((g50 - d50 < 1000)); then
  echo "target (< 1000 us overhead at p50): met"
else
  echo "target (< 1000 us overhead at p50): NOT met"
fi
cat <<'EOF2'

For scale, published figures of other local Lambda hosts (shared spec peers.md §4; not measured here):
  sam local start-api  "requests consistently take around 1 second" (aws-sam-cli#362);
                       warm containers: full command 4.1 s -> 1.9 s (aws-sam-cli PR #1305)
  LocalStack           container reuse: "from ~800 - 1000ms ... to around 10ms for a simple echo lambda"
EOF2
