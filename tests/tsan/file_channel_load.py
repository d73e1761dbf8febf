#!/usr/bin/env python3
"""ThreadSanitizer over the file channel's threads under load (`make tsan`).

The agent built with -fsanitize=thread (SLUICE_TSAN) runs netcat -> file
channel -> null sink; loadgen (an ordinary build, SLUICE_BUILD) sends
N 1 KiB lines over 3 connections. Each case (directIO on/off, netcat acks
on/off) must drain exactly N events, with directIO count every event once
in direct_commit_copies + direct_writer_copies, and leave no
"WARNING: ThreadSanitizer" in the agent's log. A null sink, not Kafka:
librdkafka is not built with TSan and its threads crash under it; nor
Criterion, whose arena does not start under TSan, so the unit tests are
not run here.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TSAN = os.environ.get("SLUICE_TSAN", "build-tsan/control/sluice")
BUILD = os.environ.get("SLUICE_BUILD", "build")
N = int(os.environ.get("TSAN_RECORDS", "100000"))
CASES = [("true", "false"), ("true", "true"), ("false", "true")]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


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


def stats(sock):
    r = subprocess.run([f"{BUILD}/control/sluice", "ctl", "--socket", sock,
                        "stats", "--json"], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout)


def run_case(direct, acks):
    """Problems found in one case (empty: none)."""
    bad = []
    # On a disk: tmpfs has no O_DIRECT.
    tmp = tempfile.mkdtemp(prefix="sl-tsan-", dir="/var/tmp")
    port, sock = free_port(), os.path.join(tmp, "ctl.sock")
    with open(os.path.join(tmp, "a.conf"), "w") as f:
        f.write(conf(tmp, port, direct, acks))
    log = open(os.path.join(tmp, "agent.log"), "w")
    ag = subprocess.Popen([TSAN, "agent", "-f", os.path.join(tmp, "a.conf"),
                           "-n", "a1", "--control-socket", sock],
                          stdout=subprocess.DEVNULL, stderr=log,
                          env=dict(os.environ,
                                   TSAN_OPTIONS="halt_on_error=0"))
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.2)
        try:
            lg = subprocess.run([f"{BUILD}/bench/loadgen", "--port",
                                 str(port), "--records", str(N), "--size",
                                 "1024", "--connections", "3"],
                                capture_output=True, text=True, timeout=120)
            if lg.returncode != 0:
                bad.append(f"loadgen exit {lg.returncode}: "
                           f"{lg.stderr[-500:]}")
        except subprocess.TimeoutExpired:
            bad.append("loadgen did not finish within 120 s")
        drained, deadline = 0, time.time() + 120
        while time.time() < deadline:
            st = stats(sock)
            drained = int(float(st["SINK.k1"]["EventDrainSuccessCount"]))
            if drained >= N:
                break
            time.sleep(0.5)
        ch = st["CHANNEL.c1"].get("sluice", {})
        if drained != N:
            bad.append(f"drained {drained} of {N}")
        if direct == "true":
            by_commit = int(ch.get("direct_commit_copies", -1))
            by_writer = int(ch.get("direct_writer_copies", -1))
            print(f"  copied at commit {by_commit}, by the writer "
                  f"{by_writer}")
            if by_commit + by_writer != N:
                bad.append(f"copies {by_commit} + {by_writer} != {N}")
    finally:
        ag.terminate()
        try:
            ag.wait(120)
        except subprocess.TimeoutExpired:
            ag.kill()
            ag.wait()
            bad.append("agent did not stop on SIGTERM within 120 s")
        log.close()
    text = open(os.path.join(tmp, "agent.log")).read()
    races = text.count("WARNING: ThreadSanitizer")
    if races:
        i = text.find("WARNING: ThreadSanitizer")
        bad.append(f"{races} ThreadSanitizer report(s); the first:\n"
                   f"{text[i:i + 4000]}")
    if "ERROR: ThreadSanitizer" in text:
        bad.append("ThreadSanitizer error:\n" + text[-4000:])
    shutil.rmtree(tmp)
    return bad


def main():
    failed = 0
    for direct, acks in CASES:
        print(f"directIO={direct} ack-every-event={acks}: {N} lines",
              flush=True)
        bad = run_case(direct, acks)
        for b in bad:
            print("FAIL:", b)
        failed += bool(bad)
    print("tsan: all cases clean" if not failed else
          f"tsan: {failed} case(s) failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
