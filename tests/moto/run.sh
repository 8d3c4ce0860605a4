#!/usr/bin/env bash
# moto conformance gate (recipe: spec peers.md §2.3).
#
#   tests/moto/run.sh http://127.0.0.1:PORT
#
# The server at that endpoint must have been started with --enable-test-reset: moto's harness calls
# POST /moto-api/reset before and after every test. The test files come from the moto sdist on PyPI,
# downloaded at test time into $TARGET_DIR/moto-suite; nothing from moto is committed here.
# The seven gated files must pass apart from the entries of tests/moto/expected-divergences.txt
# (deselected); an entry that no longer names a test in the suite fails the gate too.
#
# Environment:
#   PYTHON        python with moto==5.2.5, boto3 and pytest (default: $TARGET_DIR/py-venv/bin/python,
#                 which tests/run.sh creates)
#   TARGET_DIR    default: $CARGO_TARGET_DIR or <repo>/target
#   MOTO_RESULTS  optional file; receives "passed failed skipped errors deselected"
set -euo pipefail

MOTO_VERSION=5.2.5
MOTO_SDIST_SHA256=391857257d5dac144334013c2c10e599def5f0562f553e979160140bd7bd9cf6
GATED_FILES=(
  tests/test_apigatewayv2/test_apigatewayv2.py
  tests/test_apigatewayv2/test_apigatewayv2_routes.py
  tests/test_apigatewayv2/test_apigatewayv2_integrations.py
  tests/test_apigatewayv2/test_apigatewayv2_integrationresponses.py
  tests/test_apigatewayv2/test_apigatewayv2_stages.py
  tests/test_apigatewayv2/test_apigatewayv2_tags.py
  tests/test_apigatewayv2/test_apigatewayv2_authorizers.py
)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
endpoint=${1:?usage: tests/moto/run.sh http://127.0.0.1:PORT}
endpoint=${endpoint%/}
target_dir=${TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}}
python=${PYTHON:-$target_dir/py-venv/bin/python}
suite_dir=$target_dir/moto-suite
sdist=$suite_dir/moto-$MOTO_VERSION.tar.gz
src=$suite_dir/moto-$MOTO_VERSION
divergences=$here/expected-divergences.txt

[[ -x $python ]] || { echo "moto gate: $python not found (run tests/run.sh, which creates the venv)" >&2; exit 2; }

sha256_ok() { [[ -f $sdist ]] && [[ $(sha256sum "$sdist" | cut -d' ' -f1) == "$MOTO_SDIST_SHA256" ]]; }

# 1. The test sources: moto's sdist from PyPI, through pip (cached in $suite_dir).
mkdir -p "$suite_dir"
if ! sha256_ok; then
  rm -f "$sdist"
  echo "moto gate: downloading the moto==$MOTO_VERSION sdist into $suite_dir"
  "$python" -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
    "moto==$MOTO_VERSION" -d "$suite_dir"
  sha256_ok || { echo "moto gate: sha256 of $sdist is not $MOTO_SDIST_SHA256" >&2; exit 1; }
fi
rm -rf "$src"
tar -xzf "$sdist" -C "$suite_dir" \
  "moto-$MOTO_VERSION/pyproject.toml" "moto-$MOTO_VERSION/tests/__init__.py" \
  "moto-$MOTO_VERSION/tests/conftest.py" "moto-$MOTO_VERSION/tests/markers.py" \
  "moto-$MOTO_VERSION/tests/test_apigatewayv2"

# Client-side environment: test credentials, no user AWS config, every call goes to $endpoint.
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_APIGATEWAYV2 AWS_REGION
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export TEST_SERVER_MODE=true TEST_SERVER_MODE_ENDPOINT=$endpoint
export PYTHONDONTWRITEBYTECODE=1

# `import moto` must resolve to the installed harness, not to the sdist tree (which holds no moto/).
pytest_args=(-p no:cacheprovider -p moto_gate_plugin --rootdir=. --color=no)

# 2. The divergence list: well-formed (divergences.py), and each entry names exactly one collected
#    test (moto_gate_plugin.py deselects exact ids and fails on stale entries).
ids=$("$python" "$here/divergences.py" ids "$divergences")
mapfile -t deselected <<<"$ids"
printf '%s\n' "${deselected[@]}" >"$suite_dir/deselect.txt"
export MOTO_GATE_DESELECT=$suite_dir/deselect.txt PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH}

# 3. The server must honour the reset endpoint (it was started with --enable-test-reset).
"$python" - "$endpoint" <<'EOF'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/moto-api/reset", data=b"", method="POST")
try:
    with urllib.request.urlopen(req, timeout=10) as resp:
        status = resp.status
except urllib.error.HTTPError as e:
    status = e.code
except OSError as e:
    sys.exit(f"moto gate: POST {sys.argv[1]}/moto-api/reset failed: {e}")
if not 200 <= status < 300:
    sys.exit(f"moto gate: POST /moto-api/reset answered {status}; start the server with --enable-test-reset")
EOF

# 4. The gate.
echo "moto gate: moto==$MOTO_VERSION, ${#GATED_FILES[@]} files, ${#deselected[@]} expected divergences deselected, endpoint $endpoint"
rc=0
rm -f "$suite_dir/report.xml"
(cd "$src" && "$python" -m pytest "${pytest_args[@]}" -q -rfEs --tb=short --junitxml="$suite_dir/report.xml" \
  "${GATED_FILES[@]}") || rc=$?

# 5. Information only: the expected divergences should still fail against this server. One that
#    passes means the entry is no longer needed, or the server accepts what AWS rejects.
rm -f "$suite_dir/divergences.xml"
(cd "$src" && MOTO_GATE_INVERT=1 "$python" -m pytest "${pytest_args[@]}" -q --tb=no \
  --junitxml="$suite_dir/divergences.xml" "${GATED_FILES[@]}") >/dev/null 2>&1 || true
if [[ -f $suite_dir/divergences.xml ]]; then
  mapfile -t unexpected < <("$python" "$here/divergences.py" passing "$suite_dir/divergences.xml")
  if ((${#unexpected[@]} == 0)); then
    echo "moto gate: all ${#deselected[@]} expected divergences fail against this server, as expected"
  else
    echo "moto gate: WARNING: ${#unexpected[@]} expected divergence(s) pass against this server;" \
      "drop the entry, or check the server against the cited AWS evidence:"
    printf '  %s\n' "${unexpected[@]}"
  fi
fi

read -r passed failed skipped errors < <("$python" "$here/divergences.py" summary "$suite_dir/report.xml" 2>/dev/null || echo "0 0 0 1")
if [[ -n ${MOTO_RESULTS:-} ]]; then
  echo "$passed $failed $skipped $errors ${#deselected[@]}" >"$MOTO_RESULTS"
fi
if ((rc != 0)); then
  echo "moto gate: FAILED (pytest exit $rc)" >&2
  exit 1
fi
echo "moto gate: ok ($passed passed, ${#deselected[@]} deselected as expected divergences)"
