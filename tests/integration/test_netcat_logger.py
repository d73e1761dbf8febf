#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The seed's netcat-logger.conf, unchanged but for the port: lines sent as
telnet sends them come back as one "OK" each and show up in the log as
Flume's LoggerSink prints them. Then Flume's edge cases on the same source:
a line at max-line-length and one over (FAILED + close), EOF in the middle
of a line (discarded, counted), a full channel with ack-every-event (FAILED
per refused line, the rest stored, counters adding up), a full channel
without acks (backpressure: every line arrives, in order), and SIGTERM
stopping gracefully. Counters are checked through `sluice ctl stats`."""
import os
import re
import signal
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netcat_util import (Agent, Checks, flume_dump, free_port,  # noqa: E402
                         recv_until, wait_for)

SRC = os.environ["SLUICE_SRC"]
check = Checks("test_netcat_logger")
FULL_MSG = ("FAILED: Space for commit to queue couldn't be acquired. Sinks "
            "are likely not keeping up with sources, or the buffer size is "
            "too tight\n")


def seed_conf(port):
    with open(os.path.join(SRC, "deploy", "conf", "netcat-logger.conf"),
              encoding="utf-8") as f:
        text = f.read()
    new, n = re.subn(r"(?m)^(agent1\.sources\.r1\.port\s*=\s*)4141\s*$",
                     rf"\g<1>{port}", text)
    assert n == 1, "the seed conf no longer sets port 4141"
    return new


def send_lines(port, payload, nb_replies):
    """Send payload on one connection; read nb_replies reply lines."""
    with socket.create_connection(("127.0.0.1", port), 30) as c:
        c.sendall(payload)
        data, _ = recv_until(c, lambda d: d.count(b"\n") >= nb_replies)
    return data


def seed_lines(tmp):
    port = free_port()
    ag = Agent(tmp, seed_conf(port), name="agent1", tag="seed")
    try:
        check(ag.wait_tcp(port), "agent on the seed conf listens")
        # telnet sends CRLF; Flume keeps the CR in the body.
        lines = [b"Hello Flume!\r\n", b"Test message from telnet\r\n",
                 b"plain newline\n", b"\n", "中文 UTF-8 ok\n".encode()]
        got = send_lines(port, b"".join(lines), len(lines))
        check(got == b"OK\n" * len(lines),
              f"one OK per line, Flume's reply (got {got!r})")
        want = [flume_dump(line[:-1]) for line in lines]
        wait_for(lambda: len(ag.logger_events()) >= len(want))
        check(ag.logger_events() == want,
              "logger lines match Flume's format:\n  got  "
              + "\n       ".join(ag.logger_events()) + "\n  want "
              + "\n       ".join(want))
        st = ag.stats()["SOURCE.r1"]
        check(st["EventReceivedCount"] == str(len(lines)) and
              st["EventAcceptedCount"] == str(len(lines)),
              f"source counters: {st}")
        check(st["sluice"]["rx_bytes"] == str(sum(map(len, lines))),
              f"rx_bytes counts every byte: {st['sluice']['rx_bytes']}")
    finally:
        rc = ag.stop()
    check(rc == 0, f"SIGTERM stops the seed agent with 0 (got {rc})")


def edge_cases(tmp):
    port = free_port()
    conf = (f"a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = org.apache.flume.source.NetcatSource\n"
            f"a1.sources.r1.bind = 127.0.0.1\n"
            f"a1.sources.r1.port = {port}\n"
            f"a1.sources.r1.max-line-length = 32\n"
            f"a1.sources.r1.channels = c1\n"
            f"a1.channels.c1.type = memory\n"
            f"a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n"
            f"a1.sinks.k1.maxBytesToLog = 64\n")
    ag = Agent(tmp, conf, tag="edge")
    try:
        check(ag.wait_tcp(port), "edge agent listens")
        # 31 characters + newline = 32: accepted.
        at_limit = b"a" * 31 + b"\n"
        check(send_lines(port, at_limit, 1) == b"OK\n",
              "a line of exactly max-line-length (with newline) is OK")
        # Characters, not bytes: 31 x 3-byte characters still fit.
        wide = "é".encode() * 31 + b"\n"
        check(send_lines(port, wide, 1) == b"OK\n",
              "max-line-length counts characters, as Flume does")
        # One over: FAILED with Flume's message, then the connection closes.
        with socket.create_connection(("127.0.0.1", port), 30) as c:
            c.sendall(b"before\n" + b"b" * 32 + b"\nafter\n")
            data, eof = recv_until(c, lambda d: False)
        check(data == b"OK\nFAILED: Event exceeds the maximum length (32 "
              b"chars, including newline)\n",
              f"over-long line: OK for the line before, then FAILED "
              f"(got {data!r})")
        check(eof, "the connection is closed after an over-long line")
        # EOF in the middle of a line: the complete line is stored, the
        # tail is discarded and counted.
        with socket.create_connection(("127.0.0.1", port), 30) as c:
            c.sendall(b"complete\npartial-tail")
            c.shutdown(socket.SHUT_WR)
            data, eof = recv_until(c, lambda d: False)
        check(data == b"OK\n" and eof,
              f"EOF mid-line: OK for the complete line, then close "
              f"(got {data!r}, eof={eof})")
        nb_conns = 4 + ag.probes
        wait_for(lambda: ag.counter("SOURCE.r1", "connections_closed") >=
                 nb_conns)
        want = [flume_dump(at_limit[:-1], max_bytes=64),
                flume_dump(wide[:-1], max_bytes=64),
                flume_dump(b"before", max_bytes=64),
                flume_dump(b"complete", max_bytes=64)]
        wait_for(lambda: len(ag.logger_events()) >= len(want))
        check(ag.logger_events() == want,
              f"only complete, short lines reach the sink: "
              f"{ag.logger_events()}")
        src = ag.stats()["SOURCE.r1"]
        check(src["EventReceivedCount"] == "4" and
              src["EventAcceptedCount"] == "4", f"counters: {src}")
        check(src["EventReadFail"] == "1" and
              src["sluice"]["drop_line_too_long"] == "1",
              f"the over-long line is counted once: {src}")
        check(src["sluice"]["drop_unterminated_tail"] == "1",
              f"the unterminated tail is counted once: {src}")
        check(src["OpenConnectionCount"] == "0" and
              src["sluice"]["connections_accepted"] == str(nb_conns) and
              src["sluice"]["connections_closed"] == str(nb_conns),
              f"connection counters: {src}")
        check("partial-tail" not in ag.log(), "the tail never reaches a sink")
    finally:
        rc = ag.stop()
    check(rc == 0, f"SIGTERM: exit 0 (got {rc})")


def channel_full_with_acks(tmp):
    """capacity 5: a burst of lines on one read fills it long before the
    sink's next take; each refused line gets Flume's FAILED reply and is not
    stored, the connection stays open, and every counter adds up."""
    port = free_port()
    conf = (f"a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n"
            f"a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n"
            f"a1.channels.c1.type = memory\na1.channels.c1.capacity = 5\n"
            f"a1.channels.c1.transactionCapacity = 5\n"
            f"a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n")
    ag = Agent(tmp, conf, tag="full")
    sent, replies = [], []
    try:
        check(ag.wait_tcp(port), "channel-full agent listens")
        with socket.create_connection(("127.0.0.1", port), 30) as c:
            # Bursts until the channel has refused at least one line
            # (bounded); the first burst does it on any sane machine.
            for burst in range(20):
                lines = [f"burst{burst}-line{i:04d}".encode()
                         for i in range(400)]
                c.sendall(b"".join(x + b"\n" for x in lines))
                sent += lines
                data, eof = recv_until(
                    c, lambda d: d.count(b"\n") >= len(lines))
                check(not eof, "the connection stays open when full")
                replies += [r + b"\n" for r in data.split(b"\n")[:-1]]
                if any(r != b"OK\n" for r in replies) or eof:
                    break
            # Still usable afterwards.
            wait_for(lambda: ag.stats()["CHANNEL.c1"]["ChannelSize"] == "0")
            c.sendall(b"after-full\n")
            data, _ = recv_until(c, lambda d: b"\n" in d)
            check(data == b"OK\n", f"a line after the channel drained is OK "
                  f"(got {data!r})")
        sent.append(b"after-full")
        replies.append(b"OK\n")
        check(len(replies) == len(sent),
              f"one reply per line ({len(replies)} for {len(sent)})")
        bad = [r for r in replies if r not in (b"OK\n", FULL_MSG.encode())]
        check(not bad, f"every reply is OK or Flume's full message: {bad[:3]}")
        ok = [s for s, r in zip(sent, replies) if r == b"OK\n"]
        failed = [s for s, r in zip(sent, replies) if r != b"OK\n"]
        check(len(failed) > 0, "the channel refused lines at capacity 5")
        wait_for(lambda: len(ag.logger_events()) >= len(ok))
        want = [flume_dump(s) for s in ok]
        got = ag.logger_events()
        check(got == want, f"exactly the OK'd lines were stored, in order "
              f"({len(got)} logged, {len(want)} OK'd)")
        src = ag.stats()["SOURCE.r1"]
        ch = ag.stats()["CHANNEL.c1"]
        check(src["EventReceivedCount"] == str(len(sent)),
              f"EventReceivedCount {src['EventReceivedCount']} == "
              f"{len(sent)}")
        check(src["EventAcceptedCount"] == str(len(ok)),
              f"EventAcceptedCount {src['EventAcceptedCount']} == {len(ok)}")
        check(src["ChannelWriteFail"] == str(len(failed)),
              f"ChannelWriteFail {src['ChannelWriteFail']} == {len(failed)}")
        check(ch["EventPutSuccessCount"] == str(len(ok)),
              f"channel EventPutSuccessCount {ch['EventPutSuccessCount']} "
              f"== {len(ok)}")
        check(src["sluice"]["drop_channel_full"] == "0",
              "a FAILED reply is not a silent drop")
    finally:
        rc = ag.stop()
    check(rc == 0, f"SIGTERM: exit 0 (got {rc})")


def throttled_conf(port, capacity, sink=True):
    """netcat without acks -> a memory channel of @capacity -> logger (or,
    without @sink, nothing: the channel never has room)."""
    return ("a1.sources = r1\na1.channels = c1\n" +
            ("a1.sinks = k1\n" if sink else "") +
            f"a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n"
            f"a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n"
            f"a1.sources.r1.ack-every-event = false\n"
            f"a1.channels.c1.type = memory\n"
            f"a1.channels.c1.capacity = {capacity}\n"
            f"a1.channels.c1.transactionCapacity = {capacity}\n" +
            ("a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n"
             if sink else ""))


def channel_full_backpressure(tmp):
    """ack-every-event = false, capacity 5: the source stops reading while
    the channel is full; every line arrives, in order, none is dropped."""
    port = free_port()
    conf = throttled_conf(port, 5)
    ag = Agent(tmp, conf, tag="bp")
    n = 3000
    try:
        check(ag.wait_tcp(port), "backpressure agent listens")
        lines = [f"bp-{i:05d}".encode() for i in range(n)]
        with socket.create_connection(("127.0.0.1", port), 30) as c:
            c.sendall(b"".join(x + b"\n" for x in lines))
            c.shutdown(socket.SHUT_WR)
            data, eof = recv_until(c, lambda d: False)
        check(data == b"" and eof, f"no replies without acks (got {data!r})")
        wait_for(lambda: len(ag.logger_events()) >= n)
        got = ag.logger_events()
        check(got == [flume_dump(x) for x in lines],
              f"all {n} lines arrive in order ({len(got)} logged)")
        src = ag.stats()["SOURCE.r1"]
        check(src["EventReceivedCount"] == str(n) and
              src["EventAcceptedCount"] == str(n), f"counters: {src}")
        drops = {k: v for k, v in src["sluice"].items()
                 if k.startswith("drop_") and v != "0"}
        check(not drops, f"no drops: {drops}")
        check(int(src["ChannelWriteFail"]) > 0,
              "the full channel stalled the source (ChannelWriteFail)")
        held = (int(src["sluice"]["held_inplace_bytes"]) +
                int(src["sluice"]["held_bytes"]))
        total = sum(len(x) + 1 for x in lines)
        check(0 < held <= total, f"what was read ahead of the full channel "
              f"is counted once: 0 < held_inplace_bytes + held_bytes "
              f"{held} <= {total}")
    finally:
        rc = ag.stop()
    check(rc == 0, f"SIGTERM: exit 0 (got {rc})")


def many_paused_connections(tmp):
    """Forty connections paused at once on a full channel: what each had
    received is held in its receive buffer (chained, not copied) until
    the source holds 28 of its 32 buffers, then copied aside; either way
    every line arrives once, each connection's in order, none dropped,
    and the two held counters add up to at most what was sent."""
    port = free_port()
    conf = throttled_conf(port, 5)
    ag = Agent(tmp, conf, tag="manyp")
    nc, per = 40, 400
    lines = [[f"m{c:02d}-{i:05d}".encode() for i in range(per)]
             for c in range(nc)]
    socks = []
    try:
        check(ag.wait_tcp(port), "many-paused agent listens")
        socks = [socket.create_connection(("127.0.0.1", port), 30)
                 for _ in range(nc)]
        for s, ls in zip(socks, lines):
            s.sendall(b"".join(x + b"\n" for x in ls))
        for s in socks:
            s.shutdown(socket.SHUT_WR)
        wait_for(lambda: len(ag.logger_events()) >= nc * per)
        got = ag.logger_events()
        check(len(got) == nc * per, f"{len(got)} of {nc * per} lines logged")
        bad = [c for c in range(nc)
               if [e for e in got if f" m{c:02d}-" in e] !=
               [flume_dump(x) for x in lines[c]]]
        check(not bad, f"each connection's {per} lines, in order (not "
              f"so: connections {bad})")
        src = ag.stats()["SOURCE.r1"]
        check(src["EventReceivedCount"] == str(nc * per) and
              src["EventAcceptedCount"] == str(nc * per),
              f"counters: {src}")
        drops = {k: v for k, v in src["sluice"].items()
                 if k.startswith("drop_") and v != "0"}
        check(not drops, f"no drops: {drops}")
        inplace = int(src["sluice"]["held_inplace_bytes"])
        copied = int(src["sluice"]["held_bytes"])
        total = sum(len(x) + 1 for ls in lines for x in ls)
        print(f"many_paused_connections: held in place {inplace}, "
              f"copied {copied} of {total} bytes", flush=True)
        check(inplace > 0 and copied > 0,
              f"paused connections held in their buffers ({inplace}) and, "
              f"past 28 buffers, in copies ({copied})")
        check(inplace + copied <= total, f"each byte is held at most once: "
              f"{inplace} + {copied} <= {total}")
    finally:
        for s in socks:
            s.close()
        rc = ag.stop()
    check(rc == 0, f"SIGTERM: exit 0 (got {rc})")


def sigterm_drains(tmp):
    """SIGTERM while events wait in the channel: they are logged before the
    agent exits 0, and the control socket is removed."""
    port = free_port()
    conf = (f"a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n"
            f"a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n"
            f"a1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\n"
            f"a1.channels.c1.transactionCapacity = 100\n"
            f"a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n")
    ag = Agent(tmp, conf, tag="term")
    n = 500
    try:
        check(ag.wait_tcp(port), "SIGTERM agent listens")
        lines = [f"term-{i:04d}".encode() for i in range(n)]
        got = send_lines(port, b"".join(x + b"\n" for x in lines), n)
        check(got == b"OK\n" * n, "every line acknowledged before SIGTERM")
    finally:
        rc = ag.stop(signal.SIGTERM)
    check(rc == 0, f"SIGTERM: exit 0 (got {rc})")
    check(ag.logger_events() == [flume_dump(x) for x in lines],
          f"every acknowledged line was logged before exit "
          f"({len(ag.logger_events())} of {n})")
    check(not os.path.exists(ag.sock), "the control socket is removed")


def durable_acks(tmp):
    """With the durable file channel an OK means the event is synced: the
    source waits for the channel's acknowledgement (its eventfd) before
    replying, for many connections at once, and every OK'd line arrives."""
    port = free_port()
    conf = (f"a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n"
            f"a1.sources.r1.port = {port}\na1.sources.r1.channels = c1\n"
            f"a1.channels.c1.type = file\n"
            f"a1.channels.c1.checkpointDir = {tmp}/ck\n"
            f"a1.channels.c1.dataDirs = {tmp}/data\n"
            f"a1.channels.c1.maxFileSize = 16777216\n"
            f"a1.channels.c1.minimumRequiredSpace = 0\n"
            f"a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n")
    ag = Agent(tmp, conf, tag="durable")
    nb_conns, n = 20, 50
    try:
        check(ag.wait_tcp(port), "durable agent listens")
        socks = [socket.create_connection(("127.0.0.1", port), 30)
                 for _ in range(nb_conns)]
        for k, c in enumerate(socks):
            c.sendall(b"".join(f"d{k:02d}-{i:03d}\n".encode()
                               for i in range(n)))
        for k, c in enumerate(socks):
            data, _ = recv_until(c, lambda d: d.count(b"\n") >= n)
            check(data == b"OK\n" * n, f"conn {k}: {n} OKs after the "
                  f"channel's acknowledgement (got {data[:40]!r})")
            c.close()
        total = nb_conns * n
        wait_for(lambda: len(ag.logger_events()) >= total)
        got = ag.logger_events()
        for k in range(nb_conns):
            mine = [e for e in got if f" d{k:02d}-" in e]
            check(mine == [flume_dump(f"d{k:02d}-{i:03d}".encode())
                           for i in range(n)],
                  f"conn {k}: its lines arrive once, in order")
        src = ag.stats()["SOURCE.r1"]
        check(src["EventAcceptedCount"] == str(total),
              f"accepted {src['EventAcceptedCount']} == {total}")
        names = set()
        for t in os.listdir(f"/proc/{ag.proc.pid}/task"):
            with open(f"/proc/{ag.proc.pid}/task/{t}/comm") as f:
                names.add(f.read().strip())
        check({"src:r1", "chan:c1", "sink:k1"} <= names,
              f"the source, channel writer and sink threads are named "
              f"for top -H and perf (got {sorted(names)})")
    finally:
        rc = ag.stop()
    check(rc == 0, f"durable agent exits 0 (got {rc})")


