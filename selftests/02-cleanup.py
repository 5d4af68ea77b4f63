#!/usr/bin/env python3
# timeout: 120
"""A test that fails or is killed leaves nothing behind.

kselftest's runner starts tests back to back and cleans up nothing
between them, so the test helpers undo at exit what a test made
(selftests/lib/undo.py). This test runs a child test that loads the
module, makes a rule, a network namespace and an agent process, and
then (1) raises an exception, (2) is sent SIGTERM as the runner's
timeout does, (3) exits normally having removed the rule itself. Each
time, afterwards: no rule directory, no namespace, no agent process,
and the module unloaded, because the child loaded it. A child started
with the module already loaded must leave it loaded.

Topology: one network namespace made by the child; nothing else.
"""
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from deadline import poll                             # noqa: E402

PLAN = 13
CHILD = r"""
import faulthandler, os, signal, sys, time
faulthandler.register(signal.SIGUSR1, all_threads=True)
sys.path.insert(0, %(lib)r)
import ttmod
from netns import Netns
from peer import Agent
ttmod.load()
r = ttmod.Rule("tt-cleanup", keepalive=1, keepidle=9)
ns = Netns(%(ns)r)
ag = Agent(ns)
print("made", ag.p.pid, flush=True)
how = sys.argv[1]
if how == "raise":
    raise RuntimeError("a test failing half-way")
if how == "term":
    time.sleep(60)
r.remove()
"""


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def leftovers(nsname, pid):
    left = []
    if os.path.isdir(os.path.join(ttmod.RULES, "tt-cleanup")):
        left.append("rule")
    if os.path.exists(f"/run/netns/{nsname}"):
        left.append("netns")
    if pid and alive(pid):
        left.append(f"agent {pid}")
    return left


def child(how, nsname):
    code = CHILD % {"lib": os.path.join(HERE, "lib"), "ns": nsname}
    p = subprocess.Popen([sys.executable, "-c", code, how], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    pid = int(line.split()[1]) if line.startswith("made") else None
    if how == "term" and pid:
        p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        # Where it is stuck, before it is killed: the kernel's view of it
        # and of what it started, and Python's stack (faulthandler).
        where = stuck(p.pid)
        p.send_signal(signal.SIGUSR1)
        try:
            _, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        err = f"still running after 60 s:\n{where}\n{err}"
    return p.returncode, pid, err


def stuck(pid):
    """/proc's state, wchan and kernel stack of pid and its descendants."""
    lines = []
    todo = [pid]
    while todo:
        q = todo.pop(0)
        info = {}
        for name in ("cmdline", "wchan", "stack", "stat"):
            try:
                with open(f"/proc/{q}/{name}", "rb") as f:
                    info[name] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError as e:
                info[name] = f"({e.strerror})"
        state = info["stat"].split(") ", 1)[-1][:1]
        lines.append(f"pid {q} [{state}] {info['cmdline']}: wchan {info['wchan']}")
        lines += [f"  {x}" for x in info["stack"].splitlines()]
        try:
            with open(f"/proc/{q}/task/{q}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return "\n".join(lines)


def main(t):
    ttmod.require_module()
    t.ok(not ttmod.loaded(), "the module is not loaded at the start")
    for how, rc_ok in (("raise", lambda rc: rc == 1),
                       ("term", lambda rc: rc == 128 + signal.SIGTERM),
                       ("normal", lambda rc: rc == 0)):
        nsname = f"ttclean-{how}"
        rc, pid, err = child(how, nsname)
        t.ok(pid is not None and rc_ok(rc), f"{how}: the child made its things and exited rc {rc}",
             diag=err.strip()[-2000:])
        poll(lambda: not leftovers(nsname, pid), 10)
        left = leftovers(nsname, pid)
        t.ok(not left, f"{how}: no rule, namespace or agent is left",
             diag=f"left: {left}")
        t.ok(not ttmod.loaded(), f"{how}: the module it loaded is unloaded")
    # Loaded before the child: the child must leave it loaded.
    ttmod.load()
    t0 = time.monotonic()
    rc, pid, err = child("raise", "ttclean-kept")
    t.ok(rc == 1 and not leftovers("ttclean-kept", pid),
         "module loaded beforehand: the failing child still removes its things",
         diag=f"rc {rc}, left {leftovers('ttclean-kept', pid)}: {err.strip()[-1000:]}")
    t.ok(ttmod.loaded(), "... and leaves the module loaded",
         diag=f"{time.monotonic() - t0:.1f} s")
    ttmod.unload_point(t)


Tap.run(main, PLAN)
