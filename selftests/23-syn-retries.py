#!/usr/bin/env python3
# timeout: 90
"""syn_retries bounds connect() to a black-holed address.

The server's node is gone (everything dropped at its interface, its MAC
pinned on the client). A rule (direction out, remote_ports 7951,
syn_retries 2) makes the client's connect() fail with ETIMEDOUT after the
kernel's 2-retry time: SYN at 0, retries at 1 and 3 s, give up at
1 + 2 + 4 = 7 s (accepted: 6.5..8 s). getsockopt(TCP_SYNCNT) on the
connecting socket already shows 2: the rule applied before the first SYN.
Without a rule (port 7952, tcp_syn_retries 6 = 127 s) connect() is still
in SYN_SENT at 9.5 s. Each covered connect()'s end is one tcptimeo:timeout
event: rule syn, cause syn, state SYN_SENT.
"""
import errno
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
import events                                         # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, TCP_SYN_SENT                  # noqa: E402
from deadline import sleep_until                      # noqa: E402

EXPECT, EARLY, SLACK = 7.0, 0.5, 1.0
LIMIT = 9.5
P_COVERED, P_OTHER = 7951, 7952
PLAN = 5


def main(t):
    ttmod.load()
    tr, no_trace = events.optional()
    pair = Pair()
    cli = Agent(pair.cli)
    rule = Rule("syn", direction="out", remote_ports=P_COVERED, syn_retries=2)
    pair.kill("srv")
    conns = {}
    for name, fam, port in (("IPv4", 4, P_COVERED), ("IPv6", 6, P_COVERED),
                            ("IPv4, no rule", 4, P_OTHER)):
        jid, sid = cli.connect_bg(fam, pair.addr("srv", fam), port)
        conns[name] = dict(job=jid, sid=sid, port=port, fam=fam)
    t0 = min(cli.job(c["job"])["t_start"] for c in conns.values())
    got = {n: (cli.getopts(c["sid"])["syn_retries"], cli.tcp_state(c["sid"]))
           for n, c in conns.items()}
    t.ok(got == {"IPv4": (2, TCP_SYN_SENT), "IPv6": (2, TCP_SYN_SENT),
                 "IPv4, no rule": (int(pair.cli.sysctl_get("net.ipv4.tcp_syn_retries")),
                                   TCP_SYN_SENT)},
         "while connecting (SYN_SENT), TCP_SYNCNT is 2 under the rule and the "
         "sysctl's without", diag=str(got))
    for name, c in conns.items():
        if c["port"] != P_COVERED:
            continue
        j = cli.wait(c["job"], t0 + EXPECT + SLACK + 1 - time.monotonic())
        took = j.get("t_end", time.monotonic()) - j.get("t_connect", j["t_start"])
        t.ok(j["done"] and j.get("errno") == errno.ETIMEDOUT
             and EXPECT - EARLY <= took <= EXPECT + SLACK,
             f"{name}: connect() fails with ETIMEDOUT after the 2-retry time "
             f"({EXPECT:g} s, +{SLACK:g})", diag=f"job {j}; {took:.2f} s")
        t.diag(f"{name}: connect() {j.get('errname', j.get('result'))} after {took:.2f} s")
    desc = ("tcptimeo:timeout: one event per covered connect(), rule syn, cause syn, "
            "state SYN_SENT, heard_ms 0 (nothing was ever heard)")
    if tr:
        bad = events.check(tr, {n: ({"dport": c["port"], "dst": pair.addr("srv", c["fam"])},
                                    {"rule": "syn", "cause": "syn", "dir": "out",
                                     "state": "SYN_SENT", "heard_ms": 0, "err": errno.ETIMEDOUT})
                                for n, c in conns.items() if c["port"] == P_COVERED})
        t.ok(not bad, desc, diag="\n".join(bad))
        tr.close()
    else:
        t.skip(desc, no_trace)

    c = conns["IPv4, no rule"]
    sleep_until(t0 + LIMIT)
    j = cli.job(c["job"])
    state = cli.tcp_state(c["sid"])
    t.ok(not j["done"] and state == TCP_SYN_SENT,
         f"no rule: connect() still in SYN_SENT after {LIMIT:g} s",
         diag=f"job {j}, state {state}")
    rule.remove()
    cli.close_agent()
    pair.delete()


Tap.run(main, PLAN)
