#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The DPDK dataplane on a veth pair: the test makes a network namespace and
a veth pair, gives the dataplane one end through net_af_packet with
--no-huge --no-pci (the kernel side of that end carries no IP address: the
dataplane owns 10.77.x.5), and uses the kernel's own TCP/UDP clients inside
the namespace as senders. Checked: ARP and ICMP echo, the seed's lines over
TCP get OK and reach the logger sink byte-exact, many 1 KiB lines over 8
connections arrive complete and in order per connection, UDP datagrams
(one of them IP-fragmented) are one event each, a small channel with
ack-every-event = false closes the TCP window and loses nothing, the
counters of `ctl stats` (source, dataplane) add up, and with the Kafka
sink (`sluice kafka-mock` as the cluster) every line ends in the topic.

Skips (77) without root, ip/ethtool, network namespaces or DPDK in the
build. SLUICE_DPDK_LINES sets the load size (default 20000 lines; `make
soak` runs 100000)."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netcat_util import Agent, Checks, flume_dump, wait_for  # noqa: E402

SKIP = 77
check = Checks("test_dpdk_netcat")
LINES = int(os.environ.get("SLUICE_DPDK_LINES", "20000"))
NCONN = 8
LINE_LEN = 1024                 # bytes with the newline
TAG = f"{os.getpid() % 100000}"
NS = f"sldp{TAG}"
HOST_IF = f"sldp{TAG}a"         # the dataplane's end (no IP)
NS_IF = f"sldp{TAG}b"           # the namespace's end
PEER_IP = "10.77.0.1"
DP_IP = "10.77.0.5"


def sh(*args, check_rc=True, ns=False, **kw):
    cmd = (["ip", "netns", "exec", NS] if ns else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r


def skip(why):
    print(f"SKIP: {why}")
    raise SystemExit(SKIP)


def net_up():
    if os.geteuid() != 0:
        skip("needs root (network namespaces, veth, af_packet)")
    for tool in ("ip", "ethtool"):
        if not shutil.which(tool):
            skip(f"needs {tool}")
    r = sh("ip", "netns", "add", NS, check_rc=False)
    if r.returncode != 0:
        skip(f"cannot create a network namespace: {r.stderr.strip()}")
    sh("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF)
    sh("ip", "link", "set", NS_IF, "netns", NS)
    for args in (("sysctl", "-qw", f"net.ipv6.conf.{HOST_IF}.disable_ipv6=1"),
                 ("ip", "link", "set", HOST_IF, "up")):
        sh(*args, check_rc=False)
    sh("ip", "link", "set", "lo", "up", ns=True)
    sh("ip", "link", "set", NS_IF, "up", ns=True)
    sh("ip", "addr", "add", f"{PEER_IP}/24", "dev", NS_IF, ns=True)
    # The namespace's kernel must put real checksums and MTU-sized frames
    # on the wire: a veth would hand af_packet partial checksums and
    # 64 KiB TSO frames otherwise.
    sh("ethtool", "-K", NS_IF, "tx", "off", "tso", "off", "gso", "off",
       ns=True, check_rc=False)


def net_down():
    sh("ip", "link", "del", HOST_IF, check_rc=False)
    sh("ip", "netns", "del", NS, check_rc=False)


def conf(tcp_port, udp_port, extra="", capacity=200000, ack=True,
         sink="logger", max_bytes=16):
    return (
        "a1.sources = r1 u1\na1.channels = c1\na1.sinks = k1\n"
        "a1.dataplane.type = dpdk\n"
        "a1.dataplane.eal = -l 0-1 --no-huge -m 256 --no-pci "
        f"--vdev=net_af_packet0,iface={HOST_IF},blocksz=16384,"
        "framesz=16384,framecnt=256\n"
        "a1.dataplane.ports = p0\n"
        "a1.dataplane.ports.p0.device = net_af_packet0\n"
        f"a1.dataplane.ports.p0.address = {DP_IP}/24\n"
        f"a1.dataplane.ports.p0.gateway = {PEER_IP}\n"
        "a1.dataplane.ports.p0.mbufSize = 16512\n"
        "a1.dataplane.maxConnections = 256\n"
        "a1.dataplane.idleSleepUs = 50\n"
        "a1.sources.r1.type = netcat\n"
        f"a1.sources.r1.bind = {DP_IP}\na1.sources.r1.port = {tcp_port}\n"
        "a1.sources.r1.max-line-length = 2048\n"
        f"a1.sources.r1.ack-every-event = {'true' if ack else 'false'}\n"
        "a1.sources.r1.channels = c1\n"
        "a1.sources.u1.type = netcatudp\n"
        f"a1.sources.u1.bind = {DP_IP}\na1.sources.u1.port = {udp_port}\n"
        "a1.sources.u1.channels = c1\n"
        f"a1.channels.c1.type = memory\na1.channels.c1.capacity = {capacity}\n"
        f"a1.channels.c1.transactionCapacity = {min(1000, capacity)}\n"
        f"a1.sinks.k1.type = {sink}\na1.sinks.k1.channel = c1\n"
        + (f"a1.sinks.k1.maxBytesToLog = {max_bytes}\n"
           if sink == "logger" else "") + extra)


# The clients run inside the namespace: this same file, as a subprocess.
CLIENT = os.path.abspath(__file__)


def client(*args, timeout=300):
    r = sh(sys.executable, CLIENT, "client", *map(str, args), ns=True,
           check_rc=False, timeout=timeout)
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-2000:]}
    return json.loads(r.stdout)


