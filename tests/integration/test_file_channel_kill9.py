#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kill -9 loop on the durable channel: the real agent (netcat with OK
acks -> file channel -> logger sink) runs under load from a few client
connections and is SIGKILLed at random points, then restarted on the same
directories; after every restart, and at the end, every line that got an
`OK` must reach the sink (duplicates are allowed: at-least-once, bounded by
what was in flight). Bodies carry a sequence number so loss, corruption and
duplicates are counted exactly. Every other agent (the last one among
them) writes with directIO, through small groups and a small read cache,
on the same log the others write through the page cache. Rounds:
SL_KILL9_ROUNDS (20 in `make test`, more in `make soak`); seed:
SL_KILL9_SEED."""
import os
import random
import re
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netcat_util import Agent, Checks, free_port, wait_for  # noqa: E402

check = Checks("test_file_channel_kill9")
ROUNDS = int(os.environ.get("SL_KILL9_ROUNDS", "20"))
SEED = int(os.environ.get("SL_KILL9_SEED", str(int(time.time()))))
CLIENTS = 3
LINE_RE = re.compile(r"sink logger k1: Event: \{ headers:\{\} body: .*? "
                     r"(c\d-\d{8}) \}$")


def source_channel_conf(tmp, port, direct=False):
    """netcat r1 -> file channel c1 (small segments, two dataDirs; with
    @direct, O_DIRECT writes in groups of at most 64 KiB and a 256 KiB
    read cache): the part of the config the kill -9 tests share (also the
    Kafka one)."""
    return (f"a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = netcat\n"
            f"a1.sources.r1.bind = 127.0.0.1\n"
            f"a1.sources.r1.port = {port}\n"
            f"a1.sources.r1.channels = c1\n"
            f"a1.channels.c1.type = file\n"
            f"a1.channels.c1.checkpointDir = {tmp}/ck\n"
            f"a1.channels.c1.dataDirs = {tmp}/d1,{tmp}/d2\n"
            f"a1.channels.c1.maxFileSize = 262144\n"
            f"a1.channels.c1.minimumRequiredSpace = 0\n"
            f"a1.channels.c1.checkpointInterval = 300\n"
            f"a1.channels.c1.capacity = 100000\n"
            f"a1.channels.c1.transactionCapacity = 1000\n" +
            ("a1.channels.c1.directIO = true\n"
             "a1.channels.c1.groupCommitBytes = 65536\n"
             "a1.channels.c1.directCacheBytes = 262144\n" if direct else ""))


def direct_round(rnd_i):
    """Whether agent @rnd_i writes with directIO: every other one, the
    last (number ROUNDS) among them."""
    return (ROUNDS - rnd_i) % 2 == 0


def conf(tmp, port, direct=False):
    return (source_channel_conf(tmp, port, direct) +
            f"a1.sinks.k1.type = logger\n"
            f"a1.sinks.k1.maxBytesToLog = 64\n"
            f"a1.sinks.k1.channel = c1\n")


class Client(threading.Thread):
    """One connection sending "cN-<seq>" lines in windows, counting OKs.
    A line is acknowledged when its OK arrived (OKs come in order)."""

    def __init__(self, cid, port, start_seq, stop):
        super().__init__(daemon=True)
        self.cid, self.port, self.seq, self.stop = cid, port, start_seq, stop
        self.acked = []

    def run(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), 5)
        except OSError:
            return
        s.settimeout(0.5)
        pending, buf = [], b""
        try:
            while not self.stop.is_set():
                if len(pending) < 50:
                    batch = []
                    for _ in range(10):
                        line = f"c{self.cid}-{self.seq:08d}"
                        self.seq += 1
                        batch.append(line)
                    s.sendall("".join(x + "\n" for x in batch).encode())
                    pending += batch
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    reply, buf = buf.split(b"\n", 1)
                    if reply == b"OK" and pending:
                        self.acked.append(pending.pop(0))
                    elif pending:
                        pending.pop(0)          # FAILED: not stored
        except OSError:
            return                              # the agent died
        finally:
            s.close()


def delivered(log_text):
    out = []
    for line in log_text.splitlines():
        m = LINE_RE.search(line)
        if m:
            out.append(m.group(1))
    return out


def main():
    rnd = random.Random(SEED)
    print(f"seed {SEED} rounds {ROUNDS}", flush=True)
    # On a disk: tmpfs has no O_DIRECT (the channel would fall back).
    with tempfile.TemporaryDirectory(prefix="sl-kill9-",
                                     dir="/var/tmp") as tmp:
        acked, seen, logs = set(), [], []
        next_seq = [0] * CLIENTS
        kills = 0
        for rnd_i in range(ROUNDS + 1):
            port = free_port()
            ag = Agent(tmp, conf(tmp, port, direct_round(rnd_i)),
                       tag=f"r{rnd_i}")
            logs.append(ag)
            if not check(ag.wait_tcp(port), f"round {rnd_i}: agent up "
                         f"(log: {ag.log()[-2000:]})"):
                break
            last = rnd_i == ROUNDS
            stop = threading.Event()
            clients = [Client(c, port, next_seq[c], stop)
                       for c in range(CLIENTS)]
            for c in clients:
                c.start()
            time.sleep(rnd.uniform(0.3, 1.5) if not last else 1.0)
            if last:
                stop.set()
            else:
                os.kill(ag.proc.pid, signal.SIGKILL)
                kills += 1
            for c in clients:
                c.join(30)
                next_seq[c.cid] = c.seq
                acked.update(c.acked)
            if not last:
                ag.kill()
        # The last agent drains everything, then stops gracefully.
        ag = logs[-1]
        wait_for(lambda: ag.counter("CHANNEL.c1", "ChannelSize") == 0)
        st = ag.stats()["CHANNEL.c1"]
        check(st["Unhealthy"] == "0", f"channel healthy: {st}")
        sl = st.get("sluice", {})
        if "direct_registered_buffers" in sl:       # shown with O_DIRECT on
            print(f"last agent (directIO): {sl['direct_cache_hits']} events "
                  f"from its cache, {sl['direct_cache_misses']} from the "
                  f"disk, {sl['direct_cache_skips']} groups not cached",
                  flush=True)
        else:
            check("does not support O_DIRECT" in ag.log(),
                  f"the last agent runs with directIO, or says why not: "
                  f"{sl}")
        rc = ag.stop()
        check(rc == 0, f"graceful stop after the loop (rc {rc})")
        for a in logs:
            seen += delivered(a.log())
        seen_set = set(seen)
        lost = sorted(acked - seen_set)
        dups = len(seen) - len(seen_set)
        sent = sum(next_seq)
        check(kills >= ROUNDS, f"{kills} kills")
        check(len(acked) > 100 * ROUNDS // 10,
              f"enough acknowledged lines ({len(acked)})")
        check(not lost, f"{len(lost)} acknowledged lines lost: {lost[:10]}")
        bogus = [x for x in seen_set
                 if int(x.split("-")[1]) >= next_seq[int(x[1])]]
        check(not bogus, f"lines never sent arrived: {bogus[:5]}")
        print(f"kills {kills}, sent {sent}, acked {len(acked)}, delivered "
              f"{len(seen)} ({dups} duplicates, "
              f"{len(seen_set - acked)} unacked lines that still arrived)",
              flush=True)
    check.finish()


if __name__ == "__main__":
    main()
