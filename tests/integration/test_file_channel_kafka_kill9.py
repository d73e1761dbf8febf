#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kill -9 loop through Kafka: the real agent (netcat with OK acks -> file
channel -> KafkaSink on `sluice kafka-mock`, brokers sometimes down) runs
under load and is SIGKILLed at random points, then restarted on the same
directories. kcat reads the topic the whole time (the mock keeps only
~5 MiB per partition). Every line that got an `OK` must reach Kafka; the
duplicates must stay within what was in flight: per crash, what the next
start replayed plus the sink's rolled-back retries (read just before the
kill) plus its in-flight window (for a retry between that read and the
kill). Every other agent (the last one among them) writes with directIO,
as bench/README's throughput runs do. Prints a REPORT line. Rounds:
SL_KILL9_ROUNDS (20 in `make test`, more in `make soak`); seed:
SL_KILL9_SEED."""
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netcat_util import (Agent, Checks, KafkaMock, free_port,  # noqa: E402
                         wait_for)
import test_file_channel_kill9 as k9  # noqa: E402

check = Checks("test_file_channel_kafka_kill9")
ROUNDS = int(os.environ.get("SL_KILL9_ROUNDS", "20"))
SEED = int(os.environ.get("SL_KILL9_SEED", str(int(time.time()))))
CLIENTS = 3
TOPIC = "k9"
PARTITIONS = 3
PACE = 0.01     # a client sends at most 10 lines per PACE seconds


class Client(k9.Client):
    """The file channel loop's client, paced: the mock keeps only ~5 MiB
    per partition and kcat must follow it while the run goes on."""

    def run(self):
        real = self.stop

        class Paced:
            def is_set(self):
                time.sleep(PACE)
                return real.is_set()
        self.stop = Paced()
        try:
            super().run()
        finally:
            self.stop = real


class Verifier(threading.Thread):
    """Reads the topic while the run goes on: kcat -e from the next offset
    of each partition, over and over (a long-running kcat stops following
    a partition after the brokers went down and up). A gap in the offsets
    (records the mock already let go) is counted, never skipped over."""

    def __init__(self, bootstrap):
        super().__init__(daemon=True)
        self.bootstrap = bootstrap
        self.next = [0] * PARTITIONS
        self.got, self.gaps = [], 0
        self.lock = threading.Lock()
        self.done = threading.Event()

    def poll(self):
        for p in range(PARTITIONS):
            try:
                r = subprocess.run(
                    ["kcat", "-C", "-b", self.bootstrap, "-t", TOPIC, "-p",
                     str(p), "-o", str(self.next[p]), "-e", "-q", "-f",
                     "%o %s\n", "-X", "reconnect.backoff.max.ms=200"],
                    capture_output=True, timeout=20)
            except subprocess.TimeoutExpired:
                continue                # brokers down: next time
            for line in r.stdout.decode(errors="replace").splitlines():
                off, _, body = line.partition(" ")
                if not off.isdigit() or int(off) < self.next[p]:
                    continue
                with self.lock:
                    self.gaps += int(off) - self.next[p]
                    self.next[p] = int(off) + 1
                    self.got.append(body)

    def run(self):
        while not self.done.wait(0.5):
            self.poll()

    def lines(self):
        with self.lock:
            return list(self.got)

    def stop(self):
        self.done.set()
        self.join(60)
        self.poll()


def conf(tmp, port, bootstrap, direct=False):
    return (k9.source_channel_conf(tmp, port, direct) +
            f"a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink\n"
            f"a1.sinks.k1.channel = c1\n"
            f"a1.sinks.k1.kafka.bootstrap.servers = {bootstrap}\n"
            f"a1.sinks.k1.kafka.topic = {TOPIC}\n"
            f"a1.sinks.k1.flumeBatchSize = 50\n"
            f"a1.sinks.k1.kafka.producer.acks = all\n"
            f"a1.sinks.k1.kafka.producer.enable.idempotence = true\n"
            f"a1.sinks.k1.kafka.producer.reconnect.backoff.max.ms = 200\n"
            f"a1.sinks.k1.deadLetterPolicy = retry\n")


def sink_stats(ag):
    """(event_retries, in-flight window) of the sink, or None."""
    try:
        return (ag.counter("SINK.k1", "event_retries"),
                ag.counter("SINK.k1", "max_inflight_txns") *
                ag.counter("SINK.k1", "batch_size"))
    except (RuntimeError, KeyError, ValueError, OSError,
            subprocess.SubprocessError):
        return None


def main():
    if subprocess.run(["which", "kcat"], capture_output=True).returncode:
        print("SKIP: kcat is not installed (make deps installs it)")
        raise SystemExit(77)
    rnd = random.Random(SEED)
    print(f"seed {SEED} rounds {ROUNDS}", flush=True)
    # On a disk: tmpfs has no O_DIRECT (the channel would fall back).
    with tempfile.TemporaryDirectory(prefix="sl-kk9-",
                                     dir="/var/tmp") as tmp:
        mock = KafkaMock(tmp, [f"{TOPIC}:{PARTITIONS}"])
        ver = Verifier(mock.bootstrap)
        ver.start()
        acked, agents = set(), []
        next_seq = [0] * CLIENTS
        kills, downs, bound, replayed_total, window = 0, 0, 0, 0, 0
        brokers_down = False
        try:
            for rnd_i in range(ROUNDS + 1):
                last = rnd_i == ROUNDS
                port = free_port()
                ag = Agent(tmp, conf(tmp, port, mock.bootstrap,
                                     k9.direct_round(rnd_i)),
                           tag=f"r{rnd_i}")
                agents.append(ag)
                if not check(ag.wait_tcp(port), f"round {rnd_i}: agent up "
                             f"(log: {ag.log()[-2000:]})"):
                    break
                if rnd_i > 0:
                    replayed = ag.counter("CHANNEL.c1", "replayed_on_start")
                    replayed_total += replayed
                    bound += replayed
                stop = threading.Event()
                clients = [Client(c, port, next_seq[c], stop)
                           for c in range(CLIENTS)]
                for c in clients:
                    c.start()
                run = 2.0 if last else rnd.uniform(0.3, 1.2)
                # Brokers: sometimes go down inside a round (and may stay
                # down across the kill and the next start).
                if not last and not brokers_down and rnd.random() < 0.35:
                    t = rnd.uniform(0, run)
                    time.sleep(t)
                    run -= t
                    check(mock.cmd({"cmd": "broker_down",
                                    "broker": "all"}).get("ok"),
                          "brokers down")
                    brokers_down, downs = True, downs + 1
                elif brokers_down and (last or rnd.random() < 0.7):
                    check(mock.cmd({"cmd": "broker_up",
                                    "broker": "all"}).get("ok"),
                          "brokers up")
                    brokers_down = False
                time.sleep(run)
                if last:
                    stop.set()
                else:
                    st = sink_stats(ag)
                    os.kill(ag.proc.pid, signal.SIGKILL)
                    kills += 1
                    if st is None:
                        check(False, f"round {rnd_i}: sink stats read")
                    else:
                        bound += st[0] + st[1]
                        window = st[1]
                for c in clients:
                    c.join(30)
                    next_seq[c.cid] = c.seq
                    acked.update(c.acked)
                if not last:
                    ag.kill()
            ag = agents[-1]
            wait_for(lambda: ag.counter("CHANNEL.c1", "ChannelSize") == 0,
                     timeout=120)
            wait_for(lambda: acked <= set(ver.lines()), timeout=60)
            st = ag.stats()["CHANNEL.c1"]
            check(st["Unhealthy"] == "0", f"channel healthy: {st}")
            last_stats = sink_stats(ag)
            if last_stats:
                bound += last_stats[0]
            check(ag.stop() == 0, "graceful stop after the loop")
        finally:
            for a in agents:
                a.kill()
            ver.stop()
            mock.stop()
        seen = [x for x in ver.lines() if x]
        seen_set = set(seen)
        lost = sorted(acked - seen_set)
        dups = len(seen) - len(seen_set)
        bogus = [x for x in seen_set
                 if not (len(x) > 3 and x[0] == "c" and x[2] == "-" and
                         x[1].isdigit() and int(x[1]) < CLIENTS and
                         x[3:].isdigit() and
                         int(x[3:]) < next_seq[int(x[1])])]
        print(f"REPORT file_channel_kafka_kill9: kills={kills} "
              f"broker_outages={downs} sent={sum(next_seq)} "
              f"acked={len(acked)} delivered={len(seen)} lost={len(lost)} "
              f"duplicates={dups} bound={bound} (replayed "
              f"{replayed_total} + retries + {kills} x window {window}) "
              f"unacked_arrived={len(seen_set - acked)}", flush=True)
        check(kills >= ROUNDS, f"{kills} kills")
        check(len(acked) > 10 * ROUNDS, f"enough acknowledged lines "
              f"({len(acked)})")
        check(not lost, f"{len(lost)} acknowledged lines lost: {lost[:10]}")
        check(dups <= bound, f"duplicates {dups} within the in-flight "
              f"bound {bound}")
        check(ver.gaps == 0, f"the reader kept up with the mock's "
              f"retention ({ver.gaps} records skipped)")
        check(not bogus, f"records never sent arrived: {bogus[:5]}")
    check.finish()


if __name__ == "__main__":
    main()
