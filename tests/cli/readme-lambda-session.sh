#!/usr/bin/env bash
# Runs README.md's Lambda session (the block between <!-- lambda-session:start --> and
# <!-- lambda-session:end -->) verbatim in a scratch directory, then checks what it printed.
#
#   tests/cli/readme-lambda-session.sh http://127.0.0.1:PORT
#
# The block starts its own `apigw serve` on that address. `apigw` (target/debug), `aws`,
# `pip` and a `python3` with awslambdaric must be on PATH (tests/run.sh arranges this).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
endpoint=${1:?usage: tests/cli/readme-lambda-session.sh http://127.0.0.1:PORT}
readme=$root/README.md

work=$(mktemp -d)
cleanup() {
  # The block ends with `kill %1`; should it fail first, no server may outlive the test.
  pkill -f -- "apigw serve --listen ${endpoint#http://} " 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

awk '
  /<!-- lambda-session:start -->/ { inside = 1; next }
  /<!-- lambda-session:end -->/   { inside = 0; next }
  inside && /^```/                { fence++; next }
  inside && fence == 1            { print }
' "$readme" >"$work/session.sh"
[[ -s $work/session.sh ]] || { echo "readme lambda session: no block found in $readme" >&2; exit 1; }
for tool in apigw aws pip python3 curl; do
  command -v "$tool" >/dev/null || { echo "readme lambda session: $tool not on PATH" >&2; exit 2; }
done

echo "readme lambda session: running the README block in $work against $endpoint"
status=0
(
  cd "$work"
  env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u AWS_DEFAULT_REGION -u AWS_REGION \
    -u AWS_DEFAULT_OUTPUT AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_QUIET=1 ENDPOINT="$endpoint" \
    timeout 120 bash -euo pipefail -m session.sh >out 2>err
) || status=$?
sed 's/^/  | /' "$work/out"
if ((status != 0)); then
  sed 's/^/  ! /' "$work/err" | tail -n 40
  echo "readme lambda session: FAILED (the block exited with $status)" >&2
  exit 1
fi

failures=0
check() { # description, extended regex that some output line must match
  if grep -Eq -- "$2" "$work/out"; then
    echo "  ok: $1"
  else
    echo "  FAIL: $1 (no output line matches /$2/)"
    failures=$((failures + 1))
  fi
}
check "aws lambda invoke ran the hosted function" '^\{"hello": "lambda", "requestId": "[0-9a-f-]{36}"\}$'
check "create-route printed the route key" '^GET /hello/\{name\}$'
check "the route invoked the function through the data plane" \
  '^\{"hello": "lambda", "route": "GET /hello/\{name\}"\}$'
if ((failures != 0)); then
  echo "readme lambda session: FAILED ($failures check(s))" >&2
  exit 1
fi
echo "readme lambda session: ok"
