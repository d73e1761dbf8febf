#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/run's statistics, which decide whether a goal reads "met":
median_ci()'s distribution-free interval for the median of the paired
ratios (the order statistics the sign test gives, checked against the
binomial coverage computed here by brute force), and verdict()'s three
answers. No benchmark runs."""
import importlib.machinery
import importlib.util
import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netcat_util import Checks  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
loader = importlib.machinery.SourceFileLoader(
    "bench_run", os.path.join(ROOT, "bench", "run"))
spec = importlib.util.spec_from_loader("bench_run", loader)
bench = importlib.util.module_from_spec(spec)
loader.exec_module(bench)
check = Checks("bench statistics")


def coverage(n, k):
    """P(x(k) <= median < x(n+1-k)) for n draws of a continuous variable:
    the share of the 2^n above/below patterns with at least k on each
    side, counted one by one."""
    good = sum(1 for bits in itertools.product((0, 1), repeat=n)
               if k <= sum(bits) <= n - k)
    return good / 2 ** n


# The interval's ends are the order statistics the sign test names, and
# the widest k whose coverage still reaches 95 %.
for n in range(1, 17):
    xs = [float(i) for i in range(n, 0, -1)]   # unsorted on purpose
    med, lo, hi = bench.median_ci(xs)
    check(med == (n + 1) / 2, f"n={n}: median {med}")
    ks = [k for k in range(1, n // 2 + 1) if coverage(n, k) >= 0.95]
    if not ks:
        check(lo is None and hi is None,
              f"n={n}: no 95 % interval exists, got {lo}..{hi}")
        continue
    k = max(ks)
    check((lo, hi) == (float(k), float(n + 1 - k)),
          f"n={n}: interval {lo}..{hi}, want x({k})..x({n + 1 - k})")

# The rotations' sizes: 7 pairs span all, 15 drop three from each end.
check(bench.median_ci([0.9, 0.7, 0.8, 0.85, 0.75, 0.95, 0.82]) ==
      (0.82, 0.7, 0.95), "7 pairs: min..max around the median")
v15 = [0.70 + 0.01 * i for i in range(15)]
med, lo, hi = bench.median_ci(v15)
check((round(med, 2), round(lo, 2), round(hi, 2)) == (0.77, 0.73, 0.81),
      f"15 pairs: {med} {lo} {hi}")
check(bench.median_ci([]) == (None, None, None), "no pairs")
check(bench.median_ci([1.0, 2.0, 3.0, 4.0, 5.0])[1:] == (None, None),
      "5 pairs: too few for 95 %")

# verdict(): below the goal, NOT met; above it with the interval's lower
# end below, within the noise; above with the interval above, met.
check("NOT met" in bench.verdict(0.79, 0.80, 0.75), "0.79 vs 0.80")
check("NOT met" in bench.verdict(0.79, 0.80), "0.79 vs 0.80, no pairs")
check("within the noise" in bench.verdict(0.83, 0.80, 0.78) and
      "0.78" in bench.verdict(0.83, 0.80, 0.78), "0.83, interval to 0.78")
check(bench.verdict(0.83, 0.80, 0.81) == "**met**", "0.83, interval 0.81")
check(bench.verdict(0.80, 0.80) == "**met**", "exactly the goal")
check(bench.pairs_lo({"ratio_pairs_base_lo": 0.78}, "ratio_pairs_base")
      == 0.78, "pairs_lo reads the row")
check(bench.pairs_lo({"ratio_pairs_base_lo": ""}, "ratio_pairs_base")
      is None, "pairs_lo: a CSV's empty field")

check.finish()
