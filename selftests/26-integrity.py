#!/usr/bin/env python3
# timeout: 240
"""Stamped connections carry data intact.

50 MB of seeded pseudo-random data over the veth pair, SHA-256 computed
by the sender and by the receiver: first without the module, then with a
rule stamping both ends (keepalive idle 1 intvl 1 cnt 3, user_timeout
10000, so probes and timers run during the transfer) in both
directions and both families. Every receiver's digest must equal the
sender's and the digest of the run without the module.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, wildcard                      # noqa: E402

SIZE = 50 * 1000 * 1000
SEED = 20261127
PORT = 7991
RULE = dict(keepalive=1, keepidle=1, keepintvl=1, keepcnt=3, user_timeout=10000)
PLAN = 6


def transfer(pair, cli, srv, fam, reverse=False):
    """One connection, SIZE bytes; returns (sender report, receiver report, opts)."""
    lid = srv.listen(fam, wildcard(fam), PORT, v6only=True if fam == 6 else None)
    c = cli.connect(fam, pair.addr("srv", fam), PORT)
    a = srv.accept(lid)
    srv.close(lid)
    snd, sid, rcv, rid = (srv, a["id"], cli, c["id"]) if reverse else \
        (cli, c["id"], srv, a["id"])
    jr = rcv.call("recv_stream_bg", id=rid)["job"]
    js = snd.call("send_stream_bg", id=sid, nbytes=SIZE, seed=SEED)["job"]
    s = snd.wait(js, 150)
    r = rcv.wait(jr, 30)
    cli.close(c["id"])
    srv.close(a["id"])
    return s, r, (c["opts"], a["opts"])


def main(t):
    log = ttmod.KernelLog()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    s, r, _ = transfer(pair, cli, srv, 4)
    base = s.get("sha256")
    t.ok(s.get("result") == "sent" and r.get("nbytes") == SIZE and r.get("sha256") == base,
         "without the module: 50 MB arrive intact", diag=f"{s} {r}")
    t.diag(f"without the module: {SIZE / (s['t_end'] - s['t_start']) / 1e6:.0f} MB/s")

    ttmod.load()
    rule = Rule("integrity", **RULE)
    first = True
    for fam, rev in ((4, False), (6, False), (4, True)):
        s, r, (co, ao) = transfer(pair, cli, srv, fam, rev)
        if first:
            first = False
            bad = [o for o in (co, ao) if any(o[k] != v for k, v in RULE.items())]
            t.ok(not bad, "with the rule: both ends are stamped", diag=f"{co} {ao}")
        what = f"IPv{fam} {'server to client' if rev else 'client to server'}"
        t.ok(r.get("nbytes") == SIZE and r.get("sha256") == s.get("sha256") == base,
             f"stamped, {what}: 50 MB arrive with the same SHA-256 as without "
             "the module", diag=f"{s} {r}")
        if "t_end" in s:
            t.diag(f"stamped {what}: "
                   f"{SIZE / (s['t_end'] - s['t_start']) / 1e6:.0f} MB/s")
    rule.remove()
    t.ok(not log.problems(), "no kernel warning", diag="\n".join(log.problems()))
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
