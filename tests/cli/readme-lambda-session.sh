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
# shellcheck source=readme-block.sh
source "$here/readme-block.sh"
own_server_session "readme lambda session" lambda-session "${1:?usage: tests/cli/readme-lambda-session.sh http://127.0.0.1:PORT}" \
  apigw aws pip python3 curl

check "aws lambda invoke ran the hosted function" '^\{"hello": "lambda", "requestId": "[0-9a-f-]{36}"\}$'
check "create-route printed the route key" '^GET /hello/\{name\}$'
check "the route invoked the function through the data plane" \
  '^\{"hello": "lambda", "route": "GET /hello/\{name\}"\}$'
verdict "readme lambda session"
