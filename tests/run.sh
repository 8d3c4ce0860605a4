#!/usr/bin/env bash
# The test command: bash tests/run.sh
#
# 1. cargo build --workspace --all-targets (debug).
# 2. Python tools (aws cli v1, boto3, moto, pytest, awslambdaric, websockets, PyJWT, cryptography) into
#    target/py-venv, created
#    when missing; then cargo test --workspace (the Lambda tests run functions from the venv).
# 3. Against target/debug/apigw started on a free loopback port with a fresh data dir:
#    - the README's aws-cli session (tests/cli/readme-session.sh);
#    - the README's Lambda session (tests/cli/readme-lambda-session.sh; starts its own server);
#    - the README's JWT authorizer session (tests/cli/readme-authorizer-session.sh);
#    - the README's WebSocket session (tests/cli/readme-websocket-session.sh; starts its own server);
#    - POST /moto-api/reset is refused without --enable-test-reset;
#    - the server exits cleanly on SIGTERM and a restart on the same data dir keeps the state;
#    - with --credentials, the aws cli's signatures are verified (and a wrong secret refused);
#    - moto's conformance gate (tests/moto/run.sh) on a server started with --enable-test-reset;
#    - the Cloud Control boto3 suite (tests/cloudcontrol, pytest; starts its own server);
#    - the authorizer suite (tests/authorizers, pytest; starts its own servers and OpenID provider);
#    - the WebSocket data-plane suite (tests/websocket, pytest; starts its own servers).
# Exits non-zero on any failure. The last line is "N passed, M failed" for the checks of step 3
# (cargo test prints its own summaries).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
venv=$target_dir/py-venv
logs=$target_dir/test-logs
bin=$target_dir/debug/apigw

# Client-side Python tools, pinned for reproducible runs.
PY_REQUIREMENTS=(awscli==1.46.3 boto3==1.44.8 botocore==1.44.8 moto==5.2.5 pytest==9.2.0 awslambdaric==4.2.2
  websockets==17.4 PyJWT==2.10.1 cryptography==46.0.3)

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'tests/run.sh: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
step "cargo build --workspace --all-targets"
cargo build --workspace --all-targets || die "cargo build failed; no test ran"
[[ -x $bin ]] || die "$bin was not built; no test ran"

# ---------------------------------------------------------------------------------------------
step "python tools in $venv"
stamp=$(printf '%s\n' "${PY_REQUIREMENTS[@]}" | sha256sum | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || $(cat "$venv/.requirements" 2>/dev/null) != "$stamp" ]]; then
  command -v python3 >/dev/null || die "python3 not found"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${PY_REQUIREMENTS[@]}" \
    || die "pip install into $venv failed"
  echo "$stamp" >"$venv/.requirements"
fi
echo "using $("$venv/bin/python" --version), $("$venv/bin/aws" --version 2>&1)"
export PATH="$venv/bin:$PATH"

step "cargo test --workspace"
cargo_test=ok
cargo test --workspace || cargo_test=FAILED

