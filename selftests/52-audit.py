#!/usr/bin/env python3
# timeout: 240
"""Audit: rules match and count, nothing is stamped.

The same traffic is run four times against one force rule (direction out,
remote port P1): 5 plain client connections to P1, 2 whose application
set keepidle 50 itself (force would overwrite it) and 3 to another port.
1. the rule has audit 1 (tcptimeoctl add --audit --force): matched and
   stats/audit_matched grow by 7, stamped_out by 0, and getsockopt on all
   10 shows what the application left (kernel defaults or its own value)
2. the same rule with audit 0 (tcptimeoctl set --no-audit): matched and
   stamped_out grow by the same 7 and those sockets carry the rule's
   values: audit counted exactly what force stamps
3. sysfs audit=1 with the rule's audit 0: as in 1
4. apply_existing under sysfs audit=1: the 14 open matching sockets of
   steps 1 and 3 (which would change) are counted in audit_matched and
   left unchanged; step 2's 7 carry the rule already and are not counted
   (each socket matched once); existing_stamped does not grow (nothing
   was stamped)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, connect_pair, kernel_defaults, opts_diff  # noqa: E402
import incident as inc                                # noqa: E402

P1, P2 = 7521, 7522
RULE = {"keepalive": 1, "keepidle": 11, "keepintvl": 4, "keepcnt": 3,
        "user_timeout": 9000}
APP = {"keepidle": 50}
MATCHING = 7
PLAN = 10
CTRS = ("audit_matched", "stamped_out", "existing_stamped")


def traffic(cli, srv, pair, ls):
    """[(client result, expected if untouched, matches)]"""
    out = []
    for port, app, n in ((P1, None, 5), (P1, APP, 2), (P2, None, 3)):
        for _ in range(n):
            c, _ = connect_pair(cli, srv, ls[port], 4, pair.addr("srv", 4), port,
                                opts=app)
            out.append((c, app, port == P1))
    return out


def main(t):
    ttmod.load()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    d = kernel_defaults(pair.cli)
    untouched = {k: d[k] for k in RULE}
    ls = {p: srv.listen(4, "0.0.0.0", p) for p in (P1, P2)}
    p = inc.ctl("add", "aud", "--dir", "out", "--remote-port", str(P1),
                "--keepalive", "--idle", "11", "--intvl", "4", "--cnt", "3",
                "--user-timeout", "9000", "--force", "--audit")
    t.ok(p.returncode == 0 and ttmod.read(ttmod.RULES + "/aud/audit") == "1",
         "tcptimeoctl add --audit --force: a rule with audit 1", diag=inc.show(p))

    def phase(label, stamped):
        m0, s0 = inc.rule_ctr("aud", "matched"), inc.stats(*CTRS)
        conns = traffic(cli, srv, pair, ls)
        m1, s1 = inc.rule_ctr("aud", "matched"), inc.stats(*CTRS)
        dm = m1 - m0
        ds = {k: s1[k] - s0[k] for k in CTRS}
        bad = []
        for c, app, match in conns:
            want = dict(untouched, **(app or {}))
            if stamped and match:
                want = dict(RULE)
            now = cli.getopts(c["id"])
            if any(now[k] != v for k, v in want.items()):
                bad.append(f"port {c['peer'][1]} app {app}: {opts_diff(now, want)}")
        return dm, ds, bad, conns

    dm, ds, bad, _ = phase("rule audit", False)
    t.ok(dm == MATCHING and ds["audit_matched"] == MATCHING and ds["stamped_out"] == 0,
         f"rule audit: matched and audit_matched +{MATCHING}, stamped_out +0",
         diag=f"matched +{dm}, {ds}")
    t.ok(not bad, "rule audit: getsockopt shows no socket changed", diag="\n".join(bad))

    p = inc.ctl("set", "aud", "--no-audit")
    dm2, ds2, bad2, _ = phase("force", True)
    t.ok(p.returncode == 0 and dm2 == dm and ds2["stamped_out"] == dm and
         ds2["audit_matched"] == 0,
         "force on the same traffic stamps exactly the sockets audit counted",
         diag=f"audit counted {dm}; force: matched +{dm2}, {ds2}; {inc.show(p)}")
    t.ok(not bad2, "force: the counted sockets carry the rule's values, the others not",
         diag="\n".join(bad2))

    ttmod.sysfs_set("audit", 1)
    dm3, ds3, bad3, conns3 = phase("global audit", False)
    t.ok(dm3 == MATCHING and ds3["audit_matched"] == MATCHING and ds3["stamped_out"] == 0,
         f"sysfs audit=1: matched and audit_matched +{MATCHING}, stamped_out +0",
         diag=f"matched +{dm3}, {ds3}")
    t.ok(not bad3, "sysfs audit=1: getsockopt shows no socket changed",
         diag="\n".join(bad3))
    s = inc.ctl_json("stats", "-j")
    t.ok(s.get("audit") is True, "tcptimeoctl stats -j shows the global audit switch",
         diag=str(s))

    # every client socket of phases 1 and 3 is open and matches, unstamped;
    # phase 2's carry the values already (force would rewrite the same), so
    # the walk neither changes nor counts them
    s0 = inc.stats(*CTRS)
    err, took = inc.timed_write(ttmod.SYSFS + "/apply_existing", 1)
    s1 = inc.stats(*CTRS)
    bad4 = []
    for c, app, match in conns3:
        now = cli.getopts(c["id"])
        want = dict(untouched, **(app or {}))
        if any(now[k] != v for k, v in want.items()):
            bad4.append(f"port {c['peer'][1]}: {opts_diff(now, want)}")
    t.ok(not err and s1["audit_matched"] - s0["audit_matched"] == 2 * MATCHING and not bad4,
         f"apply_existing under audit: the {2 * MATCHING} open matching sockets "
         "that would change counted in audit_matched (not the ones already "
         "stamped), none changed",
         diag=f"errno {err}; {s0} -> {s1}; " + "; ".join(bad4))
    t.ok(s1["existing_stamped"] == s0["existing_stamped"],
         "apply_existing under audit: existing_stamped does not grow (nothing stamped)",
         diag=f"existing_stamped {s0['existing_stamped']} -> {s1['existing_stamped']}")
    ttmod.sysfs_set("audit", 0)
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
