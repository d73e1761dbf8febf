#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Kafka's perf tools on librdkafka, against the mock cluster:
producer-perf sends exactly N records of the given size (read back with
kcat, an independent client) and prints Kafka's lines; --payload-file,
--producer.config and the throttle; consumer-perf counts exactly N and
prints Kafka's header and summary; `sluice consume` prints bodies, keys,
headers and timestamps exactly as kafka-console-consumer does and stops at
--max-messages; bad command lines are clear errors."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SLUICE = os.environ["SLUICE"]
BUILD = os.environ["SLUICE_BUILD"]
PPERF = os.path.join(BUILD, "bench", "producer-perf")
CPERF = os.path.join(BUILD, "bench", "consumer-perf")
KWATCH = os.path.join(BUILD, "bench", "kafka-watch")
failures = []

WINDOW_RE = re.compile(
    r"^(\d+) records sent, \d+\.\d records/sec \(\d+\.\d\d MB/sec\), "
    r"\d+\.\d ms avg latency, \d+\.\d ms max latency\.$")
TOTAL_RE = re.compile(
    r"^(\d+) records sent, \d+\.\d{6} records/sec \(\d+\.\d\d MB/sec\), "
    r"\d+\.\d\d ms avg latency, \d+\.\d\d ms max latency, \d+ ms 50th, "
    r"\d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$")
