#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Print the closing line of a `meson test` run, 'N passed, N failed, N
skipped', from its testlog.json, so CI reads one plain count. Exit status is
meson's, passed through by the Makefile; this only reports."""
import json
import sys

counts = {"passed": 0, "failed": 0, "skipped": 0}
try:
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line).get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                counts["passed"] += 1
            elif r == "SKIP":
                counts["skipped"] += 1
            else:
                counts["failed"] += 1
except OSError as e:
    print(f"summary: {e}", file=sys.stderr)
    sys.exit(1)
print(f"tests: {counts['passed']} passed, {counts['failed']} failed, "
      f"{counts['skipped']} skipped")
