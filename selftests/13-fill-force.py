#!/usr/bin/env python3
# timeout: 120
"""fill vs force.

An application that sets some options itself (before connect(), or on
its listener for accepted sockets) keeps them under `mode fill` and loses
them under `mode force`; options it left unset get the rule's values
either way. stats/skipped_app_set counts the options fill left alone.
The keepalive timer follows the values that won: an accepted socket whose
listener had SO_KEEPALIVE and keepidle 50 runs its timer at <= 50 s under
fill and is re-armed at <= 11 s under force.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair, keepalive_timer_check          # noqa: E402
from peer import Agent, opts_diff, wildcard, connect_pair  # noqa: E402

RULE = dict(keepalive=1, keepidle=11, keepintvl=7, keepcnt=5,
            user_timeout=12345, syn_retries=3)
APP_OUT = dict(keepidle=50, keepintvl=20, user_timeout=999)
APP_IN = dict(keepalive=1, keepidle=50, keepcnt=3, user_timeout=999)
FAMILIES = (4, 6)
PLAN = 2 + len(FAMILIES) * 13


def main(t):
    ttmod.load()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    port = {"out": 7701, "in": 7702}
    ls = {}
    for f in FAMILIES:
        ls[f, "out"] = srv.listen(f, wildcard(f), port["out"],
                                  v6only=True if f == 6 else None)
        ls[f, "in"] = srv.listen(f, wildcard(f), port["in"], opts=APP_IN,
                                 v6only=True if f == 6 else None)

    rout = Rule("out", enable=False, direction="out", remote_ports=port["out"],
                **RULE)
    rin = Rule("in", enable=False, direction="in", local_ports=port["in"], **RULE)
    for mode in ("fill", "force"):
        rout.set("mode", mode)
        rin.set("mode", mode)
        if mode == "force":
            t.eq(rout.get("mode"), "force", "mode reads back force")
        rout.enable()
        rin.enable()
        for f in FAMILIES:
            v = f"IPv{f}"
            # out: the application set APP_OUT before connect()
            m0, s0 = rout.matched, ttmod.stats()["skipped_app_set"]
            t0 = time.monotonic()
            c, _ = connect_pair(cli, srv, ls[f, "out"], f, pair.addr("srv", f),
                                port["out"], opts=APP_OUT)
            ds = ttmod.stats()["skipped_app_set"] - s0
            want = dict(RULE, **APP_OUT) if mode == "fill" else RULE
            t.ok(c["opts"] == want, f"{v} out {mode}: the application's "
                 f"{'values are kept' if mode == 'fill' else 'values are overwritten'}"
                 ", unset ones get the rule's", diag=opts_diff(c["opts"], want))
            want_skip = len(APP_OUT) if mode == "fill" else 0
            t.ok(ds == want_skip and rout.matched == m0 + 1,
                 f"{v} out {mode}: skipped_app_set +{want_skip}, matched +1",
                 diag=f"skipped_app_set +{ds}, matched {m0} -> {rout.matched}")
            idle = want["keepidle"]
            ok, why = keepalive_timer_check(pair.cli, c["local"][1], port["out"],
                                            idle, t0)
            t.ok(ok, f"{v} out {mode}: keepalive timer runs at the winning idle "
                 f"({idle} s)", diag=why)
            if mode == "fill":
                t.ok(cli.getopts(c["id"]) == want,
                     f"{v} out fill: later getsockopt agrees",
                     diag=opts_diff(cli.getopts(c["id"]), want))

            # in: the application set APP_IN on its listener
            s0 = ttmod.stats()["skipped_app_set"]
            t0 = time.monotonic()
            c, a = connect_pair(cli, srv, ls[f, "in"], f, pair.addr("srv", f),
                                port["in"])
            ds = ttmod.stats()["skipped_app_set"] - s0
            want = dict(RULE, **APP_IN) if mode == "fill" else RULE
            t.ok(a["opts"] == want, f"{v} in {mode}: values inherited from "
                 f"the listener {'are kept' if mode == 'fill' else 'are overwritten'}"
                 ", unset ones get the rule's", diag=opts_diff(a["opts"], want))
            # keepidle, keepcnt, user_timeout; SO_KEEPALIVE was already on,
            # which may or may not count as an option left alone
            want_skip = {3, 4} if mode == "fill" else {0}
            t.ok(ds in want_skip, f"{v} in {mode}: skipped_app_set "
                 f"+{'/'.join(map(str, sorted(want_skip)))}",
                 diag=f"skipped_app_set +{ds}")
            idle = want["keepidle"]
            ok, why = keepalive_timer_check(pair.srv, port["in"], c["local"][1],
                                            idle, t0)
            t.ok(ok, f"{v} in {mode}: keepalive timer "
                 f"{'keeps' if mode == 'fill' else 're-armed at'} the winning "
                 f"idle ({idle} s)", diag=why)
        rout.disable()
        rin.disable()
    rout.remove()
    rin.remove()

    # fill + user_timeout auto: computed from the effective values, the
    # application's keepidle included
    lid = srv.listen(4, "0.0.0.0", 7703)
    with Rule("auto", direction="out", remote_ports=7703, keepintvl=7, keepcnt=5,
              user_timeout="auto"):
        c, _ = connect_pair(cli, srv, lid, 4, pair.addr("srv", 4), 7703,
                            opts={"keepidle": 50})
        t.eq(c["opts"]["user_timeout"], (50 + 7 * 5) * 1000,
             "fill, user_timeout auto: (app's idle 50 + rule's 7 x 5) x 1000")
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
