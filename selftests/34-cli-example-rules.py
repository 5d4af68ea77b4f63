#!/usr/bin/env python3
# timeout: 240
"""The mission's four cases, from docs/examples/rules.conf, stamped on real
connections and shown with getsockopt() from inside the unmodified
applications:

1. Istio ingress gateway listener on 8080: accepted connections get
   keepalive 7/5/2 and user-timeout auto (17000 ms)
2. outbound to Redis 6379: keepalive 60/20/4
3. upstream port 12345: TCP_USER_TIMEOUT 10000 ms
4. the load-test client's cgroup (/loadtest) to the VIP 10.96.0.10:
   keepalive 30/10/3, user-timeout auto (60000 ms), syn-retries 3;
   a client outside /loadtest is left alone; Redis on the VIP still
   gets the Redis rule (evaluated first)

The rules are loaded by the commands of deploy/systemd/tcptimeo.service
(its ExecStartPre/ExecStart lines, with the paths of this tree), and
`explain` is checked against each connection.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "cli"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
import cgroup as cg                                   # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, OPTS, kernel_defaults         # noqa: E402
from ctl import CTL, EXAMPLE, SRC, ctl, ctl_json, show, sysfs_rules  # noqa: E402

PLAN = 16
VIP = "10.96.0.10"
UNIT = os.path.join(SRC, "deploy/systemd/tcptimeo.service")
SOCKOPT = {"keepalive": "SO_KEEPALIVE", "keepidle": "TCP_KEEPIDLE",
           "keepintvl": "TCP_KEEPINTVL", "keepcnt": "TCP_KEEPCNT",
           "user_timeout": "TCP_USER_TIMEOUT", "syn_retries": "TCP_SYNCNT"}


def fmt(opts):
    return " ".join(f"{SOCKOPT[k]}={opts[k]}" for k in OPTS)


def unit_commands():
    """ExecStartPre/ExecStart of the unit, with this tree's paths; the
    modprobe line is left out (the test loads the module under test)."""
    cmds = []
    with open(UNIT) as f:
        for line in f:
            m = re.match(r"^(ExecStartPre|ExecStart)=(-?)(.*)$", line.strip())
            if not m or "modprobe" in m.group(3):
                continue
            cmd = m.group(3).replace("/usr/sbin/tcptimeoctl", CTL)
            cmd = cmd.replace("/etc/tcptimeo/rules.conf", EXAMPLE)
            cmds.append(cmd)
    return cmds


def main(t):
    ttmod.load()
    ttmod.remove_all_rules()
    cg.ensure_mounted()
    cg.create("/loadtest/worker")

    p = ctl("check", EXAMPLE)
    t.ok(p.returncode == 0 and "4 rules checked, no findings" in p.stdout,
         "tcptimeoctl check docs/examples/rules.conf: no findings", diag=show(p))
    cmds = unit_commands()
    t.diag("tcptimeo.service commands: " + " ; ".join(cmds))
    res = [subprocess.run(["sh", "-c", c], capture_output=True, text=True) for c in cmds]
    t.ok(cmds and cmds[-1].startswith(CTL + " apply") and all(r.returncode == 0 for r in res),
         "the commands of tcptimeo.service apply the example rules",
         diag="\n".join(show(r) for r in res))
    for line in sysfs_rules():
        t.diag("live: " + line)
    t.eq([line.split()[0] for line in sysfs_rules()],
         ["istio-gateway", "redis", "upstream-12345", "loadtest-vip"],
         "the four mission rules are live")

    pair = Pair()
    # the VIP lives on the server side, routed through the pinned neighbour
    pair.srv.ip("addr", "add", f"{VIP}/32", "dev", pair.ifname["srv"])
    pair.cli.ip("route", "add", f"{VIP}/32", "via", pair.addr("srv", 4))
    dflt = kernel_defaults(pair.cli)
    srv = Agent(pair.srv)
    cli = Agent(pair.cli)
    lt = Agent(pair.cli, cgroup="/loadtest/worker")
    ls = {p: srv.listen(4, "0.0.0.0", p) for p in (8080, 6379, 12345, 80)}
    dst = pair.addr("srv", 4)

    def case(name, agent, addr, port, side, want, explain_args):
        c = agent.connect(4, addr, port)
        a = srv.accept(ls[port])
        got = {k: (a if side == "in" else c)["opts"][k] for k in OPTS}
        t.ok(got == want, f"{name}: {fmt(got)}",
             diag=f"want {fmt(want)}")
        peer = f"{c['local'][0]}:{c['local'][1]}"
        if side == "in":
            args = ["--dir", "in", "--remote", peer, "--local-port", str(port),
                    "--pid", str(srv.pid)]
        else:
            args = ["--dir", "out", "--remote", f"{addr}:{port}", "--local-port",
                    str(c["local"][1]), "--pid", str(agent.pid)]
        ex = ctl_json("explain", *args, "-j")
        # rto_max (TCP_RTO_MAX_MS, 6.15+): getsockopt on its own, null without it
        rto = ((a if side == "in" else c), srv if side == "in" else agent)
        got = dict(got, rto_max=rto[1].getopt(rto[0]["id"], "rto_max")
                   if ttmod.has_rto_max() else None)
        t.ok(ex["values"] == got and ex["rule"] == explain_args,
             f"{name}: tcptimeoctl explain says rule {ex['rule']} with the same values",
             diag=f"{ex}")

    case("1 istio-gateway, connection accepted on :8080", cli, dst, 8080, "in",
         dict(dflt, keepalive=1, keepidle=7, keepintvl=5, keepcnt=2, user_timeout=17000),
         "istio-gateway")
    case("2 redis, outgoing to :6379", cli, dst, 6379, "out",
         dict(dflt, keepalive=1, keepidle=60, keepintvl=20, keepcnt=4), "redis")
    case("3 upstream, outgoing to :12345", cli, dst, 12345, "out",
         dict(dflt, user_timeout=10000), "upstream-12345")
    case(f"4 load test in /loadtest/worker to the VIP {VIP}:80", lt, VIP, 80, "out",
         dict(dflt, keepalive=1, keepidle=30, keepintvl=10, keepcnt=3, user_timeout=60000,
              syn_retries=3), "loadtest-vip")
    case(f"4b a client outside /loadtest to {VIP}:80 is left alone", cli, VIP, 80, "out",
         dflt, None)
    case(f"4c the load test to Redis on the VIP {VIP}:6379 gets the redis rule", lt, VIP, 6379,
         "out", dict(dflt, keepalive=1, keepidle=60, keepintvl=20, keepcnt=4), "redis")

    st = ctl_json("stats", "-j")
    m = {r["name"]: r["matched"] for r in st["rules"]}
    t.eq(m, {"istio-gateway": 1, "redis": 2, "upstream-12345": 1, "loadtest-vip": 1},
         "per-rule matched counts these connections")
    for a in (srv, cli, lt):
        a.close_agent()
    pair.delete()
    ttmod.remove_all_rules()
    cg.remove("/loadtest")


Tap.run(main, PLAN)
