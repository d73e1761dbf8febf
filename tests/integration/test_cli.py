#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The command line: --help/--version, flume-ng's spellings of the agent
options (-f repeated with later files overriding, -n, -c, -D...,
--no-reload-conf), and usage errors. Runs the real binary ($SLUICE)."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

SLUICE = os.environ["SLUICE"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args, timeout=20):
    return subprocess.run([SLUICE, *args], capture_output=True, text=True,
                          timeout=timeout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, deadline):
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


r = run("--version")
check(r.returncode == 0 and r.stdout.startswith("sluice "),
      "--version prints 'sluice X' and exits 0")
r = run("--help")
check(r.returncode == 0 and "agent" in r.stdout and "ctl" in r.stdout,
      "--help lists the commands")
for cmd in ("agent", "check", "ctl"):
    r = run(cmd, "--help")
    check(r.returncode == 0 and "usage: sluice " + cmd in r.stdout,
          f"{cmd} --help prints its usage (got rc={r.returncode})")
r = run("frobnicate")
check(r.returncode == 2 and "unknown command" in r.stderr,
      "an unknown command is a usage error (2)")
r = run("agent", "-n", "agent1")
check(r.returncode == 2 and "--conf-file" in r.stderr,
      "agent without --conf-file is a usage error")
r = run("check", "-f", "/nonexistent.conf", "-n", "agent1")
check(r.returncode == 1 and "/nonexistent.conf" in r.stderr,
      "a missing file is named in the error")
r = run("agent", "-f", "x.conf", "-n", "a", "-Dflume.root.logger=LOUD")
check(r.returncode == 2 and "unknown log level" in r.stderr,
      "a bad log level is refused")

with tempfile.TemporaryDirectory() as tmp:
    base = os.path.join(tmp, "base.conf")
    over = os.path.join(tmp, "override.conf")
    sock = os.path.join(tmp, "ctl.sock")
    port = free_port()
    with open(base, "w") as f:
        f.write("a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
                "a1.sources.r1.type = netcat\n"
                "a1.sources.r1.bind = 127.0.0.1\n"
                "a1.sources.r1.port = 1\n"
                "a1.sources.r1.channels = c1\n"
                "a1.channels.c1.type = memory\n"
                "a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n")
    with open(over, "w") as f:
        f.write(f"a1.sources.r1.port = {port}\n")
    r = run("check", "-f", base, "-f", over, "-n", "a1")
    check(r.returncode == 0 and f"port = {port}" in r.stdout,
          "check: a later -f overrides an earlier key")
    # flume-ng's own spellings, all accepted together
    proc = subprocess.Popen(
        [SLUICE, "agent", "--conf", tmp, "--conf-file", base, "-f", over,
         "--name", "a1", "-Dflume.root.logger=DEBUG,console",
         "-Dflume.monitoring.type=http", "--no-reload-conf",
         "--control-socket", sock],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        up = wait_listening(port, proc, time.time() + 20)
        check(up, "the agent listens on the overriding port")
        if up:
            with socket.create_connection(("127.0.0.1", port), 5) as c:
                c.sendall(b"hello cli\n")
                c.settimeout(5)
                check(c.recv(16) == b"OK\n", "the line is acknowledged")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        check(proc.returncode == 0, f"SIGINT stops the agent with 0 "
              f"(got {proc.returncode})")
        check("DEBUG" in err, "-Dflume.root.logger=DEBUG shows debug lines")
        check("ignoring -Dflume.monitoring.type=http" in err,
              "an unknown -D key is accepted and named at debug level")
        check("hello cli" in err, "the logger sink logged the event")
        check(not os.path.exists(sock), "the control socket is removed")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("test_cli: all checks passed")
