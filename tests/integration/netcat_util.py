# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the integration tests: free ports, an agent process
with its own control socket and log file, `ctl stats --json`, a
`sluice kafka-mock` cluster with its fault-command socket, and Flume's
LoggerSink line format (EventHelper.dumpEvent) written out independently
of sinks/logger_sink.c."""
import json
import os
import re
import signal
import socket
import subprocess
import time

SLUICE = os.environ["SLUICE"]
DEADLINE = 90           # generous: a loaded 2-core machine, ASan build


class Checks:
    def __init__(self, name):
        self.name = name
        self.failures = []

    def __call__(self, cond, what):
        if not cond:
            self.failures.append(what)
            print("FAIL:", what, flush=True)
        return cond

    def finish(self):
        if self.failures:
            print(f"{self.name}: {len(self.failures)} check(s) failed")
            raise SystemExit(1)
        print(f"{self.name}: all checks passed")
        raise SystemExit(0)


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout=DEADLINE, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


class Agent:
    """One `sluice agent` on a conf text; stderr (the log) goes to a file so
    a chatty logger sink can never block on a full pipe."""

    def __init__(self, tmp, conf_text, name="a1", tag="agent", env=None,
                 extra=()):
        self.tmp = tmp
        self.tag = tag
        self.sock = os.path.join(tmp, f"{tag}.sock")
        self.conf = os.path.join(tmp, f"{tag}.conf")
        self.log_path = os.path.join(tmp, f"{tag}.log")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(conf_text)
        self.log_file = open(self.log_path, "w")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [SLUICE, "agent", "-f", self.conf, "-n", name,
             "-Dflume.root.logger=INFO,console",
             "--control-socket", self.sock, *extra],
            stdout=self.log_file, stderr=subprocess.STDOUT, env=full_env)
        self.rc = None
        self.probes = 0         # connections wait_tcp() opened

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_tcp(self, port):
        def up():
            if self.proc.poll() is not None:
                return True
            try:
                with socket.create_connection(("127.0.0.1", port), 0.5):
                    self.probes += 1
                    return True
            except OSError:
                return False
        wait_for(up)
        return self.proc.poll() is None

    def wait_ctl(self):
        """Wait until the control socket answers `ctl stats`."""
        def up():
            if self.proc.poll() is not None:
                return True
            if not os.path.exists(self.sock):
                return False
            try:
                self.stats()
                return True
            except (RuntimeError, ValueError):
                return False
        wait_for(up, step=0.1)
        return self.proc.poll() is None

    def stats(self):
        r = subprocess.run([SLUICE, "ctl", "--socket", self.sock, "stats",
                            "--json"], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            tail = "\n".join(self.log().splitlines()[-30:])
            raise RuntimeError(f"ctl stats failed: {r.stderr}\n"
                               f"agent exit: {self.proc.poll()}, log "
                               f"tail:\n{tail}")
        return json.loads(r.stdout)

    def counter(self, comp, name):
        """A counter of component comp ("SOURCE.r1"), Flume's or sluice's."""
        s = self.stats()[comp]
        v = s[name] if name in s else s["sluice"][name]
        return int(float(v))

    def logger_events(self):
        """The 'Event: { ... }' part of every logger sink line, in order."""
        out = []
        for line in self.log().splitlines():
            i = line.find("Event: { ")
            if i >= 0 and "sink logger" in line:
                out.append(line[i:])
        return out

    def stopped_totals(self, source_type="netcat", name="r1"):
        """The counters source @name logged when it stopped ("source
        netcat r1: stopped (K=V, ...)"), as a dict of ints (a drop counter
        is logged only when it is not 0); None if it did not."""
        m = re.search(rf"source {source_type} {name}: stopped \((.*)\)",
                      self.log())
        if not m:
            return None
        return {k: int(v) for k, v in
                (kv.split("=") for kv in m.group(1).split(", "))}

    def stop(self, sig=signal.SIGTERM, timeout=DEADLINE):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.rc = self.proc.wait()
        self.log_file.close()
        return self.rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.log_file.closed:
            self.log_file.close()


class KafkaMock:
    """`sluice kafka-mock` with its own control socket; the log goes to
    TMP/mock.log. @topics: "NAME[:PARTITIONS]" each."""

    def __init__(self, tmp, topics, brokers=3):
        self.sock = os.path.join(tmp, "mock.sock")
        self.log = open(os.path.join(tmp, "mock.log"), "w")
        args = [SLUICE, "kafka-mock", "--brokers", str(brokers),
                "--control-socket", self.sock]
        for t in topics:
            args += ["--topic", t]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        self.bootstrap = self.proc.stdout.readline().strip()

    def cmd(self, obj):
        """One request (a dict, or raw bytes sent as they are); the reply
        line as JSON."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(30)
            s.connect(self.sock)
            s.sendall(obj if isinstance(obj, bytes) else
                      (json.dumps(obj) + "\n").encode())
            data, _ = recv_until(s, lambda d: b"\n" in d, timeout=30)
        return json.loads(data.split(b"\n")[0])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        return rc


def flume_dump(body, headers=None, max_bytes=16):
    """Flume's EventHelper.dumpEvent for a body, as one line: commons-io's
    HexDump rows (16 bytes: hex, padded, then the bytes with non-printables
    as '.') with the offset dropped, rows after the first keeping theirs."""
    headers = headers or {}
    hdr = ", ".join(f"{k}={v}" for k, v in headers.items())
    data = body[:max_bytes]
    rows = []
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        hexpart = "".join(f"{b:02X} " for b in chunk) + "   " * (16 - len(chunk))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        rows.append((f"{off:08X} " if off else "") + hexpart + text)
    # Flume prints "body:" + the dump (which starts with a space once its
    # offset is cut), so an empty body reads "body: }".
    return ("Event: { headers:{" + hdr + "} body:" +
            "".join(" " + r for r in rows) + " }")


def recv_until(sock, pred, timeout=DEADLINE):
    """Read from sock until pred(data) or EOF/timeout; returns (data, eof)."""
    data = b""
    end = time.monotonic() + timeout
    sock.settimeout(1.0)
    while time.monotonic() < end and not pred(data):
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False