def line_of(conn, seq, size=LINE_LEN):
    head = f"c{conn:02d} s{seq:08d} ".encode()
    fill = bytes(((conn * 131 + seq * 7 + i) % 26) + 97
                 for i in range(size - 1 - len(head)))
    return head + fill + b"\n"


def client_main(argv):
    """Inside the namespace: kernel TCP/UDP senders."""
    mode = argv[0]
    if mode == "tcp-lines":
        # port, payload hex: one connection, read one reply per line
        port, payload = int(argv[1]), bytes.fromhex(argv[2])
        n = payload.count(b"\n")
        with socket.create_connection((DP_IP, port), 30) as c:
            c.sendall(payload)
            c.shutdown(socket.SHUT_WR)
            c.settimeout(60)
            data = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
        print(json.dumps({"replies": data.decode("latin-1"), "n": n}))
    elif mode == "tcp-load":
        # port, conns, lines per conn, ack: send, count OK replies
        port, nconn, per, ack = map(int, argv[1:5])
        import threading
        res = {}

        def one(k):
            c = socket.create_connection((DP_IP, port), 60)
            c.settimeout(120)
            got = bytearray()

            def reader():
                try:
                    while True:
                        chunk = c.recv(65536)
                        if not chunk:
                            break
                        got.extend(chunk)
                except OSError:
                    pass
            t = threading.Thread(target=reader)
            t.start()
            buf = b"".join(line_of(k, s) for s in range(per))
            c.sendall(buf)
            c.shutdown(socket.SHUT_WR)
            t.join(300)
            c.close()
            res[k] = bytes(got)
        ts = [threading.Thread(target=one, args=(k,)) for k in range(nconn)]
        t0 = time.monotonic()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        dt = time.monotonic() - t0
        oks = {k: v.count(b"OK\n") for k, v in res.items()}
        other = {k: len(v) - 3 * oks[k] for k, v in res.items()}
        print(json.dumps({"oks": oks, "other": other, "secs": dt}))
    elif mode == "udp":
        port, count, size = map(int, argv[1:4])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(count):
                body = f"u{i:06d} ".encode()
                body += b"x" * (size - len(body) - 1) + b"\n"
                s.sendto(body, (DP_IP, port))
                if i % 50 == 49:
                    time.sleep(0.005)   # stay within the af_packet ring
        print(json.dumps({"sent": count}))
    else:
        raise SystemExit(f"unknown client mode {mode}")


def udp_event_ok(ev, body, sender):
    """A logger line for a datagram: Flume's header with the sender
    ("/ip:port"), then the body as Flume prints it."""
    tail = flume_dump(body)[len("Event: { headers:{} "):]
    return (ev.startswith("Event: { headers:{REMOTE_ADDRESS=/" + sender +
                          ":") and ev.endswith("} " + tail))


def dp_stats(ag):
    st = ag.stats()
    return st.get("DATAPLANE.dpdk", {}).get("sluice", {})


