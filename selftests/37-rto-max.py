#!/usr/bin/env python3
# timeout: 180
"""rto_max: a rule caps a socket's retransmission timeout (TCP_RTO_MAX_MS,
Linux 6.15), so a busy connection resumes soon after a partition heals.

Topology: two network namespaces (cli, srv) joined by veth (lib/netns.py
Pair), IPv4 and IPv6; the blackout drops everything at the server's
interface (Pair.kill) and heals by removing the drop (Pair.revive).

Every kernel: /sys/kernel/tcptimeo/features lists rto_max exactly when a
plain socket accepts setsockopt(TCP_RTO_MAX_MS) (measured here, not
inferred from a version), tcptimeoctl add --rto-max follows it, and the
per-socket view has its column.
Kernels without it: a non-zero rto_max, as an attribute or in a line, is
refused with EOPNOTSUPP, the kernel log says which kernel it needs, and
the rule is unchanged; the other points are skipped.
Kernels with it:
  configfs      999 and 120001 ms are out of range, "2s" is not a number
                of ms; the line takes "rto-max 2s" and shows it back
  stamping      getsockopt(TCP_RTO_MAX_MS) reads 2000 on a connect()ed
                (IPv4, IPv6) and an accepted socket under the rule, the
                sysctl's 120000 without; fill leaves the application's
                5000, clamp lowers it to 2000 and keeps its 1500, force
                writes 2000 over 1500, and again right after the
                application's own later setsockopt()
  views         /proc/net/tcptimeo: rto_max's letter r and 2000 under the
                rule, d and 120000 without; tcptimeo:stamp names rto_max
  blackout      a request sent into a 20 s blackout, on a connection under
                rto-max 2s and on one without: after the heal the first
                reaches the server within 2 s (+0.5 s); the second when
                its backed-off RTO says (its last retransmission + the
                RTO after it, both read from TCP_INFO during the
                blackout), which is printed next to it
"""
import errno
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import ttmod                                          # noqa: E402
import events                                         # noqa: E402
from ttmod import Rule                                # noqa: E402
from netns import Pair                                # noqa: E402
from peer import Agent, connect_pair, listen_all      # noqa: E402
from deadline import poll                             # noqa: E402

P_OUT, P_IN, P_NONE, P_CLAMP, P_FORCE, P_BUSY, P_BUSY_N = range(7671, 7678)
RULE_MS, DEFAULT_MS = 2000, 120000
BLACKOUT, BOUND, SLACK = 20.0, 2.0, 0.5
PREDICT_SLACK = 1.0
PLAN = 12
CLASSIC = ["keepalive", "keepidle", "keepintvl", "keepcnt", "user_timeout", "syn_retries"]


def proc_lines(ns):
    """/proc/net/tcptimeo of namespace `ns`: (header, [fields of each line])."""
    text = ns.run(["cat", "/proc/net/tcptimeo"]).stdout
    lines = text.splitlines()
    return (lines[0] if lines else ""), [ln.split() for ln in lines[1:]]


