#!/usr/bin/env bash
# Runs README.md's JWT authorizer session (the block between <!-- authorizer-session:start -->
# and <!-- authorizer-session:end -->) verbatim against a running server, then checks what it
# printed.
#
#   tests/cli/readme-authorizer-session.sh http://127.0.0.1:PORT
#
# `aws`, `openssl`, `python3` and `curl` must be on PATH. The block's identity provider listens
# on a free port ($IDP_PORT).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=readme-block.sh
source "$here/readme-block.sh"
endpoint=${1:?usage: tests/cli/readme-authorizer-session.sh http://127.0.0.1:PORT}
for tool in aws openssl python3 curl; do
  command -v "$tool" >/dev/null || { echo "readme authorizer session: $tool not on PATH" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
readme_block authorizer-session "$work/session.sh"
IDP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export IDP_PORT
run_block "readme authorizer session" "$endpoint" "$work"

check "create-route printed the authorization type" '^JWT$'
check "without a token: 401 Unauthorized" '^\{"message":"Unauthorized"\} 401$'
check "with the signed token: 200" '^with a token: 200$'
verdict "readme authorizer session"
