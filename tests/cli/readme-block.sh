# Shared by the README session runners: extract a README block, run it verbatim, check lines.
# Source it, then: readme_block MARKER FILE; run_block NAME ENDPOINT WORK; check DESC REGEX;
# or, for a block that starts its own server: own_server_session NAME MARKER ENDPOINT TOOLS...

# The fenced block between <!-- MARKER:start --> and <!-- MARKER:end --> of README.md.
readme_block() { # marker, output file
  awk -v start="<!-- $1:start -->" -v end="<!-- $1:end -->" '
    $0 == start           { inside = 1; next }
    $0 == end             { inside = 0; next }
    inside && /^```/      { fence++; next }
    inside && fence == 1  { print }
  ' "$root/README.md" >"$2"
  [[ -s $2 ]] || { echo "$1: no block found in README.md" >&2; exit 1; }
}

# Runs WORK/session.sh in WORK with a clean AWS environment; output in WORK/out, WORK/err.
run_block() { # name, endpoint, work dir
  local name=$1 endpoint=$2 work=$3 status=0
  echo "$name: running the README block in $work against $endpoint"
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
    echo "$name: FAILED (the block exited with $status)" >&2
    exit 1
  fi
}

failures=0
check() { # description, extended regex that some line of the file (default WORK/out) must match
  local file=${3:-$work/out}
  if grep -Eq -- "$2" "$file"; then
    echo "  ok: $1"
  else
    echo "  FAIL: $1 (no line of $(basename "$file") matches /$2/)"
    failures=$((failures + 1))
  fi
}

# A block that starts its own `apigw serve` on ENDPOINT and ends with `kill %1`: extracted into
# a scratch $work (removed on exit, with any server the block left running), tools checked, run.
own_server_session() { # name, marker, endpoint, tools...
  local name=$1 marker=$2 tool
  endpoint=$3
  shift 3
  work=$(mktemp -d)
  trap 'pkill -f -- "apigw serve --listen ${endpoint#http://} " 2>/dev/null || true; rm -rf "$work"' EXIT
  readme_block "$marker" "$work/session.sh"
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$name: $tool not on PATH" >&2; exit 2; }
  done
  run_block "$name" "$endpoint" "$work"
}

# Ends the runner: its checks' verdict.
verdict() { # name
  if ((failures != 0)); then
    echo "$1: FAILED ($failures check(s))" >&2
    exit 1
  fi
  echo "$1: ok"
}
