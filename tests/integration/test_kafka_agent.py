#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Kafka sink end to end, through the real binary and a Kafka client
(kcat): `sluice kafka-mock` as the cluster, the seed's netcat-kafka.conf
unchanged but for the broker list and port delivering the seed's lines
byte-exact to `mylog`; the `make run` path (`--kafka-mock 3` inside the
agent, the conf unchanged but for the port); `sluice check` on the seed;
a load run (loadgen --seq, 4 connections) with faults injected through
the mock's control socket (all brokers down then up, pushed retriable
errors, a leader move) reporting lost (must be 0), duplicates (within what
was retried or in flight) and reordered (0: acks=all + idempotence)."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netcat_util import (Agent, Checks, KafkaMock, free_port,  # noqa: E402
                         recv_until, wait_for)

SLUICE = os.environ["SLUICE"]
SRC = os.environ["SLUICE_SRC"]
BUILD = os.environ["SLUICE_BUILD"]
LOADGEN = os.path.join(BUILD, "bench", "loadgen")
SOAK = os.environ.get("SLUICE_SOAK") == "1"
check = Checks("test_kafka_agent")

SEED_LINES = [b"Hello Flume-Kafka Integration!", b"User login: user001",
              b"User action: view_product", b"User logout: user001"]
SEED_BROKERS = "m1:9092,m2:9092,m3:9092"


def seed_conf(port, brokers=None):
    with open(os.path.join(SRC, "deploy", "conf", "netcat-kafka.conf"),
              encoding="utf-8") as f:
        text = f.read()
    text, n = re.subn(r"(?m)^(agent1\.sources\.r1\.port\s*=\s*)4141\s*$",
                      rf"\g<1>{port}", text)
    assert n == 1, "the seed conf no longer sets port 4141"
    if brokers:
        assert SEED_BROKERS in text
        text = text.replace(SEED_BROKERS, brokers)
    return text


def kcat_all(bootstrap, topic, want, timeout=60):
    """Read topic from the beginning until `want` records or timeout."""
    end = time.monotonic() + timeout
    out = b""
    while time.monotonic() < end:
        r = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic,
                            "-o", "beginning", "-e", "-q"],
                           capture_output=True, timeout=timeout)
        out = r.stdout
        if out.count(b"\n") >= want:
            break
        time.sleep(0.3)
    return out.split(b"\n")[:-1] if out else []


def send_lines(port, lines):
    with socket.create_connection(("127.0.0.1", port), 30) as c:
        c.sendall(b"".join(line + b"\n" for line in lines))
        data, _ = recv_until(c, lambda d: d.count(b"\n") >= len(lines))
    return data


def seed_lines_external_mock(tmp):
    mock = KafkaMock(tmp, ["mylog:1"])
    check(re.match(r"^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){2}$",
                   mock.bootstrap), f"kafka-mock prints its bootstrap list "
          f"first (got {mock.bootstrap!r})")
    port = free_port()
    ag = Agent(tmp, seed_conf(port, mock.bootstrap), name="agent1",
               tag="seed")
    try:
        check(ag.wait_tcp(port), "the agent on netcat-kafka.conf listens")
        got = send_lines(port, SEED_LINES)
        check(got == b"OK\n" * 4, f"one OK per line (got {got!r})")
        recs = kcat_all(mock.bootstrap, "mylog", 4)
        check(recs == SEED_LINES, f"mylog holds the seed's lines byte-exact "
              f"(got {recs!r})")
        check(ag.counter("SINK.k1", "EventDrainSuccessCount") == 4,
              "EventDrainSuccessCount = 4")
        log = ag.log()
        for old in ("topic", "brokerList", "requiredAcks", "batchSize"):
            check(f"agent1.sinks.k1.{old} is deprecated" in log,
                  f"one warning for the old name {old}")
    finally:
        check(ag.stop(timeout=120) == 0, "SIGTERM stops the agent with 0")
        check(mock.stop() == 0, "SIGTERM stops kafka-mock with 0")


def make_run_path(tmp):
    """What `make run` does: the seed conf, --kafka-mock 3."""
    port = free_port()
    ag = Agent(tmp, seed_conf(port), name="agent1", tag="run",
               extra=["--kafka-mock", "3"])
    try:
        check(ag.wait_tcp(port), "the agent with --kafka-mock 3 listens")
        m = re.search(r"kafka bootstrap: (\S+)", ag.log())
        check(m is not None, "the agent prints the embedded bootstrap list")
        if not m:
            return
        boot = m.group(1)
        check(send_lines(port, SEED_LINES) == b"OK\n" * 4, "OK per line")
        recs = kcat_all(boot, "mylog", 4)
        check(recs == SEED_LINES, f"kcat sees the lines in mylog (got "
              f"{recs!r})")
        agent = ag.stats().get("AGENT", {})
        check(boot in json.dumps(agent),
              "ctl stats shows the embedded bootstrap under AGENT")
    finally:
        check(ag.stop(timeout=120) == 0, "the agent stops with 0")


