#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Print the closing line of a `meson test` run, 'N passed, N failed, N
skipped', from its testlog.json, so CI reads one plain count. Exit status is
meson's, passed through by the Makefile; this only reports.

Above that line, for each test that did not pass, the lines of its output
that say why (Criterion's [FAIL] and assertion lines, a sanitizer's report
head, a Python traceback's last lines): CI keeps only the tail of a run, and
a failure nobody can name cannot be fixed."""
import json
import re
import sys

# Criterion: "[----] file.c:66: Assertion Failed", its message lines, then
# "[FAIL] suite::test: (0.00s)"; Python drivers: "FAIL: ...", tracebacks.
WHY = re.compile(r"^\[(----|FAIL)\]|Assertion|AssertionError|^FAIL|"
                 r"^Traceback|^\S+Error:|ERROR: AddressSanitizer|"
                 r"runtime error:|^SUMMARY:")
MAX_LINES = 24


def why(out):
    lines = [l for l in out.splitlines() if WHY.search(l)]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES // 2] + ["  ..."] + lines[-MAX_LINES // 2:]
    return lines


counts = {"passed": 0, "failed": 0, "skipped": 0}
failures = []
try:
    with open(sys.argv[1]) as f:
        for line in f:
            t = json.loads(line)
            r = t.get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                counts["passed"] += 1
            elif r == "SKIP":
                counts["skipped"] += 1
            else:
                counts["failed"] += 1
                failures.append((t.get("name", "?"), r,
                                 why(t.get("stdout") or "") +
                                 why(t.get("stderr") or "")))
except OSError as e:
    print(f"summary: {e}", file=sys.stderr)
    sys.exit(1)
for name, result, lines in failures:
    print(f"{name}: {result}")
    for l in lines:
        print(f"  {l[:300]}")
print(f"tests: {counts['passed']} passed, {counts['failed']} failed, "
      f"{counts['skipped']} skipped")
