#!/usr/bin/env python3
# timeout: 180
"""rmmod with 500 open connections and rules in place.

500 loopback connections in a namespace, both ends stamped by a rule
(keepalive, idle 1, intvl 1, cnt 5, user_timeout 30000). While rule
directories exist configfs pins the module: rmmod must fail and leave it
loaded, and the connections keep working. Once the rules are removed,
rmmod succeeds with the connections still open; they keep their values,
every one has its keepalive timer armed (ss), the timers keep firing
(>= 1000 probes counted by the kernel's TCPKeepAlive after the unload,
i.e. the kernel's own callbacks, nothing in the gone module), every
connection still carries data, and the kernel logs no warning.

Topology: one network namespace, both ends of every connection in it
(127.0.0.1).

A keepalive timer that is running its callback at the instant ss reads
the socket shows as not armed (one in 1000 was, on a loaded host), so
the armed check polls: a socket counts once any snapshot shows its timer
armed, and the check passes when all have been seen, or fails at a
deadline. Its control: a client that turns SO_KEEPALIVE off must be the
one socket that check then misses.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Netns, ss_conns                     # noqa: E402
from peer import Agent                                # noqa: E402
from deadline import poll, SCALE                      # noqa: E402

N = 500
PORT = 7971
RULE = dict(keepalive=1, keepidle=1, keepintvl=1, keepcnt=5, user_timeout=30000)
PLAN = 10


def seen_armed(ns, want, timeout):
    """Poll ss until `want` sockets have each shown a keepalive timer in some
    snapshot, or `timeout` passes. Returns (armed, all) as sets of
    (local, peer) address pairs."""
    armed, every = set(), set()

    def step():
        for e in ss_conns(ns):
            key = (e["local"], e["peer"])
            every.add(key)
            if e["timer"] and e["timer"][0] == "keepalive":
                armed.add(key)
        return len(armed) >= want
    poll(step, timeout, 0.2)
    return armed, every


def keepalive_probes(ns):
    lines = ns.run(["cat", "/proc/net/netstat"]).stdout.splitlines()
    for head, vals in zip(lines[::2], lines[1::2]):
        if head.startswith("TcpExt:"):
            return int(dict(zip(head.split()[1:], vals.split()[1:]))["TCPKeepAlive"])
    raise RuntimeError("no TcpExt in /proc/net/netstat")


def main(t):
    log = ttmod.KernelLog()
    ttmod.load()
    ns = Netns()
    ag = Agent(ns)
    rule = Rule("busy-out", direction="out", remote_ports=PORT, **RULE)
    rule2 = Rule("busy-in", direction="in", local_ports=PORT, **RULE)
    idle = Rule("idle", enable=False, keepidle=99)
    s0 = ttmod.stats()
    lid = ag.listen(4, "127.0.0.1", PORT)
    conn = ag.call("connect_many", family=4, addr="127.0.0.1", port=PORT, n=N,
                   read_timeout=120)
    cids = conn["ids"]
    aids = ag.call("accept_many", id=lid, n=N, read_timeout=120)["ids"]
    pairs = list(zip(cids, aids))
    s1 = ttmod.stats()
    m = (rule.matched, rule2.matched)
    t.ok(m == (N, N) and s1["stamped_out"] - s0["stamped_out"] == N
         and s1["stamped_in"] - s0["stamped_in"] == N,
         f"{N} connections open, both ends stamped",
         diag=f"matched {m}, stats {s0} -> {s1}")

    p = ttmod.unload(check=False)
    t.ok(p.returncode != 0 and ttmod.loaded(),
         "rmmod is refused while rule directories exist",
         diag=f"rc {p.returncode}: {p.stderr.strip()}")
    t.diag(f"rmmod said: {p.stderr.strip()}")
    r = ag.call("ping_many", pairs=pairs, read_timeout=120 * SCALE)
    t.eq(r["n"], N, f"all {N} connections still carry data")

    for x in (rule, rule2, idle):
        x.remove()
    p = ttmod.unload(check=False)
    t.ok(p.returncode == 0 and not ttmod.loaded(),
         f"rules removed: rmmod succeeds with {N} connections open",
         diag=f"rc {p.returncode}: {p.stderr.strip()}")

    opts = ag.call("getopts_many", ids=cids + aids, read_timeout=60)["opts"]
    bad = [o for o in opts if any(o[k] != v for k, v in RULE.items())]
    t.ok(not bad, f"after rmmod all {2 * N} sockets keep the rule's values",
         diag=f"{len(bad)} differ, e.g. {bad[:1]}")
    armed, every = seen_armed(ns, 2 * N, 10 * SCALE)
    t.ok(len(armed) >= 2 * N, f"after rmmod {2 * N} keepalive timers are armed (ss)",
         diag=f"{len(armed)} of {len(every)} seen armed; never: {sorted(every - armed)[:3]}")

    # The control: one client's timer really gone must be the one missed.
    ag.call("setopts", id=cids[0], opts={"keepalive": 0})
    off = (tuple(conn["local"][0]), ("127.0.0.1", PORT))
    armed, every = seen_armed(ns, 2 * N, 3 * SCALE)
    t.ok(every - armed == {off},
         "control: SO_KEEPALIVE turned off on one client: the ss check misses it, only it",
         diag=f"missed {sorted(every - armed)[:3]}, expected {off}")

    k0 = keepalive_probes(ns)
    k = poll(lambda: keepalive_probes(ns) - k0 >= 2 * N and keepalive_probes(ns) - k0,
             20, 0.5)
    t.ok(k and k >= 2 * N, f"keepalive timers fire after rmmod (>= {2 * N} probes)",
         diag=f"{keepalive_probes(ns) - k0} probes")
    t.diag(f"{keepalive_probes(ns) - k0} keepalive probes sent after the unload")
    r = ag.call("ping_many", pairs=pairs, read_timeout=120, check=False)
    t.ok(r.get("n") == N, f"all {N} connections still carry data after the probes",
         diag=str(r))
    t.ok(not log.problems(), "no kernel warning",
         diag="\n".join(log.problems()))
    ag.call("close_many", ids=cids + aids, read_timeout=60)
    ag.close_agent()
    ns.delete()


Tap.run(main, PLAN)
