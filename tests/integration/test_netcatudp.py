#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The netcatudp source: one event per datagram, the body up to the first
newline, the sender in a header ("/ip:port" as Flume prints it) named by
remoteAddressHeader, by Flume's code name remoteAddress, or REMOTE_ADDRESS
by default; an over-size datagram is a counted drop; a full channel is a
counted drop (UDP has no backpressure) and the counters add up exactly.
Runs with the multishot recvmsg path and with the one-shot fallback."""
import os
import re
import signal
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netcat_util import (Agent, Checks, flume_dump, free_port,  # noqa: E402
                         wait_for)

check = Checks("test_netcatudp")


def ipv6_ok():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def udp_sender():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s, f"/127.0.0.1:{s.getsockname()[1]}"


def wait_received(ag, comp, n):
    wait_for(lambda: ag.counter(comp, "EventReceivedCount") +
             ag.counter(comp, "drop_dgram_truncated") >= n)


def udp_conf(port, capacity=100000, txcap=1000, sink="null"):
    """Agent a1: netcatudp r1 on 127.0.0.1:@port -> memory c1 -> @sink k1
    (a null sink takes 1000 events at a time)."""
    return (f"a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = netcatudp\n"
            f"a1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {port}\n"
            f"a1.sources.r1.channels = c1\n"
            f"a1.channels.c1.type = memory\n"
            f"a1.channels.c1.capacity = {capacity}\n"
            f"a1.channels.c1.transactionCapacity = {txcap}\n"
            f"a1.sinks.k1.type = {sink}\na1.sinks.k1.channel = c1\n" +
            ("a1.sinks.k1.batchSize = 1000\n" if sink == "null" else ""))


def basics(tmp, recv_mode=None):
    p1, p2, p3, p4 = (free_port(socket.SOCK_DGRAM) for _ in range(4))
    v6 = ipv6_ok()
    conf = (f"a1.sources = r1 r2 r3{' r4' if v6 else ''}\n"
            f"a1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = netcatudp\n"
            f"a1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = {p1}\n"
            f"a1.sources.r1.remoteAddressHeader = sender\n"
            f"a1.sources.r1.max-datagram-size = 64\n"
            f"a1.sources.r1.channels = c1\n"
            f"a1.sources.r2.type = org.apache.flume.source.NetcatUdpSource\n"
            f"a1.sources.r2.bind = 127.0.0.1\na1.sources.r2.port = {p2}\n"
            f"a1.sources.r2.remoteAddress = peer\n"
            f"a1.sources.r2.channels = c1\n"
            f"a1.sources.r3.type = NETCATUDP\n"
            f"a1.sources.r3.bind = 127.0.0.1\na1.sources.r3.port = {p3}\n"
            f"a1.sources.r3.channels = c1\n"
            f"a1.channels.c1.type = memory\n"
            f"a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n"
            f"a1.sinks.k1.maxBytesToLog = 64\n")
    if v6:
        conf += (f"a1.sources.r4.type = netcatudp\n"
                 f"a1.sources.r4.bind = ::1\na1.sources.r4.port = {p4}\n"
                 f"a1.sources.r4.channels = c1\n")
    env = {"SLUICE_NETCAT_RECV": recv_mode} if recv_mode else {}
    ag = Agent(tmp, conf, tag="udp", env=env)
    s, me = udp_sender()
    try:
        check(ag.wait_ctl(), "udp agent up")
        want_mode = "plain" if recv_mode else "multishot"
        check(wait_for(lambda: f"io_uring, {want_mode} recvmsg" in ag.log()),
              f"reads with {want_mode} recvmsg")
        grams = [b"hello udp", b"line one\nignored rest\n", b"\n", b"",
                 b"nul\x00inside\r", b"x" * 64]
        bodies = [b"hello udp", b"line one", b"", b"", b"nul\x00inside\r",
                  b"x" * 64]
        want = []
        for g, b in zip(grams, bodies):
            s.sendto(g, ("127.0.0.1", p1))
            want.append(flume_dump(b, {"sender": me}, 64))
            # One at a time: the log order is then the send order.
            wait_for(lambda: len(ag.logger_events()) >= len(want))
        s.sendto(b"y" * 65, ("127.0.0.1", p1))      # one over: dropped
        wait_received(ag, "SOURCE.r1", len(grams) + 1)
        s.sendto(b"via alias\n", ("127.0.0.1", p2))
        want.append(flume_dump(b"via alias", {"peer": me}, 64))
        wait_for(lambda: len(ag.logger_events()) >= len(want))
        s.sendto(b"default header", ("127.0.0.1", p3))
        want.append(flume_dump(b"default header", {"REMOTE_ADDRESS": me},
                               64))
        wait_for(lambda: len(ag.logger_events()) >= len(want))
        if v6:
            # Java prints IPv6 senders as eight uncompressed groups.
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s6:
                s6.bind(("::1", 0))
                s6.sendto(b"over ipv6", ("::1", p4))
                want.append(flume_dump(
                    b"over ipv6", {"REMOTE_ADDRESS": "/0:0:0:0:0:0:0:1:"
                                   f"{s6.getsockname()[1]}"}, 64))
                wait_for(lambda: len(ag.logger_events()) >= len(want))
        check(ag.logger_events() == want,
              "events match Flume's format:\n  got  " +
              "\n       ".join(ag.logger_events()) + "\n  want " +
              "\n       ".join(want))
        r1 = ag.stats()["SOURCE.r1"]
        check(r1["EventReceivedCount"] == str(len(grams)) and
              r1["EventAcceptedCount"] == str(len(grams)),
              f"r1 counters: {r1}")
        check(r1["sluice"]["drop_dgram_truncated"] == "1" and
              r1["EventReadFail"] == "1",
              f"the over-size datagram is counted: {r1}")
        check(r1["sluice"]["rx_bytes"] ==
              str(sum(map(len, grams)) + 65), f"rx_bytes: {r1}")
        check("remoteAddress is deprecated, use remoteAddressHeader"
              in ag.log(), "Flume's code name remoteAddress is accepted "
              "and points at the documented name")
    finally:
        s.close()
        rc = ag.stop()
    check(rc == 0, f"udp agent exits 0 (got {rc})")


def channel_full(tmp):
    """capacity 5: bursts of datagrams overflow it; each refused datagram
    is a counted drop and everything adds up."""
    port = free_port(socket.SOCK_DGRAM)
    conf = udp_conf(port, capacity=5, txcap=5, sink="logger")
    ag = Agent(tmp, conf, tag="full")
    s, me = udp_sender()
    sent = 0
    try:
        check(ag.wait_ctl(), "full agent up")
        for burst in range(20):
            # 50 at a time, then wait until the source has seen them all,
            # so the kernel's socket buffer never overflows.
            for i in range(50):
                s.sendto(f"b{burst:02d}-{i:02d}".encode(),
                         ("127.0.0.1", port))
            sent += 50
            wait_received(ag, "SOURCE.r1", sent)
            if ag.counter("SOURCE.r1", "drop_channel_full") > 0:
                break
        wait_for(lambda: ag.stats()["CHANNEL.c1"]["ChannelSize"] == "0")
        src = ag.stats()["SOURCE.r1"]
        check("ring_depth_bytes" in src["sluice"],
              f"the source shows its ring depth: {src['sluice']}")
        wait_for(lambda: ag.counter("SOURCE.r1", "ring_depth_bytes") == 0)
        check(ag.counter("SOURCE.r1", "ring_depth_bytes") == 0,
              "ring depth 0 once the sink drained the channel")
        rec = int(src["EventReceivedCount"])
        acc = int(src["EventAcceptedCount"])
        full = int(src["sluice"]["drop_channel_full"])
        check(rec == sent, f"every datagram received ({rec} of {sent})")
        check(full > 0, "the channel refused datagrams at capacity 5")
        check(acc + full == rec, f"accepted {acc} + dropped {full} == "
              f"received {rec}")
        check(int(src["ChannelWriteFail"]) == full,
              f"ChannelWriteFail {src['ChannelWriteFail']} == {full}")
        ch = ag.stats()["CHANNEL.c1"]
        check(ch["EventPutSuccessCount"] == str(acc),
              f"channel put success {ch['EventPutSuccessCount']} == {acc}")
        wait_for(lambda: len(ag.logger_events()) >= acc)
        check(len(ag.logger_events()) == acc,
              f"{len(ag.logger_events())} events logged, {acc} accepted")
        check(all(f"REMOTE_ADDRESS={me}" in e for e in ag.logger_events()),
              "each event carries its sender")
    finally:
        s.close()
        rc = ag.stop()
    check(rc == 0, f"full agent exits 0 (got {rc})")


def socket_overflow(tmp, recv_mode=None):
    """Datagrams the kernel drops because the agent did not read in time
    (here: the agent is stopped with SIGSTOP during a burst) are counted
    from SO_RXQ_OVFL: received + drop_socket_overflow == sent, exactly."""
    port = free_port(socket.SOCK_DGRAM)
    conf = udp_conf(port)
    env = {"SLUICE_NETCAT_RECV": recv_mode} if recv_mode else {}
    ag = Agent(tmp, conf, tag="ovfl", env=env)
    s, _ = udp_sender()
    n = 20000
    try:
        check(ag.wait_ctl(), "overflow agent up")
        os.kill(ag.proc.pid, signal.SIGSTOP)
        try:
            for i in range(n):
                s.sendto(b"o%07d" % i + b"." * 200, ("127.0.0.1", port))
        finally:
            os.kill(ag.proc.pid, signal.SIGCONT)
        # The kernel reports its drop count with the next datagram read.
        wait_for(lambda: ag.counter("SOURCE.r1", "EventReceivedCount") > 0)
        s.sendto(b"marker", ("127.0.0.1", port))
        n += 1

        def settled():
            src = ag.stats()["SOURCE.r1"]
            return (int(src["EventReceivedCount"]) +
                    int(src["sluice"]["drop_socket_overflow"]) >= n)
        wait_for(settled)
        src = ag.stats()["SOURCE.r1"]
        rec = int(src["EventReceivedCount"])
        ovfl = int(src["sluice"]["drop_socket_overflow"])
        check(ovfl > 0, "the stopped agent's socket overflowed")
        check(rec + ovfl == n, f"received {rec} + kernel drops {ovfl} == "
              f"sent {n} ({recv_mode or 'multishot'})")
        print(f"socket_overflow: {rec} received, {ovfl} dropped by the "
              f"kernel and counted", flush=True)
    finally:
        s.close()
        rc = ag.stop()
    check(rc == 0, f"overflow agent exits 0 (got {rc})")


def kernel_socket_drops(pid, port):
    """The kernel's drop count (last column of /proc/PID/net/udp) of the
    UDP socket that process @pid holds bound to 127.0.0.1:@port, found by
    its inode among the process's fds; None if there is none."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    want = f"0100007F:{port:04X}"
    with open(f"/proc/{pid}/net/udp") as f:
        for line in f:
            fields = line.split()
            if (len(fields) > 12 and fields[1] == want and
                    fields[9] in inodes):
                return int(fields[-1])
    return None


