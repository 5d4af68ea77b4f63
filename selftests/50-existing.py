#!/usr/bin/env python3
# timeout: 420
"""apply_existing: connections opened before any rule get the rule's values.

- 1,000 established client connections (IPv4), no rule: getsockopt shows
  the kernel defaults on every one
- a rule appears (direction out); `tcptimeoctl apply FILE --existing`
  applies it and writes apply_existing: existing_stamped grows by exactly
  1,000 (the orphan below and the accepted sides are not counted) and
  getsockopt on all 1,000 shows the rule's values; the time is printed
- an orphaned FIN_WAIT2 socket (client close()d, server never does;
  tcp_fin_timeout 70 so it stays a full socket with its FIN_WAIT2 timer on
  the keepalive timer) is untouched: /proc/net/tcptimeo shows the same
  values, ss the same timer still counting down, and it leaves FIN_WAIT2
  for TIME_WAIT at tcp_fin_timeout - 60 = 10 s, not at the rule's 3 s
- apply_existing 5 times while a loop opens and closes connections on the
  same rule: no churn error, no kernel warning
- the server vanishes: one of the 1,000, idle in recv(), fails with
  ETIMEDOUT within idle + intvl x cnt = 5 s (+1 s) of the peer vanishing (or,
  on a starved host, no later than a control connection whose application
  set the same values itself); all 1,000 (+ the control) are counted in
  the rule's timeouts_idle
"""
import errno
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
from netns import Pair, ss_find, JIFFY_SLACK          # noqa: E402
from peer import Agent, kernel_defaults, opts_diff    # noqa: E402
from deadline import poll, Deadline, SCALE            # noqa: E402
import incident as inc                                # noqa: E402

N = 1000
P, P_ORPHAN, P_CHURN = 7501, 7502, 7503
RULE = {"keepalive": 1, "keepidle": 3, "keepintvl": 1, "keepcnt": 2,
        "user_timeout": 5000}
BOUND, SLACK = 5.0, 1.0
# the orphan stays a full socket for FIN_TIMEOUT - 60 s: long enough to
# be checked on a slow (debug) kernel too
FIN_TIMEOUT = 60 + int(10 * SCALE)
PLAN = 10


