#!/usr/bin/env python3
# timeout: 240
"""mode clamp, a table test per option (rule made with tcptimeoctl --clamp).

Ceilings: keepalive on, keepidle 10, keepintvl 5, keepcnt 3,
user_timeout 8000, syn_retries 4. For each option, three client
connections: the application set it above the ceiling (lowered to the
ceiling), below it (kept), or not at all (the sysctl is above: lowered;
user_timeout unset means never: lowered). Keepalive is only ever turned
on. Every other option of each socket is checked as well (each is the
ceiling, since its sysctl is above). The same table is then run on
accepted sockets (the listener carries the application's value).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, connect_pair, kernel_defaults, opts_diff  # noqa: E402
import incident as inc                                # noqa: E402

CEIL = {"keepalive": 1, "keepidle": 10, "keepintvl": 5, "keepcnt": 3,
        "user_timeout": 8000, "syn_retries": 4}
# option: (above, below)
TABLE = {"keepalive": (None, 0), "keepidle": (100, 2), "keepintvl": (50, 1),
         "keepcnt": (9, 1), "user_timeout": (60000, 1500), "syn_retries": (8, 2)}
P_OUT, P_IN = 7511, 7512
PLAN = 2 * len(TABLE) + 2


def main(t):
    ttmod.load()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    d = kernel_defaults(pair.cli)
    assert all(d[k] > CEIL[k] for k in ("keepidle", "keepintvl", "keepcnt", "syn_retries"))
    args = ["--keepalive", "--idle", "10", "--intvl", "5", "--cnt", "3",
            "--user-timeout", "8000", "--syn-retries", "4", "--clamp"]
    p1 = inc.ctl("add", "ceil-out", "--dir", "out", "--remote-port", str(P_OUT), *args)
    p2 = inc.ctl("add", "ceil-in", "--dir", "in", "--local-port", str(P_IN), *args)
    t.ok(p1.returncode == 0 and p2.returncode == 0 and
         ttmod.read(ttmod.RULES + "/ceil-out/mode") == "clamp",
         "tcptimeoctl add --clamp makes a mode clamp rule", diag=inc.show(p1) + inc.show(p2))
    lout = srv.listen(4, "0.0.0.0", P_OUT)
    for side, port in (("client", P_OUT), ("accepted", P_IN)):
        rows = []
        for opt, (above, below) in TABLE.items():
            bad = []
            for case, val in (("above", above), ("below", below), ("unset", None)):
                if val is None and case == "above":
                    continue
                app = {opt: val} if val is not None else None
                want = dict(CEIL)
                if case == "below" and opt != "keepalive":
                    want[opt] = val
                if side == "client":
                    c, _ = connect_pair(cli, srv, lout, 4, pair.addr("srv", 4), port,
                                        opts=app)
                    got = c["opts"]
                else:
                    # one listener per case, carrying the application's value
                    lid = srv.listen(4, "0.0.0.0", port, opts=app)
                    _, a = connect_pair(cli, srv, lid, 4, pair.addr("srv", 4), port)
                    got = a["opts"]
                    srv.close(lid)
                if side == "accepted":
                    # syn_retries is decided at connect() for clients only;
                    # an accepted socket inherits the listener's value
                    got = dict(got)
                    want = dict(want)
                    want.pop("syn_retries")
                    got.pop("syn_retries")
                rows.append(f"{opt:12} {case:5} app={val!s:6} -> "
                            f"{got.get(opt, '-')!s:6} (want {want.get(opt, '-')})")
                if any(got[k] != v for k, v in want.items()):
                    bad.append(f"{case}: {opts_diff(got, want)}")
            if side == "accepted" and opt == "syn_retries":
                t.skip(f"clamp, accepted socket: {opt}", "syn_retries bounds "
                       "connect() only; checked on client sockets")
                continue
            t.ok(not bad, f"clamp, {side} socket: {opt} above the ceiling is "
                 "lowered, below it kept, unset lowered"
                 + (" (keepalive only turned on)" if opt == "keepalive" else ""),
                 diag="; ".join(bad))
        t.diag(f"{side} sockets:\n" + "\n".join(rows))
    s = inc.ctl_json("stats", "-j")
    m = {r["name"]: r["matched"] for r in s["rules"]}
    t.ok(m.get("ceil-out") == 17 and m.get("ceil-in") == 17,
         "each clamp rule counts the 17 sockets it matched (stats -j)",
         diag=str(s["rules"]))
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
