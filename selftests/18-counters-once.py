#!/usr/bin/env python3
# timeout: 120
"""Counters count what they say when apply_existing meets sockets the
rule already stamped.

Rule "once" (direction out, remote port P: keepalive 1, idle 9,
user_timeout 7000, fill). Two connections exist before the rule; then
three plain ones and one whose application set user_timeout 5000 itself.
At creation: matched 4, stamped_out +4, skipped_app_set +1 (the app's
5000 kept). apply_existing then changes only the two older connections:
existing_stamped +2, matched 6 (each socket matched once), and
skipped_app_set does not move (the rule's own earlier values are not
"application-set", and the app's 5000 was counted already). A second
apply_existing changes nothing and counts nothing. getsockopt shows the
rule's values on the older two and 5000 on the app's.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, connect_pair                  # noqa: E402
import incident as inc                                # noqa: E402

P = 7181
NAMES = ("stamped_out", "skipped_app_set", "existing_stamped")
PLAN = 6


def main(t):
    ttmod.load()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    ls = srv.listen(4, "0.0.0.0", P)

    def conn(opts=None):
        c, _ = connect_pair(cli, srv, ls, 4, pair.addr("srv", 4), P, opts=opts)
        return c["id"]

    old = [conn(), conn()]
    s0 = inc.stats(*NAMES)
    rule = Rule("once", direction="out", remote_ports=P, keepalive=1, keepidle=9,
                user_timeout=7000)
    new = [conn(), conn(), conn()]
    app = conn({"user_timeout": 5000})
    s1 = inc.stats(*NAMES)
    d = {k: s1[k] - s0[k] for k in NAMES}
    t.eq((rule.matched, d["stamped_out"], d["skipped_app_set"]), (4, 4, 1),
         "at creation: matched 4, stamped_out +4, skipped_app_set +1")
    ttmod.sysfs_set("apply_existing", 1)
    s2 = inc.stats(*NAMES)
    d = {k: s2[k] - s1[k] for k in NAMES}
    t.eq((d["existing_stamped"], rule.matched), (2, 6),
         "apply_existing: existing_stamped +2 (only the two older sockets), "
         "matched 6 (each socket once)")
    t.eq(d["skipped_app_set"], 0,
         "apply_existing: skipped_app_set +0 (neither the rule's own earlier "
         "values nor the app's already counted 5000)")
    ttmod.sysfs_set("apply_existing", 1)
    s3 = inc.stats(*NAMES)
    t.eq(({k: s3[k] - s2[k] for k in NAMES}, rule.matched),
         ({k: 0 for k in NAMES}, 6),
         "a second apply_existing changes nothing and counts nothing")
    got = {sid: cli.getopts(sid) for sid in old + new + [app]}
    want = {"keepalive": 1, "keepidle": 9, "user_timeout": 7000}
    bad = {s: o for s, o in got.items() if s != app and
           any(o[k] != v for k, v in want.items())}
    t.ok(not bad, "the rule's values on the two older and three newer sockets",
         diag=str(bad))
    t.eq((got[app]["user_timeout"], got[app]["keepidle"]), (5000, 9),
         "the app's own user_timeout 5000 kept, the rule's idle 9 filled in")
    rule.remove()
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