def main(t):
    ttmod.load()
    has = ttmod.has_rto_max()
    feats = ttmod.sysfs_get("features").split()
    t.eq(feats, CLASSIC + (["rto_max"] if has else []),
         "features lists the six options, and rto_max exactly when this kernel's "
         f"sockets take TCP_RTO_MAX_MS (they {'do' if has else 'do not'})")

    # --- tcptimeoctl asks features before it writes
    desc = ("tcptimeoctl add --rto-max 2s: " + (
        "rto_max reads 2000" if has else
        "exit 1, the message names rto-max and Linux 6.15, no rule made"))
    if ttmod.CTL:
        p = subprocess.run([ttmod.CTL, "add", "rto-cli", "--dir", "out", "--idle", "7",
                            "--rto-max", "2s"], capture_output=True, text=True, timeout=60)
        made = "rto-cli" in ttmod.rule_names()
        val = ttmod.read(ttmod.RULES + "/rto-cli/rto_max") if made else None
        if has:
            t.ok(p.returncode == 0 and val == "2000", desc,
                 diag=f"exit {p.returncode}: {p.stderr.strip()}; rto_max {val}")
        else:
            t.ok(p.returncode == 1 and not made and "rto-max" in p.stderr and
                 "6.15" in p.stderr, desc, diag=f"exit {p.returncode}: {p.stderr.strip()}")
        if made:
            ttmod.rmdir_rule("rto-cli")
    else:
        t.skip(desc, "no tcptimeoctl: not installed, no TCPTIMEO_CTL")

    pair = Pair()
    cli, srv = Agent(pair.cli), Agent(pair.srv)
    addr = {(side, f): pair.addr(side, f) for side in ("cli", "srv") for f in (4, 6)}
    ls = listen_all(srv, [P_OUT, P_IN, P_NONE, P_CLAMP, P_FORCE, P_BUSY, P_BUSY_N])

    def conn(fam, port, opts=None):
        return connect_pair(cli, srv, ls[fam, port], fam, addr["srv", fam], port, opts=opts)

    # --- the per-socket view's column, on every kernel
    c, _ = conn(4, P_NONE)
    head, rows = proc_lines(pair.cli)
    mine = [r for r in rows if r[1] == f"{addr['srv', 4]}:{P_NONE}"]
    t.ok(head.endswith(" rule from rto_max") and len(mine) == 1 and len(mine[0]) == 13 and
         len(mine[0][11]) == 7 and
         ((mine[0][11][6], mine[0][12]) == ("d", str(DEFAULT_MS)) if has else
          (mine[0][11][6], mine[0][12]) == ("-", "-")),
         "/proc/net/tcptimeo: from has a 7th letter and a rto_max column follows; an "
         "unruled connection shows " +
         ("d and 120000 (the sysctl's)" if has else "- and - (no such option here)"),
         diag=f"{head!r}; {mine}")
    cli.close(c["id"])

    if not has:
        log = ttmod.KernelLog()
        r = Rule("rto", direction="out", remote_ports=P_OUT, keepidle=30)
        err = r.try_set("rto_max", "2000")
        t.ok(err == errno.EOPNOTSUPP and r.get("rto_max") == "0" and
             r.try_set("rto_max", "0") == 0,
             "rto_max 2000 on a kernel without TCP_RTO_MAX_MS: EOPNOTSUPP, still 0; 0 is taken",
             diag=f"{ttmod.errname(err)}, reads {r.get('rto_max')}")
        before = r.get("line")
        err = r.try_set("line", f"dir out remote-port {P_OUT} idle 30 rto-max 2s")
        said = [m for m in log.ours() if "rto" in m]
        t.ok(err == errno.EOPNOTSUPP and r.get("line") == before and
             any("6.15" in m for m in said),
             "a line with rto-max: EOPNOTSUPP, the rule unchanged, and the kernel log "
             "says rto_max needs Linux 6.15", diag=f"{ttmod.errname(err)}; {said}")
        r.remove()
        why = "this kernel has no TCP_RTO_MAX_MS (Linux 6.15 or later)"
        for _ in range(PLAN - 5):
            t.skip("rto_max on a kernel that has it", why)
        cli.close_agent()
        srv.close_agent()
        pair.delete()
        return

    # --- configfs: values refused, nothing changed
    r = Rule("rto", direction="out", remote_ports=P_OUT, enable=False)
    got = {v: (ttmod.errname(r.try_set("rto_max", v)), r.get("rto_max"))
           for v in ("999", "120001", "2s", "-1")}
    ok1000 = r.try_set("rto_max", "1000") == 0 and r.get("rto_max") == "1000"
    t.ok(got == {"999": ("ERANGE", "0"), "120001": ("ERANGE", "0"), "2s": ("EINVAL", "0"),
                 "-1": ("EINVAL", "0")} and ok1000,
         "rto_max: 999 and 120001 ERANGE, 2s and -1 EINVAL, each leaving 0; 1000 taken",
         diag=f"{got}; 1000 taken: {ok1000}")
    err = r.try_set("line", f"dir out remote-port {P_OUT} rto-max 2s")
    line = r.get("line")
    t.ok(err == 0 and r.get("rto_max") == str(RULE_MS) and "rto-max 2s" in line,
         "the line takes rto-max 2s: rto_max reads 2000, the line shows rto-max 2s",
         diag=f"{ttmod.errname(err)}; {line!r}")
    r.enable()
    Rule("rto-in", direction="in", local_ports=P_IN, rto_max=RULE_MS)
    Rule("rto-clamp", direction="out", remote_ports=P_CLAMP, rto_max=RULE_MS, mode="clamp")
    Rule("rto-force", direction="out", remote_ports=P_FORCE, rto_max=RULE_MS, mode="force")
    Rule("rto-busy", direction="out", remote_ports=P_BUSY, rto_max=RULE_MS)
    tr, no_trace = events.optional()

    # --- stamping
    outs = {fam: conn(fam, P_OUT)[0] for fam in (4, 6)}
    none4 = conn(4, P_NONE)[0]
    got = (cli.getopt(outs[4]["id"], "rto_max"), cli.getopt(outs[6]["id"], "rto_max"),
           cli.getopt(none4["id"], "rto_max"))
    t.eq(got, (RULE_MS, RULE_MS, DEFAULT_MS),
         "getsockopt(TCP_RTO_MAX_MS): 2000 on IPv4 and IPv6 connect() under the rule, "
         "120000 (net.ipv4.tcp_rto_max_ms) without")
    _, a_in = conn(6, P_IN)
    t.eq(srv.getopt(a_in["id"], "rto_max"), RULE_MS,
         "the accepted socket under a dir-in rule: TCP_RTO_MAX_MS 2000")
    fill = conn(4, P_OUT, opts={"rto_max": 5000})[0]
    cl_hi = conn(4, P_CLAMP, opts={"rto_max": 5000})[0]
    cl_lo = conn(4, P_CLAMP, opts={"rto_max": 1500})[0]
    fo = conn(4, P_FORCE, opts={"rto_max": 1500})[0]
    got = [cli.getopt(x["id"], "rto_max") for x in (fill, cl_hi, cl_lo, fo)]
    cli.setopts(fo["id"], {"rto_max": 9000})
    later = cli.getopt(fo["id"], "rto_max")
    t.eq((got, later), ([5000, RULE_MS, 1500, RULE_MS], RULE_MS),
         "the application's own values: fill keeps 5000, clamp lowers 5000 to 2000 and "
         "keeps 1500, force writes 2000 over 1500, and over its later 9000 at once")

    # --- views
    head, rows = proc_lines(pair.cli)
    by_port = {}
    for row in rows:
        by_port.setdefault(row[1], []).append((row[11][6:], row[12]))
    t.ok(("r", str(RULE_MS)) in by_port.get(f"{addr['srv', 4]}:{P_OUT}", []) and
         ("d", str(DEFAULT_MS)) in by_port.get(f"{addr['srv', 4]}:{P_NONE}", []),
         "/proc/net/tcptimeo: from's 7th letter r and 2000 under the rule, d and 120000 "
         "without", diag=str(by_port))
    desc = "tcptimeo:stamp of the rule: set names rto_max, rto_max=2000"
    if tr:
        bad = events.check(tr, {"out": ({"rule": "rto", "dport": P_OUT,
                                         "dst": addr["srv", 6]},
                                        {"rto_max": RULE_MS, "set": ["rto_max"]})},
                           event="stamp")
        t.ok(not bad, desc, diag="\n".join(bad))
        tr.close()
    else:
        t.skip(desc, no_trace)

    # --- blackout and heal
    busy = {}
    for name, port in (("rule", P_BUSY), ("none", P_BUSY_N)):
        c, a = conn(4, port)
        busy[name] = dict(c=c, a=a, job=srv.recv_bg(a["id"]))
    t.diag("TCP_RTO_MAX_MS before the blackout: "
           f"{ {n: cli.getopt(b['c']['id'], 'rto_max') for n, b in busy.items()} }")
    pair.kill("srv")
    t_send = {n: cli.call("send", id=b["c"]["id"], data="request\n")["t"]
              for n, b in busy.items()}
    last = {n: cli.call("tcpinfo", id=b["c"]["id"]) for n, b in busy.items()}
    seen = {n: [] for n in busy}            # (time, rto after it) per retransmission
    end = min(t_send.values()) + BLACKOUT
    while time.monotonic() < end:
        for n, b in busy.items():
            i = cli.call("tcpinfo", id=b["c"]["id"])
            if i["total_retrans"] != last[n]["total_retrans"]:
                # between the two reads; the later one is when we know it
                seen[n].append(((last[n]["t"] + i["t"]) / 2, i["rto_us"] / 1e6,
                                i["t"] - last[n]["t"]))
            last[n] = i
        poll(lambda: False, 0.05)
    pair.revive("srv")
    t_heal = time.monotonic()
    res = {n: srv.wait(b["job"], 60) for n, b in busy.items()}
    delay = {n: res[n].get("t_end", float("inf")) - t_heal for n in busy}
    rto_rule = last["rule"]["rto_us"] / 1e6
    t.diag(f"after a {t_heal - min(t_send.values()):.1f} s blackout: with rto-max 2s the "
           f"request reached the server {delay['rule']:.2f} s after the heal, without "
           f"{delay['none']:.2f} s after it")
    t.ok(res["rule"].get("result") == "data" and delay["rule"] <= BOUND + SLACK and
         rto_rule <= BOUND + 0.01,
         f"with rto-max 2s: data flows again within {BOUND:g} s (+{SLACK:g}) of the heal "
         "(its RTO at the heal at most 2 s)",
         diag=f"{res['rule']}; delay {delay['rule']:.2f} s; RTO {rto_rule:.2f} s; "
              f"retransmissions {seen['rule']}")
    if seen["none"]:
        t_last, rto_after, res_s = seen["none"][-1]
        predicted = t_last + rto_after - t_heal
    else:
        predicted, res_s = float("nan"), 0
    t.ok(res["none"].get("result") == "data" and seen["none"] and
         abs(delay["none"] - predicted) <= PREDICT_SLACK + res_s,
         f"without a rule: data flows again when the backed-off RTO says ({predicted:.1f} s "
         f"after the heal; measured {delay['none']:.1f} s)",
         diag=f"{res['none']}; retransmissions (t, rto after, resolution) {seen['none']}")
    t.diag(f"without a rule the connection's RTO was {rto_after if seen['none'] else 0:.1f} s "
           f"at the heal; with rto-max 2s {rto_rule:.1f} s")

    cli.close_agent()
    srv.close_agent()
    pair.delete()


Tap.run(main, PLAN)
