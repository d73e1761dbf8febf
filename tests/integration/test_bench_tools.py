#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench/loadgen and bench/sockread, which other benchmarks and tests rely
on: exact record and byte counts over TCP and UDP, --seq headers in order
with no gaps, pacing that does not lose records, --sendfile's byte-exact
lines, --congestion naming the congestion control in use, --wait-ok
counting OK and FAILED replies, and clear failures (refused port, usage,
--timeout).
Never asserts on timing."""
import os
import socket
import subprocess
import sys
import threading

BUILD = os.environ["SLUICE_BUILD"]
LOADGEN = os.path.join(BUILD, "bench", "loadgen")
SOCKREAD = os.path.join(BUILD, "bench", "sockread")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def result(line):
    f = line.split()
    d = {"name": f[0]}
    d.update(kv.split("=", 1) for kv in f[5:] if "=" in kv)
    d["timeout"] = "TIMEOUT" in f
    return d


def pair(lg_args, sr_args):
    sr = subprocess.Popen([SOCKREAD, "--port", "0", "--timeout", "60",
                           *sr_args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        port = sr.stdout.readline().split()[2]
        lg = subprocess.run([LOADGEN, "--port", port, "--timeout", "60",
                             *lg_args], capture_output=True, text=True,
                            timeout=120)
        out, err = sr.communicate(timeout=120)
    finally:
        if sr.poll() is None:
            sr.kill()
            sr.wait()
    return lg, result(lg.stdout.strip()), sr.returncode, result(
        out.strip().splitlines()[-1]), err


# TCP, several connections, --seq: every record, in order, no gaps.
n, size, conns = 20000, 300, 7
lg, lgr, src, srr, err = pair(
    ["--records", str(n), "--size", str(size), "--connections", str(conns),
     "--seq"], ["--records", str(n), "--check-seq"])
check(lg.returncode == 0 and src == 0, f"tcp --seq: exit codes {lg.returncode}"
      f" {src}: {lg.stderr} {err}")
check(lgr.get("records") == str(n) and lgr.get("bytes") == str(n * size),
      f"loadgen reports {n} records, {n * size} bytes: {lgr}")
check(srr.get("records") == str(n) and srr.get("bytes") == str(n * size),
      f"sockread counts {n} records, {n * size} bytes: {srr}")
check(srr.get("seq_ok") == str(n) and srr.get("seq_gaps") == "0" and
      srr.get("seq_dups") == "0" and srr.get("seq_bad") == "0",
      f"every --seq header in order: {srr}")

# Without --records, sockread stops when all C connections closed.
lg, lgr, src, srr, err = pair(
    ["--records", "1001", "--size", "64", "--connections", "3"],
    ["--connections", "3"])
check(src == 0 and srr.get("records") == "1001",
      f"--connections 3: all 1001 records: {srr} {err}")

# --sendfile: the template's pages by reference; byte-exact lines, whole
# and part templates (168 records of 777 bytes each per 128 KiB), paced
# and not.
for extra in ([], ["--rate", "50000"]):
    n, size, conns = 1000, 777, 3
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    got = []

    def drain(c):
        buf = bytearray()
        while True:
            d = c.recv(1 << 16)
            if not d:
                break
            buf += d
        c.close()
        got.append(bytes(buf))

    def accept_all():
        ts = []
        for _ in range(conns):
            c, _ = srv.accept()
            t = threading.Thread(target=drain, args=(c,))
            t.start()
            ts.append(t)
        for t in ts:
            t.join()

    acc = threading.Thread(target=accept_all)
    acc.start()
    r = subprocess.run([LOADGEN, "--port", str(srv.getsockname()[1]),
                        "--records", str(n), "--size", str(size),
                        "--connections", str(conns), "--sendfile",
                        "--timeout", "60", *extra], capture_output=True,
                       text=True, timeout=120)
    acc.join(timeout=60)
    srv.close()
    d = result(r.stdout.strip())
    line = b"x" * (size - 1) + b"\n"
    check(r.returncode == 0 and d.get("records") == str(n),
          f"--sendfile {extra}: exit 0, {n} records: {r.returncode} {d} "
          f"{r.stderr}")
    check(sorted(len(g) for g in got) == [333 * size, 333 * size,
                                          334 * size] and
          all(g == line * (len(g) // size) for g in got),
          f"--sendfile {extra}: every line byte-exact, 333/333/334 per "
          f"connection: {[len(g) for g in got]}")

# --congestion: the connections' TCP congestion control, named back in the
# result line (reno is built into every kernel); every record still
# arrives. Without it the line names the system's default.
with open("/proc/sys/net/ipv4/tcp_congestion_control") as f:
    sys_cc = f.read().strip()
for cc, want in ((["--congestion", "reno"], "reno"), ([], sys_cc)):
    lg, lgr, src, srr, err = pair(
        ["--records", "5000", "--size", "200", "--connections", "2",
         "--sendfile", *cc], ["--records", "5000", "--connections", "2"])
    check(lg.returncode == 0 and src == 0 and
          srr.get("records") == "5000" and lgr.get("cc") == want,
          f"loadgen {cc}: 5000 records, cc={want}: {lg.returncode} {src} "
          f"{lgr} {srr} {lg.stderr} {err}")
lg = subprocess.run([LOADGEN, "--port", "1", "--records", "10",
                     "--congestion", "no-such-cc"], capture_output=True,
                    text=True, timeout=60)
check(lg.returncode == 1 and "--congestion no-such-cc" in lg.stderr and
      "tcp_available_congestion_control" in lg.stderr,
      f"--congestion no-such-cc: exit 1 naming it: {lg.returncode} "
      f"{lg.stderr}")

# UDP, paced: every datagram arrives on loopback at a modest rate.
n = 3000
lg, lgr, src, srr, err = pair(
    ["--udp", "--records", str(n), "--size", "100", "--connections", "2",
     "--seq", "--rate", "20000"], ["--udp", "--records", str(n),
                                   "--check-seq"])
check(lg.returncode == 0 and src == 0 and srr.get("records") == str(n) and
      srr.get("seq_ok") == str(n), f"udp paced --seq: {lgr} {srr} {err}")

# --wait-ok: a server answering OK to each line but FAILED to 'bad' ones.
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
port = srv.getsockname()[1]


def serve():
    while True:
        try:
            c, _ = srv.accept()
        except OSError:
            return
        threading.Thread(target=answer, args=(c,), daemon=True).start()


def answer(c):
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        buf += d
        *lines, buf = buf.split(b"\n")
        c.sendall(b"".join(b"FAILED: test\n" if l.startswith(b"00000001")
                           else b"OK\n" for l in lines))
    c.close()


threading.Thread(target=serve, daemon=True).start()
r = subprocess.run([LOADGEN, "--port", str(port), "--records", "1000",
                    "--size", "60", "--connections", "2", "--wait-ok",
                    "--seq", "--timeout", "60"], capture_output=True,
                   text=True, timeout=120)
d = result(r.stdout.strip())
check(r.returncode == 3 and d.get("ok") == "500" and d.get("failed") ==
      "500", f"--wait-ok counts OK/FAILED per line, exit 3: {r.returncode}"
      f" {d}")
check(d.get("p50_us") not in (None, "-"), "--wait-ok reports ack latency")
srv.close()

# Failures are clear.
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
r = subprocess.run([LOADGEN, "--port", str(dead), "--records", "10"],
                   capture_output=True, text=True, timeout=60)
check(r.returncode == 1 and "refused" in r.stderr,
      f"refused port: exit 1: {r.returncode} {r.stderr}")
for args in (["--records", "5"], ["--port", "1", "--size", "0"],
             ["--port", "1", "--seq", "--size", "20"], ["--port", "1", "x"],
             ["--port", "1", "--sendfile", "--seq"],
             ["--port", "1", "--sendfile", "--udp"],
             ["--port", "1", "--congestion", "cubic", "--udp"],
             ["--port", "1", "--congestion", ""]):
    r = subprocess.run([LOADGEN, *args], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 2, f"loadgen {args}: usage error 2")
# A peer that accepts but never reads: --timeout ends it with exit 1.
hold = socket.socket()
hold.bind(("127.0.0.1", 0))
hold.listen(1)
r = subprocess.run([LOADGEN, "--port", str(hold.getsockname()[1]),
                    "--records", "100000000", "--timeout", "2"],
                   capture_output=True, text=True, timeout=60)
check(r.returncode == 1 and "TIMEOUT" in r.stdout,
      f"--timeout: exit 1 with TIMEOUT: {r.returncode} {r.stdout}")
hold.close()

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("test_bench_tools: all checks passed")
