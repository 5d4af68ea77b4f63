"""The half-open scenario shared by 20-half-open-client and 21-half-open-server.

The survivor (the side whose unmodified process sits in recv()) keeps its
link; the other node vanishes (netns.Pair.kill: everything dropped at ITS
interface, neighbours pinned). Six connections are measured at once:

  covered by the rule (keepalive, idle 3, intvl 1, cnt 2, user_timeout 5000):
    IPv4 idle, IPv4 busy, IPv6 idle, IPv6 busy
  not covered by any rule (another port): IPv4 idle, IPv4 busy
  control, not covered, the application set the same options itself:
    IPv4 idle, IPv4 busy (client: before connect(); server: on its listener)

idle: blocked in recv() with nothing in flight; only keepalive can end it,
      at (last packet received) + idle + intvl x cnt = +5 s. The last packet
      received is read from TCP_INFO right after the peer vanished (on a
      slow host setup can take longer than idle, and the peer then still
      answers a first keepalive probe before it vanishes).
busy: sent a request after the peer vanished, then blocked in recv();
      data is unacked, keepalive does not run, user_timeout ends it at
      (send) + 5 s.
The rule is direction out (client survives) or in (server survives).
A covered connection must be detected as fast as the control (+-0.5 s):
that is what "the same timings with no change to the application" means,
and it tells a slow host apart from a wrong module when a bound is missed.
Measured times are printed as TAP diagnostics. Each connection that
timed out has one tcptimeo:timeout event (lib/events.py) naming its rule
(none for the controls), the cause (keepalive when idle, retransmission
when busy) and a silence of at least its bound.
"""
import errno
import time

import events
import ttmod
from ttmod import Rule
from netns import Pair
from peer import Agent, listen_all, opts_diff, connect_pair, TCP_ESTABLISHED
from deadline import sleep_until

IDLE, INTVL, CNT, UT_MS = 3, 1, 2, 5000
RULE = dict(keepalive=1, keepidle=IDLE, keepintvl=INTVL, keepcnt=CNT,
            user_timeout=UT_MS)
IDLE_LIMIT = IDLE + INTVL * CNT          # 5 s
BUSY_LIMIT = UT_MS / 1000.0              # 5 s
SLACK = 1.0                              # the issue's +1 s
EARLY = 0.5                              # earlier than this is wrong too
P_COVERED, P_OTHER, P_APP = 7801, 7802, 7803
SAME = 0.5
PLAN = 10


