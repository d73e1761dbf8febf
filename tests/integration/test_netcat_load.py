#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""1,000 concurrent netcat connections x 100 lines each, every line split
across sends at random byte positions, from one selectors-driven client:
  1. ack-every-event = true, logger sink: every connection gets its 100
     OKs, every line is logged once, each connection's lines in order;
  2. ack-every-event = false, a 100-event channel, null sink: the source
     is throttled by the full channel over and over, yet all 100,000 lines
     arrive and nothing is dropped.
Counters must add up exactly (ctl stats). Bounded in count and time."""
import os
import random
import re
import resource
import selectors
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netcat_util import (DEADLINE, Agent, Checks, free_port,  # noqa: E402
                         wait_for)

NB_CONNS = 1000
NB_LINES = 100
check = Checks("test_netcat_load")
rng = random.Random(4141)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NB_CONNS + 64
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            print(f"SKIP: need {want} open files, hard limit {hard}")
            sys.exit(77)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def line(conn_id, i):
    return f"c{conn_id:04d} l{i:03d}".encode()


class Client:
    def __init__(self, conn_id, port):
        self.id = conn_id
        self.out = b"".join(line(conn_id, i) + b"\n"
                            for i in range(NB_LINES))
        self.sent = 0
        self.replies = b""
        self.eof = False
        self.shut = False
        self.sock = socket.socket()
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", port))


def run_clients(port, ack):
    """Drive all connections until each is done; returns the clients."""
    sel = selectors.DefaultSelector()
    clients = [Client(i, port) for i in range(NB_CONNS)]
    for c in clients:
        sel.register(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    pending = len(clients)
    end = time.monotonic() + 4 * DEADLINE
    while pending and time.monotonic() < end:
        for key, ev in sel.select(timeout=1.0):
            c = key.data
            if ev & selectors.EVENT_WRITE and c.sent < len(c.out):
                # A random cut: lines split at any byte across sends.
                n = rng.randint(1, 200)
                try:
                    c.sent += c.sock.send(c.out[c.sent:c.sent + n])
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError as e:
                    check(False, f"conn {c.id}: send failed: {e}")
                    c.sent = len(c.out)
            if c.sent == len(c.out) and not c.shut:
                c.shut = True
                if not ack:
                    c.sock.shutdown(socket.SHUT_WR)
                sel.modify(c.sock, selectors.EVENT_READ, c)
            if ev & selectors.EVENT_READ:
                try:
                    data = c.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    c.replies += data
                else:
                    c.eof = True
            done = (c.eof or (ack and
                              c.replies.count(b"\n") >= NB_LINES))
            if done and c.shut:
                sel.unregister(c.sock)
                c.sock.close()
                pending -= 1
    check(pending == 0, f"{pending} connections still busy at the deadline")
    for c in clients:
        if c.sock.fileno() >= 0:
            c.sock.close()
    sel.close()
    return clients


def exact(ag, what, comp, name, want):
    got = wait_for(lambda: ag.counter(comp, name) == want, timeout=60)
    v = ag.counter(comp, name)
    check(v == want, f"{what}: {comp} {name} = {v}, expected {want}")
    return got


def ack_phase(tmp, recv_mode=None):
    port = free_port()
    conf = (f"a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n"
            f"a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n"
            f"a1.channels.c1.type = memory\n"
            f"a1.channels.c1.capacity = 200000\n"
            f"a1.channels.c1.transactionCapacity = 1000\n"
            f"a1.channels.c1.ringBytes = 16777216\n"
            f"a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n")
    env = {"SLUICE_NETCAT_RECV": recv_mode} if recv_mode else {}
    ag = Agent(tmp, conf, tag="ack", env=env)
    total = NB_CONNS * NB_LINES
    try:
        check(ag.wait_tcp(port), "ack agent listens")
        mode = ag.stats()["SOURCE.r1"]["sluice"]["recv_mode"]
        want = {"select": "provided-buffer"}.get(recv_mode, recv_mode)
        check(mode == (want or "multishot"),
              f"the source reads with {recv_mode or 'multishot'} recv "
              f"(ctl stats says {mode})")
        t0 = time.monotonic()
        clients = run_clients(port, ack=True)
        print(f"ack phase: {total} lines over {NB_CONNS} connections in "
              f"{time.monotonic() - t0:.1f} s", flush=True)
        bad = [c.id for c in clients if c.replies != b"OK\n" * NB_LINES]
        check(not bad, f"every connection got {NB_LINES} OKs "
              f"({len(bad)} did not, first {bad[:5]})")
        exact(ag, "ack", "SINK.k1", "EventDrainSuccessCount", total)
        # Per-connection order, and each line exactly once.
        seen = {}
        for ev in ag.logger_events():
            m = re.search(r" c(\d{4}) l(\d{3}) }$", ev)
            if m:
                seen.setdefault(m.group(1), []).append(int(m.group(2)))
        check(len(seen) == NB_CONNS, f"lines from {len(seen)} connections")
        disorder = [cid for cid, seqs in seen.items()
                    if seqs != list(range(NB_LINES))]
        check(not disorder, f"per-connection order and uniqueness broken "
              f"for {len(disorder)} connections, e.g. {disorder[:3]}")
        src = ag.stats()["SOURCE.r1"]
        check(src["EventReceivedCount"] == str(total) and
              src["EventAcceptedCount"] == str(total),
              f"source counters: received {src['EventReceivedCount']}, "
              f"accepted {src['EventAcceptedCount']}")
        ch = ag.stats()["CHANNEL.c1"]
        check(ch["EventPutSuccessCount"] == str(total),
              f"channel put success {ch['EventPutSuccessCount']}")
        wait_for(lambda: ag.counter("SOURCE.r1", "OpenConnectionCount")
                 == 0)
        nb = NB_CONNS + ag.probes
        src = ag.stats()["SOURCE.r1"]
        check(src["OpenConnectionCount"] == "0" and
              src["sluice"]["connections_accepted"] == str(nb) and
              src["sluice"]["connections_closed"] == str(nb),
              f"connection counters: open {src['OpenConnectionCount']}, "
              f"accepted {src['sluice']['connections_accepted']}, closed "
              f"{src['sluice']['connections_closed']} (want {nb})")
        drops = {k: v for k, v in src["sluice"].items()
                 if k.startswith("drop_") and v != "0"}
        check(not drops, f"no drops: {drops}")
        check(src["sluice"]["rx_bytes"] ==
              str(sum(len(c.out) for c in clients)), "rx_bytes exact")
    finally:
        rc = ag.stop()
    check(rc == 0, f"ack agent exits 0 (got {rc})")


def backpressure_phase(tmp):
    port = free_port()
    conf = (f"a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n"
            f"a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n"
            f"a1.sources.r1.ack-every-event = false\n"
            f"a1.channels.c1.type = memory\na1.channels.c1.capacity = 100\n"
            f"a1.channels.c1.transactionCapacity = 100\n"
            f"a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n")
    ag = Agent(tmp, conf, tag="bp")
    total = NB_CONNS * NB_LINES
    try:
        check(ag.wait_tcp(port), "backpressure agent listens")
        t0 = time.monotonic()
        clients = run_clients(port, ack=False)
        print(f"backpressure phase: {total} lines in "
              f"{time.monotonic() - t0:.1f} s", flush=True)
        check(all(c.replies == b"" for c in clients),
              "no replies without acks")
        exact(ag, "backpressure", "SINK.k1", "EventDrainSuccessCount", total)
        src = ag.stats()["SOURCE.r1"]
        check(src["EventReceivedCount"] == str(total) and
              src["EventAcceptedCount"] == str(total),
              f"source counters: received {src['EventReceivedCount']}, "
              f"accepted {src['EventAcceptedCount']}")
        drops = {k: v for k, v in src["sluice"].items()
                 if k.startswith("drop_") and v != "0"}
        check(not drops, f"no drops under backpressure: {drops}")
        ch = ag.stats()["CHANNEL.c1"]
        check(ch["EventPutSuccessCount"] == str(total) and
              ch["EventTakeSuccessCount"] == str(total),
              f"channel counters: {ch}")
        print(f"backpressure phase: ChannelWriteFail (stalls) "
              f"{src['ChannelWriteFail']}", flush=True)
    finally:
        rc = ag.stop()
    check(rc == 0, f"backpressure agent exits 0 (got {rc})")


raise_nofile()
with tempfile.TemporaryDirectory() as tmp:
    # The kernel's fast path (multishot recv, provided buffers), then the
    # one-shot fallback older kernels get, then backpressure.
    for name, part in (("ack", ack_phase),
                       ("ack-plain", lambda t: ack_phase(t, "plain")),
                       ("ack-select", lambda t: ack_phase(t, "select")),
                       ("backpressure", backpressure_phase)):
        print(f"-- {name}", flush=True)
        sub = os.path.join(tmp, name)
        os.mkdir(sub)
        part(sub)
check.finish()
