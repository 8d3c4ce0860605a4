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
endpoint=${1:?usage: tests/cli/readme-websocket-session.sh http://127.0.0.1:PORT}

work=$(mktemp -d)
cleanup() {
  # The block ends with `kill %1`; should it fail first, no server may outlive the test.
  pkill -f -- "apigw serve --listen ${endpoint#http://} " 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=readme-block.sh
source "$here/readme-block.sh"
readme_block websocket-session "$work/session.sh"
for tool in apigw aws pip python3 curl; do
  command -v "$tool" >/dev/null || { echo "readme websocket session: $tool not on PATH" >&2; exit 2; }
done
run_block "readme websocket session" "$endpoint" "$work"

check "create-route-response printed the key" '^\$default$'
check "the MOCK echo route answered through its templates" \
  '^\{"echo": "hello", "connectionId": "[A-Za-z0-9]{15}="\}$'
check "the \$default route invoked the function (two-way)" '^\{"you said": "hi lambda", "route": "\$default"\}$'
check "post-to-connection reached the client" '^hello from the backend$'
if ((failures != 0)); then
  echo "readme websocket session: FAILED ($failures check(s))" >&2
  exit 1
fi
echo "readme websocket session: ok"