def run(t, survivor, limit):
    """survivor: "cli" or "srv". limit: seconds after the kill that the
    uncovered connections must still be hanging."""
    ttmod.load()
    tr, no_trace = events.optional()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    surv = cli if survivor == "cli" else srv
    dead = "srv" if survivor == "cli" else "cli"
    if survivor == "cli":
        rule = Rule("halfopen", direction="out", remote_ports=P_COVERED, **RULE)
    else:
        rule = Rule("halfopen", direction="in", local_ports=P_COVERED, **RULE)
    ls = listen_all(srv, [P_COVERED, P_OTHER])
    ls[4, P_APP] = srv.listen(4, "0.0.0.0", P_APP,
                              opts=RULE if survivor == "srv" else None)

    cases = [("IPv4 idle", 4, P_COVERED, False), ("IPv4 busy", 4, P_COVERED, True),
             ("IPv6 idle", 6, P_COVERED, False), ("IPv6 busy", 6, P_COVERED, True),
             ("IPv4 idle, no rule", 4, P_OTHER, False),
             ("IPv4 busy, no rule", 4, P_OTHER, True),
             ("IPv4 idle, app-set", 4, P_APP, False),
             ("IPv4 busy, app-set", 4, P_APP, True)]
    conns = {}
    for name, fam, port, busy in cases:
        app = RULE if port == P_APP and survivor == "cli" else None
        c, a = connect_pair(cli, srv, ls[fam, port], fam, pair.addr("srv", fam),
                            port, opts=app)
        mine = c if survivor == "cli" else a
        conns[name] = {"sid": mine["id"], "t_est": mine["t"], "opts": mine["opts"],
                       "busy": busy, "covered": port == P_COVERED,
                       "control": port == P_APP,
                       "ports": (c["local"][1], port) if survivor == "cli" else
                                (port, c["local"][1])}
    bad = {n: opts_diff(c["opts"], RULE) for n, c in conns.items()
           if c["covered"] and any(c["opts"][k] != v for k, v in RULE.items())}
    t.ok(not bad, f"the {'client' if survivor == 'cli' else 'server'}'s "
         "covered sockets carry the rule's values", diag=str(bad))

    for c in conns.values():
        if not c["busy"]:
            c["job"] = surv.recv_bg(c["sid"])
    pair.kill(dead)
    t_kill = time.monotonic()
    for c in conns.values():
        if not c["busy"]:
            c["t_ref"] = surv.call("tcpinfo", id=c["sid"])["t_last_rx"]
    t.diag(f"setup took {t_kill - min(c['t_est'] for c in conns.values()):.2f} s "
           "from the first connection to the peer vanishing")
    t.diag(f"{'server' if dead == 'srv' else 'client'} vanished at +0.00 s "
           "(ingress matchall drop + netem loss 100% on its side)")
    for c in conns.values():
        if c["busy"]:
            c["job"] = surv.recv_bg(c["sid"], send="request\n")

    for name, c in conns.items():
        if not (c["covered"] or c["control"]):
            continue
        if c["busy"]:
            bound, what = BUSY_LIMIT, "user_timeout"
        else:
            bound, what = IDLE_LIMIT, "idle + intvl x cnt"
        j0 = surv.job(c["job"])
        start = j0["t_start"] if c["busy"] else c["t_ref"]
        j = surv.wait(c["job"], max(0.0, start + bound + SLACK + 1 - time.monotonic()))
        if c["busy"]:
            start = j.get("t_send", start)
        took = (j.get("t_end", time.monotonic()) - start)
        since_kill = j.get("t_end", time.monotonic()) - t_kill
        ok = (j["done"] and j.get("errno") == errno.ETIMEDOUT
              and bound - EARLY <= took <= bound + SLACK)
        c["took"] = took if j["done"] and j.get("errno") == errno.ETIMEDOUT else None
        ref = "send" if c["busy"] else "last packet"
        if c["covered"]:
            t.ok(ok, f"{name}: recv() fails with ETIMEDOUT within {what} "
                 f"({bound:g} s) +{SLACK:g} s of the {ref}",
                 diag=f"job {j}; {took:.2f} s")
        t.diag(f"{name}: {j.get('errname', j.get('result'))} after {took:.2f} s "
               f"from the {ref} ({since_kill:.2f} s after the peer vanished)")

    for kind in ("idle", "busy"):
        rule_t = conns[f"IPv4 {kind}"]["took"]
        app_t = conns[f"IPv4 {kind}, app-set"]["took"]
        t.ok(rule_t is not None and app_t is not None and abs(rule_t - app_t) <= SAME,
             f"IPv4 {kind}: detected as fast as when the application sets the "
             f"same options itself (+-{SAME:g} s)",
             diag=f"rule {rule_t}, app-set {app_t}")

    cases = {}
    for name, c in conns.items():
        if c["covered"] or c["control"]:
            bound = BUSY_LIMIT if c["busy"] else IDLE_LIMIT
            cases[name] = ({"sport": c["ports"][0], "dport": c["ports"][1]},
                           {"rule": "halfopen" if c["covered"] else None,
                            "cause": "retransmission" if c["busy"] else "keepalive",
                            "dir": "out" if survivor == "cli" else "in",
                            "heard_ms_min": int((bound - EARLY) * 1000)})
    desc = ("tcptimeo:timeout: one event per connection that timed out, with its "
            "rule (none for the controls), cause keepalive (idle) or retransmission "
            "(busy), and the time since the peer was last heard")
    if tr:
        bad = events.check(tr, cases)
        t.ok(not bad, desc, diag="\n".join(bad))
        tr.close()
    else:
        t.skip(desc, no_trace)

    sleep_until(t_kill + limit)
    for name, c in conns.items():
        if c["covered"] or c["control"]:
            continue
        j = surv.job(c["job"])
        state = surv.tcp_state(c["sid"])
        t.ok(not j["done"] and state == TCP_ESTABLISHED,
             f"{name}: still blocked in recv(), ESTABLISHED, {limit} s after "
             "the peer vanished", diag=f"job {j}, tcp state {state}")
    t.diag(f"no-rule connections still hanging at +{time.monotonic() - t_kill:.1f} s")
    rule.remove()
    cli.close_agent()
    srv.close_agent()
    pair.delete()
