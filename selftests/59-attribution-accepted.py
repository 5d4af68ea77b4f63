#!/usr/bin/env python3
# timeout: 120
"""Timeout attribution of accepted connections does not depend on their
listener still existing.

Rule "acc" (direction in, local port P: keepalive 1, idle 2, intvl 1,
cnt 2). The server accepts one IPv4 and one IPv6 connection, then closes
both listeners (a server that restarts, or stops listening while it
drains); the client vanishes. Both accepted connections, idle in recv(),
end with ETIMEDOUT (keepalive): rule acc counts timeouts_idle +2 and
stats/timeouts_unmatched does not move. Before, direction was guessed at
death from a listener lookup, so these counted as unmatched outgoing
connections.
"""
import errno
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, connect_pair, listen_all      # noqa: E402
from deadline import poll, SCALE                      # noqa: E402
import incident as inc                                # noqa: E402

P = 7591
PLAN = 3


def main(t):
    ttmod.load()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    rule = Rule("acc", direction="in", local_ports=P, keepalive=1, keepidle=2,
                keepintvl=1, keepcnt=2)
    ls = listen_all(srv, [P])
    base = (inc.rule_ctr("acc", "timeouts_idle"), inc.rule_ctr("acc", "timeouts_busy"),
            inc.stat("timeouts_unmatched"))
    acc = []
    for fam in (4, 6):
        _, a = connect_pair(cli, srv, ls[fam, P], fam, pair.addr("srv", fam), P)
        acc.append(a["id"])
    for lid in ls.values():
        srv.close(lid)
    jobs = [srv.recv_bg(sid) for sid in acc]
    pair.kill("cli")
    res = [srv.wait(j, 15 * SCALE) for j in jobs]
    t.ok(all(r.get("errno") == errno.ETIMEDOUT for r in res),
         "both accepted connections (listeners closed) end with ETIMEDOUT",
         diag=str(res))
    poll(lambda: inc.rule_ctr("acc", "timeouts_idle") - base[0] >= 2, 3)
    got = (inc.rule_ctr("acc", "timeouts_idle") - base[0],
           inc.rule_ctr("acc", "timeouts_busy") - base[1])
    t.eq(got, (2, 0), "rule acc: timeouts_idle +2, timeouts_busy +0 with no "
         "listener left")
    t.eq(inc.stat("timeouts_unmatched") - base[2], 0,
         "stats/timeouts_unmatched +0: not taken for outgoing connections")
    rule.remove()
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