def socket_drops_timely(tmp, recv_mode=None):
    """A burst overflows the socket buffer (agent SIGSTOP'd), then nothing
    more is sent and the agent keeps running: within a bounded poll the
    source's drop_socket_overflow equals the kernel's drop count for its
    socket (/proc/PID/net/udp) and received + dropped == sent, exactly,
    with no later datagram to carry SO_RXQ_OVFL."""
    port = free_port(socket.SOCK_DGRAM)
    conf = udp_conf(port)
    env = {"SLUICE_NETCAT_RECV": recv_mode} if recv_mode else {}
    ag = Agent(tmp, conf, tag="timely", env=env)
    s, _ = udp_sender()
    n = 20000
    mode = recv_mode or "multishot"
    try:
        check(ag.wait_ctl(), "timely agent up")
        check(kernel_socket_drops(ag.proc.pid, port) == 0,
              "the agent's socket is in /proc/PID/net/udp, no drops yet")
        os.kill(ag.proc.pid, signal.SIGSTOP)
        try:
            for i in range(n):
                s.sendto(b"t%07d" % i + b"." * 200, ("127.0.0.1", port))
        finally:
            os.kill(ag.proc.pid, signal.SIGCONT)
        # Nothing more is sent: the drops at the end of the burst must be
        # counted without a later datagram.
        seen = {}

        def agrees():
            src = ag.stats()["SOURCE.r1"]
            seen["rec"] = int(src["EventReceivedCount"])
            seen["ovfl"] = int(src["sluice"]["drop_socket_overflow"])
            seen["kern"] = kernel_socket_drops(ag.proc.pid, port)
            return (seen["ovfl"] == seen["kern"] and
                    seen["rec"] + seen["ovfl"] == n)
        wait_for(agrees)
        rec, ovfl, kern = seen["rec"], seen["ovfl"], seen["kern"]
        check(kern is not None and kern > 0,
              f"the kernel dropped datagrams on the socket ({kern}, {mode})")
        check(ovfl == kern, f"drop_socket_overflow {ovfl} == the kernel's "
              f"count {kern} for the socket, agent running ({mode})")
        check(rec + ovfl == n, f"received {rec} + drop_socket_overflow "
              f"{ovfl} == sent {n}, agent running ({mode})")
        print(f"socket_drops_timely ({mode}): {rec} received, {ovfl} "
              f"counted, kernel {kern}", flush=True)
    finally:
        s.close()
        rc = ag.stop()
    check(rc == 0, f"timely agent exits 0 (got {rc})")
    m = re.search(r"ran out of its \d+ buffers \d+ times", ag.log())
    if m:
        print(f"  multishot {m.group(0)}; counters still add up", flush=True)