def dp_sum(ag, name):
    return sum(int(v) for k, v in dp_stats(ag).items()
               if k.startswith("lcore") and k.endswith("." + name))


def start_agent(tmp, text, tag):
    ag = Agent(tmp, text, tag=tag)
    ok = wait_for(lambda: ag.proc.poll() is not None or
                  "agent a1: started" in ag.log(), timeout=120)
    if ag.proc.poll() is not None:
        log = ag.log()
        ag.kill()
        if "built without DPDK" in log:
            skip("sluice was built without DPDK")
        if "EAL initialisation failed" in log or "no DPDK device" in log:
            skip("DPDK EAL/af_packet unusable here: " +
                 log.strip().splitlines()[-1])
        print(log[-3000:])
        check(False, f"agent {tag} did not start")
        return None
    check(ok, f"agent {tag} started")
    return ag


def telemetry_check(ag):
    """DPDK's own telemetry socket answers beside sluice's control socket
    (the EAL's runtime directory is /var/run/dpdk/sluice-PID as root)."""
    path = f"/var/run/dpdk/sluice-{ag.proc.pid}/dpdk_telemetry.v2"
    check(os.path.exists(path), f"DPDK's telemetry socket exists: {path}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(30)
        s.connect(path)
        hello = json.loads(s.recv(16384))
        check(hello.get("pid") == ag.proc.pid,
              f"telemetry greets with the agent's pid: {hello}")
        s.send(b"/ethdev/list")
        ports = json.loads(s.recv(16384))
        check(ports.get("/ethdev/list") == [0],
              f"telemetry lists the dataplane's port: {ports}")
        s.send(b"/ethdev/stats,0")
        st = json.loads(s.recv(65536)).get("/ethdev/stats", {})
        check(st.get("ipackets", 0) > 0,
              f"telemetry's port counters move with the traffic: {st}")


def test_basic(tmp):
    tcp_port, udp_port = 4141, 5140
    ag = start_agent(tmp, conf(tcp_port, udp_port), "basic")
    if not ag:
        return
    try:
        sh("ip", "neigh", "flush", "dev", NS_IF, ns=True, check_rc=False)
        r = sh("ping", "-c", "3", "-i", "0.2", "-W", "5", DP_IP, ns=True,
               check_rc=False)
        check(r.returncode == 0, f"ICMP echo answered (ARP first): "
              f"{r.stdout[-200:]}")
        # The seed's lines, as telnet sends them (CRLF kept in the body).
        lines = [b"Hello Flume!\r\n", b"Test message from telnet\r\n",
                 b"plain newline\n", b"\n", "中文 UTF-8 ok\n".encode()]
        res = client("tcp-lines", tcp_port, b"".join(lines).hex())
        check(res.get("replies") == "OK\n" * len(lines),
              f"one OK per seed line over the dataplane: {res}")
        want = [flume_dump(line[:-1]) for line in lines]
        wait_for(lambda: len(ag.logger_events()) >= len(want))
        check(ag.logger_events() == want, "logger lines match:\n  "
              + "\n  ".join(ag.logger_events()))
        # EOF mid-line: the tail is discarded and counted.
        res = client("tcp-lines", tcp_port, b"done\npartial".hex())
        check(res.get("replies") == "OK\n", f"EOF mid-line: {res}")
        wait_for(lambda: ag.counter("SOURCE.r1",
                                    "drop_unterminated_tail") >= 1)
        check(ag.counter("SOURCE.r1", "drop_unterminated_tail") == 1,
              "unterminated tail counted once")
        # UDP: one datagram, one event; a 4000-byte one is IP-fragmented
        # by the sender (net_af_packet's kernel fanout reassembles it
        # before DPDK: it arrives as one 4 KiB frame, a chained mbuf).
        n0 = len(ag.logger_events())
        res = client("udp", udp_port, 20, 100)
        res2 = client("udp", udp_port, 1, 4000)
        check(res.get("sent") == 20 and res2.get("sent") == 1,
              f"udp sent: {res} {res2}")
        wait_for(lambda: len(ag.logger_events()) >= n0 + 21)
        evs = ag.logger_events()[n0:]
        check(len(evs) == 21, f"21 UDP events (got {len(evs)})")
        check(all(udp_event_ok(evs[i], b"u%06d " % i + b"x" * 91,
                               PEER_IP) for i in range(20)),
              f"UDP events carry the sender and the body: {evs[:2]}")
        check(udp_event_ok(evs[-1], b"u000000 " + b"x" * 3991, PEER_IP),
              f"the 4000-byte datagram is one event: {evs[-1]}")
        st = ag.stats()
        check(st["SOURCE.u1"]["EventAcceptedCount"] == "21",
              f"UDP source counters: {st['SOURCE.u1']}")
        check(st["SOURCE.r1"]["EventAcceptedCount"] == str(len(lines) + 1),
              f"TCP source counters: {st['SOURCE.r1']}")
        check(dp_sum(ag, "arp_replies") >= 1 and
              dp_sum(ag, "icmp_echo_replies") == 3,
              f"ARP and ICMP counted: {dp_stats(ag)}")
        check(dp_sum(ag, "drop_bad_csum") == 0,
              f"no checksum failures: {dp_stats(ag)}")
        text = subprocess.run([os.environ["SLUICE"], "ctl", "--socket",
                               ag.sock, "stats"], capture_output=True,
                              text=True, timeout=60).stdout
        check("# DATAPLANE dpdk" in text and "lcore1.rx_pkts" in text,
              "ctl stats shows the dataplane section")
        telemetry_check(ag)
    finally:
        rc = ag.stop()
    check(rc == 0, f"SIGTERM stops the dataplane agent with 0 (got {rc})")


def test_load(tmp):
    """LINES 1 KiB lines over 8 connections: byte-exact and in order."""
    tcp_port, udp_port = 4142, 5141
    per = LINES // NCONN
    ag = start_agent(tmp, conf(tcp_port, udp_port, sink="logger",
                               max_bytes=LINE_LEN), "load")
    if not ag:
        return
    try:
        res = client("tcp-load", tcp_port, NCONN, per, 1, timeout=900)
        oks = res.get("oks", {})
        check(all(int(v) == per for v in oks.values()) and
              len(oks) == NCONN, f"every line got its OK: {res}")
        check(all(int(v) == 0 for v in res.get("other", {}).values()),
              f"no other replies: {res}")
        total = per * NCONN
        wait_for(lambda: ag.counter("SINK.k1", "EventDrainSuccessCount")
                 >= total, timeout=600)
        st = ag.stats()
        check(st["SOURCE.r1"]["EventAcceptedCount"] == str(total),
              f"accepted {total}: {st['SOURCE.r1']}")
        check(st["SINK.k1"]["EventDrainSuccessCount"] == str(total),
              f"drained {total}: {st['SINK.k1']}")
        # Ring depth per lcore: the gauge is there, and 0 once drained.
        depth = {k: v for k, v in dp_stats(ag).items()
                 if k.startswith("lcore") and
                 k.endswith(".ring_depth_bytes")}
        check(len(depth) >= 1, f"lcore ring depth gauge: {dp_stats(ag)}")
        wait_for(lambda: dp_sum(ag, "ring_depth_bytes") == 0)
        check(dp_sum(ag, "ring_depth_bytes") == 0,
              f"ring depth 0 once drained: {depth}")
        # Byte-exact and in order per connection: the logger shows whole
        # bodies (maxBytesToLog = 1024).
        seen = {k: 0 for k in range(NCONN)}
        bad = 0
        for ev in ag.logger_events():
            i = ev.find(" c")
            k = int(ev[i + 2:i + 4]) if i >= 0 else -1
            if k not in seen:
                bad += 1
                continue
            want = flume_dump(line_of(k, seen[k])[:-1], max_bytes=LINE_LEN)
            if ev != want:
                bad += 1
            seen[k] += 1
        check(bad == 0, f"{bad} events not byte-exact or out of order")
        check(all(v == per for v in seen.values()),
              f"every connection's lines arrived: {seen}")
        print(f"load: {total} lines of {LINE_LEN} B in "
              f"{res.get('secs', 0):.1f} s", flush=True)
    finally:
        rc = ag.stop()
    check(rc == 0, f"load agent stops with 0 (got {rc})")


def test_backpressure(tmp):
    """A channel of 5 events, ack-every-event = false: the window closes
    while the logger sink catches up, and every line arrives in order."""
    tcp_port, udp_port = 4143, 5142
    per = 1500
    ag = start_agent(tmp, conf(tcp_port, udp_port, capacity=5, ack=False,
                               max_bytes=LINE_LEN), "slow")
    if not ag:
        return
    try:
        res = client("tcp-load", tcp_port, 1, per, 0, timeout=900)
        check("error" not in res, f"sender finished: {res}")
        wait_for(lambda: ag.counter("SINK.k1", "EventDrainSuccessCount")
                 >= per, timeout=600)
        evs = ag.logger_events()
        want = [flume_dump(line_of(0, s)[:-1], max_bytes=LINE_LEN)
                for s in range(per)]
        check(evs == want, f"all {per} lines, in order, none lost "
              f"(got {len(evs)})")
        check(dp_sum(ag, "tcp_zero_windows") > 0,
              f"the window closed at least once: {dp_stats(ag)}")
        check(ag.counter("SOURCE.r1", "drop_channel_full") == 0,
              "nothing dropped for a full channel")
    finally:
        rc = ag.stop()
    check(rc == 0, f"slow agent stops with 0 (got {rc})")


def test_bad_settings(tmp):
    """Bad dataplane settings stop the agent with a clear message."""
    good = conf(4144, 5143)
    cases = [
        ("a1.dataplane.ports.p0.device = net_af_packet0",
         "a1.dataplane.ports.p0.device = net_af_packet7",
         ":7: dataplane.ports.p0.device: no DPDK device 'net_af_packet7'"),
        ("a1.dataplane.ports.p0.mbufSize = 16512",
         "a1.dataplane.ports.p0.mbufSize = 16512\n"
         "a1.dataplane.ports.p0.rxQueues = 2",
         "dataplane.eal: 2 RX queues need 2 worker lcores, the EAL has 1"),
        ("--no-pci", "--no-pci --bogus-option",
         ":5: dataplane.eal: EAL initialisation failed"),
    ]
    for i, (old, new, want) in enumerate(cases):
        text = good.replace(old, new)
        assert text != good
        ag = Agent(tmp, text, tag=f"bad{i}")
        try:
            rc = ag.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            ag.kill()
            rc = None
        log = ag.log()
        if "built without DPDK" in log:
            skip("sluice was built without DPDK")
        check(rc not in (0, None) and want in log,
              f"bad setting {new!r}: exit {rc}, message {want!r} in:\n"
              + log[-1500:])
        ag.kill()


def test_kafka(tmp):
    """The same path into the Kafka sink: `sluice kafka-mock` as the
    cluster, kcat reads every line back."""
    if not shutil.which("kcat"):
        print("kafka part skipped: kcat is not installed")
        return
    per, nconn = 500, 4
    msock = os.path.join(tmp, "mock.sock")
    mlog = open(os.path.join(tmp, "mock.log"), "w")
    mock = subprocess.Popen([os.environ["SLUICE"], "kafka-mock", "--brokers",
                             "1", "--topic", "dplog", "--control-socket",
                             msock], stdout=subprocess.PIPE, stderr=mlog,
                            text=True)
    try:
        boot = mock.stdout.readline().strip()
        check(boot != "", "kafka-mock gives its bootstrap list")
        text = conf(4145, 5144).replace(
            "a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n"
            "a1.sinks.k1.maxBytesToLog = 16\n",
            "a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink\n"
            f"a1.sinks.k1.topic = dplog\na1.sinks.k1.brokerList = {boot}\n"
            "a1.sinks.k1.channel = c1\n")
        check("KafkaSink" in text, "kafka conf built")
        ag = start_agent(tmp, text, "kafka")
        if not ag:
            return
        try:
            res = client("tcp-load", 4145, nconn, per, 1, timeout=600)
            check(all(int(v) == per for v in res.get("oks", {}).values())
                  and len(res.get("oks", {})) == nconn,
                  f"every line acknowledged: {res}")
            want = sorted(line_of(k, q)[:-1] for k in range(nconn)
                          for q in range(per))
            got = []
            end = time.monotonic() + 120
            while time.monotonic() < end:
                r = subprocess.run(["kcat", "-C", "-b", boot, "-t", "dplog",
                                    "-o", "beginning", "-e", "-q"],
                                   capture_output=True, timeout=120)
                got = r.stdout.split(b"\n")[:-1]
                if len(got) >= len(want):
                    break
                time.sleep(0.5)
            check(sorted(got) == want, f"the {len(want)} lines are in the "
                  f"topic, byte-exact (got {len(got)})")
        finally:
            rc = ag.stop()
        check(rc == 0, f"kafka agent stops with 0 (got {rc})")
    finally:
        mock.terminate()
        try:
            mock.wait(timeout=60)
        except subprocess.TimeoutExpired:
            mock.kill()
        mlog.close()


def test_file_channel(tmp):
    """The durable file channel behind the dataplane: OK only once the
    channel has the lines on disk (acknowledged after its fdatasync).
    With directIO (on a disk: tmpfs has none), where the lcore copies its
    commits into the open group itself: never waiting (a lock it only
    tries), and every event counted once, by it or by the writer."""
    with tempfile.TemporaryDirectory(prefix="sl-dp-fc-",
                                     dir="/var/tmp") as d:
        file_channel_run(tmp, d)


def file_channel_run(tmp, d):
    text = conf(4148, 5147).replace(
        "a1.channels.c1.type = memory\n",
        "a1.channels.c1.type = file\n"
        f"a1.channels.c1.checkpointDir = {d}/checkpoint\n"
        f"a1.channels.c1.dataDirs = {d}/data\n"
        "a1.channels.c1.directIO = true\n"
        "a1.channels.c1.directCacheBytes = 1048576\n").replace(
        "a1.channels.c1.capacity = 200000\n", "").replace(
        "a1.channels.c1.transactionCapacity = 1000\n", "")
    ag = start_agent(tmp, text, "file")
    if not ag:
        return
    try:
        # Two rounds: the first commit finds no segment open yet; after
        # it, a group is open for the next.
        for r in range(2):
            lines = b"".join(b"durable %d\n" % i
                             for i in range(r * 50, r * 50 + 50))
            res = client("tcp-lines", 4148, lines.hex())
            check(res.get("replies") == "OK\n" * 50,
                  f"50 OKs through the file channel: {res}")
        wait_for(lambda: ag.counter("SINK.k1", "EventDrainSuccessCount")
                 >= 100, timeout=60)
        evs = ag.logger_events()
        check(evs == [flume_dump(b"durable %d" % i) for i in range(100)],
              f"the lines in order: {evs[:3]}...")
        if "does not support O_DIRECT" in ag.log():
            print("file channel: no O_DIRECT under /var/tmp here; written "
                  "through the page cache", flush=True)
        else:
            by_commit = ag.counter("CHANNEL.c1", "direct_commit_copies")
            by_writer = ag.counter("CHANNEL.c1", "direct_writer_copies")
            print(f"file channel: {by_commit} events copied by the lcore "
                  f"at commit, {by_writer} by the writer", flush=True)
            check(by_commit + by_writer == 100,
                  f"the copies add up: {by_commit} + {by_writer} != 100")
    finally:
        rc = ag.stop()
    check(rc == 0, f"file-channel agent stops with 0 (got {rc})")


def test_two_queues(tmp):
    """rxQueues = 2: two poll-mode lcores (three EAL lcores on this
    machine's two CPUs), net_af_packet's two queue pairs spread flows by
    hash; 16 connections land on both lcores and every line arrives in
    order, each connection served by one lcore.

    net_af_packet's kernel fanout also sets ROLLOVER: a queue whose ring
    is full spills frames to the other queue, where their connection is
    unknown (a real NIC's RSS never does that). The rings here hold more
    frames than 16 windows of 64 KiB, so no ring fills."""
    per, nconn = 250, 16
    text = conf(4147, 5146, max_bytes=LINE_LEN).replace(
        "-l 0-1 --no-huge", "--lcores=(0-2)@(0-1) --no-huge").replace(
        "blocksz=16384,framesz=16384,framecnt=256",
        "blocksz=4096,framesz=2048,framecnt=4096,qpairs=2").replace(
        "a1.dataplane.ports.p0.mbufSize = 16512\n",
        "a1.dataplane.ports.p0.mbufSize = 16512\n"
        "a1.dataplane.ports.p0.rxQueues = 2\n")
    ag = start_agent(tmp, text, "mq")
    if not ag:
        return
    try:
        res = client("tcp-load", 4147, nconn, per, 1, timeout=600)
        drops = {k: v for k, v in dp_stats(ag).items()
                 if ".drop_" in k and v != "0"}
        check(all(int(v) == per for v in res.get("oks", {}).values()) and
              len(res.get("oks", {})) == nconn,
              f"every line OK: {res}; dataplane drops: {drops}")
        wait_for(lambda: ag.counter("SINK.k1", "EventDrainSuccessCount")
                 >= per * nconn, timeout=300)
        st = dp_stats(ag)
        acc = {k: int(v) for k, v in st.items()
               if k.endswith(".tcp_conns_accepted")}
        check(len(acc) == 2 and all(v > 0 for v in acc.values()) and
              sum(acc.values()) == nconn,
              f"16 connections over both lcores: {acc}")
        seen = {k: 0 for k in range(nconn)}
        bad = 0
        for ev in ag.logger_events():
            i = ev.find(" c")
            k = int(ev[i + 2:i + 4]) if i >= 0 else -1
            if k not in seen or ev != flume_dump(line_of(k, seen[k])[:-1],
                                                 max_bytes=LINE_LEN):
                bad += 1
                continue
            seen[k] += 1
        check(bad == 0 and all(v == per for v in seen.values()),
              f"in order per connection ({bad} bad): {seen}")
    finally:
        rc = ag.stop()
    check(rc == 0, f"two-queue agent stops with 0 (got {rc})")


def test_tap_reassembly(tmp):
    """net_tap hands DPDK the IP fragments themselves (net_af_packet's
    kernel fanout reassembles them first): rte_ip_frag puts each 4000-byte
    datagram back together, one event each."""
    tap = f"sltp{TAG}"
    text = conf(4146, 5145).replace(
        f"--vdev=net_af_packet0,iface={HOST_IF},blocksz=16384,"
        "framesz=16384,framecnt=256", f"--vdev=net_tap0,iface={tap}").replace(
        "ports.p0.device = net_af_packet0", "ports.p0.device = net_tap0"
        ).replace(f"{DP_IP}", "10.66.0.5").replace(
        f"gateway = {PEER_IP}", "gateway = 10.66.0.1")
    ag = start_agent(tmp, text, "tap")
    if not ag:
        return
    try:
        ok = wait_for(lambda: sh("ip", "link", "show", tap,
                                 check_rc=False).returncode == 0, 30)
        check(ok, f"the tap {tap} exists")
        sh("ip", "link", "set", tap, "netns", NS)
        sh("ip", "link", "set", tap, "up", ns=True)
        sh("ip", "addr", "add", "10.66.0.1/24", "dev", tap, ns=True)
        r = sh(sys.executable, "-c",
               "import socket\n"
               "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
               "for i in range(3):\n"
               "    s.sendto(b'%d' % i * 3999 + b'\\n', "
               "('10.66.0.5', 5145))\n", ns=True, check_rc=False)
        check(r.returncode == 0, f"fragmented datagrams sent: {r.stderr}")
        wait_for(lambda: ag.counter("SOURCE.u1", "EventAcceptedCount") >= 3,
                 timeout=60)
        check(dp_sum(ag, "frags_reassembled") == 3,
              f"3 datagrams reassembled by rte_ip_frag: {dp_stats(ag)}")
        # UDP promises no order, and the kernel may hold the first
        # datagram's fragments while it resolves 10.66.0.5: the three
        # distinct bodies must each arrive once, in any order.
        evs = ag.logger_events()
        check(len(evs) == 3 and
              all(any(udp_event_ok(e, b"%d" % i * 3999, "10.66.0.1")
                      for e in evs) for i in range(3)),
              f"one event per datagram: {evs}")
    finally:
        rc = ag.stop()
    check(rc == 0, f"tap agent stops with 0 (got {rc})")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        client_main(sys.argv[2:])
        return
    net_up()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for t in (test_bad_settings, test_basic, test_load,
                      test_backpressure, test_file_channel, test_two_queues,
                      test_tap_reassembly, test_kafka):
                print(f"--- {t.__name__}", flush=True)
                t(tmp)
    finally:
        net_down()
    check.finish()


if __name__ == "__main__":
    main()
