#!/usr/bin/env bash
# Runs README.md's WebSocket session (the block between <!-- websocket-session:start --> and
# <!-- websocket-session:end -->) verbatim in a scratch directory, then checks what it printed.
#
#   tests/cli/readme-websocket-session.sh http://127.0.0.1:PORT
#
# The block starts its own `apigw serve` on that address. `apigw` (target/debug), `aws`,
# `pip` and a `python3` with awslambdaric and websockets must be on PATH (tests/run.sh
# arranges this).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=readme-block.sh
source "$here/readme-block.sh"
own_server_session "readme websocket session" websocket-session "${1:?usage: tests/cli/readme-websocket-session.sh http://127.0.0.1:PORT}" \
  apigw aws pip python3 curl

check "create-route-response printed the key" '^\$default$'
check "the MOCK echo route answered through its templates" \
  '^\{"echo": "hello", "connectionId": "[A-Za-z0-9]{15}="\}$'
check "the \$default route invoked the function (two-way)" '^\{"you said": "hi lambda", "route": "\$default"\}$'
check "post-to-connection reached the client" '^hello from the backend$'
verdict "readme websocket session"
