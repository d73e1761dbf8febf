#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A model of directIO's read-cache arena (channel/file_channel.c:
fc_arena_take / fc_arena_fits / fc_arena_trim, fc_cache_add, and the next
group opening as the last one closes), in blocks, run through the workload
of test_file_channel.c's direct_io_cache_keeps_what_a_take_holds. The
figures that test asserts against the real allocator (groups cached,
groups skipped) are the ones this independent model derives; when the
allocator changes on purpose, this model changes with it and tells the
test's new figures. No binary runs."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netcat_util import Checks  # noqa: E402

ARENA = 36      # directCacheBytes=147456: 36 blocks of 4 KiB
TAKE = 12       # groupCommitBytes=32768 + 4 blocks: what a group opens with
USED = 2        # 10 events of 700 B, padded: what a group keeps
HEADER = 1      # the first group also holds the segment's header block


class Arena:
    def __init__(self):
        self.head = 0
        self.cache = []         # [(off, group)], oldest first
        self.written = None     # (off, group): closed, in the arena, not cached
        self.held = set()      # taken, not committed: fc_cache_evictable
        self.skips = 0

    def tail(self):
        if self.cache:
            return self.cache[0][0]
        return self.written[0] if self.written else None

    def fits(self, need):
        t = self.tail()
        if t is None:
            return need <= ARENA, 0
        if t < self.head:                       # live: [tail, head)
            at = self.head if self.head + need <= ARENA else 0
            return at == self.head or need <= t, at
        return need <= t - self.head, self.head  # live: wraps

    def take(self):
        """fc_arena_take: an offset, or None (the group's own buffer)."""
        while True:
            ok, at = self.fits(TAKE)
            if ok:
                self.head = at + TAKE
                return at
            if not self.cache:
                return None
            if self.cache[0][1] in self.held:   # FIFO: stop at a held one
                return None
            self.cache.pop(0)


def run():
    a = Arena()
    state = {"gid": 0, "open": a.take()}
    marks = {}

    def group(hold=False):
        """One acknowledged transaction: its group closes (trimmed to what
        it used), the next opens behind it, then it syncs and is cached;
        @hold: a sink takes it and does not commit. Committed groups and
        groups not taken yet may go (read again from the segment)."""
        g, off = state["gid"], state["open"]
        if off is None:
            a.skips += 1
            a.written = None
        else:
            a.head = off + USED + (HEADER if g == 0 else 0)
            a.written = (off, g)
        state["gid"] += 1
        state["open"] = a.take()
        if a.written:
            a.cache.append(a.written)
            a.written = None
        if hold:
            a.held.add(g)

    for _ in range(20):                 # a sink that keeps up
        group()
    marks["phase1_cached"] = len(a.cache)
    group(hold=True)                    # a take held ...
    for _ in range(30):                 # ... across thirty more groups
        group()
    marks["phase2_skips"] = a.skips
    a.held.clear()                      # the take commits, all drained
    for _ in range(5):
        group()
    marks["phase3_skips"] = a.skips
    marks["phase3_cached"] = len(a.cache)
    return marks


check = Checks("arena model")
m = run()
print(f"arena model: {m}")
# test_file_channel.c, direct_io_cache_keeps_what_a_take_holds:
check(m["phase1_cached"] == 8, f"after a sink that keeps up: 8 cached, {m}")
check(m["phase2_skips"] == 23, f"behind the held take: 23 skips, {m}")
check(m["phase3_skips"] == 24, f"the group opened while held: 24, {m}")
check(m["phase3_cached"] == 7, f"then 7 cached, {m}")
check.finish()