def replicating(tmp):
    """Two channels (Flume's replicating selector): every line reaches both
    sinks, each in order, and both channels count every put. Over IPv6
    loopback when the machine has it, to cover that listener too."""
    port = free_port()
    v6 = socket.has_ipv6
    if v6:
        try:
            with socket.socket(socket.AF_INET6) as probe:
                probe.bind(("::1", 0))
        except OSError:
            v6 = False
    host = "::1" if v6 else "127.0.0.1"
    conf = (f"a1.sources = r1\na1.channels = c1 c2\na1.sinks = k1 k2\n"
            f"a1.sources.r1.type = netcat\na1.sources.r1.bind = {host}\n"
            f"a1.sources.r1.port = {port}\na1.sources.r1.channels = c1 c2\n"
            f"a1.sources.r1.selector.type = replicating\n"
            f"a1.channels.c1.type = memory\na1.channels.c2.type = memory\n"
            f"a1.channels.c1.capacity = 1000\n"
            f"a1.channels.c2.capacity = 1000\n"
            f"a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n"
            f"a1.sinks.k2.type = logger\na1.sinks.k2.channel = c2\n")
    ag = Agent(tmp, conf, tag="repl")
    n = 200
    try:
        ok = wait_for(lambda: "listening on" in ag.log() or
                      ag.proc.poll() is not None)
        check(ok and ag.proc.poll() is None, f"replicating agent listens "
              f"on {host}")
        lines = [f"both-{i:03d}".encode() for i in range(n)]
        with socket.create_connection((host, port), 30) as c:
            c.sendall(b"".join(x + b"\n" for x in lines))
            data, _ = recv_until(c, lambda d: d.count(b"\n") >= n)
        check(data == b"OK\n" * n, "one OK per line with two channels")
        want = [flume_dump(x) for x in lines]
        wait_for(lambda: len(ag.logger_events()) >= 2 * n)
        for k in ("k1", "k2"):
            got = [line[line.index("Event: "):]
                   for line in ag.log().splitlines()
                   if f"sink logger {k}: Event: " in line]
            check(got == want, f"sink {k} got every line in order "
                  f"({len(got)} of {n})")
        st = ag.stats()
        for c in ("CHANNEL.c1", "CHANNEL.c2"):
            check(st[c]["EventPutSuccessCount"] == str(n),
                  f"{c} put success {st[c]['EventPutSuccessCount']}")
        check(st["SOURCE.r1"]["EventAcceptedCount"] == str(n),
              "accepted once per line, not once per channel")
    finally:
        rc = ag.stop()
    check(rc == 0, f"replicating agent exits 0 (got {rc})")


