#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""netcat with OK acks on a file channel whose producer ring is small
(ringBytes 64 KiB): under load the ring is momentarily full (the writer
has not drained it yet), which is backpressure (-EAGAIN: the connection
stops reading and retries), not a full channel: every line gets `OK`,
none `FAILED`, ChannelWriteFail stays 0, and the channel's ring_full
counter shows the state was reached."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netcat_util import Agent, Checks, free_port, wait_for  # noqa: E402

BUILD = os.environ["SLUICE_BUILD"]
LOADGEN = os.path.join(BUILD, "bench", "loadgen")
check = Checks("test_file_channel_ring_full")
N = 20000


def conf(tmp, port):
    return (f"a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = netcat\n"
            f"a1.sources.r1.bind = 127.0.0.1\n"
            f"a1.sources.r1.port = {port}\n"
            f"a1.sources.r1.max-line-length = 2048\n"
            f"a1.sources.r1.channels = c1\n"
            f"a1.channels.c1.type = file\n"
            f"a1.channels.c1.checkpointDir = {tmp}/ck\n"
            f"a1.channels.c1.dataDirs = {tmp}/d1\n"
            f"a1.channels.c1.minimumRequiredSpace = 0\n"
            f"a1.channels.c1.ringBytes = 65536\n"
            f"a1.sinks.k1.type = null\n"
            f"a1.sinks.k1.channel = c1\n")


def main():
    with tempfile.TemporaryDirectory(prefix="sl-ringfull-") as tmp:
        port = free_port()
        ag = Agent(tmp, conf(tmp, port))
        try:
            if not check(ag.wait_tcp(port), f"agent up: {ag.log()[-2000:]}"):
                check.finish()
            r = subprocess.run([LOADGEN, "--host", "127.0.0.1", "--port",
                                str(port), "--records", str(N), "--size",
                                "1024", "--connections", "4", "--wait-ok",
                                "--timeout", "300", "--quiet"],
                               capture_output=True, text=True, timeout=400)
            print(r.stdout.strip(), flush=True)
            check(r.returncode == 0, f"loadgen finished ({r.stderr})")
            check(f"ok={N} failed=0" in r.stdout,
                  f"every line got OK, none FAILED ({r.stdout.strip()})")
            wait_for(lambda: ag.counter("SINK.k1",
                                        "EventDrainSuccessCount") == N)
            ring_full = ag.counter("CHANNEL.c1", "ring_full")
            print(f"REPORT file_channel_ring_full: lines={N} "
                  f"ring_full={ring_full} "
                  f"ChannelWriteFail="
                  f"{ag.counter('SOURCE.r1', 'ChannelWriteFail')}",
                  flush=True)
            check(ring_full > 0, "the load filled the ring at least once "
                  "(else this test proves nothing)")
            check(ag.counter("SOURCE.r1", "ChannelWriteFail") == 0,
                  "a momentarily full ring is no ChannelWriteFail")
            check(ag.counter("SOURCE.r1", "EventAcceptedCount") == N,
                  "EventAcceptedCount = lines sent")
            check(ag.counter("SINK.k1", "EventDrainSuccessCount") == N,
                  "the sink got every line")
            check(ag.counter("CHANNEL.c1", "put_full_count") == 0,
                  "no put refused as full")
        finally:
            check(ag.stop() == 0, "graceful stop")
    check.finish()


if __name__ == "__main__":
    main()
