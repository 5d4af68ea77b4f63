#!/usr/bin/env python3
# timeout: 240
"""20 load/unload cycles under connection churn with rules flapping.

Two churn loops (IPv4 and IPv6 loopback in a namespace: connect, accept,
one byte, close, as fast as they go) run through every cycle. Each cycle
loads the module, creates three rules, flaps them (enable/disable,
rewrites of live rules, priority changes), waits until the live rules
have stamped churn connections (`matched` > 0), removes the rules and
unloads. Every cycle must load, stamp and unload; the churn must never
see an error; the kernel must log no warning. TCPTIMEO_LOAD_CYCLES
(default 20) runs more cycles, to hunt a rare race.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Netns                               # noqa: E402
from peer import Agent                                # noqa: E402
from deadline import poll                             # noqa: E402

CYCLES = int(os.environ.get("TCPTIMEO_LOAD_CYCLES", "20"))
P4, P6 = 7981, 7982
PLAN = CYCLES + 2


def cycle():
    """One cycle; returns (ok, detail)."""
    ttmod.load()
    rules = []
    try:
        rules.append(Rule("c1", direction="any", remote_ports=P4, keepalive=1,
                          keepidle=5))
        rules.append(Rule("c2", direction="in", local_ports=P6, keepidle=6,
                          user_timeout=4000))
        rules.append(Rule("c3", enable=False, priority=1, keepidle=7))
        c1, c2, c3 = rules
        for k in range(5):
            c1.disable()
            c3.enable()
            c2.set("keepidle", k + 1)
            c1.set("priority", 900 + k)
            c1.enable()
            c3.disable()
        matched = poll(lambda: c1.matched > 0 and c2.matched > 0
                       and (c1.matched, c2.matched), 5, 0.05)
    finally:
        for r in rules:
            r.remove()
    p = ttmod.unload(check=False)
    ok = bool(matched) and p.returncode == 0 and not ttmod.loaded()
    return ok, f"matched {matched or (c1.matched, c2.matched)}, rmmod rc " \
               f"{p.returncode} {p.stderr.strip()}"


def main(t):
    log = ttmod.KernelLog()
    ns = Netns()
    ag = Agent(ns)
    j4 = ag.call("churn_bg", family=4, addr="127.0.0.1", port=P4)["job"]
    j6 = ag.call("churn_bg", family=6, addr="::1", port=P6)["job"]
    poll(lambda: ag.job(j4).get("conns", 0) > 0 and ag.job(j6).get("conns", 0) > 0, 10)
    for i in range(CYCLES):
        before = ag.job(j4)["conns"] + ag.job(j6)["conns"]
        ok, detail = cycle()
        during = ag.job(j4)["conns"] + ag.job(j6)["conns"] - before
        t.ok(ok, f"cycle {i + 1}: load, rules flap and stamp churn connections, "
             f"unload ({during} connections)", diag=detail)
    r4, r6 = ag.stop(j4), ag.stop(j6)
    t.ok(r4["errors"] == 0 and r6["errors"] == 0 and r4["conns"] > 0 and r6["conns"] > 0,
         f"churn never failed ({r4['conns']} IPv4 + {r6['conns']} IPv6 connections)",
         diag=f"{r4} {r6}")
    t.ok(not log.problems(), "no kernel warning", diag="\n".join(log.problems()))
    ag.close_agent()
    ns.delete()


Tap.run(main, PLAN)
