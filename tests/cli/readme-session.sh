#!/usr/bin/env bash
# Runs the aws-cli session of README.md (the fenced block between <!-- session:start --> and
# <!-- session:end -->) verbatim against a running server, then checks what it printed.
#
#   tests/cli/readme-session.sh http://127.0.0.1:PORT
#
# `aws` must be on PATH (tests/run.sh puts target/py-venv/bin first). User AWS configuration is
# ignored; the session sets its own test credentials.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
endpoint=${1:?usage: tests/cli/readme-session.sh http://127.0.0.1:PORT}
readme=$root/README.md

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The block between the markers, without its ``` fences.
awk '
  /<!-- session:start -->/ { inside = 1; next }
  /<!-- session:end -->/   { inside = 0; next }
  inside && /^```/         { fence++; next }
  inside && fence == 1     { print }
' "$readme" >"$work/session.sh"
[[ -s $work/session.sh ]] || { echo "readme session: no session block found in $readme" >&2; exit 1; }
# shellcheck disable=SC2016 # literal text
grep -q 'ENDPOINT=${ENDPOINT:-' "$work/session.sh" ||
  { echo "readme session: the block must take its endpoint from \$ENDPOINT" >&2; exit 1; }

command -v aws >/dev/null || { echo "readme session: aws cli not on PATH" >&2; exit 2; }

echo "readme session: running the README block against $endpoint ($(aws --version 2>&1))"
status=0
env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_APIGATEWAYV2 \
  -u AWS_DEFAULT_REGION -u AWS_REGION -u AWS_DEFAULT_OUTPUT \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null ENDPOINT="$endpoint" \
  bash -euo pipefail "$work/session.sh" >"$work/out" 2>"$work/err" || status=$?
sed 's/^/  | /' "$work/out"
if ((status != 0)); then
  sed 's/^/  ! /' "$work/err"
  echo "readme session: FAILED (the block exited with $status)" >&2
  exit 1
fi

# What the listings must show (tab-separated text output of the three get-* calls).
failures=0
check() { # description, extended regex that some output line must match
  if grep -Eq -- "$2" "$work/out"; then
    echo "  ok: $1"
  else
    echo "  FAIL: $1 (no output line matches /$2/)"
    failures=$((failures + 1))
  fi
}
integration_id=$(awk -F'\t' '$2 == "HTTP_PROXY" { print $1; exit }' "$work/out")
check "get-integrations lists the HTTP_PROXY integration (GET \$ENDPOINT/v2/apis)" \
  $'^[a-z0-9]+\tHTTP_PROXY\tGET\thttp://[^\t]+/v2/apis$'
check "get-routes lists 'GET /pets' targeting that integration" \
  $'^GET /pets\tintegrations/'"${integration_id:-<missing>}"'$'
check "get-stages lists the \$default stage with auto-deploy" $'^\\$default\tTrue$'
check "the route answers through the data plane (path form) with the backend's list of APIs" \
  '"name":"pets"'
check "the route answers through the data plane (Host form)" '^GET /pets by Host: 200$'
if ((failures != 0)); then
  echo "readme session: FAILED ($failures check(s))" >&2
  exit 1
fi
echo "readme session: ok"