def send_then_stop(ag, port, lines, counter, what):
    """Send @lines on one connection, wait until the source's @counter is
    above 0 (@what), SIGTERM the agent; the totals its source logged."""
    c = None
    try:
        check(ag.wait_tcp(port), f"{ag.tag} agent listens")
        c = socket.create_connection(("127.0.0.1", port), 30)
        c.sendall(b"".join(x + b"\n" for x in lines))
        check(wait_for(lambda: ag.counter("SOURCE.r1", counter) > 0), what)
    finally:
        rc = ag.stop()
        if c:
            c.close()
    check(rc == 0, f"SIGTERM: exit 0 (got {rc})")
    tot = ag.stopped_totals()
    check(tot is not None, "the source logs its totals when it stops")
    return tot


def stop_accounting(tmp):
    """SIGTERM while the source is throttled by a full channel: what it had
    received is still put during the stop's grace period, and whatever is
    left (held, or still in the kernel's socket buffer) is counted as
    drop_source_stopped in the source's closing line: every line sent is
    either logged or counted, none vanishes."""
    port = free_port()
    conf = throttled_conf(port, 1)
    ag = Agent(tmp, conf, tag="stopacct")
    n = 2000                    # 32 KB: all of it fits the socket buffers
    lines = [f"stop-acct-{i:05d}".encode() for i in range(n)]
    tot = send_then_stop(ag, port, lines, "ChannelWriteFail",
                         "the source is throttled by the full channel")
    if not tot:
        return
    received = tot["EventReceivedCount"]
    stopped = tot.get("drop_source_stopped", 0)
    check(tot["EventAcceptedCount"] == received,
          f"every received line was put: {tot}")
    check("drop_unterminated_tail" not in tot, f"no partial line: {tot}")
    check(received + stopped == n, f"received {received} + counted at stop "
          f"{stopped} == {n} sent")
    got = ag.logger_events()
    check(got == [flume_dump(x) for x in lines[:received]],
          f"the {received} received lines were all logged, in order "
          f"({len(got)} logged)")
    print(f"stop_accounting: {received} put, {stopped} counted at stop",
          flush=True)


