#!/usr/bin/env python3
# timeout: 240
"""/proc/net/tcptimeo and `tcptimeoctl sockets` agree with getsockopt.

120 client connections (IPv4 and IPv6) in the client namespace: 40 match
rule "view" (fill), 40 match it but their application set keepidle 20 and
user_timeout 2500 itself, 40 match no rule. For every one of them the
line of /proc/net/tcptimeo read in the client namespace carries exactly
what getsockopt returns in the application, and the rule that matches it
now ("view" or "-"). The view lists only the reader's namespace: the
client namespace shows only client-side sockets, the server namespace
exactly the 120 accepted ones, the initial namespace none of them.
`tcptimeoctl sockets -j [--rule NAME|-]` shows the same, run in the netns.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, listen_all, connect_pair, opts_diff  # noqa: E402
import incident as inc                                # noqa: E402

P_RULE, P_OTHER = 7541, 7542
APP = {"keepidle": 20, "user_timeout": 2500}
PER = 20
PLAN = 7


def main(t):
    ttmod.load()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    rule = Rule("view", direction="out", remote_ports=P_RULE, keepalive=1,
                keepidle=7, keepintvl=3, keepcnt=4, user_timeout=19000)
    ls = listen_all(srv, [P_RULE, P_OTHER])
    # (local, remote) text -> (client id, expected rule). Not the local
    # address alone: Linux gives one ephemeral port to connections to
    # different peers (seen on 5.10: 3 of 120 shared one).
    conns = {}
    for fam in (4, 6):
        for port, app in ((P_RULE, None), (P_RULE, APP), (P_OTHER, None)):
            for _ in range(PER):
                c, _ = connect_pair(cli, srv, ls[fam, port], fam,
                                    pair.addr("srv", fam), port, opts=app)
                key = (inc.addr_str(fam, *c["local"]),
                       inc.addr_str(fam, *c["peer"]))
                conns[key] = (c["id"], "view" if port == P_RULE else "-")
    n = len(conns)
    keys = list(conns)
    opts = cli.call("getopts_many", ids=[conns[k][0] for k in keys])["opts"]
    want = dict(zip(keys, opts))

    view = {(v["local"], v["remote"]): v for v in inc.proc_view(pair.cli)}
    missing = [k for k in keys if k not in view]
    t.ok(not missing, f"/proc/net/tcptimeo (client netns) has a line for each of "
         f"the {n} connections", diag=f"missing {missing[:5]}; view has {len(view)}")
    bad = []
    for k in keys:
        v = view.get(k)
        if not v:
            continue
        got = inc.as_opts(v)
        if got != want[k] or v["rule"] != conns[k][1] or v["state"] != "ESTABLISHED":
            bad.append(f"{k[0]} -> {k[1]}: {opts_diff(got, want[k])}, rule "
                       f"{v['rule']} (want {conns[k][1]}), {v['state']}")
    t.ok(not bad, f"each of the {n} lines: keepalive, idle, intvl, cnt, "
         "user_timeout, syn_retries equal getsockopt; rule and peer right",
         diag="\n".join(bad[:10]))
    t.diag(f"{n} sockets compared with getsockopt; "
           f"{sum(1 for k in keys if conns[k][1] == 'view')} under rule 'view'")
    cli_addrs = {a for fam in (4, 6) for a in Pair.ADDRS["cli"][fam]}
    foreign = [v for v in view.values()
               if v["local"].rpartition(":")[0].strip("[]") not in cli_addrs]
    t.ok(not foreign, "the client namespace's view has only client-side sockets",
         diag=str(foreign[:3]))
    sview = inc.proc_view(pair.srv)
    srv_addrs = {a for fam in (4, 6) for a in Pair.ADDRS["srv"][fam]}
    t.ok(len(sview) == n and all(v["local"].rpartition(":")[0].strip("[]") in srv_addrs
                                 for v in sview),
         f"the server namespace's view has exactly the {n} accepted sockets",
         diag=f"{len(sview)} lines")
    iview = inc.proc_view()
    ends = {a for k in conns for a in k}
    t.ok(not [v for v in iview if v["local"] in ends and v["remote"] in ends],
         "the initial namespace's view shows none of them", diag=str(iview[:3]))

    j = inc.ctl_json("sockets", "-j", ns=pair.cli)
    jv = {(x["local"], x["remote"]): x for x in j}
    badj = [k for k in keys if k not in jv or
            {o: int(jv[k][o]) for o in want[k]} != want[k] or
            (jv[k]["rule"] or "-") != conns[k][1]]
    t.ok(not badj, "tcptimeoctl sockets -j in the netns: the same values and rules",
         diag=str([jv.get(k) for k in badj[:3]]))
    jr = inc.ctl_json("sockets", "-j", "--rule", "view", ns=pair.cli)
    jn = inc.ctl_json("sockets", "-j", "--rule", "-", ns=pair.cli)
    nrule = sum(1 for k in keys if conns[k][1] == "view")
    t.ok(sorted((x["local"], x["remote"]) for x in jr)
         == sorted(k for k in keys if conns[k][1] == "view")
         and all(x["rule"] is None for x in jn) and
         {k for k in keys if conns[k][1] == "-"} <= {(x["local"], x["remote"]) for x in jn},
         f"sockets --rule view lists its {nrule}, --rule - the unmatched ones",
         diag=f"{len(jr)} / {len(jn)}")
    rule.remove()
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
