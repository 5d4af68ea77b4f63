#!/usr/bin/env python3
# timeout: 180
"""Every option, both directions, IPv4 and IPv6: an unmodified application
gets exactly the rule's values.

Client and server are agent processes in two network namespaces joined by
a veth. They never set an option; getsockopt() runs inside them, right
after connect() / accept() return (the ABI promises accepted sockets are
stamped before accept() returns them). Rules select connections by port:

  7101  direction out, all six options      -> client stamped, server not
  7102  direction in,  all six options      -> server stamped, client not
  7110+i / 7120+i  one option alone (out / in): only that option changes
  7130  out: keepidle 11 intvl 7 cnt 5 user_timeout auto -> 46000 ms
  7131  in:  keepidle 10, user_timeout auto -> (10 + sysctl intvl x cnt) s
  7199  no rule: kernel defaults on both sides

The keepalive timer of stamped connections must be armed with the rule's
idle time (`ss -tno`: timer:(keepalive,<= idle,0)).
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair, keepalive_timer_check          # noqa: E402
from peer import (Agent, listen_all, kernel_defaults,  # noqa: E402
                  opts_diff, connect_pair)

ALL_OUT = dict(keepalive=1, keepidle=11, keepintvl=7, keepcnt=5,
               user_timeout=12345, syn_retries=3)
ALL_IN = dict(keepalive=1, keepidle=13, keepintvl=9, keepcnt=4,
              user_timeout=23456, syn_retries=4)
ALONE = dict(keepalive=1, keepidle=21, keepintvl=17, keepcnt=6,
             user_timeout=7777, syn_retries=2)
P_OUT, P_IN, P_ALONE_OUT, P_ALONE_IN, P_AUTO_OUT, P_AUTO_IN, P_NONE = \
    7101, 7102, 7110, 7120, 7130, 7131, 7199
FAMILIES = (4, 6)
PLAN = len(FAMILIES) * (1 + 2 + 2 + 6 + 6 + 2 + 2) + 3


def main(t):
    log = ttmod.KernelLog()
    ttmod.load()
    t.ok(len(log.ours()) == 1,
         "loading logs exactly one line",
         diag=lambda: "\n".join(log.ours()) or "no line")
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    dflt = kernel_defaults(pair.cli)
    dflt_srv = kernel_defaults(pair.srv)
    t.diag(f"kernel defaults: {dflt}")

    rules = [Rule("all-out", direction="out", remote_ports=P_OUT, **ALL_OUT),
             Rule("all-in", direction="in", local_ports=P_IN, **ALL_IN),
             Rule("auto-out", direction="out", remote_ports=P_AUTO_OUT,
                  keepidle=11, keepintvl=7, keepcnt=5, user_timeout="auto"),
             Rule("auto-in", direction="in", local_ports=P_AUTO_IN,
                  keepidle=10, user_timeout="auto")]
    for i, (opt, v) in enumerate(ALONE.items()):
        rules.append(Rule(f"alone-out-{opt}", direction="out",
                          remote_ports=P_ALONE_OUT + i, **{opt: v}))
        rules.append(Rule(f"alone-in-{opt}", direction="in",
                          local_ports=P_ALONE_IN + i, **{opt: v}))
    ports = [P_OUT, P_IN, P_AUTO_OUT, P_AUTO_IN, P_NONE] + \
        [P_ALONE_OUT + i for i in range(6)] + [P_ALONE_IN + i for i in range(6)]
    ls = listen_all(srv, ports, FAMILIES)
    before = ttmod.stats()
    log = ttmod.KernelLog()
    expect_matched = {r.name: 0 for r in rules}

    def conn(fam, port):
        return connect_pair(cli, srv, ls[(fam, port)], fam,
                            pair.addr("srv", fam), port)

    def check(got, want, desc):
        t.ok(got == want, desc, diag=lambda: opts_diff(got, want))

    def check_timer(ns, lport, rport, idle, since, desc):
        ok, why = keepalive_timer_check(ns, lport, rport, idle, since)
        t.ok(ok, desc, diag=why)

    for fam in FAMILIES:
        v = f"IPv{fam}"
        c, a = conn(fam, P_NONE)
        t.ok(c["opts"] == dflt and a["opts"] == dflt_srv,
             f"{v}: no rule: client and server keep the kernel defaults",
             diag=lambda: f"client {opts_diff(c['opts'], dflt)}; "
                          f"server {opts_diff(a['opts'], dflt_srv)}")

        t0 = time.monotonic()
        c, a = conn(fam, P_OUT)
        expect_matched["all-out"] += 1
        check(c["opts"], ALL_OUT, f"{v} out: connect() returns with all six "
                                  "options of the rule")
        check(a["opts"], dflt_srv, f"{v} out: the accepted end is untouched")
        check_timer(pair.cli, c["local"][1], P_OUT, ALL_OUT["keepidle"], t0,
                    f"{v} out: keepalive timer armed with idle "
                    f"{ALL_OUT['keepidle']} s (ss)")

        t0 = time.monotonic()
        c, a = conn(fam, P_IN)
        expect_matched["all-in"] += 1
        check(a["opts"], ALL_IN, f"{v} in: accept() returns a socket with "
                                 "all six options of the rule")
        check(c["opts"], dflt, f"{v} in: the connecting end is untouched")
        check_timer(pair.srv, P_IN, c["local"][1], ALL_IN["keepidle"], t0,
                    f"{v} in: keepalive timer armed with idle "
                    f"{ALL_IN['keepidle']} s (ss)")

        for i, (opt, val) in enumerate(ALONE.items()):
            c, a = conn(fam, P_ALONE_OUT + i)
            expect_matched[f"alone-out-{opt}"] += 1
            want = dict(dflt, **{opt: val})
            t.ok(c["opts"] == want and a["opts"] == dflt_srv,
                 f"{v} out: a rule setting only {opt}={val} changes only that",
                 diag=lambda: f"client {opts_diff(c['opts'], want)}; "
                              f"server {opts_diff(a['opts'], dflt_srv)}")
        for i, (opt, val) in enumerate(ALONE.items()):
            c, a = conn(fam, P_ALONE_IN + i)
            expect_matched[f"alone-in-{opt}"] += 1
            want = dict(dflt_srv, **{opt: val})
            t.ok(a["opts"] == want and c["opts"] == dflt,
                 f"{v} in: a rule setting only {opt}={val} changes only that",
                 diag=lambda: f"server {opts_diff(a['opts'], want)}; "
                              f"client {opts_diff(c['opts'], dflt)}")

        c, a = conn(fam, P_AUTO_OUT)
        expect_matched["auto-out"] += 1
        t.eq(c["opts"]["user_timeout"], (11 + 7 * 5) * 1000,
             f"{v} out: user_timeout auto = (idle + intvl x cnt) x 1000 "
             "from the rule's values")
        c, a = conn(fam, P_AUTO_IN)
        expect_matched["auto-in"] += 1
        want_ut = (10 + dflt_srv["keepintvl"] * dflt_srv["keepcnt"]) * 1000
        t.eq(a["opts"]["user_timeout"], want_ut,
             f"{v} in: user_timeout auto uses the sysctls for what the "
             "rule leaves unset")

    got = {r.name: r.matched for r in rules}
    t.ok(got == expect_matched, "each rule's `matched` counts the sockets it "
         "stamped", diag=lambda: f"expected {expect_matched}, got {got}")
    after = ttmod.stats()
    n = len(FAMILIES)
    want_out, want_in = n * (1 + 6 + 1), n * (1 + 6 + 1)
    d_out = after["stamped_out"] - before["stamped_out"]
    d_in = after["stamped_in"] - before["stamped_in"]
    t.ok(d_out == want_out and d_in == want_in and not log.ours(),
         "stats/stamped_out and stamped_in count them; connections log nothing",
         diag=lambda: f"stamped_out +{d_out} (want {want_out}), stamped_in "
                      f"+{d_in} (want {want_in}); log: {log.ours()}")
    for r in rules:
        r.remove()
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