def check_seed():
    conf = os.path.join(SRC, "deploy", "conf", "netcat-kafka.conf")
    r = subprocess.run([SLUICE, "check", "--conf-file", conf, "--name",
                        "agent1"], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, f"check on the unchanged seed exits 0 "
          f"(stderr {r.stderr!r})")
    warns = [line for line in r.stderr.splitlines() if "deprecated" in line]
    check(len(warns) == 4 and all(w.startswith(conf + ":") for w in warns),
          f"four FILE:LINE deprecation warnings (got {warns!r})")
    check("m1:9092,m2:9092,m3:9092" in r.stdout and "mylog" in r.stdout,
          "check prints the sink's effective settings")


def bad_producer_property(tmp):
    conf = os.path.join(tmp, "bad.conf")
    text = seed_conf(4141)
    line = text.count("\n") + 1
    with open(conf, "w") as f:
        f.write(text + "agent1.sinks.k1.kafka.producer.linger.ms = soon\n")
    r = subprocess.run([SLUICE, "check", "-f", conf, "-n", "agent1"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 1, "a bad kafka.producer value fails check")
    check(f"{conf}:{line}: agent1.sinks.k1.kafka.producer.linger.ms: librdkafka:"
          f" Invalid value" in r.stderr,
          f"FILE:LINE with librdkafka's message (got {r.stderr!r})")


def mock_control_errors(tmp):
    mock = KafkaMock(tmp, [])
    try:
        r = mock.cmd(b"not json\n")
        check(r.get("ok") is False and "malformed" in r.get("error", ""),
              f"malformed request gets an error reply ({r})")
        r = mock.cmd({"cmd": "frob"})
        check(r.get("ok") is False, "unknown command gets an error reply")
        r = mock.cmd({"cmd": "push_errors", "errors": ["NOPE"]})
        check(r.get("ok") is False, "unknown error name is refused")
        r = mock.cmd({"cmd": "info"})
        check(r.get("bootstrap") == mock.bootstrap and r.get("brokers") == 3,
              f"info answers ({r})")
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(mock.sock)
            s.sendall(b"x" * (70 * 1024))
            data, _ = recv_until(s, lambda d: b"\n" in d, timeout=30)
        check(b"too large" in data, "an oversized request is refused")
        check(mock.cmd({"cmd": "info"}).get("ok") is True,
              "the mock still answers after bad clients")
    finally:
        check(mock.stop() == 0, "kafka-mock stops with 0")


class Verifier:
    """kcat reading every partition into a file while the run goes on."""

    def __init__(self, tmp, bootstrap, topic):
        self.path = os.path.join(tmp, f"{topic}.out")
        self.out = open(self.path, "wb")
        self.proc = subprocess.Popen(
            ["kcat", "-C", "-E", "-u", "-b", bootstrap, "-t", topic, "-o",
             "beginning", "-q", "-f", "%p %s\n",
             "-X", "reconnect.backoff.max.ms=200",
             "-X", "topic.metadata.refresh.interval.ms=1000",
             "-X", "auto.offset.reset=earliest"],
            stdout=self.out,
            stderr=subprocess.DEVNULL)

    def records(self):
        with open(self.path, "rb") as f:
            return f.read().count(b"\n")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()

    def verify(self, n):
        seen, dups, reordered, foreign = set(), 0, 0, 0
        top = {}
        with open(self.path, "rb") as f:
            for line in f:
                parts = line.split(b" ", 3)
                if len(parts) < 3:
                    foreign += 1
                    continue
                part, conn, seq = parts[0], int(parts[1]), int(parts[2])
                key = (conn, seq)
                if key in seen:
                    dups += 1
                    continue
                seen.add(key)
                k = (part, conn)
                if seq < top.get(k, -1):
                    reordered += 1
                else:
                    top[k] = seq
        return n - len(seen), dups, reordered, foreign


def load_with_faults(tmp):
    n = 100000 if SOAK else 20000
    mock = KafkaMock(tmp, ["load:6"])
    port = free_port()
    conf = f"""
agent1.sources = r1
agent1.channels = c1
agent1.sinks = k1
agent1.sources.r1.type = netcat
agent1.sources.r1.bind = 127.0.0.1
agent1.sources.r1.port = {port}
agent1.sources.r1.ack-every-event = false
agent1.sources.r1.max-line-length = 2048
agent1.sources.r1.channels = c1
agent1.channels.c1.type = memory
agent1.channels.c1.capacity = 4000
agent1.channels.c1.transactionCapacity = 100
agent1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
agent1.sinks.k1.channel = c1
agent1.sinks.k1.kafka.bootstrap.servers = {mock.bootstrap}
agent1.sinks.k1.kafka.topic = load
agent1.sinks.k1.flumeBatchSize = 20
agent1.sinks.k1.kafka.producer.acks = all
agent1.sinks.k1.kafka.producer.enable.idempotence = true
# spread keyless events evenly: the mock keeps only ~5 MiB per partition
# and the verifier must stay within that while the run goes on
agent1.sinks.k1.kafka.producer.sticky.partitioning.linger.ms = 0
agent1.sinks.k1.deadLetterFile = {tmp}/dlq.jsonl
"""
    ag = Agent(tmp, conf, name="agent1", tag="load")
    ver = Verifier(tmp, mock.bootstrap, "load")
    lg = None
    try:
        check(ag.wait_tcp(port), "the load agent listens")
        lg = subprocess.Popen([LOADGEN, "--host", "127.0.0.1", "--port",
                               str(port), "--records", str(n), "--size",
                               "1024", "--connections", "4", "--seq",
                               # the mock keeps ~5 MiB per partition: stay
                               # well within what kcat can follow
                               "--rate", "4000",
                               "--timeout", "600"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        wait_for(lambda: ver.records() >= n // 10, timeout=120)
        r = mock.cmd({"cmd": "broker_down", "broker": "all"})
        check(r.get("ok"), f"all brokers down ({r})")
        time.sleep(3)
        r = mock.cmd({"cmd": "broker_up", "broker": "all"})
        check(r.get("ok"), f"all brokers up ({r})")
        wait_for(lambda: ver.records() >= n // 2, timeout=180)
        r = mock.cmd({"cmd": "push_errors", "api": "Produce", "errors": [
            "NOT_LEADER_FOR_PARTITION", "NOT_ENOUGH_REPLICAS",
            "REQUEST_TIMED_OUT"] * 3})
        check(r.get("ok"), f"retriable errors pushed ({r})")
        r = mock.cmd({"cmd": "leader", "topic": "load", "partition": 0,
                      "broker": 2})
        check(r.get("ok"), f"leader of partition 0 moved ({r})")
        out, err = lg.communicate(timeout=600)
        check(lg.returncode == 0, f"loadgen finished ({out} {err})")
        wait_for(lambda: ver.records() >= n, timeout=180)
        time.sleep(1)
        retries = ag.counter("SINK.k1", "event_retries")
        window = (ag.counter("SINK.k1", "max_inflight_txns") *
                  ag.counter("SINK.k1", "batch_size"))
        drained = ag.counter("SINK.k1", "EventDrainSuccessCount")
        accepted = ag.counter("SOURCE.r1", "EventAcceptedCount")
    finally:
        if lg and lg.poll() is None:
            lg.kill()
            lg.wait()
        ver.stop()
        check(ag.stop(timeout=120) == 0,
              "the load agent stops with 0")
        mock.stop()
    lost, dups, reordered, foreign = ver.verify(n)
    print(f"REPORT load_with_faults_idempotent: records={n} lost={lost} "
          f"duplicates={dups} (bound {retries + window}) "
          f"reordered={reordered} foreign={foreign}", flush=True)
    check(lost == 0, f"nothing lost (lost {lost})")
    check(reordered == 0, "acks=all + idempotence keeps per-partition order "
          f"(reordered {reordered})")
    check(dups <= retries + window, f"duplicates {dups} within what was "
          f"retried or in flight ({retries} + {window})")
    check(foreign == 0, "every record is one loadgen sent")
    check(accepted == n and drained == n, f"counters add up: accepted "
          f"{accepted}, drained {drained}, sent {n}")


def main():
    if subprocess.run(["which", "kcat"], capture_output=True).returncode:
        print("SKIP: kcat is not installed (make deps installs it)")
        raise SystemExit(77)
    check_seed()
    with tempfile.TemporaryDirectory() as tmp:
        bad_producer_property(tmp)
        mock_control_errors(tmp)
        seed_lines_external_mock(tmp)
        make_run_path(tmp)
        if os.access(LOADGEN, os.X_OK):
            load_with_faults(tmp)
        else:
            check(False, f"{LOADGEN} is not built")
    check.finish()


if __name__ == "__main__":
    main()
