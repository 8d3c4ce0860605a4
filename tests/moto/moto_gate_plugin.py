"""pytest plugin for the moto gate: deselects exactly the node ids listed in the file named by
$MOTO_GATE_DESELECT (pytest's own --deselect matches by prefix, so `test_get_api` would also drop
`test_get_api_unknown`), and fails the session when a listed id names no collected test, so a stale
entry of tests/moto/expected-divergences.txt cannot hide. With MOTO_GATE_INVERT=1 it keeps only the
listed tests instead (to see whether the expected divergences still fail)."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    with open(os.environ["MOTO_GATE_DESELECT"], encoding="utf-8") as f:
        wanted = {line.strip() for line in f if line.strip()}
    listed = [item for item in items if item.nodeid in wanted]
    others = [item for item in items if item.nodeid not in wanted]
    stale = sorted(wanted - {item.nodeid for item in listed})
    if stale:
        raise pytest.UsageError(
            "stale entries in tests/moto/expected-divergences.txt (no such test in the suite):\n  "
            + "\n  ".join(stale)
        )
    keep, drop = (listed, others) if os.environ.get("MOTO_GATE_INVERT") == "1" else (others, listed)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
