#!/usr/bin/env python3
# timeout: 180
"""Timeout attribution: which rule's policy ended which connection, and why.

Rules: "r1" (direction out, remote port P1: keepalive 3/1/2, user_timeout
5000) and "r2" (remote port P2, syn_retries only: nothing of it can time
a connection out here). Client connections, then the server vanishes:
  P1 idle in recv()             -> r1 timeouts_idle  (keepalive)
  P1 busy (request unacked)     -> r1 timeouts_busy  (user_timeout)
  P3 busy, app set its own user_timeout 3000, no rule
                                -> stats/timeouts_unmatched
  P4 busy, rule "r4" (direction out, the ephemeral local-port range,
     remote port P4, user_timeout 4000)
                                -> r4 timeouts_busy (the CLOSE transition
                                   comes after inet_put_port() zeroed the
                                   socket's inet_num: the local port must
                                   come from inet_sport)
  P1 orphan: request unacked, then close(): FIN_WAIT1, SOCK_DEAD; it times
     out under r1's user_timeout with no application waiting -> nothing
  P2 idle and P1 closed normally before the kill -> nothing
Counters must move by exactly these amounts (IPv4 and IPv6 for r1),
and `tcptimeoctl stats -j` / `stats --prometheus` show the same numbers.
"""
import errno
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair, ss_find                       # noqa: E402
from peer import Agent, connect_pair, listen_all, TCP_ESTABLISHED  # noqa: E402
from deadline import poll                             # noqa: E402
import incident as inc                                # noqa: E402

P1, P2, P3, P4 = 7531, 7532, 7533, 7534
PLAN = 10


def main(t):
    ttmod.load()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    r1 = Rule("r1", direction="out", remote_ports=P1, keepalive=1, keepidle=3,
              keepintvl=1, keepcnt=2, user_timeout=5000)
    r2 = Rule("r2", direction="out", remote_ports=P2, syn_retries=3)
    lo, hi = pair.cli.sysctl_get("net.ipv4.ip_local_port_range").split()
    r4 = Rule("r4", direction="out", local_ports=f"{lo}-{hi}", remote_ports=P4,
              user_timeout=4000)
    ls = listen_all(srv, [P1, P2, P3, P4])
    base = {(r, c): inc.rule_ctr(r, c) for r in ("r1", "r2", "r4")
            for c in ("timeouts_idle", "timeouts_busy")}
    um0 = inc.stat("timeouts_unmatched")

    def conn(fam, port, opts=None):
        c, _ = connect_pair(cli, srv, ls[fam, port], fam, pair.addr("srv", fam),
                            port, opts=opts)
        return c["id"]

    # a normal close on r1's port: counts nothing
    n = conn(4, P1)
    cli.call("send", id=n, data="bye")
    cli.close(n)
    cases = {"r1 idle v4": (conn(4, P1), False), "r1 idle v6": (conn(6, P1), False),
             "r1 busy v4": (conn(4, P1), True), "r1 busy v6": (conn(6, P1), True),
             "unmatched busy": (conn(4, P3, {"user_timeout": 3000}), True),
             "r4 busy": (conn(4, P4), True),
             "r2 idle": (conn(4, P2), False)}
    oc, _ = connect_pair(cli, srv, ls[4, P1], 4, pair.addr("srv", 4), P1)
    orphan, orphan_lport = oc["id"], oc["local"][1]
    jobs = {}
    for name, (sid, busy) in cases.items():
        if not busy:
            jobs[name] = cli.recv_bg(sid)
    pair.kill("srv")
    for name, (sid, busy) in cases.items():
        if busy:
            jobs[name] = cli.recv_bg(sid, send="request\n")
    # the orphan: its request is never acked, and the application is gone
    cli.call("send", id=orphan, data="request\n")
    cli.close(orphan)
    res = {}
    for name in cases:
        if name == "r2 idle":
            continue
        res[name] = cli.wait(jobs[name], 15)
    bad = {n: r for n, r in res.items() if r.get("errno") != errno.ETIMEDOUT}
    t.ok(not bad, "the idle and retransmitting connections end with ETIMEDOUT",
         diag=str(bad))
    poll(lambda: inc.rule_ctr("r1", "timeouts_busy") - base["r1", "timeouts_busy"] >= 2, 3)
    d = {k: inc.rule_ctr(*k) - v for k, v in base.items()}
    t.eq((d["r1", "timeouts_idle"], d["r1", "timeouts_busy"]), (2, 2),
         "r1: timeouts_idle +2 (keepalive) and timeouts_busy +2 (user_timeout), "
         "the normal close counted nowhere")
    t.eq((d["r2", "timeouts_idle"], d["r2", "timeouts_busy"]), (0, 0),
         "r2 (its connection still open): no timeout counted")
    t.eq(inc.stat("timeouts_unmatched") - um0, 1,
         "timeouts_unmatched +1: the app-set user_timeout connection no rule matches")
    t.eq((d["r4", "timeouts_idle"], d["r4", "timeouts_busy"]), (0, 1),
         "r4 (local ephemeral ports, autobound): timeouts_busy +1, not unmatched")
    # the orphan ends (r1's user_timeout) with nobody waiting: not counted
    gone = poll(lambda: ss_find(pair.cli, lport=orphan_lport, rport=P1) is None, 20)
    busy1 = inc.rule_ctr("r1", "timeouts_busy") - base["r1", "timeouts_busy"]
    t.ok(gone and busy1 == 2,
         "an orphan (closed by its application) that times out in FIN_WAIT1 is "
         "counted nowhere: r1 timeouts_busy still +2",
         diag=f"orphan gone: {gone}; r1 timeouts_busy +{busy1}")
    j = cli.job(jobs["r2 idle"])
    t.ok(not j["done"] and cli.tcp_state(cases["r2 idle"][0]) == TCP_ESTABLISHED,
         "r2's connection (no keepalive) is still ESTABLISHED and blocked", diag=str(j))

    s = inc.ctl_json("stats", "-j")
    rules = {r["name"]: r for r in s["rules"]}
    t.ok(rules["r1"]["timeouts_idle"] == inc.rule_ctr("r1", "timeouts_idle") and
         rules["r1"]["timeouts_busy"] == inc.rule_ctr("r1", "timeouts_busy") and
         s["stats"]["timeouts_unmatched"] == inc.stat("timeouts_unmatched"),
         "tcptimeoctl stats -j shows the same per-rule and global counters",
         diag=str(s))
    p = inc.ctl("stats", "--prometheus")
    m, err = inc.prometheus_or_error(p.stdout)
    got = (m.get(("tcptimeo_rule_timeouts_total", (("cause", "idle"), ("rule", "r1")))),
           m.get(("tcptimeo_rule_timeouts_total", (("cause", "busy"), ("rule", "r1")))),
           m.get(("tcptimeo_timeouts_unmatched_total", ())))
    want = (inc.rule_ctr("r1", "timeouts_idle"), inc.rule_ctr("r1", "timeouts_busy"),
            inc.stat("timeouts_unmatched"))
    t.ok(p.returncode == 0 and err is None and got == want,
         "tcptimeoctl stats --prometheus: valid exposition format with the same values",
         diag=f"{err}; got {got}, want {want}\n{p.stdout[:1500]}")
    t.ok(inc.ctl("show", "r1").returncode == 0 and
         f"timeouts_busy  {want[1]}" in inc.ctl("show", "r1").stdout,
         "tcptimeoctl show r1 lists timeouts_busy", diag=inc.ctl("show", "r1").stdout)
    r1.remove()
    r2.remove()
    r4.remove()
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