def stop_counts_held_buffers(tmp):
    """SIGTERM while a connection holds what it received in its receive
    buffer (a channel no sink drains, so it never has room): after the
    grace period every line of that buffer is counted as
    drop_source_stopped, none vanishes."""
    port = free_port()
    conf = throttled_conf(port, 10, sink=False)
    ag = Agent(tmp, conf, tag="stopheld")
    n = 3000                    # 33 KB: one receive buffer
    lines = [f"line-{i:05d}".encode() for i in range(n)]
    tot = send_then_stop(ag, port, lines, "held_inplace_bytes",
                         "the paused connection holds its buffer")
    if not tot:
        return
    received = tot["EventReceivedCount"]
    stopped = tot.get("drop_source_stopped", 0)
    check(received + stopped == n and stopped > 0,
          f"received {received} + counted at stop {stopped} == {n} sent, "
          f"the held ones among them: {tot}")
    print(f"stop_counts_held_buffers: {received} put, {stopped} counted at "
          f"stop", flush=True)


with tempfile.TemporaryDirectory() as tmp:
    for part in (stop_accounting, stop_counts_held_buffers, seed_lines,
                 edge_cases, channel_full_with_acks,
                 channel_full_backpressure, many_paused_connections,
                 sigterm_drains, durable_acks, replicating):
        print(f"-- {part.__name__}", flush=True)
        sub = os.path.join(tmp, part.__name__)
        os.mkdir(sub)
        part(sub)
check.finish()
