#!/usr/bin/env python3
# timeout: 120
"""Zero window: the peer is alive but never reads; the client keeps
writing until its send() blocks for good. Window probes are answered, so
neither keepalive nor retransmission limits end it: only TCP_USER_TIMEOUT
does. Under a rule (direction out, user_timeout 5000) the client's send()
fails with ETIMEDOUT within user_timeout + 1 s of its last progress
(IPv4, IPv6); without a rule it is still blocked 15 s after that. `ss`
shows the persist (window probe) timer, proving the state is a zero
window and not a retransmission. Each covered writer's end is one
tcptimeo:timeout event, rule zw, cause zero_window."""
import errno
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
import events                                         # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair, ss_find                       # noqa: E402
from peer import Agent, listen_all, TCP_ESTABLISHED   # noqa: E402
from deadline import wait_until, sleep_until, SCALE   # noqa: E402

# scaled on slow (debug) kernels, or the writers time out before they
# are seen blocked
UT = 5.0 * SCALE
SLACK, EARLY = 1.0 * SCALE, 0.5 * SCALE
LIMIT = 15 * SCALE
P_COVERED, P_OTHER = 7901, 7902
PLAN = 6


def main(t):
    ttmod.load()
    tr, no_trace = events.optional()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    rule = Rule("zw", direction="out", remote_ports=P_COVERED,
                user_timeout=int(UT * 1000))
    ls = listen_all(srv, [P_COVERED, P_OTHER])
    conns = {}
    for name, fam, port in (("IPv4", 4, P_COVERED), ("IPv6", 6, P_COVERED),
                            ("IPv4, no rule", 4, P_OTHER)):
        c = cli.connect(fam, pair.addr("srv", fam), port)
        srv.accept(ls[fam, port])          # accepted, never read
        conns[name] = dict(sid=c["id"], lport=c["local"][1], port=port,
                           ut=c["opts"]["user_timeout"])
    t.ok(all(c["ut"] == (UT * 1000 if c["port"] == P_COVERED else 0)
             for c in conns.values()),
         "user_timeout is 5000 on the covered sockets, 0 on the other",
         diag=str({n: c["ut"] for n, c in conns.items()}))
    for c in conns.values():
        c["job"] = cli.send_forever_bg(c["sid"])

    # blocked for good: no progress for a second
    def stalled():
        now = time.monotonic()
        js = [cli.job(c["job"]) for c in conns.values()]
        return all(j["done"] or now - j["last_progress"] > 1.0 for j in js)
    wait_until(stalled, 10 * SCALE, "the writers to block")
    timers = {n: ss_find(pair.cli, lport=c["lport"], rport=c["port"])
              for n, c in conns.items()}
    t.ok(all(e and e["timer"] and e["timer"][0] == "persist" for e in timers.values()),
         "every writer is blocked on a zero window (ss: timer:(persist,...))",
         diag="\n".join(f"{n}: {e and e['line']}" for n, e in timers.items()))
    for n, c in conns.items():
        j = cli.job(c["job"])
        c["last"] = j["last_progress"]
        t.diag(f"{n}: {j.get('sent', 0)} bytes written before the window closed")

    for name, c in conns.items():
        if c["port"] != P_COVERED:
            continue
        j = cli.wait(c["job"], c["last"] + UT + SLACK + 1 - time.monotonic())
        took = j.get("t_end", time.monotonic()) - c["last"]
        t.ok(j["done"] and j.get("errno") == errno.ETIMEDOUT
             and UT - EARLY <= took <= UT + SLACK,
             f"{name}: send() fails with ETIMEDOUT within user_timeout "
             f"({UT:g} s) +{SLACK:g} s of its last progress",
             diag=f"job {j}; {took:.2f} s")
        t.diag(f"{name}: {j.get('errname', j.get('result'))} {took:.2f} s after "
               "the last progress")

    desc = "tcptimeo:timeout: one event per covered writer, rule zw, cause zero_window"
    if tr:
        bad = events.check(tr, {n: ({"sport": c["lport"], "dport": c["port"]},
                                    {"rule": "zw", "cause": "zero_window", "dir": "out",
                                     "user_timeout": int(UT * 1000)})
                                for n, c in conns.items() if c["port"] == P_COVERED})
        t.ok(not bad, desc, diag="\n".join(bad))
        tr.close()
    else:
        t.skip(desc, no_trace)

    c = conns["IPv4, no rule"]
    sleep_until(c["last"] + LIMIT)
    j = cli.job(c["job"])
    state = cli.tcp_state(c["sid"])
    t.ok(not j["done"] and state == TCP_ESTABLISHED,
         f"no rule: still blocked in send(), ESTABLISHED, {LIMIT} s after its "
         "last progress", diag=f"job {j}, state {state}")
    rule.remove()
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
