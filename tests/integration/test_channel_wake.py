#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Flume's default channel size (capacity 100) under load, where the sink
runner sleeps on the channel and paused netcat connections wait for the
channel's "room again" wakeup instead of polling:
  1. one source, null sink, ack-every-event = false: N records through a
     capacity-100 channel, nothing lost, counters exact;
  2. slow-then-fast sink: the Kafka sink against `sluice kafka-mock` with
     every broker down (the sink stalls, the channel fills, connections
     pause), then up again: all N records drain, counters exact;
  3. two sources sharing the channel: a batch commit lost to the other
     source is counted (received = accepted + dropped), never silent.
Bounded in count and time; no timing is asserted."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netcat_util import (Agent, Checks, KafkaMock, free_port,  # noqa: E402
                         wait_for)

BUILD = os.environ.get("SLUICE_BUILD", "build")
LOADGEN = os.path.join(BUILD, "bench", "loadgen")
check = Checks("test_channel_wake")


def conf_of(ports, sink):
    srcs = " ".join(f"r{i}" for i in range(len(ports)))
    out = [f"a1.sources = {srcs}", "a1.channels = c1", "a1.sinks = k1",
           "a1.channels.c1.type = memory", "a1.channels.c1.capacity = 100",
           "a1.channels.c1.transactionCapacity = 100",
           "a1.sinks.k1.channel = c1"]
    for i, port in enumerate(ports):
        out += [f"a1.sources.r{i}.type = netcat",
                f"a1.sources.r{i}.bind = 127.0.0.1",
                f"a1.sources.r{i}.port = {port}",
                f"a1.sources.r{i}.ack-every-event = false",
                f"a1.sources.r{i}.max-line-length = 2048",
                f"a1.sources.r{i}.channels = c1"]
    return "\n".join(out + sink) + "\n"


