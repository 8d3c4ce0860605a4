#!/usr/bin/env python3
"""Checks tests/moto/expected-divergences.txt and turns it into pytest arguments.

Usage:
  divergences.py ids LIST                  validate LIST, print one node id per line
  divergences.py summary JUNIT_XML         print "passed failed skipped errors" from a junit report
  divergences.py passing JUNIT_XML         print the node ids that passed in a junit report

Format of LIST: a pytest node id on its own line, immediately followed by a line starting with
"# why:" that cites the AWS evidence (a URL or a spec section, i.e. it contains "http" or "§").
Other lines starting with "#" and blank lines are comments.
"""

import sys
import xml.etree.ElementTree as ET

GATED_FILES = (
    "tests/test_apigatewayv2/test_apigatewayv2.py",
    "tests/test_apigatewayv2/test_apigatewayv2_routes.py",
    "tests/test_apigatewayv2/test_apigatewayv2_integrations.py",
    "tests/test_apigatewayv2/test_apigatewayv2_integrationresponses.py",
    "tests/test_apigatewayv2/test_apigatewayv2_stages.py",
    "tests/test_apigatewayv2/test_apigatewayv2_tags.py",
    "tests/test_apigatewayv2/test_apigatewayv2_authorizers.py",
)


def parse(path):
    """Returns the node ids; exits with a message on any format error."""
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    errors = []
    ids = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line or line.startswith("#"):
            if line.startswith("# why:"):
                errors.append(f"{path}:{i + 1}: '# why:' line without a test id above it")
            i += 1
            continue
        node = line
        where = f"{path}:{i + 1}"
        if "::" not in node or node.split("::", 1)[0] not in GATED_FILES:
            errors.append(f"{where}: '{node}' is not a test in one of the gated files {GATED_FILES}")
        if node in ids:
            errors.append(f"{where}: duplicate entry '{node}'")
        why = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if not why.startswith("# why:"):
            errors.append(f"{where}: '{node}' must be followed by a '# why:' line")
        elif "http" not in why and "§" not in why:
            errors.append(f"{path}:{i + 2}: the '# why:' line must cite AWS evidence (a URL or a spec §)")
        ids.append(node)
        i += 2
    if errors:
        sys.exit("\n".join(["expected-divergences format errors:"] + errors))
    if not ids:
        sys.exit(f"{path}: no entries")
    return ids


def main(argv):
    if len(argv) == 3 and argv[1] == "ids":
        print("\n".join(parse(argv[2])))
    elif len(argv) == 3 and argv[1] == "summary":
        passed = failed = skipped = errors = 0
        for case in ET.parse(argv[2]).getroot().iter("testcase"):
            kinds = {child.tag for child in case}
            if "failure" in kinds:
                failed += 1
            elif "error" in kinds:
                errors += 1
            elif "skipped" in kinds:
                skipped += 1
            else:
                passed += 1
        print(passed, failed, skipped, errors)
    elif len(argv) == 3 and argv[1] == "passing":
        for case in ET.parse(argv[2]).getroot().iter("testcase"):
            if not len(case):
                path = case.get("file") or case.get("classname", "").replace(".", "/") + ".py"
                print(f"{path}::{case.get('name')}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
