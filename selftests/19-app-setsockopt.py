#!/usr/bin/env python3
# timeout: 180
"""An application's own setsockopt() after connect() or accept().

Software such as Go's net.Dialer or hiredis sets keepalive options right
after connect()/accept() returns, after tcptimeo decided the socket. Per
family and direction (a client after connect(), a server after accept()),
the application sets each of the six options in turn and reads it back
right after its own setsockopt():

- force: every value it reads is the rule's; stats/restamped counts each
  option put back;
- clamp: values above the rule's, keepalive off and user_timeout 0 are
  put back to the rule's, values below stay;
- /proc/net/tcptimeo's `from` column says which value is the rule's,
  the application's or the default;
- fill with user_timeout auto: the application's values stay (each
  override of a stamped value counted in skipped_app_set), and the user
  timeout follows the new keepidle/keepintvl/keepcnt until the
  application sets TCP_USER_TIMEOUT itself.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, opts_diff, wildcard, connect_pair  # noqa: E402
import incident                                       # noqa: E402

FAMILIES = (4, 6)
DIRS = ("out", "in")
PORT = {"out": 7721, "in": 7722}
RULE = dict(keepalive=1, keepidle=3, keepintvl=1, keepcnt=3,
            user_timeout=6000, syn_retries=3)
# what hiredis and Go set after connect(), then what a pool may re-apply
APP = [("keepalive", 1), ("keepidle", 15), ("keepintvl", 5), ("keepcnt", 3),
       ("user_timeout", 20000), ("syn_retries", 6), ("keepalive", 0)]
# clamp: above the rule's, then below it, then "off" / 0
CLAMP = [("keepidle", 15), ("keepintvl", 5), ("keepcnt", 9),
         ("user_timeout", 20000), ("syn_retries", 6),
         ("keepidle", 2), ("keepcnt", 2), ("syn_retries", 2),
         ("keepalive", 0), ("user_timeout", 0)]
CLAMP_AFTER = [3, 1, 3, 6000, 3, 2, 2, 2, 1, 6000]
CLAMP_END = dict(keepalive=1, keepidle=2, keepintvl=1, keepcnt=2,
                 user_timeout=6000, syn_retries=2)
# fill + auto (rule 3/1/3 -> 6000 ms): the application's values stay and
# the user timeout follows them until it sets one itself
AUTO_RULE = dict(keepalive=1, keepidle=3, keepintvl=1, keepcnt=3,
                 user_timeout="auto")
AUTO = [("keepidle", 15), ("keepintvl", 5), ("user_timeout", 7000),
        ("keepidle", 20)]
AUTO_UT = [18000, 30000, 7000, 7000]
PLAN = len(FAMILIES) * len(DIRS) * 11 + 2


def one(cli, srv, pair, ls, f, d, seq, look=False):
    """A fresh connection; the application on side @d runs @seq. With
    @look, also that socket's /proc/net/tcptimeo line."""
    c, a = connect_pair(cli, srv, ls[f, d], f, pair.addr("srv", f), PORT[d])
    ag, sid = (cli, c["id"]) if d == "out" else (srv, a["id"])
    s0 = ttmod.stats()
    after, end = ag.setget(sid, seq)
    s1 = ttmod.stats()
    row = None
    if look:
        mine = c if d == "out" else a
        ns = pair.cli if d == "out" else pair.srv
        ends = (incident.addr_str(f, *mine["local"]),
                incident.addr_str(f, *mine["peer"]))
        row = next((r for r in incident.proc_view(ns)
                    if (r["local"], r["remote"]) == ends), None)
    cli.close(c["id"])
    srv.close(a["id"])
    ds = {k: s1[k] - s0[k] for k in s0}
    return (after, end, ds, row) if look else (after, end, ds)


def main(t):
    ttmod.load()
    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    ls = {}
    for f in FAMILIES:
        for d in DIRS:
            ls[f, d] = srv.listen(f, wildcard(f), PORT[d],
                                  v6only=True if f == 6 else None)
    rules = {"out": Rule("out", direction="out", remote_ports=PORT["out"],
                         mode="force", **RULE),
             "in": Rule("in", direction="in", local_ports=PORT["in"],
                        mode="force", **RULE)}
    want_restamped = sum(1 for k, v in APP if v != RULE[k])
    for f in FAMILIES:
        for d in DIRS:
            v = f"IPv{f} {d}"
            after, end, ds, row = one(cli, srv, pair, ls, f, d,
                                      APP, look=True)
            bad = [f"{k}={x}: read {a[k]}" for (k, x), a in zip(APP, after)
                   if a != RULE]
            t.eq((row or {}).get("from", "")[:6], "rrrrrr", f"{v} force: "
                 "/proc/net/tcptimeo says every option is the rule's")
            t.ok(not bad and end == RULE, f"{v} force: after each "
                 "setsockopt() every option reads back as the rule's",
                 diag="; ".join(bad) or opts_diff(end, RULE))
            t.eq(ds["restamped"], want_restamped,
                 f"{v} force: stats/restamped +{want_restamped}")
            t.eq(ds["skipped_app_set"], 0, f"{v} force: skipped_app_set +0")

    for r in rules.values():
        r.set("mode", "clamp")
    for f in FAMILIES:
        for d in DIRS:
            v = f"IPv{f} {d}"
            after, end, ds = one(cli, srv, pair, ls, f, d, CLAMP)
            t.eq([a[k] for (k, _), a in zip(CLAMP, after)], CLAMP_AFTER,
                 f"{v} clamp: above the rule's is lowered, below stays, off "
                 "and 0 are put back")
            t.ok(end == CLAMP_END, f"{v} clamp: the application's lower "
                 "values stay", diag=opts_diff(end, CLAMP_END))

    for r in rules.values():
        r.disable()
        for k, x in AUTO_RULE.items():
            r.set(k, x)
        r.set("syn_retries", 0)
        r.set("mode", "fill")
        r.enable()
    for f in FAMILIES:
        for d in DIRS:
            v = f"IPv{f} {d}"
            after, end, ds, row = one(cli, srv, pair, ls, f, d,
                                      AUTO, look=True)
            uts = [a["user_timeout"] for a in after]
            # keepalive and keepcnt the rule's, keepidle, keepintvl and
            # user_timeout the application's, syn_retries the default
            t.eq((row or {}).get("from", "")[:6], "raarad", f"{v} fill auto: "
                 "/proc/net/tcptimeo tells the rule's, the application's "
                 "and the default values apart")
            t.eq(uts, AUTO_UT, f"{v} fill auto: user_timeout follows the "
                 "application's keepalive values until it sets its own")
            t.ok(end["keepidle"] == 20 and end["keepintvl"] == 5,
                 f"{v} fill auto: the application's values stay",
                 diag=str(end))
            t.eq(ds["skipped_app_set"], 3, f"{v} fill auto: skipped_app_set "
                 "+3 (keepidle, keepintvl, user_timeout overridden)")
            t.eq(ds["restamped"], 0, f"{v} fill auto: restamped +0")
    for r in rules.values():
        r.remove()
    cli.close_agent()
    srv.close_agent()
    pair.delete()
    p = ttmod.unload(check=False)
    t.ok(p.returncode == 0, "rmmod after the application's setsockopt() calls",
         diag=p.stderr)
    t.ok(not ttmod.loaded(), "the module is gone")


Tap.run(main, PLAN)
