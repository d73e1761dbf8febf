#!/usr/bin/env python3
"""ThreadSanitizer over the file channel's threads under load (`make tsan`).

The agent built with -fsanitize=thread (SLUICE, as for the integration
tests) runs netcat -> file channel -> null sink; loadgen (an ordinary
build, SLUICE_BUILD) sends N 1 KiB lines over 3 connections. Each case
(directIO on/off, netcat acks on/off) must drain exactly N events, with
directIO count every event once in direct_commit_copies +
direct_writer_copies, and leave no ThreadSanitizer report in the agent's
log. A null sink, not Kafka: librdkafka is not built with TSan and its
threads crash under it; nor Criterion, whose arena does not start under
TSan, so the unit tests are not run here.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from netcat_util import Agent, Checks, free_port, wait_for  # noqa: E402

BUILD = os.environ.get("SLUICE_BUILD", "build")
N = int(os.environ.get("TSAN_RECORDS", "100000"))
CASES = [("true", "false"), ("true", "true"), ("false", "true")]
check = Checks("tsan")


def conf(tmp, port, direct, acks):
    return (f"a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = netcat\n"
            f"a1.sources.r1.bind = 127.0.0.1\n"
            f"a1.sources.r1.port = {port}\n"
            f"a1.sources.r1.max-line-length = 2048\n"
            f"a1.sources.r1.ack-every-event = {acks}\n"
            f"a1.sources.r1.channels = c1\n"
            f"a1.channels.c1.type = file\n"
            f"a1.channels.c1.checkpointDir = {tmp}/ck\n"
            f"a1.channels.c1.dataDirs = {tmp}/d1,{tmp}/d2\n"
            f"a1.channels.c1.maxFileSize = 4194304\n"
            f"a1.channels.c1.groupCommitBytes = 1048576\n"
            f"a1.channels.c1.directIO = {direct}\n"
            f"a1.channels.c1.directCacheBytes = 8388608\n"
            f"a1.channels.c1.capacity = 20000\n"
            f"a1.channels.c1.transactionCapacity = 1000\n"
            f"a1.sinks.k1.type = null\n"
            f"a1.sinks.k1.channel = c1\n")


def run_case(tmp, direct, acks):
    what = f"directIO={direct} ack-every-event={acks}"
    tag = f"direct-{direct}-acks-{acks}"
    port = free_port()
    ag = Agent(tmp, conf(os.path.join(tmp, tag), port, direct, acks),
               tag=tag, env={"TSAN_OPTIONS": "halt_on_error=0"})
    try:
        if not check(ag.wait_tcp(port), f"{what}: agent up"):
            return
        try:
            lg = subprocess.run([f"{BUILD}/bench/loadgen", "--port",
                                 str(port), "--records", str(N), "--size",
                                 "1024", "--connections", "3"],
                                capture_output=True, text=True, timeout=120)
            check(lg.returncode == 0,
                  f"{what}: loadgen exit {lg.returncode}: {lg.stderr[-500:]}")
        except subprocess.TimeoutExpired:
            check(False, f"{what}: loadgen did not finish within 120 s")
        wait_for(lambda: ag.counter("SINK.k1", "EventDrainSuccessCount")
                 >= N, timeout=120, step=0.5)
        drained = ag.counter("SINK.k1", "EventDrainSuccessCount")
        check(drained == N, f"{what}: drained {drained} of {N}")
        if direct == "true":
            by_commit = ag.counter("CHANNEL.c1", "direct_commit_copies")
            by_writer = ag.counter("CHANNEL.c1", "direct_writer_copies")
            print(f"  copied at commit {by_commit}, by the writer "
                  f"{by_writer}", flush=True)
            check(by_commit + by_writer == N,
                  f"{what}: copies {by_commit} + {by_writer} != {N}")
    finally:
        rc = ag.stop(timeout=120)
    check(rc == 0, f"{what}: the agent stops with 0 (got {rc})")
    log = ag.log()
    i = log.find("WARNING: ThreadSanitizer")
    check(i < 0, f"{what}: {log.count('WARNING: ThreadSanitizer')} "
          f"ThreadSanitizer report(s); the first:\n{log[i:i + 4000]}")
    check("ERROR: ThreadSanitizer" not in log,
          f"{what}: ThreadSanitizer error:\n{log[-4000:]}")


def main():
    # On a disk: tmpfs has no O_DIRECT.
    with tempfile.TemporaryDirectory(prefix="sl-tsan-", dir="/var/tmp") as tmp:
        for direct, acks in CASES:
            print(f"directIO={direct} ack-every-event={acks}: {N} lines",
                  flush=True)
            run_case(tmp, direct, acks)
    check.finish()


if __name__ == "__main__":
    main()