def stop_accounting(tmp):
    """SIGTERM right after a burst: every datagram sent is an event, a
    kernel drop (drop_socket_overflow) or counted at stop
    (drop_source_stopped) in the source's closing line."""
    port = free_port(socket.SOCK_DGRAM)
    conf = udp_conf(port)
    ag = Agent(tmp, conf, tag="ustop")
    s, _ = udp_sender()
    n = 20000
    try:
        check(ag.wait_ctl(), "udp stop agent up")
        os.kill(ag.proc.pid, signal.SIGSTOP)
        try:
            for i in range(n):
                s.sendto(b"s%07d" % i + b"." * 200, ("127.0.0.1", port))
        finally:
            os.kill(ag.proc.pid, signal.SIGCONT)
    finally:
        s.close()
        rc = ag.stop()
    check(rc == 0, f"udp stop agent exits 0 (got {rc})")
    tot = ag.stopped_totals("netcatudp")
    check(tot is not None, "the source logs its totals when it stops")
    if not tot:
        return
    rec = tot["EventReceivedCount"]
    ovfl = tot.get("drop_socket_overflow", 0)
    stopped = tot.get("drop_source_stopped", 0)
    check(rec == tot["EventAcceptedCount"], f"all received put: {tot}")
    check(rec + ovfl + stopped == n, f"received {rec} + kernel drops {ovfl} "
          f"+ counted at stop {stopped} == sent {n}")
    print(f"udp stop_accounting: {rec} put, {ovfl} kernel drops, {stopped} "
          f"counted at stop", flush=True)


with tempfile.TemporaryDirectory() as tmp:
    for name, part in (("stop_accounting", stop_accounting),
                       ("overflow", socket_overflow),
                       ("overflow-plain",
                        lambda t: socket_overflow(t, "plain")),
                       ("drops_timely", socket_drops_timely),
                       ("drops_timely-plain",
                        lambda t: socket_drops_timely(t, "plain")),
                       ("basics", basics),
                       ("basics-plain", lambda t: basics(t, "plain")),
                       ("channel_full", channel_full)):
        print(f"-- {name}", flush=True)
        sub = os.path.join(tmp, name)
        os.mkdir(sub)
        part(sub)
check.finish()