def loadgen(port, n, size=100, conns=4):
    return subprocess.Popen([LOADGEN, "--host", "127.0.0.1", "--port",
                             str(port), "--records", str(n), "--size",
                             str(size), "--connections", str(conns),
                             "--timeout", "300", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(lg, what):
    out, err = lg.communicate(timeout=400)
    check(lg.returncode == 0, f"{what}: loadgen sent everything "
          f"({out.strip()} {err.strip()})")
    return out


def drops(src):
    return {k: int(v) for k, v in src["sluice"].items()
            if k.startswith("drop_") and v != "0"}


def exact_one_source(ag, n, what):
    """Everything sent went through: source, channel and sink agree."""
    def drained():
        return ag.counter("SINK.k1", "EventDrainSuccessCount") >= n
    wait_for(drained, timeout=300)
    st = ag.stats()
    src, ch, sk = st["SOURCE.r0"], st["CHANNEL.c1"], st["SINK.k1"]
    check(int(src["EventReceivedCount"]) == n and
          int(src["EventAcceptedCount"]) == n,
          f"{what}: source received {src['EventReceivedCount']}, accepted "
          f"{src['EventAcceptedCount']}, sent {n}")
    check(not drops(src), f"{what}: no drops at the source: {drops(src)}")
    check(int(ch["EventPutSuccessCount"]) == n and
          int(ch["EventTakeSuccessCount"]) == n and
          int(ch["ChannelSize"]) == 0,
          f"{what}: channel put {ch['EventPutSuccessCount']}, took "
          f"{ch['EventTakeSuccessCount']}, holds {ch['ChannelSize']}")
    check(int(ch["sluice"]["drop_channel_full"]) == 0,
          f"{what}: the channel missed nothing")
    check(int(sk["EventDrainSuccessCount"]) == n,
          f"{what}: sink drained {sk['EventDrainSuccessCount']} of {n}")
    print(f"{what}: ChannelWriteFail (stalls) {src['ChannelWriteFail']}, "
          f"room wakeups {src['sluice']['channel_room_wakeups']}",
          flush=True)


def null_sink_case(tmp):
    n = 50000
    port = free_port()
    ag = Agent(tmp, conf_of([port], ["a1.sinks.k1.type = null",
                                     "a1.sinks.k1.batchSize = 100"]),
               tag="null")
    try:
        check(ag.wait_tcp(port), "null-sink agent listens")
        finish(loadgen(port, n), "null sink")
        exact_one_source(ag, n, "null sink")
    finally:
        rc = ag.stop()
    check(rc == 0, f"null-sink agent exits 0 (got {rc})")


def slow_then_fast_case(tmp):
    n = 20000
    mock = KafkaMock(tmp, ["wake:3"], brokers=1)
    port = free_port()
    ag = None
    try:
        check(mock.bootstrap != "", "kafka-mock prints its bootstrap")
        ag = Agent(tmp, conf_of([port], [
            "a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink",
            f"a1.sinks.k1.kafka.bootstrap.servers = {mock.bootstrap}",
            "a1.sinks.k1.kafka.topic = wake",
            "a1.sinks.k1.flumeBatchSize = 20",
            "a1.sinks.k1.kafka.producer.acks = all",
            "a1.sinks.k1.kafka.producer.enable.idempotence = true",
            f"a1.sinks.k1.deadLetterFile = {tmp}/dlq.jsonl"]), tag="kafka")
        check(ag.wait_tcp(port), "kafka agent listens")
        r = mock.cmd({"cmd": "broker_down", "broker": "all"})
        check(r.get("ok"), f"brokers down ({r})")
        lg = loadgen(port, n)
        # Slow: nothing is delivered, the channel fills, sources pause.
        full = wait_for(lambda: ag.counter("CHANNEL.c1", "ChannelSize") >=
                        100, timeout=120)
        check(full, "the stalled sink lets the channel fill")
        paused = wait_for(lambda: ag.counter(
            "SOURCE.r0", "conns_paused_channel_full") > 0, timeout=60)
        check(paused, "connections pause on the full channel")
        time.sleep(1)
        # Fast: the brokers come back and the sink drains everything.
        r = mock.cmd({"cmd": "broker_up", "broker": "all"})
        check(r.get("ok"), f"brokers up ({r})")
        finish(lg, "slow-then-fast")
        exact_one_source(ag, n, "slow-then-fast")
        dlq = os.path.join(tmp, "dlq.jsonl")
        check(not os.path.exists(dlq) or os.path.getsize(dlq) == 0,
              "no dead letters")
    finally:
        if ag:
            rc = ag.stop()
            check(rc == 0, f"kafka agent exits 0 (got {rc})")
        mock.stop()


def shared_channel_case(tmp):
    n = 20000
    ports = [free_port(), free_port()]
    ag = Agent(tmp, conf_of(ports, ["a1.sinks.k1.type = null",
                                    "a1.sinks.k1.batchSize = 100"]),
               tag="shared")
    try:
        check(all(ag.wait_tcp(p) for p in ports), "shared agent listens")
        lgs = [loadgen(p, n, conns=2) for p in ports]
        for lg in lgs:
            finish(lg, "shared channel")

        def settled():
            st = ag.stats()
            got = sum(int(st[f"SOURCE.r{i}"]["EventReceivedCount"])
                      for i in range(2))
            return got >= 2 * n and int(st["CHANNEL.c1"]["ChannelSize"]) == 0
        wait_for(settled, timeout=300)
        st = ag.stats()
        acc = dropped = 0
        for i in range(2):
            src = st[f"SOURCE.r{i}"]
            d = drops(src)
            check(set(d) <= {"drop_channel_full"},
                  f"r{i}: only lost commits are dropped: {d}")
            check(int(src["EventReceivedCount"]) == n, f"r{i}: received "
                  f"{src['EventReceivedCount']} of {n}")
            check(int(src["EventReceivedCount"]) ==
                  int(src["EventAcceptedCount"]) +
                  d.get("drop_channel_full", 0),
                  f"r{i}: received = accepted + dropped ({src})")
            acc += int(src["EventAcceptedCount"])
            dropped += d.get("drop_channel_full", 0)
        ch, sk = st["CHANNEL.c1"], st["SINK.k1"]
        check(int(ch["EventPutSuccessCount"]) == acc and
              int(sk["EventDrainSuccessCount"]) == acc,
              f"channel put {ch['EventPutSuccessCount']} and sink drained "
              f"{sk['EventDrainSuccessCount']} = accepted {acc}")
        print(f"shared channel: {2 * n} sent, {acc} accepted, {dropped} "
              f"lost to the other source's commit (counted)", flush=True)
    finally:
        rc = ag.stop()
    check(rc == 0, f"shared agent exits 0 (got {rc})")


def main():
    if not os.access(LOADGEN, os.X_OK):
        check(False, f"{LOADGEN} is not built")
        check.finish()
    with tempfile.TemporaryDirectory() as tmp:
        for name, part in (("null sink", null_sink_case),
                           ("slow then fast", slow_then_fast_case),
                           ("shared channel", shared_channel_case)):
            print(f"-- {name}", flush=True)
            sub = os.path.join(tmp, name.replace(" ", "_"))
            os.mkdir(sub)
            part(sub)
    check.finish()


if __name__ == "__main__":
    main()