# ---------------------------------------------------------------------------------------------
# Servers under test. Every server started here is stopped on exit. APIGW_* settings from the
# caller's environment (e.g. APIGW_STORE, APIGW_ENABLE_TEST_RESET) must not leak into them.
for var in "${!APIGW_@}"; do unset "$var"; done
mkdir -p "$logs"
server_pids=()
scratch=()
cleanup() {
  local pid
  for pid in "${server_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  ((${#scratch[@]} == 0)) || rm -rf "${scratch[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

server_pid='' server_url='' server_log=''
start_server() { # name data-dir [serve flags...]; sets server_pid, server_url, server_log
  local name=$1 data=$2
  shift 2
  server_log=$logs/$name
  # Emptied here, not only by the redirect below: the loop must not read a previous run's port
  # before the background process has opened (and truncated) the file.
  : >"$server_log.out"
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$data" "$@" >"$server_log.out" 2>"$server_log.err" &
  server_pid=$!
  server_pids+=("$server_pid")
  server_url=''
  for _ in $(seq 200); do # up to 10 s for "apigw listening on http://127.0.0.1:PORT"
    server_url=$(sed -n 's|^apigw listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$server_log.out")
    [[ -n $server_url ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $server_url ]]; then
    tail -n 20 "$server_log.out" "$server_log.err" >&2 || true
    die "server '$name' ($bin serve $*) did not report its address"
  fi
  echo "started $name: $bin serve --listen 127.0.0.1:0 --data-dir $data${*:+ $*} -> $server_url (pid $server_pid)"
}
stop_server() { # pid; returns 0 when it exits with status 0 within 5 s of SIGTERM
  local pid=$1 status=0
  kill -TERM "$pid" 2>/dev/null || return 1
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  wait "$pid" || status=$?
  return "$status"
}
new_dir() { local d; d=$(mktemp -d); scratch+=("$d"); echo "$d"; }
aws_local() { # endpoint, apigatewayv2 args...
  local endpoint=$1
  shift
  env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    aws --endpoint-url "$endpoint" --region us-east-1 apigatewayv2 "$@"
}

passed=0 failed=0
results=()
record() { # name, ok|FAILED, [detail]
  results+=("$(printf '%-44s %s' "$1" "$2${3:+ ($3)}")")
  if [[ $2 == ok ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

# ---------------------------------------------------------------------------------------------
step "README session (tests/cli/readme-session.sh)"
data_a=$(new_dir)
start_server readme "$data_a"
url_a=$server_url pid_a=$server_pid
if bash tests/cli/readme-session.sh "$url_a"; then
  record "README aws-cli session" ok
else
  record "README aws-cli session" FAILED
fi

step "README Lambda session (tests/cli/readme-lambda-session.sh)"
lambda_port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if PATH="$(dirname "$bin"):$PATH" bash tests/cli/readme-lambda-session.sh "http://127.0.0.1:$lambda_port"; then
  record "README Lambda session" ok
else
  record "README Lambda session" FAILED
fi

step "README authorizer session (tests/cli/readme-authorizer-session.sh)"
if bash tests/cli/readme-authorizer-session.sh "$url_a"; then
  record "README authorizer session" ok
else
  record "README authorizer session" FAILED
fi

step "README WebSocket session (tests/cli/readme-websocket-session.sh)"
ws_port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if PATH="$(dirname "$bin"):$PATH" bash tests/cli/readme-websocket-session.sh "http://127.0.0.1:$ws_port"; then
  record "README WebSocket session" ok
else
  record "README WebSocket session" FAILED
fi

step "POST /moto-api/reset without --enable-test-reset"
reset_status=$("$venv/bin/python" - "$url_a" <<'EOF'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/moto-api/reset", data=b"", method="POST")
try:
    print(urllib.request.urlopen(req, timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print(f"error: {e}")
EOF
)
apis_after=$(aws_local "$url_a" get-apis --query 'Items[].Name' --output text 2>&1) || true
echo "reset answered: $reset_status; get-apis afterwards: $apis_after"
if [[ $reset_status =~ ^[45][0-9][0-9]$ && $apis_after == *pets* ]]; then
  record "test reset refused without the flag" ok
else
  record "test reset refused without the flag" FAILED "answered $reset_status, apis: $apis_after"
fi

step "SIGTERM, then restart on the same data dir"
if stop_server "$pid_a"; then
  record "clean exit on SIGTERM" ok
else
  record "clean exit on SIGTERM" FAILED "see $logs/readme.err"
fi
start_server restart "$data_a"
apis_restart=$(aws_local "$server_url" get-apis --query 'Items[].Name' --output text 2>&1) || true
echo "get-apis after restart: $apis_restart"
if [[ $apis_restart == *pets* ]]; then
  record "state survives a restart" ok
else
  record "state survives a restart" FAILED "get-apis: $apis_restart"
fi
stop_server "$server_pid" || true

step "the aws cli against configured credentials (--credentials)"
start_server credentials "$(new_dir)" --credentials AKIDCLI:cli/secret+key
aws_keyed() { # access-key secret endpoint apigatewayv2 args...
  local key=$1 secret=$2 endpoint=$3
  shift 3
  env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" \
    aws --endpoint-url "$endpoint" --region eu-west-1 apigatewayv2 "$@"
}
signed_ok=yes
cred_api=$(aws_keyed AKIDCLI cli/secret+key "$server_url" create-api --name signed --protocol-type HTTP \
  --query ApiId --output text 2>&1) || signed_ok="create-api: $cred_api"
aws_keyed AKIDCLI cli/secret+key "$server_url" create-stage --api-id "$cred_api" --stage-name '$default' >/dev/null 2>&1 \
  || signed_ok="create-stage failed"
got=$(aws_keyed AKIDCLI cli/secret+key "$server_url" get-stage --api-id "$cred_api" --stage-name '$default' \
  --query StageName --output text 2>&1) || signed_ok="get-stage: $got"
listed=$(aws_keyed AKIDCLI cli/secret+key "$server_url" get-apis --max-results 1 --query 'Items[].Name' --output text 2>&1) \
  || signed_ok="get-apis: $listed"
refused=$(aws_keyed AKIDCLI wrong-secret "$server_url" get-apis 2>&1) && signed_ok="a wrong secret was accepted"
echo "signed: api $cred_api, stage $got, listed $listed; wrong secret: $refused"
if [[ $signed_ok == yes && $got == '$default' && $listed == signed && $refused == *InvalidSignatureException* ]]; then
  record "aws cli signatures verified (--credentials)" ok
else
  record "aws cli signatures verified (--credentials)" FAILED "$signed_ok"
fi
stop_server "$server_pid" || true

step "moto conformance gate (tests/moto/run.sh)"
start_server moto "$(new_dir)" --enable-test-reset
moto_results=$logs/moto-results
rm -f "$moto_results"
moto_status=ok
MOTO_RESULTS=$moto_results PYTHON=$venv/bin/python TARGET_DIR=$target_dir \
  bash tests/moto/run.sh "$server_url" || moto_status=FAILED
moto_pid=$server_pid
if [[ -f $moto_results ]]; then
  read -r m_passed m_failed m_skipped m_errors m_deselected <"$moto_results"
  passed=$((passed + m_passed))
  failed=$((failed + m_failed + m_errors))
  moto_line="$m_passed passed, $((m_failed + m_errors)) failed, $m_skipped skipped, $m_deselected deselected as expected divergences"
  if [[ $moto_status != ok && $((m_failed + m_errors)) -eq 0 ]]; then failed=$((failed + 1)); fi
else
  moto_line="did not run the suite; see the output above"
  failed=$((failed + 1))
fi
stop_server "$moto_pid" || true

step "Cloud Control boto3 suite (tests/cloudcontrol)"
# pytest starts its own server ($bin serve --listen 127.0.0.1:0 --data-dir <tmp>).
cc_log=$logs/cloudcontrol-pytest.txt
if APIGW_BIN=$bin "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/cloudcontrol >"$cc_log" 2>&1; then
  record "Cloud Control boto3 suite" ok "$(tail -n 1 "$cc_log")"
else
  tail -n 30 "$cc_log"
  record "Cloud Control boto3 suite" FAILED "$(tail -n 1 "$cc_log"); see $cc_log"
fi

step "Authorizer suite (tests/authorizers)"
# pytest starts its own servers and a local OpenID provider; functions run under awslambdaric.
authz_log=$logs/authorizers-pytest.txt
if APIGW_BIN=$bin "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/authorizers >"$authz_log" 2>&1; then
  record "Authorizer suite" ok "$(tail -n 1 "$authz_log")"
else
  tail -n 40 "$authz_log"
  record "Authorizer suite" FAILED "$(tail -n 1 "$authz_log"); see $authz_log"
fi

step "WebSocket data-plane suite (tests/websocket)"
# pytest starts its own servers ($bin serve --listen 127.0.0.1:0 --data-dir <tmp> [flags]),
# hosting the functions of tests/websocket/functions under awslambdaric from the venv.
ws_log=$logs/websocket-pytest.txt
if APIGW_BIN=$bin "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/websocket >"$ws_log" 2>&1; then
  record "WebSocket data-plane suite" ok "$(tail -n 1 "$ws_log")"
else
  tail -n 40 "$ws_log"
  record "WebSocket data-plane suite" FAILED "$(tail -n 1 "$ws_log"); see $ws_log"
fi

# ---------------------------------------------------------------------------------------------
step "summary"
printf '%-44s %s\n' "cargo build --workspace --all-targets" ok
printf '%-44s %s\n' "cargo test --workspace" "$cargo_test"
printf '%s\n' "${results[@]}"
printf '%-44s %s: %s\n' "moto gate (moto==5.2.5, 7 files)" "$moto_status" "$moto_line"
echo "server logs: $logs"
echo "$passed passed, $failed failed"
[[ $cargo_test == ok && $moto_status == ok && $failed -eq 0 ]]