def main(t):
    ttmod.load()
    pair = Pair()
    pair.cli.sysctl("net.ipv4.tcp_fin_timeout", FIN_TIMEOUT)
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    defaults = kernel_defaults(pair.cli)
    want_def = {k: defaults[k] for k in RULE}
    ls = srv.listen(4, "0.0.0.0", P)
    lo = srv.listen(4, "0.0.0.0", P_ORPHAN)
    t0 = time.monotonic()
    conns = inc.open_many(cli, srv, ls, 4, pair.addr("srv", 4), P, N)
    t.diag(f"{N} connections opened in {time.monotonic() - t0:.1f} s")
    cids = [c for c, _ in conns]
    before = cli.call("getopts_many", ids=cids, read_timeout=300)["opts"]
    bad = [i for i, o in enumerate(before) if {k: o[k] for k in RULE} != want_def]
    t.ok(not bad, f"before any rule: all {N} sockets show the kernel defaults",
         diag=lambda: f"{len(bad)} differ, e.g. {opts_diff(before[bad[0]], want_def)}")

    # the orphan: client closes, server never does -> client FIN_WAIT2, orphaned
    oc = cli.connect(4, pair.addr("srv", 4), P_ORPHAN)
    srv.accept(lo)
    olport = oc["local"][1]

    # by both ports: Linux may give the orphan the ephemeral port of one of
    # the N connections to P (another peer port, so another 4-tuple)
    def is_orphan(v):
        return (v["local"].endswith(f":{olport}")
                and v["remote"].endswith(f":{P_ORPHAN}"))
    # Its FIN_WAIT2 timer is armed when the FIN's ACK comes: after t_close0,
    # before ss shows FIN-WAIT-2 (t_fw2). Every timing point below is
    # bounded by such measured times, not by a fixed allowance.
    t_close0 = time.monotonic()
    cli.close(oc["id"])
    e = poll(lambda: (ss_find(pair.cli, lport=olport, rport=P_ORPHAN) or {}).get("state") == "FIN-WAIT-2"
             and ss_find(pair.cli, lport=olport, rport=P_ORPHAN), 5)
    t_fw2 = time.monotonic()
    orphan_view = [v for v in inc.proc_view(pair.cli)
                   if is_orphan(v)]

    conf = os.path.abspath("existing.conf")
    with open(conf, "w") as f:
        f.write(f"existing dir out remote-port {P},{P_ORPHAN},{P_CHURN} keepalive "
                "idle 3 intvl 1 cnt 2 user-timeout 5000\n")
    s0 = inc.stat("existing_stamped")
    ta = time.monotonic()
    p = inc.ctl("apply", conf, "--existing")
    took = time.monotonic() - ta
    s1 = inc.stat("existing_stamped")
    t.ok(p.returncode == 0 and s1 - s0 == N and f"{N} stamped" in p.stdout,
         f"tcptimeoctl apply --existing: existing_stamped grows by exactly {N} "
         "and the CLI reports it", diag=f"delta {s1 - s0}; {inc.show(p)}")
    t.diag(f"apply --existing for {N} sockets took {took:.3f} s "
           f"(CLI says: {p.stdout.strip().splitlines()[-1] if p.stdout.strip() else '-'})")
    after = cli.call("getopts_many", ids=cids, read_timeout=300)["opts"]
    bad = [i for i, o in enumerate(after) if {k: o[k] for k in RULE} != RULE]
    t.ok(not bad, f"after apply_existing: getsockopt on all {N} shows the rule's values",
         diag=lambda: f"{len(bad)} differ, e.g. {opts_diff(after[bad[0]], RULE)}")

    # the orphan is untouched
    t_r0 = time.monotonic()
    e2 = ss_find(pair.cli, lport=olport, rport=P_ORPHAN)
    t_r1 = time.monotonic()
    view2 = [v for v in inc.proc_view(pair.cli) if is_orphan(v)]
    def values(v):     # "rule" is the rule matching it now: it changed
        return [{k: x[k] for k in x if k != "rule"} for x in v]
    t.ok(e and e2 and e2["state"] == "FIN-WAIT-2" and orphan_view and
         values(view2) == values(orphan_view) and view2[0]["keepalive"] == 0,
         "orphaned FIN_WAIT2 socket: state and /proc/net/tcptimeo values unchanged",
         diag=f"before {e and e['line']} {orphan_view}; after {e2 and e2['line']} {view2}")
    # its timer keeps counting down from the close (not re-armed to 3 s):
    # armed in [t_close0, t_fw2] with FW2 s and read in [t_r0, t_r1]
    fw2 = FIN_TIMEOUT - 60
    left = e2["timer"][1] if e2 and e2["timer"] else None
    lo, hi = fw2 - (t_r1 - t_close0), fw2 - (t_r0 - t_fw2)
    res = e2["timer_res"] if left is not None else 0
    t.ok(left is not None and e2["timer"][0] == "keepalive" and
         lo - JIFFY_SLACK <= left + res and left <= hi + JIFFY_SLACK,
         "orphan's FIN_WAIT2 timer not re-armed: still the fin_timeout countdown",
         diag=f"timer {e2 and e2['timer']}, expected {lo:.2f}..{hi:.2f} s left "
              "(measured from the close and the ss read)")

    # It leaves at its own expiry, in [t_close0, t_fw2] + FW2 (the timer
    # wheel may add up to 1/8 of it): the last look that still saw it
    # started before that, the first that did not ended after it. A
    # stalled host delays the looks with the timer, so this holds anyway.
    last_seen, t_gone = t_fw2, None
    d = Deadline(fw2 + 30 * SCALE)
    while not d.expired():
        ta = time.monotonic()
        present = any(is_orphan(x) for x in inc.proc_view(pair.cli))
        tb = time.monotonic()
        if not present:
            t_gone = tb
            break
        last_seen = ta
        time.sleep(0.2)
    e3 = ss_find(pair.cli, lport=olport, rport=P_ORPHAN)
    late = fw2 / 8 + JIFFY_SLACK
    t.ok(t_gone is not None and t_gone >= t_close0 + fw2 - JIFFY_SLACK and
         last_seen <= t_fw2 + fw2 + late and
         e3 and e3["state"] == "FIN-WAIT-2" and e3["timer"] and e3["timer"][0] == "timewait",
         f"orphan leaves the full-socket FIN_WAIT2 stage at tcp_fin_timeout-60 = "
         f"{fw2} s after close (its own timer), not the rule's 3 s",
         diag=f"last seen {last_seen - t_close0:.2f} s, gone by "
              f"{(t_gone or time.monotonic()) - t_close0:.2f} s after close() "
              f"(FIN_WAIT2 seen {t_fw2 - t_close0:.2f} s after it); ss {e3 and e3['line']}")

    # churn: connections come and go during the walks
    log = ttmod.KernelLog()
    job = cli.call("churn_bg", family=4, addr="127.0.0.1", port=P_CHURN)["job"]
    poll(lambda: cli.job(job).get("conns", 0) > 20, 20)
    times = []
    for _ in range(5):
        err, dt = inc.timed_write(ttmod.SYSFS + "/apply_existing", 1)
        times.append(dt)
        if err:
            break
    j = cli.stop(job)
    t.ok(not err and j.get("errors") == 0 and j.get("conns", 0) > 20,
         "apply_existing x5 while connections churn: writes succeed, churn unharmed",
         diag=f"errno {err}, churn {j}")
    t.diag("apply_existing under churn: " + ", ".join(f"{x:.3f}" for x in times) +
           f" s ({j.get('conns')} churned connections)")
    t.ok(not log.problems(), "no kernel warning during apply_existing under churn",
         diag=lambda: "\n".join(log.problems()[:20]))

    # a half-open one among them: detected within the new bound. The
    # control is opened now by an application that sets the same values
    # itself: on a starved TCG host both are late by the same amount.
    sid = cids[N // 2]
    ctl_c = cli.connect(4, pair.addr("srv", 4), P, opts=RULE)
    srv.accept(ls)
    jc = cli.recv_bg(ctl_c["id"])
    jid = cli.recv_bg(sid)
    pair.kill("srv")
    # the peer is gone once kill() returns (it takes a few execs of tc);
    # keepalive counts from the last packet received, at most this late
    t_kill = time.monotonic()
    r = cli.wait(jid, BOUND + SLACK + 5)
    rc = cli.wait(jc, BOUND + SLACK + 5)
    took = r.get("t_end", time.monotonic()) - t_kill
    took_c = rc.get("t_end", time.monotonic()) - t_kill
    in_bound = took <= BOUND + SLACK
    as_app = rc.get("errno") == errno.ETIMEDOUT and took <= took_c + 0.5
    t.ok(r["done"] and r.get("errno") == errno.ETIMEDOUT and (in_bound or as_app),
         f"half-open connection among the {N}: recv() fails with ETIMEDOUT "
         f"within idle + intvl x cnt = {BOUND:g} s +{SLACK:g} s of the peer "
         "vanishing (or no later than the app-set control on a slow host)",
         diag=f"{r}; {took:.2f} s; control {rc}; {took_c:.2f} s")
    t.diag(f"half-open detected {took:.2f} s after the peer vanished (bound "
           f"{BOUND:g} s); app-set control {took_c:.2f} s")
    idle = inc.rule_ctr("existing", "timeouts_idle")
    t.ok(poll(lambda: inc.rule_ctr("existing", "timeouts_idle") >= N + 1, 15, 0.5),
         f"all {N} connections to the dead server time out (timeouts_idle of the rule)",
         diag=lambda: f"timeouts_idle {inc.rule_ctr('existing', 'timeouts_idle')} "
         f"(first read {idle})")
    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
