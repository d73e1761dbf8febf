#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End to end, the durable channel beside the memory channel: the same
loadgen load (1 KiB records over C connections) into netcat -> CHANNEL ->
null, timed from loadgen's first send until the sink's
EventDrainSuccessCount reaches N, memory and file runs alternating in the
same run; the line shows the median of REPEAT runs and file/memory, with
the agent's CPU time (user + system, all threads) per record in that run. Two
loads: ack-every-event = false (throughput) and ack-every-event = true with
loadgen --wait-ok (each line's OK waits for the file channel's group
fdatasync). Reuses bench/run's helpers (Agent, loadgen, median).

  bench/file_channel_e2e.py            # N = 1,000,000 (acks: N/5), 3 runs
  QUICK=1 bench/file_channel_e2e.py    # N = 200,000, 1 run
  DATA_DIR=/path                       # where the file channel writes
  FILE_KEYS="groupCommitBytes=..."     # more file channel keys
"""
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_loader = importlib.machinery.SourceFileLoader("bench_run",
                                               os.path.join(HERE, "run"))
_spec = importlib.util.spec_from_loader("bench_run", _loader)
br = importlib.util.module_from_spec(_spec)
_loader.exec_module(br)

QUICK = br.QUICK
REPEAT = 1 if QUICK else int(os.environ.get("REPEAT", "3"))
DATA_DIR = os.environ.get("DATA_DIR", "/var/tmp")
# RING_BYTES: the channel's ringBytes; unset, bench/run's choice (the
# default with directIO, 256 MiB through the page cache).
RING = int(os.environ["RING_BYTES"]) if os.environ.get("RING_BYTES") else None
# More file channel keys for an experiment, e.g. FILE_KEYS="sqPoll=true"
# (directIO is on already: bench/run file_channel_lines).
FILE_KEYS = os.environ.get("FILE_KEYS", "").split()


def conf(port, channel, acks, ddir):
    chan = ("a1.channels.c1.type = memory\n" if channel == "memory" else
            br.file_channel_lines(ddir, RING) +
            "".join(f"a1.channels.c1.{k.replace('=', ' = ', 1)}\n"
                    for k in FILE_KEYS))
    return (f"a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
            f"a1.sources.r1.type = netcat\n"
            f"a1.sources.r1.bind = 127.0.0.1\n"
            f"a1.sources.r1.port = {port}\n"
            f"a1.sources.r1.ack-every-event = {acks}\n"
            f"a1.sources.r1.max-line-length = 2048\n"
            f"a1.sources.r1.channels = c1\n"
            f"{chan}"
            f"a1.channels.c1.capacity = 100000\n"
            f"a1.channels.c1.transactionCapacity = 1000\n"
            f"a1.sinks.k1.type = null\n"
            f"a1.sinks.k1.batchSize = 1000\n"
            f"a1.sinks.k1.channel = c1\n")


class Ctx:
    def __init__(self, tmp):
        self.tmp = tmp


def run_once(tmp, channel, acks, n, size, conns):
    port = br.free_port()
    ddir = tempfile.mkdtemp(prefix="sl-e2e-", dir=DATA_DIR)
    ag = br.Agent(tmp, f"{channel}-{acks}", conf(port, channel, acks, ddir))
    extra = ("--wait-ok",) if acks == "true" else ()
    try:
        ag.wait_ready(port)
        cpu0 = br.proc_cpu_s(ag.proc.pid)
        lg = br.loadgen(port, n, size, conns, extra)
        end = time.time() + br.DEADLINE
        while True:
            st = ag.stats()
            drained = int(st["SINK.k1"]["EventDrainSuccessCount"])
            if drained >= n or time.time() > end:
                end_ns = time.time_ns()
                cpu = br.proc_cpu_s(ag.proc.pid) - cpu0
                break
            time.sleep(0.005)
        ch = st["CHANNEL.c1"]
    finally:
        ok = ag.stop()
        shutil.rmtree(ddir, ignore_errors=True)
    if drained != n or not ok:
        raise RuntimeError(f"{channel}: drained {drained} of {n}, clean "
                           f"stop {ok}")
    res = {"secs": (end_ns - int(lg["start_ns"])) / 1e9, "records": n,
           "bytes": n * size, "p99_us": lg.get("p99_us", "-"),
           "cpu_us_rec": cpu / n * 1e6,
           "p50_us": lg.get("p50_us", "-")}
    if channel == "file":
        s = ch.get("sluice", {})
        res["syncs"] = s.get("fdatasyncs", "-")
        res["group"] = s.get("group_events_avg", "-")
        res["sync_p99_us"] = s.get("fdatasync_p99_us", "-")
    return res


def report(name, r, extra=""):
    rate = r["records"] / r["secs"]
    print(f"{name:28s} {rate:11.0f} rec/s {r['bytes'] / r['secs'] / 1e6:8.1f}"
          f" MB/s records={r['records']} "
          f"agent_cpu_us_per_rec={r['cpu_us_rec']:.2f} "
          f"ack_p50_us={r['p50_us']} "
          f"ack_p99_us={r['p99_us']}"
          + (f" fdatasyncs={r['syncs']} group_events={r['group']} "
             f"fdatasync_p99_us={r['sync_p99_us']}" if "syncs" in r else "")
          + extra, flush=True)
    return rate


def main():
    for tool in (br.SLUICE, br.LOADGEN):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is not built: run `make build` first")
    n = 200_000 if QUICK else 1_000_000
    size = 1024
    with tempfile.TemporaryDirectory(prefix="sl-e2e-") as tmp:
        for acks, nn, conns in (("false", n, 4), ("true", n // 5, 16)):
            mem, fil = [], []
            for _ in range(REPEAT):
                mem.append(run_once(tmp, "memory", acks, nn, size, conns))
                fil.append(run_once(tmp, "file", acks, nn, size, conns))
            m, f = br.median(mem), br.median(fil)
            tag = "acks" if acks == "true" else "noacks"
            mr = report(f"netcat-memory-null-{tag}", m, f" conns={conns}")
            fr = f["records"] / f["secs"]
            report(f"netcat-file-null-{tag}", f,
                   f" conns={conns} ratio_to_memory={fr / mr:.2f}")


if __name__ == "__main__":
    main()
