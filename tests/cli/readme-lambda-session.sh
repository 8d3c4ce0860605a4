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

work=$(mktemp -d)
cleanup() {
  # The block ends with `kill %1`; should it fail first, no server may outlive the test.
  pkill -f -- "apigw serve --listen ${endpoint#http://} " 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=readme-block.sh
source "$here/readme-block.sh"
readme_block lambda-session "$work/session.sh"
for tool in apigw aws pip python3 curl; do
  command -v "$tool" >/dev/null || { echo "readme lambda session: $tool not on PATH" >&2; exit 2; }
done
run_block "readme lambda session" "$endpoint" "$work"

check "aws lambda invoke ran the hosted function" '^\{"hello": "lambda", "requestId": "[0-9a-f-]{36}"\}$'
check "create-route printed the route key" '^GET /hello/\{name\}$'
check "the route invoked the function through the data plane" \
  '^\{"hello": "lambda", "route": "GET /hello/\{name\}"\}$'
if ((failures != 0)); then
  echo "readme lambda session: FAILED ($failures check(s))" >&2
  exit 1
fi
echo "readme lambda session: ok"
