#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The control socket and `sluice ctl`: stats (text and Flume JSON, exact
counters after N lines through netcat -> memory -> null), components, stop
(and SIGTERM/SIGINT) draining and exiting 0, malformed / oversized /
unknown / pipelined requests answered with errors while the agent keeps
serving, the socket born mode 0600, a symlink at the path never followed,
a stale socket replaced, a second agent on a live path refused, and the
client's errors and exit codes. Runs the real binary ($SLUICE).

The exact-counter part needs the netcat source; while it is not built the
rest still runs and the test exits 77 (skip) instead of passing."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SLUICE = os.environ["SLUICE"]
DEADLINE = 60           # generous: a loaded 2-core machine, ASan build
failures = []
skipped = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def ctl(*args, timeout=60, env=None):
    return subprocess.run([SLUICE, "ctl", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """One `sluice agent` with its own control socket; killed if left."""

    def __init__(self, tmp, conf, sock, name="a1"):
        self.sock = sock
        self.conf = os.path.join(tmp, f"{name}-{time.monotonic_ns()}.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(
            [SLUICE, "agent", "-f", self.conf, "-n", name,
             "--control-socket", sock, "--drain-timeout", "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out = self.err = ""

    def wait_serving(self):
        """True once `ctl stats --json` answers; False if it died."""
        end = time.time() + DEADLINE
        while time.time() < end:
            if self.proc.poll() is not None:
                self.finish()
                return False
            r = ctl("--socket", self.sock, "stats", "--json", timeout=30)
            if r.returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def finish(self, timeout=DEADLINE):
        """Wait for exit; returns the exit code (None if it hung)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        self.out += out or ""
        self.err += err or ""
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            out, err = self.proc.communicate()
            self.out += out or ""
            self.err += err or ""


def stats_json(sock):
    r = ctl("--socket", sock, "stats", "--json")
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def wait_stat(sock, comp, name, want):
    """Poll until stats[comp][name] == want (as int); returns last stats."""
    end = time.time() + DEADLINE
    st = None
    while time.time() < end:
        st = stats_json(sock)
        if st and int(st[comp][name]) == want:
            return st
        time.sleep(0.1)
    return st


class Raw:
    """A raw control-socket client speaking newline-delimited JSON."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(30)
        end = time.time() + DEADLINE
        while True:     # a full listen backlog is EAGAIN for AF_UNIX
            try:
                self.s.connect(path)
                break
            except BlockingIOError:
                if time.time() > end:
                    raise
                time.sleep(0.01)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("control socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        self.s.close()


NULL_ONLY = """a1.channels = c1
a1.sinks = k1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000
a1.channels.c1.transactionCapacity = 100
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
"""


def netcat_conf(port):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = {port}
a1.sources.r1.ack-every-event = false
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 100
a1.sinks.k1.type = null
a1.sinks.k1.batchSize = 100
a1.sinks.k1.channel = c1
"""


FLUME_NAMES = {
    "SOURCE": ["EventReceivedCount", "EventAcceptedCount",
               "OpenConnectionCount", "EventReadFail", "ChannelWriteFail"],
    "CHANNEL": ["ChannelSize", "ChannelCapacity", "ChannelFillPercentage",
                "EventPutAttemptCount", "EventPutSuccessCount",
                "EventTakeAttemptCount", "EventTakeSuccessCount"],
    "SINK": ["EventDrainAttemptCount", "EventDrainSuccessCount",
             "BatchCompleteCount", "BatchEmptyCount", "BatchUnderflowCount"],
}


def check_flume_shape(st, comps):
    """comps: {"CHANNEL.c1": "memory", ...}."""
    check(set(st) == set(comps) | {"AGENT"},
          f"stats keys are the components plus AGENT: {sorted(st)}")
    for key, ctype in comps.items():
        kind = key.split(".")[0]
        obj = st.get(key, {})
        check(obj.get("Type") == kind, f"{key}: Type is {kind}")
        for n in FLUME_NAMES[kind]:
            check(isinstance(obj.get(n), str),
                  f"{key}: {n} is present as a string")
        for n, v in obj.items():
            if n != "sluice":
                check(isinstance(v, str), f"{key}.{n}: value is a string")
        for n in FLUME_NAMES[kind]:
            if n != "ChannelFillPercentage" and n in obj:
                check(re.fullmatch(r"\d+", obj[n]) is not None,
                      f"{key}.{n}: a decimal integer, got {obj[n]!r}")
        sl = obj.get("sluice", {})
        check(isinstance(sl, dict) and sl.get("type") == ctype,
              f"{key}: nested sluice object names type {ctype}")
        check(all(isinstance(v, str) for v in sl.values()),
              f"{key}: sluice values are strings")
        if kind == "SOURCE":
            for reason in ("drop_line_too_long", "drop_unterminated_tail"):
                check(reason in sl, f"{key}: sluice has {reason}")
    ag = st.get("AGENT", {})
    check(ag.get("Type") == "AGENT" and ag.get("Name") == "a1",
          "AGENT entry names the agent")
    check(ag.get("Pid", "").isdigit() and ag.get("UptimeMillis",
          "").isdigit(), "AGENT has Pid and UptimeMillis")


def parse_text_stats(text):
    """{"SOURCE r1 (netcat)": {"flume": {name: (value, kind)}, "sluice":
    {...}}} from the `ctl stats` table; order of sections kept."""
    comps, cur, sec = {}, None, None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# sluice"):
            sec = "sluice"
            continue
        if line.startswith("# "):
            cur = line[2:]
            sec = "flume"
            comps[cur] = {"flume": {}, "sluice": {}}
            continue
        m = re.fullmatch(r"(\S+):\s+(\S.*?)(?:\s{2}(counter|gauge|info))?",
                         line)
        if not m or cur is None:
            comps.setdefault("_bad", []).append(line)
            continue
        comps[cur][sec][m.group(1)] = (m.group(2).strip(), m.group(3))
    return comps


def test_basics(tmp):
    """Socket mode, shape, text table, components, errors, stop."""
    sock = os.path.join(tmp, "basic.sock")
    ag = Agent(tmp, NULL_ONLY, sock)
    try:
        if not check(ag.wait_serving(), f"agent serves stats:\n{ag.err}"):
            return
        st = os.lstat(sock)
        import stat as stmod
        check(stmod.S_ISSOCK(st.st_mode), "the control path is a socket")
        check(st.st_mode & 0o777 == 0o600,
              f"socket mode is 0600, got {oct(st.st_mode & 0o777)}")
        js = stats_json(sock)
        check_flume_shape(js, {"CHANNEL.c1": "memory", "SINK.k1": "null"})
        check(js["CHANNEL.c1"]["ChannelCapacity"] == "1000",
              "ChannelCapacity is the configured capacity")
        check(js["CHANNEL.c1"]["ChannelFillPercentage"] == "0.0",
              "an empty channel is 0.0 percent full, as Flume prints it")
        check(js["AGENT"]["ControlSocket"] == sock,
              "AGENT names its control socket")

        r = ctl("--socket", sock, "stats")
        check(r.returncode == 0, f"ctl stats exits 0: {r.stderr}")
        t = parse_text_stats(r.stdout)
        check("_bad" not in t, f"every stats line is 'Name: value [kind]':"
              f" {t.get('_bad')}")
        check(list(t)[:3] == ["AGENT a1", "CHANNEL c1 (memory)",
                              "SINK k1 (null)"],
              f"stats sections in order: {list(t)}")
        ch = t.get("CHANNEL c1 (memory)", {"flume": {}, "sluice": {}})
        check(ch["flume"].get("ChannelSize") == ("0", "gauge"),
              f"ChannelSize: 0 marked gauge: {ch['flume'].get('ChannelSize')}")
        check(ch["flume"].get("EventPutSuccessCount") == ("0", "counter"),
              "EventPutSuccessCount marked counter")
        check("put_bytes" in ch["sluice"] and
              "put_bytes" not in ch["flume"],
              "sluice's own counters are under '# sluice'")
        flume_first = r.stdout.index("ChannelSize:") < \
            r.stdout.index("put_bytes:")
        check(flume_first, "Flume names come before the sluice section")

        r = ctl("--socket", sock, "stats", "--watch", "1", "--count", "2")
        check(r.returncode == 0 and
              r.stdout.count("# CHANNEL c1 (memory)") == 2,
              f"stats --watch 1 --count 2 prints two tables: {r.stderr}")
        r = ctl("--socket", sock, "stats", "--json", "--watch", "1",
                "--count", "2")
        lines = r.stdout.splitlines()
        check(r.returncode == 0 and len(lines) == 2 and
              all("CHANNEL.c1" in json.loads(l) for l in lines),
              "stats --json --watch prints one JSON object per refresh")

        r = ctl("--socket", sock, "components")
        check(r.returncode == 0 and
              re.search(r"^CHANNEL\s+c1\s+memory$", r.stdout, re.M) and
              re.search(r"^SINK\s+k1\s+null <- c1$", r.stdout, re.M),
              f"components lists c1 and k1 <- c1:\n{r.stdout}{r.stderr}")
        r = ctl("--socket", sock, "components", "--json")
        comps = json.loads(r.stdout) if r.returncode == 0 else []
        check([(c["kind"], c["name"], c["type"]) for c in comps] ==
              [("CHANNEL", "c1", "memory"), ("SINK", "k1", "null")],
              f"components --json: {comps}")

        test_bad_requests(sock, ag)

        # --name finds $XDG_RUNTIME_DIR/sluice-NAME.sock (when no agent of
        # that name has a socket in /run/sluice).
        name = f"ctltest{os.getpid()}"
        if not os.path.exists(f"/run/sluice/{name}.sock"):
            link = os.path.join(tmp, f"sluice-{name}.sock")
            os.rename(sock, link)
            env = dict(os.environ, XDG_RUNTIME_DIR=tmp)
            r = ctl("--name", name, "components", env=env)
            check(r.returncode == 0 and "k1" in r.stdout,
                  f"ctl --name finds the XDG socket: {r.stderr}")
            os.rename(link, sock)

        r = ctl("--socket", sock, "stop")
        check(r.returncode == 0 and "stopped" in r.stdout,
              f"ctl stop exits 0 once stopped: {r.stdout}{r.stderr}")
        check(not os.path.exists(sock), "ctl stop returns after the "
              "socket is gone")
        rc = ag.finish()
        check(rc == 0, f"the agent exits 0 after ctl stop (got {rc})")
    finally:
        ag.kill()


def test_bad_requests(sock, ag):
    """Bad requests get {"ok": false, "error": ...}; the agent serves on."""
    c = Raw(sock)
    cases = [
        (b"not json\n", "malformed"),
        (b"[1,2]\n", "not a JSON object"),
        (b"{\"cmd\": 5}\n", "cmd"),
        (b"{\"nocmd\": 1}\n", "cmd"),
        (b"{\"cmd\":\"frobnicate\"}\n", "unknown command"),
        (b"{\"cmd\":\"stats\",\"format\":\"xml\"}\n", "unknown format"),
        (b"\n", "empty request"),
        (b"{\"cmd\":\"st\x00ats\"}\n", "malformed"),
        (b"{\"cmd\":\"\xff\xfe\"}\n", "malformed"),
        (b"[" * 5000 + b"]" * 5000 + b"\n", "malformed"),
    ]
    for req, words in cases:
        c.send(req)
        rep = c.reply()
        check(rep.get("ok") is False and words in rep.get("error", ""),
              f"request {req[:30]!r}: error reply naming '{words}': {rep}")
    # Oversized: one error for the whole line, then the next request works.
    c.send(b"x" * (200 * 1024) + b"\n{\"cmd\":\"components\",\"id\":3}\n")
    rep = c.reply()
    check(rep.get("ok") is False and "too long" in rep.get("error", ""),
          f"a 200 KiB line gets a 'too long' error: {rep}")
    rep = c.reply()
    check(rep.get("ok") is True and rep.get("id") == 3,
          f"after an oversized line the next request is served: {rep}")
    # Pipelined requests are answered in order.
    c.send(b"".join(b'{"cmd":"components","id":%d}\n' % i
                    for i in range(50)))
    ids = [c.reply().get("id") for _ in range(50)]
    check(ids == list(range(50)), "50 pipelined requests answered in order")
    c.close()
    # A client that never reads its replies does not block others.
    hog = Raw(sock)
    hog.s.setblocking(False)
    try:
        for _ in range(2000):
            hog.s.send(b'{"cmd":"stats"}\n')
    except BlockingIOError:
        pass
    # More clients than the server keeps (64): the extra ones are told so
    # and closed; the agent does not hang or crash.
    many = [Raw(sock) for _ in range(80)]
    last = many[-1]
    try:
        rep = last.reply()
        check(rep.get("ok") is False and "too many" in rep.get("error", ""),
              f"client 82 is told 'too many control clients': {rep}")
    except (EOFError, OSError) as e:
        check(False, f"client 82 got no error reply: {e}")
    for m in many:
        m.close()
    hog.close()
    # The server notices the closed clients on its next turns: poll.
    end = time.time() + DEADLINE
    st = None
    while st is None and time.time() < end:
        st = stats_json(sock)
        time.sleep(0.2)
    check(st is not None, "stats served again once the hogs are gone")
    # A request without a newline before EOF is still answered.
    c = Raw(sock)
    c.send(b'{"cmd":"components"}')
    c.s.shutdown(socket.SHUT_WR)
    rep = c.reply()
    check(rep.get("ok") is True, f"a last request without newline: {rep}")
    c.close()
    check(ag.proc.poll() is None, "the agent survived every bad request")


def test_counters(tmp):
    """N lines through netcat -> memory -> null; every counter exact."""
    port = free_port()
    sock = os.path.join(tmp, "count.sock")
    ag = Agent(tmp, netcat_conf(port), sock)
    try:
        if not ag.wait_serving():
            if "not built yet" in ag.err:
                skipped.append("exact counters: the netcat source is not "
                               "built yet")
                print("SKIP: netcat source not built yet; exact counter "
                      "checks not run")
            else:
                check(False, f"netcat agent did not start:\n{ag.err}")
            return
        n_conns, per_conn = 4, 500
        total_bytes = body_bytes = 0
        conns = [socket.create_connection(("127.0.0.1", port), 10)
                 for _ in range(n_conns)]
        for i in range(per_conn):
            for k, c in enumerate(conns):
                body = b"conn %d line %d %s" % (k, i, b"x" * (i % 37))
                c.sendall(body + b"\n")
                total_bytes += len(body) + 1
                body_bytes += len(body)
        st = wait_stat(sock, "SOURCE.r1", "OpenConnectionCount", n_conns)
        n = n_conns * per_conn
        st = wait_stat(sock, "SINK.k1", "EventDrainSuccessCount", n)
        if not check(st is not None, "stats readable"):
            return
        src, ch, sk = st["SOURCE.r1"], st["CHANNEL.c1"], st["SINK.k1"]
        check(src["OpenConnectionCount"] == str(n_conns),
              f"OpenConnectionCount {n_conns}: {src['OpenConnectionCount']}")
        for k, v in (("EventReceivedCount", n), ("EventAcceptedCount", n),
                     ("EventReadFail", 0), ("ChannelWriteFail", 0)):
            check(src[k] == str(v), f"SOURCE {k} == {v}, got {src[k]}")
        check(src["sluice"]["rx_bytes"] == str(total_bytes),
              f"rx_bytes == {total_bytes}, got {src['sluice']['rx_bytes']}")
        drops = {k: v for k, v in src["sluice"].items()
                 if k.startswith("drop_") and v != "0"}
        check(not drops, f"no drops: {drops}")
        for k, v in (("EventPutAttemptCount", n), ("EventPutSuccessCount", n),
                     ("EventTakeSuccessCount", n), ("ChannelSize", 0)):
            check(ch[k] == str(v), f"CHANNEL {k} == {v}, got {ch[k]}")
        check(ch["ChannelFillPercentage"] == "0.0", "drained channel 0.0%")
        check(int(ch["EventTakeAttemptCount"]) >= n,
              "EventTakeAttemptCount counts at least every event taken")
        check(ch["sluice"]["put_bytes"] == str(body_bytes) and
              ch["sluice"]["take_bytes"] == str(body_bytes),
              f"channel put/take bytes == {body_bytes}: {ch['sluice']}")
        check(sk["EventDrainSuccessCount"] == str(n) and
              sk["EventDrainAttemptCount"] == str(n),
              f"SINK drain attempt/success == {n}: {sk}")
        check(sk["sluice"]["drain_bytes"] == str(body_bytes),
              f"drain_bytes == {body_bytes}")
        # Flume's batch accounting: every take is exactly one of these.
        batches = (int(sk["BatchCompleteCount"]) * 100)
        check(batches <= n, "BatchCompleteCount * batchSize <= N")

        # An unterminated tail at EOF is discarded and counted.
        conns[0].sendall(b"no newline here")
        conns[0].close()
        st = wait_stat(sock, "SOURCE.r1", "OpenConnectionCount", n_conns - 1)
        st = wait_stat(sock, "SOURCE.r1", "EventReceivedCount", n)
        check(st["SOURCE.r1"]["sluice"]["drop_unterminated_tail"] == "1",
              f"drop_unterminated_tail == 1: {st['SOURCE.r1']['sluice']}")
        check(st["SINK.k1"]["EventDrainSuccessCount"] == str(n),
              "the tail was not delivered")

        r = ctl("--socket", sock, "stats")
        t = parse_text_stats(r.stdout)
        srct = t.get("SOURCE r1 (netcat)", {"flume": {}, "sluice": {}})
        check(srct["flume"].get("EventReceivedCount") == (str(n), "counter"),
              f"text: EventReceivedCount {n} counter: {srct['flume']}")
        check(srct["flume"].get("OpenConnectionCount", ("", ""))[1] ==
              "gauge", "text: OpenConnectionCount is a gauge")
        check(srct["sluice"].get("drop_unterminated_tail") ==
              ("1", "counter"), "text: the drop under # sluice")

        # Lines sent just before a stop are drained, not lost.
        more = 300
        for i in range(more):
            conns[1].sendall(b"late %d\n" % i)
        for c in conns[1:]:
            c.close()
        st = wait_stat(sock, "SOURCE.r1", "EventReceivedCount", n + more)
        r = ctl("--socket", sock, "stop")
        check(r.returncode == 0, f"ctl stop: {r.stderr}")
        rc = ag.finish()
        check(rc == 0, f"the agent exits 0 after stop (got {rc})")
        check("events left" not in ag.err,
              f"the channel was drained before exit:\n{ag.err}")
    finally:
        ag.kill()


def test_signals(tmp):
    for sig in (signal.SIGTERM, signal.SIGINT):
        sock = os.path.join(tmp, f"sig{int(sig)}.sock")
        ag = Agent(tmp, NULL_ONLY, sock)
        try:
            if not check(ag.wait_serving(), f"agent serves ({sig.name})"):
                continue
            ag.proc.send_signal(sig)
            rc = ag.finish()
            check(rc == 0, f"{sig.name}: the agent exits 0 (got {rc})")
            check("stopped" in ag.err, f"{sig.name}: graceful stop logged")
            check(not os.path.exists(sock),
                  f"{sig.name}: the control socket is removed")
        finally:
            ag.kill()


def expect_refused(tmp, sock, words, what):
    ag = Agent(tmp, NULL_ONLY, sock)
    rc = ag.finish()
    check(rc not in (0, None) and words in ag.err,
          f"{what}: refused with '{words}' (rc={rc}):\n{ag.err}")
    return ag


def test_socket_path(tmp):
    # A symlink at the path is not followed, whether its target exists.
    target = os.path.join(tmp, "victim")
    with open(target, "w") as f:
        f.write("keep me\n")
    link = os.path.join(tmp, "link.sock")
    os.symlink(target, link)
    expect_refused(tmp, link, "symbolic link", "symlink to a file")
    check(open(target).read() == "keep me\n" and os.path.islink(link),
          "the symlink and its target are untouched")
    dangling = os.path.join(tmp, "dangling.sock")
    nowhere = os.path.join(tmp, "nowhere.sock")
    os.symlink(nowhere, dangling)
    expect_refused(tmp, dangling, "symbolic link", "dangling symlink")
    check(not os.path.exists(nowhere), "nothing created at the link target")
    # A regular file is not replaced.
    plain = os.path.join(tmp, "plain.sock")
    with open(plain, "w") as f:
        f.write("x")
    expect_refused(tmp, plain, "not a socket", "regular file")
    check(os.path.isfile(plain), "the regular file is untouched")

    # A stale socket (bound, never unlinked, nobody listening) is replaced.
    stale = os.path.join(tmp, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    ag = Agent(tmp, NULL_ONLY, stale)
    try:
        check(ag.wait_serving(), f"an agent replaces a stale socket:\n"
              f"{ag.err}")
        # A second agent on a live path is refused; the first serves on.
        ag2 = expect_refused(tmp, stale, "another agent is serving",
                             "second agent on a live socket")
        check(ag.proc.poll() is None and stats_json(stale) is not None,
              "the first agent still serves after the refusal")
        check(ag2.proc.returncode != 0, "second agent exit non-zero")
        ag.proc.send_signal(signal.SIGTERM)
        check(ag.finish() == 0, "first agent exits 0")
    finally:
        ag.kill()


def test_client_errors(tmp):
    missing = os.path.join(tmp, "missing.sock")
    r = ctl("--socket", missing, "stats")
    check(r.returncode == 3 and "is the agent running" in r.stderr and
          missing in r.stderr, f"no socket: exit 3, names the path: "
          f"{r.returncode} {r.stderr}")
    env = dict(os.environ, XDG_RUNTIME_DIR=tmp)
    r = ctl("--name", f"nosuch{os.getpid()}", "stats", env=env)
    check(r.returncode == 3 and "tried" in r.stderr and
          f"sluice-nosuch{os.getpid()}.sock" in r.stderr,
          f"--name with no agent lists the paths tried: {r.stderr}")
    # A socket nobody listens on.
    dead = os.path.join(tmp, "dead.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(dead)
    s.close()
    r = ctl("--socket", dead, "stats")
    check(r.returncode == 3 and "not running" in r.stderr,
          f"stale socket: exit 3: {r.returncode} {r.stderr}")
    # A listener that never answers: --timeout, exit 4.
    mute = os.path.join(tmp, "mute.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(mute)
    srv.listen(4)
    r = ctl("--socket", mute, "--timeout", "1", "stats")
    check(r.returncode == 4 and "no reply" in r.stderr,
          f"no reply: exit 4: {r.returncode} {r.stderr}")
    srv.close()
    # Usage errors: exit 2.
    for args in (["stats", "--bogus"], [], ["stats", "extra"],
                 ["--socket", missing, "--name", "x", "stats"],
                 ["frob"], ["stats", "--watch", "0"],
                 ["components", "--wait", "3"]):
        r = ctl(*args)
        check(r.returncode == 2, f"ctl {args}: usage error 2, got "
              f"{r.returncode}")
    r = ctl("--help")
    check(r.returncode == 0 and "usage: sluice ctl" in r.stdout and
          "Exit codes" in r.stdout, "ctl --help documents the exit codes")
    # Permission denied, when we can run the client as another user.
    if os.geteuid() == 0 and shutil.which("setpriv"):
        sock = os.path.join(tmp, "perm.sock")
        ag = Agent(tmp, NULL_ONLY, sock)
        try:
            if check(ag.wait_serving(), "agent for the permission check"):
                os.chmod(tmp, 0o755)    # the dir is open, the socket not
                r = subprocess.run(
                    ["setpriv", "--reuid=65534", "--regid=65534",
                     "--clear-groups", SLUICE, "ctl", "--socket", sock,
                     "stats"], capture_output=True, text=True, timeout=60)
                os.chmod(tmp, 0o700)
                check(r.returncode == 3 and "permission denied" in r.stderr,
                      f"another user: permission denied, exit 3: "
                      f"{r.returncode} {r.stderr}")
                ag.proc.send_signal(signal.SIGTERM)
                ag.finish()
        finally:
            ag.kill()


with tempfile.TemporaryDirectory() as tmp:
    test_basics(tmp)
    test_signals(tmp)
    test_socket_path(tmp)
    test_client_errors(tmp)
    test_counters(tmp)

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
if skipped:
    print("all other checks passed; skipped: " + "; ".join(skipped))
    sys.exit(77)
print("test_ctl: all checks passed")