CP_HEADER = ("start.time, end.time, data.consumed.in.MB, MB.sec, "
             "data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
             "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
CP_DETAILED_HEADER = ("time, threadId, data.consumed.in.MB, MB.sec, "
                      "data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
                      "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}"
CP_SUMMARY_RE = re.compile(
    rf"^({DATE}), ({DATE}), (-?\d+\.\d{{4}}), (\S+), (\d+), (\S+), (\d+), "
    rf"(-?\d+), (\S+), (\S+)$")
CP_DETAILED_RE = re.compile(
    rf"^{DATE}, 0, \d+\.\d{{4}}, \S+, \d+, \S+, \d+, -?\d+, \S+, \S+$")


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    else:
        print("ok:", what)


def run(args, timeout=120, **kw):
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout, **kw)


def start_mock(tmp):
    """`sluice kafka-mock`: one broker, the topics the checks use."""
    cmd = [SLUICE, "kafka-mock", "--brokers", "1", "--topic", "perf:2",
           "--topic", "cons:1", "--topic", "empty:1", "--topic", "pfile:1",
           "--topic", "cfg:1", "--topic", "thr:1", "--topic", "lat:1",
           "--control-socket", os.path.join(tmp, "mock.sock")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        proc.wait()
        print("FAIL: the mock cluster printed no bootstrap list")
        sys.exit(1)
    return proc, line


def kcat_read(bs, topic, fmt, timeout=60):
    r = run(["kcat", "-C", "-b", bs, "-t", topic, "-o", "beginning", "-e",
             "-q", "-f", fmt], timeout=timeout)
    check(r.returncode == 0, f"kcat reads {topic} (rc={r.returncode} "
          f"{r.stderr.strip()[:200]})")
    return r.stdout


def pperf(*args, timeout=180):
    return run([PPERF, *args], timeout=timeout)


def main():
    if not shutil.which("kcat"):
        print("SKIP: kcat is not installed")
        return 77
    tmp = tempfile.mkdtemp(prefix="sluice-perf-")
    mock, bs = start_mock(tmp)
    try:
        producer_tests(bs, tmp)
        consumer_perf_tests(bs)
        consume_tests(bs)
        kafka_watch_tests(bs)
        usage_tests(bs)
    finally:
        mock.terminate()
        try:
            mock.wait(timeout=20)
        except subprocess.TimeoutExpired:
            mock.kill()
            mock.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    return 0


def producer_tests(bs, tmp):
    n, size = 3000, 200
    r = pperf("--topic", "perf", "--num-records", str(n), "--record-size",
              str(size), "--throughput", "-1", "--producer-props",
              f"bootstrap.servers={bs}", "acks=1")
    lines = r.stdout.strip().splitlines()
    check(r.returncode == 0, f"producer-perf exits 0 (rc={r.returncode}, "
          f"{r.stderr.strip()[:300]})")
    check(lines and TOTAL_RE.match(lines[-1]) and
          lines[-1].startswith(f"{n} records sent, "),
          f"final line in Kafka's format with {n} records: {lines[-1:]}")
    for ln in lines[:-1]:
        check(WINDOW_RE.match(ln), f"window line in Kafka's format: {ln}")
    sizes = kcat_read(bs, "perf", "%S\n").split()
    check(len(sizes) == n, f"exactly {n} records in the topic "
          f"(got {len(sizes)})")
    check(set(sizes) == {str(size)}, f"every record is {size} bytes "
          f"(sizes seen: {sorted(set(sizes))[:5]})")
    bodies = kcat_read(bs, "perf", "%s\n").split("\n")[:-1]
    check(all(re.fullmatch(r"[A-Z]{%d}" % size, b) for b in bodies),
          "payloads are random letters A-Z like Kafka's tool")
    check(len(set(bodies)) > n // 2, "payloads differ from record to "
          f"record ({len(set(bodies))} distinct of {len(bodies)})")

    # --payload-file with a delimiter; "Reading payloads" lines
    pfile = os.path.join(tmp, "payloads.txt")
    with open(pfile, "w") as f:
        f.write("alpha|beta|gamma delta|")
    r = pperf("--topic", "pfile", "--num-records", "300", "--payload-file",
              pfile, "--payload-delimiter", "|", "--throughput", "-1",
              "--producer-props", f"bootstrap.servers={bs}")
    out = r.stdout.splitlines()
    check(r.returncode == 0 and
          out[0] == f"Reading payloads from: {os.path.realpath(pfile)}" and
          out[1] == "Number of messages read: 3",
          f"--payload-file reports what it read: {out[:2]}")
    got = kcat_read(bs, "pfile", "%s\n").split("\n")[:-1]
    check(len(got) == 300 and set(got) <= {"alpha", "beta", "gamma delta"},
          f"300 records, each one of the file's payloads "
          f"({len(got)}, {sorted(set(got))})")

    # --producer.config with Java names (buffer.memory, max.request.size)
    cfg = os.path.join(tmp, "producer.properties")
    with open(cfg, "w") as f:
        f.write(f"# Java client names\nbootstrap.servers={bs}\nacks=all\n"
                "buffer.memory=33554432\nmax.request.size=1048576\n"
                "key.serializer=org.apache.kafka.common.serialization."
                "ByteArraySerializer\n")
    r = pperf("--topic", "cfg", "--num-records", "500", "--record-size",
              "1024", "--throughput", "-1", "--producer.config", cfg,
              "--print-metrics")
    check(r.returncode == 0 and
          "\n500 records sent, " in "\n" + r.stdout and
          re.search(r"^producer-metrics:record-send-total:"
                    r"\{client-id=perf-producer-client\}\s+: 500\.000$",
                    r.stdout, re.M),
          "--producer.config with Java names works; --print-metrics shows "
          f"record-send-total 500 ({r.stderr.strip()[:300]})")
    check(len(kcat_read(bs, "cfg", "%S\n").split()) == 500,
          "500 records arrived through --producer.config")

    # the throttle: 6000 records at <= 1000/s take > 5 s, so Kafka's
    # 5-second window line appears
    r = pperf("--topic", "thr", "--num-records", "6000", "--record-size",
              "100", "--throughput", "1000", "--producer-props",
              f"bootstrap.servers={bs}")
    lines = r.stdout.strip().splitlines()
    check(r.returncode == 0 and len(lines) >= 2 and
          all(WINDOW_RE.match(x) for x in lines[:-1]) and
          TOTAL_RE.match(lines[-1]),
          f"throttled run prints window lines then the total: {lines}")
    windows = sum(int(WINDOW_RE.match(x).group(1)) for x in lines[:-1]
                  if WINDOW_RE.match(x))
    check(windows <= 6000, "window counts never exceed the total")


def consumer_perf_tests(bs):
    n, size = 3000, 200
    r = run([CPERF, "--bootstrap-server", bs, "--topic", "perf",
             "--messages", str(n), "--timeout", "30000"])
    lines = r.stdout.strip().splitlines()
    check(r.returncode == 0, f"consumer-perf exits 0 (rc={r.returncode} "
          f"{r.stderr.strip()[:300]})")
    check(lines and lines[0] == CP_HEADER, f"Kafka's header: {lines[:1]}")
    m = CP_SUMMARY_RE.match(lines[-1]) if lines else None
    check(m is not None, f"summary line in Kafka's format: {lines[-1:]}")
    if m:
        check(int(m.group(5)) == n, f"consumed exactly {n} "
              f"(got {m.group(5)})")
        check(m.group(3) == "%.4f" % (n * size / 1048576.0),
              f"data.consumed.in.MB is {n}*{size} bytes: {m.group(3)}")

    # fewer records than asked: Kafka's WARNING, exit status 1
    r = run([CPERF, "--bootstrap-server", bs, "--topic", "perf",
             "--messages", str(n + 1), "--timeout", "6000", "--hide-header",
             "--show-detailed-stats", "--reporting-interval", "100"])
    lines = r.stdout.strip().splitlines()
    check(r.returncode == 1 and
          "WARNING: Exiting before consuming the expected number of "
          "messages: timeout (6000 ms) exceeded. You can use the --timeout "
          "option to increase the timeout." in lines,
          f"a short topic gives Kafka's WARNING and rc 1 (rc={r.returncode})")
    check(CP_HEADER not in lines and CP_DETAILED_HEADER not in lines,
          "--hide-header prints no header")
    check(all(CP_DETAILED_RE.match(x) for x in lines
              if not x.startswith("WARNING")),
          f"detailed lines in Kafka's format: {lines[:3]}")


def consume_tests(bs):
    # keys, headers and bodies written by kcat (independent producer)
    data = "k1:Hello Flume-Kafka Integration!\nk2:User login: user001\n"
    r = subprocess.run(["kcat", "-P", "-b", bs, "-t", "cons", "-K:",
                        "-H", "host=web1", "-H", "app=auth"],
                       input=data, text=True, capture_output=True,
                       timeout=60)
    check(r.returncode == 0, f"kcat produced keyed records ({r.stderr})")
    r = subprocess.run(["kcat", "-P", "-b", bs, "-t", "cons"],
                       input="no key here\n", text=True,
                       capture_output=True, timeout=60)
    check(r.returncode == 0, "kcat produced an unkeyed record")

    r = run([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "cons",
             "--from-beginning", "--max-messages", "3"])
    check(r.returncode == 0 and r.stdout ==
          "Hello Flume-Kafka Integration!\nUser login: user001\n"
          "no key here\n", f"bodies printed exactly: {r.stdout!r}")
    check("Processed a total of 3 messages" in r.stderr,
          f"kafka-console-consumer's closing count: {r.stderr!r}")

    r = run([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "cons",
             "--from-beginning", "--max-messages", "3",
             "--property", "print.key=true",
             "--property", "print.headers=true",
             "--property", "key.separator= | ",
             "--property", "print.partition=true",
             "--property", "print.offset=true"])
    check(r.stdout ==
          "Partition:0 | Offset:0 | host:web1,app:auth | k1 | "
          "Hello Flume-Kafka Integration!\n"
          "Partition:0 | Offset:1 | host:web1,app:auth | k2 | "
          "User login: user001\n"
          "Partition:0 | Offset:2 | NO_HEADERS | null | no key here\n",
          f"keys, headers, partition, offset as Kafka prints them: "
          f"{r.stdout!r}")

    r = run([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "cons",
             "--from-beginning", "--max-messages", "1",
             "--property", "print.timestamp=true",
             "--property", "print.value=false",
             "--property", "print.key=true"])
    check(re.fullmatch(r"CreateTime:\d{13}\tk1\n", r.stdout) is not None,
          f"timestamp and key, default tab separator: {r.stdout!r}")

    # --max-messages stops early; --timeout-ms ends a quiet topic
    r = run([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "cons",
             "--from-beginning", "--max-messages", "2"])
    check(r.stdout.count("\n") == 2 and
          "Processed a total of 2 messages" in r.stderr,
          f"--max-messages 2 prints exactly 2: {r.stdout!r}")
    r = run([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "cons",
             "--partition", "0", "--offset", "1", "--max-messages", "2"])
    check(r.returncode == 0 and r.stdout ==
          "User login: user001\nno key here\n",
          f"--partition 0 --offset 1 starts at the second record: "
          f"{r.stdout!r}")
    r = run([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "cons",
             "--from-beginning", "--timeout-ms", "8000", "--group", "g1"])
    check(r.returncode == 0 and r.stdout.count("\n") == 3 and
          "TimeoutException" in r.stderr and
          "Processed a total of 3 messages" in r.stderr,
          f"--timeout-ms ends after the last record ({r.stderr!r})")


def kafka_watch_tests(bs):
    """bench's kafka-watch: summed high watermarks, and the latency reader's
    counts of loadgen --seq records (distinct, duplicate, malformed)."""
    r = run([KWATCH, "hwm", "--bootstrap-server", bs, "--topic", "perf",
             "--once"])
    check(r.returncode == 0 and r.stdout.startswith("baseline 3000 "
                                                    "partitions=2"),
          f"kafka-watch hwm sums both partitions: {r.stdout!r}")
    w = subprocess.Popen([KWATCH, "hwm", "--bootstrap-server", bs, "--topic",
                          "lat", "--records", "203", "--timeout", "60"],
                         stdout=subprocess.PIPE, text=True)
    base = w.stdout.readline()
    lines = []
    for seq in range(100):
        lines.append("%08u %012u %019u xx" % (0, seq, time.time_ns()))
    lines.append("%08u %012u %019u dup" % (0, 5, time.time_ns()))
    lines.append("not a loadgen record")
    for seq in range(100):
        lines.append("%08u %012u %019u yy" % (1, seq, time.time_ns()))
    lines.append("%08u %012u %019u late" % (1, 100, time.time_ns()))
    r = subprocess.run(["kcat", "-P", "-b", bs, "-t", "lat"],
                       input="\n".join(lines) + "\n", text=True,
                       capture_output=True, timeout=60)
    out, _ = w.communicate(timeout=90)
    check(base.startswith("baseline 0") and w.returncode == 0 and
          re.search(r"^reached records=203 hwm=203 end_ns=\d+", out, re.M),
          f"kafka-watch hwm waits for +203: {base!r} {out!r}")
    r = run([KWATCH, "latency", "--bootstrap-server", bs, "--topic", "lat",
             "--records", "200", "--connections", "2", "--timeout", "60",
             "--from-beginning"])
    m = re.search(r"latency records=(\d+) p50_us=\S+ p99_us=\S+ "
                  r"p999_us=\S+ max_us=\S+ lost=(\d+) dup=(\d+) "
                  r"bad=(\d+)", r.stdout)
    check(r.returncode == 0 and m and m.groups() == ("200", "0", "1", "1"),
          f"kafka-watch latency: 200 distinct, 1 dup, 1 bad: {r.stdout!r}")
    r = run([KWATCH, "latency", "--bootstrap-server", bs, "--topic", "lat",
             "--records", "300", "--connections", "2", "--timeout", "5",
             "--from-beginning"])
    check(r.returncode == 1 and "records=201 " in r.stdout and
          "lost=99 " in r.stdout,
          f"kafka-watch latency reports what is missing: {r.stdout!r}")
    # --sample: runs until SIGTERM, then reads up to the high watermark
    p = subprocess.Popen([KWATCH, "latency", "--bootstrap-server", bs,
                          "--topic", "lat", "--records", "300",
                          "--connections", "2", "--sample", "1",
                          "--from-beginning"], stdout=subprocess.PIPE,
                         text=True)
    first = p.stdout.readline()
    time.sleep(1)
    p.terminate()
    out, _ = p.communicate(timeout=60)
    check(first.startswith("assigned partitions=1 of 1") and
          p.returncode == 0 and
          re.search(r"latency records=201 .* lost=0 dup=1 bad=1 "
                    r"sampled=1/1$", out.strip()),
          f"kafka-watch latency --sample drains to the watermark: {out!r}")


def usage_tests(bs):
    cases = [
        ([PPERF], 0, "usage: producer-performance", "stdout"),
        ([PPERF, "--num-records", "1", "--record-size", "1",
          "--throughput", "-1", "--producer-props", f"bootstrap.servers={bs}"],
         1, "producer-performance: error: argument --topic is required",
         "stderr"),
        ([PPERF, "--topic", "x", "--num-records", "1", "--record-size", "1",
          "--payload-file", "/etc/hostname", "--throughput", "-1",
          "--producer-props", f"bootstrap.servers={bs}"],
         1, "not allowed with", "stderr"),
        ([PPERF, "--topic", "x", "--num-records", "1", "--record-size", "1",
          "--throughput", "-1"], 1,
         "Either --producer-props or --producer.config must be specified.",
         "stderr"),
        ([PPERF, "--topic", "x", "--num-records", "ten", "--record-size",
          "1", "--throughput", "-1", "--producer-props", "acks=1"], 1,
         "argument --num-records: could not convert 'ten'", "stderr"),
        ([PPERF, "--topic", "x", "--num-records", "1", "--record-size", "1",
          "--throughput", "-1", "--producer-props", "acks"], 1,
         "Invalid property: acks", "stderr"),
        ([PPERF, "--topic", "x", "--num-records", "1", "--record-size", "1",
          "--throughput", "-1", "--producer-props", "bogus.prop=1"], 1,
         'No such configuration property: "bogus.prop"', "stderr"),
        ([PPERF, "--topic", "x", "--num-records", "1", "--record-size", "1",
          "--throughput", "-1", "--producer.config", "/nonexistent.props"],
         1, "/nonexistent.props", "stderr"),
        ([CPERF, "--bootstrap-server", bs, "--topic", "x"], 1,
         'Missing required argument "[messages]"', "stderr"),
        ([CPERF, "--bootstrap-server", bs, "--topic", "x", "--messages",
          "lots"], 1, "Cannot parse argument 'lots' of option --messages",
         "stderr"),
        ([CPERF, "--bootstrap-server", bs, "--messages", "1", "--frob"], 1,
         "--frob is not a recognized option", "stderr"),
        ([SLUICE, "consume", "--topic", "x"], 2,
         "--bootstrap-server is required", "stderr"),
        ([SLUICE, "consume", "--bootstrap-server", bs], 2,
         "--topic is required", "stderr"),
        ([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "x",
          "--property", "print.key=maybe"], 2,
         "--property print.key=maybe: expected true or false", "stderr"),
        ([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "x",
          "--property", "print.colour=true"], 2, "unknown property",
         "stderr"),
        ([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "x",
          "--max-messages", "-3"], 2, "--max-messages '-3'", "stderr"),
        ([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "x",
          "--consumer-property", "no.such=1"], 1,
         'No such configuration property: "no.such"', "stderr"),
        ([SLUICE, "consume", "--help"], 0, "usage: sluice consume",
         "stdout"),
        ([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "x",
          "--offset", "5"], 2,
         "The partition is required when offset is specified.", "stderr"),
        ([SLUICE, "consume", "--bootstrap-server", bs, "--topic", "x",
          "--partition", "0", "--offset", "soon"], 2,
         "--offset 'soon': expected earliest, latest", "stderr"),
    ]
    for args, rc, text, stream in cases:
        r = run(args, timeout=60)
        out = r.stdout if stream == "stdout" else r.stderr
        check(r.returncode == rc and text in out,
              f"{' '.join(os.path.basename(a) for a in args[:2])}... -> "
              f"rc {rc} and '{text}' (got rc={r.returncode}: "
              f"{out.strip()[:200]!r})")
    r = run([SLUICE, "--help"])
    check("consume" in r.stdout, "sluice --help lists consume")


if __name__ == "__main__":
    sys.exit(main())
